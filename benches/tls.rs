//! 1 GiB over TLS next to plain TCP in the same run: a SockScope TCP server session receives it
//! from a client on loopback (the same tokio writer both times, rustls on both ends for TLS),
//! every data event drained as the window would. The figure is the ratio.
//!
//! Run: `cargo bench --bench tls` (SOCKSCOPE_BENCH_MIB changes the 1 GiB size).
// A benchmark may panic on the unexpected and spawn plain threads; the product may not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use sockscope::engine::tls::{
    self, Identity, TlsClientSettings, TlsServerSettings, TlsSettings, Verify,
};
use sockscope::engine::{Command, Engine, Event};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

const BLOCK: usize = 256 << 10;

/// Writes `total` bytes to `addr`, over TLS pinned to `pin` when given.
fn send(addr: SocketAddr, total: u64, pin: Option<String>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let block = vec![0x5Au8; BLOCK];
        let mut left = total;
        match pin {
            None => {
                let mut s = tcp;
                while left > 0 {
                    let n = left.min(BLOCK as u64) as usize;
                    s.write_all(&block[..n]).await.unwrap();
                    left -= n as u64;
                }
                s.shutdown().await.unwrap();
            }
            Some(pin) => {
                let settings = TlsClientSettings {
                    verify: Verify::Pin(pin),
                    sni: None,
                    alpn: Vec::new(),
                    identity: None,
                };
                let config = tls::client_config(&settings).unwrap();
                let (mut s, _) = tls::connect(config, &settings, "localhost", tcp)
                    .await
                    .unwrap();
                while left > 0 {
                    let n = left.min(BLOCK as u64) as usize;
                    s.write_all(&block[..n]).await.unwrap();
                    left -= n as u64;
                }
                s.shutdown().await.unwrap();
            }
        }
    });
}

/// A server session receiving `total` bytes; seconds until its connection closed.
fn server(total: u64, tls: bool) -> f64 {
    let engine = Engine::spawn(Arc::new(|| {})).unwrap();
    let session = engine.new_session_id();
    let mut pin = None;
    if tls {
        let generated = tls::generate(&["localhost".to_string()]).unwrap();
        pin = Some(generated.fingerprint.clone());
        engine.send(Command::SetTls {
            session,
            tls: Some(TlsSettings::Server(TlsServerSettings {
                identity: Identity::Generated(Arc::new(generated)),
                client_ca: None,
                alpn: Vec::new(),
            })),
        });
    }
    let addr = common::listen(&engine, session);
    let start = Instant::now();
    let sender = std::thread::spawn(move || send(addr, total, pin));
    let mut received = 0u64;
    loop {
        match engine.recv_timeout(Duration::from_secs(60)) {
            Some(Event::Data {
                chunks,
                omitted_bytes,
                ..
            }) => {
                received +=
                    chunks.iter().map(|c| c.bytes.len() as u64).sum::<u64>() + omitted_bytes;
            }
            Some(Event::Stats { stats, .. }) if stats.total.rx_bytes >= total => {
                received = received.max(stats.total.rx_bytes);
            }
            Some(Event::ConnClosed { .. }) => break,
            Some(_) => {}
            None => panic!("no progress"),
        }
    }
    let secs = start.elapsed().as_secs_f64();
    sender.join().unwrap();
    engine.send(Command::Close { session });
    assert!(received <= total);
    secs
}

fn main() {
    let total = common::total_bytes();
    let mib = (total >> 20) as f64;
    println!(
        "{} MiB into a SockScope TCP server session, plain and over TLS, same run",
        mib
    );
    for round in 1..=2 {
        let plain = server(total, false);
        let secured = server(total, true);
        println!(
            "round {round}: plain {:.0} MiB/s ({plain:.2} s), TLS {:.0} MiB/s ({secured:.2} s), TLS time / plain time = {:.2}",
            mib / plain,
            mib / secured,
            secured / plain
        );
    }
}
