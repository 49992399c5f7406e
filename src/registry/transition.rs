//! The transitions a resolution applies to a registered client: a success (admission,
//! re-admission, re-validation: changes, organization, consent narrowing or ending) or a
//! failure (stale, suspended or revoked, with evidence). Each is one [`Batch`].

use std::sync::Arc;

use serde_json::{Value, json};

use super::admit::chain_of;
use super::audit::{AuditEntry, AuditEvent};
use super::evidence::evidence_of;
use super::model::{Actor, ClientStatus, RegisteredClient, RegistrationModel, StatusKind};
use super::store::{Batch, ClientWrite, OrgWrite};
use crate::error::Error;
use crate::record::{Change, ClientRecord, diff};
use crate::resolver::EntityType;

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
        let until = record.map_or(now, |r| r.expires_at.as_secs());
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
