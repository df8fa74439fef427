//! Operators beyond prometheus-operator: the VictoriaMetrics operator's and the Altinity
//! ClickHouse operator's resources, whose claims the operators create. Each test is named after
//! what was invisible before: no volume from local-pv, nothing from diagnose.

use serde_json::Value;
use std::collections::BTreeSet;

use crate::common::{docs, run};

/// A VictoriaMetrics stack as a chart renders it: the operator's resources with storage.
const VM_STACK: &str = "---
apiVersion: operator.victoriametrics.com/v1beta1
kind: VMSingle
metadata:
  name: vm
  namespace: monitoring
spec:
  retentionPeriod: \"14d\"
  storage:
    accessModes: [ReadWriteOnce]
    resources:
      requests:
        storage: 20Gi
---
apiVersion: operator.victoriametrics.com/v1beta1
kind: VMAgent
metadata:
  name: vm
  namespace: monitoring
spec:
  statefulMode: true
  replicaCount: 2
  statefulStorage:
    volumeClaimTemplate:
      spec:
        resources:
          requests:
            storage: 5Gi
---
apiVersion: operator.victoriametrics.com/v1beta1
kind: VMAlertmanager
metadata:
  name: vm
  namespace: monitoring
spec:
  replicaCount: 2
  affinity:
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        - topologyKey: kubernetes.io/hostname
          labelSelector: {matchLabels: {app.kubernetes.io/name: vmalertmanager}}
  storage:
    volumeClaimTemplate:
      spec:
        resources:
          requests:
            storage: 1Gi
---
apiVersion: operator.victoriametrics.com/v1beta1
kind: VMCluster
metadata:
  name: vm
  namespace: monitoring
spec:
  vmstorage:
    replicaCount: 3
    storage:
      volumeClaimTemplate:
        spec:
          resources:
            requests:
              storage: 50Gi
  vminsert:
    replicaCount: 2
";

/// What signoz renders for ClickHouse: one cluster of two shards, a data claim template.
const CLICKHOUSE: &str = "---
apiVersion: clickhouse.altinity.com/v1
kind: ClickHouseInstallation
metadata:
  name: obs-clickhouse
  namespace: obs
spec:
  defaults:
    templates:
      dataVolumeClaimTemplate: data
  configuration:
    clusters:
      - name: cluster
        templates:
          podTemplate: pod
        layout:
          shardsCount: 2
          replicasCount: 1
  templates:
    podTemplates:
      - name: pod
        spec:
          securityContext: {runAsUser: 101, runAsGroup: 101, fsGroup: 101}
          containers:
            - name: clickhouse
              image: clickhouse/clickhouse-server:24.1.2-alpine
              volumeMounts:
                - {name: data, mountPath: /var/lib/clickhouse}
    volumeClaimTemplates:
      - name: data
        spec:
          accessModes: [ReadWriteOnce]
          resources:
            requests:
              storage: 20Gi
";

