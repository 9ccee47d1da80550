//! What a request says about its caller and its call: AccessKey IDs, actions, versions, the
//! reply format and the host, read from headers, the query string and a form body.
//!
//! Headers are given as the host hands them over: `(name, value bytes)` pairs, pseudo-headers
//! (`:path`, `:authority`) included. Header names are compared without regard to case. Every
//! value found counts: repeated parameters, repeated headers, and header, query and body
//! values that disagree.

#![deny(clippy::indexing_slicing)]

use super::authorization;
use super::endpoints::normalize_host;
use super::params::{Param, ParamKind, ParamScanner};
use super::percent;

/// A request header: name and raw value.
pub type Header = (String, Vec<u8>);

/// A request header as it is handed over: owned ([`Header`]), or borrowed from a buffer the
/// host wrote (`(&str, &[u8])`), so the filter need not copy each name and value.
pub trait HeaderField {
    fn name(&self) -> &str;
    fn value(&self) -> &[u8];
}

impl HeaderField for Header {
    fn name(&self) -> &str {
        &self.0
    }
    fn value(&self) -> &[u8] {
        &self.1
    }
}

impl HeaderField for (&str, &[u8]) {
    fn name(&self) -> &str {
        self.0
    }
    fn value(&self) -> &[u8] {
        self.1
    }
}

/// Where a value was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Query,
    Body,
    Authorization,
    AccessKeyHeader,
    ActionHeader,
    VersionHeader,
}

impl Source {
    /// Short name for logs and explanations.
    pub fn label(self) -> &'static str {
        match self {
            Source::Query => "query",
            Source::Body => "body",
            Source::Authorization => "authorization header",
            Source::AccessKeyHeader => "x-acs-accesskey-id header",
            Source::ActionHeader => "x-acs-action header",
            Source::VersionHeader => "x-acs-version header",
        }
    }
}

/// True for the bytes an AccessKey ID is made of: ASCII letters, digits and `.`.
fn is_key_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'.'
}

/// Every run of ASCII letters, digits and `.` in a value.
fn key_tokens(value: &[u8], out: &mut dyn FnMut(&[u8])) {
    let mut start = None;
    for (at, &byte) in value.iter().enumerate() {
        match (is_key_byte(byte), start) {
            (true, None) => start = Some(at),
            (false, Some(from)) => {
                out(value.get(from..at).unwrap_or_default());
                start = None;
            }
            _ => {}
        }
    }
    if let Some(from) = start {
        out(value.get(from..).unwrap_or_default());
    }
}

/// The readings of one AccessKey ID value: as given and without surrounding whitespace and
/// control bytes (`out(reading, false)`), and, as other readings (`out(reading, true)`), every
/// run of ASCII letters, digits and `.` in it, so quotes, spaces, commas, a `#` or an `&`
/// around a key cannot hide it. A key is checked under each reading.
pub fn key_readings(value: &[u8], out: &mut dyn FnMut(&[u8], bool)) {
    out(value, false);
    let is_junk = |b: &u8| *b <= b' ' || *b == 0x7f;
    let start = value
        .iter()
        .position(|b| !is_junk(b))
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_junk(b))
        .map_or(start, |e| e + 1);
    let trimmed = value.get(start..end).unwrap_or_default();
    if trimmed.len() != value.len() {
        out(trimmed, false);
    }
    key_tokens(trimmed, &mut |token| {
        if token.len() != trimmed.len() {
            out(token, true);
        }
    });
}

/// The AccessKey ID in a credential scope `<AK>/<date>/…`.
fn credential_key(value: &[u8]) -> &[u8] {
    value.split(|&b| b == b'/').next().unwrap_or_default()
}

fn is_header(name: &str, wanted: &str) -> bool {
    name.eq_ignore_ascii_case(wanted)
}

/// The query part of a `:path` value.
pub fn query_of(path: &[u8]) -> Option<&[u8]> {
    let q = path.iter().position(|&b| b == b'?')?;
    path.get(q + 1..)
}

/// Passes every AccessKey ID candidate in the headers and the query string to `out`. This is
/// the fast path: nothing but keys is read.
pub fn keys_in_head(headers: &[impl HeaderField], out: &mut dyn FnMut(&[u8], Source)) {
    key_candidates_in_head(headers, &mut |key, c| out(key, c.source));
}

/// Where a key candidate comes from and how it was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub source: Source,
    /// From a value longer than the scanner keeps: the key it holds cannot be read with
    /// certainty.
    pub cut: bool,
    /// Another reading (a token of the value, or the value decoded), not the value as read.
    pub other: bool,
}

