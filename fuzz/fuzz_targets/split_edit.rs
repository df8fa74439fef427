//! The stream splitter, the cheap validator and the span-tree editor on arbitrary bytes.
//!
//! Checks: splitting keeps every byte in order; `yaml::scan` never vouches for a document the
//! full parse rejects or reads with another kind; the editor, given a real value change, either
//! falls back or produces text; nothing panics.
#![no_main]

use helm_fixup::{stream, yaml, yaml::edit};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let segs = stream::split(data);
    let joined: Vec<u8> = segs.iter().flat_map(|s| data[s.span.clone()].iter().copied()).collect();
    assert_eq!(joined, data, "segments must cover the input");
    let _ = stream::detect_form(data);
    let Ok(text) = std::str::from_utf8(data) else { return };
    for seg in segs {
        let body = &text[seg.span];
        let _ = stream::line_col(body, body.len() / 2);
        let parsed = yaml::parse_value(body);
        if let Ok(s) = yaml::scan(body) {
            let v = parsed.as_ref().unwrap_or_else(|e| panic!("scan accepted what parse rejects: {e:?}"));
            assert_eq!(v.get("kind").and_then(Value::as_str), Some(s.kind.as_str()), "scan read another kind");
        }
        let Ok(old) = parsed else { continue };
        let Ok(Some(root)) = yaml::parse_tree(body) else { continue };
        let mut new = old.clone();
        if let Some(o) = new.as_object_mut() {
            o.insert("fuzzAdded".into(), Value::from(1));
            if let Some((k, _)) = o.iter().next() {
                let k = k.clone();
                o.insert(k, Value::String("0644".into()));
            }
        }
        let eol = stream::line_ending(body);
        if !root.has_anchors() {
            let _ = edit::apply(body, &root, &old, &new, eol);
        }
        let _ = edit::rerender(body, root.span.start, &new, eol);
    }
});
