//! `--pcap FILE`: what a session sends and receives, written as a pcapng capture from the
//! events the command line already reads (off the engine's hot path).

use super::CliError;
use crate::engine::{ConnId, Direction, Event, SessionConfig};
use crate::measure::pcapng::{PcapngWriter, Way};
use std::collections::HashMap;
use std::io::BufWriter;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A capture in progress.
pub(super) struct Capture {
    writer: PcapngWriter<BufWriter<std::fs::File>>,
    pub path: PathBuf,
    /// This session connected (a client): it sends the SYN.
    connects: bool,
    /// Where a UDP session is bound.
    local: Option<SocketAddr>,
    /// Each TCP connection's addresses.
    conns: HashMap<ConnId, (SocketAddr, SocketAddr)>,
    /// The first write that failed (the capture stops there and says so).
    pub error: Option<std::io::Error>,
    /// Data the engine did not pass on (the output was too slow): missing from the capture.
    pub omitted_bytes: u64,
}

impl Capture {
    /// Creates `path` (never over an existing file) for a session opened with `config`.
    pub fn new(path: &std::path::Path, config: &SessionConfig) -> Result<Self, CliError> {
        let connects = match config {
            SessionConfig::TcpClient { .. } | SessionConfig::Udp { .. } => true,
            SessionConfig::TcpServer { .. } => false,
            _ => {
                return Err(CliError::Usage(
                    "--pcap is for tcp-client, tcp-server and udp".into(),
                ))
            }
        };
        let file = std::fs::File::create_new(path).map_err(|source| CliError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let writer =
            PcapngWriter::new(BufWriter::new(file), "sockscope session").map_err(|source| {
                CliError::Read {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
        Ok(Self {
            writer,
            path: path.to_path_buf(),
            connects,
            local: None,
            conns: HashMap::new(),
            error: None,
            omitted_bytes: 0,
        })
    }

    /// Takes one event of the session.
    pub fn take(&mut self, event: &Event) {
        if self.error.is_some() {
            return;
        }
        let now = std::time::SystemTime::now();
        let result = match event {
            Event::Opened { local, .. } => {
                self.local = Some(*local);
                Ok(())
            }
            Event::ConnOpened {
                conn, peer, local, ..
            } => {
                self.conns.insert(*conn, (*local, *peer));
                self.writer.tcp_open(now, *local, *peer, self.connects)
            }
            Event::ConnClosed { conn, .. } => match self.conns.remove(conn) {
                Some((local, peer)) => self.writer.tcp_close(now, local, peer),
                None => Ok(()),
            },
            Event::Data {
                conn,
                dir,
                chunks,
                omitted_bytes,
                ..
            } => {
                self.omitted_bytes += omitted_bytes;
                let way = match dir {
                    Direction::Tx => Way::Sent,
                    Direction::Rx => Way::Received,
                };
                let mut result = Ok(());
                for c in chunks {
                    result = match conn.and_then(|id| self.conns.get(&id)).copied() {
                        Some((local, peer)) => {
                            self.writer.tcp_data(c.time, way, local, peer, &c.bytes)
                        }
                        None => {
                            let local = shown_local(self.local, c.peer);
                            self.writer.udp(c.time, way, local, c.peer, &c.bytes)
                        }
                    };
                    if result.is_err() {
                        break;
                    }
                }
                result
            }
            Event::Closed { .. } => self.writer.flush(),
            _ => Ok(()),
        };
        if let Err(e) = result {
            self.error = Some(e);
        }
    }
}

/// A socket bound to every interface shows, in the capture, the address a peer reached it on
/// when that is knowable (loopback); else the unspecified address it is bound to.
fn shown_local(local: Option<SocketAddr>, peer: SocketAddr) -> SocketAddr {
    let local = local.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    if local.ip().is_unspecified() && peer.ip().is_loopback() {
        return SocketAddr::new(peer.ip(), local.port());
    }
    local
}
