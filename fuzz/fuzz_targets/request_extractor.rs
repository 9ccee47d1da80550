//! Raw HTTP/1.1 requests (or any bytes) through the request extractor and the whole check:
//! no panic, no hang, the same verdict whatever the body chunking, and a deny for every
//! request whose plain reading calls a listed operation with the leaked key.

#![no_main]

use akguard::core::authorization::keys_in;
use akguard::core::endpoints::normalize_host;
use akguard::core::request::{body_may_carry_params, keys_in_head, Evidence};
use akguard_fuzz::{plainly_leaked_listed_call, policy, verdict, wire};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    keys_in(data, &mut |_| {});
    let _ = normalize_host(data);
    let Some(policy) = policy() else { return };
    let Some(request) = wire::parse(data) else {
        return;
    };
    let headers = request.headers();
    keys_in_head(&headers, &mut |_, _| {});
    let mut evidence = Evidence::default();
    evidence.read_head(&headers);
    let _ = body_may_carry_params(&headers);
    let body = request.body.as_slice();
    let whole: Vec<&[u8]> = if body.is_empty() { vec![] } else { vec![body] };
    let want = verdict(&policy, &headers, &whole);
    if plainly_leaked_listed_call(&policy, &headers, body) {
        assert!(
            want.starts_with("deny"),
            "a plain leaked listed call got {want}"
        );
    }
    if body.len() > 1 {
        let at = usize::from(data[0]) % body.len();
        let (a, b) = body.split_at(at);
        assert_eq!(verdict(&policy, &headers, &[a, b]), want, "split at {at}");
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(verdict(&policy, &headers, &bytes), want, "byte chunks");
    }
});
