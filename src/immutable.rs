//! Fields Kubernetes will not update on an object that already exists.
//!
//! helm-fixup runs on every `helm upgrade`, so a profile turned on for a release that is already
//! installed changes objects that exist in the cluster. For most fields that is an ordinary
//! update; for the fields below the API server rejects the whole upgrade (Helm 3's patch and
//! Helm 4's server-side apply alike), with no warning beforehand. The engine compares each
//! document before and after each profile with [`changes`] and turns what it finds into an
//! `immutable-field` warning that says what a user with an installed release must do first
//! ([`advice`]). On a first install the warning costs nothing: nothing exists yet.
//!
//! The rules follow the API server's update validation (kubernetes `pkg/apis/apps/validation`
//! `ValidateStatefulSetUpdate`, `pkg/apis/core/validation` `ValidatePersistentVolumeClaimUpdate`,
//! `ValidatePersistentVolumeUpdate`, `ValidatePodUpdate`, `pkg/apis/batch/validation`
//! `ValidateJobUpdate`; see docs/day2.md for the citations). Hook Jobs and Pods are left out:
//! Helm deletes and recreates them by default (`before-hook-creation`), so they are never
//! updated in place.

use crate::live::LivePvs;
use crate::manifest::Identity;
use crate::shell::quote;
use serde_json::Value;

/// StatefulSet spec fields the API server lets an update change
/// ("updates to statefulset spec for fields other than ... are forbidden").
const STATEFULSET_MUTABLE: &[&str] = &[
    "replicas",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
    "ordinals",
    "revisionHistoryLimit",
];

/// PersistentVolume spec fields that cannot change once set: the volume source and where it is.
const PV_IMMUTABLE: &[&str] = &[
    "nodeAffinity",
    "volumeMode",
    "local",
    "hostPath",
    "nfs",
    "csi",
    "iscsi",
    "fc",
    "rbd",
    "cephfs",
    "glusterfs",
    "awsElasticBlockStore",
    "gcePersistentDisk",
    "azureDisk",
    "azureFile",
];

/// Dotted paths (`spec.volumeClaimTemplates`) of the immutable fields that differ between two
/// versions of one object; empty when an existing object would take the change.
pub fn changes(id: &Identity, before: &Value, after: &Value) -> Vec<String> {
    // Hook Jobs and Pods (tests, migrations) are deleted and recreated on every run by Helm's
    // default `before-hook-creation` policy. Other hook objects, a hook claim above all, may well
    // outlive their hook (a `pre-install` claim is never recreated on upgrade), so they are
    // judged like any object.
    if id.hook && matches!(id.kind.as_str(), "Job" | "Pod") {
        return Vec::new();
    }
    let empty = serde_json::Map::new();
    let a = before
        .get("spec")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let b = after
        .get("spec")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let differs = |k: &str| a.get(k) != b.get(k);
    let keys = || a.keys().chain(b.keys().filter(|k| !a.contains_key(*k)));
    let group = id.group();
    let fields: Vec<String> = match (group, id.kind.as_str()) {
        ("", "PersistentVolumeClaim") => keys()
            .filter(|k| *k != "volumeAttributesClassName")
            .filter(|k| {
                if *k == "resources" {
                    // Only `resources.requests` may change (a resize).
                    fn rest(v: Option<&Value>) -> Option<Vec<(&String, &Value)>> {
                        v.and_then(Value::as_object)
                            .map(|o| o.iter().filter(|(k, _)| *k != "requests").collect())
                    }
                    rest(a.get("resources")) != rest(b.get("resources"))
                } else {
                    differs(k)
                }
            })
            .cloned()
            .collect(),
        ("apps", "StatefulSet") => keys()
            .filter(|k| !STATEFULSET_MUTABLE.contains(&k.as_str()) && differs(k))
            .cloned()
            .collect(),
        ("apps", "Deployment" | "DaemonSet" | "ReplicaSet") => {
            if differs("selector") {
                vec!["selector".into()]
            } else {
                Vec::new()
            }
        }
        ("batch", "Job") => ["selector", "template"]
            .into_iter()
            .filter(|k| differs(k))
            .map(str::to_string)
            .collect(),
        ("", "PersistentVolume") => PV_IMMUTABLE
            .iter()
            .filter(|k| differs(k))
            .map(|k| (*k).to_string())
            .collect(),
        ("", "Pod") => {
            // A pod's spec is fixed once created, but for container images and a few scheduling
            // fields no profile touches; any change a profile makes to it is rejected.
            if pod_spec_without_images(a) != pod_spec_without_images(b) {
                vec![String::new()]
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    };
    fields
        .into_iter()
        .map(|f| {
            if f.is_empty() {
                "spec".to_string()
            } else {
                format!("spec.{f}")
            }
        })
        .collect()
}

/// A pod spec with container images left out (the one thing commonly updated in place).
fn pod_spec_without_images(spec: &serde_json::Map<String, Value>) -> Value {
    let mut v = Value::Object(spec.clone());
    for list in ["containers", "initContainers"] {
        if let Some(cs) = v.get_mut(list).and_then(Value::as_array_mut) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                c.remove("image");
            }
        }
    }
    v
}

