//! What a tab received, kept on disk from the moment it opens, so "Save received data…" can
//! write every byte, including those that came before the click.
//!
//! Received bytes go as records (`conn` u64, `len` u32, little-endian, then the bytes) into
//! blocks; full blocks go through a bounded queue to a writer thread, which appends them to
//! segment files in a private temporary folder (removed when the spool is dropped, i.e. when
//! its tab closes). Past the limit the oldest segment is deleted and its byte count kept, so
//! every save can say exactly what was no longer there. A save is a reader of those files on a
//! thread of its own: it copies what was kept up to the click and, when following, keeps
//! copying what comes after, until stopped. The sockets never wait for a save.

use super::file_io::{file_error, FILE_BLOCK};
use super::sink::EventSink;
use super::{ConnId, Event, NetError, NetErrorKind, Reason, SessionId};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

mod save;

use save::{open_target, Copier};

/// What a tab keeps unless told otherwise: 1 GiB.
pub const DEFAULT_KEEP_BYTES: u64 = 1 << 30;
/// Blocks waiting for the writer thread at most (back-pressure beyond that, never loss).
const BLOCKS_QUEUED: usize = 4;
/// Segments a full spool is made of: dropping the oldest frees about 1/8 of the limit.
const SEGMENTS: u64 = 8;
/// Bytes of a record's header: the connection (u64) and the length (u32).
const HEADER: usize = 12;
/// The connection number of data that has none (UDP).
const NO_CONN: u64 = u64::MAX;
/// How often a save that follows, or waits for the writer, looks again.
const POLL: Duration = Duration::from_millis(200);
/// How often a running save reports its count.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// How a save opens its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaveMode {
    /// Create the file; fail (kind [`NetErrorKind::FileExists`]) if it exists.
    CreateNew,
    /// Replace an existing file (the user said so).
    Replace,
    /// Add to the end of an existing file (the user said so).
    Append,
}

/// A save the user asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaveRequest {
    /// Where to write.
    pub path: PathBuf,
    /// What to do when the file exists.
    pub mode: SaveMode,
    /// Only what this connection received (a server's client); `None`: everything.
    pub conn: Option<ConnId>,
    /// Keep appending what arrives after the click, until stopped.
    pub follow: bool,
}

/// One file of the spool.
struct Segment {
    path: PathBuf,
    /// Where the segment starts in the spool's record stream.
    start: u64,
    /// Record bytes written to it.
    len: u64,
    /// Received bytes in it.
    payload: u64,
}

