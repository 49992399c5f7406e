//! The registry's schema, created and migrated by the library. Each migration has a version;
//! `oidfed_schema` lists those applied. Migrations run in one transaction (on PostgreSQL
//! under an advisory lock, so replicas starting together migrate once). A database whose
//! version is newer than this library is refused rather than written to.

use super::{Store, with_pool};
use crate::registry::error::RegistryError;

/// One schema step.
struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Tables shared by both dialects (every statement is valid in both).
const TABLES: &str = "
CREATE TABLE IF NOT EXISTS oidfed_organizations (
    organization_id TEXT PRIMARY KEY,
    name TEXT,
    uri TEXT,
    first_seen BIGINT NOT NULL,
    offboarded_at BIGINT,
    offboard_reason TEXT
);
CREATE TABLE IF NOT EXISTS oidfed_clients (
    client_id TEXT PRIMARY KEY,
    entity_type TEXT NOT NULL,
    organization_id TEXT,
    registration_model TEXT NOT NULL,
    status TEXT NOT NULL,
    status_json TEXT NOT NULL,
    record_json TEXT,
    admitted_at BIGINT NOT NULL,
    last_validated BIGINT NOT NULL,
    expires_at BIGINT,
    version BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS oidfed_clients_by_organization ON oidfed_clients (organization_id);
CREATE TABLE IF NOT EXISTS oidfed_consents (
    user_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    organization_id TEXT,
    scopes TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    ended_at BIGINT,
    end_reason TEXT,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX IF NOT EXISTS oidfed_consents_by_client ON oidfed_consents (client_id);
CREATE TABLE IF NOT EXISTS oidfed_replay (
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    keep_until BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX IF NOT EXISTS oidfed_replay_by_expiry ON oidfed_replay (keep_until);
CREATE TABLE IF NOT EXISTS oidfed_registrations (
    client_id TEXT PRIMARY KEY,
    registration_model TEXT NOT NULL,
    organization_id TEXT,
    software_id TEXT,
    token_hash TEXT,
    details_json TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS oidfed_registrations_by_software
    ON oidfed_registrations (organization_id, software_id);
CREATE INDEX IF NOT EXISTS oidfed_registrations_by_model ON oidfed_registrations (registration_model);
CREATE TABLE IF NOT EXISTS oidfed_named_organizations (
    organization_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_by TEXT NOT NULL,
    reference TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
";

const AUDIT_COLUMNS: &str = "
    at BIGINT NOT NULL,
    client_id TEXT,
    organization_id TEXT,
    actor TEXT NOT NULL,
    event TEXT NOT NULL,
    detail_json TEXT NOT NULL,
    chain_fingerprint TEXT,
    trust_anchor TEXT
";

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "clients, organizations, audit trail, consents, replay guard",
        sqlite: "
CREATE TABLE IF NOT EXISTS oidfed_audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, {AUDIT});
CREATE INDEX IF NOT EXISTS oidfed_audit_by_client ON oidfed_audit (client_id, seq);
CREATE INDEX IF NOT EXISTS oidfed_audit_by_organization ON oidfed_audit (organization_id, seq);
CREATE TRIGGER IF NOT EXISTS oidfed_audit_no_update BEFORE UPDATE ON oidfed_audit
BEGIN SELECT RAISE(ABORT, 'oidfed_audit is append-only'); END;
CREATE TRIGGER IF NOT EXISTS oidfed_audit_no_delete BEFORE DELETE ON oidfed_audit
BEGIN SELECT RAISE(ABORT, 'oidfed_audit is append-only'); END;
",
        postgres: "
CREATE TABLE IF NOT EXISTS oidfed_audit (seq BIGSERIAL PRIMARY KEY, {AUDIT});
CREATE INDEX IF NOT EXISTS oidfed_audit_by_client ON oidfed_audit (client_id, seq);
CREATE INDEX IF NOT EXISTS oidfed_audit_by_organization ON oidfed_audit (organization_id, seq);
CREATE OR REPLACE FUNCTION oidfed_audit_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'oidfed_audit is append-only'; END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS oidfed_audit_append_only ON oidfed_audit;
CREATE TRIGGER oidfed_audit_append_only BEFORE UPDATE OR DELETE ON oidfed_audit
FOR EACH ROW EXECUTE FUNCTION oidfed_audit_append_only();
",
    },
    Migration {
        version: 2,
        name: "the monitor's lease; change notices (PostgreSQL NOTIFY on every audit entry)",
        sqlite: MONITOR_TABLES,
        postgres: "
CREATE TABLE IF NOT EXISTS oidfed_leases (
    name TEXT PRIMARY KEY, holder TEXT NOT NULL, epoch BIGINT NOT NULL,
    acquired_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);
CREATE OR REPLACE FUNCTION oidfed_audit_notify() RETURNS trigger AS $$
BEGIN PERFORM pg_notify('oidfed_registry', NEW.seq::text); RETURN NEW; END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS oidfed_audit_notify ON oidfed_audit;
CREATE TRIGGER oidfed_audit_notify AFTER INSERT ON oidfed_audit
FOR EACH ROW EXECUTE FUNCTION oidfed_audit_notify();
",
    },
    Migration {
        version: 3,
        name: "records in their own table, a digest of each beside its client",
        sqlite: RECORDS,
        postgres: RECORDS,
    },
];

/// Records in a table of their own, with a digest beside each client, so a monitor pass
/// reads narrow rows: a client's columns come after its record in `oidfed_clients`, and
/// SQLite reads a row's overflow pages (the 4 KB record) to reach them, and rewrites them
/// on any update. `oidfed_clients.record_json` stays, always NULL from this version on.
const RECORDS: &str = "
ALTER TABLE oidfed_clients ADD COLUMN record_digest TEXT;
CREATE TABLE IF NOT EXISTS oidfed_records (client_id TEXT PRIMARY KEY, record_json TEXT NOT NULL);
INSERT INTO oidfed_records (client_id, record_json)
    SELECT client_id, record_json FROM oidfed_clients WHERE record_json IS NOT NULL;
UPDATE oidfed_clients SET record_json = NULL;
";

/// The monitor's lease (`crate::registry::monitor`): one row per lease name.
const MONITOR_TABLES: &str = "
CREATE TABLE IF NOT EXISTS oidfed_leases (
    name TEXT PRIMARY KEY, holder TEXT NOT NULL, epoch BIGINT NOT NULL,
    acquired_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);
";

/// The schema version this library writes.
pub(crate) const CURRENT_VERSION: i64 = 3;

/// The advisory lock key under which PostgreSQL migrations run ("oidf").
pub(crate) const MIGRATION_LOCK: i64 = 0x6f69_6466;

pub(crate) async fn migrate(store: &Store) -> Result<(), RegistryError> {
    let err = |e| store.err(e);
    with_pool!(store, p => {
        let mut tx = p.begin().await.map_err(err)?;
        super::advisory_lock!(store, tx, MIGRATION_LOCK, err);
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS oidfed_schema (
                version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        let applied: Vec<(i64,)> = sqlx::query_as("SELECT version FROM oidfed_schema")
            .fetch_all(&mut *tx)
            .await
            .map_err(err)?;
        let newest = applied.iter().map(|v| v.0).max().unwrap_or(0);
        if newest > CURRENT_VERSION {
            return Err(RegistryError::Migration {
                version: newest,
                detail: format!(
                    "the database is at schema version {newest}; this library knows up to \
                     {CURRENT_VERSION}: upgrade the library"
                ),
            });
        }
        for m in MIGRATIONS.iter().filter(|m| m.version > newest) {
            let dialect = if store.engine.name() == "postgres" { m.postgres } else { m.sqlite };
            let sql = format!("{TABLES}{}", dialect.replace("{AUDIT}", AUDIT_COLUMNS));
            sqlx::raw_sql(&sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| RegistryError::Migration {
                    version: m.version,
                    detail: e.to_string(),
                })?;
            sqlx::query("INSERT INTO oidfed_schema (version, name, applied_at) VALUES ($1, $2, $3)")
                .bind(m.version)
                .bind(m.name)
                .bind(unix_now())
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        tx.commit().await.map_err(err)?;
        Ok(())
    })
}

/// The schema version recorded in the database.
pub(crate) async fn schema_version(store: &Store) -> Result<i64, RegistryError> {
    let err = |e| store.err(e);
    with_pool!(store, p => {
        let v: (Option<i64>,) = sqlx::query_as("SELECT MAX(version) FROM oidfed_schema")
            .fetch_one(p)
            .await
            .map_err(err)?;
        Ok(v.0.unwrap_or(0))
    })
}

/// Wall-clock time for the migration log only (the registry's own times come from the
/// resolver's injected clock).
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
