//! `openshift`: take out the fixed uids, gids and fsGroups charts set, so OpenShift's
//! `restricted-v2` SecurityContextConstraints (SCC) can assign the namespace's own.
//!
//! Charts pin ids (kube-prometheus-stack `runAsUser: 1000, runAsGroup: 2000, fsGroup: 2000`,
//! grafana 472, the operator and node-exporter 65534; prometheus-community/helm-charts #3370,
//! #4207, #1038), and restricted-v2, which every authenticated user gets, rejects every one of
//! them. So every `runAsUser`, `runAsGroup` and `fsGroup` of a pod spec, its containers and init
//! containers, and of a prometheus-operator resource's `spec.securityContext` and
//! `spec.containers`/`spec.initContainers` patches is removed. `runAsNonRoot`, `seccompProfile`,
//! capabilities, `supplementalGroups` and `fsGroupChangePolicy` stay: the SCC accepts them, and
//! the SCC gives the pod an fsGroup, which `fsGroupChangePolicy` still governs.
//!
//! The OpenShift facts this relies on (docs/openshift.md has the same list for users):
//! - restricted-v2 (openshift/cluster-kube-apiserver-operator
//!   `bindata/bootkube/scc-manifests/0000_20_kube-apiserver-operator_00_scc-restricted-v2.yaml`):
//!   `runAsUser: MustRunAsRange`, `fsGroup: MustRunAs`, `supplementalGroups: RunAsAny`,
//!   `seLinuxContext: MustRunAs`, `requiredDropCapabilities: [ALL]`, `allowedCapabilities:
//!   [NET_BIND_SERVICE]`, `allowPrivilegeEscalation: false`, `allowPrivilegedContainer: false`,
//!   no host namespaces, ports or hostPath, seccomp `runtime/default`, volumes configMap,
//!   downwardAPI, emptyDir, persistentVolumeClaim, projected, secret.
//! - The range comes from the namespace (openshift/apiserver-library-go
//!   `pkg/securitycontextconstraints/sccmatching/matcher.go` `CreateProviderFromConstraint`):
//!   uids from the annotation `openshift.io/sa.scc.uid-range`; the fsGroup from the first block
//!   of `openshift.io/sa.scc.supplemental-groups` (falling back to the uid range), and only that
//!   one value is allowed (`getPreallocatedFSGroup`: `Min` = `Max` = the block's start).
//! - With no `runAsUser` on the container or the pod, admission sets the container's to the
//!   range's first uid (`sccmatching/provider.go` `CreateContainerSecurityContext`,
//!   `user/mustrunasrange.go` `Generate`), so every container of the pod gets the same uid; an
//!   explicit one outside the range is refused (`must be in the ranges: [min, max]`). With no
//!   `fsGroup` the pod gets the first gid (`CreatePodSecurityContext`, `group/mustrunas.go`
//!   `GenerateSingle`); another one is refused (`... is not an allowed group`).
//! - An SCC has no runAsGroup strategy (neither `securityv1.SecurityContextConstraints` nor the
//!   provider reads it), so a fixed `runAsGroup` is not what gets a pod refused. It is removed
//!   all the same: it was chosen to go with the chart's uid, and OpenShift images are built for
//!   an arbitrary uid in the root group (gid 0: files the app writes are group 0 and
//!   group-writable; OpenShift's "Creating images" guidelines, "Support arbitrary user ids"),
//!   which a fixed primary gid such as 2000 takes away.
//! - Capabilities: only `allowedCapabilities` (and `defaultAddCapabilities`) may be added
//!   (`capabilities/mustrunas.go` `Validate`: `capability may not be added`). anyuid allows none,
//!   only `privileged` allows any: a chown helper that adds CHOWN needs more than anyuid.
//! - SCCs are chosen per pod, not per container: one root helper puts the whole pod under
//!   another SCC, and anyuid (`runAsUser`/`fsGroup: RunAsAny`) assigns no uid and no fsGroup.
//!
//! What is left alone, and reported (code `scc`): containers that need more than restricted-v2
//! gives ([`needs_root`]: uid 0, added capabilities, privileged, privilege escalation, a chown
//! helper), whose security context stays as the chart wrote it (they need another SCC anyway,
//! which allows their ids), and pod specs whose `runAsUser` is 0 (root on purpose: removing the
//! pod's uid would change who its containers run as). Each report says what to do: drop the
//! helper (restricted-v2's fsGroup makes PVC volumes on block storage, local volumes and
//! emptyDirs group-writable: the kubelet applies it to every volume that supports ownership,
//! `pkg/volume/local/local.go` `SetUpAt` calls `SetVolumeOwnership`), or which SCC to grant to
//! the pod's service account. Host namespaces, host ports, hostPath and inline nfs volumes
//! ([`host_access`]) are reported the same way.
//!
//! Conflicts: root-run and shared-uid set the uids this fix removes. Both with it on one pod is
//! a usage error (exit 3) that names the pod, as root-run and shared-uid are; other pods are
//! fine (`--skip shared-uid:name=...`). init-chown's `fixup-chown` is reported like any root
//! helper, with a word that it chowns to the ids removed here.

