//! `helm-fixup diagnose --error TEXT`: from the message a user sees to the fix.
//!
//! Users arrive with a log line, a `kubectl describe pod` or a `kubectl get events`, not with a
//! profile name. Each failure below is recognised by the words its component prints (taken
//! from the components' own sources and the reports they produce; see each entry), and says
//! what is wrong, which fix applies (the one with the least privilege first) and what to check
//! in the cluster. The matching reads text only: it never runs anything.

use crate::report::{Certainty, Prediction};
use serde::Serialize;

/// One failure this tool fixes, as users see it.
#[derive(Debug, Serialize)]
pub struct Failure {
    /// Stable identifier, for JSON consumers.
    pub code: &'static str,
    /// What fails, in the user's words.
    pub title: &'static str,
    /// Why it fails.
    pub cause: &'static str,
    /// The fixes, least privilege first: the `helm-fixup` arguments and what each does.
    pub fixes: &'static [Remedy],
    /// What to look at in the cluster to be sure.
    pub check: &'static str,
    /// Any of these lines recognises the failure: each is words that must all appear in one
    /// line, in any case.
    #[serde(skip)]
    signs: &'static [&'static [&'static str]],
}

/// One way to fix a failure.
#[derive(Debug, Serialize)]
pub struct Remedy {
    /// The arguments, as typed after `helm-fixup`.
    pub args: &'static [&'static str],
    pub why: &'static str,
}

