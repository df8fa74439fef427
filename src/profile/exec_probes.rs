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

use super::{Ctx, Docs, Fix};
use crate::manifest::Identity;
use crate::shell::quote as sh_quote;
use crate::workload::At;
use crate::workload::{self, CrKind};
use k8s_openapi::api::core::v1::ExecAction;
use serde_json::{Map, Value};
use std::net::Ipv4Addr;

pub struct ExecProbes;

/// The probe fields whose handler may be an httpGet.
const PROBES: [&str; 3] = ["livenessProbe", "readinessProbe", "startupProbe"];

/// Listen flags, matched as the whole flag name or its last `-`/`.` separated part(s):
/// `--listen-address`, `--web.listen-address`, `--secure-listen-address`,
/// `--cluster.listen-address`, `--http-address`, `--metrics-bind-address`,
/// `--health-probe-bind-address`, `--listen`...
const LISTEN_SUFFIXES: &[&str] = &[
    "listen-address",
    "listen-addr",
    "listen",
    "http-address",
    "http-addr",
    "metrics-address",
    "bind-address",
];

/// Flags that name a listen address only when they are the whole flag name (`--address` is a
/// listen flag, `--advertise-address` is not).
const LISTEN_EXACT: &[&str] = &["address", "http.address"];

/// Host and port given as two flags (kube-state-metrics: `--host=127.0.0.1 --port=8081`).
const HOST_PORT_FLAGS: &[(&str, &str)] = &[("host", "port"), ("telemetry-host", "telemetry-port")];

/// The operator flag that gives config-reloaders (httpGet) probes in 0.65 to 0.74.
const PROBES_FLAG: &str = "enable-config-reloader-probes";

/// Loopback address a process binds, as found in its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// The host as it goes into a URL: `127.0.0.1` (also for `localhost`), `[::1]`.
    pub host: String,
    pub port: u16,
    /// The flag that said so, for the summary.
    pub flag: String,
}

/// A `--name=value`, `--name`, `-name=value` argument split into name and inline value.
fn flag(arg: &str) -> Option<(&str, Option<&str>)> {
    let body = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
    if body.is_empty() || body.starts_with('-') {
        return None;
    }
    Some(match body.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (body, None),
    })
}

fn is_listen_flag(name: &str) -> bool {
    LISTEN_EXACT.contains(&name)
        || LISTEN_SUFFIXES.iter().any(|s| {
            name == *s
                || name
                    .strip_suffix(s)
                    .is_some_and(|rest| rest.ends_with('-') || rest.ends_with('.'))
        })
}

/// The URL form of a loopback host (`localhost` → `127.0.0.1`, `::1` → `[::1]`), or `None` when
/// the host is not loopback.
fn loopback_host(host: &str) -> Option<String> {
    let inner = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if inner.eq_ignore_ascii_case("localhost") {
        return Some("127.0.0.1".into());
    }
    if let Ok(ip) = inner.parse::<std::net::Ipv6Addr>() {
        return ip.is_loopback().then(|| "[::1]".to_string());
    }
    let ip: Ipv4Addr = inner.parse().ok()?;
    ip.is_loopback().then(|| ip.to_string())
}

/// `127.0.0.1:8080`, `localhost:8080`, `[::1]:8080` → (URL host, port). Values with a scheme
/// (`http://127.0.0.1:8080/`) are where a process *connects*, not where it listens.
fn loopback_addr(value: &str) -> Option<(String, u16)> {
    let (host, port) = if value.starts_with('[') {
        let end = value.find("]:")?;
        (&value[..=end], &value[end + 2..])
    } else {
        value.rsplit_once(':')?
    };
    let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
    Some((loopback_host(host)?, port))
}

