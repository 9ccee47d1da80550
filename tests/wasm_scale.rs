//! A million leaked keys in the release module: the configuration is read from the host in
//! slices (never whole), and the VM's linear memory stays within 16 MiB through the first
//! load and through re-configurations (each new set loaded while the previous one still
//! serves), for `leaked_keys_packed` and for a JSON array of plain IDs; every set protects
//! what it lists. The memory figures are printed (`-- --nocapture`).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;
mod harness;

use akguard::core::packed::{encode_blocks, entry_of_key, PackedEntry};
use common::{CLEAN, LEAKED};
use harness::{LogLevel, Request, Vm};

const MILLION: usize = 1_000_000;
/// The linear memory a VM may take with a million keys.
const MEMORY_LIMIT: usize = 16 << 20;
/// Most the linear memory may move by from the first re-configuration to the last of ten.
const GROWTH_LIMIT: usize = 256 << 10;
/// Largest read of the configuration the filter may make.
const SLICE_LIMIT: usize = 64 << 10;

/// `n` distinct pseudo-random entries from `seed`, plus the entry of `key`.
fn entries(seed: u64, n: usize, key: &str) -> Vec<PackedEntry> {
    let mut state = seed;
    let mut out: Vec<PackedEntry> = (0..n - 1)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)).to_be_bytes()
        })
        .collect();
    out.push(entry_of_key(key.as_bytes()));
    out
}

fn packed_config(seed: u64, key: &str) -> String {
    let blocks = encode_blocks(entries(seed, MILLION, key));
    format!(
        r#"{{"leaked_keys_packed": {}}}"#,
        serde_json::to_string(&blocks).unwrap()
    )
}

fn listed_call(key: &str) -> Request {
    Request::new("POST", "ecs.cn-hangzhou.aliyuncs.com", "/")
        .header("x-acs-accesskey-id", key)
        .header("x-acs-action", "RunInstances")
}