/// The failures, in the order a pod meets them.
pub const FAILURES: &[Failure] = &[
    Failure {
        code: "unbound-claim",
        title: "the pod stays Pending: its PersistentVolumeClaim is not bound",
        cause: "no StorageClass provisions the claim and no PersistentVolume matches it (local disks, \
                hostPath, no default StorageClass); the scheduler's VolumeBinding plugin then reports \
                the claim as unbound",
        fixes: &[Remedy {
            args: &[
                "-p",
                "local-pv",
                "--set",
                "local-pv.node=NODE",
                "--set",
                "local-pv.namespace=NAMESPACE",
            ],
            why: "adds a local PersistentVolume pinned to NODE for every claim of the release, bound to its claim",
        }],
        check: "kubectl get pvc -n NAMESPACE (STATUS Pending) and kubectl get storageclass (is one marked (default)?)",
        // kube-scheduler's VolumeBinding filter: "pod has unbound immediate PersistentVolumeClaims".
        signs: &[
            &["unbound immediate persistentvolumeclaims"],
            &["pod has unbound", "persistentvolumeclaim"],
        ],
    },
    Failure {
        code: "config-reloader-write",
        title: "config-reloader cannot write the generated configuration (config_out): the pod stays Init:0/1 or restarts",
        cause: "the reloader runs as nobody (its image's USER) and the config_out volume is not writable for that uid",
        fixes: &[
            Remedy {
                args: &["-p", "shared-uid"],
                why: "when the pod does not yet run every container as one uid with an fsGroup: gives them one, so the \
                      volume is theirs and no container becomes root. When it already does (kube-prometheus-stack's \
                      default: 1000 with fsGroup 2000), shared-uid changes nothing and says so: the node did not \
                      apply the fsGroup to the volume, and root-run is the fix",
            },
            Remedy {
                args: &["-p", "root-run"],
                why: "runs the pod as root, which writes config_out whatever the node does with fsGroup (more \
                      privilege: the summary names every object that gets it)",
            },
        ],
        check: "kubectl logs POD -c init-config-reloader (or -c config-reloader) and the pod's securityContext",
        // prometheus-config-reloader: `write file: open /etc/prometheus/config_out/prometheus.env.yaml:
        // permission denied`, or `rename ... config_out/prometheus.env.yaml: operation not permitted`.
        signs: &[
            &["config_out", "permission denied"],
            &["config_out", "operation not permitted"],
            &["prometheus.env.yaml", "permission denied"],
        ],
    },
    Failure {
        code: "prometheus-data-write",
        title: "Prometheus cannot write its data directory and panics",
        cause: "the volume's directory was created by root (hostPath, local volume, NFS) and Prometheus runs \
                as another uid (65534 or 1000), so it cannot open queries.active or its blocks",
        fixes: &[
            Remedy {
                args: &["-p", "init-chown"],
                why: "an init container chowns the volume to the uid Prometheus runs as; only it runs as root, with CHOWN, DAC_OVERRIDE and FOWNER",
            },
            Remedy {
                args: &["-p", "shared-uid", "--set", "shared-uid.uid=OWNER"],
                why: "runs the pod as the uid that owns the volume already (no root at all)",
            },
        ],
        check: "ls -ln on the node's directory (the owner uid); with NFS and root_squash, set the owner on the server",
        // Prometheus's active query tracker (promql/query_logger.go): "Error opening query log
        // file" ... "open /prometheus/queries.active: permission denied", then
        // "panic: Unable to create mmap-ed active query log".
        signs: &[
            &["queries.active", "permission denied"],
            &["unable to create mmap-ed active query log"],
            &["error opening query log file"],
        ],
    },
    Failure {
        code: "volume-write",
        title: "a container cannot write its persistent volume: permission denied, then a crash loop",
        cause: "the volume's directory belongs to root (hostPath, NFS, a local disk, a provisioner that ignores \
                fsGroup) and the container runs as another uid",
        fixes: &[
            Remedy {
                args: &["-p", "init-chown"],
                why: "an init container chowns the volume to the uid the container runs as; only it runs as root, with CHOWN, DAC_OVERRIDE and FOWNER",
            },
            Remedy {
                args: &["-p", "shared-uid", "--set", "shared-uid.uid=OWNER"],
                why: "runs the pod as the uid that owns the volume already (no root at all)",
            },
        ],
        check: "kubectl logs POD --previous (permission denied on the data path) and ls -ln of the directory on the node",
        // Go's os.MkdirAll, as Loki, Grafana and Alertmanager print it: `mkdir /var/loki/rules:
        // permission denied`.
        signs: &[&["mkdir", "permission denied"]],
    },
    Failure {
        code: "shared-volume",
        title: "containers that share a volume run as different users: one cannot write the other's files",
        cause: "two containers of one pod write one volume with different uids; files one creates (0644) the \
                other cannot change, and no fsGroup gives them a common group",
        fixes: &[Remedy {
            args: &["-p", "shared-uid"],
            why: "gives the pod's containers one uid and an fsGroup; no container becomes root",
        }],
        check: "the runAsUser of each container that mounts the volume, and ls -ln of the files",
        signs: &[],
    },
    Failure {
        code: "thanos-hard-link",
        title: "thanos-sidecar cannot hard-link Prometheus blocks: no block is uploaded",
        cause: "prometheus and thanos-sidecar run as different uids on the same volume; the kernel refuses a \
                hard link to a file another user owns (protected_hardlinks)",
        fixes: &[Remedy {
            args: &["-p", "shared-uid"],
            why: "gives prometheus and thanos-sidecar one uid and the pod an fsGroup",
        }],
        check: "the runAsUser of the prometheus and thanos-sidecar containers, and ls -ln of the blocks",
        // thanos shipper: "upload ...: hard link block: hard link file chunks/000001: link ...:
        // operation not permitted".
        signs: &[
            &["hard link", "operation not permitted"],
            &["hard link block"],
        ],
    },
    Failure {
        code: "loopback-probe",
        title: "a probe cannot reach its container: the pod restarts (CrashLoopBackOff) or never becomes Ready",
        cause: "the kubelet sends httpGet probes to the pod IP; a container that listens on 127.0.0.1 only \
                (listenLocal: true, --listen-address=127.0.0.1:PORT) refuses them. An app that is still \
                starting, or listens on another port, fails the same way: check which it is first",
        fixes: &[Remedy {
            args: &["-p", "exec-probes"],
            why: "turns the probes of ports bound to 127.0.0.1 into exec probes that run inside the container; it changes no other probe",
        }],
        check: "the container's listen flag (or listenLocal: true in the Prometheus/Alertmanager resource) and the probed port",
        signs: &[
            &["probe failed", "connection refused"],
            &["probe failed", "context deadline exceeded"],
        ],
    },
    Failure {
        code: "no-shell",
        title: "an exec probe or command needs a shell the image does not have",
        cause: "the image is distroless (no sh): exec probes written as `sh -c ...` cannot start",
        fixes: &[Remedy {
            args: &["-p", "exec-probes"],
            why: "gives a distroless Prometheus promtool probes, which need no shell; other distroless images are named in a warning",
        }],
        check: "the image of the container in kubectl describe pod POD",
        // The container runtime: `exec: "sh": executable file not found in $PATH`, or for an
        // absolute path `exec: "/bin/sh": stat /bin/sh: no such file or directory`.
        signs: &[
            &["executable file not found", "\"sh\""],
            &["\"/bin/sh\"", "no such file or directory"],
        ],
    },
    Failure {
        code: "statefulset-update-forbidden",
        title: "helm upgrade is rejected: a StatefulSet field that cannot change did",
        cause: "the new render changes a StatefulSet field the API server never updates (volumeClaimTemplates, \
                selector, serviceName, podManagementPolicy): a fix turned on for an installed release \
                (local-pv's storageClassName) or a chart change",
        fixes: &[Remedy {
            args: &["diagnose"],
            why: "run on the new render (helm template ... | helm-fixup diagnose): each fix that changes such a field \
                  says so, with the `kubectl delete statefulset NAME --cascade=orphan` to run before the upgrade \
                  (its pods and claims stay); a run of the profile warns the same (code immutable-field)",
        }],
        check: "helm get manifest RELEASE against the new render: which of those fields differ",
        // kube-apiserver's ValidateStatefulSetUpdate: `spec: Forbidden: updates to statefulset spec
        // for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', ... are forbidden`.
        signs: &[&["updates to statefulset spec for fields other than"]],
    },
    Failure {
        code: "claim-update-forbidden",
        title: "helm upgrade is rejected: a PersistentVolumeClaim or PersistentVolume cannot change",
        cause: "a claim's spec (access modes, volumeName once set, storageClassName once set: it may go from unset \
                to a value on Kubernetes 1.28 and later, never back or to another class) and a volume's source and \
                node affinity are fixed once created; the new render changes them, for example an upgrade without \
                local-pv that drops the class local-pv set",
        fixes: &[Remedy {
            args: &["-p", "local-pv", "--set", "local-pv.existing=cluster"],
            why: "sends the volumes that exist exactly as the cluster has them and keeps the class local-pv set on \
                  their claims; a claim bound to another volume with another class: leave it out \
                  (--skip local-pv:kind=PersistentVolumeClaim,name=NAME) or recreate it",
        }],
        check: "kubectl get pvc,pv -o yaml against the new render",
        // ValidatePersistentVolumeClaimUpdate: `spec: Forbidden: spec is immutable after creation
        // except resources.requests ...`; ValidatePersistentVolumeUpdate:
        // `spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation`.
        signs: &[
            &["spec is immutable after creation"],
            &["persistentvolumesource is immutable"],
            &["nodeaffinity", "field is immutable"],
        ],
    },
    Failure {
        code: "ssa-claimref-conflict",
        title: "helm upgrade (Helm 4) fails with a server-side apply conflict on a PersistentVolume's claimRef",
        cause: "the controller that binds volumes owns claimRef's uid and resourceVersion once the claim binds; \
                re-applying a pre-bound volume without them conflicts on Kubernetes 1.22-1.24",
        fixes: &[Remedy {
            args: &["-p", "local-pv", "--set", "local-pv.existing=cluster"],
            why: "sends volumes that exist as the cluster has them, bound claimRef included, so the apply owns nothing new",
        }],
        check: "kubectl get pv NAME -o yaml --show-managed-fields (the manager of spec.claimRef)",
        signs: &[&["conflict", "claimref"]],
    },
    Failure {
        code: "scc-fixed-uid",
        title: "OpenShift rejects the pod: its uid is not in the namespace's range (restricted-v2 SCC)",
        cause: "the chart sets fixed runAsUser/runAsGroup/fsGroup (1000, 2000, 65534); restricted-v2 admits only \
                the uids of the namespace's openshift.io/sa.scc.uid-range and the fsGroups of its \
                supplemental groups, so the ReplicaSet or StatefulSet cannot create its pods",
        fixes: &[Remedy {
            args: &["-p", "openshift"],
            why: "removes the fixed ids so the SCC assigns the namespace's; containers that need root are named, with the SCC to grant",
        }],
        check: "kubectl describe replicaset/statefulset NAME (the FailedCreate event) and oc get namespace NS -o yaml \
                (openshift.io/sa.scc.uid-range)",
        // OpenShift's SCC admission (apiserver-library-go): `unable to validate against any security
        // context constraint: [provider "restricted-v2": Forbidden: ..., .containers[0].runAsUser:
        // Invalid value: 1000: must be in the ranges: [1000680000, 1000689999]]`.
        signs: &[
            &["unable to validate against any security context constraint"],
            &["runasuser", "must be in the ranges"],
            &["fsgroup", "not an allowed group"],
        ],
    },
    Failure {
        code: "no-arch-image",
        title: "the image has no build for the node's architecture: ImagePullBackOff or exec format error",
        cause: "the registry publishes the image for other architectures only (prometheus-operator publishes no \
                loong64 images); a mirror with builds for this architecture has to be named in every \
                container, the operator's resources and the operator's own image flags",
        fixes: &[Remedy {
            args: &["-p", "image-mirror", "--set", "image-mirror.map=FROM=TO"],
            why: "rewrites every image reference under FROM to the mirror TO (containers, the operator's CR fields and \
                  flags, init-chown's helper); `;tag=s/^v//` edits tags a mirror names differently",
        }],
        check: "kubectl describe pod POD (the Failed event) and docker manifest inspect IMAGE (its platforms)",
        // Docker: `no matching manifest for linux/loong64 in the manifest list entries`;
        // containerd (`images.Manifest`): `no match for platform in manifest: not found`;
        // CRI-O through containers/image (`manifest/list.go`, `oci_index.go`): `no image found in
        // manifest list for architecture loong64` (older) or `no image found in image index for
        // architecture "loong64", variant "", OS "linux"`; the kernel, for a single-platform image
        // of another architecture: `exec format error`.
        signs: &[
            &["no matching manifest for linux/"],
            &["no match for platform in manifest"],
            &["no image found in manifest list for architecture"],
            &["no image found in image index for architecture"],
            &["exec format error"],
            &[
                "image with reference",
                "was found but does not match the specified platform",
            ],
        ],
    },
    Failure {
        code: "image-pull",
        title: "the image cannot be pulled: ErrImagePull, then ImagePullBackOff",
        cause: "the node cannot get the image from the registry the chart names: the registry is unreachable \
                from the node (no internet, a firewall, a timeout), it does not trust the registry's \
                certificate, or the image or tag does not exist there",
        fixes: &[Remedy {
            args: &["-p", "image-mirror", "--set", "image-mirror.map=FROM=TO"],
            why: "pulls every image under FROM (docker.io, quay.io, registry.k8s.io...) from your mirror TO instead, \
                  the operator's images and init-chown's helper included; `image-mirror.require=true` refuses a \
                  reference no rule maps, so none is left pointing at a registry the nodes cannot reach",
        }],
        check: "kubectl describe pod POD (the Failed event names the image and the registry's answer), and \
                crictl pull IMAGE on the node",
        // The kubelet (`pkg/kubelet/images/image_manager.go`): the waiting reasons `ErrImagePull`
        // and `ImagePullBackOff`, the events `Failed to pull image "...": ...` and `Back-off
        // pulling image "..."`. What the runtime says after `Failed to pull image`: containerd
        // `failed to pull and unpack image`, `failed to resolve reference`, `not found`; a
        // registry's `manifest unknown`; Go's `dial tcp ...: i/o timeout` and `connection refused`;
        // `x509: certificate signed by unknown authority`, `http: server gave HTTP response to
        // HTTPS client`.
        signs: &[
            &["errimagepull"],
            &["imagepullbackoff"],
            &["back-off pulling image"],
            &["failed to pull image"],
            &["failed to pull and unpack image"],
            &["failed to resolve reference"],
            &["manifest unknown"],
            &["pull access denied"],
            &["x509: certificate signed by unknown authority"],
            &["server gave http response to https client"],
        ],
    },
    Failure {
        code: "pod-security",
        title: "the namespace's Pod Security level rejects the pods",
        cause: "the namespace enforces Pod Security (restricted or baseline), which forbids what the pods \
                ask for; the rejection lists each field (running as root, added capabilities, hostPath, \
                missing runAsNonRoot, seccompProfile or capabilities drop ALL)",
        fixes: &[Remedy {
            args: &["-p", "shared-uid", "--set", "shared-uid.uid=UID"],
            why: "when the fix must not add root (root-run and init-chown do, and restricted rejects them): shares \
                  volumes with a non-root uid; it adds none of the other fields restricted requires",
        }],
        check: "the list after `violates PodSecurity`, and kubectl get namespace NAMESPACE --show-labels \
                (pod-security.kubernetes.io/enforce)",
        // kube-apiserver's PodSecurity admission: `violates PodSecurity "restricted:latest": ...`.
        signs: &[&["violates podsecurity"]],
    },
];

