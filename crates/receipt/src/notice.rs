//! Printable overdue notices (催缴通知单) to post at an owner's door: one
//! notice per room or space, each starting on a new A4 or A5 page, a batch
//! in one PDF ([`render_notices`]).
//!
//! A notice shows only its own [`NoticeInput`]: the company and estate, the
//! room or space, the date, the letter from [`NoticeInput::letter`] (its
//! wording is the domain's, polite by construction and checked against
//! [`doorstep_domain::notice::FORBIDDEN_WORDS`] here once more), a table of
//! the overdue lines with their totals in figures and capitals, the QR code
//! of the owner's payment/booking link, and the sign-off with the company
//! seal (the same drawing as on receipts). When the notice claims no late
//! fee, the table has no late-fee columns either. A long table continues on
//! further pages of the same notice, its header repeated; the QR code and
//! the sign-off stay together after the table.
//!
//! Built like the receipt sheets: every page is a list of measured
//! drawing operations (`layout::Op`), replayed by `draw` on krilla with the
//! compiled-in font. Deterministic: no creation date, the document ID is a
//! hash of the notices.

use doorstep_domain::cn::amount_in_capitals;
use doorstep_domain::notice::{NoticeInput, NoticeLine, forbidden_word};
use krilla::Document;
use krilla::SerializeSettings;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use sha2::{Digest, Sha256};

use crate::content::yuan_grouped;
use crate::font::Face;
use crate::layout::{
    Align, BLACK, GREY, Op, PageOps, Pen, SHADE, Style, para_height, qr_modules, quiet_zone,
};
use crate::slip::shift;
use crate::{Layout, ReceiptError, draw};

/// The caption printed beside the QR code.
pub const QR_CAPTION: &str = "扫码查看明细、在线缴费或预约上门收费";

/// One notice to print: one room or space and its owner, nobody else.
#[derive(Debug, Clone, Copy)]
pub struct NoticeDoc<'a> {
    /// What the notice says (its letter, lines, link and sign-off).
    pub notice: &'a NoticeInput,
}

/// The notices as one PDF, each starting on a new page of `layout`
/// ([`Layout::A4`] or [`Layout::A5`]); a notice whose table does not fit
/// one page continues on the next ones (`第 n 页 / 共 m 页` counts the pages
/// of that notice).
///
/// Fails with [`ReceiptError::Render`] for [`Layout::Thermal80`] (notices
/// are posted at doors, so they print on A4 or A5 paper), for an empty
/// batch, for a notice without overdue lines, and for a notice whose text
/// contains a forbidden threat.
pub fn render_notices(docs: &[NoticeDoc], layout: Layout) -> Result<Vec<u8>, ReceiptError> {
    let spec = match layout {
        Layout::A4 => &A4,
        Layout::A5 => &A5,
        Layout::Thermal80 => {
            return Err(ReceiptError::Render(
                "overdue notices print on A4 or A5 paper, not on 80 mm thermal slips".into(),
            ));
        }
    };
    if docs.is_empty() {
        return Err(ReceiptError::Render("no overdue notices to print".into()));
    }
    let face = Face::get()?;
    let mut pages = Vec::new();
    for d in docs {
        pages.extend(layout_notice(face, d.notice, spec)?);
    }
    write(face, docs, &pages)
}

/// Page geometry and type sizes of one paper size.
pub(crate) struct Spec {
    w: f32,
    h: f32,
    mx: f32,
    mt: f32,
    mb: f32,
    /// The letter.
    body: f32,
    /// Captions, footers, the late-fee calculation.
    small: f32,
    /// Table cells.
    table: f32,
    title: f32,
    company: f32,
    seal: f32,
    qr: f32,
}

/// A4, 210 × 297 mm.
const A4: Spec = Spec {
    w: 595.28,
    h: 841.89,
    mx: 56.0,
    mt: 45.0,
    mb: 36.0,
    body: 11.5,
    small: 8.5,
    table: 9.5,
    title: 26.0,
    company: 15.0,
    seal: 113.4, // 40 mm
    qr: 85.0,    // 30 mm
};

