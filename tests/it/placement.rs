//! local-pv on a real control plane: where the volumes of a workload's replicas go (the scheduler
//! must accept it), what happens between renders (nodes added and removed, scale-up, the first
//! render applied without Helm), and `immutable-field` warnings that say what the cluster will
//! really do. The fixture is a user's own chart: StatefulSet `db`, a `data` claim template,
//! `runAsUser: 1001` and required pod anti-affinity on the hostname.

use helm_fixup::live::parse_pvs;
use helm_fixup::report::Code;
use helm_fixup::{Output, process};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

use crate::common::docs;

/// StatefulSet `db` with `replicas`, a `data` claim template and, with `hard`, required pod
/// anti-affinity on `kubernetes.io/hostname` (else preferred).
fn db(replicas: u64, hard: bool) -> String {
    let affinity = if hard {
        "          requiredDuringSchedulingIgnoredDuringExecution:
            - topologyKey: kubernetes.io/hostname
              labelSelector:
                matchLabels: {app: db}
"
    } else {
        "          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector:
                  matchLabels: {app: db}
"
    };
    format!(
        "---
# Source: db/templates/statefulset.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  replicas: {replicas}
  selector:
    matchLabels: {{app: db}}
  template:
    metadata:
      labels: {{app: db}}
    spec:
      securityContext:
        runAsUser: 1001
        fsGroup: 1001
      affinity:
        podAntiAffinity:
{affinity}      containers:
        - name: db
          image: postgres:16
          volumeMounts:
            - name: data
              mountPath: /var/lib/postgresql/data
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: 8Gi
"
    )
}

fn plan(nodes: &[&str], live: Option<&str>) -> helm_fixup::Plan {
    let nodes = nodes.join(",");
    let mut p = crate::common::plan(
        &["local-pv"],
        &[("local-pv.nodes", &nodes), ("local-pv.namespace", "db")],
    );
    p.live_pvs = live.map(|l| parse_pvs(l, "live").unwrap());
    p
}

fn render(input: &str, nodes: &[&str], live: Option<&str>) -> Output {
    process(input.as_bytes(), &plan(nodes, live)).unwrap()
}

