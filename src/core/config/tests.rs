//! The loader's behaviour as a whole: what each field accepts and rejects, and with which
//! path and problem.

use super::*;
use std::io::{self, Read};

const DIGEST: &str = "sha256:ca3c6321754a4fb2cfc27855b6d122984140a024f0cfa8437130229ab676227a";

#[test]
fn accepts_a_full_configuration() {
    let text = format!(
        r#"{{"leaked_keys": ["LTAI5tLeakedKeyExample01", "STS.abc", "{DIGEST}", "LTAI5tLeakedKeyExample01"],
            "mode": "shadow", "deny_all_calls": true, "max_body_bytes": 4096, "hold_headers": true,
            "deny_credential_calls": true,
            "extra_operations": [{{"product": "ecs", "actions": ["DescribeInstances"]}}],
            "endpoints": {{"ecs.internal.example": "ecs", "*.rds.example": "rds"}}}}"#
    );
    let loaded = load(text.as_bytes()).unwrap();
    let p = &loaded.policy;
    assert!(loaded.warnings.is_empty());
    assert_eq!(p.keys.len(), 3);
    assert_eq!(p.keys_given, 4);
    assert!(p.keys.contains(b"LTAI5tLeakedKeyExample01"));
    assert!(p.keys.contains(b"LTAI5tHashedKey01"));
    assert!(p.keys.contains(b"STS.abc"));
    assert_eq!(p.mode, Mode::Shadow);
    assert!(p.deny_all_calls);
    assert!(p.deny_credential_calls);
    assert!(p.summary().contains(" deny_credential_calls=true"));
    assert_eq!(p.max_body_bytes, 4096);
    assert!(p.hold_headers);
    assert_eq!(p.endpoints.len(), 2);
    assert_eq!(p.extra_operations, 1);
    let ecs = p.catalog.product_index("ecs").unwrap();
    assert!(p.catalog.is_listed(ecs, b"describeinstances"));
}

