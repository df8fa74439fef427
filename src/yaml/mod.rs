//! Reading one YAML document two ways: as a value (what Kubernetes will see) and as a tree of
//! byte spans (where each node sits in the text, so edits touch only the bytes they must).
//!
//! The value comes from `serde-saphyr` with hard limits on aliases, depth and size, because the
//! input is whatever a chart rendered and an alias bomb must fail in milliseconds, not exhaust
//! memory. Legacy octal is on: Kubernetes reads `defaultMode: 0644` as 420 (YAML 1.1), and our
//! idea of a document's meaning must match the cluster's. The span tree comes from the
//! `granit-parser` events the same crate is built on.

pub mod edit;
pub mod fast;
pub mod render;
pub mod scan;

use granit_parser::{Event, Parser, ScalarStyle, StructureStyle};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

/// Limits for one document. Kubernetes objects are shallow; real charts stay far below these.
pub const MAX_DEPTH: usize = 64;
/// Maximum nodes in one document (kube-prometheus-stack's largest CRD has about 60,000).
pub const MAX_NODES: usize = 2_000_000;
/// Maximum events replayed through aliases in one document: the one alias policy of every
/// reader here. An alias costs the events of its anchor's node, counted as serde-saphyr counts
/// them (each scalar, each collection's start and its end), by [`scan`] as by the full parse, so
/// a document passes or fails alike whether or not a profile reads it. The count of aliases
/// and its ratio to anchors are not limits of their own (see [`options`]).
pub const MAX_ALIAS_EVENTS: usize = 100_000;
/// Maximum events replayed through aliases in the whole stream, counted as
/// [`MAX_ALIAS_EVENTS`] counts them. Each document under its own limit is not enough: 200
/// documents that each replay 98,000 events expanded to 2.3 GB of values. Ten documents' worth
/// (about 90 MB of values) is far above any chart, which rarely has an alias at all.
pub const MAX_STREAM_ALIAS_EVENTS: usize = 10 * MAX_ALIAS_EVENTS;

