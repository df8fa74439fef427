//! `shared-uid`: one uid/gid for every container of a pod.
//!
//! Seed 002: prometheus runs as `nobody` and the thanos sidecar as uid 1001 (its image default
//! since thanos 0.32). Both mount `/prometheus`; prometheus writes blocks 0644 and thanos must
//! hard-link them into `thanos/upload`, which the kernel refuses for a file owned by another uid
//! (`fs.protected_hardlinks`): `operation not permitted`. No file mode fixes that; one uid does.
//!
//! So the pod gets `runAsUser`/`runAsGroup`/`fsGroup` at pod level (existing values are kept: they
//! are what the chart meant), and container-level `runAsUser`/`runAsGroup` that differ are removed
//! so the pod-level ones apply. `fsGroupChangePolicy: OnRootMismatch` comes with an `fsGroup` we add,
//! so the kubelet does not re-walk a large volume at every start.
//!
//! When the uid to share is 0 (the chart runs the pod as root, or `shared-uid.uid=0`), containers
//! that asked for another uid become root: the object is then reported as more privileged, with a
//! warning naming those containers, exactly as root-run's objects are.
//!
//! A pod whose sharing containers already run as one user nobody names is left alone with a note
//! (see [`already_shared`]): all of one image with no uid at all (minio's post-job: forcing 65534
//! on its `mc` containers fixes nothing and can break them). Containers that all name one uid
//! keep it, and the pod gets it at pod level with its group and fsGroup.
//! `shared-uid.uid` still applies to such pods: explicit is explicit.
//!
//! Init containers that explicitly run as uid 0 are chown helpers (grafana's `init-chown-data`,
//! bitnami's `init-chmod-data`, our `fixup-chown`): giving them the shared uid would stop them
//! working, so they are reported and left alone.
//!
//! Targets: by default the pods whose containers share a writable volume, and every
//! prometheus-operator resource (the operator's reloaders share the `config-out` emptyDir with the
//! main container, a thanos sidecar shares the TSDB volume). For those resources the pod-level
//! context is `spec.securityContext` and the containers are the `spec.containers` patches the
//! operator merges by name.

use super::driver::{Findings, Planning, PodFix};
use super::{Ctx, Docs, Fix, Params, UsageError};
use crate::manifest::Identity;
use crate::report::{Code, failure};
use crate::workload::At;
use crate::workload::{self, CrKind};
use serde_json::{Map, Value, json};

pub struct SharedUid;

// Volume sources a container can write to.
use workload::WRITABLE_SOURCES as WRITABLE;

/// The uid used when nothing in the pod names one: `nobody`, what the prometheus image runs as.
const NOBODY: i64 = 65534;
const NO_UID: &str = "nobody: no uid was set; choose another with --set shared-uid.uid=UID";
const UIDS_DIFFER: &str =
    "nobody: its containers set different uids; choose one with --set shared-uid.uid=UID";

/// An init container that explicitly runs as root: a chown helper, outside the sharing.
pub fn is_root_init(c: &Value) -> bool {
    workload::sc_int(c.get("securityContext"), "runAsUser") == Some(0)
}

/// The containers that take part in the sharing: all containers, and init containers that are
/// not explicit root helpers.
fn sharing(pod: &Map<String, Value>) -> impl Iterator<Item = &Value> {
    workload::items(pod.get("initContainers"))
        .filter(|c| !is_root_init(c))
        .chain(workload::items(pod.get("containers")))
}

