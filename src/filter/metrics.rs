//! The filter's Envoy stats: a fixed set of names (no per-key names), defined once per VM.
//! Envoy shows them as `wasmcustom.akguard.*` in `/stats`.

use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

/// Stat ids of one VM. A stat the host refused to define is skipped.
#[derive(Clone, Copy, Debug, Default)]
pub struct Metrics {
    requests_checked: Option<u32>,
    leaked_key_seen: Option<u32>,
    denied: Option<u32>,
    shadow_denied: Option<u32>,
    body_too_large: Option<u32>,
    config_rejected: Option<u32>,
    keys_loaded: Option<u32>,
}

/// A counter of [`Metrics`].
#[derive(Clone, Copy, Debug)]
pub enum Counter {
    RequestsChecked,
    LeakedKeySeen,
    Denied,
    ShadowDenied,
    BodyTooLarge,
    ConfigRejected,
}

fn define(kind: MetricType, name: &str) -> Option<u32> {
    hostcalls::define_metric(kind, name).ok()
}

impl Metrics {
    pub fn define() -> Self {
        Metrics {
            requests_checked: define(MetricType::Counter, "akguard.requests_checked"),
            leaked_key_seen: define(MetricType::Counter, "akguard.leaked_key_seen"),
            denied: define(MetricType::Counter, "akguard.denied"),
            shadow_denied: define(MetricType::Counter, "akguard.shadow_denied"),
            body_too_large: define(MetricType::Counter, "akguard.body_too_large"),
            config_rejected: define(MetricType::Counter, "akguard.config_rejected"),
            keys_loaded: define(MetricType::Gauge, "akguard.keys_loaded"),
        }
    }

    pub fn count(&self, counter: Counter) {
        let id = match counter {
            Counter::RequestsChecked => self.requests_checked,
            Counter::LeakedKeySeen => self.leaked_key_seen,
            Counter::Denied => self.denied,
            Counter::ShadowDenied => self.shadow_denied,
            Counter::BodyTooLarge => self.body_too_large,
            Counter::ConfigRejected => self.config_rejected,
        };
        if let Some(id) = id {
            let _ = hostcalls::increment_metric(id, 1);
        }
    }

    pub fn set_keys_loaded(&self, keys: usize) {
        if let Some(id) = self.keys_loaded {
            let _ = hostcalls::record_metric(id, keys as u64);
        }
    }
}
