//! One TCP connection: a task that reads, batches, keeps, echoes and writes.

use super::batch::Batcher;
use super::overlap::{next_read_into, write_reading, Stash};
use super::shared::SessionCore;
use super::stats::Counters;
use super::{CloseReason, ConnId, Event, NetError, NetErrorKind, Reason};
use crate::payload::framing::FrameKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

/// Read buffer of a new connection: small, so a thousand quiet clients cost little memory.
pub(crate) const READ_BUFFER_START: usize = 8 << 10;
/// Largest read buffer: large reads keep up with loopback floods.
const READ_BUFFER_MAX: usize = 256 << 10;

/// A read buffer that starts small and doubles (up to [`READ_BUFFER_MAX`]) whenever a read
/// fills it, so only connections that flood get large reads.
pub(crate) struct ReadBuffer(Vec<u8>);

impl ReadBuffer {
    pub fn new() -> Self {
        Self(vec![0; READ_BUFFER_START])
    }

    /// The space to read into.
    pub fn space(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// The `n` bytes just read; grows the buffer for the next read if they filled it.
    pub fn filled(&mut self, n: usize) -> &[u8] {
        if n == self.0.len() && n < READ_BUFFER_MAX {
            let grown = (n * 2).min(READ_BUFFER_MAX);
            let mut bigger = vec![0; grown];
            bigger[..n].copy_from_slice(&self.0[..n]);
            self.0 = bigger;
        }
        &self.0[..n]
    }
}
/// Messages waiting to be written; a sender waits for room beyond this.
const SEND_QUEUE: usize = 256;
/// How long a send waits for room in a full queue (the peer is not reading) before it fails.
pub(crate) const SEND_WAIT: Duration = Duration::from_secs(10);
/// After a close is asked for, how long sends already queued may take to go out.
const DRAIN: Duration = Duration::from_millis(500);
/// How long a connection may take to end once asked, before its task is aborted.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Connection ids, unique across sessions.
pub(crate) static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// Bytes queued for a connection; `report` says whether they appear in the log (typed sends
/// do, file chunks do not); `ack` asks for an [`Event::SendResult`] once written.
/// A connection's queue as others hold it (it does not keep the connection open).
pub(crate) type Queue = mpsc::WeakSender<Outgoing>;

pub(crate) struct Outgoing {
    pub bytes: Vec<u8>,
    pub report: bool,
    pub ack: Option<u64>,
}

/// The session's handle on one connection. Dropping it aborts the connection's task.
pub(crate) struct ConnHandle {
    pub id: ConnId,
    pub peer: SocketAddr,
    pub counters: Arc<Counters>,
    tx: mpsc::Sender<Outgoing>,
    /// A serial port's control lines (DTR, RTS, break).
    lines: mpsc::Sender<super::serial::LineControl>,
    close: CancellationToken,
    task: AbortOnDropHandle<()>,
}

impl ConnHandle {
    /// Queues bytes to send, waiting up to [`SEND_WAIT`] for room: nothing is dropped; a send
    /// that cannot be queued is an error the caller reports.
    pub async fn send(&self, bytes: &[u8], ack: Option<u64>) -> Result<(), NetError> {
        match tokio::time::timeout(SEND_WAIT, self.tx.reserve()).await {
            Ok(Ok(permit)) => {
                permit.send(Outgoing {
                    bytes: bytes.to_vec(),
                    report: true,
                    ack,
                });
                Ok(())
            }
            Ok(Err(_)) => Err(NetError::new(
                NetErrorKind::NotConnected,
                format!("{} is gone; not sent", self.peer),
            )),
            Err(_) => Err(NetError::new(
                NetErrorKind::SendQueueFull,
                format!(
                    "{} has not read for {} s; not sent",
                    self.peer,
                    SEND_WAIT.as_secs()
                ),
            )),
        }
    }

    /// Switches a serial port's control line; a click while 8 are waiting is refused.
    pub fn line(&self, control: super::serial::LineControl) -> Result<(), NetError> {
        self.lines
            .try_send(control)
            .map_err(|_| NetError::because(NetErrorKind::Busy, Reason::LinesBusy))
    }

