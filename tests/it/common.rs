//! Helpers shared by the integration tests: an engine with an event collector, and the CLI
//! as a real process whose output lines are read as they come.
#![allow(dead_code)]

use sockscope::engine::{Command, Engine, EngineHandle, Event, SessionConfig, SessionId};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStderr, ChildStdout, Command as Process, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Ends the test binary if it runs past ten minutes (it takes seconds): a regression that
/// makes a peer wait forever fails CI with this line instead of hanging it. Started by the
/// helpers every network test goes through.
pub fn watchdog() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("test-watchdog".into())
            .spawn(|| {
                std::thread::sleep(Duration::from_secs(600));
                eprintln!("the integration tests ran for 10 minutes: something hangs");
                std::process::exit(101);
            });
    });
}

/// Waits until something listens on TCP `port` of this machine, without connecting to it (a
/// peer such as `socat -u TCP-LISTEN` takes exactly one connection). Panics after [`WAIT`].
pub fn wait_listening(port: u16) {
    // Linux: the kernel's socket tables say which ports are in LISTEN (state 0A).
    #[cfg(target_os = "linux")]
    {
        let needle = format!(":{port:04X} ");
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            let listening = ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
                std::fs::read_to_string(table).is_ok_and(|t| {
                    t.lines().any(|l| {
                        let cols: Vec<&str> = l.split_whitespace().collect();
                        cols.len() > 3
                            && format!("{} ", cols[1]).ends_with(&needle)
                            && cols[3] == "0A"
                    })
                })
            });
            if listening {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("nothing listened on port {port} within {WAIT:?}");
    }
    // Elsewhere there is no such table to read: give the peer a moment.
    #[cfg(not(target_os = "linux"))]
    std::thread::sleep(Duration::from_millis(500));
}

/// Does this machine have an IPv6 loopback? Asked once, before any IPv6 test, so that a test
/// skips only for that reason and an engine failure over IPv6 is a failure.
pub fn ipv6() -> bool {
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS.get_or_init(|| {
        let has = std::net::TcpListener::bind("[::1]:0").is_ok()
            && std::net::UdpSocket::bind("[::1]:0").is_ok();
        if !has {
            eprintln!("no IPv6 loopback on this machine: IPv6 tests are skipped");
        }
        has
    })
}

/// Generous bound for anything on loopback to happen.
pub const WAIT: Duration = Duration::from_secs(10);

/// An engine plus every event it sent so far.
pub struct TestEngine {
    pub handle: EngineHandle,
    pub seen: Vec<Event>,
}

impl TestEngine {
    pub fn new() -> Self {
        watchdog();
        Self {
            handle: Engine::spawn(Arc::new(|| {})).expect("engine starts"),
            seen: Vec::new(),
        }
    }

    /// Opens a session and returns its id (without waiting).
    pub fn open(&mut self, config: SessionConfig) -> SessionId {
        let session = self.handle.new_session_id();
        self.handle.send(Command::Open { session, config });
        session
    }

    /// Opens a session that keeps what it receives (as the window's tabs do).
    pub fn open_keeping(&mut self, config: SessionConfig) -> SessionId {
        let session = self.handle.new_session_id();
        self.handle.send(Command::KeepReceived {
            session,
            limit_bytes: sockscope::engine::DEFAULT_KEEP_BYTES,
        });
        self.handle.send(Command::Open { session, config });
        session
    }

    pub fn send(&self, command: Command) {
        self.handle.send(command);
    }

    /// Waits until an event matching `pred` arrives; panics with what was seen on timeout.
    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        let deadline = Instant::now() + WAIT;
        // An event already seen counts too.
        if let Some(e) = self.seen.iter().find(|e| pred(e)) {
            return e.clone();
        }
        while Instant::now() < deadline {
            if let Some(e) = self.handle.recv_timeout(Duration::from_millis(50)) {
                let hit = pred(&e);
                self.seen.push(e.clone());
                if hit {
                    return e;
                }
            }
        }
        panic!("timed out waiting for {what}; saw {:#?}", self.seen);
    }

    /// Waits for the next error event after those already seen.
    pub fn next_error(&mut self) -> sockscope::engine::NetError {
        let errors = |seen: &[Event]| -> Vec<sockscope::engine::NetError> {
            seen.iter()
                .filter_map(|e| match e {
                    Event::Error { error, .. } => Some(error.clone()),
                    _ => None,
                })
                .collect()
        };
        let before = errors(&self.seen).len();
        let deadline = Instant::now() + WAIT;
        while errors(&self.seen).len() <= before && Instant::now() < deadline {
            if let Some(e) = self.handle.recv_timeout(Duration::from_millis(50)) {
                self.seen.push(e);
            }
        }
        errors(&self.seen)
            .get(before)
            .cloned()
            .unwrap_or_else(|| panic!("no new error; saw {:#?}", self.seen))
    }

    /// Waits until the session is open and returns its local address.
    pub fn wait_opened(&mut self, session: SessionId) -> SocketAddr {
        match self.wait_for("opened", |e| {
            matches!(e, Event::Opened { session: s, .. } | Event::Closed { session: s, .. } if *s == session)
        }) {
            Event::Opened { local, .. } => local,
            other => panic!("session failed to open: {other:?}"),
        }
    }

    /// All bytes received so far by a session, in order.
    pub fn received(&self, session: SessionId) -> Vec<u8> {
        self.data(session, sockscope::engine::Direction::Rx)
    }

    /// Collects data of one direction.
    pub fn data(&self, session: SessionId, dir: sockscope::engine::Direction) -> Vec<u8> {
        let mut out = Vec::new();
        for e in &self.seen {
            if let Event::Data {
                session: s, chunks, ..
            } = e
            {
                if *s == session {
                    for c in chunks.iter().filter(|c| c.dir == dir) {
                        out.extend_from_slice(&c.bytes);
                    }
                }
            }
        }
        out
    }

    /// Waits until `n` bytes were received by the session; returns them.
    pub fn wait_received(&mut self, session: SessionId, n: usize) -> Vec<u8> {
        let deadline = Instant::now() + WAIT;
        while self.received(session).len() < n && Instant::now() < deadline {
            if let Some(e) = self.handle.recv_timeout(Duration::from_millis(50)) {
                self.seen.push(e);
            }
        }
        let got = self.received(session);
        assert!(
            got.len() >= n,
            "wanted {n} bytes, got {}: {:?}",
            got.len(),
            String::from_utf8_lossy(&got[..got.len().min(200)])
        );
        got
    }
}

