//! `akguard list`: the embedded high-risk list, complete, as a table and as JSON.

mod cli_support;

use akguard::core::catalog::{Catalog, Operations, EMBEDDED_LIST};
use cli_support::{expect_code, run, scratch, write};

#[test]
fn the_table_shows_every_row_and_operation() {
    let catalog = Catalog::embedded().unwrap();
    let got = run(&["list"]);
    expect_code(&got, 0, "list");
    let lines: Vec<&str> = got.stdout.lines().collect();
    assert_eq!(lines[0], format!("source: {}", catalog.source));
    assert_eq!(lines[1], format!("published: {}", catalog.published));
    assert!(lines[3].starts_with("PRODUCT") && lines[3].ends_with("OPERATIONS"));
    for (row, line) in catalog.rows.iter().zip(&lines[4..]) {
        let cells: Vec<&str> = line
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(cells[0], row.product, "{line}");
        assert_eq!(cells[1], row.version, "{line}");
        assert_eq!(cells[2], row.hosts.join(","), "{line}");
        assert_eq!(cells[3], row.name, "{line}");
        let want = match &row.operations {
            Operations::All(_) => "* (every operation)".to_string(),
            Operations::Listed(names) => names.join(", "),
        };
        assert_eq!(cells[4], want, "{line}");
    }
    let listed = (0..catalog.products.len())
        .filter(|&p| catalog.is_listed_product(p))
        .count();
    assert_eq!(listed, 14);
    let tail = &lines[lines.len() - 2..];
    assert_eq!(
        tail[0],
        format!(
            "{listed} products, {} named operations; every operation of: ram, ims",
            catalog.operation_count()
        )
    );
    assert_eq!(
        tail[1],
        format!(
            "{} known products in all (akguard list --known)",
            catalog.products.len()
        )
    );
    assert_eq!(lines.len(), 4 + catalog.rows.len() + 3);
}

