//! `akguard validate`: the same verdict and the same `path: problem` text as the filter's
//! own validation, for JSON, YAML and Envoy configurations, and usage errors.

mod cli_support;

use akguard::core::config;
use cli_support::{expect_code, run, run_in, scratch, write};

const KEY: &str = "LTAI5tLeakedKey000000001";

#[test]
fn a_valid_json_configuration_is_summarised() {
    let dir = scratch("validate-json");
    write(
        &dir,
        "akguard.json",
        format!(
            r#"{{"leaked_keys": ["{KEY}", "{KEY}", "STS.Temp01"], "mode": "shadow", "endpoints": {{"*.internal.example": "ecs"}}}}"#
        ),
    );
    let got = run_in(&dir, &["validate", "akguard.json"], None);
    expect_code(&got, 0, "valid configuration");
    assert_eq!(
        got.stdout,
        "akguard.json: valid: leaked_keys=3 (distinct 2) mode=shadow deny_all_calls=false extra_operations=0 endpoints=1 max_body_bytes=1048576 high_risk_list=embedded published=2026-01 hold_headers=false\n"
    );
    assert_eq!(got.stderr, "");

    write(
        &dir,
        "strict.json",
        format!(r#"{{"leaked_keys": ["{KEY}"], "deny_credential_calls": true}}"#),
    );
    let got = run_in(&dir, &["validate", "strict.json"], None);
    expect_code(&got, 0, "valid configuration");
    assert_eq!(
        got.stdout,
        "strict.json: valid: leaked_keys=1 (distinct 1) mode=enforce deny_all_calls=false extra_operations=0 endpoints=0 max_body_bytes=1048576 deny_credential_calls=true high_risk_list=embedded published=2026-01 hold_headers=false\n"
    );
}

#[test]
fn every_problem_is_reported_as_the_filter_reports_it() {
    let dir = scratch("validate-invalid");
    let bad: &[&str] = &[
        r#"{"leaked_keys": ["LTAI5t-bad"]}"#,
        r#"{"leaked_keys": ["ok1234", 7]}"#,
        r#"{"leaked_keys": ["sha256:ABC"]}"#,
        r#"{"leaked_key": []}"#,
        r#"{"mode": "block"}"#,
        r#"{"mode": "shadow", "mode": "shadow"}"#,
        r#"{"max_body_bytes": 0}"#,
        r#"{"max_body_bytes": 1.5}"#,
        r#"{"deny_all_calls": "yes"}"#,
        r#"{"deny_credential_calls": 1}"#,
        r#"{"extra_operations": [{"product": "nosuch", "actions": ["X"]}]}"#,
        r#"{"extra_operations": [{"product": "ecs", "actions": ["Run Instances"]}]}"#,
        r#"{"endpoints": {"host:8080": "ecs"}}"#,
        r#"{"leaked_keys": ["#,
        "[1, 2]",
    ];
    for (i, text) in bad.iter().enumerate() {
        let name = format!("bad{i}.json");
        write(&dir, &name, text);
        let want = config::load(text.as_bytes()).expect_err(text);
        let got = run_in(&dir, &["validate", &name], None);
        expect_code(&got, 1, text);
        assert_eq!(got.stderr, format!("{name}: {want}\n"), "{text}");
        assert_eq!(got.stdout, "", "{text}");
    }
}

#[test]
fn yaml_configurations_are_read_as_json() {
    let dir = scratch("validate-yaml");
    write(
        &dir,
        "good.yaml",
        format!("leaked_keys:\n  - {KEY}\nmode: enforce\nmax_body_bytes: 4096\nextra_operations:\n  - product: ecs\n    actions: [DescribeInstances]\n"),
    );
    let got = run_in(&dir, &["validate", "good.yaml"], None);
    expect_code(&got, 0, "valid YAML");
    assert!(got.stdout.contains("leaked_keys=1 (distinct 1) mode=enforce deny_all_calls=false extra_operations=1 endpoints=0 max_body_bytes=4096"), "{}", got.stdout);

    write(&dir, "bad.yml", "leaked_keys:\n  - ok1234\n  - 'bad key'\n");
    let got = run_in(&dir, &["validate", "bad.yml"], None);
    expect_code(&got, 1, "invalid YAML configuration");
    assert_eq!(
        got.stderr,
        "bad.yml: leaked_keys[1]: an AccessKey ID holds only ASCII letters, digits and '.', found ' ': one ID an entry, and nothing else\n"
    );

    write(&dir, "broken.yaml", "leaked_keys: [unclosed\n");
    let got = run_in(&dir, &["validate", "broken.yaml"], None);
    expect_code(&got, 1, "YAML syntax error");
    assert!(
        got.stderr
            .starts_with("akguard: broken.yaml: not valid YAML"),
        "{}",
        got.stderr
    );

    write(
        &dir,
        "merged.yaml",
        "leaked_keys: &keys [LTAI5tLeakedKey000000001]\n<<: {mode: shadow, hold_headers: true}\n",
    );
    let got = run_in(&dir, &["validate", "merged.yaml"], None);
    expect_code(&got, 0, "YAML merge key");
    assert!(
        got.stdout.contains("mode=shadow") && got.stdout.contains("hold_headers=true"),
        "{}",
        got.stdout
    );

    write(&dir, "forced.txt", "mode: shadow\n");
    let got = run_in(&dir, &["validate", "--syntax", "yaml", "forced.txt"], None);
    expect_code(&got, 0, "--syntax yaml");
    assert!(got.stdout.contains("mode=shadow"));
}

#[test]
fn an_empty_configuration_is_valid_with_a_warning() {
    let dir = scratch("validate-empty");
    write(&dir, "empty.json", "");
    let got = run_in(&dir, &["validate", "empty.json"], None);
    expect_code(&got, 0, "empty configuration");
    assert_eq!(
        got.stderr,
        "empty.json: warning: the configuration is empty: no leaked keys are loaded, nothing is protected\n"
    );
    let got = run_in(&dir, &["validate", "-"], Some(b"{\"leaked_keys\": []}"));
    expect_code(&got, 0, "stdin");
    assert!(got.stdout.starts_with("stdin: valid: leaked_keys=0"));
    assert!(got.stderr.contains("leaked_keys is empty or absent"));
}

#[test]
fn a_missing_file_fails() {
    let dir = scratch("validate-missing");
    let got = run_in(&dir, &["validate", "nowhere.json"], None);
    expect_code(&got, 1, "missing file");
    assert!(
        got.stderr.starts_with("akguard: nowhere.json: "),
        "{}",
        got.stderr
    );
}

#[test]
fn the_demo_envoy_configuration_is_valid() {
    let got = run(&["validate", "--envoy", "examples/envoy-demo.yaml"]);
    expect_code(&got, 0, "demo Envoy configuration");
    assert!(
        got.stdout
            .starts_with("examples/envoy-demo.yaml [akguard]: valid: leaked_keys=1"),
        "{}",
        got.stdout
    );
}

#[test]
fn the_egress_gateway_configurations_are_valid() {
    // The intercept example runs the same connection manager (a YAML anchor) on its TLS
    // listener and on the internal listener its CONNECT tunnels reach: two filters, one line each.
    for (file, filters) in [
        ("examples/envoy-egress-proxy.yaml", 1),
        ("examples/envoy-egress-intercept.yaml", 2),
    ] {
        let got = run(&["validate", "--envoy", file]);
        expect_code(&got, 0, file);
        let lines: Vec<&str> = got.stdout.lines().collect();
        assert_eq!(lines.len(), filters, "{}", got.stdout);
        for line in lines {
            assert!(
                line.starts_with(&format!(
                    "{file} [akguard]: valid: leaked_keys=2 (distinct 2) mode=enforce"
                )) && line.ends_with("hold_headers=true"),
                "{line}"
            );
        }
    }
}

fn envoy_with(filters: &str) -> String {
    format!(
        r#"static_resources:
  listeners:
    - name: main
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: ingress
                http_filters:
{filters}
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
"#
    )
}

fn wasm_filter(name: &str, root_id: &str, configuration: &str) -> String {
    format!(
        r#"                  - name: {name}
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        root_id: {root_id}
                        vm_config:
                          runtime: envoy.wasm.runtime.v8
                          code: {{ local: {{ filename: /etc/envoy/{root_id}.wasm }} }}
{configuration}
"#
    )
}

const STRING_VALUE_OK: &str = r#"                        configuration:
                          "@type": type.googleapis.com/google.protobuf.StringValue
                          value: '{"leaked_keys": ["LTAI5tLeakedKey000000001"]}'"#;
const STRUCT_BAD: &str = r#"                        configuration:
                          "@type": type.googleapis.com/google.protobuf.Struct
                          value:
                            leaked_keys: [LTAI5tLeakedKey000000001]
                            mode: block"#;

#[test]
fn envoy_configurations_are_checked_filter_by_filter() {
    let dir = scratch("validate-envoy");
    let two = wasm_filter("guard-a", "akguard", STRING_VALUE_OK)
        + &wasm_filter("guard-b", "akguard", STRUCT_BAD)
        + &wasm_filter("other", "other", "");
    write(&dir, "envoy.yaml", envoy_with(&two));
    let got = run_in(&dir, &["validate", "--envoy", "envoy.yaml"], None);
    expect_code(&got, 1, "one invalid akguard filter");
    assert!(
        got.stdout
            .starts_with("envoy.yaml [guard-a]: valid: leaked_keys=1"),
        "{}",
        got.stdout
    );
    assert_eq!(
        got.stderr,
        "envoy.yaml [guard-b]: mode: expected \"enforce\" or \"shadow\", found \"block\"\n"
    );
    assert!(!got.stdout.contains("other"));

    let got = run_in(
        &dir,
        &["validate", "--envoy", "envoy.yaml", "--filter", "guard-a"],
        None,
    );
    expect_code(&got, 0, "--filter picks one");

    let got = run_in(
        &dir,
        &["validate", "--envoy", "envoy.yaml", "--filter", "other"],
        None,
    );
    expect_code(&got, 0, "--filter picks any module");
    assert!(got
        .stderr
        .contains("[other]: warning: the configuration is empty"));

    let got = run_in(
        &dir,
        &["validate", "--envoy", "envoy.yaml", "--filter", "nope"],
        None,
    );
    expect_code(&got, 1, "unknown filter name");
    assert!(
        got.stderr
            .contains("no Wasm filter named \"nope\"; Wasm filters found: guard-a, guard-b, other"),
        "{}",
        got.stderr
    );
}

#[test]
fn envoy_configurations_without_akguard_fail() {
    let dir = scratch("validate-envoy-none");
    write(&dir, "plain.yaml", envoy_with(""));
    let got = run_in(&dir, &["validate", "--envoy", "plain.yaml"], None);
    expect_code(&got, 1, "no Wasm filter");
    assert!(
        got.stderr.contains("no Wasm filter loading akguard"),
        "{}",
        got.stderr
    );

    let bytes_value = r#"                        configuration:
                          "@type": type.googleapis.com/google.protobuf.BytesValue
                          value: e30="#;
    write(
        &dir,
        "bytes.yaml",
        envoy_with(&wasm_filter("g", "akguard", bytes_value)),
    );
    let got = run_in(&dir, &["validate", "--envoy", "bytes.yaml"], None);
    expect_code(&got, 1, "unsupported configuration type");
    assert!(
        got.stderr.contains("[g]: configuration: expected"),
        "{}",
        got.stderr
    );
}

#[test]
fn ecds_resource_files_are_read() {
    let dir = scratch("validate-ecds");
    write(
        &dir,
        "akguard-ecds.yaml",
        r#"resources:
  - "@type": type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig
    name: akguard
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
      config:
        name: akguard
        root_id: akguard
        configuration:
          "@type": type.googleapis.com/google.protobuf.StringValue
          value: '{"leaked_keys": ["STS.Temp01", "bad key"]}'
"#,
    );
    let got = run_in(&dir, &["validate", "--envoy", "akguard-ecds.yaml"], None);
    expect_code(&got, 1, "ECDS file with a bad key");
    assert_eq!(
        got.stderr,
        "akguard-ecds.yaml [akguard]: leaked_keys[1]: an AccessKey ID holds only ASCII letters, digits and '.', found ' ': one ID an entry, and nothing else\n"
    );
}

#[test]
fn usage_errors_exit_2() {
    let cases: &[&[&str]] = &[
        &["validate"],
        &["validate", "a.json", "--envoy", "e.yaml"],
        &["validate", "a.json", "--filter", "x"],
        &["validate", "--syntax", "toml", "a.json"],
        &["no-such-command"],
        &[],
    ];
    for args in cases {
        let got = run(args);
        expect_code(&got, 2, &format!("{args:?}"));
        assert!(!got.stderr.is_empty(), "{args:?}");
        assert_eq!(got.stdout, "", "{args:?}");
    }
}

#[test]
fn help_describes_the_subcommand() {
    let got = run(&["validate", "--help"]);
    expect_code(&got, 0, "--help");
    for wanted in ["--envoy", "--filter", "--syntax", "field.path: problem"] {
        assert!(
            got.stdout.contains(wanted),
            "help lacks {wanted}:\n{}",
            got.stdout
        );
    }
}

#[test]
fn istio_and_higress_wasm_plugins_are_read() {
    let dir = scratch("validate-wasmplugin");
    write(
        &dir,
        "plugins.yaml",
        r#"apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: akguard, namespace: istio-system}
spec:
  url: oci://registry.example.com/akguard:0.1.0
  pluginConfig:
    leaked_keys: [LTAI5tLeakedKey000000001]
    mode: shadow
---
apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: akguard-higress, namespace: higress-system}
spec:
  url: oci://registry.example.com/akguard:0.1.0
  defaultConfig:
    leaked_keys: [STS.Temp01]
    max_body_bytes: 0
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: other}
spec:
  url: oci://registry.example.com/other:1
"#,
    );
    let got = run_in(&dir, &["validate", "--envoy", "plugins.yaml"], None);
    expect_code(&got, 1, "one invalid WasmPlugin");
    assert_eq!(
        got.stdout,
        "plugins.yaml [akguard]: valid: leaked_keys=1 (distinct 1) mode=shadow deny_all_calls=false extra_operations=0 endpoints=0 max_body_bytes=1048576 high_risk_list=embedded published=2026-01 hold_headers=false\n"
    );
    assert_eq!(
        got.stderr,
        "plugins.yaml [akguard-higress]: max_body_bytes: must be between 1 and 67108864, found 0\n"
    );
}

