//! Writes the seed corpora under `fuzz/seeds/<target>/` from the evasion suite's cases:
//! every case's wire request (both variants), every query string and body (with a leading
//! chunking byte), and every configuration the suite uses plus hand-made ones.
//! Run: `cargo run --manifest-path fuzz/Cargo.toml --bin write_seeds`.

use akguard_fuzz::evasion::{load_cases_from, Variant, DEFAULT_CONFIG};
use akguard_fuzz::wire;
use std::collections::BTreeSet;
use std::path::Path;

fn write(dir: &Path, seeds: &BTreeSet<Vec<u8>>) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (i, seed) in seeds.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i:04}")), seed)?;
    }
    println!("{}: {} seeds", dir.display(), seeds.len());
    Ok(())
}

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cases = load_cases_from(&root.join("../tests/evasion"));
    let (mut requests, mut forms, mut configs) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    configs.insert(DEFAULT_CONFIG.as_bytes().to_vec());
    for case in &cases {
        if let Some(config) = &case.config {
            configs.insert(config.as_bytes().to_vec());
        }
        for variant in Variant::BOTH {
            let raw = case.wire(variant);
            if let Some(request) = wire::parse(&raw) {
                if let Some(q) = request.target.iter().position(|&b| b == b'?') {
                    let mut seed = vec![7];
                    seed.extend_from_slice(&request.target[q + 1..]);
                    forms.insert(seed);
                }
                if !request.body.is_empty() && request.body.len() < 8192 {
                    let mut seed = vec![13];
                    seed.extend_from_slice(&request.body);
                    forms.insert(seed);
                }
            }
            if raw.len() < 8192 {
                requests.insert(raw);
            }
        }
    }
    for extra in [
        "",
        "{}",
        r#"{"leaked_keys": []}"#,
        r#"{"leaked_keys": ["LTAI5tLeakedKey000000001"], "mode": "shadow", "deny_all_calls": true}"#,
        r#"{"extra_operations": [{"product": "ecs", "actions": ["DescribeRegions"]}]}"#,
        r#"{"endpoints": {"api.internal.example": "ecs", "*.rds.example": "rds"}}"#,
        r#"{"max_body_bytes": 1, "hold_headers": true}"#,
        r#"{"max_body_bytes": 67108864.0}"#,
        r#"{"leaked_keys": ["bad key"]}"#,
        r#"{"leaked_keys": ["sha256:00"], "unknown": 1}"#,
    ] {
        configs.insert(extra.as_bytes().to_vec());
    }
    let seeds = root.join("seeds");
    write(&seeds.join("request_extractor"), &requests)?;
    write(&seeds.join("form_scanner"), &forms)?;
    write(&seeds.join("config_parser"), &configs)?;
    Ok(())
}
