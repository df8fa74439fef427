//! `helm-fixup doctor` against a kubectl stand-in that serves API responses written here in the
//! shapes the API server returns (PodList with `status.initContainerStatuses[].state.waiting`,
//! `lastState.terminated.message`, EventList, NodeList, StorageClassList, a Namespace with Pod
//! Security labels, Helm's release Secret). The stand-in records every call and fails the test
//! on any verb but `get` and `logs`: doctor never writes to a cluster.
//!
//! Each story is a release broken the way the seeds were, and each test is named after it.

use base64::Engine;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

use crate::support::Run;

/// One canned answer: the stand-in prints `body` (or fails with `error` on stderr) when its
/// arguments contain `matching`. The first match wins.
struct Answer {
    matching: &'static str,
    body: Result<String, String>,
}

fn ok(matching: &'static str, v: Value) -> Answer {
    Answer {
        matching,
        body: Ok(v.to_string()),
    }
}

fn err(matching: &'static str, message: &str) -> Answer {
    Answer {
        matching,
        body: Err(message.to_string()),
    }
}

/// A stand-in kubectl in `dir` serving `answers`; anything unanswered is NotFound.
fn stand_in(dir: &Path, answers: &[Answer]) -> PathBuf {
    let mut script = format!(
        "#!/bin/sh\nd='{}'\nprintf '%s\\n' \"$*\" >> \"$d/calls\"\ncase \"$1\" in get|logs) ;; *) printf '%s\\n' \"$*\" >> \"$d/violations\"; echo \"verb $1 refused\" >&2; exit 1;; esac\nk=\" $* \"\n",
        dir.display()
    );
    for (i, a) in answers.iter().enumerate() {
        let file = dir.join(format!("answer-{i}"));
        let (text, fails) = match &a.body {
            Ok(t) => (t.clone(), false),
            Err(e) => (e.clone(), true),
        };
        std::fs::write(&file, text).unwrap();
        script.push_str(&format!(
            "case \"$k\" in *'{}'*) {} ;; esac\n",
            a.matching,
            if fails {
                format!("cat '{}' >&2; exit 1", file.display())
            } else {
                format!("cat '{}'; exit 0", file.display())
            }
        ));
    }
    script.push_str("echo 'Error from server (NotFound): the server could not find the requested resource' >&2\nexit 1\n");
    let path = dir.join("kubectl");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
    calls: Vec<String>,
}

/// Run `helm-fixup ARGS` (with `stdin`, if any) with the stand-in serving `answers` as its
/// kubectl, and fail on any verb the stand-in refused.
fn run_with(answers: &[Answer], args: &[&str], env: &[(&str, &str)], stdin: &str) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let kubectl = stand_in(dir.path(), answers);
    // The clean environment keeps the developer's HELM_NAMESPACE and context out; the stand-in
    // needs PATH for `cat`.
    let o = Run::new()
        .args(args)
        .env("HELM_FIXUP_KUBECTL", &kubectl)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("XDG_STATE_HOME", dir.path())
        .envs(env.iter().copied())
        .stdin(stdin)
        .run();
    let violations = std::fs::read_to_string(dir.path().join("violations")).unwrap_or_default();
    assert!(
        violations.is_empty(),
        "helm-fixup ran a kubectl verb other than get and logs: {violations}"
    );
    Ran {
        code: o.code.unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: o.stderr,
        calls: std::fs::read_to_string(dir.path().join("calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect(),
    }
}

fn doctor(answers: &[Answer], args: &[&str], env: &[(&str, &str)]) -> Ran {
    let args: Vec<&str> = std::iter::once("doctor")
        .chain(args.iter().copied())
        .collect();
    run_with(answers, &args, env, "")
}

fn list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items})
}

/// Helm's storage Secret for revision `rev` of `release` with this manifest: the release JSON,
/// gzipped and base64-encoded by Helm, base64-encoded again as Secret data.
fn release_secret(release: &str, ns: &str, rev: u64, chart: &str, manifest: &str) -> Value {
    use std::io::Write;
    let body = json!({"name": release, "namespace": ns, "version": rev,
        "info": {"status": "deployed"},
        "chart": {"metadata": {"name": chart, "version": "65.1.0"}},
        "manifest": manifest});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.to_string().as_bytes()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let helm = b64.encode(gz.finish().unwrap());
    json!({"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {"name": format!("sh.helm.release.v1.{release}.v{rev}"), "namespace": ns,
            "labels": {"owner": "helm", "name": release, "status": "deployed", "version": rev.to_string()}},
        "data": {"release": b64.encode(helm)}})
}

