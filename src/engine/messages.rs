//! What the front end and the engine say to each other: [`Command`]s in, [`Event`]s out, and
//! the types they carry (sessions, connections, chunks of a record, what a session is).

use super::{capture, tls, FileReceiveConfig, FileSendConfig, NetError, ReplyRule, SaveRequest};
use super::{CountersSnapshot, SocketOptions, StreamOptions};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Identifies a session (a tab in the window); chosen by the front end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

/// Identifies one TCP connection within the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Which way data went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Received from the peer.
    Rx,
    /// Sent to the peer.
    Tx,
}

/// What kind of session to open, with its endpoint settings.
#[derive(Clone, Debug)]
pub enum SessionConfig {
    /// Connect to `remote` (`host:port`, `[v6]:port`).
    TcpClient {
        remote: String,
        connect_timeout: Duration,
        options: SocketOptions,
    },
    /// Listen on `bind` and accept many clients.
    TcpServer {
        bind: SocketAddr,
        /// Send back whatever each client sends.
        echo: bool,
        options: SocketOptions,
    },
    /// Bind a UDP socket (port 0 for an ephemeral one).
    Udp {
        bind: SocketAddr,
        /// Where sends go by default (`host:port`).
        default_dest: Option<String>,
        broadcast: bool,
        /// Send back each datagram to its sender.
        echo: bool,
        options: SocketOptions,
    },
    /// Send one file to a receiver (raw TCP or UDP, or verified), then close.
    SendFile(FileSendConfig),
    /// Receive files (raw into one file, or verified into a folder).
    ReceiveFile(FileReceiveConfig),
    /// Relay: listen on `listen`, forward each client to `target` and back, logging both.
    Relay {
        listen: SocketAddr,
        target: String,
        udp: bool,
    },
    /// Bridge: listen for TCP clients and connect each to a serial port (one at a time: the
    /// port's lock refuses a second).
    Bridge {
        listen: SocketAddr,
        port: String,
        settings: super::serial::LineSettings,
        /// Speak RFC 2217 (Telnet Com Port Control): the client sets the line remotely.
        rfc2217: bool,
        /// Clients sharing the port at once (1: one at a time, the port opened per client).
        max_clients: usize,
    },
    /// Open a serial port (`COM3`, `/dev/ttyUSB0`) with these line settings.
    Serial {
        port: String,
        settings: super::serial::LineSettings,
    },
    /// A WebSocket client (`ws://`, `wss://`): one connection whose unit is a message.
    WsClient(super::ws::WsClientConfig),
    /// A WebSocket server: many clients, each upgraded from HTTP.
    WsServer(super::ws::WsServerConfig),
}

/// Where a send goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendTarget {
    /// The session's own peer: the client's connection, the UDP default destination, or
    /// every client of a server.
    Default,
    /// One connection of a server.
    Conn(ConnId),
    /// Every client of a server.
    AllClients,
    /// A UDP destination, `host:port`.
    To(String),
    /// The sender of the last datagram a UDP session received.
    LastSender,
}

/// Repeat a send every `interval` until stopped or `count` sends are done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repeat {
    /// Time between sends; zero sends back to back, each waiting for room in the connection's
    /// queue (so a slow peer slows the repeat instead of losing sends).
    pub interval: Duration,
    /// Stop after this many sends; `None` runs until stopped.
    pub count: Option<u64>,
}

