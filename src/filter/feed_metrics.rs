//! The key feed's Envoy stats: which set is in force, how stale it is, and how many fetches
//! applied a set, found it unchanged or failed (one counter a reason, no per-key names).

use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

/// Why a fetch left the set in force as it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The call could not be made or the source did not answer.
    Unreachable,
    /// No answer within `timeout_ms`.
    Timeout,
    /// An answer other than 200 or 304.
    Status,
    /// A body past `max_bytes`.
    TooLarge,
    /// Not a feed document.
    Malformed,
    /// A signature that does not verify.
    Signature,
    /// A version not newer than the one in force.
    Replay,
}

const FAILURES: [Failure; 7] = [
    Failure::Unreachable,
    Failure::Timeout,
    Failure::Status,
    Failure::TooLarge,
    Failure::Malformed,
    Failure::Signature,
    Failure::Replay,
];

impl Failure {
    pub fn reason(self) -> &'static str {
        match self {
            Failure::Unreachable => "unreachable",
            Failure::Timeout => "timeout",
            Failure::Status => "status",
            Failure::TooLarge => "too_large",
            Failure::Malformed => "malformed",
            Failure::Signature => "signature",
            Failure::Replay => "replay",
        }
    }

    /// The failure of a [`crate::core::feed::FeedProblem`] reason.
    pub fn of_reason(reason: &str) -> Failure {
        FAILURES
            .into_iter()
            .find(|f| f.reason() == reason)
            .unwrap_or(Failure::Malformed)
    }
}

/// The failure counters, in the order of [`FAILURES`].
const FAILED_NAMES: [&str; FAILURES.len()] = [
    "akguard.feed_failed_unreachable",
    "akguard.feed_failed_timeout",
    "akguard.feed_failed_status",
    "akguard.feed_failed_too_large",
    "akguard.feed_failed_malformed",
    "akguard.feed_failed_signature",
    "akguard.feed_failed_replay",
];

fn define(kind: MetricType, name: &str) -> Option<u32> {
    hostcalls::define_metric(kind, name).ok()
}

/// Stat ids of the feed in one VM.
#[derive(Debug)]
pub struct FeedMetrics {
    version: Option<u32>,
    published: Option<u32>,
    keys: Option<u32>,
    stale_seconds: Option<u32>,
    last_success: Option<u32>,
    updates: Option<u32>,
    unchanged: Option<u32>,
    failed: [Option<u32>; FAILURES.len()],
}

fn record(id: Option<u32>, value: u64) {
    if let Some(id) = id {
        let _ = hostcalls::record_metric(id, value);
    }
}

fn increment(id: Option<u32>) {
    if let Some(id) = id {
        let _ = hostcalls::increment_metric(id, 1);
    }
}

impl FeedMetrics {
    pub fn define() -> Self {
        FeedMetrics {
            version: define(MetricType::Gauge, "akguard.feed_version"),
            published: define(MetricType::Gauge, "akguard.feed_published"),
            keys: define(MetricType::Gauge, "akguard.feed_keys"),
            stale_seconds: define(MetricType::Gauge, "akguard.feed_stale_seconds"),
            last_success: define(MetricType::Gauge, "akguard.feed_last_success"),
            updates: define(MetricType::Counter, "akguard.feed_updates"),
            unchanged: define(MetricType::Counter, "akguard.feed_unchanged"),
            failed: FAILED_NAMES.map(|name| define(MetricType::Counter, name)),
        }
    }

    /// A newer set is in force.
    pub fn applied(&self, version: u64, published: u64, keys: usize) {
        increment(self.updates);
        record(self.version, version);
        record(self.published, published);
        record(self.keys, keys as u64);
    }

    pub fn unchanged(&self) {
        increment(self.unchanged);
    }

    pub fn failed(&self, failure: Failure) {
        let index = FAILURES.iter().position(|f| *f == failure);
        increment(index.and_then(|i| self.failed[i]));
    }

    /// Seconds since the source last answered with the set in force (or a newer one), and
    /// when that was (Unix seconds).
    pub fn staleness(&self, stale_seconds: u64, last_success: u64) {
        record(self.stale_seconds, stale_seconds);
        record(self.last_success, last_success);
    }
}
