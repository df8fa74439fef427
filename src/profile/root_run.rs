//! `root-run`: run the targeted pods as root.
//!
//! The blunt fix for seed 000 (a config-reloader running as `nobody` cannot write its volume):
//! uid/gid/fsGroup 0 at pod level, and every container-level setting that contradicts it (a
//! `runAsNonRoot: true`, a non-zero `runAsUser`/`runAsGroup`) set to match, because the kubelet
//! refuses to start a container whose `runAsNonRoot: true` meets uid 0. `seccompProfile` is kept
//! (or set to RuntimeDefault): root is not a reason to drop the syscall filter. Every object
//! touched is reported as more privileged, and pods in a Namespace of the stream that enforces
//! a Pod Security level they now violate get a warning, since Kubernetes would reject them after
//! a "successful" install.
//!
//! Default targets: root matters only where something is written, so without a selector for
//! root-run only pod specs that mount a writable volume ([`writes_volume`]) and the
//! prometheus-operator CRs are changed. Making the node-exporter DaemonSet (hostPID,
//! hostNetwork), kube-state-metrics or the operator root fixes nothing and widens what a
//! compromise of them reaches; they are counted in one note instead. An `--only` (or a profile
//! file's `targets:`) selects exactly what it names, volumes or not.
//!
//! Capabilities in CRs: the operator generates its containers with `capabilities.drop: [ALL]`
//! (prometheus-operator v0.93.0 `pkg/operator/config_reloader.go` `CreateConfigReloader` for
//! `init-config-reloader`/`config-reloader`; `pkg/prometheus/server/statefulset.go` for
//! `prometheus` and `thanos-sidecar`; `pkg/alertmanager/statefulset.go`, `pkg/thanos/statefulset.go`
//! for `alertmanager`, `thanos-ruler`; the same since at least v0.60), so uid 0 there has no
//! CAP_CHOWN/CAP_DAC_OVERRIDE/CAP_FOWNER and cannot write files another user owns. The operator
//! merges `spec.containers`/`spec.initContainers` into its generated containers by name with a
//! Kubernetes strategic merge patch (`pkg/k8s/merge.go` `MergePatchContainers`); the CRD
//! requires only `name` in an entry, `securityContext` and `capabilities` are structs that merge
//! field by field, and `capabilities.add` is `+listType=atomic` (k8s.io/api v0.36.3
//! `core/v1/types.go`), so an entry `{name, securityContext: {capabilities: {add: [...]}}}` sets
//! `add` and keeps the operator's `drop: [ALL]`, `readOnlyRootFilesystem` and
//! `allowPrivilegeEscalation: false`. With `addCapabilities` such entries are added (or an
//! entry the chart wrote is extended); without it each CR gets a note saying why root alone
//! may not be enough there.

use super::driver::{Findings, Planning, PodFix};
use super::{Ctx, Docs, Fix, Params, UsageError};
use crate::report::Code;
use crate::workload::At;
use crate::workload::{self, CrKind};
use serde_json::{Map, Value, json};

pub struct RootRun;

/// Capabilities Pod Security "baseline" allows to be added.
const BASELINE_CAPS: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Pod-level securityContext for root.
fn root_pod(pod: &mut Map<String, Value>) {
    let sc = workload::object_entry(pod, "securityContext");
    for k in ["runAsUser", "runAsGroup", "fsGroup"] {
        // `0.0` is already 0 to Kubernetes (see `workload::whole_number`): no edit.
        if sc.get(k).and_then(workload::whole_number) != Some(0) {
            sc.insert(k.into(), json!(0));
        }
    }
    sc.insert("runAsNonRoot".into(), json!(false));
    if !sc.get("seccompProfile").is_some_and(Value::is_object) {
        sc.insert("seccompProfile".into(), json!({"type": "RuntimeDefault"}));
    }
}

