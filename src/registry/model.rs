//! What the registry holds: a [`RegisteredClient`] per client_id, its [`ClientStatus`] with
//! reason, [`Evidence`] and time, the [`RegistrationModel`] it came through, and
//! [`Organization`] summaries.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::record::{ClientRecord, OrganizationBinding};
use crate::resolver::EntityType;

/// Where a client stands.
///
/// ```
/// use oidfed::registry::StatusKind;
/// for kind in [StatusKind::Active, StatusKind::Stale, StatusKind::Suspended, StatusKind::Revoked] {
///     assert_eq!(StatusKind::parse(kind.as_str()), Some(kind));
/// }
/// assert_eq!(StatusKind::Revoked.as_str(), "revoked");
/// assert_eq!(StatusKind::parse("deleted"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StatusKind {
    /// Trusted: the last re-validation succeeded.
    Active,
    /// Trusted on the previous record: a superior was unreachable, the record is still
    /// within its expiry, a retry is due at [`ClientStatus::retry_at`].
    Stale,
    /// Refused: unreachable past the record's expiry. A sweep that resolves the chain again
    /// makes the client active again.
    Suspended,
    /// Refused for good: trust lost (statement removed, policy or constraints failing,
    /// anchor gone) or offboarded. Only a new, deliberate admission
    /// ([`crate::registry::Registry::readmit`]) makes it active again.
    Revoked,
}

impl StatusKind {
    /// The stored name (`active`, `stale`, `suspended`, `revoked`); see the [`StatusKind`]
    /// example.
    pub fn as_str(&self) -> &'static str {
        match self {
            StatusKind::Active => "active",
            StatusKind::Stale => "stale",
            StatusKind::Suspended => "suspended",
            StatusKind::Revoked => "revoked",
        }
    }

    /// Parses a stored name; see the type's example.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "active" => StatusKind::Active,
            "stale" => StatusKind::Stale,
            "suspended" => StatusKind::Suspended,
            "revoked" => StatusKind::Revoked,
            _ => return None,
        })
    }
}

/// A statement named as evidence: its issuer and subject (equal for an Entity
/// Configuration).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-statement_ref.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// fed.remove_ss("org", "rp");
/// registry.sweep(&resolver).await.unwrap();
/// let status = registry.status(&fed.id("rp")).await.unwrap().unwrap();
/// let evidence = status.evidence.unwrap();
/// let statement = evidence.statement.unwrap(); // the statement that no longer exists
/// assert_eq!((statement.issuer.as_str(), statement.subject.as_str()), (fed.id("org").as_str(), fed.id("rp").as_str()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StatementRef {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
}

/// Why a status was set: which statement, which rule, what was found.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-evidence.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// fed.remove_ss("org", "rp");
/// registry.sweep(&resolver).await.unwrap();
/// let status = registry.status(&fed.id("rp")).await.unwrap().unwrap();
/// let evidence = status.evidence.unwrap();
/// assert!(evidence.rule.is_some() && evidence.code.is_some());
/// assert!(!evidence.detail.is_empty());
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Evidence {
    /// The statement that decided it, when one did (issuer → subject).
    pub statement: Option<StatementRef>,
    /// The rule: a [`crate::Rule`] name, or `not_found`, `offboarded`, `unreachable`…
    pub rule: Option<String>,
    /// The specification's error code ([`crate::Error::spec_code`]) of the failure.
    pub code: Option<String>,
    /// What was found, in words.
    pub detail: String,
    /// The trust chain's fingerprint the status rests on (the old record's for a failure).
    pub chain_fingerprint: Option<String>,
}

impl Evidence {
    /// Evidence with only a description.
    ///
    /// ```
    /// use oidfed::registry::Evidence;
    /// let e = Evidence::detail("checked by hand");
    /// assert_eq!((e.detail.as_str(), e.rule, e.statement), ("checked by hand", None, None));
    /// ```
    pub fn detail(detail: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
            ..Self::default()
        }
    }
}

/// A client's status: what, why, on which evidence, since when.
///
/// ```
/// use oidfed::registry::{ClientStatus, StatusKind};
/// let status = ClientStatus::active("admitted", 1_800_000_000);
/// assert_eq!((status.kind, status.since, status.retry_at), (StatusKind::Active, 1_800_000_000, None));
/// assert!(status.is_active() && !status.is_revoked());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClientStatus {
    /// Active, stale, suspended or revoked.
    pub kind: StatusKind,
    /// Why, in words.
    pub reason: String,
    /// Which statement and rule (absent for a plain admission).
    pub evidence: Option<Evidence>,
    /// When the client entered this status (Unix seconds).
    pub since: i64,
    /// For a stale or suspended client: when to try again (Unix seconds).
    pub retry_at: Option<i64>,
}

