//! One session tab: endpoint settings, state, receive log, send panel, clients and counters.
//! It owns UI state only; sockets live in the engine and news arrives as events.
//!
//! This module is the tab's model — its state, the event reducer ([`SessionTab::on_event`]),
//! validation and the commands it builds — unit-tested without a window; [`view`] draws it.

mod view;

use super::i18n::{self, Lang, Texts};
use super::log_view::{clock, exact_count, human_bytes, EntryKind, LogAction, LogEntry, LogView};
use super::path_field::{DialogKind, PathField};
use super::quick_commands::{QuickAction, QuickPanel};
use super::rules_panel::{RulesAction, RulesPanel};
use crate::engine::{
    parse_host, parse_host_port, parse_port, CloseReason, Command, ConnId, CountersSnapshot,
    Direction, Event, NetError, Repeat, SendTarget, SessionConfig, SessionId, SessionStats,
    SocketOptions, StreamOptions,
};
use crate::payload::framing::{FrameKind, FrameSpec};
use crate::payload::{build_payload, InputMode, SendFormat, Template};
use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

/// The three kinds of session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SessionKind {
    /// Connects to a server.
    TcpClient,
    /// Accepts many clients.
    TcpServer,
    /// Sends and receives datagrams.
    Udp,
    /// Forwards each client to a target and back, logging both.
    Relay,
}

impl SessionKind {
    /// The kind's name in the user's language.
    pub fn label(self, t: &Texts) -> &'static str {
        match self {
            SessionKind::TcpClient => t.tcp_client,
            SessionKind::TcpServer => t.tcp_server,
            SessionKind::Udp => t.udp,
            SessionKind::Relay => t.relay,
        }
    }
}

/// One item of the send history.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HistoryItem {
    /// What was typed.
    pub input: String,
    /// How it was turned into bytes.
    pub format: SendFormat,
}

/// What of a tab survives a restart.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TabSettings {
    pub kind: SessionKind,
    pub remote_host: String,
    pub remote_port: String,
    pub local_addr: String,
    pub local_port: String,
    pub udp_dest: String,
    pub echo: bool,
    pub broadcast: bool,
    pub multicast_group: String,
    pub format: SendFormat,
    pub repeat_ms: u64,
    pub history: Vec<HistoryItem>,
    pub input: String,
    pub log_encoding: crate::payload::TextEncoding,
    pub log_display: super::log_view::DisplayMode,
    /// Named messages sent with one click or F1–F12.
    pub quick: Vec<QuickCommand>,
    /// Path of the auto-reply rules file last loaded or saved.
    pub rules_path: String,
    /// The tab's auto-reply rules, as edited.
    pub rules: crate::sequence::RulesFile,
    /// The rules answer (given to the session when applied, and at each open).
    pub rules_on: bool,
    /// A relay tab relays UDP rather than TCP.
    pub relay_udp: bool,
    /// Automatic replies (rules, UDP echo) allowed per second (0: no limit).
    pub reply_limit_per_s: u32,
    /// What the tab keeps of what it receives, for "Save received data…" (MiB; 0: nothing).
    pub keep_mib: u64,
    /// Byte counts shown in full (`9,154,527,232 bytes`) rather than rounded.
    pub exact_figures: bool,
    /// The receive log has an encoding of its own; otherwise one encoding serves both ways.
    pub split_encodings: bool,
    /// How received TCP data is cut into frames (a spec: `line`, `length:4:2:be:6`…; empty or
    /// `none`: reads as they come).
    pub framing: String,
    /// Frame what is sent the same way (delimiter appended, length inserted, SLIP/COBS).
    pub frame_sends: bool,
    /// TLS of a TCP client or server.
    pub tls: super::tls_panel::TlsForm,
}

/// A named message (what to type, and how it becomes bytes).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QuickCommand {
    /// Button label.
    pub name: String,
    /// What was typed.
    pub input: String,
    /// How it becomes bytes.
    pub format: SendFormat,
}

impl Default for TabSettings {
    fn default() -> Self {
        Self::new(SessionKind::TcpClient)
    }
}

