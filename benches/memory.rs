//! Memory of the leaked-key set: heap held by the policy after loading 1,000,000 keys, the
//! peak while loading, and both again over ten re-configurations with sets of the same size,
//! the previous policy staying alive while the next one loads, as in the filter. The
//! configuration text is not counted: the filter reads it from the host a slice at a time,
//! so it is never whole in the VM.
//!
//! A counting global allocator gives live and peak bytes. Run: `cargo bench --bench memory`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use akguard::core::config::{self, Policy};
use std::time::Instant;
use support::counting::{self, live, Counting};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MB: f64 = 1_000_000.0;
const KEYS: usize = 1_000_000;

/// Loads `text` the way the filter does, through a reader; returns the policy, the load
/// time, and the peak live heap during the load, without the text.
fn load(text: &str) -> (Policy, f64, usize) {
    counting::reset_peak();
    let start = Instant::now();
    let policy = config::load_from(text.as_bytes(), text.len())
        .unwrap()
        .policy;
    let seconds = start.elapsed().as_secs_f64();
    (policy, seconds, counting::peak() - text.len())
}

/// The text in a block of its own size, as the host hands it to the filter.
fn exact(mut text: String) -> String {
    text.shrink_to_fit();
    text
}

fn measure(kind: &str, make: &dyn Fn(usize) -> String) {
    let base = live();
    let text = exact(make(0));
    let (mut policy, seconds, peak) = load(&text);
    let text_bytes = text.len();
    drop(text);
    assert_eq!(policy.keys.len(), KEYS);
    println!(
        "| {kind} | {:.1} | {:.2} | {:.1} | {:.1} | {:.2} |",
        text_bytes as f64 / MB,
        policy.keys.table_bytes() as f64 / MB,
        (live() - base) as f64 / MB,
        (peak - base) as f64 / MB,
        seconds
    );
    let mut retained = Vec::new();
    let mut peaks = Vec::new();
    for set in 1..=10 {
        let text = exact(make(set));
        let (next, _, peak) = load(&text);
        drop(text);
        policy = next;
        retained.push((live() - base) as f64 / MB);
        peaks.push((peak - base) as f64 / MB);
    }
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!(
        "|   ↳ 10 re-configurations | | | {} | {} | |",
        fmt(&retained),
        fmt(&peaks)
    );
    drop(policy);
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    println!("1,000,000 keys; MB = 10^6 bytes; heap counted by a global allocator\n");
    println!("| configuration | text MB | key tables MB | held after load MB | peak during load MB | load s |");
    println!("|---|---|---|---|---|---|");
    measure("leaked_keys, plain IDs", &|set| {
        support::json_config(set, KEYS, 0)
    });
    measure("leaked_keys, plain + sha256 half and half", &|set| {
        support::json_config(set, KEYS, 2)
    });
    measure("leaked_keys_packed, one block", &|set| {
        support::packed_config(set, KEYS)
    });
    measure("leaked_keys_packed, array of blocks", &|set| {
        support::packed_blocks_config(set, KEYS)
    });
}