/// A5, 148 × 210 mm.
const A5: Spec = Spec {
    w: 419.53,
    h: 595.28,
    mx: 36.0,
    mt: 30.0,
    mb: 26.0,
    body: 9.0,
    small: 6.8,
    table: 7.5,
    title: 19.0,
    company: 12.0,
    seal: 96.4, // 34 mm
    qr: 65.2,   // 23 mm
};

/// The page geometry the parts share.
struct Ctx<'a> {
    face: &'a Face,
    spec: &'a Spec,
}

impl Ctx<'_> {
    fn left(&self) -> f32 {
        self.spec.mx
    }
    fn right(&self) -> f32 {
        self.spec.w - self.spec.mx
    }
    fn width(&self) -> f32 {
        self.right() - self.left()
    }
    fn footer_h(&self) -> f32 {
        Style::new(self.spec.small).leading() + 8.0
    }
    /// Where content must end.
    fn bottom(&self) -> f32 {
        self.spec.h - self.spec.mb - self.footer_h()
    }
    fn pad(&self) -> f32 {
        self.spec.table * 0.45
    }
}

/// A piece of the notice laid out from y = 0.
struct Seg {
    ops: Vec<Op>,
    height: f32,
    /// Must stand on the same page as the next piece.
    keep_next: bool,
    /// A table row: on a new page the table header comes first.
    row: bool,
}

impl Seg {
    fn new(pen: Pen, height: f32) -> Seg {
        Seg {
            ops: pen.ops,
            height,
            keep_next: false,
            row: false,
        }
    }
}

/// One table column: share of the table width, header, alignment.
struct Col {
    share: f32,
    head: &'static str,
    align: Align,
}

/// The columns: without late-fee columns when the notice claims none.
fn columns(late: bool) -> Vec<Col> {
    let col = |share, head, align| Col { share, head, align };
    if late {
        vec![
            col(0.20, "收费项目", Align::Left),
            col(0.13, "所属期", Align::Center),
            col(0.14, "欠费本金", Align::Right),
            col(0.12, "违约金", Align::Right),
            col(0.41, "违约金计算", Align::Left),
        ]
    } else {
        vec![
            col(0.45, "收费项目", Align::Left),
            col(0.25, "所属期", Align::Center),
            col(0.30, "欠费本金", Align::Right),
        ]
    }
}

/// The table: its columns and their edges (left edges, then the right edge).
struct Table {
    cols: Vec<Col>,
    xs: Vec<f32>,
}

impl Table {
    fn new(cx: &Ctx, late: bool) -> Table {
        let cols = columns(late);
        let mut xs = vec![cx.left()];
        let mut acc = cx.left();
        for c in &cols {
            acc += c.share * cx.width();
            xs.push(acc);
        }
        if let Some(last) = xs.last_mut() {
            *last = cx.right();
        }
        Table { cols, xs }
    }

    fn cell(&self, cx: &Ctx, i: usize) -> (f32, f32) {
        let pad = cx.pad();
        (self.xs[i] + pad, self.xs[i + 1] - self.xs[i] - 2.0 * pad)
    }

    fn outer(&self) -> (f32, f32) {
        (self.xs[0], self.xs[self.xs.len() - 1])
    }

    /// Vertical rules of a row from `top` to `bottom`; `inner` are the
    /// column indexes whose left edges get a rule.
    fn rules(&self, pen: &mut Pen, top: f32, bottom: f32, inner: &[usize]) {
        let (l, r) = self.outer();
        for &i in inner {
            pen.vrule(self.xs[i], top, bottom, 0.3);
        }
        for x in [l, r] {
            pen.ops.push(Op::Line {
                x1: x,
                y1: top,
                x2: x,
                y2: bottom,
                width: 0.9,
                color: BLACK,
            });
        }
    }
}

