//! The hostile generators (`tests/hostile/`) through the release module: each request gets the
//! verdict and rule the native core gives it, and a thousand form bodies held open at
//! `max_body_bytes` at once leave the VM answering, with its linear memory growing by no more
//! than the per-request bound for each.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod harness;
mod hostile;

use akguard::core::check::{RequestCheck, Step};
use akguard::core::config::{self, Policy};
use harness::{Action, LogLevel, Request, Vm};
use hostile::{Hostile, CLEAN, CONFIG, LEAKED, MIB};

const CHUNK: usize = 64 * 1024;

/// `allow` or `deny <rule>`.
fn native(policy: &Policy, request: &Request) -> String {
    let started = RequestCheck::start(policy, &request.headers, request.body.is_empty());
    let mut step = started.step;
    if let (Step::ReadBody, Some(mut check)) = (&step, started.check) {
        for (i, chunk) in request.body.iter().enumerate() {
            step = check.body(policy, chunk, i + 1 == request.body.len());
            if step != Step::ReadBody {
                break;
            }
        }
    }
    match step {
        Step::Allow => "allow".into(),
        Step::ReadBody => "still reading".into(),
        Step::Deny(denial) => format!("deny {}", denial.rule.label()),
    }
}

/// `allow`, `deny <rule>`, or what went wrong.
fn module(vm: &mut Vm, root: u32, request: &Request) -> String {
    let id = vm.send(root, request);
    let stream = vm.stream(id);
    let rule = vm
        .logs_of(id)
        .into_iter()
        .find_map(|l| l.message.split(' ').find_map(|p| p.strip_prefix("rule=")))
        .map(str::to_string);
    match (&stream.local_response, rule) {
        (Some(reply), Some(rule)) if reply.status == 403 || reply.status == 413 => {
            format!("deny {rule}")
        }
        (None, None) if stream.passed() => "allow".into(),
        (reply, rule) => format!("unexpected: reply {reply:?}, rule {rule:?}"),
    }
}

fn request(case: &Hostile, key: Option<&str>, action: &str) -> Request {
    Request {
        headers: case.header_pairs(key, action),
        body: case.body.chunks(CHUNK).map(<[u8]>::to_vec).collect(),
        ..Request::default()
    }
}

fn started(config_text: &str) -> (Vm, u32) {
    let mut vm = Vm::new();
    let plugin = vm.start_plugin(config_text);
    assert!(plugin.configured);
    (vm, plugin.root_id)
}

#[test]
fn hostile_requests_get_the_native_verdicts_from_the_module() {
    let policy = config::load(CONFIG.as_bytes()).unwrap().policy;
    let (mut vm, root) = started(CONFIG);
    let cases: Vec<Hostile> = [hostile::plain_form(MIB / 4)]
        .into_iter()
        .chain(hostile::bodies(MIB / 4))
        .chain(hostile::headers(60 * 1024))
        .collect();
    let want_compared = 3 * cases.len();
    let mut compared = 0;
    for case in cases {
        for (key, action) in [
            (Some(LEAKED), "DescribeRegions"),
            (Some(CLEAN), "RunInstances"),
            (None, "RunInstances"),
        ] {
            let request = request(&case, key, action);
            let want = native(&policy, &request);
            let got = module(&mut vm, root, &request);
            assert_eq!(got, want, "{} with key {key:?}", case.name);
            compared += 1;
        }
        vm.forget_finished_streams();
        vm.clear_logs();
    }
    assert_eq!(compared, want_compared);
    assert!(vm.unimplemented().is_empty(), "{:?}", vm.unimplemented());
    assert!(vm.logs(LogLevel::Critical).is_empty());
}

#[test]
fn a_thousand_held_bodies_leave_the_vm_answering_within_bounded_memory() {
    const HELD: usize = 1_000;
    const BODY: usize = 128 * 1024;
    const STATE_BOUND: usize = 16 * 1024;
    let config_text = format!(
        r#"{{"leaked_keys": ["{LEAKED}"], "max_body_bytes": {BODY}, "hold_headers": true}}"#
    );
    let (mut vm, root) = started(&config_text);
    vm.allow_on_headers_stop_iteration = true;
    let host = "ecs.cn-hangzhou.aliyuncs.com";
    // The pattern that filled the VM before: values as long as the scanner keeps, split two
    // ways, each with tokens of its own.
    let pattern = hostile::bodies(BODY)
        .into_iter()
        .find(|h| h.name == "long-key-values")
        .unwrap();
    let before = vm.memory_bytes();
    let mut held = Vec::new();
    for _ in 0..HELD {
        let id = vm.open_stream(root);
        let headers = Request::form(
            host,
            format!("/?Action=DescribeRegions&AccessKeyId={CLEAN}"),
        )
        .header("content-length", (BODY + 1).to_string())
        .headers;
        assert_eq!(vm.request_headers(id, headers, false), Action::Pause);
        for chunk in pattern.body.chunks(CHUNK) {
            assert_eq!(vm.request_body(id, chunk, false), Some(Action::Pause));
        }
        held.push(id);
    }
    let holding = vm.memory_bytes();
    let page = 64 << 10;
    println!(
        "linear memory with {HELD} form bodies of {BODY} bytes held: before {} pages ({before} bytes), \
         holding {} pages ({holding} bytes): {} bytes a held request",
        before / page,
        holding / page,
        (holding - before) / HELD
    );
    assert!(
        holding - before <= HELD * STATE_BOUND,
        "linear memory grew by {} bytes for {HELD} held requests",
        holding - before
    );
    // The filter reports the same figure to Envoy on its tick.
    vm.tick_all();
    assert_eq!(
        vm.gauge("akguard.vm_memory_bytes"),
        Some(vm.memory_bytes() as i64)
    );
    // Meanwhile, other requests are decided as ever.
    let clean = vm.send(
        root,
        &Request::get(host, format!("/?Action=RunInstances&AccessKeyId={CLEAN}")),
    );
    assert!(vm.stream(clean).passed());
    let leaked = vm.send(
        root,
        &Request::get(host, format!("/?Action=RunInstances&AccessKeyId={LEAKED}")),
    );
    assert_eq!(
        vm.stream(leaked).local_response.as_ref().map(|r| r.status),
        Some(403)
    );
    // The held bodies end: each is let through whole.
    for id in held {
        assert_eq!(vm.request_body(id, b"", true), Some(Action::Continue));
        assert!(vm.stream(id).passed());
        vm.close_stream(id);
    }
    assert!(vm.unimplemented().is_empty(), "{:?}", vm.unimplemented());
    assert!(vm.logs(LogLevel::Critical).is_empty());
}
