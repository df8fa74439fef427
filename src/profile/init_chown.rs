//! `init-chown`: a root init container that gives each writable persistent mount to the pod's
//! uid:gid before the app starts.
//!
//! Seed 001: a hostPath or local PV directory is created by root, prometheus runs as uid 1000 and
//! panics with `open /prometheus/queries.active: permission denied`. `fsGroup` does not help: the
//! kubelet ignores it for hostPath and NFS. The fix every chart reinvents (grafana's
//! `init-chown-data`, bitnami's `init-chmod-data`) is a root init container running chown.
//!
//! Ours differs from those in the ways that bite on real clusters:
//! - it mounts the volume with the app's own `subPath` (the kubelet creates a subPath directory as
//!   root, so chowning the volume root would fix the wrong directory); for operator resources that
//!   is the operator's volume name and subPath (`prometheus-<name>-db` + `prometheus-db`);
//! - it changes only what is not yet owned (`find ... ! -user U -o ! -group G`), so a restart does
//!   not rewrite the inode of every block of a 200 GB TSDB the way `chown -R` does;
//! - it keeps `drop: [ALL]` and adds back only CHOWN, DAC_OVERRIDE and FOWNER, and has small
//!   requests and limits so a namespace LimitRange or ResourceQuota admits it.
//! - a refused change does not stop the pod: on an NFS export with `root_squash` no capability
//!   helps (the server maps root to an anonymous user), so the script logs the refused paths and
//!   how to fix the ownership on the server, and exits 0 (see [`script`]); pods with inline nfs
//!   volumes get a summary note saying so.
//!
//! Left alone, with the reason in the summary: read-only mounts, volumes the kubelet creates for
//! the pod (configMap, secret, projected, emptyDir, downwardAPI: fsGroup works there), system
//! hostPath directories (chowning `/var/log` of a node would break it), pods whose uid is unknown
//! (the image's USER decides, which we cannot see) or 0, and pods whose own root init container
//! already chowns the mount. A second run finds its own `fixup-chown` and changes nothing.

use super::driver::PodView;
use super::driver::{Findings, Planning, PodFix};
use super::{Assume, Ctx, Docs, Fix, Params, UsageError};
use crate::manifest::Identity;
use crate::profile::exec_probes::kubelet_escape;
use crate::report::{Code, failure};
use crate::shell::quote as sh_quote;
use crate::workload::{self, CrKind};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

mod helper;
mod volumes;

use helper::*;
use volumes::*;

pub struct InitChown;

/// Name of the init container this profile adds.
pub const NAME: &str = "fixup-chown";

/// The image when `init-chown.image` is not set (the profile YAML holds the same default).
/// Fully qualified: CRI-O 1.34 enforces short names (cri-o/cri-o#9401, "image pull: enforce
/// shortnames"; `short-name-mode = "enforcing"` in containers-registries.conf(5),
/// containers/image docs/containers-registries.conf.5.md), so a bare `busybox:1.38.0` fails to
/// pull with "short name mode is enforcing, but image name ... returns ambiguous list" on a node
/// with several unqualified-search registries. busybox 1.38.0 is the `latest` of
/// docker-library/busybox (versions.json).
pub const DEFAULT_IMAGE: &str = "docker.io/library/busybox:1.38.0";

/// Where the added container mounts the volumes it chowns.
const MOUNT_ROOT: &str = "/fixup";

/// One directory to chown: a volume, the subPath the app mounts, and the owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub volume: String,
    pub sub_path: Option<String>,
    /// The app's `subPathExpr` (e.g. `$(POD_NAME)`) and the env entries it expands, which the
    /// init container copies so the kubelet expands the same directory for it.
    pub sub_path_expr: Option<SubPathExpr>,
    pub uid: i64,
    pub gid: i64,
}

/// A `subPathExpr` mount: the expression and the container's env entries it references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubPathExpr {
    pub expr: String,
    pub env: Vec<Value>,
}

/// The env entries `expr` references (`$(NAME)`), taken from the container's `env`; `None` when
/// one is missing (e.g. it comes from `envFrom`) or itself expands other variables.
fn expr_env(c: &Value, expr: &str) -> Option<Vec<Value>> {
    let env: Vec<&Value> = workload::items(c.get("env")).collect();
    let mut out: Vec<Value> = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("$(") {
        let after = &rest[at + 2..];
        let end = after.find(')')?;
        let name = &after[..end];
        let entry = env.iter().rev().find(|e| workload::name(e) == Some(name))?;
        if entry
            .get("value")
            .and_then(Value::as_str)
            .is_some_and(|v| v.contains("$("))
        {
            return None;
        }
        if !out.iter().any(|e| e.get("name") == entry.get("name")) {
            out.push((*entry).clone());
        }
        rest = &after[end + 1..];
    }
    Some(out)
}

