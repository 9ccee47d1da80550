//! Reading a configuration: the top-level object streamed field by field (the key fields
//! straight into the key set, the others as JSON values), then each field checked into a
//! [`Policy`].

use super::super::catalog::Catalog;
use super::super::decision::UnknownHosts;
use super::super::endpoints::Endpoints;
use super::super::keyset::{KeySet, KeySetBuilder};
use super::super::list_file;
use super::error::{expected, serde_problem, ConfigError};
use super::key_stream::{KeysSeed, PackedSeed};
use super::lists::{apply_extra_operations, parse_endpoints, product_of};
use super::policy::{Loaded, Mode, Policy, DEFAULT_MAX_BODY_BYTES, MAX_MAX_BODY_BYTES};
use super::rules::{self, RULES_FIELD};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use std::cell::RefCell;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;

/// The top-level fields.
pub const FIELDS: &[&str] = &[
    "leaked_keys",
    "mode",
    "deny_all_calls",
    "deny_credential_calls",
    "extra_operations",
    "endpoints",
    "max_body_bytes",
    "hold_headers",
    "unknown_hosts",
    "product",
    "leaked_keys_packed",
    LIST_FIELD,
];

/// The field that replaces the embedded high-risk list (top level only: every rule uses it).
pub const LIST_FIELD: &str = "high_risk_list";

/// The raw top level: `leaked_keys` already in the builder, other fields as JSON values.
struct TopLevel<'a> {
    /// `_rules_` is accepted (at the top level, not inside a rule).
    allow_rules: bool,
    builder: &'a mut KeySetBuilder,
    key_count: &'a mut usize,
    packed_count: &'a mut usize,
    fields: &'a mut Vec<(String, Value)>,
    error: &'a RefCell<Option<ConfigError>>,
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen: Vec<String> = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            if seen.contains(&name) {
                self.error
                    .replace(Some(ConfigError::new(name, "the field is given twice")));
                return Err(de::Error::custom("duplicate field"));
            }
            let rules_here = self.allow_rules && name == RULES_FIELD;
            if !self.allow_rules && name == LIST_FIELD {
                self.error.replace(Some(ConfigError::new(
                    name,
                    "given at the top level only (every rule uses the top level's list)",
                )));
                return Err(de::Error::custom("list in a rule"));
            }
            if !rules_here && !FIELDS.contains(&name.as_str()) {
                self.error.replace(Some(ConfigError::new(
                    name,
                    format!("unknown field (known fields: {})", FIELDS.join(", ")),
                )));
                return Err(de::Error::custom("unknown field"));
            }
            if name == "leaked_keys" {
                map.next_value_seed(KeysSeed {
                    builder: self.builder,
                    count: self.key_count,
                    error: self.error,
                })?;
            } else if name == "leaked_keys_packed" {
                map.next_value_seed(PackedSeed {
                    builder: self.builder,
                    count: self.packed_count,
                    error: self.error,
                })?;
            } else {
                let value: Value = map.next_value()?;
                self.fields.push((name.clone(), value));
            }
            seen.push(name);
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for TopLevel<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_map(self)
    }
}

/// Parses and validates a configuration. Empty input (or only whitespace) is a valid
/// configuration that protects nothing.
pub fn load(mut bytes: &[u8]) -> Result<Loaded, ConfigError> {
    let size = bytes.len();
    load_with(&mut bytes, size, None)
}

/// [`load`], reading the text from `reader` as it goes; `size_hint` is the text's length
/// when known (0 otherwise), used to size the read buffer.
pub fn load_from(mut reader: impl Read, size_hint: usize) -> Result<Loaded, ConfigError> {
    load_with(&mut reader, size_hint, None)
}

