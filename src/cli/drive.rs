//! What every session runner shares: checking options (durations, destinations, encodings,
//! data, rules) before anything touches the network, then open → drive events → summary, and
//! a graceful end on Ctrl-C or SIGTERM.

use super::args::FrameArgs;
use super::output::Printer;
use super::{CliError, CommonArgs, SendArgs};
use crate::engine::capture::CaptureRequest;
use crate::engine::{
    parse_host_port, Command, Direction, Engine, EngineHandle, Event, HostPort, ReplyRule,
    SendTarget, SessionConfig, SessionId,
};
use crate::payload::framing::FrameSpec;
use crate::payload::{Template, TextEncoding};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest duration any option takes: one week.
const MAX_SECONDS: f64 = 7.0 * 24.0 * 3600.0;

/// A number of seconds from an option, checked to lie in 0.001 s – one week (a larger one
/// would overflow a clock, a smaller one means nothing).
pub(super) fn seconds(option: &str, value: f64) -> Result<Duration, CliError> {
    if value.is_finite() && (0.001..=MAX_SECONDS).contains(&value) {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(CliError::Usage(format!(
            "{option} must be a number of seconds from 0.001 to {MAX_SECONDS:.0} (one week), not {value}"
        )))
    }
}

/// A number of milliseconds from an option, at most one week; `zero_ok` allows 0.
pub(super) fn millis(option: &str, value: u64, zero_ok: bool) -> Result<Duration, CliError> {
    let max_ms = (MAX_SECONDS * 1000.0) as u64;
    if (value > 0 || zero_ok) && value <= max_ms {
        Ok(Duration::from_millis(value))
    } else {
        let low = if zero_ok { 0 } else { 1 };
        Err(CliError::Usage(format!(
            "{option} must be a number of milliseconds from {low} to {max_ms} (one week), not {value}"
        )))
    }
}

/// A destination as typed: `host:port` with a port a peer can listen on (not 0).
pub(super) fn destination(option: &'static str, text: &str) -> Result<HostPort, CliError> {
    let target = parse_host_port(text).map_err(CliError::address(option))?;
    if target.port == 0 {
        return Err(CliError::Usage(format!(
            "{option}: port 0 cannot be a destination (nothing listens on it); give the peer's port"
        )));
    }
    Ok(target)
}

pub(super) fn encoding(common: &CommonArgs) -> Result<TextEncoding, CliError> {
    TextEncoding::from_name(&common.encoding)
        .ok_or_else(|| CliError::Usage(format!("unknown encoding '{}'", common.encoding)))
}

/// What `--send` sends (macros expanded at each send with --macros), or None without it.
pub(super) fn payload(
    send: &SendArgs,
    encoding: TextEncoding,
) -> Result<Option<Template>, CliError> {
    match payloads(send, encoding)?.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        _ => Err(CliError::Usage(
            "one --send here (repeat it with --repeat)".into(),
        )),
    }
}

/// Every `--send`, checked before anything opens.
pub(super) fn payloads(send: &SendArgs, encoding: TextEncoding) -> Result<Vec<Template>, CliError> {
    send.send
        .iter()
        .map(|data| {
            line_spec(send)
                .template(data, encoding)
                .map_err(|reason| CliError::Usage(format!("--send {data:?}: {reason}")))
        })
        .collect()
}

fn line_spec(send: &SendArgs) -> crate::sequence::SendSpec<'_> {
    crate::sequence::SendSpec {
        hex: send.hex,
        escapes: send.escapes,
        macros: send.macros,
        line_ending: Some(&send.line_ending),
        checksum: Some(&send.checksum),
    }
}