fn node(name: &str, arch: &str, control_plane: bool) -> Value {
    let mut n = json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/arch": arch, "kubernetes.io/hostname": name}},
        "spec": {}, "status": {"nodeInfo": {"architecture": arch}}});
    if control_plane {
        n["spec"]["taints"] =
            json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]);
    }
    n
}

fn nodes(arch: &str) -> Value {
    list(vec![
        node("cp-1", arch, true),
        node("worker-1", arch, false),
        node("worker-2", arch, false),
        node("worker-3", arch, false),
    ])
}

fn namespace(name: &str, level: Option<&str>) -> Value {
    let mut ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name,
        "labels": {"kubernetes.io/metadata.name": name}}});
    if let Some(l) = level {
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = json!(l);
    }
    ns
}

fn event(pod: &str, ns: &str, kind: &str, reason: &str, message: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": format!("{pod}.1"), "namespace": ns},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": ns},
        "type": kind, "reason": reason, "message": message, "count": 12})
}

fn owned_by(kind: &str, name: &str, api: &str) -> Value {
    json!([{"apiVersion": api, "kind": kind, "name": name, "controller": true, "uid": "u-1"}])
}

fn statefulset(name: &str, ns: &str, owner: Option<(&str, &str)>) -> Value {
    let mut s = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": ns}});
    if let Some((k, n)) = owner {
        s["metadata"]["ownerReferences"] = owned_by(k, n, "monitoring.coreos.com/v1");
    }
    s
}

/// The kube-prometheus-stack Prometheus pod, as the operator makes it (uid 1000, fsGroup 2000).
fn prometheus_pod(init: Value, containers: Value, conditions: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "prometheus-kps-prometheus-0", "namespace": "monitoring",
            "labels": {"app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": "kps-prometheus"},
            "ownerReferences": owned_by("StatefulSet", "prometheus-kps-prometheus", "apps/v1")},
        "spec": {"securityContext": {"runAsUser": 1000, "runAsGroup": 2000, "fsGroup": 2000, "runAsNonRoot": true},
            "initContainers": [{"name": "init-config-reloader", "image": "quay.io/prometheus-operator/prometheus-config-reloader:v0.75.0"}],
            "containers": [{"name": "prometheus", "image": "quay.io/prometheus/prometheus:v2.53.0"},
                {"name": "config-reloader", "image": "quay.io/prometheus-operator/prometheus-config-reloader:v0.75.0"}]},
        "status": {"phase": if init.is_null() { "Running" } else { "Pending" },
            "conditions": conditions,
            "initContainerStatuses": if init.is_null() { json!([]) } else { json!([init]) },
            "containerStatuses": containers}})
}

const KPS_MANIFEST: &str = "---
# Source: kube-prometheus-stack/templates/prometheus/prometheus.yaml
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: kps-prometheus
  namespace: monitoring
spec:
  replicas: 1
---
# Source: kube-prometheus-stack/templates/prometheus-operator/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kps-operator
  namespace: monitoring
";

fn kps_release() -> Answer {
    ok(
        "get secrets",
        list(vec![
            release_secret("kps", "monitoring", 1, "kube-prometheus-stack", "---\n"),
            release_secret(
                "kps",
                "monitoring",
                2,
                "kube-prometheus-stack",
                KPS_MANIFEST,
            ),
        ]),
    )
}

fn cluster(arch: &str) -> Vec<Answer> {
    vec![
        ok("get nodes", nodes(arch)),
        ok(
            "get storageclasses",
            list(vec![
                json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": "local-path"}, "provisioner": "rancher.io/local-path"}),
            ]),
        ),
        ok(
            "get namespace monitoring",
            namespace("monitoring", Some("baseline")),
        ),
        ok("get persistentvolumes", list(vec![])),
        // local-pv.existing=cluster's read (the short name).
        ok("get pv ", list(vec![])),
        ok(
            "get replicasets.apps",
            list(vec![statefulset(
                "prometheus-kps-prometheus",
                "monitoring",
                Some(("Prometheus", "kps-prometheus")),
            )]),
        ),
    ]
}

fn not_ready() -> Value {
    json!([{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}])
}

