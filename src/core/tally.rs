//! The bounded record one request's check keeps: what a decision needs, never the values
//! themselves.
//!
//! Each item read from a request is judged as it is read and leaves at most a flag or a
//! short rendering behind: whether a leaked key was seen (each key reading is looked up in
//! the set as it comes), which of the request's products had a listed operation called, whether
//! an action could not be read, whether one is listed for some product, whether any action was
//! given at all. So the record's size does not depend on the request's size or content, and
//! every item costs the same whatever came before it.
//!
//! Where a bound is reached, the reading that denies is taken, under a named rule: a request
//! with more than [`MAX_DIGEST_LOOKUPS`] key readings a `sha256:` entry could match counts as
//! carrying a leaked key (`too-many-keys`), and more than [`MAX_PRODUCTS`] distinct products among its
//! hosts deny it when it carries a leaked key (`too-many-hosts`).

#![deny(clippy::indexing_slicing)]

use super::catalog::{Catalog, ProductIndex};
use super::decision::is_plain_action;
use super::endpoints::{resolve, Endpoints};
use super::issued::{is_credential_action, is_issuing_product, ISSUED_PREFIX};
use super::keyset::{KeySet, Lookup};
use super::mask::Shown;
use super::minted::{MintedLookup, NoMinted};

/// Most key readings of one request looked up by their SHA-256 digest (when the set holds
/// `sha256:` or packed entries, for readings of an AccessKey ID's length). A client sends one
/// key, read a few ways (as given, trimmed, the runs of key characters in it, decoded): a
/// request with more is treated as carrying a leaked key.
pub const MAX_DIGEST_LOOKUPS: u32 = 64;

/// Most distinct products kept for the hosts of one request. A request names one host; one
/// naming more than this many products is denied when it carries a leaked key.
pub const MAX_PRODUCTS: usize = 8;

/// Longest host kept for the reply and the log (a DNS name has at most 253 bytes).
const MAX_HOST_KEPT: usize = 255;

/// The first host a request names, cut to [`MAX_HOST_KEPT`] bytes, held inline.
#[derive(Clone, Copy, Debug)]
struct Host {
    len: u8,
    bytes: [u8; MAX_HOST_KEPT],
}

impl Host {
    fn of(host: &str) -> Host {
        let mut end = host.len().min(MAX_HOST_KEPT);
        while !host.is_char_boundary(end) {
            end -= 1;
        }
        let mut kept = Host {
            len: end as u8,
            bytes: [0; MAX_HOST_KEPT],
        };
        if let (Some(to), Some(from)) = (kept.bytes.get_mut(..end), host.as_bytes().get(..end)) {
            to.copy_from_slice(from);
        }
        kept
    }

    fn as_str(&self) -> &str {
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or_default();
        std::str::from_utf8(bytes).unwrap_or_default()
    }
}

/// Why a request counts as carrying a leaked key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leak {
    /// A key reading is in the leaked set; the key, masked.
    Listed(Shown),
    /// A key value was cut short by the scanner and could hide a leaked key; its start, masked.
    Cut(Shown),
    /// More than [`MAX_DIGEST_LOOKUPS`] readings to look up by digest: the rest were not
    /// looked up.
    TooManyKeys,
}

impl Leak {
    /// The masked key for logs (empty when there is none to show).
    pub fn masked_key(&self) -> &str {
        match self {
            Leak::Listed(masked) | Leak::Cut(masked) => masked.as_str(),
            Leak::TooManyKeys => "",
        }
    }
}

/// What the key readings of a request have shown: all the fast path keeps.
#[derive(Clone, Copy, Debug)]
pub struct KeyWatch {
    leak: Option<Leak>,
    digests_left: u32,
}

impl Default for KeyWatch {
    fn default() -> Self {
        KeyWatch {
            leak: None,
            digests_left: MAX_DIGEST_LOOKUPS,
        }
    }
}

