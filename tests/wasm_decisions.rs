//! Decisions of the release module through the proxy-wasm ABI: the shared decision table run
//! through both the native core and the module (one table, two runners, agreeing case by
//! case), and each request style's exchange with the proxy: actions returned, local reply,
//! what reached the upstream, counters and log lines.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;
mod harness;

use common::{check, format_of, load_table, run_native, Case, Outcome, Table, CLEAN, LEAKED};
use harness::{Action, LogLevel, LogLine, Phase, Request, Stream, Vm};
use std::collections::HashMap;

/// The placeholder `run_native` uses for a request id the filter makes up.
const GENERATED: &str = "generated-request-id";

/// Runs table cases through the module: one VM, one plugin per distinct configuration.
struct WasmRunner {
    vm: Vm,
    plugins: HashMap<String, u32>,
}

impl WasmRunner {
    fn new() -> Self {
        WasmRunner {
            vm: Vm::new(),
            plugins: HashMap::new(),
        }
    }

    fn plugin(&mut self, config: &str) -> u32 {
        if let Some(root) = self.plugins.get(config) {
            return *root;
        }
        let plugin = self.vm.start_plugin(config);
        assert!(plugin.configured, "configuration rejected: {config}");
        self.plugins.insert(config.to_string(), plugin.root_id);
        plugin.root_id
    }

    fn run(&mut self, case: &Case, table: &Table) -> Outcome {
        let root = self.plugin(&case.config_text(table));
        // Each case a second after the last, so each deny has its full log line whatever
        // the deny log's allowance a second (the table reads the line of every case).
        self.vm.state_mut().now_nanos += 1_000_000_000;
        let request = Request {
            headers: case.request.headers(),
            body: case.request.chunks(),
            trailers: Vec::new(),
        };
        let id = self.vm.send(root, &request);
        outcome_of(&self.vm, id, &request).unwrap_or_else(|e| panic!("case {:?}: {e}", case.name))
    }
}

/// A field `name=value` of a log line.
fn log_field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split(' ')
        .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
}

fn deny_lines(vm: &Vm, id: u32) -> Vec<&LogLine> {
    vm.logs_of(id)
        .into_iter()
        .filter(|l| {
            l.message.starts_with("akguard deny:") || l.message.starts_with("akguard shadow-deny:")
        })
        .collect()
}

fn is_generated_id(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| {
            g.bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        })
}

/// Reads a stream's outcome the way the native runner reports one. The decision is in the
/// callback that answered or logged the deny; an allow was decided in the body when the
/// module held or read the body, else at the headers.
fn outcome_of(vm: &Vm, id: u32, request: &Request) -> Result<Outcome, String> {
    let stream = vm.stream(id);
    let lines = deny_lines(vm, id);
    if lines.len() > 1 {
        return Err(format!("more than one deny line: {lines:?}"));
    }
    let line = lines.first();
    if let Some(line) = line {
        if line.level != LogLevel::Warn {
            return Err(format!("deny line not at warn: {line:?}"));
        }
    }
    let mut outcome = Outcome {
        rule: line
            .and_then(|l| log_field(&l.message, "rule"))
            .map(str::to_string),
        ..Outcome::default()
    };
    let decided_in = match (&stream.local_response, line) {
        (Some(reply), _) => reply.phase,
        (None, Some(line)) => line.phase,
        (None, None) => {
            let body_looked_at = stream.callbacks.iter().any(|c| {
                c.phase != Phase::RequestHeaders
                    && (c.action == Action::Pause || c.body_bytes_read > 0)
            });
            Some(if body_looked_at {
                Phase::RequestBody
            } else {
                Phase::RequestHeaders
            })
        }
    };
    outcome.decided_at = match decided_in {
        Some(Phase::RequestHeaders) => "headers".into(),
        Some(Phase::RequestBody | Phase::RequestTrailers) => "body".into(),
        other => return Err(format!("decided in {other:?}")),
    };
    if let Some(reply) = &stream.local_response {
        let line = line.ok_or("a local reply without a deny line")?;
        if !line.message.starts_with("akguard deny:") || stream.forwarded.complete {
            return Err(format!(
                "inconsistent deny: {line:?}, {:?}",
                stream.forwarded
            ));
        }
        let request_id = reply
            .header("x-acs-request-id")
            .or_else(|| reply.header("x-oss-request-id"))
            .ok_or("no x-acs-request-id (nor x-oss-request-id)")?;
        if log_field(&line.message, "request_id") != Some(request_id.as_str()) {
            return Err(format!(
                "log line and reply disagree on the request id: {line:?}"
            ));
        }
        let mut body = reply.body_text();
        let given = request
            .headers
            .iter()
            .find(|(n, _)| n == "x-request-id")
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned());
        outcome.request_id = Some(if given.as_deref() == Some(request_id.as_str()) {
            request_id
        } else if is_generated_id(&request_id) {
            body = body.replace(&request_id, GENERATED);
            GENERATED.into()
        } else {
            return Err(format!(
                "request id {request_id:?} neither given nor generated"
            ));
        });
        outcome.verdict = "deny".into();
        outcome.status = Some(reply.status);
        outcome.format = reply.header("content-type").map(|t| format_of(&t));
        outcome.body = Some(body);
    } else if let Some(line) = line {
        if !line.message.starts_with("akguard shadow-deny:") || !stream.passed() {
            return Err(format!(
                "inconsistent shadow deny: {line:?}, {:?}",
                stream.forwarded
            ));
        }
        outcome.verdict = "shadow-deny".into();
    } else if stream.passed() {
        outcome.verdict = "allow".into();
    } else {
        outcome.verdict = format!("neither answered nor let through: {:?}", stream.callbacks);
    }
    Ok(outcome)
}

