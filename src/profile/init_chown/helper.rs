//! The `fixup-chown` init container: its script (one `find ... -exec chown` per mount, quoted),
//! its mounts, and where it goes in the pod.

use super::*;

/// Mount paths: `/fixup/<volume>`, or `/fixup/<volume>/<k>` when one volume is mounted with
/// several subPaths (never one mount inside another: that would create a directory in the data).
pub(super) fn mount_paths(targets: &[Target]) -> Vec<String> {
    targets
        .iter()
        .map(|t| {
            let same: Vec<&Target> = targets.iter().filter(|o| o.volume == t.volume).collect();
            if same.len() == 1 {
                format!("{MOUNT_ROOT}/{}", t.volume)
            } else {
                let k = same.iter().position(|o| *o == t).unwrap_or(0);
                format!("{MOUNT_ROOT}/{}/{k}", t.volume)
            }
        })
        .collect()
}

/// Lines of refusals shown per mount: a root-squashed export refuses every entry, and a TSDB
/// has thousands, so the log shows the first ones and says there are more.
pub(super) const SHOWN_REFUSALS: usize = 20;

/// What the log says once when an ownership change was refused. On NFS the server decides:
/// with `root_squash` (exports(5): the default) root in the pod is mapped to the anonymous
/// user, which may not chown, whatever capabilities the container has.
pub(super) const REFUSED_HINT: &str = "fixup-chown: some ownership was left as it is, and the pod starts anyway. \
If the volume is an NFS export with root_squash (the default), root in this container is mapped to an \
anonymous user that may not change ownership: give the exported directory and its contents their owner on the NFS \
server, export it with no_root_squash, or run the pod as the owner of the directory \
(helm-fixup: --set shared-uid.uid=UID).";

/// The shell script: for each mount, change only entries not yet owned by uid:gid.
///
/// A refused change must not fail the pod (issue 11, item 7): on an NFS export with
/// `root_squash` chown gets EPERM, `find` then exits 1 (busybox `find`: `flush_exec_plus` ORs
/// a failed `-exec ... {} +` into the exit status, findutils/find.c) and the pod would sit in
/// `Init:CrashLoopBackOff`. So each mount's `find` runs with its messages (chown's own, one per
/// refused path, and find's, e.g. a directory root may not read) and a line naming a non-zero
/// exit captured through `sed`, which keeps the first [`SHOWN_REFUSALS`] lines and reads the
/// rest (`head` would close the pipe and kill the walk with SIGPIPE). Anything captured is
/// printed to stderr under a header naming the mount and the owner, the hint follows once, and
/// the script still exits 0. A restart over an owned tree runs one walk that changes and prints
/// nothing. Only POSIX sh, find, chown -h and sed are used: `-xdev`, `!`, `\( \)`, `-user`,
/// `-group` and `-exec {} +` are busybox defconfig features (FEATURE_FIND_XDEV, _NOT, _PAREN,
/// _USER, _GROUP, _EXEC_PLUS, all `default y`), and docker-library/busybox builds from
/// defconfig. No `pipefail` (dash has none), no `set -e`.
///
/// The kubelet expands `$(VAR)` in a container's command and turns `$$` into `$` before the
/// shell sees it (k8s.io/api v0.36.1 `core/v1/types.go`, `Container.Command`: "Double $$ are
/// reduced to a single $"; an unresolved reference stays as written). A path with a `$` would
/// reach `find` changed, so then the whole script goes through [`kubelet_escape`], as
/// exec-probes' values do: escaping only the path is not enough, because the kubelet reads the
/// script's own `$({ find '...` as a reference up to the path's first `)` and leaves a `$$`
/// inside it doubled. Mount paths are `/fixup/<volume>` and volume names cannot hold a `$`, so
/// the script of every valid pod is unchanged (no restart of its pods on upgrade): its own
/// `$m`, `$?` and `$(` name no variable the init container has.
pub(super) fn script(targets: &[Target], paths: &[String]) -> String {
    let text = script_text(targets, paths);
    if paths.iter().any(|p| p.contains('$')) {
        kubelet_escape(&text)
    } else {
        text
    }
}

