//! The company's round electronic seal (电子印章), drawn as vectors in red:
//! a ring, the company name along the upper arc (each glyph rotated to
//! face outwards), a five-pointed star in the middle and 收费专用章 below
//! it. Multiplied onto the page like ink, so the text under it stays
//! legible. The seal's lettering is drawn as outlines, not text, so that
//! copying or extracting the receipt's text does not pick it up.

use krilla::blend::BlendMode;
use krilla::geom::{PathBuilder, Point, Transform};
use krilla::surface::Surface;

use crate::draw::{fill, stroke};
use crate::font::Face;
use crate::layout::RED;

/// Widest arc the company name may take, in degrees.
const MAX_ARC: f32 = 250.0;
/// Ink opacity.
const INK: f32 = 0.9;

/// Draws the seal of diameter `d` centred at `(cx, cy)`.
pub(crate) fn draw(surface: &mut Surface, face: &Face, cx: f32, cy: f32, d: f32, company: &str) {
    let r = d / 2.0;
    surface.push_blend_mode(BlendMode::Multiply);

    // Ring.
    let ring_w = d * 0.035;
    if let Some(path) = circle(cx, cy, r - ring_w / 2.0) {
        surface.set_fill(None);
        surface.set_stroke(Some(stroke(RED, ring_w, INK)));
        surface.draw_path(&path);
    }
    surface.set_stroke(None);
    surface.set_fill(Some(fill(RED, INK)));

    // Star.
    if let Some(path) = star(cx, cy, d * 0.16) {
        surface.draw_path(&path);
    }

    // 收费专用章 under the star.
    let label = "收费专用章";
    let ls = d * 0.1;
    let lw = face.width(label, ls, 0.0);
    surface.draw_glyphs(
        Point::from_xy(cx - lw / 2.0, cy + r * 0.58),
        &face.glyphs(label, 0.0),
        face.font.clone(),
        label,
        ls,
        true,
    );

    arc_text(surface, face, cx, cy, r - ring_w - d * 0.035, d, company);
    surface.set_fill(None);
    surface.pop();
}

/// The company name along the upper arc, inside radius `inner`.
fn arc_text(
    surface: &mut Surface,
    face: &Face,
    cx: f32,
    cy: f32,
    inner: f32,
    d: f32,
    company: &str,
) {
    let chars: Vec<char> = company.trim().chars().filter(|c| !c.is_control()).collect();
    if chars.is_empty() {
        return;
    }
    let n = chars.len() as f32;
    // Start at 14% of the diameter and shrink until the name fits the arc.
    let mut size = d * 0.14;
    let mut step = 0.0;
    for _ in 0..4 {
        let mid = inner - size * 0.44;
        step = (size * 1.08 / mid).to_degrees();
        if step * n <= MAX_ARC || size <= d * 0.075 {
            break;
        }
        size = (size * MAX_ARC / (step * n)).max(d * 0.075);
    }
    // Very long names crowd together rather than run past the bottom.
    let step = step.min(MAX_ARC / n);
    let baseline_r = inner - size * 0.88;
    let first = -step * (n - 1.0) / 2.0;
    let mut buf = [0u8; 4];
    for (i, c) in chars.iter().enumerate() {
        let s: &str = c.encode_utf8(&mut buf);
        let gw = face.width(s, size, 0.0);
        let angle = first + step * i as f32;
        surface.push_transform(&Transform::from_rotate_at(angle, cx, cy));
        surface.draw_glyphs(
            Point::from_xy(cx - gw / 2.0, cy - baseline_r),
            &face.glyphs(s, 0.0),
            face.font.clone(),
            s,
            size,
            true,
        );
        surface.pop();
    }
}

/// A circle of four cubic Béziers.
pub(crate) fn circle(cx: f32, cy: f32, r: f32) -> Option<krilla::geom::Path> {
    const K: f32 = 0.552_284_8;
    let k = r * K;
    let mut pb = PathBuilder::new();
    pb.move_to(cx + r, cy);
    pb.cubic_to(cx + r, cy + k, cx + k, cy + r, cx, cy + r);
    pb.cubic_to(cx - k, cy + r, cx - r, cy + k, cx - r, cy);
    pb.cubic_to(cx - r, cy - k, cx - k, cy - r, cx, cy - r);
    pb.cubic_to(cx + k, cy - r, cx + r, cy - k, cx + r, cy);
    pb.close();
    pb.finish()
}

/// A five-pointed star with one point up.
fn star(cx: f32, cy: f32, r: f32) -> Option<krilla::geom::Path> {
    let inner = r * 0.382;
    let mut pb = PathBuilder::new();
    for k in 0..10 {
        let rad = if k % 2 == 0 { r } else { inner };
        let a = (-90.0 + 36.0 * k as f32).to_radians();
        let (x, y) = (cx + rad * a.cos(), cy + rad * a.sin());
        if k == 0 {
            pb.move_to(x, y);
        } else {
            pb.line_to(x, y);
        }
    }
    pb.close();
    pb.finish()
}