/// A request to the engine.
#[derive(Clone, Debug)]
pub enum Command {
    /// Open a session.
    Open {
        session: SessionId,
        config: SessionConfig,
    },
    /// Close a session and all its connections.
    Close { session: SessionId },
    /// Send bytes (once, or repeatedly). With `ack`, a single send is answered by an
    /// [`Event::SendResult`] with that tag once the bytes were written (or were not).
    Send {
        session: SessionId,
        target: SendTarget,
        bytes: Vec<u8>,
        repeat: Option<Repeat>,
        ack: Option<u64>,
    },
    /// Send a message whose `{{…}}` macros expand at each send (once, or repeatedly).
    SendTemplate {
        session: SessionId,
        target: SendTarget,
        template: crate::payload::Template,
        repeat: Option<Repeat>,
    },
    /// Stop a repeating send.
    StopRepeat { session: SessionId },
    /// Stream a file's bytes over the session (its connection(s) or UDP destination).
    SendFile {
        session: SessionId,
        target: SendTarget,
        path: PathBuf,
        options: StreamOptions,
    },
    /// Stop a file being sent over the session.
    CancelFile { session: SessionId },
    /// Disconnect one client of a server.
    Disconnect { session: SessionId, conn: ConnId },
    /// A serial session: switch DTR or RTS, or send a break (said back as `LineChanged`).
    SetLine {
        session: SessionId,
        control: super::serial::LineControl,
    },
    /// Stop accepting; keep or close the connected clients.
    StopListening {
        session: SessionId,
        keep_clients: bool,
    },
    /// Turn SO_BROADCAST on or off for a UDP session.
    SetBroadcast { session: SessionId, on: bool },
    /// Join a multicast group (v4 or v6) on a UDP session; `interface` 0 lets the system pick.
    JoinMulticast {
        session: SessionId,
        group: IpAddr,
        interface: u32,
    },
    /// Leave a multicast group.
    LeaveMulticast {
        session: SessionId,
        group: IpAddr,
        interface: u32,
    },
    /// Cut what the session's TCP connections receive into frames (`FrameSpec::None`, the
    /// default, shows reads as they came); frames longer than `max_frame` bytes are passed on
    /// in pieces marked oversize. With `frame_sends`, what the session sends (sends, repeats,
    /// templates, rule replies) is framed the same way first (`FrameSpec::encode`). Sent before
    /// `Open`; applies from the next open.
    SetFraming {
        session: SessionId,
        spec: crate::payload::framing::FrameSpec,
        max_frame: usize,
        frame_sends: bool,
    },
    /// Keep what the session receives, at most `limit_bytes` (0: keep nothing, the default),
    /// for [`Command::Save`]. Sent before `Open`; applies to that session id from then on.
    KeepReceived {
        session: SessionId,
        limit_bytes: u64,
    },
    /// Write everything the session received and kept (since its first open) to a file; when
    /// following, keep appending what arrives until [`Command::StopSaving`].
    Save {
        session: SessionId,
        request: SaveRequest,
    },
    /// End a following save once it has written everything received up to now.
    StopSaving { session: SessionId },
    /// Close the session and throw away what it kept (its tab closed).
    Discard { session: SessionId },
    /// Zero the session's counters.
    ResetStats { session: SessionId },
    /// TLS for the session's next open (a TCP client or server); `None`: plain TCP. Like
    /// framing, it is kept for the session id until changed.
    SetTls {
        session: SessionId,
        tls: Option<tls::TlsSettings>,
    },
    /// The session's script (`None`: none). Sent before `Open`, it is in place before the first
    /// byte is read; sent while open, it replaces the running one at once (its timers stop;
    /// the new one's `on_open` runs for each open connection). Kept for the session id.
    SetScript {
        session: SessionId,
        script: Option<std::sync::Arc<super::script::SessionScript>>,
    },
    /// Replace the session's auto-reply rules (empty: none). Sent before `Open`, they answer
    /// from the first byte; kept for the session id until changed.
    SetRules {
        session: SessionId,
        rules: Vec<ReplyRule>,
    },
    /// Automatic replies (rules, UDP echo) allowed per second before they pause (0: no limit;
    /// default [`DEFAULT_REPLY_LIMIT_PER_S`]). Like the rules, kept for the session id.
    SetReplyLimit { session: SessionId, per_s: u32 },
    /// Write everything the session sends and receives from now on (its open connections
    /// included) to a new pcapng file, until [`Command::StopCapture`] or the tab is discarded.
    /// Written by the engine from each connection's record, whatever the display keeps up
    /// with; answered by [`Event::CaptureEnded`] when it ends (or cannot start).
    Capture {
        session: SessionId,
        request: capture::CaptureRequest,
    },
    /// End the session's capture: what it holds is written, then [`Event::CaptureEnded`].
    StopCapture { session: SessionId },
    /// Close everything and end the engine thread.
    Shutdown,
}

/// One read or one write of a connection (or one datagram), with which way it went, where it
/// came from or went to, and when the read or write returned.
#[derive(Clone, Debug)]
pub struct Chunk {
    /// Received or sent.
    pub dir: Direction,
    /// The remote end.
    pub peer: SocketAddr,
    /// When it was received or sent.
    pub time: SystemTime,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// With a framer set: the frames these bytes hold, in order (frames completed by one read
    /// travel together). Empty: the bytes as the reads returned them. See [`Chunk::pieces`].
    pub frames: Vec<FrameMark>,
}

/// Where a frame ends inside its chunk, and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameMark {
    /// The frame's end, as an offset into the chunk's bytes.
    pub end: usize,
    /// What the frame is.
    pub info: FrameInfo,
}

