//! `akguard feed`: a key made by `keygen` signs a list into a document the filter's own
//! reader accepts with the printed public key, and refuses with any other; bad lists and
//! existing key files are reported.

mod cli_support;

use akguard::core::feed;
use cli_support::{expect_code, run_in, scratch, write};

const KEYS: &str = "# incident 7\nLTAI5tFeedKey000000000001\nLTAI5tFeedKey000000000002\n";

#[test]
fn keygen_sign_and_verify_agree_with_the_filters_reader() {
    let dir = scratch("feed-sign");
    write(&dir, "leaked.txt", KEYS);
    let made = run_in(&dir, &["feed", "keygen", "feed.secret"], None);
    expect_code(&made, 0, "keygen");
    let public_text = made.stdout.trim().to_string();
    let public = feed::public_key(&public_text).unwrap();
    let again = run_in(&dir, &["feed", "keygen", "feed.secret"], None);
    expect_code(&again, 1, "keygen over an existing key");
    assert!(again.stderr.contains("feed.secret"), "{}", again.stderr);

    let signed = run_in(
        &dir,
        &[
            "feed",
            "sign",
            "--key",
            "feed.secret",
            "--version",
            "7",
            "--published",
            "1764672000",
            "leaked.txt",
        ],
        None,
    );
    expect_code(&signed, 0, "sign");
    let fed = feed::read(signed.stdout.as_bytes(), &public, Some(6)).unwrap();
    assert_eq!(
        (fed.header.version, fed.header.published, fed.entries),
        (7, 1_764_672_000, 2)
    );
    assert!(fed.keys.contains(b"LTAI5tFeedKey000000000002"));
    write(&dir, "feed.txt", &signed.stdout);

    let checked = run_in(
        &dir,
        &["feed", "verify", "--public-key", &public_text, "feed.txt"],
        None,
    );
    expect_code(&checked, 0, "verify");
    assert_eq!(checked.stdout, "version=7 published=1764672000 keys=2\n");
    let other = run_in(&dir, &["feed", "keygen", "other.secret"], None);
    let refused = run_in(
        &dir,
        &[
            "feed",
            "verify",
            "--public-key",
            other.stdout.trim(),
            "feed.txt",
        ],
        None,
    );
    expect_code(&refused, 1, "verify with another key");
    assert!(
        refused.stderr.contains("the signature does not verify"),
        "{}",
        refused.stderr
    );
}

#[test]
fn sign_reports_a_bad_list_by_line_and_prints_nothing() {
    let dir = scratch("feed-bad-list");
    write(&dir, "leaked.txt", "LTAI5tFeedKey000000000001\nnot a key\n");
    expect_code(&run_in(&dir, &["feed", "keygen", "k"], None), 0, "keygen");
    let signed = run_in(&dir, &["feed", "sign", "--key", "k", "leaked.txt"], None);
    expect_code(&signed, 1, "sign a bad list");
    assert_eq!(signed.stdout, "");
    assert!(
        signed.stderr.contains("leaked.txt: line 2"),
        "{}",
        signed.stderr
    );
    let unsigned = run_in(
        &dir,
        &["feed", "sign", "--key", "leaked.txt", "leaked.txt"],
        None,
    );
    expect_code(&unsigned, 1, "sign with a file that is not a key");
}
