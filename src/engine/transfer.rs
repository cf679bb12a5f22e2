//! Files over the network: a raw stream of a file's bytes over a session's connection, and
//! standalone send/receive jobs — raw TCP or UDP (any peer: socat, nc, a script), or the
//! verified format of `docs/file-transfer.md` (name, size and SHA-256 first, an answer last,
//! resumable).
//!
//! Files are read and written a chunk at a time: memory stays flat for any size.

use super::file_io::{file_error, BlockReader, BlockWriter, FILE_BLOCK};
use super::session::SessionCore;
use super::tcp_conn::Outgoing;
use super::{Event, NetError, NetErrorKind};
use crate::payload::hex::encode_hex_compact;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Default UDP datagram payload: what fits one Ethernet frame.
pub const DEFAULT_DATAGRAM: usize = 1472;
/// First line of the verified format.
pub const MAGIC: &str = "SOCKSCOPE-FILE 1";
const PROGRESS_EVERY: Duration = Duration::from_millis(200);
/// A receive block is handed to the writer when less room than this is left in it.
const RECEIVE_SLACK: usize = 64 << 10;
/// Longest protocol line accepted.
const MAX_LINE: u64 = 64 << 10;

/// Reduces a name a peer sent to a plain file name: no folders, no `..`, no device names, no
/// control or reserved characters, at most 200 bytes. Never empty.
pub fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let mut out: String = last
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') {
                '_'
            } else {
                c
            }
        })
        .collect();
    out = out.trim().trim_end_matches(['.', ' ']).to_string();
    while out.len() > 200 {
        out.pop();
    }
    // Cutting may leave a space or dot at the end again (Windows drops those silently).
    out = out.trim_end_matches(['.', ' ']).to_string();
    if out.is_empty() || out.chars().all(|c| c == '.') {
        return "received.bin".into();
    }
    let stem = out.split('.').next().unwrap_or("").to_ascii_uppercase();
    let reserved = matches!(
        stem.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) || ((stem.starts_with("COM") || stem.starts_with("LPT"))
        && stem.len() == 4
        && stem.as_bytes()[3].is_ascii_digit());
    if reserved {
        out.insert(0, '_');
    }
    out
}

/// `dir/name`, or `dir/name (1).ext`, `(2)`… if taken: an existing file is never overwritten.
pub fn unique_path(dir: &Path, name: &str) -> PathBuf {
    // A link (even one pointing nowhere) is taken too: nothing is written through one.
    let taken = |p: &Path| std::fs::symlink_metadata(p).is_ok();
    let first = dir.join(name);
    if !taken(&first) {
        return first;
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
        _ => (name.to_string(), String::new()),
    };
    (1..)
        .map(|i| dir.join(format!("{stem} ({i}){ext}")))
        .find(|p| !taken(p))
        .unwrap_or(first)
}

/// SHA-256 of a file's first `limit` bytes (all when `None`), and the hasher state after them.
async fn hash_file(path: &Path, limit: Option<u64>) -> Result<(String, Sha256), NetError> {
    let file = std::fs::File::open(path).map_err(|e| file_error(path, &e))?;
    let (file, digest) = hash_open_file(file, path, limit).await?;
    drop(file);
    Ok(digest)
}

/// The same over a file already open (read from its start), handed back afterwards: what is
/// hashed is what was opened, whatever happens to the name meanwhile.
async fn hash_open_file(
    file: std::fs::File,
    path: &Path,
    limit: Option<u64>,
) -> Result<(std::fs::File, (String, Sha256)), NetError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek};
        let mut reader =
            std::io::BufReader::with_capacity(1 << 20, (&file).take(limit.unwrap_or(u64::MAX)));
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = reader.read(&mut buf).map_err(|e| file_error(&path, &e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        drop(reader);
        (&file)
            .seek(std::io::SeekFrom::Start(0))
            .map_err(|e| file_error(&path, &e))?;
        Ok((
            file,
            (encode_hex_compact(&hasher.clone().finalize()), hasher),
        ))
    })
    .await
    .map_err(|e| NetError::new(NetErrorKind::Other, e.to_string()))?
}

