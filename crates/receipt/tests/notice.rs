//! Overdue notices (催缴通知单): a batch of three in A4 and A5, what
//! poppler's pdftotext / pdftoppm see in each, and the refusal of the
//! thermal layout.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::Path;
use std::process::Command;

use doorstep_domain::Fen;
use doorstep_domain::cn::amount_in_capitals;
use doorstep_domain::notice::{NoticeInput, NoticeLine};
use doorstep_receipt::notice::QR_CAPTION;
use doorstep_receipt::{Layout, NoticeDoc, ReceiptError, render_notices};

const BASIS: &str = "《物业服务合同》第十二条";

fn line(item: &str, period: &str, principal: i64, late: i64, text: &str) -> NoticeLine {
    NoticeLine {
        item: item.into(),
        period: period.into(),
        principal: Fen(principal),
        late_fee: Fen(late),
        late_fee_text: text.into(),
    }
}

fn notice(object: &str, lines: Vec<NoticeLine>, basis: Option<&str>) -> NoticeInput {
    NoticeInput {
        company: "幸福里物业服务有限公司".into(),
        estate: "幸福里小区".into(),
        object: object.into(),
        lines,
        contract_basis: basis.map(str::to_string),
        link: format!("https://pay.example.com/o/{}", object.len()),
        office_phone: "0591-88888888".into(),
        date: "2026-11-27".parse().unwrap(),
    }
}

/// With a late fee and its contract basis; without a late fee; 40 lines.
fn batch() -> Vec<NoticeInput> {
    let late = notice(
        "3栋2单元1201",
        vec![
            line(
                "物业服务费",
                "2026-09",
                22375,
                448,
                "223.75元 × 0.05%/日 × 40 天（自 2026-10-16 起算，按《物业服务合同》第十二条）",
            ),
            line("物业服务费", "2026-10", 22375, 0, ""),
            line(
                "车位管理费",
                "2026-10",
                15000,
                120,
                "150.00元 × 0.05%/日 × 16 天",
            ),
        ],
        Some(BASIS),
    );
    let plain = notice(
        "5栋1单元0302",
        vec![
            line("物业服务费", "2026-10", 18900, 0, ""),
            line("公摊水电费", "2026-10", 2345, 0, ""),
        ],
        None,
    );
    let items = [
        "物业服务费",
        "车位管理费",
        "公摊水电费",
        "电梯运行费",
        "二次供水费",
    ];
    let long = notice(
        "车位 B-023",
        (0..40)
            .map(|i| {
                line(
                    items[i % items.len()],
                    &format!("{}-{:02}", 2023 + i / 12, i % 12 + 1),
                    10000 + i as i64,
                    if i % 3 == 0 { 150 } else { 0 },
                    if i % 3 == 0 {
                        "100.00元 × 0.05%/日 × 30 天"
                    } else {
                        ""
                    },
                )
            })
            .collect(),
        Some(BASIS),
    );
    vec![late, plain, long]
}

fn render(ns: &[NoticeInput], layout: Layout) -> Vec<u8> {
    let docs: Vec<NoticeDoc> = ns.iter().map(|notice| NoticeDoc { notice }).collect();
    let pdf = render_notices(&docs, layout).unwrap();
    // DOORSTEP_RECEIPT_DUMP=/some/dir keeps the PDFs for a look.
    if let Ok(dir) = std::env::var("DOORSTEP_RECEIPT_DUMP") {
        std::fs::write(format!("{dir}/notices-{layout:?}.pdf"), &pdf).unwrap();
    }
    pdf
}

/// Page objects in the PDF (krilla writes the page dictionaries
/// uncompressed, as `/Type/Page`).
fn page_objects(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf).replace("/Type /", "/Type/");
    text.matches("/Type/Page").count() - text.matches("/Type/Pages").count()
}

#[test]
fn notices_render_on_a4_and_a5_deterministically() {
    let ns = batch();
    for layout in [Layout::A4, Layout::A5] {
        let pdf = render(&ns, layout);
        assert!(pdf.starts_with(b"%PDF-"), "{layout:?}");
        assert!(
            page_objects(&pdf) >= 4,
            "{layout:?}: {}",
            page_objects(&pdf)
        );
        assert_eq!(render(&ns, layout), pdf, "{layout:?}");
    }
}