impl TabSettings {
    /// Settings a new tab of `kind` starts with.
    pub fn new(kind: SessionKind) -> Self {
        Self {
            kind,
            remote_host: "127.0.0.1".into(),
            remote_port: "8080".into(),
            local_addr: "0.0.0.0".into(),
            local_port: match kind {
                SessionKind::TcpServer => "8080".into(),
                SessionKind::Relay => "9000".into(),
                SessionKind::Udp => "7788".into(),
                SessionKind::TcpClient => String::new(),
            },
            udp_dest: "127.0.0.1:8080".into(),
            echo: false,
            broadcast: false,
            multicast_group: "239.255.0.1".into(),
            format: SendFormat {
                encoding: Lang::system_encoding(),
                ..SendFormat::default()
            },
            repeat_ms: 1000,
            history: Vec::new(),
            input: String::new(),
            log_encoding: Lang::system_encoding(),
            log_display: super::log_view::DisplayMode::Text,
            quick: Vec::new(),
            rules_path: String::new(),
            rules: crate::sequence::RulesFile::default(),
            rules_on: true,
            relay_udp: false,
            reply_limit_per_s: crate::engine::DEFAULT_REPLY_LIMIT_PER_S,
            keep_mib: crate::engine::DEFAULT_KEEP_BYTES >> 20,
            exact_figures: false,
            split_encodings: false,
            framing: String::new(),
            frame_sends: false,
            tls: super::tls_panel::TlsForm::default(),
        }
    }
}

/// Where the session stands.
#[derive(Clone, Debug, PartialEq)]
pub enum TabState {
    /// Not open; the error if the last attempt or the session failed.
    Closed(Option<NetError>),
    /// Open requested, no answer yet.
    Opening,
    /// Open at `local` (connected to `peer` for a client).
    Open {
        local: SocketAddr,
        peer: Option<SocketAddr>,
        listening: bool,
    },
}

/// A connected client of a server (or the client's own connection).
pub struct ClientRow {
    /// Remote address.
    pub peer: SocketAddr,
    /// When it connected.
    pub since: SystemTime,
    /// Its counters.
    pub counters: CountersSnapshot,
}

/// What the tab asks the window to do (things that need the window: files, dialogs).
pub enum TabRequest {
    /// Ask for a path to save the log to.
    SaveLog { csv: bool },
    /// Ask for a path to save received data to.
    SaveReceived,
    /// A recording ended: open it in the Sequences window.
    Recorded(Box<crate::sequence::Sequence>),
}

/// A session tab.
pub struct SessionTab {
    /// The engine's id of this session.
    pub id: SessionId,
    /// What the user set.
    pub settings: TabSettings,
    /// Where the session stands.
    pub state: TabState,
    /// What arrived and went.
    pub log: LogView,
    /// Connected clients (server) or the connection (client).
    pub clients: BTreeMap<ConnId, ClientRow>,
    /// Clients that connected and left since the tab opened.
    pub clients_left: u64,
    /// The client to send to; `None` sends to all.
    pub send_to: Option<ConnId>,
    /// UDP: answer whoever sent last instead of the destination field.
    pub reply_to_last: bool,
    /// UDP: who sent the last datagram received.
    pub last_sender: Option<SocketAddr>,
    /// Latest counters and rates.
    pub stats: SessionStats,
    /// (seconds since start, rx B/s, tx B/s) of the last minutes.
    pub rates: VecDeque<[f64; 3]>,
    started: Instant,
    /// A repeating send runs.
    pub repeating: bool,
    /// A save of received data in progress.
    pub saving: Option<Saving>,
    /// The engine keeps what this tab received (it has been open), so it can be saved.
    pub kept: bool,
    /// The last failure to show next to the state.
    pub last_error: Option<String>,
    /// A file being sent over the session.
    pub file_progress: Option<FileProgress>,
    /// The file to send over the session (typed, or picked).
    pub file: PathField,
    /// The quick commands panel's own state.
    pub quick: QuickPanel,
    /// The auto-reply rules editor's own state.
    pub rules: RulesPanel,
    /// The TLS settings' own state (a generated certificate).
    pub tls: super::tls_panel::TlsPanel,
    /// Recording what is sent and received, to replay as a sequence.
    pub recording: Option<crate::sequence::Recorder>,
    /// The connection a server's recording follows.
    pub recording_conn: Option<ConnId>,
    /// The file of the pcapng capture the engine is writing, and where the next one goes.
    pub capture: Option<PathBuf>,
    pub capture_file: PathField,
    /// This tab's Probe panel (its own socket to the tab's peer).
    pub probe: super::probe_panel::ProbePanel,
}

/// A save of received data in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Saving {
    /// Where.
    pub path: PathBuf,
    /// Appending what arrives until stopped.
    pub follow: bool,
    /// Bytes written so far.
    pub bytes: u64,
}

/// How far a file transfer has come.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FileProgress {
    /// Bytes done.
    pub done: u64,
    /// Bytes in all, when known.
    pub total: Option<u64>,
    /// Bytes per second so far.
    pub rate: f64,
}

