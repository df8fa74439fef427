//! Hostile and odd input through the real binary: every bad stream exits 2 with
//! `document N (line L, column C): reason` and leaves stdout empty; every odd but valid stream
//! passes with untouched documents byte for byte.
//!
//! A mapping that repeats a key is not bad input: Helm and `kubectl` install it with the last
//! value (sigs.k8s.io/yaml's non-strict `YAMLToJSON`), and so does helm-fixup, with a
//! `duplicate-key` warning; a profile's edit lands on that last copy.

use crate::support::{Ran, Run};
use std::time::Duration;

fn run(args: &[&str], input: &[u8]) -> Ran {
    Run::new().args(args).stdin(input).run()
}

/// Bad input: exit 2, empty stdout, and the message names the document, line and column.
#[track_caller]
fn rejected(input: &[u8], doc: usize, line: Option<usize>, reason: &str) -> Ran {
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
        // A hang guard only, loose enough for a loaded 2-core machine running the debug build;
        // the time is measured in scripts/bench.sh.
        assert!(
            o.elapsed < Duration::from_secs(30),
            "{args:?}: took {:?}",
            o.elapsed
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
        "aliases repeat more than the limit of 100000 YAML events",
    );
}

/// `kind` with an anchor aliased `uses` times; the anchor's node replays `events` YAML events.
fn aliased(kind: &str, node: &str, uses: usize) -> String {
    let mut doc = format!(
        "apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: web\n  labels: &l {node}\nuses:\n"
    );
    for _ in 0..uses {
        doc.push_str("- *l\n");
    }
    doc.push_str(
        "spec:\n  template:\n    spec:\n      containers: [{name: a, image: b, volumeMounts: [{name: c, mountPath: /c}]}]\n      volumes: [{name: c, emptyDir: {}}]\n",
    );
    doc
}

/// One alias policy for every document: a workload a profile reads and a ConfigMap no profile
/// reads pass and fail at the same replay size, and 100 aliases to one anchor are no limit.
#[test]
fn hundred_aliases_to_one_anchor_pass_in_a_workload_as_in_a_configmap() {
    for kind in ["Deployment", "ConfigMap"] {
        let o = run(
            &["-p", "root-run"],
            aliased(kind, "{app: web}", 100).as_bytes(),
        );
        assert_eq!(o.code, Some(0), "{kind}: {}", o.stderr);
        if kind == "Deployment" {
            assert!(o.stderr.contains("1 object changed"), "{}", o.stderr);
        }
        // A mapping of two entries replays six events: 16,666 uses are 99,996, one more
        // passes the limit of 100,000.
        let o = run(
            &["-p", "root-run"],
            aliased(kind, "{a: b, c: d}", 16_666).as_bytes(),
        );
        assert_eq!(o.code, Some(0), "{kind}: {}", o.stderr);
        rejected(
            aliased(kind, "{a: b, c: d}", 16_667).as_bytes(),
            1,
            None,
            "aliases repeat more than the limit of 100000 YAML events",
        );
    }
}

/// Documents that each stay under their own alias limit must not add up to gigabytes: 200
/// Deployments replaying 98,000 events each took 19 s and 2.3 GB. The stream has a limit of
/// its own, counted over every document (those no profile reads too, so the verdict does not
/// depend on the profiles), and the error names the document where it is passed.
#[test]
fn alias_bomb_spread_over_documents_is_refused_by_the_stream_limit() {
    let docs = |n: usize| {
        (0..n)
            .map(|i| {
                // ConfigMaps are only validated (quick in the debug build the tests use), but
                // count as much as the Deployment a profile reads.
                let kind = if i == 0 { "Deployment" } else { "ConfigMap" };
                format!("---\n{}", aliased(kind, "{a: b, c: d}", 16_666))
            })
            .collect::<String>()
    };
    // Ten documents of 99,996 events each: 999,960, under the limit of 1,000,000.
    let o = run(&["-p", "root-run"], docs(10).as_bytes());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let o = rejected(
        docs(11).as_bytes(),
        11,
        None,
        "more than the limit of 1000000 for a whole stream",
    );
    assert!(
        o.stderr.contains("repeat 1099956 YAML events"),
        "{}",
        o.stderr
    );
    // An error in a document before the breach is still the one named.
    let first_bad = format!("---\nkind: A\nb: [\n{}", docs(11));
    rejected(first_bad.as_bytes(), 1, None, "");
}

