//! The Wasm plugin image (`deploy/image/`): built twice to the same digest, pushed with
//! `push_image.py` (skopeo) to a real registry on 127.0.0.1, read back by tag and by digest
//! through the registry's API with the tests' own client, checked layer by layer against
//! Higress's Wasm plugin image specification, and its `plugin.wasm` run in Envoy, where it
//! denies a leaked key. Pushes that cannot succeed name the registry and the reason, and leave
//! no tag behind.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;
mod registry;

use envoy::bootstrap::{bootstrap, direct_listener};
use envoy::client::{send_h1, Request};
use envoy::{module_path, repo_root, Envoy, Options};
use registry::Registry;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const LEAKED: &str = "LTAI5tLeakedKey000000001";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("image")
        .join(format!("{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(command: &mut Command) -> Output {
    command
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"))
}

/// `build_image.py` into `out`: the image's digest as printed, checked against the layout.
fn build_image(out: &Path) -> String {
    let output = run(Command::new("python3")
        .arg("deploy/image/build_image.py")
        .arg("--module")
        .arg(module_path())
        .arg("--out")
        .arg(out));
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "build_image.py failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("digest:"))
        .expect("a digest line")
        .trim()
        .to_string();
    let module = fs::read(module_path()).unwrap();
    assert!(
        stdout.contains(&format!("module:  {}", sha256(&module))),
        "{stdout}"
    );
    let index: Value =
        serde_json::from_slice(&fs::read(out.join("akguard-oci/index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], printed.as_str());
    printed
}

fn push(reference: &str, layout: &Path) -> Output {
    run(Command::new("python3")
        .arg("deploy/image/push_image.py")
        .arg(reference)
        .arg("--layout")
        .arg(layout)
        .arg("--insecure-registry"))
}

fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

#[test]
fn image_round_trips_through_a_registry_and_runs_in_envoy() {
    let (first, second) = (scratch("first"), scratch("second"));
    let digest = build_image(&first);
    assert_eq!(build_image(&second), digest, "two builds, two digests");
    let archive = format!("akguard-{}.oci.tar", version());
    assert!(
        fs::read(first.join(&archive)).unwrap() == fs::read(second.join(&archive)).unwrap(),
        "the two archives differ"
    );
    println!("image digest: {digest}");

    let registry = Registry::start("round-trip", false);
    let reference = format!("{}/security/akguard:{}", registry.host(), version());
    let output = push(&reference, &first.join("akguard-oci"));
    assert!(
        output.status.success(),
        "push failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    // Pulled back by tag and by digest: the same manifest, under the built digest.
    let by_tag = registry.get(
        &format!("/v2/security/akguard/manifests/{}", version()),
        MANIFEST_TYPE,
    );
    assert_eq!(
        by_tag.status,
        200,
        "{}",
        String::from_utf8_lossy(&by_tag.body)
    );
    assert_eq!(
        by_tag.header("docker-content-digest"),
        Some(digest.as_str())
    );
    assert_eq!(by_tag.header("content-type"), Some(MANIFEST_TYPE));
    assert_eq!(sha256(&by_tag.body), digest);
    let by_digest = registry.get(
        &format!("/v2/security/akguard/manifests/{digest}"),
        MANIFEST_TYPE,
    );
    assert_eq!(by_digest.status, 200);
    assert_eq!(by_digest.body, by_tag.body);

    let manifest: Value = serde_json::from_slice(&by_tag.body).unwrap();
    assert_eq!(manifest["schemaVersion"], 2);
    assert_eq!(manifest["mediaType"], MANIFEST_TYPE);
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.image.config.v1+json"
    );
    let layers = manifest["layers"].as_array().unwrap();
    let described: Vec<(&str, &str)> = layers
        .iter()
        .map(|l| {
            (
                l["annotations"]["org.opencontainers.image.title"]
                    .as_str()
                    .unwrap(),
                l["mediaType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        described,
        [
            ("spec.yaml", "application/vnd.module.wasm.spec.v1+yaml"),
            ("README.md", "application/vnd.module.wasm.doc.v1+markdown"),
            ("plugin.wasm", "application/vnd.oci.image.layer.v1.tar+gzip"),
        ]
    );

    // Every blob as described; spec.yaml and README.md as in the repository.
    let mut blobs = Vec::new();
    for descriptor in layers.iter().chain([&manifest["config"]]) {
        let blob_digest = descriptor["digest"].as_str().unwrap();
        let blob = registry.get(&format!("/v2/security/akguard/blobs/{blob_digest}"), "");
        assert_eq!(blob.status, 200, "blob {blob_digest}");
        assert_eq!(sha256(&blob.body), blob_digest);
        assert_eq!(blob.body.len() as u64, descriptor["size"].as_u64().unwrap());
        blobs.push(blob.body);
    }
    assert_eq!(
        blobs[0],
        fs::read(repo_root().join("deploy/image/spec.yaml")).unwrap()
    );
    assert_eq!(blobs[1], fs::read(repo_root().join("README.md")).unwrap());

    // plugin.wasm out of the last layer, with tar, as Istio's agent would take it.
    let pulled = scratch("pulled");
    fs::write(pulled.join("layer.tar.gz"), &blobs[2]).unwrap();
    let listing = run(Command::new("tar")
        .arg("-tzf")
        .arg(pulled.join("layer.tar.gz")));
    assert_eq!(String::from_utf8_lossy(&listing.stdout), "plugin.wasm\n");
    let extract = run(Command::new("tar")
        .arg("-xzf")
        .arg(pulled.join("layer.tar.gz"))
        .arg("-C")
        .arg(&pulled));
    assert!(extract.status.success());
    let extracted = pulled.join("plugin.wasm");
    assert!(
        fs::read(&extracted).unwrap() == fs::read(module_path()).unwrap(),
        "plugin.wasm from the registry differs from the built module"
    );

    // Envoy runs the extracted module and denies a leaked key's high-risk call.
    let mut config = bootstrap(
        vec![direct_listener(
            "image",
            &format!(r#"{{"leaked_keys": ["{LEAKED}"], "hold_headers": true}}"#),
            true,
        )],
        vec![],
    );
    let filename = &mut config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"]
        [0]["typed_config"]["http_filters"][0]["typed_config"]["config"]["vm_config"]["code"]
        ["local"]["filename"];
    assert!(filename.is_string(), "the bootstrap's module path moved");
    *filename = Value::String(extracted.display().to_string());
    let envoy = Envoy::start(
        &config,
        &Options {
            tag: "image".into(),
            ..Options::default()
        },
    );
    let call = |key: &str| {
        send_h1(
            envoy.port("image"),
            &Request::get(
                "ecs.cn-hangzhou.aliyuncs.com",
                &format!("/?Action=RunInstances&AccessKeyId={key}"),
            ),
        )
        .unwrap()
    };
    let denied = call(LEAKED);
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert!(denied
        .body
        .contains("There is a risk of leakage of this AccessKey."));
    assert_eq!(call("LTAI5tCleanKey0000000001").status, 200);
}

#[test]
fn failed_pushes_name_the_registry_and_leave_no_tag() {
    let out = scratch("failing");
    build_image(&out);
    let layout = out.join("akguard-oci");

    // Nothing listens there.
    let closed = envoy::free_port();
    let output = push(&format!("127.0.0.1:{closed}/security/akguard:1"), &layout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("push to 127.0.0.1:{closed} failed"))
            && stderr.contains("connection refused"),
        "{stderr}"
    );

    // A registry that refuses writes: the reason is its answer, and the tag stays absent.
    let registry = Registry::start("read-only", true);
    let output = push(&format!("{}/security/akguard:1", registry.host()), &layout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("push to {} failed: ", registry.host()))
            && stderr.contains("405, Method not allowed"),
        "{stderr}"
    );
    let tag = registry.get("/v2/security/akguard/manifests/1", MANIFEST_TYPE);
    assert_eq!(tag.status, 404);

    // Not a reference at all.
    let output = push("akguard", &layout);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("expected REGISTRY/NAME:TAG"));
}

/// The Istio and Higress examples pull the image by this version's tag, pinned by a digest.
#[test]
fn examples_pin_the_image() {
    for file in [
        "examples/istio-wasmplugin.yaml",
        "examples/higress-wasmplugin.yaml",
    ] {
        let text = fs::read_to_string(repo_root().join(file)).unwrap();
        let doc: Value = serde_yaml::from_str(&text).unwrap();
        let url = doc["spec"]["url"].as_str().unwrap();
        assert!(
            url.starts_with("oci://") && url.ends_with(&format!("/akguard:{}", version())),
            "{file}: {url}"
        );
        let pin = doc["spec"]["sha256"].as_str().unwrap_or_default();
        assert!(
            pin.len() == 64
                && pin
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{file}: sha256 {pin:?}"
        );
    }
}
