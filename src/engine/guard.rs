//! The loop guard of automatic replies (auto-reply rules and UDP echo): at most a set number
//! per second per session. Two instances answering each other (or one answering itself) would
//! otherwise bounce a message as fast as the machine allows; past the limit, replies pause for
//! [`PAUSE`] and the session says so. A pause that drops the bouncing message ends the loop.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Default limit of automatic replies per second of one session.
pub const DEFAULT_REPLY_LIMIT_PER_S: u32 = 100;
/// How long replies stay paused once the limit was passed.
pub const PAUSE: Duration = Duration::from_secs(2);

/// What the guard says about one more reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Send it.
    Allow,
    /// Do not send it: replies are paused.
    Deny,
    /// Do not send it: this reply passed the limit, and replies pause now (say so once).
    Tripped { limit_per_s: u32 },
}

struct Window {
    start: Instant,
    count: u32,
    paused_until: Option<Instant>,
}

/// Counts a session's automatic replies.
pub(crate) struct ReplyGuard {
    /// 0: no limit.
    limit_per_s: AtomicU32,
    window: Mutex<Window>,
    suppressed: AtomicU64,
}

impl Default for ReplyGuard {
    fn default() -> Self {
        Self {
            limit_per_s: AtomicU32::new(DEFAULT_REPLY_LIMIT_PER_S),
            window: Mutex::new(Window {
                start: Instant::now(),
                count: 0,
                paused_until: None,
            }),
            suppressed: AtomicU64::new(0),
        }
    }
}

impl ReplyGuard {
    /// Sets the limit (0: none) and ends any pause.
    pub fn set_limit(&self, limit_per_s: u32) {
        self.limit_per_s.store(limit_per_s, Ordering::Relaxed);
        let mut w = self.lock();
        w.paused_until = None;
        w.count = 0;
        w.start = Instant::now();
    }

    /// Asks for one reply now.
    pub fn check(&self) -> Verdict {
        self.check_at(Instant::now())
    }

    fn check_at(&self, now: Instant) -> Verdict {
        let limit = self.limit_per_s.load(Ordering::Relaxed);
        if limit == 0 {
            return Verdict::Allow;
        }
        let mut w = self.lock();
        if let Some(until) = w.paused_until {
            if now < until {
                drop(w);
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                return Verdict::Deny;
            }
            w.paused_until = None;
            w.start = now;
            w.count = 0;
        }
        if now.duration_since(w.start) >= Duration::from_secs(1) {
            w.start = now;
            w.count = 0;
        }
        if w.count >= limit {
            w.paused_until = Some(now + PAUSE);
            drop(w);
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return Verdict::Tripped { limit_per_s: limit };
        }
        w.count += 1;
        Verdict::Allow
    }

    /// Replies not sent because of the limit since the session opened.
    pub fn suppressed(&self) -> u64 {
        self.suppressed.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        self.window.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_trips_once_then_pauses_then_resumes() {
        let guard = ReplyGuard::default();
        guard.set_limit(3);
        let t0 = Instant::now();
        let verdicts: Vec<_> = (0..6).map(|_| guard.check_at(t0)).collect();
        assert_eq!(
            verdicts,
            [
                Verdict::Allow,
                Verdict::Allow,
                Verdict::Allow,
                Verdict::Tripped { limit_per_s: 3 },
                Verdict::Deny,
                Verdict::Deny
            ]
        );
        assert_eq!(guard.suppressed(), 3);
        // Still paused just before the pause ends; allowed again after it.
        assert_eq!(
            guard.check_at(t0 + PAUSE - Duration::from_millis(1)),
            Verdict::Deny
        );
        assert_eq!(guard.check_at(t0 + PAUSE), Verdict::Allow);
    }

    #[test]
    fn a_new_second_starts_a_new_count_and_zero_means_no_limit() {
        let guard = ReplyGuard::default();
        guard.set_limit(2);
        let t0 = Instant::now();
        assert_eq!(guard.check_at(t0), Verdict::Allow);
        assert_eq!(guard.check_at(t0), Verdict::Allow);
        assert_eq!(guard.check_at(t0 + Duration::from_secs(1)), Verdict::Allow);
        guard.set_limit(0);
        assert!((0..10_000).all(|_| guard.check_at(t0) == Verdict::Allow));
        assert_eq!(guard.suppressed(), 0);
    }
}
