//! The decision for a request that carries a leaked key: which rule, if any, denies it.
//!
//! 1. `deny_all_calls` denies every call made with a leaked key.
//! 2. A product whose every operation is listed (RAM, IMS) is denied.
//! 3. Any action found that is a listed operation of the request's product is denied.
//! 4. Any action that cannot be read with certainty (not a plain alphanumeric name, or cut)
//!    is denied: the server might read it as a listed operation.
//! 5. On a host of no known product, any action listed for any product is denied.
//! 6. Once the whole request is read: no action at all is denied (listed or unknown product).
//!
//! Rules 1–5 only grow as more of the request is read, so they may deny early; rule 6 waits
//! for the end of the request.

#![deny(clippy::indexing_slicing)]

use super::catalog::{Catalog, ProductIndex};
use super::request::{Evidence, Found};

/// The rule that denied a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    DenyAllCalls,
    AllOperations,
    ListedAction,
    UnreadableAction,
    UnknownHostListedAction,
    NoAction,
    UnknownHostNoAction,
    BodyTooLarge,
}

impl Rule {
    /// Stable name for logs.
    pub fn label(self) -> &'static str {
        match self {
            Rule::DenyAllCalls => "deny-all-calls",
            Rule::AllOperations => "all-operations",
            Rule::ListedAction => "listed-action",
            Rule::UnreadableAction => "unreadable-action",
            Rule::UnknownHostListedAction => "unknown-host-listed-action",
            Rule::NoAction => "no-action",
            Rule::UnknownHostNoAction => "unknown-host-no-action",
            Rule::BodyTooLarge => "body-too-large",
        }
    }

    /// One sentence for explanations.
    pub fn describe(self) -> &'static str {
        match self {
            Rule::DenyAllCalls => "deny_all_calls is set: every call with a leaked key is denied",
            Rule::AllOperations => "every operation of this product is high-risk",
            Rule::ListedAction => "the action is a listed high-risk operation of this product",
            Rule::UnreadableAction => "an action value cannot be read with certainty",
            Rule::UnknownHostListedAction => {
                "the host belongs to no known product and the action is listed for some product"
            }
            Rule::NoAction => "the product is listed and no action can be read",
            Rule::UnknownHostNoAction => {
                "the host belongs to no known product and no action can be read"
            }
            Rule::BodyTooLarge => {
                "the form body is larger than max_body_bytes and could hide a key or an action"
            }
        }
    }
}

/// Why a call is denied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub rule: Rule,
    /// The product the deciding host belongs to, if known.
    pub product: Option<ProductIndex>,
    /// The deciding action, if an action decided.
    pub action: Option<Vec<u8>>,
}

/// Longest action name read as certain.
const MAX_ACTION: usize = 128;

/// An action value read with certainty: an ASCII letter, then letters and digits.
pub fn is_plain_action(action: &[u8]) -> bool {
    action.len() <= MAX_ACTION
        && action.first().is_some_and(u8::is_ascii_alphabetic)
        && action.iter().all(u8::is_ascii_alphanumeric)
}

fn finding(rule: Rule, product: Option<ProductIndex>, action: Option<&Found>) -> Option<Finding> {
    Some(Finding {
        rule,
        product,
        action: action.map(|f| f.value.clone()),
    })
}

