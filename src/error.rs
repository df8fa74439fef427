//! The usage error: what the user asked for cannot be done as asked (exit 3). A bad input
//! stream is the engine's `Error::Input` (exit 2), with its position.

/// A bad profile, parameter, selector, option or config file, or a conflict the user must
/// resolve. The message says what is wrong and what to pass instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    /// The message, for callers that test or prefix it.
    pub fn message(&self) -> &str {
        &self.0
    }

    /// The same error with `context: ` before its message.
    pub fn context(self, context: impl std::fmt::Display) -> UsageError {
        UsageError(format!("{context}: {}", self.0))
    }
}

impl From<String> for UsageError {
    fn from(s: String) -> UsageError {
        UsageError(s)
    }
}

impl From<&str> for UsageError {
    fn from(s: &str) -> UsageError {
        UsageError(s.to_string())
    }
}
