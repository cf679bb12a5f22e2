//! WebSocket client and server sessions: against Python's `websockets` (a third-party peer,
//! both ways, when installed), against frames made by hand over std sockets (each protocol
//! error), and engine to engine (messages, kinds, subprotocols, a hostile crowd of silent
//! upgrades).

use crate::common::{self, start, TestEngine, WAIT};
use sockscope::engine::ws::{
    SendAs, WsClientConfig, WsNote, WsOptions, WsServerConfig, DEFAULT_MAX_MESSAGE,
};
use sockscope::engine::{
    Command, Direction, Event, MessageKind, Repeat, SendTarget, SessionConfig, SessionId,
    SocketOptions,
};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn server_config(echo: bool) -> WsServerConfig {
    WsServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        path: None,
        echo,
        options: SocketOptions::default(),
        ws: WsOptions {
            subprotocols: vec!["v2.lab".into()],
            ..WsOptions::default()
        },
    }
}

fn client_config(url: String) -> WsClientConfig {
    WsClientConfig {
        url,
        headers: vec![("X-Token".into(), "t0k".into())],
        origin: Some("http://lab.local".into()),
        connect_timeout: WAIT,
        options: SocketOptions::default(),
        ws: WsOptions {
            subprotocols: vec!["v1.lab".into(), "v2.lab".into()],
            ..WsOptions::default()
        },
    }
}

/// The messages a session received or sent: (kind, bytes), in order.
fn messages(
    engine: &TestEngine,
    session: SessionId,
    dir: Direction,
) -> Vec<(MessageKind, Vec<u8>)> {
    let mut out = Vec::new();
    for e in &engine.seen {
        if let Event::Data {
            session: s, chunks, ..
        } = e
        {
            if *s != session {
                continue;
            }
            for chunk in chunks.iter().filter(|c| c.dir == dir) {
                for (bytes, frame) in chunk.pieces() {
                    let kind = frame.and_then(|f| f.message).expect("a message row");
                    out.push((kind, bytes.to_vec()));
                }
            }
        }
    }
    out
}

fn wait_messages(
    engine: &mut TestEngine,
    session: SessionId,
    dir: Direction,
    n: usize,
) -> Vec<(MessageKind, Vec<u8>)> {
    let deadline = Instant::now() + WAIT;
    while messages(engine, session, dir).len() < n && Instant::now() < deadline {
        if let Some(e) = engine.handle.recv_timeout(Duration::from_millis(50)) {
            engine.seen.push(e);
        }
    }
    let got = messages(engine, session, dir);
    assert!(got.len() >= n, "wanted {n} messages, got {got:?}");
    got
}

fn send(engine: &TestEngine, session: SessionId, bytes: &[u8]) {
    engine.send(Command::Send {
        session,
        target: SendTarget::Default,
        bytes: bytes.to_vec(),
        repeat: None,
        ack: None,
    });
}

