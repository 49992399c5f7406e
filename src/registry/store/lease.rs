//! The sweeper's lease and the change sequence, in SQL.
//!
//! A lease is one row (`oidfed_leases`): holder id, epoch, expiry. Each step is one
//! conditional statement inside a transaction, so two replicas racing for it cannot both
//! win: renew only while this holder has it; take it over only when its expiry plus the
//! clock-skew leeway has passed by the taker's clock; create it when absent.

use super::{Store, with_pool};
use crate::registry::error::RegistryError;

/// Who holds a lease, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeaseRow {
    pub holder: String,
    pub epoch: i64,
    pub expires_at: i64,
}

/// What an attempt to acquire or renew found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LeaseAttempt {
    /// This holder has the lease until `expires_at`.
    Held { epoch: i64, expires_at: i64 },
    /// Another holder has it.
    Other(LeaseRow),
}

impl Store {
    /// The PostgreSQL pool, for `LISTEN` (none on SQLite).
    #[cfg(feature = "postgres")]
    pub(crate) fn pg_pool(&self) -> Option<sqlx::PgPool> {
        match &self.pool {
            super::Pool::Postgres(p) => Some(p.clone()),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// Renews, takes over or creates lease `name` for `holder` at `now` for `ttl` seconds.
    pub(crate) async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        ttl: i64,
        leeway: i64,
    ) -> Result<LeaseAttempt, RegistryError> {
        let err = |e| self.err(e);
        let until = now.saturating_add(ttl);
        with_pool!(self, p => {
            let mut tx = p.begin().await.map_err(err)?;
            let renewed: Option<(i64,)> = sqlx::query_as(
                "UPDATE oidfed_leases SET expires_at = $3 \
                 WHERE name = $1 AND holder = $2 RETURNING epoch",
            )
            .bind(name)
            .bind(holder)
            .bind(until)
            .fetch_optional(&mut *tx)
            .await
            .map_err(err)?;
            let got = match renewed {
                Some(r) => Some(r),
                None => {
                    let taken: Option<(i64,)> = sqlx::query_as(
                        "UPDATE oidfed_leases SET holder = $2, epoch = epoch + 1, \
                         acquired_at = $3, expires_at = $4 \
                         WHERE name = $1 AND expires_at < $5 RETURNING epoch",
                    )
                    .bind(name)
                    .bind(holder)
                    .bind(now)
                    .bind(until)
                    .bind(now.saturating_sub(leeway))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(err)?;
                    match taken {
                        Some(t) => Some(t),
                        None => sqlx::query_as(
                            "INSERT INTO oidfed_leases (name, holder, epoch, acquired_at, \
                             expires_at) VALUES ($1, $2, 1, $3, $4) \
                             ON CONFLICT (name) DO NOTHING RETURNING epoch",
                        )
                        .bind(name)
                        .bind(holder)
                        .bind(now)
                        .bind(until)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(err)?,
                    }
                }
            };
            let out = match got {
                Some((epoch,)) => LeaseAttempt::Held { epoch, expires_at: until },
                None => {
                    let row: Option<(String, i64, i64)> = sqlx::query_as(
                        "SELECT holder, epoch, expires_at FROM oidfed_leases WHERE name = $1",
                    )
                    .bind(name)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(err)?;
                    let (holder, epoch, expires_at) = row.ok_or_else(|| RegistryError::Corrupt {
                        what: "oidfed_leases",
                        key: name.to_string(),
                        detail: "neither held, nor free, nor present".into(),
                    })?;
                    LeaseAttempt::Other(LeaseRow { holder, epoch, expires_at })
                }
            };
            tx.commit().await.map_err(err)?;
            Ok(out)
        })
    }

    /// Gives lease `name` up if `holder` has it (a clean stop: another replica takes over at
    /// once instead of after the expiry).
    pub(crate) async fn release_lease(
        &self,
        name: &str,
        holder: &str,
    ) -> Result<(), RegistryError> {
        let err = |e| self.err(e);
        with_pool!(self, p => {
            sqlx::query("DELETE FROM oidfed_leases WHERE name = $1 AND holder = $2")
                .bind(name)
                .bind(holder)
                .execute(p)
                .await
                .map_err(err)?;
            Ok(())
        })
    }

    /// Who holds lease `name`, if anyone.
    pub(crate) async fn lease(&self, name: &str) -> Result<Option<LeaseRow>, RegistryError> {
        let err = |e| self.err(e);
        with_pool!(self, p => {
            let row: Option<(String, i64, i64)> = sqlx::query_as(
                "SELECT holder, epoch, expires_at FROM oidfed_leases WHERE name = $1",
            )
            .bind(name)
            .fetch_optional(p)
            .await
            .map_err(err)?;
            Ok(row.map(|(holder, epoch, expires_at)| LeaseRow { holder, epoch, expires_at }))
        })
    }

    /// The audit trail's newest sequence number (0 when empty): the change sequence a
    /// replica polls to learn that something was written.
    pub(crate) async fn change_sequence(&self) -> Result<i64, RegistryError> {
        let err = |e| self.err(e);
        with_pool!(self, p => {
            let (seq,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(seq), 0) FROM oidfed_audit")
                .fetch_one(p)
                .await
                .map_err(err)?;
            Ok(seq)
        })
    }
}
