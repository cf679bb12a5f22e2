//! The socket worker: a thread that owns a tokio runtime and every socket.
//!
//! The front end (window or CLI) sends [`Command`]s and drains [`Event`]s; the engine knows
//! nothing of egui. One task runs per session and one per TCP connection; a UDP session reads
//! on a thread of its own so that a burst at full loopback speed is received whole.

mod batch;
pub mod capture;
mod error;
mod file_io;
mod guard;
mod options;
mod relay;
mod resolve;
mod rules;
mod session;
mod sink;
mod spool;
mod stats;
mod tcp_client;
mod tcp_conn;
mod tcp_server;
pub mod tls;
mod transfer;
mod udp;

pub use error::{NetError, NetErrorKind};
pub use guard::{DEFAULT_REPLY_LIMIT_PER_S, PAUSE as REPLY_PAUSE};
pub use options::SocketOptions;
pub use resolve::{
    parse_bind, parse_host, parse_host_port, parse_port, resolve_first_blocking, AddressError,
    HostPort,
};
pub use rules::ReplyRule;
pub use sink::{Notifier, QueueBudget};
pub use spool::{SaveMode, SaveRequest, DEFAULT_KEEP_BYTES};
pub use stats::{Counters, CountersSnapshot};
pub use transfer::{
    safe_file_name, unique_path, FileReceiveConfig, FileSendConfig, StreamOptions, TransferLimits,
    DEFAULT_DATAGRAM, MAGIC,
};

use sink::{EventSink, QueueLoad};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc as tmpsc;

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
    /// Replace the session's auto-reply rules (empty: none).
    SetRules {
        session: SessionId,
        rules: Vec<ReplyRule>,
    },
    /// Automatic replies (rules, UDP echo) allowed per second before they pause (0: no limit;
    /// default [`DEFAULT_REPLY_LIMIT_PER_S`]).
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
            | Event::Closed { session, .. } => *session,
        }
    }

    /// Bytes of data this event holds, for the queue budget.
    fn queued_bytes(&self) -> usize {
        match self {
            Event::Data { chunks, .. } => chunks.iter().map(|c| c.bytes.len()).sum(),
            _ => 0,
        }
    }
}

/// Starts engines.
pub struct Engine;

/// The front end's end of the engine: send commands, drain events.
pub struct EngineHandle {
    commands: tmpsc::UnboundedSender<Command>,
    events: mpsc::Receiver<Event>,
    load: Arc<QueueLoad>,
    next_session: AtomicU64,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Engine {
    /// Spawns the engine thread with the default queue budget.
    pub fn spawn(notifier: Notifier) -> std::io::Result<EngineHandle> {
        Self::spawn_with_budget(notifier, QueueBudget::default())
    }

    /// Spawns the engine thread; `budget` bounds the display data waiting in the queue.
    pub fn spawn_with_budget(
        notifier: Notifier,
        budget: QueueBudget,
    ) -> std::io::Result<EngineHandle> {
        // Unbounded: commands come from clicks and CLI steps, and `send` must never block the
        // UI thread.
        #[allow(clippy::disallowed_methods)]
        let (cmd_tx, cmd_rx) = tmpsc::unbounded_channel();
        // Unbounded channel, bounded queue: data events count against `budget` (see sink.rs);
        // other events are a few per connection.
        #[allow(clippy::disallowed_methods)]
        let (ev_tx, ev_rx) = mpsc::channel();
        let load = Arc::new(QueueLoad::default());
        let sink = EventSink::new(ev_tx, load.clone(), budget, notifier);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sockscope-engine")
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("sockscope-engine".into())
            .spawn(move || runtime.block_on(run(cmd_rx, sink)))?;
        Ok(EngineHandle {
            commands: cmd_tx,
            events: ev_rx,
            load,
            next_session: AtomicU64::new(1),
            thread: Some(thread),
        })
    }
}

impl EngineHandle {
    /// A fresh session id.
    pub fn new_session_id(&self) -> SessionId {
        SessionId(self.next_session.fetch_add(1, Ordering::Relaxed))
    }

    /// Queues a command; never blocks.
    pub fn send(&self, command: Command) {
        // The engine only stops on Shutdown or drop, after which commands have no effect.
        let _ = self.commands.send(command);
    }

