//! A fast reader for the plain YAML that charts render, giving the same value and span tree as
//! the full parsers in [`super::full`], or nothing.
//!
//! Pod specs, claims and monitoring CRs are the documents the profiles read, and serde-saphyr
//! needs about a thousand instructions per byte to turn them into values (the span tree from the
//! event parser costs as much again, and every changed document is parsed twice more). This
//! reader walks the text line by line and understands only the subset a template engine writes:
//! block mappings and sequences indented with spaces, plain keys, one-line plain, quoted and
//! flow values, and `|` block scalars. Anything else (anchors, aliases, tags, tabs, CRLF,
//! multi-line plain or quoted scalars, `>` scalars, explicit indentation, duplicate keys, odd
//! indentation, errors of any kind) makes it answer `None`, and the caller asks the full parser,
//! which also writes every error message. So it never decides that input is bad.
//!
//! Plain scalars it cannot type with certainty (`0.5`, `yes`, `0x1f`, `1:20`, ...) are typed by
//! serde-saphyr itself, one scalar at a time, and remembered, so YAML 1.1 quirks stay identical.
//! Debug builds compare every answer with the full parsers (see [`super::parse_value`]), so
//! the whole test suite checks the two agree; the fuzz target `fast_parse` does the same on
//! arbitrary input.

use super::lex::{
    CHEAP_MAX_DEPTH, CHEAP_MAX_NODES, is_key_byte, null_or_bool_word, odd_chars, plain_string,
    quote_close,
};
use super::tree::{Node, NodeKind};
use granit_parser::ScalarStyle;
use serde_json::{Map, Number, Value};
use std::cell::RefCell;
use std::collections::HashMap;

/// Distinct plain scalars remembered with their serde-saphyr type.
const CACHE: usize = 4096;

/// Not in the subset: the full parser decides.
struct Bail;

type R<T> = Result<T, Bail>;

thread_local! {
    static TYPED: RefCell<HashMap<String, Value>> = RefCell::new(HashMap::new());
}

/// The value of one document, if the text is in the subset.
pub fn value(text: &str) -> Option<Value> {
    read(text, false).map(|(v, _)| v)
}

/// The span tree of one document (and its value), if the text is in the subset.
pub fn tree(text: &str) -> Option<(Value, Node)> {
    read(text, true)
}

fn read(text: &str, tree: bool) -> Option<(Value, Node)> {
    read_at(text, tree).ok()
}

/// Where the reader gave up (the byte offset of the line it was on), for finding out which
/// construct sends a document to the full parser.
pub fn gives_up_at(text: &str) -> Option<usize> {
    read_at(text, true).err()
}

fn read_at(text: &str, tree: bool) -> Result<(Value, Node), usize> {
    // Tabs and carriage returns too: the line model here has neither.
    let b = text.as_bytes();
    if odd_chars(b) || memchr::memchr2(b'\t', b'\r', b).is_some() {
        return Err(0);
    }
    let mut p = Reader {
        t: text,
        b: text.as_bytes(),
        pos: 0,
        tree,
        depth: 0,
        nodes: 0,
    };
    p.document().map_err(|_| p.pos)
}

/// A line that holds content: where it starts, its indentation and where its text starts.
#[derive(Clone, Copy)]
struct Line {
    start: usize,
    indent: usize,
}

impl Line {
    fn content(&self) -> usize {
        self.start + self.indent
    }
}

struct Reader<'a> {
    t: &'a str,
    b: &'a [u8],
    /// Start of the line to read next.
    pos: usize,
    tree: bool,
    depth: usize,
    nodes: usize,
}

fn scalar_node(span: std::ops::Range<usize>, col: usize, style: ScalarStyle) -> Node {
    Node {
        span,
        col,
        kind: NodeKind::Scalar { style },
        anchor: 0,
    }
}

impl<'a> Reader<'a> {
    fn line_end(&self, from: usize) -> usize {
        memchr::memchr(b'\n', &self.b[from..]).map_or(self.b.len(), |i| from + i)
    }

