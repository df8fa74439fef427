//! Selectors: which objects (and which containers) a profile may touch.
//!
//! A selector is `key=value` terms joined by commas (all must match): `kind=Prometheus`,
//! `name=kps-*`, `namespace=monitoring`, `label=app.kubernetes.io/name=grafana`,
//! `container=config-reloader`. A `PROFILE:` prefix scopes it to one profile. `--only` keeps the
//! objects that match any of its selectors; `--skip` drops those that match any.

use crate::error::UsageError;
use crate::manifest::Identity;
use serde_json::Value;

/// Selector keys, listed in errors.
pub const KEYS: &[&str] = &[
    "kind",
    "name",
    "namespace",
    "label",
    "container",
    "apiVersion",
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    Kind(String),
    Name(String),
    Namespace(String),
    ApiVersion(String),
    Label(String, Option<String>),
    Container(String),
}

/// One selector: every term must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// The profile it is scoped to (`root-run:kind=Prometheus`), or all profiles.
    pub profile: Option<String>,
    terms: Vec<Term>,
    text: String,
}

impl Selector {
    /// Parse `[PROFILE:]key=value[,key=value...]`; `profiles` are the valid scope names.
    pub fn parse(text: &str, profiles: &[&str]) -> Result<Selector, UsageError> {
        let (profile, body) = match text.split_once(':') {
            Some((p, rest)) if !p.contains('=') => {
                if !profiles.contains(&p) {
                    return Err(format!(
                        "selector {text:?}: unknown profile {p:?} (valid: {})",
                        profiles.join(", ")
                    )
                    .into());
                }
                (Some(p.to_string()), rest)
            }
            _ => (None, text),
        };
        let mut terms = Vec::new();
        for part in body.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').ok_or_else(|| {
                format!(
                    "selector {text:?}: {part:?} is not key=value (keys: {})",
                    KEYS.join(", ")
                )
            })?;
            // Every object has a kind, a name and an apiVersion, and every container a name:
            // an empty one matches nothing, which is a typo. `namespace=` is meaningful: the
            // objects without a namespace.
            let no_key = key == "label" && value.split('=').next().is_none_or(str::is_empty);
            if no_key || value.is_empty() && key != "namespace" && KEYS.contains(&key) {
                let example = match key {
                    "label" => "label=KEY or label=KEY=VALUE",
                    "kind" => "kind=StatefulSet",
                    "apiVersion" => "apiVersion=apps/v1",
                    "container" => "container=thanos-sidecar",
                    _ => "name=prometheus-*",
                };
                return Err(format!(
                    "selector {text:?}: {part:?} has no value to match (e.g. {example}; globs \
                     allowed)"
                )
                .into());
            }
            let value = value.to_string();
            terms.push(match key {
                "kind" => Term::Kind(value),
                "name" => Term::Name(value),
                "namespace" => Term::Namespace(value),
                "apiVersion" => Term::ApiVersion(value),
                "container" => Term::Container(value),
                "label" => match value.split_once('=') {
                    Some((k, v)) => Term::Label(k.to_string(), Some(v.to_string())),
                    None => Term::Label(value, None),
                },
                other => {
                    return Err(format!(
                        "selector {text:?}: unknown key {other:?} (valid: {})",
                        KEYS.join(", ")
                    )
                    .into());
                }
            });
        }
        if terms.is_empty() {
            return Err(format!("selector {text:?} is empty (keys: {})", KEYS.join(", ")).into());
        }
        Ok(Selector {
            profile,
            terms,
            text: text.to_string(),
        })
    }

    pub fn applies_to(&self, profile: &str) -> bool {
        self.profile.as_deref().is_none_or(|p| p == profile)
    }

    /// Does the object match? Container terms match when the pod has such a container.
    pub fn matches(&self, id: &Identity, doc: &Value, containers: &[&str]) -> bool {
        self.terms.iter().all(|t| match t {
            Term::Kind(k) => glob(k, &id.kind),
            Term::Name(n) => glob(n, &id.name),
            Term::Namespace(n) => glob(n, id.namespace.as_deref().unwrap_or("")),
            Term::ApiVersion(a) => glob(a, &id.api_version),
            Term::Label(k, v) => Identity::labels(doc)
                .and_then(|l| l.get(k))
                .is_some_and(|lv| {
                    v.as_ref()
                        .is_none_or(|v| lv.as_str().is_some_and(|s| glob(v, s)))
                }),
            Term::Container(c) => containers.iter().any(|name| glob(c, name)),
        })
    }

    /// Container-name patterns of this selector.
    fn container_patterns(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().filter_map(|t| match t {
            Term::Container(c) => Some(c.as_str()),
            _ => None,
        })
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// `*` matches any run of characters; everything else is literal.
pub fn glob(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let mut rest = s;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// The selection that applies to one profile.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub only: Vec<Selector>,
    pub skip: Vec<Selector>,
    /// The objects (`Kind namespace/name`, as [`Identity`] shows them) `-p auto` found a failure
    /// in: the profile touches no other. Unlike `--only`, it leaves the profile's own targeting
    /// as it is (not [`Selection::explicit`]).
    pub within: Option<std::collections::HashSet<String>>,
}

impl Selection {
    /// The selectors of `all` that apply to `profile`.
    pub fn for_profile(only: &[Selector], skip: &[Selector], profile: &str) -> Selection {
        let pick = |v: &[Selector]| {
            v.iter()
                .filter(|s| s.applies_to(profile))
                .cloned()
                .collect()
        };
        Selection {
            only: pick(only),
            skip: pick(skip),
            within: None,
        }
    }

    /// May the profile touch this object at all?
    pub fn object(&self, id: &Identity, doc: &Value, containers: &[&str]) -> bool {
        (self.only.is_empty() || self.only.iter().any(|s| s.matches(id, doc, containers)))
            && !self.skip.iter().any(|s| s.matches(id, doc, containers))
            && self
                .within
                .as_ref()
                .is_none_or(|w| w.contains(&id.to_string()))
    }

    /// May the profile touch this container of a selected object? `container=` terms in `--only`
    /// restrict container-level changes; in `--skip` they exclude containers.
    pub fn container(&self, name: &str) -> bool {
        let only: Vec<&str> = self
            .only
            .iter()
            .flat_map(Selector::container_patterns)
            .collect();
        (only.is_empty() || only.iter().any(|p| glob(p, name)))
            && !self
                .skip
                .iter()
                .flat_map(Selector::container_patterns)
                .any(|p| glob(p, name))
    }

    /// True when the user named targets for this profile (its built-in default targeting is then
    /// widened to every object the selection allows).
    pub fn explicit(&self) -> bool {
        !self.only.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> (Identity, Value) {
        let v = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "kps-grafana", "namespace": "monitoring", "labels": {"app.kubernetes.io/name": "grafana"}}});
        (Identity::of(&v), v)
    }

    #[test]
    fn a_term_without_a_value_is_a_usage_error() {
        for bad in [
            "kind=",
            "name=",
            "container=",
            "apiVersion=",
            "label=",
            "label==x",
        ] {
            let e = Selector::parse(bad, &[]).unwrap_err();
            assert!(e.message().contains("has no value to match"), "{bad}: {e}");
        }
        // The objects without a namespace, and a label whose value is empty.
        assert!(Selector::parse("namespace=", &[]).is_ok());
        assert!(Selector::parse("label=app=", &[]).is_ok());
    }

    #[test]
    fn terms_are_anded_and_globbed() {
        let (id, v) = doc();
        let s = Selector::parse("kind=Deployment,name=kps-*", &[]).unwrap();
        assert!(s.matches(&id, &v, &[]));
        let s = Selector::parse("kind=Deployment,namespace=other", &[]).unwrap();
        assert!(!s.matches(&id, &v, &[]));
        let s = Selector::parse("label=app.kubernetes.io/name=grafana", &[]).unwrap();
        assert!(s.matches(&id, &v, &[]));
        let s = Selector::parse("container=graf*", &[]).unwrap();
        assert!(s.matches(&id, &v, &["grafana"]));
    }

    #[test]
    fn unknown_keys_and_profiles_list_the_valid_ones() {
        let e = Selector::parse("knd=Pod", &["root-run"]).unwrap_err();
        assert!(e.message().contains("valid: kind, name"), "{e}");
        let e = Selector::parse("rootrun:kind=Pod", &["root-run"]).unwrap_err();
        assert!(e.message().contains("valid: root-run"), "{e}");
    }

    #[test]
    fn profile_scope_and_container_filter() {
        let only = vec![
            Selector::parse("exec-probes:container=config-reloader", &["exec-probes"]).unwrap(),
        ];
        let sel = Selection::for_profile(&only, &[], "exec-probes");
        assert!(sel.container("config-reloader") && !sel.container("prometheus"));
        assert!(
            Selection::for_profile(&only, &[], "root-run")
                .only
                .is_empty()
        );
    }

    #[test]
    fn glob_edges() {
        assert!(glob("*", "") && glob("a*c", "abc") && glob("*c", "abc") && !glob("a*d", "abc"));
        assert!(glob("a*b*c", "aXbYc") && !glob("abc", "abcd"));
    }
}
