//! One true timeline: what a session received and what it sent (typed, echoed, answered by a
//! rule, relayed) reaches the jsonl output and the capture in the order it crossed the wire,
//! every byte, with timestamps that never go backwards. Checked on real loopback conversations
//! with the CLI as a process, the capture read back by our own reader and, when installed, by
//! tshark and capinfos.

use crate::common::{device, has, start, Running, WAIT};
use crate::measure::{read_pcapng, reassemble, Packet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

pub(crate) fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("sockscope-{name}-"))
        .tempdir()
        .unwrap()
}

/// A rules file in `dir` with one regex rule: `pattern` answered by `reply`.
fn regex_rule(dir: &tempfile::TempDir, pattern: &str, reply: &str) -> std::path::PathBuf {
    let path = dir.path().join("rules.toml");
    let text = format!("[[rule]]\nmatch = \"regex\"\npattern = {pattern:?}\nreply = {reply:?}\n");
    std::fs::write(&path, text).unwrap();
    path
}

/// A capture's packets, checked to be in time order (timestamps never decrease).
fn read_in_time_order(path: &std::path::Path) -> Vec<Packet> {
    let bytes = std::fs::read(path).unwrap();
    let times = pcap_times(&bytes);
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "time order: {times:?}"
    );
    read_pcapng(&bytes)
}

/// Every packet's timestamp (µs), in file order.
fn pcap_times(bytes: &[u8]) -> Vec<u64> {
    let u32le = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let (mut at, mut out) = (0, Vec::new());
    while at < bytes.len() {
        let len = u32le(at + 4) as usize;
        if u32le(at) == 6 {
            out.push((u64::from(u32le(at + 12)) << 32) | u64::from(u32le(at + 16)));
        }
        at += len;
    }
    out
}

/// Ends a CLI session as a user does (Ctrl-C) once what it did has settled; it must exit 0.
/// Returns the rest of its output.
#[cfg(unix)]
pub(crate) fn interrupt(run: Running) -> Vec<String> {
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill() only sends a signal to the child we started.
    unsafe { libc::kill(run.child.id() as i32, libc::SIGINT) };
    let (code, lines) = run.finish();
    assert_eq!(code, 0, "{lines:?}");
    lines
}

