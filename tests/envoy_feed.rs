//! The signed key feed in a real Envoy (`--concurrency 2`), fetched from a local source the
//! test runs: a new set is applied on every worker without a restart and counts beside the
//! configuration's keys; unchanged sets cost a 304; a bad signature, an older replayed set, a
//! truncated body, a 500, a timeout and a body past `max_bytes` each leave the set in force,
//! counted by reason and logged with how stale it is. One VM of the gateway asks the source.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;

use akguard::core::feed::{self, FeedHeader};
use akguard::core::packed::{encode_blocks, entry_of_key};
use envoy::bootstrap::{
    bootstrap, direct_listener, direct_route, ecds_filter, ecds_resource, listener,
    loopback_cluster, virtual_host,
};
use envoy::client::{send_h1, Request};
use envoy::feed_source::{Answer, FeedSource};
use envoy::{replace_atomically, Envoy, Options};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const SEED: [u8; 32] = [11; 32];
const CONFIG_KEY: &str = "LTAI5tFeedConfigKey00001";
const KEY_A: &str = "LTAI5tFeedKeyA0000000001";
const KEY_B: &str = "LTAI5tFeedKeyB0000000001";
const KEY_C: &str = "LTAI5tFeedKeyC0000000001";
const KEY_D: &str = "LTAI5tFeedKeyD0000000001";
const MAX_BYTES: usize = 4096;

fn document(version: u64, keys: &[&str], seed: &[u8; 32]) -> Arc<Vec<u8>> {
    let blocks = encode_blocks(keys.iter().map(|k| entry_of_key(k.as_bytes())).collect());
    let published = 1_764_672_000 + version;
    Arc::new(feed::sign(FeedHeader { version, published }, &blocks, seed).into_bytes())
}

fn served(version: u64, keys: &[&str]) -> Answer {
    Answer::Document {
        body: document(version, keys, &SEED),
        etag: format!("\"v{version}\""),
    }
}

fn configuration() -> String {
    configuration_with(CONFIG_KEY)
}

fn configuration_with(config_key: &str) -> String {
    format!(
        r#"{{"leaked_keys": ["{config_key}"], "key_feed": {{"cluster": "feed", "path": "/akguard/feed",
            "authority": "feed.internal", "poll_seconds": 1, "timeout_ms": 500, "max_bytes": {MAX_BYTES},
            "public_key": "{}"}}}}"#,
        feed::key_text(&feed::public_key_of(&SEED))
    )
}

fn start(source: &FeedSource) -> Envoy {
    let config = bootstrap(
        vec![direct_listener("feed", &configuration(), false)],
        vec![loopback_cluster("feed", source.port)],
    );
    Envoy::start(
        &config,
        &Options {
            concurrency: 2,
            tag: "feed".into(),
        },
    )
}

/// A high-risk call signed with `key`, on a new connection; the status Envoy answers.
fn high_risk(port: u16, key: &str) -> u16 {
    let request = Request::get(
        "ecs.cn-hangzhou.aliyuncs.com",
        &format!("/?Action=RunInstances&AccessKeyId={key}"),
    );
    send_h1(port, &request).expect("a reply").status
}

/// Every one of 20 calls with each key answers as expected (new connections: both workers).
fn assert_in_force(port: u16, denied: &[&str], passed: &[&str]) {
    for _ in 0..20 {
        for key in denied {
            assert_eq!(high_risk(port, key), 403, "{key} denied");
        }
        for key in passed {
            assert_eq!(high_risk(port, key), 200, "{key} passes");
        }
    }
}

/// Waits (up to 15 s) until 40 calls in a row with `key` answer `status`; the time taken.
fn wait_answer(port: u16, key: &str, status: u16) -> Duration {
    let since = Instant::now();
    let mut run = 0;
    while run < 40 {
        assert!(
            since.elapsed() < Duration::from_secs(15),
            "{key} not answered {status} within 15 s"
        );
        if high_risk(port, key) == status {
            run += 1;
        } else {
            run = 0;
            thread::sleep(Duration::from_millis(20));
        }
    }
    since.elapsed()
}

/// Waits (up to 15 s) until a stat grows past `before`.
fn wait_stat_past(envoy: &Envoy, name: &str, before: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let value = envoy.stat(name);
        if value > before {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{name} stayed at {value}; log:\n{}",
            envoy.log_tail(30)
        );
        thread::sleep(Duration::from_millis(50));
    }
}

