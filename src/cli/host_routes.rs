//! Routes behind akguard where the upstream reads another host than the client sent: akguard
//! takes the product from the client's `Host` before the router runs, so a route that rewrites
//! the host (`host_rewrite_literal`, `auto_host_rewrite`, `host_rewrite_header`,
//! `host_rewrite_path_regex`) or sends the hosts of a virtual host with many names to one
//! fixed upstream lets a caller name a harmless product while the upstream gets another. Each
//! such route is reported unless akguard's configuration pins its product (`product`, at the
//! top level or in a `_rules_` entry matching the route by name).

use super::envoy::{self, WasmFilter};
use akguard::core::config::{self, Policy};
use akguard::core::rules::Matcher;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

const HCM_TYPE: &str =
    "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const DYNAMIC_FORWARD_PROXY: &str = "envoy.clusters.dynamic_forward_proxy";

/// A route whose upstream may read another host than the client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where the route is: `virtual host "all", route "to-ecs"`.
    pub route: String,
    /// Its name, when it has one (what `_match_route_` matches).
    pub route_name: Option<String>,
    /// What it does: `host_rewrite_literal: ecs.cn-hangzhou.aliyuncs.com`, ….
    pub what: String,
    /// The product akguard's configuration pins for it, if any.
    pub pinned: Option<String>,
}

impl Finding {
    /// The line `akguard validate --envoy` prints.
    pub fn message(&self) -> String {
        match &self.pinned {
            Some(product) => format!(
                "{} {}: product pinned to {product} by akguard's configuration",
                self.route, self.what
            ),
            None => {
                let fix = match &self.route_name {
                    Some(name) => format!(
                        "pin the product it reaches with a _rules_ entry {{\"_match_route_\": [\"{name}\"], \"product\": \"<id>\"}} (or \"product\" at the top level)"
                    ),
                    None => "name the route and pin the product it reaches with a _rules_ entry {\"_match_route_\": [\"<name>\"], \"product\": \"<id>\"} (or \"product\" at the top level)".into(),
                };
                format!(
                    "warning: {} {}: akguard reads the product from the client's Host, which this upstream does not get; {fix}",
                    self.route, self.what
                )
            }
        }
    }
}

/// The clusters of the file by name: whether each is a dynamic forward proxy (which sends a
/// request to the host it names, so many hosts on one route are fine).
fn clusters(documents: &[Value]) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    let mut visit = |cluster: &Value| {
        if let Some(name) = cluster.get("name").and_then(Value::as_str) {
            let dfp = cluster
                .pointer("/cluster_type/name")
                .and_then(Value::as_str)
                == Some(DYNAMIC_FORWARD_PROXY);
            out.insert(name.to_string(), dfp);
        }
    };
    for document in documents {
        for list in [
            document.pointer("/static_resources/clusters"),
            document.get("clusters"),
        ]
        .into_iter()
        .flatten()
        {
            list.as_array().into_iter().flatten().for_each(&mut visit);
        }
        if document
            .get("@type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.ends_with("Cluster"))
        {
            visit(document);
        }
    }
    out
}

/// Every HTTP connection manager in a value.
fn connection_managers<'a>(value: &'a Value, out: &mut Vec<&'a Map<String, Value>>) {
    match value {
        Value::Object(object) => {
            if object
                .get("@type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with(HCM_TYPE))
            {
                out.push(object);
            }
            object.values().for_each(|v| connection_managers(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| connection_managers(v, out)),
        _ => {}
    }
}

/// The akguard filters of a connection manager, and whether one takes its configuration from
/// ECDS (which this file does not hold).
fn akguard_filters(hcm: &Map<String, Value>) -> (Vec<WasmFilter>, bool) {
    let filters = hcm.get("http_filters").cloned().unwrap_or(Value::Null);
    let found: Vec<WasmFilter> = envoy::filters_in(&filters)
        .into_iter()
        .filter(WasmFilter::is_akguard)
        .collect();
    let discovered = filters.as_array().into_iter().flatten().any(|f| {
        f.get("config_discovery").is_some()
            && f.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.to_ascii_lowercase().contains("akguard"))
    });
    (found, discovered)
}

/// What a route does to the host it sends upstream, if anything.
fn rewrite(action: &Map<String, Value>) -> Option<String> {
    if let Some(host) = action.get("host_rewrite_literal").and_then(Value::as_str) {
        return Some(format!("rewrites the host (host_rewrite_literal: {host})"));
    }
    if action.get("auto_host_rewrite").and_then(Value::as_bool) == Some(true) {
        return Some("rewrites the host to the upstream's (auto_host_rewrite)".into());
    }
    if let Some(header) = action.get("host_rewrite_header").and_then(Value::as_str) {
        return Some(format!(
            "rewrites the host from a header (host_rewrite_header: {header})"
        ));
    }
    if action.get("host_rewrite_path_regex").is_some() {
        return Some("rewrites the host from the path (host_rewrite_path_regex)".into());
    }
    None
}

/// The clusters a route action sends to.
fn route_clusters(action: &Map<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = action
        .get("cluster")
        .and_then(Value::as_str)
        .map(str::to_string)
        .into_iter()
        .collect();
    if let Some(weighted) = action
        .get("weighted_clusters")
        .and_then(|w| w.get("clusters"))
    {
        out.extend(
            weighted
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string)),
        );
    }
    out
}

