//! The per-request context: hands headers and body chunks to the core's [`RequestCheck`] and
//! carries out its steps.

use super::metrics::{Counter, Metrics};
use super::request_headers::RequestHeaders;
use crate::core::check::{Denial, RequestCheck, Step};
use crate::core::config::{Mode, Policy};
use crate::core::decision::Rule;
use crate::core::deny_log::DenyLog;
use crate::core::reply::generated_request_id;
use crate::core::rules::{self, Target};
use log::warn;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::UNIX_EPOCH;

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

    fn deny(&self, denial: &Denial) -> Action {
        let fallback = generated_request_id(self.seed, u64::from(self.context_id));
        let request_id = denial.request_id.clone().unwrap_or(fallback);
        let now = self
            .get_current_time()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
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
        let started = RequestCheck::start(policy, &headers, end_of_stream);
        self.note_leaked(started.leaked_key_seen);
        self.check = started.check;
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
        let step = check.body(policy, &chunk, end_of_stream);
        self.note_leaked(check.leaked_key_seen());
        self.check = Some(check);
        self.act(step)
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        let Some(mut check) = self.check.take() else {
            return Action::Continue;
        };
        let policy = Rc::clone(&self.policy);
        let step = check.finish(policy.chosen(self.rule));
        self.note_leaked(check.leaked_key_seen());
        self.check = Some(check);
        self.act(step)
    }
}
