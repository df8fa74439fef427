//! Hostile and odd input through the real binary: every bad stream exits 2 with
//! `document N (line L, column C): reason` and leaves stdout empty; every odd but valid stream
//! passes with untouched documents byte for byte.
//!
//! Duplicate keys are an error (exit 2), in every kind of document: Helm and `kubectl` reject
//! them too (`key "x" already set in map`), and a post-renderer that picked one of the two values
//! could fix a field the cluster never reads.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Out {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    took: Duration,
}

fn run(args: &[&str], input: &[u8]) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_helm-fixup"))
        .args(args)
        .env_clear()
        .env("HELM_FIXUP_TTY", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // Write from a thread: a large input must not dead-lock against a full stdout pipe.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let o = child.wait_with_output().unwrap();
    let took = start.elapsed();
    writer.join().unwrap();
    Out {
        code: o.status.code(),
        stdout: o.stdout,
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        took,
    }
}

/// Bad input: exit 2, empty stdout, and the message names the document, line and column.
#[track_caller]
fn rejected(input: &[u8], doc: usize, line: Option<usize>, reason: &str) -> Out {
    for args in [
        &["-p", "root-run"][..],
        &[
            "-p",
            "root-run,init-chown,exec-probes,local-pv",
            "--set",
            "local-pv.node=n",
        ],
        &[],
    ] {
        let o = run(args, input);
        assert_eq!(o.code, Some(2), "{args:?}: {}", o.stderr);
        assert!(o.stdout.is_empty(), "{args:?}: stdout must stay empty");
        let msg = o.stderr.lines().next().unwrap_or_default();
        let prefix = match line {
            Some(l) => format!("helm-fixup: error: document {doc} (line {l}, column "),
            None => format!("helm-fixup: error: document {doc} (line "),
        };
        assert!(
            msg.starts_with(&prefix),
            "{args:?}: want {prefix:?}, got {msg:?}"
        );
        assert!(msg.contains("column ") && msg.contains("): "), "{msg}");
        assert!(msg.contains(reason), "{args:?}: want {reason:?} in {msg:?}");
        assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
        // A hang guard only; the time is measured in scripts/bench.sh.
        assert!(
            o.took < Duration::from_secs(10),
            "{args:?}: took {:?}",
            o.took
        );
    }
    run(&["-p", "root-run"], input)
}

/// A workload root-run changes by default (it writes an emptyDir), in twelve lines: the line
/// numbers of the rejection tests below count them.
const DEPLOY: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      securityContext:
        runAsUser: 1000
      containers:
      - {name: web, image: nginx, volumeMounts: [{name: cache, mountPath: /var/cache/nginx}]}
      volumes: [{name: cache, emptyDir: {}}]
";

