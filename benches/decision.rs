//! The decision for one request, per signature style, clean and leaked, through the same
//! calls the filter makes (`RequestCheck::start`, then body chunks; on a deny, the reply).
//! Sets of 1,000 keys (plain and `sha256:` mixed) and, for the V3 clean path, 1,000,000.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use akguard::core::check::{RequestCheck, Step};
use akguard::core::config::Policy;
use akguard::core::request::Header;
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::Duration;
use support::{CLEAN, LEAKED};

/// What the filter does with the headers (and body, when one follows); returns whether
/// the request was denied.
fn run(policy: &Policy, headers: &[Header], body: Option<&[u8]>) -> bool {
    let started = RequestCheck::start(policy, headers, body.is_none());
    let step = match (started.step, started.check, body) {
        (Step::ReadBody, Some(mut check), Some(body)) => check.body(policy, body, true),
        (step, _, _) => step,
    };
    match step {
        Step::Deny(denial) => {
            black_box(denial.reply("generated-request-id"));
            true
        }
        _ => false,
    }
}

fn bench_style(
    c: &mut Criterion,
    policy: &Policy,
    name: &str,
    headers: &[Header],
    body: Option<&[u8]>,
    denied: bool,
) {
    assert_eq!(run(policy, headers, body), denied, "{name}");
    c.bench_function(name, |b| {
        b.iter(|| run(black_box(policy), black_box(headers), black_box(body)))
    });
}

/// A bench case: name, headers, form body if any, denied or not.
type Case = (&'static str, Vec<Header>, Option<Vec<u8>>, bool);

fn decisions(c: &mut Criterion) {
    let small = support::policy(&support::json_config(0, 1_000, 2));
    let cases: Vec<Case> = vec![
        (
            "rpc_query/clean",
            support::rpc_query(CLEAN, "RunInstances"),
            None,
            false,
        ),
        (
            "rpc_query/leaked",
            support::rpc_query(LEAKED, "RunInstances"),
            None,
            true,
        ),
        (
            "v3_header/clean",
            support::v3_header(CLEAN, "RunInstances"),
            None,
            false,
        ),
        (
            "v3_header/leaked",
            support::v3_header(LEAKED, "RunInstances"),
            None,
            true,
        ),
        (
            "form_body/clean",
            support::form_head(),
            Some(support::form_body(CLEAN, "RunInstances")),
            false,
        ),
        (
            "form_body/leaked",
            support::form_head(),
            Some(support::form_body(LEAKED, "RunInstances")),
            true,
        ),
        (
            "roa/clean",
            support::roa(CLEAN, "CreateCommand"),
            None,
            false,
        ),
        (
            "roa/leaked",
            support::roa(LEAKED, "CreateCommand"),
            None,
            true,
        ),
        (
            "sts/clean",
            support::sts(CLEAN, "RunInstances"),
            None,
            false,
        ),
        (
            "sts/leaked",
            support::sts(LEAKED, "RunInstances"),
            None,
            true,
        ),
    ];
    for (name, headers, body, denied) in &cases {
        bench_style(c, &small, name, headers, body.as_deref(), *denied);
    }
    let plain_1m = support::policy(&support::json_config(0, 1_000_000, 0));
    let headers = support::v3_header(CLEAN, "RunInstances");
    bench_style(
        c,
        &plain_1m,
        "v3_header/clean/1M-plain",
        &headers,
        None,
        false,
    );
    let mixed_1m = support::policy(&support::json_config(0, 1_000_000, 2));
    bench_style(
        c,
        &mixed_1m,
        "v3_header/clean/1M-mixed",
        &headers,
        None,
        false,
    );
    let headers = support::v3_header(LEAKED, "RunInstances");
    bench_style(
        c,
        &mixed_1m,
        "v3_header/leaked/1M-mixed",
        &headers,
        None,
        true,
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    targets = decisions
}
criterion_main!(benches);
