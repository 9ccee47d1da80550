//! A real OCI registry for the image tests, and a client of its HTTP API of the tests' own.
//!
//! [`Registry::start`] runs Debian's `docker-registry` (the CNCF distribution registry) on
//! 127.0.0.1 with its storage in a fresh directory, and waits until `/v2/` answers; dropping
//! it stops the registry. [`get`] speaks the distribution API with nothing but a socket: an
//! image is read back without the tool that pushed it. A missing `docker-registry` fails the
//! test (`./build.sh test` installs it).

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One running registry.
pub struct Registry {
    child: Child,
    pub dir: PathBuf,
    pub port: u16,
}

/// A reply: status, headers (names lower-cased) and the body's bytes.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Registry {
    /// Starts a registry; `read_only` puts it in maintenance mode, refusing every push.
    pub fn start(tag: &str, read_only: bool) -> Registry {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("registry")
            .join(format!("{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the registry directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let maintenance = if read_only {
            "  maintenance:\n    readonly:\n      enabled: true\n"
        } else {
            ""
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n{maintenance}http:\n  addr: 127.0.0.1:{port}\n",
            dir.join("data").display()
        );
        let config_path = dir.join("config.yml");
        fs::write(&config_path, config).expect("write the registry configuration");
        let log = fs::File::create(dir.join("registry.log")).expect("create registry.log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "start docker-registry: {e} (Debian package docker-registry; \
                     `./build.sh test` installs it)"
                )
            });
        let mut registry = Registry { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = registry.child.try_wait() {
                panic!("docker-registry exited ({status}): {}", registry.log());
            }
            if matches!(get(port, "/v2/", ""), Ok(reply) if reply.status == 200) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "docker-registry not ready: {}",
                registry.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    /// `127.0.0.1:port`, as an image reference names it.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
    }

    /// A GET on the registry's API, with an `Accept` header when `accept` is not empty.
    pub fn get(&self, path: &str, accept: &str) -> Reply {
        get(self.port, path, accept).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("registry log:\n{}", self.log());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// One HTTP/1.1 GET on 127.0.0.1 (`connection: close`); the body is read to the end of the
/// connection, or to its `content-length`.
pub fn get(port: u16, path: &str, accept: &str) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let accept = if accept.is_empty() {
        String::new()
    } else {
        format!("accept: {accept}\r\n")
    };
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n{accept}connection: close\r\n\r\n"
    )?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes)?;
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let head = String::from_utf8_lossy(&bytes[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = bytes[end + 4..].to_vec();
    if let Some(length) = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.truncate(length);
    }
    Ok(Reply {
        status,
        headers,
        body,
    })
}
