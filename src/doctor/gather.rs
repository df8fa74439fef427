//! Reading the facts doctor judges, through a kubectl given as a function (the real one in
//! `kube::Kubectl`, a stand-in in tests). Only `get` and `logs`; the pods are required, every
//! other read may fail (forbidden, an API the cluster lacks) and is then named in the report.

use super::{Facts, decode_release, failing, newest_revision, wanted_logs};
use crate::kube::Failure;
use serde_json::Value;

/// A kubectl: arguments in, stdout out.
pub type Kubectl<'a> = &'a dyn Fn(&[&str]) -> Result<String, Failure>;

/// What to read.
#[derive(Debug, Default, Clone)]
pub struct Ask {
    pub namespace: Option<String>,
    pub release: Option<String>,
    /// Helm's storage driver (`HELM_DRIVER`): `configmap` keeps releases in ConfigMaps.
    pub driver: Option<String>,
}

fn items(text: &str, what: &str) -> Result<Vec<Value>, Failure> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Failure::Other(format!("{what}: kubectl printed no JSON: {e}")))?;
    Ok(v.get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

/// Read everything doctor needs. `Err` only when the pods cannot be read: nothing can be said
/// without them.
pub fn gather(kubectl: Kubectl, ask: &Ask) -> Result<Facts, Failure> {
    let mut facts = Facts {
        namespace: ask.namespace.clone(),
        release_name: ask.release.clone(),
        ..Facts::default()
    };
    let ns_args = |ns: &Option<String>| -> Vec<String> {
        ns.iter()
            .flat_map(|n| ["-n".to_string(), n.clone()])
            .collect()
    };
    let get = |what: &str, args: &[String]| -> Result<Vec<Value>, Failure> {
        let mut a: Vec<&str> = vec!["get", what, "-o", "json"];
        a.extend(args.iter().map(String::as_str));
        items(&kubectl(&a)?, what)
    };
    let mut unread = Vec::new();
    fn optional(
        unread: &mut Vec<String>,
        what: &str,
        r: Result<Vec<Value>, Failure>,
    ) -> Vec<Value> {
        r.unwrap_or_else(|e| {
            unread.push(format!("{what} ({e})"));
            Vec::new()
        })
    }
    // The release first: its namespace is the one to read when none was given.
    if let Some(release) = &ask.release {
        let kind = if ask.driver.as_deref() == Some("configmap") {
            "configmaps"
        } else {
            "secrets"
        };
        let mut args = ns_args(&ask.namespace);
        args.extend(["-l".into(), format!("owner=helm,name={release}")]);
        let stored = optional(
            &mut unread,
            &format!("the release's {kind}"),
            get(kind, &args),
        );
        match newest_revision(&stored).map(decode_release) {
            Some(Ok(r)) => {
                if facts.namespace.is_none() && !r.namespace.is_empty() {
                    facts.namespace = Some(r.namespace.clone());
                }
                facts.release = Some(r);
            }
            Some(Err(e)) => unread.push(format!("release {release}: {e}")),
            None if stored.is_empty() => unread.push(format!(
                "release {release}: Helm keeps no {kind} for it in {} (helm list -A shows where it is)",
                ask.namespace.as_deref().unwrap_or("the current namespace")
            )),
            None => {}
        }
    }
    let ns = ns_args(&facts.namespace);
    facts.pods = get("pods", &ns)?;
    if facts.namespace.is_none() {
        facts.namespace = facts
            .pods
            .iter()
            .find_map(|p| p.pointer("/metadata/namespace").and_then(Value::as_str))
            .map(str::to_string);
    }
    facts.events = optional(&mut unread, "events", get("events", &ns));
    facts.owners = optional(
        &mut unread,
        "the pods' owners",
        get(
            "replicasets.apps,statefulsets.apps,daemonsets.apps,jobs.batch",
            &ns,
        ),
    );
    for pod in facts.pods.iter().filter(|p| failing(p)) {
        let name = pod
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        for c in wanted_logs(pod) {
            let mut a = vec!["logs", name, "-c", &c, "--previous", "--tail=20"];
            a.extend(ns.iter().map(String::as_str));
            match kubectl(&a) {
                Ok(log) => {
                    facts.logs.insert((name.to_string(), c.clone()), log);
                }
                // No previous container yet (it never restarted): nothing to read.
                Err(Failure::NotFound(_) | Failure::Other(_)) => {}
                Err(e) => unread.push(format!("logs of {name} -c {c} ({e})")),
            }
        }
    }
    facts.nodes = optional(&mut unread, "nodes", get("nodes", &[]));
    facts.storage_classes = optional(
        &mut unread,
        "storageclasses",
        get("storageclasses.storage.k8s.io", &[]),
    );
    if let Some(n) = &facts.namespace {
        match kubectl(&["get", "namespace", n, "-o", "json"]) {
            Ok(t) => facts.namespace_object = serde_json::from_str(&t).ok(),
            Err(e) => unread.push(format!("namespace {n} ({e})")),
        }
    }
    // The SCC API exists only on OpenShift: an answer says OpenShift, NotFound says not.
    facts.openshift = match kubectl(&["get", "--raw", "/apis/security.openshift.io/v1"]) {
        Ok(_) => Some(true),
        Err(Failure::NotFound(_)) => Some(false),
        Err(e) => {
            unread.push(format!("the OpenShift API ({e})"));
            None
        }
    };
    facts.pvs = optional(
        &mut unread,
        "persistentvolumes",
        get("persistentvolumes", &[]),
    );
    facts.unread = unread;
    Ok(facts)
}

/// The cluster-wide facts `--assume cluster` settles conditions with: nodes, StorageClasses and
/// whether the OpenShift SCC API answers. Each read may fail; what failed is in `unread`.
pub fn cluster_facts(kubectl: Kubectl) -> Facts {
    let mut facts = Facts::default();
    let mut unread = Vec::new();
    let get = |what: &str| -> Result<Vec<Value>, Failure> {
        items(&kubectl(&["get", what, "-o", "json"])?, what)
    };
    match get("nodes") {
        Ok(n) => facts.nodes = n,
        Err(e) => unread.push(format!("nodes ({e})")),
    }
    match get("storageclasses.storage.k8s.io") {
        Ok(c) => facts.storage_classes = c,
        Err(e) => unread.push(format!("storageclasses ({e})")),
    }
    facts.openshift = match kubectl(&["get", "--raw", "/apis/security.openshift.io/v1"]) {
        Ok(_) => Some(true),
        Err(Failure::NotFound(_)) => Some(false),
        Err(e) => {
            unread.push(format!("the OpenShift API ({e})"));
            None
        }
    };
    facts.unread = unread;
    facts
}
