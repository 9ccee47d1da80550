//! Every hostile generator (`tests/hostile/`) through the native policy core: the check's
//! per-request state stays within 16 KiB whatever it reads, its verdict does not depend on how
//! the body is cut into chunks, and the verdicts are the ones the rules give. How long each
//! takes is measured by `cargo bench --bench hostile`, not here.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod hostile;

use akguard::core::check::{RequestCheck, Step};
use akguard::core::config::{self, Policy};
use hostile::{Hostile, CLEAN, CONFIG, LEAKED, MIB};

/// The bound on a check's state, beyond the chunk being read.
const STATE_BOUND: usize = 16 * 1024;

fn policy() -> Policy {
    config::load(CONFIG.as_bytes()).unwrap().policy
}

/// `allow` or `deny <rule>`, and the most state the check held between chunks.
fn run(
    policy: &Policy,
    headers: &[(String, Vec<u8>)],
    body: &[u8],
    chunk: usize,
) -> (String, usize) {
    let started = RequestCheck::start(policy, headers, body.is_empty());
    let mut step = started.step;
    let mut most = 0;
    if let (Step::ReadBody, Some(mut check)) = (&step, started.check) {
        most = check.state_bytes();
        let chunks: Vec<&[u8]> = body.chunks(chunk).collect();
        for (i, piece) in chunks.iter().enumerate() {
            step = check.body(policy, piece, i + 1 == chunks.len());
            most = most.max(check.state_bytes());
            if step != Step::ReadBody {
                break;
            }
        }
    }
    let verdict = match step {
        Step::Allow => "allow".to_string(),
        Step::ReadBody => "still reading".to_string(),
        Step::Deny(denial) => format!("deny {}", denial.rule.label()),
    };
    (verdict, most)
}

/// Runs one request whole, in 64 KiB chunks and in 1,000-byte chunks: the verdicts agree and
/// the state stays within the bound. Returns the verdict; prints the most state held.
fn checked(policy: &Policy, case: &Hostile, key: Option<&str>, action: &str) -> String {
    let headers = case.header_pairs(key, action);
    let (whole, mut most) = run(policy, &headers, &case.body, usize::MAX);
    for chunk in [64 * 1024, 1000] {
        let (verdict, state) = run(policy, &headers, &case.body, chunk);
        assert_eq!(
            verdict, whole,
            "{} with key {key:?}: {chunk}-byte chunks give another verdict",
            case.name
        );
        most = most.max(state);
    }
    println!(
        "{:<26} key {:<7} {:<24} state at most {most:>6} bytes",
        case.name,
        match key {
            Some(LEAKED) => "leaked",
            Some(_) => "clean",
            None => "none",
        },
        whole
    );
    assert!(
        most <= STATE_BOUND,
        "{} with key {key:?}: the check held {most} bytes",
        case.name
    );
    whole
}

/// Each case with a leaked key and a harmless action, a clean key and a listed action, and
/// no key and a listed action: the verdicts `want` names, case by case.
fn each_as_wanted(cases: &[Hostile], want: &[(&str, [&str; 3])]) {
    let policy = policy();
    assert_eq!(cases.len(), want.len());
    for (case, (name, verdicts)) in cases.iter().zip(want) {
        assert_eq!(case.name, *name);
        let got = [
            checked(&policy, case, Some(LEAKED), "DescribeRegions"),
            checked(&policy, case, Some(CLEAN), "RunInstances"),
            checked(&policy, case, None, "RunInstances"),
        ];
        assert_eq!(got, *verdicts, "{name}");
    }
}

#[test]
fn hostile_bodies_keep_the_state_bounded_and_decide_by_the_rules() {
    let want: &[(&str, [&str; 3])] = &[
        // name: [leaked key + harmless action, clean key + listed action, no key + listed action]
        ("plain-form", ["allow", "allow", "allow"]),
        (
            "plain-large-value",
            ["deny listed-action", "allow", "allow"],
        ),
        ("distinct-actions", ["allow", "allow", "allow"]),
        ("distinct-key-tokens", ["allow", "allow", "allow"]),
        // Each value holds the token `AccessKeyId`, a reading of a key's length: past the
        // digest lookups of one request.
        (
            "long-key-values",
            ["allow", "deny too-many-keys", "deny too-many-keys"],
        ),
        (
            "cut-values",
            [
                "deny unreadable-action",
                "deny listed-action",
                "deny listed-action",
            ],
        ),
        (
            "digest-tokens",
            ["allow", "deny too-many-keys", "deny too-many-keys"],
        ),
        // An action read with `%` left in it cannot be read with certainty; each distinct key
        // value's readings are key-length.
        (
            "triple-encoded",
            [
                "deny unreadable-action",
                "deny too-many-keys",
                "deny too-many-keys",
            ],
        ),
        (
            "encoded-actions",
            ["deny unreadable-action", "allow", "allow"],
        ),
        // Without `&`, the `&` reading is one action value, cut short; the `;` reading's
        // key values are distinct and key-length.
        (
            "semicolons",
            [
                "deny unreadable-action",
                "deny too-many-keys",
                "deny too-many-keys",
            ],
        ),
        ("long-names", ["allow", "allow", "allow"]),
        ("distinct-versions", ["allow", "allow", "allow"]),
        ("equals-and-separators", ["allow", "allow", "allow"]),
    ];
    let cases: Vec<Hostile> = [hostile::plain_form(MIB), hostile::plain_large_value(MIB)]
        .into_iter()
        .chain(hostile::bodies(MIB))
        .collect();
    each_as_wanted(&cases, want);
}

#[test]
fn hostile_headers_keep_the_state_bounded_and_decide_by_the_rules() {
    let want: &[(&str, [&str; 3])] = &[
        ("plain-header", ["allow", "allow", "allow"]),
        (
            "x-acs-action-list",
            ["deny unreadable-action", "allow", "allow"],
        ),
        // Short labels: some are products' host codes, more than a request keeps.
        ("host-list", ["deny too-many-hosts", "allow", "allow"]),
        (
            "credential-list",
            ["allow", "deny too-many-keys", "deny too-many-keys"],
        ),
        (
            "access-key-header-tokens",
            ["allow", "deny too-many-keys", "deny too-many-keys"],
        ),
    ];
    let size = 60 * 1024;
    let cases: Vec<Hostile> = std::iter::once(hostile::plain_header(size))
        .chain(hostile::headers(size))
        .collect();
    each_as_wanted(&cases, want);
}