/// Waits for `io` at most `limit`: a peer silent for longer is given up on, with what we were
/// waiting for in the reason.
async fn within<T>(
    limit: Duration,
    waiting_for: &str,
    io: impl Future<Output = Result<T, NetError>>,
) -> Result<T, NetError> {
    tokio::time::timeout(limit, io).await.unwrap_or_else(|_| {
        Err(NetError::new(
            NetErrorKind::Timeout,
            format!(
                "the peer was silent for {} s while we waited for {waiting_for}; gave up",
                limit.as_secs_f64()
            ),
        ))
    })
}

/// Sends progress events a few times a second.
pub(crate) struct Progress<'a> {
    core: &'a SessionCore,
    total: Option<u64>,
    /// Bytes done so far.
    pub done: u64,
    start: Instant,
    last: Instant,
}

impl<'a> Progress<'a> {
    pub fn new(core: &'a SessionCore, total: Option<u64>, done: u64) -> Self {
        let now = Instant::now();
        Self {
            core,
            total,
            done,
            start: now,
            last: now,
        }
    }

    pub fn add(&mut self, n: usize) {
        self.done += n as u64;
        if self.last.elapsed() >= PROGRESS_EVERY {
            self.emit();
        }
    }

    pub fn emit(&mut self) {
        self.last = Instant::now();
        let rate = self.done as f64 / self.start.elapsed().as_secs_f64().max(1e-3);
        self.core.sink.send(Event::Progress {
            session: self.core.id,
            done: self.done,
            total: self.total,
            rate,
        });
    }

    /// The transfer is complete: the last progress, then what was done.
    pub fn finish(mut self, path: PathBuf, sha256: Option<String>, resumed_from: u64) {
        self.emit();
        self.core.sink.send(Event::FileDone {
            session: self.core.id,
            path,
            bytes: self.done,
            sha256,
            resumed_from,
        });
    }

    /// Waits as needed to keep to `rate` bytes per second.
    async fn pace(&self, rate: Option<u64>, since_start: u64) {
        if let Some(rate) = rate.filter(|r| *r > 0) {
            let due = Duration::from_secs_f64(since_start as f64 / rate as f64);
            let elapsed = self.start.elapsed();
            if due > elapsed {
                tokio::time::sleep(due - elapsed).await;
            }
        }
    }
}

/// Where a raw stream from a session goes.
pub(crate) enum FileSink {
    /// The queues of one or more TCP connections.
    Tcp(Vec<mpsc::Sender<Outgoing>>),
    /// A UDP socket and destination.
    Udp {
        socket: Arc<std::net::UdpSocket>,
        dest: SocketAddr,
    },
}

/// How a raw stream is cut and paced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamOptions {
    /// Bytes per write or datagram; `None`: large writes over TCP, 1,472-byte datagrams (one
    /// Ethernet frame) over UDP.
    pub chunk: Option<usize>,
    /// Bytes per second at most (`None`: as fast as the peer takes them).
    pub rate: Option<u64>,
}

impl StreamOptions {
    fn tcp_chunk(&self) -> usize {
        self.chunk.unwrap_or(FILE_BLOCK).clamp(1, FILE_BLOCK)
    }

    /// A datagram carries at most 65,507 bytes of IPv4 payload.
    fn udp_chunk(&self) -> usize {
        self.chunk.unwrap_or(DEFAULT_DATAGRAM).clamp(1, 65_507)
    }
}

