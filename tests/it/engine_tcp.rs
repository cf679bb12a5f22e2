//! TCP client and server sessions against real loopback peers written with std::net.

use crate::common;

use common::TestEngine;
use sockscope::engine::{
    CloseReason, Command, Direction, Event, NetErrorKind, Repeat, SaveMode, SaveRequest,
    SendTarget, SessionConfig, SocketOptions,
};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

fn client_config(remote: String) -> SessionConfig {
    SessionConfig::TcpClient {
        remote,
        connect_timeout: Duration::from_secs(3),
        options: SocketOptions::default(),
    }
}

fn server_config(bind: &str, echo: bool) -> SessionConfig {
    SessionConfig::TcpServer {
        bind: bind.parse().unwrap(),
        echo,
        options: SocketOptions::default(),
    }
}

fn closed_error(
    engine: &mut TestEngine,
    session: sockscope::engine::SessionId,
) -> Option<sockscope::engine::NetError> {
    match engine.wait_for(
        "closed",
        |e| matches!(e, Event::Closed { session: s, .. } if *s == session),
    ) {
        Event::Closed { error, .. } => error,
        _ => unreachable!(),
    }
}

/// Seed 003: a server that sends back what it gets, upper-cased.
fn upper_case_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let upper = buf[..n].to_ascii_uppercase();
                    if s.write_all(&upper).is_err() {
                        break;
                    }
                }
            }
        }
    });
    addr
}

#[test]
fn client_talks_to_the_seed_upper_case_server() {
    let addr = upper_case_server();
    let mut engine = TestEngine::new();
    let session = engine.open(client_config(addr.to_string()));
    engine.wait_opened(session);
    engine.send(Command::Send {
        session,
        target: SendTarget::Default,
        bytes: b"hello world".to_vec(),
        repeat: None,
        ack: None,
    });
    assert_eq!(engine.wait_received(session, 11), b"HELLO WORLD");
    assert_eq!(engine.data(session, Direction::Tx), b"hello world");
}

#[test]
fn client_over_ipv6_loopback() {
    if !common::ipv6() {
        return;
    }
    let listener = TcpListener::bind("[::1]:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"v6 hello").unwrap();
        let mut got = [0u8; 2];
        s.read_exact(&mut got).unwrap();
        got
    });
    let mut engine = TestEngine::new();
    let session = engine.open(client_config(format!("[::1]:{}", addr.port())));
    let local = engine.wait_opened(session);
    assert!(local.is_ipv6());
    assert_eq!(engine.wait_received(session, 8), b"v6 hello");
    engine.send(Command::Send {
        session,
        target: SendTarget::Default,
        bytes: b"ok".to_vec(),
        repeat: None,
        ack: None,
    });
    assert_eq!(&peer.join().unwrap(), b"ok");
}

#[test]
fn refused_connection_is_its_own_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut engine = TestEngine::new();
    let session = engine.open(client_config(format!("127.0.0.1:{port}")));
    let error = closed_error(&mut engine, session).expect("an error");
    assert_eq!(error.kind, NetErrorKind::Refused);
}

#[test]
fn connect_timeout_is_its_own_error() {
    // A listener whose accept queue is full drops further SYNs: the connect hangs.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.set_nonblocking(true).unwrap();
        let _ = s.connect(&addr.into());
        fillers.push(s);
    }
    std::thread::sleep(Duration::from_millis(200));
    let mut engine = TestEngine::new();
    let session = engine.open(SessionConfig::TcpClient {
        remote: addr.to_string(),
        connect_timeout: Duration::from_millis(400),
        options: SocketOptions::default(),
    });
    let error = closed_error(&mut engine, session).expect("an error");
    assert_eq!(error.kind, NetErrorKind::Timeout, "{error}");
    drop(fillers);
}

