//! The CLI as a real process against std::net peers on loopback.

use crate::common;

use assert_cmd::Command as Cmd;
use common::{start, WAIT};
use sockscope::payload::TextEncoding;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

#[test]
fn tcp_server_echoes_and_exits_after_the_first_client_with_exact_summary() {
    let server = start(&[
        "tcp-server",
        "127.0.0.1:0",
        "--echo",
        "--once",
        "--output",
        "jsonl",
    ]);
    let opened = json(&server.stdout_line("\"opened\""));
    let local: std::net::SocketAddr = opened["local"].as_str().unwrap().parse().unwrap();
    let mut c = TcpStream::connect(local).unwrap();
    c.set_read_timeout(Some(WAIT)).unwrap();
    c.write_all(b"hello sockscope").unwrap();
    let mut back = [0u8; 15];
    c.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"hello sockscope");
    let data = json(&server.stdout_line("\"data\""));
    assert_eq!(data["dir"], "rx");
    assert_eq!(data["len"], 15);
    assert_eq!(data["text"], "hello sockscope");
    assert_eq!(data["hex"], "68656c6c6f20736f636b73636f7065");
    assert_eq!(data["peer"], c.local_addr().unwrap().to_string());
    drop(c);
    let (code, rest) = server.finish();
    assert_eq!(code, 0);
    let summary = json(rest.last().expect("a summary line"));
    assert_eq!(
        summary,
        serde_json::json!({"event": "summary", "rx_bytes": 15, "tx_bytes": 15, "rx_packets": summary["rx_packets"], "tx_packets": summary["tx_packets"]})
    );
    assert!(summary["rx_packets"].as_u64().unwrap() >= 1);
}

#[test]
fn tcp_client_sends_hex_bytes_exactly() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        got
    });
    Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "tcp-client",
            &format!("127.0.0.1:{port}"),
            "--send",
            "0x01,0x03 00 00 00 0a",
            "--hex",
            "--checksum",
            "crc16-modbus",
            "--wait",
            "100",
        ])
        .timeout(WAIT)
        .assert()
        .success();
    assert_eq!(
        peer.join().unwrap(),
        vec![0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD]
    );
}

#[test]
fn tcp_client_receives_gbk_text() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap();
        let asked = TextEncoding::Gbk.decode(&buf[..n]);
        s.write_all(&TextEncoding::Gbk.encode(&format!("收到:{asked}")).unwrap())
            .unwrap();
    });
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "tcp-client",
            &format!("127.0.0.1:{port}"),
            "--send",
            "你好啊",
            "--encoding",
            "gbk",
        ])
        .timeout(WAIT)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("RX") && out.contains("收到:你好啊"), "{out}");
    peer.join().unwrap();
}

#[test]
fn seed_004_character_counting_server() {
    // The book's server: greets, reads a line, answers with its length.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (s, addr) = listener.accept().unwrap();
        let mut w = s.try_clone().unwrap();
        write!(w, "welcome,{addr:?}\nPlease enter a string:").unwrap();
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).unwrap();
        writeln!(w, "You entered {} characters.", line.trim().chars().count()).unwrap();
    });
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "tcp-client",
            &format!("127.0.0.1:{port}"),
            "--send",
            "hello",
            "--line-ending",
            "crlf",
            "--output",
            "jsonl",
        ])
        .timeout(WAIT)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text: String = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(json)
        .filter(|v| v["event"] == "data" && v["dir"] == "rx")
        .map(|v| v["text"].as_str().unwrap().to_string())
        .collect();
    assert!(text.starts_with("welcome,"), "{text}");
    assert!(text.ends_with("You entered 5 characters.\n"), "{text}");
}