/// The data lines of a jsonl output: (conn, dir, peer, text), in output order.
fn data_lines(lines: &[String]) -> Vec<(u64, String, String, String)> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "data")
        .map(|v| {
            (
                v["conn"].as_u64().unwrap_or(0),
                v["dir"].as_str().unwrap_or("").to_string(),
                v["peer"].as_str().unwrap_or("").to_string(),
                v["text"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Reads exactly `n` bytes with the test's time limit.
fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = vec![0u8; n];
    if let Err(e) = s.read_exact(&mut buf) {
        panic!("reading {n} bytes: {e}");
    }
    buf
}

/// The payload packets of one TCP stream (between `a` and `b`), in file order, as
/// (from `a`?, payload).
fn stream_payloads(packets: &[Packet], a: SocketAddr, b: SocketAddr) -> Vec<(bool, Vec<u8>)> {
    packets
        .iter()
        .filter(|p| p.2.is_some() && !p.4.is_empty())
        .filter(|p| (p.0 == a && p.1 == b) || (p.0 == b && p.1 == a))
        .map(|p| (p.0 == a, p.4.clone()))
        .collect()
}

/// Checks a capture with Wireshark's own tools when they are installed: strict time order,
/// no expert warnings (no segment "not captured", no retransmission), and each stream's bytes
/// both ways as `follow` shows them.
fn wireshark_agrees(path: &std::path::Path, streams: &[(Vec<u8>, Vec<u8>)]) {
    if !has("tshark") || !has("capinfos") {
        eprintln!("tshark/capinfos not installed: the capture was checked by our own reader only");
        return;
    }
    let file = path.to_str().unwrap();
    let info = std::process::Command::new("capinfos")
        .args(["-o", file])
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains("Strict time order:   True") || info.contains("Strict time order: True"),
        "{info}"
    );
    let expert = std::process::Command::new("tshark")
        .args(["-r", file, "-q", "-z", "expert,warn"])
        .output()
        .unwrap();
    let expert = String::from_utf8_lossy(&expert.stdout);
    assert!(
        !expert.contains("Warning") && !expert.contains("not captured"),
        "{expert}"
    );
    for i in 0..streams.len() {
        let follow = std::process::Command::new("tshark")
            .args(["-r", file, "-q", "-z", &format!("follow,tcp,raw,{i}")])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&follow.stdout);
        // Raw follow: one hex line per segment, the second side's lines indented by a tab.
        let (mut a, mut b) = (String::new(), String::new());
        for line in text.lines().filter(|l| {
            let t = l.trim();
            !t.is_empty() && t.bytes().all(|c| c.is_ascii_hexdigit())
        }) {
            if line.starts_with('\t') {
                b.push_str(line.trim());
            } else {
                a.push_str(line.trim());
            }
        }
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        // tshark numbers streams by their first packet: any expected stream may be number i.
        let matches = streams.iter().any(|(first, second)| {
            let (want_a, want_b) = (hex(first), hex(second));
            (a == want_a && b == want_b) || (a == want_b && b == want_a)
        });
        assert!(matches, "stream {i}: tshark follows {a} / {b}");
    }
}

/// A tcp-server answering three clients by a rule, 20 turns each: in the jsonl output each
/// connection's request comes before its reply every time, and the capture holds every
/// request and reply in time order, alternating 20 times per stream.
#[cfg(unix)]
#[test]
fn a_rules_server_lists_requests_before_replies_in_output_and_capture() {
    let dir = temp_dir("timeline");
    let rules = regex_rule(&dir, r"^req (\d+)-(\d+)$", "rep $1-$2");
    let pcap = dir.path().join("server.pcapng");
    let server = start(&[
        "tcp-server",
        "127.0.0.1:0",
        "--rules",
        rules.to_str().unwrap(),
        "--reply-limit",
        "0",
        "--output",
        "jsonl",
        "--pcap",
        pcap.to_str().unwrap(),
    ]);
    let local = server.opened_local();
    const TURNS: usize = 20;
    let clients: Vec<SocketAddr> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|c| {
                s.spawn(move || {
                    let mut stream = TcpStream::connect(local).unwrap();
                    for i in 0..TURNS {
                        let request = format!("req {c}-{i:02}");
                        stream.write_all(request.as_bytes()).unwrap();
                        let reply = read_n(&mut stream, request.len());
                        assert_eq!(reply, format!("rep {c}-{i:02}").as_bytes());
                    }
                    stream.local_addr().unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let lines = interrupt(server);
    let data = data_lines(&lines);
    assert_eq!(
        data.len(),
        3 * 2 * TURNS,
        "every request and reply: {data:#?}"
    );
    for (c, client) in clients.iter().enumerate() {
        let mine: Vec<(String, String)> = data
            .iter()
            .filter(|d| d.2 == client.to_string())
            .map(|d| (d.1.clone(), d.3.clone()))
            .collect();
        let expected: Vec<(String, String)> = (0..TURNS)
            .flat_map(|i| {
                [
                    ("rx".to_string(), format!("req {c}-{i:02}")),
                    ("tx".to_string(), format!("rep {c}-{i:02}")),
                ]
            })
            .collect();
        assert_eq!(mine, expected, "client {c} in wire order");
    }
    // The capture: strictly in time order, each stream alternating request/reply 20 times.
    let packets = read_in_time_order(&pcap);
    let mut streams = Vec::new();
    for (c, client) in clients.iter().enumerate() {
        let payloads = stream_payloads(&packets, *client, local);
        let expected: Vec<(bool, Vec<u8>)> = (0..TURNS)
            .flat_map(|i| {
                [
                    (true, format!("req {c}-{i:02}").into_bytes()),
                    (false, format!("rep {c}-{i:02}").into_bytes()),
                ]
            })
            .collect();
        assert_eq!(payloads, expected, "stream of client {c}");
        let stream: Vec<Packet> = packets
            .iter()
            .filter(|p| p.0 == *client || p.1 == *client)
            .cloned()
            .collect();
        streams.push((reassemble(&stream, *client), reassemble(&stream, local)));
    }
    wireshark_agrees(&pcap, &streams);
}

/// `tcp-server --echo --pcap` and `udp --echo --pcap`: the echoed bytes are in the capture,
/// each right after what it echoes.
#[cfg(unix)]
#[test]
fn echoes_are_in_the_capture() {
    let dir = temp_dir("echo");
    let pcap = dir.path().join("tcp-echo.pcapng");
    let server = start(&[
        "tcp-server",
        "127.0.0.1:0",
        "--echo",
        "--output",
        "jsonl",
        "--pcap",
        pcap.to_str().unwrap(),
    ]);
    let local = server.opened_local();
    let mut client = TcpStream::connect(local).unwrap();
    for word in ["one", "two", "three"] {
        client.write_all(word.as_bytes()).unwrap();
        assert_eq!(read_n(&mut client, word.len()), word.as_bytes());
    }
    let me = client.local_addr().unwrap();
    drop(client);
    let lines = interrupt(server);
    let echoed: Vec<String> = data_lines(&lines)
        .into_iter()
        .map(|d| format!("{} {}", d.1, d.3))
        .collect();
    assert_eq!(
        echoed,
        ["rx one", "tx one", "rx two", "tx two", "rx three", "tx three"],
        "the log shows the echoes"
    );
    let packets = read_pcapng(&std::fs::read(&pcap).unwrap());
    assert_eq!(reassemble(&packets, me), b"onetwothree");
    assert_eq!(reassemble(&packets, local), b"onetwothree", "the echo");
    wireshark_agrees(&pcap, &[(b"onetwothree".to_vec(), b"onetwothree".to_vec())]);

    // UDP: three datagrams, three echoes.
    let pcap = dir.path().join("udp-echo.pcapng");
    let udp = start(&[
        "udp",
        "--bind",
        "127.0.0.1:0",
        "--echo",
        "--timeout",
        "1",
        "--output",
        "jsonl",
        "--pcap",
        pcap.to_str().unwrap(),
    ]);
    let local = udp.opened_local();
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(WAIT)).unwrap();
    for word in ["a", "bb", "ccc"] {
        peer.send_to(word.as_bytes(), local).unwrap();
        let mut buf = [0u8; 16];
        let (n, _) = peer.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], word.as_bytes());
    }
    let (code, lines) = udp.finish();
    assert_eq!(code, 0, "{lines:?}");
    let packets = read_pcapng(&std::fs::read(&pcap).unwrap());
    let shown: Vec<(bool, Vec<u8>)> = packets
        .iter()
        .map(|p| (p.0 == peer.local_addr().unwrap(), p.4.clone()))
        .collect();
    let expected: Vec<(bool, Vec<u8>)> = ["a", "bb", "ccc"]
        .iter()
        .flat_map(|w| {
            [
                (true, w.as_bytes().to_vec()),
                (false, w.as_bytes().to_vec()),
            ]
        })
        .collect();
    assert_eq!(shown, expected, "6 datagrams: each and its echo");
}

/// A tcp-client whose rules answer a device that asks 20 questions: output and capture list
/// each question before its answer.
#[test]
fn a_client_answering_by_rule_keeps_the_conversation_in_order() {
    let dir = temp_dir("client");
    let rules = regex_rule(&dir, r"^ask (\d+)$", "ans $1");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = listener.local_addr().unwrap();
    const TURNS: usize = 20;
    let asker = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        for i in 0..TURNS {
            s.write_all(format!("ask {i:02}").as_bytes()).unwrap();
            assert_eq!(read_n(&mut s, 6), format!("ans {i:02}").as_bytes());
        }
    });
    let pcap = dir.path().join("client.pcapng");
    crate::common::watchdog();
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "tcp-client",
            &target.to_string(),
            "--rules",
            rules.to_str().unwrap(),
            "--reply-limit",
            "0",
            "--output",
            "jsonl",
            "--pcap",
            pcap.to_str().unwrap(),
        ])
        .timeout(3 * WAIT)
        .output()
        .unwrap();
    asker.join().unwrap();
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let got: Vec<String> = data_lines(&lines)
        .into_iter()
        .map(|d| format!("{} {}", d.1, d.3))
        .collect();
    let expected: Vec<String> = (0..TURNS)
        .flat_map(|i| [format!("rx ask {i:02}"), format!("tx ans {i:02}")])
        .collect();
    assert_eq!(got, expected);
    let packets = read_in_time_order(&pcap);
    let payloads: Vec<Vec<u8>> = packets
        .iter()
        .filter(|p| !p.4.is_empty())
        .map(|p| p.4.clone())
        .collect();
    let expected: Vec<Vec<u8>> = (0..TURNS)
        .flat_map(|i| {
            [
                format!("ask {i:02}").into_bytes(),
                format!("ans {i:02}").into_bytes(),
            ]
        })
        .collect();
    assert_eq!(payloads, expected);
    let (asks, answers): (Vec<u8>, Vec<u8>) = (
        (0..TURNS)
            .flat_map(|i| format!("ask {i:02}").into_bytes())
            .collect(),
        (0..TURNS)
            .flat_map(|i| format!("ans {i:02}").into_bytes())
            .collect(),
    );
    wireshark_agrees(&pcap, &[(answers, asks)]);
}

