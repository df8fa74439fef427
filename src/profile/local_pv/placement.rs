//! Which node a claim's volume goes to when no live volume says so already.
//!
//! A local PersistentVolume's `nodeAffinity` cannot change, and its data is on that node, so a
//! placement must not move claims between renders without reason. Every (key, node) pair gets a
//! pseudo-random rendezvous (highest-random-weight) score, and each key ranks the nodes by it:
//! the order of `nodes` never matters, and a node added or removed changes a key's ranking only
//! by that node.
//!
//! A claim of its own (a PVC document) goes to the top of its ranking: adding a node moves it
//! only to the new node, removing one moves only the claims that were on it.
//!
//! The replicas of one workload (a StatefulSet's ordinals, an operator resource's replicas ×
//! shards) must be on distinct nodes when their pods require it (required pod anti-affinity on
//! the node label, the scheduler's "didn't match pod anti-affinity rules"), and should be when
//! nothing requires it, since replicas on one disk defeat replication. [`spread`] places them in
//! ordinal order, each on the best-ranked node of its own ranking among the nodes that hold the
//! fewest of its siblings so far. So:
//! - while there are at least as many nodes as replicas, no two replicas share a node;
//! - a replica's node depends only on the nodes and the replicas before it: scaling up never
//!   moves a replica that exists, and the same input always gives the same placement;
//! - volumes that exist (and pins) stay where they are, and the new replicas avoid their nodes.
//!
//! What spreading costs: no rule can both keep every replica on a distinct node and move claims
//! only to an added node, for every node list (with three replicas and five nodes, the rankings
//! would have to disagree pairwise on two nodes). So without the live volumes (`existing`), an
//! added node can also move a replica between old nodes when it frees the node a later replica
//! then takes. The summary names the replicas that are placed away from their first choice (the
//! only ones this can happen to), and `existing` makes every volume that exists stay put.
//!
//! Ordinal 0 ranks the nodes by the workload's score, ordinal 1 by the reverse of it, later
//! ordinals by scores of their own: the rankings of placements made before spreading was
//! enforced, so a volume placed then on a node of its own is placed there again.

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

/// The nodes ranked for `key`, best first. Ties (never seen in practice) go to the smaller name,
/// so the list order never matters.
fn ranked<'a>(nodes: &'a [String], key: &str, reverse: bool) -> Vec<&'a str> {
    let mut scored: Vec<(u64, &str)> = nodes.iter().map(|n| (score(key, n), n.as_str())).collect();
    scored.sort_by(|a, b| {
        let ord = if reverse {
            a.0.cmp(&b.0)
        } else {
            b.0.cmp(&a.0)
        };
        ord.then_with(|| a.1.cmp(b.1))
    });
    scored.into_iter().map(|(_, n)| n).collect()
}

/// The ranking of replica `ordinal` of `group` (see the module docs).
fn ranking<'a>(nodes: &'a [String], group: &str, ordinal: u64) -> Vec<&'a str> {
    match ordinal {
        0 => ranked(nodes, group, false),
        1 => ranked(nodes, group, true),
        k => ranked(nodes, &format!("{group}#{k}"), false),
    }
}

/// The node of a claim of its own (`key` is `namespace/claim`). `nodes` must not be empty.
pub fn node<'a>(nodes: &'a [String], key: &str) -> &'a str {
    ranked(nodes, key, false).first().copied().unwrap_or("")
}

/// One replica of a workload to place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// The claims of one StatefulSet (`workload::Claim::group`).
    pub group: String,
    pub ordinal: u64,
    /// Where its volume is already (a live volume, a pin), if anywhere.
    pub fixed: Option<String>,
}

/// Where one replica's volume goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub node: String,
    /// Not the top of its own ranking (spreading put it elsewhere): without the live volumes, a
    /// changed node list may move it.
    pub displaced: bool,
    /// Put on a node that already holds `limit` of its siblings, because no node had room.
    pub crowded: bool,
}