/// A failure recognised in the text, with the line that showed it.
#[derive(Debug, Serialize)]
pub struct Found {
    #[serde(flatten)]
    pub failure: &'static Failure,
    /// The first line of the text that matched, trimmed.
    pub line: String,
}

/// The failures `text` shows, each once, in the order of [`FAILURES`]. A missing architecture
/// is an image pull failure too: it is named alone, with its own advice.
pub fn from_error(text: &str) -> Vec<Found> {
    let lines: Vec<String> = text.lines().map(str::to_lowercase).collect();
    let originals: Vec<&str> = text.lines().collect();
    let mut found: Vec<Found> = FAILURES
        .iter()
        .filter_map(|failure| {
            let (at, words) = lines.iter().enumerate().find_map(|(i, l)| {
                failure
                    .signs
                    .iter()
                    .find(|words| words.iter().all(|w| l.contains(w)))
                    .map(|w| (i, *w))
            })?;
            Some(Found {
                failure,
                line: excerpt(originals[at], &lines[at], words),
            })
        })
        .collect();
    if found.iter().any(|f| f.failure.code == "no-arch-image") {
        found.retain(|f| f.failure.code != "image-pull");
    }
    found
}

/// The matched line, trimmed, at most [`EXCERPT`] characters: a long log line (a thanos upload
/// error is 400) is cut around the words that recognised it, so they stay in sight.
fn excerpt(line: &str, lower: &str, words: &[&str]) -> String {
    let line = line.trim();
    let lower = lower.trim();
    if line.chars().count() <= EXCERPT {
        return line.to_string();
    }
    // Byte positions in the lowercase line are the original's only when lowercasing kept
    // every length (ASCII, the log lines these are); else cut the head.
    let spans: Option<Vec<(usize, usize)>> = (line.len() == lower.len())
        .then(|| {
            words
                .iter()
                .map(|w| lower.find(w).map(|p| (p, p + w.len())))
                .collect()
        })
        .flatten();
    let Some(spans) = spans else {
        return line.chars().take(EXCERPT).collect::<String>() + "...";
    };
    let first = spans.iter().map(|s| s.0).min().unwrap_or(0);
    let last = spans.iter().map(|s| s.1).max().unwrap_or(0);
    // Up to EXCERPT characters ending a little after the last matched word.
    let end = (last + 40).min(line.len());
    let start = end.saturating_sub(EXCERPT).min(first);
    let (mut start, mut end) = (start, end);
    while !line.is_char_boundary(start) {
        start -= 1;
    }
    while !line.is_char_boundary(end) {
        end += 1;
    }
    format!(
        "{}{}{}",
        if start > 0 { "..." } else { "" },
        &line[start..end],
        if end < line.len() { "..." } else { "" }
    )
}