impl Chunk {
    /// The chunk as its frames, each with what it is; unframed, the whole chunk once.
    pub fn pieces(&self) -> impl Iterator<Item = (&[u8], Option<FrameInfo>)> + '_ {
        let unframed = self
            .frames
            .is_empty()
            .then_some((self.bytes.as_slice(), None));
        let mut start = 0;
        let framed = self.frames.iter().map(move |mark| {
            let piece = self.bytes.get(start..mark.end).unwrap_or_default();
            start = mark.end;
            (piece, Some(mark.info))
        });
        unframed.into_iter().chain(framed)
    }
}

/// What a received frame is, and when it came after the one before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// Whole, oversize, incomplete or malformed.
    pub kind: crate::payload::framing::FrameKind,
    /// Time since the previous frame of the same connection (`None` for the first).
    pub dt: Option<Duration>,
    /// On a message transport (WebSocket): what kind of message the frame is.
    pub message: Option<MessageKind>,
}

/// What a message of a message transport carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// UTF-8 text (a WebSocket text message).
    Text,
    /// Bytes (a WebSocket binary message).
    Binary,
}

/// Why a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer closed its side.
    PeerClosed,
    /// The user (or the session closing) closed it.
    LocalClosed,
    /// A network failure.
    Failed(NetError),
}

/// Counters and rates of a session, sent a few times a second while they change.
#[derive(Clone, Debug, Default)]
pub struct SessionStats {
    /// Totals of the session.
    pub total: CountersSnapshot,
    /// Received bytes per second over the last interval.
    pub rx_rate: f64,
    /// Sent bytes per second over the last interval.
    pub tx_rate: f64,
    /// Per-connection totals (server clients; the client's one connection).
    pub conns: Vec<(ConnId, CountersSnapshot)>,
    /// Sends done by the running repeat, if one runs.
    pub repeat_sent: Option<u64>,
    /// How often each auto-reply rule fired.
    pub rule_fires: Vec<u64>,
    /// Automatic replies not sent because the loop guard paused them.
    pub replies_suppressed: u64,
}

/// Something that happened in the engine.
#[derive(Clone, Debug)]
pub enum Event {
    /// The session is open: listening, connected or bound at `local`.
    Opened {
        session: SessionId,
        local: SocketAddr,
        peer: Option<SocketAddr>,
    },
    /// A TCP connection started (a server's client, or the client's connection).
    ConnOpened {
        session: SessionId,
        conn: ConnId,
        peer: SocketAddr,
        local: SocketAddr,
    },
    /// A TCP connection ended.
    ConnClosed {
        session: SessionId,
        conn: ConnId,
        peer: SocketAddr,
        reason: CloseReason,
    },
    /// Data received and sent, in the order it crossed the wire: each chunk says its direction
    /// and time (a connection's or a UDP session's record, batched). `omitted_*` count data not
    /// queued for display (the queue was full) since the previous data event of this
    /// connection or session; a capture still has it.
    Data {
        session: SessionId,
        conn: Option<ConnId>,
        chunks: Arc<[Chunk]>,
        omitted_bytes: u64,
        omitted_packets: u64,
    },
    /// Counters and rates.
    Stats {
        session: SessionId,
        stats: SessionStats,
    },
    /// A server stopped accepting new clients.
    ListenStopped { session: SessionId },
    /// A repeating send ended after `sent` sends.
    RepeatDone { session: SessionId, sent: u64 },
    /// A save of received data started.
    SaveStarted {
        session: SessionId,
        path: PathBuf,
        follow: bool,
    },
    /// A save has written `bytes` so far.
    SaveProgress { session: SessionId, bytes: u64 },
    /// A save ended: `bytes` written; `missing_bytes` received earlier were no longer kept (the
    /// keep limit); `error` when it failed (what was written stays).
    Saved {
        session: SessionId,
        path: PathBuf,
        bytes: u64,
        missing_bytes: u64,
        error: Option<NetError>,
    },
    /// A file transfer moved on: `done` of `total` bytes (total unknown for raw receives).
    Progress {
        session: SessionId,
        done: u64,
        total: Option<u64>,
        rate: f64,
    },
    /// A file was sent or received whole (and, verified, its SHA-256 checked).
    FileDone {
        session: SessionId,
        path: PathBuf,
        bytes: u64,
        sha256: Option<String>,
        /// Where a resumed transfer started.
        resumed_from: u64,
    },
    /// The outcome of a send that asked for one (`ack` in [`Command::Send`]): `Ok` once its
    /// bytes were written to the socket, `Err` when they were not (one per connection when a
    /// server sends to all its clients).
    SendResult {
        session: SessionId,
        tag: u64,
        result: Result<(), NetError>,
    },
    /// A TLS handshake succeeded: what it agreed and who the peer is.
    Secured {
        session: SessionId,
        conn: ConnId,
        peer: SocketAddr,
        info: tls::TlsInfo,
    },
    /// A capture ended (stopped, or it could not start): its file, the bytes of each
    /// direction it could not keep up with (missing from it), and the error that stopped it.
    CaptureEnded {
        session: SessionId,
        path: PathBuf,
        lost: capture::Lost,
        error: Option<NetError>,
    },
    /// A failure that did not end the session (a send, a join, a save).
    Error { session: SessionId, error: NetError },
    /// Something the user should know that is not a failure (a rule that could loop).
    Warning { session: SessionId, error: NetError },
    /// A line a session's script wrote (`log`, `print`).
    ScriptLog { session: SessionId, text: String },
    /// A bridge's RFC 2217 client changed the serial line (baud, DTR…), or asked for what the
    /// port cannot take; said after what passed before it.
    LineChanged {
        session: SessionId,
        conn: ConnId,
        peer: SocketAddr,
        change: super::rfc2217::LineChange,
    },
    /// A serial port's modem lines changed (said once when the port opens, then on change).
    ModemLines {
        session: SessionId,
        conn: ConnId,
        lines: super::serial::ModemLines,
    },
    /// What a WebSocket connection said besides its messages (the upgrade's request and
    /// response, pings, pongs, closes): a row of its own, after what crossed before it.
    Ws {
        session: SessionId,
        conn: ConnId,
        peer: SocketAddr,
        time: SystemTime,
        note: super::ws::WsNote,
    },
    /// The session ended; `error` says why when it failed.
    Closed {
        session: SessionId,
        error: Option<NetError>,
    },
}

