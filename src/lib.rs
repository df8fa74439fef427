//! helm-fixup: a Helm post-renderer that fixes the permission, probe and local-storage failures
//! that monitoring stacks hit on bare metal, NFS, hostPath and local disks.
//!
//! The core ([`engine::process`]) takes the rendered stream as bytes and returns the fixed
//! stream and a report, with no I/O, so tests and fuzzers call it directly. `app` does the I/O.

#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod config;
pub mod diagnose;
pub mod doctor;
pub mod engine;
pub mod error;
pub mod exit;
pub mod immutable;
pub mod kube;
pub mod live;
pub mod manifest;
pub mod operators;
pub mod profile;
pub mod report;
pub mod select;
pub mod shell;
pub mod stream;
pub mod workload;
pub mod yaml;

pub use engine::{Error, Output, Plan, process};
