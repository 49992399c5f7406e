//! Automatic Registration (§12.1): an authorization request whose `client_id` is an Entity
//! Identifier, proven by a signed Request Object (JAR, also inside PAR), and the
//! `private_key_jwt` client assertion at the token endpoint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::entity_id::EntityId;
use crate::error::{ConfigError, Error, ReplayGuardProblem, RequestError};
use crate::jose::{self, Alg, CompactJws, JoseError, TypRule};
use crate::json::parse_object;
use crate::record::ClientRecord;
use crate::resolver::{EntityType, Resolver};

/// A boxed, sendable future: what the crate's object-safe async traits return.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Remembers `jti` values so a Request Object or assertion is used once (§12.1.1.1). The
/// server provides one (shared storage in a cluster: a database, Redis…);
/// [`MemoryReplayGuard`] suits one node.
///
/// A token is accepted until its `exp` plus the accepted clock skew, so its `jti` must be
/// kept at least that long: the resolver passes that instant as `keep_until`.
///
/// Any type can be the guard; the server's own storage usually is:
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::collections::HashSet;
/// use std::sync::Mutex;
/// use oidfed::server::{BoxFuture, ReplayGuard};
/// struct SeenOnce(Mutex<HashSet<(String, String)>>); // never forgets: a sketch
/// impl ReplayGuard for SeenOnce {
///     fn first_use<'a>(&'a self, client_id: &'a str, jti: &'a str, _keep_until: i64, _now: i64)
///         -> BoxFuture<'a, Result<bool, oidfed::Error>> {
///         let fresh = self.0.lock().unwrap().insert((client_id.into(), jti.into()));
///         Box::pin(async move { Ok(fresh) })
///     }
/// }
/// let guard = SeenOnce(Mutex::default());
/// assert!(guard.first_use("https://rp.example", "j1", 200, 100).await.unwrap());
/// assert!(!guard.first_use("https://rp.example", "j1", 200, 150).await.unwrap());
/// # });
/// ```
pub trait ReplayGuard: Send + Sync {
    /// Records `jti` of `client_id`, keeping it until `keep_until` (the token's `exp` plus the
    /// accepted clock skew). `Ok(true)` the first time; `Ok(false)` when already recorded and still kept.
    fn first_use<'a>(
        &'a self,
        client_id: &'a str,
        jti: &'a str,
        keep_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<bool, crate::Error>>;
}

/// An in-memory [`ReplayGuard`] holding at most `capacity` live entries; entries past their
/// `keep_until` are dropped as new ones arrive. When full of live entries it refuses with
/// [`crate::Error::Config`] (fails closed).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use oidfed::server::{MemoryReplayGuard, ReplayGuard};
/// let guard = MemoryReplayGuard::new(1);
/// assert!(guard.first_use("https://rp.example", "j1", 200, 100).await.unwrap());
/// assert!(!guard.first_use("https://rp.example", "j1", 200, 150).await.unwrap()); // a replay
/// // Full of live entries: refuses (fails closed) rather than forgetting one.
/// assert!(guard.first_use("https://rp.example", "j2", 300, 150).await.is_err());
/// // Once `j1` is past its `keep_until`, there is room again.
/// assert!(guard.first_use("https://rp.example", "j2", 300, 201).await.unwrap());
/// # });
/// ```
#[derive(Debug)]
pub struct MemoryReplayGuard {
    seen: Mutex<HashMap<(String, String), i64>>,
    capacity: usize,
}

impl MemoryReplayGuard {
    /// A guard for up to `capacity` live `jti`s; see the [`MemoryReplayGuard`] example.
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    fn record(&self, client_id: &str, jti: &str, keep_until: i64, now: i64) -> Result<bool, Error> {
        let Ok(mut seen) = self.seen.lock() else {
            return Err(ConfigError::ReplayGuard(ReplayGuardProblem::Poisoned).into());
        };
        let key = (client_id.to_string(), jti.to_string());
        if seen.get(&key).is_some_and(|until| *until > now) {
            return Ok(false);
        }
        if seen.len() >= self.capacity {
            seen.retain(|_, until| *until > now);
            if seen.len() >= self.capacity {
                return Err(ConfigError::ReplayGuard(ReplayGuardProblem::Full {
                    capacity: self.capacity,
                })
                .into());
            }
        }
        seen.insert(key, keep_until);
        Ok(true)
    }
}

