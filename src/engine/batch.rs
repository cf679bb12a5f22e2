//! A connection's record (or a UDP session's): every read and every write, each a chunk with
//! its direction and time, in the order they happened. Batched into few events: at most one per
//! connection per tick under a flood, yet the first piece after a quiet spell goes out at once.
//! Each batch goes whole to the session's capture, if one runs, and to the display if the queue
//! has room (else it is counted as not shown).

use super::capture::Tap;
use super::sink::EventSink;
use super::{Chunk, ConnId, Direction, Event, FrameInfo, FrameMark, MessageKind, SessionId};
use crate::payload::framing::FrameKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// The shortest time between two data events of one connection under load.
pub(crate) const TICK: Duration = Duration::from_millis(15);
/// A batch is sent early when it holds this many bytes…
const MAX_BATCH_BYTES: usize = 1 << 20;
/// …or this many chunks.
const MAX_BATCH_CHUNKS: usize = 4096;

/// The pending record of one connection (TCP) or one session (UDP).
pub(crate) struct Batcher {
    session: SessionId,
    conn: Option<ConnId>,
    sink: EventSink,
    tap: Arc<Tap>,
    chunks: Vec<Chunk>,
    bytes: usize,
    /// Indexes of the chunks only the capture takes (a file's bytes streamed over the
    /// session), in order.
    hidden: Vec<usize>,
    omitted_bytes: u64,
    omitted_packets: u64,
    last_flush: Instant,
    /// When the previous frame of this connection arrived.
    last_frame: Option<SystemTime>,
    /// The reader has ended ([`Batcher::finish`]): what is still written (a delayed reply on
    /// its way out as a UDP session closes) goes out at once, not at a flush that never comes.
    finished: bool,
}

impl Batcher {
    pub fn new(core: &super::shared::SessionCore, conn: Option<ConnId>) -> Self {
        Self::with(core.id, conn, core.sink.clone(), core.tap.clone())
    }

    fn with(session: SessionId, conn: Option<ConnId>, sink: EventSink, tap: Arc<Tap>) -> Self {
        Self {
            session,
            conn,
            sink,
            tap,
            chunks: Vec::new(),
            bytes: 0,
            hidden: Vec::new(),
            omitted_bytes: 0,
            omitted_packets: 0,
            last_flush: Instant::now() - TICK,
            last_frame: None,
            finished: false,
        }
    }

    /// Is `n` more bytes worth copying: a capture takes them, or the display has room?
    fn keeps(&mut self, n: usize) -> bool {
        if self.tap.is_on() || self.sink.has_room(self.bytes + n) {
            return true;
        }
        self.omitted_bytes += n as u64;
        self.omitted_packets += 1;
        false
    }

    /// Adds one received frame (completed by the read that returned at `time`): with the time
    /// since the previous frame. Frames completed by the same read travel in one chunk.
    pub fn push_frame(
        &mut self,
        peer: SocketAddr,
        bytes: &[u8],
        kind: FrameKind,
        time: SystemTime,
    ) {
        self.push_marked(peer, bytes, kind, None, time);
    }

    /// Adds one received message of a message transport (a WebSocket message): a frame of its
    /// own, with its kind.
    pub fn push_message(
        &mut self,
        peer: SocketAddr,
        bytes: &[u8],
        message: MessageKind,
        time: SystemTime,
    ) {
        self.push_marked(peer, bytes, FrameKind::Whole, Some(message), time);
    }

