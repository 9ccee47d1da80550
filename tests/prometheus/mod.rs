//! A real Prometheus for the end-to-end alerting tests: Debian's `prometheus`, started on
//! 127.0.0.1 with a configuration the test writes (short scrape and evaluation intervals,
//! storage in a fresh directory), read through its HTTP API (`/api/v1/query`,
//! `/api/v1/query_range`, `/api/v1/alerts`). Dropping it stops Prometheus. A missing
//! `prometheus` fails the test (`./build.sh test` installs it).

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use super::envoy::client;
use serde_json::Value;
use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Prometheus {
    child: Child,
    pub dir: PathBuf,
    pub port: u16,
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

impl Prometheus {
    /// Starts Prometheus with `config` (its YAML) and waits until it is ready.
    pub fn start(tag: &str, config: &str) -> Prometheus {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("prometheus")
            .join(format!("{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the Prometheus directory");
        fs::write(dir.join("prometheus.yml"), config).expect("write prometheus.yml");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let log = fs::File::create(dir.join("prometheus.log")).expect("create prometheus.log");
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "start prometheus: {e} (Debian package prometheus; `./build.sh test` \
                     installs it)"
                )
            });
        let mut prometheus = Prometheus { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = prometheus.child.try_wait() {
                panic!("prometheus exited ({status}): {}", prometheus.log());
            }
            if matches!(client::get(port, "/-/ready"), Ok(r) if r.status == 200) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus not ready: {}",
                prometheus.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        prometheus
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// An API GET: its `data`, after checking `status` is `success`.
    pub fn api(&self, path: &str) -> Value {
        let reply = client::get(self.port, path).unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let body: Value = serde_json::from_str(&reply.body)
            .unwrap_or_else(|e| panic!("GET {path}: {e}: {}", reply.body));
        assert_eq!(body["status"], "success", "GET {path}: {}", reply.body);
        body["data"].clone()
    }

    /// An instant query's result vector.
    pub fn query(&self, expr: &str) -> Vec<Value> {
        let data = self.api(&format!("/api/v1/query?query={}", encode(expr)));
        data["result"].as_array().cloned().unwrap_or_default()
    }

    /// A range query over the last `seconds`, one point a second.
    pub fn query_range(&self, expr: &str, start: f64, end: f64) -> Vec<Value> {
        let data = self.api(&format!(
            "/api/v1/query_range?query={}&start={start:.3}&end={end:.3}&step=1",
            encode(expr)
        ));
        data["result"].as_array().cloned().unwrap_or_default()
    }

    /// The alerts Prometheus holds now (pending and firing).
    pub fn alerts(&self) -> Vec<Value> {
        self.api("/api/v1/alerts")["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits (up to `limit`) until the alert `name` is firing; returns it.
    pub fn wait_firing(&self, name: &str, limit: Duration) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(alert) = self
                .alerts()
                .into_iter()
                .find(|a| a["labels"]["alertname"] == name && a["state"] == "firing")
            {
                return alert;
            }
            assert!(
                Instant::now() < deadline,
                "{name} not firing within {limit:?}; alerts: {:?}; log: {}",
                self.alerts(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("prometheus log:\n{}", self.log());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
