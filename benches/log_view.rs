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
            frame: None,
            decoded: None,
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

/// Resident memory of this process (Linux), in MiB.
fn rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// A flood through a log capped at 128 MiB: the memory it holds at the cap, and after the log
/// is let go (a closed tab, or a Clear past its undo time) and the memory given back.
fn memory_after_a_flood() {
    const CAP_MIB: usize = 128;
    let Some(start) = rss_mib() else {
        println!("  (no /proc/self/status here: memory not measured)");
        return;
    };
    let mut log = LogView::default();
    log.max_bytes = CAP_MIB << 20;
    let peer = "127.0.0.1:5000".parse().unwrap();
    // 1 GiB in chunks from 1 B to 64 KiB, as a flood of mixed messages arrives.
    let mut total = 0usize;
    let mut size = 1usize;
    while total < 1 << 30 {
        size = (size * 7919 + 13) % (64 << 10) + 1;
        log.push(LogEntry {
            time: SystemTime::now(),
            kind: EntryKind::Rx,
            peer: Some(peer),
            bytes: vec![0x5A; size],
            frame: None,
            decoded: None,
        });
        total += size;
    }
    let full = rss_mib().unwrap_or(0.0);
    drop(log);
    sockscope::ui::memory::give_back_freed();
    let after = rss_mib().unwrap_or(0.0);
    println!("Memory, 1 GiB through a log capped at {CAP_MIB} MiB:");
    println!("  at start            {start:8.1} MiB");
    println!(
        "  at the cap          {full:8.1} MiB  (start + {:.1}; goal start + 1.5 x cap = {:.1})",
        full - start,
        start + 1.5 * CAP_MIB as f64
    );
    println!(
        "  let go, given back  {after:8.1} MiB  (start + {:.1})",
        after - start
    );
    println!(
        "  ratio held / cap    = {:.2}",
        (full - start) / CAP_MIB as f64
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    // First, while the heap is fresh.
    memory_after_a_flood();
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
