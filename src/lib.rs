//! akguard: a proxy-wasm HTTP filter that denies high-risk Alibaba Cloud API calls signed
//! with leaked AccessKey IDs, locally, with Alibaba Cloud's own error.
//!
//! [`core`] holds every decision and is plain Rust; the filter adapter (built for wasm32
//! only) reads from the host, calls the core and acts on its verdict.

pub mod core;

#[cfg(target_arch = "wasm32")]
mod filter;
