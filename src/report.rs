//! The change summary: the only code that formats anything for people.
//!
//! Profiles never print. They change values and leave notes; the engine diffs each document
//! before and after each profile, and this module turns those records into the text summary
//! (one line per object and profile, then added objects, notes, warnings, node preparation and a
//! count line), the JSON form of the same records, and unified diffs for `--diff`.

use crate::yaml::{Pair, align};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// One field that changed: a dotted path (`spec.containers[prometheus].securityContext`) with
/// the values before and after (`None` when absent).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// What one profile did to one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub profile: String,
    pub object: String,
    pub changes: Vec<FieldChange>,
    /// The object now runs with more privilege than the chart asked for (root-run, init-chown).
    pub more_privileged: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Something the user should know but that needs no action (left alone, and why).
    Note,
    /// Something that will probably go wrong, or needs the user's decision.
    Warning,
}

/// A stable identifier of what a message is about, so a script can match it without reading
/// the words (the JSON summary's `code`). The names are a contract: add new ones, never rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// An object now runs with more privilege than the chart asked for.
    MorePrivileged,
    /// A Namespace of the stream enforces a Pod Security level the changed pod violates.
    PodSecurity,
    /// A change to a field Kubernetes will not update on an existing object: an installed
    /// release must do something by hand before the upgrade.
    ImmutableField,
    /// A pod cannot run where its volume is (nodeSelector, node affinity, anti-affinity).
    PlacementConflict,
    /// Without the live volumes, a changed node list may move these volumes (local-pv placed
    /// them away from their first node to keep replicas apart).
    MayMove,
    /// A pre-bound PersistentVolume whose `claimRef` the next Helm 4 upgrade would conflict on.
    SsaClaimref,
    /// A `--only`/`--skip` selector or a profile's target matched no object.
    SelectorUnmatched,
    /// The cluster needs a one-time step the release cannot do (a StorageClass, node dirs).
    ClusterSetup,
    /// An object or container was left alone, and why.
    LeftAlone,
    /// A value in the stream that looks like a chart bug or that the fix cannot use.
    Input,
    /// A mapping repeats a key: Kubernetes, and helm-fixup, use the last value.
    DuplicateKey,
    /// OpenShift's restricted-v2 SecurityContextConstraints would reject a pod as it stands (a
    /// container that needs root or added capabilities, host namespaces or hostPath volumes):
    /// it needs another SCC or a change to the chart's values.
    Scc,
    /// image-mirror rewrote an image reference (before -> after).
    ImageMapped,
    /// An image reference no image-mirror rule maps: pulled from where the chart says.
    ImageUnmapped,
    /// image-mirror dropped (or had to keep) the digest of a reference it moved to a mirror.
    ImageDigest,
    /// Anything else.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Message {
    pub level: Level,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    pub message: String,
    pub code: Code,
}

/// An object a profile added to the stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Added {
    pub profile: String,
    pub object: String,
}

/// Commands the user must run on one node before the pods can start (local-pv).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodePrep {
    pub node: String,
    pub commands: Vec<String>,
}

/// Whether a predicted failure follows from the stream alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Certainty {
    /// The stream alone says the pod will fail (uids that differ on one volume, a probe sent
    /// to a port bound to 127.0.0.1, a hostPath a non-root container writes).
    Definite,
    /// It fails on some clusters: the condition says on which (hostPath or NFS storage, no
    /// default StorageClass).
    Conditional,
}