/// One rule's own configuration: the top-level fields, without `_rules_` and
/// `high_risk_list`, over the top level's list.
fn load_rule(mut bytes: &[u8], list: &Rc<Catalog>) -> Result<(Policy, Vec<String>), ConfigError> {
    let size = bytes.len();
    load_with(&mut bytes, size, Some(list)).map(|loaded| (loaded.policy, loaded.warnings))
}

/// The catalog of a `high_risk_list` value.
fn configured_list(value: &Value) -> Result<Catalog, ConfigError> {
    let file = list_file::read(value).map_err(|e| {
        let path = if e.path == "(list)" {
            LIST_FIELD.to_string()
        } else {
            format!("{LIST_FIELD}.{}", e.path)
        };
        ConfigError::new(path, e.problem)
    })?;
    Catalog::configured(file).map_err(|e| ConfigError::new(LIST_FIELD, e))
}

/// Bytes read from the configuration text at a time.
const READ_BYTES: usize = 64 << 10;

/// Skips leading whitespace; false when nothing else follows.
fn skip_whitespace(reader: &mut impl BufRead) -> io::Result<bool> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(false);
        }
        let blank = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let more = blank < buf.len();
        reader.consume(blank);
        if more {
            return Ok(true);
        }
    }
}

/// One instance of the parser for every reader: the module carries it once. `rule_of` is the
/// top level's list when this is a rule's configuration.
fn load_with(
    reader: &mut dyn Read,
    size_hint: usize,
    rule_of: Option<&Rc<Catalog>>,
) -> Result<Loaded, ConfigError> {
    let allow_rules = rule_of.is_none();
    let mut warnings = Vec::new();
    let mut builder = KeySetBuilder::default();
    let mut key_count = 0usize;
    let mut packed_count = 0usize;
    let mut fields: Vec<(String, Value)> = Vec::new();
    let mut saw_keys = false;
    let capacity = if size_hint == 0 {
        READ_BYTES
    } else {
        READ_BYTES.min(size_hint)
    };
    let mut reader = BufReader::with_capacity(capacity, reader);
    let unreadable =
        |e: io::Error| ConfigError::new("configuration", format!("could not be read: {e}"));
    if !skip_whitespace(&mut reader).map_err(unreadable)? {
        warnings.push(
            "the configuration is empty: no leaked keys are loaded, nothing is protected".into(),
        );
    } else {
        let error = RefCell::new(None);
        let mut de = serde_json::Deserializer::from_reader(reader);
        let result = TopLevel {
            allow_rules,
            builder: &mut builder,
            key_count: &mut key_count,
            packed_count: &mut packed_count,
            fields: &mut fields,
            error: &error,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end());
        if let Err(e) = result {
            // A read failure can surface inside a field: it is named for what it is.
            if e.is_io() {
                return Err(ConfigError::new(
                    "configuration",
                    format!("could not be read: {}", serde_problem(&e)),
                ));
            }
            if let Some(found) = error.into_inner() {
                return Err(found);
            }
            let where_ = if e.line() > 0 {
                format!(" (line {}, column {})", e.line(), e.column())
            } else {
                String::new()
            };
            let problem = serde_problem(&e);
            let problem = if problem.starts_with("invalid type") {
                "expected a JSON object".to_string()
            } else {
                format!("not valid JSON: {problem}{where_}")
            };
            return Err(ConfigError::new("configuration", problem));
        }
        key_count += packed_count;
        saw_keys = key_count > 0;
    }
    // The list first: `extra_operations`, `endpoints` and every rule build on it.
    let list = match (rule_of, fields.iter().find(|(name, _)| name == LIST_FIELD)) {
        (Some(list), _) => Rc::clone(list),
        (None, Some((_, value))) => Rc::new(configured_list(value)?),
        (None, None) => {
            Catalog::shared_embedded().map_err(|e| ConfigError::new("(embedded list)", e))?
        }
    };
    // Rules build on the list as given, without the top level's own additions.
    let rules_list = fields
        .iter()
        .any(|(name, _)| name == RULES_FIELD)
        .then(|| Rc::clone(&list));
    let mut catalog = list;
    let mut mode = Mode::Enforce;
    let mut deny_all_calls = false;
    let mut deny_credential_calls = false;
    let mut unknown_hosts = UnknownHosts::Deny;
    let mut endpoints = Endpoints::default();
    let mut max_body_bytes = DEFAULT_MAX_BODY_BYTES;
    let mut extra_operations = 0;
    let mut hold_headers = false;
    let mut rules = Vec::new();
    let mut rule_warnings = Vec::new();
    let mut product = None;
    for (name, value) in &fields {
        match name.as_str() {
            "mode" => {
                mode = match value.as_str() {
                    Some("enforce") => Mode::Enforce,
                    Some("shadow") => Mode::Shadow,
                    Some(other) => {
                        return Err(ConfigError::new(
                            "mode",
                            format!("expected \"enforce\" or \"shadow\", found {other:?}"),
                        ))
                    }
                    None => return Err(expected("mode", "\"enforce\" or \"shadow\"", value)),
                }
            }
            "deny_all_calls" => {
                deny_all_calls = value
                    .as_bool()
                    .ok_or_else(|| expected("deny_all_calls", "a boolean", value))?
            }
            "deny_credential_calls" => {
                deny_credential_calls = value
                    .as_bool()
                    .ok_or_else(|| expected("deny_credential_calls", "a boolean", value))?
            }
            "unknown_hosts" => {
                unknown_hosts = match value.as_str() {
                    Some("deny") => UnknownHosts::Deny,
                    Some("pass") => UnknownHosts::Pass,
                    Some(other) => {
                        return Err(ConfigError::new(
                            "unknown_hosts",
                            format!("expected \"deny\" or \"pass\", found {other:?}"),
                        ))
                    }
                    None => return Err(expected("unknown_hosts", "\"deny\" or \"pass\"", value)),
                }
            }
            "hold_headers" => {
                hold_headers = value
                    .as_bool()
                    .ok_or_else(|| expected("hold_headers", "a boolean", value))?
            }
            "product" => product = Some(product_of(&catalog, "product", value)?),
            "extra_operations" => {
                extra_operations = apply_extra_operations(Rc::make_mut(&mut catalog), value)?
            }
            "endpoints" => endpoints = parse_endpoints(&catalog, value)?,
            RULES_FIELD => {
                let list = rules_list.as_ref().ok_or_else(|| {
                    ConfigError::new(RULES_FIELD, "(internal) the list for rules is missing")
                })?;
                rules = rules::parse(value, &|bytes| load_rule(bytes, list), &mut rule_warnings)?
            }
            "max_body_bytes" => {
                let n = value
                    .as_u64()
                    .or_else(|| {
                        value
                            .as_f64()
                            .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                            .map(|f| f as u64)
                    })
                    .ok_or_else(|| expected("max_body_bytes", "a whole number of bytes", value))?;
                if n == 0 || n > MAX_MAX_BODY_BYTES as u64 {
                    return Err(ConfigError::new(
                        "max_body_bytes",
                        format!("must be between 1 and {MAX_MAX_BODY_BYTES}, found {n}"),
                    ));
                }
                max_body_bytes = n as usize;
            }
            _ => {}
        }
    }
    let keys: KeySet = builder.build();
    if !saw_keys && !warnings.is_empty() {
        // The empty configuration already warned.
    } else if keys.is_empty() {
        warnings.push("leaked_keys is empty or absent: nothing is protected".into());
    }
    warnings.extend(rule_warnings);
    Ok(Loaded {
        policy: Policy {
            catalog,
            keys,
            mode,
            deny_all_calls,
            deny_credential_calls,
            unknown_hosts,
            endpoints,
            max_body_bytes,
            hold_headers,
            keys_given: key_count,
            extra_operations,
            rules,
            product,
        },
        warnings,
    })
}
