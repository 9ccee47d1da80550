//! `akguard keys --form`: the ECDS resource file, the Istio and Higress `WasmPlugin`s, new or
//! updating the file in force (its other settings kept, Higress `matchRules` included), each
//! accepted by `akguard validate`; the change against the file in force counted, never an ID
//! shown; several key lists taken together; `--output` replacing the file atomically.

mod cli_support;

use cli_support::{expect_code, run_in, scratch, write};
use std::path::Path;

const OLD: &str = "LTAI5tDemoLeakedKey00001";
const NEW: [&str; 2] = ["LTAI5tFormsNewKey0000001", "LTAI5tFormsNewKey0000002"];

fn lists(dir: &Path) {
    write(dir, "a.txt", format!("{OLD}\n{}\n", NEW[0]));
    write(
        dir,
        "b.txt",
        format!("# second incident\n{}\n{OLD}\n", NEW[1]),
    );
}

#[test]
fn new_resources_of_every_form_validate() {
    let dir = scratch("keys-forms-new");
    lists(&dir);
    let cases = [
        ("config", None, "out.json"),
        ("ecds", Some("/etc/envoy/akguard.wasm"), "ecds.yaml"),
        (
            "istio",
            Some("oci://registry.example.com/akguard:0.1.0"),
            "istio.yaml",
        ),
        (
            "higress",
            Some("oci://registry.example.com/akguard:0.1.0"),
            "higress.yaml",
        ),
    ];
    for (form, module, file) in cases {
        let mut args = vec![
            "keys",
            "--hash",
            "--hold-headers",
            "--form",
            form,
            "-o",
            file,
        ];
        if let Some(module) = module {
            args.extend(["--module", module]);
        }
        args.extend(["a.txt", "b.txt"]);
        let got = run_in(&dir, &args, None);
        expect_code(&got, 0, form);
        assert_eq!(got.stdout, "", "{form}: written to the file");
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        for key in NEW.iter().chain([&OLD]) {
            assert!(!text.contains(key), "{form}: plaintext {key}");
        }
        if let Some(module) = module {
            assert!(text.contains(module), "{form}:\n{text}");
        }
        let validated = if form == "config" {
            run_in(&dir, &["validate", file], None)
        } else {
            run_in(&dir, &["validate", "--envoy", file], None)
        };
        expect_code(&validated, 0, form);
        assert!(
            validated
                .stdout
                .contains("valid: leaked_keys=3 (distinct 3) mode=enforce"),
            "{form}: {}",
            validated.stdout
        );
        assert!(validated.stdout.ends_with("hold_headers=true\n"), "{form}");
    }
    // With hold_headers, the ECDS resource lets akguard hold the headers.
    let ecds = std::fs::read_to_string(dir.join("ecds.yaml")).unwrap();
    assert!(
        ecds.contains("allow_on_headers_stop_iteration: true"),
        "{ecds}"
    );
    let got = run_in(&dir, &["keys", "--form", "istio", "a.txt"], None);
    expect_code(&got, 1, "no module");
    assert!(got.stderr.contains("needs --module"), "{}", got.stderr);
}

#[test]
fn updating_a_higress_plugin_keeps_its_rules_and_counts_the_change() {
    let dir = scratch("keys-forms-higress");
    lists(&dir);
    let example = Path::new(cli_support::ROOT).join("examples/higress-wasmplugin.yaml");
    let got = run_in(
        &dir,
        &[
            "keys",
            "--form",
            "higress",
            "--into",
            example.to_str().unwrap(),
            "a.txt",
            "b.txt",
        ],
        None,
    );
    expect_code(&got, 0, "higress --into");
    // The example's default keys: the demo key and an STS key; now the demo key and two new.
    assert_eq!(
        got.stderr,
        "leaked keys: 2 added, 1 removed, 1 unchanged (2 before, 3 now)\n"
    );
    write(&dir, "plugin.yaml", &got.stdout);
    let validated = run_in(&dir, &["validate", "--envoy", "plugin.yaml"], None);
    expect_code(&validated, 0, "the updated plugin");
    assert!(
        validated
            .stdout
            .contains("valid: leaked_keys=3 (distinct 3) mode=enforce deny_all_calls=false")
            && validated.stdout.contains(" rules=3 "),
        "{}",
        validated.stdout
    );
    // The rules still decide: the CI route's own keys and deny_all_calls.
    let explained = run_in(
        &dir,
        &[
            "explain",
            "--envoy",
            "plugin.yaml",
            "--route",
            "default/aliyun-api-ci",
            "--",
            "curl",
            "http://api.example/?Action=DescribeRegions&AccessKeyId=LTAI5tCiLeakedKey0000001",
        ],
        None,
    );
    expect_code(&explained, 3, "the CI rule");
    // The entries themselves only when asked for.
    let listed = run_in(
        &dir,
        &[
            "keys",
            "--form",
            "higress",
            "--into",
            example.to_str().unwrap(),
            "--list-changes",
            "a.txt",
            "b.txt",
        ],
        None,
    );
    expect_code(&listed, 0, "--list-changes");
    assert_eq!(
        listed.stderr,
        format!(
            "leaked keys: 2 added, 1 removed, 1 unchanged (2 before, 3 now)\n+ {}\n+ {}\n- STS.DemoLeakedTemporary1\n",
            NEW[0], NEW[1]
        )
    );
    let usage = run_in(&dir, &["keys", "--list-changes", "a.txt"], None);
    expect_code(&usage, 2, "--list-changes without --into");
    let plugin: serde_json::Value = serde_yaml::from_str(&got.stdout).unwrap();
    assert_eq!(
        plugin["spec"]["url"],
        "oci://registry.example.com/security/akguard:0.1.0"
    );
    assert_eq!(plugin["spec"]["matchRules"].as_array().unwrap().len(), 3);
    let keys = &plugin["spec"]["defaultConfig"]["leaked_keys"];
    assert_eq!(*keys, serde_json::json!([OLD, NEW[0], NEW[1]]));
}

