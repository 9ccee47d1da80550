//! The root context: applies a configuration (through the core's validation) and creates the
//! per-request contexts, which share the accepted policy.

use super::clock;
use super::config_reader::PluginConfigReader;
use super::feed::FeedFetcher;
use super::http::AkguardHttp;
use super::metrics::{Counter, Metrics};
use super::minted;
use crate::core::config;
use crate::core::config::Policy;
use crate::core::deny_log::{DenyLog, DEFAULT_LINES_PER_SECOND};
use crate::core::list_file;
use log::{error, info, warn};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::ContextType;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

pub struct AkguardRoot {
    policy: Rc<Policy>,
    metrics: Metrics,
    /// One deny log for the VM: every request context writes to it.
    deny_log: Rc<RefCell<DenyLog>>,
    seed: u64,
    /// Fetches the signed key feed, when `key_feed` is configured.
    feed: Option<FeedFetcher>,
}

impl AkguardRoot {
    pub fn new() -> Self {
        AkguardRoot {
            policy: Rc::new(empty_policy()),
            metrics: Metrics::define(),
            deny_log: Rc::new(RefCell::new(DenyLog::new(DEFAULT_LINES_PER_SECOND))),
            seed: 0,
            feed: None,
        }
    }
}

/// The policy in force before any configuration is accepted: nothing is leaked.
fn empty_policy() -> Policy {
    match config::load(b"") {
        Ok(loaded) => loaded.policy,
        Err(e) => {
            error!("akguard: {e}");
            // The embedded list is checked by the tests; without it no policy can be built.
            std::process::abort()
        }
    }
}

/// How often the checked-request count is handed to Envoy.
const FLUSH_PERIOD: Duration = Duration::from_secs(1);
/// The tick with a key feed: a due fetch, or a newer set another VM fetched, waits at most
/// this long.
const FEED_TICK: Duration = Duration::from_millis(50);

impl Context for AkguardRoot {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        if let Some(feed) = &mut self.feed {
            feed.response(token_id, num_headers, body_size);
            self.metrics.record_vm_memory();
        }
    }

    fn on_done(&mut self) -> bool {
        self.metrics.flush();
        if let Some(feed) = &self.feed {
            feed.stop();
        }
        true
    }
}

impl RootContext for AkguardRoot {
    fn on_configure(&mut self, size: usize) -> bool {
        match config::load_from(PluginConfigReader::new(size), size) {
            Ok(loaded) => {
                for warning in &loaded.warnings {
                    warn!("akguard configuration: {warning}");
                }
                let p = &loaded.policy;
                info!("akguard configuration accepted: {}", p.summary());
                self.metrics.count(Counter::ConfigAccepted);
                self.metrics.set_keys_loaded(p.keys.len());
                self.metrics.set_list(
                    list_file::published_number(&p.catalog.published),
                    p.catalog.digest,
                );
                self.metrics.record_vm_memory();
                self.deny_log
                    .borrow_mut()
                    .set_lines_per_second(p.deny_log_lines_per_second);
                // The set in force comes back from shared data, verified with the new
                // configuration's public key.
                if let Some(old) = self.feed.take() {
                    old.stop();
                }
                self.feed = p.key_feed.as_ref().map(|source| {
                    let mut feed = FeedFetcher::new(source.clone(), p.feed.clone());
                    feed.follow();
                    feed
                });
                let tick = if self.feed.is_some() {
                    FEED_TICK
                } else {
                    FLUSH_PERIOD
                };
                self.set_tick_period(tick);
                self.policy = Rc::new(loaded.policy);
                self.seed = self
                    .get_current_time()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or_default();
                true
            }
            Err(e) => {
                self.metrics.count(Counter::ConfigRejected);
                error!("akguard configuration rejected: {e}");
                false
            }
        }
    }

    fn on_tick(&mut self) {
        self.metrics.flush();
        // A second's summarised denies are written once it is over, even when no deny follows.
        for line in self.deny_log.borrow_mut().tick(clock::now_secs()) {
            warn!("{line}");
        }
        self.metrics.record_vm_memory();
        self.metrics
            .set_minted_in_force(minted::in_force(clock::now_secs()));
        if let Some(feed) = &mut self.feed {
            feed.tick();
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(AkguardHttp::new(
            Rc::clone(&self.policy),
            self.metrics.clone(),
            Rc::clone(&self.deny_log),
            self.seed,
            context_id,
        )))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
