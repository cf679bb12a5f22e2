//! File transfers as processes and peers: raw to and from std::net and socat, verified round
//! trips, broken and corrupted transfers, resume, unsafe names, existing targets, cancel.

use crate::common;

use assert_cmd::Command as Cmd;
use common::{start, TestEngine, WAIT};
use sockscope::engine::{
    Command, Event, FileReceiveConfig, FileSendConfig, NetErrorKind, SendTarget, SessionConfig,
    SocketOptions, StreamOptions, TransferLimits,
};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sockscope-files-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Deterministic bytes that differ at every offset of interest.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i * 31 % 251) as u8 ^ (i >> 12) as u8)
        .collect()
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sockscope::payload::hex::encode_hex_compact(&sha2::Sha256::digest(data))
}

fn sockscope() -> Cmd {
    crate::common::watchdog();
    let mut cmd = Cmd::new(env!("CARGO_BIN_EXE_sockscope"));
    cmd.timeout(WAIT);
    cmd
}

#[test]
fn raw_send_to_a_std_peer_is_byte_exact() {
    let dir = temp_dir("raw-send");
    let data = pattern(3_000_000);
    std::fs::write(dir.join("a.bin"), &data).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        got
    });
    sockscope()
        .args(["send-file", &format!("127.0.0.1:{port}")])
        .arg(dir.join("a.bin"))
        .args(["--chunk", "1000"])
        .assert()
        .success();
    assert!(peer.join().unwrap() == data);
}

