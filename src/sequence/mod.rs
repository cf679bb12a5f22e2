//! Test sequences: "send this, expect that" as a human-editable TOML file, run against a
//! session, each step passing or failing with its timing, and a report in HTML or CSV.
//!
//! The format is documented in `docs/sequences.md`.

mod record;
mod report;
mod rules;
mod simulate;

pub use record::Recorder;
pub use report::{report_text, save_report, write_csv, write_html, write_junit};
pub use rules::{parse_rules, RuleError, RuleSpec, RulesFile};

use crate::engine::{
    parse_bind, parse_host_port, Command, ConnId, Direction, EngineHandle, Event, NetError,
    SendTarget, SessionConfig, SessionId, SocketOptions,
};
use crate::payload::framing::FrameSpec;
use crate::payload::matcher::{MatchKind, Matcher};
use crate::payload::{Checksum, InputMode, LineEnding, SendFormat, Template, TextEncoding};
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

/// A sequence file.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Sequence {
    /// Shown in the report.
    #[serde(default)]
    pub name: String,
    /// Where to talk to.
    pub connection: Connection,
    /// Run all steps this many times.
    #[serde(default = "one")]
    pub repeat: u32,
    /// The steps, in order.
    #[serde(rename = "step", default)]
    pub steps: Vec<Step>,
}

fn one() -> u32 {
    1
}

/// The session a sequence runs over.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// `tcp-client`, `tcp-server` or `udp`.
    pub kind: ConnectionKind,
    /// `HOST:PORT` to connect or send to. UDP without it listens: sends answer the sender of
    /// the last datagram received. Not used by `tcp-server`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub remote: String,
    /// Local `ADDR:PORT`: where a `tcp-server` listens (required), or a UDP socket binds
    /// (default: an ephemeral port).
    #[serde(default)]
    pub bind: Option<String>,
    /// Text encoding of sent and expected text (default UTF-8).
    #[serde(default)]
    pub encoding: Option<String>,
    /// Default time an expectation waits, in ms (default 2000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Cut what arrives into frames (docs/framing.md; UDP: within each datagram); `expect`
    /// then matches one whole frame instead of everything received since the last expectation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<String>,
    /// Speak TLS (docs/sequences.md, "TLS"); the `tls_…` options say how.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls: bool,
    /// Client: trust this CA file. Server: require client certificates it issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<String>,
    /// Client: accept only this SHA-256 fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_pin: Option<String>,
    /// Client: do not verify the server (unsafe).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls_insecure: bool,
    /// Client: the name sent and checked (SNI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_sni: Option<String>,
    /// ALPN protocols.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls_alpn: Vec<String>,
    /// A server's certificate, or a client's for servers that ask (PEM, with `tls_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<String>,
    /// Server: generate a certificate for this machine at each run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls_generate: bool,
}

impl Connection {
    /// The engine's TLS settings, or why they are wrong.
    pub fn tls_settings(&self) -> Result<Option<crate::engine::tls::TlsSettings>, SequenceError> {
        let kind = self.kind;
        use crate::engine::tls::{
            self, Identity, TlsClientSettings, TlsServerSettings, TlsSettings, Verify,
        };
        let any = self.tls_ca.is_some()
            || self.tls_pin.is_some()
            || self.tls_insecure
            || self.tls_cert.is_some()
            || self.tls_generate;
        if !self.tls {
            return if any {
                Err(SequenceError(
                    "connection: tls_… options need tls = true".into(),
                ))
            } else {
                Ok(None)
            };
        }
        let err = |e: String| SequenceError(format!("connection: {e}"));
        let identity = self
            .tls_cert
            .clone()
            .zip(self.tls_key.clone())
            .map(|(c, k)| (c.into(), k.into()));
        match kind {
            ConnectionKind::Udp => Err(err("TLS is for TCP (tcp-client or tcp-server)".into())),
            ConnectionKind::TcpClient => {
                let verify = match (&self.tls_ca, &self.tls_pin, self.tls_insecure) {
                    (Some(ca), None, false) => Verify::CaFile(ca.into()),
                    (None, Some(pin), false) => {
                        tls::parse_pin(pin).map_err(|e| err(e.detail))?;
                        Verify::Pin(pin.clone())
                    }
                    (None, None, true) => Verify::Insecure,
                    (None, None, false) => Verify::System,
                    _ => return Err(err("give one of tls_ca, tls_pin, tls_insecure".into())),
                };
                Ok(Some(TlsSettings::Client(TlsClientSettings {
                    verify,
                    sni: self.tls_sni.clone(),
                    alpn: self.tls_alpn.clone(),
                    identity,
                })))
            }
            ConnectionKind::TcpServer => {
                let identity = match (identity, self.tls_generate) {
                    (Some((cert, key)), false) => Identity::Files { cert, key },
                    (None, true) => {
                        let generated = tls::generate(&tls::default_names(&[]))
                            .map_err(|e| err(e.to_string()))?;
                        Identity::Generated(std::sync::Arc::new(generated))
                    }
                    _ => {
                        return Err(err(
                            "a TLS server needs tls_cert and tls_key, or tls_generate = true"
                                .into(),
                        ))
                    }
                };
                Ok(Some(TlsSettings::Server(TlsServerSettings {
                    identity,
                    client_ca: self.tls_ca.clone().map(Into::into),
                    alpn: self.tls_alpn.clone(),
                })))
            }
        }
    }
}

