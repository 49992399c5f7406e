//! Lifecycle events: what an authorization server subscribes to ([`MonitorHandle::subscribe`]
//! gives a `tokio::sync::broadcast` receiver).
//!
//! A client's events are read from the audit trail, never invented beside it: every replica
//! follows the trail from a cursor (woken by PostgreSQL `NOTIFY` or by polling SQLite's
//! change sequence), turns each new entry into typed [`ClientEvent`]s and publishes them. So
//! each event is also an audit entry ([`ClientEvent::audit`]) with its evidence, and every
//! replica sees the same events in the same order, whichever replica caused them. The
//! monitor's own operational events (a pass done, the lease won or lost, a failure) are
//! published by the replica they happen on.
//!
//! [`MonitorHandle::subscribe`]: super::monitor::MonitorHandle::subscribe

use std::sync::Arc;

use crate::record::Change;
use crate::registry::audit::{AuditEntry, AuditEvent};
use crate::registry::model::{Actor, Evidence, StatusKind};
use crate::registry::monitor::{MonitorError, PassReport};
use crate::registry::subordinate_events::SubordinateEvent;

/// What happened to a client.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-client_event_kind.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// use std::time::Duration;
/// use oidfed::EntityType;
/// use oidfed::registry::events::{ClientEventKind, MonitorEvent};
/// let handle = registry.monitor(&resolver)
///     .watch_poll(Duration::from_millis(20), Duration::from_millis(100))
///     .start().await.unwrap();
/// let mut events = handle.subscribe();
/// registry.offboard_client(&fed.id("rp"), "key compromise").await.unwrap();
/// registry.readmit(&resolver, &fed.id("rp"), &EntityType::OPENID_RELYING_PARTY, "TICKET-9").await.unwrap();
/// let mut kinds = Vec::new();
/// while kinds.len() < 2 {
///     let ev = tokio::time::timeout(Duration::from_secs(30), events.recv()).await.unwrap().unwrap();
///     if let MonitorEvent::Client(e) = ev { kinds.push(e.kind); }
/// }
/// assert_eq!(kinds, [ClientEventKind::Revoked, ClientEventKind::Admitted { readmitted: true }]);
/// handle.stop().await;
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEventKind {
    /// Admitted (first registration, or a deliberate re-admission after revocation).
    Admitted {
        /// Whether it was a re-admission of a revoked client.
        readmitted: bool,
    },
    /// Its protocol keys rotated.
    KeysRotated {
        /// `kid`s added.
        added: Vec<String>,
        /// `kid`s removed.
        removed: Vec<String>,
    },
    /// Its Federation Entity Keys rotated.
    FederationKeysRotated {
        /// `kid`s added.
        added: Vec<String>,
        /// `kid`s removed.
        removed: Vec<String>,
    },
    /// Its resolved metadata changed.
    MetadataChanged {
        /// The parameters added, removed or changed.
        parameters: Vec<String>,
    },
    /// Its accountable organization changed.
    OrganizationChanged {
        /// Before.
        from: Option<String>,
        /// After.
        to: Option<String>,
    },
    /// Its chain now ends at another trust anchor, or runs through other authorities.
    ChainChanged,
    /// It gained trust marks.
    TrustMarksGained {
        /// The trust mark types gained.
        types: Vec<String>,
    },
    /// It lost trust marks.
    TrustMarksLost {
        /// The trust mark types lost.
        types: Vec<String>,
    },
    /// The deviations of the interoperability profile its chain needs changed (each one
    /// said as `issuer → subject: tolerance: what was accepted`).
    DeviationsChanged {
        /// Deviations now tolerated that were not before.
        added: Vec<String>,
        /// Deviations no longer needed.
        removed: Vec<String>,
    },
    /// A superior was unreachable; the previous record is still trusted until it expires.
    Stale {
        /// When the monitor tries again.
        retry_at: Option<i64>,
    },
    /// Unreachable past its record's expiry: refused until its chain resolves again.
    Suspended,
    /// Trust lost for good (or offboarded): refused until a deliberate re-admission.
    Revoked,
    /// Back to active after being stale or suspended.
    Reinstated {
        /// The status it left.
        from: StatusKind,
    },
}

/// One lifecycle event of one client, read from the audit trail.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-client_event.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// use std::time::Duration;
/// use oidfed::registry::{Actor, events::MonitorEvent};
/// let handle = registry.monitor(&resolver)
///     .watch_poll(Duration::from_millis(20), Duration::from_millis(100))
///     .start().await.unwrap();
/// let mut events = handle.subscribe();
/// registry.offboard_client(&fed.id("rp"), "contract ended").await.unwrap();
/// let event = loop {
///     let ev = tokio::time::timeout(Duration::from_secs(30), events.recv()).await.unwrap().unwrap();
///     if let MonitorEvent::Client(e) = ev { break e; }
/// };
/// assert_eq!(event.organization_id.as_deref(), Some(fed.id("org").as_str()));
/// assert_eq!(event.actor, Actor::Operator);
/// assert_eq!(event.audit.client_id.as_deref(), Some(event.client_id.as_str()));
/// handle.stop().await;
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClientEvent {
    /// What happened.
    pub kind: ClientEventKind,
    /// The client.
    pub client_id: String,
    /// Its organization at the time.
    pub organization_id: Option<String>,
    /// When (Unix seconds, the writer's clock).
    pub at: i64,
    /// Who caused it.
    pub actor: Actor,
    /// Which statement and rule decided it, when one did.
    pub evidence: Option<Evidence>,
    /// The audit entry it was read from (its `seq` is the trail's cursor).
    pub audit: Arc<AuditEntry>,
}