#[test]
fn accepts_leaked_keys_packed_alongside_leaked_keys() {
    let block =
        super::super::packed::encode_entries(["LTAI5tPackedKey01", DIGEST, "STS.packed"]).unwrap();
    let text =
        format!(r#"{{"leaked_keys_packed": "{block}", "leaked_keys": ["LTAI5tPlainKey01"]}}"#);
    let p = load(text.as_bytes()).unwrap().policy;
    assert_eq!(p.keys_given, 4);
    assert_eq!(p.keys.len(), 4);
    for key in [
        "LTAI5tPackedKey01",
        "LTAI5tHashedKey01",
        "STS.packed",
        "LTAI5tPlainKey01",
    ] {
        assert!(p.keys.contains(key.as_bytes()), "{key}");
    }
    assert!(!p.keys.contains(b"LTAI5tPackedKey02"));
    let empty = load(br#"{"leaked_keys_packed": ""}"#).unwrap();
    assert!(empty.policy.keys.is_empty());
    assert_eq!(empty.warnings.len(), 1);
}

/// Hands out at most `step` bytes a read, and fails at `fail_at` when given.
struct Trickle<'a> {
    text: &'a [u8],
    step: usize,
    fail_at: Option<usize>,
    at: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.fail_at.is_some_and(|f| self.at >= f) {
            return Err(io::Error::other("host buffer gone"));
        }
        let n = buf.len().min(self.step).min(self.text.len() - self.at);
        buf[..n].copy_from_slice(&self.text[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn trickle(text: &[u8], step: usize) -> Trickle<'_> {
    Trickle {
        text,
        step,
        fail_at: None,
        at: 0,
    }
}

#[test]
fn accepts_leaked_keys_packed_as_an_array_of_blocks() {
    let keys: Vec<String> = (0..50).map(|i| format!("LTAI5tPackedKey{i:03}")).collect();
    let mut entries: Vec<[u8; 8]> = keys
        .iter()
        .map(|k| super::super::packed::entry_of_key(k.as_bytes()))
        .collect();
    entries.sort_unstable();
    let blocks: Vec<String> = entries
        .chunks(7)
        .map(|c| super::super::packed::encode(c.to_vec()))
        .collect();
    let text = format!(
        r#"{{"leaked_keys_packed": {}, "leaked_keys": ["{DIGEST}"]}}"#,
        serde_json::to_string(&blocks).unwrap()
    );
    let p = load(text.as_bytes()).unwrap().policy;
    assert_eq!(p.keys_given, 51);
    assert_eq!(p.keys.len(), 51);
    for key in keys.iter().map(String::as_str).chain(["LTAI5tHashedKey01"]) {
        assert!(p.keys.contains(key.as_bytes()), "{key}");
    }
    assert!(!p.keys.contains(b"LTAI5tPackedKey050"));

    let mut swapped = blocks.clone();
    swapped.swap(2, 3);
    let text = format!(
        r#"{{"leaked_keys_packed": {}}}"#,
        serde_json::to_string(&swapped).unwrap()
    );
    let err = load(text.as_bytes()).unwrap_err();
    assert_eq!(err.path, "leaked_keys_packed[3]", "{err}");
    assert!(
        err.problem.contains("sorted ascending across the blocks"),
        "{err}"
    );

    for (text, path, problem) in [
        (
            r#"{"leaked_keys_packed": ["ungWv48Bz+o=", 5]}"#,
            "leaked_keys_packed[1]",
            "expected a base64 string, found integer `5`",
        ),
        (
            r#"{"leaked_keys_packed": ["ungWv48Bz+o"]}"#,
            "leaked_keys_packed[0]",
            "not canonical base64",
        ),
        (
            r#"{"leaked_keys_packed": ["ungWv48Bz+o=", "ungWv48Bz+o="]}"#,
            "leaked_keys_packed[1]",
            "without repeats",
        ),
    ] {
        let err = load(text.as_bytes()).expect_err(text);
        assert_eq!(err.path, path, "{text}: {err}");
        assert!(err.problem.contains(problem), "{text}: {err}");
    }
    let empty = load(br#"{"leaked_keys_packed": []}"#).unwrap();
    assert!(empty.policy.keys.is_empty());
    assert_eq!(empty.warnings.len(), 1);
}

#[test]
fn a_configuration_read_in_pieces_loads_the_same() {
    let block = super::super::packed::encode_entries(["LTAI5tPackedKey01", DIGEST]).unwrap();
    let text = format!(
        "  \n{{\"leaked_keys\": [\"LTAI5tPlainKey01\", \"{DIGEST}\"], \"leaked_keys_packed\": [\"{block}\"],\n \"mode\": \"shadow\", \"endpoints\": {{\"ecs.corp.example\": \"ecs\"}}}}\n"
    );
    let whole = load(text.as_bytes()).unwrap();
    for step in [1, 2, 7, 64] {
        for hint in [0, text.len(), 3] {
            let loaded = load_from(trickle(text.as_bytes(), step), hint).unwrap();
            let (a, b) = (&loaded.policy, &whole.policy);
            assert_eq!(a.keys.len(), b.keys.len(), "step {step}");
            assert_eq!(a.keys_given, 4);
            assert_eq!(a.mode, Mode::Shadow);
            assert_eq!(a.endpoints.len(), 1);
            for key in ["LTAI5tPlainKey01", "LTAI5tHashedKey01", "LTAI5tPackedKey01"] {
                assert!(a.keys.contains(key.as_bytes()), "step {step}: {key}");
            }
            assert_eq!(loaded.warnings, whole.warnings);
        }
    }
    let blank = load_from(trickle(b" \n\t ", 1), 4).unwrap();
    assert!(blank.policy.keys.is_empty());
    assert!(blank.warnings[0].contains("the configuration is empty"));

    let bad = br#"{"leaked_keys": ["LTAI5tPlainKey01", "LTAI 5"]}"#;
    let err = load_from(trickle(bad, 3), bad.len()).unwrap_err();
    assert_eq!(err.path, "leaked_keys[1]");
    assert_eq!(err, load(bad).unwrap_err());
    let truncated = &text.as_bytes()[..text.len() / 2];
    let err = load_from(trickle(truncated, 5), text.len()).unwrap_err();
    assert_eq!(err.path, "configuration");
    assert!(err.problem.starts_with("not valid JSON"), "{err}");
}

#[test]
fn a_read_failure_rejects_the_configuration() {
    let text = br#"{"leaked_keys": ["LTAI5tPlainKey01", "LTAI5tPlainKey02"], "mode": "shadow"}"#;
    for fail_at in [0, 1, 20, 60] {
        let reader = Trickle {
            text,
            step: 4,
            fail_at: Some(fail_at),
            at: 0,
        };
        let err = load_from(reader, text.len()).unwrap_err();
        assert_eq!(err.path, "configuration", "fail at {fail_at}");
        assert!(
            err.problem.starts_with("could not be read: ")
                && err.problem.contains("host buffer gone"),
            "fail at {fail_at}: {err}"
        );
    }
}

#[test]
fn rejects_bad_leaked_keys_packed() {
    for (text, problem) in [
        (
            r#"{"leaked_keys_packed": {"a": "x"}}"#,
            "expected a base64 string or an array of them, found an object",
        ),
        (
            r#"{"leaked_keys_packed": 1}"#,
            "expected a base64 string or an array of them, found number 1",
        ),
        (r#"{"leaked_keys_packed": "ungW"}"#, "multiple of 8"),
        (
            r#"{"leaked_keys_packed": "ungWv48Bz+o"}"#,
            "not canonical base64",
        ),
        (r#"{"leaked_keys_packed": "ungW-v48Bz+o="}"#, "not base64"),
    ] {
        let err = load(text.as_bytes()).expect_err(text);
        assert_eq!(err.path, "leaked_keys_packed", "{text}: {err}");
        assert!(err.problem.contains(problem), "{text}: {err}");
    }
}

#[test]
fn defaults_and_empty_configurations() {
    for text in ["", "  \n", "{}", r#"{"leaked_keys": []}"#] {
        let loaded = load(text.as_bytes()).unwrap();
        assert!(loaded.policy.keys.is_empty(), "{text:?}");
        assert_eq!(loaded.warnings.len(), 1, "{text:?}");
        assert_eq!(loaded.policy.mode, Mode::Enforce);
        assert!(!loaded.policy.deny_all_calls);
        assert!(!loaded.policy.deny_credential_calls);
        assert!(!loaded.policy.summary().contains("deny_credential_calls"));
        assert_eq!(loaded.policy.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
    }
    let struct_number = load(br#"{"leaked_keys":["LTAIx"],"max_body_bytes": 2048.0}"#).unwrap();
    assert_eq!(struct_number.policy.max_body_bytes, 2048);
}

#[test]
fn rejects_with_the_field_path() {
    let cases: &[(&str, &str, &str)] = &[
        ("[1]", "configuration", "expected a JSON object"),
        ("\"x\"", "configuration", "expected a JSON object"),
        ("{", "configuration", "not valid JSON"),
        ("{} x", "configuration", "not valid JSON"),
        (r#"{"leaked_key": []}"#, "leaked_key", "unknown field"),
        (
            r#"{"mode": "enforce", "mode": "shadow"}"#,
            "mode",
            "given twice",
        ),
        (
            r#"{"leaked_keys": "LTAIx"}"#,
            "leaked_keys",
            "expected an array of AccessKey IDs, found a string",
        ),
        (
            r#"{"leaked_keys": {"a": 1}}"#,
            "leaked_keys",
            "found an object",
        ),
        (r#"{"leaked_keys": null}"#, "leaked_keys", "found null"),
        (
            r#"{"leaked_keys": ["LTAIa", "LTAIb", "LTAIc", 7]}"#,
            "leaked_keys[3]",
            "expected a string, found integer `7`",
        ),
        (
            r#"{"leaked_keys": ["LTAIa", ""]}"#,
            "leaked_keys[1]",
            "must not be empty",
        ),
        (
            r#"{"leaked_keys": ["LTAI a"]}"#,
            "leaked_keys[0]",
            "found ' '",
        ),
        (
            r#"{"leaked_keys": ["LTAI-a"]}"#,
            "leaked_keys[0]",
            "found '-'",
        ),
        (
            r#"{"leaked_keys": ["sha256:abc"]}"#,
            "leaked_keys[0]",
            "64 lowercase hex",
        ),
        (
            r#"{"leaked_keys": ["sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"]}"#,
            "leaked_keys[0]",
            "64 lowercase hex",
        ),
        (
            r#"{"mode": "block"}"#,
            "mode",
            "expected \"enforce\" or \"shadow\", found \"block\"",
        ),
        (r#"{"mode": 1}"#, "mode", "found number 1"),
        (
            r#"{"deny_all_calls": "yes"}"#,
            "deny_all_calls",
            "expected a boolean, found a string",
        ),
        (
            r#"{"deny_credential_calls": "true"}"#,
            "deny_credential_calls",
            "expected a boolean, found a string",
        ),
        (
            r#"{"_rules_": [{"_match_route_": ["r"], "deny_credential_calls": 0}]}"#,
            "_rules_[0].deny_credential_calls",
            "expected a boolean, found number 0",
        ),
        (
            r#"{"hold_headers": 1}"#,
            "hold_headers",
            "expected a boolean, found number 1",
        ),
        (
            r#"{"max_body_bytes": 0}"#,
            "max_body_bytes",
            "between 1 and",
        ),
        (
            r#"{"max_body_bytes": -5}"#,
            "max_body_bytes",
            "a whole number",
        ),
        (
            r#"{"max_body_bytes": 1.5}"#,
            "max_body_bytes",
            "a whole number",
        ),
        (
            r#"{"extra_operations": {}}"#,
            "extra_operations",
            "expected an array",
        ),
        (
            r#"{"extra_operations": [1]}"#,
            "extra_operations[0]",
            "expected an object",
        ),
        (
            r#"{"extra_operations": [{"product": "nope", "actions": ["A"]}]}"#,
            "extra_operations[0].product",
            "unknown product \"nope\"",
        ),
        (
            r#"{"extra_operations": [{"product": "ecs"}]}"#,
            "extra_operations[0].actions",
            "missing",
        ),
        (
            r#"{"extra_operations": [{"actions": ["A"]}]}"#,
            "extra_operations[0].product",
            "missing",
        ),
        (
            r#"{"extra_operations": [{"product": "ecs", "actions": []}]}"#,
            "extra_operations[0].actions",
            "at least one",
        ),
        (
            r#"{"extra_operations": [{"product": "ecs", "actions": ["Ok", "Not ok"]}]}"#,
            "extra_operations[0].actions[1]",
            "not an action name",
        ),
        (
            r#"{"extra_operations": [{"product": "ecs", "actions": ["A"], "x": 1}]}"#,
            "extra_operations[0].x",
            "unknown field",
        ),
        (r#"{"endpoints": []}"#, "endpoints", "expected an object"),
        (
            r#"{"endpoints": {"api.example": "nope"}}"#,
            "endpoints.\"api.example\"",
            "unknown product",
        ),
        (
            r#"{"endpoints": {"api.example:443": "ecs"}}"#,
            "endpoints.\"api.example:443\"",
            "expected a host name",
        ),
        (
            r#"{"endpoints": {"a*.example": "ecs"}}"#,
            "endpoints.\"a*.example\"",
            "expected a host name",
        ),
        (
            r#"{"endpoints": {"": "ecs"}}"#,
            "endpoints.\"\"",
            "expected a host name",
        ),
        (
            r#"{"endpoints": {"api.example": 3}}"#,
            "endpoints.\"api.example\"",
            "expected a product id",
        ),
    ];
    for (text, path, problem) in cases {
        let err = load(text.as_bytes()).expect_err(text);
        assert_eq!(err.path, *path, "{text}: {err}");
        assert!(err.problem.contains(problem), "{text}: {err}");
        assert!(err.to_string().starts_with(&format!("{path}: ")));
    }
}

/// A replacement list: ECS `RunInstances` and a new product, nothing else.
const LIST: &str = r#"{"source": "a newer list", "published": "2026-06-01",
    "products": [
      {"product": "ecs", "version": "2014-05-26", "hosts": ["ecs"], "operations": ["RunInstances"]},
      {"product": "newprod", "name": "A New Product", "version": "2026-01-01", "hosts": ["newprod"], "operations": "*"}
    ]}"#;

#[test]
fn high_risk_list_replaces_the_embedded_list() {
    // extra_operations before the list in the text: it still adds to the list given.
    let text = format!(
        r#"{{"extra_operations": [{{"product": "ecs", "actions": ["StopInstance"]}}],
             "high_risk_list": {LIST}, "leaked_keys": ["LTAI5tLeakedKeyExample01"]}}"#
    );
    let p = load(text.as_bytes()).unwrap().policy;
    let c = &p.catalog;
    assert!(c.configured);
    assert_eq!(c.published, "2026-06-01");
    let ecs = c.product_index("ecs").unwrap();
    assert!(c.is_listed(ecs, b"RunInstances"));
    assert!(c.is_listed(ecs, b"StopInstance"));
    assert!(!c.is_listed(ecs, b"DeleteInstance"));
    let new = c.product_index("newprod").unwrap();
    assert!(c.products[new].all && c.is_listed_product(new));
    // Products the list no longer names stay known, with nothing listed.
    for gone in ["ram", "dysmsapi", "rds"] {
        let index = c.product_index(gone).unwrap();
        assert!(!c.is_listed_product(index), "{gone}");
    }
    assert_eq!(c.product_for_label("ram"), c.product_index("ram"));
    assert!(p
        .summary()
        .ends_with(" high_risk_list=configured published=2026-06-01 source=\"a newer list\""));
    let embedded = load(b"{}").unwrap().policy;
    assert!(embedded
        .summary()
        .ends_with(" high_risk_list=embedded published=2026-01"));
    assert_ne!(c.digest, embedded.catalog.digest);
}

#[test]
fn rules_use_the_top_level_list_and_cannot_replace_it() {
    let text = format!(
        r#"{{"high_risk_list": {LIST},
             "_rules_": [{{"_match_domain_": ["a.example"], "leaked_keys": ["LTAI5tLeakedKeyExample01"],
                           "extra_operations": [{{"product": "newprod", "actions": ["Extra"]}}]}}]}}"#
    );
    let p = load(text.as_bytes()).unwrap().policy;
    let rule = &p.rules[0].policy;
    assert!(rule.catalog.configured);
    let ecs = rule.catalog.product_index("ecs").unwrap();
    assert!(!rule.catalog.is_listed(ecs, b"DeleteInstance"));
    let new = rule.catalog.product_index("newprod").unwrap();
    assert!(rule.catalog.is_listed(new, b"Extra"));
    // The rule's additions stay the rule's.
    assert!(!p.catalog.is_listed(new, b"Extra"));
    let inner = format!(
        r#"{{"_rules_": [{{"_match_domain_": ["a.example"], "high_risk_list": {LIST}}}]}}"#
    );
    let err = load(inner.as_bytes()).unwrap_err();
    assert_eq!(err.path, "_rules_[0].high_risk_list");
    assert!(err.problem.contains("top level only"), "{err}");
}

#[test]
fn a_bad_high_risk_list_is_refused_naming_the_field() {
    let cases = [
        (r#""list""#, "high_risk_list", "expected an object"),
        (
            r#"{"source": "s", "published": "2026-01"}"#,
            "high_risk_list.products",
            "missing",
        ),
        (
            r#"{"source": "s", "published": "2026-01", "products": [{"product": "ecs", "version": "1", "operations": ["Run Instances"]}]}"#,
            "high_risk_list.products[0].operations[0]",
            "action name",
        ),
        (
            r#"{"source": "s", "published": "soon", "products": [{"product": "ecs", "version": "1", "operations": "*"}]}"#,
            "high_risk_list.published",
            "YYYY-MM",
        ),
    ];
    for (list, path, problem) in cases {
        let text =
            format!(r#"{{"leaked_keys": ["LTAI5tLeakedKeyExample01"], "high_risk_list": {list}}}"#);
        let err = load(text.as_bytes()).unwrap_err();
        assert_eq!(err.path, path, "{err}");
        assert!(err.problem.contains(problem), "{err}");
    }
}

#[test]
fn product_pins_the_product_and_must_be_known() {
    let p = load(br#"{"product": "oss", "_rules_": [{"_match_route_": ["r"], "product": "ecs"}]}"#)
        .unwrap()
        .policy;
    assert_eq!(p.product, p.catalog.product_index("oss"));
    assert_eq!(p.rules[0].policy.product, p.catalog.product_index("ecs"));
    assert!(p.summary().contains(" product=oss "), "{}", p.summary());
    assert_eq!(load(b"{}").unwrap().policy.product, None);
    let err = load(br#"{"product": "nope"}"#).unwrap_err();
    assert_eq!(err.path, "product");
    assert!(err.problem.contains("unknown product \"nope\""), "{err}");
    let err = load(br#"{"product": 3}"#).unwrap_err();
    assert_eq!(err.path, "product");
}

#[test]
fn deny_log_lines_per_second_is_a_bounded_whole_number_at_the_top_level() {
    let p = load(b"{}").unwrap().policy;
    assert_eq!(p.deny_log_lines_per_second, 20);
    assert!(!p.summary().contains("deny_log"), "{}", p.summary());
    let p = load(br#"{"deny_log_lines_per_second": 5}"#).unwrap().policy;
    assert_eq!(p.deny_log_lines_per_second, 5);
    assert!(
        p.summary().contains(" deny_log_lines_per_second=5 "),
        "{}",
        p.summary()
    );
    let p = load(br#"{"deny_log_lines_per_second": 0}"#).unwrap().policy;
    assert_eq!(p.deny_log_lines_per_second, 0);
    for (text, problem) in [
        (
            r#"{"deny_log_lines_per_second": 100001}"#,
            "must be between 0 and 100000, found 100001",
        ),
        (
            r#"{"deny_log_lines_per_second": -1}"#,
            "expected a whole number of lines, found number -1",
        ),
        (
            r#"{"deny_log_lines_per_second": 2.5}"#,
            "expected a whole number of lines, found number 2.5",
        ),
        (
            r#"{"deny_log_lines_per_second": "10"}"#,
            "expected a whole number of lines, found a string",
        ),
    ] {
        let err = load(text.as_bytes()).unwrap_err();
        assert_eq!(err.path, "deny_log_lines_per_second", "{text}");
        assert_eq!(err.problem, problem, "{text}");
    }
    let err = load(
        br#"{"_rules_": [{"_match_domain_": ["a.example"], "deny_log_lines_per_second": 1}]}"#,
    )
    .unwrap_err();
    assert_eq!(err.path, "_rules_[0].deny_log_lines_per_second");
    assert!(err.problem.contains("top level only"), "{err}");
}

#[test]
fn unknown_fields_name_every_field_the_place_takes() {
    let err = load(br#"{"leaked_key": []}"#).unwrap_err();
    let known = err.problem.split("known fields: ").nth(1).unwrap_or("");
    let listed: Vec<&str> = known.trim_end_matches(')').split(", ").collect();
    assert_eq!(listed, FIELDS, "{err}");
    assert!(listed.contains(&"_rules_") && listed.contains(&"high_risk_list"));
    // A rule takes every field but the top-level-only ones.
    let err = load(br#"{"_rules_": [{"_match_route_": ["r"], "leaked_key": []}]}"#).unwrap_err();
    let known = err.problem.split("known fields: ").nth(1).unwrap_or("");
    let listed: Vec<&str> = known.trim_end_matches(')').split(", ").collect();
    let in_a_rule: Vec<&str> = FIELDS
        .iter()
        .copied()
        .filter(|f| {
            ![
                "_rules_",
                "high_risk_list",
                "deny_log_lines_per_second",
                "key_feed",
            ]
            .contains(f)
        })
        .collect();
    assert_eq!(listed, in_a_rule, "{err}");
}

#[test]
fn the_summary_counts_rules_when_there_are_any() {
    let p = load(br#"{"_rules_": [{"_match_route_": ["a"]}, {"_match_domain_": ["b"]}]}"#)
        .unwrap()
        .policy;
    assert!(p.summary().ends_with(" rules=2"), "{}", p.summary());
    let p = load(br#"{"_rules_": []}"#).unwrap().policy;
    assert!(!p.summary().contains("rules="), "{}", p.summary());
}

#[test]
fn syntax_errors_carry_line_and_column() {
    let key = "LTAI5tAb0000000000123456";
    let cases = [
        (
            format!("{{\"leaked_keys\": [\"{key}\",\n  \"{key}\",]}}"),
            "trailing comma (line 2, column 30)",
        ),
        (
            format!("{{\"leaked_keys\": [\"{key}\", \"LTAI5t"),
            "EOF while parsing a string (line 1, column 52)",
        ),
        (
            format!("{{\"leaked_keys\": [\"{key}\""),
            "EOF while parsing a list (line 1, column 43)",
        ),
        (
            format!("{{\"leaked_keys\": [\"{key}\" \"{key}\"]}}"),
            "expected `,` or `]` (line 1, column 45)",
        ),
        (
            "{\"leaked_keys\": [\"LTAI\\q\"]}".to_string(),
            "invalid escape (line 1, column 24)",
        ),
        (
            "{\"leaked_keys_packed\": [\n\"AAAAAAAAAAA=\",\n]}".to_string(),
            "trailing comma (line 3, column 1)",
        ),
        (
            "{\"mode\": \"shadow\",}".to_string(),
            "trailing comma (line 1, column 19)",
        ),
        (
            "{\"mode\": \"shad".to_string(),
            "EOF while parsing a string (line 1, column 14)",
        ),
        (
            "{\"_rules_\": [{\"_match_route_\": [\"a\"],}]}".to_string(),
            "trailing comma (line 1, column 38)",
        ),
    ];
    for (text, problem) in cases {
        let err = load(text.as_bytes()).expect_err(&text);
        assert_eq!(err.path, "configuration", "{text}: {err}");
        assert_eq!(err.problem, format!("not valid JSON: {problem}"), "{text}");
        // The same, read in pieces as the filter reads it.
        let err = load_from(text.as_bytes(), 0).expect_err(&text);
        assert_eq!(err.problem, format!("not valid JSON: {problem}"), "{text}");
    }
}

/// A public key for `key_feed` tests (32 bytes of 7, base64).
const FEED_PUBLIC_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

#[test]
fn accepts_a_key_feed_with_defaults_and_shares_its_slot_with_every_rule() {
    let text = format!(
        r#"{{"key_feed": {{"cluster": "detections", "path": "/akguard/feed", "public_key": "{FEED_PUBLIC_KEY}"}},
            "_rules_": [{{"_match_route_": ["r"], "leaked_keys": ["LTAI5tRuleKey0000001"]}}]}}"#
    );
    let loaded = load(text.as_bytes()).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let p = &loaded.policy;
    let feed = p.key_feed.as_ref().unwrap();
    assert_eq!(feed.cluster, "detections");
    assert_eq!(feed.authority, "detections");
    assert_eq!(feed.path, "/akguard/feed");
    assert_eq!(feed.poll_seconds, key_feed::DEFAULT_POLL_SECONDS);
    assert_eq!(feed.timeout_ms, key_feed::DEFAULT_TIMEOUT_MS);
    assert_eq!(feed.max_bytes, key_feed::DEFAULT_MAX_FEED_BYTES);
    assert_eq!(feed.public_key, [7; 32]);
    assert!(p
        .summary()
        .contains("key_feed=detections/akguard/feed poll_seconds=10"));
    let mut b = crate::core::keyset::KeySetBuilder::default();
    b.add_plain(b"LTAI5tFeedKey01");
    p.feed.replace(std::rc::Rc::new(b.build()));
    let rule_feed = p.rules[0].policy.feed.current().unwrap();
    assert!(rule_feed.contains(b"LTAI5tFeedKey01"));

    let full = format!(
        r#"{{"key_feed": {{"cluster": "c", "path": "/f", "authority": "feed.example", "poll_seconds": 1,
            "timeout_ms": 250, "max_bytes": 1000, "public_key": "{FEED_PUBLIC_KEY}"}}}}"#
    );
    let feed = load(full.as_bytes()).unwrap().policy.key_feed.unwrap();
    assert_eq!(
        (
            feed.authority.as_str(),
            feed.poll_seconds,
            feed.timeout_ms,
            feed.max_bytes
        ),
        ("feed.example", 1, 250, 1000)
    );
}

#[test]
fn rejects_a_bad_key_feed_with_the_field_path() {
    let key = FEED_PUBLIC_KEY;
    let cases: Vec<(String, &str, &str)> = vec![
        (
            r#"{"key_feed": "x"}"#.into(),
            "key_feed",
            "expected an object",
        ),
        (
            format!(r#"{{"key_feed": {{"path": "/f", "public_key": "{key}"}}}}"#),
            "key_feed.cluster",
            "missing",
        ),
        (
            format!(r#"{{"key_feed": {{"cluster": "c", "path": "f", "public_key": "{key}"}}}}"#),
            "key_feed.path",
            "starting with '/'",
        ),
        (
            r#"{"key_feed": {"cluster": "c", "path": "/f", "public_key": "AAAA"}}"#.into(),
            "key_feed.public_key",
            "expected 32 bytes, found 3",
        ),
        (
            r#"{"key_feed": {"cluster": "c", "path": "/f"}}"#.into(),
            "key_feed.public_key",
            "missing",
        ),
        (
            format!(
                r#"{{"key_feed": {{"cluster": "c", "path": "/f", "public_key": "{key}", "poll_seconds": 0}}}}"#
            ),
            "key_feed.poll_seconds",
            "between 1 and 86400, found 0",
        ),
        (
            format!(
                r#"{{"key_feed": {{"cluster": "c", "path": "/f", "public_key": "{key}", "timeout_ms": "1"}}}}"#
            ),
            "key_feed.timeout_ms",
            "expected a whole number, found a string",
        ),
        (
            format!(
                r#"{{"key_feed": {{"cluster": "c", "path": "/f", "public_key": "{key}", "max_bytes": 1e12}}}}"#
            ),
            "key_feed.max_bytes",
            "expected a whole number",
        ),
        (
            format!(r#"{{"key_feed": {{"cluster": 7, "path": "/f", "public_key": "{key}"}}}}"#),
            "key_feed.cluster",
            "expected a string, found number 7",
        ),
        (
            format!(
                r#"{{"key_feed": {{"cluster": "c", "path": "/f", "public_key": "{key}", "url": "x"}}}}"#
            ),
            "key_feed.url",
            "unknown field",
        ),
        (
            format!(
                r#"{{"_rules_": [{{"_match_route_": ["r"], "key_feed": {{"cluster": "c", "path": "/f", "public_key": "{key}"}}}}]}}"#
            ),
            "_rules_[0].key_feed",
            "top level only",
        ),
    ];
    for (text, path, problem) in &cases {
        let err = load(text.as_bytes()).expect_err(text);
        assert_eq!(err.path, *path, "{text}: {err}");
        assert!(err.problem.contains(problem), "{text}: {err}");
    }
}
