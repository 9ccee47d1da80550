//! What a new key set changes against the one in force: how many keys are added, removed and
//! unchanged, whatever either is written as (plain IDs, `sha256:` entries, packed blocks): keys
//! compare by the first 8 bytes of their SHA-256, as packed entries do. Counts only; the
//! entries themselves only when asked for.

use akguard::core::config::{parse_key_entry, KeyEntry};
use akguard::core::packed::{self, PackedEntry};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// The keys a configuration holds (`leaked_keys` and `leaked_keys_packed`), each with how it
/// is written (a packed entry as `packed:` and its hex).
pub type Keys = BTreeMap<PackedEntry, String>;

/// The keys a configuration holds.
pub fn keys_of(configuration: &Map<String, Value>) -> Result<Keys, String> {
    let mut keys = Keys::new();
    if let Some(entries) = configuration.get("leaked_keys").and_then(Value::as_array) {
        for (i, entry) in entries.iter().enumerate() {
            let text = entry
                .as_str()
                .ok_or_else(|| format!("leaked_keys[{i}]: expected a string"))?;
            let entry = match parse_key_entry(text) {
                Ok(KeyEntry::Plain(key)) => packed::entry_of_key(key.as_bytes()),
                Ok(KeyEntry::Digest(digest)) => packed::entry_of_digest(&digest),
                Err(problem) => return Err(format!("leaked_keys[{i}]: {problem}")),
            };
            keys.insert(entry, text.to_string());
        }
    }
    let blocks: Vec<&str> = match configuration.get("leaked_keys_packed") {
        Some(Value::String(block)) => vec![block],
        Some(Value::Array(blocks)) => blocks.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    for block in blocks {
        packed::decode(block, &mut |entry| {
            let hex: String = entry.iter().map(|b| format!("{b:02x}")).collect();
            keys.insert(entry, format!("packed:{hex}"));
        })
        .map_err(|e| format!("leaked_keys_packed: {e}"))?;
    }
    Ok(keys)
}

/// How two key sets differ.
#[derive(Debug, PartialEq, Eq)]
pub struct Changes {
    pub added: usize,
    pub removed: usize,
    pub unchanged: usize,
}

/// What `new` changes against `old`.
pub fn compare(old: &Keys, new: &Keys) -> Changes {
    let unchanged = old.keys().filter(|k| new.contains_key(*k)).count();
    Changes {
        added: new.len() - unchanged,
        removed: old.len() - unchanged,
        unchanged,
    }
}

/// The entries added (`+ entry`) and removed (`- entry`), as each configuration writes them,
/// each group in order.
pub fn listed(old: &Keys, new: &Keys) -> Vec<String> {
    let only_in = |these: &Keys, other: &Keys, sign: char| {
        let mut lines: Vec<String> = these
            .iter()
            .filter(|(k, _)| !other.contains_key(*k))
            .map(|(_, text)| format!("{sign} {text}"))
            .collect();
        lines.sort();
        lines
    };
    let mut lines = only_in(new, old, '+');
    lines.extend(only_in(old, new, '-'));
    lines
}

impl fmt::Display for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "leaked keys: {} added, {} removed, {} unchanged ({} before, {} now)",
            self.added,
            self.removed,
            self.unchanged,
            self.removed + self.unchanged,
            self.added + self.unchanged
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(value: Value) -> Keys {
        keys_of(value.as_object().unwrap_or(&Map::new())).unwrap_or_default()
    }

    #[test]
    fn compares_across_encodings() {
        let a = "LTAI5tChangeKey000000001";
        let b = "LTAI5tChangeKey000000002";
        let c = "LTAI5tChangeKey000000003";
        let digest_b: String = akguard::core::keyset::sha256(b.as_bytes())
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect();
        let block = packed::encode_entries([b, c]).unwrap_or_default();
        let old = keys(json!({"leaked_keys": [a, format!("sha256:{digest_b}")]}));
        let new = keys(json!({"leaked_keys_packed": [block]}));
        assert_eq!(
            compare(&old, &new),
            Changes {
                added: 1,
                removed: 1,
                unchanged: 1
            }
        );
        assert_eq!(
            compare(&old, &new).to_string(),
            "leaked keys: 1 added, 1 removed, 1 unchanged (2 before, 2 now)"
        );
        assert!(keys_of(
            json!({"leaked_keys": [" x"]})
                .as_object()
                .unwrap_or(&Map::new())
        )
        .is_err());
    }
}
