//! `helm-fixup doctor`: from the failing pods of an installed release to the `helm upgrade`
//! that fixes them.
//!
//! This module is the judgement, with no I/O: it gets what was read from the cluster
//! ([`Facts`], gathered by [`gather`] through kubectl) and says, for each pod that is not Ready,
//! which failure of the `--error` catalogue its live texts show (waiting reasons, termination
//! messages, the tail of `logs --previous`, events, the scheduler's condition message), which
//! object of the release owns it, and which profile fixes it. The fixes of one release go into
//! one `helm upgrade` (a post-renderer is replaced, not added to, on each upgrade), with the
//! `--set` values the cluster answers: the nodes for local-pv, `existing=cluster`, the arch for
//! image-mirror.

pub mod gather;

use crate::diagnose::{self, Found};
use crate::manifest::Identity;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// What was read from the cluster. Lists are the `items` of kubectl's `-o json` answers.
#[derive(Debug, Default)]
pub struct Facts {
    /// The namespace asked for (`-n`, `HELM_NAMESPACE`), or `None` for kubectl's current one.
    pub namespace: Option<String>,
    /// The release asked for, and what Helm stored about it, when it could be read.
    pub release_name: Option<String>,
    pub release: Option<Release>,
    pub pods: Vec<Value>,
    pub events: Vec<Value>,
    /// ReplicaSets, StatefulSets, DaemonSets and Jobs: the links from a pod to its chart object.
    pub owners: Vec<Value>,
    /// `logs --previous` tails, by (pod, container).
    pub logs: BTreeMap<(String, String), String>,
    pub nodes: Vec<Value>,
    pub storage_classes: Vec<Value>,
    /// The namespace object (its Pod Security labels).
    pub namespace_object: Option<Value>,
    /// Whether the OpenShift SCC API answers; `None` when that could not be told.
    pub openshift: Option<bool>,
    pub pvs: Vec<Value>,
    /// What could not be read, and why (forbidden, not found): said in the report.
    pub unread: Vec<String>,
}

/// What Helm stored about a release (its storage Secret or ConfigMap).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Release {
    pub name: String,
    pub namespace: String,
    pub revision: u64,
    pub status: String,
    pub chart: String,
    pub chart_version: String,
    #[serde(skip)]
    pub manifest: String,
}

/// The release in Helm's storage object: `data.release` is the release JSON, gzipped and
/// base64-encoded by Helm (`pkg/storage/driver/util.go` `encodeRelease`), and base64-encoded
/// once more by the API for a Secret's data (a ConfigMap's data is the string itself). Helm
/// decodes a payload that is not gzipped as plain JSON (`decodeRelease` checks the gzip magic),
/// and so does this.
pub fn decode_release(object: &Value) -> Result<Release, String> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let data = object
        .pointer("/data/release")
        .and_then(Value::as_str)
        .ok_or("no data.release")?;
    let mut bytes = b64
        .decode(data.trim())
        .map_err(|e| format!("data.release is not base64: {e}"))?;
    if object.get("kind").and_then(Value::as_str) == Some("Secret") && !is_gzip(&bytes) {
        bytes = b64
            .decode(&bytes)
            .map_err(|e| format!("the release is not base64: {e}"))?;
    }
    if is_gzip(&bytes) {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out)
            .map_err(|e| format!("the release is not gzip: {e}"))?;
        bytes = out;
    }
    let v: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("the release is not JSON: {e}"))?;
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    Ok(Release {
        name: s("/name"),
        namespace: s("/namespace"),
        revision: v.get("version").and_then(Value::as_u64).unwrap_or(0),
        status: s("/info/status"),
        chart: s("/chart/metadata/name"),
        chart_version: s("/chart/metadata/version"),
        manifest: s("/manifest"),
    })
}

/// The placeholder for the user's mirror in the image-mirror command: a name image-mirror
/// accepts (an upper-case one is not a repository), plainly not theirs.
const MIRROR: &str = "mirror.example.com";

