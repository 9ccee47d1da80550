//! The image's `spec.yaml` (`deploy/image/spec.yaml`) against the configuration parser: its
//! `configSchema` describes exactly the fields the parser accepts (the top level's from
//! [`config::FIELDS`], a rule's from the same list and [`MATCHERS`]), and, run through a JSON
//! Schema validator, accepts every configuration of the examples, the README and the decision
//! table that the parser accepts, and refuses a wrong type, an unknown field and a bad value.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use akguard::core::config::{self, rules::MATCHERS, rules::RULES_FIELD};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml_file(path: &str) -> Vec<Value> {
    let text = fs::read_to_string(root().join(path)).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| serde_json::to_value(serde_yaml::Value::deserialize(doc).unwrap()).unwrap())
        .collect()
}

fn schema() -> Value {
    let spec = yaml_file("deploy/image/spec.yaml").remove(0);
    spec["spec"]["configSchema"]["openAPIV3Schema"].clone()
}

fn names(properties: &Value) -> BTreeSet<String> {
    properties
        .as_object()
        .expect("properties")
        .keys()
        .cloned()
        .collect()
}

/// Validates instances against the schema.
struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Validator {
    fn new() -> Self {
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler
            .add_resource("akguard-config.json", schema())
            .unwrap();
        let index = compiler
            .compile("akguard-config.json", &mut schemas)
            .unwrap_or_else(|e| panic!("configSchema does not compile: {e}"));
        Validator { schemas, index }
    }

    fn check(&self, instance: &Value) -> Result<(), String> {
        self.schemas
            .validate(instance, self.index)
            .map_err(|e| format!("{e:#}"))
    }
}

#[test]
fn the_schema_describes_every_field_the_parser_accepts() {
    let schema = schema();
    let mut top: BTreeSet<String> = config::FIELDS.iter().map(|f| f.to_string()).collect();
    top.insert(RULES_FIELD.to_string());
    assert_eq!(names(&schema["properties"]), top, "top-level fields");
    assert_eq!(schema["additionalProperties"], false);

    let rule = &schema["properties"][RULES_FIELD]["items"];
    let mut in_rule: BTreeSet<String> = config::FIELDS
        .iter()
        .filter(|f| !config::TOP_LEVEL_ONLY.contains(f))
        .map(|f| f.to_string())
        .collect();
    in_rule.extend(MATCHERS.iter().map(|m| m.to_string()));
    assert_eq!(names(&rule["properties"]), in_rule, "a rule's fields");
    assert_eq!(rule["additionalProperties"], false);
}

