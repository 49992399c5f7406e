//! Dynamic and manual clients stay under control: a sweep re-resolves every dynamic
//! client's organization (the software statement issuer's chain, or the organization a
//! directory named) against the federation as it is now, once per organization and with
//! the sweep's memo of statements (shared with the federation clients of the same sweep),
//! and revokes the clients of an organization that left it or that the directory withdrew;
//! it checks the statement's `software_jwks_revoked_endpoint` when it has one; and it
//! revokes manual clients past their expiry.
//!
//! An organization that cannot be reached is treated as a federation client's unreachable
//! superior, by the same transition: its clients are stale while the organization chain
//! of their last validation is valid ([`super::RegisteredClient::trust_expires_at`]),
//! suspended after, and active again on the first sweep that resolves it.

use super::error::RegistryError;
use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};

use super::Registry;
use super::audit::{AuditEntry, AuditEvent};
use super::dynamic::{DynamicRegistration, revocation};
use super::evidence::evidence_of;
use super::model::{Actor, ClientStatus, Evidence, RegistrationModel, StatusKind};
use super::store::{Batch, ClientWrite};
use super::sweep::{ClientOutcome, SweepOutcome, failure_outcome};
use super::transition::failure;
use crate::error::Error;
use crate::fetch::{FetchKind, FetchRequest};
use crate::jose::KeySet;
use crate::resolver::{EntityType, ResolvedEntity, Resolver, SweepMemo};
use crate::server::dcr::StatementForm;

type OrgResult = Result<ResolvedEntity, Error>;

