//! The catalog of known products against the public endpoint data it is derived from, and
//! every host shape of every listed product and of a sample of known ones through the check.
//!
//! `policies/products.json` must be what `policies/derive_products.py` makes of the endpoint
//! data Alibaba Cloud's Python core SDK ships (installed by `./build.sh test`), and every host
//! of that data must resolve to a known product. Then, for each listed product, each shape
//! its API hosts take (central, regional, `-vpc`, `-share`, `-inner`, `-intl`, `vpc-proxy`,
//! legacy `<code>-<region>`) is checked with a leaked key and each of its listed operations
//! (denied) and a harmless one (allowed); for known products with nothing listed, the same
//! shapes and their own ones pass a leaked key calling another product's listed operation.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use akguard::core::catalog::{Catalog, Operations};
use akguard::core::check::{RequestCheck, Step};
use akguard::core::config::{self, Policy};
use akguard::core::endpoints::{resolve, Endpoints};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const LEAKED: &str = "LTAI5tLeakedKey000000001";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The SDK's endpoint data. Panics when the SDK is not installed.
fn endpoints_json() -> PathBuf {
    let lib = repo().join(".tools/sdk-venv/lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|dirs| {
        dirs.flatten()
            .map(|d| {
                d.path()
                    .join("site-packages/aliyunsdkcore/data/endpoints.json")
            })
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "aliyunsdkcore/data/endpoints.json is missing under {}: ./build.sh test installs \
             Alibaba Cloud's Python SDKs (tests/egress/requirements.txt)",
            lib.display()
        )
    })
}

