//! UDP sessions against real loopback peers written with std::net.

use crate::common;

use common::TestEngine;
use sockscope::engine::{
    Command, Direction, Event, NetErrorKind, SendTarget, SessionConfig, SessionId, SocketOptions,
};
use sockscope::payload::TextEncoding;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

fn udp_config(bind: &str, dest: Option<String>, echo: bool) -> SessionConfig {
    SessionConfig::Udp {
        bind: bind.parse().unwrap(),
        default_dest: dest,
        broadcast: false,
        echo,
        options: SocketOptions::default(),
    }
}

fn send(engine: &TestEngine, session: SessionId, target: SendTarget, bytes: &[u8]) {
    engine.send(Command::Send {
        session,
        target,
        bytes: bytes.to_vec(),
        repeat: None,
        ack: None,
    });
}

fn next_error(engine: &mut TestEngine) -> NetErrorKind {
    engine.next_error().kind
}

#[test]
fn seed_000_gbk_exchange() {
    // The seed's peer: receives GBK text and answers in GBK.
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let mut engine = TestEngine::new();
    let session = engine.open(udp_config(
        "127.0.0.1:0",
        Some(peer_addr.to_string()),
        false,
    ));
    let local = engine.wait_opened(session);
    send(
        &engine,
        session,
        SendTarget::Default,
        &TextEncoding::Gbk.encode("你好啊").unwrap(),
    );
    let mut buf = [0u8; 1024];
    peer.set_read_timeout(Some(common::WAIT)).unwrap();
    let (n, from) = peer.recv_from(&mut buf).unwrap();
    assert_eq!(from, local);
    assert_eq!(TextEncoding::Gbk.decode(&buf[..n]), "你好啊");
    let answer = TextEncoding::Gbk.encode("我很好,你呢").unwrap();
    peer.send_to(&answer, from).unwrap();
    let got = engine.wait_received(session, answer.len());
    assert_eq!(TextEncoding::Gbk.decode(&got), "我很好,你呢");
    let Event::Data { chunks, .. } = engine.wait_for("rx", |e| {
        matches!(e, Event::Data { chunks, .. } if chunks.first().is_some_and(|c| c.dir == Direction::Rx))
    }) else {
        unreachable!()
    };
    assert_eq!(chunks[0].peer, peer_addr, "the sender's address is shown");
}

#[test]
fn reply_to_last_sender_and_per_send_destination() {
    let mut engine = TestEngine::new();
    let session = engine.open(udp_config("127.0.0.1:0", None, false));
    let local = engine.wait_opened(session);
    send(&engine, session, SendTarget::LastSender, b"x");
    assert_eq!(next_error(&mut engine), NetErrorKind::NotConnected);

    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    a.set_read_timeout(Some(common::WAIT)).unwrap();
    a.send_to(b"hi", local).unwrap();
    engine.wait_received(session, 2);
    send(&engine, session, SendTarget::LastSender, b"back");
    let mut buf = [0u8; 16];
    let (n, _) = a.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"back");

    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    b.set_read_timeout(Some(common::WAIT)).unwrap();
    send(
        &engine,
        session,
        SendTarget::To(b.local_addr().unwrap().to_string()),
        b"to b",
    );
    let (n, _) = b.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"to b");
}

#[test]
fn udp_over_ipv6_with_echo() {
    if !common::ipv6() {
        return;
    }
    let mut engine = TestEngine::new();
    let session = engine.open(udp_config("[::1]:0", None, true));
    let local = engine.wait_opened(session);
    let c = UdpSocket::bind("[::1]:0").unwrap();
    c.set_read_timeout(Some(common::WAIT)).unwrap();
    c.send_to(b"echo me", local).unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = c.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"echo me"[..], local));
}

#[test]
fn broadcast_needs_the_option() {
    // 127.255.255.255 is the loopback network's broadcast: the traffic stays on this machine.
    let mut engine = TestEngine::new();
    let session = engine.open(udp_config(
        "127.0.0.1:0",
        Some("127.255.255.255:9".into()),
        false,
    ));
    engine.wait_opened(session);
    send(&engine, session, SendTarget::Default, b"b");
    assert_eq!(next_error(&mut engine), NetErrorKind::PermissionDenied);
    engine.send(Command::SetBroadcast { session, on: true });
    send(&engine, session, SendTarget::Default, b"b");
    engine.wait_for("sent", |e| {
        matches!(e, Event::Data { chunks, .. } if chunks.iter().any(|c| c.dir == Direction::Tx))
    });
}

#[test]
fn multicast_join_and_leave_v4_and_v6() {
    let mut engine = TestEngine::new();
    let session = engine.open(udp_config("0.0.0.0:0", None, false));
    engine.wait_opened(session);
    // Joining sends no datagram of ours; a bad group is refused with a message.
    engine.send(Command::JoinMulticast {
        session,
        group: "239.255.42.99".parse().unwrap(),
        interface: 0,
    });
    engine.send(Command::LeaveMulticast {
        session,
        group: "239.255.42.99".parse().unwrap(),
        interface: 0,
    });
    engine.send(Command::JoinMulticast {
        session,
        group: "10.0.0.1".parse().unwrap(),
        interface: 0,
    });
    let Event::Error { error, .. } = engine.wait_for("error", |e| matches!(e, Event::Error { .. }))
    else {
        unreachable!()
    };
    assert!(error.detail.contains("not a multicast address"), "{error}");
    assert_eq!(
        engine
            .seen
            .iter()
            .filter(|e| matches!(e, Event::Error { .. }))
            .count(),
        1,
        "join and leave of a real group succeed"
    );

    if common::ipv6() {
        let v6 = engine.open(udp_config("[::]:0", None, false));
        engine.wait_opened(v6);
        engine.send(Command::JoinMulticast {
            session: v6,
            group: "ff02::4242".parse().unwrap(),
            interface: 1,
        });
        engine.send(Command::LeaveMulticast {
            session: v6,
            group: "ff02::4242".parse().unwrap(),
            interface: 1,
        });
        engine.send(Command::Close { session: v6 });
        engine.wait_for(
            "closed",
            |e| matches!(e, Event::Closed { session, .. } if *session == v6),
        );
        assert_eq!(
            engine
                .seen
                .iter()
                .filter(|e| matches!(e, Event::Error { .. }))
                .count(),
            1
        );
    }
}

