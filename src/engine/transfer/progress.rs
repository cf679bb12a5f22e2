//! How a transfer moves on: progress events a few times a second, and the silence limit
//! that gives up on a peer that stops answering.

use super::*;

const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// Waits for `io` at most `limit`: a peer silent for longer is given up on, with what we were
/// waiting for in the reason.
pub(super) async fn within<T>(
    limit: Duration,
    waiting_for: crate::engine::Awaited,
    io: impl Future<Output = Result<T, NetError>>,
) -> Result<T, NetError> {
    tokio::time::timeout(limit, io).await.unwrap_or_else(|_| {
        Err(NetError::because(
            NetErrorKind::Timeout,
            crate::engine::Reason::SilentWhileWaiting {
                secs: limit.as_secs_f64(),
                waiting_for,
            },
        ))
    })
}

/// Sends progress events a few times a second.
pub(crate) struct Progress<'a> {
    core: &'a SessionCore,
    total: Option<u64>,
    /// Bytes done so far.
    pub done: u64,
    start: Instant,
    last: Instant,
}

impl<'a> Progress<'a> {
    pub fn new(core: &'a SessionCore, total: Option<u64>, done: u64) -> Self {
        let now = Instant::now();
        Self {
            core,
            total,
            done,
            start: now,
            last: now,
        }
    }

    pub fn add(&mut self, n: usize) {
        self.done += n as u64;
        if self.last.elapsed() >= PROGRESS_EVERY {
            self.emit();
        }
    }

    pub fn emit(&mut self) {
        self.last = Instant::now();
        let rate = self.done as f64 / self.start.elapsed().as_secs_f64().max(1e-3);
        self.core.sink.send(Event::Progress {
            session: self.core.id,
            done: self.done,
            total: self.total,
            rate,
        });
    }

    /// The transfer is complete: the last progress, then what was done.
    pub fn finish(mut self, path: PathBuf, sha256: Option<String>, resumed_from: u64) {
        self.emit();
        self.core.sink.send(Event::FileDone {
            session: self.core.id,
            path,
            bytes: self.done,
            sha256,
            resumed_from,
        });
    }

    /// Waits as needed to keep to `rate` bytes per second.
    pub(super) async fn pace(&self, rate: Option<u64>, since_start: u64) {
        if let Some(rate) = rate.filter(|r| *r > 0) {
            let due = Duration::from_secs_f64(since_start as f64 / rate as f64);
            let elapsed = self.start.elapsed();
            if due > elapsed {
                tokio::time::sleep(due - elapsed).await;
            }
        }
    }
}
