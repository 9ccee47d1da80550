//! A Wasm VM that fails at run time never opens the gate. A stand-in filter built only for
//! this test (`tests/trap-filter`: 403 on `x-leaked`, a trap on `x-trap`) runs in a real
//! Envoy under each `failure_policy`:
//!
//! - `FAIL_CLOSED`: after the trap every request, clean or leaked, is refused with 503; none
//!   reaches the upstream, and it stays so until the filter is configured again.
//! - `FAIL_RELOAD` (the examples' policy): the trapping request is refused with 503, the VM is
//!   reloaded and the check resumes (a leaked call 403, a clean call 200); while a reload
//!   waits out its backoff, requests are refused with 503. Envoy counts the reloads in
//!   `wasm.<plugin name>.vm_reload*`, which Prometheus sees as `envoy_wasm_<name>_vm_reload*`.
//!
//! Every failure is logged by Envoy as `Function: proxy_on_request_headers failed: Uncaught
//! RuntimeError`. Prints the time from a trap to the first request checked again (run with
//! `--nocapture`).
//!
//! A configuration the VM cannot hold, pushed through ECDS (the filter reserves more linear
//! memory than Envoy's V8 lets a VM have, 1 GiB), fails the VM's configure: Envoy rejects the
//! update, logs why (`memory allocation of … bytes failed`, `Failed to configure base Wasm
//! plugin`) and the previous configuration keeps checking.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;

use envoy::bootstrap::{
    bootstrap, direct_route, ecds_filter, listener, virtual_host, UPSTREAM_BODY,
};
use envoy::client::{send_h1, Request, Response};
use envoy::{replace_atomically, repo_root, Envoy, Options};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Builds `tests/trap-filter` (once per test run) and returns its module.
fn trap_module() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let target = repo_root().join("target/trap-filter");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "--release", "--target", "wasm32-wasip1"])
                .arg("--manifest-path")
                .arg(repo_root().join("tests/trap-filter/Cargo.toml"))
                .arg("--target-dir")
                .arg(&target)
                .status()
                .expect("run cargo for tests/trap-filter");
            assert!(status.success(), "building tests/trap-filter failed");
            target.join("wasm32-wasip1/release/trap_filter.wasm")
        })
        .clone()
}

fn trap_plugin(policy: &str, configuration: &str) -> Value {
    json!({
        "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
        "config": {
            "name": "trap",
            "root_id": "trap",
            "failure_policy": policy,
            "vm_config": {
                "vm_id": "trap",
                "runtime": "envoy.wasm.runtime.v8",
                "code": { "local": { "filename": trap_module() } }
            },
            "configuration": {
                "@type": "type.googleapis.com/google.protobuf.StringValue",
                "value": configuration
            }
        }
    })
}

fn trap_filter(policy: &str) -> Value {
    json!({ "name": "trap", "typed_config": trap_plugin(policy, "deny=x-leaked") })
}

/// The trap filter's ECDS file, with `configuration`.
fn write_trap_resource(file: &std::path::Path, configuration: &str) {
    let resource = json!({
        "version_info": "1",
        "resources": [{
            "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
            "name": "trap",
            "typed_config": trap_plugin("FAIL_RELOAD", configuration)
        }]
    });
    replace_atomically(file, &serde_json::to_vec_pretty(&resource).unwrap());
}

fn start(policy: &str) -> Envoy {
    let config = bootstrap(
        vec![listener(
            "guarded",
            vec![virtual_host("all", &["*"], vec![direct_route("upstream")])],
            vec![trap_filter(policy)],
        )],
        vec![],
    );
    Envoy::start(
        &config,
        &Options {
            concurrency: 1,
            tag: format!("failing-vm-{}", policy.to_lowercase()),
        },
    )
}

fn call(envoy: &Envoy, marker: Option<&str>) -> Response {
    let mut request = Request::get("ecs.cn-hangzhou.aliyuncs.com", "/?Action=RunInstances");
    if let Some(name) = marker {
        request = request.header(name, "1");
    }
    send_h1(envoy.port("guarded"), &request).expect("a reply")
}

/// The checked behaviour: a clean call reaches the upstream, a leaked one is denied.
fn assert_checking(envoy: &Envoy) {
    let clean = call(envoy, None);
    assert_eq!(clean.status, 200);
    assert_eq!(clean.body, UPSTREAM_BODY);
    assert_eq!(call(envoy, Some("x-leaked")).status, 403);
}

