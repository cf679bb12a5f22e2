//! A bridge whose port is shared (`bridge --max-clients N`): the port is opened once, when the
//! bridge opens, and owned by one task (the hub). What the port sends is recorded once and
//! reaches every client; what each client sends reaches the port in the order it arrives. A
//! client that does not keep up is let go (and told why), so none holds the others back; a
//! port that vanishes ends every client and the bridge.

use super::batch::Batcher;
use super::serial::{LineSettings, NO_ADDRESS};
use super::shared::SessionCore;
use super::stats::Counters;
use super::tcp_conn::{ReadBuffer, Stream};
use super::{ConnId, NetError, NetErrorKind, Reason};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

/// Pieces of the port's data waiting for one client; past that the client is let go.
const CLIENT_BACKLOG: usize = 1024;
/// Client writes waiting for the port (a client past that waits: the port is the pace).
const PORT_BACKLOG: usize = 64;

type Clients = Arc<Mutex<HashMap<ConnId, mpsc::Sender<Arc<[u8]>>>>>;

/// The shared port, as the bridge holds it.
pub(crate) struct SharedPort {
    to_port: mpsc::Sender<Vec<u8>>,
    clients: Clients,
    /// Cancelled when the port vanished (the hub has ended).
    gone: CancellationToken,
    _hub: AbortOnDropHandle<()>,
}

/// Opens `port` for the bridge's clients to share.
pub(crate) fn open(
    core: &SessionCore,
    port: &str,
    settings: LineSettings,
) -> Result<SharedPort, NetError> {
    let stream = super::serial::open_stream(port, settings)?;
    let (to_port, from_clients) = mpsc::channel(PORT_BACKLOG);
    let clients: Clients = Arc::default();
    let gone = CancellationToken::new();
    let hub = tokio::spawn(hub(
        core.clone(),
        stream,
        from_clients,
        clients.clone(),
        gone.clone(),
    ));
    Ok(SharedPort {
        to_port,
        clients,
        gone,
        _hub: AbortOnDropHandle::new(hub),
    })
}

impl SharedPort {
    /// Has the port vanished?
    pub fn gone(&self) -> &CancellationToken {
        &self.gone
    }

    /// Serves one client until it leaves, falls behind, or the port vanishes.
    pub async fn serve(
        &self,
        core: &SessionCore,
        conn: ConnId,
        record: &Mutex<Batcher>,
        counters: &Counters,
        client: Stream,
        peer: SocketAddr,
    ) -> Result<(), NetError> {
        let (tx, mut from_port) = mpsc::channel(CLIENT_BACKLOG);
        if let Ok(mut clients) = self.clients.lock() {
            clients.insert(conn, tx);
        }
        let result = self
            .client_loop(core, conn, record, counters, client, peer, &mut from_port)
            .await;
        if let Ok(mut clients) = self.clients.lock() {
            clients.remove(&conn);
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    async fn client_loop(
        &self,
        core: &SessionCore,
        conn: ConnId,
        record: &Mutex<Batcher>,
        counters: &Counters,
        client: Stream,
        peer: SocketAddr,
        from_port: &mut mpsc::Receiver<Arc<[u8]>>,
    ) -> Result<(), NetError> {
        let (mut reader, mut writer) = tokio::io::split(client);
        let mut buf = ReadBuffer::new();
        let at_peer = |e: std::io::Error| NetError::from_io(&e).at(peer);
        loop {
            let deadline = record.lock().ok().and_then(|r| r.deadline());
            tokio::select! {
                read = reader.read(buf.space()) => {
                    let n = read.map_err(at_peer)?;
                    if n == 0 {
                        return Ok(());
                    }
                    let data = buf.filled(n);
                    let now = std::time::SystemTime::now();
                    counters.add_rx(n);
                    core.counters.add_rx(n);
                    core.keep(Some(conn), data);
                    if let Ok(mut r) = record.lock() {
                        r.received(peer, data, now);
                        r.flush_if_due();
                        if core.script.is_some() {
                            r.flush();
                        }
                    }
                    // The session's script watches (a bridge passes bytes unchanged).
                    super::script::watch(core, |s| s.frame(data));
                    // The port sets the pace: a client that sends faster waits here.
                    if self.to_port.send(data.to_vec()).await.is_err() {
                        return Err(vanished());
                    }
                }
                piece = from_port.recv() => match piece {
                    Some(bytes) => {
                        writer.write_all(&bytes).await.map_err(at_peer)?;
                        counters.add_tx(bytes.len());
                    }
                    // The hub let this client go: the port vanished, or it fell behind.
                    None if self.gone.is_cancelled() => return Err(vanished()),
                    None => {
                        return Err(NetError::because(NetErrorKind::Guard, Reason::FellBehind)
                            .at(peer))
                    }
                },
                () = tokio::time::sleep_until(deadline.unwrap_or_else(std::time::Instant::now).into()),
                    if deadline.is_some() => {
                    if let Ok(mut r) = record.lock() {
                        r.flush();
                    }
                }
            }
        }
    }
}

fn vanished() -> NetError {
    NetError::because(NetErrorKind::PortMissing, Reason::PortVanished)
}

/// The port's one owner: reads it (recorded once, under the port's name) and hands each piece
/// to every client; writes what the clients send. Reading and writing go on at once (the port
/// split in two), so a long write at a low baud never keeps the device's answers waiting in
/// the system's buffer.
async fn hub(
    core: SessionCore,
    port: tokio_serial::SerialStream,
    mut from_clients: mpsc::Receiver<Vec<u8>>,
    clients: Clients,
    gone: CancellationToken,
) {
    let (mut port_read, mut port_write) = tokio::io::split(port);
    let writer = async {
        while let Some(bytes) = from_clients.recv().await {
            if port_write.write_all(&bytes).await.is_err() {
                break;
            }
            core.counters.add_tx(bytes.len());
        }
    };
    let mut record = Batcher::new(&core, None);
    let reader = async {
        let mut buf = ReadBuffer::new();
        let mut behind = Vec::new();
        loop {
            let deadline = record.deadline();
            tokio::select! {
                read = port_read.read(buf.space()) => {
                    let n = match read {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let data = buf.filled(n);
                    core.counters.add_rx(n);
                    core.keep(None, data);
                    record.received(NO_ADDRESS, data, std::time::SystemTime::now());
                    record.flush_if_due();
                    if core.script.is_some() {
                        record.flush();
                        super::script::watch(&core, |s| s.frame(data));
                    }
                    let piece: Arc<[u8]> = Arc::from(data);
                    if let Ok(mut clients) = clients.lock() {
                        for (id, tx) in clients.iter() {
                            if tx.try_send(piece.clone()).is_err() {
                                behind.push(*id);
                            }
                        }
                        // Let go: its receiver ends, and it says why.
                        for id in behind.drain(..) {
                            clients.remove(&id);
                        }
                    }
                }
                () = tokio::time::sleep_until(deadline.unwrap_or_else(std::time::Instant::now).into()),
                    if deadline.is_some() => record.flush(),
            }
        }
    };
    // Either side ending (the port gone, or the bridge closing) ends the hub.
    tokio::select! {
        () = writer => {}
        () = reader => {}
    }
    record.finish();
    // The port is gone: every client ends, and the bridge with them.
    gone.cancel();
    if let Ok(mut clients) = clients.lock() {
        clients.clear();
    }
}
