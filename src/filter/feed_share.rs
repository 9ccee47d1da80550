//! One fetch per gateway: the filter's VMs (one a worker, one on the main thread) share the
//! key feed through Envoy's shared data. A lease names the one VM that asks the source; it
//! places each verified document in shared data, then the version and the time of its last
//! good answer, which the other VMs watch on their tick to read, verify and apply the newer
//! document themselves. A lease its holder stops renewing (a VM gone) runs out, and another
//! VM takes it.

use proxy_wasm::hostcalls;

/// `<holder> <expiry, Unix ms>`.
const LEASE: &str = "akguard.feed.lease";
/// The last verified document.
const DOCUMENT: &str = "akguard.feed.document";
/// `<version> <last good answer, Unix ms> [<ETag>]`.
const STATE: &str = "akguard.feed.state";
/// The last VM number handed out.
const MEMBERS: &str = "akguard.feed.members";

/// Attempts at a compare-and-swap before giving up.
const CAS_TRIES: usize = 8;

/// What the fetching VM last published.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SharedState {
    pub version: u64,
    /// When the source last answered with this version or confirmed it, Unix ms.
    pub checked_ms: u64,
    pub etag: Option<String>,
}

fn read(key: &str) -> (Option<Vec<u8>>, Option<u32>) {
    hostcalls::get_shared_data(key).unwrap_or((None, None))
}

fn text(value: &Option<Vec<u8>>) -> &str {
    value
        .as_deref()
        .and_then(|v| std::str::from_utf8(v).ok())
        .unwrap_or_default()
}

/// A number for this VM, distinct from every other VM's of the gateway.
pub fn member_number() -> u64 {
    for _ in 0..CAS_TRIES {
        let (value, cas) = read(MEMBERS);
        let next = text(&value).parse::<u64>().unwrap_or_default() + 1;
        if hostcalls::set_shared_data(MEMBERS, Some(next.to_string().as_bytes()), cas).is_ok() {
            return next;
        }
    }
    // Contended beyond reason: a number of its own from the clock.
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default()
}

/// Takes or renews the lease for `me` until `until_ms` when it is free, run out or already
/// `me`'s; true when `me` holds it.
pub fn take_lease(me: u64, now_ms: u64, until_ms: u64) -> bool {
    let (value, cas) = read(LEASE);
    let mut words = text(&value).split(' ');
    let holder = words.next().and_then(|w| w.parse::<u64>().ok());
    let expiry = words.next().and_then(|w| w.parse::<u64>().ok());
    let free = match (holder, expiry) {
        (Some(holder), Some(expiry)) => holder == me || expiry < now_ms,
        _ => true,
    };
    if !free {
        return false;
    }
    let lease = format!("{me} {until_ms}");
    if hostcalls::set_shared_data(LEASE, Some(lease.as_bytes()), cas).is_err() {
        return false;
    }
    // Two VMs may both have found no lease at all: the last writer holds it.
    read(LEASE).0.as_deref() == Some(lease.as_bytes())
}

/// Gives the lease up when `me` holds it (a root context going away), so that another VM
/// asks the source at its next poll instead of when the lease runs out.
pub fn release(me: u64) {
    let (value, cas) = read(LEASE);
    let holder = text(&value)
        .split(' ')
        .next()
        .and_then(|w| w.parse::<u64>().ok());
    if holder == Some(me) {
        let _ = hostcalls::set_shared_data(LEASE, Some(b"-"), cas);
    }
}

/// Places a verified document, then its state, for the other VMs.
pub fn publish(document: &[u8], state: &SharedState) {
    if hostcalls::set_shared_data(DOCUMENT, Some(document), None).is_ok() {
        confirm(state);
    }
}

/// Records that the source answered: the version in force and when.
pub fn confirm(state: &SharedState) {
    let mut text = format!("{} {}", state.version, state.checked_ms);
    if let Some(etag) = &state.etag {
        text.push(' ');
        text.push_str(etag);
    }
    let _ = hostcalls::set_shared_data(STATE, Some(text.as_bytes()), None);
}

/// What the fetching VM last published, if anything.
pub fn state() -> Option<SharedState> {
    let (value, _) = read(STATE);
    let text = text(&value);
    let mut words = text.splitn(3, ' ');
    let version = words.next()?.parse().ok()?;
    let checked_ms = words.next()?.parse().ok()?;
    let etag = words.next().map(str::to_string);
    Some(SharedState {
        version,
        checked_ms,
        etag,
    })
}

/// The last verified document, if any.
pub fn document() -> Option<Vec<u8>> {
    read(DOCUMENT).0
}