/// Every Envoy, Istio, Higress and ECDS file under `examples/`.
#[allow(clippy::unwrap_used)]
fn example_files(dir: &std::path::Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            example_files(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            let root = std::path::Path::new(cli_support::ROOT);
            out.push(path.strip_prefix(root).unwrap().display().to_string());
        }
    }
}

#[test]
fn every_example_validates() {
    let mut files = Vec::new();
    example_files(
        &std::path::Path::new(cli_support::ROOT).join("examples"),
        &mut files,
    );
    files.sort();
    assert!(files.len() >= 7, "{files:?}");
    for file in &files {
        let got = run(&["validate", "--envoy", file]);
        expect_code(&got, 0, file);
        assert!(
            got.stdout.contains("]: valid: leaked_keys="),
            "{file}: {}",
            got.stdout
        );
    }
    // The bootstrap's ECDS filter is read from the file it watches.
    let got = run(&[
        "validate",
        "--envoy",
        "examples/envoy-ecds.yaml",
        "--filter",
        "akguard",
    ]);
    expect_code(&got, 0, "ECDS bootstrap");
    assert!(
        got.stdout
            .starts_with("examples/envoy-ecds.yaml -> examples/ecds/akguard.yaml [akguard]: valid: leaked_keys=3 "),
        "{}",
        got.stdout
    );
    // Higress rules are counted as the filter counts them.
    let got = run(&["validate", "--envoy", "examples/higress-wasmplugin.yaml"]);
    assert!(
        got.stdout.contains(" rules=3 hold_headers="),
        "{}",
        got.stdout
    );
}

