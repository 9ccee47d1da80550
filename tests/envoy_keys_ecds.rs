//! `akguard keys --form ecds` under a running Envoy: the resource it writes is what Envoy's
//! `config_discovery` filter loads, and `--into F --output F` swaps a new key set in without a
//! restart: the added key is denied, the removed one passes again, the one kept stays denied.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod cli_support;
mod envoy;

use envoy::bootstrap::{bootstrap, direct_route, ecds_filter, listener, virtual_host};
use envoy::client::{send_h1, Request};
use envoy::{module_path, Envoy, Options};
use std::path::Path;
use std::time::{Duration, Instant};

const KEPT: &str = "LTAI5tEcdsKeptKey0000001";
const REMOVED: &str = "LTAI5tEcdsGoneKey0000001";
const ADDED: &str = "LTAI5tEcdsNewKey00000001";

fn high_risk(port: u16, key: &str) -> u16 {
    let request = Request::get(
        "ecs.cn-hangzhou.aliyuncs.com",
        &format!("/?Action=RunInstances&AccessKeyId={key}"),
    );
    send_h1(port, &request).expect("a reply").status
}

fn keys(dir: &Path, args: &[&str]) -> cli_support::Run {
    let mut all = vec!["keys", "--hash", "--form", "ecds"];
    all.extend_from_slice(args);
    cli_support::run_in(dir, &all, None)
}

#[test]
fn the_ecds_form_is_swapped_in_under_a_running_envoy() {
    let dir = Envoy::prepare_dir("keys-ecds");
    let ecds_dir = dir.join("ecds");
    std::fs::create_dir_all(&ecds_dir).unwrap();
    let file = ecds_dir.join("akguard.yaml");
    cli_support::write(&dir, "first.txt", format!("{KEPT}\n{REMOVED}\n"));
    cli_support::write(&dir, "second.txt", format!("{KEPT}\n{ADDED}\n"));
    let module = module_path();
    let first = keys(
        &dir,
        &[
            "--module",
            module.to_str().unwrap(),
            "-o",
            file.to_str().unwrap(),
            "first.txt",
        ],
    );
    cli_support::expect_code(&first, 0, "the first resource");
    let envoy = Envoy::start_in(
        dir.clone(),
        &bootstrap(
            vec![listener(
                "keys",
                vec![virtual_host("all", &["*"], vec![direct_route("upstream")])],
                vec![ecds_filter("akguard", &file)],
            )],
            vec![],
        ),
        &Options {
            tag: "keys-ecds".into(),
            ..Options::default()
        },
    );
    let port = envoy.port("keys");
    assert_eq!(high_risk(port, KEPT), 403);
    assert_eq!(high_risk(port, REMOVED), 403);
    assert_eq!(high_risk(port, ADDED), 200);
    let reloads = "extension_config_discovery.http_filter.akguard.update_success";
    let at_start = envoy.stat(reloads);

    let file_arg = file.to_str().unwrap();
    let second = keys(&dir, &["--into", file_arg, "-o", file_arg, "second.txt"]);
    cli_support::expect_code(&second, 0, "the update");
    assert_eq!(
        second.stderr,
        "leaked keys: 1 added, 1 removed, 1 unchanged (2 before, 2 now)\n"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while high_risk(port, ADDED) != 403 {
        assert!(
            Instant::now() < deadline,
            "the new key set is not enforced after 10 s; log:\n{}",
            envoy.log_tail(30)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(high_risk(port, KEPT), 403);
    assert_eq!(high_risk(port, REMOVED), 200);
    assert_eq!(envoy.stat(reloads), at_start + 1);
    assert_eq!(
        envoy.stat("extension_config_discovery.http_filter.akguard.config_fail"),
        0
    );
}
