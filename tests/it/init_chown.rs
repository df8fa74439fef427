//! End-to-end tests of the `init-chown` profile, named after the failures they guard (seed 001:
//! a root-owned hostPath / local PV directory; prometheus panics
//! `open /prometheus/queries.active: permission denied`).

use crate::common::*;
use helm_fixup::report::Level;
use serde_json::{Value, json};

const P: &[&str] = &["init-chown"];

/// The script of `fixup-chown` for these mounts (path, uid, gid), written out here on its own so
/// a change to the generated one shows up: per mount one `find` that changes only what is not
/// yet owned, its messages captured (first 20 lines), printed under a header; one hint at the end.
fn chown_script(mounts: &[(&str, u32, u32)]) -> String {
    let q = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut parts = vec!["f=0".to_string()];
    for (dir, uid, gid) in mounts {
        parts.push(format!(
            r#"m=$({{ find {} -xdev \( ! -user {uid} -o ! -group {gid} \) -exec chown -h {uid}:{gid} {{}} + || echo "find exited with status $?"; }} 2>&1 | sed -n '1,20p;21s/.*/(more not shown)/p')"#,
            q(dir)
        ));
        parts.push(format!(
            r#"[ -z "$m" ] || {{ printf '%s\n' {} "$m" >&2; f=1; }}"#,
            q(&format!(
                "fixup-chown: could not give every entry of {dir} to {uid}:{gid}:"
            ))
        ));
    }
    parts.push(format!(r#"[ "$f" = 0 ] || printf '%s\n' {} >&2"#, q(HINT)));
    parts.join("; ")
}

const HINT: &str = "fixup-chown: some ownership was left as it is, and the pod starts anyway. If the volume is \
an NFS export with root_squash (the default), root in this container is mapped to an anonymous user that may \
not change ownership: give the exported directory and its contents their owner on the NFS server, export it with no_root_squash, or run the pod as the owner of the directory (helm-fixup: --set \
shared-uid.uid=UID).";

/// The container every test expects, with its mounts and script.
fn expected(mounts: Value, script: &str) -> Value {
    json!({
        "name": "fixup-chown",
        "image": "docker.io/library/busybox:1.38.0",
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
            &chown_script(&[("/fixup/data", 1000, 1000)])
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
    assert_eq!(
        script.matches(" -xdev ").count(),
        1,
        "one walk per mount, also when something was refused: {script}"
    );
    assert!(script.contains("find '/fixup/data' -xdev "), "{script}");
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
        chown_script(&[("/fixup/data/0", 999, 999), ("/fixup/data/1", 999, 999)])
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
            &chown_script(&[("/fixup/prometheus-kps-prometheus-db", 1000, 2000)])
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
            &chown_script(&[("/fixup/alertmanager-kps-alertmanager-db", 1000, 2000)])
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
        chown_script(&[("/fixup/thanos-ruler-ruler-data", 1001, 1001)])
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
        chown_script(&[("/fixup/data", 1000, 3000)])
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
    // Every `$` is doubled for the kubelet (see `init_chown_paths_survive_kubelet_expansion`).
    assert_eq!(
        c["command"][2],
        chown_script(&[("/fixup/it's $(data)", 1000, 1000)]).replace('$', "$$")
    );
    assert_eq!(c["volumeMounts"][0]["mountPath"], "/fixup/it's $(data)");
}

/// The kubelet's `$(VAR)` expansion of a container's command (Kubernetes'
/// `third_party/forked/golang/expansion/expand.go`): `$$` gives `$`, `$(NAME)` the variable
/// when the container defines it, anything else stays as written.
fn kubelet_expand(input: &str, env: &[(&str, &str)]) -> String {
    let b = input.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() {
            match b[i + 1] {
                b'$' => {
                    out.push('$');
                    i += 2;
                }
                b'(' => match input[i + 2..].find(')') {
                    Some(end) => {
                        let name = &input[i + 2..i + 2 + end];
                        match env.iter().find(|(n, _)| *n == name) {
                            Some((_, v)) => out.push_str(v),
                            None => out.push_str(&format!("$({name})")),
                        }
                        i += end + 3;
                    }
                    None => {
                        out.push_str("$(");
                        i += 2;
                    }
                },
                _ => {
                    out.push('$');
                    i += 1;
                }
            }
        } else {
            let c = input[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// A `$(NAME)` in a path of the chown script must reach the shell as written: the kubelet would
/// otherwise put the container's variable there (the init container copies env entries for
/// `subPathExpr`), and `find` would walk another directory.
#[test]
fn init_chown_paths_survive_kubelet_expansion() {
    let input = HOSTPATH.replace("name: data", "name: \"$(POD_NAME)$$x\"");
    let out = run(&input, P, &[]);
    let d = docs(&out.stream);
    let c = container(
        pod(doc(&d, "Deployment", "prometheus")),
        "initContainers",
        "fixup-chown",
    );
    let command = c["command"][2].as_str().unwrap();
    let seen = kubelet_expand(command, &[("POD_NAME", "other"), ("x", "y")]);
    assert_eq!(
        seen,
        chown_script(&[("/fixup/$(POD_NAME)$$x", 1000, 1000)]),
        "{command}"
    );
    // And a script with no `$` in its paths is what it always was.
    assert_eq!(
        kubelet_expand(
            &chown_script(&[("/fixup/data", 1, 2)]),
            &[("POD_NAME", "p")]
        ),
        chown_script(&[("/fixup/data", 1, 2)])
    );
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
        chown_script(&[("/fixup/db", 1001, 1001)])
    );
    let cr = doc(&d, "Prometheus", "k");
    assert_eq!(
        container(&cr["spec"], "initContainers", "fixup-chown")["command"][2],
        chown_script(&[("/fixup/prometheus-k-db", 1000, 2000)])
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
    assert_eq!(
        c["command"][2],
        chown_script(&[("/fixup/storage", 10001, 10001)])
    );
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
        chown_script(&[("/fixup/data", 1000, 1000)])
    );
    assert_idempotent(&out, P, &[]);
}

#[test]
fn volume_written_by_two_uids_goes_to_the_pods_user_not_the_sidecars() {
    // A backup CronJob: the pod runs as 1001, its uploader as 2002, both write one NFS export.
    // One owner cannot suit both: the pod's runAsUser decides (not whichever container is listed
    // last), and a warning names the other.
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
        chown_script(&[("/fixup/backup", 1001, 1001)])
    );
    let w = messages(&out, Level::Warning, "CronJob web/backup");
    assert!(
        w.iter().any(|m| m.contains("uploader (2002:1001)")
            && m.contains("chowning to 1001:1001 (the pod's runAsUser)")),
        "{w:?}"
    );
    // With no pod uid, the main container (named like the workload) decides over a sidecar
    // listed after it.
    let no_pod_uid = input
        .replace("          securityContext: {runAsUser: 1001, fsGroup: 1001}\n", "")
        .replace(
            "            - name: backup\n              image: alpine:3.20\n",
            "            - name: backup\n              image: alpine:3.20\n              securityContext: {runAsUser: 3003}\n",
        );
    let out = run(&no_pod_uid, P, &[]);
    let d = docs(&out.stream);
    let p = &doc(&d, "CronJob", "backup")["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(
        container(p, "initContainers", "fixup-chown")["command"][2],
        chown_script(&[("/fixup/backup", 3003, 3003)])
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
        chown_script(&[("/fixup/data", 1001, 1001)])
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

/// A Deployment writing an NFS export as `uid`:`uid`: the shape of issue 11, item 7.
fn nfs_pod(uid: u32) -> String {
    format!(
        "---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: backup
  namespace: web
spec:
  template:
    spec:
      securityContext: {{runAsUser: {uid}, fsGroup: {uid}}}
      containers:
        - name: backup
          image: docker.io/library/alpine:3.20
          volumeMounts:
            - {{name: backup, mountPath: /backup}}
      volumes:
        - name: backup
          nfs: {{server: nfs.example.com, path: /exports/backup}}
"
    )
}

/// A tree standing in for the export, owned by a non-root uid (chowned to 4242 first when the
/// tests run as root, since a root-owned pod is not chowned at all), with `files` extra files.
/// Returns the directory and its owner.
fn export_tree(files: usize) -> (tempfile::TempDir, u32) {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("export");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("a"), "").unwrap();
    std::fs::write(dir.join("sub/b"), "").unwrap();
    for i in 0..files {
        std::fs::write(dir.join(format!("f{i}")), "").unwrap();
    }
    let mut owner = std::fs::metadata(&dir).unwrap().uid();
    if owner == 0 {
        owner = 4242;
        let mut stack = vec![dir.clone()];
        while let Some(p) = stack.pop() {
            std::os::unix::fs::lchown(&p, Some(owner), Some(owner)).unwrap();
            if p.is_dir() {
                stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            }
        }
    }
    assert_eq!(std::fs::metadata(dir.join("sub/b")).unwrap().gid(), owner);
    (tmp, owner)
}

/// A `chown` that fails as on an export with root_squash: every path EPERM, exit 1.
const EPERM_CHOWN: &str = "#!/bin/sh
while [ $# -gt 0 ]; do case $1 in -*) shift ;; *) break ;; esac; done
shift
for p; do echo \"chown: $p: Operation not permitted\" >&2; done
exit 1
";

/// A `chown` that works: it records its arguments in `$CHOWN_LOG` and exits 0.
const RECORDING_CHOWN: &str = "#!/bin/sh
echo \"$@\" >> \"$CHOWN_LOG\"
";

/// The generated `fixup-chown` script for `nfs_pod(uid)`, aimed at `dir` instead of the mount.
fn nfs_script(uid: u32, dir: &std::path::Path) -> String {
    let out = run(&nfs_pod(uid), P, &[]);
    let d = docs(&out.stream);
    let c = container(
        pod(doc(&d, "Deployment", "backup")),
        "initContainers",
        "fixup-chown",
    );
    let script = c["command"][2].as_str().unwrap();
    assert!(script.contains("'/fixup/backup'"), "{script}");
    script.replace("/fixup/backup", dir.to_str().unwrap())
}

/// Run `script` with `shell -c` and a fake `chown` written to `bin`, first on PATH (`find` and
/// `sed` are the system's). Returns the exit code and stdout + stderr.
fn run_script(
    shell: &std::path::Path,
    script: &str,
    chown: &str,
    bin: &std::path::Path,
    log: &std::path::Path,
) -> (Option<i32>, String) {
    use std::os::unix::fs::PermissionsExt;
    let fake = bin.join("chown");
    std::fs::write(&fake, chown).unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new(shell)
        .arg("-c")
        .arg(script)
        .env("PATH", path)
        .env("CHOWN_LOG", log)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn assert_reports_refusals(code: Option<i32>, text: &str, dir: &std::path::Path, uid: u32) {
    let dir = dir.display();
    assert_eq!(code, Some(0), "the pod must start:\n{text}");
    assert!(
        text.contains(&format!(
            "fixup-chown: could not give every entry of {dir} to {uid}:{uid}:"
        )),
        "{text}"
    );
    for p in [format!("{dir}/sub/b"), format!("{dir}/a"), dir.to_string()] {
        assert!(
            text.contains(&format!("chown: {p}: Operation not permitted")),
            "{p} not named:\n{text}"
        );
    }
    assert!(text.contains("find exited with status 1"), "{text}");
    assert!(
        text.contains("root_squash")
            && text.contains("no_root_squash")
            && text.contains("shared-uid.uid="),
        "the hint names the fixes:\n{text}"
    );
}

#[test]
fn init_chown_survives_root_squash_nfs() {
    // chown refused (EPERM) must not fail the init container: it exits 0 and logs the paths.
    let (tmp, owner) = export_tree(0);
    let dir = tmp.path().join("export");
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let script = nfs_script(owner + 1, &dir);
    let log = tmp.path().join("log");
    let (code, text) = run_script(
        std::path::Path::new("/bin/sh"),
        &script,
        EPERM_CHOWN,
        &bin,
        &log,
    );
    assert_reports_refusals(code, &text, &dir, owner + 1);
}

#[test]
fn init_chown_survives_root_squash_nfs_under_busybox() {
    // The default image is busybox: its sh, find and sed must do the same. Runs where a busybox
    // binary is on PATH (Debian's `busybox` package); says so and passes where none is.
    let Some(busybox) = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("busybox"))
            .find(|b| b.is_file())
    }) else {
        // CI installs busybox (.ci/run): there a missing one is a failure, not a skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "busybox is missing on PATH (CI is set)"
        );
        eprintln!("no busybox on PATH: busybox run skipped");
        return;
    };
    let (tmp, owner) = export_tree(0);
    let dir = tmp.path().join("export");
    // sh, find and sed from busybox and the fake chown, nothing else on PATH.
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for applet in ["sh", "find", "sed"] {
        std::os::unix::fs::symlink(&busybox, bin.join(applet)).unwrap();
    }
    let script = nfs_script(owner + 1, &dir);
    let chown = EPERM_CHOWN.replace("#!/bin/sh", &format!("#!{}", bin.join("sh").display()));
    let log = tmp.path().join("log");
    use std::os::unix::fs::PermissionsExt;
    let fake = bin.join("chown");
    std::fs::write(&fake, chown).unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new(bin.join("sh"))
        .arg("-c")
        .arg(&script)
        .env("PATH", &bin)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_reports_refusals(out.status.code(), &text, &dir, owner + 1);
    assert!(!log.exists());
}

#[test]
fn root_squash_log_is_bounded() {
    // Every entry of a large export is refused: the log shows the first 20 and says there are
    // more, instead of one line per file at every start.
    let (tmp, owner) = export_tree(40);
    let dir = tmp.path().join("export");
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let script = nfs_script(owner + 1, &dir);
    let (code, text) = run_script(
        std::path::Path::new("/bin/sh"),
        &script,
        EPERM_CHOWN,
        &bin,
        &tmp.path().join("log"),
    );
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        text.matches("Operation not permitted").count(),
        20,
        "{text}"
    );
    assert!(text.contains("(more not shown)"), "{text}");
}

#[test]
fn init_chown_is_quiet_when_chown_works() {
    let (tmp, owner) = export_tree(0);
    let dir = tmp.path().join("export");
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = tmp.path().join("log");
    let script = nfs_script(owner + 1, &dir);
    let (code, text) = run_script(
        std::path::Path::new("/bin/sh"),
        &script,
        RECORDING_CHOWN,
        &bin,
        &log,
    );
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(text, "", "nothing to report");
    let calls = std::fs::read_to_string(&log).unwrap();
    let d = dir.display();
    // One chown for the four entries, none left out.
    assert_eq!(calls.lines().count(), 1, "{calls}");
    for p in [format!("{d}/sub/b"), format!("{d}/sub"), format!("{d}/a")] {
        assert!(calls.contains(&p), "{p}: {calls}");
    }
    assert!(
        calls.starts_with(&format!("-h {u}:{u} ", u = owner + 1)),
        "{calls}"
    );
}

#[test]
fn init_chown_is_quiet_and_changes_nothing_when_everything_is_owned() {
    // The restart case: a tree already owned is walked once and nothing runs chown.
    let (tmp, owner) = export_tree(3);
    let dir = tmp.path().join("export");
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = tmp.path().join("log");
    let script = nfs_script(owner, &dir);
    for chown in [RECORDING_CHOWN, EPERM_CHOWN] {
        let (code, text) = run_script(std::path::Path::new("/bin/sh"), &script, chown, &bin, &log);
        assert_eq!(code, Some(0), "{text}");
        assert_eq!(text, "");
        assert!(!log.exists(), "chown ran on an owned tree");
    }
}

#[test]
fn nfs_volume_gets_a_root_squash_note() {
    let out = run(&nfs_pod(1001), P, &[]);
    let object = "Deployment web/backup";
    let notes: Vec<_> = out
        .report
        .messages
        .iter()
        .filter(|m| m.object.as_deref() == Some(object) && m.message.contains("root_squash"))
        .collect();
    assert_eq!(notes.len(), 1, "{:?}", out.report.messages);
    assert_eq!(notes[0].level, Level::Note);
    assert_eq!(notes[0].code, helm_fixup::report::Code::ClusterSetup);
    assert!(
        notes[0]
            .message
            .starts_with("volume backup is NFS: if the export squashes root"),
        "{}",
        notes[0].message
    );
    // A PVC is not known to be NFS: no such note for the hostPath/PVC pods.
    let out = run(HOSTPATH, P, &[]);
    assert!(
        out.report
            .messages
            .iter()
            .all(|m| !m.message.contains("root_squash")),
        "{:?}",
        out.report.messages
    );
}

#[test]
fn default_image_is_fully_qualified_for_cri_o_short_name_enforcement() {
    let out = run(HOSTPATH, P, &[]);
    let d = docs(&out.stream);
    let c = container(
        pod(doc(&d, "Deployment", "prometheus")),
        "initContainers",
        "fixup-chown",
    );
    assert_eq!(c["image"], "docker.io/library/busybox:1.38.0");
    let def = helm_fixup::profile::ProfileDef::builtin("init-chown").unwrap();
    let image = def.params.iter().find(|p| p.name == "image").unwrap();
    assert_eq!(
        image.default.as_deref(),
        Some(helm_fixup::profile::init_chown::DEFAULT_IMAGE),
        "the profile file and the code agree"
    );
}
