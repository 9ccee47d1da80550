//! Shared by the benchmarks: realistic requests of each signature style, and leaked-key
//! sets of any size (plain IDs, `sha256:` entries, or `leaked_keys_packed`, one block or an
//! array of blocks).

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

pub mod counting;

use akguard::core::config::{self, Policy};
use akguard::core::keyset::sha256;
use akguard::core::packed;
use akguard::core::request::Header;

/// A leaked key that every generated set holds.
pub const LEAKED: &str = "LTAI5tLeakedKey000000001";
/// A key that no generated set holds.
pub const CLEAN: &str = "LTAI5tCleanKey0000000001";

/// The `i`-th generated key of set number `set` (sets differ, keys look like real IDs).
pub fn key(set: usize, i: usize) -> String {
    format!("LTAI5t{set:02}{i:016}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `leaked_keys` entries: `n` keys (LEAKED among them), every `sha256_every`-th one (when
/// non-zero) as a `sha256:` entry.
pub fn entries(set: usize, n: usize, sha256_every: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    out.push(LEAKED.to_string());
    for i in 1..n {
        let k = key(set, i);
        if sha256_every != 0 && i % sha256_every == 0 {
            out.push(format!("sha256:{}", hex(&sha256(k.as_bytes()))));
        } else {
            out.push(k);
        }
    }
    out
}

/// A configuration text with `leaked_keys` as a JSON array.
pub fn json_config(set: usize, n: usize, sha256_every: usize) -> String {
    let entries = entries(set, n, sha256_every);
    let mut text = String::with_capacity(n * 28 + 32);
    text.push_str("{\"leaked_keys\":[");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push('"');
        text.push_str(e);
        text.push('"');
    }
    text.push_str("]}");
    text
}

/// A configuration text with the same keys as `leaked_keys_packed`.
pub fn packed_config(set: usize, n: usize) -> String {
    let entries = entries(set, n, 0);
    let block = packed::encode_entries(entries.iter().map(String::as_str)).unwrap();
    format!("{{\"leaked_keys_packed\":\"{block}\"}}")
}

/// A configuration text with the same keys as `leaked_keys_packed`, an array of blocks.
pub fn packed_blocks_config(set: usize, n: usize) -> String {
    let entries = entries(set, n, 0);
    let blocks = packed::encode_entries_in_blocks(entries.iter().map(String::as_str)).unwrap();
    format!(
        "{{\"leaked_keys_packed\":{}}}",
        serde_json::to_string(&blocks).unwrap()
    )
}

pub fn policy(text: &str) -> Policy {
    config::load(text.as_bytes()).unwrap().policy
}

fn headers(method: &str, authority: &str, path: &str, extra: &[(&str, &str)]) -> Vec<Header> {
    let mut h: Vec<Header> = vec![
        (":method".into(), method.as_bytes().to_vec()),
        (":scheme".into(), b"https".to_vec()),
        (":authority".into(), authority.as_bytes().to_vec()),
        (":path".into(), path.as_bytes().to_vec()),
        (
            "user-agent".into(),
            b"AlibabaCloud (Linux; amd64) Go/1.22 Core/1.63".to_vec(),
        ),
        ("accept".into(), b"application/json".to_vec()),
        (
            "x-request-id".into(),
            b"4d7c2a8e-0b61-4f0e-9c1d-2f8a6b3e5d10".to_vec(),
        ),
    ];
    for (name, value) in extra {
        h.push((name.to_string(), value.as_bytes().to_vec()));
    }
    h
}

/// An RPC (V2) GET with everything in the query.
pub fn rpc_query(key: &str, action: &str) -> Vec<Header> {
    let path = format!(
        "/?AccessKeyId={key}&Action={action}&Format=JSON&RegionId=cn-hangzhou&SignatureMethod=HMAC-SHA1\
         &SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0\
         &Timestamp=2026-01-01T12%3A00%3A00Z&Version=2014-05-26&Signature=CT9X0VtwR86fNWSnsc6v8YGOjuE%3D"
    );
    headers("GET", "ecs.cn-hangzhou.aliyuncs.com", &path, &[])
}

/// A V3 (ACS3-HMAC-SHA256) request with no body.
pub fn v3_header(key: &str, action: &str) -> Vec<Header> {
    let auth = format!(
        "ACS3-HMAC-SHA256 Credential={key},SignedHeaders=host;x-acs-action;x-acs-content-sha256;\
         x-acs-date;x-acs-signature-nonce;x-acs-version,\
         Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    );
    headers(
        "POST",
        "ecs.cn-hangzhou.aliyuncs.com",
        "/",
        &[
            ("authorization", &auth),
            ("x-acs-action", action),
            ("x-acs-version", "2014-05-26"),
            ("x-acs-date", "2026-01-01T12:00:00Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
            (
                "x-acs-content-sha256",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
        ],
    )
}

/// An RPC POST whose parameters travel in a form body: the headers.
pub fn form_head() -> Vec<Header> {
    headers(
        "POST",
        "ecs.cn-hangzhou.aliyuncs.com",
        "/",
        &[("content-type", "application/x-www-form-urlencoded")],
    )
}

/// The form body for [`form_head`].
pub fn form_body(key: &str, action: &str) -> Vec<u8> {
    format!(
        "AccessKeyId={key}&Action={action}&Format=JSON&RegionId=cn-hangzhou&SignatureMethod=HMAC-SHA1\
         &SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0\
         &Timestamp=2026-01-01T12%3A00%3A00Z&Version=2014-05-26&Signature=CT9X0VtwR86fNWSnsc6v8YGOjuE%3D"
    )
    .into_bytes()
}

/// A ROA request (`Authorization: acs AK:signature`).
pub fn roa(key: &str, action: &str) -> Vec<Header> {
    let auth = format!("acs {key}:c2lnbmF0dXJlMDEyMzQ1Njc4OQ==");
    headers(
        "POST",
        "ecs.aliyuncs.com",
        "/",
        &[
            ("authorization", &auth),
            ("x-acs-action", action),
            ("x-acs-version", "2014-05-26"),
            ("content-type", "application/json"),
            ("content-length", "0"),
        ],
    )
}

/// An STS request: temporary key in `x-acs-accesskey-id`.
pub fn sts(key: &str, action: &str) -> Vec<Header> {
    let auth = format!(
        "ACS3-HMAC-SHA256 Credential={key},SignedHeaders=host;x-acs-action,Signature=00112233"
    );
    headers(
        "GET",
        "ecs.aliyuncs.com",
        "/",
        &[
            ("authorization", &auth),
            ("x-acs-accesskey-id", key),
            (
                "x-acs-security-token",
                "CAIS+gF1q6Ft5B2yfSjIr5bkKo3zg5tVxLiOZ0",
            ),
            ("x-acs-action", action),
        ],
    )
}