/// Kinds of session a sequence can drive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionKind {
    #[default]
    TcpClient,
    /// Listen, wait for a client, and run the steps with it: a device simulator.
    TcpServer,
    Udp,
}

/// One step: exactly one of `send`, `expect`, `wait_ms`.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Optional label for the report.
    #[serde(default)]
    pub name: Option<String>,
    /// Data to send.
    #[serde(default)]
    pub send: Option<String>,
    /// Pattern to wait for.
    #[serde(default)]
    pub expect: Option<String>,
    /// Time to wait, in ms.
    #[serde(default)]
    pub wait_ms: Option<u64>,
    /// `send` is hex.
    #[serde(default)]
    pub hex: bool,
    /// Expand {{…}} macros in `send`.
    #[serde(default)]
    pub macros: bool,
    /// Interpret \r \n \t \xHH in `send`.
    #[serde(default)]
    pub escapes: bool,
    /// `none`, `cr`, `lf`, `crlf`.
    #[serde(default)]
    pub line_ending: Option<String>,
    /// `none`, `crc16-modbus`, `crc16-ccitt`, `crc16-xmodem`, `crc32`, `sum8`, `xor8`.
    #[serde(default)]
    pub checksum: Option<String>,
    /// How `expect` compares: `contains` (default), `hex-prefix`, `exact-hex`, `regex`.
    #[serde(default, rename = "match")]
    pub match_kind: Option<MatchKind>,
    /// This expectation's time limit, in ms.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Do this step this many times.
    #[serde(default = "one")]
    pub times: u32,
}

/// Why a sequence file cannot be run.
#[derive(Debug)]
pub struct SequenceError(pub String);

impl std::fmt::Display for SequenceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SequenceError {}

fn line_ending(name: Option<&str>) -> Result<LineEnding, SequenceError> {
    let name = name.unwrap_or("none");
    LineEnding::from_name(name)
        .ok_or_else(|| SequenceError(format!("unknown line_ending '{name}'")))
}

fn checksum(name: Option<&str>) -> Result<Checksum, SequenceError> {
    let name = name.unwrap_or("none");
    Checksum::from_name(name).ok_or_else(|| SequenceError(format!("unknown checksum '{name}'")))
}

/// How a `send` (or a rule's `reply`, or the CLI's `--send`) is written: the options that
/// turn typed data into bytes.
pub(crate) struct SendSpec<'a> {
    pub hex: bool,
    pub escapes: bool,
    pub macros: bool,
    pub line_ending: Option<&'a str>,
    pub checksum: Option<&'a str>,
}

