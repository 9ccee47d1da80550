//! `_rules_`: per-route, per-host and per-service configurations, the array Higress builds from
//! a `WasmPlugin`'s `matchRules`.
//!
//! Each item holds one rule's own configuration (the same fields as the top level, validated
//! the same way) and exactly one matcher: `_match_route_` (route names), `_match_domain_`
//! (hosts: exact, `*.suffix`, `prefix*`) or `_match_service_` (upstream services, `name` or
//! `name:port`). A rule's configuration replaces the top-level one; nothing is inherited. What a
//! matcher matches at request time is [`crate::core::rules`]'s.

use super::super::endpoints::normalize_host;
use super::super::rules::{DomainPattern, Matcher, ServicePattern};
use super::error::ConfigError;
use super::policy::{Policy, Rule};
use serde_json::{Map, Value};

/// The top-level field holding the rules.
pub const RULES_FIELD: &str = "_rules_";
/// The matcher fields of a rule.
pub const MATCHERS: &[&str] = &["_match_route_", "_match_domain_", "_match_service_"];

fn strings<'v>(path: &str, value: &'v Value) -> Result<Vec<&'v str>, ConfigError> {
    let items = value
        .as_array()
        .ok_or_else(|| ConfigError::new(path, "expected an array of strings"))?;
    if items.is_empty() {
        return Err(ConfigError::new(path, "must list at least one entry"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item.as_str() {
            Some("") => Err(ConfigError::new(
                format!("{path}[{i}]"),
                "must not be empty",
            )),
            Some(text) => Ok(text),
            None => Err(ConfigError::new(
                format!("{path}[{i}]"),
                "expected a string",
            )),
        })
        .collect()
}

fn domain_pattern(path: &str, text: &str) -> Result<DomainPattern, ConfigError> {
    let bad = || {
        ConfigError::new(
            path,
            format!("{text:?} is not a host, \"*.suffix\" or \"prefix*\""),
        )
    };
    let stars = text.matches('*').count();
    if let Some(suffix) = text.strip_prefix('*') {
        let suffix = suffix.to_ascii_lowercase();
        let suffix = suffix.trim_end_matches('.');
        if stars != 1 || suffix.is_empty() || suffix == "." {
            return Err(bad());
        }
        return Ok(DomainPattern::Suffix(suffix.to_string()));
    }
    if let Some(prefix) = text.strip_suffix('*') {
        if stars != 1 || prefix.is_empty() {
            return Err(bad());
        }
        return Ok(DomainPattern::Prefix(prefix.to_ascii_lowercase()));
    }
    if stars != 0 {
        return Err(bad());
    }
    Ok(DomainPattern::Exact(normalize_host(text.as_bytes())))
}

fn service_pattern(path: &str, text: &str) -> Result<ServicePattern, ConfigError> {
    let (name, port) = match text.rsplit_once(':') {
        Some((name, port)) => {
            let port = port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                ConfigError::new(path, format!("{text:?}: the port must be 1 to 65535"))
            })?;
            (name, Some(port))
        }
        None => (text, None),
    };
    if name.is_empty() {
        return Err(ConfigError::new(path, "the service name must not be empty"));
    }
    Ok(ServicePattern {
        name: name.to_string(),
        port,
    })
}

