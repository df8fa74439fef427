//! End-to-end tests of the `shared-uid` profile, named after the failures they guard (seed 002:
//! thanos-sidecar cannot hard-link the blocks prometheus writes).

use crate::common::*;
use helm_fixup::Error;
use helm_fixup::report::{Code, Level};
use helm_fixup::select::Selector;
use serde_json::json;

/// Seed 002 as the user wrote it: no securityContext at all; the images decide (prometheus
/// nobody, thanos 1001), and both mount the same emptyDir.
const SEED_002: &str = "---
# Source: obs/templates/prometheus-deploy.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: prometheus-deploy
  namespace: prometheus
spec:
  template:
    spec:
      containers:
        - name: prometheus
          image: quay.io/prometheus/prometheus:v2.54.1
          volumeMounts:
            - name: prometheus-config
              mountPath: /etc/prometheus/
            - name: prometheus-data
              mountPath: /prometheus
        - name: thanos
          image: quay.io/thanos/thanos:v0.36.1
          args: [sidecar, \"--tsdb.path=/prometheus\"]
          volumeMounts:
            - name: prometheus-data
              mountPath: /prometheus
      volumes:
        - name: prometheus-config
          configMap:
            name: prometheus-cm
        - emptyDir: {}
          name: prometheus-data
";

const DEPLOY: &str = "Deployment prometheus/prometheus-deploy";

#[test]
fn thanos_sidecar_can_hard_link_blocks() {
    let out = run(SEED_002, &["shared-uid"], &[]);
    let d = docs(&out.stream);
    let p = pod(doc(&d, "Deployment", "prometheus-deploy"));
    assert_eq!(
        p["securityContext"],
        json!({"runAsUser": 65534, "runAsGroup": 65534, "fsGroup": 65534,
               "fsGroupChangePolicy": "OnRootMismatch"})
    );
    for c in ["prometheus", "thanos"] {
        assert_eq!(
            container(p, "containers", c).get("securityContext"),
            None,
            "{c}"
        );
    }
    let notes = messages(&out, Level::Note, DEPLOY);
    assert_eq!(
        notes,
        [
            "containers prometheus, thanos share volume prometheus-data: all now run as 65534:65534 \
          (nobody: no uid was set; choose another with --set shared-uid.uid=UID)"
        ]
    );
    assert!(out.report.more_privileged().is_empty());
    assert_idempotent(&out, &["shared-uid"], &[]);
}

#[test]
fn uid_param_replaces_the_pod_uid_like_the_seed_fix() {
    // The seed's own fix was `runAsUser: 555`; the parameter must win over what the pod says.
    let input = SEED_002.replace(
        "      containers:\n",
        "      securityContext:\n        runAsUser: 1000\n      containers:\n",
    );
    let out = run(&input, &["shared-uid"], &[("shared-uid.uid", "555")]);
    let d = docs(&out.stream);
    let p = pod(doc(&d, "Deployment", "prometheus-deploy"));
    assert_eq!(
        p["securityContext"],
        json!({"runAsUser": 555, "runAsGroup": 555, "fsGroup": 555,
               "fsGroupChangePolicy": "OnRootMismatch"})
    );
}

const SIDECAR_WITH_OWN_UID: &str = "---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: prometheus
  namespace: monitoring
spec:
  template:
    spec:
      securityContext:
        runAsUser: 65534
        runAsNonRoot: true
      containers:
        - name: prometheus
          volumeMounts:
            - name: db
              mountPath: /prometheus
        - name: thanos-sidecar
          securityContext:
            runAsUser: 1001
            runAsGroup: 1001
            allowPrivilegeEscalation: false
          volumeMounts:
            - name: db
              mountPath: /prometheus
  volumeClaimTemplates:
    - metadata:
        name: db
      spec:
        resources:
          requests:
            storage: 1Gi
";

#[test]
fn sidecar_uid_that_differs_is_removed_and_the_rest_of_its_context_kept() {
    let out = run(SIDECAR_WITH_OWN_UID, &["shared-uid"], &[]);
    let d = docs(&out.stream);
    let p = pod(doc(&d, "StatefulSet", "prometheus"));
    assert_eq!(
        p["securityContext"],
        json!({"runAsUser": 65534, "runAsNonRoot": true, "runAsGroup": 65534, "fsGroup": 65534,
               "fsGroupChangePolicy": "OnRootMismatch"})
    );
    assert_eq!(
        container(p, "containers", "thanos-sidecar")["securityContext"],
        json!({"allowPrivilegeEscalation": false})
    );
    let notes = messages(&out, Level::Note, "StatefulSet monitoring/prometheus");
    assert_eq!(
        notes,
        [
            "containers prometheus, thanos-sidecar share volume db: all now run as 65534:65534 (the pod's runAsUser)"
        ]
    );
    assert_idempotent(&out, &["shared-uid"], &[]);
}

#[test]
fn existing_fs_group_and_policy_are_kept() {
    let input = SIDECAR_WITH_OWN_UID.replace(
        "        runAsNonRoot: true\n",
        "        runAsNonRoot: true\n        fsGroup: 2000\n        fsGroupChangePolicy: Always\n",
    );
    let out = run(&input, &["shared-uid"], &[]);
    let d = docs(&out.stream);
    let p = pod(doc(&d, "StatefulSet", "prometheus"));
    assert_eq!(
        p["securityContext"],
        json!({"runAsUser": 65534, "runAsNonRoot": true, "fsGroup": 2000,
               "fsGroupChangePolicy": "Always", "runAsGroup": 2000})
    );
    assert_eq!(
        container(p, "containers", "thanos-sidecar")["securityContext"],
        json!({"allowPrivilegeEscalation": false})
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
      initContainers:
        - name: init-chown-data
          image: busybox:1.38.0
          command: [chown, -R, \"472:472\", /var/lib/grafana]
          securityContext:
            runAsUser: 0
            runAsNonRoot: false
          volumeMounts:
            - name: storage
              mountPath: /var/lib/grafana
        - name: download-dashboards
          securityContext:
            runAsUser: 1000
          volumeMounts:
            - name: storage
              mountPath: /var/lib/grafana
      containers:
        - name: grafana
          securityContext:
            runAsUser: 472
            runAsGroup: 472
          volumeMounts:
            - name: storage
              mountPath: /var/lib/grafana
      volumes:
        - name: storage
          persistentVolumeClaim:
            claimName: grafana
";

#[test]
fn init_container_writing_the_volume_is_part_of_the_sharing() {
    // Only download-dashboards (an init container) and grafana write `storage`: a target.
    let out = run(GRAFANA, &["shared-uid"], &[("shared-uid.uid", "472")]);
    let d = docs(&out.stream);
    let p = pod(doc(&d, "Deployment", "grafana"));
    assert_eq!(
        p["securityContext"],
        json!({"runAsUser": 472, "runAsGroup": 472, "fsGroup": 472,
               "fsGroupChangePolicy": "OnRootMismatch"})
    );
    assert_eq!(
        container(p, "initContainers", "download-dashboards").get("securityContext"),
        None
    );
    assert_eq!(
        container(p, "containers", "grafana")["securityContext"],
        json!({"runAsUser": 472, "runAsGroup": 472}),
        "a container uid equal to the shared one stays"
    );
}

#[test]
fn root_chown_helper_keeps_uid_0_and_is_reported() {
    let out = run(GRAFANA, &["shared-uid"], &[("shared-uid.uid", "472")]);
    let d = docs(&out.stream);
    let p = pod(doc(&d, "Deployment", "grafana"));
    assert_eq!(
        container(p, "initContainers", "init-chown-data")["securityContext"],
        json!({"runAsUser": 0, "runAsNonRoot": false})
    );
    let notes = messages(&out, Level::Note, "Deployment monitoring/grafana");
    assert_eq!(
        notes,
        [
            "containers download-dashboards, grafana share volume storage: all now run as 472:472 (set by shared-uid.uid)",
            "init container init-chown-data runs as root on purpose (a chown helper): kept out of the shared uid",
        ]
    );
}

#[test]
fn uid_defaults_to_the_one_container_uid_when_all_agree() {
    // The main container names the uid; the sidecar runs as its image's user.
    let input = SEED_002.replace(
        "          image: quay.io/prometheus/prometheus:v2.54.1\n",
        "          image: quay.io/prometheus/prometheus:v2.54.1\n          securityContext:\n            runAsUser: 1001\n",
    );
    let out = run(&input, &["shared-uid"], &[]);
    let d = docs(&out.stream);
    let p = pod(doc(&d, "Deployment", "prometheus-deploy"));
    assert_eq!(p["securityContext"]["runAsUser"], 1001);
    assert_eq!(p["securityContext"]["fsGroup"], 1001);
    assert_eq!(
        container(p, "containers", "prometheus")["securityContext"],
        json!({"runAsUser": 1001}),
        "a container uid equal to the shared one stays"
    );
    assert_eq!(
        messages(&out, Level::Note, DEPLOY),
        [
            "containers prometheus, thanos share volume prometheus-data: all now run as 1001:1001 \
          (the runAsUser its containers agree on)"
        ]
    );
}

#[test]
fn sidecar_uid_is_never_taken_over_the_main_containers() {
    // Only the sidecar names a uid: the main container's image user is shared instead.
    let input = SEED_002.replace(
        "          args: [sidecar",
        "          securityContext:\n            runAsUser: 1001\n          args: [sidecar",
    );
    let out = run(&input, &["shared-uid"], &[]);
    let d = docs(&out.stream);
    let p = pod(doc(&d, "Deployment", "prometheus-deploy"));
    assert_eq!(p["securityContext"]["runAsUser"], 65534);
    assert!(
        messages(&out, Level::Note, DEPLOY)[0].contains("(the main container's image user)"),
        "{:?}",
        out.report.messages
    );
    // A main image whose user is unknown: left alone, and the summary says what to set.
    let unknown = input.replace(
        "quay.io/prometheus/prometheus:v2.54.1",
        "example.com/tsdb:1.0",
    );
    let out = run(&unknown, &["shared-uid"], &[]);
    assert_eq!(out.stream, unknown.as_bytes());
    let w = messages(&out, Level::Warning, DEPLOY);
    assert!(
        w.len() == 1
            && w[0].contains("only a sidecar names a uid (1001)")
            && w[0].contains("shared-uid.uid=UID"),
        "{w:?}"
    );
}

/// A log collector: the main container reads `/var/log` from the node as its image's user
/// (root), and a config reloader sidecar names uid 65532; they share an emptyDir.
const LOG_COLLECTOR: &str = "---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: collector
  namespace: logging
spec:
  template:
    spec:
      containers:
        - name: collector
          image: example.com/collector:3.0
          volumeMounts:
            - {name: varlog, mountPath: /var/log, readOnly: true}
            - {name: state, mountPath: /state}
        - name: reloader
          image: example.com/reloader:1.0
          securityContext: {runAsUser: 65532}
          volumeMounts:
            - {name: state, mountPath: /state}
      volumes:
        - name: varlog
          hostPath: {path: /var/log}
        - name: state
          emptyDir: {}
";

#[test]
fn log_collector_reading_node_directories_keeps_root() {
    let out = run(LOG_COLLECTOR, &["shared-uid"], &[]);
    assert_eq!(
        out.stream,
        LOG_COLLECTOR.as_bytes(),
        "the collector lost root"
    );
    let w = messages(&out, Level::Warning, "DaemonSet logging/collector");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("container collector"), "{w:?}");
}

#[test]
fn node_agent_sharing_the_host_pid_namespace_keeps_root() {
    let input = LOG_COLLECTOR
        .replace(
            "          hostPath: {path: /var/log}\n",
            "          emptyDir: {}\n",
        )
        .replace(
            "    spec:\n      containers:",
            "    spec:\n      hostPID: true\n      containers:",
        )
        .replace("          securityContext: {runAsUser: 65532}\n", "");
    let out = run(&input, &["shared-uid"], &[]);
    assert_eq!(out.stream, input.as_bytes());
    let w = messages(&out, Level::Warning, "DaemonSet logging/collector");
    assert!(w.iter().any(|m| m.contains("hostPID")), "{w:?}");
}

#[test]
fn pods_without_a_shared_writable_volume_are_left_alone() {
    let input = "---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: exporter
spec:
  template:
    spec:
      containers:
        - name: exporter
          securityContext:
            runAsUser: 65534
          volumeMounts:
            - {name: cfg, mountPath: /etc/cfg}
            - {name: tmp, mountPath: /tmp}
            - {name: data, mountPath: /data}
        - name: proxy
          securityContext:
            runAsUser: 65532
          volumeMounts:
            - {name: cfg, mountPath: /etc/cfg}
            - {name: data, mountPath: /data, readOnly: true}
      volumes:
        - {name: cfg, configMap: {name: c}}
        - {name: tmp, emptyDir: {}}
        - {name: data, persistentVolumeClaim: {claimName: d}}
";
    let out = run(input, &["shared-uid"], &[]);
    assert_eq!(String::from_utf8_lossy(&out.stream), input);
    assert!(out.report.changed.is_empty() && out.report.messages.is_empty());
}

const PROMETHEUS_CR: &str = "---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: k
  namespace: monitoring
spec:
  thanos:
    image: quay.io/thanos/thanos:v0.36.1
  containers:
    - name: thanos-sidecar
      securityContext:
        runAsUser: 1001
        runAsGroup: 1001
    - name: config-reloader
      securityContext:
        runAsUser: 65534
      resources:
        limits:
          memory: 50Mi
  storage:
    volumeClaimTemplate:
      spec:
        resources:
          requests:
            storage: 20Gi
";

#[test]
fn operator_thanos_sidecar_patch_loses_its_uid_and_the_cr_gets_one() {
    let out = run(PROMETHEUS_CR, &["shared-uid"], &[]);
    let d = docs(&out.stream);
    let cr = doc(&d, "Prometheus", "k");
    assert_eq!(
        cr["spec"]["securityContext"],
        json!({"runAsUser": 65534, "runAsGroup": 65534, "fsGroup": 65534,
               "fsGroupChangePolicy": "OnRootMismatch"})
    );
    assert_eq!(
        cr["spec"]["containers"],
        json!([{"name": "thanos-sidecar"},
               {"name": "config-reloader", "securityContext": {"runAsUser": 65534},
                "resources": {"limits": {"memory": "50Mi"}}}])
    );
    let notes = messages(&out, Level::Note, "Prometheus monitoring/k");
    assert_eq!(
        notes,
        [
            "the operator's containers init-config-reloader, config-reloader, prometheus share volume config-out; \
          prometheus, thanos-sidecar share volume prometheus-k-db: all now run as 65534:65534 \
          (nobody: its containers set different uids; choose one with --set shared-uid.uid=UID)"
        ]
    );
    assert_idempotent(&out, &["shared-uid"], &[]);
}

#[test]
fn kube_prometheus_stack_cr_is_already_shared_and_unchanged() {
    let input = "---
apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata:
  name: a
  namespace: monitoring
spec:
  securityContext:
    fsGroup: 2000
    runAsGroup: 2000
    runAsNonRoot: true
    runAsUser: 1000
";
    let out = run(input, &["shared-uid"], &[]);
    assert_eq!(String::from_utf8_lossy(&out.stream), input);
    assert!(out.report.changed.is_empty());
}

#[test]
fn root_run_and_shared_uid_on_one_pod_is_an_error() {
    for input in [SEED_002, SIDECAR_WITH_OWN_UID, PROMETHEUS_CR] {
        let e = run_err(input, &["root-run", "shared-uid"], &[]);
        let Error::Usage(msg) = &e else {
            panic!("not a usage error: {e:?}")
        };
        assert!(
            msg.starts_with("root-run and shared-uid both change "),
            "{msg}"
        );
        assert!(msg.contains("--skip shared-uid:name="), "{msg}");
    }
    let e = run_err(SEED_002, &["shared-uid", "root-run"], &[]);
    assert_eq!(
        e.to_string(),
        "root-run and shared-uid both change Deployment prometheus/prometheus-deploy: they set different \
         uids, pick one for it (e.g. --skip shared-uid:name=prometheus-deploy)"
    );
}

#[test]
fn root_run_and_shared_uid_on_different_pods_is_fine() {
    let input = format!("{SEED_002}{SIDECAR_WITH_OWN_UID}");
    let mut p = plan(&["root-run", "shared-uid"], &[]);
    let names = ["root-run", "shared-uid"];
    p.only = vec![
        Selector::parse("root-run:kind=StatefulSet", &names).unwrap(),
        Selector::parse("shared-uid:kind=Deployment", &names).unwrap(),
    ];
    let out = helm_fixup::process(input.as_bytes(), &p).unwrap();
    let d = docs(&out.stream);
    assert_eq!(
        pod(doc(&d, "StatefulSet", "prometheus"))["securityContext"]["runAsUser"],
        0
    );
    assert_eq!(
        pod(doc(&d, "Deployment", "prometheus-deploy"))["securityContext"]["runAsUser"],
        65534
    );
}

#[test]
fn sharing_root_uid_is_reported_as_more_privileged() {
    // The pod runs as root and the sidecar asks for 1001: the contract shares the pod's uid, so
    // the sidecar becomes root. That must show up like root-run's changes do.
    let input = SIDECAR_WITH_OWN_UID.replace("runAsUser: 65534", "runAsUser: 0");
    let out = run(&input, &["shared-uid"], &[]);
    let d = docs(&out.stream);
    let p = pod(doc(&d, "StatefulSet", "prometheus"));
    assert_eq!(p["securityContext"]["runAsUser"], 0);
    assert!(
        container(p, "containers", "thanos-sidecar")["securityContext"]
            .get("runAsUser")
            .is_none()
    );
    let object = "StatefulSet monitoring/prometheus";
    assert!(
        out.report
            .changed
            .iter()
            .all(|r| r.object != object || r.more_privileged)
    );
    assert_eq!(out.report.more_privileged(), [object]);
    let warnings = messages(&out, Level::Warning, object);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("thanos-sidecar now runs as root")
            && warnings[0].contains("shared-uid.uid=UID"),
        "{warnings:?}"
    );
    assert!(
        out.report
            .text()
            .contains("more privileged than the chart asked: StatefulSet monitoring/prometheus")
    );
    assert_idempotent(&out, &["shared-uid"], &[]);
    // A non-root uid of the user's choice: nothing becomes root, nothing is flagged.
    let out = run(&input, &["shared-uid"], &[("shared-uid.uid", "1001")]);
    let d = docs(&out.stream);
    assert_eq!(
        pod(doc(&d, "StatefulSet", "prometheus"))["securityContext"]["runAsUser"],
        1001
    );
    assert!(out.report.more_privileged().is_empty());
}

#[test]
fn root_run_under_another_profile_name_still_conflicts() {
    use helm_fixup::profile::{Params, ProfileDef};
    let def = ProfileDef::parse(
        "name: my-root\nfix: root-run\ndescription: root for the lab\n",
        "my-root.yaml",
    )
    .unwrap();
    let params = Params::new(&def, &Default::default()).unwrap();
    let mut p = plan(&["shared-uid"], &[]);
    p.profiles.push((def, params));
    let e = helm_fixup::process(SEED_002.as_bytes(), &p).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "root-run and shared-uid both change Deployment prometheus/prometheus-deploy"
        ),
        "{e}"
    );
}

