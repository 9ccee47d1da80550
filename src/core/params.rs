//! Streaming scanner for `name=value` parameter lists: query strings and
//! `application/x-www-form-urlencoded` bodies, fed in chunks of any size.
//!
//! Only the parameters akguard reads are kept; everything else is skipped byte by byte, so
//! memory stays bounded whatever the body's length. Pairs are split on `&` and, as a second
//! reading, also on `;`: both readings are reported, so a server that honours either separator
//! cannot see a parameter the scanner missed.

#![deny(clippy::indexing_slicing)]

use super::percent;

/// Longest raw parameter name prefix kept for recognition. Recognised names are short: even
/// encoded three times, none takes more than 112 raw bytes, so a longer name is recognised
/// only by its reading up to a NUL, which the prefix holds.
const MAX_NAME: usize = 256;
/// Longest raw value kept for a recognised parameter; the rest is dropped and the value is
/// reported as cut.
pub const MAX_VALUE: usize = 4096;

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
    const NAMES: &[(&[u8], ParamKind)] = &[
        (b"accesskeyid", ParamKind::AccessKeyId),
        (b"ossaccesskeyid", ParamKind::AccessKeyId),
        (b"x-oss-credential", ParamKind::Credential),
        (b"x-amz-credential", ParamKind::Credential),
        (b"action", ParamKind::Action),
        (b"version", ParamKind::Version),
        (b"format", ParamKind::Format),
    ];
    let recognise = |name: &[u8]| {
        NAMES
            .iter()
            .find(|(known, _)| name.eq_ignore_ascii_case(known))
            .map(|&(_, kind)| kind)
    };
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Name,
    Value,
}

/// Scanner for one separator reading. See [`ParamScanner`].
#[derive(Debug)]
struct Reading {
    split_on_semicolon: bool,
    part: Part,
    name: Vec<u8>,
    kind: Option<ParamKind>,
    /// The name was recognised decoded once.
    name_first: bool,
    value: Vec<u8>,
    value_cut: bool,
    /// The current pair began after a `;`.
    after_semicolon: bool,
}

impl Reading {
    fn new(split_on_semicolon: bool) -> Self {
        Reading {
            split_on_semicolon,
            part: Part::Name,
            name: Vec::new(),
            kind: None,
            name_first: false,
            value: Vec::new(),
            value_cut: false,
            after_semicolon: false,
        }
    }

    fn is_separator(&self, byte: u8) -> bool {
        byte == b'&' || (self.split_on_semicolon && byte == b';')
    }

    fn feed(&mut self, chunk: &[u8], out: &mut dyn FnMut(Param<'_>)) {
        let mut rest = chunk;
        while !rest.is_empty() {
            let stop = rest
                .iter()
                .position(|&b| self.is_separator(b) || (self.part == Part::Name && b == b'='));
            let (run, next) = match stop.and_then(|at| rest.split_at_checked(at)) {
                Some((run, tail)) => (run, tail.split_first().map(|(&b, after)| (b, after))),
                None => (rest, None),
            };
            self.take(run);
            match next {
                Some((b'=', after)) if self.part == Part::Name => {
                    self.end_name();
                    rest = after;
                }
                Some((separator, after)) => {
                    self.end_pair(Some(separator), out);
                    rest = after;
                }
                None => break,
            }
        }
    }

    fn take(&mut self, run: &[u8]) {
        match self.part {
            Part::Name => {
                let room = MAX_NAME.saturating_sub(self.name.len());
                self.name.extend_from_slice(run.get(..room).unwrap_or(run));
            }
            Part::Value => {
                if self.kind.is_none() {
                    return;
                }
                let room = MAX_VALUE.saturating_sub(self.value.len());
                if run.len() > room {
                    self.value_cut = true;
                }
                self.value.extend_from_slice(run.get(..room).unwrap_or(run));
            }
        }
    }

    fn end_name(&mut self) {
        self.part = Part::Value;
        self.kind = None;
        if !percent::needs_decoding(&self.name) {
            // The common case: a plain name has one reading, read without copying it.
            self.kind = classify(&self.name);
            self.name_first = true;
            return;
        }
        for (round, reading) in percent::readings(&self.name).iter().enumerate() {
            if let Some(kind) = classify(reading) {
                self.kind = Some(kind);
                self.name_first = round == 0;
                break;
            }
        }
    }

    /// Ends the current pair at `separator` (`None` at the end of the input). The `;`
    /// reading reports only pairs a `;` bounds: the others are the `&` reading's too. A name
    /// without `=` is a parameter with an empty value, as form decoders read it.
    fn end_pair(&mut self, separator: Option<u8>, out: &mut dyn FnMut(Param<'_>)) {
        let by_semicolon = self.after_semicolon || separator == Some(b';');
        self.after_semicolon = separator == Some(b';');
        if self.part == Part::Name && !self.name.is_empty() {
            self.end_name();
        }
        if self.part == Part::Value && (!self.split_on_semicolon || by_semicolon) {
            if let Some(kind) = self.kind {
                if !percent::needs_decoding(&self.value) {
                    // The common case: a plain value is its one reading, passed without copying.
                    out(Param {
                        kind,
                        value: &self.value,
                        cut: self.value_cut,
                        first_reading: self.name_first,
                    });
                } else {
                    for (round, reading) in percent::readings(&self.value).iter().enumerate() {
                        out(Param {
                            kind,
                            value: reading,
                            cut: self.value_cut,
                            first_reading: self.name_first && round == 0,
                        });
                    }
                }
            }
        }
        self.part = Part::Name;
        self.name.clear();
        self.kind = None;
        self.name_first = false;
        self.value.clear();
        self.value_cut = false;
    }
}

/// Streaming scanner over a parameter list, reporting every recognised parameter under both
/// separator readings (`&` only, and `&` or `;`). Feed chunks with [`ParamScanner::feed`] and
/// call [`ParamScanner::finish`] at the end of the input.
#[derive(Debug)]
pub struct ParamScanner {
    readings: [Reading; 2],
}

impl Default for ParamScanner {
    fn default() -> Self {
        Self::new()
    }
}

impl ParamScanner {
    pub fn new() -> Self {
        ParamScanner {
            readings: [Reading::new(false), Reading::new(true)],
        }
    }

    /// Scans the next chunk; every parameter completed inside it is passed to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut dyn FnMut(Param<'_>)) {
        for reading in &mut self.readings {
            reading.feed(chunk, out);
        }
    }

    /// Ends the input, reporting the last parameter.
    pub fn finish(&mut self, out: &mut dyn FnMut(Param<'_>)) {
        for reading in &mut self.readings {
            reading.end_pair(None, out);
            reading.after_semicolon = false;
        }
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