    /// A queue to stream into that waits while the peer is slow (for file sends).
    pub fn queue(&self) -> mpsc::Sender<Outgoing> {
        self.tx.clone()
    }

    /// Asks the connection to close: queued sends get [`DRAIN`] to go out, then it ends (with
    /// a reset if the peer would not take them).
    pub fn close(&self) {
        self.close.cancel();
    }

    /// Closes and waits until the connection's task has ended, or `deadline`, after which
    /// the task is aborted.
    pub async fn close_and_wait(self, deadline: Instant) {
        self.close();
        let mut task = self.task;
        let deadline = deadline.min(Instant::now() + CLOSE_GRACE);
        if tokio::time::timeout_at(deadline.into(), &mut task)
            .await
            .is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }
}

/// Closes many connections at once, all within [`CLOSE_GRACE`].
pub(crate) async fn close_all(conns: impl IntoIterator<Item = ConnHandle>) {
    let conns: Vec<ConnHandle> = conns.into_iter().collect();
    for c in &conns {
        c.close();
    }
    let deadline = Instant::now() + CLOSE_GRACE;
    for c in conns {
        c.close_and_wait(deadline).await;
    }
}

/// A connection's byte stream: plain TCP, or TLS over it. Everything above (echo, rules,
/// framing, counters) sees the same plaintext either way.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<super::tls::TlsStream>),
    /// A serial port: one "connection" for as long as the port is open.
    Serial(Box<tokio_serial::SerialStream>),
}

impl Stream {
    /// The TCP socket underneath (none for a serial port).
    pub fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Self::Plain(s) => Some(s),
            Self::Tls(s) => Some(s.get_ref().0),
            Self::Serial(_) => None,
        }
    }
}

impl tokio::io::AsyncRead for Stream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => std::pin::Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_read(cx, buf),
            Self::Serial(s) => std::pin::Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for Stream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => std::pin::Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_write(cx, buf),
            Self::Serial(s) => std::pin::Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => std::pin::Pin::new(s).poll_flush(cx),
            Self::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_flush(cx),
            Self::Serial(s) => std::pin::Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => std::pin::Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_shutdown(cx),
            Self::Serial(s) => std::pin::Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// What a connection writes to, one unit at a time: bytes on a byte stream (TCP, TLS, a
/// serial port), one message on a message transport (WebSocket). Echo, rules and scripts write
/// through it, so they work the same on every transport.
pub(crate) trait Wire: Send {
    /// Writes one unit whole; a byte stream reads meanwhile into `stash` (see `overlap.rs`).
    /// Returns what kind of message went, on a message transport.
    fn put<'a>(
        &'a mut self,
        bytes: &'a [u8],
        stash: &'a mut Stash,
    ) -> impl std::future::Future<Output = std::io::Result<Option<super::MessageKind>>> + Send + 'a;
}

impl Wire for Stream {
    async fn put(
        &mut self,
        bytes: &[u8],
        stash: &mut Stash,
    ) -> std::io::Result<Option<super::MessageKind>> {
        write_reading(self, bytes, stash).await.map(|()| None)
    }
}

/// The channels a new connection's loop is handed.
pub(crate) struct ConnParts {
    pub outgoing: mpsc::Receiver<Outgoing>,
    pub lines: mpsc::Receiver<super::serial::LineControl>,
    /// The connection's own queue (weak: it does not keep the connection open), for delayed
    /// replies and script timers.
    pub queue: mpsc::WeakSender<Outgoing>,
}

/// Starts the task of a new connection and announces it (and, over TLS, what the handshake
/// agreed).
pub(crate) fn spawn(
    core: &SessionCore,
    stream: Stream,
    peer: SocketAddr,
    echo: bool,
    tls: Option<super::tls::TlsInfo>,
    ended: UnboundedSender<ConnId>,
) -> ConnHandle {
    // A serial port has no address: the unspecified one stands in (consumers show the port).
    let local = stream
        .tcp()
        .and_then(|s| s.local_addr().ok())
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    start(core, peer, local, echo, tls, move |conn, parts| {
        run(conn, stream, parts, ended)
    })
}

