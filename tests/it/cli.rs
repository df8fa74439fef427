//! The command-line contract: subcommands, exit codes, where the summary goes, and that stdout
//! stays empty on every error (Helm would otherwise install a truncated release).

use crate::support::Run;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    summary: String,
}

/// Run the binary with a clean environment (plus `env`), `input` on stdin, and a summary file.
fn fixup(args: &[&str], env: &[(&str, &str)], input: &str) -> Out {
    let dir = tempfile::tempdir().unwrap();
    let mut run = Run::new()
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir.path())
        .stdin(input);
    if !args
        .iter()
        .any(|a| ["profiles", "explain", "last", "completions", "man"].contains(a))
    {
        run = run.summary_file(dir.path().join("summary"));
    }
    let o = run.run();
    Out {
        code: o.code.unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: o.stderr,
        summary: o.summary,
    }
}

const DEPLOY: &str = "---
# Source: demo/templates/deploy.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
spec:
  template:
    spec:
      securityContext:
        runAsUser: 1000   # the chart's uid
        runAsNonRoot: true
      containers:
      - name: web
        image: \"nginx:1.27\"
        env:
        - name: FLAG
          value: \"yes\"
        volumeMounts:
        - name: cache
          mountPath: /var/cache/nginx
      volumes:
      - name: cache
        emptyDir: {}
---
# Source: demo/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  mode: \"0644\"
";

#[test]
fn profiles_lists_every_builtin_profile() {
    let o = fixup(&["profiles"], &[], "");
    assert_eq!(o.code, 0);
    let names: Vec<&str> = o
        .stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "root-run",
            "shared-uid",
            "init-chown",
            "exec-probes",
            "local-pv",
            "openshift",
            "image-mirror"
        ]
    );
}

