//! Answers per second from a session script that echoes each request with a CRC, beside the
//! same answer given by an auto-reply rule (`$0` with `checksum = "crc16-modbus"`), in the
//! same run: a client sends a 16-byte request and waits for its answer, 20,000 times.
//! (Goal: the script at least 0.5 of the rule's rate.)
//!
//! Run: `cargo bench --bench script`.
// A benchmark may panic on the unexpected and spawn plain threads; the product may not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use sockscope::engine::script::SessionScript;
use sockscope::engine::{Command, Engine, EngineHandle};
use sockscope::payload::{Checksum, TextEncoding};
use sockscope::script::Script;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROUNDS: u32 = 20_000;

/// Round trips per second against a server session set up by `setup`.
fn rate(setup: impl FnOnce(&EngineHandle, sockscope::engine::SessionId)) -> f64 {
    let engine = Engine::spawn(Arc::new(|| {})).unwrap();
    let session = engine.new_session_id();
    setup(&engine, session);
    let addr = common::listen(&engine, session);
    // Drain the events on a thread of their own, so the engine never waits for us.
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let drain = std::thread::spawn(move || {
        while stop_rx.try_recv().is_err() {
            let _ = engine.recv_timeout(Duration::from_millis(50));
        }
        engine
    });
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_nodelay(true).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let request: Vec<u8> = (0u8..16).collect();
    let mut expected = request.clone();
    Checksum::Crc16Modbus.append_to(&mut expected);
    let mut answer = vec![0u8; expected.len()];
    let start = Instant::now();
    for _ in 0..ROUNDS {
        c.write_all(&request).unwrap();
        c.read_exact(&mut answer).unwrap();
        assert_eq!(answer, expected);
    }
    let secs = start.elapsed().as_secs_f64();
    let _ = stop_tx.send(());
    let engine = drain.join().unwrap();
    engine.send(Command::Close { session });
    f64::from(ROUNDS) / secs
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rule = rate(|engine, session| {
        let rules = sockscope::sequence::parse_rules(
            "[[rule]]\nmatch = \"regex\"\npattern = \"(?s).+\"\nreply = \"$0\"\nchecksum = \"crc16-modbus\"\n",
        )
        .unwrap();
        engine.send(Command::SetRules { session, rules });
        engine.send(Command::SetReplyLimit { session, per_s: 0 });
    });
    let script = rate(|engine, session| {
        let s = Script::compile(
            "fn on_frame(frame, fields) { let out = frame; out += crc16_modbus(frame); reply(out); }",
            TextEncoding::Utf8,
        )
        .unwrap();
        engine.send(Command::SetScript {
            session,
            script: Some(Arc::new(SessionScript::new(s, None))),
        });
        engine.send(Command::SetReplyLimit { session, per_s: 0 });
    });
    println!("Echo with a CRC, {ROUNDS} request/answer round trips on loopback:");
    println!("  auto-reply rule   {rule:10.0} answers/s");
    println!("  script            {script:10.0} answers/s");
    println!("  ratio script/rule = {:.2} (goal >= 0.5)", script / rule);
}
