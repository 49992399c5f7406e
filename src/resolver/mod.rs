//! The [`Resolver`]: entity identifier in, validated and policy-applied trust chain out
//! ([`Resolver::resolve`]), or a durable, organization-bound [`ClientRecord`]
//! ([`Resolver::record`], [`Resolver::reresolve`]).

mod marks;
mod records;

pub use records::{Reresolution, ReresolveOptions, Stale};

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::cache::StatementCache;
use crate::chain::choose::sort_chains;
use crate::chain::walk::{Walk, WalkLimits};
use crate::chain::{TrustAnchor, TrustChain, ValidationContext, validate_chain};
use crate::clock::{Clock, SystemClock};
use crate::entity_id::EntityId;
use crate::error::{Error, Limit, PathAttempt};
use crate::fetch::Fetcher;
use crate::jose::{Alg, KeySet};
use crate::policy::{OperatorRegistry, PolicyOperator};
use crate::record::{ClientRecord, OrganizationRule};
use crate::statement::{EntityStatement, StatementRules};
use crate::trust_mark::{RejectedTrustMark, StatusCheck, ValidTrustMark};

/// An Entity Type Identifier (§5), e.g. `openid_relying_party`.
///
/// ```
/// use oidfed::EntityType;
/// assert_eq!(EntityType::OPENID_RELYING_PARTY.as_str(), "openid_relying_party");
/// assert_eq!(EntityType::new("oauth_client").as_str(), "oauth_client");
/// ```
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct EntityType(std::borrow::Cow<'static, str>);

impl EntityType {
    /// `openid_relying_party` (§5.1.2).
    pub const OPENID_RELYING_PARTY: EntityType = EntityType::from_static("openid_relying_party");
    /// `openid_provider` (§5.1.3).
    pub const OPENID_PROVIDER: EntityType = EntityType::from_static("openid_provider");
    /// `oauth_authorization_server` (§5.1.4).
    pub const OAUTH_AUTHORIZATION_SERVER: EntityType =
        EntityType::from_static("oauth_authorization_server");
    /// `oauth_client` (§5.1.5).
    pub const OAUTH_CLIENT: EntityType = EntityType::from_static("oauth_client");
    /// `oauth_resource` (§5.1.6).
    pub const OAUTH_RESOURCE: EntityType = EntityType::from_static("oauth_resource");
    /// `federation_entity` (§5.1.1).
    pub const FEDERATION_ENTITY: EntityType = EntityType::from_static("federation_entity");

    const fn from_static(s: &'static str) -> Self {
        Self(std::borrow::Cow::Borrowed(s))
    }

    /// Any Entity Type Identifier.
    pub fn new(s: impl Into<String>) -> Self {
        Self(std::borrow::Cow::Owned(s.into()))
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a successful resolution returns: the chosen chain, the alternatives, and the
/// resolved metadata of the requested Entity Type.
#[derive(Debug, Clone)]
pub struct ResolvedEntity {
    chain: TrustChain,
    alternatives: Vec<TrustChain>,
    entity_type: EntityType,
    /// Configurations of the superiors met during discovery (empty for a chain handed over).
    configurations: Arc<HashMap<EntityId, Arc<EntityStatement>>>,
    marks: Vec<ValidTrustMark>,
    rejected_marks: Vec<RejectedTrustMark>,
}

impl ResolvedEntity {
    /// The subject.
    pub fn entity_id(&self) -> &EntityId {
        self.chain.subject()
    }

    /// The Entity Type resolved.
    pub fn entity_type(&self) -> &EntityType {
        &self.entity_type
    }

    /// The chosen chain.
    pub fn chain(&self) -> &TrustChain {
        &self.chain
    }

    /// Other valid chains, best first.
    pub fn alternatives(&self) -> &[TrustChain] {
        &self.alternatives
    }

    /// The Trust Anchor of the chosen chain.
    pub fn trust_anchor(&self) -> &EntityId {
        self.chain.anchor()
    }

    /// When trust in the subject ends: the chain's expiry (its smallest `exp`, §10.4), or
    /// earlier when an accepted trust mark expires first (§8.3.2).
    pub fn expires_at(&self) -> i64 {
        self.marks
            .iter()
            .filter_map(|m| m.expires_at)
            .fold(self.chain.expires_at(), i64::min)
    }

    /// The subject's valid trust marks (§7.3), recognised by the chain's anchor.
    pub fn trust_marks(&self) -> &[ValidTrustMark] {
        &self.marks
    }

    /// The subject's trust marks that were refused, with the reason.
    pub fn rejected_trust_marks(&self) -> &[RejectedTrustMark] {
        &self.rejected_marks
    }

    /// The subject's Federation Entity Keys, as its Immediate Superior asserts them.
    pub fn federation_keys(&self) -> &KeySet {
        self.chain.subject_keys()
    }

    /// The resolved metadata of the requested Entity Type.
    pub fn metadata(&self) -> &Map<String, Value> {
        self.chain
            .metadata()
            .get(self.entity_type.as_str())
            .and_then(Value::as_object)
            .unwrap_or_else(|| empty_map())
    }

    /// The configuration of a superior met during discovery.
    pub fn superior_configuration(&self, id: &EntityId) -> Option<&Arc<EntityStatement>> {
        self.configurations.get(id)
    }

    /// The resolved metadata of every Entity Type the subject has in this chain.
    pub fn all_metadata(&self) -> &Map<String, Value> {
        self.chain.metadata()
    }
}

fn empty_map() -> &'static Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

/// Limits of one resolution. Every loop over network data is bounded by one of these.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Limits {
    /// Most superiors followed above the subject (default 8).
    pub max_chain_depth: usize,
    /// Most `authority_hints` followed per entity (default 10).
    pub max_authority_hints: usize,
    /// Most fetches in one resolution (default 64).
    pub max_fetches: usize,
    /// Most candidate chains kept (default 8).
    pub max_candidates: usize,
    /// Most fetches in flight at once in one resolution (default 8).
    pub max_concurrent_fetches: usize,
    /// Time for a whole resolution, every fetch included (default 10 s).
    pub resolution_timeout: Duration,
    /// Longest statement accepted, in bytes (default 64 KiB).
    pub max_statement_bytes: usize,
    /// Most elements of a chain handed over whole (default 16).
    pub max_chain_length: usize,
    /// Most trust marks examined per entity (default 16).
    pub max_trust_marks: usize,
    /// Most path hops tried in one resolution, shared fetches included (default 1024): a
    /// graph of many diamonds has few distinct statements but exponentially many paths.
    pub max_path_steps: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_chain_depth: 8,
            max_authority_hints: 10,
            max_fetches: 64,
            max_candidates: 8,
            max_concurrent_fetches: 8,
            resolution_timeout: Duration::from_secs(10),
            max_statement_bytes: crate::jose::DEFAULT_MAX_JWS_LEN,
            max_chain_length: 16,
            max_trust_marks: 16,
            max_path_steps: 1024,
        }
    }
}

