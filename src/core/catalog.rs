//! The high-risk list: which API operations of which products are blocked for a leaked key.
//!
//! The list itself is data, `policies/high-risk.json`, compiled into the module and parsed
//! when a configuration is applied. Operator `extra_operations` are merged into a copy.
//! Actions are matched without regard to ASCII case; the API version is kept as
//! documentation only, so naming another version of a listed product cannot escape a block.

use hashbrown::HashMap;
use serde::Deserialize;

/// The embedded list: `policies/high-risk.json` without its layout whitespace (`build.rs`).
pub const EMBEDDED_LIST: &str = include_str!(concat!(env!("OUT_DIR"), "/high-risk.json"));

/// Index of a product in [`Catalog::products`].
pub type ProductIndex = usize;

/// Most products a catalog can hold (one bit each in an operation's product mask).
const MAX_PRODUCTS: usize = 64;

/// The longest listed action (an `extra_operations` entry is a plain action name, at most
/// this long).
const LISTED_NAME_BYTES: usize = 128;

/// The bit of [`Catalog::listed_lengths`] for an action of `len` bytes (none beyond
/// [`LISTED_NAME_BYTES`]).
fn length_bit(len: usize) -> u128 {
    len.checked_sub(1)
        .filter(|&n| n < LISTED_NAME_BYTES)
        .map_or(0, |n| 1u128 << n)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFile {
    source: String,
    published: String,
    #[allow(dead_code)]
    recorded: String,
    products: Vec<Row>,
}

/// One row of the published list: a product at one API version.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    /// Product id, e.g. `ecs`.
    pub product: String,
    /// Display name, e.g. `Elastic Compute Service (ECS)`.
    pub name: String,
    /// API version the row was published for.
    pub version: String,
    /// Host codes: the first label of the product's API hosts, e.g. `dbs-api`.
    pub hosts: Vec<String>,
    /// Listed operations, or `"*"` for every operation.
    pub operations: Operations,
}

/// A row's operations: every operation (`"*"`), or a list.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum Operations {
    All(AllMarker),
    Listed(Vec<String>),
}

/// The `"*"` marker.
#[derive(Clone, Copy, Debug, serde::Serialize)]
#[serde(into = "&'static str")]
pub struct AllMarker;

impl From<AllMarker> for &'static str {
    fn from(_: AllMarker) -> Self {
        "*"
    }
}

impl<'de> Deserialize<'de> for AllMarker {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        if text == "*" {
            Ok(AllMarker)
        } else {
            Err(serde::de::Error::custom(
                "operations must be \"*\" or a list",
            ))
        }
    }
}

/// One product, merged over its rows.
#[derive(Clone, Debug)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub versions: Vec<String>,
    pub host_codes: Vec<String>,
    /// Every operation of the product is blocked.
    pub all: bool,
}

/// The high-risk list in the form the decision reads.
#[derive(Clone, Debug)]
pub struct Catalog {
    pub source: String,
    pub published: String,
    pub rows: Vec<Row>,
    pub products: Vec<Product>,
    /// Lower-cased action → bit mask of the products that list it.
    operations: HashMap<Box<[u8]>, u64>,
    /// Bit `n - 1` set: some listed action is `n` bytes long (none is longer than
    /// [`LISTED_NAME_BYTES`]), so an action of another length needs no lookup.
    listed_lengths: u128,
    /// `(host code, product)`, longest code first.
    host_codes: Vec<(String, ProductIndex)>,
}

impl Catalog {
    /// Parses the embedded list.
    pub fn embedded() -> Result<Catalog, String> {
        Catalog::parse(EMBEDDED_LIST)
    }

    /// Parses a list in the format of `policies/high-risk.json`.
    pub fn parse(text: &str) -> Result<Catalog, String> {
        let file: ListFile =
            serde_json::from_str(text).map_err(|e| format!("high-risk list: {e}"))?;
        let mut catalog = Catalog {
            source: file.source,
            published: file.published,
            rows: Vec::new(),
            products: Vec::new(),
            operations: HashMap::new(),
            listed_lengths: 0,
            host_codes: Vec::new(),
        };
        for row in file.products {
            catalog.add_row(row)?;
        }
        catalog
            .host_codes
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        Ok(catalog)
    }

    fn add_row(&mut self, row: Row) -> Result<(), String> {
        let index = match self.product_index(&row.product) {
            Some(index) => index,
            None => {
                if self.products.len() == MAX_PRODUCTS {
                    return Err(format!("high-risk list: more than {MAX_PRODUCTS} products"));
                }
                self.products.push(Product {
                    id: row.product.clone(),
                    name: row.name.clone(),
                    versions: Vec::new(),
                    host_codes: Vec::new(),
                    all: false,
                });
                self.products.len() - 1
            }
        };
        for code in &row.hosts {
            let code = code.to_ascii_lowercase();
            if !self.products[index].host_codes.contains(&code) {
                self.products[index].host_codes.push(code.clone());
                self.host_codes.push((code, index));
            }
        }
        self.products[index].versions.push(row.version.clone());
        match &row.operations {
            Operations::All(_) => self.products[index].all = true,
            Operations::Listed(actions) => {
                for action in actions {
                    self.add_operation(index, action);
                }
            }
        }
        self.rows.push(row);
        Ok(())
    }