/// Lays out one notice on as many pages of `spec` as it needs.
fn layout_notice(face: &Face, n: &NoticeInput, spec: &Spec) -> Result<Vec<PageOps>, ReceiptError> {
    if n.lines.is_empty() {
        return Err(ReceiptError::Render(format!(
            "the notice for {} has no overdue lines",
            n.object
        )));
    }
    let letter = n.letter();
    if let Some(w) = forbidden_word(&letter.join("\n")) {
        return Err(ReceiptError::Render(format!(
            "the notice for {} contains the forbidden word {w}",
            n.object
        )));
    }
    let cx = Ctx { face, spec };
    let late = n.late_fees().0 != 0 || n.lines.iter().any(|l| l.late_fee.0 != 0);
    let table = Table::new(&cx, late);

    // The letter down to the sign-off, then the table, then the QR code
    // and the sign-off with the seal.
    let (signoff, paras) = letter
        .split_last()
        .ok_or_else(|| ReceiptError::Render("the notice has no text".into()))?;
    let mut segs = Vec::new();
    for (i, p) in paras.iter().enumerate() {
        segs.extend(paragraph(&cx, p, i > 0));
    }
    let mut head = table_head(&cx, &table, true);
    head.keep_next = true;
    segs.push(head);
    for l in &n.lines {
        segs.push(table_row(&cx, &table, l));
    }
    let mut sums = totals(&cx, &table, n);
    sums.row = true;
    segs.push(sums);
    segs.push(closing(&cx, n, signoff)?);

    // Stack the pieces into pages.
    struct Page {
        ops: Vec<Op>,
        y: f32,
        fresh: bool,
    }
    let first = {
        let mut pen = Pen::new(face);
        let y = first_header(&cx, &mut pen, n);
        Page {
            ops: pen.ops,
            y,
            fresh: true,
        }
    };
    let mut pages = vec![first];
    for i in 0..segs.len() {
        let seg = &segs[i];
        let mut need = seg.height;
        if seg.keep_next
            && let Some(next) = segs.get(i + 1)
        {
            need += next.height;
        }
        let last = pages.len() - 1;
        if pages[last].y + need > cx.bottom() && !pages[last].fresh {
            let mut pen = Pen::new(face);
            let mut y = continued_header(&cx, &mut pen, n);
            if seg.row {
                let head = table_head(&cx, &table, false);
                pen.ops.extend(head.ops.into_iter().map(|op| shift(op, y)));
                y += head.height;
            }
            pages.push(Page {
                ops: pen.ops,
                y,
                fresh: true,
            });
        }
        let Some(page) = pages.last_mut() else {
            break;
        };
        let dy = page.y;
        page.ops
            .extend(seg.ops.iter().cloned().map(|op| shift(op, dy)));
        page.y += seg.height;
        page.fresh = false;
    }

    let count = pages.len();
    Ok(pages
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let mut pen = Pen::new(face);
            pen.ops = p.ops;
            footer(&cx, &mut pen, n, i, count);
            PageOps {
                width: spec.w,
                height: spec.h,
                ops: pen.ops,
            }
        })
        .collect())
}

/// The first page's header: company, title, estate, room, date; returns
/// where the letter starts.
fn first_header(cx: &Ctx, pen: &mut Pen, n: &NoticeInput) -> f32 {
    let s = cx.spec;
    let (l, w) = (cx.left(), cx.width());
    let mut y = s.mt;
    let company = Style::new(s.company).bold();
    y += pen.fitted(
        l,
        w,
        y,
        &n.company,
        company,
        Align::Center,
        s.company * 0.7,
        2,
    );
    y += s.title * 0.3;

    let title = Style::new(s.title).bold();
    let base = y + s.title * 0.95;
    pen.spaced(l, w, base, "催缴通知单", title, Align::Center, 0.5);
    let tw = cx.face.width("催缴通知单", s.title, 0.5) + s.title;
    let (t1, t2) = (l + (w - tw) / 2.0, l + (w + tw) / 2.0);
    pen.hrule(t1, t2, base + s.title * 0.28, 0.8);
    pen.hrule(t1, t2, base + s.title * 0.28 + 2.2, 0.4);
    y = base + s.title * 0.28 + 2.2 + s.small * 0.6;
    let sub = Style::new(s.small).color(GREY);
    pen.spaced(
        l,
        w,
        y + sub.ascent(),
        "Overdue notice",
        sub,
        Align::Center,
        0.15,
    );
    y += sub.leading() + s.body * 0.7;

    let st = Style::new(s.body * 0.92);
    let half = w / 2.0;
    let date = n.date.strftime("%Y年%m月%d日").to_string();
    let periods = n.periods();
    let rows: [[(&str, &str); 2]; 2] = [
        [("小区", &n.estate), ("通知日期", &date)],
        [("房号/车位", &n.object), ("欠费所属期", &periods)],
    ];
    for [a, b] in rows {
        let ha = pen.field(l, half - s.body, y, a.0, a.1, st, 3);
        let hb = pen.field(l + half, half, y, b.0, b.1, st, 2);
        y += ha.max(hb) + s.body * 0.3;
    }
    y += s.body * 0.2;
    pen.hrule(l, l + w, y, 0.6);
    y + s.body * 0.9
}

