//! The signed key feed through the release module under the wasm harness, driven as Envoy
//! drives it: ticks, the outgoing call the root context makes, and its response. The same
//! source behaviours as in Envoy (`tests/envoy_feed.rs`): a new set, a 304, a bad signature,
//! an older replayed set, a call that fails, a 500, a timeout, a body past `max_bytes`, a
//! malformed document, each asserted with what stays in force, the counters and the log;
//! and a second root context that takes the set from shared data instead of asking.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod harness;

use akguard::core::feed::{self, FeedHeader};
use akguard::core::packed::{encode_blocks, entry_of_key};
use harness::{CallResponse, LogLevel, Request, Vm};

const SEED: [u8; 32] = [31; 32];
const CONFIG_KEY: &str = "LTAI5tWasmFeedConfig0001";
const KEY_A: &str = "LTAI5tWasmFeedKeyA000001";
const KEY_B: &str = "LTAI5tWasmFeedKeyB000001";
const KEY_C: &str = "LTAI5tWasmFeedKeyC000001";
const MAX_BYTES: usize = 2048;
const TIMEOUT_MS: u64 = 500;

fn document(version: u64, keys: &[&str], seed: &[u8; 32]) -> Vec<u8> {
    let blocks = encode_blocks(keys.iter().map(|k| entry_of_key(k.as_bytes())).collect());
    let header = FeedHeader {
        version,
        published: 1_767_225_600 - 30,
    };
    feed::sign(header, &blocks, seed).into_bytes()
}

fn configuration() -> String {
    format!(
        r#"{{"leaked_keys": ["{CONFIG_KEY}"], "key_feed": {{"cluster": "feed", "path": "/akguard/feed",
            "poll_seconds": 1, "timeout_ms": {TIMEOUT_MS}, "max_bytes": {MAX_BYTES}, "public_key": "{}"}}}}"#,
        feed::key_text(&feed::public_key_of(&SEED))
    )
}

fn denied(vm: &mut Vm, root: u32, key: &str) -> bool {
    let request = Request::get(
        "ecs.cn-hangzhou.aliyuncs.com",
        format!("/?Action=RunInstances&AccessKeyId={key}"),
    );
    let id = vm.send(root, &request);
    let stream = vm.stream(id);
    match &stream.local_response {
        Some(reply) => reply.status == 403,
        None => {
            assert!(stream.passed());
            false
        }
    }
}

fn response(status: &str, etag: Option<&str>, body: Vec<u8>) -> CallResponse {
    let mut headers = vec![(":status".to_string(), status.as_bytes().to_vec())];
    if let Some(etag) = etag {
        headers.push(("etag".to_string(), etag.as_bytes().to_vec()));
    }
    CallResponse {
        headers,
        body,
        trailers: Vec::new(),
    }
}

/// Moves the clock by `ms` and ticks every root; the calls made on the way.
fn advance(vm: &mut Vm, ms: u64) -> Vec<harness::HttpCall> {
    let before = vm.state().http_calls.len();
    vm.state_mut().now_nanos += ms * 1_000_000;
    vm.tick_all();
    vm.state().http_calls[before..].to_vec()
}

/// The one call of the next poll.
fn poll(vm: &mut Vm) -> harness::HttpCall {
    let calls = advance(vm, 1000);
    assert_eq!(calls.len(), 1, "{calls:?}");
    calls.into_iter().next().unwrap()
}

fn header<'a>(call: &'a harness::HttpCall, name: &str) -> Option<&'a [u8]> {
    call.headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_slice())
}

fn last_warning(vm: &Vm) -> String {
    vm.logs(LogLevel::Warn).last().cloned().unwrap_or_default()
}

