//! Where the pod spec lives for every kind we fix, and which storage claims a document creates.
//!
//! This is the one place that knows DESIGN.md's table: `spec.template.spec` for Deployments and
//! friends, `spec.jobTemplate.spec.template.spec` for CronJobs, and `spec` itself for the
//! prometheus-operator custom resources, whose `spec.containers` entries are strategic-merge
//! patches of the containers the operator generates. Profiles ask this module instead of
//! hard-coding paths, so a new kind is one match arm here.
//!
//! It also holds the small accessors the profiles read a pod spec through ([`items`],
//! [`mounts`], [`name`], [`command_line`]...): one reading of "a list that is not a list", of
//! `readOnly` and of a command line for every fix, instead of a hand walk of the values in each.

use crate::manifest::Identity;
use serde_json::{Map, Value};

/// The prometheus-operator custom resources that carry a pod template in `spec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrKind {
    Prometheus,
    PrometheusAgent,
    Alertmanager,
    ThanosRuler,
}

impl CrKind {
    pub fn of(id: &Identity) -> Option<CrKind> {
        if id.group() != "monitoring.coreos.com" {
            return None;
        }
        match id.kind.as_str() {
            "Prometheus" => Some(CrKind::Prometheus),
            "PrometheusAgent" => Some(CrKind::PrometheusAgent),
            "Alertmanager" => Some(CrKind::Alertmanager),
            "ThanosRuler" => Some(CrKind::ThanosRuler),
            _ => None,
        }
    }

    /// Prefix of the StatefulSet the operator generates (`prometheus-<name>`).
    pub fn prefix(self) -> &'static str {
        match self {
            CrKind::Prometheus => "prometheus",
            CrKind::PrometheusAgent => "prom-agent",
            CrKind::Alertmanager => "alertmanager",
            CrKind::ThanosRuler => "thanos-ruler",
        }
    }

    /// The container that runs the main process and mounts the storage volume.
    pub fn main_container(self) -> &'static str {
        match self {
            CrKind::Prometheus | CrKind::PrometheusAgent => "prometheus",
            CrKind::Alertmanager => "alertmanager",
            CrKind::ThanosRuler => "thanos-ruler",
        }
    }

    /// Names of containers the operator generates; `spec.containers` entries with these names
    /// are merged into them, others are added.
    pub fn generated_containers(self) -> &'static [&'static str] {
        match self {
            CrKind::Prometheus => &["prometheus", "config-reloader", "thanos-sidecar"],
            CrKind::PrometheusAgent => &["prometheus", "config-reloader"],
            CrKind::Alertmanager => &["alertmanager", "config-reloader"],
            CrKind::ThanosRuler => &["thanos-ruler", "config-reloader"],
        }
    }

    /// Names of init containers the operator generates.
    pub fn generated_init_containers(self) -> &'static [&'static str] {
        match self {
            CrKind::ThanosRuler => &[],
            _ => &["init-config-reloader"],
        }
    }

    fn mount_path(self) -> &'static str {
        match self {
            CrKind::Prometheus | CrKind::PrometheusAgent => "/prometheus",
            CrKind::Alertmanager => "/alertmanager",
            CrKind::ThanosRuler => "/thanos/data",
        }
    }

    fn sub_path(self) -> Option<&'static str> {
        match self {
            CrKind::Prometheus | CrKind::PrometheusAgent => Some("prometheus-db"),
            CrKind::Alertmanager => Some("alertmanager-db"),
            CrKind::ThanosRuler => None,
        }
    }
}

/// Whether any fix reads documents of this kind: pod-spec kinds, claims and volumes, namespaces
/// (pod-security labels), `kind: List`, and the monitoring.coreos.com kinds with a pod spec.
/// Documents of every other kind (ConfigMaps, Secrets, CRDs, PrometheusRules, dashboards: most
/// of the bytes of a real stream) are validated without building a value and copied through.
/// A fix that starts reading another kind must add it here.
pub fn kind_is_read(kind: &str) -> bool {
    matches!(
        kind,
        "Pod"
            | "Deployment"
            | "ReplicaSet"
            | "ReplicationController"
            | "DaemonSet"
            | "Job"
            | "StatefulSet"
            | "CronJob"
            | "PersistentVolumeClaim"
            | "PersistentVolume"
            | "StorageClass"
            | "Namespace"
            | "List"
    ) || crate::operators::is_operator_kind(kind)
}

/// `serde_json`'s `pointer`, without its cost: it unescapes every segment into a new string
/// (`~1`, `~0`), which made pointer lookups a sixth of a run over thousands of pods. The paths
/// here are literals with no escapes.
pub trait At {
    fn at(&self, path: &str) -> Option<&Value>;
    fn at_mut(&mut self, path: &str) -> Option<&mut Value>;
}

