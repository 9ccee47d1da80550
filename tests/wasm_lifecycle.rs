//! The release module's lifecycle under the wasm harness: loading (every import provided),
//! VM start, configuration accepted or rejected with the field path, and re-configuration
//! through a new root context, as Envoy does on a configuration update.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;
mod harness;

use akguard::core::catalog::Catalog;
use akguard::core::config;
use common::{CLEAN, LEAKED};
use harness::{compile, read_module, release_module, Action, LogLevel, Request, Vm};

const METRICS: [&str; 7] = [
    "akguard.requests_checked",
    "akguard.leaked_key_seen",
    "akguard.denied",
    "akguard.shadow_denied",
    "akguard.body_too_large",
    "akguard.config_accepted",
    "akguard.config_rejected",
];

fn listed_call(key: &str) -> Request {
    Request::get(
        "ecs.cn-hangzhou.aliyuncs.com",
        format!("/?Action=RunInstances&AccessKeyId={key}"),
    )
}

fn denied(vm: &mut Vm, root: u32, key: &str) -> bool {
    let id = vm.send(root, &listed_call(key));
    let stream = vm.stream(id);
    match &stream.local_response {
        Some(reply) => {
            assert_eq!(reply.status, 403);
            assert_eq!(stream.actions(), [Action::Pause]);
            true
        }
        None => {
            assert!(stream.passed(), "{:?}", stream.callbacks);
            false
        }
    }
}

#[test]
fn the_harness_provides_every_import_of_the_release_module() {
    let loaded = release_module();
    let imports: Vec<String> = loaded
        .module
        .imports()
        .map(|i| format!("{}.{}", i.module(), i.name()))
        .collect();
    println!(
        "the module imports {}: {}",
        imports.len(),
        imports.join(" ")
    );
    for import in &imports {
        assert!(loaded.provided.contains(import), "{import} not provided");
        assert!(
            import.starts_with("env.proxy_") || import.starts_with("wasi_snapshot_preview1."),
            "unexpected import {import}"
        );
    }
    assert!(imports.contains(&"env.proxy_send_local_response".to_string()));
    assert!(imports.contains(&"wasi_snapshot_preview1.fd_write".to_string()));
}

/// A module importing the named functions, each `() -> ()`, and nothing else.
fn module_importing(imports: &[(&str, &str)]) -> Vec<u8> {
    fn name(out: &mut Vec<u8>, text: &str) {
        out.push(text.len() as u8);
        out.extend_from_slice(text.as_bytes());
    }
    let mut section = vec![imports.len() as u8];
    for (module, field) in imports {
        name(&mut section, module);
        name(&mut section, field);
        section.extend_from_slice(&[0x00, 0x00]); // a function of type 0
    }
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    bytes.extend_from_slice(&[0x01, 0x04, 0x01, 0x60, 0x00, 0x00]); // type 0: () -> ()
    bytes.push(0x02);
    bytes.push(section.len() as u8);
    bytes.extend(section);
    bytes
}

#[test]
fn an_import_the_harness_lacks_is_a_load_error_naming_it() {
    let bytes = module_importing(&[
        ("env", "proxy_log"),
        ("env", "proxy_not_in_the_abi"),
        ("wasi_snapshot_preview1", "sock_accept"),
    ]);
    let error = match compile(&bytes) {
        Ok(_) => panic!("a module with unknown imports loaded"),
        Err(error) => error,
    };
    assert!(
        error.contains("env.proxy_not_in_the_abi")
            && error.contains("wasi_snapshot_preview1.sock_accept")
            && !error.contains("env.proxy_log"),
        "{error}"
    );
}

#[test]
fn a_missing_module_is_a_failure_that_says_how_to_build_it() {
    let path = std::env::temp_dir().join("akguard-no-such-module.wasm");
    let error = read_module(&path).unwrap_err();
    assert!(
        error.contains("akguard-no-such-module.wasm") && error.contains("./build.sh build"),
        "{error}"
    );
}

#[test]
fn vm_starts_and_a_valid_configuration_is_accepted() {
    let mut vm = Vm::new();
    let config = format!(
        r#"{{"leaked_keys":["{LEAKED}","{LEAKED}","STS.LeakedTemporaryKey01"],"mode":"enforce","max_body_bytes":4096}}"#
    );
    let plugin = vm.start_plugin(&config);
    assert!(plugin.started && plugin.configured);
    assert_eq!(
        vm.logs(LogLevel::Info),
        ["akguard configuration accepted: leaked_keys=3 (distinct 2) mode=enforce deny_all_calls=false extra_operations=0 endpoints=0 max_body_bytes=4096 high_risk_list=embedded published=2026-01"]
    );
    for name in METRICS {
        let accepted = u64::from(name == "akguard.config_accepted");
        assert_eq!(vm.counter(name), Some(accepted), "{name}");
    }
    assert_eq!(vm.gauge("akguard.keys_loaded"), Some(2));
    assert_eq!(vm.gauge("akguard.high_risk_list_published"), Some(20260100));
    assert_eq!(
        vm.gauge("akguard.high_risk_list_digest"),
        Some(Catalog::embedded().unwrap().digest as i64)
    );
    for level in [LogLevel::Warn, LogLevel::Error, LogLevel::Critical] {
        assert!(vm.logs(level).is_empty(), "{level:?}: {:?}", vm.logs(level));
    }
    assert!(vm.unimplemented().is_empty(), "{:?}", vm.unimplemented());
    assert!(vm.state().stdout.is_empty() && vm.state().stderr.is_empty());
    assert!(denied(&mut vm, plugin.root_id, LEAKED));
    assert!(!denied(&mut vm, plugin.root_id, CLEAN));
}