fn pv_claims(out: &[u8]) -> BTreeSet<String> {
    docs(out)
        .iter()
        .filter(|d| d["kind"] == "PersistentVolume")
        .map(|pv| pv["spec"]["claimRef"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn victoriametrics_resources_get_volumes_named_as_the_operator_names_their_claims() {
    let out = run(VM_STACK, &["local-pv"], &[("local-pv.nodes", "a,b,c")]);
    let want: BTreeSet<String> = [
        "vmsingle-vm",
        "persistent-queue-data-vmagent-vm-0",
        "persistent-queue-data-vmagent-vm-1",
        "vmalertmanager-vm-db-vmalertmanager-vm-0",
        "vmalertmanager-vm-db-vmalertmanager-vm-1",
        "vmstorage-db-vmstorage-vm-0",
        "vmstorage-db-vmstorage-vm-1",
        "vmstorage-db-vmstorage-vm-2",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    assert_eq!(pv_claims(&out.stream), want);
    // The class goes where the operator reads the claim spec.
    let d = docs(&out.stream);
    let of = |kind: &str| d.iter().find(|v| v["kind"] == kind).unwrap();
    assert_eq!(
        of("VMSingle")["spec"]["storage"]["storageClassName"],
        "local-storage"
    );
    assert_eq!(
        of("VMCluster")["spec"]["vmstorage"]["storage"]["volumeClaimTemplate"]["spec"]["storageClassName"],
        "local-storage"
    );
    // vmstorage's three replicas, and the alertmanager's two (required anti-affinity), are apart.
    let node = |claim: &str| -> String {
        d.iter()
            .find(|v| v["kind"] == "PersistentVolume" && v["spec"]["claimRef"]["name"] == claim)
            .and_then(|pv| {
                pv.pointer(
                    "/spec/nodeAffinity/required/nodeSelectorTerms/0/matchExpressions/0/values/0",
                )
                .and_then(Value::as_str)
                .map(str::to_string)
            })
            .unwrap()
    };
    let storage: BTreeSet<String> = (0..3)
        .map(|i| node(&format!("vmstorage-db-vmstorage-vm-{i}")))
        .collect();
    assert_eq!(storage.len(), 3);
    assert_ne!(
        node("vmalertmanager-vm-db-vmalertmanager-vm-0"),
        node("vmalertmanager-vm-db-vmalertmanager-vm-1")
    );
}

#[test]
fn clickhouse_installation_hosts_get_volumes_named_as_the_operator_names_their_claims() {
    let out = run(CLICKHOUSE, &["local-pv"], &[("local-pv.nodes", "a,b")]);
    assert_eq!(
        pv_claims(&out.stream),
        [
            "data-chi-obs-clickhouse-cluster-0-0-0",
            "data-chi-obs-clickhouse-cluster-1-0-0"
        ]
        .into_iter()
        .map(str::to_string)
        .collect()
    );
    let d = docs(&out.stream);
    let chi = d
        .iter()
        .find(|v| v["kind"] == "ClickHouseInstallation")
        .unwrap();
    assert_eq!(
        chi["spec"]["templates"]["volumeClaimTemplates"][0]["spec"]["storageClassName"],
        "local-storage"
    );
    // The directories are prepared for the pod template's uid.
    let prep: Vec<&String> = out
        .report
        .node_preparation
        .iter()
        .flat_map(|n| &n.commands)
        .collect();
    assert_eq!(prep.len(), 2, "{prep:?}");
    assert!(prep.iter().all(|c| c.contains("chown 101:101")), "{prep:?}");
}

#[test]
fn diagnose_names_each_operator_resource_with_storage() {
    let o = crate::support::Run::new()
        .args(["diagnose", "--format", "json"])
        .stdin(format!("{VM_STACK}{CLICKHOUSE}"))
        .run();
    assert_eq!(o.code, Some(4), "{}", o.stderr);
    let json: Value = serde_json::from_str(o.stdout_text()).unwrap();
    let named: BTreeSet<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["failure"] == "unbound-claim")
        .map(|f| f["object"].as_str().unwrap())
        .collect();
    for object in [
        "VMSingle monitoring/vm",
        "VMAgent monitoring/vm",
        "VMAlertmanager monitoring/vm",
        "VMCluster monitoring/vm",
        "ClickHouseInstallation obs/obs-clickhouse",
    ] {
        assert!(named.contains(object), "{object} not in {named:?}");
    }
}

#[test]
fn init_chown_reaches_into_victoriametrics_resources() {
    // A VMSingle and a VMAlertmanager whose pods run as 1000: the volumes the operator mounts
    // (`data`, the alertmanager's claim template with its subPath) are chowned by a helper in
    // spec.initContainers, which the operator adds to the pods it makes.
    let input = VM_STACK
        .replace(
            "  retentionPeriod: \"14d\"\n",
            "  retentionPeriod: \"14d\"\n  securityContext: {runAsUser: 1000, fsGroup: 2000}\n",
        )
        .replace(
            "  replicaCount: 2\n  affinity:",
            "  replicaCount: 2\n  useStrictSecurity: true\n  affinity:",
        );
    let out = run(&input, &["init-chown"], &[]);
    let d = docs(&out.stream);
    let of = |kind: &str| d.iter().find(|v| v["kind"] == kind).unwrap();
    let helper = |kind: &str| -> Value {
        of(kind)["spec"]["initContainers"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["name"] == "fixup-chown"))
            .cloned()
            .unwrap_or_else(|| panic!("{kind}: no fixup-chown in {}", of(kind)))
    };
    let single = helper("VMSingle");
    assert_eq!(single["volumeMounts"][0]["name"], "data");
    assert!(single["command"][2].as_str().unwrap().contains("1000:2000"));
    let am = helper("VMAlertmanager");
    assert_eq!(am["volumeMounts"][0]["name"], "vmalertmanager-vm-db");
    assert_eq!(am["volumeMounts"][0]["subPath"], "alertmanager-db");
    assert!(am["command"][2].as_str().unwrap().contains("65534:65534"));
    // No uid to give the volume: said, nothing added.
    assert!(of("VMAgent")["spec"].get("initContainers").is_none());
    assert!(
        out.report
            .messages
            .iter()
            .any(|m| m.object.as_deref() == Some("VMAgent monitoring/vm")
                && m.message.contains("no runAsUser")),
        "{:?}",
        out.report.messages
    );
}

/// A VMCluster whose vmstorage pods run as 1000 and carry a backup sidecar (uid 3000) that
/// writes the storage volume; vminsert has no storage.
const VM_CLUSTER_WITH_SIDECAR: &str = "---
apiVersion: operator.victoriametrics.com/v1beta1
kind: VMCluster
metadata:
  name: vm
  namespace: monitoring
spec:
  vmstorage:
    replicaCount: 2
    image: {repository: victoriametrics/vmstorage, tag: v1.102.0-cluster}
    securityContext: {runAsUser: 1000, fsGroup: 2000}
    containers:
      - name: backup
        image: example.com/backup:1.0
        securityContext: {runAsUser: 3000}
        volumeMounts:
          - {name: vmstorage-db, mountPath: /backup}
    storage:
      volumeClaimTemplate:
        spec:
          resources:
            requests:
              storage: 50Gi
  vminsert:
    replicaCount: 2
";

fn vmstorage(out: &[u8]) -> Value {
    docs(out)[0]["spec"]["vmstorage"].clone()
}

#[test]
fn vmcluster_components_were_invisible_to_the_pod_fixes() {
    // init-chown: the helper goes into the component that mounts the claim, owned by its user.
    let out = run(VM_CLUSTER_WITH_SIDECAR, &["init-chown"], &[]);
    let s = vmstorage(&out.stream);
    let helper = &s["initContainers"][0];
    assert_eq!(helper["name"], "fixup-chown", "{s}");
    assert_eq!(helper["volumeMounts"][0]["name"], "vmstorage-db");
    assert!(helper["command"][2].as_str().unwrap().contains("1000:2000"));
    assert!(
        docs(&out.stream)[0]["spec"]["vminsert"]
            .get("initContainers")
            .is_none()
    );
    assert_eq!(
        out.report.more_privileged(),
        vec!["VMCluster monitoring/vm"]
    );
    // shared-uid: the generated vmstorage container and the sidecar write the volume.
    let out = run(VM_CLUSTER_WITH_SIDECAR, &["shared-uid"], &[]);
    let s = vmstorage(&out.stream);
    assert!(s["containers"][0].get("securityContext").is_none(), "{s}");
    assert_eq!(s["securityContext"]["runAsUser"], 1000);
    assert!(
        out.report.messages.iter().any(|m| m.object.as_deref()
            == Some("VMCluster monitoring/vm (vmstorage)")
            && m.message
                .contains("vmstorage, backup share volume vmstorage-db")),
        "{:?}",
        out.report.messages
    );
    // root-run: the component with storage is changed, the one without is named as left.
    let out = run(VM_CLUSTER_WITH_SIDECAR, &["root-run"], &[]);
    let d = docs(&out.stream);
    assert_eq!(d[0]["spec"]["vmstorage"]["securityContext"]["runAsUser"], 0);
    assert!(d[0]["spec"]["vminsert"].get("securityContext").is_none());
}

#[test]
fn clickhouse_pod_template_volume_is_chowned_to_the_clickhouse_user() {
    let input = CLICKHOUSE.replace(
        "          securityContext: {runAsUser: 101, runAsGroup: 101, fsGroup: 101}\n",
        "          securityContext: {runAsUser: 101, runAsGroup: 101, fsGroup: 101}\n          \
         initContainers: []\n",
    );
    let out = run(&input, &["init-chown"], &[]);
    let d = docs(&out.stream);
    let t = &d[0]["spec"]["templates"]["podTemplates"][0]["spec"];
    let helper = &t["initContainers"][0];
    assert_eq!(helper["name"], "fixup-chown", "{t}");
    assert_eq!(helper["volumeMounts"][0]["name"], "data");
    assert!(helper["command"][2].as_str().unwrap().contains("101:101"));
}

#[test]
fn victoriametrics_image_repository_was_pulled_from_docker_hub_anyway() {
    let out = run(
        VM_CLUSTER_WITH_SIDECAR,
        &["image-mirror"],
        &[("image-mirror.map", "docker.io=mirror.example.com/hub")],
    );
    let s = vmstorage(&out.stream);
    assert_eq!(
        s["image"]["repository"],
        "mirror.example.com/hub/victoriametrics/vmstorage"
    );
    assert_eq!(s["image"]["tag"], "v1.102.0-cluster");
}