#[test]
fn peer_reset_is_reported_as_reset() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        std::thread::sleep(Duration::from_millis(200));
        // SO_LINGER 0: close sends RST instead of FIN.
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(s);
    });
    let mut engine = TestEngine::new();
    let session = engine.open(client_config(addr.to_string()));
    engine.wait_opened(session);
    let reason = match engine.wait_for("conn closed", |e| matches!(e, Event::ConnClosed { .. })) {
        Event::ConnClosed { reason, .. } => reason,
        _ => unreachable!(),
    };
    match reason {
        CloseReason::Failed(e) => assert_eq!(e.kind, NetErrorKind::Reset),
        other => panic!("expected a reset, got {other:?}"),
    }
    closed_error(&mut engine, session);
}

#[test]
fn invalid_address_is_an_error_before_any_traffic() {
    let mut engine = TestEngine::new();
    let session = engine.open(client_config("127.0.0.1:99999".into()));
    assert_eq!(
        closed_error(&mut engine, session).unwrap().kind,
        NetErrorKind::InvalidAddress
    );
    let session = engine.open(client_config("bad host:80".into()));
    assert_eq!(
        closed_error(&mut engine, session).unwrap().kind,
        NetErrorKind::InvalidAddress
    );
}

#[test]
fn server_serves_many_clients_sends_to_one_or_all_and_disconnects_one() {
    let mut engine = TestEngine::new();
    let session = engine.open(server_config("127.0.0.1:0", false));
    let local = engine.wait_opened(session);
    let mut a = TcpStream::connect(local).unwrap();
    let ida = match engine.wait_for("a", |e| matches!(e, Event::ConnOpened { .. })) {
        Event::ConnOpened { conn, peer, .. } => {
            assert_eq!(peer, a.local_addr().unwrap());
            conn
        }
        _ => unreachable!(),
    };
    let mut b = TcpStream::connect(local).unwrap();
    let b_addr = b.local_addr().unwrap();
    let idb = match engine.wait_for(
        "b",
        |e| matches!(e, Event::ConnOpened { peer, .. } if *peer == b_addr),
    ) {
        Event::ConnOpened { conn, .. } => conn,
        _ => unreachable!(),
    };
    a.write_all(b"from a").unwrap();
    engine.wait_received(session, 6);
    b.write_all(b"from b").unwrap();
    assert_eq!(engine.wait_received(session, 12), b"from afrom b");

    engine.send(Command::Send {
        session,
        target: SendTarget::Conn(idb),
        bytes: b"only b".to_vec(),
        repeat: None,
        ack: None,
    });
    engine.send(Command::Send {
        session,
        target: SendTarget::AllClients,
        bytes: b"all".to_vec(),
        repeat: None,
        ack: None,
    });
    let mut got = [0u8; 9];
    b.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"only ball");
    let mut got = [0u8; 3];
    a.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"all");

    engine.send(Command::Disconnect { session, conn: ida });
    engine.wait_for("a gone", |e| matches!(e, Event::ConnClosed { conn, reason: CloseReason::LocalClosed, .. } if *conn == ida));
    let mut rest = Vec::new();
    a.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(a.read_to_end(&mut rest).unwrap(), 0, "a sees end of stream");

    // Counters are exact per client and in total.
    let stats = match engine.wait_for(
        "stats",
        |e| matches!(e, Event::Stats { stats, .. } if stats.total.tx_bytes == 12),
    ) {
        Event::Stats { stats, .. } => stats,
        _ => unreachable!(),
    };
    assert_eq!(stats.total.rx_bytes, 12);
    let b_stats = stats
        .conns
        .iter()
        .find(|(c, _)| *c == idb)
        .expect("b listed")
        .1;
    assert_eq!((b_stats.rx_bytes, b_stats.tx_bytes), (6, 9));
    drop(b);
}

