//! The fields that add to what akguard knows: `extra_operations` (operations added to the
//! embedded list) and `endpoints` (hosts mapped to products).

use super::super::catalog::{Catalog, ProductIndex};
use super::super::decision::is_plain_action;
use super::super::endpoints::{normalize_host, Endpoints};
use super::error::{expected, ConfigError};
use serde_json::Value;

/// The product a field names by id.
pub(crate) fn product_of(
    catalog: &Catalog,
    path: &str,
    value: &Value,
) -> Result<ProductIndex, ConfigError> {
    let id = value
        .as_str()
        .ok_or_else(|| expected(path, "a product id", value))?;
    catalog.product_index(id).ok_or_else(|| {
        ConfigError::new(
            path,
            format!(
                "unknown product {id:?} (one of the {} ids `akguard list --known` shows)",
                catalog.products.len()
            ),
        )
    })
}

/// Adds `extra_operations` to the catalog; the number added.
pub(crate) fn apply_extra_operations(
    catalog: &mut Catalog,
    value: &Value,
) -> Result<usize, ConfigError> {
    let entries = value
        .as_array()
        .ok_or_else(|| expected("extra_operations", "an array", value))?;
    let mut added = 0;
    for (i, entry) in entries.iter().enumerate() {
        let path = format!("extra_operations[{i}]");
        let object = entry
            .as_object()
            .ok_or_else(|| expected(&path, "an object with product and actions", entry))?;
        if let Some(unknown) = object.keys().find(|k| *k != "product" && *k != "actions") {
            return Err(ConfigError::new(
                format!("{path}.{unknown}"),
                "unknown field (known fields: product, actions)",
            ));
        }
        let product_value = object
            .get("product")
            .ok_or_else(|| ConfigError::new(format!("{path}.product"), "missing"))?;
        let product = product_of(catalog, &format!("{path}.product"), product_value)?;
        let actions_path = format!("{path}.actions");
        let actions = object
            .get("actions")
            .ok_or_else(|| ConfigError::new(&actions_path, "missing"))?;
        let actions = actions
            .as_array()
            .ok_or_else(|| expected(&actions_path, "an array of action names", actions))?;
        if actions.is_empty() {
            return Err(ConfigError::new(
                actions_path,
                "must list at least one action",
            ));
        }
        for (j, action) in actions.iter().enumerate() {
            let action_path = format!("{actions_path}[{j}]");
            let name = action
                .as_str()
                .ok_or_else(|| expected(&action_path, "an action name", action))?;
            if !is_plain_action(name.as_bytes()) {
                return Err(ConfigError::new(
                    action_path,
                    format!("{name:?} is not an action name (a letter, then letters and digits)"),
                ));
            }
            catalog.add_operation(product, name);
            added += 1;
        }
    }
    Ok(added)
}

/// Reads `endpoints`.
pub(crate) fn parse_endpoints(catalog: &Catalog, value: &Value) -> Result<Endpoints, ConfigError> {
    let object = value
        .as_object()
        .ok_or_else(|| expected("endpoints", "an object of host → product id", value))?;
    let mut endpoints = Endpoints::default();
    for (pattern, product) in object {
        let path = format!("endpoints.{pattern:?}");
        let (wildcard, host) = match pattern.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, pattern.as_str()),
        };
        let normalized = normalize_host(host.as_bytes());
        let valid = !normalized.is_empty()
            && normalized == host.to_ascii_lowercase()
            && normalized
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && !normalized.starts_with('.');
        if !valid {
            return Err(ConfigError::new(
                path,
                "expected a host name (letters, digits, '-', '.'; no port) or \"*.\" followed by one",
            ));
        }
        let product = product_of(catalog, &path, product)?;
        let key = if wildcard {
            format!("*.{normalized}")
        } else {
            normalized
        };
        endpoints.add(&key, product);
    }
    Ok(endpoints)
}
