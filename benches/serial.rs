//! Bytes per second through a pseudo-terminal pair (`socat pty,raw,echo=0 pty,raw,echo=0`):
//! a writer on one end, on the other a SockScope serial session (every byte counted and
//! logged, as the window and the CLI do), and `socat -u` reading to a pipe, in the same run.
//! (Goal: SockScope at least 0.9 of socat's rate.) Needs socat; says so and stops without.
//!
//! Run: `cargo bench --bench serial` (SOCKSCOPE_BENCH_MIB sets the size; 64 MiB here unless set).
// A benchmark may panic on the unexpected and spawn plain threads; the product may not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use sockscope::engine::serial::LineSettings;
use sockscope::engine::{Command, Direction, Engine, Event, SessionConfig};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn total_bytes() -> u64 {
    std::env::var("SOCKSCOPE_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(64)
        << 20
}

/// A linked pair of pseudo-terminals, gone when the child is killed.
fn pty_pair(dir: &Path) -> (Child, PathBuf, PathBuf) {
    let (a, b) = (dir.join("ttyA"), dir.join("ttyB"));
    let child = Process::new("socat")
        .arg(format!("pty,raw,echo=0,link={}", a.display()))
        .arg(format!("pty,raw,echo=0,link={}", b.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(a.exists() && b.exists()) {
        assert!(Instant::now() < deadline, "socat made no ptys");
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, a, b)
}

/// Writes `total` bytes into `port` (a pattern, in 64 KiB pieces) on a thread of its own.
fn writer(port: PathBuf, total: u64) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().write(true).open(port).unwrap();
        let chunk: Vec<u8> = (0..65_536u32).map(|i| (i % 251) as u8).collect();
        let mut left = total;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            f.write_all(&chunk[..n]).unwrap();
            left -= n as u64;
        }
    })
}

/// Bytes per second `socat -u` reads from `a` into a pipe, `total` bytes written into `b`.
fn socat_rate(a: &Path, b: &Path, total: u64) -> f64 {
    let mut reader = Process::new("socat")
        .arg("-u")
        .arg(format!("FILE:{},raw,echo=0", a.display()))
        .arg("STDOUT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut out = reader.stdout.take().unwrap();
    let start = Instant::now();
    let w = writer(b.to_path_buf(), total);
    let mut buf = vec![0u8; 65_536];
    let mut got = 0u64;
    while got < total {
        let n = out.read(&mut buf).unwrap();
        assert!(n > 0, "socat stopped after {got} bytes");
        got += n as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    w.join().unwrap();
    let _ = reader.kill();
    let _ = reader.wait();
    total as f64 / secs
}

/// Bytes per second a SockScope serial session receives (and logs) from `a`.
fn sockscope_rate(a: &Path, b: &Path, total: u64) -> f64 {
    let engine = Engine::spawn(Arc::new(|| {})).unwrap();
    let session = engine.new_session_id();
    engine.send(Command::Open {
        session,
        config: SessionConfig::Serial {
            port: a.display().to_string(),
            settings: LineSettings::default(),
        },
    });
    loop {
        match engine.recv_timeout(Duration::from_secs(5)) {
            Some(Event::Opened { .. }) => break,
            Some(Event::Closed { error, .. }) => panic!("the port did not open: {error:?}"),
            _ => {}
        }
    }
    let start = Instant::now();
    let w = writer(b.to_path_buf(), total);
    let mut got = 0u64;
    let deadline = Instant::now() + Duration::from_secs(300);
    while got < total {
        assert!(Instant::now() < deadline, "only {got} bytes arrived");
        if let Some(Event::Data { chunks, .. }) = engine.recv_timeout(Duration::from_millis(50)) {
            got += chunks
                .iter()
                .filter(|c| c.dir == Direction::Rx)
                .map(|c| c.bytes.len() as u64)
                .sum::<u64>();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    w.join().unwrap();
    engine.send(Command::Close { session });
    total as f64 / secs
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    if Process::new("socat").arg("-V").output().is_err() {
        eprintln!("socat not installed (apt-get install socat): the serial benchmark did not run");
        return;
    }
    let total = total_bytes();
    let dir = tempfile::tempdir().unwrap();
    let mib = |rate: f64| rate / f64::from(1u32 << 20);
    let (mut pair, a, b) = pty_pair(dir.path());
    let socat = socat_rate(&a, &b, total);
    let ours = sockscope_rate(&a, &b, total);
    let _ = pair.kill();
    let _ = pair.wait();
    println!(
        "serial: {} MiB through a pty pair — socat -u {:.1} MiB/s, SockScope serial session {:.1} MiB/s, ratio {:.2} (rounded; goal ≥ 0.9)",
        total >> 20,
        mib(socat),
        mib(ours),
        ours / socat
    );
}
