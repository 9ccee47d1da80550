//! The gateway configurations in `examples/`: every Envoy bootstrap passes `envoy --mode
//! validate` (which loads the module and runs its configuration), the ECDS example serves
//! its keys in a running Envoy, and the Istio and Higress `WasmPlugin` documents carry a
//! configuration akguard accepts (Higress's flattened into `_rules_` the way Higress does).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;

use akguard::core::config::{self, Mode};
use akguard::core::rules::Matcher;
use envoy::client::{send_h1, Request};
use envoy::{module_path, repo_root, validate, Envoy, Options};
use serde_json::{json, Map, Value};
use std::fs;
use std::path::PathBuf;

fn examples() -> PathBuf {
    repo_root().join("examples")
}

fn yaml(path: &std::path::Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The operator's certificate files an example names (`envoy --mode validate` loads them),
/// and test-made files to put in their place.
const GATEWAY_CERTIFICATE: &str = "/etc/akguard/egress-tls/aliyuncs.crt";
const GATEWAY_KEY: &str = "/etc/akguard/egress-tls/aliyuncs.key";

/// `path`, or a copy in `dir` with the operator's certificate paths replaced by test-made
/// files (made once, in `dir`).
fn with_test_certificates(path: &std::path::Path, dir: &std::path::Path) -> PathBuf {
    let text = fs::read_to_string(path).unwrap();
    if !text.contains(GATEWAY_CERTIFICATE) {
        return path.to_path_buf();
    }
    let certs = dir.join("certs");
    if !certs.join("gateway.pem").is_file() {
        let made = std::process::Command::new("bash")
            .arg(repo_root().join("tests/egress/make-certs.sh"))
            .arg(&certs)
            .status()
            .unwrap();
        assert!(made.success(), "make-certs.sh failed");
    }
    let placed = text
        .replace(
            GATEWAY_CERTIFICATE,
            &certs.join("gateway.pem").to_string_lossy(),
        )
        .replace(GATEWAY_KEY, &certs.join("gateway.key").to_string_lossy());
    let copy = dir.join(path.file_name().unwrap());
    fs::write(&copy, placed).unwrap();
    copy
}

#[test]
fn every_envoy_configuration_in_examples_validates() {
    module_path();
    let dir = Envoy::prepare_dir("validate-examples");
    let mut validated = Vec::new();
    for entry in fs::read_dir(examples()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        if yaml(&path).get("static_resources").is_none() {
            continue;
        }
        let (ok, output) = validate(&with_test_certificates(&path, &dir));
        assert!(ok, "{} does not validate:\n{output}", path.display());
        validated.push(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    validated.sort();
    assert_eq!(
        validated,
        [
            "envoy-demo.yaml",
            "envoy-ecds.yaml",
            "envoy-egress-intercept.yaml",
            "envoy-egress-proxy.yaml"
        ]
    );
    fs::remove_dir_all(dir).unwrap();

    // Validation runs akguard's configuration: a bad key fails it, naming the field.
    let demo = fs::read_to_string(examples().join("envoy-demo.yaml")).unwrap();
    let broken = demo.replace(
        r#""leaked_keys": ["LTAI5tDemoLeakedKey00001"]"#,
        r#""leaked_keys": ["LTAI5tDemoLeakedKey00001", "not a key"]"#,
    );
    assert_ne!(broken, demo);
    let dir = Envoy::prepare_dir("validate");
    let broken_path = dir.join("broken-demo.yaml");
    fs::write(&broken_path, broken).unwrap();
    let (ok, output) = validate(&broken_path);
    assert!(!ok, "a broken configuration validated");
    assert!(
        output.contains("akguard configuration rejected: leaked_keys[1]: "),
        "{output}"
    );
    fs::remove_dir_all(dir).unwrap();
}

/// Sets every `port_value` under `value` to 0 (ports chosen by the kernel).
fn free_ports(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, inner) in map.iter_mut() {
                if name == "port_value" {
                    *inner = json!(0);
                } else {
                    free_ports(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(free_ports),
        _ => {}
    }
}

#[test]
fn the_ecds_example_serves_its_configuration() {
    let dir = Envoy::prepare_dir("ecds-example");
    let ecds_dir = dir.join("ecds");
    fs::create_dir_all(&ecds_dir).unwrap();
    let resource = ecds_dir.join("akguard.yaml");
    fs::copy(examples().join("ecds/akguard.yaml"), &resource).unwrap();
    let mut bootstrap = yaml(&examples().join("envoy-ecds.yaml"));
    free_ports(&mut bootstrap);
    let listener = &mut bootstrap["static_resources"]["listeners"][0];
    listener["stat_prefix"] = json!("aliyun_api");
    let hcm = &mut listener["filter_chains"][0]["filters"][0]["typed_config"];
    let source = &mut hcm["http_filters"][0]["config_discovery"]["config_source"];
    assert_eq!(
        source["path_config_source"]["path"],
        json!("examples/ecds/akguard.yaml")
    );
    source["path_config_source"] = json!({
        "path": resource,
        "watched_directory": { "path": ecds_dir }
    });
    let envoy = Envoy::start_in(
        dir,
        &bootstrap,
        &Options {
            concurrency: 2,
            tag: "ecds-example".into(),
        },
    );
    let port = envoy.port("aliyun_api");
    let call = |host: &str, action: &str, key: &str| {
        let request = Request::get(host, &format!("/?Action={action}&AccessKeyId={key}"));
        send_h1(port, &request).unwrap().status
    };
    let ecs = "ecs.cn-hangzhou.aliyuncs.com";
    assert_eq!(call(ecs, "RunInstances", "LTAI5tDemoLeakedKey00001"), 403);
    assert_eq!(call(ecs, "RunInstances", "STS.DemoLeakedTemporary1"), 403);
    // The sha256 entry is the digest of this key.
    assert_eq!(call(ecs, "RunInstances", "LTAI5tDemoHashedKey00001"), 403);
    assert_eq!(call(ecs, "RunInstances", "LTAI5tDemoCleanKey000001"), 200);
    assert_eq!(
        call(ecs, "DescribeInstances", "LTAI5tDemoLeakedKey00001"),
        200
    );
    assert_eq!(
        call(
            "ecs-api.corp.example",
            "RunInstances",
            "LTAI5tDemoLeakedKey00001"
        ),
        403
    );
    assert_eq!(
        call(
            "db.rds.corp.example",
            "CreateAccount",
            "LTAI5tDemoLeakedKey00001"
        ),
        403
    );
    assert_eq!(envoy.stat("wasmcustom.akguard.keys_loaded"), 3);
}

#[test]
fn the_istio_wasmplugin_carries_a_valid_configuration() {
    let doc = yaml(&examples().join("istio-wasmplugin.yaml"));
    assert_eq!(doc["apiVersion"], "extensions.istio.io/v1alpha1");
    assert_eq!(doc["kind"], "WasmPlugin");
    let spec = &doc["spec"];
    assert!(spec["url"].as_str().unwrap().starts_with("oci://"));
    assert!(["AUTHN", "AUTHZ", "STATS"].contains(&spec["phase"].as_str().unwrap()));
    assert!(["FAIL_CLOSE", "FAIL_OPEN"].contains(&spec["failStrategy"].as_str().unwrap()));
    // Istio passes pluginConfig (a Struct) to the filter as JSON.
    let loaded = config::load(spec["pluginConfig"].to_string().as_bytes())
        .unwrap_or_else(|e| panic!("istio pluginConfig: {e}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let policy = loaded.policy;
    assert_eq!(policy.keys.len(), 3);
    assert!(policy.keys.contains(b"LTAI5tDemoHashedKey00001"));
    assert_eq!(policy.extra_operations, 2);
    assert_eq!(policy.endpoints.len(), 1);
    assert!(!policy.hold_headers);
}

/// The configuration Higress hands the filter: `defaultConfig`'s fields at the top level and
/// one `_rules_` item per `matchRules` entry (its `config` plus the matcher).
fn higress_flatten(spec: &Value) -> Value {
    let mut top: Map<String, Value> = spec["defaultConfig"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut rules = Vec::new();
    for rule in spec["matchRules"].as_array().unwrap() {
        let mut item = rule["config"].as_object().cloned().unwrap_or_default();
        for (field, matcher) in [
            ("ingress", "_match_route_"),
            ("domain", "_match_domain_"),
            ("service", "_match_service_"),
        ] {
            if let Some(list) = rule.get(field) {
                item.insert(matcher.into(), list.clone());
            }
        }
        rules.push(Value::Object(item));
    }
    top.insert("_rules_".into(), Value::Array(rules));
    Value::Object(top)
}

#[test]
fn the_higress_wasmplugin_carries_a_valid_configuration() {
    let doc = yaml(&examples().join("higress-wasmplugin.yaml"));
    assert_eq!(doc["apiVersion"], "extensions.higress.io/v1alpha1");
    assert_eq!(doc["kind"], "WasmPlugin");
    let spec = &doc["spec"];
    assert!(spec["url"].as_str().unwrap().starts_with("oci://"));
    let flat = higress_flatten(spec);
    let loaded = config::load(flat.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("higress configuration: {e}\n{flat}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let policy = loaded.policy;
    assert_eq!(policy.keys.len(), 2);
    assert_eq!(policy.rules.len(), 3);
    let [ci, corp, rds] = &policy.rules[..] else {
        unreachable!()
    };
    assert_eq!(
        ci.matcher,
        Matcher::Route(vec!["default/aliyun-api-ci".into()])
    );
    assert!(ci.policy.deny_all_calls && ci.policy.keys.contains(b"LTAI5tCiLeakedKey0000001"));
    assert!(matches!(&corp.matcher, Matcher::Domain(d) if d.len() == 2));
    assert_eq!(corp.policy.mode, Mode::Shadow);
    assert_eq!(corp.policy.endpoints.len(), 2);
    assert!(matches!(&rds.matcher, Matcher::Service(s) if s.len() == 1));

    // A mistake in a rule is reported with the rule's path.
    let mut broken = flat.clone();
    broken["_rules_"][1]["leaked_keys"][0] = json!("LTAI-broken");
    let err = config::load(broken.to_string().as_bytes()).unwrap_err();
    assert_eq!(err.path, "_rules_[1].leaked_keys[0]", "{err}");
}

/// Every mapping under `value` that holds `key`.
fn holding<'a>(value: &'a Value, key: &str, found: &mut Vec<&'a Map<String, Value>>) {
    match value {
        Value::Object(map) => {
            if map.contains_key(key) {
                found.push(map);
            }
            map.values().for_each(|v| holding(v, key, found));
        }
        Value::Array(items) => items.iter().for_each(|v| holding(v, key, found)),
        _ => {}
    }
}

#[test]
fn every_example_fails_closed() {
    // Envoy: each Wasm plugin config (the mapping with a vm_config) reloads a failed VM and
    // refuses requests until it is back; none fails open.
    for name in [
        "envoy-demo.yaml",
        "envoy-egress-proxy.yaml",
        "envoy-egress-intercept.yaml",
        "ecds/akguard.yaml",
    ] {
        let doc = yaml(&examples().join(name));
        let mut plugins = Vec::new();
        holding(&doc, "vm_config", &mut plugins);
        assert!(!plugins.is_empty(), "{name}: no Wasm plugin config");
        for plugin in plugins {
            assert_eq!(plugin["failure_policy"], "FAIL_RELOAD", "{name}");
            assert!(!plugin.contains_key("fail_open"), "{name}: fail_open");
        }
    }
    // Istio and Higress: failStrategy FAIL_CLOSE (every version that has the field knows it).
    for name in ["istio-wasmplugin.yaml", "higress-wasmplugin.yaml"] {
        let doc = yaml(&examples().join(name));
        assert_eq!(doc["spec"]["failStrategy"], "FAIL_CLOSE", "{name}");
    }
}