/// What a one-connection run sends (tcp-client, serial): each `--send` in turn `--gap` apart
/// once the session is open, then (after them) what arrives on standard input (`--stdin`) as
/// it arrives;
/// the run ends `wait` after the last of it.
pub(super) struct Sends {
    templates: std::collections::VecDeque<Template>,
    gap: Duration,
    wait: Option<Duration>,
    next: Option<Instant>,
    until: Option<Instant>,
    /// Lines of standard input, made into bytes as `--send` would be (None once it ended).
    stdin: Option<std::sync::mpsc::Receiver<String>>,
    send: SendArgs,
    encoding: TextEncoding,
    opened: bool,
    /// Where each send goes (a server: every client).
    target: SendTarget,
}

impl Sends {
    pub fn new(
        send: &SendArgs,
        encoding: TextEncoding,
        wait: Option<Duration>,
    ) -> Result<Self, CliError> {
        let templates = payloads(send, encoding)?.into();
        let stdin = send.stdin.then(read_stdin);
        Ok(Self {
            templates,
            gap: Duration::from_millis(send.gap),
            wait,
            next: None,
            until: None,
            stdin,
            send: send.clone(),
            encoding,
            opened: false,
            target: SendTarget::Default,
        })
    }

    /// Sends to `target` instead of the session's peer.
    pub fn to(mut self, target: SendTarget) -> Self {
        self.target = target;
        self
    }

    /// The session opened: sending starts now.
    pub fn opened(&mut self) {
        self.opened = true;
        self.next = Some(Instant::now());
    }

    /// Sends what is due; returns when the run ends (after the last send and `wait`) and
    /// when to look again.
    pub fn tick(
        &mut self,
        engine: &EngineHandle,
        session: SessionId,
    ) -> (Option<Instant>, Option<Instant>) {
        if !self.opened {
            return (None, None);
        }
        let now = Instant::now();
        while self.next.is_some_and(|n| n <= now) {
            let Some(template) = self.templates.pop_front() else {
                self.next = None;
                break;
            };
            engine.send(Command::SendTemplate {
                session,
                target: self.target.clone(),
                template,
                repeat: None,
            });
            self.next = Some(now + self.gap);
        }
        if self.templates.is_empty() {
            self.next = None;
        }
        // Standard input follows the --send list.
        if let Some(lines) = self.stdin.as_ref().filter(|_| self.templates.is_empty()) {
            loop {
                match lines.try_recv() {
                    Ok(line) => {
                        match line_spec(&self.send).template(&line, self.encoding) {
                            Ok(template) => engine.send(Command::SendTemplate {
                                session,
                                target: self.target.clone(),
                                template,
                                repeat: None,
                            }),
                            // A bad line is said and skipped: nothing of it is sent.
                            Err(reason) => eprintln!("sockscope: stdin line not sent: {reason}"),
                        }
                    }
                    Err(std::sync::mpsc::TryRecvError::Empty) => break,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                        self.stdin = None;
                        break;
                    }
                }
            }
        }
        if self.templates.is_empty() && self.stdin.is_none() && self.until.is_none() {
            self.until = self.wait.map(|w| now + w);
        }
        let poll = self.stdin.as_ref().map(|_| now + Duration::from_millis(20));
        (self.until, self.next.or(poll))
    }
}

impl Run {
    /// Drives a one-connection run (tcp-client, serial) that sends `sends` once it is open.
    pub fn drive_sends(&mut self, sends: Sends) -> ExitCode {
        self.drive_sends_and(sends, |_, _| Flow::Continue)
    }

    /// Like [`Run::drive_sends`], with `on` seeing each event too (a server's `--once`).
    pub fn drive_sends_and(
        &mut self,
        mut sends: Sends,
        mut on: impl FnMut(&Event, &EngineHandle) -> Flow,
    ) -> ExitCode {
        let session = self.session;
        let opened = std::cell::Cell::new(false);
        self.drive(
            |engine| {
                if opened.take() {
                    sends.opened();
                }
                sends.tick(engine, session)
            },
            |event, engine| {
                if let Event::Opened { .. } = event {
                    opened.set(true);
                }
                on(event, engine)
            },
        )
    }
}

