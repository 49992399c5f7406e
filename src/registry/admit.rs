//! Admission, re-admission and offboarding, and the transitions a re-validation applies:
//! each builds one [`Batch`] (client row, organization, audit entries, consent endings)
//! committed in one transaction.

use std::sync::Arc;

use serde_json::{Value, json};

use super::audit::{AuditEntry, AuditEvent};
use super::error::RegistryError;
use super::evidence::evidence_of;
use super::model::{
    Actor, ClientStatus, Evidence, RegisteredClient, RegistrationModel, StatusKind,
};
use super::store::{Batch, ClientWrite, OrgWrite};
use super::{AsEntityType, Registry};
use crate::error::Error;
use crate::record::{Change, ClientRecord, diff};
use crate::resolver::{EntityType, Resolver};

/// What kind of success is being applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Success {
    /// An admission (new client, or a non-revoked one admitted again).
    Admission,
    /// An operator's deliberate re-admission of a revoked client.
    Readmission,
    /// A sweep's re-validation.
    Revalidation,
}

/// A transition ready to commit.
pub(crate) struct Transition {
    pub batch: Batch,
    pub client: RegisteredClient,
    pub changes: Vec<Change>,
}

/// What offboarding an organization did.
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

fn chain_of(c: &RegisteredClient) -> (Option<&str>, Option<&str>) {
    match &c.record {
        Some(r) => (
            Some(r.chain_fingerprint.as_str()),
            Some(r.trust_anchor.as_str()),
        ),
        None => (None, None),
    }
}

/// The scopes the record's metadata allows, when it restricts them (`scope`).
fn allowed_scopes(record: &ClientRecord) -> Option<Vec<String>> {
    record
        .metadata
        .get("scope")
        .and_then(Value::as_str)
        .map(|s| s.split_whitespace().map(str::to_string).collect())
}

/// The transition a successful resolution makes.
pub(crate) fn success(
    old: Option<&RegisteredClient>,
    record: Arc<ClientRecord>,
    entity_type: &EntityType,
    now: i64,
    actor: Actor,
    how: Success,
    reason: Option<&str>,
) -> Transition {
    let client_id = record.client_id.as_str().to_string();
    let org = record.organization.as_ref();
    let org_id = org.map(|o| o.entity_id.as_str().to_string());
    let changes = old
        .and_then(|o| o.record.as_ref())
        .map(|r| diff(r, &record))
        .unwrap_or_default();
    let mut batch = Batch {
        actor: Some((actor, now)),
        ..Batch::default()
    };
    if let Some(o) = org {
        batch.organizations.push(OrgWrite {
            organization_id: o.entity_id.as_str().to_string(),
            name: o.name.clone(),
            uri: o.uri.clone(),
            seen_at: now,
        });
    }
    let from = old.map(|o| o.status.kind);
    let status = match (old, how) {
        (Some(o), Success::Revalidation | Success::Admission)
            if o.status.kind == StatusKind::Active =>
        {
            o.status.clone()
        }
        (_, Success::Readmission) => ClientStatus::active(
            format!("re-admitted by an operator: {}", reason.unwrap_or("")),
            now,
        ),
        (Some(_), _) => ClientStatus::active("the trust chain resolves again", now),
        (None, _) => ClientStatus::active("admitted", now),
    };
    let entry = |event: AuditEvent, detail: Value| {
        AuditEntry::new(
            now,
            actor,
            event,
            Some(&client_id),
            org_id.as_deref(),
            detail,
        )
        .on_chain(
            Some(&record.chain_fingerprint),
            Some(record.trust_anchor.as_str()),
        )
    };
    match (old, how) {
        (None, _) => batch.audit.push(entry(
            AuditEvent::Admitted,
            json!({
                "entity_type": entity_type.as_str(),
                "registration_model": RegistrationModel::Federation.as_str(),
                "organization": org,
            }),
        )),
        (Some(o), Success::Readmission) => batch.audit.push(entry(
            AuditEvent::Readmitted,
            json!({
                "reason": reason, "previous_status": o.status, "organization": org,
            }),
        )),
        _ => {}
    }
    if !changes.is_empty() {
        batch
            .audit
            .push(entry(AuditEvent::Changed, json!({"changes": changes})));
    }
    if let Some(f) = from {
        if f != status.kind {
            batch.audit.push(entry(
                AuditEvent::StatusChanged,
                json!({
                    "from": f.as_str(), "to": status.kind.as_str(), "status": status,
                }),
            ));
        }
    }
    for c in &changes {
        if let Change::OrganizationChanged { from, to } = c {
            let say = |o: &Option<crate::EntityId>| {
                o.as_ref().map(|e| e.to_string()).unwrap_or("none".into())
            };
            batch.end_consents.push((
                client_id.clone(),
                format!("organization changed from {} to {}", say(from), say(to)),
            ));
        }
    }
    let scope_changed = changes.iter().any(|c| {
        matches!(c,
        Change::MetadataChanged { parameters } if parameters.iter().any(|p| p == "scope"))
    });
    if scope_changed {
        if let Some(allowed) = allowed_scopes(&record) {
            batch.narrow_consents.push((client_id.clone(), allowed));
        }
    }
    let client = RegisteredClient {
        client_id: client_id.clone(),
        entity_type: entity_type.clone(),
        organization_id: org_id.clone(),
        model: old
            .map(|o| o.model)
            .unwrap_or(RegistrationModel::Federation),
        status,
        record: Some(record.clone()),
        admitted_at: match (old, how) {
            (Some(o), Success::Admission | Success::Revalidation) => o.admitted_at,
            _ => now,
        },
        last_validated: now,
        version: old.map(|o| o.version + 1).unwrap_or(1),
    };
    let expected_version = old.map(|o| o.version).unwrap_or(0);
    batch.clients.push(ClientWrite {
        client: client.clone(),
        expected_version,
    });
    Transition {
        batch,
        client,
        changes,
    }
}

