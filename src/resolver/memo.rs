//! The resolution memo: a warm `resolve()` or an unchanged re-resolution without redoing
//! the walk, the validation and the policy.
//!
//! A resolution is a function of the statements its walk obtained, the time and the
//! resolver's fixed configuration. When every one of those statements is still the very
//! same cached statement (pointer-equal: nothing was forgotten, refreshed or re-fetched),
//! the time has not gone backwards and the result has not expired, resolving again would
//! give the same result, so the remembered one is returned. What else a resolution can
//! depend on is excluded from the memo: a resolution with a failed path (failures are never
//! cached, so a retry might succeed), with trust marks (their status and expiry), or one
//! that refreshed. A record built from a memoised resolution is remembered with it when its
//! protocol keys came from the chain itself (inline `jwks`, or none): a `jwks_uri` or
//! `signed_jwks_uri` is fetched anew on every re-resolution.

use std::sync::{Arc, OnceLock};

use moka::future::Cache;

use super::{EntityType, ResolvedEntity};
use crate::cache::{StatementCache, StatementKey};
use crate::discovery::walk::Walk;
use crate::entity_id::EntityId;
use crate::record::ClientRecord;
use crate::statement::EntityStatement;

/// One remembered resolution.
pub(crate) struct Memoised {
    pub resolved: ResolvedEntity,
    inputs: Vec<(StatementKey, Arc<EntityStatement>)>,
    now: i64,
    /// The record built from this resolution, when its keys came from the chain.
    pub record: OnceLock<Arc<ClientRecord>>,
}

/// Remembered resolutions by (subject, entity type, anchor-set generation), bounded in
/// number: a change of the trust anchors or their keys makes every earlier one unusable.
#[derive(Clone)]
pub(crate) struct ResolutionMemo {
    inner: Cache<(EntityId, EntityType, u64), Arc<Memoised>>,
}

impl ResolutionMemo {
    /// A memo of at most `capacity` resolutions (0 disables it).
    pub(crate) fn new(capacity: u64) -> Self {
        Self {
            inner: Cache::builder().max_capacity(capacity).build(),
        }
    }

    /// The remembered resolution of `subject`, if it is still what resolving would give.
    pub(crate) async fn get(
        &self,
        subject: &EntityId,
        entity_type: &EntityType,
        now: i64,
        generation: u64,
        statements: &StatementCache,
    ) -> Option<Arc<Memoised>> {
        let key = (subject.clone(), entity_type.clone(), generation);
        let m = self.inner.get(&key).await?;
        let fresh = now >= m.now && now < m.resolved.expires_at();
        let mut same = fresh;
        for (k, s) in &m.inputs {
            if !same {
                break;
            }
            let cached = statements.get_fresh(k, now).await;
            crate::metrics::cache_lookup("statement", cached.is_some());
            same = cached.is_some_and(|c| Arc::ptr_eq(&c, s));
        }
        if same {
            Some(m)
        } else {
            self.inner.invalidate(&key).await;
            None
        }
    }

    /// The remembered resolution of `subject`, if `walk` (a refresh, or a sweep's walk)
    /// obtained exactly the statements it rests on: the very same parsed statements, which
    /// a refresh keeps when it fetched unchanged bytes. Validating them again would give
    /// the same result.
    pub(crate) async fn get_if_walked(
        &self,
        subject: &EntityId,
        entity_type: &EntityType,
        generation: u64,
        walk: &Walk,
    ) -> Option<Arc<Memoised>> {
        let m = self
            .fresh_at(subject, entity_type, generation, walk.now)
            .await?;
        let same = m
            .inputs
            .iter()
            .all(|(k, s)| walk.obtained_for(k).is_some_and(|got| Arc::ptr_eq(&got, s)));
        same.then_some(m)
    }

    /// The remembered resolution of `subject`, when `walk` (a refresh, or a sweep's walk)
    /// obtains again the very statements it rests on, asked for one by one: the subject's
    /// configuration first, then the other configurations, then the Subordinate Statements
    /// (each from the fetch endpoint of its issuer's configuration just obtained). It gives
    /// what [`ResolutionMemo::get_if_walked`] would after a whole walk, without walking;
    /// `None` at the first statement that differs or fails, the walk then going on from
    /// what this obtained (its memo).
    pub(crate) async fn recheck(
        &self,
        subject: &EntityId,
        entity_type: &EntityType,
        generation: u64,
        walk: &Walk,
    ) -> Option<Arc<Memoised>> {
        let m = self
            .fresh_at(subject, entity_type, generation, walk.now)
            .await?;
        let own = StatementKey::configuration(subject);
        let configurations = m.inputs.iter().filter(|(k, _)| k.issuer == k.subject);
        let (first, others): (Vec<_>, Vec<_>) = configurations.partition(|(k, _)| *k == own);
        for (k, s) in first.into_iter().chain(others) {
            let got = walk.entity_configuration(&k.subject).await.ok()?;
            if !Arc::ptr_eq(&got, s) {
                return None;
            }
        }
        for (k, s) in m.inputs.iter().filter(|(k, _)| k.issuer != k.subject) {
            let superior = walk.obtained_for(&StatementKey::configuration(&k.issuer))?;
            let got = walk
                .subordinate_statement(&superior, &k.subject)
                .await
                .ok()?;
            if !Arc::ptr_eq(&got, s) {
                return None;
            }
        }
        Some(m)
    }

    /// The remembered resolution of `subject`, when `now` is within its validity (not
    /// before it was made, before its expiry).
    async fn fresh_at(
        &self,
        subject: &EntityId,
        entity_type: &EntityType,
        generation: u64,
        now: i64,
    ) -> Option<Arc<Memoised>> {
        let key = (subject.clone(), entity_type.clone(), generation);
        let m = self.inner.get(&key).await?;
        (now >= m.now && now < m.resolved.expires_at()).then_some(m)
    }

    /// Remembers `resolved`, obtained at `now` from exactly `inputs`, when nothing outside
    /// them can change its outcome (see the module documentation).
    pub(crate) async fn insert(
        &self,
        resolved: &ResolvedEntity,
        inputs: Vec<(StatementKey, Arc<EntityStatement>)>,
        had_failed_paths: bool,
        now: i64,
        generation: u64,
    ) -> Option<Arc<Memoised>> {
        let marks = resolved
            .chain
            .subject_configuration()
            .is_some_and(|ec| !ec.trust_marks().is_empty());
        if had_failed_paths || marks || inputs.is_empty() {
            return None;
        }
        let m = Arc::new(Memoised {
            resolved: resolved.clone(),
            inputs,
            now,
            record: OnceLock::new(),
        });
        let key = (
            resolved.entity_id().clone(),
            resolved.entity_type().clone(),
            generation,
        );
        self.inner.insert(key, m.clone()).await;
        Some(m)
    }

    /// Forgets everything.
    pub(crate) fn clear(&self) {
        self.inner.invalidate_all();
    }
}
