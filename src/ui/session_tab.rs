//! One session tab: endpoint settings, state, receive log, send panel, clients and counters.
//! It owns UI state only; sockets live in the engine and news arrives as events.

use super::i18n::{self, Lang, Texts};
use super::log_view::{clock, human_bytes, EntryKind, LogAction, LogEntry, LogView};
use super::path_field::{DialogKind, PathField};
use super::widgets::{
    checked_field, checksum_combo, encoding_combo, line_ending_combo, progress_bar, ERROR_COLOR,
    OK_COLOR, RX_COLOR, TX_COLOR, WARN_COLOR,
};
use crate::engine::{
    parse_host, parse_host_port, parse_port, CloseReason, Command, ConnId, CountersSnapshot,
    Direction, Event, NetError, Repeat, SendTarget, SessionConfig, SessionId, SessionStats,
    SocketOptions, StreamOptions,
};
use crate::payload::{build_payload, InputMode, SendFormat, Template};
use eframe::egui::{self, Color32, RichText};
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
    /// Path of the auto-reply rules file last loaded.
    pub rules_path: String,
    /// A relay tab relays UDP rather than TCP.
    pub relay_udp: bool,
    /// Automatic replies (rules, UDP echo) allowed per second (0: no limit).
    pub reply_limit_per_s: u32,
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
            format: SendFormat::default(),
            repeat_ms: 1000,
            history: Vec::new(),
            input: String::new(),
            log_encoding: crate::payload::TextEncoding::Utf8,
            log_display: super::log_view::DisplayMode::Text,
            quick: Vec::new(),
            rules_path: String::new(),
            relay_udp: false,
            reply_limit_per_s: crate::engine::DEFAULT_REPLY_LIMIT_PER_S,
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
    Capture,
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
    /// The client to send to; `None` sends to all.
    pub send_to: Option<ConnId>,
    /// UDP: answer whoever sent last instead of the destination field.
    pub reply_to_last: bool,
    /// Latest counters and rates.
    pub stats: SessionStats,
    /// (seconds since start, rx B/s, tx B/s) of the last minutes.
    pub rates: VecDeque<[f64; 3]>,
    started: Instant,
    /// A repeating send runs.
    pub repeating: bool,
    /// Capture to file in progress.
    pub capture: Option<PathBuf>,
    /// The last failure to show next to the state.
    pub last_error: Option<String>,
    /// A file being sent over the session.
    pub file_progress: Option<FileProgress>,
    /// The file to send over the session (typed, or picked).
    pub file: PathField,
    /// File for quick-command import/export and rules.
    pub workflow_file: PathField,
    /// Result of the last import, export or rules load (text, failed).
    pub workflow_note: Option<(String, bool)>,
    /// Names of the loaded auto-reply rules, in order.
    pub rule_names: Vec<String>,
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
            send_to: None,
            reply_to_last: false,
            stats: SessionStats::default(),
            rates: VecDeque::new(),
            started: Instant::now(),
            repeating: false,
            capture: None,
            last_error: None,
            file_progress: None,
            file: PathField::default(),
            // The rules file last loaded is where the next import or load starts.
            workflow_file: PathField::new(rules_path),
            workflow_note: None,
            rule_names: Vec::new(),
        }
    }

    /// The tab's title: kind and endpoint.
    pub fn title(&self, t: &Texts) -> String {
        let s = &self.settings;
        let end = match s.kind {
            SessionKind::TcpClient => format!("{}:{}", s.remote_host, s.remote_port),
            _ => format!(":{}", s.local_port),
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

    /// Takes in one engine event of this session.
    pub fn on_event(&mut self, event: Event, lang: Lang) {
        let t = lang.t();
        match event {
            Event::Opened { local, peer, .. } => {
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
                self.clients.remove(&conn);
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
            Event::Data {
                dir,
                chunks,
                omitted_bytes,
                ..
            } => {
                self.log.not_shown += omitted_bytes;
                let kind = match dir {
                    Direction::Rx => EntryKind::Rx,
                    Direction::Tx => EntryKind::Tx,
                };
                for c in chunks {
                    self.log.push(LogEntry {
                        time: c.time,
                        kind,
                        peer: Some(c.peer),
                        bytes: c.bytes,
                    });
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
            Event::CaptureStarted { path, .. } => {
                self.log.info(
                    EntryKind::Info,
                    format!("{} {}", t.saving_to, path.display()),
                );
                self.capture = Some(path);
            }
            Event::CaptureStopped { path, bytes, .. } => {
                self.log.info(
                    EntryKind::Info,
                    format!("{} {} → {}", t.saved, human_bytes(bytes), path.display()),
                );
                self.capture = None;
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
                        "{} {} ({}){hash}",
                        t.file_done,
                        path.display(),
                        human_bytes(bytes)
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
                self.capture = None;
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

    /// Draws the tab; engine commands go to `commands`.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        lang: Lang,
        local_ips: &[IpAddr],
        commands: &mut Vec<Command>,
    ) -> Option<TabRequest> {
        let mut request = None;
        self.endpoint_ui(ui, lang, local_ips, commands);
        ui.separator();
        egui::Panel::right(("side", self.id.0))
            .default_size(330.0)
            .resizable(true)
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("side_scroll")
                    .show(ui, |ui| {
                        self.side_ui(ui, lang, commands, &mut request);
                    });
            });
        // A relay forwards what its clients and target say; it has nothing of its own to send.
        if self.settings.kind != SessionKind::Relay {
            egui::Panel::bottom(("send", self.id.0))
                .resizable(true)
                .default_size(170.0)
                .show(ui, |ui| {
                    self.send_ui(ui, lang, commands);
                });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(LogAction::Save { csv }) = self.log.ui(ui, lang) {
                request = Some(TabRequest::SaveLog { csv });
            }
        });
        self.settings.log_encoding = self.log.encoding;
        self.settings.log_display = self.log.display;
        request
    }

    fn endpoint_ui(
        &mut self,
        ui: &mut egui::Ui,
        lang: Lang,
        local_ips: &[IpAddr],
        commands: &mut Vec<Command>,
    ) {
        let t = lang.t();
        let errors = self.endpoint_errors(lang, local_ips);
        let active = self.is_active();
        ui.horizontal(|ui| {
            ui.add_enabled_ui(!active, |ui| match self.settings.kind {
                SessionKind::TcpClient => {
                    checked_field(
                        ui,
                        t.remote_host,
                        &mut self.settings.remote_host,
                        180.0,
                        errors.host,
                    );
                    checked_field(
                        ui,
                        t.remote_port,
                        &mut self.settings.remote_port,
                        70.0,
                        errors.port,
                    );
                }
                SessionKind::TcpServer | SessionKind::Udp | SessionKind::Relay => {
                    ui.vertical(|ui| {
                        let label = ui.label(t.local_addr);
                        ui.horizontal(|ui| {
                            let mut edit =
                                egui::TextEdit::singleline(&mut self.settings.local_addr)
                                    .desired_width(150.0);
                            if errors.local.is_some() {
                                edit = edit.text_color(ERROR_COLOR);
                            }
                            ui.add(edit).labelled_by(label.id);
                            egui::ComboBox::from_id_salt(("local_choices", self.id.0))
                                .selected_text("")
                                .width(16.0)
                                .show_ui(ui, |ui| {
                                    for ip in local_choices(local_ips) {
                                        let text = ip.to_string();
                                        if ui
                                            .selectable_label(
                                                self.settings.local_addr == text,
                                                &text,
                                            )
                                            .clicked()
                                        {
                                            self.settings.local_addr = text;
                                        }
                                    }
                                })
                                .response
                                .on_hover_text(t.local_addr)
                                .accessible_name(format!("{} ⏷", t.local_addr));
                        });
                        if let Some(e) = errors.local {
                            ui.colored_label(ERROR_COLOR, e);
                        }
                    });
                    checked_field(
                        ui,
                        t.local_port,
                        &mut self.settings.local_port,
                        70.0,
                        errors.port,
                    );
                    ui.vertical(|ui| {
                        ui.add_space(ui.spacing().interact_size.y);
                        if self.settings.kind == SessionKind::Relay {
                            ui.checkbox(&mut self.settings.relay_udp, t.udp);
                        } else {
                            ui.checkbox(&mut self.settings.echo, t.echo);
                        }
                    });
                }
            });
            if self.settings.kind == SessionKind::Relay {
                checked_field(
                    ui,
                    t.relay_target,
                    &mut self.settings.udp_dest,
                    180.0,
                    errors.dest,
                );
            }
            if self.settings.kind == SessionKind::Udp {
                checked_field(
                    ui,
                    t.destination,
                    &mut self.settings.udp_dest,
                    180.0,
                    errors.dest,
                );
            }
            ui.vertical(|ui| {
                ui.add_space(ui.spacing().interact_size.y);
                ui.horizontal(|ui| {
                    let (open_text, close_text) = match self.settings.kind {
                        SessionKind::TcpClient => (t.connect, t.disconnect),
                        SessionKind::TcpServer => (t.listen, t.stop),
                        SessionKind::Udp => (t.open_udp, t.close_udp),
                        SessionKind::Relay => (t.start_relay, t.stop),
                    };
                    if active {
                        if ui.button(RichText::new(close_text).strong()).clicked() {
                            commands.push(Command::Close { session: self.id });
                        }
                    } else {
                        let ok = errors.is_empty();
                        if ui
                            .add_enabled(ok, egui::Button::new(RichText::new(open_text).strong()))
                            .clicked()
                        {
                            if let Some(config) = self.config() {
                                self.state = TabState::Opening;
                                self.last_error = None;
                                commands.push(Command::Open {
                                    session: self.id,
                                    config,
                                });
                                commands.push(Command::SetReplyLimit {
                                    session: self.id,
                                    per_s: self.settings.reply_limit_per_s,
                                });
                            }
                        }
                    }
                    let (state, color) = self.state_text(t);
                    ui.label(RichText::new(state).color(color).strong());
                });
            });
        });
        if let Some(e) = &self.last_error {
            ui.colored_label(ERROR_COLOR, e);
        }
        if self.settings.kind == SessionKind::Udp {
            ui.horizontal(|ui| {
                if ui
                    .checkbox(&mut self.settings.broadcast, t.broadcast)
                    .changed()
                    && active
                {
                    commands.push(Command::SetBroadcast {
                        session: self.id,
                        on: self.settings.broadcast,
                    });
                }
                ui.checkbox(&mut self.reply_to_last, t.reply_to_last);
                ui.separator();
                let group_label = ui.label(t.multicast_group);
                let group = self
                    .settings
                    .multicast_group
                    .trim()
                    .parse::<IpAddr>()
                    .ok()
                    .filter(|g| g.is_multicast());
                let mut edit = egui::TextEdit::singleline(&mut self.settings.multicast_group)
                    .desired_width(140.0);
                if group.is_none() {
                    edit = edit.text_color(ERROR_COLOR);
                }
                ui.add(edit)
                    .labelled_by(group_label.id)
                    .on_hover_text(t.err_group);
                let can = active && group.is_some();
                if ui.add_enabled(can, egui::Button::new(t.join)).clicked() {
                    if let Some(group) = group {
                        commands.push(Command::JoinMulticast {
                            session: self.id,
                            group,
                            interface: 0,
                        });
                    }
                }
                if ui.add_enabled(can, egui::Button::new(t.leave)).clicked() {
                    if let Some(group) = group {
                        commands.push(Command::LeaveMulticast {
                            session: self.id,
                            group,
                            interface: 0,
                        });
                    }
                }
            });
        }
    }

    fn state_text(&self, t: &Texts) -> (String, Color32) {
        match &self.state {
            TabState::Closed(_) => (t.state_closed.into(), Color32::GRAY),
            TabState::Opening => (t.state_opening.into(), WARN_COLOR),
            TabState::Open {
                local,
                peer,
                listening,
            } => {
                let green = OK_COLOR;
                match (self.settings.kind, peer) {
                    (_, Some(p)) => (format!("{} {p}", t.state_connected), green),
                    (SessionKind::TcpServer, _) if *listening => {
                        (format!("{} {local}", t.state_listening), green)
                    }
                    (SessionKind::TcpServer, _) => (t.state_not_listening.into(), WARN_COLOR),
                    (SessionKind::Relay, _) => (
                        format!("{} {local} → {}", t.relaying, self.settings.udp_dest.trim()),
                        green,
                    ),
                    _ => (format!("{} {local}", t.state_bound), green),
                }
            }
        }
    }

    fn side_ui(
        &mut self,
        ui: &mut egui::Ui,
        lang: Lang,
        commands: &mut Vec<Command>,
        request: &mut Option<TabRequest>,
    ) {
        let t = lang.t();
        let s = self.stats.total;
        egui::Grid::new(("counters", self.id.0))
            .num_columns(3)
            .show(ui, |ui| {
                ui.strong(t.rx);
                ui.label(human_bytes(s.rx_bytes));
                ui.label(format!("{} {}", s.rx_packets, t.packets));
                ui.end_row();
                ui.strong(t.tx);
                ui.label(human_bytes(s.tx_bytes));
                ui.label(format!("{} {}", s.tx_packets, t.packets));
                ui.end_row();
                ui.strong(t.rate);
                ui.label(format!("↓ {}/s", human_bytes(self.stats.rx_rate as u64)));
                ui.label(format!("↑ {}/s", human_bytes(self.stats.tx_rate as u64)));
                ui.end_row();
            });
        ui.horizontal(|ui| {
            if ui.button(t.reset).clicked() {
                commands.push(Command::ResetStats { session: self.id });
                self.stats = SessionStats::default();
                self.rates.clear();
            }
            match &self.capture {
                Some(_) => {
                    if ui.button(t.stop_saving).clicked() {
                        commands.push(Command::Capture {
                            session: self.id,
                            path: None,
                        });
                    }
                }
                None => {
                    if ui
                        .add_enabled(self.is_active(), egui::Button::new(t.save_received))
                        .clicked()
                    {
                        *request = Some(TabRequest::Capture);
                    }
                }
            }
        });
        self.file_ui(ui, t, commands);
        ui.separator();
        super::quick_commands::ui(self, ui, lang, commands);
        let rx: Vec<[f64; 2]> = self.rates.iter().map(|r| [r[0], r[1]]).collect();
        let tx: Vec<[f64; 2]> = self.rates.iter().map(|r| [r[0], r[2]]).collect();
        egui_plot::Plot::new(("rate_plot", self.id.0))
            .height(110.0)
            .allow_zoom(false)
            .allow_drag(false)
            .allow_scroll(false)
            .include_y(0.0)
            .show_axes([false, true])
            .legend(egui_plot::Legend::default())
            .show(ui, |plot| {
                plot.line(egui_plot::Line::new(t.rx, rx).color(RX_COLOR));
                plot.line(egui_plot::Line::new(t.tx, tx).color(TX_COLOR));
            });
        if matches!(
            self.settings.kind,
            SessionKind::TcpServer | SessionKind::Relay
        ) {
            ui.separator();
            self.clients_ui(ui, lang, commands);
        }
    }

    /// Sends a file's raw bytes over the session, with progress and cancel.
    fn file_ui(&mut self, ui: &mut egui::Ui, t: &Texts, commands: &mut Vec<Command>) {
        self.file.ui(ui, t.file_path, DialogKind::OpenFile, 200.0);
        ui.horizontal(|ui| match self.file_progress {
            Some(p) => {
                if ui.button(t.cancel_file).clicked() {
                    commands.push(Command::CancelFile { session: self.id });
                    self.file_progress = None;
                }
                progress_bar(ui, p.done, p.total, p.rate, t);
            }
            None => {
                let ready = self.is_active() && !self.file.path.trim().is_empty();
                if ui
                    .add_enabled(ready, egui::Button::new(t.send_file))
                    .clicked()
                {
                    commands.push(Command::SendFile {
                        session: self.id,
                        target: self.target(),
                        path: self.file.path_buf(),
                        options: StreamOptions::default(),
                    });
                    self.file_progress = Some(FileProgress {
                        done: 0,
                        total: None,
                        rate: 0.0,
                    });
                }
            }
        });
    }

    fn clients_ui(&mut self, ui: &mut egui::Ui, lang: Lang, commands: &mut Vec<Command>) {
        let t = lang.t();
        ui.strong(format!("{} ({})", t.clients, self.clients.len()));
        if let TabState::Open {
            listening: true, ..
        } = self.state
        {
            if ui.small_button(t.stop_accepting).clicked() {
                commands.push(Command::StopListening {
                    session: self.id,
                    keep_clients: true,
                });
            }
        }
        if self.clients.is_empty() {
            ui.label(t.no_clients);
            return;
        }
        egui::ScrollArea::vertical()
            .id_salt("clients")
            .show(ui, |ui| {
                egui::Grid::new(("clients_grid", self.id.0))
                    .striped(true)
                    .num_columns(5)
                    .show(ui, |ui| {
                        ui.strong(t.address);
                        ui.strong(t.since);
                        ui.strong(t.bytes_in);
                        ui.strong(t.bytes_out);
                        ui.label("");
                        ui.end_row();
                        for (id, row) in &self.clients {
                            let selected = self.send_to == Some(*id);
                            if ui
                                .selectable_label(selected, row.peer.to_string())
                                .clicked()
                            {
                                self.send_to = if selected { None } else { Some(*id) };
                            }
                            ui.label(clock(row.since));
                            ui.label(human_bytes(row.counters.rx_bytes));
                            ui.label(human_bytes(row.counters.tx_bytes));
                            if ui.small_button("×").on_hover_text(t.disconnect).clicked() {
                                commands.push(Command::Disconnect {
                                    session: self.id,
                                    conn: *id,
                                });
                            }
                            ui.end_row();
                        }
                    });
            });
    }

    fn send_ui(&mut self, ui: &mut egui::Ui, lang: Lang, commands: &mut Vec<Command>) {
        let t = lang.t();
        let f = &mut self.settings.format;
        ui.horizontal_wrapped(|ui| {
            ui.radio_value(&mut f.mode, InputMode::Text, t.text);
            ui.radio_value(&mut f.mode, InputMode::Hex, t.hex);
            ui.label(t.encoding);
            encoding_combo(
                ui,
                &format!("send_enc{}", self.id.0),
                t.encoding,
                &mut f.encoding,
            );
            ui.checkbox(&mut f.escapes, t.escapes);
            ui.checkbox(&mut f.macros, t.macros)
                .on_hover_text(t.macros_hint);
            ui.label(t.line_ending);
            line_ending_combo(
                ui,
                &format!("send_le{}", self.id.0),
                t.line_ending,
                t.none,
                &mut f.line_ending,
            );
            ui.label(t.checksum);
            checksum_combo(
                ui,
                &format!("send_ck{}", self.id.0),
                t.checksum,
                t.none,
                &mut f.checksum,
            );
        });
        if self.settings.kind == SessionKind::TcpServer {
            ui.horizontal(|ui| {
                ui.label(t.send_to);
                let selected = match self.send_to.and_then(|c| self.clients.get(&c)) {
                    Some(row) => row.peer.to_string(),
                    None => t.all_clients.to_string(),
                };
                egui::ComboBox::from_id_salt(("send_to", self.id.0))
                    .selected_text(selected)
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut self.send_to, None, t.all_clients);
                        for (id, row) in &self.clients {
                            ui.selectable_value(&mut self.send_to, Some(*id), row.peer.to_string());
                        }
                    })
                    .response
                    .accessible_name(t.send_to);
            });
        }
        let payload = build_payload(&self.settings.input, &self.settings.format);
        let input_id = ui.make_persistent_id(("send_input", self.id.0));
        let edit = egui::TextEdit::multiline(&mut self.settings.input)
            .id(input_id)
            .desired_rows(3)
            .desired_width(f32::INFINITY)
            .font(egui::TextStyle::Monospace)
            .hint_text(t.send_hint);
        // Enter sends; Shift+Enter is a new line. Take the key before the editor sees it.
        let enter_pressed = ui.memory(|m| m.has_focus(input_id))
            && ui.input_mut(|i| {
                i.consume_key(egui::Modifiers::NONE, egui::Key::Enter)
                    || i.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter)
            });
        let send_label = ui.label(t.send_data);
        ui.add(edit).labelled_by(send_label.id);
        let can_send = self.is_active() && payload.is_ok();
        ui.horizontal(|ui| {
            let clicked = ui
                .add_enabled(can_send, egui::Button::new(RichText::new(t.send).strong()))
                .clicked();
            if (clicked || (enter_pressed && can_send)) && !self.repeating {
                if let Ok(bytes) = &payload {
                    commands.push(self.send_command(bytes, None));
                    self.remember();
                }
            }
            match &payload {
                Ok(bytes) => {
                    ui.label(format!("{} {}", bytes.len(), t.bytes_to_send));
                }
                Err(e) => {
                    ui.colored_label(ERROR_COLOR, i18n::payload_error(lang, e));
                }
            }
            ui.separator();
            let repeat_label = ui.label(t.repeat_every);
            ui.add(egui::DragValue::new(&mut self.settings.repeat_ms).range(1..=3_600_000))
                .labelled_by(repeat_label.id);
            ui.label(t.ms);
            if self.repeating {
                if ui.button(t.stop_repeat).clicked() {
                    commands.push(Command::StopRepeat { session: self.id });
                    self.repeating = false;
                }
                ui.label(format!(
                    "{} {}",
                    t.sent_times,
                    self.stats.repeat_sent.unwrap_or(0)
                ));
            } else if ui
                .add_enabled(can_send, egui::Button::new(t.start_repeat))
                .clicked()
            {
                if let Ok(bytes) = &payload {
                    let repeat = Repeat {
                        interval: Duration::from_millis(self.settings.repeat_ms.max(1)),
                        count: None,
                    };
                    commands.push(self.send_command(bytes, Some(repeat)));
                    self.repeating = true;
                    self.remember();
                }
            }
            ui.separator();
            egui::ComboBox::from_id_salt(("history", self.id.0))
                .selected_text(t.history)
                .width(90.0)
                .show_ui(ui, |ui| {
                    for item in self.settings.history.clone().iter().rev() {
                        let shown: String = item.input.chars().take(60).collect();
                        if ui.selectable_label(false, shown).clicked() {
                            self.settings.input = item.input.clone();
                            self.settings.format = item.format.clone();
                        }
                    }
                })
                .response
                .accessible_name(t.history);
        });
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
}

impl EndpointErrors {
    /// No field has an error.
    pub fn is_empty(&self) -> bool {
        self.host.is_none() && self.port.is_none() && self.local.is_none() && self.dest.is_none()
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
