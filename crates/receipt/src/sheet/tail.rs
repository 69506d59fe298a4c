//! Below the table: payment details, the issuer with its seal, the QR code
//! and the verification details.

use super::Ctx;
use crate::ReceiptError;
use crate::code::verification_code;
use crate::content::{ReceiptContent, method_label};
use crate::layout::{Align, GREY, Op, Pen, Style, qr_modules, quiet_zone};
use crate::pdf::{Extras, fingerprint};
use doorstep_domain::Lang;

/// Payment, collector, seal, QR and verification details below the table;
/// returns their height.
pub(super) fn tail(
    cx: &Ctx,
    pen: &mut Pen,
    top: f32,
    c: &ReceiptContent,
    ex: &Extras,
) -> Result<f32, ReceiptError> {
    let s = cx.spec;
    let (l, w) = (cx.left(), cx.width());
    let st = Style::new(s.body);
    let row = |y: f32| y + s.body * 0.3;

    // Left: how it was paid and who took it.
    let lw = w * 0.55;
    let mut y = top + s.body * 0.8;
    let method = method_label(&c.method, Lang::Zh);
    let txn = c.transaction_id.as_deref().unwrap_or("");
    y = row(y + pen.field(l, lw, y, "支付方式", method, st, 2));
    y = row(y + pen.field(l, lw, y, "交易单号", txn, st, 2));
    y = row(y + pen.field(l, lw, y, "收款人", &c.collector, st, 2));

    // Right: the issuer with its seal stamped over the name, just below
    // the table so the amounts stay clear.
    let (rx, rw) = (l + w * 0.58, w * 0.42);
    let r = s.seal / 2.0;
    let seal = ((rx + rw / 2.0).min(cx.right() - r), top + r + s.body * 0.3);
    let label_top = seal.1 - st.leading() * 1.3;
    pen.line(
        rx,
        rw,
        label_top + st.ascent(),
        "收款单位（盖章）：",
        st.color(GREY),
        Align::Left,
    );
    pen.para(
        rx,
        rw,
        label_top + st.leading(),
        &c.company,
        st,
        Align::Left,
        3,
    );
    pen.ops.push(Op::Seal {
        cx: seal.0,
        cy: seal.1,
        diameter: s.seal,
        company: c.company.clone(),
    });
    let below_seal = seal.1 + r + s.body * 0.5;

    // QR code on the left with its caption; verification details beside it.
    // The QR code keeps its quiet zone (four modules) clear of other ink.
    let small = Style::new(s.small).color(GREY);
    let mut qr_h = 0.0;
    let mut quiet = s.body;
    if let Some((n, modules)) = qr_modules(ex.verify_url)? {
        quiet = quiet_zone(s.qr, n);
        y += quiet;
        pen.ops.push(Op::Qr {
            x: l,
            y,
            size: s.qr,
            n,
            modules,
        });
        pen.line(
            l,
            s.qr,
            y + s.qr + quiet + small.size * 0.88,
            "扫码验证真伪",
            small,
            Align::Center,
        );
        qr_h = s.qr + quiet + small.leading();
    }
    let tx = if qr_h > 0.0 { l + s.qr + quiet } else { l };
    let tw = (seal.0 - r - s.body) - tx;
    let mut ty = y + s.small * 0.2;
    // The code a reader types with the number to check the receipt online.
    let code = format!("验证码 {}", verification_code(ex.signed_note));
    ty += pen.para(tx, tw, ty, &code, Style::new(s.body).bold(), Align::Left, 1);
    let mut info = Vec::new();
    if let Some(i) = ex.evidence_index {
        info.push(format!("存证记录 #{i}"));
    }
    if !ex.key_name.is_empty() {
        info.push(format!("签名密钥 {}", ex.key_name));
    }
    if let Some(fp) = fingerprint(ex.signed_note) {
        info.push(format!("收据指纹 SHA-256 {fp}"));
    }
    info.push(format!("付款记录 #{}", c.payment_id));
    info.push("PDF 内附签名文件 receipt.note，可离线验证".to_string());
    for line in info {
        ty += pen.para(tx, tw, ty, &line, small, Align::Left, 2);
    }
    Ok((y + qr_h).max(ty).max(below_seal) - top)
}