    fn next_line(&self, from: usize) -> usize {
        memchr::memchr(b'\n', &self.b[from..]).map_or(self.b.len(), |i| from + i + 1)
    }

    /// Column of a byte position, in characters (as the event parser counts).
    fn col(&self, pos: usize) -> usize {
        let start = memchr::memrchr(b'\n', &self.b[..pos]).map_or(0, |i| i + 1);
        let prefix = &self.b[start..pos];
        if prefix.is_ascii() {
            prefix.len()
        } else {
            self.t[start..pos].chars().count()
        }
    }

    /// The next line with content from `self.pos` on, skipping blank and comment-only lines
    /// (`self.pos` is left at its start); `None` at the end of the text.
    fn peek(&mut self) -> Option<Line> {
        while self.pos < self.b.len() {
            let start = self.pos;
            let mut i = start;
            while i < self.b.len() && self.b[i] == b' ' {
                i += 1;
            }
            match self.b.get(i) {
                None => {
                    self.pos = self.b.len();
                    return None;
                }
                Some(b'\n') | Some(b'#') => self.pos = self.next_line(i),
                Some(_) => {
                    return Some(Line {
                        start,
                        indent: i - start,
                    });
                }
            }
        }
        None
    }

    /// The end of a value on its line: only spaces and a comment may follow. Moves to the next line.
    fn finish_line(&mut self, mut i: usize) -> R<()> {
        while i < self.b.len() && self.b[i] == b' ' {
            i += 1;
        }
        match self.b.get(i) {
            None => self.pos = i,
            Some(b'\n') => self.pos = i + 1,
            Some(b'#') if self.b[i - 1] == b' ' => self.pos = self.next_line(i),
            Some(_) => return Err(Bail),
        }
        Ok(())
    }

    fn count(&mut self) -> R<()> {
        self.nodes += 1;
        if self.nodes > CHEAP_MAX_NODES {
            return Err(Bail);
        }
        Ok(())
    }

