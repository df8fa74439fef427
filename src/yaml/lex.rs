//! The rules every reader and writer of the YAML layer shares, one copy each: the limits, the
//! event parser's settings, the words YAML 1.1 reads as null or booleans, the bytes of a plain
//! key, the characters the cheap readers leave to the full parsers, the end of a quoted scalar,
//! and the set of a mapping's keys. Nothing here reads a document; everything else in the layer
//! builds on it (see [`super`]).

use std::collections::HashSet;
use std::hash::Hash;

/// Limits for one document. Kubernetes objects are shallow; real charts stay far below these.
pub const MAX_DEPTH: usize = 64;
/// Maximum nodes in one document (kube-prometheus-stack's largest CRD has about 60,000).
pub const MAX_NODES: usize = 2_000_000;
/// The depth past which the cheap readers ([`super::fast`], [`super::scan::lines`]) give up
/// and leave the document to the full parser, which decides (and refuses past [`MAX_DEPTH`]).
/// They count levels their own way, so they stop well before [`MAX_DEPTH`]: a document they
/// accept is never one the full parser refuses for its depth. (They used to stop at 56 and 48;
/// the lower one is kept, so the fast reader now hands on a few more deep documents.)
pub const CHEAP_MAX_DEPTH: usize = MAX_DEPTH - 16;
/// The nodes past which the fast reader gives up, far below [`MAX_NODES`] for the same reason.
pub const CHEAP_MAX_NODES: usize = MAX_NODES / 4;
/// Maximum events replayed through aliases in one document: the one alias policy of every
/// reader here. An alias costs the events of its anchor's node, counted as serde-saphyr counts
/// them (each scalar, each collection's start and its end), by [`super::scan()`] as by the full
/// parse, so a document passes or fails alike whether or not a profile reads it. The count of
/// aliases and its ratio to anchors are not limits of their own (see `full::options`).
pub const MAX_ALIAS_EVENTS: usize = 100_000;
/// Maximum events replayed through aliases in the whole stream, counted as
/// [`MAX_ALIAS_EVENTS`] counts them. Each document under its own limit is not enough: 200
/// documents that each replay 98,000 events expanded to 2.3 GB of values. Ten documents' worth
/// (about 90 MB of values) is far above any chart, which rarely has an alias at all.
pub const MAX_STREAM_ALIAS_EVENTS: usize = 10 * MAX_ALIAS_EVENTS;

/// Event parser options: no comment events (nothing here reads them, and they cost time).
pub fn event_options() -> granit_parser::Options {
    let mut o = granit_parser::Options::default();
    o.emit_comments = false;
    o
}

