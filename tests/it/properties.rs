//! Properties of the whole pipeline on generated manifest streams (Deployments, StatefulSets with
//! claim templates, PVCs, ConfigMaps, Prometheus CRs, Namespaces; Helm 3 and Helm 4 forms,
//! comments, CRLF), for every profile and a few combinations:
//!
//! - no document is lost: the output has the input's documents, in order, plus the added ones;
//! - documents no profile changed come out byte for byte;
//! - deterministic: the same input gives the same bytes;
//! - idempotent: the output run through again comes back unchanged.
//!
//! root-run and shared-uid on the same pod is a usage error by design (exit 3): allowed here.

use clap::Parser;
use helm_fixup::{Error, Plan, cli::Args, config, stream};
use proptest::prelude::*;
use serde_json::Value;

const PROFILE_SETS: &[&str] = &[
    "root-run",
    "shared-uid",
    "init-chown",
    "exec-probes",
    "local-pv",
    "root-run,init-chown,exec-probes,local-pv",
    "shared-uid,init-chown,local-pv",
    "root-run,shared-uid",
    "image-mirror",
    "init-chown,local-pv,image-mirror",
];

fn plan(profiles: &str) -> Plan {
    let mut argv = vec!["helm-fixup", "-p", profiles];
    if profiles.contains("local-pv") {
        argv.extend(["--set", "local-pv.node=n", "--set", "local-pv.namespace=ns"]);
    }
    if profiles.contains("image-mirror") {
        argv.extend([
            "--set",
            "image-mirror.map=docker.io=m.example/hub;tag=s/$/-la64/",
        ]);
    }
    let args = Args::parse_from(argv);
    config::resolve(&args, &|_| None, &|f| Err(f.to_string()))
        .unwrap()
        .plan
}

#[derive(Debug, Clone)]
enum Kind {
    Deployment {
        uid: Option<u32>,
        shared: bool,
        loopback: bool,
    },
    StatefulSet {
        replicas: u8,
        uid: Option<u32>,
    },
    Pvc,
    ConfigMap {
        lines: u8,
    },
    Prometheus {
        uid: u32,
        storage: bool,
    },
    Namespace,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        (
            proptest::option::of(0u32..2000),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(uid, shared, loopback)| Kind::Deployment {
                uid,
                shared,
                loopback
            }),
        (0u8..4, proptest::option::of(0u32..2000))
            .prop_map(|(replicas, uid)| Kind::StatefulSet { replicas, uid }),
        Just(Kind::Pvc),
        (0u8..6).prop_map(|lines| Kind::ConfigMap { lines }),
        (1u32..2000, any::<bool>()).prop_map(|(uid, storage)| Kind::Prometheus { uid, storage }),
        Just(Kind::Namespace),
    ]
}

fn metadata(name: &str, helm4: Option<&str>) -> String {
    let mut m = format!("metadata:\n  name: {name}\n  labels:\n    app: {name} # a comment\n");
    if let Some(file) = helm4 {
        m.push_str(&format!(
            "  annotations:\n    postrenderer.helm.sh/postrender-filename: {file}\n"
        ));
    }
    m
}

fn sc(uid: Option<u32>, indent: &str) -> String {
    match uid {
        Some(u) => {
            format!("{indent}securityContext:\n{indent}  runAsUser: {u}\n{indent}  fsGroup: {u}\n")
        }
        None => String::new(),
    }
}

