//! TCP server session: listens where the user said and serves many clients at once.

use super::shared::{Sent, SessionCore, SessionKind, Step};
use super::tcp_conn::{self, ConnHandle, Stream};
use super::tls::{self, TlsInfo, TlsSettings};
use super::transfer::FileSink;
use super::{
    sockets, Command, ConnId, CountersSnapshot, Event, NetError, NetErrorKind, Reason, SendTarget,
    SocketOptions, Transport,
};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// A listening (or formerly listening) TCP server session.
pub(crate) struct TcpServer {
    listener: Option<TcpListener>,
    clients: Clients,
    ended_tx: UnboundedSender<ConnId>,
    ended: UnboundedReceiver<ConnId>,
    echo: bool,
    options: SocketOptions,
    /// TLS: handshakes run beside the accept loop, at most [`MAX_HANDSHAKES`] at once, and
    /// their results come back here.
    tls: Option<Arc<rustls::ServerConfig>>,
    handshakes: Arc<tokio::sync::Semaphore>,
    secured_tx: mpsc::Sender<Handshake>,
    secured: mpsc::Receiver<Handshake>,
}

/// Handshakes in progress at most: a flood of silent peers cannot take more (each gets
/// [`tls::HANDSHAKE_TIMEOUT`]); past it new connections are closed at once, and said so.
const MAX_HANDSHAKES: usize = 64;

/// A finished handshake: the secured stream and what it agreed, or why it failed.
type Handshake = (SocketAddr, Result<(Stream, TlsInfo), NetError>);

/// Binds and listens; fails with "address in use" and the like before anything is shown open.
pub(crate) fn open(
    core: &SessionCore,
    bind: SocketAddr,
    echo: bool,
    options: &SocketOptions,
    tls: Option<TlsSettings>,
) -> Result<TcpServer, NetError> {
    // A bad certificate or key stops the session before anything listens.
    let tls = match tls {
        Some(TlsSettings::Server(settings)) => Some(tls::server_config(&settings)?),
        Some(TlsSettings::Client(_) | TlsSettings::Relay { .. }) => {
            return Err(NetError::new(
                NetErrorKind::TlsSetup,
                "client TLS settings given to a server",
            ))
        }
        None => None,
    };
    let listener = listen(core, bind, options)?;
    // Unbounded, bounded in fact: one message per connection that ends.
    #[allow(clippy::disallowed_methods)]
    let (ended_tx, ended) = unbounded_channel();
    let (secured_tx, secured) = mpsc::channel(MAX_HANDSHAKES);
    Ok(TcpServer {
        listener: Some(listener),
        clients: Clients::default(),
        ended_tx,
        ended,
        echo,
        options: options.clone(),
        tls,
        handshakes: Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES)),
        secured_tx,
        secured,
    })
}

/// Binds and listens where the user said (TCP and WebSocket servers alike) and says the
/// session is open; "address in use" and the like come back before anything is shown open.
pub(crate) fn listen(
    core: &SessionCore,
    bind: SocketAddr,
    options: &SocketOptions,
) -> Result<TcpListener, NetError> {
    let with_addr = |e: std::io::Error| NetError::from_io(&e).at(bind);
    let socket = sockets::new_socket(&bind, false).map_err(with_addr)?;
    options.apply(&socket, true).map_err(with_addr)?;
    socket.bind(&bind.into()).map_err(with_addr)?;
    socket.listen(1024).map_err(with_addr)?;
    socket.set_nonblocking(true).map_err(with_addr)?;
    let listener = TcpListener::from_std(socket.into()).map_err(with_addr)?;
    let local = listener.local_addr().map_err(with_addr)?;
    core.announce(Event::Opened {
        session: core.id,
        local,
        peer: None,
    });
    Ok(listener)
}

impl TcpServer {
    /// Starts a client's handshake beside the accept loop, if a slot is free.
    fn shake_hands(
        &self,
        core: &SessionCore,
        config: Arc<rustls::ServerConfig>,
        stream: tokio::net::TcpStream,
        peer: SocketAddr,
    ) {
        let Ok(slot) = self.handshakes.clone().try_acquire_owned() else {
            core.error(
                NetError::because(
                    NetErrorKind::Guard,
                    Reason::TooManyHandshakes(MAX_HANDSHAKES),
                )
                .at(peer),
            );
            return;
        };
        let done = self.secured_tx.clone();
        core.spawn_small(async move {
            let result = tls::accept(config, stream)
                .await
                .map(|(s, info)| (Stream::Tls(Box::new(s)), info));
            drop(slot);
            let _ = done.send((peer, result)).await;
        });
    }
}

