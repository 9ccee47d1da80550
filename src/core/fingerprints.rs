//! A compact table of 64-bit fingerprints: 6 bytes an entry plus a small bucket index, with
//! one index read and one short scan a lookup.
//!
//! The top `B` bits of a fingerprint (`B` ≤ 16, about [`PER_BUCKET`] entries a bucket) name its
//! bucket; the low 48 bits are stored, sorted, in the bucket's run. With `B` = 16 nothing is
//! lost; a smaller set keeps `48 + B` bits of each fingerprint, so a fingerprint that is not in
//! the table matches one that is with probability about `PER_BUCKET / 2^48` per lookup
//! whatever the set's size. A million entries take 6.3 MB.
//!
//! Two builders fill it: [`SortedBuilder`] takes fingerprints in ascending order and writes
//! them straight in their final form (the building never holds more than the table), and
//! [`UnsortedBuilder`] collects full fingerprints (8 bytes each), sorts them and then narrows
//! them to 6 bytes in place.

/// Average entries a bucket.
pub const PER_BUCKET: usize = 8;
/// Most bits a bucket number takes.
const MAX_BUCKET_BITS: u32 = 16;
/// Words (`u16`) stored an entry.
const STORED: usize = 3;
/// Words of a full fingerprint while collecting.
const FULL: usize = 4;
const LOW_BITS: u32 = 48;
/// Fewest entries a collection grows by.
const GROWTH_MIN_ENTRIES: usize = 1024;

fn stored_words(fp: u64) -> [u16; STORED] {
    [fp as u16, (fp >> 16) as u16, (fp >> 32) as u16]
}

fn full_words(fp: u64) -> [u16; FULL] {
    [
        fp as u16,
        (fp >> 16) as u16,
        (fp >> 32) as u16,
        (fp >> 48) as u16,
    ]
}

fn from_full(words: &[u16; FULL]) -> u64 {
    words
        .iter()
        .rev()
        .fold(0u64, |acc, w| acc << 16 | u64::from(*w))
}

/// Bits of the bucket number for `entries` entries.
fn bucket_bits(entries: usize) -> u32 {
    (entries / PER_BUCKET)
        .max(1)
        .next_power_of_two()
        .trailing_zeros()
        .min(MAX_BUCKET_BITS)
}

/// The table.
#[derive(Clone, Debug, Default)]
pub struct FingerprintTable {
    /// The low 48 bits of every fingerprint, three words an entry, by bucket, ascending.
    entries: Vec<u16>,
    /// `starts[b]` is the first entry of bucket `b`; one more slot closes the last one.
    starts: Vec<u32>,
    bucket_bits: u32,
}

impl FingerprintTable {
    fn bucket(&self, fp: u64) -> usize {
        fp.checked_shr(64 - self.bucket_bits).unwrap_or(0) as usize
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len() / STORED
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains(&self, fp: u64) -> bool {
        if self.entries.is_empty() {
            return false;
        }
        let bucket = self.bucket(fp);
        let (Some(&from), Some(&to)) = (self.starts.get(bucket), self.starts.get(bucket + 1))
        else {
            return false;
        };
        let run = self
            .entries
            .get(from as usize * STORED..to as usize * STORED)
            .unwrap_or_default();
        run.as_chunks::<STORED>().0.contains(&stored_words(fp))
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<u16>()
            + self.starts.capacity() * std::mem::size_of::<u32>()
    }
}

/// Bucket starts from the number of entries under each value of the top 16 bits.
fn starts_from_counts(counts: &[u32], bits: u32) -> Vec<u32> {
    let group = 1usize << (MAX_BUCKET_BITS - bits);
    let mut starts = Vec::with_capacity((1 << bits) + 1);
    let mut at = 0u32;
    for chunk in counts.chunks(group) {
        starts.push(at);
        at += chunk.iter().sum::<u32>();
    }
    starts.push(at);
    starts
}

/// Builds a table from fingerprints given in strictly ascending order, writing each in its
/// final 6-byte form as it comes; only a count for each value of the top 16 bits (256 KB)
/// is kept on the side, until the bucket index is made from it.
#[derive(Debug, Default)]
pub struct SortedBuilder {
    entries: Vec<u16>,
    counts: Vec<u32>,
    last: Option<u64>,
}

impl SortedBuilder {
    /// Makes room for `entries` more entries.
    pub fn reserve(&mut self, entries: usize) {
        self.entries.reserve_exact(entries.saturating_mul(STORED));
    }

