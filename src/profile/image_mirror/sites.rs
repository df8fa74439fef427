//! Where images are named: containers, the operator resources' image fields, and the operator's
//! image flags (added with the mirrored built-in value when the chart does not pass them).

use super::*;

/// One place a document names an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Site {
    /// JSON pointer to the string.
    pub(super) pointer: String,
    /// For the summary: `spec.template.spec.containers[operator].args --prometheus-config-reloader`.
    pub(super) place: String,
    /// Text before the reference in the string (`--prometheus-config-reloader=`), or "".
    pub(super) prefix: String,
    /// The operator appends a version to a value without a tag (baseImage fields, default
    /// base image flags).
    pub(super) versioned: bool,
    /// The container the place belongs to, for `container=` selectors.
    pub(super) container: String,
}

/// Every place the pod spec at `ptr` in `doc` names an image, in document order: its
/// containers (with the operator flags in their command lines), then the operator resource's
/// fields: prometheus-operator's CR fields, or a VictoriaMetrics component's
/// `image.repository` (the operator pulls `<repository>:<tag>`, `CommonAppsParams.Image`).
pub(super) fn sites(id: &Identity, doc: &Value, ptr: &str) -> Vec<Site> {
    let mut out = Vec::new();
    let Some(pod) = doc.at(ptr).and_then(Value::as_object) else {
        return out;
    };
    let dotted = ptr.trim_start_matches('/').replace('/', ".");
    for list in LISTS {
        for (i, c) in workload::items(pod.get(*list)).enumerate() {
            let name = workload::container_name(c);
            if c.get("image").is_some() {
                out.push(Site {
                    pointer: format!("{ptr}/{list}/{i}/image"),
                    place: format!("{dotted}.{list}[{name}].image"),
                    prefix: String::new(),
                    versioned: false,
                    container: name.to_string(),
                });
            }
            // `command` then `args`: one command line, so `--flag` ending `command` takes the
            // first entry of `args` as its value.
            let words: Vec<(String, &Value)> = ["command", "args"]
                .iter()
                .flat_map(|key| {
                    workload::items(c.get(*key))
                        .enumerate()
                        .map(move |(j, w)| (format!("{ptr}/{list}/{i}/{key}/{j}"), w))
                })
                .collect();
            for (k, (pointer, w)) in words.iter().enumerate() {
                let Some(s) = w.as_str() else { continue };
                let Some(body) = s.strip_prefix("--").or_else(|| s.strip_prefix('-')) else {
                    continue;
                };
                for (flag, versioned) in FLAGS {
                    let place = format!("{dotted}.{list}[{name}] --{flag}");
                    if let Some(v) = body.strip_prefix(flag).and_then(|v| v.strip_prefix('=')) {
                        out.push(Site {
                            pointer: pointer.clone(),
                            place,
                            prefix: s[..s.len() - v.len()].to_string(),
                            versioned: *versioned,
                            container: name.to_string(),
                        });
                    } else if body == *flag
                        && let Some((next, _)) = words.get(k + 1)
                    {
                        out.push(Site {
                            pointer: next.clone(),
                            place,
                            prefix: String::new(),
                            versioned: *versioned,
                            container: name.to_string(),
                        });
                    }
                }
            }
        }
    }
    if let Some(r) = crate::operators::resource(id)
        && r.group == "operator.victoriametrics.com"
        && pod.get("image").and_then(|i| i.get("repository")).is_some()
    {
        let main = r
            .components
            .iter()
            .find(|c| c.spec == ptr)
            .map_or("", |c| c.main);
        out.push(Site {
            pointer: format!("{ptr}/image/repository"),
            place: format!("{dotted}.image.repository"),
            prefix: String::new(),
            versioned: false,
            container: main.to_string(),
        });
    }
    if let Some(kind) = CrKind::of(id) {
        let main = kind.main_container();
        let mut field = |pointer: &str, versioned: bool, container: &str| {
            if doc.at(pointer).is_some() {
                out.push(Site {
                    pointer: pointer.to_string(),
                    place: pointer.trim_start_matches('/').replace('/', "."),
                    prefix: String::new(),
                    versioned,
                    container: container.to_string(),
                });
            }
        };
        field("/spec/image", false, main);
        if matches!(kind, CrKind::Prometheus | CrKind::Alertmanager) {
            field("/spec/baseImage", true, main);
        }
        if kind == CrKind::Prometheus {
            field("/spec/thanos/image", false, "thanos-sidecar");
            field("/spec/thanos/baseImage", true, "thanos-sidecar");
        }
    }
    out
}

/// Every image reference `doc` names, as (where, reference): container images (init and
/// ephemeral containers too), the prometheus-operator CR fields (`spec.image`,
/// `spec.baseImage`, `spec.thanos.image`, `spec.thanos.baseImage`) and the operator's image
/// flags. Values that are not strings are left out. For `diagnose`, which can say which
/// references need a mirror (`--assume arch=loong64`) without rewriting anything.
#[cfg(test)]
pub(super) fn references(id: &Identity, doc: &Value) -> Vec<(String, String)> {
    let Some(ptr) = workload::pod_spec_pointer(id) else {
        return Vec::new();
    };
    sites(id, doc, ptr)
        .into_iter()
        .filter_map(|s| {
            let text = doc.at(&s.pointer)?.as_str()?;
            let r = text.get(s.prefix.len()..)?;
            (!r.trim().is_empty()).then(|| (s.place, r.to_string()))
        })
        .collect()
}

