//! The filter configuration: parsing, validation and the resulting [`Policy`].
//!
//! The configuration is JSON (Envoy passes a `StringValue` raw and a `Struct` as JSON). Any
//! problem rejects the whole configuration with a [`ConfigError`] naming the field path
//! (`leaked_keys[3]: …`). The text is read as a stream ([`load_from`] takes any reader, so
//! the filter hands it the host's buffer piece by piece), and `leaked_keys` and
//! `leaked_keys_packed` go straight into the key set: neither the text nor a million entries
//! ever exist whole in memory.

use super::catalog::{Catalog, ProductIndex};
use super::endpoints::{normalize_host, Endpoints};
use super::keyset::{KeySet, KeySetBuilder};
use super::rules::{self, Rule, RULES_FIELD};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::cell::RefCell;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

/// Default `max_body_bytes`: 1 MiB, Envoy's default per-connection buffer limit.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;
/// Largest accepted `max_body_bytes`.
pub const MAX_MAX_BODY_BYTES: usize = 64 << 20;
/// Longest accepted AccessKey ID.
pub const MAX_KEY_LEN: usize = 256;

/// The top-level fields.
pub const FIELDS: &[&str] = &[
    "leaked_keys",
    "mode",
    "deny_all_calls",
    "extra_operations",
    "endpoints",
    "max_body_bytes",
    "hold_headers",
    "leaked_keys_packed",
];

/// Enforce denies; shadow decides, counts and logs, and lets the request pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Enforce,
    Shadow,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Shadow => "shadow",
        }
    }
}

/// A configuration problem: the field path and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub problem: String,
}

impl ConfigError {
    pub(crate) fn new(path: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

/// Everything a request is checked against.
#[derive(Clone, Debug)]
pub struct Policy {
    pub catalog: Catalog,
    pub keys: KeySet,
    pub mode: Mode,
    pub deny_all_calls: bool,
    pub endpoints: Endpoints,
    pub max_body_bytes: usize,
    /// Hold the request headers, not only the body, while a form body is read. Needs
    /// Envoy's `allow_on_headers_stop_iteration: true` on the filter.
    pub hold_headers: bool,
    /// Number of `leaked_keys` and `leaked_keys_packed` entries given (before removing
    /// duplicates).
    pub keys_given: usize,
    /// Number of operations added by `extra_operations`.
    pub extra_operations: usize,
    /// Per-route, per-host and per-service policies (`_rules_`), first match first.
    pub rules: Vec<Rule>,
}

impl Policy {
    /// The policy's figures as `name=value` pairs, as the filter logs an accepted
    /// configuration and `akguard validate` prints it.
    pub fn summary(&self) -> String {
        format!(
            "leaked_keys={} (distinct {}) mode={} deny_all_calls={} extra_operations={} endpoints={} max_body_bytes={}",
            self.keys_given,
            self.keys.len(),
            self.mode.label(),
            self.deny_all_calls,
            self.extra_operations,
            self.endpoints.len(),
            self.max_body_bytes
        )
    }
}

/// An accepted configuration and its warnings.
#[derive(Debug)]
pub struct Loaded {
    pub policy: Policy,
    pub warnings: Vec<String>,
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn expected(path: &str, what: &str, value: &Value) -> ConfigError {
    ConfigError::new(path, format!("expected {what}, found {}", describe(value)))
}

/// Problem text of a serde_json error, without its position.
fn serde_problem(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_string()
}

/// One valid `leaked_keys` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyEntry<'a> {
    /// A plain AccessKey ID.
    Plain(&'a str),
    /// A `sha256:` entry's digest.
    Digest([u8; 32]),
}

/// Checks one `leaked_keys` entry: a plain AccessKey ID or `sha256:<64 lowercase hex>`.
pub fn parse_key_entry(entry: &str) -> Result<KeyEntry<'_>, String> {
    if let Some(hex) = entry.strip_prefix("sha256:") {
        let digest = parse_digest(hex).ok_or_else(|| {
            "a sha256 entry must be \"sha256:\" followed by 64 lowercase hex digits".to_string()
        })?;
        return Ok(KeyEntry::Digest(digest));
    }
    if entry.is_empty() {
        return Err("an AccessKey ID must not be empty".into());
    }
    if entry.len() > MAX_KEY_LEN {
        return Err(format!(
            "an AccessKey ID is at most {MAX_KEY_LEN} characters"
        ));
    }
    if let Some(bad) = entry
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '.'))
    {
        return Err(format!(
            "an AccessKey ID holds only ASCII letters, digits and '.', found {bad:?}"
        ));
    }
    Ok(KeyEntry::Plain(entry))
}

