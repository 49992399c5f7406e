//! The audit trail: append-only entries for every admission, re-validation change, status
//! transition, offboarding and consent event, with time, actor, chain fingerprint and
//! anchor. Read by client, by organization, or as a stream from a cursor (for a SIEM). The
//! tables refuse `UPDATE` and `DELETE` (triggers), so a writer cannot rewrite history.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{Actor, ClientStatus};
use crate::record::Change;

/// What an audit entry records.
///
/// ```
/// use oidfed::registry::AuditEvent;
/// assert_eq!(AuditEvent::ConsentGranted.as_str(), "consent_granted");
/// assert_eq!(AuditEvent::parse("consent_granted"), Some(AuditEvent::ConsentGranted));
/// assert_eq!(AuditEvent::parse("deleted"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditEvent {
    /// A client was admitted (first registration).
    Admitted,
    /// A revoked client was deliberately admitted again.
    Readmitted,
    /// An admission was refused (no organization, no chain…).
    AdmissionRefused,
    /// Re-validation found changes (`detail.changes` holds the [`Change`] values).
    Changed,
    /// The status changed (`detail.from`, `detail.to`, `detail.status`).
    StatusChanged,
    /// An operator offboarded the client (with its organization or alone).
    Offboarded,
    /// An operator offboarded a whole organization.
    OrganizationOffboarded,
    /// A user granted scopes to the client.
    ConsentGranted,
    /// A grant lost scopes the client's metadata no longer allows.
    ConsentNarrowed,
    /// A grant ended (client revoked, organization changed, user revoked it).
    ConsentEnded,
}

impl AuditEvent {
    /// The stored name; see the [`AuditEvent`] example.
    pub fn as_str(&self) -> &'static str {
        match self {
            AuditEvent::Admitted => "admitted",
            AuditEvent::Readmitted => "readmitted",
            AuditEvent::AdmissionRefused => "admission_refused",
            AuditEvent::Changed => "changed",
            AuditEvent::StatusChanged => "status_changed",
            AuditEvent::Offboarded => "offboarded",
            AuditEvent::OrganizationOffboarded => "organization_offboarded",
            AuditEvent::ConsentGranted => "consent_granted",
            AuditEvent::ConsentNarrowed => "consent_narrowed",
            AuditEvent::ConsentEnded => "consent_ended",
        }
    }

    /// Parses a stored name; see the [`AuditEvent`] example.
    pub fn parse(s: &str) -> Option<Self> {
        [
            AuditEvent::Admitted,
            AuditEvent::Readmitted,
            AuditEvent::AdmissionRefused,
            AuditEvent::Changed,
            AuditEvent::StatusChanged,
            AuditEvent::Offboarded,
            AuditEvent::OrganizationOffboarded,
            AuditEvent::ConsentGranted,
            AuditEvent::ConsentNarrowed,
            AuditEvent::ConsentEnded,
        ]
        .into_iter()
        .find(|e| e.as_str() == s)
    }
}

/// One entry of the audit trail.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-audit_entry.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// use oidfed::registry::{Actor, AuditEvent, StatusKind};
/// registry.offboard_client(&fed.id("rp"), "contract ended").await.unwrap();
/// let trail = registry.audit_of_client(&fed.id("rp")).await.unwrap();
/// assert_eq!(trail[0].event, AuditEvent::Admitted);
/// let last = trail.last().unwrap();
/// assert_eq!((last.event, last.actor), (AuditEvent::Offboarded, Actor::Operator));
/// assert_eq!(last.status().unwrap().kind, StatusKind::Revoked);
/// assert!(trail[0].seq < last.seq);
/// assert!(last.changes().is_empty());
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditEntry {
    /// Position in the trail: strictly increasing in commit order; the cursor of
    /// [`crate::registry::Registry::audit_after`].
    pub seq: i64,
    /// When (Unix seconds).
    pub at: i64,
    /// The client, when the event concerns one.
    pub client_id: Option<String>,
    /// The client's organization at the time (or the organization offboarded).
    pub organization_id: Option<String>,
    /// Who caused it.
    pub actor: Actor,
    /// What happened.
    pub event: AuditEvent,
    /// The details (changes, statuses, evidence, scopes), as JSON.
    pub detail: Value,
    /// The fingerprint of the trust chain the client's record rests on, when it has one.
    pub chain_fingerprint: Option<String>,
    /// The trust anchor of that chain.
    pub trust_anchor: Option<String>,
}

impl AuditEntry {
    /// The re-validation changes of a [`AuditEvent::Changed`] entry (empty for other
    /// entries; see the [`AuditEntry`] example).
    pub fn changes(&self) -> Vec<Change> {
        self.detail
            .get("changes")
            .and_then(|c| serde_json::from_value(c.clone()).ok())
            .unwrap_or_default()
    }

    /// The new status of a [`AuditEvent::StatusChanged`] (or offboarding) entry; see the
    /// [`AuditEntry`] example.
    pub fn status(&self) -> Option<ClientStatus> {
        self.detail
            .get("status")
            .and_then(|c| serde_json::from_value(c.clone()).ok())
    }

    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(crate) fn new(
        at: i64,
        actor: Actor,
        event: AuditEvent,
        client_id: Option<&str>,
        organization_id: Option<&str>,
        detail: Value,
    ) -> Self {
        Self {
            seq: 0,
            at,
            client_id: client_id.map(str::to_string),
            organization_id: organization_id.map(str::to_string),
            actor,
            event,
            detail,
            chain_fingerprint: None,
            trust_anchor: None,
        }
    }

    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(crate) fn on_chain(mut self, fingerprint: Option<&str>, anchor: Option<&str>) -> Self {
        self.chain_fingerprint = fingerprint.map(str::to_string);
        self.trust_anchor = anchor.map(str::to_string);
        self
    }
}