impl Default for MemoryReplayGuard {
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl ReplayGuard for MemoryReplayGuard {
    fn first_use<'a>(
        &'a self,
        client_id: &'a str,
        jti: &'a str,
        keep_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        let result = self.record(client_id, jti, keep_until, now);
        Box::pin(async move { result })
    }
}

/// A request JWT (Request Object or client assertion) whose checks that need no client
/// keys passed: what the signature check and the replay check still need.
pub(crate) struct CheckedRequest {
    pub(crate) jws: CompactJws,
    pub(crate) alg: Alg,
    pub(crate) kid: String,
    pub(crate) claims: Map<String, Value>,
    /// `client_id` (Request Object) or `iss` (client assertion).
    pub(crate) client_id: String,
    pub(crate) jti: String,
    pub(crate) exp: i64,
}

/// Where the client's trust came from.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # use serde_json::json;
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").leaf("rp", &["ta"])
/// #     .metadata("rp", "openid_relying_party", json!({"client_name": "RP"}))
/// #     .protocol_key("rp", "openid_relying_party", oidfed::testing::KeyAlg::ES256)
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let key = fed.protocol_key("rp").unwrap();
/// # let now = oidfed::Clock::now(&fed.clock());
/// # let rp = fed.id("rp");
/// # let request_object = |jti: &str| key.sign_with_header(
/// #     &json!({"alg": "ES256", "kid": key.kid(), "typ": "oauth-authz-req+jwt"}),
/// #     &json!({"iss": rp.as_str(), "client_id": rp.as_str(), "aud": "https://op.example",
/// #             "jti": jti, "exp": now + 300, "response_type": "code", "scope": "openid"}));
/// use oidfed::server::{ChainSource, MemoryReplayGuard, RequestPolicy};
/// let policy = RequestPolicy::new("https://op.example");
/// let guard = MemoryReplayGuard::default();
/// // No `trust_chain` header: the server resolved the client's chain itself.
/// let verified = resolver.verify_request_object(&request_object("j1"), &policy, &guard).await.unwrap();
/// assert_eq!(verified.chain_source, ChainSource::Resolved);
/// assert!(verified.header_chain_problem.is_none());
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainSource {
    /// The `trust_chain` JWS header, fully verified.
    Header,
    /// Resolution from the client's Entity Configuration (or the record cache).
    Resolved,
}

/// A verified Request Object.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # use serde_json::json;
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").leaf("rp", &["ta"])
/// #     .metadata("rp", "openid_relying_party", json!({"client_name": "RP"}))
/// #     .protocol_key("rp", "openid_relying_party", oidfed::testing::KeyAlg::ES256)
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let key = fed.protocol_key("rp").unwrap();
/// # let now = oidfed::Clock::now(&fed.clock());
/// # let rp = fed.id("rp");
/// # let request_object = |jti: &str| key.sign_with_header(
/// #     &json!({"alg": "ES256", "kid": key.kid(), "typ": "oauth-authz-req+jwt"}),
/// #     &json!({"iss": rp.as_str(), "client_id": rp.as_str(), "aud": "https://op.example",
/// #             "jti": jti, "exp": now + 300, "response_type": "code", "scope": "openid"}));
/// use oidfed::server::{MemoryReplayGuard, RequestPolicy};
/// let policy = RequestPolicy::new("https://op.example");
/// let guard = MemoryReplayGuard::default();
/// let verified = resolver.verify_request_object(&request_object("j1"), &policy, &guard).await.unwrap();
/// assert_eq!(verified.claims["scope"], "openid");
/// assert_eq!(verified.client.metadata["client_name"], "RP");
/// # });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifiedRequest {
    /// The client's record (metadata, keys, organization, expiry).
    pub client: Arc<ClientRecord>,
    /// The Request Object's claims.
    pub claims: Map<String, Value>,
    /// Where the client's chain came from.
    pub chain_source: ChainSource,
    /// Why a `trust_chain` header, if one was sent, was not used.
    pub header_chain_problem: Option<String>,
}

