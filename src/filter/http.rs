//! The per-request context: hands headers and body chunks to the core's [`RequestCheck`] and
//! carries out its steps. A leaked key's call that may issue credentials has its response
//! held and read ([`crate::core::issued`]); every other response passes untouched.

use super::clock;
use super::metrics::{Counter, Metrics};
use super::minted::{self, RequestMinted};
use super::request_headers::RequestHeaders;
use crate::core::check::{CredentialCall, Denial, RequestCheck, Step};
use crate::core::config::{Mode, Policy};
use crate::core::decision::Rule;
use crate::core::deny_log::DenyLog;
use crate::core::issued::{read_issued, Issued, MAX_CREDENTIAL_RESPONSE};
use crate::core::mask::Shown;
use crate::core::reply::generated_request_id;
use crate::core::rules::{self, Target};
use log::warn;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use std::cell::RefCell;
use std::rc::Rc;

pub struct AkguardHttp {
    policy: Rc<Policy>,
    metrics: Metrics,
    deny_log: Rc<RefCell<DenyLog>>,
    seed: u64,
    context_id: u32,
    check: Option<RequestCheck>,
    /// The `_rules_` entry this request is checked under; none: the top-level policy.
    rule: Option<usize>,
    body_read: usize,
    leaked_counted: bool,
    /// The minted keys were re-read for this request.
    minted_refreshed: bool,
    /// The response is held and read for the credentials it issues to a leaked key (boxed:
    /// most requests have none, and every request's context stays small).
    credential_call: Option<Box<CredentialCall>>,
    /// Bytes of the held response body so far.
    response_body_size: usize,
    /// The held response is content-encoded: its credentials cannot be read.
    response_encoded: bool,
    /// The response headers are held with the body (`hold_headers`: Envoy delivers body
    /// callbacks after a header-phase pause only with `allow_on_headers_stop_iteration`).
    hold_response_headers: bool,
}

impl AkguardHttp {
    pub fn new(
        policy: Rc<Policy>,
        metrics: Metrics,
        deny_log: Rc<RefCell<DenyLog>>,
        seed: u64,
        context_id: u32,
    ) -> Self {
        AkguardHttp {
            policy,
            metrics,
            deny_log,
            seed,
            context_id,
            check: None,
            rule: None,
            body_read: 0,
            leaked_counted: false,
            minted_refreshed: false,
            credential_call: None,
            response_body_size: 0,
            response_encoded: false,
            hold_response_headers: false,
        }
    }

    /// Picks the rule for this request. Route and upstream names are read from Envoy only
    /// when the configuration has rules.
    fn select_rule(&mut self, headers: &[(&str, &[u8])]) {
        if self.policy.rules.is_empty() {
            return;
        }
        let host = rules::request_host(headers);
        let route = self.get_property(vec!["xds", "route_name"]);
        let service = self.get_property(vec!["xds", "cluster_name"]);
        let target = Target {
            host: &host,
            route: route.as_deref(),
            service: service.as_deref(),
        };
        self.rule = self.policy.rule_for(&target);
    }

    fn note_leaked(&mut self, seen: bool) {
        if seen && !self.leaked_counted {
            self.leaked_counted = true;
            self.metrics.count(Counter::LeakedKeySeen);
        }
    }

    /// Carries out a step.
    fn act(&mut self, step: Step) -> Action {
        match step {
            Step::Allow => {
                self.check = None;
                Action::Continue
            }
            Step::ReadBody => Action::Pause,
            Step::Deny(denial) => {
                self.check = None;
                self.deny(&denial)
            }
        }
    }

    /// Reads the held response of a credential call: records the key it issues, or replaces
    /// it with a deny when its credentials cannot be read or recorded.
    fn read_credentials(&mut self, call: &CredentialCall, body_size: usize) {
        let wanted = body_size.min(MAX_CREDENTIAL_RESPONSE + 1);
        let body = self.get_http_response_body(0, wanted).unwrap_or_default();
        let complete = body_size <= MAX_CREDENTIAL_RESPONSE
            && body.len() == body_size
            && !self.response_encoded;
        let request_id = || {
            call.request_id
                .clone()
                .unwrap_or_else(|| generated_request_id(self.seed, u64::from(self.context_id)))
        };
        let recorded = match read_issued(&body, complete) {
            Issued::Nothing => return,
            Issued::Key { id, expires } => {
                let now = clock::now_secs();
                if expires <= now {
                    return;
                }
                let in_force = minted::record(id.as_bytes(), expires, now);
                if let Some(in_force) = in_force {
                    let masked = Shown::masked_key(id.as_bytes());
                    warn!(
                        "{}",
                        call.recorded_line(masked.as_str(), expires, &request_id())
                    );
                    self.metrics.count(Counter::MintedKeyRecorded);
                    self.metrics.set_minted_in_force(in_force);
                }
                in_force.is_some()
            }
            Issued::Unreadable => false,
        };
        if recorded {
            return;
        }
        let request_id = request_id();
        warn!("{}", call.unreadable_line(&request_id));
        self.metrics.count(Counter::CredentialsUnreadable);
        if call.mode == Mode::Shadow {
            self.metrics.count(Counter::ShadowDenied);
            return;
        }
        self.metrics.count(Counter::Denied);
        let reply = call.reply(&request_id);
        if self.hold_response_headers {
            self.set_http_response_header(":status", Some(&reply.status.to_string()));
            for (name, value) in &reply.headers {
                self.set_http_response_header(name, Some(value));
            }
            let length = reply.body.len().to_string();
            self.set_http_response_header("content-length", Some(&length));
            self.set_http_response_header("content-encoding", None);
        }
        self.set_http_response_body(0, body_size, reply.body.as_bytes());
    }

