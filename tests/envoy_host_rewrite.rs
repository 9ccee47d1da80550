//! A route that rewrites the host (`host_rewrite_literal`) behind akguard in a real Envoy: the
//! upstream receives another product's host than the one the client named, so a leaked key's
//! call named for a harmless host reaches the product it was meant for. A `_rules_` entry
//! pinning the route's `product` closes it: the call is decided as the upstream will read it.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;

use envoy::bootstrap::{
    akguard_filter, bootstrap, direct_route, listener, listener_on, loopback_cluster, virtual_host,
};
use envoy::client::{send, Request, Version};
use envoy::{free_port, Envoy, Options};
use serde_json::json;

const LEAKED: &str = "LTAI5tLeakedKey000000001";
const CLEAN: &str = "LTAI5tCleanKey0000000001";
const ECS: &str = "ecs.cn-hangzhou.aliyuncs.com";

fn call(host: &str, action: &str, key: &str) -> Request {
    Request::get(host, &format!("/?Action={action}&AccessKeyId={key}"))
}

/// A catch-all virtual host whose route sends every host to the ECS endpoint's upstream,
/// rewriting the host to ECS's.
fn rewriting_listener(name: &str, config: &str) -> serde_json::Value {
    let route = json!({
        "name": "to-ecs",
        "match": { "prefix": "/" },
        "route": { "cluster": "ecs_upstream", "host_rewrite_literal": ECS }
    });
    listener(
        name,
        vec![virtual_host("all", &["*"], vec![route])],
        vec![akguard_filter(config, true)],
    )
}

#[test]
fn a_pinned_product_decides_a_host_rewriting_route_as_its_upstream_reads_it() {
    let keys = format!(r#""leaked_keys": ["{LEAKED}"], "hold_headers": true"#);
    let unpinned = format!("{{{keys}}}");
    let pinned = format!(
        r#"{{{keys}, "_rules_": [{{"_match_route_": ["to-ecs"], {keys}, "product": "ecs"}}]}}"#
    );
    let upstream_port = free_port();
    // The upstream answers 200 only for the ECS host: a 200 proves the rewrite reached it.
    let upstream = listener_on(
        "upstream",
        upstream_port,
        vec![
            virtual_host("ecs", &[ECS], vec![direct_route("ecs")]),
            virtual_host(
                "other",
                &["*"],
                vec![json!({ "name": "other", "match": { "prefix": "/" },
                             "direct_response": { "status": 404 } })],
            ),
        ],
        vec![],
    );
    let envoy = Envoy::start(
        &bootstrap(
            vec![
                rewriting_listener("unpinned", &unpinned),
                rewriting_listener("pinned", &pinned),
                upstream,
            ],
            vec![loopback_cluster("ecs_upstream", upstream_port)],
        ),
        &Options {
            tag: "host-rewrite".into(),
            ..Options::default()
        },
    );
    let (open, closed) = (envoy.port("unpinned"), envoy.port("pinned"));
    let plan = [
        // Without the pin: the client names RDS, the upstream gets ECS's RunInstances.
        (open, call("rds.aliyuncs.com", "RunInstances", LEAKED), 200),
        (open, call(ECS, "RunInstances", LEAKED), 403),
        // With it: decided as ECS, whatever the client names.
        (
            closed,
            call("rds.aliyuncs.com", "RunInstances", LEAKED),
            403,
        ),
        (closed, call("api.example.com", "RunInstances", LEAKED), 403),
        (
            closed,
            call("rds.aliyuncs.com", "DescribeRegions", LEAKED),
            200,
        ),
        (closed, call("rds.aliyuncs.com", "RunInstances", CLEAN), 200),
        // An RDS action is not ECS's: the pinned product decides.
        (
            closed,
            call("rds.aliyuncs.com", "DeleteDBInstance", LEAKED),
            200,
        ),
    ];
    for version in [Version::Http1, Version::H2c] {
        for (port, request, status) in &plan {
            let reply = send(version, *port, request);
            let which = if *port == open { "unpinned" } else { "pinned" };
            assert_eq!(
                reply.status, *status,
                "{version:?} {which} {} {}: {}",
                request.authority, request.path, reply.body
            );
            if *status == 403 {
                assert!(
                    reply.body.contains("\"Code\":\"Forbidden\""),
                    "{}",
                    reply.body
                );
                assert!(reply.body.contains("product=ecs"), "{}", reply.body);
            }
        }
    }
    envoy.wait_log_line(&[
        "akguard deny:",
        "product=ecs action=RunInstances rule=listed-action",
        "host=rds.aliyuncs.com",
    ]);
}