impl At for Value {
    fn at(&self, path: &str) -> Option<&Value> {
        path.split('/').skip(1).try_fold(self, |v, k| match v {
            Value::Object(m) => m.get(k),
            Value::Array(a) => a.get(k.parse::<usize>().ok()?),
            _ => None,
        })
    }

    fn at_mut(&mut self, path: &str) -> Option<&mut Value> {
        path.split('/').skip(1).try_fold(self, |v, k| match v {
            Value::Object(m) => m.get_mut(k),
            Value::Array(a) => a.get_mut(k.parse::<usize>().ok()?),
            _ => None,
        })
    }
}

/// JSON pointer to the pod spec of a document of this identity, if it has one.
pub fn pod_spec_pointer(id: &Identity) -> Option<&'static str> {
    if CrKind::of(id).is_some() {
        return Some("/spec");
    }
    if let Some(at) = crate::operators::single_pod_spec(id) {
        return Some(at);
    }
    match id.kind.as_str() {
        "Pod" => Some("/spec"),
        "Deployment"
        | "ReplicaSet"
        | "ReplicationController"
        | "DaemonSet"
        | "Job"
        | "StatefulSet" => Some("/spec/template/spec"),
        "CronJob" => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

/// Every pod spec of a document, with the part's name when there are several: the one pod spec
/// of a workload or a single-workload resource (`pod_spec_pointer`), else the components or
/// pod templates of an operator resource that makes several workloads
/// (`operators::pod_spec_parts`). What the pod fixes plan over, part by part.
pub fn pod_parts(id: &Identity, doc: &Value) -> Vec<(String, Option<String>)> {
    match pod_spec_pointer(id) {
        Some(p) if pod_spec(id, doc).is_some() => vec![(p.to_string(), None)],
        Some(_) => Vec::new(),
        None => crate::operators::pod_spec_parts(id, doc)
            .into_iter()
            .map(|(p, name)| (p, Some(name)))
            .collect(),
    }
}

/// For the pod spec at `pointer` of an operator resource (docs/operators.md): the container the
/// operator generates and the chart does not list (a VictoriaMetrics component's `vmstorage`;
/// `None` for a ClickHouse pod template, which lists its containers), and the volumes the
/// operator mounts there from the claims it makes. `None` for other documents.
pub fn operator_part(
    id: &Identity,
    doc: &Value,
    pointer: &str,
) -> Option<(Option<&'static str>, Vec<String>)> {
    let r = crate::operators::resource(id)?;
    let main = r
        .components
        .iter()
        .find(|c| c.spec == pointer)
        .map(|c| c.main);
    let mut volumes: Vec<String> = Vec::new();
    for c in crate::operators::claims(r, id, doc, &|_, _| 1) {
        if c.pod == pointer && !volumes.contains(&c.volume) {
            volumes.push(c.volume);
        }
    }
    Some((main, volumes))
}

/// The pod spec of a document, read-only.
pub fn pod_spec<'a>(id: &Identity, doc: &'a Value) -> Option<&'a Map<String, Value>> {
    doc.at(pod_spec_pointer(id)?)?.as_object()
}

/// The pod spec of a document, for changing.
pub fn pod_spec_mut<'a>(id: &Identity, doc: &'a mut Value) -> Option<&'a mut Map<String, Value>> {
    doc.at_mut(pod_spec_pointer(id)?)?.as_object_mut()
}

/// The entries of a list field: `items(pod.get("volumes"))`, `items(c.get("env"))`,
/// `items(doc.at("/spec/containers"))`. A field that is absent, null or not a list has none:
/// Kubernetes rejects a chart whose list is something else, and a fix that reads one must not
/// fail on it, only find nothing there. It takes the field rather than (object, key) so that a
/// pod spec (a `Map`), a container (a `Value`) and a pointer lookup all read through it; it is a
/// slice iterator, so `rfind` (the operator's last-entry-wins) and `enumerate` cost nothing.
pub fn items(list: Option<&Value>) -> std::slice::Iter<'_, Value> {
    list.and_then(Value::as_array)
        .map_or_else(Default::default, |a| a.iter())
}

/// [`items`], for changing the entries in place.
pub fn items_mut(list: Option<&mut Value>) -> std::slice::IterMut<'_, Value> {
    list.and_then(Value::as_array_mut)
        .map_or_else(Default::default, |a| a.iter_mut())
}

/// The list at `key` of an object, for adding entries: made when it is absent or null (what a
/// chart writes for "none"), `None` when it is something else. A list that is not a list is the
/// chart's bug: Kubernetes rejects it, and replacing it would hide what was meant.
pub fn list_entry<'a>(obj: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Vec<Value>> {
    let slot = obj.entry(key).or_insert(Value::Null);
    if slot.is_null() {
        *slot = Value::Array(Vec::new());
    }
    slot.as_array_mut()
}

