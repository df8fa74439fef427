//! Splitting a rendered manifest stream into documents, and joining it back.
//!
//! The stream is cut at document marker lines (`---` at column 0, alone or followed by a blank or a
//! comment, or content such as `--- {a: 1}`). Every byte of the input belongs to exactly one
//! segment, so writing the segments back in order reproduces the input byte for byte. This is
//! what lets documents that no profile touched pass through unchanged: we never re-serialize
//! them, we copy their bytes.
//!
//! A YAML document marker is always a marker, even where it looks like it sits inside a block
//! scalar (block scalar content must be indented, and a column-0 `---` ends the document), so a
//! line scan is exact here, and much cheaper than a full parse.

use std::ops::Range;

/// One document of the stream: its byte range in the input, and where it starts for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Byte range in the input, including its `---` marker line (if any) and trailing comments.
    pub span: Range<usize>,
    /// 1-based line of the first byte of the segment.
    pub first_line: usize,
}

/// The three shapes of input we meet; added documents follow the same shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Leading `---` and `# Source: chart/templates/x.yaml` comments.
    Helm3,
    /// `postrenderer.helm.sh/postrender-filename` annotation on every document.
    Helm4,
    /// Anything else, e.g. `kubectl` style streams.
    Plain,
}

/// The annotation Helm 4 puts on every document it sends to a post-renderer.
pub const FILENAME_ANNOTATION: &str = "postrenderer.helm.sh/postrender-filename";

/// True when `line` (without its line break) is a document start marker.
fn is_marker(line: &[u8]) -> bool {
    line.starts_with(b"---") && (line.len() == 3 || matches!(line[3], b' ' | b'\t' | b'\r'))
}

/// True when a line of text (with or without its line break) is a document start marker.
pub fn line_is_marker(line: &str) -> bool {
    is_marker(trim_eol(line.as_bytes()))
}

/// Cut `input` into segments. The first segment holds whatever precedes the first marker (often
/// nothing, or a document without a leading marker); it is dropped when empty.
///
/// Directives (`%YAML 1.1`, `%TAG ...`) belong to the document after them: YAML allows them only
/// at the start of the stream or after a `...` line, before that document's `---` (YAML 1.2.2,
/// 9.2 "l-directive-document"), so a segment starts at the first directive line when one
/// precedes its marker.
pub fn split(input: &[u8]) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    let mut pos = 0;
    let mut line_no = 1;
    // Whether directives may come here: at the start, or after `...` with only blank lines,
    // comments and directives since.
    let mut may_direct = true;
    // The first directive line of the next document: its offset and line.
    let mut directives: Option<(usize, usize)> = None;
    while pos < input.len() {
        let end = memchr_newline(&input[pos..]).map_or(input.len(), |i| pos + i + 1);
        let line = trim_eol(&input[pos..end]);
        if is_marker(line) {
            let (cut, cut_line) = directives.take().unwrap_or((pos, line_no));
            if cut > start {
                segments.push(Segment {
                    span: start..cut,
                    first_line: start_line,
                });
                start = cut;
            }
            start_line = cut_line;
            may_direct = false;
        } else if is_document_end(line) {
            may_direct = true;
            directives = None;
        } else if line.first() == Some(&b'%') && may_direct {
            directives.get_or_insert((pos, line_no));
        } else if !is_blank_or_comment(line) {
            may_direct = false;
            directives = None;
        }
        pos = end;
        line_no += 1;
    }
    if input.len() > start || segments.is_empty() {
        segments.push(Segment {
            span: start..input.len(),
            first_line: start_line,
        });
    }
    segments
}

/// A document end marker line: `...` alone or before a blank or a comment.
fn is_document_end(line: &[u8]) -> bool {
    line.starts_with(b"...") && (line.len() == 3 || matches!(line[3], b' ' | b'\t'))
}

fn is_blank_or_comment(line: &[u8]) -> bool {
    match line.iter().position(|b| !matches!(b, b' ' | b'\t')) {
        None => true,
        Some(i) => line[i] == b'#',
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The line ending a document uses, so inserted lines match it.
pub fn line_ending(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// Guess the input form from its first bytes and the presence of the Helm 4 annotation.
pub fn detect_form(input: &[u8]) -> Form {
    let head = &input[..input.len().min(4096)];
    if contains(input, FILENAME_ANNOTATION.as_bytes()) {
        Form::Helm4
    } else if contains(head, b"# Source: ") {
        Form::Helm3
    } else {
        Form::Plain
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// 1-based line and column of byte `offset` within `text`, counting columns in characters.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &str) -> Vec<&str> {
        split(input.as_bytes())
            .into_iter()
            .map(|s| &input[s.span])
            .collect()
    }

    #[test]
    fn helm3_stream_splits_at_markers_and_keeps_every_byte() {
        let input = "---\n# Source: a.yaml\nkind: A\n---\n# Source: b.yaml\nkind: B\n";
        let parts = texts(input);
        assert_eq!(
            parts,
            vec![
                "---\n# Source: a.yaml\nkind: A\n",
                "---\n# Source: b.yaml\nkind: B\n"
            ]
        );
        assert_eq!(parts.concat(), input);
    }

    #[test]
    fn helm4_stream_without_leading_marker() {
        let input = "kind: A\n---\nkind: B";
        assert_eq!(texts(input), vec!["kind: A\n", "---\nkind: B"]);
    }

    #[test]
    fn markers_need_a_break_after_them() {
        let input = "a: |\n  x\n----\n---x\n--- # c\nb: 1\n";
        assert_eq!(
            texts(input),
            vec!["a: |\n  x\n----\n---x\n", "--- # c\nb: 1\n"]
        );
    }

    #[test]
    fn crlf_markers_are_markers() {
        let input = "a: 1\r\n---\r\nb: 2\r\n";
        assert_eq!(texts(input), vec!["a: 1\r\n", "---\r\nb: 2\r\n"]);
        assert_eq!(line_ending("a: 1\r\n"), "\r\n");
    }

    #[test]
    fn directives_go_with_the_document_after_them() {
        let input = "%YAML 1.1\n---\na: 1\n...\n# c\n%YAML 1.1\n%TAG ! tag:x,2000:\n---\nb: 2\n";
        assert_eq!(
            texts(input),
            vec![
                "%YAML 1.1\n---\na: 1\n...\n# c\n",
                "%YAML 1.1\n%TAG ! tag:x,2000:\n---\nb: 2\n"
            ]
        );
        let segs = split(input.as_bytes());
        assert_eq!(segs[1].first_line, 6);
        // Not after content: a `%` line there is not a directive, and stays where it is.
        assert_eq!(
            texts("a: 1\n%x\n---\nb: 2\n"),
            vec!["a: 1\n%x\n", "---\nb: 2\n"]
        );
    }

    #[test]
    fn empty_input_is_one_empty_segment() {
        assert_eq!(split(b"").len(), 1);
        assert_eq!(split(b"---\n").len(), 1);
    }

    #[test]
    fn line_numbers_of_segments() {
        let segs = split(b"a: 1\n---\nb: 2\n---\nc: 3\n");
        assert_eq!(
            segs.iter().map(|s| s.first_line).collect::<Vec<_>>(),
            vec![1, 2, 4]
        );
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncé d", 6), (2, 3));
    }
}
