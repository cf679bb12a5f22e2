//! CPU time of one frame of the receive log holding 1,000,000 entries, beside the same frame
//! holding 100 entries, measured in the same run. The ratio is the figure: virtualised rows
//! keep it near 1.
//!
//! Run: `cargo bench --bench log_view`.
// A benchmark may panic on the unexpected and spawn plain threads; the product may not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use eframe::egui;
use sockscope::ui::i18n::Lang;
use sockscope::ui::log_view::{EntryKind, LogEntry, LogView};
use std::time::{Duration, Instant, SystemTime};

fn filled(n: usize) -> LogView {
    let mut log = LogView::default();
    log.max_entries = n.max(100);
    let peer = "127.0.0.1:5000".parse().unwrap();
    for i in 0..n {
        log.push(LogEntry {
            time: SystemTime::now(),
            kind: if i % 2 == 0 {
                EntryKind::Rx
            } else {
                EntryKind::Tx
            },
            peer: Some(peer),
            bytes: format!("message number {i} with some payload text").into_bytes(),
        });
    }
    log
}

/// Mean time of a frame after warm-up.
fn frame_time(log: &mut LogView, frames: u32) -> Duration {
    let ctx = egui::Context::default();
    let input = || egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1280.0, 820.0),
        )),
        ..Default::default()
    };
    let run = |log: &mut LogView| {
        let _ = ctx.run_ui(input(), |ui| {
            egui::CentralPanel::default().show(ui, |ui| {
                log.ui(ui, Lang::En);
            });
        });
    };
    for _ in 0..5 {
        run(log);
    }
    let start = Instant::now();
    for _ in 0..frames {
        run(log);
    }
    start.elapsed() / frames
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let mut small = filled(100);
    let mut large = filled(1_000_000);
    let small_t = frame_time(&mut small, 200);
    let large_t = frame_time(&mut large, 200);
    println!("Receive log, one frame (1280x820):");
    println!(
        "  100 entries        {:8.1} µs",
        small_t.as_secs_f64() * 1e6
    );
    println!(
        "  1,000,000 entries  {:8.1} µs",
        large_t.as_secs_f64() * 1e6
    );
    println!(
        "  ratio 1M / 100     = {:.2}",
        large_t.as_secs_f64() / small_t.as_secs_f64()
    );
    large.filter = "number 99999".into();
    let filtering = frame_time(&mut large, 20);
    println!(
        "  a frame while a new filter works through 1M entries (25,000 a frame): {:.1} ms",
        filtering.as_secs_f64() * 1e3
    );
}