impl SessionTab {
    /// A closed tab with settings.
    pub fn new(id: SessionId, settings: TabSettings) -> Self {
        let rules_path = settings.rules_path.clone();
        let mut log = LogView::default();
        log.encoding = settings.log_encoding;
        log.display = settings.log_display;
        Self {
            id,
            settings,
            state: TabState::Closed(None),
            log,
            clients: BTreeMap::new(),
            clients_left: 0,
            send_to: None,
            reply_to_last: false,
            last_sender: None,
            stats: SessionStats::default(),
            rates: VecDeque::new(),
            started: Instant::now(),
            repeating: false,
            saving: None,
            kept: false,
            last_error: None,
            file_progress: None,
            file: PathField::default(),
            quick: QuickPanel::default(),
            rules: RulesPanel::new(rules_path),
            tls: super::tls_panel::TlsPanel::default(),
            recording: None,
            recording_conn: None,
            capture: None,
            capture_file: PathField::default(),
            probe: super::probe_panel::ProbePanel::default(),
        }
    }

    /// The peer a Probe of this tab measures, and whether over UDP: a TCP client's server, a
    /// UDP tab's destination. Servers and relays have no one peer.
    pub fn probe_target(&self) -> Option<(String, bool)> {
        match (self.settings.kind, self.config()?) {
            (SessionKind::TcpClient, SessionConfig::TcpClient { remote, .. }) => {
                Some((remote, false))
            }
            (SessionKind::Udp, SessionConfig::Udp { default_dest, .. }) => {
                Some((default_dest?, true))
            }
            _ => None,
        }
    }

    /// The tab's title: kind and endpoint.
    pub fn title(&self, t: &Texts) -> String {
        let s = &self.settings;
        // Only a valid port is named: a tab is never called ":70000".
        let port = |p: &str| match parse_port(p) {
            Ok(port) => port.to_string(),
            Err(_) => "?".into(),
        };
        let end = match s.kind {
            SessionKind::TcpClient => format!("{}:{}", s.remote_host.trim(), port(&s.remote_port)),
            _ => format!(":{}", port(&s.local_port)),
        };
        format!("{} {end}", s.kind.label(t))
    }

    /// Is the session open or opening?
    pub fn is_active(&self) -> bool {
        !matches!(self.state, TabState::Closed(_))
    }

    /// Field errors of the endpoint settings, in the user's language; `None` when valid.
    pub fn endpoint_errors(&self, lang: Lang, local_ips: &[IpAddr]) -> EndpointErrors {
        let s = &self.settings;
        let t = lang.t();
        let mut e = EndpointErrors::default();
        if self.frames() {
            e.framing = self.frame_spec().err().map(|_| t.err_framing);
        }
        e.tls = self.tls_settings(t).err();
        match s.kind {
            SessionKind::TcpClient => {
                e.host = parse_host(&s.remote_host)
                    .err()
                    .map(|x| i18n::address_error(lang, x));
                e.port = match parse_port(&s.remote_port) {
                    Ok(0) | Err(_) => Some(t.err_port),
                    Ok(_) => None,
                };
            }
            SessionKind::TcpServer | SessionKind::Udp | SessionKind::Relay => {
                e.local = match s.local_addr.trim().parse::<IpAddr>() {
                    Ok(ip) if ip.is_unspecified() || local_ips.contains(&ip) => None,
                    _ => Some(t.err_local),
                };
                e.port = parse_port(&s.local_port).err().map(|_| t.err_port);
                // A relay needs its target; UDP's destination may be left empty.
                if s.kind == SessionKind::Relay
                    || (s.kind == SessionKind::Udp && !s.udp_dest.trim().is_empty())
                {
                    e.dest = parse_host_port(&s.udp_dest)
                        .err()
                        .map(|x| i18n::address_error(lang, x));
                }
            }
        }
        e
    }

