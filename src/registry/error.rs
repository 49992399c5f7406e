//! [`RegistryError`]: why the client registry refused or failed, as
//! [`crate::Error::Registry`].

use std::fmt;

use super::model::{ClientStatus, Evidence};

/// Why a registry operation failed or refused a client.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-registry_error.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// use oidfed::{EntityType, Error, registry::RegistryError};
/// registry.offboard_client(&fed.id("rp"), "contract ended").await.unwrap();
/// let e = registry.admit(&resolver, &fed.id("rp"), &EntityType::OPENID_RELYING_PARTY).await.unwrap_err();
/// let Error::Registry(e) = e else { panic!("expected a registry error, got {e:?}") };
/// assert!(matches!(*e, RegistryError::Revoked { .. }));
/// assert_eq!(e.spec_code(), "invalid_client");
/// assert!(!e.is_transient());
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The database failed. `transient` is true when retrying may succeed (the connection
    /// was lost or refused, the pool timed out, the database is shutting down or busy).
    #[error("registry database ({engine}): {detail}{}", if *transient { " (transient)" } else { "" })]
    Database {
        /// `sqlite` or `postgres`.
        engine: &'static str,
        /// Whether retrying may succeed.
        transient: bool,
        /// The database's error code (SQLSTATE for PostgreSQL, the result code for SQLite).
        code: Option<String>,
        /// What the driver said.
        detail: String,
    },
    /// The database URL names no engine this build supports.
    #[error("registry URL {url:?}: {reason}")]
    Url {
        /// The URL, with any password removed.
        url: String,
        /// Why it is not usable.
        reason: String,
    },
    /// The schema could not be created or migrated.
    #[error("registry schema migration {version}: {detail}")]
    Migration {
        /// The migration that failed (or the database's version when it is newer than
        /// this library knows).
        version: i64,
        /// Why.
        detail: String,
    },
    /// The client is not in the registry (and the caller did not ask to admit it).
    #[error("{client_id} is not a registered client")]
    UnknownClient {
        /// The client.
        client_id: String,
    },
    /// The client is revoked: refused until an operator re-admits it deliberately
    /// ([`crate::registry::Registry::readmit`]).
    #[error("{client_id} is revoked: {}", status.reason)]
    Revoked {
        /// The client.
        client_id: String,
        /// Its status (reason, evidence, since when).
        status: Box<ClientStatus>,
    },
    /// The client is suspended (its federation was unreachable past its record's expiry):
    /// refused until a sweep resolves its chain again.
    #[error("{client_id} is suspended: {}", status.reason)]
    Suspended {
        /// The client.
        client_id: String,
        /// Its status.
        status: Box<ClientStatus>,
    },
    /// A client at or past the end of what vouches for it: a manual registration's expiry,
    /// or the expiry of the trust chain a federation or dynamic client was last validated
    /// with. Refused on the request path at once, whatever the status says (a monitor that
    /// stopped must not leave an expired client usable).
    #[error("{client_id}: its registration or trust chain expired at {expires_at}")]
    Expired {
        /// The client.
        client_id: String,
        /// When the registration ended (Unix seconds).
        expires_at: i64,
    },
    /// The registry holds no protocol keys for the client: its registration gave none
    /// inline (`jwks`), only a location (`jwks_uri`, a software statement's
    /// `software_jwks_endpoint`) that the registry's request checks do not fetch.
    #[error("{client_id}: the registry holds no protocol keys for it: {reason}")]
    NoKeys {
        /// The client.
        client_id: String,
        /// What its registration names instead.
        reason: String,
    },
    /// The client has no accountable organization and the registry or resolver requires
    /// one.
    #[error("{client_id}: no accountable organization: {reason}")]
    NoOrganization {
        /// The client.
        client_id: String,
        /// Why (the organization rule, or the evidence that is not an assertion).
        reason: String,
    },
    /// A federation operation was asked of a client registered otherwise (dynamic or
    /// manual): its client_id is not an Entity Identifier to resolve. The registration
    /// sweep ([`crate::registry::Registry::sweep_registrations`]) re-checks those.
    #[error("{client_id} is a {} registration, not a federation entity to re-resolve", model.as_str())]
    NotFederation {
        /// The client.
        client_id: String,
        /// How it was registered.
        model: crate::registry::RegistrationModel,
    },
    /// The organization is not in the registry.
    #[error("{organization_id} is not a known organization")]
    UnknownOrganization {
        /// The organization.
        organization_id: String,
    },
    /// A stored row could not be read back (written by a newer or broken writer).
    #[error("registry row {what} {key:?}: {detail}")]
    Corrupt {
        /// Which table.
        what: &'static str,
        /// Its key.
        key: String,
        /// What was wrong.
        detail: String,
    },
    /// Another writer changed the client between this operation's read and its write (two
    /// replicas sweeping at once); nothing was written. Retrying reads the new state.
    #[error("{client_id} was changed by another writer; nothing was written")]
    Conflict {
        /// The client.
        client_id: String,
    },
    /// A consent request was malformed (no user, no scope).
    #[error("consent: {0}")]
    Consent(String),
}

impl RegistryError {
    /// Whether retrying may succeed: database failures of the transient kind (connection
    /// lost or refused, pool timed out, database busy) and write conflicts; see the
    /// [`RegistryError`] example.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            RegistryError::Database {
                transient: true,
                ..
            } | RegistryError::Conflict { .. }
        )
    }

    /// The OAuth error code a server answers with; see the [`RegistryError`] example.
    pub fn spec_code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The OAuth error code a server answers with.
    pub fn error_code(&self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode as C;
        match self {
            RegistryError::Database {
                transient: true, ..
            } => C::TemporarilyUnavailable,
            RegistryError::UnknownClient { .. }
            | RegistryError::Revoked { .. }
            | RegistryError::Suspended { .. }
            | RegistryError::Expired { .. }
            | RegistryError::NoKeys { .. }
            | RegistryError::NoOrganization { .. } => C::InvalidClient,
            RegistryError::Consent(_) => C::InvalidRequest,
            _ => C::ServerError,
        }
    }
}

impl From<RegistryError> for crate::Error {
    fn from(e: RegistryError) -> Self {
        crate::Error::Registry(Box::new(e))
    }
}

/// Removes the password from a database URL before it goes into an error or a log.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.statement {
            write!(f, "statement {} → {}: ", s.issuer, s.subject)?;
        }
        if let Some(r) = &self.rule {
            write!(f, "[{r}] ")?;
        }
        f.write_str(&self.detail)
    }
}
