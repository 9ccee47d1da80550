//! Splits a command line written as one string (a copied `curl …` command) into words, the
//! way a POSIX shell would for the quoting such commands use: `'…'`, `"…"`, `$'…'`,
//! backslash escapes and backslash-newline continuations.

fn ansi_c_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String, String> {
    let Some(c) = chars.next() else {
        return Err("unterminated $'…' quote".into());
    };
    Ok(match c {
        'n' => "\n".into(),
        'r' => "\r".into(),
        't' => "\t".into(),
        '0' => "\0".into(),
        'x' => {
            let mut hex = String::new();
            while hex.len() < 2 && chars.peek().is_some_and(char::is_ascii_hexdigit) {
                hex.extend(chars.next());
            }
            let code = u8::from_str_radix(&hex, 16).map_err(|_| "bad \\x escape in $'…'")?;
            char::from(code).to_string()
        }
        other => other.to_string(),
    })
}

/// The words of `text`.
pub fn split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some('\r') if chars.peek() == Some(&'\n') => {
                    chars.next();
                }
                Some(next) => {
                    word.push(next);
                    in_word = true;
                }
                None => return Err("the command ends with a backslash".into()),
            },
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(inner) => word.push(inner),
                        None => return Err("unterminated '…' quote".into()),
                    }
                }
            }
            '$' if chars.peek() == Some(&'\'') => {
                chars.next();
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some('\\') => word.push_str(&ansi_c_escape(&mut chars)?),
                        Some(inner) => word.push(inner),
                        None => return Err("unterminated $'…' quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\' | '$' | '`')) => word.push(e),
                            Some('\n') => {}
                            Some(other) => {
                                word.push('\\');
                                word.push(other);
                            }
                            None => return Err("unterminated \"…\" quote".into()),
                        },
                        Some(inner) => word.push(inner),
                        None => return Err("unterminated \"…\" quote".into()),
                    }
                }
            }
            other => {
                word.push(other);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_a_shell() {
        let cases: &[(&str, &[&str])] = &[
            (
                "curl -X POST 'http://h/?a=b&c=d'",
                &["curl", "-X", "POST", "http://h/?a=b&c=d"],
            ),
            ("a  \"b c\" d\\ e", &["a", "b c", "d e"]),
            (
                "curl \\\n  -H 'x: y' \\\r\n  url",
                &["curl", "-H", "x: y", "url"],
            ),
            ("\"a\\\"b\\n\"", &["a\"b\\n"]),
            ("$'a\\tb\\x41\\''", &["a\tbA'"]),
            ("''", &[""]),
            ("a'b'\"c\"", &["abc"]),
            ("", &[]),
        ];
        for (text, want) in cases {
            assert_eq!(split(text).unwrap(), *want, "{text:?}");
        }
        for bad in ["'open", "\"open", "end\\", "$'open"] {
            assert!(split(bad).is_err(), "{bad:?}");
        }
    }
}
