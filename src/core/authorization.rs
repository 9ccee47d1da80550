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

const CREDENTIAL: &[u8] = b"credential=";

fn is_space(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

fn trim(mut value: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = value {
        if is_space(*first) || *first == b',' {
            value = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = value {
        if is_space(*last) || *last == b',' {
            value = rest;
        } else {
            break;
        }
    }
    value
}

/// Position of every `Credential=` (any case) in `value`, pointing just past the `=`.
fn credential_starts(value: &[u8]) -> impl Iterator<Item = usize> + '_ {
    value
        .windows(CREDENTIAL.len())
        .enumerate()
        .filter_map(|(at, window)| {
            window
                .eq_ignore_ascii_case(CREDENTIAL)
                .then_some(at + CREDENTIAL.len())
        })
}

/// Every AccessKey ID candidate in one `Authorization` header value, passed to `out`.
pub fn keys_in(value: &[u8], out: &mut dyn FnMut(&[u8])) {
    let value = trim(value);
    let mut found_credential = false;
    for start in credential_starts(value) {
        let rest = value.get(start..).unwrap_or_default();
        let key = rest
            .split(|&b| b == b'/' || b == b',' || is_space(b))
            .next()
            .unwrap_or_default();
        found_credential = true;
        out(key);
    }
    if found_credential {
        return;
    }
    // `<scheme> <AK>:<signature>` (ROA, OSS V1), or an unknown scheme with the same shape.
    let after_scheme = match value.iter().position(|&b| is_space(b)) {
        Some(space) => trim(value.get(space..).unwrap_or_default()),
        None => value,
    };
    if after_scheme.contains(&b':') {
        let before_colon = after_scheme
            .split(|&b| b == b':')
            .next()
            .unwrap_or_default();
        out(trim(before_colon));
    } else if !after_scheme.is_empty() && after_scheme.len() != value.len() {
        out(after_scheme);
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
            ("", &[]),
            ("acs", &[]),
        ];
        for (value, want) in cases {
            assert_eq!(keys(value), *want, "header {value:?}");
        }
    }
}
