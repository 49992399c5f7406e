//! Clients and organizations: reads, and the [`Batch`] every registry write is made of,
//! committed in one transaction (a status change and its audit entries, or nothing).

use std::sync::Arc;

use super::{Store, with_pool};
use crate::registry::audit::{AuditEntry, AuditEvent};
use crate::registry::error::RegistryError;
use crate::registry::model::{
    Actor, ClientStatus, Organization, RegisteredClient, RegistrationModel,
};
use crate::resolver::EntityType;

/// PostgreSQL advisory lock held by every writing transaction, so audit sequence numbers
/// are assigned in commit order and a reader following the trail from a cursor never
/// misses an entry committed late ("oida").
pub(crate) const WRITE_LOCK: i64 = 0x6f69_6461;

/// A client row to write. `expected_version` is the version read before (0 for a new
/// client): the write fails with [`RegistryError::Conflict`] when another writer got there
/// first.
pub(crate) struct ClientWrite {
    pub client: RegisteredClient,
    pub expected_version: i64,
}

/// An organization seen (inserted, or its name and URI refreshed).
pub(crate) struct OrgWrite {
    pub organization_id: String,
    pub name: Option<String>,
    pub uri: Option<String>,
    pub seen_at: i64,
}

/// (user, client, organization at grant time, scopes, when).
pub(crate) type GrantWrite = (String, String, Option<String>, Vec<String>, i64);

/// Everything one registry operation writes, applied atomically.
#[derive(Default)]
pub(crate) struct Batch {
    pub organizations: Vec<OrgWrite>,
    pub clients: Vec<ClientWrite>,
    /// (organization, when, reason): mark the organization offboarded.
    pub offboard: Option<(String, i64, String)>,
    pub audit: Vec<AuditEntry>,
    /// (client, reason): end every live grant of the client (one audit entry each).
    pub end_consents: Vec<(String, String)>,
    /// (client, allowed scopes): narrow every live grant of the client to these.
    pub narrow_consents: Vec<(String, Vec<String>)>,
    /// Grants to write: (user, client, organization at grant time, scopes, when). A grant
    /// replaces the user's earlier grant to the same client, live or ended.
    pub grants: Vec<GrantWrite>,
    /// Actor and time for the consent entries the store derives.
    pub actor: Option<(Actor, i64)>,
    /// Dynamic and manual registrations to write (insert or replace).
    pub registrations: Vec<super::RegistrationWrite>,
    /// Organization records an operator created.
    pub named_organizations: Vec<super::NamedOrganizationRow>,
}

type ClientTuple = (
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    i64,
    i64,
    i64,
    Option<i64>,
);

/// A client's columns, read from [`FROM_CLIENTS`] (its record in `oidfed_records`). A
/// record in `oidfed_clients.record_json` can only have been written there by a replica
/// still running schema 2 during a rolling upgrade (this version clears it on every
/// write), so it is the newer one and wins.
const CLIENT_COLUMNS: &str = "c.client_id, c.entity_type, c.organization_id, \
     c.registration_model, c.status_json, COALESCE(c.record_json, r.record_json), \
     c.admitted_at, c.last_validated, c.version, c.expires_at";

/// The same from `oidfed_clients` alone, with the record's digest where
/// [`CLIENT_COLUMNS`] has the record (none for a row a schema-2 replica wrote: read whole).
const CLIENT_COLUMNS_DIGEST: &str = "c.client_id, c.entity_type, c.organization_id, \
     c.registration_model, c.status_json, \
     CASE WHEN c.record_json IS NULL THEN c.record_digest END, c.admitted_at, \
     c.last_validated, c.version, c.expires_at";

const FROM_CLIENTS: &str =
    "oidfed_clients c LEFT JOIN oidfed_records r ON r.client_id = c.client_id";

/// A client as a pass reads it: without its record (`record` is `None`), with the digest
/// of the stored record, decoded only when the re-validation finds something new.
pub(crate) struct LazyClient {
    pub client: RegisteredClient,
    pub record_digest: Option<String>,
}

fn client_from(mut t: ClientTuple) -> Result<RegisteredClient, RegistryError> {
    let record = match t.5.take() {
        Some(r) => Some(Arc::new(serde_json::from_str(&r).map_err(|e| {
            RegistryError::Corrupt {
                what: "oidfed_clients",
                key: t.0.clone(),
                detail: format!("record_json: {e}"),
            }
        })?)),
        None => None,
    };
    let mut client = client_without_record(t)?;
    client.record = record;
    Ok(client)
}

