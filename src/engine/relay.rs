//! Relay (man in the middle): listen on A; for each client connect to B and forward both ways,
//! logging what each side says with its address. TCP and UDP.

use super::batch::Batcher;
use super::session::{SessionCore, SessionKind, Step};
use super::stats::Counters;
use super::{
    options, CloseReason, Command, ConnId, CountersSnapshot, Event, NetError, NetErrorKind,
    SendTarget, SocketOptions,
};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

/// One relayed TCP client.
struct RelayConn {
    peer: SocketAddr,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

/// A relay session.
pub(crate) struct Relay {
    listener: Option<TcpListener>,
    udp: Option<JoinHandle<()>>,
    target: String,
    conns: BTreeMap<ConnId, RelayConn>,
    ended_tx: UnboundedSender<ConnId>,
    ended: UnboundedReceiver<ConnId>,
}

/// Binds the listening side.
pub(crate) async fn open(
    core: &SessionCore,
    listen: SocketAddr,
    target: String,
    udp: bool,
) -> Result<Relay, NetError> {
    super::resolve::parse_host_port(&target)?;
    let with_addr = |e: std::io::Error| {
        let mut err = NetError::from_io(&e);
        err.detail = format!("{listen}: {}", err.detail);
        err
    };
    let socket = options::new_socket(&listen, udp).map_err(with_addr)?;
    SocketOptions::default()
        .apply(&socket, !udp)
        .map_err(with_addr)?;
    socket.bind(&listen.into()).map_err(with_addr)?;
    socket.set_nonblocking(true).map_err(with_addr)?;
    let (ended_tx, ended) = unbounded_channel();
    let mut relay = Relay {
        listener: None,
        udp: None,
        target,
        conns: BTreeMap::new(),
        ended_tx,
        ended,
    };
    let local = if udp {
        options::set_recv_buffer(&socket, options::UDP_RECV_BUFFER);
        let socket = Arc::new(UdpSocket::from_std(socket.into()).map_err(with_addr)?);
        let local = socket.local_addr().map_err(with_addr)?;
        relay.udp = Some(tokio::spawn(udp_relay(
            core.clone(),
            socket,
            relay.target.clone(),
        )));
        local
    } else {
        socket.listen(128).map_err(with_addr)?;
        let listener = TcpListener::from_std(socket.into()).map_err(with_addr)?;
        let local = listener.local_addr().map_err(with_addr)?;
        relay.listener = Some(listener);
        local
    };
    core.sink.send(Event::Opened {
        session: core.id,
        local,
        peer: None,
    });
    Ok(relay)
}

/// Copies one direction, counting and logging what passes with its source's address.
async fn pipe(
    core: &SessionCore,
    conn: ConnId,
    counters: &Counters,
    from: SocketAddr,
    mut reader: impl AsyncRead + Unpin,
    mut writer: impl AsyncWrite + Unpin,
) -> Result<(), NetError> {
    let mut buf = vec![0u8; 256 << 10];
    let mut batch = Batcher::new(core.id, Some(conn));
    let result = async {
        loop {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                writer.shutdown().await?;
                return Ok(());
            }
            counters.add_rx(n);
            core.counters.add_rx(n);
            core.capture(&buf[..n]);
            batch.push_stream(from, &buf[..n]);
            if batch.due() {
                batch.flush(&core.sink);
            }
            writer.write_all(&buf[..n]).await?;
            counters.add_tx(n);
            core.counters.add_tx(n);
        }
    }
    .await;
    batch.finish(&core.sink);
    result.map_err(|e: std::io::Error| NetError::from_io(&e))
}

async fn relay_client(
    core: SessionCore,
    conn: ConnId,
    client: tokio::net::TcpStream,
    peer: SocketAddr,
    target: String,
    counters: Arc<Counters>,
    ended: UnboundedSender<ConnId>,
) {
    let reason = async {
        let addr = super::resolve::resolve_first(&target).await?;
        let upstream =
            super::tcp_client::connect(addr, Duration::from_secs(5), &SocketOptions::default())
                .await?;
        let (cr, cw) = client.into_split();
        let (ur, uw) = upstream.into_split();
        let (a, b) = tokio::join!(
            pipe(&core, conn, &counters, peer, cr, uw),
            pipe(&core, conn, &counters, addr, ur, cw)
        );
        a.and(b)
    }
    .await;
    core.sink.send(Event::ConnClosed {
        session: core.id,
        conn,
        peer,
        reason: match reason {
            Ok(()) => CloseReason::PeerClosed,
            Err(e) => CloseReason::Failed(e),
        },
    });
    let _ = ended.send(conn);
}