#[test]
fn explain_shows_params_defaults_required_and_the_failure_fixed() {
    let o = fixup(&["explain", "local-pv"], &[], "");
    assert_eq!(o.code, 0);
    assert!(
        o.stdout.contains("path") && o.stdout.contains("/mnt/disks"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("Fixes: PVC stays Pending"),
        "{}",
        o.stdout
    );
    for line in ["node", "nodes", "namespace"] {
        assert!(
            o.stdout.lines().any(
                |l| l.trim_start().starts_with(&format!("{line} ")) && l.contains("required (")
            ),
            "{line} not marked required:\n{}",
            o.stdout
        );
    }
    // Internal numbers never reach the user.
    for n in ["000", "001", "002", "003", "004"] {
        assert!(!o.stdout.contains(n), "{n} in:\n{}", o.stdout);
    }
    let o = fixup(&["explain", "nope"], &[], "");
    assert_eq!(o.code, 3);
    assert!(o.stderr.contains("valid: root-run"), "{}", o.stderr);
}

#[test]
fn no_profile_passes_through_byte_for_byte_with_a_warning() {
    let o = fixup(&[], &[], DEPLOY);
    assert_eq!(o.code, 0);
    assert_eq!(o.stdout, DEPLOY);
    assert!(o.summary.contains("no profile selected"), "{}", o.summary);
}

#[test]
fn root_run_changes_only_the_fixed_lines() {
    let o = fixup(&["-p", "root-run"], &[], DEPLOY);
    assert_eq!(o.code, 0, "{}", o.summary);
    let want = DEPLOY
        .replace("runAsUser: 1000   # the chart's uid\n        runAsNonRoot: true",
                 "runAsUser: 0   # the chart's uid\n        runAsNonRoot: false\n        runAsGroup: 0\n        fsGroup: 0\n        seccompProfile:\n          type: RuntimeDefault");
    assert_eq!(o.stdout, want);
    assert!(o.summary.contains("root-run  Deployment demo/web  spec.template.spec.securityContext.runAsUser 1000 -> 0, runAsNonRoot true -> false"), "{}", o.summary);
    assert!(
        o.summary
            .contains("more privileged than the chart asked: Deployment demo/web")
    );
    assert!(
        o.summary.ends_with(
            "helm-fixup: 1 object changed, 0 added, 0 warnings, 1 more privileged (2 documents)\n"
        ),
        "{}",
        o.summary
    );
    let again = fixup(&["-p", "root-run"], &[], &o.stdout);
    assert_eq!(again.stdout, o.stdout, "idempotent");
}

#[test]
fn invalid_yaml_exits_2_with_position_and_empty_stdout() {
    let bad = format!("{DEPLOY}---\nkind: Pod\nmetadata: {{name: [\n");
    let o = fixup(&["-p", "root-run"], &[], &bad);
    assert_eq!(o.code, 2);
    assert!(o.stdout.is_empty());
    assert!(o.summary.contains("document 3 (line "), "{}", o.summary);
    assert!(o.summary.contains("nothing was written to stdout"));
}

#[test]
fn scalar_and_kindless_documents_are_bad_input() {
    for (input, reason) in [
        (
            "kind: A\n---\njust a string\n",
            "document 2 (line 3, column 1): the document is a string, not a mapping",
        ),
        (
            "- a\n- b\n",
            "document 1 (line 1, column 1): the document is a list, not a mapping",
        ),
        (
            "---\n# Source: x\nmetadata:\n  name: x\n",
            "document 1 (line 3, column 1): the document has no kind",
        ),
    ] {
        let o = fixup(&["-p", "root-run"], &[], input);
        assert_eq!((o.code, o.stdout.as_str()), (2, ""), "{input}");
        assert!(o.stderr.contains(reason), "{input}: {}", o.stderr);
    }
}

#[test]
fn usage_errors_exit_3_and_name_the_valid_choices() {
    for (args, needle) in [
        (
            &["-p", "rootrun"][..],
            "valid: root-run, shared-uid, init-chown, exec-probes, local-pv",
        ),
        (
            &["-p", "root-run", "--set", "root-run.caps=X"][..],
            "valid: addCapabilities",
        ),
        (
            &["-p", "root-run", "--only", "knd=Pod"][..],
            "valid: kind, name",
        ),
        (
            &["-p", "root-run", "-c", "missing.yaml"][..],
            "missing.yaml",
        ),
    ] {
        let o = fixup(args, &[], DEPLOY);
        assert_eq!((o.code, o.stdout.as_str()), (3, ""), "{args:?}");
        assert!(o.summary.contains(needle), "{args:?}: {}", o.summary);
    }
}

#[test]
fn empty_stream_still_writes_a_comment_line() {
    for input in ["", "---\n", "\n\n"] {
        let o = fixup(&["-p", "root-run"], &[], input);
        assert_eq!(o.code, 0);
        assert!(
            o.stdout.starts_with('#') || !o.stdout.trim().is_empty(),
            "{input:?} -> {:?}",
            o.stdout
        );
        assert!(!o.stdout.trim().is_empty());
    }
}

#[test]
fn env_profiles_apply_when_no_flags_are_given() {
    let o = fixup(&[], &[("HELM_FIXUP_PROFILES", "root-run")], DEPLOY);
    assert!(o.stdout.contains("runAsUser: 0"), "{}", o.summary);
}

#[test]
fn config_file_drives_a_scripted_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("fixup.yaml");
    std::fs::write(&cfg, "profiles: [root-run]\nskip: [\"kind=Deployment\"]\n").unwrap();
    let o = fixup(&["-c", cfg.to_str().unwrap()], &[], DEPLOY);
    assert_eq!(o.code, 0, "{}", o.summary);
    assert_eq!(o.stdout, DEPLOY, "the only workload is skipped");
    let o = fixup(&[], &[("HELM_FIXUP_CONFIG", cfg.to_str().unwrap())], DEPLOY);
    assert!(
        o.summary.contains("helm-fixup: profiles root-run"),
        "{}",
        o.summary
    );
}

#[test]
fn json_summary_has_the_same_records() {
    let o = fixup(&["-p", "root-run", "--summary-format", "json"], &[], DEPLOY);
    let v: serde_json::Value = serde_json::from_str(&o.summary).unwrap();
    assert_eq!(v["changed"][0]["object"], "Deployment demo/web");
    assert_eq!(v["changed"][0]["more_privileged"], true);
    assert_eq!(
        v["changed"][0]["changes"][0]["path"],
        "spec.template.spec.securityContext.runAsUser"
    );
}

#[test]
fn dry_run_reports_but_writes_the_input() {
    let o = fixup(&["-p", "root-run", "--dry-run"], &[], DEPLOY);
    assert_eq!(o.stdout, DEPLOY);
    assert!(o.summary.contains("runAsUser 1000 -> 0") && o.summary.contains("dry run"));
}

