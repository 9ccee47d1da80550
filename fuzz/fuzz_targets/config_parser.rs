//! The configuration parser on any bytes: no panic, the same answer twice, and an accepted
//! configuration checks a request without panicking.

#![no_main]

use akguard::core::check::RequestCheck;
use akguard::core::config::load;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let first = load(data);
    let second = load(data);
    match (&first, &second) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.warnings, b.warnings);
            let headers = vec![
                (":authority".to_string(), b"ecs.aliyuncs.com".to_vec()),
                (
                    ":path".to_string(),
                    b"/?Action=RunInstances&AccessKeyId=LTAI5tLeakedKey000000001".to_vec(),
                ),
                (
                    "content-type".to_string(),
                    b"application/x-www-form-urlencoded".to_vec(),
                ),
            ];
            let started = RequestCheck::start(&a.policy, &headers, false);
            if let Some(mut check) = started.check {
                let _ = check.body(&a.policy, b"AccessKeyId=x&Action=y", true);
            }
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("the same configuration loaded once and failed once"),
    }
});
