//! Running kubectl for `helm-fixup doctor` and `--assume cluster`: the only place that touches a
//! cluster, and only to read. The engine never sees kubectl; it gets what was read.
//!
//! Every call is `kubectl get ...` or `kubectl logs ...` (never a verb that writes), in the
//! context the user chose (`--kube-context`, else Helm's `HELM_KUBECONTEXT`, else kubectl's
//! current one; `KUBECONFIG` is inherited), with `--request-timeout` and a deadline on the
//! process itself (an exec credential plugin can hang before any request). Each call is
//! recorded so `--verbose` can list them, and a failure is sorted into the few causes a user can
//! act on: no context, forbidden, unreachable, not found.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set to the kubectl to run (default: `kubectl` on PATH).
pub const ENV_KUBECTL: &str = "HELM_FIXUP_KUBECTL";

/// Why a kubectl call failed, as far as the user can act on it.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// kubectl could not be run at all.
    Missing(String),
    /// No kubeconfig, no current context, or the named context does not exist.
    NoContext(String),
    /// The API server refused this user (RBAC).
    Forbidden(String),
    /// The API server could not be reached, or did not answer in time.
    Unreachable(String),
    /// The resource or the API does not exist (an OpenShift API on another cluster).
    NotFound(String),
    Other(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Missing(m) => write!(
                f,
                "{m} (install kubectl, or set {ENV_KUBECTL} to the kubectl to run)"
            ),
            Failure::NoContext(m) => write!(
                f,
                "no cluster to talk to: {m} (set KUBECONFIG, or pass --kube-context CONTEXT)"
            ),
            Failure::Forbidden(m) => write!(f, "forbidden: {m}"),
            Failure::Unreachable(m) => write!(f, "the cluster is unreachable: {m}"),
            Failure::NotFound(m) => write!(f, "not found: {m}"),
            Failure::Other(m) => write!(f, "{m}"),
        }
    }
}

/// Sort kubectl's error output into a [`Failure`]. The phrases are kubectl's and client-go's
/// own: `clientcmd` (`invalid configuration: no configuration has been provided`, `context "x"
/// does not exist`, `current-context is not set`), the API server's `Forbidden` status
/// (`... is forbidden: User "u" cannot list resource ...`), the transport (`Unable to connect to
/// the server`, `connection refused`, `i/o timeout`, `context deadline exceeded`), and
/// `NotFound` (`the server could not find the requested resource`, `(NotFound)`).
pub fn classify(stderr: &str) -> Failure {
    // kubectl's own verdict is its last line; client-go's klog lines before it
    // (`E1208 00:42:39.398704 2761 memcache.go:265] ...`) are noise to the user.
    let klog = |l: &str| {
        let b = l.as_bytes();
        b.len() > 5
            && b"EIWF".contains(&b[0])
            && b[1..5].iter().all(u8::is_ascii_digit)
            && b[5] == b' '
    };
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let line = lines
        .iter()
        .rev()
        .find(|l| !klog(l))
        .or(lines.last())
        .copied()
        .unwrap_or("kubectl failed with no message")
        .to_string();
    let low = stderr.to_lowercase();
    let has = |w: &str| low.contains(w);
    if has("no configuration has been provided")
        || has("current-context is not set")
        || (has("context") && has("does not exist"))
        || has("the connection to the server localhost:8080 was refused")
    {
        Failure::NoContext(line)
    } else if has("forbidden") {
        Failure::Forbidden(line)
    } else if has("unable to connect to the server")
        || has("connection refused")
        || has("i/o timeout")
        || has("no such host")
        || has("context deadline exceeded")
        || has("tls handshake timeout")
    {
        Failure::Unreachable(line)
    } else if has("notfound")
        || has("not found")
        || has("could not find the requested resource")
        || has("doesn't have a resource type")
    {
        Failure::NotFound(line)
    } else {
        Failure::Other(line)
    }
}

