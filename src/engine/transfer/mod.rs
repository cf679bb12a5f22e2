//! Files over the network: a raw stream of a file's bytes over a session's connection, and
//! standalone send/receive jobs — raw TCP or UDP (any peer: socat, nc, a script), or the
//! verified format of `docs/file-transfer.md` (name, size and SHA-256 first, an answer last,
//! resumable).
//!
//! Files are read and written a chunk at a time: memory stays flat for any size. This module
//! holds the jobs' configuration and their dispatch; [`naming`] what received files are called
//! (and part files that are never followed through links), [`progress`] progress events and
//! silence limits, [`raw`] raw streams, [`verified`] the verified protocol.

mod naming;
mod progress;
mod raw;
mod verified;

pub use naming::{safe_file_name, unique_path};
pub(crate) use progress::Progress;
pub use raw::StreamOptions;
pub(crate) use raw::{stream_into_session, FileSink};
pub use verified::MAGIC;

use super::file_io::{file_error, BlockReader, BlockWriter, FILE_BLOCK};
use super::shared::SessionCore;
use super::tcp_conn::Outgoing;
use super::{Event, NetError, NetErrorKind, Reason};
use crate::engine::Awaited;
use crate::payload::hex::encode_hex_compact;
use progress::within;
use raw::{copy_paced, receive_raw_stream, receive_udp, send_udp};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use verified::{receive_verified, send_verified};

/// Default UDP datagram payload: what fits one Ethernet frame.
pub const DEFAULT_DATAGRAM: usize = 1472;
/// A receive block is handed to the writer when less room than this is left in it.
const RECEIVE_SLACK: usize = 64 << 10;

/// A standalone file send.
#[derive(Clone, Debug)]
pub struct FileSendConfig {
    /// `host:port` of the receiver.
    pub remote: String,
    /// The file.
    pub path: PathBuf,
    /// Datagrams instead of a TCP stream.
    pub udp: bool,
    /// The verified format (TCP only).
    pub verified: bool,
    /// Cut and pace.
    pub stream: StreamOptions,
    /// Give up connecting after this long.
    pub connect_timeout: Duration,
    /// How long the receiver may stay silent.
    pub limits: TransferLimits,
}

/// The guards of a standalone transfer (docs/reliability.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferLimits {
    /// A peer silent this long (no header, answer, data or verdict; or not taking data) is
    /// given up on.
    pub silence: Duration,
    /// Receivers: transfers served at once; a connection beyond that is refused with a note.
    pub max_conns: usize,
}

impl TransferLimits {
    /// Default silence limit.
    pub const SILENCE: Duration = Duration::from_secs(30);
    /// Default number of transfers a receiver serves at once.
    pub const MAX_CONNS: usize = 16;
}

impl Default for TransferLimits {
    fn default() -> Self {
        Self {
            silence: Self::SILENCE,
            max_conns: Self::MAX_CONNS,
        }
    }
}

/// A standalone file receiver.
#[derive(Clone, Debug)]
pub struct FileReceiveConfig {
    /// Where to listen or bind.
    pub bind: SocketAddr,
    /// Raw: the file to write (never overwritten). Verified: the folder files go into.
    pub out: PathBuf,
    /// Datagrams instead of TCP.
    pub udp: bool,
    /// The verified format (TCP only).
    pub verified: bool,
    /// End after the first transfer.
    pub once: bool,
    /// UDP: end after this long with nothing received.
    pub idle_timeout: Option<Duration>,
    /// TCP: how long each sender may stay silent, and how many are served at once.
    pub limits: TransferLimits,
}

/// Runs a send job to its end; the session then closes with its result.
pub(crate) async fn send_job(core: &SessionCore, cfg: FileSendConfig) -> Result<(), NetError> {
    let (file, size) = BlockReader::open(&cfg.path, 0)?;
    if cfg.udp {
        return send_udp(core, &cfg, file, size).await;
    }
    let addrs = crate::engine::resolve::resolve(&cfg.remote).await?;
    let mut last = NetError::new(NetErrorKind::HostNotFound, cfg.remote.clone());
    let mut stream = None;
    for addr in addrs {
        match crate::engine::sockets::connect(addr, cfg.connect_timeout, &Default::default()).await
        {
            Ok(s) => {
                stream = Some((s, addr));
                break;
            }
            Err(e) => last = e,
        }
    }
    let (stream, peer) = stream.ok_or(last)?;
    core.announce(Event::Opened {
        session: core.id,
        local: stream.local_addr()?,
        peer: Some(peer),
    });
    if cfg.verified {
        drop(file);
        send_verified(core, &cfg, stream, size).await
    } else {
        let (mut rd, mut wr) = stream.into_split();
        let mut progress = Progress::new(core, Some(size), 0);
        let mut file = file;
        copy_paced(core, &mut file, &mut wr, &mut progress, &cfg).await?;
        wr.shutdown().await?;
        // Wait (a while) for the peer to close: then it has read everything.
        let mut sink = [0u8; 4096];
        let _ = tokio::time::timeout(Duration::from_secs(10), async {
            while matches!(rd.read(&mut sink).await, Ok(n) if n > 0) {}
        })
        .await;
        progress.finish(cfg.path.clone(), None, 0);
        Ok(())
    }
}

