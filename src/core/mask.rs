//! Safe renderings of request values for logs: AccessKey IDs masked, other values cut short
//! and stripped of control bytes.

/// Masks an AccessKey ID: `LTAI5tAbCdEfGhIjKlMnwxyz` → `LTAI****wxyz`. Keys under 12 bytes
/// keep at most their first two characters; a full ID never appears.
pub fn mask_key(key: &[u8]) -> String {
    let printable = |bytes: &[u8]| -> String {
        bytes
            .iter()
            .map(|&b| if b.is_ascii_graphic() { b as char } else { '?' })
            .collect()
    };
    match key.len() {
        n if n >= 12 => format!("{}****{}", printable(&key[..4]), printable(&key[n - 4..])),
        n if n >= 6 => format!("{}****", printable(&key[..2])),
        _ => "****".to_string(),
    }
}

/// Longest rendering of a value in a log line.
const MAX_SHOWN: usize = 64;

/// Renders an attacker-controlled value (an action, a host) for a log line: printable ASCII
/// only (others become `?`), at most 64 characters (longer ones end in `…`).
pub fn printable(value: &[u8]) -> String {
    let mut out: String = value
        .iter()
        .take(MAX_SHOWN)
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '?' })
        .collect();
    if value.len() > MAX_SHOWN {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keys_of_every_length() {
        let cases: &[(&[u8], &str)] = &[
            (b"LTAI5tAbCdEfGhIjKlMnwxyz", "LTAI****wxyz"),
            (b"STS.NUgYrLnoC37mZZCNnAbCdEfGh", "STS.****EfGh"),
            (b"LTAI12345678", "LTAI****5678"),
            (b"LTAI1234567", "LT****"),
            (b"abcdef", "ab****"),
            (b"abc", "****"),
            (b"", "****"),
            (b"LT\nI5tAbCdEfGhIjKlMnwx\0z", "LT?I****wx?z"),
        ];
        for (key, want) in cases {
            assert_eq!(mask_key(key), *want);
        }
    }

    #[test]
    fn printable_strips_and_cuts() {
        assert_eq!(printable(b"RunInstances"), "RunInstances");
        assert_eq!(printable(b"Run\r\nX y"), "Run??X?y");
        let long = printable(&[b'a'; 100]);
        assert_eq!(long.chars().count(), MAX_SHOWN + 1);
    }
}