    fn deny(&self, denial: &Denial) -> Action {
        let fallback = generated_request_id(self.seed, u64::from(self.context_id));
        let request_id = denial.request_id.clone().unwrap_or(fallback);
        let now = clock::now_secs();
        for line in self.deny_log.borrow_mut().record(now, denial, &request_id) {
            warn!("{line}");
        }
        if denial.rule == Rule::BodyTooLarge {
            self.metrics.count(Counter::BodyTooLarge);
        }
        match denial.mode {
            Mode::Shadow => {
                self.metrics.count(Counter::ShadowDenied);
                Action::Continue
            }
            Mode::Enforce => {
                self.metrics.count(Counter::Denied);
                let reply = denial.reply(&request_id);
                let headers: Vec<(&str, &str)> = reply
                    .headers
                    .iter()
                    .map(|(n, v)| (*n, v.as_str()))
                    .collect();
                self.send_http_response(reply.status, headers, Some(reply.body.as_bytes()));
                Action::Pause
            }
        }
    }
}

impl Context for AkguardHttp {}

impl HttpContext for AkguardHttp {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        self.metrics.note_checked();
        let read = RequestHeaders::read();
        let headers = read.pairs();
        self.select_rule(&headers);
        let policy = Rc::clone(&self.policy);
        let policy = policy.chosen(self.rule);
        let mut lookup = RequestMinted {
            refreshed: &mut self.minted_refreshed,
        };
        let started = RequestCheck::start_with(policy, &mut lookup, &headers, end_of_stream);
        self.note_leaked(started.leaked_key_seen);
        self.check = started.check;
        self.credential_call = started.credential_call.map(Box::new);
        self.hold_response_headers = policy.hold_headers;
        if self.credential_call.is_some() {
            // Asks for an answer akguard can read (no signature covers this header).
            self.set_http_request_header("accept-encoding", None);
        }
        match self.act(started.step) {
            // Without `hold_headers`, the headers go on while the body is held: Envoy only
            // delivers body callbacks after a header-phase pause when the filter is set up
            // with `allow_on_headers_stop_iteration`.
            Action::Pause if self.check.is_some() && !policy.hold_headers => Action::Continue,
            action => action,
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let Some(mut check) = self.check.take() else {
            return Action::Continue;
        };
        let policy = Rc::clone(&self.policy);
        let policy = policy.chosen(self.rule);
        let wanted = body_size
            .saturating_sub(self.body_read)
            .min(check.body_bytes_wanted(policy));
        let chunk = if wanted > 0 {
            self.get_http_request_body(self.body_read, wanted)
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        self.body_read += chunk.len();
        let mut lookup = RequestMinted {
            refreshed: &mut self.minted_refreshed,
        };
        let step = check.body_with(policy, &mut lookup, &chunk, end_of_stream);
        self.note_leaked(check.leaked_key_seen());
        self.credential_call = check.credential_call(policy, &step).map(Box::new);
        self.check = Some(check);
        self.act(step)
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        let Some(mut check) = self.check.take() else {
            return Action::Continue;
        };
        let policy = Rc::clone(&self.policy);
        let policy = policy.chosen(self.rule);
        let mut lookup = RequestMinted {
            refreshed: &mut self.minted_refreshed,
        };
        let step = check.finish_with(policy, &mut lookup);
        self.note_leaked(check.leaked_key_seen());
        self.credential_call = check.credential_call(policy, &step).map(Box::new);
        self.check = Some(check);
        self.act(step)
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if self.credential_call.is_none() || end_of_stream {
            // A response without a body issues nothing.
            self.credential_call = None;
            return Action::Continue;
        }
        self.response_encoded = self
            .get_http_response_header("content-encoding")
            .is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"));
        if self.hold_response_headers {
            return Action::Pause;
        }
        // The headers go on; the body is held, and may be replaced by one of another length.
        self.set_http_response_header("content-length", None);
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.credential_call.is_none() {
            return Action::Continue;
        }
        self.response_body_size = body_size;
        if !end_of_stream {
            // Buffered by Envoy up to its buffer limit, past which Envoy fails the response.
            return Action::Pause;
        }
        if let Some(call) = self.credential_call.take() {
            self.read_credentials(&call, body_size);
        }
        Action::Continue
    }

    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> Action {
        if let Some(call) = self.credential_call.take() {
            self.read_credentials(&call, self.response_body_size);
        }
        Action::Continue
    }
}
