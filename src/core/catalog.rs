//! The products akguard knows and the high-risk list: which API operations of which
//! products are blocked for a leaked key, and which products (and host names) exist besides.
//!
//! Both are data compiled into the module: the list, `policies/high-risk.json`, and the
//! catalog of known products, `policies/products.json` (host codes and host shapes, derived
//! from Alibaba Cloud's endpoint data by `policies/derive_products.py`). They are parsed when
//! a configuration is applied; operator `extra_operations` are merged into a copy. Actions
//! are matched without regard to ASCII case; the API version is kept as documentation only,
//! so naming another version of a listed product cannot escape a block.

use super::host_shapes::Shape;
use super::list_file::{self, ListFile};
pub use super::list_file::{AllMarker, Operations, Row};
use super::product_set::{ProductSet, MAX_PRODUCTS};
use hashbrown::HashMap;
use std::cell::RefCell;
use std::rc::Rc;

/// The embedded list: `policies/high-risk.json` without its layout whitespace (`build.rs`).
pub const EMBEDDED_LIST: &str = include_str!(concat!(env!("OUT_DIR"), "/high-risk.json"));

/// The embedded catalog of known products: `policies/products.json` as lines (`build.rs`):
/// `source<TAB>recorded`, then `product<TAB>name<TAB>codes<TAB>shapes<TAB>errors` a product,
/// lists joined with `,`.
pub const EMBEDDED_PRODUCTS: &str = include_str!(concat!(env!("OUT_DIR"), "/products.txt"));

/// The items of a `,`-joined list field of [`EMBEDDED_PRODUCTS`].
fn items(field: &str) -> impl Iterator<Item = &str> {
    field.split(',').filter(|item| !item.is_empty())
}

/// Index of a product in [`Catalog::products`].
pub type ProductIndex = usize;

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

/// One product, merged over its rows.
#[derive(Clone, Debug)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub versions: Vec<String>,
    pub host_codes: Vec<String>,
    /// Host shapes, as written in `policies/products.json`.
    pub host_shapes: Vec<String>,
    /// Every operation of the product is blocked.
    pub all: bool,
    /// The shape of the product's error replies, which a deny takes.
    pub errors: ErrorShape,
}

/// The shape of a product's error replies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ErrorShape {
    /// Alibaba Cloud's common shape: JSON, or XML for `Format=XML`.
    #[default]
    Common,
    /// OSS: an XML `Error` document.
    Oss,
}

impl ErrorShape {
    fn parse(text: &str) -> Result<ErrorShape, String> {
        match text {
            "" => Ok(ErrorShape::Common),
            "oss" => Ok(ErrorShape::Oss),
            other => Err(format!("unknown error shape {other:?}")),
        }
    }
}

/// The high-risk list and the known products, in the form the decision reads.
#[derive(Clone, Debug)]
pub struct Catalog {
    pub source: String,
    pub published: String,
    /// The list is the configuration's `high_risk_list`, not the embedded one.
    pub configured: bool,
    /// [`list_file::digest`] of the rows.
    pub digest: u64,
    pub rows: Vec<Row>,
    pub products: Vec<Product>,
    /// Where the known products come from, and when they were recorded (empty for a list
    /// parsed alone).
    pub known_source: String,
    pub known_recorded: String,
    /// Lower-cased action → the products that list it.
    operations: HashMap<Box<[u8]>, ProductSet>,
    /// The products with a listed operation, or with all of them listed.
    listed: ProductSet,
    /// Bit `n - 1` set: some listed action is `n` bytes long (none is longer than
    /// [`LISTED_NAME_BYTES`]), so an action of another length needs no lookup.
    listed_lengths: u128,
    /// Host codes (lower case) and their products, sorted by code.
    codes: Vec<(String, ProductIndex)>,
    /// Host shapes, in the order given.
    shapes: Vec<(Shape, ProductIndex)>,
}

impl Catalog {
    /// The embedded list and the embedded known products.
    pub fn embedded() -> Result<Catalog, String> {
        let mut catalog = Catalog::parse(EMBEDDED_LIST)?;
        catalog.add_known(EMBEDDED_PRODUCTS)?;
        Ok(catalog)
    }

