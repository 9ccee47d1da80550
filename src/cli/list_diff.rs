//! `akguard list --diff FILE`: what a candidate high-risk list (a list file, or a
//! configuration holding `high_risk_list`) adds to and removes from the embedded one, product
//! by product and operation by operation (actions compared without regard to case).

use super::config_source::{input_name, read_input};
use akguard::core::catalog::{Operations, Row, EMBEDDED_LIST};
use akguard::core::list_file::{self, ListFile};
use std::collections::BTreeMap;
use std::path::Path;

/// What a list blocks of one product: every operation, and the actions named (lower case →
/// as written).
#[derive(Default)]
struct Blocked {
    all: bool,
    actions: BTreeMap<String, String>,
}

fn blocked(rows: &[Row]) -> BTreeMap<String, Blocked> {
    let mut out: BTreeMap<String, Blocked> = BTreeMap::new();
    for row in rows {
        let entry = out.entry(row.product.clone()).or_default();
        match &row.operations {
            Operations::All(_) => entry.all = true,
            Operations::Listed(actions) => {
                for action in actions {
                    entry
                        .actions
                        .entry(action.to_ascii_lowercase())
                        .or_insert_with(|| action.clone());
                }
            }
        }
    }
    out
}

/// The candidate list in a file: a list, or a configuration's `high_risk_list`.
fn candidate(path: &Path) -> Result<ListFile, String> {
    let name = input_name(path);
    let bytes = read_input(path)?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("{name}: not valid JSON: {e}"))?;
    let (list, prefix) = match value.get("high_risk_list") {
        Some(list) => (list, "high_risk_list."),
        None => (&value, ""),
    };
    list_file::read(list).map_err(|e| format!("{name}: {prefix}{}: {}", e.path, e.problem))
}

/// The differences, one line each: `+`/`-`, the product, then `every operation` or an action.
fn differences(old: &BTreeMap<String, Blocked>, new: &BTreeMap<String, Blocked>) -> Vec<String> {
    let empty = Blocked::default();
    let mut lines = Vec::new();
    let products: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for product in products {
        let (was, is) = (
            old.get(product).unwrap_or(&empty),
            new.get(product).unwrap_or(&empty),
        );
        if was.all != is.all {
            let sign = if is.all { '+' } else { '-' };
            lines.push(format!("{sign} {product:<16} every operation"));
        }
        for (key, action) in &is.actions {
            if !was.actions.contains_key(key) {
                lines.push(format!("+ {product:<16} {action}"));
            }
        }
        for (key, action) in &was.actions {
            if !is.actions.contains_key(key) {
                lines.push(format!("- {product:<16} {action}"));
            }
        }
    }
    lines
}

/// The report for `akguard list --diff FILE`.
pub fn report(path: &Path) -> Result<String, String> {
    let embedded = list_file::parse(EMBEDDED_LIST)
        .map_err(|e| format!("embedded list: {}: {}", e.path, e.problem))?;
    let new = candidate(path)?;
    let lines = differences(&blocked(&embedded.rows), &blocked(&new.rows));
    let added = lines.iter().filter(|l| l.starts_with('+')).count();
    let mut out = format!(
        "embedded:  published {}: {}\ncandidate: published {}: {}\n\n",
        embedded.published, embedded.source, new.published, new.source
    );
    for line in &lines {
        out.push_str(line);
        out.push('\n');
    }
    if lines.is_empty() {
        out.push_str("no difference in what is blocked\n");
    } else {
        out.push_str(&format!(
            "\n{added} added, {} removed (a product's \"every operation\" counts as one)\n",
            lines.len() - added
        ));
    }
    Ok(out)
}