/// The longest excerpt of a matched line the report shows.
const EXCERPT: usize = 300;

/// One failure foreseen in a stream, on one object: what `diagnose` reports for it.
#[derive(Debug, Serialize)]
pub struct Finding {
    /// `Kind namespace/name`.
    pub object: String,
    /// The failure's code ([`FAILURES`]).
    pub failure: &'static str,
    /// What the user will see.
    pub title: &'static str,
    /// The fields that show it, one line each.
    pub evidence: Vec<String>,
    pub certainty: Certainty,
    /// For a conditional finding: on which clusters it fails.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
    /// The profiles that fix it, least privilege first.
    pub profiles: Vec<String>,
    /// What the fix will meet on this object (an upgrade Kubernetes rejects, Pod Security).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caveats: Vec<String>,
    /// The `helm-fixup` arguments that fix it on this object alone.
    pub args: Vec<String>,
    /// The same, as Helm 4 and Helm 3 take them.
    pub helm4: String,
    pub helm3: String,
}

/// The failure with this code.
pub fn failure(code: &str) -> Option<&'static Failure> {
    FAILURES.iter().find(|f| f.code == code)
}

/// Group what the fixes foresaw into findings: one per object and failure, in stream order.
/// `extra` gives the `--set` arguments a profile needs to run at all (local-pv's node).
pub fn findings(
    predicted: &[Prediction],
    extra: &dyn Fn(&str, &str) -> Vec<String>,
) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    // Where each (object, failure) is in `out`, and each object's first place: a stream of
    // thousands of workloads stays linear.
    let mut at: std::collections::HashMap<(String, &str), usize> = Default::default();
    let mut first: std::collections::HashMap<String, usize> = Default::default();
    for p in predicted {
        let key = (p.object.clone(), p.failure);
        let f = match at.get(&key) {
            Some(&i) => &mut out[i],
            None => {
                at.insert(key, out.len());
                let n = first.len();
                first.entry(p.object.clone()).or_insert(n);
                out.push(Finding {
                    object: p.object.clone(),
                    failure: p.failure,
                    title: failure(p.failure).map_or(p.failure, |f| f.title),
                    evidence: Vec::new(),
                    certainty: p.certainty,
                    conditions: Vec::new(),
                    profiles: Vec::new(),
                    caveats: Vec::new(),
                    args: Vec::new(),
                    helm4: String::new(),
                    helm3: String::new(),
                });
                out.last_mut().expect("just pushed")
            }
        };
        if !f.evidence.contains(&p.evidence) {
            f.evidence.push(p.evidence.clone());
        }
        if p.certainty == Certainty::Definite {
            f.certainty = Certainty::Definite;
        }
        if let Some(c) = &p.condition
            && !f.conditions.contains(c)
        {
            f.conditions.push(c.clone());
        }
        if !f.profiles.contains(&p.profile) {
            f.profiles.push(p.profile.clone());
        }
        for c in &p.caveats {
            if !f.caveats.contains(c) {
                f.caveats.push(c.clone());
            }
        }
    }
    // Stream order is the order the fixes met the objects; sort by object so one object's
    // findings stand together, keeping the first-seen order of objects.
    out.sort_by_key(|f| first.get(&f.object).copied());
    for f in &mut out {
        if f.certainty == Certainty::Definite {
            f.conditions.clear();
        }
        let profile = f.profiles[0].clone();
        let mut args = vec![
            "-p".to_string(),
            profile.clone(),
            "--only".to_string(),
            format!("{profile}:{}", selector(&f.object)),
        ];
        args.extend(extra(&profile, &f.object));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        f.helm4 = helm4_args(&refs);
        f.helm3 = helm3_args(&refs);
        f.args = args;
    }
    out
}

