//! The full readers: serde-saphyr for values and granit-parser's events for span trees, with
//! hard limits on aliases, depth and size, because the input is whatever a chart rendered and
//! an alias bomb must fail in milliseconds, not exhaust memory. Every error message the layer
//! gives comes from here. Legacy octal is on: Kubernetes reads `defaultMode: 0644` as 420
//! (YAML 1.1), and our idea of a document's meaning must match the cluster's.

use super::lex::{MAX_ALIAS_EVENTS, MAX_DEPTH, MAX_NODES, event_options, is_blank};
use super::tree::{Node, NodeKind, scalar_text};
use granit_parser::{Event, Parser, ScalarStyle, StructureStyle};
use serde_json::Value;
use std::collections::HashMap;
use std::ops::Range;

/// A parse failure with a position relative to the document text (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// serde-saphyr's options. `dups` is its duplicate-key policy: [`parse_value_full`] asks with
/// `Error` first (a duplicate is rare and this way costs nothing when absent) and, only when a
/// mapping repeats a key, again with `LastWins`, Kubernetes' meaning (see [`DuplicateKey`]).
fn options(dups: serde_saphyr::DuplicateKeyPolicy) -> serde_saphyr::Options {
    let mut o = serde_saphyr::Options::default();
    o.duplicate_keys = dups;
    o.legacy_octal_numbers = true;
    o.with_snippet = false;
    // Values need no comments; emitting them costs a quarter of the parse.
    o.emit_comments = false;
    o.alias_limits.max_total_replayed_events = MAX_ALIAS_EVENTS;
    o.alias_limits.max_replay_stack_depth = 16;
    if let Some(b) = o.budget.as_mut() {
        b.max_depth = MAX_DEPTH;
        b.max_nodes = MAX_NODES;
        b.max_events = MAX_NODES * 2;
        // serde-saphyr's default also refuses 100 aliases to one anchor (more than ten aliases
        // per anchor), which [`scan`] does not: a workload failed where the same document as a
        // ConfigMap passed. The replay limit above bounds the work an alias costs; these only
        // must not come first. Every alias and merge key replays at least one event, and every
        // anchor sits on a node.
        b.enforce_alias_anchor_ratio = false;
        b.max_aliases = MAX_ALIAS_EVENTS;
        b.max_merge_keys = MAX_ALIAS_EVENTS;
        b.max_anchors = MAX_NODES;
    }
    o
}

/// [`super::parse_value`] by serde-saphyr alone.
pub fn parse_value_full(text: &str) -> Result<Value, ParseError> {
    value_and_dups(text, false).map(|(v, _)| v)
}

/// A key one mapping of a document repeats. Kubernetes reads the last value: Helm and kubectl
/// turn each rendered document into JSON with `sigs.k8s.io/yaml`'s non-strict `YAMLToJSON`
/// (go-yaml v2 `Unmarshal`, which overwrites a repeated key; see `TestUnmarshalStrictFails` in
/// kubernetes-sigs/yaml v1.6.0, whose non-strict cases keep the last value), through
/// apimachinery's `YAMLToJSONDecoder` (v0.36.1 `pkg/util/yaml/decoder.go`) in cli-runtime's
/// `StreamVisitor.Visit`, which Helm 4.2's `kube.Client.Build` uses. kubectl's client-side
/// `NoDoubleKeySchema` (kubectl v0.36.1 `pkg/validation/schema.go`) looks only at labels and
/// annotations of that already converted JSON, so nothing on the way refuses the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// Where the mapping sits, from the root (empty for the top level).
    pub path: Vec<PathStep>,
    /// The key, unquoted.
    pub key: String,
    /// The 1-based line of every occurrence in the document, in order; the last one wins.
    pub lines: Vec<usize>,
}

/// One step of a [`DuplicateKey`]'s path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