/// A relay between a client and a device, 20 turns: the capture (the client's side) alternates
/// request and answer 20 times in time order, and the output lists each request (from the
/// client) before its answer (from the device).
#[cfg(unix)]
#[test]
fn a_relay_keeps_each_request_before_its_answer() {
    let dir = temp_dir("relay");
    let device_port = device(1, |d| {
        let mut a = b"re:".to_vec();
        a.extend_from_slice(d);
        a
    });
    let pcap = dir.path().join("relay.pcapng");
    let relay = start(&[
        "relay",
        "127.0.0.1:0",
        &format!("127.0.0.1:{device_port}"),
        "--output",
        "jsonl",
        "--pcap",
        pcap.to_str().unwrap(),
    ]);
    let local = relay.opened_local();
    let mut client = TcpStream::connect(local).unwrap();
    const TURNS: usize = 20;
    for i in 0..TURNS {
        let request = format!("q{i:02}");
        client.write_all(request.as_bytes()).unwrap();
        assert_eq!(read_n(&mut client, 6), format!("re:{request}").as_bytes());
    }
    let me = client.local_addr().unwrap();
    drop(client);
    let lines = interrupt(relay);
    let got: Vec<String> = data_lines(&lines).into_iter().map(|d| d.3).collect();
    let expected: Vec<String> = (0..TURNS)
        .flat_map(|i| [format!("q{i:02}"), format!("re:q{i:02}")])
        .collect();
    assert_eq!(got, expected, "output in wire order");
    let packets = read_in_time_order(&pcap);
    let expected: Vec<(bool, Vec<u8>)> = (0..TURNS)
        .flat_map(|i| {
            [
                (true, format!("q{i:02}").into_bytes()),
                (false, format!("re:q{i:02}").into_bytes()),
            ]
        })
        .collect();
    assert_eq!(
        stream_payloads(&packets, me, local),
        expected,
        "12 segments stay 12"
    );
    wireshark_agrees(
        &pcap,
        &[(
            (0..TURNS)
                .flat_map(|i| format!("q{i:02}").into_bytes())
                .collect(),
            (0..TURNS)
                .flat_map(|i| format!("re:q{i:02}").into_bytes())
                .collect(),
        )],
    );
}

