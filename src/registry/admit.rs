//! Admission, re-admission and offboarding, and the transitions a re-validation applies:
//! each builds one [`Batch`] (client row, organization, audit entries, consent endings)
//! committed in one transaction.

use serde_json::json;

use super::audit::{AuditEntry, AuditEvent};
use super::error::RegistryError;
use super::evidence::evidence_of;
use super::model::{Actor, ClientStatus, Evidence, RegisteredClient, StatusKind};
use super::store::{Batch, ClientWrite};
pub(crate) use super::transition::{Success, failure, success};
use super::{AsEntityType, Registry};
use crate::error::Error;
use crate::resolver::{EntityType, Resolver};

/// What offboarding an organization did.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-offboard_report.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// let report = registry.offboard_organization(&fed.id("org"), "contract ended").await.unwrap();
/// assert_eq!(report.revoked, vec![fed.id("rp").to_string()]);
/// assert!(report.already_revoked.is_empty());
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OffboardReport {
    /// The organization.
    pub organization_id: String,
    /// The clients revoked by this call (one audit entry each).
    pub revoked: Vec<String>,
    /// Its clients that were revoked already.
    pub already_revoked: Vec<String>,
}

const MAX_CONFLICT_RETRIES: usize = 3;

impl Registry {
    /// Resolves `client_id` for `entity_type` with `resolver`, binds it to its
    /// organization and stores it as active; returns what is stored. An operator's act
    /// (audited with actor `operator`).
    ///
    /// A client already registered and not revoked is re-validated and updated (changes
    /// audited). A **revoked** client is refused with [`RegistryError::Revoked`]: a new
    /// admission must be deliberate ([`Registry::readmit`]). A client with no
    /// accountable organization is refused with [`RegistryError::NoOrganization`] when the
    /// resolver is in strict organization mode (or [`super::RegistryOptions`] requires one).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-admit.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// use oidfed::{EntityType, registry::{Actor, RegistrationModel}};
    /// let client = registry
    ///     .admit(&resolver, &fed.id("rp"), &EntityType::OPENID_RELYING_PARTY)
    ///     .await
    ///     .unwrap();
    /// assert_eq!(client.registration_model(), RegistrationModel::Federation);
    /// assert!(client.status().is_active());
    /// assert_eq!(registry.audit_of_client(&fed.id("rp")).await.unwrap()[0].actor, Actor::Operator);
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn admit(
        &self,
        resolver: &Resolver,
        client_id: &(impl AsRef<str> + ?Sized),
        entity_type: &(impl AsEntityType + ?Sized),
    ) -> Result<RegisteredClient, Error> {
        self.admit_by(
            resolver,
            client_id.as_ref(),
            &entity_type.as_entity_type(),
            Actor::Operator,
        )
        .await
    }

    /// [`Registry::admit`] on behalf of `actor` (`request` for automatic registration).
    /// Refusals of operator admissions are audited; refusals of requests are not (an
    /// unknown party must not be able to make the server write).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-admit_by.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// use oidfed::{EntityType, registry::Actor};
    /// let rp = fed.id("rp");
    /// registry
    ///     .admit_by(&resolver, rp.as_str(), &EntityType::OPENID_RELYING_PARTY, Actor::Request)
    ///     .await
    ///     .unwrap();
    /// assert_eq!(registry.audit_of_client(&rp).await.unwrap()[0].actor, Actor::Request);
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn admit_by(
        &self,
        resolver: &Resolver,
        client_id: &str,
        entity_type: &EntityType,
        actor: Actor,
    ) -> Result<RegisteredClient, Error> {
        self.admit_inner(resolver, client_id, entity_type, actor, None)
            .await
    }