#[test]
fn diff_shows_only_changed_lines() {
    let o = fixup(&["-p", "root-run", "--diff"], &[], DEPLOY);
    let minus: Vec<&str> = o
        .summary
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .collect();
    assert_eq!(
        minus,
        [
            "-        runAsUser: 1000   # the chart's uid",
            "-        runAsNonRoot: true"
        ]
    );
    assert!(o.summary.contains("+++ b/Deployment demo/web"));
}

/// The README and docs are the user's manual: every built-in profile has a page with a Helm 3
/// and a Helm 4 call and a real summary, the README links each page, and every exit code of the
/// contract is in the README's table.
#[test]
fn readme_documents_every_profile_and_exit_code() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{dir}/README.md")).unwrap();
    assert!(readme.lines().count() <= 400, "the README is a front page");
    let profiles = fixup(&["profiles"], &[], "");
    let names: Vec<&str> = profiles
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names.len(), 7, "{}", profiles.stdout);
    for name in &names {
        let page = format!("docs/profiles/{name}.md");
        assert!(
            readme.contains(&format!("]({page})")),
            "README does not link {page}"
        );
        let section = std::fs::read_to_string(format!("{dir}/{page}"))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(
            section.contains("--post-renderer fixup"),
            "{name}: no Helm 4 example"
        );
        assert!(
            section.contains("--post-renderer helm-fixup"),
            "{name}: no Helm 3 example"
        );
        assert!(
            section.contains("helm-fixup: profiles"),
            "{name}: no example summary"
        );
    }
    for code in 0..=4 {
        assert!(
            readme.contains(&format!("\n| {code} |")),
            "exit code {code} missing"
        );
    }
}

/// Every ```console example of the README and docs/ that runs helm-fixup on a file of this
/// repository shows what the binary prints today: `$ helm-fixup ARGS [< FILE] [> /dev/null]`
/// on the first line, the output (stdout, or the summary when stdout goes to /dev/null) below.
#[test]
fn console_examples_in_the_docs_are_what_the_binary_prints() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let mut files = vec![format!("{dir}/README.md")];
    for sub in ["docs", "docs/profiles"] {
        for e in std::fs::read_dir(format!("{dir}/{sub}")).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "md") {
                files.push(p.to_string_lossy().into_owned());
            }
        }
    }
    let mut checked = 0;
    let mut rewrites: Vec<(String, String, String, String)> = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for block in text.split("```console\n").skip(1) {
            let block = &block[..block.find("```").unwrap()];
            let mut lines = block.lines();
            let Some(first) = lines.next() else { continue };
            let Some(cmd) = first.strip_prefix("$ helm-fixup ") else {
                continue;
            };
            let (cmd, quiet) = match cmd.strip_suffix(" > /dev/null") {
                Some(c) => (c, true),
                None => (cmd, false),
            };
            let (cmd, input) = match cmd.split_once(" < ") {
                Some((c, f)) => (c, std::fs::read_to_string(format!("{dir}/{f}")).unwrap()),
                None => (cmd, String::new()),
            };
            let args = shell_words(cmd);
            let tmp = tempfile::tempdir().unwrap();
            let mut run = Run::new().args(&args).stdin(input);
            if quiet {
                run = run.summary_file(tmp.path().join("summary"));
            }
            let o = run.run();
            let got = if quiet {
                o.summary.clone()
            } else {
                String::from_utf8_lossy(&o.stdout).into_owned()
            };
            let want: Vec<&str> = lines.collect();
            let got: Vec<&str> = got.trim_end().lines().collect();
            if got != want && std::env::var_os("UPDATE_DOCS").is_some() {
                rewrites.push((
                    file.clone(),
                    first.to_string(),
                    want.join("\n"),
                    got.join("\n"),
                ));
            } else {
                assert_eq!(
                    got, want,
                    "{file}: $ helm-fixup {cmd} (UPDATE_DOCS=1 rewrites it)"
                );
            }
            checked += 1;
        }
    }
    // UPDATE_DOCS=1: write what the binary prints into the examples (then review the diff).
    for (file, first, old, new) in rewrites {
        let text = std::fs::read_to_string(&file).unwrap();
        let text = if old.is_empty() {
            text.replacen(&format!("{first}\n```"), &format!("{first}\n{new}\n```"), 1)
        } else {
            text.replacen(&old, &new, 1)
        };
        std::fs::write(&file, text).unwrap();
    }
    assert!(checked >= 3, "{checked} examples checked");
}

const CLAIM: &str = "apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: mon
spec:
  resources:
    requests:
      storage: 1Gi
";

