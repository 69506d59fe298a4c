//! The crate's one error type.

use doorstep_domain::jcs::JcsError;

/// Why a record could not be built or read, or a bundle written or opened.
///
/// Problems found *inside* a readable bundle (a changed record, a bad
/// signature) are not errors: [`verify_bundle`](crate::bundle::verify_bundle)
/// lists them in its report. An error means the input could not be examined
/// at all, or (for the writing side) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// The record's fields are not a JSON object.
    #[error("a record's fields must be a JSON object")]
    NotAnObject,
    /// The fields already contain a member that the record format sets.
    #[error("the field {0:?} is set by the record format and must not be given")]
    ReservedField(String),
    /// The record kind is empty or not of lowercase letters, digits and `_`.
    #[error("bad record kind {0:?}: use lowercase letters, digits and _")]
    BadKind(String),
    /// The bytes are not valid (I-JSON) JSON.
    #[error("the record is not valid JSON: {0}")]
    NotJson(#[from] JcsError),
    /// The bytes are valid JSON but not in RFC 8785 canonical form.
    #[error(
        "the record is valid JSON but not RFC 8785 canonical (its bytes would change if re-canonicalized)"
    )]
    NotCanonical,
    /// Canonical JSON, but not a record (`v` and `kind` missing or wrong).
    #[error("not an evidence record: {0}")]
    NotARecord(&'static str),
    /// The input of [`write_bundle`](crate::bundle::write_bundle) is refused.
    #[error("cannot write the bundle: {0}")]
    BadInput(String),
    /// The ZIP archive could not be read or written.
    #[error("ZIP: {0}")]
    Zip(String),
    /// The bundle is readable as a ZIP but its structure is broken beyond
    /// checking record by record (no or unreadable manifest, unknown format).
    #[error("not a Doorstep evidence bundle: {0}")]
    BadBundle(String),
    /// A verifier key given by the caller cannot be parsed.
    #[error("bad verifier key {key:?}: {reason}")]
    BadKey {
        /// The key as given.
        key: String,
        /// Why it was refused.
        reason: String,
    },
}
