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

/// A value and where it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub value: Vec<u8>,
    pub source: Source,
    /// The raw value was longer than the scanner keeps and was cut.
    pub cut: bool,
}

/// Everything read from a request so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evidence {
    /// AccessKey IDs as read (as given and trimmed).
    pub keys: Vec<Found>,
    /// Other readings of them, also checked: tokens of the values, decoded header values.
    pub other_key_readings: Vec<Found>,
    pub actions: Vec<Found>,
    pub versions: Vec<Found>,
    /// `Format=XML` was asked for.
    pub xml: bool,
    /// Normalised `:authority` / `Host` values.
    pub hosts: Vec<String>,
}

fn push_unique(list: &mut Vec<Found>, value: &[u8], source: Source, cut: bool) {
    if !list.iter().any(|f| f.value == value) {
        list.push(Found {
            value: value.to_vec(),
            source,
            cut,
        });
    }
}

/// Records a key reading: with the keys as read, or with the other readings unless it is
/// already a key as read.
fn push_key(
    keys: &mut Vec<Found>,
    others: &mut Vec<Found>,
    value: &[u8],
    source: Source,
    cut: bool,
    other: bool,
) {
    if !other {
        push_unique(keys, value, source, cut);
    } else if !keys.iter().any(|f| f.value == value) {
        push_unique(others, value, source, cut);
    }
}

/// True for the bytes an AccessKey ID is made of: ASCII letters, digits and `.`.
fn is_key_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'.'
}

/// Every run of ASCII letters, digits and `.` in a value.
fn key_tokens(value: &[u8], out: &mut dyn FnMut(&[u8])) {
    for token in value.split(|&b| !is_key_byte(b)) {
        if !token.is_empty() {
            out(token);
        }
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

impl Evidence {
    /// Records one parameter read from the query or the body.
    pub fn add_param(&mut self, param: Param<'_>, source: Source) {
        let Evidence {
            keys,
            other_key_readings,
            actions,
            versions,
            ..
        } = self;
        match param.kind {
            ParamKind::AccessKeyId | ParamKind::Credential => {
                let key = if param.kind == ParamKind::Credential {
                    credential_key(param.value)
                } else {
                    param.value
                };
                key_readings(key, &mut |k, other| {
                    push_key(keys, other_key_readings, k, source, param.cut, other)
                })
            }
            ParamKind::Action => {
                if !param.value.is_empty() {
                    push_unique(actions, param.value, source, param.cut);
                }
            }
            ParamKind::Version => push_unique(versions, param.value, source, param.cut),
            ParamKind::Format => {
                if param.value.eq_ignore_ascii_case(b"xml") {
                    self.xml = true;
                }
            }
        }
    }

    /// Reads everything akguard uses from the headers and the query string.
    pub fn read_head(&mut self, headers: &[impl HeaderField]) {
        let Evidence {
            keys,
            other_key_readings,
            actions,
            versions,
            hosts,
            ..
        } = self;
        key_candidates_in_head(headers, &mut |key, c| {
            push_key(keys, other_key_readings, key, c.source, c.cut, c.other)
        });
        for field in headers {
            let (name, value) = (field.name(), field.value());
            if is_header(name, "x-acs-action") {
                header_readings(value, &mut |a| {
                    if !a.is_empty() {
                        push_unique(actions, a, Source::ActionHeader, false)
                    }
                });
            } else if is_header(name, "x-acs-version") {
                header_readings(value, &mut |v| {
                    push_unique(versions, v, Source::VersionHeader, false)
                });
            } else if name == ":authority" || is_header(name, "host") {
                // Envoy joins repeated `Host` headers with commas: each part is a host too.
                header_readings(value, &mut |v| {
                    let host = normalize_host(v);
                    if !hosts.contains(&host) && (hosts.is_empty() || !host.is_empty()) {
                        hosts.push(host);
                    }
                });
            }
        }
        for field in headers {
            if field.name() == ":path" {
                if let Some(query) = query_of(field.value()) {
                    ParamScanner::scan_all(query, &mut |p| {
                        if !matches!(p.kind, ParamKind::AccessKeyId | ParamKind::Credential) {
                            self.add_param(p, Source::Query)
                        }
                    });
                }
            }
        }
    }
}

/// True when the request's body may carry parameters: its content type is form-encoded
/// (any case, any parameters, any of several `content-type` headers), missing or empty.
pub fn body_may_carry_params(headers: &[impl HeaderField]) -> bool {
    let mut saw_content_type = false;
    for field in headers {
        let (name, value) = (field.name(), field.value());
        if is_header(name, "content-type") {
            saw_content_type |= value.iter().any(|b| !b.is_ascii_whitespace());
            let form = b"x-www-form-urlencoded";
            if value
                .windows(form.len())
                .any(|w| w.eq_ignore_ascii_case(form))
            {
                return true;
            }
        }
    }
    !saw_content_type
}

/// The first value of a header, by name (any case).
pub fn header<'h>(headers: &'h [impl HeaderField], wanted: &str) -> Option<&'h [u8]> {
    headers
        .iter()
        .find(|field| is_header(field.name(), wanted))
        .map(HeaderField::value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[(&str, &str)]) -> Vec<Header> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect()
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
        let mut ev = Evidence::default();
        ev.read_head(&headers(&[
            (":authority", "ECS.cn-hangzhou.aliyuncs.com:443"),
            ("host", "ecs.aliyuncs.com."),
            (
                ":path",
                "/?Action=DescribeRegions&Format=xml&Version=2014-05-26&Action=RunInstances",
            ),
            ("x-acs-action", "StartInstance, DeleteImage"),
            ("x-acs-version", "2014-05-26"),
        ]));
        let actions: Vec<&[u8]> = ev.actions.iter().map(|f| f.value.as_slice()).collect();
        assert_eq!(
            actions,
            [
                &b"StartInstance, DeleteImage"[..],
                b"StartInstance",
                b"DeleteImage",
                b"DescribeRegions",
                b"RunInstances"
            ]
        );
        assert_eq!(ev.versions.len(), 1);
        assert!(ev.xml);
        assert_eq!(
            ev.hosts,
            ["ecs.cn-hangzhou.aliyuncs.com", "ecs.aliyuncs.com"]
        );
    }

    #[test]
    fn form_bodies_are_recognised() {
        let cases: &[(&[(&str, &str)], bool)] = &[
            (
                &[("content-type", "application/x-www-form-urlencoded")],
                true,
            ),
            (
                &[(
                    "Content-Type",
                    "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
                )],
                true,
            ),
            (
                &[
                    ("content-type", "application/json"),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                true,
            ),
            (
                &[("content-type", "application/json; charset=utf-8")],
                false,
            ),
            (&[("content-type", "application/octet-stream")], false),
            (&[(":path", "/")], true),
            (&[("content-type", "")], true),
            (&[("content-type", " \t")], true),
            (
                &[("content-type", ""), ("content-type", "text/plain")],
                false,
            ),
        ];
        for (list, want) in cases {
            assert_eq!(
                body_may_carry_params(&headers(list)),
                *want,
                "headers {list:?}"
            );
        }
    }
}
