//! Vouching for a document no profile reads, without building its value: is it valid, within
//! the limits, and what is its top-level `kind`? Such documents (ConfigMaps, CRDs, rules: most
//! of the bytes of a stream) are then copied through byte for byte. Two passes, the cheaper
//! first, and the full parse ([`super::full`]) behind both, which gives the verdict and the
//! message whenever they are not sure:
//!
//! 1. [`lines`], a line-level validator for the plainest YAML, the shape almost every rendered
//!    manifest has: block mappings and sequences indented with spaces, plain keys, one-line
//!    plain or quoted values, and `|`/`>` block scalars (where dashboards, rules and scripts
//!    keep their bytes). It answers only "certainly valid, and this is its top-level kind" or
//!    "not sure": anything outside that subset (flow collections, anchors, aliases, tags,
//!    multi-line plain or quoted scalars, quoted keys, tabs, control characters, odd
//!    indentation, ...) is "not sure". It never builds a value and never allocates per line, so
//!    it runs at a few hundred MB/s where the event parser manages a few tens.
//! 2. [`scan`] drives the event parser and counts what the full parse would refuse.
//!
//! The fuzz target `split_edit` checks that whatever [`scan`] accepts the full parse accepts with
//! the same kind.

use super::lex::{
    CHEAP_MAX_DEPTH, KeySet, MAX_ALIAS_EVENTS, MAX_DEPTH, MAX_NODES, event_options, is_key_byte,
    non_finite_word, null_or_bool_word, odd_chars, plain_string, quote_close, simple_escape,
};
use granit_parser::{Event, Parser, ScalarStyle};
use std::borrow::Cow;
use std::collections::HashMap;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    Map,
    Seq,
}

struct Level<'a> {
    indent: usize,
    block: Block,
    /// Keys seen in this mapping (plain keys only, so the text is the key). A repeated key is
    /// valid (the last value wins) but "not sure": the full parse reads the document, so the
    /// key is named in a `duplicate-key` warning and a profile's edit finds its last copy.
    keys: KeySet<&'a str>,
}

impl<'a> Level<'a> {
    fn new(indent: usize, block: Block) -> Level<'a> {
        Level {
            indent,
            block,
            keys: KeySet::default(),
        }
    }
}

/// Where a plain value's comment starts (its ` #`), and whether the text before it holds a
/// `: ` or a tab: one pass over the bytes, as this runs for most lines of a stream.
fn plain_parts(b: &[u8]) -> (usize, bool) {
    let mut odd = false;
    for i in 0..b.len() {
        match b[i] {
            b'#' if i > 0 && b[i - 1] == b' ' => return (i - 1, odd),
            b':' if b.get(i + 1) == Some(&b' ') => odd = true,
            b'\t' => odd = true,
            _ => {}
        }
    }
    (b.len(), odd)
}

/// What follows `key:` or `- ` on a line.
enum Value {
    /// Nothing (a nested block follows, or the value is null).
    Empty,
    /// A complete one-line scalar.
    Scalar,
    /// `|` or `>` with optional chomping: a block scalar follows.
    BlockScalar,
    /// A quoted scalar (this quote) that goes on past the line, as the long alert descriptions of
    /// rule files do.
    OpenQuote(u8),
}

