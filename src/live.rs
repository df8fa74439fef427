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

/// The live PersistentVolumes, in the order given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LivePvs {
    /// Where they came from (`cluster`, or the file), for the summary.
    pub source: String,
    pub items: Vec<Value>,
}

/// Parse live PersistentVolumes from `text` (YAML or JSON; a `List`, a `PersistentVolumeList`
/// or a stream). Other kinds are ignored; text that is not YAML is an error naming `origin`.
pub fn parse_pvs(text: &str, origin: &str) -> Result<LivePvs, UsageError> {
    let mut items = Vec::new();
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
        collect(v, &mut items);
    }
    Ok(LivePvs {
        source: origin.to_string(),
        items,
    })
}

fn collect(v: Value, out: &mut Vec<Value>) {
    match v.get("kind").and_then(Value::as_str) {
        Some("PersistentVolume") => out.push(v),
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
