//! Giving freed memory back to the system, so the window's footprint after a flood (or a
//! Clear, or a closed tab) returns to what it holds, not to what it once held.

/// Hands memory the program freed back to the system.
///
/// glibc keeps freed heap pages for reuse, so without this the resident size of a window that
/// once held a 128 MiB log stays there after Clear. Windows' and macOS's allocators return
/// large freed blocks themselves: nothing to do there.
pub fn give_back_freed() {
    // Linux with glibc only: malloc_trim(0) releases the free pages at the top of each arena.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: malloc_trim takes no pointers and only returns free memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}