/// A fake kubectl that prints `out` (or fails when `out` is None) and records its arguments.
fn fake_kubectl(dir: &std::path::Path, out: Option<&str>) -> String {
    let path = dir.join("kubectl");
    let body = match out {
        Some(json) => format!(
            "#!/bin/sh\necho \"$@\" >> '{}/args'\ncat <<'EOF'\n{json}\nEOF\n",
            dir.display()
        ),
        None => "#!/bin/sh\necho 'error: You must be logged in to the server (Unauthorized)' >&2\nexit 1\n".into(),
    };
    std::fs::write(&path, body).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn existing_cluster_reads_live_volumes_with_kubectl() {
    let dir = tempfile::tempdir().unwrap();
    let live = r#"{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1",
      "kind": "PersistentVolume", "metadata": {"name": "mon.data",
      "annotations": {"meta.helm.sh/release-name": "r"}},
      "spec": {"capacity": {"storage": "1Gi"}, "local": {"path": "/srv/old/mon/data"},
        "claimRef": {"kind": "PersistentVolumeClaim", "namespace": "mon", "name": "data", "uid": "abc"},
        "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions":
          [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["old-node"]}]}]}}},
      "status": {"phase": "Bound"}}]}"#;
    let kubectl = fake_kubectl(dir.path(), Some(live));
    let args = [
        "-p",
        "local-pv",
        "--set",
        "local-pv.node=new-node",
        "--set",
        "local-pv.existing=cluster",
    ];
    let o = fixup(&args, &[("HELM_FIXUP_KUBECTL", &kubectl)], CLAIM);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("/srv/old/mon/data") && o.stdout.contains("old-node"));
    assert!(o.stdout.contains("uid: abc"), "{}", o.stdout);
    let called = std::fs::read_to_string(dir.path().join("args")).unwrap();
    let calls: Vec<&str> = called.lines().collect();
    assert_eq!(
        calls,
        [
            "get pv -o json --request-timeout=30s",
            "get nodes -o json --request-timeout=30s",
            "get statefulsets.apps,persistentvolumeclaims,jobs.batch -o json -A --request-timeout=30s"
        ],
        "kubectl is only ever asked to read"
    );
    // kubectl failing is a usage error before the stream is read: exit 3, nothing on stdout.
    let failing = fake_kubectl(dir.path(), None);
    let o = fixup(&args, &[("HELM_FIXUP_KUBECTL", &failing)], CLAIM);
    assert_eq!(o.code, 3);
    assert!(o.stdout.is_empty());
    assert!(
        o.summary.contains("local-pv.existing=cluster") && o.summary.contains("Unauthorized"),
        "{}",
        o.summary
    );
}

#[test]
fn existing_file_that_is_missing_or_broken_exits_3() {
    let o = fixup(
        &[
            "-p",
            "local-pv",
            "--set",
            "local-pv.node=n",
            "--set",
            "local-pv.existing=/nonexistent/pv.yaml",
        ],
        &[],
        CLAIM,
    );
    assert_eq!(o.code, 3);
    assert!(o.stdout.is_empty());
    assert!(o.summary.contains("/nonexistent/pv.yaml"), "{}", o.summary);
}

#[test]
fn selector_that_matches_nothing_warns() {
    let o = fixup(
        &[
            "-p",
            "root-run",
            "--only",
            "kind=Promethues",
            "--summary-format",
            "json",
        ],
        &[],
        DEPLOY,
    );
    assert_eq!(o.code, 0);
    let v: serde_json::Value = serde_json::from_str(&o.summary).unwrap();
    let m = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["code"] == "selector-unmatched")
        .expect("a selector-unmatched message");
    assert!(
        m["message"]
            .as_str()
            .unwrap()
            .contains("kinds here: Deployment"),
        "{m}"
    );
    // A --skip that skips nothing says so too; one that matches says nothing.
    let o = fixup(
        &[
            "-p",
            "root-run",
            "--skip",
            "name=wbe",
            "--summary-format",
            "json",
        ],
        &[],
        DEPLOY,
    );
    assert!(
        o.summary
            .contains("--skip name=wbe matches no object a profile reads, so it skips nothing"),
        "{}",
        o.summary
    );
    let o = fixup(
        &[
            "-p",
            "root-run",
            "--skip",
            "name=web",
            "--summary-format",
            "json",
        ],
        &[],
        DEPLOY,
    );
    assert!(!o.summary.contains("selector-unmatched"), "{}", o.summary);
}

