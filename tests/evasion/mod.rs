//! The evasion suite: requests shaped to slip a leaked AccessKey ID or a high-risk action past
//! the filter, each with a clean twin. Cases live in `tests/evasion/*.txt` (format below); this
//! module reads them, renders each as the bytes sent on the wire, and compares what a runner
//! observed with what the case expects. Runners (native core, wasm module, Envoy) only turn
//! wire bytes into an [`Outcome`].
//!
//! Case file format: lines before the first case are comments. A case starts with `## name`,
//! then `field: value` lines, an empty line, the request head (request line and header lines),
//! an empty line and the body, up to the next `## ` line (trailing line breaks are dropped).
//! Head lines are sent with CRLF; a `Content-Length` is added when a body is present and the
//! head gives none. Fields:
//! - `expect: deny <rule>` or `expect: allow`: the verdict with `{KEY}` = the leaked key;
//! - `key: <leaked> <clean>`: the keys put in `{KEY}` (default [`LEAKED`] and [`CLEAN`]);
//! - `twin: deny <rule>`: the clean twin is denied too, by a fail-safe rule that does not
//!   depend on the key (a value cut short, a bound reached), instead of allowed;
//! - `config: <json>`: replaces [`DEFAULT_CONFIG`];
//! - `envoy: rejects`: Envoy itself answers such a request `400` (both variants) before any
//!   filter sees it; the other runners run the case as usual.
//!
//! Every case runs twice: as written with the leaked key, and as its clean twin with the clean
//! key, which must be allowed unless the case says otherwise (`twin:`). Escapes in head and body: `\xNN` (a byte), `\\` (a backslash),
//! `{REPEAT:n:text}` (`text` n times); `{KEY%}` is the key with every byte percent-encoded,
//! `{KEY%25}` the same encoded twice; `{CLEAN}` is always [`CLEAN`].

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod properties;
pub mod reference;
pub mod wire;

use std::path::Path;

pub const LEAKED: &str = "LTAI5tLeakedKey000000001";
pub const CLEAN: &str = "LTAI5tCleanKey0000000001";

/// Leaked: a plain LTAI key, an STS key, a `sha256:` entry (of `LTAI5tHashedLeakedKey001`), a
/// 16-character legacy key, a 3-character key and a 256-character key.
pub const DEFAULT_CONFIG: &str = concat!(
    r#"{"leaked_keys": ["LTAI5tLeakedKey000000001", "STS.LeakedTemporaryKey01", "#,
    r#""sha256:cf34c8cebd99901fb465d8acfd92bd2586d2d3bfb016b9f602afd51cd53f9119", "#,
    r#""LTAI0123456789ab", "K9x", "#,
    r#""L256KeyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]}"#
);

/// What a case expects with the leaked key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    Allow,
    /// Denied by the named rule.
    Deny(String),
}

/// One case as written in its file.
#[derive(Clone, Debug)]
pub struct Case {
    pub file: String,
    pub name: String,
    pub expect: Expect,
    /// What the clean twin expects: allowed, unless a fail-safe rule denies it whatever the
    /// key.
    pub twin: Expect,
    pub leaked_key: String,
    pub clean_key: String,
    pub config: Option<String>,
    /// Envoy answers the request `400` itself.
    pub envoy_rejects: bool,
    head: Vec<String>,
    body: String,
}

/// The two runs of a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// `{KEY}` is the leaked key.
    Evasion,
    /// `{KEY}` is the clean key; must be allowed.
    Twin,
}

impl Variant {
    pub const BOTH: [Variant; 2] = [Variant::Evasion, Variant::Twin];

    pub fn label(self) -> &'static str {
        match self {
            Variant::Evasion => "evasion",
            Variant::Twin => "clean twin",
        }
    }
}

/// What a runner observed for one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// `allow` or `deny`.
    pub verdict: String,
    /// The rule, when the runner can tell.
    pub rule: Option<String>,
    pub status: Option<u32>,
    pub body: Option<String>,
}

