//! Will the pod be allowed on the node its volume is on?
//!
//! A local volume pins its pod to one node. When the pod's own scheduling rules exclude that
//! node, the scheduler reports `node(s) had volume node affinity conflict` (or `didn't match
//! Pod's node affinity/selector`) and the pod stays `Pending`, with nothing in the install to say
//! why. These checks see only the one node label local-pv matches (`nodeLabelKey`), so they
//! report a conflict only when it is certain: a rule on any other label might match.

use crate::live;
use crate::workload;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

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

/// How many replicas of one workload a node may hold, when the pod spec limits it on the node
/// label `key`, with the reason in words: one for required pod anti-affinity ("didn't match pod
/// anti-affinity rules"), `maxSkew` for a `DoNotSchedule` topology spread (the scheduler's
/// PodTopologySpread counts every eligible node, and nodes outside `local-pv.nodes` hold none of
/// these replicas, so a node may hold at most `maxSkew`). The terms' label selectors are not
/// evaluated: charts write them for the workload's own pods.
pub fn per_node_limit(pod: &Map<String, Value>, key: &str) -> Option<(u64, String)> {
    let anti = workload::items(
        pod.get("affinity")
            .and_then(|a| a.get("podAntiAffinity"))
            .and_then(|a| a.get("requiredDuringSchedulingIgnoredDuringExecution")),
    )
    .any(|t| t.get("topologyKey").and_then(Value::as_str) == Some(key));
    if anti {
        return Some((1, format!("required pod anti-affinity on {key}")));
    }
    workload::items(pod.get("topologySpreadConstraints"))
        .filter(|c| {
            c.get("topologyKey").and_then(Value::as_str) == Some(key)
                && c.get("whenUnsatisfiable").and_then(Value::as_str) == Some("DoNotSchedule")
        })
        .map(|c| c.get("maxSkew").and_then(Value::as_u64).unwrap_or(1).max(1))
        .min()
        .map(|skew| {
            (
                skew,
                format!("a DoNotSchedule topology spread on {key} with maxSkew {skew}"),
            )
        })
}

/// Whether a pod spec may run on a node with these labels: its `nodeSelector` and its required
/// node affinity (terms ORed, expressions ANDed, as the scheduler's NodeAffinity plugin reads
/// them; `matchFields` on `metadata.name`).
pub fn admits(pod: &Map<String, Value>, labels: &BTreeMap<String, String>) -> bool {
    if let Some(sel) = pod.get("nodeSelector").and_then(Value::as_object)
        && sel
            .iter()
            .any(|(k, v)| labels.get(k).map(String::as_str) != v.as_str())
    {
        return false;
    }
    let Some(required) = pod
        .get("affinity")
        .and_then(|a| a.get("nodeAffinity"))
        .and_then(|a| a.get("requiredDuringSchedulingIgnoredDuringExecution"))
    else {
        return true;
    };
    workload::items(required.get("nodeSelectorTerms")).any(|t| {
        let exprs = workload::items(t.get("matchExpressions"));
        let fields = workload::items(t.get("matchFields"));
        // An empty term matches no node.
        (exprs.len() > 0 || fields.len() > 0)
            && exprs.clone().all(|e| requirement(e, labels, false))
            && fields.clone().all(|e| requirement(e, labels, true))
    })
}

/// One node selector requirement against the node's labels (or, for `matchFields`, its name).
fn requirement(e: &Value, labels: &BTreeMap<String, String>, field: bool) -> bool {
    let Some(key) = e.get("key").and_then(Value::as_str) else {
        return false;
    };
    let key = if field && key == "metadata.name" {
        live::NODE_NAME
    } else if field {
        return false;
    } else {
        key
    };
    let value = labels.get(key).map(String::as_str);
    let values: Vec<&str> = workload::items(e.get("values"))
        .filter_map(Value::as_str)
        .collect();
    let number = |s: &str| s.trim().parse::<i64>().ok();
    match e.get("operator").and_then(Value::as_str) {
        Some("In") => value.is_some_and(|v| values.contains(&v)),
        Some("NotIn") => value.is_none_or(|v| !values.contains(&v)),
        Some("Exists") => value.is_some(),
        Some("DoesNotExist") => value.is_none(),
        Some("Gt") => {
            matches!((value.and_then(number), values.first().and_then(|v| number(v))), (Some(a), Some(b)) if a > b)
        }
        Some("Lt") => {
            matches!((value.and_then(number), values.first().and_then(|v| number(v))), (Some(a), Some(b)) if a < b)
        }
        _ => false,
    }
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
        assert_eq!(per_node_limit(&p, K).map(|l| l.0), Some(1));
        assert!(per_node_limit(&p, "topology.kubernetes.io/zone").is_none());
        let soft = pod(
            json!({"affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution":
            [{"weight": 100, "podAffinityTerm": {"topologyKey": K}}]}}}),
        );
        assert!(per_node_limit(&soft, K).is_none());
    }

    #[test]
    fn do_not_schedule_topology_spread_limits_each_node_to_max_skew() {
        let p = pod(json!({"topologySpreadConstraints": [
            {"maxSkew": 2, "topologyKey": K, "whenUnsatisfiable": "DoNotSchedule"},
            {"maxSkew": 1, "topologyKey": K, "whenUnsatisfiable": "ScheduleAnyway"}]}));
        assert_eq!(per_node_limit(&p, K).map(|l| l.0), Some(2));
        let any = pod(json!({"topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": K, "whenUnsatisfiable": "ScheduleAnyway"}]}));
        assert!(per_node_limit(&any, K).is_none());
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn node_selector_and_required_node_affinity_read_the_node_labels() {
        let ssd = labels(&[("disk", "ssd"), ("cores", "16"), (live::NODE_NAME, "n1")]);
        let hdd = labels(&[("disk", "hdd"), ("cores", "4"), (live::NODE_NAME, "n2")]);
        let sel = pod(json!({"nodeSelector": {"disk": "ssd"}}));
        assert!(admits(&sel, &ssd) && !admits(&sel, &hdd));
        let aff = pod(
            json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["8"]}]},
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n9"]}]}]}}}}),
        );
        assert!(admits(&aff, &ssd) && !admits(&aff, &hdd));
        let not_in = pod(
            json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "disk", "operator": "NotIn", "values": ["hdd"]},
                {"key": "gpu", "operator": "DoesNotExist"}]}]}}}}),
        );
        assert!(admits(&not_in, &ssd) && !admits(&not_in, &hdd));
        assert!(admits(&pod(json!({})), &hdd));
    }
}
