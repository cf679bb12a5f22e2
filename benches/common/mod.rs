//! What several benchmarks share (each bench is a crate of its own and takes this module in).
// Not every bench uses every piece.
#![allow(dead_code)]

use sockscope::engine::{Command, EngineHandle, Event, SessionConfig, SessionId, SocketOptions};
use std::net::SocketAddr;
use std::time::Duration;

/// Bytes to move: SOCKSCOPE_BENCH_MIB (MiB), 1 GiB unless set.
pub fn total_bytes() -> u64 {
    let mib: u64 = std::env::var("SOCKSCOPE_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    mib << 20
}

/// Opens `session` as a TCP server on a free loopback port (no echo) and says where.
pub fn listen(engine: &EngineHandle, session: SessionId) -> SocketAddr {
    engine.send(Command::Open {
        session,
        config: SessionConfig::TcpServer {
            bind: "127.0.0.1:0".parse().unwrap(),
            echo: false,
            options: SocketOptions::default(),
        },
    });
    loop {
        if let Some(Event::Opened { local, .. }) = engine.recv_timeout(Duration::from_secs(5)) {
            break local;
        }
    }
}
