//! `--script`: a session script answering real clients on loopback.

use crate::common::start;
use crate::timeline::{interrupt, temp_dir};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn script_file(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    let path = dir.path().join("s.rhai");
    std::fs::write(&path, text).unwrap();
    path
}

fn line_of(c: &TcpStream) -> String {
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut line = String::new();
    BufReader::new(c.try_clone().unwrap())
        .read_line(&mut line)
        .unwrap();
    line
}

#[test]
fn a_counter_across_frames_and_clients_and_an_endless_loop_that_does_not_stop_the_session() {
    let dir = temp_dir("script");
    let path = script_file(
        &dir,
        "fn on_open() { if !(\"count\" in state) { state.count = 0; } }\n\
         fn on_frame(frame, fields) {\n\
           if frame.len() > 8 { loop { } }\n\
           state.count += 1;\n\
           reply(`n=${state.count}` + \"\\n\");\n\
           log(`answered ${state.count}`);\n\
         }\n",
    );
    let server = start(&[
        "tcp-server",
        "127.0.0.1:0",
        "--frame",
        "line",
        "--script",
        path.to_str().unwrap(),
        "--output",
        "jsonl",
    ]);
    let local = server.opened_local();
    let mut a = TcpStream::connect(local).unwrap();
    for n in 1..=3 {
        a.write_all(b"hi\n").unwrap();
        assert_eq!(line_of(&a), format!("n={n}\n"));
    }
    // An endless loop is stopped; the session and the next client go on.
    a.write_all(b"a long line\n").unwrap();
    let stopped = server.stdout_line("operation limit");
    assert!(stopped.contains("on_frame"), "{stopped}");
    let mut b = TcpStream::connect(local).unwrap();
    let asked = Instant::now();
    b.write_all(b"hey\n").unwrap();
    assert_eq!(line_of(&b), "n=4\n", "the count is the session's");
    assert!(asked.elapsed() < Duration::from_secs(2));
    drop((a, b));
    let lines = interrupt(server);
    assert!(lines
        .iter()
        .any(|l| l.contains("\"script\"") && l.contains("answered 4")));
    // What the script sent is in the output as sent data (the lines before the warning were
    // read while waiting for it).
    let sent: Vec<String> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "data" && v["dir"] == "tx")
        .map(|v| v["text"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(sent, ["n=4\n"]);
}

#[test]
fn every_sends_on_a_timer_until_the_connection_closes() {
    let dir = temp_dir("script-every");
    let path = script_file(
        &dir,
        "fn on_open() { every(100, \"tick\"); }\nfn tick() { send(\"tick\\n\"); }\n",
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut ticks = 0;
        let mut reader = BufReader::new(s);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            assert_eq!(line, "tick\n");
            ticks += 1;
            line.clear();
        }
        ticks
    });
    let run = start(&[
        "tcp-client",
        &addr.to_string(),
        "--script",
        path.to_str().unwrap(),
        "--wait",
        "650",
    ]);
    let (code, _) = run.finish();
    assert_eq!(code, 0);
    let ticks = peer.join().unwrap();
    assert!(
        (4..=7).contains(&ticks),
        "{ticks} ticks in 650 ms at 100 ms"
    );
}

#[test]
fn a_script_that_does_not_parse_stops_the_run_and_one_that_reaches_out_fails_without_effect() {
    let dir = temp_dir("script-bad");
    let path = script_file(&dir, "fn on_frame(f, x) {\n  let = 1;\n}\n");
    let run = start(&[
        "tcp-server",
        "127.0.0.1:0",
        "--script",
        path.to_str().unwrap(),
    ]);
    let line = run.stderr_line("s.rhai");
    assert!(line.contains("line 2, column"), "{line}");
    assert_eq!(run.finish().0, 2);
    // No file function exists: the call fails, is said, and nothing is sent.
    let path = script_file(
        &dir,
        "fn on_frame(f, x) { let t = open_file(\"/etc/passwd\"); reply(t); }\n",
    );
    let server = start(&[
        "tcp-server",
        "127.0.0.1:0",
        "--script",
        path.to_str().unwrap(),
        "--output",
        "jsonl",
    ]);
    let local = server.opened_local();
    let mut c = TcpStream::connect(local).unwrap();
    c.write_all(b"x").unwrap();
    let warning = server.stdout_line("open_file");
    assert!(warning.contains("\"warning\""), "{warning}");
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 16];
    assert!(
        std::io::Read::read(&mut c, &mut buf).is_err(),
        "nothing was sent"
    );
    drop(c);
    let _ = interrupt(server);
    // Not on a UDP relay: said, not ignored.
    let run = start(&[
        "relay",
        "127.0.0.1:0",
        "127.0.0.1:9",
        "--udp",
        "--script",
        path.to_str().unwrap(),
    ]);
    let (code, stderr) = run.finish_stderr();
    assert_eq!(code, 2, "{stderr:?}");
    assert!(
        stderr.iter().any(|l| l.contains("not a UDP relay")),
        "{stderr:?}"
    );
}