#[test]
fn config_file_pins_claims_and_names_the_live_volumes() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("pv.yaml");
    std::fs::write(&live, "apiVersion: v1\nkind: List\nitems: []\n").unwrap();
    let cfg = dir.path().join("fixup.yaml");
    std::fs::write(
        &cfg,
        format!(
            "profiles: [local-pv]\nparams:\n  local-pv:\n    nodes: [a, b]\n    pin: [\"mon/data=node-z\"]\n    existing: {}\n",
            live.display()
        ),
    )
    .unwrap();
    let o = fixup(&["-c", cfg.to_str().unwrap()], &[], CLAIM);
    assert_eq!(o.code, 0, "{}", o.summary);
    assert!(o.stdout.contains("- node-z"), "{}", o.stdout);
    assert!(
        o.summary.contains("0 volume(s) exist already"),
        "{}",
        o.summary
    );
}

/// Exit 2 means bad input in the README's table; clap's own default for argument errors is 2,
/// so a typo in a flag looked like a broken chart.
#[test]
fn argument_errors_exit_3_not_the_bad_input_code() {
    for (args, needle) in [
        (&["--bogus"][..], "--bogus"),
        (&["-p"][..], "a value is required"),
        (&["-p", "root-run", "--summary-format", "xml"][..], "xml"),
        (&["explain"][..], "<PROFILE>"),
        (&["version"][..], "helm-fixup --version"),
    ] {
        let o = fixup(args, &[], DEPLOY);
        assert_eq!(
            (o.code, o.stdout.as_str()),
            (3, ""),
            "{args:?}: {}",
            o.stderr
        );
        assert!(o.stderr.contains(needle), "{args:?}: {}", o.stderr);
    }
    for args in [
        &["--help"][..],
        &["--version"][..],
        &["explain", "--help"][..],
    ] {
        let o = fixup(args, &[], "");
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
        assert!(o.stdout.contains("helm-fixup"), "{args:?}: {}", o.stdout);
    }
}

/// A summary file that cannot be written used to lose the summary and exit 0 after all the work.
#[test]
fn unwritable_summary_file_is_a_usage_error_before_stdin_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir/summary.txt");
    for (path, needle) in [
        (missing.to_str().unwrap(), "does not exist"),
        (dir.path().to_str().unwrap(), "is a directory"),
    ] {
        // stdin is an empty pipe: the run must fail on the path, not on the input.
        let o = Run::new()
            .args(["-p", "root-run", "--summary-file", path])
            .run();
        assert_eq!(o.code, Some(3), "{path}");
        assert!(o.stdout.is_empty());
        let err = &o.stderr;
        assert!(err.contains(needle), "{path}: {err}");
    }
}

#[test]
fn stdin_that_is_a_directory_says_what_to_pass() {
    let dir = tempfile::tempdir().unwrap();
    let o = Run::new()
        .args(["-p", "root-run"])
        .stdin_from(std::fs::File::open(dir.path()).unwrap())
        .run();
    assert_eq!(o.code, Some(3));
    let err = &o.stderr;
    assert!(err.contains("stdin is a directory"), "{err}");
    assert!(err.contains("< manifests.yaml"), "{err}");
}

/// Helm 4 discards the post-renderer's stderr: the last-run file is where the error survives.
#[test]
fn last_shows_the_error_or_summary_of_the_previous_run() {
    let state = tempfile::tempdir().unwrap();
    let xdg = state.path().to_str().unwrap();
    let env = [("XDG_STATE_HOME", xdg)];
    let o = fixup(&["last"], &env, "");
    assert_eq!(o.code, 0);
    assert!(o.stdout.contains("no run recorded yet"), "{}", o.stdout);

    let o = fixup(&["-p", "root-runn"], &env, DEPLOY);
    assert_eq!(o.code, 3);
    let file = state.path().join("helm-fixup/last-run.txt");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("(exit 3)"), "{text}");
    assert!(text.contains("unknown profile \"root-runn\""), "{text}");
    let o = fixup(&["last"], &env, "");
    assert!(
        o.stdout.contains("unknown profile \"root-runn\""),
        "{}",
        o.stdout
    );

    // A clap error is recorded too, and a success replaces the error with the summary.
    let o = fixup(&["--bogus"], &env, "");
    assert_eq!(o.code, 3);
    assert!(std::fs::read_to_string(&file).unwrap().contains("--bogus"));
    let o = fixup(&["-p", "root-run"], &env, DEPLOY);
    assert_eq!(o.code, 0);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("(exit 0)") && text.contains("helm-fixup: profiles"),
        "{text}"
    );
    assert!(!text.contains("root-runn"), "{text}");
}

