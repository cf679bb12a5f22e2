//! Test sequences: "send this, expect that" as a human-editable TOML file, run against a
//! session, each step passing or failing with its timing, and a report in HTML or CSV.
//!
//! The format is documented in `docs/sequences.md`.

mod outcome;
mod record;
mod report;
mod rules;
mod run;
mod script;
mod simulate;

use outcome::describe;
pub use outcome::{Outcome, Report, RunIssue, StepFailure, StepResult};
pub use record::Recorder;
pub use report::{report_text, save_report, write_csv, write_html, write_junit};
pub use rules::{parse_rules, RuleError, RuleSpec, RulesFile};
// (SequenceError, Setting and StepProblem are defined below.)
pub use run::{run, run_stoppable, Progress};

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
    /// Functions (Rhai, docs/scripts.md) the steps' `script`s may call; `state` is kept across
    /// the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
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
    /// `tcp-client`, `tcp-server`, `udp` or `serial`.
    pub kind: ConnectionKind,
    /// `serial`: the port (`COM3`, `/dev/ttyUSB0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// `serial`: bits per second (default 115200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baud: Option<u32>,
    /// `serial`: 5 to 8 (default 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_bits: Option<u8>,
    /// `serial`: `none` (default), `odd`, `even`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parity: Option<String>,
    /// `serial`: 1 (default) or 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_bits: Option<u8>,
    /// `serial`: `none` (default), `rts-cts`, `xon-xoff`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
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
    /// The decoder the recording was made with (`modbus-tcp`, `json`…, docs/decoding.md): its
    /// framing when `frame` is not given, and what a simulator made of it ignores (a Modbus
    /// transaction id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode: Option<String>,
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
    /// A serial connection's line settings (what is not given: 115200 8N1, no flow control),
    /// or why they are wrong.
    pub fn line_settings(&self) -> Result<crate::engine::serial::LineSettings, SequenceError> {
        use crate::engine::serial::{Flow, LineSettings, Parity, StopBits};
        let unknown = |setting, name: String| SequenceError::Unknown { setting, name };
        let default = LineSettings::default();
        let settings = LineSettings {
            baud: self.baud.unwrap_or(default.baud),
            data_bits: self.data_bits.unwrap_or(default.data_bits),
            parity: match &self.parity {
                None => default.parity,
                Some(p) => {
                    Parity::from_name(p).ok_or_else(|| unknown(Setting::Parity, p.clone()))?
                }
            },
            stop_bits: match self.stop_bits {
                None => default.stop_bits,
                Some(n) => StopBits::from_count(n)
                    .ok_or_else(|| unknown(Setting::StopBits, n.to_string()))?,
            },
            flow: match &self.flow {
                None => default.flow,
                Some(f) => Flow::from_name(f).ok_or_else(|| unknown(Setting::Flow, f.clone()))?,
            },
        };
        settings.check().map_err(SequenceError::Line)?;
        Ok(settings)
    }

    /// The engine's TLS settings, or why they are wrong.
    pub fn tls_settings(&self) -> Result<Option<crate::engine::tls::TlsSettings>, SequenceError> {
        let kind = self.kind;
        use crate::engine::tls::{TlsOptions, TlsSettings};
        let any = self.tls_ca.is_some()
            || self.tls_pin.is_some()
            || self.tls_insecure
            || self.tls_cert.is_some()
            || self.tls_generate;
        if !self.tls {
            return if any {
                Err(SequenceError::TlsOptionsWithoutTls)
            } else {
                Ok(None)
            };
        }
        let options = TlsOptions {
            ca: self.tls_ca.clone().map(Into::into),
            pin: self.tls_pin.clone(),
            insecure: self.tls_insecure,
            sni: self.tls_sni.clone(),
            alpn: self.tls_alpn.clone(),
            cert: self.tls_cert.clone().map(Into::into),
            key: self.tls_key.clone().map(Into::into),
            generate: self.tls_generate.then(Vec::new),
        };
        let settings = match kind {
            ConnectionKind::Udp | ConnectionKind::Serial => Err(None),
            ConnectionKind::TcpClient => options.client().map(TlsSettings::Client).map_err(Some),
            ConnectionKind::TcpServer => {
                options.server(None).map(TlsSettings::Server).map_err(Some)
            }
        };
        settings.map(Some).map_err(|e| match e {
            None => SequenceError::TlsForTcpOnly,
            Some(e) => SequenceError::Tls(e),
        })
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
    /// A serial port (`port`, with `baud` and the other line settings).
    Serial,
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
    /// A few lines of script (docs/scripts.md) run with `frame` (what the last expectation
    /// matched) and `fields` (its decoded fields): what it `reply`s or `send`s is sent; it
    /// fails when it returns `false` or throws.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
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
    /// An expectation on the frame's meaning (with the connection's `decode`): the field, with
    /// one of `equals`, `between`, `in`; with `expect` too, both must hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<rules::FieldValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub between: Option<[f64; 2]>,
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<f64>>,
    /// Do this step this many times.
    #[serde(default = "one")]
    pub times: u32,
}

