//! Test sequences run by `sockscope run` against device simulators on loopback: a pass, a
//! wrong answer, a timeout, a refused connection, a bad file, and the reports.

use crate::common::{device, start};
use assert_cmd::Command as Cmd;
use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// Seed 003's device: answers every read in upper case; serves `clients` connections.
fn upper_case_device(clients: usize) -> u16 {
    device(clients, |r| r.to_ascii_uppercase())
}

fn write_sequence(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sockscope-seq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run(path: &PathBuf, extra: &[&str]) -> (i32, String) {
    crate::common::watchdog();
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .arg("run")
        .arg(path)
        .args(extra)
        .timeout(WAIT)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_documented_example_passes_against_the_device() {
    let port = upper_case_device(1);
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/examples/device-check.toml"
    ))
    .unwrap()
    .replace("127.0.0.1:9999", &format!("127.0.0.1:{port}"));
    let path = write_sequence("example.toml", &text);
    let report = path.with_extension("html");
    let (code, out) = run(&path, &["--report", report.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("5 passed, 0 failed"), "{out}");
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("PASSED")
            && html.contains("HELLO DEVICE")
            && html.contains("01 03 00 00 00 0A C5 CD"),
        "{html}"
    );
}

#[test]
fn a_wrong_answer_and_a_timeout_fail_with_exit_1() {
    let port = upper_case_device(1);
    let path = write_sequence(
        "wrong.toml",
        &format!(
            r#"
name = "expects lower case"
[connection]
kind = "tcp-client"
remote = "127.0.0.1:{port}"
timeout_ms = 300
[[step]]
send = "abc"
[[step]]
expect = "abc"
[[step]]
send = "xyz"
[[step]]
expect = "^XYZ$"
match = "regex"
[[step]]
expect = "never comes"
"#
        ),
    );
    let csv = path.with_extension("csv");
    let (code, out) = run(&path, &["--report", csv.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("3 passed, 2 failed"), "{out}");
    assert!(
        out.contains("FAIL  #2 expect abc") && out.contains("received: ABC"),
        "{out}"
    );
    assert!(
        out.contains("PASS  #4"),
        "a regex on the upper-case answer passes: {out}"
    );
    assert!(
        out.contains("FAIL  #5") && out.contains("no match within 300 ms"),
        "{out}"
    );
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert!(csv.starts_with("round,step,label,result,ms,detail\n"));
    assert_eq!(
        csv.lines().filter(|l| l.contains(",fail,")).count(),
        2,
        "{csv}"
    );
}

#[test]
fn udp_gbk_sequence_with_macros_and_repeat() {
    // Seed 000's peer: answers GBK text with "收到" and the message.
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = peer.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = peer.recv_from(&mut buf) {
            let text = sockscope::payload::TextEncoding::Gbk.decode(&buf[..n]);
            let reply = sockscope::payload::TextEncoding::Gbk
                .encode(&format!("收到:{text}"))
                .unwrap();
            let _ = peer.send_to(&reply, from);
        }
    });
    let path = write_sequence(
        "udp.toml",
        &format!(
            r#"
repeat = 2
[connection]
kind = "udp"
remote = "127.0.0.1:{port}"
bind = "127.0.0.1:0"
encoding = "gbk"
[[step]]
send = "第{{{{counter}}}}条"
macros = true
[[step]]
expect = "收到:第\\d条"
match = "regex"
"#
        ),
    );
    let (code, out) = run(&path, &["--output", "jsonl"]);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.last().unwrap()["passed"], 4);
    assert!(
        lines[3]["detail"].as_str().unwrap().contains("收到:第2条"),
        "{:?}",
        lines[3]
    );
}