/// A minio-style post-install Job: two `mc` containers of one image, no uid anywhere, sharing a
/// writable emptyDir for mc's config (the shape of issue 11, item 10; written for this test).
const ONE_IMAGE_JOB: &str = "---
apiVersion: batch/v1
kind: Job
metadata:
  name: minio-post-job
  namespace: storage
spec:
  template:
    spec:
      restartPolicy: OnFailure
      containers:
        - name: minio-make-bucket
          image: quay.io/minio/mc:RELEASE.2024-11-21T17-21-54Z
          command: [/bin/sh, /config/initialize]
          volumeMounts:
            - {name: minio-configuration, mountPath: /config}
            - {name: etc-path, mountPath: /etc/minio/mc}
        - name: minio-make-user
          image: quay.io/minio/mc:RELEASE.2024-11-21T17-21-54Z
          command: [/bin/sh, /config/add-user]
          volumeMounts:
            - {name: minio-configuration, mountPath: /config}
            - {name: etc-path, mountPath: /etc/minio/mc}
      volumes:
        - name: minio-configuration
          projected:
            sources:
              - configMap: {name: minio}
        - name: etc-path
          emptyDir: {}
";

#[test]
fn shared_uid_leaves_two_containers_of_one_image_alone() {
    // Both run as the image's USER already: forcing 65534 on them could only break them.
    let out = run(ONE_IMAGE_JOB, &["shared-uid"], &[]);
    assert_eq!(String::from_utf8_lossy(&out.stream), ONE_IMAGE_JOB);
    assert!(out.report.changed.is_empty(), "{:?}", out.report.changed);
    let object = "Job storage/minio-post-job";
    assert_eq!(
        messages(&out, Level::Note, object),
        [
            "containers minio-make-bucket, minio-make-user share volume etc-path: all run image \
          quay.io/minio/mc:RELEASE.2024-11-21T17-21-54Z and no runAsUser is set, so all run as that image's \
          user already; left alone (--set shared-uid.uid=UID gives them one uid anyway)"
        ]
    );
    let note = out
        .report
        .messages
        .iter()
        .find(|m| m.object.as_deref() == Some(object))
        .unwrap();
    assert_eq!(note.code, Code::LeftAlone);
}

