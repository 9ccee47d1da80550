//! The signed leaked-key feed: a set of packed keys with a version and a publication time,
//! signed with Ed25519, that a filter fetches from an HTTP source and applies without a
//! configuration push.
//!
//! A feed document is text:
//!
//! ```text
//! akguard-feed 1 <signature: base64 of 64 bytes>
//! version <whole number>
//! published <Unix seconds>
//!
//! <leaked_keys_packed blocks, one a line>
//! ```
//!
//! The signature covers every byte after the first line's newline (the version, the
//! publication time and the keys), so neither can be changed or replayed under another
//! version. A document is applied only when its signature verifies against the configured
//! public key and its version is greater than the one in force ([`read`]); anything else
//! leaves the set in force as it is, with a [`FeedProblem`] that says why.

use super::keyset::{KeySet, KeySetBuilder};
use super::packed;
use ed25519_compact::{KeyPair, PublicKey, Seed, Signature};

/// The first word of a feed document.
pub const MAGIC: &str = "akguard-feed";
/// The format version this filter reads.
pub const FORMAT: &str = "1";
/// Bytes of an Ed25519 public key (and of the seed a signing key is made from).
pub const KEY_BYTES: usize = 32;

/// Why a fetched document was not applied. [`FeedProblem::reason`] names it in one word for
/// a metric and a log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedProblem {
    /// Not a feed document: its header or its keys are malformed.
    Malformed(String),
    /// The signature does not verify against the configured public key.
    Signature,
    /// The version is not greater than the one in force.
    Replay { version: u64, in_force: u64 },
}

impl FeedProblem {
    pub fn reason(&self) -> &'static str {
        match self {
            FeedProblem::Malformed(_) => "malformed",
            FeedProblem::Signature => "signature",
            FeedProblem::Replay { .. } => "replay",
        }
    }
}

impl std::fmt::Display for FeedProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeedProblem::Malformed(why) => write!(f, "malformed feed: {why}"),
            FeedProblem::Signature => f.write_str("the signature does not verify"),
            FeedProblem::Replay { version, in_force } => write!(
                f,
                "version {version} is not newer than version {in_force} in force"
            ),
        }
    }
}

/// What the signed part of a document says about itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeedHeader {
    pub version: u64,
    /// Unix seconds.
    pub published: u64,
}

/// A verified, newer feed, ready to apply.
#[derive(Debug)]
pub struct Feed {
    pub header: FeedHeader,
    pub keys: KeySet,
    /// Entries in the document.
    pub entries: usize,
}

/// A public key from its base64 text (32 bytes), or what is wrong with it.
pub fn public_key(text: &str) -> Result<[u8; KEY_BYTES], String> {
    let bytes = packed::decode_bytes(text.trim())
        .ok_or("expected the base64 of a 32-byte Ed25519 public key")?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("expected 32 bytes, found {}", b.len()))
}

fn malformed(why: impl Into<String>) -> FeedProblem {
    FeedProblem::Malformed(why.into())
}

/// Splits off the first line: the line without its newline, and what follows.
fn first_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = bytes.iter().position(|b| *b == b'\n')?;
    Some((&bytes[..end], &bytes[end + 1..]))
}

/// A `<name> <whole number>` line of the header.
fn number_line(bytes: &[u8], name: &str) -> Result<(u64, usize), FeedProblem> {
    let (line, _) = first_line(bytes).ok_or_else(|| malformed(format!("no {name} line")))?;
    let text = std::str::from_utf8(line).map_err(|_| malformed(format!("bad {name} line")))?;
    let value = text
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix(' '))
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| malformed(format!("expected `{name} <whole number>`")))?;
    Ok((value, line.len() + 1))
}

