//! Envoy bootstraps for the tests, built as JSON: listeners on port 0, akguard as a Wasm HTTP
//! filter (inline or from a watched ECDS file), `direct_response` routes or a real upstream
//! cluster.

use super::module_path;
use serde_json::{json, Value};
use std::path::Path;

/// The upstream's answer on `direct_response` routes.
pub const UPSTREAM_BODY: &str = "reached the upstream";

/// The Wasm plugin config (`envoy.extensions.wasm.v3.PluginConfig`) with akguard's
/// configuration as a JSON text.
pub fn plugin_config(configuration: &str, allow_stop: bool) -> Value {
    json!({
        "name": "akguard",
        "root_id": "akguard",
        "allow_on_headers_stop_iteration": allow_stop,
        "vm_config": {
            "vm_id": "akguard",
            "runtime": "envoy.wasm.runtime.v8",
            "code": { "local": { "filename": module_path() } }
        },
        "configuration": {
            "@type": "type.googleapis.com/google.protobuf.StringValue",
            "value": configuration
        }
    })
}

/// The akguard HTTP filter with an inline configuration.
pub fn akguard_filter(configuration: &str, allow_stop: bool) -> Value {
    json!({
        "name": "akguard",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": plugin_config(configuration, allow_stop)
        }
    })
}

/// The ECDS resource file content for [`ecds_filter`]: a discovery response holding one
/// `TypedExtensionConfig` named `name`.
pub fn ecds_resource(name: &str, configuration: &str, allow_stop: bool) -> Value {
    json!({
        "version_info": "1",
        "resources": [{
            "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
            "name": name,
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                "config": plugin_config(configuration, allow_stop)
            }
        }]
    })
}

/// An HTTP filter whose configuration Envoy takes from a watched file (ECDS): replacing the
/// file (by rename) reconfigures the filter without a restart.
pub fn ecds_filter(name: &str, file: &Path) -> Value {
    let dir = file.parent().expect("the ECDS file's directory");
    json!({
        "name": name,
        "config_discovery": {
            "config_source": {
                "path_config_source": {
                    "path": file,
                    "watched_directory": { "path": dir }
                }
            },
            "type_urls": ["type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"]
        }
    })
}

pub fn router() -> Value {
    json!({
        "name": "envoy.filters.http.router",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
        }
    })
}

/// A route answering 200 with [`UPSTREAM_BODY`] itself.
pub fn direct_route(name: &str) -> Value {
    json!({
        "name": name,
        "match": { "prefix": "/" },
        "direct_response": { "status": 200, "body": { "inline_string": UPSTREAM_BODY } }
    })
}

/// A route to a cluster.
pub fn cluster_route(name: &str, cluster: &str) -> Value {
    json!({ "name": name, "match": { "prefix": "/" }, "route": { "cluster": cluster } })
}

/// A virtual host.
pub fn virtual_host(name: &str, domains: &[&str], routes: Vec<Value>) -> Value {
    json!({ "name": name, "domains": domains, "routes": routes })
}

/// Envoy's buffer filter: the request goes on only once its whole body has arrived (an
/// upstream that acts on a call only once it has read all of it, as API servers do).
pub fn buffer_filter() -> Value {
    json!({
        "name": "envoy.filters.http.buffer",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
            "max_request_bytes": 4194304
        }
    })
}

/// An HTTP listener on 127.0.0.1, port chosen by the kernel, HTTP/1.1 and h2c.
pub fn listener(name: &str, virtual_hosts: Vec<Value>, filters: Vec<Value>) -> Value {
    listener_on(name, 0, virtual_hosts, filters)
}

/// An HTTP listener on 127.0.0.1 and a given port (0: chosen by the kernel).
pub fn listener_on(
    name: &str,
    port: u16,
    virtual_hosts: Vec<Value>,
    mut filters: Vec<Value>,
) -> Value {
    filters.push(router());
    json!({
        "name": name,
        // Listener stats are `listener.<name>.*` (the port is 0 in the address).
        "stat_prefix": name,
        "address": { "socket_address": { "address": "127.0.0.1", "port_value": port } },
        "filter_chains": [{
            "filters": [{
                "name": "envoy.filters.network.http_connection_manager",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    "stat_prefix": name,
                    "codec_type": "AUTO",
                    // Test clients name their requests; keep their x-request-id.
                    "preserve_external_request_id": true,
                    "route_config": { "name": name, "virtual_hosts": virtual_hosts },
                    "http_filters": filters
                }
            }]
        }]
    })
}

/// A listener with akguard in front of one `direct_response` route.
pub fn direct_listener(name: &str, configuration: &str, allow_stop: bool) -> Value {
    listener(
        name,
        vec![virtual_host(name, &["*"], vec![direct_route(name)])],
        vec![akguard_filter(configuration, allow_stop)],
    )
}

/// A cluster of one endpoint on 127.0.0.1.
pub fn loopback_cluster(name: &str, port: u16) -> Value {
    json!({
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{ "lb_endpoints": [{ "endpoint": { "address": {
                "socket_address": { "address": "127.0.0.1", "port_value": port }
            } } }] }]
        }
    })
}

/// A bootstrap: the listeners and clusters, an admin endpoint on port 0, a node identity
/// (ECDS from a file needs one).
pub fn bootstrap(listeners: Vec<Value>, clusters: Vec<Value>) -> Value {
    json!({
        "node": { "id": "akguard-test", "cluster": "akguard-test" },
        "admin": { "address": { "socket_address": { "address": "127.0.0.1", "port_value": 0 } } },
        "static_resources": { "listeners": listeners, "clusters": clusters }
    })
}
