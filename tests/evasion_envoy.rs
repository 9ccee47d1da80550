//! The evasion suite (`tests/evasion/*.txt`) through a real Envoy with the release module:
//! each case's request is written to Envoy's listener byte for byte (plus `x-request-id` and
//! `connection: close`), with its body whole and, for form bodies, again in chunked transfer
//! encoding of 7-byte chunks. One Envoy serves every case: one listener per configuration,
//! `"hold_headers": true`, in front of a `direct_response` upstream, so a request that passes
//! is answered by the upstream and a denied one by akguard. Cases marked `envoy: rejects` must
//! get Envoy's own `400`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;
mod evasion;

use envoy::bootstrap::{bootstrap, direct_listener, UPSTREAM_BODY};
use envoy::client::send_raw;
use envoy::{Envoy, Options};
use evasion::wire::WireRequest;
use evasion::{check, load_cases, wire, Outcome, Variant};
use serde_json::Value;
use std::collections::BTreeMap;

/// The configuration with `"hold_headers": true` added.
fn holding(config_text: &str) -> String {
    let mut value: Value = serde_json::from_str(config_text).expect("a JSON configuration");
    value
        .as_object_mut()
        .expect("a configuration object")
        .insert("hold_headers".into(), Value::Bool(true));
    value.to_string()
}

/// The request with its body in chunked transfer encoding, 7 bytes a chunk.
fn chunked(request: &WireRequest) -> Vec<u8> {
    let mut head = request.clone();
    head.fields
        .retain(|(n, _)| !n.eq_ignore_ascii_case(b"content-length"));
    head.fields
        .push((b"Transfer-Encoding".to_vec(), b"chunked".to_vec()));
    head.body.clear();
    let mut raw = head.to_bytes();
    for piece in request.body.chunks(7) {
        raw.extend_from_slice(format!("{:X}\r\n", piece.len()).as_bytes());
        raw.extend_from_slice(piece);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    raw
}

fn outcome(status: u16, body: String) -> Outcome {
    if status == 200 && body == UPSTREAM_BODY {
        Outcome {
            verdict: "allow".into(),
            ..Outcome::default()
        }
    } else {
        Outcome {
            verdict: if status == 403 { "deny" } else { "answered" }.into(),
            rule: None,
            status: Some(u32::from(status)),
            body: Some(body),
        }
    }
}

#[test]
fn evasion_suite_through_envoy() {
    let cases = load_cases();
    assert!(cases.len() >= 100, "only {} evasion cases", cases.len());
    let mut listeners: BTreeMap<String, String> = BTreeMap::new();
    for case in &cases {
        let next = format!("evasion{}", listeners.len());
        listeners
            .entry(case.config_text().to_string())
            .or_insert(next);
    }
    let envoy = Envoy::start(
        &bootstrap(
            listeners
                .iter()
                .map(|(config, name)| direct_listener(name, &holding(config), true))
                .collect(),
            vec![],
        ),
        &Options {
            tag: "evasion".into(),
            ..Options::default()
        },
    );
    let mut failures = Vec::new();
    let mut sent = 0;
    let mut rejected = 0;
    for case in &cases {
        let port = envoy.port(&listeners[case.config_text()]);
        for variant in Variant::BOTH {
            let mut request = wire::parse(&case.wire(variant)).expect("a case request parses");
            request.fields.push((
                b"x-request-id".to_vec(),
                format!("evasion-{sent}").into_bytes(),
            ));
            request
                .fields
                .push((b"Connection".to_vec(), b"close".to_vec()));
            let mut ways = vec![("whole", request.to_bytes())];
            if !request.body.is_empty() {
                ways.push(("chunked", chunked(&request)));
            }
            for (way, raw) in ways {
                sent += 1;
                let response = send_raw(port, &raw)
                    .unwrap_or_else(|e| panic!("{}: no reply: {e}", case.title(variant)));
                if case.envoy_rejects {
                    rejected += 1;
                    if response.status != 400 {
                        failures.push(format!(
                            "{}: Envoy answered {} {:?}, want its own 400 [{way}]",
                            case.title(variant),
                            response.status,
                            response.body
                        ));
                    }
                    continue;
                }
                let got = outcome(response.status, response.body);
                if let Err(e) = check(case, variant, &got) {
                    failures.push(format!("{e} [{way}]"));
                }
            }
        }
    }
    println!(
        "{} cases and their clean twins, {sent} requests, {rejected} rejected by Envoy itself",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} failing:\n{}\nEnvoy log tail:\n{}",
        failures.len(),
        failures.join("\n"),
        envoy.log_tail(20)
    );
    let accepted = (sent - rejected) as u64;
    assert_eq!(
        envoy.settled_stat("wasmcustom.akguard.requests_checked", accepted),
        accepted,
        "every request Envoy accepted reached akguard"
    );
}
