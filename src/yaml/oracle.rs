//! The checks that the fast reader (`yaml::fast`) answers as the full parsers (`yaml::full`)
//! do: run by debug builds on every document it accepts, by the tests, and by the `fast_parse`
//! fuzz target. Release builds do not run them.

use super::fast;
use super::full::{parse_tree_full, parse_value_full};
use super::tree::{Node, NodeKind};

/// How the fast reader and the full parsers disagree on a document the fast reader accepts:
/// its value-only and tree answers differ, serde-saphyr reads another value, or the event parser
/// builds another span tree. `None` when they agree or the fast reader leaves the document to
/// them. The debug builds, the tests and the `fast_parse` fuzz target all check this one thing.
pub fn fast_disagreement(text: &str) -> Option<String> {
    let Some((v, root)) = fast::tree(text) else {
        return fast::value(text).map(|_| "a value without a span tree".to_string());
    };
    if fast::value(text).as_ref() != Some(&v) {
        return Some("its value and its tree's value differ".into());
    }
    if parse_value_full(text).as_ref() != Ok(&v) {
        return Some(format!("serde-saphyr reads another value than {v}"));
    }
    let full = parse_tree_full(text).ok().flatten();
    if !full.as_ref().is_some_and(|f| same_tree(f, &root)) {
        return Some(format!(
            "the event parser builds another tree:\nfast: {root:#?}\nfull: {full:#?}"
        ));
    }
    None
}

/// Panic when [`fast_disagreement`] finds one: debug builds call this on every document the fast
/// reader answers for, so the whole test suite checks the two agree.
#[cfg(debug_assertions)]
pub fn assert_fast_agrees(text: &str) {
    if let Some(d) = fast_disagreement(text) {
        panic!("yaml::fast: {d}\nin:\n{text}");
    }
}

/// Whether two span trees are the same: kinds, styles, spans and columns.
pub fn same_tree(a: &Node, b: &Node) -> bool {
    a.span == b.span
        && a.col == b.col
        && a.anchor == b.anchor
        && match (&a.kind, &b.kind) {
            (NodeKind::Scalar { style: x }, NodeKind::Scalar { style: y }) => x == y,
            (NodeKind::Alias(x), NodeKind::Alias(y)) => x == y,
            (
                NodeKind::Map {
                    flow: f,
                    entries: x,
                },
                NodeKind::Map {
                    flow: g,
                    entries: y,
                },
            ) => {
                f == g
                    && x.len() == y.len()
                    && x.iter()
                        .zip(y)
                        .all(|((k, v), (l, w))| same_tree(k, l) && same_tree(v, w))
            }
            (NodeKind::Seq { flow: f, items: x }, NodeKind::Seq { flow: g, items: y }) => {
                f == g && x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_tree(v, w))
            }
            _ => false,
        }
}

/// Where the fast reader gave up on `text` (the byte offset of the line it was on), `None` when
/// it reads it: for finding out which construct sends a document to the full parser.
pub fn fast_gives_up_at(text: &str) -> Option<usize> {
    fast::gives_up_at(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast reader takes the document, and its answer is the full parsers' answer.
    fn agrees(text: &str) -> bool {
        if let Some(d) = fast_disagreement(text) {
            panic!("{d}\nin:\n{text}");
        }
        fast::tree(text).is_some()
    }

    #[test]
    fn reads_what_charts_render_like_the_full_parsers() {
        let docs = [
            "---\n# Source: c/t.yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: a # c\n",
            "kind: A\nspec:\n  list:\n  - a\n  -   b: 1\n      c: 2\n  -\n    x: z\n",
            "kind: A\nspec:\n  containers:\n    - name: c\n      args: [\"--a\", '--b', c]\n",
            "kind: A\nmeta: {a: b, \"c\": 'd', e: {f: []}}\nempty:\nlast: \n",
            "kind: A\ndata:\n  s: |\n    echo hi\n      more\n\n  t: |-\n    x\n  u: |+\n    y\n\n# end\n",
            "kind: A\nd: |\n\n  x\n  y\nq: \"q\\\"x\\u00e9\\n\"\ne: 'it''s'\n",
            "kind: A\nnums: [1, 0, 0644, 0.5, 1e3, 100m, 128Mi, 10.0.0.0/8, .5]\nm: -2\n",
            "kind: A\nwords: [yes, no, on, off, y, n, true, null, Yes]\nhttp: http://x:80/a\nt: ~\n",
            "kind: A\nk:\n  {}\nl:\n    [a]\n...\n# after the end\n",
            "kind: A\nunicode: \"héllo\"\nplain: naïve café\n",
            "kind: A\nseq:\n- - nested\n",
        ];
        let accepted = docs.iter().filter(|d| agrees(d)).count();
        // Every one but the last (a sequence in a sequence entry) is in the subset.
        assert_eq!(accepted, docs.len() - 1);
    }
}
