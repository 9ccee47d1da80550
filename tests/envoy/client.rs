//! Test clients: HTTP/1.1 over a raw socket (exact bytes, real chunked transfer encoding with
//! pauses between chunks, stops sending once a reply arrives) and h2c with the `h2` crate
//! (one DATA frame per chunk, with the same pauses).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// How the request body is sent.
#[derive(Clone, Debug, Default)]
pub enum Body {
    #[default]
    None,
    /// One piece with `content-length`.
    Whole(Vec<u8>),
    /// Chunked transfer encoding (HTTP/1.1) or separate writes (h2c), with a pause before each
    /// chunk after the first.
    Chunks(Vec<Vec<u8>>, Duration),
}

#[derive(Clone, Debug, Default)]
pub struct Request {
    pub method: String,
    pub authority: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Request {
    pub fn get(authority: &str, path: &str) -> Request {
        Request {
            method: "GET".into(),
            authority: authority.into(),
            path: path.into(),
            ..Request::default()
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }
}

#[derive(Clone, Debug, Default)]
pub struct Response {
    pub status: u16,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The HTTP versions the tests speak to Envoy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    Http1,
    H2c,
}

pub fn send(version: Version, port: u16, request: &Request) -> Response {
    match version {
        Version::Http1 => send_h1(port, request)
            .unwrap_or_else(|e| panic!("HTTP/1.1 {} {}: {e}", request.method, request.path)),
        Version::H2c => send_h2c(port, request),
    }
}

/// A plain GET on 127.0.0.1 (admin endpoint, readiness).
pub fn get(port: u16, path: &str) -> std::io::Result<Response> {
    send_h1(port, &Request::get("127.0.0.1", path))
}

/// Whether the peer has sent something (a reply) within `wait`.
fn reply_started(stream: &TcpStream, wait: Duration) -> bool {
    let _ = stream.set_read_timeout(Some(wait.max(Duration::from_millis(1))));
    let mut probe = [0u8; 1];
    let started = matches!(stream.peek(&mut probe), Ok(n) if n > 0);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    started
}

/// Sends one HTTP/1.1 request on a new connection (`connection: close`) and reads the reply.
pub fn send_h1(port: u16, request: &Request) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n",
        request.method, request.path, request.authority
    );
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    match &request.body {
        Body::None => {}
        Body::Whole(bytes) => head.push_str(&format!("content-length: {}\r\n", bytes.len())),
        Body::Chunks(..) => head.push_str("transfer-encoding: chunked\r\n"),
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    // A reply may come before the body is sent (a deny on the headers): stop sending then.
    // Write errors mean the same; the reply is read below either way.
    match &request.body {
        Body::None => {}
        Body::Whole(bytes) => {
            for piece in bytes.chunks(64 * 1024) {
                if reply_started(&stream, Duration::ZERO) || stream.write_all(piece).is_err() {
                    break;
                }
            }
        }
        Body::Chunks(chunks, pause) => {
            let mut complete = true;
            for (i, chunk) in chunks.iter().enumerate() {
                let wait = if i == 0 { Duration::ZERO } else { *pause };
                if reply_started(&stream, wait) {
                    complete = false;
                    break;
                }
                let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
                framed.extend_from_slice(chunk);
                framed.extend_from_slice(b"\r\n");
                if stream.write_all(&framed).is_err() {
                    complete = false;
                    break;
                }
            }
            if complete && !reply_started(&stream, *pause) {
                let _ = stream.write_all(b"0\r\n\r\n");
            }
        }
    }
    read_reply(&mut stream)
}

/// Reads one reply to its end (Envoy may hold the connection open a while after a local
/// reply, so this does not wait for it to close).
fn read_reply(stream: &mut TcpStream) -> std::io::Result<Response> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while !reply_complete(&raw) {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset && !raw.is_empty() => break,
            Err(e) => return Err(e),
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
    parse_h1(&raw).ok_or_else(|| {
        std::io::Error::new(
            ErrorKind::InvalidData,
            format!("unreadable reply: {:?}", String::from_utf8_lossy(&raw)),
        )
    })
}

/// Whether `raw` holds a whole reply: head and a body of its `content-length`, or a chunked
/// body with its last chunk.
fn reply_complete(raw: &[u8]) -> bool {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let body = &raw[split + 4..];
    if let Some(length) = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        return body.len() >= length;
    }
    if head.contains("transfer-encoding: chunked") {
        return dechunk(body).is_some();
    }
    false
}

fn parse_h1(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Some(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// Sends one request over h2c (prior knowledge) on a new connection; the body leaves in one
/// DATA frame per chunk, with the pauses between them. A reply may come before the body is
/// sent: sending stops then.
pub fn send_h2c(port: u16, request: &Request) -> Response {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime
        .block_on(h2c(port, request))
        .unwrap_or_else(|e| panic!("h2c {} {}: {e}", request.method, request.path))
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

async fn h2c(port: u16, request: &Request) -> Result<Response, Failure> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    tcp.set_nodelay(true)?;
    let (client, connection) = h2::client::handshake(tcp).await?;
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut client = client.ready().await?;
    let mut builder = http::Request::builder()
        .method(request.method.as_str())
        .uri(format!("http://{}{}", request.authority, request.path));
    for (name, value) in &request.headers {
        builder = builder.header(name.to_ascii_lowercase(), value.as_str());
    }
    let chunks: Vec<Vec<u8>> = match &request.body {
        Body::None => vec![],
        Body::Whole(bytes) => vec![bytes.clone()],
        Body::Chunks(chunks, _) => chunks.clone(),
    };
    let pause = match &request.body {
        Body::Chunks(_, pause) => *pause,
        _ => Duration::ZERO,
    };
    if let Body::Whole(bytes) = &request.body {
        builder = builder.header("content-length", bytes.len());
    }
    let (reply, mut stream) = client.send_request(builder.body(())?, chunks.is_empty())?;
    let sender = tokio::spawn(async move {
        let last = chunks.len().saturating_sub(1);
        for (i, chunk) in chunks.into_iter().enumerate() {
            if i > 0 && !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            if stream.send_data(chunk.into(), i == last).is_err() {
                break;
            }
        }
    });
    let reply = tokio::time::timeout(Duration::from_secs(20), reply).await??;
    let status = reply.status().as_u16();
    let headers = reply
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let mut body = reply.into_body();
    let mut bytes = Vec::new();
    while let Some(data) = tokio::time::timeout(Duration::from_secs(20), body.data()).await? {
        let data = data?;
        let _ = body.flow_control().release_capacity(data.len());
        bytes.extend_from_slice(&data);
    }
    sender.abort();
    drop(client);
    connection.abort();
    Ok(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// Sends raw bytes on a new connection (a request exactly as written, however malformed)
/// and reads one reply.
pub fn send_raw(port: u16, bytes: &[u8]) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    for piece in bytes.chunks(64 * 1024) {
        if reply_started(&stream, Duration::ZERO) || stream.write_all(piece).is_err() {
            break;
        }
    }
    read_reply(&mut stream)
}
