//! Higress-style `_rules_` through the release module under the wasm harness: the route and
//! upstream cluster names come from the `xds.route_name` and `xds.cluster_name` properties,
//! the host from `:authority`; the first matching rule's policy decides, else the top level.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod harness;

use harness::{LogLevel, Request, Vm};

const KEY_G: &str = "LTAI5tGlobalKey000000001";
const KEY_R: &str = "LTAI5tRouteKey0000000001";
const KEY_D: &str = "LTAI5tDomainKey000000001";
const KEY_S: &str = "LTAI5tServiceKey00000001";

/// The status the module answers (200: the request went on whole).
fn status(
    vm: &mut Vm,
    root: u32,
    request: &Request,
    route: Option<&str>,
    cluster: Option<&str>,
) -> u32 {
    let properties = &mut vm.state_mut().properties;
    for (path, value) in [
        (&b"xds\0route_name"[..], route),
        (&b"xds\0cluster_name"[..], cluster),
    ] {
        match value {
            Some(v) => properties.insert(path.to_vec(), v.as_bytes().to_vec()),
            None => properties.remove(path),
        };
    }
    let id = vm.send(root, request);
    let stream = vm.stream(id);
    match &stream.local_response {
        Some(reply) => reply.status,
        None => {
            assert!(stream.passed(), "neither answered nor passed");
            200
        }
    }
}

fn call(host: &str, action: &str, key: &str) -> Request {
    Request::get(host, format!("/?Action={action}&AccessKeyId={key}"))
}

#[test]
fn the_first_matching_rule_decides() {
    let mut vm = Vm::new();
    let config = format!(
        r#"{{"leaked_keys": ["{KEY_G}"],
            "_rules_": [
              {{"_match_route_": ["ci-route"], "leaked_keys": ["{KEY_R}"], "deny_all_calls": true}},
              {{"_match_domain_": ["*.corp.example"], "leaked_keys": ["{KEY_D}"], "endpoints": {{"*.corp.example": "ecs"}}}},
              {{"_match_service_": ["rds-proxy.data.svc.cluster.local:3306"], "leaked_keys": ["{KEY_S}"]}}
            ]}}"#
    );
    let plugin = vm.start_plugin(&config);
    assert!(plugin.configured, "{:?}", vm.logs(LogLevel::Error));
    let root = plugin.root_id;
    let rds = "outbound|3306||rds-proxy.data.svc.cluster.local";
    let form = Request::form("ci.example", "/")
        .chunk("Action=DescribeRegions&AccessKey")
        .chunk(format!("Id={KEY_R}"));
    // (name, request, route name, cluster name, status)
    type Case<'a> = (&'a str, Request, Option<&'a str>, Option<&'a str>, u32);
    let cases: Vec<Case> = vec![
        (
            "top level",
            call("ecs.aliyuncs.com", "RunInstances", KEY_G),
            None,
            None,
            403,
        ),
        (
            "top level, a rule's key",
            call("ecs.aliyuncs.com", "RunInstances", KEY_R),
            None,
            None,
            200,
        ),
        (
            "route rule",
            call("ci.example", "DescribeRegions", KEY_R),
            Some("ci-route"),
            None,
            403,
        ),
        (
            "route rule, top-level key",
            call("ci.example", "RunInstances", KEY_G),
            Some("ci-route"),
            None,
            200,
        ),
        ("route rule, form body", form, Some("ci-route"), None, 403),
        (
            "other route",
            call("ci.example", "DescribeRegions", KEY_R),
            Some("other"),
            None,
            200,
        ),
        (
            "domain rule",
            call("ecs.corp.example:8443", "RunInstances", KEY_D),
            None,
            None,
            403,
        ),
        (
            "domain rule, top-level key",
            call("ecs.corp.example", "RunInstances", KEY_G),
            None,
            None,
            200,
        ),
        (
            "service rule",
            call("rds.aliyuncs.com", "CreateAccount", KEY_S),
            None,
            Some(rds),
            403,
        ),
        (
            "service rule, other port",
            call("rds.aliyuncs.com", "CreateAccount", KEY_S),
            None,
            Some("outbound|5432||rds-proxy.data.svc.cluster.local"),
            200,
        ),
        (
            "route before domain",
            call("ecs.corp.example", "DescribeRegions", KEY_R),
            Some("ci-route"),
            None,
            403,
        ),
    ];
    for (name, request, route, cluster, want) in &cases {
        assert_eq!(
            status(&mut vm, root, request, *route, *cluster),
            *want,
            "{name}"
        );
    }
    assert!(vm.unimplemented().is_empty(), "{:?}", vm.unimplemented());
}

#[test]
fn a_bad_rule_is_rejected_with_its_path() {
    let mut vm = Vm::new();
    let plugin = vm.start_plugin(
        r#"{"leaked_keys": ["LTAI5tGlobalKey000000001"], "_rules_": [{"_match_route_": ["a"]}, {"_match_domain_": ["b"], "leaked_keys": ["LTAI-bad"]}]}"#,
    );
    assert!(!plugin.configured);
    let errors = vm.logs(LogLevel::Error);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("akguard configuration rejected: _rules_[1].leaked_keys[0]: "),
        "{}",
        errors[0]
    );
}
