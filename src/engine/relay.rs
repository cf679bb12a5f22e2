//! Relay (man in the middle): listen on A; for each client connect to B and forward both ways,
//! logging what each side says with its address. TCP and UDP.

use super::batch::Batcher;
use super::shared::{Sent, SessionCore, SessionKind, Step};
use super::stats::Counters;
use super::tcp_conn::{ReadBuffer, Stream};
use super::tls;
use super::{
    sockets, CloseReason, Command, ConnId, CountersSnapshot, Event, NetError, NetErrorKind, Reason,
    SendTarget, SocketOptions, Transport,
};
use crate::payload::framing::FrameKind;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio_util::task::AbortOnDropHandle;

/// Clients relayed at once (TCP); one more is refused with a note.
pub const MAX_RELAY_CLIENTS: usize = 256;
/// UDP clients with an upstream socket at once; the least recently heard one gives way.
pub const MAX_UDP_UPSTREAMS: usize = 256;
/// A UDP client's upstream socket closes after this long with nothing either way.
pub const UDP_UPSTREAM_IDLE: Duration = Duration::from_secs(60);

/// One relayed TCP client.
struct RelayConn {
    peer: SocketAddr,
    counters: Arc<Counters>,
    task: AbortOnDropHandle<()>,
}

/// A relay's TLS: towards its clients (a server config), towards its target (a client config
/// with the settings it was made from).
#[derive(Clone, Default)]
struct RelayTls {
    listen: Option<Arc<rustls::ServerConfig>>,
    target: Option<(Arc<rustls::ClientConfig>, Arc<tls::TlsClientSettings>)>,
}

/// A relay session.
pub(crate) struct Relay {
    tls: RelayTls,
    listener: Option<TcpListener>,
    udp: Option<AbortOnDropHandle<()>>,
    target: String,
    /// A bridge: `target` is a serial port, opened per client with these settings.
    serial: Option<super::serial::BridgeTo>,
    /// A bridge with `max_clients` above 1: the port, opened once and shared.
    shared: Option<Arc<super::shared_port::SharedPort>>,
    conns: BTreeMap<ConnId, RelayConn>,
    ended_tx: UnboundedSender<ConnId>,
    ended: UnboundedReceiver<ConnId>,
}