fn node_of(pv: &Value) -> String {
    pv.pointer("/spec/nodeAffinity/required/nodeSelectorTerms/0/matchExpressions/0/values/0")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Claim name -> node of every PersistentVolume of a render.
fn placement(out: &Output) -> BTreeMap<String, String> {
    docs(&out.stream)
        .iter()
        .filter(|d| d["kind"] == "PersistentVolume")
        .map(|pv| {
            (
                pv["spec"]["claimRef"]["name"].as_str().unwrap().to_string(),
                node_of(pv),
            )
        })
        .collect()
}

fn warnings(out: &Output, code: Code) -> Vec<&str> {
    out.report
        .messages
        .iter()
        .filter(|m| m.code == code && m.level == helm_fixup::report::Level::Warning)
        .map(|m| m.message.as_str())
        .collect()
}

/// The volumes of a render as `kubectl get pv -o json` lists them once created (by Helm when
/// `helm`, else by `kubectl apply`, with no Helm metadata) and bound; `nodes` adds Node objects.
fn live(out: &Output, helm: bool, extra: &[Value]) -> String {
    let mut items: Vec<Value> = docs(&out.stream)
        .into_iter()
        .filter(|d| d["kind"] == "PersistentVolume")
        .enumerate()
        .map(|(i, mut pv)| {
            let ann = pv["metadata"]["annotations"].as_object_mut().unwrap();
            ann.remove("postrenderer.helm.sh/postrender-filename");
            if helm {
                ann.insert("meta.helm.sh/release-name".into(), json!("pg"));
                pv["metadata"]["labels"] = json!({"app.kubernetes.io/managed-by": "Helm"});
            }
            pv["spec"]["claimRef"]["uid"] = json!(format!("uid-{i}"));
            pv["status"] = json!({"phase": "Bound"});
            pv
        })
        .collect();
    items.extend(extra.iter().cloned());
    json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string()
}

/// Whether no two claims of `placed` share a node.
fn distinct(placed: &BTreeMap<String, String>) -> bool {
    placed.values().collect::<BTreeSet<_>>().len() == placed.len()
}

#[test]
fn three_replicas_with_required_anti_affinity_on_three_nodes_get_one_node_each() {
    let out = render(&db(3, true), &["node-a", "node-b", "node-c"], None);
    let p = placement(&out);
    assert_eq!(p.len(), 3);
    assert!(distinct(&p), "{p:?}");
    assert!(warnings(&out, Code::PlacementConflict).is_empty());
}

#[test]
fn four_replicas_on_four_nodes_never_put_ordinals_zero_and_three_together() {
    let out = render(&db(4, true), &["n1", "n2", "n3", "n4"], None);
    let p = placement(&out);
    assert!(distinct(&p), "{p:?}");
}

#[test]
fn replicas_spread_even_when_nothing_requires_it() {
    let out = render(&db(3, false), &["node-a", "node-b", "node-c"], None);
    assert!(distinct(&placement(&out)));
}

#[test]
fn scale_from_three_to_five_with_a_node_added_puts_the_new_replica_on_the_free_node() {
    let nodes3 = ["node-a", "node-b", "node-c"];
    let nodes4 = ["node-a", "node-b", "node-c", "node-d"];
    let first = render(&db(3, true), &nodes3, None);
    let live = live(&first, true, &[]);
    let out = render(&db(5, true), &nodes4, Some(&live));
    let (before, after) = (placement(&first), placement(&out));
    for (claim, node) in &before {
        assert_eq!(&after[claim], node, "{claim} moved");
    }
    // The fourth replica takes the node no sibling holds.
    assert_eq!(after["data-db-3"], "node-d", "{after:?}");
    // Five replicas on four nodes: one more node is needed, and the warning says so.
    let w = warnings(&out, Code::PlacementConflict);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains(
            "5 replicas with required pod anti-affinity on kubernetes.io/hostname need 5 node(s)"
        ) && w[0].contains("local-pv.nodes gives 4")
            && w[0].contains("the volume of data-db-4 is")
            && w[0].contains("Add 1 more node(s)"),
        "{w:?}"
    );
}

#[test]
fn prometheus_with_two_replicas_and_hard_anti_affinity_gets_two_nodes() {
    // kube-prometheus-stack's `podAntiAffinity: hard` renders into the resource's own affinity.
    let input = "---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: kps
  namespace: monitoring
spec:
  replicas: 2
  shards: 2
  affinity:
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        - topologyKey: kubernetes.io/hostname
          labelSelector:
            matchExpressions:
              - {key: app.kubernetes.io/name, operator: In, values: [prometheus]}
              - {key: prometheus, operator: In, values: [kps]}
  storage:
    volumeClaimTemplate:
      spec:
        resources:
          requests:
            storage: 50Gi
";
    let out = render(input, &["n1", "n2", "n3", "n4"], None);
    let p = placement(&out);
    // Two replicas of two shards: four pods the anti-affinity keeps apart.
    assert_eq!(p.len(), 4, "{p:?}");
    assert!(distinct(&p), "{p:?}");
    let short = render(input, &["n1", "n2", "n3"], None);
    let w = warnings(&short, Code::PlacementConflict);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("4 replicas") && w[0].contains("Add 1 more node(s)"),
        "{w:?}"
    );
}

#[test]
fn topology_spread_do_not_schedule_keeps_replicas_apart() {
    let input = db(3, false).replace(
        "      containers:",
        "      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: DoNotSchedule
          labelSelector: {matchLabels: {app: db}}
      containers:",
    );
    let out = render(&input, &["a", "b"], None);
    let w = warnings(&out, Code::PlacementConflict);
    assert!(
        w.iter().any(
            |m| m.contains("DoNotSchedule topology spread") && m.contains("Add 1 more node(s)")
        ),
        "{w:?}"
    );
}

