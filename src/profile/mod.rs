//! Fix profiles: the YAML definitions shipped in `profiles/` (embedded in the binary), user
//! profile files, parameters, and the code of each fix (one file per fix).
//!
//! A profile file names the fix it runs (`fix: root-run`), its parameters with defaults, and
//! optional default targets (selectors). A fix first checks its parameters ([`Fix::configure`],
//! when the command line is read), then plans pod by pod ([`driver::PodFix`]; local-pv, which
//! needs the whole stream, is a [`StreamFix`]). It never prints and never touches text: the
//! engine diffs the values and edits the text (see `yaml::edit`).

pub mod driver;
pub mod exec_probes;
pub mod image_mirror;
pub mod init_chown;
pub mod local_pv;
pub mod openshift;
pub mod root_run;
pub mod shared_uid;

use crate::manifest::Identity;
use crate::report::Report;
use crate::select::Selection;
use crate::stream::Form;
use crate::workload;
use crate::workload::At;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The built-in profile files, in the order their fixes run.
pub const BUILTIN: &[(&str, &str)] = &[
    ("root-run", include_str!("../../profiles/root-run.yaml")),
    ("shared-uid", include_str!("../../profiles/shared-uid.yaml")),
    ("init-chown", include_str!("../../profiles/init-chown.yaml")),
    (
        "exec-probes",
        include_str!("../../profiles/exec-probes.yaml"),
    ),
    ("local-pv", include_str!("../../profiles/local-pv.yaml")),
    ("openshift", include_str!("../../profiles/openshift.yaml")),
    (
        "image-mirror",
        include_str!("../../profiles/image-mirror.yaml"),
    ),
];

/// One parameter of a profile.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ParamDef {
    pub name: String,
    /// Default value as text; absent means "derived" (see `help`).
    #[serde(default)]
    pub default: Option<String>,
    pub help: String,
    /// When the parameter must be given, in words (`one of node or nodes`); `explain` and the
    /// README mark it required instead of showing a default.
    #[serde(default)]
    pub required: Option<String>,
}

/// A profile definition, as written in a profile file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProfileDef {
    pub name: String,
    /// Which built-in fix this profile runs.
    pub fix: String,
    pub description: String,
    /// The failure this profile fixes, as the user sees it (its error message), for `explain`.
    /// Profile files written before the key was renamed call it `seed:`; they still load.
    #[serde(default, alias = "seed")]
    pub fixes: String,
    /// What it changes, for `explain`.
    #[serde(default)]
    pub changes: String,
    #[serde(default)]
    pub params: Vec<ParamDef>,
    /// Selectors limiting the profile (like a scoped `--only`); empty: its built-in targets.
    #[serde(default)]
    pub targets: Vec<String>,
}

impl ProfileDef {
    pub fn parse(text: &str, origin: &str) -> Result<ProfileDef, UsageError> {
        let def: ProfileDef = serde_saphyr::from_str(text).map_err(|e| {
            format!(
                "profile {origin}: {}",
                e.to_string().lines().next().unwrap_or("invalid")
            )
        })?;
        if !FIXES.contains(&def.fix.as_str()) {
            return Err(format!(
                "profile {origin}: unknown fix {:?} (valid: {})",
                def.fix,
                names().join(", ")
            )
            .into());
        }
        Ok(def)
    }

    pub fn builtin(name: &str) -> Option<ProfileDef> {
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| ProfileDef::parse(text, n).expect("built-in profiles parse (tested)"))
    }

    /// Position of this profile's fix in the run order.
    pub fn order(&self) -> usize {
        BUILTIN
            .iter()
            .position(|(n, _)| *n == self.fix)
            .unwrap_or(usize::MAX)
    }
}

/// Names of the built-in profiles.
pub fn names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(n, _)| *n).collect()
}

/// Parameter values of one profile, defaults applied, validated against its definition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    profile: String,
    values: BTreeMap<String, String>,
}

