//! Shared by the fuzz targets: the evasion suite's wire reader, reference decoder and the
//! properties every input must keep (`tests/evasion/properties.rs`).

#[path = "../../tests/evasion/mod.rs"]
pub mod evasion;

pub use evasion::properties::{check_config, check_form, check_request};
pub use evasion::{reference, wire};