/// What a server checks a Request Object or client assertion against.
///
/// ```
/// use oidfed::{EntityType, server::RequestPolicy};
/// let mut policy = RequestPolicy::new("https://op.example");
/// assert_eq!((policy.max_lifetime, &policy.entity_type), (600, &EntityType::OPENID_RELYING_PARTY));
/// // The token endpoint is an acceptable audience of client assertions too.
/// policy.assertion_audiences.push("https://op.example/token".into());
/// policy.max_lifetime = 120;
/// assert!(policy.assertion_audiences.iter().any(|a| a.ends_with("/token")));
/// ```
#[derive(Debug, Clone)]
pub struct RequestPolicy {
    /// The server's own Entity Identifier: the only acceptable `aud` of a Request Object.
    pub our_entity_id: String,
    /// Extra acceptable `aud` values for client assertions (e.g. the token endpoint URL).
    pub assertion_audiences: Vec<String>,
    /// The longest lifetime (`exp - now`) accepted, in seconds (default 600).
    pub max_lifetime: i64,
    /// The client Entity Type (default `openid_relying_party`).
    pub entity_type: EntityType,
}

impl RequestPolicy {
    /// The defaults for a server whose Entity Identifier is `our_entity_id`; see the
    /// [`RequestPolicy`] example.
    pub fn new(our_entity_id: &str) -> Self {
        Self {
            our_entity_id: our_entity_id.to_string(),
            assertion_audiences: Vec::new(),
            max_lifetime: 600,
            entity_type: EntityType::OPENID_RELYING_PARTY,
        }
    }
}

pub(crate) fn invalid(reason: RequestError) -> Error {
    Error::InvalidRequest { reason }
}

/// Splits a Request Object or client assertion and checks its header with the one JOSE
/// header check every JWT kind goes through ([`jose::check_header_with`]): `typ` as
/// `typ_rule` says, an accepted `alg`, no key-carrying or `crit` headers, a `kid`.
pub(crate) fn decode(
    jwt: &str,
    max_len: usize,
    algs: &[Alg],
    typ_rule: TypRule<'_>,
) -> Result<(CompactJws, Alg, String, Map<String, Value>), Error> {
    let jws = CompactJws::parse_with_limit(jwt, max_len)
        .map_err(|e| invalid(RequestError::Jws(Box::new(e))))?;
    let (alg, kid) =
        jose::check_header_with(&jws, typ_rule, algs).map_err(|e| invalid(header_problem(e)))?;
    let kid = kid.to_string();
    let claims = parse_object(jws.payload()).map_err(|e| invalid(RequestError::Payload(e)))?;
    Ok((jws, alg, kid, claims))
}

/// The request-check form of a failed header check: the header rules are the JOSE layer's,
/// the variants are the ones an authorization server maps to its OAuth error.
fn header_problem(e: JoseError) -> RequestError {
    match e {
        JoseError::MissingAlg => RequestError::AlgMissing,
        JoseError::AlgNotAllowed(alg) => RequestError::AlgNotAccepted { alg },
        JoseError::KeyInHeader(h) => {
            match ["jwk", "jku", "x5u", "x5c"].into_iter().find(|k| *k == h) {
                Some(header) => RequestError::HeaderNotAccepted { header },
                None => RequestError::Jws(Box::new(JoseError::KeyInHeader(h))),
            }
        }
        JoseError::CritHeader(_) => RequestError::HeaderNotAccepted { header: "crit" },
        JoseError::MissingKid => RequestError::Missing { name: "kid" },
        JoseError::WrongTyp { found, .. } => RequestError::WrongTyp { typ: found },
        other => RequestError::Jws(Box::new(other)),
    }
}

pub(crate) fn audience_is(claims: &Map<String, Value>, accepted: &[&str], only_one: bool) -> bool {
    match claims.get("aud") {
        Some(Value::String(a)) => accepted.contains(&a.as_str()),
        Some(Value::Array(a)) if !only_one || a.len() == 1 => a
            .iter()
            .any(|x| x.as_str().is_some_and(|x| accepted.contains(&x))),
        _ => false,
    }
}

pub(super) fn chain_header(
    h: &Map<String, Value>,
    name: &str,
) -> Result<Option<Vec<String>>, Error> {
    let malformed = || {
        invalid(RequestError::MalformedChainHeader {
            header: name.to_string(),
        })
    };
    match h.get(name) {
        None => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string).ok_or_else(malformed))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(malformed()),
    }
}

