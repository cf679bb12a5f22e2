//! The verified protocol of `docs/file-transfer.md`: name, size and SHA-256 first, an offer
//! to resume, the data, and the receiver's verdict last.

use super::naming::{finish_under, open_part, reserve_unique};
use super::*;

/// First line of the verified format.
pub const MAGIC: &str = "SOCKSCOPE-FILE 1";
/// Longest protocol line accepted.
const MAX_LINE: u64 = 64 << 10;

/// SHA-256 of a file's first `limit` bytes (all when `None`), and the hasher state after them.
async fn hash_file(path: &Path, limit: Option<u64>) -> Result<(String, Sha256), NetError> {
    let file = std::fs::File::open(path).map_err(|e| file_error(path, &e))?;
    let (file, digest) = hash_open_file(file, path, limit).await?;
    drop(file);
    Ok(digest)
}

/// The same over a file already open (read from its start), handed back afterwards: what is
/// hashed is what was opened, whatever happens to the name meanwhile.
async fn hash_open_file(
    file: std::fs::File,
    path: &Path,
    limit: Option<u64>,
) -> Result<(std::fs::File, (String, Sha256)), NetError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek};
        let mut reader =
            std::io::BufReader::with_capacity(1 << 20, (&file).take(limit.unwrap_or(u64::MAX)));
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = reader.read(&mut buf).map_err(|e| file_error(&path, &e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        drop(reader);
        (&file)
            .seek(std::io::SeekFrom::Start(0))
            .map_err(|e| file_error(&path, &e))?;
        Ok((
            file,
            (encode_hex_compact(&hasher.clone().finalize()), hasher),
        ))
    })
    .await
    .map_err(|_| NetError::because(NetErrorKind::Other, Reason::TaskFailed))?
}

/// The sender's header, the line after [`MAGIC`].
#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    /// The file's name as the sender has it (reduced to a safe name by the receiver).
    #[serde(default)]
    name: String,
    size: u64,
    /// Lower-case hex.
    sha256: String,
}

/// The receiver's offer to resume.
#[derive(serde::Serialize, serde::Deserialize)]
struct Offer {
    /// Bytes of this file the receiver already holds.
    #[serde(default)]
    offset: u64,
    /// SHA-256 of those bytes ("" when none).
    #[serde(default)]
    part_sha256: String,
}

/// Where the sender starts: the offer's offset (resume) or 0.
#[derive(serde::Serialize, serde::Deserialize)]
struct Start {
    #[serde(default)]
    start: u64,
}

/// The receiver's last word.
#[derive(serde::Serialize, serde::Deserialize)]
struct Verdict {
    ok: bool,
    /// The name the file was saved under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Verdict {
    fn refused(error: String) -> Self {
        Self {
            ok: false,
            name: None,
            sha256: None,
            error: Some(error),
        }
    }
}

/// Reads one protocol message: a JSON line of at most MAX_LINE bytes.
async fn read_message<T: serde::de::DeserializeOwned>(
    reader: &mut (impl tokio::io::AsyncBufRead + Unpin),
) -> Result<T, NetError> {
    let mut line = Vec::new();
    let n = reader.take(MAX_LINE).read_until(b'\n', &mut line).await?;
    if n == 0 || line.last() != Some(&b'\n') {
        return Err(NetError::new(
            NetErrorKind::Reset,
            "the peer closed the connection mid-protocol",
        ));
    }
    serde_json::from_slice(&line)
        .map_err(|_| NetError::because(NetErrorKind::Protocol, Reason::NotATransferPeer))
}

/// Writes one protocol message as a JSON line.
async fn write_message(
    writer: &mut (impl AsyncWrite + Unpin),
    message: &impl serde::Serialize,
) -> Result<(), NetError> {
    let mut line = serde_json::to_vec(message)
        .map_err(|_| NetError::because(NetErrorKind::Other, Reason::TaskFailed))?;
    line.push(b'\n');
    writer.write_all(&line).await.map_err(NetError::from)
}

pub(super) async fn send_verified(
    core: &SessionCore,
    cfg: &FileSendConfig,
    stream: tokio::net::TcpStream,
    size: u64,
) -> Result<(), NetError> {
    let (sha256, _) = hash_file(&cfg.path, None).await?;
    let name = cfg
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let header = Header {
        name,
        size,
        sha256: sha256.clone(),
    };
    let silence = cfg.limits.silence;
    within(silence, Awaited::ToTakeHeader, async {
        wr.write_all(format!("{MAGIC}\n").as_bytes()).await?;
        write_message(&mut wr, &header).await
    })
    .await?;
    let offer: Offer = within(silence, Awaited::Offer, read_message(&mut rd)).await?;
    let offered = offer.offset.min(size);
    // Resume only if the receiver's part is a true prefix of this file.
    let start = if offered > 0 && offer.part_sha256 == hash_file(&cfg.path, Some(offered)).await?.0
    {
        offered
    } else {
        0
    };
    write_message(&mut wr, &Start { start }).await?;
    let (mut file, _) = BlockReader::open(&cfg.path, start)?;
    let mut progress = Progress::new(core, Some(size), start);
    copy_paced(core, &mut file, &mut wr, &mut progress, cfg).await?;
    wr.flush().await?;
    let verdict: Verdict = within(silence, Awaited::Verdict, read_message(&mut rd)).await?;
    if verdict.ok {
        progress.finish(cfg.path.clone(), Some(sha256), start);
        Ok(())
    } else {
        Err(NetError::because(
            NetErrorKind::File,
            Reason::ReceiverRefused(verdict.error.clone()),
        ))
    }
}

