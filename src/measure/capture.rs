//! A session's capture: its events (connections, data both ways) written as pcapng — by the
//! command line from the events it reads (`--pcap`), or by a window tab through
//! [`CaptureThread`], never on the engine's path. A TCP relay's capture is its clients' side:
//! each client's connection to the relay, what the client said and what the target answered.

use super::pcapng::{PcapngWriter, Way};
use crate::engine::{ConnId, Direction, Event};
use std::collections::HashMap;
use std::io::BufWriter;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A TCP connection of the session, as the capture knows it.
#[derive(Clone, Copy)]
struct Conn {
    local: SocketAddr,
    peer: SocketAddr,
    /// When the capture heard of it (later than the connection itself if the capture lags).
    heard_at: std::time::SystemTime,
    /// Its handshake is written: it goes just before its first data, at the earlier of that
    /// data's time and `heard_at`, so it never follows the bytes it opened.
    shaken: bool,
}

/// A capture in progress.
pub struct Capture {
    writer: PcapngWriter<BufWriter<std::fs::File>>,
    pub path: PathBuf,
    /// This session connected (a client): it sends the SYN.
    connects: bool,
    /// Where a UDP session is bound.
    local: Option<SocketAddr>,
    /// Each TCP connection.
    conns: HashMap<ConnId, Conn>,
    /// The first write that failed (the capture stops there and says so).
    pub error: Option<std::io::Error>,
    /// Data the engine did not pass on (the output was too slow): missing from the capture.
    pub omitted_bytes: u64,
}

impl Capture {
    /// Creates `path` (never over an existing file); `connects`: the session is the side that
    /// connects (a TCP client, or UDP), so its connections start with its SYN; `session` names
    /// the capture's interface (what the session is and where).
    pub fn create(path: &std::path::Path, connects: bool, session: &str) -> std::io::Result<Self> {
        let file = std::fs::File::create_new(path)?;
        Self::over(file, path, connects, session)
    }