/// Streams a file into a session's connections or UDP destination, then reports it done.
pub(crate) async fn stream_into_session(
    core: SessionCore,
    path: PathBuf,
    sink: FileSink,
    options: StreamOptions,
) {
    let result = async {
        let (mut file, size) = BlockReader::open(&path, 0)?;
        let mut progress = Progress::new(&core, Some(size), 0);
        let chunk = match sink {
            FileSink::Tcp(_) => options.tcp_chunk(),
            FileSink::Udp { .. } => options.udp_chunk(),
        };
        while let Some(block) = file.next_block().await? {
            for piece in block.chunks(chunk) {
                match &sink {
                    FileSink::Tcp(queues) => {
                        for q in queues {
                            let message = Outgoing {
                                bytes: piece.to_vec(),
                                report: false,
                                ack: None,
                            };
                            q.send(message).await.map_err(|_| {
                                NetError::new(
                                    NetErrorKind::NotConnected,
                                    "the connection closed during the transfer",
                                )
                            })?;
                        }
                    }
                    FileSink::Udp { socket, dest } => {
                        socket.send_to(piece, *dest).map_err(NetError::from)?;
                        core.counters.add_tx(piece.len());
                    }
                }
                progress.add(piece.len());
                progress.pace(options.rate, progress.done).await;
            }
            file.recycle(block);
        }
        progress.finish(path.clone(), None, 0);
        Ok::<(), NetError>(())
    }
    .await;
    if let Err(e) = result {
        core.error(e);
    }
}

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
    let addrs = super::resolve::resolve(&cfg.remote).await?;
    let mut last = NetError::new(NetErrorKind::HostNotFound, cfg.remote.clone());
    let mut stream = None;
    for addr in addrs {
        match super::tcp_client::connect(addr, cfg.connect_timeout, &Default::default()).await {
            Ok(s) => {
                stream = Some((s, addr));
                break;
            }
            Err(e) => last = e,
        }
    }
    let (stream, peer) = stream.ok_or(last)?;
    core.sink.send(Event::Opened {
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

/// Copies a file into a writer a chunk at a time with pacing; a receiver that takes nothing
/// for the silence limit ends it.
async fn copy_paced(
    core: &SessionCore,
    file: &mut BlockReader,
    out: &mut (impl AsyncWrite + Unpin),
    progress: &mut Progress<'_>,
    cfg: &FileSendConfig,
) -> Result<(), NetError> {
    let options = cfg.stream;
    let chunk = options.tcp_chunk();
    let start = progress.done;
    while let Some(block) = file.next_block().await? {
        for piece in block.chunks(chunk) {
            within(cfg.limits.silence, "the receiver to take data", async {
                out.write_all(piece).await.map_err(NetError::from)
            })
            .await?;
            core.counters.add_tx(piece.len());
            progress.add(piece.len());
            progress.pace(options.rate, progress.done - start).await;
        }
        file.recycle(block);
    }
    Ok(())
}

async fn send_udp(
    core: &SessionCore,
    cfg: &FileSendConfig,
    mut file: BlockReader,
    size: u64,
) -> Result<(), NetError> {
    let dest = super::resolve::resolve_first(&cfg.remote).await?;
    let bind: SocketAddr = if dest.is_ipv6() {
        "[::]:0".parse().unwrap_or(dest)
    } else {
        SocketAddr::from(([0, 0, 0, 0], 0))
    };
    let socket = tokio::net::UdpSocket::bind(bind).await?;
    socket.connect(dest).await?;
    core.sink.send(Event::Opened {
        session: core.id,
        local: socket.local_addr()?,
        peer: Some(dest),
    });
    let mut progress = Progress::new(core, Some(size), 0);
    let chunk = cfg.stream.udp_chunk();
    while let Some(block) = file.next_block().await? {
        for piece in block.chunks(chunk) {
            socket.send(piece).await?;
            core.counters.add_tx(piece.len());
            progress.add(piece.len());
            progress.pace(cfg.stream.rate, progress.done).await;
        }
        file.recycle(block);
    }
    progress.finish(cfg.path.clone(), None, 0);
    Ok(())
}

/// Reads one protocol line (JSON) of at most MAX_LINE bytes.
async fn read_line_json(
    reader: &mut (impl tokio::io::AsyncBufRead + Unpin),
) -> Result<serde_json::Value, NetError> {
    let mut line = Vec::new();
    let n = reader.take(MAX_LINE).read_until(b'\n', &mut line).await?;
    if n == 0 || line.last() != Some(&b'\n') {
        return Err(NetError::new(
            NetErrorKind::Reset,
            "the peer closed the connection mid-protocol",
        ));
    }
    serde_json::from_slice(&line).map_err(|e| {
        NetError::new(
            NetErrorKind::Other,
            format!("not a SockScope file transfer peer: {e}"),
        )
    })
}

async fn send_verified(
    core: &SessionCore,
    cfg: &FileSendConfig,
    stream: tokio::net::TcpStream,
    size: u64,
) -> Result<(), NetError> {
    let (sha256, _) = hash_file(&cfg.path, None).await?;
    let name = cfg
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let header = json!({"name": name, "size": size, "sha256": sha256});
    let silence = cfg.limits.silence;
    within(silence, "the receiver to take the header", async {
        let header = format!("{MAGIC}\n{header}\n");
        wr.write_all(header.as_bytes())
            .await
            .map_err(NetError::from)
    })
    .await?;
    let answer = within(silence, "the receiver's offer", read_line_json(&mut rd)).await?;
    let offered = answer["offset"].as_u64().unwrap_or(0).min(size);
    // Resume only if the receiver's part is a true prefix of this file.
    let start = if offered > 0
        && answer["part_sha256"].as_str()
            == Some(hash_file(&cfg.path, Some(offered)).await?.0.as_str())
    {
        offered
    } else {
        0
    };
    wr.write_all(format!("{}\n", json!({"start": start})).as_bytes())
        .await?;
    let (mut file, _) = BlockReader::open(&cfg.path, start)?;
    let mut progress = Progress::new(core, Some(size), start);
    copy_paced(core, &mut file, &mut wr, &mut progress, cfg).await?;
    wr.flush().await?;
    let verdict = within(silence, "the receiver's verdict", read_line_json(&mut rd)).await?;
    if verdict["ok"].as_bool() == Some(true) {
        progress.finish(cfg.path.clone(), Some(sha256), start);
        Ok(())
    } else {
        Err(NetError::new(
            NetErrorKind::File,
            format!(
                "the receiver refused the file: {}",
                verdict["error"].as_str().unwrap_or("no reason given")
            ),
        ))
    }
}

/// Runs a receive job; returns when `once` is done, on a fatal error, or never (until closed).
pub(crate) async fn receive_job(
    core: &SessionCore,
    cfg: FileReceiveConfig,
) -> Result<(), NetError> {
    if cfg.verified {
        if !cfg.out.is_dir() {
            return Err(NetError::new(
                NetErrorKind::File,
                format!("{} is not a folder", cfg.out.display()),
            ));
        }
    } else if cfg.out.exists() {
        return Err(NetError::new(
            NetErrorKind::File,
            format!("{} exists; it will not be overwritten", cfg.out.display()),
        ));
    }
    if cfg.udp {
        return receive_udp(core, &cfg).await;
    }
    let socket = super::options::new_socket(&cfg.bind, false)?;
    super::SocketOptions::default().apply(&socket, true)?;
    socket.bind(&cfg.bind.into())?;
    socket.listen(128)?;
    socket.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(socket.into())?;
    core.sink.send(Event::Opened {
        session: core.id,
        local: listener.local_addr()?,
        peer: None,
    });
    // Senders are served at once, each within the silence limit: one that stalls holds up
    // nobody. Dropping the set (the session closing) aborts what is still running.
    let mut transfers: JoinSet<(SocketAddr, Result<(), NetError>)> = JoinSet::new();
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
                if transfers.len() >= cfg.limits.max_conns {
                    drop(stream);
                    core.error(NetError::new(
                        NetErrorKind::Guard,
                        format!("{peer} refused: already {} transfers at once", cfg.limits.max_conns),
                    ));
                    continue;
                }
                let (core, cfg, out_taken) = (core.clone(), cfg.clone(), out_taken.clone());
                transfers.spawn(async move {
                    let result = if cfg.verified {
                        receive_verified(&core, stream, &cfg.out, cfg.limits.silence).await
                    } else {
                        receive_raw_stream(&core, stream, &cfg.out, &out_taken, cfg.limits.silence).await
                    };
                    (peer, result)
                });
            }
            Some(done) = transfers.join_next() => {
                let Ok((peer, result)) = done else { continue };
                match result {
                    Ok(()) => {}
                    Err(e) if cfg.once => return Err(e),
                    Err(e) => core.error(NetError::new(e.kind, format!("{peer}: {}", e.detail))),
                }
                if cfg.once {
                    return Ok(());
                }
            }
        }
    }
}

