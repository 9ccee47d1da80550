//! What a request says about its caller and its call: AccessKey IDs, actions, versions, the
//! reply format and the host, read from headers, the query string and a form body.
//!
//! Headers are given as the host hands them over: `(name, value bytes)` pairs, pseudo-headers
//! (`:path`, `:authority`) included. Header names are compared without regard to case. Every
//! value found counts: repeated parameters, repeated headers, and header, query and body
//! values that disagree.

use super::authorization;
use super::endpoints::normalize_host;
use super::params::{Param, ParamKind, ParamScanner};

/// A request header: name and raw value.
pub type Header = (String, Vec<u8>);

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
    pub keys: Vec<Found>,
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

/// The readings of one AccessKey ID value: as given, without surrounding whitespace and
/// control bytes, and before a `#`. A key is checked under each reading.
pub fn key_readings(value: &[u8], out: &mut dyn FnMut(&[u8])) {
    out(value);
    let is_junk = |b: &u8| *b <= b' ' || *b == 0x7f;
    let start = value
        .iter()
        .position(|b| !is_junk(b))
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_junk(b))
        .map_or(start, |e| e + 1);
    let trimmed = &value[start..end];
    if trimmed.len() != value.len() {
        out(trimmed);
    }
    if let Some(hash) = trimmed.iter().position(|&b| b == b'#') {
        out(&trimmed[..hash]);
    }
}

/// The AccessKey ID in a credential scope `<AK>/<date>/…`.
fn credential_key(value: &[u8]) -> &[u8] {
    let end = value.iter().position(|&b| b == b'/').unwrap_or(value.len());
    &value[..end]
}

fn is_header(name: &str, wanted: &str) -> bool {
    name.eq_ignore_ascii_case(wanted)
}

/// The query part of a `:path` value.
pub fn query_of(path: &[u8]) -> Option<&[u8]> {
    path.iter().position(|&b| b == b'?').map(|q| &path[q + 1..])
}

/// Passes every AccessKey ID candidate in the headers and the query string to `out`. This is
/// the fast path: nothing but keys is read.
pub fn keys_in_head(headers: &[Header], out: &mut dyn FnMut(&[u8], Source)) {
    for (name, value) in headers {
        if is_header(name, "authorization") {
            authorization::keys_in(value, &mut |key| {
                key_readings(key, &mut |k| out(k, Source::Authorization))
            });
        } else if is_header(name, "x-acs-accesskey-id") {
            key_readings(value, &mut |k| out(k, Source::AccessKeyHeader));
        } else if name == ":path" {
            if let Some(query) = query_of(value) {
                ParamScanner::scan_all(query, &mut |p: Param<'_>| match p.kind {
                    ParamKind::AccessKeyId => key_readings(p.value, &mut |k| out(k, Source::Query)),
                    ParamKind::Credential => {
                        key_readings(credential_key(p.value), &mut |k| out(k, Source::Query))
                    }
                    _ => {}
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
            out(&part[start..end]);
        }
    }
}

impl Evidence {
    /// Records one parameter read from the query or the body.
    pub fn add_param(&mut self, param: Param<'_>, source: Source) {
        let Evidence {
            keys,
            actions,
            versions,
            ..
        } = self;
        match param.kind {
            ParamKind::AccessKeyId => key_readings(param.value, &mut |k| {
                push_unique(keys, k, source, param.cut)
            }),
            ParamKind::Credential => key_readings(credential_key(param.value), &mut |k| {
                push_unique(keys, k, source, param.cut)
            }),
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
    pub fn read_head(&mut self, headers: &[Header]) {
        let Evidence {
            keys,
            actions,
            versions,
            hosts,
            ..
        } = self;
        keys_in_head(headers, &mut |key, source| {
            push_unique(keys, key, source, false)
        });
        for (name, value) in headers {
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
                let host = normalize_host(value);
                if !hosts.contains(&host) {
                    hosts.push(host);
                }
            }
        }
        for (name, value) in headers {
            if name == ":path" {
                if let Some(query) = query_of(value) {
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
/// (any case, any parameters, any of several `content-type` headers) or missing.
pub fn body_may_carry_params(headers: &[Header]) -> bool {
    let mut saw_content_type = false;
    for (name, value) in headers {
        if is_header(name, "content-type") {
            saw_content_type = true;
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
pub fn header<'h>(headers: &'h [Header], wanted: &str) -> Option<&'h [u8]> {
    headers
        .iter()
        .find(|(name, _)| is_header(name, wanted))
        .map(|(_, value)| value.as_slice())
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
            let want: Vec<(String, Source)> =
                want.iter().map(|(k, s)| (k.to_string(), *s)).collect();
            assert_eq!(head_keys(list), want, "headers {list:?}");
        }
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
