//! The relay between a real client and a real server on loopback: 100 MiB each way, byte-exact,
//! with both directions logged under their own addresses; and UDP.

use crate::common;

use common::TestEngine;
use sockscope::engine::{Direction, Event, SessionConfig};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};

const SIZE: usize = 100 << 20;

fn pattern(seed: u8) -> Vec<u8> {
    (0..SIZE)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 16) as u8)
        .collect()
}

/// Reads everything from `s` while writing `data` to it, then returns what was read.
fn exchange(s: TcpStream, data: Vec<u8>) -> Vec<u8> {
    let mut writer = s.try_clone().unwrap();
    let w = std::thread::spawn(move || {
        writer.write_all(&data).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    let mut got = Vec::with_capacity(SIZE);
    let mut reader = s;
    reader.read_to_end(&mut got).unwrap();
    w.join().unwrap();
    got
}

#[test]
fn tcp_relay_carries_100_mib_both_ways_and_logs_each_side() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let server_addr = server.local_addr().unwrap();
    let from_server = pattern(7);
    let to_server = pattern(99);
    let server_side = {
        let data = from_server.clone();
        std::thread::spawn(move || {
            let (s, _) = server.accept().unwrap();
            exchange(s, data)
        })
    };
    let mut engine = TestEngine::new();
    let session = engine.open(SessionConfig::Relay {
        listen: "127.0.0.1:0".parse().unwrap(),
        target: server_addr.to_string(),
        udp: false,
    });
    let relay_addr = engine.wait_opened(session);
    let client = TcpStream::connect(relay_addr).unwrap();
    let client_addr = client.local_addr().unwrap();
    let client_side = {
        let data = to_server.clone();
        std::thread::spawn(move || exchange(client, data))
    };
    // Drain events while the data flows (as the window would).
    let closed = engine.wait_for("relayed connection closed", |e| {
        matches!(e, Event::ConnClosed { .. })
    });
    assert!(
        matches!(
            closed,
            Event::ConnClosed {
                reason: sockscope::engine::CloseReason::PeerClosed,
                ..
            }
        ),
        "{closed:?}"
    );
    assert!(
        client_side.join().unwrap() == from_server,
        "client got the server's 100 MiB exactly"
    );
    assert!(
        server_side.join().unwrap() == to_server,
        "server got the client's 100 MiB exactly"
    );
    // Both directions are in the log, each under its sender's address; what the display could
    // not keep up with is counted as omitted, so every byte is accounted for.
    let mut by_peer = std::collections::HashMap::new();
    let mut omitted = 0u64;
    for e in &engine.seen {
        if let Event::Data {
            chunks,
            omitted_bytes,
            ..
        } = e
        {
            for c in chunks.iter().filter(|c| c.dir == Direction::Rx) {
                *by_peer.entry(c.peer).or_insert(0u64) += c.bytes.len() as u64;
            }
            omitted += omitted_bytes;
        }
    }
    let shown_client = by_peer.get(&client_addr).copied().unwrap_or(0);
    let shown_server = by_peer.get(&server_addr).copied().unwrap_or(0);
    assert!(
        shown_client > 0 && shown_server > 0,
        "both sides logged: {by_peer:?}"
    );
    assert_eq!(shown_client + shown_server + omitted, 2 * SIZE as u64);
    let Event::Stats { stats, .. } = engine.wait_for(
        "final counters",
        |e| matches!(e, Event::Stats { stats, .. } if stats.total.rx_bytes == 2 * SIZE as u64),
    ) else {
        unreachable!()
    };
    assert_eq!(
        stats.total.tx_bytes,
        2 * SIZE as u64,
        "everything received was forwarded"
    );
}

#[test]
fn udp_relay_forwards_and_answers_the_right_client() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let server_addr = server.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = server.recv_from(&mut buf) {
            let mut reply = b"re:".to_vec();
            reply.extend_from_slice(&buf[..n]);
            let _ = server.send_to(&reply, from);
        }
    });
    let mut engine = TestEngine::new();
    let session = engine.open(SessionConfig::Relay {
        listen: "127.0.0.1:0".parse().unwrap(),
        target: server_addr.to_string(),
        udp: true,
    });
    let relay_addr = engine.wait_opened(session);
    for name in ["alice", "bob"] {
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(common::WAIT)).unwrap();
        c.send_to(name.as_bytes(), relay_addr).unwrap();
        let mut buf = [0u8; 64];
        let (n, from) = c.recv_from(&mut buf).unwrap();
        assert_eq!(from, relay_addr, "answers come from the relay");
        assert_eq!(&buf[..n], format!("re:{name}").as_bytes());
    }
    engine.wait_for("the server's answer logged", |e| {
        matches!(e, Event::Data { chunks, .. } if chunks.iter().any(|c| c.peer == server_addr && c.bytes == b"re:bob"))
    });
}

/// A relay pointed at its own listening address would connect to itself without end.
#[test]
fn relay_refuses_itself() {
    let free_port = || {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let mut engine = TestEngine::new();
    for (udp, listen, target) in [
        (false, "127.0.0.1", "127.0.0.1"),
        (false, "0.0.0.0", "127.0.0.1"),
        (false, "0.0.0.0", "localhost"),
        (true, "127.0.0.1", "127.0.0.1"),
    ] {
        let port = free_port();
        let session = engine.open(SessionConfig::Relay {
            listen: format!("{listen}:{port}").parse().unwrap(),
            target: format!("{target}:{port}"),
            udp,
        });
        match engine.wait_for("refused", |e| {
            matches!(e, Event::Opened { session: s, .. } | Event::Closed { session: s, .. } if *s == session)
        }) {
            Event::Closed {
                error: Some(error), ..
            } => assert!(error.detail.contains("itself"), "{error:?}"),
            other => panic!("{listen} → {target} (udp {udp}) opened: {other:?}"),
        }
    }
    // The command line says so too, as a network failure.
    let port = free_port().to_string();
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["relay", &port, &format!("127.0.0.1:{port}")])
        .timeout(common::WAIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("itself"));
}