use super::driver::{Findings, Planning, PodFix};
use super::{Ctx, Docs, Fix, Params, UsageError};
use crate::manifest::Identity;
use crate::report::{Code, failure};
use crate::workload;
use serde_json::{Map, Value};

pub struct OpenShift;

/// The fixes that set the uids this one removes: both on one pod is a contradiction.
const CONTRADICTS: &[&str] = &["root-run", "shared-uid"];

/// The one capability restricted-v2 lets a container add.
const ALLOWED_ADD: &str = "NET_BIND_SERVICE";

/// The id fields of a pod's securityContext and of a container's.
const POD_IDS: [&str; 3] = ["runAsUser", "runAsGroup", "fsGroup"];
const CONTAINER_IDS: [&str; 2] = ["runAsUser", "runAsGroup"];

/// A container that restricted-v2 rejects as it stands, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootNeed {
    pub container: String,
    /// An init container (chown helpers are).
    pub init: bool,
    /// Why, in words: `runs as uid 0`, `adds capabilities CHOWN, DAC_OVERRIDE`, ...
    pub reasons: Vec<String>,
    /// It runs as uid 0 (its own runAsUser, or the pod's).
    pub root: bool,
    /// An init container that runs chown/chmod: a volume-permissions helper the pod can do
    /// without under restricted-v2, whose fsGroup does that job.
    pub helper: bool,
    /// Capabilities it adds that restricted-v2 (and anyuid) refuse.
    pub adds: Vec<String>,
    /// `privileged: true`.
    pub privileged: bool,
    /// `allowPrivilegeEscalation: true`.
    pub escalation: bool,
}

/// Whether a pod spec's own `runAsUser` is 0: the chart runs the pod as root on purpose.
fn root_pod(pod: &Map<String, Value>) -> bool {
    workload::sc_int(pod.get("securityContext"), "runAsUser") == Some(0)
}

/// Whether a command line runs `chown` or `chmod` (as a word, also inside `sh -c '...'`).
fn runs_chown(c: &Value) -> bool {
    workload::command_line(c)
        .filter_map(Value::as_str)
        .flat_map(|s| s.split(|ch: char| !(ch.is_ascii_alphanumeric() || "/_.-".contains(ch))))
        .any(|w| matches!(w.rsplit('/').next(), Some("chown" | "chmod")))
}

