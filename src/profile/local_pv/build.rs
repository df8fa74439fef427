//! The objects local-pv writes: PersistentVolume names, the volumes and the StorageClass as the
//! Kubernetes types serialize them, the node preparation commands, and what a volume that exists
//! keeps.

use super::*;

/// The PV name of a claim: `<namespace>.<claim>` when that is a valid name, else a sanitized,
/// shortened form with a stable hash of `<namespace>/<claim>` (see the module docs).
pub(super) fn pv_name(namespace: &str, claim: &str) -> String {
    let plain = format!("{namespace}.{claim}");
    if is_subdomain(&plain) {
        return plain;
    }
    let hash = format!("{:016x}", fnv1a(format!("{namespace}/{claim}").as_bytes()));
    let mut s = String::with_capacity(plain.len());
    for c in plain.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' {
            c
        } else {
            '-'
        };
        // No empty labels, no label starting or ending with '-'.
        let last = s.chars().last();
        match (last, c) {
            (None | Some('.' | '-'), '.' | '-') => {}
            (Some('-'), _) if c == '.' => {}
            _ => s.push(c),
        }
    }
    s.truncate(MAX_NAME - hash.len() - 1);
    let s = s.trim_end_matches(['-', '.']);
    if s.is_empty() {
        format!("pv-{hash}")
    } else {
        format!("{s}-{hash}")
    }
}

/// The command that prepares one directory on its node.
pub(super) fn prepare(dir: &str, uid: Option<i64>, gid: Option<i64>) -> String {
    let d = quote(dir);
    match (uid, gid) {
        (Some(u), Some(g)) => format!("mkdir -p {d} && chown {u}:{g} {d}"),
        (Some(u), None) => format!("mkdir -p {d} && chown {u} {d}"),
        (None, Some(g)) => format!("mkdir -p {d} && chown :{g} {d}"),
        (None, None) => format!("mkdir -p {d}"),
    }
}

/// The object at a JSON pointer, created (with its parents) when missing.
pub(super) fn object_at<'a>(
    root: &'a mut Value,
    pointer: &str,
) -> Option<&'a mut Map<String, Value>> {
    let mut cur = root;
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        cur = match cur {
            Value::Array(a) => a.get_mut(token.parse::<usize>().ok()?)?,
            Value::Object(o) => o.entry(token).or_insert_with(|| Value::Object(Map::new())),
            _ => return None,
        };
        if cur.is_null() {
            *cur = Value::Object(Map::new());
        }
    }
    cur.as_object_mut()
}

/// PV labels that satisfy the claim's selector: `matchLabels` as they are, and for
/// `matchExpressions` the first value of an `In` and an empty value for `Exists`.
pub(super) fn selector_labels(spec: &Value) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let Some(sel) = spec.get("selector") else {
        return labels;
    };
    for e in workload::items(sel.get("matchExpressions")) {
        let (Some(key), Some(op)) = (
            e.get("key").and_then(Value::as_str),
            e.get("operator").and_then(Value::as_str),
        ) else {
            continue;
        };
        let first = workload::items(e.get("values"))
            .next()
            .and_then(Value::as_str);
        match (op, first) {
            ("In", Some(v)) => {
                labels.insert(key.to_string(), v.to_string());
            }
            ("Exists", _) => {
                labels.insert(key.to_string(), String::new());
            }
            _ => {}
        }
    }
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in m {
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            labels.insert(k.clone(), v);
        }
    }
    labels
}

