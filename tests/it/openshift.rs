//! End-to-end tests of the `openshift` profile, named after the failures they guard: OpenShift's
//! restricted-v2 SCC rejects the fixed uids charts set (`must be in the ranges: [...]`), and the
//! containers that need root must be named, with what to do.

use crate::common::*;
use crate::support::Run;
use helm_fixup::Error;
use helm_fixup::report::{Code, Level};
use helm_fixup::select::Selector;
use serde_json::{Value, json};

fn example(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/examples/streams/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

const GRAFANA: &str = "Deployment monitoring/grafana";

#[test]
fn restricted_v2_rejects_grafanas_fixed_uid_472() {
    let input = example("openshift-grafana.yaml");
    let out = run(&input, &["openshift"], &[]);
    let d = docs(&out.stream);
    let p = pod(doc(&d, "Deployment", "grafana"));
    assert_eq!(p["securityContext"], json!({"runAsNonRoot": true}));
    assert_eq!(
        container(p, "containers", "grafana")["securityContext"],
        json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
               "seccompProfile": {"type": "RuntimeDefault"}}),
        "only ids go"
    );
    // The helper keeps its root: it is reported, not made to fail.
    let helper = container(p, "initContainers", "init-chown-data");
    assert_eq!(helper["securityContext"]["runAsUser"], 0);
    let warnings = messages(&out, Level::Warning, GRAFANA);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    for want in [
        "init container init-chown-data runs as uid 0",
        "adds capabilities CHOWN, DAC_OVERRIDE",
        "grafana chart: initChownData.enabled=false",
        "oc adm policy add-scc-to-user privileged -z grafana -n monitoring",
        "anyuid allows no added capability",
    ] {
        assert!(
            warnings[0].contains(want),
            "{want:?} not in {}",
            warnings[0]
        );
    }
    assert!(out.report.more_privileged().is_empty());
    assert_idempotent(&out, &["openshift"], &[]);
}

#[test]
fn operator_resource_keeps_run_as_non_root_and_seccomp() {
    let out = run(&example("openshift-operator.yaml"), &["openshift"], &[]);
    let d = docs(&out.stream);
    let prom = pod(doc(&d, "Prometheus", "obs-prometheus"));
    assert_eq!(
        prom["securityContext"],
        json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}})
    );
    assert_eq!(
        container(prom, "containers", "thanos-sidecar"),
        &json!({"name": "thanos-sidecar"}),
        "the sidecar's own uid goes too; the patch entry stays"
    );
    let loki = pod(doc(&d, "StatefulSet", "obs-loki"));
    assert_eq!(
        loki["securityContext"],
        json!({"fsGroupChangePolicy": "OnRootMismatch"}),
        "the SCC assigns an fsGroup, which the policy still governs"
    );
    assert_eq!(
        container(loki, "containers", "loki")["securityContext"],
        json!({"runAsNonRoot": true, "readOnlyRootFilesystem": true})
    );
    let cron = pod(doc(&d, "CronJob", "obs-compact"));
    assert_eq!(cron.get("securityContext"), None, "an emptied context goes");
    // The pod template of a StatefulSet can change: no immutable-field warning.
    assert!(
        out.report
            .messages
            .iter()
            .all(|m| m.code != Code::ImmutableField),
        "{:?}",
        out.report.messages
    );
    let ne = messages(
        &out,
        Level::Warning,
        "DaemonSet monitoring/obs-node-exporter",
    );
    assert_eq!(ne.len(), 1, "{ne:?}");
    assert!(
        ne[0].contains("hostNetwork, hostPID, hostPath volume root, hostPort")
            && ne[0].contains("add-scc-to-user hostaccess -z obs-node-exporter -n monitoring"),
        "{ne:?}"
    );
    assert_idempotent(&out, &["openshift"], &[]);
}

