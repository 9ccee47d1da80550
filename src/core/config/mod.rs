//! The filter configuration: parsing, validation and the resulting [`Policy`].
//!
//! The configuration is JSON (Envoy passes a `StringValue` raw and a `Struct` as JSON). Any
//! problem rejects the whole configuration with a [`ConfigError`] naming the field path
//! (`leaked_keys[3]: …`). The text is read as a stream ([`load_from`] takes any reader, so
//! the filter hands it the host's buffer piece by piece), and `leaked_keys` and
//! `leaked_keys_packed` go straight into the key set: neither the text nor a million entries
//! ever exist whole in memory.
//!
//! One concern a file: [`error`] (problems and their phrasing), [`policy`] (what an accepted
//! configuration is), [`key_entry`], [`key_shape`] and [`key_stream`] (the key fields), [`lists`]
//! (`extra_operations`, `endpoints`), [`key_feed`] (the feed's source), [`rules`] (`_rules_`),
//! and [`load`], which reads the top level and hands each field to its file. No file imports
//! one that imports it back: a
//! new field goes in a file of its own and into [`load`]'s list.

pub mod error;
pub mod key_entry;
pub mod key_feed;
pub mod key_shape;
pub mod key_stream;
pub mod lists;
pub mod load;
pub mod policy;
pub mod rules;

pub use error::ConfigError;
pub use key_entry::{parse_digest, parse_key_entry, read_key_entry, KeyEntry, MAX_KEY_LEN};
pub use key_shape::Unusual;
pub use load::{load, load_from, FIELDS, TOP_LEVEL_ONLY};
pub use policy::{Loaded, Mode, Policy, Rule, DEFAULT_MAX_BODY_BYTES, MAX_MAX_BODY_BYTES};

#[cfg(test)]
mod tests;