/// Starts a connection's task (`run` is its loop, over whatever stream the transport has):
/// gives it an id, announces it (and, over TLS, what the handshake agreed), and makes its
/// queues.
pub(crate) fn start<F, Fut>(
    core: &SessionCore,
    peer: SocketAddr,
    local: SocketAddr,
    echo: bool,
    tls: Option<super::tls::TlsInfo>,
    run: F,
) -> ConnHandle
where
    F: FnOnce(Conn, ConnParts) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let id = ConnId(NEXT_CONN.fetch_add(1, Ordering::Relaxed));
    core.announce(Event::ConnOpened {
        session: core.id,
        conn: id,
        peer,
        local,
    });
    if let Some(info) = tls {
        core.sink.send(Event::Secured {
            session: core.id,
            conn: id,
            peer,
            info,
        });
    }
    let (tx, rx) = mpsc::channel(SEND_QUEUE);
    let (lines, lines_rx) = mpsc::channel(8);
    let close = core.cancel.child_token();
    let counters = Arc::new(Counters::default());
    let queue = tx.downgrade();
    if let Ok(mut peers) = core.peers.lock() {
        peers.insert(id, queue.clone());
    }
    let task = tokio::spawn(run(
        Conn {
            core: core.clone(),
            id,
            peer,
            echo,
            counters: counters.clone(),
            close: close.clone(),
            record: Batcher::new(core, Some(id)),
            stash: Stash::default(),
        },
        ConnParts {
            outgoing: rx,
            lines: lines_rx,
            queue,
        },
    ));
    ConnHandle {
        id,
        peer,
        counters,
        tx,
        lines,
        close,
        task: AbortOnDropHandle::new(task),
    }
}

/// One connection's state, whatever its transport: what echo, rules, scripts and the record
/// need.
pub(crate) struct Conn {
    pub core: SessionCore,
    pub id: ConnId,
    pub peer: SocketAddr,
    pub echo: bool,
    pub counters: Arc<Counters>,
    pub close: CancellationToken,
    /// Every read and write of the connection, in order.
    pub record: Batcher,
    /// What arrived while a write was under way, for the loop to take as reads.
    pub stash: Stash,
}

/// The next read: what a write stashed first, in order, else the stream's; with when it came.
async fn next_read(
    stash: &mut Stash,
    stream: &mut Stream,
    buf: &mut ReadBuffer,
) -> (std::io::Result<usize>, std::time::SystemTime) {
    next_read_into(stash, stream, buf.space()).await
}

/// Why a write did not complete.
pub(crate) enum WriteError {
    /// The close was asked for while the write waited on a peer that is not reading.
    Interrupted,
    Failed(NetError),
}

impl Conn {
    /// Sends what the session's rules answer to the bytes just read (each within the loop
    /// guard): at once, or after the rule's delay through the connection's own queue.
    pub async fn auto_reply<W: Wire>(
        &mut self,
        stream: &mut W,
        data: &[u8],
        queue: &mpsc::WeakSender<Outgoing>,
    ) -> Result<(), WriteError> {
        if let Some(script) = self.core.script.current() {
            let result = super::shared::beside_io(|| script.frame(data));
            self.script_actions(stream, &script, result, queue).await?;
        }
        for (reply, delay) in self.core.auto_replies(data) {
            match delay {
                None => self.write(stream, &reply, true).await?,
                Some(delay) => {
                    let queue = queue.clone();
                    let close = self.close.clone();
                    self.core.spawn_small(async move {
                        tokio::select! {
                            () = tokio::time::sleep(delay) => {}
                            () = close.cancelled() => return,
                        }
                        if let Some(q) = queue.upgrade() {
                            let message = Outgoing {
                                bytes: reply,
                                report: true,
                                ack: None,
                            };
                            let _ = q.send(message).await;
                        }
                    });
                }
            }
        }
        Ok(())
    }