/// A failure a fix foresees for one object, found while planning: what `diagnose` reports and
/// what `-p auto` decides by. The failure is a code of `diagnose::FAILURES`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Prediction {
    pub failure: &'static str,
    pub profile: String,
    pub object: String,
    /// The fields that show it, in words.
    pub evidence: String,
    pub certainty: Certainty,
    /// For a conditional failure: on which clusters it happens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// What the fix itself will meet on this object: an upgrade Kubernetes rejects (a field it
    /// will not update), a Pod Security level that rejects it. The engine adds these.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caveats: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub profiles: Vec<String>,
    pub documents: usize,
    pub changed: Vec<Record>,
    pub added: Vec<Added>,
    pub messages: Vec<Message>,
    pub node_preparation: Vec<NodePrep>,
    /// Objects a fix that does not normally raise privilege made more privileged this time
    /// (shared-uid sharing a pod's uid 0 with a container that asked for another uid).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub escalated: Vec<String>,
    /// The failures the fixes foresaw while planning (see [`Prediction`]); `diagnose` reports
    /// them, the summary does not.
    #[serde(skip)]
    pub predicted: Vec<Prediction>,
    /// Objects a fix must go on changing although nothing fails there now, as (profile,
    /// object, why): a claim bound to a volume local-pv made is fixed, and only stays so while
    /// local-pv sends that volume on every upgrade. `-p auto` runs the fix on them too.
    #[serde(skip)]
    pub kept: Vec<(String, String, String)>,
    /// Objects a profile sends again as the cluster has them (local-pv's volumes that exist),
    /// listed as kept, not added.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept_objects: Vec<Added>,
    /// Identities (`Kind name`) of the documents a profile adds that already exist; the engine
    /// moves them from `added` to `kept_objects`.
    #[serde(skip)]
    pub resent: HashSet<String>,
    /// The profiles were chosen by `-p auto`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub auto: bool,
    /// The same messages, so a repeated one is dropped without comparing it with every message
    /// so far (a stream with thousands of workloads repeats a note thousands of times).
    #[serde(skip)]
    pub(crate) seen: HashSet<Message>,
}

impl Report {
    /// A failure foreseen for `object` (see [`Prediction`]).
    pub fn predict(
        &mut self,
        failure: &'static str,
        profile: &str,
        object: &str,
        certainty: Certainty,
        evidence: impl Into<String>,
        condition: Option<String>,
    ) {
        self.predicted.push(Prediction {
            failure,
            profile: profile.to_string(),
            object: object.to_string(),
            evidence: evidence.into(),
            certainty,
            condition,
            caveats: Vec::new(),
        });
    }

    /// A note: something left alone, and why (code `left-alone`).
    pub fn note(&mut self, profile: &str, object: Option<String>, message: impl Into<String>) {
        self.push(
            Level::Note,
            Code::LeftAlone,
            profile,
            object,
            message.into(),
        );
    }

    /// A warning with no more specific code (`other`).
    pub fn warn(&mut self, profile: &str, object: Option<String>, message: impl Into<String>) {
        self.push(Level::Warning, Code::Other, profile, object, message.into());
    }

    /// A note with its code.
    pub fn note_code(
        &mut self,
        code: Code,
        profile: &str,
        object: Option<String>,
        message: impl Into<String>,
    ) {
        self.push(Level::Note, code, profile, object, message.into());
    }

    /// A warning with its code.
    pub fn warn_code(
        &mut self,
        code: Code,
        profile: &str,
        object: Option<String>,
        message: impl Into<String>,
    ) {
        self.push(Level::Warning, code, profile, object, message.into());
    }

    /// Take over the messages and the escalated objects of `other` (a fix's findings for one
    /// pod), in their order; a message this report already has is dropped as usual.
    pub fn absorb(&mut self, other: Report) {
        for m in other.messages {
            if !self.seen.contains(&m) {
                self.seen.insert(m.clone());
                self.messages.push(m);
            }
        }
        self.escalated.extend(other.escalated);
        self.predicted.extend(other.predicted);
        self.kept.extend(other.kept);
        self.resent.extend(other.resent);
    }

    fn push(
        &mut self,
        level: Level,
        code: Code,
        profile: &str,
        object: Option<String>,
        message: String,
    ) {
        let m = Message {
            level,
            profile: (!profile.is_empty()).then(|| profile.to_string()),
            object,
            message,
            code,
        };
        if !self.seen.contains(&m) {
            self.seen.insert(m.clone());
            self.messages.push(m);
        }
    }

    /// One `more-privileged` note per object that became more privileged and has no message
    /// with that code yet, so JSON consumers find every one among the messages too.
    pub fn note_more_privileged(&mut self) {
        let named: HashSet<String> = self
            .messages
            .iter()
            .filter(|m| m.code == Code::MorePrivileged)
            .filter_map(|m| m.object.clone())
            .collect();
        let todo: Vec<(String, String)> = self
            .changed
            .iter()
            .filter(|r| r.more_privileged && !named.contains(&r.object))
            .map(|r| (r.profile.clone(), r.object.clone()))
            .collect();
        for (profile, object) in todo {
            self.note_code(
                Code::MorePrivileged,
                &profile,
                Some(object),
                "runs with more privilege than the chart asked for",
            );
        }
    }

    pub fn warnings(&self) -> usize {
        self.messages
            .iter()
            .filter(|m| m.level == Level::Warning)
            .count()
    }