/// The window: a script typed into a client tab's Script section answers the device; a script
/// that does not parse says where and keeps the tab from opening; an edit applied while open
/// answers the next frame, and Stop leaves none answering.
#[test]
fn a_script_typed_in_a_tab_answers_the_device() {
    use crate::gui::{app, step_until, type_into};
    use egui_kittest::kittest::Queryable;
    use sockscope::ui::i18n::Lang;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let (go, next) = std::sync::mpsc::channel::<()>();
    let device = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut s = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => panic!("no connection: {e}"),
            }
        };
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut answers = Vec::new();
        for expected in [9, 7] {
            s.write_all(b"ping").unwrap();
            let mut answer = vec![0u8; expected];
            std::io::Read::read_exact(&mut s, &mut answer).unwrap();
            answers.push(answer);
            next.recv_timeout(Duration::from_secs(20)).unwrap();
        }
        // After Stop: no answer.
        s.write_all(b"ping").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut more = [0u8; 16];
        let after_stop = std::io::Read::read(&mut s, &mut more).ok();
        (answers, after_stop)
    });
    let mut harness = app(Lang::En);
    harness.get_by_label("+ TCP client").click();
    harness.run_steps(2);
    type_into(&mut harness, "Remote host", "127.0.0.1");
    type_into(&mut harness, "Remote port", &port.to_string());
    harness.get_by_label("Script").click();
    harness.run_steps(2);
    harness.get_by_label("Run this script").click();
    harness.run_steps(1);
    type_into(
        &mut harness,
        "Script code",
        "fn on_frame(f, x) {\n  let = 1;\n}",
    );
    assert!(harness
        .query_by_label_contains("script: line 2, column")
        .is_some());
    type_into(
        &mut harness,
        "Script code",
        "fn on_frame(f, x) { reply(\"pong:\" + decode(f, \"utf-8\")); }",
    );
    assert!(harness.query_by_label("The script is ready").is_some());
    harness.get_by_label("Connect").click();
    // The window runs while the device waits for its answer.
    step_until(&mut harness, "the reply in the log", |h| {
        h.query_all_by_label_contains("pong:ping").next().is_some()
    });
    assert!(harness.query_by_label("Running in the session").is_some());
    // An edit, applied while open, answers the next frame.
    // (The code sits in a sideways scroll area: the button under it brings it into view.)
    harness.get_by_label("Apply script").scroll_to_me();
    harness.run_steps(2);
    for _ in 0..3 {
        if harness.get_by_label("Script code").is_focused() {
            break;
        }
        harness.get_by_label("Script code").click();
        harness.run_steps(1);
    }
    type_into(
        &mut harness,
        "Script code",
        "fn on_frame(f, x) { reply(\"v2:\" + decode(f, \"utf-8\")); }",
    );
    assert!(harness
        .query_by_label_contains("Edited: Apply script runs this text")
        .is_some());
    harness.get_by_label("Apply script").scroll_to_me();
    harness.run_steps(2);
    // (Under kittest the first click after typing only ends the editing.)
    for _ in 0..3 {
        if harness.query_by_label("Running in the session").is_some() {
            break;
        }
        harness.get_by_label("Apply script").click();
        harness.run_steps(2);
    }
    assert!(harness.query_by_label("Running in the session").is_some());
    step_until(&mut harness, "the apply said in the log", |h| {
        h.query_all_by_label_contains("Script applied")
            .next()
            .is_some()
    });
    go.send(()).unwrap();
    step_until(&mut harness, "the new script's reply", |h| {
        h.query_all_by_label_contains("v2:ping").next().is_some()
    });
    harness.get_by_label("Stop script").scroll_to_me();
    harness.run_steps(2);
    harness.get_by_label("Stop script").click();
    harness.run_steps(2);
    assert!(harness
        .query_by_label("No script runs in the session")
        .is_some());
    go.send(()).unwrap();
    step_until(&mut harness, "the device's last check", |_| {
        device.is_finished()
    });
    let (answers, after_stop) = device.join().unwrap();
    assert_eq!(answers, [b"pong:ping".to_vec(), b"v2:ping".to_vec()]);
    assert_eq!(after_stop, None, "no answer after Stop");
}

