//! The configuration parser on any bytes: no panic, the same answer twice, and an accepted
//! configuration checks a request without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(problem) = akguard_fuzz::check_config(data) {
        panic!("{problem}");
    }
});
