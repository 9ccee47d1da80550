//! AccessKey IDs carried in `Authorization` header values, for every signature scheme an
//! Alibaba Cloud client uses:
//!
//! - `ACS3-HMAC-SHA256|ACS3-HMAC-SM3|ACS3-RSA-SHA256 Credential=<AK>,SignedHeaders=…,Signature=…`
//! - `ACS4-HMAC-SHA256 Credential=<AK>/<date>/<region>/<product>/aliyun_v4_request,…`
//! - `OSS4-HMAC-SHA256 Credential=<AK>/…` and S3-style `AWS4-HMAC-SHA256 Credential=<AK>/…`
//! - ROA `acs <AK>:<signature>` and OSS V1 `OSS <AK>:<signature>`
//!
//! Parsing is deliberately lenient: scheme and `Credential` are matched without regard to
//! case, spaces and commas may vary, and every `Credential=` found counts. An unknown scheme
//! still yields the token before `:` as a candidate, so a novel spelling cannot hide a key.

#![deny(clippy::indexing_slicing)]

const CREDENTIAL: &[u8] = b"credential";

fn is_space(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// Bytes that surround a value without being part of it: spaces, tabs, quotes.
fn is_padding(byte: u8) -> bool {
    is_space(byte) || byte == b'"' || byte == b'\''
}

fn trim_by(mut value: &[u8], drop: impl Fn(u8) -> bool) -> &[u8] {
    while let [first, rest @ ..] = value {
        if drop(*first) {
            value = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = value {
        if drop(*last) {
            value = rest;
        } else {
            break;
        }
    }
    value
}

/// The value after every `Credential` (any case) that is followed, past optional spaces, tabs
/// and quotes, by `=`; the value starts after the `=` and any further padding.
///
/// Found from the `=` signs (few in a header value, and found a word at a time): the bytes
/// before each `=`, padding skipped, must end with `Credential`. Each `Credential` followed by
/// padding and `=` is met once this way, in the order of the value.
fn credential_values(value: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    memchr::memchr_iter(b'=', value).filter_map(move |equals| {
        let before = value.get(..equals).unwrap_or_default();
        let name_end = before.iter().rposition(|&b| !is_padding(b))? + 1;
        let name_start = name_end.checked_sub(CREDENTIAL.len())?;
        let name = before.get(name_start..name_end).unwrap_or_default();
        if !name.eq_ignore_ascii_case(CREDENTIAL) {
            return None;
        }
        let rest = value.get(equals + 1..).unwrap_or_default();
        Some(rest.strip_prefix_padding())
    })
}

/// The part before the first `:` of every comma-separated part of `value` that has one, in
/// order (the same as splitting on commas and looking for a colon in each part, but found a
/// word at a time).
fn before_first_colons(value: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    let mut from = Some(0usize);
    std::iter::from_fn(move || {
        let start = from?;
        let tail = value.get(start..).unwrap_or_default();
        let Some(colon) = memchr::memchr(b':', tail).map(|at| start + at) else {
            from = None;
            return None;
        };
        // The part holding this colon starts after the last comma before it.
        let between = value.get(start..colon).unwrap_or_default();
        let part_start = memchr::memrchr(b',', between).map_or(start, |at| start + at + 1);
        // The next part starts after the next comma.
        let after = value.get(colon..).unwrap_or_default();
        from = memchr::memchr(b',', after).map(|at| colon + at + 1);
        Some(value.get(part_start..colon).unwrap_or_default())
    })
}

trait StripPadding {
    fn strip_prefix_padding(&self) -> &Self;
}

impl StripPadding for [u8] {
    fn strip_prefix_padding(&self) -> &[u8] {
        let start = self
            .iter()
            .position(|&b| !is_padding(b))
            .unwrap_or(self.len());
        self.get(start..).unwrap_or_default()
    }
}

/// Ends a `Credential=` value: the next parameter (`,`, `;`, or the `=` of a parameter
/// joined without a separator), the credential scope (`/`), or a space or tab. Stopping at
/// `=` also keeps the reading linear: each byte belongs to the value of at most one
/// `Credential=`.
fn ends_credential(byte: u8) -> bool {
    matches!(byte, b',' | b';' | b'/' | b'=' | b' ' | b'\t')
}

/// Every AccessKey ID candidate in one `Authorization` header value, passed to `out`:
/// - after each `Credential=`: the value up to the end of the parameter or the start of the
///   credential scope (a `,`, `;`, `=`, `/`, space or tab), without surrounding quotes, and, when
///   the value is percent-encoded, its decoding. The caller reads each candidate as it reads
///   every key value (as given, trimmed, and every run of key characters in it), so a byte
///   that is not part of a key around the ID cannot hide it;
/// - in each comma-separated part shaped `[<scheme>] <AK>:<signature>` (ROA, OSS V1, an unknown
///   scheme, or several headers joined with commas): the last word before the first `:`.
pub fn keys_in(value: &[u8], out: &mut dyn FnMut(&[u8])) {
    let found = std::cell::Cell::new(false);
    let mut out = |key: &[u8]| {
        found.set(true);
        out(key)
    };
    for rest in credential_values(value) {
        let end = rest
            .iter()
            .position(|&b| ends_credential(b))
            .unwrap_or(rest.len());
        let credential = trim_by(rest.get(..end).unwrap_or_default(), is_padding);
        out(credential);
        if super::percent::needs_decoding(credential) {
            out(&super::percent::decode(credential));
        }
    }
    for before in before_first_colons(value) {
        if memchr::memchr(b'=', before).is_some() {
            continue;
        }
        let before = trim_by(before, is_padding);
        let word = before.rsplit(|&b| is_space(b)).next().unwrap_or_default();
        if !word.is_empty() {
            out(word);
        }
    }
    if !found.get() {
        // `<scheme> <token>` of an unknown shape: the token is one more candidate.
        let value = trim_by(value, |b| is_padding(b) || b == b',');
        if let Some(space) = value.iter().position(|&b| is_space(b)) {
            let token = trim_by(value.get(space..).unwrap_or_default(), is_padding);
            if !token.is_empty() {
                out(token);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `credential_values` read the plain way: a window at every position.
    fn credential_values_by_window(value: &[u8]) -> Vec<&[u8]> {
        (0..value.len())
            .filter_map(|at| {
                let window = value.get(at..at + CREDENTIAL.len())?;
                if !window.eq_ignore_ascii_case(CREDENTIAL) {
                    return None;
                }
                let rest = value[at + CREDENTIAL.len()..].strip_prefix_padding();
                Some(rest.strip_prefix(b"=")?.strip_prefix_padding())
            })
            .collect()
    }

    /// `before_first_colons` read the plain way: split on commas, cut each part at its colon.
    fn before_first_colons_by_split(value: &[u8]) -> Vec<&[u8]> {
        value
            .split(|&b| b == b',')
            .filter_map(|part| Some(&part[..part.iter().position(|&b| b == b':')?]))
            .collect()
    }

    /// Header values made of the pieces the two readers look for, and stray bytes.
    fn header_value() -> impl Strategy<Value = Vec<u8>> {
        let pieces: Vec<&[u8]> = vec![
            b"credential",
            b"Credential",
            b"CREDENTIAL",
            b"credentia",
            b"redential",
            b"l",
            b"=",
            b":",
            b",",
            b" ",
            b"\t",
            b"\"",
            b"'",
            b"%",
            b"%4C",
            b";",
            b"/",
            b"acs ",
            b"LTAI5tKey",
            b"x",
        ];
        let piece = prop_oneof![
            proptest::sample::select(pieces).prop_map(<[u8]>::to_vec),
            any::<u8>().prop_map(|b| vec![b]),
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn readers_agree_with_the_plain_reading(value in header_value()) {
            let got: Vec<&[u8]> = credential_values(&value).collect();
            prop_assert_eq!(got, credential_values_by_window(&value));
            let got: Vec<&[u8]> = before_first_colons(&value).collect();
            prop_assert_eq!(got, before_first_colons_by_split(&value));
        }
    }

    fn keys(value: &str) -> Vec<String> {
        let mut got = Vec::new();
        keys_in(value.as_bytes(), &mut |k| {
            got.push(String::from_utf8_lossy(k).into_owned())
        });
        got
    }

    #[test]
    fn reads_every_scheme() {
        let cases: &[(&str, &[&str])] = &[
            ("ACS3-HMAC-SHA256 Credential=LTAI5tKey,SignedHeaders=host;x-acs-action,Signature=ab12", &["LTAI5tKey"]),
            ("ACS3-HMAC-SM3 Credential=LTAI5tKey,SignedHeaders=host,Signature=ab", &["LTAI5tKey"]),
            ("ACS3-RSA-SHA256 Credential=LTAI5tKey,SignedHeaders=host,Signature=ab", &["LTAI5tKey"]),
            ("ACS4-HMAC-SHA256 Credential=LTAI5tKey/20260101/cn-hangzhou/ecs/aliyun_v4_request,SignedHeaders=host,Signature=ab", &["LTAI5tKey"]),
            ("OSS4-HMAC-SHA256 Credential=LTAI5tKey/20260101/cn-hangzhou/oss/aliyun_v4_request, AdditionalHeaders=host, Signature=ab", &["LTAI5tKey"]),
            ("AWS4-HMAC-SHA256 Credential=LTAI5tKey/20260101/cn/s3/aws4_request, SignedHeaders=host, Signature=ab", &["LTAI5tKey"]),
            ("acs LTAI5tKey:c2lnbmF0dXJl", &["LTAI5tKey"]),
            ("OSS LTAI5tKey:c2lnbmF0dXJl", &["LTAI5tKey"]),
            ("ACS LTAI5tKey:sig", &["LTAI5tKey"]),
            ("acs3-hmac-sha256   credential=LTAI5tKey , Signature=x", &["LTAI5tKey"]),
            ("ACS3-HMAC-SHA256 SignedHeaders=host,CREDENTIAL=LTAI5tKey,Signature=ab", &["LTAI5tKey"]),
            ("ACS3-HMAC-SHA256 Credential=LTAIone,Credential=LTAItwo", &["LTAIone", "LTAItwo"]),
            ("  acs   LTAI5tKey:sig  ", &["LTAI5tKey"]),
            ("LTAI5tKey:sig", &["LTAI5tKey"]),
            ("Bearer token", &["token"]),
            ("ACS3-HMAC-SHA256 Credential = LTAI5tKey,Signature=ab", &["LTAI5tKey"]),
            ("ACS3-HMAC-SHA256\tCredential=\tLTAI5tKey,Signature=ab", &["LTAI5tKey"]),
            ("ACS3-HMAC-SHA256 Credential=\"LTAI5tKey\",Signature=ab", &["LTAI5tKey"]),
            ("ACS3-HMAC-SHA256 SignedHeaders=host;Credential=LTAI5tKey;Signature=ab", &["LTAI5tKey"]),
            ("ACS3-HMAC-SHA256Credential=LTAI5tKey,Signature=ab", &["LTAI5tKey"]),
            ("ACS3-HMAC-SHA256 Credential=LTAI%35tKey,Signature=ab", &["LTAI%35tKey", "LTAI5tKey"]),
            ("ACS3-HMAC-SHA256 Credential=\u{a0}LTAI5tKey,Signature=ab", &["\u{a0}LTAI5tKey"]),
            ("ACS3-HMAC-SHA256 Credential=(LTAI5tKey),Signature=ab", &["(LTAI5tKey)"]),
            ("ACS3-HMAC-SHA256 Credential=\\LTAI5tKey", &["\\LTAI5tKey"]),
            ("ACS3-HMAC-SHA256 Credential=,Signature=ab", &[""]),
            ("acs LTAIclean:c2ln, acs LTAI5tKey:c2ln", &["LTAIclean", "LTAI5tKey"]),
            ("acs   LTAI5tKey   :c2ln", &["LTAI5tKey"]),
            ("HMAC-SHA256 LTAI5tKey:c2ln", &["LTAI5tKey"]),
            ("ACS3-HMAC-SHA256 Credentials=x,Signature=ab", &["Credentials=x,Signature=ab"]),
            ("", &[]),
            ("acs", &[]),
        ];
        for (value, want) in cases {
            assert_eq!(keys(value), *want, "header {value:?}");
        }
    }
}