pub(crate) struct Inner {
    pub required_marks: Vec<String>,
    pub mark_status: StatusCheck,
    pub organization_rule: OrganizationRule,
    pub require_asserted_organization: bool,
    pub records: moka::future::Cache<(EntityId, EntityType), Arc<ClientRecord>>,
    pub anchors: Arc<[TrustAnchor]>,
    pub fetcher: Arc<dyn Fetcher>,
    pub clock: Arc<dyn Clock>,
    pub rules: Arc<StatementRules>,
    pub operators: OperatorRegistry,
    pub limits: Limits,
    pub skew: i64,
    pub stop_at_first_anchor: bool,
    pub statements: StatementCache,
}

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
                    .iter()
                    .map(|a| a.id().as_str())
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

    /// The configured Trust Anchors, in order of preference.
    pub fn trust_anchors(&self) -> &[TrustAnchor] {
        &self.inner.anchors
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
        let result = self.resolve_inner(subject, entity_type).await;
        match &result {
            Ok(r) => tracing::info!(
                target: "oidfed::resolve",
                subject = %subject,
                entity_type = %entity_type,
                trust_anchor = %r.trust_anchor(),
                path = ?r.chain().path().iter().map(EntityId::as_str).collect::<Vec<_>>(),
                expires_at = r.expires_at(),
                duration_us = started.elapsed().as_micros() as u64,
                "resolved"
            ),
            Err(e) => tracing::info!(
                target: "oidfed::resolve",
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

    /// A walk for one resolution.
    pub(crate) fn walk(&self, refresh: bool) -> Arc<Walk> {
        let inner = &self.inner;
        let mut walk = Walk::new(
            inner.fetcher.clone(),
            inner.rules.clone(),
            inner.anchors.clone(),
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
            Instant::now() + inner.limits.resolution_timeout,
            Some(inner.statements.clone()),
        );
        walk.refresh = refresh;
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
    ) -> Result<
        (
            Vec<TrustChain>,
            Vec<PathAttempt>,
            HashMap<EntityId, Arc<EntityStatement>>,
        ),
        Error,
    > {
        let inner = &self.inner;
        let timeout = inner.limits.resolution_timeout;
        let run = async {
            match subject_ec {
                Some(ec) => walk.clone().run_from(ec).await,
                None => walk.clone().run(subject).await,
            }
        };
        let outcome = tokio::time::timeout_at(walk.deadline, run)
            .await
            .map_err(|_| Error::LimitExceeded {
                limit: Limit::ResolutionTime,
                value: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                context: Some(format!("resolving {subject}")),
            })??;
        let ctx = ValidationContext {
            anchors: &inner.anchors,
            now: walk.now,
            skew: inner.skew,
            issuer_configurations: Some(&outcome.configurations),
            operators: &inner.operators,
        };
        let mut attempts = outcome.attempts;
        let mut chains = Vec::new();
        for candidate in outcome.candidates {
            let path = candidate_path(&candidate);
            match validate_chain(candidate, &ctx) {
                Ok(chain) => chains.push(chain),
                Err(error) => attempts.push(PathAttempt { path, error }),
            }
        }
        Ok((chains, attempts, outcome.configurations))
    }

    /// Discovery, validation, choice and trust marks; `refresh` fetches every statement anew.
    pub(crate) async fn discover(
        &self,
        subject: &EntityId,
        entity_type: &EntityType,
        refresh: bool,
    ) -> Result<ResolvedEntity, Error> {
        let walk = self.walk(refresh);
        let (chains, attempts, configurations) = self.find_chains_on(&walk, subject, None).await?;
        let mut resolved = self.choose(
            subject,
            entity_type,
            chains,
            attempts,
            Arc::new(configurations),
        )?;
        self.evaluate_trust_marks(&mut resolved, &walk).await?;
        Ok(resolved)
    }

    pub(crate) fn choose(
        &self,
        subject: &EntityId,
        entity_type: &EntityType,
        mut chains: Vec<TrustChain>,
        attempts: Vec<PathAttempt>,
        configurations: Arc<HashMap<EntityId, Arc<EntityStatement>>>,
    ) -> Result<ResolvedEntity, Error> {
        if chains.is_empty() {
            return Err(Error::NoTrustChain {
                subject: subject.clone(),
                attempts,
            });
        }
        sort_chains(&mut chains, &self.inner.anchors);
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
        })
    }

    /// Validates a chain handed over whole (a `trust_chain` header or an Explicit
    /// Registration body, §4.3). The array is the subject's EC, the Subordinate Statements,
    /// and optionally the anchor's EC. The chain is only a hint of the path: every statement
    /// is verified, and it must end at a configured anchor. Nothing is fetched, except what
    /// the subject's trust marks need (their issuers' chains).
    pub async fn validate_chain(
        &self,
        jwts: &[String],
        entity_type: &EntityType,
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
            .map(|j| EntityStatement::parse(j, &inner.rules).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let subject = statements
            .first()
            .map(|s| s.subject().clone())
            .ok_or_else(|| Error::Config("an empty trust chain was given".into()))?;
        let ctx = ValidationContext {
            anchors: &inner.anchors,
            now: inner.clock.now(),
            skew: inner.skew,
            issuer_configurations: None,
            operators: &inner.operators,
        };
        let chain = validate_chain(statements, &ctx)?;
        let mut resolved = self.choose(
            &subject,
            entity_type,
            vec![chain],
            Vec::new(),
            Arc::default(),
        )?;
        self.evaluate_trust_marks(&mut resolved, &self.walk(false))
            .await?;
        Ok(resolved)
    }

    /// Drops the cached statement `issuer` made about `subject` (its configuration when they
    /// are equal), e.g. when a federation operator announces a change before `exp`.
    pub async fn forget_statement(&self, issuer: &EntityId, subject: &EntityId) {
        let key = crate::cache::StatementKey::subordinate(issuer, subject);
        self.inner.statements.invalidate(&key).await;
    }

    /// Drops every cached statement and record.
    pub fn clear_caches(&self) {
        self.inner.statements.clear();
        self.inner.records.invalidate_all();
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

/// Configures a [`Resolver`].
#[must_use]
pub struct ResolverBuilder {
    anchors: Vec<Result<TrustAnchor, Error>>,
    fetcher: Option<Arc<dyn Fetcher>>,
    clock: Arc<dyn Clock>,
    rules: StatementRules,
    operators: OperatorRegistry,
    config_errors: Vec<String>,
    limits: Limits,
    skew: i64,
    stop_at_first_anchor: bool,
    cache_bytes: u64,
    cache_max_ttl: i64,
    record_capacity: u64,
    organization_rule: OrganizationRule,
    require_asserted_organization: bool,
    required_marks: Vec<String>,
    mark_status: StatusCheck,
}

impl Default for ResolverBuilder {
    fn default() -> Self {
        Self {
            anchors: Vec::new(),
            fetcher: None,
            clock: Arc::new(SystemClock),
            rules: StatementRules::default(),
            operators: OperatorRegistry::default(),
            config_errors: Vec::new(),
            limits: Limits::default(),
            skew: 60,
            stop_at_first_anchor: true,
            cache_bytes: 32 * 1024 * 1024,
            cache_max_ttl: 24 * 3600,
            record_capacity: 100_000,
            organization_rule: OrganizationRule::default(),
            require_asserted_organization: false,
            required_marks: Vec::new(),
            mark_status: StatusCheck::default(),
        }
    }
}

impl ResolverBuilder {
    /// Trusts the anchor `id` with the public keys `jwks` (`{"keys": [...]}`), pinned: the
    /// anchor's EC must verify with them. Anchors added first are preferred.
    pub fn trust_anchor(mut self, id: &str, jwks: &Value) -> Self {
        // The scheme is judged in `build`, once `allow_http` is known.
        self.anchors.push(TrustAnchor::new_with(id, jwks, true));
        self
    }

    /// Trusts an already built [`TrustAnchor`].
    pub fn anchor(mut self, anchor: TrustAnchor) -> Self {
        self.anchors.push(Ok(anchor));
        self
    }

    /// The network (default: an `HttpFetcher` with the outbound destination guard).
    pub fn fetcher(mut self, fetcher: impl Fetcher) -> Self {
        self.fetcher = Some(Arc::new(fetcher));
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Accepts plain-`http` Entity Identifiers and endpoints. Only for loopback test
    /// federations; never in production.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.rules.allow_http = allow;
        self
    }

    /// Leeway for `iat`/`exp` in seconds (default 60).
    pub fn clock_skew(mut self, secs: i64) -> Self {
        self.skew = secs.max(0);
        self
    }

    /// The accepted signature algorithms (default: all of RS/PS/ES 256–512 and EdDSA).
    pub fn algorithms(mut self, algs: &[Alg]) -> Self {
        self.rules.algs = algs.to_vec();
        self
    }

    /// Accepts `application/entity-statement+jwt` and case variants as `typ` (default off).
    pub fn lenient_typ(mut self, lenient: bool) -> Self {
        self.rules.lenient_typ = lenient;
        self
    }

    /// Extension claims this deployment understands, which `crit` may list (default none).
    pub fn understood_critical_claims(mut self, claims: &[&str]) -> Self {
        self.rules.understood_crit = claims.iter().map(|c| c.to_string()).collect();
        self
    }

    /// Registers a federation's own metadata policy operator (§6.1.3.2).
    pub fn policy_operator(mut self, op: Arc<dyn PolicyOperator>) -> Self {
        if let Err(e) = self.operators.register(op) {
            self.config_errors.push(e.to_string());
        }
        self
    }

    /// Replaces all limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Most superiors followed above the subject.
    pub fn max_chain_depth(mut self, n: usize) -> Self {
        self.limits.max_chain_depth = n;
        self
    }

    /// Most `authority_hints` followed per entity.
    pub fn max_authority_hints(mut self, n: usize) -> Self {
        self.limits.max_authority_hints = n;
        self
    }

    /// Most fetches per resolution.
    pub fn max_fetches(mut self, n: usize) -> Self {
        self.limits.max_fetches = n;
        self
    }

    /// Most path hops tried in one resolution, shared fetches included (default 1024).
    pub fn max_path_steps(mut self, n: usize) -> Self {
        self.limits.max_path_steps = n;
        self
    }

    /// Time for a whole resolution.
    pub fn resolution_timeout(mut self, d: Duration) -> Self {
        self.limits.resolution_timeout = d;
        self
    }

    /// Continue above a configured anchor to reach other configured anchors (default: stop
    /// at the first, D4).
    pub fn stop_at_first_anchor(mut self, stop: bool) -> Self {
        self.stop_at_first_anchor = stop;
        self
    }

    /// Memory for cached statements, in bytes (default 32 MiB), and the longest time a
    /// statement is cached, in seconds, whatever its `exp` (default 24 h).
    pub fn statement_cache(mut self, max_bytes: u64, max_ttl_secs: i64) -> Self {
        self.cache_bytes = max_bytes;
        self.cache_max_ttl = max_ttl_secs;
        self
    }

    /// Which entity of a chain is the client's accountable organization (default: its
    /// Immediate Superior).
    pub fn organization_rule(mut self, rule: OrganizationRule) -> Self {
        self.organization_rule = rule;
        self
    }

    /// Refuse a client whose organization is missing or only self-declared: a superior must
    /// assert it (through a `value` policy on `organization_name` or its `metadata`).
    pub fn require_asserted_organization(mut self, require: bool) -> Self {
        self.require_asserted_organization = require;
        self
    }

    /// Fail a resolution unless the subject holds a valid trust mark of each of these types.
    pub fn require_trust_marks(mut self, types: &[&str]) -> Self {
        self.required_marks = types.iter().map(|t| t.to_string()).collect();
        self
    }

    /// When to confirm trust marks at the issuer's status endpoint (default: never).
    pub fn trust_mark_status(mut self, check: StatusCheck) -> Self {
        self.mark_status = check;
        self
    }

    /// Most client records cached (default 100 000); records expire at their `expires_at`.
    pub fn record_cache_capacity(mut self, n: u64) -> Self {
        self.record_capacity = n;
        self
    }

    /// Builds the resolver. Fails without a trust anchor or with an unusable one.
    pub fn build(self) -> Result<Resolver, Error> {
        if let Some(e) = self.config_errors.first() {
            return Err(Error::Config(e.clone()));
        }
        let anchors = self.anchors.into_iter().collect::<Result<Vec<_>, _>>()?;
        if anchors.is_empty() {
            return Err(Error::Config("no trust anchor configured".into()));
        }
        let mut rules = self.rules;
        rules.max_len = self.limits.max_statement_bytes;
        rules.understood_policy_operators = self.operators.custom_names();
        if let Some(a) = anchors.iter().find(|a| a.id().is_http()) {
            if !rules.allow_http {
                return Err(Error::Config(format!(
                    "trust anchor {} uses http; call allow_http(true) for a test federation",
                    a.id()
                )));
            }
        }
        let fetcher = match self.fetcher {
            Some(f) => f,
            None => Arc::new(
                crate::fetch::HttpFetcher::builder()
                    .guard(crate::fetch::DestinationGuard::new().allow_http(rules.allow_http))
                    .build()
                    .map_err(|e| Error::Config(format!("HTTP client: {e}")))?,
            ),
        };
        Ok(Resolver {
            inner: Arc::new(Inner {
                anchors: anchors.into(),
                fetcher,
                clock: self.clock,
                rules: Arc::new(rules),
                operators: self.operators,
                limits: self.limits,
                skew: self.skew,
                stop_at_first_anchor: self.stop_at_first_anchor,
                statements: StatementCache::new(self.cache_bytes, self.cache_max_ttl),
                organization_rule: self.organization_rule,
                require_asserted_organization: self.require_asserted_organization,
                records: records::record_cache(self.record_capacity),
                required_marks: self.required_marks,
                mark_status: self.mark_status,
            }),
        })
    }
}