/// The header of a continuation page; returns where the content starts.
fn continued_header(cx: &Ctx, pen: &mut Pen, n: &NoticeInput) -> f32 {
    let s = cx.spec;
    let (l, w) = (cx.left(), cx.width());
    let st = Style::new(s.body).bold();
    let object_w = (cx.face.width(&n.object, s.body, 0.0) + s.body).min(w * 0.5);
    let h1 = pen.fitted(
        l,
        w - object_w,
        s.mt,
        &format!("催缴通知单（续）　{}", n.estate),
        st,
        Align::Left,
        s.small,
        1,
    );
    let h2 = pen.fitted(
        l + w - object_w,
        object_w,
        s.mt,
        &n.object,
        st,
        Align::Right,
        s.small,
        2,
    );
    let y = s.mt + h1.max(h2) + s.body * 0.3;
    pen.hrule(l, l + w, y, 0.6);
    y + s.body * 0.8
}

/// The room and page number at the bottom of every page.
fn footer(cx: &Ctx, pen: &mut Pen, n: &NoticeInput, page: usize, count: usize) {
    let s = cx.spec;
    let st = Style::new(s.small).color(GREY);
    let top = s.h - s.mb - st.leading();
    pen.hrule(cx.left(), cx.right(), top - 3.0, 0.3);
    let numbers = format!("第 {} 页 / 共 {count} 页", page + 1);
    let nw = cx.face.width(&numbers, s.small, 0.0);
    pen.fitted(
        cx.left(),
        cx.width() - nw - s.small * 2.0,
        top,
        &format!("{}　{}　{}", n.company, n.estate, n.object),
        st,
        Align::Left,
        s.small * 0.7,
        1,
    );
    if count > 1 {
        pen.line(
            cx.left(),
            cx.width(),
            top + st.ascent(),
            &numbers,
            st,
            Align::Right,
        );
    }
}

/// A paragraph of the letter as one piece per line (so that a long one may
/// continue on the next page), first line indented by two characters.
fn paragraph(cx: &Ctx, text: &str, indent: bool) -> Vec<Seg> {
    let st = Style::new(cx.spec.body);
    let leading = st.size * 1.75;
    let text = if indent {
        format!("\u{3000}\u{3000}{text}")
    } else {
        text.to_string()
    };
    let lines = wrap_letter(cx.face, &text, st.size, cx.width());
    let count = lines.len();
    lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let mut pen = Pen::new(cx.face);
            pen.line(cx.left(), cx.width(), st.ascent(), &l, st, Align::Left);
            let gap = if i + 1 == count { st.size * 0.45 } else { 0.0 };
            Seg::new(pen, leading + gap)
        })
        .collect()
}

/// Characters that must not start a line (as in [`Face::wrap`]).
const NO_LINE_START: &str = "，。、；：！？）》」』】〕,.;:!?)]}%";

/// Whether `c` belongs to a number or Latin word that should not be split.
fn wordish(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.'
}