/// The acceptance rule, on every example stream: no pod spec and no container keeps a fixed
/// uid, gid or fsGroup, except the containers the summary names as needing more than
/// restricted-v2, and every container that runs as root is named.
#[test]
fn no_fixed_id_is_left_but_on_containers_named_as_needing_root() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/streams");
    let mut streams: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    streams.sort();
    for profiles in [&["openshift"][..], &["init-chown", "openshift"]] {
        for path in &streams {
            let input = std::fs::read_to_string(path).unwrap();
            let out = run(&input, profiles, &[]);
            let named: Vec<(String, String)> = out
                .report
                .messages
                .iter()
                .filter(|m| m.code == Code::Scc)
                .filter_map(|m| {
                    let rest = m
                        .message
                        .strip_prefix("init container ")
                        .or_else(|| m.message.strip_prefix("container "))?;
                    let name = rest.split(' ').next()?;
                    Some((m.object.clone()?, name.to_string()))
                })
                .collect();
            for d in docs(&out.stream) {
                let Some(p) = pod_spec(&d) else { continue };
                let object = object_name(&d);
                let psc = &p["securityContext"];
                for id in ["runAsUser", "runAsGroup", "fsGroup"] {
                    assert!(
                        psc.get(id).is_none(),
                        "{}: {object} keeps {id} at pod level",
                        path.display()
                    );
                }
                for list in ["initContainers", "containers"] {
                    for c in p[list].as_array().into_iter().flatten() {
                        let name = c["name"].as_str().unwrap_or_default().to_string();
                        let is_named = named.contains(&(object.clone(), name.clone()));
                        let sc = &c["securityContext"];
                        let keeps = ["runAsUser", "runAsGroup"]
                            .iter()
                            .any(|id| sc.get(*id).is_some());
                        assert!(
                            !keeps || is_named,
                            "{}: {object} container {name} keeps an id and is not named",
                            path.display()
                        );
                        assert!(
                            sc["runAsUser"] != 0 || is_named,
                            "{}: {object} container {name} runs as root and is not named",
                            path.display()
                        );
                    }
                }
            }
        }
    }
}

/// The pod spec of a document with one (the kinds the acceptance rule covers).
fn pod_spec(d: &Value) -> Option<&Value> {
    let kinds = [
        "Pod",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "ReplicaSet",
        "Prometheus",
        "PrometheusAgent",
        "Alertmanager",
        "ThanosRuler",
    ];
    kinds
        .contains(&d["kind"].as_str()?)
        .then(|| pod(d))
        .filter(|p| p.is_object())
}

fn object_name(d: &Value) -> String {
    let m = &d["metadata"];
    match m["namespace"].as_str() {
        Some(ns) => format!(
            "{} {ns}/{}",
            d["kind"].as_str().unwrap(),
            m["name"].as_str().unwrap()
        ),
        None => format!(
            "{} {}",
            d["kind"].as_str().unwrap(),
            m["name"].as_str().unwrap()
        ),
    }
}

#[test]
fn fixup_chown_is_named_as_needing_root_and_its_owner_as_the_one_removed() {
    let out = run(
        &example("openshift-operator.yaml"),
        &["init-chown", "openshift"],
        &[],
    );
    let warnings = messages(&out, Level::Warning, "Prometheus monitoring/obs-prometheus");
    let helper: Vec<&String> = warnings
        .iter()
        .filter(|w| w.starts_with("init container fixup-chown "))
        .collect();
    assert_eq!(helper.len(), 1, "{warnings:?}");
    assert!(
        helper[0].contains("--skip init-chown:name=obs-prometheus")
            && helper[0].contains("adds capabilities CHOWN, DAC_OVERRIDE, FOWNER"),
        "{helper:?}"
    );
    let d = docs(&out.stream);
    let prom = pod(doc(&d, "Prometheus", "obs-prometheus"));
    assert_eq!(
        container(prom, "initContainers", "fixup-chown")["securityContext"]["runAsUser"],
        0
    );
}

