//! The feed's key set in force: one slot shared by a configuration, its rules and the filter
//! that fills it, so a newer set counts for every request from the moment it is placed.

use super::keyset::KeySet;
use std::cell::RefCell;
use std::rc::Rc;

/// Holds the feed's key set, if one has been applied. Clones share the slot.
#[derive(Clone, Debug, Default)]
pub struct FeedSlot(Rc<RefCell<Option<Rc<KeySet>>>>);

impl FeedSlot {
    /// The set in force, if any.
    pub fn current(&self) -> Option<Rc<KeySet>> {
        self.0.borrow().clone()
    }

    /// Puts `keys` in force in place of the set before.
    pub fn replace(&self, keys: Rc<KeySet>) {
        self.0.replace(Some(keys));
    }

    /// Makes `self` share `other`'s slot (and its set).
    pub fn share(&mut self, other: &FeedSlot) {
        self.0 = Rc::clone(&other.0);
    }
}

/// Runs `f` over the key sets in force: the configuration's `keys`, and the feed's when it
/// holds any.
pub fn with_key_sets<R>(keys: &KeySet, feed: &FeedSlot, f: impl FnOnce(&[&KeySet]) -> R) -> R {
    match feed.current() {
        Some(fed) if !fed.is_empty() => f(&[keys, &fed]),
        _ => f(&[keys]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::keyset::KeySetBuilder;

    #[test]
    fn clones_see_a_replaced_set() {
        let slot = FeedSlot::default();
        let mut shared = FeedSlot::default();
        shared.share(&slot);
        let config = KeySetBuilder::default().build();
        assert_eq!(with_key_sets(&config, &shared, |sets| sets.len()), 1);
        let mut b = KeySetBuilder::default();
        b.add_plain(b"LTAI5tFeedKey00000000001");
        slot.replace(Rc::new(b.build()));
        let held = with_key_sets(&config, &shared, |sets| {
            sets.iter().any(|s| s.contains(b"LTAI5tFeedKey00000000001"))
        });
        assert!(held);
        assert_eq!(shared.current().map(|s| s.len()), Some(1));
    }
}
