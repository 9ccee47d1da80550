//! `akguard list`: the embedded high-risk list, as a table or as JSON, with its source and
//! publication date.

use super::{CliResult, EXIT_OK};
use akguard::core::catalog::{Catalog, Operations};
use std::io::Write;

/// Show the embedded high-risk list
#[derive(clap::Args)]
#[command(
    long_about = "Show the high-risk list compiled into akguard: for each product and API version, its host codes \
(the first label of its API hosts) and its blocked operations (`*`: every operation), with the list's source and \
publication date."
)]
pub struct Args {
    /// Print the list as JSON
    #[arg(long)]
    pub json: bool,
}

fn table(catalog: &Catalog) -> String {
    let header = ["PRODUCT", "VERSION", "HOSTS", "NAME", "OPERATIONS"];
    let mut rows: Vec<[String; 5]> = vec![header.map(str::to_string)];
    for row in &catalog.rows {
        let operations = match &row.operations {
            Operations::All(_) => "* (every operation)".to_string(),
            Operations::Listed(names) => names.join(", "),
        };
        rows.push([
            row.product.clone(),
            row.version.clone(),
            row.hosts.join(","),
            row.name.clone(),
            operations,
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = format!(
        "source: {}\npublished: {}\n\n",
        catalog.source, catalog.published
    );
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let every: Vec<&str> = catalog
        .products
        .iter()
        .filter(|p| p.all)
        .map(|p| p.id.as_str())
        .collect();
    out.push_str(&format!(
        "\n{} products, {} named operations; every operation of: {}\n",
        catalog.products.len(),
        catalog.operation_count(),
        every.join(", ")
    ));
    out
}

pub fn run(args: &Args) -> CliResult {
    let catalog = Catalog::embedded()?;
    let text = if args.json {
        let value = serde_json::json!({
            "source": catalog.source,
            "published": catalog.published,
            "products": catalog.rows,
        });
        let mut text =
            serde_json::to_string_pretty(&value).map_err(|e| format!("rendering the list: {e}"))?;
        text.push('\n');
        text
    } else {
        table(&catalog)
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(EXIT_OK)
}
