//! `akguard hash`: turns plain AccessKey IDs into `sha256:` entries, so a key set can be
//! handed on without the IDs themselves.

use super::key_list;
use super::{CliResult, EXIT_FAILED, EXIT_OK};
use std::io::Write;
use std::path::PathBuf;

/// Print the sha256: entry of each AccessKey ID (one a line)
#[derive(clap::Args)]
#[command(
    long_about = "Read AccessKey IDs, one a line (blank lines and lines starting with # are skipped), and print \
the `sha256:<hex>` entry of each, in order, for `leaked_keys`. An entry that is already `sha256:` is kept. \
Any malformed ID is reported with its line number on stderr, nothing is printed, and the exit code is 1.",
    after_help = "Example:\n  akguard hash leaked.txt > leaked.sha256\n  printf 'LTAI5tExampleKey00000001\\n' | akguard hash"
)]
pub struct Args {
    /// File of AccessKey IDs; stdin when absent or "-"
    pub file: Option<PathBuf>,
}

pub fn run(args: &Args) -> CliResult {
    let path = args.file.clone().unwrap_or_else(|| PathBuf::from("-"));
    let Some(entries) = key_list::read_checked(&path)? else {
        return Ok(EXIT_FAILED);
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for entry in &entries {
        writeln!(out, "{}", key_list::hashed(&entry.text))?;
    }
    out.flush()?;
    Ok(EXIT_OK)
}
