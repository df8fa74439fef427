//! Turning "this document's value changed from A to B" into the smallest text edit of the
//! document, so comments, key order, quoting and untouched scalars stay exactly as the chart
//! wrote them.
//!
//! Profiles change values, never text. This module walks the span tree (`yaml::Node`) together
//! with the old and new values and emits byte-range replacements: a scalar is replaced at its
//! span, new mapping keys are appended after the mapping's last entry at the same indentation,
//! removed keys lose their lines, and sequence items (containers, volumes) are matched by `name`
//! so an added init container is inserted rather than the whole list rewritten. Flow
//! collections (`{...}`/`[...]`, JSON documents) are edited the same way in their own style.
//! Anchors and aliases keep what each place meant (see [`plan`]). What it cannot do precisely
//! (a change to an anchor a merge key brings in, a reordered list) falls back to re-rendering
//! the whole document; the caller re-parses the result and compares values either way, so a
//! mistake here can only cost formatting, never meaning.

use super::render;
use super::tree::{Node, NodeKind, scalar_text};
use granit_parser::ScalarStyle;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::ops::Range;

/// The in-place edit was not possible; re-render the whole document instead.
#[derive(Debug, PartialEq, Eq)]
pub struct Fallback;

/// How two sequences line up, item by item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pair {
    Both(usize, usize),
    OldOnly(usize),
    NewOnly(usize),
}

fn item_name(v: &Value) -> Option<&str> {
    v.get("name").and_then(Value::as_str)
}

fn unique_names(items: &[Value]) -> Option<Vec<&str>> {
    let names: Option<Vec<&str>> = items.iter().map(item_name).collect();
    let names = names?;
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    (sorted.len() == names.len()).then_some(names)
}

