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
use crate::server::automatic::{CheckedRequest, invalid};

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
        verify_with_registry_keys(&client, &jws, alg, &kid, "client assertion")?;
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
        verify_with_registry_keys(&client, &jws, alg, &kid, "request object")?;
        resolver.use_jti(replay, client_id, &jti, exp).await?;
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
}

fn verify_with_registry_keys(
    client: &RegisteredClient,
    jws: &crate::jose::CompactJws,
    alg: crate::jose::Alg,
    kid: &str,
    what: &str,
) -> Result<(), Error> {
    let keys = KeySet::from_json(&client.keys())
        .map_err(|e| invalid(crate::error::RequestError::ClientKeys(Box::new(e))))?;
    keys.verify(jws, alg, kid, "the client's protocol keys in the registry")
        .map_err(|source| Error::InvalidClient {
            client_id: client.client_id.clone(),
            reason: crate::error::RequestError::Signature {
                what: what.to_string(),
                source: Box::new(source),
            },
        })
}