/// Profile files written before `seed:` became `fixes:` still load.
#[test]
fn old_profile_file_with_seed_key_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.yaml");
    std::fs::write(
        &file,
        "name: mine\nfix: root-run\ndescription: d\nseed: \"permission denied\"\n",
    )
    .unwrap();
    let o = fixup(&["explain", file.to_str().unwrap()], &[], "");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("Fixes: permission denied"),
        "{}",
        o.stdout
    );
}

/// Split a shell command line into words: double and single quotes group, backslash-newline
/// joins lines. Enough for the README's examples.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// The README's Helm 3 calls, each as the helm-fixup arguments Helm 3 would pass: Helm 3 hands
/// every `--post-renderer-args` value over as one argument, so `"-p shared-uid"` reached the
/// binary as the single word `-p shared-uid` and failed.
fn readme_helm3_calls() -> Vec<Vec<String>> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let mut readme = std::fs::read_to_string(format!("{dir}/README.md")).unwrap();
    for sub in ["docs", "docs/profiles"] {
        for e in std::fs::read_dir(format!("{dir}/{sub}")).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "md") {
                readme.push_str(&std::fs::read_to_string(p).unwrap());
            }
        }
    }
    let joined = readme.replace("\\\n", " ");
    let mut calls = Vec::new();
    for line in joined.lines() {
        let line = line.split(" # ").next().unwrap_or(line);
        if !line.contains("--post-renderer helm-fixup") {
            continue;
        }
        let words = shell_words(line);
        let mut args = Vec::new();
        let mut it = words.iter();
        while let Some(w) = it.next() {
            if w == "--post-renderer-args" {
                args.push(it.next().cloned().unwrap_or_default());
            } else if let Some(v) = w.strip_prefix("--post-renderer-args=") {
                args.push(v.to_string());
            }
        }
        calls.push(args);
    }
    calls
}

#[test]
fn readme_helm3_examples_pass_one_word_per_post_renderer_arg_and_run() {
    let calls = readme_helm3_calls();
    assert!(
        calls.len() >= 6,
        "found only {} Helm 3 examples",
        calls.len()
    );
    let stream = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/streams/demo.yaml"
    ))
    .unwrap();
    for args in calls {
        for a in &args {
            assert!(
                !a.contains(char::is_whitespace),
                "README Helm 3 example passes {a:?} as one argument: {args:?}"
            );
        }
        if args.iter().any(|a| a.contains("$PWD") || a.contains("...")) {
            continue;
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        // `existing=cluster` reads the cluster: a kubectl that knows no volume stands in.
        let dir = tempfile::tempdir().unwrap();
        let kubectl = fake_kubectl(
            dir.path(),
            Some(r#"{"apiVersion": "v1", "kind": "List", "items": []}"#),
        );
        let o = fixup(&argv, &[("HELM_FIXUP_KUBECTL", kubectl.as_str())], &stream);
        assert_eq!(o.code, 0, "README Helm 3 example {args:?}: {}", o.stderr);
    }
}

/// Completions and the man page come from the clap definition: they know every flag and
/// subcommand, and an unknown shell is a usage error.
#[test]
fn completions_and_man_page_know_every_flag() {
    for shell in ["bash", "zsh", "fish"] {
        let o = fixup(&["completions", shell], &[], "");
        assert_eq!(o.code, 0, "{shell}: {}", o.stderr);
        for flag in ["summary-file", "dry-run", "explain", "last"] {
            assert!(o.stdout.contains(flag), "{shell} completion lacks {flag}");
        }
    }
    let o = fixup(&["completions", "tcsh"], &[], "");
    assert_eq!(o.code, 3);
    let o = fixup(&["man"], &[], "");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains(".TH helm-fixup 1"), "{}", o.stdout);
    for flag in ["summary\\-file", "dry\\-run"] {
        assert!(
            o.stdout.contains(flag),
            "man page lacks {flag}:\n{}",
            o.stdout
        );
    }
}

