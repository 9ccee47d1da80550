//! The key feed's fetcher: from the root context's tick, asks the `key_feed` source for its
//! document (conditionally, with the `ETag` of the set in force), hands what comes back to
//! the core to verify, and places a newer set in the policy's feed slot. Anything else
//! leaves the set in force as it is ("fail static"), counted and logged with how stale it is.
//! Only the VM holding the gateway's lease asks the source; the others take each verified
//! document from shared data ([`super::feed_share`]).

use super::feed_metrics::{Failure, FeedMetrics};
use super::feed_share::{self, SharedState};
use crate::core::config::key_feed::KeyFeed;
use crate::core::feed::{self, FeedHeader, FeedProblem};
use crate::core::feed_slot::FeedSlot;
use crate::core::keyset::KeySet;
use log::{info, warn};
use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The set in force and where it came from.
#[derive(Debug)]
struct InForce {
    header: FeedHeader,
    keys: Rc<KeySet>,
    etag: Option<String>,
}

/// One VM's fetcher.
#[derive(Debug)]
pub struct FeedFetcher {
    source: KeyFeed,
    slot: FeedSlot,
    metrics: FeedMetrics,
    in_force: Option<InForce>,
    /// When the source last answered with the set in force or a newer one; until then, when
    /// the fetcher started.
    last_success: SystemTime,
    next_poll: SystemTime,
    /// The call in flight and when it was sent.
    pending: Option<(u32, SystemTime)>,
    /// This VM's number among the gateway's, for the lease.
    member: u64,
    /// A shared version this VM could not apply, not tried again.
    passed_over: u64,
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn now() -> SystemTime {
    hostcalls::get_current_time().unwrap_or(UNIX_EPOCH)
}

fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

impl FeedFetcher {
    pub fn new(source: KeyFeed, slot: FeedSlot) -> Self {
        let now = now();
        FeedFetcher {
            source,
            slot,
            metrics: FeedMetrics::define(),
            in_force: None,
            last_success: now,
            next_poll: now,
            pending: None,
            member: feed_share::member_number(),
            passed_over: 0,
        }
    }

    /// Gives up the lease, if held: the root context is going away.
    pub fn stop(&self) {
        feed_share::release(self.member);
    }

    /// The tick: takes a newer document from shared data, sends a call when one is due, none
    /// is in flight and this VM holds the lease, and records staleness.
    pub fn tick(&mut self) {
        let now = now();
        self.follow();
        self.record_staleness(now);
        // A call the host never answered (it always should, at the latest on its timeout)
        // does not stop the polling.
        let given_up = Duration::from_millis(self.source.timeout_ms) + Duration::from_secs(5);
        if let Some((_, sent)) = self.pending {
            if now.duration_since(sent).unwrap_or_default() > given_up {
                self.pending = None;
                self.fail(Failure::Timeout, "the host never answered the call");
            }
        }
        if self.pending.is_some() || now < self.next_poll {
            return;
        }
        self.next_poll = now + Duration::from_secs(self.source.poll_seconds);
        let now_ms = unix_ms(now);
        let hold_ms = 2000 * self.source.poll_seconds + self.source.timeout_ms;
        if !feed_share::take_lease(self.member, now_ms, now_ms + hold_ms) {
            return;
        }
        let mut headers = vec![
            (":method", "GET"),
            (":path", self.source.path.as_str()),
            (":authority", self.source.authority.as_str()),
            ("accept", "text/plain"),
        ];
        if let Some(etag) = self.in_force.as_ref().and_then(|f| f.etag.as_deref()) {
            headers.push(("if-none-match", etag));
        }
        let timeout = Duration::from_millis(self.source.timeout_ms);
        match hostcalls::dispatch_http_call(&self.source.cluster, headers, None, vec![], timeout) {
            Ok(token) => self.pending = Some((token, now)),
            Err(status) => self.fail(
                Failure::Unreachable,
                &format!(
                    "the call to cluster {:?} could not be made ({status:?})",
                    self.source.cluster
                ),
            ),
        }
    }

