//! The leaked-key set: constant-time membership for plain AccessKey IDs and for `sha256:`
//! digests of them, sized for a million entries.
//!
//! Each entry is kept as a 64-bit fingerprint in an open-addressing table (8 bytes a slot,
//! load ≤ 0.8), so a million keys take about 10 MB whatever their length. Plain IDs are
//! fingerprinted with a fast keyed hash; `sha256:` entries by the first 8 bytes of their digest,
//! and a request's key is hashed with SHA-256 only when the set holds such entries. A
//! fingerprint match on a key that is not in the set is possible with probability about
//! `n / 2^64` per lookup; it can only make a clean key look leaked, never the reverse.

use sha2::{Digest, Sha256};

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

/// Open-addressing set of non-zero 64-bit fingerprints with linear probing.
#[derive(Clone, Debug, Default)]
struct FingerprintTable {
    slots: Vec<u64>,
    len: usize,
}

impl FingerprintTable {
    fn build(mut fingerprints: Vec<u64>) -> Self {
        for fp in &mut fingerprints {
            *fp = (*fp).max(1);
        }
        fingerprints.sort_unstable();
        fingerprints.dedup();
        if fingerprints.is_empty() {
            return FingerprintTable::default();
        }
        let capacity = fingerprints.len() + fingerprints.len() / 4 + 1;
        let mut table = FingerprintTable {
            slots: vec![0; capacity],
            len: fingerprints.len(),
        };
        for fp in fingerprints {
            let mut at = table.home(fp);
            while table.slots[at] != 0 {
                at = if at + 1 == capacity { 0 } else { at + 1 };
            }
            table.slots[at] = fp;
        }
        table
    }

    fn home(&self, fp: u64) -> usize {
        ((u128::from(fp) * self.slots.len() as u128) >> 64) as usize
    }

    fn contains(&self, fp: u64) -> bool {
        if self.len == 0 {
            return false;
        }
        let fp = fp.max(1);
        let capacity = self.slots.len();
        let mut at = self.home(fp);
        loop {
            match self.slots[at] {
                0 => return false,
                slot if slot == fp => return true,
                _ => at = if at + 1 == capacity { 0 } else { at + 1 },
            }
        }
    }

    fn bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<u64>()
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

    pub fn build(self) -> KeySet {
        KeySet {
            plain: FingerprintTable::build(self.plain),
            digests: FingerprintTable::build(self.digests),
        }
    }
}

/// The set of leaked AccessKey IDs.
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    plain: FingerprintTable,
    digests: FingerprintTable,
}

impl KeySet {
    /// True when `key` (exact bytes, case-sensitive) is in the set, as a plain entry or as a
    /// `sha256:` entry.
    pub fn contains(&self, key: &[u8]) -> bool {
        if key.is_empty() {
            return false;
        }
        if self.plain.contains(plain_fingerprint(key)) {
            return true;
        }
        self.digests.len != 0 && self.digests.contains(digest_fingerprint(&sha256(key)))
    }

    /// Number of distinct entries.
    pub fn len(&self) -> usize {
        self.plain.len + self.digests.len
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
        assert!(!set.contains(b""));
        assert!(!set.contains(key(2).to_lowercase().as_bytes()));
        assert!(!set.contains(format!("{} ", key(2)).as_bytes()));
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