#[test]
fn engine_client_and_server_exchange_text_and_binary_messages_with_a_subprotocol() {
    let mut engine = TestEngine::new();
    let server = engine.open(SessionConfig::WsServer(server_config(true)));
    let addr = engine.wait_opened(server);
    let client = engine.open(SessionConfig::WsClient(client_config(format!(
        "ws://127.0.0.1:{}/meter?id=7",
        addr.port()
    ))));
    engine.wait_opened(client);
    // GBK bytes are not UTF-8: they go as a binary message.
    let gbk = encoding_rs::GBK.encode("温度").0.into_owned();
    send(&engine, client, b"hello");
    send(&engine, client, &gbk);
    let back = wait_messages(&mut engine, client, Direction::Rx, 2);
    assert_eq!(
        back,
        vec![
            (MessageKind::Text, b"hello".to_vec()),
            (MessageKind::Binary, gbk.clone())
        ]
    );
    // What the server saw: the same two messages, then its echoes, as rows in order.
    assert_eq!(wait_messages(&mut engine, server, Direction::Rx, 2), back);
    // Both sides say the subprotocol chosen (the first offered the server accepts) and the
    // server says the path and the client's headers.
    let upgraded = |s: SessionId| {
        engine.seen.iter().find_map(|e| match e {
            Event::Ws {
                session,
                note: WsNote::Upgraded {
                    subprotocol, path, ..
                },
                ..
            } if *session == s => Some((subprotocol.clone(), path.clone())),
            _ => None,
        })
    };
    assert_eq!(
        upgraded(client),
        Some((Some("v2.lab".into()), "/meter?id=7".into()))
    );
    assert_eq!(
        upgraded(server),
        Some((Some("v2.lab".into()), "/meter?id=7".into()))
    );
    let request_headers = engine
        .seen
        .iter()
        .find_map(|e| match e {
            Event::Ws {
                session,
                note: WsNote::Request { headers, .. },
                ..
            } if *session == server => Some(headers.clone()),
            _ => None,
        })
        .expect("the server logs the request");
    let has = |name: &str, value: &str| {
        request_headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case(name) && v == value)
    };
    assert!(has("X-Token", "t0k"), "{request_headers:?}");
    assert!(has("Origin", "http://lab.local"), "{request_headers:?}");
    // The client's own row shows the headers as they went on the wire.
    let sent = engine
        .seen
        .iter()
        .find_map(|e| match e {
            Event::Ws {
                session,
                note: WsNote::Request { headers, .. },
                ..
            } if *session == client => Some(headers.clone()),
            _ => None,
        })
        .expect("the client logs its request");
    assert_eq!(sent, request_headers);
    // Closing the client says the close both ways, with the code.
    engine.send(Command::Close { session: client });
    engine.wait_for("the server hears close 1000", |e| {
        matches!(e, Event::Ws { session, note: WsNote::Close { dir: Direction::Rx, code: Some(1000), .. }, .. } if *session == server)
    });
}

#[test]
fn a_hundred_clients_at_once_each_get_their_own_echo() {
    let mut engine = TestEngine::new();
    let server = engine.open(SessionConfig::WsServer(server_config(true)));
    let addr = engine.wait_opened(server);
    let mut clients = Vec::new();
    for _ in 0..100 {
        clients.push(engine.open(SessionConfig::WsClient(client_config(format!(
            "ws://127.0.0.1:{}/",
            addr.port()
        )))));
    }
    for (i, c) in clients.iter().enumerate() {
        engine.wait_opened(*c);
        send(&engine, *c, format!("client {i}").as_bytes());
    }
    for (i, c) in clients.iter().enumerate() {
        let got = wait_messages(&mut engine, *c, Direction::Rx, 1);
        assert_eq!(
            got,
            vec![(MessageKind::Text, format!("client {i}").into_bytes())]
        );
    }
}

/// A raw client: the upgrade by hand, then frames as bytes (masked with a fixed key).
struct RawClient {
    stream: TcpStream,
}

