//! A session's capture, written by the engine: every chunk of every connection's record (what
//! was received and what SockScope sent, echoes and automatic replies included) as pcapng, on a
//! thread of its own, whatever the display keeps up with.
//!
//! Each session has a [`Tap`]. It always knows the session's address and open connections (so a
//! capture started mid-session knows them too); while a capture runs it hands each flushed
//! batch to the capture thread, never waiting for the disk: past [`QUEUE_BYTES`] waiting, a
//! batch is not queued and its bytes are counted as lost, per direction, and the capture's TCP
//! sequence numbers skip them (Wireshark then truly says "previous segment not captured").
//!
//! Batches of different connections reach the thread in the order they were flushed, not in
//! the order their bytes crossed the wire; the thread puts them in time order (a heap over a
//! short window), so timestamps never decrease. A TCP relay's capture is its clients' side:
//! each client's connection to the relay, what the client said and what the target answered.

mod order;
mod pcapng;

use self::order::Reorder;
use self::pcapng::PcapngWriter;
use super::{Chunk, ConnId, Direction, Event, NetError, NetErrorKind, Reason};
use std::collections::HashMap;
use std::io::BufWriter;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Bytes of data waiting for the capture thread at most; past that, batches are lost (and
/// counted) rather than making the session wait for the disk.
const QUEUE_BYTES: usize = 128 << 20;
/// How long the thread holds packets to put batches of different connections in time order.
const REORDER_WINDOW: Duration = Duration::from_millis(100);

/// What a capture is asked to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureRequest {
    /// A new file (never one that exists).
    pub path: PathBuf,
    /// Names the capture's interface: what the session is and where.
    pub label: String,
    /// The session connects (a TCP client, UDP): its connections start with its SYN.
    pub connects: bool,
}

/// Bytes a capture could not keep, each way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lost {
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

impl Lost {
    fn add(&mut self, dir: Direction, n: u64) {
        match dir {
            Direction::Rx => self.rx_bytes += n,
            Direction::Tx => self.tx_bytes += n,
        }
    }

    /// Nothing was lost.
    pub fn is_none(&self) -> bool {
        self.rx_bytes == 0 && self.tx_bytes == 0
    }
}

/// What the capture thread is told.
enum Msg {
    Opened {
        local: SocketAddr,
        time: SystemTime,
    },
    ConnOpened {
        conn: ConnId,
        local: SocketAddr,
        peer: SocketAddr,
        time: SystemTime,
    },
    ConnClosed {
        conn: ConnId,
        time: SystemTime,
    },
    /// A batch, after `skipped` bytes of this connection (each way) that were lost.
    Data {
        conn: Option<ConnId>,
        chunks: Arc<[Chunk]>,
        skipped: Lost,
    },
}

/// A capture running: its queue, its thread, what it lost.
struct Running {
    tx: mpsc::Sender<Msg>,
    queued: Arc<AtomicUsize>,
    thread: std::thread::JoinHandle<Option<std::io::Error>>,
    path: PathBuf,
    lost: Lost,
    /// Lost bytes of each connection not yet told to the thread.
    skipped: HashMap<Option<ConnId>, Lost>,
}

#[derive(Default)]
struct TapState {
    local: Option<SocketAddr>,
    conns: HashMap<ConnId, (SocketAddr, SocketAddr)>,
    running: Option<Running>,
}

/// A session's tap: where its record goes when a capture runs.
pub(crate) struct Tap {
    /// A capture runs (read without the lock on every push).
    on: AtomicBool,
    state: Mutex<TapState>,
    /// Bytes that may wait for the capture thread ([`QUEUE_BYTES`]; smaller in tests).
    queue_bytes: AtomicUsize,
}

impl Default for Tap {
    fn default() -> Self {
        Self {
            on: AtomicBool::new(false),
            state: Mutex::default(),
            queue_bytes: AtomicUsize::new(QUEUE_BYTES),
        }
    }
}

/// A capture that was stopped, to be waited for off the engine's thread.
pub(crate) struct Ending {
    thread: std::thread::JoinHandle<Option<std::io::Error>>,
    pub path: PathBuf,
    pub lost: Lost,
}

impl Ending {
    /// Waits until the file is written; the error that stopped it, if any.
    pub fn wait(self) -> Option<NetError> {
        let error = self
            .thread
            .join()
            .unwrap_or_else(|_| Some(std::io::Error::other("the capture thread failed")));
        error.map(|e| file_error(&self.path, &e))
    }
}

