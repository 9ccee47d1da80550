//! Configuration parsing at 1k, 100k and 1M keys: plain IDs, plain and `sha256:` entries
//! mixed half and half, and the same keys as a `leaked_keys_packed` block; and encoding
//! such a block.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use akguard::core::config;
use akguard::core::packed;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

const SIZES: [usize; 3] = [1_000, 100_000, 1_000_000];

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("config_load");
    for n in SIZES {
        let variants = [
            ("plain", support::json_config(0, n, 0)),
            ("mixed", support::json_config(0, n, 2)),
            ("packed", support::packed_config(0, n)),
        ];
        for (kind, text) in &variants {
            let loaded = config::load(text.as_bytes()).unwrap();
            assert_eq!(loaded.policy.keys.len(), n, "{kind} {n}");
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(BenchmarkId::new(*kind, n), text, |b, text| {
                b.iter(|| config::load(black_box(text.as_bytes())).unwrap())
            });
        }
    }
    group.finish();
}

fn encoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("packed_encode");
    for n in [1_000, 100_000] {
        let entries = support::entries(0, n, 2);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &entries, |b, entries| {
            b.iter(|| packed::encode_entries(entries.iter().map(String::as_str)).unwrap())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(10);
    targets = parsing, encoding
}
criterion_main!(benches);