    /// One level deeper, for a block collection: give up past [`CHEAP_MAX_DEPTH`].
    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > CHEAP_MAX_DEPTH {
            return Err(Bail);
        }
        self.count()
    }

    fn document(&mut self) -> R<(Value, Node)> {
        // An optional `---` line, then the root mapping at column 0.
        if let Some(l) = self.peek()
            && l.indent == 0
            && self.b[l.start..].starts_with(b"---")
        {
            let after = l.start + 3;
            match self.b.get(after) {
                None | Some(b'\n') | Some(b' ') => self.finish_line(after)?,
                Some(_) => return Err(Bail),
            }
        }
        let Some(l) = self.peek() else {
            return Err(Bail);
        };
        if l.indent != 0 || self.key_at(l.start).is_none() {
            return Err(Bail);
        }
        let out = self.map(0, l.start)?;
        // Nothing may follow but a `...` line and comments.
        if let Some(l) = self.peek() {
            let after = l.start + 3;
            if l.indent != 0
                || !self.b[l.start..].starts_with(b"...")
                || !matches!(self.b.get(after), None | Some(b'\n') | Some(b' '))
            {
                return Err(Bail);
            }
            self.finish_line(after)?;
            if self.peek().is_some() {
                return Err(Bail);
            }
        }
        Ok(out)
    }

    /// Where a key that starts at `i` ends, and where its value starts (after `: `), if the line
    /// holds a key there. Plain keys are restricted to names that are certainly strings.
    fn key_at(&self, i: usize) -> Option<(usize, usize, ScalarStyle)> {
        let b = self.b;
        let (end, style) = match b.get(i)? {
            b'"' | b'\'' => {
                let q = b[i];
                let close = self.quoted_end(i)?;
                (
                    close,
                    if q == b'"' {
                        ScalarStyle::DoubleQuoted
                    } else {
                        ScalarStyle::SingleQuoted
                    },
                )
            }
            c if c.is_ascii_alphabetic() || *c == b'_' => {
                let mut e = i + 1;
                while e < b.len() && is_key_byte(b[e]) {
                    e += 1;
                }
                if null_or_bool_word(&self.t[i..e]) {
                    return None;
                }
                (e, ScalarStyle::Plain)
            }
            _ => return None,
        };
        if b.get(end) != Some(&b':') {
            return None;
        }
        match b.get(end + 1) {
            None | Some(b'\n') | Some(b' ') => Some((end, end + 1, style)),
            _ => None,
        }
    }

    /// The position after the closing quote of a one-line quoted scalar starting at `i`. Any
    /// escape passes here: [`unquote`] decodes them, and hands on the ones it does not know.
    fn quoted_end(&self, i: usize) -> Option<usize> {
        let line = &self.b[i + 1..self.line_end(i)];
        let close = quote_close(line, self.b[i], |_| true).ok()??;
        Some(i + 1 + close + 1)
    }

    fn key_value(&self, start: usize, end: usize, style: ScalarStyle) -> R<String> {
        match style {
            ScalarStyle::Plain => Ok(self.t[start..end].to_string()),
            _ => unquote(&self.t[start..end]),
        }
    }

    /// A block mapping whose keys sit at column `indent`; the first key starts at `first`
    /// (which is not at the start of its line when the mapping follows a `- `).
    fn map(&mut self, indent: usize, first: usize) -> R<(Value, Node)> {
        self.enter()?;
        let mut pairs = Vec::new();
        let mut entries = Vec::new();
        let mut at = first;
        loop {
            let (kend, after, style) = self.key_at(at).ok_or(Bail)?;
            let key = self.key_value(at, kend, style)?;
            self.count()?;
            let knode = scalar_node(at..kend, indent, style);
            let (v, vnode) = self.map_value(indent, at, kend, after, style)?;
            if self.tree {
                entries.push((knode, vnode));
            }
            pairs.push((key, v));
            // The next key at this indentation, or the end of the mapping.
            match self.peek() {
                Some(l) if l.indent == indent => {
                    if matches!(self.b[l.content()], b'-') && self.dash_at(l.content()) {
                        // A sequence entry where a key belongs: the caller's business (a mapping
                        // inside `- ` ends here) or an error.
                        break;
                    }
                    if indent == 0 && self.b[l.start..].starts_with(b"...") {
                        // The end of the document: `document` checks the rest.
                        break;
                    }
                    at = l.content();
                }
                Some(l) if l.indent > indent => return Err(Bail),
                _ => break,
            }
        }
        self.depth -= 1;
        let end = self.peek().map_or(self.b.len(), |l| l.content());
        let node = Node {
            span: first..end,
            col: indent,
            kind: NodeKind::Map {
                flow: false,
                entries,
            },
            anchor: 0,
        };
        Ok((Value::Object(exact_map(pairs)?), node))
    }

    /// Whether a `-` at `i` starts a sequence entry.
    fn dash_at(&self, i: usize) -> bool {
        self.b[i] == b'-' && matches!(self.b.get(i + 1), None | Some(b' ') | Some(b'\n'))
    }

    /// The value of the key at `kstart..kend` of a mapping at `indent`; `after` is just past the colon.
    fn map_value(
        &mut self,
        indent: usize,
        kstart: usize,
        kend: usize,
        after: usize,
        style: ScalarStyle,
    ) -> R<(Value, Node)> {
        let mut i = after;
        while i < self.b.len() && self.b[i] == b' ' {
            i += 1;
        }
        if matches!(self.b.get(i), None | Some(b'\n') | Some(b'#')) {
            // The value is on the lines below, or empty.
            self.finish_line(i)?;
            return match self.peek() {
                Some(l) if l.indent > indent => {
                    if self.dash_at(l.content()) {
                        self.seq(l.indent, false)
                    } else if matches!(self.b[l.content()], b'[' | b'{') {
                        // `key:` with its flow value on the next line.
                        self.inline(l.content(), indent)
                    } else {
                        self.map(l.indent, l.content())
                    }
                }
                Some(l) if l.indent == indent && self.dash_at(l.content()) => {
                    self.seq(indent, true)
                }
                _ => {
                    if style != ScalarStyle::Plain {
                        return Err(Bail);
                    }
                    self.count()?;
                    let col = indent + (kend - kstart);
                    Ok((
                        Value::Null,
                        scalar_node(kend..kend, col, ScalarStyle::Plain),
                    ))
                }
            };
        }
        self.inline(i, indent)
    }

    /// A block sequence whose dashes sit at column `indent`. The event parser starts the span of
    /// an indented sequence at its first dash, and that of a sequence at its key's indentation
    /// (`key:` then `- a` below it) at its first item: `compact` says which this is.
    fn seq(&mut self, indent: usize, compact: bool) -> R<(Value, Node)> {
        self.enter()?;
        let mut items = Vec::new();
        let mut nodes = Vec::new();
        let mut start = None;
        let mut col = None;
        while let Some(l) = self.peek() {
            if l.indent != indent || !self.dash_at(l.content()) {
                if l.indent > indent {
                    return Err(Bail);
                }
                break;
            }
            let mut i = l.content() + 1;
            while i < self.b.len() && self.b[i] == b' ' {
                i += 1;
            }
            let (v, n) = if matches!(self.b.get(i), None | Some(b'\n') | Some(b'#')) {
                if compact && start.is_none() {
                    // The event parser starts such a sequence after the dash (found by fuzzing).
                    return Err(Bail);
                }
                self.finish_line(i)?;
                match self.peek() {
                    Some(m) if m.indent > indent => {
                        if self.dash_at(m.content()) {
                            self.seq(m.indent, false)?
                        } else {
                            self.map(m.indent, m.content())?
                        }
                    }
                    _ => return Err(Bail),
                }
            } else if self.dash_at(i) {
                return Err(Bail);
            } else if self.key_at(i).is_some() {
                let col = self.col(i);
                self.map(col, i)?
            } else {
                self.inline(i, indent)?
            };
            if compact {
                start.get_or_insert(n.span.start);
                col.get_or_insert(n.col);
            } else {
                start.get_or_insert(l.content());
                col.get_or_insert(indent);
            }
            items.push(v);
            if self.tree {
                nodes.push(n);
            }
        }
        self.depth -= 1;
        let end = self.peek().map_or(self.b.len(), |l| l.content());
        let node = Node {
            span: start.unwrap_or(end)..end,
            col: col.unwrap_or(indent),
            kind: NodeKind::Seq {
                flow: false,
                items: nodes,
            },
            anchor: 0,
        };
        items.shrink_to_fit();
        Ok((Value::Array(items), node))
    }

    /// A value that starts on the current line at `i`, inside a block collection at `indent`.
    fn inline(&mut self, i: usize, indent: usize) -> R<(Value, Node)> {
        self.count()?;
        let col = self.col(i);
        match self.b[i] {
            b'"' | b'\'' => {
                let end = self.quoted_end(i).ok_or(Bail)?;
                let v = unquote(&self.t[i..end])?;
                self.finish_line(end)?;
                let style = if self.b[i] == b'"' {
                    ScalarStyle::DoubleQuoted
                } else {
                    ScalarStyle::SingleQuoted
                };
                Ok((Value::String(v), scalar_node(i..end, col, style)))
            }
            b'[' | b'{' => {
                let mut f = Flow { r: self, i };
                let out = f.node(0)?;
                let end = f.i;
                self.finish_line(end)?;
                Ok(out)
            }
            b'|' => self.literal(i, indent),
            b'>' | b'&' | b'*' | b'!' | b'%' | b'@' | b'`' | b',' | b']' | b'}' => Err(Bail),
            b'-' | b'?' | b':' if matches!(self.b.get(i + 1), None | Some(b' ') | Some(b'\n')) => {
                Err(Bail)
            }
            _ => {
                let le = self.line_end(i);
                let line = &self.b[i..le];
                let mut end = line.len();
                if let Some(h) = memchr::memmem::find(line, b" #") {
                    end = h;
                }
                let text = &line[..end];
                if memchr::memmem::find(text, b": ").is_some() {
                    return Err(Bail);
                }
                let text = self.t[i..i + end].trim_end_matches(' ');
                if text.ends_with(':') {
                    return Err(Bail);
                }
                let v = plain(text)?;
                let end = i + text.len();
                self.finish_line(end)?;
                Ok((v, scalar_node(i..end, col, ScalarStyle::Plain)))
            }
        }
    }

    /// A `|`, `|-` or `|+` block scalar whose indicator is at `i`, under a collection at `indent`.
    fn literal(&mut self, i: usize, indent: usize) -> R<(Value, Node)> {
        let mut h = i + 1;
        let chomp = match self.b.get(h) {
            Some(b'-') => {
                h += 1;
                b'-'
            }
            Some(b'+') => {
                h += 1;
                b'+'
            }
            _ => b' ',
        };
        match self.b.get(h) {
            None | Some(b'\n') | Some(b' ') => {}
            _ => return Err(Bail),
        }
        self.finish_line(h)?;
        // Leading blank lines, then the first content line sets the indentation.
        let mut leading = 0;
        let mut most = 0;
        let mut p = self.pos;
        let k = loop {
            if p >= self.b.len() {
                return Err(Bail);
            }
            let mut j = p;
            while j < self.b.len() && self.b[j] == b' ' {
                j += 1;
            }
            if matches!(self.b.get(j), Some(b'\n')) {
                most = most.max(j - p);
                leading += 1;
                p = j + 1;
                continue;
            }
            if j == self.b.len() {
                return Err(Bail);
            }
            break j - p;
        };
        if k <= indent || most > k {
            return Err(Bail);
        }
        let start = p + k;
        let col = k;
        let mut out = "\n".repeat(leading);
        let mut trailing = 0;
        // Content and blank lines until a line indented less than `k` (or the end).
        let stop = loop {
            if p >= self.b.len() {
                break self.b.len();
            }
            let le = self.line_end(p);
            let line = &self.b[p..le];
            let spaces = line.iter().take_while(|&&c| c == b' ').count();
            if spaces == line.len() {
                if spaces > k {
                    return Err(Bail);
                }
                if le == self.b.len() {
                    // Spaces at the very end with no line break: leave it to the full parser.
                    if spaces > 0 {
                        return Err(Bail);
                    }
                    break self.b.len();
                }
                trailing += 1;
                p = le + 1;
                continue;
            }
            if spaces < k {
                break p + spaces;
            }
            if le == self.b.len() {
                // The last line has no line break: leave it to the full parser.
                return Err(Bail);
            }
            for _ in 0..trailing {
                out.push('\n');
            }
            trailing = 0;
            out.push_str(&self.t[p + k..le]);
            out.push('\n');
            p = le + 1;
        };
        match chomp {
            b'-' => {
                out.pop();
            }
            b'+' => {
                for _ in 0..trailing {
                    out.push('\n');
                }
            }
            _ => {}
        }
        // The next line to read is the one that stopped the scalar.
        self.pos = self.t[..stop]
            .rfind('\n')
            .map_or(0, |n| n + 1)
            .max(self.pos);
        if stop == self.b.len() {
            self.pos = self.b.len();
        }
        out.shrink_to_fit();
        Ok((
            Value::String(out),
            scalar_node(start..stop, col, ScalarStyle::Literal),
        ))
    }
}