#[test]
fn prometheus_stuck_init_on_config_out_gets_root_run_for_that_prometheus_only() {
    let init = json!({"name": "init-config-reloader", "ready": false, "restartCount": 5,
        "image": "quay.io/prometheus-operator/prometheus-config-reloader:v0.75.0",
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s restarting failed container"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
            "message": "level=error msg=\"config-reloader failed\" err=\"write file: open /etc/prometheus/config_out/prometheus.env.yaml: permission denied\""}}});
    let containers = json!([{"name": "prometheus", "ready": false, "restartCount": 0, "image": "quay.io/prometheus/prometheus:v2.53.0",
        "state": {"waiting": {"reason": "PodInitializing"}}}]);
    let mut answers = vec![
        kps_release(),
        ok(
            "get pods",
            list(vec![prometheus_pod(init, containers, not_ready())]),
        ),
        ok("get events", list(vec![])),
    ];
    answers.extend(cluster("amd64"));
    let r = doctor(&answers, &["--release", "kps", "-n", "monitoring"], &[]);
    assert_eq!(r.code, 4, "{}{}", r.stdout, r.stderr);
    let o = &r.stdout;
    assert!(
        o.contains("pod prometheus-kps-prometheus-0 (Init:CrashLoopBackOff), from Prometheus kps-prometheus"),
        "{o}"
    );
    assert!(o.contains("config-reloader-write"), "{o}");
    assert!(
        o.contains("config_out/prometheus.env.yaml: permission denied"),
        "{o}"
    );
    // It already runs as 1000 with fsGroup 2000: shared-uid would change nothing.
    assert!(o.contains("fix: -p root-run"), "{o}");
    assert!(
        o.contains(
            "Helm 4: helm upgrade kps REPO/kube-prometheus-stack --version 65.1.0 -n monitoring --reuse-values \
             --post-renderer fixup --post-renderer-args=-p --post-renderer-args=root-run \
             --post-renderer-args=--only --post-renderer-args=root-run:kind=Prometheus,name=kps-prometheus"
        ),
        "{o}"
    );
    assert!(
        o.contains("Helm 3: helm upgrade kps REPO/kube-prometheus-stack --version 65.1.0 -n monitoring --reuse-values --post-renderer helm-fixup --post-renderer-args -p --post-renderer-args root-run"),
        "{o}"
    );
    assert!(
        o.contains("Pod Security enforced in the namespace: baseline"),
        "{o}"
    );
}

#[test]
fn thanos_sidecar_that_cannot_hard_link_blocks_gets_shared_uid() {
    let containers = json!([
        {"name": "prometheus", "ready": true, "restartCount": 0, "image": "quay.io/prometheus/prometheus:v2.53.0",
         "state": {"running": {}}},
        {"name": "thanos-sidecar", "ready": false, "restartCount": 3, "image": "quay.io/thanos/thanos:v0.35.1",
         "state": {"running": {}},
         "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]);
    let mut pod = prometheus_pod(Value::Null, containers, not_ready());
    pod["spec"]["containers"][1]["name"] = json!("thanos-sidecar");
    pod["spec"]["containers"][1]["securityContext"] = json!({"runAsUser": 65534});
    let mut answers = vec![
        kps_release(),
        ok("get pods", list(vec![pod])),
        ok("get events", list(vec![])),
        ok(
            "logs prometheus-kps-prometheus-0 -c thanos-sidecar --previous",
            json!("placeholder"),
        ),
    ];
    // The log is text, not JSON.
    answers[3] = Answer {
        matching: "logs prometheus-kps-prometheus-0 -c thanos-sidecar --previous",
        body: Ok("ts=2026-12-01T10:00:00Z level=info msg=\"starting sidecar\"\n\
                  ts=2026-12-01T10:02:00Z level=error caller=shipper.go:361 msg=\"shipping failed\" \
                  block=01J9ZK err=\"hard link block: hard link file chunks/000001: link /prometheus/01J9ZK/chunks/000001 \
                  /prometheus/thanos/upload/01J9ZK/chunks/000001: operation not permitted\"\n"
            .into()),
    };
    answers.extend(cluster("amd64"));
    let r = doctor(&answers, &["--release", "kps", "-n", "monitoring"], &[]);
    assert_eq!(r.code, 4, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("thanos-hard-link"), "{}", r.stdout);
    assert!(r.stdout.contains("fix: -p shared-uid"), "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "--post-renderer fixup --post-renderer-args=-p --post-renderer-args=shared-uid\n"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.calls.iter().any(|c| c.starts_with(
            "logs prometheus-kps-prometheus-0 -c thanos-sidecar --previous --tail=20 -n monitoring"
        )),
        "{:?}",
        r.calls
    );
}

fn db_pod(ordinal: u32) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("pg-db-{ordinal}"), "namespace": "db",
            "labels": {"app.kubernetes.io/instance": "pg"},
            "ownerReferences": owned_by("StatefulSet", "pg-db", "apps/v1")},
        "spec": {"containers": [{"name": "db", "image": "docker.io/library/postgres:16"}]},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
            "reason": "Unschedulable",
            "message": "0/4 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling."}]}})
}

