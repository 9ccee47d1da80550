//! The release module under hostile and heavy input: bytes that are not UTF-8, huge header
//! values, malformed form bodies, empty configurations, seeded garbage requests (each
//! checked against the native core), and 10,000 requests on one VM with the linear memory
//! size printed before and after.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;
mod harness;

use akguard::core::check::{RequestCheck, Step};
use akguard::core::config::{self, Mode};
use common::{CLEAN, LEAKED};
use harness::{Action, LogLevel, Request, Vm};

/// Verdict, rule and status of one request.
type Verdict = (String, Option<String>, Option<u32>);

/// The native core's verdict and the index of the body chunk that decided it (`None` when
/// decided at the headers), driven as the filter drives it.
fn native(config_text: &str, request: &Request) -> (Verdict, Option<usize>) {
    let policy = config::load(config_text.as_bytes()).unwrap().policy;
    let body_follows = !request.body.is_empty() || !request.trailers.is_empty();
    let started = RequestCheck::start(&policy, &request.headers, !body_follows);
    let mut step = started.step;
    let mut decided_at = None;
    if step == Step::ReadBody {
        let mut check = started.check.unwrap();
        for (i, chunk) in request.body.iter().enumerate() {
            let eos = i + 1 == request.body.len() && request.trailers.is_empty();
            step = check.body(&policy, chunk, eos);
            if step != Step::ReadBody {
                decided_at = Some(i);
                break;
            }
        }
        if step == Step::ReadBody && !request.trailers.is_empty() {
            step = check.finish(&policy);
            decided_at = Some(request.body.len());
        }
    }
    let verdict = match step {
        Step::Allow => ("allow".into(), None, None),
        Step::ReadBody => ("undecided".into(), None, None),
        Step::Deny(denial) => {
            let rule = Some(denial.rule.label().to_string());
            match denial.mode {
                Mode::Shadow => ("shadow-deny".into(), rule, None),
                Mode::Enforce => ("deny".into(), rule, Some(denial.reply("x").status)),
            }
        }
    };
    (verdict, decided_at)
}

/// The module's verdict for a stream, and the index of the body chunk that decided a deny.
fn wasm(vm: &Vm, id: u32) -> (Verdict, Option<usize>) {
    let stream = vm.stream(id);
    let line = vm
        .logs_of(id)
        .into_iter()
        .map(|l| l.message.clone())
        .find(|m| m.starts_with("akguard deny:") || m.starts_with("akguard shadow-deny:"));
    let rule = line.as_deref().and_then(|m| {
        m.split(' ')
            .find_map(|p| p.strip_prefix("rule="))
            .map(str::to_string)
    });
    let chunk = stream
        .callbacks
        .iter()
        .position(|c| c.sent_local_response)
        .and_then(|i| i.checked_sub(1));
    let verdict = match (&stream.local_response, &line) {
        (Some(reply), _) => ("deny".into(), rule, Some(reply.status)),
        (None, Some(_)) if stream.passed() => ("shadow-deny".into(), rule, None),
        (None, None) if stream.passed() => ("allow".into(), None, None),
        _ => (format!("stuck: {:?}", stream.callbacks), rule, None),
    };
    (verdict, chunk)
}

fn config_with(extra: &str) -> String {
    format!(r#"{{"leaked_keys":["{LEAKED}"]{extra}}}"#)
}

/// Sends each request through the module and the core; both must agree, with no trap.
fn agree(config_text: &str, vm: &mut Vm, root: u32, requests: &[Request]) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    for (n, request) in requests.iter().enumerate() {
        // A second apart: each deny has its full log line, whose rule is compared.
        vm.state_mut().now_nanos += 1_000_000_000;
        let id = vm.send(root, request);
        let (got, _) = wasm(vm, id);
        let (want, _) = native(config_text, request);
        assert_eq!(got, want, "request {n}: {request:?}");
        verdicts.push(got);
    }
    assert!(vm.unimplemented().is_empty(), "{:?}", vm.unimplemented());
    assert!(vm.logs(LogLevel::Critical).is_empty());
    verdicts
}

