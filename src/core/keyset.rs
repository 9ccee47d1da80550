//! The leaked-key set: constant-time membership for plain AccessKey IDs and for `sha256:`
//! digests of them, sized for a million entries.
//!
//! Each entry is kept as a 64-bit fingerprint in a compact table ([`super::fingerprints`]:
//! 6 bytes an entry in pages, plus a small bucket index), so a million keys take about 6.3 MB
//! whatever their length. Plain IDs are fingerprinted with a fast keyed hash; `sha256:` and packed
//! entries by the first 8 bytes of their digest, and a request's key is hashed with SHA-256
//! only when the set holds such entries (the last few such lookups are remembered, by exact
//! key bytes). Packed entries come sorted and are written straight into their table; the
//! others are collected, then sorted into theirs. A fingerprint match on a key that is
//! not in the set is possible with probability about `8 / 2^48` per lookup (one in 35
//! trillion); it can only make a clean key look leaked, never the reverse.
//!
//! What a lookup costs is bounded for hostile input: a reading whose length no plain entry has
//! is not hashed for the plain table, a digest is computed only for readings of
//! [`DIGEST_KEY_BYTES`] (the lengths an AccessKey ID has), and [`KeySet::lookup`] takes a
//! budget of such readings a caller may look up.

use super::fingerprints::{FingerprintTable, SortedBuilder, UnsortedBuilder};
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
/// The first 8 bytes, big-endian, so that byte order and numeric order agree.
pub fn digest_fingerprint(digest: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The lengths of AccessKey ID a `sha256:` or packed entry can match, in bytes. IDs are 16 to
/// about 30 characters (`LTAI…`, `STS.…`, older 16-character IDs); shorter or longer
/// readings of a request are never hashed.
pub const DIGEST_KEY_BYTES: std::ops::RangeInclusive<usize> = 8..=128;

/// Lengths below this are told one by one in [`PlainLengths`].
const SHORT_LENGTHS: usize = 256;

/// The lengths of the plain entries: a reading of another length is not looked up.
#[derive(Clone, Debug, Default)]
struct PlainLengths {
    short: [u64; SHORT_LENGTHS / 64],
    /// Some entry is [`SHORT_LENGTHS`] bytes or longer.
    long: bool,
}

impl PlainLengths {
    fn add(&mut self, len: usize) {
        match self.short.get_mut(len / 64) {
            Some(word) => *word |= 1 << (len % 64),
            None => self.long = true,
        }
    }

    fn may_hold(&self, len: usize) -> bool {
        match self.short.get(len / 64) {
            Some(word) => word & (1 << (len % 64)) != 0,
            None => self.long,
        }
    }
}

/// Collects entries, then builds a [`KeySet`].
#[derive(Debug, Default)]
pub struct KeySetBuilder {
    plain_lengths: PlainLengths,
    plain: UnsortedBuilder,
    digests: UnsortedBuilder,
    packed: SortedBuilder,
}

impl KeySetBuilder {
    pub fn add_plain(&mut self, key: &[u8]) {
        self.plain_lengths.add(key.len());
        self.plain.push(plain_fingerprint(key));
    }

    pub fn add_digest(&mut self, digest: &[u8; 32]) {
        self.digests.push(digest_fingerprint(digest));
    }

    /// Adds an entry given by the first 8 bytes of its SHA-256 digest (a
    /// `leaked_keys_packed` entry), the same as [`Self::add_digest`] with the full digest.
    /// Such entries come in ascending order: false (and nothing added) for one that is not
    /// greater than the one before.
    pub fn add_digest_prefix(&mut self, prefix: [u8; 8]) -> bool {
        self.packed.push(u64::from_be_bytes(prefix))
    }

    pub fn build(self) -> KeySet {
        let packed = self.packed.build();
        let digests = self.digests.build(&packed);
        KeySet {
            plain_lengths: self.plain_lengths,
            plain: self.plain.build(&FingerprintTable::default()),
            memo: DigestMemo::new(digests.len() + packed.len()),
            digests,
            packed,
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
    /// A memo for a set of `digests` digest entries: none when there are none.
    fn new(digests: usize) -> Self {
        let slots = if digests == 0 { 0 } else { MEMO_SLOTS };
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

/// The answer of [`KeySet::lookup`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    Leaked,
    Clean,
    /// A digest had to be computed and the budget was spent.
    OverBudget,
}

impl Lookup {
    fn of(leaked: bool) -> Lookup {
        if leaked {
            Lookup::Leaked
        } else {
            Lookup::Clean
        }
    }
}

/// The set of leaked AccessKey IDs.
#[derive(Debug, Default)]
pub struct KeySet {
    plain_lengths: PlainLengths,
    plain: FingerprintTable,
    /// `sha256:` entries not also given packed.
    digests: FingerprintTable,
    /// `leaked_keys_packed` entries.
    packed: FingerprintTable,
    memo: DigestMemo,
}

impl Clone for KeySet {
    fn clone(&self) -> Self {
        KeySet {
            plain_lengths: self.plain_lengths.clone(),
            plain: self.plain.clone(),
            digests: self.digests.clone(),
            packed: self.packed.clone(),
            memo: DigestMemo::new(self.digests.len() + self.packed.len()),
        }
    }
}

impl KeySet {
    /// True when `key` (exact bytes, case-sensitive) is in the set, as a plain entry or as a
    /// `sha256:` entry.
    pub fn contains(&self, key: &[u8]) -> bool {
        let mut unbounded = u32::MAX;
        self.lookup(key, &mut unbounded) == Lookup::Leaked
    }

    /// Looks `key` up, spending one of `digests_left` when a digest entry could match it (the
    /// set holds some and the key has a length in [`DIGEST_KEY_BYTES`]), whether or not its
    /// digest is remembered. With none left, the answer is [`Lookup::OverBudget`].
    pub fn lookup(&self, key: &[u8], digests_left: &mut u32) -> Lookup {
        Self::lookup_among(&[self], key, digests_left)
    }

    /// [`Self::lookup`] in several sets at once (the configuration's and the feed's): leaked
    /// when any set holds the key, with one digest computed and one of `digests_left` spent
    /// for all of them.
    pub fn lookup_among(sets: &[&KeySet], key: &[u8], digests_left: &mut u32) -> Lookup {
        if key.is_empty() {
            return Lookup::Clean;
        }
        let plain_length = sets.iter().any(|s| s.plain_lengths.may_hold(key.len()));
        let digest_length = DIGEST_KEY_BYTES.contains(&key.len());
        if !plain_length && !digest_length {
            return Lookup::Clean;
        }
        let fingerprint = plain_fingerprint(key);
        let plain_hit =
            |s: &&KeySet| s.plain_lengths.may_hold(key.len()) && s.plain.contains(fingerprint);
        if plain_length && sets.iter().any(plain_hit) {
            return Lookup::Leaked;
        }
        if !digest_length || sets.iter().all(|s| !s.holds_digests()) {
            return Lookup::Clean;
        }
        // Every reading a digest entry could match counts against the budget, remembered or
        // not, so the answer never depends on what earlier requests left in the memo.
        if *digests_left == 0 {
            return Lookup::OverBudget;
        }
        *digests_left -= 1;
        let mut digest = None;
        let leaked = sets
            .iter()
            .filter(|s| s.holds_digests())
            .any(|s| s.digest_lookup(key, fingerprint, &mut digest));
        Lookup::of(leaked)
    }

    fn holds_digests(&self) -> bool {
        !(self.digests.is_empty() && self.packed.is_empty())
    }

    /// Whether a digest entry of this set matches `key` (plain fingerprint `fingerprint`),
    /// through the memo; `digest` keeps the key's digest fingerprint once computed.
    fn digest_lookup(&self, key: &[u8], fingerprint: u64, digest: &mut Option<u64>) -> bool {
        let remembered = key.len() <= MEMO_KEY_BYTES;
        let slot = (fingerprint % MEMO_SLOTS as u64) as usize;
        if remembered {
            if let Some(leaked) = self.memo.get(slot, key) {
                return leaked;
            }
        }
        let digest = *digest.get_or_insert_with(|| digest_fingerprint(&sha256(key)));
        let leaked = self.digests.contains(digest) || self.packed.contains(digest);
        if remembered {
            self.memo.put(slot, key, leaked);
        }
        leaked
    }

    /// Number of distinct entries.
    pub fn len(&self) -> usize {
        self.plain.len() + self.digests.len() + self.packed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Memory held by the set's tables, in bytes.
    pub fn table_bytes(&self) -> usize {
        self.plain.bytes() + self.digests.bytes() + self.packed.bytes()
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
    fn digest_prefix_entries_match_full_digests() {
        let mut builder = KeySetBuilder::default();
        let digest = sha256(b"LTAI5tPackedKey");
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(&digest[..8]);
        assert!(builder.add_digest_prefix(prefix));
        assert!(!builder.add_digest_prefix(prefix), "a repeat is refused");
        builder.add_digest(&digest);
        builder.add_digest(&sha256(b"LTAI5tHashedKey"));
        let set = builder.build();
        assert_eq!(set.len(), 2, "the same key given twice counts once");
        assert!(set.contains(b"LTAI5tPackedKey"));
        assert!(set.contains(b"LTAI5tHashedKey"));
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
    fn a_lookup_among_sets_finds_a_key_of_any_and_spends_one_digest() {
        let mut config = KeySetBuilder::default();
        config.add_plain(b"LTAI5tConfigKey000000001");
        config.add_digest(&sha256(b"LTAI5tConfigHashed000001"));
        let config = config.build();
        let mut feed = KeySetBuilder::default();
        let digest = sha256(b"LTAI5tFeedKey00000000001");
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(&digest[..8]);
        assert!(feed.add_digest_prefix(prefix));
        let feed = feed.build();
        let sets = [&config, &feed];
        for _ in 0..2 {
            for key in [
                &b"LTAI5tConfigKey000000001"[..],
                b"LTAI5tConfigHashed000001",
                b"LTAI5tFeedKey00000000001",
            ] {
                let mut left = 5;
                assert_eq!(KeySet::lookup_among(&sets, key, &mut left), Lookup::Leaked);
            }
            let mut left = 5;
            let clean = b"LTAI5tCleanKey0000000001";
            assert_eq!(KeySet::lookup_among(&sets, clean, &mut left), Lookup::Clean);
            assert_eq!(left, 4, "one digest for both sets");
            let mut none = 0;
            assert_eq!(
                KeySet::lookup_among(&sets, clean, &mut none),
                Lookup::OverBudget
            );
        }
        let mut left = 5;
        let only_config = [&config];
        assert_eq!(
            KeySet::lookup_among(&only_config, b"LTAI5tFeedKey00000000001", &mut left),
            Lookup::Clean
        );
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
