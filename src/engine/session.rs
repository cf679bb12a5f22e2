//! What every session shares: its command loop, counters and rates, repeating sends and
//! keeping what was received. The kinds (TCP client, TCP server, UDP, relay) implement
//! [`SessionKind`] (in `shared.rs`, which they use without reaching back here) and plug into
//! [`drive`].
//!
//! Every session owns a scope: a cancellation token that its connections' tokens descend from
//! and a tracker of its small tasks (delayed replies). Closing asks politely, then cancels, then
//! aborts, each step bounded; nothing a session started outlives it.

pub(crate) use super::shared::{Framing, Sent, SessionCore, SessionKind, Step};
use super::sink::EventSink;
use super::stats::Counters;
use super::{
    Command, CountersSnapshot, Event, NetError, NetErrorKind, Reason, Repeat, SendTarget,
    SessionConfig, SessionId, SessionStats, Transport,
};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;
use tokio::time::{interval, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tokio_util::task::{AbortOnDropHandle, TaskTracker};

/// How often counters and rates are published.
const STATS_INTERVAL: Duration = Duration::from_millis(500);

/// How long a session may take to close when asked, before it is cancelled (and as long again
/// before it is aborted).
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// What a session id keeps from one open to the next, given to each new session of that id.
#[derive(Default)]
pub(crate) struct Setup {
    pub spool: Option<Arc<super::spool::Spool>>,
    pub tap: Arc<super::capture::Tap>,
    pub framing: Framing,
    pub tls: Option<super::tls::TlsSettings>,
    /// Auto-reply rules, in place before the first byte is read.
    pub rules: Vec<super::ReplyRule>,
    pub reply_limit_per_s: Option<u32>,
    /// The session's script, in place before the first byte is read.
    pub script: Option<Arc<super::script::SessionScript>>,
}

/// The engine's handle on a running session.
pub(crate) struct SessionHandle {
    id: SessionId,
    tx: UnboundedSender<Command>,
    cancel: CancellationToken,
    task: AbortOnDropHandle<()>,
}

impl SessionHandle {
    pub fn forward(&self, command: Command) {
        let _ = self.tx.send(command);
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Closes the session and returns once it has ended: asked first (queued sends still go),
    /// cancelled if it has not ended within [`CLOSE_GRACE`], aborted if still not. Never
    /// detached.
    pub async fn close(self) {
        let _ = self.tx.send(Command::Close { session: self.id });
        let mut task = self.task;
        if tokio::time::timeout(CLOSE_GRACE, &mut task).await.is_ok() {
            return;
        }
        self.cancel.cancel();
        if tokio::time::timeout(CLOSE_GRACE, &mut task).await.is_ok() {
            return;
        }
        task.abort();
        let _ = task.await;
    }
}

/// Starts a session task; with `after`, once that (the previous session of the same id)
/// has ended.
pub(crate) fn spawn(
    id: SessionId,
    config: SessionConfig,
    sink: EventSink,
    after: Option<JoinHandle<()>>,
    setup: Setup,
) -> SessionHandle {
    let Setup {
        spool,
        tap,
        framing,
        tls,
        rules,
        reply_limit_per_s,
        script,
    } = setup;
    // Unbounded: the front end's commands, one per click or CLI step; a send among them waits
    // here for the session, which is how back-pressure reaches a repeat or a sequence.
    #[allow(clippy::disallowed_methods)]
    let (tx, rx) = unbounded_channel();
    let cancel = CancellationToken::new();
    let core = SessionCore {
        id,
        sink,
        counters: Arc::new(Counters::default()),
        spool,
        tap,
        framing: Arc::new(framing),
        rules: Arc::default(),
        guard: Arc::default(),
        cancel: cancel.clone(),
        tasks: TaskTracker::new(),
        runtime: tokio::runtime::Handle::current(),
        script: super::script::ScriptSlot::new(script),
        peers: Arc::default(),
    };
    // The rules answer from the first byte: they are in place before anything connects.
    if let Some(per_s) = reply_limit_per_s {
        core.guard.set_limit(per_s);
    }
    core.set_rules(rules);
    let task = tokio::spawn(async move {
        if let Some(previous) = after {
            let _ = previous.await;
        }
        let error = match config {
            SessionConfig::TcpClient {
                remote,
                connect_timeout,
                options,
            } => {
                match super::tcp_client::open(&core, &remote, connect_timeout, &options, tls).await
                {
                    Ok(kind) => return drive(kind, core, rx).await,
                    Err(e) => e,
                }
            }
            SessionConfig::Serial { port, settings } => {
                match super::serial::open(&core, &port, settings).await {
                    Ok(kind) => return drive(kind, core, rx).await,
                    Err(e) => e,
                }
            }
            SessionConfig::TcpServer {
                bind,
                echo,
                options,
            } => match super::tcp_server::open(&core, bind, echo, &options, tls) {
                Ok(kind) => return drive(kind, core, rx).await,
                Err(e) => e,
            },
            SessionConfig::Relay {
                listen,
                target,
                udp,
            } => match super::relay::open(&core, listen, target, udp, tls, None).await {
                Ok(kind) => return drive(kind, core, rx).await,
                Err(e) => e,
            },
            SessionConfig::Bridge {
                listen,
                port,
                settings,
                rfc2217,
                max_clients,
            } => match super::relay::open(
                &core,
                listen,
                port,
                false,
                tls,
                Some(super::serial::BridgeTo {
                    settings,
                    rfc2217,
                    max_clients,
                }),
            )
            .await
            {
                Ok(kind) => return drive(kind, core, rx).await,
                Err(e) => e,
            },
            SessionConfig::WsClient(cfg) => match super::ws::open_client(&core, cfg, tls).await {
                Ok(kind) => return drive(kind, core, rx).await,
                Err(e) => e,
            },
            SessionConfig::WsServer(cfg) => match super::ws::open_server(&core, cfg, tls) {
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
        core.end_tasks().await;
        core.sink.send(Event::Closed {
            session: id,
            error: Some(error),
        });
    });
    SessionHandle {
        id,
        tx,
        cancel,
        task: AbortOnDropHandle::new(task),
    }
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
                Some(_) => core.error(NetError::because(
                    NetErrorKind::NotAvailable,
                    Reason::NotForThisKind(Transport::FileTransfer),
                )),
            }
        }
    };
    let error = tokio::select! {
        result = job => result.err(),
        _ = cancelled => Some(NetError::because(NetErrorKind::Cancelled, Reason::StoppedByUser)),
        _ = core.cancel.cancelled() => Some(NetError::because(NetErrorKind::Cancelled, Reason::StoppedByUser)),
    };
    core.end_tasks().await;
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
    fn bytes(&self, n: u64) -> Result<std::borrow::Cow<'_, [u8]>, NetError> {
        match self {
            Payload::Bytes(b) => Ok(std::borrow::Cow::Borrowed(b)),
            Payload::Template(t) => t
                .expand(n)
                .map(std::borrow::Cow::Owned)
                .map_err(|e| NetError::because(NetErrorKind::NotSent, Reason::NotSentPayload(e))),
        }
    }
}