fn sub_path_expr(m: &Value) -> Option<String> {
    m.get("subPathExpr")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// What was found for one pod: what to chown, and what to tell the user.
#[derive(Debug, Default, PartialEq)]
struct PodPlan {
    targets: Vec<Target>,
    notes: Vec<String>,
    warnings: Vec<String>,
}

/// A container's command line as one text, for recognising chown helpers: every entry, a
/// non-string one as its JSON text.
fn command_text(c: &Value) -> String {
    workload::command_line(c)
        .map(|x| match x {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Does `text` contain `n` as a whole number (not as part of a longer one)?
fn mentions_number(text: &str, n: i64) -> bool {
    let needle = n.to_string();
    let bytes = text.as_bytes();
    text.match_indices(&needle).any(|(at, _)| {
        let before = at
            .checked_sub(1)
            .and_then(|i| bytes.get(i))
            .is_some_and(u8::is_ascii_digit);
        let after = bytes.get(at + needle.len()).is_some_and(u8::is_ascii_digit);
        !before && !after
    })
}

/// An existing root init container (not ours) that chowns this target. `Err(name)` when one
/// chowns the mount but to another owner.
fn existing_helper<'a>(
    pod: &'a Map<String, Value>,
    t: &Target,
) -> Option<Result<&'a str, &'a str>> {
    let pod_uid = workload::sc_int(pod.get("securityContext"), "runAsUser");
    let inits = workload::items(pod.get("initContainers"));
    let mut wrong = None;
    // A helper only counts when nothing before it uses the volume (bitnami kafka-like
    // `prepare-config` ahead of `volume-permissions`): what runs first would meet root's files.
    let mut used_before = false;
    for ic in inits.filter(|c| workload::container_name(c) != NAME) {
        let uses = workload::mounts_volume(ic, &t.volume);
        if used_before {
            continue;
        }
        used_before = uses;
        let uid = workload::sc_int(ic.get("securityContext"), "runAsUser").or(pod_uid);
        let mounted = workload::mounts(ic).any(|m| {
            workload::name(m) == Some(&t.volume)
                && sub_path(m) == t.sub_path
                && sub_path_expr(m) == t.sub_path_expr.as_ref().map(|e| e.expr.clone())
        });
        let text = command_text(ic);
        if uid != Some(0) || !mounted || !text.contains("chown") {
            continue;
        }
        if mentions_number(&text, t.uid) {
            return Some(Ok(workload::container_name(ic)));
        }
        wrong.get_or_insert(workload::container_name(ic));
    }
    wrong.map(Err)
}

fn describe(t: &Target) -> String {
    match (&t.sub_path, &t.sub_path_expr) {
        (Some(s), _) => format!("{} (subPath {s})", t.volume),
        (None, Some(e)) => format!("{} (subPathExpr {})", t.volume, e.expr),
        (None, None) => t.volume.clone(),
    }
}

/// The failure each chowned volume prevents: a non-root uid writing a directory root owns. The
/// kubelet gives a writable volume the pod's fsGroup only where its plugin manages ownership:
/// local PersistentVolumes (pkg/volume/local `SetUpAt` calls `SetVolumeOwnership` for a
/// writable mount) and CSI drivers with an fsGroupPolicy, never hostPath or NFS (their mounters
/// report `Managed: false`). So a hostPath is definite from the stream, and a claim depends on
/// what backs it, which `--assume storage=...` tells.
fn predict(found: &mut Findings, view: &PodView, targets: &[Target], assume: &Assume) {
    let fs_group = workload::sc_int(view.pod.get("securityContext"), "fsGroup");
    let code = match view.cr {
        Some(CrKind::Prometheus | CrKind::PrometheusAgent) => failure::PROMETHEUS_DATA_WRITE,
        Some(_) => failure::VOLUME_WRITE,
        None if workload::containers(view.pod).any(|c| {
            workload::container_name(c) == "prometheus"
                && workload::mounts(c).any(|m| {
                    targets
                        .iter()
                        .any(|t| workload::name(m) == Some(t.volume.as_str()))
                })
        }) =>
        {
            failure::PROMETHEUS_DATA_WRITE
        }
        None => failure::VOLUME_WRITE,
    };
    for t in targets {
        let writers: Vec<&str> = match view.cr {
            Some(kind) => vec![kind.main_container()],
            None => workload::containers(view.pod)
                .filter(|c| {
                    workload::mounts(c).any(|m| {
                        workload::name(m) == Some(t.volume.as_str()) && !workload::read_only(m)
                    }) && workload::effective_uid(view.pod, c) != Some(0)
                })
                .map(workload::container_name)
                .filter(|n| *n != NAME)
                .collect(),
        };
        let (who, verb) = match writers.len() {
            1 => (
                format!("container {} (uid {})", writers[0], t.uid),
                "writes",
            ),
            _ => (
                format!("containers {} (uid {})", writers.join(", "), t.uid),
                "write",
            ),
        };
        let group = match fs_group {
            Some(g) => format!("fsGroup {g}"),
            None => "no fsGroup".to_string(),
        };
        let (evidence, condition) = match backing(view.pod, &t.volume) {
            Backing::HostPath(path) => (
                format!(
                    "{who} {verb} hostPath {path} (volume {}): the kubelet applies no fsGroup to a hostPath, \
                     and a directory it creates belongs to root",
                    describe(t)
                ),
                None,
            ),
            Backing::Nfs(export) => (
                format!(
                    "{who} {verb} NFS export {export} (volume {}): NFS ignores fsGroup",
                    describe(t)
                ),
                (assume.storage != Some(super::Storage::Nfs))
                    .then(|| format!("if the exported directory is not owned by uid {}", t.uid)),
            ),
            Backing::Claim => {
                let evidence = format!("{who} {verb} claim volume {} with {group}", describe(t));
                match (assume.storage, fs_group) {
                    (Some(s), Some(_)) if s.applies_fs_group() => continue,
                    (Some(s), _) => (
                        format!(
                            "{evidence}; --assume storage={}: {}",
                            s.name(),
                            if s.applies_fs_group() {
                                "the volume keeps its owner, root, with no fsGroup to give it"
                            } else {
                                "the kubelet applies no fsGroup there, and the directory belongs to root"
                            }
                        ),
                        None,
                    ),
                    (None, Some(_)) => (
                        evidence,
                        Some("if the claim is bound to hostPath or NFS storage, which ignore fsGroup".into()),
                    ),
                    (None, None) => (
                        evidence,
                        Some(
                            "if the claim's directory belongs to root (hostPath, NFS, local disks, and most \
                             provisioners when the pod sets no fsGroup)"
                                .into(),
                        ),
                    ),
                }
            }
        };
        found.predict(code, evidence, condition);
    }
}

/// Params resolved once per run.
pub struct Settings {
    image: String,
    uid: Option<i64>,
    gid: Option<i64>,
}

/// Targets of a plain pod: every writable persistent mount of its containers.
fn plan_pod(
    doc: &Value,
    pod: &Map<String, Value>,
    s: &Settings,
    allowed: &dyn Fn(&str) -> bool,
) -> PodPlan {
    let mut plan = PodPlan::default();
    // (volume, subPath, subPathExpr) -> (uid, gid, deciding container) or the containers with no
    // known uid.
    type Key = (String, Option<String>, Option<String>);
    let mut keys: Vec<Key> = Vec::new();
    let mut owner: BTreeMap<Key, (i64, i64, String)> = BTreeMap::new();
    let mut unknown: BTreeMap<Key, Vec<String>> = BTreeMap::new();
    let mut exprs: BTreeMap<Key, SubPathExpr> = BTreeMap::new();
    let mut root: Vec<String> = Vec::new();
    let mut read_only: Vec<String> = Vec::new();
    let inits = workload::items(pod.get("initContainers"));
    // The app containers decide the owner: they run for the pod's whole life, while a non-root
    // init container that also writes the volume (say, one that seeds config as another uid) has
    // finished before they start. Init containers only decide for volumes no app container writes.
    // Two app containers with different uids writing one volume cannot both own it. The owner is
    // the one the pod means: the pod's runAsUser, then the main container
    // (`workload::main_container`), then the last one listed; a warning names the others and
    // points to shared-uid. (victoria-metrics-single with a sidecar: the pod's 1000, not the
    // sidecar's 65534.)
    let pod_uid = workload::sc_int(pod.get("securityContext"), "runAsUser");
    let main = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .and_then(|n| workload::main_container(n, pod));
    let rank = |u: i64, name: &str, is_init: bool| -> i32 {
        if is_init {
            -1
        } else if Some(u) == pod_uid {
            2
        } else if Some(name) == main {
            1
        } else {
            0
        }
    };
    let writers = workload::items(pod.get("containers"))
        .map(|c| (false, c))
        .chain(
            inits
                .filter(|c| {
                    workload::container_name(c) != NAME
                        && workload::sc_int(c.get("securityContext"), "runAsUser") != Some(0)
                })
                .map(|c| (true, c)),
        )
        .filter(|(_, c)| allowed(workload::container_name(c)));
    for (is_init, c) in writers {
        let cname = workload::container_name(c).to_string();
        for m in workload::mounts(c) {
            let Some(vol) = workload::name(m) else {
                continue;
            };
            match volume_kind(doc, pod, vol) {
                VolumeKind::Other => continue,
                VolumeKind::ReadOnly => {
                    if !read_only.iter().any(|v| v == vol) {
                        read_only.push(vol.to_string());
                    }
                    continue;
                }
                VolumeKind::Unsafe(why) => {
                    if !workload::read_only(m) {
                        let w = format!("volume {vol} is not chowned: {why}");
                        if !plan.warnings.contains(&w) {
                            plan.warnings.push(w);
                        }
                    }
                    continue;
                }
                VolumeKind::Persistent => {}
            }
            if workload::read_only(m) {
                if !read_only.iter().any(|v| v == vol) {
                    read_only.push(vol.to_string());
                }
                continue;
            }
            let expr = sub_path_expr(m).filter(|_| sub_path(m).is_none());
            if let Some(e) = &expr {
                // The kubelet expands subPathExpr from the container's env: copy what it uses.
                let Some(env) = expr_env(c, e) else {
                    plan.warnings.push(format!(
                        "container {cname} mounts volume {vol} with subPathExpr {e}, whose variables are not \
                         all plain env entries of the container: not chowned"
                    ));
                    continue;
                };
                let key = (vol.to_string(), None, Some(e.clone()));
                exprs.entry(key).or_insert(SubPathExpr {
                    expr: e.clone(),
                    env,
                });
            }
            let key = (vol.to_string(), sub_path(m), expr);
            if !keys.contains(&key) {
                keys.push(key.clone());
            }
            let uid = s.uid.or_else(|| workload::effective_uid(pod, c));
            match uid {
                None => unknown.entry(key).or_default().push(cname.clone()),
                Some(0) => {
                    if !root.contains(&cname) {
                        root.push(cname.clone());
                    }
                }
                Some(u) => {
                    let g = s
                        .gid
                        .or_else(|| workload::effective_gid(pod, c))
                        .unwrap_or(u);
                    match owner.get(&key) {
                        None => {
                            owner.insert(key, (u, g, cname.clone()));
                        }
                        Some((ou, og, first)) if (*ou, *og) != (u, g) => {
                            // The container that decided so far is never an init container
                            // unless no app container wrote the volume before it.
                            let first_init = !workload::items(pod.get("containers"))
                                .any(|c| workload::container_name(c) == first);
                            let replace = rank(u, &cname, is_init) >= rank(*ou, first, first_init);
                            let (wu, wg, why) = if replace {
                                (u, g, rank(u, &cname, is_init))
                            } else {
                                (*ou, *og, rank(*ou, first, first_init))
                            };
                            let why = match why {
                                2 => " (the pod's runAsUser)",
                                1 => " (the main container's)",
                                _ => "",
                            };
                            plan.warnings.push(format!(
                                "containers {first} ({ou}:{og}) and {cname} ({u}:{g}) write volume {}: one \
                                 owner cannot suit both, chowning to {wu}:{wg}{why}; give the pod one uid with shared-uid",
                                key.0
                            ));
                            if replace {
                                owner.insert(key, (u, g, cname.clone()));
                            }
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }
    for key in keys {
        let Some((uid, gid, _)) = owner.get(&key).cloned() else {
            if let Some(cs) = unknown.get(&key) {
                plan.warnings.push(format!(
                    "volume {} is not chowned: container {} has no runAsUser (its image decides, which \
                     helm-fixup cannot see); set --set init-chown.uid=UID (and init-chown.gid=GID)",
                    describe(&Target {
                        volume: key.0.clone(),
                        sub_path: key.1.clone(),
                        sub_path_expr: exprs.get(&key).cloned(),
                        uid: 0,
                        gid: 0
                    }),
                    cs.join(", ")
                ));
            }
            continue;
        };
        let sub_path_expr = exprs.get(&key).cloned();
        plan.targets.push(Target {
            volume: key.0,
            sub_path: key.1,
            sub_path_expr,
            uid,
            gid,
        });
    }
    if plan.targets.is_empty() && !root.is_empty() {
        plan.notes.push(format!(
            "{} run(s) as root: no chown needed",
            root.join(", ")
        ));
    }
    if plan.targets.is_empty()
        && plan.warnings.is_empty()
        && root.is_empty()
        && !read_only.is_empty()
    {
        plan.notes.push(format!(
            "volume {} is mounted read-only: nothing to chown",
            read_only.join(", ")
        ));
    }
    plan
}

/// Target of an operator resource: its storage volume, owned by its main container's uid.
fn plan_cr(
    kind: CrKind,
    id: &Identity,
    doc: &Value,
    pod: &Map<String, Value>,
    s: &Settings,
) -> PodPlan {
    let mut plan = PodPlan::default();
    let Some(storage) = workload::cr_storage(kind, &id.name, doc) else {
        return plan;
    };
    let empty = json!({});
    let main = workload::items(pod.get("containers"))
        .find(|c| workload::container_name(c) == kind.main_container())
        .unwrap_or(&empty);
    let t = Target {
        volume: storage.volume,
        sub_path: storage.sub_path,
        sub_path_expr: None,
        uid: 0,
        gid: 0,
    };
    match s.uid.or_else(|| workload::effective_uid(pod, main)) {
        None => plan.warnings.push(format!(
            "storage {} is not chowned: spec.securityContext has no runAsUser; set --set init-chown.uid=UID \
             (and init-chown.gid=GID)",
            describe(&t)
        )),
        Some(0) => plan.notes.push(format!("{} runs as root: no chown needed", kind.main_container())),
        Some(uid) => {
            let gid = s.gid.or_else(|| workload::effective_gid(pod, main)).unwrap_or(uid);
            plan.targets.push(Target { uid, gid, ..t });
        }
    }
    plan
}

/// Targets of another operator's resource (docs/operators.md): the volumes its claims become,
/// owned by the pod's `spec.securityContext.runAsUser` (or 65534 under the VictoriaMetrics
/// operator's `useStrictSecurity`, its default then). The helper goes into `spec.initContainers`,
/// which the operator adds to the pods it makes. A resource of several pod specs (a VMCluster's
/// components, a ClickHouseInstallation's pod templates) is planned part by part: `pointer` is
/// the part's, and only the claims its pods mount are its targets.
fn plan_operator(
    r: &crate::operators::Resource,
    id: &Identity,
    doc: &Value,
    (pointer, pod): (&str, &Map<String, Value>),
    s: &Settings,
) -> PodPlan {
    let mut plan = PodPlan::default();
    // One claim per volume is enough to know the volumes: every replica mounts the same.
    let count = |_: Option<&Value>, _: &str| 1;
    let mut targets: Vec<Target> = Vec::new();
    for c in crate::operators::claims(r, id, doc, &count) {
        if c.pod == pointer && !targets.iter().any(|t| t.volume == c.volume) {
            targets.push(Target {
                volume: c.volume,
                sub_path: c.sub_path,
                sub_path_expr: None,
                uid: 0,
                gid: 0,
            });
        }
    }
    if targets.is_empty() {
        return plan;
    }
    let psc = pod.get("securityContext");
    // A cluster resource sets it once for its components (`VMClusterSpec.UseStrictSecurity`).
    let strict = [
        pod.get("useStrictSecurity"),
        doc.pointer("/spec/useStrictSecurity"),
    ]
    .into_iter()
    .flatten()
    .any(|v| v.as_bool() == Some(true));
    let uid = s
        .uid
        .or_else(|| workload::sc_int(psc, "runAsUser"))
        .or_else(|| strict.then_some(65534));
    match uid {
        None => plan.warnings.push(format!(
            "storage {} is not chowned: {}.securityContext has no runAsUser, so the image decides; set --set \
             init-chown.uid=UID (and init-chown.gid=GID)",
            targets.iter().map(describe).collect::<Vec<_>>().join(", "),
            pointer.trim_start_matches('/').replace('/', ".")
        )),
        Some(0) => plan.notes.push("the pods run as root: no chown needed".into()),
        Some(uid) => {
            let gid = s
                .gid
                .or_else(|| workload::sc_int(psc, "fsGroup"))
                .or_else(|| workload::sc_int(psc, "runAsGroup"))
                .or_else(|| strict.then_some(65534))
                .unwrap_or(uid);
            for t in targets {
                plan.targets.push(Target { uid, gid, ..t });
            }
        }
    }
    plan
}

impl Fix for InitChown {
    fn raises_privilege(&self) -> bool {
        true
    }

    type Settings = Settings;

    fn configure(&self, params: &Params) -> Result<Settings, UsageError> {
        let image = params.str("image").unwrap_or(DEFAULT_IMAGE).to_string();
        if image.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(
                format!("init-chown.image={image:?}: an image reference has no spaces").into(),
            );
        }
        let (uid, gid) = (params.int("uid")?, params.int("gid")?);
        Ok(Settings {
            image,
            uid: workload::id_param("init-chown.uid", uid)?,
            gid: workload::id_param("init-chown.gid", gid)?,
        })
    }
}

impl PodFix for InitChown {
    /// The namespaces that enforce Pod Security "restricted".
    type Survey = Vec<String>;

    fn survey(&self, _: &Settings, docs: &Docs, _: &mut Ctx) -> Vec<String> {
        docs.restricted_namespaces()
    }

    fn plan(&self, at: Planning<'_, Self>) -> Result<Findings, UsageError> {
        let Planning {
            settings,
            survey: restricted,
            view,
            sel,
            profile,
            assume,
        } = at;
        let (id, cr, doc, pod) = (view.id, view.cr, view.doc, view.pod);
        let mut found = Findings::for_pod(profile, view);
        // A uid Kubernetes refuses reads as unset, so it is not the owner files get: say so.
        workload::warn_bad_numbers(&mut found.report, id, doc);
        let mut plan = match (cr, crate::operators::resource(id)) {
            (Some(kind), _) if sel.container(kind.main_container()) => {
                plan_cr(kind, id, doc, pod, settings)
            }
            (Some(_), _) => PodPlan::default(),
            (None, Some(r)) => plan_operator(r, id, doc, (view.pointer, pod), settings),
            (None, None) => plan_pod(doc, pod, settings, &|n| sel.container(n)),
        };
        let mut covered = Vec::new();
        plan.targets.retain(|t| match existing_helper(pod, t) {
            Some(Ok(name)) => {
                covered.push((false, format!(
                    "init container {name} already chowns {} to {} as root: not adding {NAME}",
                    describe(t),
                    t.uid
                )));
                false
            }
            Some(Err(name)) => {
                // It runs after ours and may undo it: a warning.
                covered.push((true, format!(
                    "init container {name} chowns {} as root but not to uid {}; it runs after {NAME} and may \
                     undo it: make it use {}:{}",
                    describe(t),
                    t.uid,
                    t.uid,
                    t.gid
                )));
                true
            }
            None => true,
        });
        for (undoes, m) in covered {
            if undoes {
                found.warn(m);
            } else {
                found.note(m);
            }
        }
        for n in &plan.notes {
            found.note(n.clone());
        }
        for w in &plan.warnings {
            found.warn(w.clone());
        }
        if plan.targets.is_empty() {
            if sel.explicit() && plan.notes.is_empty() && plan.warnings.is_empty() {
                found.note("no writable persistent mount (configMap, secret, projected, emptyDir and downwardAPI \
                     volumes are made for the pod and follow its fsGroup)",
                );
            }
            return Ok(found);
        }
        let mut nfs: Vec<&str> = Vec::new();
        for t in plan.targets.iter().filter(|t| is_nfs(pod, &t.volume)) {
            if !nfs.contains(&t.volume.as_str()) {
                nfs.push(&t.volume);
            }
        }
        let nfs_note = (!nfs.is_empty()).then(|| {
            format!(
                "volume {} is NFS: if the export squashes root (root_squash, the NFS default), {NAME} cannot \
                 change ownership there; it then logs what it could not change and the pod starts anyway. Set \
                 the owner on the NFS server, export with no_root_squash, or give the pod the owner's uid with \
                 shared-uid",
                nfs.join(", ")
            )
        });
        let wanted = container(&settings.image, &plan.targets);
        let mut value = Findings::start(view);
        let Some(pod) = view.pod_mut(&mut value) else {
            return Ok(found);
        };
        if let Err(e) = place(pod, wanted, cr.is_none()) {
            found.warn(format!("{e}: {NAME} not added"));
            return Ok(found);
        }
        if value == *doc {
            return Ok(found);
        }
        predict(&mut found, view, &plan.targets, assume);
        let what: Vec<String> = plan
            .targets
            .iter()
            .map(|t| format!("{} -> {}:{}", describe(t), t.uid, t.gid))
            .collect();
        found.note(format!("{NAME} chowns {}", what.join(", ")));
        if let Some(n) = nfs_note {
            found.note_code(Code::ClusterSetup, n);
        }
        if id
            .namespace
            .as_ref()
            .is_some_and(|ns| restricted.contains(ns))
        {
            found.warn_code(Code::PodSecurity, format!("its namespace enforces Pod Security \"restricted\", which rejects the root {NAME} container"),
            );
        }
        found.set_fixed(view, value);
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            image: DEFAULT_IMAGE.into(),
            uid: None,
            gid: None,
        }
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(sh_quote("/fixup/a'b"), r"'/fixup/a'\''b'");
    }

    #[test]
    fn whole_numbers_only() {
        assert!(mentions_number("chown -R \"1001:1001\" /data", 1001));
        assert!(!mentions_number("chown -R 10010:10010 /data", 1001));
        assert!(!mentions_number("chown 21001 /x", 1001));
    }

    #[test]
    fn system_host_paths_are_refused() {
        for p in [
            "/",
            "/var/log",
            "/var/log/pods",
            "/etc/",
            "/var/lib/kubelet/pods",
            "/var",
        ] {
            assert!(
                matches!(host_path_kind(&json!({"path": p})), VolumeKind::Unsafe(_)),
                "{p}"
            );
        }
        assert_eq!(
            host_path_kind(&json!({"path": "/var/lib/prometheus"})),
            VolumeKind::Persistent
        );
        assert_eq!(
            host_path_kind(&json!({"path": "/mnt/disks/prom"})),
            VolumeKind::Persistent
        );
        assert!(matches!(
            host_path_kind(&json!({"path": "/x.sock", "type": "Socket"})),
            VolumeKind::Unsafe(_)
        ));
    }

    #[test]
    fn several_subpaths_of_one_volume_get_sibling_mounts() {
        let t = |s: Option<&str>, v: &str| Target {
            volume: v.into(),
            sub_path: s.map(Into::into),
            sub_path_expr: None,
            uid: 1,
            gid: 1,
        };
        let ts = [t(Some("a"), "data"), t(Some("b"), "data"), t(None, "logs")];
        assert_eq!(
            mount_paths(&ts),
            ["/fixup/data/0", "/fixup/data/1", "/fixup/logs"]
        );
    }

    #[test]
    fn uid_comes_from_the_writing_container() {
        let doc = json!({"spec": {"volumeClaimTemplates": [{"metadata": {"name": "db"}}]}});
        let pod = map(json!({"securityContext": {"fsGroup": 2000},
            "containers": [{"name": "a", "securityContext": {"runAsUser": 1000},
                            "volumeMounts": [{"name": "db", "mountPath": "/db", "subPath": "x"}]}]}));
        let plan = plan_pod(&doc, &pod, &settings(), &|_| true);
        assert_eq!(
            plan.targets,
            [Target {
                volume: "db".into(),
                sub_path: Some("x".into()),
                sub_path_expr: None,
                uid: 1000,
                gid: 2000
            }]
        );
    }

    #[test]
    fn pod_without_uid_is_skipped_with_a_warning_naming_the_param() {
        let pod = map(
            json!({"volumes": [{"name": "d", "hostPath": {"path": "/srv/d"}}],
            "containers": [{"name": "a", "volumeMounts": [{"name": "d", "mountPath": "/d"}]}]}),
        );
        let plan = plan_pod(&json!({}), &pod, &settings(), &|_| true);
        assert!(plan.targets.is_empty());
        assert!(
            plan.warnings[0].contains("--set init-chown.uid="),
            "{:?}",
            plan.warnings
        );
        let s = Settings {
            uid: Some(7),
            ..settings()
        };
        assert_eq!(plan_pod(&json!({}), &pod, &s, &|_| true).targets[0].uid, 7);
    }

    /// The init container as it was built before: the Kubernetes types, serialized, with
    /// `name` moved first. `container` must give the same text.
    fn typed_container(image: &str, targets: &[Target]) -> Value {
        use k8s_openapi::api::core::v1::{
            Capabilities, Container, ResourceRequirements, SecurityContext, VolumeMount,
        };
        use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
        let paths = mount_paths(targets);
        let q = |s: &str| Quantity(s.to_string());
        let c = Container {
            name: NAME.to_string(),
            image: Some(image.to_string()),
            command: Some(vec!["sh".into(), "-c".into(), script(targets, &paths)]),
            security_context: Some(SecurityContext {
                run_as_user: Some(0),
                run_as_group: Some(0),
                run_as_non_root: Some(false),
                allow_privilege_escalation: Some(false),
                capabilities: Some(Capabilities {
                    drop: Some(vec!["ALL".into()]),
                    add: Some(vec!["CHOWN".into(), "DAC_OVERRIDE".into(), "FOWNER".into()]),
                }),
                ..SecurityContext::default()
            }),
            resources: Some(ResourceRequirements {
                requests: Some(BTreeMap::from([
                    ("cpu".into(), q("10m")),
                    ("memory".into(), q("16Mi")),
                ])),
                limits: Some(BTreeMap::from([
                    ("cpu".into(), q("100m")),
                    ("memory".into(), q("64Mi")),
                ])),
                ..ResourceRequirements::default()
            }),
            volume_mounts: Some(
                targets
                    .iter()
                    .zip(paths)
                    .map(|(t, p)| VolumeMount {
                        name: t.volume.clone(),
                        mount_path: p,
                        sub_path: t.sub_path.clone(),
                        sub_path_expr: t.sub_path_expr.as_ref().map(|e| e.expr.clone()),
                        ..VolumeMount::default()
                    })
                    .collect(),
            ),
            ..Container::default()
        };
        let value = serde_json::to_value(&c).unwrap();
        let mut ordered = Map::new();
        ordered.insert("name".into(), json!(NAME));
        let env = expanded_env(targets);
        for key in [
            "image",
            "command",
            "env",
            "securityContext",
            "resources",
            "volumeMounts",
        ] {
            if key == "env" {
                if !env.is_empty() {
                    ordered.insert(key.into(), Value::Array(env.clone()));
                }
            } else if let Some(v) = value.get(key) {
                ordered.insert(key.into(), v.clone());
            }
        }
        Value::Object(ordered)
    }

    #[test]
    fn built_container_is_what_the_kubernetes_types_serialize() {
        let t = |volume: &str, sub_path: Option<&str>, expr: Option<(&str, Value)>| Target {
            volume: volume.into(),
            sub_path: sub_path.map(Into::into),
            sub_path_expr: expr.map(|(e, env)| SubPathExpr {
                expr: e.into(),
                env: vec![env],
            }),
            uid: 1000,
            gid: 2000,
        };
        let pod = json!({"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}});
        for targets in [
            vec![],
            vec![t("v", None, None)],
            vec![
                t("data", Some("a"), None),
                t("data", Some("b"), None),
                t("logs", None, Some(("$(POD)", pod.clone()))),
                t("l$x", None, Some(("$(POD)/x", pod.clone()))),
            ],
        ] {
            // Compared as text: key order is part of the output.
            assert_eq!(
                container(DEFAULT_IMAGE, &targets).to_string(),
                typed_container(DEFAULT_IMAGE, &targets).to_string()
            );
        }
    }

    #[test]
    fn built_container_has_the_contract_fields() {
        let c = container(
            "busybox:1.38.0",
            &[Target {
                volume: "v".into(),
                sub_path: None,
                sub_path_expr: None,
                uid: 1000,
                gid: 2000,
            }],
        );
        assert_eq!(
            c.as_object().unwrap().keys().next().map(String::as_str),
            Some("name")
        );
        assert_eq!(
            c["securityContext"]["capabilities"],
            json!({"add": ["CHOWN", "DAC_OVERRIDE", "FOWNER"], "drop": ["ALL"]})
        );
        assert_eq!(
            c["resources"],
            json!({"limits": {"cpu": "100m", "memory": "64Mi"}, "requests": {"cpu": "10m", "memory": "16Mi"}})
        );
        let script = c["command"][2].as_str().unwrap();
        assert!(
            script.contains(
                r"find '/fixup/v' -xdev \( ! -user 1000 -o ! -group 2000 \) -exec chown -h 1000:2000 {} +"
            ),
            "{script}"
        );
        assert!(
            !script.contains("set -e") && !script.contains("pipefail"),
            "{script}"
        );
    }
}