#[test]
fn udp_receives_gbk_datagram_with_sender_address() {
    let recv = start(&[
        "udp",
        "--bind",
        "127.0.0.1:0",
        "--count",
        "1",
        "--encoding",
        "gbk",
        "--output",
        "jsonl",
    ]);
    let opened = json(&recv.stdout_line("\"opened\""));
    let local: std::net::SocketAddr = opened["local"].as_str().unwrap().parse().unwrap();
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.send_to(&TextEncoding::Gbk.encode("你好").unwrap(), local)
        .unwrap();
    let data = json(&recv.stdout_line("\"data\""));
    assert_eq!(data["text"], "你好");
    assert_eq!(data["hex"], "c4e3bac3");
    assert_eq!(data["peer"], s.local_addr().unwrap().to_string());
    let (code, rest) = recv.finish();
    assert_eq!(code, 0);
    assert_eq!(json(rest.last().unwrap())["rx_packets"], 1);
}

#[test]
fn udp_repeat_sends_n_datagrams_to_a_peer() {
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(WAIT)).unwrap();
    let to = peer.local_addr().unwrap().to_string();
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "udp",
            "--to",
            &to,
            "--send",
            "AA BB",
            "--hex",
            "--repeat",
            "3",
            "--interval",
            "10",
            "--timeout",
            "0.2",
            "--output",
            "summary",
        ])
        .timeout(WAIT)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let summary = json(String::from_utf8(out).unwrap().trim());
    assert_eq!(summary["tx_packets"], 3);
    assert_eq!(summary["tx_bytes"], 6);
    let mut buf = [0u8; 16];
    for _ in 0..3 {
        let (n, _) = peer.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], &[0xAA, 0xBB]);
    }
}

#[test]
fn udp_echo_answers_each_datagram() {
    let echo = start(&["udp", "--bind", "127.0.0.1:0", "--echo", "--count", "2"]);
    let port = echo.open_port();
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    c.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 16];
    for msg in [&b"one"[..], b"two"] {
        c.send_to(msg, ("127.0.0.1", port)).unwrap();
        let (n, _) = c.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], msg);
    }
    assert_eq!(echo.finish().0, 0);
}

#[test]
fn udp_timeout_with_nothing_received_exits_cleanly() {
    Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["udp", "--bind", "127.0.0.1:0", "--timeout", "0.3", "--output", "summary"])
        .timeout(WAIT)
        .assert()
        .success()
        .stdout("{\"event\":\"summary\",\"rx_bytes\":0,\"tx_bytes\":0,\"rx_packets\":0,\"tx_packets\":0}\n");
}

#[test]
fn bad_input_exits_2_with_a_one_line_reason() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["tcp-client", "127.0.0.1:80", "--send", "4G", "--hex"],
            "'G' at position 2 is not a hex digit",
        ),
        (
            &["tcp-client", "127.0.0.1:80", "--send", "123", "--hex"],
            "odd number of hex digits",
        ),
        (
            &[
                "tcp-client",
                "127.0.0.1:80",
                "--send",
                "x",
                "--encoding",
                "klingon",
            ],
            "unknown encoding 'klingon'",
        ),
        (
            &[
                "tcp-client",
                "127.0.0.1:80",
                "--send",
                "😀",
                "--encoding",
                "gbk",
            ],
            "cannot be encoded in GBK",
        ),
        (
            &["tcp-client", "127.0.0.1:99999"],
            "port must be a number from 0 to 65535",
        ),
        (
            &["tcp-client", "300.1.1.1:80"],
            "not a valid host name or IP address",
        ),
        (&["tcp-server", "abc"], "port must be a number"),
        (&["udp", "--send", "x"], "--send needs --to"),
        (
            &["udp", "--timeout", "0"],
            "--timeout must be a number of seconds from 0.001",
        ),
        (&["no-such-command"], "unrecognized subcommand"),
    ];
    for (args, reason) in cases {
        let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
            .args(*args)
            .timeout(WAIT)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn network_failures_exit_1() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["tcp-client", &format!("127.0.0.1:{port}"), "--send", "x"])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("connection refused"));

    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "tcp-server",
            &taken.local_addr().unwrap().to_string(),
            "--output",
            "jsonl",
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let error = stdout
        .lines()
        .map(json)
        .find(|v| v["event"] == "error")
        .expect("an error line");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("address already in use"));
}

#[test]
fn tcp_client_without_send_reads_until_the_server_closes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"banner\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(100));
    });
    Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "tcp-client",
            &format!("127.0.0.1:{port}"),
            "--output",
            "hex",
        ])
        .timeout(WAIT)
        .assert()
        .success()
        .stdout(predicates::str::contains("62 61 6E 6E 65 72 0D 0A"));
}

