//! `akguard list`: the embedded high-risk list, complete, as a table and as JSON.

mod cli_support;

use akguard::core::catalog::{Catalog, Operations, EMBEDDED_LIST};
use cli_support::{expect_code, run};

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
    assert_eq!(
        lines.last().copied(),
        Some(
            format!(
                "{} products, {} named operations; every operation of: ram, ims",
                catalog.products.len(),
                catalog.operation_count()
            )
            .as_str()
        )
    );
    assert_eq!(lines.len(), 4 + catalog.rows.len() + 2);
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
