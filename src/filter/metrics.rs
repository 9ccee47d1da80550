//! The filter's Envoy stats: a fixed set of names (no per-key names), defined once per VM.
//! Envoy shows them as `wasmcustom.akguard.*` in `/stats`.
//!
//! Every request is counted in `requests_checked`, but not with a host call each: a call into
//! Envoy costs about as much as akguard's own check of a clean request. Checked requests are
//! added up in the VM and handed to Envoy once a second (the root context's tick), and before
//! any other counter moves, so `requests_checked` is never behind the deny counters.

use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;
use std::cell::Cell;
use std::rc::Rc;

/// Stat ids of one VM. A stat the host refused to define is skipped.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    /// Requests checked and not yet added to `requests_checked`.
    checked_pending: Rc<Cell<u64>>,
    requests_checked: Option<u32>,
    leaked_key_seen: Option<u32>,
    denied: Option<u32>,
    shadow_denied: Option<u32>,
    body_too_large: Option<u32>,
    config_accepted: Option<u32>,
    config_rejected: Option<u32>,
    keys_loaded: Option<u32>,
    vm_memory_bytes: Option<u32>,
    list_published: Option<u32>,
    list_digest: Option<u32>,
    minted_keys_recorded: Option<u32>,
    minted_keys_in_force: Option<u32>,
    credentials_unreadable: Option<u32>,
}

/// A counter of [`Metrics`].
#[derive(Clone, Copy, Debug)]
pub enum Counter {
    LeakedKeySeen,
    Denied,
    ShadowDenied,
    BodyTooLarge,
    ConfigAccepted,
    ConfigRejected,
    MintedKeyRecorded,
    CredentialsUnreadable,
}

fn define(kind: MetricType, name: &str) -> Option<u32> {
    hostcalls::define_metric(kind, name).ok()
}

impl Metrics {
    pub fn define() -> Self {
        Metrics {
            checked_pending: Rc::default(),
            requests_checked: define(MetricType::Counter, "akguard.requests_checked"),
            leaked_key_seen: define(MetricType::Counter, "akguard.leaked_key_seen"),
            denied: define(MetricType::Counter, "akguard.denied"),
            shadow_denied: define(MetricType::Counter, "akguard.shadow_denied"),
            body_too_large: define(MetricType::Counter, "akguard.body_too_large"),
            config_accepted: define(MetricType::Counter, "akguard.config_accepted"),
            config_rejected: define(MetricType::Counter, "akguard.config_rejected"),
            keys_loaded: define(MetricType::Gauge, "akguard.keys_loaded"),
            vm_memory_bytes: define(MetricType::Gauge, "akguard.vm_memory_bytes"),
            list_published: define(MetricType::Gauge, "akguard.high_risk_list_published"),
            list_digest: define(MetricType::Gauge, "akguard.high_risk_list_digest"),
            minted_keys_recorded: define(MetricType::Counter, "akguard.minted_keys_recorded"),
            minted_keys_in_force: define(MetricType::Gauge, "akguard.minted_keys_in_force"),
            credentials_unreadable: define(MetricType::Counter, "akguard.credentials_unreadable"),
        }
    }

    /// Counts a checked request (handed to Envoy by [`Self::flush`]).
    pub fn note_checked(&self) {
        self.checked_pending.set(self.checked_pending.get() + 1);
    }

    /// Hands the checked requests counted so far to Envoy.
    pub fn flush(&self) {
        let pending = self.checked_pending.replace(0);
        if let (Some(id), true) = (self.requests_checked, pending > 0) {
            let _ = hostcalls::increment_metric(id, pending as i64);
        }
    }

    pub fn count(&self, counter: Counter) {
        self.flush();
        let id = match counter {
            Counter::LeakedKeySeen => self.leaked_key_seen,
            Counter::Denied => self.denied,
            Counter::ShadowDenied => self.shadow_denied,
            Counter::BodyTooLarge => self.body_too_large,
            Counter::ConfigAccepted => self.config_accepted,
            Counter::ConfigRejected => self.config_rejected,
            Counter::MintedKeyRecorded => self.minted_keys_recorded,
            Counter::CredentialsUnreadable => self.credentials_unreadable,
        };
        if let Some(id) = id {
            let _ = hostcalls::increment_metric(id, 1);
        }
    }

    /// Records the size of this VM's linear memory (which never shrinks: its high-water mark).
    pub fn record_vm_memory(&self) {
        if let Some(id) = self.vm_memory_bytes {
            let pages = core::arch::wasm32::memory_size(0) as u64;
            let _ = hostcalls::record_metric(id, pages * 65_536);
        }
    }

    /// Records which high-risk list is in force: its publication date (`YYYYMMDD`) and the
    /// fingerprint of what it blocks.
    pub fn set_list(&self, published: u32, digest: u64) {
        if let Some(id) = self.list_published {
            let _ = hostcalls::record_metric(id, u64::from(published));
        }
        if let Some(id) = self.list_digest {
            let _ = hostcalls::record_metric(id, digest);
        }
    }

    /// Records how many keys minted by leaked keys are in force.
    pub fn set_minted_in_force(&self, keys: usize) {
        if let Some(id) = self.minted_keys_in_force {
            let _ = hostcalls::record_metric(id, keys as u64);
        }
    }

    pub fn set_keys_loaded(&self, keys: usize) {
        if let Some(id) = self.keys_loaded {
            let _ = hostcalls::record_metric(id, keys as u64);
        }
    }
}
