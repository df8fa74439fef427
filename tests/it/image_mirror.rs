//! End-to-end tests of the `image-mirror` profile, named after the failures they guard: an
//! image pulled from a registry the cluster cannot reach (`ErrImagePull`), or one with no build
//! for the node's arch (prometheus-operator publishes no loong64 images).

use crate::common::*;
use crate::support::Run;
use helm_fixup::process;
use helm_fixup::report::{Code, Level};
use serde_json::Value;

const P: &[&str] = &["image-mirror"];

/// The fixture: an operator Deployment with all four image flags (one as two arguments), a
/// Prometheus with image and thanos.image, an Alertmanager with baseImage/tag/sha, a
/// ThanosRuler, a Deployment with a short name and a digest, a Pod with an ephemeral container.
const STREAM: &str = include_str!("../../examples/streams/image-mirror-operator.yaml");

/// One rule for each registry the fixture uses.
const ALL: &str = "quay.io=mirror.example.com/quay,docker.io=mirror.example.com/hub,\
registry.k8s.io=mirror.example.com/k8s,ghcr.io=mirror.example.com/ghcr";

/// The reloader of the loongnix mirror, whose tags drop the `v`.
const LOONGNIX: &str = "quay.io/prometheus-operator/prometheus-config-reloader=\
cr.loongnix.cn/prometheus/prometheus-config-reloader;tag=s/^v//";

/// Every line of a stream that names an image (what a user greps for), except ConfigMap data.
fn image_lines(stream: &str) -> Vec<String> {
    stream
        .lines()
        .filter(|l| {
            let t = l.trim_start().trim_start_matches("- ");
            t.starts_with("image:")
                || t.starts_with("baseImage:")
                || t.contains("-config-reloader=")
                || t.contains("-base-image")
                || t.starts_with("quay.io/")
        })
        .filter(|l| !l.contains("quay.io/not/a-pod"))
        .map(str::to_string)
        .collect()
}

#[test]
fn air_gapped_install_names_no_image_outside_the_mirror() {
    let out = run(
        STREAM,
        P,
        &[("image-mirror.map", ALL), ("image-mirror.require", "true")],
    );
    let text = String::from_utf8(out.stream.clone()).unwrap();
    let lines = image_lines(&text);
    assert_eq!(lines.len(), 15, "{lines:#?}");
    // The two-argument flag's value is on its own line.
    let outside: Vec<&String> = lines
        .iter()
        .filter(|l| {
            !l.contains("mirror.example.com/") && !l.trim_end().ends_with("-default-base-image")
        })
        .collect();
    assert!(outside.is_empty(), "{outside:#?}");
    assert_idempotent(
        &out,
        P,
        &[("image-mirror.map", ALL), ("image-mirror.require", "true")],
    );
}

#[test]
fn require_fails_with_exit_3_and_no_output_when_one_registry_has_no_rule() {
    let without_ghcr = ALL.replace(",ghcr.io=mirror.example.com/ghcr", "");
    let o = Run::new()
        .args(["-p", "image-mirror", "--set"])
        .arg(format!("image-mirror.map={without_ghcr}"))
        .args(["--set", "image-mirror.require=true"])
        .stdin(STREAM)
        .run();
    assert_eq!(o.code, Some(3), "{}", o.stderr);
    assert!(o.stdout.is_empty());
    assert!(
        o.stderr.contains("1 image reference no rule maps: ghcr.io/jkroepke/kube-webhook-certgen:1.5.3 (Pod monitoring/obs-debug)"),
        "{}",
        o.stderr
    );
    // Without require the same run succeeds and lists it.
    let out = run(STREAM, P, &[("image-mirror.map", &without_ghcr)]);
    let unmapped: Vec<&str> = out
        .report
        .messages
        .iter()
        .filter(|m| m.code == Code::ImageUnmapped)
        .map(|m| m.message.as_str())
        .collect();
    assert_eq!(
        unmapped,
        [
            "not mapped, pulled as written: ghcr.io/jkroepke/kube-webhook-certgen:1.5.3 (Pod monitoring/obs-debug)"
        ]
    );
}