#[test]
fn server_echo_and_peer_close() {
    let mut engine = TestEngine::new();
    let session = engine.open(server_config("127.0.0.1:0", true));
    let local = engine.wait_opened(session);
    let mut c = TcpStream::connect(local).unwrap();
    c.write_all("回声 echo".as_bytes()).unwrap();
    let mut got = vec![0u8; "回声 echo".len()];
    c.read_exact(&mut got).unwrap();
    assert_eq!(got, "回声 echo".as_bytes());
    c.shutdown(Shutdown::Write).unwrap();
    engine.wait_for("peer closed", |e| {
        matches!(
            e,
            Event::ConnClosed {
                reason: CloseReason::PeerClosed,
                ..
            }
        )
    });
}

#[test]
fn server_on_ipv6_any_accepts_ipv4_and_ipv6_clients() {
    if !common::ipv6() {
        return;
    }
    let mut engine = TestEngine::new();
    let session = engine.open(server_config("[::]:0", false));
    let local = engine.wait_opened(session);
    let mut v4 = TcpStream::connect(("127.0.0.1", local.port())).unwrap();
    v4.write_all(b"4").unwrap();
    engine.wait_received(session, 1);
    let mut v6 = TcpStream::connect(("::1", local.port())).unwrap();
    v6.write_all(b"6").unwrap();
    assert_eq!(engine.wait_received(session, 2), b"46");
}

#[test]
fn port_in_use_is_reported_and_nothing_opens() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut engine = TestEngine::new();
    let session = engine.open(SessionConfig::TcpServer {
        bind: taken.local_addr().unwrap(),
        echo: false,
        options: SocketOptions::default(),
    });
    let error = closed_error(&mut engine, session).expect("an error");
    assert_eq!(error.kind, NetErrorKind::AddrInUse);
    assert!(!engine
        .seen
        .iter()
        .any(|e| matches!(e, Event::Opened { .. })));
}

#[test]
fn binding_an_address_not_on_this_machine_fails_clearly() {
    let mut engine = TestEngine::new();
    // 192.0.2.1 is TEST-NET-1: never assigned to a machine. Binding sends nothing.
    let session = engine.open(server_config("192.0.2.1:0", false));
    let error = closed_error(&mut engine, session).expect("an error");
    assert_eq!(error.kind, NetErrorKind::AddrNotAvailable);
}

#[test]
fn stop_listening_keeps_clients_when_asked() {
    let mut engine = TestEngine::new();
    let session = engine.open(server_config("127.0.0.1:0", false));
    let local = engine.wait_opened(session);
    let mut c = TcpStream::connect(local).unwrap();
    engine.wait_for("client", |e| matches!(e, Event::ConnOpened { .. }));
    engine.send(Command::StopListening {
        session,
        keep_clients: true,
    });
    engine.wait_for("stopped", |e| matches!(e, Event::ListenStopped { .. }));
    assert!(
        TcpStream::connect_timeout(&local, Duration::from_millis(500)).is_err(),
        "no new clients"
    );
    c.write_all(b"still here").unwrap();
    assert_eq!(engine.wait_received(session, 10), b"still here");
}

#[test]
fn repeat_sends_count_and_stop() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let reader = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let mut lines = 0;
        for line in BufReader::new(s).lines() {
            assert_eq!(line.unwrap(), "ping");
            lines += 1;
        }
        lines
    });
    let mut engine = TestEngine::new();
    let session = engine.open(client_config(addr.to_string()));
    engine.wait_opened(session);
    engine.send(Command::Send {
        session,
        target: SendTarget::Default,
        bytes: b"ping\n".to_vec(),
        repeat: Some(Repeat {
            interval: Duration::from_millis(1),
            count: Some(50),
        }),
        ack: None,
    });
    match engine.wait_for("repeat done", |e| matches!(e, Event::RepeatDone { .. })) {
        Event::RepeatDone { sent, .. } => assert_eq!(sent, 50),
        _ => unreachable!(),
    }
    engine.send(Command::Close { session });
    closed_error(&mut engine, session);
    assert_eq!(reader.join().unwrap(), 50);
}