impl Registry {
    /// Re-validates every dynamic client's organization binding and expires manual clients
    /// (part of [`Registry::sweep`]); one outcome per client looked at. Each organization
    /// is resolved once per call, every statement fetched anew.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use serde_json::json;
    /// # use oidfed::Clock;
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let now = fed.clock().now();
    /// # // A software statement the organization `org` signed, and a registration request.
    /// # let statement = |jti: &str| fed.key("org").sign_jwt("JWT", &json!({
    /// #     "iss": fed.id("org").as_str(), "iat": now, "exp": now + 3600, "jti": jti,
    /// #     "software_id": "sw-1", "client_name": "Vouched"}));
    /// # let body = |ssa: &str| json!({"redirect_uris": ["https://app.example/cb"],
    /// #     "jwks": oidfed::testing::TestKey::generate(oidfed::testing::KeyAlg::ES256).public_jwks(),
    /// #     "software_statement": ssa}).to_string().into_bytes();
    /// use oidfed::server::MemoryReplayGuard;
    /// use oidfed::server::dcr::{DcrConfig, DcrGate};
    /// let gate = DcrGate::new(resolver, DcrConfig::default());
    /// let guard = MemoryReplayGuard::default();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-sweep_registrations.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// use oidfed::registry::SweepOutcome;
    /// let registered = registry.register_dynamic(&gate, &body(&statement("j1")), &guard).await.unwrap();
    /// let outcomes = registry.sweep_registrations(gate.resolver()).await.unwrap();
    /// assert!(matches!(outcomes[0].outcome, SweepOutcome::Unchanged));
    /// // The organization leaves the federation: its dynamic client is revoked.
    /// fed.remove_ss("ta", "org");
    /// let outcomes = registry.sweep_registrations(gate.resolver()).await.unwrap();
    /// assert_eq!(outcomes[0].client_id, registered.registration.client_id);
    /// assert!(matches!(outcomes[0].outcome, SweepOutcome::Revoked { .. }));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn sweep_registrations(
        &self,
        resolver: &Resolver,
    ) -> Result<Vec<ClientOutcome>, Error> {
        self.sweep_registrations_with(resolver, &SweepMemo::new())
            .await
    }

    /// [`Registry::sweep_registrations`] with the statements of `memo` (fetched anew, once
    /// per memo): a sweep passes its own, so a statement its federation clients and its
    /// dynamic clients' organizations share is fetched once.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use serde_json::json;
    /// # use oidfed::Clock;
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let now = fed.clock().now();
    /// # // A software statement the organization `org` signed, and a registration request.
    /// # let statement = |jti: &str| fed.key("org").sign_jwt("JWT", &json!({
    /// #     "iss": fed.id("org").as_str(), "iat": now, "exp": now + 3600, "jti": jti,
    /// #     "software_id": "sw-1", "client_name": "Vouched"}));
    /// # let body = |ssa: &str| json!({"redirect_uris": ["https://app.example/cb"],
    /// #     "jwks": oidfed::testing::TestKey::generate(oidfed::testing::KeyAlg::ES256).public_jwks(),
    /// #     "software_statement": ssa}).to_string().into_bytes();
    /// use oidfed::server::MemoryReplayGuard;
    /// use oidfed::server::dcr::{DcrConfig, DcrGate};
    /// let gate = DcrGate::new(resolver, DcrConfig::default());
    /// let guard = MemoryReplayGuard::default();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-sweep_registrations_with.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// use oidfed::registry::{SweepMemo, SweepOutcome};
    /// registry.register_dynamic(&gate, &body(&statement("j1")), &guard).await.unwrap();
    /// let memo = SweepMemo::new();
    /// let outcomes = registry.sweep_registrations_with(gate.resolver(), &memo).await.unwrap();
    /// assert!(matches!(outcomes[0].outcome, SweepOutcome::Unchanged));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn sweep_registrations_with(
        &self,
        resolver: &Resolver,
        memo: &SweepMemo,
    ) -> Result<Vec<ClientOutcome>, Error> {
        let now = resolver.now();
        let mut outcomes = Vec::new();
        let mut orgs: HashMap<String, OrgResult> = HashMap::new();
        for row in self
            .store
            .registrations_by_model(RegistrationModel::Dynamic)
            .await?
        {
            let Some(client) = self.store.client(&row.client_id).await? else {
                continue;
            };
            if client.status.is_revoked() {
                continue;
            }
            let reg: DynamicRegistration = match serde_json::from_value(row.details) {
                Ok(r) => r,
                Err(e) => {
                    // Its organization cannot be read: reported, for an operator to repair.
                    tracing::warn!(target: "oidfed::registry", client_id = %row.client_id, error = %e,
                        "unreadable dynamic registration");
                    outcomes.push(ClientOutcome {
                        client_id: row.client_id.clone(),
                        previous: client.status.kind,
                        outcome: SweepOutcome::NotWritten {
                            error: RegistryError::Corrupt {
                                what: "oidfed_registrations",
                                key: row.client_id.clone(),
                                detail: format!("dynamic registration details: {e}"),
                            }
                            .into(),
                        },
                    });
                    continue;
                }
            };
            let s = &reg.statement;
            if !orgs.contains_key(&s.organization_id) {
                let r = match resolver.entity_id(&s.organization_id) {
                    Ok(id) => {
                        resolver
                            .discover_with(
                                &id,
                                &EntityType::FEDERATION_ENTITY,
                                true,
                                Some(memo.memo.clone()),
                            )
                            .await
                    }
                    Err(e) => Err(e),
                };
                orgs.insert(s.organization_id.clone(), r);
            }
            let previous = client.status.kind;
            let verdict = match &orgs[&s.organization_id] {
                Ok(org) if org.trust_anchor().as_str() != s.trust_anchor => Err(Evidence {
                    rule: Some("trust_anchor".into()),
                    detail: format!(
                        "organization {} now resolves to {}, not {}",
                        s.organization_id,
                        org.trust_anchor(),
                        s.trust_anchor
                    ),
                    chain_fingerprint: Some(s.chain_fingerprint.clone()),
                    ..Evidence::default()
                }),
                Ok(_) => match revoked_key(resolver, &reg).await {
                    Ok(Some(kid)) => Err(Evidence {
                        rule: Some("revoked_key".into()),
                        detail: format!(
                            "key {kid:?} is listed at the statement's software_jwks_revoked_endpoint"
                        ),
                        ..Evidence::default()
                    }),
                    Ok(None) => Ok(()),
                    // The list could not be read: as an unreachable organization.
                    Err(e) => {
                        outcomes.push(
                            self.transient_failure(&client, &e, now, &s.chain_fingerprint)
                                .await,
                        );
                        continue;
                    }
                },
                // Unreachable: the federation clients' rule, by the same transition.
                Err(e) if e.is_transient() => {
                    outcomes.push(
                        self.transient_failure(&client, e, now, &s.chain_fingerprint)
                            .await,
                    );
                    continue;
                }
                Err(e) => {
                    let mut ev = evidence_of(e, Some(&s.chain_fingerprint));
                    if s.form == StatementForm::DirectoryIssued {
                        ev.detail = format!(
                            "the directory {} no longer vouches for {}: {}",
                            s.issuer, s.organization_id, ev.detail
                        );
                    }
                    Err(ev)
                }
            };
            let client_id = client.client_id.clone();
            let expires = orgs[&s.organization_id]
                .as_ref()
                .ok()
                .map(ResolvedEntity::expires_at);
            let batch = match verdict {
                Ok(()) => {
                    let mut c = client;
                    let expected_version = c.version;
                    c.last_validated = now;
                    c.trust_expires_at = expires;
                    if c.status.kind != StatusKind::Active {
                        c.status =
                            ClientStatus::active("the organization's chain resolves again", now);
                    }
                    Batch {
                        clients: vec![ClientWrite {
                            client: c,
                            expected_version,
                        }],
                        ..Batch::default()
                    }
                }
                Err(evidence) => {
                    let reason =
                        format!("organization {} lost federation trust", s.organization_id);
                    revocation(client, &reason, evidence, now, Actor::Monitor)
                }
            };
            let revoked = batch
                .clients
                .first()
                .is_some_and(|w| w.client.status.is_revoked());
            let evidence = batch
                .clients
                .first()
                .and_then(|w| w.client.status.evidence.clone());
            let outcome = match self.store.apply(batch).await {
                Err(e) => SweepOutcome::NotWritten { error: e.into() },
                Ok(()) if revoked => SweepOutcome::Revoked {
                    evidence: evidence.unwrap_or_default(),
                },
                Ok(()) => SweepOutcome::Unchanged,
            };
            outcomes.push(ClientOutcome {
                client_id,
                previous,
                outcome,
            });
        }
        outcomes.extend(self.expire_manual(now).await?);
        Ok(outcomes)
    }

    /// A dynamic client whose organization (or revoked-keys list) could not be checked:
    /// stale while its last validation holds, then suspended, as a federation client.
    async fn transient_failure(
        &self,
        client: &super::RegisteredClient,
        error: &Error,
        now: i64,
        fingerprint: &str,
    ) -> ClientOutcome {
        let t = failure(
            client,
            error,
            now,
            self.options.retry_after,
            Actor::Monitor,
            Some(fingerprint),
        );
        let outcome = match self.store.apply(t.batch).await {
            Ok(()) => failure_outcome(&t.client, now),
            Err(e) => SweepOutcome::NotWritten { error: e.into() },
        };
        ClientOutcome {
            client_id: client.client_id.clone(),
            previous: client.status.kind,
            outcome,
        }
    }

    /// Revokes manual clients at or past their expiry.
    async fn expire_manual(&self, now: i64) -> Result<Vec<ClientOutcome>, Error> {
        let mut outcomes = Vec::new();
        for (row, parsed) in self.manual_registrations().await? {
            let m = match parsed {
                Ok(m) => m,
                Err(corrupt) => {
                    // Its expiry cannot be read: reported, for an operator to repair.
                    let previous = match self.store.client(&row.client_id).await? {
                        Some(c) if !c.status.is_revoked() => c.status.kind,
                        _ => continue,
                    };
                    outcomes.push(ClientOutcome {
                        client_id: row.client_id.clone(),
                        previous,
                        outcome: SweepOutcome::NotWritten {
                            error: corrupt.into(),
                        },
                    });
                    continue;
                }
            };
            if now < m.expires_at {
                continue;
            }
            let Some(client) = self.store.client(&row.client_id).await? else {
                continue;
            };
            if client.status.is_revoked() {
                continue;
            }
            let previous = client.status.kind;
            let evidence = Evidence {
                rule: Some("manual_expiry".into()),
                detail: format!(
                    "manual registration (ticket {}) expired at {}",
                    m.reference, m.expires_at
                ),
                ..Evidence::default()
            };
            let mut batch = revocation(
                client,
                "manual registration expired",
                evidence.clone(),
                now,
                Actor::Monitor,
            );
            batch.audit.push(AuditEntry::new(
                now,
                Actor::Monitor,
                AuditEvent::Changed,
                Some(&row.client_id),
                row.organization_id.as_deref(),
                json!({"manual": "expired", "approver": m.approver, "reference": m.reference}),
            ));
            let outcome = match self.store.apply(batch).await {
                Ok(()) => SweepOutcome::Revoked { evidence },
                Err(e) => SweepOutcome::NotWritten { error: e.into() },
            };
            outcomes.push(ClientOutcome {
                client_id: row.client_id,
                previous,
                outcome,
            });
        }
        Ok(outcomes)
    }
}

