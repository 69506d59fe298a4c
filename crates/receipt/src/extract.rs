//! Finding the embedded `receipt.note` in a receipt PDF (see the module
//! documentation of [`crate::pdf`] for the approach and why it is safe).

use std::io::Read;

use crate::ReceiptError;
use crate::content::NOTE_HEADER;

/// Largest note accepted, inflated (a receipt with hundreds of lines is
/// well under this); stops a crafted stream from inflating without end.
const MAX_NOTE: u64 = 4 << 20;
/// How far before its `/Type /EmbeddedFile` a stream dictionary may start.
const DICT_WINDOW: usize = 1024;

/// The signed note embedded in a PDF made by [`crate::render`], byte for
/// byte.
pub fn extract_note(pdf: &[u8]) -> Result<String, ReceiptError> {
    if !pdf.starts_with(b"%PDF-") {
        return Err(ReceiptError::NoNoteInPdf("not a PDF file"));
    }
    let mut last_err = "the PDF has no embedded receipt.note";
    let mut from = 0;
    while let Some(at) = find(&pdf[from..], b"/EmbeddedFile") {
        let at = from + at;
        from = at + 1;
        if !preceded_by_type(pdf, at) {
            continue;
        }
        match stream_at(pdf, at) {
            Ok(note) => return Ok(note),
            Err(e) => last_err = e,
        }
    }
    Err(ReceiptError::NoNoteInPdf(last_err))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// Whether `/EmbeddedFile` at `at` is the value of `/Type` (and not e.g.
/// the `/EF` key's neighbour or a name that merely starts the same way).
fn preceded_by_type(pdf: &[u8], at: usize) -> bool {
    let before = pdf[..at].trim_ascii_end();
    let next = pdf.get(at + b"/EmbeddedFile".len()).copied();
    before.ends_with(b"/Type") && !next.is_some_and(|c| c.is_ascii_alphanumeric())
}

/// The stream whose dictionary holds `/Type /EmbeddedFile` at `at`.
fn stream_at(pdf: &[u8], at: usize) -> Result<String, &'static str> {
    let lo = at.saturating_sub(DICT_WINDOW);
    let start = rfind(&pdf[lo..at], b"obj")
        .map(|i| lo + i + 3)
        .ok_or("the embedded file's object header is missing")?;
    let kw = find(&pdf[at..], b"stream")
        .map(|i| at + i)
        .ok_or("the embedded file's stream is missing (truncated PDF?)")?;
    let dict = &pdf[start..kw];
    if find(dict, b"endobj").is_some() || kw - at > DICT_WINDOW {
        return Err("the embedded file's stream is missing");
    }
    let len = int_after(dict, b"/Length").ok_or("the embedded file has no direct /Length")?;
    let size = int_after(dict, b"/Size");
    let flate = match name_after(dict, b"/Filter") {
        None => false,
        Some(b"/FlateDecode") => true,
        Some(_) => return Err("the embedded file uses an unsupported filter"),
    };
    // The stream keyword is followed by CRLF or LF, then the data.
    let mut data_start = kw + b"stream".len();
    if pdf.get(data_start) == Some(&b'\r') {
        data_start += 1;
    }
    if pdf.get(data_start) != Some(&b'\n') {
        return Err("malformed stream keyword");
    }
    data_start += 1;
    let data = usize::try_from(len)
        .ok()
        .and_then(|len| pdf.get(data_start..data_start.checked_add(len)?))
        .ok_or("the embedded file is cut short (truncated PDF?)")?;
    let end = pdf[data_start + data.len()..].trim_ascii_start();
    if !end.starts_with(b"endstream") {
        return Err("the embedded file's length is wrong (truncated PDF?)");
    }
    let bytes = if flate {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(data)
            .take(MAX_NOTE + 1)
            .read_to_end(&mut out)
            .map_err(|_| "the embedded file does not inflate")?;
        if out.len() as u64 > MAX_NOTE {
            return Err("the embedded file is too large for a receipt note");
        }
        out
    } else {
        data.to_vec()
    };
    if size.is_some_and(|s| s != bytes.len() as u64) {
        return Err("the embedded file's size does not match /Params /Size");
    }
    let note = String::from_utf8(bytes).map_err(|_| "the embedded file is not UTF-8 text")?;
    if !note.starts_with(NOTE_HEADER) {
        return Err("the embedded file is not a Doorstep receipt note");
    }
    Ok(note)
}

/// The non-negative integer after `key` (followed by a delimiter) in `dict`.
fn int_after(dict: &[u8], key: &[u8]) -> Option<u64> {
    let mut from = 0;
    while let Some(i) = find(&dict[from..], key) {
        let rest = &dict[from + i + key.len()..];
        from += i + 1;
        if rest.first().is_some_and(|c| c.is_ascii_alphanumeric()) {
            continue; // a longer key, e.g. /Length1
        }
        let rest = rest.trim_ascii_start();
        let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        let after = rest[digits..].trim_ascii_start();
        // `12 0 R` is an indirect reference, which krilla does not write.
        if digits == 0 || digits > 18 || after.first().is_some_and(u8::is_ascii_digit) {
            return None;
        }
        return std::str::from_utf8(&rest[..digits]).ok()?.parse().ok();
    }
    None
}

/// The name (`/Xyz`) after `key` in `dict`, also as the only element of
/// an array (`[/Xyz]`).
fn name_after<'a>(dict: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let i = find(dict, key)?;
    let mut rest = dict[i + key.len()..].trim_ascii_start();
    if let Some(r) = rest.strip_prefix(b"[") {
        rest = r.trim_ascii_start();
    }
    let n = rest
        .iter()
        .enumerate()
        .take_while(|&(j, c)| (j == 0 && *c == b'/') || c.is_ascii_alphanumeric())
        .count();
    Some(&rest[..n])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_helpers() {
        let d = b"<< /Length 42 /Length1 7 /Filter [/FlateDecode] /Params << /Size 9 >> >>";
        assert_eq!(int_after(d, b"/Length"), Some(42));
        assert_eq!(int_after(d, b"/Size"), Some(9));
        assert_eq!(name_after(d, b"/Filter"), Some(&b"/FlateDecode"[..]));
        assert_eq!(int_after(b"/Length 12 0 R", b"/Length"), None);
        assert_eq!(int_after(b"/Length1 3", b"/Length"), None);
    }

    #[test]
    fn plain_stream_is_read() {
        let note = "doorstep-receipt/v1\n{}\n\n\u{2014} k abc\n";
        let pdf = format!(
            "%PDF-1.7\n5 0 obj\n<< /Type /EmbeddedFile /Length {} >>\nstream\n{note}\nendstream\nendobj\n",
            note.len()
        );
        assert_eq!(extract_note(pdf.as_bytes()).unwrap(), note);
        let cut = &pdf.as_bytes()[..pdf.len() - 25];
        assert!(extract_note(cut).is_err());
        assert!(extract_note(b"%PDF-1.7\n%%EOF").is_err());
        assert!(extract_note(b"hello").is_err());
    }
}