#[test]
fn operator_flags_are_rewritten_in_both_forms() {
    let out = run(STREAM, P, &[("image-mirror.map", ALL)]);
    let d = docs(&out.stream);
    let op = pod(doc(&d, "Deployment", "obs-operator"));
    let args: Vec<&str> = op["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        args,
        [
            "--kubelet-service=kube-system/obs-kubelet",
            "--prometheus-config-reloader=mirror.example.com/quay/prometheus-operator/prometheus-config-reloader:v0.85.0",
            "--prometheus-default-base-image=mirror.example.com/quay/prometheus/prometheus",
            "--alertmanager-default-base-image",
            "mirror.example.com/quay/prometheus/alertmanager",
            "-thanos-default-base-image=mirror.example.com/quay/thanos/thanos:v0.39.2",
        ]
    );
}

#[test]
fn loongnix_reloader_tag_drops_the_v_in_the_flag_and_the_cr_patch() {
    let map = format!("{ALL},{LOONGNIX}");
    let out = run(STREAM, P, &[("image-mirror.map", &map)]);
    let d = docs(&out.stream);
    let op = pod(doc(&d, "Deployment", "obs-operator"));
    assert_eq!(
        op["containers"][0]["args"][1],
        "--prometheus-config-reloader=cr.loongnix.cn/prometheus/prometheus-config-reloader:0.85.0"
    );
    let prom = doc(&d, "Prometheus", "obs-prometheus");
    assert_eq!(
        container(pod(prom), "containers", "config-reloader")["image"],
        "cr.loongnix.cn/prometheus/prometheus-config-reloader:0.85.0"
    );
    // The longest rule wins: the operator itself still comes from the general quay.io rule.
    assert_eq!(
        op["containers"][0]["image"],
        "mirror.example.com/quay/prometheus-operator/prometheus-operator:v0.85.0"
    );
    assert_idempotent(&out, P, &[("image-mirror.map", &map)]);
}

#[test]
fn cr_image_fields_are_mirrored() {
    let out = run(STREAM, P, &[("image-mirror.map", ALL)]);
    let d = docs(&out.stream);
    let prom = doc(&d, "Prometheus", "obs-prometheus");
    assert_eq!(
        prom["spec"]["image"],
        "mirror.example.com/quay/prometheus/prometheus:v3.5.0"
    );
    assert_eq!(
        prom["spec"]["thanos"]["image"],
        "mirror.example.com/quay/thanos/thanos:v0.39.2"
    );
    let ruler = doc(&d, "ThanosRuler", "obs-ruler");
    assert_eq!(
        ruler["spec"]["image"],
        "mirror.example.com/quay/thanos/thanos:v0.39.2"
    );
    let text = String::from_utf8(out.stream.clone()).unwrap();
    assert!(
        text.contains("  image: \"mirror.example.com/quay/prometheus/prometheus:v3.5.0\"   # pinned by the chart"),
        "the comment stays"
    );
}

#[test]
fn alertmanager_base_image_loses_its_sha_and_its_tag_takes_the_tag_edit() {
    let map = format!(
        "{ALL},quay.io/prometheus/alertmanager=cr.loongnix.cn/prometheus/alertmanager;tag=s/^v//"
    );
    let out = run(STREAM, P, &[("image-mirror.map", &map)]);
    let d = docs(&out.stream);
    let am = &doc(&d, "Alertmanager", "obs-alertmanager")["spec"];
    assert_eq!(am["baseImage"], "cr.loongnix.cn/prometheus/alertmanager");
    assert_eq!(am["tag"], "0.28.1");
    assert!(am.get("sha").is_none(), "{am}");
    let warnings = messages(
        &out,
        Level::Warning,
        "Alertmanager monitoring/obs-alertmanager",
    );
    assert_eq!(
        warnings.len(),
        1,
        "the tag is there, so only the sha is news: {warnings:?}"
    );
    assert!(warnings[0].starts_with("spec.sha 27c475db"), "{warnings:?}");
    // The operator default base image flag has no tag: the operator appends its version, which
    // no tag edit can reach; a warning says so.
    let op = messages(&out, Level::Warning, "Deployment monitoring/obs-operator");
    assert!(
        op.iter().any(|m| m.contains(
            "--alertmanager-default-base-image: quay.io/prometheus/alertmanager has no tag"
        )),
        "{op:?}"
    );
    assert_idempotent(&out, P, &[("image-mirror.map", &map)]);
}

