//! local-pv's parameters, checked before any input is read: node lists, paths, names.

use super::*;

/// Longest PV name Kubernetes accepts (DNS-1123 subdomain).
pub(super) const MAX_NAME: usize = 253;

/// The validated parameters.
#[derive(Debug, Clone)]
pub struct Config {
    /// Sorted, without repeats; never empty.
    pub(super) nodes: Vec<String>,
    /// Base directory without a trailing slash ("" for `/`).
    pub(super) base: String,
    pub(super) class: String,
    pub(super) create_class: bool,
    pub(super) namespace: Option<String>,
    pub(super) label_key: String,
    pub(super) keep: bool,
    pub(super) force: bool,
    /// `(claim pattern, node)`: `name` or `namespace/name`, globs allowed, first match wins.
    pub(super) pins: Vec<(String, String)>,
}

impl Config {
    pub(super) fn from(params: &super::Params) -> Result<Config, UsageError> {
        let node = params.str("node");
        let list = params.list("nodes");
        let mut nodes: Vec<String> = match (node, list.is_empty()) {
            (Some(_), false) => {
                return Err(
                    "local-pv: set either node (pin every volume to one node) or nodes (spread \
                            replicas over several), not both"
                        .into(),
                );
            }
            (Some(n), true) => vec![n.trim().to_string()],
            (None, false) => list,
            (None, true) => {
                return Err("local-pv needs the node(s) that hold the disks: --set local-pv.node=<node> \
                            pins every volume to one node, --set local-pv.nodes=<a>,<b>,... spreads the \
                            replicas of each StatefulSet over distinct nodes"
                    .into());
            }
        };
        nodes.sort();
        nodes.dedup();
        if let Some(bad) = nodes.iter().find(|n| !is_label_value(n)) {
            return Err(format!("local-pv: node {bad:?} is not a valid node label value").into());
        }
        let path = params.str("path").unwrap_or("/mnt/disks");
        if !normalised_absolute(path) {
            return Err(format!(
                "local-pv.path={path:?}: expected an absolute directory written plainly: starting \
                 with /, without . or .. parts and without //"
            )
            .into());
        }
        let class = params
            .str("storageClass")
            .unwrap_or("local-storage")
            .to_string();
        if !is_subdomain(&class) {
            return Err(format!(
                "local-pv.storageClass={class:?}: not a valid object name (DNS-1123 subdomain)"
            )
            .into());
        }
        let namespace = params.str("namespace").map(str::to_string);
        if let Some(ns) = namespace.as_deref().filter(|ns| !is_label(ns)) {
            return Err(format!("local-pv.namespace={ns:?}: not a valid namespace name").into());
        }
        let label_key = params
            .str("nodeLabelKey")
            .unwrap_or("kubernetes.io/hostname")
            .to_string();
        if label_key
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!("local-pv.nodeLabelKey={label_key:?}: not a label key").into());
        }
        Ok(Config {
            nodes,
            base: path.trim_end_matches('/').to_string(),
            class,
            create_class: params.bool("createStorageClass")?,
            namespace,
            label_key,
            keep: params.bool("keep")?,
            force: params.bool("force")?,
            pins: params
                .list("pin")
                .into_iter()
                .map(|p| match p.split_once('=') {
                    Some((c, n)) if !c.trim().is_empty() && is_label_value(n.trim()) => {
                        Ok((c.trim().to_string(), n.trim().to_string()))
                    }
                    _ => Err(format!(
                        "local-pv.pin: {p:?} is not CLAIM=NODE (CLAIM: a claim name or namespace/name, \
                         globs allowed; NODE: a node label value)"
                    )),
                })
                .collect::<Result<_, _>>()?,
        })
    }

    /// The node a `pin` gives claim `ns/claim`, if any.
    pub(super) fn pin(&self, ns: &str, claim: &str) -> Option<&str> {
        let full = format!("{ns}/{claim}");
        self.pins
            .iter()
            .find(|(pat, _)| {
                if pat.contains('/') {
                    glob(pat, &full)
                } else {
                    glob(pat, claim)
                }
            })
            .map(|(_, n)| n.as_str())
    }

    pub(super) fn dir(&self, namespace: &str, claim: &str) -> String {
        format!("{}/{namespace}/{claim}", self.base)
    }
}

/// 64-bit FNV-1a: small, stable across platforms and releases (unlike `DefaultHasher`).
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

pub(super) fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

pub(super) fn is_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// Whether `path` is an absolute directory in its plain form: it starts with `/`, and no part is
/// `.`, `..` or empty (`//`); one trailing `/` is allowed. Every PV's `local.path` and every
/// `mkdir`/`chown` of the node preparation is `<path>/<namespace>/<claim>`, so
/// `/a/../../etc` would put volumes, and ownership changes run as root, under `/etc`; and two
/// spellings of one directory would give one volume two paths across upgrades.
pub(super) fn normalised_absolute(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    !path.chars().any(char::is_control)
        && (rest.is_empty() || rest.split('/').all(|p| !matches!(p, "" | "." | "..")))
}

pub(super) fn is_label_value(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Params;
    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, UsageError> {
        Config::from(&Params::from_pairs("local-pv", pairs))
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn pins_match_names_namespaced_names_and_globs() {
        let c = cfg(&[
            ("nodes", "a,b"),
            ("pin", "monitoring/data-db-*=node-x, grafana=node-y"),
        ])
        .unwrap();
        assert_eq!(c.pin("monitoring", "data-db-0"), Some("node-x"));
        assert_eq!(c.pin("other", "data-db-0"), None);
        assert_eq!(c.pin("any", "grafana"), Some("node-y"));
        assert!(cfg(&[("nodes", "a"), ("pin", "grafana")]).is_err());
        assert!(cfg(&[("nodes", "a"), ("pin", "grafana=bad node")]).is_err());
    }

    #[test]
    fn missing_or_conflicting_node_params_explain_themselves() {
        let e = cfg(&[]).unwrap_err();
        assert!(
            e.message().contains("local-pv.node=") && e.message().contains("local-pv.nodes="),
            "{e}"
        );
        assert!(
            cfg(&[("node", "a"), ("nodes", "b,c")])
                .unwrap_err()
                .message()
                .contains("not both")
        );
        assert!(cfg(&[("node", "a b")]).is_err());
        assert!(cfg(&[("node", "a"), ("path", "relative/dir")]).is_err());
        assert!(cfg(&[("node", "a"), ("storageClass", "Local_Storage")]).is_err());
        assert!(cfg(&[("node", "a"), ("namespace", "Bad.NS")]).is_err());
        assert!(cfg(&[("node", "a"), ("keep", "maybe")]).is_err());
    }

    #[test]
    fn local_pv_path_must_be_absolute_and_normalised() {
        for bad in [
            "/a/../../etc",
            "/a/..",
            "/./a",
            "/a/.",
            "//a",
            "/a//b",
            "a/b",
            "/a\nb",
        ] {
            assert!(cfg(&[("node", "a"), ("path", bad)]).is_err(), "{bad:?}");
        }
        for good in ["/", "/mnt/disks", "/mnt/disks/", "/srv/..data/.x"] {
            assert!(cfg(&[("node", "a"), ("path", good)]).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn path_keeps_one_directory_per_claim_under_the_base() {
        let c = cfg(&[("node", "a"), ("path", "/srv/disks/")]).unwrap();
        assert_eq!(c.dir("ns", "x"), "/srv/disks/ns/x");
        let root = cfg(&[("node", "a"), ("path", "/")]).unwrap();
        assert_eq!(root.dir("ns", "x"), "/ns/x");
    }
}
