//! Rendering: every layout, void and long receipts, the embedded note, and
//! what poppler's pdftotext / pdftoppm see in the result.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::path::Path;
use std::process::Command;

use common::{KEY_NAME, many_lines, sample, signer};
use doorstep_receipt::{Extras, Layout, ReceiptContent, ReceiptError, extract_note, render};

const URL: &str = "https://doorstep.example/r/7/00000123?h=1d5b1e224c44175b";
const LAYOUTS: [Layout; 3] = [Layout::A4, Layout::A5, Layout::Thermal80];

fn pdf_of(c: &ReceiptContent, layout: Layout, void: Option<(&str, &str)>) -> (Vec<u8>, String) {
    let note = c.sign(&signer()).unwrap();
    let extras = Extras {
        verify_url: URL,
        evidence_index: Some(4711),
        void,
        signed_note: &note,
        key_name: KEY_NAME,
    };
    let pdf = render(c, &extras, layout).unwrap();
    // DOORSTEP_RECEIPT_DUMP=/some/dir keeps the PDFs for a look.
    if let Ok(dir) = std::env::var("DOORSTEP_RECEIPT_DUMP") {
        let name = format!(
            "{dir}/receipt-{layout:?}-{}{}.pdf",
            c.lines.len(),
            if void.is_some() { "-void" } else { "" }
        );
        std::fs::write(name, &pdf).unwrap();
    }
    (pdf, note)
}

#[test]
fn all_layouts_render_carry_the_note_and_are_deterministic() {
    for layout in LAYOUTS {
        let (pdf, note) = pdf_of(&sample(), layout, None);
        assert!(pdf.starts_with(b"%PDF-"), "{layout:?}");
        assert_eq!(extract_note(&pdf).unwrap(), note, "{layout:?}");
        assert_eq!(pdf_of(&sample(), layout, None).0, pdf, "{layout:?}");
    }
}

#[test]
fn void_and_long_receipts_carry_the_note() {
    for layout in LAYOUTS {
        let (pdf, note) = pdf_of(&sample(), layout, Some(("重复收款", "2026-11-28 09:10")));
        assert_eq!(extract_note(&pdf).unwrap(), note, "{layout:?}");
        let (pdf, note) = pdf_of(&many_lines(30), layout, None);
        assert_eq!(extract_note(&pdf).unwrap(), note, "{layout:?}");
    }
}

#[test]
fn render_refuses_a_note_of_other_content() {
    let note = sample().sign(&signer()).unwrap();
    let mut other = sample();
    other.total_fen += 1;
    let extras = Extras {
        verify_url: URL,
        evidence_index: None,
        void: None,
        signed_note: &note,
        key_name: KEY_NAME,
    };
    assert!(matches!(
        render(&other, &extras, Layout::A4),
        Err(ReceiptError::Render(_))
    ));
    let unsigned = Extras {
        signed_note: "",
        ..extras
    };
    assert!(render(&sample(), &unsigned, Layout::A4).is_err());
}

#[test]
fn extract_note_refuses_other_and_truncated_pdfs() {
    let (pdf, _) = pdf_of(&sample(), Layout::A4, None);
    let at = pdf.windows(13).position(|w| w == b"/EmbeddedFile").unwrap();
    for cut in [0, 8, at, at + 60, at + 200] {
        let err = extract_note(&pdf[..cut.min(pdf.len())]).unwrap_err();
        assert!(matches!(err, ReceiptError::NoNoteInPdf(_)), "{cut}: {err}");
    }
    // A corrupted byte inside the compressed note.
    let stream = at + pdf[at..].windows(7).position(|w| w == b"stream\n").unwrap() + 7;
    let mut bad = pdf.clone();
    bad[stream + 20] ^= 0x55;
    assert!(extract_note(&bad).is_err());
    let minimal =
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
    let err = extract_note(minimal).unwrap_err();
    assert!(
        err.to_string().contains("no embedded receipt.note"),
        "{err}"
    );
    assert!(
        extract_note(b"GIF89a")
            .unwrap_err()
            .to_string()
            .contains("not a PDF")
    );
}