/// A server's script: `send` reaches every client, `reply` only the one that spoke.
#[test]
fn send_reaches_every_client_of_a_server_and_reply_only_the_speaker() {
    let dir = temp_dir("script-send");
    let path = script_file(
        &dir,
        "fn on_frame(frame, fields) {\n\
           let text = decode(frame, \"utf-8\");\n\
           if text.starts_with(\"all\") { send(\"to all\\n\"); } else { reply(\"to you\\n\"); }\n\
         }\n",
    );
    let server = start(&[
        "tcp-server",
        "127.0.0.1:0",
        "--frame",
        "line",
        "--script",
        path.to_str().unwrap(),
        "--output",
        "jsonl",
    ]);
    let local = server.opened_local();
    let mut a = TcpStream::connect(local).unwrap();
    let mut b = TcpStream::connect(local).unwrap();
    // Both connections are open before anyone speaks.
    server.stdout_line("\"connected\"");
    server.stdout_line("\"connected\"");
    a.write_all(b"me\n").unwrap();
    assert_eq!(line_of(&a), "to you\n");
    b.write_all(b"all\n").unwrap();
    assert_eq!(line_of(&b), "to all\n");
    assert_eq!(line_of(&a), "to all\n");
    drop((a, b));
    let _ = interrupt(server);
}

/// Apply while open: a new script replaces the running one at once (the old one's timer stops,
/// the new one's `on_open` runs for the client already connected); Stop leaves none running.
#[test]
fn a_script_applied_while_open_takes_over_and_stop_ends_it() {
    use crate::common::TestEngine;
    use sockscope::engine::script::SessionScript;
    use sockscope::engine::{Command, Event, SessionConfig, SocketOptions};
    use sockscope::payload::TextEncoding;
    use std::io::Read;
    let script = |text: &str| {
        let s = sockscope::script::Script::compile(text, TextEncoding::Utf8).unwrap();
        Some(std::sync::Arc::new(SessionScript::new(s, None)))
    };
    let mut engine = TestEngine::new();
    let session = engine.open(SessionConfig::TcpServer {
        bind: "127.0.0.1:0".parse().unwrap(),
        echo: false,
        options: SocketOptions::default(),
    });
    let local = engine.wait_opened(session);
    engine.send(Command::SetScript {
        session,
        script: script(
            "fn on_open() { every(20, \"tick\"); }\n\
             fn tick() { send(\"a\"); }",
        ),
    });
    let mut client = TcpStream::connect(local).unwrap();
    engine.wait_for("the client", |e| matches!(e, Event::ConnOpened { .. }));
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while got.len() < 3 {
        let n = client.read(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.iter().all(|b| *b == b'a'), "{got:?}");
    // Apply: the new script meets the client at once.
    engine.send(Command::SetScript {
        session,
        script: script(
            "fn on_open() { reply(\"B\"); }\n\
             fn on_frame(frame, fields) { reply(\"b\"); }",
        ),
    });
    let mut seen = Vec::new();
    while !seen.contains(&b'B') {
        let n = client.read(&mut buf).unwrap();
        seen.extend_from_slice(&buf[..n]);
    }
    // The old timer has stopped: at most one tick was on its way when B came.
    client
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut after = seen.split(|b| *b == b'B').nth(1).unwrap_or(&[]).to_vec();
    while let Ok(n) = client.read(&mut buf) {
        if n == 0 {
            break;
        }
        after.extend_from_slice(&buf[..n]);
    }
    assert!(
        after.iter().filter(|b| **b == b'a').count() <= 1,
        "{after:?}"
    );
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    client.write_all(b"x").unwrap();
    let n = client.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"b");
    // Stop: nothing answers any more.
    engine.send(Command::SetScript {
        session,
        script: None,
    });
    // The stop is in place once a later command (a send from the window) has gone through.
    engine.send(Command::Send {
        session,
        target: sockscope::engine::SendTarget::AllClients,
        bytes: b"!".to_vec(),
        repeat: None,
        ack: None,
    });
    let n = client.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"!");
    client.write_all(b"y").unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(
        client.read(&mut buf).is_err(),
        "no script answers after Stop"
    );
}