/// Every container of a pod spec (for a CR: its `spec.containers`/`spec.initContainers`
/// patches) that restricted-v2 rejects, with the reasons. Read-only; `diagnose` can call it.
///
/// A container needs more than restricted-v2 when it runs as uid 0 (its own `runAsUser`, or the
/// pod's), adds a capability other than NET_BIND_SERVICE, is privileged, allows privilege
/// escalation, or is an init container that runs chown/chmod with no non-root uid of its own
/// (the image decides, and a chown helper's image runs as root: under the SCC's uid its chown
/// fails).
pub fn needs_root(pod: &Map<String, Value>) -> Vec<RootNeed> {
    let pod_root = root_pod(pod);
    let mut out = Vec::new();
    for (list, init) in [("initContainers", true), ("containers", false)] {
        for c in workload::items(pod.get(list)) {
            let sc = c.get("securityContext");
            let own = workload::sc_int(sc, "runAsUser");
            let uid = own.or_else(|| workload::sc_int(pod.get("securityContext"), "runAsUser"));
            let mut need = RootNeed {
                container: workload::container_name(c).to_string(),
                init,
                reasons: Vec::new(),
                root: uid == Some(0),
                helper: init && runs_chown(c) && uid.is_none_or(|u| u == 0),
                adds: workload::items(
                    sc.and_then(|s| s.get("capabilities"))
                        .and_then(|c| c.get("add")),
                )
                .filter_map(Value::as_str)
                .filter(|a| *a != ALLOWED_ADD)
                .map(str::to_string)
                .collect(),
                privileged: sc.and_then(|s| s.get("privileged")) == Some(&Value::Bool(true)),
                escalation: sc.and_then(|s| s.get("allowPrivilegeEscalation"))
                    == Some(&Value::Bool(true)),
            };
            if need.root {
                need.reasons.push(if own == Some(0) || !pod_root {
                    "runs as uid 0".to_string()
                } else {
                    "runs as uid 0 (the pod's runAsUser)".to_string()
                });
            }
            if need.helper {
                need.reasons
                    .push("runs chown/chmod on its volumes".to_string());
            }
            if !need.adds.is_empty() {
                need.reasons
                    .push(format!("adds capabilities {}", need.adds.join(", ")));
            }
            if need.privileged {
                need.reasons.push("is privileged".to_string());
            }
            if need.escalation {
                need.reasons.push("allows privilege escalation".to_string());
            }
            if !need.reasons.is_empty() {
                out.push(need);
            }
        }
    }
    out
}

