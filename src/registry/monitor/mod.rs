//! The trust monitor: every registered client re-validated within a bound the operator sets
//! (`max_staleness`), cheaply, by one replica of the fleet at a time, with every replica
//! told of every change within seconds.
//!
//! ```text
//!  every replica: registry.monitor(&resolver).start()
//!        │
//!        ├─ watcher (every replica): audit trail from a cursor ─► drop cached records ─► events
//!        │     woken by PostgreSQL NOTIFY / SQLite change-sequence polling
//!        └─ sweeper (the lease holder only): pass = subordinate-events hints
//!              + re-validate each due client (one fetch per distinct statement,
//!                signature checks only for bytes not seen before) ─► registry writes
//! ```
//!
//! OpenID Federation has no revocation protocol: short `exp` values and timely
//! re-validation are the mechanism (§10). The time from a partner leaving the federation to
//! every replica refusing its clients is at most `max_staleness` + one pass + the watcher's
//! notice delay — or one subordinate-events poll interval when the partner's superior
//! publishes a `federation_subordinate_events_endpoint`.

mod hints;
mod lease;
mod memo;
mod pass;
mod schedule;

pub use lease::{LeaseInfo, LeaseSettings};
pub use pass::PassReport;
pub use schedule::Schedule;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::registry::Registry;
use crate::registry::error::RegistryError;
use crate::registry::events::MonitorEvent;
use crate::registry::notify::Watcher;
use crate::registry::subordinate_events::SubordinateEventsError;
use crate::resolver::Resolver;

/// Why the monitor could not do something. The monitor never stops on one: it publishes
/// [`MonitorEvent::Failed`] and tries again (with back-off).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-monitor_error.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// use std::time::Duration;
/// use oidfed::registry::monitor::{LeaseSettings, MonitorError};
/// let lease = |holder| LeaseSettings::new(holder, Duration::from_secs(30), Duration::from_secs(1));
/// let a = registry.monitor(&resolver).lease(lease("replica-a")).build();
/// let b = registry.monitor(&resolver).lease(lease("replica-b")).build();
/// a.acquire_lease().await.unwrap();
/// let e = b.acquire_lease().await.unwrap_err();
/// assert!(matches!(e, MonitorError::NotLeader { .. }));
/// assert_eq!(b.lease_holder().await.unwrap().unwrap().holder, "replica-a");
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum MonitorError {
    /// The registry's database failed (unreachable, busy…). Nothing was half-written:
    /// every registry write is one transaction.
    #[error("monitor: {0}")]
    Registry(#[from] RegistryError),
    /// A superior's subordinate events endpoint could not be used (the schedule still
    /// applies).
    #[error("monitor: {0}")]
    SubordinateEvents(#[from] SubordinateEventsError),
    /// This replica does not hold the sweeper's lease (another does, or renewal failed):
    /// the pass was not run, or stopped before writing more.
    #[error(
        "monitor: the lease {name:?} is held by {holder:?} (until {expires_at}), not by {me:?}"
    )]
    NotLeader {
        /// The lease.
        name: String,
        /// Who holds it.
        holder: String,
        /// Until when, by the holder's clock.
        expires_at: i64,
        /// This replica.
        me: String,
    },
    /// A client's re-validation outcome could not be written (the database failed, or
    /// another writer changed the client first): it keeps its previous state and stays due.
    #[error("monitor: the outcome for {client_id} was not written: {error}")]
    NotWritten {
        /// The client.
        client_id: String,
        /// Why.
        error: Box<crate::Error>,
    },
    /// A re-validation task ended abnormally (a bug): reported, the pass carries on.
    #[error("monitor: re-validating {client_id} ended abnormally: {detail}")]
    Task {
        /// The client.
        client_id: String,
        /// What the runtime said.
        detail: String,
    },
}

/// Configures a monitor; from [`Registry::monitor`].
///
/// Every setter is shown here (each one's default is on [`Registry::monitor`]):
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-monitor_builder.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// use std::time::Duration;
/// use oidfed::registry::monitor::LeaseSettings;
/// let monitor = registry
///     .monitor(&resolver)
///     .max_staleness(Duration::from_secs(600))
///     .refresh_ahead(Duration::from_secs(120))
///     .jitter(Duration::from_secs(30))
///     .concurrency(4)
///     .backoff(Duration::from_secs(10), Duration::from_secs(300))
///     .lease(LeaseSettings::new("replica-1", Duration::from_secs(30), Duration::from_secs(2)))
///     .sweeper(true)
///     .subordinate_events(None)
///     .watch_poll(Duration::from_millis(200), Duration::from_secs(5))
///     .idle(Duration::from_secs(1))
///     .event_capacity(64)
///     .build();
/// assert_eq!(monitor.holder(), "replica-1");
/// assert_eq!(monitor.pass().await.unwrap().clients, 1);
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[must_use]
pub struct MonitorBuilder {
    registry: Registry,
    resolver: Resolver,
    schedule: Schedule,
    concurrency: usize,
    lease: LeaseSettings,
    sweeper: bool,
    subordinate_events: Option<Duration>,
    watch_poll: Duration,
    listen_fallback: Duration,
    idle: Duration,
    capacity: usize,
    memo_entries: usize,
}