/// Strip a trailing comment (` #...`) and spaces from a value that is not quoted.
fn classify(v: &str) -> Option<Value> {
    let v = v.trim_matches(' ');
    if v.is_empty() || v.starts_with('#') {
        return Some(Value::Empty);
    }
    let b = v.as_bytes();
    if matches!(b[0], b'{' | b'[') {
        let bare = v.find(" #").map_or(v, |i| &v[..i]).trim_end_matches(' ');
        if bare == "{}" || bare == "[]" {
            return Some(Value::Scalar);
        }
    }
    match b[0] {
        q @ (b'"' | b'\'') => match quote_close(&b[1..], q, simple_escape).ok()? {
            Some(i) => rest_is_comment(&v[i + 2..]).then_some(Value::Scalar),
            None => Some(Value::OpenQuote(q)),
        },
        b'|' | b'>' => {
            let rest = v[1..].strip_prefix(['-', '+']).unwrap_or(&v[1..]);
            rest_is_comment(rest).then_some(Value::BlockScalar)
        }
        b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'%' | b'@' | b'`' | b','
        | b'?' | b':' => None,
        b'-' if b.get(1).is_none_or(|c| *c == b' ') => None,
        _ => {
            let (end, odd) = plain_parts(b);
            let text = &v[..end];
            let infinity = matches!(b[0], b'.' | b'-' | b'+') && non_finite_word(text);
            (!odd && !infinity && !text.ends_with(':')).then_some(Value::Scalar)
        }
    }
}

/// Nothing, or spaces then nothing or a comment (a comment needs a space before it).
fn rest_is_comment(rest: &str) -> bool {
    let trimmed = rest.trim_start_matches(' ');
    trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < rest.len())
}

/// `key: rest` at the start of `s`: the key and what follows the colon.
fn split_key(s: &str) -> Option<(&str, &str)> {
    let b = s.as_bytes();
    if !(b.first()?.is_ascii_alphabetic() || b[0] == b'_') {
        return None;
    }
    let end = b.iter().position(|c| !is_key_byte(*c))?;
    if b[end] != b':' || !matches!(b.get(end + 1), None | Some(b' ')) {
        return None;
    }
    let key = &s[..end];
    (!null_or_bool_word(key)).then(|| (key, s.get(end + 1..).unwrap_or("")))
}