/// [`Face::wrap`] for the letter, with two more rules: no closing
/// punctuation at a line start even after another one (`…分）。`), and no
/// break inside a number or Latin word that follows CJK text
/// (`截至2026年`): the characters before such a break move to the next
/// line and the rest is wrapped again.
fn wrap_letter(face: &Face, text: &str, size: f32, width: f32) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let lines = face.wrap(rest, size, width);
        // Wrapping only drops whitespace: count the rest's other characters
        // to find where each line starts in it.
        let mut consumed = 0;
        let mut fix = None;
        for i in 1..lines.len() {
            consumed += non_space(&lines[i - 1]);
            let (prev, next) = (&lines[i - 1], &lines[i]);
            let at = offset(rest, consumed);
            let mid_word = next.starts_with(wordish)
                && prev.ends_with(wordish)
                && !rest[at..].starts_with(char::is_whitespace);
            let punct = next.starts_with(|c| NO_LINE_START.contains(c));
            if !(mid_word || punct) {
                continue;
            }
            let mut prev: Vec<char> = prev.chars().collect();
            let mut carry = Vec::new();
            if mid_word {
                // The number or word run at the end of the previous line.
                let run = prev.iter().rev().take_while(|c| wordish(**c)).count();
                if run < prev.len() {
                    carry = prev.split_off(prev.len() - run);
                }
            }
            if punct {
                // The character the punctuation follows, and any closing
                // punctuation before it.
                while prev.len() > 1 && carry.first().is_none_or(|c| NO_LINE_START.contains(*c)) {
                    if let Some(c) = prev.pop() {
                        carry.insert(0, c);
                    }
                }
            }
            if !carry.is_empty() {
                let moved: String = carry.into_iter().collect();
                let from = offset(rest, consumed - non_space(&moved));
                fix = Some((i, prev.into_iter().collect::<String>(), from));
                break;
            }
        }
        let Some((i, prev, from)) = fix else {
            out.extend(lines);
            return out;
        };
        out.extend(lines[..i - 1].iter().cloned());
        out.push(prev.trim_end().to_string());
        rest = rest[from..].trim_start();
    }
}

/// Characters of `s` other than whitespace.
fn non_space(s: &str) -> usize {
    s.chars().filter(|c| !c.is_whitespace()).count()
}

/// The byte index in `s` just after its first `n` characters other than
/// whitespace.
fn offset(s: &str, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    s.char_indices()
        .filter(|(_, c)| !c.is_whitespace())
        .nth(n - 1)
        .map_or(s.len(), |(i, c)| i + c.len_utf8())
}

/// The table's header row, with the table caption above it on the first
/// page (`caption`).
fn table_head(cx: &Ctx, t: &Table, caption: bool) -> Seg {
    let s = cx.spec;
    let mut pen = Pen::new(cx.face);
    let mut y = 0.0;
    let (l, r) = t.outer();
    if caption {
        y += s.body * 0.3;
        let st = Style::new(s.body).bold();
        pen.line(l, r - l, y + st.ascent(), "欠费明细", st, Align::Left);
        let unit = Style::new(s.small).color(GREY);
        pen.line(
            l,
            r - l,
            y + st.ascent(),
            "金额单位：元",
            unit,
            Align::Right,
        );
        y += para_height(1, st) + s.body * 0.25;
    }
    let st = Style::new(s.table).bold();
    let h = para_height(1, st) + 2.0 * cx.pad();
    pen.ops.push(Op::Fill {
        x: l,
        y,
        w: r - l,
        h,
        color: SHADE,
    });
    for (i, c) in t.cols.iter().enumerate() {
        let (x, w) = t.cell(cx, i);
        pen.fitted(
            x,
            w,
            y + cx.pad(),
            c.head,
            st,
            Align::Center,
            st.size * 0.7,
            1,
        );
    }
    pen.ops.push(Op::Line {
        x1: l,
        y1: y,
        x2: r,
        y2: y,
        width: 0.9,
        color: BLACK,
    });
    pen.hrule(l, r, y + h, 0.6);
    let inner: Vec<usize> = (1..t.cols.len()).collect();
    t.rules(&mut pen, y, y + h, &inner);
    Seg::new(pen, y + h)
}

/// An amount for a cell: `—` for none.
fn amount(f: doorstep_domain::Fen) -> String {
    if f.0 == 0 {
        "—".into()
    } else {
        yuan_grouped(f.0)
    }
}