    /// A capture written to `file` (opened at `path`).
    fn over(
        file: std::fs::File,
        path: &std::path::Path,
        connects: bool,
        session: &str,
    ) -> std::io::Result<Self> {
        let writer = PcapngWriter::new(BufWriter::with_capacity(1 << 20, file), session)?;
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
                let c = Conn {
                    local: *local,
                    peer: *peer,
                    heard_at: now,
                    shaken: false,
                };
                self.conns.insert(*conn, c);
                Ok(())
            }
            Event::ConnClosed { conn, .. } => match self.conns.remove(conn) {
                Some(c) => self
                    .shake(c, c.heard_at)
                    .and_then(|()| self.writer.tcp_close(now.max(c.heard_at), c.local, c.peer)),
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
                    result = match conn.and_then(|id| self.conns.get_mut(&id)) {
                        Some(known) => {
                            let tcp = *known;
                            known.shaken = true;
                            // A relay reports its target's words on the client's connection:
                            // received from elsewhere, they are what it sent the client.
                            let way = match way {
                                Way::Received if c.peer != tcp.peer => Way::Sent,
                                way => way,
                            };
                            self.shake(tcp, tcp.heard_at.min(c.time)).and_then(|()| {
                                self.writer
                                    .tcp_data(c.time, way, tcp.local, tcp.peer, &c.bytes)
                            })
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

impl Capture {
    /// Writes `conn`'s handshake at `time` unless it is written already.
    fn shake(&mut self, conn: Conn, time: std::time::SystemTime) -> std::io::Result<()> {
        if conn.shaken {
            return Ok(());
        }
        self.writer
            .tcp_open(time, conn.local, conn.peer, self.connects)
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

/// A capture written on a thread of its own, fed through a bounded queue. The window
/// [`offers`](Self::offer) events and never waits for the disk (what does not fit is counted as
/// missing); the command line [`gives`](Self::give) them and waits for room, so its capture holds
/// everything its output saw. Neither ever makes the session wait: the engine does not block on
/// its events.
pub struct CaptureThread {
    tx: Option<std::sync::mpsc::SyncSender<Event>>,
    done: Option<std::thread::JoinHandle<Capture>>,
    /// Bytes of data events that did not fit in the queue.
    pub dropped_bytes: u64,
    pub path: std::path::PathBuf,
}

/// Does the capture need this event?
fn wanted(event: &Event) -> bool {
    matches!(
        event,
        Event::Opened { .. }
            | Event::ConnOpened { .. }
            | Event::ConnClosed { .. }
            | Event::Data { .. }
    )
}

/// Events waiting for the capture thread at most. A data event carries at most a little over
/// 1 MiB (the engine's batch), so at most about 130 MiB wait.
const CAPTURE_QUEUE: usize = 128;

/// How a capture ended: its file, bytes missing from it, and the error that stopped it.
pub struct CaptureEnd {
    pub path: std::path::PathBuf,
    pub missing_bytes: u64,
    pub error: Option<std::io::Error>,
}

impl CaptureThread {
    /// Creates `path` (never over an existing file) and starts writing.
    pub fn start(path: &std::path::Path, connects: bool, session: &str) -> std::io::Result<Self> {
        Self::spawn(Capture::create(path, connects, session)?)
    }

    /// Writes `capture` on a thread of its own.
    fn spawn(mut capture: Capture) -> std::io::Result<Self> {
        let path = capture.path.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel::<Event>(CAPTURE_QUEUE);
        let done = std::thread::Builder::new()
            .name("sockscope-capture".into())
            .spawn(move || {
                while let Ok(event) = rx.recv() {
                    capture.take(&event);
                }
                // The last bytes reach the disk here: a full disk is often first heard of now.
                if let Err(e) = capture.writer.flush() {
                    capture.error.get_or_insert(e);
                }
                capture
            })?;
        Ok(Self {
            tx: Some(tx),
            done: Some(done),
            dropped_bytes: 0,
            path,
        })
    }

    /// Hands over a copy of an event the capture needs (others are not sent), or counts its
    /// bytes as missing when the queue is full.
    pub fn offer(&mut self, event: &Event) {
        let Some(tx) = self.tx.as_ref().filter(|_| wanted(event)) else {
            return;
        };
        if let Err(std::sync::mpsc::TrySendError::Full(Event::Data { chunks, .. })) =
            tx.try_send(event.clone())
        {
            self.dropped_bytes += chunks.iter().map(|c| c.bytes.len() as u64).sum::<u64>();
        }
    }

    /// Hands over an event the capture needs, waiting for room in the queue.
    pub fn give(&mut self, event: Event) {
        if let Some(tx) = self.tx.as_ref().filter(|_| wanted(&event)) {
            // The thread ends only after a write error; the error is reported by `finish`.
            let _ = tx.send(event);
        }
    }

    /// Ends the capture: waits for the thread to write what it has.
    pub fn finish(mut self) -> CaptureEnd {
        self.tx = None;
        let capture = self.done.take().and_then(|d| d.join().ok());
        CaptureEnd {
            path: self.path.clone(),
            missing_bytes: self.dropped_bytes + capture.as_ref().map_or(0, |c| c.omitted_bytes),
            error: capture.and_then(|c| c.error),
        }
    }
}

// Linux only: /dev/full, a device whose every write fails with "no space left".
#[cfg(test)]
#[cfg(target_os = "linux")]
mod tests {
    use super::*;
    use crate::engine::{Chunk, SessionId};

    fn data(bytes: usize) -> Event {
        Event::Data {
            session: SessionId(1),
            conn: None,
            dir: Direction::Rx,
            chunks: vec![Chunk {
                peer: "127.0.0.1:9".parse().unwrap(),
                time: std::time::SystemTime::now(),
                bytes: vec![7; bytes],
                frames: Vec::new(),
            }],
            omitted_bytes: 0,
            omitted_packets: 0,
        }
    }

    /// A full disk is reported, whether heard of at once or only when the last bytes are
    /// flushed: a capture never says it was written when it was not.
    #[test]
    fn a_full_disk_is_reported_not_called_written() {
        let full = || {
            std::fs::File::options()
                .write(true)
                .open("/dev/full")
                .unwrap()
        };
        let path = std::path::Path::new("/dev/full");
        // A little data: it fits the write buffer, so the failure comes at the final flush.
        let mut small =
            CaptureThread::spawn(Capture::over(full(), path, true, "t").unwrap()).unwrap();
        small.give(data(100));
        let end = small.finish();
        assert!(end.error.is_some(), "a small capture on a full disk");
        // Much more than the buffer: writes fail on the way, the rest is not attempted.
        let mut big =
            CaptureThread::spawn(Capture::over(full(), path, true, "t").unwrap()).unwrap();
        for _ in 0..4 {
            big.give(data(60_000));
        }
        let end = big.finish();
        let e = end.error.expect("a large capture on a full disk");
        assert_eq!(e.raw_os_error(), Some(28), "ENOSPC: {e}");
    }
}

#[cfg(test)]
mod order_tests {
    use super::*;
    use crate::engine::{Chunk, CloseReason, SessionId};
    use std::time::{Duration, SystemTime};

    /// The packets' timestamps (µs), in file order.
    fn times(bytes: &[u8]) -> Vec<u64> {
        let u32le = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let (mut at, mut out) = (0, Vec::new());
        while at < bytes.len() {
            let len = u32le(at + 4) as usize;
            if u32le(at) == 6 {
                out.push((u64::from(u32le(at + 12)) << 32) | u64::from(u32le(at + 16)));
            }
            at += len;
        }
        out
    }

    /// A capture that hears of a connection after its first bytes were read (it lagged) still
    /// puts the handshake at or before those bytes, never after.
    #[test]
    fn a_handshake_never_follows_the_bytes_it_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.pcapng");
        let mut capture = Capture::create(&path, false, "t").unwrap();
        let (session, conn) = (SessionId(1), ConnId(7));
        let local: SocketAddr = "127.0.0.1:502".parse().unwrap();
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let read_at = SystemTime::now() - Duration::from_secs(1);
        capture.take(&Event::ConnOpened {
            session,
            conn,
            peer,
            local,
        });
        capture.take(&Event::Data {
            session,
            conn: Some(conn),
            dir: Direction::Rx,
            chunks: vec![Chunk {
                peer,
                time: read_at,
                bytes: b"request".to_vec(),
                frames: Vec::new(),
            }],
            omitted_bytes: 0,
            omitted_packets: 0,
        });
        capture.take(&Event::ConnClosed {
            session,
            conn,
            peer,
            reason: CloseReason::PeerClosed,
        });
        capture.take(&Event::Closed {
            session,
            error: None,
        });
        assert!(capture.error.is_none());
        let t = times(&std::fs::read(&path).unwrap());
        assert_eq!(t.len(), 3 + 1 + 2, "handshake, data, FINs: {t:?}");
        assert!(t.windows(2).all(|w| w[0] <= w[1]), "in time order: {t:?}");
    }
}
