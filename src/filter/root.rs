//! The root context: applies a configuration (through the core's validation) and creates the
//! per-request contexts, which share the accepted policy.

use super::config_reader::PluginConfigReader;
use super::http::AkguardHttp;
use super::metrics::{Counter, Metrics};
use super::minted;
use crate::core::config;
use crate::core::config::Policy;
use crate::core::list_file;
use log::{error, info, warn};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::ContextType;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

pub struct AkguardRoot {
    policy: Rc<Policy>,
    metrics: Metrics,
    seed: u64,
}

impl AkguardRoot {
    pub fn new() -> Self {
        AkguardRoot {
            policy: Rc::new(empty_policy()),
            metrics: Metrics::define(),
            seed: 0,
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

impl Context for AkguardRoot {
    fn on_done(&mut self) -> bool {
        self.metrics.flush();
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
                // `_rules_` (Higress's per-route form) is named only when present.
                let rules = if p.rules.is_empty() {
                    String::new()
                } else {
                    format!(" rules={}", p.rules.len())
                };
                info!("akguard configuration accepted: {}{rules}", p.summary());
                self.metrics.set_keys_loaded(p.keys.len());
                self.metrics.set_list(
                    list_file::published_number(&p.catalog.published),
                    p.catalog.digest,
                );
                self.metrics.record_vm_memory();
                self.set_tick_period(FLUSH_PERIOD);
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
        self.metrics.record_vm_memory();
        self.metrics
            .set_minted_in_force(minted::in_force(minted::now_secs()));
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(AkguardHttp::new(
            Rc::clone(&self.policy),
            self.metrics.clone(),
            self.seed,
            context_id,
        )))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
