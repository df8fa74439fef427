//! End-to-end tests of the `local-pv` profile: each one is named after the failure it guards.

use helm_fixup::live::parse_pvs;
use helm_fixup::report::{Code, Level};
use helm_fixup::select::Selector;
use helm_fixup::{Error, Output, Plan, process};
use serde_json::{Value, json};

use crate::common::docs;

/// A plan running local-pv with these parameters (names without the `local-pv.` prefix).
fn plan(pairs: &[(&str, &str)]) -> Plan {
    let set: Vec<(String, &str)> = pairs
        .iter()
        .map(|(k, v)| (format!("local-pv.{k}"), *v))
        .collect();
    let set: Vec<(&str, &str)> = set.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    crate::common::plan(&["local-pv"], &set)
}

fn run(input: &str, pairs: &[(&str, &str)]) -> Output {
    process(input.as_bytes(), &plan(pairs)).unwrap()
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn pv_for<'a>(docs: &'a [Value], claim: &str) -> &'a Value {
    let found: Vec<&Value> = of_kind(docs, "PersistentVolume")
        .into_iter()
        .filter(|pv| pv["spec"]["claimRef"]["name"] == claim)
        .collect();
    assert_eq!(found.len(), 1, "PVs for {claim}: {found:?}");
    found[0]
}

fn node_of(pv: &Value) -> String {
    pv.pointer("/spec/nodeAffinity/required/nodeSelectorTerms/0/matchExpressions/0/values/0")
        .and_then(Value::as_str)
        .unwrap()
        .to_string()
}

const PROMETHEUS: &str = "---
# Source: kps/templates/prometheus/prometheus.yaml
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: k
  namespace: monitoring