/// Writable volumes mounted read-write by two or more sharing containers, with the containers,
/// in the order the pod lists them.
fn shared_volumes(doc: &Value, pod: &Map<String, Value>) -> Vec<(String, Vec<String>)> {
    let mut writable: Vec<&str> = workload::items(pod.get("volumes"))
        .filter(|v| WRITABLE.iter().any(|k| v.get(*k).is_some()))
        .filter_map(workload::name)
        .collect();
    writable.extend(workload::claim_template_names(doc));
    let mut users: Vec<(String, Vec<String>)> = Vec::new();
    // (volume, container) pairs seen, so a pod of thousands of containers stays linear.
    let mut seen: std::collections::HashSet<(usize, String)> = std::collections::HashSet::new();
    for c in sharing(pod) {
        for m in workload::mounts(c) {
            let Some(vol) = workload::name(m) else {
                continue;
            };
            if !writable.contains(&vol) || workload::read_only(m) {
                continue;
            }
            let idx = match users.iter().position(|(v, _)| v == vol) {
                Some(i) => i,
                None => {
                    users.push((vol.to_string(), Vec::new()));
                    users.len() - 1
                }
            };
            let name = workload::container_name(c).to_string();
            if seen.insert((idx, name.clone())) {
                users[idx].1.push(name);
            }
        }
    }
    users.retain(|(_, cs)| cs.len() >= 2);
    users
}

/// The claims an operator mounts into this part's pods (docs/operators.md) that two or more
/// containers write: the generated main container the chart does not list (a VictoriaMetrics
/// component's), and the listed containers that mount the volume read-write (`spec.containers`
/// entries of a VictoriaMetrics resource, a ClickHouse pod template's containers).
fn operator_shared(
    id: &Identity,
    doc: &Value,
    pointer: &str,
    pod: &Map<String, Value>,
) -> Vec<(String, Vec<String>)> {
    let Some((main, volumes)) = workload::operator_part(id, doc, pointer) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for vol in volumes {
        let mut users: Vec<String> = main.map(str::to_string).into_iter().collect();
        for c in sharing(pod) {
            let name = workload::container_name(c).to_string();
            let writes = workload::mounts(c)
                .any(|m| workload::name(m) == Some(vol.as_str()) && !workload::read_only(m));
            if writes && !users.contains(&name) {
                users.push(name);
            }
        }
        if users.len() >= 2 {
            out.push((vol, users));
        }
    }
    out
}

/// What the operator's generated containers share, for the summary. Every operator resource is
/// a target: the operator puts several containers into its pod (the config reloaders write the
/// `config-out` emptyDir the main container reads; a thanos sidecar shares the TSDB volume), and
/// `spec.containers` patches can give any of them its own uid.
fn cr_shared(kind: CrKind, id: &Identity, doc: &Value) -> Vec<(String, Vec<String>)> {
    let main = kind.main_container().to_string();
    let mut out = Vec::new();
    if kind != CrKind::ThanosRuler {
        out.push((
            "config-out".to_string(),
            vec![
                "init-config-reloader".to_string(),
                "config-reloader".to_string(),
                main.clone(),
            ],
        ));
    }
    if kind == CrKind::Prometheus && doc.at("/spec/thanos").is_some_and(|t| !t.is_null()) {
        let db = workload::cr_storage(kind, &id.name, doc)
            .map_or_else(|| format!("{}-{}-db", kind.prefix(), id.name), |s| s.volume);
        out.push((db, vec![main, "thanos-sidecar".to_string()]));
    }
    out
}