/// Why a sequence file cannot be run: data (the window says it in the user's language through
/// `ui::i18n::sequence_error`; the CLI prints this English `Display`).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SequenceError {
    /// Not valid TOML, or a key that does not belong: the parser's words (with line and column).
    #[error("{0}")]
    Syntax(String),
    #[error("unknown {setting} '{name}'")]
    Unknown { setting: Setting, name: String },
    #[error("connection.remote: {0}")]
    Remote(crate::engine::AddressError),
    #[error("connection.bind: {0}")]
    Bind(crate::engine::AddressError),
    #[error(
        "connection.bind: a tcp-server needs the address to listen on, such as \"0.0.0.0:502\""
    )]
    ServerNeedsBind,
    #[error("connection: udp needs remote (where to send) or bind (where to listen)")]
    UdpNeedsAddress,
    #[error("connection: serial needs port, such as \"COM3\" or \"/dev/ttyUSB0\"")]
    SerialNeedsPort,
    /// A line setting a port cannot take (`baud = 0`).
    #[error("connection: {0}")]
    Line(crate::engine::Reason),
    #[error("frame: only a TCP connection is framed (a datagram is one message)")]
    FrameForUdp,
    #[error("frame: {0}")]
    Frame(crate::payload::framing::FrameSpecError),
    #[error("connection: tls_… options need tls = true")]
    TlsOptionsWithoutTls,
    #[error("connection: TLS is for TCP (tcp-client or tcp-server)")]
    TlsForTcpOnly,
    #[error("connection: {0}")]
    Tls(crate::engine::tls::TlsOptionError),
    #[error(
        "only a client sequence (tcp-client, udp with a remote, or serial) can become a simulator"
    )]
    NotAClientSequence,
    #[error("step {n}: {problem}")]
    Step { n: usize, problem: StepProblem },
    #[error("rule {n}: {error}")]
    Rule { n: usize, error: RuleError },
    /// The file's `script` does not parse.
    #[error("script: {0}")]
    Script(crate::script::ScriptError),
}

/// A setting named by its value in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    Encoding,
    LineEnding,
    Checksum,
    Decoder,
    Parity,
    StopBits,
    Flow,
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Encoding => "encoding",
            Self::LineEnding => "line_ending",
            Self::Checksum => "checksum",
            Self::Decoder => "decode",
            Self::Parity => "parity",
            Self::StopBits => "stop_bits",
            Self::Flow => "flow",
        })
    }
}

/// What is wrong with one step.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StepProblem {
    #[error("give exactly one of send, expect, wait_ms, script")]
    NotOneAction,
    #[error("{0}")]
    Script(crate::script::ScriptError),
    #[error("a script step cannot be turned around: write the simulator's side by hand")]
    ScriptStep,
    #[error("unknown {setting} '{name}'")]
    Unknown { setting: Setting, name: String },
    #[error("{0}")]
    Payload(crate::payload::PayloadError),
    #[error("{0}")]
    Pattern(crate::payload::matcher::MatcherError),
    #[error(
        "its bytes change per send (macros): write the request the simulator should expect by hand"
    )]
    ChangesPerSend,
    #[error("it expects any byte (??): write the answer by hand")]
    ExpectsAnyByte,
    #[error("it expects a regular expression: write the answer by hand")]
    ExpectsRegex,
    #[error("the device spoke first: answering rules only answer (run the recording as a sequence with `run --simulate` instead)")]
    SpokeFirst,
    #[error("a field test needs the connection's decode (decode = \"modbus-tcp\", json, kv, csv, modbus-rtu)")]
    NoDecoder,
    #[error("give field with exactly one of equals, between, in")]
    FieldTest,
}

fn line_ending(name: Option<&str>) -> Result<LineEnding, StepProblem> {
    let name = name.unwrap_or("none");
    LineEnding::from_name(name).ok_or_else(|| StepProblem::Unknown {
        setting: Setting::LineEnding,
        name: name.to_string(),
    })
}

