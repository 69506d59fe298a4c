//! The evidence log's record format, dispute bundles and audits.
//!
//! Every visit and payment writes an evidence record — the exact bytes of an
//! RFC 8785 canonical JSON object ([`record`]) — as a leaf of a per-company
//! RFC 6962 Merkle log (`doorstep_merkle`), whose state is signed every few
//! minutes as a C2SP checkpoint. This crate is pure: it works on byte
//! slices, with no database, filesystem or network.
//!
//! - [`record`]: building and reading record bytes; the record kinds.
//! - [`bundle`]: the dispute export, a ZIP a third party can verify offline
//!   ([`write_bundle`], [`verify_bundle`]).
//! - [`mod@audit`]: checking a stored log for tampering ([`audit()`]).
//!
//! See `docs/evidence.md` for the formats and the verification procedure.

#![warn(missing_docs)]

pub mod audit;
pub mod bundle;
pub mod error;
pub mod record;

pub use audit::{Finding, StoredCheckpoint, StoredRecord, audit};
pub use bundle::{
    BundleInput, BundleRecord, BundleReport, FileReport, KeysUsed, RecordReport, verify_bundle,
    write_bundle,
};
pub use error::EvidenceError;
pub use record::{parse_record, record_bytes};
