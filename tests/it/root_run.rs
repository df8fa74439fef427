//! End-to-end tests of the `root-run` profile, named after the failures they guard (seed 000: a
//! config-reloader running as `nobody` cannot write its volume; issue 11 item 6: root-run made
//! every pod of the release root, node-exporter with hostPID and hostNetwork included).

use crate::common::*;
use helm_fixup::report::{Code, Level};
use helm_fixup::select::Selector;
use helm_fixup::{Output, Plan, process};
use serde_json::{Value, json};

/// A kube-prometheus-stack-like release, written for these tests: what the chart renders for
/// node-exporter, kube-state-metrics, the operator and its admission Job (none of them writes a
/// volume), grafana (a claim and an emptyDir), and the two operator resources.
const STACK: &str = "---
# Source: kps/charts/node-exporter/templates/daemonset.yaml
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: kps-node-exporter
  namespace: monitoring
spec:
  template:
    spec:
      hostNetwork: true
      hostPID: true
      securityContext:
        runAsUser: 65534
        runAsNonRoot: true
      containers:
        - name: node-exporter
          image: quay.io/prometheus/node-exporter:v1.9.1
          volumeMounts:
            - name: proc
              mountPath: /host/proc
              readOnly: true
            - name: root
              mountPath: /host/root
              mountPropagation: HostToContainer
              readOnly: true
      volumes:
        - name: proc
          hostPath:
            path: /proc
        - name: root
          hostPath:
            path: /
---
# Source: kps/charts/kube-state-metrics/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kps-kube-state-metrics
  namespace: monitoring
spec:
  template:
    spec:
      securityContext:
        runAsUser: 65534
        runAsNonRoot: true
      containers:
        - name: kube-state-metrics
          image: registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.16.0
---
# Source: kps/templates/prometheus-operator/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kps-operator
  namespace: monitoring
spec:
  template:
    spec:
      securityContext:
        runAsUser: 65534
        runAsNonRoot: true
      containers:
        - name: kube-prometheus-stack
          image: quay.io/prometheus-operator/prometheus-operator:v0.85.0
          volumeMounts:
            - name: tls-secret
              mountPath: /cert
              readOnly: true
      volumes:
        - name: tls-secret
          secret:
            secretName: kps-admission
---
# Source: kps/templates/prometheus-operator/admission-webhooks/job-patch/job-createSecret.yaml
apiVersion: batch/v1
kind: Job
metadata:
  name: kps-admission-create
  namespace: monitoring
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
spec:
  template:
    spec:
      securityContext:
        runAsUser: 2000
        runAsNonRoot: true
      containers:
        - name: create
          image: registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.6.0
---
# Source: kps/charts/grafana/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kps-grafana
  namespace: monitoring
spec:
  template:
    spec:
      securityContext:
        runAsUser: 472
        runAsGroup: 472
        fsGroup: 472
      containers:
        - name: grafana
          image: docker.io/grafana/grafana:12.0.0
          volumeMounts:
            - name: config
              mountPath: /etc/grafana/grafana.ini
              subPath: grafana.ini
            - name: storage
              mountPath: /var/lib/grafana
      volumes:
        - name: config
          configMap:
            name: kps-grafana
        - name: storage
          persistentVolumeClaim:
            claimName: kps-grafana
---
# Source: kps/templates/prometheus/prometheus.yaml
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: kps-prometheus
  namespace: monitoring
spec:
  replicas: 1
  thanos:
    objectStorageConfig:
      name: thanos-objstore
      key: objstore.yml
  securityContext:
    fsGroup: 2000
    runAsGroup: 2000
    runAsNonRoot: true
    runAsUser: 1000
    seccompProfile:
      type: RuntimeDefault
  storage:
    volumeClaimTemplate:
      spec:
        resources:
          requests:
            storage: 50Gi
---
# Source: kps/templates/alertmanager/alertmanager.yaml
apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata:
  name: kps-alertmanager
  namespace: monitoring
