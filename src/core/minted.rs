//! Keys minted by leaked keys: AccessKey IDs that credential calls made with a leaked key
//! returned, each leaked until it expires.
//!
//! The set is kept as fingerprints (the plain-key fingerprint of [`super::keyset`]) with their
//! expiry, sorted for lookup, at most [`MAX_MINTED`] of them: when full, the entry that expires
//! first makes room. Its serialised form, 16 bytes an entry (fingerprint, expiry; little
//! endian), is what the filter keeps in the proxy's shared data, where every worker reads it.
//! A request is checked against it through [`MintedLookup`], which the filter implements
//! over that shared copy.

use super::keyset::plain_fingerprint;

/// Most minted keys kept (16 KiB serialised).
pub const MAX_MINTED: usize = 1024;

const ENTRY_BYTES: usize = 16;

/// Looks up request key readings among the minted keys in force.
pub trait MintedLookup {
    /// The reading is a minted key that has not expired.
    fn is_minted(&mut self, key: &[u8]) -> bool;
}

/// No minted keys: the CLI's and the tests' checks.
pub struct NoMinted;

impl MintedLookup for NoMinted {
    fn is_minted(&mut self, _key: &[u8]) -> bool {
        false
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    fingerprint: u64,
    /// Seconds since the Unix epoch.
    expires: u64,
}

/// The minted keys, sorted by fingerprint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MintedSet {
    entries: Vec<Entry>,
}

impl MintedSet {
    /// An empty set (in a `const` context too).
    pub const fn new() -> MintedSet {
        MintedSet {
            entries: Vec::new(),
        }
    }

    /// Reads a serialised set. Bytes past the last whole entry, and entries past
    /// [`MAX_MINTED`], are ignored; a fingerprint given twice keeps its later expiry.
    pub fn from_bytes(bytes: &[u8]) -> MintedSet {
        let word = |b: &[u8]| {
            let mut w = [0u8; 8];
            w.copy_from_slice(b);
            u64::from_le_bytes(w)
        };
        let mut set = MintedSet::default();
        for e in bytes.chunks_exact(ENTRY_BYTES).take(MAX_MINTED) {
            set.put(Entry {
                fingerprint: word(&e[..8]),
                expires: word(&e[8..]),
            });
        }
        set
    }

    /// Adds an entry in its place (at the end, for entries read in order); a fingerprint
    /// already there keeps the later expiry.
    fn put(&mut self, entry: Entry) {
        match self
            .entries
            .binary_search_by_key(&entry.fingerprint, |e| e.fingerprint)
        {
            Ok(i) => self.entries[i].expires = self.entries[i].expires.max(entry.expires),
            Err(i) => self.entries.insert(i, entry),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.entries.len() * ENTRY_BYTES);
        for e in &self.entries {
            bytes.extend_from_slice(&e.fingerprint.to_le_bytes());
            bytes.extend_from_slice(&e.expires.to_le_bytes());
        }
        bytes
    }

    /// Records `key` as leaked until `expires`, dropping the entries expired at `now`; when
    /// the set is full, the entry that expires first is dropped. A key already expired is
    /// not recorded. Returns whether the key is now in the set.
    pub fn record(&mut self, key: &[u8], expires: u64, now: u64) -> bool {
        self.entries.retain(|e| e.expires > now);
        if expires <= now {
            return false;
        }
        let fingerprint = plain_fingerprint(key);
        let known = self
            .entries
            .binary_search_by_key(&fingerprint, |e| e.fingerprint)
            .is_ok();
        if !known && self.entries.len() >= MAX_MINTED {
            let first = self
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.expires)
                .map(|(i, _)| i);
            match first {
                Some(i) if self.entries[i].expires < expires => {
                    self.entries.remove(i);
                }
                _ => return false,
            }
        }
        self.put(Entry {
            fingerprint,
            expires,
        });
        true
    }

    /// `key` is a minted key in force at `now`.
    pub fn contains(&self, key: &[u8], now: u64) -> bool {
        let fingerprint = plain_fingerprint(key);
        self.entries
            .binary_search_by_key(&fingerprint, |e| e.fingerprint)
            .is_ok_and(|i| self.entries[i].expires > now)
    }

    /// Number of keys in force at `now`.
    pub fn in_force(&self, now: u64) -> usize {
        self.entries.iter().filter(|e| e.expires > now).count()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_minted_until_they_expire() {
        let mut set = MintedSet::default();
        assert!(set.record(b"STS.Minted1", 200, 100));
        assert!(set.contains(b"STS.Minted1", 100));
        assert!(set.contains(b"STS.Minted1", 199));
        assert!(!set.contains(b"STS.Minted1", 200));
        assert!(!set.contains(b"STS.Minted2", 100));
        assert!(!set.record(b"STS.Minted2", 100, 100), "already expired");
        assert_eq!(set.in_force(100), 1);
        assert!(set.record(b"STS.Minted1", 150, 100));
        assert!(set.contains(b"STS.Minted1", 190), "the later expiry stays");
        assert!(set.record(b"STS.Minted3", 400, 300));
        assert_eq!(set.in_force(300), 1, "expired entries are dropped");
    }

    #[test]
    fn the_set_survives_its_bytes() {
        let mut set = MintedSet::default();
        for i in 0..100u64 {
            set.record(format!("STS.Key{i}").as_bytes(), 1000 + i, 10);
        }
        let bytes = set.to_bytes();
        assert_eq!(bytes.len(), 100 * ENTRY_BYTES);
        let back = MintedSet::from_bytes(&bytes);
        assert_eq!(back, set);
        assert!(back.contains(b"STS.Key42", 1041));
        assert!(!back.contains(b"STS.Key42", 1042));
        let mut cut = bytes.clone();
        cut.truncate(bytes.len() - 3);
        assert_eq!(MintedSet::from_bytes(&cut).in_force(0), 99);
        let mut twice = bytes.clone();
        twice.extend_from_slice(&bytes);
        assert_eq!(MintedSet::from_bytes(&twice), set);
        assert!(MintedSet::from_bytes(b"garbage").is_empty());
    }

    #[test]
    fn a_full_set_drops_the_key_that_expires_first() {
        let mut set = MintedSet::default();
        for i in 0..MAX_MINTED as u64 {
            assert!(set.record(format!("STS.Key{i}").as_bytes(), 10_000 + i, 1));
        }
        assert!(set.record(b"STS.Newer", 20_000, 1));
        assert_eq!(set.in_force(1), MAX_MINTED);
        assert!(
            !set.contains(b"STS.Key0", 1),
            "the first to expire made room"
        );
        assert!(set.contains(b"STS.Key1", 1));
        assert!(set.contains(b"STS.Newer", 1));
        assert!(
            !set.record(b"STS.Sooner", 5_000, 1),
            "a key expiring before all kept is not kept"
        );
        assert_eq!(set.to_bytes().len(), MAX_MINTED * ENTRY_BYTES);
        let oversized: Vec<u8> = (0..2 * MAX_MINTED as u64)
            .flat_map(|i| [i.to_le_bytes(), 99u64.to_le_bytes()].concat())
            .collect();
        assert_eq!(MintedSet::from_bytes(&oversized).in_force(0), MAX_MINTED);
    }
}
