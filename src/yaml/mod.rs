//! The YAML layer: reading one document as a value (what Kubernetes will see) and as a tree of
//! byte spans (where each node sits in the text), vouching cheaply for the documents no profile
//! reads, and writing a changed document back with the smallest edit that means the new value.
//!
//! The rest of the crate uses only what this file declares or re-exports. The submodules depend
//! in one direction, each only on those before it (`scripts/modgraph.sh` checks it):
//!
//! - `lex`: the shared rules, one copy each (limits, the null and boolean words, key bytes, the
//!   characters the cheap readers hand on, the end of a quoted scalar, a mapping's key set);
//! - `tree`: the span tree ([`Node`]);
//! - `full`: serde-saphyr and the event parser, with every limit and error message; `fast`: the
//!   line-level reader for the plain text charts render, which hands anything else to `full`;
//!   `scan`: the validators that vouch for a document's kind without a value ([`scan()`]);
//! - `render` and [`edit`]: values written as YAML text, and the minimal edit of a document;
//! - [`oracle`]: the checks that `fast` answers as `full` does, for debug builds, the tests and
//!   the fuzz targets.
//!
//! Only `edit` (driven on its own by the `split_edit` fuzz target) and `oracle` are public
//! modules; the crate goes through [`rewrite`] and the readers here.

pub mod edit;
mod fast;
mod full;
mod lex;
pub mod oracle;
mod render;
mod scan;
mod tree;

pub use edit::{Pair, align};
pub use full::{DuplicateKey, ParseError, PathStep};
pub use lex::{MAX_ALIAS_EVENTS, MAX_STREAM_ALIAS_EVENTS, is_blank};
pub use render::document as render_document;
pub use scan::{Scanned, Unsure, replayed_events, scan, sniff_kind};
pub use tree::{Node, NodeKind};

use full::{parse_tree_full, parse_value_full, reads_as_streaming, value_and_dups};
#[cfg(debug_assertions)]
use oracle::assert_fast_agrees;
use serde_json::Value;

/// Parse the text of one document into its value (`Value::Null` for an empty document).
///
/// The plain text charts render goes through the fast reader (`fast`); everything else, and
/// every error, comes from serde-saphyr (`full::parse_value_full`). Debug builds (the tests) check that
/// both agree on every document the fast reader accepts.
pub fn parse_value(text: &str) -> Result<Value, ParseError> {
    if let Some(v) = fast::value(text) {
        #[cfg(debug_assertions)]
        assert_fast_agrees(text);
        return Ok(v);
    }
    parse_value_full(text)
}

/// The value of one document and the keys its mappings repeat (each mapping keeps the last
/// value of a repeated key, as Kubernetes does: see [`DuplicateKey`]).
pub fn read_value(text: &str) -> Result<(Value, Vec<DuplicateKey>), ParseError> {
    // The fast reader hands every document with a repeated key on, so it never has any.
    if let Some(v) = fast::value(text) {
        #[cfg(debug_assertions)]
        assert_fast_agrees(text);
        return Ok((v, Vec::new()));
    }
    value_and_dups(text, true)
}

/// Documents from this size on are read back by [`reads_as`] without building their value.
const COMPARE_STREAMING_FROM: usize = 1 << 20;

/// Whether `text` reads as exactly `expected`: the engine's check that an edited document
/// means what the fixes made of it. Small documents are read as values ([`parse_value`], the
/// fast reader when it can). From `COMPARE_STREAMING_FROM` (1 MiB) on, serde-saphyr's events
/// are compared with `expected` as they come (`full::reads_as_streaming`), so a document with a 40 MB
/// annotation is not held a fourth time as a value; if that comparison cannot decide (an
/// error, which the value parse may still get past, as for `1e400`), the value parse decides.
pub fn reads_as(text: &str, expected: &Value) -> bool {
    if text.len() >= COMPARE_STREAMING_FROM
        && let Some(same) = reads_as_streaming(text, expected)
    {
        return same;
    }
    parse_value(text).ok().as_ref() == Some(expected)
}

/// The span tree of one document (`None` when it is empty), by the fast reader when it can and
/// the event parser otherwise (`full::parse_tree_full`); debug builds check both agree.
pub fn parse_tree(text: &str) -> Result<Option<Node>, ParseError> {
    if let Some((_, root)) = fast::tree(text) {
        #[cfg(debug_assertions)]
        assert_fast_agrees(text);
        return Ok(Some(root));
    }
    parse_tree_full(text)
}

/// The value and the span tree of one document in one pass when the fast reader can read it
/// (the engine needs both for every document it rewrites); otherwise as [`parse_value`] and
/// [`parse_tree`] give them.
pub fn parse_both(text: &str) -> Result<(Value, Option<Node>), ParseError> {
    if let Some((v, root)) = fast::tree(text) {
        #[cfg(debug_assertions)]
        assert_fast_agrees(text);
        return Ok((v, Some(root)));
    }
    Ok((parse_value_full(text)?, parse_tree_full(text)?))
}