/// Every bad parameter, selector or profile is a usage error before stdin is read. Parameters
/// used to be checked by each fix after the whole stream was read, so with Helm's pipe (or
/// `< /dev/zero`) the error waited for input. Here stdin stays open and empty: each run must
/// end on its own with exit 3 and nothing on stdout.
#[test]
fn every_usage_error_exits_before_reading_stdin() {
    let cases: &[&[&str]] = &[
        &["-p", "shared-uid", "--set", "shared-uid.uid=abc"],
        &["-p", "shared-uid", "--set", "shared-uid.gid=4294967296"],
        &["-p", "init-chown", "--set", "init-chown.uid=-1"],
        &["-p", "init-chown", "--set", "init-chown.image=a b"],
        &["-p", "exec-probes", "--set", "exec-probes.all=maybe"],
        &[
            "-p",
            "exec-probes",
            "--set",
            "exec-probes.operatorVersion=latest",
        ],
        &[
            "-p",
            "root-run",
            "--set",
            "root-run.addCapabilities=NET-ADMIN",
        ],
        &["-p", "local-pv"],
        &[
            "-p",
            "local-pv",
            "--set",
            "local-pv.node=n",
            "--set",
            "local-pv.path=/a/../../etc",
        ],
        &[
            "-p",
            "local-pv",
            "--set",
            "local-pv.node=n",
            "--set",
            "local-pv.keep=perhaps",
        ],
        &[
            "-p",
            "local-pv",
            "--set",
            "local-pv.nodes=a,b",
            "--set",
            "local-pv.pin=x",
        ],
        &["-p", "root-run", "--set", "root-run.nope=1"],
        &["-p", "root-run", "--set", "shared-uid.uid=1"],
        &["-p", "root-run", "--only", "kind="],
        &["-p", "root-run", "--skip", "nope:kind=Pod"],
        &["-p", "root-run", "--only", "colour=red"],
        &["-p", "no-such-profile"],
    ];
    for args in cases {
        // A pipe whose writer stays open for a minute: reading it to its end would wait.
        let mut writer = std::process::Command::new("sleep")
            .arg("60")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let open = writer.stdout.take().unwrap();
        let o = Run::new().args(*args).stdin_from(open).run();
        let _ = writer.kill();
        let _ = writer.wait();
        assert!(
            o.elapsed < std::time::Duration::from_secs(20),
            "{args:?} waited for stdin"
        );
        assert_eq!(o.code, Some(3), "{args:?}: {}", o.stderr);
        assert!(o.stdout.is_empty(), "{args:?}");
        assert!(
            o.stderr.starts_with("helm-fixup: "),
            "{args:?}: {}",
            o.stderr
        );
    }
}