/// Checks a document's signature against `public_key` and reads its header: the header and
/// the keys' text.
pub fn verify<'a>(
    document: &'a [u8],
    public_key: &[u8; KEY_BYTES],
) -> Result<(FeedHeader, &'a str), FeedProblem> {
    let (first, signed) = first_line(document).ok_or_else(|| malformed("no header line"))?;
    let first = std::str::from_utf8(first).map_err(|_| malformed("bad header line"))?;
    let mut words = first.split(' ');
    if words.next() != Some(MAGIC) {
        return Err(malformed(format!("does not start with `{MAGIC}`")));
    }
    if words.next() != Some(FORMAT) {
        return Err(malformed(format!("not format {FORMAT}")));
    }
    let signature = words
        .next()
        .and_then(packed::decode_bytes)
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .ok_or_else(|| malformed("no base64 signature of 64 bytes on the first line"))?;
    if words.next().is_some() {
        return Err(malformed("more than three words on the first line"));
    }
    PublicKey::new(*public_key)
        .verify(signed, &signature)
        .map_err(|_| FeedProblem::Signature)?;
    let (version, at) = number_line(signed, "version")?;
    let (published, more) = number_line(&signed[at..], "published")?;
    let rest = &signed[at + more..];
    let keys = rest
        .strip_prefix(b"\n")
        .ok_or_else(|| malformed("no blank line after the header"))?;
    let keys = std::str::from_utf8(keys).map_err(|_| malformed("the keys are not text"))?;
    Ok((FeedHeader { version, published }, keys))
}

/// Verifies a document ([`verify`]), refuses one whose version is not greater than
/// `in_force`, and builds its key set.
pub fn read(
    document: &[u8],
    public_key: &[u8; KEY_BYTES],
    in_force: Option<u64>,
) -> Result<Feed, FeedProblem> {
    let (header, text) = verify(document, public_key)?;
    if let Some(in_force) = in_force.filter(|v| header.version <= *v) {
        return Err(FeedProblem::Replay {
            version: header.version,
            in_force,
        });
    }
    let mut builder = KeySetBuilder::default();
    let mut out_of_order = false;
    let entries = packed::decode(text, &mut |entry| {
        out_of_order |= !builder.add_digest_prefix(entry);
    })
    .map_err(|why| malformed(format!("keys: {why}")))?;
    if out_of_order {
        return Err(malformed("keys: entries must be sorted ascending"));
    }
    Ok(Feed {
        header,
        keys: builder.build(),
        entries,
    })
}

/// The public key of the signing key made from `seed`.
pub fn public_key_of(seed: &[u8; KEY_BYTES]) -> [u8; KEY_BYTES] {
    *KeyPair::from_seed(Seed::new(*seed)).pk
}

/// Writes a signed document for `header` and packed `blocks` (one a line), signed with the
/// key made from `seed`.
pub fn sign(header: FeedHeader, blocks: &[String], seed: &[u8; KEY_BYTES]) -> String {
    let mut signed = format!(
        "version {}\npublished {}\n\n",
        header.version, header.published
    );
    for block in blocks {
        signed.push_str(block);
        signed.push('\n');
    }
    let pair = KeyPair::from_seed(Seed::new(*seed));
    let signature = pair.sk.sign(signed.as_bytes(), None);
    format!(
        "{MAGIC} {FORMAT} {}\n{signed}",
        packed::base64(signature.as_ref())
    )
}

