//! TCP client session: one connection to a host the user named.

use super::resolve::resolve;
use super::shared::{Sent, SessionCore, SessionKind, Step};
use super::tcp_conn::{self, ConnHandle, Stream};
use super::tls::{self, TlsSettings};
use super::transfer::FileSink;
use super::{
    Command, ConnId, CountersSnapshot, Event, NetError, NetErrorKind, Reason, SendTarget,
    SocketOptions, Transport,
};
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// A connected TCP client session.
pub(crate) struct TcpClient {
    conn: Option<ConnHandle>,
    ended: UnboundedReceiver<ConnId>,
}

/// Connects, trying each resolved address in turn; with TLS, shakes hands before the session
/// is shown open (a failed handshake is the session's failure, with the reason).
pub(crate) async fn open(
    core: &SessionCore,
    remote: &str,
    timeout: Duration,
    options: &SocketOptions,
    tls: Option<TlsSettings>,
) -> Result<TcpClient, NetError> {
    let tls = match tls {
        Some(TlsSettings::Client(settings)) => Some((tls::client_config(&settings)?, settings)),
        Some(TlsSettings::Server(_) | TlsSettings::Relay { .. }) => {
            return Err(NetError::new(
                NetErrorKind::TlsSetup,
                "server TLS settings given to a client",
            ))
        }
        None => None,
    };
    let mut last_error = NetError::new(NetErrorKind::HostNotFound, remote.to_string());
    for addr in resolve(remote).await? {
        match super::sockets::connect(addr, timeout, options).await {
            Ok(stream) => {
                let local = stream.local_addr().map_err(NetError::from)?;
                let (stream, info) = match &tls {
                    Some((config, settings)) => {
                        let (secured, info) = tls::connect(
                            config.clone(),
                            settings,
                            super::resolve::host_of(remote),
                            stream,
                        )
                        .await
                        .map_err(|e| e.at(addr))?;
                        (Stream::Tls(Box::new(secured)), Some(info))
                    }
                    None => (Stream::Plain(stream), None),
                };
                core.announce(Event::Opened {
                    session: core.id,
                    local,
                    peer: Some(addr),
                });
                // Unbounded, bounded in fact: the one connection ends once.
                #[allow(clippy::disallowed_methods)]
                let (ended_tx, ended) = unbounded_channel();
                let conn = tcp_conn::spawn(core, stream, addr, false, info, ended_tx);
                return Ok(TcpClient {
                    conn: Some(conn),
                    ended,
                });
            }
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

impl TcpClient {
    /// A session of one connection already made (a serial port's).
    pub(crate) fn single(conn: ConnHandle, ended: UnboundedReceiver<ConnId>) -> Self {
        Self {
            conn: Some(conn),
            ended,
        }
    }
}

impl SessionKind for TcpClient {
    async fn next(&mut self, _core: &SessionCore) -> Step {
        match self.ended.recv().await {
            // The connection ended (it already said why): so does the session.
            Some(_) | None => {
                self.conn = None;
                Step::End(None)
            }
        }
    }

    async fn send(
        &mut self,
        _core: &SessionCore,
        target: &SendTarget,
        bytes: &[u8],
        ack: Option<u64>,
    ) -> Result<Sent, NetError> {
        match target {
            SendTarget::Default | SendTarget::AllClients => {}
            SendTarget::Conn(id) if self.conn.as_ref().is_some_and(|c| c.id == *id) => {}
            _ => {
                return Err(NetError::because(
                    NetErrorKind::NotAvailable,
                    Reason::ClientSendsToItsHost,
                ))
            }
        }
        match &self.conn {
            Some(conn) => conn.send(bytes, ack).await.map(|()| Sent::Queued),
            None => Err(NetError::new(NetErrorKind::NotConnected, "not connected")),
        }
    }

    async fn command(&mut self, core: &SessionCore, command: Command) {
        match command {
            Command::Disconnect { .. } => {
                if let Some(conn) = &self.conn {
                    conn.close();
                }
            }
            Command::SetLine { control, .. } => match &self.conn {
                Some(conn) => {
                    if let Err(e) = conn.line(control) {
                        core.error(e);
                    }
                }
                None => core.error(NetError::new(NetErrorKind::NotConnected, "not connected")),
            },
            _ => core.error(NetError::because(
                NetErrorKind::NotAvailable,
                Reason::NotForThisKind(Transport::TcpClient),
            )),
        }
    }

    async fn file_sink(
        &mut self,
        _core: &SessionCore,
        _target: &SendTarget,
    ) -> Result<FileSink, NetError> {
        match &self.conn {
            Some(conn) => Ok(FileSink::Tcp(vec![conn.queue()])),
            None => Err(NetError::new(NetErrorKind::NotConnected, "not connected")),
        }
    }

    fn conn_stats(&self) -> Vec<(ConnId, CountersSnapshot)> {
        self.conn
            .iter()
            .map(|c| (c.id, c.counters.snapshot()))
            .collect()
    }

    fn reset_stats(&self) {
        if let Some(c) = &self.conn {
            c.counters.reset();
        }
    }

    async fn shutdown(mut self, _core: &SessionCore) {
        tcp_conn::close_all(self.conn.take()).await;
    }
}