/// Decides a request known to carry a leaked key. `products` holds the product of each host
/// (`None` for a host of no known product); `complete` says the whole request has been read.
/// Returns the deny finding, or `None` to allow (or, before `complete`, to read on).
pub fn decide(
    catalog: &Catalog,
    deny_all_calls: bool,
    evidence: &Evidence,
    products: &[Option<ProductIndex>],
    complete: bool,
) -> Option<Finding> {
    let unknown_only = [None];
    let products = if products.is_empty() {
        &unknown_only[..]
    } else {
        products
    };
    let first = products.first().copied().flatten();
    if deny_all_calls {
        return finding(Rule::DenyAllCalls, first, None);
    }
    for &product in products {
        if let Some(index) = product {
            if catalog.products.get(index).is_some_and(|p| p.all) {
                return finding(Rule::AllOperations, product, evidence.actions.first());
            }
            if let Some(hit) = evidence
                .actions
                .iter()
                .find(|a| catalog.is_listed(index, &a.value))
            {
                return finding(Rule::ListedAction, product, Some(hit));
            }
        }
    }
    if let Some(odd) = evidence
        .actions
        .iter()
        .find(|a| a.cut || !is_plain_action(&a.value))
    {
        return finding(Rule::UnreadableAction, first, Some(odd));
    }
    if products.contains(&None) {
        if let Some(hit) = evidence
            .actions
            .iter()
            .find(|a| catalog.is_listed_anywhere(&a.value))
        {
            return finding(Rule::UnknownHostListedAction, None, Some(hit));
        }
    }
    if complete && evidence.actions.is_empty() {
        let rule = if first.is_some() {
            Rule::NoAction
        } else {
            Rule::UnknownHostNoAction
        };
        return finding(rule, first, None);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::request::Source;

    fn evidence(actions: &[&str]) -> Evidence {
        Evidence {
            actions: actions
                .iter()
                .map(|a| Found {
                    value: a.as_bytes().to_vec(),
                    source: Source::Query,
                    cut: false,
                })
                .collect(),
            ..Evidence::default()
        }
    }

    #[test]
    fn rules_in_order() {
        let c = Catalog::embedded().unwrap();
        let p = |id: &str| Some(c.product_index(id).unwrap());
        type Case<'a> = (
            &'a str,
            bool,
            &'a [&'a str],
            &'a [Option<ProductIndex>],
            bool,
            Option<Rule>,
        );
        let cases: &[Case] = &[
            (
                "listed action",
                false,
                &["RunInstances"],
                &[p("ecs")],
                true,
                Some(Rule::ListedAction),
            ),
            (
                "listed action, any case",
                false,
                &["runINSTANCES"],
                &[p("ecs")],
                true,
                Some(Rule::ListedAction),
            ),
            (
                "harmless action",
                false,
                &["DescribeInstances"],
                &[p("ecs")],
                true,
                None,
            ),
            (
                "one of two actions",
                false,
                &["DescribeInstances", "DeleteImage"],
                &[p("ecs")],
                true,
                Some(Rule::ListedAction),
            ),
            (
                "listed elsewhere only",
                false,
                &["SendSms"],
                &[p("ecs")],
                true,
                None,
            ),
            (
                "all product",
                false,
                &["ListUsers"],
                &[p("ram")],
                true,
                Some(Rule::AllOperations),
            ),
            (
                "all product, no action",
                false,
                &[],
                &[p("ims")],
                false,
                Some(Rule::AllOperations),
            ),
            (
                "no action, complete",
                false,
                &[],
                &[p("ecs")],
                true,
                Some(Rule::NoAction),
            ),
            (
                "no action, more to read",
                false,
                &[],
                &[p("ecs")],
                false,
                None,
            ),
            (
                "unknown host, listed action",
                false,
                &["SendSms"],
                &[None],
                true,
                Some(Rule::UnknownHostListedAction),
            ),
            (
                "unknown host, harmless",
                false,
                &["AssumeRole"],
                &[None],
                true,
                None,
            ),
            (
                "unknown host, no action",
                false,
                &[],
                &[None],
                true,
                Some(Rule::UnknownHostNoAction),
            ),
            (
                "no host at all",
                false,
                &[],
                &[],
                true,
                Some(Rule::UnknownHostNoAction),
            ),
            (
                "unreadable action",
                false,
                &["Run Instances"],
                &[p("ecs")],
                false,
                Some(Rule::UnreadableAction),
            ),
            (
                "unreadable action, nul",
                false,
                &["RunInstances\0"],
                &[None],
                true,
                Some(Rule::UnreadableAction),
            ),
            (
                "deny all",
                true,
                &["DescribeRegions"],
                &[None],
                true,
                Some(Rule::DenyAllCalls),
            ),
            (
                "two hosts, one listed",
                false,
                &["RunInstances"],
                &[p("rds"), p("ecs")],
                true,
                Some(Rule::ListedAction),
            ),
        ];
        for (name, deny_all, actions, products, complete, want) in cases {
            let got =
                decide(&c, *deny_all, &evidence(actions), products, *complete).map(|f| f.rule);
            assert_eq!(got, *want, "case {name}");
        }
    }

    #[test]
    fn plain_actions() {
        assert!(is_plain_action(b"RunInstances"));
        assert!(is_plain_action(b"a1"));
        assert!(!is_plain_action(b""));
        assert!(!is_plain_action(b"1a"));
        assert!(!is_plain_action(b"Run-Instances"));
        assert!(!is_plain_action(&[b'a'; 129]));
    }
}