impl ClientStatus {
    /// Whether requests of the client are accepted: active, or active-but-stale.
    ///
    /// ```
    /// use oidfed::registry::{ClientStatus, StatusKind};
    /// assert!(ClientStatus::active("admitted", 0).is_active());
    /// ```
    pub fn is_active(&self) -> bool {
        matches!(self.kind, StatusKind::Active | StatusKind::Stale)
    }

    /// Whether the client is revoked (only a deliberate re-admission undoes it); see the
    /// [`Registry::offboard_client`](crate::registry::Registry::offboard_client) example.
    pub fn is_revoked(&self) -> bool {
        self.kind == StatusKind::Revoked
    }

    /// An active status; see the [`ClientStatus`] example.
    pub fn active(reason: impl Into<String>, since: i64) -> Self {
        Self {
            kind: StatusKind::Active,
            reason: reason.into(),
            evidence: None,
            since,
            retry_at: None,
        }
    }

    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(crate) fn new(
        kind: StatusKind,
        reason: impl Into<String>,
        evidence: Option<Evidence>,
        since: i64,
        retry_at: Option<i64>,
    ) -> Self {
        Self {
            kind,
            reason: reason.into(),
            evidence,
            since,
            retry_at,
        }
    }
}

/// How a client came to be registered.
///
/// ```
/// use oidfed::registry::RegistrationModel;
/// for m in [RegistrationModel::Federation, RegistrationModel::Dynamic, RegistrationModel::Manual] {
///     assert_eq!(RegistrationModel::parse(m.as_str()), Some(m));
/// }
/// assert_eq!(RegistrationModel::Dynamic.as_str(), "dynamic");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RegistrationModel {
    /// OpenID Federation (automatic or explicit registration, or an operator's admission
    /// of an Entity Identifier): trust from signed statements, re-validated by sweeps.
    Federation,
    /// Dynamic Client Registration (RFC 7591), gated by a federation software statement.
    Dynamic,
    /// Manual onboarding by an operator.
    Manual,
}

impl RegistrationModel {
    /// The stored name; see the type's example.
    pub fn as_str(&self) -> &'static str {
        match self {
            RegistrationModel::Federation => "federation",
            RegistrationModel::Dynamic => "dynamic",
            RegistrationModel::Manual => "manual",
        }
    }

    /// Parses a stored name; see the type's example.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "federation" => RegistrationModel::Federation,
            "dynamic" => RegistrationModel::Dynamic,
            "manual" => RegistrationModel::Manual,
            _ => return None,
        })
    }
}

/// Who caused an audited event.
///
/// ```
/// use oidfed::registry::Actor;
/// for a in [Actor::Monitor, Actor::Operator, Actor::Request] {
///     assert_eq!(Actor::parse(a.as_str()), Some(a));
/// }
/// assert_eq!(Actor::parse("root"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Actor {
    /// A sweep or the background monitor.
    Monitor,
    /// An operator (admission, offboarding, re-admission).
    Operator,
    /// A client's request (automatic registration, a consent grant).
    Request,
}

impl Actor {
    /// The stored name; see the type's example.
    pub fn as_str(&self) -> &'static str {
        match self {
            Actor::Monitor => "monitor",
            Actor::Operator => "operator",
            Actor::Request => "request",
        }
    }

    /// Parses a stored name; see the type's example.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "monitor" => Actor::Monitor,
            "operator" => Actor::Operator,
            "request" => Actor::Request,
            _ => return None,
        })
    }
}

