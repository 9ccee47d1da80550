//! `akguard keys`: builds a complete configuration from plain key lists, or the resource that
//! deploys it (ECDS, Istio or Higress; see [`super::deploy_form`]), new or updating one in
//! force with a count of the keys it changes; checked by the filter's own validation, as
//! `akguard validate` checks it, before it is written.

use super::deploy_form::{Form, Resource};
use super::{config_source, envoy, key_changes, key_list};
use super::{CliResult, EXIT_FAILED, EXIT_OK};
use akguard::core::keyset::sha256;
use akguard::core::{config, packed};
use clap::ValueEnum;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

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
    long_about = "Read AccessKey IDs, one a line (blank lines and # comments skipped), from one or more files, and print \
a complete akguard configuration (JSON) holding them all, sorted and without duplicates: as `sha256:` entries with --hash, \
so the IDs themselves need not leave the security team. The output is checked with the filter's own validation before it \
is printed; a malformed ID is reported with its line number and the exit code is 1.\n\n--form writes what gets deployed \
instead: the ECDS resource file an Envoy config_discovery filter watches, an Istio WasmPlugin or a Higress WasmPlugin, \
new (around --module) or updating the file given with --into, whose other settings are kept (Higress matchRules, that \
is _rules_, included) and whose keys are replaced; the change is reported on stderr as counts of keys added, removed \
and unchanged. --output writes the file atomically (a temporary file renamed over it), so Envoy never reads half of it.",
    after_help = "Examples:\n  akguard keys --hash --mode shadow leaked.txt > akguard.json\n  akguard keys --hash --form ecds --into ecds/akguard.yaml --output ecds/akguard.yaml leaked.txt incident-43.txt\n  akguard keys --hash --form higress --into wasmplugin.yaml leaked.txt > wasmplugin.new.yaml"
)]
pub struct Args {
    /// Files of AccessKey IDs, all taken together; stdin when none or "-"
    pub files: Vec<PathBuf>,
    /// Write `sha256:` entries instead of the IDs
    #[arg(long, conflicts_with = "packed")]
    pub hash: bool,
    /// Write `leaked_keys_packed` (8 bytes of SHA-256 a key, base64, in blocks of 6,144 keys)
    /// instead of `leaked_keys`: for very large sets; the IDs do not appear in it
    #[arg(long)]
    pub packed: bool,
    /// `mode`: enforce denies, shadow only logs and counts [default: enforce, or the mode of
    /// the --into file]
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Set `deny_all_calls`: deny every call made with a leaked key
    #[arg(long)]
    pub deny_all_calls: bool,
    /// Set `hold_headers` (needs allow_on_headers_stop_iteration: true in Envoy)
    #[arg(long)]
    pub hold_headers: bool,
    /// Set `max_body_bytes`
    #[arg(long, value_name = "BYTES")]
    pub max_body_bytes: Option<u64>,
    /// What to write: the configuration, or the resource that deploys it
    #[arg(long, value_enum, default_value_t = Form::Config)]
    pub form: Form,
    /// An existing file of that form (the one in force) to update: its settings are kept, its
    /// keys replaced, and the change reported
    #[arg(long, value_name = "FILE")]
    pub into: Option<PathBuf>,
    /// The module a new resource loads: its file for ECDS, its oci:// or https:// URL for
    /// Istio and Higress
    #[arg(long, value_name = "PATH_OR_URL", conflicts_with = "into")]
    pub module: Option<String>,
    /// Write to FILE atomically (a temporary file in its directory, renamed over it) instead
    /// of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// With --into: also list the entries added (`+`) and removed (`-`) on stderr, as each
    /// file writes them (IDs where written as IDs)
    #[arg(long, requires = "into")]
    pub list_changes: bool,
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
    let mode = match args.mode.unwrap_or(ModeArg::Enforce) {
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

/// The key fields: replaced as a whole when a file in force is updated.
const KEY_FIELDS: [&str; 2] = ["leaked_keys", "leaked_keys_packed"];

/// The configuration in force (`into`) with the built one's keys, and the settings given on
/// the command line.
fn merged(
    args: &Args,
    mut in_force: Map<String, Value>,
    built: Map<String, Value>,
) -> Map<String, Value> {
    for field in KEY_FIELDS {
        in_force.remove(field);
    }
    let given = [
        ("mode", args.mode.is_some()),
        ("deny_all_calls", args.deny_all_calls),
        ("hold_headers", args.hold_headers),
        ("max_body_bytes", args.max_body_bytes.is_some()),
    ];
    for (field, value) in built {
        let wanted = KEY_FIELDS.contains(&field.as_str())
            || given.iter().any(|(name, set)| *name == field && *set);
        if wanted {
            in_force.insert(field, value);
        }
    }
    in_force
}

/// The document of the file in force: a configuration (JSON or YAML), or a resource.
fn read_into(path: &Path, form: Form) -> Result<Resource, String> {
    let name = config_source::input_name(path);
    let document = if form == Form::Config {
        let source = config_source::config_file(path, config_source::Syntax::Auto)?;
        serde_json::from_slice(&source.bytes).map_err(|e| format!("{name}: not valid JSON: {e}"))?
    } else {
        let bytes = config_source::read_input(path)?;
        let text = String::from_utf8(bytes).map_err(|_| format!("{name}: not UTF-8 text"))?;
        let mut documents = envoy::documents(&text).map_err(|e| format!("{name}: {e}"))?;
        if documents.len() != 1 {
            return Err(format!(
                "{name}: expected one document, found {}",
                documents.len()
            ));
        }
        documents.remove(0)
    };
    Resource::existing(form, document).map_err(|e| format!("{name}: {e}"))
}

/// Checks what is to be written as `akguard validate` would: the configuration, or each Wasm
/// filter the resource becomes.
fn check_output(text: &str, form: Form) -> Result<(), String> {
    let configurations = if form == Form::Config {
        vec![text.as_bytes().to_vec()]
    } else {
        let found = envoy::wasm_filters(text)?;
        if found.is_empty() {
            return Err("no Wasm filter in the resource".into());
        }
        found
            .iter()
            .map(|f| f.configuration())
            .collect::<Result<_, _>>()?
    };
    for bytes in configurations {
        config::load(&bytes).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Writes `text` to `path` atomically: a temporary file in the same directory, renamed over it.
fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", path.display()))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(name);
    temporary_name.push(format!(".akguard-{}.tmp", std::process::id()));
    let temporary = path.with_file_name(temporary_name);
    let written = std::fs::File::create(&temporary).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temporary, path));
    renamed.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        format!("writing {}: {e}", path.display())
    })
}