impl DuplicateKey {
    /// The key with its path, as a person reads it: `spec.affinity.podAntiAffinity`,
    /// `spec.containers[0].image`.
    pub fn dotted(&self, from: usize) -> String {
        let mut out = String::new();
        for step in self.path.iter().skip(from) {
            match step {
                PathStep::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                PathStep::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(&self.key);
        out
    }
}

/// [`super::reads_as`] by comparing events, `None` when it cannot decide.
pub fn reads_as_streaming(text: &str, expected: &Value) -> Option<bool> {
    if is_blank(text) {
        return None;
    }
    serde_saphyr::with_deserializer_from_str_with_options(
        text,
        options(serde_saphyr::DuplicateKeyPolicy::LastWins),
        |de| serde::de::DeserializeSeed::deserialize(Same(expected), de),
    )
    .ok()
}

/// A serde seed that reads a value and answers whether it equals the one it holds, with the
/// meaning `serde_json`'s own `Value` visitor gives each event (so the answer is the one
/// `deserialize::<Value>() == expected` would give): numbers as `Number::from`, a float that is
/// not finite as null, a repeated key's last value, and mappings equal whatever their order (as
/// `serde_json::Map` compares them). Strings are compared where the parser holds them.
struct Same<'a>(&'a Value);

impl<'de> serde::de::DeserializeSeed<'de> for Same<'_> {
    type Value = bool;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Same<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<bool, E> {
        Ok(self.0.as_bool() == Some(b) && self.0.is_boolean())
    }
    fn visit_i64<E>(self, n: i64) -> Result<bool, E> {
        Ok(matches!(self.0, Value::Number(x) if *x == serde_json::Number::from(n)))
    }
    fn visit_u64<E>(self, n: u64) -> Result<bool, E> {
        Ok(matches!(self.0, Value::Number(x) if *x == serde_json::Number::from(n)))
    }
    fn visit_f64<E>(self, f: f64) -> Result<bool, E> {
        Ok(match serde_json::Number::from_f64(f) {
            Some(n) => matches!(self.0, Value::Number(x) if *x == n),
            None => self.0.is_null(),
        })
    }
    fn visit_str<E>(self, s: &str) -> Result<bool, E> {
        Ok(self.0.as_str() == Some(s))
    }
    fn visit_none<E>(self) -> Result<bool, E> {
        Ok(self.0.is_null())
    }
    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(self.0.is_null())
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        serde::de::DeserializeSeed::deserialize(self, d)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        use serde::de::IgnoredAny;
        let items = self.0.as_array();
        let (mut i, mut same) = (0, items.is_some());
        loop {
            let next = match items.and_then(|a| a.get(i)) {
                Some(want) => seq.next_element_seed(Same(want))?,
                None => seq.next_element::<IgnoredAny>()?.map(|_| false),
            };
            let Some(r) = next else { break };
            same &= r;
            i += 1;
        }
        Ok(same && items.is_some_and(|a| a.len() == i))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        use serde::de::IgnoredAny;
        let want = self.0.as_object();
        // The answer for each key's last value, as the map a value parse builds keeps it.
        let mut last: HashMap<String, bool> = HashMap::new();
        while let Some(k) = map.next_key::<String>()? {
            let r = match want.and_then(|o| o.get(&k)) {
                Some(v) => map.next_value_seed(Same(v))?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                    false
                }
            };
            last.insert(k, r);
        }
        Ok(want.is_some_and(|o| o.len() == last.len()) && last.values().all(|r| *r))
    }
}

/// serde-saphyr's value, and with `want_dups` the repeated keys when there are any.
pub fn value_and_dups(
    text: &str,
    want_dups: bool,
) -> Result<(Value, Vec<DuplicateKey>), ParseError> {
    use serde_saphyr::{DuplicateKeyPolicy, Error};
    if is_blank(text) {
        return Ok((Value::Null, Vec::new()));
    }
    let e = match serde_saphyr::from_str_with_options::<Value>(
        text,
        options(DuplicateKeyPolicy::Error),
    ) {
        Ok(v) => return Ok((v, Vec::new())),
        Err(e) => e,
    };
    if let Error::NonFiniteFloat { .. } = e.without_snippet()
        && let Some(quoted) = quote_overflowing_floats(text)
    {
        // Same length per line and the same lines: positions and duplicate keys still hold.
        return value_and_dups(&quoted, want_dups);
    }
    let Error::DuplicateMappingKey { key, location } = e.without_snippet() else {
        return Err(parse_error(text, &e));
    };
    let v =
        serde_saphyr::from_str_with_options::<Value>(text, options(DuplicateKeyPolicy::LastWins))
            .map_err(|e| parse_error(text, &e))?;
    if !want_dups {
        return Ok((v, Vec::new()));
    }
    let mut dups = parse_tree_full(text)
        .ok()
        .flatten()
        .map(|root| duplicate_keys(text, &root))
        .unwrap_or_default();
    if dups.is_empty() {
        // Keys serde-saphyr finds equal that differ in text (`11` and `0xB`).
        dups.push(DuplicateKey {
            path: Vec::new(),
            key: key.clone().unwrap_or_else(|| "(a complex key)".into()),
            lines: vec![(location.line() as usize).max(1)],
        });
    }
    Ok((v, dups))
}

