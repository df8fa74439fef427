//! End-to-end tests of the `init-chown` profile, named after the failures they guard (seed 001:
//! a root-owned hostPath / local PV directory; prometheus panics
//! `open /prometheus/queries.active: permission denied`).

mod common;

use common::*;
use helm_fixup::report::Level;
use serde_json::{Value, json};

const P: &[&str] = &["init-chown"];

fn chown_cmd(dir: &str, uid: u32, gid: u32) -> String {
    format!(
        r"find {dir} -xdev \( ! -user {uid} -o ! -group {gid} \) -exec chown -h {uid}:{gid} {{}} +"
    )
}

/// The container every test expects, with its mounts and script.
fn expected(mounts: Value, script: &str) -> Value {
    json!({
        "name": "fixup-chown",
        "image": "busybox:1.38.0",
        "command": ["sh", "-c", script],
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": {"add": ["CHOWN", "DAC_OVERRIDE", "FOWNER"], "drop": ["ALL"]},
            "runAsGroup": 0,
            "runAsNonRoot": false,
            "runAsUser": 0
        },
        "resources": {
            "limits": {"cpu": "100m", "memory": "64Mi"},
            "requests": {"cpu": "10m", "memory": "16Mi"}
        },
        "volumeMounts": mounts
    })
}

/// Seed 001 on a plain Deployment: hostPath created by root, prometheus as uid 1000.
const HOSTPATH: &str = "---
# Source: obs/templates/prometheus.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: prometheus
  namespace: monitoring
spec:
  template:
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 1000
        fsGroup: 1000
      initContainers:
        - name: init-config
          image: busybox:1.38.0
          volumeMounts:
            - name: data
              mountPath: /prometheus
      containers:
        - name: prometheus
          image: quay.io/prometheus/prometheus:v3.5.0
          volumeMounts:
            - name: data
              mountPath: /prometheus
            - name: config
              mountPath: /etc/prometheus
            - name: scratch
              mountPath: /tmp
            - name: node-logs
              mountPath: /var/log/host
      volumes:
        - name: data
          hostPath:
            path: /mnt/disks/prometheus
            type: DirectoryOrCreate
        - name: config
          configMap:
            name: prometheus
        - name: scratch
          emptyDir: {}
        - name: node-logs
          hostPath:
            path: /var/log
";

#[test]
fn prometheus_can_write_root_owned_hostpath() {
    let out = run(HOSTPATH, P, &[]);
    let d = docs(&out.stream);
    let p = pod(doc(&d, "Deployment", "prometheus"));
    assert_eq!(
        init_names(p),
        ["fixup-chown", "init-config"],
        "first: the chart's init container writes the volume too"
    );
    assert_eq!(
        container(p, "initContainers", "fixup-chown"),
        &expected(
            json!([{"mountPath": "/fixup/data", "name": "data"}]),
            &chown_cmd("'/fixup/data'", 1000, 1000)
        )
    );
    let object = "Deployment monitoring/prometheus";
    assert_eq!(
        messages(&out, Level::Note, object),
        ["fixup-chown chowns data -> 1000:1000"]
    );
    assert_eq!(
        messages(&out, Level::Warning, object),
        ["volume node-logs is not chowned: hostPath /var/log is a system directory of the node"]
    );
    assert_eq!(out.report.more_privileged(), [object]);
    assert!(
        out.report
            .text()
            .contains(&format!("more privileged than the chart asked: {object}"))
    );
}

#[test]
fn restart_does_not_walk_an_owned_tsdb() {
    let out = run(HOSTPATH, P, &[]);
    let d = docs(&out.stream);
    let c = container(
        pod(doc(&d, "Deployment", "prometheus")),
        "initContainers",
        "fixup-chown",
    );
    let script = c["command"][2].as_str().unwrap();
    assert!(script.starts_with("find "), "{script}");
    assert!(
        script.contains(r"\( ! -user 1000 -o ! -group 1000 \)"),
        "{script}"
    );
    assert!(script.contains(" -xdev "), "{script}");
    assert!(script.contains("-exec chown -h 1000:1000 {} +"), "{script}");
    assert!(!script.contains("-R"), "no recursive chown: {script}");
}