/// Waits for the end of the save to `path`: (bytes, missing, error).
fn saved_to(
    engine: &mut TestEngine,
    path: &std::path::Path,
) -> (u64, u64, Option<sockscope::engine::NetError>) {
    match engine.wait_for(
        "saved",
        |e| matches!(e, Event::Saved { path: p, .. } if p == path),
    ) {
        Event::Saved {
            bytes,
            missing_bytes,
            error,
            ..
        } => (bytes, missing_bytes, error),
        _ => unreachable!(),
    }
}

fn save(path: &std::path::Path, follow: bool) -> SaveRequest {
    SaveRequest {
        path: path.to_path_buf(),
        mode: SaveMode::CreateNew,
        conn: None,
        follow,
    }
}

#[test]
fn a_save_holds_every_byte_since_the_session_opened_and_what_follows() {
    const HALF: usize = 32 << 20;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flood.bin");
    let mut engine = TestEngine::new();
    let session = engine.open_keeping(server_config("127.0.0.1:0", false));
    let local = engine.wait_opened(session);
    let block: Vec<u8> = (0..65536u32).map(|i| (i % 251) as u8).collect();
    let mut s = TcpStream::connect(local).unwrap();
    for _ in 0..HALF / block.len() {
        s.write_all(&block).unwrap();
    }
    engine.wait_for(
        "first half counted",
        |e| matches!(e, Event::Stats { stats, .. } if stats.total.rx_bytes == HALF as u64),
    );
    // The click comes after half the data: the file must hold it too, then keep following.
    engine.send(Command::Save {
        session,
        request: save(&path, true),
    });
    engine.wait_for("saving", |e| {
        matches!(e, Event::SaveStarted { follow: true, .. })
    });
    for _ in 0..HALF / block.len() {
        s.write_all(&block).unwrap();
    }
    drop(s);
    engine.wait_for(
        "all counted",
        |e| matches!(e, Event::Stats { stats, .. } if stats.total.rx_bytes == 2 * HALF as u64),
    );
    let data_events = engine
        .seen
        .iter()
        .filter(|e| {
            matches!(e, Event::Data { chunks, .. } if chunks.iter().any(|c| c.dir == Direction::Rx))
        })
        .count();
    assert!(
        data_events < 2000,
        "{data_events} events for 64 MiB: not batched"
    );
    assert_eq!(
        engine.received(session).len(),
        2 * HALF,
        "all data reached the display queue"
    );
    engine.send(Command::StopSaving { session });
    assert_eq!(saved_to(&mut engine, &path), (2 * HALF as u64, 0, None));
    let saved = std::fs::read(&path).unwrap();
    assert_eq!(saved.len(), 2 * HALF);
    assert!(saved
        .iter()
        .enumerate()
        .step_by(4099)
        .all(|(i, b)| *b == ((i % 65536) % 251) as u8));
}

#[test]
fn what_was_received_can_be_saved_after_the_session_closed_until_the_tab_goes() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = TestEngine::new();
    let session = engine.open_keeping(server_config("127.0.0.1:0", false));
    let local = engine.wait_opened(session);
    for text in [&b"first "[..], b"second"] {
        let mut s = TcpStream::connect(local).unwrap();
        s.write_all(text).unwrap();
    }
    engine.wait_for(
        "both counted",
        |e| matches!(e, Event::Stats { stats, .. } if stats.total.rx_bytes == 12),
    );
    engine.send(Command::Close { session });
    engine.wait_for("closed", |e| matches!(e, Event::Closed { .. }));
    let path = dir.path().join("after.bin");
    engine.send(Command::Save {
        session,
        request: save(&path, false),
    });
    assert_eq!(saved_to(&mut engine, &path), (12, 0, None));
    let mut saved = std::fs::read(&path).unwrap();
    saved.sort_unstable();
    let mut expected = b"first second".to_vec();
    expected.sort_unstable();
    assert_eq!(saved, expected, "both clients' bytes, in arrival order");
    // Saving again to the same file asks first: nothing is replaced.
    engine.send(Command::Save {
        session,
        request: save(&path, false),
    });
    assert_eq!(engine.next_error().kind, NetErrorKind::FileExists);
    assert_eq!(std::fs::read(&path).unwrap().len(), 12);
    // The tab closes: its data goes, a later save has nothing.
    engine.send(Command::Discard { session });
    engine.send(Command::Save {
        session,
        request: save(&dir.path().join("gone.bin"), false),
    });
    assert_eq!(
        engine.next_error().reason(),
        Some(&sockscope::engine::Reason::NothingKept)
    );
    assert!(!dir.path().join("gone.bin").exists());
}