/// Everything the monitor publishes.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-monitor_event.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// use oidfed::registry::events::MonitorEvent;
/// let monitor = registry.monitor(&resolver).build();
/// let mut events = monitor.subscribe();
/// monitor.pass().await.unwrap();
/// let mut passes = 0;
/// while let Ok(ev) = events.try_recv() {
///     if let MonitorEvent::PassCompleted(report) = ev {
///         assert_eq!(report.clients, 1);
///         passes += 1;
///     }
/// }
/// assert_eq!(passes, 1);
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum MonitorEvent {
    /// A client's lifecycle event (every replica).
    Client(ClientEvent),
    /// A pass finished (the sweeping replica).
    PassCompleted(Arc<PassReport>),
    /// This replica became the sweeper.
    LeaseAcquired {
        /// This replica's holder id.
        holder: String,
        /// The lease's epoch (incremented at every change of holder).
        epoch: i64,
    },
    /// This replica stopped being the sweeper (another took over, or renewal failed).
    LeaseLost {
        /// This replica's holder id.
        holder: String,
        /// Why.
        reason: String,
    },
    /// A superior's subordinate events endpoint announced new events; the clients named
    /// were re-validated at once.
    SubordinateEvents {
        /// The superior.
        issuer: String,
        /// The subordinate the events are about.
        subject: String,
        /// The new events.
        events: Vec<SubordinateEvent>,
        /// The registered clients re-validated because of them.
        clients: Vec<String>,
    },
    /// Something failed; the monitor carries on (and says so again if it keeps failing).
    Failed(Arc<MonitorError>),
}

fn status_kind(entry: &AuditEntry, key: &str) -> Option<StatusKind> {
    entry
        .detail
        .get(key)
        .and_then(|v| v.as_str())
        .and_then(StatusKind::parse)
}

/// The typed events an audit entry stands for (none for consent and refusal entries).
pub(crate) fn from_audit(entry: AuditEntry) -> Vec<ClientEvent> {
    let Some(client_id) = entry.client_id.clone() else {
        return Vec::new();
    };
    let status = entry.status();
    let evidence = status
        .as_ref()
        .and_then(|s| s.evidence.clone())
        .or_else(|| {
            entry
                .detail
                .get("evidence")
                .and_then(|e| serde_json::from_value(e.clone()).ok())
        });
    let kinds: Vec<ClientEventKind> = match entry.event {
        AuditEvent::Admitted => vec![ClientEventKind::Admitted { readmitted: false }],
        AuditEvent::Readmitted => vec![ClientEventKind::Admitted { readmitted: true }],
        AuditEvent::Changed => entry.changes().into_iter().flat_map(change_kinds).collect(),
        AuditEvent::StatusChanged | AuditEvent::Offboarded => {
            let to = status
                .as_ref()
                .map(|s| s.kind)
                .or_else(|| status_kind(&entry, "to"));
            let from = status_kind(&entry, "from");
            match (to, from) {
                (Some(StatusKind::Stale), _) => vec![ClientEventKind::Stale {
                    retry_at: status.as_ref().and_then(|s| s.retry_at),
                }],
                (Some(StatusKind::Suspended), _) => vec![ClientEventKind::Suspended],
                (Some(StatusKind::Revoked), _) => vec![ClientEventKind::Revoked],
                (Some(StatusKind::Active), Some(from)) if from != StatusKind::Active => {
                    vec![ClientEventKind::Reinstated { from }]
                }
                (None, _) if entry.event == AuditEvent::Offboarded => {
                    vec![ClientEventKind::Revoked]
                }
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    };
    let audit = Arc::new(entry);
    kinds
        .into_iter()
        .map(|kind| ClientEvent {
            kind,
            client_id: client_id.clone(),
            organization_id: audit.organization_id.clone(),
            at: audit.at,
            actor: audit.actor,
            evidence: evidence.clone(),
            audit: audit.clone(),
        })
        .collect()
}

fn change_kinds(change: Change) -> Vec<ClientEventKind> {
    match change {
        Change::KeysRotated { added, removed } => {
            vec![ClientEventKind::KeysRotated { added, removed }]
        }
        Change::FederationKeysRotated { added, removed } => {
            vec![ClientEventKind::FederationKeysRotated { added, removed }]
        }
        Change::MetadataChanged { parameters } => {
            vec![ClientEventKind::MetadataChanged { parameters }]
        }
        Change::OrganizationChanged { from, to } => vec![ClientEventKind::OrganizationChanged {
            from: from.map(|e| e.to_string()),
            to: to.map(|e| e.to_string()),
        }],
        Change::TrustMarksChanged { gained, lost } => {
            let mut v = Vec::new();
            if !gained.is_empty() {
                v.push(ClientEventKind::TrustMarksGained { types: gained });
            }
            if !lost.is_empty() {
                v.push(ClientEventKind::TrustMarksLost { types: lost });
            }
            v
        }
        Change::TrustAnchorChanged { .. } | Change::ChainPathChanged { .. } => {
            vec![ClientEventKind::ChainChanged]
        }
        Change::DeviationsChanged { added, removed } => {
            vec![ClientEventKind::DeviationsChanged {
                added: added.iter().map(ToString::to_string).collect(),
                removed: removed.iter().map(ToString::to_string).collect(),
            }]
        }
    }
}
