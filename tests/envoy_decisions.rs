//! The decision table (`tests/cases/decisions.json`) through a real Envoy, over HTTP/1.1 and
//! h2c: every request style, form bodies in several chunks (chunked transfer encoding with
//! pauses), both reply formats; plus large form bodies.
//!
//! One Envoy serves every case: one listener per distinct configuration, each with
//! `"hold_headers": true` in front of a `direct_response` upstream (so a form body is read
//! before Envoy's own answer). The rule of a deny or shadow-deny is read from akguard's log
//! line, found by request id. `akguard explain`, given each case as a raw request and the
//! same configuration, must reach Envoy's verdict and rule, case by case.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod cli_support;
mod common;
mod envoy;

use common::{check, format_of, load_table, Case, Expect, Outcome, Request as CaseRequest};
use envoy::bootstrap::{bootstrap, direct_listener, UPSTREAM_BODY};
use envoy::client::{send, Body, Request, Response, Version};
use envoy::{Envoy, Options};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

const PAUSE: Duration = Duration::from_millis(30);

/// The configuration with `"hold_headers": true` added, and a deny log allowance a second
/// past the table's size: the test reads every case's own deny line.
fn holding(config_text: &str) -> String {
    let mut value: Value = if config_text.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_str(config_text).expect("a JSON configuration")
    };
    value
        .as_object_mut()
        .expect("a configuration object")
        .insert("hold_headers".into(), Value::Bool(true));
    if let Some(object) = value.as_object_mut() {
        object.insert("deny_log_lines_per_second".into(), Value::from(100_000));
    }
    value.to_string()
}

fn to_request(case: &CaseRequest, request_id: &str) -> Request {
    let mut headers = case.headers.clone();
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("x-request-id"))
    {
        headers.push(("x-request-id".into(), request_id.into()));
    }
    let chunks = case.chunks();
    let body = match chunks.len() {
        0 => Body::None,
        1 => Body::Whole(chunks[0].clone()),
        _ => Body::Chunks(chunks, PAUSE),
    };
    Request {
        method: case.method.clone(),
        authority: case.authority.clone(),
        path: case.path.clone(),
        headers,
        body,
    }
}

/// akguard's deny or shadow-deny line for a request id: `(event, rule)`.
fn logged_decision(log: &str, request_id: &str) -> Option<(String, String)> {
    let tail = format!("request_id={request_id}");
    let line = log.lines().find(|l| {
        (l.contains("akguard deny:") || l.contains("akguard shadow-deny:")) && l.ends_with(&tail)
    })?;
    let event = if line.contains("akguard deny:") {
        "deny"
    } else {
        "shadow-deny"
    };
    let rule = line.split(" rule=").nth(1)?.split(' ').next()?;
    Some((event.into(), rule.into()))
}

fn outcome(response: &Response, logged: Option<(String, String)>) -> Outcome {
    let mut outcome = Outcome {
        decided_at: "(not observable through Envoy)".into(),
        ..Outcome::default()
    };
    let from_upstream = response.status == 200 && response.body == UPSTREAM_BODY;
    match (from_upstream, logged) {
        (true, None) => outcome.verdict = "allow".into(),
        (true, Some((event, rule))) => {
            outcome.verdict = if event == "shadow-deny" {
                event
            } else {
                "deny logged but the upstream answered".into()
            };
            outcome.rule = Some(rule);
        }
        (false, logged) => {
            outcome.verdict = match &logged {
                Some((event, _)) if event == "deny" => "deny".into(),
                _ => format!("status {} without a deny log line", response.status),
            };
            outcome.rule = logged.map(|(_, rule)| rule);
            outcome.status = Some(u32::from(response.status));
            outcome.format = response.header("content-type").map(format_of);
            outcome.request_id = response
                .header("x-acs-request-id")
                .or_else(|| response.header("x-oss-request-id"))
                .map(String::from);
            outcome.body = Some(response.body.clone());
        }
    }
    outcome
}

/// The case's expectation without `decided_at`, which Envoy does not show.
fn without_phase(case: &Case) -> Case {
    let e = &case.expect;
    Case {
        name: case.name.clone(),
        config: None,
        request: CaseRequest {
            method: case.request.method.clone(),
            authority: case.request.authority.clone(),
            path: case.request.path.clone(),
            headers: case.request.headers.clone(),
            body: case.request.body.clone(),
        },
        expect: Expect {
            verdict: e.verdict.clone(),
            rule: e.rule.clone(),
            status: e.status,
            format: e.format.clone(),
            decided_at: None,
            request_id: e.request_id.clone(),
        },
    }
}

