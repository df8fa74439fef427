//! The fast reader against the full parsers on arbitrary text.
//!
//! Checks: whenever `fastyaml` answers, serde-saphyr reads the same value and the event parser
//! builds the same span tree; its value-only and tree answers agree; nothing panics.
#![no_main]

use helm_fixup::{fastyaml, stream, yaml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for seg in stream::split(data) {
        let body = &text[seg.span];
        let Some((v, root)) = fastyaml::tree(body) else {
            assert!(fastyaml::value(body).is_none(), "value without a tree:\n{body}");
            continue;
        };
        assert_eq!(fastyaml::value(body).as_ref(), Some(&v), "value and tree disagree:\n{body}");
        assert_eq!(yaml::parse_value_full(body).as_ref(), Ok(&v), "serde-saphyr reads another value:\n{body}");
        let full = yaml::parse_tree_full(body).ok().flatten();
        assert!(
            full.as_ref().is_some_and(|f| yaml::same_tree(f, &root)),
            "the event parser builds another tree:\n{body}\nfast: {root:#?}\nfull: {full:#?}"
        );
    }
});