/// A selector for exactly the object `Kind namespace/name` (or `Kind name`).
fn selector(object: &str) -> String {
    let object = object.strip_suffix(" (hook)").unwrap_or(object);
    let (kind, rest) = object.split_once(' ').unwrap_or((object, ""));
    match rest.split_once('/') {
        Some((ns, name)) => format!("kind={kind},namespace={ns},name={name}"),
        // `namespace=` matches only objects without one.
        None => format!("kind={kind},namespace=,name={rest}"),
    }
}

/// The report of a stream's diagnosis for people.
pub fn stream_text(found: &[Finding], documents: usize, assumed: &str) -> String {
    let mut out = String::new();
    if found.is_empty() {
        out.push_str(&format!(
            "helm-fixup diagnose: {documents} document(s), no failure that helm-fixup fixes is foreseen{assumed}.\n"
        ));
        return out;
    }
    for (i, f) in found.iter().enumerate() {
        let certainty = match f.certainty {
            Certainty::Definite => "definite".to_string(),
            Certainty::Conditional => format!("conditional: {}", f.conditions.join("; ")),
        };
        if i == 0 || found[i - 1].object != f.object {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&format!("{}\n", f.object));
        }
        out.push_str(&format!("  {} [{}]\n", f.title, f.failure));
        for e in &f.evidence {
            out.push_str(&format!("    evidence:  {e}\n"));
        }
        out.push_str(&format!("    certainty: {certainty}\n"));
        out.push_str(&format!("    fix:       helm-fixup {}\n", f.args.join(" ")));
        out.push_str(&format!("      Helm 4:  {}\n", f.helm4));
        out.push_str(&format!("      Helm 3:  {}\n", f.helm3));
        for c in &f.caveats {
            out.push_str(&format!("    mind:      {c}\n"));
        }
    }
    out.push('\n');
    let definite = found
        .iter()
        .filter(|f| f.certainty == Certainty::Definite)
        .count();
    out.push_str(&format!(
        "{} finding(s) in {documents} document(s): {definite} definite, {} conditional{assumed}.\n",
        found.len(),
        found.len() - definite
    ));
    out.push_str(if definite == found.len() {
        "-p auto fixes them, each on its own objects.\n"
    } else {
        "-p auto fixes the definite ones, each on its own objects; --assume (storage=hostpath|nfs|local|dynamic, \
         platform=openshift, arch=ARCH) settles what depends on the cluster.\n"
    });
    out
}