/// Standard input's lines, read on their own thread. The thread is not joined: a read of
/// standard input cannot be interrupted, and the process ends it when the run ends.
fn read_stdin() -> std::sync::mpsc::Receiver<String> {
    // Bounded: a fast pipe waits for the session to take its lines.
    let (tx, rx) = std::sync::mpsc::sync_channel(1024);
    let _ = std::thread::Builder::new()
        .name("sockscope-stdin".into())
        .spawn(move || {
            use std::io::BufRead;
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    rx
}

/// Reads `--rules`, before anything is opened.
/// The decoder `--decode` names: a built-in one, or a protocol file read and checked now (a
/// bad one stops the run before a port is bound, exit 2).
pub(super) fn load_decoder(
    framing: Option<&FrameArgs>,
) -> Result<Option<crate::payload::decode::DecodeSpec>, CliError> {
    use crate::payload::decode::{DecodeSpec, ProtocolFile};
    let Some(spec) = framing.and_then(|f| f.decode.as_deref()) else {
        return Ok(None);
    };
    if let Some(builtin) = DecodeSpec::builtin(spec) {
        return Ok(Some(builtin));
    }
    let path = std::path::PathBuf::from(spec);
    if !spec.ends_with(".toml") && !path.exists() {
        return Err(CliError::Usage(format!(
            "--decode: '{spec}' is not one of {} nor a protocol file (.toml)",
            DecodeSpec::NAMES.join(", ")
        )));
    }
    let text = std::fs::read_to_string(&path).map_err(|source| CliError::Read {
        path: path.clone(),
        source,
    })?;
    ProtocolFile::parse(&text)
        .map(|p| Some(DecodeSpec::Protocol(Arc::new(p))))
        .map_err(|e| CliError::bad_file(&path, &e.to_string()))
}

/// Reads and compiles `--script` before anything opens: a script that does not parse stops
/// the run (exit 2) with its line and column.
fn load_script(
    common: &CommonArgs,
    config: &SessionConfig,
    encoding: TextEncoding,
    decoder: Option<crate::payload::decode::DecodeSpec>,
) -> Result<Option<Arc<crate::engine::script::SessionScript>>, CliError> {
    let Some(path) = &common.script else {
        return Ok(None);
    };
    // (A relay's and a bridge's script watches: see engine::script::watch.)
    if matches!(config, SessionConfig::Relay { udp: true, .. }) {
        return Err(CliError::Usage(
            "--script runs on tcp-client, tcp-server, udp, serial, and TCP relays and bridges (not a UDP relay)"
                .into(),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.clone(),
        source,
    })?;
    let script = crate::script::Script::compile(&text, encoding)
        .map_err(|e| CliError::bad_file(path, &e.to_string()))?;
    Ok(Some(Arc::new(crate::engine::script::SessionScript::new(
        script, decoder,
    ))))
}

fn load_rules(common: &CommonArgs) -> Result<Option<Vec<ReplyRule>>, CliError> {
    if let Some(path) = &common.simulate {
        let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
            path: path.clone(),
            source,
        })?;
        let bad = |e: crate::sequence::SequenceError| CliError::bad_file(path, &e.to_string());
        let rules = crate::sequence::Sequence::parse(&text)
            .and_then(|s| s.as_rules())
            .and_then(|r| r.compile())
            .map_err(bad)?;
        return Ok(Some(rules));
    }
    let Some(path) = &common.rules else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.clone(),
        source,
    })?;
    crate::sequence::parse_rules(&text)
        .map(Some)
        .map_err(|e| CliError::bad_file(path, &e.to_string()))
}

/// Set once SIGINT/SIGTERM (Ctrl-C, Ctrl-Break on Windows) arrives: the run closes its
/// session (or stops its probe, its generator) and prints its summary instead of dying mid-way.
pub(super) fn stop_flag() -> Arc<AtomicBool> {
    static STOP: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    STOP.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let set = flag.clone();
        // A second handler cannot be installed; the first one already does the job.
        let _ = ctrlc::set_handler(move || set.store(true, Ordering::SeqCst));
        flag
    })
    .clone()
}

