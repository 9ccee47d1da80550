//! Raw HTTP/1.1 requests (or any bytes) through the request extractor and the whole check:
//! no panic, no hang, the same verdict whatever the body chunking, and a deny for every
//! request whose plain reading calls a listed operation with the leaked key.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(problem) = akguard_fuzz::check_request(data) {
        panic!("{problem}");
    }
});
