//! The decision for a request that carries a leaked key: which rule, if any, denies it.
//!
//! 1. `deny_all_calls` denies every call made with a leaked key.
//!    The hosts naming more distinct products than the request's record keeps deny it too.
//! 2. A product whose every operation is listed (RAM, IMS) is denied.
//! 3. Any action found that is a listed operation of the request's product is denied.
//!
//! A call to a known product with no listed operation (OSS, STS, VPC, …) passes from here on,
//! as on Alibaba Cloud. The rest apply to a listed product, and to a host of no known product
//! unless the operator lets those pass (`unknown_hosts`):
//!
//! 4. Any action that cannot be read with certainty (not a plain alphanumeric name, or cut)
//!    is denied: the server might read it as a listed operation.
//! 5. On a host of no known product, any action listed for any product is denied.
//! 6. Once the whole request is read: no action at all is denied.
//!
//! Rules 1–5 only grow as more of the request is read, so they may deny early; rule 6 waits
//! for the end of the request. The decision reads only the request's bounded record
//! ([`Tally`]), so it costs the same however much was read.

#![deny(clippy::indexing_slicing)]

use super::catalog::{Catalog, ProductIndex};
use super::tally::Tally;

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
    UnreadBody,
    TooManyKeys,
    TooManyHosts,
    CredentialCall,
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
            Rule::UnreadBody => "unread-body",
            Rule::TooManyKeys => "too-many-keys",
            Rule::TooManyHosts => "too-many-hosts",
            Rule::CredentialCall => "credential-call",
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
            Rule::UnreadBody => {
                "the body may carry parameters akguard does not read (its content type or encoding)"
            }
            Rule::TooManyKeys => {
                "more AccessKey ID readings than akguard looks up in one request: one could be leaked"
            }
            Rule::TooManyHosts => "the request names more products in its hosts than akguard keeps",
            Rule::CredentialCall => {
                "deny_credential_calls is set: a call that issues credentials is denied"
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
    /// The deciding action, rendered for the log, if an action decided.
    pub action: Option<String>,
}

impl Finding {
    /// A finding that names no action.
    pub fn of(rule: Rule, product: Option<ProductIndex>) -> Finding {
        Finding {
            rule,
            product,
            action: None,
        }
    }
}

/// What a leaked key's call to a host of no known product meets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnknownHosts {
    /// The fail-safe rules: the host could be any product's.
    #[default]
    Deny,
    /// Decided as a known product with nothing listed: it passes.
    Pass,
}

impl UnknownHosts {
    pub fn label(self) -> &'static str {
        match self {
            UnknownHosts::Deny => "deny",
            UnknownHosts::Pass => "pass",
        }
    }
}

/// Longest action name read as certain.
const MAX_ACTION: usize = 128;

/// An action value read with certainty: an ASCII letter, then letters and digits.
pub fn is_plain_action(action: &[u8]) -> bool {
    action.len() <= MAX_ACTION
        && action.first().is_some_and(u8::is_ascii_alphabetic)
        && action.iter().all(u8::is_ascii_alphanumeric)
}

fn finding(rule: Rule, product: Option<ProductIndex>, action: Option<&str>) -> Option<Finding> {
    Some(Finding {
        rule,
        product,
        action: action.map(str::to_string),
    })
}

/// The request's products (a request without a host names none: of no known product).
fn products_of(tally: &Tally) -> &[Option<ProductIndex>] {
    const UNKNOWN_ONLY: &[Option<ProductIndex>] = &[None];
    if tally.products().is_empty() {
        UNKNOWN_ONLY
    } else {
        tally.products()
    }
}

/// The request reaches something the list could cover: a listed product, or a host of no
/// known product while those are decided fail-safe. Only then do the rules past the listed
/// operations (4–6, and a body akguard cannot read) apply.
pub fn could_be_listed(catalog: &Catalog, unknown_hosts: UnknownHosts, tally: &Tally) -> bool {
    products_of(tally).iter().any(|product| match product {
        Some(index) => catalog.is_listed_product(*index),
        None => unknown_hosts == UnknownHosts::Deny,
    })
}