fn checksum(name: Option<&str>) -> Result<Checksum, StepProblem> {
    let name = name.unwrap_or("none");
    Checksum::from_name(name).ok_or_else(|| StepProblem::Unknown {
        setting: Setting::Checksum,
        name: name.to_string(),
    })
}

impl Step {
    /// How this step's `send` becomes bytes.
    pub(crate) fn send_spec(&self) -> SendSpec<'_> {
        SendSpec {
            hex: self.hex,
            escapes: self.escapes,
            macros: self.macros,
            line_ending: self.line_ending.as_deref(),
            checksum: self.checksum.as_deref(),
        }
    }
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
    pub(crate) fn template(
        &self,
        data: &str,
        encoding: TextEncoding,
    ) -> Result<Template, StepProblem> {
        Template::for_input(data, &self.format(encoding)?).map_err(StepProblem::Payload)
    }

    fn format(&self, encoding: TextEncoding) -> Result<SendFormat, StepProblem> {
        Ok(SendFormat {
            mode: if self.hex {
                InputMode::Hex
            } else {
                InputMode::Text
            },
            encoding,
            escapes: self.escapes,
            line_ending: line_ending(self.line_ending)?,
            checksum: checksum(self.checksum)?,
            macros: self.macros,
        })
    }

    /// The template of a rule's reply, which may name what the rule's pattern captured.
    pub(crate) fn reply_template(
        &self,
        data: &str,
        encoding: TextEncoding,
    ) -> Result<Template, StepProblem> {
        Template::for_reply(data, &self.format(encoding)?).map_err(StepProblem::Payload)
    }
}

