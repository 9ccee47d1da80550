//! Shared by the test runners: the decision table in `tests/cases/decisions.json`, how a case
//! becomes request headers and body chunks (or a raw HTTP/1.1 request), and how an outcome is compared with a case's
//! expectation. The native runner (here) drives the policy core the way the filter does.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use akguard::core::check::{RequestCheck, Step};
use akguard::core::config::{self, Mode};
use serde::Deserialize;
use serde_json::Value;

pub const LEAKED: &str = "LTAI5tLeakedKey000000001";
pub const CLEAN: &str = "LTAI5tCleanKey0000000001";

#[derive(Debug, Deserialize)]
pub struct Table {
    pub default_config: Value,
    pub cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
pub struct Case {
    pub name: String,
    #[serde(default)]
    pub config: Option<Value>,
    pub request: Request,
    pub expect: Expect,
}

#[derive(Debug, Deserialize)]
pub struct Request {
    #[serde(default = "get")]
    pub method: String,
    pub authority: String,
    pub path: String,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body: Option<Vec<String>>,
}

fn get() -> String {
    "GET".into()
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub verdict: String,
    #[serde(default)]
    pub rule: Option<String>,
    #[serde(default)]
    pub status: Option<u32>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub decided_at: Option<String>,
    #[serde(default)]
    pub request_id: Option<String>,
}

/// What a runner observed for one case.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    /// `allow`, `deny` or `shadow-deny`.
    pub verdict: String,
    pub rule: Option<String>,
    pub status: Option<u32>,
    /// `json` or `xml`, from the reply's content type.
    pub format: Option<String>,
    /// `headers` or `body`.
    pub decided_at: String,
    pub request_id: Option<String>,
    pub body: Option<String>,
}

pub fn load_table() -> Table {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases/decisions.json");
    let text = std::fs::read_to_string(path).expect("read tests/cases/decisions.json");
    serde_json::from_str(&text).expect("parse tests/cases/decisions.json")
}

impl Case {
    /// The configuration text for this case.
    pub fn config_text(&self, table: &Table) -> String {
        match self.config.as_ref().unwrap_or(&table.default_config) {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        }
    }
}

impl Request {
    /// Headers as the host hands them to the filter, pseudo-headers first.
    pub fn headers(&self) -> Vec<(String, Vec<u8>)> {
        let mut headers = vec![
            (":method".to_string(), self.method.as_bytes().to_vec()),
            (":scheme".to_string(), b"http".to_vec()),
            (":authority".to_string(), self.authority.as_bytes().to_vec()),
            (":path".to_string(), self.path.as_bytes().to_vec()),
        ];
        for (name, value) in &self.headers {
            headers.push((name.to_ascii_lowercase(), value.as_bytes().to_vec()));
        }
        headers
    }

    pub fn chunks(&self) -> Vec<Vec<u8>> {
        self.body
            .as_ref()
            .map(|chunks| chunks.iter().map(|c| c.as_bytes().to_vec()).collect())
            .unwrap_or_default()
    }
}

/// Compares an outcome with a case's expectation; every field the case names must match.
pub fn check(case: &Case, got: &Outcome) -> Result<(), String> {
    let e = &case.expect;
    let mut problems = Vec::new();
    if got.verdict != e.verdict {
        problems.push(format!("verdict {} (want {})", got.verdict, e.verdict));
    }
    let pairs = [
        ("rule", e.rule.clone(), got.rule.clone()),
        (
            "status",
            e.status.map(|s| s.to_string()),
            got.status.map(|s| s.to_string()),
        ),
        ("format", e.format.clone(), got.format.clone()),
        (
            "decided_at",
            e.decided_at.clone(),
            Some(got.decided_at.clone()),
        ),
        ("request_id", e.request_id.clone(), got.request_id.clone()),
    ];
    for (field, want, have) in pairs {
        if want.is_some() && want != have {
            problems.push(format!("{field} {have:?} (want {want:?})"));
        }
    }
    if e.verdict == "deny" {
        let body = got.body.as_deref().unwrap_or_default();
        let want_code = if e.status == Some(413) {
            "RequestBodyTooLarge"
        } else {
            "Forbidden"
        };
        if !body.contains(want_code) {
            problems.push(format!("reply body lacks {want_code}: {body}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("case {:?}: {}", case.name, problems.join("; ")))
    }
}

/// Reads `json`/`xml`/`oss` (OSS's `application/xml` error document) off a reply content
/// type.
pub fn format_of(content_type: &str) -> String {
    if content_type == "application/xml" {
        "oss".into()
    } else if content_type.contains("xml") {
        "xml".into()
    } else {
        "json".into()
    }
}

/// Runs one case through the policy core, as the filter would.
pub fn run_native(case: &Case, table: &Table) -> Outcome {
    let loaded = config::load(case.config_text(table).as_bytes())
        .unwrap_or_else(|e| panic!("case {:?}: config rejected: {e}", case.name));
    let policy = loaded.policy;
    let headers = case.request.headers();
    let chunks = case.request.chunks();
    let started = RequestCheck::start(&policy, &headers, chunks.is_empty());
    let (mut step, mut decided_at) = (started.step, "headers");
    if step == Step::ReadBody {
        let mut check = started.check.expect("a check to read the body with");
        decided_at = "body";
        for (i, chunk) in chunks.iter().enumerate() {
            step = check.body(&policy, chunk, i + 1 == chunks.len());
            if step != Step::ReadBody {
                break;
            }
        }
    }
    let mut outcome = Outcome {
        decided_at: decided_at.into(),
        ..Outcome::default()
    };
    match step {
        Step::Allow => outcome.verdict = "allow".into(),
        Step::ReadBody => outcome.verdict = "still reading at the end of the body".into(),
        Step::Deny(denial) => {
            outcome.rule = Some(denial.rule.label().into());
            if denial.mode == Mode::Shadow {
                outcome.verdict = "shadow-deny".into();
            } else {
                outcome.verdict = "deny".into();
                let reply = denial.reply("generated-request-id");
                outcome.status = Some(reply.status);
                outcome.format = Some(format_of(&reply.headers[0].1));
                outcome.request_id = Some(reply.headers[1].1.clone());
                outcome.body = Some(reply.body);
            }
        }
    }
    outcome
}

/// A raw HTTP/1.1 request for a table case; a body is sent chunked so each of the case's
/// chunks reaches the check as one chunk.
pub fn raw_http1(request: &Request) -> Vec<u8> {
    let on_one_line = |text: &str| !text.contains(['\r', '\n']);
    assert!(
        !request.path.contains(char::is_whitespace) && on_one_line(&request.authority),
        "{request:?} cannot be written as an HTTP/1.1 request line"
    );
    for (name, value) in &request.headers {
        assert!(
            on_one_line(name) && on_one_line(value) && !name.contains(':'),
            "header {name:?}: {value:?} cannot be written as an HTTP/1.1 header line"
        );
    }
    let mut text = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\n",
        request.method, request.path, request.authority
    )
    .into_bytes();
    for (name, value) in &request.headers {
        text.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    let chunks: Vec<Vec<u8>> = request
        .chunks()
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect();
    if chunks.is_empty() {
        text.extend_from_slice(b"\r\n");
        return text;
    }
    text.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
    for chunk in chunks {
        text.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        text.extend_from_slice(&chunk);
        text.extend_from_slice(b"\r\n");
    }
    text.extend_from_slice(b"0\r\n\r\n");
    text
}
