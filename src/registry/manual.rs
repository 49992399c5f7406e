//! Manual onboarding with an owner (issue 17 item 4): a client an operator registers by
//! hand is accepted only with an accountable organization — an Entity Identifier of the
//! federation, or an organization record the operator created — and an approver and a
//! reference (ticket) as evidence. It has an expiry (a sweep revokes it then) and a review
//! date; the access review lists manual clients apart, since nothing re-validates them.

use super::error::RegistryError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Registry;
use super::audit::{AuditEntry, AuditEvent};
use super::model::{Actor, ClientStatus, RegisteredClient, RegistrationModel};
use super::store::{Batch, ClientWrite, NamedOrganizationRow, OrgWrite, RegistrationWrite};
use super::trail::ReviewRow;
use crate::error::Error;
use crate::resolver::{EntityType, Resolver};
use crate::server::dcr::ModelPolicy;

/// A manual registration row with its details, parsed or not.
pub(crate) type ManualRow = (
    super::store::RegistrationRow,
    Result<ManualRegistration, RegistryError>,
);
/// Who is accountable for a manual client.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-manual_org.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # use oidfed::Clock;
/// # use oidfed::registry::{ManualOnboarding, ManualOrganization};
/// # use oidfed::server::dcr::{AcceptedModels, ModelPolicy};
/// # let now = fed.clock().now();
/// # let models = ModelPolicy::default().default_models(AcceptedModels::All);
///
/// registry.create_organization("partner-gmbh", "Partner GmbH", "bob@as.example", "T-2").await.unwrap();
/// for org in [
///     ManualOrganization::Federation(fed.id("org").to_string()),
///     ManualOrganization::Named("partner-gmbh".into()),
/// ] {
///     let client_id = format!("portal-{}", org.id().len());
///     let req = ManualOnboarding::new(&client_id)
///         .organization(org.clone())
///         .approved_by("alice@as.example", "TICKET-1")
///         .valid_until(now + 90 * 86_400, now + 30 * 86_400);
///     let client = registry.register_manual(&resolver, &models, req).await.unwrap();
///     assert_eq!(client.organization_id(), Some(org.id()));
/// }
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ManualOrganization {
    /// A federation entity (its chain must resolve to a configured anchor).
    Federation(String),
    /// An organization record the operator created ([`Registry::create_organization`]).
    Named(String),
}

impl ManualOrganization {
    /// The organization identifier.
    ///
    /// ```
    /// use oidfed::registry::ManualOrganization;
    /// assert_eq!(ManualOrganization::Named("acme".into()).id(), "acme");
    /// ```
    pub fn id(&self) -> &str {
        match self {
            ManualOrganization::Federation(id) | ManualOrganization::Named(id) => id,
        }
    }
}

/// A manual registration as the operator asks for it.
///
/// ```
/// use oidfed::registry::{ManualOnboarding, ManualOrganization};
/// let req = ManualOnboarding::new("portal-client-7")
///     .organization(ManualOrganization::Named("partner-gmbh".into()))
///     .approved_by("alice@as.example", "TICKET-1234")
///     .valid_until(1_900_000_000, 1_850_000_000);
/// assert_eq!(req.reference, "TICKET-1234");
/// ```
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-manual_onboarding.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # use oidfed::Clock;
/// # use oidfed::registry::{ManualOnboarding, ManualOrganization};
/// # use oidfed::server::dcr::{AcceptedModels, ModelPolicy};
/// # let now = fed.clock().now();
/// # let models = ModelPolicy::default().default_models(AcceptedModels::All);
///
/// let req = ManualOnboarding::new("portal-1")
///     .organization(ManualOrganization::Federation(fed.id("org").to_string()))
///     .approved_by("alice@as.example", "TICKET-1")
///     .valid_until(now + 90 * 86_400, now + 30 * 86_400)
///     .metadata(serde_json::from_value(serde_json::json!({"client_name": "Portal"})).unwrap());
/// assert_eq!((req.approver.as_str(), req.reference.as_str()), ("alice@as.example", "TICKET-1"));
/// let client = registry.register_manual(&resolver, &models, req).await.unwrap();
/// assert_eq!(client.client_id(), "portal-1");
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ManualOnboarding {
    /// The client_id to register.
    pub client_id: String,
    /// Its Entity Type (default `openid_relying_party`).
    pub entity_type: EntityType,
    /// The accountable organization (required).
    pub organization: Option<ManualOrganization>,
    /// Who approved it (required).
    pub approver: String,
    /// The approval's reference, e.g. a ticket (required).
    pub reference: String,
    /// When the registration ends (Unix seconds; required, in the future).
    pub expires_at: i64,
    /// When it must be reviewed (Unix seconds; at or before the expiry).
    pub review_at: i64,
    /// The client's metadata as onboarded.
    pub metadata: Map<String, Value>,
}