spec:
  securityContext:
    fsGroup: 2000
    runAsGroup: 2000
    runAsNonRoot: true
    runAsUser: 1000
  containers:
    - name: config-reloader
      resources:
        limits:
          memory: 50Mi
      securityContext:
        capabilities:
          add: [CHOWN]
";

const LEFT_ALONE: [&str; 4] = [
    "DaemonSet monitoring/kps-node-exporter",
    "Deployment monitoring/kps-kube-state-metrics",
    "Deployment monitoring/kps-operator",
    "Job monitoring/kps-admission-create (hook)",
];

const CAPS: &[(&str, &str)] = &[("root-run.addCapabilities", "CHOWN,DAC_OVERRIDE,FOWNER")];

fn changed(out: &Output) -> Vec<&str> {
    out.report
        .changed
        .iter()
        .map(|r| r.object.as_str())
        .collect()
}

fn with_only(only: &[&str]) -> Plan {
    let mut p = plan(&["root-run"], &[]);
    p.only = only
        .iter()
        .map(|s| Selector::parse(s, &["root-run"]).unwrap())
        .collect();
    p
}

/// The input text of one document, for comparing an untouched one byte for byte.
fn source<'a>(stream: &'a str, name: &str) -> &'a str {
    stream
        .split("---\n")
        .find(|d| d.contains(&format!("  name: {name}\n")))
        .unwrap_or_else(|| panic!("no document {name}"))
}

fn caps_of(c: &Value) -> &Value {
    &c["securityContext"]["capabilities"]["add"]
}

#[test]
fn root_run_leaves_node_exporter_and_operator_alone() {
    let out = run(STACK, &["root-run"], &[]);
    assert_eq!(
        changed(&out),
        [
            "Deployment monitoring/kps-grafana",
            "Prometheus monitoring/kps-prometheus",
            "Alertmanager monitoring/kps-alertmanager",
        ]
    );
    let text = String::from_utf8(out.stream.clone()).unwrap();
    for name in [
        "kps-node-exporter",
        "kps-kube-state-metrics",
        "kps-operator",
        "kps-admission-create",
    ] {
        assert_eq!(source(&text, name), source(STACK, name), "{name} changed");
    }
    let d = docs(&out.stream);
    assert_eq!(
        pod(doc(&d, "Deployment", "kps-grafana"))["securityContext"]["runAsUser"],
        0
    );
    // One note counts them and says how to include one.
    let notes: Vec<&str> = out
        .report
        .messages
        .iter()
        .filter(|m| m.code == Code::LeftAlone && m.object.is_none())
        .map(|m| m.message.as_str())
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0]
            .starts_with("left 4 workloads as the chart made them, because they write no volume"),
        "{}",
        notes[0]
    );
    for object in LEFT_ALONE {
        assert!(
            notes[0].contains(object),
            "{object} not named: {}",
            notes[0]
        );
    }
    assert!(
        notes[0].contains("--only 'root-run:kind=DaemonSet,name=kps-node-exporter'"),
        "{}",
        notes[0]
    );
    // Everything made root is still named as more privileged.
    assert_eq!(out.report.more_privileged(), changed(&out));
    assert_idempotent(&out, &["root-run"], &[]);
}