/// The version an ECDS resource carries: a digest of its configuration.
fn version_of(configuration: &Map<String, Value>) -> String {
    let digest = sha256(Value::Object(configuration.clone()).to_string().as_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// The text to write, and the lines saying what it changes against the file in force.
fn build(args: &Args, built_text: String) -> Result<(String, Vec<String>), String> {
    if args.form == Form::Config && args.into.is_none() {
        return Ok((built_text, Vec::new()));
    }
    let built: Map<String, Value> = serde_json::from_str(&built_text).map_err(|e| e.to_string())?;
    let (mut resource, configuration, changes) = match &args.into {
        Some(path) => {
            let mut resource = read_into(path, args.form)?;
            let in_force = resource.configuration()?;
            let before = key_changes::keys_of(&in_force)
                .map_err(|e| format!("{}: {e}", config_source::input_name(path)))?;
            let configuration = merged(args, in_force, built);
            let after = key_changes::keys_of(&configuration)?;
            let mut changes = vec![key_changes::compare(&before, &after).to_string()];
            if args.list_changes {
                changes.extend(key_changes::listed(&before, &after));
            }
            (resource, configuration, changes)
        }
        None => {
            let module = match (&args.module, args.form) {
                (_, Form::Config) => String::new(),
                (Some(module), _) => module.clone(),
                (None, _) => {
                    return Err(
                        "a new resource needs --module (the module's file or URL), or --into FILE to update one"
                            .into(),
                    )
                }
            };
            (
                Resource::new(args.form, &module, args.hold_headers),
                built,
                Vec::new(),
            )
        }
    };
    let version = version_of(&configuration);
    resource.set_configuration(configuration, &version);
    let is_json = |path: &PathBuf| {
        path.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    };
    let json_file = match &args.output {
        Some(output) => is_json(output),
        None => args.into.as_ref().is_some_and(is_json),
    };
    Ok((resource.text(json_file)?, changes))
}

pub fn run(args: &Args) -> CliResult {
    let files = if args.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.files.clone()
    };
    let mut all = Vec::new();
    let mut malformed = false;
    for path in &files {
        match key_list::read_checked(path)? {
            Some(entries) => all.extend(entries),
            None => malformed = true,
        }
    }
    if malformed {
        return Ok(EXIT_FAILED);
    }
    let encoding = if args.packed {
        Encoding::Packed
    } else if args.hash {
        Encoding::Sha256
    } else {
        Encoding::Plain
    };
    let entries: BTreeSet<String> = all
        .into_iter()
        .map(|e| match encoding {
            Encoding::Sha256 => key_list::hashed(&e.text),
            Encoding::Plain | Encoding::Packed => e.text,
        })
        .collect();
    let built_text = match configuration(args, &entries, encoding) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("akguard: the keys cannot be packed: {error}");
            return Ok(EXIT_FAILED);
        }
    };
    let (text, changes) = build(args, built_text)?;
    if let Err(error) = check_output(&text, args.form) {
        eprintln!("akguard: the built configuration is rejected: {error}");
        return Ok(EXIT_FAILED);
    }
    for line in changes {
        eprintln!("{line}");
    }
    match &args.output {
        Some(path) => write_atomically(path, &text)?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(EXIT_OK)
}
