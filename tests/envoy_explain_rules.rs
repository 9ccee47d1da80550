//! `akguard explain` and a real Envoy agree on `_rules_`, case by case: one configuration with
//! a route rule, a shadow-mode domain rule with its own `endpoints`, a service rule and the
//! top level; each request goes through Envoy and through `explain` (given the route and
//! upstream cluster names Envoy gives that request), and both must reach the same verdict and
//! log the same decision line. Every rule holds the headers while a form body is read
//! (`hold_headers`), so a decision from the body is Envoy's as well.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod cli_support;
mod envoy;

use envoy::bootstrap::{
    akguard_filter, bootstrap, cluster_route, direct_route, listener, listener_on,
    loopback_cluster, virtual_host, UPSTREAM_BODY,
};
use envoy::client::{send, Body, Request, Version};
use envoy::{free_port, Envoy, Options};

const KEY_G: &str = "LTAI5tGlobalKey000000001";
const KEY_R: &str = "LTAI5tRouteKey0000000001";
const KEY_D: &str = "LTAI5tDomainKey000000001";
const KEY_S: &str = "LTAI5tServiceKey00000001";

fn config() -> String {
    format!(
        r#"{{"leaked_keys": ["{KEY_G}"], "hold_headers": true,
            "_rules_": [
              {{"_match_route_": ["ci-route"], "leaked_keys": ["{KEY_R}"], "deny_all_calls": true, "hold_headers": true}},
              {{"_match_domain_": ["*.corp.example"], "leaked_keys": ["{KEY_D}", "{KEY_G}"], "mode": "shadow", "endpoints": {{"*.corp.example": "ecs"}}, "hold_headers": true}},
              {{"_match_service_": ["rds_backend"], "leaked_keys": ["{KEY_S}"], "hold_headers": true}}
            ]}}"#
    )
}

/// The route name and upstream cluster Envoy gives a request to `host` (see the listener
/// below).
fn envoy_names(host: &str) -> (&'static str, Option<&'static str>) {
    match host {
        "ci.example" => ("ci-route", None),
        "rds.aliyuncs.com" => ("to-rds", Some("rds_backend")),
        _ => ("default", None),
    }
}

/// One case: a host, an action and a key, sent as a query, or as a form body.
struct Case {
    host: &'static str,
    action: &'static str,
    key: &'static str,
    form: bool,
}

const fn get(host: &'static str, action: &'static str, key: &'static str) -> Case {
    Case {
        host,
        action,
        key,
        form: false,
    }
}

const fn form(host: &'static str, action: &'static str, key: &'static str) -> Case {
    Case {
        host,
        action,
        key,
        form: true,
    }
}

const CASES: &[Case] = &[
    get("ecs.aliyuncs.com", "RunInstances", KEY_G),
    get("ecs.aliyuncs.com", "RunInstances", KEY_R),
    get("ecs.aliyuncs.com", "DescribeInstances", KEY_G),
    get("ci.example", "DescribeRegions", KEY_R),
    get("ci.example", "RunInstances", KEY_G),
    form("ci.example", "DescribeRegions", KEY_R),
    // The issue's case: a shadow rule whose endpoints name the product.
    get("api.corp.example", "RunInstances", KEY_G),
    get("api.corp.example", "RunInstances", KEY_D),
    get("api.corp.example", "DescribeInstances", KEY_D),
    form("api.corp.example", "DeleteInstance", KEY_D),
    get("api.corp.example", "RunInstances", KEY_S),
    get("corp.example", "RunInstances", KEY_G),
    get("rds.aliyuncs.com", "CreateAccount", KEY_S),
    get("rds.aliyuncs.com", "CreateAccount", KEY_G),
    form("rds.aliyuncs.com", "CreateAccount", KEY_S),
    get("unknown.example", "RunInstances", KEY_G),
    get("unknown.example", "RunInstances", KEY_D),
];

impl Case {
    fn body(&self) -> String {
        format!("Action={}&AccessKeyId={}", self.action, self.key)
    }

    fn request(&self, request_id: &str) -> Request {
        let mut request = if self.form {
            Request {
                method: "POST".into(),
                authority: self.host.into(),
                path: "/".into(),
                headers: vec![(
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                )],
                body: Body::Whole(self.body().into_bytes()),
            }
        } else {
            Request::get(self.host, &format!("/?{}", self.body()))
        };
        request
            .headers
            .push(("x-request-id".into(), request_id.into()));
        request
    }

    /// The same request as a curl command for `explain`.
    fn curl(&self, request_id: &str) -> Vec<String> {
        let id = format!("x-request-id: {request_id}");
        let mut words: Vec<String> = vec!["curl".into()];
        if self.form {
            words.extend([format!("http://{}/", self.host), "-d".into(), self.body()]);
        } else {
            words.push(format!("http://{}/?{}", self.host, self.body()));
        }
        words.extend(["-H".into(), id]);
        words
    }
}