/// A one-line flow collection (`[a, "b"]`, `{k: v}`), read from `i` on.
struct Flow<'r, 'a> {
    r: &'r mut Reader<'a>,
    i: usize,
}

impl Flow<'_, '_> {
    fn spaces(&mut self) {
        while self.r.b.get(self.i) == Some(&b' ') {
            self.i += 1;
        }
    }

    fn node(&mut self, depth: usize) -> R<(Value, Node)> {
        if self.r.depth + depth > CHEAP_MAX_DEPTH {
            return Err(Bail);
        }
        self.r.count()?;
        let start = self.i;
        let col = self.r.col(start);
        let open = self.r.b[start];
        let close = if open == b'[' { b']' } else { b'}' };
        self.i += 1;
        let mut items = Vec::new();
        let mut nodes = Vec::new();
        let mut map = Map::new();
        let mut entries = Vec::new();
        self.spaces();
        if self.r.b.get(self.i) != Some(&close) {
            loop {
                self.spaces();
                let (k, kn) = self.item(depth)?;
                self.spaces();
                if open == b'{' {
                    if self.r.b.get(self.i) != Some(&b':') {
                        return Err(Bail);
                    }
                    let Value::String(key) = k else {
                        return Err(Bail);
                    };
                    if !matches!(kn.kind, NodeKind::Scalar { style } if style != ScalarStyle::Plain || !null_or_bool_word(&key))
                        || key.is_empty()
                    {
                        return Err(Bail);
                    }
                    self.i += 1;
                    if self.r.b.get(self.i) != Some(&b' ') {
                        return Err(Bail);
                    }
                    self.spaces();
                    let (v, vn) = self.item(depth)?;
                    if map.insert(key, v).is_some() {
                        return Err(Bail);
                    }
                    if self.r.tree {
                        entries.push((kn, vn));
                    }
                    self.spaces();
                } else {
                    items.push(k);
                    if self.r.tree {
                        nodes.push(kn);
                    }
                }
                match self.r.b.get(self.i) {
                    Some(b',') => {
                        self.i += 1;
                        self.spaces();
                        if self.r.b.get(self.i) == Some(&close) {
                            return Err(Bail);
                        }
                    }
                    Some(c) if *c == close => break,
                    _ => return Err(Bail),
                }
            }
        }
        self.i += 1;
        let span = start..self.i;
        Ok(if open == b'[' {
            (
                Value::Array(items),
                Node {
                    span,
                    col,
                    kind: NodeKind::Seq {
                        flow: true,
                        items: nodes,
                    },
                    anchor: 0,
                },
            )
        } else {
            (
                Value::Object(map),
                Node {
                    span,
                    col,
                    kind: NodeKind::Map {
                        flow: true,
                        entries,
                    },
                    anchor: 0,
                },
            )
        })
    }