#[test]
fn shared_uid_explicit_uid_still_applies_to_one_image_pod() {
    let out = run(
        ONE_IMAGE_JOB,
        &["shared-uid"],
        &[("shared-uid.uid", "1000")],
    );
    let d = docs(&out.stream);
    assert_eq!(
        pod(doc(&d, "Job", "minio-post-job"))["securityContext"],
        json!({"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
               "fsGroupChangePolicy": "OnRootMismatch"})
    );
    assert_eq!(
        messages(&out, Level::Note, "Job storage/minio-post-job"),
        [
            "containers minio-make-bucket, minio-make-user share volume etc-path: all now run as 1000:1000 \
          (set by shared-uid.uid)"
        ]
    );
    assert_idempotent(&out, &["shared-uid"], &[("shared-uid.uid", "1000")]);
}

#[test]
fn one_image_pod_with_a_uid_on_one_container_is_still_shared() {
    // One container names a uid, the other runs as the image's USER: they may differ.
    let input = ONE_IMAGE_JOB.replacen(
        "          command: [/bin/sh, /config/add-user]\n",
        "          command: [/bin/sh, /config/add-user]\n          securityContext: {runAsUser: 1001}\n",
        1,
    );
    let out = run(&input, &["shared-uid"], &[]);
    let d = docs(&out.stream);
    assert_eq!(
        pod(doc(&d, "Job", "minio-post-job"))["securityContext"]["runAsUser"],
        1001
    );
    // Two images, no uid: the images' users may differ (seed 002), so the rule is unchanged.
    let input = ONE_IMAGE_JOB.replacen(
        "quay.io/minio/mc:RELEASE.2024-11-21T17-21-54Z",
        "quay.io/minio/mc:RELEASE.2025-01-01T00-00-00Z",
        1,
    );
    let out = run(&input, &["shared-uid"], &[]);
    let d = docs(&out.stream);
    assert_eq!(
        pod(doc(&d, "Job", "minio-post-job"))["securityContext"]["runAsUser"],
        65534
    );
}