#[test]
fn ecds_files_are_followed_from_the_bootstrap() {
    let dir = scratch("validate-ecds-follow");
    std::fs::create_dir_all(dir.join("run/ecds")).unwrap();
    let bootstrap = r#"static_resources:
  listeners:
    - filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                http_filters:
                  - name: guard
                    config_discovery:
                      config_source:
                        path_config_source: { path: ecds/guard.yaml }
                      type_urls: [type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm]
"#;
    write(&dir.join("run"), "envoy.yaml", bootstrap);
    // Not found from here, nor next to the bootstrap: the message names the file to check.
    let got = run_in(&dir, &["validate", "--envoy", "run/envoy.yaml"], None);
    expect_code(&got, 1, "missing ECDS file");
    assert!(
        got.stderr.contains("run/envoy.yaml: filter \"guard\" takes its configuration from the ECDS file ecds/guard.yaml (config_discovery)"),
        "{}",
        got.stderr
    );
    write(
        &dir.join("run/ecds"),
        "guard.yaml",
        format!(
            r#"resources:
  - "@type": type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig
    name: guard
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
      config:
        root_id: akguard
        configuration:
          "@type": type.googleapis.com/google.protobuf.StringValue
          value: '{{"leaked_keys": ["{KEY}"], "mode2": 1}}'
"#
        ),
    );
    // Found relative to Envoy's directory (the bootstrap's), checked as the filter checks it.
    for (cwd, file) in [
        (dir.clone(), "run/envoy.yaml"),
        (dir.join("run"), "envoy.yaml"),
    ] {
        let got = run_in(
            &cwd,
            &["validate", "--envoy", file, "--filter", "guard"],
            None,
        );
        expect_code(&got, 1, "invalid ECDS file");
        assert!(
            got.stderr.contains(
                "ecds/guard.yaml [guard]: mode2: unknown field (known fields: leaked_keys,"
            ) && got.stderr.contains(", _rules_)\n"),
            "{}",
            got.stderr
        );
    }
    // A management server holds the resource: say what to validate instead.
    let ads = bootstrap.replace("path_config_source: { path: ecds/guard.yaml }", "ads: {}");
    write(&dir, "ads.yaml", ads);
    let got = run_in(&dir, &["validate", "--envoy", "ads.yaml"], None);
    expect_code(&got, 1, "ECDS from a server");
    assert!(got.stderr.contains("management server"), "{}", got.stderr);
}

