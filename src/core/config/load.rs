//! Reading a configuration: the top-level object streamed field by field (the key fields
//! straight into the key set, the others as JSON values), then each field checked into a
//! [`Policy`].

use super::super::catalog::Catalog;
use super::super::decision::UnknownHosts;
use super::super::deny_log::{DEFAULT_LINES_PER_SECOND, MAX_LINES_PER_SECOND};
use super::super::endpoints::Endpoints;
use super::super::feed_slot::FeedSlot;
use super::super::keyset::{KeySet, KeySetBuilder};
use super::super::list_file;
use super::error::{expected, serde_problem, ConfigError};
use super::key_feed::{self, KEY_FEED_FIELD};
use super::key_stream::{KeysSeed, PackedSeed, UnusualKeys};
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
    DENY_LOG_FIELD,
    KEY_FEED_FIELD,
    RULES_FIELD,
];

/// The fields given at the top level only: a rule's configuration takes the others.
pub const TOP_LEVEL_ONLY: &[&str] = &[LIST_FIELD, DENY_LOG_FIELD, KEY_FEED_FIELD, RULES_FIELD];

/// The field that bounds the full deny lines a VM writes a second (top level only: one log a
/// VM).
pub const DENY_LOG_FIELD: &str = "deny_log_lines_per_second";

/// The fields a configuration takes: every one of [`FIELDS`] at the top level, all but
/// [`TOP_LEVEL_ONLY`] in a rule.
fn known_fields(top_level: bool) -> impl Iterator<Item = &'static str> {
    FIELDS
        .iter()
        .copied()
        .filter(move |f| top_level || !TOP_LEVEL_ONLY.contains(f))
}

/// The field that replaces the embedded high-risk list (top level only: every rule uses it).
pub const LIST_FIELD: &str = "high_risk_list";

/// The raw top level: `leaked_keys` already in the builder, other fields as JSON values.
struct TopLevel<'a> {
    /// `_rules_` is accepted (at the top level, not inside a rule).
    allow_rules: bool,
    builder: &'a mut KeySetBuilder,
    key_count: &'a mut usize,
    unusual: &'a mut UnusualKeys,
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
            // A rule naming `_rules_` meets the unknown-field error below.
            if !self.allow_rules && name != RULES_FIELD && TOP_LEVEL_ONLY.contains(&name.as_str()) {
                let why = match name.as_str() {
                    LIST_FIELD => "every rule uses the top level's list",
                    KEY_FEED_FIELD => "the feed's keys count in every rule",
                    _ => "one deny log a VM, whatever the rule",
                };
                self.error.replace(Some(ConfigError::new(
                    name,
                    format!("given at the top level only ({why})"),
                )));
                return Err(de::Error::custom("top-level field in a rule"));
            }
            if !known_fields(self.allow_rules).any(|f| f == name) {
                let known: Vec<&str> = known_fields(self.allow_rules).collect();
                self.error.replace(Some(ConfigError::new(
                    name,
                    format!("unknown field (known fields: {})", known.join(", ")),
                )));
                return Err(de::Error::custom("unknown field"));
            }
            if name == "leaked_keys" {
                map.next_value_seed(KeysSeed {
                    builder: self.builder,
                    count: self.key_count,
                    unusual: self.unusual,
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

/// A whole, non-negative number (`1e3` and `1000.0` included).
fn whole_number(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0)
            .map(|f| f as u64)
    })
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
    let mut unusual = UnusualKeys::default();
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
            unusual: &mut unusual,
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
        warnings.extend(unusual.warning());
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
    let mut deny_log_lines_per_second = DEFAULT_LINES_PER_SECOND;
    let mut feed_source = None;
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
            KEY_FEED_FIELD => feed_source = Some(key_feed::parse(value)?),
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
            DENY_LOG_FIELD => {
                let n = whole_number(value)
                    .ok_or_else(|| expected(DENY_LOG_FIELD, "a whole number of lines", value))?;
                if n > u64::from(MAX_LINES_PER_SECOND) {
                    return Err(ConfigError::new(
                        DENY_LOG_FIELD,
                        format!("must be between 0 and {MAX_LINES_PER_SECOND}, found {n}"),
                    ));
                }
                deny_log_lines_per_second = n as u32;
            }
            "max_body_bytes" => {
                let n = whole_number(value)
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
    } else if keys.is_empty() && feed_source.is_none() {
        warnings.push("leaked_keys is empty or absent: nothing is protected".into());
    }
    warnings.extend(rule_warnings);
    let feed = FeedSlot::default();
    for rule in &mut rules {
        rule.policy.feed.share(&feed);
    }
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
            deny_log_lines_per_second,
            key_feed: feed_source,
            feed,
        },
        warnings,
    })
}
