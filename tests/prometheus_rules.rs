//! The alerting rules (`deploy/prometheus/akguard-rules.yaml`) through Prometheus's own
//! `promtool`: they load (`check rules`), and `akguard-rules.test.yaml` passes
//! (`test rules`), with every alert both firing and staying quiet there and a runbook in each.
//! A missing `promtool` fails the test (`./build.sh test` installs Debian's `prometheus`).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use serde_yaml::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus")
}

fn promtool(args: &[&str]) {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(rules_dir())
        .output()
        .unwrap_or_else(|e| {
            panic!("run promtool: {e} (Debian package prometheus; `./build.sh test` installs it)")
        });
    assert!(
        output.status.success(),
        "promtool {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn yaml(name: &str) -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(rules_dir().join(name)).unwrap()).unwrap()
}

#[test]
fn rules_load_and_pass_their_unit_tests() {
    promtool(&["check", "rules", "akguard-rules.yaml"]);
    promtool(&["test", "rules", "akguard-rules.test.yaml"]);
}

#[test]
fn every_alert_has_a_runbook_and_is_tested_firing_and_quiet() {
    let rules = yaml("akguard-rules.yaml");
    let mut alerts = BTreeSet::new();
    for group in rules["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            let name = rule["alert"].as_str().unwrap().to_string();
            let annotations = &rule["annotations"];
            for key in ["summary", "description", "runbook"] {
                assert!(
                    annotations[key].as_str().is_some_and(|t| t.len() > 20),
                    "{name}: no {key} annotation"
                );
            }
            assert!(
                rule["labels"]["severity"].is_string(),
                "{name}: no severity"
            );
            alerts.insert(name);
        }
    }
    let tests = yaml("akguard-rules.test.yaml");
    let (mut firing, mut quiet) = (BTreeSet::new(), BTreeSet::new());
    for test in tests["tests"].as_sequence().unwrap() {
        for case in test["alert_rule_test"].as_sequence().unwrap() {
            let name = case["alertname"].as_str().unwrap().to_string();
            let expected = case["exp_alerts"].as_sequence().map_or(0, Vec::len);
            if expected == 0 {
                quiet.insert(name);
            } else {
                firing.insert(name);
            }
        }
    }
    assert!(alerts.len() >= 5, "{alerts:?}");
    assert_eq!(firing, alerts, "alerts tested firing");
    assert_eq!(quiet, alerts, "alerts tested quiet");
}
