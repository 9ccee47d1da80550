//! One request's check, from its headers through its body: the state machine the filter
//! drives.
//!
//! [`RequestCheck::start`] reads the headers. When no key in them is leaked and no form body
//! follows, the answer is [`Step::Allow`] at once, with nothing else read (the fast path).
//! Otherwise the check keeps a bounded record of what it has read ([`Tally`]) and takes body
//! chunks ([`RequestCheck::body`]) until it can decide: a deny as soon as a leaked key and a
//! deciding rule are both seen, an allow only once the whole body has been read. Its state is
//! the record and the scanner's buffers, whatever the request's size; each byte and each value
//! costs the same whatever came before it.

use super::body_kind::{body_kind, BodyKind};
use super::catalog::ErrorShape;
use super::config::{Mode, Policy};
use super::decision::{could_be_listed, decide, Finding, Rule};
use super::feed_slot::with_key_sets;
use super::mask::printable;
use super::minted::{MintedLookup, NoMinted};
use super::params::{Param, ParamKind, ParamScanner};
use super::reply::{self, Format, Reply, ReplyKind};
use super::request::{
    head_items, header, hosts_in, key_candidates_in_head, param_items, HeaderField, Item, Source,
};
use super::tally::{KeyWatch, Leak, Tally};

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

/// `-` for an empty log field.
pub(crate) fn or_dash(text: &str) -> &str {
    if text.is_empty() {
        "-"
    } else {
        text
    }
}

/// The state of one request's check.
#[derive(Debug)]
pub struct RequestCheck {
    tally: Tally,
    /// [`BodyKind::Form`]: the body is read; [`BodyKind::Unread`]: a body akguard cannot read
    /// follows a leaked key, and its first byte decides.
    body_kind: BodyKind,
    request_id: Option<String>,
    scanner: ParamScanner,
    body_bytes: usize,
}

/// Outcome of [`RequestCheck::start`].
#[derive(Debug)]
pub struct Started {
    pub step: Step,
    /// The check to feed body chunks to, when `step` is [`Step::ReadBody`].
    pub check: Option<RequestCheck>,
    /// A leaked key was seen in the headers.
    pub leaked_key_seen: bool,
    /// The request is let through (or shadow-denied) and may issue credentials to a leaked
    /// key: its response is to be read ([`super::issued`]).
    pub credential_call: Option<CredentialCall>,
}

/// A leaked key's call that may issue credentials, let through: what the filter needs to
/// record the issued key, or to replace a response it cannot read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialCall {
    /// The leaked key that made the call, masked.
    pub masked_key: String,
    pub host: String,
    pub request_id: Option<String>,
    pub format: Format,
    /// In shadow mode a response that cannot be read is logged, not replaced.
    pub mode: Mode,
}

impl CredentialCall {
    /// The deny that replaces a response whose credentials cannot be read.
    pub fn reply(&self, fallback_request_id: &str) -> Reply {
        let id = self.request_id.as_deref().unwrap_or(fallback_request_id);
        reply::render(ReplyKind::Leaked, self.format, id, &self.host, "")
    }

    /// The log line for a recorded key: masked, as every key akguard logs.
    pub fn recorded_line(&self, masked_minted: &str, expires: u64, request_id: &str) -> String {
        format!(
            "akguard minted-key: key={masked_minted} issued_to={} expires={expires} host={} request_id={request_id}",
            or_dash(&self.masked_key),
            or_dash(&printable(self.host.as_bytes())),
        )
    }

    /// The log line for a response replaced (in shadow mode: let through) because its
    /// credentials cannot be read.
    pub fn unreadable_line(&self, request_id: &str) -> String {
        let event = match self.mode {
            Mode::Enforce => "deny",
            Mode::Shadow => "shadow-deny",
        };
        format!(
            "akguard {event}: key={} product=- action=- rule=unreadable-credentials mode={} host={} request_id={request_id}",
            or_dash(&self.masked_key),
            self.mode.label(),
            or_dash(&printable(self.host.as_bytes())),
        )
    }
}

/// Takes one item read from the request into its record.
fn note(tally: &mut Tally, policy: &Policy, minted: &mut dyn MintedLookup, item: &Item<'_>) {
    match *item {
        Item::Key(key, candidate) => with_key_sets(&policy.keys, &policy.feed, |sets| {
            tally.note_key_or_minted(sets, minted, key, candidate.cut)
        }),
        Item::Action { value, cut, .. } => tally.note_action(&policy.catalog, value, cut),
        Item::Version { .. } => {}
        Item::Xml => tally.note_xml(),
    }
}

