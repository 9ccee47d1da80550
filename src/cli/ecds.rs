//! HTTP filters whose configuration Envoy discovers (ECDS, `config_discovery`): where each
//! takes it from. A watched file (`path_config_source`) is read as Envoy reads it, relative to
//! Envoy's working directory; a management server is named, since only it holds the resource.

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// One filter configured through `config_discovery`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// The filter's name (`http_filters[].name`): the ECDS resource it asks for.
    pub filter_name: Option<String>,
    /// The watched file, when the config source is a path.
    pub path: Option<String>,
    /// Where it was found.
    pub location: String,
}

fn walk(value: &Value, location: &str, out: &mut Vec<Discovered>) {
    match value {
        Value::Object(object) => walk_object(object, location, out),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{location}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn walk_object(object: &Map<String, Value>, location: &str, out: &mut Vec<Discovered>) {
    if let Some(discovery) = object.get("config_discovery") {
        let source = discovery.get("config_source");
        let path = source
            .and_then(|s| s.get("path_config_source"))
            .and_then(|p| p.get("path"))
            .or_else(|| source.and_then(|s| s.get("path")))
            .and_then(Value::as_str);
        out.push(Discovered {
            filter_name: object.get("name").and_then(Value::as_str).map(String::from),
            path: path.map(String::from),
            location: location.to_string(),
        });
        return;
    }
    for (key, child) in object {
        let at = if location.is_empty() {
            key.clone()
        } else {
            format!("{location}.{key}")
        };
        walk(child, &at, out);
    }
}

/// Every filter configured through `config_discovery` in the documents.
pub fn discovered(documents: &[Value]) -> Vec<Discovered> {
    let mut out = Vec::new();
    for document in documents {
        walk(document, "", &mut out);
    }
    out
}

impl Discovered {
    /// The filter's name, or where it is.
    pub fn label(&self) -> &str {
        self.filter_name.as_deref().unwrap_or(&self.location)
    }

    /// The watched file as Envoy finds it: an absolute path, else relative to Envoy's working
    /// directory (taken to be this one, or the Envoy file's own directory or one above it).
    /// `Err` says what to validate instead.
    pub fn file(&self, envoy_file: &Path) -> Result<PathBuf, String> {
        let Some(path) = &self.path else {
            return Err(format!(
                "filter {:?} takes its configuration from a management server (config_discovery without a path_config_source): validate the ECDS resource that server serves, e.g. akguard validate --envoy RESOURCE_FILE",
                self.label()
            ));
        };
        let given = Path::new(path);
        if given.is_absolute() {
            return Ok(given.to_path_buf());
        }
        let mut tried = vec![PathBuf::from(path)];
        let envoy_file = std::fs::canonicalize(envoy_file).unwrap_or(envoy_file.to_path_buf());
        tried.extend(envoy_file.ancestors().skip(1).map(|dir| dir.join(path)));
        if let Some(found) = tried.iter().find(|p| p.is_file()) {
            return Ok(found.clone());
        }
        Err(format!(
            "filter {:?} takes its configuration from the ECDS file {path} (config_discovery), relative to Envoy's working directory: not found from here; run from the directory Envoy runs in, or validate that file: akguard validate --envoy {path}",
            self.label()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_path_and_server_sources() {
        let bootstrap = json!({"static_resources": {"listeners": [{"filter_chains": [{"filters": [{
        "typed_config": {"http_filters": [
            {"name": "akguard", "config_discovery": {"config_source": {"path_config_source": {"path": "ecds/akguard.yaml"}}}},
            {"name": "other", "config_discovery": {"config_source": {"ads": {}}}},
            {"name": "envoy.filters.http.router"}
        ]}}]}]}]}});
        let found = discovered(&[bootstrap]);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].label(), "akguard");
        assert_eq!(found[0].path.as_deref(), Some("ecds/akguard.yaml"));
        assert!(found[0].location.ends_with("http_filters[0]"));
        assert_eq!(found[1].path, None);
        let server = found[1].file(Path::new("envoy.yaml")).unwrap_err();
        assert!(server.contains("management server"), "{server}");
        let missing = found[0]
            .file(Path::new("/nonexistent/envoy.yaml"))
            .unwrap_err();
        assert!(missing.contains("ECDS file ecds/akguard.yaml"), "{missing}");
    }
}
