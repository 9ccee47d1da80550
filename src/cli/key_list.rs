//! A plain list of AccessKey IDs, one a line (blank lines and `#` comments skipped), checked
//! entry by entry by the configuration's own rules: each batch of entries is handed to
//! `core::config::load` as `leaked_keys`, and a rejected entry is reported by its line.

use super::config_source::{input_name, read_input};
use super::CliError;
use akguard::core::config;
use akguard::core::keyset::sha256;
use std::path::Path;

/// Entries checked per configuration load.
const BATCH: usize = 4096;
/// Problems reported before giving up.
const MAX_PROBLEMS: usize = 100;

/// One entry and the line it came from (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub line: usize,
    pub text: String,
}

/// The entries of a key list.
pub fn entries(bytes: &[u8]) -> Vec<Entry> {
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .filter_map(|(index, line)| {
            let text = String::from_utf8_lossy(line).trim().to_string();
            (!text.is_empty() && !text.starts_with('#')).then_some(Entry {
                line: index + 1,
                text,
            })
        })
        .collect()
}

/// Index `i` of a `leaked_keys[i]` path.
fn entry_index(path: &str) -> Option<usize> {
    path.strip_prefix("leaked_keys[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// Every entry the configuration would reject, as `line N: problem`.
pub fn problems(entries: &[Entry]) -> Vec<String> {
    let mut found = Vec::new();
    let mut start = 0;
    while start < entries.len() && found.len() < MAX_PROBLEMS {
        let end = (start + BATCH).min(entries.len());
        let texts: Vec<&str> = entries[start..end]
            .iter()
            .map(|e| e.text.as_str())
            .collect();
        let json = serde_json::json!({ "leaked_keys": texts }).to_string();
        match config::load(json.as_bytes()) {
            Ok(_) => start = end,
            Err(error) => match entry_index(&error.path) {
                Some(i) if start + i < end => {
                    found.push(format!(
                        "line {}: {}",
                        entries[start + i].line,
                        error.problem
                    ));
                    start += i + 1;
                }
                _ => {
                    found.push(format!("line {}: {error}", entries[start].line));
                    start = end;
                }
            },
        }
    }
    if found.len() >= MAX_PROBLEMS && start < entries.len() {
        found.push(format!(
            "stopped after {MAX_PROBLEMS} problems; later lines were not checked"
        ));
    }
    found
}

/// The entries accepted with an unusual shape, as `line N: warning` (at most
/// [`MAX_PROBLEMS`], then how many more).
pub fn unusual(entries: &[Entry]) -> Vec<String> {
    let found: Vec<String> = entries
        .iter()
        .filter_map(|e| match config::read_key_entry(&e.text) {
            Ok((_, Some(shape))) => Some(format!("line {}: {}", e.line, shape.describe())),
            _ => None,
        })
        .collect();
    let more = found.len().saturating_sub(MAX_PROBLEMS);
    let mut shown: Vec<String> = found.into_iter().take(MAX_PROBLEMS).collect();
    if more > 0 {
        shown.push(format!("{more} more entries of unusual shapes"));
    }
    shown
}

/// The entries of the key list at `path` ("-": stdin), or none when some are malformed:
/// each problem is then printed on stderr, with the list's name and the line. Entries of an
/// unusual shape are accepted with a warning each.
pub fn read_checked(path: &Path) -> Result<Option<Vec<Entry>>, CliError> {
    let entries = entries(&read_input(path)?);
    let problems = problems(&entries);
    for problem in &problems {
        eprintln!("{}: {problem}", input_name(path));
    }
    if problems.is_empty() {
        for warning in unusual(&entries) {
            eprintln!("{}: warning: {warning}", input_name(path));
        }
    }
    Ok(problems.is_empty().then_some(entries))
}

/// `sha256:<hex>` of a plain AccessKey ID; a `sha256:` entry is kept as it is.
pub fn hashed(entry: &str) -> String {
    if entry.starts_with("sha256:") {
        return entry.to_string();
    }
    let hex: String = sha256(entry.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lines_and_reports_problems_by_line() {
        let list = entries(b"# leaked in incident 42\nLTAI5tGoodKey000000000001\r\n\nbad-key\n  LTAI5tGoodKey000000000002  \nsha256:xyz\n");
        let lines: Vec<usize> = list.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 4, 5, 6]);
        assert_eq!(list[0].text, "LTAI5tGoodKey000000000001");
        let found = problems(&list);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("line 4: an AccessKey ID holds only"),
            "{found:?}"
        );
        assert!(found[1].starts_with("line 6: a sha256 entry"), "{found:?}");
    }

    #[test]
    fn unusual_shapes_are_warned_by_line() {
        let list = entries(
            b"LTAI5tGoodKey000000000001
LTAIshort
STS.abc
Key0001
",
        );
        assert!(problems(&list).is_empty());
        let found = unusual(&list);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("line 2: LTAI followed by"),
            "{found:?}"
        );
        assert!(found[1].starts_with("line 4: neither LTAI"), "{found:?}");
    }

    #[test]
    fn problems_past_a_batch_keep_their_lines() {
        let mut text = String::new();
        for i in 0..(BATCH + 10) {
            text.push_str(&format!("LTAI5tKey{i:015}\n"));
        }
        text.push_str("x y\n");
        assert_eq!(
            problems(&entries(text.as_bytes())),
            [format!(
                "line {}: an AccessKey ID holds only ASCII letters, digits and '.', found ' ': one ID an entry, and nothing else",
                BATCH + 11
            )]
        );
    }

    #[test]
    fn hashes_like_the_key_set() {
        assert_eq!(
            hashed("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hashed("sha256:00"), "sha256:00");
    }
}
