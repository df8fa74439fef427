//! `exec-probes`: probes that still work when the process listens only on loopback.
//!
//! Seed 004: `listenLocal: true` makes prometheus-operator bind the config-reloader to
//! `127.0.0.1:8080`, but its liveness and readiness probes stay `httpGet :8080/healthz`. The
//! kubelet sends those from the node to the pod IP, where nothing listens, so the container
//! restarts forever. The same trap catches a process put behind kube-rbac-proxy on 127.0.0.1, or
//! an exporter given `--web.listen-address=127.0.0.1:PORT` to keep it private.
//!
//! The fix is the one prometheus-operator itself adopted in 0.75: run the request *inside* the
//! container, where loopback is reachable, as an exec probe with curl or wget. Every timing field
//! of the probe stays; only the handler changes.
//!
//! What is targeted by default is deliberately narrow, so the profile never invents work: a probe
//! is converted only when a listen flag in the pod binds its port to 127.0.0.1, localhost or
//! [::1]. `all=true` widens that to every httpGet probe of the selected containers.
//!
//! Operator resources are different: their probes come from the operator, and before operator
//! 0.91 a `spec.containers` entry cannot replace a probe handler (the operator keeps both, and
//! Kubernetes rejects a probe with two handlers). So for a CR with `listenLocal: true` this profile
//! looks at the operator instead: 0.75 and later already use exec probes (nothing to do); 0.65 to
//! 0.74 with `--enable-config-reloader-probes=true` get that flag removed from the operator
//! Deployment (no probe beats a probe that restarts the container forever); an unknown version
//! gets a warning with the choices.
//!
//! The one CR change: the operator's listenLocal probes of the `prometheus` container are
//! `sh -c` curl/wget exec probes, which the `-distroless` Prometheus images (kube-prometheus-stack's
//! default since 85.0.0) cannot run. There a `spec.containers` entry gives them promtool as the
//! command; it keeps the operator's handler type (exec), so the merge replaces only the command
//! at every operator version (see "listenLocal on images without a shell" below).

use super::driver::{Findings, Planning, PodFix};
use super::{Ctx, Docs, Fix, Params, UsageError};
use crate::manifest::Identity;
use crate::report::failure;
use crate::select::Selection;
use crate::shell::quote as sh_quote;
use crate::workload::At;
use crate::workload::{self, CrKind};
use serde_json::{Map, Value, json};
use std::net::Ipv4Addr;

mod distroless;
mod handler;
mod listen;
mod operator;

use distroless::*;
pub use handler::*;
pub use listen::*;
use operator::*;

pub struct ExecProbes;

/// The probe fields whose handler may be an httpGet.
const PROBES: [&str; 3] = ["livenessProbe", "readinessProbe", "startupProbe"];

/// The operator flag that gives config-reloaders (httpGet) probes in 0.65 to 0.74.
const PROBES_FLAG: &str = "enable-config-reloader-probes";

/// Does this image look distroless (no shell, no curl, no wget)?
pub fn looks_distroless(image: &str) -> bool {
    let image = image.to_ascii_lowercase();
    image.contains("distroless")
        || image
            .split(['/', ':', '-', '_', '.', '@'])
            .any(|w| w == "static")
}

/// The tag of an image reference (`registry:5000/a/b:v1@sha256:...` → `v1`).
pub fn image_tag(image: &str) -> Option<&str> {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split_once(':')
        .map(|(_, t)| t)
        .filter(|t| !t.is_empty())
}

/// The last path part of an image's repository (`quay.io/prometheus-operator/prometheus-operator:v1` →
/// `prometheus-operator`).
pub fn image_name(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last)
}