    /// One entry of a flow collection: a nested collection, a quoted or a plain scalar.
    fn item(&mut self, depth: usize) -> R<(Value, Node)> {
        let b = self.r.b;
        let i = self.i;
        match b.get(i) {
            Some(b'[') | Some(b'{') => self.node(depth + 1),
            Some(b'"') | Some(b'\'') => {
                self.r.count()?;
                let end = self.r.quoted_end(i).ok_or(Bail)?;
                let v = unquote(&self.r.t[i..end])?;
                self.i = end;
                let style = if b[i] == b'"' {
                    ScalarStyle::DoubleQuoted
                } else {
                    ScalarStyle::SingleQuoted
                };
                Ok((Value::String(v), scalar_node(i..end, self.r.col(i), style)))
            }
            Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'/' | b'_' | b'.' | b'$') => {
                self.r.count()?;
                let mut e = i;
                while e < b.len() {
                    match b[e] {
                        b',' | b'[' | b']' | b'{' | b'}' | b'\n' | b'"' | b'\'' | b'#' => break,
                        b':' => break,
                        _ => e += 1,
                    }
                }
                if matches!(b.get(e), Some(b'"') | Some(b'\'') | Some(b'#')) {
                    return Err(Bail);
                }
                let text = self.r.t[i..e].trim_end_matches(' ');
                let end = i + text.len();
                self.i = end;
                let v = plain(text)?;
                Ok((v, scalar_node(i..end, self.r.col(i), ScalarStyle::Plain)))
            }
            _ => Err(Bail),
        }
    }
}

