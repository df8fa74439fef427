//! Command-line arguments as clap sees them. Validation happens in `config.rs`.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Helm post-renderer that fixes permission, probe and local-storage failures.
///
/// Reads the rendered manifests on stdin, applies the selected fix profiles and writes the
/// whole stream to stdout. The change summary goes to stderr, to /dev/tty when stderr is not a
/// terminal (Helm hides a post-renderer's stderr), to --summary-file, and to the last-run file
/// that `helm-fixup last` shows.
#[derive(Debug, Parser, Default)]
#[command(name = "helm-fixup", version, args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Profile to apply: a built-in name or a profile file. Repeat or use a comma list.
    #[arg(short = 'p', long = "profile", value_name = "NAME|FILE")]
    pub profiles: Vec<String>,

    /// Set a profile parameter, e.g. --set local-pv.node=worker-1.
    #[arg(long = "set", value_name = "PROFILE.PARAM=VALUE")]
    pub set: Vec<String>,

    /// Configuration file with profiles, parameters and targets (for scripted upgrades).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Only touch objects matching this selector ([PROFILE:]key=value,...). Repeatable.
    #[arg(long = "only", value_name = "SELECTOR")]
    pub only: Vec<String>,

    /// Never touch objects matching this selector ([PROFILE:]key=value,...). Repeatable.
    #[arg(long = "skip", value_name = "SELECTOR")]
    pub skip: Vec<String>,

    /// Also write the summary to this file.
    #[arg(long = "summary-file", value_name = "PATH")]
    pub summary_file: Option<PathBuf>,

    /// Summary format.
    #[arg(long = "summary-format", value_enum)]
    pub summary_format: Option<SummaryFormat>,

    /// Add a unified diff of every changed document to the summary.
    #[arg(long)]
    pub diff: bool,

    /// Report what would change but write the input unchanged.
    #[arg(long = "dry-run")]
    pub dry_run: bool,

    /// What the stream cannot show about the cluster, for `-p auto` and `diagnose`:
    /// storage=hostpath|nfs|local|dynamic, platform=openshift, arch=loong64, or `cluster` to
    /// read them from the cluster with kubectl (read-only). Repeatable.
    #[arg(long = "assume", value_name = "KEY=VALUE")]
    pub assume: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum SummaryFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the built-in profiles, one line each.
    Profiles,
    /// Show the summary or error of the last run (kept in
    /// $XDG_STATE_HOME/helm-fixup/last-run.txt, default ~/.local/state/helm-fixup/last-run.txt).
    Last,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell), e.g.
    /// `helm-fixup completions bash > ~/.local/share/bash-completion/completions/helm-fixup`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `helm-fixup man > ~/.local/share/man/man1/helm-fixup.1`.
    Man,
    /// Show a profile's parameters, defaults, what it changes and which failure it fixes.
    Explain {
        /// Profile name or profile file.
        profile: String,
    },
    /// Foresee the failures of a rendered stream (on stdin), or name the failure in a log line,
    /// `kubectl describe pod` or `kubectl get events` output (--error, --error-file), with the
    /// helm-fixup arguments that fix it. Read-only. Exit 0 when nothing is found, 4 when
    /// something is.
    Diagnose {
        /// The text, pasted (quote it).
        #[arg(long = "error", value_name = "TEXT", conflicts_with = "error_file")]
        error: Option<String>,
        /// A file holding the text (`-` for stdin).
        #[arg(long = "error-file", value_name = "FILE")]
        error_file: Option<PathBuf>,
        /// Report format.
        #[arg(long = "format", value_enum, default_value = "text")]
        format: SummaryFormat,
        /// What the stream cannot show about the cluster: storage=hostpath|nfs|local|dynamic,
        /// platform=openshift, arch=loong64, or `cluster` to read them from the cluster with
        /// kubectl (read-only). Repeatable.
        #[arg(long = "assume", value_name = "KEY=VALUE")]
        assume: Vec<String>,
        /// A profile parameter the foresight should use, e.g. --set exec-probes.operatorVersion=0.70.0.
        #[arg(long = "set", value_name = "PROFILE.PARAM=VALUE")]
        set: Vec<String>,
    },
    /// Read an installed release's failing pods from the cluster (status, termination
    /// messages, `logs --previous`, events) with its manifest, nodes, StorageClasses and Pod
    /// Security labels; name each failure, the object it comes from, and the `helm upgrade`
    /// that fixes it for Helm 4 and Helm 3. Read-only (kubectl get and logs). Exit 0 when
    /// nothing is found, 4 when something is, 2 when the cluster cannot be read.
    Doctor {
        /// The namespace (default: HELM_NAMESPACE, else kubectl's current one).
        #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
        namespace: Option<String>,
        /// The release: only its pods, and its manifest says which object each comes from.
        #[arg(long = "release", value_name = "NAME")]
        release: Option<String>,
        /// The kubeconfig context (default: HELM_KUBECONTEXT, else the current context).
        #[arg(long = "kube-context", value_name = "CONTEXT")]
        kube_context: Option<String>,
        /// Report format.
        #[arg(long = "format", value_enum, default_value = "text")]
        format: SummaryFormat,
        /// List every kubectl call made (on stderr).
        #[arg(short = 'v', long = "verbose")]
        verbose: bool,
    },
}

