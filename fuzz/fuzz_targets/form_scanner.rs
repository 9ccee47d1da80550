//! The streaming parameter scanner: no panic, the same readings whatever the chunking, and
//! its once-decoded readings equal to `url::form_urlencoded`'s.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(problem) = akguard_fuzz::check_form(data) {
        panic!("{problem}");
    }
});
