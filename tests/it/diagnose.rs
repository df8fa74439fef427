//! `helm-fixup diagnose` on a stream and `-p auto`: the failures foreseen are the ones the
//! profiles fix, on exactly the objects they change, and auto fixes them with no more privilege
//! than the profiles picked by hand.

use crate::support::Run;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn stream(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/streams")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn diagnose(input: &[u8], extra: &[&str]) -> (Option<i32>, Value) {
    let ran = Run::new()
        .args(["diagnose", "--format", "json"])
        .args(extra)
        .stdin(input)
        .run();
    let json = serde_json::from_slice(&ran.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", ran.stdout_text(), ran.stderr));
    (ran.code, json)
}

fn findings(json: &Value) -> Vec<Value> {
    json["findings"].as_array().cloned().unwrap_or_default()
}

/// (object, failure, certainty) of every finding.
fn triples(json: &Value) -> BTreeSet<(String, String, String)> {
    findings(json)
        .iter()
        .map(|f| {
            (
                f["object"].as_str().unwrap().to_string(),
                f["failure"].as_str().unwrap().to_string(),
                f["certainty"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The summary of a run, as JSON.
fn run_json(input: &[u8], args: &[&str]) -> (Vec<u8>, Value) {
    let ran = Run::new()
        .args(args)
        .args(["--summary-format", "json"])
        .stdin(input)
        .run();
    assert_eq!(ran.code, Some(0), "{args:?}: {}", ran.stderr);
    let summary =
        serde_json::from_str(&ran.stderr).unwrap_or_else(|e| panic!("{e}: {}", ran.stderr));
    (ran.stdout, summary)
}

fn changed(summary: &Value) -> BTreeSet<String> {
    summary["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["object"].as_str().unwrap().to_string())
        .collect()
}

fn more_privileged(summary: &Value) -> BTreeSet<String> {
    summary["changed"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["more_privileged"] == Value::Bool(true))
        .map(|c| c["object"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn thanos_sidecar_hard_link_is_foreseen_from_the_image_users() {
    let (code, json) = diagnose(&stream("demo.yaml"), &[]);
    assert_eq!(code, Some(4), "something found exits 4");
    let f = findings(&json)
        .into_iter()
        .find(|f| f["object"] == "Deployment monitoring/demo-thanos")
        .expect("demo-thanos is named");
    assert_eq!(f["failure"], "thanos-hard-link");
    assert_eq!(f["certainty"], "definite");
    let evidence = f["evidence"][0].as_str().unwrap();
    assert!(
        evidence.contains("prometheus (uid 65534 from the image)")
            && evidence.contains("thanos-sidecar (uid 1001 from the image)"),
        "{evidence}"
    );
    assert_eq!(f["profiles"][0], "shared-uid");
    let args: Vec<&str> = f["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        args,
        [
            "-p",
            "shared-uid",
            "--only",
            "shared-uid:kind=Deployment,namespace=monitoring,name=demo-thanos"
        ]
    );
    assert!(
        f["helm4"]
            .as_str()
            .unwrap()
            .starts_with("--post-renderer fixup --post-renderer-args=-p")
    );
    assert!(
        f["helm3"]
            .as_str()
            .unwrap()
            .starts_with("--post-renderer helm-fixup --post-renderer-args -p")
    );
}

/// The rule diagnose is built on: what a profile changes is what diagnose names for it, no
/// more and no less, on every example stream.
#[test]
fn every_object_a_profile_fixes_is_named_and_no_other() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/streams");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let input = std::fs::read(&path).unwrap();
        let (_, json) = diagnose(&input, &[]);
        for profile in ["shared-uid", "init-chown", "exec-probes"] {
            let (_, summary) = run_json(&input, &["-p", profile]);
            let named: BTreeSet<String> = findings(&json)
                .iter()
                .filter(|f| f["profiles"][0] == profile)
                .map(|f| f["object"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(changed(&summary), named, "{} -p {profile}", path.display());
            checked += named.len();
        }
        // On OpenShift, openshift takes the place of shared-uid and init-chown.
        let (_, json) = diagnose(&input, &["--assume", "platform=openshift"]);
        let (_, summary) = run_json(&input, &["-p", "openshift"]);
        let named: BTreeSet<String> = findings(&json)
            .iter()
            .filter(|f| f["profiles"][0] == "openshift")
            .map(|f| f["object"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(changed(&summary), named, "{} -p openshift", path.display());
        assert!(
            !findings(&json)
                .iter()
                .any(|f| f["profiles"][0] == "shared-uid" || f["profiles"][0] == "init-chown"),
            "{}",
            path.display()
        );
        checked += named.len();
    }
    assert!(
        checked > 10,
        "the examples exercise the rule ({checked} objects)"
    );
}

#[test]
fn diagnose_is_read_only_and_exits_0_when_nothing_fails() {
    let quiet = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers: [{name: web, image: nginx}]\n";
    let ran = Run::new().arg("diagnose").stdin(quiet).run();
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let out = ran.stdout_text();
    assert!(
        out.contains("no failure that helm-fixup fixes is foreseen"),
        "{out}"
    );
    assert!(
        !out.contains("apiVersion"),
        "diagnose never writes the stream: {out}"
    );
    let ran = Run::new().arg("diagnose").stdin(stream("demo.yaml")).run();
    assert_eq!(ran.code, Some(4));
    assert!(
        !ran.stdout_text().contains("apiVersion:"),
        "{}",
        ran.stdout_text()
    );
}

#[test]
fn diagnose_rejects_bad_input_like_a_run() {
    let ran = Run::new()
        .arg("diagnose")
        .stdin("apiVersion: v1\nkind: Pod\nmetadata: [\n")
        .run();
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stdout.is_empty());
    assert!(ran.stderr.contains("document 1 (line"), "{}", ran.stderr);
    let ran = Run::new()
        .args(["diagnose", "--assume", "storage=ceph"])
        .stdin(stream("demo.yaml"))
        .run();
    assert_eq!(ran.code, Some(3), "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("storage is one of hostpath, nfs, local, dynamic"),
        "{}",
        ran.stderr
    );
}

#[test]
fn assume_settles_the_storage_conditions() {
    let input = stream("demo.yaml");
    let plain = triples(&diagnose(&input, &[]).1);
    let db = |t: &BTreeSet<(String, String, String)>, failure: &str| {
        t.iter()
            .find(|(o, f, _)| o == "StatefulSet monitoring/demo-db" && f == failure)
            .map(|(_, _, c)| c.clone())
    };
    assert_eq!(db(&plain, "volume-write").as_deref(), Some("conditional"));
    assert_eq!(db(&plain, "unbound-claim").as_deref(), Some("conditional"));
    // hostPath storage ignores fsGroup, and has no provisioner.
    let hostpath = triples(&diagnose(&input, &["--assume", "storage=hostpath"]).1);
    assert_eq!(db(&hostpath, "volume-write").as_deref(), Some("definite"));
    assert_eq!(db(&hostpath, "unbound-claim").as_deref(), Some("definite"));
    // A provisioner that applies the pod's fsGroup 1000 and a default StorageClass: neither fails.
    let dynamic = triples(&diagnose(&input, &["--assume", "storage=dynamic"]).1);
    assert_eq!(db(&dynamic, "volume-write"), None);
    assert_eq!(db(&dynamic, "unbound-claim"), None);
    // Loopback probes fail on any cluster.
    for t in [&plain, &hostpath, &dynamic] {
        assert!(
            t.contains(&(
                "Deployment monitoring/demo-exporter".into(),
                "loopback-probe".into(),
                "definite".into()
            )),
            "{t:?}"
        );
    }
}

/// `-p auto` on the example stream fixes what shared-uid, init-chown, exec-probes and local-pv
/// picked by hand fix (root-run, the fifth, is never needed), and makes nothing more
/// privileged that they do not.
#[test]
fn auto_fixes_what_the_hand_picked_profiles_fix_with_no_more_privilege() {
    let input = stream("demo.yaml");
    let node = ["--set", "local-pv.node=worker-1"];
    let mut auto_args = vec!["-p", "auto", "--assume", "storage=hostpath"];
    auto_args.extend(node);
    let (auto_out, auto) = run_json(&input, &auto_args);
    let mut hand_args = vec!["-p", "shared-uid,init-chown,exec-probes,local-pv"];
    hand_args.extend(node);
    let (hand_out, hand) = run_json(&input, &hand_args);
    assert_eq!(changed(&auto), changed(&hand));
    assert_eq!(auto["added"], hand["added"]);
    assert!(more_privileged(&auto).is_subset(&more_privileged(&hand)));
    assert_eq!(auto_out, hand_out, "the same fixes, byte for byte");
    let (_, with_root) = run_json(&input, &["-p", "root-run"]);
    assert!(!more_privileged(&with_root).is_empty());
    assert!(
        !auto["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "root-run")
    );
    // The summary says why each profile ran.
    let notes: Vec<&str> = auto["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["profile"] == "auto")
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    for profile in ["shared-uid", "init-chown", "exec-probes", "local-pv"] {
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with(&format!("{profile} ran for "))),
            "{profile}: {notes:?}"
        );
    }
}

#[test]
fn auto_leaves_conditional_failures_alone_and_says_so() {
    let input = stream("demo.yaml");
    let (_, auto) = run_json(&input, &["-p", "auto"]);
    let profiles: Vec<&str> = auto["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(
        profiles,
        ["shared-uid", "exec-probes"],
        "only the definite ones"
    );
    let messages = auto["messages"].to_string();
    assert!(
        messages.contains("init-chown not run for volume-write"),
        "{messages}"
    );
    assert!(
        messages.contains("add --set local-pv.node=NODE"),
        "{messages}"
    );
}

#[test]
fn auto_with_another_profile_is_a_usage_error() {
    let ran = Run::new()
        .args(["-p", "auto,root-run"])
        .stdin(stream("demo.yaml"))
        .run();
    assert_eq!(ran.code, Some(3));
    assert!(ran.stdout.is_empty());
    assert!(ran.stderr.contains("give it alone"), "{}", ran.stderr);
}

#[test]
fn openshift_fixed_uids_are_findings_only_on_openshift() {
    let input = stream("openshift-grafana.yaml");
    let plain = triples(&diagnose(&input, &[]).1);
    assert!(
        !plain.iter().any(|(_, f, _)| f == "scc-fixed-uid"),
        "{plain:?}"
    );
    let (_, json) = diagnose(&input, &["--assume", "platform=openshift"]);
    let f = findings(&json)
        .into_iter()
        .find(|f| f["failure"] == "scc-fixed-uid")
        .expect("the fixed uids are named");
    assert_eq!(f["certainty"], "definite");
    assert!(
        f["evidence"][0].as_str().unwrap().contains("runAsUser 472"),
        "{f}"
    );
    // The root helper is what the fix leaves: said under the finding.
    assert!(f["caveats"].to_string().contains("init-chown-data"), "{f}");
    // -p auto on OpenShift runs openshift, never shared-uid or init-chown.
    let (out, auto) = run_json(&input, &["-p", "auto", "--assume", "platform=openshift"]);
    let profiles: Vec<&str> = auto["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(profiles, ["openshift"]);
    let (hand, _) = run_json(&input, &["-p", "openshift"]);
    assert_eq!(out, hand);
}

/// Day 2 of `-p auto`: once the claims are bound to the volumes local-pv made, nothing fails
/// there any more, but the volumes must stay in the release. Passing the live volumes
/// (`local-pv.existing`), auto keeps running local-pv on those claims and sends them back as
/// the cluster has them, like `-p local-pv` does.
#[test]
fn auto_keeps_the_volumes_it_made_on_the_next_upgrade() {
    let input = stream("demo.yaml");
    let first_args = [
        "-p",
        "auto",
        "--assume",
        "storage=hostpath",
        "--set",
        "local-pv.node=worker-1",
    ];
    let (first, _) = run_json(&input, &first_args);
    let pvs: Vec<Value> = crate::common::docs(&first)
        .into_iter()
        .filter(|d| d["kind"] == "PersistentVolume")
        .map(|mut pv| {
            // As the cluster shows it after binding: Helm's ownership, the bound claim's uid.
            pv["metadata"]["annotations"]["meta.helm.sh/release-name"] = "demo".into();
            pv["spec"]["claimRef"]["uid"] = "0b5e-uid".into();
            pv["status"] = serde_json::json!({"phase": "Bound"});
            pv
        })
        .collect();
    assert!(pvs.len() >= 5, "local-pv made the volumes: {}", pvs.len());
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("pv.json");
    std::fs::write(
        &live,
        serde_json::json!({"apiVersion": "v1", "kind": "List", "items": pvs}).to_string(),
    )
    .unwrap();
    let existing = format!("local-pv.existing={}", live.display());
    let mut args = first_args.to_vec();
    args.extend(["--set", &existing]);
    let (second, summary) = run_json(&input, &args);
    let names = |out: &[u8]| -> BTreeSet<String> {
        crate::common::docs(out)
            .into_iter()
            .filter(|d| d["kind"] == "PersistentVolume")
            .map(|d| d["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(&second),
        names(&first),
        "no volume leaves the release"
    );
    let (hand, _) = run_json(
        &input,
        &[
            "-p",
            "shared-uid,init-chown,exec-probes,local-pv",
            "--set",
            "local-pv.node=worker-1",
            "--set",
            &existing,
        ],
    );
    assert_eq!(
        second, hand,
        "the same upgrade as the profiles picked by hand"
    );
    assert!(
        summary["messages"]
            .to_string()
            .contains("local-pv ran to keep what it fixed"),
        "{summary}"
    );
    // Without the node, auto cannot keep them: it refuses rather than drop them.
    let ran = Run::new()
        .args([
            "-p",
            "auto",
            "--assume",
            "storage=hostpath",
            "--set",
            &existing,
        ])
        .stdin(&input)
        .run();
    assert_eq!(ran.code, Some(3), "{}", ran.stderr);
    assert!(ran.stdout.is_empty());
    assert!(
        ran.stderr.contains("would drop that from the release"),
        "{}",
        ran.stderr
    );
    // diagnose reads the live volumes too: bound claims are no finding.
    let (_, json) = diagnose(&input, &["--set", &existing]);
    assert!(
        !findings(&json)
            .iter()
            .any(|f| f["failure"] == "unbound-claim"),
        "{json}"
    );
}

/// local-pv that cannot plan (claims with no namespace, none given) does not stop the others.
#[test]
fn auto_runs_the_other_profiles_when_one_cannot_plan() {
    let input = stream("local-pv-claims.yaml");
    let ran = Run::new()
        .args([
            "-p",
            "auto",
            "--assume",
            "storage=hostpath",
            "--set",
            "local-pv.node=n1",
        ])
        .stdin(&input)
        .run();
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("local-pv not run: it cannot plan this stream"),
        "{}",
        ran.stderr
    );
    let ran = Run::new()
        .args(["diagnose", "--set", "local-pv.node=n1"])
        .stdin(&input)
        .run();
    assert!(
        ran.stdout_text()
            .contains("local-pv could not plan this stream"),
        "{}",
        ran.stdout_text()
    );
}

/// prometheus-operator publishes no loong64 images: under `--assume arch=loong64` every
/// reference to them (the operator's own flags included) is a definite pull failure, and the
/// rest are conditional on their registries.
#[test]
fn loong64_names_every_reference_that_needs_a_mirror() {
    let input = stream("image-mirror-operator.yaml");
    let plain = triples(&diagnose(&input, &[]).1);
    assert!(
        !plain.iter().any(|(_, f, _)| f == "no-arch-image"),
        "{plain:?}"
    );
    let (_, json) = diagnose(&input, &["--assume", "arch=loong64"]);
    let operator = findings(&json)
        .into_iter()
        .find(|f| {
            f["failure"] == "no-arch-image" && f["object"] == "Deployment monitoring/obs-operator"
        })
        .expect("the operator is named");
    assert_eq!(operator["certainty"], "definite");
    let evidence = operator["evidence"].to_string();
    assert!(
        evidence.contains("--prometheus-config-reloader"),
        "{evidence}"
    );
    assert!(
        operator["args"]
            .to_string()
            .contains("image-mirror.map=FROM=TO"),
        "{operator}"
    );
    // With a rule for quay.io, the evidence says where each goes.
    let (_, mapped) = diagnose(
        &input,
        &[
            "--assume",
            "arch=loong64",
            "--set",
            "image-mirror.map=quay.io=mirror.example.com/quay",
        ],
    );
    assert!(
        mapped
            .to_string()
            .contains("which the rules map to mirror.example.com/quay/"),
        "{mapped}"
    );
    // -p auto without a mirror says what it needs; with one it runs image-mirror.
    let (_, blocked) = run_json(&input, &["-p", "auto", "--assume", "arch=loong64"]);
    assert!(
        blocked["messages"]
            .to_string()
            .contains("image-mirror needs the mirror"),
        "{blocked}"
    );
    let map = "image-mirror.map=quay.io=mirror.example.com/quay,docker.io=mirror.example.com/docker,registry.k8s.io=mirror.example.com/k8s,ghcr.io=mirror.example.com/ghcr";
    let (auto_out, auto) = run_json(
        &input,
        &["-p", "auto", "--assume", "arch=loong64", "--set", map],
    );
    assert!(
        auto["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "image-mirror"),
        "{auto}"
    );
    // The rules say the sources will not do: auto mirrors every reference they map, as
    // -p image-mirror does.
    let (hand, _) = run_json(&input, &["-p", "image-mirror", "--set", map]);
    assert_eq!(auto_out, hand);
}

#[test]
fn auto_that_finds_nothing_says_so_and_passes_the_stream_through() {
    let quiet = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
    let ran = Run::new().args(["-p", "auto"]).stdin(quiet).run();
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_eq!(ran.stdout_text(), quiet);
    assert!(
        ran.stderr.contains("-p auto chose no profile"),
        "{}",
        ran.stderr
    );
    let ran = Run::new()
        .args(["-p", "auto"])
        .stdin(stream("demo.yaml"))
        .run();
    assert!(
        ran.stderr
            .contains("profiles shared-uid, exec-probes (chosen by -p auto)"),
        "{}",
        ran.stderr
    );
}