/// Where a raw receive goes: `out` for the first sender to send anything, `out (1)`… after.
fn raw_target(out: &Path, taken: &AtomicBool) -> PathBuf {
    if !taken.swap(true, Ordering::Relaxed) {
        return out.to_path_buf();
    }
    unique_path(
        out.parent().unwrap_or(Path::new(".")),
        &out.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    )
}

async fn receive_raw_stream(
    core: &SessionCore,
    mut stream: tokio::net::TcpStream,
    out: &Path,
    out_taken: &AtomicBool,
    silence: Duration,
) -> Result<(), NetError> {
    let mut block = Vec::with_capacity(FILE_BLOCK);
    // The file is named once data comes: a connection that sends nothing takes no name.
    let first = within(silence, "data", async {
        stream.read_buf(&mut block).await.map_err(NetError::from)
    })
    .await?;
    if first == 0 {
        return Ok(());
    }
    let path = raw_target(out, out_taken);
    let path = path.as_path();
    let mut out = BlockWriter::create_new(path)?;
    let mut progress = Progress::new(core, None, 0);
    core.counters.add_rx(first);
    progress.add(first);
    loop {
        let read = tokio::time::timeout(silence, stream.read_buf(&mut block)).await;
        let n = match read {
            Ok(n) => n?,
            // Raw data has no end marker: a sender that goes quiet without closing is done.
            Err(_) => {
                core.sink.send(Event::Warning {
                    session: core.id,
                    error: NetError::new(
                        NetErrorKind::Timeout,
                        format!(
                            "{}: the sender was silent for {} s without closing; took that as \
                             the end",
                            path.display(),
                            silence.as_secs_f64()
                        ),
                    ),
                });
                break;
            }
        };
        if n == 0 {
            break;
        }
        core.counters.add_rx(n);
        progress.add(n);
        write_if_full(&mut out, &mut block).await?;
    }
    finish_raw(out, block, progress, path).await
}