/// `-n 'ns'` for a kubectl command: the object's namespace, else the one the user gave
/// (`local-pv.namespace`), else a placeholder (Helm does not tell post-renderers the release
/// namespace).
fn ns_flag(id: &Identity, fallback: Option<&str>) -> String {
    match id.namespace.as_deref().or(fallback) {
        Some(ns) => format!("-n {}", quote(ns)),
        None => "-n <release namespace>".to_string(),
    }
}

/// Whether the only immutable change is a claim's `storageClassName` going from unset to a
/// value. Kubernetes accepts that on an existing claim since 1.28 (retroactive default
/// StorageClass assignment, KEP-3333: `ValidatePersistentVolumeClaimUpdate` lets the class go
/// from nil to a value, `validateStorageClassUpgradeFromNil`), unless the claim was given
/// another class when it was created (the DefaultStorageClass admission plugin writes the
/// cluster's default into a claim that names none).
pub fn class_from_unset(id: &Identity, before: &Value, fields: &[String]) -> bool {
    id.kind == "PersistentVolumeClaim"
        && fields == ["spec.storageClassName"]
        && before
            .get("spec")
            .and_then(|s| s.get("storageClassName"))
            .is_none_or(Value::is_null)
}

/// The warning for an object whose `fields` a release installed without this change would
/// reject, when the live object is not known. `unset_class`: see [`class_from_unset`].
pub fn advice(
    profile: &str,
    id: &Identity,
    fields: &[String],
    ns: Option<&str>,
    unset_class: bool,
) -> String {
    let what = fields.join(", ");
    let name = quote(&id.name);
    let ns = ns_flag(id, ns);
    match id.kind.as_str() {
        "StatefulSet" => format!(
            "if the installed StatefulSet was created without this change, Kubernetes rejects the upgrade: a \
             StatefulSet's {what} cannot change. Only then, before `helm upgrade`, run `kubectl {ns} delete \
             statefulset {name} --cascade=orphan` (its pods and claims stay; the upgrade recreates it and adopts \
             them; claims that exist keep their old spec). Once an upgrade has brought the change, nothing is needed"
        ),
        "PersistentVolumeClaim" if unset_class => format!(
            "sets the claim's storageClassName, which the chart leaves unset. A claim that exists without a class \
             takes it (Kubernetes 1.28 and later). Only if `kubectl {ns} get pvc {name} -o \
             jsonpath='{{.spec.storageClassName}}'` prints another class (a default StorageClass the cluster gave \
             it) does Kubernetes reject the upgrade; then leave the claim out (`--skip \
             {profile}:kind=PersistentVolumeClaim,name={}`), or move its data, delete the claim and let the upgrade \
             create it again",
            id.name
        ),
        "PersistentVolumeClaim" => format!(
            "if this claim exists without this change, Kubernetes rejects the upgrade: a claim's {what} cannot \
             change after creation. Then either leave it out (`--skip {profile}:kind=PersistentVolumeClaim,name={}`), \
             or move its data, `kubectl {ns} delete pvc {name}` and let the upgrade create it again",
            id.name
        ),
        "Job" => format!(
            "if this Job exists without this change, Kubernetes rejects the upgrade: a Job's {what} cannot change. \
             Then run `kubectl {ns} delete job {name}` before `helm upgrade`"
        ),
        "Deployment" | "DaemonSet" | "ReplicaSet" => format!(
            "if the installed object was created without this change, Kubernetes rejects the upgrade: {what} cannot \
             change. Then run `kubectl {ns} delete {} {name} --cascade=orphan` before `helm upgrade`",
            id.kind.to_lowercase()
        ),
        "PersistentVolume" => format!(
            "if this volume already exists, Kubernetes rejects the upgrade: a PersistentVolume's {what} cannot \
             change. Pass the live volumes (`--set local-pv.existing=cluster`) so they are sent as they are"
        ),
        "Pod" => format!(
            "if this Pod exists without this change, Kubernetes rejects the upgrade: a pod's {what} cannot change. \
             Then run `kubectl {ns} delete pod {name}` before `helm upgrade`"
        ),
        _ => format!("if this object already exists, Kubernetes will not update its {what}"),
    }
}

