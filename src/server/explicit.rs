//! Explicit Registration (§12.2): the client POSTs its Entity Configuration
//! (`application/entity-statement+jwt`, `aud` = the server) or a whole trust chain
//! (`application/trust-chain+json`); the server validates it, applies policy, decides the
//! registered metadata and answers with a signed `explicit-registration-response+jwt`
//! whose `exp` never outlives the chain (§12.2.2 step 9, §12.3).

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

use serde::de::{DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde_json::{Map, Value, json};

use crate::error::{ConfigError, Error, Limit, RequestError};
use crate::record::ClientRecord;
use crate::resolver::{EntityType, ResolvedEntity, Resolver};
use crate::signer::{Signer, sign_jwt};
use crate::statement::{EntityStatement, StatementRules};

/// The `typ` of an Explicit Registration response.
pub const REGISTRATION_RESPONSE_TYP: &str = "explicit-registration-response+jwt";

/// Decides the registered metadata from the client's resolved metadata: adjust it to what
/// the server supports, or refuse with a reason (`invalid_client_metadata`).
pub type MetadataDecision =
    dyn Fn(&ResolvedEntity) -> Result<Map<String, Value>, String> + Send + Sync;

/// How the server registers clients.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").leaf("rp", &["ta"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// use oidfed::EntityType;
/// use oidfed::server::ExplicitRegistration;
/// use oidfed::signer::JwkSigner;
/// let signer = JwkSigner::generate_es256("op-1").unwrap();
/// let reg = ExplicitRegistration {
///     our_entity_id: "https://op.example",
///     signer: &signer,
///     max_lifetime: 3600,
///     entity_type: EntityType::OPENID_RELYING_PARTY,
///     decide: None,
/// };
/// // The request body: the client's trust chain, its own Entity Configuration first.
/// let body = serde_json::to_vec(&fed.chain(&["rp", "ta"], true)).unwrap();
/// let out = resolver.register_explicit(&body, "application/trust-chain+json", &reg).await.unwrap();
///
/// assert_eq!(out.record.client_id, fed.id("rp"));
/// # });
/// ```
pub struct ExplicitRegistration<'a> {
    /// The server's Entity Identifier (the request's `aud`, the response's `iss`).
    pub our_entity_id: &'a str,
    /// Signs the response with one of the server's Federation Entity Keys.
    pub signer: &'a dyn Signer,
    /// The longest registration, in seconds (it is also capped at the chain's expiry).
    pub max_lifetime: i64,
    /// The client Entity Type to resolve and register, usually
    /// [`EntityType::OPENID_RELYING_PARTY`] (there is no default: every field is given).
    pub entity_type: EntityType,
    /// Decides the registered metadata (`None`: the resolved metadata as is).
    pub decide: Option<&'a MetadataDecision>,
}

/// The outcome of an Explicit Registration.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").leaf("rp", &["ta"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// use oidfed::EntityType;
/// use oidfed::server::ExplicitRegistration;
/// use oidfed::signer::JwkSigner;
/// let signer = JwkSigner::generate_es256("op-1").unwrap();
/// let reg = ExplicitRegistration {
///     our_entity_id: "https://op.example",
///     signer: &signer,
///     max_lifetime: 3600,
///     entity_type: EntityType::OPENID_RELYING_PARTY,
///     decide: None,
/// };
/// // The request body: the client's trust chain, its own Entity Configuration first.
/// let body = serde_json::to_vec(&fed.chain(&["rp", "ta"], true)).unwrap();
/// let out = resolver.register_explicit(&body, "application/trust-chain+json", &reg).await.unwrap();
///
/// assert_eq!(out.response.split('.').count(), 3); // the signed response JWT
/// assert_eq!(out.record.metadata["client_name"], "RP");
/// assert!(out.record.expires_at <= oidfed::Clock::now(&fed.clock()) + 3600);
/// # });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Registered {
    /// The signed response JWT (`application/explicit-registration-response+jwt`).
    pub response: String,
    /// The registered client (its metadata as registered; `expires_at` as in the response).
    pub record: Arc<ClientRecord>,
}

fn invalid(reason: RequestError) -> Error {
    Error::InvalidRequest { reason }
}