/// One overdue line as a table row.
fn table_row(cx: &Ctx, t: &Table, l: &NoticeLine) -> Seg {
    let s = cx.spec;
    let mut pen = Pen::new(cx.face);
    let st = Style::new(s.table);
    let small = Style::new(s.small).color(GREY);
    let top = cx.pad();
    let mut h = para_height(1, st);
    let mut cells = vec![
        (l.item.clone(), st, 3),
        (l.period.clone(), st, 2),
        (yuan_grouped(l.principal.0), st, 2),
    ];
    if t.cols.len() > 3 {
        cells.push((amount(l.late_fee), st, 2));
        let calc = if l.late_fee_text.trim().is_empty() {
            "—".to_string()
        } else {
            l.late_fee_text.clone()
        };
        cells.push((calc, small, 4));
    }
    for (i, (text, cst, lines)) in cells.iter().enumerate() {
        let (x, w) = t.cell(cx, i);
        let align = t.cols[i].align;
        let used = if align == Align::Right {
            pen.fitted(x, w, top, text, *cst, align, cst.size * 0.6, *lines)
        } else {
            pen.para(x, w, top, text, *cst, align, *lines)
        };
        h = h.max(used);
    }
    let h = h + 2.0 * cx.pad();
    let (l0, r0) = t.outer();
    pen.hrule(l0, r0, h, 0.3);
    let inner: Vec<usize> = (1..t.cols.len()).collect();
    t.rules(&mut pen, 0.0, h, &inner);
    let mut seg = Seg::new(pen, h);
    seg.row = true;
    seg
}

/// The 合计 row and the total in capitals.
fn totals(cx: &Ctx, t: &Table, n: &NoticeInput) -> Seg {
    let s = cx.spec;
    let mut pen = Pen::new(cx.face);
    let st = Style::new(s.table).bold();
    let pad = cx.pad();
    let total = yuan_grouped(n.total().0);
    let mut cells = vec![(2, yuan_grouped(n.principal().0))];
    if t.cols.len() > 3 {
        cells.push((3, yuan_grouped(n.late_fees().0)));
        cells.push((4, format!("应缴合计 {total}")));
    }
    let (x, w) = (t.xs[0] + pad, t.xs[2] - t.xs[0] - 2.0 * pad);
    pen.spaced(x, w, pad + st.ascent(), "合计", st, Align::Center, 1.0);
    let mut h = para_height(1, st);
    for (col, text) in &cells {
        let (x, w) = t.cell(cx, *col);
        h = h.max(pen.fitted(x, w, pad, text, st, Align::Right, st.size * 0.6, 2));
    }
    let h1 = h + 2.0 * pad;
    let (l, r) = t.outer();
    pen.hrule(l, r, h1, 0.3);
    let inner: Vec<usize> = (2..t.cols.len()).collect();
    t.rules(&mut pen, 0.0, h1, &inner);

    // 人民币（大写）… （小写）¥… across the table.
    let st = Style::new(s.body * 0.92).bold();
    let (x, w) = (l + pad, r - l - 2.0 * pad);
    let words = format!("人民币（大写）：{}", amount_in_capitals(n.total()));
    let figure = format!("（小写）¥{total}");
    let fw = cx.face.width(&figure, st.size, 0.0);
    let top = h1 + pad;
    let h2 = if cx.face.width(&words, st.size, 0.0) + st.size * 2.0 + fw <= w {
        pen.line(x, w, top + st.ascent(), &words, st, Align::Left);
        pen.line(x, w, top + st.ascent(), &figure, st, Align::Right);
        para_height(1, st)
    } else {
        let hw = pen.para(x, w, top, &words, st, Align::Left, 3);
        hw + pen.fitted(x, w, top + hw, &figure, st, Align::Right, st.size * 0.6, 1)
    };
    let bottom = h1 + h2 + 2.0 * pad;
    t.rules(&mut pen, h1, bottom, &[]);
    pen.ops.push(Op::Line {
        x1: l,
        y1: bottom,
        x2: r,
        y2: bottom,
        width: 0.9,
        color: BLACK,
    });
    Seg::new(pen, bottom)
}

