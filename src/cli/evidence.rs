//! What `akguard explain` lists of a request: each distinct key reading, action and version,
//! with where it was first found, and the hosts. Built from the same items the filter's check
//! reads ([`Item`]), deduplicated with a hash set so a hostile request costs time linear in
//! its size, and at most [`MAX_LISTED`] values a list (the rest are counted).

use akguard::core::params::{Param, ParamScanner};
use akguard::core::request::{
    head_items, hosts_in, key_candidates_in_head, param_items, HeaderField, Item, Source,
};
use std::collections::HashSet;

/// Most values listed per kind.
pub const MAX_LISTED: usize = 32;

/// A value and where it was first found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub value: Vec<u8>,
    pub source: Source,
    /// The raw value was longer than the scanner keeps and was cut.
    pub cut: bool,
}

/// One kind of value, listed.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    pub found: Vec<Found>,
    /// Distinct values not listed.
    pub left_out: usize,
}

impl Listing {
    fn push(&mut self, value: &[u8], source: Source, cut: bool) {
        if self.found.len() < MAX_LISTED {
            self.found.push(Found {
                value: value.to_vec(),
                source,
                cut,
            });
        } else {
            self.left_out += 1;
        }
    }
}

/// Everything read from a request, for explanations.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// AccessKey IDs as read (as given and trimmed).
    pub keys: Listing,
    /// Other readings of them (runs of key characters, decodings) that are not also keys as
    /// read.
    pub other_key_readings: Listing,
    pub actions: Listing,
    pub versions: Listing,
    /// `Format=XML` was asked for.
    pub xml: bool,
    /// Normalised `:authority` / `Host` values, distinct.
    pub hosts: Vec<String>,
    seen: HashSet<(u8, Vec<u8>)>,
}

impl Evidence {
    /// What the headers and the query string say.
    pub fn of_head(headers: &[impl HeaderField]) -> Evidence {
        let mut evidence = Evidence::default();
        hosts_in(headers, &mut |host| {
            if !evidence.hosts.iter().any(|h| h == host) && evidence.hosts.len() < MAX_LISTED {
                evidence.hosts.push(host.to_string());
            }
        });
        key_candidates_in_head(headers, &mut |key, c| {
            evidence.note(&Item::Key(key, c));
        });
        head_items(headers, &mut |item| evidence.note(&item));
        evidence
    }

    /// What a form body says, read as the check reads it: the chunks given, up to `limit`
    /// bytes in all; `complete`: the body ended within them.
    pub fn read_body(&mut self, chunks: &[Vec<u8>], limit: usize, complete: bool) {
        let mut scanner = ParamScanner::new();
        let mut left = limit;
        let mut take =
            |param: Param<'_>| param_items(param, Source::Body, &mut |item| self.note(&item));
        for chunk in chunks {
            let taken = chunk.get(..chunk.len().min(left)).unwrap_or_default();
            left -= taken.len();
            scanner.feed(taken, &mut take);
        }
        if complete && left > 0 {
            scanner.finish(&mut take);
        }
    }

    /// Takes one item read from the request.
    pub fn note(&mut self, item: &Item<'_>) {
        match *item {
            Item::Key(value, c) if !c.other => {
                if self.first_time(KEY, value) {
                    self.keys.push(value, c.source, c.cut);
                }
            }
            Item::Key(value, c) => {
                if !self.seen.contains(&(KEY, value.to_vec())) && self.first_time(OTHER_KEY, value)
                {
                    self.other_key_readings.push(value, c.source, c.cut);
                }
            }
            Item::Action { value, source, cut } => {
                if self.first_time(ACTION, value) {
                    self.actions.push(value, source, cut);
                }
            }
            Item::Version { value, source, cut } => {
                if self.first_time(VERSION, value) {
                    self.versions.push(value, source, cut);
                }
            }
            Item::Xml => self.xml = true,
        }
    }

    fn first_time(&mut self, kind: u8, value: &[u8]) -> bool {
        self.seen.insert((kind, value.to_vec()))
    }
}

/// The kinds of value told apart in [`Evidence::seen`].
const KEY: u8 = 0;
const OTHER_KEY: u8 = 1;
const ACTION: u8 = 2;
const VERSION: u8 = 3;
