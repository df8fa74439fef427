//! Turning arguments, environment and an optional config file into a validated run
//! configuration before any input is read, so a typo fails fast with exit 3 and a list of the
//! valid names instead of silently doing nothing to a release.

use crate::cli::{Args, SummaryFormat};
use crate::engine::{AutoPlan, Plan};
use crate::error::UsageError;
use crate::profile::{self, Assume, Params, ProfileDef};
use crate::select::Selector;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Environment variable with profiles, read when no `-p`/`-c` is given (handy under Helm 4,
/// whose plugins get no arguments unless `--post-renderer-args` is used).
pub const ENV_PROFILES: &str = "HELM_FIXUP_PROFILES";
/// Environment variable with a config file path, read when no `-p`/`-c` is given.
pub const ENV_CONFIG: &str = "HELM_FIXUP_CONFIG";

/// Everything a run needs: the engine's plan plus where the summary goes.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub plan: Plan,
    pub summary_file: Option<PathBuf>,
    pub summary_format: SummaryFormat,
}

/// The profile name that lets the failures found choose the profiles (`-p auto`).
pub const AUTO: &str = "auto";

/// What `-p auto` may choose, least privilege first: root-run never (shared-uid and
/// init-chown fix what it fixes with less privilege).
pub const AUTO_CANDIDATES: &[&str] = &["shared-uid", "init-chown", "exec-probes", "local-pv"];

/// What `-p auto --assume platform=openshift` may choose: openshift instead of shared-uid and
/// init-chown, which set the fixed ids and the root helper restricted-v2 rejects (the SCC's
/// fsGroup gives the volumes to the pod instead).
pub const AUTO_OPENSHIFT: &[&str] = &["exec-probes", "local-pv", "openshift"];

/// The config file (`-c fixup.yaml`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileConfig {
    #[serde(default)]
    profiles: Option<Value>,
    /// `profile.param: value` pairs.
    #[serde(default)]
    set: BTreeMap<String, Value>,
    /// `profile: {param: value}`.
    #[serde(default)]
    params: BTreeMap<String, BTreeMap<String, Value>>,
    #[serde(default)]
    only: Vec<String>,
    #[serde(default)]
    skip: Vec<String>,
    /// `profile: [selectors]`, like a scoped --only.
    #[serde(default)]
    targets: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    summary_file: Option<PathBuf>,
    #[serde(default)]
    summary_format: Option<String>,
    #[serde(default)]
    diff: bool,
}

const FILE_KEYS: &str =
    "profiles, set, params, only, skip, targets, summaryFile, summaryFormat, diff";

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Resolve a profile argument: a built-in name, or a path to a profile file.
fn load_profile(
    arg: &str,
    read: &dyn Fn(&str) -> Result<String, String>,
) -> Result<ProfileDef, UsageError> {
    if let Some(def) = ProfileDef::builtin(arg) {
        return Ok(def);
    }
    let looks_like_file = arg.contains('/') || arg.ends_with(".yaml") || arg.ends_with(".yml");
    if !looks_like_file {
        return Err(format!(
            "unknown profile {arg:?} (valid: {}; or a profile file path)",
            profile::names().join(", ")
        )
        .into());
    }
    ProfileDef::parse(&read(arg)?, arg)
}

