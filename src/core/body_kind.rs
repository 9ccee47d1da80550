//! What a request's body can be to Alibaba Cloud, read from its method and headers: a
//! parameter list akguard reads (a form), a body that carries no API parameters, or one that
//! might carry them in a shape akguard does not read.

#![deny(clippy::indexing_slicing)]

use super::request::HeaderField;

/// What a request's body is, as far as API parameters go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// A parameter list akguard reads: the content type is form-encoded (any case, any
    /// parameters, any of several `content-type` headers), missing or empty, and the body is
    /// not content-encoded.
    Form,
    /// Not a parameter list: JSON or an octet stream (the body shapes Alibaba Cloud APIs take
    /// besides forms), or the payload of a `CONNECT` tunnel. Never read, never held.
    NoParams,
    /// Might carry parameters akguard cannot read: any other content type (`multipart/…`,
    /// `text/plain`, …), or a `content-encoding` other than `identity`.
    Unread,
}

/// The media type of a `content-type` value: before any `;`, without surrounding whitespace.
fn media_type(value: &[u8]) -> &[u8] {
    let end = memchr::memchr(b';', value).unwrap_or(value.len());
    value.get(..end).unwrap_or_default().trim_ascii()
}

/// `x-www-form-urlencoded` anywhere in the value, in any case.
fn names_form(value: &[u8]) -> bool {
    const FORM: &[u8] = b"x-www-form-urlencoded";
    (0..value.len()).any(|at| {
        value
            .get(at..at + FORM.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(FORM))
    })
}

/// What the body of a request with these headers is.
pub fn body_kind(headers: &[impl HeaderField]) -> BodyKind {
    let mut form = false;
    let mut other = false;
    let mut no_params = false;
    let mut encoded = false;
    for field in headers {
        let (name, value) = (field.name(), field.value());
        if name == ":method" && value == b"CONNECT" {
            return BodyKind::NoParams;
        }
        if name.eq_ignore_ascii_case("content-encoding") {
            encoded |= value
                .split(|&b| b == b',')
                .map(<[u8]>::trim_ascii)
                .any(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case(b"identity"));
        } else if name.eq_ignore_ascii_case("content-type") {
            let media = media_type(value);
            if names_form(value) {
                form = true;
            } else if media.eq_ignore_ascii_case(b"application/json")
                || media.eq_ignore_ascii_case(b"application/octet-stream")
            {
                no_params = true;
            } else if !media.is_empty() {
                other = true;
            }
        }
    }
    if encoded {
        BodyKind::Unread
    } else if form || !(other || no_params) {
        BodyKind::Form
    } else if other {
        BodyKind::Unread
    } else {
        BodyKind::NoParams
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::request::headers_of as headers;

    #[test]
    fn body_kinds() {
        use BodyKind::*;
        let cases: &[(&[(&str, &str)], BodyKind)] = &[
            (
                &[("content-type", "application/x-www-form-urlencoded")],
                Form,
            ),
            (
                &[(
                    "Content-Type",
                    "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
                )],
                Form,
            ),
            (
                &[
                    ("content-type", "application/json"),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                Form,
            ),
            (&[("content-type", "x-www-form-urlencoded")], Form),
            (&[(":path", "/")], Form),
            (&[("content-type", "")], Form),
            (&[("content-type", " \t")], Form),
            (
                &[("content-type", "application/json; charset=utf-8")],
                NoParams,
            ),
            (&[("content-type", "APPLICATION/JSON")], NoParams),
            (&[("content-type", "application/octet-stream")], NoParams),
            (
                &[("content-type", ""), ("content-type", "text/plain")],
                Unread,
            ),
            (&[("content-type", "text/plain")], Unread),
            (
                &[("content-type", "multipart/form-data; boundary=x")],
                Unread,
            ),
            (&[("content-type", "application/xml")], Unread),
            (
                &[
                    ("content-type", "application/json"),
                    ("content-type", "text/plain"),
                ],
                Unread,
            ),
            (
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("content-encoding", "gzip"),
                ],
                Unread,
            ),
            (&[("Content-Encoding", "identity, br")], Unread),
            (&[("content-encoding", "identity")], Form),
            (&[("content-encoding", " ")], Form),
            (
                &[
                    ("content-type", "application/json"),
                    ("content-encoding", "gzip"),
                ],
                Unread,
            ),
            (&[(":method", "CONNECT")], NoParams),
            (
                &[
                    (":method", "CONNECT"),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                NoParams,
            ),
            (&[(":method", "connect")], Form),
        ];
        for (list, want) in cases {
            assert_eq!(body_kind(&headers(list)), *want, "headers {list:?}");
        }
    }
}