/// The words of a container's command line; numbers are read as their text.
fn words(c: &Value) -> Vec<String> {
    ["command", "args"]
        .iter()
        .filter_map(|k| c.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(|w| match w {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

/// The words of a container's command line with shell scripts split into words too, so that
/// `sh -c "exec app --listen-address=127.0.0.1:8080"` is read like the plain form. Quotes
/// around a word are dropped; anything subtler in the script is not interpreted.
fn listen_words(c: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for w in words(c) {
        if w.contains(char::is_whitespace) {
            out.extend(
                w.split_whitespace()
                    .map(|t| {
                        t.trim_matches(|ch| ch == '\'' || ch == '"' || ch == ';')
                            .to_string()
                    })
                    .filter(|t| !t.is_empty()),
            );
        } else {
            out.push(w);
        }
    }
    out
}

/// Loopback addresses a container's process listens on, from its listen flags in both the
/// `--flag=value` and `--flag value` forms.
///
/// kube-rbac-proxy's `--upstream=http://127.0.0.1:8081/` is deliberately not evidence: it says
/// where the proxy connects, and the upstream may well listen on every address.
pub fn loopback_binds(c: &Value) -> Vec<Bind> {
    let words = listen_words(c);
    let mut out: Vec<Bind> = Vec::new();
    let value_of = |i: usize, inline: Option<&str>| -> Option<String> {
        inline
            .map(str::to_string)
            .or_else(|| words.get(i + 1).cloned())
    };
    let mut push = |b: Bind| {
        if !out.iter().any(|o| o.port == b.port && o.host == b.host) {
            out.push(b);
        }
    };
    for (i, w) in words.iter().enumerate() {
        let Some((name, inline)) = flag(w) else {
            continue;
        };
        if is_listen_flag(name)
            && let Some((host, port)) = value_of(i, inline).as_deref().and_then(loopback_addr)
        {
            push(Bind {
                host,
                port,
                flag: format!("--{name}"),
            });
        }
    }
    for (host_flag, port_flag) in HOST_PORT_FLAGS {
        let find = |want: &str| {
            words.iter().enumerate().find_map(|(i, w)| {
                let (name, inline) = flag(w)?;
                (name == want).then(|| value_of(i, inline)).flatten()
            })
        };
        let host = find(host_flag).as_deref().and_then(loopback_host);
        let port = find(port_flag)
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|p| *p > 0);
        if let (Some(host), Some(port)) = (host, port) {
            push(Bind {
                host,
                port,
                flag: format!("--{host_flag}/--{port_flag}"),
            });
        }
    }
    out
}

/// Protect a value from the kubelet, which expands `$(VAR)` (the container's static env vars)
/// and turns `$$` into `$` in exec probe commands before running them, but never touched an
/// httpGet path or header: `$` becomes `$$`, which the kubelet turns back into `$`.
pub fn kubelet_escape(s: &str) -> String {
    s.replace('$', "$$")
}

/// Percent-encode what may not appear raw in a URL, as the kubelet's `url.URL` does when it
/// formats the probe path (a space becomes `%20`). `[`, `]`, `{` and `}` are encoded too, since
/// curl would read them as a glob pattern.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    if !path.starts_with('/') {
        out.push('/');
    }
    for b in path.bytes() {
        let raw = b.is_ascii_graphic()
            && !matches!(
                b,
                b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}' | b'[' | b']'
            );
        if raw {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An httpGet probe handler, resolved against its container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpGet {
    pub https: bool,
    pub port: u16,
    pub path: String,
    /// `httpGet.host`, when set (the kubelet would connect there instead of the pod IP).
    pub host: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl HttpGet {
    /// Read `httpGet`; named ports resolve through the container's `ports`, as the kubelet does.
    pub fn read(http_get: &Value, container: &Value) -> Result<HttpGet, String> {
        let port = match http_get.get("port") {
            Some(Value::Number(n)) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
            Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse().ok()
            }
            Some(Value::String(name)) => {
                let found = container
                    .get("ports")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .find(|p| p.get("name").and_then(Value::as_str) == Some(name.as_str()));
                match found {
                    Some(p) => p
                        .get("containerPort")
                        .and_then(Value::as_u64)
                        .and_then(|p| u16::try_from(p).ok()),
                    None => {
                        return Err(format!(
                            "its port {name:?} is not among the container's ports"
                        ));
                    }
                }
            }
            _ => None,
        };
        let port = port
            .filter(|p| *p > 0)
            .ok_or("its port is not a valid port number")?;
        let scheme = http_get
            .get("scheme")
            .and_then(Value::as_str)
            .unwrap_or("HTTP");
        let https = match scheme.to_ascii_uppercase().as_str() {
            "HTTP" | "" => false,
            "HTTPS" => true,
            _ => return Err(format!("its scheme {scheme:?} is neither HTTP nor HTTPS")),
        };
        let headers = http_get
            .get("httpHeaders")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|h| {
                let name = h.get("name").and_then(Value::as_str)?;
                let value = match h.get("value") {
                    Some(Value::String(s)) => s.clone(),
                    None | Some(Value::Null) => String::new(),
                    Some(other) => other.to_string(),
                };
                Some((name.to_string(), value))
            })
            .collect();
        Ok(HttpGet {
            https,
            port,
            path: http_get
                .get("path")
                .and_then(Value::as_str)
                .unwrap_or("/")
                .to_string(),
            host: http_get
                .get("host")
                .and_then(Value::as_str)
                .filter(|h| !h.is_empty())
                .map(str::to_string),
            headers,
        })
    }

    /// The URL probed from inside the container, on `host` (a loopback address).
    pub fn url(&self, host: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{host}:{}{}", self.port, encode_path(&self.path))
    }

    /// prometheus-operator's probe script: curl if the image has it, else wget, else fail. HTTPS
    /// skips certificate checks (the kubelet does not verify them either); every value is quoted.
    pub fn script(&self, host: &str) -> String {
        let url = sh_quote(&kubelet_escape(&self.url(host)));
        let mut curl = String::from("curl --fail --silent --show-error");
        let mut wget = String::from("wget -q -O /dev/null");
        if self.https {
            curl.push_str(" -k");
            wget.push_str(" --no-check-certificate");
        }
        for (name, value) in &self.headers {
            let h = sh_quote(&kubelet_escape(&format!("{name}: {value}")));
            curl.push_str(&format!(" -H {h}"));
            wget.push_str(&format!(" --header {h}"));
        }
        format!(
            "if [ -x \"$(command -v curl)\" ]; then exec {curl} {url}; elif [ -x \"$(command -v wget)\" ]; then exec {wget} {url}; else exit 1; fi"
        )
    }

    /// The exec handler, built with the Kubernetes type.
    pub fn exec(&self, host: &str) -> Value {
        let action = ExecAction {
            command: Some(vec!["sh".into(), "-c".into(), self.script(host)]),
        };
        serde_json::to_value(action).unwrap_or(Value::Null)
    }
}

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

/// Replace the `httpGet` key of a probe with `exec`, at the same position, keeping every other
/// field (timings, thresholds, terminationGracePeriodSeconds) as it is.
fn replace_handler(probe: &mut Value, exec: Value) {
    let Some(map) = probe.as_object_mut() else {
        return;
    };
    let old = std::mem::take(map);
    let mut exec = Some(exec);
    for (k, v) in old {
        if k == "httpGet" {
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
}

/// Which probes of one pod spec to convert, decided on the unchanged pod so the edit afterwards is
/// a plain replacement. Containers the operator generates (CR entries named like them) are never
/// converted: there the entry is a patch, and a patch cannot swap the handler before 0.91.
fn plan_pod(pod: &Map<String, Value>, cr: Option<CrKind>, ctx: &Ctx, all: bool) -> PodPlan {
    let mut plan = PodPlan::default();
    let generated = |list: &str, name: &str| {
        cr.is_some_and(|k| match list {
            "initContainers" => k.generated_init_containers().contains(&name),
            _ => k.generated_containers().contains(&name),
        })
    };
    let lists: [&'static str; 2] = ["initContainers", "containers"];
    let entries = |list: &'static str| {
        pod.get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
    };
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
        .collect();
    for list in lists {
        for (index, c) in entries(list) {
            let name = workload::container_name(c);
            if !ctx.sel.container(name) {
                continue;
            }
            let mut converted: Vec<&str> = Vec::new();
            let mut why: Vec<String> = Vec::new();
            let mut skipped_generated = false;
            for probe in PROBES {
                let Some(http_get) = c
                    .get(probe)
                    .and_then(|p| p.get("httpGet"))
                    .filter(|h| h.is_object())
                else {
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
                    let w = if *owner == name {
                        format!("{}:{} ({})", b.host, b.port, b.flag)
                    } else {
                        format!("{}:{} ({} of container {owner})", b.host, b.port, b.flag)
                    };
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
            let image = c.get("image").and_then(Value::as_str);
            let reason = if why.is_empty() {
                "all=true".to_string()
            } else {
                format!(
                    "the probed port listens only on {}, which the kubelet cannot reach",
                    why.join(", ")
                )
            };
            plan.notes.push(format!(
                "container {name}: {reason}; {} now run curl or wget inside the container, so its image{} needs sh plus curl or wget",
                converted.join(", "),
                image.map(|i| format!(" {i}")).unwrap_or_default()
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

/// The operator of the stream: a workload running the `prometheus-operator` image.
struct Operator {
    doc: usize,
    id: Identity,
    image: String,
    version: Option<(u64, u64, u64)>,
    probes: bool,
    /// Container names of its pod, for `container=` selectors.
    containers: Vec<String>,
}

fn operators(docs: &Docs) -> Vec<Operator> {
    let mut out = Vec::new();
    for (doc, d) in docs.iter().enumerate() {
        if CrKind::of(&d.id).is_some() {
            continue;
        }
        let Some(pod) = workload::pod_spec(&d.id, &d.value) else {
            continue;
        };
        let containers: Vec<String> = workload::containers(pod)
            .map(|c| workload::container_name(c).to_string())
            .collect();
        for c in pod
            .get("containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(image) = c.get("image").and_then(Value::as_str) else {
                continue;
            };
            if image_name(image) != "prometheus-operator" {
                continue;
            }
            out.push(Operator {
                doc,
                id: d.id.clone(),
                image: image.to_string(),
                version: image_tag(image).and_then(parse_version),
                probes: words(c).iter().any(|w| enables_probes(w)),
                containers: containers.clone(),
            });
        }
    }
    out
}

/// Remove the probes flag from every prometheus-operator container of a pod spec.
fn drop_probes_flag(pod: &mut Map<String, Value>) {
    for c in pod
        .get_mut("containers")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let is_operator = c
            .get("image")
            .and_then(Value::as_str)
            .is_some_and(|i| image_name(i) == "prometheus-operator");
        if !is_operator {
            continue;
        }
        for key in ["command", "args"] {
            if let Some(list) = c.get_mut(key).and_then(Value::as_array_mut) {
                list.retain(|w| !w.as_str().is_some_and(enables_probes));
            }
        }
    }
}

const CHOICES: &str = "set --set exec-probes.operatorVersion=X.Y.Z so helm-fixup can decide; or turn the probes off \
    (remove --enable-config-reloader-probes=true, chart value prometheusOperator.prometheusConfigReloader.enableProbe=false); \
    or upgrade the operator to >= 0.75 (kube-prometheus-stack >= 61), which uses exec probes";

/// CRs with `listenLocal: true`: decide from the operator's version. The CRs themselves are never
/// changed (see the module comment); the operator Deployment may be.
fn operator_crs(docs: &mut Docs, ctx: &mut Ctx, param: Option<(u64, u64, u64)>) {
    let crs: Vec<String> = docs
        .iter()
        .filter(|d| CrKind::of(&d.id).is_some())
        .filter(|d| d.value.at("/spec/listenLocal") == Some(&Value::Bool(true)))
        .filter(|d| {
            let names: Vec<&str> = workload::pod_spec(&d.id, &d.value)
                .map(|p| {
                    workload::containers(p)
                        .map(workload::container_name)
                        .collect()
                })
                .unwrap_or_default();
            // The resource is evidence, not a target: only `--skip` removes it. What changes is
            // the operator, which must be selected itself.
            !ctx.sel
                .skip
                .iter()
                .any(|s| s.matches(&d.id, &d.value, &names))
        })
        .map(|d| d.id.to_string())
        .collect();
    if crs.is_empty() {
        return;
    }
    let p = ctx.profile;
    let ops = operators(docs);
    let handled = |v: (u64, u64, u64), source: &str| {
        format!(
            "listenLocal: prometheus-operator {} ({source}) already gives the config-reloader exec probes; nothing to change",
            show_version(v)
        )
    };
    let too_old = |v: (u64, u64, u64)| {
        format!(
            "listenLocal: prometheus-operator {} predates config-reloader probes (0.65); nothing to change",
            show_version(v)
        )
    };
    if ops.is_empty() {
        for cr in &crs {
            match param {
                None => ctx.report.warn(
                    p,
                    Some(cr.clone()),
                    format!(
                        "listenLocal with an unknown prometheus-operator version (its Deployment is not in this stream): \
                         with 0.65-0.74 and --enable-config-reloader-probes=true the config-reloader restarts forever; {CHOICES}"
                    ),
                ),
                Some(v) if v >= (0, 75, 0) => ctx.report.note(p, Some(cr.clone()), handled(v, "exec-probes.operatorVersion")),
                Some(v) if v < (0, 65, 0) => ctx.report.note(p, Some(cr.clone()), too_old(v)),
                Some(v) => ctx.report.warn(
                    p,
                    Some(cr.clone()),
                    format!(
                        "listenLocal with prometheus-operator {}: if the operator runs with --enable-config-reloader-probes=true \
                         the config-reloader restarts forever, and its Deployment is not in this stream to fix; remove that flag \
                         (prometheusOperator.prometheusConfigReloader.enableProbe=false) or upgrade the operator to >= 0.75",
                        show_version(v)
                    ),
                ),
            }
        }
        return;
    }
    let crs_text = crs.join(", ");
    for op in ops {
        let (version, source) = match (param, op.version) {
            (Some(v), _) => (Some(v), "exec-probes.operatorVersion".to_string()),
            (None, v) => (v, format!("image {}", op.image)),
        };
        let Some(v) = version else {
            for cr in &crs {
                ctx.report.warn(
                    p,
                    Some(cr.clone()),
                    format!(
                        "listenLocal with an unknown prometheus-operator version (image {} of {} has no version tag): \
                         with 0.65-0.74 and --enable-config-reloader-probes=true the config-reloader restarts forever; {CHOICES}",
                        op.image, op.id
                    ),
                );
            }
            continue;
        };
        if v >= (0, 75, 0) {
            for cr in &crs {
                ctx.report.note(p, Some(cr.clone()), handled(v, &source));
            }
        } else if v < (0, 65, 0) {
            for cr in &crs {
                ctx.report.note(p, Some(cr.clone()), too_old(v));
            }
        } else if !op.probes {
            for cr in &crs {
                ctx.report.note(
                    p,
                    Some(cr.clone()),
                    format!(
                        "listenLocal: prometheus-operator {} runs without --enable-config-reloader-probes, so the \
                         config-reloader has no probes; nothing to change",
                        show_version(v)
                    ),
                );
            }
        } else if !ctx.sel.object(
            &op.id,
            &docs.get(op.doc).value,
            &op.containers.iter().map(String::as_str).collect::<Vec<_>>(),
        ) {
            ctx.report.warn(
                p,
                Some(op.id.to_string()),
                format!(
                    "not selected, so --enable-config-reloader-probes=true stays: with prometheus-operator {} the \
                     config-reloader of {crs_text} (listenLocal) restarts forever; select this Deployment or remove the flag",
                    show_version(v)
                ),
            );
        } else {
            let id = op.id.clone();
            let value = docs.edit(op.doc);
            if let Some(pod) = workload::pod_spec_mut(&id, value) {
                drop_probes_flag(pod);
            }
            ctx.report.note(
                p,
                Some(op.id.to_string()),
                format!(
                    "removed --enable-config-reloader-probes=true: prometheus-operator {} gives the config-reloader \
                     httpGet probes, but listenLocal ({crs_text}) binds it to 127.0.0.1 where the kubelet cannot reach \
                     it, so it restarts forever. A spec.containers override cannot replace that probe before operator \
                     0.91 (both handlers are kept and Kubernetes rejects the pod), so the config-reloaders run without \
                     probes instead. The lasting fix is upgrading the operator to >= 0.75 (kube-prometheus-stack >= 61), \
                     which uses exec probes",
                    show_version(v)
                ),
            );
        }
    }
}

impl Fix for ExecProbes {
    fn apply(&self, docs: &mut Docs, ctx: &mut Ctx) -> Result<(), String> {
        let all = ctx.params.bool("all")?;
        let param = match ctx.params.str("operatorVersion") {
            None => None,
            Some(v) => Some(parse_version(v).ok_or_else(|| {
                format!(
                    "{}.operatorVersion={v:?}: expected a version like 0.74.0",
                    ctx.profile
                )
            })?),
        };
        if all && !ctx.sel.explicit() {
            ctx.report.warn(
                ctx.profile,
                None,
                "all=true without --only converts every httpGet probe in the stream; name the containers with \
                 --only exec-probes:container=NAME",
            );
        }
        for i in docs.pods(ctx.sel) {
            let id = docs.get(i).id.clone();
            let cr = CrKind::of(&id);
            let plan = match workload::pod_spec(&id, &docs.get(i).value) {
                Some(pod) => plan_pod(pod, cr, ctx, all),
                None => continue,
            };
            for n in plan.notes {
                ctx.report.note(ctx.profile, Some(id.to_string()), n);
            }
            for w in plan.warnings {
                ctx.report.warn(ctx.profile, Some(id.to_string()), w);
            }
            if plan.conversions.is_empty() {
                continue;
            }
            let value = docs.edit(i);
            if let Some(pod) = workload::pod_spec_mut(&id, value) {
                for conv in plan.conversions {
                    let probe = pod
                        .get_mut(conv.list)
                        .and_then(Value::as_array_mut)
                        .and_then(|l| l.get_mut(conv.index))
                        .and_then(|c| c.get_mut(conv.probe));
                    if let Some(probe) = probe {
                        replace_handler(probe, conv.exec);
                    }
                }
            }
        }
        operator_crs(docs, ctx, param);
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
    fn distroless_images_are_recognised() {
        assert!(looks_distroless("gcr.io/distroless/static:nonroot"));
        assert!(looks_distroless("example.com/app:v1-distroless"));
        assert!(looks_distroless("cgr.dev/chainguard/static"));
        assert!(!looks_distroless("quay.io/prometheus/node-exporter:v1.8.1"));
        assert!(!looks_distroless("example.com/staticfiles:v1"));
    }
}
