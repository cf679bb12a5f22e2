//! Framing over real sockets: whatever TCP did to the segments, the frames come out whole.

use crate::common::WAIT;
use assert_cmd::Command as Cmd;
use std::io::Write;
use std::net::TcpListener;
use std::time::Duration;

/// A Modbus TCP response with transaction id `id` and a 2-byte register value.
fn modbus_response(id: u16) -> Vec<u8> {
    let mut f = id.to_be_bytes().to_vec();
    f.extend_from_slice(&[0, 0, 0, 5, 1, 3, 2]);
    f.extend_from_slice(&(id.wrapping_mul(7)).to_be_bytes());
    f
}

#[test]
fn the_cli_shows_modbus_frames_whatever_the_segmentation() {
    let frames: Vec<Vec<u8>> = (1..=30).map(modbus_response).collect();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sent = frames.clone();
    let device = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_nodelay(true).unwrap();
        // Ten frames a byte at a time, ten in uneven splits, ten in one write, then half a
        // frame and the end.
        for f in &sent[..10] {
            for b in f {
                s.write_all(&[*b]).unwrap();
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let middle: Vec<u8> = sent[10..20].concat();
        let mut at = 0;
        let mut seed = 7usize;
        while at < middle.len() {
            seed = (seed * 1103 + 12345) % 9973;
            let n = (seed % 17 + 1).min(middle.len() - at);
            s.write_all(&middle[at..at + n]).unwrap();
            at += n;
            std::thread::sleep(Duration::from_millis(1));
        }
        s.write_all(&sent[20..].concat()).unwrap();
        s.write_all(&modbus_response(99)[..5]).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    });
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "tcp-client",
            &format!("127.0.0.1:{port}"),
            "--frame",
            "length:4:2:be:6",
            "--output",
            "jsonl",
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    device.join().unwrap();
    assert!(out.status.success(), "{out:?}");
    let data: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "data" && v["dir"] == "rx")
        .collect();
    assert_eq!(data.len(), 31, "30 frames and an incomplete one: {data:#?}");
    for (i, (line, frame)) in data.iter().zip(&frames).enumerate() {
        let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(line["hex"], hex.as_str(), "frame {i}");
        assert_eq!(line["frame"], true);
        assert!(line.get("incomplete").is_none() && line.get("oversize").is_none());
        assert_eq!(
            line.get("dt_ms").is_some(),
            i > 0,
            "Δt after the first frame"
        );
    }
    assert_eq!(data[30]["incomplete"], true);
    assert_eq!(data[30]["len"], 5);
}

#[test]
fn a_bad_frame_spec_is_a_usage_error_that_says_the_forms() {
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["tcp-client", "127.0.0.1:9", "--frame", "length:4:3:be"])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1, 2 or 4 bytes"), "{err}");
}

/// With --frame-sends the bytes on the wire carry the framing: the Modbus TCP length field is
/// inserted where the spec says, a line gets its LF.
#[test]
fn sends_are_framed_the_way_frames_are_read() {
    for (frame, send, hex, wire) in [
        (
            "length:4:2:be:6",
            "00 01 00 00 01 03 00 00 00 01",
            true,
            vec![0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1],
        ),
        ("line", "AT+CSQ", false, b"AT+CSQ\n".to_vec()),
    ] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let want = wire.len();
        let peer = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 64];
            while got.len() < want {
                match std::io::Read::read(&mut s, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            got
        });
        let mut args = vec![
            "tcp-client".to_string(),
            format!("127.0.0.1:{port}"),
            "--frame".into(),
            frame.into(),
            "--frame-sends".into(),
            "--send".into(),
            send.into(),
            "--wait".into(),
            "200".into(),
        ];
        if hex {
            args.push("--hex".into());
        }
        let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
            .args(&args)
            .timeout(WAIT)
            .output()
            .unwrap();
        assert!(out.status.success(), "{frame}: {out:?}");
        assert_eq!(peer.join().unwrap(), wire, "{frame}");
    }
}