impl RequestCheck {
    /// Checks the request headers. `end_of_stream` says no body follows.
    pub fn start(policy: &Policy, headers: &[impl HeaderField], end_of_stream: bool) -> Started {
        Self::start_with(policy, &mut NoMinted, headers, end_of_stream)
    }

    /// [`Self::start`], with the keys minted by leaked keys looked up in `minted`.
    pub fn start_with(
        policy: &Policy,
        minted: &mut dyn MintedLookup,
        headers: &[impl HeaderField],
        end_of_stream: bool,
    ) -> Started {
        let mut keys = KeyWatch::default();
        let no_keys = with_key_sets(&policy.keys, &policy.feed, |sets| {
            if sets.iter().all(|s| s.is_empty()) {
                return true;
            }
            key_candidates_in_head(headers, &mut |key, c| {
                keys.note_key(sets, minted, key, c.cut)
            });
            false
        });
        let leaked = keys.leak().is_some();
        let kind = if end_of_stream {
            BodyKind::NoParams
        } else {
            body_kind(headers)
        };
        let form_follows = kind == BodyKind::Form;
        if !leaked && (!form_follows || no_keys) {
            return Started {
                step: Step::Allow,
                check: None,
                leaked_key_seen: false,
                credential_call: None,
            };
        }
        let mut tally = Tally::with_keys(keys);
        match policy.product {
            Some(product) => {
                tally.pin_product(product);
                hosts_in(headers, &mut |host| tally.note_host_name(host));
            }
            None => hosts_in(headers, &mut |host| {
                tally.note_host(&policy.catalog, &policy.endpoints, host)
            }),
        }
        head_items(headers, &mut |item| note(&mut tally, policy, minted, &item));
        let check = RequestCheck {
            tally,
            body_kind: kind,
            request_id: header(headers, "x-request-id").and_then(reply::usable_request_id),
            scanner: ParamScanner::without_versions(),
            body_bytes: 0,
        };
        let step = match kind {
            BodyKind::NoParams => check.decide(policy, true),
            BodyKind::Form => check.decide(policy, false),
            // A body akguard cannot read after a leaked key, on a host the list could cover:
            // what the headers alone deny is denied now (an empty body leaves them as they
            // are, any byte is denied); else the body is held for its first byte.
            BodyKind::Unread => match check.decide(policy, true) {
                Step::Allow if check.unread_body_matters(policy) => Step::ReadBody,
                other => other,
            },
        };
        let keep = step == Step::ReadBody;
        Started {
            credential_call: check.credential_call(policy, &step),
            step,
            check: keep.then_some(check),
            leaked_key_seen: leaked,
        }
    }

    /// The call, decided by `step`, is let through (or shadow-denied) with a leaked key and
    /// may issue credentials.
    pub fn credential_call(&self, policy: &Policy, step: &Step) -> Option<CredentialCall> {
        let through = match step {
            Step::Allow => true,
            Step::Deny(denial) => denial.mode == Mode::Shadow,
            Step::ReadBody => false,
        };
        let leak = self.tally.leak()?;
        (through && self.tally.may_issue_credentials(&policy.catalog)).then(|| CredentialCall {
            masked_key: leak.masked_key().to_string(),
            host: self.tally.host().to_string(),
            request_id: self.request_id.clone(),
            format: if self.tally.xml() {
                Format::Xml
            } else {
                Format::Json
            },
            mode: policy.mode,
        })
    }

    /// A leaked key has been seen in this request.
    pub fn leaked_key_seen(&self) -> bool {
        self.tally.leak().is_some()
    }

    /// How many more body bytes the check reads: up to one past `max_body_bytes` of a form
    /// body (the extra byte tells a body over the limit), the first byte of another.
    pub fn body_bytes_wanted(&self, policy: &Policy) -> usize {
        let limit = match self.body_kind {
            BodyKind::Form => policy.max_body_bytes.saturating_add(1),
            _ => 1,
        };
        limit.saturating_sub(self.body_bytes)
    }

    /// Takes the next body chunk. `end_of_stream` says it is the last.
    pub fn body(&mut self, policy: &Policy, chunk: &[u8], end_of_stream: bool) -> Step {
        self.body_with(policy, &mut NoMinted, chunk, end_of_stream)
    }

