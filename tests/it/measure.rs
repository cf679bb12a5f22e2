//! The probe against loopback peers whose behaviour is known: what it reports is what they did.

use crate::common::device;
use assert_cmd::Command as Cmd;
use std::net::UdpSocket;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// A UDP echo that drops every 10th datagram, sends the 3rd back twice, and answers each after
/// 5 ms; it stops after 2 s of silence.
fn lossy_echo() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut n = 0u32;
        while let Ok((len, from)) = socket.recv_from(&mut buf) {
            n += 1;
            if n % 10 == 0 {
                continue;
            }
            std::thread::sleep(Duration::from_millis(5));
            socket.send_to(&buf[..len], from).unwrap();
            if n == 3 {
                socket.send_to(&buf[..len], from).unwrap();
            }
        }
    });
    port
}

fn summary(stdout: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(stdout);
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn the_udp_probe_reports_exactly_what_a_lossy_echo_did() {
    let port = lossy_echo();
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "probe",
            "udp",
            &format!("127.0.0.1:{port}"),
            "--count",
            "50",
            "--interval",
            "10",
            "--size",
            "100",
            "--output",
            "jsonl",
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let s = summary(&out.stdout);
    assert_eq!(s["event"], "summary");
    assert_eq!(s["sent"], 50);
    assert_eq!(s["received"], 45);
    assert_eq!(s["lost"], 5);
    assert_eq!(s["loss_percent"], 10.0);
    assert_eq!(s["duplicated"], 1);
    assert_eq!(s["reordered"], 0);
    let rtt = &s["rtt_ms"];
    assert!(rtt["min"].as_f64().unwrap() >= 5.0, "{s}");
    for (a, b) in [
        ("min", "p50"),
        ("p50", "p90"),
        ("p90", "p99"),
        ("p99", "max"),
    ] {
        assert!(rtt[a].as_f64() <= rtt[b].as_f64(), "{a} <= {b}: {s}");
    }
    assert!(s["jitter_ms"].as_f64().is_some());
    let replies = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"reply\""))
        .count();
    assert_eq!(replies, 45, "one line per first answer");
}

#[test]
fn the_tcp_probe_times_each_request_and_nothing_back_is_exit_1() {
    let port = device(1, |d| d.to_ascii_uppercase());
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "probe",
            "tcp",
            &format!("127.0.0.1:{port}"),
            "--count",
            "5",
            "--interval",
            "20",
            "--data",
            "ping\n",
            "--expect",
            "PING",
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let s = summary(&out.stdout);
    assert_eq!(
        (s["sent"].as_u64(), s["received"].as_u64()),
        (Some(5), Some(5)),
        "{s}"
    );
    // A UDP port where nothing answers: all lost, no RTT figures, exit 1.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "probe",
            "udp",
            &format!("127.0.0.1:{port}"),
            "--count",
            "3",
            "--interval",
            "5",
            "--timeout",
            "200",
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let s = summary(&out.stdout);
    assert_eq!((s["sent"].as_u64(), s["lost"].as_u64()), (Some(3), Some(3)));
    assert!(s["rtt_ms"].is_null(), "{s}");
    drop(silent);
    // Bad input is a usage error.
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["probe", "udp", "127.0.0.1:9", "--size", "8"])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--size"));
}

/// A packet read back from a capture: source, destination, TCP flags (None: UDP), sequence
/// number, payload.
pub type Packet = (
    std::net::SocketAddr,
    std::net::SocketAddr,
    Option<u8>,
    u32,
    Vec<u8>,
);

