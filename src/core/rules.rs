//! Which `_rules_` entry a request falls under: the matchers a rule can have and what each
//! matches. Hosts compare without regard to case and port; services are read from Istio's and
//! Higress's cluster names (`outbound|<port>|<subset>|<fqdn>`), other cluster names compare
//! whole. Rules are read from the configuration by [`crate::core::config`].

use super::endpoints::normalize_host;
use super::request::{header, HeaderField};

/// A host pattern of `_match_domain_`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainPattern {
    Exact(String),
    /// `*.example.com` (or `*example.com`): kept as `.example.com` (`example.com`).
    Suffix(String),
    /// `api.*`, `api-*`: kept as the text before `*`.
    Prefix(String),
}

impl DomainPattern {
    /// The normalised host matches the pattern.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            DomainPattern::Exact(exact) => host == exact,
            DomainPattern::Suffix(suffix) => host.ends_with(suffix.as_str()),
            DomainPattern::Prefix(prefix) => host.starts_with(prefix.as_str()),
        }
    }
}

/// A service of `_match_service_`: a name, and a port when one is given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePattern {
    pub name: String,
    pub port: Option<u16>,
}

/// What a rule matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Matcher {
    Route(Vec<String>),
    Domain(Vec<DomainPattern>),
    Service(Vec<ServicePattern>),
}

/// What a request is matched on. `route` and `service` are Envoy's route name and upstream
/// cluster name, when known.
#[derive(Clone, Copy, Debug, Default)]
pub struct Target<'a> {
    pub host: &'a str,
    pub route: Option<&'a [u8]>,
    pub service: Option<&'a [u8]>,
}

/// The service name and port an upstream cluster name stands for: Istio and Higress name
/// clusters `outbound|<port>|<subset>|<fqdn>`; any other name is the service name itself.
pub fn service_of(cluster: &[u8]) -> (&[u8], Option<u16>) {
    let mut parts = cluster.split(|b| *b == b'|');
    if let (Some(b"outbound" | b"inbound"), Some(port), Some(_subset), Some(name), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        let port = std::str::from_utf8(port).ok().and_then(|p| p.parse().ok());
        return (name, port);
    }
    (cluster, None)
}

impl Matcher {
    /// The request matches.
    pub fn matches(&self, target: &Target<'_>) -> bool {
        match self {
            Matcher::Route(names) => target
                .route
                .is_some_and(|route| names.iter().any(|n| n.as_bytes() == route)),
            Matcher::Domain(patterns) => patterns.iter().any(|p| p.matches(target.host)),
            Matcher::Service(patterns) => target.service.is_some_and(|cluster| {
                let (name, port) = service_of(cluster);
                patterns.iter().any(|p| {
                    p.name.as_bytes().eq_ignore_ascii_case(name)
                        && (p.port.is_none() || p.port == port)
                })
            }),
        }
    }
}

/// The host a request's headers name (`:authority`, else `Host`), normalised.
pub fn request_host(headers: &[impl HeaderField]) -> String {
    header(headers, ":authority")
        .or_else(|| header(headers, "host"))
        .map(normalize_host)
        .unwrap_or_default()
}
