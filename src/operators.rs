//! The operators whose resources become pods and claims, as data: for each resource, where its
//! pod-level fields and its storage live, and how the operator names the StatefulSets and claims
//! it makes from them. `workload::claims` reads every claim through this table, so a resource of
//! any operator here gets its volumes from local-pv and its unbound claims named by `diagnose`.
//! Adding an operator is adding rows (Kyverno's autogen rules and kube-linter's `pkg/extract`
//! are the model); only the Altinity ClickHouse operator, whose claims follow its cluster layout,
//! has a naming function of its own ([`clickhouse_claims`]).
//!
//! The facts, each with the operator source it was read from and the oldest release it holds
//! for, are in docs/operators.md. prometheus-operator's containers, reloaders and probes are
//! also known to the profiles through `workload::CrKind`.

use crate::manifest::Identity;
use serde_json::Value;

/// One resource kind an operator turns into pods.
#[derive(Debug)]
pub struct Resource {
    pub operator: &'static str,
    pub group: &'static str,
    pub kind: &'static str,
    /// The workloads it makes, one per component (VMCluster: vmstorage, vmselect, vminsert).
    pub components: &'static [Component],
}

/// One workload a resource makes.
#[derive(Debug)]
pub struct Component {
    /// Pointer to the component's fields in the resource: `securityContext`, `affinity`,
    /// `topologySpreadConstraints`, `nodeSelector`, `containers` (merged by name with the
    /// generated ones), replicas and storage are read under it.
    pub spec: &'static str,
    /// The workload is named `<prefix>-<resource name>`.
    pub prefix: &'static str,
    /// The container the operator generates for the component's process, which mounts its
    /// storage (`vmstorage`; VMAlertmanager's is `alertmanager`): `containers` entries of that
    /// name patch it.
    pub main: &'static str,
    /// The field, under `spec`, with the replica count (default 1).
    pub replicas: &'static str,
    pub shards: Shards,
    pub storage: Option<Storage>,
}

/// How an operator names the StatefulSets of a sharded resource.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shards {
    None,
    /// prometheus-operator: `spec.shards` (default 1); shard 0 is `<sts>`, shard k `<sts>-shard-k`.
    PrometheusShards,
    /// VictoriaMetrics VMAgent: `spec.shardCount`; when set (>= 1, operator v0.69+), every shard k
    /// is `<sts>-k`.
    VmShardCount,
}