/// A virtual host's domains name more than one host: a wildcard, or several names.
fn many_hosts(domains: &[&str]) -> bool {
    domains.len() > 1 || domains.iter().any(|d| d.contains('*'))
}

/// The product a configuration pins for a route of this name.
fn pinned_for(policy: &Policy, route: Option<&str>) -> Option<String> {
    let id = |p: usize| policy.catalog.products[p].id.clone();
    let by_rule = route.and_then(|name| {
        policy.rules.iter().find_map(|rule| match &rule.matcher {
            Matcher::Route(names) if names.iter().any(|n| n == name) => rule.policy.product.map(id),
            _ => None,
        })
    });
    by_rule.or_else(|| policy.product.map(id))
}

/// The findings of one connection manager, given the policies of its akguard filters.
fn findings_in(
    hcm: &Map<String, Value>,
    clusters: &BTreeMap<String, bool>,
    policies: &[Policy],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(virtual_hosts) = hcm
        .get("route_config")
        .and_then(|routes| routes.get("virtual_hosts"))
    else {
        return out;
    };
    for vhost in virtual_hosts.as_array().into_iter().flatten() {
        let vhost_name = vhost.get("name").and_then(Value::as_str).unwrap_or("?");
        let domains: Vec<&str> = vhost
            .get("domains")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for route in vhost
            .get("routes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(action) = route.get("route").and_then(Value::as_object) else {
                continue;
            };
            // A CONNECT tunnel carries no request akguard reads.
            if route.pointer("/match/connect_matcher").is_some() {
                continue;
            }
            let name = route.get("name").and_then(Value::as_str);
            let fixed: Vec<String> = route_clusters(action)
                .into_iter()
                .filter(|c| clusters.get(c) == Some(&false))
                .collect();
            let what = match rewrite(action) {
                Some(what) => what,
                None if many_hosts(&domains) && !fixed.is_empty() => format!(
                    "sends every host of its virtual host (domains {}) to one upstream (cluster {})",
                    domains.join(", "),
                    fixed.join(", ")
                ),
                None => continue,
            };
            let pins: Vec<Option<String>> = policies.iter().map(|p| pinned_for(p, name)).collect();
            let pinned = if !pins.is_empty() && pins.iter().all(Option::is_some) {
                pins.into_iter().next().flatten()
            } else {
                None
            };
            out.push(Finding {
                route: match name {
                    Some(n) => format!("virtual host {vhost_name:?}, route {n:?}"),
                    None => format!("virtual host {vhost_name:?}, an unnamed route"),
                },
                route_name: name.map(str::to_string),
                what,
                pinned,
            });
        }
    }
    out
}

/// Every route behind akguard in the documents of an Envoy file whose upstream may read
/// another host than the client sent.
pub fn findings(documents: &[Value]) -> Vec<Finding> {
    let clusters = clusters(documents);
    let mut managers = Vec::new();
    for document in documents {
        connection_managers(document, &mut managers);
    }
    let mut out = Vec::new();
    for hcm in managers {
        let (filters, discovered) = akguard_filters(hcm);
        if filters.is_empty() && !discovered {
            continue;
        }
        // A configuration this file does not hold (ECDS), or one that does not load, pins
        // nothing the check can see.
        let policies: Vec<Policy> = if discovered {
            Vec::new()
        } else {
            filters
                .iter()
                .filter_map(|f| f.configuration().ok())
                .filter_map(|bytes| config::load(&bytes).ok())
                .map(|loaded| loaded.policy)
                .collect()
        };
        out.extend(findings_in(hcm, &clusters, &policies));
    }
    out
}