impl SessionKind for TcpServer {
    async fn next(&mut self, core: &SessionCore) -> Step {
        tokio::select! {
            accepted = super::sockets::accept(&self.listener) => match accepted {
                Ok((stream, peer)) => {
                    if let Err(e) = self.options.apply_stream(&stream) {
                        core.error(e.into());
                    }
                    match &self.tls {
                        None => {
                            let conn = tcp_conn::spawn(
                                core,
                                Stream::Plain(stream),
                                peer,
                                self.echo,
                                None,
                                self.ended_tx.clone(),
                            );
                            self.clients.conns.insert(conn.id, conn);
                        }
                        Some(config) => self.shake_hands(core, config.clone(), stream, peer),
                    }
                }
                Err(e) => {
                    // E.g. out of file descriptors: say so, and do not spin.
                    core.error(NetError::from_io(&e));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(id) = self.ended.recv() => {
                self.clients.conns.remove(&id);
            }
            Some((peer, done)) = self.secured.recv() => match done {
                Ok((stream, info)) => {
                    let conn =
                        tcp_conn::spawn(core, stream, peer, self.echo, Some(info), self.ended_tx.clone());
                    self.clients.conns.insert(conn.id, conn);
                }
                // The server goes on; the log says who failed and why.
                Err(e) => core.error(e.at(peer)),
            },
        }
        Step::Continue
    }

    async fn send(
        &mut self,
        _core: &SessionCore,
        target: &SendTarget,
        bytes: &[u8],
        ack: Option<u64>,
    ) -> Result<Sent, NetError> {
        self.clients.send(target, bytes, ack).await
    }

    async fn command(&mut self, core: &SessionCore, command: Command) {
        match command {
            Command::Disconnect { conn, .. } => self.clients.disconnect(core, conn),
            Command::StopListening { keep_clients, .. } => {
                if self.listener.take().is_some() {
                    core.sink.send(Event::ListenStopped { session: core.id });
                }
                if !keep_clients {
                    self.clients.close();
                }
            }
            _ => core.error(NetError::because(
                NetErrorKind::NotAvailable,
                Reason::NotForThisKind(Transport::TcpServer),
            )),
        }
    }

    async fn file_sink(
        &mut self,
        _core: &SessionCore,
        target: &SendTarget,
    ) -> Result<FileSink, NetError> {
        self.clients.file_sink(target)
    }

    fn conn_stats(&self) -> Vec<(ConnId, CountersSnapshot)> {
        self.clients.stats()
    }

    fn reset_stats(&self) {
        self.clients.reset_stats();
    }

    async fn shutdown(mut self, _core: &SessionCore) {
        self.listener = None;
        self.clients.close_all().await;
    }
}

/// A server's connected clients (TCP or WebSocket): sends to one or all, disconnects,
/// counters, the end.
#[derive(Default)]
pub(crate) struct Clients {
    pub conns: BTreeMap<ConnId, ConnHandle>,
}

impl Clients {
    /// Sends to one client or all of them, each getting its copy; the first failure is
    /// reported after trying all.
    pub async fn send(
        &self,
        target: &SendTarget,
        bytes: &[u8],
        ack: Option<u64>,
    ) -> Result<Sent, NetError> {
        match target {
            SendTarget::Default | SendTarget::AllClients => {
                if self.conns.is_empty() {
                    return Err(NetError::new(
                        NetErrorKind::NotConnected,
                        "no client is connected",
                    ));
                }
                let mut first_error = None;
                for conn in self.conns.values() {
                    if let Err(e) = conn.send(bytes, ack).await {
                        first_error.get_or_insert(e);
                    }
                }
                first_error.map_or(Ok(Sent::Queued), Err)
            }
            SendTarget::Conn(id) => match self.conns.get(id) {
                Some(conn) => conn.send(bytes, ack).await.map(|()| Sent::Queued),
                None => Err(NetError::new(
                    NetErrorKind::NotConnected,
                    "that client is no longer connected",
                )),
            },
            SendTarget::To(_) | SendTarget::LastSender => Err(NetError::because(
                NetErrorKind::NotAvailable,
                Reason::ServerSendsToClients,
            )),
        }
    }

    pub fn disconnect(&self, core: &SessionCore, conn: ConnId) {
        match self.conns.get(&conn) {
            Some(c) => c.close(),
            None => core.error(NetError::new(
                NetErrorKind::NotConnected,
                "that client is no longer connected",
            )),
        }
    }

    /// Asks every client to close.
    pub fn close(&self) {
        for conn in self.conns.values() {
            conn.close();
        }
    }

    pub fn file_sink(&self, target: &SendTarget) -> Result<FileSink, NetError> {
        let queues: Vec<_> = match target {
            SendTarget::Conn(id) => self.conns.get(id).map(|c| c.queue()).into_iter().collect(),
            _ => self.conns.values().map(|c| c.queue()).collect(),
        };
        if queues.is_empty() {
            return Err(NetError::new(
                NetErrorKind::NotConnected,
                "no client to send the file to",
            ));
        }
        Ok(FileSink::Tcp(queues))
    }

    pub fn stats(&self) -> Vec<(ConnId, CountersSnapshot)> {
        self.conns
            .values()
            .map(|c| (c.id, c.counters.snapshot()))
            .collect()
    }

    pub fn reset_stats(&self) {
        for c in self.conns.values() {
            c.counters.reset();
        }
    }

    pub async fn close_all(&mut self) {
        tcp_conn::close_all(std::mem::take(&mut self.conns).into_values()).await;
    }
}
