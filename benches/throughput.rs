//! Throughput of a TCP server session and of a UDP burst, each against a baseline measured in
//! the same run: socat (`socat -u TCP-LISTEN:… /dev/null`) and a plain std::net read loop.
//!
//! Run: `cargo bench --bench throughput` (set SOCKSCOPE_BENCH_MIB to change the 1 GiB size).
// A benchmark may panic on the unexpected and spawn plain threads; the product may not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use sockscope::engine::{
    Command, Engine, Event, SaveMode, SaveRequest, SessionConfig, SocketOptions, DEFAULT_KEEP_BYTES,
};
use sockscope::payload::framing::{FrameSpec, DEFAULT_MAX_FRAME};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Command as Process, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BLOCK: usize = 256 << 10;

/// Streams `total` bytes to `addr` with a plain std::net writer.
fn send_stream(addr: SocketAddr, total: u64) {
    send_blocks(addr, total, &vec![0x5Au8; BLOCK]);
}

/// Streams `total` bytes to `addr`, `block` after `block`.
fn send_blocks(addr: SocketAddr, total: u64, block: &[u8]) {
    let mut s = connect_retry(addr);
    let mut left = total;
    while left > 0 {
        let n = left.min(BLOCK as u64) as usize;
        s.write_all(&block[..n]).expect("send");
        left -= n as u64;
    }
}

fn connect_retry(addr: SocketAddr) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpStream::connect(addr) {
            Ok(s) => return s,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("connect {addr}: {e}"),
        }
    }
}

fn rate(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / secs / (1 << 20) as f64
}

/// A plain std::net server: accept one client, read until end.
fn baseline_std(total: u64) -> f64 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let start = Instant::now();
    let sender = std::thread::spawn(move || send_stream(addr, total));
    let (mut s, _) = listener.accept().unwrap();
    let mut buf = vec![0u8; BLOCK];
    let mut got = 0u64;
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got += n as u64,
            Err(e) => panic!("{e}"),
        }
    }
    sender.join().unwrap();
    assert_eq!(got, total);
    start.elapsed().as_secs_f64()
}

/// socat listening, writing to /dev/null.
fn baseline_socat(total: u64) -> Option<f64> {
    let port = TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let mut child = Process::new("socat")
        .args([
            "-u",
            &format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr"),
            "OPEN:/dev/null",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let start = Instant::now();
    send_stream(addr, total);
    child.wait().ok()?;
    Some(start.elapsed().as_secs_f64())
}

/// What a server session does with what it receives, besides showing it.
#[derive(Clone, Copy, PartialEq)]
enum Keeping {
    /// Nothing kept (the command line).
    Nothing,
    /// Kept for a later save (every window tab).
    Kept,
    /// Kept and saved to a file while it arrives ("keep appending").
    Saving,
}

/// A SockScope TCP server session: time until the client's connection has been read to its
/// end, with every data event drained as the window would.
fn sockscope_server(total: u64, keeping: Keeping) -> f64 {
    framed_server(total, keeping, FrameSpec::None)
}

/// 256-byte messages that end where `spec` says (a line feed, a length field), a block's worth.
fn messages(spec: &FrameSpec) -> Vec<u8> {
    let mut message = vec![b'x'; 256];
    match spec {
        FrameSpec::Line => message[255] = b'\n',
        FrameSpec::Length { .. } => message[..6].copy_from_slice(&[0, 1, 0, 0, 0, 250]),
        _ => {}
    }
    message.iter().copied().cycle().take(BLOCK).collect()
}

/// [`sockscope_server`] with its connection framed by `spec`.
fn framed_server(total: u64, keeping: Keeping, spec: FrameSpec) -> f64 {
    let engine = Engine::spawn(Arc::new(|| {})).unwrap();
    let session = engine.new_session_id();
    let block = messages(&spec);
    engine.send(Command::SetFraming {
        session,
        spec,
        max_frame: DEFAULT_MAX_FRAME,
        frame_sends: false,
    });
    if keeping != Keeping::Nothing {
        engine.send(Command::KeepReceived {
            session,
            limit_bytes: DEFAULT_KEEP_BYTES,
        });
    }
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("saved.bin");
    let addr = common::listen(&engine, session);
    // Asked once the session is open (the tab's button is enabled then), before any data.
    if keeping == Keeping::Saving {
        engine.send(Command::Save {
            session,
            request: SaveRequest {
                path: path.clone(),
                mode: SaveMode::CreateNew,
                conn: None,
                follow: true,
            },
        });
    }
    let start = Instant::now();
    let sender = std::thread::spawn(move || send_blocks(addr, total, &block));
    let mut shown = 0u64;
    let mut omitted = 0u64;
    loop {
        match engine.recv_timeout(Duration::from_secs(30)) {
            Some(Event::Data {
                chunks,
                omitted_bytes,
                ..
            }) => {
                shown += chunks.iter().map(|c| c.bytes.len() as u64).sum::<u64>();
                omitted += omitted_bytes;
            }
            Some(Event::ConnClosed { .. }) => break,
            Some(_) => {}
            None => panic!("no progress"),
        }
    }
    let secs = start.elapsed().as_secs_f64();
    sender.join().unwrap();
    // Late data events of the closed connection may still be queued.
    while let Some(Event::Data {
        chunks,
        omitted_bytes,
        ..
    }) = engine.try_recv()
    {
        shown += chunks.iter().map(|c| c.bytes.len() as u64).sum::<u64>();
        omitted += omitted_bytes;
    }
    assert_eq!(shown + omitted, total, "every byte accounted for");
    if keeping == Keeping::Saving {
        engine.send(Command::StopSaving { session });
        loop {
            match engine.recv_timeout(Duration::from_secs(30)) {
                Some(Event::Saved { bytes, error, .. }) => {
                    assert!(error.is_none(), "{error:?}");
                    // The spool keeps at most 1 GiB: a larger run saves the newest GiB.
                    assert!(bytes == total || total > DEFAULT_KEEP_BYTES);
                    break;
                }
                Some(_) => {}
                None => panic!("the save did not end"),
            }
        }
    }
    secs
}

/// A burst of datagrams at full speed into a UDP session; returns (received, seconds).
fn udp_burst(count: u64) -> (u64, f64) {
    let engine = Engine::spawn(Arc::new(|| {})).unwrap();
    let session = engine.new_session_id();
    engine.send(Command::Open {
        session,
        config: SessionConfig::Udp {
            bind: "127.0.0.1:0".parse().unwrap(),
            default_dest: None,
            broadcast: false,
            echo: false,
            options: SocketOptions::default(),
        },
    });
    let addr = loop {
        if let Some(Event::Opened { local, .. }) = engine.recv_timeout(Duration::from_secs(5)) {
            break local;
        }
    };
    let start = Instant::now();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut msg = [0u8; 64];
    for i in 0..count {
        msg[..8].copy_from_slice(&i.to_be_bytes());
        sender.send_to(&msg, addr).unwrap();
    }
    let mut received = 0u64;
    let deadline = Instant::now() + Duration::from_secs(3);
    while received < count && Instant::now() < deadline {
        if let Some(Event::Data {
            chunks,
            omitted_packets,
            ..
        }) = engine.recv_timeout(Duration::from_millis(100))
        {
            received += chunks.len() as u64 + omitted_packets;
        }
    }
    (received, start.elapsed().as_secs_f64())
}

/// The same burst into a plain std::net socket with the system's default buffer.
fn udp_burst_std(count: u64) -> u64 {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let addr = rx.local_addr().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut n = 0u64;
        while rx.recv_from(&mut buf).is_ok() {
            n += 1;
        }
        n
    });
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let msg = [0u8; 64];
    for _ in 0..count {
        sender.send_to(&msg, addr).unwrap();
    }
    reader.join().unwrap()
}