/// Hands the block to the file thread once it is nearly full, taking an empty one back.
async fn write_if_full(out: &mut BlockWriter, block: &mut Vec<u8>) -> Result<(), NetError> {
    if block.len() + RECEIVE_SLACK > FILE_BLOCK {
        let next = out.buffer();
        out.write(std::mem::replace(block, next)).await?;
    }
    Ok(())
}

/// Writes what is left, waits for the file to be complete, and reports it.
async fn finish_raw(
    mut out: BlockWriter,
    block: Vec<u8>,
    progress: Progress<'_>,
    path: &Path,
) -> Result<(), NetError> {
    if !block.is_empty() {
        out.write(block).await?;
    }
    out.finish().await?;
    progress.finish(path.to_path_buf(), None, 0);
    Ok(())
}

async fn receive_udp(core: &SessionCore, cfg: &FileReceiveConfig) -> Result<(), NetError> {
    let socket = super::options::new_socket(&cfg.bind, true)?;
    super::options::set_recv_buffer(&socket, super::options::UDP_RECV_BUFFER);
    socket.bind(&cfg.bind.into())?;
    socket.set_nonblocking(true)?;
    let socket = tokio::net::UdpSocket::from_std(socket.into())?;
    core.sink.send(Event::Opened {
        session: core.id,
        local: socket.local_addr()?,
        peer: None,
    });
    let mut out = BlockWriter::create_new(&cfg.out)?;
    let mut progress = Progress::new(core, None, 0);
    let mut buf = vec![0u8; 65536];
    let mut block = Vec::with_capacity(FILE_BLOCK);
    loop {
        let received = match cfg.idle_timeout {
            Some(idle) if progress.done > 0 || cfg.once => {
                match tokio::time::timeout(idle, socket.recv_from(&mut buf)).await {
                    Ok(r) => r,
                    Err(_) => break,
                }
            }
            _ => socket.recv_from(&mut buf).await,
        };
        let n = match received {
            Ok((n, _)) => n,
            // An ICMP error from an earlier datagram of ours (Windows): not fatal.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => continue,
            Err(e) => return Err(e.into()),
        };
        core.counters.add_rx(n);
        progress.add(n);
        block.extend_from_slice(&buf[..n]);
        write_if_full(&mut out, &mut block).await?;
    }
    finish_raw(out, block, progress, &cfg.out).await
}

