//! Shared by the fuzz targets: the wire reader and the reference decoder of the test suite, a
//! fixed policy, and one request's verdict under a given body chunking.

#[path = "../../tests/evasion/mod.rs"]
pub mod evasion;

pub use evasion::{reference, wire};

use akguard::core::check::{RequestCheck, Step};
use akguard::core::config::{self, Policy};

/// The policy the request target checks against: the evasion suite's leaked keys.
pub fn policy() -> Option<Policy> {
    let text = concat!(
        r#"{"leaked_keys": ["LTAI5tLeakedKey000000001", "STS.LeakedTemporaryKey01", "#,
        r#""sha256:cf34c8cebd99901fb465d8acfd92bd2586d2d3bfb016b9f602afd51cd53f9119", "#,
        r#""LTAI0123456789ab", "K9x"], "max_body_bytes": 2048}"#
    );
    config::load(text.as_bytes())
        .ok()
        .map(|loaded| loaded.policy)
}

/// `allow`, `deny <status>` or `read`: the verdict, without the rule (an early deny may name
/// another rule than a late one; the verdict and status never change with the chunking).
pub fn verdict(policy: &Policy, headers: &[(String, Vec<u8>)], chunks: &[&[u8]]) -> String {
    let started = RequestCheck::start(policy, headers, chunks.is_empty());
    let mut step = started.step;
    if let (Step::ReadBody, Some(mut check)) = (&step, started.check) {
        for (i, chunk) in chunks.iter().enumerate() {
            step = check.body(policy, chunk, i + 1 == chunks.len());
            if step != Step::ReadBody {
                break;
            }
        }
    }
    match step {
        Step::Allow => "allow".into(),
        Step::ReadBody => "read".into(),
        Step::Deny(denial) => {
            let reply = denial.reply("fuzz");
            let _ = denial.log_line("fuzz");
            format!("deny {}", reply.status)
        }
    }
}

/// The plain reading of a request, as a server that decodes each parameter once would read
/// it (`url::form_urlencoded`, names exactly as written): true when it calls a listed operation
/// of the host's product, or any operation of an all-operations product, with the leaked
/// `LTAI5tLeakedKey000000001`. The check must deny such a request whatever else it holds.
pub fn plainly_leaked_listed_call(
    policy: &Policy,
    headers: &[(String, Vec<u8>)],
    body: &[u8],
) -> bool {
    use akguard::core::endpoints::{normalize_host, resolve};
    use akguard::core::request::{body_may_carry_params, query_of};
    const LEAKED: &[u8] = b"LTAI5tLeakedKey000000001";
    let mut lists: Vec<&[u8]> = Vec::new();
    let mut keyed = false;
    let mut actions: Vec<Vec<u8>> = Vec::new();
    let mut products = Vec::new();
    for (name, value) in headers {
        match name.as_str() {
            ":path" => lists.extend(query_of(value)),
            ":authority" | "host" => products.push(resolve(
                &policy.catalog,
                &policy.endpoints,
                &normalize_host(value),
            )),
            "x-acs-accesskey-id" => keyed |= value.as_slice() == LEAKED,
            "x-acs-action" => actions.push(value.clone()),
            _ => {}
        }
    }
    if body_may_carry_params(headers) {
        lists.push(body);
    }
    for list in lists {
        for (name, value) in url::form_urlencoded::parse(list) {
            match name.as_ref() {
                "AccessKeyId" => keyed |= value.as_bytes() == LEAKED,
                "Action" => actions.push(value.as_bytes().to_vec()),
                _ => {}
            }
        }
    }
    keyed
        && products.iter().flatten().any(|&product| {
            policy.catalog.products.get(product).is_some_and(|p| p.all)
                || actions.iter().any(|a| policy.catalog.is_listed(product, a))
        })
}
