//! End-to-end tests with real Helm 3 and Helm 4 binaries and the example chart
//! `examples/fixup-demo`.
//!
//! Helm is found through `HELM3_BIN` / `HELM4_BIN`, else `.helm-bin/helm3|helm4` in the repository
//! (`scripts/get-helm.sh` puts them there). Without them the tests print a note and pass, except
//! when `CI` is set: then a missing Helm is a failure.
//!
//! Every Helm call runs with its own `HELM_*_HOME` directories and without any `HELM_*` variable of
//! the caller, so the developer's plugins, repositories and `HELM_FIXUP_PROFILES` never leak in.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

use crate::support::{BIN as FIXUP, Run};

const RELEASE: &str = "demo";
const NAMESPACE: &str = "monitoring";
const FILENAME_ANNOTATION: &str = "postrenderer.helm.sh/postrender-filename";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn chart() -> PathBuf {
    repo().join("examples/fixup-demo")
}

/// A Helm binary plus private home directories for it.
struct Helm {
    bin: PathBuf,
    major: u32,
    home: TempDir,
}

impl Helm {
    /// The Helm binary of this major version, or `None` (after a note) when it is not available
    /// outside CI.
    fn find(major: u32) -> Option<Helm> {
        let var = format!("HELM{major}_BIN");
        let bin = match std::env::var_os(&var) {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            _ => repo().join(".helm-bin").join(format!("helm{major}")),
        };
        if !bin.is_file() {
            let msg = format!(
                "Helm {major} not found at {} (set {var} or run `bash scripts/get-helm.sh`)",
                bin.display()
            );
            if std::env::var_os("CI").is_some() {
                panic!("{msg}; CI is set, so the real-Helm tests must run");
            }
            eprintln!("skipping: {msg}");
            return None;
        }
        let helm = Helm {
            bin,
            major,
            home: tempfile::tempdir().expect("temp dir"),
        };
        let version = helm.run(["version", "--template", "{{.Version}}"]);
        let version = stdout(&version);
        assert!(
            version.starts_with(&format!("v{major}.")),
            "{} reports version {version:?}, expected v{major}.x",
            helm.bin.display()
        );
        Some(helm)
    }

    fn data_home(&self) -> PathBuf {
        self.home.path().join("data")
    }

    /// A `helm` command with a clean `HELM_*` environment and private homes. Helm 4 installs
    /// plugins into `$HELM_DATA_HOME/plugins` but looks them up in `$HELM_PLUGINS`: keep them equal.
    fn cmd(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("HELM_") {
                cmd.env_remove(key);
            }
        }
        let home = self.home.path();
        cmd.env("HELM_DATA_HOME", self.data_home())
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_PLUGINS", self.data_home().join("plugins"))
            // Keep the summary off the developer's terminal, and the last-run record out of
            // the developer's ~/.local/state.
            .env("HELM_FIXUP_TTY", "0")
            .env("XDG_STATE_HOME", home.join("state"))
            // The install hook's link to the plugin's binary goes here, not into ~/.local/bin.
            .env("HELM_FIXUP_BIN_DIR", home.join("bin"))
            .current_dir(repo());
        cmd
    }

    /// Run helm with these arguments and require success.
    fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.cmd();
        cmd.args(args);
        let out = output(&mut cmd);
        assert!(
            out.status.success(),
            "helm{} failed: {:?}\nstderr:\n{}",
            self.major,
            cmd,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `helm template demo examples/fixup-demo -n monitoring` plus `extra`.
    fn template(&self, extra: &[&OsStr]) -> Command {
        let mut cmd = self.cmd();
        cmd.arg("template")
            .arg(RELEASE)
            .arg(chart())
            .args(["--namespace", NAMESPACE])
            .args(extra);
        cmd
    }

    /// `helm template` through helm-fixup with these arguments and `--summary-file`: by path
    /// (Helm 3) or as the installed plugin `fixup` (Helm 4, which takes plugin names only).
    fn post_render(&self, args: &[&str], summary: &Path) -> Command {
        let summary = summary.to_str().expect("UTF-8 temp path");
        let mut all = args.to_vec();
        all.extend(["--summary-file", summary]);
        if self.major == 3 {
            let mut cmd = self.template(&[os("--post-renderer"), os(FIXUP)]);
            cmd.args(h3_args(&all));
            cmd
        } else {
            let mut cmd = self.template(&[os("--post-renderer"), os("fixup")]);
            cmd.args(h4_args(&all));
            cmd
        }
    }

    /// Install `plugin.yaml` + `install.sh` + the binary under test as the Helm 4 plugin `fixup`,
    /// the way a user's `helm plugin install <dir>` does (the install hook runs).
    fn install_plugin(&self) {
        assert_eq!(self.major, 4, "plugins are for Helm 4");
        let src = self.home.path().join("src").join("fixup");
        fs::create_dir_all(src.join("bin")).unwrap();
        fs::copy(repo().join("plugin.yaml"), src.join("plugin.yaml")).unwrap();
        fs::copy(repo().join("install.sh"), src.join("install.sh")).unwrap();
        fs::copy(FIXUP, src.join("bin/helm-fixup")).unwrap();

        let mut cmd = self.cmd();
        // The install hook (install.sh) takes this binary instead of running cargo.
        cmd.env("HELM_FIXUP_BINARY", FIXUP)
            .args(["plugin", "install"])
            .arg(&src);
        let out = output(&mut cmd);
        assert!(
            out.status.success(),
            "helm plugin install {} failed\nstdout:\n{}\nstderr:\n{}",
            src.display(),
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        );

        let list = self.run(["plugin", "list"]);
        let list = stdout(&list);
        assert!(
            list.lines()
                .any(|l| l.split_whitespace().next() == Some("fixup")
                    && l.contains("postrenderer/v1")),
            "helm plugin list does not show fixup as a postrenderer/v1 plugin:\n{list}"
        );
        let installed = self.data_home().join("plugins/fixup/bin/helm-fixup");
        assert!(
            installed.is_file(),
            "{} missing after install",
            installed.display()
        );
    }
}

fn output(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("helm stdout is UTF-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn success(cmd: &mut Command) -> String {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({})\nstderr:\n{}",
        out.status,
        stderr(&out)
    );
    stdout(&out)
}