/// A relay frames each direction on its own and passes every byte on unchanged.
#[test]
fn a_relay_frames_each_direction_and_changes_nothing_it_passes() {
    use sockscope::engine::Event;
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = upstream.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = upstream.accept().unwrap();
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while got.len() < 8 {
            match std::io::Read::read(&mut s, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        for piece in [&b"ser"[..], b"ver\nup\n"] {
            s.write_all(piece).unwrap();
            std::thread::sleep(Duration::from_millis(30));
        }
        got
    });
    let mut engine = crate::common::TestEngine::new();
    let session = framed_session(
        &mut engine,
        "line",
        sockscope::engine::SessionConfig::Relay {
            listen: "127.0.0.1:0".parse().unwrap(),
            target: target.to_string(),
            udp: false,
        },
    );
    let local = engine.wait_opened(session);
    let mut client = std::net::TcpStream::connect(local).unwrap();
    client.set_nodelay(true).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    for piece in [&b"one\ntw"[..], b"o\n"] {
        client.write_all(piece).unwrap();
        std::thread::sleep(Duration::from_millis(30));
    }
    let mut back = Vec::new();
    let mut buf = [0u8; 64];
    while back.len() < 10 {
        match std::io::Read::read(&mut client, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => back.extend_from_slice(&buf[..n]),
        }
    }
    assert_eq!(back, b"server\nup\n", "passed on unchanged");
    assert_eq!(server.join().unwrap(), b"one\ntwo\n", "passed on unchanged");
    let frames = |engine: &crate::common::TestEngine| -> Vec<Vec<u8>> {
        engine
            .seen
            .iter()
            .filter_map(|e| match e {
                Event::Data { chunks, .. } => Some(chunks.to_vec()),
                _ => None,
            })
            .flatten()
            .flat_map(|c| {
                c.pieces()
                    .filter(|(_, frame)| frame.is_some())
                    .map(|(bytes, _)| bytes.to_vec())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let deadline = std::time::Instant::now() + WAIT;
    while frames(&engine).len() < 4 && std::time::Instant::now() < deadline {
        if let Some(e) = engine.handle.recv_timeout(Duration::from_millis(50)) {
            engine.seen.push(e);
        }
    }
    let mut got = frames(&engine);
    got.sort();
    assert_eq!(
        got,
        [
            b"one\n".to_vec(),
            b"server\n".to_vec(),
            b"two\n".to_vec(),
            b"up\n".to_vec()
        ]
    );
}

/// UDP frames within each datagram: two lines in one datagram are two frames, and a datagram
/// that ends mid-line ends an incomplete frame (it does not wait for the next datagram).
#[test]
fn udp_frames_within_each_datagram() {
    let receiver = crate::common::start(&[
        "udp",
        "--bind",
        "127.0.0.1:0",
        "--frame",
        "line",
        "--count",
        "2",
        "--timeout",
        "5",
        "--output",
        "jsonl",
    ]);
    let port = receiver.opened_local().port();
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sender.send_to(b"one\ntwo\n", ("127.0.0.1", port)).unwrap();
    sender.send_to(b"thr", ("127.0.0.1", port)).unwrap();
    let (code, lines) = receiver.finish();
    assert_eq!(code, 0, "{lines:#?}");
    let frames: Vec<(String, bool)> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "data" && v["dir"] == "rx")
        .map(|v| {
            (
                v["text"].as_str().unwrap_or("").to_string(),
                v["incomplete"] == true,
            )
        })
        .collect();
    assert_eq!(
        frames,
        [
            ("one\n".to_string(), false),
            ("two\n".to_string(), false),
            ("thr".to_string(), true)
        ]
    );
}

/// The "done when" of framing: a Modbus TCP device simulated by a framed server tab, three
/// requests sent coalesced and split across writes; the rule answers each request exactly
/// once, and each request is one frame.
#[test]
fn a_rule_answers_each_modbus_request_once_whatever_the_segments() {
    use sockscope::engine::{Command, Event};
    let rules = sockscope::sequence::parse_rules(
        "[[rule]]\nmatch = \"hex-prefix\"\npattern = \"00\"\nreply = \"00 00 00 00 00 05 01 03 02 00 2A\"\nhex = true\n",
    )
    .unwrap();
    let mut engine = crate::common::TestEngine::new();
    let session = framed_session(
        &mut engine,
        "length:4:2:be:6",
        sockscope::engine::SessionConfig::TcpServer {
            bind: "127.0.0.1:0".parse().unwrap(),
            echo: false,
            options: sockscope::engine::SocketOptions::default(),
        },
    );
    let local = engine.wait_opened(session);
    engine.send(Command::SetRules { session, rules });
    settled(
        &mut engine,
        session,
        sockscope::engine::SendTarget::AllClients,
    );
    let request = |id: u8| vec![0, id, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1];
    let stream: Vec<u8> = [request(1), request(2), request(3)].concat();
    let mut client = std::net::TcpStream::connect(local).unwrap();
    client.set_nodelay(true).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // Two requests and a half in one write, the rest a byte at a time.
    client.write_all(&stream[..30]).unwrap();
    for b in &stream[30..] {
        std::thread::sleep(Duration::from_millis(5));
        client.write_all(&[*b]).unwrap();
    }
    let mut answers = Vec::new();
    let mut buf = [0u8; 256];
    while answers.len() < 33 {
        match std::io::Read::read(&mut client, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answers.extend_from_slice(&buf[..n]),
        }
    }
    assert_eq!(answers.len(), 33, "three answers of 11 bytes");
    // No fourth answer follows.
    client
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(matches!(
        std::io::Read::read(&mut client, &mut buf),
        Err(_) | Ok(0)
    ));
    let stats = engine.wait_for(
        "the rule's count",
        |e| matches!(e, Event::Stats { stats, .. } if stats.rule_fires == [3]),
    );
    drop(stats);
    let frames: Vec<Vec<u8>> = engine
        .seen
        .iter()
        .filter_map(|e| match e {
            Event::Data { chunks, .. } => Some(chunks.to_vec()),
            _ => None,
        })
        .flatten()
        .filter(|c| c.dir == sockscope::engine::Direction::Rx)
        .flat_map(|c| {
            c.pieces()
                .map(|(bytes, _)| bytes.to_vec())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(frames, [request(1), request(2), request(3)]);
}

/// Framed UDP: a rule answers each whole frame of a datagram, once.
#[test]
fn a_udp_rule_answers_each_frame_of_a_datagram() {
    use sockscope::engine::Command;
    let rules = sockscope::sequence::parse_rules(
        "[[rule]]\nmatch = \"contains\"\npattern = \"ping\"\nreply = \"pong\"\n",
    )
    .unwrap();
    let mut engine = crate::common::TestEngine::new();
    let session = framed_session(
        &mut engine,
        "line",
        sockscope::engine::SessionConfig::Udp {
            bind: "127.0.0.1:0".parse().unwrap(),
            default_dest: None,
            broadcast: false,
            echo: false,
            options: sockscope::engine::SocketOptions::default(),
        },
    );
    let local = engine.wait_opened(session);
    engine.send(Command::SetRules { session, rules });
    settled(
        &mut engine,
        session,
        sockscope::engine::SendTarget::LastSender,
    );
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    peer.send_to(b"ping\nping\nnot a request", local).unwrap();
    let mut answers = Vec::new();
    let mut buf = [0u8; 64];
    while let Ok((n, _)) = peer.recv_from(&mut buf) {
        answers.push(buf[..n].to_vec());
    }
    assert_eq!(answers, [b"pong".to_vec(), b"pong".to_vec()]);
}

/// Waits until the session has taken every command sent so far: a session handles its commands
/// in order, and a send with nowhere to go is answered (with an error) at once.
fn settled(
    engine: &mut crate::common::TestEngine,
    session: sockscope::engine::SessionId,
    nowhere: sockscope::engine::SendTarget,
) {
    use sockscope::engine::{Command, Event};
    engine.send(Command::Send {
        session,
        target: nowhere,
        bytes: b"x".to_vec(),
        repeat: None,
        ack: Some(777),
    });
    engine.wait_for("the session to take its commands", |e| {
        matches!(e, Event::SendResult { tag: 777, .. })
    });
}

/// Opens a session whose connections frame what they receive by `spec`.
fn framed_session(
    engine: &mut crate::common::TestEngine,
    spec: &str,
    config: sockscope::engine::SessionConfig,
) -> sockscope::engine::SessionId {
    use sockscope::engine::Command;
    let session = engine.handle.new_session_id();
    engine.send(Command::SetFraming {
        session,
        spec: spec.parse().unwrap(),
        max_frame: 1 << 20,
        frame_sends: false,
    });
    engine.send(Command::Open { session, config });
    session
}