impl Registry {
    /// A monitor of this registry, re-validating through `resolver` (whose clock it uses).
    /// Run the same on every replica: the lease decides which one sweeps; all of them
    /// follow the changes.
    ///
    /// Defaults, and why:
    /// * `max_staleness` 15 minutes: the bound on how long a departed partner's clients stay
    ///   trusted. Statement lifetimes in federations are hours to a day; 15 minutes keeps the
    ///   window a small fraction of that, while a pass over N clients costs about N fetches
    ///   (one per distinct statement), spread by the jitter: 10,000 clients ≈ 11 requests
    ///   per second across the federation's superiors.
    /// * `refresh_ahead` 5 minutes before a record's expiry, `jitter` 90 s (10 %).
    /// * back-off 30 s doubling to a cap of 15 minutes for unreachable superiors, never past
    ///   a record's expiry (so a suspension is recorded on time).
    /// * `concurrency` 16 re-validations at once.
    /// * lease: 30 s, renewed every 10 s, 5 s clock-skew leeway; a dead sweeper is replaced
    ///   within 35 s plus one idle wait.
    /// * subordinate events polled every 60 s where a superior publishes the endpoint.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-monitor.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// let monitor = registry.monitor(&resolver).build();
    /// let report = monitor.pass().await.unwrap();
    /// assert_eq!((report.clients, report.revoked), (1, 0));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub fn monitor(&self, resolver: &Resolver) -> MonitorBuilder {
        MonitorBuilder {
            registry: self.clone(),
            resolver: resolver.clone(),
            schedule: Schedule::default(),
            concurrency: 16,
            lease: LeaseSettings::default(),
            sweeper: true,
            subordinate_events: Some(Duration::from_secs(60)),
            watch_poll: Duration::from_secs(1),
            listen_fallback: Duration::from_secs(5),
            idle: Duration::from_secs(5),
            capacity: 1024,
            memo_entries: 200_000,
        }
    }
}

impl MonitorBuilder {
    /// Longest time a client goes without re-validation (default 15 minutes).
    ///
    /// See the [`MonitorBuilder`] example.
    pub fn max_staleness(mut self, d: Duration) -> Self {
        self.schedule.max_staleness = d;
        self
    }

    /// Re-validate this long before a record expires (default 5 minutes).
    ///
    /// See the [`MonitorBuilder`] example.
    pub fn refresh_ahead(mut self, d: Duration) -> Self {
        self.schedule.refresh_ahead = d;
        self
    }

    /// Spread re-validations up to this much ahead of `max_staleness` (default 90 s).
    ///
    /// See the [`MonitorBuilder`] example.
    pub fn jitter(mut self, d: Duration) -> Self {
        self.schedule.jitter = d;
        self
    }

    /// Re-validations run at once (default 16, at least 1).
    ///
    /// See the [`MonitorBuilder`] example.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Retry delay after a transient failure, doubling up to `cap` (default 30 s, 15 min).
    ///
    /// See the [`MonitorBuilder`] example.
    pub fn backoff(mut self, first: Duration, cap: Duration) -> Self {
        self.schedule.backoff = first;
        self.schedule.backoff_cap = cap.max(first);
        self
    }

    /// The sweeper's lease (name, duration, renewal, clock-skew leeway, holder id).
    ///
    /// See the [`MonitorBuilder`] example.
    pub fn lease(mut self, lease: LeaseSettings) -> Self {
        self.lease = lease;
        self
    }

    /// Whether this replica competes for the lease and sweeps (default true); false makes
    /// it follow the changes only.
    ///
    /// See the [`MonitorBuilder`] example.
    pub fn sweeper(mut self, on: bool) -> Self {
        self.sweeper = on;
        self
    }

    /// How often superiors' subordinate events endpoints are polled (default 60 s); `None`
    /// turns polling off.
    ///
    /// See the [`MonitorBuilder`] example.
    pub fn subordinate_events(mut self, every: Option<Duration>) -> Self {
        self.subordinate_events = every;
        self
    }

    /// How often SQLite's change sequence is polled (default 1 s; PostgreSQL is notified,
    /// and polls every `fallback`, default 5 s, in case a notice was lost).
    ///
    /// See the [`MonitorBuilder`] example.
    pub fn watch_poll(mut self, poll: Duration, fallback: Duration) -> Self {
        self.watch_poll = poll.max(Duration::from_millis(10));
        self.listen_fallback = fallback.max(self.watch_poll);
        self
    }