/// Checks one `leaked_keys` entry and adds it to the set.
fn add_key_entry(entry: &str, builder: &mut KeySetBuilder) -> Result<(), String> {
    match parse_key_entry(entry)? {
        KeyEntry::Plain(key) => builder.add_plain(key.as_bytes()),
        KeyEntry::Digest(digest) => builder.add_digest(&digest),
    }
    Ok(())
}

/// Parses 64 lowercase hex digits.
pub fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let nibble = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        out[i] = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

/// Records that a key field holds the wrong JSON type, naming the field and what it expects.
fn wrong_type<E: de::Error>(
    error: &RefCell<Option<ConfigError>>,
    field: &'static str,
    expected: &str,
    found: &str,
) -> Result<(), E> {
    error.replace(Some(ConfigError::new(
        field,
        format!("expected {expected}, found {found}"),
    )));
    Err(E::custom(field))
}

/// The `visit_*` methods of a key-field visitor for the JSON types it does not take; each
/// calls the visitor's `fail` with a description of what was found.
macro_rules! reject_scalars {
    () => {
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            self.fail("null")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
            self.fail(&format!("boolean {v}"))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
            self.fail(&format!("number {v}"))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
            self.fail(&format!("number {v}"))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
            self.fail(&format!("number {v}"))
        }
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
            self.fail("an object")
        }
    };
}

/// One string element of a key field, handed to `each` where the parser holds it (no copy):
/// the number of entries it adds, or the problem with it.
struct StrSeed<F>(F);

impl<'de, F: FnOnce(&str) -> Result<usize, String>> DeserializeSeed<'de> for StrSeed<F> {
    type Value = Result<usize, String>;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de, F: FnOnce(&str) -> Result<usize, String>> Visitor<'de> for StrSeed<F> {
    type Value = Result<usize, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok((self.0)(text))
    }
}

/// Streams the string elements of the array `field` through `each`; the total of the entries
/// they add. A problem is recorded in `error` with the element's path (`field[i]`); an element
/// of the wrong type is described as not being `element` (`expected <element>, found …`).
fn stream_strings<'de, A: SeqAccess<'de>>(
    mut seq: A,
    field: &str,
    element: &str,
    error: &RefCell<Option<ConfigError>>,
    each: &mut dyn FnMut(&str) -> Result<usize, String>,
) -> Result<usize, A::Error> {
    let mut total = 0usize;
    let mut index = 0usize;
    loop {
        let path = || format!("{field}[{index}]");
        let added = match seq.next_element_seed(StrSeed(|text: &str| each(text))) {
            Ok(Some(added)) => added,
            Ok(None) => return Ok(total),
            Err(e) => {
                let problem = e.to_string();
                let problem = problem.split(" at line ").next().unwrap_or_default();
                let problem =
                    problem.replace("invalid type: ", &format!("expected {element}, found "));
                let problem = problem.split(", expected").next().unwrap_or_default();
                error.replace(Some(ConfigError::new(path(), problem)));
                return Err(e);
            }
        };
        match added {
            Ok(n) => total += n,
            Err(problem) => {
                error.replace(Some(ConfigError::new(path(), problem)));
                return Err(de::Error::custom(field));
            }
        }
        index += 1;
    }
}

