//! Renders a typical four-line receipt N times per layout (default 200,
//! or the first numeric argument) and prints the median time per PDF, the
//! throughput and the size. One thread, plain `std::time`.
//!
//!     cargo bench -p doorstep-receipt --bench receipt_pdf [-- 500]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use doorstep_receipt::{Extras, Layout, extract_note, open, render};

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200)
        .max(1);
    let c = common::sample();
    let signer = common::signer();
    let note = c.sign(&signer).expect("sign");
    let extras = Extras {
        verify_url: "https://doorstep.example/r/7/00000123?h=1d5b1e224c44175b",
        evidence_index: Some(4711),
        void: None,
        signed_note: &note,
        key_name: common::KEY_NAME,
    };

    // Signing and verifying, for scale.
    let start = Instant::now();
    for _ in 0..n {
        let note = c.sign(&signer).expect("sign");
        open(&note, &[signer.verifier()]).expect("open");
    }
    let per = start.elapsed() / n as u32;
    println!("sign + open: {:.1} µs per receipt", per.as_secs_f64() * 1e6);

    println!("{n} PDFs per layout, 4 fee lines:");
    for layout in [Layout::A4, Layout::A5, Layout::Thermal80] {
        // The first render also parses the compiled-in font.
        let first = Instant::now();
        let pdf = render(&c, &extras, layout).expect("render");
        let first = first.elapsed();
        assert_eq!(extract_note(&pdf).expect("extract"), note);

        let mut times: Vec<Duration> = Vec::with_capacity(n);
        let all = Instant::now();
        for _ in 0..n {
            let t = Instant::now();
            let pdf = render(&c, &extras, layout).expect("render");
            times.push(t.elapsed());
            std::hint::black_box(pdf);
        }
        let total = all.elapsed();
        times.sort();
        let median = times[times.len() / 2];
        println!(
            "{:<10} median {:>6.2} ms/PDF  {:>7.1} PDFs/s  {:>5.1} KB  (first {:.1} ms)",
            format!("{layout:?}"),
            median.as_secs_f64() * 1e3,
            n as f64 / total.as_secs_f64(),
            pdf.len() as f64 / 1024.0,
            first.as_secs_f64() * 1e3,
        );
    }
}