/// An independent reader of the pcapng blocks SockScope writes: section, interface (Ethernet),
/// enhanced packets; IPv4/IPv6, TCP/UDP.
pub fn read_pcapng(bytes: &[u8]) -> Vec<Packet> {
    let u32le = |b: &[u8]| u32::from_le_bytes(b[..4].try_into().unwrap());
    let u16be = |b: &[u8]| u16::from_be_bytes(b[..2].try_into().unwrap());
    let u32be = |b: &[u8]| u32::from_be_bytes(b[..4].try_into().unwrap());
    assert_eq!(u32le(bytes), 0x0A0D_0D0A, "a section header first");
    assert_eq!(u32le(&bytes[8..]), 0x1A2B_3C4D, "little-endian section");
    let mut packets = Vec::new();
    let mut at = 0;
    let mut linktype = None;
    while at < bytes.len() {
        let kind = u32le(&bytes[at..]);
        let len = u32le(&bytes[at + 4..]) as usize;
        assert_eq!(len % 4, 0);
        assert_eq!(
            u32le(&bytes[at + len - 4..]) as usize,
            len,
            "trailing length"
        );
        let body = &bytes[at + 8..at + len - 4];
        match kind {
            1 => linktype = Some(u16::from_le_bytes([body[0], body[1]])),
            6 => {
                assert_eq!(linktype, Some(1), "Ethernet");
                let caplen = u32le(&body[12..]) as usize;
                let frame = &body[20..20 + caplen];
                let (ip, proto, src_ip, dst_ip): (&[u8], u8, std::net::IpAddr, std::net::IpAddr) =
                    match u16be(&frame[12..]) {
                        0x0800 => {
                            let ip = &frame[14..];
                            let hl = usize::from(ip[0] & 0x0F) * 4;
                            let total = usize::from(u16be(&ip[2..]));
                            let s: [u8; 4] = ip[12..16].try_into().unwrap();
                            let d: [u8; 4] = ip[16..20].try_into().unwrap();
                            (&ip[hl..total], ip[9], s.into(), d.into())
                        }
                        0x86DD => {
                            let ip = &frame[14..];
                            let plen = usize::from(u16be(&ip[4..]));
                            let s: [u8; 16] = ip[8..24].try_into().unwrap();
                            let d: [u8; 16] = ip[24..40].try_into().unwrap();
                            (&ip[40..40 + plen], ip[6], s.into(), d.into())
                        }
                        other => panic!("ethertype {other:#x}"),
                    };
                let src = std::net::SocketAddr::new(src_ip, u16be(ip));
                let dst = std::net::SocketAddr::new(dst_ip, u16be(&ip[2..]));
                match proto {
                    6 => {
                        let off = usize::from(ip[12] >> 4) * 4;
                        packets.push((src, dst, Some(ip[13]), u32be(&ip[4..]), ip[off..].to_vec()));
                    }
                    17 => packets.push((src, dst, None, 0, ip[8..].to_vec())),
                    other => panic!("protocol {other}"),
                }
            }
            _ => {}
        }
        at += len;
    }
    packets
}

/// The bytes one way of a TCP capture, reassembled by sequence number (each segment must start
/// where the previous ended).
pub fn reassemble(packets: &[Packet], from: std::net::SocketAddr) -> Vec<u8> {
    let mut out = Vec::new();
    let mut next: Option<u32> = None;
    for (src, _, flags, seq, payload) in packets {
        if *src != from || payload.is_empty() {
            if *src == from && flags.is_some_and(|f| f & 0x02 != 0) {
                next = Some(seq.wrapping_add(1));
            }
            continue;
        }
        assert_eq!(Some(*seq), next, "consecutive sequence numbers");
        next = Some(seq.wrapping_add(payload.len() as u32));
        out.extend_from_slice(payload);
    }
    out
}

