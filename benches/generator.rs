//! The generator flat out next to a plain std::net `send` loop in the same run: 200,000
//! datagrams of 64 bytes to a loopback receiver that drains them. The figure is the ratio.
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
}
