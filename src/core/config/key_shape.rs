//! What an AccessKey ID looks like, and the likely mistake when an entry cannot be one.
//!
//! Alibaba Cloud documents no length. Permanent IDs are `LTAI` and letters and digits: 20 in
//! the documentation's examples, 12 in older keys, 16 to 21 in what secret scanners match;
//! temporary (STS) IDs are `STS.` and letters and digits; the oldest IDs are 16 letters and
//! digits without a prefix. An AccessKey Secret is 30 letters and digits. An entry that
//! cannot be an ID is rejected with the mistake it most likely is (a digest without its
//! `sha256:` prefix, a miscased prefix, whitespace, quotes, a secret or an `ID:secret` pair);
//! one that is an ID of an unusual shape is accepted with a warning. Checked byte by byte,
//! without allocating, for each of up to millions of entries.

/// Longest accepted AccessKey ID.
pub const MAX_KEY_LEN: usize = 256;

const LTAI: &[u8] = b"LTAI";
const STS: &[u8] = b"STS.";
/// Letters and digits after `LTAI` that no warning is given for.
const LTAI_USUAL: [std::ops::RangeInclusive<usize>; 2] = [12..=12, 16..=21];
/// Letters and digits of an ID without a prefix, as the oldest keys are.
const PLAIN_USUAL: usize = 16;
/// Letters and digits of an AccessKey Secret.
const SECRET_LEN: usize = 30;

/// What is unusual about an accepted AccessKey ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unusual {
    /// `LTAI` followed by an unusual number of letters and digits.
    LtaiLength,
    /// `ltai`, `Sts.`, …: a prefix in other case than Alibaba Cloud's.
    PrefixCase,
    /// A `.` elsewhere than in the `STS.` prefix.
    Dot,
    /// No `LTAI` or `STS.` prefix, and not 16 characters.
    NoPrefix,
}

impl Unusual {
    /// The warning for an entry of this shape.
    pub fn describe(self) -> &'static str {
        match self {
            Unusual::LtaiLength => {
                "LTAI followed by an unusual number of letters and digits (IDs have 12 or 16 to 21): check the ID is whole"
            }
            Unusual::PrefixCase => {
                "the prefix is not in Alibaba Cloud's case (LTAI, STS.): IDs compare exactly, check it"
            }
            Unusual::Dot => "a '.' outside an STS. prefix: check the ID",
            Unusual::NoPrefix => {
                "neither LTAI…, STS.… nor an older 16-character ID: check it is an AccessKey ID"
            }
        }
    }
}

