//! The high-risk list's format (`policies/high-risk.json`, `high_risk_list` in the
//! configuration, `akguard list --diff`): read from JSON with the path of every problem, so a
//! replacement list is refused naming the field, like the rest of a configuration.

use super::decision::is_plain_action;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// One row of the list: a product at one API version.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// Product id, e.g. `ecs`.
    pub product: String,
    /// Display name, e.g. `Elastic Compute Service (ECS)`.
    pub name: String,
    /// API version the row was published for.
    pub version: String,
    /// Host codes: the first label of the product's API hosts, e.g. `dbs-api`.
    pub hosts: Vec<String>,
    /// Listed operations, or `"*"` for every operation.
    pub operations: Operations,
}

/// A row's operations: every operation (`"*"`), or a list.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Operations {
    All(AllMarker),
    Listed(Vec<String>),
}

/// The `"*"` marker.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(into = "&'static str")]
pub struct AllMarker;

impl From<AllMarker> for &'static str {
    fn from(_: AllMarker) -> Self {
        "*"
    }
}

/// A list as read.
#[derive(Clone, Debug)]
pub struct ListFile {
    /// Where the list comes from.
    pub source: String,
    /// When it was published: `YYYY-MM` or `YYYY-MM-DD`.
    pub published: String,
    pub rows: Vec<Row>,
}

/// A problem with a list: the path of the field (from the list's top, `products[2].hosts`)
/// and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListProblem {
    pub path: String,
    pub problem: String,
}

fn problem(path: &str, text: impl Into<String>) -> ListProblem {
    ListProblem {
        path: path.to_string(),
        problem: text.into(),
    }
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// The fields of an object, none but `known` (and all of `required`) present.
fn fields<'a>(
    path: &str,
    value: &'a Value,
    known: &[&str],
    required: &[&str],
) -> Result<&'a Map<String, Value>, ListProblem> {
    let object = value.as_object().ok_or_else(|| {
        problem(
            if path.is_empty() { "(list)" } else { path },
            "expected an object",
        )
    })?;
    if let Some(unknown) = object.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(problem(
            &join(path, unknown),
            format!("unknown field (known fields: {})", known.join(", ")),
        ));
    }
    if let Some(missing) = required.iter().find(|f| !object.contains_key(**f)) {
        return Err(problem(&join(path, missing), "missing"));
    }
    Ok(object)
}

/// A non-empty string of at most 512 characters.
fn text(path: &str, value: Option<&Value>) -> Result<String, ListProblem> {
    match value.and_then(Value::as_str) {
        Some(s) if !s.is_empty() && s.len() <= 512 && !s.chars().any(char::is_control) => {
            Ok(s.to_string())
        }
        Some(_) => Err(problem(
            path,
            "expected 1 to 512 characters without control characters",
        )),
        None => Err(problem(path, "expected a string")),
    }
}

/// A lower-case token: ASCII letters, digits, `-`, `_` and `.`, 1 to 64 of them.
fn token(path: &str, value: &Value, what: &str) -> Result<String, ListProblem> {
    let s = value
        .as_str()
        .ok_or_else(|| problem(path, format!("expected {what}")))?;
    let fine = !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        });
    if fine {
        Ok(s.to_string())
    } else {
        Err(problem(
            path,
            format!(
                "expected {what}: 1 to 64 lower-case letters, digits, '-', '_' or '.', found {s:?}"
            ),
        ))
    }
}

/// `YYYY-MM` or `YYYY-MM-DD`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let month_ok = s
        .get(5..7)
        .and_then(|m| m.parse::<u8>().ok())
        .is_some_and(|m| (1..=12).contains(&m));
    let shape = match b.len() {
        7 => digits(0..4) && b[4] == b'-' && digits(5..7),
        10 => {
            digits(0..4)
                && b[4] == b'-'
                && digits(5..7)
                && b[7] == b'-'
                && digits(8..10)
                && s.get(8..10)
                    .and_then(|d| d.parse::<u8>().ok())
                    .is_some_and(|d| (1..=31).contains(&d))
        }
        _ => false,
    };
    shape && month_ok
}

fn row(path: &str, value: &Value) -> Result<Row, ListProblem> {
    let object = fields(
        path,
        value,
        &["product", "name", "version", "hosts", "operations"],
        &["product", "version", "operations"],
    )?;
    let product = token(&join(path, "product"), &object["product"], "a product id")?;
    let name = match object.get("name") {
        Some(v) => text(&join(path, "name"), Some(v))?,
        None => product.clone(),
    };
    let version = text(&join(path, "version"), object.get("version"))?;
    let hosts_path = join(path, "hosts");
    let hosts = match object.get("hosts") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, h)| token(&format!("{hosts_path}[{i}]"), h, "a host code"))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(problem(&hosts_path, "expected an array of host codes")),
    };
    let ops_path = join(path, "operations");
    let operations = match &object["operations"] {
        Value::String(s) if s == "*" => Operations::All(AllMarker),
        Value::Array(items) if !items.is_empty() => Operations::Listed(
            items
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let at = format!("{ops_path}[{i}]");
                    match a.as_str() {
                        Some(s) if is_plain_action(s.as_bytes()) => Ok(s.to_string()),
                        Some(s) => Err(problem(
                            &at,
                            format!("expected an action name (a letter, then letters and digits, at most 128), found {s:?}"),
                        )),
                        None => Err(problem(&at, "expected an action name")),
                    }
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => {
            return Err(problem(
                &ops_path,
                "expected \"*\" (every operation) or a non-empty array of action names",
            ))
        }
    };
    Ok(Row {
        product,
        name,
        version,
        hosts,
        operations,
    })
}

