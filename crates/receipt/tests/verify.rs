//! What verification of a PDF rests on: the verification code printed on
//! every layout, and `check_pages` telling a genuine PDF from one whose
//! page was edited, one showing another receipt's pages with this note,
//! and one re-saved by another program — each of which still carries a
//! note that extracts and verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::process::Command;

use common::{KEY_NAME, sample, signer};
use doorstep_receipt::tamper::{alter_text_run, resave, splice_note};
use doorstep_receipt::{
    Extras, Layout, PageCheck, ReceiptContent, check_pages, code_matches, extract_note, render,
    verification_code,
};

const LAYOUTS: [Layout; 3] = [Layout::A4, Layout::A5, Layout::Thermal80];
const URL: &str = "https://doorstep.example/verify?company=7&number=123&code=X";

fn extras(note: &str) -> Extras<'_> {
    Extras {
        verify_url: URL,
        evidence_index: Some(12),
        void: None,
        signed_note: note,
        key_name: KEY_NAME,
    }
}

fn pdf(c: &ReceiptContent, layout: Layout) -> (Vec<u8>, String) {
    let note = c.sign(&signer()).unwrap();
    (render(c, &extras(&note), layout).unwrap(), note)
}

/// The text poppler reads from a PDF, spaces removed (`None` without poppler).
fn text_of(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("r.pdf");
    std::fs::write(&f, pdf).unwrap();
    let out = Command::new("pdftotext").arg(&f).arg("-").output().ok()?;
    assert!(out.status.success(), "poppler cannot read the PDF");
    Some(
        String::from_utf8(out.stdout)
            .unwrap()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect(),
    )
}

#[test]
fn every_layout_prints_the_verification_code_of_its_note() {
    for layout in LAYOUTS {
        let (bytes, note) = pdf(&sample(), layout);
        let code = verification_code(&note);
        assert!(code_matches(&note, &code));
        if let Some(text) = text_of(&bytes) {
            assert!(
                text.contains(&format!("验证码{code}")),
                "{layout:?}: {text}"
            );
        }
    }
    // Another signature (another key) gives another code for the same content.
    let other = doorstep_merkle::note::Signer::from_seed(KEY_NAME, &[8; 32]).unwrap();
    let note = sample().sign(&signer()).unwrap();
    let other_note = sample().sign(&other).unwrap();
    assert_ne!(verification_code(&note), verification_code(&other_note));
}

#[test]
fn a_genuine_pdf_is_the_same_as_its_render_in_each_layout() {
    for layout in LAYOUTS {
        let (bytes, note) = pdf(&sample(), layout);
        assert_eq!(
            check_pages(&bytes, &sample(), &[extras(&note)]).unwrap(),
            PageCheck::Same { index: 0, layout }
        );
    }
}

#[test]
fn a_pdf_printed_before_the_void_matches_the_unmarked_candidate() {
    let (bytes, note) = pdf(&sample(), Layout::A5);
    let void = Extras {
        void: Some(("重复收款", "2026-11-28 09:10")),
        ..extras(&note)
    };
    assert_eq!(
        check_pages(&bytes, &sample(), &[void, extras(&note)]).unwrap(),
        PageCheck::Same {
            index: 1,
            layout: Layout::A5
        }
    );
    // And only the unmarked one: with the void mark alone it differs.
    assert_eq!(
        check_pages(&bytes, &sample(), &[void]).unwrap(),
        PageCheck::Altered
    );
}

#[test]
fn one_altered_text_run_is_caught_though_the_note_still_extracts() {
    for layout in LAYOUTS {
        let (bytes, note) = pdf(&sample(), layout);
        let forged = alter_text_run(&bytes);
        assert_ne!(forged, bytes);
        // The embedded note is untouched: extraction (all the old check
        // looked at) still finds it.
        assert_eq!(extract_note(&forged).unwrap(), note, "{layout:?}");
        if let (Some(before), Some(after)) = (text_of(&bytes), text_of(&forged)) {
            assert!(before.contains("上海静安锦绣物业管理有限公司"), "{before}");
            assert!(after.contains("上海静安锦绣物业管理有限司公"), "{after}");
        }
        assert_eq!(
            check_pages(&forged, &sample(), &[extras(&note)]).unwrap(),
            PageCheck::Altered,
            "{layout:?}"
        );
    }
}

#[test]
fn another_receipts_pages_with_this_note_are_named_as_such() {
    let a = sample();
    let mut b = sample();
    b.number = 124;
    b.payer = "李四".into();
    b.total_fen = 99;
    for layout in LAYOUTS {
        let (a_pdf, a_note) = pdf(&a, layout);
        let (b_pdf, _) = pdf(&b, layout);
        let forged = splice_note(&b_pdf, &a_pdf);
        assert_eq!(extract_note(&forged).unwrap(), a_note, "{layout:?}");
        if let Some(text) = text_of(&forged) {
            assert!(text.contains("No.00000124"), "{text}");
        }
        assert_eq!(
            check_pages(&forged, &a, &[extras(&a_note)]).unwrap(),
            PageCheck::OtherReceipt(124),
            "{layout:?}"
        );
    }
}

#[test]
fn a_pdf_saved_again_by_another_program_is_not_the_same() {
    for layout in LAYOUTS {
        let (bytes, note) = pdf(&sample(), layout);
        let saved = resave(&bytes);
        assert!(saved.starts_with(&bytes), "an incremental update");
        assert_eq!(extract_note(&saved).unwrap(), note);
        assert!(text_of(&saved).is_none_or(|t| t.contains("收款收据")));
        assert_eq!(
            check_pages(&saved, &sample(), &[extras(&note)]).unwrap(),
            PageCheck::Resaved,
            "{layout:?}"
        );
    }
}

#[test]
fn a_different_qr_link_is_a_different_page() {
    let (bytes, note) = pdf(&sample(), Layout::A4);
    let elsewhere = Extras {
        verify_url: "https://phish.example/verify",
        ..extras(&note)
    };
    assert_eq!(
        check_pages(&bytes, &sample(), &[elsewhere]).unwrap(),
        PageCheck::Altered
    );
}