/// Container-level contradictions, and added capabilities.
fn root_container(c: &mut Value, caps: &[String], force_caps: bool) {
    let Some(c) = c.as_object_mut() else { return };
    if let Some(sc) = c.get_mut("securityContext").and_then(Value::as_object_mut) {
        if sc.get("runAsNonRoot") == Some(&json!(true)) {
            sc.insert("runAsNonRoot".into(), json!(false));
        }
        for k in ["runAsUser", "runAsGroup"] {
            if sc
                .get(k)
                .is_some_and(|v| workload::whole_number(v) != Some(0))
            {
                sc.insert(k.into(), json!(0));
            }
        }
    }
    if caps.is_empty() {
        return;
    }
    let drops_all = workload::items(
        c.get("securityContext")
            .and_then(|s| s.at("/capabilities/drop")),
    )
    .any(|x| x.as_str().is_some_and(|s| s.eq_ignore_ascii_case("ALL")));
    if !(drops_all || force_caps) {
        return;
    }
    let sc = workload::object_entry(c, "securityContext");
    let capabilities = workload::object_entry(sc, "capabilities");
    let add = capabilities.entry("add").or_insert(json!([]));
    if !add.is_array() {
        *add = json!([]);
    }
    let list = add.as_array_mut().expect("array");
    for cap in caps {
        if !list.iter().any(|x| x.as_str() == Some(cap)) {
            list.push(json!(cap));
        }
    }
}

// Volume sources a pod can write through a mount; a `persistentVolumeClaim` or `nfs` source
// with `readOnly: true` is read-only too.
use workload::WRITABLE_SOURCES;

/// Names of the volumes of a pod spec that can be written: its `volumes` with a writable source
/// and, for a StatefulSet, its `volumeClaimTemplates` (the controller mounts each template's
/// claim as the volume of that name).
fn writable_volumes<'a>(doc: &'a Value, pod: &'a Map<String, Value>) -> Vec<&'a str> {
    let mut out: Vec<&str> = workload::items(pod.get("volumes"))
        .filter(|v| {
            WRITABLE_SOURCES.iter().any(|src| {
                v.get(*src)
                    .is_some_and(|s| !s.is_null() && !workload::read_only(s))
            })
        })
        .filter_map(workload::name)
        .collect();
    if doc.get("kind").and_then(Value::as_str) == Some("StatefulSet") {
        out.extend(workload::claim_template_names(doc));
    }
    out
}

/// Does any container or init container mount a writable volume without `readOnly: true`?
/// A subPath mount writes the same volume, so it counts.
fn writes_volume(doc: &Value, pod: &Map<String, Value>) -> bool {
    let writable = writable_volumes(doc, pod);
    if writable.is_empty() {
        return false;
    }
    workload::containers(pod).any(|c| {
        workload::mounts(c).any(|m| {
            !workload::read_only(m) && workload::name(m).is_some_and(|n| writable.contains(&n))
        })
    })
}

/// The operator-generated containers of one CR that a `spec.containers` / `spec.initContainers`
/// entry of that name patches, as (list, names). `thanos-sidecar` exists only when the
/// Prometheus has `spec.thanos` (v0.93.0 `pkg/prometheus/server/statefulset.go`
/// `createThanosContainer` returns nil otherwise): an entry of that name without it would be
/// added as a container of its own, with no image. ThanosRuler's `spec.initContainers` are
/// copied as they are (`pkg/thanos/statefulset.go`), so it gets no init entry; its
/// `config-reloader` is always there, since the rule syncer makes at least one rule ConfigMap
/// (`pkg/operator/rules.go` `makeConfigMapsFromRules` starts with one bucket).
fn generated(kind: CrKind, doc: &Value) -> [(&'static str, Vec<&'static str>); 2] {
    let thanos = doc.at("/spec/thanos").is_some_and(|t| !t.is_null());
    let containers = kind
        .generated_containers()
        .iter()
        .copied()
        .filter(|n| *n != "thanos-sidecar" || (kind == CrKind::Prometheus && thanos))
        .collect();
    [
        ("initContainers", kind.generated_init_containers().to_vec()),
        ("containers", containers),
    ]
}