/// The claim's storage request, as written.
pub(super) fn request(spec: &Value) -> Option<String> {
    match spec.at("/resources/requests/storage")? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The annotation on every volume local-pv makes: the next render knows the volume as its own
/// by it, whoever applied it (Helm, `kubectl apply`, a GitOps tool), and sends it again.
pub const MARK: &str = "helm-fixup/made-by";

/// An added object's metadata: `annotations` (the volumes' [`MARK`], `helm.sh/resource-policy:
/// keep` when `keep`, sorted), then `labels` when there are any (sorted), then `name`, the order
/// `ObjectMeta` serializes in.
pub(super) fn metadata(
    name: &str,
    labels: &BTreeMap<String, String>,
    keep: bool,
    mark: bool,
) -> Value {
    let mut m = Map::new();
    let mut annotations = Map::new();
    if mark {
        annotations.insert(MARK.into(), json!("local-pv"));
    }
    if keep {
        annotations.insert("helm.sh/resource-policy".into(), json!("keep"));
    }
    if !annotations.is_empty() {
        m.insert("annotations".into(), Value::Object(annotations));
    }
    if !labels.is_empty() {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        m.insert("labels".into(), Value::Object(labels));
    }
    m.insert("name".into(), Value::String(name.to_string()));
    Value::Object(m)
}

/// The PersistentVolume of one claim. Written out rather than serialized from the Kubernetes
/// types (`k8s_openapi`'s `PersistentVolume`), which cannot fail but has an error path all the
/// same; the keys are in the order those types serialize them (alphabetical, `apiVersion` and
/// `kind` first), which a test holds it to.
pub(super) fn build_pv(
    cfg: &Config,
    (name, namespace): (String, &str),
    claim: &Claim,
    (node, class): (&str, &str),
    size: String,
) -> Value {
    let spec = &claim.spec;
    let mut modes: Vec<&str> = workload::items(spec.get("accessModes"))
        .filter_map(Value::as_str)
        .collect();
    if modes.is_empty() {
        modes.push("ReadWriteOnce");
    }
    let volume_mode = spec.get("volumeMode").and_then(Value::as_str);
    let pv_spec: Map<String, Value> = [
        ("accessModes", json!(modes)),
        ("capacity", json!({"storage": size})),
        (
            "claimRef",
            json!({
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "name": claim.name,
                "namespace": namespace,
            }),
        ),
        ("local", json!({"path": cfg.dir(namespace, &claim.name)})),
        (
            "nodeAffinity",
            json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": cfg.label_key, "operator": "In", "values": [node]},
            ]}]}}),
        ),
        ("persistentVolumeReclaimPolicy", json!("Retain")),
        ("storageClassName", json!(class)),
    ]
    .into_iter()
    .chain(volume_mode.map(|m| ("volumeMode", json!(m))))
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": metadata(&name, &selector_labels(spec), cfg.keep, true),
        "spec": pv_spec,
    })
}

/// The StorageClass the volumes name, in the order `k8s_openapi`'s `StorageClass` serializes it
/// (see [`build_pv`]).
pub(super) fn build_class(cfg: &Config) -> Value {
    json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": metadata(&cfg.class, &BTreeMap::new(), cfg.keep, false),
        "provisioner": "kubernetes.io/no-provisioner",
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "WaitForFirstConsumer",
    })
}

/// The one-line command that creates the StorageClass (`kubectl apply` of a manifest given on
/// stdin, every line quoted).
pub(super) fn class_command(cfg: &Config) -> String {
    let lines = [
        "apiVersion: storage.k8s.io/v1".to_string(),
        "kind: StorageClass".to_string(),
        "metadata:".to_string(),
        format!("  name: {}", cfg.class),
        "provisioner: kubernetes.io/no-provisioner".to_string(),
        "volumeBindingMode: WaitForFirstConsumer".to_string(),
        "reclaimPolicy: Retain".to_string(),
    ];
    let quoted: Vec<String> = lines.iter().map(|l| quote(l)).collect();
    format!("printf '%s\\n' {} | kubectl apply -f -", quoted.join(" "))
}

/// The node a PV's nodeAffinity names (the first value of the first `In` expression).
pub(super) fn node_of(pv: &Value) -> Option<String> {
    workload::items(pv.at("/spec/nodeAffinity/required/nodeSelectorTerms"))
        .flat_map(|t| workload::items(t.get("matchExpressions")))
        .find(|e| e.get("operator").and_then(Value::as_str) == Some("In"))
        .and_then(|e| workload::items(e.get("values")).next()?.as_str())
        .map(str::to_string)
}

/// Spec fields of a live volume that are sent back as the cluster has them: those the API
/// server will not change (source, node, mode) and those whose change would move or shrink
/// the data (class, size, access modes), plus `claimRef`, which the PersistentVolume controller
/// owns once bound (re-sending it unchanged is no conflict for server-side apply).
pub(super) const LIVE_FIELDS: &[&str] = &[
    "capacity",
    "accessModes",
    "volumeMode",
    "storageClassName",
    "nodeAffinity",
    "claimRef",
];

/// Volume sources a live volume may have; the live one replaces ours.
pub(super) const SOURCES: &[&str] = &["local", "hostPath"];

