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

    /// What the stream cannot show about the cluster, for `-p auto`:
    /// storage=hostpath|nfs|local|dynamic, platform=openshift, arch=loong64. Repeatable.
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
        /// platform=openshift, arch=loong64. Repeatable.
        #[arg(long = "assume", value_name = "KEY=VALUE")]
        assume: Vec<String>,
        /// A profile parameter the foresight should use, e.g. --set exec-probes.operatorVersion=0.70.0.
        #[arg(long = "set", value_name = "PROFILE.PARAM=VALUE")]
        set: Vec<String>,
    },
}