#[test]
fn node_selector_keeps_volumes_on_nodes_whose_labels_match() {
    let input = db(2, true).replace(
        "      securityContext:",
        "      nodeSelector:\n        disk: ssd\n      securityContext:",
    );
    let node = |name: &str, disk: &str| {
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name,
            "labels": {"kubernetes.io/hostname": name, "disk": disk}}})
    };
    let nodes_file = json!({"kind": "List", "items": [
        node("a", "hdd"), node("b", "ssd"), node("c", "ssd"), node("d", "hdd")]})
    .to_string();
    let out = render(&input, &["a", "b", "c", "d"], Some(&nodes_file));
    let p = placement(&out);
    let on: BTreeSet<&str> = p.values().map(String::as_str).collect();
    assert_eq!(on, BTreeSet::from(["b", "c"]), "{p:?}");
    // None matches: the pods cannot run anywhere given, and the summary says so.
    let none = render(&input, &["a", "d"], Some(&nodes_file));
    let w = warnings(&none, Code::PlacementConflict);
    assert!(
        w.iter().any(|m| m.contains("admit none of local-pv.nodes")),
        "{w:?}"
    );
}

#[test]
fn render_after_kubectl_apply_keeps_every_volume_and_class() {
    // `helm template | helm-fixup | kubectl apply`: the volumes carry no Helm metadata.
    let input = format!(
        "{}---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: uploads
spec:
  resources:
    requests:
      storage: 1Gi
",
        db(3, true)
    );
    let nodes = ["node-a", "node-b", "node-c"];
    let first = render(&input, &nodes, None);
    let applied = live(&first, false, &[]);
    let second = render(&input, &nodes, Some(&applied));
    let (a, b) = (docs(&first.stream), docs(&second.stream));
    let pvs = |d: &[Value]| -> BTreeMap<String, Value> {
        d.iter()
            .filter(|v| v["kind"] == "PersistentVolume")
            .map(|v| {
                (
                    v["metadata"]["name"].as_str().unwrap().to_string(),
                    v.clone(),
                )
            })
            .collect()
    };
    let (p1, p2) = (pvs(&a), pvs(&b));
    assert_eq!(p1.len(), 4);
    for (name, pv) in &p1 {
        let w = p2.get(name).unwrap_or_else(|| panic!("{name} dropped"));
        for f in ["nodeAffinity", "local", "capacity", "storageClassName"] {
            assert_eq!(pv["spec"][f], w["spec"][f], "{name} {f}");
        }
    }
    // No claim loses its class, no StatefulSet's claim templates change.
    let by_kind = |d: &[Value], kind: &str| d.iter().find(|v| v["kind"] == kind).cloned().unwrap();
    assert_eq!(
        by_kind(&a, "StatefulSet")["spec"]["volumeClaimTemplates"],
        by_kind(&b, "StatefulSet")["spec"]["volumeClaimTemplates"]
    );
    assert_eq!(
        by_kind(&b, "PersistentVolumeClaim")["spec"]["storageClassName"],
        "local-storage"
    );
    // They exist: reported as kept, not added.
    assert!(second.report.added.is_empty(), "{:?}", second.report.added);
    assert_eq!(second.report.kept_objects.len(), 4);
    assert!(second.report.text().contains("0 added, 4 kept"));
}

