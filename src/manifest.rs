//! Who a document is: apiVersion, kind, namespace, name and the Helm 4 filename annotation.
//! Everything the summary prints about an object and every selector matches against this.

use crate::stream::FILENAME_ANNOTATION;
use serde_json::Value;
use std::fmt;

/// The identity of one Kubernetes object in the stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identity {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub api_version: String,
    /// `postrenderer.helm.sh/postrender-filename` (Helm 4 only).
    pub filename: Option<String>,
    /// Set for Helm hooks (`helm.sh/hook` annotation): Helm 4 sends them, and the same
    /// kind/name can then appear twice in one stream.
    pub hook: bool,
}

impl Identity {
    pub fn of(doc: &Value) -> Identity {
        let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let meta = doc.get("metadata");
        let ann = meta.and_then(|m| m.get("annotations"));
        Identity {
            kind: s(doc.get("kind")).unwrap_or_default(),
            api_version: s(doc.get("apiVersion")).unwrap_or_default(),
            namespace: s(meta.and_then(|m| m.get("namespace"))).filter(|n| !n.is_empty()),
            name: s(meta.and_then(|m| m.get("name"))).unwrap_or_default(),
            filename: s(ann.and_then(|a| a.get(FILENAME_ANNOTATION))),
            hook: ann.and_then(|a| a.get("helm.sh/hook")).is_some(),
        }
    }

    /// The API group (`monitoring.coreos.com` for `monitoring.coreos.com/v1`, "" for core).
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(g, _)| g)
    }

    /// Labels of the object, for `label=` selectors.
    pub fn labels(doc: &Value) -> Option<&serde_json::Map<String, Value>> {
        doc.get("metadata")?.get("labels")?.as_object()
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name)?,
            None => write!(f, "{} {}", self.kind, self.name)?,
        }
        if self.hook {
            write!(f, " (hook)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_reads_metadata_and_helm4_annotation() {
        let doc = json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
            "metadata": {"name": "p", "namespace": "monitoring",
                "annotations": {FILENAME_ANNOTATION: "c/t.yaml", "helm.sh/hook": "pre-install"}}});
        let id = Identity::of(&doc);
        assert_eq!(id.to_string(), "Prometheus monitoring/p (hook)");
        assert_eq!(id.group(), "monitoring.coreos.com");
        assert_eq!(id.filename.as_deref(), Some("c/t.yaml"));
    }
}
