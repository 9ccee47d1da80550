//! A compact table of 64-bit fingerprints: 6 bytes an entry plus a small bucket index, with
//! one index read and one short scan a lookup.
//!
//! The top `B` bits of a fingerprint (`B` ≤ 16, about [`PER_BUCKET`] entries a bucket) name its
//! bucket; the low 48 bits are stored, sorted, in the bucket's run. With `B` = 16 nothing is
//! lost; a smaller set keeps `48 + B` bits of each fingerprint, so a fingerprint that is not in
//! the table matches one that is with probability about `PER_BUCKET / 2^48` per lookup
//! whatever the set's size. A million entries take 6.0 MB.
//!
//! Everything large lives in pages of one size ([`PAGE_BYTES`]): the table's entries, and the
//! fingerprints collected while a table is built. A page freed by one configuration is reused
//! by the next, whatever the sizes of the sets, so the memory an allocator cannot give back
//! (a Wasm VM's linear memory never shrinks) does not grow from one configuration to the next.
//!
//! Two builders fill a table: [`SortedBuilder`] takes fingerprints in ascending order and
//! writes them straight in their final form, and [`UnsortedBuilder`] collects fingerprints in
//! any order (past the first 32,768, which are kept in one list, in 256 groups by their top 8
//! bits, 7 bytes each), then sorts one group at a time into a [`SortedBuilder`], freeing the
//! group's pages as it goes: building never holds much more than the collected fingerprints.
//!
//! The few larger buffers a build needs for a moment (the first fingerprints' list, the
//! counts by top bits, the list a group is sorted in) are kept for the next build of the same
//! thread (a VM) instead of being freed: a hole they left would be split by smaller
//! allocations that outlive it, and the next build would have to grow the memory for them.

use std::cell::RefCell;

/// Average entries a bucket.
pub const PER_BUCKET: usize = 8;
/// Most bits a bucket number takes.
const MAX_BUCKET_BITS: u32 = 16;
/// Words (`u16`) stored an entry.
const STORED: usize = 3;
/// Bytes of a fingerprint while collecting: all but the top 8 bits, which its group gives.
const COLLECTED: usize = 7;
const LOW_BITS: u32 = 48;
/// Words in a page of a table: 680 entries.
const PAGE_WORDS: usize = 2040;
/// Bytes in a page.
pub const PAGE_BYTES: usize = PAGE_WORDS * 2;
/// Entries in a page of a table.
const TABLE_PAGE_ENTRIES: usize = PAGE_WORDS / STORED;
/// Entries in a page of a collection, a page of the same size in bytes.
const COLLECT_PAGE_ENTRIES: usize = PAGE_BYTES / COLLECTED;
/// Bits of a fingerprint that name its collection group.
const GROUP_BITS: u32 = 8;

type Page = Box<[u16]>;
type CollectPage = Box<[u8]>;
/// A page of bucket starts, the same size in bytes as a [`Page`].
type StartsPage = Box<[u32]>;
/// Bucket starts in a page.
const STARTS_PAGE_ENTRIES: usize = PAGE_BYTES / 4;

/// The buffers one build of the thread lends the next.
#[derive(Default)]
struct Scratch {
    counts: Option<Box<[u32]>>,
    few: Vec<u64>,
    sorted: Vec<u64>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Zeroed counts by top 16 bits, from the last build when it gave them back.
fn take_counts() -> Box<[u32]> {
    let kept = SCRATCH.with(|s| s.borrow_mut().counts.take());
    match kept {
        Some(mut counts) => {
            counts.fill(0);
            counts
        }
        None => vec![0u32; 1 << MAX_BUCKET_BITS].into_boxed_slice(),
    }
}

/// An empty list from the last build (its capacity kept).
fn take_list(pick: fn(&mut Scratch) -> &mut Vec<u64>) -> Vec<u64> {
    SCRATCH.with(|s| std::mem::take(pick(&mut s.borrow_mut())))
}

/// Gives a list back for the next build, emptied.
fn give_list(pick: fn(&mut Scratch) -> &mut Vec<u64>, mut list: Vec<u64>) {
    list.clear();
    SCRATCH.with(|s| {
        let mut scratch = s.borrow_mut();
        let slot = pick(&mut scratch);
        if list.capacity() > slot.capacity() {
            *slot = list;
        }
    });
}

fn new_page() -> Page {
    vec![0u16; PAGE_WORDS].into_boxed_slice()
}

fn stored_words(fp: u64) -> [u16; STORED] {
    [fp as u16, (fp >> 16) as u16, (fp >> 32) as u16]
}

/// The fingerprint of group `group` whose other bits are `bytes`.
fn from_collected(group: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(group, |acc, b| acc << 8 | u64::from(*b))
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
    /// The low 48 bits of every fingerprint, three words an entry, by bucket, ascending;
    /// [`TABLE_PAGE_ENTRIES`] entries a page.
    pages: Vec<Page>,
    len: usize,
    /// `starts[b]` is the first entry of bucket `b`; one more slot closes the last one;
    /// [`STARTS_PAGE_ENTRIES`] a page.
    starts: Vec<StartsPage>,
    bucket_bits: u32,
}

impl FingerprintTable {
    fn bucket(&self, fp: u64) -> usize {
        fp.checked_shr(64 - self.bucket_bits).unwrap_or(0) as usize
    }

