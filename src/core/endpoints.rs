//! Which product a request calls, read from its `:authority` / `Host`.
//!
//! Hosts are lower-cased, the port and trailing dots removed. Operator-configured hosts
//! (`endpoints`, exact or `*.suffix`) are looked up first. Then a `*.aliyuncs.com` host is the
//! product whose host shape it has (`<bucket>.oss-<region>` is OSS's, whatever the bucket is
//! called; `<project>.<region>.log` is Log Service's), else the product its first label names
//! (`ecs.cn-hangzhou…`, `ecs-vpc.cn-hangzhou…`, `ram.vpc-proxy…`, legacy
//! `ecs-cn-hangzhou…`) through the catalog's host codes. Where the reading is not certain, the
//! one that denies is taken: a first label naming a listed product names it whatever follows,
//! while one naming a product with nothing listed does only in the shapes that product's
//! hosts have (nothing, a region or `vpc-proxy` after it); any other host is of no known
//! product.

#![deny(clippy::indexing_slicing)]

use super::catalog::{Catalog, ProductIndex};
use super::host_shapes::is_region;
use hashbrown::HashMap;

const ALIYUNCS: &str = ".aliyuncs.com";
/// The label of the endpoints reached from a VPC (`ram.vpc-proxy.aliyuncs.com`).
const VPC_PROXY: &str = "vpc-proxy";

/// Operator-configured hosts.
#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    exact: HashMap<String, ProductIndex>,
    /// `(".suffix", product)`, longest first.
    suffixes: Vec<(String, ProductIndex)>,
}

