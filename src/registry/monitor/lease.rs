//! One sweeper per registry: a lease row in the database (holder id, epoch, expiry).
//!
//! Times are the replica's own clock (the resolver's). With clocks apart by at most
//! `leeway`, two replicas never both believe they hold the lease: the holder stops trusting
//! its lease `leeway` before the expiry it wrote, and another replica takes over only
//! `leeway` after that expiry by its own clock. A holder that dies (or is frozen) is replaced
//! within `ttl + leeway` plus one renewal interval of the taker. A frozen holder that wakes
//! up finds the lease gone at its next renewal; meanwhile each of its writes is refused by
//! the registry's optimistic versioning if the new sweeper wrote the client first, and a
//! revoked client is never made active again by a re-validation.

use std::time::Duration;

use super::{Monitor, MonitorError};
use crate::registry::events::MonitorEvent;
use crate::registry::store::LeaseAttempt;

/// The sweeper's lease.
///
/// ```
/// use std::time::Duration;
/// use oidfed::registry::monitor::LeaseSettings;
/// let lease = LeaseSettings::new("replica-1", Duration::from_secs(30), Duration::from_secs(2))
///     .named("eu-monitor");
/// assert_eq!((lease.holder.as_str(), lease.name.as_str()), ("replica-1", "eu-monitor"));
/// assert!(lease.renew_every <= Duration::from_secs(10)); // at most a third of the ttl
/// assert_eq!(LeaseSettings::default().name, "monitor");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LeaseSettings {
    /// The lease's name: replicas competing for the same name share one sweeper (default
    /// `monitor`).
    pub name: String,
    /// This replica's holder id (default: host, process id and a random suffix).
    pub holder: String,
    /// How long a lease lasts without renewal (default 30 s).
    pub ttl: Duration,
    /// How often the holder renews, and others try (default 10 s).
    pub renew_every: Duration,
    /// The clock skew tolerated between replicas (default 5 s).
    pub leeway: Duration,
}

impl Default for LeaseSettings {
    fn default() -> Self {
        Self {
            name: "monitor".into(),
            holder: default_holder(),
            ttl: Duration::from_secs(30),
            renew_every: Duration::from_secs(10),
            leeway: Duration::from_secs(5),
        }
    }
}

impl LeaseSettings {
    /// Settings with this holder id and timings (`renew_every` is capped at a third of
    /// `ttl`, so a renewal is tried several times before the lease runs out). See the
    /// [`LeaseSettings`] example.
    pub fn new(holder: &str, ttl: Duration, leeway: Duration) -> Self {
        Self {
            holder: holder.to_string(),
            ttl,
            renew_every: (ttl / 3).max(Duration::from_millis(100)),
            leeway,
            ..Self::default()
        }
    }

    /// The same, under another lease name; see the [`LeaseSettings`] example.
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

/// Who holds a lease, as the database says.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-lease_info.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// use std::time::Duration;
/// use oidfed::registry::monitor::LeaseSettings;
/// let settings = LeaseSettings::new("replica-1", Duration::from_secs(30), Duration::from_secs(1));
/// let monitor = registry.monitor(&resolver).lease(settings).build();
///
/// monitor.acquire_lease().await.unwrap();
/// let info = monitor.lease_holder().await.unwrap().unwrap();
/// assert_eq!((info.holder.as_str(), info.epoch), ("replica-1", 1));
/// assert!(info.expires_at > oidfed::Clock::now(&fed.clock()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeaseInfo {
    /// The holder id.
    pub holder: String,
    /// The lease's epoch: 1 for its first holder, incremented at every takeover.
    pub epoch: i64,
    /// Its expiry, by the holder's clock.
    pub expires_at: i64,
}

fn default_holder() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    let mut bytes = [0u8; 6];
    let random = openssl::rand::rand_bytes(&mut bytes)
        .map(|()| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
        .unwrap_or_default();
    format!("{host}-{}-{random}", std::process::id())
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX).max(1)
}

impl Monitor {
    /// Acquires or renews the lease now. `Err(NotLeader)` when another replica holds it.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-acquire.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// use std::time::Duration;
    /// use oidfed::registry::monitor::LeaseSettings;
    /// let settings = LeaseSettings::new("replica-1", Duration::from_secs(30), Duration::from_secs(1));
    /// let monitor = registry.monitor(&resolver).lease(settings).build();
    ///
    /// assert!(!monitor.holds_lease());
    /// monitor.acquire_lease().await.unwrap();
    /// monitor.acquire_lease().await.unwrap(); // renewing is acquiring again
    /// assert!(monitor.holds_lease());
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn acquire_lease(&self) -> Result<(), MonitorError> {
        let s = &self.shared;
        let l = &s.lease;
        let now = s.resolver.now();
        let attempt = s
            .registry
            .store
            .acquire_lease(&l.name, &l.holder, now, secs(l.ttl), secs(l.leeway))
            .await;
        match attempt {
            Ok(LeaseAttempt::Held { epoch, expires_at }) => {
                let before = s.state().lease.replace((epoch, expires_at));
                if before.map(|b| b.0) != Some(epoch) {
                    tracing::info!(target: "oidfed::monitor", holder = %l.holder, epoch, "lease acquired");
                    s.publish(MonitorEvent::LeaseAcquired {
                        holder: l.holder.clone(),
                        epoch,
                    });
                }
                Ok(())
            }
            Ok(LeaseAttempt::Other(row)) => {
                self.lose_lease(format!("held by {}", row.holder));
                Err(MonitorError::NotLeader {
                    name: l.name.clone(),
                    holder: row.holder,
                    expires_at: row.expires_at,
                    me: l.holder.clone(),
                })
            }
            Err(e) => {
                // Keep believing in the lease only until its expiry minus the leeway.
                if !self.holds_lease() {
                    self.lose_lease(format!("renewal failed: {e}"));
                }
                Err(e.into())
            }
        }
    }

    /// Who holds the lease now, as the database says (`None` when no one does); see the
    /// [`LeaseInfo`] example.
    pub async fn lease_holder(&self) -> Result<Option<LeaseInfo>, MonitorError> {
        let s = &self.shared;
        let row = s.registry.store.lease(&s.lease.name).await?;
        Ok(row.map(|r| LeaseInfo {
            holder: r.holder,
            epoch: r.epoch,
            expires_at: r.expires_at,
        }))
    }

    /// Whether this replica holds the lease by its own clock (with the leeway taken off);
    /// see the [`Monitor::acquire_lease`](super::Monitor::acquire_lease) example.
    pub fn holds_lease(&self) -> bool {
        let s = &self.shared;
        let now = s.resolver.now();
        let leeway = secs(s.lease.leeway);
        s.state()
            .lease
            .is_some_and(|(_, exp)| now < exp.saturating_sub(leeway))
    }

    fn lose_lease(&self, reason: String) {
        let s = &self.shared;
        if s.state().lease.take().is_some() {
            tracing::warn!(target: "oidfed::monitor", holder = %s.lease.holder, %reason, "lease lost");
            s.publish(MonitorEvent::LeaseLost {
                holder: s.lease.holder.clone(),
                reason,
            });
        }
    }

    /// Checked before each write of a pass: the lease must still be held.
    pub(crate) fn ensure_lease(&self) -> Result<(), MonitorError> {
        if self.holds_lease() {
            return Ok(());
        }
        let s = &self.shared;
        self.lose_lease("expired during a pass".into());
        Err(MonitorError::NotLeader {
            name: s.lease.name.clone(),
            holder: String::new(),
            expires_at: 0,
            me: s.lease.holder.clone(),
        })
    }
}