/// Where a component's storage is, and what the claims are called.
#[derive(Debug, Clone, Copy)]
pub enum Storage {
    /// A StatefulSet claim template: `template` (under the component's spec) holds
    /// `{metadata: {name}, spec}`; claim `<volume>-<statefulset>-<ordinal>`.
    Template {
        template: &'static str,
        volume: Volume,
        /// The template is used only when this boolean field (under the component's spec) is
        /// true (VMAgent's `statefulMode`).
        when: Option<&'static str>,
        /// The subPath the main container mounts the volume with, when the operator sets one
        /// (VMAlertmanager: `alertmanager-db`).
        sub_path: Option<&'static str>,
    },
    /// One claim the operator creates on its own, named like the workload, whose spec is at
    /// `spec` (under the component's spec): VMSingle's `spec.storage`.
    Claim { spec: &'static str },
}

/// The volume name of a claim template.
#[derive(Debug, Clone, Copy)]
pub enum Volume {
    /// The template's `metadata.name`, else `<prefix>-<name><suffix>`.
    NamedOr(&'static str),
    /// The template's `metadata.name`, else this.
    NamedOrFixed(&'static str),
    /// Always this: the operator ignores `metadata.name`.
    Fixed(&'static str),
}

const PROM: &str = "prometheus-operator";
const VM: &str = "VictoriaMetrics operator";

const fn single(
    prefix: &'static str,
    replicas: &'static str,
    storage: Option<Storage>,
) -> Component {
    Component {
        spec: "/spec",
        prefix,
        main: prefix,
        replicas,
        shards: Shards::None,
        storage,
    }
}

const fn cluster(spec: &'static str, prefix: &'static str, storage: Option<Storage>) -> Component {
    Component {
        spec,
        prefix,
        main: prefix,
        replicas: "replicaCount",
        shards: Shards::None,
        storage,
    }
}

const fn template(template: &'static str, volume: Volume) -> Option<Storage> {
    Some(Storage::Template {
        template,
        volume,
        when: None,
        sub_path: None,
    })
}

/// The resources, by operator. Sources and versions: docs/operators.md.
pub const RESOURCES: &[Resource] = &[
    Resource {
        operator: PROM,
        group: "monitoring.coreos.com",
        kind: "Prometheus",
        components: &[Component {
            shards: Shards::PrometheusShards,
            ..single(
                "prometheus",
                "replicas",
                template("/storage/volumeClaimTemplate", Volume::NamedOr("-db")),
            )
        }],
    },
    Resource {
        operator: PROM,
        group: "monitoring.coreos.com",
        kind: "PrometheusAgent",
        components: &[Component {
            shards: Shards::PrometheusShards,
            main: "prometheus",
            ..single(
                "prom-agent",
                "replicas",
                template("/storage/volumeClaimTemplate", Volume::NamedOr("-db")),
            )
        }],
    },
    Resource {
        operator: PROM,
        group: "monitoring.coreos.com",
        kind: "Alertmanager",
        components: &[single(
            "alertmanager",
            "replicas",
            template("/storage/volumeClaimTemplate", Volume::NamedOr("-db")),
        )],
    },
    Resource {
        operator: PROM,
        group: "monitoring.coreos.com",
        kind: "ThanosRuler",
        components: &[single(
            "thanos-ruler",
            "replicas",
            template("/storage/volumeClaimTemplate", Volume::NamedOr("-data")),
        )],
    },
    Resource {
        operator: VM,
        group: "operator.victoriametrics.com",
        kind: "VMSingle",
        components: &[single(
            "vmsingle",
            "replicaCount",
            Some(Storage::Claim { spec: "/storage" }),
        )],
    },
    Resource {
        operator: VM,
        group: "operator.victoriametrics.com",
        kind: "VMAgent",
        components: &[Component {
            shards: Shards::VmShardCount,
            ..single(
                "vmagent",
                "replicaCount",
                Some(Storage::Template {
                    template: "/statefulStorage/volumeClaimTemplate",
                    volume: Volume::Fixed("persistent-queue-data"),
                    when: Some("statefulMode"),
                    sub_path: None,
                }),
            )
        }],
    },
    Resource {
        operator: VM,
        group: "operator.victoriametrics.com",
        kind: "VMAlertmanager",
        components: &[Component {
            main: "alertmanager",
            ..single(
                "vmalertmanager",
                "replicaCount",
                Some(Storage::Template {
                    template: "/storage/volumeClaimTemplate",
                    volume: Volume::NamedOr("-db"),
                    when: None,
                    sub_path: Some("alertmanager-db"),
                }),
            )
        }],
    },
    Resource {
        operator: VM,
        group: "operator.victoriametrics.com",
        kind: "VMAlert",
        components: &[single("vmalert", "replicaCount", None)],
    },
    Resource {
        operator: VM,
        group: "operator.victoriametrics.com",
        kind: "VMAuth",
        components: &[single("vmauth", "replicaCount", None)],
    },
    Resource {
        operator: VM,
        group: "operator.victoriametrics.com",
        kind: "VMCluster",
        components: &[
            cluster(
                "/spec/vmstorage",
                "vmstorage",
                template(
                    "/storage/volumeClaimTemplate",
                    Volume::NamedOrFixed("vmstorage-db"),
                ),
            ),
            cluster(
                "/spec/vmselect",
                "vmselect",
                template(
                    "/storage/volumeClaimTemplate",
                    Volume::NamedOrFixed("vmselect-cachedir"),
                ),
            ),
            cluster("/spec/vminsert", "vminsert", None),
        ],
    },
    Resource {
        operator: VM,
        group: "operator.victoriametrics.com",
        kind: "VLSingle",
        components: &[single(
            "vlsingle",
            "replicaCount",
            Some(Storage::Claim { spec: "/storage" }),
        )],
    },
    Resource {
        operator: VM,
        group: "operator.victoriametrics.com",
        kind: "VLCluster",
        components: &[
            cluster(
                "/spec/vlstorage",
                "vlstorage",
                template(
                    "/storage/volumeClaimTemplate",
                    Volume::NamedOrFixed("vlstorage-db"),
                ),
            ),
            cluster("/spec/vlselect", "vlselect", None),
            cluster("/spec/vlinsert", "vlinsert", None),
        ],
    },
    Resource {
        operator: VM,
        group: "operator.victoriametrics.com",
        kind: "VTSingle",
        components: &[single(
            "vtsingle",
            "replicaCount",
            Some(Storage::Claim { spec: "/storage" }),
        )],
    },
    Resource {
        operator: VM,
        group: "operator.victoriametrics.com",
        kind: "VTCluster",
        components: &[
            cluster(
                "/spec/storage",
                "vtstorage",
                template(
                    "/storage/volumeClaimTemplate",
                    Volume::NamedOrFixed("vtstorage-db"),
                ),
            ),
            cluster("/spec/select", "vtselect", None),
            cluster("/spec/insert", "vtinsert", None),
        ],
    },
    Resource {
        operator: VM,
        group: "operator.victoriametrics.com",
        kind: "VLAgent",
        components: &[single(
            "vlagent",
            "replicaCount",
            Some(Storage::Template {
                template: "/storage/volumeClaimTemplate",
                volume: Volume::Fixed("tmp-data"),
                when: None,
                sub_path: None,
            }),
        )],
    },
    Resource {
        operator: VM,
        group: "operator.victoriametrics.com",
        kind: "VMAnomaly",
        components: &[Component {
            shards: Shards::VmShardCount,
            ..single(
                "vmanomaly",
                "replicaCount",
                template(
                    "/storage/volumeClaimTemplate",
                    Volume::NamedOrFixed("vmanomaly-storage"),
                ),
            )
        }],
    },
    Resource {
        operator: "Altinity ClickHouse operator",
        group: "clickhouse.altinity.com",
        kind: "ClickHouseInstallation",
        components: &[],
    },
];

/// The entries of a list field (none when it is absent or not a list).
fn items(list: Option<&Value>) -> std::slice::Iter<'_, Value> {
    list.and_then(Value::as_array)
        .map_or_else(Default::default, |a| a.iter())
}

/// The row of a document's kind, if an operator here reconciles it.
pub fn resource(id: &Identity) -> Option<&'static Resource> {
    let group = id.group();
    RESOURCES
        .iter()
        .find(|r| r.kind == id.kind && r.group == group)
}

/// Pointer to the pod-level fields of a resource whose operator makes one workload from fields
/// under `spec` (VMSingle, VMAgent, VMAlertmanager, ...): what the pod fixes read and change.
/// `None` for resources of several components (VMCluster) and for ClickHouseInstallation.
pub fn single_pod_spec(id: &Identity) -> Option<&'static str> {
    let r = resource(id)?;
    match r.components {
        [c] if c.spec == "/spec" => Some("/spec"),
        _ => None,
    }
}

/// The pod specs of a resource whose operator makes several workloads from it, each with a name
/// for the summary: a cluster resource's components (`/spec/vmstorage` as `vmstorage`, ...) and a
/// ClickHouseInstallation's pod templates (`/spec/templates/podTemplates/N/spec` as the template's
/// name; the operator uses each whole as the pod spec of the hosts that choose it). A component
/// the resource leaves out is not made, so it is not listed. Empty for other documents.
pub fn pod_spec_parts(id: &Identity, doc: &Value) -> Vec<(String, String)> {
    let Some(r) = resource(id) else {
        return Vec::new();
    };
    if r.kind == "ClickHouseInstallation" {
        return items(doc.pointer("/spec/templates/podTemplates"))
            .enumerate()
            .filter(|(_, t)| t.get("spec").is_some_and(Value::is_object))
            .map(|(i, t)| {
                let name = t.get("name").and_then(Value::as_str).map_or_else(
                    || format!("pod template {i}"),
                    |n| format!("pod template {n}"),
                );
                (format!("/spec/templates/podTemplates/{i}/spec"), name)
            })
            .collect();
    }
    if r.components.len() < 2 {
        return Vec::new();
    }
    r.components
        .iter()
        .filter(|c| doc.pointer(c.spec).is_some_and(Value::is_object))
        .map(|c| (c.spec.to_string(), c.prefix.to_string()))
        .collect()
}

/// Whether documents of this kind hold pods or storage an operator makes (so they are read).
pub fn is_operator_kind(kind: &str) -> bool {
    RESOURCES.iter().any(|r| r.kind == kind)
}

/// One claim an operator will create, before the caller adds the namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorClaim {
    pub name: String,
    /// Pointer to the claim spec in the document (where `storageClassName` goes).
    pub spec_pointer: String,
    /// The StatefulSet (or standalone claim) it belongs to: replicas of one are spread apart.
    pub statefulset: String,
    /// Pointer to the pod-level fields (affinity, nodeSelector) of the pods that mount it.
    pub pod: String,
    pub ordinal: u64,
    pub volume: String,
    /// The subPath the operator mounts the volume with, if any.
    pub sub_path: Option<String>,
}