#[test]
fn containers_that_already_run_as_one_uid_keep_it_and_get_its_group() {
    // The pod's uid and a container's equal uid: that uid stays everyone's, and the pod gets the
    // group and fsGroup that go with it, so the kubelet gives the volume that group.
    let input = SIDECAR_WITH_OWN_UID
        .replace("runAsUser: 1001", "runAsUser: 65534")
        .replace("            runAsGroup: 1001\n", "");
    let out = run(&input, &["shared-uid"], &[]);
    let d = docs(&out.stream);
    let p = pod(doc(&d, "StatefulSet", "prometheus"));
    assert_eq!(p["securityContext"]["runAsUser"], 65534);
    assert_eq!(p["securityContext"]["runAsGroup"], 65534);
    assert_eq!(p["securityContext"]["fsGroup"], 65534);
    assert_eq!(
        container(p, "containers", "thanos-sidecar")["securityContext"]["runAsUser"],
        65534
    );
    // Two explicit groups that differ: not one user for the files, the rule applies as before.
    let split = input.replace(
        "        runAsNonRoot: true\n",
        "        runAsNonRoot: true\n        runAsGroup: 3000\n",
    );
    let split = split.replace(
        "            allowPrivilegeEscalation: false\n",
        "            runAsGroup: 4000\n            allowPrivilegeEscalation: false\n",
    );
    let out = run(&split, &["shared-uid"], &[]);
    let d = docs(&out.stream);
    let p = pod(doc(&d, "StatefulSet", "prometheus"));
    assert_eq!(p["securityContext"]["runAsGroup"], 3000);
    assert_eq!(
        container(p, "containers", "thanos-sidecar")["securityContext"],
        json!({"runAsUser": 65534, "allowPrivilegeEscalation": false})
    );
}

