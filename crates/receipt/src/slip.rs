//! The 80 mm thermal-printer layout: a narrow slip (72 mm printable) whose
//! height follows the content. Fee lines are stacked rather than tabled; the
//! QR code sits at the bottom. The slip is built from segments (header, one
//! per fee line, tail); a slip longer than a PDF page may be (200 inches) is
//! split between fee lines onto further pages.

use crate::code::verification_code;
use crate::content::{ReceiptContent, method_label, number_display, yuan_grouped};
use crate::font::Face;
use crate::layout::{Align, GREY, Op, PageOps, Pen, RED, Style, mm, qr_modules, quiet_zone};
use crate::pdf::{Extras, fingerprint};
use crate::{ContentLine, ReceiptError};
use doorstep_domain::Lang;

/// Paper width.
const W: f32 = 226.77; // 80 mm
/// Left and right margin: 72 mm printable.
const MX: f32 = 11.34; // 4 mm
const MT: f32 = 14.0;
const MB: f32 = 20.0;
const BODY: f32 = 8.5;
const SMALL: f32 = 7.0;
/// Longest page: PDF viewers refuse pages over 14,400 pt.
const MAX_H: f32 = 14_000.0;

/// A piece of the slip laid out from y = 0.
struct Segment {
    ops: Vec<Op>,
    height: f32,
}

fn content_w() -> f32 {
    W - 2.0 * MX
}

/// Lays out the slip.
pub(crate) fn layout(
    face: &Face,
    c: &ReceiptContent,
    ex: &Extras,
) -> Result<Vec<PageOps>, ReceiptError> {
    let mut segs = vec![header(face, c, ex)];
    for (i, l) in c.lines.iter().enumerate() {
        segs.push(line(face, l, i + 1 == c.lines.len()));
    }
    segs.push(tail(face, c, ex)?);

    // Stack the segments into pages no taller than MAX_H.
    let mut pages: Vec<(Vec<Op>, f32)> = vec![(Vec::new(), MT)];
    for seg in segs {
        let here = pages.len() - 1;
        if pages[here].1 + seg.height + MB > MAX_H && !pages[here].0.is_empty() {
            pages.push((Vec::new(), MT));
        }
        let here = pages.len() - 1;
        let dy = pages[here].1;
        pages[here]
            .0
            .extend(seg.ops.into_iter().map(|op| shift(op, dy)));
        pages[here].1 += seg.height;
    }
    Ok(pages
        .into_iter()
        .map(|(mut ops, y)| {
            let height = y + MB;
            if ex.void.is_some() {
                // One mark per 400 pt of slip, at least one.
                let marks = ((height / 400.0).floor() as usize).max(1);
                for k in 0..marks {
                    ops.push(Op::Void {
                        cx: W / 2.0,
                        cy: height * (k as f32 + 0.5) / marks as f32,
                        size: 30.0,
                    });
                }
            }
            PageOps {
                width: W,
                height,
                ops,
            }
        })
        .collect())
}

/// `op` moved down by `dy`.
pub(crate) fn shift(mut op: Op, dy: f32) -> Op {
    match &mut op {
        Op::Text { y, .. } | Op::Fill { y, .. } | Op::Frame { y, .. } | Op::Qr { y, .. } => {
            *y += dy
        }
        Op::Line { y1, y2, .. } => {
            *y1 += dy;
            *y2 += dy;
        }
        Op::Seal { cy, .. } | Op::Void { cy, .. } => *cy += dy,
    }
    op
}

fn header(face: &Face, c: &ReceiptContent, ex: &Extras) -> Segment {
    let mut pen = Pen::new(face);
    let w = content_w();
    let mut y = 0.0;
    let company = Style::new(10.5).bold();
    y += pen.fitted(MX, w, y, &c.company, company, Align::Center, 8.0, 3);
    let title = Style::new(14.0).bold();
    pen.spaced(
        MX,
        w,
        y + title.ascent(),
        "收款收据",
        title,
        Align::Center,
        0.3,
    );
    y += title.leading();
    let sub = Style::new(6.0).color(GREY);
    pen.spaced(
        MX,
        w,
        y + sub.ascent(),
        "ELECTRONIC RECEIPT",
        sub,
        Align::Center,
        0.2,
    );
    y += sub.leading() + 4.0;

    if let Some((reason, time)) = ex.void {
        let st = Style::new(BODY).color(RED).bold();
        let text = format!("本收据已作废 VOID　作废时间：{time}　作废原因：{reason}");
        let h = pen.para(MX + 3.0, w - 6.0, y + 3.0, &text, st, Align::Left, 4) + 6.0;
        pen.ops.push(Op::Frame {
            x: MX,
            y,
            w,
            h,
            width: 0.8,
            color: RED,
        });
        y += h + 4.0;
    }

    let st = Style::new(BODY);
    let label = Style::new(BODY).color(GREY);
    pen.line(MX, w, y + st.ascent(), "收据编号：", label, Align::Left);
    let lw = face.width("收据编号：", BODY, 0.0);
    let num = format!("No.{}", number_display(c.number));
    pen.line(
        MX + lw,
        w - lw,
        y + st.ascent(),
        &num,
        st.color(RED).bold(),
        Align::Left,
    );
    y += st.leading();
    let fields = [
        ("收款时间", c.issued_at_display()),
        ("小区", c.estate.clone()),
        ("交款人", c.payer.clone()),
        ("房号/车位", c.object.clone()),
    ];
    for (k, v) in fields {
        y += pen.field(MX, w, y, k, &v, st, 4) + 1.0;
    }
    if !c.company_code.is_empty() {
        y += pen.field(MX, w, y, "统一社会信用代码", &c.company_code, st, 2) + 1.0;
    }
    y += 3.0;
    pen.hrule(MX, MX + w, y, 0.5);
    y += 4.0;
    Segment {
        ops: pen.ops,
        height: y,
    }
}