#[test]
fn chown_container_has_least_privilege() {
    let out = run(HOSTPATH, P, &[]);
    let d = docs(&out.stream);
    let c = container(
        pod(doc(&d, "Deployment", "prometheus")),
        "initContainers",
        "fixup-chown",
    );
    assert_eq!(
        c["securityContext"]["capabilities"],
        json!({"add": ["CHOWN", "DAC_OVERRIDE", "FOWNER"], "drop": ["ALL"]})
    );
    assert_eq!(c["securityContext"]["runAsUser"], 0);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"].get("privileged"), None);
    // Both requests and limits: a namespace ResourceQuota on limits admits it.
    for k in ["requests", "limits"] {
        for r in ["cpu", "memory"] {
            assert!(c["resources"][k][r].is_string(), "{k}.{r}");
        }
    }
}

#[test]
fn second_run_adds_no_second_init_container() {
    let out = run(HOSTPATH, P, &[]);
    assert_idempotent(&out, P, &[]);
    let again = helm_fixup::process(&out.stream, &plan(P, &[])).unwrap();
    let d = docs(&again.stream);
    let names = init_names(pod(doc(&d, "Deployment", "prometheus")));
    assert_eq!(names.iter().filter(|n| **n == "fixup-chown").count(), 1);
}

#[test]
fn changed_image_replaces_our_container_instead_of_adding_one() {
    let out = run(HOSTPATH, P, &[]);
    let set = [(
        "init-chown.image",
        "registry.example.com/loong64/busybox:1.38.0",
    )];
    let again = helm_fixup::process(&out.stream, &plan(P, &set)).unwrap();
    let d = docs(&again.stream);
    let p = pod(doc(&d, "Deployment", "prometheus"));
    assert_eq!(init_names(p), ["fixup-chown", "init-config"]);
    assert_eq!(
        container(p, "initContainers", "fixup-chown")["image"],
        "registry.example.com/loong64/busybox:1.38.0"
    );
}

#[test]
fn image_is_configurable_for_loongarch_registries() {
    let set = [("init-chown.image", "cr.loongnix.cn/library/busybox:1.38.0")];
    let out = run(HOSTPATH, P, &set);
    let d = docs(&out.stream);
    let c = container(
        pod(doc(&d, "Deployment", "prometheus")),
        "initContainers",
        "fixup-chown",
    );
    assert_eq!(c["image"], "cr.loongnix.cn/library/busybox:1.38.0");
    let e = run_err(HOSTPATH, P, &[("init-chown.image", "busybox; rm -rf /")]);
    assert!(
        e.to_string().contains("an image reference has no spaces"),
        "{e}"
    );
}

const STATEFULSET: &str = "---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: data
spec:
  replicas: 3
  template:
    spec:
      securityContext:
        runAsUser: 999
        fsGroup: 999
      containers:
        - name: db
          volumeMounts:
            - name: data
              mountPath: /var/lib/db
              subPath: db
            - name: data
              mountPath: /var/log/db
              subPath: logs
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        resources:
          requests:
            storage: 1Gi
";

#[test]
fn statefulset_claim_template_mount_keeps_subpath() {
    let out = run(STATEFULSET, P, &[]);
    let d = docs(&out.stream);
    let p = pod(doc(&d, "StatefulSet", "db"));
    assert_eq!(
        container(p, "initContainers", "fixup-chown")["volumeMounts"],
        json!([
            {"mountPath": "/fixup/data/0", "name": "data", "subPath": "db"},
            {"mountPath": "/fixup/data/1", "name": "data", "subPath": "logs"}
        ])
    );
    assert_eq!(
        container(p, "initContainers", "fixup-chown")["command"][2],
        format!(
            "{} && {}",
            chown_cmd("'/fixup/data/0'", 999, 999),
            chown_cmd("'/fixup/data/1'", 999, 999)
        )
    );
    assert_eq!(
        messages(&out, Level::Note, "StatefulSet data/db"),
        ["fixup-chown chowns data (subPath db) -> 999:999, data (subPath logs) -> 999:999"]
    );
}