impl SendSpec<'_> {
    /// The template that sends `data`; errors are one line for the file's reader.
    pub(crate) fn template(&self, data: &str, encoding: TextEncoding) -> Result<Template, String> {
        Template::for_input(data, &self.format(encoding)?).map_err(|e| e.to_string())
    }

    fn format(&self, encoding: TextEncoding) -> Result<SendFormat, String> {
        Ok(SendFormat {
            mode: if self.hex {
                InputMode::Hex
            } else {
                InputMode::Text
            },
            encoding,
            escapes: self.escapes,
            line_ending: line_ending(self.line_ending).map_err(|e| e.0)?,
            checksum: checksum(self.checksum).map_err(|e| e.0)?,
            macros: self.macros,
        })
    }

    /// The template of a rule's reply, which may name what the rule's pattern captured.
    pub(crate) fn reply_template(
        &self,
        data: &str,
        encoding: TextEncoding,
    ) -> Result<Template, String> {
        Template::for_reply(data, &self.format(encoding)?).map_err(|e| e.to_string())
    }
}

/// A step ready to run.
enum Action {
    Send(Template),
    Expect(Matcher, Duration),
    Wait(Duration),
}

/// A checked, compiled step.
struct Prepared {
    label: String,
    /// An expectation's pattern and match kind, for the report.
    expected: Option<String>,
    action: Action,
    times: u32,
}

impl Sequence {
    /// Reads a sequence from TOML text.
    pub fn parse(text: &str) -> Result<Self, SequenceError> {
        toml::from_str(text).map_err(|e| SequenceError(e.to_string()))
    }

    /// Writes the sequence as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    fn encoding(&self) -> Result<TextEncoding, SequenceError> {
        let name = self.connection.encoding.as_deref().unwrap_or("utf-8");
        TextEncoding::from_name(name)
            .ok_or_else(|| SequenceError(format!("unknown encoding '{name}'")))
    }

    /// Checks every step, so a bad file fails before anything is sent.
    fn prepare(&self) -> Result<Vec<Prepared>, SequenceError> {
        let encoding = self.encoding()?;
        let c = &self.connection;
        match c.kind {
            ConnectionKind::TcpClient => {
                parse_host_port(&c.remote)
                    .map_err(|e| SequenceError(format!("connection.remote: {e}")))?;
            }
            ConnectionKind::TcpServer if c.bind.is_none() => {
                return Err(SequenceError(
                    "connection.bind: a tcp-server needs the address to listen on, such as \
                     \"0.0.0.0:502\""
                        .into(),
                ))
            }
            ConnectionKind::Udp if c.remote.is_empty() && c.bind.is_none() => {
                return Err(SequenceError(
                    "connection: udp needs remote (where to send) or bind (where to listen)".into(),
                ))
            }
            ConnectionKind::TcpServer | ConnectionKind::Udp if !c.remote.is_empty() => {
                parse_host_port(&c.remote)
                    .map_err(|e| SequenceError(format!("connection.remote: {e}")))?;
            }
            ConnectionKind::TcpServer | ConnectionKind::Udp => {}
        }
        if let Some(bind) = &c.bind {
            parse_bind(bind).map_err(|e| SequenceError(format!("connection.bind: {e}")))?;
        }
        let default_timeout = Duration::from_millis(self.connection.timeout_ms.unwrap_or(2000));
        self.steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let n = i + 1;
                let err = |what: String| SequenceError(format!("step {n}: {what}"));
                let action = match (&step.send, &step.expect, step.wait_ms) {
                    (Some(data), None, None) => {
                        let spec = SendSpec {
                            hex: step.hex,
                            escapes: step.escapes,
                            macros: step.macros,
                            line_ending: step.line_ending.as_deref(),
                            checksum: step.checksum.as_deref(),
                        };
                        Action::Send(spec.template(data, encoding).map_err(err)?)
                    }
                    (None, Some(pattern), None) => {
                        let kind = step.match_kind.unwrap_or_default();
                        let matcher = Matcher::new(kind, pattern, encoding)
                            .map_err(|e| err(e.to_string()))?;
                        let timeout = step
                            .timeout_ms
                            .map(Duration::from_millis)
                            .unwrap_or(default_timeout);
                        Action::Expect(matcher, timeout)
                    }
                    (None, None, Some(ms)) => Action::Wait(Duration::from_millis(ms)),
                    _ => return Err(err("give exactly one of send, expect, wait_ms".into())),
                };
                let label = step.name.clone().unwrap_or_else(|| {
                    match (&step.send, &step.expect, step.wait_ms) {
                        (Some(d), _, _) => format!("send {d}"),
                        (_, Some(p), _) => format!("expect {p}"),
                        (_, _, Some(ms)) => format!("wait {ms} ms"),
                        _ => String::new(),
                    }
                });
                let expected = step.expect.as_ref().map(|p| {
                    let match_kind = step.match_kind.unwrap_or_default();
                    let kind = serde_json::to_value(match_kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    // Hex patterns (a recording's exact bytes) are shown as text and hex, as
                    // received data is; one with `??` stays as written.
                    let hex = matches!(match_kind, MatchKind::ExactHex | MatchKind::HexPrefix);
                    match crate::payload::hex::decode_hex(p) {
                        Ok(bytes) if hex => format!("{} ({kind})", describe(&bytes, encoding)),
                        _ => format!("{p} ({kind})"),
                    }
                });
                Ok(Prepared {
                    label,
                    expected,
                    action,
                    times: step.times.max(1),
                })
            })
            .collect()
    }
}

