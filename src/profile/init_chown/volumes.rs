//! Which volumes a chown may touch, and what backs them: persistent volumes yes; node system
//! directories, sockets and files never; NFS with a warning about root_squash.

use super::*;

/// How a pod volume relates to chowning.
#[derive(Debug, PartialEq)]
pub(super) enum VolumeKind {
    /// Persistent storage the app writes: chown it.
    Persistent,
    /// The volume source itself is read-only.
    ReadOnly,
    /// A hostPath we refuse to touch, with the reason.
    Unsafe(String),
    /// Made by the kubelet for the pod (configMap, emptyDir, ...) or not declared: not ours.
    Other,
}

/// Host directories whose ownership belongs to the node, not to a pod.
pub(super) const SYSTEM_TREES: &[&str] = &[
    "/proc",
    "/sys",
    "/dev",
    "/etc",
    "/boot",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/run",
    "/var/run",
    "/var/log",
    "/var/lib/kubelet",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/root",
];
/// Host directories that are fine to hold data below, but not to chown themselves.
pub(super) const SYSTEM_DIRS: &[&str] = &[
    "/", "/var", "/var/lib", "/opt", "/home", "/mnt", "/srv", "/tmp", "/data", "/media",
];

pub(super) fn host_path_kind(hp: &Value) -> VolumeKind {
    let ty = hp.get("type").and_then(Value::as_str).unwrap_or("");
    if matches!(
        ty,
        "File" | "FileOrCreate" | "Socket" | "CharDevice" | "BlockDevice"
    ) {
        return VolumeKind::Unsafe(format!("it is a host {ty}, not a data directory"));
    }
    let Some(path) = hp.get("path").and_then(Value::as_str) else {
        return VolumeKind::Other;
    };
    let trimmed = path.trim_end_matches('/');
    let norm = if trimmed.is_empty() { "/" } else { trimmed };
    let system = SYSTEM_DIRS.contains(&norm)
        || SYSTEM_TREES
            .iter()
            .any(|t| norm == *t || norm.strip_prefix(t).is_some_and(|r| r.starts_with('/')));
    if system {
        VolumeKind::Unsafe(format!("hostPath {path} is a system directory of the node"))
    } else {
        VolumeKind::Persistent
    }
}

/// Classify volume `name` of a plain pod (a pod volume, else a StatefulSet claim template).
pub(super) fn volume_kind(doc: &Value, pod: &Map<String, Value>, name: &str) -> VolumeKind {
    let vol = workload::items(pod.get("volumes")).find(|v| workload::name(v) == Some(name));
    let Some(vol) = vol else {
        return if workload::claim_template_names(doc).any(|t| t == name) {
            VolumeKind::Persistent
        } else {
            VolumeKind::Other
        };
    };
    if let Some(hp) = vol.get("hostPath") {
        return host_path_kind(hp);
    }
    for key in ["persistentVolumeClaim", "local", "nfs"] {
        if let Some(src) = vol.get(key) {
            return if workload::read_only(src) {
                VolumeKind::ReadOnly
            } else {
                VolumeKind::Persistent
            };
        }
    }
    VolumeKind::Other
}

/// Is pod volume `name` an inline NFS volume? Its server may squash root (`root_squash`, the
/// exports(5) default), and then no capability lets the init container chown it.
pub(super) fn is_nfs(pod: &Map<String, Value>, name: &str) -> bool {
    workload::items(pod.get("volumes"))
        .any(|v| workload::name(v) == Some(name) && v.get("nfs").is_some())
}

pub(super) fn sub_path(m: &Value) -> Option<String> {
    m.get("subPath")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// What backs a volume the helper would chown, as far as the stream shows.
pub(super) enum Backing {
    HostPath(String),
    Nfs(String),
    /// A claim (a PVC volume, a claim template, an operator's storage): the cluster decides.
    Claim,
}

pub(super) fn backing(pod: &Map<String, Value>, volume: &str) -> Backing {
    let Some(v) = workload::items(pod.get("volumes")).find(|v| workload::name(v) == Some(volume))
    else {
        return Backing::Claim;
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("?").to_string();
    if let Some(hp) = v.get("hostPath") {
        return Backing::HostPath(text(hp.get("path")));
    }
    if let Some(nfs) = v.get("nfs") {
        return Backing::Nfs(format!(
            "{}:{}",
            text(nfs.get("server")),
            text(nfs.get("path"))
        ));
    }
    Backing::Claim
}
