//! Hostile inputs through the policy core, side by side with plain requests of the same size:
//! every generator of `tests/hostile/` at 256 KiB and 1 MiB (bodies) and 60 KiB (headers),
//! each request checked as the filter checks it (the headers, then the body in 64 KiB chunks).
//!
//! First a table: rounds alternate over all the requests (the best of three runs a request
//! per round, the median over the rounds), with each request's time per MiB, its ratio to
//! the plain request of its size, and the most heap the check held at once beyond what was
//! live before it (a counting allocator: the check's state and its passing copies, not the
//! request itself). Then criterion on the 1 MiB bodies. The key in the query is
//! clean, so every body is read to its end; `HOSTILE_KEY=leaked` puts the leaked key there
//! (with a harmless action) instead. `HOSTILE_ROUNDS` sets the rounds (default 5);
//! `HOSTILE_TRIES` the runs a round (default 3); `HOSTILE_TABLE_ONLY=1` skips criterion; `HOSTILE_ONLY=<name>` keeps only that request and
//! the plain form at 1 MiB (for a profiler).
//!
//! Run: `cargo bench --bench hostile`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "../tests/hostile/mod.rs"]
mod hostile;
mod support;

use akguard::core::check::{RequestCheck, Step};
use akguard::core::config::{self, Policy};
use criterion::{Criterion, Throughput};
use hostile::{Hostile, CLEAN, CONFIG, LEAKED, MIB};
use std::hint::black_box;
use std::time::{Duration, Instant};
use support::counting::{self, Counting};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most heap live at once while the request is checked, beyond what was live before.
fn peak_heap(policy: &Policy, row: &Row) -> usize {
    let base = counting::live();
    counting::reset_peak();
    black_box(check(policy, &row.headers, &row.body));
    counting::peak() - base
}

const CHUNK: usize = 64 * 1024;

/// The request's verdict, as the filter reaches it.
fn check(policy: &Policy, headers: &[(String, Vec<u8>)], body: &[u8]) -> bool {
    let started = RequestCheck::start(policy, headers, body.is_empty());
    let (Step::ReadBody, Some(mut check)) = (&started.step, started.check) else {
        return matches!(started.step, Step::Deny(_));
    };
    let chunks: Vec<&[u8]> = body.chunks(CHUNK).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        match check.body(policy, chunk, i + 1 == chunks.len()) {
            Step::ReadBody => continue,
            step => return matches!(step, Step::Deny(_)),
        }
    }
    false
}

/// One request of the table: its name, size label, headers, body, and the index of its
/// plain counterpart.
struct Row {
    name: &'static str,
    size: &'static str,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    bytes: usize,
    plain: usize,
}

fn rows(key: &str, action: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut add = |size: &'static str, plain: Hostile, cases: Vec<Hostile>, bytes: usize| {
        let plain_index = rows.len();
        for case in std::iter::once(plain).chain(cases) {
            rows.push(Row {
                name: case.name,
                size,
                headers: case.header_pairs(Some(key), action),
                body: case.body,
                bytes,
                plain: plain_index,
            });
        }
    };
    add(
        "256 KiB",
        hostile::plain_form(MIB / 4),
        hostile::bodies(MIB / 4),
        MIB / 4,
    );
    add(
        "1 MiB",
        hostile::plain_form(MIB),
        std::iter::once(hostile::plain_large_value(MIB))
            .chain(hostile::bodies(MIB))
            .collect(),
        MIB,
    );
    add(
        "60 KiB",
        hostile::plain_header(60 * 1024),
        hostile::headers(60 * 1024),
        60 * 1024,
    );
    rows
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn table(policy: &Policy, rows: &[Row]) {
    let rounds = env_number("HOSTILE_ROUNDS", 5).max(1);
    let tries = env_number("HOSTILE_TRIES", 3).max(1);
    let heap: Vec<usize> = rows.iter().map(|row| peak_heap(policy, row)).collect();
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); rows.len()];
    for _ in 0..rounds {
        for (row, samples) in rows.iter().zip(&mut times) {
            let best = (0..tries)
                .map(|_| {
                    let start = Instant::now();
                    black_box(check(policy, black_box(&row.headers), black_box(&row.body)));
                    start.elapsed()
                })
                .min()
                .unwrap();
            samples.push(best);
        }
    }
    let median = |samples: &[Duration]| {
        let mut sorted = samples.to_vec();
        sorted.sort();
        sorted[sorted.len() / 2]
    };
    let medians: Vec<Duration> = times.iter().map(|t| median(t)).collect();
    println!("\nhostile inputs, median of {rounds} alternating rounds (best of {tries} each):");
    println!(
        "{:<9} {:<24} {:>11} {:>10} {:>8} {:>12}",
        "size", "request", "time", "ms per MiB", "× plain", "peak heap"
    );
    for ((row, time), heap) in rows.iter().zip(&medians).zip(&heap) {
        let per_mib = time.as_secs_f64() * 1e3 * MIB as f64 / row.bytes as f64;
        let ratio = time.as_secs_f64() / medians[row.plain].as_secs_f64();
        println!(
            "{:<9} {:<24} {:>8.0} µs {:>10.2} {:>8.2} {:>8} KiB",
            row.size,
            row.name,
            time.as_secs_f64() * 1e6,
            per_mib,
            ratio,
            heap.div_ceil(1024)
        );
    }
}

fn main() {
    let policy = config::load(CONFIG.as_bytes()).unwrap().policy;
    let leaked = std::env::var("HOSTILE_KEY").is_ok_and(|v| v == "leaked");
    let (key, action) = if leaked {
        (LEAKED, "DescribeRegions")
    } else {
        (CLEAN, "RunInstances")
    };
    let mut rows = rows(key, action);
    if let Ok(only) = std::env::var("HOSTILE_ONLY") {
        // The 1 MiB plain form and the named request at 1 MiB.
        rows.retain(|r| r.size == "1 MiB" && (r.name == "plain-form" || r.name == only));
        for row in &mut rows {
            row.plain = 0;
        }
    }
    table(&policy, &rows);
    if std::env::var("HOSTILE_TABLE_ONLY").is_ok_and(|v| v == "1") {
        return;
    }
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    let mut group = criterion.benchmark_group("hostile-1MiB");
    for row in rows.iter().filter(|r| r.size == "1 MiB") {
        group.throughput(Throughput::Bytes(row.bytes as u64));
        group.bench_function(row.name, |b| {
            b.iter(|| check(&policy, black_box(&row.headers), black_box(&row.body)))
        });
    }
    group.finish();
    criterion.final_summary();
}
