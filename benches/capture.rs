//! What `--pcap` costs: data into `sockscope tcp-server --once` (a real process) with and
//! without a capture, in the same run; the capture goes to a temporary folder.
//!
//! Three figures: flat out (the peer writes as fast as loopback takes it, 1 GiB), the time a
//! plain file write of the same bytes takes here (the least any capture can cost), and paced at
//! 200 MiB/s (faster than a gigabit link, 256 MiB) where a capture that could not keep up would
//! make the peer fall behind its schedule or leave bytes out.
//!
//! Run: `cargo bench --bench capture` (SOCKSCOPE_BENCH_MIB changes the flat-out size).
// A benchmark may panic on the unexpected and spawn plain threads; the product may not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BLOCK: usize = 256 << 10;
/// Rounds of (without, with): the median ratio is the figure.
const ROUNDS: usize = 7;
/// The paced runs: this many bytes at this rate.
const PACED_BYTES: u64 = 256 << 20;
const PACED_BYTES_PER_S: f64 = 200.0 * (1 << 20) as f64;

/// Seconds from the first byte sent until the server process has written everything and
/// exited; `rate`: bytes per second the peer keeps to (None: flat out).
fn run(total: u64, rate: Option<f64>, pcap: Option<&std::path::Path>) -> f64 {
    // A free port picked here: in summary mode the server prints nothing until it ends.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut args = vec![
        "tcp-server".to_string(),
        format!("127.0.0.1:{port}"),
        "--once".into(),
        "--output".into(),
        "summary".into(),
    ];
    if let Some(p) = pcap {
        args.push("--pcap".into());
        args.push(p.display().to_string());
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut s = loop {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
            break s;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let start = Instant::now();
    let block = vec![0x5Au8; BLOCK];
    let mut sent = 0u64;
    while sent < total {
        let n = (total - sent).min(BLOCK as u64) as usize;
        s.write_all(&block[..n]).unwrap();
        sent += n as u64;
        if let Some(rate) = rate {
            let due = start + Duration::from_secs_f64(sent as f64 / rate);
            if let Some(ahead) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(ahead);
            }
        }
    }
    drop(s);
    child.wait().unwrap();
    start.elapsed().as_secs_f64()
}

/// Seconds a plain write of `total` bytes into a new file in `dir` takes.
fn file_write(total: u64, dir: &std::path::Path) -> f64 {
    let path = dir.join("plain-write.bin");
    let block = vec![0x5Au8; BLOCK];
    let start = Instant::now();
    let mut f = std::fs::File::create(&path).unwrap();
    let mut left = total;
    while left > 0 {
        let n = left.min(BLOCK as u64) as usize;
        f.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
    drop(f);
    let took = start.elapsed().as_secs_f64();
    std::fs::remove_file(&path).unwrap();
    took
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A run with a capture: its time and the capture's size, the file removed (1 GiB a round).
fn captured(total: u64, rate: Option<f64>, dir: &std::path::Path, name: &str) -> (f64, u64) {
    let path = dir.join(name);
    let took = run(total, rate, Some(&path));
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    std::fs::remove_file(&path).unwrap();
    (took, size)
}

fn main() {
    let total = common::total_bytes();
    let mib = (total >> 20) as f64;
    let dir = tempfile::tempdir().unwrap();
    println!("flat out: {mib} MiB into `sockscope tcp-server --once`, without and with --pcap");
    let (mut ratios, mut extra) = (Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        let plain = run(total, None, None);
        let (with, size) = captured(total, None, dir.path(), &format!("flat{round}.pcapng"));
        ratios.push(with / plain);
        extra.push(with - plain);
        println!(
            "round {round}: without {plain:.2} s ({:.0} MiB/s), with --pcap {with:.2} s ({:.0} MiB/s, capture {} MiB)",
            mib / plain,
            mib / with,
            size >> 20,
        );
    }
    let plain_write = median((0..3).map(|_| file_write(total, dir.path())).collect());
    println!(
        "flat out, median of {ROUNDS}: with / without = {:.2}; the capture added {:.2} s; \
         a plain write of the same {mib} MiB to a file here takes {plain_write:.2} s",
        median(ratios),
        median(extra),
    );
    let paced_mib = (PACED_BYTES >> 20) as f64;
    let rate_mib = PACED_BYTES_PER_S / (1 << 20) as f64;
    println!("paced: {paced_mib} MiB at {rate_mib} MiB/s, without and with --pcap");
    let mut paced = Vec::new();
    for round in 1..=3 {
        let plain = run(PACED_BYTES, Some(PACED_BYTES_PER_S), None);
        let name = format!("paced{round}.pcapng");
        let (with, size) = captured(PACED_BYTES, Some(PACED_BYTES_PER_S), dir.path(), &name);
        paced.push(with / plain);
        println!(
            "round {round}: without {plain:.2} s, with --pcap {with:.2} s (capture {} MiB)",
            size >> 20
        );
    }
    println!(
        "paced, median of 3: with / without = {:.3} (1.000 = the capture cost the session nothing)",
        median(paced)
    );
}