/// The base64 text of a key.
pub fn key_text(key: &[u8; KEY_BYTES]) -> String {
    packed::base64(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::packed::{encode_blocks, entry_of_key};

    const SEED: [u8; KEY_BYTES] = [7; KEY_BYTES];

    fn document(version: u64, keys: &[&str]) -> String {
        let blocks = encode_blocks(keys.iter().map(|k| entry_of_key(k.as_bytes())).collect());
        let header = FeedHeader {
            version,
            published: 1_764_672_000 + version,
        };
        sign(header, &blocks, &SEED)
    }

    #[test]
    fn a_signed_document_reads_back() {
        let public = public_key_of(&SEED);
        let doc = document(
            3,
            &["LTAI5tFeedKey000000000001", "LTAI5tFeedKey000000000002"],
        );
        let feed = read(doc.as_bytes(), &public, Some(2)).unwrap();
        assert_eq!(feed.header.version, 3);
        assert_eq!(feed.header.published, 1_764_672_003);
        assert_eq!(feed.entries, 2);
        assert!(feed.keys.contains(b"LTAI5tFeedKey000000000001"));
        assert!(!feed.keys.contains(b"LTAI5tFeedKey000000000003"));
        let empty = read(document(1, &[]).as_bytes(), &public, None).unwrap();
        assert!(empty.keys.is_empty());
    }

    #[test]
    fn a_large_set_spans_several_lines() {
        let keys: Vec<String> = (0..20_000).map(|i| format!("LTAI5t{i:018}")).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let doc = document(1, &refs);
        assert!(doc.lines().count() > 5, "several blocks");
        let feed = read(doc.as_bytes(), &public_key_of(&SEED), None).unwrap();
        assert_eq!(feed.entries, 20_000);
        assert!(keys.iter().all(|k| feed.keys.contains(k.as_bytes())));
    }

    #[test]
    fn an_older_or_equal_version_is_refused() {
        let public = public_key_of(&SEED);
        let doc = document(5, &["LTAI5tFeedKey000000000001"]);
        for in_force in [5, 6] {
            assert_eq!(
                read(doc.as_bytes(), &public, Some(in_force)).unwrap_err(),
                FeedProblem::Replay {
                    version: 5,
                    in_force
                }
            );
        }
    }

    #[test]
    fn any_change_to_the_signed_part_breaks_the_signature() {
        let public = public_key_of(&SEED);
        let doc = document(5, &["LTAI5tFeedKey000000000001"]);
        let bumped = doc.replace("version 5", "version 9");
        assert_eq!(
            read(bumped.as_bytes(), &public, None).unwrap_err(),
            FeedProblem::Signature
        );
        let other_keys = document(5, &["LTAI5tFeedKey000000000002"]);
        let (sig_line, _) = doc.split_once('\n').unwrap();
        let (_, other_body) = other_keys.split_once('\n').unwrap();
        let spliced = format!("{sig_line}\n{other_body}");
        assert_eq!(
            read(spliced.as_bytes(), &public, None).unwrap_err(),
            FeedProblem::Signature
        );
        let truncated = &doc.as_bytes()[..doc.len() - 5];
        assert_eq!(
            read(truncated, &public, None).unwrap_err(),
            FeedProblem::Signature
        );
        let stranger = public_key_of(&[8; KEY_BYTES]);
        assert_eq!(
            read(doc.as_bytes(), &stranger, None).unwrap_err(),
            FeedProblem::Signature
        );
    }

    #[test]
    fn malformed_documents_are_named() {
        let public = public_key_of(&SEED);
        for (doc, says) in [
            ("", "no header line"),
            ("hello\n", "does not start"),
            ("akguard-feed 2 AAAA\n", "not format 1"),
            ("akguard-feed 1 AAAA\n", "64 bytes"),
        ] {
            let problem = read(doc.as_bytes(), &public, None).unwrap_err();
            assert_eq!(problem.reason(), "malformed");
            assert!(problem.to_string().contains(says), "{doc:?}: {problem}");
        }
        // Signed, but not a feed inside.
        let pair = KeyPair::from_seed(Seed::new(SEED));
        let signed = "version x\npublished 1\n\n";
        let sig = packed::base64(pair.sk.sign(signed.as_bytes(), None).as_ref());
        let doc = format!("{MAGIC} {FORMAT} {sig}\n{signed}");
        let problem = read(doc.as_bytes(), &public, None).unwrap_err();
        assert!(problem.to_string().contains("version"), "{problem}");
        let signed = "version 1\npublished 1\n\nnot base64!\n";
        let sig = packed::base64(pair.sk.sign(signed.as_bytes(), None).as_ref());
        let doc = format!("{MAGIC} {FORMAT} {sig}\n{signed}");
        let problem = read(doc.as_bytes(), &public, None).unwrap_err();
        assert!(
            problem.to_string().contains("keys: not base64"),
            "{problem}"
        );
    }

    #[test]
    fn public_keys_are_checked() {
        let public = public_key_of(&SEED);
        assert_eq!(public_key(&key_text(&public)).unwrap(), public);
        assert!(public_key("AAAA").unwrap_err().contains("32 bytes"));
        assert!(public_key("not base64").is_err());
    }
}
