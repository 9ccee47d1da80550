//! Produces `leaked_keys_packed` from `leaked_keys`-style entries (plain AccessKey IDs or
//! `sha256:<64 lowercase hex>`), one per line on standard input; blank lines are skipped.
//!
//! `cargo run --release --example pack-keys < leaked.txt` prints the blocks (6,144 keys
//! each), one a line; with `--json` it prints `{"leaked_keys_packed": ["…", …]}`.

use akguard::core::packed;
use std::io::{self, BufRead, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let json = std::env::args().skip(1).any(|a| a == "--json");
    let mut lines = Vec::new();
    for line in io::stdin().lock().lines() {
        match line {
            Ok(line) => lines.push(line),
            Err(e) => {
                eprintln!("pack-keys: reading standard input: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let entries: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    let blocks = match packed::encode_entries_in_blocks(entries.iter().copied()) {
        Ok(blocks) => blocks,
        Err(e) => {
            let line = entries.get(e.index).copied().unwrap_or_default();
            eprintln!("pack-keys: entry {} ({line:?}): {}", e.index + 1, e.problem);
            return ExitCode::FAILURE;
        }
    };
    let out = if json {
        let quoted: Vec<String> = blocks.iter().map(|b| format!("\"{b}\"")).collect();
        format!("{{\"leaked_keys_packed\": [{}]}}\n", quoted.join(", "))
    } else {
        blocks.iter().map(|b| format!("{b}\n")).collect()
    };
    if io::stdout().lock().write_all(out.as_bytes()).is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
