//! The A4 and A5 portrait layouts: header, payer block, a ruled table of fee
//! lines, totals in figures and capitals, payment details with the seal,
//! the QR code and the verification details. Long tables continue on further
//! pages with the table header repeated; the totals and everything below
//! them always stay together on the last page.

mod table;
mod tail;

use crate::ReceiptError;
use crate::content::{ReceiptContent, number_display, yuan_grouped};
use crate::font::Face;
use crate::layout::{Align, GREY, Op, PageOps, Pen, RED, Style};
use crate::pdf::Extras;
use table::{COLS, table_frame, table_row, totals};
use tail::tail;

/// Page geometry and type sizes of one paper size.
pub(crate) struct Spec {
    pub(super) w: f32,
    pub(super) h: f32,
    pub(super) mx: f32,
    pub(super) mt: f32,
    pub(super) mb: f32,
    pub(super) body: f32,
    pub(super) small: f32,
    pub(super) table: f32,
    pub(super) title: f32,
    pub(super) company: f32,
    pub(super) seal: f32,
    pub(super) qr: f32,
}

/// A4, 210 × 297 mm.
pub(crate) const A4: Spec = Spec {
    w: 595.28,
    h: 841.89,
    mx: 51.0,
    mt: 45.0,
    mb: 40.0,
    body: 10.5,
    small: 9.0,
    table: 9.5,
    title: 24.0,
    company: 15.0,
    seal: 113.4, // 40 mm
    qr: 79.4,    // 28 mm
};

/// A5, 148 × 210 mm.
pub(crate) const A5: Spec = Spec {
    w: 419.53,
    h: 595.28,
    mx: 34.0,
    mt: 32.0,
    mb: 28.0,
    body: 8.5,
    small: 7.0,
    table: 7.5,
    title: 18.0,
    company: 12.0,
    seal: 96.4, // 34 mm
    qr: 62.4,   // 22 mm
};

/// The page geometry the parts of the layout share.
pub(super) struct Ctx<'a> {
    pub face: &'a Face,
    pub spec: &'a Spec,
    /// Column left edges, plus the right edge of the table at the end.
    pub xs: [f32; 8],
    pub pad: f32,
}

impl Ctx<'_> {
    pub(super) fn left(&self) -> f32 {
        self.spec.mx
    }
    pub(super) fn right(&self) -> f32 {
        self.spec.w - self.spec.mx
    }
    pub(super) fn width(&self) -> f32 {
        self.right() - self.left()
    }
    pub(super) fn bottom(&self) -> f32 {
        self.spec.h - self.spec.mb - self.footer_h()
    }
    pub(super) fn footer_h(&self) -> f32 {
        Style::new(self.spec.small).leading() * 2.0 + 6.0
    }
    pub(super) fn cell_style(&self) -> Style {
        Style::new(self.spec.table)
    }
}