/// The object at `key` of an object, made when it is absent and replacing a value that is not
/// an object. For the securityContexts a fix owns the fields of: the one it writes is what
/// Kubernetes then reads, and a non-object there is rejected anyway.
pub fn object_entry<'a>(obj: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = obj.entry(key).or_insert(Value::Null);
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("just made an object")
}

/// The `name` of an entry of a pod's lists (container, volume, mount, env var, port), `None`
/// when it has none or it is not a string.
pub fn name(entry: &Value) -> Option<&str> {
    entry.get("name").and_then(Value::as_str)
}

/// A container's name, or "" when it has none (a broken chart; Kubernetes would reject it).
pub fn container_name(c: &Value) -> &str {
    name(c).unwrap_or("")
}

/// Containers and init containers of a pod spec (for CRs: the patch entries written in the CR).
pub fn containers(pod: &Map<String, Value>) -> impl Iterator<Item = &Value> {
    items(pod.get("initContainers")).chain(items(pod.get("containers")))
}

/// The `volumeMounts` of a container.
pub fn mounts(c: &Value) -> std::slice::Iter<'_, Value> {
    items(c.get("volumeMounts"))
}

/// Whether a container mounts pod volume `volume` (at all: any path, subPath or mode).
pub fn mounts_volume(c: &Value, volume: &str) -> bool {
    mounts(c).any(|m| name(m) == Some(volume))
}

/// Whether a mount, or a volume source that has the field (`persistentVolumeClaim`, `nfs`,
/// `local`...), says `readOnly: true`. Only the boolean counts, as for Kubernetes, which
/// rejects anything else there.
pub fn read_only(v: &Value) -> bool {
    v.get("readOnly") == Some(&Value::Bool(true))
}

/// The claim a pod volume mounts (`persistentVolumeClaim.claimName`), if it is one.
pub fn volume_claim(volume: &Value) -> Option<&str> {
    volume
        .at("/persistentVolumeClaim/claimName")
        .and_then(Value::as_str)
}

/// The names of a document's `spec.volumeClaimTemplates` (a StatefulSet's): the StatefulSet
/// controller mounts each template's claim as the pod volume of that name, so these are volumes
/// of the pod though its `volumes` does not list them. Templates without a name are skipped.
pub fn claim_template_names(doc: &Value) -> impl Iterator<Item = &str> {
    items(doc.at("/spec/volumeClaimTemplates"))
        .filter_map(|t| t.at("/metadata/name").and_then(Value::as_str))
}

/// The entries of a container's `command` and then its `args`: the command line it starts
/// (`args` follow `command`, or the image's entrypoint). exec-probes reads listen and operator
/// flags from it, init-chown the chown of a helper, so it has one home here. Entries come as
/// written: Kubernetes wants strings, but charts write numbers (`--port`, `8080`), and each
/// reader says what such an entry means to it.
pub fn command_line(c: &Value) -> impl Iterator<Item = &Value> {
    items(c.get("command")).chain(items(c.get("args")))
}

/// The container names of a document's pod spec (empty without one): what `container=`
/// selectors match against.
pub fn container_names<'a>(id: &Identity, doc: &'a Value) -> Vec<&'a str> {
    pod_spec(id, doc)
        .map(|p| containers(p).map(container_name).collect())
        .unwrap_or_default()
}

/// Volume sources a pod can write through a mount. configMap, secret, projected and
/// downwardAPI volumes are always mounted read-only by the kubelet, so they never count. `local`
/// is a PersistentVolume source, listed so a hand-written pod spec that names it still counts.
pub const WRITABLE_SOURCES: &[&str] = &[
    "emptyDir",
    "persistentVolumeClaim",
    "hostPath",
    "local",
    "nfs",
    "ephemeral",
];

/// The largest uid/gid Kubernetes accepts in a securityContext.
pub const MAX_ID: i64 = i32::MAX as i64;

/// A uid or gid parameter (`shared-uid.uid`, `init-chown.gid`) checked against [`MAX_ID`]:
/// parameters read as integers up to `u32::MAX` (a uid of Linux), but Kubernetes refuses a
/// securityContext id above `i32::MAX`, and a fix must not write a pod the API server rejects.
/// One check for every fix that takes ids, so they refuse the same values in the same words.
pub fn id_param(setting: &str, v: Option<i64>) -> Result<Option<i64>, String> {
    match v {
        Some(v) if v > MAX_ID => Err(format!(
            "{setting}={v}: Kubernetes accepts ids up to {MAX_ID}"
        )),
        v => Ok(v),
    }
}