/// Every claim the operator makes from `doc`, in ordinal order per StatefulSet. `count` reads
/// a replica or shard count (`workload::count`, capped).
pub fn claims(
    r: &Resource,
    id: &Identity,
    doc: &Value,
    count: &dyn Fn(Option<&Value>, &str) -> u64,
) -> Vec<OperatorClaim> {
    if r.kind == "ClickHouseInstallation" {
        return clickhouse_claims(id, doc, count);
    }
    let mut out = Vec::new();
    for c in r.components {
        let Some(spec) = doc.pointer(c.spec).filter(|s| s.is_object()) else {
            continue;
        };
        let base = format!("{}-{}", c.prefix, id.name);
        let replicas = count(Some(spec), c.replicas);
        let statefulsets: Vec<String> = match c.shards {
            Shards::None => vec![base.clone()],
            Shards::PrometheusShards => (0..count(Some(spec), "shards"))
                .map(|k| {
                    if k == 0 {
                        base.clone()
                    } else {
                        format!("{base}-shard-{k}")
                    }
                })
                .collect(),
            Shards::VmShardCount => match spec.get("shardCount") {
                None | Some(Value::Null) => vec![base.clone()],
                Some(_) => (0..count(Some(spec), "shardCount"))
                    .map(|k| format!("{base}-{k}"))
                    .collect(),
            },
        };
        match c.storage {
            None => {}
            Some(Storage::Claim { spec: at }) => {
                let Some(claim) = spec.pointer(at).filter(|s| s.is_object()) else {
                    continue;
                };
                if claim.pointer("/resources/requests/storage").is_none() {
                    continue;
                }
                out.push(OperatorClaim {
                    name: base.clone(),
                    spec_pointer: format!("{}{at}", c.spec),
                    statefulset: base.clone(),
                    pod: c.spec.to_string(),
                    ordinal: 0,
                    volume: "data".to_string(),
                    sub_path: None,
                });
            }
            Some(Storage::Template {
                template,
                volume,
                when,
                sub_path,
            }) => {
                if let Some(flag) = when
                    && spec.get(flag).and_then(Value::as_bool) != Some(true)
                {
                    continue;
                }
                let Some(vct) = spec.pointer(template).filter(|v| v.is_object()) else {
                    continue;
                };
                let named = vct
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty());
                let volume = match volume {
                    Volume::NamedOr(suffix) => {
                        named.map_or(format!("{base}{suffix}"), str::to_string)
                    }
                    Volume::NamedOrFixed(v) => named.unwrap_or(v).to_string(),
                    Volume::Fixed(v) => v.to_string(),
                };
                for sts in &statefulsets {
                    for i in 0..replicas {
                        out.push(OperatorClaim {
                            name: format!("{volume}-{sts}-{i}"),
                            spec_pointer: format!("{}{template}/spec", c.spec),
                            statefulset: sts.clone(),
                            pod: c.spec.to_string(),
                            ordinal: i,
                            volume: volume.clone(),
                            sub_path: sub_path.map(str::to_string),
                        });
                    }
                }
            }
        }
    }
    out
}

