//! Streaming scanner for `name=value` parameter lists: query strings and
//! `application/x-www-form-urlencoded` bodies, fed in chunks of any size.
//!
//! Only the parameters akguard reads are kept, and of those at most [`MAX_VALUE`] bytes of a
//! value; everything else is skipped as it passes. Pairs are split on `&` and, as a second
//! reading, also on `;`: both readings are reported, so a server that honours either separator
//! cannot see a parameter the scanner missed.
//!
//! The work is one pass over the bytes, with a fixed cost per `=`, `&` and `;`. The `;`
//! reading follows the `&` reading until a `;` splits a pair (until then both readings hold
//! the same pair), and reads on its own only from that `;` to the next `&`. A scanner holds
//! at most two names of [`MAX_NAME`] bytes and two values of [`MAX_VALUE`] bytes, whatever the
//! input's length.

#![deny(clippy::indexing_slicing)]

use super::percent;

/// Longest raw parameter name prefix kept for recognition. Recognised names are short: even
/// encoded three times, none takes more than 112 raw bytes, so a longer name is recognised
/// only by its reading up to a NUL, which the prefix holds.
const MAX_NAME: usize = 256;
/// Longest raw value kept for a recognised parameter; the rest is dropped and the value is
/// reported as cut.
pub const MAX_VALUE: usize = 4096;
/// The shortest recognised name (`Action`, `Format`): a shorter raw name without `%` is
/// none of them, however it ends.
const SHORTEST_NAME: usize = 6;

/// The parameters akguard reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ParamKind {
    /// `AccessKeyId` (RPC) or `OSSAccessKeyId` (OSS presigned URL).
    AccessKeyId,
    /// `x-oss-credential` or `X-Amz-Credential`: `<AK>/<date>/<region>/…`.
    Credential,
    /// `Action`.
    Action,
    /// `Version`.
    Version,
    /// `Format` (`JSON` or `XML`).
    Format,
}

/// Recognises a decoded parameter name, as written and as read up to a NUL byte (the way a
/// C string ends). Names are compared without regard to ASCII case: the server's names are
/// case-sensitive, so a case variant is at worst a harmless extra reading.
pub fn classify(name: &[u8]) -> Option<ParamKind> {
    fn recognise(name: &[u8]) -> Option<ParamKind> {
        let is = |known: &[u8]| name.eq_ignore_ascii_case(known);
        match name.len() {
            6 if is(b"action") => Some(ParamKind::Action),
            6 if is(b"format") => Some(ParamKind::Format),
            7 if is(b"version") => Some(ParamKind::Version),
            11 if is(b"accesskeyid") => Some(ParamKind::AccessKeyId),
            14 if is(b"ossaccesskeyid") => Some(ParamKind::AccessKeyId),
            16 if is(b"x-oss-credential") || is(b"x-amz-credential") => Some(ParamKind::Credential),
            _ => None,
        }
    }
    if name.len() < SHORTEST_NAME {
        return None;
    }
    recognise(name).or_else(|| {
        let nul = memchr::memchr(0, name)?;
        recognise(name.get(..nul).unwrap_or_default())
    })
}

/// One recognised parameter, its value decoded (one reading of possibly several).
#[derive(Debug, PartialEq, Eq)]
pub struct Param<'a> {
    pub kind: ParamKind,
    pub value: &'a [u8],
    /// The raw value was longer than [`MAX_VALUE`] and was cut.
    pub cut: bool,
    /// Name and value are both read decoded once: what a server that decodes once sees (other
    /// readings decode again).
    pub first_reading: bool,
}

/// What a byte is to the scanner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Plain,
    Equals,
    Ampersand,
    Semicolon,
}

fn class(byte: u8) -> Class {
    match byte {
        b'=' => Class::Equals,
        b'&' => Class::Ampersand,
        b';' => Class::Semicolon,
        _ => Class::Plain,
    }
}

/// Appends as much of `run` to `buffer` as keeps it within `limit` bytes, growing its
/// allocation no further than `limit`; true when some of `run` did not fit.
fn extend_within(buffer: &mut Vec<u8>, run: &[u8], limit: usize) -> bool {
    let room = limit.saturating_sub(buffer.len());
    let taken = run.get(..room).unwrap_or(run);
    let needed = buffer.len() + taken.len();
    if needed > buffer.capacity() {
        let grown = buffer
            .capacity()
            .saturating_mul(2)
            .clamp(needed, limit.max(needed));
        buffer.reserve_exact(grown - buffer.len());
    }
    buffer.extend_from_slice(taken);
    run.len() > room
}

