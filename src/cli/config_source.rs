//! Where a configuration comes from: a JSON or YAML file (or stdin), or the akguard Wasm
//! filters of an Envoy configuration. Every path ends in the bytes the filter would be given,
//! to be checked by `core::config::load` and nothing else.

use super::{ecds, envoy};
use clap::ValueEnum;
use std::io::Read;
use std::path::{Path, PathBuf};

/// How a configuration file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Syntax {
    /// JSON for `.json` and stdin, YAML for `.yaml` / `.yml`.
    Auto,
    Json,
    Yaml,
}

/// A configuration to check, with a label naming where it came from.
#[derive(Debug)]
pub struct Source {
    pub label: String,
    pub bytes: Vec<u8>,
}

/// How an input is named in messages: its path, or `stdin`.
pub fn input_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "stdin".into()
    } else {
        path.display().to_string()
    }
}

/// Reads a file, or stdin for `-`.
pub fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("reading stdin: {e}"))?;
        return Ok(bytes);
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn is_yaml(path: &Path, syntax: Syntax) -> bool {
    match syntax {
        Syntax::Json => false,
        Syntax::Yaml => true,
        Syntax::Auto => path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml")),
    }
}

/// Converts a YAML document to the JSON text the filter would be given. An empty document
/// is the empty configuration.
pub fn yaml_to_json(text: &str) -> Result<Vec<u8>, String> {
    let value = yaml_value(serde_yaml::from_str(text))?;
    if value.is_null() {
        return Ok(Vec::new());
    }
    serde_json::to_vec(&value).map_err(|e| format!("converting YAML to JSON: {e}"))
}

/// A YAML document as JSON, with merge keys (`<<: *anchor`) applied.
pub fn yaml_value(
    parsed: Result<serde_yaml::Value, serde_yaml::Error>,
) -> Result<serde_json::Value, String> {
    let mut value = parsed.map_err(|e| format!("not valid YAML: {e}"))?;
    value
        .apply_merge()
        .map_err(|e| format!("not valid YAML: {e}"))?;
    serde_json::to_value(value).map_err(|e| format!("not valid as JSON: {e}"))
}

/// A configuration file: JSON as it is (so error positions are the file's own), YAML
/// converted to JSON.
pub fn config_file(path: &Path, syntax: Syntax) -> Result<Source, String> {
    let bytes = read_input(path)?;
    let label = input_name(path);
    let bytes = if is_yaml(path, syntax) {
        let text = String::from_utf8(bytes).map_err(|_| format!("{label}: not UTF-8 text"))?;
        yaml_to_json(&text).map_err(|e| format!("{label}: {e}"))?
    } else {
        bytes
    };
    Ok(Source { label, bytes })
}

/// Reads a file (or stdin) as UTF-8 text.
fn read_text(path: &Path) -> Result<String, String> {
    String::from_utf8(read_input(path)?)
        .map_err(|_| format!("{}: not UTF-8 text", input_name(path)))
}

/// The Wasm filters of an Envoy configuration file, and those of the ECDS files its
/// `config_discovery` filters watch; with what could not be followed.
fn envoy_filters(path: &Path) -> Result<(Vec<envoy::WasmFilter>, Vec<String>), String> {
    let file = input_name(path);
    let text = read_text(path)?;
    let mut found = envoy::wasm_filters(&text).map_err(|e| format!("{file}: {e}"))?;
    let documents = envoy::documents(&text).map_err(|e| format!("{file}: {e}"))?;
    let mut not_followed = Vec::new();
    for discovered in ecds::discovered(&documents) {
        let ecds_path = match discovered.file(path) {
            Ok(ecds_path) => ecds_path,
            Err(why) => {
                not_followed.push(why);
                continue;
            }
        };
        let ecds_name = ecds_path.display().to_string();
        let ecds_text = read_text(&ecds_path)?;
        let in_ecds = envoy::wasm_filters(&ecds_text).map_err(|e| format!("{ecds_name}: {e}"))?;
        found.extend(in_ecds.into_iter().map(|f| envoy::WasmFilter {
            ecds_file: Some(ecds_name.clone()),
            ..f
        }));
    }
    Ok((found, not_followed))
}

/// The akguard filter configurations of an Envoy configuration file (YAML or JSON), picked
/// by filter name when `filter` is given. A filter configured through ECDS from a watched
/// file is read from that file.
pub fn envoy_file(path: &Path, filter: Option<&str>) -> Result<Vec<Source>, String> {
    let file = input_name(path);
    let (found, not_followed) = envoy_filters(path)?;
    let picked = envoy::pick(&found, filter).map_err(|e| {
        let mut message = format!("{file}: {e}");
        for why in &not_followed {
            message.push_str(&format!("\n{file}: {why}"));
        }
        message
    })?;
    picked
        .into_iter()
        .map(|f| {
            let label = match &f.ecds_file {
                Some(ecds_file) => format!("{file} -> {ecds_file} [{}]", f.label()),
                None => format!("{file} [{}]", f.label()),
            };
            f.configuration()
                .map(|bytes| Source {
                    label: label.clone(),
                    bytes,
                })
                .map_err(|e| format!("{label}: {e}"))
        })
        .collect()
}

/// The one configuration named on a command line: `--config FILE` or `--envoy FILE`.
pub fn single(
    config: Option<&PathBuf>,
    envoy: Option<&PathBuf>,
    filter: Option<&str>,
    syntax: Syntax,
) -> Result<Source, String> {
    match (config, envoy) {
        (Some(path), None) => config_file(path, syntax),
        (None, Some(path)) => {
            let mut sources = envoy_file(path, filter)?;
            if sources.len() > 1 {
                let names: Vec<&str> = sources.iter().map(|s| s.label.as_str()).collect();
                return Err(format!(
                    "{} akguard filters found ({}); pick one with --filter NAME",
                    sources.len(),
                    names.join(", ")
                ));
            }
            sources
                .pop()
                .ok_or_else(|| format!("{}: no akguard filter found", path.display()))
        }
        _ => Err("give one of --config FILE or --envoy FILE".into()),
    }
}