/// The row, its record column (`t.5`) aside.
fn client_without_record(t: ClientTuple) -> Result<RegisteredClient, RegistryError> {
    let corrupt = |detail: String| RegistryError::Corrupt {
        what: "oidfed_clients",
        key: t.0.clone(),
        detail,
    };
    let status: ClientStatus =
        serde_json::from_str(&t.4).map_err(|e| corrupt(format!("status_json: {e}")))?;
    let record = None;
    let model = RegistrationModel::parse(&t.3)
        .ok_or_else(|| corrupt(format!("registration_model {:?}", t.3)))?;
    Ok(RegisteredClient {
        client_id: t.0.clone(),
        entity_type: EntityType::new(t.1),
        organization_id: t.2,
        model,
        status,
        record,
        admitted_at: t.6,
        last_validated: t.7,
        version: t.8,
        trust_expires_at: t.9,
    })
}

impl Store {
    /// The client `client_id`, if registered.
    pub(crate) async fn client(
        &self,
        client_id: &str,
    ) -> Result<Option<RegisteredClient>, RegistryError> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM {FROM_CLIENTS} WHERE c.client_id = $1");
        let row: Option<ClientTuple> = with_pool!(self, p => sqlx::query_as(&sql)
            .bind(client_id)
            .fetch_optional(p)
            .await
            .map_err(|e| self.err(e))?);
        row.map(client_from).transpose()
    }

    /// The clients bound to `organization_id`, by client_id.
    pub(crate) async fn clients_of(
        &self,
        organization_id: &str,
    ) -> Result<Vec<RegisteredClient>, RegistryError> {
        let sql = format!(
            "SELECT {CLIENT_COLUMNS} FROM {FROM_CLIENTS} WHERE c.organization_id = $1 \
             ORDER BY c.client_id"
        );
        let rows: Vec<ClientTuple> = with_pool!(self, p => sqlx::query_as(&sql)
            .bind(organization_id)
            .fetch_all(p)
            .await
            .map_err(|e| self.err(e))?);
        rows.into_iter().map(client_from).collect()
    }

    /// Up to `limit` clients with client_id after `after`, by client_id (a page of a sweep
    /// or an export).
    pub(crate) async fn clients_page(
        &self,
        after: &str,
        limit: i64,
    ) -> Result<Vec<RegisteredClient>, RegistryError> {
        let rows = self
            .page_rows(CLIENT_COLUMNS, FROM_CLIENTS, after, limit)
            .await?;
        rows.into_iter().map(client_from).collect()
    }

    /// Up to `limit` rows of `columns` from `from`, by client_id after `after`.
    async fn page_rows(
        &self,
        columns: &str,
        from: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<ClientTuple>, RegistryError> {
        let sql = format!(
            "SELECT {columns} FROM {from} WHERE c.client_id > $1 ORDER BY c.client_id LIMIT $2"
        );
        Ok(with_pool!(self, p => sqlx::query_as(&sql)
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await
            .map_err(|e| self.err(e))?))
    }

    /// [`Store::clients_page`] without the records: each with its record's digest instead
    /// (a monitor pass decodes a record only for a client whose chain changed).
    pub(crate) async fn clients_page_lazy(
        &self,
        after: &str,
        limit: i64,
    ) -> Result<Vec<LazyClient>, RegistryError> {
        let rows = self
            .page_rows(CLIENT_COLUMNS_DIGEST, "oidfed_clients c", after, limit)
            .await?;
        rows.into_iter()
            .map(|mut t| {
                let record_digest = t.5.take();
                Ok(LazyClient {
                    client: client_without_record(t)?,
                    record_digest,
                })
            })
            .collect()
    }

    /// Every organization with its client counts, by identifier.
    pub(crate) async fn organizations(&self) -> Result<Vec<Organization>, RegistryError> {
        let sql = "SELECT o.organization_id, o.name, o.uri, o.first_seen, o.offboarded_at, \
             COUNT(c.client_id), \
             COUNT(CASE WHEN c.status IN ('active', 'stale') THEN 1 END) \
             FROM oidfed_organizations o \
             LEFT JOIN oidfed_clients c ON c.organization_id = o.organization_id \
             GROUP BY o.organization_id, o.name, o.uri, o.first_seen, o.offboarded_at \
             ORDER BY o.organization_id";
        type Row = (
            String,
            Option<String>,
            Option<String>,
            i64,
            Option<i64>,
            i64,
            i64,
        );
        let rows: Vec<Row> = with_pool!(self, p => sqlx::query_as(sql)
            .fetch_all(p)
            .await
            .map_err(|e| self.err(e))?);
        Ok(rows
            .into_iter()
            .map(|r| Organization {
                organization_id: r.0,
                name: r.1,
                uri: r.2,
                first_seen: r.3,
                offboarded_at: r.4,
                clients: u64::try_from(r.5).unwrap_or(0),
                active_clients: u64::try_from(r.6).unwrap_or(0),
            })
            .collect())
    }

    /// Whether `organization_id` is known.
    pub(crate) async fn has_organization(
        &self,
        organization_id: &str,
    ) -> Result<bool, RegistryError> {
        let n: (i64,) = with_pool!(self, p => sqlx::query_as(
                "SELECT COUNT(*) FROM oidfed_organizations WHERE organization_id = $1")
            .bind(organization_id)
            .fetch_one(p)
            .await
            .map_err(|e| self.err(e))?);
        Ok(n.0 > 0)
    }

    /// Applies `batch` in one transaction.
    pub(crate) async fn apply(&self, batch: Batch) -> Result<(), RegistryError> {
        let err = |e| self.err(e);
        with_pool!(self, p => {
            let mut tx = p.begin().await.map_err(err)?;
            super::advisory_lock!(self, tx, WRITE_LOCK, err);
            for o in &batch.organizations {
                sqlx::query(
                    "INSERT INTO oidfed_organizations (organization_id, name, uri, first_seen) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (organization_id) DO UPDATE SET \
                     name = COALESCE(excluded.name, oidfed_organizations.name), \
                     uri = COALESCE(excluded.uri, oidfed_organizations.uri)",
                )
                .bind(&o.organization_id)
                .bind(&o.name)
                .bind(&o.uri)
                .bind(o.seen_at)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            }
            if let Some((org, at, reason)) = &batch.offboard {
                sqlx::query(
                    "UPDATE oidfed_organizations SET offboarded_at = $2, offboard_reason = $3 \
                     WHERE organization_id = $1",
                )
                .bind(org)
                .bind(at)
                .bind(reason)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            }
            let mut written = Vec::with_capacity(batch.clients.len());
            for w in &batch.clients {
                let c = &w.client;
                let status = serde_json::to_string(&c.status).map_err(|e| corrupt_write(c, e))?;
                let record = c
                    .record
                    .as_ref()
                    .map(|r| serde_json::to_string(r.as_ref()))
                    .transpose()
                    .map_err(|e| corrupt_write(c, e))?;
                let digest = c.record.as_deref().and_then(super::touch::digest_of);
                let done = sqlx::query(
                    "INSERT INTO oidfed_clients (client_id, entity_type, organization_id, \
                     registration_model, status, status_json, admitted_at, \
                     last_validated, expires_at, version, record_digest) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $12) \
                     ON CONFLICT (client_id) DO UPDATE SET entity_type = excluded.entity_type, \
                     organization_id = excluded.organization_id, \
                     registration_model = excluded.registration_model, \
                     status = excluded.status, status_json = excluded.status_json, \
                     record_json = NULL, admitted_at = excluded.admitted_at, \
                     last_validated = excluded.last_validated, expires_at = excluded.expires_at, \
                     version = excluded.version, record_digest = excluded.record_digest \
                     WHERE oidfed_clients.version = $11",
                )
                .bind(&c.client_id)
                .bind(c.entity_type.as_str())
                .bind(&c.organization_id)
                .bind(c.model.as_str())
                .bind(c.status.kind.as_str())
                .bind(status)
                .bind(c.admitted_at)
                .bind(c.last_validated)
                .bind(c.trust_expires_at())
                .bind(w.expected_version + 1)
                .bind(w.expected_version)
                .bind(&digest)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
                if done.rows_affected() != 1 {
                    return Err(RegistryError::Conflict {
                        client_id: c.client_id.clone(),
                    });
                }
                let kept = match &record {
                    Some(json) => sqlx::query(
                        "INSERT INTO oidfed_records (client_id, record_json) VALUES ($1, $2) \
                         ON CONFLICT (client_id) DO UPDATE SET record_json = excluded.record_json",
                    )
                    .bind(&c.client_id)
                    .bind(json),
                    None => sqlx::query("DELETE FROM oidfed_records WHERE client_id = $1")
                        .bind(&c.client_id),
                };
                kept.execute(&mut *tx).await.map_err(err)?;
                if let (Some(r), Some(d)) = (&c.record, digest) {
                    written.push((c.client_id.clone(), Arc::downgrade(r), d));
                }
            }
            for (user, client, org, scopes, at) in &batch.grants {
                sqlx::query(
                    "INSERT INTO oidfed_consents (user_id, client_id, organization_id, scopes, \
                     granted_at, ended_at, end_reason) VALUES ($1, $2, $3, $4, $5, NULL, NULL) \
                     ON CONFLICT (user_id, client_id) DO UPDATE SET \
                     organization_id = excluded.organization_id, scopes = excluded.scopes, \
                     granted_at = excluded.granted_at, ended_at = NULL, end_reason = NULL",
                )
                .bind(user)
                .bind(client)
                .bind(org)
                .bind(scopes.join(" "))
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            }
            for r in &batch.registrations {
                sqlx::query(
                    "INSERT INTO oidfed_registrations (client_id, registration_model, \
                     organization_id, software_id, token_hash, details_json, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (client_id) DO UPDATE SET \
                     registration_model = excluded.registration_model, \
                     organization_id = excluded.organization_id, \
                     software_id = excluded.software_id, token_hash = excluded.token_hash, \
                     details_json = excluded.details_json, updated_at = excluded.updated_at",
                )
                .bind(&r.client_id)
                .bind(r.model.as_str())
                .bind(&r.organization_id)
                .bind(&r.software_id)
                .bind(&r.token_hash)
                .bind(r.details.to_string())
                .bind(r.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            }
            for o in &batch.named_organizations {
                sqlx::query(
                    "INSERT INTO oidfed_named_organizations (organization_id, name, created_by, \
                     reference, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&o.organization_id)
                .bind(&o.name)
                .bind(&o.created_by)
                .bind(&o.reference)
                .bind(o.created_at)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            }
            let mut audit = batch.audit;
            let (actor, at) = batch.actor.unwrap_or((Actor::Operator, 0));
            for (client, reason) in &batch.end_consents {
                let ended: Vec<(String, Option<String>, String)> = sqlx::query_as(
                    "UPDATE oidfed_consents SET ended_at = $2, end_reason = $3 \
                     WHERE client_id = $1 AND ended_at IS NULL \
                     RETURNING user_id, organization_id, scopes",
                )
                .bind(client)
                .bind(at)
                .bind(reason)
                .fetch_all(&mut *tx)
                .await
                .map_err(err)?;
                for (user, org, scopes) in ended {
                    audit.push(AuditEntry::new(at, actor, AuditEvent::ConsentEnded,
                        Some(client), org.as_deref(),
                        serde_json::json!({"user": user, "scopes": scopes, "reason": reason})));
                }
            }
            for (client, allowed) in &batch.narrow_consents {
                let live: Vec<(String, Option<String>, String)> = sqlx::query_as(
                    "SELECT user_id, organization_id, scopes FROM oidfed_consents \
                     WHERE client_id = $1 AND ended_at IS NULL",
                )
                .bind(client)
                .fetch_all(&mut *tx)
                .await
                .map_err(err)?;
                for (user, org, scopes) in live {
                    let (kept, lost): (Vec<&str>, Vec<&str>) = scopes
                        .split_whitespace()
                        .partition(|s| allowed.iter().any(|a| a == s));
                    if lost.is_empty() {
                        continue;
                    }
                    sqlx::query(
                        "UPDATE oidfed_consents SET scopes = $3 WHERE user_id = $1 AND client_id = $2",
                    )
                    .bind(&user)
                    .bind(client)
                    .bind(kept.join(" "))
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                    audit.push(AuditEntry::new(at, actor, AuditEvent::ConsentNarrowed,
                        Some(client), org.as_deref(),
                        serde_json::json!({"user": user, "kept": kept, "removed": lost})));
                }
            }
            for a in &audit {
                sqlx::query(
                    "INSERT INTO oidfed_audit (at, client_id, organization_id, actor, event, \
                     detail_json, chain_fingerprint, trust_anchor) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(a.at)
                .bind(&a.client_id)
                .bind(&a.organization_id)
                .bind(a.actor.as_str())
                .bind(a.event.as_str())
                .bind(a.detail.to_string())
                .bind(&a.chain_fingerprint)
                .bind(&a.trust_anchor)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            }
            tx.commit().await.map_err(err)?;
            for (client_id, record, digest) in written {
                self.digests.remember(client_id, record, digest);
            }
            Ok(())
        })
    }
}

fn corrupt_write(c: &RegisteredClient, e: serde_json::Error) -> RegistryError {
    RegistryError::Corrupt {
        what: "oidfed_clients",
        key: c.client_id.clone(),
        detail: format!("cannot serialize: {e}"),
    }
}
