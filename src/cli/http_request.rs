//! A request to explain, as read from a curl command or a raw HTTP/1.1 request, and the
//! header list Envoy would hand the filter for it.

use akguard::core::request::Header;

/// A request: method, `:authority`, `:path`, the other headers, and the body as it would
/// arrive (one chunk per HTTP/1.1 chunk, or one in all).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub scheme: String,
    pub authority: String,
    pub path: Vec<u8>,
    /// Headers other than `Host`, names as written.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<Vec<u8>>,
    /// Parts of the input that were read but do not reach the filter (ignored options).
    pub notes: Vec<String>,
}

impl HttpRequest {
    /// Headers as Envoy hands them to the filter: the pseudo-headers, then the others with
    /// lower-case names (`Host` became `:authority`).
    pub fn envoy_headers(&self) -> Vec<Header> {
        let mut headers = vec![
            (":method".to_string(), self.method.as_bytes().to_vec()),
            (":scheme".to_string(), self.scheme.as_bytes().to_vec()),
            (":authority".to_string(), self.authority.as_bytes().to_vec()),
            (":path".to_string(), self.path.clone()),
        ];
        for (name, value) in &self.headers {
            headers.push((name.to_ascii_lowercase(), value.clone()));
        }
        headers
    }

    /// Total body length.
    pub fn body_len(&self) -> usize {
        self.body.iter().map(Vec::len).sum()
    }
}

/// A URL split into scheme, authority (without user info) and path with query (without
/// the fragment, which is never sent).
#[derive(Debug, PartialEq, Eq)]
pub struct Url {
    pub scheme: String,
    pub authority: String,
    pub path: String,
}

/// Splits `http://host[:port]/path?query#fragment`; a URL without a scheme is `http`.
pub fn split_url(url: &str) -> Result<Url, String> {
    let (scheme, rest) = match url.find("://") {
        Some(at) => (url[..at].to_ascii_lowercase(), &url[at + 3..]),
        None => ("http".to_string(), url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if authority.is_empty() {
        return Err(format!("the URL {url:?} names no host"));
    }
    let mut path = &rest[end..];
    if let Some(hash) = path.find('#') {
        path = &path[..hash];
    }
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    Ok(Url {
        scheme,
        authority: authority.to_string(),
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        let cases = [
            (
                "http://ecs.aliyuncs.com/?A=1",
                "http",
                "ecs.aliyuncs.com",
                "/?A=1",
            ),
            ("https://u:p@h:8443/x/y?q#frag", "https", "h:8443", "/x/y?q"),
            ("h.example?x=1", "http", "h.example", "/?x=1"),
            ("HTTP://h", "http", "h", "/"),
        ];
        for (url, scheme, authority, path) in cases {
            let got = split_url(url).unwrap();
            assert_eq!(
                (
                    got.scheme.as_str(),
                    got.authority.as_str(),
                    got.path.as_str()
                ),
                (scheme, authority, path),
                "{url}"
            );
        }
        assert!(split_url("http:///path").is_err());
    }

    #[test]
    fn envoy_headers_put_pseudo_headers_first() {
        let request = HttpRequest {
            method: "POST".into(),
            scheme: "http".into(),
            authority: "ecs.aliyuncs.com".into(),
            path: b"/".to_vec(),
            headers: vec![("X-Acs-Action".into(), b"RunInstances".to_vec())],
            ..HttpRequest::default()
        };
        let names: Vec<String> = request.envoy_headers().into_iter().map(|h| h.0).collect();
        assert_eq!(
            names,
            [":method", ":scheme", ":authority", ":path", "x-acs-action"]
        );
    }
}
