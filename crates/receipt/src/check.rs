//! Whether a receipt PDF shows exactly what its embedded note signs.
//!
//! The signature covers the note, not the page: a PDF whose page was
//! edited, or whose pages belong to another receipt, still carries a note
//! that verifies. Rendering is deterministic, so [`check_pages`] renders the
//! note again (in the layout the file's page size names, with each set of
//! extras the caller says the receipt may have been printed with) and
//! compares the bytes exactly. Anything else is not what was signed; the
//! outcome says why as well as can be told from the file.

use crate::ReceiptError;
use crate::content::ReceiptContent;
use crate::pdf::{Extras, Layout, render};

/// How a PDF compares with the renders of its own note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageCheck {
    /// Byte for byte the render of `candidates[index]` in `layout`.
    Same {
        /// Which of the caller's extras it was printed with.
        index: usize,
        /// The paper size.
        layout: Layout,
    },
    /// The file's title names another receipt number: another receipt's
    /// pages with this note inside.
    OtherReceipt(i64),
    /// Not laid out as this program writes its PDFs (an incremental update,
    /// another producer, compressed object streams …): another program saved
    /// it, so its pages cannot be compared with the signature.
    Resaved,
    /// Written as this program writes, but the pages differ from what was
    /// signed.
    Altered,
}

/// Compares `pdf` with the renders of `content` under each of `candidates`
/// (whose `signed_note` must be the note of `content`).
pub fn check_pages(
    pdf: &[u8],
    content: &ReceiptContent,
    candidates: &[Extras],
) -> Result<PageCheck, ReceiptError> {
    let layout = layout_of(pdf).unwrap_or(Layout::A4);
    let mut reference = None;
    for (index, extras) in candidates.iter().enumerate() {
        let ours = render(content, extras, layout)?;
        if ours == pdf {
            return Ok(PageCheck::Same { index, layout });
        }
        reference.get_or_insert(ours);
    }
    if let Some(n) = titled_numbers(pdf)
        .into_iter()
        .find(|n| *n != content.number)
    {
        return Ok(PageCheck::OtherReceipt(n));
    }
    match reference {
        Some(ours) if !same_writer(pdf, &ours) => Ok(PageCheck::Resaved),
        _ => Ok(PageCheck::Altered),
    }
}

/// The layout whose page width the file's first `/MediaBox` has.
pub fn layout_of(pdf: &[u8]) -> Option<Layout> {
    let at = find(pdf, b"/MediaBox[0 0 ")? + b"/MediaBox[0 0 ".len();
    let w: f32 = std::str::from_utf8(&pdf[at..(at + 12).min(pdf.len())])
        .ok()?
        .split(' ')
        .next()?
        .parse()
        .ok()?;
    [
        (Layout::A4, 595.28),
        (Layout::A5, 419.53),
        (Layout::Thermal80, 226.77),
    ]
    .into_iter()
    .find(|(_, lw)| (w - lw).abs() < 0.01)
    .map(|(l, _)| l)
}

/// The receipt numbers the file's title says it is (`收款收据 00000123` in
/// the XMP metadata and, UTF-16 in hex, in the document information).
fn titled_numbers(pdf: &[u8]) -> Vec<i64> {
    let mut texts = vec![String::from_utf8_lossy(pdf).into_owned()];
    let mut from = 0;
    while let Some(i) = find(&pdf[from..], b"/Title<") {
        let start = from + i + b"/Title<".len();
        let end = pdf[start..]
            .iter()
            .position(|c| *c == b'>')
            .map_or(pdf.len(), |e| start + e);
        from = end;
        texts.push(utf16_hex(&pdf[start..end]));
    }
    let mut out = Vec::new();
    for t in &texts {
        for (i, _) in t.match_indices("收款收据 ") {
            let digits: String = t[i + "收款收据 ".len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .take(19)
                .collect();
            if let Ok(n) = digits.parse() {
                out.push(n);
            }
        }
    }
    out
}

/// `FEFF…` hex (UTF-16BE with a byte-order mark) as text; lossy.
fn utf16_hex(hex: &[u8]) -> String {
    let nibbles: Vec<u8> = hex
        .iter()
        .filter_map(|c| (*c as char).to_digit(16).map(|d| d as u8))
        .collect();
    let units: Vec<u16> = nibbles
        .chunks_exact(4)
        .map(|q| q.iter().fold(0u16, |a, n| (a << 4) | u16::from(*n)))
        .collect();
    String::from_utf16_lossy(units.strip_prefix(&[0xFEFF]).unwrap_or(&units))
}

/// Whether `pdf` has the shape of what this program writes (`ours`): the
/// same header, one `%%EOF` at the end, and the same markers of a writer
/// (a producer, modification date, incremental updates, object or
/// cross-reference streams) present or absent.
fn same_writer(pdf: &[u8], ours: &[u8]) -> bool {
    let header = |b: &[u8]| b.iter().take(15).copied().collect::<Vec<u8>>();
    let eofs = |b: &[u8]| b.windows(5).filter(|w| w == b"%%EOF").count();
    let markers: [&[u8]; 7] = [
        b"/Producer",
        b"/ModDate",
        b"/Prev",
        b"/ObjStm",
        b"/XRefStm",
        b"/Type/XRef",
        b"/Creator(Doorstep)",
    ];
    header(pdf) == header(ours)
        && eofs(pdf) == 1
        && pdf.trim_ascii_end().ends_with(b"%%EOF")
        && markers
            .iter()
            .all(|m| find(pdf, m).is_some() == find(ours, m).is_some())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_name_numbers() {
        assert_eq!(utf16_hex(b"FEFF0041 0042"), "AB");
        let pdf = "%PDF-1.7\n<</Title<FEFF65366B3E6536636E002000300030003000300030003100320034>>> 收款收据 00000125";
        assert_eq!(titled_numbers(pdf.as_bytes()), vec![125, 124]);
        assert_eq!(
            layout_of(b"<</MediaBox[0 0 419.53 595.28]"),
            Some(Layout::A5)
        );
        assert_eq!(layout_of(b"<</MediaBox[0 0 612 792]"), None);
    }
}
