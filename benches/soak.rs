//! Soak: 1,000 clients at a time connect to a TCP server session (echo on), send, read the
//! echo and leave (most with a reset, every tenth with a clean close), round after round for
//! 60 s. Prints the process's open file descriptors and resident memory at the start and at the
//! end side by side: the figure is the growth, which should be about zero.
//!
//! Run: `cargo bench --bench soak` (SOCKSCOPE_SOAK_SECS changes the 60 s; SOCKSCOPE_SOAK_CLIENTS
//! the 1,000). Linux reads /proc; elsewhere the figures say "n/a". Traffic stays on 127.0.0.1.
// A benchmark may panic on the unexpected and spawn plain threads; the product may not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use sockscope::engine::{Command, Engine, Event, SessionConfig, SocketOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Open file descriptors of this process (Linux).
fn open_fds() -> Option<usize> {
    std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count())
}

/// Resident memory of this process in KiB (Linux).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn show<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| v.to_string())
}

/// One round: `clients` connections open at once, each sends 64 bytes and reads them back.
fn round(addr: SocketAddr, clients: usize, round_no: u64) -> usize {
    let mut streams = Vec::with_capacity(clients);
    for _ in 0..clients {
        match TcpStream::connect(addr) {
            Ok(s) => streams.push(s),
            // The backlog may be full for a moment: fewer clients this round, not a failure.
            Err(_) => break,
        }
    }
    let message = [0x42u8; 64];
    for s in &mut streams {
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = s.write_all(&message);
    }
    let mut echoed = 0;
    for s in &mut streams {
        let mut back = [0u8; 64];
        if s.read_exact(&mut back).is_ok() && back == message {
            echoed += 1;
        }
    }
    for (i, s) in streams.into_iter().enumerate() {
        // Most leave with a reset (no TIME_WAIT to exhaust the ports); every tenth closes cleanly.
        if (i as u64 + round_no) % 10 != 0 {
            let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
        }
        drop(s);
    }
    echoed
}

fn main() {
    let secs = env_number("SOCKSCOPE_SOAK_SECS", 60);
    let clients = env_number("SOCKSCOPE_SOAK_CLIENTS", 1000) as usize;
    let engine = Engine::spawn(Arc::new(|| {})).expect("engine");
    let session = engine.new_session_id();
    engine.send(Command::Open {
        session,
        config: SessionConfig::TcpServer {
            bind: "127.0.0.1:0".parse().unwrap(),
            echo: true,
            options: SocketOptions::default(),
        },
    });
    let addr = loop {
        match engine.recv_timeout(Duration::from_secs(5)) {
            Some(Event::Opened { local, .. }) => break local,
            Some(Event::Closed { error, .. }) => panic!("server did not open: {error:?}"),
            Some(_) => {}
            None => panic!("server did not open"),
        }
    };
    // Drain events on a thread of its own, as the window would.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let drain = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut events = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if engine.recv_timeout(Duration::from_millis(50)).is_some() {
                    events += 1;
                }
            }
            (engine, events)
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let (fds_start, rss_start) = (open_fds(), rss_kib());

    let start = Instant::now();
    let (mut rounds, mut connections, mut echoed) = (0u64, 0usize, 0usize);
    // After a warm-up (a tenth of the run) the process holds its high-water mark: from there
    // on, growth would be a leak.
    let mut warm: Option<(Option<usize>, Option<u64>)> = None;
    while start.elapsed() < Duration::from_secs(secs) {
        let got = round(addr, clients, rounds);
        echoed += got;
        connections += clients;
        rounds += 1;
        if warm.is_none() && start.elapsed() >= Duration::from_secs(secs) / 10 {
            warm = Some((open_fds(), rss_kib()));
        }
    }
    let (fds_warm, rss_warm) = warm.unwrap_or((None, None));
    let elapsed = start.elapsed().as_secs_f64();
    // Let the server see every client leave.
    std::thread::sleep(Duration::from_secs(2));
    let (fds_end, rss_end) = (open_fds(), rss_kib());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (engine, events) = drain.join().expect("drain");
    engine.send(Command::Close { session });

    println!(
        "soak: {rounds} rounds of {clients} clients in {elapsed:.1} s: {connections} connections \
         ({:.0}/s), {echoed} echoed whole, {events} events drained",
        connections as f64 / elapsed
    );
    println!("            idle start  warmed up        end  growth since warm-up");
    let growth = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:+}", b as i64 - a as i64),
        _ => "n/a".into(),
    };
    let as_u64 = |v: Option<usize>| v.map(|v| v as u64);
    println!(
        "open fds    {:>10} {:>10} {:>10} {:>10}",
        show(fds_start),
        show(fds_warm),
        show(fds_end),
        growth(as_u64(fds_warm), as_u64(fds_end))
    );
    println!(
        "RSS (KiB)   {:>10} {:>10} {:>10} {:>10}",
        show(rss_start),
        show(rss_warm),
        show(rss_end),
        growth(rss_warm, rss_end)
    );
}
