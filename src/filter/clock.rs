//! The host's clock, as the filter's parts read it: whole seconds since the Unix epoch.

use proxy_wasm::hostcalls;
use std::time::UNIX_EPOCH;

/// Seconds since the Unix epoch, as the host tells them (0 if it cannot).
pub fn now_secs() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}
