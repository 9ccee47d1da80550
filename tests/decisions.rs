//! The decision table (`tests/cases/decisions.json`) through the native policy core, and
//! every row of the embedded high-risk list on its product's hosts.

mod common;

use akguard::core::catalog::{Catalog, Operations};
use common::{check, load_table, run_native, Case, Expect, Request, Table, CLEAN, LEAKED};
use serde_json::json;

#[test]
fn decision_table_native() {
    let table = load_table();
    assert!(table.cases.len() >= 50, "the table lost cases");
    let failures: Vec<String> = table
        .cases
        .iter()
        .filter_map(|case| check(case, &run_native(case, &table)).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn rpc_case(host: &str, action: &str, key: &str, verdict: &str) -> Case {
    Case {
        name: format!("{host} {action} {key}"),
        config: None,
        request: Request {
            method: "GET".into(),
            authority: host.into(),
            path: format!("/?Action={action}&AccessKeyId={key}&Format=JSON"),
            headers: vec![],
            body: None,
        },
        expect: Expect {
            verdict: verdict.into(),
            ..Expect::default()
        },
    }
}

/// Hosts a product answers on, built from each host code the way the SDKs build them.
fn hosts_for(code: &str) -> Vec<String> {
    vec![
        format!("{code}.aliyuncs.com"),
        format!("{code}.cn-hangzhou.aliyuncs.com"),
        format!("{code}-vpc.cn-hangzhou.aliyuncs.com"),
        format!("{code}.vpc-proxy.aliyuncs.com"),
    ]
}

#[test]
fn every_listed_operation_is_denied_for_a_leaked_key_and_allowed_for_a_clean_one() {
    let table = Table {
        default_config: json!({ "leaked_keys": [LEAKED] }),
        cases: vec![],
    };
    let catalog = Catalog::embedded().unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for row in &catalog.rows {
        let actions: Vec<String> = match &row.operations {
            Operations::Listed(ops) => ops.clone(),
            Operations::All(_) => vec![
                "ListUsers".into(),
                "CreateAccessKey".into(),
                "AnyOperation".into(),
            ],
        };
        for code in &row.hosts {
            for host in hosts_for(code) {
                for action in &actions {
                    for (key, verdict) in [(LEAKED, "deny"), (CLEAN, "allow")] {
                        let case = rpc_case(&host, action, key, verdict);
                        let got = run_native(&case, &table);
                        if let Err(e) = check(&case, &got) {
                            failures.push(e);
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // 79 named operations and 2 "All" products, over every host code and host shape.
    assert!(checked > 79 * 2 * 4, "only {checked} cases ran");
}

#[test]
fn listed_operations_stay_on_their_product() {
    let table = Table {
        default_config: json!({ "leaked_keys": [LEAKED] }),
        cases: vec![],
    };
    // RunCommand is ECS and ECD; CreateAccount is RDS only; SendSms is SMS only.
    let cases = [
        ("ecs.aliyuncs.com", "RunCommand", "deny"),
        ("ecd.cn-hangzhou.aliyuncs.com", "RunCommand", "deny"),
        ("rds.aliyuncs.com", "RunCommand", "allow"),
        ("rds.aliyuncs.com", "CreateAccount", "deny"),
        ("ecs.aliyuncs.com", "CreateAccount", "allow"),
        ("dysmsapi.aliyuncs.com", "SendSms", "deny"),
        ("ecs.aliyuncs.com", "SendSms", "allow"),
        ("ehpc.cn-hangzhou.aliyuncs.com", "CreateJob", "allow"),
        ("ehpcinstant.cn-hangzhou.aliyuncs.com", "CreateJob", "deny"),
    ];
    for (host, action, verdict) in cases {
        let case = rpc_case(host, action, LEAKED, verdict);
        check(&case, &run_native(&case, &table)).unwrap();
    }
}