/// What a pod spec uses of the node that restricted-v2 refuses: host namespaces, host ports,
/// hostPath and inline nfs volumes (neither is in its `volumes`), in words.
pub fn host_access(pod: &Map<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = ["hostNetwork", "hostPID", "hostIPC"]
        .into_iter()
        .filter(|k| pod.get(*k) == Some(&Value::Bool(true)))
        .map(str::to_string)
        .collect();
    for (source, what) in [("hostPath", "hostPath"), ("nfs", "nfs")] {
        let names: Vec<&str> = workload::items(pod.get("volumes"))
            .filter(|v| v.get(source).is_some_and(|s| !s.is_null()))
            .map(|v| workload::name(v).unwrap_or("?"))
            .collect();
        if !names.is_empty() {
            out.push(format!(
                "{what} volume{} {}",
                plural(names.len()),
                names.join(", ")
            ));
        }
    }
    let ports = workload::containers(pod)
        .flat_map(|c| workload::items(c.get("ports")))
        .any(|p| {
            p.get("hostPort")
                .and_then(workload::whole_number)
                .is_some_and(|n| n > 0)
        });
    if ports {
        out.push("hostPort".to_string());
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Remove the fixed ids of a pod spec, leaving root where the chart asked for it (see the
/// module doc); only containers `allowed` (the `container=` selectors) are touched. Returns
/// what was removed, as ("where", value), where is `<pointer>.securityContext.runAsUser` for
/// the pod level and `container NAME runAsGroup` / `init container NAME runAsUser` for the
/// others.
fn strip(
    pointer: &str,
    pod: &mut Map<String, Value>,
    allowed: &dyn Fn(&str) -> bool,
) -> Vec<(String, i64)> {
    let mut removed = Vec::new();
    if root_pod(pod) {
        return removed;
    }
    // Read before the pod level changes: a helper's uid may come from there.
    let roots: Vec<String> = needs_root(pod)
        .into_iter()
        .filter(|n| n.root || n.helper)
        .map(|n| n.container)
        .collect();
    let at = pointer.trim_start_matches('/').replace('/', ".");
    let at = if at.is_empty() {
        "securityContext".to_string()
    } else {
        format!("{at}.securityContext")
    };
    take_ids(pod, &POD_IDS, &mut |field, v| {
        removed.push((format!("{at}.{field}"), v))
    });
    for (list, what) in [
        ("initContainers", "init container"),
        ("containers", "container"),
    ] {
        for c in workload::items_mut(pod.get_mut(list)) {
            let name = workload::container_name(c).to_string();
            // A root container keeps its context: it needs another SCC, which allows its ids.
            if !allowed(&name) || roots.contains(&name) {
                continue;
            }
            let Some(c) = c.as_object_mut() else { continue };
            take_ids(c, &CONTAINER_IDS, &mut |field, v| {
                removed.push((format!("{what} {name} {field}"), v))
            });
        }
    }
    removed
}

/// Remove `fields` from `obj.securityContext` where they hold an id Kubernetes accepts (a value
/// it refuses is the chart's bug, named by `workload::bad_numbers`, and left as it is), and the
/// context itself when that leaves it empty.
fn take_ids(obj: &mut Map<String, Value>, fields: &[&str], found: &mut dyn FnMut(&str, i64)) {
    let Some(sc) = obj
        .get_mut("securityContext")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let before = sc.len();
    for field in fields {
        if let Some(v) = sc.get(*field).and_then(workload::id_value) {
            sc.shift_remove(*field);
            found(field, v);
        }
    }
    // A context we emptied says nothing any more: drop it rather than leave `{}`.
    if sc.is_empty() && before > 0 {
        obj.shift_remove("securityContext");
    }
}

/// The fixed uids, gids and fsGroups of a document's pod spec that this profile removes, as
/// ("where", value): `spec.template.spec.securityContext.runAsUser` for the pod level,
/// `container grafana runAsUser` for a container. Empty for a document without a pod spec.
/// For `diagnose` under `--assume platform=openshift`: each is a pod restricted-v2 rejects.
pub fn fixed_ids(id: &Identity, doc: &Value) -> Vec<(String, i64)> {
    let (Some(pointer), Some(pod)) = (workload::pod_spec_pointer(id), workload::pod_spec(id, doc))
    else {
        return Vec::new();
    };
    let mut pod = pod.clone();
    strip(pointer, &mut pod, &|_| true)
}

/// The SCC of OpenShift's defaults that admits what `needs` (and the pod's `host` access) ask
/// for, the least of them. From the SCC manifests of openshift/cluster-kube-apiserver-operator:
/// anyuid (any uid, privilege escalation, no added capability, no host access), hostmount-anyuid
/// (anyuid plus hostPath and nfs), hostnetwork-v2 (host network and ports, the namespace's
/// uids), hostaccess (host namespaces and hostPath, the namespace's uids, escalation), and
/// privileged (everything, and the only one that allows adding capabilities).
fn scc_for(needs: &[RootNeed], host: &[String]) -> &'static str {
    let caps = needs.iter().any(|n| n.privileged || !n.adds.is_empty());
    let root = needs.iter().any(|n| n.root || n.helper);
    let escalation = needs.iter().any(|n| n.escalation);
    let has = |w: &str| host.iter().any(|h| h.starts_with(w));
    let namespaces = has("hostNetwork") || has("hostPID") || has("hostIPC") || has("hostPort");
    let mounts = has("hostPath") || has("nfs");
    if caps || (root && namespaces) || (has("nfs") && namespaces) {
        "privileged"
    } else if root || (escalation && !namespaces && !has("hostPath")) {
        if mounts { "hostmount-anyuid" } else { "anyuid" }
    } else if has("nfs") {
        "hostmount-anyuid"
    } else if has("hostPID") || has("hostIPC") || has("hostPath") || escalation {
        "hostaccess"
    } else {
        "hostnetwork-v2"
    }
}

/// What a chart calls the switch that drops a known volume-permissions helper.
fn helper_switch(container: &str, object: &Identity) -> Option<String> {
    match container {
        "init-chown-data" => Some("grafana chart: initChownData.enabled=false".to_string()),
        "volume-permissions" | "init-chmod-data" => {
            Some("bitnami charts: volumePermissions.enabled=false".to_string())
        }
        super::init_chown::NAME => Some(format!(
            "leave init-chown out for it: --skip init-chown:name={}; it chowns to the chart's \
             ids, which this profile removes, and would undo the fsGroup the SCC gives the volume",
            object.name
        )),
        _ => None,
    }
}

/// The `oc` command that lets the pod's service account use `scc`.
fn grant(scc: &str, pod: &Map<String, Value>, id: &Identity) -> String {
    let sa = ["serviceAccountName", "serviceAccount"]
        .iter()
        .find_map(|k| {
            pod.get(*k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        })
        .unwrap_or("default");
    format!(
        "oc adm policy add-scc-to-user {scc} -z {} -n {}",
        word(sa),
        word(id.namespace.as_deref().unwrap_or("NAMESPACE"))
    )
}

/// A name as a shell word: as it is when it is a plain Kubernetes name (what they are, when the
/// API server accepts them), quoted otherwise.
fn word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if plain {
        s.to_string()
    } else {
        crate::shell::quote(s)
    }
}

/// The advice for one container restricted-v2 rejects.
fn advise(need: &RootNeed, scc: &str, pod: &Map<String, Value>, id: &Identity) -> String {
    let what = if need.init {
        "init container"
    } else {
        "container"
    };
    let mut s = format!(
        "{what} {} {}: restricted-v2 rejects the pod. ",
        need.container,
        need.reasons.join(", ")
    );
    if need.helper || (need.init && need.root) {
        s.push_str(&format!(
            "Drop it{}: restricted-v2 gives the pod the namespace's fsGroup, and the kubelet makes \
             volumes that support ownership (PVCs on block storage, local volumes, emptyDir) \
             writable by it. Or ",
            helper_switch(&need.container, id).map_or(String::new(), |h| format!(" ({h})"))
        ));
    } else {
        s.push_str("Change it in the chart's values, or ");
    }
    s.push_str(&format!(
        "let its service account use the {scc} SCC: {}",
        grant(scc, pod, id)
    ));
    if !need.adds.is_empty() && scc == "privileged" {
        s.push_str(&format!(
            " (anyuid allows no added capability; an SCC of your own that allows uid 0 and {} is narrower)",
            need.adds.join(", ")
        ));
    }
    if scc == "anyuid" || scc == "hostmount-anyuid" {
        s.push_str(&format!(
            " ({scc} assigns no uid and no fsGroup: the other containers then run as their images' users)"
        ));
    }
    s
}

/// A pod spec or container securityContext that is neither a mapping nor null: Kubernetes
/// rejects it, and this profile leaves it alone.
fn shape_warnings(found: &mut Findings, pod: &Map<String, Value>) {
    let bad = |v: Option<&Value>| v.is_some_and(|v| !v.is_object() && !v.is_null());
    if bad(pod.get("securityContext")) {
        found.warn_code(
            Code::Input,
            "chart bug: the pod's securityContext is not a mapping (Kubernetes rejects it); left alone",
        );
    }
    for c in workload::containers(pod) {
        if bad(c.get("securityContext")) {
            found.warn_code(
                Code::Input,
                format!(
                    "chart bug: container {}'s securityContext is not a mapping (Kubernetes rejects it); left alone",
                    workload::container_name(c)
                ),
            );
        }
    }
}

impl Fix for OpenShift {
    type Settings = ();

    fn configure(&self, _: &Params) -> Result<(), UsageError> {
        Ok(())
    }
}

/// What openshift gathers over the pods: how many it changed, for the closing note.
#[derive(Default)]
pub struct Survey {
    changed: usize,
}

impl PodFix for OpenShift {
    type Survey = Survey;

    fn survey(&self, _: &(), _: &Docs, _: &mut Ctx) -> Survey {
        Survey::default()
    }

    fn plan(&self, at: Planning<'_, Self>) -> Result<Findings, UsageError> {
        let (view, sel) = (at.view, at.sel);
        let (id, doc) = (view.id, view.doc);
        if let Some(fix) = CONTRADICTS
            .iter()
            .find(|f| view.changed_by.iter().any(|c| c == *f))
        {
            let why = if *fix == "shared-uid" {
                "shared-uid gives its containers one fixed uid, openshift removes fixed uids so the SCC \
                 assigns the namespace's (restricted-v2 gives every container of a pod the same uid already)"
            } else {
                "root-run runs it as uid 0, openshift removes fixed uids so the SCC assigns the namespace's \
                 (and restricted-v2 rejects root)"
            };
            return Err(format!(
                "{fix} and openshift both change {id}: {why}; pick one for it (e.g. --skip {fix}:name={} \
                 or --skip {}:name={})",
                id.name, at.profile, id.name
            )
            .into());
        }
        let mut found = Findings::for_pod(at.profile, view);
        workload::warn_bad_numbers(&mut found.report, id, doc);
        shape_warnings(&mut found, view.pod);
        let needs: Vec<RootNeed> = needs_root(view.pod)
            .into_iter()
            .filter(|n| sel.container(&n.container))
            .collect();
        let host = host_access(view.pod);
        let scc = scc_for(&needs, &host);
        if root_pod(view.pod) {
            found.warn_code(
                Code::Scc,
                format!(
                    "the pod runs as uid 0 (its securityContext.runAsUser), so its ids were left as they are; \
                     restricted-v2 rejects it: let its service account use the {scc} SCC: {}",
                    grant(scc, view.pod, id)
                ),
            );
        }
        for need in &needs {
            found.warn_code(Code::Scc, advise(need, scc, view.pod, id));
        }
        if !host.is_empty() {
            found.warn_code(
                Code::Scc,
                format!(
                    "it uses {} of the node, which restricted-v2 rejects: let its service account use the {scc} \
                     SCC: {}",
                    host.join(", "),
                    grant(scc, view.pod, id)
                ),
            );
        }
        let mut value = Findings::start(view);
        let pointer = view.pointer;
        let Some(pod) = view.pod_mut(&mut value) else {
            return Ok(found);
        };
        let removed = strip(pointer, pod, &|n| sel.container(n));
        if !removed.is_empty() {
            at.survey.changed += 1;
            // restricted-v2 admits a runAsUser only inside the namespace's range (1000000000 and
            // up by default) and an fsGroup only inside its supplemental groups: a chart's
            // 1000, 2000 or 65534 is never there.
            let shown: Vec<String> = removed.iter().map(|(at, v)| format!("{at} {v}")).collect();
            found.predict(
                failure::SCC_FIXED_UID,
                format!(
                    "fixed ids restricted-v2 does not admit: {}",
                    shown.join(", ")
                ),
                (at.assume.platform.as_deref() != Some("openshift"))
                    .then(|| "on OpenShift (its restricted-v2 SCC)".to_string()),
            );
        }
        found.set_fixed(view, value);
        Ok(found)
    }

    fn finish(
        &self,
        _: &(),
        survey: Survey,
        _: &mut Docs,
        ctx: &mut Ctx,
    ) -> Result<(), UsageError> {
        if survey.changed > 0 {
            ctx.report.note_code(
                Code::Other,
                ctx.profile,
                None,
                format!(
                    "removed the fixed uids, gids and fsGroups of {} object{}: under restricted-v2 each pod runs as \
                     the first uid of its namespace's openshift.io/sa.scc.uid-range annotation, with the first gid \
                     of openshift.io/sa.scc.supplemental-groups as fsGroup (oc get namespace NS -o yaml shows them)",
                    survey.changed,
                    plural(survey.changed)
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::CrKind;
    use serde_json::json;

    fn pod(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn strip_all(p: &mut Map<String, Value>) -> Vec<(String, i64)> {
        strip("/spec/template/spec", p, &|_| true)
    }

    #[test]
    fn restricted_v2_rejects_fixed_uid_65534() {
        let mut p = pod(json!({
            "securityContext": {"runAsUser": 65534, "runAsGroup": 65534, "fsGroup": 65534,
                                "runAsNonRoot": true, "fsGroupChangePolicy": "OnRootMismatch",
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "c", "securityContext": {"runAsUser": 1000, "runAsGroup": 2000,
                            "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}));
        let removed = strip_all(&mut p);
        assert_eq!(
            removed,
            [
                (
                    "spec.template.spec.securityContext.runAsUser".to_string(),
                    65534
                ),
                (
                    "spec.template.spec.securityContext.runAsGroup".to_string(),
                    65534
                ),
                (
                    "spec.template.spec.securityContext.fsGroup".to_string(),
                    65534
                ),
                ("container c runAsUser".to_string(), 1000),
                ("container c runAsGroup".to_string(), 2000),
            ]
        );
        assert_eq!(
            Value::Object(p),
            json!({"securityContext": {"runAsNonRoot": true, "fsGroupChangePolicy": "OnRootMismatch",
                                       "seccompProfile": {"type": "RuntimeDefault"}},
                   "containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": false,
                                   "capabilities": {"drop": ["ALL"]}}}]})
        );
    }

    #[test]
    fn emptied_contexts_are_removed_and_a_second_strip_finds_nothing() {
        let mut p = pod(json!({"securityContext": {"fsGroup": 2000},
            "containers": [{"name": "c", "securityContext": {"runAsUser": 1001}}]}));
        assert_eq!(strip_all(&mut p).len(), 2);
        assert_eq!(
            Value::Object(p.clone()),
            json!({"containers": [{"name": "c"}]})
        );
        assert!(strip_all(&mut p).is_empty());
    }

    #[test]
    fn grafana_init_chown_data_keeps_root_and_is_named() {
        let mut p = pod(json!({
            "securityContext": {"runAsUser": 472, "runAsGroup": 472, "fsGroup": 472, "runAsNonRoot": true},
            "initContainers": [{"name": "init-chown-data", "image": "busybox",
                "command": ["chown", "-R", "472:472", "/var/lib/grafana"],
                "securityContext": {"runAsUser": 0, "runAsNonRoot": false,
                    "capabilities": {"add": ["CHOWN", "DAC_OVERRIDE"], "drop": ["ALL"]}}}],
            "containers": [{"name": "grafana"}]}));
        let needs = needs_root(&p);
        assert_eq!(needs.len(), 1);
        let n = &needs[0];
        assert_eq!(
            (n.container.as_str(), n.init, n.root, n.helper),
            ("init-chown-data", true, true, true)
        );
        assert_eq!(n.adds, ["CHOWN", "DAC_OVERRIDE"]);
        assert_eq!(
            scc_for(&needs, &[]),
            "privileged",
            "anyuid allows no added capability"
        );
        strip_all(&mut p);
        assert_eq!(
            p["initContainers"][0]["securityContext"]["runAsUser"],
            json!(0)
        );
        assert_eq!(p["securityContext"], json!({"runAsNonRoot": true}));
    }

    #[test]
    fn chown_helper_without_a_uid_needs_root_under_the_scc_uid() {
        let p = pod(
            json!({"initContainers": [{"name": "fix", "command": ["sh", "-c", "mkdir -p /d && /bin/chown 1000 /d"]},
                                             {"name": "own", "command": ["sh", "-c", "chown 1000 /d"],
                                              "securityContext": {"runAsUser": 1000}},
                                             {"name": "cp", "command": ["cp", "-r", "/a", "/b"]}]}),
        );
        let names: Vec<String> = needs_root(&p).into_iter().map(|n| n.container).collect();
        assert_eq!(names, ["fix"]);
        assert_eq!(scc_for(&needs_root(&p), &[]), "anyuid");
    }

    #[test]
    fn a_root_pod_keeps_its_ids_and_every_root_container_is_named() {
        let mut p = pod(json!({"securityContext": {"runAsUser": 0, "fsGroup": 0},
            "containers": [{"name": "a"}, {"name": "b", "securityContext": {"runAsUser": 1000}}]}));
        assert!(
            strip_all(&mut p).is_empty(),
            "removing b's uid would make it root"
        );
        let names: Vec<String> = needs_root(&p).into_iter().map(|n| n.container).collect();
        assert_eq!(names, ["a"]);
    }

    #[test]
    fn values_of_the_wrong_shape_are_left_alone() {
        let mut p = pod(json!({"securityContext": [{"runAsUser": 1000}],
            "containers": [{"name": "c", "securityContext": {"runAsUser": "1000", "runAsGroup": 1.5}},
                           "not a container", {"name": "d", "securityContext": null}],
            "initContainers": {"name": "x"}}));
        let before = p.clone();
        assert!(strip_all(&mut p).is_empty());
        assert_eq!(p, before);
        assert!(needs_root(&p).is_empty());
    }

    #[test]
    fn capabilities_beyond_net_bind_service_and_privilege_are_named() {
        let p = pod(json!({"containers": [
            {"name": "web", "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}},
            {"name": "ping", "securityContext": {"capabilities": {"add": ["NET_RAW"]}}},
            {"name": "priv", "securityContext": {"privileged": true}},
            {"name": "esc", "securityContext": {"allowPrivilegeEscalation": true}}]}));
        let needs = needs_root(&p);
        let names: Vec<&str> = needs.iter().map(|n| n.container.as_str()).collect();
        assert_eq!(names, ["ping", "priv", "esc"]);
        assert_eq!(scc_for(&needs[2..], &[]), "anyuid");
    }

    #[test]
    fn host_access_and_the_scc_that_allows_it() {
        let ne = pod(json!({"hostNetwork": true, "hostPID": true,
            "volumes": [{"name": "proc", "hostPath": {"path": "/proc"}}, {"name": "cfg", "configMap": {"name": "x"}}],
            "containers": [{"name": "ne", "ports": [{"containerPort": 9100, "hostPort": 9100}]}]}));
        let host = host_access(&ne);
        assert_eq!(
            host,
            ["hostNetwork", "hostPID", "hostPath volume proc", "hostPort"]
        );
        assert_eq!(scc_for(&[], &host), "hostaccess");
        assert_eq!(scc_for(&[], &["hostNetwork".to_string()]), "hostnetwork-v2");
        assert_eq!(
            scc_for(&[], &["nfs volume n".to_string()]),
            "hostmount-anyuid"
        );
    }

    #[test]
    fn fixed_ids_reads_operator_resources() {
        let cr = json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
            "metadata": {"name": "k", "namespace": "monitoring"},
            "spec": {"securityContext": {"runAsUser": 1000, "runAsGroup": 2000, "fsGroup": 2000, "runAsNonRoot": true},
                     "containers": [{"name": "thanos-sidecar", "securityContext": {"runAsUser": 1001}}]}});
        let ids = fixed_ids(&Identity::of(&cr), &cr);
        assert_eq!(
            ids,
            [
                ("spec.securityContext.runAsUser".to_string(), 1000),
                ("spec.securityContext.runAsGroup".to_string(), 2000),
                ("spec.securityContext.fsGroup".to_string(), 2000),
                ("container thanos-sidecar runAsUser".to_string(), 1001),
            ]
        );
        assert!(CrKind::of(&Identity::of(&cr)).is_some());
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
        assert!(fixed_ids(&Identity::of(&cm), &cm).is_empty());
    }
}
