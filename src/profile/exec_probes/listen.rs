//! Where a container listens: the loopback addresses its command line binds, in every form of
//! listen flag (`--flag=ADDR`, `--flag ADDR`, `-flag=ADDR`, Go-style camelCase).

use super::*;

/// Listen flags, matched as the whole flag name or its last `-`/`.` separated part(s):
/// `--listen-address`, `--web.listen-address`, `--secure-listen-address`,
/// `--cluster.listen-address`, `--http-address`, `--metrics-bind-address`,
/// `--health-probe-bind-address`, `--listen`...
pub(super) const LISTEN_SUFFIXES: &[&str] = &[
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
pub(super) const LISTEN_EXACT: &[&str] = &["address", "http.address"];

/// Host and port given as two flags (kube-state-metrics: `--host=127.0.0.1 --port=8081`).
pub(super) const HOST_PORT_FLAGS: &[(&str, &str)] =
    &[("host", "port"), ("telemetry-host", "telemetry-port")];

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
pub(super) fn flag(arg: &str) -> Option<(&str, Option<&str>)> {
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
pub(super) fn is_listen_flag(name: &str) -> bool {
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
pub(super) fn kebab(name: &str) -> String {
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
pub(super) fn loopback_host(host: &str) -> Option<String> {
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
pub(super) fn loopback_addr(value: &str) -> Option<(String, u16)> {
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
pub(super) fn words(c: &Value) -> Vec<String> {
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
pub(super) fn listen_words(c: &Value) -> Vec<String> {
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
    for b in env_binds(c) {
        push(b);
    }
    out
}

/// Listen addresses set by environment variables, where components document them:
/// VictoriaMetrics' `-envflag.enable` reads every flag from `<prefix><flagName>`
/// (`VM_httpListenAddr=127.0.0.1:8428`; lib/envflag), and any variable whose name reads as a
/// listen flag (`WEB_LISTEN_ADDRESS`, `HTTP_LISTEN_ADDR`) with an `ADDR:PORT` value counts the
/// same; Grafana's `GF_SERVER_HTTP_ADDR` names the host and `GF_SERVER_HTTP_PORT` the port
/// (default 3000, grafana `conf/defaults.ini` `[server] http_port`). Values from `valueFrom`
/// (a ConfigMap, a Secret) are not seen.
fn env_binds(c: &Value) -> Vec<Bind> {
    let env: Vec<(&str, &str)> = workload::items(c.get("env"))
        .filter_map(|e| Some((e.get("name")?.as_str()?, e.get("value")?.as_str()?)))
        .collect();
    let mut out = Vec::new();
    for (name, value) in &env {
        // `WEB_LISTEN_ADDRESS` reads as `web-listen-address`, `VM_httpListenAddr` as
        // `vm-http-listen-addr` (camelCase kept for `is_listen_flag` to split).
        let flag = name.replace('_', "-");
        let flag = if name.bytes().any(|b| b.is_ascii_lowercase()) {
            flag
        } else {
            flag.to_ascii_lowercase()
        };
        if is_listen_flag(&flag)
            && let Some((host, port)) = loopback_addr(value)
        {
            out.push(Bind {
                host,
                port,
                flag: format!("env {name}"),
            });
        }
    }
    let get = |n: &str| env.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
    if let Some(host) = get("GF_SERVER_HTTP_ADDR").and_then(loopback_host) {
        let port = get("GF_SERVER_HTTP_PORT")
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or(3000);
        out.push(Bind {
            host,
            port,
            flag: "env GF_SERVER_HTTP_ADDR".into(),
        });
    }
    out
}

/// A loopback listener a configuration file sets, in a ConfigMap of the stream.
#[derive(Debug, Clone)]
pub struct ConfigListener {
    pub namespace: Option<String>,
    pub configmap: String,
    pub bind: Bind,
}

/// Markers of the configuration keys [`config_binds`] reads: ConfigMaps holding one are read
/// by the engine (others are copied through unread: dashboards make most of a stream's bytes).
pub const CONFIG_MARKERS: &[&str] = &[
    "health_check",
    "healthcheckv2",
    "HTTP_Listen",
    "http_listen",
];

/// The loopback listeners configuration files set, where the components document them:
/// opentelemetry-collector's (and Jaeger v2's) `health_check` / `healthcheckv2` extension
/// `endpoint: HOST:PORT` (the target of their charts' probes), fluent-bit's `[SERVICE]`
/// `HTTP_Listen` with `HTTP_Port` (default 2020), in the classic and YAML formats. Lines are
/// read as text: an `endpoint` counts only inside a health check block.
pub fn config_binds(text: &str) -> Vec<(String, u16, &'static str)> {
    let mut out = Vec::new();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut health: Option<usize> = None;
    let mut fb_host: Option<String> = None;
    let mut fb_port: Option<u16> = None;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(h) = health
            && indent(line) <= h
        {
            health = None;
        }
        let key = t.split([':', ' ', '\t']).next().unwrap_or("");
        if matches!(key, "health_check" | "healthcheckv2") && t.ends_with(':') {
            health = Some(indent(line));
            continue;
        }
        let value = |t: &str| {
            t.split_once([':', ' ', '\t'])
                .map(|(_, v)| v.trim().trim_matches(['"', '\'']).to_string())
        };
        if health.is_some()
            && key == "endpoint"
            && let Some((host, port)) = value(t).as_deref().and_then(loopback_addr)
        {
            out.push((host, port, "health_check endpoint"));
        }
        if key.eq_ignore_ascii_case("HTTP_Listen") {
            fb_host = value(t).as_deref().and_then(loopback_host);
        }
        if key.eq_ignore_ascii_case("HTTP_Port") {
            fb_port = value(t).and_then(|v| v.parse().ok());
        }
    }
    if let Some(host) = fb_host {
        out.push((host, fb_port.unwrap_or(2020), "HTTP_Listen"));
    }
    out
}

/// Every loopback listener the stream's ConfigMaps set.
pub fn config_listeners(docs: &crate::profile::Docs) -> Vec<ConfigListener> {
    let mut out = Vec::new();
    for d in docs.iter().filter(|d| d.id.kind == "ConfigMap") {
        for (key, text) in d
            .value
            .get("data")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let Some(text) = text.as_str() else { continue };
            for (host, port, what) in config_binds(text) {
                out.push(ConfigListener {
                    namespace: d.id.namespace.clone(),
                    configmap: d.id.name.clone(),
                    bind: Bind {
                        host,
                        port,
                        flag: format!("{what} in ConfigMap {} ({key})", d.id.name),
                    },
                });
            }
        }
    }
    out
}

/// The listeners of the ConfigMaps a pod mounts (as a volume, or projected), in its namespace.
pub fn mounted_listeners(
    id: &crate::manifest::Identity,
    pod: &serde_json::Map<String, Value>,
    all: &[ConfigListener],
) -> Vec<Bind> {
    if all.is_empty() {
        return Vec::new();
    }
    let mut names: Vec<&str> = Vec::new();
    for v in workload::items(pod.get("volumes")) {
        if let Some(n) = v.pointer("/configMap/name").and_then(Value::as_str) {
            names.push(n);
        }
        for src in workload::items(v.pointer("/projected/sources")) {
            if let Some(n) = src.pointer("/configMap/name").and_then(Value::as_str) {
                names.push(n);
            }
        }
    }
    all.iter()
        .filter(|l| {
            names.contains(&l.configmap.as_str())
                && (l.namespace.is_none() || id.namespace.is_none() || l.namespace == id.namespace)
        })
        .map(|l| l.bind.clone())
        .collect()
}