/// Decides a request known to carry a leaked key, from its record; `complete` says the whole
/// request has been read. Returns the deny finding, or `None` to allow (or, before
/// `complete`, to read on).
pub fn decide(
    catalog: &Catalog,
    deny_all_calls: bool,
    unknown_hosts: UnknownHosts,
    tally: &Tally,
    complete: bool,
) -> Option<Finding> {
    let products = products_of(tally);
    let first = products.first().copied().flatten();
    if deny_all_calls {
        return finding(Rule::DenyAllCalls, first, None);
    }
    if tally.too_many_products() {
        return finding(Rule::TooManyHosts, first, None);
    }
    for (slot, &product) in products.iter().enumerate() {
        if let Some(index) = product {
            if catalog.products.get(index).is_some_and(|p| p.all) {
                return finding(Rule::AllOperations, product, tally.first_action());
            }
            if let Some(hit) = tally.listed_for(slot) {
                return finding(Rule::ListedAction, product, Some(hit));
            }
        }
    }
    if !could_be_listed(catalog, unknown_hosts, tally) {
        return None;
    }
    let listed = products
        .iter()
        .flatten()
        .copied()
        .find(|index| catalog.is_listed_product(*index));
    if let Some(odd) = tally.unreadable_action() {
        return finding(Rule::UnreadableAction, listed.or(first), Some(odd));
    }
    let unknown = products.contains(&None) && unknown_hosts == UnknownHosts::Deny;
    if unknown {
        if let Some(hit) = tally.action_listed_anywhere() {
            return finding(Rule::UnknownHostListedAction, None, Some(hit));
        }
    }
    if complete && tally.first_action().is_none() {
        return match listed {
            Some(index) => finding(Rule::NoAction, Some(index), None),
            None => finding(Rule::UnknownHostNoAction, None, None),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::endpoints::Endpoints;

    /// The record of a request to `hosts` with `actions` read.
    fn tally(c: &Catalog, hosts: &[&str], actions: &[&str]) -> Tally {
        let mut t = Tally::for_hosts(c, &Endpoints::default(), hosts.iter().copied());
        for a in actions {
            t.note_action(c, a.as_bytes(), false);
        }
        t
    }

    #[test]
    fn rules_in_order() {
        let c = Catalog::embedded().unwrap();
        type Case<'a> = (
            &'a str,
            bool,
            &'a [&'a str],
            &'a [&'a str],
            bool,
            Option<Rule>,
        );
        let cases: &[Case] = &[
            (
                "listed action",
                false,
                &["RunInstances"],
                &["ecs.aliyuncs.com"],
                true,
                Some(Rule::ListedAction),
            ),
            (
                "listed action, any case",
                false,
                &["runINSTANCES"],
                &["ecs.aliyuncs.com"],
                true,
                Some(Rule::ListedAction),
            ),
            (
                "harmless action",
                false,
                &["DescribeInstances"],
                &["ecs.aliyuncs.com"],
                true,
                None,
            ),
            (
                "one of two actions",
                false,
                &["DescribeInstances", "DeleteImage"],
                &["ecs.aliyuncs.com"],
                true,
                Some(Rule::ListedAction),
            ),
            (
                "listed elsewhere only",
                false,
                &["SendSms"],
                &["ecs.aliyuncs.com"],
                true,
                None,
            ),
            (
                "all product",
                false,
                &["ListUsers"],
                &["ram.aliyuncs.com"],
                true,
                Some(Rule::AllOperations),
            ),
            (
                "all product, no action",
                false,
                &[],
                &["ims.aliyuncs.com"],
                false,
                Some(Rule::AllOperations),
            ),
            (
                "no action, complete",
                false,
                &[],
                &["ecs.aliyuncs.com"],
                true,
                Some(Rule::NoAction),
            ),
            (
                "no action, more to read",
                false,
                &[],
                &["ecs.aliyuncs.com"],
                false,
                None,
            ),
            (
                "unknown host, listed action",
                false,
                &["SendSms"],
                &["x.example"],
                true,
                Some(Rule::UnknownHostListedAction),
            ),
            (
                "unknown host, harmless",
                false,
                &["AssumeRole"],
                &["x.example"],
                true,
                None,
            ),
            (
                "unknown host, no action",
                false,
                &[],
                &["x.example"],
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
                &["ecs.aliyuncs.com"],
                false,
                Some(Rule::UnreadableAction),
            ),
            (
                "unreadable action, nul",
                false,
                &["RunInstances\0"],
                &["x.example"],
                true,
                Some(Rule::UnreadableAction),
            ),
            (
                "deny all",
                true,
                &["DescribeRegions"],
                &["x.example"],
                true,
                Some(Rule::DenyAllCalls),
            ),
            (
                "two hosts, one listed",
                false,
                &["RunInstances"],
                &["rds.aliyuncs.com", "ecs.aliyuncs.com"],
                true,
                Some(Rule::ListedAction),
            ),
        ];
        for (name, deny_all, actions, products, complete, want) in cases {
            let got = decide(
                &c,
                *deny_all,
                UnknownHosts::Deny,
                &tally(&c, products, actions),
                *complete,
            )
            .map(|f| f.rule);
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
