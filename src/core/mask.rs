//! Safe renderings of request values for logs: AccessKey IDs masked, other values cut short
//! and stripped of control bytes. A rendering is kept inline ([`Shown`]), so a request's
//! record takes no heap for the values it shows.

#![deny(clippy::indexing_slicing)]

/// Longest rendering of a value in a log line, in characters.
const MAX_SHOWN: usize = 64;
/// The marker of a rendering cut short.
const CUT: &str = "…";
/// Room for the longest rendering: [`MAX_SHOWN`] ASCII characters and [`CUT`].
const SHOWN_BYTES: usize = MAX_SHOWN + CUT.len();

/// A rendering of a request value, held inline: printable ASCII (other bytes become `?`).
#[derive(Clone, Copy)]
pub struct Shown {
    len: u8,
    bytes: [u8; SHOWN_BYTES],
}

impl std::fmt::Debug for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Shown {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Shown {}

impl Shown {
    fn empty() -> Shown {
        Shown {
            len: 0,
            bytes: [0; SHOWN_BYTES],
        }
    }

    fn push(&mut self, text: &[u8]) {
        let at = usize::from(self.len);
        if let Some(room) = self.bytes.get_mut(at..at + text.len()) {
            room.copy_from_slice(text);
            self.len += text.len() as u8;
        }
    }

    /// Each byte as itself when printable ASCII, else `?`.
    fn push_printable(&mut self, value: &[u8]) {
        for &b in value {
            self.push(&[if b.is_ascii_graphic() { b } else { b'?' }]);
        }
    }

    /// An attacker-controlled value (an action, a host) rendered for a log line: printable
    /// ASCII only, at most 64 characters (longer ones end in `…`).
    pub fn printable(value: &[u8]) -> Shown {
        let mut shown = Shown::empty();
        shown.push_printable(value.get(..MAX_SHOWN).unwrap_or(value));
        if value.len() > MAX_SHOWN {
            shown.push(CUT.as_bytes());
        }
        shown
    }

    /// An AccessKey ID masked: `LTAI5tAbCdEfGhIjKlMnwxyz` → `LTAI****wxyz`. Keys under 12
    /// bytes keep at most their first two characters; a full ID never appears.
    pub fn masked_key(key: &[u8]) -> Shown {
        let mut shown = Shown::empty();
        let n = key.len();
        match (key.get(..4), key.get(n.saturating_sub(4)..), key.get(..2)) {
            (Some(first), Some(last), _) if n >= 12 => {
                shown.push_printable(first);
                shown.push(b"****");
                shown.push_printable(last);
            }
            (_, _, Some(first)) if n >= 6 => {
                shown.push_printable(first);
                shown.push(b"****");
            }
            _ => shown.push(b"****"),
        }
        shown
    }

    pub fn as_str(&self) -> &str {
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or_default();
        std::str::from_utf8(bytes).unwrap_or_default()
    }
}

/// Masks an AccessKey ID (see [`Shown::masked_key`]).
pub fn mask_key(key: &[u8]) -> String {
    Shown::masked_key(key).as_str().to_string()
}

/// Renders an attacker-controlled value for a log line (see [`Shown::printable`]).
pub fn printable(value: &[u8]) -> String {
    Shown::printable(value).as_str().to_string()
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
