//! Caches shared across resolutions (OpenID Federation 1.0 §10.4 and §11: a statement is
//! usable until its `exp`; the byte and lifetime bounds are hardening beyond the spec).
//!
//! Statements are cached by (issuer, subject), not by URL, until their own `exp` or a
//! configured cap, whichever is earlier. Entries are weighed by size so memory is bounded.
//! Freshness is judged with the resolver's injected clock on every read: moka's own timer
//! only reclaims memory, so nothing is ever served at or after its `exp`, even under a
//! fixed test clock.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::future::Cache;

use crate::entity_id::EntityId;
use crate::error::Error;
use crate::statement::EntityStatement;

/// Identifies a statement: its issuer and subject (equal for an Entity Configuration).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct StatementKey {
    /// `iss`.
    pub issuer: EntityId,
    /// `sub`.
    pub subject: EntityId,
}

impl StatementKey {
    /// The key of `id`'s Entity Configuration.
    pub(crate) fn configuration(id: &EntityId) -> Self {
        Self {
            issuer: id.clone(),
            subject: id.clone(),
        }
    }

    /// The key of the statement `issuer` makes about `subject`.
    pub(crate) fn subordinate(issuer: &EntityId, subject: &EntityId) -> Self {
        Self {
            issuer: issuer.clone(),
            subject: subject.clone(),
        }
    }
}

#[derive(Clone)]
struct Entry {
    statement: Arc<EntityStatement>,
    ttl: Duration,
}

struct EntryExpiry;

impl Expiry<StatementKey, Entry> for EntryExpiry {
    fn expire_after_create(&self, _: &StatementKey, v: &Entry, _: Instant) -> Option<Duration> {
        Some(v.ttl)
    }
    fn expire_after_update(
        &self,
        _: &StatementKey,
        v: &Entry,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(v.ttl)
    }
}

/// A bounded cache of parsed statements, shared by every resolution of one resolver. A
/// cached statement keeps its verification memo, so a warm resolution verifies nothing.
#[derive(Clone)]
pub(crate) struct StatementCache {
    inner: Cache<StatementKey, Entry>,
    max_ttl: i64,
}

impl StatementCache {
    /// A cache holding at most `max_bytes` of statements, each for at most `max_ttl` seconds.
    pub(crate) fn new(max_bytes: u64, max_ttl: i64) -> Self {
        let inner = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|k: &StatementKey, v: &Entry| {
                let size = v.statement.raw().len() * 3
                    + k.issuer.as_str().len()
                    + k.subject.as_str().len()
                    + 512;
                u32::try_from(size).unwrap_or(u32::MAX)
            })
            .expire_after(EntryExpiry)
            .build();
        Self { inner, max_ttl }
    }

    /// The statement for `key`, if held and still valid at `now` (strictly before `exp`).
    pub(crate) async fn get_fresh(
        &self,
        key: &StatementKey,
        now: i64,
    ) -> Option<Arc<EntityStatement>> {
        let e = self.inner.get(key).await?;
        if now < e.statement.expires_at() {
            Some(e.statement)
        } else {
            self.inner.invalidate(key).await;
            None
        }
    }

    fn ttl(&self, statement: &EntityStatement, now: i64) -> Duration {
        let secs = (statement.expires_at() - now).min(self.max_ttl).max(0);
        Duration::from_secs(u64::try_from(secs).unwrap_or(0))
    }

    /// Keeps `statement` until its `exp` (or the cap), judged from `now`.
    pub(crate) async fn insert(
        &self,
        key: StatementKey,
        statement: Arc<EntityStatement>,
        now: i64,
    ) {
        let ttl = self.ttl(&statement, now);
        if ttl.is_zero() {
            return;
        }
        self.inner.insert(key, Entry { statement, ttl }).await;
    }

    /// The fresh statement for `key`, or the result of `fetch`, computed once however many
    /// resolutions ask for the same key at the same time (single flight). Failures are
    /// returned to every waiter and never cached.
    pub(crate) async fn get_or_fetch<F>(
        &self,
        key: &StatementKey,
        now: i64,
        fetch: F,
    ) -> Result<Arc<EntityStatement>, Error>
    where
        F: Future<Output = Result<Arc<EntityStatement>, Error>>,
    {
        let cached = self.get_fresh(key, now).await;
        crate::metrics::cache_lookup("statement", cached.is_some());
        if let Some(s) = cached {
            return Ok(s);
        }
        let entry = self
            .inner
            .try_get_with(key.clone(), async {
                let statement = fetch.await?;
                let ttl = self.ttl(&statement, now);
                Ok::<_, Error>(Entry { statement, ttl })
            })
            .await
            .map_err(|e| (*e).clone())?;
        if entry.ttl.is_zero() {
            self.inner.invalidate(key).await;
        }
        Ok(entry.statement)
    }

    /// Drops the statement for `key`.
    pub(crate) async fn invalidate(&self, key: &StatementKey) {
        self.inner.invalidate(key).await;
    }

    /// Drops everything.
    pub(crate) fn clear(&self) {
        self.inner.invalidate_all();
    }
}