#[test]
fn raw_receive_from_a_std_sender_and_never_overwrite() {
    let dir = temp_dir("raw-recv");
    let out = dir.join("got.bin");
    let data = pattern(2_000_000);
    let recv = start(&[
        "recv-file",
        "127.0.0.1:0",
        "--out",
        out.to_str().unwrap(),
        "--once",
    ]);
    let port = recv.open_port();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(&data).unwrap();
    drop(s);
    assert_eq!(recv.finish().0, 0);
    assert!(std::fs::read(&out).unwrap() == data);
    // The same target again: refused before anything listens.
    let again = sockscope()
        .args(["recv-file", "127.0.0.1:0", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("will not be overwritten"));
    assert!(std::fs::read(&out).unwrap() == data, "untouched");
}

#[test]
fn raw_to_and_from_socat() {
    if !common::has("socat") {
        eprintln!("socat not installed; skipped");
        return;
    }
    let dir = temp_dir("socat");
    let data = pattern(4_000_000);
    std::fs::write(dir.join("src.bin"), &data).unwrap();
    // SockScope sends, socat receives.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut socat = std::process::Command::new("socat")
        .args([
            "-u",
            &format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr"),
            &format!("CREATE:{}", dir.join("by-socat.bin").display()),
        ])
        .spawn()
        .unwrap();
    common::wait_listening(port);
    sockscope()
        .args(["send-file", &format!("127.0.0.1:{port}")])
        .arg(dir.join("src.bin"))
        .assert()
        .success();
    socat.wait().unwrap();
    assert!(std::fs::read(dir.join("by-socat.bin")).unwrap() == data);
    // socat sends, SockScope receives.
    let out = dir.join("from-socat.bin");
    let recv = start(&[
        "recv-file",
        "127.0.0.1:0",
        "--out",
        out.to_str().unwrap(),
        "--once",
    ]);
    let port = recv.open_port();
    let status = std::process::Command::new("socat")
        .args([
            "-u",
            &format!("OPEN:{}", dir.join("src.bin").display()),
            &format!("TCP:127.0.0.1:{port}"),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(recv.finish().0, 0);
    assert!(std::fs::read(&out).unwrap() == data);
}

#[test]
fn verified_round_trip_between_two_processes() {
    let dir = temp_dir("verified");
    let incoming = dir.join("in");
    std::fs::create_dir_all(&incoming).unwrap();
    let data = pattern(5_000_000);
    std::fs::write(dir.join("固件 v1.bin"), &data).unwrap();
    let recv = start(&[
        "recv-file",
        "127.0.0.1:0",
        "--out",
        incoming.to_str().unwrap(),
        "--verified",
        "--once",
        "--output",
        "jsonl",
    ]);
    let opened: serde_json::Value = serde_json::from_str(&recv.stdout_line("\"opened\"")).unwrap();
    let local = opened["local"].as_str().unwrap().to_string();
    sockscope()
        .args(["send-file", &local])
        .arg(dir.join("固件 v1.bin"))
        .arg("--verified")
        .assert()
        .success();
    let done: serde_json::Value = serde_json::from_str(&recv.stdout_line("\"file_done\"")).unwrap();
    assert_eq!(done["sha256"], sha256_hex(&data));
    assert_eq!(recv.finish().0, 0);
    assert!(std::fs::read(incoming.join("固件 v1.bin")).unwrap() == data);
    assert_eq!(
        std::fs::read_dir(&incoming).unwrap().count(),
        1,
        "no part file left"
    );
}

/// Plays the sender side of the protocol by hand; returns the receiver's last line, if any.
fn hand_sender(
    port: u16,
    name: &str,
    header_data: &[u8],
    body: &[u8],
    close_early_after: Option<usize>,
) -> (serde_json::Value, Option<String>) {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let header = serde_json::json!({"name": name, "size": header_data.len(), "sha256": sha256_hex(header_data)});
    write!(w, "SOCKSCOPE-FILE 1\n{header}\n").unwrap();
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let offer: serde_json::Value = serde_json::from_str(&line).unwrap();
    let start = offer["offset"].as_u64().unwrap() as usize;
    writeln!(w, "{}", serde_json::json!({"start": start})).unwrap();
    match close_early_after {
        Some(n) => {
            w.write_all(&body[start..n]).unwrap();
            w.shutdown(std::net::Shutdown::Both).unwrap();
            (offer, None)
        }
        None => {
            w.write_all(&body[start..]).unwrap();
            let mut verdict = String::new();
            r.read_line(&mut verdict).unwrap();
            (offer, Some(verdict))
        }
    }
}

fn receiver(engine: &mut TestEngine, dir: &Path) -> (sockscope::engine::SessionId, u16) {
    let session = engine.open(SessionConfig::ReceiveFile(FileReceiveConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        out: dir.to_path_buf(),
        udp: false,
        verified: true,
        once: false,
        idle_timeout: None,
        limits: TransferLimits::default(),
    }));
    let port = engine.wait_opened(session).port();
    (session, port)
}

#[test]
fn truncated_transfer_never_looks_complete_and_resumes() {
    let dir = temp_dir("resume");
    let data = pattern(1_000_000);
    let mut engine = TestEngine::new();
    let (_, port) = receiver(&mut engine, &dir);
    let (offer, _) = hand_sender(port, "image.bin", &data, &data, Some(400_000));
    assert_eq!(offer["offset"], 0);
    let error = engine.next_error();
    assert!(
        error.detail.contains("truncated") && error.detail.contains("400000 of 1000000"),
        "{error}"
    );
    assert!(
        !dir.join("image.bin").exists(),
        "a broken transfer is not a file"
    );
    // The second attempt is offered the 400,000 bytes already there, and completes.
    let (offer, verdict) = hand_sender(port, "image.bin", &data, &data, None);
    assert_eq!(offer["offset"], 400_000);
    assert_eq!(offer["part_sha256"], sha256_hex(&data[..400_000]));
    let verdict: serde_json::Value = serde_json::from_str(&verdict.unwrap()).unwrap();
    assert_eq!(verdict["ok"], true, "{verdict}");
    let Event::FileDone { resumed_from, .. } =
        engine.wait_for("done", |e| matches!(e, Event::FileDone { .. }))
    else {
        unreachable!()
    };
    assert_eq!(resumed_from, 400_000);
    assert!(std::fs::read(dir.join("image.bin")).unwrap() == data);
}

#[test]
fn corrupted_transfer_is_refused_and_leaves_nothing() {
    let dir = temp_dir("corrupt");
    let data = pattern(300_000);
    let mut bad = data.clone();
    bad[123_456] ^= 0xFF;
    let mut engine = TestEngine::new();
    let (_, port) = receiver(&mut engine, &dir);
    let (_, verdict) = hand_sender(port, "x.bin", &data, &bad, None);
    let verdict: serde_json::Value = serde_json::from_str(&verdict.unwrap()).unwrap();
    assert_eq!(verdict["ok"], false);
    assert!(verdict["error"]
        .as_str()
        .unwrap()
        .contains("SHA-256 mismatch"));
    assert!(engine.next_error().detail.contains("SHA-256 mismatch"));
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "neither file nor part remains"
    );
}

#[test]
fn names_from_the_peer_stay_inside_the_folder_and_existing_files_survive() {
    let dir = temp_dir("names");
    let inside = dir.join("inside");
    std::fs::create_dir_all(&inside).unwrap();
    std::fs::write(inside.join("keep.txt"), b"original").unwrap();
    let mut engine = TestEngine::new();
    let (_, port) = receiver(&mut engine, &inside);
    for (name, expected) in [
        ("../../escape.bin", "escape.bin"),
        ("/etc/cron.d/evil", "evil"),
        ("..\\..\\win.ini", "win.ini"),
        ("CON", "_CON"),
        ("keep.txt", "keep (1).txt"),
    ] {
        let body = name.as_bytes().to_vec();
        let (_, verdict) = hand_sender(port, name, &body, &body, None);
        let verdict: serde_json::Value = serde_json::from_str(&verdict.unwrap()).unwrap();
        assert_eq!(verdict["name"], expected, "{name}");
        assert_eq!(std::fs::read(inside.join(expected)).unwrap(), body);
    }
    assert_eq!(std::fs::read(inside.join("keep.txt")).unwrap(), b"original");
    assert!(!dir.join("escape.bin").exists());
}

#[test]
fn unreadable_or_missing_inputs_exit_2() {
    let dir = temp_dir("bad-input");
    let out = sockscope()
        .args(["send-file", "127.0.0.1:9", "/no/such/file.bin"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /no/such/file.bin"));
    let out = sockscope()
        .args(["send-file", "127.0.0.1:9"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = sockscope()
        .args(["recv-file", "0", "--verified", "--out", "/no/such/folder"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a folder"));
    let out = sockscope()
        .args(["send-file", "127.0.0.1:9", "--udp", "--verified"])
        .arg(dir.join("x"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn cancel_mid_way_stops_the_send() {
    let dir = temp_dir("cancel");
    std::fs::write(dir.join("big.bin"), pattern(10_000_000)).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        got.len()
    });
    let mut engine = TestEngine::new();
    let session = engine.open(SessionConfig::SendFile(FileSendConfig {
        remote: addr.to_string(),
        path: dir.join("big.bin"),
        udp: false,
        verified: false,
        stream: StreamOptions {
            chunk: Some(10_000),
            rate: Some(2_000_000),
        },
        connect_timeout: Duration::from_secs(3),
        limits: TransferLimits::default(),
    }));
    engine.wait_for(
        "progress",
        |e| matches!(e, Event::Progress { done, .. } if *done > 0),
    );
    engine.send(Command::Close { session });
    let Event::Closed { error, .. } =
        engine.wait_for("closed", |e| matches!(e, Event::Closed { .. }))
    else {
        unreachable!()
    };
    assert_eq!(error.unwrap().kind, NetErrorKind::Cancelled);
    assert!(peer.join().unwrap() < 10_000_000, "stopped before the end");
    assert!(!engine
        .seen
        .iter()
        .any(|e| matches!(e, Event::FileDone { .. })));
}

#[test]
fn file_over_a_server_session_to_a_client_and_udp_file_round_trip() {
    let dir = temp_dir("session-file");
    let data = pattern(1_500_000);
    std::fs::write(dir.join("f.bin"), &data).unwrap();
    let mut engine = TestEngine::new();
    let server = engine.open(SessionConfig::TcpServer {
        bind: "127.0.0.1:0".parse().unwrap(),
        echo: false,
        options: SocketOptions::default(),
    });
    let local = engine.wait_opened(server);
    let mut client = TcpStream::connect(local).unwrap();
    engine.wait_for("client", |e| matches!(e, Event::ConnOpened { .. }));
    engine.send(Command::SendFile {
        session: server,
        target: SendTarget::AllClients,
        path: dir.join("f.bin"),
        options: StreamOptions::default(),
    });
    let mut got = vec![0u8; data.len()];
    client.read_exact(&mut got).unwrap();
    assert!(got == data);
    engine.wait_for("done", |e| matches!(e, Event::FileDone { .. }));
    let tx_events = engine
        .seen
        .iter()
        .filter(|e| {
            matches!(e, Event::Data { chunks, .. }
                if chunks.iter().any(|c| c.dir == sockscope::engine::Direction::Tx))
        })
        .count();
    assert_eq!(tx_events, 0, "file chunks are not shown as typed sends");

    // UDP: sent in 1,000-byte datagrams, received into a file by the CLI.
    let out = dir.join("udp.bin");
    let recv = start(&[
        "recv-file",
        "127.0.0.1:0",
        "--udp",
        "--once",
        "--timeout",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    let port = recv.open_port();
    sockscope()
        .args([
            "send-file",
            &format!("127.0.0.1:{port}"),
            "--udp",
            "--chunk",
            "1000",
            "--rate",
            "20000000",
        ])
        .arg(dir.join("f.bin"))
        .assert()
        .success();
    assert_eq!(recv.finish().0, 0);
    assert!(std::fs::read(&out).unwrap() == data);
    let _ = UdpSocket::bind("127.0.0.1:0");
}

#[test]
fn the_documented_python_script_interoperates() {
    if !common::has("python3") {
        eprintln!("python3 not installed; skipped");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/file_transfer.py");
    let dir = temp_dir("python");
    let data = pattern(700_000);
    std::fs::write(dir.join("py.bin"), &data).unwrap();
    // Python sends, SockScope receives.
    let incoming = dir.join("in");
    std::fs::create_dir_all(&incoming).unwrap();
    let recv = start(&[
        "recv-file",
        "127.0.0.1:0",
        "--out",
        incoming.to_str().unwrap(),
        "--verified",
        "--once",
    ]);
    let port = recv.open_port();
    let status = std::process::Command::new("python3")
        .arg(&script)
        .args(["send", "127.0.0.1", &port.to_string()])
        .arg(dir.join("py.bin"))
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(recv.finish().0, 0);
    assert!(std::fs::read(incoming.join("py.bin")).unwrap() == data);
    // SockScope sends, Python receives.
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut py = std::process::Command::new("python3")
        .arg(&script)
        .args(["recv", &port.to_string()])
        .arg(&out)
        .spawn()
        .unwrap();
    common::wait_listening(port);
    sockscope()
        .args(["send-file", &format!("127.0.0.1:{port}"), "--verified"])
        .arg(dir.join("py.bin"))
        .assert()
        .success();
    assert!(py.wait().unwrap().success());
    assert!(std::fs::read(out.join("py.bin")).unwrap() == data);
}

fn receiver_with(
    engine: &mut TestEngine,
    out: &Path,
    verified: bool,
    limits: TransferLimits,
) -> (sockscope::engine::SessionId, u16) {
    let session = engine.open(SessionConfig::ReceiveFile(FileReceiveConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        out: out.to_path_buf(),
        udp: false,
        verified,
        once: false,
        idle_timeout: None,
        limits,
    }));
    let port = engine.wait_opened(session).port();
    (session, port)
}

#[test]
fn idle_connection_does_not_block_receiver() {
    let dir = temp_dir("idle-verified");
    let incoming = dir.join("in");
    std::fs::create_dir_all(&incoming).unwrap();
    let data = pattern(200_000);
    std::fs::write(dir.join("good.bin"), &data).unwrap();
    let mut engine = TestEngine::new();
    let limits = TransferLimits {
        silence: Duration::from_secs(1),
        max_conns: 16,
    };
    let (_, port) = receiver_with(&mut engine, &incoming, true, limits);
    // Silent peers first: they hold a connection each and never say a word.
    let idle: Vec<TcpStream> = (0..5)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    sockscope()
        .args(["send-file", &format!("127.0.0.1:{port}")])
        .arg(dir.join("good.bin"))
        .args(["--verified", "--timeout", "5"])
        .assert()
        .success();
    assert!(std::fs::read(incoming.join("good.bin")).unwrap() == data);
    // Each silent peer is dropped with a reason, and its socket sees the end.
    let error = engine.next_error();
    assert!(error.detail.contains("silent"), "{error:?}");
    for mut s in idle {
        s.set_read_timeout(Some(WAIT)).unwrap();
        let mut buf = [0u8; 16];
        assert!(matches!(s.read(&mut buf), Ok(0) | Err(_)), "dropped");
    }
}

#[test]
fn raw_receiver_serves_a_sender_while_another_idles_and_caps_connections() {
    let dir = temp_dir("idle-raw");
    let out = dir.join("capture.bin");
    let mut engine = TestEngine::new();
    let limits = TransferLimits {
        silence: Duration::from_secs(10),
        max_conns: 2,
    };
    let (_, port) = receiver_with(&mut engine, &out, false, limits);
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut good = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let data = pattern(500_000);
    good.write_all(&data[..1000]).unwrap();
    // On loopback the receiver has these bytes long before half a second is over.
    std::thread::sleep(Duration::from_millis(500));
    // A third connection while both slots are taken: the one that sent nothing gives way.
    let mut third = TcpStream::connect(("127.0.0.1", port)).unwrap();
    idle.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 8];
    assert!(
        matches!(idle.read(&mut buf), Ok(0) | Err(_)),
        "the idle one closed"
    );
    let gave_way = engine.next_error();
    assert_eq!(gave_way.kind, NetErrorKind::Guard, "{gave_way:?}");
    assert!(gave_way.detail.contains("sent no data"), "{gave_way:?}");
    third.write_all(b"third").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // Every slot busy with a sender that sends: a fourth is refused with a note, at once.
    let mut fourth = TcpStream::connect(("127.0.0.1", port)).unwrap();
    fourth.set_read_timeout(Some(WAIT)).unwrap();
    assert!(matches!(fourth.read(&mut buf), Ok(0) | Err(_)));
    let refused = engine.next_error();
    assert_eq!(refused.kind, NetErrorKind::Guard, "{refused:?}");
    assert!(refused.detail.contains("refused"), "{refused:?}");
    good.write_all(&data[1000..]).unwrap();
    drop(good);
    engine.wait_for(
        "the good sender's file",
        |e| matches!(e, Event::FileDone { bytes, .. } if *bytes == 500_000),
    );
    // The sender that sent first got the name asked for; the idle one took none.
    assert!(std::fs::read(&out).unwrap() == data);
    drop(third);
}

/// 300 connections that send a verified header and then nothing cannot keep an honest sender
/// out for the 30 s silence limit: it is served at once (the idlest gives way).
#[test]
fn idle_headers_cannot_keep_an_honest_sender_out() {
    let dir = temp_dir("idle-headers");
    let incoming = dir.join("in");
    std::fs::create_dir_all(&incoming).unwrap();
    let data = pattern(100_000);
    std::fs::write(dir.join("honest.bin"), &data).unwrap();
    let mut engine = TestEngine::new();
    let (_, port) = receiver_with(&mut engine, &incoming, true, TransferLimits::default());
    let header = serde_json::json!({"name": "x.bin", "size": 10, "sha256": "0".repeat(64)});
    let idle: Vec<TcpStream> = (0..300)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            let _ = write!(s, "SOCKSCOPE-FILE 1\n{header}\n");
            s
        })
        .collect();
    let started = std::time::Instant::now();
    sockscope()
        .args(["send-file", &format!("127.0.0.1:{port}")])
        .arg(dir.join("honest.bin"))
        .args(["--verified", "--timeout", "20"])
        .timeout(Duration::from_secs(25))
        .assert()
        .success();
    // Far below the 30 s an idle connection may otherwise hold its slot.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "served after {:?}",
        started.elapsed()
    );
    assert!(std::fs::read(incoming.join("honest.bin")).unwrap() == data);
    drop(idle);
}

/// 200 senders of `same.bin` at once, each with different bytes: every sender told "ok" finds
/// its exact bytes under the name it was told.
#[test]
fn concurrent_senders_of_one_name_each_get_their_own_file() {
    let dir = temp_dir("same-name");
    let mut engine = TestEngine::new();
    let limits = TransferLimits {
        silence: Duration::from_secs(20),
        max_conns: 256,
    };
    let (_, port) = receiver_with(&mut engine, &dir, true, limits);
    let verdicts: Vec<(Vec<u8>, serde_json::Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..200u32)
            .map(|i| {
                s.spawn(move || {
                    let body: Vec<u8> = format!("sender {i:03} ").repeat(50).into_bytes();
                    let (_, verdict) = hand_sender(port, "same.bin", &body, &body, None);
                    let verdict: serde_json::Value =
                        serde_json::from_str(&verdict.expect("a verdict")).unwrap();
                    (body, verdict)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut names = std::collections::HashSet::new();
    for (body, verdict) in &verdicts {
        assert_eq!(verdict["ok"], true, "{verdict}");
        let name = verdict["name"].as_str().unwrap();
        assert!(names.insert(name.to_string()), "{name} told twice");
        assert!(
            std::fs::read(dir.join(name)).unwrap() == *body,
            "{name} holds another sender's bytes"
        );
    }
    assert_eq!(names.len(), 200);
}

// Unix only: making a symbolic link on Windows needs a privilege a test runner may not have.
#[cfg(unix)]
#[test]
fn part_file_symlink_is_not_followed() {
    let dir = temp_dir("symlink-part");
    let incoming = dir.join("in");
    std::fs::create_dir_all(&incoming).unwrap();
    let secret = dir.join("outside.txt");
    let secret_text = b"the first bytes of a file outside the folder".to_vec();
    std::fs::write(&secret, &secret_text).unwrap();
    let data = pattern(100_000);
    let part = incoming.join(format!("fw.bin.{}.part", &sha256_hex(&data)[..16]));
    std::os::unix::fs::symlink(&secret, &part).unwrap();
    // A hard link to a file elsewhere is refused as a resume too.
    let hard_target = dir.join("hard.txt");
    std::fs::write(&hard_target, b"hard").unwrap();
    let other = pattern(50_000);
    let hard_part = incoming.join(format!("o.bin.{}.part", &sha256_hex(&other)[..16]));
    std::fs::hard_link(&hard_target, &hard_part).unwrap();

    let mut engine = TestEngine::new();
    let (_, port) = receiver(&mut engine, &incoming);
    let (offer, verdict) = hand_sender(port, "fw.bin", &data, &data, None);
    // No resume offer from the planted link, so no hash of the outside file leaks.
    assert_eq!(offer["offset"], 0, "{offer}");
    assert_eq!(offer["part_sha256"], "", "{offer}");
    assert!(verdict.unwrap().contains("\"ok\":true"));
    assert_eq!(std::fs::read(&secret).unwrap(), secret_text, "untouched");
    assert!(std::fs::read(incoming.join("fw.bin")).unwrap() == data);

    let (offer, verdict) = hand_sender(port, "o.bin", &other, &other, None);
    assert_eq!(offer["offset"], 0, "{offer}");
    assert!(verdict.unwrap().contains("\"ok\":true"));
    assert_eq!(std::fs::read(&hard_target).unwrap(), b"hard", "untouched");
}

/// A receiver that reads the header, then (optionally) takes all the data, and then says
/// nothing more: `send-file --verified` must give up, not hang.
fn mute_receiver(answer_and_read: bool) -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s);
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        line.clear();
        r.read_line(&mut line).unwrap();
        if answer_and_read {
            writeln!(w, "{}", serde_json::json!({"offset": 0, "part_sha256": ""})).unwrap();
            let _ = std::io::copy(&mut r, &mut std::io::sink());
        } else {
            let mut sink = Vec::new();
            let _ = r.read_to_end(&mut sink);
        }
    });
    (port, peer)
}

#[test]
fn verified_send_times_out() {
    let dir = temp_dir("mute");
    std::fs::write(dir.join("a.bin"), pattern(10_000)).unwrap();
    for (answer, waited_for) in [(false, "offer"), (true, "verdict")] {
        let (port, peer) = mute_receiver(answer);
        let out = sockscope()
            .args(["send-file", &format!("127.0.0.1:{port}")])
            .arg(dir.join("a.bin"))
            .args(["--verified", "--timeout", "1"])
            .assert()
            .code(1)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("silent") && stderr.contains(waited_for),
            "{stderr}"
        );
        peer.join().unwrap();
    }
}
