//! E-receipts (电子收据): what a receipt says ([`ReceiptContent`]), the
//! signed note that makes it verifiable ([`ReceiptContent::sign`],
//! [`open`]), and its PDF in three layouts ([`render`]) with the note
//! embedded ([`extract_note`]); the short verification code printed on
//! it ([`verification_code`]); and whether a PDF shows exactly what its
//! note signs ([`check_pages`]).
//!
//! Pure: no database, no network, no files at run time. The one font is
//! compiled in (`assets/fonts/`).
#![warn(missing_docs)]

mod check;
mod code;
mod content;
mod draw;
mod error;
mod extract;
mod font;
mod layout;
pub mod notice;
mod pdf;
mod seal;
mod sheet;
mod slip;
#[cfg(feature = "tamper")]
pub mod tamper;

pub use check::{PageCheck, check_pages, layout_of};
pub use code::{code_matches, normalize_code, verification_code};
pub use content::{
    ContentLine, FORMAT_VERSION, NOTE_HEADER, Opened, ReceiptContent, datetime_display,
    method_label, number_display, open, receipt_hash,
};
pub use error::ReceiptError;
pub use notice::{NoticeDoc, render_notices};
pub use pdf::{Extras, Layout, extract_note, render};
