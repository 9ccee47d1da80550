//! Time to protection through the signed key feed, in a real Envoy (`--concurrency 2`): from
//! the moment a new signed set is published on a local source to the moment every worker
//! answers `403` for its new key, over 20 updates, for a small set and for 1,000,000 keys.
//! Prints the distribution (run with `--nocapture` to see it), and how many calls with the
//! new key passed after the first worker had denied one.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;

use akguard::core::feed::{self, FeedHeader};
use akguard::core::packed::{base64, entry_of_key, PackedEntry, BLOCK_ENTRIES};
use envoy::bootstrap::{bootstrap, direct_listener, loopback_cluster};
use envoy::client::{send_h1, Request};
use envoy::feed_source::{Answer, FeedSource};
use envoy::{Envoy, Options};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const SEED: [u8; 32] = [21; 32];
const UPDATES: u64 = 20;
const POLL_SECONDS: u64 = 1;

/// The keys every document holds, as text: blocks of sorted entries (none starting with
/// byte `0xff`), each a multiple of 3 entries, so the new keys' block can follow them.
fn base_text(keys: usize) -> String {
    let mut entries: Vec<PackedEntry> = (0..)
        .map(|i| entry_of_key(format!("LTAI5tBase{i:014}").as_bytes()))
        .filter(|e| e[0] != 0xff)
        .take(keys)
        .collect();
    entries.sort_unstable();
    entries.dedup();
    assert_eq!(entries.len() % 3, 0);
    let mut text = String::new();
    for block in entries.chunks(BLOCK_ENTRIES) {
        text.push_str(&base64(&block.concat()));
        text.push('\n');
    }
    text
}

/// The key added by `update`: one whose entry starts with byte `0xff`, so that it sorts
/// after every base entry.
fn new_key(update: u64) -> String {
    (0u64..)
        .map(|n| format!("LTAI5tTimed{update:04}{n:08}"))
        .find(|key| entry_of_key(key.as_bytes())[0] == 0xff)
        .unwrap()
}

/// The signed document of `update`: the base keys and the keys of updates 0 to `update`.
fn document(update: u64, base: &str, base_keys: usize) -> (Arc<Vec<u8>>, usize) {
    let mut added: Vec<PackedEntry> = (0..=update)
        .map(|u| entry_of_key(new_key(u).as_bytes()))
        .collect();
    added.sort_unstable();
    let blocks = [base.trim_end().to_string(), base64(&added.concat())];
    let header = FeedHeader {
        version: update + 1,
        published: update + 1,
    };
    let text = feed::sign(header, &blocks, &SEED);
    (Arc::new(text.into_bytes()), base_keys + added.len())
}

fn high_risk(port: u16, key: &str) -> u16 {
    let request = Request::get(
        "ecs.cn-hangzhou.aliyuncs.com",
        &format!("/?Action=RunInstances&AccessKeyId={key}"),
    );
    send_h1(port, &request).expect("a reply").status
}

fn worker_connections(envoy: &Envoy) -> BTreeMap<String, u64> {
    envoy
        .stats("listener.timed.worker_")
        .into_iter()
        .filter(|(name, _)| name.ends_with(".downstream_cx_total"))
        .collect()
}

/// One update's figures.
struct Timing {
    first_deny: Duration,
    every_worker: Duration,
    through_after_first_deny: u64,
}

