//! `image-mirror`: rewrite every image reference of the stream by prefix rules, for clusters
//! that pull from a mirror (air-gapped installs) and for LoongArch, where prometheus-operator
//! publishes no loong64 images and mirrors rebuild them (`cr.loongnix.cn/prometheus/...`, whose
//! tags drop the `v`).
//!
//! An image is named in more places than the containers. Besides `image` of every container,
//! init container and ephemeral container of every pod spec the workload model knows (the
//! fixup-chown container init-chown adds among them: image-mirror runs after it), the operator
//! reads images from its custom resources and from its own flags, which kustomize's `images:`
//! never sees:
//!
//! - CR fields (prometheus-operator v0.93 CRD types, `pkg/apis/monitoring/v1*/…_types.go`):
//!   `spec.image` on Prometheus, PrometheusAgent, Alertmanager and ThanosRuler; the deprecated
//!   `spec.baseImage`/`spec.tag`/`spec.sha` on Prometheus and Alertmanager only
//!   (`PrometheusSpec`, `AlertmanagerSpec`; `CommonPrometheusFields` has none, so a
//!   PrometheusAgent has none); `spec.thanos.image` and `spec.thanos.baseImage`/`tag`/`sha` on
//!   Prometheus (`ThanosSpec`).
//! - How they combine (`pkg/operator/image.go` `BuildImagePath`): a non-empty `image` wins and is
//!   used as written; else `baseImage` (or the operator's default base image) is used as it is
//!   when it carries a tag or digest; else `@sha256:<sha>`, else `:<tag>`, else `:<version>` is
//!   appended. So `tag` and `sha` are edited only when the CR has no `image` (the operator
//!   ignores them then), while `baseImage` is always rewritten, so no unused reference outside
//!   the mirror stays in the output.
//! - The operator's flags (`cmd/operator/main.go`, Go's `flag` package, so `-name=value`,
//!   `--name=value`, `-name value` and `--name value` all work): `--prometheus-config-reloader`
//!   (the config-reloader image: a container nowhere in the stream),
//!   `--prometheus-default-base-image`, `--alertmanager-default-base-image`,
//!   `--thanos-default-base-image`. The base images are "path without tag/version", though
//!   kube-prometheus-stack passes `--thanos-default-base-image=quay.io/thanos/thanos:v0.42.4`
//!   (tagged: used as is, as above). A flag the Deployment does not pass still names an image:
//!   the operator's built-in one (`pkg/operator/defaults.go`), which a CR without `image` or
//!   `baseImage` pulls. So a missing flag whose built-in value a rule maps is added with the
//!   mirrored value (operators since v0.42, whose built-in images are these), and one no rule
//!   maps counts as unmapped.
//!
//! Rules: `FROM=TO[;tag=s/PATTERN/REPLACEMENT/]...`, matched against the normalised reference
//! (Docker's rules, `distribution/reference` `ParseNormalizedNamed`: no registry part → `docker.io`,
//! a single name on docker.io → `docker.io/library/NAME`, `index.docker.io` → `docker.io`). A rule
//! matches on path-component boundaries (`quay.io/prometheus` matches `quay.io/prometheus/x`,
//! not `quay.io/prometheus-operator/x`); a FROM ending in `*` is a plain text prefix. The longest
//! matching FROM wins; the output is TO plus the rest of the normalised name, then the tag and
//! digest. A reference already under some rule's TO is left alone: that is what makes a second
//! run (and every `helm upgrade`) change nothing.
//!
//! Digests: a mirror's manifest digest is not the source's when it rebuilt or re-platformed the
//! image, so a mapped `name:tag@sha256:…` loses its digest (with a warning) and is pulled by
//! tag. A reference with only a digest has no tag to fall back to (dropping the digest would pull
//! `latest`): it keeps the digest, with a warning; that is right for a pull-through cache or a
//! `skopeo copy --all`, which keep manifests unchanged.

use super::driver::{Findings, Planning, PodFix};
use super::{Ctx, Docs, Fix, Params, UsageError};
use crate::manifest::Identity;
use crate::report::Code;
use crate::workload::{self, At, CrKind};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

mod rules;
mod sites;

use rules::*;
use sites::*;

pub struct ImageMirror;