/// A `kid` of the client's registered `jwks` that the statement's
/// `software_jwks_revoked_endpoint` lists (a JWK Set of revoked keys), if any. An endpoint
/// that names no usable URL, or that cannot be read or parsed, is an error: the check
/// fails closed (a registration is refused; a sweep makes the client stale, then suspended
/// at its trust expiry, never active on a list it could not read). The error is
/// transient ([`Error::is_transient`]) whatever went wrong, so the sweep's transition
/// never revokes on it alone.
pub(crate) async fn revoked_key(
    resolver: &Resolver,
    reg: &DynamicRegistration,
) -> Result<Option<String>, Error> {
    let Some(claim) = reg.statement.claims.get("software_jwks_revoked_endpoint") else {
        return Ok(None);
    };
    let ours: BTreeSet<String> = reg
        .metadata
        .get("jwks")
        .and_then(|j| KeySet::from_json(j).ok())
        .map(|k| k.keys().iter().map(|k| k.kid().to_string()).collect())
        .unwrap_or_default();
    let text = claim.as_str().unwrap_or_default();
    // Verified an Entity Identifier at registration (the sweep resolved it just before).
    let entity = resolver.entity_id(&reg.statement.organization_id)?;
    let unreadable = |detail: String| Error::Fetch {
        entity: entity.clone(),
        what: "software_jwks_revoked_endpoint",
        source: crate::fetch::FetchError::Transport {
            url: text.to_string(),
            detail,
        },
    };
    let Some(url) = url::Url::parse(text)
        .ok()
        .filter(|u| u.scheme() == "https" || resolver.inner.rules.allow_http)
    else {
        return Err(unreadable(format!(
            "software_jwks_revoked_endpoint {claim} is not an https URL"
        )));
    };
    if ours.is_empty() {
        return Ok(None);
    }
    let body = resolver
        .inner
        .fetcher
        .fetch(FetchRequest::get(url.clone(), FetchKind::JwkSet))
        .await
        .and_then(|r| r.into_body(&url))
        .map_err(|e| unreadable(e.to_string()))?;
    let revoked: Value =
        crate::json::parse_strict(&body).map_err(|e| unreadable(format!("not a JWK Set: {e}")))?;
    let Some(keys) = revoked.get("keys").and_then(Value::as_array) else {
        return Err(unreadable("not a JWK Set: no \"keys\" array".into()));
    };
    let kids: BTreeSet<String> = keys
        .iter()
        .filter_map(|k| k.get("kid").and_then(Value::as_str).map(str::to_string))
        .collect();
    Ok(ours.intersection(&kids).next().cloned())
}
