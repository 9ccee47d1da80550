//! Embeds the high-risk list (`policies/high-risk.json`) into the module without the
//! whitespace that keeps it readable in the repository (the same JSON, smaller), and the
//! catalog of known products (`policies/products.json`) as lines of tab-separated fields,
//! which the module reads without a JSON parser of its own for them.

use std::path::PathBuf;

/// The JSON text without whitespace outside its strings.
fn minified(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// The text of a JSON string field, or `""`.
fn text_of<'a>(value: &'a serde_json::Value, field: &str) -> &'a str {
    value.get(field).and_then(|v| v.as_str()).unwrap_or("")
}

/// The strings of a JSON array field, joined with `,`.
fn joined(value: &serde_json::Value, field: &str) -> Result<String, String> {
    let Some(items) = value.get(field) else {
        return Ok(String::new());
    };
    let items = items
        .as_array()
        .ok_or_else(|| format!("{field}: expected an array"))?;
    let texts: Vec<&str> = items
        .iter()
        .map(|item| {
            item.as_str()
                .ok_or_else(|| format!("{field}: expected strings"))
        })
        .collect::<Result<_, _>>()?;
    Ok(texts.join(","))
}

/// `policies/products.json` as lines: `source<TAB>recorded`, then one
/// `product<TAB>name<TAB>codes<TAB>shapes<TAB>errors` line a product (lists joined with `,`).
fn product_lines(text: &str) -> Result<String, String> {
    let file: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut out = format!(
        "{}\t{}\n",
        text_of(&file, "source"),
        text_of(&file, "recorded")
    );
    let products = file
        .get("products")
        .and_then(|p| p.as_array())
        .ok_or("products: expected an array")?;
    for product in products {
        let fields = [
            text_of(product, "product").to_string(),
            text_of(product, "name").to_string(),
            joined(product, "codes")?,
            joined(product, "shapes")?,
            text_of(product, "errors").to_string(),
        ];
        if fields.iter().any(|f| f.contains(['\t', '\n'])) {
            return Err(format!("{}: a tab or a line break in a field", fields[0]));
        }
        out.push_str(&fields.join("\t"));
        out.push('\n');
    }
    Ok(out)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let read = |source: &str| {
        println!("cargo:rerun-if-changed={source}");
        std::fs::read_to_string(source).map_err(|e| format!("{source}: {e}"))
    };
    let list = read("policies/high-risk.json")?;
    std::fs::write(out_dir.join("high-risk.json"), minified(&list))?;
    let products = read("policies/products.json")?;
    let lines = product_lines(&products).map_err(|e| format!("policies/products.json: {e}"))?;
    std::fs::write(out_dir.join("products.txt"), lines)?;
    Ok(())
}