fn starts_with_ignore_case(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes.len() >= prefix.len() && bytes[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// The likely mistake behind a character no AccessKey ID holds: `base` says which character.
fn bad_character(entry: &str, bad: char) -> String {
    let base = format!("an AccessKey ID holds only ASCII letters, digits and '.', found {bad:?}");
    let hint = if entry.starts_with(char::is_whitespace) || entry.ends_with(char::is_whitespace) {
        ": remove the whitespace around the ID"
    } else if bad.is_whitespace() {
        ": one ID an entry, and nothing else"
    } else if matches!(bad, '"' | '\'' | '`' | '“' | '”' | '‘' | '’') {
        ": the quotes were pasted with the ID; give the ID alone"
    } else if matches!(bad, ':' | ',' | ';' | '=' | '/')
        && starts_with_ignore_case(entry.as_bytes(), LTAI)
    {
        ": an ID pasted with its secret or a second value? give the ID alone"
    } else {
        ""
    };
    format!("{base}{hint}")
}

/// Checks that an entry (without a `sha256:` prefix) can be an AccessKey ID: `Ok` with what is
/// unusual about it, or the likely mistake.
pub fn check_key(entry: &str) -> Result<Option<Unusual>, String> {
    let bytes = entry.as_bytes();
    if bytes.is_empty() {
        return Err("an AccessKey ID must not be empty".into());
    }
    if bytes.len() > MAX_KEY_LEN {
        return Err(format!(
            "an AccessKey ID is at most {MAX_KEY_LEN} characters"
        ));
    }
    if starts_with_ignore_case(bytes, b"sha256:") {
        return Err(format!(
            "a digest entry starts with lowercase \"sha256:\", found {:?}",
            &entry[..7]
        ));
    }
    // One pass: the first character no ID holds, and the dots.
    let mut dots = 0usize;
    for (at, &byte) in bytes.iter().enumerate() {
        if byte == b'.' {
            dots += 1;
        } else if !byte.is_ascii_alphanumeric() {
            // Every byte before is ASCII: `at` starts a character.
            let bad = entry[at..].chars().next().unwrap_or('?');
            return Err(bad_character(entry, bad));
        }
    }
    if bytes.len() == 64 && bytes.iter().all(u8::is_ascii_hexdigit) {
        return Err(
            "64 hex digits: a SHA-256 digest without its prefix, which matches no AccessKey ID; write \"sha256:\" and the digest in lowercase"
                .into(),
        );
    }
    if let Some(rest) = bytes.strip_prefix(STS) {
        if rest.is_empty() {
            return Err(
                "\"STS.\" alone: an STS AccessKey ID goes on with letters and digits".into(),
            );
        }
        return Ok((dots > 1).then_some(Unusual::Dot));
    }
    if bytes.len() == SECRET_LEN && dots == 0 && !starts_with_ignore_case(bytes, LTAI) {
        return Err(
            "30 letters and digits without a prefix: the shape of an AccessKey Secret, not of an ID (LTAI…, STS.…); give the ID, and rotate a leaked secret's key"
                .into(),
        );
    }
    if dots > 0 {
        return Ok(Some(Unusual::Dot));
    }
    if let Some(rest) = bytes.strip_prefix(LTAI) {
        let usual = LTAI_USUAL.iter().any(|range| range.contains(&rest.len()));
        return Ok((!usual).then_some(Unusual::LtaiLength));
    }
    if starts_with_ignore_case(bytes, LTAI) || starts_with_ignore_case(bytes, b"STS") {
        return Ok(Some(Unusual::PrefixCase));
    }
    Ok((bytes.len() != PLAIN_USUAL).then_some(Unusual::NoPrefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usual_ids_pass_without_a_warning() {
        for id in [
            "LTAI5tAb0000000000123456",
            "LTAI4FixJvEPgvZ6g5cCabcd",
            "LTAI0123456789ab",
            "LTAI5tExampleLeaked0001",
            "LTAI5tGoodKey000000000002",
            "LTAIabcdefghijkl",
            "STS.NUgYrLnoC37mZZCNnAbCdEfGh",
            "STS.abc",
            "AbCdEf0123456789",
        ] {
            assert_eq!(check_key(id), Ok(None), "{id}");
        }
    }

    #[test]
    fn unusual_ids_pass_with_a_warning() {
        let cases = [
            ("LTAIx", Unusual::LtaiLength),
            ("LTAI5tHashedKey01", Unusual::LtaiLength),
            ("LTAI0123456789abcdef01234567", Unusual::LtaiLength),
            ("ltai5tAb0000000000123456", Unusual::PrefixCase),
            ("Sts0123456789", Unusual::PrefixCase),
            ("STS.abc.def", Unusual::Dot),
            ("LTAI5t.Ab00000000012345", Unusual::Dot),
            ("Key0001", Unusual::NoPrefix),
            ("AbCdEf01234567890", Unusual::NoPrefix),
        ];
        for (id, unusual) in cases {
            assert_eq!(check_key(id), Ok(Some(unusual)), "{id}");
        }
    }

    #[test]
    fn mistakes_are_named() {
        let digest = "ca3c6321754a4fb2cfc27855b6d122984140a024f0cfa8437130229ab676227a";
        let cases = [
            (digest.to_string(), "a SHA-256 digest without its prefix"),
            (digest.to_uppercase(), "a SHA-256 digest without its prefix"),
            (
                format!("SHA256:{digest}"),
                "starts with lowercase \"sha256:\", found \"SHA256:\"",
            ),
            (format!("Sha256:{digest}"), "found \"Sha256:\""),
            (
                " LTAI5tAb0000000000123456".into(),
                "found ' ': remove the whitespace around the ID",
            ),
            (
                "LTAI5tAb0000000000123456\t".into(),
                "found '\\t': remove the whitespace",
            ),
            (
                "LTAI5tAb00000 00000123456".into(),
                "found ' ': one ID an entry",
            ),
            (
                "\"LTAI5tAb0000000000123456\"".into(),
                "the quotes were pasted with the ID",
            ),
            (
                "'LTAI5tAb0000000000123456'".into(),
                "the quotes were pasted",
            ),
            (
                "LTAI5tAb0000000000123456:abcdefghijABCDEFGHIJ0123456789".into(),
                "pasted with its secret",
            ),
            (
                "abcdefghijABCDEFGHIJ0123456789".into(),
                "the shape of an AccessKey Secret",
            ),
            ("LTAI5t-Example".into(), "found '-'"),
            ("STS.".into(), "\"STS.\" alone"),
            (String::new(), "must not be empty"),
            ("A".repeat(257), "at most 256"),
        ];
        for (entry, problem) in cases {
            let err = check_key(&entry).expect_err(&entry);
            assert!(err.contains(problem), "{entry}: {err}");
        }
        // The message of a plain bad character stays as it was.
        assert_eq!(
            check_key("LTAI5t-Example").unwrap_err(),
            "an AccessKey ID holds only ASCII letters, digits and '.', found '-'"
        );
    }
}
