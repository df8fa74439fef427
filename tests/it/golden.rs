//! Golden tests: for each example input and profile set, the expected output stream and the
//! expected summary, committed under `tests/golden/out/`.
//!
//! Cases live in `tests/golden/cases/*.txt`, one per line: `NAME INPUT ARGS...` (INPUT relative
//! to the repo root; `#` starts a comment). Run with `UPDATE_GOLDEN=1` to rewrite the expected
//! files after an intended change, then review the diff. Every case is also run a second time on
//! its own output, which must come back unchanged (idempotence).

use crate::support::{Ran, Run};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[String], input: &[u8]) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    Run::new()
        .args(args)
        .summary_file(dir.path().join("summary.txt"))
        .stdin(input)
        .run()
}

fn first_difference(want: &str, got: &str) -> String {
    for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        if w != g {
            return format!("line {}:\n  want: {w}\n  got:  {g}", i + 1);
        }
    }
    format!(
        "lengths differ: want {} lines, got {}",
        want.lines().count(),
        got.lines().count()
    )
}

fn check(path: &Path, got: &str, failures: &mut Vec<String>) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, got).unwrap();
        return;
    }
    match std::fs::read_to_string(path) {
        Ok(want) if want == got => {}
        Ok(want) => failures.push(format!(
            "{}: {}",
            path.display(),
            first_difference(&want, got)
        )),
        Err(_) => failures.push(format!(
            "{}: missing (run with UPDATE_GOLDEN=1)",
            path.display()
        )),
    }
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
            assert_eq!(
                r.code,
                Some(0),
                "{name}: exit {:?} summary:\n{}",
                r.code,
                r.summary
            );
            let out = String::from_utf8(r.stdout.clone()).unwrap();
            check(
                &root().join(format!("tests/golden/out/{name}.yaml")),
                &out,
                &mut failures,
            );
            check(
                &root().join(format!("tests/golden/out/{name}.summary.txt")),
                &r.summary,
                &mut failures,
            );
            let again = run(&args, &r.stdout);
            assert_eq!(again.code, Some(0), "{name}: second run failed");
            if again.stdout != r.stdout {
                failures.push(format!(
                    "{name}: not idempotent: {}",
                    first_difference(&out, &String::from_utf8_lossy(&again.stdout))
                ));
            }
            count += 1;
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
