//! What `akguard keys` writes, ready to apply: the bare configuration, the ECDS resource file
//! an Envoy `config_discovery` filter watches (`TypedExtensionConfig`), an Istio `WasmPlugin`
//! or a Higress `WasmPlugin`. Each is built fresh around a module location, or by updating an
//! existing file of its kind, whose other settings (Higress `matchRules`, the VM, selectors…)
//! are kept. Reading a resource back is [`super::envoy`]'s, as `akguard validate` reads it.

use clap::ValueEnum;
use serde_json::{json, Map, Value};

const WASM_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
const EXTENSION_TYPE: &str = "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig";
const STRING_VALUE: &str = "type.googleapis.com/google.protobuf.StringValue";

/// What `akguard keys` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Form {
    /// The configuration (JSON)
    Config,
    /// An ECDS resource file (`TypedExtensionConfig`, YAML) for a `config_discovery` filter
    Ecds,
    /// An Istio `WasmPlugin` (YAML), the configuration in `pluginConfig`
    Istio,
    /// A Higress `WasmPlugin` (YAML), the configuration in `defaultConfig`
    Higress,
}

/// The configuration a resource holds, and where: how to put a new one back.
pub struct Resource {
    document: Value,
    form: Form,
}

/// The akguard filter's `config` in an ECDS document: the first Wasm `TypedExtensionConfig`.
fn ecds_plugin(document: &mut Value) -> Option<&mut Value> {
    document
        .get_mut("resources")?
        .as_array_mut()?
        .iter_mut()
        .find(|r| r.pointer("/typed_config/@type").and_then(Value::as_str) == Some(WASM_TYPE))?
        .pointer_mut("/typed_config/config")
}

/// The configuration object a plugin `configuration` (`StringValue` text or `Struct`) holds.
fn plugin_configuration(plugin: &Value) -> Result<Map<String, Value>, String> {
    let value = plugin.pointer("/configuration/value");
    match value {
        None => Ok(Map::new()),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(Map::new()),
        Some(Value::String(text)) => match serde_json::from_str(text) {
            Ok(Value::Object(object)) => Ok(object),
            _ => Err("its configuration is not a JSON object".into()),
        },
        Some(Value::Object(object)) => Ok(object.clone()),
        Some(_) => Err("its configuration is neither a StringValue nor a Struct".into()),
    }
}

impl Resource {
    /// A new resource of `form` loading the module at `module` (a file path for ECDS, an
    /// `oci://` or `http(s)://` URL for Istio and Higress).
    pub fn new(form: Form, module: &str, hold_headers: bool) -> Resource {
        let document = match form {
            Form::Config => Value::Object(Map::new()),
            Form::Ecds => json!({
                "resources": [{
                    "@type": EXTENSION_TYPE,
                    "name": "akguard",
                    "typed_config": {
                        "@type": WASM_TYPE,
                        "config": {
                            "name": "akguard",
                            "root_id": "akguard",
                            "allow_on_headers_stop_iteration": hold_headers,
                            "failure_policy": "FAIL_CLOSED",
                            "vm_config": {
                                "vm_id": "akguard",
                                "runtime": "envoy.wasm.runtime.v8",
                                "code": {"local": {"filename": module}}
                            },
                            "configuration": {"@type": STRING_VALUE, "value": ""}
                        }
                    }
                }]
            }),
            Form::Istio | Form::Higress => {
                let (api, namespace) = if form == Form::Istio {
                    ("extensions.istio.io/v1alpha1", "istio-system")
                } else {
                    ("extensions.higress.io/v1alpha1", "higress-system")
                };
                json!({
                    "apiVersion": api,
                    "kind": "WasmPlugin",
                    "metadata": {"name": "akguard", "namespace": namespace},
                    "spec": {
                        "url": module,
                        "phase": "AUTHN",
                        "priority": 1000,
                        "failStrategy": "FAIL_CLOSE"
                    }
                })
            }
        };
        Resource { document, form }
    }

    /// An existing file of `form` to update (its text as JSON).
    pub fn existing(form: Form, document: Value) -> Result<Resource, String> {
        let mut resource = Resource { document, form };
        resource.configuration()?;
        Ok(resource)
    }

    /// The configuration the resource holds now.
    pub fn configuration(&mut self) -> Result<Map<String, Value>, String> {
        let kind_is = |kind: &str| {
            self.document.get("kind").and_then(Value::as_str) == Some("WasmPlugin")
                && self
                    .document
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .is_some_and(|a| a.starts_with(kind))
        };
        let field = |name: &str| match self.document.pointer(&format!("/spec/{name}")) {
            None => Ok(Map::new()),
            Some(Value::Object(object)) => Ok(object.clone()),
            Some(_) => Err(format!("spec.{name} is not an object")),
        };
        match self.form {
            Form::Config => match &self.document {
                Value::Object(object) => Ok(object.clone()),
                _ => Err("not a configuration object".into()),
            },
            Form::Ecds => {
                let plugin = ecds_plugin(&mut self.document)
                    .ok_or("no Wasm TypedExtensionConfig in its resources")?;
                plugin_configuration(plugin)
            }
            Form::Istio if kind_is("extensions.istio.io/") => field("pluginConfig"),
            Form::Higress if kind_is("extensions.higress.io/") => field("defaultConfig"),
            Form::Istio => Err("not an Istio WasmPlugin (extensions.istio.io)".into()),
            Form::Higress => Err("not a Higress WasmPlugin (extensions.higress.io)".into()),
        }
    }

    /// Puts `configuration` in place of the one the resource holds; `version` marks an ECDS
    /// resource's version.
    pub fn set_configuration(&mut self, configuration: Map<String, Value>, version: &str) {
        match self.form {
            Form::Config => self.document = Value::Object(configuration),
            Form::Ecds => {
                if let Some(plugin) = ecds_plugin(&mut self.document) {
                    let struct_form = plugin
                        .pointer("/configuration/@type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t.ends_with("google.protobuf.Struct"));
                    let value = if struct_form {
                        Value::Object(configuration)
                    } else {
                        Value::String(Value::Object(configuration).to_string())
                    };
                    if let Some(slot) = plugin.pointer_mut("/configuration/value") {
                        *slot = value;
                    }
                }
                if let Some(document) = self.document.as_object_mut() {
                    document.insert("version_info".into(), Value::from(version));
                }
            }
            Form::Istio | Form::Higress => {
                let field = if self.form == Form::Istio {
                    "pluginConfig"
                } else {
                    "defaultConfig"
                };
                if let Some(spec) = self.document.get_mut("spec").and_then(Value::as_object_mut) {
                    spec.insert(field.into(), Value::Object(configuration));
                }
            }
        }
    }

    /// The text to write: JSON for the configuration and for a resource going to a `.json`
    /// file (Envoy reads a watched file by its extension), YAML for the other resources.
    pub fn text(&self, json_file: bool) -> Result<String, String> {
        if self.form == Form::Config || json_file {
            serde_json::to_string_pretty(&self.document)
                .map(|text| text + "\n")
                .map_err(|e| e.to_string())
        } else {
            serde_yaml::to_string(&self.document).map_err(|e| e.to_string())
        }
    }
}
