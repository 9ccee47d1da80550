//! Keys minted by a leaked key, through the release module under the wasm harness (whose
//! clock stands at 2026-01-01T00:00:00Z unless moved): the answer to a leaked key's
//! `AssumeRole` is held and read, the key it issues recorded in shared data and denied until
//! it expires; answers that cannot be read are replaced; other requests never read the
//! shared data nor have their answers held.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod harness;

use akguard::core::minted::{MintedSet, MAX_MINTED};
use harness::{Action, LogLevel, Request, Vm};

const LEAKED: &str = "LTAI5tLeakedKey000000001";
const CLEAN: &str = "LTAI5tCleanKey0000000001";
const MINTED: &str = "STS.NTestMinted0001";
/// 2026-01-01T00:00:00Z, the harness's clock, in seconds.
const NOW: u64 = 1_767_225_600;

fn answer(id: &str, expiration: &str) -> String {
    format!(
        r#"{{"RequestId":"6894B13B","AssumedRoleUser":{{"Arn":"acs:ram::1:role/r/alice","AssumedRoleId":"1:alice"}},"Credentials":{{"SecurityToken":"CAIS","AccessKeyId":"{id}","AccessKeySecret":"3dZn","Expiration":"{expiration}"}}}}"#
    )
}

fn assume_role(key: &str) -> Request {
    Request::get(
        "sts.aliyuncs.com",
        format!("/?Action=AssumeRole&RoleSessionName=s&AccessKeyId={key}"),
    )
}

fn run_instances(key: &str) -> Request {
    Request::get(
        "ecs.cn-hangzhou.aliyuncs.com",
        format!("/?Action=RunInstances&AccessKeyId={key}"),
    )
}

/// Sends a request without a body and answers it with `body` in `chunks` pieces; returns
/// the stream id and the actions of the response callbacks.
fn exchange(
    vm: &mut Vm,
    root: u32,
    request: &Request,
    body: &str,
    chunks: usize,
) -> (u32, Vec<Action>) {
    exchange_with(vm, root, request, &[], body, chunks)
}

/// [`exchange`], with more response headers.
fn exchange_with(
    vm: &mut Vm,
    root: u32,
    request: &Request,
    more: &[(&str, &str)],
    body: &str,
    chunks: usize,
) -> (u32, Vec<Action>) {
    let id = vm.open_stream(root);
    vm.request_headers(id, request.headers.clone(), true);
    let mut headers: Vec<(String, Vec<u8>)> = vec![
        (":status".into(), b"200".to_vec()),
        (
            "content-type".into(),
            b"application/json;charset=utf-8".to_vec(),
        ),
        ("content-length".into(), body.len().to_string().into_bytes()),
    ];
    headers.extend(
        more.iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())),
    );
    let mut actions = vec![vm.response_headers(id, headers, false)];
    let size = body.len().div_ceil(chunks.max(1)).max(1);
    let pieces: Vec<&[u8]> = body.as_bytes().chunks(size).collect();
    for (i, piece) in pieces.iter().enumerate() {
        actions.push(vm.response_body(id, piece, i + 1 == pieces.len()));
    }
    (id, actions)
}

fn status(vm: &mut Vm, root: u32, request: &Request) -> u32 {
    let id = vm.send(root, request);
    vm.stream(id)
        .local_response
        .as_ref()
        .map_or(200, |r| r.status)
}

fn response_header<'a>(vm: &'a Vm, id: u32, name: &str) -> Option<&'a [u8]> {
    vm.stream(id)
        .response_headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_slice())
}

