//! What an accepted configuration is: the [`Policy`] a request is checked against, its
//! per-route [`Rule`]s, and the limits fields are checked against.

use super::super::catalog::{Catalog, ProductIndex};
use super::super::decision::UnknownHosts;
use super::super::deny_log::DEFAULT_LINES_PER_SECOND;
use super::super::endpoints::Endpoints;
use super::super::feed_slot::FeedSlot;
use super::super::keyset::KeySet;
use super::super::rules::{Matcher, Target};
use super::key_feed::KeyFeed;
use std::rc::Rc;

/// Default `max_body_bytes`: 1 MiB, Envoy's default per-connection buffer limit.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;
/// Largest accepted `max_body_bytes`.
pub const MAX_MAX_BODY_BYTES: usize = 64 << 20;
/// Enforce denies; shadow decides, counts and logs, and lets the request pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Enforce,
    Shadow,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Shadow => "shadow",
        }
    }
}

/// Everything a request is checked against.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Shared with the rules built on it and, unless replaced or extended, with every
    /// configuration the VM applies.
    pub catalog: Rc<Catalog>,
    pub keys: KeySet,
    pub mode: Mode,
    pub deny_all_calls: bool,
    /// Deny a leaked key's calls that issue credentials (STS `AssumeRole`, …), which
    /// otherwise pass and have the key they issue treated as leaked.
    pub deny_credential_calls: bool,
    /// What a leaked key's call to a host of no known product meets.
    pub unknown_hosts: UnknownHosts,
    pub endpoints: Endpoints,
    pub max_body_bytes: usize,
    /// Hold the request headers, not only the body, while a form body is read. Needs
    /// Envoy's `allow_on_headers_stop_iteration: true` on the filter.
    pub hold_headers: bool,
    /// Number of `leaked_keys` and `leaked_keys_packed` entries given (before removing
    /// duplicates).
    pub keys_given: usize,
    /// Number of operations added by `extra_operations`.
    pub extra_operations: usize,
    /// Per-route, per-host and per-service policies (`_rules_`), first match first.
    pub rules: Vec<Rule>,
    /// The product of every request, whatever its host names (`product`): for a route that
    /// rewrites the host or sends every host to one product's endpoint.
    pub product: Option<ProductIndex>,
    /// Full deny lines a VM writes a second; the rest are counted in summary lines (the top
    /// level's applies to every rule).
    pub deny_log_lines_per_second: u32,
    /// Where the signed leaked-key feed comes from (`key_feed`, top level only).
    pub key_feed: Option<KeyFeed>,
    /// The feed's keys in force, which count beside `keys`: one slot for the top level and
    /// every rule.
    pub feed: FeedSlot,
}

/// One `_rules_` entry: what it matches and its own policy.
#[derive(Clone, Debug)]
pub struct Rule {
    pub matcher: Matcher,
    pub policy: Policy,
}

impl Policy {
    /// The index of the first rule matching the target, if any.
    pub fn rule_for(&self, target: &Target<'_>) -> Option<usize> {
        self.rules
            .iter()
            .position(|rule| rule.matcher.matches(target))
    }

    /// The policy of rule `index` (from [`Self::rule_for`]), else this policy itself.
    pub fn chosen(&self, index: Option<usize>) -> &Policy {
        index
            .and_then(|i| self.rules.get(i))
            .map_or(self, |rule| &rule.policy)
    }

    /// The policy's figures as `name=value` pairs, as the filter logs an accepted
    /// configuration and `akguard validate` prints it (`rules=N` when `_rules_` holds any).
    pub fn summary(&self) -> String {
        let unknown_hosts = match self.unknown_hosts {
            UnknownHosts::Deny => String::new(),
            other => format!(" unknown_hosts={}", other.label()),
        };
        let credential_calls = if self.deny_credential_calls {
            " deny_credential_calls=true"
        } else {
            ""
        };
        let pinned = match self.product {
            Some(p) => format!(" product={}", self.catalog.products[p].id),
            None => String::new(),
        };
        let deny_log = if self.deny_log_lines_per_second == DEFAULT_LINES_PER_SECOND {
            String::new()
        } else {
            format!(
                " deny_log_lines_per_second={}",
                self.deny_log_lines_per_second
            )
        };
        let list = &self.catalog;
        let list = if list.configured {
            format!(
                " high_risk_list=configured published={} source={:?}",
                list.published, list.source
            )
        } else {
            format!(" high_risk_list=embedded published={}", list.published)
        };
        // `_rules_` (Higress's per-route form) is named only when present.
        let rules = if self.rules.is_empty() {
            String::new()
        } else {
            format!(" rules={}", self.rules.len())
        };
        let feed = match &self.key_feed {
            Some(f) => format!(
                " key_feed={}{} poll_seconds={}",
                f.cluster, f.path, f.poll_seconds
            ),
            None => String::new(),
        };
        format!(
            "leaked_keys={} (distinct {}) mode={} deny_all_calls={} extra_operations={} endpoints={} max_body_bytes={}{credential_calls}{pinned}{unknown_hosts}{deny_log}{list}{feed}{rules}",
            self.keys_given,
            self.keys.len(),
            self.mode.label(),
            self.deny_all_calls,
            self.extra_operations,
            self.endpoints.len(),
            self.max_body_bytes
        )
    }
}

/// An accepted configuration and its warnings.
#[derive(Debug)]
pub struct Loaded {
    pub policy: Policy,
    pub warnings: Vec<String>,
}
