//! One session tab: endpoint settings, state, receive log, send panel, clients and counters.
//! It owns UI state only; sockets live in the engine and news arrives as events.
//!
//! This module is the tab's model — its state, the event reducer ([`SessionTab::on_event`]),
//! validation and the commands it builds — unit-tested without a window; [`view`] draws it.

mod actions;
mod decoding;
mod ports;
mod reducer;
mod scripting;
mod sending;
mod settings;
mod tools;
mod transport;
mod view;
mod ws;

pub use actions::TabAction;
pub use settings::{HistoryItem, QuickCommand, SessionKind, TabSettings};
pub use transport::{local_choices, EndpointErrors};

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
    /// The decoder, its protocol file and the Values panel.
    pub decoding: decoding::Decoding,
    /// An open port's modem lines as last read.
    pub modem: Option<crate::engine::serial::ModemLines>,
    /// A vanished port waited for (to reopen when it returns), and when it was last looked for.
    pub port_wait: Option<Instant>,
    /// A serial tab's DTR and RTS as last switched (raised when a port opens).
    pub lines: (bool, bool),
    /// The Script section's file and what the open session runs.
    pub scripting: scripting::Scripting,
    /// A serial tab's list of the system's ports.
    pub serial_ports: ports::PortList,
    /// The script text last checked, and what was wrong with it (checked when it changes).
    script_checked: Option<(String, Option<crate::script::ScriptError>)>,
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
            decoding: decoding::Decoding::default(),
            scripting: scripting::Scripting::default(),
            lines: (true, true),
            port_wait: None,
            modem: None,
            serial_ports: ports::PortList::default(),
            script_checked: None,
            probe: super::probe_panel::ProbePanel::default(),
        }
    }

    /// Is the session open or opening?
    pub fn is_active(&self) -> bool {
        !matches!(self.state, TabState::Closed(_))
    }
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
        // A reset as the system reports it: its words are kept a click away.
        let failure = NetError::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset))
            .at("127.0.0.1:9");
        tab.on_event(
            Event::Closed {
                session,
                error: Some(failure.clone()),
            },
            Lang::Zh,
        );
        assert_eq!(tab.state, TabState::Closed(Some(failure)));
        assert!(tab.clients.is_empty() && tab.send_to.is_none());
        assert!(tab.last_error.as_deref().is_some_and(|e| e
            .starts_with("127.0.0.1:9 断开了连接(重置)")
            && e.contains("\n系统信息: ")));
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