/// What a receiving connection has done: whether any of a file's bytes came yet.
#[derive(Default)]
pub(super) struct Activity {
    data: AtomicBool,
}

impl Activity {
    fn data_came(&self) {
        self.data.store(true, Ordering::Relaxed);
    }
}

/// A receiving connection in progress.
struct Slot {
    peer: SocketAddr,
    since: Instant,
    activity: Arc<Activity>,
    abort: tokio::task::AbortHandle,
}

/// With every slot taken, the connection that makes way for a new sender: the one waiting
/// longest that has sent none of a file's bytes (a silent or stalled header), if any.
fn make_way(slots: &HashMap<tokio::task::Id, Slot>) -> Option<tokio::task::Id> {
    slots
        .iter()
        .filter(|(_, s)| !s.activity.data.load(Ordering::Relaxed))
        .min_by_key(|(_, s)| s.since)
        .map(|(id, _)| *id)
}

/// Runs a receive job; returns when `once` is done, on a fatal error, or never (until closed).
pub(crate) async fn receive_job(
    core: &SessionCore,
    cfg: FileReceiveConfig,
) -> Result<(), NetError> {
    if cfg.verified {
        if !cfg.out.is_dir() {
            return Err(NetError::because(
                NetErrorKind::File,
                Reason::NotAFolder(cfg.out.clone()),
            ));
        }
    } else if cfg.out.exists() {
        return Err(NetError::because(
            NetErrorKind::FileExists,
            Reason::WillNotOverwrite(cfg.out.clone()),
        ));
    }
    if cfg.udp {
        return receive_udp(core, &cfg).await;
    }
    let socket = crate::engine::sockets::new_socket(&cfg.bind, false)?;
    crate::engine::SocketOptions::default().apply(&socket, true)?;
    socket.bind(&cfg.bind.into())?;
    socket.listen(128)?;
    socket.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(socket.into())?;
    core.announce(Event::Opened {
        session: core.id,
        local: listener.local_addr()?,
        peer: None,
    });
    // Senders are served at once, each within the silence limit: one that stalls holds up
    // nobody. Dropping the set (the session closing) aborts what is still running.
    let mut transfers: JoinSet<(SocketAddr, Result<(), NetError>)> = JoinSet::new();
    let mut slots: HashMap<tokio::task::Id, Slot> = HashMap::new();
    let out_taken = Arc::new(AtomicBool::new(false));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // E.g. out of file descriptors: say so, and do not spin.
                        core.error(NetError::from_io(&e));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                if slots.len() >= cfg.limits.max_conns {
                    // A connection that has sent nothing of a file gives way to the new one:
                    // idle connections cannot keep honest senders out.
                    match make_way(&slots).and_then(|id| slots.remove(&id)) {
                        Some(idle) => {
                            idle.abort.abort();
                            core.error(NetError::because(NetErrorKind::Guard, Reason::GaveWayTo(peer)).at(idle.peer));
                        }
                        None => {
                            drop(stream);
                            core.error(NetError::because(NetErrorKind::Guard, Reason::TooManyTransfers(cfg.limits.max_conns)).at(peer));
                            continue;
                        }
                    }
                }
                let activity = Arc::new(Activity::default());
                let (core, cfg, out_taken) = (core.clone(), cfg.clone(), out_taken.clone());
                let task_activity = activity.clone();
                let abort = transfers.spawn(async move {
                    let (silence, activity) = (cfg.limits.silence, &*task_activity);
                    let result = if cfg.verified {
                        receive_verified(&core, stream, &cfg.out, silence, activity).await
                    } else {
                        receive_raw_stream(&core, stream, &cfg.out, &out_taken, silence, activity).await
                    };
                    (peer, result)
                });
                slots.insert(abort.id(), Slot { peer, since: Instant::now(), activity, abort });
            }
            Some(done) = transfers.join_next_with_id() => {
                let (id, (peer, result)) = match done {
                    Ok(done) => done,
                    Err(e) => {
                        slots.remove(&e.id());
                        continue;
                    }
                };
                slots.remove(&id);
                match result {
                    Ok(()) => {}
                    Err(e) if cfg.once => return Err(e),
                    Err(e) => core.error(e.at(peer)),
                }
                if cfg.once {
                    return Ok(());
                }
            }
        }
    }
}