fn started(config_text: &str) -> (Vm, u32) {
    let mut vm = Vm::new();
    let plugin = vm.start_plugin(config_text);
    assert!(plugin.configured);
    (vm, plugin.root_id)
}

#[test]
fn bytes_that_are_not_utf8_are_read_without_trouble() {
    let config_text = config_with("");
    let (mut vm, root) = started(&config_text);
    let host = "ecs.aliyuncs.com";
    let key = LEAKED.as_bytes();
    let with = |parts: &[&[u8]]| parts.concat();
    let requests = [
        Request::get(
            host,
            with(&[b"/?Action=Run\xffInstances&AccessKeyId=", key]),
        ),
        Request::get(
            host,
            with(&[b"/\xc3\x28?Action=RunInstances&AccessKeyId=", key]),
        ),
        Request::get(
            host,
            with(&[b"/?Action=RunInstances&AccessKeyId=", key, b"\x80"]),
        ),
        Request::get(
            b"ecs.\xe2\x82aliyuncs.com",
            with(&[b"/?Action=RunInstances&AccessKeyId=", key]),
        ),
        Request::new("POST", host, "/")
            .header("authorization", with(&[b"acs ", key, b":\xfe\xfd"]))
            .header("x-acs-action", b"Run\xe9Instances"),
        Request::new("POST", host, "/")
            .header("x-acs-accesskey-id", key)
            .header("x-acs-action", "RunInstances")
            .header("x-request-id", b"\xff\xfe"),
        Request::form(host, "/")
            .chunk(with(&[b"Action=RunInstances\xff&AccessKeyId=", key]))
            .chunk(b"&\xc0\xc1"),
        Request::form(host, "/")
            .chunk(b"\x00\x01\x02Action=DescribeRegions&AccessKeyId=")
            .chunk(with(&[key, b"\xff"])),
    ];
    let verdicts = agree(&config_text, &mut vm, root, &requests);
    // The bytes around the key and action are no escape: every request here is decided.
    assert!(verdicts.iter().all(|v| v.0 == "deny" || v.0 == "allow"));
    assert!(
        verdicts.iter().filter(|v| v.0 == "deny").count() >= 5,
        "{verdicts:?}"
    );
}

#[test]
fn huge_header_values_are_read_without_trouble() {
    let config_text = config_with("");
    let (mut vm, root) = started(&config_text);
    let host = "ecs.aliyuncs.com";
    let padding = "Padding=".to_string() + &"x".repeat(256 << 10);
    let mut many = Request::get(host, format!("/?Action=RunInstances&AccessKeyId={LEAKED}"));
    for i in 0..1000 {
        many = many.header(&format!("x-custom-{i}"), "v".repeat(100));
    }
    let requests = [
        Request::get(
            host,
            format!("/?{padding}&Action=RunInstances&AccessKeyId={LEAKED}"),
        ),
        Request::get(
            host,
            format!("/?Action=RunInstances&{padding}&AccessKeyId={CLEAN}"),
        ),
        Request::new("POST", host, "/")
            .header("authorization", format!("acs {}:sig", "A".repeat(1 << 20)))
            .header("x-acs-action", "RunInstances"),
        Request::new("POST", host, "/")
            .header("x-acs-accesskey-id", LEAKED)
            .header("x-acs-action", "R".repeat(100 << 10)),
        Request::new("POST", host, "/")
            .header("x-acs-accesskey-id", LEAKED)
            .header("x-acs-action", "RunInstances")
            .header("x-request-id", "r".repeat(64 << 10)),
        many,
    ];
    let verdicts = agree(&config_text, &mut vm, root, &requests);
    let kinds: Vec<&str> = verdicts.iter().map(|v| v.0.as_str()).collect();
    assert_eq!(kinds, ["deny", "allow", "allow", "deny", "deny", "deny"]);
}

