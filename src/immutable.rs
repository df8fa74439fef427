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

/// `-n 'ns'` for a kubectl command, or a placeholder when the stream does not say (Helm does not
/// tell post-renderers the release namespace).
fn ns_flag(id: &Identity) -> String {
    match &id.namespace {
        Some(ns) => format!("-n {}", quote(ns)),
        None => "-n <release namespace>".to_string(),
    }
}

/// The warning for an object whose `fields` would be rejected on an installed release.
pub fn advice(profile: &str, id: &Identity, fields: &[String]) -> String {
    let what = fields.join(", ");
    let name = quote(&id.name);
    let ns = ns_flag(id);
    match id.kind.as_str() {
        "StatefulSet" => format!(
            "if this release is already installed, Kubernetes rejects the upgrade: a StatefulSet's {what} \
             cannot change. Before `helm upgrade`, run `kubectl {ns} delete statefulset {name} --cascade=orphan` \
             (its pods and claims stay; the upgrade recreates it and adopts them). Claims that already exist \
             keep their old spec"
        ),
        "PersistentVolumeClaim" => format!(
            "if this claim already exists, Kubernetes rejects the upgrade: a claim's {what} cannot change \
             after creation. Either leave it out (`--skip {profile}:kind=PersistentVolumeClaim,name={}`), or move its \
             data, `kubectl {ns} delete pvc {name}` and let the upgrade create it again",
            id.name
        ),
        "Job" => format!(
            "if this Job already exists, Kubernetes rejects the upgrade: a Job's {what} cannot change. \
             Run `kubectl {ns} delete job {name}` before `helm upgrade`"
        ),
        "Deployment" | "DaemonSet" | "ReplicaSet" => format!(
            "if this release is already installed, Kubernetes rejects the upgrade: {what} cannot change. \
             Run `kubectl {ns} delete {} {name} --cascade=orphan` before `helm upgrade`",
            id.kind.to_lowercase()
        ),
        "PersistentVolume" => format!(
            "if this volume already exists, Kubernetes rejects the upgrade: a PersistentVolume's {what} cannot \
             change. Pass the live volumes (`--set local-pv.existing=cluster`) so they are sent as they are"
        ),
        "Pod" => format!(
            "if this Pod already exists, Kubernetes rejects the upgrade: a pod's {what} cannot change. \
             Run `kubectl {ns} delete pod {name}` before `helm upgrade`"
        ),
        _ => format!("if this object already exists, Kubernetes will not update its {what}"),
    }
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
        let t = advice("local-pv", &id(&a), &["spec.volumeClaimTemplates".into()]);
        assert!(
            t.contains(r"kubectl -n 'mon' delete statefulset 'it'\''s' --cascade=orphan"),
            "{t}"
        );
    }
}