/// `bytes` within `limit`, and whether it had to be cut.
fn within(bytes: &[u8], limit: usize) -> (&[u8], bool) {
    match bytes.get(..limit) {
        Some(kept) if bytes.len() > limit => (kept, true),
        _ => (bytes, false),
    }
}

/// One pair being read: its name, then, for a recognised name, its value. The bytes of the
/// current chunk are looked at where they are; only what a pair still needs when the chunk
/// ends (its name so far, or its value so far when the name is recognised) is copied here.
#[derive(Debug, Default)]
struct Pair {
    /// `Version` is not read (a check needs no version).
    skip_versions: bool,
    in_value: bool,
    /// The name so far, from earlier chunks (or before a `;`).
    name: Vec<u8>,
    kind: Option<ParamKind>,
    /// The name was recognised decoded once.
    name_first: bool,
    /// The value so far, from earlier chunks (or before a `;`).
    value: Vec<u8>,
    value_cut: bool,
}

impl Pair {
    /// Keeps a run of bytes of the current part, as far as the pair needs it.
    fn take(&mut self, run: &[u8]) {
        if run.is_empty() {
        } else if !self.in_value {
            extend_within(&mut self.name, run, MAX_NAME);
        } else if self.kind.is_some() && extend_within(&mut self.value, run, MAX_VALUE) {
            self.value_cut = true;
        }
    }

    /// The name ends at an `=`, with `tail` its last bytes: recognise it.
    #[inline]
    fn end_name(&mut self, tail: &[u8]) {
        let name = if self.name.is_empty() {
            within(tail, MAX_NAME).0
        } else {
            extend_within(&mut self.name, tail, MAX_NAME);
            &self.name
        };
        (self.kind, self.name_first) = recognise(name, self.skip_versions);
        self.in_value = true;
    }