#[test]
fn operator_cr_without_uids_keeps_getting_one() {
    // The operator, not the CR, decides what its generated containers run as: the one-image rule
    // is for plain pods only, and a CR naming no uid still gets the shared one.
    let input = "---
apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata:
  name: a
  namespace: monitoring
spec:
  replicas: 1
";
    let out = run(input, &["shared-uid"], &[]);
    let d = docs(&out.stream);
    assert_eq!(
        doc(&d, "Alertmanager", "a")["spec"]["securityContext"]["runAsUser"],
        65534
    );
}

#[test]
fn sharing_root_uid_in_a_restricted_namespace_gets_a_pod_security_warning() {
    // Pod Security "restricted" rejects uid 0: the pod shared-uid makes root would not be admitted.
    let input = format!(
        "---
apiVersion: v1
kind: Namespace
metadata:
  name: monitoring
  labels:
    pod-security.kubernetes.io/enforce: restricted
{}",
        SIDECAR_WITH_OWN_UID.replace("runAsUser: 65534", "runAsUser: 0")
    );
    let out = run(&input, &["shared-uid"], &[]);
    let object = "StatefulSet monitoring/prometheus";
    let warnings: Vec<_> = out
        .report
        .messages
        .iter()
        .filter(|m| m.level == Level::Warning && m.object.as_deref() == Some(object))
        .map(|m| (m.code, m.message.as_str()))
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert_eq!(warnings[0].0, Code::MorePrivileged);
    assert_eq!(warnings[1].0, Code::PodSecurity);
    assert!(
        warnings[1].1.contains("Pod Security \"restricted\""),
        "{warnings:?}"
    );
    // A non-root uid of the user's choice: nothing becomes root, and the one warning says whose
    // root the choice took.
    let out = run(&input, &["shared-uid"], &[("shared-uid.uid", "1001")]);
    let w: Vec<&str> = out
        .report
        .messages
        .iter()
        .filter(|m| m.level == Level::Warning)
        .map(|m| m.message.as_str())
        .collect();
    assert_eq!(
        w,
        [
            "container prometheus runs as root (runAsUser 0): it now runs as uid 1001, as shared-uid.uid asks"
        ]
    );
}

