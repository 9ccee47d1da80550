//! One request's check, from its headers through its body: the state machine the filter
//! drives.
//!
//! [`RequestCheck::start`] reads the headers. When no key in them is leaked and no form body
//! follows, the answer is [`Step::Allow`] at once, with nothing else read (the fast path).
//! Otherwise the check keeps what it has read and takes body chunks ([`RequestCheck::body`])
//! until it can decide: a deny as soon as a leaked key and a deciding rule are both seen, an
//! allow only once the whole body has been read.

use super::catalog::ProductIndex;
use super::config::{Mode, Policy};
use super::decision::{decide, Finding, Rule};
use super::endpoints::resolve;
use super::mask::{mask_key, printable};
use super::params::ParamScanner;
use super::reply::{self, Format, Reply, ReplyKind};
use super::request::{
    body_may_carry_params, header, key_candidates_in_head, Evidence, HeaderField, Source,
};

/// What the filter does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Let the request go on.
    Allow,
    /// Hold the request and pass body chunks to [`RequestCheck::body`].
    ReadBody,
    /// The request is denied (or, in shadow mode, would be).
    Deny(Box<Denial>),
}

/// A decided deny, with everything the filter logs and sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    pub rule: Rule,
    pub mode: Mode,
    /// Masked leaked key (`LTAI****wxyz`), or empty when no leaked key was seen.
    pub masked_key: String,
    /// Product id, or empty for a host of no known product.
    pub product: String,
    /// The deciding action, printable and cut short, or empty.
    pub action: String,
    pub host: String,
    /// `x-request-id` of the request, when usable.
    pub request_id: Option<String>,
    pub format: Format,
    pub kind: ReplyKind,
}

impl Denial {
    /// The local reply, with `request_id` used when the request brought none.
    pub fn reply(&self, fallback_request_id: &str) -> Reply {
        let id = self.request_id.as_deref().unwrap_or(fallback_request_id);
        reply::render(self.kind, self.format, id, &self.host, &self.product)
    }

    /// The structured log line.
    pub fn log_line(&self, request_id: &str) -> String {
        let event = match self.mode {
            Mode::Enforce => "deny",
            Mode::Shadow => "shadow-deny",
        };
        format!(
            "akguard {event}: key={} product={} action={} rule={} mode={} host={} request_id={}",
            or_dash(&self.masked_key),
            or_dash(&self.product),
            or_dash(&self.action),
            self.rule.label(),
            self.mode.label(),
            or_dash(&printable(self.host.as_bytes())),
            request_id
        )
    }
}

fn or_dash(text: &str) -> &str {
    if text.is_empty() {
        "-"
    } else {
        text
    }
}

/// The state of one request's check.
#[derive(Debug)]
pub struct RequestCheck {
    evidence: Evidence,
    products: Vec<Option<ProductIndex>>,
    leaked: Option<Vec<u8>>,
    request_id: Option<String>,
    scanner: ParamScanner,
    body_bytes: usize,
    keys_checked: usize,
    other_readings_checked: usize,
}

/// Outcome of [`RequestCheck::start`].
#[derive(Debug)]
pub struct Started {
    pub step: Step,
    /// The check to feed body chunks to, when `step` is [`Step::ReadBody`].
    pub check: Option<RequestCheck>,
    /// A leaked key was seen in the headers.
    pub leaked_key_seen: bool,
}

/// The first key that is leaked, or that comes from a value too long to read with certainty
/// (treated as leaked: it could hide one).
fn first_leaked<'a>(
    policy: &Policy,
    keys: impl Iterator<Item = (&'a [u8], bool)>,
) -> Option<Vec<u8>> {
    keys.into_iter()
        .find(|(k, cut)| *cut || policy.keys.contains(k))
        .map(|(k, _)| k.to_vec())
}

