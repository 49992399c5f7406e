//! The authorization server's request checks in the registry's form: the client's status
//! and keys are read from the registry's database on every call, so every replica sharing
//! the database checks the same keys and refuses a revoked client at once.
//!
//! Every registration model is looked up the same way, by client_id:
//!
//! * unknown client: when the client_id is an Entity Identifier, admitted (automatic
//!   registration, actor `request`) or refused with [`RegistryError::UnknownClient`], by
//!   [`super::RegistryOptions::admit_unknown`]; any other unknown client_id (a generated
//!   DCR id, a manual one) is [`RegistryError::UnknownClient`] and nothing is resolved;
//! * revoked (offboarded, trust lost, deleted through RFC 7592, expired manual client
//!   swept): [`RegistryError::Revoked`]; suspended: [`RegistryError::Suspended`]; a manual
//!   client at or past its expiry, before a sweep revoked it: [`RegistryError::Expired`];
//! * active or stale: the signature must verify with the keys the registry holds for the
//!   client's stored version — a federation client's current record, a dynamic or manual
//!   client's registered `jwks` — parsed once per version by every replica. A dynamic or
//!   manual client whose registration gave only a `jwks_uri` (or a software statement's
//!   `software_jwks_endpoint`) is refused with [`RegistryError::NoKeys`]: the registry's
//!   request path fetches nothing for clients the federation does not describe.
//!
//! A `trust_chain` header is not used here: the registry's record is what every replica
//! checks (a new client is admitted by resolving it).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::Registry;
use super::error::RegistryError;
use super::manual::ManualRegistration;
use super::model::{Actor, RegisteredClient, RegistrationModel};
use crate::error::Error;
use crate::jose::KeySet;
use crate::resolver::Resolver;
use crate::server::ReplayGuard;
use crate::server::RequestPolicy;
use crate::server::automatic::{CheckedRequest, invalid};

/// A Request Object verified against the registry.
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
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-registry_request.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// use oidfed::server::{MemoryReplayGuard, RequestPolicy};
/// let policy = RequestPolicy::new("https://op.example");
/// let guard = MemoryReplayGuard::default();
/// // An unknown client is admitted by its first request (automatic registration).
/// let req = registry.verify_request_object(&resolver, &request_object("j1"), &policy, &guard).await.unwrap();
/// assert_eq!(req.claims["scope"], "openid");
/// assert!(req.client.status().is_active());
/// assert_eq!(registry.clients().await.unwrap().len(), 1);
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RegistryRequest {
    /// The client as the registry holds it (status, organization, keys).
    pub client: RegisteredClient,
    /// The Request Object's claims.
    pub claims: Map<String, Value>,
}

impl Registry {
    /// The registry's form of [`Resolver::verify_client_assertion`] (§12.1.4, RFC 7523):
    /// the same claim checks (`iss` = `sub`, `aud`, `jti`, `exp`, lifetime), then the
    /// client's registry entry decides: see the module documentation. `replay` is asked
    /// once per `jti` (pass a registry-backed guard to share it across replicas).
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
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-verify_assertion.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// use oidfed::server::RequestPolicy;
    /// let mut policy = RequestPolicy::new("https://op.example");
    /// policy.assertion_audiences.push("https://op.example/token".into());
    /// let assertion = key.sign_jwt("JWT", &json!({"iss": rp.as_str(), "sub": rp.as_str(),
    ///     "aud": "https://op.example/token", "jti": "a1", "exp": now + 60}));
    /// // The registry itself is the replay guard every replica shares.
    /// let client = registry.verify_client_assertion(&resolver, &assertion, &policy, &registry).await.unwrap();
    /// assert_eq!(client.client_id(), rp.as_str());
    /// // Offboarded: its next request is refused, whatever the federation says.
    /// registry.offboard_client(&rp, "contract ended").await.unwrap();
    /// # let assertion = key.sign_jwt("JWT", &json!({"iss": rp.as_str(), "sub": rp.as_str(),
    /// #     "aud": "https://op.example/token", "jti": "a2", "exp": now + 60}));
    /// let e = registry.verify_client_assertion(&resolver, &assertion, &policy, &registry).await.unwrap_err();
    /// assert_eq!(e.spec_code(), "invalid_client");
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn verify_client_assertion(
        &self,
        resolver: &Resolver,
        jwt: &str,
        policy: &RequestPolicy,
        replay: &dyn ReplayGuard,
    ) -> Result<RegisteredClient, Error> {
        let CheckedRequest {
            jws,
            alg,
            kid,
            client_id,
            jti,
            exp,
            ..
        } = resolver.assertion_claims(jwt, policy)?;
        let iss = client_id.as_str();
        // Boxed: admission resolves a whole chain, and its state machine is deep.
        let client = Box::pin(self.usable_client(resolver, iss, policy)).await?;
        let keys = self.keys_of(resolver, &client).await?;
        verify_with(&keys, &client, &jws, alg, &kid, "client assertion")?;
        resolver.use_jti(replay, iss, &jti, exp).await?;
        Ok(client)
    }

