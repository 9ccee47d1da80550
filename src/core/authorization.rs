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

/// Bytes an AccessKey ID is made of.
fn is_key_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'.'
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
fn credential_values(value: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    value
        .windows(CREDENTIAL.len())
        .enumerate()
        .filter_map(move |(at, window)| {
            // The first byte rules out almost every position before the full comparison.
            let first = window.first().copied().unwrap_or_default() | 0x20;
            if first != b'c' || !window.eq_ignore_ascii_case(CREDENTIAL) {
                return None;
            }
            let rest = value.get(at + CREDENTIAL.len()..).unwrap_or_default();
            let rest = rest.strip_prefix_padding();
            let rest = rest.strip_prefix(b"=")?;
            Some(rest.strip_prefix_padding())
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

/// Every AccessKey ID candidate in one `Authorization` header value, passed to `out`:
/// - after each `Credential=`: the value up to the first byte that is not part of a key (so
///   `/`, `,`, `;`, quotes and spaces end it), and, when the value is percent-encoded, the
///   same read from its decoding;
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
            .position(|&b| !is_key_byte(b))
            .unwrap_or(rest.len());
        out(rest.get(..end).unwrap_or_default());
        if rest.get(end) == Some(&b'%') {
            let raw_end = rest
                .iter()
                .position(|&b| !(is_key_byte(b) || b == b'%'))
                .unwrap_or(rest.len());
            let decoded = super::percent::decode(rest.get(..raw_end).unwrap_or_default());
            let end = decoded
                .iter()
                .position(|&b| !is_key_byte(b))
                .unwrap_or(decoded.len());
            out(decoded.get(..end).unwrap_or_default());
        }
    }
    for part in value.split(|&b| b == b',') {
        let Some(colon) = part.iter().position(|&b| b == b':') else {
            continue;
        };
        let before = part.get(..colon).unwrap_or_default();
        if before.contains(&b'=') {
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
            ("ACS3-HMAC-SHA256 Credential=LTAI%35tKey,Signature=ab", &["LTAI", "LTAI5tKey"]),
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