impl Resolver {
    /// Verifies a Request Object from a client that may be unknown to the server (§12.1.1.1):
    /// `client_id` is an Entity Identifier equal to `iss`; `aud` is exactly the server;
    /// no `sub`; `jti` and `exp` present; the client's trust is established from the
    /// `trust_chain` header (fully verified; `peer_trust_chain` must end at the same anchor)
    /// or by resolution; the signature verifies with the client's **resolved protocol
    /// keys**; the `jti` is used once.
    ///
    /// # Errors
    ///
    /// **Never redirect an error of this function** to the request's `redirect_uri`
    /// (§12.1.3): each arises before the request is known to come from a trusted client with
    /// valid metadata (the `jti` replay check aside, which is no redirect case either), so
    /// the redirect URI is unverified. Answer directly — in a PAR error response, or with an
    /// error page — using [`Error::spec_code`]. Errors of the server's own later processing
    /// (e.g. `consent_required`) are redirected as usual.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use serde_json::json;
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").leaf("rp", &["ta"])
    /// #     .metadata("rp", "openid_relying_party", json!({"client_name": "RP"}))
    /// #     .protocol_key("rp", "openid_relying_party", oidfed::testing::KeyAlg::ES256)
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let key = fed.protocol_key("rp").unwrap();
    /// # let now = oidfed::Clock::now(&fed.clock());
    /// # let rp = fed.id("rp");
    /// # let request_object = |jti: &str| key.sign_with_header(
    /// #     &json!({"alg": "ES256", "kid": key.kid(), "typ": "oauth-authz-req+jwt"}),
    /// #     &json!({"iss": rp.as_str(), "client_id": rp.as_str(), "aud": "https://op.example",
    /// #             "jti": jti, "exp": now + 300, "response_type": "code", "scope": "openid"}));
    /// use oidfed::server::{MemoryReplayGuard, RequestPolicy};
    /// let policy = RequestPolicy::new("https://op.example");
    /// let guard = MemoryReplayGuard::default();
    /// let jwt = request_object("j1");
    /// let verified = resolver.verify_request_object(&jwt, &policy, &guard).await.unwrap();
    /// assert_eq!(verified.client.client_id, rp);
    /// // The same `jti` again is a replay: the client is refused.
    /// let e = resolver.verify_request_object(&jwt, &policy, &guard).await.unwrap_err();
    /// assert!(matches!(e, oidfed::Error::InvalidClient { .. }), "{e}");
    /// # });
    /// ```
    pub async fn verify_request_object(
        &self,
        jwt: &str,
        policy: &RequestPolicy,
        replay: &dyn ReplayGuard,
    ) -> Result<VerifiedRequest, Error> {
        let inner = &self.inner;
        let CheckedRequest {
            jws,
            alg,
            kid,
            claims,
            client_id,
            jti,
            exp,
        } = self.request_object_claims(jwt, policy)?;
        let client_id = client_id.as_str();
        let client = self.entity_id(client_id)?;

        let (record, chain_source, header_chain_problem) = self
            .client_from_headers(&client, jws.header(), policy)
            .await?;
        // A record the resolver keeps has its keys parsed (and verifiers built) once.
        let keys = inner
            .client_keys
            .keys_of(&record, chain_source == ChainSource::Resolved)
            .await
            .map_err(|e| invalid(RequestError::ClientKeys(Box::new(e))))?;
        keys.verify(&jws, alg, &kid, "the client's protocol keys")
            .map_err(|source| Error::InvalidClient {
                client_id: client_id.to_string(),
                reason: RequestError::Signature {
                    what: "request object".into(),
                    source: Box::new(source),
                },
            })?;
        self.use_jti(replay, client_id, &jti, exp).await?;
        Ok(VerifiedRequest {
            client: record,
            claims,
            chain_source,
            header_chain_problem,
        })
    }