/// A UDP session's script: `every` sends to the destination (`--to`), `reply` answers the
/// sender of each datagram with a CRC over the request; both are in the output as sent.
#[test]
fn a_udp_script_sends_on_a_timer_to_the_destination_and_replies_to_senders() {
    use std::net::UdpSocket;
    let dir = temp_dir("script-udp");
    let path = script_file(
        &dir,
        "fn on_open() { state.n = 0; every(30, \"tick\"); }\n\
         fn tick() { if state.n < 3 { state.n += 1; send(`tick ${state.n}`); } }\n\
         fn on_frame(frame, fields) { let out = frame; out += crc16_modbus(frame); reply(out); }\n",
    );
    let listener = UdpSocket::bind("127.0.0.1:0").unwrap();
    listener
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let to = listener.local_addr().unwrap().to_string();
    let session = start(&[
        "udp",
        "--bind",
        "127.0.0.1:0",
        "--to",
        &to,
        "--script",
        path.to_str().unwrap(),
        "--output",
        "jsonl",
    ]);
    let local = session.opened_local();
    let mut buf = [0u8; 64];
    for n in 1..=3 {
        let (len, from) = listener.recv_from(&mut buf).unwrap();
        assert_eq!(from, local);
        assert_eq!(&buf[..len], format!("tick {n}").as_bytes());
    }
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    sender
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    sender.send_to(&[1, 3, 0, 0, 0, 1], local).unwrap();
    let (len, _) = sender.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..len], [1, 3, 0, 0, 0, 1, 0x84, 0x0A]);
    let lines = interrupt(session);
    let sent: Vec<String> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "data" && v["dir"] == "tx")
        .map(|v| v["hex"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(sent.len(), 4, "{lines:?}");
    assert_eq!(sent[3], "010300000001840a");
}

/// A relay's script watches both directions (frames from the client and from the target) and
/// logs; a `reply` in it is refused and said, and nothing but the target's answer reaches the
/// client.
#[test]
fn a_relay_s_script_watches_both_ways_and_does_not_send() {
    let dir = temp_dir("script-relay");
    let path = script_file(
        &dir,
        "fn on_frame(frame, fields) {\n\
           let text = decode(frame, \"utf-8\");\n\
           text.trim();\n\
           log(\"saw \" + text);\n\
           if text.contains(\"boom\") { reply(\"no\"); }\n\
         }\n",
    );
    let target = crate::common::device(1, |r| r.to_ascii_uppercase());
    let relay = start(&[
        "relay",
        "127.0.0.1:0",
        &format!("127.0.0.1:{target}"),
        "--frame",
        "line",
        "--script",
        path.to_str().unwrap(),
        "--output",
        "jsonl",
    ]);
    let local = relay.opened_local();
    let mut c = TcpStream::connect(local).unwrap();
    c.write_all(b"hi\n").unwrap();
    assert_eq!(line_of(&c), "HI\n");
    c.write_all(b"boom\n").unwrap();
    assert_eq!(line_of(&c), "BOOM\n");
    drop(c);
    std::thread::sleep(Duration::from_millis(200));
    let lines = interrupt(relay);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"warning\"") && l.contains("watches and logs")),
        "{lines:#?}"
    );
    let said: Vec<String> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "script")
        .map(|v| v["text"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        said,
        ["saw hi", "saw HI", "saw boom", "saw BOOM"],
        "{lines:#?}"
    );
}

/// Two SockScope scripts answering each other (a server's and a client's, each replying to
/// every line) would bounce a line flat out: the reply limit pauses them and says so.
#[test]
fn two_scripts_answering_each_other_are_paused_by_the_reply_limit() {
    let dir = temp_dir("script-loop");
    let path = script_file(&dir, "fn on_frame(frame, fields) { reply(\"ping\\n\"); }\n");
    let script = path.to_str().unwrap();
    let server = start(&[
        "tcp-server",
        "127.0.0.1:0",
        "--frame",
        "line",
        "--script",
        script,
        "--output",
        "jsonl",
    ]);
    let local = server.opened_local().to_string();
    let client = start(&[
        "tcp-client",
        &local,
        "--frame",
        "line",
        "--script",
        script,
        "--send",
        "ping\\n",
        "--escapes",
        "--wait",
        "1500",
        "--output",
        "jsonl",
    ]);
    let (_, client_out) = client.finish();
    // SAFETY: kill() only sends a signal to the child we started.
    unsafe { libc::kill(server.child.id() as i32, libc::SIGINT) };
    let (_, server_out) = server.finish();
    let all: Vec<&String> = client_out.iter().chain(&server_out).collect();
    assert!(
        all.iter().any(|l| l.contains("automatic replies paused")),
        "{all:?}"
    );
    // Paused, not flat out: about the limit's worth in 1.5 s, not tens of thousands.
    let sent = |out: &[String]| {
        out.iter()
            .find(|l| l.contains("\"summary\""))
            .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .and_then(|v| v["tx_packets"].as_u64())
            .unwrap_or(u64::MAX)
    };
    let (c, s) = (sent(&client_out), sent(&server_out));
    assert!(c <= 400 && s <= 400, "client sent {c}, server sent {s}");
}
