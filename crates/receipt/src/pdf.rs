//! The receipt as a PDF, made with krilla, and the signed note inside it.
//!
//! # The embedded note
//!
//! Every PDF from [`render`] carries the signed note as an embedded file
//! (a PDF attachment, shown by viewers in their attachments panel) named
//! `receipt.note`, MIME type `text/plain`, Flate-compressed. Anyone can save
//! the attachment and check it offline against the published key; the
//! printed receipt is made from the same content, which [`render`] checks.
//!
//! [`extract_note`] gets it back without a general PDF parser: it looks for
//! an embedded-file stream dictionary (`/Type /EmbeddedFile`), reads its
//! direct `/Length` and optional `/Filter /FlateDecode`, takes that many
//! bytes after the `stream` keyword (which must be followed by
//! `endstream`), inflates them (at most 4 MiB), and accepts the result only
//! if it is UTF-8 that starts with `doorstep-receipt/v1` and matches
//! `/Params /Size`; candidates that fail are skipped. The note's own bytes
//! never appear uncompressed in the file, page content is compressed, and
//! the metadata holds only the receipt number, so no name on a receipt can
//! imitate the dictionary. Truncated files fail with a clear error because
//! the stream or its `endstream` is missing. The check of the signature is
//! [`crate::open`]'s job, not extraction's.
//!
//! # Determinism
//!
//! No creation date is written (nor a modification date on the
//! attachment) and the document ID is the receipt hash, so the same input
//! gives the same bytes.

use krilla::Document;
use krilla::SerializeSettings;
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;

use crate::content::{NOTE_HEADER, ReceiptContent, number_display, receipt_hash};
use crate::font::Face;
use crate::layout::PageOps;
use crate::{ReceiptError, draw, sheet, slip};

pub use crate::extract::extract_note;

/// Paper size and arrangement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// A4 portrait (210 × 297 mm).
    A4,
    /// A5 portrait (148 × 210 mm).
    A5,
    /// An 80 mm thermal-printer slip (72 mm printable), as long as needed.
    Thermal80,
}

/// What goes on the receipt besides its content.
#[derive(Debug, Clone, Copy)]
pub struct Extras<'a> {
    /// Encoded in the QR code (no QR code when empty).
    pub verify_url: &'a str,
    /// The evidence log leaf index, printed as `存证记录 #<n>` when known.
    pub evidence_index: Option<u64>,
    /// `(reason, time)` of a voided receipt: a large red diagonal
    /// `作废 VOID` and the reason are drawn.
    pub void: Option<(&'a str, &'a str)>,
    /// The signed note of this content, embedded for offline verification.
    pub signed_note: &'a str,
    /// The signing key's name, printed small.
    pub key_name: &'a str,
}

/// The receipt as PDF bytes.
///
/// `extras.signed_note` must be the signed note of `content` (its text must
/// be `content.note_text()`): the PDF shows and carries the same receipt.
pub fn render(
    content: &ReceiptContent,
    extras: &Extras,
    layout: Layout,
) -> Result<Vec<u8>, ReceiptError> {
    let text = content.note_text()?;
    if !extras
        .signed_note
        .strip_prefix(text.as_str())
        .is_some_and(|sigs| sigs.starts_with("\n\u{2014} "))
    {
        return Err(ReceiptError::Render(
            "the signed note is not a signed note of this content".into(),
        ));
    }
    let face = Face::get()?;
    let pages = match layout {
        Layout::A4 => sheet::layout(face, content, extras, &sheet::A4)?,
        Layout::A5 => sheet::layout(face, content, extras, &sheet::A5)?,
        Layout::Thermal80 => slip::layout(face, content, extras)?,
    };
    write(face, content, extras, &text, &pages)
}

fn write(
    face: &Face,
    content: &ReceiptContent,
    extras: &Extras,
    note_text: &str,
    pages: &[PageOps],
) -> Result<Vec<u8>, ReceiptError> {
    let settings = SerializeSettings {
        enable_tagging: false,
        ..SerializeSettings::default()
    };
    let mut doc = Document::new_with(settings);
    for p in pages {
        let size = PageSettings::from_wh(p.width, p.height).ok_or_else(|| {
            ReceiptError::Render(format!("bad page size {} × {}", p.width, p.height))
        })?;
        let mut page = doc.start_page_with(size);
        let mut surface = page.surface();
        draw::page(&mut surface, face, &p.ops);
        surface.finish();
        page.finish();
    }
    let hash = receipt_hash(note_text);
    doc.set_metadata(
        Metadata::new()
            .title(format!("收款收据 {}", number_display(content.number)))
            .creator("Doorstep".into())
            .language("zh-CN".into())
            .document_id(hex(&hash)),
    );
    doc.embed_file(EmbeddedFile {
        path: NOTE_FILE.into(),
        mime_type: MimeType::new("text/plain"),
        description: Some("Doorstep signed receipt note (C2SP signed-note)".into()),
        association_kind: AssociationKind::Source,
        data: extras.signed_note.as_bytes().to_vec().into(),
        modification_date: None,
        compress: Some(true),
        location: None,
    })
    .ok_or_else(|| ReceiptError::Render("cannot embed the signed note".into()))?;
    doc.finish()
        .map_err(|e| ReceiptError::Render(format!("krilla: {e:?}")))
}