/// Streams `leaked_keys` into the builder.
struct KeysSeed<'a> {
    builder: &'a mut KeySetBuilder,
    count: &'a mut usize,
    error: &'a RefCell<Option<ConfigError>>,
}

impl<'de> DeserializeSeed<'de> for KeysSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeysSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of AccessKey IDs")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let builder = self.builder;
        *self.count = stream_strings(seq, "leaked_keys", "a string", self.error, &mut |entry| {
            add_key_entry(entry, builder).map(|()| 1)
        })?;
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.fail("a string")
    }

    reject_scalars!();
}

impl KeysSeed<'_> {
    fn fail<E: de::Error>(&self, found: &str) -> Result<(), E> {
        wrong_type(
            self.error,
            "leaked_keys",
            "an array of AccessKey IDs",
            found,
        )
    }
}

/// Decodes one `leaked_keys_packed` block into the builder: the number of entries, or the
/// problem with it.
fn add_packed_block(text: &str, builder: &mut KeySetBuilder) -> Result<usize, String> {
    let mut out_of_order = false;
    let n = super::packed::decode(text, &mut |entry| {
        out_of_order |= !builder.add_digest_prefix(entry);
    })?;
    if out_of_order {
        return Err(
            "its first entry is not greater than the last entry of the block before: entries must be sorted ascending across the blocks, without repeats"
                .into(),
        );
    }
    Ok(n)
}

/// Decodes `leaked_keys_packed` (see [`super::packed`]) straight into the builder: one
/// base64 string, or an array of them.
struct PackedSeed<'a> {
    builder: &'a mut KeySetBuilder,
    count: &'a mut usize,
    error: &'a RefCell<Option<ConfigError>>,
}

impl<'de> DeserializeSeed<'de> for PackedSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

const PACKED_EXPECTED: &str = "a base64 string or an array of them";

impl<'de> Visitor<'de> for PackedSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PACKED_EXPECTED)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        match add_packed_block(text, self.builder) {
            Ok(n) => {
                *self.count += n;
                Ok(())
            }
            Err(problem) => {
                self.error
                    .replace(Some(ConfigError::new("leaked_keys_packed", problem)));
                Err(E::custom("leaked_keys_packed"))
            }
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let builder = self.builder;
        *self.count += stream_strings(
            seq,
            "leaked_keys_packed",
            "a base64 string",
            self.error,
            &mut |block| add_packed_block(block, builder),
        )?;
        Ok(())
    }

    reject_scalars!();
}

impl PackedSeed<'_> {
    fn fail<E: de::Error>(&self, found: &str) -> Result<(), E> {
        wrong_type(self.error, "leaked_keys_packed", PACKED_EXPECTED, found)
    }
}

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

fn product_of(catalog: &Catalog, path: &str, value: &Value) -> Result<ProductIndex, ConfigError> {
    let id = value
        .as_str()
        .ok_or_else(|| expected(path, "a product id", value))?;
    catalog.product_index(id).ok_or_else(|| {
        let known: Vec<&str> = catalog.products.iter().map(|p| p.id.as_str()).collect();
        ConfigError::new(
            path,
            format!("unknown product {id:?} (known: {})", known.join(", ")),
        )
    })
}