/// A whole number as Kubernetes reads it: an integer, or a float with no fraction (`2.0`, `1e3`).
///
/// Helm and kubectl send each object as JSON made by `sigs.k8s.io/yaml`'s `YAMLToJSON`, which
/// keeps a YAML float a Go float64 (kubernetes-sigs/yaml v1.6.0 `yaml_test.go`, "float into
/// interface": `3.0` reads as `float64(3)`), and Go's `encoding/json` writes a float64 with no
/// fraction without one (`floatEncoder`: `strconv.AppendFloat(.., 'f', -1, 64)` below 1e21), so
/// the API server decodes `replicas: 2.0` as the int32 2. A fraction (`2.5`) fails that decode.
pub fn whole_number(v: &Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    let f = v.as_f64()?;
    // i64's range, exactly: 2^63 is a float, and `as` would saturate past it.
    let limit = 2f64.powi(63);
    (f.is_finite() && f.fract() == 0.0 && (-limit..limit).contains(&f)).then_some(f as i64)
}

/// A uid or gid value as Kubernetes reads it (see [`whole_number`]), when it is one Kubernetes
/// accepts: from 0 to [`MAX_ID`].
pub fn id_value(v: &Value) -> Option<i64> {
    whole_number(v).filter(|v| (0..=MAX_ID).contains(v))
}

/// An id field of a securityContext (`runAsUser`, `runAsGroup`, `fsGroup`), as
/// [`id_value`] reads it. A value Kubernetes would reject (not a whole number, negative, above
/// [`MAX_ID`]) reads as absent; [`bad_numbers`] names it so the user hears of it.
pub fn sc_int(sc: Option<&Value>, field: &str) -> Option<i64> {
    id_value(sc?.get(field)?)
}

/// The id fields of securityContexts the profiles read: the pod's, then every container's.
const POD_IDS: [&str; 3] = ["runAsUser", "runAsGroup", "fsGroup"];
const CONTAINER_IDS: [&str; 2] = ["runAsUser", "runAsGroup"];

/// Every integer field of a document the profiles read that holds something Kubernetes refuses
/// (a fraction, a string, a boolean, a number out of range), as messages for an `input`
/// warning: the uids and gids of the pod and its containers, and the `replicas` and `shards`
/// [`claims`] counts. Such a field reads as unset here (a count as 1): without a word, a pod
/// would get another uid or a StatefulSet fewer volumes for no visible reason.
pub fn bad_numbers(id: &Identity, doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let refused = |what: String, v: &Value, range: &str, reads: &str| {
        format!(
            "{what} is {v}, which Kubernetes refuses (it wants a whole number from {range}); \
             helm-fixup reads it as {reads}"
        )
    };
    let max = MAX_ID.to_string();
    if let (Some(ptr), Some(pod)) = (pod_spec_pointer(id), pod_spec(id, doc)) {
        let at = ptr.trim_start_matches('/').replace('/', ".");
        if let Some(sc) = pod.get("securityContext") {
            for f in POD_IDS {
                if let Some(v) = sc.get(f).filter(|v| !v.is_null() && id_value(v).is_none()) {
                    out.push(refused(
                        format!("{at}.securityContext.{f}"),
                        v,
                        &format!("0 to {max}"),
                        "unset",
                    ));
                }
            }
        }
        for c in containers(pod) {
            let Some(sc) = c.get("securityContext") else {
                continue;
            };
            for f in CONTAINER_IDS {
                if let Some(v) = sc.get(f).filter(|v| !v.is_null() && id_value(v).is_none()) {
                    out.push(refused(
                        format!("container {}: securityContext.{f}", container_name(c)),
                        v,
                        &format!("0 to {max}"),
                        "unset",
                    ));
                }
            }
        }
    }
    let counts: &[&str] = match CrKind::of(id) {
        Some(CrKind::Prometheus | CrKind::PrometheusAgent) => &["replicas", "shards"],
        Some(_) => &["replicas"],
        None if id.kind == "StatefulSet" => &["replicas"],
        None => &[],
    };
    for f in counts {
        if let Some(v) = doc.at(&format!("/spec/{f}")).filter(|v| !v.is_null())
            && replica_count(v).is_none()
        {
            out.push(refused(
                format!("spec.{f}"),
                v,
                &format!("0 to {}", i32::MAX),
                "1",
            ));
        }
    }
    out
}

/// [`bad_numbers`] as `input` warnings. No profile is named: a profile that reads these fields
/// calls this for each object it looks at, and the report keeps one copy of each message however
/// many of them do.
pub fn warn_bad_numbers(report: &mut crate::report::Report, id: &Identity, doc: &Value) {
    for m in bad_numbers(id, doc) {
        report.warn_code(crate::report::Code::Input, "", Some(id.to_string()), m);
    }
}

/// A `replicas` or `shards` value as Kubernetes reads it (an int32 from 0, see
/// [`whole_number`]).
fn replica_count(v: &Value) -> Option<u64> {
    whole_number(v)
        .filter(|n| (0..=i64::from(i32::MAX)).contains(n))
        .and_then(|n| u64::try_from(n).ok())
}