#[test]
fn macros_count_up_across_repeated_sends() {
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(WAIT)).unwrap();
    let to = peer.local_addr().unwrap().to_string();
    Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "udp",
            "--to",
            &to,
            "--send",
            "seq={{counter}} len={{len}}",
            "--macros",
            "--repeat",
            "3",
            "--interval",
            "5",
            "--timeout",
            "0.2",
        ])
        .timeout(WAIT)
        .assert()
        .success();
    let mut buf = [0u8; 64];
    for n in 1..=3 {
        let (len, _) = peer.recv_from(&mut buf).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&buf[..len]),
            format!("seq={n} len=10")
        );
    }
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["udp", "--to", &to, "--send", "{{bogus}}", "--macros"])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown or unclosed macro at position 1")
    );
}

#[test]
fn auto_reply_rules_fire_on_a_hex_prefix_and_not_on_a_near_miss() {
    let dir = std::env::temp_dir().join(format!("sockscope-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("rules.toml");
    std::fs::write(
        &rules,
        r#"
[[rule]]
name = "read holding registers"
match = "hex-prefix"
pattern = "01 03"
reply = "01 03 02 00 2A"
hex = true
checksum = "crc16-modbus"

[[rule]]
match = "contains"
pattern = "ping"
reply = "pong {{counter}}"
macros = true
delay_ms = 50
"#,
    )
    .unwrap();
    let server = start(&[
        "tcp-server",
        "127.0.0.1:0",
        "--rules",
        rules.to_str().unwrap(),
        "--output",
        "jsonl",
    ]);
    let opened = json(&server.stdout_line("\"opened\""));
    let local: std::net::SocketAddr = opened["local"].as_str().unwrap().parse().unwrap();
    let mut c = TcpStream::connect(local).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(400)))
        .unwrap();
    c.write_all(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD])
        .unwrap();
    let mut reply = [0u8; 7];
    c.read_exact(&mut reply).unwrap();
    let mut expected = vec![0x01, 0x03, 0x02, 0x00, 0x2A];
    sockscope::payload::Checksum::Crc16Modbus.append_to(&mut expected);
    assert_eq!(reply.to_vec(), expected);
    // A near miss: function code 04 is not 03.
    c.write_all(&[0x01, 0x04, 0x00, 0x00]).unwrap();
    let mut nothing = [0u8; 1];
    assert!(c.read(&mut nothing).is_err(), "no reply to a near miss");
    for n in 1..=2 {
        c.write_all(b"ping").unwrap();
        let mut pong = [0u8; 6];
        c.set_read_timeout(Some(WAIT)).unwrap();
        c.read_exact(&mut pong).unwrap();
        assert_eq!(pong, format!("pong {n}").as_bytes());
    }
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[[rule]]\npattern = \"01 0G\"\nmatch = \"hex-prefix\"\nreply = \"x\"\n",
    )
    .unwrap();
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["udp", "--timeout", "1", "--rules", bad.to_str().unwrap()])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("rule 1: hex pattern"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn huge_timeout_is_usage_error() {
    let folder = std::env::temp_dir();
    let folder = folder.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &["udp", "--timeout", "1e19"],
        &["udp", "--timeout", "18446744073709551615"],
        &["udp", "--timeout", "NaN"],
        &[
            "recv-file",
            "0",
            "--out",
            "/nonexistent/x.bin",
            "--udp",
            "--timeout",
            "1e300",
        ],
        &[
            "recv-file",
            "0",
            "--out",
            folder,
            "--verified",
            "--timeout",
            "inf",
        ],
        &[
            "tcp-client",
            "127.0.0.1:9",
            "--wait",
            "18446744073709551615",
        ],
        &["tcp-client", "127.0.0.1:9", "--connect-timeout", "0"],
        &[
            "udp",
            "--to",
            "127.0.0.1:9",
            "--send",
            "x",
            "--interval",
            "18446744073709551615",
        ],
        &["send-file", "127.0.0.1:9", "Cargo.toml", "--timeout=-1"],
    ];
    for args in cases {
        let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
            .args(*args)
            .timeout(WAIT)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("one week"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn macro_and_destination_mistakes_are_usage_errors_that_say_the_rule() {
    let macros = |send: &'static str| -> Vec<&'static str> {
        vec!["udp", "--to", "127.0.0.1:9", "--macros", "--send", send]
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (macros("{{rand:4097}}"), "{{rand:N}} takes N from 1 to 4096"),
        (macros("{{rand:0}}"), "{{rand:N}} takes N from 1 to 4096"),
        (
            macros("{{len8}}{{rand:300}}"),
            "{{len8}} cannot hold a length of 300 bytes",
        ),
        (
            vec!["tcp-client", "127.0.0.1:0"],
            "port 0 cannot be a destination",
        ),
        (
            vec!["udp", "--to", "127.0.0.1:0", "--send", "x"],
            "port 0 cannot be a destination",
        ),
        (
            vec!["send-file", "127.0.0.1:0", "Cargo.toml"],
            "port 0 cannot be a destination",
        ),
        (
            vec!["relay", "9000", "127.0.0.1:0"],
            "port 0 cannot be a destination",
        ),
    ];
    for (args, reason) in cases {
        let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
            .args(&args)
            .timeout(WAIT)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
}

/// A server stopped by SIGTERM (or Ctrl-C) still prints its counts.
// Unix only: a test can send a signal to a child there; Windows' console events cannot be
// sent to one child alone.
#[cfg(unix)]
#[test]
fn summary_on_sigterm() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let server = start(&["tcp-server", "127.0.0.1:0", "--output", "jsonl"]);
        let port = server.opened_local().port();
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.write_all(b"12345").unwrap();
        server.stdout_line("\"data\"");
        // SAFETY: kill() only sends a signal to the child we started.
        unsafe { libc::kill(server.child.id() as i32, signal) };
        let (code, rest) = server.finish();
        assert_eq!(code, 0, "signal {signal}");
        let summary = rest
            .iter()
            .find(|l| l.contains("\"summary\""))
            .unwrap_or_else(|| panic!("no summary after signal {signal}: {rest:?}"));
        let v: serde_json::Value = serde_json::from_str(summary).unwrap();
        assert_eq!(v["rx_bytes"], 5, "{summary}");
    }
}

/// Two `udp` processes that answer "ping" with "ping", and two that echo, would bounce one
/// datagram between them flat out; the loop guard pauses them and says so (exit 1).
#[test]
fn udp_rule_reply_loop_is_limited() {
    let dir = std::env::temp_dir().join(format!("sockscope-loop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("ping.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nmatch = \"contains\"\npattern = \"ping\"\nreply = \"ping\"\n",
    )
    .unwrap();
    let rules = rules.to_str().unwrap();
    for answer in [&["--rules", rules][..], &["--echo"][..]] {
        let mut a_args = vec![
            "udp",
            "--bind",
            "127.0.0.1:0",
            "--timeout",
            "4",
            "--output",
            "jsonl",
        ];
        a_args.extend_from_slice(answer);
        let a = start(&a_args);
        let a_port = a.opened_local().port();
        let to = format!("127.0.0.1:{a_port}");
        let mut b_args = vec![
            "udp",
            "--to",
            &to,
            "--send",
            "ping",
            "--timeout",
            "4",
            "--output",
            "jsonl",
        ];
        b_args.extend_from_slice(answer);
        let b = start(&b_args);
        let (code_a, out_a) = a.finish();
        let (code_b, out_b) = b.finish();
        let all: Vec<&String> = out_a.iter().chain(&out_b).collect();
        assert!(
            all.iter().any(|l| l.contains("automatic replies paused")),
            "{answer:?}: {all:?}"
        );
        assert!(code_a == 1 || code_b == 1, "{answer:?}");
        for out in [&out_a, &out_b] {
            let summary = out
                .iter()
                .find(|l| l.contains("\"summary\""))
                .expect("summary");
            let v: serde_json::Value = serde_json::from_str(summary).unwrap();
            // About one second's worth of the limit (100/s), not thousands per second.
            assert!(
                v["tx_packets"].as_u64().unwrap() <= 102,
                "{answer:?}: {summary}"
            );
        }
        // The side that paused says how many replies it held back.
        assert!(
            all.iter().any(|l| l.contains("\"replies_suppressed\"")),
            "{answer:?}: {all:?}"
        );
    }
}

/// One rule answers a family of requests: a hex mask's `??` bytes and a regex's groups go into
/// the reply (`$1`, `${name}`), checked with two different requests each, over real sockets.
#[test]
fn rules_with_captures_answer_each_request_with_its_own_bytes() {
    let dir = std::env::temp_dir().join(format!("sockscope-captures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("rules.toml");
    std::fs::write(
        &rules,
        r#"
[[rule]]
name = "read registers"
match = "exact-hex"
pattern = "01 03 ?? ?? 00 01"
reply = "01 03 02 $1"
hex = true
checksum = "crc16-modbus"

[[rule]]
name = "temperature"
match = "regex"
pattern = 'GET (?<what>\w+) id=(\d+)'
reply = "${what} of $2 = 21\\n"
escapes = true
"#,
    )
    .unwrap();
    let server = start(&[
        "tcp-server",
        "127.0.0.1:0",
        "--rules",
        rules.to_str().unwrap(),
        "--output",
        "jsonl",
    ]);
    let local = server.opened_local();
    let mut c = TcpStream::connect(local).unwrap();
    c.set_read_timeout(Some(WAIT)).unwrap();
    for register in [[0x00u8, 0x10], [0xAB, 0xCD]] {
        c.write_all(&[0x01, 0x03, register[0], register[1], 0x00, 0x01])
            .unwrap();
        let mut reply = [0u8; 7];
        c.read_exact(&mut reply).unwrap();
        let mut expected = vec![0x01, 0x03, 0x02, register[0], register[1]];
        sockscope::payload::Checksum::Crc16Modbus.append_to(&mut expected);
        assert_eq!(reply.to_vec(), expected);
    }
    for (request, answer) in [
        ("GET temp id=7", "temp of 7 = 21\n"),
        ("GET humidity id=1234", "humidity of 1234 = 21\n"),
    ] {
        c.write_all(request.as_bytes()).unwrap();
        let mut reply = vec![0u8; answer.len()];
        c.read_exact(&mut reply).unwrap();
        assert_eq!(String::from_utf8_lossy(&reply), answer);
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A rules file that cannot be read or parsed stops the run before a port is bound: exit 2,
/// one line, nothing opened.
#[test]
fn a_bad_rules_file_is_a_usage_error_before_anything_opens() {
    let dir = std::env::temp_dir().join(format!("sockscope-badrules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[[rule]]\npattern = 3\n").unwrap();
    let missing = dir.join("missing.toml");
    for (rules, reason) in [(&bad, "bad.toml"), (&missing, "cannot read")] {
        let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
            .args(["tcp-server", "127.0.0.1:0", "--rules"])
            .arg(rules)
            .timeout(WAIT)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(reason), "{stderr}");
        assert!(!stderr.contains("open on"), "nothing was opened: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

/// `--send` given several times goes out in order, `--gap` apart; `--stdin` sends each line
/// piped in, and the run ends after standard input does.
#[test]
fn several_sends_keep_their_order_and_gap_and_stdin_lines_follow() {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut lines = Vec::new();
        let mut reader = BufReader::new(s);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            lines.push((std::time::Instant::now(), line.trim_end().to_string()));
            line.clear();
        }
        lines
    });
    crate::common::watchdog();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "tcp-client",
            &addr.to_string(),
            "--send",
            "one",
            "--send",
            "two",
            "--gap",
            "300",
            "--line-ending",
            "lf",
            "--stdin",
            "--wait",
            "200",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"three\nfour\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(600));
    drop(stdin); // end of input: the run ends 200 ms later
    let status = child.wait().unwrap();
    assert!(status.success());
    let got = peer.join().unwrap();
    let texts: Vec<&str> = got.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(texts.len(), 4, "{texts:?}");
    assert_eq!(&texts[..2], ["one", "two"]);
    // Standard input's lines follow the --send list, in their order.
    assert_eq!(&texts[2..], ["three", "four"]);
    let gap = got[1].0 - got[0].0;
    assert!(gap >= std::time::Duration::from_millis(250), "{gap:?}");
}

/// `tcp-server --stdin` sends each line typed to every client connected (netcat's `-l`, with
/// many clients); `udp --stdin` sends each line as a datagram to `--to` and ends after standard
/// input does; `--send` on a server (no client yet) and `--stdin` on udp without `--to` are
/// refused.
#[test]
fn stdin_lines_reach_every_client_of_a_server_and_a_udp_destination() {
    use std::io::{BufRead, BufReader, Write};
    crate::common::watchdog();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "tcp-server",
            &format!("127.0.0.1:{port}"),
            "--stdin",
            "--line-ending",
            "lf",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::common::wait_listening(port);
    let clients: Vec<std::net::TcpStream> = (0..2)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut stdin = server.stdin.take().unwrap();
    stdin.write_all("hello 你好\n".as_bytes()).unwrap();
    stdin.flush().unwrap();
    for c in &clients {
        c.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut line = String::new();
        BufReader::new(c.try_clone().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "hello 你好\n");
    }
    // Standard input ending does not end a server: it listens on.
    drop(stdin);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(server.try_wait().unwrap().is_none(), "the server ended");
    let _ = server.kill();
    let _ = server.wait();

    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut udp = std::process::Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "udp",
            "--to",
            &peer.local_addr().unwrap().to_string(),
            "--stdin",
            "--hex",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = udp.stdin.take().unwrap();
    stdin.write_all(b"01 02\nFF\n").unwrap();
    drop(stdin);
    let mut buf = [0u8; 16];
    let n = peer.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], [1, 2]);
    let n = peer.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], [0xFF]);
    let started = std::time::Instant::now();
    let status = udp.wait().unwrap();
    assert!(status.success());
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    // Refused before anything opens.
    for (args, why) in [
        (
            &["tcp-server", "0", "--send", "x"][..],
            "no client to go to",
        ),
        (&["udp", "--stdin"][..], "--stdin needs --to"),
    ] {
        let out = crate::common::sockscope().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(why),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `udp --join` joins each group (IPv4 here) before anything is sent; a group that is not
/// multicast is refused before anything opens.
#[test]
fn udp_joins_multicast_groups_and_refuses_a_unicast_one() {
    let run = crate::common::start(&[
        "udp",
        "--bind",
        "0.0.0.0:0",
        "--join",
        "239.255.0.77",
        "--join",
        "239.255.0.78",
        "--timeout",
        "0.5",
        "--output",
        "jsonl",
    ]);
    let (code, lines) = run.finish();
    assert_eq!(code, 0, "{lines:#?}");
    assert!(!lines.iter().any(|l| l.contains("\"error\"")), "{lines:#?}");
    let bad = crate::common::start(&["udp", "--bind", "0", "--join", "192.0.2.1"]);
    assert!(bad.stderr_line("--join").contains("not a multicast group"));
    assert_eq!(bad.finish().0, 2);
}

/// When `--wait` ends the run while the peer is still sending, stderr says so; when the peer
/// had gone quiet, nothing is said.
#[test]
fn a_wait_that_cuts_a_stream_short_says_so() {
    use std::io::Write;
    for streaming in [true, false] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let end = std::time::Instant::now() + std::time::Duration::from_secs(2);
            let _ = s.write_all(b"first\n");
            // Streaming, or quiet (but open) until the client leaves.
            while std::time::Instant::now() < end {
                if streaming && s.write_all(b"more\n").is_err() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        });
        let run = crate::common::start(&[
            "tcp-client",
            &addr.to_string(),
            "--send",
            "go",
            "--wait",
            "300",
        ]);
        let (code, stderr) = run.finish_stderr();
        assert_eq!(code, 0);
        let said = stderr
            .iter()
            .any(|l| l.contains("--wait ended while data was still arriving"));
        assert_eq!(said, streaming, "streaming {streaming}: {stderr:?}");
        peer.join().unwrap();
    }
}
