//! `akguard explain`: the verdict it prints is the filter's (every case of the shared
//! decision table, run through the binary as raw HTTP/1.1 requests with their body chunks),
//! requests are read from curl commands and raw files, keys never appear in full, and bad
//! input fails with a message.

mod cli_support;
mod common;

use cli_support::{expect_code, run_in, scratch, write, Run};
use std::path::Path;

const LEAKED: &str = common::LEAKED;
const CLEAN: &str = common::CLEAN;

fn verdict_code(verdict: &str) -> i32 {
    match verdict {
        "allow" => 0,
        "deny" => 3,
        "shadow-deny" => 4,
        // No exit code: the case's verdict is not one explain reports.
        _ => -1,
    }
}

#[test]
fn every_decision_table_case_gets_the_filters_verdict() {
    let table = common::load_table();
    let dir = scratch("explain-table");
    for (i, case) in table.cases.iter().enumerate() {
        let config = write(&dir, &format!("config{i}.json"), case.config_text(&table));
        let request = write(
            &dir,
            &format!("request{i}.http"),
            common::raw_http1(&case.request),
        );
        let got = run_in(
            &dir,
            &[
                "explain",
                "--config",
                config.to_str().unwrap(),
                "--raw",
                request.to_str().unwrap(),
            ],
            None,
        );
        let native = common::run_native(case, &table);
        assert_eq!(native.verdict, case.expect.verdict, "case {:?}", case.name);
        expect_code(
            &got,
            verdict_code(&case.expect.verdict),
            &format!("case {:?}", case.name),
        );
        match &native.rule {
            Some(rule) => assert!(
                got.stdout.contains(&format!("\nrule:     {rule}: ")),
                "case {:?}: rule {rule} not shown:\n{}",
                case.name,
                got.stdout
            ),
            None => assert!(!got.stdout.contains("\nrule:"), "case {:?}", case.name),
        }
        for key in [
            LEAKED,
            "STS.LeakedTemporaryKey01",
            "LTAI5tHashedLeakedKey001",
            CLEAN,
        ] {
            assert!(
                !got.stdout.contains(key) && !got.stderr.contains(key),
                "case {:?}: a full key is printed:\n{}",
                case.name,
                got.stdout
            );
        }
    }
}

fn config_dir(name: &str, config: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    write(&dir, "akguard.json", config);
    dir
}

fn explain(dir: &Path, request: &[&str]) -> Run {
    let mut args = vec!["explain", "--config", "akguard.json"];
    args.extend_from_slice(request);
    run_in(dir, &args, None)
}