impl Resolver {
    /// Processes an Explicit Registration request body of `content_type` (§12.2.2).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").leaf("rp", &["ta"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// use oidfed::EntityType;
    /// use oidfed::server::ExplicitRegistration;
    /// use oidfed::signer::JwkSigner;
    /// let signer = JwkSigner::generate_es256("op-1").unwrap();
    /// let reg = ExplicitRegistration {
    ///     our_entity_id: "https://op.example",
    ///     signer: &signer,
    ///     max_lifetime: 3600,
    ///     entity_type: EntityType::OPENID_RELYING_PARTY,
    ///     decide: None,
    /// };
    /// // The request body: the client's trust chain, its own Entity Configuration first.
    /// let body = serde_json::to_vec(&fed.chain(&["rp", "ta"], true)).unwrap();
    /// let out = resolver.register_explicit(&body, "application/trust-chain+json", &reg).await.unwrap();
    ///
    /// assert_eq!(out.record.client_id, fed.id("rp"));
    /// // Not a body of either form: refused, nothing registered.
    /// let e = resolver.register_explicit(b"{}", "application/json", &reg).await.unwrap_err();
    /// assert_eq!(e.spec_code(), "invalid_request");
    /// # });
    /// ```
    pub async fn register_explicit(
        &self,
        body: &[u8],
        content_type: &str,
        reg: &ExplicitRegistration<'_>,
    ) -> Result<Registered, Error> {
        // The size first: nothing of a body beyond the limit is parsed.
        let max_body = self.inner.limits.max_request_body_bytes;
        if body.len() > max_body {
            return Err(Error::LimitExceeded {
                limit: Limit::RequestBody,
                value: max_body as u64,
                context: Some(format!(
                    "an explicit registration body of {} bytes",
                    body.len()
                )),
            });
        }
        let media = content_type.split(';').next().unwrap_or_default().trim();
        let (resolved, request_jwks) =
            if media.eq_ignore_ascii_case("application/entity-statement+jwt") {
                self.resolve_configuration(body, reg).await?
            } else if media.eq_ignore_ascii_case("application/trust-chain+json") {
                let chain = parse_chain(body, self.inner.limits.max_chain_length)?;
                let resolved = self
                    .resolve_received_chain(&chain, &reg.entity_type)
                    .await?;
                (resolved, None)
            } else {
                return Err(invalid(RequestError::UnsupportedContentType {
                    content_type: content_type.to_string(),
                }));
            };
        self.answer(resolved, request_jwks, reg).await
    }

    /// An EC body: `aud` must be the server; chains are collected from its
    /// `authority_hints` (or its `trust_chain` header) and the request's own metadata, made
    /// for this server, is what gets resolved (§12.2.2 steps 2–5).
    async fn resolve_configuration(
        &self,
        body: &[u8],
        reg: &ExplicitRegistration<'_>,
    ) -> Result<(ResolvedEntity, Option<Value>), Error> {
        let text = std::str::from_utf8(body).map_err(|_| invalid(RequestError::NotUtf8))?;
        let rules = StatementRules {
            expected_aud: Some(reg.our_entity_id.to_string()),
            allow_chain_headers: true,
            ..(*self.inner.rules).clone()
        };
        let ec = EntityStatement::parse(text, &rules)?;
        if !ec.is_configuration() {
            return Err(invalid(RequestError::NotEntityConfiguration));
        }
        if ec.claim("aud").is_none() {
            return Err(invalid(RequestError::WrongAudience {
                expected: reg.our_entity_id.to_string(),
            }));
        }
        if ec.authority_hints().is_empty() {
            return Err(invalid(RequestError::AuthorityHintsMissing));
        }
        if ec.jws().header().contains_key("peer_trust_chain")
            && !ec.jws().header().contains_key("trust_chain")
        {
            return Err(invalid(RequestError::PeerChainWithoutChain));
        }
        let peer = super::automatic::chain_header(ec.jws().header(), "peer_trust_chain")?;
        ec.check_time(self.inner.clock.now(), self.inner.skew)?;
        ec.verify_with(ec.jwks(), "the request's own jwks")?;
        let jwks = ec.claim("jwks").cloned();
        let ec = Arc::new(ec);
        let subject = ec.subject().clone();
        let deadline = self.deadline();
        let _turn = self.admit(deadline).await?;
        let walk = self.walk_until(false, deadline);
        let (chains, attempts, configurations) =
            self.find_chains_on(&walk, &subject, Some(ec)).await?;
        let mut resolved = self.choose(
            &subject,
            &reg.entity_type,
            chains,
            attempts,
            Arc::new(configurations),
            &walk.anchors,
        )?;
        self.evaluate_trust_marks_within(&mut resolved, &walk, &subject)
            .await?;
        // §12.2.2 step 6: a peer chain starts at this server and ends at the RP's anchor.
        if let Some(peer) = peer {
            let p = self
                .validate_chain_until(&peer, &EntityType::OPENID_PROVIDER, deadline)
                .await
                .map_err(|e| {
                    invalid(RequestError::PeerChainInvalid {
                        source: Some(Box::new(e)),
                    })
                })?;
            if p.entity_id().as_str() != reg.our_entity_id {
                return Err(invalid(RequestError::PeerChainNotForServer {
                    starts_at: p.entity_id().clone(),
                }));
            }
            if p.trust_anchor() != resolved.trust_anchor() {
                return Err(invalid(RequestError::AnchorMismatch));
            }
        }
        Ok((resolved, jwks))
    }

