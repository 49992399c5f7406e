//! Configuration of a [`Resolver`]: the [`ResolverBuilder`] (trust anchors, network, clock,
//! accepted algorithms and claims, caches, organization and trust-mark requirements) and the
//! [`Limits`] that bound every resolution.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::{Inner, Resolver, records};
use crate::cache::StatementCache;
use crate::chain::TrustAnchor;
use crate::clock::{Clock, SystemClock};
use crate::error::{ConfigError, Error};
use crate::fetch::Fetcher;
use crate::jose::Alg;
use crate::policy::{OperatorRegistry, PolicyOperator};
use crate::profile::{Profile, Tolerance, Tolerances};
use crate::record::OrganizationRule;
use crate::statement::StatementRules;
use crate::trust_mark::StatusCheck;

/// Limits of one resolution (and, with `max_concurrent_resolutions`, of all of them
/// together). Every loop over network data is bounded by one of these.
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
    /// Time for a whole resolution (default 10 s): every fetch, chain validation, policy
    /// and trust marks included.
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
    /// Longest array in a statement's `metadata` or `metadata_policy` (default 1000): the
    /// policy set operators work on arrays, so their size bounds policy work.
    pub max_value_array_len: usize,
    /// Longest string in a statement's `metadata` or `metadata_policy`, in bytes
    /// (default 8 KiB).
    pub max_value_string_len: usize,
    /// Most words in one `scope` string of `metadata` or `metadata_policy` (default 1000).
    pub max_scope_words: usize,
    /// Most resolutions running at once on one resolver (default 64): a resolution is
    /// bounded (a few MiB at the limits above), this bounds them all together. A resolution
    /// beyond it waits for a turn, within its own `resolution_timeout`.
    pub max_concurrent_resolutions: usize,
    /// Longest Explicit Registration request body, in bytes (default 2 MiB: a whole chain
    /// of `max_chain_length` statements of `max_statement_bytes`, with room to spare). It
    /// is checked before the body is parsed.
    pub max_request_body_bytes: usize,
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
            max_value_array_len: 1000,
            max_value_string_len: 8 * 1024,
            max_scope_words: 1000,
            max_concurrent_resolutions: 64,
            max_request_body_bytes: 2 * 1024 * 1024,
        }
    }
}

/// Configures a [`Resolver`].
#[must_use]
pub struct ResolverBuilder {
    anchors: Vec<Result<TrustAnchor, Error>>,
    fetcher: Option<Arc<dyn Fetcher>>,
    clock: Arc<dyn Clock>,
    rules: StatementRules,
    operators: OperatorRegistry,
    config_errors: Vec<ConfigError>,
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

    /// Leeway for `iat`/`exp` in seconds (default 60). See
    /// [`ResolverBuilder::clock_skew_duration`].
    pub fn clock_skew(mut self, secs: i64) -> Self {
        self.skew = secs.max(0);
        self
    }