/// A relay whose target accepts and resets at once: each client is reset within a second
/// (not left hanging), and the output says why.
#[cfg(unix)]
#[test]
fn a_target_that_resets_resets_the_relay_client_at_once() {
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let target_addr = target.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in target.incoming().take(3) {
            let Ok(stream) = stream else { return };
            socket2::SockRef::from(&stream)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            // Dropped with linger 0: a reset.
        }
    });
    let relay = start(&[
        "relay",
        "127.0.0.1:0",
        &target_addr.to_string(),
        "--output",
        "jsonl",
    ]);
    let local = relay.opened_local();
    for _ in 0..3 {
        let mut client = TcpStream::connect(local).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        let started = Instant::now();
        let mut buf = [0u8; 16];
        let outcome = client.read(&mut buf);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the client waited {:?}",
            started.elapsed()
        );
        match outcome {
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
            Ok(n) => panic!("the client was closed, not reset ({n} bytes)"),
        }
    }
    let why = relay.stdout_line("\"disconnected\"");
    assert!(why.to_lowercase().contains("reset"), "{why}");
    // SAFETY: kill() only sends a signal to the child we started.
    unsafe { libc::kill(relay.child.id() as i32, libc::SIGINT) };
    // Exit 1: connections failed (the target reset them).
    assert_eq!(relay.finish().0, 1);
}

/// Is this Python module importable by python3?
pub(crate) fn python_has(module: &str) -> bool {
    has("python3")
        && std::process::Command::new("python3")
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success())
}