fn line(face: &Face, l: &ContentLine, last: bool) -> Segment {
    let mut pen = Pen::new(face);
    let w = content_w();
    let st = Style::new(BODY).bold();
    let paid = yuan_grouped(l.paid_fen);
    let pw = face.width(&paid, BODY, 0.0).min(w * 0.45);
    let mut y = pen.fitted(MX + w - pw, pw, 0.0, &paid, st, Align::Right, 5.0, 1);
    let item_h = pen.para(MX, w - pw - BODY, 0.0, &l.item, st, Align::Left, 3);
    y = y.max(item_h);
    let small = Style::new(SMALL).color(GREY);
    y += pen.field(MX, w, y, "所属期", &l.period, small, 2);
    if !l.basis.is_empty() {
        y += pen.para(MX, w, y, &l.basis, small, Align::Left, 3);
    }
    let mut amounts = format!("应收 {}", yuan_grouped(l.amount_fen));
    if l.late_fee_fen != 0 {
        amounts.push_str(&format!("　滞纳金 {}", yuan_grouped(l.late_fee_fen)));
    }
    if l.waived_fen != 0 {
        amounts.push_str(&format!("　减免 {}", yuan_grouped(l.waived_fen)));
    }
    amounts.push_str(&format!("　实收 {paid}"));
    y += pen.para(MX, w, y, &amounts, small, Align::Left, 3);
    y += 3.0;
    if !last {
        pen.hrule(MX + w * 0.3, MX + w * 0.7, y, 0.25);
        y += 3.0;
    }
    Segment {
        ops: pen.ops,
        height: y,
    }
}

fn tail(face: &Face, c: &ReceiptContent, ex: &Extras) -> Result<Segment, ReceiptError> {
    let mut pen = Pen::new(face);
    let w = content_w();
    let mut y = 1.0;
    pen.hrule(MX, MX + w, y, 0.5);
    y += 5.0;
    let big = Style::new(11.0).bold();
    let total = format!("¥{}", yuan_grouped(c.total_fen));
    let tw = face.width(&total, big.size, 0.0).min(w * 0.7);
    pen.line(MX, w, y + big.ascent(), "合计", big, Align::Left);
    y += pen.fitted(MX + w - tw, tw, y, &total, big, Align::Right, 6.0, 1);
    let st = Style::new(BODY);
    y += pen.field(MX, w, y, "人民币大写", &c.total_in_capitals(), st.bold(), 3) + 2.0;
    let txn = c.transaction_id.clone().unwrap_or_default();
    let method = method_label(&c.method, Lang::Zh);
    y += pen.field(MX, w, y, "支付方式", method, st, 2) + 1.0;
    y += pen.field(MX, w, y, "交易单号", &txn, st, 3) + 1.0;

    // The seal on the right, stamped over the collector and issuer lines
    // (below the amounts, so they stay clear).
    let d = mm(30.0);
    let top = y + 2.0;
    let tw = w - d * 0.8;
    let mut ty = top + d * 0.2;
    ty += pen.field(MX, tw, ty, "收款人", &c.collector, st, 2) + 1.0;
    ty += pen.para(
        MX,
        tw,
        ty,
        "收款单位（盖章）：",
        st.color(GREY),
        Align::Left,
        1,
    );
    ty += pen.para(MX, tw, ty, &c.company, st, Align::Left, 3);
    pen.ops.push(Op::Seal {
        cx: MX + w - d / 2.0,
        cy: top + d / 2.0,
        diameter: d,
        company: c.company.clone(),
    });
    y = ty.max(top + d) + 2.0;

    let small = Style::new(SMALL).color(GREY);
    if let Some((n, modules)) = qr_modules(ex.verify_url)? {
        let q = mm(30.0);
        let quiet = quiet_zone(q, n);
        y += quiet;
        pen.ops.push(Op::Qr {
            x: MX + (w - q) / 2.0,
            y,
            size: q,
            n,
            modules,
        });
        y += q + quiet;
        pen.line(
            MX,
            w,
            y + small.size * 0.88,
            "扫码验证真伪",
            small.color((0, 0, 0)),
            Align::Center,
        );
        y += small.leading() + 2.0;
    }
    // The code a reader types with the number to check the receipt online.
    let code = format!("验证码 {}", verification_code(ex.signed_note));
    y += pen.para(MX, w, y, &code, Style::new(BODY).bold(), Align::Center, 1) + 1.0;
    let mut info = Vec::new();
    if let Some(i) = ex.evidence_index {
        info.push(format!("存证记录 #{i}"));
    }
    if !ex.key_name.is_empty() {
        info.push(format!("签名密钥 {}", ex.key_name));
    }
    if let Some(fp) = fingerprint(ex.signed_note) {
        info.push(format!("收据指纹 {fp}"));
    }
    info.push(format!("付款记录 #{}", c.payment_id));
    for l in info {
        y += pen.para(MX, w, y, &l, small, Align::Center, 3);
    }
    y += 3.0;
    pen.hrule(MX, MX + w, y, 0.3);
    y += 3.0;
    y += pen.para(
        MX,
        w,
        y,
        "本收据由系统电子签名，可在线或离线验证",
        small,
        Align::Center,
        2,
    );
    Ok(Segment {
        ops: pen.ops,
        height: y,
    })
}