/// A poll answered with `answer` (after `waited` ms) leaves version 2 in force.
fn fails_static(
    vm: &mut Vm,
    root: u32,
    waited: u64,
    answer: CallResponse,
    reason: &str,
    says: &str,
) {
    let metric = format!("akguard.feed_failed_{reason}");
    let before = vm.counter(&metric).unwrap_or(0);
    let call = poll(vm);
    vm.state_mut().now_nanos += waited * 1_000_000;
    vm.http_call_response(call.token, answer);
    assert_eq!(vm.counter(&metric), Some(before + 1), "{reason}");
    let line = last_warning(vm);
    assert!(
        line.contains(&format!("akguard key feed: fetch failed ({reason})")) && line.contains(says),
        "{reason}: {line}"
    );
    assert!(
        line.contains("version 2 (1 keys) stays in force; last good answer"),
        "{line}"
    );
    assert!(
        denied(vm, root, KEY_B) && denied(vm, root, CONFIG_KEY),
        "{reason}"
    );
    assert!(
        !denied(vm, root, KEY_A) && !denied(vm, root, KEY_C),
        "{reason}"
    );
    assert_eq!(vm.gauge("akguard.feed_version"), Some(2), "{reason}");
}

#[test]
fn the_feed_applies_newer_signed_sets_and_fails_static() {
    let mut vm = Vm::new();
    let plugin = vm.start_plugin(configuration());
    assert!(plugin.configured);
    let root = plugin.root_id;
    assert!(denied(&mut vm, root, CONFIG_KEY));
    assert!(!denied(&mut vm, root, KEY_A));

    // The first poll: no ETag yet.
    let call = poll(&mut vm);
    assert_eq!(call.upstream, "feed");
    assert_eq!(header(&call, ":path"), Some(&b"/akguard/feed"[..]));
    assert_eq!(header(&call, ":authority"), Some(&b"feed"[..]));
    assert_eq!(header(&call, ":method"), Some(&b"GET"[..]));
    assert_eq!(header(&call, "if-none-match"), None);
    assert_eq!(call.timeout_ms, TIMEOUT_MS as u32);
    vm.http_call_response(
        call.token,
        response("200", Some("\"v1\""), document(1, &[KEY_A], &SEED)),
    );
    assert!(denied(&mut vm, root, KEY_A) && denied(&mut vm, root, CONFIG_KEY));
    assert_eq!(vm.gauge("akguard.feed_version"), Some(1));
    assert_eq!(vm.gauge("akguard.feed_keys"), Some(1));
    assert_eq!(vm.counter("akguard.feed_updates"), Some(1));
    let info = vm.logs(LogLevel::Info);
    assert!(
        info.iter().any(|l| l
            .contains("akguard key feed: version 1 applied (1 keys, published 31 s ago, fetched)")),
        "{info:?}"
    );

    // No second call before the poll period.
    assert!(advance(&mut vm, 300).is_empty());

    // Unchanged: If-None-Match, 304.
    let call = poll(&mut vm);
    assert_eq!(header(&call, "if-none-match"), Some(&b"\"v1\""[..]));
    vm.http_call_response(call.token, response("304", None, Vec::new()));
    assert_eq!(vm.counter("akguard.feed_unchanged"), Some(1));
    assert!(denied(&mut vm, root, KEY_A));

    // A newer set replaces it.
    let call = poll(&mut vm);
    vm.http_call_response(
        call.token,
        response("200", Some("\"v2\""), document(2, &[KEY_B], &SEED)),
    );
    assert!(denied(&mut vm, root, KEY_B) && !denied(&mut vm, root, KEY_A));
    assert_eq!(vm.gauge("akguard.feed_version"), Some(2));

    let forged = document(3, &[KEY_C], &[32; 32]);
    fails_static(
        &mut vm,
        root,
        5,
        response("200", Some("\"f\""), forged),
        "signature",
        "the signature does not verify",
    );
    let replayed = document(1, &[KEY_A], &SEED);
    fails_static(
        &mut vm,
        root,
        5,
        response("200", Some("\"r\""), replayed),
        "replay",
        "version 1 is not newer than version 2",
    );
    let good = document(3, &[KEY_C], &SEED);
    let cut = good[..good.len() - 3].to_vec();
    fails_static(
        &mut vm,
        root,
        5,
        response("200", None, cut),
        "signature",
        "the signature does not verify",
    );
    fails_static(
        &mut vm,
        root,
        5,
        CallResponse::default(),
        "unreachable",
        "the source did not answer",
    );
    fails_static(
        &mut vm,
        root,
        5,
        response("500", None, Vec::new()),
        "status",
        "status 500",
    );
    fails_static(
        &mut vm,
        root,
        TIMEOUT_MS,
        response("504", None, Vec::new()),
        "timeout",
        "no answer within 500 ms",
    );
    fails_static(
        &mut vm,
        root,
        TIMEOUT_MS,
        CallResponse::default(),
        "timeout",
        "no answer within 500 ms",
    );
    let many: Vec<String> = (0..400).map(|i| format!("LTAI5tWasmMany{i:010}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let large = document(4, &many, &SEED);
    assert!(large.len() > MAX_BYTES);
    fails_static(
        &mut vm,
        root,
        5,
        response("200", None, large),
        "too_large",
        "past max_bytes 2048",
    );
    let not_a_feed = b"<html>maintenance</html>\n".to_vec();
    fails_static(
        &mut vm,
        root,
        5,
        response("200", None, not_a_feed),
        "malformed",
        "does not start with `akguard-feed`",
    );
    assert!(vm.gauge("akguard.feed_stale_seconds").unwrap() >= 9);

    // No second call while one is in flight; a call never answered is given up on after
    // its timeout and 5 s more.
    let unanswered = poll(&mut vm);
    assert!(advance(&mut vm, 1000).is_empty());
    assert!(advance(&mut vm, TIMEOUT_MS + 4000).is_empty());
    let next = advance(&mut vm, 1000);
    assert_eq!(next.len(), 1, "{next:?}");
    assert_ne!(next[0].token, unanswered.token);
    assert!(last_warning(&vm).contains("fetch failed (timeout): the host never answered the call"));
    assert!(denied(&mut vm, root, KEY_B));
    vm.http_call_response(
        unanswered.token,
        response("200", None, document(9, &[KEY_A], &SEED)),
    );
    assert!(
        !denied(&mut vm, root, KEY_A),
        "an answer to an abandoned call is ignored"
    );
    vm.http_call_response(next[0].token, response("304", None, Vec::new()));

    // The source is good again.
    let call = poll(&mut vm);
    vm.http_call_response(
        call.token,
        response("200", Some("\"v3\""), document(3, &[KEY_C], &SEED)),
    );
    assert!(denied(&mut vm, root, KEY_C) && !denied(&mut vm, root, KEY_B));
    assert_eq!(vm.gauge("akguard.feed_stale_seconds"), Some(0));
    assert!(vm.unimplemented().is_empty(), "{:?}", vm.unimplemented());
}

#[test]
fn a_second_root_takes_the_set_from_shared_data_without_asking() {
    let mut vm = Vm::new();
    let first = vm.start_plugin(configuration()).root_id;
    let call = poll(&mut vm);
    vm.http_call_response(
        call.token,
        response("200", Some("\"v1\""), document(1, &[KEY_A], &SEED)),
    );
    let second = vm.start_plugin(configuration());
    assert!(second.configured);
    // From its first request on, before any tick.
    assert!(denied(&mut vm, second.root_id, KEY_A));
    // The second root context follows: the lease is held, so only the first one asks.
    for _ in 0..3 {
        let calls = advance(&mut vm, 1000);
        assert!(calls.iter().all(|c| c.context_id == first), "{calls:?}");
        for call in calls {
            vm.http_call_response(call.token, response("304", None, Vec::new()));
        }
    }
    assert!(denied(&mut vm, second.root_id, KEY_A));
    let info = vm.logs(LogLevel::Info);
    assert!(
        info.iter()
            .any(|l| l.contains("version 1 applied (1 keys, published")
                && l.contains("shared by the VM that fetched it")),
        "{info:?}"
    );
    // A newer set fetched by the first reaches the second on its next tick.
    let call = poll(&mut vm);
    assert_eq!(call.context_id, first);
    vm.http_call_response(
        call.token,
        response("200", Some("\"v2\""), document(2, &[KEY_B], &SEED)),
    );
    advance(&mut vm, 200);
    assert!(denied(&mut vm, second.root_id, KEY_B) && !denied(&mut vm, second.root_id, KEY_A));

    // When the first stops, it gives the lease up and the second asks at its next poll.
    vm.stop_plugin(first);
    let asked = advance(&mut vm, 1000);
    assert!(
        asked.len() == 1 && asked[0].context_id == second.root_id,
        "{asked:?}"
    );
    assert_eq!(header(&asked[0], "if-none-match"), Some(&b"\"v2\""[..]));
}