/// A patch entry for an operator-generated container that only adds capabilities: a
/// `Container` with nothing but its name and `securityContext.capabilities.add`. Written out
/// rather than serialized from the Kubernetes types, which cannot fail but has an error path
/// all the same; a test holds it to the types' field names and order.
fn caps_entry(name: &str, caps: &[String]) -> Value {
    json!({"name": name, "securityContext": {"capabilities": {"add": caps}}})
}

/// How the summary names a few objects: the first five, then a count.
fn some_of(objects: &[String]) -> String {
    let mut s = objects
        .iter()
        .take(5)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if objects.len() > 5 {
        s.push_str(&format!(" and {} more", objects.len() - 5));
    }
    s
}

impl Fix for RootRun {
    fn raises_privilege(&self) -> bool {
        true
    }

    /// The capabilities to add (`addCapabilities`), upper-cased.
    type Settings = Vec<String>;

    fn configure(&self, params: &Params) -> Result<Vec<String>, UsageError> {
        let caps: Vec<String> = params
            .list("addCapabilities")
            .into_iter()
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if let Some(bad) = caps
            .iter()
            .find(|c| !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
        {
            return Err(
                format!("root-run.addCapabilities: {bad:?} is not a capability name").into(),
            );
        }
        Ok(caps)
    }
}

/// What root-run reads from the stream before the pods, and gathers over them.
pub struct Survey {
    /// The Pod Security levels the stream's Namespaces enforce, as (namespace, level).
    levels: Vec<(String, String)>,
    /// Pod specs the default targets leave alone.
    left_alone: Vec<String>,
    /// One (kind, name, hook) for the hint that names how to change one anyway.
    example: Option<(String, String, bool)>,
}

impl PodFix for RootRun {
    type Survey = Survey;

    fn survey(&self, _: &Vec<String>, docs: &Docs, _: &mut Ctx) -> Survey {
        Survey {
            levels: docs.pod_security_levels(),
            left_alone: Vec::new(),
            example: None,
        }
    }

