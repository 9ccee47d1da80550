//! Finds the Wasm HTTP filters in an Envoy configuration (a bootstrap, a listener, an ECDS
//! resource file; YAML or JSON, one or several documents) and takes out the configuration
//! each hands its plugin: a `google.protobuf.StringValue` as its text, a
//! `google.protobuf.Struct` as JSON, as Envoy does. Istio and Higress `WasmPlugin` resources
//! count as the filters they become (see [`super::wasm_plugin`]).

use super::wasm_plugin;
use serde::Deserialize;
use serde_json::{Map, Value};

const WASM_TYPE: &str = "envoy.extensions.filters.http.wasm.v3.Wasm";
const STRING_VALUE: &str = "google.protobuf.StringValue";
const STRUCT: &str = "google.protobuf.Struct";

/// One Wasm HTTP filter.
#[derive(Debug, Clone, Default)]
pub struct WasmFilter {
    /// Name of the filter entry (`http_filters[].name` or the ECDS resource name).
    pub filter_name: Option<String>,
    /// The `PluginConfig` (`config` of the Wasm filter).
    pub plugin: Value,
    /// Where it was found, e.g. `static_resources.listeners[0]…http_filters[0]`.
    pub location: String,
    /// The ECDS file it was read from, when the Envoy file names one (`config_discovery`).
    pub ecds_file: Option<String>,
}

fn text_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
}