    /// The engine configuration for the current settings (valid settings assumed).
    pub fn config(&self) -> Option<SessionConfig> {
        let s = &self.settings;
        let options = SocketOptions::default();
        Some(match s.kind {
            SessionKind::TcpClient => {
                let host = parse_host(&s.remote_host).ok()?;
                let host = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host
                };
                SessionConfig::TcpClient {
                    remote: format!("{host}:{}", parse_port(&s.remote_port).ok()?),
                    connect_timeout: Duration::from_secs(5),
                    options,
                }
            }
            SessionKind::TcpServer => SessionConfig::TcpServer {
                bind: SocketAddr::new(
                    s.local_addr.trim().parse().ok()?,
                    parse_port(&s.local_port).ok()?,
                ),
                echo: s.echo,
                options,
            },
            SessionKind::Relay => SessionConfig::Relay {
                listen: SocketAddr::new(
                    s.local_addr.trim().parse().ok()?,
                    parse_port(&s.local_port).ok()?,
                ),
                target: s.udp_dest.trim().to_string(),
                udp: s.relay_udp,
            },
            SessionKind::Udp => SessionConfig::Udp {
                bind: SocketAddr::new(
                    s.local_addr.trim().parse().ok()?,
                    parse_port(&s.local_port).ok()?,
                ),
                default_dest: (!s.udp_dest.trim().is_empty())
                    .then(|| s.udp_dest.trim().to_string()),
                broadcast: s.broadcast,
                echo: s.echo,
                options,
            },
        })
    }

    /// The framing typed in the tab (empty: none).
    pub fn frame_spec(&self) -> Result<FrameSpec, crate::payload::framing::FrameSpecError> {
        match self.settings.framing.trim() {
            "" => Ok(FrameSpec::None),
            spec => spec.parse(),
        }
    }

    /// Can this tab be recorded as a sequence? A client replays; a server (its first client
    /// after Record) or a UDP tab without a destination records the device's side: a simulator.
    pub fn recordable(&self) -> bool {
        self.settings.kind != SessionKind::Relay
    }

    /// Asks the engine for a pcapng capture of what is sent and received from now on (its
    /// open connections included); the log says how it ended, or why it could not start (the
    /// file exists, the folder is not writable).
    pub fn start_capture(&mut self, lang: Lang, commands: &mut Vec<Command>) {
        let path = self.capture_file.path_buf();
        // Servers and relays accept their connections; clients and UDP send first.
        let connects = matches!(
            self.settings.kind,
            SessionKind::TcpClient | SessionKind::Udp
        );
        commands.push(Command::Capture {
            session: self.id,
            request: crate::engine::capture::CaptureRequest {
                path: path.clone(),
                label: self.title(lang.t()),
                connects,
            },
        });
        self.capture = Some(path);
    }

    /// Asks the engine to end the capture; [`Event::CaptureEnded`] says how it went.
    pub fn stop_capture(&mut self, commands: &mut Vec<Command>) {
        if self.capture.is_some() {
            commands.push(Command::StopCapture { session: self.id });
        }
    }

    /// Says how a capture ended: written, with bytes missing each way, or failed.
    fn capture_ended(
        &mut self,
        lang: Lang,
        path: &std::path::Path,
        lost: crate::engine::capture::Lost,
        error: Option<&crate::engine::NetError>,
    ) {
        let t = lang.t();
        self.capture = None;
        let (kind, text) = match error {
            Some(e) => {
                let why = match e.kind {
                    crate::engine::NetErrorKind::FileExists => t.file_exists.to_string(),
                    _ => i18n::net_error(lang, e),
                };
                let text = format!("{} {}: {why}", t.capture_failed, path.display());
                (EntryKind::Error, text)
            }
            None if lost.is_none() => (
                EntryKind::Info,
                format!("{} {}", t.capture_saved, path.display()),
            ),
            None => (
                EntryKind::Error,
                format!(
                    "{} {} — {} {} {}, {} {}",
                    t.capture_saved,
                    path.display(),
                    t.capture_missing,
                    lost.rx_bytes,
                    t.capture_lost_rx,
                    lost.tx_bytes,
                    t.capture_lost_tx
                ),
            ),
        };
        self.log.info(kind, text);
    }

    /// Starts recording what is sent and received from now on.
    pub fn start_recording(&mut self) {
        let framed = self.frame_spec().is_ok_and(|s| s != FrameSpec::None);
        self.recording = Some(crate::sequence::Recorder::new(
            self.settings.format.encoding,
            framed,
        ));
        self.recording_conn = None;
    }

    /// Ends the recording: the sequence that replays it, talking to this tab's peer.
    pub fn stop_recording(&mut self) -> Option<crate::sequence::Sequence> {
        use crate::sequence::{Connection, ConnectionKind};
        let recorder = self.recording.take()?;
        let s = &self.settings;
        // Where it listens now (a port 0 became a real one), else where it was told to.
        let local = || match &self.state {
            TabState::Open { local, .. } => Some(local.to_string()),
            _ => Some(format!("{}:{}", s.local_addr.trim(), s.local_port.trim())),
        };
        let (kind, remote, bind) = match s.kind {
            SessionKind::TcpClient => (
                ConnectionKind::TcpClient,
                format!("{}:{}", s.remote_host.trim(), s.remote_port.trim()),
                None,
            ),
            SessionKind::TcpServer | SessionKind::Relay => {
                (ConnectionKind::TcpServer, String::new(), local())
            }
            // Without a destination a UDP tab answers whoever sends: it listens.
            SessionKind::Udp if s.udp_dest.trim().is_empty() => {
                (ConnectionKind::Udp, String::new(), local())
            }
            SessionKind::Udp => (ConnectionKind::Udp, s.udp_dest.trim().to_string(), None),
        };
        let frame = self
            .frame_spec()
            .ok()
            .filter(|f| *f != FrameSpec::None)
            .map(|f| f.to_string());
        let connection = Connection {
            kind,
            remote,
            bind,
            encoding: Some(s.format.encoding.label().to_string()),
            timeout_ms: None,
            frame,
            ..Connection::default()
        };
        let connection = s
            .tls
            .as_connection(connection, s.kind == SessionKind::TcpServer);
        Some(recorder.sequence(
            &format!("recorded {}", clock(SystemTime::now())),
            connection,
        ))
    }

    /// Are sends framed (a framer set and "frame what I send" ticked)?
    pub fn frames_sends(&self) -> bool {
        self.frames()
            && self.settings.frame_sends
            && self.frame_spec().is_ok_and(|s| s != FrameSpec::None)
    }

    /// The bytes a send of `bytes` puts on the wire when sends are framed.
    pub fn framed_preview(
        &self,
        bytes: &[u8],
    ) -> Result<Vec<u8>, crate::payload::framing::FrameEncodeError> {
        self.frame_spec().unwrap_or_default().encode(bytes)
    }

    /// Does this kind of tab frame what it receives (TCP client, server, TCP relay, and UDP
    /// within each datagram)?
    pub fn frames(&self) -> bool {
        match self.settings.kind {
            SessionKind::TcpClient | SessionKind::TcpServer | SessionKind::Udp => true,
            SessionKind::Relay => !self.settings.relay_udp,
        }
    }

    /// The TLS the session opens with (`None`: plain TCP), or why it cannot.
    pub fn tls_settings(
        &self,
        t: &Texts,
    ) -> Result<Option<crate::engine::tls::TlsSettings>, &'static str> {
        match self.settings.kind {
            SessionKind::TcpClient => self.tls.client(&self.settings.tls, t),
            SessionKind::TcpServer => self.tls.server(&self.settings.tls, t),
            SessionKind::Relay if !self.settings.relay_udp => self.tls.relay(&self.settings.tls, t),
            SessionKind::Udp | SessionKind::Relay => Ok(None),
        }
    }

    /// Opens the session with the current settings (valid settings assumed): what to keep,
    /// how to frame, the session, its reply limit. Nothing happens when the settings are not
    /// valid.
    pub fn open(&mut self, commands: &mut Vec<Command>) {
        let Some(config) = self.config() else {
            return;
        };
        self.state = TabState::Opening;
        self.last_error = None;
        commands.push(Command::KeepReceived {
            session: self.id,
            limit_bytes: self.settings.keep_mib.saturating_mul(1 << 20),
        });
        if self.frames() {
            commands.push(Command::SetFraming {
                session: self.id,
                spec: self.frame_spec().unwrap_or_default(),
                max_frame: crate::payload::framing::DEFAULT_MAX_FRAME,
                frame_sends: self.settings.frame_sends,
            });
        }
        if self.settings.kind != SessionKind::Udp {
            // Always said, so TLS turned off since the last open is off.
            let tls = self.tls_settings(Lang::En.t()).ok().flatten();
            commands.push(Command::SetTls {
                session: self.id,
                tls,
            });
        }
        // The rules before the open: they answer from the first byte (none: none).
        commands.push(Command::SetReplyLimit {
            session: self.id,
            per_s: self.settings.reply_limit_per_s,
        });
        let s = &self.settings;
        let answers = s.kind != SessionKind::Relay;
        let rules = self
            .rules
            .on_open(s.rules_on && answers, &s.rules.rules, s.format.encoding)
            .unwrap_or_default();
        commands.push(Command::SetRules {
            session: self.id,
            rules,
        });
        commands.push(Command::Open {
            session: self.id,
            config,
        });
    }

    /// Takes in one engine event of this session.
    pub fn on_event(&mut self, event: Event, lang: Lang) {
        let t = lang.t();
        match event {
            Event::Opened { local, peer, .. } => {
                self.kept |= self.settings.keep_mib > 0;
                self.clients_left = 0;
                self.state = TabState::Open {
                    local,
                    peer,
                    listening: matches!(
                        self.settings.kind,
                        SessionKind::TcpServer | SessionKind::Relay
                    ),
                };
                self.last_error = None;
                let text = match (self.settings.kind, peer) {
                    (_, Some(p)) => format!("{} {p} ({local})", t.connected_to),
                    (SessionKind::TcpServer, None) => format!("{} {local}", t.listening_on),
                    (SessionKind::Relay, None) => {
                        format!("{} {local} → {}", t.relaying, self.settings.udp_dest.trim())
                    }
                    _ => format!("{} {local}", t.bound_to),
                };
                self.log.info(EntryKind::Info, text);
            }
            Event::ConnOpened { conn, peer, .. } => {
                self.clients.insert(
                    conn,
                    ClientRow {
                        peer,
                        since: SystemTime::now(),
                        counters: CountersSnapshot::default(),
                    },
                );
                if matches!(
                    self.settings.kind,
                    SessionKind::TcpServer | SessionKind::Relay
                ) {
                    self.log
                        .info(EntryKind::Info, format!("{peer} {}", t.client_connected));
                }
            }
            Event::ConnClosed {
                conn, peer, reason, ..
            } => {
                if self.clients.remove(&conn).is_some() {
                    self.clients_left += 1;
                }
                if self.send_to == Some(conn) {
                    self.send_to = None;
                }
                let (kind, why) = match &reason {
                    CloseReason::PeerClosed => (EntryKind::Info, t.closed_by_peer.to_string()),
                    CloseReason::LocalClosed => (EntryKind::Info, t.closed_locally.to_string()),
                    CloseReason::Failed(e) => (EntryKind::Error, i18n::net_error(lang, e)),
                };
                self.log
                    .info(kind, format!("{peer} {}: {why}", t.client_left));
            }
            Event::Secured { peer, info, .. } => {
                let mut text = format!("{peer} TLS: {info}");
                if info.unverified {
                    text = format!("{text} — {}", t.tls_unverified);
                }
                let kind = if info.unverified {
                    EntryKind::Error
                } else {
                    EntryKind::Info
                };
                self.log.info(kind, text);
            }
            Event::CaptureEnded {
                path, lost, error, ..
            } => self.capture_ended(lang, &path, lost, error.as_ref()),
            Event::Data {
                chunks,
                omitted_bytes,
                conn,
                ..
            } => {
                // A server's recording follows its first client after Record was clicked.
                if self.settings.kind == SessionKind::TcpServer && self.recording.is_some() {
                    self.recording_conn = self.recording_conn.or(conn);
                }
                let recorded = self.recording_conn.is_none() || self.recording_conn == conn;
                self.log.not_shown += omitted_bytes;
                if let Some(last) = chunks.iter().rev().find(|c| c.dir == Direction::Rx) {
                    self.last_sender = Some(last.peer);
                }
                for c in chunks.iter() {
                    let kind = match c.dir {
                        Direction::Rx => EntryKind::Rx,
                        Direction::Tx => EntryKind::Tx,
                    };
                    for (bytes, frame) in c.pieces() {
                        if let Some(recorder) = self.recording.as_mut().filter(|_| recorded) {
                            match c.dir {
                                Direction::Tx => recorder.sent(bytes, c.time),
                                Direction::Rx => recorder.received(bytes, c.time),
                            }
                        }
                        let unusual = frame.and_then(|f| match f.kind {
                            FrameKind::Whole => None,
                            FrameKind::Oversize => Some(t.frame_oversize),
                            FrameKind::Incomplete => Some(t.frame_incomplete),
                            FrameKind::Malformed => Some(t.frame_malformed),
                        });
                        self.log.push(LogEntry {
                            time: c.time,
                            kind,
                            peer: Some(c.peer),
                            bytes: bytes.to_vec(),
                            frame,
                        });
                        // A frame that is not whole says why, in the user's words, right after.
                        if let Some(why) = unusual {
                            self.log.info(EntryKind::Error, why.to_string());
                        }
                    }
                }
            }
            Event::Stats { stats, .. } => {
                for (id, counters) in &stats.conns {
                    if let Some(row) = self.clients.get_mut(id) {
                        row.counters = *counters;
                    }
                }
                let now = self.started.elapsed().as_secs_f64();
                self.rates.push_back([now, stats.rx_rate, stats.tx_rate]);
                while self.rates.front().is_some_and(|r| now - r[0] > 60.0) {
                    self.rates.pop_front();
                }
                self.stats = stats;
            }
            Event::ListenStopped { .. } => {
                if let TabState::Open { listening, .. } = &mut self.state {
                    *listening = false;
                }
            }
            Event::RepeatDone { .. } => self.repeating = false,
            Event::SaveStarted { path, follow, .. } => {
                self.log.info(
                    EntryKind::Info,
                    format!("{} {}", t.saving_to, path.display()),
                );
                self.saving = Some(Saving {
                    path,
                    follow,
                    bytes: 0,
                });
            }
            Event::SaveProgress { bytes, .. } => {
                if let Some(saving) = &mut self.saving {
                    saving.bytes = bytes;
                }
            }
            Event::Saved {
                path,
                bytes,
                missing_bytes,
                error,
                ..
            } => {
                self.saving = None;
                let mut text = format!(
                    "{} {} {} → {}",
                    t.saved_bytes,
                    exact_count(bytes),
                    t.bytes_unit,
                    path.display()
                );
                if missing_bytes > 0 {
                    text += &format!(
                        "; {} {} {}",
                        exact_count(missing_bytes),
                        t.bytes_unit,
                        t.missing_note
                    );
                }
                match error {
                    Some(e) => {
                        let why = i18n::net_error(lang, &e);
                        self.log.info(EntryKind::Error, format!("{why} ({text})"));
                        self.last_error = Some(why);
                    }
                    None => self.log.info(EntryKind::Info, text),
                }
            }
            Event::Progress {
                done, total, rate, ..
            } => {
                self.file_progress = Some(FileProgress { done, total, rate });
            }
            Event::FileDone {
                path,
                bytes,
                sha256,
                ..
            } => {
                self.file_progress = None;
                let hash = sha256.map(|h| format!(" SHA-256 {h}")).unwrap_or_default();
                self.log.info(
                    EntryKind::Info,
                    format!(
                        "{} {} ({} {}){hash}",
                        t.file_done,
                        path.display(),
                        exact_count(bytes),
                        t.bytes_unit
                    ),
                );
            }
            Event::Error { error, .. } => {
                if matches!(
                    error.kind,
                    crate::engine::NetErrorKind::Cancelled | crate::engine::NetErrorKind::File
                ) {
                    self.file_progress = None;
                }
                let text = i18n::net_error(lang, &error);
                self.log.info(EntryKind::Error, text.clone());
                self.last_error = Some(text);
            }
            Event::Warning { error, .. } => {
                self.log
                    .info(EntryKind::Error, i18n::net_error(lang, &error));
            }
            // The window does not ask for send outcomes; a failed send is an error event too.
            Event::SendResult { .. } => {}
            Event::Closed { error, .. } => {
                if let Some(e) = &error {
                    let text = i18n::net_error(lang, e);
                    self.log.info(EntryKind::Error, text.clone());
                    self.last_error = Some(text);
                } else {
                    self.log.info(EntryKind::Info, t.session_closed.to_string());
                }
                self.clients.clear();
                self.send_to = None;
                self.repeating = false;
                self.file_progress = None;
                self.state = TabState::Closed(error);
            }
        }
    }

    /// Where a send from this tab goes.
    fn target(&self) -> SendTarget {
        match self.settings.kind {
            SessionKind::TcpClient | SessionKind::Relay => SendTarget::Default,
            SessionKind::TcpServer => self
                .send_to
                .map_or(SendTarget::AllClients, SendTarget::Conn),
            SessionKind::Udp if self.reply_to_last => SendTarget::LastSender,
            SessionKind::Udp => SendTarget::To(self.settings.udp_dest.trim().to_string()),
        }
    }

    /// The command that sends the current input: fixed bytes, or with macros a template the
    /// engine expands at each send.
    fn send_command(&self, bytes: &[u8], repeat: Option<Repeat>) -> Command {
        self.command_for(&self.settings.input, &self.settings.format, bytes, repeat)
    }

    /// The command that sends `input` written in `format` (already turned into `bytes`).
    fn command_for(
        &self,
        input: &str,
        format: &SendFormat,
        bytes: &[u8],
        repeat: Option<Repeat>,
    ) -> Command {
        let template = format
            .macros
            .then(|| Template::parse(input, format).ok())
            .flatten();
        match template {
            Some(template) => Command::SendTemplate {
                session: self.id,
                target: self.target(),
                template,
                repeat,
            },
            None => Command::Send {
                session: self.id,
                target: self.target(),
                bytes: bytes.to_vec(),
                repeat,
                ack: None,
            },
        }
    }

    /// Sends a quick command now; an invalid one (edited file) says why in the log.
    pub fn send_quick(&mut self, index: usize, lang: Lang, commands: &mut Vec<Command>) {
        let Some(q) = self.settings.quick.get(index).cloned() else {
            return;
        };
        match build_payload(&q.input, &q.format) {
            Ok(bytes) if self.is_active() => {
                commands.push(self.command_for(&q.input, &q.format, &bytes, None))
            }
            Ok(_) => {}
            Err(e) => self.log.info(
                EntryKind::Error,
                format!("{}: {}", q.name, i18n::payload_error(lang, &e)),
            ),
        }
    }

    /// Puts the current input at the end of the history (once).
    fn remember(&mut self) {
        let item = HistoryItem {
            input: self.settings.input.clone(),
            format: self.settings.format.clone(),
        };
        self.settings.history.retain(|h| *h != item);
        self.settings.history.push(item);
        let excess = self.settings.history.len().saturating_sub(50);
        self.settings.history.drain(..excess);
    }
}