/// Only YAML's white space: Rust's `trim` also drops characters such as a vertical tab, which
/// YAML rejects (found by fuzzing: `\t\v` passed as an empty document, then failed on re-run).
pub fn is_blank(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// The words YAML 1.1 (Kubernetes reads it, through go-yaml v2) or 1.2 resolves to null or a
/// boolean. Matched in any case, which is wider than either spec (`yEs` is a string to both):
/// a reader that takes one for a non-string only hands the scalar on, and the writer only
/// quotes it.
const NULL_OR_BOOL_WORDS: [&str; 9] = ["null", "true", "false", "yes", "no", "on", "off", "y", "n"];

/// Whether a plain word is null or a boolean to YAML 1.1 or 1.2 (in any case), not a string.
/// Every reader here that vouches for a plain scalar being a string asks this, and so does the
/// writer before it writes a string plain ([`super::render`]). `~` and the empty scalar are
/// null too, but they are no words: every caller already refuses a scalar that does not start
/// with a letter.
pub fn null_or_bool_word(s: &str) -> bool {
    s.len() <= 5 && NULL_OR_BOOL_WORDS.iter().any(|w| s.eq_ignore_ascii_case(w))
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
pub fn plain_string(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) && !null_or_bool_word(s)
}

/// Whether the bytes are printable ASCII and line feeds only, the case of nearly every document.
/// Checked in blocks with no early exit, which the compiler turns into vector code: this check
/// runs over every byte of the stream, and a byte-at-a-time loop was the largest single cost of
/// validating the documents no profile reads.
pub fn plain_ascii(b: &[u8]) -> bool {
    let odd = |c: u8| (c < 0x20 && c != b'\n') | (c >= 0x7f);
    let mut chunks = b.chunks_exact(64);
    for chunk in &mut chunks {
        if chunk.iter().fold(false, |acc, &c| acc | odd(c)) {
            return false;
        }
    }
    !chunks.remainder().iter().any(|&c| odd(c))
}

/// Whether the bytes hold a character the cheap readers leave to the full parsers: one YAML
/// forbids, or one whose meaning YAML 1.1 and 1.2 do not agree on. That is a C0 control other
/// than tab and line feed, a carriage return not before a line feed, DEL, a C1 control (NEL
/// among them), the line and paragraph separators U+2028/U+2029, a BOM inside the text, and the
/// non-characters U+FFFE/U+FFFF. NEL and the two separators are line breaks to YAML 1.1, so to
/// Kubernetes (go-yaml v2), and not to YAML 1.2, so to serde-saphyr: a line-level reader cannot
/// know where such a line ends. (The fast reader checked all of these; the line validator
/// checked all but the two separators, and now hands those on to the event parser too.)
pub fn odd_chars(b: &[u8]) -> bool {
    if plain_ascii(b) {
        return false;
    }
    b.iter().enumerate().any(|(i, &c)| match c {
        b'\r' => b.get(i + 1) != Some(&b'\n'),
        b'\n' | b'\t' => false,
        0..0x20 | 0x7f => true,
        0xc2 => b.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)),
        0xe2 => b.get(i + 1) == Some(&0x80) && matches!(b.get(i + 2), Some(0xa8 | 0xa9)),
        0xef => matches!(
            (b.get(i + 1), b.get(i + 2)),
            (Some(0xbb), Some(0xbf)) | (Some(0xbf), Some(0xbe | 0xbf))
        ),
        _ => false,
    })
}

/// The escapes of a double-quoted scalar that a reader which does not decode them can vouch
/// for ([`super::scan::lines`]): the others (`\x`, `\u`, `\0`, a line break, ...) need their
/// digits or their line checked, and are left to the event parser.
pub fn simple_escape(e: Option<u8>) -> bool {
    matches!(e, Some(b'\\' | b'"' | b'n' | b't' | b'/' | b'r'))
}

/// Where a quoted scalar whose opening quote `q` comes just before `s` closes: the index of the
/// closing quote in `s`, `Ok(None)` when it goes on past `s` (the readers pass one line). A
/// single-quoted scalar escapes its quote by doubling it; a double-quoted one escapes with a
/// backslash, and `escape` is asked about the byte after each (`None` at the end of `s`): when
/// it says no, the scan stops with `Err`. The fast reader decodes the escapes itself and lets
/// every one through; the line validator lets through only [`simple_escape`]s.
pub fn quote_close(
    s: &[u8],
    q: u8,
    escape: impl Fn(Option<u8>) -> bool,
) -> Result<Option<usize>, ()> {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'\\' if q == b'"' => {
                if !escape(s.get(i + 1).copied()) {
                    return Err(());
                }
                i += 2;
            }
            c if c == q => {
                if q == b'\'' && s.get(i + 1) == Some(&b'\'') {
                    i += 2;
                } else {
                    return Ok(Some(i));
                }
            }
            _ => i += 1,
        }
    }
    Ok(None)
}

/// The keys seen in one mapping, for the readers that hand a document with a repeated key on
/// (the full parse then reads it, the last value winning, and names the key in a warning).
/// Mappings are small, so the keys are searched in a list, and moved into a hash set once there
/// are more than [`KeySet::LIST_MAX`] (a ConfigMap or a CRD's properties can have thousands).
pub struct KeySet<K> {
    list: Vec<K>,
    set: Option<HashSet<K>>,
}

