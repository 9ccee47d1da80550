//! Higress-style `_rules_` in a real Envoy: one configuration with a route rule, a domain
//! rule and a service rule; each request is checked against the first matching rule's keys
//! (route name and upstream cluster read from Envoy), else the top-level keys. Over HTTP/1.1
//! and h2c.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;

use envoy::bootstrap::{
    akguard_filter, bootstrap, cluster_route, direct_route, listener, listener_on,
    loopback_cluster, virtual_host,
};
use envoy::client::{send, Body, Request, Version};
use envoy::{free_port, Envoy, Options};
use std::time::Duration;

const KEY_G: &str = "LTAI5tGlobalKey000000001";
const KEY_R: &str = "LTAI5tRouteKey0000000001";
const KEY_D: &str = "LTAI5tDomainKey000000001";
const KEY_S: &str = "LTAI5tServiceKey00000001";

fn call(host: &str, action: &str, key: &str) -> Request {
    Request::get(host, &format!("/?Action={action}&AccessKeyId={key}"))
}

#[test]
fn the_first_matching_rule_decides_by_route_host_and_service() {
    let config = format!(
        r#"{{"leaked_keys": ["{KEY_G}"], "hold_headers": true,
            "_rules_": [
              {{"_match_route_": ["ci-route"], "leaked_keys": ["{KEY_R}"], "deny_all_calls": true, "hold_headers": true}},
              {{"_match_domain_": ["*.corp.example"], "leaked_keys": ["{KEY_D}"], "endpoints": {{"*.corp.example": "ecs"}}}},
              {{"_match_service_": ["rds_backend"], "leaked_keys": ["{KEY_S}"]}}
            ]}}"#
    );
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
            tag: "rules".into(),
            ..Options::default()
        },
    );
    let port = envoy.port("front");
    let ci_form = Request {
        method: "POST".into(),
        authority: "ci.example".into(),
        path: "/".into(),
        headers: vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: Body::Chunks(
            vec![
                b"Action=DescribeRegions".to_vec(),
                format!("&AccessKeyId={KEY_R}").into_bytes(),
            ],
            Duration::from_millis(30),
        ),
    };
    let plan = [
        (
            "top level: its key",
            call("ecs.aliyuncs.com", "RunInstances", KEY_G),
            403,
        ),
        (
            "top level: a rule's key",
            call("ecs.aliyuncs.com", "RunInstances", KEY_R),
            200,
        ),
        (
            "route rule: deny_all_calls",
            call("ci.example", "DescribeRegions", KEY_R),
            403,
        ),
        (
            "route rule: replaces the top level",
            call("ci.example", "RunInstances", KEY_G),
            200,
        ),
        ("route rule: key in a form body", ci_form, 403),
        (
            "domain rule: its endpoints",
            call("ecs.corp.example", "RunInstances", KEY_D),
            403,
        ),
        (
            "domain rule: harmless action",
            call("ecs.corp.example", "DescribeInstances", KEY_D),
            200,
        ),
        (
            "domain rule: top-level key",
            call("ecs.corp.example", "RunInstances", KEY_G),
            200,
        ),
        (
            "service rule: its key",
            call("rds.aliyuncs.com", "CreateAccount", KEY_S),
            403,
        ),
        (
            "service rule: top-level key",
            call("rds.aliyuncs.com", "CreateAccount", KEY_G),
            200,
        ),
    ];
    for version in [Version::Http1, Version::H2c] {
        for (name, request, status) in &plan {
            let reply = send(version, port, request);
            assert_eq!(reply.status, *status, "{version:?} {name}: {}", reply.body);
            if *status == 403 {
                assert!(
                    reply.body.contains("\"Code\":\"Forbidden\""),
                    "{}",
                    reply.body
                );
            }
        }
    }
    // The service rule's calls that passed went through the real cluster.
    assert_eq!(envoy.stat("cluster.rds_backend.upstream_rq_2xx"), 2);
    envoy.wait_log_line(&["akguard configuration accepted", "rules=3"]);
}
