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
    if input.len() < 16 {
        // A short value is looked at directly: cheaper than a vector search's set-up.
        return input.iter().any(|&b| b == b'%' || b == b'+');
    }
    memchr::memchr2(b'%', b'+', input).is_some()
}

/// Decodes `%XX` sequences and `+` (as a space) once. A `%` not followed by two hex digits is
/// kept as it is, as form decoders commonly do.
pub fn decode(input: &[u8]) -> Vec<u8> {
    let mut out = vec![0; input.len()];
    let len = decode_into(input, &mut out);
    out.truncate(len);
    out
}

/// One escape at `at` in `input` (a `+`, or a `%` and what follows): the byte it decodes to
/// and how many bytes it takes.
fn escape(input: &[u8], at: usize) -> (u8, usize) {
    let hex = |at: usize| input.get(at).copied().and_then(hex_value);
    match input.get(at) {
        Some(b'+') => (b' ', 1),
        _ => match (hex(at + 1), hex(at + 2)) {
            (Some(hi), Some(lo)) => (hi << 4 | lo, 3),
            _ => (b'%', 1),
        },
    }
}

/// Decodes `input` once into `out` (at least as long as `input`: decoding never lengthens);
/// returns the length written.
fn decode_into(input: &[u8], out: &mut [u8]) -> usize {
    if input.len() < 128 {
        decode_bytewise_into(input, out)
    } else {
        decode_runs_into(input, out)
    }
}

/// [`decode_into`] a byte at a time: for short inputs, where escapes are close together.
fn decode_bytewise_into(input: &[u8], out: &mut [u8]) -> usize {
    let (mut read, mut written) = (0, 0);
    while let (Some(&byte), Some(slot)) = (input.get(read), out.get_mut(written)) {
        let (decoded, width) = match byte {
            b'%' | b'+' => escape(input, read),
            plain => (plain, 1),
        };
        *slot = decoded;
        read += width;
        written += 1;
    }
    written
}

/// [`decode_into`] a run at a time: the runs without `%` or `+` are found a word at a time
/// and copied whole, for long inputs.
fn decode_runs_into(input: &[u8], out: &mut [u8]) -> usize {
    let (mut read, mut written) = (0, 0);
    loop {
        let rest = input.get(read..).unwrap_or_default();
        let run = memchr::memchr2(b'%', b'+', rest).unwrap_or(rest.len());
        if let (Some(to), Some(from)) = (out.get_mut(written..written + run), rest.get(..run)) {
            to.copy_from_slice(from);
        }
        read += run;
        written += run;
        if read >= input.len() {
            return written;
        }
        let (decoded, width) = escape(input, read);
        if let Some(slot) = out.get_mut(written) {
            *slot = decoded;
        }
        read += width;
        written += 1;
    }
}

/// Passes every reading of a raw name or value to `out`, with its round (0 for the first):
/// decoded once, then decoded again while a `%XX` sequence remains (up to
/// [`MAX_DECODE_ROUNDS`]). The first reading is what a server that decodes once sees; the
/// others are passed so that no reading escapes a check. Short inputs (most names and values)
/// are decoded in buffers on the stack, longer ones on the heap.
pub fn for_each_reading(raw: &[u8], out: &mut dyn FnMut(usize, &[u8])) {
    match raw.len() {
        0..=128 => readings_in(&mut [0u8; 128], &mut [0u8; 128], raw, out),
        _ => readings_in(
            &mut vec![0u8; raw.len()],
            &mut vec![0u8; raw.len()],
            raw,
            out,
        ),
    }
}

/// [`for_each_reading`] in two buffers, each at least as long as `raw`.
fn readings_in(a: &mut [u8], b: &mut [u8], raw: &[u8], out: &mut dyn FnMut(usize, &[u8])) {
    let (mut current, mut next) = (a, b);
    let mut len = decode_into(raw, current);
    let mut round = 0;
    while round + 1 < MAX_DECODE_ROUNDS {
        let now = current.get(..len).unwrap_or_default();
        if !now.contains(&b'%') {
            break;
        }
        let next_len = decode_into(now, next);
        if next.get(..next_len) == Some(now) {
            break;
        }
        out(round, now);
        std::mem::swap(&mut current, &mut next);
        len = next_len;
        round += 1;
    }
    out(round, current.get(..len).unwrap_or_default());
}

/// Every reading of a raw name or value, as [`for_each_reading`] passes them.
pub fn readings(raw: &[u8]) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    for_each_reading(raw, &mut |_, reading| all.push(reading.to_vec()));
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `decode` the plain way, a byte at a time.
    fn decode_bytewise(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(&byte) = input.get(i) {
            let hex = |at: usize| input.get(at).copied().and_then(hex_value);
            match (byte, hex(i + 1), hex(i + 2)) {
                (b'+', _, _) => {
                    out.push(b' ');
                    i += 1;
                }
                (b'%', Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 3;
                }
                _ => {
                    out.push(byte);
                    i += 1;
                }
            }
        }
        out
    }

    /// `readings` the plain way: decoded once, then again while `%` remains and the value
    /// changes, up to three rounds, each reading a new vector.
    fn readings_plainly(raw: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut current = decode_bytewise(raw);
        for _ in 1..MAX_DECODE_ROUNDS {
            if !current.contains(&b'%') {
                break;
            }
            let next = decode_bytewise(&current);
            if next == current {
                break;
            }
            out.push(std::mem::replace(&mut current, next));
        }
        out.push(current);
        out
    }

    #[test]
    fn long_values_are_read_the_same_way() {
        for piece in ["%252541", "%41", "+", "%2", "%%", "%252", "x"] {
            let raw = piece.repeat(5000 / piece.len() + 1);
            for len in [0, 1, 63, 64, 65, 511, 512, 513, 4096, raw.len()] {
                let raw = &raw.as_bytes()[..len];
                assert_eq!(readings(raw), readings_plainly(raw), "{piece} {len}");
            }
        }
    }

    proptest! {
        #[test]
        fn readings_agree_with_the_plain_way(
            input in proptest::collection::vec(
                prop_oneof![Just(b'%'), Just(b'2'), Just(b'5'), Just(b'4'), Just(b'+'), any::<u8>()],
                0..48,
            )
        ) {
            prop_assert_eq!(readings(&input), readings_plainly(&input));
        }

        #[test]
        fn decoding_agrees_with_the_bytewise_reading(
            input in proptest::collection::vec(
                prop_oneof![
                    Just(b'%'), Just(b'+'), Just(b'4'), Just(b'a'), Just(b'G'), any::<u8>()
                ],
                0..64,
            )
        ) {
            prop_assert_eq!(decode(&input), decode_bytewise(&input));
            prop_assert_eq!(
                needs_decoding(&input),
                input.iter().any(|&b| b == b'%' || b == b'+')
            );
        }
    }

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