#[test]
fn saving_into_a_missing_folder_is_a_file_error() {
    let mut engine = TestEngine::new();
    let session = engine.open_keeping(server_config("127.0.0.1:0", false));
    engine.wait_opened(session);
    engine.send(Command::Save {
        session,
        request: save("/nonexistent-dir-sockscope/x.bin".as_ref(), false),
    });
    assert_eq!(engine.next_error().kind, NetErrorKind::File);
}

#[test]
fn sending_with_no_client_says_so() {
    let mut engine = TestEngine::new();
    let session = engine.open(server_config("127.0.0.1:0", false));
    engine.wait_opened(session);
    engine.send(Command::Send {
        session,
        target: SendTarget::AllClients,
        bytes: b"x".to_vec(),
        repeat: None,
        ack: None,
    });
    match engine.wait_for("error", |e| matches!(e, Event::Error { .. })) {
        Event::Error { error, .. } => assert_eq!(error.kind, NetErrorKind::NotConnected),
        _ => unreachable!(),
    }
}

/// A peer that takes nothing for a while, then everything: sends wait for room, none is lost.
#[test]
fn sends_to_a_slow_reader_wait_for_room_and_none_is_dropped() {
    const SENDS: usize = 1000;
    const SIZE: usize = 64 << 10;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        // Long enough for the kernel buffers and the engine's queue to fill.
        std::thread::sleep(Duration::from_millis(1500));
        s.set_read_timeout(Some(common::WAIT)).unwrap();
        let mut got = vec![0u8; SENDS * SIZE];
        s.read_exact(&mut got).expect("every send arrives");
        got
    });
    let mut engine = TestEngine::new();
    let session = engine.open(client_config(addr.to_string()));
    engine.wait_opened(session);
    for i in 0..SENDS {
        engine.send(Command::Send {
            session,
            target: SendTarget::Default,
            bytes: vec![(i % 251) as u8; SIZE],
            repeat: None,
            ack: None,
        });
    }
    let got = reader.join().unwrap();
    engine.send(Command::Close { session });
    assert_eq!(closed_error(&mut engine, session), None);
    for (i, block) in got.chunks(SIZE).enumerate() {
        assert!(
            block.iter().all(|&b| b == (i % 251) as u8),
            "send {i} in order"
        );
    }
    let errors: Vec<_> = engine
        .seen
        .iter()
        .filter(|e| matches!(e, Event::Error { .. }))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

