//! "Save received data to file": every received byte of a session, written by the engine in
//! full whatever the display shows. The disk work happens on a file thread of its own
//! ([`SpoolWriter`]), so a capture does not slow the sockets down.

use super::file_io::{file_error, SpoolWriter};
use super::NetError;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

struct Target {
    path: PathBuf,
    file: SpoolWriter,
    written: u64,
}

/// The capture file of a session, if one is open.
#[derive(Default)]
pub(crate) struct Capture {
    target: Mutex<Option<Target>>,
}

/// A capture that ended: where, how much, and the error if it failed.
pub(crate) struct CaptureEnd {
    pub path: PathBuf,
    pub bytes: u64,
    pub error: Option<NetError>,
}

impl Capture {
    /// Starts writing to `path` (created or truncated); ends any capture already running.
    pub fn start(&self, path: &Path) -> Result<Option<CaptureEnd>, NetError> {
        let file = SpoolWriter::create(path).map_err(|e| file_error(path, &e))?;
        let mut target = self.lock();
        let previous = target.take().map(finish);
        *target = Some(Target {
            path: path.to_path_buf(),
            file,
            written: 0,
        });
        Ok(previous)
    }

    /// Ends the capture, flushing what is buffered.
    pub fn stop(&self) -> Option<CaptureEnd> {
        self.lock().take().map(finish)
    }

    /// Appends received bytes; on a write failure the capture ends and says why.
    pub fn write(&self, bytes: &[u8]) -> Option<CaptureEnd> {
        let mut guard = self.lock();
        let target = guard.as_mut()?;
        match target.file.write(bytes) {
            Ok(()) => {
                target.written += bytes.len() as u64;
                None
            }
            Err(e) => {
                let t = guard.take()?;
                Some(CaptureEnd {
                    error: Some(file_error(&t.path, &e)),
                    path: t.path,
                    bytes: t.written,
                })
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Target>> {
        self.target.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn finish(t: Target) -> CaptureEnd {
    let error = t.file.finish().err().map(|e| file_error(&t.path, &e));
    CaptureEnd {
        path: t.path,
        bytes: t.written,
        error,
    }
}
