//! End to end, the way an operator runs it: a real Prometheus scrapes a real Envoy running
//! akguard (admin `/stats/prometheus`, every second) with `deploy/prometheus/akguard-rules.yaml`
//! loaded as it is. One leaked-key call fires the leaked-key alert, a rejected configuration
//! push (ECDS) fires its alert (and a valid push after it is applied), a form body over
//! `max_body_bytes` fires its alert, each read from `/api/v1/alerts`; the time from the event
//! to the firing alert is printed. Every metric the rules read is served, and the
//! filter-not-checking rule stays quiet. Then every panel query of `deploy/grafana/akguard.json`
//! must return data, and the panels' series are written to `dashboard-data.json` (under
//! Cargo's test scratch directory) for `deploy/grafana/render_panels.py`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;
mod prometheus;

use envoy::bootstrap::{
    bootstrap, direct_listener, direct_route, ecds_filter, ecds_resource, listener, virtual_host,
};
use envoy::client::{send_h1, Body, Request};
use envoy::{replace_atomically, repo_root, Envoy, Options};
use prometheus::Prometheus;
use serde_json::{json, Value};
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const LEAKED: &str = "LTAI5tLeakedKey000000001";
const CLEAN: &str = "LTAI5tCleanKey0000000001";

fn configuration() -> String {
    format!(r#"{{"leaked_keys": ["{LEAKED}"], "hold_headers": true, "max_body_bytes": 1000}}"#)
}

fn write_resource(file: &Path, configuration: &str) {
    let resource = ecds_resource("akguard", configuration, true);
    replace_atomically(file, &serde_json::to_vec_pretty(&resource).unwrap());
}

fn call(port: u16, key: &str, action: &str) -> u16 {
    let request = Request::get(
        "ecs.cn-hangzhou.aliyuncs.com",
        &format!("/?Action={action}&AccessKeyId={key}"),
    );
    send_h1(port, &request).expect("a reply").status
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn alert_state(prometheus: &Prometheus, name: &str) -> Option<String> {
    prometheus
        .alerts()
        .into_iter()
        .find(|a| a["labels"]["alertname"] == name)
        .map(|a| a["state"].as_str().unwrap_or_default().to_string())
}

/// The dashboard's panels: title and queries (expression, legend).
fn dashboard_panels() -> Vec<(String, Vec<(String, String)>)> {
    let text = fs::read_to_string(repo_root().join("deploy/grafana/akguard.json")).unwrap();
    let dashboard: Value = serde_json::from_str(&text).unwrap();
    let mut panels = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        let title = panel["title"].as_str().unwrap().to_string();
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "panel {title} has no query");
        let queries = targets
            .iter()
            .map(|t| {
                let expr = t["expr"].as_str().unwrap().to_string();
                (
                    expr,
                    t["legendFormat"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        panels.push((title, queries));
    }
    panels
}

#[test]
fn leaked_key_and_rejected_push_fire_alerts_in_prometheus() {
    let dir = Envoy::prepare_dir("alerts");
    let ecds_dir = dir.join("ecds");
    fs::create_dir_all(&ecds_dir).unwrap();
    let file = ecds_dir.join("akguard.json");
    write_resource(&file, &configuration());
    let shadow = format!(r#"{{"leaked_keys": ["{LEAKED}"], "mode": "shadow"}}"#);
    let envoy = Envoy::start_in(
        dir,
        &bootstrap(
            vec![
                listener(
                    "gateway",
                    vec![virtual_host("all", &["*"], vec![direct_route("upstream")])],
                    vec![ecds_filter("akguard", &file)],
                ),
                direct_listener("shadow", &shadow, true),
            ],
            vec![],
        ),
        &Options {
            tag: "alerts".into(),
            ..Options::default()
        },
    );
    let (gateway, shadowing) = (envoy.port("gateway"), envoy.port("shadow"));
    let target = format!("127.0.0.1:{}", envoy.admin);
    let rules = repo_root().join("deploy/prometheus/akguard-rules.yaml");
    let prometheus = Prometheus::start(
        "alerts",
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: akguard-gateway\n    metrics_path: /stats/prometheus\n    \
             static_configs:\n      - targets: [\"{target}\"]\n",
            rules.display()
        ),
    );

    // Clean traffic, and two scrapes of akguard's counters before anything is denied.
    let started = Instant::now();
    loop {
        assert_eq!(call(gateway, CLEAN, "RunInstances"), 200);
        let samples = prometheus.query("count_over_time(akguard_denied[1m])");
        if samples
            .first()
            .and_then(|s| s["value"][1].as_str())
            .and_then(|v| v.parse::<u32>().ok())
            .is_some_and(|n| n >= 2)
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "Prometheus did not scrape akguard's counters: {:?}",
            prometheus.query("up")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(alert_state(&prometheus, "AkguardLeakedKeyUsed"), None);
    assert_eq!(alert_state(&prometheus, "AkguardConfigRejected"), None);

    // One leaked-key call.
    assert_eq!(call(gateway, LEAKED, "RunInstances"), 403);
    let denied_at = Instant::now();
    let alert = prometheus.wait_firing("AkguardLeakedKeyUsed", Duration::from_secs(30));
    let deny_to_firing = denied_at.elapsed();
    assert_eq!(alert["labels"]["instance"], target.as_str());
    assert_eq!(alert["labels"]["job"], "akguard-gateway");
    assert_eq!(alert["labels"]["severity"], "critical");
    let description = alert["annotations"]["description"].as_str().unwrap();
    assert!(
        description.contains("about 1 high-risk") && description.contains(&target),
        "{description}"
    );
    assert!(alert["annotations"]["runbook"]
        .as_str()
        .unwrap()
        .contains("akguard deny:"));
    envoy.wait_log_line(&["akguard deny:", "LTAI****0001", "rule=listed-action"]);

    // A configuration push the filter rejects.
    assert_eq!(alert_state(&prometheus, "AkguardConfigRejected"), None);
    write_resource(&file, r#"{"leaked_keys": ["LTAI5t-not-a-key"]}"#);
    let pushed_at = Instant::now();
    let alert = prometheus.wait_firing("AkguardConfigRejected", Duration::from_secs(30));
    let push_to_firing = pushed_at.elapsed();
    assert_eq!(alert["labels"]["instance"], target.as_str());
    envoy.wait_log_line(&["akguard configuration rejected: leaked_keys[0]"]);
    // The previous configuration stays in force.
    assert_eq!(call(gateway, LEAKED, "DeleteInstance"), 403);

    // A valid push after it: a second key, denied once the update is applied.
    let second = "LTAI5tLeakedKey000000002";
    write_resource(
        &file,
        &format!(
            r#"{{"leaked_keys": ["{LEAKED}", "{second}"], "hold_headers": true, "max_body_bytes": 1000}}"#
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while call(gateway, second, "RunInstances") != 403 {
        assert!(
            Instant::now() < deadline,
            "the valid update was not applied"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // A form body over max_body_bytes, and a shadow deny.
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
    assert_eq!(send_h1(gateway, &too_large).unwrap().status, 413);
    assert_eq!(call(shadowing, LEAKED, "RunInstances"), 200);
    prometheus.wait_firing("AkguardBodyTooLargeDenies", Duration::from_secs(30));
    println!(
        "deny to firing AkguardLeakedKeyUsed: {} ms; rejected push to firing AkguardConfigRejected: {} ms \
         (scrape and evaluation every 1 s)",
        deny_to_firing.as_millis(),
        push_to_firing.as_millis()
    );

    // Every metric the rules read is one Envoy serves, and the filter-not-checking rule, whose
    // traffic side sees the calls above, stays quiet while akguard checks them.
    let rules_text = fs::read_to_string(&rules).unwrap();
    let rules_doc: serde_yaml::Value = serde_yaml::from_str(&rules_text).unwrap();
    let mut names = std::collections::BTreeSet::new();
    for rule in rules_doc["groups"][0]["rules"].as_sequence().unwrap() {
        let expr = rule["expr"].as_str().unwrap();
        // Metric names, not label names (followed by `=`, `!=` or `=~`).
        let mut rest = expr;
        while let Some(at) = rest.find(|c: char| c.is_ascii_alphabetic()) {
            let tail = &rest[at..];
            let len = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            let (word, after) = tail.split_at(len);
            let label = after.trim_start().starts_with(['=', '!']);
            if !label && (word.starts_with("akguard_") || word.starts_with("envoy_")) {
                names.insert(word.to_string());
            }
            rest = after;
        }
        if rule["alert"] == "AkguardNotChecking" {
            let traffic = expr.split("unless").next().unwrap();
            assert!(
                !prometheus.query(traffic).is_empty(),
                "no traffic seen: {traffic}"
            );
            assert!(prometheus.query(expr).is_empty(), "{expr}");
        }
    }
    assert!(names.len() >= 6, "{names:?}");
    for name in &names {
        assert!(
            !prometheus.query(&format!("count({name})")).is_empty(),
            "{name}: not served by Envoy"
        );
    }

    // Every panel of the dashboard has data.
    let start = now() - started.elapsed().as_secs_f64() - 2.0;
    std::thread::sleep(Duration::from_secs(2));
    let end = now();
    let mut panels = Vec::new();
    for (title, queries) in dashboard_panels() {
        let mut series = Vec::new();
        for (expr, legend) in queries {
            assert!(
                !prometheus.query(&expr).is_empty(),
                "panel {title}: {expr} returned no data"
            );
            for line in prometheus.query_range(&expr, start, end) {
                let instance = line["metric"]["instance"].as_str().unwrap_or_default();
                series.push(json!({
                    "name": legend.replace("{{instance}}", instance),
                    "values": line["values"],
                }));
            }
        }
        panels.push(json!({ "title": title, "series": series }));
    }
    let data = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-data.json");
    fs::write(&data, serde_json::to_vec_pretty(&panels).unwrap()).unwrap();
    println!("dashboard panels' data: {}", data.display());
}