#[test]
fn refused_connection_and_bad_files() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = write_sequence("refused.toml", &format!("[connection]\nkind = \"tcp-client\"\nremote = \"127.0.0.1:{port}\"\n[[step]]\nsend = \"x\"\n"));
    let (code, out) = run(&path, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("connection refused"), "{out}");
    for (name, text, reason) in [
        ("syntax.toml", "[connection\n", "TOML"),
        ("two.toml", "[connection]\nkind=\"udp\"\nremote=\"127.0.0.1:9\"\n[[step]]\nsend=\"a\"\nexpect=\"b\"\n", "step 1: give exactly one of send, expect, wait_ms"),
        ("hex.toml", "[connection]\nkind=\"udp\"\nremote=\"127.0.0.1:9\"\n[[step]]\nsend=\"0G\"\nhex=true\n", "step 1: 'G' at position 2 is not a hex digit"),
        ("kind.toml", "[connection]\nkind=\"modem\"\nremote=\"127.0.0.1:9\"\n", "unknown variant"),
        ("serial.toml", "[connection]\nkind=\"serial\"\nbaud=9600\n", "serial needs port"),
        ("baud.toml", "[connection]\nkind=\"serial\"\nport=\"/dev/ttyS0\"\nbaud=0\n", "baud"),
        ("typo.toml", "[connection]\nkind=\"udp\"\nremote=\"127.0.0.1:9\"\n[[step]]\nsned=\"a\"\n", "unknown field"),
    ] {
        let path = write_sequence(name, text);
        let (code, out) = run(&path, &[]);
        assert_eq!(code, 2, "{name}: {out}");
        assert!(out.to_lowercase().contains(&reason.to_lowercase()), "{name}: {out}");
    }
    let (code, out) = run(&PathBuf::from("/no/such.toml"), &[]);
    assert_eq!(code, 2);
    assert!(out.contains("cannot read /no/such.toml"));
}

/// 2,000 back-to-back sends: every one that the report counts as passed reached the device.
#[test]
fn sequence_sends_are_never_dropped() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let device = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        // A slow start, as a device busy with something else.
        std::thread::sleep(Duration::from_millis(300));
        let mut got = String::new();
        let mut r = s;
        let _ = r.read_to_string(&mut got);
        got
    });
    let path = write_sequence(
        "many-sends.toml",
        &format!(
            "[connection]\nkind = \"tcp-client\"\nremote = \"127.0.0.1:{port}\"\n\n\
             [[step]]\nsend = \"m{{{{counter}}}}\"\nmacros = true\nline_ending = \"lf\"\ntimes = 2000\n"
        ),
    );
    let (code, out) = run(&path, &[]);
    assert_eq!(code, 0, "{}", &out[out.len().saturating_sub(2000)..]);
    assert!(
        out.contains("2000 passed, 0 failed"),
        "{}",
        &out[out.len() - 300..]
    );
    let got = device.join().unwrap();
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines.len(), 2000);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(*line, format!("m{}", i + 1));
    }
}

/// A send step whose connection is gone fails, with the reason, instead of passing.
#[test]
fn a_send_that_did_not_happen_fails_its_step() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let device = std::thread::spawn(move || {
        // Accept, then reset the connection at once.
        let (s, _) = listener.accept().unwrap();
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(s);
    });
    let path = write_sequence(
        "send-after-reset.toml",
        &format!(
            "[connection]\nkind = \"tcp-client\"\nremote = \"127.0.0.1:{port}\"\n\n\
             [[step]]\nwait_ms = 300\n\n[[step]]\nsend = \"hello\"\n"
        ),
    );
    let (code, out) = run(&path, &[]);
    device.join().unwrap();
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("PASS  #2"), "{out}");
}