impl ManualOnboarding {
    /// A request for `client_id` with nothing else set.; see the [`ManualOnboarding`] example.
    pub fn new(client_id: &str) -> Self {
        Self {
            client_id: client_id.to_string(),
            entity_type: EntityType::OPENID_RELYING_PARTY,
            organization: None,
            approver: String::new(),
            reference: String::new(),
            expires_at: 0,
            review_at: 0,
            metadata: Map::new(),
        }
    }

    /// Sets the accountable organization.; see the [`ManualOnboarding`] example.
    pub fn organization(mut self, org: ManualOrganization) -> Self {
        self.organization = Some(org);
        self
    }

    /// Sets the approver and the reference (ticket).; see the [`ManualOnboarding`] example.
    pub fn approved_by(mut self, approver: &str, reference: &str) -> Self {
        self.approver = approver.to_string();
        self.reference = reference.to_string();
        self
    }

    /// Sets the expiry and the review date.; see the [`ManualOnboarding`] example.
    pub fn valid_until(mut self, expires_at: i64, review_at: i64) -> Self {
        self.expires_at = expires_at;
        self.review_at = review_at;
        self
    }

    /// Sets the metadata.; see the [`ManualOnboarding`] example.
    pub fn metadata(mut self, metadata: Map<String, Value>) -> Self {
        self.metadata = metadata;
        self
    }
}

/// A manual registration as stored: the evidence of its binding.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-manual_registration.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # use oidfed::Clock;
/// # use oidfed::registry::{ManualOnboarding, ManualOrganization};
/// # use oidfed::server::dcr::{AcceptedModels, ModelPolicy};
/// # let now = fed.clock().now();
/// # let models = ModelPolicy::default().default_models(AcceptedModels::All);
///
/// let req = ManualOnboarding::new("portal-1")
///     .organization(ManualOrganization::Federation(fed.id("org").to_string()))
///     .approved_by("alice@as.example", "TICKET-1")
///     .valid_until(now + 90 * 86_400, now + 30 * 86_400);
/// registry.register_manual(&resolver, &models, req).await.unwrap();
/// let stored = registry.manual_registration("portal-1").await.unwrap().unwrap();
/// assert_eq!(stored.reference, "TICKET-1");
/// assert_eq!(stored.trust_anchor.as_deref(), Some(fed.id("ta").as_str()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ManualRegistration {
    /// The client_id.
    pub client_id: String,
    /// Its Entity Type.
    pub entity_type: EntityType,
    /// The accountable organization.
    pub organization: ManualOrganization,
    /// The anchor the organization resolved to (federation organizations only).
    pub trust_anchor: Option<String>,
    /// Who approved it.
    pub approver: String,
    /// The approval's reference.
    pub reference: String,
    /// When it ends.
    pub expires_at: i64,
    /// When it must be reviewed.
    pub review_at: i64,
    /// Its metadata.
    pub metadata: Map<String, Value>,
    /// When it was registered.
    pub registered_at: i64,
}

/// The rule a manual registration broke.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-manual_rule.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # use oidfed::Clock;
/// # use oidfed::registry::{ManualOnboarding, ManualOrganization};
/// # use oidfed::server::dcr::{AcceptedModels, ModelPolicy};
/// # let now = fed.clock().now();
/// # let models = ModelPolicy::default().default_models(AcceptedModels::All);
///
/// use oidfed::registry::ManualRule;
/// let no_ticket = ManualOnboarding::new("portal-1")
///     .organization(ManualOrganization::Federation(fed.id("org").to_string()))
///     .approved_by("alice@as.example", "")
///     .valid_until(now + 90 * 86_400, now + 30 * 86_400);
/// let e = registry.register_manual(&resolver, &models, no_ticket).await.unwrap_err();
/// assert_eq!(e.rule(), Some(ManualRule::NoReference));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ManualRule {
    /// No organization given.
    NoOrganization,
    /// The organization is neither a federation entity with a chain to a configured anchor
    /// nor an organization record the operator created.
    UnknownOrganization,
    /// No approver given.
    NoApprover,
    /// No reference (ticket) given.
    NoReference,
    /// No expiry in the future, or a review date after the expiry.
    Dates,
    /// The organization's anchor (or, for a named organization, the default) does not
    /// accept manual registration.
    ModelNotAccepted,
    /// The client_id (or the organization record) exists already.
    AlreadyRegistered,
}