#[test]
fn decision_table_native_and_wasm_agree_case_by_case() {
    let table = load_table();
    assert!(table.cases.len() >= 50, "the table lost cases");
    let mut runner = WasmRunner::new();
    let mut failures = Vec::new();
    for case in &table.cases {
        let native = run_native(case, &table);
        let wasm = runner.run(case, &table);
        if native != wasm {
            failures.push(format!(
                "case {:?}: runners disagree\n  native {native:?}\n  wasm   {wasm:?}",
                case.name
            ));
        }
        for (runner, outcome) in [("native", &native), ("wasm", &wasm)] {
            if let Err(e) = check(case, outcome) {
                failures.push(format!("{runner}: {e}"));
            }
        }
    }
    let vm = &mut runner.vm;
    assert!(vm.unimplemented().is_empty(), "{:?}", vm.unimplemented());
    assert!(vm.logs(LogLevel::Critical).is_empty());
    vm.tick_all();
    assert_eq!(
        vm.counter("akguard.requests_checked"),
        Some(table.cases.len() as u64)
    );
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn leaked_config() -> String {
    format!(r#"{{"leaked_keys":["{LEAKED}"]}}"#)
}

fn started(config: &str) -> (Vm, u32) {
    let mut vm = Vm::new();
    let plugin = vm.start_plugin(config);
    assert!(plugin.configured, "{:?}", vm.log_lines());
    (vm, plugin.root_id)
}

fn assert_clean_run(vm: &Vm) {
    assert!(vm.unimplemented().is_empty(), "{:?}", vm.unimplemented());
    assert!(vm.logs(LogLevel::Critical).is_empty());
    for line in vm.log_lines() {
        assert!(!line.message.contains(LEAKED), "full key logged: {line:?}");
    }
}

/// The counters once a tick period has passed (checked requests are handed over on ticks).
fn counters(vm: &mut Vm) -> [u64; 4] {
    vm.tick_all();
    [
        "akguard.requests_checked",
        "akguard.leaked_key_seen",
        "akguard.denied",
        "akguard.shadow_denied",
    ]
    .map(|name| {
        vm.counter(name)
            .unwrap_or_else(|| panic!("{name} undefined"))
    })
}

fn reply_json(stream: &Stream) -> serde_json::Value {
    let reply = stream.local_response.as_ref().expect("a local reply");
    serde_json::from_slice(&reply.body).expect("a JSON reply body")
}

#[test]
fn rpc_query_with_a_leaked_key_is_answered_at_the_headers() {
    let (mut vm, root) = started(&leaked_config());
    let id = vm.send(
        root,
        &Request::get(
            "ecs.cn-hangzhou.aliyuncs.com",
            format!("/?Action=RunInstances&AccessKeyId={LEAKED}&Format=JSON"),
        )
        .header("x-request-id", "req-42"),
    );
    let stream = vm.stream(id);
    assert_eq!(stream.actions(), [Action::Pause]);
    assert!(
        !stream.forwarded.headers,
        "a denied request must not reach the upstream"
    );
    let reply = stream.local_response.as_ref().unwrap();
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/json;charset=utf-8")
    );
    assert_eq!(reply.header("x-acs-request-id").as_deref(), Some("req-42"));
    let body = reply_json(stream);
    assert_eq!(body["Code"], "Forbidden");
    assert_eq!(
        body["Message"],
        "There is a risk of leakage of this AccessKey."
    );
    assert_eq!(body["HostId"], "ecs.cn-hangzhou.aliyuncs.com");
    assert_eq!(body["RequestId"], "req-42");
    assert_eq!(counters(&mut vm), [1, 1, 1, 0]);
    let warns = vm.logs(LogLevel::Warn);
    assert_eq!(warns.len(), 1);
    assert!(
        warns[0].starts_with("akguard deny: key=LTAI****0001 product=ecs action=RunInstances rule=listed-action mode=enforce host=ecs.cn-hangzhou.aliyuncs.com request_id=req-42"),
        "{}",
        warns[0]
    );
    assert_clean_run(&vm);
}

#[test]
fn clean_and_harmless_requests_go_on_at_the_headers() {
    let (mut vm, root) = started(&leaked_config());
    let requests = [
        Request::get(
            "ecs.aliyuncs.com",
            format!("/?Action=RunInstances&AccessKeyId={CLEAN}"),
        ),
        Request::get(
            "ecs.aliyuncs.com",
            format!("/?Action=DescribeInstances&AccessKeyId={LEAKED}"),
        ),
        Request::get("example.com", "/index.html"),
    ];
    for request in &requests {
        let id = vm.send(root, request);
        let stream = vm.stream(id);
        assert_eq!(stream.actions(), [Action::Continue]);
        assert!(stream.passed() && stream.local_response.is_none());
    }
    assert_eq!(counters(&mut vm), [3, 1, 0, 0]);
    assert!(vm.logs(LogLevel::Warn).is_empty());
    assert_clean_run(&vm);
}

/// A PHP-SDK style call: everything in a form body, split so that the deciding bytes come in
/// the third chunk.
fn split_form(key: &str) -> Request {
    Request::form("ecs.cn-hangzhou.aliyuncs.com", "/")
        .chunk("Format=JSON&Version=2014-05-26&Action=RunIns")
        .chunk("tances&AccessKeyId=")
        .chunk(format!("{key}&SignatureMethod=HMAC-SHA1"))
        .chunk("&Signature=abc%3D")
}

#[test]
fn form_body_over_chunks_is_denied_as_soon_as_the_bytes_allow() {
    for hold_headers in [false, true] {
        let config = format!(r#"{{"leaked_keys":["{LEAKED}"],"hold_headers":{hold_headers}}}"#);
        let (mut vm, root) = started(&config);
        vm.allow_on_headers_stop_iteration = true;
        let request = split_form(LEAKED);
        let id = vm.send(root, &request);
        let stream = vm.stream(id);
        let header_action = if hold_headers {
            Action::Pause
        } else {
            Action::Continue
        };
        assert_eq!(
            stream.actions(),
            [header_action, Action::Pause, Action::Pause, Action::Pause],
            "hold_headers={hold_headers}: the fourth chunk is not needed"
        );
        let lens: Vec<usize> = request.body.iter().map(Vec::len).collect();
        let body_calls: Vec<(usize, usize, bool)> = stream.callbacks[1..]
            .iter()
            .map(|c| (c.size, c.body_bytes_read, c.sent_local_response))
            .collect();
        // Envoy passes the length of all it holds; the filter reads only the new bytes.
        assert_eq!(
            body_calls,
            [
                (lens[0], lens[0], false),
                (lens[0] + lens[1], lens[1], false),
                (lens[0] + lens[1] + lens[2], lens[2], true),
            ]
        );
        let reply = stream.local_response.as_ref().unwrap();
        assert_eq!((reply.status, reply.phase), (403, Some(Phase::RequestBody)));
        assert!(
            stream.forwarded.body.is_empty(),
            "no body byte of a denied call goes on"
        );
        assert_eq!(stream.forwarded.headers, !hold_headers);
        assert_eq!(counters(&mut vm), [1, 1, 1, 0]);
        assert_clean_run(&vm);
    }
}

#[test]
fn clean_form_body_is_held_then_let_through_whole() {
    for hold_headers in [false, true] {
        let config = format!(r#"{{"leaked_keys":["{LEAKED}"],"hold_headers":{hold_headers}}}"#);
        let (mut vm, root) = started(&config);
        vm.allow_on_headers_stop_iteration = true;
        let request = split_form(CLEAN);
        let id = vm.send(root, &request);
        let stream = vm.stream(id);
        let header_action = if hold_headers {
            Action::Pause
        } else {
            Action::Continue
        };
        assert_eq!(
            stream.actions(),
            [
                header_action,
                Action::Pause,
                Action::Pause,
                Action::Pause,
                Action::Continue
            ]
        );
        assert!(stream.passed(), "{:?}", stream.forwarded);
        // Let through by the last body callback's Continue, not by proxy_continue_stream.
        assert_eq!(stream.resumed, 0);
        assert_eq!(stream.forwarded.body, request.body.concat());
        assert_eq!(stream.body_bytes_read(), request.body.concat().len());
        assert_eq!(counters(&mut vm), [1, 0, 0, 0]);
        assert_clean_run(&vm);
    }
}

#[test]
fn held_headers_without_allow_on_headers_stop_iteration_stall_the_request() {
    let config = format!(r#"{{"leaked_keys":["{LEAKED}"],"hold_headers":true}}"#);
    let (mut vm, root) = started(&config);
    let id = vm.send(root, &split_form(CLEAN));
    let stream = vm.stream(id);
    // Envoy delivers no body callback after a header pause unless the filter is configured
    // with allow_on_headers_stop_iteration: the request would wait until it times out.
    assert_eq!(stream.actions(), [Action::Pause]);
    assert_eq!(stream.withheld_chunks, 4);
    assert!(!stream.passed() && stream.local_response.is_none());
}

#[test]
fn form_body_ending_in_trailers_is_decided_at_the_trailers() {
    let (mut vm, root) = started(&leaked_config());
    let denied = Request::form("ecs.aliyuncs.com", "/")
        .chunk("Action=RunInstances&AccessKeyId=")
        .chunk(LEAKED)
        .trailer("x-checksum", "1");
    let id = vm.send(root, &denied);
    let stream = vm.stream(id);
    assert_eq!(
        stream.actions(),
        [
            Action::Continue,
            Action::Pause,
            Action::Pause,
            Action::Pause
        ]
    );
    let reply = stream.local_response.as_ref().unwrap();
    assert_eq!(
        (reply.status, reply.phase),
        (403, Some(Phase::RequestTrailers))
    );

    let clean = Request::form("ecs.aliyuncs.com", "/")
        .chunk("Action=RunInstances&AccessKeyId=")
        .chunk(CLEAN)
        .trailer("x-checksum", "1");
    let id = vm.send(root, &clean);
    let stream = vm.stream(id);
    assert_eq!(
        stream.actions(),
        [
            Action::Continue,
            Action::Pause,
            Action::Pause,
            Action::Continue
        ]
    );
    assert!(stream.passed() && stream.forwarded.trailers);
    assert_clean_run(&vm);
}

#[test]
fn header_signed_styles_are_decided_at_the_headers() {
    let (mut vm, root) = started(&leaked_config());
    let host = "ecs.cn-hangzhou.aliyuncs.com";
    let styles = [
        ("authorization", format!("ACS3-HMAC-SHA256 Credential={LEAKED},SignedHeaders=host,Signature=ab")),
        ("authorization", format!("ACS4-HMAC-SHA256 Credential={LEAKED}/20260101/cn-hangzhou/ecs/aliyun_v4_request,SignedHeaders=host,Signature=ab")),
        ("authorization", format!("acs {LEAKED}:c2lnbmF0dXJl")),
        ("x-acs-accesskey-id", LEAKED.to_string()),
    ];
    for (name, value) in &styles {
        let request = Request::new("POST", host, "/")
            .header(name, value)
            .header("x-acs-action", "RunInstances")
            .header("x-acs-version", "2014-05-26");
        let id = vm.send(root, &request);
        let stream = vm.stream(id);
        assert_eq!(stream.actions(), [Action::Pause], "{name}: {value}");
        assert_eq!(stream.local_response.as_ref().map(|r| r.status), Some(403));
        let clean = Request::new("POST", host, "/")
            .header(name, value.replace(LEAKED, CLEAN))
            .header("x-acs-action", "RunInstances");
        let id = vm.send(root, &clean);
        assert_eq!(vm.stream(id).actions(), [Action::Continue], "{name}: clean");
        assert!(vm.stream(id).passed());
    }
    assert_eq!(counters(&mut vm), [8, 4, 4, 0]);
    assert_clean_run(&vm);
}

#[test]
fn shadow_mode_counts_and_logs_without_answering() {
    let config = format!(r#"{{"leaked_keys":["{LEAKED}"],"mode":"shadow"}}"#);
    let (mut vm, root) = started(&config);
    let id = vm.send(
        root,
        &Request::get(
            "ram.aliyuncs.com",
            format!("/?Action=CreateUser&AccessKeyId={LEAKED}"),
        ),
    );
    let stream = vm.stream(id);
    assert_eq!(stream.actions(), [Action::Continue]);
    assert!(stream.passed() && stream.local_response.is_none());
    assert_eq!(counters(&mut vm), [1, 1, 0, 1]);
    let warns = vm.logs(LogLevel::Warn);
    assert_eq!(warns.len(), 1);
    assert!(
        warns[0].starts_with("akguard shadow-deny: key=LTAI****0001 product=ram "),
        "{}",
        warns[0]
    );
    assert_eq!(log_field(&warns[0], "rule"), Some("all-operations"));
    assert_eq!(log_field(&warns[0], "mode"), Some("shadow"));
    assert_clean_run(&vm);
}

#[test]
fn deny_all_calls_denies_a_harmless_call() {
    let config = format!(r#"{{"leaked_keys":["{LEAKED}"],"deny_all_calls":true}}"#);
    let (mut vm, root) = started(&config);
    let id = vm.send(
        root,
        &Request::get(
            "ecs.aliyuncs.com",
            format!("/?Action=DescribeRegions&AccessKeyId={LEAKED}"),
        ),
    );
    assert_eq!(vm.stream(id).actions(), [Action::Pause]);
    assert_eq!(
        log_field(&vm.logs(LogLevel::Warn)[0], "rule"),
        Some("deny-all-calls")
    );
    assert_clean_run(&vm);
}

#[test]
fn format_xml_gets_an_xml_reply() {
    let (mut vm, root) = started(&leaked_config());
    let id = vm.send(
        root,
        &Request::get(
            "ecs.aliyuncs.com",
            format!("/?Action=DeleteInstance&Format=XML&AccessKeyId={LEAKED}"),
        )
        .header("x-request-id", "abc-1"),
    );
    let reply = vm.stream(id).local_response.clone().unwrap();
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("text/xml;charset=utf-8")
    );
    let body = reply.body_text();
    assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><RequestId>abc-1</RequestId><HostId>ecs.aliyuncs.com</HostId><Code>Forbidden</Code><Message>There is a risk of leakage of this AccessKey.</Message>"), "{body}");
}

#[test]
fn request_ids_come_from_the_request_or_are_made_per_request() {
    let (mut vm, root) = started(&leaked_config());
    let path = format!("/?Action=RunInstances&AccessKeyId={LEAKED}");
    let given = vm.send(
        root,
        &Request::get("ecs.aliyuncs.com", &path).header("x-request-id", "5b8e6a3c-0000-4e2a"),
    );
    assert_eq!(
        vm.stream(given)
            .local_response
            .as_ref()
            .unwrap()
            .header("x-acs-request-id")
            .as_deref(),
        Some("5b8e6a3c-0000-4e2a")
    );
    let mut made = Vec::new();
    for unusable in [None, Some("has space"), Some("a\"b")] {
        let mut request = Request::get("ecs.aliyuncs.com", &path);
        if let Some(value) = unusable {
            request = request.header("x-request-id", value);
        }
        let id = vm.send(root, &request);
        let stream = vm.stream(id);
        let header = stream
            .local_response
            .as_ref()
            .unwrap()
            .header("x-acs-request-id")
            .unwrap();
        assert!(is_generated_id(&header), "{header}");
        assert_eq!(reply_json(stream)["RequestId"], header.as_str());
        let line = &deny_lines(&vm, id)[0].message;
        assert_eq!(log_field(line, "request_id"), Some(header.as_str()));
        made.push(header);
    }
    made.sort();
    made.dedup();
    assert_eq!(made.len(), 3, "each request gets its own id");
    assert_clean_run(&vm);
}

#[test]
fn form_body_past_max_body_bytes_is_refused() {
    let config = format!(r#"{{"leaked_keys":["{LEAKED}"],"max_body_bytes":64}}"#);
    let (mut vm, root) = started(&config);
    let request = Request::form("ecs.aliyuncs.com", "/")
        .chunk("Action=DescribeRegions&Padding=")
        .chunk("x".repeat(40))
        .chunk("&AccessKeyId=LTAI5tLeakedKey000000001");
    let id = vm.send(root, &request);
    let stream = vm.stream(id);
    assert_eq!(
        stream.actions(),
        [Action::Continue, Action::Pause, Action::Pause]
    );
    let reply = stream.local_response.as_ref().unwrap();
    assert_eq!(reply.status, 413);
    assert_eq!(reply_json(stream)["Code"], "RequestBodyTooLarge");
    assert_eq!(vm.counter("akguard.body_too_large"), Some(1));
    assert!(stream.forwarded.body.is_empty());
    assert_clean_run(&vm);
}
