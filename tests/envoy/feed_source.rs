//! A local HTTP source for the key feed: a thread on a loopback port that answers every
//! request as told ([`Answer`]), honours `If-None-Match` when it serves a document, and keeps
//! what it was asked.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// What the source answers.
#[derive(Clone, Debug)]
pub enum Answer {
    /// 200 with the document and its `ETag`, or 304 when the request names that `ETag`.
    Document { body: Arc<Vec<u8>>, etag: String },
    /// A bare status with an empty body.
    Status(u16),
    /// Headers announcing the whole document, then only its first `sent` bytes, then close.
    Truncated { body: Arc<Vec<u8>>, sent: usize },
    /// Nothing for this long, then close.
    Silence(Duration),
}

/// One request the source saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Instant,
    pub path: String,
    pub if_none_match: Option<String>,
    pub status: u16,
}

/// The running source. The thread ends with the test process.
#[derive(Clone)]
pub struct FeedSource {
    pub port: u16,
    answer: Arc<Mutex<Answer>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FeedSource {
    pub fn start(answer: Answer) -> FeedSource {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the feed source");
        let source = FeedSource {
            port: listener.local_addr().unwrap().port(),
            answer: Arc::new(Mutex::new(answer)),
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        let serving = source.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let serving = serving.clone();
                thread::spawn(move || serving.serve(stream));
            }
        });
        source
    }

    pub fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Answers requests on one connection until it closes.
    fn serve(&self, mut stream: TcpStream) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        let mut pending = Vec::new();
        loop {
            let head_end = loop {
                if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                    break end + 4;
                }
                let mut buf = [0u8; 4096];
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => pending.extend_from_slice(&buf[..n]),
                }
            };
            let head = String::from_utf8_lossy(&pending[..head_end]).to_string();
            pending.drain(..head_end);
            let path = head
                .lines()
                .next()
                .and_then(|l| l.split(' ').nth(1))
                .unwrap_or_default()
                .to_string();
            let if_none_match = head.lines().find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("if-none-match")
                    .then(|| value.trim().to_string())
            });
            let answer = self.answer.lock().unwrap().clone();
            let status = match &answer {
                Answer::Document { etag, .. } if if_none_match.as_deref() == Some(etag) => 304,
                Answer::Document { .. } | Answer::Truncated { .. } => 200,
                Answer::Status(status) => *status,
                Answer::Silence(_) => 0,
            };
            self.seen.lock().unwrap().push(Seen {
                at: Instant::now(),
                path,
                if_none_match,
                status,
            });
            let keep = match answer {
                Answer::Document { body, etag } => {
                    if status == 304 {
                        let head = format!("HTTP/1.1 304 Not Modified\r\netag: {etag}\r\ncontent-length: 0\r\n\r\n");
                        stream.write_all(head.as_bytes()).is_ok()
                    } else {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\netag: {etag}\r\ncontent-length: {}\r\n\r\n",
                            body.len()
                        );
                        stream.write_all(head.as_bytes()).is_ok() && stream.write_all(&body).is_ok()
                    }
                }
                Answer::Status(status) => {
                    let head = format!("HTTP/1.1 {status} Oops\r\ncontent-length: 0\r\n\r\n");
                    stream.write_all(head.as_bytes()).is_ok()
                }
                Answer::Truncated { body, sent } => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(&body[..sent.min(body.len())]);
                    false
                }
                Answer::Silence(wait) => {
                    thread::sleep(wait);
                    false
                }
            };
            if !keep {
                return;
            }
        }
    }
}