    /// Adds the next fingerprint; false (and nothing added) when it is not greater than the
    /// one before.
    pub fn push(&mut self, fp: u64) -> bool {
        if self.last.is_some_and(|last| fp <= last) {
            return false;
        }
        if self.counts.is_empty() {
            self.counts = vec![0; 1 << MAX_BUCKET_BITS];
        }
        if let Some(count) = self.counts.get_mut((fp >> LOW_BITS) as usize) {
            *count += 1;
        }
        self.entries.extend_from_slice(&stored_words(fp));
        self.last = Some(fp);
        true
    }

    pub fn len(&self) -> usize {
        self.entries.len() / STORED
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn build(mut self) -> FingerprintTable {
        if self.entries.is_empty() {
            return FingerprintTable::default();
        }
        let bits = bucket_bits(self.len());
        let starts = starts_from_counts(&self.counts, bits);
        drop(self.counts);
        self.entries.shrink_to_fit();
        FingerprintTable {
            entries: self.entries,
            starts,
            bucket_bits: bits,
        }
    }
}

/// Collects fingerprints in any order (8 bytes each), then sorts them, drops repeats and
/// narrows them to their stored 6 bytes in place.
#[derive(Debug, Default)]
pub struct UnsortedBuilder {
    words: Vec<u16>,
}

impl UnsortedBuilder {
    /// Makes room for `entries` more entries.
    pub fn reserve(&mut self, entries: usize) {
        self.words.reserve_exact(entries.saturating_mul(FULL));
    }

    pub fn push(&mut self, fp: u64) {
        if self.words.len() == self.words.capacity() {
            // Grows by a quarter, not by doubling: a large set's collection must not take
            // twice its size for long.
            self.words
                .reserve_exact((self.words.len() / 4).max(GROWTH_MIN_ENTRIES * FULL));
        }
        self.words.extend_from_slice(&full_words(fp));
    }

