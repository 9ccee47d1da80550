//! A set of products of the catalog, one bit each: which products list an action.

#![deny(clippy::indexing_slicing)]

use super::catalog::ProductIndex;

/// Most products a catalog can hold.
pub const MAX_PRODUCTS: usize = 256;

/// A set of [`ProductIndex`]es below [`MAX_PRODUCTS`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProductSet([u64; MAX_PRODUCTS / 64]);

impl ProductSet {
    pub fn insert(&mut self, product: ProductIndex) {
        if let Some(word) = self.0.get_mut(product / 64) {
            *word |= 1 << (product % 64);
        }
    }

    pub fn contains(&self, product: ProductIndex) -> bool {
        self.0
            .get(product / 64)
            .is_some_and(|word| word & (1 << (product % 64)) != 0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|word| *word == 0)
    }

    pub fn len(&self) -> usize {
        self.0.iter().map(|word| word.count_ones() as usize).sum()
    }

    /// Adds every product of `other`.
    pub fn extend(&mut self, other: &ProductSet) {
        for (word, more) in self.0.iter_mut().zip(other.0.iter()) {
            *word |= more;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_is_inserted_and_nothing_else() {
        let mut set = ProductSet::default();
        assert!(set.is_empty());
        for p in [0, 63, 64, 200, 255] {
            set.insert(p);
        }
        set.insert(MAX_PRODUCTS);
        assert_eq!(set.len(), 5);
        assert!([0, 63, 64, 200, 255].iter().all(|p| set.contains(*p)));
        assert!(![1, 62, 65, 254, 256, 1000].iter().any(|p| set.contains(*p)));
        let mut other = ProductSet::default();
        other.insert(7);
        other.extend(&set);
        assert_eq!(other.len(), 6);
    }
}