impl Endpoints {
    /// Adds a pattern: an exact host, or `*.suffix` for every host under `suffix`.
    /// The pattern must already be normalised (see [`normalize_host`]).
    pub fn add(&mut self, pattern: &str, product: ProductIndex) {
        match pattern.strip_prefix('*') {
            Some(suffix) => {
                self.suffixes.push((suffix.to_string(), product));
                self.suffixes
                    .sort_by_key(|(suffix, _)| std::cmp::Reverse(suffix.len()));
            }
            None => {
                self.exact.insert(pattern.to_string(), product);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.exact.len() + self.suffixes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lookup(&self, host: &str) -> Option<ProductIndex> {
        if let Some(&product) = self.exact.get(host) {
            return Some(product);
        }
        self.suffixes
            .iter()
            .find(|(suffix, _)| host.len() > suffix.len() && host.ends_with(suffix.as_str()))
            .map(|&(_, product)| product)
    }
}

/// Lower-cases a host and removes surrounding spaces, the port and trailing dots.
/// `[v6]:port` keeps the bracketed address.
pub fn normalize_host(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut host = text.trim().to_ascii_lowercase();
    if host.starts_with('[') {
        if let Some(end) = host.find(']') {
            host.truncate(end + 1);
        }
    } else if let Some(colon) = host.find(':') {
        host.truncate(colon);
    }
    while host.ends_with('.') {
        host.pop();
    }
    host
}

/// The product a normalised host belongs to, if any.
pub fn resolve(catalog: &Catalog, endpoints: &Endpoints, host: &str) -> Option<ProductIndex> {
    if let Some(product) = endpoints.lookup(host) {
        return Some(product);
    }
    let name = host.strip_suffix(ALIYUNCS)?;
    let labels: Vec<&str> = name.split('.').collect();
    if let Some(product) = catalog.product_for_shape(&labels) {
        return Some(product);
    }
    let (first, rest) = labels.split_first()?;
    let product = catalog.product_for_label(first)?;
    let plain_shape = match rest {
        [] => true,
        [next] => is_region(next) || *next == VPC_PROXY,
        _ => false,
    };
    (plain_shape || catalog.is_listed_product(product)).then_some(product)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_hosts() {
        let cases = [
            (
                "ECS.CN-Hangzhou.AliyunCS.com",
                "ecs.cn-hangzhou.aliyuncs.com",
            ),
            ("ecs.aliyuncs.com:443", "ecs.aliyuncs.com"),
            ("ecs.aliyuncs.com.", "ecs.aliyuncs.com"),
            ("ecs.aliyuncs.com.:8080", "ecs.aliyuncs.com"),
            ("  ram.aliyuncs.com ", "ram.aliyuncs.com"),
            ("[::1]:10000", "[::1]"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_host(raw.as_bytes()), want, "host {raw}");
        }
    }

    #[test]
    fn resolves_alibaba_and_operator_hosts() {
        let catalog = Catalog::embedded().unwrap();
        let mut endpoints = Endpoints::default();
        endpoints.add(
            "api.internal.example",
            catalog.product_index("ecs").unwrap(),
        );
        endpoints.add("*.rds.example", catalog.product_index("rds").unwrap());
        endpoints.add("*.example", catalog.product_index("ram").unwrap());
        let cases: &[(&str, Option<&str>)] = &[
            ("ecs.cn-hangzhou.aliyuncs.com", Some("ecs")),
            ("ecs-vpc.cn-hangzhou.aliyuncs.com", Some("ecs")),
            ("ecs-cn-hangzhou.aliyuncs.com", Some("ecs")),
            ("ecs.aliyuncs.com", Some("ecs")),
            ("ram.vpc-proxy.aliyuncs.com", Some("ram")),
            ("ecd-share.cn-hangzhou.aliyuncs.com", Some("ecd")),
            ("ecd-intl.vpc-proxy.aliyuncs.com", Some("ecd")),
            ("rds-vpc.cn-hangzhou-finance.aliyuncs.com", Some("rds")),
            ("dbs-api.cn-hangzhou.aliyuncs.com", Some("dbs")),
            ("dns.aliyuncs.com", Some("alidns")),
            ("dysmsapi-xman.vpc-proxy.aliyuncs.com", Some("dysmsapi")),
            ("business.ap-southeast-1.aliyuncs.com", Some("business")),
            ("sts.aliyuncs.com", Some("sts")),
            ("sts-vpc.cn-hangzhou.aliyuncs.com", Some("sts")),
            ("bucket.oss-cn-hangzhou.aliyuncs.com", Some("oss")),
            ("oss-cn-hangzhou-internal.aliyuncs.com", Some("oss")),
            ("bucket.oss-accelerate.aliyuncs.com", Some("oss")),
            // A label where OSS puts a bucket and Log Service a project names no product.
            ("ecs.oss-cn-hangzhou.aliyuncs.com", Some("oss")),
            ("ram.cn-hangzhou.log.aliyuncs.com", Some("log")),
            ("cn-hangzhou.log.aliyuncs.com", Some("log")),
            ("123456.cn-shanghai.fc.aliyuncs.com", Some("fc")),
            ("cn-shanghai.fc.aliyuncs.com", Some("fc")),
            ("account.mns.cn-hangzhou.aliyuncs.com", Some("mns")),
            ("vpc.cn-hangzhou.aliyuncs.com", Some("vpc")),
            ("slb.aliyuncs.com", Some("slb")),
            ("kms.cn-hangzhou.aliyuncs.com", Some("kms")),
            ("cs.cn-hangzhou.aliyuncs.com", Some("cs")),
            // Not certain: a product with nothing listed is read only in its own shapes,
            // a listed one whatever follows.
            ("sts.evil.cn-hangzhou.aliyuncs.com", None),
            ("oss-cn-hangzhou.ecs.aliyuncs.com", None),
            ("ecs.cn-hangzhou.vpc-proxy.aliyuncs.com", Some("ecs")),
            ("evil.ecs.cn-hangzhou.aliyuncs.com", None),
            ("nosuchproduct.cn-hangzhou.aliyuncs.com", None),
            ("ecs.example.com", None),
            ("ecs.aliyuncs.com.evil.example", Some("ram")),
            ("api.internal.example", Some("ecs")),
            ("db1.rds.example", Some("rds")),
            ("rds.example", Some("ram")),
            ("example", None),
        ];
        for (host, want) in cases {
            let got = resolve(&catalog, &endpoints, host).map(|i| catalog.products[i].id.as_str());
            assert_eq!(got, *want, "host {host}");
        }
    }
}
