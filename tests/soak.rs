//! The soak for one minute (`benches/soak/soak.py --minutes 1`): akguard in Envoy
//! (`--concurrency 2`, ECDS) under a steady mix of clean, leaked-key and evasion-suite
//! traffic while valid key sets of 1,000 to 100,000 keys and invalid configurations are pushed
//! every 3 s. No response may differ from what the key set in force allows, and no leaked-key
//! call may pass. Prints the script's summary (run with `--nocapture`); its CSV and plot go to
//! Cargo's test scratch directory. `./build.sh soak --minutes N` runs it longer, into docs/.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;

use envoy::{envoy_binary, module_path, repo_root};
use std::process::Command;

/// The number after `name=` in the summary line.
fn figure(summary: &str, name: &str) -> u64 {
    summary
        .split_whitespace()
        .find_map(|word| word.strip_prefix(&format!("{name}=")))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {name}= in {summary:?}"))
}

#[test]
fn a_minute_of_traffic_and_pushes_lets_no_leaked_call_through() {
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("soak");
    let output = Command::new("python3")
        .arg(repo_root().join("benches/soak/soak.py"))
        .args(["--minutes", "1", "--out"])
        .arg(&out)
        .arg("--envoy")
        .arg(envoy_binary())
        .arg("--module")
        .arg(module_path())
        .output()
        .expect("run python3 benches/soak/soak.py");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!(
        "{}",
        stdout
            .lines()
            .filter(|l| !l.contains(" s, "))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let summary = stdout
        .lines()
        .rfind(|l| l.starts_with("soak: requests="))
        .unwrap_or_else(|| panic!("no summary line:\n{stdout}\n{stderr}"));
    assert_eq!(figure(summary, "unexpected"), 0, "{stdout}");
    assert_eq!(figure(summary, "leaked_through"), 0, "{stdout}");
    assert_eq!(figure(summary, "failures"), 0, "{stdout}");
    assert!(figure(summary, "requests") >= 3_000, "{summary}");
    assert!(figure(summary, "leaked_calls") >= 1_000, "{summary}");
    assert!(figure(summary, "valid_pushes") >= 10, "{summary}");
    assert!(figure(summary, "invalid_pushes") >= 5, "{summary}");
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let csv = std::fs::read_to_string(out.join("soak.csv")).unwrap();
    assert!(csv.lines().count() >= 12, "{csv}");
    assert!(std::fs::read_to_string(out.join("soak.svg"))
        .unwrap()
        .contains("<polyline"));
}