impl Tap {
    /// Does a capture run?
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Takes note of an event announcing the session or a connection.
    pub fn note(&self, event: &Event) {
        let time = SystemTime::now();
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let msg = match event {
            Event::Opened { local, .. } => {
                state.local = Some(*local);
                Msg::Opened {
                    local: *local,
                    time,
                }
            }
            Event::ConnOpened {
                conn, peer, local, ..
            } => {
                state.conns.insert(*conn, (*local, *peer));
                Msg::ConnOpened {
                    conn: *conn,
                    local: *local,
                    peer: *peer,
                    time,
                }
            }
            Event::ConnClosed { conn, .. } => {
                state.conns.remove(conn);
                if let Some(running) = &mut state.running {
                    running.skipped.remove(&Some(*conn));
                }
                Msg::ConnClosed { conn: *conn, time }
            }
            _ => return,
        };
        if let Some(running) = &state.running {
            let _ = running.tx.send(msg);
        }
    }

    /// Hands a flushed batch to the capture, or counts it as lost when too much waits.
    pub fn data(&self, conn: Option<ConnId>, chunks: &Arc<[Chunk]>) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let Some(running) = &mut state.running else {
            return;
        };
        let bytes: usize = chunks.iter().map(|c| c.bytes.len()).sum();
        if running.queued.load(Ordering::Relaxed) + bytes > self.queue_bytes.load(Ordering::Relaxed)
        {
            let skipped = running.skipped.entry(conn).or_default();
            for c in chunks.iter() {
                running.lost.add(c.dir, c.bytes.len() as u64);
                skipped.add(c.dir, c.bytes.len() as u64);
            }
            return;
        }
        running.queued.fetch_add(bytes, Ordering::Relaxed);
        let skipped = running.skipped.remove(&conn).unwrap_or_default();
        let _ = running.tx.send(Msg::Data {
            conn,
            chunks: chunks.clone(),
            skipped,
        });
    }

    /// Starts a capture: makes its file (an existing one is never replaced) and the thread that
    /// writes it.
    pub fn start(&self, request: CaptureRequest) -> Result<(), NetError> {
        let Ok(mut state) = self.state.lock() else {
            return Err(NetError::because(NetErrorKind::Other, Reason::TaskFailed));
        };
        if state.running.is_some() {
            return Err(NetError::because(
                NetErrorKind::Busy,
                Reason::CaptureRunning,
            ));
        }
        #[allow(clippy::disallowed_methods)] // bounded by QUEUE_BYTES (data) and the connections
        let (tx, rx) = mpsc::channel();
        let queued = Arc::new(AtomicUsize::new(0));
        // What the session is already: where it is bound, its open connections.
        let now = SystemTime::now();
        if let Some(local) = state.local {
            let _ = tx.send(Msg::Opened { local, time: now });
        }
        for (conn, (local, peer)) in &state.conns {
            let _ = tx.send(Msg::ConnOpened {
                conn: *conn,
                local: *local,
                peer: *peer,
                time: now,
            });
        }
        let path = request.path.clone();
        // Made here, so a file that exists is refused at once (nothing is replaced).
        let file = std::fs::File::create_new(&path).map_err(|e| file_error(&path, &e))?;
        let thread = {
            let queued = queued.clone();
            std::thread::Builder::new()
                .name("sockscope-capture".into())
                .spawn(move || write_capture(file, &request, &rx, &queued))
                .map_err(NetError::from)?
        };
        state.running = Some(Running {
            tx,
            queued,
            thread,
            path,
            lost: Lost::default(),
            skipped: HashMap::new(),
        });
        self.on.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Stops the capture, if one runs; what it holds is still written (see [`Ending::wait`]).
    pub fn stop(&self) -> Option<Ending> {
        let running = self.state.lock().ok()?.running.take()?;
        self.on.store(false, Ordering::Relaxed);
        drop(running.tx);
        Some(Ending {
            thread: running.thread,
            path: running.path,
            lost: running.lost,
        })
    }
}

/// A file error; one that exists is said as such (kind [`NetErrorKind::FileExists`]).
fn file_error(path: &std::path::Path, e: &std::io::Error) -> NetError {
    let error = super::file_io::file_error(path, e);
    if e.kind() == std::io::ErrorKind::AlreadyExists {
        error.with_kind(NetErrorKind::FileExists)
    } else {
        error
    }
}