pub(super) fn start_engine() -> Result<EngineHandle, CliError> {
    let _ = stop_flag();
    Engine::spawn(Arc::new(|| {})).map_err(CliError::Start)
}

/// What the event loop should do next.
pub(super) enum Flow {
    Continue,
    Close,
}

/// Does the session answer on its own (rules, reply limit)? File jobs do not.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Replies {
    Answers,
    None,
}

/// An open session of a runner with its printer.
pub(super) struct Run {
    pub engine: EngineHandle,
    pub session: SessionId,
    pub printer: Printer,
    /// `--record`: what happens becomes a sequence file, written when the session ends.
    pub recording: Option<Recording>,
    /// `--pcap`: the capture the engine is writing.
    capture: Option<std::path::PathBuf>,
}

/// A recording in progress and where it goes.
pub(super) struct Recording {
    pub recorder: crate::sequence::Recorder,
    pub path: std::path::PathBuf,
    pub connection: crate::sequence::Connection,
}

impl Recording {
    /// Checks before anything opens that the file can be made: an existing file is not
    /// replaced.
    pub fn new(
        path: &std::path::Path,
        connection: crate::sequence::Connection,
        encoding: TextEncoding,
        framed: bool,
    ) -> Result<Self, CliError> {
        if path.exists() {
            return Err(CliError::Usage(format!(
                "--record {}: the file exists; it is not replaced",
                path.display()
            )));
        }
        Ok(Self {
            recorder: crate::sequence::Recorder::new(encoding, framed),
            path: path.to_path_buf(),
            connection,
        })
    }

    fn take(&mut self, event: &Event) {
        if let Event::Data { chunks, .. } = event {
            for chunk in chunks.iter() {
                for (bytes, _) in chunk.pieces() {
                    match chunk.dir {
                        Direction::Tx => self.recorder.sent(bytes, chunk.time),
                        Direction::Rx => self.recorder.received(bytes, chunk.time),
                    }
                }
            }
        }
    }

    /// Writes the sequence (never over an existing file).
    fn write(&self) -> std::io::Result<()> {
        let name = self
            .path
            .file_stem()
            .map_or_else(|| "recorded".into(), |s| s.to_string_lossy().into_owned());
        let text = self
            .recorder
            .sequence(&name, self.connection.clone())
            .to_toml();
        let mut file = std::fs::File::create_new(&self.path)?;
        std::io::Write::write_all(&mut file, text.as_bytes())
    }
}

/// `--pcap FILE` for a session opened with `config`: checked before anything opens (never over
/// an existing file); the engine writes it.
fn capture_request(
    path: &std::path::Path,
    config: &SessionConfig,
) -> Result<CaptureRequest, CliError> {
    let (connects, session) = match config {
        SessionConfig::TcpClient { remote, .. } => (true, format!("sockscope tcp-client {remote}")),
        SessionConfig::Udp { bind, .. } => (true, format!("sockscope udp on {bind}")),
        SessionConfig::TcpServer { bind, .. } => (false, format!("sockscope tcp-server {bind}")),
        SessionConfig::Relay {
            listen,
            target,
            udp: false,
        } => (false, format!("sockscope relay {listen} → {target}")),
        _ => {
            return Err(CliError::Usage(
                "--pcap is for tcp-client, tcp-server, udp and a TCP relay".into(),
            ))
        }
    };
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(CliError::Usage(format!(
            "--pcap {}: the file exists; nothing was replaced",
            path.display()
        )));
    }
    Ok(CaptureRequest {
        path: path.to_path_buf(),
        label: session,
        connects,
    })
}