/// The operator flags that name an image, and whether the operator appends a version to a
/// value without a tag (the default base images) or uses it as written (the config-reloader).
const FLAGS: &[(&str, bool)] = &[
    ("prometheus-config-reloader", false),
    ("prometheus-default-base-image", true),
    ("alertmanager-default-base-image", true),
    ("thanos-default-base-image", true),
];

/// The operator's built-in values of its base image flags when the Deployment does not pass
/// them (`pkg/operator/defaults.go`: `DefaultPrometheusBaseImage`, `DefaultAlertmanagerBaseImage`,
/// `DefaultThanosBaseImage`; the same since v0.42). A CR without `image` or `baseImage` pulls
/// these, so an air-gapped cluster needs them mirrored although the stream never names them.
const DEFAULT_BASES: &[(&str, &str)] = &[
    (
        "prometheus-default-base-image",
        "quay.io/prometheus/prometheus",
    ),
    (
        "alertmanager-default-base-image",
        "quay.io/prometheus/alertmanager",
    ),
    ("thanos-default-base-image", "quay.io/thanos/thanos"),
];

/// The operator's built-in config-reloader: this repository, tagged `v` + the operator's own
/// version (`DefaultPrometheusConfigReloaderImage`, since v0.42; before it was on quay.io/coreos).
const DEFAULT_RELOADER: &str = "quay.io/prometheus-operator/prometheus-config-reloader";

/// The first operator version whose built-in images are the ones above.
const DEFAULTS_SINCE: (u64, u64, u64) = (0, 42, 0);

/// Container lists of a pod spec, in the order they are read.
const LISTS: &[&str] = &["initContainers", "containers", "ephemeralContainers"];

/// The parameters, checked.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub rules: Vec<Rule>,
    /// Unmapped references are an error (exit 3).
    pub require: bool,
}

impl Settings {
    pub fn parse(rules: &[String], require: bool) -> Result<Settings, String> {
        let rules: Vec<Rule> = rules
            .iter()
            .map(|r| Rule::parse(r).map_err(|e| format!("image-mirror.map: {e}")))
            .collect::<Result<_, _>>()?;
        for (i, a) in rules.iter().enumerate() {
            if let Some(b) = rules[..i]
                .iter()
                .find(|b| b.from == a.from && b.plain == a.plain)
            {
                return Err(format!(
                    "image-mirror.map: rules {:?} and {:?} both map {}; keep one",
                    b.text, a.text, a.from
                ));
            }
            // A FROM under some TO could never apply (references under a TO are mirrored
            // already), and its output would match again on the next run.
            if let Some(b) = rules.iter().find(|b| under(&a.from, &b.to)) {
                return Err(format!(
                    "image-mirror.map: rule {:?} maps {} but that is under the mirror {} of rule {:?}, \
                     so its references count as mirrored already; map the source registry instead",
                    a.text, a.from, b.to, b.text
                ));
            }
        }
        Ok(Settings { rules, require })
    }

    /// The rule for a normalised name: the longest matching FROM.
    fn rule<'a>(&self, name: &'a str) -> Option<(usize, &'a str)> {
        self.rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.rest(name).map(|rest| (i, rest)))
            .max_by_key(|(i, _)| (self.rules[*i].from.len(), !self.rules[*i].plain))
    }

    /// What the rules make of `text`.
    pub fn map(&self, text: &str) -> Mapping {
        let Some(r) = Reference::parse(text) else {
            return Mapping::Invalid;
        };
        if self.rules.iter().any(|rule| under(&r.name, &rule.to)) {
            return Mapping::Mirrored;
        }
        let Some((i, rest)) = self.rule(&r.name) else {
            return Mapping::Unmapped;
        };
        let rule = &self.rules[i];
        let mut after = format!("{}{rest}", rule.to);
        let tag = r.tag.as_deref().map(|t| {
            let edited = rule.tags.iter().fold(t.to_string(), |t, e| e.apply(&t));
            // An edit that leaves no valid tag (s/^v// on "v") keeps the tag as it was.
            if valid_tag(&edited) {
                edited
            } else {
                t.to_string()
            }
        });
        if let Some(t) = &tag {
            after.push(':');
            after.push_str(t);
        }
        let (dropped_digest, kept_digest) = match (&r.digest, &tag) {
            (Some(d), Some(_)) => (Some(d.clone()), false),
            (Some(d), None) => {
                after.push('@');
                after.push_str(d);
                (None, true)
            }
            (None, _) => (None, false),
        };
        Mapping::Mapped {
            after,
            rule: i,
            dropped_digest,
            kept_digest,
            untagged: r.tag.is_none() && r.digest.is_none() && !rule.tags.is_empty(),
        }
    }
}

