//! listenLocal on images without a shell: the distroless Prometheus images get promtool probes
//! through the resource's container patch entries.

use super::*;

/// prometheus-operator's default Prometheus base image (`pkg/operator/defaults.go`, v0.93.0).
pub(super) const DEFAULT_PROMETHEUS_BASE: &str = "quay.io/prometheus/prometheus";

/// prometheus-operator's default config-reloader image, tagged with the operator's version
/// (`pkg/operator/defaults.go`): built `FROM quay.io/prometheus/busybox`, so it has `sh` and `wget`.
pub(super) const DEFAULT_RELOADER: &str = "quay.io/prometheus-operator/prometheus-config-reloader";

/// Where both Prometheus image variants put promtool (prometheus v3.14.0 `Dockerfile`,
/// `Dockerfile.distroless`). An absolute path: exec probes do not go through a shell, and the
/// distroless image is not guaranteed a `PATH` that covers it.
pub(super) const PROMTOOL: &str = "/bin/promtool";

/// The address the operator binds Prometheus to under listenLocal (`--web.listen-address=
/// 127.0.0.1:9090`, `pkg/prometheus/promcfg.go`). The operator's own probe says `localhost`; the
/// bound address itself needs no `/etc/hosts` lookup, which could also yield `::1` first.
pub(super) const PROMETHEUS_LOCAL: &str = "http://127.0.0.1:9090";

/// The main container's probes, which promtool check each runs: `/-/healthy` for liveness,
/// `/-/ready` for readiness and startup, as the operator's `BuildProbes` does.
pub(super) const MAIN_PROBES: [(&str, &str); 3] = [
    ("livenessProbe", "healthy"),
    ("readinessProbe", "ready"),
    ("startupProbe", "ready"),
];

pub(super) type Version = (u64, u64, u64);

/// The operator version the stream (or `operatorVersion`) tells, and where it came from.
pub(super) fn stream_operator_version(
    ops: &[Operator],
    param: Option<Version>,
) -> Option<(Version, String)> {
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
pub(super) fn stream_prometheus_base(ops: &[Operator]) -> Option<String> {
    let base = |o: &Operator| {
        o.prometheus_base
            .clone()
            .unwrap_or_else(|| DEFAULT_PROMETHEUS_BASE.to_string())
    };
    let first = base(ops.first()?);
    ops.iter().all(|o| base(o) == first).then_some(first)
}

/// Does an image reference carry its own tag or digest (then the operator uses it as it is)?
pub(super) fn tagged_or_digested(image: &str) -> bool {
    image.contains('@') || image_tag(image).is_some()
}

/// A non-empty string field of a CR spec.
pub(super) fn spec_str<'a>(doc: &'a Value, field: &str) -> Option<&'a str> {
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
pub(super) fn prometheus_image(
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
pub(super) fn generated_main_probes(
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
pub(super) fn route_prefix(prefix: &str) -> String {
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
pub(super) fn promtool_exec(check: &str, url: &str) -> Value {
    json!({"command": [PROMTOOL, "check", check, format!("--url={url}")]})
}

/// What one probe of the chart's `prometheus` entry becomes.
#[derive(Debug, PartialEq)]
pub(super) enum ProbeEdit {
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
pub(super) const HANDLERS: [&str; 4] = ["exec", "httpGet", "tcpSocket", "grpc"];

pub(super) fn probe_edit(existing: Option<&Value>, exec: &Value) -> ProbeEdit {
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
pub(super) enum MainPlan {
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
pub(super) fn main_entry(doc: &Value) -> Option<&Value> {
    workload::items(doc.at("/spec/containers"))
        .rfind(|c| workload::container_name(c) == "prometheus")
}

pub(super) fn plan_main(
    kind: CrKind,
    doc: &Value,
    ops: &[Operator],
    param: Option<Version>,
) -> MainPlan {
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
pub(super) fn write_main(doc: &mut Value, edits: &[(&'static str, &'static str, ProbeEdit)]) {
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
pub(super) fn listen_local_images(docs: &mut Docs, ctx: &mut Ctx, param: Option<Version>) {
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