fn os<S: AsRef<OsStr> + ?Sized>(s: &S) -> &OsStr {
    s.as_ref()
}

/// Helm 3 `--post-renderer-args` for these binary arguments (space-separated form).
fn h3_args(args: &[&str]) -> Vec<String> {
    args.iter()
        .flat_map(|a| ["--post-renderer-args".to_string(), a.to_string()])
        .collect()
}

/// Helm 4 `--post-renderer-args=ARG` for these binary arguments (the `=` form; both versions take it).
fn h4_args(args: &[&str]) -> Vec<String> {
    args.iter()
        .map(|a| format!("--post-renderer-args={a}"))
        .collect()
}

/// The documents of a rendered stream (split on `---` lines).
fn documents(stream: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in stream.split_inclusive('\n') {
        if line.trim_end() == "---" {
            docs.push(&stream[start..pos]);
            start = pos + line.len();
        }
        pos += line.len();
    }
    docs.push(&stream[start..]);
    docs.into_iter().filter(|d| d.contains("kind:")).collect()
}

/// The one document of this kind and name.
fn document<'a>(stream: &'a str, kind: &str, name: &str) -> &'a str {
    let kind_line = format!("kind: {kind}\n");
    let name_line = format!("  name: {name}\n");
    let found: Vec<&str> = documents(stream)
        .into_iter()
        .filter(|d| d.lines().any(|l| format!("{l}\n") == kind_line) && d.contains(&name_line))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {kind} {name} in the output, found {}:\n{stream}",
        found.len()
    );
    found[0]
}

/// Pod-level securityContext of the Prometheus CR runs as root after root-run.
fn assert_prometheus_root(stream: &str) {
    let prom = document(stream, "Prometheus", "demo-prometheus");
    for want in [
        "runAsUser: 0",
        "runAsGroup: 0",
        "fsGroup: 0",
        "runAsNonRoot: false",
    ] {
        assert!(prom.contains(want), "Prometheus lacks {want:?}:\n{prom}");
    }
    assert!(
        !prom.contains("runAsUser: 1000"),
        "Prometheus still runs as 1000:\n{prom}"
    );
    // Untouched parts of the document stay as written.
    assert!(
        prom.contains("retention: \"15d\""),
        "quoting changed:\n{prom}"
    );
    assert!(prom.contains("storage: 10Gi"), "{prom}");
}

