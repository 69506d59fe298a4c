//! A page as a list of drawing operations in points, origin at the top left,
//! y downwards. The layouts ([`crate::sheet`], [`crate::slip`]) build these
//! lists with everything measured and wrapped; [`crate::draw`] replays them
//! on krilla. Keeping layout apart from drawing lets the tests check that
//! nothing leaves the page.

use crate::font::Face;

/// An sRGB colour.
pub(crate) type Rgb = (u8, u8, u8);

pub(crate) const BLACK: Rgb = (0x1a, 0x1a, 0x1a);
pub(crate) const GREY: Rgb = (0x5f, 0x5f, 0x5f);
pub(crate) const RULE: Rgb = (0x33, 0x33, 0x33);
pub(crate) const SHADE: Rgb = (0xf0, 0xf0, 0xf0);
/// Seal and receipt-number red.
pub(crate) const RED: Rgb = (0xd0, 0x02, 0x1b);

/// Millimetres to points.
pub(crate) fn mm(v: f32) -> f32 {
    v * 72.0 / 25.4
}

/// One drawing operation.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// A line of text; `(x, y)` is the start of the baseline.
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
        color: Rgb,
        bold: bool,
        /// Extra space between letters, in em.
        spacing: f32,
    },
    /// A straight rule.
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
        color: Rgb,
    },
    /// A filled rectangle.
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: Rgb,
    },
    /// A stroked rectangle.
    Frame {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        width: f32,
        color: Rgb,
    },
    /// A QR code: `modules` is `n × n`, row by row, true = dark; drawn in a
    /// `size`-point square at `(x, y)` (top left).
    Qr {
        x: f32,
        y: f32,
        size: f32,
        n: usize,
        modules: Vec<bool>,
    },
    /// The round company seal centred at `(cx, cy)`.
    Seal {
        cx: f32,
        cy: f32,
        diameter: f32,
        company: String,
    },
    /// The big diagonal void mark centred at `(cx, cy)`.
    Void { cx: f32, cy: f32, size: f32 },
}

/// Horizontal alignment of a text line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Center,
    Right,
}

/// One page's operations.
#[derive(Debug, Clone)]
pub(crate) struct PageOps {
    pub width: f32,
    pub height: f32,
    pub ops: Vec<Op>,
}

/// Text style for [`Pen`] helpers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub size: f32,
    pub color: Rgb,
    pub bold: bool,
}

impl Style {
    pub fn new(size: f32) -> Style {
        Style {
            size,
            color: BLACK,
            bold: false,
        }
    }
    pub fn color(self, color: Rgb) -> Style {
        Style { color, ..self }
    }
    pub fn bold(self) -> Style {
        Style { bold: true, ..self }
    }
    /// Baseline-to-baseline distance.
    pub fn leading(self) -> f32 {
        self.size * 1.4
    }
    /// From the top of a line box to its baseline (CJK glyphs reach about
    /// 0.88 em above the baseline).
    pub fn ascent(self) -> f32 {
        self.size * 1.08
    }
}

/// Appends measured text to an op list.
pub(crate) struct Pen<'a> {
    pub face: &'a Face,
    pub ops: Vec<Op>,
}

