//! `key_feed`: where the filter fetches the signed leaked-key feed (see [`super::super::feed`])
//! from, how often, and the public key that signs it.

use super::super::feed::{self, KEY_BYTES};
use super::error::{expected, ConfigError};
use serde_json::{Map, Value};

/// The field.
pub const KEY_FEED_FIELD: &str = "key_feed";

/// Default `poll_seconds`.
pub const DEFAULT_POLL_SECONDS: u64 = 10;
/// Largest `poll_seconds`: a day.
pub const MAX_POLL_SECONDS: u64 = 86_400;
/// Default `timeout_ms`.
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;
/// Largest `timeout_ms`.
pub const MAX_TIMEOUT_MS: u64 = 60_000;
/// Default `max_bytes`: 16 MiB, room for about 1.5 million keys.
pub const DEFAULT_MAX_FEED_BYTES: u64 = 16 << 20;
/// Largest `max_bytes`.
pub const MAX_MAX_FEED_BYTES: u64 = 64 << 20;

const FIELDS: &[&str] = &[
    "cluster",
    "path",
    "authority",
    "poll_seconds",
    "timeout_ms",
    "max_bytes",
    "public_key",
];

/// An accepted `key_feed`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyFeed {
    /// The Envoy cluster of the source.
    pub cluster: String,
    /// The request path, starting with `/`.
    pub path: String,
    /// The `:authority` of the request; the cluster's name when not given.
    pub authority: String,
    pub poll_seconds: u64,
    pub timeout_ms: u64,
    pub max_bytes: u64,
    pub public_key: [u8; KEY_BYTES],
}

fn path_of(name: &str) -> String {
    format!("{KEY_FEED_FIELD}.{name}")
}

fn text<'a>(object: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, ConfigError> {
    match object.get(name) {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() && !s.chars().any(char::is_control) => Ok(Some(s)),
        Some(Value::String(_)) => Err(ConfigError::new(
            path_of(name),
            "expected a non-empty string without control characters",
        )),
        Some(other) => Err(expected(&path_of(name), "a string", other)),
    }
}

fn number(
    object: &Map<String, Value>,
    name: &str,
    default: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let Some(value) = object.get(name) else {
        return Ok(default);
    };
    let n = value
        .as_u64()
        .ok_or_else(|| expected(&path_of(name), "a whole number", value))?;
    if n == 0 || n > max {
        return Err(ConfigError::new(
            path_of(name),
            format!("must be between 1 and {max}, found {n}"),
        ));
    }
    Ok(n)
}

/// Reads `key_feed`, naming the field of any problem (`key_feed.public_key: …`).
pub fn parse(value: &Value) -> Result<KeyFeed, ConfigError> {
    let object = value
        .as_object()
        .ok_or_else(|| expected(KEY_FEED_FIELD, "an object", value))?;
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(ConfigError::new(
            path_of(unknown),
            format!("unknown field (known fields: {})", FIELDS.join(", ")),
        ));
    }
    let required = |name: &str| {
        text(object, name)?
            .ok_or_else(|| ConfigError::new(path_of(name), "missing (a key feed needs it)"))
    };
    let cluster = required("cluster")?.to_string();
    let path = required("path")?.to_string();
    if !path.starts_with('/') {
        return Err(ConfigError::new(
            path_of("path"),
            format!("expected a path starting with '/', found {path:?}"),
        ));
    }
    let public_key = feed::public_key(required("public_key")?)
        .map_err(|problem| ConfigError::new(path_of("public_key"), problem))?;
    let authority = text(object, "authority")?.unwrap_or(&cluster).to_string();
    Ok(KeyFeed {
        authority,
        cluster,
        path,
        poll_seconds: number(
            object,
            "poll_seconds",
            DEFAULT_POLL_SECONDS,
            MAX_POLL_SECONDS,
        )?,
        timeout_ms: number(object, "timeout_ms", DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS)?,
        max_bytes: number(
            object,
            "max_bytes",
            DEFAULT_MAX_FEED_BYTES,
            MAX_MAX_FEED_BYTES,
        )?,
        public_key,
    })
}