fn billion_laughs(kind: &str) -> String {
    let mut doc = format!(
        "apiVersion: v1\nkind: {kind}\nmetadata:\n  name: lol\ndata:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    );
    for i in 1..10 {
        let p = i - 1;
        doc.push_str(&format!(
            "  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    doc
}

#[test]
fn alias_bomb_in_a_workload_is_rejected() {
    let input = format!("{DEPLOY}---\n{}", billion_laughs("Deployment"));
    rejected(
        input.as_bytes(),
        2,
        None,
        "aliases expand to more than 100000 nodes",
    );
}

#[test]
fn alias_bomb_in_a_skipped_configmap_is_rejected() {
    let input = format!("{DEPLOY}---\n{}", billion_laughs("ConfigMap"));
    rejected(
        input.as_bytes(),
        2,
        None,
        "aliases expand to more than 100000 nodes",
    );
}

#[test]
fn hundred_thousand_nested_brackets_are_rejected() {
    let input = format!("kind: ConfigMap\ndata: {}\n", "[".repeat(100_000));
    rejected(
        input.as_bytes(),
        1,
        Some(2),
        "nesting deeper than the limit of 64 levels",
    );
    let input = format!("{DEPLOY}---\n{}", "[".repeat(100_000));
    rejected(
        input.as_bytes(),
        2,
        Some(14),
        "nesting deeper than the limit of 64 levels",
    );
}

#[test]
fn deeply_nested_maps_are_rejected() {
    let mut doc = String::from("apiVersion: v1\nkind: ConfigMap\ndata:\n");
    for i in 1..200 {
        doc.push_str(&" ".repeat(i * 2));
        doc.push_str("a:\n");
    }
    rejected(
        doc.as_bytes(),
        1,
        Some(67),
        "nesting deeper than the limit of 64 levels",
    );
}

#[test]
fn invalid_utf8_is_rejected_with_its_position() {
    let mut input = format!("{DEPLOY}---\nkind: ConfigMap\ndata:\n  x: ab").into_bytes();
    input.extend_from_slice(b"\xff\xfe\n");
    rejected(&input, 2, Some(16), "invalid UTF-8");
}

#[test]
fn a_bom_is_kept_and_the_document_still_fixed() {
    let input = format!("\u{feff}{DEPLOY}");
    let o = run(&["-p", "root-run"], input.as_bytes());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.starts_with("\u{feff}apiVersion: apps/v1\n"), "{out:?}");
    assert!(out.contains("runAsUser: 0"), "{out}");
    let o = run(&[], input.as_bytes());
    assert_eq!(o.stdout, input.as_bytes());
}

#[test]
fn tabs_as_indentation_are_rejected() {
    let input = "apiVersion: v1\nkind: ConfigMap\ndata:\n\tkey: value\n";
    rejected(input.as_bytes(), 1, Some(4), "");
    let input = DEPLOY.replace("      containers:", "\tcontainers:");
    rejected(input.as_bytes(), 1, None, "");
}

#[test]
fn crlf_streams_keep_crlf_in_edits() {
    let input = format!(
        "---\r\n{}---\r\nkind: ConfigMap\r\ndata:\r\n  a: \"0644\"\r\n",
        DEPLOY.replace('\n', "\r\n")
    );
    let o = run(&["-p", "root-run"], input.as_bytes());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("runAsUser: 0\r\n"), "{out:?}");
    assert!(
        !out.replace("\r\n", "").contains('\n'),
        "a bare LF crept in: {out:?}"
    );
    assert!(out.ends_with("---\r\nkind: ConfigMap\r\ndata:\r\n  a: \"0644\"\r\n"));
}

#[test]
fn duplicate_keys_are_an_error_in_every_kind() {
    let input = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n";
    rejected(input.as_bytes(), 1, Some(5), "duplicate mapping key: name");
    let input = DEPLOY.replace("  name: web\n", "  name: web\n  name: web2\n");
    rejected(input.as_bytes(), 1, Some(5), "duplicate mapping key: name");
    let input = format!("{DEPLOY}kind: Deployment\n");
    rejected(input.as_bytes(), 1, Some(13), "duplicate mapping key: kind");
}

#[test]
fn a_list_or_scalar_document_is_rejected() {
    let input = format!("{DEPLOY}---\n# Source: x.yaml\n- a\n- b\n");
    rejected(
        input.as_bytes(),
        2,
        Some(15),
        "the document is a list, not a mapping",
    );
    let input = format!("{DEPLOY}---\njust text\n");
    rejected(
        input.as_bytes(),
        2,
        Some(14),
        "the document is a string, not a mapping",
    );
    let input = format!("{DEPLOY}--- 42\n");
    rejected(
        input.as_bytes(),
        2,
        Some(13),
        "the document is a number, not a mapping",
    );
}

#[test]
fn a_document_without_kind_is_rejected() {
    let input = format!("{DEPLOY}---\napiVersion: v1\nmetadata:\n  name: x\n");
    rejected(input.as_bytes(), 2, Some(14), "the document has no kind");
    let input = format!("{DEPLOY}---\nkind: \"\"\nmetadata: {{}}\n");
    rejected(input.as_bytes(), 2, Some(14), "the document has no kind");
}

#[test]
fn kind_list_items_are_fixed_in_place() {
    let item = DEPLOY.replace('\n', "\n    ");
    let input = format!(
        "apiVersion: v1\nkind: List\nitems:\n  - {}\n",
        item.trim_end()
    );
    let o = run(&["-p", "root-run"], input.as_bytes());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("runAsUser: 0"), "{out}");
    assert!(
        out.starts_with("apiVersion: v1\nkind: List\nitems:\n  - apiVersion: apps/v1\n"),
        "{out}"
    );
}

#[test]
fn document_marker_inside_a_block_scalar() {
    // Indented: content of the block scalar, one document, passed through.
    let input = format!(
        "{DEPLOY}---\nkind: ConfigMap\ndata:\n  script: |\n    echo a\n    ---\n    echo b\n"
    );
    let o = run(&["-p", "root-run"], input.as_bytes());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(
        String::from_utf8(o.stdout)
            .unwrap()
            .ends_with("  script: |\n    echo a\n    ---\n    echo b\n")
    );
    // At column 0 it ends the document (YAML's rule): the rest is a document of its own.
    let input = "kind: ConfigMap\ndata:\n  script: |\n    echo a\n---\n    echo b\n";
    rejected(
        input.as_bytes(),
        2,
        Some(6),
        "the document is a string, not a mapping",
    );
}

#[test]
fn documents_ending_with_dots_pass_and_are_fixed() {
    let input = format!("{DEPLOY}...\n---\nkind: ConfigMap\ndata: {{}}\n...\n");
    let o = run(&["-p", "root-run"], input.as_bytes());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("runAsUser: 0\n"), "{out}");
    assert!(
        out.ends_with("...\n---\nkind: ConfigMap\ndata: {}\n...\n"),
        "{out}"
    );
    let o = run(&[], input.as_bytes());
    assert_eq!(o.stdout, input.as_bytes());
    // Content after `...` without a new `---` is a second document in one segment.
    let input = "kind: ConfigMap\ndata: {}\n...\nkind: Secret\n";
    let o = run(&["-p", "root-run"], input.as_bytes());
    assert_eq!(o.code, Some(2), "{}", o.stderr);
    assert!(o.stdout.is_empty());
    assert!(
        o.stderr.starts_with("helm-fixup: error: document 1 (line "),
        "{}",
        o.stderr
    );
}