/// Line up two sequences: by `name` when every item has a unique one (containers, volumes,
/// ports, env), else index by index when the lengths agree, else by longest common subsequence.
/// `None` when names moved relative to each other (a reorder: replace the whole list).
pub fn align(old: &[Value], new: &[Value]) -> Option<Vec<Pair>> {
    if let (Some(on), Some(nn)) = (unique_names(old), unique_names(new)) {
        // Names are unique here: an index by name keeps a pod of thousands of containers linear.
        let index: std::collections::HashMap<&str, usize> =
            on.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let mut out = Vec::new();
        let mut next_old = 0;
        let mut used = vec![false; old.len()];
        for (j, name) in nn.iter().enumerate() {
            match index.get(name).copied() {
                Some(i) if i >= next_old => {
                    for (k, u) in used.iter_mut().enumerate().take(i).skip(next_old) {
                        if !*u {
                            out.push(Pair::OldOnly(k));
                            *u = true;
                        }
                    }
                    used[i] = true;
                    out.push(Pair::Both(i, j));
                    next_old = i + 1;
                }
                Some(_) => return None,
                None => out.push(Pair::NewOnly(j)),
            }
        }
        out.extend(
            (next_old..old.len())
                .filter(|&k| !used[k])
                .map(Pair::OldOnly),
        );
        return Some(out);
    }
    if old.len() == new.len() {
        return Some((0..old.len()).map(|i| Pair::Both(i, i)).collect());
    }
    if old.len().saturating_mul(new.len()) > 1_000_000 {
        return None;
    }
    // Longest common subsequence on equal items; unequal runs become removals then additions.
    let (n, m) = (old.len(), new.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n && j < m {
        if old[i] == new[j] {
            out.push(Pair::Both(i, j));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            out.push(Pair::OldOnly(i));
            i += 1;
        } else {
            out.push(Pair::NewOnly(j));
            j += 1;
        }
    }
    out.extend((i..n).map(Pair::OldOnly));
    out.extend((j..m).map(Pair::NewOnly));
    Some(out)
}

#[derive(Clone, Copy)]
enum Parent<'n> {
    Root,
    MapValue(&'n Node),
    SeqItem,
    /// A value or item inside a flow collection (`{...}`, `[...]`, a JSON document): what it
    /// becomes is written in flow style too, as JSON when `json` (the collection's keys are
    /// double-quoted, as `toJson` writes them).
    Flow {
        json: bool,
    },
}

struct Editor<'a> {
    text: &'a str,
    eol: &'a str,
    edits: Vec<(Range<usize>, String)>,
    /// Whether the document has anchors or aliases at all: without, none of the bookkeeping
    /// below is done.
    aliases: bool,
    /// Anchors (by id) whose node the edit changes, with the value the node now has.
    changed_anchors: HashMap<usize, &'a Value>,
    /// The aliases the walk met, with the value that must be at their place, where they sit,
    /// and whether that value differs from the one they had. Each that its anchor will not give
    /// that value is written out (see [`Editor::finish`]).
    aliases_met: Vec<(&'a Node, &'a Value, Parent<'a>, bool)>,
    /// The anchors merge keys (`<<: *a`) bring in.
    merged: Vec<usize>,
}

/// The byte-range replacements that turn a document into another, in order and not
/// overlapping. They hold only the new text, so the values they came from can be dropped
/// before the edited document is built: a 40 MB annotation is then not held three times.
#[derive(Debug)]
pub struct Edits(Vec<(Range<usize>, String)>);

/// Edit `text` (one document, whose span tree is `root`) so that it reads as `new` instead of
/// `old`. Returns the new text, or `Fallback` when only a full re-render can do it.
pub fn apply(
    text: &str,
    root: &Node,
    old: &Value,
    new: &Value,
    eol: &str,
) -> Result<String, Fallback> {
    plan(text, root, old, new, eol)?.splice(text)
}

/// The edits [`apply`] makes, without making them.
///
/// Anchors and aliases keep what they mean to Kubernetes, which reads every alias as a copy
/// of its anchor's value. An edit inside an anchored node is made there, and every alias of
/// it whose place must keep the old value is written out as that value; an alias whose own
/// place changes is replaced by the new value, so the other uses of its anchor stay as they
/// were. A key that a merge (`<<: *base`) brings in is changed by writing the key into the
/// merging mapping, which overrides the merged one; the anchor is left alone.
pub fn plan(
    text: &str,
    root: &Node,
    old: &Value,
    new: &Value,
    eol: &str,
) -> Result<Edits, Fallback> {
    let mut ed = Editor {
        text,
        eol,
        edits: Vec::new(),
        aliases: root.has_anchors(),
        changed_anchors: HashMap::new(),
        aliases_met: Vec::new(),
        merged: Vec::new(),
    };
    ed.node(root, old, new, Parent::Root)?;
    ed.finish()?;
    // Insertions (empty ranges) go before replacements that start at the same byte.
    ed.edits
        .sort_by_key(|(r, _)| (r.start, usize::from(!r.is_empty())));
    let mut pos = 0;
    for (range, _) in &ed.edits {
        if range.start < pos || range.end > text.len() {
            return Err(Fallback);
        }
        pos = range.end;
    }
    Ok(Edits(ed.edits))
}

impl Edits {
    /// The edited text: `text` must be the document the edits were planned on.
    pub fn splice(&self, text: &str) -> Result<String, Fallback> {
        let grows: usize = self.0.iter().map(|(_, r)| r.len()).sum();
        let mut out = String::with_capacity(text.len() + grows);
        let mut pos = 0;
        for (range, repl) in &self.0 {
            out.push_str(text.get(pos..range.start).ok_or(Fallback)?);
            out.push_str(repl);
            pos = range.end;
        }
        out.push_str(text.get(pos..).ok_or(Fallback)?);
        Ok(out)
    }
}

/// Re-render a whole document from its value, keeping the marker line and the comments above the
/// first key (`# Source:` lines) so the stream keeps its shape.
pub fn rerender(text: &str, root_start: usize, new: &Value, eol: &str) -> String {
    let line_start = text[..root_start].rfind('\n').map_or(0, |i| i + 1);
    let mut out = text[..line_start].to_string();
    if text[line_start..].starts_with("---") {
        out.push_str("---");
        out.push_str(eol);
    }
    out.push_str(&render::document(new, eol));
    out
}

impl<'a> Editor<'a> {
    fn node(
        &mut self,
        n: &'a Node,
        old: &'a Value,
        new: &'a Value,
        parent: Parent<'a>,
    ) -> Result<(), Fallback> {
        if old == new {
            self.keep(n, new, parent);
            return Ok(());
        }
        if let NodeKind::Alias(_) = n.kind {
            // This use of the anchor changes, the others must not: written out once every
            // edit is known, unless its anchor changes to just this value (see `finish`).
            self.aliases_met.push((n, new, parent, true));
            return Ok(());
        }
        if n.anchor != 0 {
            self.changed_anchors.insert(n.anchor, new);
        }
        match (&n.kind, old, new) {
            (
                NodeKind::Map {
                    flow: false,
                    entries,
                },
                Value::Object(o),
                Value::Object(nw),
            ) if !nw.is_empty() => self.map(n, entries, o, nw),
            (NodeKind::Seq { flow: false, items }, Value::Array(o), Value::Array(nw))
                if !nw.is_empty() =>
            {
                self.seq(n, items, o, nw)
            }
            (
                NodeKind::Map {
                    flow: true,
                    entries,
                },
                Value::Object(o),
                Value::Object(nw),
            ) if !entries.is_empty() && !nw.is_empty() => {
                let json = matches!(parent, Parent::Flow { json: true })
                    || matches!(
                        entries[0].0.kind,
                        NodeKind::Scalar {
                            style: ScalarStyle::DoubleQuoted
                        }
                    );
                self.flow_map(entries, o, nw, json)
            }
            (NodeKind::Seq { flow: true, items }, Value::Array(o), Value::Array(nw))
                if !items.is_empty() && !nw.is_empty() =>
            {
                let json = matches!(parent, Parent::Flow { json: true });
                self.flow_seq(n, items, o, nw, json)
            }
            _ => self.replace(n, new, parent),
        }
    }

    /// Record the aliases of a part the edit leaves alone, with the value each must keep.
    fn keep(&mut self, n: &'a Node, v: &'a Value, parent: Parent<'a>) {
        if !self.aliases {
            return;
        }
        match &n.kind {
            NodeKind::Alias(_) => self.aliases_met.push((n, v, parent, false)),
            NodeKind::Scalar { .. } => {}
            NodeKind::Map { flow, entries } => {
                self.note_merges(entries);
                let json = matches!(parent, Parent::Flow { json: true });
                // Only the last copy of a repeated key is read.
                let mut seen = std::collections::HashSet::new();
                for (k, val) in entries.iter().rev() {
                    let Some(key) = scalar_text(self.text, k) else {
                        continue;
                    };
                    if key == "<<" || !seen.insert(key.clone()) {
                        continue;
                    }
                    if let Some(cv) = v.get(&key) {
                        let p = if *flow {
                            Parent::Flow { json }
                        } else {
                            Parent::MapValue(k)
                        };
                        self.keep(val, cv, p);
                    }
                }
            }
            NodeKind::Seq { flow, items } => {
                let json = matches!(parent, Parent::Flow { json: true });
                let p = if *flow {
                    Parent::Flow { json }
                } else {
                    Parent::SeqItem
                };
                for (item, cv) in items.iter().zip(v.as_array().into_iter().flatten()) {
                    self.keep(item, cv, p);
                }
            }
        }
    }

    /// Record the anchors a mapping's merge keys bring in.
    fn note_merges(&mut self, entries: &[(Node, Node)]) {
        if !self.aliases {
            return;
        }
        for (k, v) in entries {
            if scalar_text(self.text, k).as_deref() != Some("<<") {
                continue;
            }
            match &v.kind {
                NodeKind::Alias(id) => self.merged.push(*id),
                NodeKind::Seq { items, .. } => {
                    self.merged
                        .extend(items.iter().filter_map(|i| match i.kind {
                            NodeKind::Alias(id) => Some(id),
                            _ => None,
                        }))
                }
                _ => {}
            }
        }
    }

    /// Once every edit is known: write out each kept alias whose anchor now means something
    /// else than its place must. A merge of a changed anchor would change every mapping that
    /// merges it, which only a re-render can sort out.
    fn finish(&mut self) -> Result<(), Fallback> {
        if self
            .merged
            .iter()
            .any(|id| self.changed_anchors.contains_key(id))
        {
            return Err(Fallback);
        }
        for (n, v, parent, changed) in std::mem::take(&mut self.aliases_met) {
            let NodeKind::Alias(id) = n.kind else {
                continue;
            };
            let stale = match self.changed_anchors.get(&id) {
                Some(now) => *now != v,
                None => changed,
            };
            if stale {
                self.replace(n, v, parent)?;
            }
        }
        Ok(())
    }

    fn after_line(&self, pos: usize) -> usize {
        if pos > 0 && self.text.as_bytes()[pos - 1] == b'\n' {
            return pos;
        }
        self.text[pos..]
            .find('\n')
            .map_or(self.text.len(), |i| pos + i + 1)
    }

    fn line_start(&self, pos: usize) -> usize {
        self.text[..pos].rfind('\n').map_or(0, |i| i + 1)
    }

    fn only_blanks_before(&self, pos: usize) -> bool {
        self.text[self.line_start(pos)..pos]
            .bytes()
            .all(|b| b == b' ')
    }

    /// Where the text of `n` to replace starts: its span, or a tag written just before it on
    /// the same line (`!!str 1000`), which the new value must not inherit. An anchor (`&a`)
    /// stays, so its aliases still find it.
    fn replace_start(&self, n: &Node) -> usize {
        let before = &self.text[self.line_start(n.span.start)..n.span.start];
        let trimmed = before.trim_end_matches([' ', '\t']);
        let token = trimmed
            .rfind([' ', '\t', '-', ':', ',', '[', '{', '?'])
            .map_or(0, |i| i + 1);
        if trimmed[token..].starts_with('!') {
            n.span.start - (before.len() - token)
        } else {
            n.span.start
        }
    }

    /// The text of `v` inside a flow collection.
    fn flow_text(v: &Value, json: bool) -> String {
        if json {
            serde_json::to_string(v).unwrap_or_else(|_| render::flow(v))
        } else {
            render::flow(v)
        }
    }

    fn replace(&mut self, n: &Node, new: &Value, parent: Parent) -> Result<(), Fallback> {
        let end = n.content_end();
        if let Parent::Flow { json } = parent {
            let start = self.replace_start(n);
            self.edits.push((start..end, Self::flow_text(new, json)));
            return Ok(());
        }
        let nonempty = match new {
            Value::Object(o) => !o.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => false,
        };
        // A flow collection that had content stays flow; an empty one (`{}`) or a scalar under a
        // key becomes a block, as a person would write it.
        let was_full_flow = match &n.kind {
            NodeKind::Map {
                flow: true,
                entries,
            } => !entries.is_empty(),
            NodeKind::Seq { flow: true, items } => !items.is_empty(),
            _ => false,
        };
        let nonempty = nonempty && !was_full_flow;
        match parent {
            Parent::Root => Err(Fallback),
            Parent::MapValue(key) if nonempty => {
                // `key: {}` or `key: null` becomes a block under the key.
                // An empty value (`key:` then a line break) is a zero-width node that the parser
                // may place before the colon: look for the colon on the key's line then.
                let search_end = if n.span.is_empty() {
                    self.after_line(key.span.end)
                } else {
                    n.span.start.max(key.span.end)
                };
                let colon = self.text[key.span.end..search_end]
                    .find(':')
                    .map(|i| key.span.end + i + 1)
                    .ok_or(Fallback)?;
                let end = end.max(colon);
                // An anchor stays on the key's line (`key: &a` then the block), so its aliases
                // still find it.
                let colon = match n.anchor {
                    0 => colon,
                    _ => {
                        let props = &self.text[colon..n.span.start.max(colon)];
                        let amp = props.find('&').ok_or(Fallback)?;
                        let len = props[amp..]
                            .find([' ', '\t', '\r', '\n'])
                            .unwrap_or(props.len() - amp);
                        colon + amp + len
                    }
                };
                let indent = key.col + 2;
                let mut body = String::new();
                match new {
                    Value::Object(o) => body.push_str(&render::block_entries(o, indent, self.eol)),
                    Value::Array(a) => a
                        .iter()
                        .for_each(|v| render::seq_item(&mut body, v, indent, self.eol)),
                    _ => unreachable!("nonempty means a collection"),
                }
                let body = body.strip_suffix(self.eol).unwrap_or(&body);
                self.edits
                    .push((colon..end, format!("{}{}", self.eol, body)));
                Ok(())
            }
            Parent::SeqItem if matches!(new, Value::Object(o) if !o.is_empty()) => {
                let Value::Object(o) = new else {
                    unreachable!()
                };
                let body = render::block_entries(o, n.col, self.eol);
                let body = body.strip_suffix(self.eol).unwrap_or(&body);
                self.edits
                    .push((n.span.start..end, body[n.col..].to_string()));
                Ok(())
            }
            Parent::MapValue(key) if n.span.is_empty() => {
                // `key:` with no value: the new scalar goes after the colon.
                let line_end = self.after_line(key.span.end);
                let colon = self.text[key.span.end..line_end]
                    .find(':')
                    .map(|i| key.span.end + i + 1)
                    .ok_or(Fallback)?;
                self.edits
                    .push((colon..colon, format!(" {}", render::scalar(new))));
                Ok(())
            }
            _ => {
                let start = self.replace_start(n);
                self.edits.push((start..end, render::scalar(new)));
                Ok(())
            }
        }
    }

    fn map(
        &mut self,
        n: &'a Node,
        entries: &'a [(Node, Node)],
        old: &'a Map<String, Value>,
        new: &'a Map<String, Value>,
    ) -> Result<(), Fallback> {
        self.note_merges(entries);
        let merges = entries
            .iter()
            .any(|(k, _)| scalar_text(self.text, k).as_deref() == Some("<<"));
        // A key the chart repeats (a `duplicate-key` warning) has the value of its last entry,
        // as Kubernetes reads it: a change goes there, and the earlier copies stay as they were.
        let find = |key: &str| {
            entries
                .iter()
                .rposition(|(k, _)| scalar_text(self.text, k).as_deref() == Some(key))
        };
        // A removed key loses every copy, or an earlier one would become the value.
        let text = self.text;
        let all = |key: &str| -> Vec<usize> {
            (0..entries.len())
                .filter(|&i| scalar_text(text, &entries[i].0).as_deref() == Some(key))
                .collect()
        };
        let mut added = Map::new();
        for (key, nv) in new {
            if old.get(key) == Some(nv) {
                if self.aliases
                    && let Some(i) = find(key)
                {
                    let (k, v) = &entries[i];
                    self.keep(v, nv, Parent::MapValue(k));
                }
                continue;
            }
            match (old.get(key), find(key)) {
                (Some(ov), Some(i)) => {
                    let (k, v) = &entries[i];
                    self.node(v, ov, nv, Parent::MapValue(k))?;
                }
                // From a merge key: unchanged, or overridden by a key of this mapping.
                (Some(ov), None) if merges => {
                    if ov != nv {
                        added.insert(key.clone(), nv.clone());
                    }
                }
                (Some(_), None) => return Err(Fallback),
                (None, _) => {
                    added.insert(key.clone(), nv.clone());
                }
            }
        }
        for key in old.keys().filter(|k| !new.contains_key(*k)) {
            let copies = all(key);
            if copies.is_empty() {
                return Err(Fallback);
            }
            for i in copies {
                let (k, v) = &entries[i];
                if self.only_blanks_before(k.span.start) {
                    let start = self.line_start(k.span.start);
                    self.edits
                        .push((start..self.after_line(v.content_end()), String::new()));
                } else if let Some((next, _)) = entries.get(i + 1) {
                    // First key of a `- ` item: pull the next key up onto the dash line.
                    self.edits
                        .push((k.span.start..next.span.start, String::new()));
                } else {
                    return Err(Fallback);
                }
            }
        }
        if !added.is_empty() {
            let indent = entries.first().map_or(n.col, |(k, _)| k.col);
            let at = self.after_line(n.content_end());
            let mut body = render::block_entries(&added, indent, self.eol);
            if at == self.text.len() && !self.text.ends_with('\n') {
                body.insert_str(0, self.eol);
                body.truncate(body.len() - self.eol.len());
            }
            self.edits.push((at..at, body));
        }
        Ok(())
    }

    /// Edit a flow mapping in its own style: a changed value at its span, a removed entry
    /// with its comma, an added one after the last (`, key: value`, JSON in a JSON document).
    fn flow_map(
        &mut self,
        entries: &'a [(Node, Node)],
        old: &'a Map<String, Value>,
        new: &'a Map<String, Value>,
        json: bool,
    ) -> Result<(), Fallback> {
        self.note_merges(entries);
        let text = self.text;
        let key_of = |i: usize| scalar_text(text, &entries[i].0);
        let last = |key: &str| (0..entries.len()).rfind(|&i| key_of(i).as_deref() == Some(key));
        let merges = (0..entries.len()).any(|i| key_of(i).as_deref() == Some("<<"));
        let child = Parent::Flow { json };
        let mut added = Vec::new();
        for (key, nv) in new {
            if old.get(key) == Some(nv) {
                if self.aliases
                    && let Some(i) = last(key)
                {
                    self.keep(&entries[i].1, nv, child);
                }
                continue;
            }
            match (old.get(key), last(key)) {
                (Some(ov), Some(i)) => self.node(&entries[i].1, ov, nv, child)?,
                (Some(ov), None) if merges => {
                    if ov != nv {
                        added.push((key, nv));
                    }
                }
                (Some(_), None) => return Err(Fallback),
                (None, _) => added.push((key, nv)),
            }
        }
        let mut remove = vec![false; entries.len()];
        for key in old.keys().filter(|k| !new.contains_key(*k)) {
            let mut any = false;
            for (i, r) in remove.iter_mut().enumerate() {
                if key_of(i).as_deref() == Some(key.as_str()) {
                    *r = true;
                    any = true;
                }
            }
            if !any {
                return Err(Fallback);
            }
        }
        let spans: Vec<(usize, usize)> = entries
            .iter()
            .map(|(k, v)| (k.span.start, v.span.end.max(k.span.end)))
            .collect();
        let last_end = self.flow_removals(&spans, &remove)?;
        // Written as the collection is: `"a":1,"b":2` as `toJson` writes it, `a: 1, b: 2` as
        // people do. Only JSON keys may go without the space after the colon.
        let (k0, v0) = &entries[0];
        let compact_colon = json && self.text.get(k0.span.end..v0.span.start) == Some(":");
        let comma = self.comma(&spans);
        for (key, v) in added {
            let key = if json {
                serde_json::to_string(key).map_err(|_| Fallback)?
            } else {
                render::flow_string(key)
            };
            let colon = if compact_colon { ":" } else { ": " };
            let body = format!("{comma}{key}{colon}{}", Self::flow_text(v, json));
            self.edits.push((last_end..last_end, body));
        }
        Ok(())
    }

    /// Edit a flow sequence in its own style, its items lined up as [`align`] does for blocks.
    fn flow_seq(
        &mut self,
        n: &'a Node,
        items: &'a [Node],
        old: &'a [Value],
        new: &'a [Value],
        json: bool,
    ) -> Result<(), Fallback> {
        let pairs = align(old, new).ok_or(Fallback)?;
        if !pairs.iter().any(|p| matches!(p, Pair::Both(..))) {
            // Nothing stays: the list is written anew.
            self.edits.push((
                n.span.clone(),
                Self::flow_text(&Value::Array(new.to_vec()), json),
            ));
            return Ok(());
        }
        let child = Parent::Flow { json };
        let mut remove = vec![false; items.len()];
        let mut inserts = Vec::new();
        for (p, pair) in pairs.iter().enumerate() {
            match *pair {
                Pair::Both(i, j) => self.node(&items[i], &old[i], &new[j], child)?,
                Pair::OldOnly(i) => remove[i] = true,
                Pair::NewOnly(j) => {
                    // Before the next item that stays, or after the last one.
                    let before = pairs[p + 1..].iter().find_map(|q| match *q {
                        Pair::Both(i, _) => Some(i),
                        _ => None,
                    });
                    inserts.push((before, j));
                }
            }
        }
        let spans: Vec<(usize, usize)> = items.iter().map(|i| (i.span.start, i.span.end)).collect();
        let last_end = self.flow_removals(&spans, &remove)?;
        let comma = self.comma(&spans);
        for (before, j) in inserts {
            let v = Self::flow_text(&new[j], json);
            match before {
                Some(i) => {
                    let at = items[i].span.start;
                    self.edits.push((at..at, format!("{v}{comma}")));
                }
                None => self.edits.push((last_end..last_end, format!("{comma}{v}"))),
            }
        }
        Ok(())
    }

    /// The separator between a flow collection's entries as it writes it: `,` when its first
    /// two are written without a space (`toJson`), `, ` otherwise.
    fn comma(&self, spans: &[(usize, usize)]) -> &'static str {
        match spans {
            [a, b, ..] if self.text.get(a.1..b.0) == Some(",") => ",",
            _ => ", ",
        }
    }

    /// Remove the marked entries of a flow collection (`spans` from each entry's start to its
    /// end) with their commas: one in the middle up to the next entry, the ones at the end from
    /// the end of the last that stays. Returns where that last one ends now, for additions.
    /// At least one entry must stay.
    fn flow_removals(
        &mut self,
        spans: &[(usize, usize)],
        remove: &[bool],
    ) -> Result<usize, Fallback> {
        let kept = remove.iter().rposition(|r| !r).ok_or(Fallback)?;
        for i in 0..kept {
            if remove[i] {
                self.edits.push((spans[i].0..spans[i + 1].0, String::new()));
            }
        }
        let end = spans[kept].1;
        if kept + 1 < spans.len() {
            self.edits
                .push((end..spans[spans.len() - 1].1, String::new()));
        }
        Ok(end)
    }

    fn dash_of(&self, item: &Node) -> Result<usize, Fallback> {
        let before = &self.text[..item.span.start];
        let mut trimmed = before.trim_end_matches([' ', '\t', '\r', '\n']);
        // `- &main` or `- !!map` then the item on the next line: step over its properties.
        for _ in 0..2 {
            let token = trimmed.rfind([' ', '\t', '\n']).map_or(0, |i| i + 1);
            if !trimmed[token..].starts_with(['&', '!']) {
                break;
            }
            trimmed = trimmed[..token].trim_end_matches([' ', '\t', '\r', '\n']);
        }
        if !trimmed.ends_with('-') {
            return Err(Fallback);
        }
        let dash = trimmed.len() - 1;
        if !self.only_blanks_before(dash) {
            return Err(Fallback);
        }
        Ok(dash)
    }

    fn seq(
        &mut self,
        n: &'a Node,
        items: &'a [Node],
        old: &'a [Value],
        new: &'a [Value],
    ) -> Result<(), Fallback> {
        let pairs = align(old, new).ok_or(Fallback)?;
        let first_dash = self.dash_of(items.first().ok_or(Fallback)?)?;
        let indent = first_dash - self.line_start(first_dash);
        for (p, pair) in pairs.iter().enumerate() {
            match *pair {
                Pair::Both(i, j) => self.node(&items[i], &old[i], &new[j], Parent::SeqItem)?,
                Pair::OldOnly(i) => {
                    let dash = self.dash_of(&items[i])?;
                    let start = self.line_start(dash);
                    self.edits.push((
                        start..self.after_line(items[i].content_end()),
                        String::new(),
                    ));
                }
                Pair::NewOnly(j) => {
                    let anchor = pairs[p + 1..].iter().find_map(|q| match *q {
                        Pair::Both(i, _) | Pair::OldOnly(i) => Some(i),
                        Pair::NewOnly(_) => None,
                    });
                    let at = match anchor {
                        Some(i) => self.line_start(self.dash_of(&items[i])?),
                        None => self.after_line(n.content_end()),
                    };
                    let mut body = String::new();
                    render::seq_item(&mut body, &new[j], indent, self.eol);
                    if at == self.text.len() && !self.text.ends_with('\n') {
                        body.insert_str(0, self.eol);
                        body.truncate(body.len() - self.eol.len());
                    }
                    self.edits.push((at..at, body));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