#[test]
fn decision_table_over_http1_and_h2c() {
    let table = load_table();
    let mut listener_of: BTreeMap<String, String> = BTreeMap::new();
    for case in &table.cases {
        let text = holding(&case.config_text(&table));
        let next = format!("config{}", listener_of.len());
        listener_of.entry(text).or_insert(next);
    }
    let listeners = listener_of
        .iter()
        .map(|(text, name)| direct_listener(name, text, true))
        .collect();
    let envoy = Envoy::start(
        &bootstrap(listeners, vec![]),
        &Options {
            tag: "decisions".into(),
            ..Options::default()
        },
    );
    let mut sent = Vec::new();
    for version in [Version::Http1, Version::H2c] {
        for (i, case) in table.cases.iter().enumerate() {
            let listener = &listener_of[&holding(&case.config_text(&table))];
            let id = format!("case-{version:?}-{i}");
            let request = to_request(&case.request, &id);
            let response = send(version, envoy.port(listener), &request);
            let request_id = case
                .request
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("x-request-id"))
                .map_or(id, |(_, v)| v.clone());
            sent.push((version, case, request_id, response));
        }
    }
    // Every deny and shadow-deny is logged before the reply; wait for the last one to show.
    let (_, _, last_id, _) = sent
        .iter()
        .rev()
        .find(|(_, c, _, _)| c.expect.verdict != "allow")
        .expect("a denied case");
    envoy.wait_log_line(&[&format!("request_id={last_id}")]);
    let log = envoy.log();
    let mut failures = Vec::new();
    for (version, case, request_id, response) in &sent {
        let got = outcome(response, logged_decision(&log, request_id));
        if let Err(e) = check(&without_phase(case), &got) {
            failures.push(format!("{version:?} {e}"));
        }
    }
    assert_eq!(sent.len(), table.cases.len() * 2);
    assert!(
        failures.is_empty(),
        "{} of {} failing:\n{}",
        failures.len(),
        sent.len(),
        failures.join("\n")
    );
    let explained = explain_table(&table);
    let mut disagreements = Vec::new();
    for (version, case, request_id, response) in &sent {
        let got = outcome(response, logged_decision(&log, request_id));
        let index = table
            .cases
            .iter()
            .position(|c| std::ptr::eq(c, *case))
            .unwrap();
        let envoy_says = (got.verdict.clone(), got.rule.clone());
        if explained[index] != envoy_says {
            disagreements.push(format!(
                "{version:?} case {:?}: envoy {envoy_says:?}, explain {:?}",
                case.name, explained[index]
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "explain and Envoy disagree:\n{}",
        disagreements.join("\n")
    );
}

/// `akguard explain`'s verdict and rule for each case, with the configuration Envoy has.
fn explain_table(table: &common::Table) -> Vec<(String, Option<String>)> {
    let dir = cli_support::scratch("explain-envoy-table");
    table
        .cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let config = cli_support::write(
                &dir,
                &format!("config{i}.json"),
                holding(&case.config_text(table)),
            );
            let request = cli_support::write(
                &dir,
                &format!("request{i}.http"),
                common::raw_http1(&case.request),
            );
            let run = cli_support::run_in(
                &dir,
                &[
                    "explain",
                    "--config",
                    config.to_str().unwrap(),
                    "--raw",
                    request.to_str().unwrap(),
                ],
                None,
            );
            let verdict = match run.code {
                0 => "allow".to_string(),
                3 => "deny".into(),
                4 => "shadow-deny".into(),
                code => format!("exit {code}: {}", run.stderr),
            };
            let rule = run.stdout.lines().find_map(|line| {
                let rest = line.strip_prefix("rule:     ")?;
                Some(rest.split(':').next()?.to_string())
            });
            (verdict, rule)
        })
        .collect()
}

