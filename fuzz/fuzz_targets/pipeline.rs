//! The whole pipeline, `helm_fixup::process`, with every profile (and all of them at once).
//!
//! Checks: no panic; no internal error (a fixed document that does not read back); the output is
//! deterministic and a second run over it changes nothing.
#![no_main]

use clap::Parser;
use helm_fixup::{Error, Plan, cli::Args, config};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const SETS: &[&str] = &[
    "root-run",
    "shared-uid",
    "init-chown",
    "exec-probes",
    "local-pv",
    "root-run,init-chown,exec-probes,local-pv",
];

fn plans() -> &'static Vec<Plan> {
    static PLANS: OnceLock<Vec<Plan>> = OnceLock::new();
    PLANS.get_or_init(|| {
        SETS.iter()
            .map(|p| {
                let mut argv = vec!["helm-fixup", "-p", p];
                if p.contains("local-pv") {
                    argv.extend(["--set", "local-pv.node=n", "--set", "local-pv.namespace=ns"]);
                }
                let args = Args::parse_from(argv);
                let cfg = config::resolve(&args, &|_| None, &|p| Err(format!("{p}: no files here")));
                cfg.unwrap_or_else(|e| panic!("{p}: {e}")).plan
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, input)) = data.split_first() else { return };
    let plan = &plans()[usize::from(pick) % SETS.len()];
    match helm_fixup::process(input, plan) {
        Ok(out) => {
            let again = helm_fixup::process(input, plan).expect("deterministic");
            assert_eq!(again.stream, out.stream, "not deterministic");
            match helm_fixup::process(&out.stream, plan) {
                Ok(second) => assert!(second.stream == out.stream, "not idempotent"),
                Err(Error::Internal(e)) => panic!("internal error on own output: {e}"),
                Err(e) => panic!("own output rejected: {e}"),
            }
        }
        Err(Error::Internal(e)) => panic!("internal error: {e}"),
        Err(_) => {}
    }
});