    /// Verifies a `private_key_jwt` client assertion (§12.1.4, RFC 7523): `iss` = `sub` =
    /// the client's Entity Identifier; `aud` one of the server's identifiers; `jti` and `exp`;
    /// signed with the client's resolved protocol keys; used once.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use serde_json::json;
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").leaf("rp", &["ta"])
    /// #     .metadata("rp", "openid_relying_party", json!({"client_name": "RP"}))
    /// #     .protocol_key("rp", "openid_relying_party", oidfed::testing::KeyAlg::ES256)
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let key = fed.protocol_key("rp").unwrap();
    /// # let now = oidfed::Clock::now(&fed.clock());
    /// # let rp = fed.id("rp");
    /// use oidfed::server::{MemoryReplayGuard, RequestPolicy};
    /// let mut policy = RequestPolicy::new("https://op.example");
    /// policy.assertion_audiences.push("https://op.example/token".into());
    /// let guard = MemoryReplayGuard::default();
    /// let assertion = key.sign_jwt("JWT", &json!({"iss": rp.as_str(), "sub": rp.as_str(),
    ///     "aud": "https://op.example/token", "jti": "a1", "exp": now + 60}));
    /// let client = resolver.verify_client_assertion(&assertion, &policy, &guard).await.unwrap();
    /// assert_eq!(client.client_id, rp);
    /// let replay = resolver.verify_client_assertion(&assertion, &policy, &guard).await;
    /// assert!(matches!(replay, Err(oidfed::Error::InvalidClient { .. })));
    /// # });
    /// ```
    pub async fn verify_client_assertion(
        &self,
        jwt: &str,
        policy: &RequestPolicy,
        replay: &dyn ReplayGuard,
    ) -> Result<Arc<ClientRecord>, Error> {
        let inner = &self.inner;
        let CheckedRequest {
            jws,
            alg,
            kid,
            client_id,
            jti,
            exp,
            ..
        } = self.assertion_claims(jwt, policy)?;
        let iss = client_id.as_str();
        let client = self.entity_id(iss)?;
        let record = self.record(&client, &policy.entity_type).await?;
        let keys = inner
            .client_keys
            .keys_of(&record, true)
            .await
            .map_err(|e| invalid(RequestError::ClientKeys(Box::new(e))))?;
        keys.verify(&jws, alg, &kid, "the client's protocol keys")
            .map_err(|source| Error::InvalidClient {
                client_id: iss.to_string(),
                reason: RequestError::Signature {
                    what: "client assertion".into(),
                    source: Box::new(source),
                },
            })?;
        self.use_jti(replay, iss, &jti, exp).await?;
        Ok(record)
    }

