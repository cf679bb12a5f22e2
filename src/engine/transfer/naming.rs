//! What received files are called: plain names inside the chosen folder, never overwriting,
//! and part files that are never followed through a link.

use super::*;

/// Reduces a name a peer sent to a plain file name: no folders, no `..`, no device names, no
/// control or reserved characters, at most 200 bytes. Never empty.
pub fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let mut out: String = last
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') {
                '_'
            } else {
                c
            }
        })
        .collect();
    out = out.trim().trim_end_matches(['.', ' ']).to_string();
    while out.len() > 200 {
        out.pop();
    }
    // Cutting may leave a space or dot at the end again (Windows drops those silently).
    out = out.trim_end_matches(['.', ' ']).to_string();
    if out.is_empty() || out.chars().all(|c| c == '.') {
        return "received.bin".into();
    }
    let stem = out.split('.').next().unwrap_or("").to_ascii_uppercase();
    let reserved = matches!(
        stem.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) || ((stem.starts_with("COM") || stem.starts_with("LPT"))
        && stem.len() == 4
        && stem.as_bytes()[3].is_ascii_digit());
    if reserved {
        out.insert(0, '_');
    }
    out
}

/// `dir/name`, or `dir/name (1).ext`, `(2)`… if taken: an existing file is never overwritten.
pub fn unique_path(dir: &Path, name: &str) -> PathBuf {
    // A link (even one pointing nowhere) is taken too: nothing is written through one.
    let taken = |p: &Path| std::fs::symlink_metadata(p).is_ok();
    let first = dir.join(name);
    if !taken(&first) {
        return first;
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
        _ => (name.to_string(), String::new()),
    };
    (1..)
        .map(|i| dir.join(format!("{stem} ({i}){ext}")))
        .find(|p| !taken(p))
        .unwrap_or(first)
}

/// Takes a name no other file has, atomically: `dir/name`, or `name (1).ext`, `(2)`… — made
/// empty and exclusively (never through a link), so two receivers finishing at once never get
/// the same name. The file received then replaces this empty one (see [`finish_under`]).
pub(super) fn reserve_unique(dir: &Path, name: &str) -> Result<PathBuf, NetError> {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
        _ => (name.to_string(), String::new()),
    };
    let candidates = std::iter::once(dir.join(name))
        .chain((1..=10_000u32).map(|i| dir.join(format!("{stem} ({i}){ext}"))));
    for path in candidates {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(file_error(&path, &e)),
        }
    }
    Err(NetError::because(
        NetErrorKind::File,
        Reason::NoFreeName {
            name: name.to_string(),
            dir: dir.to_path_buf(),
        },
    ))
}

/// Moves the finished `part` file to a name taken for it with [`reserve_unique`]; the name is
/// given back (removed) if the move fails.
pub(super) fn finish_under(part: &Path, target: &Path) -> Result<(), NetError> {
    std::fs::rename(part, target).map_err(|e| {
        let _ = std::fs::remove_file(target);
        file_error(target, &e)
    })
}

/// Opens the part file of a verified receive: the existing one, to resume, only if it is a
/// plain file this receiver can trust (not a link, not a hard link to a file elsewhere, ours);
/// otherwise a new one, created exclusively (which never follows a link). Returns the path,
/// the open file and how many bytes it already holds.
pub(super) fn open_part(
    dir: &Path,
    name: &str,
    sha256: &str,
) -> Result<(PathBuf, std::fs::File, u64), NetError> {
    let part_name = format!("{name}.{}.part", &sha256[..16]);
    let part = dir.join(&part_name);
    let mut open = std::fs::OpenOptions::new();
    open.read(true).write(true);
    no_follow(&mut open);
    match open.open(&part) {
        Ok(file) => match file.metadata() {
            Ok(meta) if trusted_part(&meta) => return Ok((part, file, meta.len())),
            _ => {}
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        // A link (refused by no_follow) or anything else odd: leave it, start a new part.
        Err(_) => {}
    }
    let fresh = if std::fs::symlink_metadata(&part).is_ok() {
        unique_path(dir, &part_name)
    } else {
        part
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&fresh)
        .map_err(|e| file_error(&fresh, &e))?;
    Ok((fresh, file, 0))
}

/// Opening a link opens the link, not what it points to.
fn no_follow(open: &mut std::fs::OpenOptions) {
    // Unix: O_NOFOLLOW makes opening a symbolic link fail (ELOOP).
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.custom_flags(libc::O_NOFOLLOW);
    }
    // Windows: FILE_FLAG_OPEN_REPARSE_POINT opens a symlink or junction itself, which
    // `trusted_part` then refuses.
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        open.custom_flags(0x0020_0000);
    }
}

/// May a resume continue this file? A plain file; on Unix also one name only (a hard link
/// would reach a file outside the folder) and owned by this user.
fn trusted_part(meta: &std::fs::Metadata) -> bool {
    if !meta.file_type().is_file() {
        return false;
    }
    // Unix: link count and owner are known; Windows reports neither in stable std.
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        #[allow(unsafe_code)]
        let me = unsafe { libc::geteuid() };
        if meta.nlink() != 1 || meta.uid() != me {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_peers_become_plain_names() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("..\\..\\Windows\\system.ini"), "system.ini");
        assert_eq!(safe_file_name("/absolute/path.bin"), "path.bin");
        assert_eq!(safe_file_name("C:\\temp\\a.txt"), "a.txt");
        assert_eq!(safe_file_name(".."), "received.bin");
        assert_eq!(safe_file_name(""), "received.bin");
        assert_eq!(safe_file_name("dir/"), "received.bin");
        assert_eq!(safe_file_name("CON"), "_CON");
        assert_eq!(safe_file_name("com1.txt"), "_com1.txt");
        assert_eq!(safe_file_name("lpt9"), "_lpt9");
        assert_eq!(safe_file_name("a\u{0}b\nc\u{7f}.txt"), "a_b_c_.txt");
        assert_eq!(safe_file_name("what?<>|*.bin"), "what_____.bin");
        assert_eq!(safe_file_name("trailing. . "), "trailing");
        assert_eq!(safe_file_name("固件 v1.2.bin"), "固件 v1.2.bin");
        assert!(safe_file_name(&"x".repeat(500)).len() <= 200);
        // A cut at 200 bytes that lands after a space drops the space too.
        let cut = safe_file_name(&format!("{} tail", "a".repeat(199)));
        assert_eq!(cut, "a".repeat(199));
    }

    /// Many receivers finishing the same name at once each get a name of their own.
    #[test]
    fn reserved_names_are_never_shared() {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<PathBuf> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..32)
                .map(|_| s.spawn(|| reserve_unique(dir.path(), "same.bin").unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let distinct: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(distinct.len(), 32, "{names:?}");
        assert!(names.contains(&dir.path().join("same.bin")));
        assert!(names.contains(&dir.path().join("same (31).bin")));
    }

    #[test]
    fn unique_names_never_overwrite() {
        let dir = std::env::temp_dir().join(format!("sockscope-unique-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(unique_path(&dir, "a.bin"), dir.join("a.bin"));
        std::fs::write(dir.join("a.bin"), b"1").unwrap();
        assert_eq!(unique_path(&dir, "a.bin"), dir.join("a (1).bin"));
        std::fs::write(dir.join("a (1).bin"), b"1").unwrap();
        assert_eq!(unique_path(&dir, "a.bin"), dir.join("a (2).bin"));
        std::fs::write(dir.join("noext"), b"1").unwrap();
        assert_eq!(unique_path(&dir, "noext"), dir.join("noext (1)"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
