//! The streaming parameter scanner: no panic, the same readings whatever the chunking, and
//! its once-decoded readings equal to `url::form_urlencoded`'s.

#![no_main]

use akguard_fuzz::reference::{core_all_readings, disagreement};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, input)) = data.split_first() else {
        return;
    };
    let whole = core_all_readings(&[input]);
    if !input.is_empty() {
        let at = usize::from(split) % input.len();
        let (a, b) = input.split_at(at);
        assert_eq!(core_all_readings(&[a, b]), whole, "split at {at}");
        let step = usize::from(split % 7) + 1;
        let pieces: Vec<&[u8]> = input.chunks(step).collect();
        assert_eq!(core_all_readings(&pieces), whole, "chunks of {step}");
    }
    if let Some(problem) = disagreement(input) {
        panic!("{problem}");
    }
});