/// Is `target` the relay's own listening address? `listen` may be unspecified (all
/// interfaces), then any address of this machine on the same port is itself.
fn is_itself(listen: SocketAddr, target: SocketAddr) -> bool {
    if listen.port() != target.port() {
        return false;
    }
    let ip = canonical(target.ip());
    if ip == canonical(listen.ip()) || ip.is_loopback() && listen.ip().is_loopback() {
        return true;
    }
    listen.ip().is_unspecified()
        && (ip.is_loopback()
            || ip.is_unspecified()
            || if_addrs::get_if_addrs()
                .map(|list| list.iter().any(|i| canonical(i.ip()) == ip))
                .unwrap_or(false))
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn refuse_itself(target: &str) -> NetError {
    NetError::because(NetErrorKind::InvalidAddress, Reason::RelayToItself).at(target)
}

/// Binds the listening side.
pub(crate) async fn open(
    core: &SessionCore,
    listen: SocketAddr,
    target: String,
    udp: bool,
    tls: Option<tls::TlsSettings>,
    serial: Option<super::serial::BridgeTo>,
) -> Result<Relay, NetError> {
    if serial.is_none() {
        super::resolve::parse_host_port(&target)?;
    }
    // Certificates and keys are read before anything listens.
    let tls = match tls {
        None => RelayTls::default(),
        Some(_) if udp => {
            return Err(NetError::new(
                NetErrorKind::TlsSetup,
                "TLS is for a TCP relay",
            ))
        }
        Some(tls::TlsSettings::Relay { listen, target }) => RelayTls {
            listen: listen.as_ref().map(tls::server_config).transpose()?,
            target: match target {
                Some(s) => Some((tls::client_config(&s)?, Arc::new(s))),
                None => None,
            },
        },
        Some(_) => {
            return Err(NetError::new(
                NetErrorKind::TlsSetup,
                "client or server TLS settings given to a relay",
            ))
        }
    };
    // A name that does not resolve yet is tried again per client; one that resolves to this
    // relay is refused now.
    if serial.is_none() {
        if let Ok(target_addr) = super::resolve::resolve_first(&target).await {
            if is_itself(listen, target_addr) {
                return Err(refuse_itself(&target));
            }
        }
    }
    let with_addr = |e: std::io::Error| NetError::from_io(&e).at(listen);
    let socket = sockets::new_socket(&listen, udp).map_err(with_addr)?;
    SocketOptions::default()
        .apply(&socket, !udp)
        .map_err(with_addr)?;
    socket.bind(&listen.into()).map_err(with_addr)?;
    socket.set_nonblocking(true).map_err(with_addr)?;
    // Unbounded, bounded in fact: one message per client that ends (at most MAX_RELAY_CLIENTS).
    #[allow(clippy::disallowed_methods)]
    let (ended_tx, ended) = unbounded_channel();
    // A shared port is opened now: a port that is missing or busy stops the bridge opening.
    let shared = match serial {
        Some(bridge) if bridge.max_clients > 1 => Some(Arc::new(super::shared_port::open(
            core,
            &target,
            bridge.settings,
        )?)),
        _ => None,
    };
    let mut relay = Relay {
        tls,
        listener: None,
        udp: None,
        target,
        serial,
        shared,
        conns: BTreeMap::new(),
        ended_tx,
        ended,
    };
    let local = if udp {
        sockets::set_recv_buffer(&socket, sockets::UDP_RECV_BUFFER);
        let socket = Arc::new(UdpSocket::from_std(socket.into()).map_err(with_addr)?);
        let local = socket.local_addr().map_err(with_addr)?;
        let task = tokio::spawn(udp_relay(core.clone(), socket, relay.target.clone()));
        relay.udp = Some(AbortOnDropHandle::new(task));
        local
    } else {
        socket.listen(128).map_err(with_addr)?;
        let listener = TcpListener::from_std(socket.into()).map_err(with_addr)?;
        let local = listener.local_addr().map_err(with_addr)?;
        relay.listener = Some(listener);
        local
    };
    core.announce(Event::Opened {
        session: core.id,
        local,
        peer: None,
    });
    Ok(relay)
}

/// A relayed connection's record: both directions, in the order they passed.
type Record = Arc<std::sync::Mutex<Batcher>>;

/// Copies one direction, counting and logging what passes with its source's address; the log
/// is flushed on time even when the burst ends. A failure says which side it came from.
#[allow(clippy::too_many_arguments)]
async fn pipe(
    core: &SessionCore,
    conn: ConnId,
    record: &Record,
    counters: &Counters,
    from: SocketAddr,
    to: SocketAddr,
    mut reader: impl AsyncRead + Unpin,
    mut writer: impl AsyncWrite + Unpin,
) -> Result<(), NetError> {
    let mut buf = ReadBuffer::new();
    // Each direction is framed on its own (what passes is not changed).
    let mut framer = core.framer();
    let idle_after = framer.as_ref().and_then(|f| f.idle_after());
    let mut last_read = Instant::now();
    let with_record = |f: &mut dyn FnMut(&mut Batcher)| {
        if let Ok(mut r) = record.lock() {
            f(&mut r);
        }
    };
    let failed_at = |side: SocketAddr| {
        move |e: std::io::Error| match e.kind() {
            // A TLS side closed without close_notify: closed all the same.
            std::io::ErrorKind::UnexpectedEof => None,
            _ => Some(
                tls::tls_failure(&e)
                    .unwrap_or_else(|| NetError::from_io(&e))
                    .at(side),
            ),
        }
    };
    // Whole frames (or, unframed, each read) for the session's script, which watches.
    let mut to_script: Vec<Vec<u8>> = Vec::new();
    let result: Result<(), Option<NetError>> = async {
        loop {
            let deadline = record.lock().ok().and_then(|r| r.deadline());
            let idle_at = idle_after
                .filter(|_| framer.as_ref().is_some_and(|f| f.pending() > 0))
                .map(|d| last_read + d);
            let n = tokio::select! {
                read = reader.read(buf.space()) => read.map_err(failed_at(from))?,
                () = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now).into()),
                    if deadline.is_some() => {
                    with_record(&mut |r| r.flush());
                    continue;
                }
                () = tokio::time::sleep_until(idle_at.unwrap_or_else(Instant::now).into()),
                    if idle_at.is_some() => {
                    if let Some(frame) = framer.as_mut().and_then(|f| f.idle()) {
                        let now = std::time::SystemTime::now();
                        with_record(&mut |r| {
                            r.push_frame(from, &frame.bytes, frame.kind, now);
                            r.flush();
                        });
                    }
                    continue;
                }
            };
            last_read = Instant::now();
            if n == 0 {
                writer.shutdown().await.map_err(failed_at(to))?;
                return Ok(());
            }
            let now = std::time::SystemTime::now();
            let data = buf.filled(n);
            counters.add_rx(n);
            core.counters.add_rx(n);
            core.keep(Some(conn), data);
            let watching = core.script.is_some();
            with_record(&mut |r| {
                match framer.as_mut() {
                    Some(framer) => {
                        framer.push_with(data, &mut |bytes, kind| {
                            r.push_frame(from, bytes, kind, now);
                            if watching && kind == FrameKind::Whole {
                                to_script.push(bytes.to_vec());
                            }
                        });
                    }
                    None => {
                        r.received(from, data, now);
                        if watching {
                            to_script.push(data.to_vec());
                        }
                    }
                }
                r.flush_if_due();
            });
            if !to_script.is_empty() {
                // What the script logs comes after what it saw.
                with_record(&mut |r| r.flush());
                for frame in to_script.drain(..) {
                    super::script::watch(core, |s| s.frame(&frame));
                }
            }
            writer.write_all(data).await.map_err(failed_at(to))?;
            counters.add_tx(n);
            core.counters.add_tx(n);
        }
    }
    .await;
    if let Some(frame) = framer.as_mut().and_then(|f| f.finish()) {
        let now = std::time::SystemTime::now();
        with_record(&mut |r| r.push_frame(from, &frame.bytes, frame.kind, now));
    }
    with_record(&mut |r| r.flush());
    match result {
        Ok(()) | Err(None) => Ok(()),
        Err(Some(e)) => Err(e),
    }
}