fn leaked_config() -> String {
    format!(r#"{{"leaked_keys": ["{LEAKED}"]}}"#)
}

#[test]
fn a_curl_command_is_explained_line_by_line() {
    let dir = config_dir("explain-curl", &leaked_config());
    let url = format!(
        "http://127.0.0.1:10000/?Action=RunInstances&Version=2014-05-26&AccessKeyId={LEAKED}"
    );
    let got = explain(
        &dir,
        &[
            "--",
            "curl",
            &url,
            "-H",
            "Host: ecs.cn-hangzhou.aliyuncs.com",
        ],
    );
    expect_code(&got, 3, "leaked key, listed action");
    assert_eq!(
        got.stdout,
        "request:  GET ecs.cn-hangzhou.aliyuncs.com
host:     ecs.cn-hangzhou.aliyuncs.com -> ecs (Elastic Compute Service (ECS))
keys:     LTAI****0001 in query: leaked
actions:  RunInstances in query: listed for ecs
versions: 2014-05-26 in query
format:   json
body:     none
verdict:  deny, decided from the headers
rule:     listed-action: the action is a listed high-risk operation of this product
reply:    403 Forbidden (application/json;charset=utf-8)
log:      akguard deny: key=LTAI****0001 product=ecs action=RunInstances rule=listed-action mode=enforce host=ecs.cn-hangzhou.aliyuncs.com request_id=<generated>
"
    );
    assert_eq!(got.stderr, "");
}

#[test]
fn one_string_and_a_file_are_read_as_curl_commands() {
    let dir = config_dir("explain-curl-forms", &leaked_config());
    let command = format!(
        "curl -sS -X POST 'https://ecs.aliyuncs.com/?Version=2014-05-26' \\\n  -H 'x-request-id: req-7' \\\n  --data-urlencode 'AccessKeyId={LEAKED}' -d Format=XML -d 'Action=DeleteInstance'"
    );
    let got = explain(&dir, &[&command]);
    expect_code(&got, 3, "form body");
    assert!(
        got.stdout
            .contains("keys:     LTAI****0001 in body: leaked\n"),
        "{}",
        got.stdout
    );
    assert!(got.stdout.contains("format:   xml\n"));
    assert!(got
        .stdout
        .contains("verdict:  deny, decided after reading the body\n"));
    assert!(got
        .stdout
        .contains("reply:    403 Forbidden (text/xml;charset=utf-8)\n"));
    assert!(got.stdout.contains("request_id=req-7\n"));
    assert_eq!(
        got.stderr,
        "note: option -s ignored\nnote: option -S ignored\n"
    );

    let with_user = explain(
        &dir,
        &[
            "--",
            "curl",
            "-u",
            "admin:secret",
            "--user",
            "a:b",
            "http://h/",
        ],
    );
    expect_code(&with_user, 0, "ignored credentials");
    assert_eq!(
        with_user.stderr,
        "note: option -u ignored\nnote: option --user ignored\n"
    );

    write(&dir, "call.sh", &command);
    let from_file = explain(&dir, &["call.sh"]);
    expect_code(&from_file, 3, "curl command in a file");
    assert_eq!(from_file.stdout, got.stdout);
}

#[test]
fn raw_requests_are_read_from_files_and_stdin() {
    let dir = config_dir("explain-raw", &leaked_config());
    let raw = format!(
        "POST / HTTP/1.1\r\nHost: ram.aliyuncs.com\r\nAuthorization: ACS3-HMAC-SHA256 Credential={LEAKED},SignedHeaders=host,Signature=ab\r\nx-acs-action: ListUsers\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}"
    );
    write(&dir, "call.http", &raw);
    for args in [&["--raw", "call.http"][..], &["call.http"][..]] {
        let got = explain(&dir, args);
        expect_code(&got, 3, "ROA/V3 header key on RAM");
        assert!(
            got.stdout
                .contains("keys:     LTAI****0001 in authorization header: leaked\n"),
            "{}",
            got.stdout
        );
        assert!(got
            .stdout
            .contains("actions:  ListUsers in x-acs-action header: listed for ram\n"));
        assert!(got.stdout.contains("rule:     all-operations: "));
        assert!(got
            .stdout
            .contains("body:     2 bytes, not read (JSON, an octet stream or a tunnel: not a parameter list)\n"));
    }
    let got = run_in(
        &dir,
        &["explain", "--config", "akguard.json", "--raw", "-"],
        Some(raw.as_bytes()),
    );
    expect_code(&got, 3, "raw request on stdin");
}

#[test]
fn allowed_requests_say_why() {
    let dir = config_dir("explain-allow", &leaked_config());
    let clean = format!("http://ecs.aliyuncs.com/?Action=RunInstances&AccessKeyId={CLEAN}");
    let got = explain(&dir, &["--", &clean]);
    expect_code(&got, 0, "clean key");
    assert!(
        got.stdout
            .contains("keys:     LTAI****0001 in query: not leaked\n"),
        "{}",
        got.stdout
    );
    assert!(got
        .stdout
        .contains("verdict:  allow, decided from the headers (no leaked key)\n"));
    assert!(!got.stdout.contains("rule:"));

    let harmless = format!("http://ecs.aliyuncs.com/?Action=DescribeRegions&AccessKeyId={LEAKED}");
    let got = explain(&dir, &["--", &harmless]);
    expect_code(&got, 0, "harmless action");
    assert!(got
        .stdout
        .contains("actions:  DescribeRegions in query: not listed\n"));
    assert!(got
        .stdout
        .contains("(a leaked key, but no rule denies this call)"));

    let empty = config_dir("explain-allow-empty", "{}");
    let got = explain(&empty, &["--", &harmless]);
    expect_code(&got, 0, "empty key set");
    assert!(got
        .stdout
        .contains("leaked_keys is empty: nothing is protected"));
    assert!(got.stderr.contains("warning: leaked_keys is empty"));
}

#[test]
fn shadow_mode_exits_4_without_a_reply() {
    let dir = config_dir(
        "explain-shadow",
        &format!(r#"{{"leaked_keys": ["{LEAKED}"], "mode": "shadow"}}"#),
    );
    let url = format!("http://gateway.example/?Action=SendSms&AccessKeyId={LEAKED}");
    let got = explain(&dir, &["--", "curl", &url]);
    expect_code(&got, 4, "shadow-deny");
    assert!(
        got.stdout
            .contains("host:     gateway.example -> no known product\n"),
        "{}",
        got.stdout
    );
    assert!(got
        .stdout
        .contains("SendSms in query: listed for another product (and the host has none)\n"));
    assert!(got.stdout.contains("verdict:  shadow-deny (mode shadow"));
    assert!(got
        .stdout
        .contains("rule:     unknown-host-listed-action: "));
    assert!(got.stdout.contains("log:      akguard shadow-deny: "));
    assert!(!got.stdout.contains("reply:"));
}

#[test]
fn a_body_past_the_limit_is_denied() {
    let dir = config_dir(
        "explain-too-large",
        &format!(r#"{{"leaked_keys": ["{LEAKED}"], "max_body_bytes": 16}}"#),
    );
    let got = explain(
        &dir,
        &[
            "--",
            "curl",
            "http://ecs.aliyuncs.com/",
            "-d",
            "Padding=0123456789abcdef&Action=RunInstances",
        ],
    );
    expect_code(&got, 3, "body past max_body_bytes");
    assert!(
        got.stdout.contains("rule:     body-too-large: "),
        "{}",
        got.stdout
    );
    assert!(got.stdout.contains("reply:    413 RequestBodyTooLarge "));
    assert!(got
        .stdout
        .contains("16 read before deciding (max_body_bytes 16)"));
}

#[test]
fn the_configuration_can_come_from_envoy() {
    let url = "http://127.0.0.1:10000/?Action=RunInstances&AccessKeyId=LTAI5tDemoLeakedKey00001";
    let got = run_in(
        Path::new(cli_support::ROOT),
        &[
            "explain",
            "--envoy",
            "examples/envoy-demo.yaml",
            "--",
            "curl",
            url,
            "-H",
            "Host: ecs.cn-hangzhou.aliyuncs.com",
        ],
        None,
    );
    expect_code(&got, 3, "demo configuration");
    assert!(!got.stdout.contains("LTAI5tDemoLeakedKey00001"));
}

#[test]
fn bad_input_fails_with_a_message() {
    let dir = config_dir("explain-bad", &leaked_config());
    write(&dir, "bad.json", r#"{"mode": "block"}"#);
    write(&dir, "bad.http", "GET / HTTP/1.1\r\nno colon here\r\n\r\n");
    type Case<'a> = (&'a [&'a str], i32, &'a str);
    let cases: &[Case] = &[
        (
            &[
                "explain",
                "--config",
                "akguard.json",
                "--",
                "curl",
                "-F",
                "a=b",
                "http://h/",
            ],
            1,
            "unsupported curl option -F",
        ),
        (
            &[
                "explain",
                "--config",
                "akguard.json",
                "--",
                "curl",
                "-H",
                "x: y",
            ],
            1,
            "names no URL",
        ),
        (
            &["explain", "--config", "akguard.json", "curl 'unclosed"],
            1,
            "unterminated",
        ),
        (
            &["explain", "--config", "akguard.json", "--raw", "bad.http"],
            1,
            "line 2: a header line has no ':'",
        ),
        (
            &[
                "explain",
                "--config",
                "akguard.json",
                "--raw",
                "missing.http",
            ],
            1,
            "missing.http",
        ),
        (
            &["explain", "--config", "akguard.json", "missing.http"],
            1,
            "missing.http: no such file",
        ),
        (
            &["explain", "--config", "bad.json", "--", "http://h/"],
            1,
            "bad.json: mode: expected \"enforce\" or \"shadow\", found \"block\"",
        ),
        (&["explain", "--config", "akguard.json"], 2, "required"),
        (&["explain", "--", "http://h/"], 2, "required"),
        (
            &[
                "explain",
                "--config",
                "akguard.json",
                "--filter",
                "x",
                "--",
                "http://h/",
            ],
            2,
            "--filter",
        ),
        (
            &[
                "explain",
                "--config",
                "akguard.json",
                "--raw",
                "bad.http",
                "--",
                "http://h/",
            ],
            2,
            "cannot be used",
        ),
    ];
    for (args, code, message) in cases {
        let got = run_in(&dir, args, None);
        expect_code(&got, *code, &format!("{args:?}"));
        assert!(
            got.stderr.contains(message),
            "{args:?}: stderr lacks {message:?}:\n{}",
            got.stderr
        );
        assert_eq!(got.stdout, "", "{args:?}");
    }
}

#[test]
fn help_describes_the_request_forms() {
    let got = run_in(Path::new(cli_support::ROOT), &["explain", "--help"], None);
    expect_code(&got, 0, "--help");
    for wanted in [
        "--raw",
        "--config",
        "--envoy",
        "curl",
        "Exit code: 0 allow, 3 deny",
    ] {
        assert!(
            got.stdout.contains(wanted),
            "help lacks {wanted}:\n{}",
            got.stdout
        );
    }
}

/// `explain --envoy examples/higress-wasmplugin.yaml` with the route and upstream named as
/// Envoy names them: `(route, service, host, action, key, exit code, config line start)`.
#[test]
fn rules_are_chosen_as_the_filter_chooses_them() {
    const DEMO: &str = "LTAI5tDemoLeakedKey00001";
    const CI: &str = "LTAI5tCiLeakedKey0000001";
    type Case<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        &'a str,
        &'a str,
        &'a str,
        i32,
        &'a str,
    );
    let rds = "outbound|3306||rds-proxy.data.svc.cluster.local";
    let cases: &[Case] = &[
        (Some("default/aliyun-api-ci"), None, "api.example", "DescribeRegions", CI, 3,
         "_rules_[0] (_match_route_ default/aliyun-api-ci) applies, matched on host api.example, route default/aliyun-api-ci"),
        (None, None, "api.example", "DescribeRegions", CI, 0,
         "the top level applies: none of the 3 _rules_ entries matches host api.example; the route name (--route) was not given, the upstream cluster (--service) was not given"),
        (Some("default/other"), Some("outbound|80||web.default.svc.cluster.local"), "ecs.aliyuncs.com", "RunInstances", CI, 0,
         "the top level applies: none of the 3 _rules_ entries matches host ecs.aliyuncs.com, route default/other, service outbound|80||web.default.svc.cluster.local\n"),
        (None, None, "api.corp.example", "RunInstances", DEMO, 4,
         "_rules_[1] (_match_domain_ *.corp.example, ecs-api.internal) applies, matched on host api.corp.example"),
        (None, None, "ECS-API.internal:8443", "RunInstances", DEMO, 4, "_rules_[1] "),
        (None, None, "api.corp.example", "DescribeInstances", DEMO, 0, "_rules_[1] "),
        // A route rule comes first, whatever the host.
        (Some("default/aliyun-api-ci"), None, "api.corp.example", "DescribeInstances", DEMO, 3, "_rules_[0] "),
        (None, Some(rds), "rds.aliyuncs.com", "CreateAccount", DEMO, 3,
         "_rules_[2] (_match_service_ rds-proxy.data.svc.cluster.local) applies, matched on host rds.aliyuncs.com, service outbound|3306||rds-proxy.data.svc.cluster.local"),
        (None, Some(rds), "rds.aliyuncs.com", "CreateAccount", CI, 0, "_rules_[2] "),
        // The rule's own endpoints: its upstream host is RDS.
        (None, Some(rds), "rds-proxy.data.svc.cluster.local", "CreateAccount", DEMO, 3, "_rules_[2] "),
        (None, None, "rds-proxy.data.svc.cluster.local", "CreateAccount", DEMO, 3, "the top level applies"),
    ];
    for (route, service, host, action, key, code, line) in cases {
        let url = format!("http://{host}/?Action={action}&AccessKeyId={key}");
        let mut args = vec!["explain", "--envoy", "examples/higress-wasmplugin.yaml"];
        if let Some(route) = route {
            args.extend(["--route", route]);
        }
        if let Some(service) = service {
            args.extend(["--service", service]);
        }
        args.extend(["--", "curl", &url]);
        let got = cli_support::run(&args);
        let what = format!("{host} {action} route {route:?} service {service:?}");
        expect_code(&got, *code, &what);
        assert!(
            got.stdout.contains(&format!("\nconfig:   {line}")),
            "{what}: want config line {line:?}:\n{}",
            got.stdout
        );
    }
    // The unknown host of the top level is fail-safe; under the rule its endpoints name ECS.
    let got = cli_support::run(&[
        "explain",
        "--envoy",
        "examples/higress-wasmplugin.yaml",
        "--",
        "curl",
        &format!("http://api.corp.example/?Action=RunInstances&AccessKeyId={DEMO}"),
    ]);
    assert!(
        got.stdout.contains("\nhost:     api.corp.example -> ecs "),
        "{}",
        got.stdout
    );
    assert!(
        got.stdout.contains("\nrule:     listed-action: "),
        "{}",
        got.stdout
    );
    // Without _rules_, no config line.
    let dir = config_dir("explain-no-rules", &leaked_config());
    let got = explain(
        &dir,
        &[
            "--route",
            "r",
            "--",
            "curl",
            "http://ecs.aliyuncs.com/?Action=RunInstances",
        ],
    );
    expect_code(&got, 0, "no rules");
    assert!(!got.stdout.contains("\nconfig:"), "{}", got.stdout);
}

#[test]
fn an_ecds_bootstrap_is_followed_to_its_resource_file() {
    let got = cli_support::run(&[
        "explain",
        "--envoy",
        "examples/envoy-ecds.yaml",
        "--",
        "curl",
        "http://ecs.aliyuncs.com/?Action=RunInstances&AccessKeyId=LTAI5tDemoLeakedKey00001",
    ]);
    expect_code(&got, 3, "the ECDS example's key");
    assert!(
        got.stdout.contains("\nrule:     listed-action: "),
        "{}",
        got.stdout
    );
}