/// A device that answers PING with an unsolicited NOISE line and then PONG, in pieces that cut
/// across the lines; serves `clients` connections.
fn chatty_device(clients: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for _ in 0..clients {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            s.set_nodelay(true).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = [0u8; 64];
            if !matches!(s.read(&mut buf), Ok(n) if n > 0) {
                continue;
            }
            for piece in [&b"NOI"[..], b"SE\r\nPO", b"NG\r\n"] {
                let _ = s.write_all(piece);
                std::thread::sleep(Duration::from_millis(30));
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    port
}

/// With `frame = "line"` an expectation matches one whole line, whatever the reads were: an
/// exact PONG line passes although NOISE came first and the reads cut across both lines;
/// without framing the same expectation sees everything received and fails.
#[test]
fn a_framed_expectation_matches_one_whole_frame() {
    let port = chatty_device(2);
    let sequence = |frame: &str| {
        format!(
            "name = \"ping\"\n[connection]\nkind = \"tcp-client\"\nremote = \"127.0.0.1:{port}\"\n{frame}\n\
             [[step]]\nsend = \"PING\\r\\n\"\n\
             [[step]]\nexpect = \"50 4F 4E 47 0D 0A\"\nmatch = \"exact-hex\"\ntimeout_ms = 1500\n"
        )
    };
    let framed = write_sequence("framed.toml", &sequence("frame = \"line\""));
    let (code, out) = run(&framed, &[]);
    assert_eq!(code, 0, "{out}");
    let unframed = write_sequence("unframed.toml", &sequence(""));
    let (code, out) = run(&unframed, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("NOISE"), "{out}");
}

/// Several sequences in one run with a JUnit report, as a lab's CI runs them: one testsuite
/// per sequence, one testcase per step, the failure saying what was expected and what came;
/// exit 1 because one failed, and 0 when all pass.
#[test]
fn several_sequences_write_one_junit_report() {
    let port = upper_case_device(4);
    let seq = |name: &str, expect: &str| {
        format!(
            "name = \"{name}\"\n[connection]\nkind = \"tcp-client\"\nremote = \"127.0.0.1:{port}\"\n\
             [[step]]\nsend = \"hello\"\n[[step]]\nexpect = \"{expect}\"\ntimeout_ms = 800\n"
        )
    };
    let good = write_sequence("junit-good.toml", &seq("upper <case>", "HELLO"));
    let bad = write_sequence("junit-bad.toml", &seq("wrong & late", "GOODBYE"));
    let report = std::env::temp_dir().join(format!("sockscope-junit-{}.xml", std::process::id()));
    let (code, out) = run(
        &good,
        &[bad.to_str().unwrap(), "--report", report.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{out}");
    let xml = std::fs::read_to_string(&report).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("4"));
    assert_eq!(root.attribute("failures"), Some("1"));
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 2);
    assert_eq!(suites[0].attribute("name"), Some("upper <case>"));
    assert_eq!(suites[0].attribute("failures"), Some("0"));
    assert_eq!(suites[1].attribute("name"), Some("wrong & late"));
    let failure = suites[1]
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .expect("a failure");
    let text = failure.text().unwrap_or("");
    assert!(text.contains("GOODBYE"), "expected in the failure: {text}");
    assert!(text.contains("HELLO"), "what came in the failure: {text}");
    // All passing: exit 0.
    let (code, out) = run(
        &good,
        &[good.to_str().unwrap(), "--report", report.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}");
    let _ = std::fs::remove_file(&report);
}

/// Talk to a device once with --record; the file replays: PASS against the same device, FAIL
/// (exit 1) at the step against one that answers one byte differently.
#[test]
fn a_recorded_session_replays_and_catches_a_changed_answer() {
    let good = device(2, |r| r.to_ascii_uppercase());
    let path = std::env::temp_dir().join(format!("sockscope-recorded-{}.toml", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "tcp-client",
            &format!("127.0.0.1:{good}"),
            "--send",
            "hello device\\r\\n",
            "--escapes",
            "--record",
            path.to_str().unwrap(),
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let recorded = std::fs::read_to_string(&path).unwrap();
    assert!(recorded.contains("hello device\\r\\n"), "{recorded}");
    assert!(recorded.contains("48 45 4C 4C 4F"), "{recorded}");
    // A second recording to the same file is refused before anything opens.
    let again = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "tcp-client",
            &format!("127.0.0.1:{good}"),
            "--record",
            path.to_str().unwrap(),
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), recorded);
    let (code, out) = run(&path, &[]);
    assert_eq!(code, 0, "{out}");
    let changed = device(1, |r| {
        let mut a = r.to_ascii_uppercase();
        a[0] = b'J';
        a
    });
    let replay = write_sequence(
        "recorded-changed.toml",
        &recorded.replace(
            &format!("127.0.0.1:{good}"),
            &format!("127.0.0.1:{changed}"),
        ),
    );
    let (code, out) = run(&replay, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  #2"), "{out}");
    let _ = std::fs::remove_file(&path);
}

/// Record a client talking to a device; with the device gone, `run --simulate` on the recording
/// stands in for it where it was, and the original recording replays against the simulator
/// byte-exactly (both PASS); a client asking something else gets no answer (the simulator FAILs).
#[test]
fn a_recording_played_as_a_simulator_answers_the_client_byte_exactly() {
    let port = device(1, |r| {
        let mut a = b"ACK ".to_vec();
        a.extend(r.iter().rev());
        a
    });
    let path = std::env::temp_dir().join(format!("sockscope-sim-{}.toml", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let out = Cmd::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "tcp-client",
            &format!("127.0.0.1:{port}"),
            "--send",
            "01 03 00 0A",
            "--hex",
            "--record",
            path.to_str().unwrap(),
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // The device served its one client and is gone; the simulator takes its port.
    wait_port_free(port);
    let simulator = start(&["run", path.to_str().unwrap(), "--simulate"]);
    let line = simulator.stderr_line("listening on");
    assert!(line.ends_with(&format!("127.0.0.1:{port}")), "{line}");
    let (code, out) = run(&path, &[]);
    assert_eq!(
        code, 0,
        "the recording replays against the simulator: {out}"
    );
    assert!(out.contains("41 43 4B 20 0A 00 03 01"), "{out}");
    let (code, rest) = simulator.finish();
    assert_eq!(code, 0, "{rest:?}");
    assert!(rest.iter().any(|l| l == "2 passed, 0 failed"), "{rest:?}");
    // A client asking something else gets no answer, and the simulator says so.
    let simulator = start(&["run", path.to_str().unwrap(), "--simulate"]);
    simulator.stderr_line("listening on");
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    std::io::Write::write_all(&mut c, &[0x01, 0x04, 0x00, 0x0A]).unwrap();
    let mut buf = [0u8; 16];
    assert!(
        !matches!(std::io::Read::read(&mut c, &mut buf), Ok(n) if n > 0),
        "no answer to another request"
    );
    drop(c);
    let (code, rest) = simulator.finish();
    assert_eq!(code, 1, "{rest:?}");
    assert!(rest.iter().any(|l| l.starts_with("FAIL  #1")), "{rest:?}");
    let _ = std::fs::remove_file(&path);
}

/// Waits until nothing listens on `port` any more (a test device that served its clients).
fn wait_port_free(port: u16) {
    let deadline = std::time::Instant::now() + WAIT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "port {port} still in use"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A UDP sequence with `bind` and no `remote` listens: it expects a datagram from anyone and
/// answers its sender.
#[test]
fn a_listening_udp_sequence_answers_whoever_asked() {
    let path = write_sequence(
        "udp-sim.toml",
        "name = \"udp device\"\n[connection]\nkind = \"udp\"\nbind = \"127.0.0.1:0\"\n\
         timeout_ms = 5000\n[[step]]\nexpect = \"ping\"\n[[step]]\nsend = \"pong\"\n",
    );
    let simulator = start(&["run", path.to_str().unwrap()]);
    let line = simulator.stderr_line("listening on");
    let addr: std::net::SocketAddr = line.rsplit(' ').next().unwrap().parse().unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.set_read_timeout(Some(WAIT)).unwrap();
    client.send_to(b"ping", addr).unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = client.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"pong"[..], addr));
    let (code, rest) = simulator.finish();
    assert_eq!(code, 0, "{rest:?}");
}

/// A device that closes the connection before a `send` step: that step is a failed step (FAIL
/// line, counted, a JUnit testcase with a failure), the steps after it are reported as not run,
/// and a recorded exact-hex expectation is shown as text and hex.
#[test]
fn a_step_the_closed_connection_stopped_is_failed_and_the_rest_not_run() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let device = std::thread::spawn(move || {
        // Twice (two runs): answers the first request, then closes.
        for _ in 0..2 {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(WAIT)).unwrap();
            let mut buf = [0u8; 16];
            let n = s.read(&mut buf).unwrap();
            s.write_all(&buf[..n].to_ascii_uppercase()).unwrap();
        }
    });
    let path = write_sequence(
        "closed-before-send.toml",
        &format!(
            "name = \"closes early\"\n[connection]\nkind = \"tcp-client\"\n\
             remote = \"127.0.0.1:{port}\"\n\n\
             [[step]]\nsend = \"hi\"\n\n\
             [[step]]\nexpect = \"48 49\"\nmatch = \"exact-hex\"\n\n\
             [[step]]\nwait_ms = 300\n\n\
             [[step]]\nsend = \"again\"\n\n\
             [[step]]\nexpect = \"AGAIN\"\n"
        ),
    );
    let report = path.with_extension("xml");
    let (code, out) = run(&path, &["--report", report.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("PASS  #1") && out.contains("PASS  #2"),
        "{out}"
    );
    assert!(out.contains("PASS  #3"), "the wait ran: {out}");
    assert!(
        out.contains("FAIL  #4"),
        "the send that could not run: {out}"
    );
    assert!(out.contains("SKIP  #5"), "{out}");
    assert!(out.contains("3 passed, 1 failed, 1 not run"), "{out}");
    let xml = std::fs::read_to_string(&report).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let case = |step: &str| {
        cases
            .iter()
            .find(|c| c.attribute("name").is_some_and(|n| n.starts_with(step)))
            .unwrap_or_else(|| panic!("a testcase for {step}: {xml}"))
    };
    let failure = case("#4")
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("step 4 failed in JUnit");
    assert!(
        failure.text().unwrap_or("").contains("closed"),
        "{:?}",
        failure.text()
    );
    assert!(
        case("#5").children().any(|n| n.has_tag_name("skipped")),
        "{xml}"
    );
    // The exact-hex expectation, as text and hex (as received data is), in the HTML report.
    let html = path.with_extension("html");
    let (code, out) = run(&path, &["--report", html.to_str().unwrap()]);
    device.join().unwrap();
    assert_eq!(code, 1, "{out}");
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(html.contains("expected: HI | 48 49"), "{html}");
    assert!(html.contains("3 passed, 1 failed, 1 not run"), "{html}");
}

/// Script steps: one builds the next send from the frame the last expectation matched (with a
/// function from the file's `script` and `state` kept across steps), one checks a frame and
/// fails when its check returns false; a step's script that does not parse is named with its
/// own line before anything runs (exit 2).
#[test]
fn script_steps_compute_a_send_from_the_last_frame_and_check_one() {
    let port = upper_case_device(1);
    let text = format!(
        "name = \"scripted\"\n\
         script = '''\n\
         fn twice(x) {{ x + x }}\n\
         '''\n\
         [connection]\n\
         kind = \"tcp-client\"\n\
         remote = \"127.0.0.1:{port}\"\n\
         [[step]]\n\
         send = \"abc\"\n\
         [[step]]\n\
         expect = \"ABC\"\n\
         [[step]]\n\
         script = '''\n\
         let text = decode(frame, \"utf-8\");\n\
         state.seen = text;\n\
         log(`got ${{text}}`);\n\
         send(twice(text.to_lower()));\n\
         '''\n\
         [[step]]\n\
         expect = \"ABCABC\"\n\
         [[step]]\n\
         script = \"state.seen == \\\"ABC\\\" && decode(frame, \\\"utf-8\\\") == \\\"ABCABC\\\"\"\n\
         [[step]]\n\
         script = \"decode(frame, \\\"utf-8\\\") == \\\"XYZ\\\"\"\n"
    );
    let path = write_sequence("scripted.toml", &text);
    let (code, out) = run(&path, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("5 passed, 1 failed"), "{out}");
    assert!(out.contains("got ABC; sent abcabc"), "{out}");
    assert!(out.contains("the step's check returned false"), "{out}");
    // A step's script that does not parse: its own line, before anything is sent.
    let broken = text.replace("state.seen = text;", "let = text;");
    let path = write_sequence("scripted-broken.toml", &broken);
    let (code, out) = run(&path, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("step 3: line 2, column"), "{out}");
}