const OPERATOR: &str = "---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: kps-prometheus
  namespace: monitoring
spec:
  securityContext:
    fsGroup: 2000
    runAsGroup: 2000
    runAsNonRoot: true
    runAsUser: 1000
    seccompProfile:
      type: RuntimeDefault
  initContainers:
    - name: init-config-reloader
      resources:
        requests:
          cpu: 10m
  storage:
    volumeClaimTemplate:
      spec:
        resources:
          requests:
            storage: 50Gi
---
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
  storage:
    volumeClaimTemplate:
      spec:
        resources:
          requests:
            storage: 10Gi
---
apiVersion: monitoring.coreos.com/v1
kind: ThanosRuler
metadata:
  name: ruler
  namespace: monitoring
spec:
  securityContext:
    runAsUser: 1001
    fsGroup: 1001
  storage:
    volumeClaimTemplate:
      spec:
        resources:
          requests:
            storage: 5Gi
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: tsdb-named
  namespace: monitoring
spec:
  securityContext:
    runAsUser: 1000
    fsGroup: 2000
  storage:
    volumeClaimTemplate:
      metadata:
        name: tsdb
      spec: {}
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: no-storage
  namespace: monitoring
spec:
  securityContext:
    runAsUser: 1000
";

#[test]
fn prometheus_cr_chowns_the_operator_volume_after_its_own_init_containers() {
    let out = run(OPERATOR, P, &[]);
    let d = docs(&out.stream);
    let cr = doc(&d, "Prometheus", "kps-prometheus");
    assert_eq!(
        init_names(&cr["spec"]),
        ["init-config-reloader", "fixup-chown"],
        "appended: the operator keeps its own init containers first"
    );
    assert_eq!(
        container(&cr["spec"], "initContainers", "fixup-chown"),
        &expected(
            json!([{"mountPath": "/fixup/prometheus-kps-prometheus-db",
                    "name": "prometheus-kps-prometheus-db", "subPath": "prometheus-db"}]),
            &chown_cmd("'/fixup/prometheus-kps-prometheus-db'", 1000, 2000)
        )
    );
    let named = doc(&d, "Prometheus", "tsdb-named");
    assert_eq!(
        container(&named["spec"], "initContainers", "fixup-chown")["volumeMounts"],
        json!([{"mountPath": "/fixup/tsdb", "name": "tsdb", "subPath": "prometheus-db"}])
    );
    let none = doc(&d, "Prometheus", "no-storage");
    assert_eq!(none["spec"].get("initContainers"), None);
}

#[test]
fn alertmanager_cr_chowns_its_operator_volume_with_subpath() {
    let out = run(OPERATOR, P, &[]);
    let d = docs(&out.stream);
    let cr = doc(&d, "Alertmanager", "kps-alertmanager");
    assert_eq!(
        cr["spec"]["initContainers"],
        json!([expected(
            json!([{"mountPath": "/fixup/alertmanager-kps-alertmanager-db",
                    "name": "alertmanager-kps-alertmanager-db", "subPath": "alertmanager-db"}]),
            &chown_cmd("'/fixup/alertmanager-kps-alertmanager-db'", 1000, 2000)
        )])
    );
    assert_eq!(
        messages(
            &out,
            Level::Note,
            "Alertmanager monitoring/kps-alertmanager"
        ),
        [
            "fixup-chown chowns alertmanager-kps-alertmanager-db (subPath alertmanager-db) -> 1000:2000"
        ]
    );
    assert_idempotent(&out, P, &[]);
}

