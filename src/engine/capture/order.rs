//! Putting a capture in time order: batches of different connections reach the capture thread
//! in the order they were flushed; they are held briefly in a heap and written earliest first,
//! every handshake before the bytes it opened, no timestamp ever earlier than the last.

use super::pcapng::{PcapngWriter, Way};
use super::{Lost, Msg};
use crate::engine::{Chunk, ConnId, Direction};
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

/// Bytes the thread holds for reordering at most; past that the oldest go out at once.
const REORDER_BYTES: usize = 32 << 20;
/// Packets held at most, whatever their size (a flood of one-byte datagrams holds little data
/// but many entries).
const REORDER_ITEMS: usize = 1 << 18;

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
pub(super) struct Reorder {
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
    pub(super) fn new(connects: bool) -> Self {
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

    pub(super) fn push(&mut self, msg: Msg) {
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
    pub(super) fn write_until<W: std::io::Write>(
        &mut self,
        until: Option<SystemTime>,
        out: &mut PcapngWriter<W>,
    ) -> std::io::Result<()> {
        while let Some(top) = self.heap.peek() {
            let due = until.is_none_or(|u| top.time <= u)
                || self.held_bytes > REORDER_BYTES
                || self.heap.len() > REORDER_ITEMS;
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
    use std::io::BufWriter;

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
    use std::io::BufWriter;
    use std::time::Duration;

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
