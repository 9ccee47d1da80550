//! A configuration far larger than one read (1.5 MB: 100,000 packed keys in blocks and
//! 20,000 plain IDs) in a real Envoy: the filter reads it from Envoy a slice at a time, and
//! keys from its first and last slices are all enforced.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;

use akguard::core::packed::{encode_blocks, entry_of_key};
use envoy::bootstrap::{bootstrap, direct_listener};
use envoy::client::{send, Request, Version};
use envoy::{Envoy, Options};

fn call(key: &str) -> Request {
    Request::get("ecs.cn-hangzhou.aliyuncs.com", "/?Action=RunInstances")
        .header("x-acs-accesskey-id", key)
}

#[test]
fn a_large_configuration_is_read_whole_in_slices() {
    let packed_keys: Vec<String> = (0..100_000)
        .map(|i| format!("LTAI5tPackedKey{i:09}"))
        .collect();
    let plain_keys: Vec<String> = (0..20_000)
        .map(|i| format!("LTAI5tPlainKey{i:010}"))
        .collect();
    let blocks = encode_blocks(
        packed_keys
            .iter()
            .map(|k| entry_of_key(k.as_bytes()))
            .collect(),
    );
    let configuration = format!(
        r#"{{"leaked_keys_packed": {}, "leaked_keys": {}}}"#,
        serde_json::to_string(&blocks).unwrap(),
        serde_json::to_string(&plain_keys).unwrap()
    );
    assert!(configuration.len() > 1_400_000, "{}", configuration.len());
    let envoy = Envoy::start(
        &bootstrap(vec![direct_listener("large", &configuration, true)], vec![]),
        &Options {
            concurrency: 1,
            tag: "large-config".into(),
        },
    );
    envoy.wait_log_line(&["akguard configuration accepted: leaked_keys=120000 (distinct 120000)"]);
    let port = envoy.port("large");
    let expectations = [
        (packed_keys[0].as_str(), 403),
        (packed_keys[99_999].as_str(), 403),
        (plain_keys[0].as_str(), 403),
        (plain_keys[19_999].as_str(), 403),
        ("LTAI5tPlainKey0000020000", 200),
        ("LTAI5tCleanKey0000000001", 200),
    ];
    for (key, status) in expectations {
        let reply = send(Version::Http1, port, &call(key));
        assert_eq!(reply.status, status, "{key}: {}", envoy.log_tail(20));
    }
    assert!(
        !envoy.log().contains("akguard configuration rejected"),
        "{}",
        envoy.log_tail(20)
    );
}