#[test]
fn known_products_show_their_hosts_and_whether_anything_is_listed() {
    let catalog = Catalog::embedded().unwrap();
    let got = run(&["list", "--known"]);
    expect_code(&got, 0, "list --known");
    let lines: Vec<&str> = got.stdout.lines().collect();
    assert_eq!(lines[0], format!("source: {}", catalog.known_source));
    assert_eq!(lines[1], format!("recorded: {}", catalog.known_recorded));
    assert!(lines[3].starts_with("PRODUCT") && lines[3].ends_with("NAME"));
    let rows: Vec<Vec<&str>> = lines[4..4 + catalog.products.len()]
        .iter()
        .map(|line| {
            line.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    let row = |id: &str| rows.iter().find(|r| r[0] == id).unwrap().clone();
    assert_eq!(row("ram")[1], "every operation");
    assert_eq!(row("ecs")[1], "listed operations");
    let oss = row("oss");
    assert_eq!(oss[1], "none");
    assert_eq!(oss[2], "oss");
    assert!(oss[3].contains("{name}.oss-{region}"), "{oss:?}");
    assert_eq!(row("sts")[1], "none");
    assert_eq!(
        lines.last().copied(),
        Some(
            format!(
                "{} products, 14 with listed operations",
                catalog.products.len()
            )
            .as_str()
        )
    );
    assert!(catalog.products.len() > 100);

    let got = run(&["list", "--known", "--json"]);
    expect_code(&got, 0, "list --known --json");
    let shown: serde_json::Value = serde_json::from_str(&got.stdout).unwrap();
    let products = shown["products"].as_array().unwrap();
    assert_eq!(products.len(), catalog.products.len());
    let log = products.iter().find(|p| p["product"] == "log").unwrap();
    assert_eq!(log["listed"], "none");
    let shapes = log["shapes"].as_array().unwrap();
    assert!(shapes.iter().any(|s| s == "{region}.log"), "{shapes:?}");
    assert_eq!(shown["source"], catalog.known_source.as_str());
}

#[test]
fn json_matches_the_embedded_file() {
    let got = run(&["list", "--json"]);
    expect_code(&got, 0, "list --json");
    let shown: serde_json::Value = serde_json::from_str(&got.stdout).unwrap();
    let file: serde_json::Value = serde_json::from_str(EMBEDDED_LIST).unwrap();
    assert_eq!(shown["source"], file["source"]);
    assert_eq!(shown["published"], file["published"]);
    assert_eq!(shown["products"], file["products"]);
}

#[test]
fn bad_options_are_usage_errors_and_help_is_given() {
    let got = run(&["list", "--yaml"]);
    expect_code(&got, 2, "unknown option");
    assert!(got.stderr.contains("--yaml"));
    let got = run(&["list", "--help"]);
    expect_code(&got, 0, "--help");
    assert!(got.stdout.contains("--json"));
}

#[test]
fn diff_shows_what_a_candidate_list_adds_and_removes() {
    let dir = scratch("list-diff");
    let mut list: serde_json::Value = serde_json::from_str(EMBEDDED_LIST).unwrap();
    list["published"] = "2026-06".into();
    list["source"] = "a newer list".into();
    let rows = list["products"].as_array_mut().unwrap();
    rows.retain(|r| r["product"] != "dbs");
    for row in rows.iter_mut() {
        if row["product"] == "ims" {
            row["operations"] = serde_json::json!(["CreateAccessKey"]);
        }
        if row["product"] == "ecs" {
            let ops = row["operations"].as_array_mut().unwrap();
            ops.retain(|a| a != "RunCommand");
            // Same action, other case: not a difference.
            ops.iter_mut()
                .for_each(|a| *a = a.as_str().unwrap().to_lowercase().into());
            ops.push("StopInstance".into());
        }
    }
    rows.push(serde_json::json!({"product": "sts", "version": "2015-04-01", "hosts": ["sts"], "operations": ["AssumeRole"]}));
    let file = write(&dir, "candidate.json", list.to_string());
    let got = run(&["list", "--diff", file.to_str().unwrap()]);
    expect_code(&got, 0, "list --diff");
    let catalog = Catalog::embedded().unwrap();
    let lines: Vec<&str> = got.stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "embedded:  published {}: {}",
            catalog.published, catalog.source
        )
    );
    assert_eq!(lines[1], "candidate: published 2026-06: a newer list");
    let changes: Vec<String> = lines
        .iter()
        .filter(|l| l.starts_with("+ ") || l.starts_with("- "))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        changes,
        [
            "- dbs CreateDownload",
            "- dbs DescribeDownloadBackupSetStorageInfo",
            "- dbs ModifyBackupStrategy",
            "+ ecs StopInstance",
            "- ecs RunCommand",
            "- ims every operation",
            "+ ims CreateAccessKey",
            "+ sts AssumeRole",
        ]
    );
    assert_eq!(
        lines.last().copied(),
        Some("3 added, 5 removed (a product's \"every operation\" counts as one)")
    );

    // A configuration holding the list is read too; the embedded list is no difference.
    let config = dir.join("config.json");
    std::fs::write(
        &config,
        serde_json::json!({ "high_risk_list": list }).to_string(),
    )
    .unwrap();
    let got = run(&["list", "--diff", config.to_str().unwrap()]);
    expect_code(&got, 0, "list --diff config");
    assert!(got
        .stdout
        .ends_with("3 added, 5 removed (a product's \"every operation\" counts as one)\n"));
    let same = write(&dir, "same.json", EMBEDDED_LIST);
    let got = run(&["list", "--diff", same.to_str().unwrap()]);
    expect_code(&got, 0, "list --diff same");
    assert!(got.stdout.ends_with("\nno difference in what is blocked\n"));

    // A bad candidate is refused with the path of the problem.
    list["products"][0]["operations"] = serde_json::json!([]);
    std::fs::write(
        &config,
        serde_json::json!({ "high_risk_list": list }).to_string(),
    )
    .unwrap();
    let got = run(&["list", "--diff", config.to_str().unwrap()]);
    expect_code(&got, 1, "list --diff bad");
    assert!(
        got.stderr
            .contains("config.json: high_risk_list.products[0].operations: expected \"*\""),
        "{}",
        got.stderr
    );
}