/// Opens the part file of a verified receive: the existing one, to resume, only if it is a
/// plain file this receiver can trust (not a link, not a hard link to a file elsewhere, ours);
/// otherwise a new one, created exclusively (which never follows a link). Returns the path,
/// the open file and how many bytes it already holds.
fn open_part(
    dir: &Path,
    name: &str,
    sha256: &str,
) -> Result<(PathBuf, std::fs::File, u64), NetError> {
    let part_name = format!("{name}.{}.part", &sha256[..16]);
    let part = dir.join(&part_name);
    let mut open = std::fs::OpenOptions::new();
    open.read(true).write(true);
    no_follow(&mut open);
    match open.open(&part) {
        Ok(file) => match file.metadata() {
            Ok(meta) if trusted_part(&meta) => return Ok((part, file, meta.len())),
            _ => {}
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        // A link (refused by no_follow) or anything else odd: leave it, start a new part.
        Err(_) => {}
    }
    let fresh = if std::fs::symlink_metadata(&part).is_ok() {
        unique_path(dir, &part_name)
    } else {
        part
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&fresh)
        .map_err(|e| file_error(&fresh, &e))?;
    Ok((fresh, file, 0))
}

/// Opening a link opens the link, not what it points to.
fn no_follow(open: &mut std::fs::OpenOptions) {
    // Unix: O_NOFOLLOW makes opening a symbolic link fail (ELOOP).
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.custom_flags(libc::O_NOFOLLOW);
    }
    // Windows: FILE_FLAG_OPEN_REPARSE_POINT opens a symlink or junction itself, which
    // `trusted_part` then refuses.
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        open.custom_flags(0x0020_0000);
    }
}

/// May a resume continue this file? A plain file; on Unix also one name only (a hard link
/// would reach a file outside the folder) and owned by this user.
fn trusted_part(meta: &std::fs::Metadata) -> bool {
    if !meta.file_type().is_file() {
        return false;
    }
    // Unix: link count and owner are known; Windows reports neither in stable std.
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        #[allow(unsafe_code)]
        let me = unsafe { libc::geteuid() };
        if meta.nlink() != 1 || meta.uid() != me {
            return false;
        }
    }
    true
}