/// Why a manual registration was refused or failed.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-manual_error.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # use oidfed::Clock;
/// # use oidfed::registry::{ManualOnboarding, ManualOrganization};
/// # use oidfed::server::dcr::{AcceptedModels, ModelPolicy};
/// # let now = fed.clock().now();
/// # let models = ModelPolicy::default().default_models(AcceptedModels::All);
///
/// use oidfed::registry::{ManualError, ManualRule};
/// let req = ManualOnboarding::new("portal-1").approved_by("alice@as.example", "TICKET-1");
/// match registry.register_manual(&resolver, &models, req).await {
///     Err(ManualError::Refused { rule, .. }) => assert_eq!(rule, ManualRule::NoOrganization),
///     other => panic!("expected a refusal, got {other:?}"),
/// }
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ManualError {
    /// Refused: a rule of manual onboarding is not met.
    #[error("manual registration refused ({rule:?}): {detail}")]
    Refused {
        /// The rule.
        rule: ManualRule,
        /// Details.
        detail: String,
    },
    /// The registry or the federation failed.
    #[error(transparent)]
    Failed(#[from] Error),
}

impl ManualError {
    /// The rule broken, for a refusal; see the [`ManualRule`] example.
    pub fn rule(&self) -> Option<ManualRule> {
        match self {
            ManualError::Refused { rule, .. } => Some(*rule),
            ManualError::Failed(_) => None,
        }
    }
}

fn refuse(rule: ManualRule, detail: impl Into<String>) -> ManualError {
    ManualError::Refused {
        rule,
        detail: detail.into(),
    }
}

fn failed(e: impl Into<Error>) -> ManualError {
    ManualError::Failed(e.into())
}

impl Registry {
    /// Every manual registration with its parsed details (the row's `details` taken out);
    /// details that do not parse are there as [`RegistryError::Corrupt`], so the expiry
    /// sweep reports the row and the review refuses to leave it out silently.
    pub(crate) async fn manual_registrations(&self) -> Result<Vec<ManualRow>, Error> {
        let rows = self
            .store
            .registrations_by_model(RegistrationModel::Manual)
            .await?;
        Ok(rows
            .into_iter()
            .map(|mut row| {
                let details = std::mem::take(&mut row.details);
                let parsed = serde_json::from_value::<ManualRegistration>(details).map_err(|e| {
                    RegistryError::Corrupt {
                        what: "oidfed_registrations",
                        key: row.client_id.clone(),
                        detail: format!("manual registration details: {e}"),
                    }
                });
                (row, parsed)
            })
            .collect())
    }

    /// Creates an organization record for manual onboarding of partners outside the
    /// federation, with who created it and why (reference).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-create_org.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// use oidfed::registry::ManualRule;
    /// registry.create_organization("partner-gmbh", "Partner GmbH", "bob@as.example", "T-2").await.unwrap();
    /// let again = registry.create_organization("partner-gmbh", "Again", "bob@as.example", "T-3").await;
    /// assert_eq!(again.unwrap_err().rule(), Some(ManualRule::AlreadyRegistered));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn create_organization(
        &self,
        organization_id: &str,
        name: &str,
        created_by: &str,
        reference: &str,
    ) -> Result<(), ManualError> {
        for (what, v, rule) in [
            (
                "organization_id",
                organization_id,
                ManualRule::NoOrganization,
            ),
            ("created_by", created_by, ManualRule::NoApprover),
            ("reference", reference, ManualRule::NoReference),
        ] {
            if v.trim().is_empty() {
                return Err(refuse(rule, format!("{what} is required")));
            }
        }
        if self
            .store
            .has_organization(organization_id)
            .await
            .map_err(failed)?
        {
            return Err(refuse(
                ManualRule::AlreadyRegistered,
                format!("{organization_id} exists"),
            ));
        }
        let now = self.clock.now();
        let batch = Batch {
            organizations: vec![OrgWrite {
                organization_id: organization_id.to_string(),
                name: Some(name.to_string()),
                uri: None,
                seen_at: now,
            }],
            named_organizations: vec![NamedOrganizationRow {
                organization_id: organization_id.to_string(),
                name: name.to_string(),
                created_by: created_by.to_string(),
                reference: reference.to_string(),
                created_at: now,
            }],
            audit: vec![AuditEntry::new(
                now,
                Actor::Operator,
                AuditEvent::Changed,
                None,
                Some(organization_id),
                json!({"organization_record": "created", "name": name, "created_by": created_by,
                       "reference": reference}),
            )],
            ..Batch::default()
        };
        self.store.apply(batch).await.map_err(failed)
    }

    /// Registers a manually onboarded client: refused without an organization (a
    /// federation entity whose chain resolves, or an organization record), an approver, a
    /// reference, an expiry in the future and a review date at or before it, or when the
    /// organization's anchor does not accept manual registration (`models`).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-register_manual.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # use oidfed::Clock;
    /// # use oidfed::registry::{ManualOnboarding, ManualOrganization};
    /// # use oidfed::server::dcr::{AcceptedModels, ModelPolicy};
    /// # let now = fed.clock().now();
    /// # let models = ModelPolicy::default().default_models(AcceptedModels::All);
    ///
    /// use oidfed::registry::{ManualRule, RegistrationModel};
    /// let req = || ManualOnboarding::new("portal-1")
    ///     .organization(ManualOrganization::Federation(fed.id("org").to_string()))
    ///     .approved_by("alice@as.example", "TICKET-1")
    ///     .valid_until(now + 90 * 86_400, now + 30 * 86_400);
    /// // The default policy does not accept manual onboarding.
    /// let e = registry.register_manual(&resolver, &ModelPolicy::default(), req()).await.unwrap_err();
    /// assert_eq!(e.rule(), Some(ManualRule::ModelNotAccepted));
    /// let client = registry.register_manual(&resolver, &models, req()).await.unwrap();
    /// assert_eq!(client.registration_model(), RegistrationModel::Manual);
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn register_manual(
        &self,
        resolver: &Resolver,
        models: &ModelPolicy,
        req: ManualOnboarding,
    ) -> Result<RegisteredClient, ManualError> {
        let now = resolver.now();
        let org = req
            .organization
            .clone()
            .filter(|o| !o.id().trim().is_empty())
            .ok_or_else(|| {
                refuse(
                    ManualRule::NoOrganization,
                    "an accountable organization is required",
                )
            })?;
        if req.approver.trim().is_empty() {
            return Err(refuse(ManualRule::NoApprover, "an approver is required"));
        }
        if req.reference.trim().is_empty() {
            return Err(refuse(
                ManualRule::NoReference,
                "a reference (ticket) is required",
            ));
        }
        if req.expires_at <= now || req.review_at > req.expires_at {
            return Err(refuse(
                ManualRule::Dates,
                format!(
                    "expiry {} must be after now ({now}) and the review {} not after it",
                    req.expires_at, req.review_at
                ),
            ));
        }
        let (anchor, name) = match &org {
            ManualOrganization::Federation(id) => {
                let eid = resolver
                    .entity_id(id)
                    .map_err(|e| refuse(ManualRule::UnknownOrganization, e.to_string()))?;
                let resolved = crate::server::dcr::resolve_entity(resolver, &eid, false)
                    .await
                    .map_err(|e| {
                        if e.is_transient() {
                            failed(e)
                        } else {
                            refuse(
                                ManualRule::UnknownOrganization,
                                format!("{id} is not in the federation: {e}"),
                            )
                        }
                    })?;
                let name = resolved
                    .all_metadata()
                    .get("federation_entity")
                    .and_then(|m| m.get("organization_name"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                (Some(resolved.trust_anchor().to_string()), name)
            }
            ManualOrganization::Named(id) => {
                let rec = self.store.named_organization(id).await.map_err(failed)?;
                let rec = rec.ok_or_else(|| {
                    refuse(
                        ManualRule::UnknownOrganization,
                        format!("no organization record {id:?}"),
                    )
                })?;
                (None, Some(rec.name))
            }
        };
        if !models.for_anchor(anchor.as_deref()).manual() {
            return Err(refuse(
                ManualRule::ModelNotAccepted,
                format!(
                    "manual registration is not accepted for clients under {}",
                    anchor
                        .as_deref()
                        .unwrap_or("no anchor (an organization record)")
                ),
            ));
        }
        if self
            .store
            .client(&req.client_id)
            .await
            .map_err(failed)?
            .is_some()
        {
            return Err(refuse(
                ManualRule::AlreadyRegistered,
                format!("{} is registered", req.client_id),
            ));
        }
        let reg = ManualRegistration {
            client_id: req.client_id.clone(),
            entity_type: req.entity_type.clone(),
            organization: org.clone(),
            trust_anchor: anchor.clone(),
            approver: req.approver,
            reference: req.reference,
            expires_at: req.expires_at,
            review_at: req.review_at,
            metadata: req.metadata,
            registered_at: now,
        };
        let client = RegisteredClient {
            client_id: reg.client_id.clone(),
            entity_type: reg.entity_type.clone(),
            organization_id: Some(org.id().to_string()),
            model: RegistrationModel::Manual,
            status: ClientStatus::active(
                format!("manually registered, approved by {}", reg.approver),
                now,
            ),
            record: None,
            admitted_at: now,
            last_validated: now,
            version: 0,
            trust_expires_at: None,
        };
        let details = serde_json::to_value(&reg).map_err(|e| {
            failed(Error::Config(crate::error::ConfigError::Serialize {
                what: reg.client_id.to_string(),
                detail: e.to_string(),
            }))
        })?;
        let batch = Batch {
            actor: Some((Actor::Operator, now)),
            organizations: vec![OrgWrite {
                organization_id: org.id().to_string(),
                name,
                uri: None,
                seen_at: now,
            }],
            audit: vec![
                AuditEntry::new(
                    now,
                    Actor::Operator,
                    AuditEvent::Admitted,
                    Some(&reg.client_id),
                    Some(org.id()),
                    json!({"registration_model": "manual", "evidence": manual_evidence(&reg)}),
                )
                .on_chain(None, anchor.as_deref()),
            ],
            clients: vec![ClientWrite {
                client: client.clone(),
                expected_version: 0,
            }],
            registrations: vec![RegistrationWrite {
                client_id: reg.client_id.clone(),
                model: RegistrationModel::Manual,
                organization_id: Some(org.id().to_string()),
                software_id: None,
                token_hash: None,
                details,
                updated_at: now,
            }],
            ..Batch::default()
        };
        self.store.apply(batch).await.map_err(failed)?;
        Ok(RegisteredClient {
            version: 1,
            ..client
        })
    }

    /// The stored manual registration of `client_id`; see the [`ManualRegistration`] example.
    pub async fn manual_registration(
        &self,
        client_id: &str,
    ) -> Result<Option<ManualRegistration>, Error> {
        let Some(row) = self.store.registration(client_id).await? else {
            return Ok(None);
        };
        if row.model != RegistrationModel::Manual {
            return Ok(None);
        }
        serde_json::from_value(row.details).map(Some).map_err(|e| {
            super::RegistryError::Corrupt {
                what: "oidfed_registrations",
                key: client_id.to_string(),
                detail: e.to_string(),
            }
            .into()
        })
    }
}

pub(crate) fn manual_evidence(m: &ManualRegistration) -> Value {
    json!({
        "kind": "manual",
        "organization": m.organization,
        "approver": m.approver,
        "reference": m.reference,
        "expires_at": m.expires_at,
        "review_at": m.review_at,
    })
}

/// A line of the access review for a client whose binding rests on something else than a
/// chain: the common columns, and (manual clients) the expiry and review date.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-model_review_row.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # use oidfed::Clock;
/// # use oidfed::registry::{ManualOnboarding, ManualOrganization};
/// # use oidfed::server::dcr::{AcceptedModels, ModelPolicy};
/// # let now = fed.clock().now();
/// # let models = ModelPolicy::default().default_models(AcceptedModels::All);
/// let req = ManualOnboarding::new("portal-1")
///     .organization(ManualOrganization::Federation(fed.id("org").to_string()))
///     .approved_by("alice@as.example", "TICKET-1")
///     .valid_until(now + 90 * 86_400, now + 30 * 86_400);
/// registry.register_manual(&resolver, &models, req).await.unwrap();
/// let row = &registry.access_review_by_model().await.unwrap().manual[0];
/// assert_eq!((row.expires_at, row.review_at), (Some(now + 90 * 86_400), Some(now + 30 * 86_400)));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ModelReviewRow {
    /// The common columns (`binding_evidence` says the statement or the approval).
    #[serde(flatten)]
    pub row: ReviewRow,
    /// Manual clients: when the registration ends.
    pub expires_at: Option<i64>,
    /// Manual clients: when it must be reviewed.
    pub review_at: Option<i64>,
}