#[test]
fn a_minted_key_is_recorded_and_denied_until_it_expires() {
    let mut vm = Vm::new();
    let plugin = vm.start_plugin(format!(r#"{{"leaked_keys": ["{LEAKED}"]}}"#));
    let root = plugin.root_id;
    let body = answer(MINTED, "2026-01-01T01:00:00Z");
    let request = assume_role(LEAKED).header("accept-encoding", "gzip, deflate");
    let (id, actions) = exchange(&mut vm, root, &request, &body, 3);
    assert!(
        !vm.stream(id)
            .request_headers
            .iter()
            .any(|(n, _)| n == "accept-encoding"),
        "the answer is asked for unencoded"
    );
    // Headers go on (without content-length), the body is held until it ends, then goes on.
    assert_eq!(
        actions,
        [
            Action::Continue,
            Action::Pause,
            Action::Pause,
            Action::Continue
        ]
    );
    assert_eq!(response_header(&vm, id, "content-length"), None);
    assert_eq!(vm.stream(id).response_body, body.as_bytes(), "unchanged");
    vm.close_stream(id);
    let (shared, _) = vm.state().shared_data["akguard.minted"].clone();
    let set = MintedSet::from_bytes(&shared);
    assert!(set.contains(MINTED.as_bytes(), NOW + 3599));
    assert!(!set.contains(MINTED.as_bytes(), NOW + 3600));
    assert_eq!(vm.counter("akguard.minted_keys_recorded"), Some(1));
    assert_eq!(vm.gauge("akguard.minted_keys_in_force"), Some(1));
    let warnings = vm.logs(LogLevel::Warn);
    let line = warnings
        .iter()
        .find(|l| l.contains("akguard minted-key:"))
        .expect("the recorded key is logged");
    assert!(
        line.contains("key=STS.****0001 issued_to=LTAI****0001 expires=1767229200"),
        "{line}"
    );
    assert!(!warnings.iter().any(|l| l.contains(MINTED)));

    assert_eq!(status(&mut vm, root, &run_instances(MINTED)), 403);
    assert_eq!(vm.counter("akguard.leaked_key_seen"), Some(2));
    let harmless = Request::get(
        "ecs.aliyuncs.com",
        format!("/?Action=DescribeRegions&AccessKeyId={MINTED}"),
    );
    assert_eq!(status(&mut vm, root, &harmless), 200);
    vm.state_mut().now_nanos = (NOW + 3600) * 1_000_000_000;
    assert_eq!(
        status(&mut vm, root, &run_instances(MINTED)),
        200,
        "expired"
    );
    vm.tick_all();
    assert_eq!(vm.gauge("akguard.minted_keys_in_force"), Some(0));
    assert!(vm.unimplemented().is_empty(), "{:?}", vm.unimplemented());
}

#[test]
fn other_requests_neither_read_the_minted_keys_nor_have_their_answers_held() {
    let mut vm = Vm::new();
    let plugin = vm.start_plugin(format!(r#"{{"leaked_keys": ["{LEAKED}"]}}"#));
    let root = plugin.root_id;
    let body = answer(MINTED, "2026-01-01T01:00:00Z");
    let reads = vm.state().shared_data_reads;
    for request in [
        assume_role(CLEAN),
        run_instances(CLEAN),
        Request::get(
            "sts.aliyuncs.com",
            format!("/?Action=GetCallerIdentity&AccessKeyId={LEAKED}"),
        ),
        run_instances(LEAKED),
    ] {
        let (id, actions) = exchange(&mut vm, root, &request, &body, 2);
        if vm.stream(id).local_response.is_none() {
            assert_eq!(actions, [Action::Continue; 3]);
            assert!(response_header(&vm, id, "content-length").is_some());
        }
        vm.close_stream(id);
    }
    assert_eq!(vm.state().shared_data_reads, reads, "no shared-data read");
    assert!(!vm.state().shared_data.contains_key("akguard.minted"));
    // An STS. key reads it once a request, however many readings it has.
    let sts = Request::get(
        "ecs.aliyuncs.com",
        "/?Action=RunInstances&AccessKeyId=STS.Other1&AccessKeyId=STS.Other2",
    )
    .header("x-acs-accesskey-id", "STS.Other3");
    assert_eq!(status(&mut vm, root, &sts), 200);
    assert_eq!(vm.state().shared_data_reads, reads + 1);
}

#[test]
fn answers_that_cannot_be_read_or_recorded_are_replaced() {
    let mut vm = Vm::new();
    let plugin = vm.start_plugin(format!(r#"{{"leaked_keys": ["{LEAKED}"]}}"#));
    let root = plugin.root_id;
    let valid = answer(MINTED, "2026-01-01T01:00:00Z");
    let oversized = format!("{valid:<width$}", width = 16 * 1024 + 1);
    for body in [
        answer(MINTED, "in an hour"),
        answer("LTAI5tNotTemporary01", "2026-01-01T01:00:00Z"),
        oversized,
    ] {
        let (id, actions) = exchange(&mut vm, root, &assume_role(LEAKED), &body, 4);
        assert_eq!(actions.last(), Some(&Action::Continue));
        let replaced = String::from_utf8(vm.stream(id).response_body.clone()).unwrap();
        assert!(replaced.contains("\"Code\":\"Forbidden\""), "{replaced}");
        assert!(!replaced.contains("AccessKeySecret"));
        vm.close_stream(id);
    }
    // An encoded answer cannot be read either.
    let encoded = [("content-encoding", "gzip")];
    let (id, _) = exchange_with(&mut vm, root, &assume_role(LEAKED), &encoded, &valid, 1);
    assert!(String::from_utf8_lossy(&vm.stream(id).response_body).contains("Forbidden"));
    let identity = [("content-encoding", "identity")];
    let (id, _) = exchange_with(&mut vm, root, &assume_role(LEAKED), &identity, &valid, 1);
    assert_eq!(vm.stream(id).response_body, valid.as_bytes());
    assert_eq!(vm.counter("akguard.credentials_unreadable"), Some(4));
    assert_eq!(vm.counter("akguard.minted_keys_recorded"), Some(1));

    // A set full of keys that outlive the new one: it cannot be kept, so it does not get out.
    let mut full = MintedSet::default();
    for i in 0..MAX_MINTED {
        assert!(full.record(format!("STS.Kept{i}").as_bytes(), NOW + 86_400, NOW));
    }
    vm.state_mut()
        .shared_data
        .insert("akguard.minted".into(), (full.to_bytes(), 7));
    let (id, _) = exchange(&mut vm, root, &assume_role(LEAKED), &valid, 1);
    let replaced = String::from_utf8(vm.stream(id).response_body.clone()).unwrap();
    assert!(replaced.contains("Forbidden"), "{replaced}");
    assert_eq!(vm.counter("akguard.credentials_unreadable"), Some(5));
    // One that outlives the first to expire takes its place.
    let later = answer(MINTED, "2026-01-03T00:00:00Z");
    let (id, _) = exchange(&mut vm, root, &assume_role(LEAKED), &later, 1);
    assert_eq!(vm.stream(id).response_body, later.as_bytes());
    assert_eq!(status(&mut vm, root, &run_instances(MINTED)), 403);
}

#[test]
fn with_hold_headers_the_status_is_replaced_too_and_shadow_mode_only_logs() {
    let mut vm = Vm::new();
    let config = format!(r#"{{"leaked_keys": ["{LEAKED}"], "hold_headers": true}}"#);
    let root = vm.start_plugin(config).root_id;
    let garbled = answer(MINTED, "soon");
    let (id, actions) = exchange(&mut vm, root, &assume_role(LEAKED), &garbled, 2);
    assert_eq!(actions, [Action::Pause, Action::Pause, Action::Continue]);
    assert_eq!(response_header(&vm, id, ":status"), Some(&b"403"[..]));
    let length = vm.stream(id).response_body.len().to_string();
    assert_eq!(
        response_header(&vm, id, "content-length"),
        Some(length.as_bytes())
    );

    let mut vm = Vm::new();
    let config = format!(r#"{{"leaked_keys": ["{LEAKED}"], "mode": "shadow"}}"#);
    let root = vm.start_plugin(config).root_id;
    let (id, _) = exchange(&mut vm, root, &assume_role(LEAKED), &garbled, 2);
    assert_eq!(vm.stream(id).response_body, garbled.as_bytes());
    assert_eq!(vm.counter("akguard.shadow_denied"), Some(1));
    assert!(vm
        .logs(LogLevel::Warn)
        .iter()
        .any(|l| l.contains("akguard shadow-deny:") && l.contains("rule=unreadable-credentials")));
}