/// A peer that sends and never reads, to a server that echoes: Disconnect must let go of it
/// within a second (the echo is stuck on the full socket).
#[test]
fn disconnect_frees_a_peer_that_never_reads() {
    let mut engine = TestEngine::new();
    let session = engine.open(server_config("127.0.0.1:0", true));
    let local = engine.wait_opened(session);
    let mut peer = TcpStream::connect(local).unwrap();
    let conn = match engine.wait_for("client", |e| matches!(e, Event::ConnOpened { .. })) {
        Event::ConnOpened { conn, .. } => conn,
        _ => unreachable!(),
    };
    let (failed_tx, failed_rx) = std::sync::mpsc::channel();
    let writer = {
        let mut peer = peer.try_clone().unwrap();
        std::thread::spawn(move || {
            let chunk = vec![7u8; 64 << 10];
            let mut written = 0usize;
            let deadline = std::time::Instant::now() + common::WAIT;
            while std::time::Instant::now() < deadline {
                if peer.write_all(&chunk).is_err() {
                    let _ = failed_tx.send(std::time::Instant::now());
                    return written;
                }
                written += chunk.len();
            }
            written
        })
    };
    // Wait until the echo is stuck: the server has read more than it could send back, and
    // takes nothing more.
    engine.wait_received(session, 1 << 20);
    std::thread::sleep(Duration::from_millis(300));
    let asked = std::time::Instant::now();
    engine.send(Command::Disconnect { session, conn });
    engine.wait_for("client gone", |e| matches!(e, Event::ConnClosed { .. }));
    let failed_at = failed_rx
        .recv_timeout(common::WAIT)
        .expect("the peer's writes fail once the server lets go");
    assert!(
        failed_at.duration_since(asked) < Duration::from_secs(1),
        "let go after {:?}",
        failed_at.duration_since(asked)
    );
    writer.join().unwrap();
    peer.set_read_timeout(Some(common::WAIT)).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    while matches!(peer.read(&mut buf), Ok(n) if n > 0) {}
    engine.send(Command::Close { session });
    assert_eq!(closed_error(&mut engine, session), None);
}

/// Close and reopen under the same id while a client floods: after the new session's Opened,
/// nothing of the old one arrives.
#[test]
fn reopened_session_sees_no_events_of_the_old_one() {
    let mut engine = TestEngine::new();
    let session = engine.open(server_config("127.0.0.1:0", true));
    let local = engine.wait_opened(session);
    let flooder = std::thread::spawn(move || {
        let mut s = TcpStream::connect(local).unwrap();
        let chunk = vec![1u8; 64 << 10];
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while std::time::Instant::now() < deadline && s.write_all(&chunk).is_ok() {}
    });
    let old_conn = match engine.wait_for("client", |e| matches!(e, Event::ConnOpened { .. })) {
        Event::ConnOpened { conn, .. } => conn,
        _ => unreachable!(),
    };
    engine.wait_received(session, 1 << 20);
    engine.send(Command::Close { session });
    engine.send(Command::Open {
        session,
        config: server_config("127.0.0.1:0", false),
    });
    let reopened_at = engine.seen.len();
    let new_local = match engine.wait_for(
        "reopened",
        |e| matches!(e, Event::Opened { local: l, .. } if *l != local),
    ) {
        Event::Opened { local, .. } => local,
        _ => unreachable!(),
    };
    let opened = engine.seen[reopened_at..]
        .iter()
        .position(|e| matches!(e, Event::Opened { local, .. } if *local == new_local))
        .unwrap()
        + reopened_at;
    // The old session ended (Closed) before the new one opened.
    assert!(engine.seen[..opened]
        .iter()
        .any(|e| matches!(e, Event::Closed { .. })));
    // Let any straggler arrive, then look.
    std::thread::sleep(Duration::from_millis(500));
    while let Some(e) = engine.handle.try_recv() {
        engine.seen.push(e);
    }
    for e in &engine.seen[opened..] {
        let old = match e {
            Event::Data { conn, .. } => *conn == Some(old_conn),
            Event::ConnClosed { conn, .. } | Event::ConnOpened { conn, .. } => *conn == old_conn,
            Event::Closed { .. } | Event::RepeatDone { .. } => true,
            _ => false,
        };
        assert!(
            !old,
            "event of the old session after the new one opened: {e:?}"
        );
    }
    engine.send(Command::Close { session });
    flooder.join().unwrap();
}