pub(super) async fn receive_verified(
    core: &SessionCore,
    stream: tokio::net::TcpStream,
    dir: &Path,
    silence: Duration,
    activity: &Activity,
) -> Result<(), NetError> {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let mut magic = Vec::new();
    within(silence, Awaited::FirstLine, async {
        let read = (&mut rd).take(64).read_until(b'\n', &mut magic).await;
        read.map_err(NetError::from)
    })
    .await?;
    if magic.strip_suffix(b"\n") != Some(MAGIC.as_bytes()) {
        return Err(NetError::because(
            NetErrorKind::Protocol,
            Reason::NotATransferPeer,
        ));
    }
    let header: Header = within(silence, Awaited::Header, read_message(&mut rd)).await?;
    let (size, sha256) = (header.size, header.sha256.to_ascii_lowercase());
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(NetError::because(
            NetErrorKind::Protocol,
            Reason::BadTransferHeader,
        ));
    }
    let name = safe_file_name(&header.name);
    // The part file is keyed by content, so a different file of the same name never mixes in.
    let (part, part_file, existing) = open_part(dir, &name, &sha256)?;
    let existing = existing.min(size);
    let (part_file, (part_sha, part_hasher)) = if existing > 0 {
        hash_open_file(part_file, &part, Some(existing)).await?
    } else {
        (part_file, (String::new(), Sha256::new()))
    };
    let offer = Offer {
        offset: existing,
        part_sha256: part_sha,
    };
    within(
        silence,
        Awaited::ToTakeOffer,
        write_message(&mut wr, &offer),
    )
    .await?;
    let start: Start = within(silence, Awaited::Start, read_message(&mut rd)).await?;
    let start = start.start.min(existing);
    let hasher = if start == existing {
        part_hasher
    } else {
        Sha256::new()
    };
    let mut file = BlockWriter::from_file(part_file, &part, start, Some(hasher))?;
    let mut progress = Progress::new(core, Some(size), start);
    let mut block = Vec::with_capacity(FILE_BLOCK);
    while progress.done < size {
        let left = size - progress.done;
        let n = within(silence, Awaited::Data, async {
            (&mut rd)
                .take(left)
                .read_buf(&mut block)
                .await
                .map_err(NetError::from)
        })
        .await;
        let n = match n {
            Ok(n) => n,
            Err(e) => {
                // What arrived stays in the part file, so a new attempt resumes.
                let _ = file.write(block).await;
                let _ = file.finish().await;
                return Err(e);
            }
        };
        if n == 0 {
            let _ = file.write(block).await;
            let _ = file.finish().await;
            return Err(NetError::new(
                NetErrorKind::Reset,
                format!(
                    "{name}: truncated, {} of {size} bytes received; send again to resume",
                    progress.done
                ),
            ));
        }
        activity.data_came();
        core.counters.add_rx(n);
        progress.add(n);
        if block.capacity() - block.len() < RECEIVE_SLACK || progress.done == size {
            let next = file.buffer();
            let full = std::mem::replace(&mut block, next);
            if let Err(err) = file.write(full).await {
                let _ = write_message(&mut wr, &Verdict::refused(err.to_string())).await;
                return Err(err);
            }
        }
    }
    let got = match file.finish().await {
        Ok(digest) => digest.unwrap_or_default(),
        Err(err) => {
            let _ = write_message(&mut wr, &Verdict::refused(err.to_string())).await;
            return Err(err);
        }
    };
    progress.emit();

    if got != sha256 {
        let _ = tokio::fs::remove_file(&part).await;
        let reason = Reason::ShaMismatch {
            name: name.clone(),
            expected: sha256.clone(),
            got,
        };
        let verdict = Verdict::refused(reason.to_string());
        let _ = within(
            silence,
            Awaited::ToTakeVerdict,
            write_message(&mut wr, &verdict),
        )
        .await;
        return Err(NetError::because(NetErrorKind::File, reason));
    }
    // The name is taken atomically, then the file moves there: a sender told "ok" finds its
    // exact bytes under the name it is told, however many finish at once.
    let (from, dir_owned, name_owned) = (part.clone(), dir.to_path_buf(), name.clone());
    let target = tokio::task::spawn_blocking(move || {
        let target = reserve_unique(&dir_owned, &name_owned)?;
        finish_under(&from, &target).map(|()| target)
    })
    .await
    .map_err(|_| NetError::because(NetErrorKind::Other, Reason::TaskFailed))??;
    let saved = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let verdict = Verdict {
        ok: true,
        name: Some(saved),
        sha256: Some(got.clone()),
        error: None,
    };
    within(
        silence,
        Awaited::ToTakeVerdict,
        write_message(&mut wr, &verdict),
    )
    .await?;
    progress.finish(target, Some(got), start);
    Ok(())
}
