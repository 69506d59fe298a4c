//! The one error type of the domain: every variant names the field at fault.

/// Bad input detected by domain parsing or validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A field's value is malformed or out of range.
    #[error("{field}: {message}")]
    Invalid {
        /// The field (or column) that is wrong.
        field: &'static str,
        /// What is wrong with it, in plain words.
        message: String,
    },
}

impl DomainError {
    /// Builds an `Invalid` error for `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        DomainError::Invalid {
            field,
            message: message.into(),
        }
    }

    /// The field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            DomainError::Invalid { field, .. } => field,
        }
    }
}