/// `runAsUser: 1000.0` (or `1e3`) is the integer 1000 to Kubernetes (sigs.k8s.io/yaml keeps it a
/// float64 and Go's JSON writes it as `1000`). Read as absent, the pod got the sidecar's uid and
/// prometheus lost access to its own files.
#[test]
fn float_run_as_user_is_the_pods_uid() {
    for uid in ["1000.0", "1e3"] {
        let input = SEED_002
            .replace(
                "    spec:\n      containers:\n",
                &format!("    spec:\n      securityContext:\n        runAsUser: {uid}\n      containers:\n"),
            )
            .replace(
                "          args: [sidecar",
                "          securityContext: {runAsUser: 1001}\n          args: [sidecar",
            );
        let out = run(&input, &["shared-uid"], &[]);
        let d = docs(&out.stream);
        let p = pod(doc(&d, "Deployment", "prometheus-deploy"));
        assert_eq!(
            p["securityContext"]["runAsUser"].as_f64(),
            Some(1000.0),
            "{uid}"
        );
        assert_eq!(p["securityContext"]["runAsGroup"], 1000, "{uid}");
        // The sidecar runs as the pod's uid now, not the other way round.
        assert!(
            container(p, "containers", "thanos")
                .get("securityContext")
                .is_none(),
            "{uid}: {p}"
        );
        assert_eq!(out.report.warnings(), 0, "{:?}", out.report.messages);
        let text = String::from_utf8(out.stream.clone()).unwrap();
        assert!(text.contains(&format!("runAsUser: {uid}\n")), "{text}");
        assert_idempotent(&out, &["shared-uid"], &[]);
    }
}