#[test]
fn root_run_caps_reach_operator_reloaders() {
    let out = run(STACK, &["root-run"], CAPS);
    let d = docs(&out.stream);
    let want = json!(["CHOWN", "DAC_OVERRIDE", "FOWNER"]);
    let prom = pod(doc(&d, "Prometheus", "kps-prometheus"));
    for name in ["prometheus", "config-reloader", "thanos-sidecar"] {
        let c = container(prom, "containers", name);
        assert_eq!(caps_of(c), &want, "{name}");
        // Only a patch: the operator's image, args and drop [ALL] stay the operator's.
        assert_eq!(
            c,
            &json!({"name": name, "securityContext": {"capabilities": {"add": want}}})
        );
    }
    assert_eq!(
        caps_of(container(prom, "initContainers", "init-config-reloader")),
        &want
    );
    // Alertmanager: the chart's config-reloader entry is extended, not duplicated.
    let am = pod(doc(&d, "Alertmanager", "kps-alertmanager"));
    let names: Vec<&str> = am["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["config-reloader", "alertmanager"]);
    let reloader = container(am, "containers", "config-reloader");
    assert_eq!(caps_of(reloader), &want);
    assert_eq!(reloader["resources"]["limits"]["memory"], "50Mi");
    assert_eq!(caps_of(container(am, "containers", "alertmanager")), &want);
    assert_eq!(
        caps_of(container(am, "initContainers", "init-config-reloader")),
        &want
    );
    // No note that the capabilities do not reach them any more.
    for cr in [
        "Prometheus monitoring/kps-prometheus",
        "Alertmanager monitoring/kps-alertmanager",
    ] {
        assert!(
            messages(&out, Level::Note, cr).is_empty(),
            "{cr}: {:?}",
            messages(&out, Level::Note, cr)
        );
    }
    // Grafana mounts its claim but drops nothing: root keeps the default capability set.
    assert!(
        container(
            pod(doc(&d, "Deployment", "kps-grafana")),
            "containers",
            "grafana"
        )
        .get("securityContext")
        .is_none()
    );
    assert_idempotent(&out, &["root-run"], CAPS);
}

#[test]
fn root_run_caps_add_no_thanos_sidecar_to_a_prometheus_without_thanos() {
    // An entry named thanos-sidecar without spec.thanos is not a patch: the operator would add
    // it as a container of its own, with no image.
    let input = "apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: p
spec:
  replicas: 1
---
apiVersion: monitoring.coreos.com/v1
kind: ThanosRuler
metadata:
  name: t
spec:
  initContainers:
    - name: fetch
      image: docker.io/library/busybox:1.38.0
";
    let out = run(input, &["root-run"], CAPS);
    let d = docs(&out.stream);
    let names = |p: &Value, list: &str| -> Vec<String> {
        p[list]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    let prom = pod(doc(&d, "Prometheus", "p"));
    assert_eq!(names(prom, "containers"), ["prometheus", "config-reloader"]);
    assert_eq!(names(prom, "initContainers"), ["init-config-reloader"]);
    // ThanosRuler init containers are copied as they are: no generated ones to patch.
    let tr = pod(doc(&d, "ThanosRuler", "t"));
    assert_eq!(names(tr, "containers"), ["thanos-ruler", "config-reloader"]);
    assert_eq!(names(tr, "initContainers"), ["fetch"]);
    assert!(
        container(tr, "initContainers", "fetch")
            .get("securityContext")
            .is_none()
    );
}

#[test]
fn root_run_without_caps_says_the_reloaders_drop_all() {
    let out = run(STACK, &["root-run"], &[]);
    let d = docs(&out.stream);
    let prom = pod(doc(&d, "Prometheus", "kps-prometheus"));
    assert!(prom.get("containers").is_none() && prom.get("initContainers").is_none());
    for (cr, names) in [
        (
            "Prometheus monitoring/kps-prometheus",
            "init-config-reloader/prometheus/config-reloader/thanos-sidecar",
        ),
        (
            "Alertmanager monitoring/kps-alertmanager",
            "init-config-reloader/alertmanager/config-reloader",
        ),
    ] {
        let notes = messages(&out, Level::Note, cr);
        assert_eq!(notes.len(), 1, "{cr}: {notes:?}");
        assert!(
            notes[0].contains(&format!("{names} containers with capabilities drop [ALL]"))
                && notes[0].contains("uid 1000")
                && notes[0].contains("--set root-run.addCapabilities=CHOWN,DAC_OVERRIDE,FOWNER")
                && notes[0].contains("config_out and other emptyDirs"),
            "{cr}: {}",
            notes[0]
        );
    }
}

#[test]
fn root_run_explicit_only_still_targets_a_pod_without_volumes() {
    let out = process(
        STACK.as_bytes(),
        &with_only(&["root-run:kind=Deployment,name=kps-kube-state-metrics"]),
    )
    .unwrap();
    assert_eq!(
        changed(&out),
        ["Deployment monitoring/kps-kube-state-metrics"]
    );
    let d = docs(&out.stream);
    let ksm = pod(doc(&d, "Deployment", "kps-kube-state-metrics"));
    assert_eq!(ksm["securityContext"]["runAsUser"], 0);
    assert_eq!(ksm["securityContext"]["runAsNonRoot"], false);
    // What the user named is all: no count of the others.
    assert!(
        !out.report
            .messages
            .iter()
            .any(|m| m.message.contains("write no volume")),
        "{:?}",
        out.report.messages
    );
    assert_eq!(
        out.report.more_privileged(),
        ["Deployment monitoring/kps-kube-state-metrics"]
    );
}

#[test]
fn root_run_skip_narrows_the_default_targets() {
    let mut p = plan(&["root-run"], &[]);
    p.skip = vec![Selector::parse("root-run:name=kps-grafana", &["root-run"]).unwrap()];
    let out = process(STACK.as_bytes(), &p).unwrap();
    assert_eq!(
        changed(&out),
        [
            "Prometheus monitoring/kps-prometheus",
            "Alertmanager monitoring/kps-alertmanager",
        ]
    );
}

/// Workloads that only look like they write: Kubernetes mounts configMap, secret, projected
/// and downwardAPI volumes read-only whatever the mount says, and a `readOnly` mount or claim
/// writes nothing. Writers in disguise: a subPath mount, an init container, a claim template.
#[test]
fn root_run_tells_read_only_mounts_from_written_volumes() {
    let workload = |name: &str, body: &str| {
        format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n{body}"
        )
    };
    let mut input = String::new();
    for (name, volume) in [
        ("cm", "configMap: {name: c}"),
        ("secret", "secret: {secretName: s}"),
        ("projected", "projected: {sources: []}"),
        ("downward", "downwardAPI: {items: []}"),
        (
            "claim-read-only",
            "persistentVolumeClaim: {claimName: c, readOnly: true}",
        ),
    ] {
        input.push_str(&workload(
            name,
            &format!(
                "      containers: [{{name: a, volumeMounts: [{{name: v, mountPath: /v}}]}}]\n      volumes: [{{name: v, {volume}}}]\n"
            ),
        ));
    }
    input.push_str(&workload(
        "mount-read-only",
        "      containers: [{name: a, volumeMounts: [{name: v, mountPath: /v, readOnly: true}]}]\n      volumes: [{name: v, emptyDir: {}}]\n",
    ));
    input.push_str(&workload(
        "unmounted",
        "      containers: [{name: a}]\n      volumes: [{name: v, emptyDir: {}}]\n",
    ));
    input.push_str(&workload(
        "sub-path",
        "      containers: [{name: a, volumeMounts: [{name: v, mountPath: /v, subPath: x}]}]\n      volumes: [{name: v, hostPath: {path: /srv}}]\n",
    ));
    input.push_str(&workload(
        "init-writes",
        "      initContainers: [{name: i, volumeMounts: [{name: v, mountPath: /v}]}]\n      containers: [{name: a, volumeMounts: [{name: v, mountPath: /v, readOnly: true}]}]\n      volumes: [{name: v, nfs: {server: n, path: /e}}]\n",
    ));
    input.push_str(&workload(
        "ephemeral",
        "      containers: [{name: a, volumeMounts: [{name: v, mountPath: /v}]}]\n      volumes: [{name: v, ephemeral: {volumeClaimTemplate: {spec: {}}}}]\n",
    ));
    input.push_str(
        "---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\nspec:\n  template:\n    spec:\n      containers: [{name: a, volumeMounts: [{name: data, mountPath: /data}]}]\n  volumeClaimTemplates: [{metadata: {name: data}, spec: {}}]\n",
    );
    let out = run(&input, &["root-run"], &[]);
    assert_eq!(
        changed(&out),
        [
            "Deployment sub-path",
            "Deployment init-writes",
            "Deployment ephemeral",
            "StatefulSet db",
        ]
    );
    let note = out
        .report
        .messages
        .iter()
        .find(|m| m.message.contains("write no volume"))
        .expect("a left-alone note");
    assert!(
        note.message.starts_with("left 7 workloads")
            && note.message.contains("Deployment cm, Deployment secret")
            && note.message.contains(" and 2 more"),
        "{}",
        note.message
    );
}

#[test]
fn root_run_pod_security_warning_keeps_its_code() {
    let input = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n  labels:\n    pod-security.kubernetes.io/enforce: restricted\n{STACK}"
    );
    let out = run(&input, &["root-run"], &[]);
    let warned: Vec<&str> = out
        .report
        .messages
        .iter()
        .filter(|m| m.level == Level::Warning)
        .map(|m| {
            assert_eq!(m.code, Code::PodSecurity, "{}", m.message);
            m.object.as_deref().unwrap()
        })
        .collect();
    assert_eq!(warned, changed(&out), "only the pods made root are warned");
}