#[test]
fn root_run_and_openshift_on_one_pod_is_a_usage_error() {
    let grafana = example("openshift-grafana.yaml");
    let thanos = example("shared-uid-thanos.yaml");
    for (other, order, input, object, name) in [
        (
            "root-run",
            ["openshift", "root-run"],
            &grafana,
            GRAFANA,
            "grafana",
        ),
        (
            "shared-uid",
            ["shared-uid", "openshift"],
            &thanos,
            "Deployment prometheus/prometheus-deploy",
            "prometheus-deploy",
        ),
    ] {
        let e = run_err(input, &order, &[]);
        let Error::Usage(msg) = &e else {
            panic!("not a usage error: {e:?}")
        };
        assert!(
            msg.starts_with(&format!("{other} and openshift both change {object}: ")),
            "{msg}"
        );
        assert!(
            msg.contains(&format!("--skip {other}:name={name}"))
                && msg.contains(&format!("--skip openshift:name={name}")),
            "{msg}"
        );
    }
    // Through the binary: exit 3 and nothing on stdout, before Helm installs anything.
    let o = Run::new()
        .args(["-p", "openshift,shared-uid"])
        .stdin(&thanos)
        .run();
    assert_eq!(o.code, Some(3), "{}", o.stderr);
    assert!(o.stdout.is_empty());
    assert!(
        o.stderr.contains("shared-uid and openshift both change"),
        "{}",
        o.stderr
    );
}

/// shared-uid changes only the pods whose containers share a volume; where it changed nothing
/// (grafana: one writer), openshift is free to remove the ids.
#[test]
fn shared_uid_and_openshift_on_different_pods_is_fine() {
    let input = format!(
        "{}---\n{}",
        example("openshift-grafana.yaml"),
        example("shared-uid-thanos.yaml")
    );
    let mut p = plan(&["shared-uid", "openshift"], &[]);
    let names = ["shared-uid", "openshift"];
    p.skip = vec![
        Selector::parse("shared-uid:name=grafana", &names).unwrap(),
        Selector::parse("openshift:namespace=prometheus", &names).unwrap(),
    ];
    let out = helm_fixup::process(input.as_bytes(), &p).unwrap();
    let d = docs(&out.stream);
    let grafana = d
        .iter()
        .find(|x| x["kind"] == "Deployment" && x["metadata"]["namespace"] == "monitoring")
        .unwrap();
    assert_eq!(
        pod(grafana)["securityContext"],
        json!({"runAsNonRoot": true})
    );
    let thanos = doc(&d, "Deployment", "prometheus-deploy");
    assert_eq!(pod(thanos)["securityContext"]["runAsUser"], 65534);
}

#[test]
fn chart_bugs_in_security_contexts_are_left_alone_and_named() {
    let input = "apiVersion: v1
kind: Pod
metadata:
  name: odd
  namespace: apps
spec:
  securityContext:
    - runAsUser: 1000
  containers:
    - name: a
      image: x
      securityContext:
        runAsUser: \"1000\"
    - name: b
      image: x
      securityContext: [1]
";
    let out = run(input, &["openshift"], &[]);
    assert_eq!(String::from_utf8_lossy(&out.stream), input);
    let warnings = messages(&out, Level::Warning, "Pod apps/odd");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("the pod's securityContext is not a mapping"))
            && warnings
                .iter()
                .any(|w| w.contains("container b's securityContext is not a mapping"))
            && warnings
                .iter()
                .any(|w| w.contains("securityContext.runAsUser is \"1000\"")),
        "{warnings:?}"
    );
}

#[test]
fn scc_findings_have_a_stable_json_code() {
    let o = Run::new()
        .args(["-p", "openshift", "--summary-format", "json"])
        .stdin(example("openshift-grafana.yaml"))
        .run();
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let v: Value =
        serde_json::from_str(o.stderr.trim()).unwrap_or_else(|e| panic!("{e}: {}", o.stderr));
    let codes: Vec<&str> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["code"].as_str())
        .collect();
    assert!(codes.contains(&"scc"), "{codes:?}");
}