/// How a step went.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A send or wait that happened, or an expectation that matched.
    Pass,
    /// An expectation that did not match in time, a send that failed, or a step that could
    /// not run because the connection had ended.
    Fail,
    /// Not run: an earlier step found the connection ended.
    #[serde(rename = "not run")]
    NotRun,
}

/// Why a run stopped or a step failed, apart from its words: the command line and the reports
/// say it in English (`Display`), the window in the user's language.
#[derive(Clone, Debug)]
pub enum RunIssue {
    /// A network failure (refused, reset, TLS…), as the engine reported it.
    Net(NetError),
    /// A simulator's client left.
    ClientLeft(std::net::SocketAddr),
    /// The peer closed the connection.
    ClosedByPeer,
    /// The session never opened.
    DidNotOpen,
    /// A simulator waited this long for a client.
    NoClient { within_s: u64 },
    /// The engine said nothing of a send for this long.
    NoSendWord { within_s: u64 },
    /// The user stopped the run.
    Stopped,
    /// A send's bytes could not be made (a macro, an encoding).
    Payload(crate::payload::PayloadError),
}

impl std::fmt::Display for RunIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Net(e) => write!(f, "{e}"),
            Self::ClientLeft(peer) => write!(f, "the client {peer} disconnected"),
            Self::ClosedByPeer => write!(f, "closed by the peer"),
            Self::DidNotOpen => write!(f, "the session did not open"),
            Self::NoClient { within_s } => write!(f, "no client connected within {within_s} s"),
            Self::NoSendWord { within_s } => {
                write!(f, "no word from the connection within {within_s} s")
            }
            Self::Payload(e) => write!(f, "{e}"),
            Self::Stopped => write!(f, "stopped by the user"),
        }
    }
}

/// In JSON and reports: its English words.
impl serde::Serialize for RunIssue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// How a step failed.
#[derive(Clone, Debug)]
pub enum StepFailure {
    /// A send step whose bytes were not written.
    NotSent(RunIssue),
    /// An expectation that saw no match in its time.
    NoMatch { within_ms: u128 },
    /// An expectation cut short, or a step that could not run: the connection ended.
    Closed(RunIssue),
}

/// One line of the report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StepResult {
    /// 1-based step number in the file.
    pub step: usize,
    /// Which round of the sequence's `repeat`.
    pub round: u32,
    /// The step's label.
    pub label: String,
    /// Pass or fail.
    pub outcome: Outcome,
    /// How long it took, ms.
    pub millis: u128,
    /// What was sent or received (text and hex), or why it failed.
    pub detail: String,
    /// An expectation: its pattern and how it compares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// An expectation: what had arrived (text and hex) when it matched or gave up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received: Option<String>,
    /// Why it failed (`detail` says it in English).
    #[serde(skip)]
    pub failure: Option<StepFailure>,
}

/// The whole run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// The sequence's name.
    pub name: String,
    /// When it started.
    #[serde(skip)]
    pub started: Option<SystemTime>,
    /// Every step's result.
    pub results: Vec<StepResult>,
    /// A failure that stopped the run (connection refused or lost).
    pub aborted: Option<RunIssue>,
}

