//! `leaked_keys_packed`: a compact encoding of a very large leaked-key set.
//!
//! The block is standard base64 (RFC 4648 alphabet, `=` padding) of a sequence of 8-byte
//! entries. Each entry is the first 8 bytes of the SHA-256 digest of an AccessKey ID's bytes
//! (the same digest a `sha256:` entry of `leaked_keys` gives in full), and the entries are
//! sorted in ascending byte order with no repeats, so one set has exactly one encoding.
//! ASCII whitespace anywhere in the block is ignored, so it may be wrapped. A million keys
//! take 10.7 MB of base64, against about 27 MB as a JSON array of plain IDs and 72 MB as
//! `sha256:` strings.
//!
//! The field holds one such block, or an array of blocks whose entries, taken in order, are
//! sorted the same way; each block is whole (its own padding). The array lets a filter read
//! a very large set without ever holding its whole text: [`encode_blocks`] cuts a set into
//! blocks of [`BLOCK_ENTRIES`] entries (64 KiB of base64 each).
//!
//! [`encode_entries`] produces the block from `leaked_keys`-style entries (plain IDs or
//! `sha256:<hex>`), [`encode_entries_in_blocks`] the array; [`decode`] reads a block back,
//! entry by entry.

use super::config::key_entry::{parse_key_entry, KeyEntry};
use super::keyset::sha256;

/// Bytes in one entry.
pub const ENTRY_BYTES: usize = 8;

/// One entry: the first 8 bytes of a SHA-256 digest.
pub type PackedEntry = [u8; ENTRY_BYTES];

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The entry of an AccessKey ID.
pub fn entry_of_key(key: &[u8]) -> PackedEntry {
    entry_of_digest(&sha256(key))
}

/// The entry of a SHA-256 digest.
pub fn entry_of_digest(digest: &[u8; 32]) -> PackedEntry {
    let mut entry = [0u8; ENTRY_BYTES];
    entry.copy_from_slice(&digest[..ENTRY_BYTES]);
    entry
}

/// A `leaked_keys`-style entry that cannot be packed: its index among the inputs and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackError {
    pub index: usize,
    pub problem: String,
}

impl std::fmt::Display for PackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "entry {}: {}", self.index, self.problem)
    }
}

/// Encodes `leaked_keys`-style entries (plain AccessKey IDs or `sha256:<64 lowercase hex>`),
/// validated exactly as `leaked_keys` validates them, into a `leaked_keys_packed` block.
/// Repeats are dropped.
pub fn encode_entries<'a, I>(entries: I) -> Result<String, PackError>
where
    I: IntoIterator<Item = &'a str>,
{
    Ok(encode(entries_of(entries)?))
}

/// The entries of `leaked_keys`-style entries, validated.
fn entries_of<'a, I>(entries: I) -> Result<Vec<PackedEntry>, PackError>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut packed = Vec::new();
    for (index, entry) in entries.into_iter().enumerate() {
        let entry = match parse_key_entry(entry) {
            Ok(KeyEntry::Plain(key)) => entry_of_key(key.as_bytes()),
            Ok(KeyEntry::Digest(digest)) => entry_of_digest(&digest),
            Err(problem) => return Err(PackError { index, problem }),
        };
        packed.push(entry);
    }
    Ok(packed)
}

/// Encodes entries into a block: sorts them and drops repeats first.
pub fn encode(mut entries: Vec<PackedEntry>) -> String {
    entries.sort_unstable();
    entries.dedup();
    base64(&entries.concat())
}

/// Entries in one block of [`encode_blocks`]: a multiple of 3, so a block has no padding,
/// and 64 KiB of base64.
pub const BLOCK_ENTRIES: usize = 6144;

/// Encodes entries into blocks of at most [`BLOCK_ENTRIES`] (the array form of
/// `leaked_keys_packed`, which a filter reads without holding the whole set's text): sorts
/// them and drops repeats first.
pub fn encode_blocks(mut entries: Vec<PackedEntry>) -> Vec<String> {
    entries.sort_unstable();
    entries.dedup();
    entries
        .chunks(BLOCK_ENTRIES)
        .map(|block| base64(&block.concat()))
        .collect()
}

/// [`encode_entries`], in blocks (see [`encode_blocks`]).
pub fn encode_entries_in_blocks<'a, I>(entries: I) -> Result<Vec<String>, PackError>
where
    I: IntoIterator<Item = &'a str>,
{
    Ok(encode_blocks(entries_of(entries)?))
}

/// Standard base64, with padding.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let mut b = [0u8; 3];
        b[..group.len()].copy_from_slice(group);
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= group.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn sextet(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes standard padded base64 (no whitespace) into bytes; none when it is not that.
pub fn decode_bytes(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if text.len() % 4 != 0 {
        return None;
    }
    let padding = text.iter().rev().take_while(|c| **c == b'=').count();
    if padding > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    for group in text.chunks(4) {
        let mut n = 0u32;
        let mut held = 0;
        for c in group {
            if *c == b'=' {
                n <<= 6;
                continue;
            }
            n = n << 6 | sextet(*c)?;
            held += 1;
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..held]);
    }
    (base64(&out).as_bytes() == text).then_some(out)
}