/// A TCP server and client with the same "ping" → "ping" rule would answer each other flat
/// out; the loop guard pauses them and says so.
#[test]
fn tcp_rule_reply_loop_is_limited() {
    let rules = sockscope::sequence::parse_rules(
        "[[rule]]\nmatch = \"contains\"\npattern = \"ping\"\nreply = \"ping\"\n",
    )
    .unwrap();
    let mut engine = TestEngine::new();
    let server = engine.open(server_config("127.0.0.1:0", false));
    let local = engine.wait_opened(server);
    engine.send(Command::SetRules {
        session: server,
        rules: rules.clone(),
    });
    let client = engine.open(client_config(local.to_string()));
    engine.wait_opened(client);
    engine.send(Command::SetRules {
        session: client,
        rules,
    });
    engine.wait_for(
        "a warning about the self-matching rule",
        |e| matches!(e, Event::Warning { error, .. } if error.kind == NetErrorKind::LoopRisk),
    );
    engine.send(Command::Send {
        session: client,
        target: SendTarget::Default,
        bytes: b"ping".to_vec(),
        repeat: None,
        ack: None,
    });
    let tripped = engine.next_error();
    assert_eq!(tripped.kind, NetErrorKind::ReplyLimit, "{tripped:?}");
    // Paused replies drop the bouncing message: the loop is over, counters stop.
    std::thread::sleep(Duration::from_millis(500));
    engine.send(Command::Close { session: client });
    engine.send(Command::Close { session: server });
    let mut totals = Vec::new();
    for session in [client, server] {
        closed_error(&mut engine, session);
        let last = engine.seen.iter().rev().find_map(|e| match e {
            Event::Stats { session: s, stats } if *s == session => Some(stats.clone()),
            _ => None,
        });
        totals.push(last.expect("final stats"));
    }
    // One side paused (and says how many replies it held back); each sent about its limit.
    assert!(
        totals.iter().any(|t| t.replies_suppressed > 0),
        "{totals:?}"
    );
    for t in &totals {
        assert!(t.total.tx_packets <= 100 + 2, "{t:?}");
    }
}

/// Rules given before the session opens answer the very first bytes: a device that speaks
/// first, the moment it accepts, gets its answer (they used to reach the session after its
/// first read, so such a greeting went unanswered).
#[test]
fn rules_set_before_open_answer_a_device_that_speaks_first() {
    let rules = sockscope::sequence::parse_rules(
        "[[rule]]\nmatch = \"contains\"\npattern = \"HELLO?\"\nreply = \"hi device\"\n",
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let device = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"HELLO?").unwrap();
        s.set_read_timeout(Some(common::WAIT)).unwrap();
        let mut answer = [0u8; 9];
        s.read_exact(&mut answer).unwrap();
        answer
    });
    let mut engine = TestEngine::new();
    let session = engine.handle.new_session_id();
    engine.send(Command::SetRules { session, rules });
    engine.send(Command::Open {
        session,
        config: client_config(addr.to_string()),
    });
    assert_eq!(&device.join().unwrap(), b"hi device");
    // Nothing complained that the session was not open yet.
    engine.wait_opened(session);
    assert!(
        !engine.seen.iter().any(|e| matches!(e, Event::Error { .. })),
        "{:?}",
        engine.seen
    );
    engine.send(Command::Close { session });
}

/// A peer that echoes everything while we are still sending 32 MiB in one go: the client reads
/// while it writes, so neither side waits on the other with full buffers (before, both
/// blocked once the kernel's buffers filled), and every byte comes back in order.
#[test]
fn a_large_send_to_an_echoing_peer_does_not_deadlock() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = vec![0u8; 64 << 10];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let mut engine = TestEngine::new();
    let session = engine.open(client_config(addr.to_string()));
    engine.wait_opened(session);
    let data: Vec<u8> = (0..32u32 << 20).map(|i| (i % 253) as u8).collect();
    engine.send(Command::Send {
        session,
        target: SendTarget::Default,
        bytes: data.clone(),
        repeat: None,
        ack: None,
    });
    let got = engine.wait_received(session, data.len());
    assert!(got == data, "{} bytes back, not the same", got.len());
}