impl KeyWatch {
    /// Looks up one AccessKey ID reading (see [`super::request::Candidate`]) in the leaked
    /// set, unless a leak is already known. A reading cut short counts as leaked, as does one
    /// to look up by digest past the [`MAX_DIGEST_LOOKUPS`]th. A reading that could be an
    /// issued key ([`ISSUED_PREFIX`]) and is in no set is then looked up in `minted` (while
    /// the sets have entries: minted keys come from leaked ones).
    pub fn note_key(
        &mut self,
        keys: &[&KeySet],
        minted: &mut dyn MintedLookup,
        key: &[u8],
        cut: bool,
    ) {
        if self.leak.is_some() || keys.iter().all(|k| k.is_empty()) {
            return;
        }
        if cut {
            self.leak = Some(Leak::Cut(Shown::masked_key(key)));
            return;
        }
        match KeySet::lookup_among(keys, key, &mut self.digests_left) {
            Lookup::Clean if key.starts_with(ISSUED_PREFIX) && minted.is_minted(key) => {
                self.leak = Some(Leak::Listed(Shown::masked_key(key)))
            }
            Lookup::Clean => {}
            Lookup::Leaked => self.leak = Some(Leak::Listed(Shown::masked_key(key))),
            Lookup::OverBudget => self.leak = Some(Leak::TooManyKeys),
        }
    }

    pub fn leak(&self) -> Option<&Leak> {
        self.leak.as_ref()
    }
}

/// The record of one request: every field held inline, so keeping it takes no heap.
#[derive(Clone, Debug)]
pub struct Tally {
    keys: KeyWatch,
    /// How many of `products` are in use.
    product_count: u8,
    /// Distinct products of the request's hosts, in the order first named; `None`: a host of
    /// no known product.
    products: [Option<ProductIndex>; MAX_PRODUCTS],
    /// More distinct products than [`MAX_PRODUCTS`] were named.
    too_many_products: bool,
    /// The first host, cut to [`MAX_HOST_KEPT`] bytes.
    host: Option<Host>,
    /// For each of `products`, the first action read that it lists.
    listed: [Option<Shown>; MAX_PRODUCTS],
    first_action: Option<Shown>,
    /// The first action that cannot be read with certainty.
    unreadable: Option<Shown>,
    /// The first action listed for some product.
    listed_anywhere: Option<Shown>,
    /// An action read names a credential-issuing operation.
    credential_action: bool,
    xml: bool,
}

impl Default for Tally {
    fn default() -> Self {
        Tally::with_keys(KeyWatch::default())
    }
}

impl Tally {
    /// A record that starts from what the key readings have shown so far.
    pub fn with_keys(keys: KeyWatch) -> Tally {
        Tally {
            keys,
            product_count: 0,
            products: [None; MAX_PRODUCTS],
            too_many_products: false,
            host: None,
            listed: [None; MAX_PRODUCTS],
            first_action: None,
            unreadable: None,
            listed_anywhere: None,
            credential_action: false,
            xml: false,
        }
    }