/// A mapping sized to its entries: every value read is held until the stream is written, and a
/// map grown one insert at a time keeps up to twice the room it needs. A repeated key bails: it
/// is valid (the last value wins), and the full parse reads it and names it in a warning.
fn exact_map(pairs: Vec<(String, Value)>) -> R<Map<String, Value>> {
    let mut map = Map::with_capacity(pairs.len());
    for (k, v) in pairs {
        if map.insert(k, v).is_some() {
            return Err(Bail);
        }
    }
    Ok(map)
}

/// The value of a quoted scalar (quotes included); escapes beyond the common ones bail.
fn unquote(raw: &str) -> R<String> {
    let q = raw.as_bytes()[0];
    let inner = &raw[1..raw.len() - 1];
    if q == b'\'' {
        return Ok(inner.replace("''", "'"));
    }
    if !inner.contains('\\') {
        return Ok(inner.to_string());
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next().ok_or(Bail)?;
        out.push(match e {
            '\\' => '\\',
            '"' => '"',
            '/' => '/',
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            '0' => '\0',
            'b' => '\u{8}',
            'f' => '\u{c}',
            ' ' => ' ',
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = chars.by_ref().take(n).collect();
                if hex.len() != n || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(Bail);
                }
                let code = u32::from_str_radix(&hex, 16).map_err(|_| Bail)?;
                char::from_u32(code).ok_or(Bail)?
            }
            _ => return Err(Bail),
        });
    }
    Ok(out)
}

