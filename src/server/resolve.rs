//! The resolve endpoint (§8.3): a server answering for others, and a client of a trusted
//! remote resolver.

use crate::statement::{Rounding, check_validity, numeric_date, optional_numeric_date};
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::entity_id::EntityId;
use crate::error::{ConfigError, Error, RequestError, ResponseProblem};
use crate::fetch::{FetchKind, FetchRequest, Fetcher};
use crate::jose::{self, Alg, CompactJws, HeaderRules, KeySet};
use crate::json::parse_object;
use crate::resolver::{EntityType, ResolvedEntity};
use crate::signer::SignerError;
use crate::signer::{Signer, sign_jwt};

/// The `typ` of a resolve response.
pub const RESOLVE_RESPONSE_TYP: &str = "resolve-response+jwt";

/// Builds a signed resolve response for `resolved` (§8.3.2): `iss` the server, `sub` the
/// subject, `metadata` of the resolved type, `trust_chain`, valid `trust_marks`, and
/// `exp` = the minimum of the chain's and every returned mark's expiry.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").leaf("rp", &["ta"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let now = oidfed::Clock::now(&fed.clock());
/// use oidfed::EntityType;
/// use oidfed::server::resolve_response;
/// use oidfed::signer::{JwkSigner, Signer};
/// let signer = JwkSigner::generate_es256("resolver-1").unwrap();
/// let resolved = resolver.resolve(&fed.id("rp"), &EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// let jwt = resolve_response(&resolved, "https://resolver.example", &signer, now).unwrap();
///
/// let jws = oidfed::jose::CompactJws::parse(&jwt).unwrap();
/// assert_eq!(jws.header()["typ"], "resolve-response+jwt");
/// # });
/// ```
pub fn resolve_response(
    resolved: &ResolvedEntity,
    our_entity_id: &str,
    signer: &dyn Signer,
    now: i64,
) -> Result<String, SignerError> {
    let marks: Vec<Value> = resolved
        .trust_marks()
        .iter()
        .map(|m| json!({"trust_mark_type": m.trust_mark_type, "trust_mark": m.jwt}))
        .collect();
    let mut claims = json!({
        "iss": our_entity_id,
        "sub": resolved.entity_id().as_str(),
        "iat": now,
        "exp": resolved.expires_at(),
        "metadata": { resolved.entity_type().as_str(): resolved.metadata() },
        "trust_chain": resolved.chain().to_jwts(),
    });
    if !marks.is_empty() {
        claims["trust_marks"] = Value::Array(marks);
    }
    sign_jwt(signer, RESOLVE_RESPONSE_TYP, &claims, None)
}

/// What a trusted remote resolver answered, after verification.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").leaf("rp", &["ta"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let now = oidfed::Clock::now(&fed.clock());
/// use oidfed::EntityType;
/// use oidfed::server::resolve_response;
/// use oidfed::signer::{JwkSigner, Signer};
/// let signer = JwkSigner::generate_es256("resolver-1").unwrap();
/// let resolved = resolver.resolve(&fed.id("rp"), &EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// let jwt = resolve_response(&resolved, "https://resolver.example", &signer, now).unwrap();
/// # use oidfed::fetch::{FetchResponse, MemoryFetcher};
/// # use oidfed::server::RemoteResolver;
/// # let endpoint = url::Url::parse("https://resolver.example/resolve").unwrap();
/// # let mut asked = endpoint.clone();
/// # asked.query_pairs_mut().append_pair("sub", fed.id("rp").as_str())
/// #     .append_pair("trust_anchor", fed.id("ta").as_str())
/// #     .append_pair("entity_type", "openid_relying_party");
/// # let fetcher = MemoryFetcher::new();
/// # fetcher.insert(asked.as_str(), FetchResponse::ok("application/resolve-response+jwt", jwt));
/// let remote = RemoteResolver::new(
///     endpoint,
///     oidfed::EntityId::parse("https://resolver.example").unwrap(),
///     &serde_json::json!({"keys": [signer.public_jwk()]}),
///     fetcher,
///     fed.clock(),
/// ).unwrap();
/// let answer = remote
///     .resolve(&fed.id("rp"), &fed.id("ta"), &EntityType::OPENID_RELYING_PARTY)
///     .await
///     .unwrap();
///
/// assert_eq!(answer.subject, fed.id("rp"));
/// assert_eq!(answer.metadata["client_name"], "RP");
/// assert_eq!(answer.trust_chain.len(), 3);
/// assert!(answer.trust_marks.is_empty());
/// # });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RemoteResolution {
    /// The subject.
    pub subject: EntityId,
    /// The resolved metadata of the requested type.
    pub metadata: Map<String, Value>,
    /// The chain the resolver used.
    pub trust_chain: Vec<String>,
    /// Trust ends at this time.
    pub expires_at: i64,
    /// The trust marks returned (type, JWT).
    pub trust_marks: Vec<(String, String)>,
}

