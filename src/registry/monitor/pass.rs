//! One pass of the monitor: act on subordinate-events hints, then re-validate every client
//! that is due, with bounded concurrency, and count what it cost.
//!
//! Cost proportional to what changed: the pass's re-resolutions share one [`SweepMemo`] (each
//! distinct statement fetched once per pass) and run on a view of the resolver whose fetcher
//! answers every other repeated request of the pass (signed JWK Sets, trust mark status)
//! from memory and counts what reached the network; a statement whose bytes are unchanged
//! is not verified again (the resolver's memo of verified bytes). The signature checks
//! counted are exactly those the pass's own work made (statements, signed JWK Sets, trust
//! marks, subordinate events), whatever else the server resolves meanwhile.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::memo::PassFetcher;
use super::{Monitor, MonitorError};
use crate::jose::cost::count_signatures;
use crate::registry::events::MonitorEvent;
use crate::registry::model::{Actor, RegisteredClient, RegistrationModel, StatusKind};
use crate::registry::store::Touch;
use crate::registry::sweep::{Pending, Read};
use crate::registry::{ClientOutcome, SweepMemo, SweepOutcome};
use crate::resolver::Resolver;

/// Clients read per page.
const PAGE: i64 = 500;
/// Re-validations the pass's tasks finished, for the pass to settle.
type Finished = Arc<std::sync::Mutex<Vec<(String, Pending)>>>;

/// Clients one task re-validates, one after the other.
const PER_TASK: usize = 8;
/// Consecutive transient write failures after which a pass stops.
const DATABASE_DOWN_AFTER: usize = 3;

/// What one pass did and cost.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-pass_report.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// use std::time::Duration;
/// let monitor = registry.monitor(&resolver).max_staleness(Duration::from_secs(60)).build();
/// let first = monitor.pass().await.unwrap();
/// assert_eq!((first.clients, first.interrupted), (1, false));
/// assert!(first.next_due.is_some());
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct PassReport {
    /// When it started (resolver clock).
    pub started_at: i64,
    /// Registered clients looked at: federation clients (revoked ones are never
    /// re-validated), and when their turn came, dynamic clients (and expired manual ones).
    pub clients: usize,
    /// Of those, re-validated this pass (due, or named by a subordinate event).
    pub revalidated: usize,
    /// Re-validated with no change.
    pub unchanged: usize,
    /// Re-validated with changes (keys, metadata, organization, marks, chain).
    pub changed: usize,
    /// Now stale (a superior unreachable, the record still valid).
    pub stale: usize,
    /// Now suspended.
    pub suspended: usize,
    /// Revoked by this pass.
    pub revoked: usize,
    /// Back to active from stale or suspended.
    pub reinstated: usize,
    /// Outcomes that could not be written (database failure, another writer first): those
    /// clients keep their previous state and stay due.
    pub not_written: usize,
    /// Requests that reached the network (each distinct one at most once per pass).
    pub fetches: u64,
    /// Requests the pass's work made, including those answered from the pass's memo.
    pub requests: u64,
    /// Distinct statements fetched.
    pub statements: usize,
    /// Signature checks made (bytes not verified before).
    pub signature_checks: u64,
    /// New subordinate events acted on.
    pub subordinate_events: usize,
    /// The pass stopped early: the handle was stopped, or the lease was lost.
    pub interrupted: bool,
    /// When the next client is due (resolver clock), if any client is left to watch.
    pub next_due: Option<i64>,
    /// Wall time.
    #[serde(skip)]
    pub elapsed: Duration,
}

impl Resolver {
    /// The same resolver (caches, memo of verified bytes, anchors, limits) fetching through
    /// `fetcher`.
    pub(crate) fn with_fetcher(&self, fetcher: Arc<dyn crate::fetch::Fetcher>) -> Resolver {
        let mut inner = (*self.inner).clone();
        inner.fetcher = fetcher;
        Resolver {
            inner: Arc::new(inner),
        }
    }
}

impl Monitor {
    /// Runs one pass now, whether or not this replica holds the lease (an operator's or a
    /// test's explicit call; the background loop passes only while it holds it).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-pass.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// fed.remove_ss("org", "rp");
    /// let monitor = registry.monitor(&resolver).build();
    /// monitor.revalidate_soon(fed.id("rp").as_str());
    /// let report = monitor.pass().await.unwrap();
    /// assert_eq!((report.revalidated, report.revoked), (1, 1));
    /// assert!(report.fetches >= 1);
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn pass(&self) -> Result<PassReport, MonitorError> {
        self.pass_inner(false).await
    }

