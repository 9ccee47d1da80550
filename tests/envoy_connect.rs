//! A `CONNECT` through a listener that runs akguard with `hold_headers` and accepts `CONNECT`
//! is answered at once by the route, as it is without akguard: its payload is a tunnel, never
//! a parameter list, so akguard does not hold it waiting for a body that never ends.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;

use envoy::bootstrap::{akguard_filter, bootstrap, direct_route, listener, virtual_host};
use envoy::client::send_raw;
use envoy::{Envoy, Options};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const LEAKED: &str = "LTAI5tLeakedKey000000001";

/// A listener that accepts `CONNECT` (answered by a `direct_response` route) and plain
/// requests, with akguard when `filters` holds it.
fn connect_listener(name: &str, filters: Vec<Value>) -> Value {
    let connect_route = json!({
        "match": { "connect_matcher": {} },
        "direct_response": { "status": 403, "body": { "inline_string": "CONNECT refused by the route" } }
    });
    let mut listener = listener(
        name,
        vec![virtual_host(
            name,
            &["*"],
            vec![connect_route, direct_route(name)],
        )],
        filters,
    );
    let manager = &mut listener["filter_chains"][0]["filters"][0]["typed_config"];
    manager["upgrade_configs"] = json!([{ "upgrade_type": "CONNECT" }]);
    listener
}

#[test]
fn a_connect_is_answered_at_once_with_akguard_holding_headers() {
    let config = format!(r#"{{"leaked_keys": ["{LEAKED}"], "hold_headers": true}}"#);
    let envoy = Envoy::start(
        &bootstrap(
            vec![
                connect_listener("guarded", vec![akguard_filter(&config, true)]),
                connect_listener("bare", vec![]),
            ],
            vec![],
        ),
        &Options {
            tag: "connect".into(),
            ..Options::default()
        },
    );
    let connect = b"CONNECT ecs.cn-hangzhou.aliyuncs.com:443 HTTP/1.1\r\nHost: ecs.cn-hangzhou.aliyuncs.com:443\r\n\r\n";
    for name in ["bare", "guarded"] {
        let started = Instant::now();
        let reply = send_raw(envoy.port(name), connect).unwrap();
        let took = started.elapsed();
        assert_eq!(reply.status, 403, "{name}: {reply:?}");
        assert_eq!(reply.body, "CONNECT refused by the route", "{name}");
        assert!(
            took < Duration::from_secs(5),
            "{name}: the CONNECT was answered after {took:?}"
        );
    }
    // The same listener still checks plain requests.
    let leaked = format!(
        "GET /?Action=RunInstances&AccessKeyId={LEAKED} HTTP/1.1\r\nHost: ecs.aliyuncs.com\r\n\r\n"
    );
    let reply = send_raw(envoy.port("guarded"), leaked.as_bytes()).unwrap();
    assert_eq!(reply.status, 403);
    assert!(
        reply.body.contains("There is a risk of leakage"),
        "{}",
        reply.body
    );
}