/// Why a pod whose containers already share a user is left alone, or `None` when it needs the
/// change. Only for plain pods with no `shared-uid.uid` (explicit is explicit; operator CRs keep
/// their rule: the operator, not the CR's containers list, decides what its generated containers
/// run as). The containers considered are those mounting a shared writable volume, or every
/// sharing container when the pod was selected without one.
///
/// - None has a uid (neither the pod nor a container sets `runAsUser`) and all run one image:
///   each runs as that image's USER (kubelet `determineEffectiveSecurityContext`,
///   pkg/kubelet/kuberuntime/security_context.go: with no `runAsUser` it passes the image's uid
///   or user name to the runtime), so they are one user too. Forcing 65534 on
///   them (minio's post-job: two `mc` containers, one image, no uid) can only break them.
///
/// Their explicit `runAsGroup`s must not differ: with one owner, group bits do not
/// decide access to the shared files, but two named groups are a pod the chart split on
/// purpose, which shared-uid's own rule (container values that differ are removed) then judges.
fn already_shared(pod: &Map<String, Value>, shared: &[(String, Vec<String>)]) -> Option<String> {
    let names: std::collections::HashSet<&str> = shared
        .iter()
        .flat_map(|(_, cs)| cs.iter().map(String::as_str))
        .collect();
    let sharers: Vec<&Value> = sharing(pod)
        .filter(|c| names.is_empty() || names.contains(&workload::container_name(c)))
        .collect();
    if sharers.is_empty() {
        return None;
    }
    let mut gids: Vec<i64> = sharers
        .iter()
        .filter_map(|c| {
            workload::sc_int(c.get("securityContext"), "runAsGroup")
                .or_else(|| workload::sc_int(pod.get("securityContext"), "runAsGroup"))
        })
        .collect();
    gids.sort_unstable();
    gids.dedup();
    if gids.len() > 1 {
        return None;
    }
    // Containers that all name one uid are not skipped: the pod still gets that uid at pod level
    // with its group and fsGroup, which costs nothing and lets the kubelet give the volume the
    // group (the sharing rule the acceptance checks hold every targeted pod to).
    let uids: Vec<Option<i64>> = sharers
        .iter()
        .map(|c| workload::effective_uid(pod, c))
        .collect();
    if uids.iter().all(Option::is_none) {
        fn image(c: &Value) -> Option<&str> {
            c.get("image")
                .and_then(Value::as_str)
                .filter(|i| !i.is_empty())
        }
        let first = image(sharers.first()?)?;
        if sharers.iter().all(|c| image(c) == Some(first)) {
            return Some(format!(
                "all run image {first} and no runAsUser is set, so all run as that image's user already"
            ));
        }
    }
    None
}

/// The uid every container of `shared` already runs as, with the pod's fsGroup, when they all
/// name one (their own `runAsUser` or the pod's) and the pod has an fsGroup: the sharing is done
/// already, and the kubelet gives the volume that group (kube-prometheus-stack's Prometheus,
/// 1000 with fsGroup 2000; bitnami charts).
fn shared_already(
    pod: &Map<String, Value>,
    shared: &[(String, Vec<String>)],
) -> Option<(i64, i64)> {
    let fs_group = workload::sc_int(pod.get("securityContext"), "fsGroup")?;
    let pod_uid = workload::sc_int(pod.get("securityContext"), "runAsUser");
    let mut uid = None;
    for name in shared.iter().flat_map(|(_, cs)| cs) {
        let own = workload::containers(pod)
            .find(|c| workload::container_name(c) == name)
            .and_then(|c| workload::sc_int(c.get("securityContext"), "runAsUser"));
        let u = own.or(pod_uid)?;
        if *uid.get_or_insert(u) != u {
            return None;
        }
    }
    Some((uid?, fs_group))
}

