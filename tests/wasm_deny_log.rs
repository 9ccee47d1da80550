//! The deny log's bound in the release module: past `deny_log_lines_per_second` full lines in
//! a second, denies are counted in summary lines (by masked key, product, action, rule and
//! mode) written when the second is over, by the next deny or by the root's tick; full lines
//! plus summarised counts equal the deny counters, in enforce and in shadow mode.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;
mod harness;

use common::LEAKED;
use harness::{LogLevel, Request, Vm};

const SECOND: u64 = 1_000_000_000;

fn call(action: &str) -> Request {
    Request::get(
        "ecs.cn-hangzhou.aliyuncs.com",
        format!("/?Action={action}&AccessKeyId={LEAKED}"),
    )
}

/// Denies the warning lines account for: one a full line, `count=N` a summary line.
fn accounted(lines: &[String], event: &str) -> (u64, u64) {
    let full = lines
        .iter()
        .filter(|l| l.starts_with(&format!("akguard {event}: ")))
        .count() as u64;
    let summarised = lines
        .iter()
        .filter(|l| l.starts_with("akguard deny-summary: "))
        .map(|l| {
            let count = l.split(' ').find_map(|w| w.strip_prefix("count="));
            count.expect("a count").parse::<u64>().expect("a number")
        })
        .sum();
    (full, summarised)
}

fn flood(mode: &str, counter: &str, event: &str) {
    let mut vm = Vm::new();
    let config = format!(
        r#"{{"leaked_keys": ["{LEAKED}"], "deny_log_lines_per_second": 3, "mode": "{mode}"}}"#
    );
    let plugin = vm.start_plugin(&config);
    assert!(plugin.configured, "{:?}", vm.log_lines());
    let root = plugin.root_id;
    vm.clear_logs();
    // Two seconds of 40 denies each, of two actions.
    for second in 0..2 {
        for i in 0..40 {
            let action = if i % 2 == 0 {
                "RunInstances"
            } else {
                "DeleteInstance"
            };
            vm.send(root, &call(action));
        }
        let warns = vm.logs(LogLevel::Warn);
        let (full, _) = accounted(&warns, event);
        assert_eq!(full, 3 * (second + 1), "{warns:#?}");
        vm.state_mut().now_nanos += SECOND;
    }
    // The tick writes the last second's summary although no deny follows.
    vm.tick(root);
    let warns = vm.logs(LogLevel::Warn);
    let summaries: Vec<&String> = warns
        .iter()
        .filter(|l| l.starts_with("akguard deny-summary: "))
        .collect();
    assert_eq!(summaries.len(), 4, "{warns:#?}");
    assert!(
        summaries[0].starts_with(&format!(
            "akguard deny-summary: key=LTAI****0001 product=ecs action=DeleteInstance rule=listed-action mode={mode} count=19 second="
        )),
        "{summaries:#?}"
    );
    let (full, summarised) = accounted(&warns, event);
    assert_eq!(full + summarised, 80);
    assert_eq!(vm.counter(counter), Some(80));
    // Nothing more to write: the next tick is silent.
    vm.state_mut().now_nanos += SECOND;
    vm.tick(root);
    assert_eq!(vm.logs(LogLevel::Warn).len(), warns.len());
    assert!(vm.unimplemented().is_empty(), "{:?}", vm.unimplemented());
}

#[test]
fn enforced_denies_past_the_allowance_are_summarised_and_all_accounted_for() {
    flood("enforce", "akguard.denied", "deny");
}

#[test]
fn shadow_denies_past_the_allowance_are_summarised_and_all_accounted_for() {
    flood("shadow", "akguard.shadow_denied", "shadow-deny");
}