/// The value of a plain scalar: strings and decimal integers directly, anything else as
/// serde-saphyr types it (remembered per text).
fn plain(s: &str) -> R<Value> {
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return Err(Bail);
    };
    if plain_string(s) || first == b'/' {
        // `.inf`/`.nan` start with a dot, numbers with a digit or a sign: this is a string.
        return Ok(Value::String(s.to_string()));
    }
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    if !digits.is_empty()
        && (digits.len() == b.len() || digits[0] != b'0')
        && digits.len() <= 18
        && digits.iter().all(u8::is_ascii_digit)
        && (digits[0] != b'0' || digits.len() == 1)
    {
        let n: i64 = s.parse().map_err(|_| Bail)?;
        return Ok(Value::Number(Number::from(n)));
    }
    typed(s)
}

/// A plain scalar typed by serde-saphyr, read as the value of a one-key block mapping so the
/// context (block, not flow) is the one it came from.
fn typed(s: &str) -> R<Value> {
    if let Some(v) = TYPED.with(|c| c.borrow().get(s).cloned()) {
        return Ok(v);
    }
    let doc = format!("k: {s}\n");
    let v = super::full::parse_value_full(&doc).map_err(|_| Bail)?;
    let Value::Object(mut m) = v else {
        return Err(Bail);
    };
    if m.len() != 1 {
        return Err(Bail);
    }
    let v = m.remove("k").ok_or(Bail)?;
    TYPED.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE {
            c.clear();
        }
        c.insert(s.to_string(), v.clone());
    });
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::super::full::parse_value_full;
    use super::*;

    #[test]
    fn leaves_everything_else_to_the_full_parser() {
        let docs = [
            "kind: A\na: &x 1\nb: *x\n",
            "kind: A\na: !!str 1\n",
            "kind: A\na:\tb\n",
            "kind: A\r\na: b\r\n",
            "kind: A\na: >\n  folded\n",
            "kind: A\na: |2\n    x\n",
            "kind: A\na: multi\n  line\n",
            "kind: A\na: 'multi\n  line'\n",
            "kind: A\na: 1\na: 2\n",
            "kind: A\n? complex\n: key\n",
            "- a\n- b\n",
            "just a scalar\n",
            "kind: A\na: [1,\n  2]\n",
            "kind: A\n  b: 1\n",
            "kind: A\nb: c: d\n",
            "%YAML 1.2\n---\nkind: A\n",
            "kind: A\na: [-2, ~]\n",
            "kind: A\nn: 1\n",
            "kind: A\nx: .inf\n",
        ];
        for d in docs {
            assert!(value(d).is_none(), "accepted:\n{d}");
            assert!(gives_up_at(d).is_some());
        }
    }

    #[test]
    fn plain_scalars_are_typed_as_serde_saphyr_types_them() {
        for s in [
            "0644",
            "0o17",
            "0x1F",
            "1_000",
            "1:20",
            "+1",
            "-0",
            "-1",
            "1.5e3",
            ".5",
            "2001-12-14",
            "-.inf",
            ".NaN",
            "NULL",
            "On",
            "N",
        ] {
            let text = format!("kind: A\nv: {s}\n");
            assert_eq!(value(&text), parse_value_full(&text).ok(), "{s}");
        }
    }
}