#[test]
fn live_objects_that_carry_the_fix_give_no_immutable_field_warning() {
    let nodes = ["node-a", "node-b", "node-c"];
    let first = render(&db(3, true), &nodes, None);
    // Without the live objects the warning is given, with its condition, and said once to
    // concern only a release installed without the fix.
    assert_eq!(warnings(&first, Code::ImmutableField).len(), 1);
    assert!(
        first
            .report
            .messages
            .iter()
            .any(|m| m.code == Code::ImmutableField
                && m.message
                    .contains("no longer apply once an upgrade has brought them")),
        "{:?}",
        first.report.messages
    );
    // The live StatefulSet (as the API server returns it: defaults filled in) has the class.
    let mut sts = docs(&first.stream)
        .into_iter()
        .find(|d| d["kind"] == "StatefulSet")
        .unwrap();
    sts["metadata"]["namespace"] = json!("db");
    sts["spec"]["volumeClaimTemplates"][0]["apiVersion"] = json!("v1");
    sts["spec"]["volumeClaimTemplates"][0]["kind"] = json!("PersistentVolumeClaim");
    sts["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"] = json!("Filesystem");
    sts["spec"]["volumeClaimTemplates"][0]["status"] = json!({"phase": "Pending"});
    let with_fix = live(&first, true, std::slice::from_ref(&sts));
    let again = render(&db(3, true), &nodes, Some(&with_fix));
    assert!(warnings(&again, Code::ImmutableField).is_empty());
    assert!(
        !again
            .report
            .messages
            .iter()
            .any(|m| m.code == Code::ImmutableField),
        "{:?}",
        again.report.messages
    );
    // Installed without the fix: the warning is real, and names the live value.
    sts["spec"]["volumeClaimTemplates"][0]["spec"]
        .as_object_mut()
        .unwrap()
        .remove("storageClassName");
    let without = live(&first, true, &[sts]);
    let adopt = render(&db(3, true), &nodes, Some(&without));
    let w = warnings(&adopt, Code::ImmutableField);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("spec.volumeClaimTemplates.0.spec.storageClassName is unset there")
            && w[0].contains("kubectl -n 'db' delete statefulset 'db' --cascade=orphan"),
        "{w:?}"
    );
    // A StatefulSet the cluster does not have is created, not updated.
    let absent = live(&first, true, &[]).replace(
        "\"items\":[",
        "\"items\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"name\":\"other\",\"namespace\":\"db\"}},",
    );
    assert!(
        warnings(
            &render(&db(3, true), &nodes, Some(&absent)),
            Code::ImmutableField
        )
        .is_empty()
    );
}

#[test]
fn claim_without_a_class_takes_it_and_is_not_deleted() {
    // Kubernetes 1.28+ lets a claim's unset class be set: no warning with the live claim, and
    // without it the warning says how to check rather than to delete the claim.
    let pvc = "---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: uploads
  namespace: db
spec:
  resources:
    requests:
      storage: 1Gi
";
    let first = render(pvc, &["a"], None);
    let w = warnings(&first, Code::ImmutableField);
    assert_eq!(w.len(), 1);
    assert!(
        w[0].contains("A claim that exists without a class takes it")
            && w[0].contains("get pvc 'uploads' -o jsonpath"),
        "{w:?}"
    );
    let claim = |class: Option<&str>| {
        let mut c = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "uploads", "namespace": "db"},
            "spec": {"resources": {"requests": {"storage": "1Gi"}}, "volumeMode": "Filesystem"}});
        if let Some(class) = class {
            c["spec"]["storageClassName"] = json!(class);
        }
        c
    };
    let unset = json!({"kind": "List", "items": [claim(None)]}).to_string();
    assert!(warnings(&render(pvc, &["a"], Some(&unset)), Code::ImmutableField).is_empty());
    // A default class the cluster gave it at creation: that one is rejected, and said so.
    let standard = json!({"kind": "List", "items": [claim(Some("standard"))]}).to_string();
    let w = warnings(&render(pvc, &["a"], Some(&standard)), Code::ImmutableField)
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
    assert_eq!(w.len(), 1);
    assert!(
        w[0].contains("spec.storageClassName is \"standard\" there"),
        "{w:?}"
    );
}

#[test]
fn advice_names_the_namespace_the_user_gave() {
    let out = render(&db(2, true), &["a", "b"], None);
    let w = warnings(&out, Code::ImmutableField);
    assert!(
        w[0].contains("kubectl -n 'db' delete statefulset 'db'"),
        "{w:?}"
    );
    assert!(!out.report.text().contains("<release namespace>"));
}

#[test]
fn volumes_placed_away_from_their_first_node_are_named() {
    // Without the live volumes, the summary names the claims a changed node list may move.
    let mut named = 0;
    for r in 3..8 {
        let out = render(
            &db(r, true),
            &["n1", "n2", "n3", "n4", "n5", "n6", "n7"],
            None,
        );
        let notes: Vec<&str> = out
            .report
            .messages
            .iter()
            .filter(|m| m.code == Code::MayMove)
            .map(|m| m.message.as_str())
            .collect();
        named += notes.len();
        for n in &notes {
            assert!(n.contains("local-pv.existing=cluster"), "{n}");
        }
    }
    assert!(named > 0);
}

