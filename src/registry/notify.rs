//! Every replica informed: a watcher follows the audit trail from a cursor and, for each new
//! entry, drops what this replica's resolver caches about the client (its records, its
//! configuration and its superior's statement about it) and publishes the typed events.
//!
//! How it learns that something was written:
//! * **PostgreSQL**: `LISTEN oidfed_registry`. A trigger on the audit table sends
//!   `NOTIFY oidfed_registry` with the entry's sequence number; PostgreSQL delivers it when
//!   the writing transaction commits (never for one that rolls back), so a notice never
//!   announces a half-written change. The watcher also polls every `fallback` in case the
//!   listening connection was lost (notices sent meanwhile are not replayed), and reconnects.
//! * **SQLite**: polling the change sequence (the trail's newest `seq`) every `poll`.
//!
//! Either way the watcher reads from its cursor, so a lost notice delays an event, never
//! loses it; and it reads in trail order, so every replica publishes the same events in
//! the same order.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use crate::cache::StatementKey;
use crate::entity_id::EntityId;
use crate::registry::Registry;
use crate::registry::audit::AuditEntry;
use crate::registry::error::RegistryError;
use crate::registry::events::{MonitorEvent, from_audit};
use crate::registry::monitor::MonitorError;
use crate::registry::store::AuditFilter;
use crate::resolver::{EntityType, Resolver};

/// The PostgreSQL notification channel the audit trigger notifies.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(super) const CHANNEL: &str = "oidfed_registry";
/// Entries read per query while catching up.
const BATCH: i64 = 500;

impl Resolver {
    /// Drops everything this resolver caches about client `client_id`: its records of
    /// every entity type, and every statement of its chain `path` (the configurations and
    /// the statements each superior makes about the one below): a superior that revoked an
    /// intermediate revokes every client under it, and no cached link may vouch for them.
    pub(crate) async fn forget_client(
        &self,
        client_id: &str,
        entity_type: Option<&EntityType>,
        path: &[EntityId],
    ) {
        match (path.first(), entity_type) {
            (Some(id), Some(t)) if id.as_str() == client_id => {
                // Records are keyed by the anchor-set generation too: drop every one.
                let (id, t) = (id.clone(), t.clone());
                let _ = self
                    .inner
                    .records
                    .invalidate_entries_if(move |k, _| k.0 == id && k.1 == t);
            }
            _ => {
                let id = client_id.to_string();
                let _ = self
                    .inner
                    .records
                    .invalidate_entries_if(move |k, _| k.0.as_str() == id);
            }
        }
        for (i, entity) in path.iter().enumerate() {
            self.inner
                .statements
                .invalidate(&StatementKey::configuration(entity))
                .await;
            if let Some(superior) = path.get(i + 1) {
                self.inner
                    .statements
                    .invalidate(&StatementKey::subordinate(superior, entity))
                    .await;
            }
        }
    }
}

/// Follows the trail for one replica.
pub(crate) struct Watcher {
    pub registry: Registry,
    pub resolver: Resolver,
    pub events: broadcast::Sender<MonitorEvent>,
    pub cursor: i64,
    pub poll: Duration,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub fallback: Duration,
}

impl Watcher {
    /// Reads and publishes everything after the cursor; returns how many entries.
    pub(crate) async fn catch_up(&mut self) -> Result<usize, RegistryError> {
        let mut n = 0;
        loop {
            let entries = self
                .registry
                .store
                .audit(AuditFilter::After(self.cursor), BATCH)
                .await?;
            let done = entries.len() < usize::try_from(BATCH).unwrap_or(usize::MAX);
            for e in entries {
                self.cursor = self.cursor.max(e.seq);
                n += 1;
                self.apply(e).await;
            }
            if done {
                return Ok(n);
            }
        }
    }