#[test]
fn cr_tag_and_sha_stay_when_spec_image_wins() {
    let am = "apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata:
  name: am
spec:
  image: quay.io/prometheus/alertmanager:v0.28.1
  baseImage: quay.io/prometheus/alertmanager
  tag: v0.28.0
  sha: 27c475db5fb156cab31d5c18a4251ac7ed567746a2483ff264516437a39b15ba
";
    let out = run(
        am,
        P,
        &[("image-mirror.map", "quay.io=m.example/q;tag=s/^v//")],
    );
    let spec = &docs(&out.stream)[0]["spec"];
    assert_eq!(spec["image"], "m.example/q/prometheus/alertmanager:0.28.1");
    assert_eq!(spec["baseImage"], "m.example/q/prometheus/alertmanager");
    assert_eq!(
        (&spec["tag"], &spec["sha"]),
        (
            &Value::from("v0.28.0"),
            &Value::from("27c475db5fb156cab31d5c18a4251ac7ed567746a2483ff264516437a39b15ba")
        ),
        "the operator ignores tag and sha when spec.image is set"
    );
}

#[test]
fn digest_pinned_image_is_pulled_by_tag_from_the_mirror_with_a_warning() {
    let out = run(STREAM, P, &[("image-mirror.map", ALL)]);
    let d = docs(&out.stream);
    let ksm = pod(doc(&d, "Deployment", "obs-kube-state-metrics"));
    assert_eq!(
        container(ksm, "containers", "kube-state-metrics")["image"],
        "mirror.example.com/k8s/kube-state-metrics/kube-state-metrics:v2.16.0"
    );
    let digest: Vec<_> = out
        .report
        .messages
        .iter()
        .filter(|m| m.code == Code::ImageDigest && m.level == Level::Warning)
        .filter(|m| m.object.as_deref() == Some("Deployment monitoring/obs-kube-state-metrics"))
        .collect();
    assert_eq!(digest.len(), 1, "{digest:?}");
}

#[test]
fn digest_only_reference_keeps_its_digest_rather_than_pulling_latest() {
    let d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let input = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: quay.io/a/b@{d}\n"
    );
    let out = run(&input, P, &[("image-mirror.map", "quay.io=m.example/q")]);
    assert_eq!(
        docs(&out.stream)[0]["spec"]["containers"][0]["image"],
        format!("m.example/q/a/b@{d}")
    );
    let w = messages(&out, Level::Warning, "Pod p");
    assert!(
        w[0].contains("has a digest and no tag, so the digest is kept"),
        "{w:?}"
    );
}

#[test]
fn short_name_busybox_is_mapped_through_docker_io_library() {
    let out = run(
        STREAM,
        P,
        &[("image-mirror.map", "docker.io=mirror.example.com/hub")],
    );
    let d = docs(&out.stream);
    let ksm = pod(doc(&d, "Deployment", "obs-kube-state-metrics"));
    assert_eq!(
        container(ksm, "initContainers", "wait")["image"],
        "mirror.example.com/hub/library/busybox:1.37.0"
    );
    let debug = pod(doc(&d, "Pod", "obs-debug"));
    assert_eq!(
        container(debug, "ephemeralContainers", "debugger")["image"],
        "mirror.example.com/hub/nicolaka/netshoot:v0.13"
    );
}

#[test]
fn summary_lists_each_distinct_image_once() {
    let out = run(STREAM, P, &[("image-mirror.map", ALL)]);
    let mapped: Vec<&str> = out
        .report
        .messages
        .iter()
        .filter(|m| m.code == Code::ImageMapped)
        .map(|m| m.message.as_str())
        .collect();
    // thanos:v0.39.2 is named three times, the reloader twice: once each here.
    assert_eq!(
        mapped
            .iter()
            .filter(|m| m.starts_with("quay.io/thanos/thanos:v0.39.2 -> "))
            .count(),
        1
    );
    assert_eq!(mapped.len(), 11, "{mapped:#?}");
    let text = out.report.text();
    assert!(
        text.contains(
            "note: image-mirror: busybox:1.37.0 -> mirror.example.com/hub/library/busybox:1.37.0\n"
        ),
        "{text}"
    );
}

#[test]
fn untouched_documents_stay_byte_for_byte() {
    let out = run(STREAM, P, &[("image-mirror.map", ALL)]);
    let text = String::from_utf8(out.stream.clone()).unwrap();
    let cm_in = &STREAM[STREAM.find("# Source: obs/templates/config.yaml").unwrap()..];
    assert!(text.ends_with(cm_in), "{text}");
    // No rule for any of them: nothing changes at all.
    let none = run(
        STREAM,
        P,
        &[("image-mirror.map", "example.org=m.example/x")],
    );
    assert_eq!(String::from_utf8(none.stream).unwrap(), STREAM);
    assert!(none.report.changed.is_empty());
}

