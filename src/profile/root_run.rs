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

use super::{Ctx, Docs, Fix};
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

fn obj(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    v.as_object_mut().expect("just made an object")
}

/// Pod-level securityContext for root.
fn root_pod(pod: &mut Map<String, Value>) {
    let sc = obj(pod.entry("securityContext").or_insert(Value::Null));
    for k in ["runAsUser", "runAsGroup", "fsGroup"] {
        sc.insert(k.into(), json!(0));
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
            if sc.get(k).is_some_and(|v| v != &json!(0)) {
                sc.insert(k.into(), json!(0));
            }
        }
    }
    if caps.is_empty() {
        return;
    }
    let drops_all = c
        .get("securityContext")
        .and_then(|s| s.at("/capabilities/drop"))
        .and_then(Value::as_array)
        .is_some_and(|d| {
            d.iter()
                .any(|x| x.as_str().is_some_and(|s| s.eq_ignore_ascii_case("ALL")))
        });
    if !(drops_all || force_caps) {
        return;
    }
    let sc = obj(c.entry("securityContext").or_insert(Value::Null));
    let capabilities = obj(sc.entry("capabilities").or_insert(Value::Null));
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

impl Fix for RootRun {
    fn raises_privilege(&self) -> bool {
        true
    }

    fn apply(&self, docs: &mut Docs, ctx: &mut Ctx) -> Result<(), String> {
        let caps: Vec<String> = ctx
            .params
            .list("addCapabilities")
            .into_iter()
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if let Some(bad) = caps
            .iter()
            .find(|c| !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
        {
            return Err(format!(
                "root-run.addCapabilities: {bad:?} is not a capability name"
            ));
        }
        let levels = docs.pod_security_levels();
        for i in docs.pods(ctx.sel) {
            let id = docs.get(i).id.clone();
            let cr = CrKind::of(&id);
            let sel = ctx.sel;
            let value = docs.edit(i);
            let Some(pod) = workload::pod_spec_mut(&id, value) else {
                continue;
            };
            root_pod(pod);
            for list in ["initContainers", "containers"] {
                if let Some(cs) = pod.get_mut(list).and_then(Value::as_array_mut) {
                    for c in cs.iter_mut() {
                        let name = c
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        if sel.container(&name) {
                            // CR patch entries: we cannot see what the operator drops, so add.
                            root_container(c, &caps, cr.is_some());
                        }
                    }
                }
            }
            if let (Some(kind), false) = (cr, caps.is_empty()) {
                ctx.report.note(
                    ctx.profile,
                    Some(id.to_string()),
                    format!(
                        "addCapabilities reaches only the spec.containers entries written in the CR; \
                         to give them to the operator's {} containers add entries with those names",
                        kind.generated_containers().join("/")
                    ),
                );
            }
            if let Some((_, level)) = levels
                .iter()
                .find(|(ns, _)| Some(ns) == id.namespace.as_ref())
            {
                let extra: Vec<&String> = caps
                    .iter()
                    .filter(|c| !BASELINE_CAPS.contains(&c.as_str()))
                    .collect();
                if level == "restricted" {
                    ctx.report.warn_code(
                        Code::PodSecurity,
                        ctx.profile,
                        Some(id.to_string()),
                        "its namespace enforces Pod Security \"restricted\", which forbids running as root: \
                         Kubernetes will reject these pods; relabel the namespace to baseline or use shared-uid/init-chown instead",
                    );
                } else if !extra.is_empty() {
                    ctx.report.warn_code(
                        Code::PodSecurity,
                        ctx.profile,
                        Some(id.to_string()),
                        format!("its namespace enforces Pod Security \"baseline\", which forbids adding {extra:?}"),
                    );
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::{Plan, process};
    use crate::profile::{Params, ProfileDef};
    use crate::yaml::parse_value;
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    fn plan(params: &[(&str, &str)]) -> Plan {
        let def = ProfileDef::builtin("root-run").unwrap();
        let set: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let params = Params::new(&def, &set).unwrap();
        Plan {
            profiles: vec![(def, params)],
            ..Plan::default()
        }
    }

    fn docs(out: &[u8]) -> Vec<Value> {
        let text = std::str::from_utf8(out).unwrap();
        crate::stream::split(out)
            .into_iter()
            .filter_map(|s| parse_value(&text[s.span]).ok().filter(|v| !v.is_null()))
            .collect()
    }

    const KPS_PROMETHEUS: &str = "---
# Source: kps/templates/prometheus.yaml
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: kps-prometheus
  namespace: monitoring
spec:
  replicas: 1
  securityContext:
    fsGroup: 2000
    runAsGroup: 2000
    runAsNonRoot: true
    runAsUser: 1000
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: config-reloader
      securityContext:
        runAsNonRoot: true
        runAsUser: 65534
        capabilities:
          drop: [ALL]
";

    #[test]
    fn config_reloader_runs_as_root_in_prometheus_cr() {
        let out = process(KPS_PROMETHEUS.as_bytes(), &plan(&[])).unwrap();
        let d = &docs(&out.stream)[0];
        assert_eq!(
            d["spec"]["securityContext"],
            json!({"fsGroup": 0, "runAsGroup": 0, "runAsNonRoot": false, "runAsUser": 0,
                   "seccompProfile": {"type": "RuntimeDefault"}})
        );
        let sc = &d["spec"]["containers"][0]["securityContext"];
        assert_eq!(
            (sc["runAsNonRoot"].clone(), sc["runAsUser"].clone()),
            (json!(false), json!(0))
        );
        let text = String::from_utf8(out.stream).unwrap();
        assert!(text.starts_with("---\n# Source: kps/templates/prometheus.yaml\n"));
        assert!(
            text.contains("drop: [ALL]"),
            "untouched flow list kept as written"
        );
        assert_eq!(
            out.report.more_privileged(),
            ["Prometheus monitoring/kps-prometheus"]
        );
        assert!(out.report.text().contains(
            "root-run  Prometheus monitoring/kps-prometheus  spec.securityContext.fsGroup 2000 -> 0, runAsGroup 2000 -> 0, runAsNonRoot true -> false, runAsUser 1000 -> 0"
        ));
    }

    #[test]
    fn pod_without_security_context_gets_root_and_seccomp() {
        let input = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: x\n";
        let out = process(input.as_bytes(), &plan(&[])).unwrap();
        let d = &docs(&out.stream)[0];
        assert_eq!(d["spec"]["securityContext"]["runAsUser"], 0);
        assert_eq!(
            d["spec"]["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
    }

    #[test]
    fn add_capabilities_reach_containers_that_drop_all() {
        let input = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        securityContext:\n          capabilities:\n            drop:\n            - ALL\n      - name: b\n";
        let out = process(
            input.as_bytes(),
            &plan(&[("addCapabilities", "chown,DAC_OVERRIDE")]),
        )
        .unwrap();
        let d = &docs(&out.stream)[0];
        let cs = &d["spec"]["template"]["spec"]["containers"];
        assert_eq!(
            cs[0]["securityContext"]["capabilities"]["add"],
            json!(["CHOWN", "DAC_OVERRIDE"])
        );
        assert!(
            cs[1].get("securityContext").is_none(),
            "root keeps the default capability set"
        );
        let again = process(
            &out.stream,
            &plan(&[("addCapabilities", "chown,DAC_OVERRIDE")]),
        )
        .unwrap();
        assert_eq!(again.stream, out.stream);
        assert!(process(input.as_bytes(), &plan(&[("addCapabilities", "CHOWN;rm")])).is_err());
    }

    #[test]
    fn restricted_namespace_warns_that_pods_will_be_rejected() {
        let input = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n  labels:\n    pod-security.kubernetes.io/enforce: restricted\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: monitoring\nspec:\n  containers: []\n";
        let out = process(input.as_bytes(), &plan(&[])).unwrap();
        assert_eq!(out.report.warnings(), 1, "{}", out.report.text());
        assert!(
            out.report
                .text()
                .contains("Pod monitoring/p: its namespace enforces Pod Security \"restricted\"")
        );
        let other = input.replace("namespace: monitoring\nspec", "namespace: other\nspec");
        assert_eq!(
            process(other.as_bytes(), &plan(&[]))
                .unwrap()
                .report
                .warnings(),
            0
        );
    }

    #[test]
    fn only_selector_limits_root_run() {
        let input = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec: {}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: b\nspec: {}\n";
        let mut p = plan(&[]);
        p.only = vec![crate::select::Selector::parse("name=b", &["root-run"]).unwrap()];
        let out = process(input.as_bytes(), &p).unwrap();
        let d = docs(&out.stream);
        assert!(d[0]["spec"].get("securityContext").is_none());
        assert_eq!(d[1]["spec"]["securityContext"]["runAsUser"], 0);
        assert!(
            String::from_utf8(out.stream)
                .unwrap()
                .starts_with("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec: {}\n---")
        );
    }
}