    fn start(&self, bucket: usize) -> Option<u32> {
        let page = self.starts.get(bucket / STARTS_PAGE_ENTRIES)?;
        page.get(bucket % STARTS_PAGE_ENTRIES).copied()
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn contains(&self, fp: u64) -> bool {
        if self.len == 0 {
            return false;
        }
        let bucket = self.bucket(fp);
        let (Some(from), Some(to)) = (self.start(bucket), self.start(bucket + 1)) else {
            return false;
        };
        let want = stored_words(fp);
        let (mut at, to) = (from as usize, to as usize);
        while at < to {
            let Some(page) = self.pages.get(at / TABLE_PAGE_ENTRIES) else {
                return false;
            };
            let first = at % TABLE_PAGE_ENTRIES;
            let last = (first + (to - at)).min(TABLE_PAGE_ENTRIES);
            let run = page.get(first * STORED..last * STORED).unwrap_or_default();
            if run.chunks_exact(STORED).any(|entry| entry == want) {
                return true;
            }
            at += last - first;
        }
        false
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.pages.len() * PAGE_BYTES
            + self.pages.capacity() * std::mem::size_of::<Page>()
            + self.starts.len() * PAGE_BYTES
            + self.starts.capacity() * std::mem::size_of::<StartsPage>()
    }
}

/// Bucket starts from the number of entries under each value of the top 16 bits.
fn starts_from_counts(counts: &[u32], bits: u32) -> Vec<StartsPage> {
    let group = 1usize << (MAX_BUCKET_BITS - bits);
    let total = (1usize << bits) + 1;
    let mut starts: Vec<StartsPage> = Vec::with_capacity(total.div_ceil(STARTS_PAGE_ENTRIES));
    let mut put = |i: usize, value: u32| {
        if i % STARTS_PAGE_ENTRIES == 0 {
            starts.push(vec![0u32; STARTS_PAGE_ENTRIES].into_boxed_slice());
        }
        if let Some(slot) = starts
            .last_mut()
            .and_then(|page| page.get_mut(i % STARTS_PAGE_ENTRIES))
        {
            *slot = value;
        }
    };
    let mut at = 0u32;
    let mut i = 0;
    for chunk in counts.chunks(group) {
        put(i, at);
        at += chunk.iter().sum::<u32>();
        i += 1;
    }
    put(i, at);
    starts
}

/// Builds a table from fingerprints given in strictly ascending order, writing each in its
/// final 6-byte form as it comes; only a count for each value of the top 16 bits (256 KB)
/// is kept on the side, until the bucket index is made from it.
#[derive(Debug, Default)]
pub struct SortedBuilder {
    pages: Vec<Page>,
    len: usize,
    counts: Option<Box<[u32]>>,
    last: Option<u64>,
}

impl Drop for SortedBuilder {
    fn drop(&mut self) {
        if let Some(counts) = self.counts.take() {
            SCRATCH.with(|s| s.borrow_mut().counts = Some(counts));
        }
    }
}

impl SortedBuilder {
    /// Adds the next fingerprint; false (and nothing added) when it is not greater than the
    /// one before.
    pub fn push(&mut self, fp: u64) -> bool {
        if self.last.is_some_and(|last| fp <= last) {
            return false;
        }
        let counts = self.counts.get_or_insert_with(take_counts);
        if let Some(count) = counts.get_mut((fp >> LOW_BITS) as usize) {
            *count += 1;
        }
        let at = self.len % TABLE_PAGE_ENTRIES;
        if at == 0 {
            self.pages.push(new_page());
        }
        if let Some(slot) = self
            .pages
            .last_mut()
            .and_then(|page| page.get_mut(at * STORED..(at + 1) * STORED))
        {
            slot.copy_from_slice(&stored_words(fp));
        }
        self.len += 1;
        self.last = Some(fp);
        true
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn build(mut self) -> FingerprintTable {
        if self.len == 0 {
            return FingerprintTable::default();
        }
        let bits = bucket_bits(self.len);
        let starts = starts_from_counts(self.counts.as_deref().unwrap_or_default(), bits);
        self.pages.shrink_to_fit();
        FingerprintTable {
            pages: std::mem::take(&mut self.pages),
            len: self.len,
            starts,
            bucket_bits: bits,
        }
    }
}

/// Fingerprints whose top 8 bits are the same, in collection pages.
#[derive(Debug, Default)]
struct Group {
    pages: Vec<CollectPage>,
    len: usize,
}

/// Collects fingerprints in any order (8 bytes each), then builds a table one group at a
/// time.
#[derive(Debug, Default)]
pub struct UnsortedBuilder {
    /// The first fingerprints, whole, until there are [`FEW`] of them: a small set is not
    /// spread over 256 groups' pages.
    few: Vec<u64>,
    groups: Vec<Group>,
    len: usize,
}

/// Fingerprints collected in one plain list before the groups take over (256 KB).
const FEW: usize = 32 << 10;

impl UnsortedBuilder {
    pub fn push(&mut self, fp: u64) {
        self.len += 1;
        if self.groups.is_empty() {
            if self.few.len() < FEW {
                // One allocation of one size, whatever the set: nothing to fragment.
                if self.few.capacity() == 0 {
                    self.few = take_list(|s| &mut s.few);
                    self.few.reserve_exact(FEW);
                }
                self.few.push(fp);
                return;
            }
            self.groups = (0..1 << GROUP_BITS).map(|_| Group::default()).collect();
            let few = std::mem::take(&mut self.few);
            for fp in &few {
                self.push_grouped(*fp);
            }
            give_list(|s| &mut s.few, few);
        }
        self.push_grouped(fp);
    }