/// Says what a handshake with `peer` agreed.
fn secured_event(core: &SessionCore, conn: ConnId, peer: SocketAddr, info: tls::TlsInfo) {
    core.sink.send(Event::Secured {
        session: core.id,
        conn,
        peer,
        info,
    });
}

/// How long a client may go on sending once the target has closed its side.
const AFTER_TARGET_CLOSED: Duration = Duration::from_secs(1);

/// A second handle on a TCP socket, to reset it however its halves are held.
fn reset_handle(stream: &tokio::net::TcpStream) -> Option<socket2::Socket> {
    socket2::SockRef::from(stream).try_clone().ok()
}

/// Makes the socket's close a reset (once every handle on it is dropped).
fn reset(handle: Option<&socket2::Socket>) {
    if let Some(socket) = handle {
        let _ = socket.set_linger(Some(Duration::ZERO));
    }
}

#[allow(clippy::too_many_arguments)]
async fn relay_client(
    core: SessionCore,
    conn: ConnId,
    client: tokio::net::TcpStream,
    peer: SocketAddr,
    target: String,
    tls: RelayTls,
    counters: Arc<Counters>,
    ended: UnboundedSender<ConnId>,
    serial: Option<super::serial::BridgeTo>,
) {
    let client_handle = reset_handle(&client);
    let mut target_handle = None;
    // The session's script (it watches) meets the client first.
    super::script::watch(&core, |s| s.call("on_open"));
    let record: Record = Arc::new(std::sync::Mutex::new(Batcher::new(&core, Some(conn))));
    let reason = async {
        // A bridge: the "target" is a serial port, opened for this client (its lock makes it
        // one client at a time: the next is refused, said as the port being in use).
        let (client, upstream, addr) = if let Some(bridge) = serial {
            let client = accept_client(&core, conn, peer, tls.listen, client).await?;
            let port = super::serial::open_stream(&target, bridge.settings)?;
            if bridge.rfc2217 {
                let (record, counters) = (&*record, &*counters);
                return super::rfc2217::serve(
                    &core,
                    conn,
                    record,
                    counters,
                    client,
                    peer,
                    port,
                    bridge.settings,
                )
                .await;
            }
            (
                client,
                Stream::Serial(Box::new(port)),
                super::serial::NO_ADDRESS,
            )
        } else {
            let addr = super::resolve::resolve_first(&target).await?;
            // Checked before connecting: a connection to itself would be accepted as a new client,
            // which would connect again, and so on.
            if client
                .local_addr()
                .is_ok_and(|local| is_itself(local, addr))
            {
                return Err(refuse_itself(&target));
            }
            // The client's TLS first (it is waiting), then the target's.
            let client = accept_client(&core, conn, peer, tls.listen, client).await?;
            let upstream =
                super::sockets::connect(addr, Duration::from_secs(5), &SocketOptions::default())
                    .await?;
            target_handle = reset_handle(&upstream);
            let upstream = match tls.target {
                Some((config, settings)) => {
                    let host = super::resolve::host_of(&target);
                    let (secured, info) = tls::connect(config, &settings, host, upstream)
                        .await
                        .map_err(|e| e.at(addr))?;
                    secured_event(&core, conn, addr, info);
                    Stream::Tls(Box::new(secured))
                }
                None => Stream::Plain(upstream),
            };
            (client, upstream, addr)
        };
        let (cr, cw) = tokio::io::split(client);
        let (ur, uw) = tokio::io::split(upstream);
        let up = pipe(&core, conn, &record, &counters, peer, addr, cr, uw);
        let down = pipe(&core, conn, &record, &counters, addr, peer, ur, cw);
        tokio::pin!(up, down);
        tokio::select! {
            // The target ended: the client was told the same way (a FIN), and may finish
            // what it is sending for a moment; a target that failed or reset fails the client
            // at once.
            ended = &mut down => match ended {
                Ok(()) => match tokio::time::timeout(AFTER_TARGET_CLOSED, &mut up).await {
                    Ok(up) => up,
                    Err(_) => Ok(()),
                },
                Err(e) => Err(e),
            },
            // The client finished sending (a FIN passed on): the target may still answer —
            // a serial port never says it is done: the client's end is the end.
            ended = &mut up => match ended {
                Ok(()) if serial.is_some() => Ok(()),
                Ok(()) => down.await,
                Err(e) => Err(e),
            },
        }
    }
    .await;
    if reason.is_err() {
        // A side that failed or reset: the other is reset too, at once.
        reset(client_handle.as_ref());
        reset(target_handle.as_ref());
    }
    drop(client_handle);
    drop(target_handle);
    relayed_end(&core, conn, peer, &record, reason, &ended);
}

