//! Which `_rules_` entry `akguard explain` checks a request under: the filter's own choice
//! ([`Policy::rule_for`]) over the request's host and the route and upstream cluster names
//! given on the command line (only Envoy knows them), and the line that says what applied.

use akguard::core::config::Policy;
use akguard::core::mask::printable;
use akguard::core::request::Header;
use akguard::core::rules::{request_host, DomainPattern, Matcher, Target};

/// The rule chosen for a request, and what it was chosen on.
pub struct RuleChoice {
    /// The `_rules_` index; none: the top-level configuration.
    pub index: Option<usize>,
    host: String,
    route: Option<String>,
    service: Option<String>,
}

/// Chooses the rule as the filter does: the first whose matcher matches the request's host,
/// the route name or the upstream cluster name.
pub fn choose(
    policy: &Policy,
    headers: &[Header],
    route: Option<&str>,
    service: Option<&str>,
) -> RuleChoice {
    let host = request_host(headers);
    let target = Target {
        host: &host,
        route: route.map(str::as_bytes),
        service: service.map(str::as_bytes),
    };
    RuleChoice {
        index: policy.rule_for(&target),
        host,
        route: route.map(str::to_string),
        service: service.map(str::to_string),
    }
}

/// A matcher as written in the configuration: its field and its entries.
fn describe(matcher: &Matcher) -> String {
    let (field, entries): (&str, Vec<String>) = match matcher {
        Matcher::Route(names) => ("_match_route_", names.clone()),
        Matcher::Domain(patterns) => (
            "_match_domain_",
            patterns
                .iter()
                .map(|p| match p {
                    DomainPattern::Exact(host) => host.clone(),
                    DomainPattern::Suffix(suffix) => format!("*{suffix}"),
                    DomainPattern::Prefix(prefix) => format!("{prefix}*"),
                })
                .collect(),
        ),
        Matcher::Service(patterns) => (
            "_match_service_",
            patterns
                .iter()
                .map(|p| match p.port {
                    Some(port) => format!("{}:{port}", p.name),
                    None => p.name.clone(),
                })
                .collect(),
        ),
    };
    let shown: Vec<String> = entries.iter().map(|e| printable(e.as_bytes())).collect();
    format!("{field} {}", shown.join(", "))
}

impl RuleChoice {
    /// What was matched against: the host, and the route and service when given.
    fn against(&self) -> String {
        let mut parts = vec![format!("host {}", printable(self.host.as_bytes()))];
        if let Some(route) = &self.route {
            parts.push(format!("route {}", printable(route.as_bytes())));
        }
        if let Some(service) = &self.service {
            parts.push(format!("service {}", printable(service.as_bytes())));
        }
        parts.join(", ")
    }

    /// The `config:` line: the rule that applied and its matcher, or the top level (and the
    /// names a route or service rule would have needed, when they were not given).
    pub fn line(&self, policy: &Policy) -> Option<String> {
        if policy.rules.is_empty() {
            return None;
        }
        if let Some(rule) = self.index.and_then(|i| policy.rules.get(i).map(|r| (i, r))) {
            let (index, rule) = rule;
            return Some(format!(
                "_rules_[{index}] ({}) applies, matched on {}",
                describe(&rule.matcher),
                self.against()
            ));
        }
        let mut missing = Vec::new();
        let has = |want: fn(&Matcher) -> bool| policy.rules.iter().any(|r| want(&r.matcher));
        if self.route.is_none() && has(|m| matches!(m, Matcher::Route(_))) {
            missing.push("the route name (--route) was not given");
        }
        if self.service.is_none() && has(|m| matches!(m, Matcher::Service(_))) {
            missing.push("the upstream cluster (--service) was not given");
        }
        let missing = if missing.is_empty() {
            String::new()
        } else {
            format!("; {}", missing.join(", "))
        };
        Some(format!(
            "the top level applies: none of the {} _rules_ entries matches {}{missing}",
            policy.rules.len(),
            self.against()
        ))
    }
}