/// As [`keys_in_head`], saying how each candidate was read.
pub fn key_candidates_in_head(headers: &[impl HeaderField], out: &mut dyn FnMut(&[u8], Candidate)) {
    let candidate = |source, cut, other| Candidate { source, cut, other };
    for field in headers {
        let (name, value) = (field.name(), field.value());
        if is_header(name, "authorization") {
            // The parsed credentials, as written and from the decoded value.
            let source = Source::Authorization;
            authorization::keys_in(value, &mut |key| {
                key_readings(key, &mut |k, other| out(k, candidate(source, false, other)));
            });
            if percent::needs_decoding(value) {
                authorization::keys_in(&percent::decode(value), &mut |key| {
                    key_readings(key, &mut |k, _| out(k, candidate(source, false, true)));
                });
            }
        } else if is_header(name, "x-acs-accesskey-id") {
            let source = Source::AccessKeyHeader;
            key_readings(value, &mut |k, other| {
                out(k, candidate(source, false, other))
            });
            if percent::needs_decoding(value) {
                key_readings(&percent::decode(value), &mut |k, _| {
                    out(k, candidate(source, false, true))
                });
            }
        } else if name == ":path" {
            if let Some(query) = query_of(value) {
                ParamScanner::scan_all(query, &mut |p: Param<'_>| {
                    let key = match p.kind {
                        ParamKind::AccessKeyId => p.value,
                        ParamKind::Credential => credential_key(p.value),
                        _ => return,
                    };
                    key_readings(key, &mut |k, other| {
                        out(k, candidate(Source::Query, p.cut, other))
                    });
                });
            }
        }
    }
}

/// Splits a header value on commas too (a proxy may have joined repeated headers), keeping
/// the whole value as one more reading.
fn header_readings(value: &[u8], out: &mut dyn FnMut(&[u8])) {
    out(value);
    if value.contains(&b',') {
        for part in value.split(|&b| b == b',') {
            let start = part
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(part.len());
            let end = part
                .iter()
                .rposition(|b| !b.is_ascii_whitespace())
                .map_or(start, |e| e + 1);
            out(part.get(start..end).unwrap_or_default());
        }
    }
}

/// One thing read from a request, other than its hosts: a key reading, an action, a version,
/// or that the reply is asked for in XML. Handed to a sink as it is read, never stored here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item<'a> {
    /// An AccessKey ID reading and how it was read.
    Key(&'a [u8], Candidate),
    /// An action value (never empty); `cut`: the raw value was cut short by the scanner.
    Action {
        value: &'a [u8],
        source: Source,
        cut: bool,
    },
    Version {
        value: &'a [u8],
        source: Source,
        cut: bool,
    },
    /// `Format=XML` was asked for.
    Xml,
}

/// Passes what one parameter read from the query or the body says: every reading of an
/// AccessKey ID, an action, a version, the reply format.
pub fn param_items(param: Param<'_>, source: Source, out: &mut dyn FnMut(Item<'_>)) {
    match param.kind {
        ParamKind::AccessKeyId | ParamKind::Credential => {
            let key = if param.kind == ParamKind::Credential {
                credential_key(param.value)
            } else {
                param.value
            };
            key_readings(key, &mut |k, other| {
                out(Item::Key(
                    k,
                    Candidate {
                        source,
                        cut: param.cut,
                        other,
                    },
                ))
            })
        }
        ParamKind::Action => {
            if !param.value.is_empty() {
                out(Item::Action {
                    value: param.value,
                    source,
                    cut: param.cut,
                });
            }
        }
        ParamKind::Version => out(Item::Version {
            value: param.value,
            source,
            cut: param.cut,
        }),
        ParamKind::Format => {
            if param.value.eq_ignore_ascii_case(b"xml") {
                out(Item::Xml);
            }
        }
    }
}