/// Whether poppler-utils can be used; fails when CI requires it.
fn poppler() -> bool {
    let ok = ["pdftotext", "pdftoppm"].iter().all(|tool| {
        Command::new(tool)
            .arg("-v")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        if std::env::var_os("CI").is_some()
            || std::env::var_os("DOORSTEP_REQUIRE_POPPLER").is_some()
        {
            panic!("poppler-utils (pdftotext, pdftoppm) are required but not installed");
        }
        eprintln!("SKIPPED: poppler-utils not installed");
    }
    ok
}

fn pdftotext(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .arg("-layout")
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The first page at 50 dpi as (width, height, RGB pixels).
fn pdftoppm(pdf: &Path, dir: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let prefix = dir.join("page");
    let status = Command::new("pdftoppm")
        .args(["-r", "50", "-png", "-singlefile"])
        .arg(pdf)
        .arg(&prefix)
        .status()
        .unwrap();
    assert!(status.success());
    let file = std::fs::File::open(prefix.with_extension("png")).unwrap();
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let px = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| match channels {
            1 | 2 => [p[0]; 3],
            _ => [p[0], p[1], p[2]],
        })
        .collect();
    (info.width, info.height, px)
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn poppler_sees_the_text_and_the_seal() {
    if !poppler() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let c = sample();
    for layout in LAYOUTS {
        for void in [None, Some(("重复收款，已退款", "2026-11-28 09:10"))] {
            let (pdf, _) = pdf_of(&c, layout, void);
            let path = dir.path().join("r.pdf");
            std::fs::write(&path, &pdf).unwrap();
            let text = pdftotext(&path);
            let flat = squeeze(&text);
            let mut want = vec![
                c.company.clone(),
                "00000123".into(),
                c.payer.clone(),
                squeeze(&c.object),
                "1,234.56".into(),
                "壹仟贰佰叁拾肆元伍角陆分".into(),
                "微信支付".into(),
                "4200002345202611271234567890".into(),
                "李建国".into(),
                "2026-11-2719:42".into(),
                "存证记录#4711".into(),
                "扫码验证真伪".into(),
                "本收据由系统电子签名，可在线或离线验证".into(),
                squeeze(&format!("签名密钥 {KEY_NAME}")),
            ];
            want.extend(c.lines.iter().map(|l| l.item.clone()));
            if let Some((reason, _)) = void {
                want.push(reason.into());
                want.push("作废".into());
            }
            for w in &want {
                assert!(flat.contains(w.as_str()), "{layout:?}: {w} not in\n{text}");
            }
            if layout != Layout::Thermal80 {
                assert!(
                    flat.contains("统一社会信用代码：91310106MA1FL5TQ2X"),
                    "{text}"
                );
            }

            let (w, h, px) = pdftoppm(&path, dir.path());
            assert_eq!(px.len(), (w * h) as usize);
            let dark = px.iter().filter(|p| p.iter().all(|&v| v < 80)).count();
            let red = px
                .iter()
                .filter(|p| p[0] > 150 && p[1] < 110 && p[2] < 110)
                .count();
            // Text, rules and the QR code; the seal's red ring and star.
            assert!(dark > 2_000, "{layout:?}: {dark} dark pixels");
            assert!(red > 300, "{layout:?}: {red} red pixels");
            if layout == Layout::A4 {
                assert!((413..=414).contains(&w) && h == 585, "{w}×{h}"); // 210 × 297 mm at 50 dpi
            }
        }
    }
}

#[test]
fn thirty_lines_continue_on_a_second_page() {
    if !poppler() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let c = many_lines(30);
    for layout in LAYOUTS {
        let (pdf, _) = pdf_of(&c, layout, None);
        let path = dir.path().join("long.pdf");
        std::fs::write(&path, &pdf).unwrap();
        let text = pdftotext(&path);
        let pages = text.matches('\u{c}').count();
        if layout == Layout::Thermal80 {
            assert_eq!(pages, 1, "{layout:?}");
        } else {
            assert!(pages >= 2, "{layout:?}: {pages} pages");
            let flat = squeeze(&text);
            assert!(flat.contains("共2页") || flat.contains("共3页"), "{text}");
        }
        let flat = squeeze(&text);
        for l in &c.lines {
            assert!(flat.contains(&l.item), "{layout:?}: {} missing", l.item);
        }
        assert!(flat.contains(&doorstep_domain::Fen(c.total_fen).grouped()));
    }
}

#[test]
fn qr_code_decodes_when_zbar_is_installed() {
    let zbar = Command::new("zbarimg").arg("--version").output();
    if !poppler() || !zbar.is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED: zbarimg (zbar-tools) not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for layout in LAYOUTS {
        for void in [None, Some(("重复收款", "2026-11-28 09:10"))] {
            let (pdf, _) = pdf_of(&sample(), layout, void);
            let path = dir.path().join("q.pdf");
            std::fs::write(&path, &pdf).unwrap();
            let png = dir.path().join("q");
            let ok = Command::new("pdftoppm")
                .args(["-r", "150", "-png", "-singlefile"])
                .arg(&path)
                .arg(&png)
                .status()
                .unwrap();
            assert!(ok.success());
            let out = Command::new("zbarimg")
                .args(["-q", "--raw"])
                .arg(png.with_extension("png"))
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(text.trim(), URL, "{layout:?} void={}", void.is_some());
        }
    }
}
