//! A shipped example bootstrap, run in a real Envoy (`tests/envoy/`) with only its addresses,
//! ports, DNS resolver and certificate file paths substituted.

use crate::envoy::{repo_root, Envoy, Options};
use serde_json::{json, Value};
use std::fs;
use std::path::Path;

/// An example from `examples/`, as Envoy reads it (YAML anchors resolved).
pub fn example(name: &str) -> Value {
    let path = repo_root().join("examples").join(name);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What a test may change in an example.
pub struct Substitutions<'a> {
    /// Listener name, address, port: every listener with a socket address must be named.
    pub listeners: &'a [(&'a str, &'a str, u16)],
    /// The DNS server's port on 127.0.0.1 (for every resolver list).
    pub dns_port: u16,
    /// The CA bundle the gateway verifies Alibaba Cloud's certificates with.
    pub ca_bundle: &'a Path,
    /// The gateway's own certificate and key (intercept mode).
    pub certificate: Option<(&'a Path, &'a Path)>,
}

fn each_object(value: &mut Value, f: &mut dyn FnMut(&mut serde_json::Map<String, Value>)) {
    match value {
        Value::Object(map) => {
            f(map);
            for inner in map.values_mut() {
                each_object(inner, f);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| each_object(v, f)),
        _ => {}
    }
}

/// Applies the substitutions; panics when one finds nothing to change (the example no
/// longer has the shape the test knows).
pub fn substitute(bootstrap: &mut Value, subs: &Substitutions) {
    for listener in bootstrap["static_resources"]["listeners"]
        .as_array_mut()
        .unwrap()
    {
        let name = listener["name"].as_str().unwrap().to_string();
        if let Some(socket) = listener.pointer_mut("/address/socket_address") {
            let (_, address, port) = subs
                .listeners
                .iter()
                .find(|(n, _, _)| *n == name)
                .unwrap_or_else(|| panic!("no address given for listener {name}"));
            *socket = json!({ "address": address, "port_value": port });
        }
    }
    bootstrap["admin"]["address"]["socket_address"] =
        json!({ "address": "127.0.0.1", "port_value": 0 });
    let (mut resolvers, mut bundles, mut certificates) = (0, 0, 0);
    each_object(bootstrap, &mut |map| {
        if let Some(list) = map.get_mut("resolvers") {
            *list = json!([{ "socket_address": { "address": "127.0.0.1", "port_value": subs.dns_port } }]);
            resolvers += 1;
        }
        if let Some(ca) = map.get_mut("trusted_ca") {
            *ca = json!({ "filename": subs.ca_bundle });
            bundles += 1;
        }
        if let (Some(list), Some((cert, key))) = (map.get_mut("tls_certificates"), subs.certificate)
        {
            *list = json!([{
                "certificate_chain": { "filename": cert },
                "private_key": { "filename": key }
            }]);
            certificates += 1;
        }
    });
    assert!(resolvers > 0, "no DNS resolvers to point at the test's DNS");
    assert!(bundles > 0, "no upstream CA bundle to replace");
    assert_eq!(
        certificates > 0,
        subs.certificate.is_some(),
        "gateway certificates"
    );
}

/// Starts Envoy on a substituted example, in a directory of its own under `dir`.
pub fn start(dir: &Path, tag: &str, bootstrap: &Value) -> Envoy {
    let dir = dir.join(tag);
    fs::create_dir_all(&dir).unwrap();
    Envoy::start_in(
        dir,
        bootstrap,
        &Options {
            tag: tag.into(),
            ..Options::default()
        },
    )
}
