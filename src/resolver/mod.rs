//! The [`Resolver`]: entity identifier in, validated and policy-applied trust chain out
//! ([`Resolver::resolve`]), or a durable, organization-bound [`ClientRecord`]
//! ([`Resolver::record`], [`Resolver::reresolve`]).

mod builder;
mod marks;
mod memo;
mod records;
mod resolved;
mod sweep;

pub use builder::{Limits, ResolverBuilder};
pub use records::{Reresolution, ReresolveOptions, Stale};
pub use resolved::{EntityType, ResolvedEntity};
pub use sweep::SweepMemo;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;
use tokio::time::Instant;

use crate::cache::StatementCache;
use crate::chain::choose::sort_chains;
use crate::chain::{TrustAnchor, TrustChain, ValidationContext, validate_chain};
use crate::clock::Clock;
use crate::discovery::{Walk, WalkLimits};
use crate::entity_id::EntityId;
use crate::error::{Error, Limit, PathAttempt};
use crate::fetch::Fetcher;
use crate::policy::OperatorRegistry;
use crate::record::{ClientRecord, OrganizationRule};
use crate::statement::{EntityStatement, StatementRules};
use crate::trust_mark::StatusCheck;

#[derive(Clone)]
pub(crate) struct Inner {
    pub required_marks: Vec<String>,
    pub mark_status: StatusCheck,
    pub organization_rule: OrganizationRule,
    pub require_asserted_organization: bool,
    pub records: moka::future::Cache<(EntityId, EntityType, u64), Arc<ClientRecord>>,
    pub anchors: crate::anchors::TrustAnchorsHandle,
    pub fetcher: Arc<dyn Fetcher>,
    pub clock: Arc<dyn Clock>,
    pub rules: Arc<StatementRules>,
    pub operators: OperatorRegistry,
    pub limits: Limits,
    /// Turns among concurrent resolutions (`max_concurrent_resolutions`).
    pub resolutions: Arc<tokio::sync::Semaphore>,
    pub skew: i64,
    pub stop_at_first_anchor: bool,
    pub statements: StatementCache,
    pub verified: Arc<crate::statement::verified::VerifiedMemo>,
    pub memo: memo::ResolutionMemo,
    pub client_keys: crate::server::client_keys::ClientKeyCache,
}

/// What the walk and its validation found: the valid chains, the paths that failed, and the
/// superiors' configurations met on the way.
type FoundChains = (
    Vec<TrustChain>,
    Vec<PathAttempt>,
    HashMap<EntityId, Arc<EntityStatement>>,
);

/// Resolves and validates OpenID Federation trust chains. Cheap to clone (shared state);
/// one resolver serves a whole server.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use oidfed::testing::FederationBuilder;
/// use oidfed::{EntityType, Resolver};
///
/// let fed = FederationBuilder::new("https://fed.example")
///     .anchor("ta")
///     .intermediate("org", &["ta"])
///     .leaf("rp", &["org"])
///     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
///     .build();
/// let resolver = Resolver::builder()
///     .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
///     .fetcher(fed.fetcher())
///     .build()
///     .unwrap();
/// let rp = resolver.resolve(&fed.id("rp"), &EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// assert_eq!(rp.trust_anchor(), &fed.id("ta"));
/// assert_eq!(rp.metadata()["client_name"], "RP");
/// # });
/// ```
#[derive(Clone)]
pub struct Resolver {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field(
                "anchors",
                &self
                    .inner
                    .anchors
                    .snapshot()
                    .ids()
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("limits", &self.inner.limits)
            .finish()
    }
}

impl Resolver {
    /// A builder with safe defaults.
    pub fn builder() -> ResolverBuilder {
        ResolverBuilder::default()
    }

    /// The Trust Anchors configured now, in order of preference (a snapshot: see
    /// [`Resolver::trust_anchors_handle`] to change them).
    pub fn trust_anchors(&self) -> Arc<crate::anchors::AnchorSet> {
        self.inner.anchors.snapshot()
    }

