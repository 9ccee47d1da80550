//! Reads a raw HTTP/1.1 request (request line, headers, blank line, body) into the request
//! the filter would see. `Transfer-Encoding: chunked` bodies keep their chunks; otherwise
//! `Content-Length` bytes are taken, or, without it, the rest of the text less its final
//! line break (a hand-written file rarely counts its bytes).

use super::http_request::{split_url, HttpRequest};

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &bytes[start..end]
}

/// Splits the head from the body at the first empty line.
fn split_head(bytes: &[u8]) -> (&[u8], &[u8]) {
    let crlf = find(bytes, b"\r\n\r\n").map(|at| (at, at + 4));
    let lf = find(bytes, b"\n\n").map(|at| (at, at + 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => {
            let (end, body) = if a.0 <= b.0 { a } else { b };
            (&bytes[..end], &bytes[body..])
        }
        (Some((end, body)), None) | (None, Some((end, body))) => (&bytes[..end], &bytes[body..]),
        (None, None) => (bytes, &[]),
    }
}

fn dechunk(mut body: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut chunks = Vec::new();
    loop {
        let line_end = find(body, b"\n").ok_or("chunked body: a chunk size line has no end")?;
        let size_line = String::from_utf8_lossy(trim(&body[..line_end])).into_owned();
        let size_text = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("chunked body: bad chunk size {size_line:?}"))?;
        body = &body[line_end + 1..];
        if size == 0 {
            return Ok(chunks);
        }
        if body.len() < size {
            return Err(format!(
                "chunked body: a chunk of {size} bytes has only {} left",
                body.len()
            ));
        }
        chunks.push(body[..size].to_vec());
        body = &body[size..];
        body = body.strip_prefix(b"\r").unwrap_or(body);
        body = body.strip_prefix(b"\n").unwrap_or(body);
    }
}

/// True when the text looks like a raw HTTP request: `METHOD target HTTP/x`.
pub fn looks_like_http(bytes: &[u8]) -> bool {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = String::from_utf8_lossy(trim(first)).into_owned();
    let parts: Vec<&str> = first.split_whitespace().collect();
    parts.len() == 3 && parts[2].starts_with("HTTP/")
}

/// Parses a raw HTTP/1.1 request.
pub fn parse(bytes: &[u8]) -> Result<HttpRequest, String> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let (head, rest) = split_head(bytes);
    let mut lines = head.split(|&b| b == b'\n');
    let request_line = String::from_utf8_lossy(trim(lines.next().unwrap_or_default())).into_owned();
    let parts: Vec<&str> = request_line.split_whitespace().collect();
    let [method, target, version] = parts[..] else {
        return Err(format!(
            "line 1: expected \"METHOD target HTTP/1.1\", found {request_line:?}"
        ));
    };
    if !version.starts_with("HTTP/") {
        return Err(format!(
            "line 1: expected an HTTP version, found {version:?}"
        ));
    }
    let mut request = HttpRequest {
        method: method.to_string(),
        scheme: "http".into(),
        ..HttpRequest::default()
    };
    let mut host = None;
    let mut content_length = None;
    let mut chunked = false;
    for (index, line) in lines.enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| format!("line {}: a header line has no ':'", index + 2))?;
        let name = String::from_utf8_lossy(trim(&line[..colon])).into_owned();
        let value = trim(&line[colon + 1..]).to_vec();
        if name.eq_ignore_ascii_case("host") {
            host.get_or_insert_with(|| String::from_utf8_lossy(&value).into_owned());
            continue;
        }
        if name.eq_ignore_ascii_case("content-length") {
            let text = String::from_utf8_lossy(&value).into_owned();
            content_length = Some(
                text.parse::<usize>()
                    .map_err(|_| format!("line {}: bad Content-Length {text:?}", index + 2))?,
            );
        }
        if name.eq_ignore_ascii_case("transfer-encoding")
            && String::from_utf8_lossy(&value)
                .to_ascii_lowercase()
                .contains("chunked")
        {
            chunked = true;
        }
        request.headers.push((name, value));
    }
    if target.starts_with('/') || target == "*" {
        request.path = target.as_bytes().to_vec();
        request.authority = host.ok_or("the request has no Host header")?;
    } else {
        let url = split_url(target)?;
        request.scheme = url.scheme;
        request.authority = url.authority;
        request.path = url.path.into_bytes();
    }
    request.body = if chunked {
        dechunk(rest)?
    } else if let Some(length) = content_length {
        if rest.len() < length {
            return Err(format!(
                "Content-Length is {length} but the body has {} bytes",
                rest.len()
            ));
        }
        vec![rest[..length].to_vec()]
    } else {
        let mut body = rest;
        while let Some(shorter) = body
            .strip_suffix(b"\n")
            .map(|b| b.strip_suffix(b"\r").unwrap_or(b))
        {
            body = shorter;
        }
        vec![body.to_vec()]
    };
    request.body.retain(|chunk| !chunk.is_empty());
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_form_post() {
        let text = b"POST /?Version=2014-05-26 HTTP/1.1\r\nHost: ecs.aliyuncs.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 19\r\n\r\nAction=RunInstances";
        let r = parse(text).unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.authority, "ecs.aliyuncs.com");
        assert_eq!(r.path, b"/?Version=2014-05-26");
        assert_eq!(r.body, [b"Action=RunInstances".to_vec()]);
        assert_eq!(r.headers.len(), 2);
        assert!(looks_like_http(text));
    }

    #[test]
    fn keeps_chunks_and_reads_absolute_targets() {
        let text = b"POST http://ram.aliyuncs.com/ HTTP/1.1\nHost: other\nTransfer-Encoding: chunked\n\n6\r\nAction\r\n4;x=y\r\n=Get\r\n0\r\n\r\n";
        let r = parse(text).unwrap();
        assert_eq!(r.authority, "ram.aliyuncs.com");
        assert_eq!(r.body, [b"Action".to_vec(), b"=Get".to_vec()]);
    }

    #[test]
    fn without_length_the_final_line_break_is_dropped() {
        let r = parse(b"POST / HTTP/1.1\nHost: h\n\nAction=SendSms\n\n").unwrap();
        assert_eq!(r.body, [b"Action=SendSms".to_vec()]);
        let r = parse(b"GET / HTTP/1.1\nHost: h\n").unwrap();
        assert!(r.body.is_empty());
    }

    #[test]
    fn refuses_malformed_requests() {
        let cases: &[&[u8]] = &[
            b"GET /\nHost: h\n\n",
            b"GET / HTTP/1.1\nno colon\n\n",
            b"GET / HTTP/1.1\n\n",
            b"POST / HTTP/1.1\nHost: h\nContent-Length: 10\n\nshort",
            b"POST / HTTP/1.1\nHost: h\nContent-Length: x\n\n",
            b"POST / HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\nzz\r\n",
            b"POST / HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n10\r\nshort",
        ];
        for case in cases {
            assert!(parse(case).is_err(), "{:?}", String::from_utf8_lossy(case));
        }
        assert!(!looks_like_http(b"curl http://h/"));
    }
}