#[test]
fn invalid_configurations_are_rejected_with_the_field_path() {
    let cases = [
        (r#"{"leaked_keys":["LTAIa","LTAI-b"]}"#, "leaked_keys[1]"),
        (r#"{"leaked_keys":"LTAIa"}"#, "leaked_keys"),
        (r#"{"mode":"audit"}"#, "mode"),
        (r#"{"deny_all_calls":"yes"}"#, "deny_all_calls"),
        (
            r#"{"extra_operations":[{"product":"ecs","actions":["A"]},{"product":"nope","actions":["B"]}]}"#,
            "extra_operations[1].product",
        ),
        (
            r#"{"endpoints":{"a.example":"nope"}}"#,
            "endpoints.\"a.example\"",
        ),
        (r#"{"max_body_bytes":0}"#, "max_body_bytes"),
        (r#"{"hold_headers":1}"#, "hold_headers"),
        (r#"{"leaked_key":[]}"#, "leaked_key"),
        ("{", "configuration"),
        ("[1]", "configuration"),
    ];
    let mut vm = Vm::new();
    for (n, (text, path)) in cases.iter().enumerate() {
        vm.clear_logs();
        let plugin = vm.start_plugin(text);
        assert!(plugin.started && !plugin.configured, "{text} accepted");
        let expected = config::load(text.as_bytes()).unwrap_err();
        assert_eq!(&expected.path, path, "{text}");
        let errors = vm.logs(LogLevel::Error);
        assert_eq!(
            errors,
            [format!("akguard configuration rejected: {expected}")],
            "{text}"
        );
        assert!(errors[0].starts_with(&format!("akguard configuration rejected: {path}: ")));
        assert_eq!(vm.counter("akguard.config_rejected"), Some(n as u64 + 1));
        assert_eq!(vm.counter("akguard.config_accepted"), Some(0));
        vm.stop_plugin(plugin.root_id);
    }
    assert!(vm.unimplemented().is_empty(), "{:?}", vm.unimplemented());
    assert!(vm.logs(LogLevel::Critical).is_empty());
}

#[test]
fn a_new_root_context_with_a_new_key_set_takes_effect_and_the_old_serves_until_replaced() {
    let second_key = "LTAI5tSecondLeakedKey002";
    let mut vm = Vm::new();
    let first = vm.start_plugin(format!(r#"{{"leaked_keys":["{LEAKED}"]}}"#));
    assert!(first.configured);
    assert!(denied(&mut vm, first.root_id, LEAKED));
    assert!(!denied(&mut vm, first.root_id, second_key));
    assert_eq!(vm.gauge("akguard.keys_loaded"), Some(1));

    // A request in flight on the first plugin when the update arrives.
    let in_flight = vm.open_stream(first.root_id);
    let form = Request::form("ecs.aliyuncs.com", "/");
    assert_eq!(
        vm.request_headers(in_flight, form.headers, false),
        Action::Continue
    );
    assert_eq!(
        vm.request_body(in_flight, b"Action=RunInstances&AccessKeyId=", false),
        Some(Action::Pause)
    );

    let second = vm.start_plugin(format!(r#"{{"leaked_keys":["{second_key}","{CLEAN}"]}}"#));
    assert!(second.configured);
    assert_ne!(first.root_id, second.root_id);
    assert_eq!(vm.gauge("akguard.keys_loaded"), Some(2));
    assert!(denied(&mut vm, second.root_id, second_key));
    assert!(denied(&mut vm, second.root_id, CLEAN));
    assert!(!denied(&mut vm, second.root_id, LEAKED));

    // The old plugin keeps its own key set for the streams it serves.
    assert_eq!(
        vm.request_body(in_flight, LEAKED.as_bytes(), true),
        Some(Action::Pause)
    );
    assert_eq!(
        vm.stream(in_flight)
            .local_response
            .as_ref()
            .map(|r| r.status),
        Some(403)
    );
    vm.close_stream(in_flight);
    assert!(denied(&mut vm, first.root_id, LEAKED));
    vm.stop_plugin(first.root_id);
    assert!(vm.root(first.root_id).deleted);
    assert!(denied(&mut vm, second.root_id, second_key));
    assert!(vm.unimplemented().is_empty(), "{:?}", vm.unimplemented());
    assert!(vm.logs(LogLevel::Critical).is_empty());
}

#[test]
fn a_rejected_reconfiguration_leaves_the_previous_protection_working() {
    let mut vm = Vm::new();
    let first = vm.start_plugin(format!(r#"{{"leaked_keys":["{LEAKED}"]}}"#));
    assert!(first.configured);
    let rejected = vm.start_plugin(format!(r#"{{"leaked_keys":["{CLEAN}","not valid!"]}}"#));
    assert!(!rejected.configured);
    assert_eq!(vm.logs(LogLevel::Error).len(), 1);
    assert!(
        vm.logs(LogLevel::Error)[0].starts_with("akguard configuration rejected: leaked_keys[1]: ")
    );
    assert_eq!(vm.counter("akguard.config_rejected"), Some(1));
    assert_eq!(vm.counter("akguard.config_accepted"), Some(1));
    // Envoy discards the rejected plugin and keeps serving with the previous one.
    vm.stop_plugin(rejected.root_id);
    assert!(denied(&mut vm, first.root_id, LEAKED));
    assert!(!denied(&mut vm, first.root_id, CLEAN));
    assert_eq!(vm.counter("akguard.denied"), Some(1));
    assert!(vm.unimplemented().is_empty(), "{:?}", vm.unimplemented());
}

#[test]
fn checked_requests_reach_envoy_on_the_tick_before_a_deny_and_at_the_end() {
    let mut vm = Vm::new();
    let plugin = vm.start_plugin(format!(r#"{{"leaked_keys":["{LEAKED}"]}}"#));
    assert!(plugin.configured);
    let root = plugin.root_id;
    assert_eq!(vm.root(root).tick_period_ms, 1000);
    let checked = |vm: &Vm| vm.counter("akguard.requests_checked");
    for _ in 0..3 {
        assert!(!denied(&mut vm, root, CLEAN));
    }
    // Counted in the VM, handed over once a second.
    assert_eq!(checked(&vm), Some(0));
    vm.tick(root);
    assert_eq!(checked(&vm), Some(3));
    vm.tick(root);
    assert_eq!(checked(&vm), Some(3), "a tick hands over each request once");
    // Before any other counter moves, so the deny counters never run ahead.
    assert!(!denied(&mut vm, root, CLEAN));
    assert!(denied(&mut vm, root, LEAKED));
    assert_eq!(checked(&vm), Some(5));
    assert_eq!(vm.counter("akguard.denied"), Some(1));
    // And when the plugin goes.
    assert!(!denied(&mut vm, root, CLEAN));
    assert!(!denied(&mut vm, root, CLEAN));
    vm.stop_plugin(root);
    assert_eq!(checked(&vm), Some(7));
    assert!(vm.unimplemented().is_empty(), "{:?}", vm.unimplemented());
}

#[test]
fn a_replacement_high_risk_list_applies_is_reported_and_a_bad_one_keeps_the_last() {
    let list = r#"{"source": "a newer list", "published": "2026-06-15",
        "products": [{"product": "ecs", "version": "2014-05-26", "hosts": ["ecs"], "operations": ["DescribeRegions"]}]}"#;
    let mut vm = Vm::new();
    let plugin = vm.start_plugin(format!(
        r#"{{"leaked_keys":["{LEAKED}"],"high_risk_list":{list}}}"#
    ));
    assert!(plugin.configured);
    assert!(vm.logs(LogLevel::Info)[0]
        .ends_with(" high_risk_list=configured published=2026-06-15 source=\"a newer list\""));
    let replaced = config::load(format!(r#"{{"high_risk_list":{list}}}"#).as_bytes())
        .unwrap()
        .policy;
    assert_eq!(vm.gauge("akguard.high_risk_list_published"), Some(20260615));
    assert_eq!(
        vm.gauge("akguard.high_risk_list_digest"),
        Some(replaced.catalog.digest as i64)
    );
    // The list given decides: RunInstances is no longer listed.
    assert!(!denied(&mut vm, plugin.root_id, LEAKED));

    // A bad list is refused naming the field; the list in force stays, and so do its gauges.
    vm.clear_logs();
    let bad = vm.start_plugin(format!(
        r#"{{"leaked_keys":["{LEAKED}"],"high_risk_list":{{"source":"s","published":"2026-07","products":[{{"product":"ecs","version":"1","operations":[]}}]}}}}"#
    ));
    assert!(!bad.configured);
    assert!(vm.logs(LogLevel::Error)[0]
        .starts_with("akguard configuration rejected: high_risk_list.products[0].operations: "));
    assert_eq!(vm.gauge("akguard.high_risk_list_published"), Some(20260615));
    assert!(!denied(&mut vm, plugin.root_id, LEAKED));
}
