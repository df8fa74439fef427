//! The fast reader against the full parsers on arbitrary text.
//!
//! Checks, through `yaml::oracle::fast_disagreement`: whenever the fast reader (`yaml::fast`)
//! answers, serde-saphyr reads the same value and the event parser builds the same span tree,
//! and its value-only and tree answers agree; nothing panics.
#![no_main]

use helm_fixup::{stream, yaml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for seg in stream::split(data) {
        let body = &text[seg.span];
        if let Some(d) = yaml::oracle::fast_disagreement(body) {
            panic!("{d}\nin:\n{body}");
        }
    }
});
