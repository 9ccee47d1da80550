//! The command line: subcommands, exit codes and error reporting.
//!
//! Exit codes: 0 success (a valid configuration, an allowed request); 1 failure (an invalid
//! configuration, malformed keys, unreadable input); 2 usage error; 3 the request is denied;
//! 4 the request would be denied but passes in shadow mode.

mod config_source;
mod curl;
mod deploy_form;
mod ecds;
mod envoy;
mod evidence;
mod explain;
mod feed;
mod hash;
mod host_routes;
mod http_request;
mod key_changes;
mod key_list;
mod keys;
mod list;
mod list_diff;
mod raw_http;
mod rule_choice;
mod shell_words;
mod validate;
mod wasm_plugin;

use clap::{Parser, Subcommand};
use std::io::Write;
use std::process::ExitCode;

/// Success: a valid configuration, an allowed request.
pub const EXIT_OK: u8 = 0;
/// Failure: an invalid configuration, malformed keys, unreadable input.
pub const EXIT_FAILED: u8 = 1;
/// A usage error (clap reports its own with the same code).
pub const EXIT_USAGE: u8 = 2;
/// The request is denied.
pub const EXIT_DENY: u8 = 3;
/// The request would be denied, but passes in shadow mode.
pub const EXIT_SHADOW_DENY: u8 = 4;

/// An error reported on stderr, ending the command with exit code 1.
#[derive(Debug)]
pub struct CliError(pub String);

impl From<String> for CliError {
    fn from(text: String) -> Self {
        CliError(text)
    }
}

impl From<&str> for CliError {
    fn from(text: &str) -> Self {
        CliError(text.to_string())
    }
}

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> Self {
        CliError(format!("writing output: {error}"))
    }
}

pub type CliResult = Result<u8, CliError>;

/// `--filter` names a filter of an `--envoy` file, and means nothing without one.
pub fn filter_needs_envoy(filter: Option<&String>, envoy: Option<&std::path::PathBuf>) -> bool {
    if filter.is_some() && envoy.is_none() {
        eprintln!("error: --filter NAME picks a filter of --envoy FILE, which is missing\n\nFor more information, try '--help'.");
        return false;
    }
    true
}

#[derive(Parser)]
#[command(
    name = "akguard",
    version,
    about = "Operator's tool for akguard, the Envoy filter that denies high-risk Alibaba Cloud API calls signed with leaked AccessKey IDs",
    after_help = "Exit codes: 0 valid / allowed, 1 invalid or failed, 2 usage error, 3 denied, 4 denied in shadow mode (passes)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Validate(validate::Args),
    Explain(explain::Args),
    Hash(hash::Args),
    Keys(keys::Args),
    Feed(feed::Args),
    List(list::Args),
}

/// Runs the tool and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Hash(args) => hash::run(&args),
        Command::Keys(args) => keys::run(&args),
        Command::Feed(args) => feed::run(&args),
        Command::List(args) => list::run(&args),
    };
    let _ = std::io::stdout().flush();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(CliError(message)) => {
            eprintln!("akguard: {message}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