    /// Adds one operation to a product (used for `extra_operations`).
    pub fn add_operation(&mut self, product: ProductIndex, action: &str) {
        let key: Box<[u8]> = action.to_ascii_lowercase().into_bytes().into_boxed_slice();
        self.listed_lengths |= length_bit(key.len());
        *self.operations.entry(key).or_insert(0) |= 1u64 << product;
    }

    /// The product with this id.
    pub fn product_index(&self, id: &str) -> Option<ProductIndex> {
        self.products.iter().position(|p| p.id == id)
    }

    /// The product whose host code the first label of an Alibaba Cloud host names: the label
    /// equals a code, or starts with a code followed by `-` (network and region tags such as
    /// `ecs-vpc`, `dysmsapi-xman`, legacy `ecs-cn-hangzhou`). The longest code wins.
    pub fn product_for_label(&self, label: &str) -> Option<ProductIndex> {
        self.host_codes.iter().find_map(|(code, index)| {
            let tagged = label
                .strip_prefix(code.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'));
            tagged.then_some(*index)
        })
    }

    /// The products that list the action (one bit each, by [`ProductIndex`]); 0 for an
    /// action no product lists. Actions compare without regard to ASCII case.
    pub fn listing(&self, action: &[u8]) -> u64 {
        if self.listed_lengths & length_bit(action.len()) == 0 {
            return 0;
        }
        if !action.iter().any(u8::is_ascii_uppercase) {
            return self.operations.get(action).copied().unwrap_or(0);
        }
        let mut lower = [0u8; LISTED_NAME_BYTES];
        match lower.get_mut(..action.len()) {
            Some(lower) => {
                lower.copy_from_slice(action);
                lower.make_ascii_lowercase();
                self.operations.get(&*lower).copied().unwrap_or(0)
            }
            None => 0,
        }
    }

    /// The action is a listed operation of the product.
    pub fn is_listed(&self, product: ProductIndex, action: &[u8]) -> bool {
        self.listing(action) & (1u64 << product) != 0
    }

    /// The action is a listed operation of any product.
    pub fn is_listed_anywhere(&self, action: &[u8]) -> bool {
        self.listing(action) != 0
    }

    /// Number of distinct (product, action) pairs listed by name.
    pub fn operation_count(&self) -> usize {
        self.operations
            .values()
            .map(|m| m.count_ones() as usize)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_list_is_the_shipped_file_without_its_layout() {
        let shipped = include_str!("../../policies/high-risk.json");
        let as_json = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
        assert_eq!(as_json(EMBEDDED_LIST), as_json(shipped));
        assert!(EMBEDDED_LIST.len() < shipped.len());
        assert!(!EMBEDDED_LIST.contains('\n'));
    }

    #[test]
    fn embedded_list_parses_with_every_row() {
        let catalog = Catalog::embedded().unwrap();
        assert_eq!(catalog.rows.len(), 15);
        assert_eq!(catalog.products.len(), 14);
        let named: usize = catalog
            .rows
            .iter()
            .map(|r| match &r.operations {
                Operations::Listed(ops) => ops.len(),
                Operations::All(_) => 0,
            })
            .sum();
        assert_eq!(named, 79);
        assert!(catalog
            .source
            .contains("Restrictive protection for AccessKey pairs"));
        assert_eq!(catalog.published, "2026-01");
        let all: Vec<&str> = catalog
            .products
            .iter()
            .filter(|p| p.all)
            .map(|p| p.id.as_str())
            .collect();
        assert_eq!(all, ["ram", "ims"]);
    }

    #[test]
    fn same_action_is_told_apart_by_product() {
        let c = Catalog::embedded().unwrap();
        let ecs = c.product_index("ecs").unwrap();
        let ecd = c.product_index("ecd").unwrap();
        let rds = c.product_index("rds").unwrap();
        assert!(c.is_listed(ecs, b"RunCommand"));
        assert!(c.is_listed(ecd, b"runcommand"));
        assert!(!c.is_listed(rds, b"RunCommand"));
        assert!(c.is_listed(rds, b"DESCRIBEBACKUPS"));
        assert!(!c.is_listed(ecs, b"DescribeInstances"));
        assert!(c.is_listed_anywhere(b"sendsms"));
        assert!(!c.is_listed_anywhere(b"AssumeRole"));
    }

    #[test]
    fn host_labels_map_to_products() {
        let c = Catalog::embedded().unwrap();
        let cases: &[(&str, Option<&str>)] = &[
            ("ecs", Some("ecs")),
            ("ecs-vpc", Some("ecs")),
            ("ecs-cn-hangzhou", Some("ecs")),
            ("dbs-api", Some("dbs")),
            ("dbs-api-vpc", Some("dbs")),
            ("dbs", None),
            ("dns", Some("alidns")),
            ("alidns", Some("alidns")),
            ("ehpc", Some("ehpc")),
            ("ehpcinstant", Some("ehpcinstant")),
            ("ehpcinstant-vpc", Some("ehpcinstant")),
            ("dysmsapi-xman", Some("dysmsapi")),
            ("dms-enterprise-vpc", Some("dms-enterprise")),
            ("business-intl", Some("business")),
            ("ecsx", None),
            ("sts", None),
        ];
        for (label, want) in cases {
            let got = c
                .product_for_label(label)
                .map(|i| c.products[i].id.as_str());
            assert_eq!(got, *want, "label {label}");
        }
    }
}
