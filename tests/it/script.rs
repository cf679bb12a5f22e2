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
    // Not yet on UDP: said, not ignored.
    let run = start(&["udp", "--bind", "0", "--script", path.to_str().unwrap()]);
    assert_eq!(run.finish().0, 2);
}

/// The window: a script typed into a client tab's Script section answers the device; a script
/// that does not parse says where and keeps the tab from opening.
#[test]
fn a_script_typed_in_a_tab_answers_the_device() {
    use crate::gui::{app, step_until, type_into};
    use egui_kittest::kittest::Queryable;
    use sockscope::ui::i18n::Lang;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
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
        s.write_all(b"ping").unwrap();
        let mut answer = [0u8; 9];
        std::io::Read::read_exact(&mut s, &mut answer).unwrap();
        answer
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
    step_until(&mut harness, "the device answered", |_| {
        device.is_finished()
    });
    assert_eq!(&device.join().unwrap(), b"pong:ping");
    step_until(&mut harness, "the reply in the log", |h| {
        h.query_all_by_label_contains("pong:ping").next().is_some()
    });
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
