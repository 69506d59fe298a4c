//! The crate's one error type.

use doorstep_merkle::NoteError;

/// Why a receipt could not be signed, opened, rendered or extracted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The content cannot be put into a note (e.g. a control character that
    /// JSON leaves unescaped, such as U+007F, in a name).
    #[error("the receipt content cannot be signed: {0}")]
    Unsignable(String),
    /// The signed text does not start with `doorstep-receipt/v1`.
    #[error("not a Doorstep receipt: the signed text does not start with \"doorstep-receipt/v1\"")]
    NotAReceipt,
    /// The note's text or signature lines are not well formed.
    #[error("malformed receipt note: {0}")]
    MalformedNote(String),
    /// The signed JSON does not describe a receipt (or is not in the one
    /// canonical form the signer writes).
    #[error("malformed receipt content: {0}")]
    MalformedJson(String),
    /// A later format than this code knows.
    #[error("unsupported receipt format version {0} (this program reads version 1)")]
    UnsupportedVersion(u32),
    /// No signature by any of the keys the caller trusts.
    #[error("the receipt is not signed by a known key")]
    UnknownKey,
    /// A signature by a trusted key does not match the text: the receipt
    /// was changed after it was signed.
    #[error("invalid signature by key {0}: the receipt was altered after signing")]
    BadSignature(String),
    /// Building the PDF failed.
    #[error("cannot render the receipt PDF: {0}")]
    Render(String),
    /// The bytes are not a receipt PDF made by this crate, or are truncated.
    #[error("no receipt note found in the PDF: {0}")]
    NoNoteInPdf(&'static str),
}

impl From<NoteError> for ReceiptError {
    fn from(e: NoteError) -> Self {
        match e {
            NoteError::BadSignature(key) => ReceiptError::BadSignature(key),
            NoteError::Unverified => ReceiptError::UnknownKey,
            NoteError::Malformed(m) => ReceiptError::MalformedNote(m.to_string()),
            other => ReceiptError::MalformedNote(other.to_string()),
        }
    }
}