fn main() {
    // `cargo test` runs benches with --bench absent; do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let total = common::total_bytes();
    println!("TCP receive, {} MiB over loopback:", total >> 20);
    let std_secs = baseline_std(total);
    println!("  std::net loop   {:8.0} MiB/s", rate(total, std_secs));
    let socat_secs = baseline_socat(total);
    match socat_secs {
        Some(s) => println!("  socat           {:8.0} MiB/s", rate(total, s)),
        None => println!("  socat           not installed (apt-get install socat)"),
    }
    let ours = sockscope_server(total, Keeping::Nothing);
    println!("  SockScope       {:8.0} MiB/s", rate(total, ours));
    if let Some(s) = socat_secs {
        println!("  ratio SockScope/socat    = {:.2}", s / ours);
    }
    println!("  ratio SockScope/std::net = {:.2}", std_secs / ours);
    // The window's tabs keep what they receive, and may save it while it arrives.
    let kept = sockscope_server(total, Keeping::Kept);
    println!(
        "  SockScope, kept for a save          {:8.0} MiB/s",
        rate(total, kept)
    );
    let saving = sockscope_server(total, Keeping::Saving);
    println!(
        "  SockScope, kept and saved live      {:8.0} MiB/s",
        rate(total, saving)
    );
    println!("  ratio kept/not kept                 = {:.2}", ours / kept);
    println!(
        "  ratio saving/kept (goal >= 0.90)    = {:.2}",
        kept / saving
    );
    // Framing: the same stream as 256-byte messages, one event chunk per frame.
    let unframed = framed_server(total, Keeping::Nothing, FrameSpec::None);
    println!(
        "  256-byte messages, no framing       {:8.0} MiB/s",
        rate(total, unframed)
    );
    for spec in ["line", "length:4:2:be:6"] {
        let secs = framed_server(total, Keeping::Nothing, spec.parse().unwrap());
        println!(
            "  framed {spec:<16}             {:8.0} MiB/s  ratio to no framing = {:.2} (goal >= 0.80)",
            rate(total, secs),
            unframed / secs
        );
    }

    let count = 100_000;
    println!("UDP burst, {count} datagrams of 64 B at full speed:");
    let std_got = udp_burst_std(count);
    println!(
        "  std::net default buffer  received {std_got} / {count} ({:.1}%)",
        std_got as f64 * 100.0 / count as f64
    );
    let (got, secs) = udp_burst(count);
    println!(
        "  SockScope                received {got} / {count} ({:.1}%), {:.0} datagrams/s",
        got as f64 * 100.0 / count as f64,
        got as f64 / secs
    );
}
