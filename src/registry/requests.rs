//! The authorization server's request checks in the registry's form: the client's status
//! and keys are read from the registry's database on every call, so every replica sharing
//! the database checks the same keys and refuses a revoked client at once.
//!
//! * unknown client: admitted (automatic registration, actor `request`) or refused with
//!   [`RegistryError::UnknownClient`], by [`super::RegistryOptions::admit_unknown`];
//! * revoked: [`RegistryError::Revoked`]; suspended: [`RegistryError::Suspended`];
//! * active or stale: the signature must verify with the registry's current protocol keys.
//!
//! A `trust_chain` header is not used here: the registry's record is what every replica
//! checks (a new client is admitted by resolving it).

use serde_json::{Map, Value};

use super::Registry;
use super::error::RegistryError;
use super::model::{Actor, RegisteredClient};
use crate::error::Error;
use crate::jose::KeySet;
use crate::resolver::Resolver;
use crate::server::ReplayGuard;
use crate::server::RequestPolicy;
use crate::server::automatic::{audience_is, decode, invalid};

/// A Request Object verified against the registry.
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
    pub async fn verify_client_assertion(
        &self,
        resolver: &Resolver,
        jwt: &str,
        policy: &RequestPolicy,
        replay: &dyn ReplayGuard,
    ) -> Result<RegisteredClient, Error> {
        let inner = &resolver.inner;
        let (jws, alg, kid, claims) =
            decode(jwt, inner.limits.max_statement_bytes, &inner.rules.algs)?;
        let iss = claims
            .get("iss")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("iss missing"))?;
        if claims.get("sub").and_then(Value::as_str) != Some(iss) {
            return Err(invalid("sub must equal iss"));
        }
        let mut audiences: Vec<&str> = vec![policy.our_entity_id.as_str()];
        audiences.extend(policy.assertion_audiences.iter().map(String::as_str));
        if !audience_is(&claims, &audiences, false) {
            return Err(invalid("aud does not name this server"));
        }
        let (jti, exp) = resolver.check_lifetime(&claims, policy)?;
        // Boxed: admission resolves a whole chain, and its state machine is deep.
        let client = Box::pin(self.usable_client(resolver, iss, policy)).await?;
        verify_with_registry_keys(&client, &jws, alg, &kid, "client assertion")?;
        self.replay_check(resolver, replay, iss, &jti, exp).await?;
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
    pub async fn verify_request_object(
        &self,
        resolver: &Resolver,
        jwt: &str,
        policy: &RequestPolicy,
        replay: &dyn ReplayGuard,
    ) -> Result<RegistryRequest, Error> {
        let inner = &resolver.inner;
        let (jws, alg, kid, claims) =
            decode(jwt, inner.limits.max_statement_bytes, &inner.rules.algs)?;
        if let Some(typ) = jws.header().get("typ") {
            if typ.as_str() != Some("oauth-authz-req+jwt") {
                return Err(invalid(format!("typ {typ} is not oauth-authz-req+jwt")));
            }
        }
        let client_id = claims
            .get("client_id")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("client_id missing"))?;
        if claims.get("iss").and_then(Value::as_str) != Some(client_id) {
            return Err(invalid("iss must equal client_id"));
        }
        if claims.contains_key("sub") {
            return Err(invalid("a Request Object must not contain sub (§12.1.1.1)"));
        }
        if !audience_is(&claims, &[policy.our_entity_id.as_str()], true) {
            return Err(invalid(format!(
                "aud must be exactly {}",
                policy.our_entity_id
            )));
        }
        let (jti, exp) = resolver.check_lifetime(&claims, policy)?;
        let client = Box::pin(self.usable_client(resolver, client_id, policy)).await?;
        verify_with_registry_keys(&client, &jws, alg, &kid, "request object")?;
        self.replay_check(resolver, replay, client_id, &jti, exp)
            .await?;
        Ok(RegistryRequest { client, claims })
    }

    /// The client's current registry entry, admitted first when unknown and allowed;
    /// refused when revoked or suspended.
    async fn usable_client(
        &self,
        resolver: &Resolver,
        client_id: &str,
        policy: &RequestPolicy,
    ) -> Result<RegisteredClient, Error> {
        let id = resolver.entity_id(client_id)?;
        let client = match self.store.client(id.as_str()).await? {
            Some(c) => c,
            None if self.options.admit_unknown => {
                match self
                    .admit_by(resolver, id.as_str(), &policy.entity_type, Actor::Request)
                    .await
                {
                    Ok(c) => c,
                    // Another replica admitted it first: use its entry.
                    Err(Error::Registry(e)) if matches!(*e, RegistryError::Conflict { .. }) => {
                        self.store.client(id.as_str()).await?.ok_or(
                            RegistryError::UnknownClient {
                                client_id: client_id.to_string(),
                            },
                        )?
                    }
                    Err(e) => return Err(e),
                }
            }
            None => {
                return Err(RegistryError::UnknownClient {
                    client_id: client_id.to_string(),
                }
                .into());
            }
        };
        if client.status.is_revoked() {
            return Err(RegistryError::Revoked {
                client_id: client_id.to_string(),
                status: Box::new(client.status),
            }
            .into());
        }
        if !client.status.is_active() {
            return Err(RegistryError::Suspended {
                client_id: client_id.to_string(),
                status: Box::new(client.status),
            }
            .into());
        }
        Ok(client)
    }

    /// The token's `jti` used once: kept by `replay` until `exp` plus the accepted skew,
    /// the last moment the token itself would be accepted.
    async fn replay_check(
        &self,
        resolver: &Resolver,
        replay: &dyn ReplayGuard,
        client_id: &str,
        jti: &str,
        exp: i64,
    ) -> Result<(), Error> {
        let keep_until = exp.saturating_add(resolver.inner.skew);
        if !replay
            .first_use(client_id, jti, keep_until, resolver.now())
            .await?
        {
            return Err(Error::InvalidClient {
                client_id: client_id.to_string(),
                reason: format!("jti {jti:?} was already used"),
            });
        }
        Ok(())
    }
}

fn verify_with_registry_keys(
    client: &RegisteredClient,
    jws: &crate::jose::CompactJws,
    alg: crate::jose::Alg,
    kid: &str,
    what: &str,
) -> Result<(), Error> {
    let keys = KeySet::from_json(&client.keys()).map_err(|e| invalid(e.to_string()))?;
    keys.verify(jws, alg, kid, "the client's protocol keys in the registry")
        .map_err(|e| Error::InvalidClient {
            client_id: client.client_id.clone(),
            reason: format!("{what}: {e}"),
        })
}