/// Build the configuration. `env` reads environment variables and `read` reads files, so tests
/// can supply both.
pub fn resolve(
    args: &Args,
    env: &dyn Fn(&str) -> Option<String>,
    read: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Config, UsageError> {
    let use_env = args.profiles.is_empty() && args.config.is_none();
    let config_path = match &args.config {
        Some(p) => Some(p.to_string_lossy().into_owned()),
        None if use_env => env(ENV_CONFIG).filter(|s| !s.is_empty()),
        None => None,
    };
    let file: FileConfig = match &config_path {
        Some(path) => serde_saphyr::from_str(&read(path)?).map_err(|e| {
            let first = e.to_string();
            let first = first.lines().next().unwrap_or("invalid");
            // serde already lists the keys for an unknown one: say them once.
            if first.contains("expected one of") {
                format!("config {path}: {first}")
            } else {
                format!("config {path}: {first} (valid keys: {FILE_KEYS})")
            }
        })?,
        None => FileConfig::default(),
    };

    let mut wanted: Vec<String> = Vec::new();
    if let Some(p) = &file.profiles {
        wanted.push(text(p));
    }
    wanted.extend(args.profiles.iter().cloned());
    // Profiles named by HELM_FIXUP_PROFILES, so an error about one says where it came from.
    let mut from_env: Vec<String> = Vec::new();
    if use_env && file.profiles.is_none() {
        from_env.extend(
            env(ENV_PROFILES)
                .iter()
                .flat_map(|v| v.split(','))
                .map(|p| p.trim().to_string()),
        );
        wanted.extend(env(ENV_PROFILES));
    }
    let mut defs: Vec<ProfileDef> = Vec::new();
    let asked: Vec<&str> = wanted
        .iter()
        .flat_map(|w| w.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let auto = asked.contains(&AUTO);
    if auto && asked.iter().any(|a| *a != AUTO) {
        return Err(format!(
            "-p auto chooses the profiles itself from the failures it finds: give it alone (not with {}), \
             or name the profiles you want without auto",
            asked
                .iter()
                .filter(|a| **a != AUTO)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        )
        .into());
    }
    let assume = Assume::parse(&args.assume)?;
    let mut candidates: Vec<&str> = match (auto, assume.platform.as_deref()) {
        (true, Some("openshift")) => AUTO_OPENSHIFT.to_vec(),
        (true, _) => AUTO_CANDIDATES.to_vec(),
        (false, _) => asked,
    };
    // On an architecture few images are built for, image-mirror foresees the pulls that fail.
    if auto && assume.arch.is_some() {
        candidates.push("image-mirror");
    }
    for arg in candidates {
        let def = load_profile(arg, read).map_err(|e| {
            if from_env.iter().any(|p| p == arg) {
                UsageError::from(format!("{ENV_PROFILES}={arg:?}: {}", e.message()))
            } else {
                e
            }
        })?;
        if !defs.iter().any(|d| d.name == def.name) {
            defs.push(def);
        }
    }

    // Parameters: config `params`, then config `set`, then --set (later wins).
    let mut sets: Vec<(String, String, String)> = Vec::new();
    for (prof, ps) in &file.params {
        for (k, v) in ps {
            sets.push((prof.clone(), k.clone(), text(v)));
        }
    }
    let split_key = |key: &str| -> Result<(String, String), UsageError> {
        key.split_once('.')
            .map(|(p, k)| (p.to_string(), k.to_string()))
            .ok_or_else(|| UsageError(format!("--set {key:?}: expected PROFILE.PARAM=VALUE")))
    };
    for (key, v) in &file.set {
        let (p, k) = split_key(key)?;
        sets.push((p, k, text(v)));
    }
    for s in &args.set {
        let (key, v) = s
            .split_once('=')
            .ok_or_else(|| format!("--set {s:?}: expected PROFILE.PARAM=VALUE"))?;
        let (p, k) = split_key(key)?;
        sets.push((p, k, v.to_string()));
    }
    let mut per: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (p, k, v) in sets {
        if !defs.iter().any(|d| d.name == p) {
            let selected: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
            return Err(format!(
                "--set {p}.{k}: profile {p:?} is not selected (selected: {}; built-in: {})",
                if selected.is_empty() {
                    "none".into()
                } else {
                    selected.join(", ")
                },
                profile::names().join(", ")
            )
            .into());
        }
        per.entry(p).or_default().insert(k, v);
    }
    let names: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
    let mut blocked = Vec::new();
    if auto {
        // local-pv cannot guess the node: without one it still foresees unbound claims, with
        // placeholders, and `-p auto` names them instead of fixing them.
        let lp = per.entry("local-pv".to_string()).or_default();
        if !lp.contains_key("node") && !lp.contains_key("nodes") {
            lp.insert("node".into(), "node".into());
            lp.entry("namespace".to_string())
                .or_insert_with(|| "release-namespace".into());
            blocked.push((
                "local-pv".to_string(),
                "local-pv needs the node for the volumes: add --set local-pv.node=NODE".to_string(),
            ));
        }
    }
    if auto
        && defs.iter().any(|d| d.name == "image-mirror")
        && !per
            .get("image-mirror")
            .is_some_and(|p| p.contains_key("map"))
    {
        blocked.push((
            "image-mirror".to_string(),
            "image-mirror needs the mirror: add --set image-mirror.map=FROM=TO,...".to_string(),
        ));
    }
    let mut profiles = Vec::new();
    for def in &defs {
        // Params::new checks the values with the fix's own `configure`; the profile file's
        // targets are checked here too, so no usage error waits for stdin.
        let params = Params::new(def, per.get(&def.name).unwrap_or(&BTreeMap::new()))?;
        for t in &def.targets {
            Selector::parse(t, &names)
                .map_err(|e| format!("profile {}: targets: {e}", def.name))?;
        }
        profiles.push((def.clone(), params));
    }

    let mut only = Vec::new();
    for s in file.only.iter().chain(&args.only) {
        only.push(Selector::parse(s, &names)?);
    }
    for (prof, sels) in &file.targets {
        if !names.contains(&prof.as_str()) {
            return Err(format!("config targets: profile {prof:?} is not selected").into());
        }
        for s in sels {
            let mut sel = Selector::parse(s, &names)?;
            sel.profile = Some(prof.clone());
            only.push(sel);
        }
    }
    let mut skip = Vec::new();
    for s in file.skip.iter().chain(&args.skip) {
        skip.push(Selector::parse(s, &names)?);
    }
    let summary_format = match (args.summary_format, file.summary_format.as_deref()) {
        (Some(f), _) => f,
        (None, None | Some("text")) => SummaryFormat::Text,
        (None, Some("json")) => SummaryFormat::Json,
        (None, Some(other)) => {
            return Err(format!("config summaryFormat {other:?}: expected text or json").into());
        }
    };
    Ok(Config {
        plan: Plan {
            profiles,
            only,
            skip,
            dry_run: args.dry_run,
            diff: args.diff || file.diff,
            live_pvs: None,
            assume,
            auto: auto.then_some(AutoPlan { blocked }),
        },
        summary_file: args.summary_file.clone().or(file.summary_file),
        summary_format,
    })
}

/// The `existing` parameter of a local-pv profile in the plan, if any: `cluster` or a file.
pub fn existing_source(cfg: &Config) -> Option<&str> {
    cfg.plan
        .profiles
        .iter()
        .find(|(d, _)| d.fix == "local-pv")
        .and_then(|(_, p)| p.str("existing"))
}

/// Read what `local-pv.existing` names, before any input is read, so a missing file or an
/// unreachable cluster is a usage error (exit 3) and not a wrong install. `read` reads a file;
/// `kubectl` runs kubectl with the given arguments and returns its stdout.
///
/// With `cluster`: `kubectl get pv` (required), then the Nodes (their labels say where pods may
/// run) and the StatefulSets, claims and Jobs of the release namespace (`local-pv.namespace`, or
/// every namespace), whose live fields decide whether an `immutable-field` warning is true.
/// Those two reads may fail (RBAC often forbids listing Nodes): the run goes on without them
/// and says so.
pub fn load_existing(
    cfg: &mut Config,
    read: &dyn Fn(&str) -> Result<String, String>,
    kubectl: &dyn Fn(&[&str]) -> Result<String, String>,
) -> Result<(), UsageError> {
    let Some(source) = existing_source(cfg).map(str::to_string) else {
        return Ok(());
    };
    let parse = |text: &str, origin: &str| {
        crate::live::parse_pvs(text, origin).map_err(|e| format!("local-pv.existing: {e}"))
    };
    if source != "cluster" {
        let text = read(&source).map_err(|e| format!("local-pv.existing: {e}"))?;
        cfg.plan.live_pvs = Some(parse(&text, &source)?);
        return Ok(());
    }
    const PV: &[&str] = &["get", "pv", "-o", "json"];
    let text = kubectl(PV)
        .map_err(|e| format!("local-pv.existing=cluster: `kubectl get pv -o json` failed: {e}"))?;
    let mut live = parse(&text, "cluster (kubectl get pv)")?;
    let namespace = cfg
        .plan
        .profiles
        .iter()
        .find(|(d, _)| d.fix == "local-pv")
        .and_then(|(_, p)| p.str("namespace"))
        .map(str::to_string);
    let kinds = "statefulsets.apps,persistentvolumeclaims,jobs.batch";
    let mut objects = vec!["get", kinds, "-o", "json"];
    match &namespace {
        Some(ns) => objects.extend(["-n", ns.as_str()]),
        None => objects.push("-A"),
    }
    for args in [&["get", "nodes", "-o", "json"][..], &objects[..]] {
        match kubectl(args).map_err(|e| e.to_string()).and_then(|t| {
            parse(&t, "cluster").map_err(|e| e.to_string())
        }) {
            Ok(more) => {
                live.extend(more);
                // The objects' read lists the whole namespace (or every one): what it lacks
                // does not exist.
                if args[1] == kinds {
                    for k in crate::live::OBJECT_KINDS {
                        live.covered.insert(((*k).to_string(), namespace.clone()));
                    }
                }
            }
            Err(e) => live.unread.push(format!(
                "`kubectl {}` failed ({e}): {}",
                args.join(" "),
                if args[1] == "nodes" {
                    "the node labels are unknown, so only the node label itself is checked against the pods' node rules"
                } else {
                    "immutable-field warnings cannot be checked against the live objects"
                }
            )),
        }
    }
    cfg.plan.live_pvs = Some(live);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Args {
        use clap::Parser;
        Args::parse_from(std::iter::once("helm-fixup").chain(v.iter().copied()))
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn no_files(p: &str) -> Result<String, String> {
        Err(format!("{p}: no such file"))
    }

    #[test]
    fn comma_lists_and_repeats_dedupe() {
        let c = resolve(
            &args(&[
                "-p",
                "root-run,local-pv",
                "-p",
                "root-run",
                "--set",
                "local-pv.node=n",
            ]),
            &no_env,
            &no_files,
        )
        .unwrap();
        let names: Vec<_> = c
            .plan
            .profiles
            .iter()
            .map(|(d, _)| d.name.as_str())
            .collect();
        assert_eq!(names, ["root-run", "local-pv"]);
    }

    #[test]
    fn unknown_profile_lists_valid_ones() {
        let e = resolve(&args(&["-p", "rootrun"]), &no_env, &no_files).unwrap_err();
        assert!(
            e.message()
                .contains("valid: root-run, shared-uid, init-chown, exec-probes, local-pv"),
            "{e}"
        );
    }

    #[test]
    fn set_needs_a_selected_profile_and_a_known_param() {
        let e = resolve(
            &args(&["-p", "root-run", "--set", "local-pv.node=a"]),
            &no_env,
            &no_files,
        )
        .unwrap_err();
        assert!(e.message().contains("not selected"), "{e}");
        let e = resolve(
            &args(&["-p", "local-pv", "--set", "local-pv.nod=a"]),
            &no_env,
            &no_files,
        )
        .unwrap_err();
        assert!(e.message().contains("valid: node, nodes"), "{e}");
    }

    #[test]
    fn bad_profile_from_the_environment_names_the_variable() {
        let env = |k: &str| (k == ENV_PROFILES).then(|| "exec-probes,nope".to_string());
        let e = resolve(&args(&[]), &env, &no_files).unwrap_err();
        assert!(
            e.message()
                .starts_with("HELM_FIXUP_PROFILES=\"nope\": unknown profile"),
            "{e}"
        );
        let e = resolve(&args(&["-p", "nope"]), &no_env, &no_files).unwrap_err();
        assert!(!e.message().contains("HELM_FIXUP_PROFILES"), "{e}");
    }

    #[test]
    fn env_is_read_only_without_flags() {
        let env = |k: &str| (k == ENV_PROFILES).then(|| "exec-probes".to_string());
        let c = resolve(&args(&[]), &env, &no_files).unwrap();
        assert_eq!(c.plan.profiles[0].0.name, "exec-probes");
        let c = resolve(&args(&["-p", "root-run"]), &env, &no_files).unwrap();
        assert_eq!(c.plan.profiles.len(), 1);
    }

    #[test]
    fn config_file_sets_everything() {
        let read = |_: &str| {
            Ok("profiles: [local-pv]\nset:\n  local-pv.node: w1\nparams:\n  local-pv:\n    keep: true\n\
                targets:\n  local-pv: [kind=StatefulSet]\nsummaryFormat: json\n"
                .to_string())
        };
        let c = resolve(&args(&["-c", "f.yaml"]), &no_env, &read).unwrap();
        let (_, params) = &c.plan.profiles[0];
        assert_eq!(params.str("node"), Some("w1"));
        assert!(params.bool("keep").unwrap());
        assert_eq!(c.plan.only.len(), 1);
        assert_eq!(c.summary_format, SummaryFormat::Json);
        let bad = |_: &str| Ok("profile: [x]\n".to_string());
        let e = resolve(&args(&["-c", "f.yaml"]), &no_env, &bad).unwrap_err();
        // The valid keys, once.
        assert_eq!(e.message().matches("summaryFormat").count(), 1, "{e}");
        assert!(e.message().contains("expected one of profiles"), "{e}");
    }

    #[test]
    fn user_profile_file_runs_a_builtin_fix() {
        let read = |_: &str| {
            Ok("name: my-root\nfix: root-run\ndescription: mine\nparams:\n- name: addCapabilities\n  default: CHOWN\n  help: h\n".to_string())
        };
        let c = resolve(&args(&["-p", "./my.yaml"]), &no_env, &read).unwrap();
        assert_eq!(c.plan.profiles[0].1.str("addCapabilities"), Some("CHOWN"));
    }
}