/// Place the replicas of one workload over `nodes` (the nodes its pods may run on; not empty),
/// in the order given, with at most `limit` siblings on one node when the pods require it (see
/// the module docs). A fixed slot keeps its node, whatever `nodes` says.
pub fn spread(nodes: &[String], slots: &[Slot], limit: Option<u64>) -> Vec<Placed> {
    let mut load: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for s in slots {
        if let Some(n) = &s.fixed {
            *load.entry(n.as_str()).or_default() += 1;
        }
    }
    let mut out = Vec::with_capacity(slots.len());
    for s in slots {
        if let Some(n) = &s.fixed {
            out.push(Placed {
                node: n.clone(),
                displaced: false,
                crowded: false,
            });
            continue;
        }
        let rank = ranking(nodes, &s.group, s.ordinal);
        let Some(best) = rank
            .iter()
            .enumerate()
            .min_by_key(|(pos, n)| (load.get(**n).copied().unwrap_or(0), *pos))
            .map(|(_, n)| *n)
        else {
            out.push(Placed {
                node: String::new(),
                displaced: false,
                crowded: false,
            });
            continue;
        };
        let held = load.entry(best).or_default();
        let crowded = limit.is_some_and(|l| *held >= l);
        *held += 1;
        out.push(Placed {
            node: best.to_string(),
            displaced: rank.first() != Some(&best),
            crowded,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn slots(group: &str, n: u64) -> Vec<Slot> {
        (0..n)
            .map(|k| Slot {
                group: group.to_string(),
                ordinal: k,
                fixed: None,
            })
            .collect()
    }

    fn nodes_of(p: &[Placed]) -> Vec<&str> {
        p.iter().map(|p| p.node.as_str()).collect()
    }

    #[test]
    fn adding_a_node_moves_lone_claims_only_to_the_new_node() {
        let before = list(&["a", "b", "c"]);
        let after = list(&["a", "b", "c", "d"]);
        let mut moved = 0;
        for k in 0..3000 {
            let key = format!("ns/c{k}");
            let (x, y) = (node(&before, &key), node(&after, &key));
            assert!(x == y || y == "d", "{key}: {x} -> {y}");
            moved += usize::from(x != y);
        }
        // About a quarter of the claims go to the new fourth node.
        assert!((500..1000).contains(&moved), "{moved} of 3000 moved");
    }

    #[test]
    fn two_replicas_move_only_to_an_added_node() {
        // Ordinals 0 and 1 take the top and the bottom of one ranking: a node added changes each
        // only to itself, as before spreading was enforced.
        let before = list(&["a", "b", "c"]);
        let after = list(&["a", "b", "c", "d"]);
        for g in 0..300 {
            let s = slots(&format!("g{g}"), 2);
            let (x, y) = (spread(&before, &s, Some(1)), spread(&after, &s, Some(1)));
            for (p, q) in x.iter().zip(&y) {
                assert!(p.node == q.node || q.node == "d", "g{g}: {x:?} -> {y:?}");
            }
        }
    }

    #[test]
    fn replicas_take_distinct_nodes_while_there_are_enough() {
        for n in 1..8usize {
            let nodes: Vec<String> = (0..n).map(|i| format!("node-{i}")).collect();
            for r in 1..=n as u64 {
                for g in 0..60 {
                    let p = spread(
                        &nodes,
                        &slots(&format!("StatefulSet/ns/s{g}/data"), r),
                        Some(1),
                    );
                    let mut seen = nodes_of(&p);
                    seen.sort_unstable();
                    seen.dedup();
                    assert_eq!(seen.len(), r as usize, "{n} nodes, {r} replicas: {p:?}");
                    assert!(p.iter().all(|p| !p.crowded));
                }
            }
        }
    }

    #[test]
    fn scaling_up_never_moves_a_replica() {
        let nodes = list(&["a", "b", "c", "d"]);
        for g in 0..100 {
            let group = format!("g{g}");
            let three = spread(&nodes, &slots(&group, 3), None);
            let six = spread(&nodes, &slots(&group, 6), None);
            assert_eq!(nodes_of(&three), nodes_of(&six)[..3]);
        }
    }

    #[test]
    fn more_replicas_than_nodes_are_balanced_and_crowded_only_beyond_the_limit() {
        let nodes = list(&["a", "b", "c"]);
        let p = spread(&nodes, &slots("g", 5), Some(1));
        let mut count = std::collections::BTreeMap::new();
        for q in &p {
            *count.entry(q.node.as_str()).or_insert(0) += 1;
        }
        assert_eq!(count.values().copied().max(), Some(2), "{p:?}");
        assert_eq!(p.iter().filter(|q| q.crowded).count(), 2);
        assert!(p[..3].iter().all(|q| !q.crowded));
    }

    #[test]
    fn fixed_replicas_stay_and_new_ones_avoid_their_nodes() {
        let nodes = list(&["a", "b", "c", "d"]);
        let mut s = slots("g", 4);
        s[0].fixed = Some("b".into());
        s[1].fixed = Some("b".into());
        s[2].fixed = Some("gone".into());
        let p = spread(&nodes, &s, Some(1));
        assert_eq!(nodes_of(&p)[..3], ["b", "b", "gone"]);
        assert!(p[3].node != "b", "{p:?}");
        assert!(!p[3].crowded);
    }

    #[test]
    fn node_list_order_does_not_matter() {
        let a = list(&["x", "y", "z"]);
        let b = list(&["z", "x", "y"]);
        for k in 0..50 {
            let key = format!("ns/c{k}");
            assert_eq!(node(&a, &key), node(&b, &key));
            let g = format!("g{k}");
            assert_eq!(
                spread(&a, &slots(&g, 5), Some(1)),
                spread(&b, &slots(&g, 5), Some(1))
            );
        }
    }

    #[test]
    fn lone_claims_spread_over_all_nodes() {
        let nodes = list(&["a", "b", "c"]);
        let mut count = std::collections::BTreeMap::new();
        for k in 0..3000 {
            *count.entry(node(&nodes, &format!("ns/c{k}"))).or_insert(0) += 1;
        }
        assert!(count.values().all(|&n| n > 800), "{count:?}");
    }

    #[test]
    fn rankings_are_the_ones_placements_used_before() {
        // Ordinal 0 on the workload's best node, ordinal 1 on its worst: the placement of a
        // two-replica workload is what earlier releases wrote, so an upgrade moves nothing.
        let nodes = list(&["a", "b", "c"]);
        for g in 0..50 {
            let group = format!("g{g}");
            let p = spread(&nodes, &slots(&group, 2), None);
            assert_eq!(p[0].node, ranked(&nodes, &group, false)[0]);
            assert_eq!(p[1].node, ranked(&nodes, &group, true)[0]);
        }
    }
}