    fn push_marked(
        &mut self,
        peer: SocketAddr,
        bytes: &[u8],
        kind: FrameKind,
        message: Option<MessageKind>,
        time: SystemTime,
    ) {
        let dt = self
            .last_frame
            .and_then(|last| time.duration_since(last).ok());
        self.last_frame = Some(time);
        if !self.keeps(bytes.len()) {
            return;
        }
        self.bytes += bytes.len();
        let info = FrameInfo { kind, dt, message };
        match self.chunks.last_mut() {
            Some(last)
                if last.time == time
                    && last.peer == peer
                    && last.dir == Direction::Rx
                    && !last.frames.is_empty() =>
            {
                last.bytes.extend_from_slice(bytes);
                let end = last.bytes.len();
                last.frames.push(FrameMark { end, info });
            }
            _ => self.chunks.push(Chunk {
                dir: Direction::Rx,
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

    /// Adds one read (or datagram) received at `time`, as it came.
    pub fn received(&mut self, peer: SocketAddr, data: &[u8], time: SystemTime) {
        self.push(Direction::Rx, peer, data, time);
    }

    /// Adds one write (or datagram) sent at `time`: typed sends, repeats, echoes, automatic
    /// replies alike.
    pub fn sent(&mut self, peer: SocketAddr, data: &[u8], time: SystemTime) {
        self.push(Direction::Tx, peer, data, time);
    }

    /// Adds one message sent on a message transport: one chunk, marked with its kind.
    pub fn sent_message(
        &mut self,
        peer: SocketAddr,
        data: &[u8],
        message: MessageKind,
        time: SystemTime,
    ) {
        if !self.keeps(data.len()) {
            return;
        }
        self.bytes += data.len();
        let info = FrameInfo {
            kind: FrameKind::Whole,
            dt: None,
            message: Some(message),
        };
        self.chunks.push(Chunk {
            dir: Direction::Tx,
            peer,
            time,
            bytes: data.to_vec(),
            frames: vec![FrameMark {
                end: data.len(),
                info,
            }],
        });
        self.after_the_end();
    }

    /// Adds a write the log does not show (a file streamed over the session, shown as its
    /// progress): only a running capture takes it.
    pub fn sent_unshown(&mut self, peer: SocketAddr, data: &[u8], time: SystemTime) {
        if !self.tap.is_on() {
            return;
        }
        self.hidden.push(self.chunks.len());
        self.bytes += data.len();
        self.chunks.push(Chunk {
            dir: Direction::Tx,
            peer,
            time,
            bytes: data.to_vec(),
            frames: Vec::new(),
        });
        self.after_the_end();
    }

    fn push(&mut self, dir: Direction, peer: SocketAddr, data: &[u8], time: SystemTime) {
        if !self.keeps(data.len()) {
            return;
        }
        self.bytes += data.len();
        self.chunks.push(Chunk {
            dir,
            peer,
            time,
            bytes: data.to_vec(),
            frames: Vec::new(),
        });
        self.after_the_end();
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

    /// Sends the batch if it is due.
    pub fn flush_if_due(&mut self) {
        if self.due() {
            self.flush();
        }
    }

    /// Sends the batch: whole to a running capture, and for display if the queue has room
    /// (otherwise counted as not shown).
    pub fn flush(&mut self) {
        if self.chunks.is_empty() {
            return;
        }
        self.last_flush = Instant::now();
        let chunks: Arc<[Chunk]> = std::mem::take(&mut self.chunks).into();
        let hidden = std::mem::take(&mut self.hidden);
        let bytes = std::mem::take(&mut self.bytes);
        if self.tap.is_on() {
            self.tap.data(self.conn, &chunks);
        }
        let (shown, shown_bytes): (Arc<[Chunk]>, usize) = if hidden.is_empty() {
            (chunks, bytes)
        } else {
            // Rare: a file streamed while a capture runs. The log gets the rest.
            let mut hidden = hidden.into_iter().peekable();
            let shown: Vec<Chunk> = chunks
                .iter()
                .enumerate()
                .filter(|(i, _)| hidden.next_if_eq(i).is_none())
                .map(|(_, c)| c.clone())
                .collect();
            let n = shown.iter().map(|c| c.bytes.len()).sum();
            (shown.into(), n)
        };
        if shown.is_empty() {
            return;
        }
        if self.sink.has_room(shown_bytes) {
            self.send(shown);
        } else {
            self.omitted_bytes += shown_bytes as u64;
            self.omitted_packets += shown.len() as u64;
        }
    }

    /// Sends what is pending, and any omitted count, whatever the queue holds (at the end).
    pub fn finish(&mut self) {
        self.finished = true;
        self.flush();
        if self.omitted_bytes > 0 {
            self.send(Vec::new().into());
        }
    }

    /// After the end, each piece goes out as it comes.
    fn after_the_end(&mut self) {
        if self.finished {
            self.finish();
        }
    }

    fn send(&mut self, chunks: Arc<[Chunk]>) {
        self.sink.send(Event::Data {
            session: self.session,
            conn: self.conn,
            chunks,
            omitted_bytes: std::mem::take(&mut self.omitted_bytes),
            omitted_packets: std::mem::take(&mut self.omitted_packets),
        });
    }
}

/// A UDP session's record, shared by its reader thread and its senders: what it receives and
/// answers, and what it sends, in the order it happened (sends are recorded under the lock they went out under).
pub(crate) type DatagramRecord = Arc<std::sync::Mutex<Batcher>>;

/// Sends one datagram and records it, under the record's lock so that the record's order is
/// the order datagrams went out and came in. Returns whether it went.
pub(crate) fn send_datagram(
    socket: &std::net::UdpSocket,
    core: &super::shared::SessionCore,
    record: &std::sync::Mutex<Batcher>,
    bytes: &[u8],
    dest: SocketAddr,
    shown: bool,
) -> std::io::Result<()> {
    let Ok(mut record) = record.lock() else {
        return Err(std::io::Error::other("the session's record is gone"));
    };
    socket.send_to(bytes, dest)?;
    core.counters.add_tx(bytes.len());
    let now = std::time::SystemTime::now();
    if shown {
        record.sent(dest, bytes, now);
    } else {
        record.sent_unshown(dest, bytes, now);
    }
    record.flush_if_due();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::sink::{QueueBudget, QueueLoad};
    use std::sync::mpsc;

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

    fn batcher(sink: &EventSink, conn: Option<ConnId>) -> Batcher {
        Batcher::with(SessionId(1), conn, sink.clone(), Arc::default())
    }

    fn peer() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9))
    }

    #[test]
    fn frames_of_one_read_travel_in_one_chunk_and_come_apart_whole() {
        let (sink, rx, _) = sink(QueueBudget::default());
        let mut batch = batcher(&sink, Some(ConnId(1)));
        let first_read = SystemTime::now();
        let second_read = first_read + Duration::from_millis(7);
        batch.push_frame(peer(), b"one\n", FrameKind::Whole, first_read);
        batch.push_frame(peer(), b"two\n", FrameKind::Whole, first_read);
        batch.push_frame(peer(), b"thr", FrameKind::Incomplete, second_read);
        batch.finish();
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

    fn data(event: &Event) -> (Vec<(Direction, Vec<u8>)>, u64, u64) {
        match event {
            Event::Data {
                chunks,
                omitted_bytes,
                omitted_packets,
                ..
            } => (
                chunks.iter().map(|c| (c.dir, c.bytes.clone())).collect(),
                *omitted_bytes,
                *omitted_packets,
            ),
            other => panic!("not data: {other:?}"),
        }
    }

    /// Reads and writes stay apart, each with its direction, in the order they happened.
    #[test]
    fn reads_and_writes_keep_their_order_and_direction() {
        let (sink, rx, _) = sink(QueueBudget::default());
        let mut record = batcher(&sink, Some(ConnId(1)));
        let t = SystemTime::now();
        record.received(peer(), b"01 03 ", t);
        record.received(peer(), b"02 00", t);
        record.sent(peer(), b"reply", t);
        record.received(peer(), b"next", t);
        record.finish();
        assert_eq!(
            data(&rx.try_recv().unwrap()).0,
            vec![
                (Direction::Rx, b"01 03 ".to_vec()),
                (Direction::Rx, b"02 00".to_vec()),
                (Direction::Tx, b"reply".to_vec()),
                (Direction::Rx, b"next".to_vec()),
            ]
        );
        assert!(rx.try_recv().is_err(), "one event per batch");
    }

    #[test]
    fn a_batch_goes_early_when_large_and_on_time_when_quiet() {
        let (sink, _rx, _) = sink(QueueBudget::default());
        let mut batch = batcher(&sink, None);
        assert!(
            !batch.due() && batch.deadline().is_none(),
            "nothing pending"
        );
        let t = SystemTime::now();
        batch.received(peer(), b"x", t);
        // The first piece after a quiet spell is due at once.
        assert!(batch.due());
        batch.flush();
        batch.received(peer(), b"y", t);
        assert!(!batch.due(), "within the tick after a flush");
        assert!(batch.deadline().is_some());
        for _ in 0..MAX_BATCH_CHUNKS {
            batch.received(peer(), b"z", t);
        }
        assert!(batch.due(), "full before the tick");
    }

    #[test]
    fn data_beyond_the_budget_is_counted_as_omitted_never_lost_from_the_count() {
        let (sink, rx, load) = sink(QueueBudget {
            bytes: 10,
            events: 100,
        });
        let mut batch = batcher(&sink, None);
        let t = SystemTime::now();
        batch.received(peer(), &[0; 8], t);
        batch.flush();
        // 8 bytes wait in the queue: 8 more do not fit the 10-byte budget.
        batch.received(peer(), &[1; 8], t);
        batch.sent(peer(), &[2; 8], t);
        batch.flush();
        assert_eq!(load.bytes.load(std::sync::atomic::Ordering::Relaxed), 8);
        // The front end drains; the next batch carries the omitted count.
        let first = rx.try_recv().unwrap();
        load.bytes
            .fetch_sub(first.queued_bytes(), std::sync::atomic::Ordering::Relaxed);
        load.events
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        batch.received(peer(), b"ok", t);
        batch.finish();
        let (chunks, omitted_bytes, omitted_packets) = data(&rx.try_recv().unwrap());
        assert_eq!(chunks, vec![(Direction::Rx, b"ok".to_vec())]);
        assert_eq!((omitted_bytes, omitted_packets), (16, 2));
    }

    /// A write recorded after the record ended (a delayed UDP reply as the session closes) is
    /// still reported, at once.
    #[test]
    fn what_is_written_after_the_end_still_goes_out() {
        let (sink, rx, _) = sink(QueueBudget::default());
        let mut record = batcher(&sink, None);
        record.received(peer(), b"ask", SystemTime::now());
        record.finish();
        record.sent(peer(), b"late reply", SystemTime::now());
        let sent: Vec<_> = rx.try_iter().flat_map(|e| data(&e).0).collect();
        assert_eq!(
            sent,
            vec![
                (Direction::Rx, b"ask".to_vec()),
                (Direction::Tx, b"late reply".to_vec())
            ]
        );
    }

    #[test]
    fn the_event_budget_bounds_the_queue_too() {
        let (sink, rx, _) = sink(QueueBudget {
            bytes: 1 << 20,
            events: 2,
        });
        let mut record = batcher(&sink, None);
        for _ in 0..5 {
            record.sent(peer(), b"tx", SystemTime::now());
            record.flush();
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
