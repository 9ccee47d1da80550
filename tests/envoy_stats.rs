//! akguard's counters in a real Envoy (`--concurrency 2`): the names in admin `/stats`
//! (`wasmcustom.akguard.*`) and `/stats/prometheus` (`akguard_*`), and exact counts after a
//! known mix of requests on an enforcing and a shadow listener.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;

use akguard::core::catalog::Catalog;
use envoy::bootstrap::{bootstrap, direct_listener};
use envoy::client::{send, Body, Request, Version};
use envoy::{Envoy, Options};
use std::collections::BTreeMap;

const LEAKED: &str = "LTAI5tLeakedKey000000001";

fn call(key: Option<&str>, action: &str) -> Request {
    let key = key.map(|k| format!("&AccessKeyId={k}")).unwrap_or_default();
    Request::get(
        "ecs.cn-hangzhou.aliyuncs.com",
        &format!("/?Action={action}{key}"),
    )
}

#[test]
fn counters_in_stats_and_prometheus() {
    let enforce = format!(
        r#"{{"leaked_keys": ["{LEAKED}", "LTAI5tOtherLeakedKey0001"], "hold_headers": true, "max_body_bytes": 1000}}"#
    );
    let shadow =
        format!(r#"{{"leaked_keys": ["{LEAKED}", "LTAI5tOtherLeakedKey0001"], "mode": "shadow"}}"#);
    let envoy = Envoy::start(
        &bootstrap(
            vec![
                direct_listener("enforce", &enforce, true),
                direct_listener("shadow", &shadow, true),
            ],
            vec![],
        ),
        &Options {
            concurrency: 2,
            tag: "stats".into(),
        },
    );
    let (enforcing, shadowing) = (envoy.port("enforce"), envoy.port("shadow"));
    let too_large = Request {
        method: "POST".into(),
        authority: "ecs.cn-hangzhou.aliyuncs.com".into(),
        path: "/".into(),
        headers: vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: Body::Whole(format!("Action=DescribeRegions&Pad={}", "x".repeat(2000)).into_bytes()),
    };
    let plan: Vec<(u16, Request, u16)> = vec![
        (enforcing, call(None, "RunInstances"), 200),
        (
            enforcing,
            call(Some("LTAI5tCleanKey0000000001"), "RunInstances"),
            200,
        ),
        (enforcing, call(None, "DescribeRegions"), 200),
        (enforcing, call(Some(LEAKED), "RunInstances"), 403),
        (enforcing, call(Some(LEAKED), "DeleteInstance"), 403),
        (enforcing, call(Some(LEAKED), "DescribeInstances"), 200),
        (enforcing, call(Some(LEAKED), "DescribeRegions"), 200),
        (enforcing, too_large, 413),
        (shadowing, call(Some(LEAKED), "RunInstances"), 200),
        (shadowing, call(Some(LEAKED), "CreateInstance"), 200),
    ];
    for version in [Version::Http1, Version::H2c] {
        for (port, request, status) in &plan {
            let reply = send(version, *port, request);
            assert_eq!(
                reply.status, *status,
                "{version:?} {}: {}",
                request.path, reply.body
            );
        }
    }
    let want: BTreeMap<&str, u64> = [
        ("requests_checked", 20),
        ("leaked_key_seen", 12),
        ("denied", 6),
        ("shadow_denied", 4),
        ("body_too_large", 2),
        // Each listener's configuration, applied in four VMs with `--concurrency 2`.
        ("config_accepted", 8),
        ("config_rejected", 0),
        ("keys_loaded", 2),
        // The embedded list: published 2026-01, and its fingerprint.
        ("high_risk_list_published", 20260100),
        ("high_risk_list_digest", Catalog::embedded().unwrap().digest),
        // No credential call among these requests.
        ("minted_keys_recorded", 0),
        ("minted_keys_in_force", 0),
        ("credentials_unreadable", 0),
    ]
    .into_iter()
    .collect();

    // Checked requests reach Envoy on the filter's tick, once a second.
    envoy.settled_stat(
        "wasmcustom.akguard.requests_checked",
        want["requests_checked"],
    );
    let stats = envoy.stats("wasmcustom.akguard.");
    let mut got: BTreeMap<&str, u64> = stats
        .iter()
        .map(|(name, value)| (name.strip_prefix("wasmcustom.akguard.").unwrap(), *value))
        .collect();
    // The VM's linear memory: whole 64 KiB pages, a few MiB for this small key set.
    let memory = got
        .remove("vm_memory_bytes")
        .expect("akguard.vm_memory_bytes");
    assert!(
        memory > 0 && memory % 65_536 == 0 && memory < 64 << 20,
        "vm_memory_bytes {memory}"
    );
    assert_eq!(got, want, "/stats");
    let prometheus = envoy.admin_get("/stats/prometheus");
    assert!(
        prometheus
            .lines()
            .any(|l| l == "# TYPE akguard_vm_memory_bytes gauge"),
        "/stats/prometheus lacks the vm_memory_bytes gauge"
    );

    for (name, value) in &want {
        let gauges = [
            "keys_loaded",
            "high_risk_list_published",
            "high_risk_list_digest",
            "minted_keys_in_force",
        ];
        let kind = if gauges.contains(name) {
            "gauge"
        } else {
            "counter"
        };
        let type_line = format!("# TYPE akguard_{name} {kind}");
        let value_line = format!("akguard_{name}{{}} {value}");
        for line in [&type_line, &value_line] {
            assert!(
                prometheus.lines().any(|l| l == line),
                "/stats/prometheus lacks {line:?}:\n{}",
                prometheus
                    .lines()
                    .filter(|l| l.contains("akguard"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
    assert!(
        !prometheus.contains("wasmcustom"),
        "Envoy strips the wasmcustom prefix in Prometheus output"
    );
}