#[test]
fn a_capture_reassembles_to_the_exchanged_bytes_with_the_real_addresses() {
    let dir = std::env::temp_dir().join(format!("sockscope-pcap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // TCP: a client talking to an upper-casing device.
    let port = device(1, |d| d.to_ascii_uppercase());
    let tcp = dir.join("tcp.pcapng");
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "tcp-client",
            &format!("127.0.0.1:{port}"),
            "--send",
            "hello capture",
            "--pcap",
            tcp.to_str().unwrap(),
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let packets = read_pcapng(&std::fs::read(&tcp).unwrap());
    let server: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let (client, _, syn, _, _) = packets[0].clone();
    assert_eq!(syn, Some(0x02), "the capture starts with the client's SYN");
    assert_eq!(packets[0].1, server);
    assert!(client.ip().is_loopback() && client.port() != port);
    assert_eq!(reassemble(&packets, client), b"hello capture");
    assert_eq!(reassemble(&packets, server), b"HELLO CAPTURE");
    assert!(
        packets.iter().any(|p| p.2.is_some_and(|f| f & 0x01 != 0)),
        "a FIN at the end"
    );
    // An existing capture is never replaced.
    let again = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "tcp-client",
            &format!("127.0.0.1:{port}"),
            "--pcap",
            tcp.to_str().unwrap(),
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));

    // UDP: a datagram to an echo and back.
    let echo = UdpSocket::bind("127.0.0.1:0").unwrap();
    let echo_addr = echo.local_addr().unwrap();
    echo.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        if let Ok((n, from)) = echo.recv_from(&mut buf) {
            echo.send_to(&buf[..n], from).unwrap();
        }
    });
    let udp = dir.join("udp.pcapng");
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "udp",
            "--to",
            &echo_addr.to_string(),
            "--send",
            "datagram",
            "--timeout",
            "1",
            "--pcap",
            udp.to_str().unwrap(),
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let packets = read_pcapng(&std::fs::read(&udp).unwrap());
    assert_eq!(packets.len(), 2, "{packets:?}");
    // The session's reports of a send and of a receive may reach the capture in either order.
    let sent = packets
        .iter()
        .find(|p| p.1 == echo_addr)
        .expect("the datagram sent");
    let back = packets.iter().find(|p| p.0 == echo_addr).expect("the echo");
    assert_eq!(
        (sent.4.as_slice(), back.4.as_slice()),
        (&b"datagram"[..], &b"datagram"[..])
    );
    assert_eq!(sent.0, back.1, "back to where it came from");
    if crate::common::has("tshark") {
        let status = std::process::Command::new("tshark")
            .args([
                "-r",
                tcp.to_str().unwrap(),
                "-q",
                "-z",
                "follow,tcp,ascii,0",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&status.stdout);
        assert!(
            text.contains("hello capture") && text.contains("HELLO CAPTURE"),
            "{text}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The generator sends what it says at the rate it was given: a paced run cannot finish before
/// its schedule, a receiver on loopback counts every datagram, and a flat-out run accounts for
/// every packet as sent or failed.
#[test]
fn the_generator_keeps_its_schedule_and_counts_exactly() {
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = receiver.local_addr().unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let counter = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut n = 0u64;
        while let Ok(len) = receiver.recv(&mut buf) {
            assert_eq!(len, 100);
            n += 1;
        }
        n
    });
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "generate",
            "udp",
            &addr.to_string(),
            "--rate",
            "2000",
            "--count",
            "400",
            "--size",
            "100",
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let s = summary(&out.stdout);
    assert_eq!(
        (s["sent_packets"].as_u64(), s["sent_bytes"].as_u64()),
        (Some(400), Some(40_000))
    );
    // Packet 399 is due 199.5 ms after packet 0: never sooner.
    assert!(s["seconds"].as_f64().unwrap() >= 0.199, "{s}");
    assert_eq!(counter.join().unwrap(), 400, "every datagram arrived");
    // Flat out, 20,000 packets (handed to the kernel in batches: GSO or sendmmsg on Linux):
    // each is sent or counted as failed, and every datagram that arrives is one whole packet.
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sink_addr = sink.local_addr().unwrap();
    sink.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let lengths = std::thread::spawn(move || {
        let mut buf = [0u8; 65_536];
        let mut seen = std::collections::BTreeSet::new();
        let mut n = 0u64;
        while let Ok(len) = sink.recv(&mut buf) {
            seen.insert(len);
            n += 1;
        }
        (seen, n)
    });
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "generate",
            "udp",
            &sink_addr.to_string(),
            "--count",
            "20000",
            "--size",
            "100",
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    let s = summary(&out.stdout);
    assert_eq!(
        s["sent_packets"].as_u64().unwrap() + s["failed_sends"].as_u64().unwrap(),
        20_000,
        "{s}"
    );
    let (seen, n) = lengths.join().unwrap();
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [100],
        "whole packets only"
    );
    assert!(n > 0 && n <= s["sent_packets"].as_u64().unwrap(), "{n} {s}");
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["generate", "udp", "127.0.0.1:9", "--bitrate", "fast"])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A TCP device that answers request 0 too late (after the probe's time limit) and the others
/// after 50 ms: the late answer is not taken for request 1's (which would show an RTT near 0).
#[test]
fn a_late_tcp_answer_is_not_taken_for_the_next_requests() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 64];
        for k in 0..3 {
            if s.read(&mut buf).unwrap_or(0) == 0 {
                return;
            }
            let delay = if k == 0 { 250 } else { 50 };
            std::thread::sleep(Duration::from_millis(delay));
            let _ = s.write_all(format!("A{k}\n").as_bytes());
        }
    });
    let options = sockscope::measure::probe::ProbeOptions {
        count: 3,
        interval: Duration::from_millis(400),
        size: 0,
        payload: b"Q\n".to_vec(),
        timeout: Duration::from_millis(100),
        stop: Default::default(),
    };
    let s = sockscope::measure::probe::tcp(addr, &options, None, |_| {}).unwrap();
    assert_eq!((s.sent, s.received, s.lost), (3, 2, 1), "{s:?}");
    let rtt = s.rtt_ms.unwrap();
    assert!(
        rtt.min >= 50.0,
        "an answer taken for the wrong request: {rtt:?}"
    );
}