impl Report {
    /// Passed: every step passed and nothing stopped the run.
    pub fn passed(&self) -> bool {
        self.aborted.is_none() && self.results.iter().all(|r| r.outcome == Outcome::Pass)
    }

    /// (passed, failed) counts; steps not run are neither.
    pub fn counts(&self) -> (usize, usize) {
        let count = |o: Outcome| self.results.iter().filter(|r| r.outcome == o).count();
        (count(Outcome::Pass), count(Outcome::Fail))
    }

    /// Steps not run because the connection had ended.
    pub fn not_run(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome == Outcome::NotRun)
            .count()
    }
}

fn describe(bytes: &[u8], encoding: TextEncoding) -> String {
    let shown = &bytes[..bytes.len().min(256)];
    format!(
        "{} | {}",
        crate::payload::text_for_display(shown, encoding),
        crate::payload::hex::encode_hex(shown)
    )
}

/// What a run tells its caller as it goes.
#[derive(Debug)]
pub enum Progress<'a> {
    /// A `tcp-server` or listening `udp` sequence is ready at this address.
    Listening(std::net::SocketAddr),
    /// A `tcp-server` sequence's client connected.
    Client(std::net::SocketAddr),
    /// A step's result.
    Step(&'a StepResult),
}

/// How long a `tcp-server` sequence waits for its client when the file does not say.
const DEFAULT_CLIENT_WAIT: Duration = Duration::from_secs(60);

impl Sequence {
    /// The engine session that runs this sequence.
    fn session_config(&self) -> Result<SessionConfig, SequenceError> {
        let c = &self.connection;
        let bind = |default_v6: bool| -> Result<std::net::SocketAddr, SequenceError> {
            match &c.bind {
                Some(b) => parse_bind(b).map_err(|e| SequenceError(e.to_string())),
                None if default_v6 => Ok(std::net::SocketAddr::from((
                    std::net::Ipv6Addr::UNSPECIFIED,
                    0,
                ))),
                None => Ok(std::net::SocketAddr::from(([0, 0, 0, 0], 0))),
            }
        };
        Ok(match c.kind {
            ConnectionKind::TcpClient => SessionConfig::TcpClient {
                remote: c.remote.clone(),
                connect_timeout: Duration::from_secs(5),
                options: SocketOptions::default(),
            },
            ConnectionKind::TcpServer => SessionConfig::TcpServer {
                bind: bind(false)?,
                echo: false,
                options: SocketOptions::default(),
            },
            ConnectionKind::Udp => SessionConfig::Udp {
                bind: bind(c.remote.trim_start().starts_with('['))?,
                default_dest: (!c.remote.is_empty()).then(|| c.remote.clone()),
                broadcast: false,
                echo: false,
                options: SocketOptions::default(),
            },
        })
    }

    /// The framer expectations see, if any.
    fn framing(&self) -> Result<Option<FrameSpec>, SequenceError> {
        match (&self.connection.frame, self.connection.kind) {
            (Some(_), ConnectionKind::Udp) => Err(SequenceError(
                "frame: only a TCP connection is framed (a datagram is one message)".into(),
            )),
            (Some(spec), _) => {
                let spec: FrameSpec =
                    spec.parse()
                        .map_err(|e: crate::payload::framing::FrameSpecError| {
                            SequenceError(e.to_string())
                        })?;
                Ok((spec != FrameSpec::None).then_some(spec))
            }
            (None, _) => Ok(None),
        }
    }
}

