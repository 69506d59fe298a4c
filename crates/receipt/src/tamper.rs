//! Forgeries of receipt PDFs, for tests of verification only (feature
//! `tamper`): each takes what [`crate::render`] writes and returns a PDF that
//! viewers still open (objects, lengths and cross-reference table are kept
//! consistent) with the embedded note left exactly as it was.
//!
//! - [`alter_text_run`]: one text run of page 1 shows different text;
//! - [`splice_note`]: one receipt's pages carrying another's note;
//! - [`resave`]: what a viewer's "save" does, an incremental update that
//!   adds `/Producer`.
//!
//! They read krilla's plain layout (a classic `xref` table, one object per
//! entry) and panic on anything else: they are test fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use std::collections::BTreeMap;
use std::io::{Read, Write};

/// A PDF taken apart at its cross-reference table.
struct Doc {
    header: Vec<u8>,
    /// Object number → the whole `N 0 obj … endobj` text.
    objs: BTreeMap<u32, Vec<u8>>,
    /// The trailer dictionary, `<< … >>`.
    trailer: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

impl Doc {
    fn parse(pdf: &[u8]) -> Doc {
        let xref = rfind(pdf, b"\nxref\n").expect("a classic xref table") + 1;
        let trailer_at = xref + find(&pdf[xref..], b"trailer").expect("a trailer");
        let table = std::str::from_utf8(&pdf[xref..trailer_at]).unwrap();
        let mut lines = table.lines().skip(1);
        let first: u32 = lines
            .next()
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let mut offsets: Vec<(u32, usize)> = Vec::new();
        for (i, l) in lines.enumerate() {
            let l = l.trim_end();
            if l.ends_with('n') {
                let off = l[..10].parse().unwrap();
                offsets.push((first + i as u32, off));
            }
        }
        offsets.sort_by_key(|&(_, off)| off);
        let mut objs = BTreeMap::new();
        for (k, &(num, off)) in offsets.iter().enumerate() {
            let end = offsets.get(k + 1).map_or(xref, |&(_, o)| o);
            objs.insert(num, pdf[off..end].to_vec());
        }
        let header = pdf[..offsets[0].1].to_vec();
        let t = &pdf[trailer_at + b"trailer".len()..];
        let trailer = t[..find(t, b"startxref").unwrap()].trim_ascii().to_vec();
        Doc {
            header,
            objs,
            trailer,
        }
    }

    fn write(&self) -> Vec<u8> {
        let mut out = self.header.clone();
        let mut offsets = BTreeMap::new();
        for (num, body) in &self.objs {
            offsets.insert(*num, out.len());
            out.extend_from_slice(body);
        }
        let size = self.objs.keys().max().map_or(1, |m| m + 1);
        let xref = out.len();
        out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f\r\n").as_bytes());
        for n in 1..size {
            match offsets.get(&n) {
                Some(off) => out.extend_from_slice(format!("{off:010} 00000 n\r\n").as_bytes()),
                None => out.extend_from_slice(b"0000000000 65535 f\r\n"),
            }
        }
        out.extend_from_slice(b"trailer\n");
        out.extend_from_slice(&self.trailer);
        out.extend_from_slice(format!("\nstartxref\n{xref}\n%%EOF").as_bytes());
        out
    }