/// `v0.74.0`, `0.74`, `v0.75.0-rc.1` → (major, minor, patch).
pub fn parse_version(s: &str) -> Option<(u64, u64, u64)> {
    let s = s.trim();
    let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
    let core = s.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = match parts.next() {
        Some(p) => p.parse().ok()?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    Some((major, minor, patch))
}

fn show_version((a, b, c): (u64, u64, u64)) -> String {
    format!("{a}.{b}.{c}")
}

/// A Go boolean flag argument that turns the config-reloader probes on.
fn enables_probes(arg: &str) -> bool {
    match flag(arg) {
        Some((PROBES_FLAG, None)) => true,
        Some((PROBES_FLAG, Some(v))) => matches!(v, "1" | "t" | "T" | "true" | "TRUE" | "True"),
        _ => false,
    }
}

/// One probe to convert: where it is and its new handler.
struct Conversion {
    list: &'static str,
    index: usize,
    probe: &'static str,
    exec: Value,
}

/// Replace the handler of a probe (`httpGet`, `tcpSocket`) with `exec`, at the same position,
/// keeping every other field (timings, thresholds, terminationGracePeriodSeconds) as it is.
fn replace_handler(probe: &mut Value, exec: Value) {
    let Some(map) = probe.as_object_mut() else {
        return;
    };
    let old = std::mem::take(map);
    let mut exec = Some(exec);
    for (k, v) in old {
        if k == "httpGet" || k == "tcpSocket" {
            if let Some(e) = exec.take() {
                map.insert("exec".into(), e);
            }
        } else if k != "exec" {
            map.insert(k, v);
        }
    }
}

/// Findings for one pod: the probes to convert and what to tell the user.
#[derive(Default)]
struct PodPlan {
    conversions: Vec<Conversion>,
    notes: Vec<String>,
    warnings: Vec<String>,
    /// The probes that fail as they are (a port bound to 127.0.0.1), in words: `diagnose`'s
    /// evidence. Probes converted only because of `all=true` fail nowhere.
    failing: Vec<String>,
}

/// Which probes of one pod spec to convert, decided on the unchanged pod so the edit afterwards is
/// a plain replacement. Containers the operator generates (CR entries named like them) are never
/// converted: there the entry is a patch, and a patch cannot swap the handler before 0.91.
fn plan_pod(
    pod: &Map<String, Value>,
    cr: Option<CrKind>,
    sel: &Selection,
    all: bool,
    config: &[Bind],
) -> PodPlan {
    let mut plan = PodPlan::default();
    let generated = |list: &str, name: &str| {
        cr.is_some_and(|k| match list {
            "initContainers" => k.generated_init_containers().contains(&name),
            _ => k.generated_containers().contains(&name),
        })
    };
    let lists: [&'static str; 2] = ["initContainers", "containers"];
    let entries = |list: &'static str| workload::items(pod.get(list)).enumerate();
    // Containers of a pod share one network namespace: a loopback bind by any of them is
    // unreachable from the kubelet whichever container's probe targets it.
    let binds: Vec<(&str, Bind)> = lists
        .iter()
        .flat_map(|l| entries(l).filter(move |(_, c)| !generated(l, workload::container_name(c))))
        .flat_map(|(_, c)| {
            loopback_binds(c)
                .into_iter()
                .map(move |b| (workload::container_name(c), b))
        })
        // A listener a mounted configuration file sets (its process is some container of the pod).
        .chain(config.iter().map(|b| ("", b.clone())))
        .collect();
    for list in lists {
        for (index, c) in entries(list) {
            let name = workload::container_name(c);
            if !sel.container(name) {
                continue;
            }
            let mut converted: Vec<&str> = Vec::new();
            let mut why: Vec<String> = Vec::new();
            let mut skipped_generated = false;
            // Where a probed port listens, in words: the flag, and whose it is when another
            // container's (a configuration file's flag names its ConfigMap).
            let bound_on = |owner: &str, b: &Bind| {
                if owner == name || owner.is_empty() {
                    format!("{}:{} ({})", b.host, b.port, b.flag)
                } else {
                    format!("{}:{} ({} of container {owner})", b.host, b.port, b.flag)
                }
            };
            let mut tools: Vec<&str> = Vec::new();
            let image = c.get("image").and_then(Value::as_str);
            for probe in PROBES {
                let handler = |h: &str| {
                    c.get(probe)
                        .and_then(|p| p.get(h))
                        .filter(|h| h.is_object())
                };
                // tcpSocket and grpc probes of a loopback-only port fail like httpGet ones: the
                // kubelet connects to the pod IP (victoria-metrics-single's default liveness probe).
                if let Some((kind, h)) = handler("tcpSocket")
                    .map(|h| ("tcpSocket", h))
                    .or_else(|| handler("grpc").map(|h| ("grpc", h)))
                {
                    if generated(list, name) {
                        continue;
                    }
                    let Some((owner, b)) = probe_port(h, c)
                        .ok()
                        .and_then(|port| binds.iter().find(|(_, b)| b.port == port))
                    else {
                        continue;
                    };
                    let w = bound_on(owner, b);
                    if kind == "grpc" {
                        plan.failing.push(format!(
                            "container {name}: {probe} is a gRPC probe of the pod IP, but the port listens only on {w}"
                        ));
                        plan.warnings.push(format!(
                            "container {name}: {probe} is a gRPC probe of port {}, which listens only on {w}: the kubelet \
                             cannot reach it. An exec probe would need a gRPC health client in image {}, which is not \
                             known to have one: left as it is. Bind the port to all addresses, or run a probe the image \
                             can serve",
                            b.port,
                            image.unwrap_or("(none)")
                        ));
                        continue;
                    }
                    if !why.contains(&w) {
                        why.push(w);
                    }
                    plan.conversions.push(Conversion {
                        list,
                        index,
                        probe,
                        exec: tcp_exec(&b.host, b.port),
                    });
                    converted.push(probe);
                    if !tools.contains(&"nc or bash") {
                        tools.push("nc or bash");
                    }
                    continue;
                }
                let Some(http_get) = handler("httpGet") else {
                    continue;
                };
                if generated(list, name) {
                    skipped_generated |= all;
                    continue;
                }
                let hg = match HttpGet::read(http_get, c) {
                    Ok(hg) => hg,
                    Err(e) => {
                        if all || !binds.is_empty() {
                            plan.warnings
                                .push(format!("container {name} {probe} left as httpGet: {e}"));
                        }
                        continue;
                    }
                };
                let bind = binds.iter().find(|(_, b)| b.port == hg.port);
                if bind.is_none() && !all {
                    continue;
                }
                let host = bind.map_or("127.0.0.1", |(_, b)| b.host.as_str());
                if let Some(h) = &hg.host {
                    plan.notes.push(format!(
                        "container {name} {probe} had httpGet.host {h}; the exec probe runs inside the container and checks {host}"
                    ));
                }
                if let Some((owner, b)) = bind {
                    let w = bound_on(owner, b);
                    if !why.contains(&w) {
                        why.push(w);
                    }
                }
                plan.conversions.push(Conversion {
                    list,
                    index,
                    probe,
                    exec: hg.exec(host),
                });
                converted.push(probe);
                if !tools.contains(&"curl or wget") {
                    tools.insert(0, "curl or wget");
                }
            }
            if skipped_generated {
                plan.notes.push(format!(
                    "container {name} is generated by the operator: a spec.containers entry cannot replace its probe \
                     handler before operator 0.91 (both handlers would be kept and the pod rejected); left alone"
                ));
            }
            if converted.is_empty() {
                continue;
            }
            if !why.is_empty() {
                plan.failing.push(format!(
                    "container {name}: {} probe the pod IP, but the port listens only on {}",
                    converted.join(", "),
                    why.join(", ")
                ));
            }
            let reason = if why.is_empty() {
                "all=true".to_string()
            } else {
                format!(
                    "the probed port listens only on {}, which the kubelet cannot reach",
                    why.join(", ")
                )
            };
            plan.notes.push(format!(
                "container {name}: {reason}; {} now run inside the container, so its image{} needs sh plus {}",
                converted.join(", "),
                image.map(|i| format!(" {i}")).unwrap_or_default(),
                tools.join(", and ")
            ));
            if let Some(i) = image.filter(|i| looks_distroless(i)) {
                plan.warnings.push(format!(
                    "container {name}: image {i} looks distroless (no sh, curl or wget): the exec probes will fail; \
                     use an image variant with a shell, or leave it out (--skip exec-probes:container={name})"
                ));
            }
        }
    }
    plan
}

impl Fix for ExecProbes {
    /// `all`, and the operator version the user gives (`operatorVersion`).
    type Settings = (bool, Option<(u64, u64, u64)>);

    fn configure(&self, params: &Params) -> Result<Self::Settings, UsageError> {
        let all = params.bool("all")?;
        let version = match params.str("operatorVersion") {
            None => None,
            Some(v) => Some(parse_version(v).ok_or_else(|| {
                format!(
                    "{}.operatorVersion={v:?}: expected a version like 0.74.0",
                    params.profile()
                )
            })?),
        };
        Ok((all, version))
    }
}

impl PodFix for ExecProbes {
    /// Loopback listeners that configuration files in the stream's ConfigMaps set.
    type Survey = Vec<ConfigListener>;

    /// `finish` edits the operator's Deployment and the distroless Prometheus resources.
    const FINISH_EDITS: bool = true;

    fn survey(
        &self,
        &(all, _): &Self::Settings,
        docs: &Docs,
        ctx: &mut Ctx,
    ) -> Vec<ConfigListener> {
        if all && !ctx.sel.explicit() {
            ctx.report.warn(
                ctx.profile,
                None,
                "all=true without --only converts every httpGet probe in the stream; name the containers with \
                 --only exec-probes:container=NAME",
            );
        }
        config_listeners(docs)
    }

    fn plan(&self, at: Planning<'_, Self>) -> Result<Findings, UsageError> {
        let Planning {
            settings: &(all, _),
            view,
            sel,
            survey,
            profile,
            ..
        } = at;
        let config = mounted_listeners(view.id, view.pod, survey);
        let plan = plan_pod(view.pod, view.cr, sel, all, &config);
        let mut found = Findings::for_pod(profile, view);
        for n in plan.notes {
            found.note(n);
        }
        for w in plan.warnings {
            found.warn(w);
        }
        for evidence in plan.failing {
            found.predict(failure::LOOPBACK_PROBE, evidence, None);
        }
        if plan.conversions.is_empty() {
            return Ok(found);
        }
        let mut value = Findings::start(view);
        if let Some(pod) = view.pod_mut(&mut value) {
            for conv in plan.conversions {
                let probe = workload::items_mut(pod.get_mut(conv.list))
                    .nth(conv.index)
                    .and_then(|c| c.get_mut(conv.probe));
                if let Some(probe) = probe {
                    replace_handler(probe, conv.exec);
                }
            }
        }
        found.set_fixed(view, value);
        Ok(found)
    }

    fn finish(
        &self,
        &(_, param): &Self::Settings,
        _: Vec<ConfigListener>,
        docs: &mut Docs,
        ctx: &mut Ctx,
    ) -> Result<(), UsageError> {
        operator_crs(docs, ctx, param);
        listen_local_images(docs, ctx, param);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn binds(args: &[&str]) -> Vec<(String, u16)> {
        loopback_binds(&json!({"args": args}))
            .into_iter()
            .map(|b| (b.host, b.port))
            .collect()
    }

    #[test]
    fn listen_addresses_set_by_environment_variables_count() {
        let env = |pairs: &[(&str, &str)]| {
            let env: Vec<Value> = pairs
                .iter()
                .map(|(n, v)| json!({"name": n, "value": v}))
                .collect();
            loopback_binds(&json!({"env": env}))
                .into_iter()
                .map(|b| (b.host, b.port, b.flag))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            env(&[("VM_httpListenAddr", "127.0.0.1:8428")]),
            [(
                "127.0.0.1".to_string(),
                8428,
                "env VM_httpListenAddr".to_string()
            )]
        );
        assert_eq!(env(&[("WEB_LISTEN_ADDRESS", "localhost:9100")])[0].1, 9100);
        assert_eq!(
            env(&[
                ("GF_SERVER_HTTP_ADDR", "127.0.0.1"),
                ("GF_SERVER_HTTP_PORT", "3001")
            ])[0]
                .1,
            3001
        );
        assert_eq!(env(&[("GF_SERVER_HTTP_ADDR", "127.0.0.1")])[0].1, 3000);
        assert!(env(&[("VM_httpListenAddr", ":8428")]).is_empty());
        assert!(env(&[("UPSTREAM_ADDR", "127.0.0.1:80")]).is_empty());
    }

    #[test]
    fn listen_flags_in_both_forms_and_every_loopback_spelling() {
        assert_eq!(
            binds(&["--listen-address=127.0.0.1:8080"]),
            [("127.0.0.1".into(), 8080)]
        );
        assert_eq!(
            binds(&["--web.listen-address", "localhost:9100"]),
            [("127.0.0.1".into(), 9100)]
        );
        assert_eq!(
            binds(&["--http-address=[::1]:10902"]),
            [("[::1]".into(), 10902)]
        );
        assert_eq!(
            binds(&["-metrics-bind-address=127.0.0.2:8443"]),
            [("127.0.0.2".into(), 8443)]
        );
        assert_eq!(
            binds(&["--health-probe-bind-address", "127.0.0.1:8081"]),
            [("127.0.0.1".into(), 8081)]
        );
        assert_eq!(
            binds(&["--secure-listen-address=127.0.0.1:8443"]),
            [("127.0.0.1".into(), 8443)]
        );
        assert_eq!(
            binds(&["--host=127.0.0.1", "--port=8081"]),
            [("127.0.0.1".into(), 8081)]
        );
    }

    #[test]
    fn listen_flag_inside_a_shell_script_counts() {
        let c = json!({"command": ["sh", "-c", "exec /bin/app --listen-address '127.0.0.1:8080' --v=2"]});
        let b = loopback_binds(&c);
        assert_eq!((b[0].host.as_str(), b[0].port), ("127.0.0.1", 8080));
    }

    #[test]
    fn public_binds_and_upstreams_are_not_loopback_listeners() {
        assert!(
            binds(&[
                "--web.listen-address=0.0.0.0:9100",
                "--listen-address=:8080"
            ])
            .is_empty()
        );
        assert!(
            binds(&[
                "--upstream=http://127.0.0.1:8081/",
                "--advertise-address=127.0.0.1:9094"
            ])
            .is_empty()
        );
        assert!(binds(&["--listen-address=http://127.0.0.1:8080"]).is_empty());
        assert!(
            binds(&["--listen-address"]).is_empty(),
            "a flag without a value"
        );
        assert!(
            binds(&[
                "--listen-address=127.0.0.1:0",
                "--listen-address=127.0.0.1:99999"
            ])
            .is_empty()
        );
        assert!(binds(&["--host=0.0.0.0", "--port=8080"]).is_empty());
    }

    fn hg(v: Value, c: Value) -> HttpGet {
        HttpGet::read(&v, &c).unwrap()
    }

    #[test]
    fn named_port_resolves_through_the_container_ports() {
        let c = json!({"ports": [{"name": "web", "containerPort": 9090}, {"name": "metrics", "containerPort": 9100}]});
        assert_eq!(hg(json!({"port": "metrics"}), c.clone()).port, 9100);
        assert_eq!(hg(json!({"port": "8080"}), c.clone()).port, 8080);
        assert!(
            HttpGet::read(&json!({"port": "nope"}), &c)
                .unwrap_err()
                .contains("\"nope\"")
        );
        assert!(HttpGet::read(&json!({"port": 70000}), &c).is_err());
        // Whole floats are the numbers Kubernetes reads; a fraction is no port.
        assert_eq!(hg(json!({"port": 8080.0}), c.clone()).port, 8080);
        let f = json!({"ports": [{"name": "m", "containerPort": 9100.0}]});
        assert_eq!(hg(json!({"port": "m"}), f).port, 9100);
        assert!(HttpGet::read(&json!({"port": 8080.5}), &c).is_err());
        assert!(HttpGet::read(&json!({"port": 80, "scheme": "FTP"}), &c).is_err());
    }

    #[test]
    fn probe_path_with_quotes_is_shell_safe() {
        let h = hg(
            json!({"port": 8080, "path": "/it's $(touch /tmp/pwned) `id` now", "scheme": "HTTPS",
                   "httpHeaders": [{"name": "X-A", "value": "a'b $HOME"}]}),
            json!({}),
        );
        let s = h.script("127.0.0.1");
        assert!(
            s.contains(
                "'https://127.0.0.1:8080/it'\\''s%20$$(touch%20/tmp/pwned)%20%60id%60%20now'"
            ),
            "{s}"
        );
        // `$` is doubled for the kubelet, which turns `$$` back into `$` (see kubelet_escape).
        assert!(s.contains("-k -H 'X-A: a'\\''b $$HOME'"), "{s}");
        assert!(
            s.contains("--no-check-certificate --header 'X-A: a'\\''b $$HOME'"),
            "{s}"
        );
        let status = std::process::Command::new("sh")
            .args(["-n", "-c", &s])
            .status()
            .unwrap();
        assert!(status.success(), "sh -n rejects: {s}");
    }

    #[test]
    fn script_is_prometheus_operators_command() {
        let h = hg(json!({"port": 8080, "path": "/healthz"}), json!({}));
        assert_eq!(
            h.script("127.0.0.1"),
            "if [ -x \"$(command -v curl)\" ]; then exec curl --fail --silent --show-error 'http://127.0.0.1:8080/healthz'; \
             elif [ -x \"$(command -v wget)\" ]; then exec wget -q -O /dev/null 'http://127.0.0.1:8080/healthz'; else exit 1; fi"
        );
        assert_eq!(
            hg(json!({"port": 1}), json!({})).url("[::1]"),
            "http://[::1]:1/"
        );
        assert_eq!(
            hg(json!({"port": 1, "path": "ready"}), json!({})).url("h"),
            "http://h:1/ready"
        );
        assert_eq!(
            hg(json!({"port": 1, "path": "/[a]{b}?x=1&y"}), json!({})).url("h"),
            "http://h:1/%5Ba%5D%7Bb%7D?x=1&y"
        );
    }

    #[test]
    fn exec_handlers_are_what_the_kubernetes_type_serializes() {
        use k8s_openapi::api::core::v1::ExecAction;
        let typed = |command: Vec<String>| {
            serde_json::to_value(ExecAction {
                command: Some(command),
            })
            .unwrap()
        };
        let h = hg(json!({"port": 8080, "path": "/healthz"}), json!({}));
        assert_eq!(
            h.exec("127.0.0.1"),
            typed(vec!["sh".into(), "-c".into(), h.script("127.0.0.1")])
        );
        assert_eq!(
            promtool_exec("ready", "http://127.0.0.1:9090"),
            typed(vec![
                PROMTOOL.into(),
                "check".into(),
                "ready".into(),
                "--url=http://127.0.0.1:9090".into()
            ])
        );
    }

    #[test]
    fn handler_is_replaced_in_place_and_timings_stay() {
        let mut p = json!({"initialDelaySeconds": 1, "httpGet": {"port": 1}, "periodSeconds": 2,
            "timeoutSeconds": 3, "successThreshold": 1, "failureThreshold": 4, "terminationGracePeriodSeconds": 5});
        replace_handler(&mut p, json!({"command": ["sh"]}));
        let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "initialDelaySeconds",
                "exec",
                "periodSeconds",
                "timeoutSeconds",
                "successThreshold",
                "failureThreshold",
                "terminationGracePeriodSeconds"
            ]
        );
    }

    #[test]
    fn operator_image_tags_and_versions() {
        for (image, tag) in [
            (
                "quay.io/prometheus-operator/prometheus-operator:v0.74.0",
                Some("v0.74.0"),
            ),
            (
                "registry.local:5000/prometheus-operator/prometheus-operator:v0.74.0@sha256:abcd",
                Some("v0.74.0"),
            ),
            (
                "registry.local:5000/prometheus-operator/prometheus-operator@sha256:abcd",
                None,
            ),
            ("prometheus-operator", None),
        ] {
            assert_eq!(image_tag(image), tag, "{image}");
            assert_eq!(image_name(image), "prometheus-operator", "{image}");
        }
        assert_eq!(
            image_name("quay.io/prometheus-operator/prometheus-config-reloader:v0.74.0"),
            "prometheus-config-reloader"
        );
        assert_eq!(parse_version("v0.74.0"), Some((0, 74, 0)));
        assert_eq!(parse_version("0.75"), Some((0, 75, 0)));
        assert_eq!(parse_version("v0.75.0-rc.1"), Some((0, 75, 0)));
        assert_eq!(parse_version("latest"), None);
        assert_eq!(parse_version("1.2.3.4"), None);
    }

    #[test]
    fn probes_flag_forms() {
        assert!(enables_probes("--enable-config-reloader-probes=true"));
        assert!(enables_probes("--enable-config-reloader-probes"));
        assert!(enables_probes("-enable-config-reloader-probes=1"));
        assert!(!enables_probes("--enable-config-reloader-probes=false"));
        assert!(!enables_probes("--enable-config-reloader-probes-x=true"));
    }

    #[test]
    fn route_prefix_is_cleaned_like_path_clean() {
        assert_eq!(route_prefix("/"), "");
        assert_eq!(route_prefix(""), "");
        assert_eq!(route_prefix("prom"), "/prom");
        assert_eq!(route_prefix("/prom/"), "/prom");
        assert_eq!(route_prefix("//a/./b/../c/"), "/a/c");
        assert_eq!(route_prefix("/../.."), "");
        assert_eq!(route_prefix("/a b/$x"), "/a%20b/$$x");
    }

    #[test]
    fn probe_edit_replaces_only_what_needs_a_shell() {
        let want = promtool_exec("ready", "http://127.0.0.1:9090");
        assert_eq!(
            probe_edit(None, &want),
            ProbeEdit::Added(json!({"exec": want}))
        );
        assert_eq!(
            probe_edit(Some(&json!({"periodSeconds": 9})), &want),
            ProbeEdit::Added(json!({"exec": want, "periodSeconds": 9}))
        );
        assert_eq!(
            probe_edit(Some(&json!({"exec": want})), &want),
            ProbeEdit::Same
        );
        for old in [
            json!(["/bin/sh", "-c", "wget ..."]),
            json!([
                "/bin/promtool",
                "check",
                "ready",
                "--url=http://127.0.0.1:9090/old"
            ]),
        ] {
            assert_eq!(
                probe_edit(Some(&json!({"exec": {"command": old}})), &want),
                ProbeEdit::Replaced(json!({"exec": want}))
            );
        }
        assert!(matches!(
            probe_edit(Some(&json!({"exec": {"command": ["/bin/my-check"]}})), &want),
            ProbeEdit::Kept(w) if w.contains("/bin/my-check")
        ));
        assert!(matches!(
            probe_edit(Some(&json!({"httpGet": {"port": 9090}})), &want),
            ProbeEdit::Kept(w) if w.contains("httpGet")
        ));
        assert!(matches!(
            probe_edit(Some(&json!("x")), &want),
            ProbeEdit::Kept(_)
        ));
    }

    #[test]
    fn main_probes_follow_the_operator_version() {
        assert_eq!(
            generated_main_probes(Some((0, 93, 1)), None).unwrap().len(),
            3
        );
        assert_eq!(
            generated_main_probes(Some((0, 52, 0)), Some((3, 0, 0))).unwrap(),
            &[("readinessProbe", "ready")]
        );
        assert_eq!(
            generated_main_probes(None, Some((3, 14, 0))).unwrap().len(),
            3
        );
        assert!(generated_main_probes(None, Some((2, 53, 0))).is_none());
        assert!(generated_main_probes(None, None).is_none());
    }

    #[test]
    fn flag_values_in_both_forms_last_wins() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            flag_value(&w(&["--a=1", "--a", "2"]), "a").as_deref(),
            Some("2")
        );
        assert_eq!(flag_value(&w(&["--a="]), "a"), None);
        assert_eq!(flag_value(&w(&["--ab=1"]), "a"), None);
    }

    #[test]
    fn distroless_images_are_recognised() {
        assert!(looks_distroless("gcr.io/distroless/static:nonroot"));
        assert!(looks_distroless("example.com/app:v1-distroless"));
        assert!(looks_distroless("cgr.dev/chainguard/static"));
        assert!(!looks_distroless("quay.io/prometheus/node-exporter:v1.8.1"));
        assert!(!looks_distroless("example.com/staticfiles:v1"));
    }
}
