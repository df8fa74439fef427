//! Helpers shared by the profile test modules: build a plan from profile names and `--set`
//! pairs, run the core on a stream, and read the output back as values.
#![allow(dead_code)]

use helm_fixup::profile::{Params, ProfileDef};
use helm_fixup::report::{Code, Level};
use helm_fixup::{Error, Output, Plan, process, stream, yaml};
use serde_json::Value;
use std::collections::BTreeMap;

/// A plan running the built-in `profiles`, each with its `PROFILE.PARAM=VALUE` settings.
pub fn plan(profiles: &[&str], set: &[(&str, &str)]) -> Plan {
    try_plan(profiles, set).unwrap()
}

/// [`plan`], or the usage error its parameters give (checked before any input, as the binary
/// checks them when it reads the command line).
pub fn try_plan(profiles: &[&str], set: &[(&str, &str)]) -> Result<Plan, String> {
    let profiles = profiles
        .iter()
        .map(|name| {
            let def = ProfileDef::builtin(name).unwrap();
            let mine: BTreeMap<String, String> = set
                .iter()
                .filter_map(|(k, v)| {
                    let (p, param) = k.split_once('.')?;
                    (p == *name).then(|| (param.to_string(), v.to_string()))
                })
                .collect();
            let params = Params::new(&def, &mine).map_err(|e| e.0)?;
            Ok((def, params))
        })
        .collect::<Result<_, String>>()?;
    Ok(Plan {
        profiles,
        ..Plan::default()
    })
}

pub fn run(input: &str, profiles: &[&str], set: &[(&str, &str)]) -> Output {
    process(input.as_bytes(), &plan(profiles, set)).unwrap()
}

/// The error of a run: a usage error from the parameters, or the engine's.
pub fn run_err(input: &str, profiles: &[&str], set: &[(&str, &str)]) -> Error {
    match try_plan(profiles, set) {
        Ok(plan) => process(input.as_bytes(), &plan).unwrap_err(),
        Err(e) => Error::Usage(e),
    }
}

/// The documents of an output stream, as values (empty documents left out).
pub fn docs(out: &[u8]) -> Vec<Value> {
    stream::split(out)
        .into_iter()
        .filter_map(|s| {
            let text = std::str::from_utf8(&out[s.span]).unwrap();
            match yaml::parse_value(text).unwrap() {
                Value::Null => None,
                v => Some(v),
            }
        })
        .collect()
}

/// The one document of this kind and name.
pub fn doc<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    let found: Vec<&Value> = docs
        .iter()
        .filter(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .collect();
    assert_eq!(found.len(), 1, "{kind} {name}");
    found[0]
}

/// The pod spec of a workload or an operator resource.
pub fn pod(d: &Value) -> &Value {
    match d["kind"].as_str() {
        Some("Pod" | "Prometheus" | "PrometheusAgent" | "Alertmanager" | "ThanosRuler") => {
            &d["spec"]
        }
        Some("CronJob") => &d["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        _ => &d["spec"]["template"]["spec"],
    }
}

/// A container or init container of a pod spec by name.
pub fn container<'a>(pod: &'a Value, list: &str, name: &str) -> &'a Value {
    pod[list]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no {list} {name} in {pod}"))
}

/// Names of the init containers of a pod spec, in order.
pub fn init_names(pod: &Value) -> Vec<&str> {
    pod["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect()
}

/// Messages of one level about one object (`Kind namespace/name`).
/// The messages of one level about one object, without the `more-privileged` notes every such
/// object gets (tests of that note read `report.messages` directly).
pub fn messages(out: &Output, level: Level, object: &str) -> Vec<String> {
    out.report
        .messages
        .iter()
        .filter(|m| m.level == level && m.object.as_deref() == Some(object))
        .filter(|m| !(m.code == Code::MorePrivileged && m.level == Level::Note))
        .map(|m| m.message.clone())
        .collect()
}

/// Running the output through the same plan again must return it byte for byte.
pub fn assert_idempotent(out: &Output, profiles: &[&str], set: &[(&str, &str)]) {
    let again = process(&out.stream, &plan(profiles, set)).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&again.stream),
        String::from_utf8_lossy(&out.stream),
        "second run changed the stream"
    );
    assert!(
        again.report.changed.is_empty(),
        "{:?}",
        again.report.changed
    );
    assert!(again.report.added.is_empty(), "{:?}", again.report.added);
}
