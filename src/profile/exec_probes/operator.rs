//! prometheus-operator resources with `listenLocal`: what the operator version does with the
//! config-reloader probes, and the operator flag to drop where it cannot be overridden.

use super::*;

/// The operator of the stream: a workload running the `prometheus-operator` image.
pub(super) struct Operator {
    pub(super) doc: usize,
    pub(super) id: Identity,
    pub(super) image: String,
    pub(super) version: Option<(u64, u64, u64)>,
    pub(super) probes: bool,
    /// Container names of its pod, for `container=` selectors.
    pub(super) containers: Vec<String>,
    /// `--prometheus-default-base-image`: the image of a Prometheus CR without `spec.image`.
    pub(super) prometheus_base: Option<String>,
    /// `--prometheus-config-reloader`: the image of every config-reloader it generates.
    pub(super) reloader: Option<String>,
}

pub(super) fn operators(docs: &Docs) -> Vec<Operator> {
    let mut out = Vec::new();
    for (doc, d) in docs.iter().enumerate() {
        if CrKind::of(&d.id).is_some() {
            continue;
        }
        let Some(pod) = workload::pod_spec(&d.id, &d.value) else {
            continue;
        };
        let containers: Vec<String> = workload::containers(pod)
            .map(|c| workload::container_name(c).to_string())
            .collect();
        for c in workload::items(pod.get("containers")) {
            let Some(image) = c.get("image").and_then(Value::as_str) else {
                continue;
            };
            if image_name(image) != "prometheus-operator" {
                continue;
            }
            out.push(Operator {
                doc,
                id: d.id.clone(),
                image: image.to_string(),
                version: image_tag(image).and_then(parse_version),
                probes: words(c).iter().any(|w| enables_probes(w)),
                containers: containers.clone(),
                prometheus_base: flag_value(&words(c), "prometheus-default-base-image"),
                reloader: flag_value(&words(c), "prometheus-config-reloader"),
            });
        }
    }
    out
}

/// The value of `--name=value` or `--name value` in a command line (the last one wins, as with
/// Go's flag package); empty values read as unset.
pub(super) fn flag_value(words: &[String], name: &str) -> Option<String> {
    let mut found = None;
    for (i, w) in words.iter().enumerate() {
        if let Some((n, inline)) = flag(w)
            && n == name
        {
            found = inline
                .map(str::to_string)
                .or_else(|| words.get(i + 1).cloned());
        }
    }
    found.filter(|v| !v.trim().is_empty())
}

/// Remove the probes flag from every prometheus-operator container of a pod spec.
pub(super) fn drop_probes_flag(pod: &mut Map<String, Value>) {
    for c in workload::items_mut(pod.get_mut("containers")) {
        let is_operator = c
            .get("image")
            .and_then(Value::as_str)
            .is_some_and(|i| image_name(i) == "prometheus-operator");
        if !is_operator {
            continue;
        }
        for key in ["command", "args"] {
            if let Some(list) = c.get_mut(key).and_then(Value::as_array_mut) {
                list.retain(|w| !w.as_str().is_some_and(enables_probes));
            }
        }
    }
}

pub(super) const CHOICES: &str = "set --set exec-probes.operatorVersion=X.Y.Z so helm-fixup can decide; or turn the probes off \
    (remove --enable-config-reloader-probes=true, chart value prometheusOperator.prometheusConfigReloader.enableProbe=false); \
    or upgrade the operator to >= 0.75 (kube-prometheus-stack >= 61), which uses exec probes";

