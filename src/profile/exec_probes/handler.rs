//! Probe handlers, resolved against their container, and the exec commands that stand for them
//! inside the container.

use super::*;

/// Protect a value from the kubelet, which expands `$(VAR)` (the container's static env vars)
/// and turns `$$` into `$` in exec probe commands before running them, but never touched an
/// httpGet path or header: `$` becomes `$$`, which the kubelet turns back into `$`.
pub fn kubelet_escape(s: &str) -> String {
    s.replace('$', "$$")
}

/// Percent-encode what may not appear raw in a URL, as the kubelet's `url.URL` does when it
/// formats the probe path (a space becomes `%20`). `[`, `]`, `{` and `}` are encoded too, since
/// curl would read them as a glob pattern.
pub(super) fn encode_path(path: &str) -> String {
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
pub(super) fn probe_port(handler: &Value, container: &Value) -> Result<u16, String> {
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
pub(super) fn tcp_exec(host: &str, port: u16) -> Value {
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