impl Params {
    /// Build from the definition's defaults plus user settings; unknown names are errors.
    pub fn new(def: &ProfileDef, set: &BTreeMap<String, String>) -> Result<Params, UsageError> {
        let mut values = BTreeMap::new();
        for p in &def.params {
            if let Some(d) = &p.default {
                values.insert(p.name.clone(), d.clone());
            }
        }
        for (k, v) in set {
            if !def.params.iter().any(|p| &p.name == k) {
                let valid: Vec<&str> = def.params.iter().map(|p| p.name.as_str()).collect();
                return Err(format!(
                    "unknown parameter {}.{k} (valid: {})",
                    def.name,
                    if valid.is_empty() {
                        "none".to_string()
                    } else {
                        valid.join(", ")
                    }
                )
                .into());
            }
            values.insert(k.clone(), v.clone());
        }
        let params = Params {
            profile: def.name.clone(),
            values,
        };
        // Checked here, when the command line is read, so no bad value waits for stdin.
        configure(&def.fix, &params)?;
        Ok(params)
    }

    /// The profile these parameters belong to.
    pub fn profile(&self) -> &str {
        &self.profile
    }

    /// A test helper and the way fixes read optional text parameters.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn bool(&self, name: &str) -> Result<bool, UsageError> {
        match self.str(name) {
            None => Ok(false),
            Some("true" | "yes" | "1") => Ok(true),
            Some("false" | "no" | "0") => Ok(false),
            Some(v) => Err(format!("{}.{name}={v:?}: expected true or false", self.profile).into()),
        }
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, UsageError> {
        self.str(name)
            .map(|v| {
                v.parse::<i64>()
                    .ok()
                    .filter(|n| (0..=i64::from(u32::MAX)).contains(n))
                    .ok_or_else(|| {
                        UsageError(format!(
                            "{}.{name}={v:?}: expected a non-negative integer",
                            self.profile
                        ))
                    })
            })
            .transpose()
    }

    /// A comma-separated list parameter.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.str(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Build params directly (tests and embedding).
    pub fn from_pairs(profile: &str, pairs: &[(&str, &str)]) -> Params {
        Params {
            profile: profile.to_string(),
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
}

/// One document as the fixes see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub id: Identity,
    pub value: Value,
}

/// A document's value before the current profile changed it (see [`Docs::take_snapshots`]).
#[derive(Debug, Clone)]
enum Snapshot {
    /// Compact JSON: for the usual document of many small nodes.
    Json(String),
    /// The value itself, for a document whose strings make most of its size (a 40 MB
    /// annotation): JSON would save nothing there, and turning it back into a value would hold
    /// the text and the value at once, one more copy of the big string than the value alone.
    Value(Value),
}

impl Snapshot {
    fn of(v: &Value) -> Snapshot {
        // A value costs about 80 bytes a node more than its strings, JSON a few: keep the value
        // when that is at most twice the JSON.
        let (nodes, string_bytes) = weigh(v);
        if string_bytes >= 64 * nodes {
            return Snapshot::Value(v.clone());
        }
        // Writing a `Value` as JSON does not fail (its keys are strings, its numbers finite);
        // if it ever did, the value itself is kept rather than lost.
        match serde_json::to_string(v) {
            Ok(json) => Snapshot::Json(json),
            Err(_) => Snapshot::Value(v.clone()),
        }
    }

