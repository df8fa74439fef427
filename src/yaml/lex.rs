//! The rules every reader of the YAML layer shares, one copy each: the limits, the event
//! parser's settings, the words YAML 1.1 reads as null or booleans, the bytes of a plain key.
//! Nothing here reads a document; everything above builds on it (see [`super`]).

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