/// The transition a failed re-validation makes: stale or suspended for a transient failure
/// (by the old record's expiry), revoked for a permanent one (consents ended).
pub(crate) fn failure(
    old: &RegisteredClient,
    error: &Error,
    now: i64,
    retry_after: i64,
    actor: Actor,
) -> Transition {
    let record = old.record.as_ref();
    let evidence = evidence_of(error, record.map(|r| r.chain_fingerprint.as_str()));
    let valid = record.is_some_and(|r| r.is_valid_at(now));
    let retry = now.saturating_add(retry_after.max(1));
    let (kind, reason, retry_at) = if error.is_transient() && valid {
        let until = record.map(|r| r.expires_at).unwrap_or(now);
        (
            StatusKind::Stale,
            "the federation is unreachable; the previous record is kept until it expires",
            Some(retry.min(until)),
        )
    } else if error.is_transient() {
        (
            StatusKind::Suspended,
            "the federation is unreachable and the record has expired",
            Some(retry),
        )
    } else {
        (
            StatusKind::Revoked,
            "trust lost: the client's trust chain no longer validates",
            None,
        )
    };
    let since = if old.status.kind == kind {
        old.status.since
    } else {
        now
    };
    let status = ClientStatus::new(kind, reason, Some(evidence), since, retry_at);
    let mut batch = Batch {
        actor: Some((actor, now)),
        ..Batch::default()
    };
    if old.status.kind != kind {
        let (fp, anchor) = chain_of(old);
        batch.audit.push(
            AuditEntry::new(
                now,
                actor,
                AuditEvent::StatusChanged,
                Some(&old.client_id),
                old.organization_id.as_deref(),
                json!({"from": old.status.kind.as_str(), "to": kind.as_str(), "status": status}),
            )
            .on_chain(fp, anchor),
        );
    }
    if kind == StatusKind::Revoked {
        batch
            .end_consents
            .push((old.client_id.clone(), "client revoked".into()));
    }
    let mut client = old.clone();
    client.status = status;
    client.version = old.version + 1;
    batch.clients.push(ClientWrite {
        client: client.clone(),
        expected_version: old.version,
    });
    Transition {
        batch,
        client,
        changes: Vec::new(),
    }
}