/// A `HOST:PORT` argument checked and resolved to its first address.
pub(super) fn resolve_target(text: &str) -> Result<std::net::SocketAddr, CliError> {
    destination("target", text)?;
    std::net::ToSocketAddrs::to_socket_addrs(text)
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| CliError::Usage(format!("target: cannot resolve '{text}'")))
}

/// `--data` as bytes: text as typed, or hex with `--hex`.
pub(super) fn data_bytes(data: Option<&str>, hex: bool) -> Result<Option<Vec<u8>>, CliError> {
    match (data, hex) {
        (Some(d), true) => crate::payload::hex::decode_hex(d)
            .map(Some)
            .map_err(|e| CliError::Usage(format!("--data: {e}"))),
        (Some(d), false) => Ok(Some(d.as_bytes().to_vec())),
        (None, _) => Ok(None),
    }
}

impl Run {
    /// Opens `config` after everything that can be checked was checked: the rules file is read
    /// first, so a bad one stops the run before a port is bound.
    pub fn open(
        common: &CommonArgs,
        encoding: TextEncoding,
        config: SessionConfig,
        replies: Replies,
        framing: Option<&FrameArgs>,
    ) -> Result<Self, CliError> {
        Self::open_secured(common, encoding, config, replies, framing, None)
    }

    /// Like `open`, over TLS when `tls` says how.
    pub fn open_secured(
        common: &CommonArgs,
        encoding: TextEncoding,
        config: SessionConfig,
        replies: Replies,
        framing: Option<&FrameArgs>,
        tls: Option<crate::engine::tls::TlsSettings>,
    ) -> Result<Self, CliError> {
        let rules = match replies {
            Replies::Answers => load_rules(common)?,
            Replies::None => None,
        };
        let capture = match &common.pcap {
            Some(path) => Some(capture_request(path, &config)?),
            None => None,
        };
        let decoder = load_decoder(framing)?;
        let script = load_script(common, &config, encoding, decoder.clone())?;
        let printer = Printer::new(common.output, encoding).decoding(decoder.clone());
        let engine = start_engine()?;
        let session = engine.new_session_id();
        if let Some(framing) = framing {
            // The decoder's own framing when the user named none.
            let spec = match (&framing.frame, &decoder, &config) {
                // On a serial line a decoder's framing may depend on the baud (Modbus RTU).
                (FrameSpec::None, Some(d), SessionConfig::Serial { settings, .. }) => {
                    settings.frame_for(d)
                }
                (FrameSpec::None, Some(d), _) => d.default_frame(),
                (spec, _, _) => spec.clone(),
            };
            engine.send(Command::SetFraming {
                session,
                spec,
                max_frame: framing.max_frame,
                frame_sends: framing.frame_sends,
            });
        }
        if tls.is_some() {
            engine.send(Command::SetTls { session, tls });
        }
        let capture = capture.map(|request| {
            let path = request.path.clone();
            engine.send(Command::Capture { session, request });
            path
        });
        if let Some(script) = script {
            engine.send(Command::SetScript {
                session,
                script: Some(script),
            });
        }
        // The rules go first: they answer from the first byte the session reads.
        if replies == Replies::Answers {
            if let Some(rules) = rules {
                engine.send(Command::SetRules { session, rules });
            }
            engine.send(Command::SetReplyLimit {
                session,
                per_s: common.reply_limit,
            });
        }
        engine.send(Command::Open { session, config });
        Ok(Self {
            engine,
            session,
            printer,
            recording: None,
            capture,
        })
    }

