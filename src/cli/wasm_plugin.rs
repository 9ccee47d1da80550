//! Istio and Higress `WasmPlugin` resources, read as the Wasm filter each becomes: Istio hands
//! `spec.pluginConfig` to the plugin as JSON; Higress flattens `spec.defaultConfig` and
//! `spec.matchRules` into one configuration whose `_rules_` items carry the rule's
//! configuration with `_match_route_` (from `ingress`), `_match_domain_` and `_match_service_`.

use serde_json::{json, Map, Value};

const STRUCT: &str = "type.googleapis.com/google.protobuf.Struct";

/// True for a `WasmPlugin` resource document.
pub fn is_wasm_plugin(document: &Value) -> bool {
    document.get("kind").and_then(Value::as_str) == Some("WasmPlugin")
}

fn is_higress(document: &Value) -> bool {
    document
        .get("apiVersion")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with("extensions.higress.io/"))
}

/// The configuration a Higress `WasmPlugin` hands its plugin.
fn higress_configuration(spec: &Value) -> Value {
    let mut flat = spec
        .get("defaultConfig")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let rules: Vec<Value> = spec
        .get("matchRules")
        .and_then(Value::as_array)
        .map(|rules| {
            rules
                .iter()
                .map(|rule| {
                    let mut item: Map<String, Value> = rule
                        .get("config")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default();
                    for (field, key) in [
                        ("ingress", "_match_route_"),
                        ("domain", "_match_domain_"),
                        ("service", "_match_service_"),
                    ] {
                        if let Some(list) = rule.get(field) {
                            item.insert(key.to_string(), list.clone());
                        }
                    }
                    Value::Object(item)
                })
                .collect()
        })
        .unwrap_or_default();
    if !rules.is_empty() {
        flat.insert("_rules_".to_string(), Value::Array(rules));
    }
    Value::Object(flat)
}

/// The `PluginConfig` an Envoy Wasm filter would carry for this resource: its name, its
/// module URL and its configuration as a `Struct`.
pub fn plugin_config(document: &Value) -> (Option<String>, Value) {
    let name = document
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_string);
    let spec = document.get("spec").cloned().unwrap_or(Value::Null);
    let configuration = if is_higress(document) {
        higress_configuration(&spec)
    } else {
        spec.get("pluginConfig")
            .cloned()
            .unwrap_or_else(|| json!({}))
    };
    let url = spec.get("url").cloned().unwrap_or(Value::Null);
    let plugin = json!({
        "name": name,
        "vm_config": {"code": {"remote": {"http_uri": {"uri": url}}}},
        "configuration": {"@type": STRUCT, "value": configuration},
    });
    (name, plugin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn istio_hands_over_plugin_config() {
        let doc: Value = serde_yaml::from_str(
            "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {name: akguard}\nspec:\n  url: oci://registry.example/akguard:1\n  pluginConfig: {mode: shadow}\n",
        )
        .unwrap();
        assert!(is_wasm_plugin(&doc));
        let (name, plugin) = plugin_config(&doc);
        assert_eq!(name.as_deref(), Some("akguard"));
        assert_eq!(plugin["configuration"]["value"], json!({"mode": "shadow"}));
        assert_eq!(
            plugin["vm_config"]["code"]["remote"]["http_uri"]["uri"],
            "oci://registry.example/akguard:1"
        );
    }

    #[test]
    fn higress_is_flattened_into_rules() {
        let doc: Value = serde_yaml::from_str(
            "apiVersion: extensions.higress.io/v1alpha1\nkind: WasmPlugin\nmetadata: {name: guard}\nspec:\n  defaultConfig: {mode: enforce}\n  matchRules:\n    - ingress: [default/api]\n      config: {mode: shadow}\n    - domain: ['*.example.com']\n      service: [svc.default]\n      config: {deny_all_calls: true}\n",
        )
        .unwrap();
        let (_, plugin) = plugin_config(&doc);
        assert_eq!(
            plugin["configuration"]["value"],
            json!({"mode": "enforce", "_rules_": [
                {"mode": "shadow", "_match_route_": ["default/api"]},
                {"deny_all_calls": true, "_match_domain_": ["*.example.com"], "_match_service_": ["svc.default"]}
            ]})
        );
        let plain: Value = serde_yaml::from_str(
            "apiVersion: extensions.higress.io/v1alpha1\nkind: WasmPlugin\nspec: {defaultConfig: {mode: shadow}}\n",
        )
        .unwrap();
        assert_eq!(
            plugin_config(&plain).1["configuration"]["value"],
            json!({"mode": "shadow"})
        );
    }
}