#[test]
fn the_catalog_is_what_the_endpoint_data_gives() {
    let out = Command::new("python3")
        .arg(repo().join("policies/derive_products.py"))
        .arg(endpoints_json())
        .arg("--check")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_host_of_the_endpoint_data_is_a_known_product() {
    let data: Value =
        serde_json::from_str(&std::fs::read_to_string(endpoints_json()).unwrap()).unwrap();
    let catalog = Catalog::embedded().unwrap();
    let endpoints = Endpoints::default();
    let mut hosts: Vec<&str> = Vec::new();
    for regions in data["regional_endpoints"].as_object().unwrap().values() {
        hosts.extend(
            regions
                .as_object()
                .unwrap()
                .values()
                .map(|h| h.as_str().unwrap()),
        );
    }
    hosts.extend(
        data["global_endpoints"]
            .as_object()
            .unwrap()
            .values()
            .map(|h| h.as_str().unwrap()),
    );
    let aliyun: Vec<&str> = hosts
        .into_iter()
        .filter(|h| h.ends_with(".aliyuncs.com"))
        .collect();
    assert!(aliyun.len() > 400, "{} hosts", aliyun.len());
    let unknown: Vec<&&str> = aliyun
        .iter()
        .filter(|h| resolve(&catalog, &endpoints, h).is_none())
        .collect();
    assert!(unknown.is_empty(), "hosts of no known product: {unknown:?}");
}

/// `allow` or `deny <rule>` for a GET with the leaked key in the query.
fn verdict(policy: &Policy, host: &str, action: Option<&str>) -> String {
    let path = match action {
        Some(a) => format!("/?Action={a}&AccessKeyId={LEAKED}"),
        None => format!("/?AccessKeyId={LEAKED}"),
    };
    let headers: Vec<(String, Vec<u8>)> = vec![
        (":method".into(), b"GET".to_vec()),
        (":authority".into(), host.as_bytes().to_vec()),
        (":path".into(), path.into_bytes()),
    ];
    match RequestCheck::start(policy, &headers, true).step {
        Step::Allow => "allow".into(),
        Step::ReadBody => "read".into(),
        Step::Deny(d) => format!("deny {}", d.rule.label()),
    }
}

/// The host names a product with this host code takes.
fn shapes_of(code: &str) -> Vec<String> {
    [
        format!("{code}.aliyuncs.com"),
        format!("{code}.cn-hangzhou.aliyuncs.com"),
        format!("{code}.ap-southeast-1.aliyuncs.com"),
        format!("{code}-vpc.cn-hangzhou.aliyuncs.com"),
        format!("{code}-share.cn-hangzhou.aliyuncs.com"),
        format!("{code}-inner.aliyuncs.com"),
        format!("{code}-intl.vpc-proxy.aliyuncs.com"),
        format!("{code}.vpc-proxy.aliyuncs.com"),
        format!("{code}-cn-hangzhou.aliyuncs.com"),
        format!("{code}-vpc.cn-hangzhou-finance.aliyuncs.com"),
        format!("{code}.CN-HANGZHOU.aliyuncs.com.:443"),
    ]
    .to_vec()
}

fn policy() -> Policy {
    config::load(format!(r#"{{"leaked_keys": ["{LEAKED}"]}}"#).as_bytes())
        .unwrap()
        .policy
}

#[test]
fn every_shape_of_every_listed_product_is_decided_by_the_list() {
    let policy = policy();
    let catalog = &policy.catalog;
    let mut checked = 0;
    for row in &catalog.rows {
        for code in &row.hosts {
            for host in shapes_of(code) {
                let normalized = akguard::core::endpoints::normalize_host(host.as_bytes());
                let got = resolve(catalog, &policy.endpoints, &normalized)
                    .map(|p| catalog.products[p].id.as_str());
                assert_eq!(got, Some(row.product.as_str()), "{host}");
                match &row.operations {
                    Operations::All(_) => {
                        assert_eq!(
                            verdict(&policy, &host, Some("ListUsers")),
                            "deny all-operations",
                            "{host}"
                        );
                    }
                    Operations::Listed(actions) => {
                        for action in actions {
                            assert_eq!(
                                verdict(&policy, &host, Some(action)),
                                "deny listed-action",
                                "{host} {action}"
                            );
                        }
                        assert_eq!(
                            verdict(&policy, &host, Some("DescribeSomethingHarmless")),
                            "allow",
                            "{host}"
                        );
                        assert_eq!(verdict(&policy, &host, None), "deny no-action", "{host}");
                    }
                }
                checked += 1;
            }
        }
    }
    println!("{checked} host names of listed products checked");
    assert!(checked > 150);
}

#[test]
fn known_products_with_nothing_listed_pass_a_leaked_key() {
    let policy = policy();
    let catalog = &policy.catalog;
    let unlisted: Vec<usize> = (0..catalog.products.len())
        .filter(|&p| !catalog.is_listed_product(p))
        .collect();
    assert!(unlisted.len() > 90, "{} known products", unlisted.len());
    let mut checked = 0;
    // Every known product's plain shapes, and each product-specific shape in a sample.
    for &p in &unlisted {
        for code in &catalog.products[p].host_codes {
            for host in shapes_of(code).into_iter().take(8) {
                for action in [Some("RunInstances"), Some("SendSms"), None] {
                    assert_eq!(
                        verdict(&policy, &host, action),
                        "allow",
                        "{host} {action:?}"
                    );
                }
                checked += 1;
            }
        }
    }
    for host in [
        "examplebucket.oss-cn-hangzhou.aliyuncs.com",
        "ecs.oss-cn-hangzhou-internal.aliyuncs.com",
        "examplebucket.oss-accelerate.aliyuncs.com",
        "ram.cn-hangzhou.log.aliyuncs.com",
        "cn-hangzhou-intranet.log.aliyuncs.com",
        "1234567890.cn-hangzhou.fc.aliyuncs.com",
        "cn-hangzhou.fc.aliyuncs.com",
        "instance.cn-hangzhou.ots.aliyuncs.com",
        "1234567890.mns.cn-hangzhou.aliyuncs.com",
        "cn-hangzhou.oas.aliyuncs.com",
    ] {
        for action in [Some("RunInstances"), None] {
            assert_eq!(verdict(&policy, host, action), "allow", "{host} {action:?}");
        }
        checked += 1;
    }
    println!("{checked} host names of known products with nothing listed checked");
}