/// A ClickHouseInstallation's name part, as the Altinity operator shortens it: cut to `max`
/// characters, then stripped of leading and trailing `-`, `_` and `.` (`namer/short`).
fn ch_part(s: &str, max: usize) -> String {
    let cut: String = s.chars().take(max).collect();
    cut.trim_matches(['-', '_', '.']).to_string()
}

/// The claims the Altinity operator makes for a ClickHouseInstallation: one StatefulSet
/// `chi-<chi>-<cluster>-<shard>-<replica>` with one replica per host, and for each claim template
/// a host's pods use (`defaults.templates.dataVolumeClaimTemplate` /
/// `logVolumeClaimTemplate`, or a volumeMount of its name in the pod template) the claim
/// `<template>-<statefulset>-0`. Shards and replicas are named by their index unless named in
/// `layout.shards[]` / `layout.replicas[]`; counts default to 1 (`shardsCount`,
/// `replicasCount`, raised to the lists' lengths). Only the CHI-wide and cluster-level
/// templates are read; per-shard or per-host template overrides are not followed.
pub fn clickhouse_claims(
    id: &Identity,
    doc: &Value,
    count: &dyn Fn(Option<&Value>, &str) -> u64,
) -> Vec<OperatorClaim> {
    let mut out = Vec::new();
    let chi = ch_part(&id.name, 60);
    let vcts: Vec<&Value> = items(doc.pointer("/spec/templates/volumeClaimTemplates"))
        .filter(|t| t.is_object())
        .collect();
    let vct_index = |name: &str| {
        vcts.iter()
            .position(|t| t.get("name").and_then(Value::as_str) == Some(name))
    };
    let pod_templates: Vec<&Value> = items(doc.pointer("/spec/templates/podTemplates")).collect();
    let defaults = doc.pointer("/spec/defaults/templates");
    let clusters: Vec<&Value> = items(doc.pointer("/spec/configuration/clusters")).collect();
    let default_cluster = serde_json::json!({"name": "cluster"});
    let clusters = if clusters.is_empty() {
        vec![&default_cluster]
    } else {
        clusters
    };
    for cl in clusters {
        let cname = ch_part(
            cl.get("name").and_then(Value::as_str).unwrap_or("cluster"),
            15,
        );
        let tpl = |key: &str| {
            cl.pointer(&format!("/templates/{key}"))
                .or_else(|| defaults.and_then(|d| d.get(key)))
                .and_then(Value::as_str)
        };
        // The templates the pods use: data and log templates, and any a pod template mounts.
        let pod_template = tpl("podTemplate").and_then(|n| {
            pod_templates
                .iter()
                .position(|p| p.get("name").and_then(Value::as_str) == Some(n))
        });
        let mut used: Vec<usize> = Vec::new();
        for key in [
            "dataVolumeClaimTemplate",
            "logVolumeClaimTemplate",
            "volumeClaimTemplate",
        ] {
            if let Some(k) = tpl(key).and_then(vct_index)
                && !used.contains(&k)
            {
                used.push(k);
            }
        }
        if let Some(p) = pod_template {
            let spec = pod_templates[p].get("spec");
            for c in items(spec.and_then(|s| s.get("containers")))
                .chain(items(spec.and_then(|s| s.get("initContainers"))))
            {
                for m in items(c.get("volumeMounts")) {
                    if let Some(k) = m.get("name").and_then(Value::as_str).and_then(vct_index)
                        && !used.contains(&k)
                    {
                        used.push(k);
                    }
                }
            }
        }
        if used.is_empty() {
            continue;
        }
        let layout = cl.get("layout");
        let shard_list: Vec<&Value> = items(layout.and_then(|l| l.get("shards"))).collect();
        let replica_list: Vec<&Value> = items(layout.and_then(|l| l.get("replicas"))).collect();
        let n = |field: &str| count(layout, field) as usize;
        let shards = n("shardsCount").max(shard_list.len());
        let replicas = n("replicasCount").max(replica_list.len());
        let pod = pod_template.map_or_else(String::new, |p| {
            format!("/spec/templates/podTemplates/{p}/spec")
        });
        for s in 0..shards {
            let shard = shard_list.get(s);
            let sname = shard
                .and_then(|x| x.get("name"))
                .and_then(Value::as_str)
                .map_or_else(|| s.to_string(), |n| ch_part(n, 15));
            let per_shard = match shard {
                Some(x) if x.get("replicasCount").is_some() => {
                    count(Some(x), "replicasCount") as usize
                }
                _ => {
                    let listed = items(shard.and_then(|x| x.get("replicas"))).count();
                    if listed > 0 { listed } else { replicas }
                }
            };
            for r in 0..per_shard {
                let rname = replica_list
                    .get(r)
                    .and_then(|x| x.get("name"))
                    .and_then(Value::as_str)
                    .map_or_else(|| r.to_string(), |n| ch_part(n, 15));
                let host = ch_part(&format!("{sname}-{rname}"), 15);
                let sts = format!("chi-{chi}-{cname}-{host}");
                for k in &used {
                    let vname = vcts[*k].get("name").and_then(Value::as_str).unwrap_or("");
                    out.push(OperatorClaim {
                        name: format!("{vname}-{sts}-0"),
                        spec_pointer: format!("/spec/templates/volumeClaimTemplates/{k}/spec"),
                        statefulset: sts.clone(),
                        pod: pod.clone(),
                        ordinal: 0,
                        volume: vname.to_string(),
                        sub_path: None,
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(doc: Value) -> Vec<String> {
        let id = Identity::of(&doc);
        let r = resource(&id).expect("a row");
        let count = |s: Option<&Value>, f: &str| {
            s.and_then(|s| s.get(f))
                .and_then(Value::as_u64)
                .unwrap_or(1)
        };
        claims(r, &id, &doc, &count)
            .into_iter()
            .map(|c| c.name)
            .collect()
    }

    #[test]
    fn vmsingle_storage_is_one_claim_named_like_the_deployment() {
        let d = json!({"apiVersion": "operator.victoriametrics.com/v1beta1", "kind": "VMSingle",
            "metadata": {"name": "vms"}, "spec": {"storage": {"resources": {"requests": {"storage": "10Gi"}}}}});
        assert_eq!(names(d), ["vmsingle-vms"]);
    }

    #[test]
    fn vmcluster_components_name_their_claims_apart() {
        let d = json!({"apiVersion": "operator.victoriametrics.com/v1beta1", "kind": "VMCluster",
            "metadata": {"name": "c"}, "spec": {
                "vmstorage": {"replicaCount": 2, "storage": {"volumeClaimTemplate": {"spec": {}}}},
                "vmselect": {"replicaCount": 1, "storage": {"volumeClaimTemplate": {"metadata": {"name": "cache"}, "spec": {}}}},
                "vminsert": {"replicaCount": 3}}});
        assert_eq!(
            names(d),
            [
                "vmstorage-db-vmstorage-c-0",
                "vmstorage-db-vmstorage-c-1",
                "cache-vmselect-c-0"
            ]
        );
    }

    #[test]
    fn vmagent_queue_claims_only_in_stateful_mode_and_per_shard() {
        let base = json!({"apiVersion": "operator.victoriametrics.com/v1beta1", "kind": "VMAgent",
            "metadata": {"name": "a"}, "spec": {"replicaCount": 1,
                "statefulStorage": {"volumeClaimTemplate": {"metadata": {"name": "ignored"}, "spec": {}}}}});
        assert!(names(base.clone()).is_empty());
        let mut stateful = base;
        stateful["spec"]["statefulMode"] = json!(true);
        assert_eq!(
            names(stateful.clone()),
            ["persistent-queue-data-vmagent-a-0"]
        );
        stateful["spec"]["shardCount"] = json!(2);
        assert_eq!(
            names(stateful),
            [
                "persistent-queue-data-vmagent-a-0-0",
                "persistent-queue-data-vmagent-a-1-0"
            ]
        );
    }

    #[test]
    fn clickhouse_hosts_name_their_statefulsets_and_claims() {
        let d = json!({"apiVersion": "clickhouse.altinity.com/v1", "kind": "ClickHouseInstallation",
            "metadata": {"name": "signoz-clickhouse"}, "spec": {
                "defaults": {"templates": {"dataVolumeClaimTemplate": "data-volumeclaim-template"}},
                "configuration": {"clusters": [{"name": "cluster", "templates": {"podTemplate": "pod-template"},
                    "layout": {"shardsCount": 2, "replicasCount": 1}}]},
                "templates": {
                    "podTemplates": [{"name": "pod-template", "spec": {"containers": [{"name": "clickhouse"}]}}],
                    "volumeClaimTemplates": [{"name": "data-volumeclaim-template", "spec": {}}]}}});
        assert_eq!(
            names(d),
            [
                "data-volumeclaim-template-chi-signoz-clickhouse-cluster-0-0-0",
                "data-volumeclaim-template-chi-signoz-clickhouse-cluster-1-0-0"
            ]
        );
    }

    #[test]
    fn clickhouse_name_parts_are_cut_and_trimmed() {
        assert_eq!(ch_part("my-very-long-cluster", 15), "my-very-long-cl");
        assert_eq!(ch_part("s-", 15), "s");
    }

    #[test]
    fn a_template_nothing_uses_makes_no_claim() {
        let d = json!({"apiVersion": "clickhouse.altinity.com/v1", "kind": "ClickHouseInstallation",
            "metadata": {"name": "x"}, "spec": {"templates": {
                "volumeClaimTemplates": [{"name": "unused", "spec": {}}]}}});
        assert!(names(d).is_empty());
    }
}
