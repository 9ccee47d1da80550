//! `akguard keys`: builds a complete configuration from a plain key list, checked by the
//! filter's own validation before it is printed.

use super::key_list;
use super::{CliResult, EXIT_FAILED, EXIT_OK};
use akguard::core::{config, packed};
use clap::ValueEnum;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

/// `mode` of the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Enforce,
    Shadow,
}

/// How the leaked keys are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    /// The IDs as given, in `leaked_keys`.
    Plain,
    /// `sha256:<hex>` entries, in `leaked_keys`.
    Sha256,
    /// `leaked_keys_packed` blocks (see `core::packed`).
    Packed,
}

/// Build a configuration from a plain AccessKey ID list
#[derive(clap::Args)]
#[command(
    long_about = "Read AccessKey IDs, one a line (blank lines and # comments skipped), and print a complete akguard \
configuration (JSON) holding them, sorted and without duplicates: as `sha256:` entries with --hash, so the IDs \
themselves need not leave the security team. The output is checked with the filter's own validation before it is \
printed; a malformed ID is reported with its line number and the exit code is 1.",
    after_help = "Example:\n  akguard keys --hash --mode shadow leaked.txt > akguard.json"
)]
pub struct Args {
    /// File of AccessKey IDs; stdin when absent or "-"
    pub file: Option<PathBuf>,
    /// Write `sha256:` entries instead of the IDs
    #[arg(long, conflicts_with = "packed")]
    pub hash: bool,
    /// Write `leaked_keys_packed` (8 bytes of SHA-256 a key, base64, in blocks of 6,144 keys)
    /// instead of `leaked_keys`: for very large sets; the IDs do not appear in it
    #[arg(long)]
    pub packed: bool,
    /// `mode`: enforce denies, shadow only logs and counts
    #[arg(long, value_enum, default_value_t = ModeArg::Enforce)]
    pub mode: ModeArg,
    /// Set `deny_all_calls`: deny every call made with a leaked key
    #[arg(long)]
    pub deny_all_calls: bool,
    /// Set `hold_headers` (needs allow_on_headers_stop_iteration: true in Envoy)
    #[arg(long)]
    pub hold_headers: bool,
    /// Set `max_body_bytes`
    #[arg(long, value_name = "BYTES")]
    pub max_body_bytes: Option<u64>,
}

fn write_keys(
    out: &mut String,
    entries: &BTreeSet<String>,
    encoding: Encoding,
) -> Result<(), String> {
    match encoding {
        Encoding::Packed => {
            let blocks = packed::encode_entries_in_blocks(entries.iter().map(String::as_str))
                .map_err(|e| e.to_string())?;
            out.push_str("  \"leaked_keys_packed\": [");
            for (i, block) in blocks.iter().enumerate() {
                out.push_str(if i == 0 { "\n    \"" } else { "\",\n    \"" });
                out.push_str(block);
            }
            out.push_str(if blocks.is_empty() { "]" } else { "\"\n  ]" });
        }
        Encoding::Plain | Encoding::Sha256 => {
            out.push_str("  \"leaked_keys\": [");
            for (i, entry) in entries.iter().enumerate() {
                out.push_str(if i == 0 { "\n    " } else { ",\n    " });
                out.push_str(&serde_json::Value::from(entry.as_str()).to_string());
            }
            out.push_str(if entries.is_empty() { "]" } else { "\n  ]" });
        }
    }
    Ok(())
}

/// The configuration text.
fn configuration(
    args: &Args,
    entries: &BTreeSet<String>,
    encoding: Encoding,
) -> Result<String, String> {
    let mut out = String::from("{\n");
    write_keys(&mut out, entries, encoding)?;
    let mode = match args.mode {
        ModeArg::Enforce => "enforce",
        ModeArg::Shadow => "shadow",
    };
    out.push_str(&format!(",\n  \"mode\": \"{mode}\""));
    if args.deny_all_calls {
        out.push_str(",\n  \"deny_all_calls\": true");
    }
    if args.hold_headers {
        out.push_str(",\n  \"hold_headers\": true");
    }
    if let Some(bytes) = args.max_body_bytes {
        out.push_str(&format!(",\n  \"max_body_bytes\": {bytes}"));
    }
    out.push_str("\n}\n");
    Ok(out)
}

pub fn run(args: &Args) -> CliResult {
    let path = args.file.clone().unwrap_or_else(|| PathBuf::from("-"));
    let Some(entries) = key_list::read_checked(&path)? else {
        return Ok(EXIT_FAILED);
    };
    let encoding = if args.packed {
        Encoding::Packed
    } else if args.hash {
        Encoding::Sha256
    } else {
        Encoding::Plain
    };
    let entries: BTreeSet<String> = entries
        .into_iter()
        .map(|e| match encoding {
            Encoding::Sha256 => key_list::hashed(&e.text),
            Encoding::Plain | Encoding::Packed => e.text,
        })
        .collect();
    let text = match configuration(args, &entries, encoding) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("akguard: the keys cannot be packed: {error}");
            return Ok(EXIT_FAILED);
        }
    };
    if let Err(error) = config::load(text.as_bytes()) {
        eprintln!("akguard: the built configuration is rejected: {error}");
        return Ok(EXIT_FAILED);
    }
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(EXIT_OK)
}