async fn receive_verified(
    core: &SessionCore,
    stream: tokio::net::TcpStream,
    dir: &Path,
    silence: Duration,
) -> Result<(), NetError> {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let mut magic = Vec::new();
    within(silence, "the first line", async {
        let read = (&mut rd).take(64).read_until(b'\n', &mut magic).await;
        read.map_err(NetError::from)
    })
    .await?;
    if magic.strip_suffix(b"\n") != Some(MAGIC.as_bytes()) {
        return Err(NetError::new(
            NetErrorKind::Other,
            "not a SockScope verified transfer (bad first line)",
        ));
    }
    let header = within(silence, "the header", read_line_json(&mut rd)).await?;
    let (Some(size), Some(sha256)) = (
        header["size"].as_u64(),
        header["sha256"].as_str().map(str::to_ascii_lowercase),
    ) else {
        return Err(NetError::new(
            NetErrorKind::Other,
            "the header lacks size or sha256",
        ));
    };
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(NetError::new(
            NetErrorKind::Other,
            "the header's sha256 is not 64 hex digits",
        ));
    }
    let name = safe_file_name(header["name"].as_str().unwrap_or(""));
    // The part file is keyed by content, so a different file of the same name never mixes in.
    let (part, part_file, existing) = open_part(dir, &name, &sha256)?;
    let existing = existing.min(size);
    let (part_file, (part_sha, part_hasher)) = if existing > 0 {
        hash_open_file(part_file, &part, Some(existing)).await?
    } else {
        (part_file, (String::new(), Sha256::new()))
    };
    let offer = json!({"offset": existing, "part_sha256": part_sha});
    within(silence, "the sender to take our offer", async {
        wr.write_all(format!("{offer}\n").as_bytes())
            .await
            .map_err(NetError::from)
    })
    .await?;
    let start = within(silence, "the sender's start", read_line_json(&mut rd)).await?["start"]
        .as_u64()
        .unwrap_or(0)
        .min(existing);
    let hasher = if start == existing {
        part_hasher
    } else {
        Sha256::new()
    };
    let mut file = BlockWriter::from_file(part_file, &part, start, Some(hasher))?;
    let mut progress = Progress::new(core, Some(size), start);
    let mut block = Vec::with_capacity(FILE_BLOCK);
    while progress.done < size {
        let left = size - progress.done;
        let n = within(silence, "data", async {
            (&mut rd)
                .take(left)
                .read_buf(&mut block)
                .await
                .map_err(NetError::from)
        })
        .await;
        let n = match n {
            Ok(n) => n,
            Err(e) => {
                // What arrived stays in the part file, so a new attempt resumes.
                let _ = file.write(block).await;
                let _ = file.finish().await;
                return Err(e);
            }
        };
        if n == 0 {
            let _ = file.write(block).await;
            let _ = file.finish().await;
            return Err(NetError::new(
                NetErrorKind::Reset,
                format!(
                    "{name}: truncated, {} of {size} bytes received; send again to resume",
                    progress.done
                ),
            ));
        }
        core.counters.add_rx(n);
        progress.add(n);
        if block.capacity() - block.len() < RECEIVE_SLACK || progress.done == size {
            let next = file.buffer();
            let full = std::mem::replace(&mut block, next);
            if let Err(err) = file.write(full).await {
                let refusal = json!({"ok": false, "error": err.to_string()});
                let _ = wr.write_all(format!("{refusal}\n").as_bytes()).await;
                return Err(err);
            }
        }
    }
    let got = match file.finish().await {
        Ok(digest) => digest.unwrap_or_default(),
        Err(err) => {
            let refusal = json!({"ok": false, "error": err.to_string()});
            let _ = wr.write_all(format!("{refusal}\n").as_bytes()).await;
            return Err(err);
        }
    };
    progress.emit();

    if got != sha256 {
        let _ = tokio::fs::remove_file(&part).await;
        let reason = format!(
            "{name}: SHA-256 mismatch (expected {sha256}, got {got}); the partial file was removed"
        );
        let verdict = json!({"ok": false, "error": reason});
        let _ = within(silence, "the sender to take the verdict", async {
            wr.write_all(format!("{verdict}\n").as_bytes())
                .await
                .map_err(NetError::from)
        })
        .await;
        return Err(NetError::new(NetErrorKind::File, reason));
    }
    let target = unique_path(dir, &name);
    tokio::fs::rename(&part, &target)
        .await
        .map_err(|e| file_error(&target, &e))?;
    let saved = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let verdict = json!({"ok": true, "name": saved, "sha256": got});
    within(silence, "the sender to take the verdict", async {
        wr.write_all(format!("{verdict}\n").as_bytes())
            .await
            .map_err(NetError::from)
    })
    .await?;
    progress.finish(target, Some(got), start);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_peers_become_plain_names() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("..\\..\\Windows\\system.ini"), "system.ini");
        assert_eq!(safe_file_name("/absolute/path.bin"), "path.bin");
        assert_eq!(safe_file_name("C:\\temp\\a.txt"), "a.txt");
        assert_eq!(safe_file_name(".."), "received.bin");
        assert_eq!(safe_file_name(""), "received.bin");
        assert_eq!(safe_file_name("dir/"), "received.bin");
        assert_eq!(safe_file_name("CON"), "_CON");
        assert_eq!(safe_file_name("com1.txt"), "_com1.txt");
        assert_eq!(safe_file_name("lpt9"), "_lpt9");
        assert_eq!(safe_file_name("a\u{0}b\nc\u{7f}.txt"), "a_b_c_.txt");
        assert_eq!(safe_file_name("what?<>|*.bin"), "what_____.bin");
        assert_eq!(safe_file_name("trailing. . "), "trailing");
        assert_eq!(safe_file_name("固件 v1.2.bin"), "固件 v1.2.bin");
        assert!(safe_file_name(&"x".repeat(500)).len() <= 200);
        // A cut at 200 bytes that lands after a space drops the space too.
        let cut = safe_file_name(&format!("{} tail", "a".repeat(199)));
        assert_eq!(cut, "a".repeat(199));
    }

    #[test]
    fn unique_names_never_overwrite() {
        let dir = std::env::temp_dir().join(format!("sockscope-unique-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(unique_path(&dir, "a.bin"), dir.join("a.bin"));
        std::fs::write(dir.join("a.bin"), b"1").unwrap();
        assert_eq!(unique_path(&dir, "a.bin"), dir.join("a (1).bin"));
        std::fs::write(dir.join("a (1).bin"), b"1").unwrap();
        assert_eq!(unique_path(&dir, "a.bin"), dir.join("a (2).bin"));
        std::fs::write(dir.join("noext"), b"1").unwrap();
        assert_eq!(unique_path(&dir, "noext"), dir.join("noext (1)"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
