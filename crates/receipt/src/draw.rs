//! Replays a page's operations ([`crate::layout::Op`]) on a krilla surface.

use krilla::color::rgb;
use krilla::geom::{Path, PathBuilder, Point, Rect, Transform};
use krilla::num::NormalizedF32;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;

use crate::font::Face;
use crate::layout::{Op, RED, Rgb};
use crate::seal;

/// A solid fill of `c` at `opacity` (0–1).
pub(crate) fn fill(c: Rgb, opacity: f32) -> Fill {
    Fill {
        paint: rgb::Color::new(c.0, c.1, c.2).into(),
        opacity: NormalizedF32::new(opacity).unwrap_or(NormalizedF32::ONE),
        rule: Default::default(),
    }
}

/// A stroke of `c`, `width` points wide, at `opacity` (0–1).
pub(crate) fn stroke(c: Rgb, width: f32, opacity: f32) -> Stroke {
    Stroke {
        paint: rgb::Color::new(c.0, c.1, c.2).into(),
        width,
        opacity: NormalizedF32::new(opacity).unwrap_or(NormalizedF32::ONE),
        ..Default::default()
    }
}

fn rect(x: f32, y: f32, w: f32, h: f32) -> Option<Path> {
    let mut pb = PathBuilder::new();
    pb.push_rect(Rect::from_xywh(x, y, w, h)?);
    pb.finish()
}

/// Draws `ops` in order.
pub(crate) fn page(surface: &mut Surface, face: &Face, ops: &[Op]) {
    for op in ops {
        match op {
            Op::Text {
                x,
                y,
                size,
                text,
                color,
                bold,
                spacing,
            } => text_run(surface, face, *x, *y, *size, text, *color, *bold, *spacing),
            Op::Line {
                x1,
                y1,
                x2,
                y2,
                width,
                color,
            } => {
                let mut pb = PathBuilder::new();
                pb.move_to(*x1, *y1);
                pb.line_to(*x2, *y2);
                if let Some(p) = pb.finish() {
                    surface.set_fill(None);
                    surface.set_stroke(Some(stroke(*color, *width, 1.0)));
                    surface.draw_path(&p);
                }
            }
            Op::Fill { x, y, w, h, color } => {
                if let Some(p) = rect(*x, *y, *w, *h) {
                    surface.set_stroke(None);
                    surface.set_fill(Some(fill(*color, 1.0)));
                    surface.draw_path(&p);
                }
            }
            Op::Frame {
                x,
                y,
                w,
                h,
                width,
                color,
            } => {
                if let Some(p) = rect(*x, *y, *w, *h) {
                    surface.set_fill(None);
                    surface.set_stroke(Some(stroke(*color, *width, 1.0)));
                    surface.draw_path(&p);
                }
            }
            Op::Qr {
                x,
                y,
                size,
                n,
                modules,
            } => qr(surface, *x, *y, *size, *n, modules),
            Op::Seal {
                cx,
                cy,
                diameter,
                company,
            } => seal::draw(surface, face, *cx, *cy, *diameter, company),
            Op::Void { cx, cy, size } => void_mark(surface, face, *cx, *cy, *size),
        }
    }
    surface.set_fill(None);
    surface.set_stroke(None);
}

/// One line of text; "bold" is the regular face filled and thinly stroked
/// in the same colour (the font has one weight).
#[allow(clippy::too_many_arguments)]
fn text_run(
    surface: &mut Surface,
    face: &Face,
    x: f32,
    y: f32,
    size: f32,
    text: &str,
    color: Rgb,
    bold: bool,
    spacing: f32,
) {
    surface.set_fill(Some(fill(color, 1.0)));
    surface.set_stroke(bold.then(|| stroke(color, size * 0.035, 1.0)));
    surface.draw_glyphs(
        Point::from_xy(x, y),
        &face.glyphs(text, spacing),
        face.font.clone(),
        text,
        size,
        false,
    );
    surface.set_stroke(None);
}

/// The QR code: one path of rectangles, a rectangle per horizontal run of
/// dark modules.
fn qr(surface: &mut Surface, x: f32, y: f32, size: f32, n: usize, modules: &[bool]) {
    if n == 0 || modules.len() != n * n {
        return;
    }
    let m = size / n as f32;
    let mut pb = PathBuilder::new();
    for row in 0..n {
        let mut col = 0;
        while col < n {
            if !modules[row * n + col] {
                col += 1;
                continue;
            }
            let start = col;
            while col < n && modules[row * n + col] {
                col += 1;
            }
            // A hair of overlap so that viewers show no seams between rows.
            if let Some(r) = Rect::from_xywh(
                x + start as f32 * m,
                y + row as f32 * m,
                (col - start) as f32 * m,
                m + 0.02,
            ) {
                pb.push_rect(r);
            }
        }
    }
    if let Some(p) = pb.finish() {
        surface.set_stroke(None);
        surface.set_fill(Some(fill((0, 0, 0), 1.0)));
        surface.draw_path(&p);
    }
}

/// 作废 VOID, large, red, translucent, rotated 30° and framed twice; as
/// outlines (the void banner carries the text).
fn void_mark(surface: &mut Surface, face: &Face, cx: f32, cy: f32, size: f32) {
    let text = "作废 VOID";
    let w = face.width(text, size, 0.08);
    let (fw, fh) = (w + size * 0.6, size * 1.45);
    surface.push_transform(&Transform::from_rotate_at(-30.0, cx, cy));
    surface.set_fill(Some(fill(RED, 0.45)));
    surface.set_stroke(None);
    surface.draw_glyphs(
        Point::from_xy(cx - w / 2.0, cy + size * 0.36),
        &face.glyphs(text, 0.08),
        face.font.clone(),
        text,
        size,
        true,
    );
    surface.set_fill(None);
    surface.set_stroke(Some(stroke(RED, size * 0.06, 0.45)));
    if let Some(p) = rect(cx - fw / 2.0, cy - fh / 2.0, fw, fh) {
        surface.draw_path(&p);
    }
    let g = size * 0.12;
    surface.set_stroke(Some(stroke(RED, size * 0.025, 0.45)));
    if let Some(p) = rect(
        cx - fw / 2.0 - g,
        cy - fh / 2.0 - g,
        fw + 2.0 * g,
        fh + 2.0 * g,
    ) {
        surface.draw_path(&p);
    }
    surface.set_stroke(None);
    surface.pop();
}