impl WasmFilter {
    /// The plugin's name, root id, VM id and module location: what tells akguard apart.
    fn identities(&self) -> Vec<&str> {
        let plugin = &self.plugin;
        [
            text_at(plugin, &["name"]),
            text_at(plugin, &["root_id"]),
            text_at(plugin, &["vm_config", "vm_id"]),
            text_at(plugin, &["vm_config", "code", "local", "filename"]),
            text_at(plugin, &["vm_config", "code", "remote", "http_uri", "uri"]),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The filter loads akguard: its plugin name, root id or VM id is `akguard`, or its
    /// module's file or URL names akguard.
    pub fn is_akguard(&self) -> bool {
        self.identities()
            .iter()
            .any(|id| id.to_ascii_lowercase().contains("akguard"))
    }

    fn has_name(&self, name: &str) -> bool {
        self.filter_name.as_deref() == Some(name) || text_at(&self.plugin, &["name"]) == Some(name)
    }

    /// A short label: the filter's name, or its location.
    pub fn label(&self) -> String {
        match (&self.filter_name, text_at(&self.plugin, &["name"])) {
            (Some(name), _) => name.clone(),
            (None, Some(name)) => name.to_string(),
            (None, None) => self.location.clone(),
        }
    }

    /// The configuration bytes the plugin receives.
    pub fn configuration(&self) -> Result<Vec<u8>, String> {
        let Some(configuration) = self.plugin.get("configuration") else {
            return Ok(Vec::new());
        };
        let type_url = configuration
            .get("@type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let value = configuration.get("value");
        if type_url.ends_with(STRING_VALUE) {
            match value {
                None => Ok(Vec::new()),
                Some(Value::String(text)) => Ok(text.as_bytes().to_vec()),
                Some(_) => Err("configuration.value: a StringValue holds a string".into()),
            }
        } else if type_url.ends_with(STRUCT) {
            match value {
                None => Ok(b"{}".to_vec()),
                Some(Value::Object(fields)) => {
                    serde_json::to_vec(fields).map_err(|e| format!("configuration.value: {e}"))
                }
                Some(_) => Err("configuration.value: a Struct holds an object".into()),
            }
        } else {
            Err(format!(
                "configuration: expected a type.googleapis.com/{STRING_VALUE} or {STRUCT}, found @type {type_url:?}"
            ))
        }
    }
}

fn walk(value: &Value, filter_name: Option<&str>, location: &str, out: &mut Vec<WasmFilter>) {
    match value {
        Value::Object(object) => walk_object(object, filter_name, location, out),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, filter_name, &format!("{location}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn walk_object(
    object: &Map<String, Value>,
    filter_name: Option<&str>,
    location: &str,
    out: &mut Vec<WasmFilter>,
) {
    let is_wasm = object
        .get("@type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.ends_with(WASM_TYPE));
    if is_wasm {
        out.push(WasmFilter {
            filter_name: filter_name.map(str::to_string),
            plugin: object.get("config").cloned().unwrap_or(Value::Null),
            location: location.to_string(),
            ecds_file: None,
        });
        return;
    }
    // A filter entry (`{name, typed_config}`) or an ECDS resource names what it holds.
    let name_here = object
        .get("typed_config")
        .and(object.get("name"))
        .and_then(Value::as_str)
        .or(filter_name);
    for (key, child) in object {
        let at = if location.is_empty() {
            key.clone()
        } else {
            format!("{location}.{key}")
        };
        walk(child, name_here, &at, out);
    }
}

/// The documents of a YAML or JSON text, as JSON values.
pub fn documents(text: &str) -> Result<Vec<Value>, String> {
    serde_yaml::Deserializer::from_str(text)
        .map(|document| super::config_source::yaml_value(serde_yaml::Value::deserialize(document)))
        .collect()
}

/// The Wasm HTTP filters within one value (an `http_filters` list, a listener, …).
pub fn filters_in(value: &Value) -> Vec<WasmFilter> {
    let mut found = Vec::new();
    walk(value, None, "", &mut found);
    found
}

/// Every Wasm HTTP filter in the text (YAML or JSON, any number of documents).
pub fn wasm_filters(text: &str) -> Result<Vec<WasmFilter>, String> {
    let mut found = Vec::new();
    for (index, value) in documents(text)?.into_iter().enumerate() {
        let location = if index == 0 {
            String::new()
        } else {
            format!("(document {})", index + 1)
        };
        if wasm_plugin::is_wasm_plugin(&value) {
            let (filter_name, plugin) = wasm_plugin::plugin_config(&value);
            let location = match &filter_name {
                Some(name) => format!("WasmPlugin {name}"),
                None => format!("WasmPlugin (document {})", index + 1),
            };
            found.push(WasmFilter {
                filter_name,
                plugin,
                location,
                ecds_file: None,
            });
        } else {
            walk(&value, None, &location, &mut found);
        }
    }
    Ok(found)
}

/// The filters to check: those named `filter` when given, else those loading akguard.
pub fn pick(found: &[WasmFilter], filter: Option<&str>) -> Result<Vec<WasmFilter>, String> {
    let picked: Vec<WasmFilter> = found
        .iter()
        .filter(|f| match filter {
            Some(name) => f.has_name(name),
            None => f.is_akguard(),
        })
        .cloned()
        .collect();
    if !picked.is_empty() {
        return Ok(picked);
    }
    let names: Vec<String> = found.iter().map(WasmFilter::label).collect();
    let seen = if names.is_empty() {
        "no Wasm HTTP filter (envoy.extensions.filters.http.wasm.v3.Wasm) found".to_string()
    } else {
        format!("Wasm filters found: {}", names.join(", "))
    };
    Err(match filter {
        Some(name) => format!("no Wasm filter named {name:?}; {seen}"),
        None => format!("no Wasm filter loading akguard; {seen}; pick one with --filter NAME"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOTSTRAP: &str = r#"
static_resources:
  listeners:
    - name: l
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                http_filters:
                  - name: guard
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        root_id: akguard
                        configuration:
                          "@type": type.googleapis.com/google.protobuf.StringValue
                          value: '{"mode": "shadow"}'
                  - name: other
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        vm_config: { code: { local: { filename: /lib/other.wasm } } }
                        configuration:
                          "@type": type.googleapis.com/google.protobuf.Struct
                          value: { mode: enforce, max_body_bytes: 10 }
"#;

    #[test]
    fn finds_filters_and_their_configurations() {
        let found = wasm_filters(BOOTSTRAP).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].label(), "guard");
        assert!(found[0].is_akguard());
        assert!(!found[1].is_akguard());
        assert!(found[0].location.ends_with("http_filters[0].typed_config"));
        assert_eq!(found[0].configuration().unwrap(), br#"{"mode": "shadow"}"#);
        let structured: Value = serde_json::from_slice(&found[1].configuration().unwrap()).unwrap();
        assert_eq!(structured["max_body_bytes"], 10);
        assert_eq!(pick(&found, None).unwrap().len(), 1);
        assert_eq!(pick(&found, Some("other")).unwrap()[0].label(), "other");
        let none = pick(&found, Some("missing")).unwrap_err();
        assert!(none.contains("guard, other"), "{none}");
    }

    #[test]
    fn other_configuration_types_are_refused() {
        let filter = WasmFilter {
            filter_name: None,
            plugin: serde_json::json!({"configuration": {"@type": "type.googleapis.com/google.protobuf.BytesValue", "value": "e30="}}),
            ..WasmFilter::default()
        };
        assert!(filter.configuration().unwrap_err().contains("BytesValue"));
        let empty = WasmFilter {
            plugin: serde_json::json!({}),
            ..filter
        };
        assert_eq!(empty.configuration().unwrap(), b"");
    }
}
