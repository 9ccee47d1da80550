//! `akguard validate --envoy` names every route behind akguard whose upstream reads another
//! host than the client sent (each kind of host rewrite, and many hosts sent to one fixed
//! upstream), says how to pin the product, and notes the routes whose product is pinned; the
//! shipped examples have none.

mod cli_support;

use cli_support::{expect_code, run, run_in, scratch, write};

const KEY: &str = "LTAI5tLeakedKey000000001";

/// A bootstrap with akguard (configured as `config`) in front of the given routes, in a
/// virtual host of the given domains, with a static cluster and a dynamic forward proxy one.
fn bootstrap(config: &str, domains: &str, routes: &str) -> String {
    format!(
        r#"
static_resources:
  listeners:
    - name: front
      address: {{ socket_address: {{ address: 127.0.0.1, port_value: 10000 }} }}
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: front
                route_config:
                  virtual_hosts:
                    - name: api
                      domains: {domains}
                      routes:
{routes}
                http_filters:
                  - name: akguard
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        root_id: akguard
                        configuration:
                          "@type": type.googleapis.com/google.protobuf.StringValue
                          value: '{config}'
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
    - name: ecs_upstream
      type: STRICT_DNS
      load_assignment:
        cluster_name: ecs_upstream
        endpoints: [{{ lb_endpoints: [{{ endpoint: {{ address: {{ socket_address: {{ address: ecs.cn-hangzhou.aliyuncs.com, port_value: 443 }} }} }} }}] }}]
    - name: any_aliyun
      cluster_type:
        name: envoy.clusters.dynamic_forward_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.clusters.dynamic_forward_proxy.v3.ClusterConfig
          dns_cache_config: {{ name: c }}
"#
    )
}

fn route(name: Option<&str>, action: &str) -> String {
    let name = name.map(|n| format!("name: {n}, ")).unwrap_or_default();
    format!("                        - {{ {name}match: {{ prefix: / }}, route: {{ {action} }} }}")
}

fn validate(dir: &std::path::Path, text: &str) -> (String, String) {
    write(dir, "envoy.yaml", text);
    let got = run_in(dir, &["validate", "--envoy", "envoy.yaml"], None);
    expect_code(&got, 0, "validate --envoy");
    (got.stdout, got.stderr)
}

#[test]
fn every_kind_of_host_rewrite_is_named_with_how_to_pin_it() {
    let dir = scratch("host-routes");
    let config = format!(r#"{{"leaked_keys": ["{KEY}"]}}"#);
    let cases = [
        (
            "[\"*\"]",
            route(
                Some("to-ecs"),
                "cluster: ecs_upstream, host_rewrite_literal: ecs.cn-hangzhou.aliyuncs.com",
            ),
            "route \"to-ecs\" rewrites the host (host_rewrite_literal: ecs.cn-hangzhou.aliyuncs.com)",
        ),
        (
            "[\"api.example.com\"]",
            route(Some("auto"), "cluster: ecs_upstream, auto_host_rewrite: true"),
            "route \"auto\" rewrites the host to the upstream's (auto_host_rewrite)",
        ),
        (
            "[\"api.example.com\"]",
            route(Some("by-header"), "cluster: any_aliyun, host_rewrite_header: x-target"),
            "route \"by-header\" rewrites the host from a header (host_rewrite_header: x-target)",
        ),
        (
            "[\"api.example.com\"]",
            route(
                Some("by-path"),
                "cluster: any_aliyun, host_rewrite_path_regex: { pattern: { regex: \"^/(.+)/.*$\" }, substitution: \"\\\\1\" }",
            ),
            "route \"by-path\" rewrites the host from the path (host_rewrite_path_regex)",
        ),
        (
            "[\"*.aliyuncs.com\"]",
            route(Some("fixed"), "cluster: ecs_upstream"),
            "route \"fixed\" sends every host of its virtual host (domains *.aliyuncs.com) to one upstream (cluster ecs_upstream)",
        ),
        (
            "[\"rds.aliyuncs.com\", \"ecs.aliyuncs.com\"]",
            route(None, "cluster: ecs_upstream"),
            "an unnamed route sends every host of its virtual host (domains rds.aliyuncs.com, ecs.aliyuncs.com) to one upstream (cluster ecs_upstream)",
        ),
    ];
    for (domains, routes, want) in &cases {
        let (stdout, stderr) = validate(&dir, &bootstrap(&config, domains, routes));
        assert!(
            stdout.starts_with("envoy.yaml [akguard]: valid:"),
            "{stdout}"
        );
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(
            lines[0].starts_with("envoy.yaml: warning: virtual host \"api\", ")
                && lines[0].contains(want)
                && lines[0].contains("akguard reads the product from the client's Host"),
            "{stderr}"
        );
        let pin_hint = if routes.contains("name:") {
            "_rules_ entry {\"_match_route_\": [\""
        } else {
            "name the route and pin the product"
        };
        assert!(lines[0].contains(pin_hint), "{stderr}");
    }

    // One host to one fixed upstream, or any host to the dynamic forward proxy: nothing to say.
    for (domains, routes) in [
        (
            "[\"ecs.cn-hangzhou.aliyuncs.com\"]",
            route(Some("one"), "cluster: ecs_upstream"),
        ),
        (
            "[\"*.aliyuncs.com\"]",
            route(Some("dfp"), "cluster: any_aliyun"),
        ),
    ] {
        let (_, stderr) = validate(&dir, &bootstrap(&config, domains, &routes));
        assert_eq!(stderr, "", "{domains}");
    }
}

#[test]
fn a_pinned_product_is_noted_not_warned() {
    let dir = scratch("host-routes-pinned");
    let routes = route(
        Some("to-ecs"),
        "cluster: ecs_upstream, host_rewrite_literal: ecs.cn-hangzhou.aliyuncs.com",
    );
    let by_rule = format!(
        r#"{{"leaked_keys": ["{KEY}"], "_rules_": [{{"_match_route_": ["to-ecs"], "leaked_keys": ["{KEY}"], "product": "ecs"}}]}}"#
    );
    let (_, stderr) = validate(&dir, &bootstrap(&by_rule, "[\"*\"]", &routes));
    assert_eq!(
        stderr,
        "envoy.yaml: virtual host \"api\", route \"to-ecs\" rewrites the host (host_rewrite_literal: ecs.cn-hangzhou.aliyuncs.com): product pinned to ecs by akguard's configuration\n"
    );
    let top_level = format!(r#"{{"leaked_keys": ["{KEY}"], "product": "ecs"}}"#);
    let (_, stderr) = validate(&dir, &bootstrap(&top_level, "[\"*\"]", &routes));
    assert!(stderr.contains("product pinned to ecs"), "{stderr}");
    // A rule for another route pins nothing here.
    let other = by_rule.replace("[\"to-ecs\"]", "[\"elsewhere\"]");
    let (_, stderr) = validate(&dir, &bootstrap(&other, "[\"*\"]", &routes));
    assert!(stderr.starts_with("envoy.yaml: warning: "), "{stderr}");
}

#[test]
fn the_shipped_envoy_examples_have_no_such_route() {
    for file in [
        "examples/envoy-demo.yaml",
        "examples/envoy-egress-proxy.yaml",
        "examples/envoy-egress-intercept.yaml",
    ] {
        let got = run(&["validate", "--envoy", file]);
        expect_code(&got, 0, file);
        assert_eq!(got.stderr, "", "{file}");
    }
}