/// `(entry, what stderr says)`: entries that cannot be an AccessKey ID are rejected with the
/// likely mistake; IDs of an unusual shape are accepted with a warning.
#[test]
fn key_entries_name_the_likely_mistake() {
    let dir = scratch("validate-key-shapes");
    let digest = "ca3c6321754a4fb2cfc27855b6d122984140a024f0cfa8437130229ab676227a";
    let rejected = [
        (
            digest.to_string(),
            "leaked_keys[1]: 64 hex digits: a SHA-256 digest without its prefix",
        ),
        (
            format!("SHA256:{digest}"),
            "leaked_keys[1]: a digest entry starts with lowercase \"sha256:\", found \"SHA256:\"",
        ),
        (
            format!("sha256:{}", digest.to_uppercase()),
            "64 lowercase hex digits, found uppercase ones: write them in lowercase",
        ),
        (
            " LTAI5tAb0000000000123456".into(),
            "found ' ': remove the whitespace around the ID",
        ),
        (
            "LTAI5tAb0000000000123456\n".into(),
            "found '\\n': remove the whitespace around the ID",
        ),
        (
            "LTAI5tAb00000000 LTAI5tAb00000001".into(),
            "found ' ': one ID an entry, and nothing else",
        ),
        (
            "\"LTAI5tAb0000000000123456\"".into(),
            "found '\"': the quotes were pasted with the ID",
        ),
        (
            "abcdefghijABCDEFGHIJ0123456789".into(),
            "the shape of an AccessKey Secret, not of an ID",
        ),
        (
            "LTAI5tAb0000000000123456:abcdefghijABCDEFGHIJ0123456789".into(),
            "found ':': an ID pasted with its secret",
        ),
        ("STS.".into(), "\"STS.\" alone"),
    ];
    for (entry, problem) in &rejected {
        let config = serde_json::json!({ "leaked_keys": [KEY, entry] }).to_string();
        write(&dir, "akguard.json", &config);
        let got = run_in(&dir, &["validate", "akguard.json"], None);
        expect_code(&got, 1, entry);
        assert!(
            got.stderr.starts_with("akguard.json: leaked_keys[1]: "),
            "{entry}: {}",
            got.stderr
        );
        assert!(got.stderr.contains(problem), "{entry}: {}", got.stderr);
    }
    let unusual = serde_json::json!({ "leaked_keys": [KEY, "LTAI5tShort", "STS.NUgYrLnoC37mZZCNnAbCdEfGh", "ltai5tAb0000000000123456", "AbCdEf0123456789"] });
    write(&dir, "akguard.json", unusual.to_string());
    let got = run_in(&dir, &["validate", "akguard.json"], None);
    expect_code(&got, 0, "unusual shapes");
    assert!(
        got.stdout.contains("valid: leaked_keys=5 "),
        "{}",
        got.stdout
    );
    assert_eq!(
        got.stderr,
        "akguard.json: warning: leaked_keys[1]: LTAI followed by an unusual number of letters and digits (IDs have 12 or 16 to 21): check the ID is whole (1 more entry of an unusual shape)\n"
    );
    // In a rule, with the rule's path.
    let in_rule = serde_json::json!({ "_rules_": [{ "_match_route_": ["r"], "leaked_keys": ["LTAI5tShort"] }] });
    write(&dir, "akguard.json", in_rule.to_string());
    let got = run_in(&dir, &["validate", "akguard.json"], None);
    expect_code(&got, 0, "unusual shape in a rule");
    assert!(
        got.stderr
            .contains("warning: _rules_[0]: leaked_keys[0]: LTAI followed by"),
        "{}",
        got.stderr
    );
}

#[test]
fn syntax_errors_name_line_and_column() {
    let dir = scratch("validate-syntax");
    let cases = [
        (
            format!("{{\"leaked_keys\": [\n  \"{KEY}\",\n  \"{KEY}\",\n]}}\n"),
            "akguard.json: configuration: not valid JSON: trailing comma (line 4, column 1)\n",
        ),
        (
            format!("{{\"leaked_keys\": [\n  \"{KEY}\",\n  \"LTAI5t"),
            "akguard.json: configuration: not valid JSON: EOF while parsing a string (line 3, column 9)\n",
        ),
    ];
    for (text, stderr) in cases {
        write(&dir, "akguard.json", &text);
        let got = run_in(&dir, &["validate", "akguard.json"], None);
        expect_code(&got, 1, &text);
        assert_eq!(got.stderr, stderr, "{text}");
    }
}
