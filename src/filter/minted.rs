//! Keys minted by leaked keys, kept in Envoy's shared data (`akguard.minted`) so that every
//! worker's VM sees a key as soon as one of them records it.
//!
//! Each VM keeps one parsed copy (a thread-local, so no configuration allocates its own),
//! re-read only when the shared value's CAS number has moved,
//! and only when a request carries an `STS.` key reading to look up (at most once a request):
//! requests with other keys never read it. A key is recorded by read, add, compare-and-swap
//! write, repeated until the value read back holds it.

use super::clock;
use crate::core::minted::{MintedLookup, MintedSet};
use proxy_wasm::hostcalls;
use std::cell::RefCell;

/// The shared-data key of the serialised [`MintedSet`].
pub const SHARED_KEY: &str = "akguard.minted";

/// Most read-and-swap rounds for one key (each fails only when another worker wrote between
/// its read and its write).
const RECORD_ATTEMPTS: usize = 8;

fn read_shared() -> (MintedSet, Option<u32>) {
    match hostcalls::get_shared_data(SHARED_KEY) {
        Ok((data, cas)) => (
            MintedSet::from_bytes(data.as_deref().unwrap_or_default()),
            cas,
        ),
        Err(_) => (MintedSet::default(), None),
    }
}

/// This VM's copy of the shared set.
#[derive(Debug)]
struct MintedCache {
    cas: Option<u32>,
    set: MintedSet,
}

thread_local! {
    static CACHE: RefCell<MintedCache> = const {
        RefCell::new(MintedCache {
            cas: None,
            set: MintedSet::new(),
        })
    };
}

/// Re-reads the shared set when it has changed since the last read.
fn refresh(cache: &mut MintedCache) {
    if let Ok((data, cas)) = hostcalls::get_shared_data(SHARED_KEY) {
        if cas != cache.cas || cas.is_none() {
            cache.set = MintedSet::from_bytes(data.as_deref().unwrap_or_default());
            cache.cas = cas;
        }
    }
}

/// Re-reads the shared set (when changed) and returns how many keys are in force at `now`.
pub fn in_force(now: u64) -> usize {
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        refresh(&mut cache);
        cache.set.in_force(now)
    })
}

/// One request's view of the minted keys: the copy refreshed on its first lookup.
pub struct RequestMinted<'a> {
    pub refreshed: &'a mut bool,
}

impl MintedLookup for RequestMinted<'_> {
    fn is_minted(&mut self, key: &[u8]) -> bool {
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            if !*self.refreshed {
                *self.refreshed = true;
                refresh(&mut cache);
            }
            !cache.set.is_empty() && cache.set.contains(key, clock::now_secs())
        })
    }
}

/// Records `key` as leaked until `expires` in the shared set. Returns the number of keys in
/// force, or `None` when it could not be recorded (the set is full of keys that outlive it,
/// or other workers kept winning the race).
pub fn record(key: &[u8], expires: u64, now: u64) -> Option<usize> {
    for _ in 0..RECORD_ATTEMPTS {
        let (mut set, cas) = read_shared();
        if set.contains(key, expires.saturating_sub(1)) {
            return Some(set.in_force(now));
        }
        if !set.record(key, expires, now) {
            return None;
        }
        // A write that lost the race is retried; one that won is seen by the next read.
        let _ = hostcalls::set_shared_data(SHARED_KEY, Some(&set.to_bytes()), cas);
    }
    None
}