    /// Objects that became more privileged, in order, without repeats.
    pub fn more_privileged(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for r in self.changed.iter().filter(|r| r.more_privileged) {
            if !out.contains(&r.object.as_str()) {
                out.push(&r.object);
            }
        }
        out
    }

    /// The text summary.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let width = self
            .changed
            .iter()
            .map(|r| r.profile.len())
            .chain(self.added.iter().map(|a| a.profile.len()))
            .chain(self.kept_objects.iter().map(|a| a.profile.len()))
            .max()
            .unwrap_or(0);
        if self.profiles.is_empty() && self.auto {
            out.push_str(
                "helm-fixup: -p auto chose no profile (no definite failure it fixes was found); the stream passes \
                 through unchanged\n",
            );
        } else if self.profiles.is_empty() {
            out.push_str("helm-fixup: no profile selected; the stream passes through unchanged\n");
        } else {
            out.push_str(&format!(
                "helm-fixup: profiles {}{}\n",
                self.profiles.join(", "),
                if self.auto {
                    " (chosen by -p auto)"
                } else {
                    ""
                }
            ));
        }
        for r in &self.changed {
            out.push_str(&format!(
                "{:width$}  {}  {}{}\n",
                r.profile,
                r.object,
                describe(&r.changes),
                if r.more_privileged {
                    "  [more privileged]"
                } else {
                    ""
                }
            ));
        }
        for a in &self.added {
            out.push_str(&format!("{:width$}  added {}\n", a.profile, a.object));
        }
        for a in &self.kept_objects {
            out.push_str(&format!(
                "{:width$}  kept {} (exists: sent as the cluster has it)\n",
                a.profile, a.object
            ));
        }
        for m in &self.messages {
            // The "more privileged than the chart asked" line below names these objects.
            if m.code == Code::MorePrivileged && m.level == Level::Note {
                continue;
            }
            let level = match m.level {
                Level::Note => "note",
                Level::Warning => "warning",
            };
            let mut line = format!("{level}: ");
            if let Some(p) = &m.profile {
                line.push_str(&format!("{p}: "));
            }
            if let Some(o) = &m.object {
                line.push_str(&format!("{o}: "));
            }
            line.push_str(&m.message);
            out.push_str(&line);
            out.push('\n');
        }
        let privileged = self.more_privileged();
        if !privileged.is_empty() {
            out.push_str(&format!(
                "more privileged than the chart asked: {}\n",
                privileged.join(", ")
            ));
        }
        if !self.node_preparation.is_empty() {
            out.push_str(
                "prepare the nodes before installing (local volumes need existing directories):\n",
            );
            for n in &self.node_preparation {
                out.push_str(&format!("  on node {}:\n", n.node));
                for c in &n.commands {
                    out.push_str(&format!("    {c}\n"));
                }
            }
        }
        let objects = {
            let mut o: Vec<&str> = self.changed.iter().map(|r| r.object.as_str()).collect();
            o.sort_unstable();
            o.dedup();
            o.len()
        };
        let kept = if self.kept_objects.is_empty() {
            String::new()
        } else {
            format!(", {} kept", self.kept_objects.len())
        };
        out.push_str(&format!(
            "helm-fixup: {} changed, {} added{kept}, {} warning{}, {} more privileged ({} documents)\n",
            plural(objects, "object"),
            self.added.len(),
            self.warnings(),
            if self.warnings() == 1 { "" } else { "s" },
            privileged.len(),
            self.documents
        ));
        out
    }

    /// The JSON summary: the same records.
    pub fn json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into());
        s.push('\n');
        s
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn short(v: &Option<Value>) -> String {
    match v {
        None => "(none)".into(),
        Some(Value::String(s)) => s.clone(),
        // Added containers or volumes: their names say more than their JSON.
        Some(Value::Array(a))
            if !a.is_empty()
                && a.iter()
                    .all(|v| v.get("name").is_some_and(Value::is_string)) =>
        {
            let names: Vec<&str> = a.iter().filter_map(|v| v["name"].as_str()).collect();
            format!("[{}]", names.join(", "))
        }
        Some(Value::Object(o)) if o.len() > 3 => format!("{{{} keys}}", o.len()),
        Some(Value::Array(a)) if a.len() > 3 => format!("[{} items]", a.len()),
        Some(v) => {
            let s = v.to_string();
            if s.len() > 80 {
                format!("{}...", &s[..s.floor_char_boundary(77)])
            } else {
                s
            }
        }
    }
}

