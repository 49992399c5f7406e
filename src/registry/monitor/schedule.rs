//! When each client is due: at the latest `max_staleness` after its last successful
//! validation, earlier by its jitter, and before its record expires by the refresh-ahead
//! margin; a client whose superiors were unreachable is retried with a capped exponential
//! back-off, never later than its record's expiry (so a suspension is recorded on time).
//! Pure functions of the client, the settings and the time: the tests drive them with an
//! injected clock.

use std::time::Duration;

/// The monitor's scheduling settings (see [`super::MonitorBuilder`] for the defaults and why).
///
/// ```
/// use std::time::Duration;
/// use oidfed::registry::monitor::Schedule;
/// let s = Schedule::default();
/// assert_eq!(s.max_staleness, Duration::from_secs(15 * 60));
/// assert!(s.jitter < s.max_staleness && s.backoff <= s.backoff_cap);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Schedule {
    /// Longest time a client goes without a re-validation.
    pub max_staleness: Duration,
    /// Re-validate this long before the record's expiry.
    pub refresh_ahead: Duration,
    /// Spread: each client is due up to this much earlier than `max_staleness` requires,
    /// by a fixed per-client offset, so a fleet admitted together does not re-validate in
    /// one burst.
    pub jitter: Duration,
    /// First retry delay after a transient failure.
    pub backoff: Duration,
    /// Longest retry delay.
    pub backoff_cap: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            max_staleness: Duration::from_secs(15 * 60),
            refresh_ahead: Duration::from_secs(5 * 60),
            jitter: Duration::from_secs(90),
            backoff: Duration::from_secs(30),
            backoff_cap: Duration::from_secs(15 * 60),
        }
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// A stable offset in `[0, jitter]` seconds for `client_id` (FNV-1a: the same on every
/// replica and after every restart, so a takeover does not re-bunch the fleet).
pub(crate) fn jitter_offset(client_id: &str, jitter: Duration) -> i64 {
    let span = secs(jitter);
    if span <= 0 {
        return 0;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in client_id.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let span_u = u64::try_from(span).unwrap_or(u64::MAX).saturating_add(1);
    i64::try_from(h % span_u).unwrap_or(0)
}

impl Schedule {
    /// When a client last validated at `last_validated`, whose record expires at
    /// `expires_at`, is next due. A retry time (after transient failures) replaces the
    /// staleness schedule: the client is already past it, and the back-off is what keeps an
    /// unreachable superior from being asked at every pass.
    pub(crate) fn due(
        &self,
        client_id: &str,
        last_validated: i64,
        expires_at: Option<i64>,
        retry_at: Option<i64>,
    ) -> i64 {
        if let Some(r) = retry_at {
            return r;
        }
        let stale_by = last_validated
            .saturating_add(secs(self.max_staleness))
            .saturating_sub(jitter_offset(client_id, self.jitter));
        match expires_at {
            Some(exp) => stale_by.min(exp.saturating_sub(secs(self.refresh_ahead))),
            None => stale_by,
        }
    }

    /// The retry time after the `failures`-th consecutive transient failure (1 for the
    /// first) at `now`: `backoff · 2^(failures-1)`, at most `backoff_cap`, never after the
    /// record's expiry.
    pub(crate) fn retry_at(&self, now: i64, failures: u32, expires_at: Option<i64>) -> i64 {
        let base = secs(self.backoff).max(1);
        let shift = failures.saturating_sub(1).min(30);
        let delay = base
            .saturating_mul(1i64 << shift)
            .min(secs(self.backoff_cap).max(1));
        let at = now.saturating_add(delay);
        match expires_at {
            Some(exp) if exp > now => at.min(exp),
            _ => at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_is_never_later_than_max_staleness() {
        let s = Schedule::default();
        for id in [
            "https://a.example",
            "https://b.example",
            "https://c.example/x",
        ] {
            let due = s.due(id, 1000, None, None);
            assert!((1000 + 900 - 90..=1000 + 900).contains(&due), "{id}: {due}");
        }
    }

    #[test]
    fn jitter_spreads_clients() {
        let s = Schedule::default();
        let dues: std::collections::HashSet<i64> = (0..100)
            .map(|i| s.due(&format!("https://rp{i}.example"), 0, None, None))
            .collect();
        assert!(dues.len() > 30, "only {} distinct due times", dues.len());
    }

    #[test]
    fn refresh_ahead_and_retry_come_first() {
        let s = Schedule::default();
        assert_eq!(s.due("x", 0, Some(600), None), 300);
        assert_eq!(s.due("x", 0, Some(10_000), Some(42)), 42);
        // Past max_staleness already, the back-off decides.
        assert_eq!(s.due("x", 0, Some(10_000), Some(5_000)), 5_000);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_the_expiry() {
        let s = Schedule::default();
        assert_eq!(s.retry_at(0, 1, None), 30);
        assert_eq!(s.retry_at(0, 2, None), 60);
        assert_eq!(s.retry_at(0, 3, None), 120);
        assert_eq!(s.retry_at(0, 50, None), 900);
        assert_eq!(s.retry_at(0, 5, Some(100)), 100);
        assert_eq!(s.retry_at(200, 1, Some(100)), 230);
    }
}