    pub(crate) async fn pass_inner(&self, leased: bool) -> Result<PassReport, MonitorError> {
        let s = self.shared.clone();
        let started = Instant::now();
        let now = s.resolver.now();
        let fetcher = Arc::new(PassFetcher::new(
            s.resolver.inner.fetcher.clone(),
            s.memo_entries,
        ));
        let resolver = s.resolver.with_fetcher(fetcher.clone());
        let checks = Arc::new(AtomicU64::new(0));
        let memo = SweepMemo::new();
        let mut report = PassReport {
            started_at: now,
            ..PassReport::default()
        };

        let permits = Arc::new(Semaphore::new(s.concurrency));
        let mut tasks = JoinSet::new();
        // Writes failing one after another for a transient reason: the database is down.
        // The pass stops rather than try every client; they stay due for the next one.
        let mut failing = 0usize;
        // Unchanged clients' one write (their validation time), committed a page at a time.
        let mut touches: Vec<Touch> = Vec::new();
        // What the tasks re-validated, settled by this loop.
        let finished: Finished = Arc::default();
        let hints = self.events_due(now);
        // Page by page: memory holds one page and the re-validations in flight.
        let mut after = String::new();
        'pages: loop {
            // Without subordinate events the records stay in the database: a client is
            // compared with its stored record by digest, and read whole only to be changed.
            let page = if hints {
                s.registry
                    .store
                    .clients_page(&after, PAGE)
                    .await
                    .map(|p| p.into_iter().map(|c| (c, Read::Whole)).collect::<Vec<_>>())
            } else {
                s.registry
                    .store
                    .clients_page_lazy(&after, PAGE)
                    .await
                    .map(|p| {
                        p.into_iter()
                            .map(|l| {
                                let read = Read::Lazy {
                                    digest: l.record_digest,
                                };
                                (l.client, read)
                            })
                            .collect()
                    })
            };
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    // Let the writes in flight finish (each is one transaction) first.
                    while let Some(done) = tasks.join_next().await {
                        self.settle_all(done, &finished, 0, &mut touches, &mut report);
                    }
                    self.flush(&mut touches, &mut report).await;
                    return Err(e.into());
                }
            };
            let Some((last, _)) = page.last() else { break };
            after = last.client_id.clone();
            let clients: Vec<(RegisteredClient, Read)> = page
                .into_iter()
                .filter(|(c, _)| {
                    !c.status().is_revoked()
                        && c.registration_model() == RegistrationModel::Federation
                })
                .collect();
            report.clients += clients.len();
            if hints {
                // A link shared with an earlier page is answered from the pass's memo.
                let whole: Vec<RegisteredClient> = clients.iter().map(|(c, _)| c.clone()).collect();
                report.subordinate_events +=
                    count_signatures(checks.clone(), self.poll_hints(&resolver, &whole)).await;
            }
            let (due, next_due) = self.split_due(clients, now);
            report.next_due = match (report.next_due, next_due) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            // A task re-validates a few clients one after the other: `concurrency` tasks
            // keep as many re-validations in flight as one task each would, at a fraction
            // of the hand-offs between threads.
            let mut due = due.into_iter().peekable();
            while due.peek().is_some() {
                if *s.stop.borrow() || failing >= DATABASE_DOWN_AFTER {
                    report.interrupted = true;
                    break 'pages;
                }
                if leased && self.renew_if_needed().await.is_err() {
                    report.interrupted = true;
                    break 'pages;
                }
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    break 'pages;
                };
                let chunk: Vec<(RegisteredClient, Read)> = due.by_ref().take(PER_TASK).collect();
                let (registry, resolver, memo, checks, stop) = (
                    s.registry.clone(),
                    resolver.clone(),
                    memo.clone(),
                    checks.clone(),
                    s.stop.subscribe(),
                );
                // Each result leaves the task as soon as it is there: a task that panics
                // loses only the client it was working on.
                let out = finished.clone();
                tasks.spawn(async move {
                    let _permit = permit;
                    for (c, read) in chunk {
                        // Stopped: the rest stay due for the next pass.
                        if *stop.borrow() {
                            return true;
                        }
                        let id = c.client_id().to_string();
                        let work =
                            registry.revalidate_pending(&resolver, c, read, &memo, Actor::Monitor);
                        let line = count_signatures(checks.clone(), work).await;
                        if let Ok(mut out) = out.lock() {
                            out.push((id, line));
                        }
                    }
                    false
                });
                while let Some(done) = tasks.try_join_next() {
                    failing = self.settle_all(done, &finished, failing, &mut touches, &mut report);
                }
                if touches.len() >= PAGE as usize {
                    failing = if self.flush(&mut touches, &mut report).await {
                        failing + 1
                    } else {
                        0
                    };
                }
            }
        }
        while let Some(done) = tasks.join_next().await {
            self.settle_all(done, &finished, 0, &mut touches, &mut report);
        }
        self.flush(&mut touches, &mut report).await;
        let staleness = i64::try_from(s.schedule.max_staleness.as_secs()).unwrap_or(i64::MAX);
        // Dynamic clients' organizations (and manual clients' expiry), with the pass's memo:
        // each organization resolved once, its statements shared with the federation
        // clients of the pass. Due every max_staleness, or at a stale client's retry.
        if !report.interrupted && now >= s.state().next_registrations_at {
            let mut next = now.saturating_add(staleness.max(1));
            match s.registry.sweep_registrations_with(&resolver, &memo).await {
                Ok(lines) => {
                    report.clients += lines.len();
                    for line in lines {
                        if let SweepOutcome::Stale { retry_at, .. } = &line.outcome {
                            next = next.min(*retry_at);
                        }
                        self.count(Ok((line.client_id.clone(), line)), &mut report);
                    }
                }
                Err(e) => {
                    next = now.saturating_add(s.registry.options.retry_after.max(1));
                    match e {
                        crate::Error::Registry(r) => s.failed(MonitorError::Registry(*r)),
                        other => tracing::warn!(target: "oidfed::monitor", error = %other,
                            "the dynamic clients' sweep failed"),
                    }
                }
            }
            s.state().next_registrations_at = next;
        }
        {
            let mut st = s.state();
            // No client yet: one admitted from now on is due max_staleness (less its jitter)
            // after its admission at the earliest.
            let jitter = i64::try_from(s.schedule.jitter.as_secs()).unwrap_or(0);
            let idle_until = now.saturating_add(staleness.saturating_sub(jitter).max(1));
            let mut next = report.next_due.unwrap_or(idle_until);
            if s.subordinate_events.is_some() {
                next = next.min(st.next_events_poll);
            }
            next = next.min(st.next_registrations_at);
            if report.interrupted {
                next = now;
            }
            st.next_pass_at = next;
        }
        report.fetches = fetcher.fetches();
        report.requests = fetcher.requests();
        report.statements = memo.len();
        report.signature_checks = checks.load(std::sync::atomic::Ordering::Relaxed);
        report.elapsed = started.elapsed();
        tracing::info!(
            target: "oidfed::monitor",
            clients = report.clients,
            revalidated = report.revalidated,
            changed = report.changed,
            stale = report.stale,
            suspended = report.suspended,
            revoked = report.revoked,
            fetches = report.fetches,
            signature_checks = report.signature_checks,
            "pass done"
        );
        s.publish(MonitorEvent::PassCompleted(Arc::new(report.clone())));
        Ok(report)
    }

    /// Settles what one task re-validated (see [`Monitor::settle`]); returns the count of
    /// consecutive transient write failures, from `failing`.
    fn settle_all(
        &self,
        done: Result<bool, tokio::task::JoinError>,
        finished: &Finished,
        mut failing: usize,
        touches: &mut Vec<Touch>,
        report: &mut PassReport,
    ) -> usize {
        match done {
            Ok(stopped) => report.interrupted |= stopped,
            Err(e) => {
                self.settle(Err(e), touches, report);
            }
        }
        let lines = match finished.lock() {
            Ok(mut f) => std::mem::take(&mut *f),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        for line in lines {
            failing = match self.settle(Ok(line), touches, report) {
                Some(true) => failing + 1,
                Some(false) => 0,
                None => failing,
            };
        }
        failing
    }

    /// Counts a finished re-validation, or keeps its touch for [`Monitor::flush`]; `None`
    /// for a touch, else whether it could not be written for a transient reason.
    fn settle(
        &self,
        done: Result<(String, Pending), tokio::task::JoinError>,
        touches: &mut Vec<Touch>,
        report: &mut PassReport,
    ) -> Option<bool> {
        match done {
            Ok((_, Pending::Touch(t))) => {
                touches.push(t);
                None
            }
            Ok((id, Pending::Done(line))) => Some(self.count(Ok((id, line)), report)),
            Err(e) => Some(self.count(Err(e), report)),
        }
    }

    /// Commits the kept touches in one transaction and counts them; true when the database
    /// failed (a conflict with another writer is not a failure of the database).
    async fn flush(&self, touches: &mut Vec<Touch>, report: &mut PassReport) -> bool {
        if touches.is_empty() {
            return false;
        }
        let lines = self
            .shared
            .registry
            .commit_touches(std::mem::take(touches))
            .await;
        let mut transient = false;
        for line in lines {
            transient |= self.count(Ok((line.client_id.clone(), line)), report);
        }
        transient
    }

    /// Counts one outcome; true when it could not be written because the database failed.
    fn count(
        &self,
        done: Result<(String, ClientOutcome), tokio::task::JoinError>,
        report: &mut PassReport,
    ) -> bool {
        let now = report.started_at;
        let s = &self.shared;
        let line = match done {
            Ok((_, line)) => line,
            Err(e) => {
                report.not_written += 1;
                s.failed(MonitorError::Task {
                    client_id: String::new(),
                    detail: e.to_string(),
                });
                return false;
            }
        };
        report.revalidated += 1;
        let mut st = s.state();
        st.forced.remove(&line.client_id);
        match &line.outcome {
            SweepOutcome::Unchanged | SweepOutcome::Changed { .. } => {
                st.failures.remove(&line.client_id);
                if matches!(line.previous, StatusKind::Stale | StatusKind::Suspended) {
                    report.reinstated += 1;
                }
                if matches!(line.outcome, SweepOutcome::Changed { .. }) {
                    report.changed += 1;
                } else {
                    report.unchanged += 1;
                }
            }
            SweepOutcome::Stale { .. } | SweepOutcome::Suspended { .. } => {
                let f = st.failures.entry(line.client_id.clone()).or_default();
                *f = (f.0.saturating_add(1), now);
                if matches!(line.outcome, SweepOutcome::Stale { .. }) {
                    report.stale += 1;
                } else {
                    report.suspended += 1;
                }
            }
            SweepOutcome::Revoked { .. } => {
                st.failures.remove(&line.client_id);
                report.revoked += 1;
            }
            SweepOutcome::NotWritten { error } => {
                report.not_written += 1;
                drop(st);
                s.failed(MonitorError::NotWritten {
                    client_id: line.client_id.clone(),
                    error: Box::new(error.clone()),
                });
                return database_down(error);
            }
        }
        false
    }

    /// The clients due at `now` (forced ones first) and when the next of the others is.
    fn split_due(
        &self,
        clients: Vec<(RegisteredClient, Read)>,
        now: i64,
    ) -> (Vec<(RegisteredClient, Read)>, Option<i64>) {
        let s = &self.shared;
        let st = s.state();
        let mut due = Vec::new();
        let mut next: Option<i64> = None;
        for (c, read) in clients {
            // The record's expiry, as stored beside it (a lazy read has no record).
            let expires = c.trust_expires_at();
            // After transient failures the back-off decides (capped at the record's expiry,
            // so a suspension is recorded on time); a replica that just took over has no
            // count and uses the retry time the registry recorded.
            let retry = match st.failures.get(c.client_id()) {
                Some(&(n, last_try)) if n > 0 => Some(s.schedule.retry_at(last_try, n, expires)),
                _ => c.status().retry_at,
            };
            let at = s
                .schedule
                .due(c.client_id(), c.last_validated(), expires, retry);
            if st.forced.contains(c.client_id()) || at <= now {
                due.push((c, read));
            } else {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        due.sort_by_key(|(c, _)| !st.forced.contains(c.client_id()));
        (due, next)
    }

    async fn renew_if_needed(&self) -> Result<(), MonitorError> {
        let s = &self.shared;
        let now = s.resolver.now();
        let renew_at = s.state().lease.map(|(_, exp)| {
            exp.saturating_sub(secs(s.lease.ttl))
                .saturating_add(secs(s.lease.renew_every))
        });
        match renew_at {
            Some(at) if now < at => self.ensure_lease(),
            _ => self.acquire_lease().await,
        }
    }
}

/// A failure of the database itself (not another writer coming first): what stops a pass
/// after [`DATABASE_DOWN_AFTER`] in a row.
fn database_down(error: &crate::Error) -> bool {
    matches!(error, crate::Error::Registry(r)
        if matches!(**r, crate::registry::RegistryError::Database { transient: true, .. }))
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