    pub fn len(&self) -> usize {
        self.words.len() / FULL
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Gives back room reserved and not used.
    pub fn shrink(&mut self) {
        self.words.shrink_to_fit();
    }

    /// Drops the fingerprints `other` holds.
    pub fn remove_found_in(&mut self, other: &FingerprintTable) {
        if other.is_empty() {
            return;
        }
        let mut kept = 0;
        for i in 0..self.len() {
            let mut full = [0u16; FULL];
            full.copy_from_slice(&self.words[i * FULL..(i + 1) * FULL]);
            if !other.contains(from_full(&full)) {
                self.words
                    .copy_within(i * FULL..(i + 1) * FULL, kept * FULL);
                kept += 1;
            }
        }
        self.words.truncate(kept * FULL);
    }

    pub fn build(mut self) -> FingerprintTable {
        let (full, _) = self.words.as_chunks_mut::<FULL>();
        full.sort_unstable_by_key(from_full);
        let mut distinct = 0usize;
        for i in 0..full.len() {
            if distinct == 0 || full[i] != full[distinct - 1] {
                full[distinct] = full[i];
                distinct += 1;
            }
        }
        if distinct == 0 {
            return FingerprintTable::default();
        }
        let bits = bucket_bits(distinct);
        let mut counts = vec![0u32; 1 << MAX_BUCKET_BITS];
        for words in &full[..distinct] {
            if let Some(count) = counts.get_mut(usize::from(words[FULL - 1])) {
                *count += 1;
            }
        }
        let starts = starts_from_counts(&counts, bits);
        drop(counts);
        for i in 0..distinct {
            self.words
                .copy_within(i * FULL..i * FULL + STORED, i * STORED);
        }
        self.words.truncate(distinct * STORED);
        self.words.shrink_to_fit();
        FingerprintTable {
            entries: self.words,
            starts,
            bucket_bits: bits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOW_MASK: u64 = (1 << LOW_BITS) - 1;

    /// What the table compares: `fp` and `other` share a bucket and their low 48 bits.
    fn same_slot(table: &FingerprintTable, fp: u64, other: u64) -> bool {
        table.bucket(fp) == table.bucket(other) && fp & LOW_MASK == other & LOW_MASK
    }

    fn spread(n: usize) -> Vec<u64> {
        let step = u64::MAX / n as u64;
        let mut fps: Vec<u64> = (0..n as u64).map(|i| i * step + (i % 7)).collect();
        fps.push(u64::MAX);
        fps
    }

    fn sorted_table(fps: &[u64]) -> FingerprintTable {
        let mut builder = SortedBuilder::default();
        for fp in fps {
            assert!(builder.push(*fp));
        }
        builder.build()
    }

    fn unsorted_table(fps: &[u64]) -> FingerprintTable {
        let mut builder = UnsortedBuilder::default();
        for fp in fps.iter().rev().chain(fps) {
            builder.push(*fp);
        }
        builder.build()
    }

    #[test]
    fn both_builders_find_every_fingerprint_and_only_those() {
        for n in [1usize, 2, 7, 8, 9, 100, 4097, 600_000] {
            let fps = spread(n);
            for (name, table) in [
                ("sorted", sorted_table(&fps)),
                ("unsorted", unsorted_table(&fps)),
            ] {
                assert_eq!(table.len(), n + 1, "{name} n={n}");
                assert_eq!(table.bytes(), (n + 1) * 6 + table.starts.len() * 4);
                for (i, fp) in fps.iter().enumerate() {
                    assert!(table.contains(*fp), "{name} n={n} fp={fp:#x}");
                    if i >= 50 && n >= 10_000 {
                        continue;
                    }
                    for probe in [fp.wrapping_add(1), fp.wrapping_sub(1), fp ^ 1 << 63] {
                        let expected = fps.iter().any(|f| same_slot(&table, *f, probe));
                        assert_eq!(table.contains(probe), expected, "{name} n={n} {probe:#x}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_full_size_table_keeps_all_64_bits() {
        let fps = spread(1 << 20);
        let table = sorted_table(&fps);
        assert_eq!(table.bucket_bits, 16);
        for fp in fps.iter().step_by(97) {
            for bit in 0..64 {
                let probe = fp ^ 1 << bit;
                assert_eq!(table.contains(probe), fps.binary_search(&probe).is_ok());
            }
        }
    }

    #[test]
    fn sorted_builder_refuses_a_fingerprint_out_of_order() {
        let mut builder = SortedBuilder::default();
        assert!(builder.push(5));
        assert!(!builder.push(5));
        assert!(!builder.push(4));
        assert!(builder.push(6));
        let table = builder.build();
        assert_eq!(table.len(), 2);
        assert!(!table.contains(4));
    }

    #[test]
    fn removes_what_another_table_holds() {
        let other = sorted_table(&[10, 20, 30]);
        let mut builder = UnsortedBuilder::default();
        for fp in [30, 40, 10, 50] {
            builder.push(fp);
        }
        builder.remove_found_in(&other);
        let table = builder.build();
        assert_eq!(table.len(), 2);
        assert!(table.contains(40) && table.contains(50) && !table.contains(30));
    }

    #[test]
    fn empty_tables_hold_nothing() {
        for table in [
            SortedBuilder::default().build(),
            UnsortedBuilder::default().build(),
        ] {
            assert!(table.is_empty());
            assert!(!table.contains(0));
            assert_eq!(table.bytes(), 0);
        }
    }
}
