//! The I/O shell around the engine: read stdin, write stdout, and get the summary to a person.
//!
//! Helm never shows a post-renderer's stderr on success, and Helm 4 never shows it at all, so the
//! summary (and any error) also goes to `/dev/tty` when stderr is not a terminal and a terminal
//! can be opened, and to `--summary-file` when given. stdout is written only after the whole
//! stream succeeded, in one go, so Helm never installs a truncated release.

use crate::cli::{Args, Command, SummaryFormat};
use crate::config::{self, Config};
use crate::engine;
use crate::error::UsageError;
use crate::exit::ExitCode;
use crate::profile::{self, ProfileDef};
use std::io::{IsTerminal, Read, Write};

/// Set to `0` to keep the summary off `/dev/tty`.
pub const ENV_TTY: &str = "HELM_FIXUP_TTY";

/// A command-line error from clap. The README reserves exit 2 for bad input, so every argument
/// error (unknown flag, missing value, bad `--summary-format`, unknown subcommand) exits 3
/// (`BadUsage`); clap's own `--help` and `--version` still print to stdout and exit 0. The
/// error also goes to the last-run file: under Helm 4 with no terminal it is seen nowhere else.
pub fn arg_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::Success
        }
        _ => {
            let mut msg = e.render().to_string();
            if std::env::args().nth(1).as_deref() == Some("version") {
                msg.push_str("(the version is `helm-fixup --version`)\n");
            }
            fail(&msg, None, ExitCode::BadUsage)
        }
    }
}

/// A usage error found before clap reads the arguments (`cli::argv_mistake`): exit 3, told the
/// same ways as every other error.
pub fn usage_error(message: &str) -> ExitCode {
    fail(&format!("{message}\n"), None, ExitCode::BadUsage)
}