/// Why [`rewrite`] could not write a changed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RewriteError {
    /// The span tree could not be built (the document was read as a value before, so this is
    /// not the input's fault).
    Tree(ParseError),
    /// The document has no content to edit.
    Empty,
    /// Neither the minimal edit nor a re-render of the whole document reads back as the value.
    ReadBack,
}

/// The text of a changed document (whose span tree is `tree`, when the caller has it): the
/// minimal edit that turns `old` into `new` ([`edit::plan`]) when there is one, a re-render of
/// the whole document otherwise ([`edit::rerender`]); either way it must read back as exactly
/// `new` ([`reads_as`]), so a mistake of the editor costs formatting, never meaning. `old` is
/// taken by value and dropped once the edits are planned, before the edited text is built and
/// read back, so a document with a large value is held at most three times at once (input,
/// new value, edited text).
pub fn rewrite(
    text: &str,
    tree: Option<Node>,
    old: Value,
    new: &Value,
) -> Result<String, RewriteError> {
    let eol = crate::stream::line_ending(text);
    let tree = match tree {
        Some(t) => Some(t),
        None => parse_tree(text).map_err(RewriteError::Tree)?,
    };
    let Some(root) = tree else {
        return Err(RewriteError::Empty);
    };
    let planned = edit::plan(text, &root, &old, new, eol).ok();
    drop(old);
    if let Some(t) = planned.and_then(|e| e.splice(text).ok())
        && reads_as(&t, new)
    {
        return Ok(t);
    }
    let t = edit::rerender(text, root.span.start, new, eol);
    if reads_as(&t, new) {
        Ok(t)
    } else {
        Err(RewriteError::ReadBack)
    }
}

#[cfg(test)]
mod tests {
    use super::full::{parse_tree_full, reads_as_streaming};
    use super::*;

    #[test]
    fn values_follow_kubernetes_scalar_meaning() {
        let v = parse_value("a: 0644\nb: \"0644\"\nc: \"yes\"\nd: 1e3\ne: ~\n").unwrap();
        assert_eq!(v["a"], 420);
        assert_eq!(v["b"], "0644");
        assert_eq!(v["c"], "yes");
        assert!(v["e"].is_null());
    }

    #[test]
    fn a_float_too_large_is_the_string_kubernetes_reads() {
        let v = parse_value("a: 1e400\nb: [-1_0e999, 2]\nc: 1e3\n").unwrap();
        assert_eq!(v["a"], "1e400");
        assert_eq!(v["b"][0], "-1_0e999");
        assert_eq!(v["c"], 1000.0);
        // A real infinity is no JSON value: still bad input, at its own position, and the
        // cheap validator does not vouch for it either.
        let e = parse_value("a: 1e400\nb: .inf\n").unwrap_err();
        assert_eq!(e.line, 2, "{e:?}");
        assert!(e.message.starts_with("`.inf` is YAML's infinity"), "{e:?}");
        for doc in [
            "kind: A\nb: -.Inf\n",
            "kind: A\nb: [.nan]\n",
            "kind: A\nb:\n- .NAN # c\n",
        ] {
            assert_eq!(scan(doc), Err(Unsure::Invalid), "{doc}");
            assert!(parse_value(doc).is_err(), "{doc}");
        }
        assert!(scan("kind: A\n.inf: x\nb: .infinity\n").is_ok());
    }

    #[test]
    fn a_lone_cr_in_a_value_does_not_move_the_reported_line() {
        let e = parse_value("kind: A\ndata:\n  a: \"x\ry\"\n  b: - x\n").unwrap_err();
        assert_eq!((e.line, e.column), (4, 6), "{e:?}");
        // CRLF is one break either way.
        let e = parse_value("kind: A\r\ndata:\r\n  b: - x\r\n").unwrap_err();
        assert_eq!(e.line, 3, "{e:?}");
        let e = parse_tree_full("a: 'x\ry'\nb: [\n").unwrap_err();
        assert_eq!(e.line, 2, "{e:?}");
    }

