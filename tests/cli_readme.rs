//! README is the operator's handbook; these tests keep it true. Every `json` block is a
//! configuration the filter accepts; every `console` block is run (its `$` lines in one shell,
//! in a scratch directory holding a copy of `examples/`, with the built `akguard` on `PATH`)
//! and must print what the README shows; and the reference tables name every configuration
//! field, rule, metric and subcommand there is.

mod cli_support;

use akguard::core::catalog::Catalog;
use akguard::core::config::{self, FIELDS};
use cli_support::readme::{blocks, copy_dir, readme, steps, table_names};
use cli_support::{expect_code, run, scratch, BIN, ROOT};
use std::path::Path;
use std::process::Command;

#[test]
fn every_json_block_is_an_accepted_configuration() {
    let json: Vec<String> = blocks(&readme())
        .into_iter()
        .filter(|(info, _)| info == "json")
        .map(|(_, body)| body)
        .collect();
    assert!(!json.is_empty(), "README has no json configuration block");
    for body in json {
        let loaded = config::load(body.as_bytes())
            .unwrap_or_else(|e| panic!("README configuration rejected: {e}\n{body}"));
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }
}

const MARK: &str = "@@readme-step-end@@";

#[test]
fn every_console_block_prints_what_the_readme_shows() {
    let dir = scratch("readme-console");
    copy_dir(&Path::new(ROOT).join("examples"), &dir.join("examples"));
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let consoles: Vec<String> = blocks(&readme())
        .into_iter()
        .filter(|(info, _)| info == "console")
        .map(|(_, body)| body)
        .collect();
    assert!(
        consoles.len() >= 3,
        "README has {} console blocks",
        consoles.len()
    );
    for block in consoles {
        let steps = steps(&block);
        let mut script = String::from("exec 2>&1\n");
        for step in &steps {
            script.push_str(&step.command);
            script.push_str(&format!(
                "\n__status=$?; printf '{MARK}\\n'; (exit $__status)\n"
            ));
        }
        let output = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .current_dir(&dir)
            .env("PATH", &path)
            .output()
            .unwrap();
        let text = String::from_utf8(output.stdout).unwrap();
        let got: Vec<&str> = text.split(&format!("{MARK}\n")).collect();
        assert_eq!(
            got.len(),
            steps.len() + 1,
            "block did not run to the end:\n{text}"
        );
        for (step, got) in steps.iter().zip(got) {
            assert_eq!(
                got, step.output,
                "README console step `{}` printed something else",
                step.command
            );
        }
    }
}

#[test]
fn the_reference_tables_are_complete() {
    let text = readme();
    let names = table_names(&text);
    for field in FIELDS {
        assert!(
            names.iter().any(|n| n == field),
            "configuration field {field} missing"
        );
    }
    let rules = [
        "deny-all-calls",
        "all-operations",
        "listed-action",
        "unreadable-action",
        "unknown-host-listed-action",
        "no-action",
        "unknown-host-no-action",
        "body-too-large",
    ];
    for rule in rules {
        assert!(names.iter().any(|n| n == rule), "rule {rule} missing");
    }
    let metrics_source = ["src/filter/metrics.rs", "src/filter/feed_metrics.rs"]
        .map(|file| std::fs::read_to_string(Path::new(ROOT).join(file)).unwrap())
        .concat();
    let metrics: Vec<&str> = metrics_source
        .split('"')
        .filter(|s| s.starts_with("akguard.") && !s.contains(' '))
        .collect();
    assert!(metrics.len() >= 24, "{metrics:?}");
    for metric in metrics {
        assert!(names.iter().any(|n| n == metric), "metric {metric} missing");
    }
    assert!(text.contains("sum(increase(akguard_denied[5m])) > 0"));
    let help = run(&["--help"]);
    expect_code(&help, 0, "--help");
    let commands: Vec<&str> = help
        .stdout
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert_eq!(commands.len(), 6, "{commands:?}");
    for command in commands {
        assert!(
            names
                .iter()
                .any(|n| n.starts_with(&format!("akguard {command}"))),
            "subcommand {command} missing from the command table"
        );
    }
}

#[test]
fn the_product_ids_and_the_operation_count_are_the_lists() {
    let text = readme();
    let catalog = Catalog::embedded().unwrap();
    let ids: Vec<String> = (0..catalog.products.len())
        .filter(|&p| catalog.is_listed_product(p))
        .map(|p| format!("`{}`", catalog.products[p].id))
        .collect();
    assert_eq!(ids.len(), 14, "{ids:?}");
    let line = format!("Product ids: {}", ids.join(", "));
    let flat = text.replace('\n', " ");
    assert!(flat.contains(&line), "README lacks: {line}");
    let count = format!("{} named operations", catalog.operation_count());
    assert!(flat.contains(&count), "README lacks: {count}");
    let known = format!("{} products", catalog.products.len());
    assert!(flat.contains(&known), "README lacks: {known}");
}
