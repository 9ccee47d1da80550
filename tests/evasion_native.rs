//! The evasion suite (`tests/evasion/*.txt`) through the native policy core, driven the way
//! the filter drives it. A request with a body is run with the body whole, split in two at
//! every byte, and one byte a chunk: the verdict must not change.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod evasion;

use akguard::core::check::{RequestCheck, Step};
use akguard::core::config::{self, Policy};
use evasion::{check, load_cases, wire, Case, Outcome, Variant};
use std::collections::HashMap;

/// Bodies up to this length are also split in two at every byte.
const SPLIT_EVERY_BYTE_UP_TO: usize = 4096;

fn run(policy: &Policy, headers: &[(String, Vec<u8>)], chunks: &[&[u8]]) -> Outcome {
    let started = RequestCheck::start(policy, headers, chunks.is_empty());
    let mut step = started.step;
    if step == Step::ReadBody {
        let mut check = started.check.expect("a check to read the body with");
        for (i, chunk) in chunks.iter().enumerate() {
            step = check.body(policy, chunk, i + 1 == chunks.len());
            if step != Step::ReadBody {
                break;
            }
        }
    }
    match step {
        Step::Allow => Outcome {
            verdict: "allow".into(),
            ..Outcome::default()
        },
        Step::ReadBody => Outcome {
            verdict: "still reading at the end of the body".into(),
            ..Outcome::default()
        },
        Step::Deny(denial) => {
            let reply = denial.reply("generated-request-id");
            Outcome {
                verdict: "deny".into(),
                rule: Some(denial.rule.label().into()),
                status: Some(reply.status),
                body: Some(reply.body),
            }
        }
    }
}

/// Every chunking of `body` the runner tries, the whole body first.
fn chunkings(body: &[u8]) -> Vec<Vec<&[u8]>> {
    if body.is_empty() {
        return vec![vec![]];
    }
    let mut all = vec![vec![body]];
    if body.len() <= SPLIT_EVERY_BYTE_UP_TO {
        for at in 1..body.len() {
            let (a, b) = body.split_at(at);
            all.push(vec![a, b]);
        }
        all.push(body.chunks(1).collect());
    } else {
        all.push(body.chunks(1000).collect());
        all.push(body.chunks(4099).collect());
    }
    all
}

fn run_case(case: &Case, variant: Variant, policy: &Policy) -> Result<usize, String> {
    let raw = case.wire(variant);
    let request =
        wire::parse(&raw).ok_or_else(|| format!("{}: unreadable", case.title(variant)))?;
    let headers = request.headers();
    let mut runs = 0;
    for (i, chunks) in chunkings(&request.body).into_iter().enumerate() {
        let mut got = run(policy, &headers, &chunks);
        if i > 0 {
            // An early deny may name another rule than a whole-body one; the verdict holds.
            got.rule = None;
        }
        check(case, variant, &got).map_err(|e| {
            let sizes: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
            format!("{e} [body chunks {sizes:?}]")
        })?;
        runs += 1;
    }
    Ok(runs)
}

#[test]
fn evasion_suite_native() {
    let cases = load_cases();
    assert!(cases.len() >= 100, "only {} evasion cases", cases.len());
    let mut policies: HashMap<String, Policy> = HashMap::new();
    let mut failures = Vec::new();
    let mut runs = 0;
    for case in &cases {
        let text = case.config_text().to_string();
        let policy = policies.entry(text.clone()).or_insert_with(|| {
            config::load(text.as_bytes())
                .unwrap_or_else(|e| panic!("case {:?}: config rejected: {e}", case.name))
                .policy
        });
        for variant in Variant::BOTH {
            match run_case(case, variant, policy) {
                Ok(n) => runs += n,
                Err(e) => failures.push(e),
            }
        }
    }
    println!(
        "{} cases, {} clean twins, {runs} runs",
        cases.len(),
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} failing of {}:\n{}",
        failures.len(),
        cases.len() * 2,
        failures.join("\n")
    );
}
