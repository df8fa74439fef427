//! Will the pod be allowed on the node its volume is on?
//!
//! A local volume pins its pod to one node. When the pod's own scheduling rules exclude that
//! node, the scheduler reports `node(s) had volume node affinity conflict` (or `didn't match
//! Pod's node affinity/selector`) and the pod stays `Pending`, with nothing in the install to say
//! why. These checks see only the one node label local-pv matches (`nodeLabelKey`), so they
//! report a conflict only when it is certain: a rule on any other label might match.

use crate::workload;
use serde_json::{Map, Value};

/// Why a pod spec cannot run on the node whose `key` label is `node`, or `None` when it can (or
/// when the stream cannot tell).
pub fn excluded(pod: &Map<String, Value>, key: &str, node: &str) -> Option<String> {
    if let Some(want) = pod
        .get("nodeSelector")
        .and_then(|s| s.get(key))
        .and_then(Value::as_str)
        && want != node
    {
        return Some(format!("its nodeSelector asks for {key}={want}"));
    }
    let terms = workload::items(
        pod.get("affinity")
            .and_then(|a| a.get("nodeAffinity"))
            .and_then(|a| a.get("requiredDuringSchedulingIgnoredDuringExecution"))
            .and_then(|r| r.get("nodeSelectorTerms")),
    )
    .as_slice();
    // Terms are ORed; an empty list matches nothing but the API server rejects it, so skip it.
    if terms.is_empty() || !terms.iter().all(|t| term_fails(t, key, node)) {
        return None;
    }
    Some(format!("its required node affinity excludes {key}={node}"))
}

/// A node selector term certainly fails for the node: one of its expressions on `key` fails
/// (expressions are ANDed), and none of them is on a label we cannot see.
fn term_fails(term: &Value, key: &str, node: &str) -> bool {
    if workload::items(term.get("matchFields")).len() > 0 {
        return false;
    }
    workload::items(term.get("matchExpressions")).any(|e| {
        if e.get("key").and_then(Value::as_str) != Some(key) {
            return false;
        }
        let values: Vec<&str> = workload::items(e.get("values"))
            .filter_map(Value::as_str)
            .collect();
        match e.get("operator").and_then(Value::as_str) {
            Some("In") => !values.contains(&node),
            Some("NotIn") => values.contains(&node),
            Some("DoesNotExist") => true,
            _ => false,
        }
    })
}

/// Whether the pod spec requires its replicas on distinct values of `key` (required pod
/// anti-affinity with that topology key). The term's label selector is not evaluated: charts
/// write it for the workload's own pods.
pub fn one_per_node(pod: &Map<String, Value>, key: &str) -> bool {
    workload::items(
        pod.get("affinity")
            .and_then(|a| a.get("podAntiAffinity"))
            .and_then(|a| a.get("requiredDuringSchedulingIgnoredDuringExecution")),
    )
    .any(|t| t.get("topologyKey").and_then(Value::as_str) == Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    const K: &str = "kubernetes.io/hostname";

    #[test]
    fn node_selector_on_another_node_is_a_conflict() {
        let p = pod(json!({"nodeSelector": {K: "b"}}));
        assert!(excluded(&p, K, "a").is_some());
        assert!(excluded(&p, K, "b").is_none());
        let other = pod(json!({"nodeSelector": {"disk": "ssd"}}));
        assert!(excluded(&other, K, "a").is_none());
    }

    #[test]
    fn node_affinity_conflicts_only_when_every_term_fails() {
        let p = pod(
            json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": K, "operator": "In", "values": ["b", "c"]}]},
                {"matchExpressions": [{"key": K, "operator": "NotIn", "values": ["a"]}]}]}}}}),
        );
        assert!(excluded(&p, K, "a").is_some());
        assert!(excluded(&p, K, "b").is_none());
        let unknown = pod(
            json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["x"]}]}]}}}}),
        );
        assert!(excluded(&unknown, K, "a").is_none());
    }

    #[test]
    fn required_anti_affinity_on_the_node_label_is_one_per_node() {
        let p = pod(
            json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            [{"topologyKey": K, "labelSelector": {"matchLabels": {"app": "x"}}}]}}}),
        );
        assert!(one_per_node(&p, K));
        assert!(!one_per_node(&p, "topology.kubernetes.io/zone"));
        let soft = pod(
            json!({"affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution":
            [{"weight": 100, "podAffinityTerm": {"topologyKey": K}}]}}}),
        );
        assert!(!one_per_node(&soft, K));
    }
}
