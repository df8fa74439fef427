//! Golden tests: for each example input and profile set, what `helm-fixup ARGS --diff` prints
//! (the summary, then a unified diff of every changed document) and the documents the profiles
//! add at the end of the stream, committed as `tests/golden/out/NAME.txt`. Untouched documents
//! are not stored: the diff shows every change, and nothing else.
//!
//! Cases live in `tests/golden/cases/*.txt`, one per line: `NAME INPUT ARGS...` (INPUT relative
//! to the repo root; `#` starts a comment). A mismatch prints a unified diff of the expected file
//! against the actual text. Run with `UPDATE_GOLDEN=1` to rewrite the expected files after an
//! intended change, then review the diff.
//!
//! The output stream is held to the same file: the input with the diffs applied, then the added
//! documents, must be the output byte for byte. So a change the diff does not show, or an
//! untouched document that is not copied exactly, fails the case. Every case is also run a second
//! time on its own output, which must come back unchanged (idempotence).

use crate::support::{Ran, Run};
use std::path::{Path, PathBuf};

/// Between the `--diff` text and the documents added after the input, in a golden file.
const ADDED: &str = "=== added after the input: the documents the profiles created ===\n";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[String], input: &[u8]) -> Ran {
    Run::new().args(args).arg("--diff").stdin(input).run()
}

/// A unified diff of `want` against `got`, for a failure message.
fn show_diff(want_name: &str, want: &str, got: &str) -> String {
    similar::TextDiff::from_lines(want, got)
        .unified_diff()
        .context_radius(3)
        .header(want_name, "actual")
        .to_string()
}

fn check(path: &Path, got: &str, failures: &mut Vec<String>) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, got).unwrap();
        return;
    }
    match std::fs::read_to_string(path) {
        Ok(want) if want == got => {}
        Ok(want) => failures.push(format!(
            "{} differs:\n{}",
            path.display(),
            show_diff(&path.display().to_string(), &want, got)
        )),
        Err(_) => failures.push(format!(
            "{}: missing (run with UPDATE_GOLDEN=1)",
            path.display()
        )),
    }
}

/// One hunk of a unified diff: the 0-based line of the document where its old lines start (or
/// where it inserts), and its old and new lines with their line ends.
struct Hunk<'a> {
    start: usize,
    old: Vec<&'a str>,
    new: Vec<&'a str>,
}

/// The diff of one document, as `--diff` prints it (`--- a/OBJECT`, `+++ b/OBJECT`, hunks).
struct DocDiff<'a> {
    object: &'a str,
    hunks: Vec<Hunk<'a>>,
}

/// `A` or `A,N` of a hunk header: where the range starts (0-based) and how many lines it has.
fn range(s: &str) -> Option<(usize, usize)> {
    let (a, n) = match s.split_once(',') {
        Some((a, n)) => (a.parse::<usize>().ok()?, n.parse().ok()?),
        None => (s.parse().ok()?, 1),
    };
    // An empty range names the line before it.
    Some((if n == 0 { a } else { a.checked_sub(1)? }, n))
}

/// `@@ -A,N +B,M @@`: the old range and the new range.
fn hunk_header(line: &str) -> Option<((usize, usize), (usize, usize))> {
    let rest = line.strip_prefix("@@ -")?.trim_end().strip_suffix(" @@")?;
    let (old, new) = rest.split_once(" +")?;
    Some((range(old)?, range(new)?))
}

/// The document diffs in the text `--diff` prints (after the summary).
fn parse_diffs(text: &str) -> Result<Vec<DocDiff<'_>>, String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut diffs = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let (Some(object), Some(true)) = (
            lines[i].strip_prefix("--- a/"),
            lines.get(i + 1).map(|l| l.starts_with("+++ b/")),
        ) else {
            i += 1;
            continue;
        };
        let object = object.trim_end();
        i += 2;
        let mut hunks = Vec::new();
        while let Some(((start, mut old_left), (_, mut new_left))) =
            lines.get(i).and_then(|l| hunk_header(l))
        {
            i += 1;
            let mut hunk = Hunk {
                start,
                old: Vec::new(),
                new: Vec::new(),
            };
            let mut last = ' ';
            while old_left + new_left > 0 || lines.get(i).is_some_and(|l| l.starts_with('\\')) {
                let line = lines
                    .get(i)
                    .ok_or_else(|| format!("the diff of {object} ends inside a hunk"))?;
                i += 1;
                let short = || format!("a hunk of {object} has more lines than its header says");
                let body = &line[1.min(line.len())..];
                match line.chars().next() {
                    Some(' ') => {
                        old_left = old_left.checked_sub(1).ok_or_else(short)?;
                        new_left = new_left.checked_sub(1).ok_or_else(short)?;
                        hunk.old.push(body);
                        hunk.new.push(body);
                        last = ' ';
                    }
                    Some('-') => {
                        old_left = old_left.checked_sub(1).ok_or_else(short)?;
                        hunk.old.push(body);
                        last = '-';
                    }
                    Some('+') => {
                        new_left = new_left.checked_sub(1).ok_or_else(short)?;
                        hunk.new.push(body);
                        last = '+';
                    }
                    // `\ No newline at end of file`: the line before ends without a line break.
                    Some('\\') => {
                        let strip = |v: &mut Vec<&str>| {
                            if let Some(l) = v.last_mut() {
                                *l = l.strip_suffix('\n').unwrap_or(l);
                            }
                        };
                        if last != '+' {
                            strip(&mut hunk.old);
                        }
                        if last != '-' {
                            strip(&mut hunk.new);
                        }
                    }
                    _ => return Err(format!("unexpected line in the diff of {object}: {line:?}")),
                }
            }
            hunks.push(hunk);
        }
        if hunks.is_empty() {
            return Err(format!("the diff of {object} has no hunk"));
        }
        diffs.push(DocDiff { object, hunks });
    }
    Ok(diffs)
}