/// Calls with `key` on new connections until 40 in a row are denied with both workers
/// serving some of them.
fn measure(envoy: &Envoy, port: u16, key: &str, published: Instant) -> Timing {
    let mut first_deny = None;
    let mut through_after = 0;
    let mut run = 0;
    let mut run_started = published;
    let mut before = worker_connections(envoy);
    loop {
        assert!(
            published.elapsed() < Duration::from_secs(60),
            "{key} not denied on every worker within 60 s; log:\n{}",
            envoy.log_tail(20)
        );
        let sent = Instant::now();
        if high_risk(port, key) == 403 {
            first_deny.get_or_insert(sent);
            if run == 0 {
                run_started = sent;
                before = worker_connections(envoy);
            }
            run += 1;
        } else {
            if first_deny.is_some() {
                through_after += 1;
            }
            run = 0;
        }
        if run >= 40 {
            let after = worker_connections(envoy);
            let served = after
                .iter()
                .filter(|(name, total)| **total > before.get(*name).copied().unwrap_or(0))
                .count();
            if served >= 2 {
                return Timing {
                    first_deny: first_deny.unwrap_or(run_started) - published,
                    every_worker: run_started - published,
                    through_after_first_deny: through_after,
                };
            }
            run = 0;
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn run_updates(label: &str, base_keys: usize) {
    let base = base_text(base_keys);
    let (first, _) = document(0, &base, base_keys);
    let bytes = first.len();
    let source = FeedSource::start(Answer::Document {
        body: first,
        etag: "\"1\"".into(),
    });
    let configuration = format!(
        r#"{{"key_feed": {{"cluster": "feed", "path": "/feed", "poll_seconds": {POLL_SECONDS}, "timeout_ms": 10000,
            "max_bytes": 33554432, "public_key": "{}"}}}}"#,
        feed::key_text(&feed::public_key_of(&SEED))
    );
    let envoy = Envoy::start(
        &bootstrap(
            vec![direct_listener("timed", &configuration, false)],
            vec![loopback_cluster("feed", source.port)],
        ),
        &Options {
            concurrency: 2,
            tag: "feed-timing".into(),
        },
    );
    let port = envoy.port("timed");
    measure(&envoy, port, &new_key(0), Instant::now());
    let fetched_before = source.seen().len();
    let started = Instant::now();
    let mut timings = Vec::new();
    let mut keys = 0;
    for update in 1..=UPDATES {
        // Signed before the clock starts: publication is one swap.
        let (body, held) = document(update, &base, base_keys);
        keys = held;
        // Publish at a random point of the poll period.
        thread::sleep(Duration::from_millis(137 * update % 1000));
        let published = Instant::now();
        source.set(Answer::Document {
            body,
            etag: format!("\"{}\"", update + 1),
        });
        timings.push(measure(&envoy, port, &new_key(update), published));
        assert_eq!(
            envoy.stat("wasmcustom.akguard.feed_version"),
            update + 1,
            "the version in force"
        );
    }
    let fetches = source.seen().len() - fetched_before;
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(envoy.stat("wasmcustom.akguard.feed_keys"), keys as u64);
    let mut first: Vec<f64> = timings.iter().map(|t| t.first_deny.as_secs_f64()).collect();
    let mut every: Vec<f64> = timings
        .iter()
        .map(|t| t.every_worker.as_secs_f64())
        .collect();
    first.sort_by(f64::total_cmp);
    every.sort_by(f64::total_cmp);
    let through: u64 = timings.iter().map(|t| t.through_after_first_deny).sum();
    let memory = envoy.stat("wasmcustom.akguard.vm_memory_bytes");
    eprintln!(
        "time to protection, {label} ({} keys, {bytes} bytes signed), poll_seconds {POLL_SECONDS}, {UPDATES} updates:\n  \
         every worker denies: min {:.2} s, median {:.2} s, p90 {:.2} s, max {:.2} s\n  \
         first worker denies: min {:.2} s, median {:.2} s, max {:.2} s\n  \
         calls with the new key let through after the first deny: {through}\n  \
         fetches seen by the source: {fetches} in {seconds:.1} s ({:.2} a second); VM memory {memory} bytes",
        keys,
        every[0],
        percentile(&every, 0.5),
        percentile(&every, 0.9),
        every[every.len() - 1],
        first[0],
        percentile(&first, 0.5),
        first[first.len() - 1],
        fetches as f64 / seconds,
    );
}

#[test]
fn time_to_protection_small_set() {
    run_updates("small set", 9);
}

#[test]
fn time_to_protection_a_million_keys() {
    run_updates("1,000,000 keys", 999_981);
}
