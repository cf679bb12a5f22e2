//! What of a tab survives a restart: its kind, endpoint fields, send format, history, quick
//! commands, rules, framing and TLS.
use super::*;

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
    /// A serial port (COM3, /dev/ttyUSB0).
    Serial,
    /// Connects to a WebSocket server (ws://, wss://).
    WsClient,
    /// Accepts WebSocket clients.
    WsServer,
}

impl SessionKind {
    /// The kind's name in the user's language.
    pub fn label(self, t: &Texts) -> &'static str {
        match self {
            SessionKind::TcpClient => t.tcp_client,
            SessionKind::TcpServer => t.tcp_server,
            SessionKind::Udp => t.udp,
            SessionKind::Relay => t.relay,
            SessionKind::Serial => t.serial,
            SessionKind::WsClient => t.ws_client,
            SessionKind::WsServer => t.ws_server,
        }
    }

    /// The toolbar's "+ …" buttons, in order (a WebSocket tab switches client/server itself).
    pub const NEW: [SessionKind; 6] = [
        SessionKind::TcpClient,
        SessionKind::TcpServer,
        SessionKind::Udp,
        SessionKind::Relay,
        SessionKind::Serial,
        SessionKind::WsClient,
    ];

    /// The toolbar button's text.
    pub fn new_label(self, t: &Texts) -> &'static str {
        match self {
            SessionKind::WsClient | SessionKind::WsServer => t.websocket,
            kind => kind.label(t),
        }
    }

    /// Accepts clients (a client list, "listening" once open).
    pub fn listens(self) -> bool {
        matches!(
            self,
            SessionKind::TcpServer | SessionKind::Relay | SessionKind::WsServer
        )
    }

    /// A WebSocket tab: its unit is a message.
    pub fn websocket(self) -> bool {
        matches!(self, SessionKind::WsClient | SessionKind::WsServer)
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
    pub log_display: crate::ui::log_view::DisplayMode,
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
    /// The tab's script (Rhai, docs/scripts.md) and whether the session runs it.
    #[serde(default)]
    pub script: String,
    #[serde(default)]
    pub script_on: bool,
    /// A serial tab's port (`COM3`, `/dev/ttyUSB0`) and line settings.
    #[serde(default)]
    pub serial_port: String,
    #[serde(default)]
    pub serial: crate::engine::serial::LineSettings,
    /// Reopen the port by itself when it returns after vanishing (an adapter plugged back).
    #[serde(default)]
    pub serial_reopen: bool,
    /// The decoder: empty (none), a built-in one (`modbus-tcp`, `json`…) or `file`.
    #[serde(default)]
    pub decode: String,
    /// The protocol file, when `decode` is `file`.
    #[serde(default)]
    pub protocol_path: String,
    /// TLS of a TCP client or server.
    pub tls: crate::ui::tls_panel::TlsForm,
    /// A WebSocket tab's address, headers, subprotocols, path and options.
    #[serde(default)]
    pub ws: super::ws::WsForm,
    /// The side panel's tools (save, keep, capture, record, probe, send file) are unfolded.
    pub tools_open: bool,
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
                SessionKind::TcpServer | SessionKind::WsServer => "8080".into(),
                SessionKind::Relay => "9000".into(),
                SessionKind::Udp => "7788".into(),
                SessionKind::TcpClient | SessionKind::Serial | SessionKind::WsClient => {
                    String::new()
                }
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
            log_display: crate::ui::log_view::DisplayMode::Text,
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
            decode: String::new(),
            protocol_path: String::new(),
            script: String::new(),
            script_on: false,
            serial_port: String::new(),
            serial_reopen: false,
            serial: crate::engine::serial::LineSettings::default(),
            tls: crate::ui::tls_panel::TlsForm::default(),
            ws: super::ws::WsForm::default(),
            tools_open: false,
        }
    }
}