    /// The value back; reading our own JSON back can only fail through a bug, which the engine
    /// reports as one (exit 1) instead of diffing against nothing.
    fn into_value(self) -> Result<Value, String> {
        match self {
            Snapshot::Json(json) => serde_json::from_str(&json)
                .map_err(|e| format!("reading a document's snapshot back: {e}")),
            Snapshot::Value(v) => Ok(v),
        }
    }
}

/// The nodes of a value and the bytes of its strings (keys included).
fn weigh(v: &Value) -> (usize, usize) {
    match v {
        Value::String(s) => (1, s.len()),
        Value::Array(a) => a
            .iter()
            .map(weigh)
            .fold((1, 0), |(n, b), (m, c)| (n + m, b + c)),
        Value::Object(o) => o.iter().fold((1, 0), |(n, b), (k, v)| {
            let (m, c) = weigh(v);
            (n + m, b + c + k.len())
        }),
        _ => (1, 0),
    }
}

/// The documents of one run. Fixes read freely and change through [`Docs::edit`], which keeps a
/// snapshot of each document the current profile changes so the engine can attribute changes.
#[derive(Debug, Default, Clone)]
pub struct Docs {
    items: Vec<Doc>,
    snapshots: BTreeMap<usize, Snapshot>,
    /// Documents a fix that ran before made more privileged (see [`Docs::raised`]).
    raised: std::collections::BTreeSet<usize>,
    /// The fixes that changed each document so far, in run order (see [`Docs::changed_by`]).
    changed_by: BTreeMap<usize, Vec<String>>,
    /// The engine skipped documents no fix reads (ConfigMaps, Services...) and some of them are
    /// not hooks: the run holds the release's templates even if every document here is a hook.
    pub skipped_templates: bool,
}

impl Docs {
    pub fn new(items: Vec<Doc>) -> Docs {
        Docs {
            items,
            snapshots: BTreeMap::new(),
            raised: Default::default(),
            changed_by: BTreeMap::new(),
            skipped_templates: false,
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn get(&self, i: usize) -> &Doc {
        &self.items[i]
    }

    pub fn iter(&self) -> impl Iterator<Item = &Doc> {
        self.items.iter()
    }

    /// Mutable access to document `i`'s value.
    pub fn edit(&mut self, i: usize) -> &mut Value {
        let doc = &mut self.items[i];
        self.snapshots
            .entry(i)
            .or_insert_with(|| Snapshot::of(&doc.value));
        &mut doc.value
    }

    /// The documents changed since the last call, with their values before; clears the record.
    ///
    /// A snapshot is kept as compact JSON, not as a value: a value takes about fifteen times the
    /// bytes of its YAML, and a profile like root-run edits every workload of the stream. JSON
    /// gives back exactly the same value (`serde_json` writes floats so that they read back
    /// unchanged), and each is turned back into a value only when the caller reaches it.
    pub fn take_snapshots(
        &mut self,
    ) -> impl Iterator<Item = (usize, Result<Value, String>)> + use<> {
        std::mem::take(&mut self.snapshots)
            .into_iter()
            .map(|(i, s)| (i, s.into_value()))
    }

    /// Whether a fix that ran before made document `i` more privileged: shared-uid then leaves
    /// it to that fix (they would set different uids).
    pub fn raised(&self, i: usize) -> bool {
        self.raised.contains(&i)
    }

    /// Record that the current fix made document `i` more privileged (the engine does, when it
    /// attributes the changes).
    pub fn mark_raised(&mut self, i: usize) {
        self.raised.insert(i);
    }

    /// The fixes (by fix name, as in [`FIXES`]) that ran before and changed document `i`: a fix
    /// that contradicts another on the same pod (openshift removes the uids root-run and
    /// shared-uid set) refuses it by name, whatever the user called the profile.
    pub fn changed_by(&self, i: usize) -> &[String] {
        self.changed_by.get(&i).map_or(&[], Vec::as_slice)
    }

    /// Record that fix `fix` changed document `i` (the engine does, when it attributes the
    /// changes).
    pub fn mark_changed(&mut self, i: usize, fix: &str) {
        let fixes = self.changed_by.entry(i).or_default();
        if !fixes.iter().any(|f| f == fix) {
            fixes.push(fix.to_string());
        }
    }

    pub fn into_items(self) -> Vec<Doc> {
        self.items
    }

    /// The Pod Security levels (`baseline`, `restricted`) that Namespaces of the stream enforce,
    /// as (namespace, level): pods these fixes make root would be rejected there.
    pub fn pod_security_levels(&self) -> Vec<(String, String)> {
        self.items
            .iter()
            .filter(|d| d.id.kind == "Namespace" && d.id.api_version == "v1")
            .filter_map(|d| {
                let level = d
                    .value
                    .at("/metadata/labels")?
                    .get("pod-security.kubernetes.io/enforce")?
                    .as_str()?;
                matches!(level, "restricted" | "baseline")
                    .then(|| (d.id.name.clone(), level.to_string()))
            })
            .collect()
    }

    /// Namespaces of the stream that enforce Pod Security "restricted", which rejects any
    /// container running as uid 0 (the "Running as Non-root user" control).
    pub fn restricted_namespaces(&self) -> Vec<String> {
        self.pod_security_levels()
            .into_iter()
            .filter(|(_, level)| level == "restricted")
            .map(|(ns, _)| ns)
            .collect()
    }

    /// Indices of documents with a pod spec that the selection allows.
    pub fn pods(&self, sel: &Selection) -> Vec<usize> {
        (0..self.items.len())
            .filter(|&i| {
                let d = &self.items[i];
                !workload::pod_parts(&d.id, &d.value).is_empty()
                    && sel.object(&d.id, &d.value, &workload::container_names(&d.id, &d.value))
            })
            .collect()
    }
}

/// What a fix gets besides the documents.
pub struct Ctx<'a> {
    pub profile: &'a str,
    pub params: &'a Params,
    pub sel: &'a Selection,
    pub form: Form,
    pub report: &'a mut Report,
    /// Documents the fix adds (PersistentVolumes, StorageClass), in order.
    pub added: &'a mut Vec<Value>,
    /// The cluster's PersistentVolumes, when the user passed them (`local-pv.existing`).
    pub live_pvs: Option<&'a crate::live::LivePvs>,
    /// What the user told about the cluster (`--assume`).
    pub assume: &'a Assume,
}

/// The storage behind the release's claims, as the user tells it (`--assume storage=...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// hostPath PersistentVolumes: the kubelet applies no fsGroup to them.
    HostPath,
    /// NFS: no fsGroup either, and root is usually squashed.
    Nfs,
    /// Local PersistentVolumes: the kubelet applies the pod's fsGroup (pkg/volume/local,
    /// `SetUpAt` calls `SetVolumeOwnership` for a writable mount).
    Local,
    /// A provisioner (CSI) that honours fsGroup and a default StorageClass.
    Dynamic,
}

impl Storage {
    /// Whether the kubelet gives a writable volume of this storage the pod's fsGroup: hostPath
    /// and NFS volumes are not "managed" (their mounters report `Managed: false`), so it does not.
    pub fn applies_fs_group(self) -> bool {
        matches!(self, Storage::Local | Storage::Dynamic)
    }