/// What the live object says of an immutable change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Against {
    /// The live objects of its kind and namespace were not read.
    Unknown,
    /// It does not exist: the upgrade creates it.
    Absent,
    /// It has every changed value already, or takes the change (a class set on a claim that has
    /// none): nothing to do.
    Same,
    /// It differs where the change is: these JSON pointers, with the live value of each.
    Differs(Vec<(String, Option<Value>)>),
}

/// Compare an immutable change (`before` → `after` in `fields`) with the live object.
pub fn against_live(
    live: Option<&LivePvs>,
    id: &Identity,
    ns: Option<&str>,
    (before, after): (&Value, &Value),
    fields: &[String],
) -> Against {
    let Some(live) = live else {
        return Against::Unknown;
    };
    let Some(ns) = id.namespace.as_deref().or(ns) else {
        return Against::Unknown;
    };
    if !live.covers(&id.kind, ns) {
        return Against::Unknown;
    }
    let Some(current) = live.object(&id.kind, ns, &id.name) else {
        return Against::Absent;
    };
    let mut leaves = Vec::new();
    for f in fields {
        let pointer = format!("/{}", f.replace('.', "/"));
        leaf_diffs(
            before.pointer(&pointer),
            after.pointer(&pointer),
            pointer,
            &mut leaves,
        );
    }
    let differs: Vec<(String, Option<Value>)> = leaves
        .into_iter()
        .filter(|p| {
            let (was, now) = (current.pointer(p), after.pointer(p));
            if was == now {
                return false;
            }
            // A claim's class may go from unset to a value once (see `class_from_unset`), when
            // the claim does not name another in the old beta annotation.
            let beta = current
                .pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class")
                .and_then(Value::as_str);
            !(id.kind == "PersistentVolumeClaim"
                && p == "/spec/storageClassName"
                && was.is_none_or(Value::is_null)
                && beta.is_none_or(|b| Some(b) == now.and_then(Value::as_str)))
        })
        .map(|p| {
            let was = current.pointer(&p).cloned();
            (p, was)
        })
        .collect();
    if differs.is_empty() {
        Against::Same
    } else {
        Against::Differs(differs)
    }
}

/// The JSON pointers under `path` where `a` and `b` differ, as deep as both are objects (or
/// arrays of one length).
fn leaf_diffs(a: Option<&Value>, b: Option<&Value>, path: String, out: &mut Vec<String>) {
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let key = k.replace('~', "~0").replace('/', "~1");
                leaf_diffs(x.get(k), y.get(k), format!("{path}/{key}"), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                leaf_diffs(Some(p), Some(q), format!("{path}/{i}"), out);
            }
        }
        (a, b) if a != b => out.push(path),
        _ => {}
    }
}

