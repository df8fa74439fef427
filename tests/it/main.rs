//! The integration tests, as one test binary (`cargo test --test it`): one module per area, named
//! like the profile or the contract it checks, with its tests named after the failures they guard.
//! `cargo test --test it golden` runs one module (a name filter, like any other).
//!
//! Fixtures stay outside this directory: `tests/golden/` (cases and expected outputs) and
//! `tests/fuzz-crashes/` (inputs the fuzzer found), read through `CARGO_MANIFEST_DIR`.

mod common;
mod support;

mod cli;
mod diagnose;
mod doctor;
mod exec_probes;
mod fuzz_regressions;
mod golden;
mod helm;
mod hostile;
mod image_mirror;
mod init_chown;
mod local_pv;
mod openshift;
mod operators;
mod placement;
mod properties;
mod root_run;
mod shared_uid;