fn render(k: &Kind, i: usize, helm4: bool) -> String {
    let name = format!("obj-{i}");
    let file = format!("chart/templates/t{i}.yaml");
    let meta = metadata(&name, helm4.then_some(file.as_str()));
    match k {
        Kind::Deployment {
            uid,
            shared,
            loopback,
        } => {
            let mut d = format!(
                "apiVersion: apps/v1\nkind: Deployment\n{meta}spec:\n  replicas: 1\n  template:\n    spec:\n{}      containers:\n      - name: app\n        image: \"app:1.0\"\n",
                sc(*uid, "      ")
            );
            if *loopback {
                d.push_str("        args: [\"--web.listen-address=127.0.0.1:9090\"]\n        livenessProbe:\n          httpGet:\n            path: /-/healthy\n            port: 9090\n          periodSeconds: 5\n");
            }
            if *shared {
                d.push_str("        volumeMounts:\n        - name: data\n          mountPath: /data\n      - name: sidecar\n        image: side:2\n        securityContext:\n          runAsUser: 1001\n        volumeMounts:\n        - name: data\n          mountPath: /data\n      volumes:\n      - name: data\n        persistentVolumeClaim:\n          claimName: data-claim\n");
            }
            d
        }
        Kind::StatefulSet { replicas, uid } => format!(
            "apiVersion: apps/v1\nkind: StatefulSet\n{meta}spec:\n  replicas: {replicas}\n  serviceName: {name}\n  template:\n    spec:\n{}      containers:\n      - name: db\n        image: db:1\n        volumeMounts:\n        - name: data\n          mountPath: /var/lib/db\n  volumeClaimTemplates:\n  - metadata:\n      name: data\n    spec:\n      accessModes: [ReadWriteOnce]\n      resources:\n        requests:\n          storage: 1Gi\n",
            sc(*uid, "      ")
        ),
        Kind::Pvc => format!(
            "apiVersion: v1\nkind: PersistentVolumeClaim\n{meta}spec:\n  accessModes:\n  - ReadWriteOnce\n  resources:\n    requests:\n      storage: 2Gi\n"
        ),
        Kind::ConfigMap { lines } => {
            let mut d = format!(
                "apiVersion: v1\nkind: ConfigMap\n{meta}data:\n  mode: \"0644\"\n  flag: \"yes\"\n  script: |\n"
            );
            for l in 0..*lines {
                d.push_str(&format!("    echo {l} # not a comment\n"));
            }
            d.push_str("    ---\n    done\n");
            d
        }
        Kind::Prometheus { uid, storage } => {
            let mut d = format!(
                "apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\n{meta}spec:\n  replicas: 1\n  listenLocal: true\n  securityContext:\n    runAsUser: {uid}\n    runAsGroup: 2000\n    fsGroup: 2000\n    runAsNonRoot: true\n"
            );
            if *storage {
                d.push_str("  storage:\n    volumeClaimTemplate:\n      spec:\n        resources:\n          requests:\n            storage: 10Gi\n");
            }
            d
        }
        Kind::Namespace => format!(
            "apiVersion: v1\nkind: Namespace\n{}",
            metadata(&name, helm4.then_some(file.as_str())).replace(
                "    app:",
                "    pod-security.kubernetes.io/enforce: restricted\n    app:"
            )
        ),
    }
}

#[derive(Debug, Clone)]
struct Stream {
    bytes: Vec<u8>,
    /// The text of each document as generated (before CRLF), with its kind.
    docs: usize,
}

fn stream_strategy() -> impl Strategy<Value = Stream> {
    (
        proptest::collection::vec((kind(), any::<bool>()), 1..8),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(kinds, helm4, crlf)| {
            let mut s = String::new();
            for (i, (k, comment)) in kinds.iter().enumerate() {
                if !helm4 {
                    s.push_str(&format!("---\n# Source: chart/templates/t{i}.yaml\n"));
                } else if i > 0 {
                    s.push_str("---\n");
                }
                if *comment {
                    s.push_str("# generated\n");
                }
                s.push_str(&render(k, i, helm4));
            }
            if crlf {
                s = s.replace('\n', "\r\n");
            }
            Stream {
                bytes: s.into_bytes(),
                docs: kinds.len(),
            }
        })
}

fn segments(bytes: &[u8]) -> Vec<&[u8]> {
    stream::split(bytes)
        .into_iter()
        .map(|s| &bytes[s.span])
        .filter(|t| !t.iter().all(u8::is_ascii_whitespace))
        .collect()
}

fn identity(doc: &[u8]) -> (String, String) {
    let v: Value = helm_fixup::yaml::parse_value(std::str::from_utf8(doc).unwrap()).unwrap();
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (s("/kind"), s("/metadata/name"))
}