impl RawClient {
    fn connect(addr: SocketAddr) -> (Self, String) {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        write!(
            stream,
            "GET /raw HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .unwrap();
        let head = read_head(&mut stream);
        (Self { stream }, head)
    }

    fn frame(&mut self, first: u8, payload: &[u8], masked: bool) {
        let mut f = vec![first];
        let mask = [1u8, 2, 3, 4];
        let m = if masked { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => f.push(m | n as u8),
            n if n < 65536 => {
                f.push(m | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(m | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if masked {
            f.extend_from_slice(&mask);
            f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        } else {
            f.extend_from_slice(payload);
        }
        self.stream.write_all(&f).unwrap();
    }

    /// Reads frames until a close; returns its code (the server's frames are not masked).
    fn close_code(&mut self) -> u16 {
        loop {
            let mut h = [0u8; 2];
            self.stream
                .read_exact(&mut h)
                .expect("a frame before the end");
            let len = match h[1] & 0x7f {
                126 => {
                    let mut l = [0u8; 2];
                    self.stream.read_exact(&mut l).unwrap();
                    u16::from_be_bytes(l) as usize
                }
                127 => {
                    let mut l = [0u8; 8];
                    self.stream.read_exact(&mut l).unwrap();
                    u64::from_be_bytes(l) as usize
                }
                n => n as usize,
            };
            let mut payload = vec![0u8; len];
            self.stream.read_exact(&mut payload).unwrap();
            if h[0] & 0x0f == 8 {
                return u16::from_be_bytes([payload[0], payload[1]]);
            }
        }
    }
}

fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

#[test]
fn each_protocol_error_closes_that_client_with_its_code_and_the_server_serves_the_next() {
    let mut engine = TestEngine::new();
    let server = engine.open(SessionConfig::WsServer(WsServerConfig {
        ws: WsOptions {
            max_message: 1000,
            ..WsOptions::default()
        },
        ..server_config(true)
    }));
    let addr = engine.wait_opened(server);
    // (what the client does wrong, the close code the server must send)
    type Mistake = Box<dyn Fn(&mut RawClient)>;
    let cases: Vec<(&str, Mistake, u16)> = vec![
        ("unmasked", Box::new(|c| c.frame(0x81, b"hi", false)), 1002),
        (
            "invalid UTF-8",
            Box::new(|c| c.frame(0x81, &[0xff, 0xfe], true)),
            1007,
        ),
        (
            "reserved bits",
            Box::new(|c| c.frame(0xC1, b"hi", true)),
            1002,
        ),
        (
            "control over 125 bytes",
            Box::new(|c| c.frame(0x89, &[0; 126], true)),
            1002,
        ),
        (
            "fragmented control",
            Box::new(|c| c.frame(0x09, b"p", true)),
            1002,
        ),
        (
            "continuation of nothing",
            Box::new(|c| c.frame(0x80, b"x", true)),
            1002,
        ),
        (
            "unknown opcode",
            Box::new(|c| c.frame(0x83, b"x", true)),
            1002,
        ),
        (
            "too big",
            Box::new(|c| c.frame(0x82, &[7; 1001], true)),
            1009,
        ),
    ];
    for (what, bad, code) in cases {
        let (mut c, head) = RawClient::connect(addr);
        assert!(head.starts_with("HTTP/1.1 101"), "{what}: {head}");
        bad(&mut c);
        assert_eq!(c.close_code(), code, "{what}");
        // An honest client right after is served.
        let (mut honest, _) = RawClient::connect(addr);
        honest.frame(0x81, what.as_bytes(), true);
        let mut h = [0u8; 2];
        honest.stream.read_exact(&mut h).unwrap();
        assert_eq!(h[0], 0x81, "{what}: the echo is a text frame");
        let mut echoed = vec![0u8; (h[1] & 0x7f) as usize];
        honest.stream.read_exact(&mut echoed).unwrap();
        assert_eq!(echoed, what.as_bytes());
    }
    // Each failure is said, with its close code.
    for code in ["1002", "1007", "1009"] {
        engine.wait_for(code, |e| {
            matches!(e, Event::ConnClosed { reason: sockscope::engine::CloseReason::Failed(err), .. }
                if err.to_string().contains(code))
        });
    }
}

#[test]
fn a_plain_http_request_gets_an_http_answer_and_a_wrong_path_a_404() {
    let mut engine = TestEngine::new();
    let server = engine.open(SessionConfig::WsServer(WsServerConfig {
        path: Some("/ws".into()),
        ..server_config(false)
    }));
    let addr = engine.wait_opened(server);
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 426 Upgrade Required"),
        "{answer}"
    );
    assert!(answer.contains("WebSocket"), "{answer}");
    let error = engine.next_error();
    assert!(error.to_string().contains("426"), "{error}");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(b"GET /other HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").unwrap();
    let head = read_head(&mut s);
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
}

#[test]
fn three_hundred_silent_upgrades_do_not_keep_an_honest_client_out() {
    let mut engine = TestEngine::new();
    let server = engine.open(SessionConfig::WsServer(server_config(true)));
    let addr = engine.wait_opened(server);
    // Connected, and never a byte of the upgrade.
    let silent: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    let started = Instant::now();
    let (mut honest, head) = RawClient::connect(addr);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    honest.frame(0x81, b"still here", true);
    let mut h = [0u8; 2];
    honest.stream.read_exact(&mut h).unwrap();
    let mut echoed = vec![0u8; (h[1] & 0x7f) as usize];
    honest.stream.read_exact(&mut echoed).unwrap();
    assert_eq!(echoed, b"still here");
    // Served at once, not after the silent ones' time limit.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    drop(silent);
}

#[test]
fn wss_with_a_generated_certificate_and_a_pinned_client() {
    let mut engine = TestEngine::new();
    let generated =
        sockscope::engine::tls::generate(&["localhost".to_string()]).expect("a certificate");
    let settings = sockscope::engine::tls::TlsServerSettings {
        identity: sockscope::engine::tls::Identity::Generated(std::sync::Arc::new(
            generated.clone(),
        )),
        client_ca: None,
        alpn: Vec::new(),
    };
    let server = engine.handle.new_session_id();
    engine.send(Command::SetTls {
        session: server,
        tls: Some(sockscope::engine::tls::TlsSettings::Server(settings)),
    });
    engine.send(Command::Open {
        session: server,
        config: SessionConfig::WsServer(server_config(true)),
    });
    let addr = engine.wait_opened(server);
    let client = engine.handle.new_session_id();
    engine.send(Command::SetTls {
        session: client,
        tls: Some(sockscope::engine::tls::TlsSettings::Client(
            sockscope::engine::tls::TlsClientSettings {
                verify: sockscope::engine::tls::Verify::Pin(generated.fingerprint.clone()),
                sni: None,
                alpn: Vec::new(),
                identity: None,
            },
        )),
    });
    engine.send(Command::Open {
        session: client,
        config: SessionConfig::WsClient(client_config(format!(
            "wss://localhost:{}/secure",
            addr.port()
        ))),
    });
    engine.wait_opened(client);
    engine.wait_for(
        "the client's TLS",
        |e| matches!(e, Event::Secured { session, .. } if *session == client),
    );
    send(&engine, client, b"over tls");
    let back = wait_messages(&mut engine, client, Direction::Rx, 1);
    assert_eq!(back, vec![(MessageKind::Text, b"over tls".to_vec())]);
}

#[test]
fn a_repeat_and_binary_sends_go_as_that_many_binary_messages() {
    let mut engine = TestEngine::new();
    let server = engine.open(SessionConfig::WsServer(server_config(false)));
    let addr = engine.wait_opened(server);
    let mut config = client_config(format!("ws://127.0.0.1:{}/", addr.port()));
    config.ws.send_as = SendAs::Binary;
    let client = engine.open(SessionConfig::WsClient(config));
    engine.wait_opened(client);
    engine.send(Command::Send {
        session: client,
        target: SendTarget::Default,
        bytes: b"AT".to_vec(),
        repeat: Some(Repeat {
            interval: Duration::ZERO,
            count: Some(5),
        }),
        ack: None,
    });
    let got = wait_messages(&mut engine, server, Direction::Rx, 5);
    assert_eq!(got, vec![(MessageKind::Binary, b"AT".to_vec()); 5]);
    let _ = DEFAULT_MAX_MESSAGE;
}

fn python_websockets() -> bool {
    let ok = common::has("python3")
        && std::process::Command::new("python3")
            .args(["-c", "import websockets.asyncio.server"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("python3 with websockets not installed (pip install websockets): skipped");
    }
    ok
}

#[test]
fn python_websockets_client_against_ws_server_echo() {
    if !python_websockets() {
        return;
    }
    let server = start(&[
        "ws-server",
        "127.0.0.1:0",
        "--echo",
        "--subprotocol",
        "chat",
        "--output",
        "jsonl",
    ]);
    let port = server.opened_local().port();
    let script = format!(
        r#"
import asyncio
from websockets.asyncio.client import connect
async def main():
    async with connect("ws://127.0.0.1:{port}/dev?x=1", subprotocols=["chat"], open_timeout=10) as ws:
        assert ws.subprotocol == "chat", ws.subprotocol
        await ws.send("温度 21.5")
        assert await asyncio.wait_for(ws.recv(), 10) == "温度 21.5"
        gbk = "温度".encode("gbk")
        await ws.send(gbk)
        assert await asyncio.wait_for(ws.recv(), 10) == gbk
        pong = await ws.ping(b"p1")
        await asyncio.wait_for(pong, 10)
        big = bytes(range(256)) * 4096
        await ws.send(big)
        assert await asyncio.wait_for(ws.recv(), 10) == big
        await ws.close(4001, "bye from python")
    print("ok")
asyncio.run(main())
"#
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("ok"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The server's log: the ping and its automatic pong, the GBK message as binary, the close
    // with the application's own code.
    let ping = server.stdout_line("\"op\":\"ping\"");
    assert!(ping.contains("\"dir\":\"rx\""), "{ping}");
    let pong = server.stdout_line("\"op\":\"pong\"");
    assert!(pong.contains("\"automatic\":true"), "{pong}");
    let close = server.stdout_line("\"code\":4001");
    assert!(
        close.contains("bye from python") && close.contains("the application's own"),
        "{close}"
    );
}

#[test]
fn ws_client_against_python_websockets_server() {
    if !python_websockets() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let script = format!(
        r#"
import asyncio, sys
from websockets.asyncio.server import serve
async def handler(ws):
    assert ws.request.headers["X-Token"] == "abc"
    async for m in ws:
        await ws.send(m)
        if m == "bye":
            await ws.close(1001, "going")
async def main():
    async with serve(handler, "127.0.0.1", {port}, subprotocols=["v2"]):
        print("listening", flush=True)
        await asyncio.sleep(20)
asyncio.run(main())
"#
    );
    let mut python = std::process::Command::new("python3")
        .args(["-c", &script])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_listening(port);
    let url = format!("ws://127.0.0.1:{port}/x");
    let client = start(&[
        "ws-client",
        &url,
        "-H",
        "X-Token: abc",
        "--subprotocol",
        "v1",
        "--subprotocol",
        "v2",
        "--send",
        "hello",
        "--send",
        "bye",
        "--output",
        "jsonl",
    ]);
    let open = client.stdout_line("\"op\":\"open\"");
    assert!(open.contains("\"subprotocol\":\"v2\""), "{open}");
    let echo = client.stdout_line("\"dir\":\"rx\"");
    assert!(
        echo.contains("\"message\":\"text\"") && echo.contains("\"text\":\"hello\""),
        "{echo}"
    );
    let close = client.stdout_line("\"op\":\"close\"");
    assert!(
        close.contains("\"code\":1001") && close.contains("going"),
        "{close}"
    );
    let (code, _) = client.finish();
    assert_eq!(code, 0);
    let _ = python.kill();
    let _ = python.wait();
}

#[test]
fn cli_refuses_bad_urls_headers_and_framing_before_connecting() {
    for (args, said) in [
        (vec!["ws-client", "http://127.0.0.1:1/"], "ws:// or wss://"),
        (vec!["ws-client", "ws//nohost"], "URL"),
        (
            vec!["ws-client", "ws://127.0.0.1:1/", "-H", "NoColon"],
            "Name: value",
        ),
        (
            vec!["ws-client", "ws://127.0.0.1:1/", "--frame", "line"],
            "already one frame",
        ),
        (vec!["ws-server", "0", "--path", "nope"], "starts with /"),
        (
            vec!["ws-client", "ws://127.0.0.1:1/", "--pcap", "/tmp/x.pcapng"],
            "--pcap",
        ),
    ] {
        let out = common::sockscope().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(said), "{args:?}: {err}");
    }
}

#[test]
fn cli_count_not_met_exits_1_and_says_how_many() {
    let server = start(&["ws-server", "127.0.0.1:0", "--output", "jsonl"]);
    let port = server.opened_local().port();
    let url = format!("ws://127.0.0.1:{port}/");
    let out = common::sockscope()
        .args([
            "ws-client",
            &url,
            "--send",
            "hi",
            "--count",
            "1",
            "--wait",
            "300",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("received 0 of 1 messages"));
    // Refused: nothing listens.
    drop(server);
    let out = common::sockscope()
        .args(["ws-client", &url, "--send", "hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}