    /// The pair ends, with `tail` its last bytes: reports it when its name is recognised. A
    /// name without `=` is a parameter with an empty value, as form decoders read it.
    #[inline]
    fn end(&mut self, tail: &[u8], out: &mut dyn FnMut(Param<'_>)) {
        if self.in_value {
            let Some(kind) = self.kind else {
                return;
            };
            let (value, cut) = if self.value.is_empty() {
                within(tail, MAX_VALUE)
            } else {
                let cut = extend_within(&mut self.value, tail, MAX_VALUE);
                (self.value.as_slice(), cut)
            };
            report(kind, self.name_first, value, self.value_cut || cut, out);
        } else {
            let name = if self.name.is_empty() {
                within(tail, MAX_NAME).0
            } else {
                extend_within(&mut self.name, tail, MAX_NAME);
                &self.name
            };
            if let (Some(kind), name_first) = recognise(name, self.skip_versions) {
                report(kind, name_first, &[], false, out);
            }
        }
    }

    #[inline]
    fn clear(&mut self) {
        self.in_value = false;
        self.name.clear();
        if self.kind.is_some() {
            self.kind = None;
            self.name_first = false;
            self.value.clear();
            self.value_cut = false;
        }
    }

    fn heap_bytes(&self) -> usize {
        self.name.capacity() + self.value.capacity()
    }
}

/// A raw name too short to be any recognised name, with no `%` to decode: the common case of
/// a name that needs no further look.
#[inline]
fn cannot_be_a_name(name: &[u8]) -> bool {
    name.len() < SHORTEST_NAME && !name.contains(&b'%')
}

/// Recognises a complete raw name, decoded once and again while `%XX` remains; says whether
/// it was recognised decoded once.
#[inline]
fn recognise(name: &[u8], skip_versions: bool) -> (Option<ParamKind>, bool) {
    if cannot_be_a_name(name) {
        return (None, false);
    }
    let recognised = match classify(name) {
        // A raw name that reads as a known one needs no decoding: no known name holds `%`
        // or `+`.
        Some(kind) => (Some(kind), true),
        None if !percent::needs_decoding(name) => (None, false),
        None => {
            let mut found = (None, false);
            percent::for_each_reading(name, &mut |round, reading| {
                if found.0.is_none() {
                    if let Some(kind) = classify(reading) {
                        found = (Some(kind), round == 0);
                    }
                }
            });
            found
        }
    };
    match recognised {
        (Some(ParamKind::Version), _) if skip_versions => (None, false),
        recognised => recognised,
    }
}

/// Passes a recognised parameter's value under each of its readings.
fn report(
    kind: ParamKind,
    name_first: bool,
    value: &[u8],
    cut: bool,
    out: &mut dyn FnMut(Param<'_>),
) {
    if !percent::needs_decoding(value) {
        // The common case: a plain value is its one reading, passed without copying.
        out(Param {
            kind,
            value,
            cut,
            first_reading: name_first,
        });
        return;
    }
    percent::for_each_reading(value, &mut |round, reading| {
        out(Param {
            kind,
            value: reading,
            cut,
            first_reading: name_first && round == 0,
        })
    });
}

/// Streaming scanner over a parameter list, reporting every recognised parameter under both
/// separator readings (`&` only, and `&` or `;`). Feed chunks with [`ParamScanner::feed`] and
/// call [`ParamScanner::finish`] at the end of the input.
#[derive(Debug, Default)]
pub struct ParamScanner {
    /// The pair of the `&` reading, where `;` is part of names and values.
    pair: Pair,
    /// The `;` reading's own pair, once a `;` has split the `&` reading's current pair (a
    /// pair bounded by a `;`: reported however it ends); `None` while both readings hold the
    /// same pair.
    split: Option<Pair>,
}

impl ParamScanner {
    pub fn new() -> Self {
        ParamScanner::default()
    }

    /// A scanner that does not read `Version` (the decision needs no version).
    pub fn without_versions() -> Self {
        ParamScanner {
            pair: Pair {
                skip_versions: true,
                ..Pair::default()
            },
            split: None,
        }
    }

    /// Scans the next chunk; every parameter completed inside it is passed to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut dyn FnMut(Param<'_>)) {
        // The current part (name or value) of the `&` reading's pair from `from` on, and of
        // the `;` reading's own pair from `split_from` on, are read where they are: copied only
        // when the chunk ends (or, for the `&` pair, at a `;`).
        let mut from = 0;
        let mut split_from = 0;
        let bytes = |start: usize, end: usize| chunk.get(start..end).unwrap_or_default();
        for (at, &byte) in chunk.iter().enumerate() {
            let class = class(byte);
            if class == Class::Plain {
                continue;
            }
            match class {
                Class::Plain => {}
                Class::Equals => {
                    if !self.pair.in_value {
                        let tail = bytes(from, at);
                        if self.pair.name.is_empty() && cannot_be_a_name(tail) {
                            self.pair.in_value = true;
                        } else {
                            self.pair.end_name(tail);
                        }
                        from = at + 1;
                    }
                    if let Some(split) = &mut self.split {
                        if !split.in_value {
                            split.end_name(bytes(split_from, at));
                            split_from = at + 1;
                        }
                    }
                }
                Class::Ampersand => {
                    if let Some(mut split) = self.split.take() {
                        split.end(bytes(split_from, at), out);
                    }
                    let tail = bytes(from, at);
                    let named = if self.pair.in_value {
                        self.pair.kind.is_some()
                    } else {
                        !self.pair.name.is_empty() || !cannot_be_a_name(tail)
                    };
                    if named {
                        self.pair.end(tail, out);
                    }
                    self.pair.clear();
                    from = at + 1;
                }
                Class::Semicolon => {
                    // The `;` reading's pair ends here: the `&` reading's pair so far, or its
                    // own since the last `;`. To the `&` reading the `;` is one more byte.
                    match &mut self.split {
                        Some(split) => {
                            split.end(bytes(split_from, at), out);
                            split.clear();
                        }
                        None => {
                            self.pair.take(bytes(from, at));
                            from = at;
                            self.pair.end(&[], out);
                            self.split = Some(Pair {
                                skip_versions: self.pair.skip_versions,
                                ..Pair::default()
                            });
                        }
                    }
                    split_from = at + 1;
                }
            }
        }
        self.pair.take(bytes(from, chunk.len()));
        if let Some(split) = &mut self.split {
            split.take(bytes(split_from, chunk.len()));
        }
    }

    /// Ends the input, reporting the last parameter.
    pub fn finish(&mut self, out: &mut dyn FnMut(Param<'_>)) {
        if let Some(mut split) = self.split.take() {
            split.end(&[], out);
        }
        self.pair.end(&[], out);
        self.pair.clear();
    }

    /// Bytes the scanner holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.pair.heap_bytes() + self.split.as_ref().map_or(0, Pair::heap_bytes)
    }

    /// Scans a whole parameter list at once.
    pub fn scan_all(input: &[u8], out: &mut dyn FnMut(Param<'_>)) {
        let mut scanner = ParamScanner::new();
        scanner.feed(input, out);
        scanner.finish(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(chunks: &[&[u8]]) -> Vec<(ParamKind, String, bool)> {
        let mut got = Vec::new();
        let mut scanner = ParamScanner::new();
        let mut sink = |p: Param<'_>| {
            got.push((p.kind, String::from_utf8_lossy(p.value).into_owned(), p.cut));
        };
        for chunk in chunks {
            scanner.feed(chunk, &mut sink);
        }
        scanner.finish(&mut sink);
        got.sort();
        got
    }

    fn whole(input: &str) -> Vec<(ParamKind, String, bool)> {
        collect(&[input.as_bytes()])
    }

    #[test]
    fn reads_recognised_parameters() {
        use ParamKind::*;
        let cases: &[(&str, &[(ParamKind, &str)])] = &[
            (
                "Action=RunInstances&Version=2014-05-26",
                &[(Action, "RunInstances"), (Version, "2014-05-26")],
            ),
            (
                "AccessKeyId=LTAI123&Format=XML",
                &[(AccessKeyId, "LTAI123"), (Format, "XML")],
            ),
            ("Act%69on=%52unInstances", &[(Action, "RunInstances")]),
            ("action=x+y", &[(Action, "x y")]),
            (
                "OSSAccessKeyId=LTAIabc&Expires=1",
                &[(AccessKeyId, "LTAIabc")],
            ),
            (
                "x-oss-credential=LTAIabc%2F20260101%2Fcn%2Foss",
                &[(Credential, "LTAIabc/20260101/cn/oss")],
            ),
            ("Action", &[(Action, "")]),
            ("Format&Action", &[(Format, ""), (Action, "")]),
            (" Action =RunInstances", &[]),
            ("%20Action%09=RunInstances", &[]),
            ("Action%00x=RunInstances", &[(Action, "RunInstances")]),
            ("%00Action=RunInstances", &[]),
            ("Action=", &[(Action, "")]),
            ("=RunInstances&&&", &[]),
            ("a=1;Action=RunInstances", &[(Action, "RunInstances")]),
            ("Action=A;x=1", &[(Action, "A"), (Action, "A;x=1")]),
            ("Action=One&Action=Two", &[(Action, "One"), (Action, "Two")]),
            ("Action=%2552un", &[(Action, "%52un"), (Action, "Run")]),
            ("Action=a=b", &[(Action, "a=b")]),
        ];
        for (input, want) in cases {
            let mut want: Vec<_> = want
                .iter()
                .map(|(k, v)| (*k, v.to_string(), false))
                .collect();
            want.sort();
            assert_eq!(whole(input), want, "input {input:?}");
        }
    }

    #[test]
    fn chunking_does_not_change_what_is_read() {
        let input = b"Signature=abc%3D&Act%69on=RunInstances&AccessKeyId=LTAI5tExample;Format=XML&Version=2014-05-26";
        let want = collect(&[input]);
        for split in 0..=input.len() {
            let (a, b) = input.split_at(split);
            assert_eq!(collect(&[a, b]), want, "split at {split}");
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(collect(&bytes), want);
    }

    #[test]
    fn long_values_are_cut_and_flagged() {
        let long = format!("Action={}", "A".repeat(MAX_VALUE + 10));
        let got = whole(&long);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1.len(), MAX_VALUE);
        assert!(got[0].2);
    }

    #[test]
    fn long_names_are_read_from_their_first_bytes() {
        let input = format!("{}=RunInstances&Action=Describe", "x".repeat(MAX_NAME * 2));
        assert_eq!(
            whole(&input),
            vec![(ParamKind::Action, "Describe".to_string(), false)]
        );
        // Found by the form scanner fuzz target: a long name that reads as `Action` up to
        // a NUL is recognised whatever its length.
        let input = format!("Action%00{}=RunInstances", "%20".repeat(MAX_NAME));
        assert_eq!(
            whole(&input),
            vec![(ParamKind::Action, "RunInstances".to_string(), false)]
        );
    }
}
