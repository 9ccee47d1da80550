//! The policy core: everything akguard decides, with no proxy-wasm import. The filter
//! adapter and the command-line tool both drive it; it is tested natively.

pub mod authorization;
pub mod body_kind;
pub mod catalog;
pub mod check;
pub mod config;
pub mod decision;
pub mod deny_log;
pub mod endpoints;
pub mod feed;
pub mod feed_slot;
pub mod fingerprints;
pub mod host_shapes;
pub mod issued;
pub mod keyset;
pub mod list_file;
pub mod mask;
pub mod minted;
pub mod packed;
pub mod params;
pub mod percent;
pub mod product_set;
pub mod reply;
pub mod request;
pub mod rules;
pub mod tally;