#[test]
fn statefulset_pending_on_unbound_claims_gets_local_pv_over_the_worker_nodes() {
    let manifest =
        "---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: pg-db\n  namespace: db\n";
    let mut answers = vec![
        ok(
            "get secrets",
            list(vec![release_secret("pg", "db", 1, "db", manifest)]),
        ),
        ok("get pods", list(vec![db_pod(0), db_pod(1)])),
        ok(
            "get events",
            list(vec![event(
                "pg-db-0",
                "db",
                "Warning",
                "FailedScheduling",
                "0/4 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
            )]),
        ),
        ok("get namespace db", namespace("db", None)),
    ];
    answers.extend(cluster("amd64"));
    let r = doctor(&answers, &["--release", "pg"], &[("HELM_NAMESPACE", "db")]);
    assert_eq!(r.code, 4, "{}{}", r.stdout, r.stderr);
    let o = &r.stdout;
    assert!(
        o.contains("pod pg-db-0 (Pending), from StatefulSet pg-db"),
        "{o}"
    );
    assert!(o.contains("pod pg-db-1 (Pending)"), "{o}");
    assert!(o.contains("unbound-claim"), "{o}");
    // The control-plane node is tainted NoSchedule: not a place for the volumes.
    assert!(
        o.contains(
            "--post-renderer-args=-p --post-renderer-args=local-pv --post-renderer-args=--set \
             --post-renderer-args=local-pv.nodes=worker-1,worker-2,worker-3 --post-renderer-args=--set \
             --post-renderer-args=local-pv.namespace=db --post-renderer-args=--set \
             --post-renderer-args=local-pv.existing=cluster"
        ),
        "{o}"
    );
    assert!(o.contains("default StorageClass: none"), "{o}");
    assert!(
        r.calls
            .iter()
            .any(|c| c.starts_with("get pods -o json -n db")),
        "HELM_NAMESPACE is the namespace: {:?}",
        r.calls
    );
}