impl<'a> Pen<'a> {
    pub fn new(face: &'a Face) -> Pen<'a> {
        Pen {
            face,
            ops: Vec::new(),
        }
    }

    /// One line, aligned within `[x, x + w]`, baseline at `y`.
    pub fn line(&mut self, x: f32, w: f32, y: f32, text: &str, st: Style, align: Align) {
        self.spaced(x, w, y, text, st, align, 0.0);
    }

    /// One line with `spacing` em between letters.
    #[allow(clippy::too_many_arguments)]
    pub fn spaced(
        &mut self,
        x: f32,
        w: f32,
        y: f32,
        text: &str,
        st: Style,
        align: Align,
        spacing: f32,
    ) {
        if text.is_empty() {
            return;
        }
        let tw = self.face.width(text, st.size, spacing);
        let x = match align {
            Align::Left => x,
            Align::Center => x + (w - tw) / 2.0,
            Align::Right => x + w - tw,
        };
        self.ops.push(Op::Text {
            x,
            y,
            size: st.size,
            text: text.to_string(),
            color: st.color,
            bold: st.bold,
            spacing,
        });
    }

    /// Wraps `text` into `[x, x + w]` from the line box top `top` (at most
    /// `max_lines` lines); returns the height used.
    #[allow(clippy::too_many_arguments)]
    pub fn para(
        &mut self,
        x: f32,
        w: f32,
        top: f32,
        text: &str,
        st: Style,
        align: Align,
        max_lines: usize,
    ) -> f32 {
        let lines = self.face.wrap_max(text, st.size, w, max_lines);
        for (i, l) in lines.iter().enumerate() {
            let y = top + st.ascent() + i as f32 * st.leading();
            self.line(x, w, y, l, st, align);
        }
        para_height(lines.len(), st)
    }

    /// A single line shrunk (down to `min` points) to fit `w`, wrapped if
    /// even that is too wide; returns the height used.
    #[allow(clippy::too_many_arguments)]
    pub fn fitted(
        &mut self,
        x: f32,
        w: f32,
        top: f32,
        text: &str,
        st: Style,
        align: Align,
        min: f32,
        max_lines: usize,
    ) -> f32 {
        let size = self.face.fit(text, st.size, min, w);
        // Keep the baseline of the requested size so that a shrunk cell
        // lines up with its neighbours.
        let shift = st.ascent() - Style { size, ..st }.ascent();
        let h = self.para(
            x,
            w,
            top + shift,
            text,
            Style { size, ..st },
            align,
            max_lines,
        );
        h + shift
    }

    /// `label：value`, the value wrapped beside the label (hanging indent);
    /// returns the height used. An empty value prints as `—`.
    #[allow(clippy::too_many_arguments)]
    pub fn field(
        &mut self,
        x: f32,
        w: f32,
        top: f32,
        label: &str,
        value: &str,
        st: Style,
        max_lines: usize,
    ) -> f32 {
        let label = format!("{label}：");
        let label_st = st.color(GREY);
        let lw = self.face.width(&label, st.size, 0.0);
        self.line(x, lw, top + st.ascent(), &label, label_st, Align::Left);
        let value = if value.trim().is_empty() {
            "—"
        } else {
            value
        };
        let vw = (w - lw).max(st.size);
        self.para(x + lw, vw, top, value, st, Align::Left, max_lines)
    }

    /// A horizontal rule.
    pub fn hrule(&mut self, x1: f32, x2: f32, y: f32, width: f32) {
        self.ops.push(Op::Line {
            x1,
            y1: y,
            x2,
            y2: y,
            width,
            color: RULE,
        });
    }

    /// A vertical rule.
    pub fn vrule(&mut self, x: f32, y1: f32, y2: f32, width: f32) {
        self.ops.push(Op::Line {
            x1: x,
            y1,
            x2: x,
            y2,
            width,
            color: RULE,
        });
    }
}

/// Height of `n` wrapped lines.
pub(crate) fn para_height(n: usize, st: Style) -> f32 {
    if n == 0 {
        0.0
    } else {
        st.ascent() + (n - 1) as f32 * st.leading() + st.size * 0.32
    }
}

/// The QR code for `url` as modules, or `None` for an empty URL.
pub(crate) fn qr_modules(url: &str) -> Result<Option<(usize, Vec<bool>)>, crate::ReceiptError> {
    if url.is_empty() {
        return Ok(None);
    }
    let code = qrcode::QrCode::with_error_correction_level(url, qrcode::EcLevel::M)
        .map_err(|e| crate::ReceiptError::Render(format!("verify URL as QR code: {e}")))?;
    let n = code.width();
    let modules = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    Ok(Some((n, modules)))
}

/// The quiet zone a QR code of `n` modules drawn `size` points wide needs
/// around it: four modules.
pub(crate) fn quiet_zone(size: f32, n: usize) -> f32 {
    4.0 * size / n.max(1) as f32
}

/// The bounding box `(left, top, right, bottom)` an op covers, for the
/// tests that check nothing leaves the page.
#[cfg(test)]
pub(crate) fn extent(face: &Face, op: &Op) -> (f32, f32, f32, f32) {
    match op {
        Op::Text {
            x,
            y,
            size,
            text,
            spacing,
            ..
        } => {
            let w = face.width(text, *size, *spacing);
            (*x, y - size * 0.9, x + w, y + size * 0.2)
        }
        Op::Line { x1, y1, x2, y2, .. } => (x1.min(*x2), y1.min(*y2), x1.max(*x2), y1.max(*y2)),
        Op::Fill { x, y, w, h, .. } | Op::Frame { x, y, w, h, .. } => (*x, *y, x + w, y + h),
        Op::Qr { x, y, size, .. } => (*x, *y, x + size, y + size),
        Op::Seal {
            cx, cy, diameter, ..
        } => {
            let r = diameter / 2.0;
            (cx - r, cy - r, cx + r, cy + r)
        }
        Op::Void { cx, cy, .. } => (*cx, *cy, *cx, *cy),
    }
}
