//! One TCP connection: a task that reads, batches, captures, echoes and writes.

use super::batch::{report_sent, Batcher};
use super::session::SessionCore;
use super::stats::Counters;
use super::{CloseReason, ConnId, Event, NetError, NetErrorKind};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Read buffer per connection: large reads keep up with loopback floods.
const READ_BUFFER: usize = 256 << 10;
/// Messages waiting to be written before sends are refused as "peer not reading".
const SEND_QUEUE: usize = 256;

/// Connection ids, unique across sessions.
pub(crate) static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// Bytes queued for a connection; `report` says whether they appear in the log (typed sends
/// do, file chunks do not).
pub(crate) struct Outgoing {
    pub bytes: Vec<u8>,
    pub report: bool,
}

/// The session's handle on one connection.
pub(crate) struct ConnHandle {
    pub id: ConnId,
    pub peer: SocketAddr,
    pub counters: Arc<Counters>,
    tx: mpsc::Sender<Outgoing>,
    close: Arc<Notify>,
    task: JoinHandle<()>,
}

impl ConnHandle {
    /// Queues bytes to send without waiting.
    pub fn try_send(&self, bytes: &[u8]) -> Result<(), NetError> {
        let message = Outgoing {
            bytes: bytes.to_vec(),
            report: true,
        };
        self.tx.try_send(message).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => NetError::new(
                NetErrorKind::SendQueueFull,
                format!("{} is not reading", self.peer),
            ),
            mpsc::error::TrySendError::Closed(_) => {
                NetError::new(NetErrorKind::NotConnected, format!("{} is gone", self.peer))
            }
        })
    }

    /// A queue to stream into that waits while the peer is slow (for file sends).
    pub fn queue(&self) -> mpsc::Sender<Outgoing> {
        self.tx.clone()
    }

    /// Asks the connection to close.
    pub fn close(&self) {
        self.close.notify_one();
    }

    /// Closes and waits until the connection task has ended.
    pub async fn close_and_wait(self) {
        self.close();
        let _ = tokio::time::timeout(Duration::from_secs(3), self.task).await;
    }
}

/// Starts the task of a new connection and announces it.
pub(crate) fn spawn(
    core: &SessionCore,
    stream: TcpStream,
    peer: SocketAddr,
    echo: bool,
    ended: UnboundedSender<ConnId>,
) -> ConnHandle {
    let id = ConnId(NEXT_CONN.fetch_add(1, Ordering::Relaxed));
    let local = stream
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    core.sink.send(Event::ConnOpened {
        session: core.id,
        conn: id,
        peer,
        local,
    });
    let (tx, rx) = mpsc::channel(SEND_QUEUE);
    let close = Arc::new(Notify::new());
    let counters = Arc::new(Counters::default());
    let queue = tx.downgrade();
    let task = tokio::spawn(run(
        Conn {
            core: core.clone(),
            id,
            peer,
            echo,
            counters: counters.clone(),
        },
        stream,
        rx,
        queue,
        close.clone(),
        ended,
    ));
    ConnHandle {
        id,
        peer,
        counters,
        tx,
        close,
        task,
    }
}

struct Conn {
    core: SessionCore,
    id: ConnId,
    peer: SocketAddr,
    echo: bool,
    counters: Arc<Counters>,
}

impl Conn {
    /// Sends what the session's rules answer to the `n` bytes just read: at once, or after the
    /// rule's delay through the connection's own queue.
    async fn auto_reply(
        &self,
        stream: &mut TcpStream,
        n: usize,
        buf: &[u8],
        queue: &mpsc::WeakSender<Outgoing>,
    ) -> Result<(), NetError> {
        for (reply, delay) in self.core.rules.replies(&buf[..n]) {
            match delay {
                None => self.write(stream, &reply, true).await?,
                Some(delay) => {
                    let queue = queue.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        if let Some(q) = queue.upgrade() {
                            let _ = q
                                .send(Outgoing {
                                    bytes: reply,
                                    report: true,
                                })
                                .await;
                        }
                    });
                }
            }
        }
        Ok(())
    }

    async fn write(
        &self,
        stream: &mut TcpStream,
        bytes: &[u8],
        report: bool,
    ) -> Result<(), NetError> {
        stream.write_all(bytes).await.map_err(NetError::from)?;
        self.counters.add_tx(bytes.len());
        self.core.counters.add_tx(bytes.len());
        if report {
            report_sent(
                &self.core.sink,
                self.core.id,
                Some(self.id),
                self.peer,
                bytes,
            );
        }
        Ok(())
    }
}

async fn run(
    conn: Conn,
    mut stream: TcpStream,
    mut outgoing: mpsc::Receiver<Outgoing>,
    queue: mpsc::WeakSender<Outgoing>,
    close: Arc<Notify>,
    ended: UnboundedSender<ConnId>,
) {
    let sink = conn.core.sink.clone();
    let mut buf = vec![0u8; READ_BUFFER];
    let mut batch = Batcher::new(conn.core.id, Some(conn.id));
    let reason = loop {
        let deadline = batch.deadline();
        tokio::select! {
            biased;
            _ = close.notified() => break CloseReason::LocalClosed,
            message = outgoing.recv() => match message {
                Some(Outgoing { bytes, report }) => {
                    if let Err(e) = conn.write(&mut stream, &bytes, report).await {
                        break CloseReason::Failed(e);
                    }
                }
                None => break CloseReason::LocalClosed,
            },
            read = stream.read(&mut buf) => match read {
                Ok(0) => break CloseReason::PeerClosed,
                Ok(n) => {
                    let data = &buf[..n];
                    conn.counters.add_rx(n);
                    conn.core.counters.add_rx(n);
                    conn.core.capture(data);
                    batch.push_stream(conn.peer, data);
                    if batch.due() {
                        batch.flush(&sink);
                    }
                    if conn.echo {
                        if let Err(e) = conn.write(&mut stream, &buf[..n], false).await {
                            break CloseReason::Failed(e);
                        }
                    }
                    if let Err(e) = conn.auto_reply(&mut stream, n, &buf, &queue).await {
                        break CloseReason::Failed(e);
                    }
                }
                Err(e) => break CloseReason::Failed(NetError::from_io(&e)),
            },
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(std::time::Instant::now).into()),
                if deadline.is_some() => batch.flush(&sink),
        }
    };
    batch.finish(&sink);
    if reason == CloseReason::LocalClosed {
        // Sends queued before the close still go, as a user who clicked Send expects.
        outgoing.close();
        while let Ok(Outgoing { bytes, report }) = outgoing.try_recv() {
            let write = conn.write(&mut stream, &bytes, report);
            if !matches!(
                tokio::time::timeout(Duration::from_secs(1), write).await,
                Ok(Ok(()))
            ) {
                break;
            }
        }
        // A graceful FIN, bounded so a peer that never reads cannot hold us.
        let _ = tokio::time::timeout(Duration::from_millis(500), stream.shutdown()).await;
    }
    drop(stream);
    sink.send(Event::ConnClosed {
        session: conn.core.id,
        conn: conn.id,
        peer: conn.peer,
        reason,
    });
    let _ = ended.send(conn.id);
}