#[test]
fn thanos_ruler_volume_has_no_subpath() {
    let out = run(OPERATOR, P, &[]);
    let d = docs(&out.stream);
    let cr = doc(&d, "ThanosRuler", "ruler");
    assert_eq!(
        container(&cr["spec"], "initContainers", "fixup-chown")["volumeMounts"],
        json!([{"mountPath": "/fixup/thanos-ruler-ruler-data", "name": "thanos-ruler-ruler-data"}])
    );
    assert_eq!(
        container(&cr["spec"], "initContainers", "fixup-chown")["command"][2],
        chown_cmd("'/fixup/thanos-ruler-ruler-data'", 1001, 1001)
    );
}

const GRAFANA: &str = "---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: grafana
  namespace: monitoring
spec:
  template:
    spec:
      securityContext:
        runAsUser: 472
        runAsGroup: 472
        fsGroup: 472
      initContainers:
        - name: init-chown-data
          image: docker.io/library/busybox:1.31.1
          command: [chown, -R, \"472:472\", /var/lib/grafana]
          securityContext:
            runAsNonRoot: false
            runAsUser: 0
            capabilities:
              add: [CHOWN]
          volumeMounts:
            - name: storage
              mountPath: /var/lib/grafana
      containers:
        - name: grafana
          volumeMounts:
            - name: storage
              mountPath: /var/lib/grafana
      volumes:
        - name: storage
          persistentVolumeClaim:
            claimName: grafana
";

#[test]
fn grafana_init_chown_data_is_not_duplicated() {
    let out = run(GRAFANA, P, &[]);
    assert_eq!(String::from_utf8_lossy(&out.stream), GRAFANA);
    assert_eq!(
        messages(&out, Level::Note, "Deployment monitoring/grafana"),
        [
            "init container init-chown-data already chowns storage to 472 as root: not adding fixup-chown"
        ]
    );
    assert!(out.report.more_privileged().is_empty());
}

#[test]
fn bitnami_init_chmod_data_is_not_duplicated() {
    let input = "---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: thanos-storegateway
  namespace: monitoring
spec:
  template:
    spec:
      securityContext:
        fsGroup: 1001
      initContainers:
        - name: init-chmod-data
          image: docker.io/bitnami/os-shell:12-debian-12-r50
          command:
            - sh
            - -c
            - |
              mkdir -p /data
              chown -R \"1001:1001\" /data
          securityContext:
            runAsUser: 0
          volumeMounts:
            - name: data
              mountPath: /data
      containers:
        - name: storegateway
          securityContext:
            runAsUser: 1001
          volumeMounts:
            - name: data
              mountPath: /data
  volumeClaimTemplates:
    - metadata:
        name: data
";
    let out = run(input, P, &[]);
    assert_eq!(String::from_utf8_lossy(&out.stream), input);
    assert_eq!(
        messages(
            &out,
            Level::Note,
            "StatefulSet monitoring/thanos-storegateway"
        ),
        [
            "init container init-chmod-data already chowns data to 1001 as root: not adding fixup-chown"
        ]
    );
}

#[test]
fn root_helper_chowning_to_another_uid_is_warned_about() {
    let input = GRAFANA.replace("\"472:472\"", "\"1:1\"");
    let out = run(&input, P, &[]);
    let d = docs(&out.stream);
    assert_eq!(
        init_names(pod(doc(&d, "Deployment", "grafana"))),
        ["fixup-chown", "init-chown-data"]
    );
    assert_eq!(
        messages(&out, Level::Warning, "Deployment monitoring/grafana"),
        [
            "init container init-chown-data chowns storage as root but not to uid 472; it runs after fixup-chown \
          and may undo it: make it use 472:472"
        ]
    );
}

#[test]
fn skipped_pod_says_why() {
    let input = "---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: no-uid
  namespace: monitoring
spec:
  template:
    spec:
      containers:
        - name: app
          volumeMounts:
            - {name: data, mountPath: /data}
      volumes:
        - {name: data, persistentVolumeClaim: {claimName: data}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: root-app
  namespace: monitoring
spec:
  template:
    spec:
      securityContext: {runAsUser: 0}
      containers:
        - name: app
          volumeMounts:
            - {name: data, mountPath: /data}
      volumes:
        - {name: data, persistentVolumeClaim: {claimName: data}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: reader
  namespace: monitoring
spec:
  template:
    spec:
      securityContext: {runAsUser: 1000}
      containers:
        - name: app
          volumeMounts:
            - {name: data, mountPath: /data, readOnly: true}
            - {name: ro, mountPath: /ro}
      volumes:
        - {name: data, persistentVolumeClaim: {claimName: data}}
        - {name: ro, persistentVolumeClaim: {claimName: ro, readOnly: true}}
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: no-context
  namespace: monitoring
spec:
  storage:
    volumeClaimTemplate:
      spec: {}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: scratch-only
  namespace: monitoring
spec:
  template:
    spec:
      securityContext: {runAsUser: 1000}
      containers:
        - name: app
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
            - {name: cfg, mountPath: /cfg}
            - {name: sec, mountPath: /sec}
            - {name: proj, mountPath: /proj}
            - {name: info, mountPath: /info}
      volumes:
        - {name: tmp, emptyDir: {}}
        - {name: cfg, configMap: {name: c}}
        - {name: sec, secret: {secretName: s}}
        - {name: proj, projected: {sources: []}}
        - {name: info, downwardAPI: {items: []}}
";
    let out = run(input, P, &[]);
    assert_eq!(
        String::from_utf8_lossy(&out.stream),
        input,
        "nothing changes"
    );
    assert_eq!(
        messages(&out, Level::Warning, "Deployment monitoring/no-uid"),
        [
            "volume data is not chowned: container app has no runAsUser (its image decides, which helm-fixup \
          cannot see); set --set init-chown.uid=UID (and init-chown.gid=GID)"
        ]
    );
    assert_eq!(
        messages(&out, Level::Note, "Deployment monitoring/root-app"),
        ["app run(s) as root: no chown needed"]
    );
    assert_eq!(
        messages(&out, Level::Note, "Deployment monitoring/reader"),
        ["volume data, ro is mounted read-only: nothing to chown"]
    );
    assert_eq!(
        messages(&out, Level::Warning, "Prometheus monitoring/no-context"),
        [
            "storage prometheus-no-context-db (subPath prometheus-db) is not chowned: spec.securityContext has no \
          runAsUser; set --set init-chown.uid=UID (and init-chown.gid=GID)"
        ]
    );
    assert!(
        out.report
            .messages
            .iter()
            .all(|m| m.object.as_deref() != Some("Deployment monitoring/scratch-only"))
    );
    // The parameter the warning names does what it says.
    let out = run(
        input,
        P,
        &[("init-chown.uid", "1000"), ("init-chown.gid", "3000")],
    );
    let d = docs(&out.stream);
    assert_eq!(
        container(
            pod(doc(&d, "Deployment", "no-uid")),
            "initContainers",
            "fixup-chown"
        )["command"][2],
        chown_cmd("'/fixup/data'", 1000, 3000)
    );
}

#[test]
fn odd_paths_are_shell_quoted() {
    // Not a valid Kubernetes volume name, but the script must stay one word per path anyway.
    let input = HOSTPATH.replace("name: data", "name: \"it's $(data)\"");
    let out = run(&input, P, &[]);
    let d = docs(&out.stream);
    let c = container(
        pod(doc(&d, "Deployment", "prometheus")),
        "initContainers",
        "fixup-chown",
    );
    assert_eq!(
        c["command"][2],
        chown_cmd(r"'/fixup/it'\''s $(data)'", 1000, 1000)
    );
    assert_eq!(c["volumeMounts"][0]["mountPath"], "/fixup/it's $(data)");
}

#[test]
fn restricted_namespace_is_warned_about() {
    let input = format!(
        "---
apiVersion: v1
kind: Namespace
metadata:
  name: monitoring
  labels:
    pod-security.kubernetes.io/enforce: restricted
{HOSTPATH}"
    );
    let out = run(&input, P, &[]);
    assert!(
        messages(&out, Level::Warning, "Deployment monitoring/prometheus")
            .iter()
            .any(|w| w.contains("Pod Security \"restricted\"")),
        "{:?}",
        out.report.messages
    );
}

/// Seeds 001 and 002 in one release: a prometheus + thanos StatefulSet on a claim template with
/// no securityContext, and a kube-prometheus-stack style Prometheus CR, on local disks.
const TOGETHER: &str = "---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: prometheus
  namespace: monitoring
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: prometheus
          volumeMounts:
            - {name: db, mountPath: /prometheus, subPath: prometheus-db}
        - name: thanos-sidecar
          securityContext:
            runAsUser: 1001
          volumeMounts:
            - {name: db, mountPath: /prometheus, subPath: prometheus-db}
  volumeClaimTemplates:
    - metadata:
        name: db
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: 20Gi
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: k
  namespace: monitoring
spec:
  securityContext:
    fsGroup: 2000
    runAsGroup: 2000
    runAsNonRoot: true
    runAsUser: 1000
  storage:
    volumeClaimTemplate:
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: 50Gi
";

#[test]
fn shared_uid_init_chown_and_local_pv_work_together() {
    let profiles = ["shared-uid", "init-chown", "exec-probes", "local-pv"];
    let set = [("local-pv.node", "worker-1")];
    let out = run(TOGETHER, &profiles, &set);
    let d = docs(&out.stream);

    // shared-uid: one uid for the pod (the sidecar's, the only one set) ...
    let sts = pod(doc(&d, "StatefulSet", "prometheus"));
    assert_eq!(
        sts["securityContext"],
        json!({"runAsUser": 1001, "runAsGroup": 1001, "fsGroup": 1001,
               "fsGroupChangePolicy": "OnRootMismatch"})
    );
    // ... and init-chown, which runs after it, chowns the subPath to that uid.
    assert_eq!(
        container(sts, "initContainers", "fixup-chown")["volumeMounts"],
        json!([{"mountPath": "/fixup/db", "name": "db", "subPath": "prometheus-db"}])
    );
    assert_eq!(
        container(sts, "initContainers", "fixup-chown")["command"][2],
        chown_cmd("'/fixup/db'", 1001, 1001)
    );
    let cr = doc(&d, "Prometheus", "k");
    assert_eq!(
        container(&cr["spec"], "initContainers", "fixup-chown")["command"][2],
        chown_cmd("'/fixup/prometheus-k-db'", 1000, 2000)
    );

    // local-pv: one PV per claim, pinned to the node.
    let pvs: Vec<&str> = d
        .iter()
        .filter(|v| v["kind"] == "PersistentVolume")
        .filter_map(|v| v["spec"]["claimRef"]["name"].as_str())
        .collect();
    assert_eq!(pvs, ["db-prometheus-0", "prometheus-k-db-prometheus-k-0"]);

    let profiles_changed: Vec<(&str, &str)> = out
        .report
        .changed
        .iter()
        .map(|r| (r.profile.as_str(), r.object.as_str()))
        .collect();
    assert_eq!(
        profiles_changed,
        [
            ("shared-uid", "StatefulSet monitoring/prometheus"),
            ("init-chown", "StatefulSet monitoring/prometheus"),
            ("init-chown", "Prometheus monitoring/k"),
            ("local-pv", "StatefulSet monitoring/prometheus"),
            ("local-pv", "Prometheus monitoring/k"),
        ]
    );
    assert_eq!(
        out.report.more_privileged(),
        [
            "StatefulSet monitoring/prometheus",
            "Prometheus monitoring/k"
        ]
    );
    assert_idempotent(&out, &profiles, &set);
}

#[test]
fn ids_kubernetes_would_reject_are_not_used() {
    // A quoted or negative runAsUser is not a uid: the pod counts as having none.
    for bad in ["\"1000\"", "-1", "1.5"] {
        let input = HOSTPATH
            .replace(
                "        runAsUser: 1000\n",
                &format!("        runAsUser: {bad}\n"),
            )
            .replace("        fsGroup: 1000\n", "");
        let out = run(&input, P, &[]);
        assert!(out.report.changed.is_empty(), "{bad}");
        assert!(
            messages(&out, Level::Warning, "Deployment monitoring/prometheus")
                .iter()
                .any(|w| w.contains("has no runAsUser")),
            "{bad}: {:?}",
            out.report.messages
        );
    }
    let e = run_err(HOSTPATH, P, &[("init-chown.uid", "4294967295")]);
    assert_eq!(
        e.to_string(),
        "init-chown.uid=4294967295: Kubernetes accepts ids up to 2147483647"
    );
}

/// Loki/mimir store-gateway shape: one claim template, each pod writes `$(POD_NAME)` inside it.
const SUBPATH_EXPR: &str = "---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: store-gateway
  namespace: mimir
spec:
  template:
    spec:
      securityContext:
        runAsUser: 10001
        fsGroup: 10001
      containers:
        - name: store-gateway
          image: grafana/mimir:2.14.0
          env:
            - name: GOMAXPROCS
              value: \"2\"
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
          volumeMounts:
            - name: storage
              mountPath: /data
              subPathExpr: $(POD_NAME)
        - name: no-env
          image: busybox
          volumeMounts:
            - name: scratch
              mountPath: /scratch
              subPathExpr: $(FROM_ENVFROM)
  volumeClaimTemplates:
    - metadata:
        name: storage
      spec:
        resources:
          requests:
            storage: 2Gi
    - metadata:
        name: scratch
      spec:
        resources:
          requests:
            storage: 1Gi
";

#[test]
fn subpathexpr_mount_is_chowned_with_the_same_expansion() {
    let out = run(SUBPATH_EXPR, P, &[]);
    let d = docs(&out.stream);
    let c = container(
        pod(doc(&d, "StatefulSet", "store-gateway")),
        "initContainers",
        "fixup-chown",
    );
    assert_eq!(
        c["volumeMounts"],
        json!([{"mountPath": "/fixup/storage", "name": "storage", "subPathExpr": "$(POD_NAME)"}])
    );
    // Only the variable the expression uses is copied, as the app container defines it.
    assert_eq!(
        c["env"],
        json!([{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}])
    );
    assert_eq!(c["command"][2], chown_cmd("'/fixup/storage'", 10001, 10001));
    // A variable the container does not define in env cannot be expanded for our container.
    let w = messages(&out, Level::Warning, "StatefulSet mimir/store-gateway");
    assert!(
        w.iter().any(|m| m.contains("subPathExpr $(FROM_ENVFROM)")),
        "{w:?}"
    );
    assert_idempotent(&out, P, &[]);
}

#[test]
fn app_container_owns_volume_a_non_root_init_container_also_writes() {
    // An init container seeding the volume as another non-root uid must not decide the owner:
    // it has finished before the app, which runs as 1000 for the pod's whole life.
    let input = "---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  namespace: apps
spec:
  template:
    spec:
      securityContext:
        fsGroup: 1000
      initContainers:
        - name: seed
          image: busybox
          securityContext:
            runAsUser: 500
          volumeMounts:
            - name: data
              mountPath: /data
      containers:
        - name: app
          image: app:1
          securityContext:
            runAsUser: 1000
          volumeMounts:
            - name: data
              mountPath: /data
      volumes:
        - name: data
          persistentVolumeClaim:
            claimName: app-data
";
    let out = run(input, P, &[]);
    let d = docs(&out.stream);
    let p = pod(doc(&d, "Deployment", "app"));
    assert_eq!(init_names(p), ["fixup-chown", "seed"]);
    assert_eq!(
        container(p, "initContainers", "fixup-chown")["command"][2],
        chown_cmd("'/fixup/data'", 1000, 1000)
    );
    assert_idempotent(&out, P, &[]);
}

#[test]
fn volume_written_by_two_uids_goes_to_the_last_app_container() {
    // A backup CronJob: the pod runs as 1001, its uploader as 2002, both write one NFS export.
    // One owner cannot suit both: the last app container decides, and a warning says so.
    let input = "---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: backup
  namespace: web
spec:
  schedule: \"0 3 * * *\"
  jobTemplate:
    spec:
      template:
        spec:
          securityContext: {runAsUser: 1001, fsGroup: 1001}
          containers:
            - name: backup
              image: alpine:3.20
              volumeMounts:
                - {name: backup, mountPath: /backup}
            - name: uploader
              image: alpine:3.20
              securityContext:
                runAsUser: 2002
              volumeMounts:
                - {name: backup, mountPath: /backup}
          volumes:
            - name: backup
              nfs: {server: nfs.example.com, path: /exports/backup}
";
    let out = run(input, P, &[]);
    let d = docs(&out.stream);
    let job = doc(&d, "CronJob", "backup");
    let p = &job["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(
        container(p, "initContainers", "fixup-chown")["command"][2],
        chown_cmd("'/fixup/backup'", 2002, 1001)
    );
    let w = messages(&out, Level::Warning, "CronJob web/backup");
    assert!(
        w.iter()
            .any(|m| m.contains("one owner cannot suit both, chowning to 2002:1001")),
        "{w:?}"
    );
    assert_idempotent(&out, P, &[]);
}

#[test]
fn chown_helper_after_an_init_container_using_the_volume_does_not_count() {
    // bitnami kafka-like: `prepare-config` (uid 1001) writes the data volume before
    // `volume-permissions` chowns it, so on a root-owned local PV it fails first.
    let input = "---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: kafka
  namespace: kafka
spec:
  template:
    spec:
      securityContext:
        fsGroup: 1001
      initContainers:
        - name: prepare-config
          image: bitnami/kafka
          securityContext:
            runAsUser: 1001
          volumeMounts:
            - name: data
              mountPath: /bitnami/kafka
        - name: volume-permissions
          image: bitnami/os-shell
          command: [/bin/bash]
          args: [-ec, 'chown -R 1001:1001 /bitnami/kafka']
          securityContext:
            runAsUser: 0
          volumeMounts:
            - name: data
              mountPath: /bitnami/kafka
      containers:
        - name: kafka
          image: bitnami/kafka
          securityContext:
            runAsUser: 1001
          volumeMounts:
            - name: data
              mountPath: /bitnami/kafka
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        resources:
          requests:
            storage: 8Gi
";
    let out = run(input, P, &[]);
    let d = docs(&out.stream);
    let p = pod(doc(&d, "StatefulSet", "kafka"));
    assert_eq!(
        init_names(p),
        ["fixup-chown", "prepare-config", "volume-permissions"]
    );
    assert_eq!(
        container(p, "initContainers", "fixup-chown")["command"][2],
        chown_cmd("'/fixup/data'", 1001, 1001)
    );
    assert_idempotent(&out, P, &[]);
    // With the helper first, it is trusted as before.
    let helper_first = input.replace(
        "        - name: prepare-config
          image: bitnami/kafka
          securityContext:
            runAsUser: 1001
          volumeMounts:
            - name: data
              mountPath: /bitnami/kafka
",
        "",
    );
    let out = run(&helper_first, P, &[]);
    assert_eq!(out.stream, helper_first.as_bytes());
}
