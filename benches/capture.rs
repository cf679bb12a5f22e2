//! What `--pcap` costs: 1 GiB into `sockscope tcp-server --once` (a real process) with and
//! without a capture, in the same run; the capture goes to a temporary folder. The figure is
//! the ratio.
//!
//! Run: `cargo bench --bench capture` (SOCKSCOPE_BENCH_MIB changes the size).
// A benchmark may panic on the unexpected and spawn plain threads; the product may not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::io::Write;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Instant;

const BLOCK: usize = 256 << 10;
/// Rounds of (without, with): the median ratio is the figure.
const ROUNDS: usize = 7;

fn total_bytes() -> u64 {
    let mib: u64 = std::env::var("SOCKSCOPE_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    mib << 20
}

/// Seconds from the first byte sent until the server process has written everything and exited.
fn run(total: u64, pcap: Option<&std::path::Path>) -> f64 {
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
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let start = Instant::now();
    let block = vec![0x5Au8; BLOCK];
    let mut left = total;
    while left > 0 {
        let n = left.min(BLOCK as u64) as usize;
        s.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
    drop(s);
    child.wait().unwrap();
    start.elapsed().as_secs_f64()
}

fn main() {
    let total = total_bytes();
    let mib = (total >> 20) as f64;
    let dir = tempfile::tempdir().unwrap();
    println!("{mib} MiB into `sockscope tcp-server --once`, without and with --pcap, same run");
    let mut ratios = Vec::new();
    for round in 1..=ROUNDS {
        let plain = run(total, None);
        let path = dir.path().join(format!("round{round}.pcapng"));
        let captured = run(total, Some(&path));
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        // Each round's capture is removed once measured: 1 GiB per round adds up.
        let _ = std::fs::remove_file(&path);
        ratios.push(captured / plain);
        println!(
            "round {round}: without {:.0} MiB/s ({plain:.2} s), with --pcap {:.0} MiB/s ({captured:.2} s, capture {} MiB), with / without time = {:.2}",
            mib / plain,
            mib / captured,
            size >> 20,
            captured / plain
        );
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "median with / without time over {ROUNDS} rounds = {:.2} (loopback runs this short vary by ±15 % from round to round)",
        ratios[ratios.len() / 2]
    );
}
