//! Exit codes: what scripts and Helm see.

use crate::engine::Error;

/// The process exit codes of the README's table (1 is for internal errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// Success, whether anything changed or not.
    Success = 0,
    /// A bug in helm-fixup (a fixed document did not read back as intended).
    Internal = 1,
    /// Bad input: the stream is not valid YAML or not Kubernetes objects.
    BadInput = 2,
    /// Bad usage: unknown profile, parameter, selector or config key, or a conflict.
    BadUsage = 3,
    /// `diagnose` recognised a failure (so a script can gate on it).
    Found = 4,
}

impl From<&Error> for ExitCode {
    fn from(e: &Error) -> ExitCode {
        match e {
            Error::Input { .. } => ExitCode::BadInput,
            Error::Usage(_) => ExitCode::BadUsage,
            Error::Internal(_) => ExitCode::Internal,
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> Self {
        std::process::ExitCode::from(c as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_contract() {
        let input = Error::Input {
            doc: 1,
            line: 1,
            column: 1,
            reason: String::new(),
        };
        assert_eq!(ExitCode::from(&input) as u8, 2);
        assert_eq!(ExitCode::from(&Error::Usage(String::new())) as u8, 3);
        assert_eq!(ExitCode::Success as u8, 0);
    }
}