/// The uid a container runs as: its own `runAsUser`, else the pod's. `None` when neither says
/// (the image's USER decides, which we cannot see).
pub fn effective_uid(pod: &Map<String, Value>, container: &Value) -> Option<i64> {
    sc_int(container.get("securityContext"), "runAsUser")
        .or_else(|| sc_int(pod.get("securityContext"), "runAsUser"))
}

/// A pod's main container: the one named like its workload (`grafana` in Deployment `grafana`,
/// `prometheus` in `prometheus-deploy`), the longest such name winning, else the first. Charts
/// list sidecars first as often as last (grafana's dashboard sidecar), so the order alone does
/// not say which process the pod is for.
pub fn main_container<'a>(workload: &str, pod: &'a Map<String, Value>) -> Option<&'a str> {
    let names: Vec<&str> = items(pod.get("containers")).map(container_name).collect();
    names
        .iter()
        .filter(|n| !n.is_empty() && workload.contains(**n))
        .max_by_key(|n| n.len())
        .or(names.first())
        .copied()
}

/// The gid files should get for a container: fsGroup, else runAsGroup (container, then pod).
pub fn effective_gid(pod: &Map<String, Value>, container: &Value) -> Option<i64> {
    let psc = pod.get("securityContext");
    sc_int(psc, "fsGroup")
        .or_else(|| sc_int(container.get("securityContext"), "runAsGroup"))
        .or_else(|| sc_int(psc, "runAsGroup"))
}

/// The uid an image runs as when nothing sets `runAsUser`, for the images these fixes meet most
/// (matched on the last two path components, so a mirror of the image counts too), from their
/// Dockerfiles: prometheus, alertmanager and prometheus-config-reloader `USER nobody` (65534 in
/// their busybox base), thanos `USER 1001` (thanos-io/thanos `Dockerfile`, from v0.32 on),
/// grafana `USER "$GF_UID"` with `GF_UID=472`. `None` for any other image: its USER is unknown.
pub fn image_uid(image: &str) -> Option<i64> {
    let image = image.split('@').next().unwrap_or(image);
    let (path, tag) = match image.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p, Some(t)),
        _ => (image, None),
    };
    let mut parts = path.rsplit('/');
    let name = parts.next()?;
    let owner = parts.next().unwrap_or("");
    match (owner, name) {
        ("prometheus", "prometheus" | "alertmanager")
        | ("prometheus-operator", "prometheus-config-reloader") => Some(65534),
        ("grafana", "grafana") => Some(472),
        ("thanos" | "thanos-io", "thanos") => {
            let v = tag?.trim_start_matches('v');
            let mut n = v.split(['.', '-']).map(|x| x.parse::<u64>().ok());
            let (major, minor) = (n.next()??, n.next()??);
            ((major, minor) >= (0, 32)).then_some(1001)
        }
        _ => None,
    }
}

/// The storage volume of an operator CR, as the operator mounts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrStorage {
    pub volume: String,
    pub sub_path: Option<String>,
    pub mount_path: String,
}

/// `spec.storage.volumeClaimTemplate` of a CR, as the volume the operator generates from it.
pub fn cr_storage(kind: CrKind, name: &str, doc: &Value) -> Option<CrStorage> {
    let storage = doc.at("/spec/storage")?;
    let vct = storage.get("volumeClaimTemplate")?;
    if !vct.is_object() {
        return None;
    }
    let default = match kind {
        CrKind::ThanosRuler => format!("{}-{name}-data", kind.prefix()),
        _ => format!("{}-{name}-db", kind.prefix()),
    };
    let volume = vct
        .at("/metadata/name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map_or(default, str::to_string);
    let no_sub = storage.get("disableMountSubPath").and_then(Value::as_bool) == Some(true);
    Some(CrStorage {
        volume,
        sub_path: kind.sub_path().filter(|_| !no_sub).map(str::to_string),
        mount_path: kind.mount_path().to_string(),
    })
}

/// How many of something a spec field asks for (`replicas`, `shards`), default 1. `2.0` is 2,
/// as for Kubernetes ([`whole_number`]); a value Kubernetes refuses counts as 1 and
/// [`bad_numbers`] names it.
fn count(spec: Option<&Value>, field: &str) -> u64 {
    match spec.and_then(|s| s.get(field)) {
        None | Some(Value::Null) => 1,
        Some(v) => replica_count(v).unwrap_or(1),
    }
}

/// Upper bound on generated claims per source, so a hostile `replicas: 1e9` cannot exhaust memory.
pub const MAX_REPLICAS: u64 = 1000;

/// One storage claim the stream creates, directly or through a generated StatefulSet.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub namespace: Option<String>,
    /// The PVC name Kubernetes will use.
    pub name: String,
    /// Pointer (in the owning document) to the claim's spec, where `storageClassName` goes.
    pub spec_pointer: String,
    /// The claim spec (resources, accessModes, volumeMode, storageClassName, selector).
    pub spec: Value,
    /// The claims of one StatefulSet (all its templates, every ordinal) share a group, which
    /// with the ordinal decides the node; `None` for a plain PVC.
    pub group: Option<String>,
    pub ordinal: u64,
    /// The volume name the pod mounts the claim as (template name, or the PVC's volume).
    pub volume: String,
    /// The replicas whose volumes are spread over distinct nodes together: a StatefulSet, an
    /// operator resource (all its shards), or one component of an operator's cluster resource.
    /// `None` for a claim of its own.
    pub workload: Option<String>,
    /// Pointer to the pod-level fields (affinity, nodeSelector, topologySpreadConstraints) of the
    /// pods that mount the claim, in the owning document.
    pub pod: Option<String>,
}