/// Stop ends a long probe against a silent peer at once, with the figures of what was sent;
/// over TCP a peer that floods without ever matching the expected text does not keep it either.
#[test]
fn a_stopped_probe_ends_at_once_with_what_it_sent() {
    use sockscope::measure::probe::{self, ProbeOptions};
    use std::sync::atomic::Ordering;
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let options = ProbeOptions {
        count: 100_000,
        interval: Duration::from_millis(10),
        size: 64,
        payload: Vec::new(),
        timeout: Duration::from_secs(60),
        stop: Default::default(),
    };
    let stop = options.stop.clone();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
    });
    let started = std::time::Instant::now();
    let s = probe::udp(silent.local_addr().unwrap(), &options, |_| {}).unwrap();
    stopper.join().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!((1..100).contains(&s.sent), "{s:?}");
    assert_eq!((s.received, s.lost), (0, s.sent));

    // A TCP peer that sends without end, never the expected "OK".
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::Write;
        let (mut s, _) = listener.accept().unwrap();
        let junk = vec![b'x'; 64 << 10];
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < until && s.write_all(&junk).is_ok() {}
    });
    let options = ProbeOptions {
        count: 1000,
        payload: b"READ\n".to_vec(),
        ..options
    };
    let stop = options.stop.clone();
    stop.store(false, Ordering::Relaxed);
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::Relaxed);
    });
    let expect = sockscope::payload::matcher::Matcher::new(
        sockscope::payload::matcher::MatchKind::Contains,
        "OK",
        sockscope::payload::TextEncoding::Utf8,
    )
    .unwrap();
    let started = std::time::Instant::now();
    let s = probe::tcp(addr, &options, Some(&expect), |_| {}).unwrap();
    stopper.join().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((s.sent, s.received), (1, 0), "{s:?}");
}