    async fn apply(&self, entry: AuditEntry) {
        if let Some(client) = entry.client_id.clone() {
            // The client's chain as the registry now holds it: the statements to drop.
            let (path, entity_type) = match self.registry.store.client(&client).await {
                Ok(Some(c)) => (
                    c.record().map(|r| r.path.clone()).unwrap_or_default(),
                    Some(c.entity_type().clone()),
                ),
                _ => (Vec::new(), None),
            };
            let path = if path.is_empty() {
                EntityId::parse_with(&client, true)
                    .map(|e| vec![e])
                    .unwrap_or_default()
            } else {
                path
            };
            self.resolver
                .forget_client(&client, entity_type.as_ref(), &path)
                .await;
        }
        for ev in from_audit(entry) {
            let _ = self.events.send(MonitorEvent::Client(ev));
        }
    }

    fn failed(&self, e: RegistryError) {
        let _ = self
            .events
            .send(MonitorEvent::Failed(Arc::new(MonitorError::Registry(e))));
    }

    /// Runs until `stop` turns true.
    pub(crate) async fn run(mut self, mut stop: watch::Receiver<bool>) {
        #[cfg(feature = "postgres")]
        if let Some(pool) = self.registry.store.pg_pool() {
            self.run_postgres(pool, &mut stop).await;
            return;
        }
        let mut failures = 0u32;
        while !*stop.borrow() {
            let wait = backoff(self.poll, failures);
            tokio::select! {
                _ = stop.changed() => break,
                _ = tokio::time::sleep(wait) => {}
            }
            let seq = match self.registry.store.change_sequence().await {
                Ok(s) => s,
                Err(e) => {
                    failures = failures.saturating_add(1);
                    self.failed(e);
                    continue;
                }
            };
            if seq > self.cursor {
                match self.catch_up().await {
                    Ok(_) => failures = 0,
                    Err(e) => {
                        failures = failures.saturating_add(1);
                        self.failed(e);
                    }
                }
            } else {
                failures = 0;
            }
        }
    }

    #[cfg(feature = "postgres")]
    async fn run_postgres(&mut self, pool: sqlx::PgPool, stop: &mut watch::Receiver<bool>) {
        use sqlx::postgres::PgListener;
        let mut failures = 0u32;
        let mut listener: Option<PgListener> = None;
        while !*stop.borrow() {
            if listener.is_none() {
                match PgListener::connect_with(&pool).await {
                    Ok(mut l) => match l.listen(CHANNEL).await {
                        Ok(()) => listener = Some(l),
                        Err(e) => self.failed(self.registry.store.err(e)),
                    },
                    Err(e) => self.failed(self.registry.store.err(e)),
                }
                // Whatever was committed while not listening is read from the cursor.
                match self.catch_up().await {
                    Ok(_) if listener.is_some() => failures = 0,
                    Ok(_) => failures = failures.saturating_add(1),
                    Err(e) => {
                        failures = failures.saturating_add(1);
                        self.failed(e);
                    }
                }
            }
            let wait = if listener.is_some() {
                self.fallback
            } else {
                backoff(self.poll, failures)
            };
            let woke = match listener.as_mut() {
                Some(l) => tokio::select! {
                    _ = stop.changed() => break,
                    r = tokio::time::timeout(wait, l.try_recv()) => r,
                },
                None => tokio::select! {
                    _ = stop.changed() => break,
                    _ = tokio::time::sleep(wait) => continue,
                },
            };
            match woke {
                // A notice, or the fallback poll: read from the cursor either way.
                Ok(Ok(Some(_))) | Err(_) => {}
                // The connection was lost: reconnect, then catch up.
                Ok(Ok(None)) | Ok(Err(_)) => {
                    listener = None;
                    continue;
                }
            }
            match self.catch_up().await {
                Ok(_) => failures = 0,
                Err(e) => {
                    failures = failures.saturating_add(1);
                    self.failed(e);
                }
            }
        }
        if let Some(mut l) = listener {
            let _ = l.unlisten_all().await;
        }
    }
}

/// `base` doubled per failure, at most 30 s.
fn backoff(base: Duration, failures: u32) -> Duration {
    base.saturating_mul(1u32 << failures.min(5))
        .min(Duration::from_secs(30).max(base))
}