/// The sockscope binary, as cargo built it for the tests.
pub fn sockscope() -> Process {
    watchdog();
    Process::new(env!("CARGO_BIN_EXE_sockscope"))
}

/// A running CLI process whose stdout and stderr lines arrive on channels.
pub struct Running {
    pub child: Child,
    pub stdout: mpsc::Receiver<String>,
    pub stderr: mpsc::Receiver<String>,
}

fn lines<R: std::io::Read + Send + 'static>(r: R) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Starts the CLI with arguments.
pub fn start(args: &[&str]) -> Running {
    watchdog();
    let mut child = sockscope()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sockscope starts");
    let out: ChildStdout = child.stdout.take().unwrap();
    let err: ChildStderr = child.stderr.take().unwrap();
    Running {
        child,
        stdout: lines(out),
        stderr: lines(err),
    }
}

impl Running {
    /// Waits for a stderr line containing `needle`.
    pub fn stderr_line(&self, needle: &str) -> String {
        wait_line(&self.stderr, needle)
    }

    /// The local address from the `"opened"` JSON line (`--output jsonl`).
    pub fn opened_local(&self) -> SocketAddr {
        let line = self.stdout_line("\"opened\"");
        let v: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
        v["local"]
            .as_str()
            .and_then(|l| l.parse().ok())
            .unwrap_or_else(|| panic!("no local address in {line}"))
    }

    /// Waits for a stdout line containing `needle`.
    pub fn stdout_line(&self, needle: &str) -> String {
        wait_line(&self.stdout, needle)
    }

    /// The port from the "open on ADDR:PORT" status line.
    pub fn open_port(&self) -> u16 {
        let line = self.stderr_line("open on ");
        line.rsplit(':')
            .next()
            .unwrap()
            .trim()
            .parse()
            .expect("port in status line")
    }

    /// Waits for exit; returns the status code and what came on stderr.
    pub fn finish_stderr(mut self) -> (i32, Vec<String>) {
        let (tx, rx) = std::sync::mpsc::channel();
        drop(tx);
        let stderr = std::mem::replace(&mut self.stderr, rx);
        let (code, _) = self.finish();
        let mut lines = Vec::new();
        while let Ok(l) = stderr.recv_timeout(Duration::from_millis(300)) {
            lines.push(l);
        }
        (code, lines)
    }

    /// Waits for exit; returns the status code and the rest of stdout.
    pub fn finish(mut self) -> (i32, Vec<String>) {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Give the reader threads a moment to pass the last lines on.
                let mut rest = Vec::new();
                while let Ok(l) = self.stdout.recv_timeout(Duration::from_millis(300)) {
                    rest.push(l);
                }
                return (status.code().unwrap_or(-1), rest);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("sockscope did not exit in time");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_line(rx: &mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            if line.contains(needle) {
                return line;
            }
            seen.push(line);
        }
    }
    panic!("no line with {needle:?}; saw {seen:#?}");
}

/// A device on loopback answering every read with `answer(read)`; serves `clients` connections
/// at once, each ending when its peer does (or stays silent 10 s).
pub fn device(clients: usize, answer: fn(&[u8]) -> Vec<u8>) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for _ in 0..clients {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            let _ = s.set_read_timeout(Some(WAIT));
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                while let Ok(n) = std::io::Read::read(&mut s, &mut buf) {
                    if n == 0 || std::io::Write::write_all(&mut s, &answer(&buf[..n])).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// Is `program` installed (an executable file of that name on the PATH)?
pub fn has(program: &str) -> bool {
    // Looked up on the PATH, not run: `tshark -V` would start capturing and never return.
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// A UDP echo on loopback that sends every datagram back; it stops after 3 s of silence.
pub fn udp_echo() -> std::net::SocketAddr {
    let echo = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = echo.local_addr().unwrap();
    echo.set_read_timeout(Some(std::time::Duration::from_secs(3)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = echo.recv_from(&mut buf) {
            let _ = echo.send_to(&buf[..n], from);
        }
    });
    addr
}