fn status(vm: &mut Vm, root: u32, key: &str) -> u32 {
    let id = vm.send(root, &listed_call(key));
    let stream = vm.stream(id);
    match &stream.local_response {
        Some(reply) => reply.status,
        None if stream.passed() => 200,
        None => panic!("stuck: {:?}", stream.callbacks),
    }
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// Starts a plugin with `config`; checks that it was accepted with `keys` keys and read in
/// slices covering the text once; gives the root id.
fn configure(vm: &mut Vm, config: &str, keys: usize) -> u32 {
    vm.state_mut().plugin_configuration_reads.clear();
    let plugin = vm.start_plugin(config);
    assert!(plugin.configured, "{:?}", vm.logs(LogLevel::Error));
    assert_eq!(vm.gauge("akguard.keys_loaded"), Some(keys as i64));
    let reads = &vm.state().plugin_configuration_reads;
    let mut next = 0;
    for (start, got) in reads {
        assert_eq!(*start, next, "reads in order, each once");
        assert!(*got > 0 && *got <= SLICE_LIMIT, "a read of {got} bytes");
        next += got;
    }
    assert_eq!(next, config.len(), "the whole text is read");
    println!(
        "configuration {:.1} MiB read in {} slices; linear memory {:.2} MiB",
        mib(config.len()),
        reads.len(),
        mib(vm.memory_bytes())
    );
    plugin.root_id
}

#[test]
fn a_million_packed_keys_fit_in_16_mib_through_ten_reconfigurations() {
    let mut vm = Vm::new();
    let empty = mib(vm.memory_bytes());
    let mut root = configure(&mut vm, &packed_config(1, LEAKED), MILLION);
    assert_eq!(status(&mut vm, root, LEAKED), 403);
    assert_eq!(status(&mut vm, root, CLEAN), 200);
    let first = vm.memory_bytes();
    let mut sizes = Vec::new();
    for push in 0..10u64 {
        // A new set each time, holding a new leaked key; the previous plugin serves until
        // the new one is configured, as in Envoy.
        let key = format!("LTAI5tPushedKey{push:09}");
        let next = configure(&mut vm, &packed_config(push + 2, &key), MILLION);
        vm.stop_plugin(root);
        root = next;
        assert_eq!(status(&mut vm, root, &key), 403, "push {push}");
        assert_eq!(status(&mut vm, root, LEAKED), 200, "push {push}");
        sizes.push(vm.memory_bytes());
    }
    println!(
        "linear memory: {empty:.2} MiB empty, {:.2} MiB with 1,000,000 packed keys, {:?} MiB after each of 10 re-configurations",
        mib(first),
        sizes.iter().map(|s| (mib(*s) * 100.0).round() / 100.0).collect::<Vec<_>>()
    );
    let peak = sizes.iter().copied().max().unwrap_or(first).max(first);
    assert!(
        peak <= MEMORY_LIMIT,
        "linear memory {:.2} MiB over {:.0} MiB",
        mib(peak),
        mib(MEMORY_LIMIT)
    );
    // The allocator settles after a few rounds; from then on nothing grows.
    let spread = peak - sizes[0];
    assert!(
        spread <= GROWTH_LIMIT,
        "linear memory grows by {spread} bytes over ten re-configurations: {sizes:?}"
    );
    assert_eq!(
        sizes[5], sizes[9],
        "linear memory still grows over the last five re-configurations: {sizes:?}"
    );
    assert!(vm.unimplemented().is_empty(), "{:?}", vm.unimplemented());
}

/// A million plain IDs of today's length (24 characters).
fn plain_config(set: &str, leaked: &str) -> String {
    let keys: Vec<String> = (0..MILLION - 1)
        .map(|i| format!("LTAI5t{set}{i:016}"))
        .chain([leaked.to_string()])
        .collect();
    format!(
        r#"{{"leaked_keys": {}}}"#,
        serde_json::to_string(&keys).unwrap()
    )
}

#[test]
fn a_million_plain_keys_fit_in_16_mib_through_ten_reconfigurations() {
    let config = plain_config("Ab", LEAKED);
    let mut vm = Vm::new();
    let root = configure(&mut vm, &config, MILLION);
    assert_eq!(status(&mut vm, root, LEAKED), 403);
    assert_eq!(status(&mut vm, root, "LTAI5tAb0000000000123456"), 403);
    assert_eq!(status(&mut vm, root, CLEAN), 200);
    let loaded = vm.memory_bytes();
    let mut sizes = Vec::new();
    let mut root = root;
    let sets = [
        ("Cd", CLEAN),
        ("Ef", LEAKED),
        ("Gh", CLEAN),
        ("Ij", LEAKED),
        ("Kl", CLEAN),
        ("Mn", LEAKED),
        ("Op", CLEAN),
        ("Qr", LEAKED),
        ("St", CLEAN),
        ("Uv", LEAKED),
    ];
    for (set, key) in sets {
        let next = configure(&mut vm, &plain_config(set, key), MILLION);
        vm.stop_plugin(root);
        root = next;
        let other = if key == CLEAN { LEAKED } else { CLEAN };
        assert_eq!(status(&mut vm, root, key), 403);
        assert_eq!(
            status(&mut vm, root, &format!("LTAI5t{set}0000000000123456")),
            403
        );
        assert_eq!(status(&mut vm, root, other), 200);
        sizes.push((mib(vm.memory_bytes()) * 100.0).round() / 100.0);
    }
    println!(
        "linear memory with 1,000,000 plain keys ({:.1} MiB of JSON): {:.2} MiB; {sizes:?} MiB after each of ten re-configurations",
        mib(config.len()),
        mib(loaded),
    );
    let peak = sizes.iter().copied().fold(mib(loaded), f64::max);
    assert!(
        peak <= mib(MEMORY_LIMIT),
        "linear memory {peak:.2} MiB over {:.0} MiB",
        mib(MEMORY_LIMIT)
    );
    // As for packed keys: the allocator settles after a few rounds, then nothing grows.
    assert!(
        peak - sizes[0] <= mib(GROWTH_LIMIT),
        "linear memory grows by {:.2} MiB over ten re-configurations: {sizes:?}",
        peak - sizes[0]
    );
    assert!(
        sizes[5..].iter().all(|s| *s == sizes[5]),
        "linear memory still grows over the last five re-configurations: {sizes:?}"
    );
}