    /// The number of the first object whose dictionary contains `marker`.
    fn object_with(&self, marker: &[u8]) -> u32 {
        *self
            .objs
            .iter()
            .find(|(_, b)| find(&b[..b.len().min(400)], marker).is_some())
            .expect("an object with the marker")
            .0
    }
}

/// `(dictionary, stream data)` of a stream object.
fn stream_parts(obj: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let kw = find(obj, b"stream\n").unwrap();
    let dict = obj[..kw].to_vec();
    let len_at = find(&dict, b"/Length ").unwrap() + 8;
    let digits = dict[len_at..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    let len: usize = std::str::from_utf8(&dict[len_at..len_at + digits])
        .unwrap()
        .parse()
        .unwrap();
    let data = obj[kw + 7..kw + 7 + len].to_vec();
    (dict, data)
}

/// A stream object with new data (and its `/Length` to match).
fn with_stream(obj: &[u8], data: &[u8]) -> Vec<u8> {
    let (dict, _) = stream_parts(obj);
    let len_at = find(&dict, b"/Length ").unwrap() + 8;
    let digits = dict[len_at..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    let mut out = dict[..len_at].to_vec();
    out.extend_from_slice(data.len().to_string().as_bytes());
    out.extend_from_slice(&dict[len_at + digits..]);
    out.extend_from_slice(b"stream\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    out
}

/// Page 1 with one text run changed: the first run of at least two
/// different glyphs shows its last two swapped (e.g. the company name's
/// last two characters).
pub fn alter_text_run(pdf: &[u8]) -> Vec<u8> {
    let mut doc = Doc::parse(pdf);
    let page = doc.object_with(b"/Type/Page/");
    let page_obj = &doc.objs[&page];
    let at = find(page_obj, b"/Contents ").unwrap() + 10;
    let digits = page_obj[at..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    let num: u32 = std::str::from_utf8(&page_obj[at..at + digits])
        .unwrap()
        .parse()
        .unwrap();
    let obj = doc.objs[&num].clone();
    let (_, data) = stream_parts(&obj);
    let mut content = Vec::new();
    flate2::read::ZlibDecoder::new(&data[..])
        .read_to_end(&mut content)
        .unwrap();
    let changed = swap_in_first_run(&content).expect("a text run to change");
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&changed).unwrap();
    doc.objs
        .insert(num, with_stream(&obj, &z.finish().unwrap()));
    doc.write()
}

/// The content with the first `[(…)]TJ` string of ≥ 2 distinct two-byte
/// glyphs changed: its last two glyphs swapped.
fn swap_in_first_run(content: &[u8]) -> Option<Vec<u8>> {
    let mut from = 0;
    while let Some(i) = find(&content[from..], b"[(") {
        let start = from + i + 2;
        let (glyphs, end) = literal(&content[start..]);
        let end = start + end;
        from = end;
        let n = glyphs.len() / 2;
        if n < 2 || glyphs[2 * (n - 2)..2 * (n - 1)] == glyphs[2 * (n - 1)..] {
            continue;
        }
        let mut g = glyphs.clone();
        g.swap(2 * (n - 2), 2 * (n - 1));
        g.swap(2 * (n - 2) + 1, 2 * (n - 1) + 1);
        let mut out = content[..start].to_vec();
        for b in g {
            out.extend_from_slice(format!("\\{b:03o}").as_bytes());
        }
        out.extend_from_slice(&content[end..]);
        return Some(out);
    }
    None
}

/// A PDF literal string's bytes up to its closing `)`, and where that is.
fn literal(s: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() && s[i] != b')' {
        if s[i] != b'\\' {
            out.push(s[i]);
            i += 1;
            continue;
        }
        i += 1;
        let digits = s[i..]
            .iter()
            .take(3)
            .take_while(|c| (b'0'..=b'7').contains(c))
            .count();
        if digits > 0 {
            let v = s[i..i + digits]
                .iter()
                .fold(0u32, |a, c| a * 8 + u32::from(c - b'0'));
            out.push(v as u8);
            i += digits;
            continue;
        }
        out.push(match s[i] {
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'b' => 8,
            b'f' => 12,
            c => c,
        });
        i += 1;
    }
    (out, i)
}

/// The pages (and metadata) of `pages` with the embedded note of
/// `note_from`, so the file shows one receipt and carries another's note.
pub fn splice_note(pages: &[u8], note_from: &[u8]) -> Vec<u8> {
    let mut doc = Doc::parse(pages);
    let donor = Doc::parse(note_from);
    let here = doc.object_with(b"/Type/EmbeddedFile");
    let there = donor.object_with(b"/Type/EmbeddedFile");
    let obj = &donor.objs[&there];
    let body = &obj[find(obj, b" 0 obj").unwrap()..];
    let mut renumbered = here.to_string().into_bytes();
    renumbered.extend_from_slice(body);
    doc.objs.insert(here, renumbered);
    doc.write()
}

/// An incremental update as a PDF viewer writes on "save": a new document
/// information dictionary with `/Producer` appended after the original
/// bytes, which stay untouched.
pub fn resave(pdf: &[u8]) -> Vec<u8> {
    let doc = Doc::parse(pdf);
    let info_at = find(&doc.trailer, b"/Info ").unwrap() + 6;
    let info: u32 = std::str::from_utf8(&doc.trailer[info_at..])
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let old = &doc.objs[&info];
    let dict_end = rfind(old, b">>").unwrap();
    let dict_start = find(old, b"<<").unwrap();
    let new_num = doc.objs.keys().max().unwrap() + 1;
    let prev = {
        let s = rfind(pdf, b"startxref").unwrap() + 9;
        std::str::from_utf8(&pdf[s..])
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let mut out = pdf.to_vec();
    out.push(b'\n');
    let obj_at = out.len();
    out.extend_from_slice(format!("{new_num} 0 obj\n").as_bytes());
    out.extend_from_slice(&old[dict_start..dict_end]);
    out.extend_from_slice(
        b"/Producer(Adobe PDF Library 17.0)/ModDate(D:20261201093000+08'00')>>\nendobj\n",
    );
    let xref = out.len();
    let trailer = String::from_utf8_lossy(&doc.trailer)
        .replace(
            &format!("/Info {info} 0 R"),
            &format!("/Info {new_num} 0 R"),
        )
        .replacen("<<", &format!("<</Prev {prev}"), 1)
        .replace(
            &format!("/Size {new_num}"),
            &format!("/Size {}", new_num + 1),
        );
    out.extend_from_slice(
        format!(
            "xref\n0 1\n0000000000 65535 f\r\n{new_num} 1\n{obj_at:010} 00000 n\r\ntrailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    out
}
