//! Percent-decoding of query and form parameters (`%XX` and `+` as space), including the
//! repeated decoding that guards against double-encoded names and values.

#![deny(clippy::indexing_slicing)]

/// Most decoding rounds applied to one name or value. A server decodes once; later rounds
/// only add readings, so a double-encoded action or key is still recognised.
pub const MAX_DECODE_ROUNDS: usize = 3;

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// True when `input` holds anything `decode` would change.
pub fn needs_decoding(input: &[u8]) -> bool {
    memchr::memchr2(b'%', b'+', input).is_some()
}

/// Decodes `%XX` sequences and `+` (as a space) once. A `%` not followed by two hex digits is
/// kept as it is, as form decoders commonly do.
pub fn decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&byte) = input.get(i) {
        if byte == b'+' {
            out.push(b' ');
            i += 1;
            continue;
        }
        if byte == b'%' {
            if let (Some(hi), Some(lo)) = (
                input.get(i + 1).copied().and_then(hex_value),
                input.get(i + 2).copied().and_then(hex_value),
            ) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(byte);
        i += 1;
    }
    out
}

/// Every reading of a raw name or value: decoded once, then decoded again while a `%XX`
/// sequence remains (up to [`MAX_DECODE_ROUNDS`]). The first reading is what a server that
/// decodes once sees; the others are kept so that no reading escapes a check.
pub fn readings(raw: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(1);
    let mut current = if needs_decoding(raw) {
        decode(raw)
    } else {
        raw.to_vec()
    };
    for _ in 1..MAX_DECODE_ROUNDS {
        if !current.contains(&b'%') {
            break;
        }
        let next = decode(&current);
        if next == current {
            break;
        }
        out.push(std::mem::replace(&mut current, next));
    }
    out.push(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_and_plus() {
        let cases: &[(&str, &[u8])] = &[
            ("RunInstances", b"RunInstances"),
            ("%52unInstances", b"RunInstances"),
            ("Act%69on", b"Action"),
            ("a+b%20c", b"a b c"),
            ("%2a%2A", b"**"),
            ("100%", b"100%"),
            ("%zz%4", b"%zz%4"),
            ("%00%ff", &[0, 0xff]),
        ];
        for (input, want) in cases {
            assert_eq!(decode(input.as_bytes()), *want, "decoding {input}");
        }
    }

    #[test]
    fn readings_cover_double_encoding() {
        let got = readings(b"%2552unInstances");
        assert_eq!(
            got,
            vec![b"%52unInstances".to_vec(), b"RunInstances".to_vec()]
        );
        assert_eq!(readings(b"plain"), vec![b"plain".to_vec()]);
        let triple = readings(b"%252552");
        assert_eq!(triple.len(), MAX_DECODE_ROUNDS);
        assert_eq!(triple[0], b"%2552".to_vec());
    }
}
