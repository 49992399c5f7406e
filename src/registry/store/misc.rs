//! Consents and the shared replay guard.

use super::{Store, with_pool};
use crate::registry::error::RegistryError;

/// A stored grant.
pub(crate) struct GrantRow {
    pub organization_id: Option<String>,
    pub scopes: Vec<String>,
    pub ended_at: Option<i64>,
}

impl Store {
    /// The grant of `user` to `client`, live or ended.
    pub(crate) async fn grant(
        &self,
        user: &str,
        client: &str,
    ) -> Result<Option<GrantRow>, RegistryError> {
        type Row = (Option<String>, String, Option<i64>);
        let row: Option<Row> = with_pool!(self, p => sqlx::query_as(
                "SELECT organization_id, scopes, ended_at \
                 FROM oidfed_consents WHERE user_id = $1 AND client_id = $2")
            .bind(user)
            .bind(client)
            .fetch_optional(p)
            .await
            .map_err(|e| self.err(e))?);
        Ok(row.map(|r| GrantRow {
            organization_id: r.0,
            scopes: r.1.split_whitespace().map(str::to_string).collect(),
            ended_at: r.2,
        }))
    }

    /// Ends the live grant of `user` to `client`, with its audit entry, in one transaction.
    pub(crate) async fn end_grant(
        &self,
        user: &str,
        client: &str,
        at: i64,
    ) -> Result<bool, RegistryError> {
        let err = |e| self.err(e);
        with_pool!(self, p => {
            let mut tx = p.begin().await.map_err(err)?;
            super::advisory_lock!(self, tx, super::clients::WRITE_LOCK, err);
            let ended: Option<(Option<String>, String)> = sqlx::query_as(
                "UPDATE oidfed_consents SET ended_at = $3, end_reason = 'withdrawn by the user' \
                 WHERE user_id = $1 AND client_id = $2 AND ended_at IS NULL \
                 RETURNING organization_id, scopes",
            )
            .bind(user)
            .bind(client)
            .bind(at)
            .fetch_optional(&mut *tx)
            .await
            .map_err(err)?;
            let Some((org, scopes)) = ended else {
                return Ok(false);
            };
            sqlx::query(
                "INSERT INTO oidfed_audit (at, client_id, organization_id, actor, event, \
                 detail_json) VALUES ($1, $2, $3, 'request', 'consent_ended', $4)",
            )
            .bind(at)
            .bind(client)
            .bind(org)
            .bind(serde_json::json!({"user": user, "scopes": scopes,
                "reason": "withdrawn by the user"}).to_string())
            .execute(&mut *tx)
            .await
            .map_err(err)?;
            tx.commit().await.map_err(err)?;
            Ok(true)
        })
    }

    /// Records `jti` of `client` until `keep_until`: true the first time (or when an older
    /// record of it has expired), false for a replay. One statement, so two replicas racing
    /// with the same `jti` cannot both win.
    pub(crate) async fn first_use(
        &self,
        client: &str,
        jti: &str,
        keep_until: i64,
        now: i64,
    ) -> Result<bool, RegistryError> {
        let done = with_pool!(self, p => sqlx::query(
                "INSERT INTO oidfed_replay (client_id, jti, keep_until) VALUES ($1, $2, $3) \
                 ON CONFLICT (client_id, jti) DO UPDATE SET keep_until = excluded.keep_until \
                 WHERE oidfed_replay.keep_until <= $4")
            .bind(client)
            .bind(jti)
            .bind(keep_until)
            .bind(now)
            .execute(p)
            .await
            .map_err(|e| self.err(e))?
            .rows_affected());
        Ok(done == 1)
    }

    /// Drops replay entries kept until before `now`.
    pub(crate) async fn purge_replay(&self, now: i64) -> Result<u64, RegistryError> {
        let done = with_pool!(self, p => sqlx::query(
                "DELETE FROM oidfed_replay WHERE keep_until <= $1")
            .bind(now)
            .execute(p)
            .await
            .map_err(|e| self.err(e))?
            .rows_affected());
        Ok(done)
    }
}
