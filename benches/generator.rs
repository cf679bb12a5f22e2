//! The generator flat out next to a plain std::net `send` loop in the same run: 200,000
//! datagrams of 64 bytes to a loopback receiver that drains them. The figure is the ratio.
//!
//! When Packet Sender is installed (`packetsender` on the PATH, Debian's package), its command
//! line and `sockscope generate` (both real processes, wall-clock time from start to exit) each
//! send 200,000 datagrams of 5 bytes to a loopback receiver, and the ratio is printed too.
//!
//! Run: `cargo bench --bench generator`.
// A benchmark may panic on the unexpected and spawn plain threads; the product may not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use sockscope::measure::generate::{self, GenerateOptions};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

const COUNT: u64 = 200_000;

/// A receiver draining a socket until 1 s of silence; its address.
fn drain() -> (std::net::SocketAddr, std::thread::JoinHandle<u64>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let addr = socket.local_addr().unwrap();
    let task = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut n = 0;
        while socket.recv(&mut buf).is_ok() {
            n += 1;
        }
        n
    });
    (addr, task)
}

fn main() {
    for round in 1..=2 {
        let (addr, rx) = drain();
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.connect(addr).unwrap();
        let payload = [0u8; 64];
        let start = Instant::now();
        let mut ok = 0u64;
        for _ in 0..COUNT {
            if socket.send(&payload).is_ok() {
                ok += 1;
            }
        }
        let plain = start.elapsed().as_secs_f64();
        let plain_rx = rx.join().unwrap();

        let (addr, rx) = drain();
        let options = GenerateOptions {
            rate_pps: None,
            count: Some(COUNT),
            duration: None,
            payload: vec![0; 64],
            stop: Default::default(),
        };
        let done = generate::udp(addr, &options, |_| {}).unwrap();
        let ours_rx = rx.join().unwrap();
        println!(
            "round {round}: std::net loop {:.0} datagrams/s ({ok} sent, {plain_rx} received); \
             generator {:.0} datagrams/s ({} sent, {ours_rx} received); generator / std = {:.2}",
            COUNT as f64 / plain,
            done.packets_per_s,
            done.sent_packets,
            done.packets_per_s / (COUNT as f64 / plain)
        );
    }
    packet_sender();
}

/// Seconds a process takes from start to exit, and its output.
fn timed(cmd: &mut std::process::Command) -> (f64, String) {
    let start = Instant::now();
    let out = cmd.output().unwrap();
    let took = start.elapsed().as_secs_f64();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (took, text)
}

/// Packet Sender's command line and ours, 200,000 × 5 bytes each, same run.
fn packet_sender() {
    let found = std::process::Command::new("packetsender")
        .arg("--version")
        .env("QT_QPA_PLATFORM", "offscreen")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        println!("packetsender not installed: the comparison with Packet Sender was skipped");
        return;
    }
    for round in 1..=3 {
        let (addr, rx) = drain();
        let port = addr.port().to_string();
        let count = COUNT.to_string();
        let (theirs, _) = timed(
            std::process::Command::new("packetsender")
                .env("QT_QPA_PLATFORM", "offscreen")
                .args([
                    "-q",
                    "-u",
                    "-A",
                    "--num",
                    &count,
                    "--rate",
                    "0",
                    "--usdelay",
                    "0",
                ])
                .args(["127.0.0.1", &port, "hello"]),
        );
        let theirs_rx = rx.join().unwrap();
        let (addr, rx) = drain();
        let (ours, text) = timed(
            std::process::Command::new(env!("CARGO_BIN_EXE_sockscope"))
                .args(["generate", "udp", &addr.to_string(), "--count", &count])
                .args(["--size", "5", "--data", "hello"]),
        );
        let ours_rx = rx.join().unwrap();
        let sent_all = text.contains(&format!("\"sent_packets\":{COUNT}"));
        println!(
            "round {round}: Packet Sender {theirs:.2} s ({theirs_rx} received), sockscope generate \
             {ours:.2} s ({ours_rx} received, all {COUNT} sent: {sent_all}); Packet Sender / sockscope time = {:.1}",
            theirs / ours
        );
    }
}