impl<K> Default for KeySet<K> {
    fn default() -> KeySet<K> {
        KeySet {
            list: Vec::new(),
            set: None,
        }
    }
}

impl<K: Eq + Hash> KeySet<K> {
    /// The most keys searched as a list. Only speed depends on it (the two readers' copies used
    /// to differ, 16 and 32): the answer is the same either way.
    const LIST_MAX: usize = 16;

    /// Record a key; false when the mapping already has it.
    pub fn insert(&mut self, k: K) -> bool {
        if let Some(set) = &mut self.set {
            return set.insert(k);
        }
        if self.list.contains(&k) {
            return false;
        }
        self.list.push(k);
        if self.list.len() > Self::LIST_MAX {
            self.set = Some(self.list.drain(..).collect());
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_chars_are_those_yaml_forbids_or_its_versions_break_lines_at() {
        for s in [
            "a\u{85}b",
            "end\u{85}",
            "a\u{2028}b",
            "\u{2029}",
            "x\u{feff}",
            "a\u{fffe}",
            "\u{ffff}",
            "x\u{1}",
            "a\rb",
            "end\r",
            "\x7f",
            "\u{9f}",
        ] {
            assert!(odd_chars(s.as_bytes()), "{s:?}");
        }
        for s in [
            "plain\n",
            "crlf\r\n",
            "tab\there",
            "héllo wörld",
            "\u{2027}\u{202a}",
            "\u{a0}",
            "",
        ] {
            assert!(!odd_chars(s.as_bytes()), "{s:?}");
        }
    }

    #[test]
    fn a_quoted_scalar_closes_at_its_unescaped_quote() {
        let any = |_: Option<u8>| true;
        assert_eq!(
            quote_close(b"it''s' # c", b'\'', simple_escape),
            Ok(Some(5))
        );
        assert_eq!(quote_close(b"a\\\"b\" x", b'"', simple_escape), Ok(Some(4)));
        assert_eq!(quote_close(b"'s\" x", b'"', simple_escape), Ok(Some(2)));
        assert_eq!(quote_close(b"still open", b'"', simple_escape), Ok(None));
        // An escape the line validator cannot vouch for stops it; the fast reader decodes it.
        assert_eq!(quote_close(b"\\u00e9\"", b'"', simple_escape), Err(()));
        assert_eq!(quote_close(b"\\u00e9\"", b'"', any), Ok(Some(6)));
        assert_eq!(quote_close(b"ends in \\", b'"', simple_escape), Err(()));
        assert_eq!(quote_close(b"ends in \\", b'"', any), Ok(None));
        // A backslash is no escape in single quotes.
        assert_eq!(quote_close(b"a\\' b", b'\'', simple_escape), Ok(Some(2)));
    }

    #[test]
    fn a_key_set_finds_a_repeat_before_and_after_it_becomes_a_hash_set() {
        let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        for n in [
            1,
            KeySet::<&str>::LIST_MAX,
            KeySet::<&str>::LIST_MAX + 1,
            40,
        ] {
            let mut set = KeySet::default();
            assert!(keys[..n].iter().all(|k| set.insert(k.as_str())));
            assert!(!set.insert(keys[0].as_str()), "{n}");
            assert!(!set.insert(keys[n - 1].as_str()), "{n}");
            assert!(set.insert("new"));
        }
    }

    #[test]
    fn null_and_boolean_words_in_any_case_are_no_plain_strings() {
        for w in [
            "y", "N", "yes", "No", "ON", "off", "True", "FALSE", "null", "NuLL",
        ] {
            assert!(null_or_bool_word(w) && !plain_string(w), "{w}");
        }
        for w in ["yess", "nope", "Pod", "onion", "nul", "~", "", "1"] {
            assert!(!null_or_bool_word(w), "{w}");
        }
        assert!(plain_string("Pod") && !plain_string("1a") && !plain_string("~"));
    }
}