/// A parse failure with a position relative to the document text (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Event parser options: no comment events (nothing here reads them, and they cost time).
fn event_options() -> granit_parser::Options {
    let mut o = granit_parser::Options::default();
    o.emit_comments = false;
    o
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

/// Only YAML's white space: Rust's `trim` also drops characters such as a vertical tab, which
/// YAML rejects (found by fuzzing: `\t\v` passed as an empty document, then failed on re-run).
pub fn is_blank(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Parse the text of one document into its value (`Value::Null` for an empty document).
///
/// The plain text charts render goes through [`fast`]; everything else, and every
/// error, comes from serde-saphyr ([`parse_value_full`]). Debug builds (the tests) check that
/// both agree on every document the fast reader accepts.
pub fn parse_value(text: &str) -> Result<Value, ParseError> {
    if let Some(v) = fast::value(text) {
        #[cfg(debug_assertions)]
        assert_fast_agrees(text);
        return Ok(v);
    }
    parse_value_full(text)
}

/// [`parse_value`] by serde-saphyr alone.
pub fn parse_value_full(text: &str) -> Result<Value, ParseError> {
    full(text, false).map(|(v, _)| v)
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

/// The value of one document and the keys its mappings repeat (each mapping keeps the last
/// value of a repeated key, as Kubernetes does: see [`DuplicateKey`]).
pub fn read_value(text: &str) -> Result<(Value, Vec<DuplicateKey>), ParseError> {
    // The fast reader hands every document with a repeated key on, so it never has any.
    if let Some(v) = fast::value(text) {
        #[cfg(debug_assertions)]
        assert_fast_agrees(text);
        return Ok((v, Vec::new()));
    }
    full(text, true)
}

/// Documents from this size on are read back by [`reads_as`] without building their value.
const COMPARE_STREAMING_FROM: usize = 1 << 20;

/// Whether `text` reads as exactly `expected`: the engine's check that an edited document
/// means what the fixes made of it. Small documents are read as values ([`parse_value`], the
/// fast reader when it can). From [`COMPARE_STREAMING_FROM`] bytes on, serde-saphyr's events
/// are compared with `expected` as they come ([`Same`]), so a document with a 40 MB
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

/// [`reads_as`] by comparing events, `None` when it cannot decide.
fn reads_as_streaming(text: &str, expected: &Value) -> Option<bool> {
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
fn full(text: &str, want_dups: bool) -> Result<(Value, Vec<DuplicateKey>), ParseError> {
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
        return full(&quoted, want_dups);
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

fn first_line(msg: &str) -> String {
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

/// What a cheap pass over a document found: its top-level `kind`, when the document is one clean
/// block or flow mapping whose `kind` is a plain or quoted scalar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned {
    pub kind: String,
}

/// Why [`scan`] could not vouch for a document: the caller then parses it in full, which gives the
/// authoritative verdict and message (and rejects bad input quickly, since it has limits too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsure {
    /// Not valid YAML, or past one of the limits (depth, nodes, alias expansion).
    Invalid,
    /// Valid as far as we looked, but not a plain mapping with a scalar `kind` (a list, a scalar,
    /// an empty document, several documents, a duplicate key, a tagged root, ...).
    Unusual,
}

/// The events aliases replay, counted as serde-saphyr counts them (see [`MAX_ALIAS_EVENTS`]):
/// every scalar, collection start and collection end is one event, and an alias costs the
/// events of its anchor's node. One copy, used by [`scan`] and [`replayed_events`].
#[derive(Default)]
struct Replay {
    /// Events so far, each alias counted as the events it stands for.
    expanded: usize,
    replayed: usize,
    /// Events of each anchored node, by anchor id.
    sizes: HashMap<usize, usize>,
    /// Open collections: their anchor id (0 for none) and `expanded` when they started.
    open: Vec<(usize, usize)>,
}

impl Replay {
    fn scalar(&mut self, anchor: usize) {
        self.expanded += 1;
        if anchor != 0 {
            self.sizes.insert(anchor, 1);
        }
    }

    fn open(&mut self, anchor: usize) {
        self.expanded += 1;
        self.open.push((anchor, self.expanded));
    }

    fn close(&mut self) {
        // An end is replayed with its collection.
        self.expanded += 1;
        if let Some((id, start)) = self.open.pop()
            && id != 0
        {
            self.sizes.insert(id, self.expanded - start + 1);
        }
    }

    /// Count an alias; `None` when it names no anchor seen so far (invalid YAML).
    fn alias(&mut self, id: usize) -> Option<usize> {
        let n = self.sizes.get(&id).copied()?;
        self.replayed = self.replayed.saturating_add(n);
        self.expanded = self.expanded.saturating_add(n);
        Some(self.replayed)
    }
}

/// The events the aliases of one document replay (0 without any), counted as [`scan`] and
/// serde-saphyr count them, without building anything. `None` when the text is not valid YAML:
/// the full parse then names the error. The engine adds these up for the stream-wide limit
/// ([`MAX_STREAM_ALIAS_EVENTS`]) before any document becomes a value.
pub fn replayed_events(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if memchr::memchr(b'&', bytes).is_none() || memchr::memchr(b'*', bytes).is_none() {
        return Some(0);
    }
    let mut r = Replay::default();
    for next in Parser::new_from_str_with_options(text, event_options()) {
        match next.ok()?.0 {
            Event::Scalar(_, _, anchor, _) => r.scalar(anchor),
            Event::MappingStart(_, anchor, _) | Event::SequenceStart(_, anchor, _) => {
                r.open(anchor)
            }
            Event::MappingEnd | Event::SequenceEnd => r.close(),
            // Past the document's own limit: its parse reports that.
            Event::Alias(id) if r.alias(id)? > MAX_ALIAS_EVENTS => return Some(r.replayed),
            _ => {}
        }
    }
    Some(r.replayed)
}

enum ScanNode<'a> {
    /// Text, anchor, and whether it is plain (unquoted, not a block scalar).
    Scalar(Cow<'a, str>, usize, bool),
    Alias(usize),
    /// A collection starts: mapping or not, anchor.
    Open(bool, usize),
}

struct Frame<'a> {
    map: bool,
    /// For mappings: whether the next node is a key.
    want_key: bool,
    /// For mappings: the scalar keys seen. A repeated key makes the document `Unusual`, so the
    /// full parse reads it (last value wins) and names the key in a `duplicate-key` warning.
    keys: Vec<Cow<'a, str>>,
    /// The same keys once there are many (linear search stays for the usual small mappings).
    key_set: Option<HashSet<Cow<'a, str>>>,
}

impl<'a> Frame<'a> {
    /// Record a key; false when the mapping already has it.
    fn insert_key(&mut self, k: Cow<'a, str>) -> bool {
        if let Some(set) = &mut self.key_set {
            return set.insert(k);
        }
        if self.keys.contains(&k) {
            return false;
        }
        self.keys.push(k);
        if self.keys.len() > 32 {
            self.key_set = Some(self.keys.drain(..).collect());
        }
        true
    }
}

/// Whether a plain word is null or a boolean to YAML 1.1 or 1.2 (in any case), not a string.
/// Every reader here that vouches for a plain scalar being a string asks this.
pub fn null_or_bool_word(s: &str) -> bool {
    s.len() <= 5
        && ["null", "true", "false", "yes", "no", "on", "off", "y", "n"]
            .iter()
            .any(|w| s.eq_ignore_ascii_case(w))
}

/// Whether a plain scalar is YAML's infinity or NaN (`.inf`, `-.Inf`, `.NaN`, ...), as
/// serde-saphyr spells them (`parse_yaml12_non_finite_float`). JSON has no such number, and
/// Kubernetes refuses it too: go-yaml v2 reads `.inf` as +Inf, and `sigs.k8s.io/yaml`'s
/// `yamlToJSONTarget` (v1.6.0) then fails in `json.Marshal`. The cheap validators leave these
/// to the full parse, so a document is refused with a profile and without one alike.
pub fn non_finite_word(s: &str) -> bool {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    matches!(
        unsigned,
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF"
    )
}

/// The bytes the line-level readers allow in a plain key (`app.kubernetes.io/name`, `helm.sh/hook`).
pub fn is_key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/' | b'-')
}

/// Whether a plain scalar is certainly a string (YAML 1.1 and 1.2 agree): a letter first and
/// none of the null or boolean words.
fn plain_string(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) && !null_or_bool_word(s)
}

/// Validate one document by driving the event parser, without building any value: syntax,
/// nesting depth, node count, alias expansion (an alias bomb costs only the events it would
/// replay, counted, never performed). A repeated key is not an error (see [`DuplicateKey`]) but
/// is `Unusual`: the full parse then reads the document and reports the key. Used for documents
/// no profile reads, so they are checked at a fraction of the cost of a full parse and copied
/// through byte for byte.
pub fn scan(text: &str) -> Result<Scanned, Unsure> {
    if let Some(kind) = scan::scan(text) {
        return Ok(Scanned { kind });
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut replay = Replay::default();
    let mut events: usize = 0;
    let mut roots = 0;
    let mut kind: Option<String> = None;
    let mut kind_next = false;
    for next in Parser::new_from_str_with_options(text, event_options()) {
        let (event, _) = next.map_err(|_| Unsure::Invalid)?;
        events += 1;
        if events > MAX_NODES * 2 {
            return Err(Unsure::Invalid);
        }
        let node = match event {
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop().ok_or(Unsure::Invalid)?;
                replay.close();
                continue;
            }
            Event::Scalar(v, style, anchor, None) => {
                ScanNode::Scalar(v, anchor, style == ScalarStyle::Plain)
            }
            Event::Alias(id) => ScanNode::Alias(id),
            Event::MappingStart(_, anchor, None) => ScanNode::Open(true, anchor),
            Event::SequenceStart(_, anchor, None) => ScanNode::Open(false, anchor),
            // Tags are rare in manifests: leave their meaning to the full parse.
            Event::Scalar(..) | Event::MappingStart(..) | Event::SequenceStart(..) => {
                return Err(Unsure::Unusual);
            }
            _ => continue,
        };
        // Where this node sits in its parent.
        let at_root = stack.len() == 1;
        // An infinity is no JSON value, so the full parse refuses it: do not vouch for it.
        if let ScanNode::Scalar(t, _, true) = &node
            && !stack.last().is_some_and(|p| p.map && p.want_key)
            && non_finite_word(t)
        {
            return Err(Unsure::Invalid);
        }
        match stack.last_mut() {
            None => {
                roots += 1;
                if roots > 1 || !matches!(node, ScanNode::Open(true, _)) {
                    return Err(Unsure::Unusual);
                }
            }
            Some(parent) if parent.map && parent.want_key => {
                parent.want_key = false;
                // Only string keys: a null, collection or alias key fails the full parse.
                let ScanNode::Scalar(k, _, plain) = &node else {
                    return Err(Unsure::Unusual);
                };
                if *plain && matches!(k.as_ref(), "" | "~" | "null" | "Null" | "NULL") {
                    return Err(Unsure::Unusual);
                }
                if at_root && k == "kind" {
                    kind_next = true;
                }
                if !parent.insert_key(k.clone()) {
                    return Err(Unsure::Unusual);
                }
            }
            Some(parent) if parent.map => {
                parent.want_key = true;
                if at_root && kind_next {
                    kind_next = false;
                    match &node {
                        // A plain kind must read as a string: not null (the parser reports an
                        // empty value as `~`), a boolean or a number.
                        ScanNode::Scalar(k, _, plain)
                            if !k.is_empty() && (!*plain || plain_string(k)) =>
                        {
                            kind = Some(k.to_string());
                        }
                        _ => return Err(Unsure::Unusual),
                    }
                }
            }
            Some(_) => {}
        }
        match node {
            ScanNode::Scalar(_, anchor, _) => replay.scalar(anchor),
            ScanNode::Alias(id) => {
                if replay.alias(id).ok_or(Unsure::Invalid)? > MAX_ALIAS_EVENTS {
                    return Err(Unsure::Invalid);
                }
            }
            ScanNode::Open(map, anchor) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(Unsure::Invalid);
                }
                replay.open(anchor);
                stack.push(Frame {
                    map,
                    want_key: true,
                    keys: Vec::new(),
                    key_set: None,
                });
            }
        }
    }
    match kind {
        Some(kind) if roots == 1 && stack.is_empty() => Ok(Scanned { kind }),
        _ => Err(Unsure::Unusual),
    }
}

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

