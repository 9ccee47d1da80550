//! akguard in front of a real upstream cluster (a second listener of the same Envoy, reached
//! through a cluster, answering with `direct_response`).
//!
//! With the default `"hold_headers": false` the request headers go on to the upstream while
//! akguard reads the form body, and a denied request's body never follows them: an upstream
//! that answers a call only once it has read the whole request (Envoy's buffer filter in
//! front of it, as an API server acts) never completes a denied call, and the client gets
//! the 403. With `"hold_headers": true` nothing of a denied request reaches the upstream,
//! even one that answers from the headers alone.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;

use envoy::bootstrap::{
    akguard_filter, bootstrap, buffer_filter, cluster_route, direct_route, listener, listener_on,
    loopback_cluster, virtual_host, UPSTREAM_BODY,
};
use envoy::client::{send, Body, Request, Version};
use envoy::{free_port, Envoy, Options};
use std::time::Duration;

const LEAKED: &str = "LTAI5tLeakedKey000000001";

fn form(chunks: &[&str]) -> Request {
    Request {
        method: "POST".into(),
        authority: "ecs.cn-hangzhou.aliyuncs.com".into(),
        path: "/".into(),
        headers: vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: Body::Chunks(
            chunks.iter().map(|c| c.as_bytes().to_vec()).collect(),
            Duration::from_millis(40),
        ),
    }
}

/// An Envoy with akguard (`config`, `allow_stop`) on listener `front`, routing to the
/// listener `api_server` through the cluster `api`; `upstream_filters` run in `api_server`.
fn front_and_upstream(
    config: &str,
    allow_stop: bool,
    upstream_filters: Vec<serde_json::Value>,
) -> Envoy {
    let upstream_port = free_port();
    let front = listener(
        "front",
        vec![virtual_host(
            "api",
            &["*"],
            vec![cluster_route("api", "api")],
        )],
        vec![akguard_filter(config, allow_stop)],
    );
    let upstream = listener_on(
        "api_server",
        upstream_port,
        vec![virtual_host("api", &["*"], vec![direct_route("api")])],
        upstream_filters,
    );
    Envoy::start(
        &bootstrap(
            vec![front, upstream],
            vec![loopback_cluster("api", upstream_port)],
        ),
        &Options {
            tag: "upstream".into(),
            ..Options::default()
        },
    )
}

fn leaked_form() -> Request {
    form(&[
        "Format=XML&Version=2014-05-26",
        &format!("&AccessKeyId={LEAKED}&RegionId=cn-hangzhou"),
        "&Action=RunInstances&ImageId=img-1",
    ])
}

fn clean_form() -> Request {
    form(&[
        "Version=2014-05-26&AccessKeyId=LTAI5tCleanKey0000000001",
        "&Action=RunInstances",
    ])
}

#[test]
fn without_hold_headers_a_denied_form_body_never_reaches_a_real_upstream() {
    let config = format!(r#"{{"leaked_keys": ["{LEAKED}"]}}"#);
    let envoy = front_and_upstream(&config, false, vec![buffer_filter()]);
    let port = envoy.port("front");
    let (leaked, clean) = (leaked_form(), clean_form());
    let rounds = 5;
    for version in [Version::Http1, Version::H2c] {
        for _ in 0..rounds {
            let denied = send(version, port, &leaked);
            assert_eq!(denied.status, 403, "{version:?}: {}", denied.body);
            assert!(
                denied.body.contains("<Code>Forbidden</Code>"),
                "{}",
                denied.body
            );
            let passed = send(version, port, &clean);
            assert_eq!(passed.status, 200, "{version:?}: {}", passed.body);
            assert_eq!(passed.body, UPSTREAM_BODY);
        }
    }
    let calls = 2 * rounds as u64;
    assert_eq!(envoy.stat("wasmcustom.akguard.denied"), calls);
    // The upstream saw the headers of every request (they were not held) ...
    assert_eq!(envoy.stat("http.api_server.downstream_rq_total"), 2 * calls);
    // ... but completed only the clean calls: the denied ones never got their body.
    assert_eq!(envoy.stat("http.api_server.downstream_rq_2xx"), calls);
    assert_eq!(envoy.stat("http.front.downstream_rq_2xx"), calls);
    assert_eq!(envoy.stat("http.front.downstream_rq_4xx"), calls);
}

#[test]
fn with_hold_headers_nothing_of_a_denied_request_reaches_the_upstream() {
    let config = format!(r#"{{"leaked_keys": ["{LEAKED}"], "hold_headers": true}}"#);
    // This upstream answers as soon as it has the headers.
    let envoy = front_and_upstream(&config, true, vec![]);
    let port = envoy.port("front");
    let (leaked, clean) = (leaked_form(), clean_form());
    let rounds = 5;
    for version in [Version::Http1, Version::H2c] {
        for _ in 0..rounds {
            let denied = send(version, port, &leaked);
            assert_eq!(denied.status, 403, "{version:?}: {}", denied.body);
            let passed = send(version, port, &clean);
            assert_eq!(passed.status, 200, "{version:?}: {}", passed.body);
            assert_eq!(passed.body, UPSTREAM_BODY);
        }
    }
    let calls = 2 * rounds as u64;
    assert_eq!(envoy.stat("wasmcustom.akguard.denied"), calls);
    // Only the clean calls reached the upstream at all.
    assert_eq!(envoy.stat("http.api_server.downstream_rq_total"), calls);
    assert_eq!(envoy.stat("cluster.api.upstream_rq_total"), calls);
}
