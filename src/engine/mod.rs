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
mod messages;
mod overlap;
mod relay;
mod resolve;
pub mod rfc2217;
mod rules;
pub mod script;
pub mod serial;
mod session;
mod shared;
mod shared_port;
mod sink;
mod sockets;
mod spool;
mod stats;
mod tcp_client;
mod tcp_conn;
mod tcp_server;
pub mod tls;
mod transfer;
mod udp;
pub mod ws;

pub use error::{Awaited, NetError, NetErrorKind, Reason, Transport};
pub use guard::{DEFAULT_REPLY_LIMIT_PER_S, PAUSE as REPLY_PAUSE};
pub use messages::{
    Chunk, CloseReason, Command, ConnId, Direction, Event, FrameInfo, FrameMark, MessageKind,
    Repeat, SendTarget, SessionConfig, SessionId, SessionStats,
};
pub use resolve::{
    parse_bind, parse_host, parse_host_port, parse_port, resolve_first_blocking, AddressError,
    HostPort,
};
pub use rules::ReplyRule;
pub use sink::{Notifier, QueueBudget};
pub use sockets::SocketOptions;
pub use spool::{SaveMode, SaveRequest, DEFAULT_KEEP_BYTES};
pub use stats::{Counters, CountersSnapshot};
pub use transfer::{
    safe_file_name, unique_path, FileReceiveConfig, FileSendConfig, StreamOptions, TransferLimits,
    DEFAULT_DATAGRAM, MAGIC,
};

use messages::session_of;
use sink::{EventSink, QueueLoad};
use std::collections::HashMap;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use tokio::sync::mpsc as tmpsc;

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
    // Each session id's auto-reply rules and reply limit: set before an open, they are in
    // place before its first byte; set while open, they apply at once too.
    let mut answers: HashMap<SessionId, (Vec<ReplyRule>, Option<u32>)> = HashMap::new();
    let mut scripts: HashMap<SessionId, Arc<script::SessionScript>> = HashMap::new();
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
                let kept = answers.get(&session);
                let setup = session::Setup {
                    spool,
                    tap: taps.entry(session).or_default().clone(),
                    framing: framings.get(&session).cloned().unwrap_or_default(),
                    tls: tls.get(&session).cloned(),
                    rules: kept.map(|a| a.0.clone()).unwrap_or_default(),
                    reply_limit_per_s: kept.and_then(|a| a.1),
                    script: scripts.get(&session).cloned(),
                };
                let handle = session::spawn(session, config, sink.clone(), after, setup);
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
            // In place for the next open, and at once in a running session.
            Command::SetScript { session, script } => {
                match &script {
                    Some(s) => {
                        scripts.insert(session, s.clone());
                    }
                    None => {
                        scripts.remove(&session);
                    }
                }
                if let Some(handle) = sessions.get(&session) {
                    handle.forward(Command::SetScript { session, script });
                }
            }
            Command::SetRules { session, rules } => {
                answers.entry(session).or_default().0 = rules.clone();
                if let Some(handle) = sessions.get(&session) {
                    handle.forward(Command::SetRules { session, rules });
                }
            }
            Command::SetReplyLimit { session, per_s } => {
                answers.entry(session).or_default().1 = Some(per_s);
                if let Some(handle) = sessions.get(&session) {
                    handle.forward(Command::SetReplyLimit { session, per_s });
                }
            }
            Command::Capture { session, request } => {
                let tap = taps.entry(session).or_default();
                // A second capture is refused without ending the one that runs.
                if tap.is_on() {
                    sink.send(Event::Error {
                        session,
                        error: NetError::because(NetErrorKind::Busy, Reason::CaptureRunning),
                    });
                } else if let Err(error) = tap.start(request.clone()) {
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
                answers.remove(&session);
                scripts.remove(&session);
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
                    None => Err(NetError::because(
                        NetErrorKind::NotAvailable,
                        Reason::NothingKept,
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
        .unwrap_or_else(|_| Some(NetError::because(NetErrorKind::Other, Reason::TaskFailed)));
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