    /// Carries out what a script call asked for: its sends written now (under the reply
    /// limit, recorded like any write), its log lines said, its timers started (each calls its
    /// function until the connection closes, its sends through the connection's queue).
    async fn script_actions<W: Wire>(
        &mut self,
        stream: &mut W,
        script: &Arc<super::script::SessionScript>,
        result: Result<Vec<crate::script::Action>, crate::script::ScriptError>,
        queue: &mpsc::WeakSender<Outgoing>,
    ) -> Result<(), WriteError> {
        use crate::script::Action;
        let actions = match result {
            Ok(actions) => actions,
            Err(e) => {
                super::script::failed(&self.core, script, e);
                return Ok(());
            }
        };
        for action in actions {
            match action {
                Action::Reply(bytes) => {
                    if self.core.reply_allowed() {
                        self.write(stream, &bytes, true).await?;
                    }
                }
                // Every peer: this one now, the others through their queues.
                Action::Send(bytes) => {
                    if self.core.reply_allowed() {
                        send_to_others(&self.core, self.id, &bytes);
                        self.write(stream, &bytes, true).await?;
                    }
                }
                // After what was read and written so far, so the log keeps the order.
                Action::Log(text) => {
                    self.record.flush();
                    self.core.sink.send(Event::ScriptLog {
                        session: self.core.id,
                        text,
                    });
                }
                Action::Every { ms, function } => {
                    let (core, queue, conn) = (self.core.clone(), queue.clone(), self.id);
                    let deliver = move |action| {
                        let (core, queue) = (core.clone(), queue.clone());
                        async move { timer_send(&core, conn, &queue, action).await }
                    };
                    self.core.spawn_small(super::script::timer(
                        self.core.clone(),
                        script.clone(),
                        self.close.clone(),
                        ms,
                        function,
                        deliver,
                    ));
                }
            }
        }
        Ok(())
    }

    /// Runs the script's `on_open` for this connection (when there is a script); a write that
    /// failed ends the connection with its error.
    pub async fn script_open<W: Wire>(
        &mut self,
        stream: &mut W,
        queue: &mpsc::WeakSender<Outgoing>,
    ) -> Option<NetError> {
        let script = self.core.script.current()?;
        let result = super::shared::beside_io(|| script.call("on_open"));
        match self.script_actions(stream, &script, result, queue).await {
            Err(WriteError::Failed(e)) => Some(e),
            _ => None,
        }
    }

    /// Switches a serial port's control line (or sends a break) and says what came of it,
    /// after what was read and written before it.
    async fn line_control(&mut self, stream: &mut Stream, control: super::serial::LineControl) {
        use super::rfc2217::LineChange;
        use super::serial::LineControl;
        use tokio_serial::SerialPort;
        let Stream::Serial(port) = stream else {
            self.core.error(NetError::because(
                NetErrorKind::NotAvailable,
                Reason::NotForThisKind(super::Transport::TcpClient),
            ));
            return;
        };
        let (done, what, value) = match control {
            LineControl::Dtr(on) => (
                port.write_data_terminal_ready(on)
                    .is_ok()
                    .then_some(LineChange::Dtr(on)),
                "DTR",
                u32::from(on),
            ),
            LineControl::Rts(on) => (
                port.write_request_to_send(on)
                    .is_ok()
                    .then_some(LineChange::Rts(on)),
                "RTS",
                u32::from(on),
            ),
            LineControl::Break { ms } => {
                let ms = ms.min(super::serial::MAX_BREAK_MS);
                let held = port.set_break().is_ok();
                if held {
                    tokio::time::sleep(Duration::from_millis(ms.into())).await;
                }
                let released = port.clear_break().is_ok();
                (
                    (held && released).then_some(LineChange::BreakSent { ms }),
                    "break",
                    ms,
                )
            }
        };
        self.record.flush();
        self.core.sink.send(Event::LineChanged {
            session: self.core.id,
            conn: self.id,
            peer: self.peer,
            change: done.unwrap_or(LineChange::Refused { what, value }),
        });
    }

    /// Writes and counts. When the close is asked for meanwhile, the write gets [`DRAIN`] to
    /// finish (a peer that reads slowly still gets it); past that it is cut short.
    pub async fn write<W: Wire>(
        &mut self,
        stream: &mut W,
        bytes: &[u8],
        report: bool,
    ) -> Result<(), WriteError> {
        let written = {
            let write = stream.put(bytes, &mut self.stash);
            tokio::pin!(write);
            tokio::select! {
                written = &mut write => written,
                () = self.close.cancelled() => match tokio::time::timeout(DRAIN, &mut write).await {
                    Ok(written) => written,
                    Err(_) => return Err(WriteError::Interrupted),
                },
            }
        };
        let message = written.map_err(|e| WriteError::Failed(NetError::from_io(&e)))?;
        self.sent(bytes, report, message);
        Ok(())
    }