/// Whether a plain scalar is a number too large for a float (`1e400`, `-1_0e999`). Kubernetes
/// reads it as the string it is written as: Helm and kubectl convert YAML to JSON with
/// `sigs.k8s.io/yaml` (v1.6.0, on go-yaml v2), whose resolver (`resolve.go`, `resolve()`, as
/// in gopkg.in/yaml.v2 v2.4.0) returns a float only when `strconv.ParseFloat` succeeds, and
/// ParseFloat fails with `ErrRange` for these; the scalar then falls through to `!!str`.
/// serde-saphyr calls them non-finite floats instead. The YAML spellings `.inf` and `.nan` are
/// real infinities to go-yaml, which JSON cannot hold (`json: unsupported value`), so they
/// stay bad input.
fn overflowing_float(raw: &str) -> bool {
    let plain = raw.replace('_', "");
    plain.bytes().any(|b| b.is_ascii_digit())
        && plain
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && plain.parse::<f64>().is_ok_and(f64::is_infinite)
}

/// The document with every [`overflowing_float`] plain scalar single-quoted, so that
/// serde-saphyr reads it as the string Kubernetes reads; `None` when there is none. Each quote
/// pair replaces nothing on its line but shifts what follows by two columns, so lines stay.
fn quote_overflowing_floats(text: &str) -> Option<String> {
    fn walk(text: &str, n: &Node, out: &mut Vec<Range<usize>>) {
        match &n.kind {
            NodeKind::Scalar {
                style: ScalarStyle::Plain,
            } if text.get(n.span.clone()).is_some_and(overflowing_float) => {
                out.push(n.span.clone());
            }
            NodeKind::Map { entries, .. } => {
                for (k, v) in entries {
                    walk(text, k, out);
                    walk(text, v, out);
                }
            }
            NodeKind::Seq { items, .. } => items.iter().for_each(|i| walk(text, i, out)),
            _ => {}
        }
    }
    let root = parse_tree_full(text).ok().flatten()?;
    let mut spans = Vec::new();
    walk(text, &root, &mut spans);
    if spans.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 2 * spans.len());
    let mut at = 0;
    for s in spans {
        out.push_str(text.get(at..s.start)?);
        out.push('\'');
        out.push_str(text.get(s.clone())?);
        out.push('\'');
        at = s.end;
    }
    out.push_str(text.get(at..)?);
    Some(out)
}

fn parse_error(text: &str, e: &serde_saphyr::Error) -> ParseError {
    let (line, column) = e
        .location()
        .map_or((1, 1), |l| (l.line() as usize, l.column() as usize));
    let (line, column) = editor_position(text, line.max(1), column.max(1));
    ParseError {
        line,
        column,
        message: first_line(&e.to_string()),
    }
}

/// A parser's 1-based line and column as an editor shows them. YAML breaks lines at a lone CR
/// too (YAML 1.2.2, 5.4 "b-break"), so the parsers count one line more for each lone CR before
/// the error; editors, `grep -n` and every other line number here count LF only.
fn editor_position(text: &str, line: usize, column: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let lone_cr = |i: usize| bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n');
    if !memchr::memchr_iter(b'\r', bytes).any(lone_cr) {
        return (line, column);
    }
    // The byte where the parser's line starts: after its (line - 1)th YAML line break.
    let mut start = 0;
    let mut breaks = 0;
    let mut i = 0;
    while breaks + 1 < line && i < bytes.len() {
        if bytes[i] == b'\n' || lone_cr(i) {
            breaks += 1;
            start = i + 1;
        }
        i += 1;
    }
    if breaks + 1 < line {
        return (line, column);
    }
    let rest = &text[start..];
    let at = rest
        .char_indices()
        .nth(column - 1)
        .map_or(text.len(), |(k, _)| start + k);
    crate::stream::line_col(text, at)
}