/// A step ready to run.
enum Action {
    Send(Template),
    /// What a frame must match, for how long it is waited for, and what its decoded meaning
    /// must be.
    Expect(Matcher, Duration, Option<crate::payload::decode::FieldTest>),
    Wait(Duration),
    /// Run this function of the run's script.
    Script(String),
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
        toml::from_str(text).map_err(|e| SequenceError::Syntax(e.to_string()))
    }

    /// Writes the sequence as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    fn encoding(&self) -> Result<TextEncoding, SequenceError> {
        let name = self.connection.encoding.as_deref().unwrap_or("utf-8");
        TextEncoding::from_name(name).ok_or_else(|| SequenceError::Unknown {
            setting: Setting::Encoding,
            name: name.to_string(),
        })
    }

    /// Checks every step, so a bad file fails before anything is sent; the steps ready to run,
    /// and the run's script when steps have one.
    fn prepare(&self) -> Result<(Vec<Prepared>, Option<script::StepScripts>), SequenceError> {
        let encoding = self.encoding()?;
        let c = &self.connection;
        match c.kind {
            ConnectionKind::TcpClient => {
                parse_host_port(&c.remote).map_err(SequenceError::Remote)?;
            }
            ConnectionKind::TcpServer if c.bind.is_none() => {
                return Err(SequenceError::ServerNeedsBind)
            }
            ConnectionKind::Udp if c.remote.is_empty() && c.bind.is_none() => {
                return Err(SequenceError::UdpNeedsAddress)
            }
            ConnectionKind::TcpServer | ConnectionKind::Udp if !c.remote.is_empty() => {
                parse_host_port(&c.remote).map_err(SequenceError::Remote)?;
            }
            ConnectionKind::TcpServer | ConnectionKind::Udp => {}
            ConnectionKind::Serial if c.port.as_deref().is_none_or(|p| p.trim().is_empty()) => {
                return Err(SequenceError::SerialNeedsPort)
            }
            ConnectionKind::Serial => {
                c.line_settings()?;
            }
        }
        if let Some(bind) = &c.bind {
            parse_bind(bind).map_err(SequenceError::Bind)?;
        }
        let default_timeout = Duration::from_millis(self.connection.timeout_ms.unwrap_or(2000));
        let scripts = self.step_scripts()?;
        let steps = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let n = i + 1;
                let err = |problem: StepProblem| SequenceError::Step { n, problem };
                let others = step.send.is_some()
                    || step.expect.is_some()
                    || step.wait_ms.is_some()
                    || step.field.is_some();
                let action = match (&step.send, &step.expect, step.wait_ms) {
                    _ if step.script.is_some() && others => {
                        return Err(err(StepProblem::NotOneAction))
                    }
                    _ if step.script.is_some() => Action::Script(script::function_of(n)),
                    (Some(data), None, None) => {
                        Action::Send(step.send_spec().template(data, encoding).map_err(err)?)
                    }
                    (None, expect, None) if expect.is_some() || step.field.is_some() => {
                        let test = rules::field_test(
                            self.connection.decode.as_deref(),
                            step.field.as_ref(),
                            step.equals.as_ref(),
                            step.between,
                            step.one_of.as_ref(),
                        )
                        .map_err(|e| {
                            err(match e {
                                RuleError::Decoder(Some(name)) => StepProblem::Unknown {
                                    setting: Setting::Decoder,
                                    name,
                                },
                                RuleError::Decoder(None) => StepProblem::NoDecoder,
                                _ => StepProblem::FieldTest,
                            })
                        })?
                        .map(|(_, test)| test);
                        // A field test alone: any frame, its meaning decides.
                        let (kind, pattern) = match expect {
                            Some(p) => (step.match_kind.unwrap_or_default(), p.as_str()),
                            None => (MatchKind::Regex, "(?s)^"),
                        };
                        let matcher = Matcher::new(kind, pattern, encoding)
                            .map_err(|e| err(StepProblem::Pattern(e)))?;
                        let timeout = step
                            .timeout_ms
                            .map(Duration::from_millis)
                            .unwrap_or(default_timeout);
                        Action::Expect(matcher, timeout, test)
                    }
                    (None, None, Some(ms)) => Action::Wait(Duration::from_millis(ms)),
                    _ => return Err(err(StepProblem::NotOneAction)),
                };
                let test = match &action {
                    Action::Expect(_, _, Some(test)) => Some(test.to_string()),
                    _ => None,
                };
                // A label is one line: a line break in the data is shown as `\n`.
                let shown = crate::payload::display::str_for_display;
                let label = step.name.clone().unwrap_or_else(|| {
                    let (send, expect) = (
                        step.send.as_deref().map(shown),
                        step.expect.as_deref().map(shown),
                    );
                    match (&send, &expect, step.wait_ms, &test) {
                        (Some(d), _, _, _) => format!("send {d}"),
                        (_, Some(p), _, Some(t)) => format!("expect {p}, {t}"),
                        (_, Some(p), _, None) => format!("expect {p}"),
                        (_, _, Some(ms), _) => format!("wait {ms} ms"),
                        (_, _, _, Some(t)) => format!("expect {t}"),
                        _ => match step.script.as_deref().and_then(|s| s.lines().next()) {
                            Some(first) => format!("script {}", first.trim()),
                            None => String::new(),
                        },
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
            .collect::<Result<_, _>>()?;
        Ok((steps, scripts))
    }
}

impl Sequence {
    /// The engine session that runs this sequence.
    fn session_config(&self) -> Result<SessionConfig, SequenceError> {
        let c = &self.connection;
        let bind = |default_v6: bool| -> Result<std::net::SocketAddr, SequenceError> {
            match &c.bind {
                Some(b) => parse_bind(b).map_err(SequenceError::Bind),
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
            ConnectionKind::Serial => SessionConfig::Serial {
                port: c
                    .port
                    .as_deref()
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .ok_or(SequenceError::SerialNeedsPort)?
                    .to_string(),
                settings: c.line_settings()?,
            },
        })
    }

    /// The built-in decoder the connection names, if any.
    pub fn decoder(&self) -> Result<Option<crate::payload::decode::DecodeSpec>, SequenceError> {
        match &self.connection.decode {
            None => Ok(None),
            Some(name) => crate::payload::decode::DecodeSpec::builtin(name)
                .map(Some)
                .ok_or_else(|| SequenceError::Unknown {
                    setting: Setting::Decoder,
                    name: name.clone(),
                }),
        }
    }

    /// The framer expectations see, if any.
    fn framing(&self) -> Result<Option<FrameSpec>, SequenceError> {
        match (&self.connection.frame, self.connection.kind) {
            (Some(_), ConnectionKind::Udp) => Err(SequenceError::FrameForUdp),
            (Some(spec), _) => {
                let spec: FrameSpec = spec.parse().map_err(SequenceError::Frame)?;
                Ok((spec != FrameSpec::None).then_some(spec))
            }
            // A datagram is one message whatever the decoder.
            (None, ConnectionKind::Udp) => Ok(None),
            // On a serial line, Modbus RTU frames end at a silence as long as the baud says.
            (None, ConnectionKind::Serial) => {
                let line = self.connection.line_settings()?;
                Ok(self
                    .decoder()?
                    .map(|d| line.frame_for(&d))
                    .filter(|f| *f != FrameSpec::None))
            }
            (None, _) => Ok(self
                .decoder()?
                .map(|d| d.default_frame())
                .filter(|f| *f != FrameSpec::None)),
        }
    }
}
