//! Inputs the fuzzers (fuzz/) found, replayed through the same checks as the fuzz targets, so a
//! crash once found stays fixed. Each file in `tests/fuzz-crashes/` is named
//! `TARGET-what-failed.yaml`; the first byte of a `pipeline-` file picks the profile set, as in
//! `fuzz/fuzz_targets/pipeline.rs`.

use clap::Parser;
use helm_fixup::{Error, cli::Args, config, stream, yaml};
use serde_json::Value;
use std::path::PathBuf;

fn crashes(prefix: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-crashes");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

/// The checks of `fuzz_targets/split_edit.rs` that do not need the fuzzer.
fn split_checks(name: &str, data: &[u8]) {
    let segs = stream::split(data);
    let joined: Vec<u8> = segs
        .iter()
        .flat_map(|s| data[s.span.clone()].iter().copied())
        .collect();
    assert_eq!(joined, data, "{name}");
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for seg in segs {
        let body = &text[seg.span];
        if let Ok(s) = yaml::scan(body) {
            let v = yaml::parse_value(body)
                .unwrap_or_else(|e| panic!("{name}: scan accepted what parse rejects: {e:?}"));
            assert_eq!(
                v.get("kind").and_then(Value::as_str),
                Some(s.kind.as_str()),
                "{name}"
            );
        }
    }
}

#[test]
fn split_edit_crashes_stay_fixed() {
    let found = crashes("split_edit-");
    assert!(!found.is_empty());
    for (name, data) in found {
        split_checks(&name, &data);
    }
}

/// The checks of `fuzz_targets/fast_parse.rs`: the fast reader answers as the full parsers do.
#[test]
fn fast_parse_crashes_stay_fixed() {
    let found = crashes("fast_parse-");
    assert!(!found.is_empty());
    for (name, data) in found {
        let Ok(text) = std::str::from_utf8(&data) else {
            continue;
        };
        for seg in stream::split(&data) {
            let body = &text[seg.span];
            if let Some(d) = yaml::oracle::fast_disagreement(body) {
                panic!("{name}: {d}");
            }
        }
    }
}

#[test]
fn pipeline_crashes_stay_fixed() {
    const SETS: &[&str] = &[
        "root-run",
        "shared-uid",
        "init-chown",
        "exec-probes",
        "local-pv",
        "root-run,init-chown,exec-probes,local-pv",
    ];
    for (name, data) in crashes("pipeline-") {
        let Some((&pick, input)) = data.split_first() else {
            continue;
        };
        let p = SETS[usize::from(pick) % SETS.len()];
        let mut argv = vec!["helm-fixup", "-p", p];
        if p.contains("local-pv") {
            argv.extend(["--set", "local-pv.node=n", "--set", "local-pv.namespace=ns"]);
        }
        let args = Args::parse_from(argv);
        let plan = config::resolve(&args, &|_| None, &|f| Err(f.to_string()))
            .unwrap()
            .plan;
        match helm_fixup::process(input, &plan) {
            Ok(out) => {
                let again = helm_fixup::process(&out.stream, &plan)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(again.stream == out.stream, "{name}: not idempotent");
            }
            Err(Error::Internal(e)) => panic!("{name}: internal error: {e}"),
            Err(_) => {}
        }
    }
}

#[test]
fn scan_never_vouches_for_keys_the_full_parse_rejects() {
    for doc in [
        "kind: A\n~: x\n",
        "kind: A\n: x\n",
        "kind: A\nnull: x\n",
        "kind: A\n[a]: x\n",
        "kind: A\n? {a: 1}\n: x\n",
    ] {
        assert!(yaml::scan(doc).is_err(), "{doc:?}");
        split_checks(doc, doc.as_bytes());
    }
}
