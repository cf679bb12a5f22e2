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

mod pcapng;

use self::pcapng::{PcapngWriter, Way};
use super::{Chunk, ConnId, Direction, Event, NetError, NetErrorKind};
use std::collections::{BinaryHeap, HashMap};
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
/// Bytes the thread holds for reordering at most; past that the oldest go out at once.
const REORDER_BYTES: usize = 32 << 20;

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
            return Err(NetError::new(NetErrorKind::Other, "capture state lost"));
        };
        if state.running.is_some() {
            return Err(NetError::new(
                NetErrorKind::Other,
                "a capture of this session is already running",
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

/// One thing to write, at its time.
enum Item {
    Opened(SocketAddr),
    ConnOpened(ConnId),
    ConnClosed(ConnId),
    /// Chunk `index` of a batch, after lost bytes of its connection.
    Chunk {
        conn: Option<ConnId>,
        batch: Arc<[Chunk]>,
        index: usize,
        skipped: Lost,
    },
}

/// An item in the heap: earliest time first, then the order it came in.
struct Pending {
    time: SystemTime,
    seq: u64,
    item: Item,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Reversed: BinaryHeap pops the greatest, we want the earliest.
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// A TCP connection of the session, as the capture knows it.
#[derive(Clone, Copy)]
struct Conn {
    local: SocketAddr,
    peer: SocketAddr,
    /// Its handshake is written.
    shaken: bool,
}

/// Puts what comes in time order and writes it.
struct Reorder {
    heap: BinaryHeap<Pending>,
    seq: u64,
    held_bytes: usize,
    /// The session connects: its connections start with its SYN.
    connects: bool,
    /// Where the session is bound (UDP datagrams' local address).
    local: Option<SocketAddr>,
    /// Connections heard of (when the message came, so a batch flushed before its
    /// connection's opening is written in time order still finds it).
    conns: HashMap<ConnId, Conn>,
    /// The last time written: none is ever earlier.
    last: SystemTime,
}

impl Reorder {
    fn new(connects: bool) -> Self {
        Self {
            heap: BinaryHeap::new(),
            seq: 0,
            held_bytes: 0,
            connects,
            local: None,
            conns: HashMap::new(),
            last: SystemTime::UNIX_EPOCH,
        }
    }

    fn hold(&mut self, time: SystemTime, item: Item) {
        self.seq += 1;
        self.heap.push(Pending {
            time,
            seq: self.seq,
            item,
        });
    }

    fn push(&mut self, msg: Msg) {
        match msg {
            Msg::Opened { local, time } => self.hold(time, Item::Opened(local)),
            Msg::ConnOpened {
                conn,
                local,
                peer,
                time,
            } => {
                self.conns.entry(conn).or_insert(Conn {
                    local,
                    peer,
                    shaken: false,
                });
                self.hold(time, Item::ConnOpened(conn));
            }
            Msg::ConnClosed { conn, time } => self.hold(time, Item::ConnClosed(conn)),
            Msg::Data {
                conn,
                chunks,
                skipped,
            } => {
                for index in 0..chunks.len() {
                    self.held_bytes += chunks[index].bytes.len();
                    let skipped = if index == 0 { skipped } else { Lost::default() };
                    let item = Item::Chunk {
                        conn,
                        batch: chunks.clone(),
                        index,
                        skipped,
                    };
                    self.hold(chunks[index].time, item);
                }
            }
        }
    }

    /// Writes what is older than `until` (everything with `None`), and the oldest beyond what
    /// may be held.
    fn write_until<W: std::io::Write>(
        &mut self,
        until: Option<SystemTime>,
        out: &mut PcapngWriter<W>,
    ) -> std::io::Result<()> {
        while let Some(top) = self.heap.peek() {
            let due = until.is_none_or(|u| top.time <= u) || self.held_bytes > REORDER_BYTES;
            if !due {
                break;
            }
            let Some(Pending { time, item, .. }) = self.heap.pop() else {
                break;
            };
            // Never earlier than what is written: a batch that came too late for the window
            // is written at the last time (the order stays true).
            let time = time.max(self.last);
            self.last = time;
            self.write(time, item, out)?;
        }
        Ok(())
    }

    fn write<W: std::io::Write>(
        &mut self,
        time: SystemTime,
        item: Item,
        out: &mut PcapngWriter<W>,
    ) -> std::io::Result<()> {
        match item {
            Item::Opened(local) => {
                self.local = Some(local);
                Ok(())
            }
            Item::ConnOpened(conn) => self.shake(conn, time, out),
            Item::ConnClosed(conn) => {
                self.shake(conn, time, out)?;
                match self.conns.remove(&conn) {
                    Some(c) => out.tcp_close(time, c.local, c.peer),
                    None => Ok(()),
                }
            }
            Item::Chunk {
                conn,
                batch,
                index,
                skipped,
            } => {
                let chunk = &batch[index];
                self.held_bytes = self.held_bytes.saturating_sub(chunk.bytes.len());
                let way = match chunk.dir {
                    Direction::Tx => Way::Sent,
                    Direction::Rx => Way::Received,
                };
                match conn.and_then(|id| self.conns.get(&id).copied().map(|c| (id, c))) {
                    Some((id, tcp)) => {
                        self.shake(id, time, out)?;
                        out.tcp_skip(tcp.local, tcp.peer, skipped.tx_bytes, skipped.rx_bytes);
                        // A relay records its target's words on the client's connection:
                        // received from elsewhere, they are what it sent the client.
                        let way = match way {
                            Way::Received if chunk.peer != tcp.peer => Way::Sent,
                            way => way,
                        };
                        out.tcp_data(time, way, tcp.local, tcp.peer, &chunk.bytes)
                    }
                    None if conn.is_none() => {
                        let local = shown_local(self.local, chunk.peer);
                        out.udp(time, way, local, chunk.peer, &chunk.bytes)
                    }
                    // A connection the capture never heard of cannot be drawn; not expected.
                    None => Ok(()),
                }
            }
        }
    }

    /// Writes `conn`'s handshake at `time` unless it is written already.
    fn shake<W: std::io::Write>(
        &mut self,
        conn: ConnId,
        time: SystemTime,
        out: &mut PcapngWriter<W>,
    ) -> std::io::Result<()> {
        match self.conns.get_mut(&conn) {
            Some(c) if !c.shaken => {
                c.shaken = true;
                out.tcp_open(time, c.local, c.peer, self.connects)
            }
            _ => Ok(()),
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

// Linux only: /dev/full, a device whose every write fails with "no space left".
#[cfg(test)]
#[cfg(target_os = "linux")]
mod full_disk_tests {
    use super::*;

    fn data(bytes: usize) -> Msg {
        Msg::Data {
            conn: None,
            chunks: vec![Chunk {
                dir: Direction::Rx,
                peer: "127.0.0.1:9".parse().unwrap(),
                time: SystemTime::now(),
                bytes: vec![7; bytes],
                frames: Vec::new(),
            }]
            .into(),
            skipped: Lost::default(),
        }
    }

    /// Writes `msgs` through the capture thread's own loop to `/dev/full`.
    fn to_full_disk(msgs: Vec<Msg>) -> Option<std::io::Error> {
        let mut writer = PcapngWriter::new(
            BufWriter::with_capacity(
                1 << 20,
                std::fs::File::options()
                    .write(true)
                    .open("/dev/full")
                    .unwrap(),
            ),
            "t",
        )
        .unwrap();
        let mut order = Reorder::new(true);
        for m in msgs {
            order.push(m);
        }
        let error = order.write_until(None, &mut writer).err();
        error.or_else(|| writer.flush().err())
    }

    /// A full disk is reported, whether heard of at once or only when the last bytes are
    /// flushed: a capture never says it was written when it was not.
    #[test]
    fn a_full_disk_is_reported_not_called_written() {
        // A little data: it fits the write buffer, so the failure comes at the final flush.
        assert!(to_full_disk(vec![data(100)]).is_some(), "a small capture");
        // Much more than the buffer: writes fail on the way.
        let e = to_full_disk((0..40).map(|_| data(60_000)).collect()).expect("a large one");
        assert_eq!(e.raw_os_error(), Some(28), "ENOSPC: {e}");
    }
}

#[cfg(test)]
mod order_tests {
    use super::*;

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

    fn chunk(dir: Direction, peer: SocketAddr, time: SystemTime, bytes: &[u8]) -> Chunk {
        Chunk {
            dir,
            peer,
            time,
            bytes: bytes.to_vec(),
            frames: Vec::new(),
        }
    }

    /// Batches of two connections flushed out of time order, and a batch flushed before its
    /// connection's opening was heard of, are written in time order with every handshake
    /// before the bytes it opened.
    #[test]
    fn batches_come_out_in_time_order_with_handshakes_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.pcapng");
        let file = std::fs::File::create_new(&path).unwrap();
        let mut writer = PcapngWriter::new(BufWriter::new(file), "t").unwrap();
        let local: SocketAddr = "127.0.0.1:502".parse().unwrap();
        let (a, b): (SocketAddr, SocketAddr) = (
            "127.0.0.1:40000".parse().unwrap(),
            "127.0.0.1:40001".parse().unwrap(),
        );
        let t0 = SystemTime::now() - Duration::from_secs(1);
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut order = Reorder::new(false);
        order.push(Msg::ConnOpened {
            conn: ConnId(1),
            local,
            peer: a,
            time: ms(0),
        });
        // Connection 2's batch (times 2, 5) is flushed before connection 1's (times 1, 3), and
        // its opening (time 1) is heard of after its data.
        order.push(Msg::Data {
            conn: Some(ConnId(2)),
            chunks: vec![
                chunk(Direction::Rx, b, ms(2), b"b-request"),
                chunk(Direction::Tx, b, ms(5), b"b-reply"),
            ]
            .into(),
            skipped: Lost::default(),
        });
        order.push(Msg::ConnOpened {
            conn: ConnId(2),
            local,
            peer: b,
            time: ms(1),
        });
        order.push(Msg::Data {
            conn: Some(ConnId(1)),
            chunks: vec![
                chunk(Direction::Rx, a, ms(1), b"a-request"),
                chunk(Direction::Tx, a, ms(3), b"a-reply"),
            ]
            .into(),
            skipped: Lost::default(),
        });
        order.push(Msg::ConnClosed {
            conn: ConnId(1),
            time: ms(6),
        });
        order.write_until(None, &mut writer).unwrap();
        writer.flush().unwrap();
        drop(writer);
        let t = times(&std::fs::read(&path).unwrap());
        // Two handshakes (3 each), four data packets, one close (3: FIN, FIN, ACK).
        assert_eq!(t.len(), 3 + 3 + 4 + 3, "{t:?}");
        assert!(t.windows(2).all(|w| w[0] <= w[1]), "in time order: {t:?}");
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