/// The warning for a change the live object really rejects (`Against::Differs`).
pub fn advice_live(
    profile: &str,
    id: &Identity,
    differs: &[(String, Option<Value>)],
    after: &Value,
    ns: Option<&str>,
) -> String {
    let shown: Vec<String> = differs
        .iter()
        .take(3)
        .map(|(p, was)| {
            let field = p.trim_start_matches('/').replace('/', ".");
            let show = |v: Option<&Value>| v.map_or_else(|| "unset".to_string(), Value::to_string);
            format!(
                "{field} is {} there, {} here",
                show(was.as_ref()),
                show(after.pointer(p))
            )
        })
        .collect();
    let name = quote(&id.name);
    let ns = ns_flag(id, ns);
    let fix = match id.kind.as_str() {
        "StatefulSet" => format!(
            "Before `helm upgrade`, run `kubectl {ns} delete statefulset {name} --cascade=orphan` (its pods and \
             claims stay; the upgrade recreates it and adopts them; claims that exist keep their old spec)"
        ),
        "PersistentVolumeClaim" => format!(
            "Leave the claim out (`--skip {profile}:kind=PersistentVolumeClaim,name={}`), or move its data, \
             `kubectl {ns} delete pvc {name}` and let the upgrade create it again",
            id.name
        ),
        "Job" => format!("Run `kubectl {ns} delete job {name}` before `helm upgrade`"),
        _ => "Delete it before `helm upgrade`".to_string(),
    };
    format!(
        "Kubernetes rejects this upgrade: the live {} differs where the change cannot go ({}). {fix}",
        id.kind,
        shown.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(v: &Value) -> Identity {
        Identity::of(v)
    }

    #[test]
    fn statefulset_template_is_mutable_but_claim_templates_are_not() {
        let a = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
            "spec": {"replicas": 1, "template": {"spec": {}}, "volumeClaimTemplates": [{"spec": {}}]}});
        let mut b = a.clone();
        b["spec"]["template"]["spec"]["securityContext"] = json!({"runAsUser": 0});
        b["spec"]["replicas"] = json!(3);
        assert!(changes(&id(&a), &a, &b).is_empty());
        b["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] = json!("x");
        assert_eq!(changes(&id(&a), &a, &b), ["spec.volumeClaimTemplates"]);
    }

    #[test]
    fn claim_resize_is_allowed_but_class_is_not() {
        let a = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
            "spec": {"resources": {"requests": {"storage": "1Gi"}}}});
        let mut b = a.clone();
        b["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
        assert!(changes(&id(&a), &a, &b).is_empty());
        b["spec"]["storageClassName"] = json!("local-storage");
        assert_eq!(changes(&id(&a), &a, &b), ["spec.storageClassName"]);
    }

    #[test]
    fn hook_claims_outlive_their_hook_but_hook_jobs_are_recreated() {
        let claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "scratch", "annotations": {"helm.sh/hook": "pre-install"}},
            "spec": {"resources": {"requests": {"storage": "1Gi"}}}});
        let mut c = claim.clone();
        c["spec"]["storageClassName"] = json!("local-storage");
        assert_eq!(changes(&id(&claim), &claim, &c), ["spec.storageClassName"]);
    }

    #[test]
    fn hook_jobs_are_recreated_not_updated() {
        let a = json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "j", "annotations": {"helm.sh/hook": "post-install"}},
            "spec": {"template": {"spec": {}}}});
        let mut b = a.clone();
        b["spec"]["template"]["spec"]["securityContext"] = json!({"runAsUser": 0});
        assert!(changes(&id(&a), &a, &b).is_empty());
        let mut plain = a.clone();
        plain["metadata"]["annotations"] = json!({});
        let mut c = plain.clone();
        c["spec"]["template"]["spec"]["securityContext"] = json!({"runAsUser": 0});
        assert_eq!(changes(&id(&plain), &plain, &c), ["spec.template"]);
    }

    #[test]
    fn advice_quotes_names_and_says_what_to_run() {
        let a = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "it's", "namespace": "mon"}});
        let t = advice(
            "local-pv",
            &id(&a),
            &["spec.volumeClaimTemplates".into()],
            None,
            false,
        );
        assert!(
            t.contains(r"kubectl -n 'mon' delete statefulset 'it'\''s' --cascade=orphan"),
            "{t}"
        );
    }
}