/// Every key a mapping of the span tree repeats, in document order. Keys compare by their
/// unquoted text, as the value's mapping does (`name` and `"name"` are one key); merge keys
/// (`<<`) are not keys of the mapping.
pub fn duplicate_keys(text: &str, root: &Node) -> Vec<DuplicateKey> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
        .collect();
    let line_of = |at: usize| line_starts.partition_point(|&s| s <= at).max(1);
    walk_dups(text, root, &mut path, &mut out, &line_of);
    out.sort_by_key(|d| d.lines.last().copied());
    out
}

fn walk_dups(
    text: &str,
    n: &Node,
    path: &mut Vec<PathStep>,
    out: &mut Vec<DuplicateKey>,
    line_of: &dyn Fn(usize) -> usize,
) {
    match &n.kind {
        NodeKind::Map { entries, .. } => {
            let mut seen: HashMap<String, usize> = HashMap::new();
            let mut found: Vec<DuplicateKey> = Vec::new();
            for (k, v) in entries {
                let key = scalar_text(text, k);
                if let Some(key) = &key
                    && !(key == "<<"
                        && matches!(
                            k.kind,
                            NodeKind::Scalar {
                                style: ScalarStyle::Plain
                            }
                        ))
                {
                    let line = line_of(k.span.start);
                    match seen.get(key) {
                        Some(&i) => found[i].lines.push(line),
                        None => {
                            seen.insert(key.clone(), found.len());
                            found.push(DuplicateKey {
                                path: path.clone(),
                                key: key.clone(),
                                lines: vec![line],
                            });
                        }
                    }
                }
                path.push(PathStep::Key(key.unwrap_or_else(|| "?".into())));
                walk_dups(text, v, path, out, line_of);
                path.pop();
            }
            out.extend(found.into_iter().filter(|d| d.lines.len() > 1));
        }
        NodeKind::Seq { items, .. } => {
            for (i, item) in items.iter().enumerate() {
                path.push(PathStep::Index(i));
                walk_dups(text, item, path, out, line_of);
                path.pop();
            }
        }
        NodeKind::Scalar { .. } | NodeKind::Alias(_) => {}
    }
}

pub fn first_line(msg: &str) -> String {
    let line = msg.lines().next().unwrap_or("invalid YAML").trim();
    // serde-saphyr prefixes "error: line N column M: "; the caller adds its own position.
    let line = line.strip_prefix("error: ").unwrap_or(line);
    let line = match line.find(": ") {
        Some(i) if line[..i].starts_with("line ") => &line[i + 2..],
        _ => line,
    };
    // It also repeats the position at the end, and a hint meant for programmers.
    let line = match line.rfind(" at line ") {
        Some(i)
            if line[i + 9..].bytes().all(|b| {
                b.is_ascii_digit() || b == b',' || b == b' ' || b.is_ascii_lowercase()
            }) =>
        {
            &line[..i]
        }
        _ => line,
    };
    if line.starts_with("recursion limit exceeded") || line.starts_with("budget breached: Depth") {
        return format!("nesting deeper than the limit of {MAX_DEPTH} levels");
    }
    if line.starts_with("alias replay limit exceeded") {
        return format!(
            "aliases repeat more than the limit of {MAX_ALIAS_EVENTS} YAML events (values and \
             collection starts and ends) in one document (an alias bomb?)"
        );
    }
    // serde-saphyr names the budget it breached by its Rust name: say which limit it is.
    if let Some(breach) = line.strip_prefix("budget breached: ") {
        let name = breach.split([' ', '{']).next().unwrap_or_default();
        return match name {
            "Nodes" => format!("the document has more than the limit of {MAX_NODES} nodes"),
            "Events" => format!(
                "the document has more than the limit of {} YAML events",
                MAX_NODES * 2
            ),
            "Aliases" => {
                format!("the document has more than the limit of {MAX_ALIAS_EVENTS} aliases")
            }
            "MergeKeys" => format!(
                "the document has more than the limit of {MAX_ALIAS_EVENTS} merge keys (<<)"
            ),
            "Anchors" => format!("the document has more than the limit of {MAX_NODES} anchors"),
            "ScalarBytes" => "the document's values add up to more than the limit of 64 MiB".into(),
            _ => format!("the document passes a size limit of the YAML reader ({breach})"),
        };
    }
    if let Some(rest) = line.strip_prefix("non-finite float `") {
        let word = rest.split('`').next().unwrap_or_default();
        return format!(
            "`{word}` is YAML's infinity or NaN, which no Kubernetes field holds (JSON has no such \
             number); quote it if a string was meant"
        );
    }
    if line.starts_with("multiple YAML documents detected") {
        // YAML allows a bare document after `...`; the stream is cut at `---` lines only (as
        // Helm's and kubectl's readers cut it), so this one would hide inside the one before.
        return "a second document starts here after `...` without its own `---` line; put `---` \
                before it"
            .into();
    }
    line.to_string()
}