    pub fn name(self) -> &'static str {
        match self {
            Storage::HostPath => "hostpath",
            Storage::Nfs => "nfs",
            Storage::Local => "local",
            Storage::Dynamic => "dynamic",
        }
    }
}

/// What the user tells `diagnose` and `-p auto` about the cluster, which the stream cannot
/// show: `--assume storage=hostpath|nfs|local|dynamic`, `--assume platform=openshift`,
/// `--assume arch=loong64`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assume {
    pub storage: Option<Storage>,
    pub platform: Option<String>,
    pub arch: Option<String>,
}

impl Assume {
    /// Parse `KEY=VALUE` items (each may be a comma list).
    pub fn parse(items: &[String]) -> Result<Assume, UsageError> {
        let mut a = Assume::default();
        for item in items.iter().flat_map(|i| i.split(',')).map(str::trim) {
            if item.is_empty() {
                continue;
            }
            let bad = |why: &str| UsageError(format!("--assume {item:?}: {why}"));
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| bad("expected KEY=VALUE (storage, platform or arch)"))?;
            match k {
                "storage" => {
                    a.storage = Some(match v {
                        "hostpath" | "hostPath" => Storage::HostPath,
                        "nfs" => Storage::Nfs,
                        "local" => Storage::Local,
                        "dynamic" => Storage::Dynamic,
                        _ => return Err(bad("storage is one of hostpath, nfs, local, dynamic")),
                    })
                }
                "platform" => match v {
                    "openshift" | "kubernetes" => a.platform = Some(v.to_string()),
                    _ => return Err(bad("platform is openshift or kubernetes")),
                },
                "arch" if !v.is_empty() => a.arch = Some(v.to_string()),
                "arch" => return Err(bad("arch needs a value, e.g. arch=loong64")),
                _ => return Err(bad("unknown key (valid: storage, platform, arch)")),
            }
        }
        Ok(a)
    }
}

pub use crate::error::UsageError;