/// A client as the registry holds it: its current record (keys, metadata, chain), its
/// organization, its status and how it came.
///
/// One example for the type and its accessors:
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-registered_client.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// use oidfed::registry::RegistrationModel;
/// use oidfed::{Clock, EntityType};
/// let client = registry.client(&fed.id("rp")).await.unwrap().unwrap();
/// assert_eq!(client.client_id(), fed.id("rp").as_str());
/// assert_eq!(client.entity_type(), &EntityType::OPENID_RELYING_PARTY);
/// assert_eq!(client.organization_id(), Some(fed.id("org").as_str()));
/// assert!(client.organization().is_some());
/// assert_eq!(client.registration_model(), RegistrationModel::Federation);
/// assert!(client.status().is_active());
/// assert_eq!(client.record().unwrap().metadata["client_name"], "RP");
/// assert!(client.keys()["keys"].is_array());
/// assert_eq!(client.admitted_at(), fed.clock().now());
/// assert_eq!(client.last_validated(), client.admitted_at());
/// assert!(client.trust_expires_at().unwrap() > client.admitted_at());
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredClient {
    pub(crate) client_id: String,
    pub(crate) entity_type: EntityType,
    pub(crate) organization_id: Option<String>,
    pub(crate) model: RegistrationModel,
    pub(crate) status: ClientStatus,
    pub(crate) record: Option<Arc<ClientRecord>>,
    pub(crate) admitted_at: i64,
    pub(crate) last_validated: i64,
    pub(crate) version: i64,
    /// For a client without a federation record (dynamic): until when the organization
    /// chain its last validation rested on is valid.
    pub(crate) trust_expires_at: Option<i64>,
}

impl RegisteredClient {
    /// The client_id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The Entity Type it was admitted for.
    pub fn entity_type(&self) -> &EntityType {
        &self.entity_type
    }

    /// The accountable organization's identifier, when bound.
    pub fn organization_id(&self) -> Option<&str> {
        self.organization_id.as_deref()
    }

    /// The organization binding with its evidence, for a federation client.
    pub fn organization(&self) -> Option<&OrganizationBinding> {
        self.record.as_ref().and_then(|r| r.organization.as_ref())
    }

    /// How the client came to be registered.
    pub fn registration_model(&self) -> RegistrationModel {
        self.model
    }

    /// Its status.
    pub fn status(&self) -> &ClientStatus {
        &self.status
    }

    /// The current federation record (metadata, keys, chain), when there is one.
    pub fn record(&self) -> Option<&Arc<ClientRecord>> {
        self.record.as_ref()
    }

    /// A federation client's current protocol keys, from its record (a JWK Set; empty when
    /// none are known, and for dynamic and manual clients, whose keys live with their
    /// registration: read those with [`crate::registry::Registry::protocol_keys`]).
    pub fn keys(&self) -> Value {
        self.record
            .as_ref()
            .map(|r| r.keys.clone())
            .unwrap_or_else(|| serde_json::json!({"keys": []}))
    }

    /// When it was admitted (Unix seconds).
    pub fn admitted_at(&self) -> i64 {
        self.admitted_at
    }

    /// When it was last re-validated successfully (Unix seconds). A re-validation that
    /// found exactly the stored record sets this and nothing else; the record's own
    /// `resolved_at` says when that record was first built.
    pub fn last_validated(&self) -> i64 {
        self.last_validated
    }

    /// The version of the stored row: it grows with every change written (status, record,
    /// registration), and only then: a re-validation that changed nothing leaves it, so
    /// anything derived from a version (parsed keys, a replica's cache) stays valid. Two
    /// reads with the same version saw the same client, but for `last_validated`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-version.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// let admitted = registry.admit(&resolver, &fed.id("rp"), "openid_relying_party").await.unwrap();
    /// registry.sweep(&resolver).await.unwrap(); // nothing changed
    /// let now = registry.client(&fed.id("rp")).await.unwrap().unwrap();
    /// assert_eq!(now.version(), admitted.version());
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Until when the trust its last successful validation established holds without a
    /// new one: the federation record's expiry, or for a dynamic client the expiry of its
    /// organization's trust chain as last resolved. A transient failure before this time
    /// makes the client stale, at or after it suspended. `None` for a manual client (its
    /// registration's own expiry applies).
    pub fn trust_expires_at(&self) -> Option<i64> {
        self.record
            .as_ref()
            .map(|r| r.expires_at.as_secs())
            .or(self.trust_expires_at)
    }
}

/// An organization with its client counts.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-organization.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// let orgs = registry.organizations().await.unwrap();
/// assert_eq!(orgs[0].organization_id, fed.id("org").as_str());
/// assert_eq!((orgs[0].clients, orgs[0].active_clients), (1, 1));
/// assert_eq!(orgs[0].offboarded_at, None);
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Organization {
    /// Its identifier (an Entity Identifier for a federation organization).
    pub organization_id: String,
    /// `organization_name`, when known.
    pub name: Option<String>,
    /// `organization_uri`, when known.
    pub uri: Option<String>,
    /// When first seen (Unix seconds).
    pub first_seen: i64,
    /// Clients bound to it, any status.
    pub clients: u64,
    /// Of those, active or stale.
    pub active_clients: u64,
    /// When an operator offboarded it, if one did.
    pub offboarded_at: Option<i64>,
}