/// Sends clean calls until one reaches the upstream; every refused one must be a 503 that
/// did not reach it. Returns how long it took and how many were refused.
fn time_to_recovery(envoy: &Envoy, since: Instant) -> (Duration, u32) {
    let mut refused = 0;
    loop {
        assert!(
            since.elapsed() < Duration::from_secs(20),
            "not checking again 20 s after the trap"
        );
        let reply = call(envoy, None);
        if reply.status == 200 {
            return (since.elapsed(), refused);
        }
        assert_eq!(reply.status, 503, "{}", reply.body);
        assert_ne!(reply.body, UPSTREAM_BODY);
        refused += 1;
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn fail_closed_refuses_every_request_after_a_trap() {
    let envoy = start("FAIL_CLOSED");
    assert_checking(&envoy);
    assert_eq!(call(&envoy, Some("x-trap")).status, 503);
    envoy.wait_log_line(&[
        "proxy_on_request_headers failed",
        "RuntimeError: unreachable",
    ]);
    let refusing = Instant::now();
    let mut refused = 0;
    while refusing.elapsed() < Duration::from_secs(2) {
        for marker in [None, Some("x-leaked")] {
            let reply = call(&envoy, marker);
            assert_eq!(
                reply.status, 503,
                "{marker:?} after the trap: {}",
                reply.body
            );
            assert_ne!(reply.body, UPSTREAM_BODY);
            refused += 1;
        }
    }
    assert_eq!(envoy.stat("wasm.trap.vm_reload"), 0);
    eprintln!(
        "FAIL_CLOSED: after one trap, {refused} of {refused} requests over 2 s refused with 503"
    );
}

#[test]
fn fail_reload_refuses_then_reloads_and_checks_again() {
    let envoy = start("FAIL_RELOAD");
    assert_checking(&envoy);

    // The first trap: that request is refused, the next one reloads the VM at once.
    let trapped = Instant::now();
    assert_eq!(call(&envoy, Some("x-trap")).status, 503);
    let (first, refused_first) = time_to_recovery(&envoy, trapped);
    assert_checking(&envoy);
    envoy.wait_log_line(&[
        "proxy_on_request_headers failed",
        "RuntimeError: unreachable",
    ]);
    assert_eq!(envoy.stat("wasm.trap.vm_reload_success"), 1);

    // A second trap soon after: the reload waits out the backoff (1 s base interval by
    // default), and every request meanwhile is refused, leaked calls included.
    let trapped = Instant::now();
    assert_eq!(call(&envoy, Some("x-trap")).status, 503);
    let leaked = call(&envoy, Some("x-leaked"));
    assert!(
        [403, 503].contains(&leaked.status),
        "a leaked call during the backoff: {}",
        leaked.status
    );
    let (second, refused_second) = time_to_recovery(&envoy, trapped);
    assert_checking(&envoy);
    assert_eq!(envoy.stat("wasm.trap.vm_reload_success"), 2);
    assert!(envoy.stat("wasm.trap.vm_reload_backoff") >= 1);
    assert_eq!(envoy.stat("wasm.trap.vm_reload_failure"), 0);

    // What Prometheus scrapes.
    let scraped = envoy.admin_get("/stats/prometheus");
    assert!(
        scraped
            .lines()
            .any(|l| l.starts_with("envoy_wasm_trap_vm_reload_success") && l.ends_with(" 2")),
        "{}",
        scraped
            .lines()
            .filter(|l| l.contains("wasm"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!(
        "FAIL_RELOAD: first trap to checking again {:.1} ms ({refused_first} refused); a second trap within the backoff {:.1} ms ({refused_second} refused with 503)",
        first.as_secs_f64() * 1000.0,
        second.as_secs_f64() * 1000.0
    );
}

#[test]
fn a_configuration_beyond_the_vm_memory_is_rejected_and_the_previous_one_stays() {
    let dir = Envoy::prepare_dir("failing-vm-memory");
    let ecds_dir = dir.join("ecds");
    std::fs::create_dir_all(&ecds_dir).unwrap();
    let file = ecds_dir.join("trap.json");
    write_trap_resource(&file, "deny=x-leaked");
    let config = bootstrap(
        vec![listener(
            "guarded",
            vec![virtual_host("all", &["*"], vec![direct_route("upstream")])],
            vec![ecds_filter("trap", &file)],
        )],
        vec![],
    );
    let envoy = Envoy::start_in(
        dir,
        &config,
        &Options {
            concurrency: 1,
            tag: "failing-vm-memory".into(),
        },
    );
    assert_checking(&envoy);
    let fails = "extension_config_discovery.http_filter.trap.config_fail";
    let accepted = "extension_config_discovery.http_filter.trap.update_success";
    let accepted_before = envoy.stat(accepted);

    // 1,100 MiB: more than a VM may have.
    write_trap_resource(&file, "deny=x-other reserve_mib=1100");
    let deadline = Instant::now() + Duration::from_secs(20);
    while envoy.stat(fails) == 0 {
        assert!(Instant::now() < deadline, "the update was not rejected");
        std::thread::sleep(Duration::from_millis(10));
    }
    envoy.wait_log_line(&["1153433600"]);
    envoy.wait_log_line(&["Failed to configure base Wasm plugin"]);
    envoy.wait_log_line(&["Filesystem config update rejected", "trap"]);
    assert_eq!(envoy.stat(accepted), accepted_before);
    for _ in 0..20 {
        assert_checking(&envoy);
        assert_eq!(call(&envoy, Some("x-other")).status, 200);
    }

    // A configuration it can hold is taken.
    write_trap_resource(&file, "deny=x-other reserve_mib=64");
    let deadline = Instant::now() + Duration::from_secs(20);
    while call(&envoy, Some("x-other")).status != 403 {
        assert!(Instant::now() < deadline, "the next update was not taken");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(envoy.stat(accepted), accepted_before + 1);
    assert_eq!(envoy.stat(fails), 1);
}