    /// The current time by the resolver's clock.
    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    /// Parses `id` as an Entity Identifier with this resolver's scheme rules.
    pub fn entity_id(&self, id: &str) -> Result<EntityId, Error> {
        EntityId::parse_with(id, self.inner.rules.allow_http).map_err(|source| Error::EntityId {
            value: id.to_string(),
            source,
        })
    }

    /// Resolves `subject` for `entity_type`: discovers every chain to a configured anchor,
    /// validates each, picks the best one that has metadata of that type.
    pub async fn resolve(
        &self,
        subject: &EntityId,
        entity_type: &EntityType,
    ) -> Result<ResolvedEntity, Error> {
        if subject.is_http() && !self.inner.rules.allow_http {
            return Err(Error::EntityId {
                value: subject.to_string(),
                source: crate::EntityIdError::Scheme("http".into()),
            });
        }
        let started = std::time::Instant::now();
        let result = crate::metrics::resolution(
            subject,
            entity_type,
            self.resolve_inner(subject, entity_type),
        )
        .await;
        match &result {
            Ok(r) => tracing::info!(
                target: "oidfed::audit",
                action = "resolve",
                subject = %subject,
                entity_type = %entity_type,
                trust_anchor = %r.trust_anchor(),
                path = ?r.chain().path().iter().map(EntityId::as_str).collect::<Vec<_>>(),
                expires_at = r.expires_at(),
                deviations = ?r.deviations().iter().map(ToString::to_string).collect::<Vec<_>>(),
                duration_us = started.elapsed().as_micros() as u64,
                "resolved"
            ),
            Err(e) => tracing::info!(
                target: "oidfed::audit",
                action = "resolve",
                subject = %subject,
                entity_type = %entity_type,
                transient = e.is_transient(),
                code = e.spec_code(),
                error = %e,
                duration_us = started.elapsed().as_micros() as u64,
                "resolution failed"
            ),
        }
        result
    }

    pub(crate) async fn resolve_inner(
        &self,
        subject: &EntityId,
        entity_type: &EntityType,
    ) -> Result<ResolvedEntity, Error> {
        self.discover(subject, entity_type, false).await
    }

    /// A resolution's deadline, from now.
    pub(crate) fn deadline(&self) -> Instant {
        Instant::now() + self.inner.limits.resolution_timeout
    }

