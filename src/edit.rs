//! Turning "this document's value changed from A to B" into the smallest text edit of the
//! document, so comments, key order, quoting and untouched scalars stay exactly as the chart
//! wrote them.
//!
//! Profiles change values, never text. This module walks the span tree (`yaml::Node`) together
//! with the old and new values and emits byte-range replacements: a scalar is replaced at its
//! span, new mapping keys are appended after the mapping's last entry at the same indentation,
//! removed keys lose their lines, and sequence items (containers, volumes) are matched by `name`
//! so an added init container is inserted rather than the whole list rewritten. Flow style
//! (`{}`/`[...]`) is re-rendered in place. Anything it cannot do precisely (anchors, aliases,
//! merge keys) falls back to re-rendering the whole document; the caller re-parses the result
//! and compares values either way, so a mistake here can only cost formatting, never meaning.

use crate::render;
use crate::yaml::{Node, NodeKind, scalar_text};
use serde_json::{Map, Value};
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
}

struct Editor<'t> {
    text: &'t str,
    eol: &'t str,
    edits: Vec<(Range<usize>, String)>,
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
    };
    ed.node(root, old, new, Parent::Root)?;
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

impl Editor<'_> {
    fn node(&mut self, n: &Node, old: &Value, new: &Value, parent: Parent) -> Result<(), Fallback> {
        if old == new {
            return Ok(());
        }
        if n.anchored || matches!(n.kind, NodeKind::Alias) {
            return Err(Fallback);
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
            _ => self.replace(n, new, parent),
        }
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

    fn replace(&mut self, n: &Node, new: &Value, parent: Parent) -> Result<(), Fallback> {
        let end = n.content_end();
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
                self.edits.push((n.span.start..end, render::scalar(new)));
                Ok(())
            }
        }
    }

    fn map(
        &mut self,
        n: &Node,
        entries: &[(Node, Node)],
        old: &Map<String, Value>,
        new: &Map<String, Value>,
    ) -> Result<(), Fallback> {
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
            match old.get(key) {
                Some(ov) if ov == nv => {}
                Some(ov) => {
                    let i = find(key).ok_or(Fallback)?;
                    let (k, v) = &entries[i];
                    self.node(v, ov, nv, Parent::MapValue(k))?;
                }
                None => {
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

    fn dash_of(&self, item: &Node) -> Result<usize, Fallback> {
        let before = &self.text[..item.span.start];
        let trimmed = before.trim_end_matches([' ', '\t', '\r', '\n']);
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
        n: &Node,
        items: &[Node],
        old: &[Value],
        new: &[Value],
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
mod tests {
    use super::*;
    use crate::yaml::{parse_tree, parse_value};
    use serde_json::json;

    /// Apply `change` to the value of `text` and return the edited text, checking its meaning.
    fn edit(text: &str, change: impl FnOnce(&mut Value)) -> String {
        let old = parse_value(text).unwrap();
        let mut new = old.clone();
        change(&mut new);
        let root = parse_tree(text).unwrap().unwrap();
        let out = apply(text, &root, &old, &new, "\n").expect("in-place edit");
        assert_eq!(parse_value(&out).unwrap(), new, "edited text:\n{out}");
        out
    }

    #[test]
    fn scalar_change_touches_only_the_scalar() {
        let text = "# Source: x\nspec:\n  runAsUser: 1000 # uid\n  mode: 0644\n  s: \"yes\"\n";
        let out = edit(text, |v| v["spec"]["runAsUser"] = json!(0));
        assert_eq!(out, text.replace("1000", "0"));
    }

    #[test]
    fn new_keys_go_after_the_last_entry_with_its_indent() {
        let text = "spec:\n  a: 1\n  b:\n    c: |\n      text\n# trailing\n";
        let out = edit(text, |v| v["spec"]["z"] = json!({"w": [1, 2]}));
        assert_eq!(
            out,
            "spec:\n  a: 1\n  b:\n    c: |\n      text\n  z:\n    w:\n      - 1\n      - 2\n# trailing\n"
        );
    }

    #[test]
    fn removing_keys_removes_their_lines() {
        let text = "c:\n- name: a\n  runAsUser: 5\n  x: 1\n- runAsUser: 7\n  name: b\n";
        let out = edit(text, |v| {
            v["c"][0].as_object_mut().unwrap().remove("runAsUser");
            v["c"][1].as_object_mut().unwrap().remove("runAsUser");
        });
        assert_eq!(out, "c:\n- name: a\n  x: 1\n- name: b\n");
    }

    #[test]
    fn init_container_is_inserted_first_by_name() {
        let text = "initContainers:\n  - name: b\n    image: x\n";
        let out = edit(text, |v| {
            v["initContainers"]
                .as_array_mut()
                .unwrap()
                .insert(0, json!({"name": "a", "image": "z"}));
        });
        assert_eq!(
            out,
            "initContainers:\n  - name: a\n    image: z\n  - name: b\n    image: x\n"
        );
    }

    #[test]
    fn empty_flow_map_becomes_a_block() {
        let text = "spec:\n  securityContext: {}\n  other: 1\n";
        let out = edit(text, |v| {
            v["spec"]["securityContext"] = json!({"runAsUser": 0})
        });
        assert_eq!(
            out,
            "spec:\n  securityContext:\n    runAsUser: 0\n  other: 1\n"
        );
    }

    #[test]
    fn empty_value_becomes_a_block_in_place() {
        // `securityContext:` with nothing after it (a chart's empty toYaml) is null: filling it
        // must not re-render the whole document (that loses comments and re-indents lists).
        let text = "spec:\n  securityContext:\n  # keep me\n  containers:\n  - name: a\n";
        let out = edit(text, |v| {
            v["spec"]["securityContext"] = json!({"runAsUser": 0})
        });
        assert_eq!(
            out,
            "spec:\n  securityContext:\n    runAsUser: 0\n  # keep me\n  containers:\n  - name: a\n"
        );
        let out = edit("sc:\n  runAsNonRoot:\n  fsGroup: 5\n", |v| {
            v["sc"]["runAsNonRoot"] = json!(false)
        });
        assert_eq!(out, "sc:\n  runAsNonRoot: false\n  fsGroup: 5\n");
        let crlf = "spec:\r\n  securityContext:\r\n  containers: []\r\n";
        let root = parse_tree(crlf).unwrap().unwrap();
        let old = parse_value(crlf).unwrap();
        let mut new = old.clone();
        new["spec"]["securityContext"] = json!({"runAsUser": 0});
        let out = apply(crlf, &root, &old, &new, "\r\n").expect("in-place edit");
        assert_eq!(
            out,
            "spec:\r\n  securityContext:\r\n    runAsUser: 0\r\n  containers: []\r\n"
        );
    }

    #[test]
    fn flow_sequence_is_rerendered_in_place() {
        let text = "args: [\"--a\", --b]\nk: 1\n";
        let out = edit(text, |v| v["args"] = json!(["--a"]));
        assert_eq!(out, "args: [\"--a\"]\nk: 1\n");
    }

    #[test]
    fn no_trailing_newline_document() {
        let text = "spec:\n  a: 1";
        let out = edit(text, |v| v["spec"]["b"] = json!(2));
        assert_eq!(out, "spec:\n  a: 1\n  b: 2");
    }

    #[test]
    fn anchors_need_a_full_rerender() {
        let text = "a: &x {b: 1}\nc: *x\n";
        let old = parse_value(text).unwrap();
        let mut new = old.clone();
        new["a"]["b"] = json!(2);
        let root = parse_tree(text).unwrap().unwrap();
        assert_eq!(apply(text, &root, &old, &new, "\n"), Err(Fallback));
        let out = rerender(text, root.span.start, &new, "\n");
        assert_eq!(parse_value(&out).unwrap(), new);
    }

    #[test]
    fn edit_lands_on_the_last_of_two_duplicate_keys() {
        let text = "spec:\n  securityContext:\n    runAsUser: 5\n  x: 1\n  securityContext:\n    runAsUser: 7 # wins\n";
        let out = edit(text, |v| {
            v["spec"]["securityContext"]["runAsUser"] = json!(0)
        });
        assert_eq!(out, text.replace("7 # wins", "0 # wins"));
        // Added under the last copy too, and the first keeps its bytes.
        let out = edit(text, |v| v["spec"]["securityContext"]["fsGroup"] = json!(2));
        assert_eq!(
            out,
            text.replace("7 # wins\n", "7 # wins\n    fsGroup: 2\n")
        );
    }

    #[test]
    fn removing_a_duplicate_key_removes_every_copy() {
        let text = "spec:\n  a: 1\n  b: 2\n  a: 3\n  c: 4\n";
        let out = edit(text, |v| {
            v["spec"].as_object_mut().unwrap().remove("a");
        });
        assert_eq!(out, "spec:\n  b: 2\n  c: 4\n");
    }

    #[test]
    fn align_by_name_detects_insert_and_remove() {
        let old = vec![json!({"name": "a"}), json!({"name": "b"})];
        let new = vec![json!({"name": "z"}), json!({"name": "b"})];
        assert_eq!(
            align(&old, &new).unwrap(),
            vec![Pair::NewOnly(0), Pair::OldOnly(0), Pair::Both(1, 1)]
        );
    }
}
