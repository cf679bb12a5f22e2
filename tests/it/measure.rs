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