    /// Counts a write that completed and records it (a file's bytes only for a capture).
    pub fn sent(&mut self, bytes: &[u8], report: bool, message: Option<super::MessageKind>) {
        let now = std::time::SystemTime::now();
        self.counters.add_tx(bytes.len());
        self.core.counters.add_tx(bytes.len());
        if let (Some(kind), true) = (message, report) {
            self.record.sent_message(self.peer, bytes, kind, now);
        } else if report {
            self.record.sent(self.peer, bytes, now);
        } else {
            self.record.sent_unshown(self.peer, bytes, now);
        }
    }

    pub fn not_sent(&self, ack: Option<u64>, why: &str) {
        self.core.send_result(
            ack,
            Err(NetError::new(
                NetErrorKind::NotConnected,
                format!("{}: {why}; not sent", self.peer),
            )),
        );
    }
}

/// Whether a write (echo, automatic reply) ended the connection, and why; an interrupted write
/// is noted so the connection ends in a reset.
pub(crate) fn ended_by(
    written: Result<(), WriteError>,
    interrupted: &mut bool,
) -> Option<CloseReason> {
    match written {
        Ok(()) => None,
        Err(WriteError::Interrupted) => {
            *interrupted = true;
            Some(CloseReason::LocalClosed)
        }
        Err(WriteError::Failed(e)) => Some(CloseReason::Failed(e)),
    }
}

/// A script's `send` to every peer but `except` (which sends it itself): through each one's
/// queue, without waiting (a peer whose queue is full misses it, and it is said).
fn send_to_others(core: &SessionCore, except: ConnId, bytes: &[u8]) {
    let queues: Vec<Queue> = match core.peers.lock() {
        Ok(peers) => peers
            .iter()
            .filter(|(id, _)| **id != except)
            .map(|(_, q)| q.clone())
            .collect(),
        Err(_) => return,
    };
    for queue in queues {
        let Some(q) = queue.upgrade() else { continue };
        let message = Outgoing {
            bytes: bytes.to_vec(),
            report: true,
            ack: None,
        };
        if q.try_send(message).is_err() {
            core.error(NetError::new(
                NetErrorKind::SendQueueFull,
                "a script's send: a peer's queue is full; not sent to it",
            ));
        }
    }
}

/// A timer's send or reply, through the connection's queue (a `send` to the other peers
/// too), under the reply limit; false once the connection is gone.
async fn timer_send(
    core: &SessionCore,
    conn: ConnId,
    queue: &mpsc::WeakSender<Outgoing>,
    action: crate::script::Action,
) -> bool {
    use crate::script::Action;
    let Some(q) = queue.upgrade() else {
        return false;
    };
    let bytes = match action {
        Action::Send(_) | Action::Reply(_) if !core.reply_allowed() => return true,
        Action::Send(bytes) => {
            send_to_others(core, conn, &bytes);
            bytes
        }
        Action::Reply(bytes) => bytes,
        Action::Log(_) | Action::Every { .. } => return true,
    };
    let message = Outgoing {
        bytes,
        report: true,
        ack: None,
    };
    q.send(message).await.is_ok()
}