fn apply_extra_operations(catalog: &mut Catalog, value: &Value) -> Result<usize, ConfigError> {
    let entries = value
        .as_array()
        .ok_or_else(|| expected("extra_operations", "an array", value))?;
    let mut added = 0;
    for (i, entry) in entries.iter().enumerate() {
        let path = format!("extra_operations[{i}]");
        let object = entry
            .as_object()
            .ok_or_else(|| expected(&path, "an object with product and actions", entry))?;
        if let Some(unknown) = object.keys().find(|k| *k != "product" && *k != "actions") {
            return Err(ConfigError::new(
                format!("{path}.{unknown}"),
                "unknown field (known fields: product, actions)",
            ));
        }
        let product_value = object
            .get("product")
            .ok_or_else(|| ConfigError::new(format!("{path}.product"), "missing"))?;
        let product = product_of(catalog, &format!("{path}.product"), product_value)?;
        let actions_path = format!("{path}.actions");
        let actions = object
            .get("actions")
            .ok_or_else(|| ConfigError::new(&actions_path, "missing"))?;
        let actions = actions
            .as_array()
            .ok_or_else(|| expected(&actions_path, "an array of action names", actions))?;
        if actions.is_empty() {
            return Err(ConfigError::new(
                actions_path,
                "must list at least one action",
            ));
        }
        for (j, action) in actions.iter().enumerate() {
            let action_path = format!("{actions_path}[{j}]");
            let name = action
                .as_str()
                .ok_or_else(|| expected(&action_path, "an action name", action))?;
            if !super::decision::is_plain_action(name.as_bytes()) {
                return Err(ConfigError::new(
                    action_path,
                    format!("{name:?} is not an action name (a letter, then letters and digits)"),
                ));
            }
            catalog.add_operation(product, name);
            added += 1;
        }
    }
    Ok(added)
}

fn parse_endpoints(catalog: &Catalog, value: &Value) -> Result<Endpoints, ConfigError> {
    let object = value
        .as_object()
        .ok_or_else(|| expected("endpoints", "an object of host → product id", value))?;
    let mut endpoints = Endpoints::default();
    for (pattern, product) in object {
        let path = format!("endpoints.{pattern:?}");
        let (wildcard, host) = match pattern.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, pattern.as_str()),
        };
        let normalized = normalize_host(host.as_bytes());
        let valid = !normalized.is_empty()
            && normalized == host.to_ascii_lowercase()
            && normalized
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && !normalized.starts_with('.');
        if !valid {
            return Err(ConfigError::new(
                path,
                "expected a host name (letters, digits, '-', '.'; no port) or \"*.\" followed by one",
            ));
        }
        let product = product_of(catalog, &path, product)?;
        let key = if wildcard {
            format!("*.{normalized}")
        } else {
            normalized
        };
        endpoints.add(&key, product);
    }
    Ok(endpoints)
}

/// Parses and validates a configuration. Empty input (or only whitespace) is a valid
/// configuration that protects nothing.
pub fn load(mut bytes: &[u8]) -> Result<Loaded, ConfigError> {
    let size = bytes.len();
    load_with(&mut bytes, size, true)
}

/// [`load`], reading the text from `reader` as it goes; `size_hint` is the text's length
/// when known (0 otherwise), used to size the read buffer.
pub fn load_from(mut reader: impl Read, size_hint: usize) -> Result<Loaded, ConfigError> {
    load_with(&mut reader, size_hint, true)
}