fn source_lines(stream: &str) -> Vec<&str> {
    stream
        .lines()
        .filter(|l| l.starts_with("# Source: "))
        .collect()
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

macro_rules! helm_or_skip {
    ($major:expr) => {
        match Helm::find($major) {
            Some(helm) => helm,
            None => return,
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Helm 3: the binary is called by path.

#[test]
fn helm3_root_run_by_path_with_summary_file() {
    let helm = helm_or_skip!(3);
    let tmp = tempfile::tempdir().unwrap();
    let summary = tmp.path().join("sum.txt");
    let summary_arg = summary.to_str().unwrap();

    let plain = success(&mut helm.template(&[]));
    let mut cmd = helm.template(&[os("--post-renderer"), os(FIXUP)]);
    cmd.args(h3_args(&["-p", "root-run", "--summary-file", summary_arg]));
    let fixed = success(&mut cmd);

    assert_prometheus_root(&fixed);
    let summary = read(&summary);
    assert!(
        summary.contains("Prometheus monitoring/demo-prometheus"),
        "summary does not name the Prometheus CR:\n{summary}"
    );
    assert!(summary.contains("root-run"), "{summary}");
    assert!(
        summary
            .lines()
            .any(|l| l.contains(" changed") && l.chars().any(|c| c.is_ascii_digit())),
        "summary has no count line:\n{summary}"
    );
    // Helm 3 adds `# Source:` lines before post-rendering; they must survive.
    assert_eq!(source_lines(&fixed), source_lines(&plain));
    // Helm 3 does not send hooks to the post-renderer: the hook Job is appended untouched.
    let hook = document(&fixed, "Job", "demo-preflight");
    assert!(hook.contains("runAsUser: 65534"), "{hook}");
    assert_eq!(hook, document(&plain, "Job", "demo-preflight"));
}

/// shared-uid gave the prometheus + thanos-sidecar pod one uid; init-chown chowned each operator volume with its
/// subPath and the StatefulSet's claim-template subPath.
fn assert_shared_uid_and_init_chown(stream: &str) {
    let thanos = document(stream, "Deployment", "demo-thanos");
    for want in [
        "runAsUser: 65534",
        "runAsGroup: 65534",
        "fsGroup: 65534",
        "fsGroupChangePolicy: OnRootMismatch",
    ] {
        assert!(
            thanos.contains(want),
            "demo-thanos lacks {want:?}:\n{thanos}"
        );
    }
    for (kind, name, volume, sub, owner) in [
        (
            "Alertmanager",
            "demo-alertmanager",
            "alertmanager-demo-alertmanager-db",
            "alertmanager-db",
            "1000:2000",
        ),
        (
            "Prometheus",
            "demo-prometheus",
            "prometheus-demo-prometheus-db",
            "prometheus-db",
            "1000:2000",
        ),
        ("StatefulSet", "demo-db", "data", "db", "1000:1000"),
    ] {
        let d = document(stream, kind, name);
        assert_eq!(d.matches("name: fixup-chown").count(), 1, "{d}");
        for want in [
            format!("name: {volume}\n"),
            format!("subPath: {sub}\n"),
            format!("-exec chown -h {owner} {{}} +"),
            "- CHOWN".to_string(),
        ] {
            assert!(d.contains(&want), "{kind} {name} lacks {want:?}:\n{d}");
        }
    }
}

#[test]
fn helm3_shared_uid_and_init_chown_by_path() {
    let helm = helm_or_skip!(3);
    let tmp = tempfile::tempdir().unwrap();
    let summary = tmp.path().join("sum.txt");
    let mut cmd = helm.post_render(&["-p", "shared-uid,init-chown"], &summary);
    let fixed = success(&mut cmd);
    assert_shared_uid_and_init_chown(&fixed);
    let summary = read(&summary);
    assert!(
        summary.contains("more privileged than the chart asked: StatefulSet monitoring/demo-db, Alertmanager monitoring/demo-alertmanager, Prometheus monitoring/demo-prometheus"),
        "{summary}"
    );
}

#[test]
fn helm3_without_profile_passes_through_byte_for_byte() {
    let helm = helm_or_skip!(3);
    let plain = helm.run([
        "template",
        RELEASE,
        chart().to_str().unwrap(),
        "-n",
        NAMESPACE,
    ]);
    let mut cmd = helm.template(&[os("--post-renderer"), os(FIXUP)]);
    let out = output(&mut cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        out.stdout == plain.stdout,
        "no profile must be a byte-for-byte pass-through\n--- plain\n{}\n--- post-rendered\n{}",
        stdout(&plain),
        stdout(&out)
    );
}

#[test]
fn helm3_unknown_profile_fails_and_lists_valid_profiles() {
    let helm = helm_or_skip!(3);
    let tmp = tempfile::tempdir().unwrap();
    let summary = tmp.path().join("sum.txt");
    let mut cmd = helm.post_render(&["-p", "no-such-profile"], &summary);
    let out = output(&mut cmd);
    assert!(
        !out.status.success(),
        "helm template must fail on a bad profile"
    );
    assert!(out.stdout.is_empty() || !stdout(&out).contains("kind:"));
    // Helm 3 shows the post-renderer's stderr when it fails.
    let err = stderr(&out);
    assert!(err.contains("no-such-profile"), "stderr:\n{err}");
    assert_lists_profiles(&err);
    assert_lists_profiles(&read(&summary));
}

fn assert_lists_profiles(text: &str) {
    for name in [
        "root-run",
        "shared-uid",
        "init-chown",
        "exec-probes",
        "local-pv",
        "openshift",
    ] {
        assert!(
            text.contains(name),
            "valid profile {name} not listed in:\n{text}"
        );
    }
}

/// After `-p exec-probes` on the example chart: the loopback-bound exporter and app probe from
/// inside their containers, and the 0.74 operator no longer gives the listenLocal Prometheus's
/// config-reloader probes it cannot pass.
fn assert_exec_probes(stream: &str) {
    let exporter = document(stream, "Deployment", "demo-exporter");
    assert!(
        !exporter.contains("httpGet:"),
        "exporter still has httpGet probes:\n{exporter}"
    );
    assert!(
        exporter.contains("exec curl --fail --silent --show-error 'http://127.0.0.1:9100/healthz'"),
        "exporter has no curl exec probe:\n{exporter}"
    );
    let proxied = document(stream, "Deployment", "demo-proxied");
    assert!(
        proxied.contains("'http://127.0.0.1:8081/ready'"),
        "{proxied}"
    );
    // kube-rbac-proxy listens on every address: untouched (it has no probes at all).
    assert!(
        proxied.contains("--upstream=http://127.0.0.1:8081/"),
        "{proxied}"
    );
    let operator = document(stream, "Deployment", "demo-operator");
    assert!(
        !operator.contains("--enable-config-reloader-probes"),
        "the 0.74 operator still enables config-reloader probes:\n{operator}"
    );
    let prom = document(stream, "Prometheus", "demo-prometheus");
    assert!(prom.contains("listenLocal: true"), "{prom}");
}

#[test]
fn helm3_exec_probes_by_path() {
    let helm = helm_or_skip!(3);
    let tmp = tempfile::tempdir().unwrap();
    let summary = tmp.path().join("sum.txt");
    let plain = success(&mut helm.template(&[]));
    let mut cmd = helm.post_render(&["-p", "exec-probes"], &summary);
    let fixed = success(&mut cmd);
    assert_exec_probes(&fixed);
    assert_eq!(source_lines(&fixed), source_lines(&plain));
    // Documents the profile does not touch come back byte for byte.
    for (kind, name) in [("Prometheus", "demo-prometheus"), ("Job", "demo-preflight")] {
        assert_eq!(document(&fixed, kind, name), document(&plain, kind, name));
    }
    let summary = read(&summary);
    for want in [
        "Deployment monitoring/demo-exporter",
        "needs sh plus curl or wget",
        "removed --enable-config-reloader-probes=true",
    ] {
        assert!(
            summary.contains(want),
            "{want:?} missing from the summary:\n{summary}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Helm 4: the binary runs as the postrenderer/v1 plugin `fixup`.

#[test]
fn helm4_plugin_root_run_with_args() {
    let helm = helm_or_skip!(4);
    helm.install_plugin();
    let tmp = tempfile::tempdir().unwrap();
    let summary = tmp.path().join("sum.txt");

    // The hook writes no volume, so root-run leaves it alone by default: name it (and the
    // Prometheus) to see that Helm 4 post-renders hooks.
    let mut cmd = helm.post_render(
        &[
            "-p",
            "root-run",
            "--only",
            "root-run:kind=Job",
            "--only",
            "root-run:kind=Prometheus",
        ],
        &summary,
    );
    let fixed = success(&mut cmd);

    assert_prometheus_root(&fixed);
    // Helm 4 strips the filename annotation after post-rendering and turns it back into
    // `# Source:` lines; our documents must still carry it when they leave the binary.
    assert!(
        !fixed.contains(FILENAME_ANNOTATION),
        "annotation leaked:\n{fixed}"
    );
    assert!(
        fixed.contains("# Source: fixup-demo/templates/prometheus-cr.yaml\n"),
        "{fixed}"
    );
    assert!(!fixed.contains("generated-by-postrender"), "{fixed}");
    // Helm 4 sends hooks through the post-renderer too.
    let hook = document(&fixed, "Job", "demo-preflight");
    assert!(
        hook.contains("runAsUser: 0"),
        "hook not post-rendered:\n{hook}"
    );
    assert!(hook.contains("helm.sh/hook"), "{hook}");

    let summary = read(&summary);
    assert!(
        summary.contains("Prometheus monitoring/demo-prometheus"),
        "{summary}"
    );
    assert!(
        summary.contains("Job monitoring/demo-preflight"),
        "{summary}"
    );
}

#[test]
fn helm4_plugin_shared_uid_and_init_chown() {
    let helm = helm_or_skip!(4);
    helm.install_plugin();
    let mut cmd = helm.template(&[os("--post-renderer"), os("fixup")]);
    cmd.args(h4_args(&["-p", "shared-uid,init-chown"]));
    let fixed = success(&mut cmd);
    assert_shared_uid_and_init_chown(&fixed);
    assert!(!fixed.contains(FILENAME_ANNOTATION), "{fixed}");
}

/// After `-p openshift` on the example chart: no document the post-renderer saw keeps a fixed
/// uid, gid or fsGroup (restricted-v2 would reject each), and `runAsNonRoot`/seccomp stay.
/// Helm 3 does not send the hook Job, so it is checked only where `hook` says it was sent.
fn assert_openshift(stream: &str, hook: bool) {
    for d in documents(stream) {
        if !hook && d.contains("helm.sh/hook") {
            continue;
        }
        for id in ["runAsUser:", "runAsGroup:", "fsGroup:"] {
            assert!(!d.contains(id), "{id} left in:\n{d}");
        }
    }
    let prom = document(stream, "Prometheus", "demo-prometheus");
    assert!(
        prom.contains("runAsNonRoot: true") && prom.contains("type: RuntimeDefault"),
        "{prom}"
    );
    let job = document(stream, "Job", "demo-preflight");
    assert_eq!(job.contains("runAsUser: 65534"), !hook, "{job}");
}

#[test]
fn helm3_openshift_by_path() {
    let helm = helm_or_skip!(3);
    let tmp = tempfile::tempdir().unwrap();
    let summary = tmp.path().join("sum.txt");
    let fixed = success(&mut helm.post_render(&["-p", "openshift"], &summary));
    assert_openshift(&fixed, false);
    let summary = read(&summary);
    assert!(
        summary.contains(
            "openshift  Prometheus monitoring/demo-prometheus  spec.securityContext.runAsUser removed (was 1000)"
        ),
        "{summary}"
    );
}

#[test]
fn helm4_plugin_openshift_and_the_root_run_conflict() {
    let helm = helm_or_skip!(4);
    helm.install_plugin();
    let mut cmd = helm.template(&[os("--post-renderer"), os("fixup")]);
    cmd.args(h4_args(&["-p", "openshift"]));
    let fixed = success(&mut cmd);
    // Helm 4 sends the hook too: its uid goes like the others.
    assert_openshift(&fixed, true);
    assert!(!fixed.contains(FILENAME_ANNOTATION), "{fixed}");
    // root-run and openshift on one pod: the release fails instead of installing either.
    let mut cmd = helm.template(&[os("--post-renderer"), os("fixup")]);
    cmd.args(h4_args(&["-p", "openshift,root-run"]));
    let out = output(&mut cmd);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}

#[test]
fn helm4_plugin_profiles_from_environment() {
    let helm = helm_or_skip!(4);
    helm.install_plugin();
    let mut cmd = helm.template(&[os("--post-renderer"), os("fixup")]);
    cmd.env("HELM_FIXUP_PROFILES", "root-run");
    let fixed = success(&mut cmd);
    assert_prometheus_root(&fixed);
    assert!(!fixed.contains(FILENAME_ANNOTATION), "{fixed}");
}

#[test]
fn helm4_plugin_without_profile_keeps_every_object() {
    let helm = helm_or_skip!(4);
    helm.install_plugin();
    let plain = success(&mut helm.template(&[]));
    let fixed = success(&mut helm.template(&[os("--post-renderer"), os("fixup")]));
    // Helm 4 re-indents what comes back from a post-renderer, so compare identities only.
    assert_eq!(source_lines(&fixed), source_lines(&plain));
    let prom = document(&fixed, "Prometheus", "demo-prometheus");
    assert!(prom.contains("runAsUser: 1000"), "{prom}");
}

#[test]
fn helm4_unknown_profile_fails_and_summary_file_lists_valid_profiles() {
    let helm = helm_or_skip!(4);
    helm.install_plugin();
    let tmp = tempfile::tempdir().unwrap();
    let summary = tmp.path().join("sum.txt");
    let mut cmd = helm.post_render(&["-p", "no-such-profile"], &summary);
    let out = output(&mut cmd);
    assert!(
        !out.status.success(),
        "helm template must fail on a bad profile"
    );
    // Helm 4 never shows the plugin's stderr, only that it failed.
    let err = stderr(&out);
    assert!(err.contains("fixup"), "stderr:\n{err}");
    let summary = read(&summary);
    assert!(summary.contains("no-such-profile"), "{summary}");
    assert_lists_profiles(&summary);
}

/// Helm 4 discards a post-renderer plugin's stderr, and in CI there is no terminal: the error
/// text must still be in the last-run file the README points at (`helm-fixup last`).
#[test]
fn helm4_without_a_terminal_leaves_the_error_in_the_last_run_file() {
    let helm = helm_or_skip!(4);
    helm.install_plugin();
    let mut cmd = Command::new("setsid");
    let inner = helm.template(&[os("--post-renderer"), os("fixup")]);
    cmd.arg(inner.get_program()).args(inner.get_args());
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    // A terminal would be opened through /dev/tty: allow it, so only setsid keeps it away.
    cmd.env_remove("HELM_FIXUP_TTY")
        .current_dir(repo())
        .stdin(std::process::Stdio::null())
        .args(h4_args(&["-p", "root-runn"]));
    let out = output(&mut cmd);
    assert!(!out.status.success(), "a misspelled profile must fail");
    let err = stderr(&out);
    assert!(
        !err.contains("root-runn"),
        "Helm 4 started showing the plugin's stderr; the README can say so:\n{err}"
    );
    let file = helm.home.path().join("state/helm-fixup/last-run.txt");
    let text = read(&file);
    assert!(text.contains("unknown profile \"root-runn\""), "{text}");
    assert!(text.contains("(exit 3)"), "{text}");
    // `helm-fixup last` shows the same record.
    let last = Run::new()
        .arg("last")
        .env("XDG_STATE_HOME", helm.home.path().join("state"))
        .run();
    assert!(last.stdout_text().contains("unknown profile \"root-runn\""));
}

#[test]
fn helm4_rejects_a_path_as_post_renderer() {
    // Documents why Helm 4 users need the plugin (and why install.sh installs it).
    let helm = helm_or_skip!(4);
    let out = output(&mut helm.template(&[os("--post-renderer"), os(FIXUP)]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
}

#[test]
fn helm4_plugin_exec_probes() {
    let helm = helm_or_skip!(4);
    helm.install_plugin();
    let tmp = tempfile::tempdir().unwrap();
    let summary = tmp.path().join("sum.txt");
    let mut cmd = helm.post_render(&["-p", "exec-probes"], &summary);
    let fixed = success(&mut cmd);
    assert_exec_probes(&fixed);
    assert!(
        !fixed.contains(FILENAME_ANNOTATION),
        "annotation leaked:\n{fixed}"
    );
    let summary = read(&summary);
    assert!(
        summary.contains("Deployment monitoring/demo-operator"),
        "{summary}"
    );
    assert!(
        summary.contains("upgrading the operator to >= 0.75"),
        "{summary}"
    );
}

// ---------------------------------------------------------------------------------------------
// install.sh as the plugin hook, without Helm.

#[test]
fn install_hook_mode_copies_the_given_binary_and_never_calls_helm() {
    let tmp = tempfile::tempdir().unwrap();
    let plugin_dir = tmp.path().join("plugin");
    fs::create_dir_all(&plugin_dir).unwrap();
    // A `helm` on PATH that fails loudly if the hook ever calls it.
    let fake_bin = tmp.path().join("fake-bin");
    fs::create_dir_all(&fake_bin).unwrap();
    let fake_helm = fake_bin.join("helm");
    fs::write(
        &fake_helm,
        "#!/bin/sh\necho 'hook called helm' >&2\nexit 97\n",
    )
    .unwrap();
    set_executable(&fake_helm);
    let path = format!(
        "{}:{}",
        fake_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("install.sh"))
        .env_remove("HELM_BIN")
        .env("PATH", path)
        .env("HELM_PLUGIN_DIR", &plugin_dir)
        .env("HELM_PLUGIN_NAME", "fixup")
        .env("HELM_FIXUP_BINARY", FIXUP)
        .current_dir(tmp.path());
    let out = output(&mut cmd);
    assert!(out.status.success(), "hook failed:\n{}", stderr(&out));
    assert!(
        !stderr(&out).contains("hook called helm"),
        "{}",
        stderr(&out)
    );
    let installed = plugin_dir.join("bin/helm-fixup");
    assert_eq!(fs::read(&installed).unwrap(), fs::read(FIXUP).unwrap());

    // A second run (the update hook) is a no-op and still succeeds.
    let out = output(&mut cmd);
    assert!(
        out.status.success(),
        "second hook run failed:\n{}",
        stderr(&out)
    );
}

fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = fs::metadata(path).unwrap().permissions();
    perms.set_mode(0o755);
    fs::set_permissions(path, perms).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Installing without Rust: the packaged plugin, the release download, update and re-install.

/// `PATH` for a machine without Rust: the system directories only (cargo lives in ~/.cargo/bin).
const NO_CARGO_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The release archive name install.sh computes for this machine.
fn archive_name(version: &str) -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "loongarch64" => "loong64",
        other => other,
    };
    format!(
        "helm-fixup-{version}-{}-{arch}.tar.gz",
        std::env::consts::OS
    )
}

fn plugin_version() -> String {
    read(&repo().join("plugin.yaml"))
        .lines()
        .find_map(|l| l.strip_prefix("version:"))
        .expect("plugin.yaml has a version")
        .trim()
        .to_string()
}

fn sha256(path: &Path) -> String {
    let out = output(Command::new("sha256sum").arg(path));
    stdout(&out)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Run scripts/release.sh with the binary under test standing in for the cargo build (cargo is
/// replaced by `true`), so the test checks the packaging, not the compiler.
fn release(helm: &Helm, out: &Path) {
    let target = helm.home.path().join("cargo-target");
    fs::create_dir_all(target.join("release")).unwrap();
    fs::copy(FIXUP, target.join("release/helm-fixup")).unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("scripts/release.sh"))
        .arg("--out")
        .arg(out)
        .env("CARGO", "true")
        .env("CARGO_TARGET_DIR", &target)
        .env("HELM_BIN", &helm.bin)
        .current_dir(repo());
    success(&mut cmd);
}

/// The acceptance test of the release: on a machine with no cargo and no network, the plugin
/// tarball release.sh made installs and post-renders; it holds only what the plugin needs.
#[test]
fn packaged_plugin_installs_and_runs_with_no_cargo_and_no_network() {
    let helm = helm_or_skip!(4);
    let tmp = tempfile::tempdir().unwrap();
    release(&helm, tmp.path());
    let platform = archive_name("V")
        .trim_start_matches("helm-fixup-V-")
        .trim_end_matches(".tar.gz")
        .to_string();
    let tgz = tmp
        .path()
        .join(&platform)
        .join(format!("fixup-{}.tgz", plugin_version()));
    // Only what the plugin needs. (Its size, about 2 MB with a release binary, is not checked
    // here: this test packs the debug binary under test.)
    let list = stdout(&output(Command::new("tar").arg("tzf").arg(&tgz)));
    let mut files: Vec<&str> = list.lines().map(|l| l.trim_end_matches('/')).collect();
    files.sort();
    assert_eq!(
        files,
        [
            "fixup",
            "fixup/LICENSE",
            "fixup/README.md",
            "fixup/bin",
            "fixup/bin/helm-fixup",
            "fixup/install.sh",
            "fixup/plugin.yaml"
        ],
        "{list}"
    );
    let sum = read(
        &tmp.path()
            .join(format!("{}.sha256", archive_name(&plugin_version()))),
    );
    assert!(sum.contains(&sha256(&tmp.path().join(archive_name(&plugin_version())))));

    let mut cmd = helm.cmd();
    cmd.env("PATH", NO_CARGO_PATH)
        .env("HELM_FIXUP_OFFLINE", "1")
        // Helm 4 verifies a tarball by default; this one is unsigned (no --key).
        .args(["plugin", "install", "--verify=false"])
        .arg(&tgz);
    let out = success(&mut cmd);
    assert!(out.contains("Installed plugin: fixup"), "{out}");
    let mut cmd = helm.template(&[os("--post-renderer"), os("fixup")]);
    cmd.env("PATH", NO_CARGO_PATH)
        .args(h4_args(&["-p", "root-run"]));
    assert_prometheus_root(&success(&mut cmd));
    // `helm-fixup last` (and diagnose, explain) is one command away after a tarball install:
    // the install hook linked the plugin's binary into HELM_FIXUP_BIN_DIR.
    assert_cli_within_reach(&helm);
}

/// A plugin install whose hook cannot get a binary (no cargo, no network, no archive) says how
/// to retry: Helm keeps the plugin, so the first step is to uninstall it, and the packaged
/// plugin's file name is the one the release has.
#[test]
fn failed_plugin_install_says_how_to_retry() {
    let helm = helm_or_skip!(4);
    let src = helm.home.path().join("src").join("fixup");
    fs::create_dir_all(&src).unwrap();
    fs::copy(repo().join("plugin.yaml"), src.join("plugin.yaml")).unwrap();
    fs::copy(repo().join("install.sh"), src.join("install.sh")).unwrap();
    let mut cmd = helm.cmd();
    cmd.env("PATH", NO_CARGO_PATH)
        .env("HELM_FIXUP_OFFLINE", "1")
        .args(["plugin", "install"])
        .arg(&src);
    let out = output(&mut cmd);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        text.contains("helm plugin uninstall fixup")
            && text.contains(&format!(
                "helm plugin install fixup-{}.tgz",
                plugin_version()
            )),
        "{text}"
    );
}

/// `helm plugin install` verifies a tarball against its `.prov` (Helm 4's default): the tarball
/// release.sh signs with a throwaway key installs with that key's public keyring, and the same
/// tarball with one byte changed is refused.
#[test]
fn signed_plugin_verifies_and_a_tampered_one_is_refused() {
    let helm = helm_or_skip!(4);
    let tmp = tempfile::tempdir().unwrap();
    let gnupg = tmp.path().join("gnupg");
    fs::create_dir_all(&gnupg).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&gnupg, fs::Permissions::from_mode(0o700)).unwrap();
    }
    let gpg = |args: &[&str]| {
        let out = output(
            Command::new("gpg")
                .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
                .args(args)
                .env("GNUPGHOME", &gnupg),
        );
        assert!(out.status.success(), "gpg {args:?}: {}", stderr(&out));
        out.stdout
    };
    gpg(&[
        "--quick-gen-key",
        "helm-fixup test <test@example.com>",
        "rsa2048",
        "sign",
        "never",
    ]);
    let public = tmp.path().join("pubring.gpg");
    let secret = tmp.path().join("secring.gpg");
    fs::write(&public, gpg(&["--export"])).unwrap();
    fs::write(&secret, gpg(&["--export-secret-keys"])).unwrap();

    let target = helm.home.path().join("cargo-target");
    fs::create_dir_all(target.join("release")).unwrap();
    fs::copy(FIXUP, target.join("release/helm-fixup")).unwrap();
    let dist = tmp.path().join("dist");
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("scripts/release.sh"))
        .arg("--out")
        .arg(&dist)
        .args(["--key", "helm-fixup test", "--keyring"])
        .arg(&secret)
        .env("CARGO", "true")
        .env("CARGO_TARGET_DIR", &target)
        .env("HELM_BIN", &helm.bin)
        .current_dir(repo());
    success(&mut cmd);
    let name = format!("fixup-{}.tgz", plugin_version());
    let platform = archive_name("V")
        .trim_start_matches("helm-fixup-V-")
        .trim_end_matches(".tar.gz")
        .to_string();
    let tgz = dist.join(&platform).join(&name);
    assert!(dist.join(&platform).join(format!("{name}.prov")).is_file());

    let tampered_dir = tmp.path().join("tampered");
    fs::create_dir_all(&tampered_dir).unwrap();
    let mut bytes = fs::read(&tgz).unwrap();
    bytes.push(0);
    fs::write(tampered_dir.join(&name), bytes).unwrap();
    fs::copy(
        dist.join(&platform).join(format!("{name}.prov")),
        tampered_dir.join(format!("{name}.prov")),
    )
    .unwrap();
    let mut cmd = helm.cmd();
    cmd.args(["plugin", "install", "--keyring"])
        .arg(&public)
        .arg(tampered_dir.join(&name));
    let out = output(&mut cmd);
    assert!(!out.status.success(), "a tampered tarball was installed");
    assert!(
        stderr(&out).contains("sha256 sum does not match"),
        "{}",
        stderr(&out)
    );

    let mut cmd = helm.cmd();
    cmd.args(["plugin", "install", "--keyring"])
        .arg(&public)
        .arg(&tgz);
    let out = success(&mut cmd);
    assert!(out.contains("Installed plugin: fixup"), "{out}");
}

/// A local HTTP server for `dir` on 127.0.0.1 (python3 -m http.server), killed on drop.
struct Server(std::process::Child, u16);

impl Server {
    fn start(dir: &Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(port.to_string())
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 runs");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Server(child, port);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("http.server did not start on port {port}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The install hook with no binary and no cargo downloads the release archive for this OS and
/// arch, checks its sha256, and refuses an archive whose checksum does not match.
#[test]
fn install_hook_downloads_the_release_archive_and_refuses_a_wrong_checksum() {
    let tmp = tempfile::tempdir().unwrap();
    let version = plugin_version();
    let name = archive_name(&version);
    let serve = tmp.path().join("serve");
    let top = format!("helm-fixup-{version}");
    fs::create_dir_all(serve.join(&top)).unwrap();
    fs::copy(FIXUP, serve.join(&top).join("helm-fixup")).unwrap();
    success(
        Command::new("tar")
            .arg("-C")
            .arg(&serve)
            .arg("-czf")
            .arg(serve.join(&name))
            .arg(&top),
    );
    let good = format!("{}  {name}\n", sha256(&serve.join(&name)));
    fs::write(serve.join(format!("{name}.sha256")), &good).unwrap();
    let server = Server::start(&serve);

    let hook = |dir: &Path| {
        fs::create_dir_all(dir).unwrap();
        fs::copy(repo().join("plugin.yaml"), dir.join("plugin.yaml")).unwrap();
        let mut cmd = Command::new("bash");
        cmd.arg(repo().join("install.sh"))
            .env_clear()
            .env("PATH", NO_CARGO_PATH)
            .env("HOME", tmp.path())
            .env("HELM_PLUGIN_DIR", dir)
            .env(
                "HELM_FIXUP_RELEASE_URL",
                format!("http://127.0.0.1:{}", server.1),
            );
        output(&mut cmd)
    };
    let plugin = tmp.path().join("plugin");
    let out = hook(&plugin);
    assert!(out.status.success(), "hook failed:\n{}", stderr(&out));
    assert_eq!(
        fs::read(plugin.join("bin/helm-fixup")).unwrap(),
        fs::read(FIXUP).unwrap()
    );

    // A local archive (HELM_FIXUP_ARCHIVE) is used, and checked the same way, with no network.
    let dir = tmp.path().join("plugin-archive");
    fs::create_dir_all(&dir).unwrap();
    fs::copy(repo().join("plugin.yaml"), dir.join("plugin.yaml")).unwrap();
    let out = output(
        Command::new("bash")
            .arg(repo().join("install.sh"))
            .env_clear()
            .env("PATH", NO_CARGO_PATH)
            .env("HELM_FIXUP_OFFLINE", "1")
            .env("HELM_PLUGIN_DIR", &dir)
            .env("HELM_FIXUP_ARCHIVE", serve.join(&name)),
    );
    assert!(
        out.status.success(),
        "archive hook failed:\n{}",
        stderr(&out)
    );
    assert_eq!(
        fs::read(dir.join("bin/helm-fixup")).unwrap(),
        fs::read(FIXUP).unwrap()
    );

    let bad = format!("{}  {name}\n", "0".repeat(64));
    fs::write(serve.join(format!("{name}.sha256")), bad).unwrap();
    let plugin = tmp.path().join("plugin-bad");
    let out = hook(&plugin);
    assert!(!out.status.success(), "a wrong checksum must be refused");
    assert!(
        stderr(&out).contains("checksum mismatch"),
        "{}",
        stderr(&out)
    );
    assert!(!plugin.join("bin/helm-fixup").exists());

    // Nothing to download and no cargo: the error names every way to get the binary.
    let out = {
        let dir = tmp.path().join("plugin-none");
        fs::create_dir_all(&dir).unwrap();
        fs::copy(repo().join("plugin.yaml"), dir.join("plugin.yaml")).unwrap();
        output(
            Command::new("bash")
                .arg(repo().join("install.sh"))
                .env_clear()
                .env("PATH", NO_CARGO_PATH)
                .env("HELM_PLUGIN_DIR", &dir),
        )
    };
    assert!(!out.status.success());
    let err = stderr(&out);
    for want in [
        "HELM_FIXUP_BINARY",
        "HELM_FIXUP_ARCHIVE",
        "HELM_FIXUP_RELEASE_URL",
        "cargo",
        ".tgz",
    ] {
        assert!(err.contains(want), "{want} missing:\n{err}");
    }
}

/// `helm plugin update fixup` used to fail on a clone installed with install.sh: Helm 4 looks
/// for plugins/<last part of the git remote>, the link was plugins/<directory name>. Installing
/// again used to fail with "plugin already exists".
#[test]
fn helm4_plugin_update_and_reinstall_of_a_clone_work() {
    let helm = helm_or_skip!(4);
    let tmp = tempfile::tempdir().unwrap();
    let origin = tmp.path().join("upstream");
    fs::create_dir_all(&origin).unwrap();
    for f in ["plugin.yaml", "install.sh"] {
        fs::copy(repo().join(f), origin.join(f)).unwrap();
    }
    let git = |dir: &Path, args: &[&str]| {
        success(
            Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
                .args(args)
                .current_dir(dir),
        )
    };
    git(&origin, &["init", "-q"]);
    git(&origin, &["add", "."]);
    git(&origin, &["commit", "-qm", "v1"]);
    let clone = tmp.path().join("helm-fixup");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            origin.to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );

    let install = || {
        let mut cmd = helm.cmd();
        cmd.env_clear();
        for (k, v) in helm.cmd().get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        }
        let mut bash = Command::new("bash");
        bash.arg(clone.join("install.sh"))
            .arg("--no-demo")
            .envs(cmd.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HELM_BIN", &helm.bin)
            .env("HELM_FIXUP_BINARY", FIXUP)
            .current_dir(&clone);
        output(&mut bash)
    };
    let out = install();
    assert!(out.status.success(), "install.sh failed:\n{}", stderr(&out));

    let mut cmd = helm.cmd();
    cmd.env("HELM_FIXUP_BINARY", FIXUP)
        .args(["plugin", "update", "fixup"]);
    let out = output(&mut cmd);
    assert!(
        out.status.success(),
        "helm plugin update fixup failed:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("Updated plugin: fixup"),
        "{}",
        stdout(&out)
    );

    // Installing again replaces the plugin instead of failing with "plugin already exists".
    let out = install();
    assert!(
        out.status.success(),
        "second install failed:\n{}",
        stderr(&out)
    );
    let list = stdout(&helm.run(["plugin", "list"]));
    assert_eq!(
        list.lines().filter(|l| l.starts_with("fixup")).count(),
        1,
        "{list}"
    );
    let mut cmd = helm.template(&[os("--post-renderer"), os("fixup")]);
    cmd.args(h4_args(&["-p", "root-run"]));
    assert_prometheus_root(&success(&mut cmd));
    assert_cli_within_reach(&helm);
}

/// After a Helm 4 install, `helm-fixup diagnose` and `helm-fixup last` are one command away:
/// the link the install hook made in HELM_FIXUP_BIN_DIR runs them.
fn assert_cli_within_reach(helm: &Helm) {
    let link = helm.home.path().join("bin/helm-fixup");
    let diagnose = output(Command::new(&link).args([
        "diagnose",
        "--error",
        "hard link block: link x y: operation not permitted",
    ]));
    assert_eq!(diagnose.status.code(), Some(4), "{}", stderr(&diagnose));
    assert!(stdout(&diagnose).contains("thanos-hard-link"));
    let last = output(
        Command::new(&link)
            .arg("last")
            .env("XDG_STATE_HOME", helm.home.path().join("state")),
    );
    assert!(last.status.success(), "{}", stderr(&last));
    assert!(
        stdout(&last).contains("helm-fixup: profiles root-run"),
        "{}",
        stdout(&last)
    );
}

/// Helm 3 on a fresh HOME: install.sh puts the binary into ~/.local/bin (made when missing), and
/// Helm 3 runs it by path.
#[test]
fn helm3_binary_install_on_a_fresh_home() {
    let helm = helm_or_skip!(3);
    let home = tempfile::tempdir().unwrap();
    let out = output(
        Command::new("bash")
            .arg(repo().join("install.sh"))
            .arg("--no-demo")
            .env_clear()
            .env("HOME", home.path())
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HELM_BIN", &helm.bin)
            .env("HELM_FIXUP_BINARY", FIXUP),
    );
    assert!(out.status.success(), "install.sh failed:\n{}", stderr(&out));
    let bin = home.path().join(".local/bin/helm-fixup");
    assert!(bin.is_file(), "{}", stderr(&out));
    let mut cmd = helm.template(&[os("--post-renderer"), bin.as_os_str()]);
    cmd.args(h3_args(&["-p", "root-run"]));
    assert_prometheus_root(&success(&mut cmd));
}

/// `-p auto` under real Helm writes what the profiles picked by hand write (root-run, which
/// auto never picks, aside), and the summary says why each ran.
fn assert_auto_matches_hand_picked(helm: &Helm) {
    let tmp = tempfile::tempdir().unwrap();
    let settings = [
        "--assume",
        "storage=hostpath",
        "--set",
        "local-pv.node=worker-1",
    ];
    let auto_summary = tmp.path().join("auto.txt");
    let mut args = vec!["-p", "auto"];
    args.extend(settings);
    let auto = success(&mut helm.post_render(&args, &auto_summary));
    let hand_summary = tmp.path().join("hand.txt");
    let mut args = vec!["-p", "shared-uid,init-chown,exec-probes,local-pv"];
    args.extend(&settings[2..]);
    let hand = success(&mut helm.post_render(&args, &hand_summary));
    assert_eq!(auto, hand, "helm {}: -p auto differs", helm.major);
    let summary = read(&auto_summary);
    for profile in ["shared-uid", "init-chown", "exec-probes", "local-pv"] {
        assert!(
            summary.contains(&format!("{profile} ran for ")),
            "{profile}: {summary}"
        );
    }
    assert!(!summary.contains("root-run"), "{summary}");
}

#[test]
fn helm3_auto_fixes_what_the_hand_picked_profiles_fix() {
    let helm = helm_or_skip!(3);
    assert_auto_matches_hand_picked(&helm);
}

#[test]
fn helm4_plugin_auto_fixes_what_the_hand_picked_profiles_fix() {
    let helm = helm_or_skip!(4);
    helm.install_plugin();
    assert_auto_matches_hand_picked(&helm);
}

/// The image-mirror rules for every registry the example chart uses.
const MIRROR_ARGS: &[&str] = &[
    "-p",
    "init-chown,image-mirror",
    "--set",
    "image-mirror.map=quay.io=mirror.example.com/quay,docker.io=mirror.example.com/hub;tag=s/^v//",
    "--set",
    "image-mirror.require=true",
];

/// No image reference outside the mirror is left: container images (the fixup-chown helper
/// init-chown adds among them) and the operator's config-reloader flag. Helm 3 never sends
/// hooks to a post-renderer but `helm template` prints them: their images stay as the chart
/// wrote them (`hooks_sent` false), which only the chart's values can change.
fn assert_mirrored(stream: &str, hooks_sent: bool) {
    let hook = document(stream, "Job", "demo-preflight");
    assert_eq!(
        hook.contains("image: \"mirror.example.com/hub/library/busybox:1.38.0\""),
        hooks_sent,
        "{hook}"
    );
    let named: Vec<&str> = documents(stream)
        .into_iter()
        .filter(|d| hooks_sent || !d.contains("\"helm.sh/hook\":"))
        .flat_map(str::lines)
        .map(|l| l.trim_start().trim_start_matches("- ").trim_matches('"'))
        .filter(|l| l.starts_with("image:") || l.contains("-config-reloader="))
        .collect();
    assert!(named.len() >= 8, "{named:#?}");
    let outside: Vec<&&str> = named
        .iter()
        .filter(|l| !l.contains("mirror.example.com/"))
        .collect();
    assert!(outside.is_empty(), "{outside:#?}\n{stream}");
    let op = document(stream, "Deployment", "demo-operator");
    assert!(
        op.contains("--prometheus-config-reloader=mirror.example.com/quay/prometheus-operator/prometheus-config-reloader:v0.74.0"),
        "{op}"
    );
    let prom = document(stream, "Prometheus", "demo-prometheus");
    assert!(
        prom.contains("image: \"mirror.example.com/hub/library/busybox:1.38.0\""),
        "fixup-chown is mirrored:\n{prom}"
    );
}

#[test]
fn helm3_image_mirror_leaves_no_image_outside_the_mirror() {
    let helm = helm_or_skip!(3);
    let tmp = tempfile::tempdir().unwrap();
    let summary = tmp.path().join("sum.txt");
    let mut cmd = helm.post_render(MIRROR_ARGS, &summary);
    let fixed = success(&mut cmd);
    assert_mirrored(&fixed, false);
    let text = read(&summary);
    assert!(
        text.contains(
            "note: image-mirror: quay.io/prometheus/node-exporter:v1.8.1 -> mirror.example.com/quay/prometheus/node-exporter:v1.8.1\n"
        ),
        "{text}"
    );
    // One registry without a rule: require refuses, Helm fails and writes nothing.
    let mut args = MIRROR_ARGS.to_vec();
    args[3] = "image-mirror.map=quay.io=mirror.example.com/quay";
    let mut cmd = helm.post_render(&args, &summary);
    let out = output(&mut cmd);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).is_empty());
    let summary = read(&summary);
    assert!(
        summary.contains("image-mirror.require=true: 1 image reference no rule maps: docker.io/library/busybox:1.38.0"),
        "{summary}"
    );
}

#[test]
fn helm4_plugin_image_mirror_leaves_no_image_outside_the_mirror() {
    let helm = helm_or_skip!(4);
    helm.install_plugin();
    let mut cmd = helm.template(&[os("--post-renderer"), os("fixup")]);
    cmd.args(h4_args(MIRROR_ARGS));
    let fixed = success(&mut cmd);
    // Helm 4 sends hooks: the hook Job's short name `busybox:1.38.0` is mirrored too.
    assert_mirrored(&fixed, true);
    let mut args = MIRROR_ARGS.to_vec();
    args[3] = "image-mirror.map=docker.io=mirror.example.com/hub";
    let mut cmd = helm.template(&[os("--post-renderer"), os("fixup")]);
    cmd.args(h4_args(&args));
    let out = output(&mut cmd);
    assert!(
        !out.status.success() && stdout(&out).is_empty(),
        "{}",
        stdout(&out)
    );
}