/// Decodes a block, handing each entry to `out` in order; returns the number of entries.
/// Rejects anything but canonical base64 of whole, strictly ascending 8-byte entries.
pub fn decode(text: &str, out: &mut dyn FnMut(PackedEntry)) -> Result<usize, String> {
    let mut entry = [0u8; ENTRY_BYTES];
    let mut filled = 0usize;
    let mut previous: Option<PackedEntry> = None;
    let mut count = 0usize;
    let (mut acc, mut bits) = (0u32, 0u32);
    let (mut chars, mut padding) = (0usize, 0usize);
    for (at, c) in text.bytes().enumerate() {
        if c.is_ascii_whitespace() {
            continue;
        }
        chars += 1;
        if c == b'=' {
            padding += 1;
            continue;
        }
        let Some(v) = sextet(c) else {
            return Err(format!(
                "not base64: {:?} at offset {at}",
                char::from(c).escape_default().to_string()
            ));
        };
        if padding > 0 {
            return Err(format!("not base64: data after '=' at offset {at}"));
        }
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            entry[filled] = (acc >> bits) as u8;
            acc &= (1 << bits) - 1;
            filled += 1;
            if filled == ENTRY_BYTES {
                if previous.is_some_and(|p| p >= entry) {
                    return Err(format!(
                        "entry {count} is not greater than the one before: entries must be sorted ascending, without repeats"
                    ));
                }
                out(entry);
                previous = Some(entry);
                count += 1;
                filled = 0;
            }
        }
    }
    if chars % 4 != 0 || padding > 2 || acc != 0 {
        return Err("not canonical base64 (length, padding or trailing bits)".into());
    }
    if filled != 0 {
        return Err(format!(
            "{filled} bytes left after {count} entries: the decoded length must be a multiple of {ENTRY_BYTES}"
        ));
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(text: &str) -> Result<Vec<PackedEntry>, String> {
        let mut entries = Vec::new();
        decode(text, &mut |e| entries.push(e))?;
        Ok(entries)
    }

    #[test]
    fn known_vector() {
        // SHA-256("abc") = ba7816bf8f01cfea…; its first 8 bytes, base64.
        let block = encode_entries(["abc"]).unwrap();
        assert_eq!(block, "ungWv48Bz+o=");
        assert_eq!(
            decode_all(&block).unwrap(),
            vec![[0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea]]
        );
        let digest = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(encode_entries([digest, "abc"]).unwrap(), block);
    }

    #[test]
    fn round_trips_sorted_without_repeats_for_every_padding() {
        for n in 0..7usize {
            let keys: Vec<String> = (0..n).map(|i| format!("LTAI5tKey{i:04}")).collect();
            let mut with_repeat: Vec<&str> = keys.iter().map(String::as_str).collect();
            with_repeat.extend(keys.first().map(String::as_str));
            let block = encode_entries(with_repeat).unwrap();
            assert_eq!(block.len() % 4, 0);
            let decoded = decode_all(&block).unwrap();
            let mut want: Vec<PackedEntry> =
                keys.iter().map(|k| entry_of_key(k.as_bytes())).collect();
            want.sort_unstable();
            assert_eq!(decoded, want, "n={n}");
            let wrapped: String = block
                .as_bytes()
                .chunks(5)
                .map(|c| format!("{}\n ", std::str::from_utf8(c).unwrap()))
                .collect();
            assert_eq!(decode_all(&wrapped).unwrap(), want, "wrapped n={n}");
        }
    }

    #[test]
    fn blocks_hold_the_sorted_entries_without_padding() {
        let entries: Vec<PackedEntry> = (0..2 * BLOCK_ENTRIES as u64 + 5)
            .map(|i| entry_of_key(format!("LTAI5tKey{i:08}").as_bytes()))
            .collect();
        let mut with_repeats = entries.clone();
        with_repeats.extend_from_slice(&entries[..10]);
        let blocks = encode_blocks(with_repeats);
        assert_eq!(blocks.len(), 3);
        assert_eq!(blocks[0].len(), 65536);
        assert!(!blocks[0].contains('=') && !blocks[1].contains('='));
        let decoded: Vec<PackedEntry> =
            blocks.iter().flat_map(|b| decode_all(b).unwrap()).collect();
        let mut want = entries;
        want.sort_unstable();
        assert_eq!(decoded, want);
        assert_eq!(encode_blocks(Vec::new()), Vec::<String>::new());
        let from_keys = encode_entries_in_blocks(["LTAI5tKey00000001", "abc"]).unwrap();
        assert_eq!(from_keys.len(), 1);
        assert_eq!(decode_all(&from_keys[0]).unwrap().len(), 2);
        assert_eq!(encode_entries_in_blocks(["bad key"]).unwrap_err().index, 0);
    }

    #[test]
    fn rejects_invalid_entries_and_blocks() {
        let err = encode_entries(["LTAI5tGood", "bad-key"]).unwrap_err();
        assert_eq!(err.index, 1);
        assert!(err.problem.contains("found '-'"), "{err}");

        let a = entry_of_key(b"LTAI5tA");
        let b = entry_of_key(b"LTAI5tB");
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        assert_eq!(
            decode_all(&base64(&[lo, hi].concat())).unwrap(),
            vec![lo, hi]
        );
        let unsorted = decode_all(&base64(&[hi, lo].concat())).unwrap_err();
        assert!(unsorted.contains("entry 1") && unsorted.contains("sorted ascending"));
        let repeated = decode_all(&base64(&[lo, lo].concat())).unwrap_err();
        assert!(repeated.contains("without repeats"));

        for bad in [
            "ungWv48Bz+o",   // missing padding
            "ungWv48Bz+o==", // too much padding
            "ungWv48Bz+p=",  // trailing bits set
            "ungWv48B",      // 6 bytes, not a whole entry
            "ungW*v48Bz+o=", // not in the alphabet
            "un=gWv48Bz+o",  // data after padding
        ] {
            assert!(decode_all(bad).is_err(), "{bad}");
        }
        assert_eq!(decode_all("").unwrap(), Vec::<PackedEntry>::new());
    }
}