    /// Admits a **revoked** client anew: the operator's deliberate act, with `reason`
    /// recorded in the audit trail. The client is resolved again and must pass every check
    /// an admission does. A client that is not revoked is simply admitted.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-readmit.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// use oidfed::{Error, EntityType, registry::{AuditEvent, RegistryError}};
    /// let rp = EntityType::OPENID_RELYING_PARTY;
    /// registry.offboard_client(&fed.id("rp"), "key compromise").await.unwrap();
    /// // A revoked client is not admitted again by accident...
    /// let refused = registry.admit(&resolver, &fed.id("rp"), &rp).await.unwrap_err();
    /// assert!(matches!(refused, Error::Registry(e) if matches!(*e, RegistryError::Revoked { .. })));
    /// // ...only deliberately, with a reason in the audit trail.
    /// let client = registry.readmit(&resolver, &fed.id("rp"), &rp, "keys rotated, TICKET-7").await.unwrap();
    /// assert!(client.status().is_active());
    /// let trail = registry.audit_of_client(&fed.id("rp")).await.unwrap();
    /// assert!(trail.iter().any(|e| e.event == AuditEvent::Readmitted));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn readmit(
        &self,
        resolver: &Resolver,
        client_id: &(impl AsRef<str> + ?Sized),
        entity_type: &(impl AsEntityType + ?Sized),
        reason: &str,
    ) -> Result<RegisteredClient, Error> {
        let et = entity_type.as_entity_type();
        self.admit_inner(
            resolver,
            client_id.as_ref(),
            &et,
            Actor::Operator,
            Some(reason),
        )
        .await
    }

    async fn admit_inner(
        &self,
        resolver: &Resolver,
        client_id: &str,
        entity_type: &EntityType,
        actor: Actor,
        readmit: Option<&str>,
    ) -> Result<RegisteredClient, Error> {
        let id = resolver.entity_id(client_id)?;
        for attempt in 0.. {
            let old = self.store.client(client_id).await?;
            if let Some(o) = &old {
                if o.status.is_revoked() && readmit.is_none() {
                    return Err(RegistryError::Revoked {
                        client_id: client_id.to_string(),
                        status: Box::new(o.status.clone()),
                    }
                    .into());
                }
            }
            let now = resolver.now();
            let record = match resolver.record(&id, entity_type).await {
                Ok(r) => r,
                Err(e) => {
                    let e = match e {
                        Error::OrganizationNotBound { client_id, reason } => {
                            RegistryError::NoOrganization {
                                client_id: client_id.to_string(),
                                reason,
                            }
                            .into()
                        }
                        e => e,
                    };
                    if actor == Actor::Operator {
                        self.audit_refusal(client_id, &e, now).await;
                    }
                    return Err(e);
                }
            };
            if self.options.require_organization && record.organization.is_none() {
                let e: Error = RegistryError::NoOrganization {
                    client_id: client_id.to_string(),
                    reason: "the chain names no organization and the registry requires one".into(),
                }
                .into();
                if actor == Actor::Operator {
                    self.audit_refusal(client_id, &e, now).await;
                }
                return Err(e);
            }
            let how = match (&old, readmit) {
                (Some(o), Some(_)) if o.status.is_revoked() => Success::Readmission,
                _ => Success::Admission,
            };
            let t = success(old.as_ref(), record, entity_type, now, actor, how, readmit);
            match self.store.apply(t.batch).await {
                Ok(()) => return Ok(t.client),
                Err(RegistryError::Conflict { .. }) if attempt < MAX_CONFLICT_RETRIES => continue,
                Err(e) => return Err(e.into()),
            }
        }
        unreachable!("the admission loop returns")
    }

    async fn audit_refusal(&self, client_id: &str, error: &Error, now: i64) {
        let entry = AuditEntry::new(
            now,
            Actor::Operator,
            AuditEvent::AdmissionRefused,
            Some(client_id),
            None,
            json!({"error": error.to_string(), "code": error.spec_code(),
                   "evidence": evidence_of(error, None)}),
        );
        let batch = Batch {
            audit: vec![entry],
            ..Batch::default()
        };
        if let Err(e) = self.store.apply(batch).await {
            tracing::warn!(target: "oidfed::registry", client_id, error = %e,
                "could not audit a refused admission");
        }
    }

    /// Offboards `organization_id`: every client of it not yet revoked is revoked with
    /// `reason` (one audit entry each, its consents ended), and the organization is marked
    /// offboarded — all in one transaction. An operator's act.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-offboard_org.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// use oidfed::registry::StatusKind;
    /// let report = registry.offboard_organization(&fed.id("org"), "contract ended").await.unwrap();
    /// assert_eq!(report.revoked.len(), 1);
    /// let status = registry.status(&fed.id("rp")).await.unwrap().unwrap();
    /// assert_eq!(status.kind, StatusKind::Revoked);
    /// assert!(registry.organizations().await.unwrap()[0].offboarded_at.is_some());
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn offboard_organization(
        &self,
        organization_id: &(impl AsRef<str> + ?Sized),
        reason: &str,
    ) -> Result<OffboardReport, Error> {
        let org = organization_id.as_ref();
        if !self.store.has_organization(org).await? {
            return Err(RegistryError::UnknownOrganization {
                organization_id: org.to_string(),
            }
            .into());
        }
        let now = self.clock.now();
        for attempt in 0.. {
            let clients = self.store.clients_of(org).await?;
            let mut batch = Batch {
                offboard: Some((org.to_string(), now, reason.to_string())),
                actor: Some((Actor::Operator, now)),
                ..Batch::default()
            };
            let mut report = OffboardReport {
                organization_id: org.to_string(),
                revoked: Vec::new(),
                already_revoked: Vec::new(),
            };
            batch.audit.push(AuditEntry::new(
                now,
                Actor::Operator,
                AuditEvent::OrganizationOffboarded,
                None,
                Some(org),
                json!({"reason": reason, "clients": clients.len()}),
            ));
            for c in clients {
                if c.status.is_revoked() {
                    report.already_revoked.push(c.client_id.clone());
                    continue;
                }
                report.revoked.push(c.client_id.clone());
                offboard_one(&mut batch, c, reason, now);
            }
            match self.store.apply(batch).await {
                Ok(()) => return Ok(report),
                Err(RegistryError::Conflict { .. }) if attempt < MAX_CONFLICT_RETRIES => continue,
                Err(e) => return Err(e.into()),
            }
        }
        unreachable!("the offboarding loop returns")
    }

    /// Offboards one client: revoked with `reason` by an operator, its consents ended.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-offboard_client.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// let status = registry.offboard_client(&fed.id("rp"), "contract ended").await.unwrap();
    /// assert!(status.is_revoked());
    /// assert_eq!(status.reason, "contract ended");
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn offboard_client(
        &self,
        client_id: &(impl AsRef<str> + ?Sized),
        reason: &str,
    ) -> Result<ClientStatus, Error> {
        let id = client_id.as_ref();
        let now = self.clock.now();
        for attempt in 0.. {
            let c = self
                .store
                .client(id)
                .await?
                .ok_or_else(|| RegistryError::UnknownClient {
                    client_id: id.to_string(),
                })?;
            if c.status.is_revoked() {
                return Ok(c.status);
            }
            let mut batch = Batch {
                actor: Some((Actor::Operator, now)),
                ..Batch::default()
            };
            let status = offboard_one(&mut batch, c, reason, now);
            match self.store.apply(batch).await {
                Ok(()) => return Ok(status),
                Err(RegistryError::Conflict { .. }) if attempt < MAX_CONFLICT_RETRIES => continue,
                Err(e) => return Err(e.into()),
            }
        }
        unreachable!("the offboarding loop returns")
    }
}

