//! `akguard list`: the embedded high-risk list, as a table or as JSON, with its source and
//! publication date; with `--known`, the catalog of known products and their host names; with
//! `--diff`, a candidate list against the embedded one.

use super::{CliResult, EXIT_OK};
use akguard::core::catalog::{Catalog, Operations};
use std::io::Write;

/// Show the embedded high-risk list
#[derive(clap::Args)]
#[command(
    long_about = "Show the high-risk list compiled into akguard: for each product and API version, its host codes \
(the first label of its API hosts) and its blocked operations (`*`: every operation), with the list's source and \
publication date. With --known: every product akguard knows (from Alibaba Cloud's endpoint data), its host codes \
and host shapes, and whether the list names operations of it (a leaked key's call to a known product with none \
passes). With --diff FILE: what a candidate list adds to and removes from the embedded one."
)]
pub struct Args {
    /// Print the list as JSON
    #[arg(long)]
    pub json: bool,
    /// Show the known products and their host names instead of the list
    #[arg(long, conflicts_with = "diff")]
    pub known: bool,
    /// Show what a candidate list (a list file, or a configuration with high_risk_list) adds
    /// to and removes from the embedded one
    #[arg(long, value_name = "FILE", conflicts_with = "json")]
    pub diff: Option<std::path::PathBuf>,
}

/// Lines of cells, each column as wide as its widest cell.
fn aligned(rows: &[Vec<String>]) -> String {
    let mut widths = Vec::new();
    for row in rows {
        widths.resize(widths.len().max(row.len()), 0);
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
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
    out
}

/// What the list names of a product: every operation, some, or none.
fn listing_of(catalog: &Catalog, index: usize) -> &'static str {
    if catalog.products[index].all {
        "every operation"
    } else if catalog.is_listed_product(index) {
        "listed operations"
    } else {
        "none"
    }
}

fn known_table(catalog: &Catalog) -> String {
    let mut rows = vec![["PRODUCT", "LISTED", "HOST CODES", "HOST SHAPES", "NAME"]
        .map(str::to_string)
        .to_vec()];
    for (index, product) in catalog.products.iter().enumerate() {
        rows.push(vec![
            product.id.clone(),
            listing_of(catalog, index).to_string(),
            product.host_codes.join(","),
            product.host_shapes.join(","),
            product.name.clone(),
        ]);
    }
    let listed = (0..catalog.products.len())
        .filter(|&p| catalog.is_listed_product(p))
        .count();
    format!(
        "source: {}\nrecorded: {}\n\n{}\n{} products, {listed} with listed operations\n",
        catalog.known_source,
        catalog.known_recorded,
        aligned(&rows),
        catalog.products.len(),
    )
}

fn known_json(catalog: &Catalog) -> serde_json::Value {
    let products: Vec<serde_json::Value> = catalog
        .products
        .iter()
        .enumerate()
        .map(|(index, product)| {
            serde_json::json!({
                "product": product.id,
                "name": product.name,
                "listed": listing_of(catalog, index),
                "codes": product.host_codes,
                "shapes": product.host_shapes,
            })
        })
        .collect();
    serde_json::json!({
        "source": catalog.known_source,
        "recorded": catalog.known_recorded,
        "products": products,
    })
}

fn table(catalog: &Catalog) -> String {
    let header = ["PRODUCT", "VERSION", "HOSTS", "NAME", "OPERATIONS"];
    let mut rows = vec![header.map(str::to_string).to_vec()];
    for row in &catalog.rows {
        let operations = match &row.operations {
            Operations::All(_) => "* (every operation)".to_string(),
            Operations::Listed(names) => names.join(", "),
        };
        rows.push(vec![
            row.product.clone(),
            row.version.clone(),
            row.hosts.join(","),
            row.name.clone(),
            operations,
        ]);
    }
    let every: Vec<&str> = catalog
        .products
        .iter()
        .filter(|p| p.all)
        .map(|p| p.id.as_str())
        .collect();
    let listed = (0..catalog.products.len())
        .filter(|&p| catalog.is_listed_product(p))
        .count();
    format!(
        "source: {}\npublished: {}\n\n{}\n{listed} products, {} named operations; every operation of: {}\n\
         {} known products in all (akguard list --known)\n",
        catalog.source,
        catalog.published,
        aligned(&rows),
        catalog.operation_count(),
        every.join(", "),
        catalog.products.len(),
    )
}

pub fn run(args: &Args) -> CliResult {
    let catalog = Catalog::embedded()?;
    let text = if let Some(path) = &args.diff {
        super::list_diff::report(path)?
    } else if args.known && args.json {
        let mut text = serde_json::to_string_pretty(&known_json(&catalog))
            .map_err(|e| format!("rendering the products: {e}"))?;
        text.push('\n');
        text
    } else if args.known {
        known_table(&catalog)
    } else if args.json {
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