#[test]
fn helm4_hook_and_object_with_the_same_kind_and_name_are_both_fixed() {
    let ann = "postrenderer.helm.sh/postrender-filename";
    let doc = |file: &str, hook: bool| {
        let hook = if hook {
            "\n    helm.sh/hook: pre-install"
        } else {
            ""
        };
        DEPLOY.replace(
            "  name: web\n",
            &format!("  name: web\n  annotations:\n    {ann}: {file}{hook}\n"),
        )
    };
    let input = format!(
        "{}---\n{}",
        doc("c/templates/hook.yaml", true),
        doc("c/templates/web.yaml", false)
    );
    let dir = tempfile::tempdir().unwrap();
    let sum = dir.path().join("s");
    let o = run(
        &["-p", "root-run", "--summary-file", sum.to_str().unwrap()],
        input.as_bytes(),
    );
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(out.matches("runAsUser: 0").count(), 2, "{out}");
    assert!(out.contains("c/templates/hook.yaml") && out.contains("c/templates/web.yaml"));
    let summary = std::fs::read_to_string(sum).unwrap();
    assert!(
        summary.contains("Deployment web (hook)") && summary.contains("Deployment web "),
        "{summary}"
    );
}

#[test]
fn broken_stdout_pipe_is_quiet() {
    let mut input = String::new();
    for i in 0..20_000 {
        input.push_str(&format!(
            "---\nkind: ConfigMap\nmetadata:\n  name: c{i}\ndata:\n  a: b\n"
        ));
    }
    input.push_str(&format!("---\n{DEPLOY}"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_helm-fixup"))
        .args(["-p", "root-run"])
        .env_clear()
        .env("HELM_FIXUP_TTY", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    use std::os::unix::process::ExitStatusExt;
    assert!(
        o.status.code() == Some(0) || o.status.signal() == Some(13),
        "{:?} {stderr}",
        o.status
    );
}

/// A stream large enough to be read on several threads still names the first bad document, not
/// whichever thread failed first.
#[test]
fn first_bad_document_of_a_large_stream_is_the_one_named() {
    let mut stream = String::new();
    let mut line = 1;
    let mut first_bad_line = 0;
    for i in 0..3000 {
        let doc = if i == 40 || i == 2900 {
            if i == 40 {
                first_bad_line = line;
            }
            // The same broken workload twice: only the first may be reported.
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: [broken\n".to_string()
        } else {
            format!(
                "---\n{}",
                DEPLOY.replace("name: web", &format!("name: web-{i}"))
            )
        };
        line += doc.lines().count();
        stream.push_str(&doc);
    }
    assert!(
        stream.len() > 512 * 1024,
        "the stream must be large enough to be split"
    );
    rejected(stream.as_bytes(), 41, Some(first_bad_line + 3), "");
}

/// A 100 MB stream, mostly dashboards as rendered charts carry them, with a workload every few
/// hundred documents: it passes (exit 0), every dashboard comes out byte for byte and every
/// workload is fixed. (Its time and peak memory are measured by `scripts/bench.sh`.)
#[test]
fn hundred_megabyte_stream_passes_through() {
    let panel = "        {\"type\": \"timeseries\", \"expr\": \"sum(rate(http_requests_total[5m])) by (code)\"},\n";
    let dashboard = |i: usize| {
        format!(
            "---\n# Source: c/templates/dashboards/d{i}.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dash-{i}\ndata:\n  d.json: |-\n    {{\"panels\": [\n{}        {{}}]}}\n",
            panel.repeat(120)
        )
    };
    let mut input = String::with_capacity(105 << 20);
    let (mut dashboards, mut workloads) = (0, 0);
    while input.len() < 100 << 20 {
        if dashboards % 400 == 0 {
            input.push_str("---\n");
            input.push_str(&DEPLOY.replace("name: web", &format!("name: web-{workloads}")));
            workloads += 1;
        }
        input.push_str(&dashboard(dashboards));
        dashboards += 1;
    }
    let o = run(&["-p", "root-run"], input.as_bytes());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        o.stderr.contains(&format!("{workloads} objects changed")),
        "{}",
        o.stderr.lines().last().unwrap_or_default()
    );
    assert_eq!(out.matches("runAsUser: 0").count(), workloads);
    // Every dashboard document is in the output exactly as it came.
    let first = dashboard(0);
    let last = dashboard(dashboards - 1);
    assert!(out.contains(&first) && out.ends_with(&last));
    assert_eq!(out.matches("kind: ConfigMap").count(), dashboards);
    // Nothing but the workloads' edits changed the length.
    let alone = format!("---\n{DEPLOY}");
    let fixed = run(&["-p", "root-run"], alone.as_bytes()).stdout.len();
    assert_eq!(out.len(), input.len() + workloads * (fixed - alone.len()));
}