    /// The embedded catalog, parsed once per thread (in the filter: once per VM) and shared
    /// by every configuration that neither replaces nor extends it, so that applying a
    /// configuration leaves no trail of small allocations beside its key set.
    pub fn shared_embedded() -> Result<Rc<Catalog>, String> {
        thread_local! {
            static EMBEDDED: RefCell<Option<Rc<Catalog>>> = const { RefCell::new(None) };
        }
        EMBEDDED.with(|cell| {
            if let Some(catalog) = cell.borrow().as_ref() {
                return Ok(Rc::clone(catalog));
            }
            let catalog = Rc::new(Catalog::embedded()?);
            *cell.borrow_mut() = Some(Rc::clone(&catalog));
            Ok(catalog)
        })
    }

    /// Parses a list in the format of `policies/high-risk.json`.
    pub fn parse(text: &str) -> Result<Catalog, String> {
        let file = list_file::parse(text)
            .map_err(|e| format!("high-risk list: {}: {}", e.path, e.problem))?;
        Catalog::from_list(file)
    }

    /// The catalog of a list read by [`list_file::read`] (no known products yet).
    pub fn from_list(file: ListFile) -> Result<Catalog, String> {
        let mut catalog = Catalog {
            source: file.source,
            published: file.published,
            configured: false,
            digest: list_file::digest(&file.rows),
            rows: Vec::new(),
            products: Vec::new(),
            known_source: String::new(),
            known_recorded: String::new(),
            operations: HashMap::new(),
            listed: ProductSet::default(),
            listed_lengths: 0,
            codes: Vec::new(),
            shapes: Vec::new(),
        };
        for row in file.rows {
            catalog.add_row(row)?;
        }
        Ok(catalog)
    }

    /// A list given in the configuration, with the embedded known products.
    pub fn configured(file: ListFile) -> Result<Catalog, String> {
        let mut catalog = Catalog::from_list(file)?;
        catalog.configured = true;
        catalog.add_known(EMBEDDED_PRODUCTS)?;
        Ok(catalog)
    }

    /// The product with this id, added (with no operation listed) when there is none yet.
    fn product_named(&mut self, id: &str, name: &str) -> Result<ProductIndex, String> {
        if let Some(index) = self.product_index(id) {
            return Ok(index);
        }
        if self.products.len() == MAX_PRODUCTS {
            return Err(format!("more than {MAX_PRODUCTS} products"));
        }
        self.products.push(Product {
            id: id.to_string(),
            name: name.to_string(),
            versions: Vec::new(),
            host_codes: Vec::new(),
            host_shapes: Vec::new(),
            all: false,
            errors: ErrorShape::Common,
        });
        Ok(self.products.len() - 1)
    }

    fn add_code(&mut self, code: &str, index: ProductIndex) {
        let code = code.to_ascii_lowercase();
        if let Some(product) = self.products.get_mut(index) {
            if !product.host_codes.contains(&code) {
                product.host_codes.push(code.clone());
            }
        }
        if let Err(at) = self.codes.binary_search_by(|(c, _)| c.as_str().cmp(&code)) {
            self.codes.insert(at, (code, index));
        }
    }

    fn add_row(&mut self, row: Row) -> Result<(), String> {
        let index = self
            .product_named(&row.product, &row.name)
            .map_err(|e| format!("high-risk list: {e}"))?;
        for code in &row.hosts {
            self.add_code(code, index);
        }
        self.products[index].versions.push(row.version.clone());
        match &row.operations {
            Operations::All(_) => {
                self.products[index].all = true;
                self.listed.insert(index);
            }
            Operations::Listed(actions) => {
                for action in actions {
                    self.add_operation(index, action);
                }
            }
        }
        self.rows.push(row);
        Ok(())
    }

    /// Adds the known products of a catalog in the form of [`EMBEDDED_PRODUCTS`]: a product
    /// already listed keeps its operations and gains the codes and shapes given.
    pub fn add_known(&mut self, text: &str) -> Result<(), String> {
        let mut lines = text.lines();
        let head = lines.next().unwrap_or_default();
        let (source, recorded) = head.split_once('\t').unwrap_or((head, ""));
        for line in lines {
            let mut fields = line.split('\t');
            let mut field = || fields.next().unwrap_or_default();
            let (id, name, codes, shapes) = (field(), field(), field(), field());
            let errors =
                ErrorShape::parse(field()).map_err(|e| format!("known products: {id}: {e}"))?;
            let name = if name.is_empty() { id } else { name };
            let index = self
                .product_named(id, name)
                .map_err(|e| format!("known products: {e}"))?;
            self.products[index].errors = errors;
            for code in items(codes) {
                self.add_code(code, index);
            }
            for text in items(shapes) {
                let shape = Shape::parse(text).map_err(|e| format!("known products: {id}: {e}"))?;
                self.shapes.push((shape, index));
                self.products[index].host_shapes.push(text.to_string());
            }
        }
        self.known_source = source.to_string();
        self.known_recorded = recorded.to_string();
        Ok(())
    }

