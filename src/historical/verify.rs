//! Verifying stored artefacts as of the time they were made: [`HistoricalVerifier`], and the
//! [`Resolver`] methods that fetch what it needs.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use url::Url;

use super::{HISTORICAL_KEYS_ENDPOINT, HistoricalError, HistoricalKeys};
use crate::chain::{TrustAnchor, TrustChain, ValidationContext, validate_chain};
use crate::entity_id::EntityId;
use crate::error::{Error, Limit};
use crate::fetch::{FetchKind, FetchRequest};
use crate::jose::{self, CompactJws, HeaderRules, JoseError, KeySet};
use crate::json::parse_object;
use crate::policy::OperatorRegistry;
use crate::resolver::Resolver;
use crate::statement::claims::{Rounding, numeric_date};
use crate::statement::{EntityStatement, StatementRules};

/// Most statements in a stored chain.
const MAX_STORED_CHAIN: usize = 16;

/// Verifies stored trust chains and signed responses as of the time they were made, against
/// a Trust Anchor's keys pinned now plus its historical keys valid then, and the historical
/// keys of any other entity given (a key they list as revoked or expired at that time fails).
///
/// Keys pinned now are accepted for any past time: they are the anchor's own. Statement time
/// windows are checked at that time, so a chain that verifies as of its time usually fails
/// as of now (its statements have expired).
///
/// The builder methods and accessors are shown here:
///
/// ```
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .now(1_800_000_000).anchor("ta").leaf("rp", &["ta"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
///
/// use oidfed::TrustAnchor;
/// use oidfed::historical::HistoricalVerifier;
/// use oidfed::statement::StatementRules;
/// let ta = TrustAnchor::new(fed.id("ta").as_str(), &fed.public_jwks("ta")).unwrap();
/// let verifier = HistoricalVerifier::new(ta).rules(StatementRules::default()).clock_skew(30);
/// assert_eq!(verifier.anchor().id(), &fed.id("ta"));
/// assert!(!verifier.has_history(&fed.id("ta")));
/// // The chain as stored when the client registered...
/// let stored = fed.chain(&["rp", "ta"], true);
/// assert!(verifier.verify_chain_at(&stored, 1_800_000_100).is_ok());
/// // ...verifies as of that time, not two days later (its statements expired).
/// assert!(verifier.verify_chain_at(&stored, 1_800_000_000 + 2 * 86_400).is_err());
/// ```
#[derive(Clone)]
pub struct HistoricalVerifier {
    anchor: TrustAnchor,
    histories: HashMap<EntityId, HistoricalKeys>,
    rules: StatementRules,
    operators: OperatorRegistry,
    skew: i64,
}

impl std::fmt::Debug for HistoricalVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoricalVerifier")
            .field("anchor", self.anchor.id())
            .field("histories", &self.histories.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl HistoricalVerifier {
    /// A verifier for chains ending at `anchor` (with the keys pinned now), strict statement
    /// rules, standard policy operators and 60 s of leeway.
    ///
    /// See the [`HistoricalVerifier`] example.
    pub fn new(anchor: TrustAnchor) -> Self {
        Self {
            anchor,
            histories: HashMap::new(),
            rules: StatementRules::default(),
            operators: OperatorRegistry::default(),
            skew: 60,
        }
    }

    /// Adds an entity's historical keys (the anchor's, or any signer's in the chain).
    ///
    /// See the [`HistoricalVerifier`] example.
    #[must_use]
    pub fn history(mut self, keys: HistoricalKeys) -> Self {
        self.histories.insert(keys.issuer().clone(), keys);
        self
    }

    /// The statement rules (algorithms, `http`, …).
    ///
    /// See the [`HistoricalVerifier`] example.
    #[must_use]
    pub fn rules(mut self, rules: StatementRules) -> Self {
        self.rules = rules;
        self
    }

    /// The policy operators understood.
    ///
    /// See the [`HistoricalVerifier`] example.
    #[must_use]
    pub fn operators(mut self, operators: OperatorRegistry) -> Self {
        self.operators = operators;
        self
    }

    /// Leeway for `iat`/`exp`, in seconds.
    ///
    /// See the [`HistoricalVerifier`] example.
    #[must_use]
    pub fn clock_skew(mut self, secs: i64) -> Self {
        self.skew = secs.max(0);
        self
    }

    /// The anchor.
    ///
    /// See the [`HistoricalVerifier`] example.
    pub fn anchor(&self) -> &TrustAnchor {
        &self.anchor
    }

    /// Whether historical keys of `entity` were given.
    ///
    /// See the [`HistoricalVerifier`] example.
    pub fn has_history(&self, entity: &EntityId) -> bool {
        self.histories.contains_key(entity)
    }

    /// The anchor's keys usable at `t`: pinned now, plus historical ones valid then.
    fn anchor_at(&self, t: i64) -> Result<TrustAnchor, HistoricalError> {
        let mut keys: Vec<Value> = self
            .anchor
            .keys()
            .keys()
            .iter()
            .map(|k| k.to_json())
            .collect();
        if let Some(h) = self.histories.get(self.anchor.id()) {
            for k in h.keys_valid_at(t).keys() {
                if self.anchor.keys().get(k.kid()).is_none() {
                    keys.push(k.to_json());
                }
            }
        }
        TrustAnchor::new_with(self.anchor.id().as_str(), &json!({ "keys": keys }), true).map_err(
            |e| HistoricalError::Chain {
                at: t,
                source: Box::new(e),
            },
        )
    }

    /// Validates the stored chain `jwts` (`[subject EC, SS…, (anchor EC)]`) as of `t`: every
    /// rule of §10.2 with `t` as the current time, the anchor's keys valid at `t`, and no
    /// statement signed with a key its issuer's historical keys show as revoked at or before
    /// `t`, or as not valid at `t`. See the [`HistoricalVerifier`] example.
    pub fn verify_chain_at(&self, jwts: &[String], t: i64) -> Result<TrustChain, HistoricalError> {
        let chain_err = |source: Error| HistoricalError::Chain {
            at: t,
            source: Box::new(source),
        };
        if jwts.len() > MAX_STORED_CHAIN {
            return Err(chain_err(Error::LimitExceeded {
                limit: Limit::ChainLength,
                value: MAX_STORED_CHAIN as u64,
                context: Some(format!("a stored chain of {} statements", jwts.len())),
            }));
        }
        let statements = jwts
            .iter()
            .map(|j| EntityStatement::parse(j, &self.rules).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| chain_err(e.into()))?;
        for s in &statements {
            if let Some(h) = self.histories.get(s.issuer()) {
                h.check_key_at(s.kid(), t)?;
            }
        }
        let anchors = [self.anchor_at(t)?];
        let limits = crate::resolver::Limits::default();
        let ctx = ValidationContext {
            anchors: &anchors,
            now: t,
            skew: self.skew,
            issuer_configurations: None,
            operators: &self.operators,
            limits: &limits,
            deadline: None,
        };
        validate_chain(statements, &ctx).map_err(chain_err)
    }

    /// Verifies a stored signed response (a resolve response, a registration response, …) of
    /// `issuer`, of type `typ`, as of `t`: signed with a key of `issuer` valid at `t` (from its
    /// historical keys, or else from `current_keys`), `iat` not after `t` and `exp` (when
    /// present) after `t`. Returns the claims.
    pub fn verify_signed_at(
        &self,
        jwt: &str,
        typ: &str,
        issuer: &EntityId,
        current_keys: Option<&KeySet>,
        t: i64,
    ) -> Result<Map<String, Value>, HistoricalError> {
        let entity = issuer.to_string();
        let jws_err = |source: JoseError| HistoricalError::Jws {
            entity: entity.clone(),
            source,
        };
        let jws = CompactJws::parse_with_limit(jwt.trim(), self.rules.max_len).map_err(jws_err)?;
        let header = HeaderRules {
            typ,
            lenient_typ: false,
            algs: &self.rules.algs,
        };
        let (alg, kid) = jose::check_header(&jws, &header).map_err(jws_err)?;
        let claim = |claim: &'static str, detail: String| HistoricalError::Claim {
            entity: entity.clone(),
            claim,
            detail,
        };
        let claims = parse_object(jws.payload()).map_err(|e| claim("payload", e.0))?;
        if let Some(iss) = claims.get("iss") {
            if iss.as_str() != Some(issuer.as_str()) {
                return Err(HistoricalError::WrongIssuer {
                    expected: entity.clone(),
                    found: iss.to_string(),
                });
            }
        }
        if claims.contains_key("iat") {
            let iat = numeric_date(&claims, "iat", Rounding::Up).map_err(|d| claim("iat", d))?;
            if iat > t.saturating_add(self.skew) {
                return Err(claim(
                    "iat",
                    format!("{iat} is after the time verified for ({t})"),
                ));
            }
        }
        if claims.contains_key("exp") {
            let exp = numeric_date(&claims, "exp", Rounding::Down).map_err(|d| claim("exp", d))?;
            if t >= exp.saturating_add(self.skew) {
                return Err(claim("exp", format!("expired at {exp}, before {t}")));
            }
        }
        let historical = match self.histories.get(issuer) {
            Some(h) => h.check_key_at(kid, t)?.map(|k| k.key().to_json()),
            None => None,
        };
        let keys = match historical {
            Some(k) => KeySet::from_json(&json!({ "keys": [k] })).map_err(jws_err)?,
            None => current_keys.cloned().unwrap_or_default(),
        };
        keys.verify(&jws, alg, kid, "the issuer's keys valid at that time")
            .map_err(|source| HistoricalError::Signature { entity, source })?;
        Ok(claims)
    }
}

impl Resolver {
    /// Fetches and verifies `entity`'s historical keys (§8.7). The keys that must sign the
    /// response are never taken on the entity's word alone:
    ///
    /// * for a configured anchor, its Entity Configuration (valid now) must verify under a
    ///   key pinned now, and the response must be signed with a key of that configuration's
    ///   `jwks`;
    /// * for any other entity, a trust chain from it to a configured anchor is resolved and
    ///   validated first; the endpoint is read from the subject configuration of that chain,
    ///   and the response must be signed with a key its Immediate Superior asserts for it in
    ///   its Subordinate Statement ([`TrustChain::subject_keys`]). No chain is
    ///   [`HistoricalError::Configuration`].
    pub async fn historical_keys(
        &self,
        entity: &EntityId,
    ) -> Result<HistoricalKeys, HistoricalError> {
        let config_err = |source: Error| HistoricalError::Configuration {
            entity: entity.clone(),
            source: Box::new(source),
        };
        let (ec, signing_keys) = match self.trust_anchors().get(entity).cloned() {
            Some(anchor) => {
                let ec = self.fetch_configuration(entity).await.map_err(config_err)?;
                ec.verify_with(anchor.keys(), "pinned keys of the trust anchor")
                    .map_err(|e| config_err(e.into()))?;
                let keys = ec.jwks().clone();
                (Arc::new(ec), keys)
            }
            None => {
                let chain = self.vouched_chain(entity).await.map_err(config_err)?;
                let ec = chain.subject_configuration().cloned().ok_or_else(|| {
                    config_err(Error::Config(
                        crate::error::ConfigError::NoSubjectConfiguration {
                            entity: entity.to_string(),
                        },
                    ))
                })?;
                (ec, chain.subject_keys().clone())
            }
        };
        let endpoint = ec
            .federation_endpoint(HISTORICAL_KEYS_ENDPOINT)
            .ok_or_else(|| HistoricalError::NoEndpoint {
                entity: entity.clone(),
            })?;
        let rules = &self.inner.rules;
        let url = Url::parse(endpoint)
            .ok()
            .filter(|u| u.scheme() == "https" || (rules.allow_http && u.scheme() == "http"))
            .ok_or_else(|| HistoricalError::Claim {
                entity: entity.to_string(),
                claim: HISTORICAL_KEYS_ENDPOINT,
                detail: format!("{endpoint:?} is not an https URL"),
            })?;
        let fetch_err = |source| HistoricalError::Fetch {
            entity: entity.clone(),
            source,
        };
        let text = self
            .inner
            .fetcher
            .fetch(FetchRequest::get(url.clone(), FetchKind::JwkSet))
            .await
            .and_then(|r| r.into_text(&url))
            .map_err(fetch_err)?;
        HistoricalKeys::parse(&text, entity, &signing_keys, rules)
    }

    /// The preferred valid trust chain from `entity` to a configured anchor, resolved within
    /// one resolution's deadline and turn.
    async fn vouched_chain(&self, entity: &EntityId) -> Result<TrustChain, Error> {
        let deadline = self.deadline();
        let _turn = self.admit(deadline).await?;
        let walk = self.walk_until(false, deadline);
        let (mut chains, attempts, _) = self.find_chains_on(&walk, entity, None).await?;
        if chains.is_empty() {
            return Err(Error::NoTrustChain {
                subject: entity.clone(),
                attempts,
            });
        }
        crate::chain::choose::sort_chains(&mut chains, &walk.anchors);
        Ok(chains.swap_remove(0))
    }

    /// A [`HistoricalVerifier`] for the configured anchor `anchor`, with this resolver's rules,
    /// operators and leeway, and the anchor's historical keys when it publishes them.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .now(1_800_000_000).anchor("ta").leaf("rp", &["ta"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    ///
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// let verifier = resolver.historical_verifier(&fed.id("ta")).await.unwrap();
    /// assert_eq!(verifier.anchor().id(), &fed.id("ta"));
    /// assert!(!verifier.has_history(&fed.id("ta"))); // this anchor publishes no historical keys
    /// assert!(resolver.historical_verifier(&fed.id("rp")).await.is_err()); // not an anchor
    /// # });
    /// ```
    pub async fn historical_verifier(
        &self,
        anchor: &EntityId,
    ) -> Result<HistoricalVerifier, HistoricalError> {
        let pinned = self.trust_anchors().get(anchor).cloned().ok_or_else(|| {
            HistoricalError::Configuration {
                entity: anchor.clone(),
                source: Box::new(Error::UntrustedAnchor {
                    anchor: anchor.to_string(),
                }),
            }
        })?;
        let inner = &self.inner;
        let verifier = HistoricalVerifier::new(pinned)
            .rules((*inner.rules).clone())
            .operators(inner.operators.clone())
            .clock_skew(inner.skew);
        match self.historical_keys(anchor).await {
            Ok(keys) => Ok(verifier.history(keys)),
            Err(HistoricalError::NoEndpoint { .. }) => Ok(verifier),
            Err(e) => Err(e),
        }
    }

    /// Validates a stored chain as of `t` (e.g. when a client was registered), against the
    /// configured anchor it ends at and that anchor's historical keys
    /// ([`HistoricalVerifier::verify_chain_at`]).
    ///
    /// The historical keys of every other issuer in the chain (the subject, each
    /// intermediate) are loaded too, authenticated as in [`Resolver::historical_keys`]: a
    /// statement signed with a key its issuer lists as revoked at or before `t` fails.
    /// **Limit:** an issuer that publishes no `federation_historical_keys_endpoint`, or that
    /// has no valid trust chain now (it left the federation, its statements expired or
    /// cannot be fetched), is checked without a history, so a revocation it may have made
    /// is not seen (a warning on `oidfed::audit` says so). Any failure to load a history the
    /// issuer does publish (its endpoint unreachable, a bad signature) fails the
    /// verification.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .now(1_800_000_000).anchor("ta").leaf("rp", &["ta"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    ///
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// let stored = fed.chain(&["rp", "ta"], true);
    /// let chain = resolver.verify_chain_at(&stored, 1_800_000_100).await.unwrap();
    /// assert_eq!(chain.to_jwts(), stored);
    /// # });
    /// ```
    pub async fn verify_chain_at(
        &self,
        jwts: &[String],
        t: i64,
    ) -> Result<TrustChain, HistoricalError> {
        let chain_err = |source: Error| HistoricalError::Chain {
            at: t,
            source: Box::new(source),
        };
        let last = jwts
            .last()
            .ok_or_else(|| chain_err(Error::Config(crate::error::ConfigError::EmptyChain)))?;
        let top =
            EntityStatement::parse(last, &self.inner.rules).map_err(|e| chain_err(e.into()))?;
        let anchor = top.issuer().clone();
        let mut verifier = self.historical_verifier(&anchor).await?;
        let mut issuers: Vec<EntityId> = Vec::new();
        for jwt in jwts.iter().take(MAX_STORED_CHAIN) {
            let s =
                EntityStatement::parse(jwt, &self.inner.rules).map_err(|e| chain_err(e.into()))?;
            if *s.issuer() != anchor && !issuers.contains(s.issuer()) {
                issuers.push(s.issuer().clone());
            }
        }
        for issuer in &issuers {
            match self.historical_keys(issuer).await {
                Ok(keys) => verifier = verifier.history(keys),
                Err(HistoricalError::NoEndpoint { .. }) => {}
                Err(HistoricalError::Configuration { source, .. }) => {
                    tracing::warn!(
                        target: "oidfed::audit",
                        event = "historical_keys_unavailable",
                        issuer = %issuer,
                        at = t,
                        error = %source,
                        "no valid trust chain now: the issuer's historical keys are not checked"
                    );
                }
                Err(e) => return Err(e),
            }
        }
        verifier.verify_chain_at(jwts, t)
    }
}