/// root-run on the prometheus-operator resources, through the engine (these lived in
/// `src/profile/root_run.rs`, which made the profile layer depend on the engine).
mod operator_resources {
    use helm_fixup::engine::{Plan, process};
    use helm_fixup::profile::{Params, ProfileDef};
    use helm_fixup::yaml::parse_value;
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    fn plan(params: &[(&str, &str)]) -> Plan {
        let def = ProfileDef::builtin("root-run").unwrap();
        let set: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let params = Params::new(&def, &set).unwrap();
        Plan {
            profiles: vec![(def, params)],
            ..Plan::default()
        }
    }

    fn docs(out: &[u8]) -> Vec<Value> {
        let text = std::str::from_utf8(out).unwrap();
        helm_fixup::stream::split(out)
            .into_iter()
            .filter_map(|s| parse_value(&text[s.span]).ok().filter(|v| !v.is_null()))
            .collect()
    }

    const KPS_PROMETHEUS: &str = "---
# Source: kps/templates/prometheus.yaml
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: kps-prometheus
  namespace: monitoring
spec:
  replicas: 1
  securityContext:
    fsGroup: 2000
    runAsGroup: 2000
    runAsNonRoot: true
    runAsUser: 1000
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: config-reloader
      securityContext:
        runAsNonRoot: true
        runAsUser: 65534
        capabilities:
          drop: [ALL]
";