/// [`script`] as the shell must see it.
pub(super) fn script_text(targets: &[Target], paths: &[String]) -> String {
    let more = SHOWN_REFUSALS + 1;
    let mut parts = vec!["f=0".to_string()];
    for (t, p) in targets.iter().zip(paths) {
        let header = format!(
            "fixup-chown: could not give every entry of {p} to {}:{}:",
            t.uid, t.gid
        );
        parts.push(format!(
            "m=$({{ find {} -xdev \\( ! -user {u} -o ! -group {g} \\) -exec chown -h {u}:{g} {{}} + \
             || echo \"find exited with status $?\"; }} 2>&1 | sed -n '1,{SHOWN_REFUSALS}p;{more}s/.*/(more not shown)/p')",
            sh_quote(p),
            u = t.uid,
            g = t.gid
        ));
        parts.push(format!(
            "[ -z \"$m\" ] || {{ printf '%s\\n' {} \"$m\" >&2; f=1; }}",
            sh_quote(&header)
        ));
    }
    parts.push(format!(
        "[ \"$f\" = 0 ] || printf '%s\\n' {} >&2",
        sh_quote(REFUSED_HINT)
    ));
    parts.join("; ")
}

/// The env entries that subPathExpr mounts expand, copied as the app container has them (the
/// first of each name).
pub(super) fn expanded_env(targets: &[Target]) -> Vec<Value> {
    let mut env: Vec<Value> = Vec::new();
    for e in targets
        .iter()
        .filter_map(|t| t.sub_path_expr.as_ref())
        .flat_map(|x| &x.env)
    {
        if !env.iter().any(|o| o.get("name") == e.get("name")) {
            env.push(e.clone());
        }
    }
    env
}

/// The init container: `name` first, then `image`, `command`, `env` (only when a subPathExpr
/// mount needs it), `securityContext`, `resources` and `volumeMounts`, the fields inside each in
/// the order the Kubernetes types serialize them (`k8s_openapi`'s `Container`, alphabetical).
/// Written out rather than serialized from those types, which cannot fail but has an error path
/// all the same; a test holds it to them.
pub(super) fn container(image: &str, targets: &[Target]) -> Value {
    let paths = mount_paths(targets);
    let command = json!(["sh", "-c", script(targets, &paths)]);
    let env = expanded_env(targets);
    let mounts: Vec<Value> = targets
        .iter()
        .zip(paths)
        .map(|(t, p)| {
            let mut m = Map::new();
            m.insert("mountPath".into(), Value::String(p));
            m.insert("name".into(), Value::String(t.volume.clone()));
            if let Some(s) = &t.sub_path {
                m.insert("subPath".into(), Value::String(s.clone()));
            }
            if let Some(e) = &t.sub_path_expr {
                m.insert("subPathExpr".into(), Value::String(e.expr.clone()));
            }
            Value::Object(m)
        })
        .collect();
    let mut c = Map::new();
    c.insert("name".into(), json!(NAME));
    c.insert("image".into(), Value::String(image.to_string()));
    c.insert("command".into(), command);
    if !env.is_empty() {
        c.insert("env".into(), Value::Array(env));
    }
    c.insert(
        "securityContext".into(),
        json!({
            "allowPrivilegeEscalation": false,
            "capabilities": {"add": ["CHOWN", "DAC_OVERRIDE", "FOWNER"], "drop": ["ALL"]},
            "runAsGroup": 0,
            "runAsNonRoot": false,
            "runAsUser": 0,
        }),
    );
    c.insert(
        "resources".into(),
        json!({
            "limits": {"cpu": "100m", "memory": "64Mi"},
            "requests": {"cpu": "10m", "memory": "16Mi"},
        }),
    );
    c.insert("volumeMounts".into(), Value::Array(mounts));
    Value::Object(c)
}

/// Put `wanted` into the pod's init containers: replace our own if it is there, else insert it
/// first (plain pods: it must run before anything that uses the volume) or append it (operator
/// resources: the operator merges init containers by name and keeps its own first).
pub(super) fn place(
    pod: &mut Map<String, Value>,
    wanted: Value,
    first: bool,
) -> Result<(), String> {
    let Some(list) = workload::list_entry(pod, "initContainers") else {
        return Err("initContainers is not a list".into());
    };
    match list
        .iter()
        .position(|c| workload::container_name(c) == NAME)
    {
        Some(i) => {
            if let Some(slot) = list.get_mut(i)
                && *slot != wanted
            {
                *slot = wanted;
            }
        }
        None if first => list.insert(0, wanted),
        None => list.push(wanted),
    }
    Ok(())
}
