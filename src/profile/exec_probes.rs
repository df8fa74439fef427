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

/// Whether a flag names a listen address. Go's `flag` package style, camelCase after one dash
/// or two (VictoriaMetrics' `-httpListenAddr`, `-graphiteListenAddr`), is read as its kebab
/// form (`http-listen-addr`).
fn is_listen_flag(name: &str) -> bool {
    let kebab = kebab(name);
    let name = kebab.as_str();
    LISTEN_EXACT.contains(&name)
        || LISTEN_SUFFIXES.iter().any(|s| {
            name == *s
                || name
                    .strip_suffix(s)
                    .is_some_and(|rest| rest.ends_with('-') || rest.ends_with('.'))
        })
}

/// `httpListenAddr` -> `http-listen-addr`; names without capitals are returned as they are.
fn kebab(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with(['-', '.']) {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
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

/// The words of a container's command line; numbers are read as their text, other entries
/// that are not strings are no words.
fn words(c: &Value) -> Vec<String> {
    workload::command_line(c)
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

/// A probe handler's `port`, resolved as the kubelet does: a number, or the name of one of the
/// container's `ports`. A port written as a float with no fraction (`8080.0`) is that whole
/// number to Kubernetes (see [`crate::workload::whole_number`]).
fn probe_port(handler: &Value, container: &Value) -> Result<u16, String> {
    let port_number =
        |v: &Value| crate::workload::whole_number(v).and_then(|p| u16::try_from(p).ok());
    let port = match handler.get("port") {
        Some(n @ Value::Number(_)) => port_number(n),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        Some(Value::String(name)) => {
            let found = workload::items(container.get("ports"))
                .find(|p| workload::name(p) == Some(name.as_str()));
            match found {
                Some(p) => p.get("containerPort").and_then(port_number),
                None => {
                    return Err(format!(
                        "its port {name:?} is not among the container's ports"
                    ));
                }
            }
        }
        _ => None,
    };
    port.filter(|p| *p > 0)
        .ok_or_else(|| "its port is not a valid port number".to_string())
}

/// The exec handler that stands for a `tcpSocket` probe of a loopback port: connect from inside
/// the container with `nc -z` (busybox and netcat images have it) or bash's `/dev/tcp`, else
/// fail, as the tcpSocket probe did.
fn tcp_exec(host: &str, port: u16) -> Value {
    let h = sh_quote(host.trim_start_matches('[').trim_end_matches(']'));
    let script = format!(
        "if [ -x \"$(command -v nc)\" ]; then exec nc -z {h} {port}; elif [ -x \"$(command -v bash)\" ]; then exec bash -c \
         'exec 3<>/dev/tcp/'{h}'/{port}'; else exit 1; fi"
    );
    json!({"command": ["sh", "-c", script]})
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
    /// A port written as a float with no fraction (`8080.0`) is that whole number to Kubernetes
    /// (see [`crate::workload::whole_number`]), in the probe as in `containerPort`.
    pub fn read(http_get: &Value, container: &Value) -> Result<HttpGet, String> {
        let port = probe_port(http_get, container)?;
        let scheme = http_get
            .get("scheme")
            .and_then(Value::as_str)
            .unwrap_or("HTTP");
        let https = match scheme.to_ascii_uppercase().as_str() {
            "HTTP" | "" => false,
            "HTTPS" => true,
            _ => return Err(format!("its scheme {scheme:?} is neither HTTP nor HTTPS")),
        };
        let headers = workload::items(http_get.get("httpHeaders"))
            .filter_map(|h| {
                let name = workload::name(h)?;
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

    /// The exec handler (a Kubernetes `ExecAction`: only `command`).
    pub fn exec(&self, host: &str) -> Value {
        json!({"command": ["sh", "-c", self.script(host)]})
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
fn plan_pod(pod: &Map<String, Value>, cr: Option<CrKind>, sel: &Selection, all: bool) -> PodPlan {
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
                    let w = if *owner == name {
                        format!("{}:{} ({})", b.host, b.port, b.flag)
                    } else {
                        format!("{}:{} ({} of container {owner})", b.host, b.port, b.flag)
                    };
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

/// The operator of the stream: a workload running the `prometheus-operator` image.
struct Operator {
    doc: usize,
    id: Identity,
    image: String,
    version: Option<(u64, u64, u64)>,
    probes: bool,
    /// Container names of its pod, for `container=` selectors.
    containers: Vec<String>,
    /// `--prometheus-default-base-image`: the image of a Prometheus CR without `spec.image`.
    prometheus_base: Option<String>,
    /// `--prometheus-config-reloader`: the image of every config-reloader it generates.
    reloader: Option<String>,
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
        for c in workload::items(pod.get("containers")) {
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
                prometheus_base: flag_value(&words(c), "prometheus-default-base-image"),
                reloader: flag_value(&words(c), "prometheus-config-reloader"),
            });
        }
    }
    out
}

/// The value of `--name=value` or `--name value` in a command line (the last one wins, as with
/// Go's flag package); empty values read as unset.
fn flag_value(words: &[String], name: &str) -> Option<String> {
    let mut found = None;
    for (i, w) in words.iter().enumerate() {
        if let Some((n, inline)) = flag(w)
            && n == name
        {
            found = inline
                .map(str::to_string)
                .or_else(|| words.get(i + 1).cloned());
        }
    }
    found.filter(|v| !v.trim().is_empty())
}

/// Remove the probes flag from every prometheus-operator container of a pod spec.
fn drop_probes_flag(pod: &mut Map<String, Value>) {
    for c in workload::items_mut(pod.get_mut("containers")) {
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
    // Each CR, with the image its own `config-reloader` entry gives (the operator indexes the
    // entries by name, so the last one counts).
    let (crs, reloader_entries): (Vec<String>, Vec<Option<String>>) = docs
        .iter()
        .filter(|d| CrKind::of(&d.id).is_some())
        .filter(|d| d.value.at("/spec/listenLocal") == Some(&Value::Bool(true)))
        .filter(|d| {
            let names = workload::container_names(&d.id, &d.value);
            // The resource is evidence, not a target: only `--skip` removes it. What changes is
            // the operator, which must be selected itself.
            !ctx.sel
                .skip
                .iter()
                .any(|s| s.matches(&d.id, &d.value, &names))
        })
        .map(|d| {
            let image = workload::items(d.value.at("/spec/containers"))
                .rfind(|c| workload::container_name(c) == "config-reloader")
                .and_then(|c| c.get("image"))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|i| !i.is_empty())
                .map(str::to_string);
            (d.id.to_string(), image)
        })
        .unzip();
    if crs.is_empty() {
        return;
    }
    let p = ctx.profile;
    let ops = operators(docs);
    let handled = |v: (u64, u64, u64), source: &str| {
        format!(
            "listenLocal: prometheus-operator {} ({source}) already gives the config-reloader exec probes; nothing to change for it",
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
            for (cr, entry_image) in crs.iter().zip(&reloader_entries) {
                let image = entry_image
                    .clone()
                    .or_else(|| op.reloader.clone())
                    .unwrap_or_else(|| format!("{DEFAULT_RELOADER}:v{}", show_version(v)));
                if op.probes && looks_distroless(&image) {
                    ctx.report.warn_code(
                        crate::report::Code::LeftAlone,
                        p,
                        Some(cr.clone()),
                        format!(
                            "listenLocal: the config-reloader runs image {image}, which looks distroless (no sh), and \
                             prometheus-operator {} gives it sh -c curl/wget exec probes \
                             (--enable-config-reloader-probes=true), which fail there; no probe tool is known in that \
                             image: use the busybox-based {DEFAULT_RELOADER} image or turn the probes off \
                             (prometheusOperator.prometheusConfigReloader.enableProbe=false)",
                            show_version(v)
                        ),
                    );
                } else {
                    ctx.report.note(p, Some(cr.clone()), handled(v, &source));
                }
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
            ctx.report.predict(
                failure::LOOPBACK_PROBE,
                p,
                &op.id.to_string(),
                crate::report::Certainty::Definite,
                format!(
                    "{crs_text}: listenLocal: true binds the config-reloader to 127.0.0.1, and prometheus-operator {} \
                     runs with --enable-config-reloader-probes=true, which gives it httpGet probes to the pod IP",
                    show_version(v)
                ),
                None,
            );
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

// ---------------------------------------------------------------------------------------------
// listenLocal on images without a shell.
//
// Whatever the operator version, a Prometheus or PrometheusAgent with `listenLocal: true` gets
// `sh -c 'if [ -x "$(command -v curl)" ] ...'` exec probes on its `prometheus` container
// (prometheus-operator v0.93.0 `pkg/prometheus/promcfg.go` `buildProbeHandler` with
// `pkg/operator/prober.go` `ExecAction`; the same script in `pkg/prometheus/statefulset.go` since
// long before 0.50). The `-distroless` Prometheus images (prometheus v3.10.0 and later,
// `Dockerfile.distroless`: `FROM gcr.io/distroless/static-debian13`) have no `sh`, so those probes
// can never pass: the pod never becomes Ready and the startup probe restarts it
// (prometheus-operator#8605, helm-charts#6957). kube-prometheus-stack 85.0.0 and later default to
// such an image (`prometheus.prometheusSpec.image.tag: v3.x.y-distroless`).
//
// Both Prometheus image variants ship `/bin/promtool` (`Dockerfile` and `Dockerfile.distroless`
// copy it there), whose `check healthy` / `check ready` subcommands take `--url` and GET
// `<url>/-/healthy` / `<url>/-/ready` (prometheus v3.14.0 `cmd/promtool/main.go`,
// `CheckServerStatus`; present in every v3). The operator merges a CR's `spec.containers` entry
// into the container it generates with a strategic merge patch by name (`pkg/k8s/merge.go`
// `MergePatchContainers`): a probe given as `exec.command` only keeps the operator's handler type
// and timing fields, and the command list is replaced whole (`ExecAction.command` has no patch
// strategy). So the fix adds exactly that, and no timings: the operator's timings stay, among
// them the startup probe it derives from `maximumStartupDurationSeconds` (`BuildProbes`).
//
// The other generated containers need nothing: Alertmanager's own container has no probes under
// listenLocal (`pkg/alertmanager/statefulset.go`), neither have thanos-ruler
// (`pkg/thanos/statefulset.go`) and the thanos sidecar; the config-reloader has probes only with
// `--enable-config-reloader-probes=true` and its image is busybox-based
// (`cmd/prometheus-config-reloader/Dockerfile`), so only a distroless replacement of it warns.

/// prometheus-operator's default Prometheus base image (`pkg/operator/defaults.go`, v0.93.0).
const DEFAULT_PROMETHEUS_BASE: &str = "quay.io/prometheus/prometheus";

/// prometheus-operator's default config-reloader image, tagged with the operator's version
/// (`pkg/operator/defaults.go`): built `FROM quay.io/prometheus/busybox`, so it has `sh` and `wget`.
const DEFAULT_RELOADER: &str = "quay.io/prometheus-operator/prometheus-config-reloader";

/// Where both Prometheus image variants put promtool (prometheus v3.14.0 `Dockerfile`,
/// `Dockerfile.distroless`). An absolute path: exec probes do not go through a shell, and the
/// distroless image is not guaranteed a `PATH` that covers it.
const PROMTOOL: &str = "/bin/promtool";

/// The address the operator binds Prometheus to under listenLocal (`--web.listen-address=
/// 127.0.0.1:9090`, `pkg/prometheus/promcfg.go`). The operator's own probe says `localhost`; the
/// bound address itself needs no `/etc/hosts` lookup, which could also yield `::1` first.
const PROMETHEUS_LOCAL: &str = "http://127.0.0.1:9090";

/// The main container's probes, which promtool check each runs: `/-/healthy` for liveness,
/// `/-/ready` for readiness and startup, as the operator's `BuildProbes` does.
const MAIN_PROBES: [(&str, &str); 3] = [
    ("livenessProbe", "healthy"),
    ("readinessProbe", "ready"),
    ("startupProbe", "ready"),
];

type Version = (u64, u64, u64);

/// The operator version the stream (or `operatorVersion`) tells, and where it came from.
fn stream_operator_version(ops: &[Operator], param: Option<Version>) -> Option<(Version, String)> {
    if let Some(v) = param {
        return Some((v, "exec-probes.operatorVersion".into()));
    }
    let first = ops.first()?;
    let v = first.version?;
    ops.iter()
        .all(|o| o.version == Some(v))
        .then(|| (v, format!("image {}", first.image)))
}

/// The operator's `--prometheus-default-base-image`, when every operator of the stream agrees.
fn stream_prometheus_base(ops: &[Operator]) -> Option<String> {
    let base = |o: &Operator| {
        o.prometheus_base
            .clone()
            .unwrap_or_else(|| DEFAULT_PROMETHEUS_BASE.to_string())
    };
    let first = base(ops.first()?);
    ops.iter().all(|o| base(o) == first).then_some(first)
}

/// Does an image reference carry its own tag or digest (then the operator uses it as it is)?
fn tagged_or_digested(image: &str) -> bool {
    image.contains('@') || image_tag(image).is_some()
}

/// A non-empty string field of a CR spec.
fn spec_str<'a>(doc: &'a Value, field: &str) -> Option<&'a str> {
    doc.at(&format!("/spec/{field}"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The image the operator runs in the `prometheus` container, as its `BuildImagePath`
/// (`pkg/operator/image.go`) builds it: the CR entry's own `image`, else `spec.image`, else the
/// base image (`spec.baseImage`, Prometheus only, or the operator's
/// `--prometheus-default-base-image`) as it is when tagged, else with `@sha256:<sha>`, `:<tag>`
/// or `:v<version>`. `Err` says what is missing.
fn prometheus_image(
    kind: CrKind,
    doc: &Value,
    entry: Option<&Value>,
    ops: &[Operator],
) -> Result<String, String> {
    if let Some(i) = entry
        .and_then(|e| e.get("image"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        return Ok(i.to_string());
    }
    if let Some(i) = spec_str(doc, "image") {
        return Ok(i.to_string());
    }
    // PrometheusAgent has no baseImage, tag or sha (`BuildImagePathForAgent`).
    let server = kind == CrKind::Prometheus;
    let base = match server.then(|| spec_str(doc, "baseImage")).flatten() {
        Some(b) => b.to_string(),
        None if ops.is_empty() => {
            return Err("spec.image is not set and the prometheus-operator Deployment, whose \
                        --prometheus-default-base-image gives the image then, is not in this stream"
                .into());
        }
        None => stream_prometheus_base(ops).ok_or(
            "spec.image is not set and the operators of this stream disagree on --prometheus-default-base-image",
        )?,
    };
    if tagged_or_digested(&base) {
        return Ok(base);
    }
    if let Some(sha) = server.then(|| spec_str(doc, "sha")).flatten() {
        return Ok(format!("{base}@sha256:{sha}"));
    }
    if let Some(tag) = server.then(|| spec_str(doc, "tag")).flatten() {
        return Ok(format!("{base}:{tag}"));
    }
    match spec_str(doc, "version") {
        Some(v) => Ok(format!(
            "{base}:v{}",
            v.strip_prefix(['v', 'V']).unwrap_or(v)
        )),
        // The operator's default version: a plain `vX.Y.Z` tag, never a variant.
        None => Ok(format!("{base}:<the operator's default version>")),
    }
}

/// Which probes the operator gives the `prometheus` container under listenLocal: since 0.53
/// startup, readiness and liveness; before, readiness only (v0.50.0 `pkg/prometheus/
/// statefulset.go`; v0.53.0 adds the others). A patch entry must not add a probe the operator
/// does not generate: it would run with Kubernetes' default timings, and a liveness or startup
/// probe of 3 x 10 s kills a Prometheus replaying its WAL. With the operator version unknown, a
/// Prometheus 3 `spec.version` still tells: operators before 0.77 refuse major version 3
/// (`pkg/prometheus/promcfg.go`, `NewConfigGenerator`).
fn generated_main_probes(
    operator: Option<Version>,
    spec_version: Option<Version>,
) -> Option<&'static [(&'static str, &'static str)]> {
    match operator {
        Some(v) if v >= (0, 53, 0) => Some(&MAIN_PROBES),
        Some(_) => Some(&MAIN_PROBES[1..2]),
        None if spec_version.is_some_and(|v| v.0 >= 3) => Some(&MAIN_PROBES),
        None => None,
    }
}

/// `spec.routePrefix` cleaned like Go's `path.Clean`, as the operator's probe path is, without a
/// trailing slash (promtool appends `/-/healthy` to the URL), percent-encoded for the URL and
/// `$`-escaped for the kubelet. `/` and empty give "".
fn route_prefix(prefix: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in prefix.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    if parts.is_empty() {
        return String::new();
    }
    kubelet_escape(&encode_path(&format!("/{}", parts.join("/"))))
}

/// The exec handler of one promtool check (a Kubernetes `ExecAction`: only `command`).
fn promtool_exec(check: &str, url: &str) -> Value {
    json!({"command": [PROMTOOL, "check", check, format!("--url={url}")]})
}

/// What one probe of the chart's `prometheus` entry becomes.
#[derive(Debug, PartialEq)]
enum ProbeEdit {
    /// The entry had no such probe, or one with timings only: the exec handler is added.
    Added(Value),
    /// An exec handler that needs a shell, or an earlier promtool command: replaced.
    Replaced(Value),
    /// Already the wanted command.
    Same,
    /// The chart's own handler, left alone; why.
    Kept(String),
}

/// Handler keys of a probe.
const HANDLERS: [&str; 4] = ["exec", "httpGet", "tcpSocket", "grpc"];

fn probe_edit(existing: Option<&Value>, exec: &Value) -> ProbeEdit {
    let Some(existing) = existing.filter(|v| !v.is_null()) else {
        return ProbeEdit::Added(json!({ "exec": exec }));
    };
    let Some(map) = existing.as_object() else {
        return ProbeEdit::Kept("is not a mapping".into());
    };
    let handlers: Vec<&str> = HANDLERS
        .iter()
        .copied()
        .filter(|h| map.get(*h).is_some_and(|v| !v.is_null()))
        .collect();
    let with_exec = || {
        let mut m = Map::new();
        m.insert("exec".into(), exec.clone());
        for (k, v) in map {
            if !HANDLERS.contains(&k.as_str()) {
                m.insert(k.clone(), v.clone());
            }
        }
        Value::Object(m)
    };
    match handlers.as_slice() {
        [] => ProbeEdit::Added(with_exec()),
        ["exec"] => {
            if map.get("exec") == Some(exec) {
                return ProbeEdit::Same;
            }
            let first = workload::items(map.get("exec").and_then(|e| e.get("command")))
                .next()
                .and_then(Value::as_str)
                .unwrap_or("");
            let program = first.rsplit('/').next().unwrap_or(first);
            if matches!(program, "promtool" | "sh" | "ash" | "bash" | "dash") {
                ProbeEdit::Replaced(with_exec())
            } else {
                ProbeEdit::Kept(format!("runs its own command {first:?}"))
            }
        }
        hs => ProbeEdit::Kept(format!("sets its own {} handler", hs.join(" and "))),
    }
}

/// What to do about one listenLocal Prometheus or PrometheusAgent.
enum MainPlan {
    /// The image is not known to lack a shell: the operator's probes run.
    HasShell(String),
    Unknown(String),
    /// No shell, and no tool known in the image to probe with.
    NoTool(String),
    /// No shell, but which probes the operator generates is unknown.
    UnknownProbes(String),
    /// No shell, and `spec.containers` is not a list to add the entry to.
    BadContainers(String),
    Patch {
        image: String,
        url: String,
        edits: Vec<(&'static str, &'static str, ProbeEdit)>,
    },
}

/// The chart's last `spec.containers` entry named `prometheus`: the operator indexes patches by
/// name, so of two the last one wins.
fn main_entry(doc: &Value) -> Option<&Value> {
    workload::items(doc.at("/spec/containers"))
        .rfind(|c| workload::container_name(c) == "prometheus")
}

fn plan_main(kind: CrKind, doc: &Value, ops: &[Operator], param: Option<Version>) -> MainPlan {
    let entry = main_entry(doc);
    let image = match prometheus_image(kind, doc, entry, ops) {
        Ok(i) => i,
        Err(why) => return MainPlan::Unknown(why),
    };
    if !looks_distroless(&image) {
        return MainPlan::HasShell(image);
    }
    if image_name(&image) != "prometheus" {
        return MainPlan::NoTool(image);
    }
    let spec_version = spec_str(doc, "version").and_then(parse_version);
    let operator = stream_operator_version(ops, param).map(|(v, _)| v);
    let Some(probes) = generated_main_probes(operator, spec_version) else {
        return MainPlan::UnknownProbes(image);
    };
    if doc
        .at("/spec/containers")
        .is_some_and(|c| !c.is_null() && !c.is_array())
    {
        return MainPlan::BadContainers(image);
    }
    let url = format!(
        "{PROMETHEUS_LOCAL}{}",
        route_prefix(spec_str(doc, "routePrefix").unwrap_or("/"))
    );
    let edits = probes
        .iter()
        .map(|&(probe, check)| {
            let exec = promtool_exec(check, &url);
            (
                probe,
                check,
                probe_edit(entry.and_then(|e| e.get(probe)), &exec),
            )
        })
        .collect();
    MainPlan::Patch { image, url, edits }
}

/// Write the planned probes into the CR's `prometheus` entry, adding the entry (and the
/// `containers` list) when the chart has none.
fn write_main(doc: &mut Value, edits: &[(&'static str, &'static str, ProbeEdit)]) {
    let Some(spec) = doc.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(list) = workload::list_entry(spec, "containers") else {
        return;
    };
    let index = match list
        .iter()
        .rposition(|c| workload::container_name(c) == "prometheus")
    {
        Some(i) => i,
        None => {
            list.push(json!({ "name": "prometheus" }));
            list.len() - 1
        }
    };
    let Some(entry) = list.get_mut(index).and_then(Value::as_object_mut) else {
        return;
    };
    for (probe, _, edit) in edits {
        if let ProbeEdit::Added(v) | ProbeEdit::Replaced(v) = edit {
            entry.insert((*probe).to_string(), v.clone());
        }
    }
}

/// listenLocal Prometheus and PrometheusAgent resources whose image has no shell get promtool
/// exec probes through their `prometheus` entry (see the section comment).
fn listen_local_images(docs: &mut Docs, ctx: &mut Ctx, param: Option<Version>) {
    let ops = operators(docs);
    let p = ctx.profile;
    for i in 0..docs.len() {
        let d = docs.get(i);
        let Some(kind) =
            CrKind::of(&d.id).filter(|k| matches!(k, CrKind::Prometheus | CrKind::PrometheusAgent))
        else {
            continue;
        };
        if d.value.at("/spec/listenLocal") != Some(&Value::Bool(true)) {
            continue;
        }
        // Selectors see the operator's containers too: `--only container=prometheus` means
        // the container the operator generates, whether or not the chart has an entry for it.
        let mut names = workload::container_names(&d.id, &d.value);
        names.extend(kind.generated_containers());
        if ctx
            .sel
            .skip
            .iter()
            .any(|s| s.matches(&d.id, &d.value, &names))
        {
            continue;
        }
        let selected = ctx.sel.object(&d.id, &d.value, &names) && ctx.sel.container("prometheus");
        let id = d.id.to_string();
        let why_fails = |image: &str| {
            format!(
                "listenLocal: image {image} has no shell, so the operator's sh -c curl/wget probes of the \
                 prometheus container can never pass and the pod never becomes Ready (prometheus-operator#8605)"
            )
        };
        match plan_main(kind, &d.value, &ops, param) {
            MainPlan::HasShell(image) => ctx.report.note(
                p,
                Some(id),
                format!(
                    "listenLocal: image {image} does not look distroless (no -distroless tag), so the operator's sh -c curl/wget probes \
                     of the prometheus container run; nothing to change"
                ),
            ),
            MainPlan::Unknown(why) => ctx.report.warn_code(
                crate::report::Code::Input,
                p,
                Some(id),
                format!(
                    "listenLocal: cannot tell the prometheus container's image ({why}); if it has no shell (a \
                     -distroless tag) the operator's sh -c probes never pass and the pod never becomes Ready. Set \
                     spec.image (kube-prometheus-stack: prometheus.prometheusSpec.image) so helm-fixup can decide"
                ),
            ),
            MainPlan::NoTool(image) => ctx.report.warn_code(
                crate::report::Code::LeftAlone,
                p,
                Some(id),
                format!(
                    "{}; no probe tool is known in that image: use an image with a shell (the default \
                     quay.io/prometheus/prometheus tag, busybox-based) or give the prometheus container exec \
                     probes that image can run in spec.containers",
                    why_fails(&image)
                ),
            ),
            MainPlan::UnknownProbes(image) => ctx.report.warn_code(
                crate::report::Code::Input,
                p,
                Some(id),
                format!(
                    "{}; which probes the operator generates depends on its version, which is unknown here: set \
                     --set exec-probes.operatorVersion=X.Y.Z (or spec.version) so helm-fixup can replace them with \
                     promtool",
                    why_fails(&image)
                ),
            ),
            MainPlan::BadContainers(image) => ctx.report.warn_code(
                crate::report::Code::Input,
                p,
                Some(id),
                format!(
                    "{}; spec.containers is not a list, so no prometheus entry can be added: fix the chart value",
                    why_fails(&image)
                ),
            ),
            MainPlan::Patch { image, url, edits } => {
                let changes: Vec<String> = edits
                    .iter()
                    .filter(|(_, _, e)| matches!(e, ProbeEdit::Added(_) | ProbeEdit::Replaced(_)))
                    .map(|(probe, check, _)| format!("{probe} (promtool check {check})"))
                    .collect();
                let kept: Vec<String> = edits
                    .iter()
                    .filter_map(|(probe, _, e)| match e {
                        ProbeEdit::Kept(why) => Some(format!("{probe} {why}")),
                        _ => None,
                    })
                    .collect();
                if !changes.is_empty() && !selected {
                    ctx.report.warn_code(
                        crate::report::Code::LeftAlone,
                        p,
                        Some(id.clone()),
                        format!(
                            "not selected: {}; select it (container prometheus) so its spec.containers entry gets \
                             promtool probes",
                            why_fails(&image)
                        ),
                    );
                } else if !changes.is_empty() {
                    write_main(docs.edit(i), &edits);
                    ctx.report.predict(
                        failure::NO_SHELL,
                        p,
                        &id,
                        crate::report::Certainty::Definite,
                        why_fails(&image),
                        None,
                    );
                    ctx.report.note_code(
                        crate::report::Code::Other,
                        p,
                        Some(id.clone()),
                        format!(
                            "{}. Its spec.containers entry prometheus now gives {} as exec probes running \
                             {PROMTOOL} (in both Prometheus image variants) against {url}: the same handler type, so the \
                             operator's strategic merge replaces only the command and keeps its timings",
                            why_fails(&image),
                            changes.join(", ")
                        ),
                    );
                } else if kept.is_empty() {
                    ctx.report.note(
                        p,
                        Some(id.clone()),
                        format!(
                            "listenLocal: image {image} has no shell, and the prometheus entry's probes already run \
                             promtool; nothing to change"
                        ),
                    );
                }
                if !kept.is_empty() {
                    ctx.report.warn_code(
                        crate::report::Code::LeftAlone,
                        p,
                        Some(id),
                        format!(
                            "listenLocal: image {image} has no shell; in the chart's spec.containers entry \
                             prometheus, {}: left alone, as the chart's own choice. It must work without a shell, \
                             and before operator 0.91 a handler type other than exec is kept next to the \
                             operator's and Kubernetes rejects the pod; {PROMTOOL} check healthy|ready --url={url} \
                             as an exec probe works",
                            kept.join(", ")
                        ),
                    );
                }
            }
        }
    }
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
    type Survey = ();

    /// `finish` edits the operator's Deployment and the distroless Prometheus resources.
    const FINISH_EDITS: bool = true;

    fn survey(&self, &(all, _): &Self::Settings, _docs: &Docs, ctx: &mut Ctx) {
        if all && !ctx.sel.explicit() {
            ctx.report.warn(
                ctx.profile,
                None,
                "all=true without --only converts every httpGet probe in the stream; name the containers with \
                 --only exec-probes:container=NAME",
            );
        }
    }

    fn plan(&self, at: Planning<'_, Self>) -> Result<Findings, UsageError> {
        let Planning {
            settings: &(all, _),
            view,
            sel,
            profile,
            ..
        } = at;
        let plan = plan_pod(view.pod, view.cr, sel, all);
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
        if let Some(pod) = workload::pod_spec_mut(view.id, &mut value) {
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
        _: (),
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
