//! Decoding speed and the chart's frame time, each beside a baseline in the same run:
//! - Modbus TCP frames decoded per second on one core (request/answer pairs, paired by
//!   transaction id), beside the same stream only framed (`length:4:2:be:6`);
//! - one frame of the chart window holding 1,000,000 points (two series of 500,000), beside
//!   the same chart empty.
//!
//! Run: `cargo bench --bench decode`.
// A benchmark may panic on the unexpected; the product may not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eframe::egui;
use sockscope::payload::decode::{DecodeSpec, Decoder, Summary};
use sockscope::payload::framing::{FrameSpec, Framer};
use sockscope::ui::i18n::Lang;
use sockscope::ui::values::{chart_ui, Values};
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

/// `pairs` request/answer pairs of "read 3 holding registers", transaction ids counting up.
fn modbus_stream(pairs: u16) -> (Vec<u8>, Vec<u8>) {
    let (mut requests, mut answers) = (Vec::new(), Vec::new());
    for tid in 0..pairs {
        requests.extend_from_slice(&tid.to_be_bytes());
        requests.extend_from_slice(&[0, 0, 0, 6, 1, 3, 0, 2, 0, 3]);
        answers.extend_from_slice(&tid.to_be_bytes());
        answers.extend_from_slice(&[0, 0, 0, 9, 1, 3, 6, 0, 102, 0, 103, 0, 104]);
    }
    (requests, answers)
}

fn frames(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut framer = Framer::new(
        FrameSpec::Length {
            offset: 4,
            size: 2,
            big_endian: true,
            adjust: 6,
        },
        1 << 20,
    );
    let mut out = Vec::new();
    framer.push(stream, &mut out);
    out.into_iter().map(|f| f.bytes).collect()
}

fn decode_rate() {
    const PAIRS: u16 = 50_000;
    const ROUNDS: u32 = 10;
    let (requests, answers) = modbus_stream(PAIRS);
    // Baseline: framing alone, both directions.
    let start = Instant::now();
    let mut count = 0usize;
    for _ in 0..ROUNDS {
        count += black_box(frames(&requests)).len() + black_box(frames(&answers)).len();
    }
    let framing = start.elapsed();
    let framing_rate = count as f64 / framing.as_secs_f64();
    // Framing and decoding, request then answer, as a connection sees them.
    let start = Instant::now();
    let mut decoded = 0usize;
    let mut values = 0i64;
    for _ in 0..ROUNDS {
        let mut decoder = Decoder::new(DecodeSpec::ModbusTcp);
        let (q, a) = (frames(&requests), frames(&answers));
        for (q, a) in q.iter().zip(&a) {
            decoder.decode(true, q).unwrap();
            let d = decoder.decode(false, a).unwrap();
            if let Summary::Modbus(m) = &d.summary {
                values += m.values.iter().sum::<i64>();
            }
            decoded += 2;
        }
    }
    let both = start.elapsed();
    assert_eq!(values, i64::from(ROUNDS) * i64::from(PAIRS) * 309);
    let rate = decoded as f64 / both.as_secs_f64();
    println!(
        "Modbus TCP, {} frames ({PAIRS} request/answer pairs x {ROUNDS}):",
        decoded
    );
    println!("  framed only            {:>12.0} frames/s", framing_rate);
    println!(
        "  framed and decoded     {:>12.0} frames/s  (goal >= 1,000,000)",
        rate
    );
    println!("  ratio decoded/framed = {:.2}", rate / framing_rate);
}

/// Mean time of one frame of the chart after warm-up.
fn chart_frame_time(values: &mut Values, frames: u32) -> Duration {
    let ctx = egui::Context::default();
    let input = || egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1280.0, 820.0),
        )),
        ..Default::default()
    };
    let t = Lang::En.t();
    let run = |values: &mut Values| {
        let _ = ctx.run_ui(input(), |ui| {
            egui::CentralPanel::default().show(ui, |ui| chart_ui(ui, t, values, 1));
        });
    };
    for _ in 0..5 {
        run(values);
    }
    let start = Instant::now();
    for _ in 0..frames {
        run(values);
    }
    start.elapsed() / frames
}

fn chart_time() {
    let mut empty = Values::default();
    let mut full = Values {
        window_s: 0.0, // everything in view: the worst case
        ..Values::default()
    };
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let (requests, answers) = modbus_stream(500);
    let mut decoder = Decoder::new(DecodeSpec::ModbusTcp);
    let (q, a) = (frames(&requests), frames(&answers));
    decoder.decode(true, &q[0]).unwrap();
    let sample = decoder.decode(false, &a[0]).unwrap();
    // 500,000 answers, 10 ms apart: holding.2 and holding.3 charted, 1,000,000 points.
    for i in 0..500_000u64 {
        let mut d = sample.clone();
        for f in &mut d.fields {
            if let sockscope::payload::decode::Value::Int(v) = &mut f.value {
                *v += (i % 97) as i64;
            }
        }
        d.fields
            .retain(|f| f.name == "holding.2" || f.name == "holding.3");
        full.push(t0 + Duration::from_millis(10 * i), &d);
    }
    for s in full.series.values_mut() {
        s.charted = true;
    }
    let points: usize = full.series.values().map(|s| s.points.len()).sum();
    assert_eq!(points, 1_000_000);
    let empty_t = chart_frame_time(&mut empty, 50);
    let full_t = chart_frame_time(&mut full, 50);
    println!("Chart, one frame (1280x820):");
    println!(
        "  empty                  {:>10.2} ms",
        empty_t.as_secs_f64() * 1e3
    );
    println!(
        "  1,000,000 points       {:>10.2} ms  (goal <= 16 ms)",
        full_t.as_secs_f64() * 1e3
    );
    println!(
        "  ratio full/empty     = {:.1}",
        full_t.as_secs_f64() / empty_t.as_secs_f64()
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    decode_rate();
    chart_time();
}