/// Passes everything but the keys that the headers and the query string say: the
/// `x-acs-action` and `x-acs-version` headers (whole and split on commas), then the query's
/// actions, versions and format. The keys of the head come from [`key_candidates_in_head`].
pub fn head_items(headers: &[impl HeaderField], out: &mut dyn FnMut(Item<'_>)) {
    for field in headers {
        let (name, value) = (field.name(), field.value());
        if is_header(name, "x-acs-action") {
            header_readings(value, &mut |a| {
                if !a.is_empty() {
                    out(Item::Action {
                        value: a,
                        source: Source::ActionHeader,
                        cut: false,
                    })
                }
            });
        } else if is_header(name, "x-acs-version") {
            header_readings(value, &mut |v| {
                out(Item::Version {
                    value: v,
                    source: Source::VersionHeader,
                    cut: false,
                })
            });
        }
    }
    for field in headers {
        if field.name() == ":path" {
            if let Some(query) = query_of(field.value()) {
                ParamScanner::scan_all(query, &mut |p| {
                    if !matches!(p.kind, ParamKind::AccessKeyId | ParamKind::Credential) {
                        param_items(p, Source::Query, out)
                    }
                });
            }
        }
    }
}

/// Passes every host the request names, normalised: each `:authority` and `Host` value, whole
/// and, since Envoy joins repeated `Host` headers with commas, each comma-separated part. An
/// empty host is passed only as the first.
pub fn hosts_in(headers: &[impl HeaderField], out: &mut dyn FnMut(&str)) {
    let mut first = true;
    for field in headers {
        let (name, value) = (field.name(), field.value());
        if name == ":authority" || is_header(name, "host") {
            header_readings(value, &mut |v| {
                let host = normalize_host(v);
                if first || !host.is_empty() {
                    first = false;
                    out(&host);
                }
            });
        }
    }
}

/// The first value of a header, by name (any case).
pub fn header<'h>(headers: &'h [impl HeaderField], wanted: &str) -> Option<&'h [u8]> {
    headers
        .iter()
        .find(|field| is_header(field.name(), wanted))
        .map(HeaderField::value)
}