/// A kubectl to read a cluster with.
pub struct Kubectl {
    bin: String,
    context: Option<String>,
    /// The whole process's deadline (each request also has `--request-timeout`).
    deadline: Duration,
    /// Every call made, as typed, for `--verbose`.
    pub calls: std::cell::RefCell<Vec<String>>,
}

impl Kubectl {
    /// `context`: `--kube-context`, else `HELM_KUBECONTEXT` (the caller reads the environment).
    pub fn new(context: Option<String>) -> Kubectl {
        let bin = std::env::var(ENV_KUBECTL)
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "kubectl".into());
        Kubectl {
            bin,
            context: context.filter(|c| !c.is_empty()),
            deadline: Duration::from_secs(60),
            calls: Default::default(),
        }
    }

    /// Run `kubectl ARGS` (a `get` or `logs`) and return its stdout.
    pub fn run(&self, args: &[&str]) -> Result<String, Failure> {
        debug_assert!(matches!(args.first(), Some(&"get") | Some(&"logs")));
        let mut full: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        if let Some(c) = &self.context {
            full.push(format!("--context={c}"));
        }
        full.push("--request-timeout=30s".into());
        self.calls.borrow_mut().push(format!(
            "{} {}",
            self.bin,
            full.iter()
                .map(|a| crate::shell::quote_word(a))
                .collect::<Vec<_>>()
                .join(" ")
        ));
        let mut child = Command::new(&self.bin)
            .args(&full)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Failure::Missing(format!("running {}: {e}", self.bin)))?;
        // Read both pipes on threads so a large answer cannot fill a pipe while we wait.
        let mut out = child.stdout.take();
        let mut err = child.stderr.take();
        let reader = std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(o) = out.as_mut() {
                let _ = o.read_to_end(&mut s);
            }
            s
        });
        let err_reader = std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(e) = err.as_mut() {
                let _ = e.read_to_end(&mut s);
            }
            s
        });
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if start.elapsed() > self.deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(Failure::Unreachable(format!(
                        "kubectl {} did not finish in {} s",
                        args.join(" "),
                        self.deadline.as_secs()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(Failure::Other(format!("waiting for {}: {e}", self.bin))),
            }
        };
        let stdout = reader.join().unwrap_or_default();
        let stderr = err_reader.join().unwrap_or_default();
        if !status.success() {
            return Err(classify(&String::from_utf8_lossy(&stderr)));
        }
        String::from_utf8(stdout)
            .map_err(|_| Failure::Other(format!("{} printed invalid UTF-8", self.bin)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_errors_are_sorted_by_what_the_user_can_do() {
        assert!(matches!(
            classify("error: context \"lab\" does not exist"),
            Failure::NoContext(_)
        ));
        assert!(matches!(
            classify(
                "The connection to the server localhost:8080 was refused - did you specify the right host or port?"
            ),
            Failure::NoContext(_)
        ));
        assert!(matches!(
            classify(
                "Error from server (Forbidden): pods is forbidden: User \"dev\" cannot list resource \"pods\""
            ),
            Failure::Forbidden(_)
        ));
        assert!(matches!(
            classify("Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout"),
            Failure::Unreachable(_)
        ));
        assert!(matches!(
            classify(
                "Error from server (NotFound): the server could not find the requested resource"
            ),
            Failure::NotFound(_)
        ));
        assert!(matches!(classify(""), Failure::Other(_)));
        // The verdict, not client-go's log lines before it.
        let f = classify(
            "E1208 00:42:39.398704    2761 memcache.go:265] \"Unhandled Error\" err=\"couldn't get current server API group list\"\n\
             The connection to the server localhost:8080 was refused - did you specify the right host or port?\n",
        );
        assert_eq!(
            f,
            Failure::NoContext(
                "The connection to the server localhost:8080 was refused - did you specify the right host or port?".into()
            )
        );
    }
}