fn expand(text: &str, key: &str) -> Vec<u8> {
    let encoded: String = key.bytes().map(|b| format!("%{b:02X}")).collect();
    let twice: String = key.bytes().map(|b| format!("%25{b:02X}")).collect();
    let text = text
        .replace("{KEY%25}", &twice)
        .replace("{KEY%}", &encoded)
        .replace("{KEY}", key)
        .replace("{CLEAN}", CLEAN);
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find(['\\', '{']) {
        out.extend_from_slice(&rest.as_bytes()[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("\\\\") {
            out.push(b'\\');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("\\x") {
            let byte = after
                .get(..2)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .unwrap_or_else(|| panic!("bad \\x escape in {tail:?}"));
            out.push(byte);
            rest = &after[2..];
        } else if let Some(after) = tail.strip_prefix("{REPEAT:") {
            let close = after.find('}').expect("{REPEAT:n:text} closes");
            let (count, piece) = after[..close].split_once(':').expect("{REPEAT:n:text}");
            let count: usize = count.parse().expect("{REPEAT:n:text} count");
            for _ in 0..count {
                out.extend_from_slice(piece.as_bytes());
            }
            rest = &after[close + 1..];
        } else {
            out.push(tail.as_bytes()[0]);
            rest = &tail[1..];
        }
    }
    out.extend_from_slice(rest.as_bytes());
    out
}

impl Case {
    pub fn key(&self, variant: Variant) -> &str {
        match variant {
            Variant::Evasion => &self.leaked_key,
            Variant::Twin => &self.clean_key,
        }
    }

    pub fn expected(&self, variant: Variant) -> Expect {
        match variant {
            Variant::Evasion => self.expect.clone(),
            Variant::Twin => self.twin.clone(),
        }
    }

    /// The configuration text.
    pub fn config_text(&self) -> &str {
        self.config.as_deref().unwrap_or(DEFAULT_CONFIG)
    }

    /// The request as sent on the wire.
    pub fn wire(&self, variant: Variant) -> Vec<u8> {
        let key = self.key(variant);
        let mut raw = Vec::new();
        for line in &self.head {
            raw.extend_from_slice(&expand(line, key));
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"\r\n");
        raw.extend_from_slice(&expand(&self.body, key));
        let request = wire::parse(&raw)
            .unwrap_or_else(|| panic!("case {:?}: the request does not parse", self.name));
        request.to_bytes()
    }

    pub fn title(&self, variant: Variant) -> String {
        format!("{}: {} ({})", self.file, self.name, variant.label())
    }
}

fn parse_file(file: &str, text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut blocks = text.split("\n## ");
    blocks.next();
    for block in blocks {
        let (name, rest) = block.split_once('\n').unwrap_or((block, ""));
        let mut case = Case {
            file: file.to_string(),
            name: name.trim().to_string(),
            expect: Expect::Allow,
            twin: Expect::Allow,
            leaked_key: LEAKED.to_string(),
            clean_key: CLEAN.to_string(),
            config: None,
            envoy_rejects: false,
            head: Vec::new(),
            body: String::new(),
        };
        let (fields, request) = rest
            .split_once("\n\n")
            .unwrap_or_else(|| panic!("{file}: case {name:?}: fields, empty line, request"));
        let mut saw_expect = false;
        for line in fields.lines() {
            let (field, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("{file}: case {name:?}: bad field line {line:?}"));
            let value = value.trim();
            match field.trim() {
                "expect" => {
                    saw_expect = true;
                    case.expect = match value.split_once(' ') {
                        None if value == "allow" => Expect::Allow,
                        Some(("deny", rule)) => Expect::Deny(rule.trim().to_string()),
                        _ => panic!("{file}: case {name:?}: bad expect {value:?}"),
                    }
                }
                "key" => {
                    let (leaked, clean) = value
                        .split_once(' ')
                        .unwrap_or_else(|| panic!("{file}: case {name:?}: key: leaked clean"));
                    case.leaked_key = leaked.trim().to_string();
                    case.clean_key = clean.trim().to_string();
                    assert!(
                        case.leaked_key.len() == case.clean_key.len()
                            && case.leaked_key != case.clean_key,
                        "{file}: case {name:?}: the twin's key differs and has the same length"
                    );
                }
                "twin" => {
                    case.twin = match value.split_once(' ') {
                        Some(("deny", rule)) => Expect::Deny(rule.trim().to_string()),
                        _ => panic!("{file}: case {name:?}: bad twin {value:?} (deny <rule>)"),
                    }
                }
                "config" => case.config = Some(value.to_string()),
                "envoy" if value == "rejects" => case.envoy_rejects = true,
                other => panic!("{file}: case {name:?}: unknown field {other:?}"),
            }
        }
        assert!(saw_expect, "{file}: case {name:?} has no expect line");
        let (head, body) = request.split_once("\n\n").unwrap_or((request, ""));
        case.head = head.lines().map(str::to_string).collect();
        case.body = body.trim_end_matches('\n').to_string();
        cases.push(case);
    }
    cases
}

/// Every case in `tests/evasion/*.txt`, by file name order.
pub fn load_cases() -> Vec<Case> {
    load_cases_from(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evasion"))
}

/// Every case in `dir/*.txt`, by file name order.
pub fn load_cases_from(dir: &Path) -> Vec<Case> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("read tests/evasion")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read a case file");
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        cases.extend(parse_file(&file, &format!("\n{text}")));
    }
    cases
}

/// Compares an outcome with what the case expects for this variant.
pub fn check(case: &Case, variant: Variant, got: &Outcome) -> Result<(), String> {
    let problem = match case.expected(variant) {
        Expect::Allow if got.verdict == "allow" => None,
        Expect::Allow => Some(format!(
            "{} by {:?} (status {:?}), want allow",
            got.verdict, got.rule, got.status
        )),
        Expect::Deny(rule) => {
            let body = got.body.as_deref().unwrap_or_default();
            if got.verdict != "deny" {
                Some(format!("{}, want deny by {rule}", got.verdict))
            } else if got.rule.as_ref().is_some_and(|r| *r != rule) {
                Some(format!("denied by {:?}, want {rule}", got.rule))
            } else if got.status != Some(403)
                || !(body.contains("\"Forbidden\"") || body.contains("<Code>Forbidden</Code>"))
            {
                Some(format!(
                    "deny reply {:?} {body:?}, want 403 Forbidden",
                    got.status
                ))
            } else {
                None
            }
        }
    };
    match problem {
        None => Ok(()),
        Some(p) => Err(format!("{}: {p}", case.title(variant))),
    }
}
