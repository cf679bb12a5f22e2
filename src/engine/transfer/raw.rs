//! Raw transfers: a file's bytes as they are, over a session's connections or datagrams, or
//! standalone to and from any peer (socat, nc, a script).

use super::*;

/// Where a raw stream from a session goes.
pub(crate) enum FileSink {
    /// The queues of one or more TCP connections.
    Tcp(Vec<mpsc::Sender<Outgoing>>),
    /// A UDP socket and destination.
    Udp {
        socket: Arc<std::net::UdpSocket>,
        /// The session's record (a capture holds the file's datagrams).
        record: crate::engine::batch::DatagramRecord,
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
                    FileSink::Udp {
                        socket,
                        record,
                        dest,
                    } => {
                        crate::engine::batch::send_datagram(
                            socket, &core, record, piece, *dest, false,
                        )
                        .map_err(NetError::from)?;
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

/// Copies a file into a writer a chunk at a time with pacing; a receiver that takes nothing
/// for the silence limit ends it.
pub(super) async fn copy_paced(
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
            within(cfg.limits.silence, Awaited::ToTakeData, async {
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

pub(super) async fn send_udp(
    core: &SessionCore,
    cfg: &FileSendConfig,
    mut file: BlockReader,
    size: u64,
) -> Result<(), NetError> {
    let dest = crate::engine::resolve::resolve_first(&cfg.remote).await?;
    let bind: SocketAddr = if dest.is_ipv6() {
        "[::]:0".parse().unwrap_or(dest)
    } else {
        SocketAddr::from(([0, 0, 0, 0], 0))
    };
    let socket = tokio::net::UdpSocket::bind(bind).await?;
    socket.connect(dest).await?;
    core.announce(Event::Opened {
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

pub(super) async fn receive_raw_stream(
    core: &SessionCore,
    mut stream: tokio::net::TcpStream,
    out: &Path,
    out_taken: &AtomicBool,
    silence: Duration,
    activity: &Activity,
) -> Result<(), NetError> {
    let mut block = Vec::with_capacity(FILE_BLOCK);
    // The file is named once data comes: a connection that sends nothing takes no name.
    let first = within(silence, Awaited::Data, async {
        stream.read_buf(&mut block).await.map_err(NetError::from)
    })
    .await?;
    if first == 0 {
        return Ok(());
    }
    activity.data_came();
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
                    error: NetError::because(
                        NetErrorKind::Timeout,
                        Reason::SilentTakenAsEnd {
                            secs: silence.as_secs_f64(),
                        },
                    )
                    .at(path.display()),
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

pub(super) async fn receive_udp(
    core: &SessionCore,
    cfg: &FileReceiveConfig,
) -> Result<(), NetError> {
    let socket = crate::engine::sockets::new_socket(&cfg.bind, true)?;
    crate::engine::sockets::set_recv_buffer(&socket, crate::engine::sockets::UDP_RECV_BUFFER);
    socket.bind(&cfg.bind.into())?;
    socket.set_nonblocking(true)?;
    let socket = tokio::net::UdpSocket::from_std(socket.into())?;
    core.announce(Event::Opened {
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