    /// The streaming read-back must answer as `parse_value(text) == expected` does, or the
    /// engine would pass a wrong edit of a big document (or refuse a right one).
    #[test]
    fn big_document_read_back_agrees_with_the_value_parse() {
        let docs = [
            "kind: A\nspec:\n  a: 1\n  b: [x, 2, 2.5, true, ~, \"s\"]\n  c: {d: 0644, e: 1e3}\n",
            "kind: A\nx: &a {p: 1, q: [1, 2]}\ny: *a\nz:\n  <<: *a\n  p: 3\n",
            "kind: A\nk: 1\nk: 2\nm:\n  - n: 1\n    n: x\n",
            "kind: A\nbig: |\n  line\n  line\nneg: -5\nu: 18446744073709551615\nempty:\n",
        ];
        let mutations: [fn(&mut Value); 8] = [
            |_| {},
            |v| v["kind"] = Value::from("B"),
            |v| v["new"] = Value::from(1),
            |v| {
                v.as_object_mut().unwrap().shift_remove("kind");
            },
            |v| {
                // The same keys in another order are the same mapping.
                let o = v.as_object_mut().unwrap();
                let k = o.shift_remove("kind").unwrap();
                o.insert("kind".into(), k);
            },
            |v| {
                if let Some(a) = v.pointer_mut("/spec/a") {
                    *a = serde_json::json!(1.0);
                }
            },
            |v| {
                if let Some(q) = v.pointer_mut("/x/q") {
                    *q = serde_json::json!([1]);
                }
            },
            |v| {
                if let Some(n) = v.pointer_mut("/m/0/n") {
                    *n = serde_json::json!(1);
                }
            },
        ];
        for doc in docs {
            let v = parse_value(doc).unwrap();
            for m in mutations {
                let mut want = v.clone();
                m(&mut want);
                let by_value = parse_value(doc).unwrap() == want;
                assert_eq!(
                    reads_as_streaming(doc, &want),
                    Some(by_value),
                    "{doc}\n{want}"
                );
            }
        }
        // What it cannot decide, the value parse does (`1e400` is a string to Kubernetes).
        let doc = "kind: A\na: 1e400\n";
        assert_eq!(reads_as_streaming(doc, &parse_value(doc).unwrap()), None);
        assert!(reads_as(doc, &parse_value(doc).unwrap()));
    }

    /// A line or paragraph separator breaks the line for YAML 1.1 (Kubernetes) but not for 1.2:
    /// the cheap readers hand such a document on, and what decides is the event parser.
    #[test]
    fn a_line_separator_is_left_to_the_event_parser() {
        let doc = "kind: A\nb: x\u{2028}y\n";
        assert!(fast::value(doc).is_none());
        assert!(scan::lines(doc).is_none());
        let v = parse_value(doc).unwrap();
        assert_eq!(v["b"], "x\u{2028}y");
        assert_eq!(scan(doc).map(|s| s.kind), Ok("A".to_string()));
    }

    #[test]
    fn errors_carry_a_position() {
        let e = parse_value("a: 1\nb: [\n").unwrap_err();
        assert!(e.line >= 2, "{e:?}");
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value_and_is_named_with_its_lines() {
        let text = "a: 1\nspec:\n  l:\n  - x: 1\n    \"x\": 2\n    x: 3\n  b: {c: 1, c: 2}\na: 4\n";
        let (v, dups) = read_value(text).unwrap();
        assert_eq!(v["a"], 4);
        assert_eq!(v["spec"]["l"][0]["x"], 3);
        assert_eq!(v["spec"]["b"]["c"], 2);
        let named: Vec<(String, Vec<usize>)> = dups
            .iter()
            .map(|d| (d.dotted(0), d.lines.clone()))
            .collect();
        assert_eq!(
            named,
            [
                ("spec.l[0].x".to_string(), vec![4, 5, 6]),
                ("spec.b.c".to_string(), vec![7, 7]),
                ("a".to_string(), vec![1, 8]),
            ]
        );
        assert_eq!(parse_value(text).unwrap(), v);
        let root = parse_tree(text).unwrap().unwrap();
        let (_, a) = root.get(text, "a").unwrap();
        assert_eq!(&text[a.span.clone()], "4");
        // A merge key is not a repeated key, and neither are the keys it merges.
        let (_, none) = read_value("b: &b {x: 1}\nc:\n  <<: *b\n  x: 2\n").unwrap();
        assert!(none.is_empty(), "{none:?}");
    }

    #[test]
    fn alias_bomb_is_rejected_quickly() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let t = std::time::Instant::now();
        assert!(parse_value(&doc).is_err());
        assert!(t.elapsed().as_secs() < 2);
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let doc = "[".repeat(100_000);
        assert!(parse_value(&doc).is_err());
    }

    #[test]
    fn tree_spans_point_at_values() {
        let text = "kind: A\nspec:\n  x: 1 # c\n  list:\n  - a\n  - {b: 2}\n";
        let root = parse_tree(text).unwrap().unwrap();
        let (_, spec) = root.get(text, "spec").unwrap();
        let (_, x) = spec.get(text, "x").unwrap();
        assert_eq!(&text[x.span.clone()], "1");
        assert_eq!(spec.col, 2);
        let (_, list) = spec.get(text, "list").unwrap();
        let NodeKind::Seq { items, .. } = &list.kind else {
            panic!()
        };
        assert_eq!(&text[items[1].span.clone()], "{b: 2}");
        assert_eq!(&text[..list.content_end()], text.trim_end());
    }
}