/// The top-level kind of a document in the simple subset, or `None` when not sure.
pub fn lines(text: &str) -> Option<String> {
    if odd_chars(text.as_bytes()) {
        return None;
    }
    let mut stack: Vec<Level> = Vec::new();
    // The last entry opened a nested block (`key:` with nothing after it).
    let mut pending = false;
    // Inside a block scalar: the indent its content must exceed, and its content indent once known.
    let mut block: Option<(usize, Option<usize>)> = None;
    let mut kind: Option<&str> = None;
    let mut started = false;
    // Inside a quoted scalar that spans lines: its quote, and the indent its lines must exceed.
    let mut quoted: Option<(u8, usize)> = None;
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let content = line.trim_start_matches(' ');
        let indent = line.len() - content.len();
        if let Some((q, parent)) = quoted {
            if content.is_empty() {
                continue;
            }
            if indent <= parent || memchr::memchr(b'\t', content.as_bytes()).is_some() {
                return None;
            }
            if let Some(i) = quote_close(content.as_bytes(), q, simple_escape).ok()? {
                if !rest_is_comment(&content[i + 1..]) {
                    return None;
                }
                quoted = None;
            }
            continue;
        }
        if let Some((parent, content_indent)) = block {
            if content.is_empty() {
                // A blank line before the first content line must not carry spaces.
                if content_indent.is_none() && indent > 0 {
                    return None;
                }
                continue;
            }
            if indent > parent {
                match content_indent {
                    None => block = Some((parent, Some(indent))),
                    Some(c) if indent < c => return None,
                    Some(_) => {}
                }
                continue;
            }
            block = None;
        }
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if memchr::memchr(b'\t', content.as_bytes()).is_some() {
            return None;
        }
        if !started && indent == 0 && line.starts_with("---") {
            if !rest_is_comment(&line[3..]) {
                return None;
            }
            continue;
        }
        started = true;
        // Close blocks this line is outside of.
        while let Some(top) = stack.last() {
            let is_dash = content.starts_with("- ") || content == "-";
            if top.indent > indent || (top.block == Block::Seq && top.indent == indent && !is_dash)
            {
                stack.pop();
                if pending {
                    return None;
                }
            } else {
                break;
            }
        }
        // `key:` then `{}` or `[]` on a line of its own, more indented.
        if pending && stack.last().is_some_and(|t| indent > t.indent) {
            let bare = content
                .find(" #")
                .map_or(content, |i| &content[..i])
                .trim_end_matches(' ');
            if bare == "{}" || bare == "[]" {
                pending = false;
                continue;
            }
        }
        let (mut rest, mut col) = (content, indent);
        if let Some(item) = content.strip_prefix("- ") {
            match stack.last() {
                Some(top) if top.block == Block::Seq && top.indent == indent && !pending => {}
                Some(top) if pending && top.block == Block::Map && indent >= top.indent => {
                    stack.push(Level::new(indent, Block::Seq));
                }
                _ => return None,
            }
            pending = false;
            let item_start = item.trim_start_matches(' ');
            col = indent + 2 + (item.len() - item_start.len());
            rest = item_start;
            if split_key(rest).is_none() {
                match classify(rest)? {
                    Value::Scalar => continue,
                    Value::OpenQuote(q) => {
                        quoted = Some((q, indent));
                        continue;
                    }
                    // `- ` alone, `- |`, `- - x`: leave them to the parser.
                    Value::Empty | Value::BlockScalar => return None,
                }
            }
            stack.push(Level::new(col, Block::Map));
        } else {
            match stack.last() {
                Some(top) if top.block == Block::Map && top.indent == col => {}
                Some(top) if pending && col > top.indent => stack.push(Level::new(col, Block::Map)),
                None if col == 0 => stack.push(Level::new(0, Block::Map)),
                _ => return None,
            }
        }
        pending = false;
        if stack.len() > CHEAP_MAX_DEPTH {
            return None;
        }
        let (key, value) = split_key(rest)?;
        let top = stack.last_mut()?;
        if !top.keys.insert(key) {
            return None;
        }
        let root = stack.len() == 1;
        match classify(value)? {
            Value::Empty => {
                if root && key == "kind" {
                    return None;
                }
                pending = true;
            }
            Value::Scalar => {
                if root && key == "kind" {
                    let v = value.trim_start_matches(' ');
                    let v = v.find(" #").map_or(v, |i| &v[..i]).trim_end_matches(' ');
                    // A letter first and no YAML 1.1 word: `kind: 1000` is a number, `kind: On`
                    // a boolean (found by fuzzing).
                    if !v.bytes().all(|c| c.is_ascii_alphanumeric()) || !plain_string(v) {
                        return None;
                    }
                    kind = Some(v);
                }
            }
            Value::BlockScalar => {
                if root && key == "kind" {
                    return None;
                }
                // Content must be indented past the key's own column.
                block = Some((col, None));
            }
            Value::OpenQuote(q) => {
                if root && key == "kind" {
                    return None;
                }
                // So must the lines that continue the scalar.
                quoted = Some((q, col));
            }
        }
    }
    if quoted.is_some() {
        return None;
    }
    kind.map(str::to_string)
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
/// ([`super::MAX_STREAM_ALIAS_EVENTS`]) before any document becomes a value.
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
    keys: KeySet<Cow<'a, str>>,
}

/// Validate one document by driving the event parser, without building any value: syntax,
/// nesting depth, node count, alias expansion (an alias bomb costs only the events it would
/// replay, counted, never performed). A repeated key is not an error (see
/// [`DuplicateKey`](super::DuplicateKey)) but
/// is `Unusual`: the full parse then reads the document and reports the key. Used for documents
/// no profile reads, so they are checked at a fraction of the cost of a full parse and copied
/// through byte for byte.
pub fn scan(text: &str) -> Result<Scanned, Unsure> {
    if let Some(kind) = lines(text) {
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
                if !parent.keys.insert(k.clone()) {
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
                    keys: KeySet::default(),
                });
            }
        }
    }
    match kind {
        Some(kind) if roots == 1 && stack.is_empty() => Ok(Scanned { kind }),
        _ => Err(Unsure::Unusual),
    }
}

