//! The table of fee lines and its totals rows.

use super::Ctx;
use crate::content::{ReceiptContent, yuan_grouped};
use crate::layout::{Align, BLACK, Op, Pen, SHADE, Style, para_height};

/// Column shares of the table width and how each column is set.
pub(super) const COLS: [(f32, &str, Align); 7] = [
    (0.18, "收费项目", Align::Left),
    (0.15, "所属期", Align::Center),
    (0.23, "单价×数量", Align::Left),
    (0.11, "应收", Align::Right),
    (0.11, "滞纳金", Align::Right),
    (0.10, "减免", Align::Right),
    (0.12, "实收", Align::Right),
];

/// Lines a text cell may take before it is cut with `…`.
const CELL_LINES: usize = 4;

/// One table row at `top` (the header row when `head`); returns its height.
pub(super) fn table_row(cx: &Ctx, pen: &mut Pen, top: f32, cells: &[String], head: bool) -> f32 {
    let st = if head {
        cx.cell_style().bold()
    } else {
        cx.cell_style()
    };
    let mut h: f32 = para_height(1, st);
    let mut cell_ops = Pen::new(cx.face);
    for (i, text) in cells.iter().enumerate().take(7) {
        let (x, w) = (cx.xs[i] + cx.pad, cx.xs[i + 1] - cx.xs[i] - 2.0 * cx.pad);
        let align = if head { Align::Center } else { COLS[i].2 };
        let used = if i >= 3 && !head {
            cell_ops.fitted(x, w, top + cx.pad, text, st, align, st.size * 0.6, 2)
        } else {
            cell_ops.para(x, w, top + cx.pad, text, st, align, CELL_LINES)
        };
        h = h.max(used);
    }
    let h = h + 2.0 * cx.pad;
    if head {
        pen.ops.push(Op::Fill {
            x: cx.xs[0],
            y: top,
            w: cx.xs[7] - cx.xs[0],
            h,
            color: SHADE,
        });
    }
    pen.ops.append(&mut cell_ops.ops);
    pen.hrule(cx.xs[0], cx.xs[7], top + h, if head { 0.6 } else { 0.3 });
    for &x in &cx.xs[1..7] {
        pen.vrule(x, top, top + h, 0.3);
    }
    h
}

/// The outer frame of the table from `top` to `bottom`.
pub(super) fn table_frame(cx: &Ctx, pen: &mut Pen, top: f32, bottom: f32) {
    pen.ops.push(Op::Frame {
        x: cx.xs[0],
        y: top,
        w: cx.xs[7] - cx.xs[0],
        h: bottom - top,
        width: 0.9,
        color: BLACK,
    });
}

/// The 合计 row and the amount in capitals; returns their height.
pub(super) fn totals(cx: &Ctx, pen: &mut Pen, top: f32, c: &ReceiptContent) -> f32 {
    let sum = |f: fn(&crate::ContentLine) -> i64| {
        c.lines.iter().fold(0i64, |a, l| a.saturating_add(f(l)))
    };
    let cells = [
        yuan_grouped(sum(|l| l.amount_fen)),
        yuan_grouped(sum(|l| l.late_fee_fen)),
        yuan_grouped(sum(|l| l.waived_fen)),
        yuan_grouped(c.total_fen),
    ];
    let st = cx.cell_style().bold();
    let mut h = para_height(1, st);
    let (l3, r3) = (cx.xs[0] + cx.pad, cx.xs[3] - cx.pad);
    pen.spaced(
        l3,
        r3 - l3,
        top + cx.pad + st.ascent(),
        "合计",
        st,
        Align::Center,
        1.0,
    );
    for (i, t) in cells.iter().enumerate() {
        let col = i + 3;
        let (x, w) = (
            cx.xs[col] + cx.pad,
            cx.xs[col + 1] - cx.xs[col] - 2.0 * cx.pad,
        );
        h = h.max(pen.fitted(x, w, top + cx.pad, t, st, Align::Right, st.size * 0.6, 2));
    }
    let h1 = h + 2.0 * cx.pad;
    pen.hrule(cx.xs[0], cx.xs[7], top + h1, 0.3);
    for &x in &cx.xs[3..7] {
        pen.vrule(x, top, top + h1, 0.3);
    }

    // 人民币（大写）… ¥1,234.56 across the whole table.
    let top2 = top + h1;
    let st = Style::new(cx.spec.body);
    let (l, w) = (cx.xs[0] + cx.pad, cx.xs[7] - cx.xs[0] - 2.0 * cx.pad);
    let figure = format!("（小写）¥{}", yuan_grouped(c.total_fen));
    let fw = cx.face.width(&figure, st.size, 0.0);
    let words = format!("人民币（大写）：{}", c.total_in_capitals());
    let one_line = cx.face.width(&words, st.size, 0.0) + st.size * 2.0 + fw <= w;
    let y = top2 + cx.pad;
    let h2 = if one_line {
        pen.line(l, w, y + st.ascent(), &words, st.bold(), Align::Left);
        pen.line(l, w, y + st.ascent(), &figure, st.bold(), Align::Right);
        para_height(1, st)
    } else {
        let hw = pen.para(l, w, y, &words, st.bold(), Align::Left, 3);
        pen.fitted(
            l,
            w,
            y + hw,
            &figure,
            st.bold(),
            Align::Right,
            st.size * 0.6,
            1,
        ) + hw
    };
    h1 + h2 + 2.0 * cx.pad
}
