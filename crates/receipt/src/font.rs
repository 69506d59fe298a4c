//! The compiled-in font (Noto Sans CJK SC, GBK subset; see
//! `assets/fonts/README.md`): glyph lookup, measuring and line breaking.
//!
//! The font has no OpenType layout features, so "shaping" is one glyph per
//! character from the cmap with its advance from `hmtx`; krilla subsets the
//! font to the glyphs a receipt uses when it writes the PDF.

use std::sync::LazyLock;

use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider};

use crate::ReceiptError;

static FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/NotoSansSC-Doorstep-GBK.otf");

static FACE: LazyLock<Option<Face>> = LazyLock::new(Face::load);

/// Characters that must not start a line (避头标点).
const NO_LINE_START: &str = "，。、；：！？）》」』】〕,.;:!?)]}%";

/// The font, ready to measure and draw with.
pub(crate) struct Face {
    /// krilla's handle (cheap to clone).
    pub font: Font,
    charmap: Charmap<'static>,
    metrics: GlyphMetrics<'static>,
    upem: f32,
}

impl Face {
    fn load() -> Option<Face> {
        let font = Font::new(FONT_BYTES.into(), 0)?;
        let sk = FontRef::new(FONT_BYTES).ok()?;
        let upem = f32::from(
            sk.metrics(Size::unscaled(), LocationRef::default())
                .units_per_em,
        );
        Some(Face {
            font,
            charmap: sk.charmap(),
            metrics: sk.glyph_metrics(Size::unscaled(), LocationRef::default()),
            upem,
        })
    }

    /// The one face, parsed once per process.
    pub fn get() -> Result<&'static Face, ReceiptError> {
        FACE.as_ref()
            .ok_or_else(|| ReceiptError::Render("the compiled-in font cannot be read".into()))
    }

    fn glyph(&self, c: char) -> (u32, f32) {
        // Control characters (tabs, newlines inside a name) print as spaces;
        // characters outside the subset print as the .notdef box.
        let c = if c.is_control() { ' ' } else { c };
        let gid = self.charmap.map(c).unwrap_or_default();
        let adv = self.metrics.advance_width(gid).unwrap_or(self.upem);
        (gid.to_u32(), adv / self.upem)
    }

    /// Advance of `c` in em.
    fn advance(&self, c: char) -> f32 {
        self.glyph(c).1
    }

    /// Width of `text` at `size` points with `spacing` em between letters.
    pub fn width(&self, text: &str, size: f32, spacing: f32) -> f32 {
        let n = text.chars().count() as f32;
        let em: f32 = text.chars().map(|c| self.advance(c)).sum();
        (em + spacing * (n - 1.0).max(0.0)) * size
    }

    /// Glyphs for `text`, `spacing` em added after each glyph but the last.
    pub fn glyphs(&self, text: &str, spacing: f32) -> Vec<KrillaGlyph> {
        let mut out: Vec<KrillaGlyph> = Vec::with_capacity(text.len());
        for (i, c) in text.char_indices() {
            let (gid, adv) = self.glyph(c);
            out.push(KrillaGlyph::new(
                GlyphId::new(gid),
                adv + spacing,
                0.0,
                0.0,
                0.0,
                i..i + c.len_utf8(),
                None,
            ));
        }
        if let Some(last) = out.last_mut() {
            last.x_advance -= spacing;
        }
        out
    }

    /// Breaks `text` into lines no wider than `max_w` at `size` points:
    /// anywhere between CJK characters, at spaces or after `/` and `-`
    /// inside Latin words, never with closing punctuation at a line start.
    /// Explicit newlines are kept.
    pub fn wrap(&self, text: &str, size: f32, max_w: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for para in text.split('\n') {
            let mut line = String::new();
            let mut w = 0.0;
            for c in para.chars() {
                let cw = self.advance(c) * size;
                if w + cw > max_w && !line.is_empty() && !line.chars().all(char::is_whitespace) {
                    let carry = break_point(&line, c);
                    let rest = line.split_off(carry);
                    lines.push(line.trim_end().to_string());
                    line = rest.trim_start().to_string();
                    w = self.width(&line, size, 0.0);
                }
                if line.is_empty() && c == ' ' {
                    continue;
                }
                line.push(c);
                w += cw;
            }
            lines.push(line);
        }
        lines
    }

    /// Like [`Face::wrap`], at most `max_lines` lines; the last one kept ends
    /// in `…` when text was dropped.
    pub fn wrap_max(&self, text: &str, size: f32, max_w: f32, max_lines: usize) -> Vec<String> {
        let mut lines = self.wrap(text, size, max_w);
        if lines.len() > max_lines.max(1) {
            lines.truncate(max_lines.max(1));
            if let Some(last) = lines.last_mut() {
                while !last.is_empty() && self.width(&format!("{last}…"), size, 0.0) > max_w {
                    last.pop();
                }
                last.push('…');
            }
        }
        lines
    }

    /// The largest size ≤ `size` (and ≥ `min`) at which `text` fits on one
    /// line of `max_w`; `min` if it fits at no size.
    pub fn fit(&self, text: &str, size: f32, min: f32, max_w: f32) -> f32 {
        let w = self.width(text, size, 0.0);
        if w <= max_w || w <= 0.0 {
            size
        } else {
            (size * max_w / w).max(min)
        }
    }
}

