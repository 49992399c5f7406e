//! The registry's storage: one [`Store`] over two real engines, SQLite (embedded, for one
//! server and the demo) and PostgreSQL (one registry for a fleet of replicas). Everything
//! SQL lives under this module; the registry above it sees rows as Rust types.
//!
//! Both engines run the same statements (`$N` placeholders, `ON CONFLICT` upserts) except
//! where their dialects differ (the schema's auto-increment column, PostgreSQL's advisory
//! locks). Every write of the registry is one [`Batch`] committed in one transaction.

mod audit;
mod clients;
mod lease;
mod misc;
mod registrations;
mod schema;
mod touch;

pub(crate) use audit::AuditFilter;
pub(crate) use clients::{Batch, ClientWrite, OrgWrite};
pub(crate) use lease::LeaseAttempt;
pub(crate) use registrations::{NamedOrganizationRow, RegistrationRow, RegistrationWrite};
pub(crate) use schema::schema_version;
pub(crate) use touch::Touch;

use std::time::Duration;

use super::error::{RegistryError, redact};

/// A database engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    #[cfg(feature = "sqlite")]
    Sqlite,
    #[cfg(feature = "postgres")]
    Postgres,
}

impl Engine {
    pub(crate) fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "sqlite")]
            Engine::Sqlite => "sqlite",
            #[cfg(feature = "postgres")]
            Engine::Postgres => "postgres",
        }
    }
}

pub(crate) enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

/// Runs `$body` with `$p` bound to the concrete pool of the store's engine. The body is
/// compiled once per engine, so the same statement text serves both.
macro_rules! with_pool {
    ($store:expr, $p:ident => $body:expr) => {
        match &$store.pool {
            #[cfg(feature = "sqlite")]
            $crate::registry::store::Pool::Sqlite($p) => $body,
            #[cfg(feature = "postgres")]
            $crate::registry::store::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use with_pool;

/// In a transaction `$tx` of `$store`: on PostgreSQL, takes the advisory lock `$key` until
/// the transaction ends (SQLite serializes writers itself); an error returns through
/// `$err`.
macro_rules! advisory_lock {
    ($store:expr, $tx:expr, $key:expr, $err:expr) => {
        if $store.engine.name() == "postgres" {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind($key)
                .execute(&mut *$tx)
                .await
                .map_err($err)?;
        }
    };
}
pub(crate) use advisory_lock;

/// An open registry database.
pub(crate) struct Store {
    pub(crate) pool: Pool,
    pub(crate) engine: Engine,
    /// The digest of each record this process wrote or compared, by client
    /// ([`touch::RecordDigests`]).
    pub(crate) digests: touch::RecordDigests,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("engine", &self.engine.name())
            .finish()
    }
}

impl Store {
    /// Connects to `url` and brings the schema to the current version.
    pub(crate) async fn open(url: &str) -> Result<Store, RegistryError> {
        let store = Self::connect(url).await?;
        schema::migrate(&store).await?;
        Ok(store)
    }

    async fn connect(url: &str) -> Result<Store, RegistryError> {
        let bad = |reason: &str| RegistryError::Url {
            url: redact(url),
            reason: reason.to_string(),
        };
        if url.starts_with("sqlite:") {
            #[cfg(feature = "sqlite")]
            return Self::connect_sqlite(url).await;
            #[cfg(not(feature = "sqlite"))]
            return Err(bad(
                "this build has no SQLite support (cargo feature `sqlite`)",
            ));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            return Self::connect_postgres(url).await;
            #[cfg(not(feature = "postgres"))]
            return Err(bad(
                "this build has no PostgreSQL support (cargo feature `postgres`)",
            ));
        }
        Err(bad(
            "expected sqlite://PATH, sqlite::memory: or postgres://… (postgresql://…)",
        ))
    }

    #[cfg(feature = "sqlite")]
    async fn connect_sqlite(url: &str) -> Result<Store, RegistryError> {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
        use std::str::FromStr;
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| RegistryError::Url {
                url: redact(url),
                reason: e.to_string(),
            })?
            .create_if_missing(true)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        // An in-memory database lives as long as its one connection: keep exactly one, for
        // ever. A file is shared by several processes in WAL mode.
        let (opts, pool) = if memory {
            (
                opts,
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None),
            )
        } else {
            (
                opts.journal_mode(SqliteJournalMode::Wal),
                SqlitePoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(10)),
            )
        };
        let pool = pool
            .connect_with(opts)
            .await
            .map_err(|e| db_error(Engine::Sqlite, e))?;
        Ok(Store {
            pool: Pool::Sqlite(pool),
            engine: Engine::Sqlite,
            digests: touch::RecordDigests::default(),
        })
    }

    #[cfg(feature = "postgres")]
    async fn connect_postgres(url: &str) -> Result<Store, RegistryError> {
        use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
        use std::str::FromStr;
        let opts = PgConnectOptions::from_str(url).map_err(|e| RegistryError::Url {
            url: redact(url),
            reason: e.to_string(),
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(opts)
            .await
            .map_err(|e| db_error(Engine::Postgres, e))?;
        Ok(Store {
            pool: Pool::Postgres(pool),
            engine: Engine::Postgres,
            digests: touch::RecordDigests::default(),
        })
    }

    /// A database error of this store's engine.
    pub(crate) fn err(&self, e: sqlx::Error) -> RegistryError {
        db_error(self.engine, e)
    }

    /// Closes every connection (the handle is unusable afterwards).
    pub(crate) async fn close(&self) {
        with_pool!(self, p => p.close().await)
    }
}

/// Classifies a driver error: lost or refused connections, pool time-outs, a database
/// shutting down, serialization failures and a busy SQLite file are transient.
pub(crate) fn db_error(engine: Engine, e: sqlx::Error) -> RegistryError {
    let (transient, code) = match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_)
        | sqlx::Error::Tls(_) => (true, None),
        sqlx::Error::Database(d) => {
            let code = d.code().map(|c| c.to_string());
            let transient = match (engine.name(), code.as_deref()) {
                // Connection exceptions (class 08), admin/crash shutdown, cannot connect now,
                // serialization failure, deadlock.
                ("postgres", Some(c)) => {
                    c.starts_with("08")
                        || matches!(c, "57P01" | "57P02" | "57P03" | "40001" | "40P01")
                }
                // SQLITE_BUSY, SQLITE_LOCKED (and their extended codes).
                ("sqlite", Some(c)) => c.parse::<i64>().is_ok_and(|n| matches!(n & 0xff, 5 | 6)),
                _ => false,
            };
            (transient, code)
        }
        _ => (false, None),
    };
    RegistryError::Database {
        engine: engine.name(),
        transient,
        code,
        detail: e.to_string(),
    }
}