/// A TCP relay's capture is its client's side: what the client said, and what the target
/// answered as the relay sent it back, on the client's connection to the relay.
#[test]
fn a_relay_capture_shows_the_client_side_both_ways() {
    let dir = std::env::temp_dir().join(format!("sockscope-pcap-relay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let target = device(1, |d| d.to_ascii_uppercase());
    // A port free a moment ago (the relay prints nothing before its end in summary mode).
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let file = dir.join("relay.pcapng");
    let mut relay = std::process::Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "relay",
            &format!("127.0.0.1:{listen}"),
            &format!("127.0.0.1:{target}"),
        ])
        .args(["--once", "--pcap", file.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let relay_addr: std::net::SocketAddr = format!("127.0.0.1:{listen}").parse().unwrap();
    let started = std::time::Instant::now();
    let mut client = loop {
        match std::net::TcpStream::connect(relay_addr) {
            Ok(s) => break s,
            Err(_) if started.elapsed() < WAIT => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("{e}"),
        }
    };
    use std::io::{Read, Write};
    client.write_all(b"through the relay").unwrap();
    let mut answer = [0u8; 17];
    client.set_read_timeout(Some(WAIT)).unwrap();
    client.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"THROUGH THE RELAY");
    let client_addr = client.local_addr().unwrap();
    drop(client);
    let status = relay.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let packets = read_pcapng(&std::fs::read(&file).unwrap());
    assert_eq!(packets[0].0, client_addr, "the client's SYN first");
    assert_eq!(packets[0].1, relay_addr);
    assert_eq!(reassemble(&packets, client_addr), b"through the relay");
    assert_eq!(reassemble(&packets, relay_addr), b"THROUGH THE RELAY");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A hostile echo: each answer comes with a forged one (a request never sent, and one with a
/// send time that is not ours), and a flood of junk pours in the whole time. The probe counts
/// only real answers and keeps its schedule.
#[test]
fn forged_answers_and_a_flood_do_not_change_the_figures() {
    use sockscope::measure::probe::{self, ProbeOptions};
    let echo = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = echo.local_addr().unwrap();
    echo.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut flooding = false;
        while let Ok((n, from)) = echo.recv_from(&mut buf) {
            let Some((seq, sent)) = probe::parse(&buf[..n]) else {
                continue;
            };
            let _ = echo.send_to(&buf[..n], from);
            let _ = echo.send_to(&probe::datagram(seq + 1000, sent, 64, b""), from);
            let _ = echo.send_to(&probe::datagram(seq, sent + 1, 64, b""), from);
            if !flooding {
                flooding = true;
                // Junk for 2 s, from another socket, as fast as it goes.
                std::thread::spawn(move || {
                    let junk = UdpSocket::bind("127.0.0.1:0").unwrap();
                    let until = std::time::Instant::now() + Duration::from_secs(2);
                    while std::time::Instant::now() < until {
                        let _ = junk.send_to(&[0x55; 512], from);
                    }
                });
            }
        }
    });
    let options = ProbeOptions {
        count: 50,
        interval: Duration::from_millis(10),
        size: 64,
        payload: Vec::new(),
        timeout: Duration::from_millis(500),
        stop: Default::default(),
    };
    let started = std::time::Instant::now();
    let s = probe::udp(addr, &options, |_| {}).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        (s.sent, s.received, s.lost, s.duplicated),
        (50, 50, 0, 0),
        "{s:?}"
    );
}