/// The failure each shared volume meets unless the containers get one uid: what `diagnose`
/// reports. Definite when two sharing containers name different uids (the kernel's
/// protected_hardlinks refuses a link to another user's file, and a file one creates 0644 the
/// other cannot rewrite); conditional when an image's USER decides, which the stream cannot
/// show. For an operator resource the containers are the ones the operator generates: a
/// `spec.containers` patch of the same name gives one its own uid, else the pod's applies.
fn predict(found: &mut Findings, pod: &Map<String, Value>, shared: &[(String, Vec<String>)]) {
    let pod_uid = workload::sc_int(pod.get("securityContext"), "runAsUser");
    let uid_of = |name: &str| -> (Option<i64>, String) {
        let entry = workload::containers(pod).find(|c| workload::container_name(c) == name);
        let own = entry.and_then(|c| workload::sc_int(c.get("securityContext"), "runAsUser"));
        let image = entry
            .and_then(|c| c.get("image"))
            .and_then(Value::as_str)
            .and_then(workload::image_uid);
        match (own, pod_uid, image) {
            (Some(u), _, _) => (Some(u), format!("runAsUser {u}")),
            (None, Some(u), _) => (Some(u), format!("uid {u} from the pod")),
            (None, None, Some(u)) => (Some(u), format!("uid {u} from the image")),
            (None, None, None) => (None, "its image's user".to_string()),
        }
    };
    for (volume, names) in shared {
        let uids: Vec<(&str, Option<i64>, String)> = names
            .iter()
            .map(|n| {
                let (u, words) = uid_of(n);
                (n.as_str(), u, words)
            })
            .collect();
        let mut known: Vec<i64> = uids.iter().filter_map(|(_, u, _)| *u).collect();
        known.sort_unstable();
        known.dedup();
        let code = if names.iter().any(|n| n == "thanos-sidecar") {
            failure::THANOS_HARD_LINK
        } else if names.iter().any(|n| n.contains("config-reloader")) {
            failure::CONFIG_RELOADER_WRITE
        } else {
            failure::SHARED_VOLUME
        };
        let evidence = format!(
            "containers {} share volume {volume}",
            uids.iter()
                .map(|(n, _, w)| format!("{n} ({w})"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        // One uid for all, and an fsGroup that gives them the volume's group: nothing to fail
        // (every bitnami chart, cortex's memcached).
        if known.len() == 1
            && uids.iter().all(|(_, u, _)| u.is_some())
            && workload::sc_int(pod.get("securityContext"), "fsGroup").is_some()
        {
            continue;
        }
        let condition = if known.len() > 1 {
            None
        } else if let ([uid], true) = (known.as_slice(), uids.iter().all(|(_, u, _)| u.is_some())) {
            Some(format!(
                "if the volume is not writable by uid {uid}: the pod gives it no fsGroup"
            ))
        } else {
            Some("if their images run as different users".to_string())
        };
        found.predict(code, evidence, condition);
    }
}

/// What the containers of the pod share, for the summary.
fn describe(shared: &[(String, Vec<String>)], cr: Option<CrKind>) -> String {
    if let (true, Some(kind)) = (shared.is_empty(), cr) {
        format!("{} run in one pod", kind.generated_containers().join(", "))
    } else if shared.is_empty() {
        "selected (no shared writable volume)".to_string()
    } else {
        shared
            .iter()
            .map(|(v, cs)| format!("{} share volume {v}", cs.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The shared uid and gid, and where the uid came from (for the summary); or why the pod is left
/// alone. The uid is never a sidecar's taken over the main container's (`main`, the operator's
/// main container or the pod's first): when only sidecars name a uid, the main container's image
/// user is shared if known (`workload::image_uid`), else the pod is left alone: giving the main
/// process a sidecar's uid (fluent-bit taking its reloader's 65532) breaks what it reads.
fn choose(
    pod: &Map<String, Value>,
    main: Option<&str>,
    uid_param: Option<i64>,
    gid_param: Option<i64>,
) -> Result<(i64, i64, &'static str), String> {
    let psc = pod.get("securityContext");
    let (uid, source) = if let Some(u) = uid_param {
        (u, "set by shared-uid.uid")
    } else if let Some(u) = workload::sc_int(psc, "runAsUser") {
        (u, "the pod's runAsUser")
    } else {
        let mut set: Vec<i64> = sharing(pod)
            .filter_map(|c| workload::sc_int(c.get("securityContext"), "runAsUser"))
            .collect();
        set.sort_unstable();
        set.dedup();
        let main =
            main.and_then(|m| workload::containers(pod).find(|c| workload::container_name(c) == m));
        let main_uid = main.and_then(|c| workload::sc_int(c.get("securityContext"), "runAsUser"));
        // A container of the main container's own image is a peer (two `mc` steps of one Job),
        // not a sidecar.
        let image = |c: &Value| c.get("image").and_then(Value::as_str).map(str::to_string);
        let named_by_sidecar = main.is_some_and(|m| {
            sharing(pod).any(|c| {
                workload::sc_int(c.get("securityContext"), "runAsUser").is_some()
                    && image(c) != image(m)
            })
        });
        match (set.as_slice(), main) {
            ([one], Some(m)) if main_uid.is_none() && named_by_sidecar => {
                let name = workload::container_name(m);
                match m
                    .get("image")
                    .and_then(Value::as_str)
                    .and_then(workload::image_uid)
                {
                    Some(u) => (u, "the main container's image user"),
                    None => {
                        return Err(format!(
                            "only a sidecar names a uid ({one}), and the main container {name} runs as its image's \
                             user: sharing {one} would change the user {name} runs as. Set --set shared-uid.uid=UID \
                             to the user {name}'s image runs as"
                        ));
                    }
                }
            }
            ([one], _) => (*one, "the runAsUser its containers agree on"),
            ([], _) => (NOBODY, NO_UID),
            _ => (NOBODY, UIDS_DIFFER),
        }
    };
    let gid = gid_param
        .or_else(|| workload::sc_int(psc, "runAsGroup"))
        .or_else(|| workload::sc_int(psc, "fsGroup"))
        .unwrap_or(uid);
    Ok((uid, gid, source))
}

/// Why sharing `uid` would take root away from a container, or `None`. A container runs as root
/// when it says so (its or the pod's `runAsUser: 0`), and by default, with no `runAsUser`, in a
/// pod that reads node directories (hostPath), shares the host's PID or network namespace, or
/// adds capabilities: such pods (log collectors, node agents: fluent-bit reading `/var/log`,
/// netdata's hostPID agent and its `chmod` init container) run their image's user, root, on
/// purpose. Root helpers (`is_root_init`) are outside the sharing anyway.
fn takes_root_from(pod: &Map<String, Value>, uid: i64) -> Option<String> {
    if uid == 0 {
        return None;
    }
    let host = if workload::items(pod.get("volumes")).any(|v| v.get("hostPath").is_some()) {
        Some("reads node directories (hostPath)")
    } else if pod.get("hostPID") == Some(&Value::Bool(true)) {
        Some("shares the host's PID namespace (hostPID)")
    } else if pod.get("hostNetwork") == Some(&Value::Bool(true)) {
        Some("uses the host's network (hostNetwork)")
    } else {
        None
    };
    for c in sharing(pod) {
        let name = workload::container_name(c);
        match workload::effective_uid(pod, c) {
            Some(0) => return Some(format!("container {name} runs as root (runAsUser 0)")),
            Some(_) => {}
            None => {
                let caps = c
                    .at("/securityContext/capabilities/add")
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty());
                if let Some(why) = host {
                    return Some(format!(
                        "container {name} runs as its image's user (root for such images) in a pod that {why}"
                    ));
                }
                if caps {
                    return Some(format!(
                        "container {name} runs as its image's user (root for such images) and adds capabilities"
                    ));
                }
            }
        }
    }
    None
}

/// Set the pod level; returns nothing, the engine sees the diff.
fn set_pod(pod: &mut Map<String, Value>, uid: i64, gid: i64, uid_param: bool, gid_param: bool) {
    let sc = workload::object_entry(pod, "securityContext");
    let put = |sc: &mut Map<String, Value>, key: &str, v: i64, force: bool| {
        // An id Kubernetes would reject counts as unset (see `workload::sc_int`).
        let valid = sc.get(key).and_then(workload::id_value).is_some();
        let set = (force || !valid) && sc.get(key) != Some(&json!(v));
        if set {
            sc.insert(key.to_string(), json!(v));
        }
        set
    };
    put(sc, "runAsUser", uid, uid_param);
    put(sc, "runAsGroup", gid, gid_param);
    if put(sc, "fsGroup", gid, gid_param) && !sc.contains_key("fsGroupChangePolicy") {
        sc.insert("fsGroupChangePolicy".into(), json!("OnRootMismatch"));
    }
}

/// Remove container-level uids/gids that differ from the shared ones.
fn clear_containers(
    pod: &mut Map<String, Value>,
    uid: i64,
    gid: i64,
    allowed: &dyn Fn(&str) -> bool,
) {
    for list in ["initContainers", "containers"] {
        for c in workload::items_mut(pod.get_mut(list)) {
            if (list == "initContainers" && is_root_init(c))
                || !allowed(workload::container_name(c))
            {
                continue;
            }
            let Some(c) = c.as_object_mut() else { continue };
            let Some(sc) = c.get_mut("securityContext").and_then(Value::as_object_mut) else {
                continue;
            };
            let before = sc.len();
            // `1000.0` is 1000 to Kubernetes (see `workload::whole_number`).
            if sc
                .get("runAsUser")
                .is_some_and(|v| workload::whole_number(v) != Some(uid))
            {
                sc.remove("runAsUser");
            }
            if sc
                .get("runAsGroup")
                .is_some_and(|v| workload::whole_number(v) != Some(gid))
            {
                sc.remove("runAsGroup");
            }
            // A context we emptied says nothing any more: drop it rather than leave `{}`.
            if sc.is_empty() && before > 0 {
                c.remove("securityContext");
            }
        }
    }
}

/// Containers (and init containers) whose effective uid is known not to be 0, or unknown (the
/// image decides: most images that matter here are non-root).
fn non_root_containers(pod: &Map<String, Value>) -> Vec<String> {
    workload::containers(pod)
        .filter(|c| workload::effective_uid(pod, c) != Some(0))
        .map(|c| workload::container_name(c).to_string())
        .collect()
}

impl Fix for SharedUid {
    /// The `uid` and `gid` the user forces, if any.
    type Settings = (Option<i64>, Option<i64>);

    fn configure(&self, params: &Params) -> Result<Self::Settings, UsageError> {
        let uid = params.int("uid")?;
        let gid = params.int("gid")?;
        Ok((
            workload::id_param("shared-uid.uid", uid)?,
            workload::id_param("shared-uid.gid", gid)?,
        ))
    }
}

impl PodFix for SharedUid {
    /// The namespaces that enforce Pod Security "restricted", which rejects runAsUser 0 (the
    /// "Running as Non-root user" control); "baseline" says nothing about uids.
    type Survey = Vec<String>;

    fn survey(&self, _: &Self::Settings, docs: &Docs, _: &mut Ctx) -> Vec<String> {
        docs.restricted_namespaces()
    }

    fn plan(&self, at: Planning<'_, Self>) -> Result<Findings, UsageError> {
        let (uid_param, gid_param) = *at.settings;
        let (view, sel, restricted) = (at.view, at.sel, &*at.survey);
        let (id, cr, doc, pod) = (view.id, view.cr, view.doc, view.pod);
        let mut found = Findings::for_pod(at.profile, view);
        let shared = match cr {
            Some(kind) => cr_shared(kind, id, doc),
            None => {
                let mut shared = shared_volumes(doc, pod);
                shared.extend(operator_shared(id, doc, view.pointer, pod));
                shared
            }
        };
        if shared.is_empty() && cr.is_none() && !sel.explicit() {
            return Ok(found);
        }
        // An id Kubernetes refuses reads as unset in `choose`: say so.
        workload::warn_bad_numbers(&mut found.report, id, doc);
        let object = view.object();
        // A fix before this one made the object more privileged: that is root-run, the only
        // one before shared-uid that raises privilege (so this holds for a user profile file
        // with another name too). Both on one pod is a contradiction the user must resolve, even
        // when shared-uid would then find nothing to change (root-run leaves uid 0, which
        // shared-uid never shares).
        if view.raised {
            return Err(format!(
                "root-run and shared-uid both change {object}: they set different uids, pick one for it \
                 (e.g. --skip shared-uid:name={})",
                id.name
            )
            .into());
        }
        if uid_param.is_none()
            && cr.is_none()
            && let Some(why) = already_shared(pod, &shared)
        {
            found.note(format!(
                    "containers {}: {why}; left alone (--set shared-uid.uid=UID gives them one uid anyway)",
                    describe(&shared, cr)
                ),
            );
            return Ok(found);
        }
        if uid_param.is_none()
            && gid_param.is_none()
            && let Some((u, g)) = shared_already(
                pod,
                &if shared.is_empty() {
                    cr.map(|k| {
                        vec![(
                            String::new(),
                            k.generated_containers()
                                .iter()
                                .map(|c| c.to_string())
                                .collect(),
                        )]
                    })
                    .unwrap_or_default()
                } else {
                    shared.clone()
                },
            )
        {
            found.note(format!(
                "containers {}: all run as uid {u} already, and the pod's fsGroup {g} gives them the volume's group: \
                 shared-uid has nothing to change. If one still gets `permission denied`: on a hostPath or NFS \
                 volume, which ignore fsGroup, init-chown gives its files to uid {u}; on an emptyDir such as \
                 config_out, the node did not apply the fsGroup, and root-run is the fix",
                describe(&shared, cr)
            ));
            return Ok(found);
        }
        let main = match cr {
            Some(kind) => Some(kind.main_container()),
            None => workload::main_container(&id.name, pod),
        };
        // Root is never taken away unasked; `shared-uid.uid` is asking, and the summary says
        // whose root it took.
        let chosen = choose(pod, main, uid_param, gid_param).and_then(|(uid, gid, source)| {
            match (takes_root_from(pod, uid), uid_param) {
                (Some(why), None) => Err(format!(
                    "{why}: sharing uid {uid} would take root away from it. Left alone; if its files must change \
                     owner, init-chown gives the volume to the pod's user with a root helper, or set \
                     --set shared-uid.uid=UID to share a uid anyway"
                )),
                (Some(why), Some(_)) => {
                    found.warn_code(
                        Code::LeftAlone,
                        format!("{why}: it now runs as uid {uid}, as shared-uid.uid asks"),
                    );
                    Ok((uid, gid, source))
                }
                (None, _) => Ok((uid, gid, source)),
            }
        });
        let (uid, gid, source) = match chosen {
            Ok(c) => c,
            Err(why) => {
                found.warn_code(
                    Code::LeftAlone,
                    format!("containers {}: {why}", describe(&shared, cr)),
                );
                return Ok(found);
            }
        };
        let non_root_before = non_root_containers(pod);
        let root_inits: Vec<String> = workload::items(pod.get("initContainers"))
            .filter(|c| is_root_init(c))
            .map(|c| workload::container_name(c).to_string())
            .collect();
        let mut value = Findings::start(view);
        let Some(pod) = view.pod_mut(&mut value) else {
            return Ok(found);
        };
        set_pod(pod, uid, gid, uid_param.is_some(), gid_param.is_some());
        clear_containers(pod, uid, gid, &|n| sel.container(n));
        // Computed once: a pod of thousands of containers stays linear.
        let non_root_after: std::collections::HashSet<String> =
            non_root_containers(pod).into_iter().collect();
        let now_root: Vec<String> = non_root_before
            .into_iter()
            .filter(|n| !non_root_after.contains(n))
            .collect();
        if value == *doc {
            return Ok(found);
        }
        match (shared.is_empty(), cr) {
            // An operator resource with no volume named as shared (a ThanosRuler): its
            // generated containers still run in one pod.
            (true, Some(kind)) => {
                let all = kind
                    .generated_containers()
                    .iter()
                    .map(|c| c.to_string())
                    .collect();
                predict(
                    &mut found,
                    view.pod,
                    &[("(none; they run in one pod)".into(), all)],
                );
            }
            _ => predict(&mut found, view.pod, &shared),
        }
        if !now_root.is_empty() {
            // The contract shares the pod's uid, and here that is root: say so loudly, and
            // count the object as more privileged, like root-run's.
            found.report.escalated.push(object.clone());
            found.warn_code(Code::MorePrivileged, format!(
                    "the shared uid is 0 ({source}), so {} now run{} as root; set --set shared-uid.uid=UID \
                     to share a non-root uid instead",
                    now_root.join(", "),
                    if now_root.len() == 1 { "s" } else { "" }
                ),
            );
            if id
                .namespace
                .as_ref()
                .is_some_and(|ns| restricted.contains(ns))
            {
                found.warn_code(Code::PodSecurity, "its namespace enforces Pod Security \"restricted\", which rejects containers running as \
                     uid 0: set --set shared-uid.uid=UID to a non-root uid",
                );
            }
        }
        let what = describe(&shared, cr);
        let whose = if cr.is_some() {
            "the operator's containers "
        } else {
            "containers "
        };
        found.note(format!(
            "{whose}{what}: all now run as {uid}:{gid} ({source})"
        ));
        for name in root_inits {
            found.note(format!("init container {name} runs as root on purpose (a chown helper): kept out of the shared uid"),
            );
        }
        found.set_fixed(view, value);
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn volumes_shared_by_two_writers_only() {
        let p = pod(json!({
            "volumes": [{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "c"}},
                        {"name": "ro", "emptyDir": {}}],
            "initContainers": [{"name": "chown", "securityContext": {"runAsUser": 0},
                                "volumeMounts": [{"name": "ro", "mountPath": "/r"}]}],
            "containers": [
                {"name": "prometheus", "volumeMounts": [{"name": "data", "mountPath": "/p"}, {"name": "cfg", "mountPath": "/c"},
                                                        {"name": "ro", "mountPath": "/r"}]},
                {"name": "thanos", "volumeMounts": [{"name": "data", "mountPath": "/p"}, {"name": "cfg", "mountPath": "/c"},
                                                    {"name": "ro", "mountPath": "/r", "readOnly": true}]}]}));
        assert_eq!(
            shared_volumes(&json!({}), &p),
            [(
                "data".to_string(),
                vec!["prometheus".to_string(), "thanos".to_string()]
            )]
        );
    }

    #[test]
    fn claim_templates_count_as_writable() {
        let doc = json!({"spec": {"volumeClaimTemplates": [{"metadata": {"name": "db"}}]}});
        let p = pod(json!({"containers": [
            {"name": "a", "volumeMounts": [{"name": "db", "mountPath": "/a"}]},
            {"name": "b", "volumeMounts": [{"name": "db", "mountPath": "/b", "subPath": "x"}]}]}));
        assert_eq!(shared_volumes(&doc, &p).len(), 1);
    }

    #[test]
    fn uid_defaults_follow_the_design() {
        let (u, g, _) = choose(
            &pod(json!({"securityContext": {"runAsUser": 1000, "fsGroup": 2000}})),
            None,
            None,
            None,
        )
        .unwrap();
        assert_eq!((u, g), (1000, 2000));
        let agree = pod(
            json!({"containers": [{"name": "a", "securityContext": {"runAsUser": 1001}}, {"name": "b"}]}),
        );
        assert_eq!(choose(&agree, Some("a"), None, None).unwrap().0, 1001);
        let differ = pod(
            json!({"containers": [{"name": "a", "securityContext": {"runAsUser": 1001}},
                                               {"name": "b", "securityContext": {"runAsUser": 7}}]}),
        );
        assert_eq!(
            choose(&differ, Some("a"), None, None),
            Ok((NOBODY, NOBODY, UIDS_DIFFER))
        );
        assert_eq!(choose(&differ, Some("a"), Some(5), Some(6)).unwrap().0, 5);
        let root_helper = pod(
            json!({"initContainers": [{"name": "c", "securityContext": {"runAsUser": 0}}],
                                     "containers": [{"name": "a", "securityContext": {"runAsUser": 472}}]}),
        );
        assert_eq!(
            choose(&root_helper, Some("a"), None, None).unwrap().0,
            472,
            "root helpers do not vote"
        );
    }

    #[test]
    fn existing_pod_values_are_kept_and_policy_comes_with_an_added_fs_group() {
        let mut p = pod(
            json!({"securityContext": {"runAsUser": 1000, "fsGroup": 2000, "fsGroupChangePolicy": "Always"}}),
        );
        set_pod(&mut p, 1000, 2000, false, false);
        assert_eq!(
            p["securityContext"],
            json!({"runAsUser": 1000, "fsGroup": 2000, "fsGroupChangePolicy": "Always", "runAsGroup": 2000})
        );
        let mut p = pod(json!({}));
        set_pod(&mut p, 65534, 65534, false, false);
        assert_eq!(
            p["securityContext"],
            json!({"runAsUser": 65534, "runAsGroup": 65534, "fsGroup": 65534,
                                                "fsGroupChangePolicy": "OnRootMismatch"})
        );
    }
}