    /// Longest sleep of the sweeper between two looks at what is due (default 5 s).
    ///
    /// See the [`MonitorBuilder`] example.
    pub fn idle(mut self, d: Duration) -> Self {
        self.idle = d.max(Duration::from_millis(10));
        self
    }

    /// Events buffered per subscriber before a slow one starts missing them (default 1024;
    /// a subscriber that lags is told how many it missed by the broadcast receiver).
    ///
    /// See the [`MonitorBuilder`] example.
    pub fn event_capacity(mut self, n: usize) -> Self {
        self.capacity = n.max(1);
        self
    }

    /// The monitor, for explicit passes ([`Monitor::pass`]); nothing runs in the background.
    ///
    /// See the [`MonitorBuilder`] example.
    pub fn build(self) -> Monitor {
        let (events, _) = broadcast::channel(self.capacity);
        let (stop, _) = watch::channel(false);
        Monitor {
            shared: Arc::new(Shared {
                registry: self.registry,
                resolver: self.resolver,
                schedule: self.schedule,
                concurrency: self.concurrency,
                lease: self.lease,
                sweeper: self.sweeper,
                subordinate_events: self.subordinate_events,
                watch_poll: self.watch_poll,
                listen_fallback: self.listen_fallback,
                idle: self.idle,
                memo_entries: self.memo_entries,
                events,
                stop,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// Starts the watcher and (when a sweeper) the sweeping loop in the background; see
    /// [`Monitor::start`].
    pub async fn start(self) -> Result<MonitorHandle, MonitorError> {
        self.build().start().await
    }
}

/// Mutable state of one replica's monitor.
#[derive(Default)]
pub(crate) struct State {
    /// Consecutive transient failures per client and when the last one was (for the
    /// back-off).
    pub failures: HashMap<String, (u32, i64)>,
    /// Clients to re-validate at the next pass whatever their schedule.
    pub forced: HashSet<String>,
    /// Subordinate events already acted on: (issuer, subject, iat, event).
    pub seen: HashSet<(String, String, i64, String)>,
    /// When the subordinate events endpoints are next polled (resolver clock).
    pub next_events_poll: i64,
    /// The lease as this replica holds it: (epoch, expires_at).
    pub lease: Option<(i64, i64)>,
    /// When the background loop passes next (resolver clock): the earliest due client or
    /// subordinate events poll.
    pub next_pass_at: i64,
    /// When a pass next re-validates the dynamic clients' organizations and expires manual
    /// clients (resolver clock): `max_staleness` after the last time, or a stale dynamic
    /// client's retry, whichever is first.
    pub next_registrations_at: i64,
}

pub(crate) struct Shared {
    pub registry: Registry,
    pub resolver: Resolver,
    pub schedule: Schedule,
    pub concurrency: usize,
    pub lease: LeaseSettings,
    pub sweeper: bool,
    pub subordinate_events: Option<Duration>,
    pub watch_poll: Duration,
    pub listen_fallback: Duration,
    pub idle: Duration,
    pub memo_entries: usize,
    pub events: broadcast::Sender<MonitorEvent>,
    /// Turns true when the handle is stopped.
    pub stop: watch::Sender<bool>,
    pub state: Mutex<State>,
}

impl Shared {
    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub(crate) fn publish(&self, e: MonitorEvent) {
        let _ = self.events.send(e);
    }

    pub(crate) fn failed(&self, e: MonitorError) {
        tracing::warn!(target: "oidfed::monitor", error = %e, "monitor failure");
        self.publish(MonitorEvent::Failed(Arc::new(e)));
    }
}

/// A configured monitor. Cheap to clone.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-monitor_struct.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// fed.remove_ss("org", "rp");
/// let monitor = registry.monitor(&resolver).build();
/// let mut events = monitor.subscribe();
/// monitor.revalidate_soon(fed.id("rp").as_str()); // due now, whatever its schedule
/// let report = monitor.pass().await.unwrap();
/// assert_eq!(report.revoked, 1);
/// assert!(events.try_recv().is_ok()); // the pass published what it did
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Clone)]
pub struct Monitor {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("holder", &self.shared.lease.holder)
            .field("schedule", &self.shared.schedule)
            .finish()
    }
}

impl Monitor {
    /// A receiver of this replica's events (see [`MonitorEvent`]); see the [`Monitor`]
    /// example.
    pub fn subscribe(&self) -> broadcast::Receiver<MonitorEvent> {
        self.shared.events.subscribe()
    }

    /// This replica's holder id; see the [`MonitorBuilder`] example.
    pub fn holder(&self) -> &str {
        &self.shared.lease.holder
    }