/// The attachment's file name.
pub(crate) const NOTE_FILE: &str = "receipt.note";

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The first 16 hex digits of the receipt hash of a signed note, in groups
/// of four, for printing; `None` when there is no note text.
pub(crate) fn fingerprint(signed_note: &str) -> Option<String> {
    let split = signed_note.rfind("\n\n")?;
    let text = &signed_note[..split + 1];
    if !text.starts_with(NOTE_HEADER) {
        return None;
    }
    let h = hex(&receipt_hash(text));
    Some(
        h.as_bytes()
            .chunks(4)
            .take(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ContentLine;
    use crate::layout::{Op, extent};
    use doorstep_merkle::note::Signer;

    fn nasty(lines: usize) -> ReceiptContent {
        let long = "超长名称".repeat(30);
        ReceiptContent {
            v: 1,
            company_id: 1,
            company: format!("北京市朝阳区{long}物业服务有限责任公司"),
            company_code: "91110105MA0000000X".repeat(3),
            estate: long.clone(),
            number: i64::MAX,
            issued_at: "sometime, not RFC 3339 at all, and rather long too".repeat(3),
            payer: format!("Wolfeschlegelsteinhausenbergerdorff {long}"),
            object: (1..40)
                .map(|i| format!("{i}栋2单元{i:02}01"))
                .collect::<Vec<_>>()
                .join("、"),
            lines: (0..lines)
                .map(|i| ContentLine {
                    item: format!("{long}{i}"),
                    period: "2026-01 ~ 2026-12".repeat(4),
                    basis: format!("12345.67元/m² × 98765.43m² × {long}"),
                    amount_fen: i64::MAX / 4,
                    late_fee_fen: -1_234_567_890_123,
                    waived_fen: 9_999_999_999_999,
                    paid_fen: i64::MAX / 3,
                })
                .collect(),
            total_fen: i64::MAX,
            method: "a_very_long_unknown_payment_method_code_".repeat(4),
            transaction_id: Some("4200002345202611271234567890".repeat(5)),
            collector: long.clone(),
            payment_id: i64::MIN,
        }
    }

    fn check_bounds(c: &ReceiptContent, layout: Layout) -> usize {
        let face = Face::get().unwrap();
        let s = Signer::from_seed("k", &[1; 32]).unwrap();
        let note = c.sign(&s).unwrap();
        let url = "https://doorstep.example/verify/".repeat(10);
        let reason = "重复收款，".repeat(100);
        let ex = Extras {
            verify_url: &url,
            evidence_index: Some(u64::MAX),
            void: Some((&reason, "2026-11-28 09:10")),
            signed_note: &note,
            key_name: "a.very.long.key.name.example.com/receipts/2026",
        };
        let pages = match layout {
            Layout::A4 => sheet::layout(face, c, &ex, &sheet::A4).unwrap(),
            Layout::A5 => sheet::layout(face, c, &ex, &sheet::A5).unwrap(),
            Layout::Thermal80 => slip::layout(face, c, &ex).unwrap(),
        };
        for (n, p) in pages.iter().enumerate() {
            assert!(p.height <= 14_400.0);
            for op in &p.ops {
                if matches!(op, Op::Void { .. }) {
                    continue;
                }
                let (l, t, r, b) = extent(face, op);
                assert!(
                    l >= 0.0 && t >= 0.0 && r <= p.width + 0.01 && b <= p.height + 0.01,
                    "{layout:?} page {n}: {op:?} leaves the {}×{} page",
                    p.width,
                    p.height
                );
                // Text stays inside the margins too.
                if let Op::Text { .. } = op {
                    assert!(l >= 8.0 && r <= p.width - 8.0, "{layout:?}: {op:?}");
                }
            }
        }
        let pdf = render(c, &ex, layout).unwrap();
        assert_eq!(extract_note(&pdf).unwrap(), note);
        if let Ok(dir) = std::env::var("DOORSTEP_RECEIPT_DUMP") {
            let name = format!("{dir}/nasty-{layout:?}-{}.pdf", c.lines.len());
            std::fs::write(name, &pdf).unwrap();
        }
        pages.len()
    }

    #[test]
    fn nothing_leaves_the_page() {
        for layout in [Layout::A4, Layout::A5, Layout::Thermal80] {
            for n in [0, 1, 7, 40] {
                check_bounds(&nasty(n), layout);
            }
        }
        // Hundreds of lines: many sheets; the slip splits into pages.
        assert!(check_bounds(&nasty(150), Layout::A4) > 5);
        assert!(check_bounds(&nasty(400), Layout::Thermal80) > 1);
    }
}