pub fn run(args: Args) -> ExitCode {
    match &args.command {
        Some(Command::Profiles) => return print_out(&profiles_text()),
        Some(Command::Last) => return show_last_run(),
        Some(Command::Completions { shell }) => return print_out(&completions(*shell)),
        Some(Command::Man) => {
            return match man_page() {
                Ok(page) => print_out(&page),
                Err(e) => fail(
                    &format!("helm-fixup: man page: {e}"),
                    None,
                    ExitCode::Internal,
                ),
            };
        }
        Some(Command::Diagnose {
            error: None,
            error_file: None,
            format,
            assume,
            set,
        }) => return diagnose_stream(assume, set, *format),
        Some(Command::Diagnose {
            error,
            error_file,
            format,
            ..
        }) => return diagnose(error.as_deref(), error_file.as_deref(), *format),
        Some(Command::Doctor {
            namespace,
            release,
            kube_context,
            format,
            verbose,
        }) => {
            return doctor(
                namespace.clone(),
                release.clone(),
                kube_context.clone(),
                *format,
                *verbose,
            );
        }
        Some(Command::Explain { profile }) => {
            return match explain(profile) {
                Ok(t) => print_out(&t),
                Err(e) => fail(&format!("helm-fixup: {e}"), None, ExitCode::BadUsage),
            };
        }
        None => {}
    }
    let (assume, settled) = match settle_cluster(&args.assume) {
        Ok(x) => x,
        Err(e) => return fail(&format!("helm-fixup: {e}"), None, ExitCode::BadUsage),
    };
    let (set, settled) = if args.profiles.iter().any(|p| p == config::AUTO) {
        with_live_volumes(&args.set, settled)
    } else {
        (args.set.clone(), settled)
    };
    let args = Args {
        assume,
        set,
        ..args
    };
    let env = |k: &str| std::env::var(k).ok();
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"));
    let cfg = match config::resolve(&args, &env, &read).and_then(|mut c| {
        config::load_existing(&mut c, &read, &kubectl_get)?;
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
    if let Some(path) = &cfg.summary_file
        && let Err(e) = check_summary_file(path)
    {
        return fail(&format!("helm-fixup: {e}"), None, ExitCode::BadUsage);
    }
    // Typed in a terminal, the command would wait silently for a stream nobody pastes.
    if std::io::stdin().is_terminal() {
        return fail(
            "helm-fixup: it reads the rendered manifests on stdin: pipe them in (helm template RELEASE CHART | \
             helm-fixup -p PROFILE), redirect a file (helm-fixup -p PROFILE < manifests.yaml), or use it as \
             Helm's --post-renderer. `helm-fixup diagnose --error 'LOG LINE'` names the fix for an error message",
            summary_file.as_deref(),
            ExitCode::BadUsage,
        );
    }
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().lock().read_to_end(&mut input) {
        if e.kind() == std::io::ErrorKind::IsADirectory {
            return fail(
                "helm-fixup: stdin is a directory, not a manifest stream: pipe the rendered \
                 manifests in (helm template RELEASE CHART | helm-fixup -p PROFILE), redirect a \
                 file (helm-fixup -p PROFILE < manifests.yaml), or use it as Helm's \
                 --post-renderer",
                summary_file.as_deref(),
                ExitCode::BadUsage,
            );
        }
        return fail(
            &format!("helm-fixup: reading stdin: {e}"),
            summary_file.as_deref(),
            ExitCode::BadInput,
        );
    }
    match engine::process_parts(&input, &cfg.plan) {
        Ok(mut out) => {
            if !settled.is_empty() {
                out.report.note(
                    "auto",
                    None,
                    format!("--assume cluster: {}", settled.join("; ")),
                );
            }
            let summary = summary_text(&cfg, &out);
            if let Err(e) = write_parts(&out, &input) {
                return fail(
                    &format!("helm-fixup: writing stdout: {e}"),
                    summary_file.as_deref(),
                    ExitCode::Internal,
                );
            }
            tell(&summary, summary_file.as_deref(), ExitCode::Success);
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

/// `kubectl get ...` for `local-pv.existing=cluster`, through the one read-only kubectl runner
/// (`kube::Kubectl`: `HELM_FIXUP_KUBECTL`, `HELM_KUBECONTEXT`, a timeout, errors named by cause).
/// Helm passes a post-renderer neither `--kube-context` nor the namespace (checked with Helm
/// 4.1.4: a post-renderer plugin gets only HELM_PLUGIN_DIR, HELM_PLUGIN_NAME and the HELM_*_HOME
/// paths), so inside Helm it is kubectl's current context.
fn kubectl_get(args: &[&str]) -> Result<String, String> {
    let context = std::env::var("HELM_KUBECONTEXT").ok();
    crate::kube::Kubectl::new(context)
        .run(args)
        .map_err(|e| e.to_string())
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

/// `--assume cluster`: replace the word with the values the cluster's facts settle (nodes,
/// StorageClasses, the OpenShift API, read with kubectl get only), keeping the user's own keys.
/// Returns the new `--assume` items and, for the summary, each settled value with its fact.
/// Without `cluster`, nothing is read and the items are returned as they are.
fn settle_cluster(items: &[String]) -> Result<(Vec<String>, Vec<String>), String> {
    let words: Vec<&str> = items
        .iter()
        .flat_map(|i| i.split(','))
        .map(str::trim)
        .collect();
    if !words.contains(&"cluster") {
        return Ok((items.to_vec(), Vec::new()));
    }
    let given: Vec<String> = words
        .iter()
        .filter(|w| **w != "cluster" && !w.is_empty())
        .map(|w| w.to_string())
        .collect();
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let kubectl = crate::kube::Kubectl::new(env("HELM_KUBECONTEXT"));
    let run = |args: &[&str]| kubectl.run(args);
    let facts = crate::doctor::gather::cluster_facts(&run);
    if facts.unread.len() == 3 {
        // The three reads fail alike: the first says why.
        return Err(format!(
            "--assume cluster: the cluster cannot be read: {}",
            facts.unread[0]
        ));
    }
    let settled = crate::doctor::assume_from(&facts, &given);
    let mut out = given;
    let mut why = Vec::new();
    for (kv, fact) in settled {
        why.push(format!("{kv} ({fact})"));
        out.push(kv);
    }
    for u in &facts.unread {
        why.push(format!("not read: {u}"));
    }
    Ok((out, why))
}

/// Under `--assume cluster`, claims bound to the cluster's volumes are not unbound: `diagnose`
/// and `-p auto` read them as `--set local-pv.existing=cluster` would, unless the user set
/// `local-pv.existing` already.
fn with_live_volumes(set: &[String], mut settled: Vec<String>) -> (Vec<String>, Vec<String>) {
    let mut set = set.to_vec();
    if !settled.is_empty() && !set.iter().any(|s| s.starts_with("local-pv.existing=")) {
        set.push("local-pv.existing=cluster".into());
        settled.push("local-pv.existing=cluster (the cluster's PersistentVolumes)".into());
    }
    (set, settled)
}

/// `helm-fixup doctor`: read the cluster (kube.rs), judge (doctor.rs), print the report on
/// stdout. Helm's own environment names the context and namespace when the flags do not
/// (`HELM_KUBECONTEXT`, `HELM_NAMESPACE`), and where it keeps releases (`HELM_DRIVER`).
fn doctor(
    namespace: Option<String>,
    release: Option<String>,
    context: Option<String>,
    format: SummaryFormat,
    verbose: bool,
) -> ExitCode {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let kubectl = crate::kube::Kubectl::new(context.or_else(|| env("HELM_KUBECONTEXT")));
    let ask = crate::doctor::gather::Ask {
        namespace: namespace.or_else(|| env("HELM_NAMESPACE")),
        release,
        driver: env("HELM_DRIVER"),
    };
    let run = |args: &[&str]| kubectl.run(args);
    let facts = crate::doctor::gather::gather(&run, &ask);
    if verbose {
        let calls = kubectl.calls.borrow();
        let mut list = format!(
            "helm-fixup doctor: {} kubectl call(s), all read-only:\n",
            calls.len()
        );
        for c in calls.iter() {
            list.push_str(&format!("  {c}\n"));
        }
        eprint!("{list}");
    }
    let facts = match facts {
        Ok(f) => f,
        Err(e) => {
            return fail(
                &format!("helm-fixup doctor: cannot read the pods: {e}"),
                None,
                ExitCode::BadInput,
            );
        }
    };
    let d = crate::doctor::analyse(&facts);
    let text = match format {
        SummaryFormat::Text => crate::doctor::text_report(&d),
        SummaryFormat::Json => serde_json::to_string_pretty(&d).unwrap_or_default() + "\n",
    };
    match print_out(&text) {
        ExitCode::Success if d.found() => ExitCode::Found,
        other => other,
    }
}

/// `helm-fixup diagnose --error TEXT | --error-file FILE`: the report goes to stdout.
fn diagnose(
    error: Option<&str>,
    file: Option<&std::path::Path>,
    format: SummaryFormat,
) -> ExitCode {
    let text = match (error, file) {
        (Some(t), _) => t.to_string(),
        (None, Some(p)) if p.as_os_str() == "-" => {
            let mut s = String::new();
            if let Err(e) = std::io::stdin().lock().read_to_string(&mut s) {
                return fail(
                    &format!("helm-fixup: reading stdin: {e}"),
                    None,
                    ExitCode::BadUsage,
                );
            }
            s
        }
        (None, Some(p)) => match std::fs::read(p) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                return fail(
                    &format!("helm-fixup: --error-file {}: {e}", p.display()),
                    None,
                    ExitCode::BadUsage,
                );
            }
        },
        (None, None) => String::new(),
    };
    let found = crate::diagnose::from_error(&text);
    let report = match format {
        SummaryFormat::Text => crate::diagnose::text(&found),
        SummaryFormat::Json => {
            let json = serde_json::json!({ "failures": found });
            format!("{json:#}\n")
        }
    };
    match print_out(&report) {
        ExitCode::Success if !found.is_empty() => ExitCode::Found,
        code => code,
    }
}

/// `helm-fixup diagnose < rendered.yaml`: every profile's planning on the stream, nothing
/// applied; the report goes to stdout, and no stream is written.
fn diagnose_stream(assume: &[String], set: &[String], format: SummaryFormat) -> ExitCode {
    let (assume, settled) = match settle_cluster(assume) {
        Ok(x) => x,
        Err(e) => return fail(&format!("helm-fixup: {e}"), None, ExitCode::BadUsage),
    };
    let assume = &assume[..];
    let (set, settled) = with_live_volumes(set, settled);
    let set = &set[..];
    let args = Args {
        profiles: vec![config::AUTO.to_string()],
        set: set.to_vec(),
        assume: assume.to_vec(),
        ..Args::default()
    };
    let env = |_: &str| None;
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"));
    // The cluster's volumes (`--set local-pv.existing=cluster|FILE`), as for a run: claims
    // bound to them are not unbound.
    let cfg = match config::resolve(&args, &env, &read).and_then(|mut c| {
        config::load_existing(&mut c, &read, &kubectl_get)?;
        Ok(c)
    }) {
        Ok(c) => c,
        Err(e) => return fail(&format!("helm-fixup: {e}"), None, ExitCode::BadUsage),
    };
    if std::io::stdin().is_terminal() {
        return fail(
            "helm-fixup diagnose: pipe the rendered manifests in (helm template RELEASE CHART | helm-fixup \
             diagnose), or pass the error text with --error TEXT or --error-file FILE",
            None,
            ExitCode::BadUsage,
        );
    }
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().lock().read_to_end(&mut input) {
        return fail(
            &format!("helm-fixup: reading stdin: {e}"),
            None,
            ExitCode::BadInput,
        );
    }
    let found = match engine::diagnose(&input, &cfg.plan) {
        Ok(d) => d,
        Err(e) => {
            return fail(
                &format!("helm-fixup: error: {e}\n"),
                None,
                ExitCode::from(&e),
            );
        }
    };
    let blocked = cfg
        .plan
        .auto
        .as_ref()
        .map(|a| a.blocked.clone())
        .unwrap_or_default();
    // local-pv foresaw with placeholders: the fix needs the real node, and the release
    // namespace for claims the stream gives none.
    let extra = |profile: &str, object: &str| -> Vec<String> {
        // The user's own settings of this profile belong in the command that fixes it.
        let mut out: Vec<String> = set
            .iter()
            .filter(|s| s.starts_with(&format!("{profile}.")))
            .flat_map(|s| ["--set".to_string(), s.clone()])
            .collect();
        if profile == "local-pv" && blocked.iter().any(|(p, _)| p == "local-pv") {
            out.extend(["--set".into(), "local-pv.node=NODE".into()]);
            if !object.contains('/') {
                out.extend(["--set".into(), "local-pv.namespace=NAMESPACE".into()]);
            }
        }
        if profile == "image-mirror" && blocked.iter().any(|(p, _)| p == "image-mirror") {
            out.extend(["--set".into(), "image-mirror.map=FROM=TO".into()]);
        }
        out
    };
    let findings = crate::diagnose::findings(&found.predicted, &extra);
    let mut failed = String::new();
    for (profile, why) in &found.failed {
        failed.push_str(&format!(
            "helm-fixup diagnose: {profile} could not plan this stream: {why}\n"
        ));
    }
    let assumed = if !settled.is_empty() {
        format!(" (assuming from the cluster: {})", settled.join("; "))
    } else if assume.is_empty() {
        String::new()
    } else {
        format!(" (assuming {})", assume.join(", "))
    };
    let report = match format {
        SummaryFormat::Text => {
            failed + &crate::diagnose::stream_text(&findings, found.documents, &assumed)
        }
        SummaryFormat::Json => {
            let failed: Vec<serde_json::Value> = found
                .failed
                .iter()
                .map(|(p, why)| serde_json::json!({"profile": p, "reason": why}))
                .collect();
            let json = serde_json::json!({
                "findings": findings,
                "documents": found.documents,
                "not_planned": failed,
            });
            format!("{json:#}\n")
        }
    };
    match print_out(&report) {
        ExitCode::Success if !findings.is_empty() => ExitCode::Found,
        code => code,
    }
}

fn print_out(text: &str) -> ExitCode {
    match write_stdout(text.as_bytes()) {
        Ok(()) => ExitCode::Success,
        Err(_) => ExitCode::Internal,
    }
}

/// Send a message to every place a person might see it: stderr, `/dev/tty` when stderr is not
/// a terminal, `--summary-file`, and the last-run file (`helm-fixup last`).
fn tell(msg: &str, file: Option<&str>, code: ExitCode) {
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
    record_last_run(&msg, code);
}

fn fail(msg: &str, file: Option<&str>, code: ExitCode) -> ExitCode {
    tell(msg, file, code);
    code
}

/// A `--summary-file` that cannot be written would lose the summary after the work is done (and
/// used to exit 0): find it before stdin is read. Opening without truncating creates the file
/// when it is missing and leaves an old one as it is until the run writes it.
fn check_summary_file(path: &std::path::Path) -> Result<(), UsageError> {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!("--summary-file {shown} is a directory: give a file path").into());
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !parent.is_dir() {
        return Err(format!(
            "--summary-file {shown}: directory {} does not exist",
            parent.display()
        )
        .into());
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map(drop)
        .map_err(|e| UsageError(format!("--summary-file {shown} cannot be written: {e}")))
}

/// Set to a file path to move the last-run record, or to `0` to turn it off.
pub const ENV_LAST_RUN: &str = "HELM_FIXUP_LAST_RUN";

/// Where every run leaves its summary or error: `$HELM_FIXUP_LAST_RUN`, else
/// `$XDG_STATE_HOME/helm-fixup/last-run.txt`, else `~/.local/state/helm-fixup/last-run.txt`
/// (the XDG base directory spec's state directory). Helm 4 discards a post-renderer plugin's
/// stderr (checked with Helm 4.1.4: `--debug` shows `stderr=""`), and with no terminal (CI)
/// `/dev/tty` cannot be opened either, so this file is the one place the error text survives.
pub fn last_run_path() -> Option<std::path::PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(p) = var(ENV_LAST_RUN) {
        if p == "0" {
            return None;
        }
        return Some(p.into());
    }
    let base = match var("XDG_STATE_HOME") {
        Some(d) if std::path::Path::new(&d).is_absolute() => std::path::PathBuf::from(d),
        _ => std::path::PathBuf::from(var("HOME")?).join(".local/state"),
    };
    Some(base.join("helm-fixup").join("last-run.txt"))
}

/// Write the last-run file: when, how it was called, the exit code, then the message. Written to
/// a temporary file and renamed, so a concurrent run never leaves half of two records. Failing to
/// write it is not worth failing the run for.
fn record_last_run(msg: &str, code: ExitCode) {
    let Some(path) = last_run_path() else {
        return;
    };
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| crate::shell::quote(&a.to_string_lossy()))
        .collect();
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let text = format!(
        "helm-fixup run at {} (exit {}), in {cwd}\nargs: {}\n\n{msg}",
        utc_now(),
        code as u8,
        args.join(" ")
    );
    let Some(dir) = path.parent() else {
        return;
    };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = dir.join(format!(".last-run.{}.tmp", std::process::id()));
    if std::fs::write(&tmp, text.as_bytes()).is_ok() && std::fs::rename(&tmp, &path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// `helm-fixup last`: the record of the last run, for after Helm says `exited with error`.
fn show_last_run() -> ExitCode {
    let Some(path) = last_run_path() else {
        return fail(
            &format!(
                "helm-fixup: no last-run file: {ENV_LAST_RUN}=0, or neither XDG_STATE_HOME nor HOME is set"
            ),
            None,
            ExitCode::BadUsage,
        );
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => print_out(&format!("{}:\n{text}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            print_out(&format!("no run recorded yet in {}\n", path.display()))
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "helm-fixup: {}: {e}", path.display());
            ExitCode::Internal
        }
    }
}

/// The current time as `YYYY-MM-DDTHH:MM:SSZ`, without a date library (days to civil date after
/// Howard Hinnant's `civil_from_days`).
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `helm-fixup completions SHELL`: the completion script clap_complete generates from the same
/// clap definition the binary parses with, so it never lags behind the flags.
pub fn completions(shell: clap_complete::Shell) -> String {
    use clap::CommandFactory;
    let mut cmd = Args::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "helm-fixup", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// `helm-fixup man`: the man page (section 1) from the clap definition, with clap_mangen.
pub fn man_page() -> std::io::Result<String> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_mangen::Man::new(Args::command()).render(&mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `helm-fixup profiles`: one line per built-in profile.
pub fn profiles_text() -> String {
    let mut out = String::new();
    let width = profile::names().iter().map(|n| n.len()).max().unwrap_or(0) + 1;
    for name in profile::names() {
        let def = ProfileDef::builtin(name).expect("built-in");
        out.push_str(&format!("{:<width$} {}\n", def.name, def.description));
    }
    out
}

/// `helm-fixup explain NAME`.
pub fn explain(name: &str) -> Result<String, UsageError> {
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
            )
            .into());
        }
    };
    let mut out = format!(
        "{} — {}\n\nFixes: {}\n\nWhat it changes:\n",
        def.name, def.description, def.fixes
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
        let default = match (&p.required, &p.default) {
            (Some(when), _) => format!("required ({when})"),
            (None, Some(d)) if d.is_empty() => "default (empty)".to_string(),
            (None, Some(d)) => format!("default {d}"),
            // The help says how an unset value is derived, when it is ("Default: the pod's ...").
            (None, None) if p.help.contains("Default:") => "default (see below)".to_string(),
            (None, None) => "default none".to_string(),
        };
        out.push_str(&format!("  {:<20} {default}\n      {}\n", p.name, p.help));
    }
    if !def.targets.is_empty() {
        out.push_str(&format!("\nTargets: {}\n", def.targets.join("; ")));
    }
    Ok(out)
}