/// Users start from an error message: `diagnose --error` names the failure and the fix, reads
/// only the text, and gives a distinct exit code when it recognises something, so a script can
/// gate on it.
#[test]
fn diagnose_names_the_failure_from_the_error_message() {
    let lines = [
        (
            "ts=2023-04-13T00:57:17.124Z caller=query_logger.go:91 level=error component=activeQueryTracker msg=\"Error opening query log file\" file=/prometheus/queries.active err=\"open /prometheus/queries.active: permission denied\"",
            "prometheus-data-write",
            "helm-fixup -p init-chown",
        ),
        (
            "panic: Unable to create mmap-ed active query log",
            "prometheus-data-write",
            "helm-fixup -p init-chown",
        ),
        (
            "level=warn err=\"upload 01JBDQNT0RZH4GFCFC564RWZT7: hard link block: hard link file chunks/000001: link /prometheus/01JB/chunks/000001 /prometheus/thanos/upload/01JB/chunks/000001: operation not permitted\" uploaded=0",
            "thanos-hard-link",
            "helm-fixup -p shared-uid",
        ),
        (
            "0/8 nodes are available: 8 pod has unbound immediate PersistentVolumeClaims. preemption: 0/8 nodes are available",
            "unbound-claim",
            "helm-fixup -p local-pv",
        ),
    ];
    for (line, code, fix) in lines {
        let o = Run::new().args(["diagnose", "--error", line]).run();
        assert_eq!(o.code, Some(4), "{line}: {}", o.stderr);
        let out = o.stdout_text();
        assert!(out.contains(&format!("[{code}]")), "{line}:\n{out}");
        assert!(out.contains(fix), "{line}:\n{out}");
        assert!(out.contains("Helm 4: --post-renderer fixup"), "{out}");
    }
    // From a file or stdin, as JSON.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.txt");
    std::fs::write(
        &file,
        "Warning FailedScheduling pod has unbound immediate PersistentVolumeClaims\n",
    )
    .unwrap();
    let o = Run::new()
        .args(["diagnose", "--format", "json", "--error-file"])
        .arg(&file)
        .run();
    assert_eq!(o.code, Some(4), "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(o.stdout_text()).unwrap();
    assert_eq!(v["failures"][0]["code"], "unbound-claim");
    let o = Run::new()
        .args(["diagnose", "--error-file", "-"])
        .stdin(
            "write file: open /etc/prometheus/config_out/prometheus.env.yaml: permission denied\n",
        )
        .run();
    assert_eq!(o.code, Some(4), "{}", o.stderr);
    // The least privilege first: root-run is offered after shared-uid, never before.
    let out = o.stdout_text();
    let (shared, root) = (
        out.find("-p shared-uid").unwrap(),
        out.find("-p root-run").unwrap(),
    );
    assert!(shared < root, "{out}");
    // Unknown text says so and exits 0; without --error, diagnose reads a stream (here an
    // empty one, in which nothing fails).
    let o = Run::new().args(["diagnose", "--error", "all good"]).run();
    assert_eq!(o.code, Some(0));
    assert!(
        o.stdout_text()
            .contains("no failure this tool fixes is recognised")
    );
    let o = Run::new().args(["diagnose"]).run();
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(
        o.stdout_text()
            .contains("no failure that helm-fixup fixes is foreseen")
    );
    let o = Run::new()
        .args(["diagnose", "--error-file", "/no/such/file"])
        .run();
    assert_eq!(o.code, Some(3));
    assert!(o.stdout.is_empty());
}

#[test]
fn several_words_in_one_post_renderer_arg_get_the_corrected_helm_forms() {
    for args in [
        vec!["-p", "local-pv", "--set local-pv.node=w1"],
        vec!["-p", "shared-uid", "--set", "shared-uid.uid", "1000"],
        vec!["root-run", "-p"],
    ] {
        let o = Run::new().args(args.clone()).stdin("").run();
        assert_eq!(o.code, Some(3), "{args:?}: {}", o.stderr);
        assert!(o.stdout.is_empty());
        assert!(
            o.stderr.contains("Helm 4: --post-renderer-args=")
                && o.stderr.contains("Helm 3: --post-renderer-args "),
            "{args:?}: {}",
            o.stderr
        );
    }
}

#[test]
fn local_pv_on_a_stream_without_claims_says_so() {
    let o = fixup(
        &["-p", "local-pv", "--set", "local-pv.node=a"],
        &[],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    );
    assert_eq!(o.code, 0);
    assert!(
        o.summary.contains("the stream creates no claim"),
        "{}",
        o.summary
    );
}

#[test]
fn help_says_assume_is_for_diagnose_too() {
    let o = fixup(&["--help"], &[], "");
    assert!(
        o.stdout.contains("for `-p auto` and `diagnose`"),
        "{}",
        o.stdout
    );
}

/// The example chart names ServiceAccounts for its operator and Prometheus: it must create them,
/// or `helm install --wait` of the example never succeeds.
#[test]
fn example_chart_creates_every_service_account_it_names() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/fixup-demo/templates");
    let mut named = Vec::new();
    let mut created = String::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        for line in text.lines() {
            if let Some(v) = line.trim().strip_prefix("serviceAccountName: ") {
                named.push(v.trim().to_string());
            }
        }
        if text.contains("kind: ServiceAccount") {
            created.push_str(&text);
        }
    }
    assert!(!named.is_empty());
    for n in named {
        assert!(
            created.contains(&format!("name: {n}")),
            "{n} is not created"
        );
    }
}

#[test]
fn release_script_is_executable() {
    use std::os::unix::fs::PermissionsExt;
    let meta =
        std::fs::metadata(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/release.sh")).unwrap();
    assert!(meta.permissions().mode() & 0o111 != 0);
}

/// Typed in a terminal, `helm-fixup -p root-run` used to wait silently for a stream nobody
/// pastes. Run under a pseudo-terminal (util-linux `script`), it says how to pipe manifests in.
#[test]
fn profile_run_typed_in_a_terminal_says_how_to_pipe_manifests_in() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("script (util-linux) not found: skipped");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_helm-fixup");
    let out = std::process::Command::new("timeout")
        .args(["10", "script", "-qec"])
        .arg(format!("{bin} -p root-run"))
        .arg("/dev/null")
        .env("HELM_FIXUP_LAST_RUN", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("pipe them in"), "{text}");
}
