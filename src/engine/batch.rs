//! Coalesces received data into few events: at most one per connection per tick under a flood,
//! yet the first piece after a quiet spell goes out at once.

use super::sink::EventSink;
use super::{Chunk, ConnId, Direction, Event, SessionId};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

/// The shortest time between two data events of one connection under load.
pub(crate) const TICK: Duration = Duration::from_millis(15);
/// A batch is sent early when it holds this many bytes…
const MAX_BATCH_BYTES: usize = 1 << 20;
/// …or this many datagrams.
const MAX_BATCH_CHUNKS: usize = 4096;

/// Pending received data of one connection (TCP) or one session (UDP).
pub(crate) struct Batcher {
    session: SessionId,
    conn: Option<ConnId>,
    chunks: Vec<Chunk>,
    bytes: usize,
    omitted_bytes: u64,
    omitted_packets: u64,
    last_flush: Instant,
}

impl Batcher {
    pub fn new(session: SessionId, conn: Option<ConnId>) -> Self {
        Self {
            session,
            conn,
            chunks: Vec::new(),
            bytes: 0,
            omitted_bytes: 0,
            omitted_packets: 0,
            last_flush: Instant::now() - TICK,
        }
    }

    /// Adds stream data: joined to the pending chunk, which keeps the time of its first byte.
    pub fn push_stream(&mut self, peer: SocketAddr, data: &[u8]) {
        self.bytes += data.len();
        match self.chunks.last_mut() {
            Some(last) => last.bytes.extend_from_slice(data),
            None => self.chunks.push(Chunk {
                peer,
                time: SystemTime::now(),
                bytes: data.to_vec(),
            }),
        }
    }

    /// Adds one datagram.
    pub fn push_datagram(&mut self, peer: SocketAddr, data: &[u8]) {
        self.bytes += data.len();
        self.chunks.push(Chunk {
            peer,
            time: SystemTime::now(),
            bytes: data.to_vec(),
        });
    }

    /// Should the batch go now?
    pub fn due(&self) -> bool {
        !self.chunks.is_empty()
            && (self.bytes >= MAX_BATCH_BYTES
                || self.chunks.len() >= MAX_BATCH_CHUNKS
                || self.last_flush.elapsed() >= TICK)
    }

    /// When the pending batch must go at the latest.
    pub fn deadline(&self) -> Option<Instant> {
        (!self.chunks.is_empty()).then(|| self.last_flush + TICK)
    }

    /// Sends the batch if the queue has room; otherwise counts it as omitted from display.
    pub fn flush(&mut self, sink: &EventSink) {
        if self.chunks.is_empty() {
            return;
        }
        self.last_flush = Instant::now();
        if sink.has_room(self.bytes) {
            let chunks = std::mem::take(&mut self.chunks);
            self.send(sink, chunks);
        } else {
            self.omitted_bytes += self.bytes as u64;
            self.omitted_packets += self.chunks.len() as u64;
            self.chunks.clear();
        }
        self.bytes = 0;
    }

    /// Sends what is pending, and any omitted count, whatever the queue holds (at the end).
    pub fn finish(&mut self, sink: &EventSink) {
        self.flush(sink);
        if self.omitted_bytes > 0 {
            self.send(sink, Vec::new());
        }
    }

    fn send(&mut self, sink: &EventSink, chunks: Vec<Chunk>) {
        sink.send(Event::Data {
            session: self.session,
            conn: self.conn,
            dir: Direction::Rx,
            chunks,
            omitted_bytes: std::mem::take(&mut self.omitted_bytes),
            omitted_packets: std::mem::take(&mut self.omitted_packets),
        });
    }
}

/// Reports sent data for display, if the queue has room (counters are kept elsewhere).
pub(crate) fn report_sent(
    sink: &EventSink,
    session: SessionId,
    conn: Option<ConnId>,
    peer: SocketAddr,
    bytes: &[u8],
) {
    if sink.has_room(bytes.len()) {
        sink.send(Event::Data {
            session,
            conn,
            dir: Direction::Tx,
            chunks: vec![Chunk {
                peer,
                time: SystemTime::now(),
                bytes: bytes.to_vec(),
            }],
            omitted_bytes: 0,
            omitted_packets: 0,
        });
    }
}
