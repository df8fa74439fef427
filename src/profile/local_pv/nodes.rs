//! Which node each claim's volume goes to, with what the scheduler will say about it: the
//! replicas of a workload spread by `placement`, over the nodes its pods may run on (`fit`), and
//! the warnings when the nodes are too few or already crowded.

use super::*;

/// The nodes of `cfg` a pod spec may run on, as far as the live Nodes (`existing`) tell: a node
/// whose labels are known must admit the pod (`fit::admits`); of one that is not listed only
/// the node label itself is known (`fit::excluded`). `None` when no node qualifies (the caller
/// then keeps every node and warns).
pub(super) fn candidates(
    cfg: &Config,
    pods: &[&Map<String, Value>],
    live: Option<&LivePvs>,
) -> Option<Vec<String>> {
    let ok: Vec<String> = cfg
        .nodes
        .iter()
        .filter(|n| {
            pods.iter().all(
                |pod| match live.and_then(|l| l.node_labels(&cfg.label_key, n)) {
                    Some(labels) => fit::admits(pod, &labels),
                    None => fit::excluded(pod, &cfg.label_key, n).is_none(),
                },
            )
        })
        .cloned()
        .collect();
    (!ok.is_empty()).then_some(ok)
}

/// "the volume of a is" / "the volumes of a, b are", for the summary.
pub(super) fn volumes_of(claims: &[&str]) -> String {
    match claims {
        [one] => format!("the volume of {one} is"),
        many => format!("the volumes of {} are", many.join(", ")),
    }
}

/// The namespace a claim is in: its own, else `local-pv.namespace`.
pub(super) fn claim_namespace(claim: &Claim, cfg: &Config) -> Option<String> {
    claim.namespace.clone().or_else(|| cfg.namespace.clone())
}

/// The node of every replica (`(group, ordinal)`) of the workload in document `i`: volumes that
/// exist and pins stay, the others are spread (`placement::spread`) over the nodes its pods may
/// run on. Says when the nodes are too few for what the pods require, when volumes that exist
/// already share a node they cannot share, and which replicas a changed node list may move.
pub(super) fn place_workload(
    docs: &Docs,
    i: usize,
    claims: &[Claim],
    cfg: &Config,
    live: &Live,
    in_stream: &BTreeMap<(String, String), String>,
    ctx: &mut Ctx,
) -> BTreeMap<(String, u64), String> {
    // One spread per workload of the document: a StatefulSet, an operator resource, or each
    // component of an operator's cluster resource, with the pod fields of that workload.
    let mut scopes: Vec<&str> = Vec::new();
    for c in claims {
        if let Some(w) = c.workload.as_deref()
            && !scopes.contains(&w)
        {
            scopes.push(w);
        }
    }
    let mut out = BTreeMap::new();
    for scope in scopes {
        let mine: Vec<Claim> = claims
            .iter()
            .filter(|c| c.workload.as_deref() == Some(scope))
            .cloned()
            .collect();
        out.extend(place_one(docs, i, &mine, cfg, live, in_stream, ctx));
    }
    out
}