/// Owned headers from `(name, value)` text pairs, for tests.
#[cfg(test)]
pub fn headers_of(list: &[(&str, &str)]) -> Vec<Header> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[(&str, &str)]) -> Vec<Header> {
        headers_of(list)
    }

    fn head_keys(list: &[(&str, &str)]) -> Vec<(String, Source)> {
        let mut got = Vec::new();
        keys_in_head(&headers(list), &mut |k, s| {
            got.push((String::from_utf8_lossy(k).into_owned(), s))
        });
        got
    }

    #[test]
    fn finds_keys_in_every_head_place() {
        use Source::*;
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a [(&'a str, Source)]);
        let cases: &[Case] = &[
            (
                &[(":path", "/?AccessKeyId=LTAIq&Action=X")],
                &[("LTAIq", Query)],
            ),
            (&[(":path", "/?Access%4BeyId=LTAIq")], &[("LTAIq", Query)]),
            (
                &[(":path", "/obj?OSSAccessKeyId=LTAIo&Expires=1")],
                &[("LTAIo", Query)],
            ),
            (
                &[(":path", "/obj?x-oss-credential=LTAIc%2F2026%2Fcn%2Foss")],
                &[("LTAIc", Query)],
            ),
            (
                &[("authorization", "acs LTAIr:sig")],
                &[("LTAIr", Authorization)],
            ),
            (
                &[(
                    "Authorization",
                    "ACS3-HMAC-SHA256 Credential=LTAI3,Signature=x",
                )],
                &[("LTAI3", Authorization)],
            ),
            (
                &[("x-acs-accesskey-id", "STS.abc")],
                &[("STS.abc", AccessKeyHeader)],
            ),
            (
                &[("X-Acs-AccessKey-Id", " STS.abc ")],
                &[(" STS.abc ", AccessKeyHeader), ("STS.abc", AccessKeyHeader)],
            ),
            (&[(":path", "/no-query"), ("host", "ecs.aliyuncs.com")], &[]),
        ];
        for (list, want) in cases {
            let got = head_keys(list);
            for (key, source) in *want {
                assert!(
                    got.contains(&(key.to_string(), *source)),
                    "headers {list:?}: {key} from {source:?} not in {got:?}"
                );
            }
            if want.is_empty() {
                assert!(got.is_empty(), "headers {list:?}: {got:?}");
            }
        }
    }

    #[test]
    fn every_spelling_of_a_key_is_read() {
        use Source::*;
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, Source);
        let cases: &[Case] = &[
            (
                &[(
                    "authorization",
                    "ACS3-HMAC-SHA256 Credential = LTAIk,Signature=x",
                )],
                "LTAIk",
                Authorization,
            ),
            (
                &[(
                    "authorization",
                    "ACS3-HMAC-SHA256 Credential=\"LTAIk\",Signature=x",
                )],
                "LTAIk",
                Authorization,
            ),
            (
                &[("authorization", "ACS3-HMAC-SHA256 Credential=\tLTAIk")],
                "LTAIk",
                Authorization,
            ),
            (
                &[(
                    "authorization",
                    "ACS3 SignedHeaders=host;Credential=LTAIk;Signature=x",
                )],
                "LTAIk",
                Authorization,
            ),
            (
                &[("authorization", "acs LTAIc:s, acs LTAIk:s")],
                "LTAIk",
                Authorization,
            ),
            (
                &[("authorization", "ACS3-HMAC-SHA256 Credential=%4CTAIk")],
                "LTAIk",
                Authorization,
            ),
            (
                &[("x-acs-accesskey-id", "LTAIc, LTAIk")],
                "LTAIk",
                AccessKeyHeader,
            ),
            (
                &[("x-acs-accesskey-id", "%4CTAIk")],
                "LTAIk",
                AccessKeyHeader,
            ),
            (&[(":path", "/?AccessKeyId=LTAIk%26x%3D1")], "LTAIk", Query),
            (&[(":path", "/?AccessKeyId=%22LTAIk%22")], "LTAIk", Query),
            (&[(":path", "/?AccessKeyId=LTAIk%23frag")], "LTAIk", Query),
            (&[(":path", "/?AccessKeyId=LTAIk?x=1")], "LTAIk", Query),
        ];
        for (list, key, source) in cases {
            let got = head_keys(list);
            assert!(
                got.contains(&(key.to_string(), *source)),
                "headers {list:?}: {key} not in {got:?}"
            );
        }
    }

    #[test]
    fn cut_key_values_are_flagged() {
        let path = format!("/?AccessKeyId={}LTAIk", "%20".repeat(2000));
        let mut flagged = false;
        key_candidates_in_head(&headers(&[(":path", &path)]), &mut |_, c| flagged |= c.cut);
        assert!(flagged);
        let mut flagged = false;
        key_candidates_in_head(
            &headers(&[(":path", "/?AccessKeyId=LTAIk&Pad=%20%20")]),
            &mut |_, c| flagged |= c.cut,
        );
        assert!(!flagged);
    }

    #[test]
    fn reads_actions_versions_format_and_hosts() {
        let list = headers(&[
            (":authority", "ECS.cn-hangzhou.aliyuncs.com:443"),
            ("host", "ecs.aliyuncs.com., ,x.example"),
            (
                ":path",
                "/?Action=DescribeRegions&Format=xml&Version=2014-05-26&Action=RunInstances&AccessKeyId=LTAIk",
            ),
            ("x-acs-action", "StartInstance, DeleteImage"),
            ("x-acs-version", "2014-05-26"),
        ]);
        let mut actions = Vec::new();
        let mut versions = Vec::new();
        let mut xml = false;
        head_items(&list, &mut |item| match item {
            Item::Action { value, source, cut } => {
                assert!(!cut);
                actions.push((String::from_utf8_lossy(value).into_owned(), source))
            }
            Item::Version { value, .. } => versions.push(value.to_vec()),
            Item::Xml => xml = true,
            Item::Key(..) => panic!("keys of the head come from key_candidates_in_head"),
        });
        use Source::*;
        assert_eq!(
            actions,
            [
                ("StartInstance, DeleteImage".to_string(), ActionHeader),
                ("StartInstance".into(), ActionHeader),
                ("DeleteImage".into(), ActionHeader),
                ("DescribeRegions".into(), Query),
                ("RunInstances".into(), Query),
            ]
        );
        assert_eq!(versions, [b"2014-05-26".to_vec(), b"2014-05-26".to_vec()]);
        assert!(xml);
        let mut hosts = Vec::new();
        hosts_in(&list, &mut |h| hosts.push(h.to_string()));
        assert_eq!(
            hosts,
            [
                "ecs.cn-hangzhou.aliyuncs.com",
                "ecs.aliyuncs.com., ,x.example",
                "ecs.aliyuncs.com",
                "x.example"
            ]
        );
        let mut hosts = Vec::new();
        hosts_in(&headers(&[("host", ",ecs.aliyuncs.com")]), &mut |h| {
            hosts.push(h.to_string())
        });
        assert_eq!(hosts, [",ecs.aliyuncs.com", "ecs.aliyuncs.com"]);
    }

    #[test]
    fn body_parameters_become_items() {
        let mut got = Vec::new();
        ParamScanner::scan_all(
            b"AccessKeyId=%22LTAIk%22&Action=RunInstances&Action=&Version=1&Format=XML",
            &mut |p| {
                param_items(p, Source::Body, &mut |item| {
                    got.push(match item {
                        Item::Key(k, c) => {
                            format!("key {} other={}", String::from_utf8_lossy(k), c.other)
                        }
                        Item::Action { value, .. } => {
                            format!("action {}", String::from_utf8_lossy(value))
                        }
                        Item::Version { value, .. } => {
                            format!("version {}", String::from_utf8_lossy(value))
                        }
                        Item::Xml => "xml".into(),
                    });
                })
            },
        );
        assert_eq!(
            got,
            [
                "key \"LTAIk\" other=false",
                "key LTAIk other=true",
                "action RunInstances",
                "version 1",
                "xml"
            ]
        );
    }
}