/// The QR code with its caption on the left, the sign-off with the seal
/// stamped over it on the right.
fn closing(cx: &Ctx, n: &NoticeInput, signoff: &str) -> Result<Seg, ReceiptError> {
    let s = cx.spec;
    let mut pen = Pen::new(cx.face);
    let (l, w) = (cx.left(), cx.width());
    let top = s.body * 1.2;

    // Left: the QR code, its quiet zone kept clear, the caption beside it.
    let mut left_bottom = top;
    if let Some((modules_n, modules)) = qr_modules(&n.link)? {
        let quiet = quiet_zone(s.qr, modules_n);
        let y = top + quiet;
        pen.ops.push(Op::Qr {
            x: l,
            y,
            size: s.qr,
            n: modules_n,
            modules,
        });
        let tx = l + s.qr + quiet;
        let tw = w * 0.5 - s.qr - quiet;
        let cap = Style::new(s.small * 1.1);
        let mut ty = y + s.qr * 0.15;
        // On two lines where it does not fit one, broken between clauses.
        let caption = if cx.face.width(QR_CAPTION, cap.size, 0.0) <= tw {
            QR_CAPTION.to_string()
        } else {
            QR_CAPTION.replacen("缴费或", "缴费\n或", 1)
        };
        ty += pen.para(tx, tw, ty, &caption, cap, Align::Left, 4) + s.small * 0.5;
        let phone = format!("咨询电话：{}", n.office_phone);
        ty += pen.para(
            tx,
            tw,
            ty,
            &phone,
            Style::new(s.small).color(GREY),
            Align::Left,
            2,
        );
        left_bottom = (y + s.qr + quiet).max(ty);
    }

    // Right: company and date, centred in the right column, the seal over
    // them.
    let (rx, rw) = (l + w * 0.55, w * 0.45);
    let st = Style::new(s.body);
    let lines: Vec<&str> = match signoff.rsplit_once('\u{3000}') {
        Some((a, b)) if !a.trim().is_empty() => vec![a.trim(), b.trim()],
        _ => vec![signoff.trim()],
    };
    let wrapped: Vec<Vec<String>> = lines
        .iter()
        .map(|t| cx.face.wrap_max(t, st.size, rw, 3))
        .collect();
    let count: usize = wrapped.iter().map(Vec::len).sum();
    let text_h = para_height(count, st);
    let r = s.seal / 2.0;
    let seal = ((rx + rw / 2.0).min(cx.right() - r), top + r);
    let mut y = seal.1 - text_h / 2.0;
    for l in wrapped.iter().flatten() {
        pen.line(rx, rw, y + st.ascent(), l, st, Align::Center);
        y += st.leading();
    }
    pen.ops.push(Op::Seal {
        cx: seal.0,
        cy: seal.1,
        diameter: s.seal,
        company: n.company.clone(),
    });
    let right_bottom = (seal.1 + r).max(seal.1 + text_h / 2.0);
    Ok(Seg::new(pen, left_bottom.max(right_bottom) + s.body * 0.5))
}