fn offboard_one(
    batch: &mut Batch,
    mut c: RegisteredClient,
    reason: &str,
    now: i64,
) -> ClientStatus {
    let fingerprint = c.record.as_ref().map(|r| r.chain_fingerprint.clone());
    let evidence = Evidence {
        rule: Some("offboarded".into()),
        detail: format!("offboarded by an operator: {reason}"),
        chain_fingerprint: fingerprint,
        ..Evidence::default()
    };
    let from = c.status.kind;
    let status = ClientStatus::new(StatusKind::Revoked, reason, Some(evidence), now, None);
    c.status = status.clone();
    batch.audit.push(
        AuditEntry::new(
            now,
            Actor::Operator,
            AuditEvent::Offboarded,
            Some(&c.client_id),
            c.organization_id.as_deref(),
            json!({"from": from.as_str(), "to": "revoked", "reason": reason, "status": status}),
        )
        .on_chain(chain_of(&c).0, chain_of(&c).1),
    );
    batch
        .end_consents
        .push((c.client_id.clone(), "client offboarded".into()));
    let expected_version = c.version;
    batch.clients.push(ClientWrite {
        client: c,
        expected_version,
    });
    status
}

pub(crate) fn chain_of(c: &RegisteredClient) -> (Option<&str>, Option<&str>) {
    match &c.record {
        Some(r) => (
            Some(r.chain_fingerprint.as_str()),
            Some(r.trust_anchor.as_str()),
        ),
        None => (None, None),
    }
}