/// A form body of about `size` bytes: padding parameters, with `tail` appended.
fn padded_form(size: usize, head: &str, tail: &str) -> Vec<u8> {
    let mut body = head.as_bytes().to_vec();
    let mut i = 0;
    while body.len() < size {
        body.extend_from_slice(format!("&Pad{i}=").as_bytes());
        body.extend(std::iter::repeat_n(b'x', 1000));
        i += 1;
    }
    body.extend_from_slice(tail.as_bytes());
    body
}

fn in_chunks(body: &[u8], pieces: usize) -> Vec<Vec<u8>> {
    body.chunks(body.len().div_ceil(pieces))
        .map(<[u8]>::to_vec)
        .collect()
}

fn form_post(body: Body) -> Request {
    Request {
        method: "POST".into(),
        authority: "ecs.cn-hangzhou.aliyuncs.com".into(),
        path: "/".into(),
        headers: vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body,
    }
}

#[test]
fn large_form_bodies() {
    let leaked = "LTAI5tLeakedKey000000001";
    let config = format!(
        r#"{{"leaked_keys": ["{leaked}"], "hold_headers": true, "max_body_bytes": 262144}}"#
    );
    let envoy = Envoy::start(
        &bootstrap(vec![direct_listener("large", &config, true)], vec![]),
        &Options {
            tag: "large".into(),
            ..Options::default()
        },
    );
    let port = envoy.port("large");
    let clean = padded_form(
        200_000,
        "AccessKeyId=LTAI5tCleanKey0000000001",
        "&Action=RunInstances",
    );
    let leaked_late = padded_form(
        200_000,
        &format!("AccessKeyId={leaked}"),
        "&Action=RunInstances",
    );
    let too_large = padded_form(300_000, "Action=DescribeRegions", "");
    for version in [Version::Http1, Version::H2c] {
        for (name, body, status, code) in [
            ("clean key", &clean, 200, UPSTREAM_BODY),
            (
                "leaked key, action at the end",
                &leaked_late,
                403,
                "Forbidden",
            ),
            (
                "past max_body_bytes",
                &too_large,
                413,
                "RequestBodyTooLarge",
            ),
        ] {
            for request in [
                form_post(Body::Whole(body.clone())),
                form_post(Body::Chunks(in_chunks(body, 8), Duration::from_millis(10))),
            ] {
                let response = send(version, port, &request);
                assert_eq!(
                    response.status,
                    status,
                    "{version:?} {name} ({} bytes): {}",
                    body.len(),
                    response.body
                );
                assert!(
                    response.body.contains(code),
                    "{version:?} {name}: {}",
                    response.body
                );
            }
        }
    }
    // Per version: two 403s and two 413s, whole and chunked.
    assert_eq!(envoy.stat("wasmcustom.akguard.body_too_large"), 4);
    assert_eq!(envoy.stat("wasmcustom.akguard.denied"), 8);
}

#[test]
fn raw_chunked_body_with_extensions_and_parameters_split_across_chunks() {
    let config = r#"{"leaked_keys": ["LTAI5tLeakedKey000000001"], "hold_headers": true}"#;
    let envoy = Envoy::start(
        &bootstrap(vec![direct_listener("raw", config, true)], vec![]),
        &Options {
            tag: "raw".into(),
            ..Options::default()
        },
    );
    let port = envoy.port("raw");
    let request = |key: &str| {
        let pieces = [
            "Format=XML&AccessKeyId=LTAI5t".to_string(),
            format!("{}&Act", &key[6..]),
            "ion=RunInst".to_string(),
            "ances".to_string(),
        ];
        let mut raw = String::from(
            "POST / HTTP/1.1\r\nHOST: ecs.cn-hangzhou.aliyuncs.com\r\nConTent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        );
        for piece in &pieces {
            raw.push_str(&format!("{:X};note=\"x\"\r\n{piece}\r\n", piece.len()));
        }
        raw.push_str("0\r\n\r\n");
        raw
    };
    let denied = envoy::client::send_raw(port, request("LTAI5tLeakedKey000000001").as_bytes())
        .expect("a reply");
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert!(
        denied.body.contains("<Code>Forbidden</Code>"),
        "{}",
        denied.body
    );
    let passed = envoy::client::send_raw(port, request("LTAI5tCleanKey0000000001").as_bytes())
        .expect("a reply");
    assert_eq!(passed.status, 200, "{}", passed.body);
    assert_eq!(passed.body, UPSTREAM_BODY);
}