#[test]
fn oversized_datagram_is_an_error_not_a_crash() {
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut engine = TestEngine::new();
    let session = engine.open(udp_config(
        "127.0.0.1:0",
        Some(peer.local_addr().unwrap().to_string()),
        false,
    ));
    engine.wait_opened(session);
    send(&engine, session, SendTarget::Default, &vec![0u8; 70_000]);
    engine.wait_for("error", |e| matches!(e, Event::Error { .. }));
}

#[test]
fn port_in_use_for_udp() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut engine = TestEngine::new();
    let session = engine.open(udp_config(
        &taken.local_addr().unwrap().to_string(),
        None,
        false,
    ));
    let Event::Closed { error, .. } =
        engine.wait_for("closed", |e| matches!(e, Event::Closed { .. }))
    else {
        unreachable!()
    };
    assert_eq!(error.unwrap().kind, NetErrorKind::AddrInUse);
    let _ = session;
}

#[test]
fn burst_of_100000_datagrams_is_received_whole() {
    const COUNT: u64 = 100_000;
    let mut engine = TestEngine::new();
    let session = engine.open(udp_config("127.0.0.1:0", None, false));
    let local: SocketAddr = engine.wait_opened(session);
    let sender = std::thread::spawn(move || {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut msg = [0u8; 64];
        for i in 0..COUNT {
            msg[..8].copy_from_slice(&i.to_be_bytes());
            s.send_to(&msg, local).unwrap();
        }
    });
    sender.join().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut rx = 0;
    while std::time::Instant::now() < deadline && rx < COUNT {
        if let Some(Event::Stats { stats, .. }) =
            engine.handle.recv_timeout(Duration::from_millis(100))
        {
            rx = stats.total.rx_packets;
        }
    }
    assert_eq!(rx, COUNT, "datagrams received of {COUNT}");
}

#[test]
fn auto_reply_rule_answers_the_sender_and_counts_its_firings() {
    use sockscope::engine::ReplyRule;
    use sockscope::payload::matcher::{MatchKind, Matcher};
    use sockscope::payload::Template;
    let mut engine = TestEngine::new();
    let session = engine.open(udp_config("127.0.0.1:0", None, false));
    let local = engine.wait_opened(session);
    engine.send(Command::SetRules {
        session,
        rules: vec![ReplyRule {
            name: "greeting".into(),
            matcher: Matcher::new(MatchKind::Contains, "hi", TextEncoding::Utf8).unwrap(),
            reply: Template::fixed(b"hello".to_vec()),
            delay: None,
            field: None,
        }],
    });
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    c.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    // Wait until the rule is in place: the first datagram may arrive before it.
    let mut buf = [0u8; 16];
    let mut answered = false;
    for _ in 0..20 {
        c.send_to(b"oh hi there", local).unwrap();
        if let Ok((n, _)) = c.recv_from(&mut buf) {
            assert_eq!(&buf[..n], b"hello");
            answered = true;
            break;
        }
    }
    assert!(answered);
    c.send_to(b"nope", local).unwrap();
    if let Ok((n, _)) = c.recv_from(&mut buf) {
        panic!(
            "no answer without a match, got {:?}",
            String::from_utf8_lossy(&buf[..n])
        );
    }
    engine.wait_for("fire count", |e| matches!(e, Event::Stats { stats, .. } if stats.rule_fires.first().is_some_and(|n| *n >= 1)));
}

/// One UDP session whose rule answers "ping" with "ping", sending to itself: each reply is
/// received by itself and answered again. The loop guard stops it, and the limit can be set.
#[test]
fn a_session_answering_itself_is_limited() {
    let rules = sockscope::sequence::parse_rules(
        "[[rule]]\nmatch = \"contains\"\npattern = \"ping\"\nreply = \"ping\"\n",
    )
    .unwrap();
    for limit in [100u32, 20] {
        let mut engine = TestEngine::new();
        let session = engine.open(udp_config("127.0.0.1:0", None, false));
        let local = engine.wait_opened(session);
        engine.send(Command::SetRules {
            session,
            rules: rules.clone(),
        });
        engine.send(Command::SetReplyLimit {
            session,
            per_s: limit,
        });
        send(&engine, session, SendTarget::To(local.to_string()), b"ping");
        assert_eq!(next_error(&mut engine), NetErrorKind::ReplyLimit);
        std::thread::sleep(Duration::from_millis(300));
        engine.send(Command::Close { session });
        engine.wait_for("closed", |e| matches!(e, Event::Closed { .. }));
        let stats = engine
            .seen
            .iter()
            .rev()
            .find_map(|e| match e {
                Event::Stats { stats, .. } => Some(stats.clone()),
                _ => None,
            })
            .unwrap();
        // The first send, then at most `limit` replies: not 20,000 in 0.2 s.
        assert!(
            stats.total.tx_packets <= u64::from(limit) + 1,
            "limit {limit}: {stats:?}"
        );
        assert!(stats.replies_suppressed >= 1, "{stats:?}");
    }
}