    /// The registry's form of [`Resolver::verify_request_object`] (§12.1.1.1): the same
    /// claim checks (`client_id` = `iss`, `aud` exactly this server, no `sub`, `jti`,
    /// `exp`), then the client's registry entry decides: see the module documentation.
    ///
    /// # Errors
    ///
    /// As for [`Resolver::verify_request_object`], **never redirect an error of this
    /// function** to the request's `redirect_uri` (§12.1.3).
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
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-verify_ro.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// use oidfed::registry::RegistryOptions;
    /// use oidfed::server::RequestPolicy;
    /// # let registry = oidfed::registry::Registry::open_with("sqlite::memory:",
    /// #     { let mut o = RegistryOptions::default(); o.admit_unknown = false; o }).await.unwrap();
    /// let policy = RequestPolicy::new("https://op.example");
    /// // With `admit_unknown` off, only clients an operator admitted may send requests.
    /// let e = registry.verify_request_object(&resolver, &request_object("j1"), &policy, &registry).await;
    /// assert!(e.is_err());
    /// registry.admit(&resolver, &rp, &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// let req = registry.verify_request_object(&resolver, &request_object("j2"), &policy, &registry).await.unwrap();
    /// assert_eq!(req.client.client_id(), rp.as_str());
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn verify_request_object(
        &self,
        resolver: &Resolver,
        jwt: &str,
        policy: &RequestPolicy,
        replay: &dyn ReplayGuard,
    ) -> Result<RegistryRequest, Error> {
        let CheckedRequest {
            jws,
            alg,
            kid,
            claims,
            client_id,
            jti,
            exp,
        } = resolver.request_object_claims(jwt, policy)?;
        let client_id = client_id.as_str();
        let client = Box::pin(self.usable_client(resolver, client_id, policy)).await?;
        let keys = self.keys_of(resolver, &client).await?;
        verify_with(&keys, &client, &jws, alg, &kid, "request object")?;
        resolver.use_jti(replay, client_id, &jti, exp).await?;
        Ok(RegistryRequest { client, claims })
    }