    /// A Request Object's checks that need no client keys (§12.1.1.1): header, `typ`
    /// (`oauth-authz-req+jwt` when present), `client_id` = `iss`, no `sub`, `aud` exactly
    /// this server, `jti` and lifetime. Shared by the resolver's and the registry's forms.
    pub(crate) fn request_object_claims(
        &self,
        jwt: &str,
        policy: &RequestPolicy,
    ) -> Result<CheckedRequest, Error> {
        let inner = &self.inner;
        let (jws, alg, kid, claims) = decode(
            jwt,
            inner.limits.max_statement_bytes,
            &inner.rules.algs,
            TypRule::IfPresent(&["oauth-authz-req+jwt"]),
        )?;
        let client_id = claims
            .get("client_id")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(RequestError::Missing { name: "client_id" }))?
            .to_string();
        if claims.get("iss").and_then(Value::as_str) != Some(client_id.as_str()) {
            return Err(invalid(RequestError::IssNotClientId));
        }
        if claims.contains_key("sub") {
            return Err(invalid(RequestError::SubInRequestObject));
        }
        if !audience_is(&claims, &[policy.our_entity_id.as_str()], true) {
            return Err(invalid(RequestError::WrongAudience {
                expected: format!("exactly {}", policy.our_entity_id),
            }));
        }
        let (jti, exp) = self.check_lifetime(&claims, policy)?;
        Ok(CheckedRequest {
            jws,
            alg,
            kid,
            claims,
            client_id,
            jti,
            exp,
        })
    }

    /// A client assertion's checks that need no client keys (§12.1.4, RFC 7523): header,
    /// `iss` = `sub`, `aud` naming this server, `jti` and lifetime. Shared by the
    /// resolver's and the registry's forms.
    pub(crate) fn assertion_claims(
        &self,
        jwt: &str,
        policy: &RequestPolicy,
    ) -> Result<CheckedRequest, Error> {
        let inner = &self.inner;
        let (jws, alg, kid, claims) = decode(
            jwt,
            inner.limits.max_statement_bytes,
            &inner.rules.algs,
            TypRule::Unchecked,
        )?;
        let iss = claims
            .get("iss")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(RequestError::Missing { name: "iss" }))?
            .to_string();
        if claims.get("sub").and_then(Value::as_str) != Some(iss.as_str()) {
            return Err(invalid(RequestError::SubNotIss));
        }
        let mut audiences: Vec<&str> = vec![policy.our_entity_id.as_str()];
        audiences.extend(policy.assertion_audiences.iter().map(String::as_str));
        if !audience_is(&claims, &audiences, false) {
            return Err(invalid(RequestError::WrongAudience {
                expected: format!("one of {}", audiences.join(", ")),
            }));
        }
        let (jti, exp) = self.check_lifetime(&claims, policy)?;
        Ok(CheckedRequest {
            jws,
            alg,
            kid,
            claims,
            client_id: iss,
            jti,
            exp,
        })
    }

    /// Uses the token's `jti` once: `replay` keeps it as long as the token itself is
    /// accepted, until `exp` plus the clock skew (see `check_lifetime`).
    pub(crate) async fn use_jti(
        &self,
        replay: &dyn ReplayGuard,
        client_id: &str,
        jti: &str,
        exp: i64,
    ) -> Result<(), Error> {
        let keep_until = exp.saturating_add(self.inner.skew);
        if replay
            .first_use(client_id, jti, keep_until, self.inner.clock.now())
            .await?
        {
            Ok(())
        } else {
            Err(Error::InvalidClient {
                client_id: client_id.to_string(),
                reason: RequestError::Replayed {
                    jti: jti.to_string(),
                },
            })
        }
    }

    pub(crate) fn check_lifetime(
        &self,
        claims: &Map<String, Value>,
        policy: &RequestPolicy,
    ) -> Result<(String, i64), Error> {
        let now = self.inner.clock.now();
        let skew = self.inner.skew;
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .filter(|j| !j.is_empty())
            .ok_or_else(|| invalid(RequestError::Missing { name: "jti" }))?
            .to_string();
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or_else(|| invalid(RequestError::Missing { name: "exp" }))?;
        if now >= exp.saturating_add(skew) {
            return Err(invalid(RequestError::Expired { exp }));
        }
        if exp - now > policy.max_lifetime {
            return Err(invalid(RequestError::LifetimeTooLong {
                max_lifetime: policy.max_lifetime,
            }));
        }
        if let Some(iat) = claims.get("iat") {
            let iat = iat
                .as_i64()
                .ok_or_else(|| invalid(RequestError::IatNotInteger))?;
            if iat > now.saturating_add(skew) {
                return Err(invalid(RequestError::IatInFuture));
            }
        }
        Ok((jti, exp))
    }

    /// The client's record from the `trust_chain` header when it is usable, otherwise by
    /// resolution (§12.1.1.1.2). A `peer_trust_chain` must end at the same anchor as the
    /// `trust_chain` (MUST, §12.1.1.1.1).
    async fn client_from_headers(
        &self,
        client: &EntityId,
        header: &Map<String, Value>,
        policy: &RequestPolicy,
    ) -> Result<(Arc<ClientRecord>, ChainSource, Option<String>), Error> {
        let chain = chain_header(header, "trust_chain")?;
        let peer = chain_header(header, "peer_trust_chain")?;
        if peer.is_some() && chain.is_none() {
            return Err(invalid(RequestError::PeerChainWithoutChain));
        }
        let Some(chain) = chain else {
            let record = self.record(client, &policy.entity_type).await?;
            return Ok((record, ChainSource::Resolved, None));
        };
        let header_result = async {
            let resolved = self
                .resolve_received_chain(&chain, &policy.entity_type)
                .await?;
            if resolved.entity_id() != client {
                return Err(invalid(RequestError::ChainNotForClient {
                    starts_at: resolved.entity_id().clone(),
                }));
            }
            Ok(resolved)
        }
        .await;
        if let Some(peer) = peer {
            let peer_resolved = self
                .resolve_received_chain(&peer, &EntityType::OPENID_PROVIDER)
                .await;
            let peer_anchor = match &peer_resolved {
                // The peer chain is the server's own (§12.1.1.1.1): it starts here.
                Ok(p) if p.entity_id().as_str() != policy.our_entity_id => {
                    return Err(invalid(RequestError::PeerChainNotForServer {
                        starts_at: p.entity_id().clone(),
                    }));
                }
                Ok(p) => Some(p.trust_anchor().clone()),
                Err(_) => None,
            };
            match (&header_result, peer_anchor) {
                (Ok(r), Some(a)) if *r.trust_anchor() == a => {}
                (_, None) => {
                    return Err(invalid(RequestError::PeerChainInvalid {
                        source: peer_resolved.err().map(Box::new),
                    }));
                }
                _ => return Err(invalid(RequestError::AnchorMismatch)),
            }
        }
        match header_result {
            Ok(resolved) => {
                let record = Arc::new(self.record_from(&resolved).await?);
                Ok((record, ChainSource::Header, None))
            }
            Err(problem) => {
                // An unusable chain is only a failed hint: resolve from the client's EC.
                let record = self.record(client, &policy.entity_type).await?;
                Ok((record, ChainSource::Resolved, Some(problem.to_string())))
            }
        }
    }
}
