//! E-receipts (电子收据): what a receipt says ([`ReceiptContent`]), the
//! signed note that makes it verifiable ([`ReceiptContent::sign`],
//! [`open`]), and its PDF in three layouts ([`render`]) with the note
//! embedded ([`extract_note`]).
//!
//! Pure: no database, no network, no files at run time. The one font is
//! compiled in (`assets/fonts/`).
#![warn(missing_docs)]

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

pub use content::{
    ContentLine, FORMAT_VERSION, NOTE_HEADER, Opened, ReceiptContent, datetime_display,
    method_label, number_display, open, receipt_hash, yuan_grouped,
};
pub use error::ReceiptError;
pub use notice::{NoticeDoc, render_notices};
pub use pdf::{Extras, Layout, extract_note, render};