impl RequestCheck {
    /// Checks the request headers. `end_of_stream` says no body follows.
    pub fn start(policy: &Policy, headers: &[impl HeaderField], end_of_stream: bool) -> Started {
        let mut leaked = None;
        if !policy.keys.is_empty() {
            key_candidates_in_head(headers, &mut |key, c| {
                if leaked.is_none() && (c.cut || policy.keys.contains(key)) {
                    leaked = Some(key.to_vec());
                }
            });
        }
        let body_follows = !end_of_stream && body_may_carry_params(headers);
        if leaked.is_none() && (!body_follows || policy.keys.is_empty()) {
            return Started {
                step: Step::Allow,
                check: None,
                leaked_key_seen: false,
            };
        }
        let mut evidence = Evidence::default();
        evidence.read_head(headers);
        let products = evidence
            .hosts
            .iter()
            .map(|host| resolve(&policy.catalog, &policy.endpoints, host))
            .collect();
        let check = RequestCheck {
            keys_checked: evidence.keys.len(),
            other_readings_checked: evidence.other_key_readings.len(),
            evidence,
            products,
            leaked,
            request_id: header(headers, "x-request-id").and_then(reply::usable_request_id),
            scanner: ParamScanner::new(),
            body_bytes: 0,
        };
        let leaked_key_seen = check.leaked.is_some();
        let step = check.decide(policy, !body_follows);
        let step = match step {
            Step::Allow if body_follows => Step::ReadBody,
            other => other,
        };
        let keep = step == Step::ReadBody;
        Started {
            step,
            check: keep.then_some(check),
            leaked_key_seen,
        }
    }

    /// A leaked key has been seen in this request.
    pub fn leaked_key_seen(&self) -> bool {
        self.leaked.is_some()
    }

    /// Takes the next body chunk. `end_of_stream` says it is the last.
    pub fn body(&mut self, policy: &Policy, chunk: &[u8], end_of_stream: bool) -> Step {
        let room = policy.max_body_bytes.saturating_sub(self.body_bytes);
        let taken = &chunk[..chunk.len().min(room)];
        self.body_bytes += taken.len();
        let evidence = &mut self.evidence;
        self.scanner
            .feed(taken, &mut |param| evidence.add_param(param, Source::Body));
        let over_limit = taken.len() < chunk.len();
        if end_of_stream && !over_limit {
            self.scanner
                .finish(&mut |param| evidence.add_param(param, Source::Body));
        }
        self.check_new_keys(policy);
        if over_limit {
            return self.deny_too_large(policy);
        }
        self.decide(policy, end_of_stream)
    }

    /// The request ended without a last body chunk (it had trailers).
    pub fn finish(&mut self, policy: &Policy) -> Step {
        self.body(policy, &[], true)
    }

    fn check_new_keys(&mut self, policy: &Policy) {
        if self.leaked.is_none() && !policy.keys.is_empty() {
            let evidence = &self.evidence;
            let fresh = evidence
                .keys
                .get(self.keys_checked..)
                .unwrap_or_default()
                .iter()
                .chain(
                    evidence
                        .other_key_readings
                        .get(self.other_readings_checked..)
                        .unwrap_or_default(),
                );
            self.leaked = first_leaked(policy, fresh.map(|f| (f.value.as_slice(), f.cut)));
        }
        self.keys_checked = self.evidence.keys.len();
        self.other_readings_checked = self.evidence.other_key_readings.len();
    }

    fn decide(&self, policy: &Policy, complete: bool) -> Step {
        if self.leaked.is_none() {
            return if complete {
                Step::Allow
            } else {
                Step::ReadBody
            };
        }
        match decide(
            &policy.catalog,
            policy.deny_all_calls,
            &self.evidence,
            &self.products,
            complete,
        ) {
            Some(finding) => self.deny(policy, &finding, ReplyKind::Leaked),
            None if complete => Step::Allow,
            None => Step::ReadBody,
        }
    }

    fn deny_too_large(&self, policy: &Policy) -> Step {
        let finding = Finding {
            rule: Rule::BodyTooLarge,
            product: self.products.first().copied().flatten(),
            action: None,
        };
        let kind = if self.leaked.is_some() {
            ReplyKind::Leaked
        } else {
            ReplyKind::BodyTooLarge
        };
        self.deny(policy, &finding, kind)
    }

    fn deny(&self, policy: &Policy, finding: &Finding, kind: ReplyKind) -> Step {
        let product = finding
            .product
            .map(|p| policy.catalog.products[p].id.clone())
            .unwrap_or_default();
        Step::Deny(Box::new(Denial {
            rule: finding.rule,
            mode: policy.mode,
            masked_key: self.leaked.as_deref().map(mask_key).unwrap_or_default(),
            product,
            action: finding.action.as_deref().map(printable).unwrap_or_default(),
            host: self.evidence.hosts.first().cloned().unwrap_or_default(),
            request_id: self.request_id.clone(),
            format: if self.evidence.xml {
                Format::Xml
            } else {
                Format::Json
            },
            kind,
        }))
    }

    /// What has been read so far (for explanations).
    pub fn evidence(&self) -> &Evidence {
        &self.evidence
    }
}
