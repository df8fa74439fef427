//! The I/O shell around the engine: read stdin, write stdout, and get the summary to a person.
//!
//! Helm never shows a post-renderer's stderr on success, and Helm 4 never shows it at all, so the
//! summary (and any error) also goes to `/dev/tty` when stderr is not a terminal and a terminal
//! can be opened, and to `--summary-file` when given. stdout is written only after the whole
//! stream succeeded, in one go, so Helm never installs a truncated release.

use crate::cli::{Args, Command, SummaryFormat};
use crate::config::{self, Config};
use crate::engine;
use crate::exit::ExitCode;
use crate::profile::{self, ProfileDef};
use std::io::{IsTerminal, Read, Write};

/// Set to `0` to keep the summary off `/dev/tty`.
pub const ENV_TTY: &str = "HELM_FIXUP_TTY";

pub fn run(args: Args) -> ExitCode {
    match &args.command {
        Some(Command::Profiles) => return print_out(&profiles_text()),
        Some(Command::Explain { profile }) => {
            return match explain(profile) {
                Ok(t) => print_out(&t),
                Err(e) => fail(&format!("helm-fixup: {e}"), None, ExitCode::BadUsage),
            };
        }
        None => {}
    }
    let env = |k: &str| std::env::var(k).ok();
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"));
    let cfg = match config::resolve(&args, &env, &read).and_then(|mut c| {
        config::load_existing(&mut c, &read, &kubectl_get_pv)?;
        Ok(c)
    }) {
        Ok(c) => c,
        Err(e) => {
            let file = args
                .summary_file
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned());
            return fail(
                &format!("helm-fixup: {e}"),
                file.as_deref(),
                ExitCode::BadUsage,
            );
        }
    };
    let summary_file = cfg
        .summary_file
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned());
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().lock().read_to_end(&mut input) {
        return fail(
            &format!("helm-fixup: reading stdin: {e}"),
            summary_file.as_deref(),
            ExitCode::BadInput,
        );
    }
    match engine::process_parts(&input, &cfg.plan) {
        Ok(out) => {
            let summary = summary_text(&cfg, &out);
            if let Err(e) = write_parts(&out, &input) {
                return fail(
                    &format!("helm-fixup: writing stdout: {e}"),
                    summary_file.as_deref(),
                    ExitCode::Internal,
                );
            }
            tell(&summary, summary_file.as_deref());
            ExitCode::Success
        }
        Err(e) => {
            let code = ExitCode::from(&e);
            fail(
                &format!("helm-fixup: error: {e}\nnothing was written to stdout\n"),
                summary_file.as_deref(),
                code,
            )
        }
    }
}

/// Set to the kubectl to run for `local-pv.existing=cluster` (default: `kubectl` on PATH).
pub const ENV_KUBECTL: &str = "HELM_FIXUP_KUBECTL";

/// `kubectl get pv -o json` in kubectl's current context (KUBECONFIG is inherited). Helm passes a
/// post-renderer neither `--kube-context` nor the namespace (checked with Helm 4.1.4: a
/// post-renderer plugin gets only HELM_PLUGIN_DIR, HELM_PLUGIN_NAME and the HELM_*_HOME paths),
/// so a user of another context points `HELM_FIXUP_KUBECTL` at a wrapper.
fn kubectl_get_pv() -> Result<String, String> {
    let bin = std::env::var(ENV_KUBECTL)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "kubectl".into());
    let mut cmd = std::process::Command::new(&bin);
    cmd.args(["get", "pv", "-o", "json", "--request-timeout=30s"]);
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("running {bin}: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "{bin} exited with {}: {}",
            out.status,
            err.trim().lines().next().unwrap_or("")
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| format!("{bin} printed invalid UTF-8"))
}

fn summary_text(cfg: &Config, out: &engine::Parts) -> String {
    let mut s = match cfg.summary_format {
        SummaryFormat::Text => out.report.text(),
        SummaryFormat::Json => out.report.json(),
    };
    for d in &out.diffs {
        s.push_str(d);
    }
    if cfg.plan.dry_run {
        s.push_str("helm-fixup: dry run: the stream was written unchanged\n");
    }
    s
}

/// Write the whole stream; a closed pipe (`helm-fixup ... | head`) is not an error.
fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Write the output of a run piece by piece (untouched documents straight from the input).
fn write_parts(parts: &engine::Parts, input: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match parts.write_to(input, &mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn print_out(text: &str) -> ExitCode {
    match write_stdout(text.as_bytes()) {
        Ok(()) => ExitCode::Success,
        Err(_) => ExitCode::Internal,
    }
}

/// Send a message to every place a person might see it.
fn tell(msg: &str, file: Option<&str>) {
    let mut msg = msg.to_string();
    if !msg.ends_with('\n') {
        msg.push('\n');
    }
    let stderr = std::io::stderr();
    let _ = stderr.lock().write_all(msg.as_bytes());
    if !stderr.is_terminal()
        && std::env::var(ENV_TTY).as_deref() != Ok("0")
        && let Ok(mut tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty")
    {
        let _ = tty.write_all(msg.as_bytes());
    }
    if let Some(path) = file
        && let Err(e) = std::fs::write(path, msg.as_bytes())
    {
        let _ = writeln!(
            std::io::stderr(),
            "helm-fixup: writing summary file {path}: {e}"
        );
    }
}

fn fail(msg: &str, file: Option<&str>, code: ExitCode) -> ExitCode {
    tell(msg, file);
    code
}

/// `helm-fixup profiles`: one line per built-in profile.
pub fn profiles_text() -> String {
    let mut out = String::new();
    for name in profile::names() {
        let def = ProfileDef::builtin(name).expect("built-in");
        out.push_str(&format!("{:<12} {}\n", def.name, def.description));
    }
    out
}

/// `helm-fixup explain NAME`.
pub fn explain(name: &str) -> Result<String, String> {
    let def = match ProfileDef::builtin(name) {
        Some(d) => d,
        None if name.contains('/') || name.ends_with(".yaml") || name.ends_with(".yml") => {
            let text = std::fs::read_to_string(name).map_err(|e| format!("{name}: {e}"))?;
            ProfileDef::parse(&text, name)?
        }
        None => {
            return Err(format!(
                "unknown profile {name:?} (valid: {})",
                profile::names().join(", ")
            ));
        }
    };
    let mut out = format!(
        "{} — {}\n\nFixes: {}\n\nWhat it changes:\n",
        def.name, def.description, def.seed
    );
    for line in def.changes.lines() {
        out.push_str(&format!("  {line}\n"));
    }
    out.push_str("\nParameters (--set ");
    out.push_str(&def.name);
    out.push_str(".PARAM=VALUE):\n");
    if def.params.is_empty() {
        out.push_str("  none\n");
    }
    for p in &def.params {
        let default = match &p.default {
            Some(d) if d.is_empty() => "(empty)".to_string(),
            Some(d) => d.clone(),
            // The help says how an unset value is derived, when it is ("Default: the pod's ...").
            None if p.help.contains("Default:") => "(see below)".to_string(),
            None => "none".to_string(),
        };
        out.push_str(&format!(
            "  {:<20} default {default}\n      {}\n",
            p.name, p.help
        ));
    }
    if !def.targets.is_empty() {
        out.push_str(&format!("\nTargets: {}\n", def.targets.join("; ")));
    }
    Ok(out)
}