/// The client's side of a relayed connection: its TLS handshake (said) when the relay
/// listens with TLS, else the plain socket.
async fn accept_client(
    core: &SessionCore,
    conn: ConnId,
    peer: SocketAddr,
    listen: Option<Arc<rustls::ServerConfig>>,
    client: tokio::net::TcpStream,
) -> Result<Stream, NetError> {
    match listen {
        Some(config) => {
            let (secured, info) = tls::accept(config, client).await.map_err(|e| e.at(peer))?;
            secured_event(core, conn, peer, info);
            Ok(Stream::Tls(Box::new(secured)))
        }
        None => Ok(Stream::Plain(client)),
    }
}

/// A relayed connection has ended: its record finished, the script told, the close said (after
/// everything that passed), the relay told.
fn relayed_end(
    core: &SessionCore,
    conn: ConnId,
    peer: SocketAddr,
    record: &Record,
    reason: Result<(), NetError>,
    ended: &UnboundedSender<ConnId>,
) {
    if let Ok(mut record) = record.lock() {
        record.finish();
    }
    super::script::watch(core, |s| s.call("on_close"));
    core.announce(Event::ConnClosed {
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

/// A client of a bridge whose port is shared: its TLS (if any), then the shared port.
#[allow(clippy::too_many_arguments)]
async fn shared_client(
    core: SessionCore,
    conn: ConnId,
    client: tokio::net::TcpStream,
    peer: SocketAddr,
    shared: Arc<super::shared_port::SharedPort>,
    tls: RelayTls,
    counters: Arc<Counters>,
    ended: UnboundedSender<ConnId>,
) {
    let record: Record = Arc::new(std::sync::Mutex::new(Batcher::new(&core, Some(conn))));
    super::script::watch(&core, |s| s.call("on_open"));
    let reason = async {
        let client = accept_client(&core, conn, peer, tls.listen, client).await?;
        shared
            .serve(&core, conn, &record, &counters, client, peer)
            .await
    }
    .await;
    relayed_end(&core, conn, peer, &record, reason, &ended);
}

impl Relay {
    /// Clients at once: a bridge's own limit, else the relay's.
    fn max_clients(&self) -> usize {
        match self.serial {
            Some(bridge) if bridge.max_clients > 1 => bridge.max_clients.min(MAX_RELAY_CLIENTS),
            _ => MAX_RELAY_CLIENTS,
        }
    }
}

/// The upstream socket of one UDP client, and the task carrying its answers back.
struct Upstream {
    socket: Arc<UdpSocket>,
    last_used: Instant,
    _back: AbortOnDropHandle<()>,
}

/// UDP: each client address gets its own upstream socket (at most [`MAX_UDP_UPSTREAMS`],
/// each closed after [`UDP_UPSTREAM_IDLE`]); answers go back to that client.
async fn udp_relay(core: SessionCore, socket: Arc<UdpSocket>, target: String) {
    let mut upstreams: HashMap<SocketAddr, Upstream> = HashMap::new();
    let mut buf = vec![0u8; 65536];
    // One record for the session: each client's datagrams and the target's answers.
    let record: Record = Arc::new(std::sync::Mutex::new(Batcher::new(&core, None)));
    let mut last_sweep = Instant::now();
    loop {
        if last_sweep.elapsed() >= Duration::from_secs(1) {
            upstreams.retain(|_, u| u.last_used.elapsed() < UDP_UPSTREAM_IDLE);
            last_sweep = Instant::now();
        }
        let received = tokio::time::timeout(super::batch::TICK, socket.recv_from(&mut buf)).await;
        let (n, client) = match received {
            Err(_) => {
                if let Ok(mut r) = record.lock() {
                    r.flush();
                }
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
        core.keep(None, &buf[..n]);
        if let Ok(mut r) = record.lock() {
            r.received(client, &buf[..n], std::time::SystemTime::now());
            r.flush_if_due();
        }
        let upstream = match upstreams.get_mut(&client) {
            Some(u) => u,
            None => {
                if upstreams.len() >= MAX_UDP_UPSTREAMS {
                    let oldest = upstreams
                        .iter()
                        .min_by_key(|(_, u)| u.last_used)
                        .map(|(a, _)| *a);
                    if let Some(a) = oldest {
                        upstreams.remove(&a);
                    }
                }
                match udp_upstream(&core, &record, &socket, client, &target).await {
                    Ok(u) => upstreams.entry(client).or_insert(u),
                    Err(e) => {
                        core.error(e);
                        continue;
                    }
                }
            }
        };
        upstream.last_used = Instant::now();
        if upstream.socket.send(&buf[..n]).await.is_ok() {
            core.counters.add_tx(n);
        }
    }
}

/// Opens the upstream socket of one UDP client and starts carrying answers back.
async fn udp_upstream(
    core: &SessionCore,
    record: &Record,
    listen: &Arc<UdpSocket>,
    client: SocketAddr,
    target: &str,
) -> Result<Upstream, NetError> {
    let dest = super::resolve::resolve_first(target).await?;
    if listen.local_addr().is_ok_and(|l| is_itself(l, dest)) {
        return Err(refuse_itself(target));
    }
    let bind = if dest.is_ipv6() {
        SocketAddr::from(([0u16; 8], 0))
    } else {
        SocketAddr::from(([0, 0, 0, 0], 0))
    };
    let up = Arc::new(UdpSocket::bind(bind).await?);
    up.connect(dest).await?;
    let (core, listen, back, record) = (core.clone(), listen.clone(), up.clone(), record.clone());
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        loop {
            match tokio::time::timeout(super::batch::TICK, back.recv(&mut buf)).await {
                Err(_) => {
                    if let Ok(mut r) = record.lock() {
                        r.flush();
                    }
                }
                Ok(Ok(n)) => {
                    core.counters.add_rx(n);
                    if let Ok(mut r) = record.lock() {
                        r.received(dest, &buf[..n], std::time::SystemTime::now());
                        r.flush_if_due();
                    }
                    if listen.send_to(&buf[..n], client).await.is_ok() {
                        core.counters.add_tx(n);
                    }
                }
                Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    Ok(Upstream {
        socket: up,
        last_used: Instant::now(),
        _back: AbortOnDropHandle::new(task),
    })
}

impl SessionKind for Relay {
    async fn next(&mut self, core: &SessionCore) -> Step {
        tokio::select! {
            accepted = super::sockets::accept(&self.listener) => match accepted {
                Ok((stream, peer)) if self.conns.len() >= self.max_clients() => {
                    drop(stream);
                    core.error(
                        NetError::because(
                            NetErrorKind::Guard,
                            Reason::TooManyClients(self.max_clients()),
                        )
                        .at(peer),
                    );
                }
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let conn = ConnId(super::tcp_conn::NEXT_CONN.fetch_add(1, Ordering::Relaxed));
                    core.announce(Event::ConnOpened {
                        session: core.id,
                        conn,
                        peer,
                        local: stream.local_addr().unwrap_or(peer),
                    });
                    let counters = Arc::new(Counters::default());
                    let task = match &self.shared {
                        Some(shared) => AbortOnDropHandle::new(tokio::spawn(shared_client(core.clone(), conn, stream, peer, shared.clone(), self.tls.clone(), counters.clone(), self.ended_tx.clone()))),
                        None => AbortOnDropHandle::new(tokio::spawn(relay_client(core.clone(), conn, stream, peer, self.target.clone(), self.tls.clone(), counters.clone(), self.ended_tx.clone(), self.serial))),
                    };
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
            // A shared port that vanished ends the bridge (its clients end with it).
            () = async {
                match &self.shared {
                    Some(shared) => shared.gone().cancelled().await,
                    None => std::future::pending().await,
                }
            } => {
                return Step::End(Some(NetError::because(
                    NetErrorKind::PortMissing,
                    Reason::PortVanished,
                ).at(&self.target)));
            }
        }
        Step::Continue
    }

    async fn send(
        &mut self,
        _core: &SessionCore,
        _target: &SendTarget,
        _bytes: &[u8],
        _ack: Option<u64>,
    ) -> Result<Sent, NetError> {
        Err(NetError::because(
            NetErrorKind::NotAvailable,
            Reason::NotForThisKind(Transport::Relay),
        ))
    }

    async fn file_sink(
        &mut self,
        _core: &SessionCore,
        _target: &SendTarget,
    ) -> Result<super::transfer::FileSink, NetError> {
        Err(NetError::because(
            NetErrorKind::NotAvailable,
            Reason::NotForThisKind(Transport::Relay),
        ))
    }

    async fn command(&mut self, core: &SessionCore, command: Command) {
        match command {
            Command::Disconnect { conn, .. } => {
                if let Some(c) = self.conns.remove(&conn) {
                    c.task.abort();
                    core.announce(Event::ConnClosed {
                        session: core.id,
                        conn,
                        peer: c.peer,
                        reason: CloseReason::LocalClosed,
                    });
                }
            }
            _ => core.error(NetError::because(
                NetErrorKind::NotAvailable,
                Reason::NotForThisKind(Transport::Relay),
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
        // Dropping the handles aborts the tasks: a relay holds no data of its own to flush.
        self.listener = None;
        self.udp = None;
        self.conns.clear();
    }
}