/// Build the span tree of the (single) document in `text`. Returns `None` for an empty document.
/// Errors are unexpected here because the value parse already validated the text.
/// The span tree of one document (`None` when it is empty), by [`fast`] when it can
/// and the event parser otherwise ([`parse_tree_full`]); debug builds check both agree.
pub fn parse_tree(text: &str) -> Result<Option<Node>, ParseError> {
    if let Some((_, root)) = fast::tree(text) {
        #[cfg(debug_assertions)]
        assert_fast_agrees(text);
        return Ok(Some(root));
    }
    parse_tree_full(text)
}

/// The value and the span tree of one document in one pass when [`fast`] can read it
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

/// How [`fast`] and the full parsers disagree on a document the fast reader accepts:
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

#[cfg(debug_assertions)]
fn assert_fast_agrees(text: &str) {
    if let Some(d) = fast_disagreement(text) {
        panic!("fastyaml: {d}\nin:\n{text}");
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

/// [`parse_tree`] by the event parser alone.
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
            Event::MappingStart(style, anchor, _) => {
                stack.push(Node {
                    span: start..end,
                    col,
                    kind: NodeKind::Map {
                        flow: style == StructureStyle::Flow,
                        entries: Vec::new(),
                    },
                    anchor,
                });
                keys.push(None);
                None
            }
            Event::SequenceStart(style, anchor, _) => {
                stack.push(Node {
                    span: start..end,
                    col,
                    kind: NodeKind::Seq {
                        flow: style == StructureStyle::Flow,
                        items: Vec::new(),
                    },
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