    /// Leeway for `iat`/`exp` (default 60 s), in whole seconds (a fraction is dropped).
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = oidfed::Resolver::builder().clock_skew_duration(Duration::from_secs(30));
    /// # let _ = b;
    /// ```
    pub fn clock_skew_duration(mut self, skew: Duration) -> Self {
        self.skew = i64::try_from(skew.as_secs()).unwrap_or(i64::MAX);
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

    /// The interoperability profile (default [`Profile::Strict`]): replaces the tolerated
    /// deviations with the profile's. Every deviation a resolution tolerates is reported
    /// ([`crate::ResolvedEntity::deviations`], [`crate::ClientRecord::deviations`], the audit
    /// trail). Nothing that protects the server is relaxed: see [`crate::profile`].
    ///
    /// ```
    /// use oidfed::{Profile, Resolver, Tolerance};
    /// let builder = Resolver::builder().profile(Profile::Interop);
    /// // Or one tolerance alone, on top of strict:
    /// let one = Resolver::builder().tolerate(Tolerance::AuthorityHintsInSubordinateStatement);
    /// # let _ = (builder, one);
    /// ```
    pub fn profile(mut self, profile: Profile) -> Self {
        self.rules.tolerances = profile.tolerances();
        self
    }

    /// Tolerates one deviation, in addition to those already tolerated.
    pub fn tolerate(mut self, tolerance: Tolerance) -> Self {
        self.rules.tolerances = self.rules.tolerances.with(tolerance);
        self
    }

    /// Tolerates exactly these deviations (replacing the profile's).
    pub fn tolerances(mut self, tolerances: Tolerances) -> Self {
        self.rules.tolerances = tolerances;
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
            self.config_errors
                .push(ConfigError::PolicyOperator(Box::new(e)));
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

    /// Most candidate chains kept (default 8).
    pub fn max_candidates(mut self, n: usize) -> Self {
        self.limits.max_candidates = n;
        self
    }

    /// Most fetches in flight at once in one resolution (default 8).
    pub fn max_concurrent_fetches(mut self, n: usize) -> Self {
        self.limits.max_concurrent_fetches = n;
        self
    }

    /// Longest statement accepted, in bytes (default 64 KiB).
    pub fn max_statement_bytes(mut self, n: usize) -> Self {
        self.limits.max_statement_bytes = n;
        self
    }

    /// Most elements of a chain handed over whole (default 16).
    pub fn max_chain_length(mut self, n: usize) -> Self {
        self.limits.max_chain_length = n;
        self
    }

    /// Most trust marks examined per entity (default 16).
    pub fn max_trust_marks(mut self, n: usize) -> Self {
        self.limits.max_trust_marks = n;
        self
    }

    /// Most path hops tried in one resolution, shared fetches included (default 1024).
    pub fn max_path_steps(mut self, n: usize) -> Self {
        self.limits.max_path_steps = n;
        self
    }

    /// Longest array in a statement's `metadata` or `metadata_policy` (default 1000).
    pub fn max_value_array_len(mut self, n: usize) -> Self {
        self.limits.max_value_array_len = n;
        self
    }

    /// Longest string in a statement's `metadata` or `metadata_policy`, in bytes
    /// (default 8 KiB).
    pub fn max_value_string_len(mut self, n: usize) -> Self {
        self.limits.max_value_string_len = n;
        self
    }

    /// Most words in one `scope` string of `metadata` or `metadata_policy` (default 1000).
    pub fn max_scope_words(mut self, n: usize) -> Self {
        self.limits.max_scope_words = n;
        self
    }

    /// Most resolutions running at once on this resolver (default 64); more wait for a turn
    /// within their deadline, then fail with `Limit::ConcurrentResolutions`.
    pub fn max_concurrent_resolutions(mut self, n: usize) -> Self {
        self.limits.max_concurrent_resolutions = n;
        self
    }

    /// Longest Explicit Registration request body, in bytes (default 2 MiB), refused before
    /// it is parsed with `Limit::RequestBody`.
    pub fn max_request_body_bytes(mut self, n: usize) -> Self {
        self.limits.max_request_body_bytes = n;
        self
    }

    /// Time for a whole resolution: discovery, validation, policy and trust marks.
    pub fn resolution_timeout(mut self, d: Duration) -> Self {
        self.limits.resolution_timeout = d;
        self
    }

    /// Continue above a configured anchor to reach other configured anchors (default: stop
    /// at the first: §4.1 lets an anchor have superiors, and a chain may end at it).
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

    /// [`ResolverBuilder::statement_cache`] with the longest time as a [`Duration`] (whole
    /// seconds).
    pub fn statement_cache_for(self, max_bytes: u64, max_ttl: Duration) -> Self {
        let secs = i64::try_from(max_ttl.as_secs()).unwrap_or(i64::MAX);
        self.statement_cache(max_bytes, secs)
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

    /// Builds the resolver. Every problem of the configuration is reported at once: no
    /// trust anchor ([`ConfigError::NoTrustAnchor`], always the first), each unusable
    /// anchor, each `http` anchor without `allow_http(true)`, each policy operator that
    /// cannot be registered. One problem is returned as itself (an anchor's own error as
    /// it is, e.g. [`Error::EntityId`]); several as [`ConfigError::Several`].
    ///
    /// ```
    /// use oidfed::{ConfigError, Error, Resolver};
    /// let jwks = serde_json::json!({"keys": []});
    /// let e = Resolver::builder()
    ///     .trust_anchor("not a url", &jwks)
    ///     .trust_anchor("https://ta.example", &serde_json::json!(7))
    ///     .build()
    ///     .err()
    ///     .unwrap();
    /// let Error::Config(ConfigError::Several(problems)) = e else { panic!("{e}") };
    /// assert_eq!(problems.len(), 2);
    /// ```
    pub fn build(self) -> Result<Resolver, Error> {
        let mut problems = Vec::new();
        let mut anchors = Vec::with_capacity(self.anchors.len());
        let mut anchor_problems = 0;
        for a in self.anchors {
            match a {
                Ok(a) => anchors.push(a),
                Err(Error::Config(c)) => {
                    anchor_problems += 1;
                    problems.push(c);
                }
                Err(e) => {
                    anchor_problems += 1;
                    problems.push(ConfigError::Anchor(Box::new(e)));
                }
            }
        }
        if anchors.is_empty() && anchor_problems == 0 {
            problems.insert(0, ConfigError::NoTrustAnchor);
        }
        let mut rules = self.rules;
        rules.max_len = self.limits.max_statement_bytes;
        rules.understood_policy_operators = self.operators.custom_names();
        if !rules.allow_http {
            problems.extend(anchors.iter().filter(|a| a.id().is_http()).map(|a| {
                ConfigError::HttpAnchor {
                    anchor: a.id().to_string(),
                }
            }));
        }
        problems.extend(self.config_errors);
        if problems.len() > 1 {
            return Err(Error::Config(ConfigError::Several(problems)));
        }
        if let Some(p) = problems.pop() {
            return Err(match p {
                ConfigError::Anchor(e) => *e,
                p => Error::Config(p),
            });
        }
        let fetcher = match self.fetcher {
            Some(f) => f,
            None => Arc::new(
                crate::fetch::HttpFetcher::builder()
                    .guard(crate::fetch::DestinationGuard::new().allow_http(rules.allow_http))
                    .build()
                    .map_err(|e| ConfigError::HttpClient {
                        detail: e.to_string(),
                    })?,
            ),
        };
        Ok(Resolver {
            inner: Arc::new(Inner {
                anchors: crate::anchors::TrustAnchorsHandle::new(anchors, rules.allow_http),
                fetcher: crate::metrics::InstrumentedFetcher::wrap(fetcher),
                verified: Arc::new(crate::statement::verified::VerifiedMemo::new(
                    VERIFIED_MEMO_ENTRIES,
                    self.clock.clone(),
                )),
                clock: self.clock,
                rules: Arc::new(rules),
                operators: self.operators,
                resolutions: Arc::new(tokio::sync::Semaphore::new(
                    self.limits.max_concurrent_resolutions.max(1),
                )),
                limits: self.limits,
                skew: self.skew,
                stop_at_first_anchor: self.stop_at_first_anchor,
                statements: StatementCache::new(self.cache_bytes, self.cache_max_ttl),
                organization_rule: self.organization_rule,
                require_asserted_organization: self.require_asserted_organization,
                records: records::record_cache(self.record_capacity),
                memo: super::memo::ResolutionMemo::new(self.record_capacity),
                client_keys: crate::server::client_keys::ClientKeyCache::new(self.record_capacity),
                required_marks: self.required_marks,
                mark_status: self.mark_status,
            }),
        })
    }
}

/// Verified (statement bytes, key) pairs a resolver remembers: ~100 bytes each.
const VERIFIED_MEMO_ENTRIES: usize = 100_000;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every limit of [`Limits`] has a setter, and each sets its own field.
    #[test]
    fn every_limit_has_a_setter() {
        let b = ResolverBuilder::default()
            .max_chain_depth(1)
            .max_authority_hints(2)
            .max_fetches(3)
            .max_candidates(4)
            .max_concurrent_fetches(5)
            .resolution_timeout(Duration::from_secs(6))
            .max_statement_bytes(7)
            .max_chain_length(8)
            .max_trust_marks(9)
            .max_path_steps(10)
            .max_value_array_len(11)
            .max_value_string_len(12)
            .max_scope_words(13)
            .max_concurrent_resolutions(14)
            .max_request_body_bytes(15)
            .clock_skew_duration(Duration::from_millis(16_900))
            .statement_cache_for(17, Duration::from_secs(18));
        let l = &b.limits;
        let got = [
            l.max_chain_depth,
            l.max_authority_hints,
            l.max_fetches,
            l.max_candidates,
            l.max_concurrent_fetches,
            l.resolution_timeout.as_secs() as usize,
            l.max_statement_bytes,
            l.max_chain_length,
            l.max_trust_marks,
            l.max_path_steps,
            l.max_value_array_len,
            l.max_value_string_len,
            l.max_scope_words,
            l.max_concurrent_resolutions,
            l.max_request_body_bytes,
        ];
        assert_eq!(got, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
        assert_eq!(b.skew, 16);
        assert_eq!((b.cache_bytes, b.cache_max_ttl), (17, 18));
    }
}