/// One rule's own configuration: the top-level fields, without `_rules_`.
fn load_rule(mut bytes: &[u8]) -> Result<(Policy, Vec<String>), ConfigError> {
    let size = bytes.len();
    load_with(&mut bytes, size, false).map(|loaded| (loaded.policy, loaded.warnings))
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

/// One instance of the parser for every reader: the module carries it once.
fn load_with(
    reader: &mut dyn Read,
    size_hint: usize,
    allow_rules: bool,
) -> Result<Loaded, ConfigError> {
    let mut warnings = Vec::new();
    let mut catalog = Catalog::embedded().map_err(|e| ConfigError::new("(embedded list)", e))?;
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
    let mut mode = Mode::Enforce;
    let mut deny_all_calls = false;
    let mut endpoints = Endpoints::default();
    let mut max_body_bytes = DEFAULT_MAX_BODY_BYTES;
    let mut extra_operations = 0;
    let mut hold_headers = false;
    let mut rules = Vec::new();
    let mut rule_warnings = Vec::new();
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
            "hold_headers" => {
                hold_headers = value
                    .as_bool()
                    .ok_or_else(|| expected("hold_headers", "a boolean", value))?
            }
            "extra_operations" => extra_operations = apply_extra_operations(&mut catalog, value)?,
            "endpoints" => endpoints = parse_endpoints(&catalog, value)?,
            RULES_FIELD => rules = rules::parse(value, &load_rule, &mut rule_warnings)?,
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
            endpoints,
            max_body_bytes,
            hold_headers,
            keys_given: key_count,
            extra_operations,
            rules,
        },
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:ca3c6321754a4fb2cfc27855b6d122984140a024f0cfa8437130229ab676227a";

    #[test]
    fn accepts_a_full_configuration() {
        let text = format!(
            r#"{{"leaked_keys": ["LTAI5tLeakedKeyExample01", "STS.abc", "{DIGEST}", "LTAI5tLeakedKeyExample01"],
                "mode": "shadow", "deny_all_calls": true, "max_body_bytes": 4096, "hold_headers": true,
                "extra_operations": [{{"product": "ecs", "actions": ["DescribeInstances"]}}],
                "endpoints": {{"ecs.internal.example": "ecs", "*.rds.example": "rds"}}}}"#
        );
        let loaded = load(text.as_bytes()).unwrap();
        let p = &loaded.policy;
        assert!(loaded.warnings.is_empty());
        assert_eq!(p.keys.len(), 3);
        assert_eq!(p.keys_given, 4);
        assert!(p.keys.contains(b"LTAI5tLeakedKeyExample01"));
        assert!(p.keys.contains(b"LTAI5tHashedKey01"));
        assert!(p.keys.contains(b"STS.abc"));
        assert_eq!(p.mode, Mode::Shadow);
        assert!(p.deny_all_calls);
        assert_eq!(p.max_body_bytes, 4096);
        assert!(p.hold_headers);
        assert_eq!(p.endpoints.len(), 2);
        assert_eq!(p.extra_operations, 1);
        let ecs = p.catalog.product_index("ecs").unwrap();
        assert!(p.catalog.is_listed(ecs, b"describeinstances"));
    }

    #[test]
    fn accepts_leaked_keys_packed_alongside_leaked_keys() {
        let block =
            super::super::packed::encode_entries(["LTAI5tPackedKey01", DIGEST, "STS.packed"])
                .unwrap();
        let text =
            format!(r#"{{"leaked_keys_packed": "{block}", "leaked_keys": ["LTAI5tPlainKey01"]}}"#);
        let p = load(text.as_bytes()).unwrap().policy;
        assert_eq!(p.keys_given, 4);
        assert_eq!(p.keys.len(), 4);
        for key in [
            "LTAI5tPackedKey01",
            "LTAI5tHashedKey01",
            "STS.packed",
            "LTAI5tPlainKey01",
        ] {
            assert!(p.keys.contains(key.as_bytes()), "{key}");
        }
        assert!(!p.keys.contains(b"LTAI5tPackedKey02"));
        let empty = load(br#"{"leaked_keys_packed": ""}"#).unwrap();
        assert!(empty.policy.keys.is_empty());
        assert_eq!(empty.warnings.len(), 1);
    }

    /// Hands out at most `step` bytes a read, and fails at `fail_at` when given.
    struct Trickle<'a> {
        text: &'a [u8],
        step: usize,
        fail_at: Option<usize>,
        at: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.fail_at.is_some_and(|f| self.at >= f) {
                return Err(io::Error::other("host buffer gone"));
            }
            let n = buf.len().min(self.step).min(self.text.len() - self.at);
            buf[..n].copy_from_slice(&self.text[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn trickle(text: &[u8], step: usize) -> Trickle<'_> {
        Trickle {
            text,
            step,
            fail_at: None,
            at: 0,
        }
    }

    #[test]
    fn accepts_leaked_keys_packed_as_an_array_of_blocks() {
        let keys: Vec<String> = (0..50).map(|i| format!("LTAI5tPackedKey{i:03}")).collect();
        let mut entries: Vec<[u8; 8]> = keys
            .iter()
            .map(|k| super::super::packed::entry_of_key(k.as_bytes()))
            .collect();
        entries.sort_unstable();
        let blocks: Vec<String> = entries
            .chunks(7)
            .map(|c| super::super::packed::encode(c.to_vec()))
            .collect();
        let text = format!(
            r#"{{"leaked_keys_packed": {}, "leaked_keys": ["{DIGEST}"]}}"#,
            serde_json::to_string(&blocks).unwrap()
        );
        let p = load(text.as_bytes()).unwrap().policy;
        assert_eq!(p.keys_given, 51);
        assert_eq!(p.keys.len(), 51);
        for key in keys.iter().map(String::as_str).chain(["LTAI5tHashedKey01"]) {
            assert!(p.keys.contains(key.as_bytes()), "{key}");
        }
        assert!(!p.keys.contains(b"LTAI5tPackedKey050"));

        let mut swapped = blocks.clone();
        swapped.swap(2, 3);
        let text = format!(
            r#"{{"leaked_keys_packed": {}}}"#,
            serde_json::to_string(&swapped).unwrap()
        );
        let err = load(text.as_bytes()).unwrap_err();
        assert_eq!(err.path, "leaked_keys_packed[3]", "{err}");
        assert!(
            err.problem.contains("sorted ascending across the blocks"),
            "{err}"
        );

        for (text, path, problem) in [
            (
                r#"{"leaked_keys_packed": ["ungWv48Bz+o=", 5]}"#,
                "leaked_keys_packed[1]",
                "expected a base64 string, found integer `5`",
            ),
            (
                r#"{"leaked_keys_packed": ["ungWv48Bz+o"]}"#,
                "leaked_keys_packed[0]",
                "not canonical base64",
            ),
            (
                r#"{"leaked_keys_packed": ["ungWv48Bz+o=", "ungWv48Bz+o="]}"#,
                "leaked_keys_packed[1]",
                "without repeats",
            ),
        ] {
            let err = load(text.as_bytes()).expect_err(text);
            assert_eq!(err.path, path, "{text}: {err}");
            assert!(err.problem.contains(problem), "{text}: {err}");
        }
        let empty = load(br#"{"leaked_keys_packed": []}"#).unwrap();
        assert!(empty.policy.keys.is_empty());
        assert_eq!(empty.warnings.len(), 1);
    }

    #[test]
    fn a_configuration_read_in_pieces_loads_the_same() {
        let block = super::super::packed::encode_entries(["LTAI5tPackedKey01", DIGEST]).unwrap();
        let text = format!(
            "  \n{{\"leaked_keys\": [\"LTAI5tPlainKey01\", \"{DIGEST}\"], \"leaked_keys_packed\": [\"{block}\"],\n \"mode\": \"shadow\", \"endpoints\": {{\"ecs.corp.example\": \"ecs\"}}}}\n"
        );
        let whole = load(text.as_bytes()).unwrap();
        for step in [1, 2, 7, 64] {
            for hint in [0, text.len(), 3] {
                let loaded = load_from(trickle(text.as_bytes(), step), hint).unwrap();
                let (a, b) = (&loaded.policy, &whole.policy);
                assert_eq!(a.keys.len(), b.keys.len(), "step {step}");
                assert_eq!(a.keys_given, 4);
                assert_eq!(a.mode, Mode::Shadow);
                assert_eq!(a.endpoints.len(), 1);
                for key in ["LTAI5tPlainKey01", "LTAI5tHashedKey01", "LTAI5tPackedKey01"] {
                    assert!(a.keys.contains(key.as_bytes()), "step {step}: {key}");
                }
                assert_eq!(loaded.warnings, whole.warnings);
            }
        }
        let blank = load_from(trickle(b" \n\t ", 1), 4).unwrap();
        assert!(blank.policy.keys.is_empty());
        assert!(blank.warnings[0].contains("the configuration is empty"));

        let bad = br#"{"leaked_keys": ["LTAI5tPlainKey01", "LTAI 5"]}"#;
        let err = load_from(trickle(bad, 3), bad.len()).unwrap_err();
        assert_eq!(err.path, "leaked_keys[1]");
        assert_eq!(err, load(bad).unwrap_err());
        let truncated = &text.as_bytes()[..text.len() / 2];
        let err = load_from(trickle(truncated, 5), text.len()).unwrap_err();
        assert_eq!(err.path, "configuration");
        assert!(err.problem.starts_with("not valid JSON"), "{err}");
    }

    #[test]
    fn a_read_failure_rejects_the_configuration() {
        let text =
            br#"{"leaked_keys": ["LTAI5tPlainKey01", "LTAI5tPlainKey02"], "mode": "shadow"}"#;
        for fail_at in [0, 1, 20, 60] {
            let reader = Trickle {
                text,
                step: 4,
                fail_at: Some(fail_at),
                at: 0,
            };
            let err = load_from(reader, text.len()).unwrap_err();
            assert_eq!(err.path, "configuration", "fail at {fail_at}");
            assert!(
                err.problem.starts_with("could not be read: ")
                    && err.problem.contains("host buffer gone"),
                "fail at {fail_at}: {err}"
            );
        }
    }

    #[test]
    fn rejects_bad_leaked_keys_packed() {
        for (text, problem) in [
            (
                r#"{"leaked_keys_packed": {"a": "x"}}"#,
                "expected a base64 string or an array of them, found an object",
            ),
            (
                r#"{"leaked_keys_packed": 1}"#,
                "expected a base64 string or an array of them, found number 1",
            ),
            (r#"{"leaked_keys_packed": "ungW"}"#, "multiple of 8"),
            (
                r#"{"leaked_keys_packed": "ungWv48Bz+o"}"#,
                "not canonical base64",
            ),
            (r#"{"leaked_keys_packed": "ungW-v48Bz+o="}"#, "not base64"),
        ] {
            let err = load(text.as_bytes()).expect_err(text);
            assert_eq!(err.path, "leaked_keys_packed", "{text}: {err}");
            assert!(err.problem.contains(problem), "{text}: {err}");
        }
    }

    #[test]
    fn defaults_and_empty_configurations() {
        for text in ["", "  \n", "{}", r#"{"leaked_keys": []}"#] {
            let loaded = load(text.as_bytes()).unwrap();
            assert!(loaded.policy.keys.is_empty(), "{text:?}");
            assert_eq!(loaded.warnings.len(), 1, "{text:?}");
            assert_eq!(loaded.policy.mode, Mode::Enforce);
            assert!(!loaded.policy.deny_all_calls);
            assert_eq!(loaded.policy.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        }
        let struct_number = load(br#"{"leaked_keys":["LTAIx"],"max_body_bytes": 2048.0}"#).unwrap();
        assert_eq!(struct_number.policy.max_body_bytes, 2048);
    }

    #[test]
    fn rejects_with_the_field_path() {
        let cases: &[(&str, &str, &str)] = &[
            ("[1]", "configuration", "expected a JSON object"),
            ("\"x\"", "configuration", "expected a JSON object"),
            ("{", "configuration", "not valid JSON"),
            ("{} x", "configuration", "not valid JSON"),
            (r#"{"leaked_key": []}"#, "leaked_key", "unknown field"),
            (
                r#"{"mode": "enforce", "mode": "shadow"}"#,
                "mode",
                "given twice",
            ),
            (
                r#"{"leaked_keys": "LTAIx"}"#,
                "leaked_keys",
                "expected an array of AccessKey IDs, found a string",
            ),
            (
                r#"{"leaked_keys": {"a": 1}}"#,
                "leaked_keys",
                "found an object",
            ),
            (r#"{"leaked_keys": null}"#, "leaked_keys", "found null"),
            (
                r#"{"leaked_keys": ["LTAIa", "LTAIb", "LTAIc", 7]}"#,
                "leaked_keys[3]",
                "expected a string, found integer `7`",
            ),
            (
                r#"{"leaked_keys": ["LTAIa", ""]}"#,
                "leaked_keys[1]",
                "must not be empty",
            ),
            (
                r#"{"leaked_keys": ["LTAI a"]}"#,
                "leaked_keys[0]",
                "found ' '",
            ),
            (
                r#"{"leaked_keys": ["LTAI-a"]}"#,
                "leaked_keys[0]",
                "found '-'",
            ),
            (
                r#"{"leaked_keys": ["sha256:abc"]}"#,
                "leaked_keys[0]",
                "64 lowercase hex",
            ),
            (
                r#"{"leaked_keys": ["sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"]}"#,
                "leaked_keys[0]",
                "64 lowercase hex",
            ),
            (
                r#"{"mode": "block"}"#,
                "mode",
                "expected \"enforce\" or \"shadow\", found \"block\"",
            ),
            (r#"{"mode": 1}"#, "mode", "found number 1"),
            (
                r#"{"deny_all_calls": "yes"}"#,
                "deny_all_calls",
                "expected a boolean, found a string",
            ),
            (
                r#"{"hold_headers": 1}"#,
                "hold_headers",
                "expected a boolean, found number 1",
            ),
            (
                r#"{"max_body_bytes": 0}"#,
                "max_body_bytes",
                "between 1 and",
            ),
            (
                r#"{"max_body_bytes": -5}"#,
                "max_body_bytes",
                "a whole number",
            ),
            (
                r#"{"max_body_bytes": 1.5}"#,
                "max_body_bytes",
                "a whole number",
            ),
            (
                r#"{"extra_operations": {}}"#,
                "extra_operations",
                "expected an array",
            ),
            (
                r#"{"extra_operations": [1]}"#,
                "extra_operations[0]",
                "expected an object",
            ),
            (
                r#"{"extra_operations": [{"product": "nope", "actions": ["A"]}]}"#,
                "extra_operations[0].product",
                "unknown product \"nope\"",
            ),
            (
                r#"{"extra_operations": [{"product": "ecs"}]}"#,
                "extra_operations[0].actions",
                "missing",
            ),
            (
                r#"{"extra_operations": [{"actions": ["A"]}]}"#,
                "extra_operations[0].product",
                "missing",
            ),
            (
                r#"{"extra_operations": [{"product": "ecs", "actions": []}]}"#,
                "extra_operations[0].actions",
                "at least one",
            ),
            (
                r#"{"extra_operations": [{"product": "ecs", "actions": ["Ok", "Not ok"]}]}"#,
                "extra_operations[0].actions[1]",
                "not an action name",
            ),
            (
                r#"{"extra_operations": [{"product": "ecs", "actions": ["A"], "x": 1}]}"#,
                "extra_operations[0].x",
                "unknown field",
            ),
            (r#"{"endpoints": []}"#, "endpoints", "expected an object"),
            (
                r#"{"endpoints": {"api.example": "nope"}}"#,
                "endpoints.\"api.example\"",
                "unknown product",
            ),
            (
                r#"{"endpoints": {"api.example:443": "ecs"}}"#,
                "endpoints.\"api.example:443\"",
                "expected a host name",
            ),
            (
                r#"{"endpoints": {"a*.example": "ecs"}}"#,
                "endpoints.\"a*.example\"",
                "expected a host name",
            ),
            (
                r#"{"endpoints": {"": "ecs"}}"#,
                "endpoints.\"\"",
                "expected a host name",
            ),
            (
                r#"{"endpoints": {"api.example": 3}}"#,
                "endpoints.\"api.example\"",
                "expected a product id",
            ),
        ];
        for (text, path, problem) in cases {
            let err = load(text.as_bytes()).expect_err(text);
            assert_eq!(err.path, *path, "{text}: {err}");
            assert!(err.problem.contains(problem), "{text}: {err}");
            assert!(err.to_string().starts_with(&format!("{path}: ")));
        }
    }
}