/// The code of one fix, in two steps: [`Fix::configure`] checks the parameters and turns them
/// into settings, before any input is read (a bad `--set` fails at once, not after stdin);
/// then the fix runs over the documents, pod by pod ([`driver::PodFix`]) or over the whole
/// stream at once ([`StreamFix`]).
pub trait Fix: Sync + 'static {
    /// The fix's parameters, checked and parsed.
    type Settings: Send + Sync + 'static;

    fn configure(&self, params: &Params) -> Result<Self::Settings, UsageError>;

    /// Whether the objects this fix changes end up with more privilege than the chart asked for.
    fn raises_privilege(&self) -> bool {
        false
    }
}

/// A fix that must see the whole stream at once (local-pv: claims, their pods and the volumes
/// already bound).
pub trait StreamFix: Fix {
    fn apply(
        &self,
        settings: &Self::Settings,
        docs: &mut Docs,
        ctx: &mut Ctx,
    ) -> Result<(), UsageError>;
}

/// A fix with its settings, ready to run: what the engine holds for each profile.
pub trait Configured: Send + Sync {
    fn apply(&self, docs: &mut Docs, ctx: &mut Ctx) -> Result<(), UsageError>;
    fn raises_privilege(&self) -> bool;

    /// What [`Configured::apply`] would do, with `docs` left as they are: each document it
    /// would change, as it would leave it (the notes go to `ctx.report`, the added objects to
    /// `ctx.added`, as `apply` puts them). For a command that diagnoses without fixing.
    fn plan(&self, docs: &Docs, ctx: &mut Ctx) -> Result<Vec<(usize, Value)>, UsageError> {
        let mut scratch = docs.clone();
        scratch.snapshots.clear();
        self.apply(&mut scratch, ctx)?;
        let changed: Vec<usize> = scratch.snapshots.keys().copied().collect();
        Ok(changed
            .into_iter()
            .filter(|&i| scratch.get(i).value != docs.get(i).value)
            .map(|i| (i, scratch.get(i).value.clone()))
            .collect())
    }

    /// What `diagnose` needs of [`Configured::plan`]: the predictions and notes (to
    /// `ctx.report`), and for each document the fix would change, the fields of it an installed
    /// release cannot change (`immutable::changes`). Pod-level fixes whose last step edits
    /// nothing plan each pod straight from the documents, with no copy of the stream.
    fn foresee(&self, docs: &Docs, ctx: &mut Ctx) -> Result<Vec<(usize, Vec<String>)>, UsageError> {
        immutable_in(docs, self.plan(docs, ctx)?)
    }
}

/// For each planned document, the fields of it an installed release cannot change.
fn immutable_in(
    docs: &Docs,
    planned: Vec<(usize, Value)>,
) -> Result<Vec<(usize, Vec<String>)>, UsageError> {
    Ok(planned
        .into_iter()
        .map(|(i, after)| {
            let d = docs.get(i);
            (i, crate::immutable::changes(&d.id, &d.value, &after))
        })
        .collect())
}

/// How a fix foresees without a copy of the stream (see [`Configured::foresee`]).
type Foresee<F> =
    fn(&F, &<F as Fix>::Settings, &Docs, &mut Ctx) -> Result<Vec<(usize, Vec<String>)>, UsageError>;

/// A fix with its settings, and how it runs: by the driver, pod by pod, or over the stream.
struct Ready<F: Fix> {
    fix: &'static F,
    settings: F::Settings,
    run: fn(&F, &F::Settings, &mut Docs, &mut Ctx) -> Result<(), UsageError>,
    foresee: Option<Foresee<F>>,
}

impl<F: Fix> Configured for Ready<F> {
    fn apply(&self, docs: &mut Docs, ctx: &mut Ctx) -> Result<(), UsageError> {
        (self.run)(self.fix, &self.settings, docs, ctx)
    }

    fn foresee(&self, docs: &Docs, ctx: &mut Ctx) -> Result<Vec<(usize, Vec<String>)>, UsageError> {
        match self.foresee {
            Some(f) => f(self.fix, &self.settings, docs, ctx),
            None => immutable_in(docs, self.plan(docs, ctx)?),
        }
    }

    fn raises_privilege(&self) -> bool {
        self.fix.raises_privilege()
    }
}

