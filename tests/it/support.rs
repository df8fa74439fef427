//! Running the built binary: one builder for every test that starts `helm-fixup`.
//!
//! ```ignore
//! let o = Run::new().args(["-p", "root-run"]).env("K", "V").stdin(bytes).run();
//! assert_eq!(o.code, Some(0), "{}", o.stderr);
//! ```
//!
//! The binary starts with a clean environment: `HELM_FIXUP_TTY=0` (the summary stays off the
//! developer's terminal) and only what the test sets, so neither the developer's
//! `HELM_FIXUP_PROFILES` nor a `HOME` with a last-run file leaks in. Stdin is written from a
//! thread of its own: a large input must not dead-lock against a full stdout pipe.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_helm-fixup");

/// What the binary reads on stdin.
enum Input {
    /// Written through a pipe from a thread, which is then closed.
    Bytes(Vec<u8>),
    /// Given as it is (`Stdio::null()`, a file, ...).
    Stdio(Stdio),
}

/// A run of the binary under test, built up fluently and started by [`Run::run`].
pub struct Run {
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    stdin: Input,
    dir: Option<PathBuf>,
    summary_file: Option<PathBuf>,
    close_stdout: bool,
}

/// How a run ended.
#[derive(Debug)]
pub struct Ran {
    pub status: ExitStatus,
    /// The exit code, `None` when a signal ended the process.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// The `--summary-file` the run was given by [`Run::summary_file`], empty when it was not
    /// given or not written.
    pub summary: String,
    /// From the start of the process to its end.
    pub elapsed: Duration,
}

impl Default for Run {
    fn default() -> Self {
        Self::new()
    }
}

impl Run {
    /// No arguments, empty stdin, the clean environment.
    pub fn new() -> Run {
        Run {
            args: Vec::new(),
            env: vec![("HELM_FIXUP_TTY".into(), "0".into())],
            stdin: Input::Bytes(Vec::new()),
            dir: None,
            summary_file: None,
            close_stdout: false,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Run {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Set one variable on top of the clean environment (a later value wins).
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Run {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    pub fn envs<I, K, V>(mut self, vars: I) -> Run
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (k, v) in vars {
            self = self.env(k, v);
        }
        self
    }

    /// These bytes on stdin, written from a thread; the pipe is closed after them.
    pub fn stdin(mut self, input: impl AsRef<[u8]>) -> Run {
        self.stdin = Input::Bytes(input.as_ref().to_vec());
        self
    }

    /// Stdin as given: `Stdio::null()`, an opened file, ...
    pub fn stdin_from(mut self, stdin: impl Into<Stdio>) -> Run {
        self.stdin = Input::Stdio(stdin.into());
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Run {
        self.dir = Some(dir.as_ref().to_owned());
        self
    }

    /// Append `--summary-file PATH` to the arguments and read the file into [`Ran::summary`].
    pub fn summary_file(mut self, path: impl AsRef<Path>) -> Run {
        self.summary_file = Some(path.as_ref().to_owned());
        self
    }

    /// Close the read end of stdout right after the start, as `helm-fixup ... | head` does.
    pub fn close_stdout(mut self) -> Run {
        self.close_stdout = true;
        self
    }

    /// Start the binary, feed stdin, and wait for the end.
    pub fn run(self) -> Ran {
        let mut cmd = Command::new(BIN);
        cmd.args(&self.args);
        if let Some(sum) = &self.summary_file {
            cmd.arg("--summary-file").arg(sum);
        }
        cmd.env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        let input = match self.stdin {
            Input::Bytes(bytes) => {
                cmd.stdin(Stdio::piped());
                Some(bytes)
            }
            Input::Stdio(stdio) => {
                cmd.stdin(stdio);
                None
            }
        };
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        if self.close_stdout {
            drop(child.stdout.take());
        }
        // A usage error exits before reading stdin: a closed pipe is expected, not a failure.
        let writer = input.map(|bytes| {
            let mut stdin = child.stdin.take().expect("stdin is piped");
            std::thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            })
        });
        let o = child.wait_with_output().expect("waiting for helm-fixup");
        let elapsed = start.elapsed();
        if let Some(w) = writer {
            w.join().expect("stdin writer");
        }
        Ran {
            status: o.status,
            code: o.status.code(),
            stdout: o.stdout,
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            summary: self
                .summary_file
                .and_then(|p| std::fs::read_to_string(p).ok())
                .unwrap_or_default(),
            elapsed,
        }
    }
}

impl Ran {
    /// Stdout as text (panics when it is not UTF-8).
    pub fn stdout_text(&self) -> &str {
        std::str::from_utf8(&self.stdout).expect("stdout is UTF-8")
    }
}