const STAT: &str = "wasmcustom.akguard.";

fn stat(envoy: &Envoy, name: &str) -> u64 {
    envoy.stat(&format!("{STAT}{name}"))
}

/// Serves `answer` until the counter `failed_<reason>` has grown by two (two polls), then
/// checks what stays in force and the log line.
fn fails_static(envoy: &Envoy, source: &FeedSource, answer: Answer, reason: &str, says: &str) {
    let name = format!("{STAT}feed_failed_{reason}");
    let before = envoy.stat(&name);
    let updates = stat(envoy, "feed_updates");
    source.set(answer);
    wait_stat_past(envoy, &name, before + 1);
    let port = envoy.port("feed");
    assert_in_force(port, &[KEY_B, CONFIG_KEY], &[KEY_A, KEY_C, KEY_D]);
    assert_eq!(stat(envoy, "feed_updates"), updates, "{reason}: no update");
    assert_eq!(
        stat(envoy, "feed_version"),
        2,
        "{reason}: version 2 in force"
    );
    let line = envoy.wait_log_line(&[
        &format!("akguard key feed: fetch failed ({reason})"),
        says,
        "version 2 (1 keys) stays in force; last good answer",
    ]);
    assert!(line.contains(" s ago"), "{line}");
    // The set in force is good again: the next fetches succeed.
    source.set(served(2, &[KEY_B]));
}

#[test]
fn the_feed_keeps_every_worker_current_and_fails_static() {
    let source = FeedSource::start(served(1, &[KEY_A]));
    let envoy = start(&source);
    let port = envoy.port("feed");

    // The first set: its key and the configuration's are both denied.
    wait_answer(port, KEY_A, 403);
    assert_in_force(port, &[KEY_A, CONFIG_KEY], &[KEY_B]);
    assert_eq!(stat(&envoy, "feed_version"), 1);
    assert_eq!(stat(&envoy, "feed_keys"), 1);
    assert_eq!(stat(&envoy, "feed_published"), 1_764_672_001);
    assert_eq!(
        stat(&envoy, "keys_loaded"),
        1,
        "the configuration's own keys"
    );
    envoy.wait_log_line(&["akguard key feed: version 1 applied (1 keys, published"]);
    envoy.wait_log_line(&[
        "akguard configuration accepted",
        "key_feed=feed/akguard/feed poll_seconds=1",
    ]);

    // One VM of the three (two workers, the main thread) asks the source; the others take
    // the set from shared data.
    envoy.wait_log_line(&["version 1 applied (1 keys", "fetched)"]);
    envoy.wait_log_line(&[
        "version 1 applied (1 keys",
        "shared by the VM that fetched it)",
    ]);
    let asked = source.seen().len();
    thread::sleep(Duration::from_secs(4));
    let asked = source.seen().len() - asked;
    assert!(
        (3..=5).contains(&asked),
        "{asked} fetches in 4 s at poll_seconds 1"
    );

    // Unchanged: conditional requests answered 304.
    let unchanged = wait_stat_past(&envoy, &format!("{STAT}feed_unchanged"), 1);
    assert!(unchanged >= 2);
    let seen = source.seen();
    assert!(seen.iter().all(|s| s.path == "/akguard/feed"), "{seen:?}");
    assert!(
        seen.iter()
            .any(|s| s.if_none_match.as_deref() == Some("\"v1\"") && s.status == 304),
        "{seen:?}"
    );
    assert!(stat(&envoy, "feed_stale_seconds") <= 2);

    // A new set replaces the old one, without a restart.
    source.set(served(2, &[KEY_B]));
    wait_answer(port, KEY_B, 403);
    wait_answer(port, KEY_A, 200);
    assert_in_force(port, &[KEY_B, CONFIG_KEY], &[KEY_A]);
    assert_eq!(stat(&envoy, "feed_version"), 2);

    // Every bad answer leaves version 2 in force.
    let stranger = [12u8; 32];
    fails_static(
        &envoy,
        &source,
        Answer::Document {
            body: document(3, &[KEY_C], &stranger),
            etag: "\"v3-forged\"".into(),
        },
        "signature",
        "the signature does not verify",
    );
    fails_static(
        &envoy,
        &source,
        Answer::Document {
            body: document(1, &[KEY_A], &SEED),
            etag: "\"v1-again\"".into(),
        },
        "replay",
        "version 1 is not newer than version 2 in force",
    );
    let next = document(3, &[KEY_C], &SEED);
    fails_static(
        &envoy,
        &source,
        Answer::Truncated {
            sent: next.len() / 2,
            body: Arc::clone(&next),
        },
        "unreachable",
        "the source did not answer",
    );
    fails_static(&envoy, &source, Answer::Status(500), "status", "status 500");
    fails_static(
        &envoy,
        &source,
        Answer::Silence(Duration::from_millis(1500)),
        "timeout",
        "no answer within 500 ms",
    );
    let many: Vec<String> = (0..600).map(|i| format!("LTAI5tFeedMany{i:010}")).collect();
    let mut large: Vec<&str> = many.iter().map(String::as_str).collect();
    large.push(KEY_D);
    let body = document(4, &large, &SEED);
    assert!(body.len() > MAX_BYTES);
    fails_static(
        &envoy,
        &source,
        Answer::Document {
            body,
            etag: "\"v4\"".into(),
        },
        "too_large",
        &format!("past max_bytes {MAX_BYTES}"),
    );
    let signed_but_cut = {
        let text = String::from_utf8(next.to_vec()).unwrap();
        let cut = text.trim_end().rsplit_once('\n').unwrap().0.to_string() + "\n";
        Arc::new(cut.into_bytes())
    };
    fails_static(
        &envoy,
        &source,
        Answer::Document {
            body: signed_but_cut,
            etag: "\"v3-cut\"".into(),
        },
        "signature",
        "the signature does not verify",
    );

    // And a good newer set still goes through.
    source.set(served(5, &[KEY_C]));
    wait_answer(port, KEY_C, 403);
    assert_in_force(port, &[KEY_C, CONFIG_KEY], &[KEY_A, KEY_B]);
    assert_eq!(stat(&envoy, "feed_version"), 5);
    assert!(stat(&envoy, "feed_last_success") > 1_700_000_000);
}