    /// A turn among the resolver's concurrent resolutions, waited for until `deadline`.
    pub(crate) async fn admit(
        &self,
        deadline: Instant,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, Error> {
        let limit = self.inner.limits.max_concurrent_resolutions;
        let refused = || Error::LimitExceeded {
            limit: Limit::ConcurrentResolutions,
            value: limit as u64,
            context: Some("no turn before the resolution's deadline".into()),
        };
        tokio::time::timeout_at(deadline, self.inner.resolutions.clone().acquire_owned())
            .await
            .map_err(|_| refused())?
            .map_err(|_| refused())
    }

    /// Resolutions running now (holding a turn), at most `max_concurrent_resolutions`.
    pub fn resolutions_in_flight(&self) -> usize {
        self.inner
            .limits
            .max_concurrent_resolutions
            .max(1)
            .saturating_sub(self.inner.resolutions.available_permits())
    }

    /// A walk for one resolution ending at `deadline`.
    pub(crate) fn walk_until(&self, refresh: bool, deadline: Instant) -> Arc<Walk> {
        self.walk_with(refresh, deadline, None)
    }

    /// A walk for one resolution ending at `deadline`, sharing the statements fetched with
    /// other walks through `memo` when one is given (one sweep fetches each statement once).
    pub(crate) fn walk_with(
        &self,
        refresh: bool,
        deadline: Instant,
        memo: Option<crate::discovery::SharedMemo>,
    ) -> Arc<Walk> {
        let inner = &self.inner;
        let mut walk = Walk::new(
            inner.fetcher.clone(),
            inner.rules.clone(),
            inner.anchors.snapshot().shared(),
            WalkLimits {
                max_depth: inner.limits.max_chain_depth,
                max_authority_hints: inner.limits.max_authority_hints,
                max_fetches: inner.limits.max_fetches,
                max_candidates: inner.limits.max_candidates,
                max_concurrency: inner.limits.max_concurrent_fetches,
                max_path_steps: inner.limits.max_path_steps,
                stop_at_first_anchor: inner.stop_at_first_anchor,
            },
            inner.clock.now(),
            inner.skew,
            deadline,
            Some(inner.statements.clone()),
        );
        walk.refresh = refresh;
        walk.verified = Some(inner.verified.clone());
        if let Some(memo) = memo {
            walk.share_memo(memo);
        }
        Arc::new(walk)
    }

    /// Every valid chain from `subject` to a configured anchor (unsorted), the paths that
    /// failed, and the superiors' configurations met, on a walk of the current resolution:
    /// its deadline, fetch budget and memo are shared (trust-mark issuers use the subject's
    /// walk).
    pub(crate) async fn find_chains_on(
        &self,
        walk: &Arc<Walk>,
        subject: &EntityId,
        subject_ec: Option<Arc<EntityStatement>>,
    ) -> Result<FoundChains, Error> {
        let outcome = self.walk_on(walk, subject, subject_ec).await?;
        self.validate_outcome(walk, subject, outcome)
    }

    /// The discovery part of [`Resolver::find_chains_on`]: the walk, within its deadline.
    async fn walk_on(
        &self,
        walk: &Arc<Walk>,
        subject: &EntityId,
        subject_ec: Option<Arc<EntityStatement>>,
    ) -> Result<crate::discovery::walk::WalkOutcome, Error> {
        // Boxed: the walk's future is kilobytes, and the timeout would copy it by value.
        let run = Box::pin(async {
            match subject_ec {
                Some(ec) => walk.clone().run_from(ec).await,
                None => walk.clone().run(subject).await,
            }
        });
        tokio::time::timeout_at(walk.deadline, run)
            .await
            .map_err(|_| self.out_of_time(subject))?
    }

    /// The validation part of [`Resolver::find_chains_on`]: every candidate of the walk's
    /// outcome validated.
    fn validate_outcome(
        &self,
        walk: &Arc<Walk>,
        subject: &EntityId,
        outcome: crate::discovery::walk::WalkOutcome,
    ) -> Result<FoundChains, Error> {
        let inner = &self.inner;
        let ctx = ValidationContext {
            anchors: &walk.anchors,
            now: walk.now,
            skew: inner.skew,
            issuer_configurations: Some(&outcome.configurations),
            operators: &inner.operators,
            limits: &inner.limits,
            deadline: Some(walk.deadline),
        };
        let mut attempts = outcome.attempts;
        let mut chains = Vec::new();
        for candidate in outcome.candidates {
            // Validation is work too: the deadline is checked between candidates (and inside
            // each validation).
            ctx.check_deadline(&format!("validating the chains of {subject}"))?;
            let path = candidate_path(&candidate);
            match validate_chain(candidate, &ctx) {
                Ok(chain) => chains.push(chain),
                // Out of time ends the resolution, not one path.
                Err(
                    e @ Error::LimitExceeded {
                        limit: Limit::ResolutionTime,
                        ..
                    },
                ) => return Err(e),
                Err(error) => attempts.push(PathAttempt { path, error }),
            }
        }
        Ok((chains, attempts, outcome.configurations))
    }

    /// The error of a resolution that ran out of time.
    pub(crate) fn out_of_time(&self, subject: &EntityId) -> Error {
        Error::LimitExceeded {
            limit: Limit::ResolutionTime,
            value: u64::try_from(self.inner.limits.resolution_timeout.as_millis())
                .unwrap_or(u64::MAX),
            context: Some(format!("resolving {subject}")),
        }
    }

    /// Discovery, validation, choice and trust marks, all within one deadline; `refresh`
    /// fetches every statement anew.
    pub(crate) async fn discover(
        &self,
        subject: &EntityId,
        entity_type: &EntityType,
        refresh: bool,
    ) -> Result<ResolvedEntity, Error> {
        self.discover_with(subject, entity_type, refresh, None)
            .await
    }

    /// [`Resolver::discover`] on a walk that shares its fetched statements through `memo`.
    /// Without a shared memo and without `refresh`, answered from the resolution memo when
    /// every statement the last resolution rested on is still the same cached statement
    /// under the same anchor set (see `memo.rs`; such an answer takes no admission turn).
    pub(crate) async fn discover_with(
        &self,
        subject: &EntityId,
        entity_type: &EntityType,
        refresh: bool,
        memo: Option<crate::discovery::SharedMemo>,
    ) -> Result<ResolvedEntity, Error> {
        if let Some(m) = self
            .memoised(subject, entity_type, refresh, memo.is_some())
            .await
        {
            return Ok(m.resolved.clone());
        }
        let deadline = self.deadline();
        let _turn = self.admit(deadline).await?;
        // Boxed: a discovery's future is large, and moving it by value costs a copy each time.
        Box::pin(self.discover_until(subject, entity_type, refresh, memo, deadline)).await
    }

    /// [`Resolver::discover_with`] for a caller that holds a turn already and gives the
    /// deadline (so that what it does after the discovery shares them).
    pub(crate) async fn discover_until(
        &self,
        subject: &EntityId,
        entity_type: &EntityType,
        refresh: bool,
        memo: Option<crate::discovery::SharedMemo>,
        deadline: Instant,
    ) -> Result<ResolvedEntity, Error> {
        self.discover_until_memo(subject, entity_type, refresh, memo, deadline)
            .await
            .map(|(resolved, _)| resolved)
    }

    /// [`Resolver::discover_until`], also giving the remembered resolution the result is:
    /// the one that answered when the walk (a refresh, or a sweep's) obtained exactly the
    /// statements it rests on (unchanged bytes are kept as the same statements, so nothing
    /// is validated again), or the one just remembered for a new result (its record not
    /// built yet: the caller keeps the record it builds there).
    pub(crate) async fn discover_until_memo(
        &self,
        subject: &EntityId,
        entity_type: &EntityType,
        refresh: bool,
        memo: Option<crate::discovery::walk::SharedMemo>,
        deadline: Instant,
    ) -> Result<(ResolvedEntity, Option<Arc<memo::Memoised>>), Error> {
        let shared = memo.is_some();
        // Read before the walk takes its anchor snapshot: a remembered resolution is never
        // filed under a newer anchor set than the one it was validated on.
        let generation = self.inner.anchors.generation();
        let walk = self.walk_with(refresh, deadline, memo);
        let work = async {
            // The statements of the remembered resolution, asked for again first: all the
            // same, and it answers without a walk.
            if refresh || shared {
                let same = self
                    .inner
                    .memo
                    .recheck(subject, entity_type, generation, &walk)
                    .await;
                if let Some(m) = same {
                    return Ok::<_, Error>((m.resolved.clone(), false, Some(m)));
                }
            }
            let outcome = self.walk_on(&walk, subject, None).await?;
            if refresh || shared {
                let same = self
                    .inner
                    .memo
                    .get_if_walked(subject, entity_type, generation, &walk)
                    .await;
                if let Some(m) = same {
                    return Ok::<_, Error>((m.resolved.clone(), false, Some(m)));
                }
            }
            let (chains, attempts, configurations) =
                self.validate_outcome(&walk, subject, outcome)?;
            let failed_paths = !attempts.is_empty();
            let mut resolved = self.choose(
                subject,
                entity_type,
                chains,
                attempts,
                Arc::new(configurations),
                &walk.anchors,
            )?;
            self.evaluate_trust_marks(&mut resolved, &walk).await?;
            resolved.fetches = walk.fetches_made();
            Ok::<_, Error>((resolved, failed_paths, None))
        };
        let (resolved, failed_paths, same) = tokio::time::timeout_at(walk.deadline, work)
            .await
            .map_err(|_| self.out_of_time(subject))??;
        if same.is_some() {
            return Ok((resolved, same));
        }
        // Remembered with the statements this walk obtained (a sweep's walk: its own, not
        // the other clients' of the shared memo), so the next sweep that fetches the same
        // bytes gets this resolution, and its record, again.
        let remembered = match walk.obtained() {
            Some(inputs) => {
                self.inner
                    .memo
                    .insert(&resolved, inputs, failed_paths, walk.now, generation)
                    .await
            }
            None => None,
        };
        Ok((resolved, remembered))
    }

    /// The remembered resolution of `subject`, when one may answer (no refresh, no shared
    /// sweep memo) and it is still what resolving would give.
    pub(crate) async fn memoised(
        &self,
        subject: &EntityId,
        entity_type: &EntityType,
        refresh: bool,
        shared: bool,
    ) -> Option<Arc<memo::Memoised>> {
        if refresh || shared {
            return None;
        }
        let inner = &self.inner;
        inner
            .memo
            .get(
                subject,
                entity_type,
                inner.clock.now(),
                inner.anchors.generation(),
                &inner.statements,
            )
            .await
    }

    pub(crate) fn choose(
        &self,
        subject: &EntityId,
        entity_type: &EntityType,
        mut chains: Vec<TrustChain>,
        attempts: Vec<PathAttempt>,
        configurations: Arc<HashMap<EntityId, Arc<EntityStatement>>>,
        anchors: &[TrustAnchor],
    ) -> Result<ResolvedEntity, Error> {
        if chains.is_empty() {
            return Err(Error::NoTrustChain {
                subject: subject.clone(),
                attempts,
            });
        }
        sort_chains(&mut chains, anchors);
        let Some(pos) = chains.iter().position(|c| {
            c.metadata()
                .get(entity_type.as_str())
                .is_some_and(Value::is_object)
        }) else {
            let best = &chains[0];
            return Err(Error::EntityTypeNotFound {
                subject: subject.clone(),
                entity_type: entity_type.to_string(),
                anchor: best.anchor().clone(),
                removed_by_constraint: best
                    .removed_entity_types()
                    .iter()
                    .any(|t| t == entity_type.as_str()),
            });
        };
        let chain = chains.remove(pos);
        Ok(ResolvedEntity {
            chain,
            alternatives: chains,
            entity_type: entity_type.clone(),
            configurations,
            marks: Vec::new(),
            rejected_marks: Vec::new(),
            mark_deviations: Vec::new(),
            failed_paths: attempts,
            fetches: 0,
        })
    }

    /// Resolves a subject from a chain handed over whole (a `trust_chain` header or an
    /// Explicit Registration body, §4.3): the chain is validated without fetching it, and
    /// what the subject's trust marks need is fetched. The array is the subject's EC, the
    /// Subordinate Statements, and optionally the anchor's EC. The chain is only a hint of
    /// the path: every statement is verified, and it must end at a configured anchor. What
    /// is fetched, within one deadline and one fetch budget: each trust-mark issuer's chain,
    /// the anchor's Entity Configuration (`trust_mark_issuers`, `trust_mark_owners`), and
    /// status endpoints when `trust_mark_status` asks. That I/O is why this is `async`; the
    /// chain check alone is a pure function of the statements and the anchors (no I/O).
    pub async fn resolve_received_chain(
        &self,
        jwts: &[String],
        entity_type: &EntityType,
    ) -> Result<ResolvedEntity, Error> {
        let deadline = self.deadline();
        let _turn = self.admit(deadline).await?;
        self.validate_chain_until(jwts, entity_type, deadline).await
    }

    /// The former name of [`Resolver::resolve_received_chain`], kept for existing callers:
    /// the same call, fetches included.
    pub async fn validate_chain(
        &self,
        jwts: &[String],
        entity_type: &EntityType,
    ) -> Result<ResolvedEntity, Error> {
        self.resolve_received_chain(jwts, entity_type).await
    }

    /// [`Resolver::resolve_received_chain`] for a caller that holds a turn already.
    pub(crate) async fn validate_chain_until(
        &self,
        jwts: &[String],
        entity_type: &EntityType,
        deadline: Instant,
    ) -> Result<ResolvedEntity, Error> {
        let inner = &self.inner;
        if jwts.len() > inner.limits.max_chain_length {
            return Err(Error::LimitExceeded {
                limit: Limit::ChainLength,
                value: inner.limits.max_chain_length as u64,
                context: Some(format!("a chain of {} statements was given", jwts.len())),
            });
        }
        let statements = jwts
            .iter()
            .map(|j| {
                EntityStatement::parse_fetched(j, &inner.rules, None, inner.clock.now(), inner.skew)
                    .map(Arc::new)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let subject = statements
            .first()
            .map(|s| s.subject().clone())
            .ok_or(Error::Config(crate::error::ConfigError::EmptyChain))?;
        // The walk holds the anchor-set snapshot this validation uses throughout.
        let walk = self.walk_until(false, deadline);
        let statements = self.with_anchor_configuration(statements, &walk).await?;
        let ctx = ValidationContext {
            anchors: &walk.anchors,
            now: inner.clock.now(),
            skew: inner.skew,
            issuer_configurations: None,
            operators: &inner.operators,
            limits: &inner.limits,
            deadline: Some(walk.deadline),
        };
        let chain = validate_chain(statements, &ctx)?;
        let mut resolved = self.choose(
            &subject,
            entity_type,
            vec![chain],
            Vec::new(),
            Arc::default(),
            &walk.anchors,
        )?;
        self.evaluate_trust_marks_within(&mut resolved, &walk, &subject)
            .await?;
        resolved.fetches = walk.fetches_made();
        Ok(resolved)
    }

    /// Under [`crate::Tolerance::ConstraintsInConfiguration`] a Trust Anchor's constraints
    /// live in its own configuration: a chain handed over without it gets it fetched (within
    /// the walk's deadline and budget, verified under the keys pinned in the walk's snapshot)
    /// and appended, so that those constraints bind it as they bind a discovered chain.
    async fn with_anchor_configuration(
        &self,
        mut statements: Vec<Arc<EntityStatement>>,
        walk: &Walk,
    ) -> Result<Vec<Arc<EntityStatement>>, Error> {
        let tolerances = self.inner.rules.tolerances;
        if !tolerances.contains(crate::Tolerance::ConstraintsInConfiguration) {
            return Ok(statements);
        }
        let Some(top) = statements.last() else {
            return Ok(statements);
        };
        if top.is_configuration() {
            return Ok(statements);
        }
        let id = top.issuer().clone();
        // Not a configured anchor: validation refuses the chain anyway.
        let Some(anchor) = walk.anchors.iter().find(|a| a.id() == &id) else {
            return Ok(statements);
        };
        let ec = tokio::time::timeout_at(walk.deadline, walk.entity_configuration(&id))
            .await
            .map_err(|_| self.out_of_time(&id))??;
        ec.verify_with(anchor.keys(), "pinned keys of the trust anchor")?;
        statements.push(ec);
        Ok(statements)
    }

    /// Drops the cached statement `issuer` made about `subject` (its configuration when they
    /// are equal), e.g. when a federation operator announces a change before `exp`.
    pub async fn forget_statement(&self, issuer: &EntityId, subject: &EntityId) {
        let key = crate::cache::StatementKey::subordinate(issuer, subject);
        self.inner.statements.invalidate(&key).await;
    }

    /// Drops every cached statement, record and remembered resolution.
    pub fn clear_caches(&self) {
        self.inner.statements.clear();
        self.inner.records.invalidate_all();
        self.inner.memo.clear();
        self.inner.client_keys.clear();
    }
}

fn candidate_path(statements: &[Arc<EntityStatement>]) -> Vec<EntityId> {
    let mut path: Vec<EntityId> = statements
        .first()
        .map(|s| s.subject().clone())
        .into_iter()
        .collect();
    path.extend(
        statements
            .iter()
            .skip(1)
            .filter(|s| !s.is_configuration())
            .map(|s| s.issuer().clone()),
    );
    path
}
