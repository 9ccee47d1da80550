//! One `leaked_keys` entry: a plain AccessKey ID or a `sha256:` digest, checked and added to
//! the key set.

use super::super::keyset::KeySetBuilder;

/// Longest accepted AccessKey ID.
pub const MAX_KEY_LEN: usize = 256;

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
pub(crate) fn add_key_entry(entry: &str, builder: &mut KeySetBuilder) -> Result<(), String> {
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