/// Asks a remote resolve endpoint instead of resolving locally (§10.6), and verifies the
/// answer with the keys the deployment trusts for that resolver (e.g. the anchor's own,
/// when the anchor runs the resolver).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").leaf("rp", &["ta"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let now = oidfed::Clock::now(&fed.clock());
/// use oidfed::EntityType;
/// use oidfed::server::resolve_response;
/// use oidfed::signer::{JwkSigner, Signer};
/// let signer = JwkSigner::generate_es256("resolver-1").unwrap();
/// let resolved = resolver.resolve(&fed.id("rp"), &EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// let jwt = resolve_response(&resolved, "https://resolver.example", &signer, now).unwrap();
/// # use oidfed::fetch::{FetchResponse, MemoryFetcher};
/// # use oidfed::server::RemoteResolver;
/// # let endpoint = url::Url::parse("https://resolver.example/resolve").unwrap();
/// # let mut asked = endpoint.clone();
/// # asked.query_pairs_mut().append_pair("sub", fed.id("rp").as_str())
/// #     .append_pair("trust_anchor", fed.id("ta").as_str())
/// #     .append_pair("entity_type", "openid_relying_party");
/// # let fetcher = MemoryFetcher::new();
/// # fetcher.insert(asked.as_str(), FetchResponse::ok("application/resolve-response+jwt", jwt));
/// let remote = RemoteResolver::new(
///     endpoint,
///     oidfed::EntityId::parse("https://resolver.example").unwrap(),
///     &serde_json::json!({"keys": [signer.public_jwk()]}),
///     fetcher,
///     fed.clock(),
/// ).unwrap();
/// let answer = remote
///     .resolve(&fed.id("rp"), &fed.id("ta"), &EntityType::OPENID_RELYING_PARTY)
///     .await
///     .unwrap();
///
/// assert_eq!(answer.expires_at, resolved.expires_at());
/// # });
/// ```
pub struct RemoteResolver {
    endpoint: url::Url,
    resolver_id: EntityId,
    keys: KeySet,
    fetcher: Arc<dyn Fetcher>,
    clock: Arc<dyn crate::Clock>,
    skew: i64,
}

impl RemoteResolver {
    /// A client of the resolve endpoint `endpoint` run by `resolver_id`, whose answers must
    /// verify with `jwks`.
    ///
    /// See the [`RemoteResolver`] example.
    pub fn new(
        endpoint: url::Url,
        resolver_id: EntityId,
        jwks: &Value,
        fetcher: impl Fetcher,
        clock: impl crate::Clock,
    ) -> Result<Self, Error> {
        let keys = KeySet::from_json(jwks).map_err(|e| ConfigError::ResolverKeys(Box::new(e)))?;
        Ok(Self {
            endpoint,
            resolver_id,
            keys,
            fetcher: Arc::new(fetcher),
            clock: Arc::new(clock),
            skew: 60,
        })
    }