    /// A record for a request naming these hosts (normalised, see
    /// [`super::request::hosts_in`]).
    pub fn for_hosts<'h>(
        catalog: &Catalog,
        endpoints: &Endpoints,
        hosts: impl IntoIterator<Item = &'h str>,
    ) -> Tally {
        let mut tally = Tally::default();
        for host in hosts {
            tally.note_host(catalog, endpoints, host);
        }
        tally
    }

    /// Notes one host the request names (normalised): its product joins the distinct products
    /// kept, and the first host is kept for the reply and the log.
    pub fn note_host(&mut self, catalog: &Catalog, endpoints: &Endpoints, host: &str) {
        self.note_host_name(host);
        let product = resolve(catalog, endpoints, host);
        if self.products().contains(&product) {
            return;
        }
        match self.products.get_mut(usize::from(self.product_count)) {
            Some(slot) => {
                *slot = product;
                self.product_count += 1;
            }
            None => self.too_many_products = true,
        }
    }

    /// Notes one host the request names, for the reply and the log only (the product is
    /// pinned: [`Self::pin_product`]).
    pub fn note_host_name(&mut self, host: &str) {
        if self.host.is_none() {
            self.host = Some(Host::of(host));
        }
    }

    /// The request's product is `product`, whatever its hosts name (a route that sends
    /// every host to one product's endpoint).
    pub fn pin_product(&mut self, product: ProductIndex) {
        self.products = [None; MAX_PRODUCTS];
        self.products[0] = Some(product);
        self.product_count = 1;
        self.too_many_products = false;
    }

    /// Looks up one AccessKey ID reading in the leaked set (see [`KeyWatch::note_key`]).
    pub fn note_key(&mut self, keys: &[&KeySet], key: &[u8], cut: bool) {
        self.keys.note_key(keys, &mut NoMinted, key, cut);
    }

    /// Looks up one AccessKey ID reading in the leaked set, then among the minted keys.
    pub fn note_key_or_minted(
        &mut self,
        keys: &[&KeySet],
        minted: &mut dyn MintedLookup,
        key: &[u8],
        cut: bool,
    ) {
        self.keys.note_key(keys, minted, key, cut);
    }

    /// Judges one action value (never empty) against the request's products.
    pub fn note_action(&mut self, catalog: &Catalog, action: &[u8], cut: bool) {
        let shown = || Some(Shown::printable(action));
        if self.first_action.is_none() {
            self.first_action = shown();
        }
        if cut || !is_plain_action(action) {
            if self.unreadable.is_none() {
                self.unreadable = shown();
            }
            return;
        }
        if is_credential_action(action) {
            self.credential_action = true;
        }
        let listing = catalog.listing(action);
        if listing.is_empty() {
            return;
        }
        if self.listed_anywhere.is_none() {
            self.listed_anywhere = shown();
        }
        for (product, listed) in self.products.iter().zip(self.listed.iter_mut()) {
            if let Some(index) = product {
                if listing.contains(*index) && listed.is_none() {
                    *listed = shown();
                }
            }
        }
    }

    /// The request may be a call that issues credentials: a credential-issuing action, or an
    /// action that cannot be read, on a host of a product that issues credentials or of no
    /// known product (the reading that watches the response).
    pub fn may_issue_credentials(&self, catalog: &Catalog) -> bool {
        let issuing = self.products().is_empty()
            || self.products().iter().any(|p| {
                p.and_then(|i| catalog.products.get(i))
                    .is_none_or(|p| is_issuing_product(&p.id))
            });
        issuing && (self.credential_action || self.unreadable.is_some())
    }

    /// The reply is asked for in XML.
    pub fn note_xml(&mut self) {
        self.xml = true;
    }

    pub fn leak(&self) -> Option<&Leak> {
        self.keys.leak()
    }

    /// The distinct products of the request's hosts, in order (none for a request without a
    /// host).
    pub fn products(&self) -> &[Option<ProductIndex>] {
        self.products
            .get(..usize::from(self.product_count))
            .unwrap_or_default()
    }

    pub fn too_many_products(&self) -> bool {
        self.too_many_products
    }

    /// The first action read that the product in slot `slot` of [`Self::products`] lists.
    pub fn listed_for(&self, slot: usize) -> Option<&str> {
        self.listed.get(slot)?.as_ref().map(Shown::as_str)
    }

    pub fn first_action(&self) -> Option<&str> {
        self.first_action.as_ref().map(Shown::as_str)
    }

    pub fn unreadable_action(&self) -> Option<&str> {
        self.unreadable.as_ref().map(Shown::as_str)
    }

    pub fn action_listed_anywhere(&self) -> Option<&str> {
        self.listed_anywhere.as_ref().map(Shown::as_str)
    }

    pub fn host(&self) -> &str {
        self.host.as_ref().map_or("", Host::as_str)
    }

    pub fn xml(&self) -> bool {
        self.xml
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::keyset::{sha256, KeySetBuilder};

    fn catalog() -> Catalog {
        Catalog::embedded().unwrap()
    }

    #[test]
    fn products_are_kept_distinct_and_bounded() {
        let c = catalog();
        let e = Endpoints::default();
        let t = Tally::for_hosts(
            &c,
            &e,
            [
                "ecs.aliyuncs.com",
                "ecs.cn-hangzhou.aliyuncs.com",
                "example.com",
                "x.example",
            ],
        );
        assert_eq!(t.products(), [Some(c.product_index("ecs").unwrap()), None]);
        assert!(!t.too_many_products());
        assert_eq!(t.host(), "ecs.aliyuncs.com");
        let many: Vec<String> = c
            .products
            .iter()
            .filter_map(|p| Some(format!("{}.aliyuncs.com", p.host_codes.first()?)))
            .collect();
        let t = Tally::for_hosts(&c, &e, many.iter().map(String::as_str));
        assert_eq!(t.products().len(), MAX_PRODUCTS);
        assert!(t.too_many_products());
        let long = "a".repeat(1000);
        let t = Tally::for_hosts(&c, &e, [long.as_str()]);
        assert_eq!(t.host().len(), MAX_HOST_KEPT);
    }

    #[test]
    fn actions_leave_only_their_first_renderings() {
        let c = catalog();
        let ecs = c.product_index("ecs").unwrap();
        let mut t = Tally::for_hosts(&c, &Endpoints::default(), ["ecs.aliyuncs.com", "x.example"]);
        for action in [
            "DescribeRegions",
            "SendSms",
            "runinstances",
            "RunInstances",
            "Run Instances",
        ] {
            t.note_action(&c, action.as_bytes(), false);
        }
        t.note_action(&c, b"DeleteImage", true);
        assert_eq!(t.products(), [Some(ecs), None]);
        assert_eq!(t.first_action(), Some("DescribeRegions"));
        assert_eq!(t.listed_for(0), Some("runinstances"));
        assert_eq!(t.listed_for(1), None);
        assert_eq!(t.action_listed_anywhere(), Some("SendSms"));
        assert_eq!(t.unreadable_action(), Some("Run?Instances"));
        for i in 0..10_000 {
            t.note_action(&c, format!("Action{i}").as_bytes(), i % 2 == 0);
        }
        assert_eq!(t.first_action(), Some("DescribeRegions"));
        assert_eq!(t.unreadable_action(), Some("Run?Instances"));
    }

    #[test]
    fn keys_are_looked_up_as_read_within_a_budget() {
        let mut b = KeySetBuilder::default();
        b.add_plain(b"LTAI5tLeakedKey000000001");
        let keys = b.build();
        let mut t = Tally::default();
        t.note_key(&[&keys], b"LTAI5tCleanKey0000000001", false);
        assert_eq!(t.leak(), None);
        t.note_key(&[&keys], b"LTAI5tLeakedKey000000001", false);
        assert_eq!(t.leak().map(Leak::masked_key), Some("LTAI****0001"));

        let mut t = Tally::default();
        t.note_key(&[&keys], b"LTAI5tCleanKey0000000001", true);
        assert!(matches!(t.leak(), Some(Leak::Cut(m)) if m.as_str() == "LTAI****0001"));

        let mut t = Tally::default();
        for i in 0..1000 {
            t.note_key(&[&keys], format!("LTAI5tCleanKey{i:010}").as_bytes(), false);
        }
        assert_eq!(t.leak(), None, "plain entries need no digest");

        b = KeySetBuilder::default();
        b.add_digest(&sha256(b"LTAI5tLeakedKey000000001"));
        let digests = b.build();
        let mut t = Tally::default();
        for i in 0..MAX_DIGEST_LOOKUPS {
            t.note_key(
                &[&digests],
                format!("LTAI5tCleanKey{i:010}").as_bytes(),
                false,
            );
            t.note_key(&[&digests], b"short", false);
        }
        assert_eq!(t.leak(), None, "short readings need no digest");
        t.note_key(&[&digests], b"LTAI5tCleanKey0000000065", false);
        assert_eq!(t.leak(), Some(&Leak::TooManyKeys));

        let empty = KeySetBuilder::default().build();
        let mut t = Tally::default();
        for _ in 0..1000 {
            t.note_key(&[&empty], b"x", true);
        }
        assert_eq!(t.leak(), None);
    }
}