/// The built-in fixes by name, in run order.
pub const FIXES: &[&str] = &[
    "root-run",
    "shared-uid",
    "init-chown",
    "exec-probes",
    "local-pv",
    "openshift",
    "image-mirror",
];

/// Check `params` for the fix `fix` and return it ready to run.
pub fn configure(fix: &str, params: &Params) -> Result<Box<dyn Configured>, UsageError> {
    fn pods<F: driver::PodFix>(
        fix: &'static F,
        params: &Params,
    ) -> Result<Box<dyn Configured>, UsageError> {
        let settings = fix.configure(params)?;
        let run = driver::drive::<F>;
        let foresee = (!F::FINISH_EDITS).then_some(driver::foresee::<F> as Foresee<F>);
        Ok(Box::new(Ready {
            fix,
            settings,
            run,
            foresee,
        }))
    }
    fn stream<F: StreamFix>(
        fix: &'static F,
        params: &Params,
    ) -> Result<Box<dyn Configured>, UsageError> {
        let settings = fix.configure(params)?;
        let run = F::apply;
        Ok(Box::new(Ready {
            fix,
            settings,
            run,
            foresee: None,
        }))
    }
    match fix {
        "root-run" => pods(&root_run::RootRun, params),
        "shared-uid" => pods(&shared_uid::SharedUid, params),
        "init-chown" => pods(&init_chown::InitChown, params),
        "exec-probes" => pods(&exec_probes::ExecProbes, params),
        "local-pv" => stream(&local_pv::LocalPv, params),
        "openshift" => pods(&openshift::OpenShift, params),
        "image-mirror" => pods(&image_mirror::ImageMirror, params),
        _ => Err(UsageError(format!(
            "unknown fix {fix:?} (valid: {})",
            FIXES.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `diagnose` will plan every fix without applying any: planning must leave the documents
    /// as they are and foresee exactly what applying does.
    #[test]
    fn planning_changes_nothing_and_foresees_the_apply() {
        let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "c"}}], "containers": [
                {"name": "c", "image": "x", "securityContext": {"runAsUser": 1000},
                 "args": ["--listen-address=127.0.0.1:8080"],
                 "volumeMounts": [{"name": "d", "mountPath": "/d"}],
                 "livenessProbe": {"httpGet": {"path": "/", "port": 8080}}},
                {"name": "s", "image": "y", "securityContext": {"runAsUser": 1001},
                 "volumeMounts": [{"name": "d", "mountPath": "/s"}]}]}});
        let docs = Docs::new(vec![Doc {
            id: Identity::of(&pod),
            value: pod.clone(),
        }]);
        for name in [
            "root-run",
            "shared-uid",
            "init-chown",
            "exec-probes",
            "openshift",
        ] {
            let def = ProfileDef::builtin(name).unwrap();
            let set = match name {
                "exec-probes" => BTreeMap::from([("all".to_string(), "true".to_string())]),
                _ => BTreeMap::new(),
            };
            let params = Params::new(&def, &set).unwrap();
            let fix = configure(name, &params).unwrap();
            let sel = Selection::for_profile(&[], &[], name);
            let run = |docs: &mut Docs, plan: bool| {
                let (mut report, mut added) = (Report::default(), Vec::new());
                let mut ctx = Ctx {
                    profile: name,
                    params: &params,
                    sel: &sel,
                    form: Form::Plain,
                    report: &mut report,
                    added: &mut added,
                    live_pvs: None,
                    assume: &Assume::default(),
                };
                let planned = if plan {
                    fix.plan(docs, &mut ctx).unwrap()
                } else {
                    fix.apply(docs, &mut ctx).unwrap();
                    Vec::new()
                };
                (planned, report.messages)
            };
            // Foreseeing (diagnose) tells the same as planning, without a copy of the stream.
            let tell = |foresee: bool| {
                let (mut report, mut added) = (Report::default(), Vec::new());
                let mut ctx = Ctx {
                    profile: name,
                    params: &params,
                    sel: &sel,
                    form: Form::Plain,
                    report: &mut report,
                    added: &mut added,
                    live_pvs: None,
                    assume: &Assume::default(),
                };
                let changed: Vec<usize> = if foresee {
                    fix.foresee(&docs, &mut ctx)
                        .unwrap()
                        .into_iter()
                        .map(|(i, _)| i)
                        .collect()
                } else {
                    fix.plan(&docs, &mut ctx)
                        .unwrap()
                        .into_iter()
                        .map(|(i, _)| i)
                        .collect()
                };
                (changed, report.messages, report.predicted)
            };
            let (seen, seen_notes, seen_predicted) = tell(true);
            assert_eq!(
                (seen, seen_notes),
                {
                    let (c, n, _) = tell(false);
                    (c, n)
                },
                "{name}"
            );
            assert_eq!(seen_predicted, tell(false).2, "{name}");
            if name != "root-run" {
                assert!(
                    !seen_predicted.is_empty(),
                    "{name} says which failure it prevents"
                );
            }
            let mut scratch = docs.clone();
            let (planned, planned_notes) = run(&mut scratch, true);
            assert_eq!(
                scratch.get(0).value,
                pod,
                "{name}: planning changed the document"
            );
            let mut applied = docs.clone();
            let (_, applied_notes) = run(&mut applied, false);
            assert_ne!(applied.get(0).value, pod, "{name} changes this pod");
            assert_eq!(planned, [(0, applied.get(0).value.clone())], "{name}");
            assert_eq!(planned_notes, applied_notes, "{name}");
        }
    }

    #[test]
    fn every_builtin_profile_loads_and_runs_its_own_fix() {
        for name in names() {
            let def = ProfileDef::builtin(name).unwrap();
            assert_eq!(def.name, name);
            assert_eq!(def.fix, name);
            assert!(
                !def.description.is_empty() && !def.fixes.is_empty() && !def.changes.is_empty(),
                "{name}"
            );
            for p in &def.params {
                assert!(!p.help.is_empty(), "{name}.{}", p.name);
            }
            // local-pv has no default for its node: it must be given.
            let set: BTreeMap<String, String> = match name {
                "local-pv" => BTreeMap::from([("node".to_string(), "n".to_string())]),
                _ => BTreeMap::new(),
            };
            Params::new(&def, &set).unwrap();
        }
    }

    #[test]
    fn assume_parses_what_it_knows_and_names_the_choices() {
        let a = Assume::parse(&[
            "storage=hostpath,arch=loong64".into(),
            "platform=openshift".into(),
        ])
        .unwrap();
        assert_eq!(a.storage, Some(Storage::HostPath));
        assert_eq!(a.arch.as_deref(), Some("loong64"));
        assert_eq!(a.platform.as_deref(), Some("openshift"));
        assert!(!Storage::Nfs.applies_fs_group() && Storage::Local.applies_fs_group());
        for (bad, says) in [
            ("storage=ceph", "hostpath, nfs, local, dynamic"),
            ("disk=local", "valid: storage, platform, arch"),
            ("storage", "KEY=VALUE"),
            ("arch=", "arch=loong64"),
        ] {
            let e = Assume::parse(&[bad.into()]).unwrap_err();
            assert!(e.message().contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn unknown_parameter_lists_valid_ones() {
        let def = ProfileDef::builtin("local-pv").unwrap();
        let set = BTreeMap::from([("nod".to_string(), "x".to_string())]);
        let e = Params::new(&def, &set).unwrap_err();
        assert!(
            e.message().contains("unknown parameter local-pv.nod") && e.message().contains("node"),
            "{e}"
        );
    }

    #[test]
    fn unknown_fix_in_a_user_profile_is_an_error() {
        let e = ProfileDef::parse("name: x\nfix: nope\ndescription: d\n", "x.yaml").unwrap_err();
        assert!(e.message().contains("valid: root-run"), "{e}");
    }

    #[test]
    fn params_parse_types() {
        let p = Params::from_pairs(
            "t",
            &[("a", "true"), ("n", "12"), ("l", "a, b,"), ("bad", "x")],
        );
        assert!(p.bool("a").unwrap());
        assert_eq!(p.int("n").unwrap(), Some(12));
        assert_eq!(p.list("l"), ["a", "b"]);
        assert!(p.bool("bad").is_err() && p.int("bad").is_err());
    }
}