    #[test]
    fn config_reloader_runs_as_root_in_prometheus_cr() {
        let out = process(KPS_PROMETHEUS.as_bytes(), &plan(&[])).unwrap();
        let d = &docs(&out.stream)[0];
        assert_eq!(
            d["spec"]["securityContext"],
            json!({"fsGroup": 0, "runAsGroup": 0, "runAsNonRoot": false, "runAsUser": 0,
                   "seccompProfile": {"type": "RuntimeDefault"}})
        );
        let sc = &d["spec"]["containers"][0]["securityContext"];
        assert_eq!(
            (sc["runAsNonRoot"].clone(), sc["runAsUser"].clone()),
            (json!(false), json!(0))
        );
        let text = String::from_utf8(out.stream).unwrap();
        assert!(text.starts_with("---\n# Source: kps/templates/prometheus.yaml\n"));
        assert!(
            text.contains("drop: [ALL]"),
            "untouched flow list kept as written"
        );
        assert_eq!(
            out.report.more_privileged(),
            ["Prometheus monitoring/kps-prometheus"]
        );
        assert!(out.report.text().contains(
            "root-run  Prometheus monitoring/kps-prometheus  spec.securityContext.fsGroup 2000 -> 0, runAsGroup 2000 -> 0, runAsNonRoot true -> false, runAsUser 1000 -> 0"
        ));
    }

