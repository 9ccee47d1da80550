//! Raw HTTP/1.1 requests as sent on the wire, read into what Envoy hands a filter: the
//! pseudo-headers `:method`, `:scheme`, `:authority` (from `Host`) and `:path`, the other
//! headers with lower-cased names and values trimmed of surrounding spaces and tabs, and the
//! body. Total on any input: bytes that are not a request give `None`, never a panic.

/// A request read off the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WireRequest {
    pub method: Vec<u8>,
    pub target: Vec<u8>,
    /// `(name, value)` as written, in order, `Host` included.
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
    pub body: Vec<u8>,
}

fn trim(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

/// Position of the first `\r\n\r\n`.
fn head_end(raw: &[u8]) -> Option<usize> {
    raw.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Reads a raw request: request line, header lines ending in CRLF, an empty line, the body.
pub fn parse(raw: &[u8]) -> Option<WireRequest> {
    let end = head_end(raw)?;
    let head = raw.get(..end)?;
    let body = raw.get(end + 4..).unwrap_or_default().to_vec();
    let mut lines = head.split(|&b| b == b'\n').map(|line| match line {
        [rest @ .., b'\r'] => rest,
        other => other,
    });
    let request_line = lines.next()?;
    let mut parts = request_line.split(|&b| b == b' ');
    let method = parts.next().filter(|m| !m.is_empty())?.to_vec();
    let target = parts.next().filter(|t| !t.is_empty())?.to_vec();
    let version = parts.next()?;
    if !version.starts_with(b"HTTP/1.") || parts.next().is_some() {
        return None;
    }
    let mut fields = Vec::new();
    for line in lines {
        let colon = line.iter().position(|&b| b == b':')?;
        let name = line.get(..colon)?;
        if name.is_empty() || name.iter().any(|b| b.is_ascii_whitespace()) {
            return None;
        }
        let value = trim(line.get(colon + 1..).unwrap_or_default());
        fields.push((name.to_vec(), value.to_vec()));
    }
    Some(WireRequest {
        method,
        target,
        fields,
        body,
    })
}

impl WireRequest {
    /// Headers as Envoy hands them to a filter: pseudo-headers first, `Host` as `:authority`
    /// (repeated ones joined with commas, as Envoy joins them), other names lower-cased,
    /// `content-length` as Envoy keeps it.
    pub fn headers(&self) -> Vec<(String, Vec<u8>)> {
        let mut authority: Option<Vec<u8>> = None;
        let mut rest = Vec::new();
        for (name, value) in &self.fields {
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            if name == "host" {
                match authority.as_mut() {
                    Some(joined) => {
                        joined.push(b',');
                        joined.extend_from_slice(value);
                    }
                    None => authority = Some(value.clone()),
                }
            } else {
                rest.push((name, value.clone()));
            }
        }
        let mut headers = vec![
            (":method".to_string(), self.method.clone()),
            (":scheme".to_string(), b"http".to_vec()),
            (":authority".to_string(), authority.unwrap_or_default()),
            (":path".to_string(), self.target.clone()),
        ];
        headers.extend(rest);
        headers
    }

    /// The request as bytes on the wire, with a `Content-Length` added when a body is present
    /// and none is given.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.method);
        out.push(b' ');
        out.extend_from_slice(&self.target);
        out.extend_from_slice(b" HTTP/1.1\r\n");
        let has_length = self
            .fields
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(b"content-length"));
        for (name, value) in &self.fields {
            out.extend_from_slice(name);
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        if !self.body.is_empty() && !has_length {
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}