async fn run(mut conn: Conn, mut stream: Stream, parts: ConnParts, ended: UnboundedSender<ConnId>) {
    let ConnParts {
        mut outgoing,
        mut lines,
        queue,
    } = parts;
    let mut buf = ReadBuffer::new();
    let mut framer = conn.core.framer();
    // Whole frames the rules are to look at (only when there are rules).
    let mut to_answer: Vec<Vec<u8>> = Vec::new();
    // An `idle:` framer ends a frame after this much silence.
    let idle_after = framer.as_ref().and_then(|f| f.idle_after());
    let mut last_read = Instant::now();
    // A write cut short leaves part of a message on the wire: such a connection ends in a reset.
    let mut interrupted = false;
    // The script meets the connection first (and a script applied while open, when applied).
    let mut script_changed = conn.core.script.subscribe();
    if let Some(reason) = conn.script_open(&mut stream, &queue).await {
        conn.core.error(reason);
    }
    // A serial port's modem lines are read a few times a second and said when they change.
    let mut modem = matches!(stream, Stream::Serial(_)).then(|| {
        let mut tick = tokio::time::interval(super::serial::MODEM_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        (tick, None::<super::serial::ModemLines>)
    });
    let reason = loop {
        let deadline = conn.record.deadline();
        let idle_at = idle_after
            .filter(|_| framer.as_ref().is_some_and(|f| f.pending() > 0))
            .map(|d| last_read + d);
        tokio::select! {
            biased;
            () = conn.close.cancelled() => break CloseReason::LocalClosed,
            Some(control) = lines.recv() => conn.line_control(&mut stream, control).await,
            _ = async {
                match modem.as_mut() {
                    Some((tick, _)) => tick.tick().await,
                    None => std::future::pending().await,
                }
            } => {
                if let (Stream::Serial(port), Some((_, last))) = (&mut stream, modem.as_mut()) {
                    let now = super::serial::ModemLines::read(port);
                    if *last != Some(now) {
                        *last = Some(now);
                        conn.core.sink.send(Event::ModemLines {
                            session: conn.core.id,
                            conn: conn.id,
                            lines: now,
                        });
                    }
                }
            }
            Ok(()) = script_changed.changed() => {
                if let Some(e) = conn.script_open(&mut stream, &queue).await {
                    break CloseReason::Failed(e);
                }
            }
            message = outgoing.recv() => match message {
                Some(Outgoing { bytes, report, ack }) => {
                    match conn.write(&mut stream, &bytes, report).await {
                        Ok(()) => conn.core.send_result(ack, Ok(())),
                        Err(WriteError::Interrupted) => {
                            conn.not_sent(ack, "the connection was closed");
                            interrupted = true;
                            break CloseReason::LocalClosed;
                        }
                        Err(WriteError::Failed(e)) => {
                            conn.core.send_result(ack, Err(e.clone()));
                            break CloseReason::Failed(e);
                        }
                    }
                }
                None => break CloseReason::LocalClosed,
            },
            (read, read_at) = next_read(&mut conn.stash, &mut stream, &mut buf) => match read {
                // A serial port has no "close": no more data means it is gone (an adapter
                // pulled, a pseudo-terminal's other end closed).
                Ok(0) if matches!(stream, Stream::Serial(_)) => break CloseReason::Failed(
                    NetError::because(NetErrorKind::PortMissing, Reason::PortVanished),
                ),
                Ok(0) => break CloseReason::PeerClosed,
                Ok(n) => {
                    last_read = Instant::now();
                    let data = buf.filled(n);
                    conn.counters.add_rx(n);
                    conn.core.counters.add_rx(n);
                    conn.core.keep(Some(conn.id), data);
                    match framer.as_mut() {
                        Some(framer) => {
                            let answering =
                                conn.core.rules.is_active() || conn.core.script.is_some();
                            let (record, peer) = (&mut conn.record, conn.peer);
                            framer.push_with(data, &mut |bytes, kind| {
                                record.push_frame(peer, bytes, kind, read_at);
                                if answering && kind == FrameKind::Whole {
                                    to_answer.push(bytes.to_vec());
                                }
                            });
                        }
                        None => conn.record.received(conn.peer, data, read_at),
                    }
                    // TCP echo mirrors a byte stream and is not rate-limited: it cannot loop
                    // unless the peer answers too, and such a peer's rules are guarded there.
                    // It is recorded like any write: a capture holds the echo.
                    let mut answered = if conn.echo {
                        conn.write(&mut stream, data, true).await
                    } else {
                        Ok(())
                    };
                    if framer.is_none() && answered.is_ok() {
                        answered = conn.auto_reply(&mut stream, data, &queue).await;
                    }
                    // With a framer, rules answer whole frames.
                    for frame in to_answer.drain(..) {
                        if answered.is_ok() {
                            answered = conn.auto_reply(&mut stream, &frame, &queue).await;
                        }
                    }
                    conn.record.flush_if_due();
                    if let Some(reason) = ended_by(answered, &mut interrupted) {
                        break reason;
                    }
                }
                // A TLS peer that closes without close_notify (many devices, Python's ssl) has
                // closed all the same.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break CloseReason::PeerClosed,
                // A port whose device went away answers reads with an error (EIO on Linux).
                Err(e) if matches!(stream, Stream::Serial(_)) => break CloseReason::Failed(
                    NetError::because(NetErrorKind::PortMissing, Reason::PortVanished)
                        .caused_by(e),
                ),
                Err(e) => {
                    let error = super::tls::tls_failure(&e).unwrap_or_else(|| NetError::from_io(&e));
                    break CloseReason::Failed(error.at(conn.peer));
                }
            },
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now).into()),
                if deadline.is_some() => conn.record.flush(),
            _ = tokio::time::sleep_until(idle_at.unwrap_or_else(Instant::now).into()),
                if idle_at.is_some() => {
                if let Some(frame) = framer.as_mut().and_then(|f| f.idle()) {
                    // The frame first, then what the rules answer to it: the order it happened.
                    let now = std::time::SystemTime::now();
                    conn.record.push_frame(conn.peer, &frame.bytes, frame.kind, now);
                    let answered = conn.auto_reply(&mut stream, &frame.bytes, &queue).await;
                    conn.record.flush();
                    if let Some(reason) = ended_by(answered, &mut interrupted) {
                        break reason;
                    }
                }
            }
        }
    };
    // What the framer still holds when the connection ends: an incomplete frame, shown.
    if let Some(frame) = framer.as_mut().and_then(|f| f.finish()) {
        let now = std::time::SystemTime::now();
        conn.record
            .push_frame(conn.peer, &frame.bytes, frame.kind, now);
    }
    outgoing.close();
    if reason == CloseReason::LocalClosed && !interrupted {
        // Sends queued before the close still go, as a user who clicked Send expects — within
        // DRAIN, so a peer that never reads cannot hold the connection open.
        let until = tokio::time::Instant::now() + DRAIN;
        while let Ok(m) = outgoing.try_recv() {
            let write = stream.write_all(&m.bytes);
            match tokio::time::timeout_at(until, write).await {
                Ok(Ok(())) => {
                    conn.sent(&m.bytes, m.report, None);
                    conn.core.send_result(m.ack, Ok(()));
                }
                _ => {
                    conn.not_sent(m.ack, "the peer did not take it before the close");
                    interrupted = true;
                    break;
                }
            }
        }
        if !interrupted {
            let _ = tokio::time::timeout_at(until, stream.shutdown()).await;
        }
    }
    while let Ok(m) = outgoing.try_recv() {
        conn.not_sent(m.ack, "the connection ended first");
    }
    if interrupted {
        // A reset, so the socket is gone now rather than lingering with unsent data.
        if let Some(tcp) = stream.tcp() {
            let _ = socket2::SockRef::from(tcp).set_linger(Some(Duration::ZERO));
        }
    }
    drop(stream);
    conn.finish(reason, &ended);
}

impl Conn {
    /// The end every connection shares: the script hears of the close (what it says goes to
    /// the log; nothing can be sent now), the record is finished (everything read and written,
    /// sends drained at the close included, before the close), the close is announced.
    pub fn finish(mut self, reason: CloseReason, ended: &UnboundedSender<ConnId>) {
        if let Some(script) = self.core.script.current() {
            match super::shared::beside_io(|| script.call("on_close")) {
                Ok(actions) => {
                    for action in actions {
                        if let crate::script::Action::Log(text) = action {
                            self.core.sink.send(Event::ScriptLog {
                                session: self.core.id,
                                text,
                            });
                        }
                    }
                }
                Err(e) => super::script::failed(&self.core, &script, e),
            }
        }
        if let Ok(mut peers) = self.core.peers.lock() {
            peers.remove(&self.id);
        }
        self.record.finish();
        self.core.announce(Event::ConnClosed {
            session: self.core.id,
            conn: self.id,
            peer: self.peer,
            reason,
        });
        let _ = ended.send(self.id);
    }
}
