//! `akguard validate`: checks a configuration exactly as the filter does when Envoy hands it
//! over (`core::config::load`), from a JSON or YAML file or from an Envoy configuration.

use super::config_source::{self, Source, Syntax};
use super::{envoy, host_routes};
use super::{CliResult, EXIT_FAILED, EXIT_OK};
use akguard::core::config;
use std::path::{Path, PathBuf};

/// Check a configuration as the filter does (exit 0 valid, 1 invalid)
#[derive(clap::Args)]
#[command(
    long_about = "Check a configuration as the filter does: the same parser and the same rules. \
On success, prints a summary; on a problem, prints `FILE: field.path: problem` on stderr and exits 1.",
    group(clap::ArgGroup::new("source").required(true).args(["config", "envoy"])),
    after_help = "Examples:\n  akguard validate akguard.json\n  akguard validate akguard.yaml\n  akguard validate --envoy envoy.yaml\n  akguard validate --envoy envoy.yaml --filter akguard"
)]
pub struct Args {
    /// Configuration file: JSON, or YAML (.yaml/.yml); "-" reads stdin
    pub config: Option<PathBuf>,
    /// Envoy configuration (bootstrap, listener or ECDS file; YAML or JSON) or Istio/Higress
    /// WasmPlugin resources: checks the configuration of every Wasm filter that loads akguard
    #[arg(long, value_name = "ENVOY_FILE")]
    pub envoy: Option<PathBuf>,
    /// With --envoy: the Wasm filter (or plugin) name to check, for any module
    #[arg(long, value_name = "NAME")]
    pub filter: Option<String>,
    /// How the configuration file is written
    #[arg(long, value_enum, default_value_t = Syntax::Auto)]
    pub syntax: Syntax,
}

/// Checks one configuration; prints its summary or its problem.
pub fn check(source: &Source) -> bool {
    match config::load(&source.bytes) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("{}: warning: {warning}", source.label);
            }
            let p = &loaded.policy;
            println!(
                "{}: valid: {} hold_headers={}",
                source.label,
                p.summary(),
                p.hold_headers
            );
            true
        }
        Err(error) => {
            eprintln!("{}: {error}", source.label);
            false
        }
    }
}

pub fn run(args: &Args) -> CliResult {
    if !super::filter_needs_envoy(args.filter.as_ref(), args.envoy.as_ref()) {
        return Ok(super::EXIT_USAGE);
    }
    let sources = match (&args.config, &args.envoy) {
        (_, Some(envoy)) => config_source::envoy_file(envoy, args.filter.as_deref())?,
        (Some(path), None) => vec![config_source::config_file(path, args.syntax)?],
        (None, None) => return Err("give a configuration file or --envoy FILE".into()),
    };
    let mut all_valid = true;
    for source in &sources {
        all_valid &= check(source);
    }
    if let Some(envoy) = &args.envoy {
        report_host_routes(envoy)?;
    }
    Ok(if all_valid { EXIT_OK } else { EXIT_FAILED })
}

/// Reports the routes behind akguard whose upstream reads another host than the client sent
/// (see [`host_routes`]): a warning each, or a note where the configuration pins the product.
fn report_host_routes(path: &Path) -> Result<(), String> {
    let file = path.display().to_string();
    let bytes = config_source::read_input(path)?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{file}: not UTF-8 text"))?;
    let documents = envoy::documents(&text).map_err(|e| format!("{file}: {e}"))?;
    for finding in host_routes::findings(&documents) {
        eprintln!("{file}: {}", finding.message());
    }
    Ok(())
}