    /// Feeds events to the printer and `on_event` until the session closes; `deadline` (or a
    /// signal) closes it. Exit 1 when anything failed.
    pub fn drive(
        &mut self,
        mut deadline: impl FnMut(&EngineHandle) -> (Option<Instant>, Option<Instant>),
        mut on_event: impl FnMut(&Event, &EngineHandle) -> Flow,
    ) -> ExitCode {
        let (engine, session) = (&self.engine, self.session);
        let stop = stop_flag();
        let mut closing = false;
        // A run its own deadline ended (`--wait`): was data still arriving?
        let mut timed_out = false;
        let mut last_rx: Option<Instant> = None;
        let mut arriving = false;
        let mut late_bytes = 0u64;
        loop {
            if !closing && stop.load(Ordering::SeqCst) {
                engine.send(Command::Close { session });
                closing = true;
            }
            // When the run ends by itself, and when it wants to be woken (a send due).
            let (end, wake) = if closing {
                (None, None)
            } else {
                deadline(engine)
            };
            let woken = wake
                .and_then(|w| w.checked_duration_since(Instant::now()))
                .unwrap_or(Duration::from_millis(200))
                .min(Duration::from_millis(200));
            let wait = match end {
                Some(at) if !closing => match at.checked_duration_since(Instant::now()) {
                    Some(left) => left.min(woken),
                    None => {
                        engine.send(Command::Close { session });
                        closing = true;
                        timed_out = true;
                        arriving =
                            last_rx.is_some_and(|t| t.elapsed() < Duration::from_millis(100));
                        Duration::from_millis(200)
                    }
                },
                _ => woken,
            };
            let Some(event) = engine.recv_timeout(wait) else {
                self.printer.flush();
                continue;
            };
            self.printer.event(&event);
            if let Event::Data { chunks, .. } = &event {
                let rx: u64 = chunks
                    .iter()
                    .filter(|c| c.dir == Direction::Rx)
                    .map(|c| c.bytes.len() as u64)
                    .sum();
                if rx > 0 {
                    last_rx = Some(Instant::now());
                    if timed_out {
                        late_bytes += rx;
                    }
                }
            }
            if let Some(recording) = &mut self.recording {
                recording.take(&event);
            }
            let closed = matches!(event, Event::Closed { .. });
            let flow = if closing || closed {
                Flow::Continue
            } else {
                on_event(&event, engine)
            };
            if closed {
                self.printer.finish();
                if timed_out && (arriving || late_bytes > 0) {
                    eprintln!(
                        "sockscope: --wait ended while data was still arriving ({late_bytes} B came \
                         while closing); a longer --wait shows more"
                    );
                }
                if self.capture.take().is_some() && !self.end_capture() {
                    return ExitCode::from(1);
                }
                if let Some(recording) = &self.recording {
                    if let Err(e) = recording.write() {
                        eprintln!(
                            "sockscope: error: cannot write {}: {e}",
                            recording.path.display()
                        );
                        return ExitCode::from(1);
                    }
                    eprintln!("sockscope: recorded to {}", recording.path.display());
                }
                return if self.printer.failed() {
                    ExitCode::from(1)
                } else {
                    ExitCode::SUCCESS
                };
            }
            if let Flow::Close = flow {
                engine.send(Command::Close { session });
                closing = true;
            }
        }
    }

    /// Ends the capture once the session has closed (every byte it sent and received is in
    /// the engine's record by then) and says how it went; false when it failed.
    fn end_capture(&mut self) -> bool {
        let (engine, session) = (&self.engine, self.session);
        engine.send(Command::StopCapture { session });
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let Some(event) = engine.recv_timeout(Duration::from_millis(200)) else {
                continue;
            };
            let Event::CaptureEnded {
                path, lost, error, ..
            } = event
            else {
                continue;
            };
            if let Some(e) = error {
                eprintln!(
                    "sockscope: error: capture {} incomplete: {e}",
                    path.display()
                );
                return false;
            }
            if !lost.is_none() {
                eprintln!(
                    "sockscope: warning: capture {} lacks {} bytes received and {} bytes sent: the disk could not keep up",
                    path.display(),
                    lost.rx_bytes,
                    lost.tx_bytes
                );
            }
            eprintln!("sockscope: capture written to {}", path.display());
            return true;
        }
        eprintln!("sockscope: error: the capture did not finish within 120 s");
        false
    }
}