/// Lays out the receipt on as many pages of `spec` as it needs.
pub(crate) fn layout(
    face: &Face,
    c: &ReceiptContent,
    ex: &Extras,
    spec: &Spec,
) -> Result<Vec<PageOps>, ReceiptError> {
    let cw = spec.w - 2.0 * spec.mx;
    let mut xs = [spec.mx; 8];
    let mut acc = spec.mx;
    for (i, (share, _, _)) in COLS.iter().enumerate() {
        acc += share * cw;
        xs[i + 1] = acc;
    }
    xs[7] = spec.w - spec.mx;
    let cx = Ctx {
        face,
        spec,
        xs,
        pad: spec.table * 0.45,
    };

    // Measure every table row once (a throw-away pen), then paginate.
    let rows: Vec<Vec<String>> = c.lines.iter().map(row_cells).collect();
    let heights: Vec<f32> = rows
        .iter()
        .map(|r| table_row(&cx, &mut Pen::new(face), 0.0, r, false))
        .collect();
    let head_h = table_row(&cx, &mut Pen::new(face), 0.0, &header_cells(), true);
    let totals_h = totals(&cx, &mut Pen::new(face), 0.0, c);
    let tail_h = tail(&cx, &mut Pen::new(face), 0.0, c, ex)?;
    let first_top = first_header(&cx, &mut Pen::new(face), c, ex);
    let cont_top = continued_header(&cx, &mut Pen::new(face), c);

    // pages[i] = the rows on page i.
    let mut pages: Vec<Vec<usize>> = vec![Vec::new()];
    let mut y = first_top + head_h;
    for (i, h) in heights.iter().enumerate() {
        let here = pages.len() - 1;
        if y + h > cx.bottom() && !pages[here].is_empty() {
            pages.push(Vec::new());
            y = cont_top + head_h;
        }
        let here = pages.len() - 1;
        pages[here].push(i);
        y += h;
    }
    if y + totals_h + tail_h > cx.bottom() {
        pages.push(Vec::new());
    }

    let count = pages.len();
    let mut out = Vec::with_capacity(count);
    for (p, page_rows) in pages.iter().enumerate() {
        let mut pen = Pen::new(face);
        let mut y = if p == 0 {
            first_header(&cx, &mut pen, c, ex)
        } else {
            continued_header(&cx, &mut pen, c)
        };
        let table_top = y;
        y += table_row(&cx, &mut pen, y, &header_cells(), true);
        for &i in page_rows {
            y += table_row(&cx, &mut pen, y, &rows[i], false);
        }
        if p + 1 == count {
            y += totals(&cx, &mut pen, y, c);
            table_frame(&cx, &mut pen, table_top, y);
            tail(&cx, &mut pen, y, c, ex)?;
        } else {
            table_frame(&cx, &mut pen, table_top, y);
        }
        footer(&cx, &mut pen, p, count);
        if ex.void.is_some() {
            pen.ops.push(Op::Void {
                cx: spec.w / 2.0,
                cy: spec.h * 0.36,
                size: spec.title * 3.2,
            });
        }
        out.push(PageOps {
            width: spec.w,
            height: spec.h,
            ops: pen.ops,
        });
    }
    Ok(out)
}

fn header_cells() -> Vec<String> {
    COLS.iter().map(|(_, t, _)| t.to_string()).collect()
}

fn row_cells(l: &crate::ContentLine) -> Vec<String> {
    vec![
        l.item.clone(),
        l.period.clone(),
        l.basis.clone(),
        yuan_grouped(l.amount_fen),
        yuan_grouped(l.late_fee_fen),
        yuan_grouped(l.waived_fen),
        yuan_grouped(l.paid_fen),
    ]
}

/// The first page's header; returns where the table starts.
fn first_header(cx: &Ctx, pen: &mut Pen, c: &ReceiptContent, ex: &Extras) -> f32 {
    let s = cx.spec;
    let (l, w) = (cx.left(), cx.width());
    let mut y = s.mt;
    let company = Style::new(s.company).bold();
    y += pen.fitted(
        l,
        w,
        y,
        &c.company,
        company,
        Align::Center,
        s.company * 0.7,
        2,
    );
    y += s.title * 0.25;

    // Title with a double rule under it, the number on the right.
    let title = Style::new(s.title).bold();
    let base = y + s.title * 0.95;
    pen.spaced(l, w, base, "收款收据", title, Align::Center, 0.5);
    let tw = cx.face.width("收款收据", s.title, 0.5) + s.title;
    let (t1, t2) = (l + (w - tw) / 2.0, l + (w + tw) / 2.0);
    pen.hrule(t1, t2, base + s.title * 0.28, 0.8);
    pen.hrule(t1, t2, base + s.title * 0.28 + 2.2, 0.4);
    // The number in red right of the title, shrunk to the room there; its
    // label beside it, or above it when there is no room beside.
    let room = (w - cx.face.width("收款收据", s.title, 0.5)) / 2.0 - s.body;
    let num_text = format!("No.{}", number_display(c.number));
    let size = cx.face.fit(&num_text, s.body * 1.3, s.small * 0.8, room);
    let nw = cx.face.width(&num_text, size, 0.0);
    pen.line(
        l,
        w,
        base,
        &num_text,
        Style::new(size).color(RED),
        Align::Right,
    );
    let label = Style::new(s.small).color(GREY);
    let lw = cx.face.width("收据编号", s.small, 0.0);
    if nw + 4.0 + lw <= room {
        pen.line(l, w - nw - 4.0, base, "收据编号", label, Align::Right);
    } else {
        pen.line(l, w, base - size * 1.25, "收据编号", label, Align::Right);
    }
    y = base + s.title * 0.28 + 2.2 + s.small * 0.6;
    let sub = Style::new(s.small * 0.85).color(GREY);
    pen.spaced(
        l,
        w,
        y + sub.ascent(),
        "ELECTRONIC RECEIPT",
        sub,
        Align::Center,
        0.25,
    );
    y += sub.leading() + s.body * 0.6;

    if let Some((reason, time)) = ex.void {
        y += void_banner(cx, pen, y, reason, time) + s.body * 0.6;
    }

    // Who paid, for what, when.
    let st = Style::new(s.body);
    let half = w / 2.0;
    let gap = s.body;
    let rows: [[(&str, &str); 2]; 3] = [
        [("交款人", &c.payer), ("收款时间", &c.issued_at_display())],
        [("房号/车位", &c.object), ("小区", &c.estate)],
        [
            ("收款单位", &c.company),
            ("统一社会信用代码", &c.company_code),
        ],
    ];
    for [a, b] in rows {
        let ha = pen.field(l, half - gap, y, a.0, a.1, st, 3);
        let hb = pen.field(l + half, half, y, b.0, b.1, st, 3);
        y += ha.max(hb) + s.body * 0.25;
    }
    y += s.body * 0.2;
    let unit = Style::new(s.small).color(GREY);
    pen.line(l, w, y + unit.ascent(), "金额单位：元", unit, Align::Right);
    y + unit.leading()
}

