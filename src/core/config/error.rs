//! Configuration problems: a [`ConfigError`] names the field path and says what is wrong, and
//! the helpers that phrase the common problems alike everywhere.

use serde::de;
use serde_json::Value;
use std::cell::RefCell;
use std::fmt;

/// A configuration problem: the field path and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub problem: String,
}

impl ConfigError {
    pub(crate) fn new(path: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

/// How a JSON value is named in a problem: its type (and a scalar's value).
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// `expected <what>, found <the value described>` at `path`.
pub(crate) fn expected(path: &str, what: &str, value: &Value) -> ConfigError {
    ConfigError::new(path, format!("expected {what}, found {}", describe(value)))
}

/// Problem text of a serde_json error, without its position.
pub(crate) fn serde_problem(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_string()
}

/// Records that a key field holds the wrong JSON type, naming the field and what it expects.
pub(crate) fn wrong_type<E: de::Error>(
    error: &RefCell<Option<ConfigError>>,
    field: &'static str,
    expected: &str,
    found: &str,
) -> Result<(), E> {
    error.replace(Some(ConfigError::new(
        field,
        format!("expected {expected}, found {found}"),
    )));
    Err(E::custom(field))
}