#[test]
fn helper_image_init_chown_adds_is_mirrored_too() {
    let hostpath = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: prom
spec:
  template:
    spec:
      securityContext:
        runAsUser: 1000
        fsGroup: 1000
      containers:
        - name: prometheus
          image: quay.io/prometheus/prometheus:v3.5.0
          volumeMounts:
            - name: data
              mountPath: /prometheus
      volumes:
        - name: data
          hostPath:
            path: /mnt/disks/prometheus
";
    let set = [("image-mirror.map", ALL), ("image-mirror.require", "true")];
    let out = run(hostpath, &["image-mirror", "init-chown"], &set);
    let d = docs(&out.stream);
    let p = pod(doc(&d, "Deployment", "prom"));
    assert_eq!(
        container(p, "initContainers", "fixup-chown")["image"],
        "mirror.example.com/hub/library/busybox:1.38.0",
        "image-mirror runs after init-chown whatever the order on the command line"
    );
    // A second run gives the same stream. Its summary is not empty: init-chown finds its
    // container with another image than its own and resets it, and image-mirror maps it again.
    // Helm never sends fixup-chown back (it renders the chart afresh), so only a re-run of the
    // output shows that.
    let again = process(&out.stream, &plan(&["image-mirror", "init-chown"], &set)).unwrap();
    assert_eq!(again.stream, out.stream);
}

#[test]
fn a_mirrored_reference_is_not_mirrored_again() {
    // TO under its own FROM: the next run must not add a second /mirror.
    let set = [("image-mirror.map", "docker.io=docker.io/mirror")];
    let out = run(STREAM, P, &set);
    let d = docs(&out.stream);
    let ksm = pod(doc(&d, "Deployment", "obs-kube-state-metrics"));
    assert_eq!(
        container(ksm, "initContainers", "wait")["image"],
        "docker.io/mirror/library/busybox:1.37.0"
    );
    assert_idempotent(&out, P, &set);
}

#[test]
fn values_that_are_not_image_strings_are_left_alone_without_a_panic() {
    let odd = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: odd
spec:
  template:
    spec:
      containers:
        - name: a
          image: 42
          args: [7, {x: 1}, --prometheus-config-reloader, [1]]
        - name: b
          image: 'Not A Ref'
        - name: c
          image: ''
        - name: d
          image: ~
        - name: e
          image: quay.io/x/y:1
          command: [--thanos-default-base-image]
      initContainers: {not: a list}
";
    let out = run(odd, P, &[("image-mirror.map", "quay.io=m.example/q")]);
    let d = docs(&out.stream);
    assert_eq!(pod(&d[0])["containers"][4]["image"], "m.example/q/x/y:1");
    let w = messages(&out, Level::Warning, "Deployment odd");
    assert!(
        w.iter().any(|m| m.contains("image is 42, not a string")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|m| m.contains("\"Not A Ref\" is not an image reference")),
        "{w:?}"
    );
    // An invalid reference cannot be proven inside the mirror: require refuses it.
    let e = run_err(
        odd,
        P,
        &[
            ("image-mirror.map", "quay.io=m.example/q"),
            ("image-mirror.require", "true"),
        ],
    );
    assert!(format!("{e}").contains("Not A Ref"), "{e}");
}

#[test]
fn bad_rules_fail_before_stdin_is_read() {
    for (rule, says) in [
        ("quay.io", "expected FROM=TO"),
        ("quay.io=mirror", "names no registry"),
        (
            "quay.io=m.example/q;tag=s/v//x",
            "expected s/PATTERN/REPLACEMENT/",
        ),
        ("quay.io/a:v1=m.example/a", "has a tag"),
    ] {
        let o = Run::new()
            .args(["-p", "image-mirror", "--set"])
            .arg(format!("image-mirror.map={rule}"))
            .stdin_from(std::process::Stdio::null())
            .run();
        assert_eq!(o.code, Some(3), "{rule}: {}", o.stderr);
        assert!(o.stderr.contains(says), "{rule}: {}", o.stderr);
    }
}

