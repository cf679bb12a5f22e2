//! What a session's parts share, apart from the command loop: the [`SessionCore`] its
//! connections and reader threads hold, how it frames, and the [`SessionKind`] contract each
//! transport implements. A leaf: the kinds use it, it uses none of them.

use super::guard::{ReplyGuard, Verdict};
use super::sink::EventSink;
use super::stats::Counters;
use super::{
    Command, ConnId, CountersSnapshot, Event, NetError, NetErrorKind, Reason, SendTarget,
    SessionId, SessionStats,
};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Runs `work` that may block (a full disk queue, a script call) beside the engine's I/O: on a
/// multi-thread runtime the worker hands its other tasks on meanwhile, so only this session
/// waits.
pub(crate) fn beside_io<R>(work: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// How long the session's small tasks may take to end once cancelled.
const TASKS_GRACE: Duration = Duration::from_secs(1);

/// How the session's TCP connections cut what they receive into frames.
#[derive(Clone, Debug)]
pub(crate) struct Framing {
    pub spec: crate::payload::framing::FrameSpec,
    pub max_frame: usize,
    /// Frame what is sent the same way.
    pub frame_sends: bool,
}

impl Default for Framing {
    fn default() -> Self {
        Self {
            spec: crate::payload::framing::FrameSpec::None,
            max_frame: crate::payload::framing::DEFAULT_MAX_FRAME,
            frame_sends: false,
        }
    }
}

/// The parts of a session its connections and reader threads need too.
#[derive(Clone)]
pub(crate) struct SessionCore {
    pub id: SessionId,
    pub sink: EventSink,
    pub counters: Arc<Counters>,
    /// Where received data is kept for "Save received data…", if the tab keeps it.
    pub spool: Option<Arc<super::spool::Spool>>,
    /// Where the connections' records go while a capture runs.
    pub tap: Arc<super::capture::Tap>,
    /// How connections frame what they receive.
    pub framing: Arc<Framing>,
    pub rules: Arc<super::rules::RuleSet>,
    pub guard: Arc<ReplyGuard>,
    /// Cancelled when the session must end now; connections hold child tokens.
    pub cancel: CancellationToken,
    /// The session's small tasks (delayed replies), waited for when it ends.
    pub tasks: TaskTracker,
    /// The engine's runtime, so reader threads can start small tasks too.
    pub runtime: tokio::runtime::Handle,
    /// The session's script, if it has one (replaced while open by `SetScript`).
    pub script: super::script::ScriptSlot,
    /// Each open connection's queue, for a script's `send` (to every peer).
    pub peers: Arc<std::sync::Mutex<std::collections::HashMap<ConnId, super::tcp_conn::Queue>>>,
}

impl SessionCore {
    /// Says that the session opened or a connection started or ended: to the front end and to
    /// the session's capture.
    pub fn announce(&self, event: Event) {
        self.tap.note(&event);
        self.sink.send(event);
    }

    /// Replaces the auto-reply rules, warning of each that could answer itself.
    pub fn set_rules(&self, rules: Vec<super::ReplyRule>) {
        for warning in super::rules::self_triggering(&rules) {
            self.sink.send(Event::Warning {
                session: self.id,
                error: warning,
            });
        }
        self.rules.set(rules);
    }

    /// Reports a failure that does not end the session.
    pub fn error(&self, error: NetError) {
        self.sink.send(Event::Error {
            session: self.id,
            error,
        });
    }

    /// Answers a send that asked for its outcome.
    pub fn send_result(&self, tag: Option<u64>, result: Result<(), NetError>) {
        if let Some(tag) = tag {
            self.sink.send(Event::SendResult {
                session: self.id,
                tag,
                result,
            });
        }
    }

    /// May one more automatic reply (rule or echo) go? Says so in the log when the loop guard
    /// trips; replies it refuses are counted, never dropped silently.
    pub fn reply_allowed(&self) -> bool {
        match self.guard.check() {
            Verdict::Allow => true,
            Verdict::Deny => false,
            Verdict::Tripped { limit_per_s } => {
                self.error(NetError::new(
                    NetErrorKind::ReplyLimit,
                    format!(
                        "more than {limit_per_s} in one second (a reply loop?); they resume in {} s",
                        super::guard::PAUSE.as_secs()
                    ),
                ));
                false
            }
        }
    }

    /// What the auto-reply rules answer to `data`, as (bytes, delay): each reply that cannot be
    /// built says why, and each that the loop guard holds back is counted.
    pub fn auto_replies(&self, data: &[u8]) -> Vec<super::rules::Reply> {
        self.rules
            .replies(data)
            .into_iter()
            .map(|reply| {
                let (bytes, delay) = reply?;
                Ok((self.outgoing(&bytes)?.into_owned(), delay))
            })
            .filter_map(|reply: Result<_, NetError>| reply.map_err(|e| self.error(e)).ok())
            .filter(|_| self.reply_allowed())
            .collect()
    }

    /// Runs `task` as one of the session's small tasks: it ends when the session does.
    pub fn spawn_small(&self, task: impl Future<Output = ()> + Send + 'static) {
        let cancel = self.cancel.clone();
        let task = async move {
            tokio::select! {
                () = task => {}
                () = cancel.cancelled() => {}
            }
        };
        self.tasks.spawn_on(task, &self.runtime);
    }

    /// Ends the small tasks: cancels them and waits (bounded) until they are gone.
    pub(crate) async fn end_tasks(&self) {
        self.cancel.cancel();
        self.tasks.close();
        let _ = tokio::time::timeout(TASKS_GRACE, self.tasks.wait()).await;
    }

    /// The last word on the counters before the session closes, sent whatever the queue holds.
    pub fn final_stats(&self) {
        self.sink.send(Event::Stats {
            session: self.id,
            stats: SessionStats {
                total: self.counters.snapshot(),
                replies_suppressed: self.guard.suppressed(),
                ..SessionStats::default()
            },
        });
    }

    /// What goes on the wire for `bytes`: framed when the session frames its sends.
    pub fn outgoing<'a>(&self, bytes: &'a [u8]) -> Result<std::borrow::Cow<'a, [u8]>, NetError> {
        if !self.framing.frame_sends {
            return Ok(std::borrow::Cow::Borrowed(bytes));
        }
        self.framing
            .spec
            .encode(bytes)
            .map(std::borrow::Cow::Owned)
            .map_err(|e| NetError::because(NetErrorKind::NotSent, Reason::NotSentFrame(e)))
    }

    /// A framer for a new connection, or `None` when reads are shown as they come.
    pub fn framer(&self) -> Option<crate::payload::framing::Framer> {
        (self.framing.spec != crate::payload::framing::FrameSpec::None).then(|| {
            crate::payload::framing::Framer::new(self.framing.spec.clone(), self.framing.max_frame)
        })
    }

    /// Keeps received bytes (of connection `conn`) for a later save, if the tab keeps them.
    pub fn keep(&self, conn: Option<ConnId>, bytes: &[u8]) {
        if let Some(spool) = &self.spool {
            spool.record(conn, bytes);
        }
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
    /// Sends once: writes, or queues for the connection(s) to write, waiting (bounded) for room
    /// in a queue rather than dropping anything. A queued send answers `ack` itself.
    fn send(
        &mut self,
        core: &SessionCore,
        target: &SendTarget,
        bytes: &[u8],
        ack: Option<u64>,
    ) -> impl Future<Output = Result<Sent, NetError>> + Send;
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

/// What a kind did with a send.
pub(crate) enum Sent {
    /// The bytes went out (UDP).
    Written,
    /// The bytes wait in a connection's queue; the connection answers the ack.
    Queued,
}