    async fn answer(
        &self,
        resolved: ResolvedEntity,
        request_jwks: Option<Value>,
        reg: &ExplicitRegistration<'_>,
    ) -> Result<Registered, Error> {
        let now = self.inner.clock.now();
        let mut record = self.record_from(&resolved).await?;
        let mut metadata = match reg.decide {
            Some(decide) => decide(&resolved)
                .map_err(|reason| invalid(RequestError::MetadataRefused { reason }))?,
            None => resolved.metadata().clone(),
        };
        metadata.insert(
            "client_id".into(),
            Value::from(resolved.entity_id().as_str()),
        );
        // A registration never outlives the chain (§12.2.2 step 9).
        let exp = resolved
            .expires_at()
            .min(now.saturating_add(reg.max_lifetime.max(1)));
        let mut claims = json!({
            "iss": reg.our_entity_id,
            "sub": resolved.entity_id().as_str(),
            "aud": resolved.entity_id().as_str(),
            "iat": now,
            "exp": exp,
            "trust_anchor": resolved.trust_anchor().as_str(),
            "metadata": { reg.entity_type.as_str(): metadata },
        });
        if let Some(sup) = resolved.chain().immediate_superior() {
            claims["authority_hints"] = json!([sup.as_str()]);
        }
        if let Some(jwks) = request_jwks {
            claims["jwks"] = jwks;
        }
        let response =
            sign_jwt(reg.signer, REGISTRATION_RESPONSE_TYP, &claims, None).map_err(|source| {
                ConfigError::Signing {
                    what: "the registration response",
                    source,
                }
            })?;
        record.metadata = claims["metadata"][reg.entity_type.as_str()]
            .as_object()
            .cloned()
            .unwrap_or_default();
        record.expires_at = exp.into();
        Ok(Registered {
            response,
            record: Arc::new(record),
        })
    }
}

/// Parses a `trust-chain+json` body (a JSON array of compact JWTs) element by element,
/// stopping at the first element beyond `max`: a body of a million strings costs what its
/// first `max + 1` cost, not a million values.
fn parse_chain(body: &[u8], max: usize) -> Result<Vec<String>, Error> {
    let too_many = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = ChainVisitor {
        max,
        too_many: &too_many,
    }
    .deserialize(&mut de)
    .and_then(|chain| de.end().map(|()| chain));
    match parsed {
        Ok(chain) => Ok(chain),
        Err(_) if too_many.get() => Err(Error::LimitExceeded {
            limit: Limit::ChainLength,
            value: max as u64,
            context: Some(format!(
                "an explicit registration body holds more than {max} statements"
            )),
        }),
        Err(e) => Err(invalid(RequestError::NotAChain {
            detail: e.to_string(),
        })),
    }
}

struct ChainVisitor<'a> {
    max: usize,
    /// Set when the array has more than `max` elements (the error itself is serde's).
    too_many: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for ChainVisitor<'_> {
    type Value = Vec<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<String>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ChainVisitor<'_> {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of compact JWTs")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut out = Vec::new();
        while let Some(jwt) = seq.next_element::<String>()? {
            if out.len() == self.max {
                self.too_many.set(true);
                return Err(serde::de::Error::custom("too many statements"));
            }
            out.push(jwt);
        }
        Ok(out)
    }
}