/// UDP: each client address gets its own upstream socket; answers go back to that client.
async fn udp_relay(core: SessionCore, socket: Arc<UdpSocket>, target: String) {
    let mut upstreams: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    let mut buf = vec![0u8; 65536];
    let mut batch = Batcher::new(core.id, None);
    loop {
        let received = tokio::time::timeout(super::batch::TICK, socket.recv_from(&mut buf)).await;
        let (n, client) = match received {
            Err(_) => {
                batch.flush(&core.sink);
                continue;
            }
            Ok(Ok(r)) => r,
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => continue,
            Ok(Err(e)) => {
                core.error(NetError::from_io(&e));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        core.counters.add_rx(n);
        core.capture(&buf[..n]);
        batch.push_datagram(client, &buf[..n]);
        if batch.due() {
            batch.flush(&core.sink);
        }
        let upstream = match upstreams.get(&client) {
            Some(u) => u.clone(),
            None => match udp_upstream(&core, &socket, client, &target).await {
                Ok(u) => {
                    upstreams.insert(client, u.clone());
                    u
                }
                Err(e) => {
                    core.error(e);
                    continue;
                }
            },
        };
        if upstream.send(&buf[..n]).await.is_ok() {
            core.counters.add_tx(n);
        }
    }
}

/// Opens the upstream socket of one UDP client and starts carrying answers back.
async fn udp_upstream(
    core: &SessionCore,
    listen: &Arc<UdpSocket>,
    client: SocketAddr,
    target: &str,
) -> Result<Arc<UdpSocket>, NetError> {
    let dest = super::resolve::resolve_first(target).await?;
    let bind = if dest.is_ipv6() {
        SocketAddr::from(([0u16; 8], 0))
    } else {
        SocketAddr::from(([0, 0, 0, 0], 0))
    };
    let up = Arc::new(UdpSocket::bind(bind).await?);
    up.connect(dest).await?;
    let (core, listen, back) = (core.clone(), listen.clone(), up.clone());
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        let mut batch = Batcher::new(core.id, None);
        loop {
            match tokio::time::timeout(super::batch::TICK, back.recv(&mut buf)).await {
                Err(_) => batch.flush(&core.sink),
                Ok(Ok(n)) => {
                    core.counters.add_rx(n);
                    batch.push_datagram(dest, &buf[..n]);
                    if batch.due() {
                        batch.flush(&core.sink);
                    }
                    if listen.send_to(&buf[..n], client).await.is_ok() {
                        core.counters.add_tx(n);
                    }
                }
                Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    Ok(up)
}

impl SessionKind for Relay {
    async fn next(&mut self, core: &SessionCore) -> Step {
        tokio::select! {
            accepted = super::tcp_server::accept(&self.listener) => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let conn = ConnId(super::tcp_conn::NEXT_CONN.fetch_add(1, Ordering::Relaxed));
                    core.sink.send(Event::ConnOpened {
                        session: core.id,
                        conn,
                        peer,
                        local: stream.local_addr().unwrap_or(peer),
                    });
                    let counters = Arc::new(Counters::default());
                    let task = tokio::spawn(relay_client(core.clone(), conn, stream, peer, self.target.clone(), counters.clone(), self.ended_tx.clone()));
                    self.conns.insert(conn, RelayConn { peer, counters, task });
                }
                Err(e) => {
                    core.error(NetError::from_io(&e));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(id) = self.ended.recv() => {
                self.conns.remove(&id);
            }
        }
        Step::Continue
    }

    async fn send(
        &mut self,
        _core: &SessionCore,
        _target: &SendTarget,
        _bytes: &[u8],
    ) -> Result<(), NetError> {
        Err(NetError::new(
            NetErrorKind::Other,
            "a relay forwards; it does not send",
        ))
    }

    async fn file_sink(
        &mut self,
        _core: &SessionCore,
        _target: &SendTarget,
    ) -> Result<super::transfer::FileSink, NetError> {
        Err(NetError::new(
            NetErrorKind::Other,
            "a relay forwards; it does not send files",
        ))
    }

    async fn command(&mut self, core: &SessionCore, command: Command) {
        match command {
            Command::Disconnect { conn, .. } => {
                if let Some(c) = self.conns.remove(&conn) {
                    c.task.abort();
                    core.sink.send(Event::ConnClosed {
                        session: core.id,
                        conn,
                        peer: c.peer,
                        reason: CloseReason::LocalClosed,
                    });
                }
            }
            _ => core.error(NetError::new(
                NetErrorKind::Other,
                "not available for a relay",
            )),
        }
    }

    fn conn_stats(&self) -> Vec<(ConnId, CountersSnapshot)> {
        self.conns
            .iter()
            .map(|(id, c)| (*id, c.counters.snapshot()))
            .collect()
    }

    fn reset_stats(&self) {
        for c in self.conns.values() {
            c.counters.reset();
        }
    }

    async fn shutdown(mut self, _core: &SessionCore) {
        self.listener = None;
        if let Some(task) = self.udp.take() {
            task.abort();
        }
        for (_, c) in std::mem::take(&mut self.conns) {
            c.task.abort();
        }
    }
}