/// `spec.tag`/`spec.sha` (or `spec.thanos.tag`/`sha`) of a CR whose baseImage a rule mapped,
/// when the operator reads them (no `image`, baseImage without tag or digest): the sha is the
/// source's digest, so it goes (the operator then uses the tag, or the version); the tag gets
/// the rule's tag edits.
pub(super) fn base_image_fields(
    settings: &Settings,
    obj: &mut Map<String, Value>,
    rule: usize,
    found: &mut Findings,
    at: &str,
) {
    let image_set = obj
        .get("image")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.trim().is_empty());
    let base_tagged = obj
        .get("baseImage")
        .and_then(Value::as_str)
        .and_then(Reference::parse)
        .is_some_and(|r| r.tag.is_some() || r.digest.is_some());
    if image_set || base_tagged {
        return;
    }
    if let Some(sha) = obj
        .get("sha")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        found.warn_code(
            Code::ImageDigest,
            format!(
                "{at}sha {sha} removed: it is the digest of the source image and the mirror's differs; \
                 the operator now pulls {at}baseImage by tag"
            ),
        );
        obj.remove("sha");
    }
    let edits = &settings.rules[rule].tags;
    match obj.get("tag").and_then(Value::as_str) {
        Some(tag) if !tag.is_empty() => {
            let edited = edits.iter().fold(tag.to_string(), |t, e| e.apply(&t));
            if edited != tag && valid_tag(&edited) {
                obj.insert("tag".into(), Value::String(edited));
            }
        }
        _ if !edits.is_empty() => found.warn(format!(
            "{at}baseImage has no tag, so the operator appends its version (spec.version or its default), \
             which the tag edits of rule {:?} cannot change; set {at}image to the mirrored reference instead",
            settings.rules[rule].text
        )),
        _ => {}
    }
}

/// The operator container of a pod (its image's repository is `prometheus-operator`) with the
/// image flags it does not pass: each missing flag whose built-in value a rule maps is added
/// (`--flag=MIRRORED`) so the operator's own defaults come from the mirror too; a built-in value
/// no rule maps counts as unmapped (`require` refuses it), since a CR may pull it.
pub(super) fn operator_defaults(
    settings: &Settings,
    seen: &mut Seen,
    view: &crate::profile::driver::PodView,
    sel: &crate::select::Selection,
    fixed: &mut Value,
    found: &mut Findings,
) {
    use crate::profile::exec_probes::{image_name, image_tag, parse_version};
    let object = view.object();
    let ptr = view.pointer;
    if CrKind::of(view.id).is_some() {
        return;
    }
    for (i, c) in workload::items(view.pod.get("containers")).enumerate() {
        let Some(image) = c.get("image").and_then(Value::as_str) else {
            continue;
        };
        let name = workload::container_name(c);
        if image_name(image) != "prometheus-operator" || !sel.container(name) {
            continue;
        }
        let version = image_tag(image).and_then(parse_version);
        if version.is_some_and(|v| v < DEFAULTS_SINCE) {
            found.note(format!(
                "container {name}: operator {} predates the built-in images image-mirror knows (v0.42): \
                 flags it does not pass are not added",
                image_tag(image).unwrap_or("")
            ));
            continue;
        }
        let passed: Vec<&str> = workload::command_line(c)
            .filter_map(Value::as_str)
            .filter_map(|w| w.strip_prefix("--").or_else(|| w.strip_prefix('-')))
            .map(|w| w.split('=').next().unwrap_or(w))
            .collect();
        let mut missing: Vec<(&str, String)> = DEFAULT_BASES
            .iter()
            .filter(|(flag, _)| !passed.contains(flag))
            .map(|(flag, default)| (*flag, default.to_string()))
            .collect();
        if !passed.contains(&"prometheus-config-reloader") {
            match (version, image_tag(image)) {
                (Some(_), Some(tag)) => missing.insert(
                    0,
                    ("prometheus-config-reloader", format!("{DEFAULT_RELOADER}:{tag}")),
                ),
                _ => found.warn(format!(
                    "container {name}: the operator image {image} has no version tag, so the config-reloader \
                     it runs by default ({DEFAULT_RELOADER}:v<its version>) is not known: pass \
                     --prometheus-config-reloader in the chart"
                )),
            }
        }
        let mut added = Vec::new();
        for (flag, default) in missing {
            match settings.map(&default) {
                Mapping::Mapped {
                    after,
                    rule,
                    untagged,
                    ..
                } => {
                    if untagged {
                        found.warn(format!(
                            "container {name}: --{flag}={after} is added without a tag, so the operator appends its \
                             version, which the tag edits of rule {:?} cannot change; give the resources that use \
                             it a full image",
                            settings.rules[rule].text
                        ));
                    }
                    added.push(Value::String(format!("--{flag}={after}")));
                    seen.mapped.insert(default, after);
                }
                Mapping::Mirrored => {}
                Mapping::Unmapped | Mapping::Invalid => {
                    seen.unmapped
                        .entry(default)
                        .or_default()
                        .insert(format!("{object}, the operator's default for --{flag}"));
                }
            }
        }
        if added.is_empty() {
            continue;
        }
        let names: Vec<String> = added
            .iter()
            .filter_map(Value::as_str)
            .map(|a| a.split('=').next().unwrap_or(a).to_string())
            .collect();
        let Some(c) = fixed
            .at_mut(&format!("{ptr}/containers/{i}"))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        let Some(args) = workload::list_entry(c, "args") else {
            found.warn(format!(
                "container {name}: args is not a list, so {} cannot be added",
                names.join(", ")
            ));
            continue;
        };
        args.extend(added);
        found.note_code(
            Code::ImageMapped,
            format!(
                "container {name} did not pass {}: added with the mirror of the operator's built-in image, \
                 which a resource without image or baseImage pulls",
                names.join(", ")
            ),
        );
    }
}