/// Runs a sequence over a new session of `engine`; `on` sees the listening address, the
/// client, and each result as it comes.
pub fn run(
    sequence: &Sequence,
    engine: &EngineHandle,
    on: impl FnMut(Progress<'_>),
) -> Result<Report, SequenceError> {
    run_stoppable(sequence, engine, None, on)
}

/// Like [`run`]; when `stop` is set the run ends within a moment, the steps not reached
/// reported as not run and the run as stopped ([`RunIssue::Stopped`]).
pub fn run_stoppable(
    sequence: &Sequence,
    engine: &EngineHandle,
    stop: Option<&std::sync::atomic::AtomicBool>,
    mut on: impl FnMut(Progress<'_>),
) -> Result<Report, SequenceError> {
    let steps = sequence.prepare()?;
    let encoding = sequence.encoding()?;
    let session = engine.new_session_id();
    let config = sequence.session_config()?;
    let framing = sequence.framing()?;
    let tls = sequence.connection.tls_settings()?;
    if tls.is_some() {
        engine.send(Command::SetTls { session, tls });
    }
    if let Some(spec) = &framing {
        engine.send(Command::SetFraming {
            session,
            spec: spec.clone(),
            max_frame: crate::payload::framing::DEFAULT_MAX_FRAME,
            frame_sends: false,
        });
    }
    engine.send(Command::Open { session, config });
    let mut report = Report {
        name: sequence.name.clone(),
        started: Some(SystemTime::now()),
        results: Vec::new(),
        aborted: None,
    };
    let kind = sequence.connection.kind;
    let mut runner = Runner {
        engine,
        session,
        framed: framing.is_some(),
        frames: std::collections::VecDeque::new(),
        received: Vec::new(),
        closed: None,
        open: None,
        server: kind == ConnectionKind::TcpServer,
        client: None,
        sent: HashMap::new(),
        stop,
    };
    // Numbers the sends, so {{counter}} counts through the whole run.
    let mut sends = 0u64;
    match runner.wait_open() {
        Ok(local) => {
            let listening = kind == ConnectionKind::TcpServer
                || (kind == ConnectionKind::Udp && sequence.connection.remote.is_empty());
            if listening {
                on(Progress::Listening(local));
            }
        }
        Err(issue) => {
            report.aborted = Some(issue);
            engine.send(Command::Close { session });
            return Ok(report);
        }
    }
    let target = match kind {
        ConnectionKind::Udp if sequence.connection.remote.is_empty() => SendTarget::LastSender,
        _ => SendTarget::Default,
    };
    let client_wait = sequence
        .connection
        .timeout_ms
        .map_or(DEFAULT_CLIENT_WAIT, |ms| {
            Duration::from_millis(ms).max(DEFAULT_CLIENT_WAIT)
        });
    'rounds: for round in 1..=sequence.repeat.max(1) {
        // A simulator runs each round with the client it has, or the next one to connect.
        let target = if runner.server {
            match runner.wait_client(client_wait) {
                Ok((conn, peer, new)) => {
                    if new {
                        on(Progress::Client(peer));
                    }
                    SendTarget::Conn(conn)
                }
                Err(issue) => {
                    report.aborted = Some(issue);
                    break 'rounds;
                }
            }
        } else {
            target.clone()
        };
        // Once the connection has ended, the next step that needs it fails (it could not run)
        // and the steps after it are not run.
        let mut close_reported = false;
        for (i, step) in steps.iter().enumerate() {
            for _ in 0..step.times {
                if let Some(reason) = runner.closed.clone() {
                    // A user's Stop fails nothing: what was not reached is not run.
                    let fails = !close_reported
                        && !matches!(step.action, Action::Wait(_))
                        && !matches!(reason, RunIssue::Stopped);
                    close_reported |= fails;
                    let result = StepResult {
                        step: i + 1,
                        round,
                        label: step.label.clone(),
                        outcome: if fails {
                            Outcome::Fail
                        } else {
                            Outcome::NotRun
                        },
                        millis: 0,
                        detail: if fails {
                            format!("not run: connection closed ({reason})")
                        } else {
                            "not run".into()
                        },
                        expected: step.expected.clone(),
                        received: None,
                        failure: fails.then_some(StepFailure::Closed(reason)),
                    };
                    on(Progress::Step(&result));
                    report.results.push(result);
                    continue;
                }
                let start = Instant::now();
                let mut received = None;
                let mut failure = None;
                let (outcome, detail) = match &step.action {
                    Action::Send(template) => {
                        sends += 1;
                        match template.expand(sends) {
                            Err(e) => {
                                let detail = format!("not sent: {e}");
                                failure = Some(StepFailure::NotSent(RunIssue::Payload(e)));
                                (Outcome::Fail, detail)
                            }
                            Ok(bytes) => {
                                let detail = describe(&bytes, encoding);
                                engine.send(Command::Send {
                                    session,
                                    target: target.clone(),
                                    bytes,
                                    repeat: None,
                                    ack: Some(sends),
                                });
                                // Passes only once the bytes were written to the socket.
                                match runner.wait_sent(sends) {
                                    Ok(()) => (Outcome::Pass, detail),
                                    Err(why) => {
                                        let detail = format!("not sent: {why}; {detail}");
                                        failure = Some(StepFailure::NotSent(why));
                                        (Outcome::Fail, detail)
                                    }
                                }
                            }
                        }
                    }
                    Action::Wait(d) => {
                        runner.pump_until(Instant::now() + *d, |_| None::<()>);
                        (Outcome::Pass, String::new())
                    }
                    Action::Expect(matcher, timeout) => {
                        let hit =
                            runner.pump_until(Instant::now() + *timeout, |r| r.matched(matcher));
                        let seen = describe(&runner.received, encoding);
                        if let Some(frame) = hit {
                            runner.received.clear();
                            let got = describe(&frame, encoding);
                            received = Some(got.clone());
                            (Outcome::Pass, got)
                        } else {
                            received = Some(seen.clone());
                            let why = match &runner.closed {
                                Some(reason) => {
                                    failure = Some(StepFailure::Closed(reason.clone()));
                                    format!("connection closed ({reason}); received: {seen}")
                                }
                                None => {
                                    let within_ms = timeout.as_millis();
                                    failure = Some(StepFailure::NoMatch { within_ms });
                                    format!("no match within {within_ms} ms; received: {seen}")
                                }
                            };
                            runner.received.clear();
                            (Outcome::Fail, why)
                        }
                    }
                };
                // A step the user's Stop cut short did not fail: it was not run to its end.
                let (outcome, detail, failure) = match (&runner.closed, outcome) {
                    (Some(RunIssue::Stopped), Outcome::Fail) => {
                        (Outcome::NotRun, "not run: stopped by the user".into(), None)
                    }
                    (_, outcome) => (outcome, detail, failure),
                };
                let result = StepResult {
                    step: i + 1,
                    round,
                    label: step.label.clone(),
                    outcome,
                    millis: start.elapsed().as_millis(),
                    detail,
                    expected: step.expected.clone(),
                    received,
                    failure,
                };
                // A step that failed as the connection ended is the one that says so.
                close_reported |= runner.closed.is_some() && result.outcome == Outcome::Fail;
                on(Progress::Step(&result));
                report.results.push(result);
            }
        }
        if let Some(reason) = &runner.closed {
            report.aborted = Some(reason.clone());
            break 'rounds;
        }
    }
    engine.send(Command::Close { session });
    Ok(report)
}

/// Follows the session's events while a sequence runs.
struct Runner<'a> {
    engine: &'a EngineHandle,
    session: SessionId,
    /// Expectations match whole frames, taken in order.
    framed: bool,
    /// Frames received and not yet looked at by an expectation.
    frames: std::collections::VecDeque<Vec<u8>>,
    /// Received since the last expectation matched or failed.
    received: Vec<u8>,
    /// Why the session (or a simulator's client) ended, if it did.
    closed: Option<RunIssue>,
    /// Where the session opened.
    open: Option<std::net::SocketAddr>,
    /// A `tcp-server`: steps run with one client at a time.
    server: bool,
    /// The server's current client, and whether `wait_client` has told of it yet.
    client: Option<(ConnId, std::net::SocketAddr, bool)>,
    /// Outcomes of sends, by tag, not yet looked at.
    sent: HashMap<u64, Result<(), NetError>>,
    /// Set when the user asks the run to stop.
    stop: Option<&'a std::sync::atomic::AtomicBool>,
}

