//! `akguard hash` and `akguard keys`: hashed entries match the key set's own SHA-256, built
//! configurations pass the filter's validation and hold every key, and malformed IDs are
//! reported by line with nothing printed.

mod cli_support;

use akguard::core::config::{self, Mode};
use akguard::core::keyset::sha256;
use cli_support::{expect_code, run_in, scratch, write};

const KEYS: [&str; 3] = [
    "LTAI5tLeakedKey000000001",
    "STS.LeakedTemporaryKey01",
    "LTAI5tLeakedKey000000002",
];

fn hex_entry(key: &str) -> String {
    let hex: String = sha256(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

fn key_file() -> String {
    format!(
        "# leaked keys, incident 42\n{}\n\n  {}  \r\n{}\n",
        KEYS[0], KEYS[1], KEYS[2]
    )
}

#[test]
fn hash_prints_one_entry_per_key_in_order() {
    let dir = scratch("hash-file");
    write(&dir, "leaked.txt", key_file());
    let want: String = KEYS.iter().map(|k| hex_entry(k) + "\n").collect();
    let from_file = run_in(&dir, &["hash", "leaked.txt"], None);
    expect_code(&from_file, 0, "hash a file");
    assert_eq!(from_file.stdout, want);
    assert_eq!(from_file.stderr, "");
    let from_stdin = run_in(&dir, &["hash"], Some(key_file().as_bytes()));
    expect_code(&from_stdin, 0, "hash stdin");
    assert_eq!(from_stdin.stdout, want);
    let again = run_in(&dir, &["hash", "-"], Some(want.as_bytes()));
    expect_code(&again, 0, "sha256 entries are kept");
    assert_eq!(again.stdout, want);

    let entries: Vec<&str> = from_file.stdout.lines().collect();
    let loaded = config::load(
        serde_json::json!({ "leaked_keys": entries })
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    for key in KEYS {
        assert!(loaded.policy.keys.contains(key.as_bytes()), "{key}");
    }
    assert!(!loaded.policy.keys.contains(b"LTAI5tLeakedKey000000003"));
}

#[test]
fn hash_rejects_malformed_ids_by_line() {
    let dir = scratch("hash-bad");
    write(
        &dir,
        "leaked.txt",
        format!(
            "{}\nLTAI5t-dash\n{}\nsha256:1234\nkey with space\n",
            KEYS[0], KEYS[1]
        ),
    );
    let got = run_in(&dir, &["hash", "leaked.txt"], None);
    expect_code(&got, 1, "malformed IDs");
    assert_eq!(got.stdout, "");
    assert_eq!(
        got.stderr,
        "leaked.txt: line 2: an AccessKey ID holds only ASCII letters, digits and '.', found '-'
leaked.txt: line 4: a sha256 entry must be \"sha256:\" followed by 64 lowercase hex digits, found 4 hex digits
leaked.txt: line 5: an AccessKey ID holds only ASCII letters, digits and '.', found ' ': one ID an entry, and nothing else
"
    );
    let long = "A".repeat(300);
    let got = run_in(&dir, &["hash"], Some(long.as_bytes()));
    expect_code(&got, 1, "overlong ID");
    assert_eq!(
        got.stderr,
        "stdin: line 1: an AccessKey ID is at most 256 characters\n"
    );
    let got = run_in(&dir, &["hash", "missing.txt"], None);
    expect_code(&got, 1, "missing file");
    assert!(got.stderr.starts_with("akguard: missing.txt: "));
}

#[test]
fn keys_builds_a_valid_hashed_configuration() {
    let dir = scratch("keys-hash");
    write(&dir, "leaked.txt", key_file() + KEYS[0] + "\n");
    let got = run_in(
        &dir,
        &[
            "keys",
            "--hash",
            "--mode",
            "shadow",
            "--hold-headers",
            "--max-body-bytes",
            "65536",
            "leaked.txt",
        ],
        None,
    );
    expect_code(&got, 0, "keys --hash");
    for key in KEYS {
        assert!(!got.stdout.contains(key), "plaintext {key} in the output");
    }
    let mut sorted: Vec<String> = KEYS.iter().map(|k| hex_entry(k)).collect();
    sorted.sort();
    let value: serde_json::Value = serde_json::from_str(&got.stdout).unwrap();
    assert_eq!(value["leaked_keys"], serde_json::json!(sorted));
    let loaded = config::load(got.stdout.as_bytes()).unwrap();
    let p = &loaded.policy;
    assert_eq!((p.keys_given, p.keys.len()), (3, 3));
    assert_eq!(p.mode, Mode::Shadow);
    assert!(p.hold_headers && !p.deny_all_calls);
    assert_eq!(p.max_body_bytes, 65536);
    for key in KEYS {
        assert!(p.keys.contains(key.as_bytes()), "{key}");
    }

    write(&dir, "akguard.json", &got.stdout);
    let validated = run_in(&dir, &["validate", "akguard.json"], None);
    expect_code(&validated, 0, "validate the built configuration");
}

#[test]
fn keys_writes_plain_ids_sorted_once_each() {
    let dir = scratch("keys-plain");
    let got = run_in(
        &dir,
        &["keys", "--deny-all-calls"],
        Some(format!("{}\n{}\n{}\n", KEYS[2], KEYS[0], KEYS[2]).as_bytes()),
    );
    expect_code(&got, 0, "keys plain");
    assert_eq!(
        got.stdout,
        format!(
            "{{\n  \"leaked_keys\": [\n    \"{}\",\n    \"{}\"\n  ],\n  \"mode\": \"enforce\",\n  \"deny_all_calls\": true\n}}\n",
            KEYS[0], KEYS[2]
        )
    );
    let empty = run_in(&dir, &["keys"], Some(b"# nothing yet\n"));
    expect_code(&empty, 0, "empty list");
    assert_eq!(
        empty.stdout,
        "{\n  \"leaked_keys\": [],\n  \"mode\": \"enforce\"\n}\n"
    );
}

#[test]
fn keys_packed_builds_a_compact_block_that_holds_every_key() {
    let dir = scratch("keys-packed");
    let got = run_in(&dir, &["keys", "--packed"], Some(key_file().as_bytes()));
    expect_code(&got, 0, "keys --packed");
    for key in KEYS {
        assert!(!got.stdout.contains(key), "the packed output shows {key}");
    }
    let value: serde_json::Value = serde_json::from_str(&got.stdout).unwrap();
    assert!(value.get("leaked_keys").is_none());
    let blocks: Vec<&str> = value["leaked_keys_packed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    assert_eq!(
        blocks,
        akguard::core::packed::encode_entries_in_blocks(KEYS).unwrap()
    );
    let policy = config::load(got.stdout.as_bytes()).unwrap().policy;
    assert_eq!(policy.keys.len(), KEYS.len());
    for key in KEYS {
        assert!(
            policy.keys.contains(key.as_bytes()),
            "{key} is not in the packed set"
        );
    }
    assert!(!policy.keys.contains(b"LTAI5tCleanKey0000000001"));
    // A set larger than a block comes out as several blocks, every key in them.
    let many: Vec<String> = (0..13_000).map(|i| format!("LTAI5tMany{i:014}")).collect();
    let got = run_in(
        &dir,
        &["keys", "--packed"],
        Some(many.join("\n").as_bytes()),
    );
    expect_code(&got, 0, "keys --packed, 13,000 keys");
    let value: serde_json::Value = serde_json::from_str(&got.stdout).unwrap();
    assert_eq!(value["leaked_keys_packed"].as_array().unwrap().len(), 3);
    let policy = config::load(got.stdout.as_bytes()).unwrap().policy;
    assert_eq!(policy.keys.len(), many.len());
    assert!(many.iter().all(|k| policy.keys.contains(k.as_bytes())));
    let both = run_in(
        &dir,
        &["keys", "--packed", "--hash"],
        Some(key_file().as_bytes()),
    );
    expect_code(&both, 2, "--packed with --hash");
}

#[test]
fn keys_rejects_bad_input_and_bad_settings() {
    let dir = scratch("keys-bad");
    let got = run_in(
        &dir,
        &["keys", "--hash"],
        Some(b"LTAI5tGood000001\nbad/key\n"),
    );
    expect_code(&got, 1, "malformed ID");
    assert_eq!(got.stdout, "");
    assert_eq!(
        got.stderr,
        "stdin: line 2: an AccessKey ID holds only ASCII letters, digits and '.', found '/'\n"
    );
    let got = run_in(
        &dir,
        &["keys", "--max-body-bytes", "0"],
        Some(b"LTAI5tGood000001\n"),
    );
    expect_code(&got, 1, "max_body_bytes 0");
    assert_eq!(
        got.stderr,
        "akguard: the built configuration is rejected: max_body_bytes: must be between 1 and 67108864, found 0\n"
    );
    assert_eq!(got.stdout, "");
    for args in [
        &["keys", "--mode", "block"][..],
        &["keys", "--max-body-bytes", "-1"][..],
        &["hash", "a", "b"][..],
    ] {
        let got = run_in(&dir, args, None);
        expect_code(&got, 2, &format!("{args:?}"));
    }
}

#[test]
fn help_is_given_for_both() {
    let dir = scratch("keys-help");
    for (command, wanted) in [("hash", "sha256:<hex>"), ("keys", "--hash")] {
        let got = run_in(&dir, &[command, "--help"], None);
        expect_code(&got, 0, command);
        assert!(
            got.stdout.contains(wanted),
            "{command} --help:\n{}",
            got.stdout
        );
    }
}