    /// Takes one waiting event, if any.
    pub fn try_recv(&self) -> Option<Event> {
        if let Ok(event) = self.events.try_recv() {
            return Some(self.account(event));
        }
        // Clear the flag first, then look once more: an event sent before the clear is taken
        // here, and one sent after it wakes the front end again. (Clearing after seeing the
        // queue empty would let an event slip in between and wait for an unrelated repaint.)
        self.load.woken.store(false, Ordering::SeqCst);
        self.events.try_recv().ok().map(|event| self.account(event))
    }

    /// Waits up to `timeout` for an event.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        self.load.woken.store(false, Ordering::Release);
        self.events
            .recv_timeout(timeout)
            .ok()
            .map(|e| self.account(e))
    }

    fn account(&self, event: Event) -> Event {
        self.load
            .bytes
            .fetch_sub(event.queued_bytes(), Ordering::Relaxed);
        self.load.events.fetch_sub(1, Ordering::Relaxed);
        event
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The engine's main loop: routes commands to session tasks.
///
/// Closing never blocks the loop: each close runs as a task of its own (bounded: see
/// [`session::SessionHandle::close`]). A session reopened under the same id starts only once
/// the old one has ended, so no late event of the old one can follow the new one's.
async fn run(mut commands: tmpsc::UnboundedReceiver<Command>, sink: EventSink) {
    let mut sessions: HashMap<SessionId, session::SessionHandle> = HashMap::new();
    let mut closing: HashMap<SessionId, tokio::task::JoinHandle<()>> = HashMap::new();
    // What each session id keeps of what it receives; it outlives the session (a save after
    // the peer left still has it) until the tab is discarded.
    let mut keep_limits: HashMap<SessionId, u64> = HashMap::new();
    let mut framings: HashMap<SessionId, session::Framing> = HashMap::new();
    let mut tls: HashMap<SessionId, tls::TlsSettings> = HashMap::new();
    let mut spools: HashMap<SessionId, Arc<spool::Spool>> = HashMap::new();
    // Each session id's tap: it knows the session's connections and feeds its capture; it
    // outlives the session (a capture goes on across a reopen) until the tab is discarded.
    let mut taps: HashMap<SessionId, Arc<capture::Tap>> = HashMap::new();
    // Captures being ended: their files are finished off the router.
    let mut ending = tokio::task::JoinSet::new();
    while let Some(command) = commands.recv().await {
        while ending.try_join_next().is_some() {}
        sessions.retain(|_, s| !s.is_finished());
        closing.retain(|_, c| !c.is_finished());
        match command {
            Command::Shutdown => break,
            Command::Open { session, config } => {
                let after = match sessions.remove(&session) {
                    Some(old) => Some(tokio::spawn(old.close())),
                    None => closing.remove(&session),
                };
                let spool = keeps_data(&config)
                    .then(|| spool_for(&mut spools, &keep_limits, session, &sink))
                    .flatten();
                let framing = framings.get(&session).cloned().unwrap_or_default();
                let secure = tls.get(&session).cloned();
                let tap = taps.entry(session).or_default().clone();
                let handle = session::spawn(
                    session,
                    config,
                    sink.clone(),
                    after,
                    spool,
                    tap,
                    framing,
                    secure,
                );
                sessions.insert(session, handle);
            }
            Command::Close { session } => {
                if let Some(handle) = sessions.remove(&session) {
                    closing.insert(session, tokio::spawn(handle.close()));
                }
            }
            Command::SetFraming {
                session,
                spec,
                max_frame,
                frame_sends,
            } => {
                framings.insert(
                    session,
                    session::Framing {
                        spec,
                        max_frame,
                        frame_sends,
                    },
                );
            }
            Command::SetTls {
                session,
                tls: settings,
            } => match settings {
                Some(settings) => {
                    tls.insert(session, settings);
                }
                None => {
                    tls.remove(&session);
                }
            },
            Command::Capture { session, request } => {
                let tap = taps.entry(session).or_default();
                if let Err(error) = tap.start(request.clone()) {
                    sink.send(Event::CaptureEnded {
                        session,
                        path: request.path,
                        lost: capture::Lost::default(),
                        error: Some(error),
                    });
                }
            }
            Command::StopCapture { session } => {
                if let Some(end) = taps.get(&session).and_then(|t| t.stop()) {
                    ending.spawn(end_capture(session, end, sink.clone()));
                }
            }
            Command::Discard { session } => {
                if let Some(end) = taps.remove(&session).and_then(|t| t.stop()) {
                    ending.spawn(end_capture(session, end, sink.clone()));
                }
                keep_limits.remove(&session);
                framings.remove(&session);
                tls.remove(&session);
                let spool = spools.remove(&session);
                let handle = sessions.remove(&session);
                let previous = closing.remove(&session);
                closing.insert(
                    session,
                    tokio::spawn(async move {
                        if let Some(handle) = handle {
                            handle.close().await;
                        }
                        if let Some(previous) = previous {
                            let _ = previous.await;
                        }
                        // Dropping a spool joins its threads: not on the runtime's workers.
                        let _ = tokio::task::spawn_blocking(move || drop(spool)).await;
                    }),
                );
            }
            Command::KeepReceived {
                session,
                limit_bytes,
            } => {
                keep_limits.insert(session, limit_bytes);
                if let Some(spool) = spools.get(&session) {
                    spool.set_limit(limit_bytes);
                }
            }
            Command::Save { session, request } => {
                let result = match spools.get(&session) {
                    Some(spool) => spool.save(request),
                    None => Err(NetError::new(
                        NetErrorKind::Other,
                        "this session keeps nothing of what it receives",
                    )),
                };
                if let Err(error) = result {
                    sink.send(Event::Error { session, error });
                }
            }
            Command::StopSaving { session } => {
                if let Some(spool) = spools.get(&session).cloned() {
                    // Flushing may wait for the disk: not on the router.
                    tokio::task::spawn_blocking(move || spool.stop_saving());
                }
            }
            other => {
                let id = session_of(&other);
                match sessions.get(&id) {
                    Some(handle) => handle.forward(other),
                    None => sink.send(Event::Error {
                        session: id,
                        error: NetError::new(NetErrorKind::NotConnected, "session is not open"),
                    }),
                }
            }
        }
    }
    let closers: Vec<_> = sessions
        .into_values()
        .map(|h| tokio::spawn(h.close()))
        .chain(closing.into_values())
        .collect();
    for closer in closers {
        let _ = closer.await;
    }
    // Captures write what they hold, then say how they ended.
    for (session, tap) in taps {
        if let Some(end) = tap.stop() {
            ending.spawn(end_capture(session, end, sink.clone()));
        }
    }
    while ending.join_next().await.is_some() {}
    // Saves finish what they were asked (bounded), then the kept data goes.
    let _ = tokio::task::spawn_blocking(move || drop(spools)).await;
}

/// Waits (off the runtime's workers) for a stopped capture to be written, then says how it
/// ended.
async fn end_capture(session: SessionId, end: capture::Ending, sink: EventSink) {
    let (path, lost) = (end.path.clone(), end.lost);
    let error = tokio::task::spawn_blocking(move || end.wait())
        .await
        .unwrap_or_else(|e| Some(NetError::new(NetErrorKind::Other, e.to_string())));
    sink.send(Event::CaptureEnded {
        session,
        path,
        lost,
        error,
    });
}

/// Does this kind of session receive data worth keeping (not a file transfer)?
fn keeps_data(config: &SessionConfig) -> bool {
    !matches!(
        config,
        SessionConfig::SendFile(_) | SessionConfig::ReceiveFile(_)
    )
}

/// The spool of `session`: the one it has (reopened, it keeps adding), or a new one if the
/// session keeps data. A spool that cannot be made is said once; the session runs without.
fn spool_for(
    spools: &mut HashMap<SessionId, Arc<spool::Spool>>,
    limits: &HashMap<SessionId, u64>,
    session: SessionId,
    sink: &EventSink,
) -> Option<Arc<spool::Spool>> {
    let limit = limits.get(&session).copied().unwrap_or(0);
    if limit == 0 {
        return None;
    }
    if let Some(spool) = spools.get(&session) {
        return Some(spool.clone());
    }
    match spool::Spool::new(session, limit, sink.clone()) {
        Ok(spool) => {
            let spool = Arc::new(spool);
            spools.insert(session, spool.clone());
            Some(spool)
        }
        Err(error) => {
            sink.send(Event::Warning { session, error });
            None
        }
    }
}

fn session_of(command: &Command) -> SessionId {
    match command {
        Command::Open { session, .. }
        | Command::Close { session }
        | Command::Send { session, .. }
        | Command::StopRepeat { session }
        | Command::SendTemplate { session, .. }
        | Command::SendFile { session, .. }
        | Command::CancelFile { session }
        | Command::Disconnect { session, .. }
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
        | Command::SetReplyLimit { session, .. }
        | Command::Capture { session, .. }
        | Command::StopCapture { session } => *session,
        Command::Shutdown => SessionId(0),
    }
}
