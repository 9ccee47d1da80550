//! Hot reload in a real Envoy (`--concurrency 2`): akguard's configuration comes through ECDS
//! from a watched file. Replacing the file adds a key, which is then denied on both workers
//! without a restart; an invalid replacement is rejected (logged, counted in Envoy's
//! `config_fail`) and the previous key set stays enforced. A steady stream of leaked-key
//! high-risk requests runs through both replacements and none of them passes.
//!
//! Prints the time from the file swap to enforcement and the stream's counts (run with
//! `--nocapture` to see them).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;

use envoy::bootstrap::{
    bootstrap, direct_route, ecds_filter, ecds_resource, listener, virtual_host,
};
use envoy::client::{send_h1, Request};
use envoy::{replace_atomically, Envoy, Options};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const KEY_A: &str = "LTAI5tReloadKeyA00000001";
const KEY_B: &str = "LTAI5tReloadKeyB00000001";

fn config(keys: &[&str]) -> String {
    let keys: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
    format!(
        r#"{{"leaked_keys": [{}], "hold_headers": true}}"#,
        keys.join(", ")
    )
}

fn write_resource(file: &Path, configuration: &str) {
    let resource = ecds_resource("akguard", configuration, true);
    replace_atomically(file, &serde_json::to_vec_pretty(&resource).unwrap());
}

/// A high-risk call signed with `key`; the status Envoy answers.
fn high_risk(port: u16, key: &str) -> u16 {
    let request = Request::get(
        "ecs.cn-hangzhou.aliyuncs.com",
        &format!("/?Action=RunInstances&AccessKeyId={key}"),
    );
    send_h1(port, &request).expect("a reply").status
}

/// Connections each worker has accepted on the listener.
fn worker_connections(envoy: &Envoy) -> BTreeMap<String, u64> {
    envoy
        .stats("listener.reload.worker_")
        .into_iter()
        .filter(|(name, _)| name.ends_with(".downstream_cx_total"))
        .collect()
}

/// Sends high-risk calls with `key` until `needed` in a row are denied, with every worker
/// having served some of them; returns the time from `since` to the first deny of that run.
fn time_to_enforcement(envoy: &Envoy, port: u16, key: &str, since: Instant) -> Duration {
    let deadline = since + Duration::from_secs(20);
    let needed = 40;
    let mut run = 0;
    let mut run_started = since;
    let mut workers_before = worker_connections(envoy);
    loop {
        assert!(
            Instant::now() < deadline,
            "{key} not enforced on every worker within 20 s"
        );
        let sent_at = Instant::now();
        if high_risk(port, key) == 403 {
            if run == 0 {
                run_started = sent_at;
                workers_before = worker_connections(envoy);
            }
            run += 1;
        } else {
            run = 0;
        }
        if run >= needed {
            let after = worker_connections(envoy);
            let served = after
                .iter()
                .filter(|(name, total)| **total > workers_before.get(*name).copied().unwrap_or(0))
                .count();
            if served >= 2 {
                return run_started.saturating_duration_since(since);
            }
            run = 0;
        }
    }
}

/// Leaked-key high-risk calls on new connections until stopped: (sent, let through).
fn steady_stream(port: u16, stop: Arc<AtomicBool>) -> thread::JoinHandle<(u64, u64)> {
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
}

#[test]
fn hot_reload_through_ecds_adds_a_key_and_keeps_the_old_set_on_a_bad_update() {
    let dir = Envoy::prepare_dir("reload");
    let ecds_dir = dir.join("ecds");
    std::fs::create_dir_all(&ecds_dir).unwrap();
    let file = ecds_dir.join("akguard.json");
    write_resource(&file, &config(&[KEY_A]));
    let config_bootstrap = bootstrap(
        vec![listener(
            "reload",
            vec![virtual_host("all", &["*"], vec![direct_route("upstream")])],
            vec![ecds_filter("akguard", &file)],
        )],
        vec![],
    );
    let envoy = Envoy::start_in(
        dir,
        &config_bootstrap,
        &Options {
            concurrency: 2,
            tag: "reload".into(),
        },
    );
    let port = envoy.port("reload");
    assert_eq!(high_risk(port, KEY_A), 403);
    assert_eq!(high_risk(port, KEY_B), 200);
    // Envoy's ECDS stats for the filter: accepted updates, and rejected ones (NACKs).
    let reloads = "extension_config_discovery.http_filter.akguard.update_success";
    let fails = "extension_config_discovery.http_filter.akguard.config_fail";
    let rejected = "extension_config_discovery.http_filter.akguard.update_rejected";
    let reloads_at_start = envoy.stat(reloads);
    assert_eq!(envoy.stat(fails), 0);
    assert_eq!(envoy.stat(rejected), 0);

    let stop = Arc::new(AtomicBool::new(false));
    let stream = steady_stream(port, Arc::clone(&stop));
    thread::sleep(Duration::from_millis(300));

    // A valid update adds KEY_B.
    let swapped = Instant::now();
    write_resource(&file, &config(&[KEY_A, KEY_B]));
    let took = time_to_enforcement(&envoy, port, KEY_B, swapped);
    assert_eq!(envoy.stat(reloads), reloads_at_start + 1);
    assert_eq!(envoy.stat("wasmcustom.akguard.keys_loaded"), 2);

    // An invalid update is rejected; both keys stay denied.
    write_resource(
        &file,
        r#"{"leaked_keys": ["LTAI5tReloadKeyA00000001", "not a key"]}"#,
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while envoy.stat(fails) == 0 {
        assert!(
            Instant::now() < deadline,
            "the invalid update was not rejected"
        );
        thread::sleep(Duration::from_millis(10));
    }
    envoy.wait_log_line(&["akguard configuration rejected: leaked_keys[1]: an AccessKey ID"]);
    envoy.wait_log_line(&["Filesystem config update rejected", "akguard"]);
    assert!(envoy.stat("wasmcustom.akguard.config_rejected") >= 1);
    thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    let (sent, through) = stream.join().unwrap();
    assert_eq!(envoy.stat(reloads), reloads_at_start + 1);
    assert_eq!(envoy.stat(fails), 1);
    assert_eq!(envoy.stat(rejected), 1);
    for _ in 0..20 {
        assert_eq!(high_risk(port, KEY_A), 403);
        assert_eq!(high_risk(port, KEY_B), 403);
    }
    assert_eq!(envoy.stat("wasmcustom.akguard.keys_loaded"), 2);
    eprintln!(
        "hot reload: swap to enforcement on both workers {:.1} ms; steady stream of leaked high-risk calls during both updates: {sent} sent, {through} let through",
        took.as_secs_f64() * 1000.0
    );
    assert!(sent > 50, "the stream sent only {sent} requests");
    assert_eq!(
        through, 0,
        "{through} of {sent} leaked-key calls passed during reload"
    );
}
