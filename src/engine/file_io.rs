//! File reads and writes on threads of their own, a block ahead of (or behind) the network, so
//! disk and socket work overlap and the async workers never wait on a disk.

use super::{NetError, NetErrorKind, Reason};
use crate::payload::hex::encode_hex_compact;
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use tokio::sync::{mpsc, oneshot};

/// Bytes per block.
pub(crate) const FILE_BLOCK: usize = 1 << 20;
/// Blocks in flight between the file thread and the network.
const BLOCKS_AHEAD: usize = 4;

pub(crate) fn file_error(path: &Path, e: &std::io::Error) -> NetError {
    NetError::new(NetErrorKind::File, e.to_string())
        .at(path.display())
        .caused_by(super::error::copy_io(e))
}

/// A file read ahead on its own thread.
pub(crate) struct BlockReader {
    rx: mpsc::Receiver<Result<Vec<u8>, NetError>>,
    /// Sent blocks go back to the file thread for reuse.
    spare: std::sync::mpsc::Sender<Vec<u8>>,
}

impl BlockReader {
    /// Opens `path` (a regular file) from offset `start`; returns the reader and the file size.
    pub fn open(path: &Path, start: u64) -> Result<(Self, u64), NetError> {
        let mut file = std::fs::File::open(path).map_err(|e| file_error(path, &e))?;
        let meta = file.metadata().map_err(|e| file_error(path, &e))?;
        if meta.is_dir() {
            return Err(NetError::because(
                NetErrorKind::File,
                Reason::IsAFolder(path.to_path_buf()),
            ));
        }
        file.seek(SeekFrom::Start(start))
            .map_err(|e| file_error(path, &e))?;
        let (tx, rx) = mpsc::channel(BLOCKS_AHEAD);
        // Unbounded, bounded in fact: only blocks already read come back (BLOCKS_AHEAD + 1).
        #[allow(clippy::disallowed_methods)]
        let (spare, spare_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let path = path.to_path_buf();
        std::thread::Builder::new()
            .name("sockscope-file-read".into())
            .spawn(move || loop {
                let mut block = spare_rx.try_recv().unwrap_or_default();
                block.resize(FILE_BLOCK, 0);
                let result = match file.read(&mut block) {
                    Ok(0) => return,
                    Ok(n) => {
                        block.truncate(n);
                        Ok(block)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => Err(file_error(&path, &e)),
                };
                let failed = result.is_err();
                if tx.blocking_send(result).is_err() || failed {
                    return;
                }
            })
            .map_err(NetError::from)?;
        Ok((Self { rx, spare }, meta.len()))
    }

    /// Gives a block back once its bytes are sent.
    pub fn recycle(&self, block: Vec<u8>) {
        let _ = self.spare.send(block);
    }

    /// The next block, or `None` at the end of the file.
    pub async fn next_block(&mut self) -> Result<Option<Vec<u8>>, NetError> {
        self.rx.recv().await.transpose()
    }
}

/// A file written behind on its own thread.
pub(crate) struct BlockWriter {
    tx: mpsc::Sender<Vec<u8>>,
    /// Written blocks come back for reuse: no fresh megabyte (and its page faults) per block.
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
    done: oneshot::Receiver<Result<Option<String>, NetError>>,
    path: PathBuf,
}

impl BlockWriter {
    /// Creates `path`, failing if it exists (nothing is overwritten).
    pub fn create_new(path: &Path) -> Result<Self, NetError> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| file_error(path, &e))?;
        Self::start(file, path, None)
    }

    /// Continues a file already open for writing (`path` names it in errors), cut to `start`
    /// bytes, appending from there; with a hasher (holding the state of the first `start`
    /// bytes) `finish` returns the SHA-256 of it all.
    pub fn from_file(
        mut file: std::fs::File,
        path: &Path,
        start: u64,
        hasher: Option<Sha256>,
    ) -> Result<Self, NetError> {
        file.set_len(start).map_err(|e| file_error(path, &e))?;
        file.seek(SeekFrom::Start(start))
            .map_err(|e| file_error(path, &e))?;
        Self::start(file, path, hasher)
    }

    fn start(
        mut file: std::fs::File,
        path: &Path,
        mut hasher: Option<Sha256>,
    ) -> Result<Self, NetError> {
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(BLOCKS_AHEAD);
        // Unbounded, bounded in fact: only blocks already written come back.
        #[allow(clippy::disallowed_methods)]
        let (spare_tx, spare) = std::sync::mpsc::channel();
        let (done_tx, done) = oneshot::channel();
        let thread_path = path.to_path_buf();
        std::thread::Builder::new()
            .name("sockscope-file-write".into())
            .spawn(move || {
                let mut result = Ok(());
                while let Some(block) = rx.blocking_recv() {
                    if let Some(h) = hasher.as_mut() {
                        h.update(&block);
                    }
                    if let Err(e) = file.write_all(&block) {
                        result = Err(file_error(&thread_path, &e));
                        break;
                    }
                    let _ = spare_tx.send(block);
                }
                if result.is_ok() {
                    result = file.flush().map_err(|e| file_error(&thread_path, &e));
                }
                let digest = hasher.map(|h| encode_hex_compact(&h.finalize()));
                let _ = done_tx.send(result.map(|()| digest));
            })
            .map_err(NetError::from)?;
        Ok(Self {
            tx,
            spare,
            done,
            path: path.to_path_buf(),
        })
    }

    /// An empty block to fill: a written one back from the file thread, or a new one.
    pub fn buffer(&self) -> Vec<u8> {
        match self.spare.try_recv() {
            Ok(mut block) => {
                block.clear();
                block
            }
            Err(_) => Vec::with_capacity(FILE_BLOCK),
        }
    }

    /// Queues a block; a failed write (disk full) comes back here or from `finish`.
    pub async fn write(&mut self, block: Vec<u8>) -> Result<(), NetError> {
        if self.tx.send(block).await.is_err() {
            // The writer stopped: its reason is in `done`.
            return Err(match (&mut self.done).await {
                Ok(Err(e)) => e,
                _ => NetError::because(NetErrorKind::File, Reason::WriteStopped(self.path.clone())),
            });
        }
        Ok(())
    }

    /// Waits until every block is written and flushed; returns the SHA-256 if hashing.
    pub async fn finish(self) -> Result<Option<String>, NetError> {
        drop(self.tx);
        self.done.await.unwrap_or_else(|_| {
            Err(NetError::because(
                NetErrorKind::File,
                Reason::WriteStopped(self.path.clone()),
            ))
        })
    }
}
