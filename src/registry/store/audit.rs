//! Reading the audit trail: by client, by organization, from a cursor.

use super::{Store, with_pool};
use crate::registry::audit::{AuditEntry, AuditEvent};
use crate::registry::error::RegistryError;
use crate::registry::model::Actor;

type AuditTuple = (
    i64,
    i64,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

const AUDIT_COLUMNS: &str = "seq, at, client_id, organization_id, actor, event, detail_json, \
     chain_fingerprint, trust_anchor";

fn entry_from(t: AuditTuple) -> Result<AuditEntry, RegistryError> {
    let corrupt = |detail: String| RegistryError::Corrupt {
        what: "oidfed_audit",
        key: t.0.to_string(),
        detail,
    };
    Ok(AuditEntry {
        seq: t.0,
        at: t.1,
        client_id: t.2.clone(),
        organization_id: t.3.clone(),
        actor: Actor::parse(&t.4).ok_or_else(|| corrupt(format!("actor {:?}", t.4)))?,
        event: AuditEvent::parse(&t.5).ok_or_else(|| corrupt(format!("event {:?}", t.5)))?,
        detail: serde_json::from_str(&t.6).map_err(|e| corrupt(format!("detail_json: {e}")))?,
        chain_fingerprint: t.7,
        trust_anchor: t.8,
    })
}

/// Which entries to read.
pub(crate) enum AuditFilter<'a> {
    Client(&'a str),
    Organization(&'a str),
    After(i64),
}

impl Store {
    /// Entries in trail order: of one client, one organization, or after a cursor; at most
    /// `limit`.
    pub(crate) async fn audit(
        &self,
        filter: AuditFilter<'_>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, RegistryError> {
        let (condition, key, after) = match filter {
            AuditFilter::Client(c) => ("client_id = $1 AND seq > $2", c, 0),
            AuditFilter::Organization(o) => ("organization_id = $1 AND seq > $2", o, 0),
            // `$1` is bound but compared with nothing but itself, so one statement shape
            // serves the three filters.
            AuditFilter::After(seq) => ("$1 = $1 AND seq > $2", "", seq),
        };
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM oidfed_audit WHERE {condition} ORDER BY seq LIMIT $3"
        );
        let rows: Vec<AuditTuple> = with_pool!(self, p => sqlx::query_as(&sql)
            .bind(key)
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await
            .map_err(|e| self.err(e))?);
        rows.into_iter().map(entry_from).collect()
    }
}
