//! The volumes that exist (`local-pv.existing`): which one a claim is bound to, and whether
//! local-pv made it.

use super::*;

/// What the summary says of a volume local-pv made that exists: it stays on a node that left
/// `nodes`, or it is Released and how to reuse it.
pub(super) fn kept_notes(cfg: &Config, ns: &str, claim: &Claim, lv: &Value, ctx: &mut Ctx) {
    let node = node_of(lv).unwrap_or_default();
    if !node.is_empty() && !cfg.nodes.contains(&node) && cfg.pin(ns, &claim.name).is_none() {
        ctx.report.note_code(
            Code::LeftAlone,
            ctx.profile,
            Some(format!("PersistentVolume {}", live::name(lv))),
            format!(
                "stays on node {node}, which is not in local-pv.nodes: its data is there and a volume's node cannot \
                 change, so claim {ns}/{} and its pod stay on {node}. To move it, copy the data, delete the claim and \
                 the volume, and upgrade again",
                claim.name
            ),
        );
    }
    if live::phase(lv) == "Released" {
        ctx.report.warn(
            ctx.profile,
            Some(format!("PersistentVolume {}", live::name(lv))),
            format!(
                "is Released: its claim {ns}/{} was deleted, and the new claim cannot bind while the volume still \
                 names the old one. To reuse the data, run `kubectl patch pv {} --type json -p \
                 '[{{\"op\":\"remove\",\"path\":\"/spec/claimRef/uid\"}},{{\"op\":\"remove\",\"path\":\"/spec/claimRef/resourceVersion\"}}]'`",
                claim.name,
                quote(live::name(lv))
            ),
        );
    }
}

/// What the cluster has for one claim.
pub(super) enum LiveMatch<'a> {
    /// A volume a Helm release made (ours on an earlier upgrade): send it back as it is.
    Ours(&'a Value),
    /// The claim is bound to a volume nobody's release manages (made by hand or provisioned).
    Foreign(&'a Value),
    None,
}

/// The live volumes, by the claim they are bound to and by name.
pub(super) struct Live<'a> {
    by_claim: BTreeMap<(&'a str, &'a str), &'a Value>,
    by_name: BTreeMap<&'a str, &'a Value>,
}

impl<'a> Live<'a> {
    pub(super) fn index(live: Option<&'a crate::live::LivePvs>) -> Live<'a> {
        let mut by_claim = BTreeMap::new();
        let mut by_name = BTreeMap::new();
        for pv in live.map(|l| l.items.as_slice()).unwrap_or_default() {
            if let Some(c) = live::claim_ref(pv) {
                by_claim.entry(c).or_insert(pv);
            }
            by_name.entry(live::name(pv)).or_insert(pv);
        }
        Live { by_claim, by_name }
    }

    /// The live volume of claim `ns/claim`, whose PV would be named `name`.
    pub(super) fn of(&self, ns: &str, claim: &str, name: &str) -> LiveMatch<'a> {
        let pv = self.by_claim.get(&(ns, claim)).copied().or_else(|| {
            // A volume of that name bound to nothing (claimRef cleared by hand) is still ours.
            self.by_name
                .get(name)
                .copied()
                .filter(|pv| live::claim_ref(pv).is_none())
        });
        match pv {
            Some(pv) if made_here(pv, name) => LiveMatch::Ours(pv),
            Some(pv) => LiveMatch::Foreign(pv),
            None => LiveMatch::None,
        }
    }
}

/// Whether local-pv made a live volume, whoever applied it: it carries [`MARK`]; or it predates
/// the mark and either Helm manages it (a release made it) or it has the name and the `local`
/// source local-pv gives the claim's volume (`helm template | helm-fixup | kubectl apply`).
pub(super) fn made_here(pv: &Value, name: &str) -> bool {
    pv.at("/metadata/annotations")
        .and_then(|a| a.get(MARK))
        .is_some()
        || live::helm_managed(pv)
        || (live::name(pv) == name && pv.at("/spec/local").is_some())
}