/// `spec.securityContext.runAsUser 1000 -> 0, runAsNonRoot true -> false`: later paths are
/// shortened to what differs from the first one's parent.
pub fn describe(changes: &[FieldChange]) -> String {
    let mut parts = Vec::new();
    // The parent of the last path shown in full: later paths below it are shown relative to it.
    let mut base: Option<&str> = None;
    for c in changes {
        let below = base
            .filter(|b| !b.is_empty())
            .and_then(|b| c.path.strip_prefix(b)?.strip_prefix('.'));
        let shown = match below {
            Some(rest) => rest,
            None => {
                base = Some(c.path.rsplit_once('.').map_or("", |(parent, _)| parent));
                c.path.as_str()
            }
        };
        parts.push(match (&c.before, &c.after) {
            (None, Some(_))
                if c.after
                    .as_ref()
                    .is_some_and(|v| v.is_object() || v.is_array()) =>
            {
                format!("{shown} added {}", short(&c.after))
            }
            (Some(_), None) => format!("{shown} removed (was {})", short(&c.before)),
            (Some(Value::Object(b)), Some(Value::Object(a)))
                if !b.is_empty() && !a.is_empty() && b.keys().all(|k| !a.contains_key(k)) =>
            {
                let keys = |m: &Map<String, Value>| m.keys().cloned().collect::<Vec<_>>().join("+");
                format!("{shown} {} -> {}", keys(b), keys(a))
            }
            _ => format!("{shown} {} -> {}", short(&c.before), short(&c.after)),
        });
    }
    parts.join(", ")
}

/// Field-level differences between two values of one document.
pub fn diff(old: &Value, new: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk("", old, new, &mut out);
    out
}

fn join(path: &str, seg: &str) -> String {
    if path.is_empty() {
        seg.to_string()
    } else {
        format!("{path}.{seg}")
    }
}

fn walk(path: &str, old: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    if old != new {
        walk_changed(path, old, new, out);
    }
}