/// The spool's state, shared by the writer thread and the saves.
struct State {
    segments: VecDeque<Segment>,
    /// End of the record stream written to the files.
    committed: u64,
    /// End of the record stream handed to the writer (committed once written).
    handed: u64,
    /// Received bytes dropped from the front (oldest first), and where in the stream each
    /// dropped segment ended: (end, dropped received bytes up to that end).
    dropped: u64,
    gone: Vec<(u64, u64)>,
    /// The maximum of record bytes kept.
    limit: u64,
    /// Why the spool stopped keeping data, if it did.
    failed: Option<NetError>,
    next_segment: u64,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    /// The folder of the segment files; removed when the last holder (the spool, a running
    /// save) lets go.
    dir: tempfile::TempDir,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The producers' side: the block being filled.
struct Producer {
    block: Vec<u8>,
    tx: Option<SyncSender<Vec<u8>>>,
    spare: Receiver<Vec<u8>>,
}

/// A tab's received data on disk.
pub(crate) struct Spool {
    session: SessionId,
    shared: Arc<Shared>,
    producer: Mutex<Producer>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    save: Mutex<Option<SaveHandle>>,
    sink: EventSink,
}

/// A save in progress.
struct SaveHandle {
    path: PathBuf,
    /// Set with the stream position to stop at, when a following save is asked to stop.
    stop_at: Arc<Mutex<Option<u64>>>,
    finished: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Spool {
    /// A new, empty spool keeping at most `limit` bytes (records included).
    pub fn new(session: SessionId, limit: u64, sink: EventSink) -> Result<Self, NetError> {
        let dir = tempfile::Builder::new()
            .prefix("sockscope-received-")
            .tempdir()
            .map_err(|e| file_error(&std::env::temp_dir(), &e))?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                segments: VecDeque::new(),
                committed: 0,
                handed: 0,
                dropped: 0,
                gone: Vec::new(),
                limit: limit.max(1),
                failed: None,
                next_segment: 0,
            }),
            changed: Condvar::new(),
            dir,
        });
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(BLOCKS_QUEUED);
        // Unbounded, bounded in fact: only blocks already written come back.
        #[allow(clippy::disallowed_methods)]
        let (spare_tx, spare) = std::sync::mpsc::channel();
        let writer_shared = shared.clone();
        let writer_sink = sink.clone();
        let writer = std::thread::Builder::new()
            .name("sockscope-spool".into())
            .spawn(move || write_blocks(&writer_shared, &rx, &spare_tx, &writer_sink, session))
            .map_err(NetError::from)?;
        Ok(Self {
            session,
            shared,
            producer: Mutex::new(Producer {
                block: Vec::with_capacity(FILE_BLOCK),
                tx: Some(tx),
                spare,
            }),
            writer: Mutex::new(Some(writer)),
            save: Mutex::new(None),
            sink,
        })
    }

    /// Keeps received `bytes` (of connection `conn`). Waits when the disk is behind, without
    /// holding up the engine's other sessions.
    pub fn record(&self, conn: Option<ConnId>, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut producer = lock(&self.producer);
        if producer.tx.is_none() {
            return;
        }
        // A record never exceeds u32::MAX bytes: longer data (never seen: reads are smaller)
        // is split.
        for piece in bytes.chunks(u32::MAX as usize) {
            let conn = conn.map_or(NO_CONN, |c| c.0);
            producer.block.extend_from_slice(&conn.to_le_bytes());
            producer
                .block
                .extend_from_slice(&(piece.len() as u32).to_le_bytes());
            producer.block.extend_from_slice(piece);
        }
        if producer.block.len() >= FILE_BLOCK {
            self.hand_over(&mut producer);
        }
    }

    /// Hands what is buffered to the writer (so a save or a slow trickle sees it soon).
    pub fn flush(&self) {
        let mut producer = lock(&self.producer);
        self.hand_over(&mut producer);
    }

    /// Changes the limit; the oldest data goes at the next write if it is now over.
    pub fn set_limit(&self, limit: u64) {
        self.shared.lock().limit = limit.max(1);
    }

    /// Flushes and returns the stream position of everything received so far.
    fn mark(&self) -> u64 {
        let mut producer = lock(&self.producer);
        self.hand_over(&mut producer);
        self.shared.lock().handed
    }

    fn hand_over(&self, producer: &mut Producer) {
        if producer.block.is_empty() {
            return;
        }
        let next = match producer.spare.try_recv() {
            Ok(mut b) => {
                b.clear();
                b
            }
            Err(_) => Vec::with_capacity(FILE_BLOCK),
        };
        let full = std::mem::replace(&mut producer.block, next);
        let len = full.len() as u64;
        let sent = producer.tx.as_ref().map(|tx| match tx.try_send(full) {
            Ok(()) => Ok(()),
            // The disk is behind: this session waits for it, the engine's other sessions do
            // not (the runtime hands them to another thread while this one waits).
            Err(TrySendError::Full(full)) => super::shared::beside_io(|| tx.send(full)),
            Err(TrySendError::Disconnected(full)) => Err(std::sync::mpsc::SendError(full)),
        });
        if matches!(sent, Some(Ok(()))) {
            self.shared.lock().handed += len;
        } else {
            // The writer failed and said why; nothing more is kept.
            producer.tx = None;
        }
    }

    /// Starts a save: everything kept up to now, and, following, what comes after.
    pub fn save(self: &Arc<Self>, request: SaveRequest) -> Result<(), NetError> {
        let mut save = lock(&self.save);
        if let Some(running) = save.as_ref() {
            if !running.finished.load(Ordering::Acquire) {
                return Err(NetError::because(
                    NetErrorKind::Busy,
                    Reason::SaveRunning(running.path.clone()),
                ));
            }
        }
        let file = open_target(&request.path, request.mode)?;
        let end = self.mark();
        let stop_at = Arc::new(Mutex::new((!request.follow).then_some(end)));
        let finished = Arc::new(AtomicBool::new(false));
        let copier = Copier {
            shared: self.shared.clone(),
            sink: self.sink.clone(),
            session: self.session,
            stop_at: stop_at.clone(),
            finished: finished.clone(),
        };
        let path = request.path.clone();
        self.sink.send(Event::SaveStarted {
            session: self.session,
            path: path.clone(),
            follow: request.follow,
        });
        let thread = std::thread::Builder::new()
            .name("sockscope-save".into())
            .spawn(move || copier.run(file, &request))
            .map_err(NetError::from)?;
        *save = Some(SaveHandle {
            path,
            stop_at,
            finished,
            thread,
        });
        Ok(())
    }

    /// Stops a following save once it has written everything received up to now. Returns
    /// whether one was running.
    pub fn stop_saving(&self) -> bool {
        let end = self.mark();
        let save = lock(&self.save);
        match save.as_ref() {
            Some(running) if !running.finished.load(Ordering::Acquire) => {
                *lock(&running.stop_at) = Some(end);
                self.shared.changed.notify_all();
                true
            }
            _ => false,
        }
    }

    /// Where the spool keeps its files.
    #[cfg(test)]
    fn dir(&self) -> &Path {
        self.shared.dir.path()
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        self.stop_saving();
        lock(&self.producer).tx = None;
        if let Some(writer) = lock(&self.writer).take() {
            let _ = writer.join();
        }
        // A save still copying holds the folder until it is done; wait for it (bounded), so
        // that a save the user asked for is complete before the program goes.
        if let Some(save) = lock(&self.save).take() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !save.finished.load(Ordering::Acquire) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if save.finished.load(Ordering::Acquire) {
                let _ = save.thread.join();
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The writer thread: appends blocks to segments, drops the oldest past the limit.
fn write_blocks(
    shared: &Shared,
    blocks: &Receiver<Vec<u8>>,
    spare: &std::sync::mpsc::Sender<Vec<u8>>,
    sink: &EventSink,
    session: SessionId,
) {
    let mut current: Option<File> = None;
    let mut warned = false;
    for block in blocks {
        let payload = payload_of(&block);
        let (path, rotate) = {
            let state = shared.lock();
            let segment_size = (state.limit / SEGMENTS).max(FILE_BLOCK as u64);
            let rotate = match state.segments.back() {
                Some(last) => last.len > 0 && last.len + block.len() as u64 > segment_size,
                None => true,
            };
            let path = shared
                .dir
                .path()
                .join(format!("{:08}.rec", state.next_segment));
            (path, rotate || current.is_none())
        };
        if rotate {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => {
                    current = Some(file);
                    let mut state = shared.lock();
                    state.next_segment += 1;
                    let start = state.committed;
                    state.segments.push_back(Segment {
                        path,
                        start,
                        len: 0,
                        payload: 0,
                    });
                }
                Err(e) => return fail(shared, sink, session, file_error(&path, &e)),
            }
        }
        let Some(file) = current.as_mut() else {
            return;
        };
        if let Err(e) = file.write_all(&block) {
            let path = shared
                .lock()
                .segments
                .back()
                .map(|s| s.path.clone())
                .unwrap_or_default();
            return fail(shared, sink, session, file_error(&path, &e));
        }
        let dropped_now = {
            let mut state = shared.lock();
            state.committed += block.len() as u64;
            if let Some(last) = state.segments.back_mut() {
                last.len += block.len() as u64;
                last.payload += payload;
            }
            let mut dropped_now = 0;
            let mut kept: u64 = state.segments.iter().map(|s| s.len).sum();
            while kept > state.limit && state.segments.len() > 1 {
                let Some(old) = state.segments.pop_front() else {
                    break;
                };
                // Unlinked even while a save reads it: the save keeps its open handle.
                let _ = std::fs::remove_file(&old.path);
                kept -= old.len;
                state.dropped += old.payload;
                dropped_now += old.payload;
                let total = state.dropped;
                state.gone.push((old.start + old.len, total));
            }
            dropped_now
        };
        shared.changed.notify_all();
        if dropped_now > 0 && !warned {
            warned = true;
            let limit = shared.lock().limit;
            sink.send(Event::Warning {
                session,
                error: NetError::new(
                    NetErrorKind::KeepLimit,
                    format!("received data past {limit} B: the oldest is no longer kept"),
                ),
            });
        }
        let _ = spare.send(block);
    }
    if let Some(mut file) = current {
        let _ = file.flush();
    }
}

fn fail(shared: &Shared, sink: &EventSink, session: SessionId, error: NetError) {
    shared.lock().failed = Some(error.clone());
    shared.changed.notify_all();
    sink.send(Event::Error { session, error });
}

/// Received bytes in a block of whole records.
fn payload_of(block: &[u8]) -> u64 {
    let mut at = 0;
    let mut payload = 0;
    while let Some(header) = block.get(at..at + HEADER) {
        let len = u32::from_le_bytes([header[8], header[9], header[10], header[11]]) as usize;
        payload += len as u64;
        at += HEADER + len;
    }
    payload
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::sink::{QueueBudget, QueueLoad};

    fn spool(limit: u64) -> (Arc<Spool>, std::sync::mpsc::Receiver<Event>) {
        #[allow(clippy::disallowed_methods)]
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = EventSink::new(
            tx,
            Arc::new(QueueLoad::default()),
            QueueBudget::default(),
            Arc::new(|| {}),
        );
        (Arc::new(Spool::new(SessionId(7), limit, sink).unwrap()), rx)
    }

    /// Waits for the end of a save: (bytes, missing, error).
    fn saved(events: &std::sync::mpsc::Receiver<Event>) -> (u64, u64, Option<NetError>) {
        loop {
            match events
                .recv_timeout(Duration::from_secs(10))
                .expect("a save ends")
            {
                Event::Saved {
                    bytes,
                    missing_bytes,
                    error,
                    ..
                } => return (bytes, missing_bytes, error),
                _ => continue,
            }
        }
    }

    fn target(name: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        (dir, path)
    }

    fn request(path: &Path, mode: SaveMode, follow: bool) -> SaveRequest {
        SaveRequest {
            path: path.to_path_buf(),
            mode,
            conn: None,
            follow,
        }
    }

    #[test]
    fn a_save_holds_what_came_before_the_click_exactly_once() {
        let (spool, events) = spool(DEFAULT_KEEP_BYTES);
        spool.record(Some(ConnId(1)), b"first client ");
        spool.record(Some(ConnId(2)), b"second client ");
        spool.record(None, b"a datagram");
        let (_dir, path) = target("all.bin");
        spool
            .save(request(&path, SaveMode::CreateNew, false))
            .unwrap();
        let (bytes, missing, error) = saved(&events);
        assert_eq!((bytes, missing, error), (37, 0, None));
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"first client second client a datagram"
        );
    }

    #[test]
    fn one_clients_bytes_can_be_saved_alone() {
        let (spool, events) = spool(DEFAULT_KEEP_BYTES);
        for i in 0..1000u32 {
            spool.record(Some(ConnId(u64::from(i % 3))), &i.to_le_bytes());
        }
        let (_dir, path) = target("one.bin");
        spool
            .save(SaveRequest {
                conn: Some(ConnId(1)),
                ..request(&path, SaveMode::CreateNew, false)
            })
            .unwrap();
        let expected: Vec<u8> = (0..1000u32)
            .filter(|i| i % 3 == 1)
            .flat_map(u32::to_le_bytes)
            .collect();
        assert_eq!(saved(&events).0, expected.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), expected);
    }

    #[test]
    fn a_following_save_keeps_appending_until_stopped() {
        let (spool, events) = spool(DEFAULT_KEEP_BYTES);
        let mut expected = Vec::new();
        let mut piece = |spool: &Spool, i: u32| {
            let bytes = vec![(i % 251) as u8; (i as usize * 97) % 5000 + 1];
            spool.record(Some(ConnId(1)), &bytes);
            expected.extend_from_slice(&bytes);
        };
        for i in 0..500 {
            piece(&spool, i);
        }
        let (_dir, path) = target("live.bin");
        spool
            .save(request(&path, SaveMode::CreateNew, true))
            .unwrap();
        for i in 500..3000 {
            piece(&spool, i);
        }
        assert!(spool.stop_saving());
        let (bytes, missing, error) = saved(&events);
        assert_eq!((missing, error), (0, None));
        assert_eq!(bytes, expected.len() as u64);
        assert!(std::fs::read(&path).unwrap() == expected);
    }

    #[test]
    fn past_the_limit_the_oldest_goes_and_a_save_says_how_much() {
        // 2 MiB kept, in segments of one block: 6 MiB received.
        let (spool, events) = spool(2 << 20);
        let piece: Vec<u8> = (0..=255u8).cycle().take(64 << 10).collect();
        for _ in 0..96 {
            spool.record(Some(ConnId(1)), &piece);
        }
        let (_dir, path) = target("tail.bin");
        spool
            .save(request(&path, SaveMode::CreateNew, false))
            .unwrap();
        let mut warnings = 0;
        let (bytes, missing) = loop {
            match events.recv_timeout(Duration::from_secs(10)).unwrap() {
                Event::Warning { error, .. } => {
                    assert_eq!(error.kind, NetErrorKind::KeepLimit);
                    warnings += 1;
                }
                Event::Saved {
                    bytes,
                    missing_bytes,
                    error: None,
                    ..
                } => break (bytes, missing_bytes),
                _ => {}
            }
        };
        assert_eq!(warnings, 1, "said once, not per segment");
        assert_eq!(bytes + missing, 96 * (64 << 10), "every byte accounted for");
        // Whole records of the newest: a segment read before it was dropped may still be in.
        assert!(missing > 0 && bytes % (64 << 10) == 0);
        let file = std::fs::read(&path).unwrap();
        assert_eq!(file.len() as u64, bytes);
        // What is kept is the newest, whole: it ends where the stream ended.
        assert!(file.chunks(64 << 10).all(|c| c == &piece[..c.len()]));
    }

    #[test]
    fn an_existing_file_is_replaced_or_appended_to_only_when_asked() {
        let (spool, events) = spool(DEFAULT_KEEP_BYTES);
        spool.record(None, b"new");
        let (_dir, path) = target("exists.bin");
        std::fs::write(&path, b"old ").unwrap();
        let refused = spool
            .save(request(&path, SaveMode::CreateNew, false))
            .unwrap_err();
        assert_eq!(refused.kind, NetErrorKind::FileExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"old ");
        spool.save(request(&path, SaveMode::Append, false)).unwrap();
        assert_eq!(saved(&events).0, 3);
        assert_eq!(std::fs::read(&path).unwrap(), b"old new");
        spool
            .save(request(&path, SaveMode::Replace, false))
            .unwrap();
        assert_eq!(saved(&events).0, 3);
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn the_kept_data_goes_with_the_spool() {
        let (spool, _events) = spool(DEFAULT_KEEP_BYTES);
        spool.record(None, &[1; 3 << 20]);
        spool.flush();
        let dir = spool.dir().to_path_buf();
        assert!(dir.is_dir());
        drop(spool);
        assert!(!dir.exists());
    }

    // Linux only: /dev/full, a device whose every write fails with "no space left".
    #[cfg(target_os = "linux")]
    #[test]
    fn a_save_to_a_full_disk_says_so() {
        let (spool, events) = spool(DEFAULT_KEEP_BYTES);
        spool.record(None, &[7; 3 << 20]);
        spool
            .save(request(Path::new("/dev/full"), SaveMode::Replace, false))
            .unwrap();
        let (_, _, error) = saved(&events);
        assert_eq!(error.map(|e| e.kind), Some(NetErrorKind::File));
    }
}