    fn plan(&self, at: Planning<'_, Self>) -> Result<Findings, UsageError> {
        let Planning {
            settings: caps,
            survey,
            view,
            sel,
            profile,
            ..
        } = at;
        let (id, cr, doc) = (view.id, view.cr, view.doc);
        let mut found = Findings::for_pod(profile, view);
        // An operator's generated main container writes the storage its claims become.
        let operator_writes = workload::operator_part(id, doc, view.pointer)
            .is_some_and(|(_, volumes)| !volumes.is_empty());
        if cr.is_none() && !sel.explicit() && !operator_writes && !writes_volume(doc, view.pod) {
            survey.left_alone.push(view.object());
            // The hint names a release workload rather than a hook when there is one.
            if survey
                .example
                .as_ref()
                .is_none_or(|(_, _, hook)| *hook && !id.hook)
            {
                survey.example = Some((id.kind.clone(), id.name.clone(), id.hook));
            }
            return Ok(found);
        }
        // The chart's uid (`before_uid`) reads as unset when Kubernetes would refuse it.
        workload::warn_bad_numbers(&mut found.report, id, doc);
        let generated = cr.map(|kind| generated(kind, doc));
        // The uid the chart ran the CR's pods as: files it wrote before belong to it.
        let before_uid =
            workload::sc_int(view.pod.get("securityContext"), "runAsUser").filter(|u| *u != 0);
        let mut value = Findings::start(view);
        let Some(pod) = view.pod_mut(&mut value) else {
            return Ok(found);
        };
        root_pod(pod);
        for list in ["initContainers", "containers"] {
            let names: &[&str] = generated
                .as_ref()
                .and_then(|g| g.iter().find(|(l, _)| *l == list))
                .map_or(&[], |(_, n)| n.as_slice());
            for c in workload::items_mut(pod.get_mut(list)) {
                let name = workload::container_name(c).to_string();
                if sel.container(&name) {
                    // A CR entry named like a generated container is a patch: the
                    // operator's drop [ALL] is not in it, so add without seeing one.
                    root_container(c, caps, names.contains(&name.as_str()));
                }
            }
            if caps.is_empty() {
                continue;
            }
            for name in names.iter().filter(|n| sel.container(n)) {
                let Some(cs) = workload::list_entry(pod, list) else {
                    continue;
                };
                if !cs.iter().any(|c| workload::container_name(c) == *name) {
                    cs.push(caps_entry(name, caps));
                }
            }
        }
        if let (Some(generated), true) = (&generated, caps.is_empty()) {
            let names: Vec<&str> = generated
                .iter()
                .flat_map(|(_, n)| n.iter().copied())
                .collect();
            found.note_code(Code::LeftAlone, format!(
                    "the operator runs its {} containers with capabilities drop [ALL], so as root they still \
                     cannot write files another user owns{}; \
                     --set root-run.addCapabilities=CHOWN,DAC_OVERRIDE,FOWNER gives those containers the \
                     capabilities. Volumes the pod creates afresh (config_out and other emptyDirs) are root's, \
                     so they need none",
                    names.join("/"),
                    before_uid.map_or(String::new(), |u| format!(" (those written before as uid {u})")),
                ),
            );
        }
        if let Some((_, level)) = survey
            .levels
            .iter()
            .find(|(ns, _)| Some(ns) == id.namespace.as_ref())
        {
            let extra: Vec<&String> = caps
                .iter()
                .filter(|c| !BASELINE_CAPS.contains(&c.as_str()))
                .collect();
            if level == "restricted" {
                found.warn_code(Code::PodSecurity, "its namespace enforces Pod Security \"restricted\", which forbids running as root: \
                     Kubernetes will reject these pods; relabel the namespace to baseline or use shared-uid/init-chown instead",
                );
            } else if !extra.is_empty() {
                found.warn_code(Code::PodSecurity, format!("its namespace enforces Pod Security \"baseline\", which forbids adding {extra:?}"),
                );
            }
        }
        found.set_fixed(view, value);
        Ok(found)
    }

    fn finish(
        &self,
        _: &Vec<String>,
        survey: Survey,
        _: &mut Docs,
        ctx: &mut Ctx,
    ) -> Result<(), UsageError> {
        if let Some((kind, name, _)) = survey.example {
            let n = survey.left_alone.len();
            ctx.report.note_code(
                Code::LeftAlone,
                ctx.profile,
                None,
                format!(
                    "left {n} workload{} as the chart made {}, because {} no volume ({}); \
                     to make one root anyway, list every workload root-run should change with --only, \
                     e.g. --only {} (then root-run changes exactly those)",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "it" } else { "them" },
                    if n == 1 { "it writes" } else { "they write" },
                    some_of(&survey.left_alone),
                    crate::shell::quote(&format!("root-run:kind={kind},name={name}")),
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_entry_is_what_the_kubernetes_types_serialize() {
        use k8s_openapi::api::core::v1::{Capabilities, Container, SecurityContext};
        let caps = vec!["CHOWN".to_string(), "DAC_OVERRIDE".to_string()];
        let typed = Container {
            name: "config-reloader".into(),
            security_context: Some(SecurityContext {
                capabilities: Some(Capabilities {
                    add: Some(caps.clone()),
                    ..Capabilities::default()
                }),
                ..SecurityContext::default()
            }),
            ..Container::default()
        };
        // Compared as text: key order is part of the output.
        assert_eq!(
            caps_entry("config-reloader", &caps).to_string(),
            serde_json::to_value(&typed).unwrap().to_string()
        );
    }
}