/// Every claim a document creates (DESIGN.md's table): a PVC document is one, a StatefulSet's
/// templates give `<vct>-<sts>-<ordinal>`, an operator CR's storage gives
/// `<volume>-<prefix>-<name>[-shard-<k>]-<ordinal>`.
pub fn claims(id: &Identity, doc: &Value) -> Vec<Claim> {
    let mut out = Vec::new();
    let spec = doc.get("spec");
    let group_key = |sts: &str, vol: &str| {
        format!(
            "{}/{}/{sts}/{vol}",
            id.kind,
            id.namespace.as_deref().unwrap_or("")
        )
    };
    if id.kind == "PersistentVolumeClaim" && id.api_version == "v1" {
        out.push(Claim {
            namespace: id.namespace.clone(),
            name: id.name.clone(),
            spec_pointer: "/spec".into(),
            spec: spec.cloned().unwrap_or(Value::Object(Map::new())),
            group: None,
            ordinal: 0,
            volume: id.name.clone(),
            workload: None,
            pod: None,
        });
    } else if id.kind == "StatefulSet" {
        let replicas = count(spec, "replicas").min(MAX_REPLICAS);
        // Every claim of one pod must land on that pod's node (local PVs of one pod on two
        // nodes make it unschedulable): all templates share the group of the first one, so a
        // single-template StatefulSet is placed as before.
        let first = claim_template_names(doc).next().unwrap_or("");
        for (k, vct) in items(doc.at("/spec/volumeClaimTemplates")).enumerate() {
            let Some(vname) = vct.at("/metadata/name").and_then(Value::as_str) else {
                continue;
            };
            for i in 0..replicas {
                out.push(Claim {
                    namespace: id.namespace.clone(),
                    name: format!("{vname}-{}-{i}", id.name),
                    spec_pointer: format!("/spec/volumeClaimTemplates/{k}/spec"),
                    spec: vct
                        .get("spec")
                        .cloned()
                        .unwrap_or(Value::Object(Map::new())),
                    group: Some(group_key(&id.name, first)),
                    ordinal: i,
                    volume: vname.to_string(),
                    workload: Some(group_key(&id.name, first)),
                    pod: Some("/spec/template/spec".into()),
                });
            }
        }
    } else if let Some(r) = crate::operators::resource(id) {
        let capped = |s: Option<&Value>, f: &str| count(s, f).min(MAX_REPLICAS);
        for c in crate::operators::claims(r, id, doc, &capped) {
            out.push(Claim {
                namespace: id.namespace.clone(),
                name: c.name,
                spec: doc
                    .at(&c.spec_pointer)
                    .cloned()
                    .unwrap_or(Value::Object(Map::new())),
                spec_pointer: c.spec_pointer,
                group: Some(group_key(&c.statefulset, &c.volume)),
                ordinal: c.ordinal,
                volume: c.volume,
                // One spread per resource when its pods share its anti-affinity (all shards, all
                // ClickHouse hosts), else one per component of a cluster resource.
                workload: Some(format!(
                    "{}/{}/{}{}",
                    id.kind,
                    id.namespace.as_deref().unwrap_or(""),
                    id.name,
                    if c.pod == "/spec" || r.kind == "ClickHouseInstallation" {
                        ""
                    } else {
                        c.pod.as_str()
                    }
                )),
                pod: (!c.pod.is_empty()).then_some(c.pod),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(doc: &Value) -> Identity {
        Identity::of(doc)
    }

    #[test]
    fn pod_spec_paths_for_every_kind() {
        for (kind, api, ptr) in [
            ("Pod", "v1", "/spec"),
            ("Deployment", "apps/v1", "/spec/template/spec"),
            ("ReplicaSet", "apps/v1", "/spec/template/spec"),
            ("ReplicationController", "v1", "/spec/template/spec"),
            ("DaemonSet", "apps/v1", "/spec/template/spec"),
            ("Job", "batch/v1", "/spec/template/spec"),
            ("StatefulSet", "apps/v1", "/spec/template/spec"),
            (
                "CronJob",
                "batch/v1",
                "/spec/jobTemplate/spec/template/spec",
            ),
            ("Prometheus", "monitoring.coreos.com/v1", "/spec"),
            ("PrometheusAgent", "monitoring.coreos.com/v1alpha1", "/spec"),
            ("Alertmanager", "monitoring.coreos.com/v1", "/spec"),
            ("ThanosRuler", "monitoring.coreos.com/v1", "/spec"),
        ] {
            let doc = json!({"apiVersion": api, "kind": kind, "metadata": {"name": "x"}});
            assert_eq!(pod_spec_pointer(&id(&doc)), Some(ptr), "{kind}");
        }
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
        assert_eq!(pod_spec_pointer(&id(&cm)), None);
        let other = json!({"apiVersion": "example.com/v1", "kind": "Prometheus", "metadata": {"name": "x"}});
        assert_eq!(pod_spec_pointer(&id(&other)), None);
    }

    #[test]
    fn lists_that_are_not_lists_have_no_items() {
        let c = json!({"env": [{"name": "A"}, {"value": "x"}], "ports": null, "args": "x"});
        assert_eq!(
            items(c.get("env")).map(name).collect::<Vec<_>>(),
            [Some("A"), None]
        );
        assert_eq!(items(c.get("ports")).len(), 0);
        assert_eq!(items(c.get("args")).len(), 0);
        assert_eq!(items(c.get("volumeMounts")).len(), 0);
        let mut pod = json!({"containers": null, "initContainers": "x"});
        let pod = pod.as_object_mut().unwrap();
        assert_eq!(list_entry(pod, "containers"), Some(&mut Vec::new()));
        assert_eq!(
            list_entry(pod, "initContainers"),
            None,
            "the chart's bug stays"
        );
        list_entry(pod, "volumes")
            .unwrap()
            .push(json!({"name": "v"}));
        assert_eq!(pod["volumes"], json!([{"name": "v"}]));
    }

    #[test]
    fn object_entry_replaces_what_is_not_an_object() {
        let mut pod = json!({"securityContext": 5, "x": 1});
        let pod = pod.as_object_mut().unwrap();
        object_entry(pod, "securityContext").insert("runAsUser".into(), json!(0));
        object_entry(pod, "securityContext").insert("fsGroup".into(), json!(0));
        let keys: Vec<&String> = pod.keys().collect();
        assert_eq!(keys, ["securityContext", "x"], "the key keeps its place");
        assert_eq!(
            pod["securityContext"],
            json!({"runAsUser": 0, "fsGroup": 0})
        );
    }

    #[test]
    fn command_line_is_command_then_args() {
        let c = json!({"args": ["--a", 1], "command": ["app"]});
        assert_eq!(
            command_line(&c).collect::<Vec<_>>(),
            [&json!("app"), &json!("--a"), &json!(1)]
        );
        assert_eq!(command_line(&json!({"command": "sh"})).count(), 0);
    }

    #[test]
    fn mounts_volumes_and_templates() {
        let c = json!({"volumeMounts": [{"name": "d", "readOnly": true}, {"name": "e", "readOnly": "true"}]});
        assert!(mounts_volume(&c, "d") && mounts_volume(&c, "e") && !mounts_volume(&c, "f"));
        let ro: Vec<bool> = mounts(&c).map(read_only).collect();
        assert_eq!(ro, [true, false], "only the boolean is read-only");
        let v = json!({"name": "v", "persistentVolumeClaim": {"claimName": "c"}});
        assert_eq!(volume_claim(&v), Some("c"));
        assert_eq!(volume_claim(&json!({"emptyDir": {}})), None);
        let sts = json!({"spec": {"volumeClaimTemplates": [{"metadata": {"name": "a"}}, {}, {"metadata": {"name": "b"}}]}});
        assert_eq!(claim_template_names(&sts).collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn id_params_above_what_kubernetes_accepts_are_refused() {
        assert_eq!(id_param("x.uid", None), Ok(None));
        assert_eq!(id_param("x.uid", Some(MAX_ID)), Ok(Some(MAX_ID)));
        assert_eq!(
            id_param("x.uid", Some(MAX_ID + 1)),
            Err("x.uid=2147483648: Kubernetes accepts ids up to 2147483647".to_string())
        );
    }

    #[test]
    fn floats_with_no_fraction_are_whole_numbers() {
        let v = crate::yaml::parse_value("a: 2.0\nb: 1e3\nc: 1000.0\nd: 2.5\ne: '2'\nf: 1e30\n")
            .unwrap();
        assert_eq!(whole_number(&v["a"]), Some(2));
        assert_eq!(whole_number(&v["b"]), Some(1000));
        assert_eq!(id_value(&v["c"]), Some(1000));
        assert_eq!(whole_number(&v["d"]), None);
        assert_eq!(whole_number(&v["e"]), None);
        assert_eq!(whole_number(&v["f"]), None);
        let sts = crate::yaml::parse_value(
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: s}\nspec:\n  replicas: 2.5\n  template:\n    spec:\n      securityContext: {runAsUser: 1e3, fsGroup: x}\n      containers:\n      - {name: c, securityContext: {runAsGroup: -1}}\n",
        )
        .unwrap();
        let bad = bad_numbers(&id(&sts), &sts);
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(
            bad[0].starts_with("spec.template.spec.securityContext.fsGroup is \"x\""),
            "{bad:?}"
        );
        assert!(
            bad[1].starts_with("container c: securityContext.runAsGroup is -1"),
            "{bad:?}"
        );
        assert!(
            bad[2].starts_with("spec.replicas is 2.5") && bad[2].ends_with("reads it as 1"),
            "{bad:?}"
        );
    }

    #[test]
    fn effective_uid_and_gid() {
        let pod =
            json!({"securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000}});
        let pod = pod.as_object().unwrap();
        assert_eq!(effective_uid(pod, &json!({})), Some(1000));
        assert_eq!(
            effective_uid(pod, &json!({"securityContext": {"runAsUser": 7}})),
            Some(7)
        );
        assert_eq!(effective_gid(pod, &json!({})), Some(2000));
        assert_eq!(effective_uid(&Map::new(), &json!({})), None);
        for bad in [json!(-1), json!(1.5), json!("1000"), json!(1_i64 << 40)] {
            let pod = json!({"securityContext": {"runAsUser": bad}});
            assert_eq!(
                effective_uid(pod.as_object().unwrap(), &json!({})),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn statefulset_claims_per_replica() {
        let doc = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "ns"},
            "spec": {"replicas": 3, "volumeClaimTemplates": [{"metadata": {"name": "data"},
                "spec": {"resources": {"requests": {"storage": "1Gi"}}}}]}});
        let c = claims(&id(&doc), &doc);
        assert_eq!(
            c.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["data-db-0", "data-db-1", "data-db-2"]
        );
        assert_eq!(c[2].spec_pointer, "/spec/volumeClaimTemplates/0/spec");
        assert_eq!(c[0].group, c[2].group);
    }

    #[test]
    fn statefulset_without_replicas_has_one() {
        let doc = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
            "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}}]}});
        assert_eq!(claims(&id(&doc), &doc).len(), 1);
    }

    #[test]
    fn prometheus_claims_per_shard_and_replica() {
        let doc = json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
            "metadata": {"name": "k", "namespace": "monitoring"},
            "spec": {"replicas": 2, "shards": 2, "storage": {"volumeClaimTemplate": {"spec": {}}}}});
        let names: Vec<String> = claims(&id(&doc), &doc)
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(
            names,
            [
                "prometheus-k-db-prometheus-k-0",
                "prometheus-k-db-prometheus-k-1",
                "prometheus-k-db-prometheus-k-shard-1-0",
                "prometheus-k-db-prometheus-k-shard-1-1",
            ]
        );
    }

    #[test]
    fn cr_storage_names_and_subpaths() {
        let am = json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "Alertmanager", "metadata": {"name": "a"},
            "spec": {"storage": {"volumeClaimTemplate": {"spec": {}}}}});
        let s = cr_storage(CrKind::Alertmanager, "a", &am).unwrap();
        assert_eq!(
            (s.volume.as_str(), s.sub_path.as_deref()),
            ("alertmanager-a-db", Some("alertmanager-db"))
        );
        assert_eq!(
            claims(&id(&am), &am)[0].name,
            "alertmanager-a-db-alertmanager-a-0"
        );
        let tr = json!({"spec": {"storage": {"volumeClaimTemplate": {"metadata": {"name": "x"}}}}});
        let s = cr_storage(CrKind::ThanosRuler, "t", &tr).unwrap();
        assert_eq!(
            (s.volume.as_str(), s.sub_path, s.mount_path.as_str()),
            ("x", None, "/thanos/data")
        );
        let agent =
            json!({"spec": {"storage": {"disableMountSubPath": true, "volumeClaimTemplate": {}}}});
        let s = cr_storage(CrKind::PrometheusAgent, "g", &agent).unwrap();
        assert_eq!((s.volume.as_str(), s.sub_path), ("prom-agent-g-db", None));
    }

    #[test]
    fn pvc_document_is_its_own_claim() {
        let doc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "g"},
            "spec": {"resources": {"requests": {"storage": "2Gi"}}}});
        let c = claims(&id(&doc), &doc);
        assert_eq!(
            (c.len(), c[0].name.as_str(), c[0].namespace.clone()),
            (1, "g", None)
        );
    }
}
