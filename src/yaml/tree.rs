//! The span tree of a document: where each node sits in the text, so that an edit touches
//! only the bytes it must. The fast reader ([`super::fast`]) and the event parser
//! ([`super::full`]) both build it; the editor ([`super::edit`]) walks it.

use granit_parser::ScalarStyle;
use std::ops::Range;

/// A node of the span tree. Spans are byte ranges in the document text.
#[derive(Debug, Clone)]
pub struct Node {
    pub span: Range<usize>,
    /// 0-based column of the node's first character.
    pub col: usize,
    pub kind: NodeKind,
    /// The id of the anchor the node defines (0 for none; [`NodeKind::Alias`] names it): an
    /// edit of the node also changes what its aliases stand for.
    pub anchor: usize,
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    Scalar {
        style: ScalarStyle,
    },
    Map {
        flow: bool,
        entries: Vec<(Node, Node)>,
    },
    Seq {
        flow: bool,
        items: Vec<Node>,
    },
    /// An alias, with the id of the anchor it repeats.
    Alias(usize),
}

impl Node {
    /// The byte offset just past the last character of this node's content (its last leaf), which
    /// for block collections is tighter than the parser's end event.
    pub fn content_end(&self) -> usize {
        match &self.kind {
            NodeKind::Map {
                flow: false,
                entries,
            } => entries
                .last()
                .map_or(self.span.end, |(_, v)| v.content_end().max(self.span.start)),
            NodeKind::Seq { flow: false, items } => items
                .last()
                .map_or(self.span.end, |v| v.content_end().max(self.span.start)),
            _ => self.span.end,
        }
    }

    /// Whether any node below (or this one) has an anchor or is an alias.
    pub fn has_anchors(&self) -> bool {
        self.anchor != 0
            || match &self.kind {
                NodeKind::Alias(_) => true,
                NodeKind::Scalar { .. } => false,
                NodeKind::Map { entries, .. } => entries
                    .iter()
                    .any(|(k, v)| k.has_anchors() || v.has_anchors()),
                NodeKind::Seq { items, .. } => items.iter().any(Node::has_anchors),
            }
    }

    /// Child of a mapping by key text (only plain or quoted string keys are looked up). The last
    /// entry with that key when the mapping repeats it: that is the value Kubernetes reads.
    pub fn get<'a>(&'a self, text: &str, key: &str) -> Option<(&'a Node, &'a Node)> {
        match &self.kind {
            NodeKind::Map { entries, .. } => entries
                .iter()
                .rfind(|(k, _)| scalar_text(text, k).as_deref() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }
}

/// The value of a scalar key node, unquoted (enough to match Kubernetes field names).
pub fn scalar_text(text: &str, node: &Node) -> Option<String> {
    match node.kind {
        NodeKind::Scalar { style } => {
            let raw = text.get(node.span.clone())?;
            Some(match style {
                ScalarStyle::SingleQuoted => raw
                    .trim_start_matches('\'')
                    .trim_end_matches('\'')
                    .replace("''", "'"),
                ScalarStyle::DoubleQuoted => serde_json::from_str::<String>(raw)
                    .unwrap_or_else(|_| raw.trim_matches('"').to_string()),
                _ => raw.to_string(),
            })
        }
        _ => None,
    }
}
