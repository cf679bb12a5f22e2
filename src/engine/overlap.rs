//! Writing while reading: a write that has to wait reads meanwhile into a stash, which the
//! connection's loop then takes as reads, with the time each came. A peer that answers as it
//! is written to (an echoing device; a serial line, which has no flow control) is never left
//! unread — else the two wait on each other (a pseudo-terminal, TCP with full buffers) or a
//! UART drops what it could not hand over.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

/// What a connection read while it was writing.
#[derive(Default)]
pub(crate) struct Stash {
    items: std::collections::VecDeque<Stashed>,
    /// Bytes held (past [`MAX_STASH`] a write stops reading: the peer then waits on us).
    bytes: usize,
    /// The peer's end (or an error) was read: nothing more is read while writing.
    ended: bool,
}

enum Stashed {
    Data(Vec<u8>, std::time::SystemTime),
    /// The peer closed (`Ok`) or the read failed.
    End(std::io::Result<()>),
}

/// The most a write holds of what it read meanwhile.
const MAX_STASH: usize = 64 << 20;
/// A read made while writing takes at most this much (it fits any read buffer).
const STASH_READ: usize = super::tcp_conn::READ_BUFFER_START;

/// One step of a write that reads meanwhile.
enum Progress {
    Wrote(std::io::Result<usize>),
    Read(std::io::Result<usize>),
}

/// Writes all of `bytes`; while the stream cannot take more, what arrives is read into
/// `stash` (with the time it came) for the connection's loop.
pub(crate) async fn write_reading<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    mut bytes: &[u8],
    stash: &mut Stash,
) -> std::io::Result<()> {
    use std::pin::Pin;
    use std::task::Poll;
    // Allocated only when a write has to wait (most complete at once).
    let mut space: Option<Vec<u8>> = None;
    while !bytes.is_empty() {
        let reading = !stash.ended && stash.bytes < MAX_STASH;
        let step = std::future::poll_fn(|cx| {
            if let Poll::Ready(r) = Pin::new(&mut *stream).poll_write(cx, bytes) {
                return Poll::Ready(Progress::Wrote(r));
            }
            if reading {
                let space = space.get_or_insert_with(|| vec![0; STASH_READ]);
                let mut read = tokio::io::ReadBuf::new(space);
                if let Poll::Ready(r) = Pin::new(&mut *stream).poll_read(cx, &mut read) {
                    return Poll::Ready(Progress::Read(r.map(|()| read.filled().len())));
                }
            }
            Poll::Pending
        })
        .await;
        match step {
            Progress::Wrote(Ok(0)) => return Err(std::io::ErrorKind::WriteZero.into()),
            Progress::Wrote(Ok(n)) => bytes = &bytes[n..],
            Progress::Wrote(Err(e)) => return Err(e),
            Progress::Read(Ok(0)) => {
                stash.ended = true;
                stash.items.push_back(Stashed::End(Ok(())));
            }
            Progress::Read(Ok(n)) => {
                let data = space.as_ref().map(|s| s[..n].to_vec()).unwrap_or_default();
                stash.bytes += n;
                stash
                    .items
                    .push_back(Stashed::Data(data, std::time::SystemTime::now()));
            }
            Progress::Read(Err(e)) => {
                stash.ended = true;
                stash.items.push_back(Stashed::End(Err(e)));
            }
        }
    }
    Ok(())
}

/// The next read into `buf`: what a write stashed first, in order, else the stream's; with
/// when it came.
pub(crate) async fn next_read_into<S: AsyncRead + Unpin>(
    stash: &mut Stash,
    stream: &mut S,
    buf: &mut [u8],
) -> (std::io::Result<usize>, std::time::SystemTime) {
    match stash.items.pop_front() {
        Some(Stashed::Data(data, at)) => {
            stash.bytes -= data.len();
            let n = data.len().min(buf.len());
            buf[..n].copy_from_slice(&data[..n]);
            (Ok(n), at)
        }
        Some(Stashed::End(result)) => (result.map(|()| 0), std::time::SystemTime::now()),
        None => (stream.read(buf).await, std::time::SystemTime::now()),
    }
}