/// Where to split `line` (byte index of the first character that moves to
/// the next line) when `next` does not fit after it.
fn break_point(line: &str, next: char) -> usize {
    let last = line.chars().next_back();
    // Latin letters, digits, ², ., … : anything before the CJK blocks.
    let word = |c: char| !c.is_whitespace() && c < '\u{2E80}' && !NO_LINE_START.contains(c);
    if word(next) && last.is_some_and(word) {
        // Inside a Latin word or number: break after the last space, `/` or
        // `-` if there is one that leaves something on this line.
        if let Some((i, c)) = line
            .char_indices()
            .rev()
            .find(|&(_, c)| c == ' ' || c == '/' || c == '-')
        {
            let at = i + c.len_utf8();
            if i > 0 && at < line.len() {
                return at;
            }
        }
    }
    if NO_LINE_START.contains(next) && line.chars().count() > 1 {
        // Take the last character along so the punctuation is not alone.
        if let Some((i, _)) = line.char_indices().next_back() {
            return i;
        }
    }
    line.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn font_loads_and_measures() {
        let f = Face::get().unwrap();
        // CJK ideographs are one em wide; ASCII is narrower.
        assert!((f.width("收款收据", 10.0, 0.0) - 40.0).abs() < 0.01);
        assert!(f.width("abc", 10.0, 0.0) < 20.0);
        assert!((f.width("收款", 10.0, 0.5) - 25.0).abs() < 0.01);
        assert_eq!(f.glyphs("收据", 0.0).len(), 2);
        assert!(f.glyphs("据", 0.0)[0].glyph_id.to_u32() > 0);
    }

    #[test]
    fn wrapping_respects_width_and_punctuation() {
        let f = Face::get().unwrap();
        let lines = f.wrap("物业服务费物业服务费物业服务费", 10.0, 45.0);
        assert_eq!(lines, ["物业服务", "费物业服", "务费物业", "服务费"]);
        let lines = f.wrap("一二三四，五", 10.0, 40.0);
        assert_eq!(lines, ["一二三", "四，五"]);
        let lines = f.wrap("pay 4200001234 now", 10.0, 60.0);
        assert_eq!(lines[0], "pay");
        for l in f.wrap(
            "3栋2单元1201、3栋2单元1202、车位 B-023、车位 B-024",
            9.0,
            80.0,
        ) {
            assert!(f.width(&l, 9.0, 0.0) <= 80.0, "{l}");
        }
        let cut = f.wrap_max(&"长".repeat(100), 10.0, 50.0, 2);
        assert_eq!(cut.len(), 2);
        assert!(cut[1].ends_with('…'));
        assert!(f.fit("一二三四", 10.0, 5.0, 20.0) <= 5.01);
    }
}