/// A repeating send in progress.
struct RepeatRun {
    target: SendTarget,
    payload: Payload,
    count: Option<u64>,
    sent: u64,
    /// `None`: back to back.
    ticker: Option<Interval>,
}

impl RepeatRun {
    fn new(target: SendTarget, payload: Payload, repeat: Repeat) -> Self {
        let ticker = (!repeat.interval.is_zero()).then(|| {
            let mut ticker = interval(repeat.interval);
            ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
            ticker
        });
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
        Some(RepeatRun {
            ticker: Some(t), ..
        }) => {
            t.tick().await;
        }
        // Back to back, but other work of the runtime (and this loop's commands) goes first.
        Some(_) => tokio::task::yield_now().await,
        None => std::future::pending().await,
    }
}

/// Sends once and reports the outcome: an error event when it failed, and the ack's answer
/// when the kind did not take that on. Returns whether the send happened (or is queued).
async fn send_once<K: SessionKind>(
    kind: &mut K,
    core: &SessionCore,
    target: &SendTarget,
    bytes: &[u8],
    ack: Option<u64>,
) -> bool {
    let bytes = match core.outgoing(bytes) {
        Ok(bytes) => bytes,
        Err(e) => {
            core.send_result(ack, Err(e.clone()));
            core.error(e);
            return false;
        }
    };
    let result = tokio::select! {
        r = kind.send(core, target, &bytes, ack) => r,
        () = core.cancel.cancelled() => Err(NetError::because(
            NetErrorKind::Cancelled,
            Reason::ClosedBeforeSent,
        )),
    };
    match result {
        Ok(Sent::Written) => {
            core.send_result(ack, Ok(()));
            true
        }
        Ok(Sent::Queued) => true,
        Err(e) => {
            core.send_result(ack, Err(e.clone()));
            core.error(e);
            false
        }
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
            replies_suppressed: core.guard.suppressed(),
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
    let mut file_task: Option<AbortOnDropHandle<()>> = None;
    // Numbers the sends of templates, so {{counter}} counts across clicks.
    let mut template_sends = 0u64;
    let end_error = loop {
        tokio::select! {
            () = core.cancel.cancelled() => break None,
            command = commands.recv() => match command {
                None | Some(Command::Close { .. }) => break None,
                Some(Command::Send { target, bytes, repeat: None, ack, .. }) => {
                    send_once(&mut kind, &core, &target, &bytes, ack).await;
                }
                Some(Command::Send { target, bytes, repeat: Some(r), .. }) => {
                    if let Some(old) = repeat.replace(RepeatRun::new(target, Payload::Bytes(bytes), r)) {
                        core.sink.send(Event::RepeatDone { session: core.id, sent: old.sent });
                    }
                }
                Some(Command::SendTemplate { target, template, repeat: None, .. }) => {
                    template_sends += 1;
                    match template.expand(template_sends) {
                        Ok(bytes) => {
                            send_once(&mut kind, &core, &target, &bytes, None).await;
                        }
                        Err(e) => core.error(NetError::because(NetErrorKind::NotSent, Reason::NotSentPayload(e))),
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
                        core.error(NetError::because(NetErrorKind::Busy, Reason::FileSendRunning));
                    } else {
                        match kind.file_sink(&core, &target).await {
                            Ok(sink) => {
                                let task = super::transfer::stream_into_session(core.clone(), path, sink, options);
                                file_task = Some(AbortOnDropHandle::new(tokio::spawn(task)));
                            }
                            Err(e) => core.error(e),
                        }
                    }
                }
                Some(Command::CancelFile { .. }) => {
                    if let Some(task) = file_task.take().filter(|t| !t.is_finished()) {
                        task.abort();
                        core.error(NetError::because(NetErrorKind::Cancelled, Reason::StoppedByUser));
                    }
                }
                Some(Command::SetRules { rules, .. }) => core.set_rules(rules),
                Some(Command::SetReplyLimit { per_s, .. }) => core.guard.set_limit(per_s),
                Some(Command::SetScript { script, .. }) => core.script.replace(script),
                Some(Command::ResetStats { .. }) => {
                    core.counters.reset();
                    kind.reset_stats();
                    meter.last = CountersSnapshot::default();
                    meter.published_idle = false;
                }
                Some(other) => kind.command(&core, other).await,
            },
            _ = stats_tick.tick() => {
                // A trickle reaches the kept data (and a following save) within a tick.
                if let Some(spool) = &core.spool {
                    spool.flush();
                }
                meter.publish(&core, &kind, repeat.as_ref().map(|r| r.sent));
            }
            _ = repeat_tick(&mut repeat), if repeat.is_some() => {
                if let Some(run) = repeat.as_mut() {
                    let sent = match run.payload.bytes(run.sent + 1) {
                        Ok(bytes) => send_once(&mut kind, &core, &run.target, &bytes, None).await,
                        Err(e) => {
                            core.error(e);
                            false
                        }
                    };
                    if sent {
                        run.sent += 1;
                    } else {
                        // A send that did not happen ends the repeat (it said why).
                        run.count = Some(run.sent);
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
    drop(file_task.take());
    kind.shutdown(&core).await;
    core.end_tasks().await;
    if let Some(spool) = &core.spool {
        spool.flush();
    }
    core.final_stats();
    core.sink.send(Event::Closed {
        session: core.id,
        error: end_error,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_repeat_counts_to_its_end_and_zero_interval_means_back_to_back() {
        let every_5_ms = Repeat {
            interval: Duration::from_millis(5),
            count: Some(2),
        };
        let mut run = RepeatRun::new(
            SendTarget::Default,
            Payload::Bytes(b"x".to_vec()),
            every_5_ms,
        );
        assert!(run.ticker.is_some() && !run.finished());
        run.sent = 2;
        assert!(run.finished());
        let flat_out = Repeat {
            interval: Duration::ZERO,
            count: None,
        };
        let mut run = Some(RepeatRun::new(
            SendTarget::Default,
            Payload::Bytes(vec![]),
            flat_out,
        ));
        assert!(run.as_ref().is_some_and(|r| r.ticker.is_none()));
        // Back to back still yields: the tick is ready on the next poll, not never.
        tokio::time::timeout(Duration::from_secs(1), repeat_tick(&mut run))
            .await
            .expect("ready");
        if let Some(r) = run.as_mut() {
            r.sent = u64::MAX;
        }
        assert!(
            !run.as_ref().is_some_and(RepeatRun::finished),
            "no count: runs until stopped"
        );
    }

    #[test]
    fn a_template_that_cannot_be_built_is_an_error_not_wrong_bytes() {
        let format = crate::payload::SendFormat {
            macros: true,
            ..Default::default()
        };
        let too_long = crate::payload::Template::parse("{{len8}}{{rand:256}}", &format).unwrap();
        let error = Payload::Template(too_long).bytes(1).unwrap_err();
        assert!(error.detail.contains("{{len8}}"), "{error:?}");
    }
}