/// What Envoy did: `allow` or the akguard log line (from `akguard deny:` or
/// `akguard shadow-deny:` on), with the status.
fn envoy_outcome(status: u16, body: &str, log: &str, request_id: &str) -> String {
    let tail = format!("request_id={request_id}");
    let logged = log
        .lines()
        .find(|l| l.contains("akguard ") && l.ends_with(&tail))
        .and_then(|l| {
            l.find("akguard deny:")
                .or(l.find("akguard shadow-deny:"))
                .map(|at| &l[at..])
        });
    match logged {
        None if status == 200 && body == UPSTREAM_BODY => "allow".into(),
        None => format!("status {status} without a log line"),
        Some(line) if status == 200 && body == UPSTREAM_BODY => format!("pass: {line}"),
        Some(line) => format!("status {status}: {line}"),
    }
}

/// What `explain` said: `allow` or its `log:` line, with the exit code standing for the
/// status.
fn explain_outcome(run: &cli_support::Run) -> String {
    let logged = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("log:      "));
    match (run.code, logged) {
        (0, None) => "allow".into(),
        (4, Some(line)) => format!("pass: {line}"),
        (3, Some(line)) => format!("status 403: {line}"),
        (code, _) => format!("exit {code}:\n{}{}", run.stdout, run.stderr),
    }
}

#[test]
fn explain_chooses_the_rule_and_decides_as_envoy_does() {
    let config = config();
    let backend_port = free_port();
    let front = listener(
        "front",
        vec![
            virtual_host("ci", &["ci.example"], vec![direct_route("ci-route")]),
            virtual_host(
                "rds",
                &["rds.aliyuncs.com"],
                vec![cluster_route("to-rds", "rds_backend")],
            ),
            virtual_host("all", &["*"], vec![direct_route("default")]),
        ],
        vec![akguard_filter(&config, true)],
    );
    let backend = listener_on(
        "backend",
        backend_port,
        vec![virtual_host(
            "backend",
            &["*"],
            vec![direct_route("backend")],
        )],
        vec![],
    );
    let envoy = Envoy::start(
        &bootstrap(
            vec![front, backend],
            vec![loopback_cluster("rds_backend", backend_port)],
        ),
        &Options {
            tag: "explain-rules".into(),
            ..Options::default()
        },
    );
    let port = envoy.port("front");
    let dir = cli_support::scratch("explain-envoy-rules");
    let config_path = cli_support::write(&dir, "akguard.json", &config);
    let mut sent = Vec::new();
    for version in [Version::Http1, Version::H2c] {
        for (i, case) in CASES.iter().enumerate() {
            let id = format!("rules-{version:?}-{i}");
            let reply = send(version, port, &case.request(&id));
            sent.push((version, case, id, reply));
        }
    }
    let mut explained = Vec::new();
    for (_, case, id, _) in &sent {
        let (route, service) = envoy_names(case.host);
        let mut args = vec![
            "explain".to_string(),
            "--config".into(),
            config_path.to_str().unwrap().into(),
            "--route".into(),
            route.into(),
        ];
        if let Some(service) = service {
            args.extend(["--service".into(), service.into()]);
        }
        args.push("--".into());
        args.extend(case.curl(id));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        explained.push(explain_outcome(&cli_support::run_in(&dir, &args, None)));
    }
    // Envoy logs each decision before it replies; wait for the last one `explain` expects.
    if let Some((_, _, id, _)) = sent
        .iter()
        .zip(&explained)
        .rev()
        .find(|(_, e)| *e != "allow")
        .map(|(s, _)| s)
    {
        envoy.wait_log_line(&[&format!("request_id={id}")]);
    }
    let log = envoy.log();
    let mut failures = Vec::new();
    let mut denied = 0;
    for ((version, case, id, reply), explained) in sent.iter().zip(&explained) {
        let in_envoy = envoy_outcome(reply.status, &reply.body, &log, id);
        denied += usize::from(in_envoy != "allow");
        if *explained != in_envoy {
            failures.push(format!(
                "{version:?} {} {} {} (form {}):\n  envoy:   {in_envoy}\n  explain: {explained}",
                case.host, case.action, case.key, case.form
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} disagree:\n{}",
        failures.len(),
        sent.len(),
        failures.join("\n")
    );
    // Both verdicts are exercised, shadow-deny included.
    assert!(denied >= 8 && denied < sent.len(), "{denied} decisions");
    assert!(log.contains("mode=shadow host=api.corp.example"));
}
