//! Properties every input must keep, shared by the fuzz targets (`fuzz/`) and the replay of
//! their corpora in `cargo test`: a raw request is checked without panicking, with the same
//! verdict whatever its body chunking, and denied whenever its plain reading calls a listed
//! operation with the leaked key; a parameter list reads the same whatever its chunking and
//! agrees with `url::form_urlencoded`; a configuration loads the same way twice.

use super::reference::{core_all_readings, disagreement};
use super::wire;
use akguard::core::authorization::keys_in;
use akguard::core::body_kind::{body_kind, BodyKind};
use akguard::core::check::{RequestCheck, Step};
use akguard::core::config::{self, Policy};
use akguard::core::endpoints::normalize_host;
use akguard::core::request::{head_items, hosts_in, keys_in_head};

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
    use akguard::core::endpoints::resolve;
    use akguard::core::request::query_of;
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
    if body_kind(headers) == BodyKind::Form {
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

/// The request extractor's properties on any bytes (a raw HTTP/1.1 request, or not).
pub fn check_request(data: &[u8]) -> Result<(), String> {
    keys_in(data, &mut |_| {});
    let _ = normalize_host(data);
    let policy = policy().ok_or("the fixed policy loads")?;
    let Some(request) = wire::parse(data) else {
        return Ok(());
    };
    let headers = request.headers();
    keys_in_head(&headers, &mut |_, _| {});
    head_items(&headers, &mut |_| {});
    hosts_in(&headers, &mut |_| {});
    let _ = body_kind(&headers);
    let body = request.body.as_slice();
    let whole: Vec<&[u8]> = if body.is_empty() { vec![] } else { vec![body] };
    let want = verdict(&policy, &headers, &whole);
    if plainly_leaked_listed_call(&policy, &headers, body) && !want.starts_with("deny") {
        return Err(format!("a plain leaked listed call got {want}"));
    }
    if body.len() > 1 {
        let at = usize::from(data.first().copied().unwrap_or_default()) % body.len();
        let (a, b) = body.split_at(at);
        let split = verdict(&policy, &headers, &[a, b]);
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        let one_byte = verdict(&policy, &headers, &bytes);
        if split != want || one_byte != want {
            return Err(format!(
                "whole body: {want}; split at {at}: {split}; one byte a chunk: {one_byte}"
            ));
        }
    }
    Ok(())
}

/// The form scanner's properties on a chunking byte followed by a parameter list.
pub fn check_form(data: &[u8]) -> Result<(), String> {
    let Some((&split, input)) = data.split_first() else {
        return Ok(());
    };
    let whole = core_all_readings(&[input]);
    if !input.is_empty() {
        let at = usize::from(split) % input.len();
        let (a, b) = input.split_at(at);
        if core_all_readings(&[a, b]) != whole {
            return Err(format!("readings change when split at {at}"));
        }
        let step = usize::from(split % 7) + 1;
        let pieces: Vec<&[u8]> = input.chunks(step).collect();
        if core_all_readings(&pieces) != whole {
            return Err(format!("readings change in chunks of {step}"));
        }
    }
    disagreement(input).map_or(Ok(()), Err)
}

/// The configuration parser's properties on any bytes: the same answer twice, and an
/// accepted configuration checks a request.
pub fn check_config(data: &[u8]) -> Result<(), String> {
    match (config::load(data), config::load(data)) {
        (Ok(a), Ok(b)) => {
            if a.warnings != b.warnings {
                return Err("the same configuration warned differently".into());
            }
            let headers = vec![
                (":authority".to_string(), b"ecs.aliyuncs.com".to_vec()),
                (
                    ":path".to_string(),
                    b"/?Action=RunInstances&AccessKeyId=LTAI5tLeakedKey000000001".to_vec(),
                ),
                (
                    "content-type".to_string(),
                    b"application/x-www-form-urlencoded".to_vec(),
                ),
            ];
            let _ = verdict(&a.policy, &headers, &[b"AccessKeyId=x&Action=y"]);
            Ok(())
        }
        (Err(a), Err(b)) if a == b => Ok(()),
        (a, b) => Err(format!(
            "loaded twice: {:?} then {:?}",
            a.map(|_| ()),
            b.map(|_| ())
        )),
    }
}