/// Ctrl-C (SIGINT) ends a long probe and a long generator run with their summaries.
// Unix only: a test can send a signal to a child there.
#[cfg(unix)]
#[test]
fn ctrl_c_ends_probe_and_generate_with_their_summaries() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let target = silent.local_addr().unwrap().to_string();
    let runs: [&[&str]; 2] = [
        &[
            "probe",
            "udp",
            &target,
            "--count",
            "100000",
            "--interval",
            "10",
        ],
        &[
            "generate",
            "udp",
            &target,
            "--rate",
            "1000",
            "--duration",
            "60",
        ],
    ];
    for args in runs {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_sockscope"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(700));
        let started = std::time::Instant::now();
        // SAFETY: kill() only sends a signal to the child we started.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let out = child.wait_with_output().unwrap();
        assert!(started.elapsed() < Duration::from_secs(5), "{args:?}");
        let s = summary(&out.stdout);
        let sent = s["sent"].as_u64().or(s["sent_packets"].as_u64()).unwrap();
        assert!((1..30_000).contains(&sent), "{args:?}: {s}");
        // Nothing came back to the probe: exit 1; the generator did its job: exit 0.
        let expected = if args[0] == "probe" { 1 } else { 0 };
        assert_eq!(out.status.code(), Some(expected), "{args:?}: {s}");
    }
}

/// The TCP generator against a peer that stops reading ends on time (blocked writes fail,
/// counted as failed); against one that hangs up it ends at once and says so (exit 1), and the
/// packets it did send are counted.
#[test]
fn tcp_load_against_a_silent_or_vanishing_peer_ends_and_says_why() {
    use std::io::Read;
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let keeper = std::thread::spawn(move || {
        // Accepts, never reads, holds the connection until the test is over.
        let (s, _) = silent.accept().unwrap();
        std::thread::sleep(Duration::from_secs(6));
        drop(s);
    });
    let started = std::time::Instant::now();
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "generate",
            "tcp",
            &silent_addr.to_string(),
            "--size",
            "65536",
        ])
        .args(["--duration", "2"])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let s = summary(&out.stdout);
    assert!(s["failed_sends"].as_u64().unwrap() >= 1, "{s}");
    assert!(s["sent_packets"].as_u64().unwrap() >= 1, "{s}");
    keeper.join().unwrap();

    let vanishing = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = vanishing.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = vanishing.accept().unwrap();
        let mut buf = [0u8; 1000];
        let _ = s.read_exact(&mut buf);
        // Unread data at close: the kernel resets the connection.
    });
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["generate", "tcp", &addr.to_string(), "--size", "100"])
        .args(["--rate", "20000", "--duration", "20"])
        .timeout(WAIT)
        .output()
        .unwrap();
    let s = summary(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{s}");
    assert!(s["ended_by"].is_string(), "{s}");
    assert!(s["seconds"].as_f64().unwrap() < 10.0, "{s}");
    assert!(s["sent_packets"].as_u64().unwrap() >= 10, "{s}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("the connection failed"));
}

/// Huge and tiny numbers are a usage error or a run that ends on its own terms, never a panic:
/// a duration past what can be waited, a rate so low the next packet never comes, a rate so
/// high everything is due at once, and a probe time limit of u64::MAX ms.
#[test]
fn huge_and_tiny_numbers_never_panic() {
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = sink.local_addr().unwrap().to_string();
    let run = |args: &[&str]| {
        Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
            .args(args)
            .timeout(WAIT)
            .output()
            .unwrap()
    };
    let out = run(&["generate", "udp", &to, "--duration", "1e300"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--duration"));
    // The first packet goes at once; the second is due in 1e300 s: the run ends at its time.
    let out = run(&[
        "generate",
        "udp",
        &to,
        "--rate",
        "1e-300",
        "--duration",
        "0.3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(summary(&out.stdout)["sent_packets"], 1);
    let out = run(&["generate", "udp", &to, "--rate", "1e300", "--count", "5"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(summary(&out.stdout)["sent_packets"], 5);
    // A huge time limit against an echo that answers: it ends as soon as all came back.
    let echo = crate::common::udp_echo().to_string();
    let timeout = u64::MAX.to_string();
    let out = run(&["probe", "udp", &echo, "--count", "3", "--timeout", &timeout]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(summary(&out.stdout)["received"], 3);
}