/// [`super::parse_tree`] by the event parser alone.
pub fn parse_tree_full(text: &str) -> Result<Option<Node>, ParseError> {
    let mut stack: Vec<Node> = Vec::new();
    // Pending key for each open mapping on the stack.
    let mut keys: Vec<Option<Node>> = Vec::new();
    let mut root = None;
    for next in Parser::new_from_str_with_options(text, event_options()) {
        let (event, span) = next.map_err(|e| {
            let (line, column) = editor_position(text, e.marker().line(), e.marker().col() + 1);
            ParseError {
                line,
                column,
                message: e.info(),
            }
        })?;
        let start = span.start.byte_offset().unwrap_or(0);
        let end = span.end.byte_offset().unwrap_or(start);
        let col = span.start.col();
        let node = match event {
            Event::Scalar(_, style, anchor, _) => Some(Node {
                span: start..end,
                col,
                kind: NodeKind::Scalar { style },
                anchor,
            }),
            Event::Alias(id) => Some(Node {
                span: start..end,
                col,
                kind: NodeKind::Alias(id),
                anchor: 0,
            }),
            Event::MappingStart(style, anchor, _) | Event::SequenceStart(style, anchor, _) => {
                let flow = style == StructureStyle::Flow;
                let kind = match event {
                    Event::MappingStart(..) => NodeKind::Map {
                        flow,
                        entries: Vec::new(),
                    },
                    _ => NodeKind::Seq {
                        flow,
                        items: Vec::new(),
                    },
                };
                stack.push(Node {
                    span: start..end,
                    col,
                    kind,
                    anchor,
                });
                keys.push(None);
                None
            }
            Event::MappingEnd | Event::SequenceEnd => {
                keys.pop();
                let mut done = stack.pop();
                if let Some(n) = done.as_mut() {
                    n.span.end = end.max(n.span.start);
                }
                done
            }
            _ => None,
        };
        let Some(node) = node else { continue };
        match stack.last_mut() {
            None => root = Some(node),
            Some(parent) => match &mut parent.kind {
                NodeKind::Seq { items, .. } => items.push(node),
                NodeKind::Map { entries, .. } => {
                    let slot = keys.last_mut().expect("a key slot per open mapping");
                    match slot.take() {
                        None => *slot = Some(node),
                        Some(key) => entries.push((key, node)),
                    }
                }
                _ => {}
            },
        }
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_breached_limit_is_named() {
        for (breach, want) in [
            (
                "Nodes { nodes: 2000001 }",
                "more than the limit of 2000000 nodes",
            ),
            ("Events { events: 4000001 }", "4000000 YAML events"),
            ("Aliases { aliases: 100001 }", "100000 aliases"),
            ("MergeKeys { merge_keys: 100001 }", "merge keys"),
            ("Anchors { anchors: 9 }", "anchors"),
        ] {
            let msg = first_line(&format!(
                "error: line 3 column 1: budget breached: {breach}"
            ));
            assert!(msg.contains(want), "{breach}: {msg}");
            assert!(!msg.contains("budget"), "{msg}");
        }
        let msg = first_line("alias replay limit exceeded: total_replayed_events=100001");
        assert!(
            msg.contains("aliases repeat more than the limit of 100000"),
            "{msg}"
        );
    }
}