/// Writes the pages as a PDF.
fn write(face: &Face, docs: &[NoticeDoc], pages: &[PageOps]) -> Result<Vec<u8>, ReceiptError> {
    let settings = SerializeSettings {
        enable_tagging: false,
        ..SerializeSettings::default()
    };
    let mut doc = Document::new_with(settings);
    for p in pages {
        let size = PageSettings::from_wh(p.width, p.height).ok_or_else(|| {
            ReceiptError::Render(format!("bad page size {} × {}", p.width, p.height))
        })?;
        let mut page = doc.start_page_with(size);
        let mut surface = page.surface();
        draw::page(&mut surface, face, &p.ops);
        surface.finish();
        page.finish();
    }
    let mut hash = Sha256::new();
    for d in docs {
        hash.update(format!("{:?}\n", d.notice).as_bytes());
    }
    let id: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let title = match docs {
        [one] => format!("催缴通知单 {} {}", one.notice.estate, one.notice.object),
        _ => format!("催缴通知单（{} 份）", docs.len()),
    };
    doc.set_metadata(
        Metadata::new()
            .title(title)
            .creator("Doorstep".into())
            .language("zh-CN".into())
            .document_id(id),
    );
    doc.finish()
        .map_err(|e| ReceiptError::Render(format!("krilla: {e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::extent;
    use doorstep_domain::Fen;

    fn nasty(lines: usize, late: i64) -> NoticeInput {
        let long = "超长名称".repeat(20);
        NoticeInput {
            company: format!("北京市朝阳区{long}物业服务有限责任公司"),
            estate: long.clone(),
            object: (1..30)
                .map(|i| format!("{i}栋2单元{i:02}01"))
                .collect::<Vec<_>>()
                .join("、"),
            lines: (0..lines)
                .map(|i| NoticeLine {
                    item: format!("{long}{i}"),
                    period: "2026-01 ~ 2026-12".repeat(3),
                    principal: Fen(i64::MAX / 1000),
                    late_fee: Fen(late),
                    late_fee_text: "223750 × 0.05%/日 × 40 天，".repeat(20),
                })
                .collect(),
            contract_basis: Some(format!("《物业服务合同》{long}第十二条")),
            link: "https://doorstep.example/o/".repeat(8),
            office_phone: "0591-88888888".repeat(6),
            date: "2026-11-27".parse().unwrap(),
        }
    }

    #[test]
    fn nothing_leaves_the_page() {
        let face = Face::get().unwrap();
        for spec in [&A4, &A5] {
            for (lines, late) in [(1, 0), (1, 448), (7, 0), (60, 1234)] {
                let pages = layout_notice(face, &nasty(lines, late), spec).unwrap();
                if lines == 60 {
                    assert!(pages.len() > 2, "{}", pages.len());
                }
                for (k, p) in pages.iter().enumerate() {
                    for op in &p.ops {
                        let (l, t, r, b) = extent(face, op);
                        assert!(
                            l >= 8.0 && t >= 8.0 && r <= p.width - 8.0 && b <= p.height - 8.0,
                            "page {k}: {op:?} leaves the {}×{} page",
                            p.width,
                            p.height
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn letter_lines_keep_numbers_and_punctuation_together() {
        let face = Face::get().unwrap();
        // Closing punctuation after closing punctuation does not start a line.
        let text = "一二三四五六七八（九十）。";
        let lines = wrap_letter(face, text, 10.0, 110.0);
        assert_eq!(lines.concat(), text);
        for l in &lines[1..] {
            assert!(!l.starts_with(|c| NO_LINE_START.contains(c)), "{lines:?}");
        }
        // A date is not split after CJK text.
        let lines = wrap_letter(face, "您好，经核对截至2026年11月27日止", 10.0, 85.0);
        assert!(lines.iter().any(|l| l.contains("2026年")), "{lines:?}");
        assert_eq!(lines.concat(), "您好，经核对截至2026年11月27日止");
        // Latin words keep the space between them.
        let text = "请拨打 0591-88888888 or visit https://pay.example.com/abc 谢谢";
        let lines = wrap_letter(face, text, 10.0, 70.0);
        let squeeze = |s: &str| s.split_whitespace().collect::<String>();
        assert_eq!(squeeze(&lines.concat()), squeeze(text), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains("88888888")), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains("or")), "{lines:?}");
        for text in ["长".repeat(300), "1234567890".repeat(30), "）".repeat(50)] {
            let lines = wrap_letter(face, &text, 10.0, 60.0);
            assert_eq!(lines.concat(), text);
            for l in &lines {
                assert!(face.width(l, 10.0, 0.0) <= 60.0, "{l}");
            }
        }
    }

    #[test]
    fn refuses_thermal_empty_and_threats() {
        let n = nasty(1, 0);
        let err = render_notices(&[NoticeDoc { notice: &n }], Layout::Thermal80).unwrap_err();
        assert!(err.to_string().contains("A4 or A5"), "{err}");
        assert!(render_notices(&[], Layout::A4).is_err());
        let mut none = nasty(0, 0);
        assert!(render_notices(&[NoticeDoc { notice: &none }], Layout::A4).is_err());
        none = nasty(1, 0);
        none.estate = "逾期停水小区".into();
        let err = render_notices(&[NoticeDoc { notice: &none }], Layout::A4).unwrap_err();
        assert!(err.to_string().contains("停水"), "{err}");
    }
}
