//! `akguard feed`: makes a signing key, signs a key list into a feed document (see
//! `core::feed`), and checks a document as the filter would.

use super::config_source::{input_name, read_input};
use super::key_list;
use super::{CliResult, EXIT_FAILED, EXIT_OK};
use akguard::core::feed::{self, FeedHeader, KEY_BYTES};
use akguard::core::packed;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Sign leaked-key feeds for `key_feed`
#[derive(clap::Args)]
#[command(
    long_about = "Make an Ed25519 signing key (keygen), sign a plain AccessKey ID list into a feed document \
for the filter's `key_feed` source (sign), or check a document against a public key as the filter does (verify).",
    after_help = "Example:\n  akguard feed keygen feed.secret > feed.pub\n  akguard feed sign --key feed.secret leaked.txt > feed.txt\n  akguard feed verify --public-key \"$(cat feed.pub)\" feed.txt"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: FeedCommand,
}

#[derive(clap::Subcommand)]
pub enum FeedCommand {
    /// Write a new signing key (base64 seed) to FILE and print its public key
    Keygen {
        /// Where the secret goes; an existing file is not overwritten
        file: PathBuf,
    },
    /// Sign a key list (one ID or sha256: entry a line) into a feed document
    Sign {
        /// The signing key written by `keygen`
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The version: greater than every version published before (default: now, in
        /// Unix milliseconds)
        #[arg(long)]
        version: Option<u64>,
        /// The publication time in Unix seconds (default: now)
        #[arg(long)]
        published: Option<u64>,
        /// File of AccessKey IDs; stdin when absent or "-"
        file: Option<PathBuf>,
    },
    /// Check a feed document's signature and keys; print its version, time and size
    Verify {
        /// The public key printed by `keygen` (base64)
        #[arg(long, value_name = "BASE64")]
        public_key: String,
        /// The document; stdin when absent or "-"
        file: Option<PathBuf>,
    },
}

fn now() -> std::time::Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// The secret seed of a key file.
fn read_seed(path: &Path) -> Result<[u8; KEY_BYTES], String> {
    let bytes = read_input(path)?;
    let text = String::from_utf8_lossy(&bytes);
    let seed = packed::decode_bytes(text.trim()).ok_or_else(|| {
        format!(
            "{}: not a key written by akguard feed keygen",
            input_name(path)
        )
    })?;
    seed.try_into()
        .map_err(|_| format!("{}: not a 32-byte key", input_name(path)))
}

fn keygen(file: &Path) -> CliResult {
    let mut seed = [0u8; KEY_BYTES];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut seed))
        .map_err(|e| format!("reading /dev/urandom: {e}"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options
        .open(file)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    writeln!(out, "{}", packed::base64(&seed)).map_err(|e| format!("{}: {e}", file.display()))?;
    println!("{}", feed::key_text(&feed::public_key_of(&seed)));
    Ok(EXIT_OK)
}

fn sign(key: &Path, version: Option<u64>, published: Option<u64>, file: &Path) -> CliResult {
    let seed = read_seed(key)?;
    let Some(entries) = key_list::read_checked(file)? else {
        return Ok(EXIT_FAILED);
    };
    let blocks = match packed::encode_entries_in_blocks(entries.iter().map(|e| e.text.as_str())) {
        Ok(blocks) => blocks,
        Err(error) => {
            eprintln!("akguard: the keys cannot be packed: {error}");
            return Ok(EXIT_FAILED);
        }
    };
    let now = now();
    let header = FeedHeader {
        version: version.unwrap_or(now.as_millis() as u64),
        published: published.unwrap_or(now.as_secs()),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(feed::sign(header, &blocks, &seed).as_bytes())?;
    out.flush()?;
    Ok(EXIT_OK)
}

fn verify(public_key: &str, file: &Path) -> CliResult {
    let public_key = feed::public_key(public_key).map_err(|e| format!("--public-key: {e}"))?;
    let document = read_input(file)?;
    match feed::read(&document, &public_key, None) {
        Ok(fed) => {
            println!(
                "version={} published={} keys={}",
                fed.header.version, fed.header.published, fed.entries
            );
            Ok(EXIT_OK)
        }
        Err(problem) => {
            eprintln!("{}: {problem}", input_name(file));
            Ok(EXIT_FAILED)
        }
    }
}

pub fn run(args: &Args) -> CliResult {
    let stdin = PathBuf::from("-");
    match &args.command {
        FeedCommand::Keygen { file } => keygen(file),
        FeedCommand::Sign {
            key,
            version,
            published,
            file,
        } => sign(key, *version, *published, file.as_ref().unwrap_or(&stdin)),
        FeedCommand::Verify { public_key, file } => {
            verify(public_key, file.as_ref().unwrap_or(&stdin))
        }
    }
}