    fn push_grouped(&mut self, fp: u64) {
        let Some(group) = self.groups.get_mut((fp >> (64 - GROUP_BITS)) as usize) else {
            return;
        };
        let at = group.len % COLLECT_PAGE_ENTRIES;
        if at == 0 {
            group.pages.push(vec![0u8; PAGE_BYTES].into_boxed_slice());
        }
        if let Some(slot) = group
            .pages
            .last_mut()
            .and_then(|page| page.get_mut(at * COLLECTED..(at + 1) * COLLECTED))
        {
            slot.copy_from_slice(&fp.to_le_bytes()[..COLLECTED]);
        }
        group.len += 1;
    }

    /// Fingerprints collected, repeats included.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Builds the table of the distinct fingerprints collected, leaving out those `skip`
    /// holds.
    pub fn build(self, skip: &FingerprintTable) -> FingerprintTable {
        let mut out = SortedBuilder::default();
        let mut add_sorted = |sorted: &mut Vec<u64>| {
            sorted.sort_unstable();
            sorted.dedup();
            for fp in sorted.iter() {
                if !skip.contains(*fp) {
                    // Groups come in order of their top bits, each sorted: always ascending.
                    out.push(*fp);
                }
            }
        };
        let mut few = self.few;
        add_sorted(&mut few);
        give_list(|s| &mut s.few, few);
        // One list for every group, the largest group's size.
        let largest = self.groups.iter().map(|g| g.len).max().unwrap_or(0);
        let mut sorted = take_list(|s| &mut s.sorted);
        sorted.reserve_exact(largest);
        for (top, group) in (0u64..).zip(self.groups) {
            sorted.clear();
            for (p, page) in group.pages.iter().enumerate() {
                let count = (group.len - p * COLLECT_PAGE_ENTRIES).min(COLLECT_PAGE_ENTRIES);
                let bytes = page.get(..count * COLLECTED).unwrap_or_default();
                sorted.extend(
                    bytes
                        .chunks_exact(COLLECTED)
                        .map(|entry| from_collected(top, entry)),
                );
            }
            // The group's pages go before the table's grow: the table reuses them.
            drop(group.pages);
            add_sorted(&mut sorted);
        }
        let table = out.build();
        give_list(|s| &mut s.sorted, sorted);
        table
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
        builder.build(&FingerprintTable::default())
    }

    #[test]
    fn both_builders_find_every_fingerprint_and_only_those() {
        for n in [
            1usize,
            2,
            7,
            8,
            9,
            100,
            4097,
            FEW - 1,
            FEW,
            FEW + 1,
            600_000,
        ] {
            let fps = spread(n);
            for (name, table) in [
                ("sorted", sorted_table(&fps)),
                ("unsorted", unsorted_table(&fps)),
            ] {
                assert_eq!(table.len(), n + 1, "{name} n={n}");
                let pages = (n + 1).div_ceil(TABLE_PAGE_ENTRIES);
                assert_eq!(table.pages.len(), pages, "{name} n={n}");
                assert_eq!(
                    table.bytes(),
                    pages * PAGE_BYTES
                        + table.pages.capacity() * std::mem::size_of::<Page>()
                        + table.starts.len() * PAGE_BYTES
                        + table.starts.capacity() * std::mem::size_of::<StartsPage>()
                );
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
    fn leaves_out_what_another_table_holds() {
        let other = sorted_table(&[10, 20, 30]);
        let mut builder = UnsortedBuilder::default();
        for fp in [30, 40, 10, 50, u64::MAX] {
            builder.push(fp);
        }
        builder.push(u64::MAX);
        assert_eq!(builder.len(), 6);
        let table = builder.build(&other);
        assert_eq!(table.len(), 3);
        assert!(table.contains(40) && table.contains(50) && table.contains(u64::MAX));
        assert!(!table.contains(30) && !table.contains(10));
    }

    #[test]
    fn empty_tables_hold_nothing() {
        for table in [
            SortedBuilder::default().build(),
            UnsortedBuilder::default().build(&FingerprintTable::default()),
        ] {
            assert!(table.is_empty());
            assert!(!table.contains(0));
            assert_eq!(table.bytes(), 0);
        }
    }
}
