//! When to try again: the retry schedule, the queue lifetime, and the clock they read.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Unix time in seconds. Injected so tests move time instead of sleeping.
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock reading `now`.
    pub fn new(now: u64) -> ManualClock {
        ManualClock(AtomicU64::new(now))
    }

    /// Sets the time.
    pub fn set(&self, now: u64) {
        self.0.store(now, Ordering::SeqCst);
    }

    /// Moves the time forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_secs(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Exponential backoff with a cap, a maximum queue lifetime and an optional delay warning.
///
/// RFC 5321 §4.5.4.1: "the retry interval SHOULD be at least 30 minutes" and "the give-up time
/// generally needs to be at least 4-5 days". The defaults follow Postfix (first retry after
/// 5 minutes, doubling to at most 4 hours), which retries sooner at first because most
/// deferrals (greylisting) clear within minutes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failed attempt.
    pub initial: Duration,
    /// The delay doubles after each attempt up to this.
    pub max_interval: Duration,
    /// Time from acceptance after which a transient failure becomes a bounce.
    pub lifetime: Duration,
    /// Send a "delayed" DSN once a message has waited this long (`None`: never).
    pub warn_after: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_secs(5 * 60),
            max_interval: Duration::from_secs(4 * 3600),
            lifetime: Duration::from_secs(5 * 86_400),
            warn_after: Some(Duration::from_secs(4 * 3600)),
        }
    }
}

impl RetryPolicy {
    /// The wait after `attempts` failed attempts (1 → `initial`, 2 → twice that, ...).
    pub fn delay(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(32);
        let secs = self
            .initial
            .as_secs()
            .saturating_mul(1u64 << doublings)
            .min(self.max_interval.as_secs());
        Duration::from_secs(secs.max(1))
    }

    /// When a message received at `received_at` expires.
    pub fn expires_at(&self, received_at: u64) -> u64 {
        received_at.saturating_add(self.lifetime.as_secs())
    }

    /// The next attempt after a transient failure at `now`, or `None` when the lifetime is
    /// over and the recipient must bounce. The last attempt is scheduled at the expiry time
    /// itself, so a message is never bounced before its lifetime ends.
    pub fn next_attempt(&self, received_at: u64, attempts: u32, now: u64) -> Option<u64> {
        let expires = self.expires_at(received_at);
        if now >= expires {
            return None;
        }
        Some(
            now.saturating_add(self.delay(attempts).as_secs())
                .min(expires),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let p = RetryPolicy::default();
        let mins: Vec<u64> = (1..=9).map(|n| p.delay(n).as_secs() / 60).collect();
        assert_eq!(mins, [5, 10, 20, 40, 80, 160, 240, 240, 240]);
        assert_eq!(p.delay(0), p.delay(1));
        assert_eq!(p.delay(u32::MAX).as_secs(), 4 * 3600);
    }

    #[test]
    fn never_bounces_before_the_lifetime_and_always_tries_at_its_end() {
        let p = RetryPolicy {
            lifetime: Duration::from_secs(1000),
            initial: Duration::from_secs(300),
            ..RetryPolicy::default()
        };
        assert_eq!(p.next_attempt(0, 1, 0), Some(300));
        // 900 + 600 would pass the lifetime: the last try is at the expiry itself.
        assert_eq!(p.next_attempt(0, 2, 900), Some(1000));
        assert_eq!(p.next_attempt(0, 3, 999), Some(1000));
        assert_eq!(p.next_attempt(0, 3, 1000), None);
        assert_eq!(p.next_attempt(u64::MAX, 1, 0), Some(300));
    }

    #[test]
    fn the_manual_clock_moves_only_when_told() {
        let c = ManualClock::new(10);
        c.advance(Duration::from_secs(5));
        assert_eq!(c.now(), 15);
        c.set(3);
        assert_eq!(c.now(), 3);
        assert!(SystemClock.now() > 1_600_000_000);
    }
}