/// The top-level `kind:` of a document, read off its lines without parsing (only plain names that
/// cannot be anything but a string). [`scan`] confirms it before the
/// caller copies the document through unread.
pub fn sniff_kind(text: &str) -> Option<&str> {
    let mut rest = text;
    let line = loop {
        if let Some(l) = rest.strip_prefix("kind:") {
            break l;
        }
        let i = memchr::memmem::find(rest.as_bytes(), b"\nkind:")?;
        rest = &rest[i + 1..];
    };
    let line = &line[..line.find('\n').unwrap_or(line.len())];
    let line = line.strip_suffix('\r').unwrap_or(line);
    let value = match line.find(" #") {
        Some(i) => &line[..i],
        None => line,
    }
    .trim_matches([' ', '\t']);
    let plain = value.as_bytes().first().is_some_and(u8::is_ascii_uppercase)
        && value.bytes().all(|b| b.is_ascii_alphanumeric())
        && plain_string(value);
    plain.then_some(value)
}

#[cfg(test)]
mod tests {
    use super::lines;

    #[test]
    fn plain_manifests_are_vouched_for() {
        let cm = "---\n# Source: c/t.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a # c\n  labels:\n    app.kubernetes.io/name: x\ndata:\n  a.json: |-\n    {\"a\": 1}\n\n    # not a comment\n  b: \"yes\"\n  c: 'it''s'\n";
        assert_eq!(lines(cm).as_deref(), Some("ConfigMap"));
        let rule = "kind: PrometheusRule\nspec:\n  groups:\n  - name: g\n    rules:\n    - alert: A\n      expr: |\n        up == 0\n      for: 5m\n    - record: r\n";
        assert_eq!(lines(rule).as_deref(), Some("PrometheusRule"));
    }

    /// Rule files carry long alert descriptions as quoted scalars over several lines.
    #[test]
    fn quoted_scalars_over_several_lines_are_vouched_for() {
        let docs = [
            "kind: PrometheusRule\nspec:\n  rules:\n  - alert: A\n    annotations:\n      description: 'CPU at {{ $value }}%\n        for 15 minutes, it''s high.'\n      summary: x\n",
            "kind: A\nb: \"open \\\"q\\\"\n\n  # not a comment\n  close\" # a comment\nc: 1\n",
            "kind: A\nl:\n- 'one\n  two'\n- three\n",
        ];
        for doc in docs {
            let kind = lines(doc);
            assert!(kind.is_some(), "{doc:?}");
            let v = super::super::full::parse_value_full(doc).unwrap();
            assert_eq!(v["kind"].as_str(), kind.as_deref(), "{doc:?}");
        }
    }

    #[test]
    fn anything_unusual_is_left_to_the_parser() {
        for doc in [
            "kind: A\nb: [1, 2]\n",
            "kind: A\nb: &x 1\nc: *x\n",
            "kind: A\nb: 1\nb: 2\n",
            "kind: A\n\tb: 1\n",
            "kind: A\nb: one\n  two\n",
            "kind: A\nb: 'open\nclose'\n",
            "kind: A\nb: 'open\n",
            "kind: A\nb: \"a\\\n  b\"\n",
            "kind: 'A\n  B'\n",
            "kind: A\nb: 'a\n  b' c\n",
            "- a\n",
            "kind: A\n~: 1\n",
            "kind: A\nb:\n  c: 1\n d: 2\n",
            "kind: A\nb: |\n    x\n  y\n",
            "kind: A\nb: a: b\n",
            "kind: A\n...\n",
            "kind: A\nb: \u{85}\n",
            "kind: A\nb: x\u{2028}y\n",
            "kind: \"A\"\n",
            "kind: A\nb: |-# no space before the comment\n",
            "kind: A\nb: \"x\"# no space\n",
        ] {
            assert_eq!(lines(doc), None, "{doc:?}");
        }
    }
}
