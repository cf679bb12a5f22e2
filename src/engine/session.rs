//! What every session shares: its command loop, counters and rates, repeating sends and
//! capture to file. The three kinds (TCP client, TCP server, UDP) plug into [`drive`].

use super::capture::{Capture, CaptureEnd};
use super::sink::EventSink;
use super::stats::Counters;
use super::{
    Command, ConnId, CountersSnapshot, Event, NetError, Repeat, SendTarget, SessionConfig,
    SessionId, SessionStats,
};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;
use tokio::time::{interval, Interval, MissedTickBehavior};

/// How often counters and rates are published.
const STATS_INTERVAL: Duration = Duration::from_millis(500);

/// The parts of a session its connections and reader threads need too.
#[derive(Clone)]
pub(crate) struct SessionCore {
    pub id: SessionId,
    pub sink: EventSink,
    pub counters: Arc<Counters>,
    pub capture: Arc<Capture>,
    pub rules: Arc<super::rules::RuleSet>,
}

impl SessionCore {
    /// Reports a failure that does not end the session.
    pub fn error(&self, error: NetError) {
        self.sink.send(Event::Error {
            session: self.id,
            error,
        });
    }

    /// The last word on the counters before the session closes, sent whatever the queue holds.
    pub fn final_stats(&self) {
        self.sink.send(Event::Stats {
            session: self.id,
            stats: SessionStats {
                total: self.counters.snapshot(),
                ..SessionStats::default()
            },
        });
    }

    /// Writes received bytes to the capture file, if one is open.
    pub fn capture(&self, bytes: &[u8]) {
        if let Some(end) = self.capture.write(bytes) {
            self.capture_ended(end);
        }
    }

    fn capture_ended(&self, end: CaptureEnd) {
        if let Some(error) = end.error {
            self.error(error);
        }
        self.sink.send(Event::CaptureStopped {
            session: self.id,
            path: end.path,
            bytes: end.bytes,
        });
    }
}

/// What a kind's own I/O produced.
pub(crate) enum Step {
    /// Something handled; keep going.
    Continue,
    /// The session is over (the client's connection ended, or a fatal error).
    End(Option<NetError>),
}

/// The part that differs between TCP client, TCP server and UDP.
pub(crate) trait SessionKind: Send {
    /// Waits for the kind's own happenings (accepts, connections ending).
    fn next(&mut self, core: &SessionCore) -> impl Future<Output = Step> + Send;
    /// Sends once; must not wait on a peer that does not read.
    fn send(
        &mut self,
        core: &SessionCore,
        target: &SendTarget,
        bytes: &[u8],
    ) -> impl Future<Output = Result<(), NetError>> + Send;
    /// Handles a command only this kind understands.
    fn command(&mut self, core: &SessionCore, command: Command) -> impl Future<Output = ()> + Send;
    /// Where a file streamed to `target` goes.
    fn file_sink(
        &mut self,
        core: &SessionCore,
        target: &SendTarget,
    ) -> impl Future<Output = Result<super::transfer::FileSink, NetError>> + Send;
    /// Counters of each connection.
    fn conn_stats(&self) -> Vec<(ConnId, CountersSnapshot)>;
    /// Zeroes per-connection counters.
    fn reset_stats(&self);
    /// Closes everything; returns when the sockets are released.
    fn shutdown(self, core: &SessionCore) -> impl Future<Output = ()> + Send;
}

/// The engine's handle on a running session.
pub(crate) struct SessionHandle {
    id: SessionId,
    tx: UnboundedSender<Command>,
    task: JoinHandle<()>,
}