fn check(input: &Stream, profiles: &str) -> Result<(), TestCaseError> {
    let plan = plan(profiles);
    let out = match helm_fixup::process(&input.bytes, &plan) {
        Ok(o) => o,
        Err(Error::Usage(m))
            if profiles == "root-run,shared-uid" && m.contains("root-run and shared-uid") =>
        {
            return Ok(());
        }
        Err(e) => return Err(TestCaseError::fail(format!("{profiles}: {e}"))),
    };
    // Deterministic.
    let again = helm_fixup::process(&input.bytes, &plan).unwrap();
    prop_assert!(again.stream == out.stream, "{profiles}: not deterministic");
    // No document lost, order kept, added documents after them.
    let ins = segments(&input.bytes);
    let outs = segments(&out.stream);
    prop_assert_eq!(ins.len(), input.docs);
    prop_assert_eq!(
        outs.len(),
        ins.len() + out.report.added.len(),
        "{}: document count",
        profiles
    );
    let changed: Vec<String> = out
        .report
        .changed
        .iter()
        .map(|r| r.object.clone())
        .collect();
    for (a, b) in ins.iter().zip(&outs) {
        prop_assert_eq!(identity(a), identity(b));
        // Untouched documents byte for byte.
        let (kind, name) = identity(a);
        let touched = changed.iter().any(|o| {
            o.starts_with(&format!("{kind} ")) && o.ends_with(&format!("/{name}"))
                || *o == format!("{kind} {name}")
        });
        if !touched {
            prop_assert!(a == b, "{}: untouched {} {} changed", profiles, kind, name);
        }
    }
    // Idempotent.
    let second = helm_fixup::process(&out.stream, &plan)
        .map_err(|e| TestCaseError::fail(format!("{profiles}: second run: {e}")))?;
    prop_assert!(
        second.stream == out.stream,
        "{}: not idempotent:\n{}",
        profiles,
        String::from_utf8_lossy(&out.stream)
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn streams_keep_the_output_rules_for_every_profile(input in stream_strategy()) {
        for profiles in PROFILE_SETS {
            check(&input, profiles)?;
        }
    }
}

/// A stream over the size the engine reads and writes on all cores comes out exactly as its
/// documents do one at a time: no document is lost, repeated or moved between the threads' runs.
/// root-run and init-chown change each Deployment on its own, so the two must agree byte for byte.
#[test]
fn a_large_stream_split_across_cores_matches_document_by_document() {
    let plan = plan("root-run,init-chown");
    let docs: Vec<String> = (0..2500)
        .map(|i| {
            let kind = if i % 3 == 0 { "ConfigMap" } else { "Deployment" };
            if kind == "ConfigMap" {
                format!(
                    "---\n# Source: c/templates/cm-{i}.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  k: |\n    line {i}\n"
                )
            } else {
                format!(
                    "---\n# Source: c/templates/d-{i}.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d-{i}\n  namespace: ns\nspec:\n  template:\n    spec:\n      securityContext:\n        runAsUser: {}\n      containers:\n      - name: app\n        image: nginx:1.{i}\n        volumeMounts:\n        - {{name: data, mountPath: /data}}\n      volumes:\n      - name: data\n        hostPath: {{path: /srv/d-{i}}}\n",
                    1000 + i
                )
            }
        })
        .collect();
    let whole = docs.concat();
    assert!(
        whole.len() > 512 * 1024,
        "the stream must be large enough to be split"
    );
    let out = helm_fixup::process(whole.as_bytes(), &plan).unwrap();
    let one_by_one: String = docs
        .iter()
        .map(|d| {
            String::from_utf8(helm_fixup::process(d.as_bytes(), &plan).unwrap().stream).unwrap()
        })
        .collect();
    assert_eq!(String::from_utf8(out.stream).unwrap(), one_by_one);
    let deployments = (0..2500).filter(|i| i % 3 != 0).count();
    assert_eq!(
        out.report
            .changed
            .iter()
            .filter(|r| r.profile == "root-run")
            .count(),
        deployments
    );
}
