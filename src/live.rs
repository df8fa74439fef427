//! What already exists in the cluster, for the day-2 decisions that depend on it.
//!
//! A PersistentVolume that exists has a node, a path and a bound `claimRef` that must not change
//! on upgrade (see `profile::local_pv`). Helm tells a post-renderer nothing about the cluster,
//! so the user passes the live volumes: `local-pv.existing=FILE` (what `kubectl get pv -o yaml`
//! or `-o json` prints: a `List`, or a stream of PersistentVolumes) or `local-pv.existing=cluster`,
//! which runs `kubectl get pv -o json` before stdin is read. This module only parses; running
//! kubectl and reading files is the caller's (`app`), so the engine stays free of I/O.

use crate::error::UsageError;
use crate::stream;
use crate::yaml;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What the cluster has, as far as it was read: the PersistentVolumes (always), and, when the
/// source holds them, the Nodes (their labels decide where a pod may run) and the StatefulSets,
/// claims and Jobs whose immutable fields an upgrade may try to change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LivePvs {
    /// Where they came from (`cluster`, or the file), for the summary.
    pub source: String,
    /// The PersistentVolumes, in the order given.
    pub items: Vec<Value>,
    /// The Nodes, when the source lists any.
    pub nodes: Vec<Value>,
    /// StatefulSets, PersistentVolumeClaims and Jobs.
    pub objects: Vec<Value>,
    /// Which `(kind, namespace)` pairs the source lists completely, so that an object missing
    /// from it does not exist: every namespace of the kind (`None`) for `kubectl get -A`, the
    /// namespaces a file holds objects of otherwise.
    pub covered: BTreeSet<(String, Option<String>)>,
    /// What could not be read, and what follows from it, for the summary.
    pub unread: Vec<String>,
}

/// The key under which [`LivePvs::node_labels`] gives the node's name.
pub const NODE_NAME: &str = "metadata.name";

/// The namespaced kinds whose live objects are compared with an upgrade's (`immutable`).
pub const OBJECT_KINDS: &[&str] = &["StatefulSet", "PersistentVolumeClaim", "Job"];

impl LivePvs {
    /// Whether the source says what exists of `kind` in `namespace`.
    pub fn covers(&self, kind: &str, namespace: &str) -> bool {
        self.covered.contains(&(kind.to_string(), None))
            || self
                .covered
                .contains(&(kind.to_string(), Some(namespace.to_string())))
    }

    /// The live object of `kind` named `name` in `namespace`.
    pub fn object(&self, kind: &str, namespace: &str, name: &str) -> Option<&Value> {
        self.objects.iter().find(|o| {
            o.get("kind").and_then(Value::as_str) == Some(kind)
                && self::name(o) == name
                && self::namespace(o) == namespace
        })
    }

    /// The labels of the node whose label `key` is `value` (local-pv names nodes by a label,
    /// `kubernetes.io/hostname` unless told otherwise), when the source lists it.
    pub fn node_labels(&self, key: &str, value: &str) -> Option<BTreeMap<String, String>> {
        self.nodes.iter().find_map(|node| {
            let labels: BTreeMap<String, String> = node
                .get("metadata")
                .and_then(|m| m.get("labels"))
                .and_then(Value::as_object)
                .map(|l| {
                    l.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            let mut labels = labels;
            // `metadata.name` answers a node affinity's matchFields.
            labels.insert(NODE_NAME.to_string(), self::name(node).to_string());
            (labels.get(key).map(String::as_str) == Some(value)).then_some(labels)
        })
    }

    /// Add what another read of the same source found.
    pub fn extend(&mut self, more: LivePvs) {
        self.items.extend(more.items);
        self.nodes.extend(more.nodes);
        self.objects.extend(more.objects);
        self.covered.extend(more.covered);
    }
}

/// Parse live PersistentVolumes from `text` (YAML or JSON; a `List`, a `PersistentVolumeList`
/// or a stream). Other kinds are ignored; text that is not YAML is an error naming `origin`.
pub fn parse_pvs(text: &str, origin: &str) -> Result<LivePvs, UsageError> {
    let mut live = LivePvs {
        source: origin.to_string(),
        ..LivePvs::default()
    };
    for (n, seg) in stream::split(text.as_bytes()).iter().enumerate() {
        let body = &text[seg.span.clone()];
        let body = body.strip_prefix('\u{feff}').unwrap_or(body);
        if yaml::is_blank(body) {
            continue;
        }
        let v = yaml::parse_value(body).map_err(|e| {
            format!(
                "{origin}: document {} (line {}, column {}): {}",
                n + 1,
                seg.first_line + e.line - 1,
                e.column,
                e.message
            )
        })?;
        collect(v, &mut live);
    }
    Ok(live)
}

fn collect(v: Value, out: &mut LivePvs) {
    match v.get("kind").and_then(Value::as_str) {
        Some("PersistentVolume") => out.items.push(v),
        Some("Node") => out.nodes.push(v),
        Some(k) if OBJECT_KINDS.contains(&k) => {
            out.covered
                .insert((k.to_string(), Some(namespace(&v).to_string())));
            out.objects.push(v);
        }
        Some(k) if k.ends_with("List") => {
            if let Some(Value::Array(items)) = v.get("items").cloned() {
                for item in items {
                    collect(item, out);
                }
            }
        }
        _ => {}
    }
}

/// `(namespace, name)` of a PV's `claimRef`, when it has one.
pub fn claim_ref(pv: &Value) -> Option<(&str, &str)> {
    let r = pv.get("spec")?.get("claimRef")?;
    Some((r.get("namespace")?.as_str()?, r.get("name")?.as_str()?))
}

/// The PV's name.
pub fn name(pv: &Value) -> &str {
    pv.get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The object's namespace, or "".
pub fn namespace(v: &Value) -> &str {
    v.get("metadata")
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Whether Helm manages the PV (a release created it): Helm sets these on every object it owns.
pub fn helm_managed(pv: &Value) -> bool {
    let meta = pv.get("metadata");
    meta.and_then(|m| m.get("annotations"))
        .and_then(|a| a.get("meta.helm.sh/release-name"))
        .is_some()
        || meta
            .and_then(|m| m.get("labels"))
            .and_then(|l| l.get("app.kubernetes.io/managed-by"))
            .and_then(Value::as_str)
            == Some("Helm")
}

/// `status.phase` (`Bound`, `Released`, `Available`...), or "" when not given.
pub fn phase(pv: &Value) -> &str {
    pv.get("status")
        .and_then(|s| s.get("phase"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_json_list_and_yaml_streams_both_read() {
        let json = r#"{"apiVersion":"v1","kind":"List","items":[
            {"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"a"},
             "spec":{"claimRef":{"namespace":"m","name":"c"}}},
            {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}]}"#;
        let l = parse_pvs(json, "pv.json").unwrap();
        assert_eq!(l.items.len(), 1);
        assert_eq!(claim_ref(&l.items[0]), Some(("m", "c")));
        let yaml = "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: a}\n---\n\
                    apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: b}\n";
        let l = parse_pvs(yaml, "pv.yaml").unwrap();
        assert_eq!(l.items.iter().map(name).collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn a_bad_existing_file_names_itself() {
        let e = parse_pvs("a: [", "pvs.yaml").unwrap_err();
        assert!(e.message().starts_with("pvs.yaml: document 1 (line"), "{e}");
    }
}