/// Per-field reasons why the endpoint cannot be opened.
#[derive(Default, Debug)]
pub struct EndpointErrors {
    pub host: Option<&'static str>,
    pub port: Option<&'static str>,
    pub local: Option<&'static str>,
    pub dest: Option<&'static str>,
    pub framing: Option<&'static str>,
    pub tls: Option<&'static str>,
}

impl EndpointErrors {
    /// No field has an error.
    pub fn is_empty(&self) -> bool {
        self.host.is_none()
            && self.port.is_none()
            && self.local.is_none()
            && self.dest.is_none()
            && self.framing.is_none()
            && self.tls.is_none()
    }
}

/// Addresses offered for binding: any, loopback, then this machine's interfaces.
pub fn local_choices(local_ips: &[IpAddr]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = vec![
        IpAddr::from([0, 0, 0, 0]),
        IpAddr::from(std::net::Ipv6Addr::UNSPECIFIED),
        IpAddr::from([127, 0, 0, 1]),
    ];
    for ip in local_ips {
        if !out.contains(ip) {
            out.push(*ip);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! The tab's reactions, tested without a window: feed events, look at the state.
    use super::*;
    use crate::engine::{CloseReason, NetErrorKind};

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn server_tab() -> SessionTab {
        SessionTab::new(SessionId(7), TabSettings::new(SessionKind::TcpServer))
    }

    #[test]
    fn a_server_tab_follows_its_clients_and_ends_closed_with_the_reason() {
        let mut tab = server_tab();
        let session = tab.id;
        tab.on_event(
            Event::Opened {
                session,
                local: addr(8080),
                peer: None,
            },
            Lang::En,
        );
        assert!(matches!(
            tab.state,
            TabState::Open {
                listening: true,
                ..
            }
        ));
        for (conn, port) in [(ConnId(1), 5001), (ConnId(2), 5002)] {
            tab.on_event(
                Event::ConnOpened {
                    session,
                    conn,
                    peer: addr(port),
                    local: addr(8080),
                },
                Lang::En,
            );
        }
        assert_eq!(tab.clients.len(), 2);
        tab.send_to = Some(ConnId(1));
        assert_eq!(tab.target(), SendTarget::Conn(ConnId(1)));
        tab.on_event(
            Event::ConnClosed {
                session,
                conn: ConnId(1),
                peer: addr(5001),
                reason: CloseReason::PeerClosed,
            },
            Lang::En,
        );
        assert_eq!(tab.clients.keys().copied().collect::<Vec<_>>(), [ConnId(2)]);
        // The client the sends went to is gone: sends go to all again, never to a stale id.
        assert_eq!(tab.target(), SendTarget::AllClients);
        let failure = NetError::new(NetErrorKind::Reset, "gone").at("127.0.0.1:9");
        tab.on_event(
            Event::Closed {
                session,
                error: Some(failure.clone()),
            },
            Lang::Zh,
        );
        assert_eq!(tab.state, TabState::Closed(Some(failure)));
        assert!(tab.clients.is_empty() && tab.send_to.is_none());
        assert!(tab
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("127.0.0.1:9 断开了连接(重置)") && e.contains("gone")));
    }

    #[test]
    fn a_warning_is_logged_but_does_not_count_as_the_last_error() {
        let mut tab = server_tab();
        let error = NetError::new(NetErrorKind::LoopRisk, "rule 'ping' answers itself");
        tab.on_event(
            Event::Warning {
                session: tab.id,
                error,
            },
            Lang::En,
        );
        let log = tab.log.snapshot();
        let last = log.last().expect("a log line");
        assert_eq!(last.kind, EntryKind::Error);
        assert!(String::from_utf8_lossy(&last.bytes).contains("'ping'"));
        assert!(tab.last_error.is_none());
    }

    #[test]
    fn bad_endpoint_fields_are_named_and_nothing_can_be_opened() {
        let mut tab = server_tab();
        tab.settings.local_port = "70000".into();
        let errors = tab.endpoint_errors(Lang::En, &[]);
        assert!(errors.port.is_some() && !errors.is_empty());
        assert!(tab.config().is_none());
        tab.settings.local_port = "0".into();
        assert!(tab.endpoint_errors(Lang::En, &[]).is_empty());
        assert!(matches!(
            tab.config(),
            Some(SessionConfig::TcpServer { .. })
        ));
    }
}