/// The report for people.
pub fn text(found: &[Found]) -> String {
    if found.is_empty() {
        return "helm-fixup diagnose: no failure this tool fixes is recognised in this text.\n\
                Paste the container's log line (kubectl logs POD -c CONTAINER --previous) or the \
                events (kubectl describe pod POD); `helm-fixup explain PROFILE` describes each fix.\n"
            .into();
    }
    let mut out = String::new();
    for f in found {
        let fl = f.failure;
        out.push_str(&format!("{} [{}]\n", fl.title, fl.code));
        out.push_str(&format!("  seen:   {}\n", f.line));
        out.push_str(&format!("  cause:  {}\n", fl.cause));
        for (i, fix) in fl.fixes.iter().enumerate() {
            let label = if i == 0 { "fix:" } else { "or:" };
            let args = fix.args.join(" ");
            out.push_str(&format!("  {label:<7} helm-fixup {args}\n"));
            out.push_str(&format!("          {}\n", fix.why));
            // A fix that is a profile runs under Helm; `diagnose` runs on its own.
            if fix.args.first() == Some(&"-p") {
                out.push_str(&format!("          Helm 4: {}\n", helm4_args(fix.args)));
                out.push_str(&format!("          Helm 3: {}\n", helm3_args(fix.args)));
            }
        }
        out.push_str(&format!("  check:  {}\n\n", fl.check));
    }
    out
}

/// The arguments as Helm 4 passes them to the `fixup` plugin.
fn helm4_args(args: &[&str]) -> String {
    let mut out = String::from("--post-renderer fixup");
    for a in args {
        out.push_str(&format!(" --post-renderer-args={a}"));
    }
    out
}