/// A line where a document of the stream can start: a `---` marker or a directive.
fn starts_document(line: &str) -> bool {
    let t = line.trim_end_matches(['\n', '\r']);
    t.starts_with('%')
        || (t.starts_with("---") && (t.len() == 3 || matches!(t.as_bytes()[3], b' ' | b'\t')))
}

/// The input with every document diff applied. Each diff is placed at the first document, after
/// the previous one, whose lines match all its hunks and that names its kind and name.
fn apply(input: &str, diffs: &[DocDiff]) -> Result<String, String> {
    let lines: Vec<&str> = input.split_inclusive('\n').collect();
    let fits = |at: usize, old: &[&str]| lines.get(at..at + old.len()) == Some(old);
    let mut out = String::with_capacity(input.len());
    let mut cursor = 0;
    for d in diffs {
        let object = d.object.strip_suffix(" (hook)").unwrap_or(d.object);
        let (kind, rest) = object.split_once(' ').unwrap_or((object, ""));
        let name = rest.rsplit('/').next().unwrap_or("");
        let start = (cursor..=lines.len())
            .filter(|&s| s == 0 || lines.get(s).is_some_and(|l| starts_document(l)))
            .find(|&s| {
                if !d.hunks.iter().all(|h| fits(s + h.start, &h.old)) {
                    return false;
                }
                let end = (s + 1..lines.len())
                    .find(|&e| starts_document(lines[e]))
                    .unwrap_or(lines.len());
                let doc = lines[s..end].concat();
                doc.contains(kind) && doc.contains(name)
            })
            .ok_or_else(|| {
                format!(
                    "the diff of {} does not apply to the input after line {cursor}",
                    d.object
                )
            })?;
        for h in &d.hunks {
            let at = start + h.start;
            if at < cursor {
                return Err(format!("the hunks of {} overlap", d.object));
            }
            out.extend(lines[cursor..at].iter().copied());
            out.extend(h.new.iter().copied());
            cursor = at + h.old.len();
        }
    }
    out.extend(lines[cursor..].iter().copied());
    Ok(out)
}

#[test]
fn golden_outputs_and_summaries() {
    let cases_dir = root().join("tests/golden/cases");
    let mut files: Vec<_> = std::fs::read_dir(&cases_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut count = 0;
    for file in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
    {
        for line in std::fs::read_to_string(file).unwrap().lines() {
            let line = line.split(" #").next().unwrap().trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            let name = parts.next().unwrap().to_string();
            let input = std::fs::read(root().join(parts.next().expect("input path"))).unwrap();
            let args: Vec<String> = parts.map(str::to_string).collect();
            let r = run(&args, &input);
            assert_eq!(r.code, Some(0), "{name}: exit {:?}:\n{}", r.code, r.stderr);
            let out = String::from_utf8(r.stdout.clone()).unwrap();
            count += 1;

            // The output is the input with the printed diffs applied, then what was added.
            let input = std::str::from_utf8(&input).unwrap();
            let patched = match parse_diffs(&r.stderr).and_then(|d| apply(input, &d)) {
                Ok(p) => p,
                Err(e) => {
                    failures.push(format!("{name}: {e}"));
                    continue;
                }
            };
            let Some(added) = out.strip_prefix(patched.as_str()) else {
                failures.push(format!(
                    "{name}: the output is not the input with the diffs applied:\n{}",
                    show_diff("input with the diffs applied", &patched, &out)
                ));
                continue;
            };
            let mut got = r.stderr.clone();
            if !added.is_empty() {
                got.push_str(ADDED);
                got.push_str(added);
            }
            check(
                &root().join(format!("tests/golden/out/{name}.txt")),
                &got,
                &mut failures,
            );

            let again = run(&args, &r.stdout);
            assert_eq!(again.code, Some(0), "{name}: second run failed");
            if again.stdout != r.stdout {
                failures.push(format!(
                    "{name}: not idempotent:\n{}",
                    show_diff("first run", &out, &String::from_utf8_lossy(&again.stdout))
                ));
            }
        }
    }
    assert!(
        count > 0,
        "no golden cases found in {}",
        cases_dir.display()
    );
    assert!(
        failures.is_empty(),
        "{} golden failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