    /// [`Self::body`], with the keys minted by leaked keys looked up in `minted`.
    pub fn body_with(
        &mut self,
        policy: &Policy,
        minted: &mut dyn MintedLookup,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> Step {
        if self.body_kind != BodyKind::Form {
            self.body_bytes += chunk.len().min(1);
            return if !chunk.is_empty() {
                let product = self.tally.products().first().copied().flatten();
                self.deny(
                    policy,
                    &Finding::of(Rule::UnreadBody, product),
                    ReplyKind::Leaked,
                )
            } else {
                self.decide(policy, end_of_stream)
            };
        }
        let room = policy.max_body_bytes.saturating_sub(self.body_bytes);
        let taken = &chunk[..chunk.len().min(room)];
        self.body_bytes += taken.len();
        let over_limit = taken.len() < chunk.len();
        let (tally, scanner) = (&mut self.tally, &mut self.scanner);
        let mut take = |param: Param<'_>| match param.kind {
            // The common case, taken straight to the record: what `param_items` and `note`
            // would do with it.
            ParamKind::Action if !param.value.is_empty() => {
                tally.note_action(&policy.catalog, param.value, param.cut)
            }
            _ => param_items(param, Source::Body, &mut |item| {
                note(tally, policy, minted, &item)
            }),
        };
        scanner.feed(taken, &mut take);
        if end_of_stream && !over_limit {
            scanner.finish(&mut take);
        }
        if over_limit {
            return self.deny_too_large(policy);
        }
        self.decide(policy, end_of_stream)
    }

    /// The request ended without a last body chunk (it had trailers).
    pub fn finish(&mut self, policy: &Policy) -> Step {
        self.body(policy, &[], true)
    }

    /// [`Self::finish`], with the keys minted by leaked keys looked up in `minted`.
    pub fn finish_with(&mut self, policy: &Policy, minted: &mut dyn MintedLookup) -> Step {
        self.body_with(policy, minted, &[], true)
    }

    /// A body akguard cannot read could change the decision: it could carry a listed
    /// operation of the request's products (or of any, on a host of no known product).
    fn unread_body_matters(&self, policy: &Policy) -> bool {
        could_be_listed(&policy.catalog, policy.unknown_hosts, &self.tally)
    }

    fn decide(&self, policy: &Policy, complete: bool) -> Step {
        let Some(leak) = self.tally.leak() else {
            return if complete {
                Step::Allow
            } else {
                Step::ReadBody
            };
        };
        match decide(
            &policy.catalog,
            policy.deny_all_calls,
            policy.unknown_hosts,
            &self.tally,
            complete,
        ) {
            Some(mut finding) => {
                if *leak == Leak::TooManyKeys {
                    finding.rule = Rule::TooManyKeys;
                }
                self.deny(policy, &finding, ReplyKind::Leaked)
            }
            None if policy.deny_credential_calls
                && self.tally.may_issue_credentials(&policy.catalog) =>
            {
                let product = self.tally.products().first().copied().flatten();
                self.deny(
                    policy,
                    &Finding {
                        rule: Rule::CredentialCall,
                        product,
                        action: self.tally.first_action().map(str::to_string),
                    },
                    ReplyKind::Leaked,
                )
            }
            None if complete => Step::Allow,
            None => Step::ReadBody,
        }
    }

    fn deny_too_large(&self, policy: &Policy) -> Step {
        let product = self.tally.products().first().copied().flatten();
        let kind = if self.leaked_key_seen() {
            ReplyKind::Leaked
        } else {
            ReplyKind::BodyTooLarge
        };
        self.deny(policy, &Finding::of(Rule::BodyTooLarge, product), kind)
    }

    fn deny(&self, policy: &Policy, finding: &Finding, kind: ReplyKind) -> Step {
        let product = finding
            .product
            .or_else(|| self.tally.products().first().copied().flatten())
            .map(|p| &policy.catalog.products[p]);
        let format = match product.map(|p| p.errors) {
            Some(ErrorShape::Oss) => Format::Oss,
            _ if self.tally.xml() => Format::Xml,
            _ => Format::Json,
        };
        let product = finding
            .product
            .map(|p| policy.catalog.products[p].id.clone())
            .unwrap_or_default();
        Step::Deny(Box::new(Denial {
            rule: finding.rule,
            mode: policy.mode,
            masked_key: self
                .tally
                .leak()
                .map(|leak| leak.masked_key().to_string())
                .unwrap_or_default(),
            product,
            action: finding.action.clone().unwrap_or_default(),
            host: self.tally.host().to_string(),
            request_id: self.request_id.clone(),
            format,
            kind,
        }))
    }

    /// Bytes this check holds, inline and on the heap: its whole per-request state.
    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.scanner.heap_bytes()
            + self.request_id.as_ref().map_or(0, String::capacity)
    }
}