fn is_gzip(b: &[u8]) -> bool {
    b.starts_with(&[0x1f, 0x8b])
}

/// The storage object of the newest revision among Helm's (label `version`), if any.
pub fn newest_revision(items: &[Value]) -> Option<&Value> {
    items.iter().max_by_key(|o| {
        o.pointer("/metadata/labels/version")
            .and_then(Value::as_str)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    })
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn list(v: &Value, pointer: &str) -> Vec<Value> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Whether a pod is failing: not Succeeded, and not Ready (a Running pod whose Ready condition is
/// False is failing its readiness probe).
pub fn failing(pod: &Value) -> bool {
    let phase = text(pod, "/status/phase");
    if phase == "Succeeded" {
        return false;
    }
    let ready = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| text(c, "/type") == "Ready"))
        .map(|c| text(c, "/status") == "True");
    phase != "Running" || ready != Some(true)
}

/// Every container status of a pod, init containers first, with whether it is an init one.
fn statuses(pod: &Value) -> Vec<(bool, &Value)> {
    let get = |k: &str| {
        pod.pointer(&format!("/status/{k}"))
            .and_then(Value::as_array)
            .map(|a| a.iter().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    get("initContainerStatuses")
        .into_iter()
        .map(|s| (true, s))
        .chain(get("containerStatuses").into_iter().map(|s| (false, s)))
        .collect()
}

/// The containers whose previous run's log tail is worth reading: those that terminated (or
/// restarted) before, at most three per pod.
pub fn wanted_logs(pod: &Value) -> Vec<String> {
    statuses(pod)
        .into_iter()
        .filter(|(_, s)| {
            s.pointer("/lastState/terminated").is_some()
                || s.get("restartCount").and_then(Value::as_u64).unwrap_or(0) > 0
        })
        .map(|(_, s)| text(s, "/name").to_string())
        .take(3)
        .collect()
}

/// `kubectl get pods`' STATUS column, near enough: `Init:0/1`, `Init:CrashLoopBackOff`,
/// `CrashLoopBackOff`, `ImagePullBackOff`, `Pending`, `Running (not ready)`.
pub fn status_word(pod: &Value) -> String {
    let all = statuses(pod);
    let inits: Vec<&Value> = all.iter().filter(|(i, _)| *i).map(|(_, s)| *s).collect();
    for (n, s) in inits.iter().enumerate() {
        let done = text(s, "/state/terminated/reason") == "Completed";
        if !done {
            let reason = text(s, "/state/waiting/reason");
            return if reason.is_empty() || reason == "PodInitializing" {
                format!("Init:{n}/{}", inits.len())
            } else {
                format!("Init:{reason}")
            };
        }
    }
    for (_, s) in all.iter().filter(|(i, _)| !*i) {
        let reason = text(s, "/state/waiting/reason");
        if !reason.is_empty() && reason != "ContainerCreating" {
            return reason.to_string();
        }
    }
    match text(pod, "/status/phase") {
        "Running" => "Running (not ready)".into(),
        "" => "Unknown".into(),
        p => p.to_string(),
    }
}

/// The live texts of one pod, one per line, each prefixed with where it came from: what
/// `diagnose --error` reads.
fn pod_texts(pod: &Value, facts: &Facts) -> Vec<String> {
    let name = text(pod, "/metadata/name");
    let mut out = Vec::new();
    for c in list(pod, "/status/conditions") {
        if text(&c, "/status") != "True" && !text(&c, "/message").is_empty() {
            out.push(format!(
                "condition {}: {}",
                text(&c, "/type"),
                text(&c, "/message")
            ));
        }
    }
    for (_, s) in statuses(pod) {
        let c = text(s, "/name");
        for at in [
            "/state/waiting",
            "/state/terminated",
            "/lastState/terminated",
        ] {
            let reason = text(s, &format!("{at}/reason"));
            let message = text(s, &format!("{at}/message"));
            if !reason.is_empty() || !message.is_empty() {
                for line in format!("{reason}: {message}").lines() {
                    out.push(format!("container {c}: {line}"));
                }
            }
        }
    }
    for e in &facts.events {
        if text(e, "/involvedObject/kind") == "Pod" && text(e, "/involvedObject/name") == name {
            out.push(format!(
                "event {}: {}",
                text(e, "/reason"),
                text(e, "/message")
            ));
        }
    }
    for ((p, c), log) in &facts.logs {
        if p == name {
            for line in log.lines().filter(|l| !l.trim().is_empty()) {
                out.push(format!("logs {c}: {line}"));
            }
        }
    }
    out
}

/// The chart object a pod comes from, as (kind, name): through a ReplicaSet to its Deployment,
/// a Job to its CronJob, and a StatefulSet to the operator resource that made it (its
/// controller reference), as far as the owners read say.
fn owner(pod: &Value, facts: &Facts) -> Option<(String, String)> {
    let controller = |o: &Value| -> Option<(String, String)> {
        let refs = o.pointer("/metadata/ownerReferences")?.as_array()?;
        let r = refs
            .iter()
            .find(|r| r.get("controller") == Some(&Value::Bool(true)))
            .or(refs.first())?;
        Some((text(r, "/kind").to_string(), text(r, "/name").to_string()))
    };
    let mut at = controller(pod)?;
    for _ in 0..3 {
        let next = facts
            .owners
            .iter()
            .find(|o| text(o, "/kind") == at.0 && text(o, "/metadata/name") == at.1)
            .and_then(controller);
        match next {
            Some(n) => at = n,
            None => break,
        }
    }
    // A ReplicaSet not read: its Deployment is its name without the pod-template-hash.
    if at.0 == "ReplicaSet"
        && let Some(hash) = pod
            .pointer("/metadata/labels/pod-template-hash")
            .and_then(Value::as_str)
        && let Some(base) = at.1.strip_suffix(&format!("-{hash}"))
    {
        at = ("Deployment".into(), base.to_string());
    }
    Some(at)
}

/// The kind and name of every object in a release's manifest.
fn manifest_objects(manifest: &str) -> Vec<Identity> {
    crate::stream::split(manifest.as_bytes())
        .into_iter()
        .filter_map(|seg| {
            let t = manifest.get(seg.span)?;
            crate::yaml::parse_value(t).ok()
        })
        .filter(|v| v.is_object())
        .map(|v| Identity::of(&v))
        .collect()
}

/// One failing pod, as the report shows it.
#[derive(Debug, Serialize)]
pub struct PodReport {
    pub pod: String,
    pub namespace: String,
    pub status: String,
    /// The chart object it comes from (`Prometheus kps-prometheus`), if known.
    pub owner: Option<String>,
    /// The failures its live texts show, with the line that showed each.
    pub failures: Vec<Shown>,
    /// The profile that fixes each failure, in the order of `failures` (none for a failure no
    /// profile fixes).
    pub profiles: Vec<Option<String>>,
}

#[derive(Debug, Serialize)]
pub struct Shown {
    pub code: &'static str,
    pub title: &'static str,
    pub line: String,
}

/// What doctor found and the command that fixes it.
#[derive(Debug, Default, Serialize)]
pub struct Diagnosis {
    pub release: Option<Release>,
    pub namespace: Option<String>,
    /// The cluster facts the commands use, as lines (`nodes: a, b (loong64)`).
    pub facts: Vec<String>,
    pub pods: Vec<PodReport>,
    /// Failing pods that belong to no object of the named release.
    pub other_pods: Vec<String>,
    pub unread: Vec<String>,
    /// The `helm-fixup` arguments of the fix (`-p`, `--set`, `--only`), for one upgrade.
    pub args: Vec<String>,
    pub helm4: Option<String>,
    pub helm3: Option<String>,
    /// Notes on the command (placeholders to fill, a default StorageClass that exists).
    pub notes: Vec<String>,
}

impl Diagnosis {
    /// Whether a failure was named (exit 4, as `diagnose`).
    pub fn found(&self) -> bool {
        self.pods.iter().any(|p| !p.failures.is_empty())
    }
}

/// Nodes a local volume can go to: not cordoned, and without a NoSchedule or NoExecute taint
/// (control-plane nodes carry `node-role.kubernetes.io/control-plane:NoSchedule`).
pub fn schedulable_nodes(nodes: &[Value]) -> Vec<String> {
    nodes
        .iter()
        .filter(|n| n.pointer("/spec/unschedulable") != Some(&Value::Bool(true)))
        .filter(|n| {
            !list(n, "/spec/taints")
                .iter()
                .any(|t| matches!(text(t, "/effect"), "NoSchedule" | "NoExecute"))
        })
        .map(|n| text(n, "/metadata/name").to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

/// The architecture every node reports (`kubernetes.io/arch`), when they agree.
pub fn one_arch(nodes: &[Value]) -> Option<String> {
    let mut archs: Vec<&str> = nodes
        .iter()
        .map(|n| {
            let label = text(n, "/metadata/labels/kubernetes.io~1arch");
            if label.is_empty() {
                text(n, "/status/nodeInfo/architecture")
            } else {
                label
            }
        })
        .collect();
    archs.sort_unstable();
    archs.dedup();
    match archs.as_slice() {
        [one] if !one.is_empty() => Some(one.to_string()),
        _ => None,
    }
}

/// The default StorageClass (annotation `storageclass.kubernetes.io/is-default-class: "true"`).
pub fn default_class(classes: &[Value]) -> Option<String> {
    classes
        .iter()
        .find(|c| {
            text(
                c,
                "/metadata/annotations/storageclass.kubernetes.io~1is-default-class",
            ) == "true"
        })
        .map(|c| text(c, "/metadata/name").to_string())
}

/// The Pod Security level a namespace enforces (label `pod-security.kubernetes.io/enforce`).
pub fn enforced_level(namespace: Option<&Value>) -> Option<String> {
    let l = text(
        namespace?,
        "/metadata/labels/pod-security.kubernetes.io~1enforce",
    );
    (!l.is_empty()).then(|| l.to_string())
}

/// The registry of an image reference: its first part when that names a host.
fn registry(image: &str) -> String {
    match image.split_once('/') {
        Some((host, _)) if host.contains('.') || host.contains(':') || host == "localhost" => {
            host.to_string()
        }
        _ => "docker.io".into(),
    }
}

/// Whether a pod's containers already share one uid with an fsGroup: then shared-uid has nothing
/// to change, and a config_out it still cannot write means the node did not apply the fsGroup.
fn shares_uid(pod: &Value) -> bool {
    let sc = pod.pointer("/spec/securityContext");
    let uid = sc.and_then(|s| s.get("runAsUser")).and_then(Value::as_i64);
    let fs = sc.and_then(|s| s.get("fsGroup"));
    let (Some(uid), Some(_)) = (uid, fs) else {
        return false;
    };
    ["/spec/initContainers", "/spec/containers"]
        .iter()
        .all(|p| {
            list(pod, p).iter().all(|c| {
                c.pointer("/securityContext/runAsUser")
                    .and_then(Value::as_i64)
                    .is_none_or(|u| u == uid)
            })
        })
}

/// The profile that fixes `code` on this pod: the catalogue's first fix (the least privilege),
/// except for config_out in a pod that already shares one uid, where it is root-run (the
/// catalogue's own advice for that case).
fn profile_for(code: &str, pod: &Value) -> Option<String> {
    if code == "config-reloader-write" && shares_uid(pod) {
        return Some("root-run".into());
    }
    let failure = diagnose::failure(code)?;
    match failure.fixes.first()?.args {
        ["-p", profile, ..] => Some(profile.to_string()),
        _ => None,
    }
}

/// Judge the facts: each failing pod, its owner and failures, and the one command that fixes
/// the release.
pub fn analyse(facts: &Facts) -> Diagnosis {
    let mut d = Diagnosis {
        release: facts.release.clone(),
        namespace: facts.namespace.clone(),
        unread: facts.unread.clone(),
        ..Diagnosis::default()
    };
    let objects = facts
        .release
        .as_ref()
        .map(|r| manifest_objects(&r.manifest));
    let instance = facts.release_name.as_deref();
    for pod in facts.pods.iter().filter(|p| failing(p)) {
        let name = text(pod, "/metadata/name").to_string();
        let own = owner(pod, facts);
        // With a release named: its pods are those whose owner is in its manifest, or that
        // carry its instance label (a pod of a Helm hook, a pod made by hand from its chart).
        if let Some(release) = instance {
            let in_manifest = match (&objects, &own) {
                (Some(objs), Some((k, n))) => objs.iter().any(|o| &o.kind == k && &o.name == n),
                _ => false,
            };
            let labelled = text(pod, "/metadata/labels/app.kubernetes.io~1instance") == release
                || text(pod, "/metadata/labels/release") == release;
            if !in_manifest && !labelled {
                d.other_pods.push(name);
                continue;
            }
        }
        let texts = pod_texts(pod, facts).join("\n");
        let found: Vec<Found> = diagnose::from_error(&texts);
        let profiles = found
            .iter()
            .map(|f| profile_for(f.failure.code, pod))
            .collect();
        d.pods.push(PodReport {
            pod: name,
            namespace: text(pod, "/metadata/namespace").to_string(),
            status: status_word(pod),
            owner: own.map(|(k, n)| format!("{k} {n}")),
            failures: found
                .into_iter()
                .map(|f| Shown {
                    code: f.failure.code,
                    title: f.failure.title,
                    line: f.line,
                })
                .collect(),
            profiles,
        });
    }
    command(facts, &mut d);
    d
}

/// The one set of post-renderer arguments that fixes every failure found, and the upgrade
/// commands for Helm 4 and Helm 3.
fn command(facts: &Facts, d: &mut Diagnosis) {
    let mut profiles: Vec<String> = Vec::new();
    for p in d.pods.iter().flat_map(|p| p.profiles.iter().flatten()) {
        if !profiles.contains(p) {
            profiles.push(p.clone());
        }
    }
    let ns = d
        .namespace
        .clone()
        .or_else(|| facts.release.as_ref().map(|r| r.namespace.clone()))
        .or_else(|| d.pods.first().map(|p| p.namespace.clone()))
        .filter(|n| !n.is_empty());
    let arch = one_arch(&facts.nodes);
    let nodes = schedulable_nodes(&facts.nodes);
    let default = default_class(&facts.storage_classes);
    if !facts.nodes.is_empty() {
        d.facts.push(format!(
            "nodes: {} schedulable of {} ({})",
            if nodes.is_empty() {
                "none".to_string()
            } else {
                nodes.join(", ")
            },
            facts.nodes.len(),
            arch.clone().unwrap_or_else(|| "mixed architectures".into())
        ));
    }
    if !facts.storage_classes.is_empty()
        || facts.unread.iter().all(|u| !u.contains("storageclasses"))
    {
        d.facts.push(format!(
            "default StorageClass: {}",
            default.clone().unwrap_or_else(|| "none".into())
        ));
    }
    if let Some(level) = enforced_level(facts.namespace_object.as_ref()) {
        d.facts
            .push(format!("Pod Security enforced in the namespace: {level}"));
    }
    match facts.openshift {
        Some(true) => d
            .facts
            .push("OpenShift: yes (security.openshift.io answers)".into()),
        Some(false) => d.facts.push("OpenShift: no".into()),
        None => {}
    }
    if !facts.pvs.is_empty() {
        d.facts
            .push(format!("PersistentVolumes: {}", facts.pvs.len()));
    }
    if profiles.is_empty() {
        return;
    }
    let mut args = vec!["-p".to_string(), profiles.join(",")];
    let mut set = |kv: String| {
        args.push("--set".into());
        args.push(kv);
    };
    if profiles.iter().any(|p| p == "local-pv") {
        if nodes.is_empty() {
            set("local-pv.nodes=NODE".into());
            d.notes.push(
                "NODE: no schedulable node was read; name the nodes whose disks hold the volumes"
                    .into(),
            );
        } else {
            set(format!("local-pv.nodes={}", nodes.join(",")));
        }
        if let Some(ns) = &ns {
            set(format!("local-pv.namespace={ns}"));
        }
        set("local-pv.existing=cluster".into());
        if let Some(c) = &default {
            d.notes.push(format!(
                "StorageClass {c} is the default: the claims wait for its provisioner, which may be the \
                 thing to fix; local-pv binds them to local disks instead"
            ));
        }
    }
    if profiles.iter().any(|p| p == "image-mirror") {
        let mut registries: Vec<String> = Vec::new();
        for pod in facts.pods.iter().filter(|p| failing(p)) {
            for (_, s) in statuses(pod) {
                let reason = text(s, "/state/waiting/reason");
                if matches!(
                    reason,
                    "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName"
                ) {
                    let r = registry(text(s, "/image"));
                    if !registries.contains(&r) {
                        registries.push(r);
                    }
                }
            }
        }
        if registries.is_empty() {
            registries.push("FROM".into());
        }
        for r in &registries {
            set(format!("image-mirror.map={r}={MIRROR}/{r}"));
        }
        d.notes.push(format!(
            "{MIRROR}: put your registry there, the one that holds copies of these images (with builds \
             for the nodes' architecture)"
        ));
        if let Some(a) = &arch {
            args.push("--assume".into());
            args.push(format!("arch={a}"));
        }
    }
    // root-run only where it was found needed: shared-uid or others must not meet it on the
    // same object (the two conflict), so root-run is limited to those objects.
    let root: Vec<&PodReport> = d
        .pods
        .iter()
        .filter(|p| p.profiles.iter().flatten().any(|x| x == "root-run"))
        .collect();
    for p in &root {
        if let Some((kind, name)) = p.owner.as_deref().and_then(|o| o.split_once(' ')) {
            args.push("--only".into());
            args.push(format!("root-run:kind={kind},name={name}"));
            if profiles.iter().any(|x| x == "shared-uid") {
                args.push("--skip".into());
                args.push(format!("shared-uid:kind={kind},name={name}"));
            }
        }
    }
    let (release, chart) = match &facts.release {
        Some(r) => (
            r.name.clone(),
            format!("REPO/{} --version {}", r.chart, r.chart_version),
        ),
        None => (
            facts
                .release_name
                .clone()
                .unwrap_or_else(|| "RELEASE".into()),
            "CHART".into(),
        ),
    };
    d.notes.push(if facts.release.is_some() {
        "REPO: the repository you installed the chart from (helm repo list); --reuse-values keeps your values".into()
    } else {
        "RELEASE and CHART: the release and the chart it was installed from (helm list)".into()
    });
    let ns_arg = ns
        .map(|n| format!(" -n {}", crate::shell::quote_word(&n)))
        .unwrap_or_default();
    let head = format!(
        "helm upgrade {} {chart}{ns_arg} --reuse-values",
        crate::shell::quote_word(&release)
    );
    let words: Vec<String> = args.iter().map(|a| crate::shell::quote_word(a)).collect();
    d.helm4 = Some(format!(
        "{head} --post-renderer fixup{}",
        words
            .iter()
            .map(|w| format!(" --post-renderer-args={w}"))
            .collect::<String>()
    ));
    d.helm3 = Some(format!(
        "{head} --post-renderer helm-fixup{}",
        words
            .iter()
            .map(|w| format!(" --post-renderer-args {w}"))
            .collect::<String>()
    ));
    d.args = args;
}

/// The report as text.
pub fn text_report(d: &Diagnosis) -> String {
    let mut out = String::new();
    match (&d.release, &d.namespace) {
        (Some(r), _) => out.push_str(&format!(
            "release {} in {} (revision {}, {}, chart {} {})\n",
            r.name, r.namespace, r.revision, r.status, r.chart, r.chart_version
        )),
        (None, Some(ns)) => out.push_str(&format!("namespace {ns}\n")),
        (None, None) => out.push_str("the current namespace\n"),
    }
    for f in &d.facts {
        out.push_str(&format!("  {f}\n"));
    }
    if d.pods.is_empty() {
        out.push_str("\nno failing pod");
        if !d.other_pods.is_empty() {
            out.push_str(&format!(
                " of the release ({} other failing pod(s) in the namespace: {})",
                d.other_pods.len(),
                d.other_pods.join(", ")
            ));
        }
        out.push('\n');
    }
    for p in &d.pods {
        out.push_str(&format!(
            "\npod {} ({}){}\n",
            p.pod,
            p.status,
            p.owner
                .as_ref()
                .map(|o| format!(", from {o}"))
                .unwrap_or_default()
        ));
        if p.failures.is_empty() {
            out.push_str("  not attributed: no known failure in its status, events or logs (kubectl describe pod and kubectl logs show more)\n");
        }
        for (i, f) in p.failures.iter().enumerate() {
            out.push_str(&format!(
                "  {}: {}\n    seen: {}\n",
                f.code, f.title, f.line
            ));
            if let Some(Some(profile)) = p.profiles.get(i) {
                out.push_str(&format!("    fix: -p {profile}\n"));
            }
        }
    }
    if !d.pods.is_empty() && !d.other_pods.is_empty() {
        out.push_str(&format!(
            "\nnot of this release: {} other failing pod(s) ({})\n",
            d.other_pods.len(),
            d.other_pods.join(", ")
        ));
    }
    if let (Some(h4), Some(h3)) = (&d.helm4, &d.helm3) {
        out.push_str(&format!(
            "\nthe upgrade that fixes it:\n  Helm 4: {h4}\n  Helm 3: {h3}\n"
        ));
        for n in &d.notes {
            out.push_str(&format!("  {n}\n"));
        }
    } else if d.found() {
        out.push_str("\nno profile fixes what was found: see each failure's entry in helm-fixup diagnose --error\n");
    }
    for u in &d.unread {
        out.push_str(&format!("not read: {u}\n"));
    }
    out
}

/// `--assume cluster`: the `--assume` values the cluster's facts settle, each with the fact
/// that settled it (for the summary). Keys the user gave are theirs and are not replaced.
///
/// - `platform`: `openshift` when the SCC API (`security.openshift.io`) answers, else
///   `kubernetes`; nothing when it could not be told.
/// - `storage`: `dynamic` when a StorageClass is the default (claims without a class get a
///   provisioned volume); with none, `local` (a claim binds only to a volume made for it).
/// - `arch`: the architecture every node reports, when they agree.
pub fn assume_from(facts: &Facts, given: &[String]) -> Vec<(String, String)> {
    let has = |key: &str| {
        given
            .iter()
            .flat_map(|g| g.split(','))
            .any(|g| g.trim().starts_with(&format!("{key}=")))
    };
    let mut out = Vec::new();
    if !has("platform") {
        match facts.openshift {
            Some(true) => out.push((
                "platform=openshift".into(),
                "the OpenShift SCC API answers".into(),
            )),
            Some(false) => out.push(("platform=kubernetes".into(), "no OpenShift SCC API".into())),
            None => {}
        }
    }
    if !has("storage") && !facts.unread.iter().any(|u| u.starts_with("storageclasses")) {
        match default_class(&facts.storage_classes) {
            Some(c) => out.push((
                "storage=dynamic".into(),
                format!("StorageClass {c} is the default"),
            )),
            None => out.push((
                "storage=local".into(),
                "no StorageClass is the default".into(),
            )),
        }
    }
    if !has("arch")
        && let Some(a) = one_arch(&facts.nodes)
    {
        out.push((
            format!("arch={a}"),
            format!("all {} nodes are {a}", facts.nodes.len()),
        ));
    }
    out
}