/// Whether a word names a built-in profile (or `auto`), for the argument advice.
fn is_profile_name(word: &str) -> bool {
    word == "auto" || crate::profile::FIXES.contains(&word)
}

/// Flags whose value is free text that may hold spaces.
const TEXT_VALUES: &[&str] = &[
    "--error",
    "--summary-file",
    "--error-file",
    "-c",
    "--config",
];

/// The mistakes Helm users make passing arguments through `--post-renderer-args`, which clap
/// can only report in its own words: several words in one argument (`'--set local-pv.node=w1'`,
/// or a whole command), `--set PROFILE.PARAM VALUE` with a space, and a profile named without
/// `-p`. Each answer shows the arguments as Helm 4 and Helm 3 must pass them. `None` when the
/// arguments look right (clap then has the last word).
pub fn argv_mistake(argv: &[String]) -> Option<String> {
    let args = argv.get(1..).unwrap_or_default();
    let forms = |words: &[String]| {
        format!(
            "\n  Helm 4: {}\n  Helm 3: {}\n  (each word is its own --post-renderer-args)",
            words
                .iter()
                .map(|w| format!("--post-renderer-args={}", crate::shell::quote_word(w)))
                .collect::<Vec<_>>()
                .join(" "),
            words
                .iter()
                .map(|w| format!("--post-renderer-args {}", crate::shell::quote_word(w)))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    let mut after_text = false;
    for a in args {
        let text = std::mem::replace(&mut after_text, TEXT_VALUES.contains(&a.as_str()));
        if text || a.starts_with("--error=") || a.starts_with("--summary-file=") {
            continue;
        }
        let parts: Vec<&str> = a.split_whitespace().collect();
        if parts.len() > 1 && parts.iter().any(|p| p.starts_with('-')) {
            let words: Vec<String> = args
                .iter()
                .flat_map(|w| {
                    if w == a {
                        w.split_whitespace().map(str::to_string).collect()
                    } else {
                        vec![w.clone()]
                    }
                })
                .collect();
            return Some(format!(
                "helm-fixup: argument {a:?} holds several words, but Helm passes each --post-renderer-args as \
                 one argument. Pass every word on its own:{}",
                forms(&words)
            ));
        }
    }
    for (i, a) in args.iter().enumerate() {
        if a == "--set"
            && let Some(v) = args.get(i + 1)
            && !v.contains('=')
            && v.contains('.')
        {
            let value = args.get(i + 2).cloned().unwrap_or_else(|| "VALUE".into());
            let mut words: Vec<String> = args[..i].to_vec();
            words.push("--set".into());
            words.push(format!("{v}={value}"));
            words.extend(args.iter().skip(i + 3).cloned());
            return Some(format!(
                "helm-fixup: --set takes PROFILE.PARAM=VALUE as one word: --set {v}={value}.{}",
                forms(&words)
            ));
        }
    }
    if let Some(first) = args.first().filter(|a| is_profile_name(a)) {
        let mut words = vec!["-p".to_string(), first.clone()];
        words.extend(
            args[1..]
                .iter()
                .skip_while(|w| w.as_str() == "-p" || w.as_str() == "--profile")
                .cloned(),
        );
        return Some(format!(
            "helm-fixup: {first} is a profile: choose it with -p {first}.{}",
            forms(&words)
        ));
    }
    None
}

#[cfg(test)]
mod mistakes {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        std::iter::once("helm-fixup")
            .chain(words.iter().copied())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn several_words_in_one_argument_show_each_word_on_its_own() {
        let m = argv_mistake(&argv(&["-p", "local-pv", "--set local-pv.node=w1"])).unwrap();
        assert!(
            m.contains("Helm 4: --post-renderer-args=-p --post-renderer-args=local-pv --post-renderer-args=--set --post-renderer-args=local-pv.node=w1")
                && m.contains("Helm 3: --post-renderer-args -p --post-renderer-args local-pv --post-renderer-args --set"),
            "{m}"
        );
        assert!(argv_mistake(&argv(&["-p local-pv --set local-pv.node=w1"])).is_some());
        // Free text after --error is text, not arguments.
        assert!(
            argv_mistake(&argv(&[
                "diagnose",
                "--error",
                "open /x: permission denied -- see"
            ]))
            .is_none()
        );
        assert!(argv_mistake(&argv(&["-p", "local-pv", "--set", "local-pv.node=w1"])).is_none());
    }

    #[test]
    fn set_with_a_space_before_the_value_is_shown_joined() {
        let m = argv_mistake(&argv(&[
            "-p",
            "shared-uid",
            "--set",
            "shared-uid.uid",
            "1000",
        ]))
        .unwrap();
        assert!(m.contains("--set shared-uid.uid=1000."), "{m}");
        assert!(
            m.contains("--post-renderer-args=shared-uid.uid=1000"),
            "{m}"
        );
    }

    #[test]
    fn profile_named_without_dash_p_is_shown_with_it() {
        let m = argv_mistake(&argv(&["root-run", "-p"])).unwrap();
        assert!(m.contains("choose it with -p root-run"), "{m}");
        assert!(
            m.contains("Helm 4: --post-renderer-args=-p --post-renderer-args=root-run\n"),
            "{m}"
        );
        assert!(argv_mistake(&argv(&["explain", "root-run"])).is_none());
    }
}