#[test]
fn probes_refused_on_a_listen_local_prometheus_get_exec_probes() {
    let containers = json!([{"name": "prometheus", "ready": false, "restartCount": 0,
        "image": "quay.io/prometheus/prometheus:v2.53.0", "state": {"running": {}}}]);
    let pod = prometheus_pod(Value::Null, containers, not_ready());
    let mut answers = vec![
        kps_release(),
        ok("get pods", list(vec![pod])),
        ok(
            "get events",
            list(vec![event(
                "prometheus-kps-prometheus-0",
                "monitoring",
                "Warning",
                "Unhealthy",
                "Readiness probe failed: Get \"http://10.42.1.7:9090/-/ready\": dial tcp 10.42.1.7:9090: connect: connection refused",
            )]),
        ),
    ];
    answers.extend(cluster("amd64"));
    let r = doctor(&answers, &["--release", "kps", "-n", "monitoring"], &[]);
    assert_eq!(r.code, 4, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("pod prometheus-kps-prometheus-0 (Running (not ready))"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("loopback-probe"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("--post-renderer-args=-p --post-renderer-args=exec-probes\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn operator_image_without_a_loong64_build_gets_image_mirror_for_the_nodes_arch() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "kps-operator-6d5f7c9b8-x2x4z", "namespace": "monitoring",
            "labels": {"pod-template-hash": "6d5f7c9b8"},
            "ownerReferences": owned_by("ReplicaSet", "kps-operator-6d5f7c9b8", "apps/v1")},
        "spec": {"containers": [{"name": "kube-prometheus-stack", "image": "quay.io/prometheus-operator/prometheus-operator:v0.75.0"}]},
        "status": {"phase": "Pending", "conditions": not_ready(),
            "containerStatuses": [{"name": "kube-prometheus-stack", "ready": false, "restartCount": 0,
                "image": "quay.io/prometheus-operator/prometheus-operator:v0.75.0",
                "state": {"waiting": {"reason": "ImagePullBackOff",
                    "message": "Back-off pulling image \"quay.io/prometheus-operator/prometheus-operator:v0.75.0\""}}}]}});
    let mut answers = vec![
        kps_release(),
        ok("get pods", list(vec![pod])),
        ok(
            "get events",
            list(vec![event(
                "kps-operator-6d5f7c9b8-x2x4z",
                "monitoring",
                "Warning",
                "Failed",
                "Failed to pull image \"quay.io/prometheus-operator/prometheus-operator:v0.75.0\": rpc error: code = NotFound desc = failed to pull and unpack image \"quay.io/prometheus-operator/prometheus-operator:v0.75.0\": no match for platform in manifest: not found",
            )]),
        ),
    ];
    answers.extend(cluster("loong64"));
    let r = doctor(&answers, &["--release", "kps", "-n", "monitoring"], &[]);
    assert_eq!(r.code, 4, "{}{}", r.stdout, r.stderr);
    let o = &r.stdout;
    // The ReplicaSet was not among the owners read: its Deployment is its name without the hash.
    assert!(o.contains("from Deployment kps-operator"), "{o}");
    assert!(o.contains("no-arch-image"), "{o}");
    assert!(o.contains("(loong64)"), "{o}");
    assert!(
        o.contains(
            "--post-renderer-args=-p --post-renderer-args=image-mirror --post-renderer-args=--set \
             --post-renderer-args=image-mirror.map=quay.io=mirror.example.com/quay.io --post-renderer-args=--assume \
             --post-renderer-args=arch=loong64"
        ),
        "{o}"
    );
}

#[test]
fn healthy_release_exits_zero_and_other_releases_pods_are_not_blamed_on_it() {
    let ready = json!([{"type": "Ready", "status": "True"}]);
    let containers = json!([{"name": "prometheus", "ready": true, "restartCount": 0,
        "image": "quay.io/prometheus/prometheus:v2.53.0", "state": {"running": {}}}]);
    let mut answers = vec![
        kps_release(),
        ok(
            "get pods",
            list(vec![
                prometheus_pod(Value::Null, containers, ready),
                db_pod(0),
            ]),
        ),
        ok("get events", list(vec![])),
    ];
    answers.extend(cluster("amd64"));
    let r = doctor(&answers, &["--release", "kps", "-n", "monitoring"], &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(
            "no failing pod of the release (1 other failing pod(s) in the namespace: pg-db-0)"
        ),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("helm upgrade"), "{}", r.stdout);
}

#[test]
fn failing_pod_with_no_known_failure_is_listed_as_not_attributed() {
    let containers = json!([{"name": "app", "ready": false, "restartCount": 4, "image": "example.com/app:1",
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 2, "reason": "Error", "message": "panic: config key missing"}}}]);
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "app-0", "namespace": "apps"},
        "spec": {"containers": [{"name": "app", "image": "example.com/app:1"}]},
        "status": {"phase": "Running", "conditions": not_ready(), "containerStatuses": containers}});
    let answers = vec![ok("get pods", list(vec![pod]))];
    let r = doctor(&answers, &["-n", "apps"], &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("pod app-0 (CrashLoopBackOff)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("not attributed"), "{}", r.stdout);
    // What could not be read is said, not hidden.
    assert!(r.stdout.contains("not read: nodes"), "{}", r.stdout);
}

#[test]
fn every_kubectl_call_is_listed_with_the_context_and_a_timeout() {
    let answers = vec![ok("get pods", list(vec![]))];
    let r = doctor(
        &answers,
        &["-n", "apps", "--verbose"],
        &[("HELM_KUBECONTEXT", "lab")],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(!r.calls.is_empty());
    for c in &r.calls {
        assert!(c.starts_with("get ") || c.starts_with("logs "), "{c}");
        assert!(
            c.contains("--context=lab") && c.contains("--request-timeout="),
            "{c}"
        );
    }
    assert!(
        r.stderr
            .contains(&format!("{} kubectl call(s), all read-only", r.calls.len())),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("get pods -o json -n apps --context=lab"),
        "{}",
        r.stderr
    );
    // --kube-context wins over HELM_KUBECONTEXT.
    let r = doctor(
        &answers,
        &["-n", "apps", "--kube-context", "prod"],
        &[("HELM_KUBECONTEXT", "lab")],
    );
    assert!(
        r.calls.iter().all(|c| c.contains("--context=prod")),
        "{:?}",
        r.calls
    );
}

#[test]
fn no_context_forbidden_and_unreachable_clusters_fail_clearly() {
    for (stderr, said) in [
        (
            "error: context \"lab\" does not exist",
            "no cluster to talk to",
        ),
        (
            "Error from server (Forbidden): pods is forbidden: User \"dev\" cannot list resource \"pods\" in API group \"\" in the namespace \"apps\"",
            "forbidden: Error from server (Forbidden)",
        ),
        (
            "Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout",
            "the cluster is unreachable",
        ),
    ] {
        let r = doctor(&[err("get pods", stderr)], &["-n", "apps"], &[]);
        assert_eq!(r.code, 2, "{stderr}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
        assert!(
            r.stderr
                .contains("helm-fixup doctor: cannot read the pods: ")
                && r.stderr.contains(said),
            "{}",
            r.stderr
        );
    }
    // Forbidden on what is only helpful: said in the report, the rest still judged.
    let answers = vec![
        ok("get pods", list(vec![])),
        err(
            "get nodes",
            "Error from server (Forbidden): nodes is forbidden: User \"dev\" cannot list resource \"nodes\"",
        ),
    ];
    let r = doctor(&answers, &["-n", "apps"], &[]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("not read: nodes (forbidden: "),
        "{}",
        r.stdout
    );
}

#[test]
fn json_report_names_the_failures_and_the_command() {
    let answers = vec![
        ok("get pods", list(vec![db_pod(0)])),
        ok("get nodes", nodes("arm64")),
    ];
    let r = doctor(&answers, &["-n", "db", "--format", "json"], &[]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["pods"][0]["failures"][0]["code"], "unbound-claim");
    assert_eq!(v["pods"][0]["profiles"][0], "local-pv");
    assert!(
        v["helm4"]
            .as_str()
            .unwrap()
            .starts_with("helm upgrade RELEASE CHART -n db --reuse-values --post-renderer fixup")
    );
}

fn with_stdin(answers: &[Answer], args: &[&str], stdin: &str) -> Ran {
    run_with(answers, args, &[], stdin)
}

const OPERATOR_STREAM: &str = "---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kps-operator
  namespace: monitoring
spec:
  template:
    spec:
      containers:
        - name: operator
          image: quay.io/prometheus-operator/prometheus-operator:v0.75.0
";

#[test]
fn assume_cluster_settles_arch_storage_and_platform_from_the_live_facts() {
    let answers = cluster("loong64");
    let r = with_stdin(
        &answers,
        &["diagnose", "--assume", "cluster"],
        OPERATOR_STREAM,
    );
    assert!(
        r.stdout.contains(
            "assuming from the cluster: platform=kubernetes (no OpenShift SCC API); storage=local (no \
             StorageClass is the default); arch=loong64 (all 4 nodes are loong64)"
        ),
        "{}{}",
        r.stdout,
        r.stderr
    );
    assert!(r.stdout.contains("image-mirror"), "{}", r.stdout);
    assert!(
        r.calls.iter().all(|c| c.starts_with("get ")),
        "{:?}",
        r.calls
    );
    // The user's own key wins over the cluster's.
    let r = with_stdin(
        &answers,
        &["diagnose", "--assume", "cluster,arch=arm64"],
        OPERATOR_STREAM,
    );
    assert!(
        r.stdout.contains("storage=local") && !r.stdout.contains("arch=loong64"),
        "{}",
        r.stdout
    );
    // -p auto says which fact settled what.
    let r = with_stdin(
        &answers,
        &["-p", "auto", "--assume", "cluster"],
        OPERATOR_STREAM,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--assume cluster: platform=kubernetes (no OpenShift SCC API)"),
        "{}",
        r.stderr
    );
}

#[test]
fn nothing_is_read_from_the_cluster_unless_asked() {
    let answers = cluster("loong64");
    let r = with_stdin(
        &answers,
        &["diagnose", "--assume", "arch=loong64"],
        OPERATOR_STREAM,
    );
    assert!(r.calls.is_empty(), "{:?}", r.calls);
    let r = with_stdin(&answers, &["-p", "auto"], OPERATOR_STREAM);
    assert!(r.calls.is_empty(), "{:?}", r.calls);
    // A cluster that answers nothing is an error, not a silent guess.
    let r = with_stdin(
        &[err("get", "error: context \"lab\" does not exist")],
        &["diagnose", "--assume", "cluster"],
        OPERATOR_STREAM,
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--assume cluster: the cluster cannot be read: nodes (no cluster to talk to"),
        "{}",
        r.stderr
    );
}