/// [`place_workload`] for the claims of one workload.
fn place_one(
    docs: &Docs,
    i: usize,
    claims: &[Claim],
    cfg: &Config,
    live: &Live,
    in_stream: &BTreeMap<(String, String), String>,
    ctx: &mut Ctx,
) -> BTreeMap<(String, u64), String> {
    let mut out = BTreeMap::new();
    let d = docs.get(i);
    let mut slots: Vec<placement::Slot> = Vec::new();
    let mut names: Vec<Vec<String>> = Vec::new();
    for c in claims {
        let Some(group) = &c.group else { continue };
        let Some(ns) = claim_namespace(c, cfg) else {
            continue;
        };
        let fixed = cfg
            .pin(&ns, &c.name)
            .map(str::to_string)
            .or_else(|| in_stream.get(&(ns.clone(), c.name.clone())).cloned())
            .or_else(|| match live.of(&ns, &c.name, &pv_name(&ns, &c.name)) {
                LiveMatch::Ours(pv) | LiveMatch::Foreign(pv) => node_of(pv),
                LiveMatch::None => None,
            });
        match slots
            .iter()
            .position(|s| s.group == *group && s.ordinal == c.ordinal)
        {
            Some(k) => {
                if slots[k].fixed.is_none() {
                    slots[k].fixed = fixed;
                }
                names[k].push(c.name.clone());
            }
            None => {
                slots.push(placement::Slot {
                    group: group.clone(),
                    ordinal: c.ordinal,
                    fixed,
                });
                names.push(vec![c.name.clone()]);
            }
        }
    }
    if slots.is_empty() {
        return out;
    }
    let pod = claims
        .first()
        .and_then(|c| c.pod.as_deref())
        .and_then(|at| d.value.at(at))
        .and_then(Value::as_object);
    let nodes = match pod.map(|p| candidates(cfg, &[p], ctx.live_pvs)) {
        Some(None) => {
            ctx.report.warn_code(
                Code::PlacementConflict,
                ctx.profile,
                Some(d.id.to_string()),
                format!(
                    "its node rules (nodeSelector, required node affinity) admit none of local-pv.nodes ({}): its \
                     pods stay Pending wherever the volumes are. Give nodes the pods may run on",
                    cfg.nodes.join(", ")
                ),
            );
            cfg.nodes.clone()
        }
        Some(Some(n)) => n,
        None => cfg.nodes.clone(),
    };
    let limit = pod.and_then(|p| fit::per_node_limit(p, &cfg.label_key));
    let placed = placement::spread(&nodes, &slots, limit.as_ref().map(|l| l.0));
    let who = Some(d.id.to_string());
    let replicas = slots.len() as u64;
    if let Some((limit, why)) = &limit {
        let crowded: Vec<&str> = placed
            .iter()
            .zip(&names)
            .filter(|(p, _)| p.crowded)
            .flat_map(|(_, n)| n.iter().map(String::as_str))
            .collect();
        if !crowded.is_empty() {
            let needed = replicas.div_ceil(*limit);
            let more = needed.saturating_sub(nodes.len() as u64);
            let given = if nodes.len() == cfg.nodes.len() {
                format!(
                    "local-pv.nodes gives {} ({})",
                    nodes.len(),
                    nodes.join(", ")
                )
            } else {
                format!(
                    "{} of local-pv.nodes admit its pods ({})",
                    nodes.len(),
                    nodes.join(", ")
                )
            };
            ctx.report.warn_code(
                Code::PlacementConflict,
                ctx.profile,
                who.clone(),
                format!(
                    "{replicas} replicas with {why} need {needed} node(s), but {given}: {} on a node with a \
                     sibling's, and {} stay Pending (\"didn't match pod anti-affinity rules\"). Add {more} more \
                     node(s) to local-pv.nodes, or lower the replicas",
                    volumes_of(&crowded),
                    if crowded.len() == 1 { "its pod would" } else { "their pods would" }
                ),
            );
        }
        // Volumes that exist and already crowd a node (placed before spreading was enforced):
        // they cannot move, but a pod that never started left no data in its volume.
        let mut held: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (k, s) in slots.iter().enumerate() {
            if let Some(n) = &s.fixed {
                held.entry(n.as_str()).or_default().push(k);
            }
        }
        let free = nodes
            .iter()
            .filter(|n| !placed.iter().any(|p| p.node == **n))
            .count();
        for (node, ks) in held.iter().filter(|(_, ks)| ks.len() as u64 > *limit) {
            let stuck: Vec<&str> = ks[*limit as usize..]
                .iter()
                .flat_map(|k| names[*k].iter().map(String::as_str))
                .collect();
            let ns = claims
                .first()
                .and_then(|c| claim_namespace(c, cfg))
                .unwrap_or_default();
            let pvs: Vec<String> = stuck
                .iter()
                .map(|c| match live.of(&ns, c, &pv_name(&ns, c)) {
                    LiveMatch::Ours(pv) | LiveMatch::Foreign(pv) => quote(live::name(pv)),
                    LiveMatch::None => quote(&pv_name(&ns, c)),
                })
                .collect();
            let fix = if free > 0 {
                format!(
                    "A node of local-pv.nodes holds none of its replicas now: if those pods never started, their volumes \
                     hold no data, so run `kubectl -n {} delete pvc {}` and `kubectl delete pv {}`, then upgrade again \
                     with local-pv.existing=cluster: the new claims get volumes on free nodes",
                    quote(&ns),
                    stuck.iter().map(|c| quote(c)).collect::<Vec<_>>().join(" "),
                    pvs.join(" ")
                )
            } else {
                format!(
                    "Add {} more node(s) to local-pv.nodes first",
                    replicas
                        .div_ceil(*limit)
                        .saturating_sub(nodes.len() as u64)
                        .max(1)
                )
            };
            ctx.report.warn_code(
                Code::PlacementConflict,
                ctx.profile,
                who.clone(),
                format!(
                    "{} on {node} beside a sibling's, and the pods require {why}: the pods stay Pending, and a \
                     volume's node cannot change. {fix}",
                    volumes_of(&stuck)
                ),
            );
        }
    }
    if ctx.live_pvs.is_none() {
        let displaced: Vec<&str> = placed
            .iter()
            .zip(&names)
            .filter(|(p, _)| p.displaced)
            .flat_map(|(_, n)| n.iter().map(String::as_str))
            .collect();
        if !displaced.is_empty() {
            ctx.report.note_code(
                Code::MayMove,
                ctx.profile,
                who,
                format!(
                    "{} placed away from its first node so that replicas do not share one: if local-pv.nodes \
                     changes, a render without local-pv.existing may move it (and Kubernetes then rejects the \
                     upgrade). Add --set local-pv.existing=cluster to every upgrade",
                    volumes_of(&displaced)
                ),
            );
        }
    }
    for (s, p) in slots.iter().zip(placed) {
        out.insert((s.group.clone(), s.ordinal), p.node);
    }
    out
}

