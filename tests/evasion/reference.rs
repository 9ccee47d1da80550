//! The reference reading of a query string or form body, for the differential check of the
//! core's scanner: `url::form_urlencoded` (the WHATWG form decoder), applied once as written
//! and once with every `;` read as `&`, keeping the parameters the core recognises.

use akguard::core::params::{classify, Param, ParamKind, ParamScanner};
use std::collections::BTreeSet;

/// `(kind, value)` with the value as lossy UTF-8, as the reference decoder gives it.
pub type Reading = (ParamKind, String);

/// What the reference decoder reads: every recognised pair of both separator readings.
pub fn reference(input: &[u8]) -> BTreeSet<Reading> {
    let semicolons: Vec<u8> = input
        .iter()
        .map(|&b| if b == b';' { b'&' } else { b })
        .collect();
    let mut out = BTreeSet::new();
    for text in [input, semicolons.as_slice()] {
        for (name, value) in url::form_urlencoded::parse(text) {
            if let Some(kind) = classify(name.as_bytes()) {
                out.insert((kind, value.into_owned()));
            }
        }
    }
    out
}

/// What the core reads decoded once (the reading a server that decodes once sees), fed in the
/// given chunks, and whether any value was cut.
pub fn core_first_readings(chunks: &[&[u8]]) -> (BTreeSet<Reading>, bool) {
    let mut out = BTreeSet::new();
    let mut cut = false;
    let mut sink = |p: Param<'_>| {
        cut |= p.cut;
        if p.first_reading {
            out.insert((p.kind, String::from_utf8_lossy(p.value).into_owned()));
        }
    };
    let mut scanner = ParamScanner::new();
    for chunk in chunks {
        scanner.feed(chunk, &mut sink);
    }
    scanner.finish(&mut sink);
    (out, cut)
}

/// Every reading the core reports, sorted, for comparing chunkings.
pub fn core_all_readings(chunks: &[&[u8]]) -> Vec<(ParamKind, Vec<u8>, bool, bool)> {
    let mut out = Vec::new();
    let mut sink = |p: Param<'_>| out.push((p.kind, p.value.to_vec(), p.cut, p.first_reading));
    let mut scanner = ParamScanner::new();
    for chunk in chunks {
        scanner.feed(chunk, &mut sink);
    }
    scanner.finish(&mut sink);
    out.sort();
    out
}

/// The differential check: with no value cut, the core's first readings are exactly the
/// reference's. Returns a description of the disagreement.
pub fn disagreement(input: &[u8]) -> Option<String> {
    let (core, cut) = core_first_readings(&[input]);
    if cut {
        return None;
    }
    let want = reference(input);
    (core != want).then(|| {
        format!(
            "input {:?}: core reads {core:?}, url::form_urlencoded reads {want:?}",
            String::from_utf8_lossy(input)
        )
    })
}