pub(super) fn keep_live_fields(pv: &mut Value, live: &Value) {
    let Some(lspec) = live.get("spec").and_then(Value::as_object) else {
        return;
    };
    let Some(spec) = pv.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    for f in LIVE_FIELDS {
        match lspec.get(*f) {
            Some(v) => {
                spec.insert((*f).to_string(), v.clone());
            }
            None if *f == "volumeMode" || *f == "claimRef" => {
                spec.remove(*f);
            }
            None => {}
        }
    }
    if SOURCES.iter().any(|s| lspec.contains_key(*s)) {
        for s in SOURCES {
            spec.remove(*s);
            if let Some(v) = lspec.get(*s) {
                spec.insert((*s).to_string(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Params;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, UsageError> {
        Config::from(&Params::from_pairs("local-pv", pairs))
    }

    #[test]
    fn long_claim_names_get_valid_stable_pv_names() {
        let claim = format!("prometheus-{}-db-0", "x".repeat(300));
        let a = pv_name("monitoring", &claim);
        assert!(is_subdomain(&a) && a.len() <= MAX_NAME, "{a}");
        assert_eq!(a, pv_name("monitoring", &claim));
        let other = format!("prometheus-{}-db-1", "x".repeat(300));
        assert_ne!(a, pv_name("monitoring", &other));
        let short = pv_name("monitoring", "data-db-0");
        assert_eq!(short, "monitoring.data-db-0");
    }

    #[test]
    fn pv_names_of_hyphenated_namespaces_do_not_collide() {
        assert_ne!(pv_name("a-b", "c"), pv_name("a", "b-c"));
    }

    #[test]
    fn invalid_names_are_sanitized_with_a_hash() {
        for (ns, c) in [
            ("Mon", "Data_0"),
            ("ns", "-.-"),
            ("ns", "a..b"),
            ("ns", "a_.b"),
        ] {
            let n = pv_name(ns, c);
            assert!(is_subdomain(&n), "{ns}/{c} -> {n}");
        }
        assert_ne!(pv_name("ns", "a_b"), pv_name("ns", "a-b"));
    }

    #[test]
    fn node_preparation_commands_are_quoted() {
        assert_eq!(
            prepare("/mnt/it's", Some(1000), Some(2000)),
            r"mkdir -p '/mnt/it'\''s' && chown 1000:2000 '/mnt/it'\''s'"
        );
        assert_eq!(prepare("/d", None, None), "mkdir -p '/d'");
        assert_eq!(
            prepare("/d", Some(5), None),
            "mkdir -p '/d' && chown 5 '/d'"
        );
    }

    #[test]
    fn selector_expressions_become_satisfying_labels() {
        let spec = json!({"selector": {"matchLabels": {"app": "db", "n": 1},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fast", "slow"]},
                                 {"key": "disk", "operator": "Exists"},
                                 {"key": "zone", "operator": "NotIn", "values": ["x"]}]}});
        let l = selector_labels(&spec);
        assert_eq!(l.get("app").map(String::as_str), Some("db"));
        assert_eq!(l.get("n").map(String::as_str), Some("1"));
        assert_eq!(l.get("tier").map(String::as_str), Some("fast"));
        assert_eq!(l.get("disk").map(String::as_str), Some(""));
        assert!(!l.contains_key("zone"));
    }

    // The PersistentVolume and StorageClass as they were built before: from the Kubernetes
    // types. `build_pv` and `build_class` must give the same text.
    use k8s_openapi::api::core::v1::{
        LocalVolumeSource, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
        ObjectReference, PersistentVolume, PersistentVolumeSpec, VolumeNodeAffinity,
    };
    use k8s_openapi::api::storage::v1::StorageClass;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn typed_keep(keep: bool, mark: bool) -> Option<BTreeMap<String, String>> {
        let mut a = BTreeMap::new();
        if keep {
            a.insert("helm.sh/resource-policy".to_string(), "keep".to_string());
        }
        if mark {
            a.insert(MARK.to_string(), "local-pv".to_string());
        }
        (!a.is_empty()).then_some(a)
    }

    /// The PersistentVolume `build_pv` makes for `(name, namespace, claim, node, size)`, from
    /// the Kubernetes types.
    fn typed_pv(cfg: &Config, pv: (String, &str, &Claim, &str, String)) -> Value {
        let (name, namespace, claim, node, size) = pv;
        let spec = &claim.spec;
        let modes: Vec<String> = spec
            .get("accessModes")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .filter(|a: &Vec<String>| !a.is_empty())
            .unwrap_or_else(|| vec!["ReadWriteOnce".to_string()]);
        let labels = selector_labels(spec);
        let pv = PersistentVolume {
            metadata: ObjectMeta {
                name: Some(name),
                labels: (!labels.is_empty()).then_some(labels),
                annotations: typed_keep(cfg.keep, true),
                ..ObjectMeta::default()
            },
            spec: Some(PersistentVolumeSpec {
                capacity: Some(BTreeMap::from([("storage".to_string(), Quantity(size))])),
                access_modes: Some(modes),
                volume_mode: spec
                    .get("volumeMode")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                persistent_volume_reclaim_policy: Some("Retain".into()),
                storage_class_name: Some(cfg.class.clone()),
                claim_ref: Some(ObjectReference {
                    api_version: Some("v1".into()),
                    kind: Some("PersistentVolumeClaim".into()),
                    namespace: Some(namespace.to_string()),
                    name: Some(claim.name.clone()),
                    ..ObjectReference::default()
                }),
                local: Some(LocalVolumeSource {
                    path: cfg.dir(namespace, &claim.name),
                    fs_type: None,
                }),
                node_affinity: Some(VolumeNodeAffinity {
                    required: Some(NodeSelector {
                        node_selector_terms: vec![NodeSelectorTerm {
                            match_expressions: Some(vec![NodeSelectorRequirement {
                                key: cfg.label_key.clone(),
                                operator: "In".into(),
                                values: Some(vec![node.to_string()]),
                            }]),
                            match_fields: None,
                        }],
                    }),
                }),
                ..PersistentVolumeSpec::default()
            }),
            status: None,
        };
        serde_json::to_value(pv).unwrap()
    }

    fn typed_class(cfg: &Config) -> Value {
        let sc = StorageClass {
            metadata: ObjectMeta {
                name: Some(cfg.class.clone()),
                annotations: typed_keep(cfg.keep, false),
                ..ObjectMeta::default()
            },
            provisioner: "kubernetes.io/no-provisioner".into(),
            volume_binding_mode: Some("WaitForFirstConsumer".into()),
            reclaim_policy: Some("Retain".into()),
            ..StorageClass::default()
        };
        serde_json::to_value(sc).unwrap()
    }

    #[test]
    fn built_objects_are_what_the_kubernetes_types_serialize() {
        for (keep, spec) in [
            (true, json!({})),
            (
                false,
                json!({"accessModes": ["ReadWriteOnce", "ReadOnlyMany"], "volumeMode": "Filesystem",
                       "selector": {"matchLabels": {"b": "1", "a": 2},
                                    "matchExpressions": [{"key": "z", "operator": "Exists"}]}}),
            ),
            (true, json!({"accessModes": [], "volumeMode": 5})),
        ] {
            let c = Config {
                keep,
                ..cfg(&[("node", "a")]).unwrap()
            };
            let claim = Claim {
                namespace: None,
                name: "data-db-0".into(),
                spec_pointer: "/spec".into(),
                spec,
                group: None,
                ordinal: 0,
                volume: "data".into(),
                workload: None,
                pod: None,
            };
            // Compared as text: key order is part of the output.
            assert_eq!(
                build_pv(
                    &c,
                    ("ns.data-db-0".into(), "ns"),
                    &claim,
                    ("a", &c.class),
                    "1Gi".into()
                )
                .to_string(),
                typed_pv(&c, ("ns.data-db-0".into(), "ns", &claim, "a", "1Gi".into())).to_string()
            );
            assert_eq!(build_class(&c).to_string(), typed_class(&c).to_string());
        }
    }

    #[test]
    fn object_at_creates_missing_claim_specs() {
        let mut v = json!({"spec": {"storage": {"volumeClaimTemplate": null}}});
        let o = object_at(&mut v, "/spec/storage/volumeClaimTemplate/spec").unwrap();
        o.insert("storageClassName".into(), json!("x"));
        assert_eq!(
            v.at("/spec/storage/volumeClaimTemplate/spec/storageClassName"),
            Some(&json!("x"))
        );
        let mut arr = json!({"spec": {"volumeClaimTemplates": []}});
        assert!(object_at(&mut arr, "/spec/volumeClaimTemplates/3/spec").is_none());
        let mut scalar = json!({"spec": 5});
        assert!(object_at(&mut scalar, "/spec/x").is_none());
    }
}