/// Parses one rule's matcher out of its object, leaving the rule's configuration fields.
fn take_matcher(path: &str, object: &mut Map<String, Value>) -> Result<Matcher, ConfigError> {
    let present: Vec<&str> = MATCHERS
        .iter()
        .copied()
        .filter(|m| object.contains_key(*m))
        .collect();
    let field = match present.as_slice() {
        [one] => *one,
        [] => {
            return Err(ConfigError::new(
                path,
                format!("a rule needs one of {}", MATCHERS.join(", ")),
            ))
        }
        _ => {
            return Err(ConfigError::new(
                path,
                format!("a rule takes only one of {}", present.join(", ")),
            ))
        }
    };
    let value = object.remove(field).unwrap_or_default();
    let field_path = format!("{path}.{field}");
    let entries = strings(&field_path, &value)?;
    let entry_path = |i: usize| format!("{field_path}[{i}]");
    Ok(match field {
        "_match_route_" => Matcher::Route(entries.iter().map(|s| s.to_string()).collect()),
        "_match_domain_" => Matcher::Domain(
            entries
                .iter()
                .enumerate()
                .map(|(i, s)| domain_pattern(&entry_path(i), s))
                .collect::<Result<_, _>>()?,
        ),
        _ => Matcher::Service(
            entries
                .iter()
                .enumerate()
                .map(|(i, s)| service_pattern(&entry_path(i), s))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// Validates one rule's own configuration: its policy and warnings.
pub type LoadRule<'a> = dyn Fn(&[u8]) -> Result<(Policy, Vec<String>), ConfigError> + 'a;

/// Parses `_rules_`. `load_rule` validates one rule's own configuration (given as JSON) like
/// the top level's; its errors and warnings come back prefixed with the rule's path.
pub fn parse(
    value: &Value,
    load_rule: &LoadRule<'_>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Rule>, ConfigError> {
    let items = value
        .as_array()
        .ok_or_else(|| ConfigError::new(RULES_FIELD, "expected an array of rules"))?;
    let mut rules = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("{RULES_FIELD}[{i}]");
        let mut object = item
            .as_object()
            .cloned()
            .ok_or_else(|| ConfigError::new(&path, "expected an object"))?;
        let matcher = take_matcher(&path, &mut object)?;
        let text = Value::Object(object).to_string();
        let (policy, rule_warnings) = load_rule(text.as_bytes()).map_err(|e| {
            let inner = if e.path == "configuration" {
                path.clone()
            } else {
                format!("{path}.{}", e.path)
            };
            ConfigError::new(inner, e.problem)
        })?;
        warnings.extend(rule_warnings.into_iter().map(|w| format!("{path}: {w}")));
        rules.push(Rule { matcher, policy });
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::load;
    use crate::core::request::Header;
    use crate::core::rules::{request_host, Target};

    const KEY_G: &str = "LTAI5tGlobalKey000000001";
    const KEY_R: &str = "LTAI5tRouteKey0000000001";
    const KEY_D: &str = "LTAI5tDomainKey000000001";
    const KEY_S: &str = "LTAI5tServiceKey00000001";

    fn config() -> String {
        format!(
            r#"{{"leaked_keys": ["{KEY_G}"],
                "_rules_": [
                  {{"_match_route_": ["ci-route", "batch"], "leaked_keys": ["{KEY_R}"], "deny_all_calls": true}},
                  {{"_match_domain_": ["*.corp.example", "ecs-api.internal", "api-*"], "leaked_keys": ["{KEY_D}"], "mode": "shadow"}},
                  {{"_match_service_": ["rds-proxy.data.svc.cluster.local", "billing.svc:8080"], "leaked_keys": ["{KEY_S}"]}},
                  {{"_match_domain_": ["shadowed.corp.example"], "leaked_keys": []}}
                ]}}"#
        )
    }

    #[test]
    fn the_first_matching_rule_wins_else_the_top_level() {
        let policy = load(config().as_bytes()).unwrap().policy;
        assert_eq!(policy.rules.len(), 4);
        // (host, route name, cluster name, rule chosen)
        type Case<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<usize>);
        let cases: &[Case] = &[
            ("ecs.aliyuncs.com", None, None, None),
            ("ecs.aliyuncs.com", Some("ci-route"), None, Some(0)),
            ("ecs.aliyuncs.com", Some("batch"), None, Some(0)),
            ("ecs.aliyuncs.com", Some("ci-route-2"), None, None),
            ("ecs.aliyuncs.com", Some("CI-ROUTE"), None, None),
            ("ecs.corp.example", None, None, Some(1)),
            ("a.b.corp.example", None, None, Some(1)),
            ("corp.example", None, None, None),
            ("xcorp.example", None, None, None),
            // The earlier rule matches first.
            ("shadowed.corp.example", None, None, Some(1)),
            ("ecs-api.internal", None, None, Some(1)),
            ("ecs-api.internal.other", None, None, None),
            ("api-gateway.example", None, None, Some(1)),
            ("api.example", None, None, None),
            // A route rule comes before a domain rule.
            ("ecs.corp.example", Some("batch"), None, Some(0)),
            (
                "rds.aliyuncs.com",
                None,
                Some("outbound|3306||rds-proxy.data.svc.cluster.local"),
                Some(2),
            ),
            (
                "rds.aliyuncs.com",
                None,
                Some("rds-proxy.data.svc.cluster.local"),
                Some(2),
            ),
            ("x", None, Some("outbound|8080||billing.svc"), Some(2)),
            ("x", None, Some("outbound|9090||billing.svc"), None),
            ("x", None, Some("billing.svc"), None),
            ("x", None, Some("outbound|3306||other.svc"), None),
            ("x", None, None, None),
        ];
        for (host, route, service, want) in cases {
            let target = Target {
                host,
                route: route.map(str::as_bytes),
                service: service.map(str::as_bytes),
            };
            assert_eq!(
                policy.rule_for(&target),
                *want,
                "{host} {route:?} {service:?}"
            );
        }
    }

    #[test]
    fn each_rule_holds_its_own_validated_policy() {
        let loaded = load(config().as_bytes()).unwrap();
        let policy = &loaded.policy;
        assert!(policy.keys.contains(KEY_G.as_bytes()));
        assert!(!policy.keys.contains(KEY_R.as_bytes()));
        let route = &policy.rules[0].policy;
        assert!(route.keys.contains(KEY_R.as_bytes()) && !route.keys.contains(KEY_G.as_bytes()));
        assert!(route.deny_all_calls && !policy.deny_all_calls);
        assert_eq!(
            policy.rules[1].policy.mode,
            crate::core::config::Mode::Shadow
        );
        assert!(policy.rules[2].policy.keys.contains(KEY_S.as_bytes()));
        assert!(policy.rules.iter().all(|r| r.policy.rules.is_empty()));
        // The empty rule warns, with its path.
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
        assert!(loaded.warnings[0].starts_with("_rules_[3]: "));
    }

    #[test]
    fn domain_patterns() {
        let cases: &[(&str, &str, bool)] = &[
            ("*.corp.example", "a.corp.example", true),
            ("*.corp.example", "a.b.corp.example", true),
            ("*.corp.example", "corp.example", false),
            ("*.Corp.Example.", "a.corp.example", true),
            ("*corp.example", "corp.example", true),
            ("*corp.example", "xcorp.example", true),
            ("api-*", "api-gw.example", true),
            ("API-*", "api-gw.example", true),
            ("api-*", "gw.api-example", false),
            ("Exact.Example.", "exact.example", true),
            ("exact.example", "exact.example.org", false),
        ];
        for (pattern, host, want) in cases {
            let parsed = domain_pattern("p", pattern).unwrap();
            assert_eq!(parsed.matches(host), *want, "{pattern} {host}");
        }
        for bad in ["*", "*.", "a*b", "*a*", "a.*.b", "**"] {
            assert!(domain_pattern("p", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn chosen_policy() {
        let policy = load(config().as_bytes()).unwrap().policy;
        assert!(policy.chosen(None).keys.contains(KEY_G.as_bytes()));
        assert!(policy.chosen(Some(0)).keys.contains(KEY_R.as_bytes()));
        assert!(policy.chosen(Some(1)).keys.contains(KEY_D.as_bytes()));
        assert!(policy.chosen(Some(9)).keys.contains(KEY_G.as_bytes()));
    }

    #[test]
    fn host_comes_from_authority_or_host() {
        let h = |list: &[(&str, &str)]| -> Vec<Header> {
            list.iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                .collect()
        };
        assert_eq!(
            request_host(&h(&[(":authority", "ECS.Corp.Example.:443")])),
            "ecs.corp.example"
        );
        assert_eq!(request_host(&h(&[("Host", "a.b:80")])), "a.b");
        assert_eq!(request_host(&h(&[])), "");
    }

    #[test]
    fn rejects_bad_rules_with_their_path() {
        let cases: &[(&str, &str, &str)] = &[
            (
                r#"{"_rules_": {}}"#,
                "_rules_",
                "expected an array of rules",
            ),
            (r#"{"_rules_": [1]}"#, "_rules_[0]", "expected an object"),
            (
                r#"{"_rules_": [{"leaked_keys": []}]}"#,
                "_rules_[0]",
                "a rule needs one of _match_route_, _match_domain_, _match_service_",
            ),
            (
                r#"{"_rules_": [{"_match_route_": ["a"], "_match_domain_": ["b"]}]}"#,
                "_rules_[0]",
                "only one of _match_route_, _match_domain_",
            ),
            (
                r#"{"_rules_": [{"_match_route_": []}]}"#,
                "_rules_[0]._match_route_",
                "at least one",
            ),
            (
                r#"{"_rules_": [{"_match_route_": "a"}]}"#,
                "_rules_[0]._match_route_",
                "expected an array of strings",
            ),
            (
                r#"{"_rules_": [{"_match_route_": ["a", 3]}]}"#,
                "_rules_[0]._match_route_[1]",
                "expected a string",
            ),
            (
                r#"{"_rules_": [{"_match_domain_": ["a.*.b"]}]}"#,
                "_rules_[0]._match_domain_[0]",
                "not a host",
            ),
            (
                r#"{"_rules_": [{"_match_domain_": ["*"]}]}"#,
                "_rules_[0]._match_domain_[0]",
                "not a host",
            ),
            (
                r#"{"_rules_": [{"_match_domain_": ["ok.example", ""]}]}"#,
                "_rules_[0]._match_domain_[1]",
                "must not be empty",
            ),
            (
                r#"{"_rules_": [{"_match_service_": ["svc:http"]}]}"#,
                "_rules_[0]._match_service_[0]",
                "port",
            ),
            (
                r#"{"_rules_": [{"_match_route_": ["a"]}, {"_match_route_": ["b"], "leaked_keys": ["LTAI-bad"]}]}"#,
                "_rules_[1].leaked_keys[0]",
                "found '-'",
            ),
            (
                r#"{"_rules_": [{"_match_route_": ["a"], "mode": "block"}]}"#,
                "_rules_[0].mode",
                "expected \"enforce\" or \"shadow\"",
            ),
            (
                r#"{"_rules_": [{"_match_route_": ["a"], "extra_operations": [{"product": "nope", "actions": ["A"]}]}]}"#,
                "_rules_[0].extra_operations[0].product",
                "unknown product",
            ),
            (
                r#"{"_rules_": [{"_match_route_": ["a"], "leaked_key": []}]}"#,
                "_rules_[0].leaked_key",
                "unknown field",
            ),
            (
                r#"{"_rules_": [{"_match_route_": ["a"], "_rules_": []}]}"#,
                "_rules_[0]._rules_",
                "unknown field",
            ),
            (
                r#"{"_rules_": [{"_match_route_prefix_": ["/a"]}]}"#,
                "_rules_[0]",
                "a rule needs one of",
            ),
            (
                r#"{"_rules_": [], "_rules_": []}"#,
                "_rules_",
                "given twice",
            ),
        ];
        for (text, path, problem) in cases {
            let err = load(text.as_bytes()).expect_err(text);
            assert_eq!(err.path, *path, "{text}: {err}");
            assert!(err.problem.contains(problem), "{text}: {err}");
        }
    }

    #[test]
    fn no_rules_no_change() {
        let loaded = load(format!(r#"{{"leaked_keys": ["{KEY_G}"]}}"#).as_bytes()).unwrap();
        assert!(loaded.policy.rules.is_empty());
        let empty_rules =
            load(format!(r#"{{"leaked_keys": ["{KEY_G}"], "_rules_": []}}"#).as_bytes()).unwrap();
        assert!(empty_rules.policy.rules.is_empty());
    }
}
