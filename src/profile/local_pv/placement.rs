//! Which node a claim's volume goes to when no live volume says so already.
//!
//! A local PersistentVolume's `nodeAffinity` cannot change, and its data is on that node, so a
//! placement that moves claims when the node list changes breaks the next `helm upgrade`. The
//! earlier `hash mod N` placement moved most claims when a node was added. This is rendezvous
//! (highest-random-weight) hashing: every (claim, node) pair gets a pseudo-random score, and a
//! claim goes to the node it scores highest. Adding a node can only move a claim to the new node
//! (the only new score), and removing one moves only the claims that were on it; the order of
//! `nodes` never matters.
//!
//! Replicas of one StatefulSet should be on distinct nodes. A rule that guarantees that for any
//! number of replicas cannot also keep the property above for every node list (each ordinal
//! must be "its highest-scoring node of the list", and three such rankings cannot disagree on
//! every pair of nodes), so movement wins and spreading is best effort:
//! - ordinal 0 takes the group's highest-scoring node and ordinal 1 its lowest-scoring one:
//!   with two or more nodes they never share a node, whatever the list;
//! - later ordinals rank the nodes by a score of their own (they may share a node with another
//!   replica; the summary warns when required anti-affinity then keeps a pod Pending).
//!
//! Claims of one pod share a group (see `workload::claims`), so they share a node.

use super::fnv1a;

/// A 64-bit finaliser (splitmix64): FNV-1a of strings that differ in one byte are close, and
/// the scores of two nodes must be independent.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The rendezvous score of `key` on `node`. A NUL separates them: neither can contain one.
pub fn score(key: &str, node: &str) -> u64 {
    let mut bytes = Vec::with_capacity(key.len() + node.len() + 1);
    bytes.extend_from_slice(key.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(node.as_bytes());
    mix(fnv1a(&bytes))
}

/// The node of a claim: `group` and `ordinal` for the replicas of one workload, `key`
/// (`namespace/claim`) for a claim of its own. `nodes` must not be empty.
pub fn node<'a>(nodes: &'a [String], group: Option<&str>, ordinal: u64, key: &str) -> &'a str {
    let best = |key: &str, highest: bool| {
        nodes
            .iter()
            // Ties (never seen in practice) go to the smaller name, so the list order never matters.
            .max_by(|a, b| {
                let (sa, sb) = (score(key, a), score(key, b));
                let ord = if highest { sa.cmp(&sb) } else { sb.cmp(&sa) };
                ord.then_with(|| b.cmp(a))
            })
            .map_or("", String::as_str)
    };
    match (group, ordinal) {
        (None, _) => best(key, true),
        (Some(g), 0) => best(g, true),
        (Some(g), 1) => best(g, false),
        (Some(g), k) => best(&format!("{g}#{k}"), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn adding_a_node_moves_claims_only_to_the_new_node() {
        let before = list(&["a", "b", "c"]);
        let after = list(&["a", "b", "c", "d"]);
        let mut moved = 0;
        for g in 0..300 {
            let group = format!("StatefulSet/ns/s{g}/data");
            for k in 0..5 {
                let key = format!("ns/c{g}-{k}");
                for grp in [None, Some(group.as_str())] {
                    let (x, y) = (node(&before, grp, k, &key), node(&after, grp, k, &key));
                    assert!(x == y || y == "d", "{grp:?} {k}: {x} -> {y}");
                    moved += usize::from(x != y);
                }
            }
        }
        // About a quarter of the claims go to the new fourth node.
        assert!((500..1000).contains(&moved), "{moved} of 3000 moved");
    }

    #[test]
    fn removing_a_node_moves_only_its_claims() {
        let before = list(&["a", "b", "c"]);
        let after = list(&["a", "c"]);
        for g in 0..200 {
            let group = format!("g{g}");
            for k in 0..4 {
                let x = node(&before, Some(&group), k, "");
                let y = node(&after, Some(&group), k, "");
                assert!(x == y || x == "b", "{group} {k}: {x} -> {y}");
            }
        }
    }

    #[test]
    fn first_two_replicas_never_share_a_node() {
        for nodes in [list(&["a", "b"]), list(&["n1", "n2", "n3", "n4", "n5"])] {
            for g in 0..200 {
                let group = format!("g{g}");
                assert_ne!(
                    node(&nodes, Some(&group), 0, ""),
                    node(&nodes, Some(&group), 1, "")
                );
            }
        }
    }

    #[test]
    fn node_list_order_does_not_matter() {
        let a = list(&["x", "y", "z"]);
        let b = list(&["z", "x", "y"]);
        for k in 0..50 {
            let key = format!("ns/c{k}");
            assert_eq!(node(&a, None, 0, &key), node(&b, None, 0, &key));
            assert_eq!(node(&a, Some("g"), k, ""), node(&b, Some("g"), k, ""));
        }
    }

    #[test]
    fn claims_spread_over_all_nodes() {
        let nodes = list(&["a", "b", "c"]);
        let mut count = std::collections::BTreeMap::new();
        for k in 0..3000 {
            *count
                .entry(node(&nodes, None, 0, &format!("ns/c{k}")))
                .or_insert(0) += 1;
        }
        assert!(count.values().all(|&n| n > 800), "{count:?}");
    }
}