/// A uid Kubernetes refuses (`1000.5`, `"1000"`) cannot be the pod's uid, and reading it as
/// unset without a word left the user guessing why the pod got another one.
#[test]
fn run_as_user_kubernetes_refuses_gets_an_input_warning() {
    let input = SEED_002.replace(
        "    spec:\n      containers:\n",
        "    spec:\n      securityContext:\n        runAsUser: 1000.5\n      containers:\n",
    );
    let out = run(&input, &["shared-uid"], &[]);
    let w: Vec<&helm_fixup::report::Message> = out
        .report
        .messages
        .iter()
        .filter(|m| m.code == Code::Input)
        .collect();
    assert_eq!(w.len(), 1, "{:?}", out.report.messages);
    assert_eq!(w[0].level, Level::Warning);
    assert_eq!(w[0].object.as_deref(), Some(DEPLOY));
    assert!(
        w[0].message.starts_with(
            "spec.template.spec.securityContext.runAsUser is 1000.5, which Kubernetes refuses"
        ),
        "{}",
        w[0].message
    );
}

/// kube-prometheus-stack's default Prometheus already runs every container as 1000 with fsGroup
/// 2000. `diagnose --error` on the config_out line proposes shared-uid first: run on that pod it
/// must say it has nothing to change and name the fix that does, not leave the user looping.
#[test]
fn config_reloader_story_does_not_loop_back_to_shared_uid() {
    let input = "---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: kps-prometheus
  namespace: monitoring
spec:
  securityContext:
    runAsUser: 1000
    runAsGroup: 2000
    runAsNonRoot: true
    fsGroup: 2000
    seccompProfile: {type: RuntimeDefault}
";
    let first = helm_fixup::diagnose::from_error(
        "open /etc/prometheus/config_out/prometheus.env.yaml.tmp: permission denied",
    );
    assert_eq!(first[0].failure.fixes[0].args, ["-p", "shared-uid"]);
    let out = run(input, &["shared-uid"], &[]);
    assert_eq!(out.stream, input.as_bytes());
    let notes = messages(&out, Level::Note, "Prometheus monitoring/kps-prometheus");
    assert!(
        notes.len() == 1
            && notes[0].contains("all run as uid 1000 already")
            && notes[0].contains("root-run is the fix"),
        "{notes:?}"
    );
    // And root-run, the fix it names, does not send the user back.
    let out = run(input, &["root-run"], &[]);
    assert!(
        out.report
            .messages
            .iter()
            .all(|m| !m.message.contains("shared-uid instead")
                && !m.message.contains("init-chown or shared-uid")),
        "{:?}",
        out.report.messages
    );
}