#[test]
fn updating_an_ecds_file_replaces_it_atomically() {
    let dir = scratch("keys-forms-ecds");
    lists(&dir);
    let example = Path::new(cli_support::ROOT).join("examples/ecds/akguard.yaml");
    std::fs::copy(&example, dir.join("akguard.yaml")).unwrap();
    // A hard link keeps the file as it was: the update is a new file renamed over the name,
    // never the old file rewritten in place.
    std::fs::hard_link(dir.join("akguard.yaml"), dir.join("before.yaml")).unwrap();
    let got = run_in(
        &dir,
        &[
            "keys",
            "--packed",
            "--mode",
            "shadow",
            "--form",
            "ecds",
            "--into",
            "akguard.yaml",
            "-o",
            "akguard.yaml",
            "a.txt",
            "b.txt",
        ],
        None,
    );
    expect_code(&got, 0, "ecds --into");
    // The example holds the demo key, an STS key and a digest of a third.
    assert_eq!(
        got.stderr,
        "leaked keys: 2 added, 2 removed, 1 unchanged (3 before, 3 now)\n"
    );
    assert_eq!(
        std::fs::read(dir.join("before.yaml")).unwrap(),
        std::fs::read(&example).unwrap()
    );
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 4, "no temporary file left: {names:?}");
    let validated = run_in(&dir, &["validate", "--envoy", "akguard.yaml"], None);
    expect_code(&validated, 0, "the updated ECDS file");
    // Its other settings are kept; --mode is applied.
    assert!(
        validated
            .stdout
            .contains("valid: leaked_keys=3 (distinct 3) mode=shadow deny_all_calls=false extra_operations=0 endpoints=2"),
        "{}",
        validated.stdout
    );
    // A file in force whose configuration the filter would reject is not written over.
    let text = std::fs::read_to_string(&example).unwrap();
    write(&dir, "broken.yaml", text.replace("\"mode\"", "\"mode2\""));
    let got = run_in(
        &dir,
        &[
            "keys",
            "--form",
            "ecds",
            "--into",
            "broken.yaml",
            "-o",
            "broken.yaml",
            "a.txt",
        ],
        None,
    );
    expect_code(&got, 1, "a rejected result");
    assert!(
        got.stderr.contains("mode2: unknown field"),
        "{}",
        got.stderr
    );
    assert!(std::fs::read_to_string(dir.join("broken.yaml"))
        .unwrap()
        .contains("\"mode2\""));
}

#[test]
fn updating_a_configuration_keeps_its_rules() {
    let dir = scratch("keys-forms-config");
    lists(&dir);
    let in_force = serde_json::json!({
        "leaked_keys": [OLD, "LTAI5tFormsGoneKey000001"],
        "mode": "shadow",
        "_rules_": [{"_match_route_": ["ci"], "leaked_keys": [OLD], "deny_all_calls": true}]
    });
    write(&dir, "akguard.json", in_force.to_string());
    let got = run_in(
        &dir,
        &[
            "keys",
            "--into",
            "akguard.json",
            "-o",
            "akguard.json",
            "a.txt",
            "b.txt",
        ],
        None,
    );
    expect_code(&got, 0, "config --into");
    assert_eq!(
        got.stderr,
        "leaked keys: 2 added, 1 removed, 1 unchanged (2 before, 3 now)\n"
    );
    let validated = run_in(&dir, &["validate", "akguard.json"], None);
    expect_code(&validated, 0, "the updated configuration");
    assert!(
        validated
            .stdout
            .contains("valid: leaked_keys=3 (distinct 3) mode=shadow ")
            && validated.stdout.contains(" rules=1 "),
        "{}",
        validated.stdout
    );
}

#[test]
fn a_resource_going_to_a_json_file_is_written_as_json() {
    let dir = scratch("keys-forms-json");
    lists(&dir);
    let got = run_in(
        &dir,
        &[
            "keys",
            "--hash",
            "--form",
            "ecds",
            "--module",
            "/etc/envoy/akguard.wasm",
            "-o",
            "akguard.json",
            "a.txt",
        ],
        None,
    );
    expect_code(&got, 0, "ECDS to a .json file");
    let text = std::fs::read_to_string(dir.join("akguard.json")).unwrap();
    let resource: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(resource["resources"][0]["name"], "akguard");
    // Updated in place, it stays JSON.
    let got = run_in(
        &dir,
        &[
            "keys",
            "--form",
            "ecds",
            "--into",
            "akguard.json",
            "-o",
            "akguard.json",
            "b.txt",
        ],
        None,
    );
    expect_code(&got, 0, "the JSON file updated");
    let text = std::fs::read_to_string(dir.join("akguard.json")).unwrap();
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_ok(),
        "{text}"
    );
    let validated = run_in(&dir, &["validate", "--envoy", "akguard.json"], None);
    expect_code(&validated, 0, "the JSON ECDS file");
    assert!(
        validated.stdout.contains("valid: leaked_keys=2 "),
        "{}",
        validated.stdout
    );
}
