//! The leaked-key set: constant-time membership for plain AccessKey IDs and for `sha256:`
//! digests of them, sized for a million entries.
//!
//! Each entry is kept as a 64-bit fingerprint in a sorted array with a bucket index (8 bytes
//! an entry plus half a byte of index), so a million keys take about 8.5 MB whatever their
//! length, and the table is built in place from the collected fingerprints. Plain IDs are
//! fingerprinted with a fast keyed hash; `sha256:` entries by the first 8 bytes of their digest,
//! and a request's key is hashed with SHA-256 only when the set holds such entries (the last
//! few such lookups are remembered, by exact key bytes). A
//! fingerprint match on a key that is not in the set is possible with probability about
//! `n / 2^64` per lookup; it can only make a clean key look leaked, never the reverse.

use sha2::{Digest, Sha256};
use std::sync::Mutex;

const SEED: u64 = 0x9e37_79b9_7f4a_7c15;
const MUL: u64 = 0xff51_afd7_ed55_8ccd;

fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(MUL);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Fingerprint of a plain AccessKey ID.
pub fn plain_fingerprint(key: &[u8]) -> u64 {
    let mut h = SEED ^ (key.len() as u64).wrapping_mul(MUL);
    for chunk in key.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(word)).wrapping_mul(MUL);
        h = h.rotate_left(29);
    }
    mix(h)
}

/// SHA-256 of an AccessKey ID's bytes.
pub fn sha256(key: &[u8]) -> [u8; 32] {
    Sha256::digest(key).into()
}