/// The capture thread: writes what comes, in time order, until the tap lets go. A write error
/// stops the writing (what comes is then dropped, so the session never waits) and is returned.
fn write_capture(
    file: std::fs::File,
    request: &CaptureRequest,
    rx: &mpsc::Receiver<Msg>,
    queued: &AtomicUsize,
) -> Option<std::io::Error> {
    let mut writer =
        match PcapngWriter::new(BufWriter::with_capacity(1 << 20, file), &request.label) {
            Ok(w) => w,
            Err(e) => {
                for msg in rx.iter() {
                    release(&msg, queued);
                }
                return Some(e);
            }
        };
    let mut order = Reorder::new(request.connects);
    let mut error = None;
    loop {
        let msg = match rx.recv_timeout(REORDER_WINDOW / 2) {
            Ok(msg) => Some(msg),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        if let Some(msg) = msg {
            release(&msg, queued);
            if error.is_none() {
                order.push(msg);
            }
        }
        if error.is_none() {
            let until = SystemTime::now()
                .checked_sub(REORDER_WINDOW)
                .unwrap_or(SystemTime::UNIX_EPOCH);
            if let Err(e) = order.write_until(Some(until), &mut writer) {
                error = Some(e);
            }
        }
    }
    if error.is_none() {
        error = order.write_until(None, &mut writer).err();
    }
    // The last bytes reach the disk here: a full disk is often first heard of now.
    if let Err(e) = writer.flush() {
        error.get_or_insert(e);
    }
    error
}

fn release(msg: &Msg, queued: &AtomicUsize) {
    if let Msg::Data { chunks, .. } = msg {
        let bytes: usize = chunks.iter().map(|c| c.bytes.len()).sum();
        queued.fetch_sub(bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod lost_tests {
    use super::*;

    fn chunk(dir: Direction, peer: SocketAddr, bytes: &[u8]) -> Chunk {
        Chunk {
            dir,
            peer,
            time: SystemTime::now(),
            bytes: bytes.to_vec(),
            frames: Vec::new(),
        }
    }

    /// When the disk cannot keep up, a capture says exactly how many bytes of each direction
    /// it lost, and what it writes next sits where it was on the wire (its sequence numbers
    /// skip the lost bytes).
    #[test]
    fn lost_bytes_are_counted_each_way_and_skipped_in_sequence_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lost.pcapng");
        let tap = Tap::default();
        let (session, conn) = (crate::engine::SessionId(1), ConnId(3));
        let local: SocketAddr = "127.0.0.1:502".parse().unwrap();
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        tap.note(&Event::ConnOpened {
            session,
            conn,
            peer,
            local,
        });
        tap.start(CaptureRequest {
            path: path.clone(),
            label: "t".into(),
            connects: false,
        })
        .unwrap();
        // Nothing may wait: this batch is lost.
        tap.queue_bytes.store(0, Ordering::Relaxed);
        let lost: Arc<[Chunk]> = vec![
            chunk(Direction::Rx, peer, &[1; 10]),
            chunk(Direction::Tx, peer, &[2; 5]),
        ]
        .into();
        tap.data(Some(conn), &lost);
        tap.queue_bytes.store(QUEUE_BYTES, Ordering::Relaxed);
        let kept: Arc<[Chunk]> = vec![
            chunk(Direction::Rx, peer, b"abc"),
            chunk(Direction::Tx, peer, b"de"),
        ]
        .into();
        tap.data(Some(conn), &kept);
        let end = tap.stop().unwrap();
        assert_eq!(
            end.lost,
            Lost {
                rx_bytes: 10,
                tx_bytes: 5
            }
        );
        assert!(end.wait().is_none());
        // The two data packets kept: sequence numbers 10 and 5 past where they began.
        let bytes = std::fs::read(&path).unwrap();
        let u32le = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let (mut at, mut seqs) = (0, Vec::new());
        while at < bytes.len() {
            let len = u32le(at + 4) as usize;
            let frame = &bytes[at + 28..];
            // Ethernet 14, IPv4 20: the TCP header; its data offset says where data starts.
            if u32le(at) == 6 && frame.len() > 54 {
                let tcp = &frame[34..];
                let caplen = u32le(at + 20) as usize;
                let data_len = caplen - 34 - usize::from(tcp[12] >> 4) * 4;
                if data_len > 0 {
                    seqs.push(u32::from_be_bytes(tcp[4..8].try_into().unwrap()));
                }
            }
            at += len;
        }
        // The peer's side starts at 5,000 and ours at 1,000 (pcapng.rs).
        assert_eq!(seqs, [5_000 + 10, 1_000 + 5]);
    }
}