/// One step of a release's life.
#[derive(Debug, Clone)]
enum Step {
    AddNode,
    RemoveNode(usize),
    ScaleUp(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::AddNode),
        (0usize..8).prop_map(Step::RemoveNode),
        (1u64..3).prop_map(Step::ScaleUp),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Under required anti-affinity no two replicas share a node while there are enough nodes,
    /// with or without the live volumes; with them, no volume that exists ever moves, and a
    /// new replica goes to a node holding no sibling when there is one.
    #[test]
    fn replicas_stay_apart_and_existing_volumes_never_move(
        first in 1usize..6,
        replicas in 1u64..6,
        steps in proptest::collection::vec(step(), 1..6),
        salt in 0u32..1000,
        existing in any::<bool>(),
    ) {
        let mut next = 0;
        let mut name = || { next += 1; format!("w{salt}-{next}") };
        let mut nodes: Vec<String> = (0..first).map(|_| name()).collect();
        let mut r = replicas;
        let mut prev: Option<Output> = None;
        for s in std::iter::once(None).chain(steps.into_iter().map(Some)) {
            match s {
                Some(Step::AddNode) => nodes.push(name()),
                Some(Step::RemoveNode(i)) if nodes.len() > 1 => { nodes.remove(i % nodes.len()); }
                Some(Step::RemoveNode(_)) => {}
                Some(Step::ScaleUp(k)) => r += k,
                None => {}
            }
            let refs: Vec<&str> = nodes.iter().map(String::as_str).collect();
            let livelist = match (&prev, existing) {
                (Some(p), true) => Some(live(p, true, &[])),
                _ => None,
            };
            let out = render(&db(r, true), &refs, livelist.as_deref());
            let now = placement(&out);
            prop_assert_eq!(now.len() as u64, r);
            if let (Some(p), true) = (&prev, existing) {
                let before = placement(p);
                let mut held: BTreeSet<&String> = BTreeSet::new();
                for (claim, node) in &before {
                    prop_assert_eq!(&now[claim], node, "{} moved", claim);
                    held.insert(node);
                }
                // New replicas avoid nodes holding a sibling while a free node is left.
                let mut new: Vec<(&String, &String)> =
                    now.iter().filter(|(c, _)| !before.contains_key(*c)).collect();
                new.sort_by_key(|(c, _)| c.rsplit('-').next().and_then(|o| o.parse::<u64>().ok()));
                for (claim, node) in new {
                    let free = nodes.iter().filter(|n| !held.contains(n)).count();
                    if free > 0 {
                        prop_assert!(!held.contains(node), "{} put beside a sibling on {}", claim, node);
                    }
                    held.insert(node);
                }
            } else if nodes.len() as u64 >= r {
                prop_assert!(distinct(&now), "{:?} on {:?}", now, nodes);
            }
            prev = Some(out);
        }
    }
}

#[test]
fn volumes_an_older_placement_crowded_onto_one_node_get_commands_that_free_them() {
    // Two replicas' volumes exist on one node (placed before spreading was enforced): they
    // cannot move, but the pod that never started left no data, and a free node is there now.
    let first = render(&db(2, true), &["n1", "n2"], None);
    let mut list: Value = serde_json::from_str(&live(&first, true, &[])).unwrap();
    for pv in list["items"].as_array_mut().unwrap() {
        pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] =
            json!(["n1"]);
    }
    let out = render(&db(2, true), &["n1", "n2"], Some(&list.to_string()));
    let w = warnings(&out, Code::PlacementConflict);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("the volume of data-db-1 is on n1 beside a sibling's")
            && w[0].contains("kubectl -n 'db' delete pvc 'data-db-1'")
            && w[0].contains("kubectl delete pv 'db.data-db-1'"),
        "{w:?}"
    );
    // Nothing moved: the volumes that exist are sent as they are.
    assert!(placement(&out).values().all(|n| n == "n1"));
}
