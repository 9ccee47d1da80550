//! Replays the fuzz targets' committed corpora (`fuzz/seeds/<target>/`: the suite's requests,
//! bodies and configurations, and the inputs fuzzing found) through the properties the
//! targets check, so every `cargo test` keeps what fuzzing established.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod evasion;

use evasion::properties::{check_config, check_form, check_request};
use std::path::Path;

fn replay(target: &str, property: fn(&[u8]) -> Result<(), String>) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut failures = Vec::new();
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if let Err(problem) = property(&std::fs::read(&path).unwrap()) {
            failures.push(format!("{}: {problem}", path.display()));
        }
        count += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    count
}

#[test]
fn request_extractor_corpus_keeps_its_properties() {
    assert!(replay("request_extractor", check_request) >= 300);
}

#[test]
fn form_scanner_corpus_keeps_its_properties() {
    assert!(replay("form_scanner", check_form) >= 300);
}

#[test]
fn config_parser_corpus_keeps_its_properties() {
    assert!(replay("config_parser", check_config) >= 300);
}
