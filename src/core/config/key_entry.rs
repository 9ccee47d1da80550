//! One `leaked_keys` entry: a plain AccessKey ID (of a shape [`super::key_shape`] accepts) or
//! a `sha256:` digest, checked and added to the key set.

use super::super::keyset::KeySetBuilder;
use super::key_shape::{check_key, Unusual};

pub use super::key_shape::MAX_KEY_LEN;

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
    read_key_entry(entry).map(|(entry, _)| entry)
}

/// [`parse_key_entry`], with what is unusual about a plain ID's shape.
pub fn read_key_entry(entry: &str) -> Result<(KeyEntry<'_>, Option<Unusual>), String> {
    if let Some(hex) = entry.strip_prefix("sha256:") {
        let digest = parse_digest(hex).ok_or_else(|| digest_problem(hex))?;
        return Ok((KeyEntry::Digest(digest), None));
    }
    let unusual = check_key(entry)?;
    Ok((KeyEntry::Plain(entry), unusual))
}

/// What is wrong with the digest of a `sha256:` entry.
fn digest_problem(hex: &str) -> String {
    let base = "a sha256 entry must be \"sha256:\" followed by 64 lowercase hex digits";
    let bytes = hex.as_bytes();
    if bytes.len() == 64 && bytes.iter().all(u8::is_ascii_hexdigit) {
        format!("{base}, found uppercase ones: write them in lowercase")
    } else if bytes.iter().all(u8::is_ascii_hexdigit) {
        format!("{base}, found {} hex digits", bytes.len())
    } else {
        base.to_string()
    }
}

/// Checks one `leaked_keys` entry and adds it to the set; what is unusual about its shape.
pub(crate) fn add_key_entry(
    entry: &str,
    builder: &mut KeySetBuilder,
) -> Result<Option<Unusual>, String> {
    let (entry, unusual) = read_key_entry(entry)?;
    match entry {
        KeyEntry::Plain(key) => builder.add_plain(key.as_bytes()),
        KeyEntry::Digest(digest) => builder.add_digest(&digest),
    }
    Ok(unusual)
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
