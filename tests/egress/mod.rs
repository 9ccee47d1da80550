//! The egress-gateway end-to-end tests' machinery: a stand-in for Alibaba Cloud and a DNS
//! server (Python, in this directory), the certificates (`make-certs.sh`), the shipped
//! example bootstraps started in a real Envoy with only addresses, ports and file paths
//! substituted ([`gateway`]), and Alibaba Cloud's own SDKs driven through them
//! (`drivers/`, installed from `requirements.txt` and `package-lock.json`).

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod gateway;
pub mod lab;