/// A real Modbus client (pymodbus) reading registers from a tcp-server that answers by rule:
/// the output lists each request before its reply, and the capture alternates them exactly as
/// they crossed the wire.
#[cfg(unix)]
#[test]
fn a_pymodbus_client_sees_requests_and_replies_alternate() {
    if !python_has("pymodbus") {
        eprintln!("pymodbus not installed (pip install pymodbus): the Modbus check did not run");
        return;
    }
    let dir = temp_dir("modbus");
    let rules = dir.path().join("modbus.toml");
    // Read Holding Registers 0..2 of unit 1: answered 44, 45 with the request's transaction id.
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"read 2 registers\"\nmatch = \"hex-prefix\"\n\
         pattern = \"?? ?? 00 00 00 06 01 03 00 00 00 02\"\n\
         reply = \"$1 00 00 00 07 01 03 04 00 2C 00 2D\"\nhex = true\n",
    )
    .unwrap();
    let pcap = dir.path().join("modbus.pcapng");
    let server = start(&[
        "tcp-server",
        "127.0.0.1:0",
        "--rules",
        rules.to_str().unwrap(),
        "--output",
        "jsonl",
        "--pcap",
        pcap.to_str().unwrap(),
    ]);
    let local = server.opened_local();
    const READS: usize = 10;
    let script = format!(
        "from pymodbus.client import ModbusTcpClient\n\
         c = ModbusTcpClient('127.0.0.1', port={port}, timeout=5)\n\
         assert c.connect()\n\
         for _ in range({READS}):\n\
         \x20   try:\n\
         \x20       r = c.read_holding_registers(0, count=2, device_id=1)\n\
         \x20   except TypeError:\n\
         \x20       r = c.read_holding_registers(0, count=2, slave=1)\n\
         \x20   assert not r.isError(), r\n\
         \x20   assert r.registers == [44, 45], r.registers\n\
         c.close()\n\
         print('ok')\n",
        port = local.port()
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ok"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = interrupt(server);
    let dirs: Vec<String> = data_lines(&lines).into_iter().map(|d| d.1).collect();
    let expected: Vec<&str> = (0..READS).flat_map(|_| ["rx", "tx"]).collect();
    assert_eq!(dirs, expected, "each request before its reply");
    let packets = read_in_time_order(&pcap);
    let payloads: Vec<(bool, usize)> = packets
        .iter()
        .filter(|p| !p.4.is_empty())
        .map(|p| (p.1 == local, p.4.len()))
        .collect();
    let expected: Vec<(bool, usize)> = (0..READS).flat_map(|_| [(true, 12), (false, 13)]).collect();
    assert_eq!(payloads, expected, "request (12 B), reply (13 B), 10 times");
    let client = packets.iter().find(|p| p.1 == local).map(|p| p.0).unwrap();
    wireshark_agrees(
        &pcap,
        &[(reassemble(&packets, client), reassemble(&packets, local))],
    );
}

/// A script's replies are sends like any other: a tcp-server whose script answers each request
/// with it and its CRC has every request and reply in the capture, alternating, in time order
/// (checked by our reader and, when installed, by tshark and capinfos).
#[cfg(unix)]
#[test]
fn a_script_s_replies_are_in_the_capture() {
    let dir = temp_dir("script-capture");
    let script = dir.path().join("crc.rhai");
    std::fs::write(
        &script,
        "fn on_frame(frame, fields) { let out = frame; out += crc16_modbus(frame); reply(out); }\n",
    )
    .unwrap();
    let pcap = dir.path().join("script.pcapng");
    let server = start(&[
        "tcp-server",
        "127.0.0.1:0",
        "--script",
        script.to_str().unwrap(),
        "--frame",
        "fixed:4",
        "--reply-limit",
        "0",
        "--output",
        "jsonl",
        "--pcap",
        pcap.to_str().unwrap(),
    ]);
    let local = server.opened_local();
    const TURNS: u8 = 10;
    let mut stream = TcpStream::connect(local).unwrap();
    let mut expected = Vec::new();
    for i in 0..TURNS {
        let request = vec![1, 3, 0, i];
        stream.write_all(&request).unwrap();
        let mut reply = request.clone();
        sockscope::payload::Checksum::Crc16Modbus.append_to(&mut reply);
        assert_eq!(read_n(&mut stream, reply.len()), reply);
        expected.push((true, request));
        expected.push((false, reply));
    }
    let client = stream.local_addr().unwrap();
    drop(stream);
    let lines = interrupt(server);
    assert_eq!(
        data_lines(&lines).len(),
        2 * usize::from(TURNS),
        "{lines:#?}"
    );
    let packets = read_in_time_order(&pcap);
    assert_eq!(stream_payloads(&packets, client, local), expected);
    let stream: Vec<Packet> = packets
        .iter()
        .filter(|p| p.0 == client || p.1 == client)
        .cloned()
        .collect();
    wireshark_agrees(
        &pcap,
        &[(reassemble(&stream, client), reassemble(&stream, local))],
    );
}
