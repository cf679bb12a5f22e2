//! Coalesces received data into few events: at most one per connection per tick under a flood,
//! yet the first piece after a quiet spell goes out at once.

use super::sink::EventSink;
use super::{Chunk, ConnId, Direction, Event, FrameInfo, FrameMark, SessionId};
use crate::payload::framing::FrameKind;
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
    /// When the previous frame of this connection arrived.
    last_frame: Option<SystemTime>,
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
            last_frame: None,
        }
    }

    /// Adds one frame received at `time` (when the read that completed it returned): a chunk of
    /// its own, with the time since the previous frame. A frame the display queue has no room
    /// for is counted as not shown and not copied.
    pub fn push_frame(
        &mut self,
        peer: SocketAddr,
        bytes: &[u8],
        kind: FrameKind,
        time: SystemTime,
        sink: &EventSink,
    ) {
        let dt = self
            .last_frame
            .and_then(|last| time.duration_since(last).ok());
        self.last_frame = Some(time);
        if !sink.has_room(self.bytes + bytes.len()) {
            self.omitted_bytes += bytes.len() as u64;
            self.omitted_packets += 1;
            return;
        }
        self.bytes += bytes.len();
        let info = FrameInfo { kind, dt };
        // Frames completed by the same read travel in one chunk: one copy, one allocation.
        match self.chunks.last_mut() {
            Some(last) if last.time == time && last.peer == peer && !last.frames.is_empty() => {
                last.bytes.extend_from_slice(bytes);
                let end = last.bytes.len();
                last.frames.push(FrameMark { end, info });
            }
            _ => self.chunks.push(Chunk {
                peer,
                time,
                bytes: bytes.to_vec(),
                frames: vec![FrameMark {
                    end: bytes.len(),
                    info,
                }],
            }),
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
                frames: Vec::new(),
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
            frames: Vec::new(),
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
                frames: Vec::new(),
            }],
            omitted_bytes: 0,
            omitted_packets: 0,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::sink::{QueueBudget, QueueLoad};
    use std::sync::{mpsc, Arc};

    fn sink(budget: QueueBudget) -> (EventSink, mpsc::Receiver<Event>, Arc<QueueLoad>) {
        #[allow(clippy::disallowed_methods)] // a test's queue, drained by the test
        let (tx, rx) = mpsc::channel();
        let load = Arc::new(QueueLoad::default());
        (
            EventSink::new(tx, load.clone(), budget, Arc::new(|| {})),
            rx,
            load,
        )
    }

    fn peer() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9))
    }

    #[test]
    fn frames_of_one_read_travel_in_one_chunk_and_come_apart_whole() {
        let (sink, rx, _) = sink(QueueBudget::default());
        let mut batch = Batcher::new(SessionId(1), Some(ConnId(1)));
        let first_read = SystemTime::now();
        let second_read = first_read + Duration::from_millis(7);
        batch.push_frame(peer(), b"one\n", FrameKind::Whole, first_read, &sink);
        batch.push_frame(peer(), b"two\n", FrameKind::Whole, first_read, &sink);
        batch.push_frame(peer(), b"thr", FrameKind::Incomplete, second_read, &sink);
        batch.finish(&sink);
        let Ok(Event::Data { chunks, .. }) = rx.try_recv() else {
            panic!("a data event");
        };
        assert_eq!(chunks.len(), 2, "one chunk per read");
        let pieces: Vec<(Vec<u8>, FrameKind, Option<Duration>)> = chunks
            .iter()
            .flat_map(|c| c.pieces())
            .map(|(bytes, info)| {
                let info = info.expect("framed");
                (bytes.to_vec(), info.kind, info.dt)
            })
            .collect();
        assert_eq!(
            pieces,
            [
                (b"one\n".to_vec(), FrameKind::Whole, None),
                (b"two\n".to_vec(), FrameKind::Whole, Some(Duration::ZERO)),
                (
                    b"thr".to_vec(),
                    FrameKind::Incomplete,
                    Some(Duration::from_millis(7))
                ),
            ]
        );
    }

    fn data(event: &Event) -> (Vec<Vec<u8>>, u64, u64) {
        match event {
            Event::Data {
                chunks,
                omitted_bytes,
                omitted_packets,
                ..
            } => (
                chunks.iter().map(|c| c.bytes.clone()).collect(),
                *omitted_bytes,
                *omitted_packets,
            ),
            other => panic!("not data: {other:?}"),
        }
    }

    #[test]
    fn stream_reads_join_into_one_chunk_and_datagrams_stay_apart() {
        let (sink, rx, _) = sink(QueueBudget::default());
        let mut stream = Batcher::new(SessionId(1), Some(ConnId(1)));
        stream.push_stream(peer(), b"01 03 ");
        stream.push_stream(peer(), b"02 00");
        stream.finish(&sink);
        assert_eq!(
            data(&rx.try_recv().unwrap()).0,
            vec![b"01 03 02 00".to_vec()]
        );
        let mut datagrams = Batcher::new(SessionId(1), None);
        datagrams.push_datagram(peer(), b"a");
        datagrams.push_datagram(peer(), b"b");
        datagrams.finish(&sink);
        assert_eq!(
            data(&rx.try_recv().unwrap()).0,
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        assert!(rx.try_recv().is_err(), "one event per batch");
    }

    #[test]
    fn a_batch_goes_early_when_large_and_on_time_when_quiet() {
        let mut batch = Batcher::new(SessionId(1), None);
        assert!(
            !batch.due() && batch.deadline().is_none(),
            "nothing pending"
        );
        batch.push_datagram(peer(), b"x");
        // The first piece after a quiet spell is due at once.
        assert!(batch.due());
        let (sink, _rx, _) = sink(QueueBudget::default());
        batch.flush(&sink);
        batch.push_datagram(peer(), b"y");
        assert!(!batch.due(), "within the tick after a flush");
        assert!(batch.deadline().is_some());
        for _ in 0..MAX_BATCH_CHUNKS {
            batch.push_datagram(peer(), b"z");
        }
        assert!(batch.due(), "full before the tick");
    }

    #[test]
    fn data_beyond_the_budget_is_counted_as_omitted_never_lost_from_the_count() {
        let (sink, rx, load) = sink(QueueBudget {
            bytes: 10,
            events: 100,
        });
        let mut batch = Batcher::new(SessionId(1), None);
        batch.push_datagram(peer(), &[0; 8]);
        batch.flush(&sink);
        // 8 bytes wait in the queue: 8 more do not fit the 10-byte budget.
        batch.push_datagram(peer(), &[1; 8]);
        batch.push_datagram(peer(), &[2; 8]);
        batch.flush(&sink);
        assert_eq!(load.bytes.load(std::sync::atomic::Ordering::Relaxed), 8);
        // The front end drains; the next batch carries the omitted count.
        let first = rx.try_recv().unwrap();
        load.bytes
            .fetch_sub(first.queued_bytes(), std::sync::atomic::Ordering::Relaxed);
        load.events
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        batch.push_datagram(peer(), b"ok");
        batch.finish(&sink);
        let (chunks, omitted_bytes, omitted_packets) = data(&rx.try_recv().unwrap());
        assert_eq!(chunks, vec![b"ok".to_vec()]);
        assert_eq!((omitted_bytes, omitted_packets), (16, 2));
    }

    #[test]
    fn the_event_budget_bounds_the_queue_too() {
        let (sink, rx, _) = sink(QueueBudget {
            bytes: 1 << 20,
            events: 2,
        });
        for _ in 0..5 {
            report_sent(&sink, SessionId(1), None, peer(), b"tx");
        }
        assert_eq!(
            rx.try_iter().count(),
            2,
            "display of sends stops at the budget"
        );
        // Events that must arrive are never held back by the budget.
        sink.send(Event::ListenStopped {
            session: SessionId(1),
        });
        assert!(rx.try_recv().is_ok());
    }
}