    /// Adds one operation to a product (used for `extra_operations`).
    pub fn add_operation(&mut self, product: ProductIndex, action: &str) {
        let key: Box<[u8]> = action.to_ascii_lowercase().into_bytes().into_boxed_slice();
        self.listed_lengths |= length_bit(key.len());
        self.operations.entry(key).or_default().insert(product);
        self.listed.insert(product);
    }

    /// The product with this id.
    pub fn product_index(&self, id: &str) -> Option<ProductIndex> {
        self.products.iter().position(|p| p.id == id)
    }

    /// The product has listed operations (or all of them listed): a leaked key's call to it
    /// is decided by the list, where a call to any other known product passes.
    pub fn is_listed_product(&self, product: ProductIndex) -> bool {
        self.listed.contains(product)
    }

    /// The product whose host code the first label of an Alibaba Cloud host names: the label
    /// equals a code, or starts with a code followed by `-` (network and region tags such as
    /// `ecs-vpc`, `dysmsapi-xman`, legacy `ecs-cn-hangzhou`). The longest code wins.
    pub fn product_for_label(&self, label: &str) -> Option<ProductIndex> {
        let mut end = label.len();
        loop {
            let code = label.get(..end)?;
            if let Ok(at) = self.codes.binary_search_by(|(c, _)| c.as_str().cmp(code)) {
                return self.codes.get(at).map(|&(_, index)| index);
            }
            end = label.get(..end)?.rfind('-')?;
        }
    }

    /// The product whose host shape the labels (before `.aliyuncs.com`) have; of several, a
    /// listed one.
    pub fn product_for_shape(&self, labels: &[&str]) -> Option<ProductIndex> {
        let mut found = None;
        for (shape, index) in &self.shapes {
            if shape.matches(labels) {
                if self.is_listed_product(*index) {
                    return Some(*index);
                }
                found = found.or(Some(*index));
            }
        }
        found
    }

    /// The products that list the action (none for an action no product lists). Actions
    /// compare without regard to ASCII case.
    pub fn listing(&self, action: &[u8]) -> ProductSet {
        if self.listed_lengths & length_bit(action.len()) == 0 {
            return ProductSet::default();
        }
        if !action.iter().any(u8::is_ascii_uppercase) {
            return self.operations.get(action).copied().unwrap_or_default();
        }
        let mut lower = [0u8; LISTED_NAME_BYTES];
        match lower.get_mut(..action.len()) {
            Some(lower) => {
                lower.copy_from_slice(action);
                lower.make_ascii_lowercase();
                self.operations.get(&*lower).copied().unwrap_or_default()
            }
            None => ProductSet::default(),
        }
    }

    /// The action is a listed operation of the product.
    pub fn is_listed(&self, product: ProductIndex, action: &[u8]) -> bool {
        self.listing(action).contains(product)
    }

    /// The action is a listed operation of any product.
    pub fn is_listed_anywhere(&self, action: &[u8]) -> bool {
        !self.listing(action).is_empty()
    }

    /// Number of distinct (product, action) pairs listed by name.
    pub fn operation_count(&self) -> usize {
        self.operations.values().map(ProductSet::len).sum()
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
        let listed: Vec<&str> = (0..catalog.products.len())
            .filter(|&p| catalog.is_listed_product(p))
            .map(|p| catalog.products[p].id.as_str())
            .collect();
        assert_eq!(listed.len(), 14, "{listed:?}");
        // The known products follow the listed ones.
        assert!((0..14).all(|p| catalog.is_listed_product(p)));
        assert!(catalog.products.len() > 100);
        assert!(catalog.known_source.contains("endpoints.json"));
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
            ("sts", Some("sts")),
            ("sts-vpc", Some("sts")),
            ("oss-cn-hangzhou", Some("oss")),
            ("r-kvstore", Some("kvstore")),
            ("metrics", Some("cms")),
            ("nosuchproduct", None),
        ];
        for (label, want) in cases {
            let got = c
                .product_for_label(label)
                .map(|i| c.products[i].id.as_str());
            assert_eq!(got, *want, "label {label}");
        }
    }
}
