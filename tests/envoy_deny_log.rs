//! The deny log under a flood in a real Envoy (`--concurrency 2`): leaked-key calls from
//! several clients at once, far past `deny_log_lines_per_second`; the full deny lines stay
//! within the allowance for each worker and second, and full lines plus the counts of the
//! summary lines equal `akguard.denied` exactly.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;

use envoy::bootstrap::{bootstrap, direct_listener};
use envoy::client::{send_h1, Request};
use envoy::{Envoy, Options};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const LEAKED: [&str; 2] = ["LTAI5tLeakedKey000000001", "LTAI5tLeakedKey000000002"];
const ALLOWANCE: usize = 5;
const CLIENTS: usize = 4;
const PER_CLIENT: usize = 400;

/// `[time][thread][level][logger] message`: the second (`YYYY-mm-dd HH:MM:SS`), the thread
/// and the message of an Envoy log line.
fn parts(line: &str) -> Option<(&str, &str, &str)> {
    let rest = line.strip_prefix('[')?;
    let (time, rest) = rest.split_once("][")?;
    let (thread, rest) = rest.split_once("][")?;
    let message = rest.split_once("] ")?.1;
    let message = &message[message.find("akguard deny")? + "akguard ".len()..];
    Some((time.split('.').next()?, thread, message))
}

#[test]
fn a_flood_of_denies_is_logged_within_the_allowance_and_all_accounted_for() {
    let config = format!(
        r#"{{"leaked_keys": ["{}", "{}"], "deny_log_lines_per_second": {ALLOWANCE}}}"#,
        LEAKED[0], LEAKED[1]
    );
    let envoy = Envoy::start(
        &bootstrap(vec![direct_listener("flood", &config, false)], vec![]),
        &Options {
            concurrency: 2,
            tag: "deny-log".into(),
        },
    );
    let port = envoy.port("flood");
    let started = Instant::now();
    let denied: usize = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                scope.spawn(move || {
                    (0..PER_CLIENT)
                        .filter(|i| {
                            let action = ["RunInstances", "DeleteInstance"][i % 2];
                            let key = LEAKED[(c + i) % 2];
                            let path = format!("/?Action={action}&AccessKeyId={key}");
                            let request = Request::get("ecs.cn-hangzhou.aliyuncs.com", &path);
                            send_h1(port, &request).expect("a reply").status == 403
                        })
                        .count()
                })
            })
            .collect();
        clients.into_iter().map(|c| c.join().unwrap()).sum()
    });
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(denied, CLIENTS * PER_CLIENT, "every call denied");
    let counter = envoy.settled_stat("wasmcustom.akguard.denied", denied as u64);
    assert_eq!(counter, denied as u64);
    // The last second's summaries are written by each worker's next tick.
    std::thread::sleep(Duration::from_millis(2500));
    let log = envoy.log();
    let mut full_by_worker_second: BTreeMap<(String, String), usize> = BTreeMap::new();
    let (mut full, mut summarised, mut summary_lines) = (0u64, 0u64, 0usize);
    for (time, thread, message) in log.lines().filter_map(parts) {
        if message.starts_with("deny: ") {
            full += 1;
            *full_by_worker_second
                .entry((thread.to_string(), time.to_string()))
                .or_default() += 1;
            assert!(message.contains("key=LTAI****000"), "masked: {message}");
        } else if let Some(summary) = message.strip_prefix("deny-summary: ") {
            summary_lines += 1;
            assert!(!summary.contains("LTAI5t"), "masked: {summary}");
            let count = summary.split(' ').find_map(|w| w.strip_prefix("count="));
            summarised += count.expect("a count").parse::<u64>().expect("a number");
        }
    }
    println!(
        "{denied} denies in {seconds:.1} s through 2 workers: {full} full lines, {summary_lines} summary lines counting {summarised}; full lines by worker and second: {:?}",
        full_by_worker_second.values().collect::<Vec<_>>()
    );
    assert_eq!(full + summarised, counter, "every deny accounted for");
    assert!(
        summary_lines > 0,
        "a flood past the allowance is summarised"
    );
    // A worker's second, as the log's clock shows it, may straddle the VM's by a line.
    for ((thread, second), n) in &full_by_worker_second {
        assert!(
            *n <= ALLOWANCE + 1,
            "{n} full deny lines from worker {thread} in {second}"
        );
    }
    let workers_seconds = 2.0 * (seconds.ceil() + 2.0);
    assert!(
        full as f64 <= ALLOWANCE as f64 * workers_seconds,
        "{full} full lines over {seconds:.1} s"
    );
}