/// The node of a claim of its own (a PVC document): its pin, the pin or node of the claim it
/// shares a pod with (`pod_anchors`), else its rendezvous node among the nodes the pods that
/// mount it may run on.
pub(super) fn lone_node(
    docs: &Docs,
    i: usize,
    cfg: &Config,
    anchors: &BTreeMap<(String, String), String>,
    mounts: &Mounts,
    key: &(String, String),
    ctx: &Ctx,
) -> String {
    let (ns, claim) = key;
    let anchor = anchors.get(key);
    if let Some(n) = cfg
        .pin(ns, claim)
        .or_else(|| anchor.and_then(|a| cfg.pin(ns, a)))
    {
        return n.to_string();
    }
    let anchor_key = (ns.clone(), anchor.unwrap_or(claim).clone());
    let pods: Vec<&Map<String, Value>> = mounts
        .get(&anchor_key)
        .map(|ps| ps.iter().map(|(p, _)| *p).collect::<Vec<_>>())
        .unwrap_or_else(|| vec![i])
        .into_iter()
        .filter_map(|p| {
            let d = docs.get(p);
            workload::pod_spec(&d.id, &d.value)
        })
        .collect();
    let nodes = candidates(cfg, &pods, ctx.live_pvs).unwrap_or_else(|| cfg.nodes.clone());
    placement::node(&nodes, &format!("{ns}/{}", anchor_key.1)).to_string()
}

/// The claims the stream's PersistentVolumes pre-bind by `claimRef`, with the node each
/// volume is pinned to when it says.
pub(super) fn stream_claim_refs(
    docs: &Docs,
    cfg: &Config,
) -> Vec<((String, String), Option<String>)> {
    docs.iter()
        .filter(|d| d.id.kind == "PersistentVolume" && d.id.api_version == "v1")
        .filter_map(|d| {
            let r = d.value.at("/spec/claimRef")?;
            let name = r.get("name")?.as_str()?;
            let ns = r
                .get("namespace")
                .and_then(Value::as_str)
                .or(cfg.namespace.as_deref())?;
            Some(((ns.to_string(), name.to_string()), node_of(&d.value)))
        })
        .collect()
}

/// Warn when the pod of document `p` may not run on the volume's node.
pub(super) fn check_fit(
    docs: &Docs,
    p: usize,
    cfg: &Config,
    pv: &Value,
    node: &str,
    ctx: &mut Ctx,
) {
    let d = docs.get(p);
    let Some(pod) = workload::pod_spec(&d.id, &d.value) else {
        return;
    };
    if let Some(why) = fit::excluded(pod, &cfg.label_key, node) {
        ctx.report.warn_code(
            Code::PlacementConflict,
            ctx.profile,
            Some(d.id.to_string()),
            format!(
                "{why}, but its volume {} is on {node}: the pod stays Pending (\"node(s) had volume node affinity \
                 conflict\"). Pin the claim to a node it may run on (--set local-pv.pin=CLAIM=NODE) or change its \
                 node rules",
                pv.at("/metadata/name").and_then(Value::as_str).unwrap_or("")
            ),
        );
    }
}