/// [`walk`] for two values known to differ. Children are compared before the walk goes into them
/// (and before their path is built), so each unchanged part is compared once, not once per level.
fn walk_changed(path: &str, old: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Value::Object(o), Value::Object(n))
            if !path.is_empty()
                && n.keys().any(|k| !o.contains_key(k))
                && o.keys().any(|k| !n.contains_key(k)) =>
        {
            let added: Map<String, Value> = n
                .iter()
                .filter(|(k, _)| !o.contains_key(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let removed: Map<String, Value> = o
                .iter()
                .filter(|(k, _)| !n.contains_key(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            // One key replaced by another (a probe's `httpGet` handler becoming `exec`): one
            // change, shown as `livenessProbe httpGet -> exec`.
            out.push(FieldChange {
                path: path.to_string(),
                before: Some(Value::Object(removed)),
                after: Some(Value::Object(added)),
            });
            for (k, nv) in n {
                if let Some(ov) = o.get(k)
                    && ov != nv
                {
                    walk_changed(&join(path, k), ov, nv, out);
                }
            }
        }
        (Value::Object(o), Value::Object(n)) => {
            for (k, nv) in n {
                match o.get(k) {
                    Some(ov) if ov == nv => {}
                    Some(ov) => walk_changed(&join(path, k), ov, nv, out),
                    // An added mapping (a new securityContext) is shown field by field, so the
                    // summary says `runAsUser (none) -> 0` instead of `securityContext added`.
                    None if nv.as_object().is_some_and(|m| !m.is_empty()) => {
                        walk(&join(path, k), &Value::Object(Default::default()), nv, out)
                    }
                    None => out.push(FieldChange {
                        path: join(path, k),
                        before: None,
                        after: Some(nv.clone()),
                    }),
                }
            }
            for (k, ov) in o.iter().filter(|(k, _)| !n.contains_key(*k)) {
                out.push(FieldChange {
                    path: join(path, k),
                    before: Some(ov.clone()),
                    after: None,
                });
            }
        }
        (Value::Array(o), Value::Array(n)) => {
            let label = |v: &Value, i: usize| match v.get("name").and_then(Value::as_str) {
                Some(name) => format!("{path}[{name}]"),
                None => format!("{path}[{i}]"),
            };
            match align(o, n) {
                Some(pairs) => {
                    for p in pairs {
                        match p {
                            Pair::Both(i, j) if o[i] == n[j] => {}
                            Pair::Both(i, j) => walk_changed(&label(&n[j], j), &o[i], &n[j], out),
                            Pair::OldOnly(i) => out.push(FieldChange {
                                path: label(&o[i], i),
                                before: Some(o[i].clone()),
                                after: None,
                            }),
                            Pair::NewOnly(j) => out.push(FieldChange {
                                path: label(&n[j], j),
                                before: None,
                                after: Some(n[j].clone()),
                            }),
                        }
                    }
                }
                None => out.push(FieldChange {
                    path: path.to_string(),
                    before: Some(old.clone()),
                    after: Some(new.clone()),
                }),
            }
        }
        _ => out.push(FieldChange {
            path: path.to_string(),
            before: Some(old.clone()),
            after: Some(new.clone()),
        }),
    }
}

/// A unified diff of one document's text, for `--diff`.
pub fn unified(object: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(2)
        .header(&format!("a/{object}"), &format!("b/{object}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summary_line_matches_the_contract() {
        let old = json!({"spec": {"securityContext": {"runAsUser": 1000, "runAsNonRoot": true}}});
        let new = json!({"spec": {"securityContext": {"runAsUser": 0, "runAsNonRoot": false}}});
        assert_eq!(
            describe(&diff(&old, &new)),
            "spec.securityContext.runAsUser 1000 -> 0, runAsNonRoot true -> false"
        );
    }

    #[test]
    fn replaced_probe_handler_is_one_short_change() {
        let old = json!({"p": {"httpGet": {"port": 8080}, "periodSeconds": 5}});
        let new = json!({"p": {"periodSeconds": 5, "exec": {"command": ["sh", "-c", "x"]}}});
        let d = diff(&old, &new);
        assert_eq!(d.len(), 1);
        assert_eq!(describe(&d), "p httpGet -> exec");
        assert_eq!(
            d[0].after,
            Some(json!({"exec": {"command": ["sh", "-c", "x"]}}))
        );
    }

    #[test]
    fn containers_are_named_in_paths() {
        let old = json!({"c": [{"name": "a", "x": 1}]});
        let new = json!({"c": [{"name": "z"}, {"name": "a", "x": 2}]});
        let d = diff(&old, &new);
        assert_eq!(d[0].path, "c[z]");
        assert_eq!(d[1].path, "c[a].x");
    }

    #[test]
    fn count_line_counts_objects_once() {
        let mut r = Report {
            profiles: vec!["root-run".into()],
            documents: 3,
            ..Default::default()
        };
        for _ in 0..2 {
            r.changed.push(Record {
                profile: "root-run".into(),
                object: "Pod p".into(),
                changes: vec![],
                more_privileged: true,
            });
        }
        r.warn("root-run", None, "w");
        let t = r.text();
        assert!(t.ends_with("helm-fixup: 1 object changed, 0 added, 1 warning, 1 more privileged (3 documents)\n"), "{t}");
        assert!(t.contains("more privileged than the chart asked: Pod p\n"));
    }
}

/// The failures the fixes foresee ([`Prediction::failure`]): codes of `diagnose::FAILURES`,
/// which says, for each, what the user sees and what fixes it.
pub mod failure {
    pub const UNBOUND_CLAIM: &str = "unbound-claim";
    pub const CONFIG_RELOADER_WRITE: &str = "config-reloader-write";
    pub const PROMETHEUS_DATA_WRITE: &str = "prometheus-data-write";
    pub const VOLUME_WRITE: &str = "volume-write";
    pub const THANOS_HARD_LINK: &str = "thanos-hard-link";
    pub const SHARED_VOLUME: &str = "shared-volume";
    pub const LOOPBACK_PROBE: &str = "loopback-probe";
    pub const NO_SHELL: &str = "no-shell";
    pub const SCC_FIXED_UID: &str = "scc-fixed-uid";
    pub const NO_ARCH_IMAGE: &str = "no-arch-image";
    /// Every code above.
    pub const ALL: &[&str] = &[
        UNBOUND_CLAIM,
        CONFIG_RELOADER_WRITE,
        PROMETHEUS_DATA_WRITE,
        VOLUME_WRITE,
        THANOS_HARD_LINK,
        SHARED_VOLUME,
        LOOPBACK_PROBE,
        NO_SHELL,
        SCC_FIXED_UID,
        NO_ARCH_IMAGE,
    ];
}