    /// Starts the watcher and (when a sweeper) the sweeping loop in the background. The
    /// watcher begins at the audit trail's current end: events from now on. Subscribe
    /// before starting to see the first events (the lease won at once, the first pass).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-monitor_start.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// use std::time::Duration;
    /// use oidfed::registry::events::{ClientEventKind, MonitorEvent};
    /// let handle = registry.monitor(&resolver)
    ///     .watch_poll(Duration::from_millis(20), Duration::from_millis(100))
    ///     .start().await.unwrap();
    /// let mut events = handle.subscribe();
    /// registry.offboard_client(&fed.id("rp"), "contract ended").await.unwrap();
    /// let revoked = loop {
    ///     match tokio::time::timeout(Duration::from_secs(30), events.recv()).await.unwrap().unwrap() {
    ///         MonitorEvent::Client(e) => break e,
    ///         _ => continue,
    ///     }
    /// };
    /// assert_eq!((revoked.kind, revoked.client_id.as_str()), (ClientEventKind::Revoked, fed.id("rp").as_str()));
    /// handle.stop().await;
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn start(self) -> Result<MonitorHandle, MonitorError> {
        let s = &self.shared;
        let cursor = s.registry.store.change_sequence().await?;
        let stop_rx = s.stop.subscribe();
        let watcher = Watcher {
            registry: s.registry.clone(),
            resolver: s.resolver.clone(),
            events: s.events.clone(),
            cursor,
            poll: s.watch_poll,
            fallback: s.listen_fallback,
        };
        let mut tasks = vec![tokio::spawn(watcher.run(stop_rx.clone()))];
        if s.sweeper {
            tasks.push(tokio::spawn(self.clone().run(stop_rx)));
        }
        Ok(MonitorHandle {
            monitor: self,
            tasks,
        })
    }

    /// Re-validates `client_id` at the next pass whatever its schedule; see the [`Monitor`]
    /// example.
    pub fn revalidate_soon(&self, client_id: &str) {
        self.shared.state().forced.insert(client_id.to_string());
    }

    /// The sweeping loop: hold the lease, pass, sleep until something is due.
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let s = self.shared.clone();
        let mut failures = 0u32;
        while !*stop.borrow() {
            // A look costs one lease renewal; a pass happens only when something is due.
            let wait = match self.lead_and_pass().await {
                Ok(_) => {
                    failures = 0;
                    s.idle.min(s.lease.renew_every)
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    s.failed(e);
                    s.idle
                        .saturating_mul(1u32 << failures.min(4))
                        .min(s.lease.renew_every)
                }
            };
            tokio::select! {
                _ = stop.changed() => break,
                _ = tokio::time::sleep(wait.max(Duration::from_millis(10))) => {}
            }
        }
        if s.state().lease.take().is_some() {
            let _ = s
                .registry
                .store
                .release_lease(&s.lease.name, &s.lease.holder)
                .await;
        }
    }

    /// One turn of the loop: renew the lease; pass when a client, a forced re-validation
    /// or a subordinate events poll is due. `None` when no pass ran.
    async fn lead_and_pass(&self) -> Result<Option<PassReport>, MonitorError> {
        match self.acquire_lease().await {
            Ok(()) => {}
            Err(MonitorError::NotLeader { .. }) => return Ok(None),
            Err(e) => return Err(e),
        }
        let now = self.shared.resolver.now();
        let due = {
            let st = self.shared.state();
            now >= st.next_pass_at || !st.forced.is_empty()
        };
        if !due {
            return Ok(None);
        }
        self.pass_inner(true).await.map(Some)
    }
}

/// A running monitor; [`MonitorHandle::stop`] ends it cleanly.
///
/// See the [`Monitor::start`] example.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-monitor_handle.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// let handle = registry.monitor(&resolver).start().await.unwrap();
/// let _events = handle.subscribe();
/// assert!(!handle.monitor().holder().is_empty());
/// handle.stop().await;
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug)]
pub struct MonitorHandle {
    monitor: Monitor,
    tasks: Vec<JoinHandle<()>>,
}

impl MonitorHandle {
    /// The monitor (for [`Monitor::subscribe`], [`Monitor::revalidate_soon`]…); see the
    /// [`Monitor::start`] example.
    pub fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    /// A receiver of this replica's events; see the [`Monitor::start`] example.
    pub fn subscribe(&self) -> broadcast::Receiver<MonitorEvent> {
        self.monitor.subscribe()
    }

    /// Stops the watcher and the sweeper, lets a pass in progress finish its current
    /// client writes, and gives the lease up so another replica takes over at once.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-monitor_stop.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// let handle = registry.monitor(&resolver).start().await.unwrap();
    /// let monitor = handle.monitor().clone();
    /// handle.stop().await;
    /// // The lease is given up at once: no one holds it.
    /// assert!(monitor.lease_holder().await.unwrap().is_none());
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn stop(self) {
        self.monitor.shared.stop.send_replace(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