#[test]
fn malformed_form_bodies_are_read_without_trouble() {
    let config_text = config_with(r#","max_body_bytes":65536"#);
    let (mut vm, root) = started(&config_text);
    let host = "ecs.aliyuncs.com";
    let bodies: Vec<Vec<&[u8]>> = vec![
        vec![b"%"],
        vec![b"%%%%", b"%%"],
        vec![b"&&&&", b"===="],
        vec![b"Action"],
        vec![b"AccessKeyId=%ZZ", b"&Action=%"],
        vec![b"AccessKeyId", b"=", LEAKED.as_bytes()],
        vec![b"Action=RunInstances;AccessKeyId=", LEAKED.as_bytes()],
        vec![b"Action=RunInstances&AccessKeyId=LTAI5tLeakedKey00000000%31"],
        vec![b"Action=RunInstances&AccessKeyId=LTAI5tLeakedKey00000000%2531"],
        vec![b"Action=%2"],
        vec![b"=RunInstances&=", LEAKED.as_bytes()],
        vec![b"\0\0\0\0", b"\0"],
        vec![b""],
        vec![b"", b"", b""],
    ];
    let mut requests: Vec<Request> = bodies
        .iter()
        .map(|chunks| {
            chunks
                .iter()
                .fold(Request::form(host, "/"), |r, c| r.chunk(c))
        })
        .collect();
    let long_name = "A".repeat(40 << 10);
    requests.push(Request::form(host, "/").chunk(format!(
        "{long_name}=1&Action=RunInstances&AccessKeyId={LEAKED}&"
    )));
    requests.push(Request::form(host, "/").chunk("x".repeat(70 << 10)));
    requests.push(
        Request::form(host, "/")
            .header(
                "content-type",
                "APPLICATION/X-WWW-FORM-URLENCODED; charset=UTF-8",
            )
            .chunk(format!("Action=RunInstances&AccessKeyId={LEAKED}")),
    );
    let verdicts = agree(&config_text, &mut vm, root, &requests);
    assert!(verdicts.iter().any(|v| v.0 == "deny"));
    assert!(verdicts.iter().any(|v| v.0 == "allow"));
    assert!(verdicts.iter().any(|v| v.2 == Some(413)));
}

#[test]
fn one_byte_chunks_are_decided_at_the_byte_that_allows_it() {
    let config_text = config_with("");
    let (mut vm, root) = started(&config_text);
    for text in [
        format!("Version=1&Action=RunInstances&AccessKeyId={LEAKED}&Signature=x"),
        format!("AccessKeyId={LEAKED}&Action=DeleteInstance&Format=XML"),
        format!("Action=RunInstances&AccessKeyId={CLEAN}&Signature=x"),
    ] {
        let request = text
            .bytes()
            .fold(Request::form("ecs.aliyuncs.com", "/"), |r, b| r.chunk([b]));
        let id = vm.send(root, &request);
        let (got, got_at) = wasm(&vm, id);
        let (want, want_at) = native(&config_text, &request);
        assert_eq!(got, want, "{text}");
        if got.0 == "deny" {
            assert_eq!(got_at, want_at, "{text}");
            let at = got_at.unwrap();
            // Decided on the byte that ends the later of key and action, not at the end.
            assert!(at + 1 < text.len(), "{text}: decided only at the end");
            assert_eq!(text.as_bytes()[at], b'&', "{text}");
            let callbacks = &vm.stream(id).callbacks;
            assert!(callbacks[1..callbacks.len() - 1]
                .iter()
                .all(|c| c.action == Action::Pause && c.body_bytes_read == 1));
        } else {
            assert_eq!(vm.stream(id).forwarded.body, text.as_bytes());
        }
    }
}

#[test]
fn empty_configurations_are_accepted_and_protect_nothing() {
    for text in ["", "  \n\t"] {
        let mut vm = Vm::new();
        let plugin = vm.start_plugin(text);
        assert!(plugin.configured, "{text:?}");
        assert_eq!(
            vm.logs(LogLevel::Warn),
            ["akguard configuration: the configuration is empty: no leaked keys are loaded, nothing is protected"]
        );
        assert_eq!(vm.gauge("akguard.keys_loaded"), Some(0));
        let id = vm.send(
            plugin.root_id,
            &Request::get(
                "ram.aliyuncs.com",
                format!("/?Action=CreateUser&AccessKeyId={LEAKED}"),
            ),
        );
        assert_eq!(vm.stream(id).actions(), [Action::Continue]);
        assert!(vm.stream(id).passed());
        let id = vm.send(
            plugin.root_id,
            &Request::form("ram.aliyuncs.com", "/")
                .chunk(format!("Action=CreateUser&AccessKeyId={LEAKED}")),
        );
        assert_eq!(
            vm.stream(id).actions(),
            [Action::Continue, Action::Continue]
        );
        assert_eq!(vm.stream(id).body_bytes_read(), 0);
        vm.tick_all();
        assert_eq!(vm.counter("akguard.requests_checked"), Some(2));
        assert_eq!(vm.counter("akguard.leaked_key_seen"), Some(0));
    }
}

/// xorshift64*: a fixed seed gives the same requests on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

fn garbage_request(rng: &mut Rng) -> Request {
    let fragments: [&[u8]; 22] = [
        b"Action=RunInstances",
        b"Action=DescribeRegions",
        b"action=runinstances",
        b"Act%69on=%52unInstances",
        b"Action=Run%00Instances",
        b"Action=",
        b"AccessKeyId=LTAI5tLeakedKey000000001",
        b"AccessKeyId=LTAI5tCleanKey0000000001",
        b"Access%4BeyId=LTAI5tLeakedKey000000001",
        b"AccessKeyId=LTAI5tLeakedKey00000000%2531",
        b"AccessKeyId=STS.LeakedTemporaryKey01",
        b"Format=XML",
        b"%",
        b"%%41",
        b"=",
        b"&",
        b";",
        b"\xff\xfe",
        b"\0",
        b"+",
        b"Action=CreateUser",
        b"Signature=a%2Bb%3D",
    ];
    let text = |rng: &mut Rng| {
        let mut out = Vec::new();
        for _ in 0..rng.below(6) {
            out.extend_from_slice(rng.pick(&fragments));
            out.extend_from_slice(rng.pick(&[&b"&"[..], b"&", b";", b""]));
        }
        out
    };
    let hosts = [
        "ecs.cn-hangzhou.aliyuncs.com",
        "ram.aliyuncs.com",
        "RDS.AliyunCS.com.:443",
        "oss-cn-hangzhou.aliyuncs.com",
        "api.example.com",
        "",
    ];
    let method = rng.pick(&["GET", "POST"]);
    let host = rng.pick(&hosts);
    let mut path = b"/?".to_vec();
    path.extend(text(rng));
    let mut request = Request::new(method, host, path);
    match rng.below(5) {
        0 => {
            let key = rng.pick(&[LEAKED, CLEAN, "STS.LeakedTemporaryKey01"]);
            let style = rng.pick(&[
                "ACS3-HMAC-SHA256 Credential={k},SignedHeaders=host,Signature=x",
                "ACS4-HMAC-SHA256 Credential={k}/20260101/cn-hangzhou/ecs/aliyun_v4_request",
                "acs {k}:sig",
                "OSS {k}:sig",
                "Bearer {k}",
            ]);
            request = request.header("authorization", style.replace("{k}", key));
        }
        1 => request = request.header("x-acs-accesskey-id", rng.pick(&[LEAKED, CLEAN])),
        _ => {}
    }
    if rng.below(3) == 0 {
        let action: &[u8] = rng.pick(&[&b"RunInstances"[..], b"DescribeRegions", b"\xffRun", b""]);
        request = request.header("x-acs-action", action);
    }
    if method == "POST" {
        match rng.below(4) {
            0 => request = request.header("content-type", "application/x-www-form-urlencoded"),
            1 => request = request.header("content-type", "application/json"),
            _ => {}
        }
        for _ in 0..rng.below(4) {
            request = request.chunk(text(rng));
        }
    }
    request
}

#[test]
fn seeded_garbage_requests_agree_with_the_native_core() {
    let config_text = format!(
        r#"{{"leaked_keys":["{LEAKED}","STS.LeakedTemporaryKey01"],"max_body_bytes":128}}"#
    );
    let (mut vm, root) = started(&config_text);
    let mut rng = Rng(0x0005_eed0_fa11_ba5e);
    let requests: Vec<Request> = (0..400).map(|_| garbage_request(&mut rng)).collect();
    let verdicts = agree(&config_text, &mut vm, root, &requests);
    let denies = verdicts.iter().filter(|v| v.0 == "deny").count();
    let allows = verdicts.iter().filter(|v| v.0 == "allow").count();
    println!("400 seeded requests: {denies} denied, {allows} allowed");
    assert!(
        denies >= 40 && allows >= 40,
        "{denies} denied, {allows} allowed"
    );
}

#[test]
fn ten_thousand_requests_on_one_vm_keep_linear_memory_flat() {
    let config_text = config_with("");
    let (mut vm, root) = started(&config_text);
    let host = "ecs.cn-hangzhou.aliyuncs.com";
    let requests = [
        Request::get(host, format!("/?Action=RunInstances&AccessKeyId={LEAKED}")),
        Request::get(
            host,
            format!("/?Action=RunInstances&AccessKeyId={CLEAN}&Format=XML"),
        ),
        Request::form(host, "/")
            .chunk("Action=RunInstances&AccessKeyId=")
            .chunk(LEAKED)
            .chunk("&Signature=x"),
        Request::form(host, "/")
            .chunk("Action=RunInstances&AccessKeyId=")
            .chunk(CLEAN)
            .chunk(format!("&Padding={}", "p".repeat(16 << 10))),
        Request::new("POST", host, "/")
            .header(
                "authorization",
                format!("ACS3-HMAC-SHA256 Credential={LEAKED},Signature=x"),
            )
            .header("x-acs-action", "DeleteInstance")
            .header("x-request-id", "r-1"),
        Request::get(
            host,
            format!("/?Action=DescribeRegions&Pad={}", "q".repeat(8 << 10)),
        )
        .header("cookie", "c".repeat(4 << 10)),
    ];
    let page = 64 << 10;
    let before = vm.memory_bytes();
    let mut denied = 0;
    for n in 0..10_000 {
        let id = vm.send(root, &requests[n % requests.len()]);
        denied += usize::from(vm.stream(id).local_response.is_some());
        if n % 500 == 499 {
            vm.forget_finished_streams();
            vm.clear_logs();
        }
    }
    let after = vm.memory_bytes();
    println!(
        "linear memory over 10,000 requests on one VM: before {} pages ({before} bytes), after {} pages ({after} bytes), growth {} bytes",
        before / page,
        after / page,
        after - before
    );
    vm.tick_all();
    assert_eq!(vm.counter("akguard.requests_checked"), Some(10_000));
    // Three of the six requests are denied: 1,666 rounds and the first four of a round.
    assert_eq!(denied, 5_000);
    assert_eq!(vm.counter("akguard.denied"), Some(5_000));
    assert!(vm.unimplemented().is_empty(), "{:?}", vm.unimplemented());
    assert!(vm.logs(LogLevel::Critical).is_empty());
    // The heap's high-water mark is set by the largest single request (a 16 KiB body chunk
    // and a 12 KiB head, with their copies): a few pages at most. Growth that scales with
    // the number of requests is a leak; 256 KiB over 10,000 requests catches one of 27
    // bytes per request.
    assert!(
        after - before <= 256 << 10,
        "linear memory grew by {} bytes",
        after - before
    );
}
