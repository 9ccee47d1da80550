//! Differential check of the parameter scanner against `url::form_urlencoded`: on every input
//! (hand-picked edge cases, every query string and form body of the evasion suite, and the
//! form scanner's fuzz corpus under `fuzz/seeds/form_scanner/`), the scanner's once-decoded
//! readings are exactly the reference decoder's, read once with `&` and once with `&` and `;`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod evasion;

use evasion::reference::disagreement;
use evasion::{load_cases, wire, Variant};
use std::path::Path;

const EDGE_CASES: &[&[u8]] = &[
    b"",
    b"Action",
    b"Action=",
    b"=Action",
    b"Action==RunInstances",
    b"&&Action=RunInstances&&",
    b"Action=A;x=1",
    b"a=1;Action=RunInstances;b",
    b";;Action;;",
    b"Act%69on=%52un",
    b"Action=%zz%4%",
    b"Action=%%41",
    b"Action=%2541",
    b"Action=a+b%20c",
    b"+Action+=x",
    b"%20Action%09=x",
    b"Action%00=x",
    b"Action=%ff%fe%80",
    b"Action=\xff\xfe",
    b"\xffAction=x",
    b"AccessKeyId=LTAI%2Fx&OSSAccessKeyId=y&X-Amz-Credential=z%2F1",
    b"Format=xml&FORMAT=JSON&version=1",
    b"Action=1#frag&Action=2",
    b"Action%00=x&AccessKeyId%00junk=y",
    // Found by the form scanner fuzz target: a name longer than the scanner keeps that reads
    // as `Action` up to a NUL.
    b"ces20&%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20\0\0\0\0\0\0\0\0\0\0\0\0\0\0\r\x0f\0\0\0\x07Action",
];

fn assert_agrees(input: &[u8], origin: &str) {
    if let Some(problem) = disagreement(input) {
        panic!("{origin}: {problem}");
    }
}

#[test]
fn scanner_agrees_with_url_form_urlencoded_on_edge_cases() {
    for input in EDGE_CASES {
        assert_agrees(input, "edge case");
    }
}

#[test]
fn scanner_agrees_with_url_form_urlencoded_on_the_evasion_suite() {
    let mut checked = 0;
    for case in load_cases() {
        for variant in Variant::BOTH {
            let request = wire::parse(&case.wire(variant)).unwrap();
            if let Some(q) = request.target.iter().position(|&b| b == b'?') {
                assert_agrees(&request.target[q + 1..], &case.title(variant));
                checked += 1;
            }
            assert_agrees(&request.body, &case.title(variant));
        }
    }
    assert!(checked > 100, "only {checked} query strings");
}

#[test]
fn scanner_agrees_with_url_form_urlencoded_on_the_fuzz_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/form_scanner");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("read fuzz/seeds/form_scanner") {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        // The form scanner target's first byte chooses the chunking; the rest is the input.
        let input = data.get(1..).unwrap_or_default();
        assert_agrees(input, &path.display().to_string());
        checked += 1;
    }
    assert!(checked >= 100, "only {checked} corpus inputs");
}