    /// Asks for `subject` as `entity_type` under `trust_anchor`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").leaf("rp", &["ta"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let now = oidfed::Clock::now(&fed.clock());
    /// use oidfed::EntityType;
    /// use oidfed::server::resolve_response;
    /// use oidfed::signer::{JwkSigner, Signer};
    /// let signer = JwkSigner::generate_es256("resolver-1").unwrap();
    /// let resolved = resolver.resolve(&fed.id("rp"), &EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// let jwt = resolve_response(&resolved, "https://resolver.example", &signer, now).unwrap();
    /// # use oidfed::fetch::{FetchResponse, MemoryFetcher};
    /// # use oidfed::server::RemoteResolver;
    /// # let endpoint = url::Url::parse("https://resolver.example/resolve").unwrap();
    /// # let mut asked = endpoint.clone();
    /// # asked.query_pairs_mut().append_pair("sub", fed.id("rp").as_str())
    /// #     .append_pair("trust_anchor", fed.id("ta").as_str())
    /// #     .append_pair("entity_type", "openid_relying_party");
    /// # let fetcher = MemoryFetcher::new();
    /// # fetcher.insert(asked.as_str(), FetchResponse::ok("application/resolve-response+jwt", jwt));
    /// let remote = RemoteResolver::new(
    ///     endpoint,
    ///     oidfed::EntityId::parse("https://resolver.example").unwrap(),
    ///     &serde_json::json!({"keys": [signer.public_jwk()]}),
    ///     fetcher,
    ///     fed.clock(),
    /// ).unwrap();
    /// let answer = remote
    ///     .resolve(&fed.id("rp"), &fed.id("ta"), &EntityType::OPENID_RELYING_PARTY)
    ///     .await
    ///     .unwrap();
    ///
    /// assert_eq!(answer.subject, fed.id("rp"));
    /// // An answer not signed by the trusted resolver's keys is refused.
    /// let other = JwkSigner::generate_es256("intruder").unwrap();
    /// # let forged = resolve_response(&resolved, "https://resolver.example", &other, now).unwrap();
    /// # let fetcher = MemoryFetcher::new();
    /// # fetcher.insert(asked.as_str(), FetchResponse::ok("application/resolve-response+jwt", forged));
    /// # let remote = RemoteResolver::new(url::Url::parse("https://resolver.example/resolve").unwrap(),
    /// #     oidfed::EntityId::parse("https://resolver.example").unwrap(),
    /// #     &serde_json::json!({"keys": [signer.public_jwk()]}), fetcher, fed.clock()).unwrap();
    /// let refused = remote.resolve(&fed.id("rp"), &fed.id("ta"), &EntityType::OPENID_RELYING_PARTY).await;
    /// assert!(refused.is_err());
    /// # });
    /// ```
    pub async fn resolve(
        &self,
        subject: &EntityId,
        trust_anchor: &EntityId,
        entity_type: &EntityType,
    ) -> Result<RemoteResolution, Error> {
        let mut url = self.endpoint.clone();
        url.query_pairs_mut()
            .append_pair("sub", subject.as_str())
            .append_pair("trust_anchor", trust_anchor.as_str())
            .append_pair("entity_type", entity_type.as_str());
        let wrap = |source| Error::Fetch {
            entity: subject.clone(),
            what: "resolve response",
            source,
        };
        let response = self
            .fetcher
            .fetch(FetchRequest::get(url.clone(), FetchKind::ResolveResponse))
            .await
            .map_err(wrap)?;
        let body = response.into_body(&url).map_err(wrap)?;
        let text = String::from_utf8(body).map_err(|_| bad(ResponseProblem::NotUtf8))?;
        let jws = CompactJws::parse(&text).map_err(|e| bad(ResponseProblem::Jws(Box::new(e))))?;
        let rules = HeaderRules {
            typ: RESOLVE_RESPONSE_TYP,
            lenient_typ: false,
            algs: &Alg::ALL,
        };
        let (alg, kid) =
            jose::check_header(&jws, &rules).map_err(|e| bad(ResponseProblem::Jws(Box::new(e))))?;
        self.keys
            .verify(&jws, alg, kid, &format!("resolver {}", self.resolver_id))
            .map_err(|e| bad(ResponseProblem::Jws(Box::new(e))))?;
        let claims = parse_object(jws.payload()).map_err(|e| bad(ResponseProblem::Payload(e)))?;
        if let Some(header_chain) = jws.header().get("trust_chain") {
            self.check_header_chain(header_chain, trust_anchor)?;
        }
        if claims.get("iss").and_then(Value::as_str) != Some(self.resolver_id.as_str()) {
            return Err(bad(ResponseProblem::WrongIssuer));
        }
        if claims.get("sub").and_then(Value::as_str) != Some(subject.as_str()) {
            return Err(bad(ResponseProblem::WrongSubject));
        }
        // iat and exp are NumericDates judged as in a statement (§8.3.2; §3.2 steps 7–8).
        let now = self.clock.now();
        let malformed = |detail: String| bad(ResponseProblem::MalformedDate { detail });
        let exp = numeric_date(&claims, "exp", Rounding::Down).map_err(malformed)?;
        let iat = optional_numeric_date(&claims, "iat", Rounding::Up).map_err(malformed)?;
        check_validity(iat, Some(exp), now, self.skew)
            .map_err(|(rule, detail)| bad(ResponseProblem::NotValidNow { rule, detail }))?;
        let metadata = claims
            .get("metadata")
            .and_then(|m| m.get(entity_type.as_str()))
            .and_then(Value::as_object)
            .cloned()
            .ok_or_else(|| {
                bad(ResponseProblem::NoMetadata {
                    entity_type: entity_type.to_string(),
                })
            })?;
        let trust_chain = claims
            .get("trust_chain")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .ok_or_else(|| bad(ResponseProblem::TrustChainMissing))?;
        let trust_marks = claims
            .get("trust_marks")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|m| {
                        Some((
                            m.get("trust_mark_type")?.as_str()?.to_string(),
                            m.get("trust_mark")?.as_str()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(RemoteResolution {
            subject: subject.clone(),
            metadata,
            trust_chain,
            expires_at: exp,
            trust_marks,
        })
    }
}

impl RemoteResolver {
    /// §8.3: a `trust_chain` header holds the resolver's own chain, which starts at the
    /// resolver and MUST end at the requested anchor. Its shape is checked here; its
    /// signatures are not (the answer itself verified with the resolver's configured keys).
    fn check_header_chain(&self, chain: &Value, trust_anchor: &EntityId) -> Result<(), Error> {
        let chain = chain
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| bad(ResponseProblem::HeaderChainMalformed))?;
        let claim = |i: usize, name: &str| -> Option<String> {
            let jws = CompactJws::parse(chain.get(i)?.as_str()?).ok()?;
            let claims = parse_object(jws.payload()).ok()?;
            claims.get(name)?.as_str().map(str::to_string)
        };
        if claim(0, "sub").as_deref() != Some(self.resolver_id.as_str()) {
            return Err(bad(ResponseProblem::HeaderChainNotFromResolver));
        }
        let end = claim(chain.len() - 1, "iss");
        if end.as_deref() != Some(trust_anchor.as_str()) {
            return Err(bad(ResponseProblem::HeaderChainWrongAnchor {
                ends_at: end,
                anchor: trust_anchor.to_string(),
            }));
        }
        Ok(())
    }
}

fn bad(problem: ResponseProblem) -> Error {
    Error::InvalidRequest {
        reason: RequestError::ResolveResponse(problem),
    }
}