    /// The answer to call `token`.
    pub fn response(&mut self, token: u32, num_headers: usize, body_size: usize) {
        let Some((pending, sent)) = self.pending else {
            return;
        };
        if pending != token {
            return;
        }
        self.pending = None;
        let now = now();
        let waited = now.duration_since(sent).unwrap_or_default();
        let headers = if num_headers == 0 {
            Vec::new()
        } else {
            hostcalls::get_map(MapType::HttpCallResponseHeaders).unwrap_or_default()
        };
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let timeout = Duration::from_millis(self.source.timeout_ms);
        let timed_out = waited + Duration::from_millis(50) >= timeout;
        match header(":status") {
            // Envoy answers a call past its timeout with its own 504, and a failed one (reset,
            // refused) with no headers.
            None | Some("504") if timed_out => self.fail(
                Failure::Timeout,
                &format!("no answer within {} ms", self.source.timeout_ms),
            ),
            None => self.fail(Failure::Unreachable, "the source did not answer"),
            Some("304") => self.confirmed(now),
            Some("200") if body_size as u64 > self.source.max_bytes => self.fail(
                Failure::TooLarge,
                &format!(
                    "a body of {body_size} bytes, past max_bytes {}",
                    self.source.max_bytes
                ),
            ),
            Some("200") => {
                let etag = header("etag").map(str::to_string);
                let body = hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size)
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                self.apply(&body, etag, now);
            }
            Some(status) => self.fail(Failure::Status, &format!("status {status}")),
        }
    }

    fn record_staleness(&self, now: SystemTime) {
        let stale = now.duration_since(self.last_success).unwrap_or_default();
        self.metrics
            .staleness(stale.as_secs(), unix_seconds(self.last_success));
    }

    /// The source confirmed the set in force.
    fn confirmed(&mut self, now: SystemTime) {
        self.last_success = now;
        self.record_staleness(now);
        self.metrics.unchanged();
        if let Some(f) = &self.in_force {
            feed_share::confirm(&SharedState {
                version: f.header.version,
                checked_ms: unix_ms(now),
                etag: f.etag.clone(),
            });
        }
    }

    /// Applies a newer document another VM placed in shared data (also right when a
    /// configuration is accepted, so its first requests already count the feed's keys).
    pub fn follow(&mut self) {
        let Some(shared) = feed_share::state() else {
            return;
        };
        let checked = UNIX_EPOCH + Duration::from_millis(shared.checked_ms);
        let in_force = self.in_force.as_ref().map(|f| f.header.version);
        if in_force.is_some_and(|v| v >= shared.version) || shared.version == self.passed_over {
            if in_force == Some(shared.version) {
                self.last_success = self.last_success.max(checked);
            }
            return;
        }
        let Some(document) = feed_share::document() else {
            return;
        };
        match feed::read(&document, &self.source.public_key, in_force) {
            Ok(fed) => {
                self.place(fed, shared.etag, "shared by the VM that fetched it");
                self.last_success = self.last_success.max(checked);
            }
            // The document is older than the state (a newer one is being placed): next tick.
            Err(FeedProblem::Replay { .. }) => {}
            Err(problem) => {
                self.passed_over = shared.version;
                warn!(
                    "akguard key feed: the shared version {} is not applied: {problem}",
                    shared.version
                );
            }
        }
    }

    /// Puts a verified set in force.
    fn place(&mut self, fed: feed::Feed, etag: Option<String>, how: &str) {
        let keys = Rc::new(fed.keys);
        self.slot.replace(Rc::clone(&keys));
        let header = fed.header;
        self.metrics
            .applied(header.version, header.published, fed.entries);
        let age = unix_seconds(now()).saturating_sub(header.published);
        info!(
            "akguard key feed: version {} applied ({} keys, published {age} s ago, {how})",
            header.version, fed.entries
        );
        self.in_force = Some(InForce { header, keys, etag });
    }

    fn apply(&mut self, document: &[u8], etag: Option<String>, now: SystemTime) {
        let in_force = self.in_force.as_ref().map(|f| f.header.version);
        match feed::read(document, &self.source.public_key, in_force) {
            Ok(fed) => {
                let state = SharedState {
                    version: fed.header.version,
                    checked_ms: unix_ms(now),
                    etag: etag.clone(),
                };
                self.place(fed, etag, "fetched");
                self.last_success = now;
                self.record_staleness(now);
                feed_share::publish(document, &state);
            }
            // The set in force served again (by a source that ignores `If-None-Match`).
            Err(FeedProblem::Replay { version, in_force }) if version == in_force => {
                self.confirmed(now)
            }
            Err(problem) => self.fail(Failure::of_reason(problem.reason()), &problem.to_string()),
        }
    }

    fn fail(&mut self, failure: Failure, why: &str) {
        self.metrics.failed(failure);
        let stale = now()
            .duration_since(self.last_success)
            .unwrap_or_default()
            .as_secs();
        let kept = match &self.in_force {
            Some(f) => format!(
                "version {} ({} keys) stays in force",
                f.header.version,
                f.keys.len()
            ),
            None => "no feed set is in force yet".into(),
        };
        warn!(
            "akguard key feed: fetch failed ({}): {why}; {kept}; last good answer {stale} s ago",
            failure.reason()
        );
    }
}