    /// The client's current registry entry, whatever its registration model; admitted
    /// first when unknown, an Entity Identifier and allowed; refused when revoked or
    /// suspended, or (manual) past its expiry.
    async fn usable_client(
        &self,
        resolver: &Resolver,
        client_id: &str,
        policy: &RequestPolicy,
    ) -> Result<RegisteredClient, Error> {
        let unknown = || RegistryError::UnknownClient {
            client_id: client_id.to_string(),
        };
        let client = match self.store.client(client_id).await? {
            Some(c) => c,
            // Not stored as written: a federation client stored under its normalized
            // Entity Identifier, or a new one to admit. A client_id that is no Entity
            // Identifier (a generated DCR id, a manual one) is unknown: nothing to resolve.
            None => {
                let Ok(id) = resolver.entity_id(client_id) else {
                    return Err(unknown().into());
                };
                match self.store.client(id.as_str()).await? {
                    Some(c) => c,
                    None if self.options.admit_unknown => {
                        match self
                            .admit_by(resolver, id.as_str(), &policy.entity_type, Actor::Request)
                            .await
                        {
                            Ok(c) => c,
                            // Another replica admitted it first: use its entry.
                            Err(Error::Registry(e))
                                if matches!(*e, RegistryError::Conflict { .. }) =>
                            {
                                self.store.client(id.as_str()).await?.ok_or_else(unknown)?
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    None => return Err(unknown().into()),
                }
            }
        };
        usable(&client, client_id, resolver.now())?;
        Ok(client)
    }

    /// The protocol keys the registry holds for `client` at its stored version, parsed
    /// once per version (the resolver's key cache): a federation client's from its
    /// current record; a dynamic or manual client's from the `jwks` its registration
    /// stored (a manual client past its expiry is refused here, before the sweep revokes
    /// it). A registration with only a `jwks_uri` (or a software statement's
    /// `software_jwks_endpoint`) is refused with [`RegistryError::NoKeys`]: the request
    /// path does not fetch keys for clients the federation does not describe.
    async fn keys_of(
        &self,
        resolver: &Resolver,
        client: &RegisteredClient,
    ) -> Result<Arc<KeySet>, Error> {
        let jwks = match client.model {
            RegistrationModel::Federation => None,
            model => Some(self.registered_jwks(resolver, client, model).await?),
        };
        resolver
            .inner
            .client_keys
            .stored_keys_of(
                &client.client_id,
                &client.entity_type,
                client.version,
                jwks.unwrap_or_else(|| client.keys()),
            )
            .await
            .map_err(|e| invalid(crate::error::RequestError::ClientKeys(Box::new(e))))
    }

    /// The protocol keys (a JWK Set) the registry holds for `client_id`, whatever its
    /// registration model: a federation client's from its current record, a dynamic or
    /// manual client's from the `jwks` its registration stored. These are the keys
    /// [`Registry::verify_client_assertion`] verifies with; like it, this refuses a
    /// revoked, suspended or expired client.
    ///
    /// # Errors
    ///
    /// [`RegistryError::UnknownClient`]; [`RegistryError::Expired`] for a manual client past
    /// its expiry; [`RegistryError::NoKeys`] for a registration with only a `jwks_uri`.
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
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-protocol_keys.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// registry.admit(&resolver, &rp, &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// let keys = registry.protocol_keys(&resolver, rp.as_str()).await.unwrap();
    /// assert_eq!(keys["keys"][0]["kid"], key.kid());
    /// assert!(registry.protocol_keys(&resolver, "https://nobody.example").await.is_err());
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn protocol_keys(
        &self,
        resolver: &Resolver,
        client_id: &str,
    ) -> Result<Value, Error> {
        let client =
            self.store
                .client(client_id)
                .await?
                .ok_or_else(|| RegistryError::UnknownClient {
                    client_id: client_id.to_string(),
                })?;
        usable(&client, client_id, resolver.now())?;
        match client.model {
            RegistrationModel::Federation => Ok(client.keys()),
            model => self.registered_jwks(resolver, &client, model).await,
        }
    }

    /// The `jwks` a dynamic or manual registration holds.
    async fn registered_jwks(
        &self,
        resolver: &Resolver,
        client: &RegisteredClient,
        model: RegistrationModel,
    ) -> Result<Value, Error> {
        let id = client.client_id.as_str();
        let corrupt = |detail: String| RegistryError::Corrupt {
            what: "oidfed_registrations",
            key: id.to_string(),
            detail,
        };
        let row = self
            .store
            .registration(id)
            .await?
            .filter(|r| r.model == model)
            .ok_or_else(|| corrupt(format!("no {} registration", model.as_str())))?;
        let (metadata, statement) = match model {
            RegistrationModel::Dynamic => {
                let r = super::dynamic::parse_details(id, row.details)?;
                (r.metadata, Some(r.statement.claims))
            }
            _ => {
                let m: ManualRegistration =
                    serde_json::from_value(row.details).map_err(|e| corrupt(e.to_string()))?;
                if resolver.now() >= m.expires_at {
                    return Err(RegistryError::Expired {
                        client_id: id.to_string(),
                        expires_at: m.expires_at,
                    }
                    .into());
                }
                (m.metadata, None)
            }
        };
        if let Some(jwks) = metadata.get("jwks") {
            return Ok(jwks.clone());
        }
        let elsewhere = metadata
            .get("jwks_uri")
            .map(|u| format!("its registration names only jwks_uri {u}"))
            .or_else(|| {
                statement
                    .as_ref()
                    .and_then(|c| c.get("software_jwks_endpoint"))
                    .map(|u| {
                        format!("its software statement names only software_jwks_endpoint {u}")
                    })
            })
            .unwrap_or_else(|| "its registration has no jwks".to_string());
        Err(RegistryError::NoKeys {
            client_id: id.to_string(),
            reason: format!("{elsewhere}; register the keys inline as jwks"),
        }
        .into())
    }
}

fn verify_with(
    keys: &KeySet,
    client: &RegisteredClient,
    jws: &crate::jose::CompactJws,
    alg: crate::jose::Alg,
    kid: &str,
    what: &str,
) -> Result<(), Error> {
    keys.verify(jws, alg, kid, "the client's protocol keys in the registry")
        .map_err(|source| Error::InvalidClient {
            client_id: client.client_id.clone(),
            reason: crate::error::RequestError::Signature {
                what: what.to_string(),
                source: Box::new(source),
            },
        })
}

/// Refuses a client that must not be used now: revoked, suspended, or past the expiry of
/// what vouches for it (see [`RegistryError::Expired`]).
fn usable(client: &RegisteredClient, client_id: &str, now: i64) -> Result<(), Error> {
    if client.status.is_revoked() {
        return Err(RegistryError::Revoked {
            client_id: client_id.to_string(),
            status: Box::new(client.status.clone()),
        }
        .into());
    }
    if !client.status.is_active() {
        return Err(RegistryError::Suspended {
            client_id: client_id.to_string(),
            status: Box::new(client.status.clone()),
        }
        .into());
    }
    if let Some(until) = client.trust_expires_at() {
        if now >= until {
            return Err(RegistryError::Expired {
                client_id: client_id.to_string(),
                expires_at: until,
            }
            .into());
        }
    }
    Ok(())
}
