//! The WebSocket server session: listens where the user said, upgrades each client beside the
//! accept loop (TLS first for `wss`), and serves the upgraded ones as a TCP server serves its
//! clients. Upgrades waiting are bounded: past [`MAX_UPGRADES`] the one waiting longest gives
//! way, so silent clients can never keep an honest one out.

use super::handshake::{self, Upgraded};
use super::{WsFailure, WsServerConfig};
use crate::engine::shared::{Sent, SessionCore, SessionKind, Step};
use crate::engine::tcp_conn::Stream;
use crate::engine::tcp_server::Clients;
use crate::engine::tls::{self, TlsInfo, TlsSettings};
use crate::engine::transfer::FileSink;
use crate::engine::{
    sockets, Command, ConnId, CountersSnapshot, Event, NetError, NetErrorKind, Reason, SendTarget,
    Transport,
};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc::{self, unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;

/// Upgrades (and TLS handshakes) waiting at once, at most.
const MAX_UPGRADES: usize = 256;

/// A finished upgrade: the peer, the local address and the connection, or why it failed.
type Done = (
    u64,
    SocketAddr,
    SocketAddr,
    Result<(Upgraded, Option<TlsInfo>), NetError>,
);

/// A listening WebSocket server session.
pub(crate) struct WsServer {
    listener: Option<TcpListener>,
    clients: Clients,
    ended_tx: UnboundedSender<ConnId>,
    ended: UnboundedReceiver<ConnId>,
    config: Arc<WsServerConfig>,
    tls: Option<Arc<rustls::ServerConfig>>,
    /// Upgrades under way, oldest first, each with its stop switch.
    waiting: VecDeque<(u64, CancellationToken)>,
    next_upgrade: u64,
    done_tx: mpsc::Sender<Done>,
    done: mpsc::Receiver<Done>,
}

/// Binds and listens; fails with "address in use" and the like before anything is shown open.
pub(crate) fn open(
    core: &SessionCore,
    config: WsServerConfig,
    tls: Option<TlsSettings>,
) -> Result<WsServer, NetError> {
    let tls = match tls {
        Some(TlsSettings::Server(settings)) => Some(tls::server_config(&settings)?),
        Some(_) => {
            return Err(NetError::new(
                NetErrorKind::TlsSetup,
                "client TLS settings given to a server",
            ))
        }
        None => None,
    };
    let listener = crate::engine::tcp_server::listen(core, config.bind, &config.options)?;
    // Unbounded, bounded in fact: one message per connection that ends.
    #[allow(clippy::disallowed_methods)]
    let (ended_tx, ended) = unbounded_channel();
    let (done_tx, done) = mpsc::channel(MAX_UPGRADES);
    Ok(WsServer {
        listener: Some(listener),
        clients: Clients::default(),
        ended_tx,
        ended,
        config: Arc::new(config),
        tls,
        waiting: VecDeque::new(),
        next_upgrade: 0,
        done_tx,
        done,
    })
}

impl WsServer {
    /// Upgrades a new client beside the accept loop; the one waiting longest gives way when
    /// [`MAX_UPGRADES`] are waiting.
    fn upgrade(&mut self, core: &SessionCore, stream: tokio::net::TcpStream, peer: SocketAddr) {
        if self.waiting.len() >= MAX_UPGRADES {
            if let Some((_, stop)) = self.waiting.pop_front() {
                stop.cancel();
            }
        }
        let id = self.next_upgrade;
        self.next_upgrade += 1;
        let stop = core.cancel.child_token();
        self.waiting.push_back((id, stop.clone()));
        let (config, tls, done) = (self.config.clone(), self.tls.clone(), self.done_tx.clone());
        core.spawn_small(async move {
            let local = stream
                .local_addr()
                .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
            let work = async {
                let (stream, info) = match tls {
                    Some(tls) => {
                        let (s, info) = tls::accept(tls, stream).await?;
                        (Stream::Tls(Box::new(s)), Some(info))
                    }
                    None => (Stream::Plain(stream), None),
                };
                let up = handshake::server(stream, &config).await?;
                Ok((up, info))
            };
            let result = tokio::select! {
                r = work => r,
                () = stop.cancelled() => Err(NetError::because(
                    NetErrorKind::Guard,
                    Reason::WebSocket(WsFailure::GaveWay(MAX_UPGRADES)),
                )),
            };
            let _ = done.send((id, peer, local, result)).await;
        });
    }
}

impl SessionKind for WsServer {
    async fn next(&mut self, core: &SessionCore) -> Step {
        tokio::select! {
            accepted = sockets::accept(&self.listener) => match accepted {
                Ok((stream, peer)) => {
                    if let Err(e) = self.config.options.apply_stream(&stream) {
                        core.error(e.into());
                    }
                    self.upgrade(core, stream, peer);
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
            Some((id, peer, local, result)) = self.done.recv() => {
                self.waiting.retain(|(w, _)| *w != id);
                match result {
                    Ok((up, info)) => {
                        let conn = super::conn::spawn(
                            core,
                            up,
                            peer,
                            local,
                            self.config.echo,
                            info,
                            self.config.ws.clone(),
                            self.ended_tx.clone(),
                        );
                        self.clients.conns.insert(conn.id, conn);
                    }
                    // The server goes on; the log says who failed and why.
                    Err(e) => core.error(e.at(peer)),
                }
            }
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
                Reason::NotForThisKind(Transport::WsServer),
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
        for (_, stop) in self.waiting.drain(..) {
            stop.cancel();
        }
        self.clients.close_all().await;
    }
}
