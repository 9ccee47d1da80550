//! `leaked_keys` and `leaked_keys_packed` streamed from the parser straight into the key set:
//! each string element handed over where the parser holds it, never the whole array.

use super::super::keyset::KeySetBuilder;
use super::super::packed;
use super::error::{wrong_type, ConfigError};
use super::key_entry::add_key_entry;
use super::key_shape::Unusual;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::cell::RefCell;
use std::fmt;

/// The `visit_*` methods of a key-field visitor for the JSON types it does not take; each
/// calls the visitor's `fail` with a description of what was found.
macro_rules! reject_scalars {
    () => {
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            self.fail("null")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
            self.fail(&format!("boolean {v}"))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
            self.fail(&format!("number {v}"))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
            self.fail(&format!("number {v}"))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
            self.fail(&format!("number {v}"))
        }
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
            self.fail("an object")
        }
    };
}

/// One string element of a key field, handed to `each` where the parser holds it (no copy):
/// the number of entries it adds, or the problem with it.
struct StrSeed<F>(F);

impl<'de, F: FnOnce(&str) -> Result<usize, String>> DeserializeSeed<'de> for StrSeed<F> {
    type Value = Result<usize, String>;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de, F: FnOnce(&str) -> Result<usize, String>> Visitor<'de> for StrSeed<F> {
    type Value = Result<usize, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok((self.0)(text))
    }
}

/// Streams the string elements of the array `field` through `each`; the total of the entries
/// they add. A problem is recorded in `error` with the element's path (`field[i]`); an element
/// of the wrong type is described as not being `element` (`expected <element>, found …`). A
/// syntax error is left to the caller, which names its line and column.
fn stream_strings<'de, A: SeqAccess<'de>>(
    mut seq: A,
    field: &str,
    element: &str,
    error: &RefCell<Option<ConfigError>>,
    each: &mut dyn FnMut(&str) -> Result<usize, String>,
) -> Result<usize, A::Error> {
    let mut total = 0usize;
    let mut index = 0usize;
    loop {
        let path = || format!("{field}[{index}]");
        let added = match seq.next_element_seed(StrSeed(|text: &str| each(text))) {
            Ok(Some(added)) => added,
            Ok(None) => return Ok(total),
            Err(e) => {
                let problem = e.to_string();
                // A syntax error (a trailing comma, the text cut short) is the top level's to
                // report, with its line and column.
                if !problem.starts_with("invalid type") {
                    return Err(e);
                }
                let problem = problem.split(" at line ").next().unwrap_or_default();
                let problem =
                    problem.replace("invalid type: ", &format!("expected {element}, found "));
                let problem = problem.split(", expected").next().unwrap_or_default();
                error.replace(Some(ConfigError::new(path(), problem)));
                return Err(e);
            }
        };
        match added {
            Ok(n) => total += n,
            Err(problem) => {
                error.replace(Some(ConfigError::new(path(), problem)));
                return Err(de::Error::custom(field));
            }
        }
        index += 1;
    }
}

/// The `leaked_keys` entries accepted with an unusual shape: how many, and the first one's
/// index and shape (one warning for them all, however many).
#[derive(Debug, Default)]
pub(crate) struct UnusualKeys {
    count: usize,
    first: Option<(usize, Unusual)>,
}

impl UnusualKeys {
    fn note(&mut self, index: usize, unusual: Unusual) {
        self.count += 1;
        self.first.get_or_insert((index, unusual));
    }

    /// The warning, when there are any.
    pub fn warning(&self) -> Option<String> {
        let (index, unusual) = self.first?;
        let more = match self.count - 1 {
            0 => String::new(),
            1 => " (1 more entry of an unusual shape)".to_string(),
            n => format!(" ({n} more entries of unusual shapes)"),
        };
        Some(format!(
            "leaked_keys[{index}]: {}{more}",
            unusual.describe()
        ))
    }
}

/// Streams `leaked_keys` into the builder.
pub(crate) struct KeysSeed<'a> {
    pub builder: &'a mut KeySetBuilder,
    pub count: &'a mut usize,
    pub unusual: &'a mut UnusualKeys,
    pub error: &'a RefCell<Option<ConfigError>>,
}

impl<'de> DeserializeSeed<'de> for KeysSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeysSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of AccessKey IDs")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let builder = self.builder;
        let unusual = self.unusual;
        let mut index = 0;
        *self.count = stream_strings(seq, "leaked_keys", "a string", self.error, &mut |entry| {
            if let Some(shape) = add_key_entry(entry, builder)? {
                unusual.note(index, shape);
            }
            index += 1;
            Ok(1)
        })?;
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.fail("a string")
    }

    reject_scalars!();
}

impl KeysSeed<'_> {
    fn fail<E: de::Error>(&self, found: &str) -> Result<(), E> {
        wrong_type(
            self.error,
            "leaked_keys",
            "an array of AccessKey IDs",
            found,
        )
    }
}

/// Decodes one `leaked_keys_packed` block into the builder: the number of entries, or the
/// problem with it.
fn add_packed_block(text: &str, builder: &mut KeySetBuilder) -> Result<usize, String> {
    let mut out_of_order = false;
    let n = packed::decode(text, &mut |entry| {
        out_of_order |= !builder.add_digest_prefix(entry);
    })?;
    if out_of_order {
        return Err(
            "its first entry is not greater than the last entry of the block before: entries must be sorted ascending across the blocks, without repeats"
                .into(),
        );
    }
    Ok(n)
}

/// Decodes `leaked_keys_packed` (see [`super::packed`]) straight into the builder: one
/// base64 string, or an array of them.
pub(crate) struct PackedSeed<'a> {
    pub builder: &'a mut KeySetBuilder,
    pub count: &'a mut usize,
    pub error: &'a RefCell<Option<ConfigError>>,
}

impl<'de> DeserializeSeed<'de> for PackedSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

const PACKED_EXPECTED: &str = "a base64 string or an array of them";

impl<'de> Visitor<'de> for PackedSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PACKED_EXPECTED)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        match add_packed_block(text, self.builder) {
            Ok(n) => {
                *self.count += n;
                Ok(())
            }
            Err(problem) => {
                self.error
                    .replace(Some(ConfigError::new("leaked_keys_packed", problem)));
                Err(E::custom("leaked_keys_packed"))
            }
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let builder = self.builder;
        *self.count += stream_strings(
            seq,
            "leaked_keys_packed",
            "a base64 string",
            self.error,
            &mut |block| add_packed_block(block, builder),
        )?;
        Ok(())
    }

    reject_scalars!();
}

impl PackedSeed<'_> {
    fn fail<E: de::Error>(&self, found: &str) -> Result<(), E> {
        wrong_type(self.error, "leaked_keys_packed", PACKED_EXPECTED, found)
    }
}
