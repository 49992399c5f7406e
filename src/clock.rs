//! Injected time. Every time check (statement `iat`/`exp`, chain expiry, cache expiry) reads
//! a [`Clock`], so tests are exact.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// A source of the current time as a Unix timestamp in seconds (a JSON NumericDate).
///
/// ```
/// use oidfed::{Clock, FixedClock};
/// let clock = FixedClock::new(1_700_000_000);
/// assert_eq!(clock.now(), 1_700_000_000);
/// clock.advance(60);
/// assert_eq!(clock.now(), 1_700_000_060);
/// ```
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The system clock (the default).
///
/// ```
/// use oidfed::{Clock, SystemClock};
/// // Any instant after 2020-01-01T00:00:00Z.
/// assert!(SystemClock.now() > 1_577_836_800);
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }
}

/// A clock that only moves when told to: for tests and for validating at a chosen instant.
/// Clones share the same time.
///
/// ```
/// use oidfed::{Clock, FixedClock};
/// let clock = FixedClock::new(1_800_000_000);
/// let shared = clock.clone();
/// clock.advance(60);
/// assert_eq!(shared.now(), 1_800_000_060);
/// shared.set(1_700_000_000);
/// assert_eq!(clock.now(), 1_700_000_000);
/// ```
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<AtomicI64>);

impl FixedClock {
    /// A clock standing at `now` (Unix seconds).
    pub fn new(now: i64) -> Self {
        Self(Arc::new(AtomicI64::new(now)))
    }
    /// Sets the time.
    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst)
    }
    /// Moves the time forward (or backward with a negative value).
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