/// Reads a list from its JSON value.
pub fn read(value: &Value) -> Result<ListFile, ListProblem> {
    let object = fields(
        "",
        value,
        &["source", "published", "recorded", "products"],
        &["source", "published", "products"],
    )?;
    let source = text("source", object.get("source"))?;
    let published = text("published", object.get("published"))?;
    if !is_date(&published) {
        return Err(problem(
            "published",
            format!("expected a date as YYYY-MM or YYYY-MM-DD, found {published:?}"),
        ));
    }
    if let Some(recorded) = object.get("recorded") {
        text("recorded", Some(recorded))?;
    }
    let rows = match &object["products"] {
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, r)| row(&format!("products[{i}]"), r))
            .collect::<Result<_, _>>()?,
        _ => return Err(problem("products", "expected a non-empty array of rows")),
    };
    Ok(ListFile {
        source,
        published,
        rows,
    })
}

/// Reads a list from its text.
pub fn parse(text: &str) -> Result<ListFile, ListProblem> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| problem("(list)", format!("not valid JSON: {e}")))?;
    read(&value)
}

/// The publication date as a number, `YYYYMMDD` (`DD` is `00` for a list dated by month):
/// what the `high_risk_list_published` gauge shows.
pub fn published_number(published: &str) -> u32 {
    published
        .bytes()
        .filter(u8::is_ascii_digit)
        .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
        * if published.len() == 7 { 100 } else { 1 }
}

/// A fingerprint of what a list blocks (products, versions, host codes, operations, in
/// order), the first 48 bits of a SHA-256: equal on two gateways exactly when they enforce
/// the same list, whatever its layout or source text.
pub fn digest(rows: &[Row]) -> u64 {
    let mut hash = Sha256::new();
    for row in rows {
        for part in [&row.product, &row.version] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        for host in &row.hosts {
            hash.update(host.as_bytes());
            hash.update([1]);
        }
        match &row.operations {
            Operations::All(_) => hash.update([2]),
            Operations::Listed(actions) => {
                for action in actions {
                    hash.update(action.to_ascii_lowercase().as_bytes());
                    hash.update([3]);
                }
            }
        }
        hash.update([4]);
    }
    let bytes = hash.finalize();
    bytes
        .iter()
        .take(6)
        .fold(0u64, |n, b| n << 8 | u64::from(*b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../policies/high-risk.json");

    fn edited(edit: impl FnOnce(&mut Value)) -> Result<ListFile, ListProblem> {
        let mut value: Value = serde_json::from_str(SHIPPED).unwrap();
        edit(&mut value);
        read(&value)
    }

    #[test]
    fn the_shipped_list_reads() {
        let list = parse(SHIPPED).unwrap();
        assert_eq!(list.rows.len(), 15);
        assert_eq!(list.published, "2026-01");
        assert_eq!(published_number(&list.published), 20260100);
        assert_eq!(published_number("2026-03-15"), 20260315);
    }

    #[test]
    fn every_problem_names_its_field() {
        type Edit = Box<dyn FnOnce(&mut Value)>;
        let cases: Vec<(Edit, &str, &str)> = vec![
            (
                Box::new(|v| v["extra"] = Value::Null),
                "extra",
                "unknown field",
            ),
            (
                Box::new(|v| {
                    v.as_object_mut().unwrap().remove("source");
                }),
                "source",
                "missing",
            ),
            (
                Box::new(|v| v["published"] = "January 2026".into()),
                "published",
                "YYYY-MM",
            ),
            (
                Box::new(|v| v["published"] = "2026-13".into()),
                "published",
                "YYYY-MM",
            ),
            (
                Box::new(|v| v["products"] = serde_json::json!([])),
                "products",
                "non-empty",
            ),
            (
                Box::new(|v| v["products"][2]["operations"][1] = "Run-Instances".into()),
                "products[2].operations[1]",
                "action name",
            ),
            (
                Box::new(|v| v["products"][2]["operations"] = serde_json::json!([])),
                "products[2].operations",
                "non-empty",
            ),
            (
                Box::new(|v| v["products"][2]["operations"] = "all".into()),
                "products[2].operations",
                "\"*\"",
            ),
            (
                Box::new(|v| v["products"][3]["product"] = "ECS".into()),
                "products[3].product",
                "lower-case",
            ),
            (
                Box::new(|v| v["products"][3]["hosts"][0] = 7.into()),
                "products[3].hosts[0]",
                "host code",
            ),
            (
                Box::new(|v| v["products"][4]["version"] = "".into()),
                "products[4].version",
                "1 to 512",
            ),
            (
                Box::new(|v| v["products"][4]["owner"] = "x".into()),
                "products[4].owner",
                "unknown field",
            ),
            (
                Box::new(|v| *v = "list".into()),
                "(list)",
                "expected an object",
            ),
        ];
        for (edit, path, text) in cases {
            let err = edited(edit).unwrap_err();
            assert_eq!(err.path, path, "{err:?}");
            assert!(err.problem.contains(text), "{err:?}");
        }
    }

    #[test]
    fn the_digest_follows_what_is_blocked_not_the_layout() {
        let list = parse(SHIPPED).unwrap();
        let compact =
            serde_json::to_string(&serde_json::from_str::<Value>(SHIPPED).unwrap()).unwrap();
        let same = parse(&compact).unwrap();
        assert_eq!(digest(&list.rows), digest(&same.rows));
        assert!(digest(&list.rows) < 1 << 48);
        let mut renamed = list.clone();
        renamed.rows[2].name = "another name".into();
        assert_eq!(digest(&list.rows), digest(&renamed.rows));
        let mut fewer = list.clone();
        if let Operations::Listed(actions) = &mut fewer.rows[2].operations {
            actions.pop();
        }
        assert_ne!(digest(&list.rows), digest(&fewer.rows));
    }
}