impl SessionHandle {
    pub fn forward(&self, command: Command) {
        let _ = self.tx.send(command);
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Closes the session and waits until its sockets are released.
    pub async fn close(self) {
        let _ = self.tx.send(Command::Close { session: self.id });
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

/// Starts a session task.
pub(crate) fn spawn(id: SessionId, config: SessionConfig, sink: EventSink) -> SessionHandle {
    let (tx, rx) = unbounded_channel();
    let core = SessionCore {
        id,
        sink,
        counters: Arc::new(Counters::default()),
        capture: Arc::new(Capture::default()),
        rules: Arc::default(),
    };
    let task = tokio::spawn(async move {
        let error = match config {
            SessionConfig::TcpClient {
                remote,
                connect_timeout,
                options,
            } => match super::tcp_client::open(&core, &remote, connect_timeout, &options).await {
                Ok(kind) => return drive(kind, core, rx).await,
                Err(e) => e,
            },
            SessionConfig::TcpServer {
                bind,
                echo,
                options,
            } => match super::tcp_server::open(&core, bind, echo, &options) {
                Ok(kind) => return drive(kind, core, rx).await,
                Err(e) => e,
            },
            SessionConfig::Relay {
                listen,
                target,
                udp,
            } => match super::relay::open(&core, listen, target, udp).await {
                Ok(kind) => return drive(kind, core, rx).await,
                Err(e) => e,
            },
            SessionConfig::SendFile(cfg) => {
                let job = super::transfer::send_job(&core, cfg);
                return run_job(&core, rx, job).await;
            }
            SessionConfig::ReceiveFile(cfg) => {
                let job = super::transfer::receive_job(&core, cfg);
                return run_job(&core, rx, job).await;
            }
            SessionConfig::Udp {
                bind,
                default_dest,
                broadcast,
                echo,
                options,
            } => match super::udp::open(&core, bind, default_dest, broadcast, echo, &options).await
            {
                Ok(kind) => return drive(kind, core, rx).await,
                Err(e) => e,
            },
        };
        core.sink.send(Event::Closed {
            session: id,
            error: Some(error),
        });
    });
    SessionHandle { id, tx, task }
}

/// Runs a file job until it ends or the session is closed (which cancels it).
async fn run_job(
    core: &SessionCore,
    mut commands: UnboundedReceiver<Command>,
    job: impl Future<Output = Result<(), NetError>>,
) {
    let cancelled = async {
        loop {
            match commands.recv().await {
                None | Some(Command::Close { .. }) => return,
                Some(_) => core.error(NetError::new(
                    super::NetErrorKind::Other,
                    "not available for a file transfer",
                )),
            }
        }
    };
    let error = tokio::select! {
        result = job => result.err(),
        _ = cancelled => Some(NetError::new(super::NetErrorKind::Cancelled, "stopped by the user")),
    };
    core.final_stats();
    core.sink.send(Event::Closed {
        session: core.id,
        error,
    });
}

/// What a send carries: fixed bytes, or a template whose macros expand at each send.
enum Payload {
    Bytes(Vec<u8>),
    Template(crate::payload::Template),
}

impl Payload {
    /// The bytes of send number `n` (from 1).
    fn bytes(&self, n: u64) -> std::borrow::Cow<'_, [u8]> {
        match self {
            Payload::Bytes(b) => std::borrow::Cow::Borrowed(b),
            Payload::Template(t) => std::borrow::Cow::Owned(t.expand(n)),
        }
    }
}

/// A repeating send in progress.
struct RepeatRun {
    target: SendTarget,
    payload: Payload,
    count: Option<u64>,
    sent: u64,
    ticker: Interval,
}

impl RepeatRun {
    fn new(target: SendTarget, payload: Payload, repeat: Repeat) -> Self {
        let mut ticker = interval(repeat.interval.max(Duration::from_millis(1)));
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        Self {
            target,
            payload,
            count: repeat.count,
            sent: 0,
            ticker,
        }
    }

    fn finished(&self) -> bool {
        self.count.is_some_and(|c| self.sent >= c)
    }
}

async fn repeat_tick(run: &mut Option<RepeatRun>) {
    match run {
        Some(r) => {
            r.ticker.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Measures rates between two stats publications.
struct RateMeter {
    last: CountersSnapshot,
    at: Instant,
    published_idle: bool,
}

impl RateMeter {
    fn publish<K: SessionKind>(&mut self, core: &SessionCore, kind: &K, repeat_sent: Option<u64>) {
        let total = core.counters.snapshot();
        let idle = total == self.last && repeat_sent.is_none();
        if idle && self.published_idle {
            return;
        }
        let secs = self.at.elapsed().as_secs_f64().max(1e-3);
        let stats = SessionStats {
            total,
            rx_rate: total.rx_bytes.saturating_sub(self.last.rx_bytes) as f64 / secs,
            tx_rate: total.tx_bytes.saturating_sub(self.last.tx_bytes) as f64 / secs,
            conns: kind.conn_stats(),
            repeat_sent,
            rule_fires: core.rules.fires(),
        };
        self.last = total;
        self.at = Instant::now();
        self.published_idle = idle;
        if core.sink.has_room(0) {
            core.sink.send(Event::Stats {
                session: core.id,
                stats,
            });
        }
    }
}

/// Runs a session's command loop until it is closed or its kind ends it.
pub(crate) async fn drive<K: SessionKind>(
    mut kind: K,
    core: SessionCore,
    mut commands: UnboundedReceiver<Command>,
) {
    let mut stats_tick = interval(STATS_INTERVAL);
    stats_tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut meter = RateMeter {
        last: CountersSnapshot::default(),
        at: Instant::now(),
        published_idle: true,
    };
    let mut repeat: Option<RepeatRun> = None;
    let mut file_task: Option<JoinHandle<()>> = None;
    // Numbers the sends of templates, so {{counter}} counts across clicks.
    let mut template_sends = 0u64;
    let end_error = loop {
        tokio::select! {
            command = commands.recv() => match command {
                None | Some(Command::Close { .. }) => break None,
                Some(Command::Send { target, bytes, repeat: None, .. }) => {
                    if let Err(e) = kind.send(&core, &target, &bytes).await {
                        core.error(e);
                    }
                }
                Some(Command::Send { target, bytes, repeat: Some(r), .. }) => {
                    if let Some(old) = repeat.replace(RepeatRun::new(target, Payload::Bytes(bytes), r)) {
                        core.sink.send(Event::RepeatDone { session: core.id, sent: old.sent });
                    }
                }
                Some(Command::SendTemplate { target, template, repeat: None, .. }) => {
                    template_sends += 1;
                    if let Err(e) = kind.send(&core, &target, &template.expand(template_sends)).await {
                        core.error(e);
                    }
                }
                Some(Command::SendTemplate { target, template, repeat: Some(r), .. }) => {
                    if let Some(old) = repeat.replace(RepeatRun::new(target, Payload::Template(template), r)) {
                        core.sink.send(Event::RepeatDone { session: core.id, sent: old.sent });
                    }
                }
                Some(Command::StopRepeat { .. }) => {
                    if let Some(old) = repeat.take() {
                        core.sink.send(Event::RepeatDone { session: core.id, sent: old.sent });
                    }
                }
                Some(Command::SendFile { target, path, options, .. }) => {
                    if file_task.as_ref().is_some_and(|t| !t.is_finished()) {
                        core.error(NetError::new(super::NetErrorKind::Other, "a file is already being sent"));
                    } else {
                        match kind.file_sink(&core, &target).await {
                            Ok(sink) => {
                                let task = super::transfer::stream_into_session(core.clone(), path, sink, options);
                                file_task = Some(tokio::spawn(task));
                            }
                            Err(e) => core.error(e),
                        }
                    }
                }
                Some(Command::CancelFile { .. }) => {
                    if let Some(task) = file_task.take().filter(|t| !t.is_finished()) {
                        task.abort();
                        core.error(NetError::new(super::NetErrorKind::Cancelled, "file send stopped by the user"));
                    }
                }
                Some(Command::Capture { path, .. }) => {
                    let ended = match path {
                        Some(path) => match core.capture.start(&path) {
                            Ok(previous) => {
                                core.sink.send(Event::CaptureStarted { session: core.id, path });
                                previous
                            }
                            Err(e) => {
                                core.error(e);
                                None
                            }
                        },
                        None => core.capture.stop(),
                    };
                    if let Some(end) = ended {
                        core.capture_ended(end);
                    }
                }
                Some(Command::SetRules { rules, .. }) => core.rules.set(rules),
                Some(Command::ResetStats { .. }) => {
                    core.counters.reset();
                    kind.reset_stats();
                    meter.last = CountersSnapshot::default();
                    meter.published_idle = false;
                }
                Some(other) => kind.command(&core, other).await,
            },
            _ = stats_tick.tick() => {
                meter.publish(&core, &kind, repeat.as_ref().map(|r| r.sent));
            }
            _ = repeat_tick(&mut repeat), if repeat.is_some() => {
                if let Some(run) = repeat.as_mut() {
                    let bytes = run.payload.bytes(run.sent + 1);
                    match kind.send(&core, &run.target, &bytes).await {
                        Ok(()) => run.sent += 1,
                        // A full queue means the peer is slow: skip this tick, try the next.
                        Err(e) if e.kind == super::NetErrorKind::SendQueueFull => {}
                        Err(e) => {
                            core.error(e);
                            run.count = Some(run.sent);
                        }
                    }
                    if run.finished() {
                        core.sink.send(Event::RepeatDone { session: core.id, sent: run.sent });
                        repeat = None;
                    }
                }
            }
            step = kind.next(&core) => {
                if let Step::End(error) = step {
                    break error;
                }
            }
        }
    };
    if let Some(old) = repeat.take() {
        core.sink.send(Event::RepeatDone {
            session: core.id,
            sent: old.sent,
        });
    }
    if let Some(task) = file_task.take() {
        task.abort();
    }
    kind.shutdown(&core).await;
    if let Some(end) = core.capture.stop() {
        core.capture_ended(end);
    }
    core.final_stats();
    core.sink.send(Event::Closed {
        session: core.id,
        error: end_error,
    });
}