/// The arguments as Helm 3 passes them to the binary.
fn helm3_args(args: &[&str]) -> String {
    let mut out = String::from("--post-renderer helm-fixup");
    for a in args {
        out.push_str(&format!(" --post-renderer-args {a}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<&'static str> {
        from_error(text).iter().map(|f| f.failure.code).collect()
    }

    #[test]
    fn the_prometheus_panic_lines_name_the_data_volume() {
        let log = r#"ts=2023-04-13T00:57:17.124Z caller=query_logger.go:91 level=error component=activeQueryTracker msg="Error opening query log file" file=/prometheus/queries.active err="open /prometheus/queries.active: permission denied"
panic: Unable to create mmap-ed active query log"#;
        assert_eq!(codes(log), ["prometheus-data-write"]);
        assert_eq!(
            codes("panic: Unable to create mmap-ed active query log"),
            ["prometheus-data-write"]
        );
        assert_eq!(
            codes("open /prometheus/queries.active: permission denied"),
            ["prometheus-data-write"]
        );
        let found = from_error(log);
        assert!(
            found[0].line.contains("queries.active"),
            "{}",
            found[0].line
        );
        assert_eq!(found[0].failure.fixes[0].args, ["-p", "init-chown"]);
    }

    #[test]
    fn seen_line_keeps_the_words_that_recognised_a_long_thanos_line() {
        let id = "01JBDQNT0RZH4GFCFC564RWZT7";
        let log = format!(
            r#"ts=2024-11-01T10:12:13.456789Z caller=shipper.go:263 level=warn component=shipper msg="shipping failed" block={id} err="upload {id}: hard link block: hard link file chunks/000001: link /prometheus/{id}/chunks/000001 /prometheus/thanos/upload/{id}/chunks/000001: operation not permitted" uploaded=0"#
        );
        assert!(log.len() > EXCERPT);
        let found = from_error(&log);
        assert_eq!(found[0].failure.code, "thanos-hard-link");
        let seen = &found[0].line;
        assert!(
            seen.contains("hard link") && seen.contains("operation not permitted"),
            "{seen}"
        );
        assert!(seen.chars().count() <= EXCERPT + 6, "{seen}");
    }

    #[test]
    fn thanos_hard_link_needs_one_uid() {
        let log = r#"level=warn err="upload 01JBDQNT0RZH4GFCFC564RWZT7: hard link block: hard link file chunks/000001: link /prometheus/01JBDQNT0RZH4GFCFC564RWZT7/chunks/000001 /prometheus/thanos/upload/01JBDQNT0RZH4GFCFC564RWZT7/chunks/000001: operation not permitted" uploaded=0"#;
        assert_eq!(codes(log), ["thanos-hard-link"]);
        assert_eq!(
            from_error(log)[0].failure.fixes[0].args,
            ["-p", "shared-uid"]
        );
    }

    #[test]
    fn config_reloader_is_offered_the_least_privilege_first() {
        for log in [
            "write file: open /etc/prometheus/config_out/prometheus.env.yaml: permission denied",
            "level=error caller=main.go:216 msg=\"Failed to run\" err=\"rename file: rename /etc/prometheus/config_out/prometheus.env.yaml.tmp /etc/prometheus/config_out/prometheus.env.yaml: operation not permitted\"",
        ] {
            let found = from_error(log);
            assert_eq!(found.len(), 1, "{log}");
            assert_eq!(found[0].failure.code, "config-reloader-write");
            let first: Vec<&str> = found[0].failure.fixes.iter().map(|f| f.args[1]).collect();
            assert_eq!(first, ["shared-uid", "root-run"], "root-run is never first");
        }
    }

    #[test]
    fn image_pull_failures_name_image_mirror() {
        // As the kubelet and the runtimes print them (see the signs' sources above).
        let pulls = [
            "Warning  Failed  kubelet  Error: ErrImagePull",
            "Warning  Failed  kubelet  Error: ImagePullBackOff",
            r#"Normal   BackOff  kubelet  Back-off pulling image "quay.io/prometheus/prometheus:v3.5.0""#,
            r#"Warning  Failed  kubelet  Failed to pull image "docker.io/grafana/grafana:12.1.0": rpc error: code = DeadlineExceeded desc = failed to pull and unpack image "docker.io/grafana/grafana:12.1.0": failed to resolve reference "docker.io/grafana/grafana:12.1.0": failed to do request: Head "https://registry-1.docker.io/v2/grafana/grafana/manifests/12.1.0": dial tcp 54.236.113.205:443: i/o timeout"#,
            r#"failed to resolve reference "registry.example.com/mon/prometheus:v3.5.0": registry.example.com/mon/prometheus:v3.5.0: not found"#,
            r#"Failed to pull image "harbor.local/mon/grafana:12.1.0": rpc error: code = Unknown desc = failed to pull and unpack image "harbor.local/mon/grafana:12.1.0": failed to resolve reference "harbor.local/mon/grafana:12.1.0": failed to do request: Head "https://harbor.local/v2/mon/grafana/manifests/12.1.0": tls: failed to verify certificate: x509: certificate signed by unknown authority"#,
            "http: server gave HTTP response to HTTPS client",
            "Error response from daemon: manifest for quay.io/x/y:1 not found: manifest unknown: manifest unknown",
        ];
        for line in pulls {
            assert_eq!(codes(line), ["image-pull"], "{line}");
            assert_eq!(from_error(line)[0].failure.fixes[0].args[1], "image-mirror");
        }
        // A missing architecture is named as such, alone.
        for line in [
            r#"Failed to pull image "quay.io/prometheus-operator/prometheus-operator:v0.85.0": rpc error: code = NotFound desc = failed to pull and unpack image "quay.io/prometheus-operator/prometheus-operator:v0.85.0": no match for platform in manifest: not found"#,
            r#"Failed to pull image "quay.io/x/y:1": rpc error: code = Unknown desc = choosing an image from manifest list docker://quay.io/x/y:1: no image found in image index for architecture "loong64", variant "", OS "linux""#,
            "no image found in manifest list for architecture loong64, variant \"\", OS linux",
        ] {
            assert_eq!(codes(line), ["no-arch-image"], "{line}");
        }
    }

    #[test]
    fn scheduler_events_name_local_pv() {
        let events = "  Warning  FailedScheduling  106s  default-scheduler  0/8 nodes are available: 8 pod has unbound immediate PersistentVolumeClaims. preemption: 0/8 nodes are available";
        assert_eq!(codes(events), ["unbound-claim"]);
    }

    #[test]
    fn a_missing_shell_and_a_loopback_probe_are_told_apart() {
        assert_eq!(
            codes(
                r#"OCI runtime exec failed: exec failed: unable to start container process: exec: "sh": executable file not found in $PATH: unknown"#
            ),
            ["no-shell"]
        );
        assert_eq!(
            codes(r#"exec: "/bin/sh": stat /bin/sh: no such file or directory: unknown"#),
            ["no-shell"]
        );
        // Another missing command is no missing shell.
        assert!(codes(r#"exec: "flush:x": executable file not found in $PATH"#).is_empty());
        let probe = r#"Readiness probe failed: Get "http://10.233.127.16:8080/-/ready": dial tcp 10.233.127.16:8080: connect: connection refused"#;
        assert_eq!(codes(probe), ["loopback-probe"]);
        // The cause it cannot see in the text is a question, not a claim.
        assert!(
            from_error(probe)[0]
                .failure
                .cause
                .contains("check which it is first")
        );
    }

    #[test]
    fn a_describe_output_with_several_failures_names_each_once() {
        let text = "Events:\n  Warning  FailedScheduling  default-scheduler  0/3 nodes are available: 3 pod has unbound immediate PersistentVolumeClaims.\n  Warning  FailedScheduling  default-scheduler  0/3 nodes are available: 3 pod has unbound immediate PersistentVolumeClaims.\nopen /prometheus/queries.active: permission denied\n";
        assert_eq!(codes(text), ["unbound-claim", "prometheus-data-write"]);
    }

    #[test]
    fn upgrade_rejections_name_what_to_do_before_the_upgrade() {
        let sts = r#"Error: UPGRADE FAILED: cannot patch "demo-db" with kind StatefulSet: StatefulSet.apps "demo-db" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"#;
        assert_eq!(codes(sts), ["statefulset-update-forbidden"]);
        let t = text(&from_error(sts));
        assert!(
            t.contains("helm-fixup diagnose\n")
                && !t.contains("Helm 4: --post-renderer fixup --post-renderer-args=diagnose"),
            "{t}"
        );
        let pvc = r#"Error: UPGRADE FAILED: cannot patch "data" with kind PersistentVolumeClaim: PersistentVolumeClaim "data" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"#;
        assert_eq!(codes(pvc), ["claim-update-forbidden"]);
        let ssa = r#"Error: UPGRADE FAILED: conflict occurred while applying object /monitoring.data-db-0 /v1, Kind=PersistentVolume: Apply failed with 1 conflict: conflict with "kube-controller-manager" using v1: .spec.claimRef"#;
        assert_eq!(codes(ssa), ["ssa-claimref-conflict"]);
    }

    #[test]
    fn openshift_scc_rejection_names_the_openshift_profile() {
        let event = r#"Warning  FailedCreate  replicaset-controller  Error creating: pods "grafana-7d9c-" is forbidden: unable to validate against any security context constraint: [provider "anyuid": Forbidden: not usable by user or serviceaccount, provider restricted-v2: .spec.securityContext.fsGroup: Invalid value: []int64{472}: 472 is not an allowed group, provider restricted-v2: .containers[0].runAsUser: Invalid value: 472: must be in the ranges: [1000680000, 1000689999]]"#;
        assert_eq!(codes(event), ["scc-fixed-uid"]);
        assert_eq!(
            from_error(event)[0].failure.fixes[0].args,
            ["-p", "openshift"]
        );
    }

    #[test]
    fn every_failure_a_fix_foresees_is_described() {
        for code in crate::report::failure::ALL {
            let f = failure(code).unwrap_or_else(|| panic!("{code} is not in FAILURES"));
            assert!(!f.fixes.is_empty() && !f.title.is_empty(), "{code}");
            assert_ne!(
                f.fixes[0].args[1], "root-run",
                "{code}: root-run is never first"
            );
        }
    }

    #[test]
    fn findings_group_by_object_and_failure_and_keep_the_strongest_certainty() {
        let p = |object: &str, failure: &'static str, certainty, evidence: &str| Prediction {
            failure,
            profile: "init-chown".into(),
            object: object.into(),
            evidence: evidence.into(),
            certainty,
            condition: (certainty == Certainty::Conditional).then(|| "if hostPath".to_string()),
            caveats: Vec::new(),
        };
        let predicted = [
            p(
                "StatefulSet a/db",
                "volume-write",
                Certainty::Conditional,
                "claim data",
            ),
            p(
                "Deployment a/web",
                "volume-write",
                Certainty::Definite,
                "hostPath /x",
            ),
            p(
                "StatefulSet a/db",
                "volume-write",
                Certainty::Definite,
                "hostPath /y",
            ),
        ];
        let found = findings(&predicted, &|_, _| Vec::new());
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].object, "StatefulSet a/db");
        assert_eq!(found[0].evidence, ["claim data", "hostPath /y"]);
        assert_eq!(found[0].certainty, Certainty::Definite);
        assert!(
            found[0].conditions.is_empty(),
            "a definite finding has no condition"
        );
        assert_eq!(
            found[0].args,
            [
                "-p",
                "init-chown",
                "--only",
                "init-chown:kind=StatefulSet,namespace=a,name=db"
            ]
        );
        let cluster = findings(
            &[p(
                "PersistentVolume pv-1",
                "unbound-claim",
                Certainty::Conditional,
                "e",
            )],
            &|_, _| vec!["--set".into(), "x=y".into()],
        );
        assert_eq!(
            cluster[0].args,
            [
                "-p",
                "init-chown",
                "--only",
                "init-chown:kind=PersistentVolume,namespace=,name=pv-1",
                "--set",
                "x=y"
            ]
        );
        assert_eq!(cluster[0].conditions, ["if hostPath"]);
    }

    #[test]
    fn unknown_text_says_so_and_what_to_paste() {
        assert!(from_error("everything is fine").is_empty());
        let t = text(&[]);
        assert!(
            t.contains("no failure this tool fixes is recognised"),
            "{t}"
        );
        assert!(t.contains("kubectl logs"), "{t}");
    }

    #[test]
    fn the_fix_is_ready_for_helm_3_and_helm_4() {
        let t = text(&from_error("hard link block: operation not permitted"));
        assert!(t.contains("helm-fixup -p shared-uid\n"), "{t}");
        assert!(t.contains("Helm 4: --post-renderer fixup --post-renderer-args=-p --post-renderer-args=shared-uid"), "{t}");
        assert!(t.contains("Helm 3: --post-renderer helm-fixup --post-renderer-args -p --post-renderer-args shared-uid"), "{t}");
    }
}
