//! A save of what the spool kept: a thread reads the segments and writes the records' bytes
//! (all, or one connection's) to the user's file, following what arrives when asked.

use super::*;

pub(super) fn open_target(path: &Path, mode: SaveMode) -> Result<File, NetError> {
    let mut options = std::fs::OpenOptions::new();
    match mode {
        SaveMode::CreateNew => options.write(true).create_new(true),
        SaveMode::Replace => options.write(true).create(true).truncate(true),
        SaveMode::Append => options.append(true).create(true),
    };
    options.open(path).map_err(|e| {
        let error = file_error(path, &e);
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            error.with_kind(NetErrorKind::FileExists)
        } else {
            error
        }
    })
}

/// A save's thread: reads the segments and writes the records' bytes to the user's file.
pub(super) struct Copier {
    pub(super) shared: Arc<Shared>,
    pub(super) sink: EventSink,
    pub(super) session: SessionId,
    pub(super) stop_at: Arc<Mutex<Option<u64>>>,
    pub(super) finished: Arc<AtomicBool>,
}

/// How a save went.
#[derive(Default)]
struct Tally {
    written: u64,
    /// Received bytes that were no longer kept when the save wanted them.
    missing: u64,
}

impl Copier {
    pub(super) fn run(self, file: File, request: &SaveRequest) {
        // Small records gather; a large one (a flood's) goes straight to the file, uncopied.
        let mut out = std::io::BufWriter::with_capacity(64 << 10, file);
        let mut tally = Tally::default();
        let result = self
            .copy(&mut out, request, &mut tally)
            .and_then(|()| out.flush().map_err(|e| file_error(&request.path, &e)));
        // Finished before it says so: a save asked for on hearing this one ended may start.
        self.finished.store(true, Ordering::Release);
        self.sink.send(Event::Saved {
            session: self.session,
            path: request.path.clone(),
            bytes: tally.written,
            missing_bytes: tally.missing,
            error: result.err(),
        });
    }

    fn copy(
        &self,
        out: &mut impl Write,
        request: &SaveRequest,
        tally: &mut Tally,
    ) -> Result<(), NetError> {
        let want = request.conn.map(|c| c.0);
        let mut pos = 0u64;
        // Bytes read; the first `filled` hold whole records and, last, the start of one.
        let mut buf = vec![0u8; 2 * FILE_BLOCK];
        let mut filled = 0;
        let mut reading: Option<(u64, File)> = None;
        // Received bytes of the segment being read that were already taken (written or not
        // wanted): if it is dropped under the reader, only the rest is missing.
        let mut seen = 0u64;
        let mut reported = Instant::now();
        loop {
            // Where the next bytes are, or why there are none yet.
            let next = {
                let state = self.shared.lock();
                if let Some(front) = state.segments.front() {
                    if pos < front.start {
                        // Dropped before we got there: count it and go on from what is kept.
                        let (from, taken) = match &reading {
                            Some((start, _)) => (*start, seen),
                            None => (pos, 0),
                        };
                        let before = dropped_until(&state.gone, from) + taken;
                        tally.missing += dropped_until(&state.gone, front.start) - before;
                        pos = front.start;
                        filled = 0;
                        reading = None;
                    }
                }
                let stop = *lock(&self.stop_at);
                if stop.is_some_and(|end| pos >= end) {
                    return Ok(());
                }
                if pos < state.committed {
                    state
                        .segments
                        .iter()
                        .find(|s| s.start <= pos && pos < s.start + s.len)
                        .map(|s| (s.start, s.path.clone(), s.start + s.len - pos))
                } else if let Some(error) = &state.failed {
                    // Nothing more will come: what was kept is saved, and the reason told.
                    return Err(error.clone());
                } else {
                    let _ = self
                        .shared
                        .changed
                        .wait_timeout(state, POLL)
                        .unwrap_or_else(|p| p.into_inner());
                    None
                }
            };
            let Some((start, path, available)) = next else {
                continue;
            };
            if reading.as_ref().is_none_or(|(s, _)| *s != start) {
                match File::open(&path) {
                    Ok(mut f) => {
                        f.seek(SeekFrom::Start(pos - start))
                            .map_err(|e| file_error(&path, &e))?;
                        reading = Some((start, f));
                        seen = 0;
                    }
                    // Dropped between the look and the open: the next look counts it.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(file_error(&path, &e)),
                }
            }
            let Some((_, f)) = reading.as_mut() else {
                continue;
            };
            if filled == buf.len() {
                // One record longer than the buffer: make room for it.
                buf.resize(buf.len() * 2, 0);
            }
            let n = (available as usize).min(buf.len() - filled);
            f.read_exact(&mut buf[filled..filled + n])
                .map_err(|e| file_error(&path, &e))?;
            pos += n as u64;
            filled += n;
            let (used, payload) = write_records(&buf[..filled], want, out, &mut tally.written)
                .map_err(|e| file_error(&request.path, &e))?;
            seen += payload;
            buf.copy_within(used..filled, 0);
            filled -= used;
            if reported.elapsed() >= PROGRESS_EVERY {
                reported = Instant::now();
                self.sink.send(Event::SaveProgress {
                    session: self.session,
                    bytes: tally.written,
                });
            }
        }
    }
}

/// Received bytes dropped before stream position `pos`.
fn dropped_until(gone: &[(u64, u64)], pos: u64) -> u64 {
    gone.iter()
        .take_while(|(end, _)| *end <= pos)
        .last()
        .map_or(0, |(_, total)| *total)
}

/// Writes the bytes of the whole records at the start of `data` (those of connection `want`,
/// or all); returns how many bytes of `data` they took, and how many received bytes they held.
fn write_records(
    data: &[u8],
    want: Option<u64>,
    out: &mut impl Write,
    written: &mut u64,
) -> std::io::Result<(usize, u64)> {
    let mut at = 0;
    let mut payload = 0;
    while let Some(header) = data.get(at..at + HEADER) {
        let conn = u64::from_le_bytes([
            header[0], header[1], header[2], header[3], header[4], header[5], header[6], header[7],
        ]);
        let len = u32::from_le_bytes([header[8], header[9], header[10], header[11]]) as usize;
        let Some(bytes) = data.get(at + HEADER..at + HEADER + len) else {
            break;
        };
        if want.is_none_or(|w| w == conn) {
            out.write_all(bytes)?;
            *written += len as u64;
        }
        payload += len as u64;
        at += HEADER + len;
    }
    Ok((at, payload))
}