spec:
  replicas: 1
  securityContext:
    runAsUser: 1000
    runAsGroup: 2000
    fsGroup: 2000
  storage:
    volumeClaimTemplate:
      spec:
        accessModes: [\"ReadWriteOnce\"]
        resources:
          requests:
            storage: 50Gi
";

fn statefulset(name: &str, replicas: u32) -> String {
    format!(
        "---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {name}
  namespace: db
spec:
  replicas: {replicas}
  template:
    spec:
      securityContext:
        fsGroup: 999
      containers:
        - name: db
          securityContext:
            runAsUser: 999
          volumeMounts:
            - name: data
              mountPath: /var/lib/db
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        resources:
          requests:
            storage: 1Gi
"
    )
}

const PVC: &str = "---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: grafana
  namespace: monitoring
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 10Gi
";

#[test]
fn prometheus_claim_binds_to_pinned_local_pv() {
    let out = run(PROMETHEUS, &[("node", "worker-1")]);
    let d = docs(&out.stream);
    let pv = pv_for(&d, "prometheus-k-db-prometheus-k-0");
    assert_eq!(pv["spec"]["claimRef"]["namespace"], "monitoring");
    assert_eq!(node_of(pv), "worker-1");
    assert_eq!(pv["spec"]["capacity"]["storage"], "50Gi");
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    assert_eq!(
        pv["spec"]["local"]["path"],
        "/mnt/disks/monitoring/prometheus-k-db-prometheus-k-0"
    );
    assert_eq!(pv["spec"]["storageClassName"], "local-storage");
    assert_eq!(
        d[0]["spec"]["storage"]["volumeClaimTemplate"]["spec"]["storageClassName"],
        "local-storage"
    );
    // No StorageClass by default: the note prints the one-time command instead.
    assert!(of_kind(&d, "StorageClass").is_empty());
    let prep = &out.report.node_preparation;
    assert_eq!(prep.len(), 1);
    assert_eq!(prep[0].node, "worker-1");
    assert_eq!(
        prep[0].commands,
        [
            "mkdir -p '/mnt/disks/monitoring/prometheus-k-db-prometheus-k-0' && chown 1000:2000 '/mnt/disks/monitoring/prometheus-k-db-prometheus-k-0'"
        ]
    );
    // Helm 3 form: the added documents carry a `# Source:` line.
    let text = String::from_utf8(out.stream).unwrap();
    assert!(
        text.contains("# Source: fixup/local-pv/monitoring.prometheus-k-db-prometheus-k-0.yaml\n"),
        "{text}"
    );
}

#[test]
fn statefulset_replicas_land_on_distinct_nodes() {
    let out = run(&statefulset("pg", 3), &[("nodes", "node-a,node-b")]);
    let d = docs(&out.stream);
    let nodes: Vec<String> = (0..3)
        .map(|i| node_of(pv_for(&d, &format!("data-pg-{i}"))))
        .collect();
    // Ordinals 0 and 1 are always apart; later ones are spread only where that cannot move a
    // volume when nodes change (see local_pv/placement.rs).
    assert_ne!(nodes[0], nodes[1]);
    let paths: std::collections::BTreeSet<&str> = of_kind(&d, "PersistentVolume")
        .iter()
        .filter_map(|pv| pv["spec"]["local"]["path"].as_str())
        .collect();
    assert_eq!(paths.len(), 3, "two claims share a directory");
    let all: Vec<&String> = out
        .report
        .node_preparation
        .iter()
        .flat_map(|n| &n.commands)
        .collect();
    assert_eq!(all.len(), 3);
    for i in 0..3 {
        let dir = format!("'/mnt/disks/db/data-pg-{i}'");
        assert!(
            all.contains(&&format!("mkdir -p {dir} && chown 999:999 {dir}")),
            "{all:?}"
        );
    }
}

#[test]
fn node_assignment_survives_unrelated_changes() {
    let nodes = [("nodes", "node-a,node-b,node-c")];
    let alone = docs(&run(&statefulset("pg", 2), &nodes).stream);
    let crowded_input = format!(
        "{PVC}{}{}{PROMETHEUS}",
        statefulset("aaa", 5),
        statefulset("pg", 4)
    );
    let crowded = docs(&run(&crowded_input, &nodes).stream);
    for claim in ["data-pg-0", "data-pg-1"] {
        assert_eq!(
            pv_for(&alone, claim),
            pv_for(&crowded, claim),
            "{claim} moved"
        );
    }
}

#[test]
fn selector_claim_stays_satisfiable() {
    let input = "apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: cache
  namespace: apps
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: cache-local-pv
  resources:
    requests:
      storage: 5Gi
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cache
  namespace: apps
spec:
  template:
    spec:
      securityContext:
        runAsUser: 1001
        fsGroup: 1001
      containers:
        - name: cache
          volumeMounts:
            - name: store
              mountPath: /data
      volumes:
        - name: store
          persistentVolumeClaim:
            claimName: cache
";
    let out = run(input, &[("node", "n1")]);
    let d = docs(&out.stream);
    let pv = pv_for(&d, "cache");
    assert_eq!(
        pv["metadata"]["labels"]["app.kubernetes.io/name"],
        "cache-local-pv"
    );
    assert_eq!(d[0]["spec"]["storageClassName"], "local-storage");
    assert_eq!(
        out.report.node_preparation[0].commands,
        ["mkdir -p '/mnt/disks/apps/cache' && chown 1001:1001 '/mnt/disks/apps/cache'"]
    );
}

#[test]
fn block_mode_claim_is_skipped() {
    let input = PVC.replace("  accessModes:", "  volumeMode: Block\n  accessModes:");
    let out = run(&input, &[("node", "n1")]);
    assert_eq!(
        out.stream,
        input.as_bytes(),
        "a block claim must stay as it is"
    );
    assert!(out.report.added.is_empty());
    assert!(
        out.report
            .messages
            .iter()
            .any(|m| m.message.contains("Block")),
        "{:?}",
        out.report.messages
    );
}

#[test]
fn foreign_storage_class_needs_force() {
    let input = PVC.replace(
        "  accessModes:",
        "  storageClassName: fast-ssd\n  accessModes:",
    );
    let out = run(&input, &[("node", "n1")]);
    assert_eq!(out.stream, input.as_bytes());
    assert!(
        out.report
            .messages
            .iter()
            .any(|m| m.message.contains("local-pv.force=true"))
    );
    let forced = run(&input, &[("node", "n1"), ("force", "true")]);
    let d = docs(&forced.stream);
    assert_eq!(d[0]["spec"]["storageClassName"], "local-storage");
    pv_for(&d, "grafana");
}

#[test]
fn second_run_adds_nothing() {
    let input = format!("{PROMETHEUS}{}{PVC}", statefulset("pg", 2));
    let pairs = [("nodes", "a,b"), ("keep", "true")];
    let first = run(&input, &pairs);
    assert_eq!(of_kind(&docs(&first.stream), "PersistentVolume").len(), 4);
    let second = run(std::str::from_utf8(&first.stream).unwrap(), &pairs);
    assert_eq!(second.stream, first.stream);
    assert!(second.report.added.is_empty() && second.report.changed.is_empty());
}

#[test]
fn keep_protects_volumes_from_uninstall() {
    let d = docs(&run(PVC, &[("node", "n1"), ("keep", "true")]).stream);
    assert_eq!(
        pv_for(&d, "grafana")["metadata"]["annotations"]["helm.sh/resource-policy"],
        "keep"
    );
    let d = docs(&run(PVC, &[("node", "n1"), ("keep", "false")]).stream);
    assert!(
        pv_for(&d, "grafana")["metadata"]["annotations"]
            .get("helm.sh/resource-policy")
            .is_none()
    );
}

/// StatefulSet and operator claims outlive scale-down and uninstall; a PV Helm deletes under a
/// bound claim hangs in Terminating. So `keep` is on unless turned off.
#[test]
fn scale_down_and_uninstall_keep_bound_volumes_by_default() {
    let d = docs(&run(PVC, &[("node", "n1")]).stream);
    assert_eq!(
        pv_for(&d, "grafana")["metadata"]["annotations"]["helm.sh/resource-policy"],
        "keep"
    );
}

#[test]
fn hooks_only_run_emits_no_storage_class() {
    // Helm 4.2's "separate" strategy: the hooks come in a run of their own.
    let hooks = "apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: backup
  namespace: monitoring
  annotations:
    helm.sh/hook: pre-upgrade
    postrenderer.helm.sh/postrender-filename: chart/templates/backup-pvc.yaml
spec:
  resources:
    requests:
      storage: 1Gi
---
apiVersion: batch/v1
kind: Job
metadata:
  name: backup
  namespace: monitoring
  annotations:
    helm.sh/hook: pre-upgrade
    postrenderer.helm.sh/postrender-filename: chart/templates/backup-job.yaml
spec:
  template:
    spec:
      containers:
        - name: backup
          image: busybox
";
    let create = [("node", "n1"), ("createStorageClass", "true")];
    let d = docs(&run(hooks, &create).stream);
    assert!(
        of_kind(&d, "StorageClass").is_empty(),
        "the hooks run added a StorageClass"
    );
    pv_for(&d, "backup");
    // The run with the templates adds it, once, and not when the stream ships it already.
    let d = docs(&run(PVC, &create).stream);
    assert_eq!(of_kind(&d, "StorageClass").len(), 1);
    let shipped = format!(
        "{PVC}---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: local-storage\nprovisioner: kubernetes.io/no-provisioner\n"
    );
    let d = docs(&run(&shipped, &create).stream);
    assert_eq!(of_kind(&d, "StorageClass").len(), 1);
    let d = docs(&run(PVC, &[("node", "n1")]).stream);
    assert!(of_kind(&d, "StorageClass").is_empty());
}

#[test]
fn claim_without_namespace_needs_param() {
    let input = PVC.replace("  namespace: monitoring\n", "");
    let e = process(input.as_bytes(), &plan(&[("node", "n1")])).unwrap_err();
    match e {
        Error::Usage(m) => assert!(
            m.contains("--set local-pv.namespace=<release namespace>"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    let d = docs(&run(&input, &[("node", "n1"), ("namespace", "obs")]).stream);
    assert_eq!(
        pv_for(&d, "grafana")["spec"]["claimRef"]["namespace"],
        "obs"
    );
}

#[test]
fn missing_node_is_a_usage_error() {
    match crate::common::run_err(PVC, &["local-pv"], &[]) {
        Error::Usage(m) => assert!(
            m.contains("local-pv.node=") && m.contains("local-pv.nodes="),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn long_claim_names_get_valid_pv_names() {
    // The claim itself is a valid 252-character name; `<namespace>.<claim>` would be 255.
    let sts = format!("db-{}", "x".repeat(242));
    let d = docs(&run(&statefulset(&sts, 1), &[("node", "n1")]).stream);
    let claim = format!("data-{sts}-0");
    let pv = pv_for(&d, &claim);
    let name = pv["metadata"]["name"].as_str().unwrap();
    assert!(name.len() <= 253, "{}", name.len());
    assert!(
        name.starts_with("db.data-db-xxx")
            && name.rsplit('-').next().is_some_and(|h| h.len() == 16),
        "{name}"
    );
    assert!(
        name.split('.').all(|l| !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')),
        "{name}"
    );
}

#[test]
fn skipped_objects_get_no_volume() {
    let mut p = plan(&[("node", "n1")]);
    p.skip = vec![Selector::parse("kind=Prometheus", &["local-pv"]).unwrap()];
    let input = format!("{PROMETHEUS}{PVC}");
    let out = process(input.as_bytes(), &p).unwrap();
    let d = docs(&out.stream);
    assert_eq!(of_kind(&d, "PersistentVolume").len(), 1);
    pv_for(&d, "grafana");
    assert!(
        d[0]["spec"]["storage"]["volumeClaimTemplate"]["spec"]
            .get("storageClassName")
            .is_none()
    );
}

#[test]
fn hook_only_claim_in_full_run_gets_storage_class() {
    // Helm 4 sends hooks and templates in one run: a chart whose only claim is a pre-install
    // hook PVC (cert-manager-like scratch space) must still get the StorageClass its PV names.
    let stream = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
  annotations:
    postrenderer.helm.sh/postrender-filename: chart/templates/deployment.yaml
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: scratch
  namespace: apps
  annotations:
    helm.sh/hook: pre-install
    postrenderer.helm.sh/postrender-filename: chart/templates/scratch.yaml
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 100Mi
";
    let create = [("node", "n1"), ("createStorageClass", "true")];
    let out = run(stream, &create).stream;
    let d = docs(&out);
    pv_for(&d, "scratch");
    assert_eq!(of_kind(&d, "StorageClass").len(), 1);
    let again = docs(&run(std::str::from_utf8(&out).unwrap(), &create).stream);
    assert_eq!(of_kind(&again, "StorageClass").len(), 1);
}

#[test]
fn static_binding_claim_with_empty_class_binds_local_pv() {
    // `storageClass: "-"` in bitnami/prometheus/thanos values renders `storageClassName: ""`:
    // "no provisioner, bind a pre-made PV". Skipping it left the claim Pending forever.
    let input = PVC.replace("  accessModes:", "  storageClassName: \"\"\n  accessModes:");
    let out = run(&input, &[("node", "n1")]);
    let d = docs(&out.stream);
    assert_eq!(d[0]["spec"]["storageClassName"], "local-storage");
    assert_eq!(
        pv_for(&d, "grafana")["spec"]["storageClassName"],
        "local-storage"
    );
    let again = run(std::str::from_utf8(&out.stream).unwrap(), &[("node", "n1")]);
    assert_eq!(again.stream, out.stream);
}

#[test]
fn claim_naming_its_volume_gets_a_pv_of_that_name() {
    // `persistence.volumeName` renders `spec.volumeName`: the claim binds only to a PV of that
    // name, so a PV named `<namespace>.<claim>` would sit unused and the claim stay Pending.
    let input = PVC.replace(
        "  accessModes:",
        "  volumeName: grafana-disk\n  accessModes:",
    );
    let out = run(&input, &[("node", "n1")]);
    let d = docs(&out.stream);
    let pv = pv_for(&d, "grafana");
    assert_eq!(pv["metadata"]["name"], "grafana-disk");
    assert_eq!(pv["spec"]["claimRef"]["namespace"], "monitoring");
    let again = run(std::str::from_utf8(&out.stream).unwrap(), &[("node", "n1")]);
    assert_eq!(again.stream, out.stream);
    // When the chart ships that PV itself, nothing is added.
    let shipped = format!(
        "{input}---\napiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: grafana-disk\nspec:\n  capacity:\n    storage: 10Gi\n"
    );
    let d = docs(&run(&shipped, &[("node", "n1")]).stream);
    assert_eq!(of_kind(&d, "PersistentVolume").len(), 1);
}

#[test]
fn claims_of_one_pod_land_on_one_node() {
    // A pod whose local volumes sit on two nodes can never be scheduled ("volume node affinity
    // conflict"): a StatefulSet with two claim templates (data + wal), and a Deployment
    // mounting two PVC documents, must get each pod's volumes on one node.
    let sts = "---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ing
  namespace: x
spec:
  replicas: 4
  template:
    spec:
      containers:
        - name: c
          image: c
  volumeClaimTemplates:
    - metadata: {name: data}
      spec: {resources: {requests: {storage: 1Gi}}}
    - metadata: {name: wal}
      spec: {resources: {requests: {storage: 1Gi}}}
";
    let deploy = "---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cloud
  namespace: x
spec:
  template:
    spec:
      containers:
        - name: c
          image: c
      volumes:
        - name: main
          persistentVolumeClaim: {claimName: cloud-main}
        - name: files
          persistentVolumeClaim: {claimName: cloud-files}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: cloud-main
  namespace: x
spec:
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: cloud-files
  namespace: x
spec:
  resources: {requests: {storage: 1Gi}}
";
    let nodes = [("nodes", "a,b,c,d,e")];
    let d = docs(&run(&format!("{sts}{deploy}"), &nodes).stream);
    let mut spread = std::collections::BTreeSet::new();
    for i in 0..4 {
        let data = node_of(pv_for(&d, &format!("data-ing-{i}")));
        assert_eq!(
            data,
            node_of(pv_for(&d, &format!("wal-ing-{i}"))),
            "ordinal {i}"
        );
        spread.insert(data);
    }
    assert!(spread.len() > 1, "replicas still spread over nodes");
    assert_eq!(
        node_of(pv_for(&d, "cloud-main")),
        node_of(pv_for(&d, "cloud-files"))
    );
    // A single-template StatefulSet is placed exactly as before (upgrades must not move PVs).
    let one = docs(&run(&statefulset("pg", 2), &nodes).stream);
    let alone = sts.replace(
        "    - metadata: {name: wal}\n      spec: {resources: {requests: {storage: 1Gi}}}\n",
        "",
    );
    let a = docs(&run(&alone, &nodes).stream);
    for i in 0..4 {
        assert_eq!(
            node_of(pv_for(&a, &format!("data-ing-{i}"))),
            node_of(pv_for(&d, &format!("data-ing-{i}")))
        );
    }
    assert_eq!(of_kind(&one, "PersistentVolume").len(), 2);
}

/// A Windows-edited chart renders with CRLF: the volumes and the class added to it must use the
/// same line ends, or the stream mixes both.
#[test]
fn crlf_stream_gets_crlf_volumes() {
    let input = "---\r\n# Source: c/templates/pvc.yaml\r\napiVersion: v1\r\nkind: PersistentVolumeClaim\r\n\
                 metadata:\r\n  name: data\r\n  namespace: ns\r\nspec:\r\n  resources:\r\n    requests:\r\n      \
                 storage: 1Gi\r\n";
    let out = run(input, &[("node", "n1"), ("createStorageClass", "true")]);
    let text = String::from_utf8(out.stream).unwrap();
    assert_eq!(docs(text.as_bytes()).len(), 3, "{text}");
    let bare = text
        .match_indices('\n')
        .filter(|(i, _)| *i == 0 || text.as_bytes()[i - 1] != b'\r')
        .count();
    assert_eq!(bare, 0, "LF without CR in:\n{text}");
    assert!(text.contains("# Source: fixup/local-pv/"), "{text}");
}

/// The same with templates no profile reads (the engine only validates those): a ConfigMap is
/// enough to show the run carries the release, so the StorageClass still comes with it.
#[test]
fn hook_claim_beside_unread_templates_gets_storage_class() {
    let stream = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: apps
  annotations:
    postrenderer.helm.sh/postrender-filename: chart/templates/cm.yaml
data:
  a: b
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: scratch
  namespace: apps
  annotations:
    helm.sh/hook: pre-install
    postrenderer.helm.sh/postrender-filename: chart/templates/scratch.yaml
spec:
  resources:
    requests:
      storage: 100Mi
";
    let create = [("node", "n1"), ("createStorageClass", "true")];
    let d = docs(&run(stream, &create).stream);
    pv_for(&d, "scratch");
    assert_eq!(of_kind(&d, "StorageClass").len(), 1);
    // Hooks only (Helm 4.2's separate hook run): the class is left to the other run.
    let hooks_only = stream.replace(
        "  annotations:\n    postrenderer.helm.sh/postrender-filename: chart/templates/cm.yaml",
        "  annotations:\n    helm.sh/hook: pre-install\n    postrenderer.helm.sh/postrender-filename: chart/templates/cm.yaml",
    );
    let d = docs(&run(&hooks_only, &create).stream);
    pv_for(&d, "scratch");
    assert!(of_kind(&d, "StorageClass").is_empty());
}

// ---------- day 2: upgrades, nodes, replicas, releases ----------

/// The PVs of `out` as `kubectl get pv -o yaml` shows them after Helm created them and the
/// PersistentVolume controller bound them: Helm's ownership metadata, the controller's full
/// claimRef (uid, resourceVersion) and `status.phase`.
fn live_list(out: &[u8]) -> String {
    let items: Vec<Value> = of_kind(&docs(out), "PersistentVolume")
        .into_iter()
        .enumerate()
        .map(|(i, pv)| {
            let mut v = pv.clone();
            let ann = v["metadata"]["annotations"].as_object_mut().unwrap();
            ann.remove("postrenderer.helm.sh/postrender-filename");
            ann.insert("meta.helm.sh/release-name".into(), json!("kps"));
            ann.insert("meta.helm.sh/release-namespace".into(), json!("monitoring"));
            let cr = &mut v["spec"]["claimRef"];
            cr["uid"] = json!(format!("0000-{i}"));
            cr["resourceVersion"] = json!(format!("{}", 100 + i));
            v["status"] = json!({"phase": "Bound"});
            v
        })
        .collect();
    serde_json::to_string(&json!({"apiVersion": "v1", "kind": "List", "items": items})).unwrap()
}

fn run_live(input: &str, pairs: &[(&str, &str)], live: &str) -> Output {
    let mut p = plan(pairs);
    p.live_pvs = Some(parse_pvs(live, "live.json").unwrap());
    process(input.as_bytes(), &p).unwrap()
}

fn pvs_by_name(d: &[Value]) -> std::collections::BTreeMap<String, Value> {
    of_kind(d, "PersistentVolume")
        .into_iter()
        .map(|pv| {
            (
                pv["metadata"]["name"].as_str().unwrap().to_string(),
                pv.clone(),
            )
        })
        .collect()
}

fn codes(out: &Output, code: Code) -> Vec<&str> {
    out.report
        .messages
        .iter()
        .filter(|m| m.code == code)
        .map(|m| m.message.as_str())
        .collect()
}

fn many_claims() -> String {
    let mut s = String::new();
    for i in 0..12 {
        s.push_str(&PVC.replace("name: grafana", &format!("name: claim-{i}")));
    }
    s.push_str(&statefulset("pg", 3));
    s.push_str(&statefulset("kafka", 2));
    s.push_str(PROMETHEUS);
    s
}

#[test]
fn adding_a_node_keeps_existing_volumes() {
    let input = many_claims();
    let two = docs(&run(&input, &[("nodes", "node-a,node-b")]).stream);
    let three = docs(&run(&input, &[("nodes", "node-a,node-b,node-c")]).stream);
    let (two, three) = (pvs_by_name(&two), pvs_by_name(&three));
    assert_eq!(two.len(), three.len());
    let mut moved = 0;
    for (name, pv) in &two {
        let (a, b) = (node_of(pv), node_of(&three[name]));
        assert!(a == b || b == "node-c", "{name} moved {a} -> {b}");
        moved += usize::from(a != b);
    }
    assert!(moved > 0, "no volume went to the new node");
    // With the live volumes, none moves at all.
    let live = live_list(&run(&input, &[("nodes", "node-a,node-b")]).stream);
    let kept = pvs_by_name(&docs(
        &run_live(&input, &[("nodes", "node-a,node-b,node-c")], &live).stream,
    ));
    for (name, pv) in &two {
        assert_eq!(node_of(pv), node_of(&kept[name]), "{name}");
        assert_eq!(pv["spec"]["local"], kept[name]["spec"]["local"], "{name}");
    }
}

#[test]
fn helm4_second_upgrade_does_not_conflict_on_claim_ref() {
    let input = many_claims();
    let first = run(&input, &[("nodes", "node-a,node-b")]);
    // Without the live volumes the summary says what the next Helm 4 upgrade needs.
    let warned = codes(&first, Code::SsaClaimref);
    assert_eq!(warned.len(), 1);
    assert!(
        warned[0].contains("server-side apply") && warned[0].contains("local-pv.existing=cluster"),
        "{warned:?}"
    );
    let live = live_list(&first.stream);
    let live_pvs = parse_pvs(&live, "live").unwrap().items;
    let again = run_live(&input, &[("nodes", "node-a,node-b")], &live);
    assert!(codes(&again, Code::SsaClaimref).is_empty());
    // Their directories exist: no node preparation to repeat.
    assert!(again.report.node_preparation.is_empty());
    let out = pvs_by_name(&docs(&again.stream));
    assert_eq!(out.len(), live_pvs.len());
    for lv in &live_pvs {
        let name = lv["metadata"]["name"].as_str().unwrap();
        // The whole atomic claimRef, uid and resourceVersion included, equals the live one: the
        // apply sets the value the controller owns to what it is, which is no conflict.
        assert_eq!(
            out[name]["spec"]["claimRef"], lv["spec"]["claimRef"],
            "{name}"
        );
        for f in [
            "nodeAffinity",
            "local",
            "capacity",
            "storageClassName",
            "accessModes",
        ] {
            assert_eq!(out[name]["spec"][f], lv["spec"][f], "{name} {f}");
        }
    }
    // And the stream with those volumes is a fixed point.
    let third = process(&again.stream, &{
        let mut p = plan(&[("nodes", "node-a,node-b")]);
        p.live_pvs = Some(parse_pvs(&live, "live").unwrap());
        p
    })
    .unwrap();
    assert_eq!(third.stream, again.stream);
}

#[test]
fn removing_a_node_keeps_the_volumes_whose_data_is_on_it() {
    let input = many_claims();
    let live = live_list(&run(&input, &[("nodes", "node-a,node-b,node-c")]).stream);
    let on_c: Vec<String> = parse_pvs(&live, "l")
        .unwrap()
        .items
        .iter()
        .filter(|pv| node_of(pv) == "node-c")
        .map(|pv| pv["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(!on_c.is_empty());
    // Scaled up while node-c is leaving: live volumes stay, new ones avoid node-c.
    let scaled = input.replace("replicas: 3", "replicas: 5");
    let out = run_live(&scaled, &[("nodes", "node-a,node-b")], &live);
    let pvs = pvs_by_name(&docs(&out.stream));
    for name in &on_c {
        assert_eq!(node_of(&pvs[name]), "node-c", "{name}");
    }
    for claim in ["data-pg-3", "data-pg-4"] {
        assert_ne!(
            node_of(pv_for(&docs(&out.stream), claim)),
            "node-c",
            "{claim}"
        );
    }
    let notes = codes(&out, Code::LeftAlone);
    assert!(
        notes
            .iter()
            .any(|m| m.contains("stays on node node-c, which is not in local-pv.nodes")),
        "{notes:?}"
    );
}

#[test]
fn second_release_adds_no_storage_class() {
    let out = run(PVC, &[("node", "n1")]);
    let d = docs(&out.stream);
    assert!(of_kind(&d, "StorageClass").is_empty());
    let setup = codes(&out, Code::ClusterSetup);
    assert_eq!(setup.len(), 1, "{setup:?}");
    // The printed one-time command makes the class the volumes name.
    let cmd = setup[0].split("run: ").nth(1).unwrap();
    let manifest = cmd.replace("| kubectl apply -f -", "");
    let printed = std::process::Command::new("sh")
        .arg("-c")
        .arg(&manifest)
        .output()
        .unwrap();
    let sc: Value = serde_json::to_value(
        helm_fixup::yaml::parse_value(std::str::from_utf8(&printed.stdout).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(sc["kind"], "StorageClass");
    assert_eq!(sc["metadata"]["name"], "local-storage");
    assert_eq!(sc["provisioner"], "kubernetes.io/no-provisioner");
    assert_eq!(sc["volumeBindingMode"], "WaitForFirstConsumer");
}

#[test]
fn claim_bound_to_a_volume_no_release_manages_is_left_alone() {
    // The cluster already bound the claim (a hand-made volume, or a provisioner's): the claim
    // cannot change class, and a PV of our own for it would never bind.
    let live = r#"{"kind": "List", "items": [{"apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": "pvc-1234"},
        "spec": {"storageClassName": "standard", "claimRef": {"namespace": "monitoring", "name": "grafana",
                 "uid": "u1"}, "csi": {"driver": "x", "volumeHandle": "h"}},
        "status": {"phase": "Bound"}}]}"#;
    let out = run_live(PVC, &[("node", "n1")], live);
    assert_eq!(out.stream, PVC.as_bytes(), "the claim was changed");
    let notes = codes(&out, Code::LeftAlone);
    assert!(
        notes
            .iter()
            .any(|m| m.contains("already bound to PersistentVolume pvc-1234")),
        "{notes:?}"
    );
}

#[test]
fn released_volume_says_how_to_reuse_its_data() {
    let first = run(PVC, &[("node", "n1")]);
    let live = live_list(&first.stream).replace("\"Bound\"", "\"Released\"");
    let out = run_live(PVC, &[("node", "n1")], &live);
    let w: Vec<&str> = out
        .report
        .messages
        .iter()
        .filter(|m| m.level == Level::Warning && m.message.contains("is Released"))
        .map(|m| m.message.as_str())
        .collect();
    assert_eq!(w.len(), 1);
    assert!(
        w[0].contains("kubectl patch pv 'monitoring.grafana'"),
        "{w:?}"
    );
}

#[test]
fn pinned_claim_goes_to_its_node() {
    let input = many_claims();
    let out = run(
        &input,
        &[
            ("nodes", "node-a,node-b"),
            ("pin", "claim-3=node-z,db/data-pg-*=node-y"),
        ],
    );
    let d = docs(&out.stream);
    assert_eq!(node_of(pv_for(&d, "claim-3")), "node-z");
    for i in 0..3 {
        assert_eq!(node_of(pv_for(&d, &format!("data-pg-{i}"))), "node-y");
    }
    assert!(
        out.report
            .node_preparation
            .iter()
            .any(|n| n.node == "node-z")
    );
}

#[test]
fn pod_held_off_its_volume_node_warns_placement_conflict() {
    let input = format!(
        "{PVC}---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: grafana
  namespace: monitoring
spec:
  template:
    spec:
      nodeSelector:
        kubernetes.io/hostname: elsewhere
      containers:
        - name: grafana
          image: grafana/grafana
      volumes:
        - name: storage
          persistentVolumeClaim:
            claimName: grafana
"
    );
    let out = run(&input, &[("node", "n1")]);
    let w = codes(&out, Code::PlacementConflict);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("nodeSelector asks for kubernetes.io/hostname=elsewhere"),
        "{w:?}"
    );
    assert!(w[0].contains("is on n1"), "{w:?}");
    // On the node it asks for, nothing to say.
    let fine = run(&input, &[("node", "elsewhere")]);
    assert!(codes(&fine, Code::PlacementConflict).is_empty());
}

#[test]
fn one_node_for_replicas_that_need_one_node_each_warns_placement_conflict() {
    let input = statefulset("pg", 2).replace(
        "      securityContext:\n        fsGroup: 999\n",
        "      securityContext:\n        fsGroup: 999\n      affinity:\n        podAntiAffinity:\n          \
         requiredDuringSchedulingIgnoredDuringExecution:\n            - topologyKey: kubernetes.io/hostname\n              \
         labelSelector: {matchLabels: {app: pg}}\n",
    );
    let out = run(&input, &[("node", "n1")]);
    let w = codes(&out, Code::PlacementConflict);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains(
            "2 replicas with required pod anti-affinity on kubernetes.io/hostname need 2 node(s)"
        ) && w[0].contains("local-pv.nodes gives 1 (n1)")
            && w[0].contains("the volume of data-pg-1 is on a node with a sibling's")
            && w[0].contains("Add 1 more node(s)"),
        "{w:?}"
    );
    let spread = run(&input, &[("nodes", "n1,n2")]);
    assert!(codes(&spread, Code::PlacementConflict).is_empty());
}

#[test]
fn adopting_local_pv_on_an_installed_statefulset_warns_immutable_field() {
    let out = run(&format!("{}{PVC}", statefulset("pg", 1)), &[("node", "n1")]);
    let w: Vec<(&str, &str)> = out
        .report
        .messages
        .iter()
        .filter(|m| m.code == Code::ImmutableField && m.level == Level::Warning)
        .map(|m| (m.object.as_deref().unwrap_or(""), m.message.as_str()))
        .collect();
    assert_eq!(w.len(), 2, "{w:?}");
    assert_eq!(w[0].0, "StatefulSet db/pg");
    assert!(
        w[0].1
            .contains("kubectl -n 'db' delete statefulset 'pg' --cascade=orphan")
            && w[0].1.contains("spec.volumeClaimTemplates"),
        "{w:?}"
    );
    assert_eq!(w[1].0, "PersistentVolumeClaim monitoring/grafana");
    assert!(w[1].1.contains("spec.storageClassName"), "{w:?}");
    // A claim that already names the class changes nothing immutable.
    let named = PVC.replace(
        "  accessModes:",
        "  storageClassName: local-storage\n  accessModes:",
    );
    assert!(codes(&run(&named, &[("node", "n1")]), Code::ImmutableField).is_empty());
}

/// `replicas: 2.0` is 2 to Kubernetes (sigs.k8s.io/yaml keeps a float64, Go's JSON writes `2`):
/// the StatefulSet runs two pods, and the second one waited forever for a volume that was
/// never made because the count read as the default 1.
#[test]
fn statefulset_with_float_replicas_gets_a_volume_per_replica() {
    for replicas in ["2.0", "2e0"] {
        let input = statefulset("pg", 3).replace("replicas: 3", &format!("replicas: {replicas}"));
        let out = run(&input, &[("node", "n1")]);
        let d = docs(&out.stream);
        let pvs = of_kind(&d, "PersistentVolume");
        assert_eq!(pvs.len(), 2, "{replicas}");
        pv_for(&d, "data-pg-0");
        pv_for(&d, "data-pg-1");
        assert!(
            !out.report.messages.iter().any(|m| m.code == Code::Input),
            "{:?}",
            out.report.messages
        );
    }
    // A count Kubernetes refuses reads as 1, with a warning instead of silence.
    let out = run(
        &statefulset("pg", 3).replace("replicas: 3", "replicas: 2.5"),
        &[("node", "n1")],
    );
    assert_eq!(of_kind(&docs(&out.stream), "PersistentVolume").len(), 1);
    let w: Vec<&str> = out
        .report
        .messages
        .iter()
        .filter(|m| m.code == Code::Input && m.level == Level::Warning)
        .map(|m| m.message.as_str())
        .collect();
    assert_eq!(w.len(), 1, "{:?}", out.report.messages);
    assert!(
        w[0].starts_with("spec.replicas is 2.5, which Kubernetes refuses"),
        "{w:?}"
    );
}

/// `local-pv.path=/a/../../etc` put every volume, and the node preparation's `mkdir` and `chown`
/// run as root, under `/etc`. A base that is not absolute and normalised is a usage error (exit
/// 3), found before stdin is read.
#[test]
fn local_pv_path_with_dot_dot_is_refused() {
    for bad in ["/a/../../etc", "/srv//disks", "/srv/./disks", "srv/disks"] {
        let o = crate::support::Run::new()
            .args(["-p", "local-pv", "--set", "local-pv.node=n1", "--set"])
            .arg(format!("local-pv.path={bad}"))
            .stdin_from(std::process::Stdio::null())
            .run();
        assert_eq!(o.code, Some(3), "{bad}");
        assert!(o.stdout.is_empty());
        let err = &o.stderr;
        assert!(
            err.contains("local-pv.path=") && err.contains("without . or .. parts"),
            "{err}"
        );
    }
    let out = run(
        &statefulset("pg", 1),
        &[("node", "n1"), ("path", "/srv/disks/")],
    );
    let d = docs(&out.stream);
    assert_eq!(
        pv_for(&d, "data-pg-0")["spec"]["local"]["path"],
        "/srv/disks/db/data-pg-0"
    );
}