/// Fingerprint of a SHA-256 digest.
pub fn digest_fingerprint(digest: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// Sorted distinct 64-bit fingerprints with a bucket index on their top bits: a lookup reads
/// one index slot and one short run (about [`PER_BUCKET`] fingerprints, one or two cache
/// lines). Built in place from the collected fingerprints, so building needs no second table.
#[derive(Clone, Debug, Default)]
struct FingerprintTable {
    sorted: Vec<u64>,
    /// `starts[b]` is the first position of bucket `b`; one more slot closes the last one.
    starts: Vec<u32>,
    /// Bits of a fingerprint that name its bucket.
    bucket_bits: u32,
}

/// Average fingerprints per bucket.
const PER_BUCKET: usize = 8;

impl FingerprintTable {
    fn build(mut fingerprints: Vec<u64>) -> Self {
        fingerprints.sort_unstable();
        fingerprints.dedup();
        fingerprints.shrink_to_fit();
        if fingerprints.is_empty() {
            return FingerprintTable::default();
        }
        let buckets = (fingerprints.len() / PER_BUCKET).max(1).next_power_of_two();
        let mut table = FingerprintTable {
            sorted: Vec::new(),
            starts: Vec::with_capacity(buckets + 1),
            bucket_bits: buckets.trailing_zeros(),
        };
        let mut at = 0usize;
        for bucket in 0..buckets {
            while at < fingerprints.len() && table.bucket(fingerprints[at]) < bucket {
                at += 1;
            }
            table.starts.push(at as u32);
        }
        table.starts.push(fingerprints.len() as u32);
        table.sorted = fingerprints;
        table
    }

    fn bucket(&self, fp: u64) -> usize {
        fp.checked_shr(64 - self.bucket_bits).unwrap_or(0) as usize
    }

    fn len(&self) -> usize {
        self.sorted.len()
    }

    fn contains(&self, fp: u64) -> bool {
        if self.sorted.is_empty() {
            return false;
        }
        let bucket = self.bucket(fp);
        let (from, to) = (
            self.starts[bucket] as usize,
            self.starts[bucket + 1] as usize,
        );
        self.sorted[from..to].contains(&fp)
    }

    fn bytes(&self) -> usize {
        self.sorted.capacity() * std::mem::size_of::<u64>()
            + self.starts.capacity() * std::mem::size_of::<u32>()
    }
}

/// Collects entries, then builds a [`KeySet`].
#[derive(Debug, Default)]
pub struct KeySetBuilder {
    plain: Vec<u64>,
    digests: Vec<u64>,
}

impl KeySetBuilder {
    pub fn with_capacity(entries: usize) -> Self {
        KeySetBuilder {
            plain: Vec::with_capacity(entries),
            digests: Vec::new(),
        }
    }

    pub fn add_plain(&mut self, key: &[u8]) {
        self.plain.push(plain_fingerprint(key));
    }

    pub fn add_digest(&mut self, digest: &[u8; 32]) {
        self.digests.push(digest_fingerprint(digest));
    }

    /// Adds an entry given by the first 8 bytes of its SHA-256 digest (a
    /// `leaked_keys_packed` entry); the same as [`Self::add_digest`] with the full digest.
    pub fn add_digest_prefix(&mut self, prefix: [u8; 8]) {
        self.digests.push(u64::from_le_bytes(prefix));
    }

    /// Makes room for `entries` more digest entries, and gives back room reserved for plain
    /// entries and not used.
    pub fn reserve_digests(&mut self, entries: usize) {
        self.plain.shrink_to_fit();
        self.digests.reserve(entries);
    }

    pub fn build(self) -> KeySet {
        let digests = FingerprintTable::build(self.digests);
        KeySet {
            plain: FingerprintTable::build(self.plain),
            memo: DigestMemo::for_table(&digests),
            digests,
        }
    }
}

/// Longest key whose digest lookup is remembered.
const MEMO_KEY_BYTES: usize = 40;
/// Remembered digest lookups.
const MEMO_SLOTS: usize = 64;

#[derive(Clone, Copy, Debug)]
struct MemoSlot {
    len: u8,
    key: [u8; MEMO_KEY_BYTES],
    leaked: bool,
}

/// The last digest lookups, by exact key bytes: a client sends the same key again and again,
/// and SHA-256 costs more than the rest of a clean request's check. Only a byte-for-byte
/// equal key reuses an answer; a busy lock just skips the memo.
#[derive(Debug, Default)]
struct DigestMemo(Mutex<Vec<MemoSlot>>);

impl DigestMemo {
    fn for_table(digests: &FingerprintTable) -> Self {
        let slots = if digests.len() == 0 { 0 } else { MEMO_SLOTS };
        let empty = MemoSlot {
            len: 0,
            key: [0; MEMO_KEY_BYTES],
            leaked: false,
        };
        DigestMemo(Mutex::new(vec![empty; slots]))
    }

    fn get(&self, slot: usize, key: &[u8]) -> Option<bool> {
        let memo = self.0.try_lock().ok()?;
        let found = memo.get(slot)?;
        (usize::from(found.len) == key.len() && found.key[..key.len()] == *key)
            .then_some(found.leaked)
    }

    fn put(&self, slot: usize, key: &[u8], leaked: bool) {
        if let Ok(mut memo) = self.0.try_lock() {
            if let Some(entry) = memo.get_mut(slot) {
                entry.len = key.len() as u8;
                entry.key[..key.len()].copy_from_slice(key);
                entry.leaked = leaked;
            }
        }
    }
}

/// The set of leaked AccessKey IDs.
#[derive(Debug, Default)]
pub struct KeySet {
    plain: FingerprintTable,
    digests: FingerprintTable,
    memo: DigestMemo,
}

impl Clone for KeySet {
    fn clone(&self) -> Self {
        KeySet {
            plain: self.plain.clone(),
            digests: self.digests.clone(),
            memo: DigestMemo::for_table(&self.digests),
        }
    }
}

impl KeySet {
    /// True when `key` (exact bytes, case-sensitive) is in the set, as a plain entry or as a
    /// `sha256:` entry.
    pub fn contains(&self, key: &[u8]) -> bool {
        if key.is_empty() {
            return false;
        }
        let fingerprint = plain_fingerprint(key);
        if self.plain.contains(fingerprint) {
            return true;
        }
        if self.digests.len() == 0 {
            return false;
        }
        let remembered = key.len() <= MEMO_KEY_BYTES;
        let slot = (fingerprint % MEMO_SLOTS as u64) as usize;
        if remembered {
            if let Some(leaked) = self.memo.get(slot, key) {
                return leaked;
            }
        }
        let leaked = self.digests.contains(digest_fingerprint(&sha256(key)));
        if remembered {
            self.memo.put(slot, key, leaked);
        }
        leaked
    }

    /// Number of distinct entries.
    pub fn len(&self) -> usize {
        self.plain.len() + self.digests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Memory held by the set's tables, in bytes.
    pub fn table_bytes(&self) -> usize {
        self.plain.bytes() + self.digests.bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: usize) -> String {
        format!("LTAI5t{i:018}")
    }

    #[test]
    fn finds_plain_and_digest_entries_and_nothing_else() {
        let mut builder = KeySetBuilder::default();
        for i in 0..5000 {
            if i % 2 == 0 {
                builder.add_plain(key(i).as_bytes());
            } else {
                builder.add_digest(&sha256(key(i).as_bytes()));
            }
        }
        builder.add_plain(b"LTAI5t000000000000000000");
        let set = builder.build();
        assert_eq!(set.len(), 5000);
        for i in 0..5000 {
            assert!(set.contains(key(i).as_bytes()), "key {i}");
        }
        for i in 5000..20000 {
            assert!(!set.contains(key(i).as_bytes()), "key {i}");
        }
        // Again, in another order: remembered digest lookups give the same answers.
        for i in (0..20000).rev() {
            assert_eq!(set.contains(key(i).as_bytes()), i < 5000, "key {i}");
            assert_eq!(
                set.clone().contains(key(i).as_bytes()),
                i < 5000,
                "clone, key {i}"
            );
        }
        let long = "L".repeat(MEMO_KEY_BYTES + 1);
        assert!(!set.contains(long.as_bytes()));
        assert!(!set.contains(b""));
        assert!(!set.contains(key(2).to_lowercase().as_bytes()));
        assert!(!set.contains(format!("{} ", key(2)).as_bytes()));
    }

    #[test]
    fn table_finds_every_fingerprint_at_bucket_edges() {
        for n in [1usize, 2, 7, 8, 9, 100, 4097] {
            let step = u64::MAX / n as u64;
            let mut fps: Vec<u64> = (0..n as u64).map(|i| i * step).collect();
            fps.push(u64::MAX);
            fps.extend_from_slice(&fps.clone());
            let table = FingerprintTable::build(fps.clone());
            assert_eq!(table.len(), n + 1);
            for fp in &fps {
                assert!(table.contains(*fp), "n={n} fp={fp:#x}");
                let next = fp.wrapping_add(1);
                assert_eq!(table.contains(next), fps.contains(&next), "n={n} {next:#x}");
            }
        }
    }

    #[test]
    fn digest_prefix_entries_match_full_digests() {
        let mut builder = KeySetBuilder::default();
        let digest = sha256(b"LTAI5tPackedKey");
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(&digest[..8]);
        builder.reserve_digests(1);
        builder.add_digest_prefix(prefix);
        let set = builder.build();
        assert!(set.contains(b"LTAI5tPackedKey"));
        assert!(!set.contains(b"LTAI5tPackedKez"));
    }

    #[test]
    fn a_remembered_lookup_answers_only_the_same_bytes() {
        let mut builder = KeySetBuilder::default();
        builder.add_digest(&sha256(b"LTAI5tHashedKey01"));
        let set = builder.build();
        for _ in 0..2 {
            assert!(set.contains(b"LTAI5tHashedKey01"));
            assert!(!set.contains(b"LTAI5tHashedKey0"));
            assert!(!set.contains(b"LTAI5tHashedKey011"));
            assert!(!set.contains(b"LTAI5tHashedKey02"));
        }
        let long = format!("{}Key", "L".repeat(MEMO_KEY_BYTES));
        let mut builder = KeySetBuilder::default();
        builder.add_digest(&sha256(long.as_bytes()));
        let set = builder.build();
        for _ in 0..2 {
            assert!(set.contains(long.as_bytes()));
            assert!(!set.contains(&long.as_bytes()[..MEMO_KEY_BYTES]));
        }
    }

    #[test]
    fn empty_set_holds_nothing() {
        let set = KeySetBuilder::default().build();
        assert!(set.is_empty());
        assert!(!set.contains(b"LTAI5tExample"));
        assert_eq!(set.table_bytes(), 0);
    }

    #[test]
    fn known_sha256() {
        let hex: String = sha256(b"abc").iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