/// Higress hands the plugin `defaultConfig` with `matchRules` as `_rules_`.
fn higress_configuration(spec: &Value) -> Value {
    let mut configuration = spec["defaultConfig"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut rules = Vec::new();
    for rule in spec["matchRules"].as_array().into_iter().flatten() {
        let mut entry: Map<String, Value> = rule["config"].as_object().cloned().unwrap();
        for (key, matcher) in [
            ("ingress", "_match_route_"),
            ("domain", "_match_domain_"),
            ("service", "_match_service_"),
        ] {
            if let Some(list) = rule.get(key) {
                entry.insert(matcher.into(), list.clone());
            }
        }
        rules.push(Value::Object(entry));
    }
    configuration.insert(RULES_FIELD.into(), Value::Array(rules));
    Value::Object(configuration)
}

/// Every filter configuration given as a `StringValue` in an Envoy file.
fn string_values(value: &Value, found: &mut Vec<Value>) {
    match value {
        Value::Object(map) => {
            if let Some(config) = map.get("configuration") {
                if let Some(text) = config["value"].as_str() {
                    found.push(serde_json::from_str(text).unwrap());
                }
            }
            map.values().for_each(|v| string_values(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| string_values(v, found)),
        _ => {}
    }
}

fn example_configurations() -> Vec<(String, Value)> {
    let mut found = vec![
        (
            "examples/istio-wasmplugin.yaml".to_string(),
            yaml_file("examples/istio-wasmplugin.yaml")[0]["spec"]["pluginConfig"].clone(),
        ),
        (
            "examples/higress-wasmplugin.yaml".to_string(),
            higress_configuration(&yaml_file("examples/higress-wasmplugin.yaml")[0]["spec"]),
        ),
    ];
    for file in [
        "examples/envoy-demo.yaml",
        "examples/envoy-egress-proxy.yaml",
        "examples/envoy-egress-intercept.yaml",
        "examples/ecds/akguard.yaml",
    ] {
        let mut configs = Vec::new();
        for doc in yaml_file(file) {
            string_values(&doc, &mut configs);
        }
        assert!(!configs.is_empty(), "{file}: no configuration found");
        found.extend(configs.into_iter().map(|c| (file.to_string(), c)));
    }
    found
}

#[test]
fn examples_validate_against_the_schema() {
    let validator = Validator::new();
    let mut checked = 0;
    for (file, configuration) in example_configurations() {
        let text = configuration.to_string();
        assert!(
            config::load(text.as_bytes()).is_ok(),
            "{file}: the parser refuses it"
        );
        if let Err(e) = validator.check(&configuration) {
            panic!("{file}: {e}");
        }
        checked += 1;
    }
    assert!(checked >= 6, "{checked} example configurations");
}

/// Every configuration of the decision table (`tests/cases/decisions.json`) that the parser
/// accepts, the README's complete example, and a configured high-risk list.
#[test]
fn accepted_configurations_validate_against_the_schema() {
    let validator = Validator::new();
    let table: Value = serde_json::from_str(
        &fs::read_to_string(root().join("tests/cases/decisions.json")).unwrap(),
    )
    .unwrap();
    let mut configurations = vec![table["default_config"].clone()];
    for case in table["cases"].as_array().unwrap() {
        if let Some(config) = case.get("config") {
            configurations.push(config.clone());
        }
    }
    let list: Value =
        serde_json::from_str(&fs::read_to_string(root().join("policies/high-risk.json")).unwrap())
            .unwrap();
    configurations.push(json!({"leaked_keys": [], "high_risk_list": list}));
    configurations.push(json!({
        "leaked_keys": ["LTAI5tExampleLeaked0001", "STS.ExampleTemporaryKey1",
            "sha256:434a389ee35497b39f5381ee5d7cfb4159d66a0abd03e48263b63a83e606e631"],
        "mode": "shadow", "deny_all_calls": false,
        "extra_operations": [{"product": "ecs", "actions": ["ModifyInstanceAttribute"]}],
        "endpoints": {"ecs.internal.example.com": "ecs", "*.rds.internal.example.com": "rds"},
        "max_body_bytes": 1048576, "hold_headers": true
    }));
    let mut accepted = 0;
    for configuration in &configurations {
        if config::load(configuration.to_string().as_bytes()).is_ok() {
            if let Err(e) = validator.check(configuration) {
                panic!("{configuration}: accepted by the parser, refused by the schema: {e}");
            }
            accepted += 1;
        }
    }
    assert!(accepted >= 10, "{accepted} accepted configurations");
}

#[test]
fn the_schema_refuses_what_the_parser_refuses() {
    let validator = Validator::new();
    for bad in [
        json!({"mode": "block"}),
        json!({"leaked_keys": ["LTAI5t-Example"]}),
        json!({"deny_all_calls": "yes"}),
        json!({"max_body_bytes": 0}),
        json!({"max_body_bytes": 67108865}),
        json!({"unknown_hosts": "allow"}),
        json!({"leaked_key": []}),
        json!({"extra_operations": [{"product": "ecs", "actions": []}]}),
        json!({"_rules_": [{"_match_route_": ["a"], "high_risk_list": {}}]}),
    ] {
        assert!(
            config::load(bad.to_string().as_bytes()).is_err(),
            "the parser accepts {bad}"
        );
        assert!(validator.check(&bad).is_err(), "the schema accepts {bad}");
    }
}
