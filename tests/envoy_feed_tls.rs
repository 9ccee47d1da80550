//! The signed key feed over TLS in a real Envoy: the source is a Python HTTPS server with a
//! certificate from a test CA (`tests/egress/make-certs.sh`), reached through a cluster that
//! verifies it; a new set applies, and an unchanged one is answered 304 over the same TLS.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;

use akguard::core::feed::{self, FeedHeader};
use akguard::core::packed::{encode_blocks, entry_of_key};
use envoy::bootstrap::{bootstrap, direct_listener, loopback_cluster};
use envoy::client::{send_h1, Request};
use envoy::{repo_root, Envoy, Options};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const SEED: [u8; 32] = [41; 32];
const KEY_A: &str = "LTAI5tTlsFeedKeyA0000001";
const KEY_B: &str = "LTAI5tTlsFeedKeyB0000001";
const NAME: &str = "feed.cn-hangzhou.aliyuncs.com";

fn publish(path: &Path, version: u64, key: &str) {
    let blocks = encode_blocks(vec![entry_of_key(key.as_bytes())]);
    let header = FeedHeader {
        version,
        published: 1_764_672_000,
    };
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, feed::sign(header, &blocks, &SEED)).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The Python source; killed when dropped.
struct Source {
    child: Child,
    port: u16,
    answers: Arc<Mutex<Vec<String>>>,
}

impl Drop for Source {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_source(dir: &Path, document: &Path) -> Source {
    let mut child = Command::new("python3")
        .arg(repo_root().join("tests/envoy/feed_tls_source.py"))
        .arg(document)
        .arg(dir.join("cloud.pem"))
        .arg(dir.join("cloud.key"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start python3");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = lines.next().unwrap().unwrap().trim().parse().unwrap();
    let answers = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&answers);
    thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            seen.lock().unwrap().push(line);
        }
    });
    Source {
        child,
        port,
        answers,
    }
}

fn high_risk(port: u16, key: &str) -> u16 {
    let request = Request::get(
        "ecs.cn-hangzhou.aliyuncs.com",
        &format!("/?Action=RunInstances&AccessKeyId={key}"),
    );
    send_h1(port, &request).expect("a reply").status
}

fn wait_denied(port: u16, key: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut run = 0;
    while run < 20 {
        assert!(Instant::now() < deadline, "{key} not denied within 15 s");
        if high_risk(port, key) == 403 {
            run += 1;
        } else {
            run = 0;
            thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn the_feed_comes_over_tls_from_a_verified_source() {
    let dir = Envoy::prepare_dir("feed-tls");
    let made = Command::new("bash")
        .arg(repo_root().join("tests/egress/make-certs.sh"))
        .arg(&dir)
        .status()
        .expect("run make-certs.sh");
    assert!(made.success());
    let document = dir.join("feed.txt");
    publish(&document, 1, KEY_A);
    let source = start_source(&dir, &document);

    let mut cluster = loopback_cluster("feed", source.port);
    cluster["transport_socket"] = json!({
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
            "sni": NAME,
            "common_tls_context": {
                "validation_context": { "trusted_ca": { "filename": dir.join("cloud-ca.pem") } }
            }
        }
    });
    let configuration = format!(
        r#"{{"key_feed": {{"cluster": "feed", "path": "/feed.txt", "authority": "{NAME}",
            "poll_seconds": 1, "public_key": "{}"}}}}"#,
        feed::key_text(&feed::public_key_of(&SEED))
    );
    let envoy = Envoy::start(
        &bootstrap(
            vec![direct_listener("tls", &configuration, false)],
            vec![cluster],
        ),
        &Options {
            concurrency: 2,
            tag: "feed-tls".into(),
        },
    );
    let port = envoy.port("tls");
    wait_denied(port, KEY_A);
    assert_eq!(high_risk(port, KEY_B), 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    while envoy.stat("wasmcustom.akguard.feed_unchanged") == 0 {
        assert!(Instant::now() < deadline, "no 304 over TLS");
        thread::sleep(Duration::from_millis(100));
    }
    assert!(envoy.stat("cluster.feed.ssl.handshake") >= 1);

    publish(&document, 2, KEY_B);
    wait_denied(port, KEY_B);
    assert_eq!(high_risk(port, KEY_A), 200);
    assert_eq!(envoy.stat("wasmcustom.akguard.feed_version"), 2);
    let answers = source.answers.lock().unwrap().clone();
    assert!(
        answers.iter().any(|a| a.starts_with("304 \"")),
        "{answers:?}"
    );
    assert_eq!(
        answers.iter().filter(|a| a.starts_with("200")).count(),
        2,
        "{answers:?}"
    );
}
