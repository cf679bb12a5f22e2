//! The cost of framing: a 1 GiB stream of 256-byte messages, read in 64 KiB pieces, cut by
//! `line` and by `length:4:2:be:6` beside `none` (the reads as they come), in the same run.
//! The ratio to `none` is the figure (goal: framing costs under 20 % of its throughput).
//!
//! Run: `cargo bench --bench framing` (SOCKSCOPE_BENCH_MIB changes the 1024 MiB size).
// A benchmark may panic on the unexpected; the product may not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sockscope::payload::framing::{FrameSpec, Framer, DEFAULT_MAX_FRAME};
use std::time::Instant;

const MESSAGE: usize = 256;
const READ: usize = 64 << 10;

/// One 64 KiB read's worth of the stream, for `spec` (messages end where the spec says).
fn stream_block(spec: &FrameSpec) -> Vec<u8> {
    let mut message = vec![b'x'; MESSAGE];
    match spec {
        FrameSpec::Line => message[MESSAGE - 1] = b'\n',
        FrameSpec::Length { .. } => {
            message[..6].copy_from_slice(&[0, 1, 0, 0, 0, 0xFA]); // 250 + 6 = 256
        }
        _ => {}
    }
    message.iter().copied().cycle().take(READ).collect()
}

/// MiB/s framing `total` bytes with `spec`, and the frames it found.
fn run(spec: FrameSpec, total: usize) -> (f64, usize) {
    let block = stream_block(&spec);
    let mut framer = Framer::new(spec, DEFAULT_MAX_FRAME);
    let mut frames = Vec::new();
    let mut count = 0;
    let start = Instant::now();
    for _ in 0..total / READ {
        framer.push(&block, &mut frames);
        count += frames.len();
        frames.clear();
    }
    let secs = start.elapsed().as_secs_f64();
    ((total >> 20) as f64 / secs, count)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let mib: usize = std::env::var("SOCKSCOPE_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let total = mib << 20;
    println!(
        "Framing {mib} MiB of {MESSAGE}-byte messages read {} KiB at a time:",
        READ >> 10
    );
    let (none, reads) = run(FrameSpec::None, total);
    println!("  none              {none:10.0} MiB/s  ({reads} reads)");
    for spec in ["line", "length:4:2:be:6"] {
        let (rate, frames) = run(spec.parse().unwrap(), total);
        assert_eq!(frames, total / MESSAGE, "every message framed");
        println!(
            "  {spec:<17} {rate:10.0} MiB/s  ({frames} frames)  ratio to none = {:.2}",
            rate / none
        );
    }
}