#[test]
fn a_configuration_push_keeps_the_feeds_set_in_force_throughout() {
    let source = FeedSource::start(served(1, &[KEY_A]));
    let dir = Envoy::prepare_dir("feed-ecds");
    let file = dir.join("akguard.json");
    let write = |config: &str| {
        let resource = ecds_resource("akguard", config, false);
        replace_atomically(&file, &serde_json::to_vec_pretty(&resource).unwrap());
    };
    write(&configuration());
    let config = bootstrap(
        vec![listener(
            "feed",
            vec![virtual_host("all", &["*"], vec![direct_route("upstream")])],
            vec![ecds_filter("akguard", &file)],
        )],
        vec![loopback_cluster("feed", source.port)],
    );
    let envoy = Envoy::start_in(
        dir,
        &config,
        &Options {
            concurrency: 2,
            tag: "feed-ecds".into(),
        },
    );
    let port = envoy.port("feed");
    wait_answer(port, KEY_A, 403);

    let stop = Arc::new(AtomicBool::new(false));
    let stream = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let (mut sent, mut through) = (0u64, 0u64);
            while !stop.load(Ordering::SeqCst) {
                sent += 1;
                if high_risk(port, KEY_A) != 403 {
                    through += 1;
                }
            }
            (sent, through)
        })
    };
    thread::sleep(Duration::from_millis(300));
    let pushed = "LTAI5tFeedConfigKey00002";
    write(&configuration_with(pushed));
    wait_answer(port, pushed, 403);
    thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    let (sent, through) = stream.join().unwrap();
    assert!(sent > 50, "the stream sent only {sent}");
    assert_eq!(
        through, 0,
        "{through} of {sent} calls with the feed's key passed"
    );
    assert_eq!(
        high_risk(port, CONFIG_KEY),
        200,
        "the old configuration's key"
    );
    // The new configuration's VMs keep asking the source once per poll between them.
    let asked = source.seen().len();
    thread::sleep(Duration::from_secs(4));
    let asked = source.seen().len() - asked;
    assert!((3..=5).contains(&asked), "{asked} fetches in 4 s");
}