/// Whether normalised `name` is `prefix` or below it, on path-component boundaries.
fn under(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// What the fix saw over the stream, for the summary at the end.
#[derive(Debug, Default)]
pub struct Seen {
    /// before → after, each distinct image once.
    mapped: BTreeMap<String, String>,
    /// Unmapped references with the objects naming them.
    unmapped: BTreeMap<String, BTreeSet<String>>,
    /// Values that are no image reference, with the objects naming them.
    invalid: BTreeMap<String, BTreeSet<String>>,
    /// References already under a mirror.
    mirrored: BTreeSet<String>,
}

impl Fix for ImageMirror {
    type Settings = Settings;

    fn configure(&self, params: &Params) -> Result<Settings, UsageError> {
        let require = params.bool("require")?;
        Ok(Settings::parse(&params.list("map"), require)?)
    }
}

/// Under `--assume arch=ARCH` for an architecture public images rarely publish (anything but
/// amd64 and arm64: loong64, riscv64...), each reference no mirror serves yet is a pull that
/// fails (`no matching manifest for linux/ARCH`, or `exec format error` when a single-platform
/// image is pulled anyway). The stream cannot show which images have such a build, so it is
/// conditional, except for prometheus-operator's images on loong64, which it does not
/// publish (its release images are amd64, arm64, arm/v7, ppc64le and s390x), and for
/// references the user's rules map (a rule says the source will not do).
fn foresee_arch(
    found: &mut Findings,
    assume: &crate::profile::Assume,
    settings: &Settings,
    place: &str,
    reference: &str,
) {
    let Some(arch) = assume.arch.as_deref() else {
        return;
    };
    if matches!(arch, "amd64" | "arm64") || matches!(settings.map(reference), Mapping::Mirrored) {
        return;
    }
    let Some(r) = Reference::parse(reference) else {
        return;
    };
    // A rule the user gave for a reference says its source does not serve this architecture
    // (that is what the mirror is for): settled, like an `--assume`.
    let (evidence, settled) = match settings.map(reference) {
        Mapping::Mapped { after, .. } => (
            format!("{place}: {reference}, which the rules map to {after}"),
            true,
        ),
        _ => (
            format!("{place}: {reference}, which no rule maps to a mirror"),
            false,
        ),
    };
    let known = settled || arch == "loong64" && r.name.starts_with("quay.io/prometheus-operator/");
    found.predict(
        crate::report::failure::NO_ARCH_IMAGE,
        evidence,
        (!known).then(|| {
            format!(
                "if {} has no linux/{arch} build (docker manifest inspect {reference} lists its platforms)",
                r.name
            )
        }),
    );
}

impl PodFix for ImageMirror {
    type Survey = Seen;

    fn survey(&self, _: &Settings, _: &Docs, _: &mut Ctx) -> Seen {
        Seen::default()
    }

    fn plan(&self, at: Planning<'_, Self>) -> Result<Findings, UsageError> {
        let (settings, seen, view, sel) = (at.settings, at.survey, at.view, at.sel);
        let mut found = Findings::for_pod(at.profile, view);
        let object = view.object();
        let mut fixed = Findings::start(view);
        // Which CR objects (spec, spec.thanos) had their baseImage mapped, by which rule.
        let mut bases: Vec<(&str, usize)> = Vec::new();
        for site in sites(view.id, view.doc, view.pointer) {
            if !sel.container(&site.container) {
                continue;
            }
            let Some(value) = view.doc.at(&site.pointer) else {
                continue;
            };
            let text = match value {
                Value::String(s) => s.as_str(),
                Value::Null => continue,
                other => {
                    found.warn_code(
                        Code::Input,
                        format!("{} is {other}, not a string: left alone", site.place),
                    );
                    continue;
                }
            };
            let Some(reference) = text.get(site.prefix.len()..) else {
                continue;
            };
            if reference.trim().is_empty() {
                continue;
            }
            foresee_arch(&mut found, at.assume, settings, &site.place, reference);
            match settings.map(reference) {
                Mapping::Mapped {
                    after,
                    rule,
                    dropped_digest,
                    kept_digest,
                    untagged,
                } => {
                    if let Some(d) = dropped_digest {
                        found.warn_code(
                            Code::ImageDigest,
                            format!(
                                "{}: digest {d} dropped: the mirror's digest differs from the source's; {after} is pulled by tag",
                                site.place
                            ),
                        );
                    }
                    if kept_digest {
                        found.warn_code(
                            Code::ImageDigest,
                            format!(
                                "{}: {reference} has a digest and no tag, so the digest is kept: right for a pull-through \
                                 cache or a copy made with skopeo copy --all, wrong for a rebuilt image (give the chart a tag)",
                                site.place
                            ),
                        );
                    }
                    let cr_base = site.pointer.ends_with("/baseImage");
                    // A CR's baseImage is judged with its tag and sha, below.
                    if untagged && site.versioned && !cr_base {
                        found.warn(format!(
                            "{}: {reference} has no tag, so the operator appends its version, which the tag edits of rule {:?} \
                             cannot change; give the full reference in the chart (a CR's image) instead",
                            site.place, settings.rules[rule].text
                        ));
                    }
                    if cr_base {
                        bases.push((
                            if site.pointer.starts_with("/spec/thanos/") {
                                "/spec/thanos"
                            } else {
                                "/spec"
                            },
                            rule,
                        ));
                    }
                    if let Some(slot) = fixed.at_mut(&site.pointer) {
                        *slot = Value::String(format!("{}{after}", site.prefix));
                    }
                    seen.mapped.insert(reference.to_string(), after);
                }
                Mapping::Mirrored => {
                    seen.mirrored.insert(reference.to_string());
                }
                Mapping::Unmapped => {
                    seen.unmapped
                        .entry(reference.to_string())
                        .or_default()
                        .insert(object.clone());
                }
                Mapping::Invalid => {
                    found.warn_code(
                        Code::Input,
                        format!(
                            "{} {reference:?} is not an image reference: left alone",
                            site.place
                        ),
                    );
                    seen.invalid
                        .entry(reference.to_string())
                        .or_default()
                        .insert(object.clone());
                }
            }
        }
        operator_defaults(settings, seen, view, sel, &mut fixed, &mut found);
        for (pointer, rule) in bases {
            let at = if pointer == "/spec" {
                "spec."
            } else {
                "spec.thanos."
            };
            if let Some(obj) = fixed.at_mut(pointer).and_then(Value::as_object_mut) {
                base_image_fields(settings, obj, rule, &mut found, at);
            }
        }
        found.set_fixed(view, fixed);
        Ok(found)
    }

    fn finish(
        &self,
        settings: &Settings,
        seen: Seen,
        _: &mut Docs,
        ctx: &mut Ctx,
    ) -> Result<(), UsageError> {
        let profile = ctx.profile;
        let users = |objects: &BTreeSet<String>| {
            let mut names: Vec<&str> = objects.iter().map(String::as_str).take(3).collect();
            if objects.len() > 3 {
                names.push("...");
            }
            names.join(", ")
        };
        if settings.require && !(seen.unmapped.is_empty() && seen.invalid.is_empty()) {
            let list: Vec<String> = seen
                .unmapped
                .iter()
                .chain(&seen.invalid)
                .map(|(r, objects)| format!("{r} ({})", users(objects)))
                .collect();
            return Err(format!(
                "image-mirror.require=true: {} image reference{} no rule maps: {}; add a rule for each \
                 (--set image-mirror.map=FROM=TO,...)",
                list.len(),
                if list.len() == 1 { "" } else { "s" },
                list.join("; ")
            )
            .into());
        }
        for (before, after) in &seen.mapped {
            ctx.report.note_code(
                Code::ImageMapped,
                profile,
                None,
                format!("{before} -> {after}"),
            );
        }
        for (reference, objects) in &seen.unmapped {
            ctx.report.note_code(
                Code::ImageUnmapped,
                profile,
                None,
                format!(
                    "not mapped, pulled as written: {reference} ({})",
                    users(objects)
                ),
            );
        }
        if !seen.mirrored.is_empty() {
            ctx.report.note(
                profile,
                None,
                format!(
                    "{} reference{} already under a mirror, left as written",
                    seen.mirrored.len(),
                    if seen.mirrored.len() == 1 {
                        " is"
                    } else {
                        "s are"
                    }
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(rules: &[&str]) -> Settings {
        Settings::parse(
            &rules.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            false,
        )
        .unwrap()
    }

    fn after(s: &Settings, r: &str) -> Option<String> {
        match s.map(r) {
            Mapping::Mapped { after, .. } => Some(after),
            _ => None,
        }
    }

    /// `diagnose` plans without applying: planning must leave the documents alone and foresee
    /// exactly what applying does, notes included (the summary's notes come from `finish`).
    #[test]
    fn planning_changes_nothing_and_foresees_the_apply() {
        use crate::profile::{Ctx, Doc, Docs, ProfileDef, configure};
        use crate::report::Report;
        use crate::select::Selection;
        use crate::stream::Form;
        let op = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "op"},
            "spec": {"template": {"spec": {"containers": [{"name": "operator",
                "image": "quay.io/prometheus-operator/prometheus-operator:v0.85.0@sha256:0123456789abcdef0123456789abcdef",
                "args": ["--prometheus-config-reloader", "quay.io/prometheus-operator/prometheus-config-reloader:v0.85.0"]}]}}}});
        let docs = Docs::new(vec![Doc {
            id: Identity::of(&op),
            value: op.clone(),
        }]);
        let def = ProfileDef::builtin("image-mirror").unwrap();
        let set = std::collections::BTreeMap::from([(
            "map".to_string(),
            "quay.io=m.example/q;tag=s/^v//".to_string(),
        )]);
        let params = Params::new(&def, &set).unwrap();
        let fix = configure("image-mirror", &params).unwrap();
        let sel = Selection::for_profile(&[], &[], "image-mirror");
        let run = |docs: &mut Docs, plan: bool| {
            let (mut report, mut added) = (Report::default(), Vec::new());
            let mut ctx = Ctx {
                profile: "image-mirror",
                params: &params,
                sel: &sel,
                form: Form::Plain,
                report: &mut report,
                added: &mut added,
                live_pvs: None,
                assume: &crate::profile::Assume::default(),
            };
            let planned = if plan {
                fix.plan(docs, &mut ctx).unwrap()
            } else {
                fix.apply(docs, &mut ctx).unwrap();
                Vec::new()
            };
            (planned, report.messages)
        };
        let mut scratch = docs.clone();
        let (planned, planned_notes) = run(&mut scratch, true);
        assert_eq!(scratch.get(0).value, op, "planning changed the document");
        let mut applied = docs.clone();
        let (_, applied_notes) = run(&mut applied, false);
        let args = &applied.get(0).value["spec"]["template"]["spec"]["containers"][0]["args"];
        assert_eq!(
            args[1],
            "m.example/q/prometheus-operator/prometheus-config-reloader:0.85.0"
        );
        assert_eq!(planned, [(0, applied.get(0).value.clone())]);
        assert_eq!(planned_notes, applied_notes);
        assert!(planned_notes.iter().any(|m| m.code == Code::ImageDigest));
    }

    #[test]
    fn references_normalise_like_docker() {
        let n = |s: &str| Reference::parse(s).map(|r| r.name);
        assert_eq!(n("busybox").as_deref(), Some("docker.io/library/busybox"));
        assert_eq!(
            n("busybox:1.38.0").as_deref(),
            Some("docker.io/library/busybox")
        );
        assert_eq!(
            n("grafana/grafana:13").as_deref(),
            Some("docker.io/grafana/grafana")
        );
        assert_eq!(
            n("docker.io/busybox").as_deref(),
            Some("docker.io/library/busybox")
        );
        assert_eq!(n("index.docker.io/x/y").as_deref(), Some("docker.io/x/y"));
        assert_eq!(n("localhost/x").as_deref(), Some("localhost/x"));
        assert_eq!(n("localhost:5000/x:1").as_deref(), Some("localhost:5000/x"));
        assert_eq!(
            n("quay.io/prometheus/prometheus").as_deref(),
            Some("quay.io/prometheus/prometheus")
        );
        let r = Reference::parse("quay.io/a/b:v1@sha256:0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!((r.tag.as_deref(), r.digest.is_some()), (Some("v1"), true));
        for bad in [
            "",
            "Busybox",
            "a b",
            "x:",
            "x:-1",
            "a//b",
            "x@sha256:zz",
            "x@",
            "/x",
            "x/",
        ] {
            assert_eq!(Reference::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn short_names_match_docker_io_rules() {
        let s = settings(&["docker.io=mirror.example.com/hub"]);
        assert_eq!(
            after(&s, "busybox:1.38.0").as_deref(),
            Some("mirror.example.com/hub/library/busybox:1.38.0")
        );
        assert_eq!(
            after(&s, "grafana/grafana:13.2.0").as_deref(),
            Some("mirror.example.com/hub/grafana/grafana:13.2.0")
        );
        let lib = settings(&["busybox=mirror.example.com/bb"]);
        assert_eq!(
            after(&lib, "docker.io/library/busybox:1").as_deref(),
            Some("mirror.example.com/bb:1")
        );
    }

    #[test]
    fn rules_match_whole_path_components_unless_written_with_a_star() {
        let s = settings(&["quay.io/prometheus=m.example/prom"]);
        assert_eq!(s.map("quay.io/prometheus-operator/x:v1"), Mapping::Unmapped);
        assert_eq!(
            after(&s, "quay.io/prometheus/x:v1").as_deref(),
            Some("m.example/prom/x:v1")
        );
        let star = settings(&["quay.io/prometheus*=m.example/p"]);
        assert_eq!(
            after(&star, "quay.io/prometheus-operator/x:v1").as_deref(),
            Some("m.example/p-operator/x:v1")
        );
    }

    #[test]
    fn the_longest_rule_wins() {
        let s = settings(&[
            "quay.io=mirror.example.com/quay",
            "quay.io/prometheus-operator/prometheus-config-reloader=cr.loongnix.cn/prometheus/prometheus-config-reloader;tag=s/^v//",
        ]);
        assert_eq!(
            after(
                &s,
                "quay.io/prometheus-operator/prometheus-config-reloader:v0.85.0"
            )
            .as_deref(),
            Some("cr.loongnix.cn/prometheus/prometheus-config-reloader:0.85.0")
        );
        assert_eq!(
            after(
                &s,
                "quay.io/prometheus-operator/prometheus-operator:v0.85.0"
            )
            .as_deref(),
            Some("mirror.example.com/quay/prometheus-operator/prometheus-operator:v0.85.0")
        );
    }

    #[test]
    fn tag_edits_are_literal_with_anchors() {
        let e = |t: &str| TagEdit::parse(t).unwrap();
        assert_eq!(e("s/^v//").apply("v1.2.3"), "1.2.3");
        assert_eq!(e("s/^v//").apply("1.2.3"), "1.2.3");
        assert_eq!(e("s/-distroless$//").apply("v3.1-distroless"), "v3.1");
        assert_eq!(e("s/$/-loong64/").apply("v1"), "v1-loong64");
        assert_eq!(e("s/^/loong-/").apply("v1"), "loong-v1");
        assert_eq!(e("s/./_/").apply("1.2.3"), "1_2.3", "literal, first one");
        for bad in ["s/^v/", "^v//", "s//x/", "s/a b//", "s/a/b/c/"] {
            assert!(TagEdit::parse(bad).is_err(), "{bad}");
        }
        let s = settings(&["quay.io=m.example/q;tag=s/^v//;tag=s/$/-la64/"]);
        assert_eq!(
            after(&s, "quay.io/a:v1").as_deref(),
            Some("m.example/q/a:1-la64")
        );
        // An edit that would leave no tag keeps the tag.
        let s = settings(&["quay.io=m.example/q;tag=s/^v//"]);
        assert_eq!(after(&s, "quay.io/a:v").as_deref(), Some("m.example/q/a:v"));
    }

    #[test]
    fn a_mapped_digest_is_dropped_unless_it_is_all_there_is() {
        let s = settings(&["quay.io=m.example/q"]);
        let d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        match s.map(&format!("quay.io/a:v1@{d}")) {
            Mapping::Mapped {
                after,
                dropped_digest,
                kept_digest,
                ..
            } => {
                assert_eq!(after, "m.example/q/a:v1");
                assert_eq!(dropped_digest.as_deref(), Some(d));
                assert!(!kept_digest);
            }
            m => panic!("{m:?}"),
        }
        match s.map(&format!("quay.io/a@{d}")) {
            Mapping::Mapped {
                after,
                dropped_digest,
                kept_digest,
                ..
            } => {
                assert_eq!(after, format!("m.example/q/a@{d}"));
                assert_eq!((dropped_digest, kept_digest), (None, true));
            }
            m => panic!("{m:?}"),
        }
    }

    #[test]
    fn references_under_a_mirror_are_not_mapped_again() {
        let s = settings(&["docker.io=mirror.example/docker", "quay.io=docker.io/myorg"]);
        assert_eq!(s.map("mirror.example/docker/x:1"), Mapping::Mirrored);
        assert_eq!(s.map("docker.io/myorg/prometheus/x:1"), Mapping::Mirrored);
        assert_eq!(
            after(&s, "quay.io/p/x:1").as_deref(),
            Some("docker.io/myorg/p/x:1")
        );
    }

    #[test]
    fn bad_rules_are_usage_errors() {
        let parse = |r: &[&str]| {
            Settings::parse(&r.iter().map(|s| s.to_string()).collect::<Vec<_>>(), false)
        };
        for bad in [
            &["quay.io"][..],
            &["quay.io="],
            &["=m.example/x"],
            &["quay.io=mirror"],
            &["quay.io=m.example/Q"],
            &["quay.io/a:v1=m.example/a"],
            &["quay.io=m.example/a;tags=s/^v//"],
            &["quay.io=m.example/a;tag=s/^v/"],
            &["quay.io=m.example/a", "quay.io=m.example/b"],
            &["quay.io=m.example/q", "m.example/q/x=n.example/x"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse(&["quay.io/=m.example/q/", "localhost:5000=m.example/l"]).is_ok());
        // A TO under its own FROM is fine: what it writes is under the TO, so it is not mapped again.
        let s = parse(&["docker.io=docker.io/mirror"]).unwrap();
        assert_eq!(
            s.map("docker.io/mirror/library/busybox:1"),
            Mapping::Mirrored
        );
    }

    #[test]
    fn references_lists_containers_cr_fields_and_operator_flags() {
        let op = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "op"},
            "spec": {"template": {"spec": {
                "initContainers": [{"name": "i", "image": "busybox"}],
                "containers": [{"name": "operator", "image": "quay.io/prometheus-operator/prometheus-operator:v0.85.0",
                    "command": ["/bin/operator", "--prometheus-default-base-image"],
                    "args": ["quay.io/prometheus/prometheus", "-thanos-default-base-image=quay.io/thanos/thanos",
                             "--prometheus-config-reloader=quay.io/x/r:v1", 7, "--alertmanager-default-base-image"]}],
                "ephemeralContainers": [{"name": "e", "image": 5}]}}}});
        let refs = references(&Identity::of(&op), &op);
        let got: Vec<&str> = refs.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(
            got,
            [
                "busybox",
                "quay.io/prometheus-operator/prometheus-operator:v0.85.0",
                "quay.io/prometheus/prometheus",
                "quay.io/thanos/thanos",
                "quay.io/x/r:v1"
            ]
        );
        let prom = json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": {"name": "p"},
            "spec": {"image": "quay.io/prometheus/prometheus:v3", "baseImage": "quay.io/prometheus/prometheus",
                     "thanos": {"image": "quay.io/thanos/thanos:v0.39"},
                     "containers": [{"name": "config-reloader", "image": "quay.io/x/r:v1"}]}});
        let places: Vec<String> = references(&Identity::of(&prom), &prom)
            .into_iter()
            .map(|(w, _)| w)
            .collect();
        assert_eq!(
            places,
            [
                "spec.containers[config-reloader].image",
                "spec.image",
                "spec.baseImage",
                "spec.thanos.image"
            ]
        );
        let agent = json!({"apiVersion": "monitoring.coreos.com/v1alpha1", "kind": "PrometheusAgent",
            "metadata": {"name": "a"}, "spec": {"baseImage": "quay.io/p/p"}});
        assert!(
            references(&Identity::of(&agent), &agent).is_empty(),
            "an agent has no baseImage"
        );
    }
}