#[test]
fn rules_from_a_config_file_list_work_like_set() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("fixup.yaml");
    std::fs::write(
        &cfg,
        format!(
            "profiles: [image-mirror]\nparams:\n  image-mirror:\n    require: true\n    map:\n{}      - \"{LOONGNIX}\"\n",
            ALL.split(',').map(|r| format!("      - {r}\n")).collect::<String>()
        ),
    )
    .unwrap();
    let o = Run::new().arg("-c").arg(&cfg).stdin(STREAM).run();
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let by_set = run(
        STREAM,
        P,
        &[("image-mirror.map", &format!("{ALL},{LOONGNIX}"))],
    );
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(by_set.stream).unwrap()
    );
}

#[test]
fn no_rules_only_lists_the_images() {
    let out = run(STREAM, P, &[]);
    assert!(out.report.changed.is_empty());
    let unmapped = out
        .report
        .messages
        .iter()
        .filter(|m| m.code == Code::ImageUnmapped)
        .count();
    assert_eq!(unmapped, 11);
}

/// An operator Deployment that passes no image flag: its built-in images come from quay.io.
fn bare_operator(tag: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: op
spec:
  template:
    spec:
      containers:
        - name: operator
          image: quay.io/prometheus-operator/prometheus-operator:{tag}
"
    )
}

#[test]
fn operator_built_in_images_are_pulled_from_the_mirror_too() {
    let set = [
        ("image-mirror.map", "quay.io=m.example/q"),
        ("image-mirror.require", "true"),
    ];
    let out = run(&bare_operator("v0.85.0"), P, &set);
    let d = docs(&out.stream);
    assert_eq!(
        pod(&d[0])["containers"][0]["args"],
        serde_json::json!([
            "--prometheus-config-reloader=m.example/q/prometheus-operator/prometheus-config-reloader:v0.85.0",
            "--prometheus-default-base-image=m.example/q/prometheus/prometheus",
            "--alertmanager-default-base-image=m.example/q/prometheus/alertmanager",
            "--thanos-default-base-image=m.example/q/thanos/thanos"
        ])
    );
    assert_idempotent(&out, P, &set);
}

#[test]
fn require_refuses_an_unmapped_operator_default_a_resource_may_pull() {
    // The operator image is mapped by its full name; its built-in images are not.
    let set = [
        (
            "image-mirror.map",
            "quay.io/prometheus-operator/prometheus-operator=m.example/op,\
             quay.io/prometheus-operator/prometheus-config-reloader=m.example/r",
        ),
        ("image-mirror.require", "true"),
    ];
    let e = run_err(&bare_operator("v0.85.0"), P, &set).to_string();
    assert!(
        e.contains("3 image references no rule maps")
            && e.contains("quay.io/prometheus/prometheus (Deployment op, the operator's default for --prometheus-default-base-image)"),
        "{e}"
    );
}

#[test]
fn operator_before_0_42_gets_no_flags_added() {
    let out = run(
        &bare_operator("v0.40.0"),
        P,
        &[("image-mirror.map", "quay.io=m.example/q")],
    );
    let d = docs(&out.stream);
    assert!(pod(&d[0])["containers"][0].get("args").is_none());
    let notes = messages(&out, Level::Note, "Deployment op");
    assert!(
        notes[0].contains("predates the built-in images"),
        "{notes:?}"
    );
    // Without a version tag the reloader cannot be told; the base images still can.
    let out = run(
        &bare_operator("latest"),
        P,
        &[("image-mirror.map", "quay.io=m.example/q")],
    );
    let d = docs(&out.stream);
    let args = &pod(&d[0])["containers"][0]["args"];
    assert_eq!(args.as_array().map(Vec::len), Some(3), "{args}");
    let w = messages(&out, Level::Warning, "Deployment op");
    assert!(w[0].contains("has no version tag"), "{w:?}");
}

#[test]
fn added_base_image_flag_warns_when_the_tag_edit_cannot_reach_the_version() {
    let set = [("image-mirror.map", "quay.io=m.example/q;tag=s/^v//")];
    let out = run(&bare_operator("v0.85.0"), P, &set);
    let d = docs(&out.stream);
    assert_eq!(
        pod(&d[0])["containers"][0]["args"][0],
        "--prometheus-config-reloader=m.example/q/prometheus-operator/prometheus-config-reloader:0.85.0",
        "the reloader has a tag: the edit applies"
    );
    let w = messages(&out, Level::Warning, "Deployment op");
    assert_eq!(w.len(), 3, "one per base image: {w:?}");
    assert!(
        w[0].contains("added without a tag, so the operator appends its version"),
        "{w:?}"
    );
}