/// How long a send step waits for the engine's word that its bytes were written: longer than
/// the engine waits for room in a connection's queue, so the engine's reason comes first.
const SEND_STEP_LIMIT: Duration = Duration::from_secs(20);

impl Runner<'_> {
    fn take(&mut self, event: Event) {
        if event.session() != self.session {
            return;
        }
        match event {
            Event::Opened { local, .. } => self.open = Some(local),
            Event::ConnOpened { conn, peer, .. } if self.server && self.client.is_none() => {
                self.client = Some((conn, peer, false));
            }
            Event::ConnClosed { conn, peer, .. }
                if self.client.is_some_and(|(c, _, _)| c == conn) =>
            {
                self.closed = Some(RunIssue::ClientLeft(peer));
                self.client = None;
            }
            // A simulator hears only its current client; others wait their turn unheard.
            Event::Data { conn, .. } if self.server && self.client.map(|(c, _, _)| c) != conn => {}
            Event::Data { chunks, .. } => {
                for c in chunks.iter().filter(|c| c.dir == Direction::Rx) {
                    self.received.extend_from_slice(&c.bytes);
                    if self.framed {
                        for (frame, _) in c.pieces().filter(|(_, info)| info.is_some()) {
                            self.frames.push_back(frame.to_vec());
                        }
                    }
                }
            }
            Event::SendResult { tag, result, .. } => {
                self.sent.insert(tag, result);
            }
            // Before the session opens, an error means it never will.
            Event::Error { error, .. } if self.open.is_none() => {
                self.closed = Some(RunIssue::Net(error))
            }
            Event::Closed { error, .. } => {
                self.closed = Some(error.map_or(RunIssue::ClosedByPeer, RunIssue::Net));
            }
            _ => {}
        }
    }

    /// Takes the next event, waiting up to `wait`; a Stop asked for ends the run instead.
    fn pump(&mut self, wait: Duration) {
        if self
            .stop
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed))
        {
            self.closed.get_or_insert(RunIssue::Stopped);
            return;
        }
        if let Some(e) = self.engine.recv_timeout(wait) {
            self.take(e);
        }
    }

    fn wait_open(&mut self) -> Result<std::net::SocketAddr, RunIssue> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.open.is_none() && self.closed.is_none() && Instant::now() < deadline {
            self.pump(Duration::from_millis(50));
        }
        match (&self.closed, self.open) {
            (Some(reason), _) => Err(reason.clone()),
            (None, Some(local)) => Ok(local),
            (None, None) => Err(RunIssue::DidNotOpen),
        }
    }

    /// A server's client for the next round: the one it has, or the next to connect within
    /// `limit`; `true` when it was not told of before.
    fn wait_client(
        &mut self,
        limit: Duration,
    ) -> Result<(ConnId, std::net::SocketAddr, bool), RunIssue> {
        let deadline = Instant::now() + limit;
        while self.client.is_none() && self.closed.is_none() && Instant::now() < deadline {
            self.pump(Duration::from_millis(50));
        }
        if let Some(reason) = &self.closed {
            return Err(reason.clone());
        }
        let Some((conn, peer, told)) = self.client.as_mut() else {
            return Err(RunIssue::NoClient {
                within_s: limit.as_secs(),
            });
        };
        let new = !*told;
        *told = true;
        Ok((*conn, *peer, new))
    }

    /// Waits for the outcome of send `tag`: written, failed, or the session ended first.
    fn wait_sent(&mut self, tag: u64) -> Result<(), RunIssue> {
        let deadline = Instant::now() + SEND_STEP_LIMIT;
        loop {
            if let Some(result) = self.sent.remove(&tag) {
                return result.map_err(RunIssue::Net);
            }
            if let Some(reason) = &self.closed {
                return Err(reason.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(RunIssue::NoSendWord {
                    within_s: SEND_STEP_LIMIT.as_secs(),
                });
            }
            self.pump((deadline - now).min(Duration::from_millis(50)));
        }
    }

    /// What satisfies `matcher`: framed, the first waiting frame that matches (those before it
    /// are passed over); else everything received since the last expectation.
    fn matched(&mut self, matcher: &Matcher) -> Option<Vec<u8>> {
        if !self.framed {
            return matcher
                .matches(&self.received)
                .then(|| self.received.clone());
        }
        while let Some(frame) = self.frames.pop_front() {
            if matcher.matches(&frame) {
                return Some(frame);
            }
        }
        None
    }

    /// Takes events until `done` finds something, the deadline passes, or the session ends.
    fn pump_until<T>(
        &mut self,
        deadline: Instant,
        mut done: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<T> {
        loop {
            if let Some(found) = done(self) {
                return Some(found);
            }
            let now = Instant::now();
            if now >= deadline || self.closed.is_some() {
                return None;
            }
            self.pump((deadline - now).min(Duration::from_millis(50)));
        }
    }
}