/// CRs with `listenLocal: true`: decide from the operator's version. The CRs themselves are never
/// changed (see the module comment); the operator Deployment may be.
pub(super) fn operator_crs(docs: &mut Docs, ctx: &mut Ctx, param: Option<(u64, u64, u64)>) {
    // Each CR, with the image its own `config-reloader` entry gives (the operator indexes the
    // entries by name, so the last one counts).
    let (crs, reloader_entries): (Vec<String>, Vec<Option<String>>) = docs
        .iter()
        .filter(|d| CrKind::of(&d.id).is_some())
        .filter(|d| d.value.at("/spec/listenLocal") == Some(&Value::Bool(true)))
        .filter(|d| {
            let names = workload::container_names(&d.id, &d.value);
            // The resource is evidence, not a target: only `--skip` removes it. What changes is
            // the operator, which must be selected itself.
            !ctx.sel
                .skip
                .iter()
                .any(|s| s.matches(&d.id, &d.value, &names))
        })
        .map(|d| {
            let image = workload::items(d.value.at("/spec/containers"))
                .rfind(|c| workload::container_name(c) == "config-reloader")
                .and_then(|c| c.get("image"))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|i| !i.is_empty())
                .map(str::to_string);
            (d.id.to_string(), image)
        })
        .unzip();
    if crs.is_empty() {
        return;
    }
    let p = ctx.profile;
    let ops = operators(docs);
    let handled = |v: (u64, u64, u64), source: &str| {
        format!(
            "listenLocal: prometheus-operator {} ({source}) already gives the config-reloader exec probes; nothing to change for it",
            show_version(v)
        )
    };
    let too_old = |v: (u64, u64, u64)| {
        format!(
            "listenLocal: prometheus-operator {} predates config-reloader probes (0.65); nothing to change",
            show_version(v)
        )
    };
    if ops.is_empty() {
        for cr in &crs {
            match param {
                None => ctx.report.warn(
                    p,
                    Some(cr.clone()),
                    format!(
                        "listenLocal with an unknown prometheus-operator version (its Deployment is not in this stream): \
                         with 0.65-0.74 and --enable-config-reloader-probes=true the config-reloader restarts forever; {CHOICES}"
                    ),
                ),
                Some(v) if v >= (0, 75, 0) => ctx.report.note(p, Some(cr.clone()), handled(v, "exec-probes.operatorVersion")),
                Some(v) if v < (0, 65, 0) => ctx.report.note(p, Some(cr.clone()), too_old(v)),
                Some(v) => ctx.report.warn(
                    p,
                    Some(cr.clone()),
                    format!(
                        "listenLocal with prometheus-operator {}: if the operator runs with --enable-config-reloader-probes=true \
                         the config-reloader restarts forever, and its Deployment is not in this stream to fix; remove that flag \
                         (prometheusOperator.prometheusConfigReloader.enableProbe=false) or upgrade the operator to >= 0.75",
                        show_version(v)
                    ),
                ),
            }
        }
        return;
    }
    let crs_text = crs.join(", ");
    for op in ops {
        let (version, source) = match (param, op.version) {
            (Some(v), _) => (Some(v), "exec-probes.operatorVersion".to_string()),
            (None, v) => (v, format!("image {}", op.image)),
        };
        let Some(v) = version else {
            for cr in &crs {
                ctx.report.warn(
                    p,
                    Some(cr.clone()),
                    format!(
                        "listenLocal with an unknown prometheus-operator version (image {} of {} has no version tag): \
                         with 0.65-0.74 and --enable-config-reloader-probes=true the config-reloader restarts forever; {CHOICES}",
                        op.image, op.id
                    ),
                );
            }
            continue;
        };
        if v >= (0, 75, 0) {
            for (cr, entry_image) in crs.iter().zip(&reloader_entries) {
                let image = entry_image
                    .clone()
                    .or_else(|| op.reloader.clone())
                    .unwrap_or_else(|| format!("{DEFAULT_RELOADER}:v{}", show_version(v)));
                if op.probes && looks_distroless(&image) {
                    ctx.report.warn_code(
                        crate::report::Code::LeftAlone,
                        p,
                        Some(cr.clone()),
                        format!(
                            "listenLocal: the config-reloader runs image {image}, which looks distroless (no sh), and \
                             prometheus-operator {} gives it sh -c curl/wget exec probes \
                             (--enable-config-reloader-probes=true), which fail there; no probe tool is known in that \
                             image: use the busybox-based {DEFAULT_RELOADER} image or turn the probes off \
                             (prometheusOperator.prometheusConfigReloader.enableProbe=false)",
                            show_version(v)
                        ),
                    );
                } else {
                    ctx.report.note(p, Some(cr.clone()), handled(v, &source));
                }
            }
        } else if v < (0, 65, 0) {
            for cr in &crs {
                ctx.report.note(p, Some(cr.clone()), too_old(v));
            }
        } else if !op.probes {
            for cr in &crs {
                ctx.report.note(
                    p,
                    Some(cr.clone()),
                    format!(
                        "listenLocal: prometheus-operator {} runs without --enable-config-reloader-probes, so the \
                         config-reloader has no probes; nothing to change",
                        show_version(v)
                    ),
                );
            }
        } else if !ctx.sel.object(
            &op.id,
            &docs.get(op.doc).value,
            &op.containers.iter().map(String::as_str).collect::<Vec<_>>(),
        ) {
            ctx.report.warn(
                p,
                Some(op.id.to_string()),
                format!(
                    "not selected, so --enable-config-reloader-probes=true stays: with prometheus-operator {} the \
                     config-reloader of {crs_text} (listenLocal) restarts forever; select this Deployment or remove the flag",
                    show_version(v)
                ),
            );
        } else {
            let id = op.id.clone();
            let value = docs.edit(op.doc);
            if let Some(pod) = workload::pod_spec_mut(&id, value) {
                drop_probes_flag(pod);
            }
            ctx.report.predict(
                failure::LOOPBACK_PROBE,
                p,
                &op.id.to_string(),
                crate::report::Certainty::Definite,
                format!(
                    "{crs_text}: listenLocal: true binds the config-reloader to 127.0.0.1, and prometheus-operator {} \
                     runs with --enable-config-reloader-probes=true, which gives it httpGet probes to the pod IP",
                    show_version(v)
                ),
                None,
            );
            ctx.report.note(
                p,
                Some(op.id.to_string()),
                format!(
                    "removed --enable-config-reloader-probes=true: prometheus-operator {} gives the config-reloader \
                     httpGet probes, but listenLocal ({crs_text}) binds it to 127.0.0.1 where the kubelet cannot reach \
                     it, so it restarts forever. A spec.containers override cannot replace that probe before operator \
                     0.91 (both handlers are kept and Kubernetes rejects the pod), so the config-reloaders run without \
                     probes instead. The lasting fix is upgrading the operator to >= 0.75 (kube-prometheus-stack >= 61), \
                     which uses exec probes",
                    show_version(v)
                ),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// listenLocal on images without a shell.
//
// Whatever the operator version, a Prometheus or PrometheusAgent with `listenLocal: true` gets
// `sh -c 'if [ -x "$(command -v curl)" ] ...'` exec probes on its `prometheus` container
// (prometheus-operator v0.93.0 `pkg/prometheus/promcfg.go` `buildProbeHandler` with
// `pkg/operator/prober.go` `ExecAction`; the same script in `pkg/prometheus/statefulset.go` since
// long before 0.50). The `-distroless` Prometheus images (prometheus v3.10.0 and later,
// `Dockerfile.distroless`: `FROM gcr.io/distroless/static-debian13`) have no `sh`, so those probes
// can never pass: the pod never becomes Ready and the startup probe restarts it
// (prometheus-operator#8605, helm-charts#6957). kube-prometheus-stack 85.0.0 and later default to
// such an image (`prometheus.prometheusSpec.image.tag: v3.x.y-distroless`).
//
// Both Prometheus image variants ship `/bin/promtool` (`Dockerfile` and `Dockerfile.distroless`
// copy it there), whose `check healthy` / `check ready` subcommands take `--url` and GET
// `<url>/-/healthy` / `<url>/-/ready` (prometheus v3.14.0 `cmd/promtool/main.go`,
// `CheckServerStatus`; present in every v3). The operator merges a CR's `spec.containers` entry
// into the container it generates with a strategic merge patch by name (`pkg/k8s/merge.go`
// `MergePatchContainers`): a probe given as `exec.command` only keeps the operator's handler type
// and timing fields, and the command list is replaced whole (`ExecAction.command` has no patch
// strategy). So the fix adds exactly that, and no timings: the operator's timings stay, among
// them the startup probe it derives from `maximumStartupDurationSeconds` (`BuildProbes`).
//
// The other generated containers need nothing: Alertmanager's own container has no probes under
// listenLocal (`pkg/alertmanager/statefulset.go`), neither have thanos-ruler
// (`pkg/thanos/statefulset.go`) and the thanos sidecar; the config-reloader has probes only with
// `--enable-config-reloader-probes=true` and its image is busybox-based
// (`cmd/prometheus-config-reloader/Dockerfile`), so only a distroless replacement of it warns.