    #[test]
    fn pod_without_security_context_gets_root_and_seccomp() {
        let input = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: x\n    volumeMounts: [{name: d, mountPath: /d}]\n  volumes: [{name: d, emptyDir: {}}]\n";
        let out = process(input.as_bytes(), &plan(&[])).unwrap();
        let d = &docs(&out.stream)[0];
        assert_eq!(d["spec"]["securityContext"]["runAsUser"], 0);
        assert_eq!(
            d["spec"]["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
    }

    #[test]
    fn add_capabilities_reach_containers_that_drop_all() {
        let input = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    spec:\n      volumes: [{name: v, emptyDir: {}}]\n      containers:\n      - name: a\n        volumeMounts: [{name: v, mountPath: /v}]\n        securityContext:\n          capabilities:\n            drop:\n            - ALL\n      - name: b\n";
        let out = process(
            input.as_bytes(),
            &plan(&[("addCapabilities", "chown,DAC_OVERRIDE")]),
        )
        .unwrap();
        let d = &docs(&out.stream)[0];
        let cs = &d["spec"]["template"]["spec"]["containers"];
        assert_eq!(
            cs[0]["securityContext"]["capabilities"]["add"],
            json!(["CHOWN", "DAC_OVERRIDE"])
        );
        assert!(
            cs[1].get("securityContext").is_none(),
            "root keeps the default capability set"
        );
        let again = process(
            &out.stream,
            &plan(&[("addCapabilities", "chown,DAC_OVERRIDE")]),
        )
        .unwrap();
        assert_eq!(again.stream, out.stream);
        // Refused when the parameters are read, before any input.
        let def = ProfileDef::builtin("root-run").unwrap();
        let set = BTreeMap::from([("addCapabilities".to_string(), "CHOWN;rm".to_string())]);
        let e = Params::new(&def, &set).unwrap_err();
        assert!(
            e.message()
                .contains("\"CHOWN;RM\" is not a capability name"),
            "{e}"
        );
    }

    #[test]
    fn restricted_namespace_warns_that_pods_will_be_rejected() {
        let input = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n  labels:\n    pod-security.kubernetes.io/enforce: restricted\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: monitoring\nspec:\n  volumes: [{name: v, emptyDir: {}}]\n  containers: [{name: a, volumeMounts: [{name: v, mountPath: /v}]}]\n";
        // A bare Pod also gets the immutable-field warning; count only Pod Security ones.
        let pod_security = |out: &helm_fixup::Output| {
            out.report
                .messages
                .iter()
                .filter(|m| m.code == helm_fixup::report::Code::PodSecurity)
                .count()
        };
        let out = process(input.as_bytes(), &plan(&[])).unwrap();
        assert_eq!(pod_security(&out), 1, "{}", out.report.text());
        assert!(
            out.report
                .text()
                .contains("Pod monitoring/p: its namespace enforces Pod Security \"restricted\"")
        );
        let other = input.replace("namespace: monitoring\nspec", "namespace: other\nspec");
        assert_eq!(
            pod_security(&process(other.as_bytes(), &plan(&[])).unwrap()),
            0
        );
    }

    #[test]
    fn only_selector_limits_root_run() {
        let input = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec: {}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: b\nspec: {}\n";
        let mut p = plan(&[]);
        p.only = vec![helm_fixup::select::Selector::parse("name=b", &["root-run"]).unwrap()];
        let out = process(input.as_bytes(), &p).unwrap();
        let d = docs(&out.stream);
        assert!(d[0]["spec"].get("securityContext").is_none());
        assert_eq!(d[1]["spec"]["securityContext"]["runAsUser"], 0);
        assert!(
            String::from_utf8(out.stream)
                .unwrap()
                .starts_with("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec: {}\n---")
        );
    }
}