/// The header of a continuation page; returns where the table starts.
fn continued_header(cx: &Ctx, pen: &mut Pen, c: &ReceiptContent) -> f32 {
    let s = cx.spec;
    let (l, w) = (cx.left(), cx.width());
    let st = Style::new(s.body).bold();
    let num = format!("No.{}", number_display(c.number));
    let nw = cx.face.width(&num, s.body, 0.0) + s.body;
    let h = pen.fitted(
        l,
        w - nw,
        s.mt,
        &format!("{} 收款收据（续）", c.company),
        st,
        Align::Left,
        s.small,
        1,
    );
    pen.line(
        l,
        w,
        s.mt + st.ascent(),
        &num,
        Style::new(s.body).color(RED),
        Align::Right,
    );
    let unit = Style::new(s.small).color(GREY);
    let y = s.mt + h + s.body * 0.5;
    pen.line(l, w, y + unit.ascent(), "金额单位：元", unit, Align::Right);
    y + unit.leading()
}

/// A red-framed box with the void reason; returns its height.
fn void_banner(cx: &Ctx, pen: &mut Pen, top: f32, reason: &str, time: &str) -> f32 {
    let s = cx.spec;
    let st = Style::new(s.body).color(RED).bold();
    let pad = s.body * 0.5;
    let text = format!("本收据已作废 VOID　作废时间：{time}　作废原因：{reason}");
    let h = pen.para(
        cx.left() + pad,
        cx.width() - 2.0 * pad,
        top + pad,
        &text,
        st,
        Align::Left,
        3,
    ) + 2.0 * pad;
    pen.ops.push(Op::Frame {
        x: cx.left(),
        y: top,
        w: cx.width(),
        h,
        width: 1.0,
        color: RED,
    });
    h
}

/// Footer line(s) at the bottom of every page.
fn footer(cx: &Ctx, pen: &mut Pen, page: usize, count: usize) {
    let s = cx.spec;
    let st = Style::new(s.small).color(GREY);
    let y = s.h - s.mb - st.leading() * 2.0;
    pen.hrule(cx.left(), cx.right(), y - st.size * 0.3, 0.3);
    pen.line(
        cx.left(),
        cx.width(),
        y + st.ascent(),
        "本收据由系统电子签名，可在线或离线验证",
        st,
        Align::Center,
    );
    let en = Style::new(s.small * 0.85).color(GREY);
    pen.line(
        cx.left(),
        cx.width(),
        y + st.leading() + en.ascent(),
        "Electronically signed receipt: verify online or offline",
        en,
        Align::Center,
    );
    if count > 1 {
        pen.line(
            cx.left(),
            cx.width(),
            y + st.ascent(),
            &format!("第 {} 页 / 共 {count} 页", page + 1),
            st,
            Align::Right,
        );
    }
}