impl Event {
    /// The session the event belongs to.
    pub fn session(&self) -> SessionId {
        match self {
            Event::Opened { session, .. }
            | Event::ConnOpened { session, .. }
            | Event::ConnClosed { session, .. }
            | Event::Data { session, .. }
            | Event::Stats { session, .. }
            | Event::ListenStopped { session }
            | Event::RepeatDone { session, .. }
            | Event::SaveStarted { session, .. }
            | Event::SaveProgress { session, .. }
            | Event::Saved { session, .. }
            | Event::Progress { session, .. }
            | Event::FileDone { session, .. }
            | Event::SendResult { session, .. }
            | Event::Secured { session, .. }
            | Event::CaptureEnded { session, .. }
            | Event::Error { session, .. }
            | Event::Warning { session, .. }
            | Event::ScriptLog { session, .. }
            | Event::LineChanged { session, .. }
            | Event::ModemLines { session, .. }
            | Event::Ws { session, .. }
            | Event::Closed { session, .. } => *session,
        }
    }

    /// Bytes of data this event holds, for the queue budget.
    pub(crate) fn queued_bytes(&self) -> usize {
        match self {
            Event::Data { chunks, .. } => chunks.iter().map(|c| c.bytes.len()).sum(),
            _ => 0,
        }
    }
}

/// The session a command is for.
pub(crate) fn session_of(command: &Command) -> SessionId {
    match command {
        Command::Open { session, .. }
        | Command::Close { session }
        | Command::Send { session, .. }
        | Command::StopRepeat { session }
        | Command::SendTemplate { session, .. }
        | Command::SendFile { session, .. }
        | Command::CancelFile { session }
        | Command::Disconnect { session, .. }
        | Command::SetLine { session, .. }
        | Command::StopListening { session, .. }
        | Command::SetBroadcast { session, .. }
        | Command::JoinMulticast { session, .. }
        | Command::LeaveMulticast { session, .. }
        | Command::KeepReceived { session, .. }
        | Command::SetFraming { session, .. }
        | Command::SetTls { session, .. }
        | Command::Save { session, .. }
        | Command::StopSaving { session }
        | Command::Discard { session }
        | Command::ResetStats { session }
        | Command::SetRules { session, .. }
        | Command::SetScript { session, .. }
        | Command::SetReplyLimit { session, .. }
        | Command::Capture { session, .. }
        | Command::StopCapture { session } => *session,
        Command::Shutdown => SessionId(0),
    }
}