#[test]
fn alias_bomb_in_a_skipped_configmap_is_rejected() {
    let input = format!("{DEPLOY}---\n{}", billion_laughs("ConfigMap"));
    rejected(
        input.as_bytes(),
        2,
        None,
        "aliases repeat more than the limit of 100000 YAML events",
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

/// YAML breaks lines at a lone CR too, but the line a user looks up counts LF only.
#[test]
fn lone_cr_inside_a_value_does_not_make_the_reported_line_one_too_high() {
    let input = format!("{DEPLOY}---\nkind: ConfigMap\ndata:\n  a: \"x\ry\"\n  b: - x\n");
    rejected(input.as_bytes(), 2, Some(17), "not allowed in this context");
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

/// The `duplicate-key` warnings of a run's JSON summary: (object, message).
fn duplicate_key_warnings(args: &[&str], input: &str) -> (Ran, Vec<(String, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let sum = dir.path().join("s.json");
    let mut all: Vec<&str> = args.to_vec();
    let path = sum.to_str().unwrap().to_string();
    all.extend(["--summary-format", "json", "--summary-file", &path]);
    let o = run(&all, input.as_bytes());
    assert_eq!(o.code, Some(0), "{args:?}: {}", o.stderr);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sum).unwrap()).unwrap();
    let found = summary["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["code"] == "duplicate-key")
        .map(|m| {
            assert_eq!(m["level"], "warning", "{m}");
            (
                m["object"].as_str().unwrap().to_string(),
                m["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (o, found)
}

/// Charts rendered with their own CI values repeat keys (`podAntiAffinity` twice in an affinity
/// block, `logFormat` twice in a Prometheus). Helm and kubectl install them with the last value
/// (sigs.k8s.io/yaml's non-strict YAMLToJSON); exiting 2 left the user no way to install at all.
#[test]
fn duplicate_key_chart_installs_with_the_last_value() {
    let deploy = DEPLOY.replace(
        "      containers:\n",
        "      affinity:\n        podAntiAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution: []\n        podAntiAffinity:\n          preferredDuringSchedulingIgnoredDuringExecution:\n          - weight: 1\n            podAffinityTerm: {topologyKey: kubernetes.io/hostname}\n      containers:\n",
    );
    let prom = "apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata:\n  name: k\nspec:\n  logFormat: logfmt\n  replicas: 1\n  logFormat: json\n";
    let input = format!(
        "---\n# Source: c/templates/web.yaml\n{deploy}---\n# Source: c/templates/p.yaml\n{prom}"
    );
    for args in [
        &["-p", "root-run"][..],
        &[],
        &["-p", "root-run,exec-probes"],
    ] {
        let (o, warned) = duplicate_key_warnings(args, &input);
        let out = String::from_utf8(o.stdout).unwrap();
        let segs = helm_fixup::stream::split(out.as_bytes());
        let values: Vec<serde_json::Value> = segs
            .iter()
            .map(|s| helm_fixup::yaml::parse_value(&out[s.span.clone()]).unwrap())
            .collect();
        let pod = &values[0]["spec"]["template"]["spec"];
        assert_eq!(
            pod["affinity"]["podAntiAffinity"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["preferredDuringSchedulingIgnoredDuringExecution"],
            "{args:?}: {out}"
        );
        assert_eq!(values[1]["spec"]["logFormat"], "json", "{args:?}");
        if !args.is_empty() {
            assert_eq!(pod["securityContext"]["runAsUser"], 0, "{args:?}: {out}");
        }
        assert_eq!(
            warned,
            [
                (
                    "Deployment web".to_string(),
                    "chart bug: key spec.template.spec.affinity.podAntiAffinity appears twice, at lines 13 and 15; Kubernetes uses the last value".to_string()
                ),
                (
                    "Prometheus k".to_string(),
                    "chart bug: key spec.logFormat appears twice, at lines 29 and 31; Kubernetes uses the last value".to_string()
                ),
            ],
            "{args:?}"
        );
        let lines: Vec<&str> = input.lines().collect();
        assert!(lines[14].trim() == "podAntiAffinity:" && lines[30].contains("logFormat: json"));
    }
}

/// With no profile, or with profiles that read none of its kinds, a document that repeats a key
/// is copied through as it came: its bytes are the chart's, and Kubernetes reads them as it would
/// without helm-fixup.
#[test]
fn duplicate_key_passes_through_byte_for_byte_without_profiles() {
    let input = format!(
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b # last\ndata:\n  'x': \"1\"\n  x: \"2\"\n---\n{}---\napiVersion: v1\nkind: List\nitems:\n- kind: ConfigMap\n  metadata: {{name: c, name: d}}\n",
        DEPLOY.replace(
            "        runAsUser: 1000\n",
            "        runAsUser: 1000\n        runAsUser: 1001\n"
        )
    );
    let (o, warned) = duplicate_key_warnings(&[], &input);
    assert_eq!(String::from_utf8(o.stdout).unwrap(), input);
    let objects: Vec<&str> = warned.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(
        objects,
        [
            "ConfigMap b",
            "ConfigMap b",
            "Deployment web",
            "ConfigMap d"
        ]
    );
    assert!(
        warned[0]
            .1
            .contains("key metadata.name appears twice, at lines 5 and 6"),
        "{warned:?}"
    );
    assert!(
        warned[1]
            .1
            .contains("key data.x appears twice, at lines 8 and 9"),
        "{warned:?}"
    );
    assert!(
        warned[2].1.contains(
            "key spec.template.spec.securityContext.runAsUser appears twice, at lines 19 and 20"
        ),
        "{warned:?}"
    );
    // In a List, the item is named, and the key's path starts in it.
    assert!(
        warned[3]
            .1
            .contains("key metadata.name appears twice, at lines 29 and 29"),
        "{warned:?}"
    );
    // A profile that reads none of these kinds leaves them as they came too.
    let only_cm = input.split("---\napiVersion: apps/v1").next().unwrap();
    let (o, warned) = duplicate_key_warnings(&["-p", "root-run,exec-probes"], only_cm);
    assert_eq!(String::from_utf8(o.stdout).unwrap(), only_cm);
    assert_eq!(warned.len(), 2, "{warned:?}");
}

/// The line-level readers see the first `kind:`; Kubernetes reads the last. A document must not
/// be skipped as a ConfigMap when it is a Deployment.
#[test]
fn a_repeated_kind_is_read_as_its_last_value() {
    let input = format!(
        "{}kind: Deployment\n",
        DEPLOY.replace("kind: Deployment", "kind: ConfigMap")
    );
    let (o, warned) = duplicate_key_warnings(&["-p", "root-run"], &input);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("runAsUser: 0\n"), "{out}");
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0].0, "Deployment web");
    assert!(
        warned[0]
            .1
            .contains("key kind appears twice, at lines 2 and 13"),
        "{warned:?}"
    );
}

/// A profile that changes a repeated key changes the copy Kubernetes reads (the last), and
/// leaves the earlier one as it was: editing the copy that is thrown away would change nothing.
#[test]
fn root_run_edits_the_last_of_two_duplicate_security_contexts() {
    let input = DEPLOY.replace(
        "      containers:\n",
        "      securityContext:\n        runAsUser: 2000 # the one Kubernetes reads\n      containers:\n",
    );
    let (o, warned) = duplicate_key_warnings(&["-p", "root-run"], &input);
    let out = String::from_utf8(o.stdout).unwrap();
    let want = input.replace("2000 # the one", "0 # the one");
    assert!(
        out.starts_with(&want[..want.find("      containers:").unwrap()]),
        "{out}"
    );
    assert!(out.contains("        runAsUser: 1000\n"), "{out}");
    let v = helm_fixup::yaml::parse_value(&out).unwrap();
    assert_eq!(
        v["spec"]["template"]["spec"]["securityContext"]["runAsUser"],
        0
    );
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0]
            .1
            .contains("securityContext appears twice, at lines 8 and 10"),
        "{warned:?}"
    );
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

/// Helm and kubectl unpack any document with a top-level `items` list, whatever its kind
/// (apimachinery's unstructured decoder and cli-runtime's `FlattenListVisitor`), and an item of a
/// typed list that names neither kind nor apiVersion gets the list's kind without `List`.
#[test]
fn typed_list_items_are_fixed_like_list_items() {
    let web = DEPLOY.replace('\n', "\n    ");
    let api = DEPLOY
        .replace("apiVersion: apps/v1\nkind: Deployment\n", "")
        .replace("name: web", "name: api")
        .replace('\n', "\n    ");
    let input = format!(
        "apiVersion: apps/v1\nkind: DeploymentList\nitems:\n  - {}\n  - {}\n",
        web.trim_end(),
        api.trim_end()
    );
    let o = run(&["-p", "root-run"], input.as_bytes());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(out.matches("runAsUser: 0").count(), 2, "{out}");
    assert!(o.stderr.contains("Deployment api"), "{}", o.stderr);
    assert!(o.stderr.contains("2 objects changed"), "{}", o.stderr);
    // The inferred kind stays inferred: the item keeps its text, with no kind added.
    assert_eq!(out.matches("kind: Deployment\n").count(), 1, "{out}");
    assert!(out.contains("  - metadata:\n      name: api\n"), "{out}");
    // With no profile the list passes byte for byte, its items counted as documents.
    let o = run(&[], input.as_bytes());
    assert_eq!(o.stdout, input.as_bytes());
    assert!(o.stderr.contains("(2 documents)"), "{}", o.stderr);
    // A repeated key in an item without a kind names the object by the kind it gets.
    let input = "apiVersion: v1\nkind: ConfigMapList\nitems:\n- metadata: {name: c, name: d}\n";
    let o = run(&[], input.as_bytes());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(o.stderr.contains("ConfigMap d"), "{}", o.stderr);
    // A plain List gives its items no kind: one without is still bad input.
    let input = "apiVersion: v1\nkind: List\nitems:\n- metadata: {name: x}\n";
    rejected(
        input.as_bytes(),
        1,
        Some(1),
        "item 0 of the List has no kind",
    );
    let input = "apiVersion: v1\nkind: ConfigMapList\nitems:\n- just text\n";
    rejected(
        input.as_bytes(),
        1,
        Some(1),
        "item 0 of the ConfigMapList is a string, not a mapping",
    );
}

/// `1e400` is too large for a float, and Kubernetes' YAML reader (go-yaml v2 through
/// sigs.k8s.io/yaml) then reads the string `1e400`: a valid annotation, with or without a profile.
#[test]
fn annotation_1e400_is_a_string_with_a_profile_as_without() {
    let input = DEPLOY.replace(
        "  name: web\n",
        "  name: web\n  annotations:\n    a: 1e400\n    b: \"x\"\n",
    );
    for args in [
        &["-p", "root-run"][..],
        &["-p", "exec-probes,init-chown"],
        &[],
    ] {
        let o = run(args, input.as_bytes());
        assert_eq!(o.code, Some(0), "{args:?}: {}", o.stderr);
        let out = String::from_utf8(o.stdout).unwrap();
        assert!(out.contains("    a: 1e400\n"), "{args:?}: {out}");
        if args.is_empty() {
            assert_eq!(out, input);
        }
    }
    let out = String::from_utf8(run(&["-p", "root-run"], input.as_bytes()).stdout).unwrap();
    assert!(out.contains("runAsUser: 0\n"), "{out}");
    // `.inf` is an infinity to Kubernetes too, which JSON cannot hold: bad input, with a
    // profile as without.
    let input = DEPLOY.replace(
        "  name: web\n",
        "  name: web\n  annotations:\n    a: .inf\n",
    );
    rejected(
        input.as_bytes(),
        1,
        Some(6),
        "`.inf` is YAML's infinity or NaN",
    );
    let input = "kind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: -.Inf\n";
    rejected(
        input.as_bytes(),
        1,
        Some(5),
        "`-.Inf` is YAML's infinity or NaN",
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
fn content_after_dots_without_a_marker_says_what_is_wrong_with_the_stream() {
    let input = "kind: ConfigMap\ndata: {}\n...\nkind: Secret\n";
    let o = rejected(
        input.as_bytes(),
        1,
        Some(4),
        "a second document starts here after `...` without its own `---` line",
    );
    assert!(!o.stderr.contains("from_str"), "{}", o.stderr);
}

/// YAML allows directives at the start of a stream and after `...`, before the `---` of the
/// document they belong to.
#[test]
fn yaml_directive_after_dots_belongs_to_the_next_document() {
    let input = format!("kind: ConfigMap\ndata: {{}}\n...\n%YAML 1.1\n---\n{DEPLOY}");
    let o = run(&["-p", "root-run"], input.as_bytes());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.starts_with("kind: ConfigMap\ndata: {}\n...\n%YAML 1.1\n---\napiVersion: apps/v1\n"),
        "{out}"
    );
    assert!(out.contains("runAsUser: 0\n"), "{out}");
    // At the start of the stream too, and untouched streams pass byte for byte.
    let input = format!("%YAML 1.1\n---\n{DEPLOY}...\n%YAML 1.1\n---\nkind: ConfigMap\n");
    let o = run(&[], input.as_bytes());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(o.stdout, input.as_bytes());
    // A directive with no document after it is still bad input.
    let input = "kind: ConfigMap\n...\n%YAML 1.1\n";
    rejected(input.as_bytes(), 1, None, "document start");
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
    let o = Run::new()
        .args(["-p", "root-run"])
        .close_stdout()
        .stdin(&input)
        .run();
    let stderr = &o.stderr;
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

/// A Deployment written with anchors, aliases, a merge key, a tag, an explicit `? key`, a flow
/// pod spec and comments, as charts that share blocks between components write it.
const ANCHORED: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # the web
  labels: &labels
    app: web
    ? tier
    : !!str 1
spec:
  selector:
    matchLabels: *labels
  template:
    metadata:
      labels: *labels  # same labels
    spec:
      containers:
      - &main
        <<: &image {image: 'nginx:1.27'}
        name: web
        securityContext: &sc
          runAsUser: 1000
        volumeMounts: [{name: cache, mountPath: /var/cache}]
      - name: side
        <<: *image
        securityContext: *sc
        args: [\"--a\", --b]   # flow args
      volumes:
      - {name: cache, emptyDir: {}}
";

/// An anchor, alias or merge key anywhere in an edited document used to make the whole
/// document be re-rendered: comments gone, aliases expanded, 19 of 47 lines kept. Now only the
/// edited lines change, and every alias keeps the value Kubernetes read before, unless the
/// fix changed that very place.
#[test]
fn anchors_comments_and_flow_survive_an_edit_of_an_aliased_document() {
    let o = run(&["-p", "root-run"], ANCHORED.as_bytes());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let out = String::from_utf8(o.stdout).unwrap();
    let before: Vec<&str> = ANCHORED.lines().collect();
    let after: Vec<&str> = out.lines().collect();
    // The one changed line is the uid; the pod securityContext is added after the volumes.
    let changed: Vec<&str> = before
        .iter()
        .filter(|l| !after.contains(l))
        .copied()
        .collect();
    assert_eq!(changed, ["          runAsUser: 1000"], "{out}");
    assert!(
        out.contains("        securityContext: &sc\n          runAsUser: 0\n"),
        "{out}"
    );
    // root-run made the side container root too: its alias of the changed anchor stays.
    assert!(out.contains("        securityContext: *sc\n"), "{out}");
    let v = helm_fixup::yaml::parse_value(&out).unwrap();
    let pod = &v["spec"]["template"]["spec"];
    assert_eq!(pod["containers"][1]["securityContext"]["runAsUser"], 0);
    assert_eq!(pod["containers"][1]["image"], "nginx:1.27");
    assert_eq!(v["spec"]["selector"]["matchLabels"]["tier"], "1");
    assert_eq!(pod["securityContext"]["runAsUser"], 0);
}

/// Helm's `toJson` writes a whole object as one line of JSON. It used to come back as block
/// YAML; now it stays one line of JSON, with only the changed values different.
#[test]
fn a_tojson_document_is_edited_as_json() {
    let doc = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx","securityContext":{"runAsUser":1000},"volumeMounts":[{"name":"cache","mountPath":"/var/cache"}]}],"volumes":[{"name":"cache","emptyDir":{}}]}}}}"#;
    let input = format!("---\n# Source: c/templates/web.json\n{doc}\n");
    let o = run(&["-p", "root-run"], input.as_bytes());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[..2], ["---", "# Source: c/templates/web.json"]);
    assert!(
        lines[2].contains(r#""securityContext":{"runAsUser":0}"#),
        "{out}"
    );
    assert!(
        lines[2].ends_with(r#""securityContext":{"runAsUser":0,"runAsGroup":0,"fsGroup":0,"runAsNonRoot":false,"seccompProfile":{"type":"RuntimeDefault"}}}}}}"#),
        "{out}"
    );
}

/// A Pod with a value over a megabyte is read back by comparing events, not by building a
/// fourth copy of it (5× its size in RSS before; see docs/performance.md): the edit must still
/// be exact, and a big document that does not read back as fixed must still be caught.
#[test]
fn big_annotation_in_an_edited_pod_is_edited_in_place() {
    let big = "a\\\"b".repeat(600_000);
    let doc = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    big: \"{big}\" # kept\nspec:\n  volumes: [{{name: d, emptyDir: {{}}}}]\n  containers:\n  - name: c\n    image: x\n    securityContext: {{runAsUser: 1000}}\n    volumeMounts: [{{name: d, mountPath: /d}}]\n"
    );
    assert!(doc.len() > 2 << 20);
    let o = run(&["-p", "root-run"], doc.as_bytes());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(
        out.lines()
            .filter(|l| !doc.lines().any(|d| d == *l))
            .count(),
        8,
        "only the uid line and the pod securityContext's seven lines are new:\n{}",
        &out[out.len() - 400..]
    );
    assert!(out.contains("securityContext: {runAsUser: 0}"));
    let v = helm_fixup::yaml::parse_value(&out).unwrap();
    assert_eq!(v["metadata"]["annotations"]["big"], "a\"b".repeat(600_000));
}