#[test]
fn thermal_slips_are_refused() {
    let ns = batch();
    let err = render_notices(&[NoticeDoc { notice: &ns[0] }], Layout::Thermal80).unwrap_err();
    assert!(matches!(err, ReceiptError::Render(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("A4 or A5") && msg.contains("thermal"), "{msg}");
    assert!(render_notices(&[], Layout::A4).is_err());
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

/// The text of each page (pdftotext -layout), in order.
fn pages_text(pdf: &Path) -> Vec<String> {
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
    let text = String::from_utf8(out.stdout).unwrap();
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_string).collect();
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    pages
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Page 1 at 50 dpi: its red pixels.
fn red_pixels(pdf: &Path, dir: &Path) -> usize {
    let prefix = dir.join("page");
    let status = Command::new("pdftoppm")
        .args(["-r", "50", "-png", "-singlefile", "-f", "1", "-l", "1"])
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
    assert!(channels >= 3, "a grey page: no seal");
    buf[..info.buffer_size()]
        .chunks(channels)
        .filter(|p| p[0] > 150 && p[1] < 110 && p[2] < 110)
        .count()
}

#[test]
fn poppler_sees_each_notice_on_its_own_pages() {
    if !poppler() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ns = batch();
    for layout in [Layout::A4, Layout::A5] {
        let path = dir.path().join("notices.pdf");
        std::fs::write(&path, render(&ns, layout)).unwrap();
        let pages = pages_text(&path);
        assert!(pages.len() >= 3, "{layout:?}: {} pages", pages.len());

        // Which notice each page belongs to, by its room label; every page
        // names exactly one room.
        let owner: Vec<usize> = pages
            .iter()
            .map(|p| {
                let flat = squeeze(p);
                let who: Vec<usize> = (0..ns.len())
                    .filter(|&i| flat.contains(&squeeze(&ns[i].object)))
                    .collect();
                assert_eq!(who.len(), 1, "{layout:?}: rooms {who:?} on one page:\n{p}");
                who[0]
            })
            .collect();
        assert_eq!(owner.first(), Some(&0), "{layout:?}");
        assert!(owner.windows(2).all(|w| w[0] <= w[1]), "{owner:?}");
        let count = |i| owner.iter().filter(|&&o| o == i).count();
        assert_eq!(count(0), 1, "{layout:?}: {owner:?}");
        assert_eq!(count(1), 1, "{layout:?}: {owner:?}");
        assert!(count(2) > 1, "{layout:?}: 40 lines on one page: {owner:?}");

        for (i, n) in ns.iter().enumerate() {
            let text: String = pages
                .iter()
                .zip(&owner)
                .filter(|(_, o)| **o == i)
                .map(|(p, _)| p.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            let flat = squeeze(&text);
            let want = [
                "催缴通知单".to_string(),
                "Overduenotice".into(),
                n.company.clone(),
                n.estate.clone(),
                "2026年11月27日".into(),
                format!("尊敬的{}业主：", squeeze(&n.object)),
                format!("合计人民币{}元", n.total().yuan_string()),
                amount_in_capitals(n.total()),
                "无需提供房产证件".into(),
                format!("咨询电话：{}", n.office_phone),
                QR_CAPTION.into(),
                "收费项目".into(),
                "所属期".into(),
                "欠费本金".into(),
            ];
            for w in &want {
                assert!(
                    flat.contains(w.as_str()),
                    "{layout:?} #{i}: {w} not in\n{text}"
                );
            }
            for l in &n.lines {
                assert!(flat.contains(&l.period), "{layout:?} #{i}: {}", l.period);
            }
            let basis = format!(
                "其中违约金{}元系依据{BASIS}的约定计算",
                n.late_fees().yuan_string()
            );
            match i {
                0 => {
                    assert!(flat.contains(&basis), "{layout:?}: {basis} not in\n{text}");
                    assert!(flat.contains("违约金计算"), "{text}");
                    assert!(flat.contains("0.05%/日"), "{text}");
                }
                // No late fee: neither the sentence nor the columns.
                1 => assert!(!flat.contains("违约金"), "{layout:?}:\n{text}"),
                _ => {
                    assert!(flat.contains("第1页/共"), "{text}");
                    assert!(flat.contains("2023-01~2026-04"), "{text}");
                }
            }
            // Polite: no threats.
            assert_eq!(doorstep_domain::notice::forbidden_word(&flat), None);
        }

        let red = red_pixels(&path, dir.path());
        assert!(red > 300, "{layout:?}: {red} red pixels (the seal)");
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
    let ns = batch();
    for layout in [Layout::A4, Layout::A5] {
        let path = dir.path().join("q.pdf");
        std::fs::write(&path, render(&ns[..1], layout)).unwrap();
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
        assert_eq!(text.trim(), ns[0].link, "{layout:?}");
    }
}
