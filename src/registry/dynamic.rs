//! Dynamic clients in the registry: what the DCR gate ([`crate::server::dcr::DcrGate`])
//! approves is stored with registration model `dynamic`, its organization binding and the
//! evidence (the software statement's form, issuer, chain, `jti`, `software_id`), and a
//! registration access token kept only as its SHA-256 hash. RFC 7592 read, update and
//! delete authenticate with that token (compared in constant time), rotate it on every
//! read and update, keep the organization binding and re-check policy.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Registry;
use super::audit::{AuditEntry, AuditEvent};
use super::model::{
    Actor, ClientStatus, Evidence, RegisteredClient, RegistrationModel, StatusKind,
};
use super::store::{Batch, ClientWrite, OrgWrite, RegistrationWrite};
use crate::error::Error;
use crate::resolver::EntityType;
use crate::server::ReplayGuard;
use crate::server::dcr::{
    DcrError, DcrGate, DcrRule, DuplicateSoftware, RegistrationAccessToken, VerifiedStatement,
    random_b64,
};

/// What the registry holds about a dynamic client besides its status (the token only as
/// a hash, elsewhere).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # use serde_json::json;
/// # use oidfed::Clock;
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let now = fed.clock().now();
/// # // A software statement the organization `org` signed, and a registration request.
/// # let statement = |jti: &str| fed.key("org").sign_jwt("JWT", &json!({
/// #     "iss": fed.id("org").as_str(), "iat": now, "exp": now + 3600, "jti": jti,
/// #     "software_id": "sw-1", "client_name": "Vouched"}));
/// # let body = |ssa: &str| json!({"redirect_uris": ["https://app.example/cb"],
/// #     "jwks": oidfed::testing::TestKey::generate(oidfed::testing::KeyAlg::ES256).public_jwks(),
/// #     "software_statement": ssa}).to_string().into_bytes();
/// use oidfed::server::MemoryReplayGuard;
/// use oidfed::server::dcr::{DcrConfig, DcrGate};
/// let gate = DcrGate::new(resolver, DcrConfig::default());
/// let guard = MemoryReplayGuard::default();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-dyn_reg.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// let response = registry.register_dynamic(&gate, &body(&statement("j1")), &guard).await.unwrap();
/// let reg = &response.registration;
/// assert_eq!(reg.statement.organization_id, fed.id("org").as_str());
/// assert_eq!(reg.client_id_issued_at, now);
/// let stored = registry.dynamic_registration(&reg.client_id).await.unwrap().unwrap();
/// assert_eq!(stored.metadata, reg.metadata);
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DynamicRegistration {
    /// The generated client_id.
    pub client_id: String,
    /// The Entity Type whose policy applied.
    pub entity_type: EntityType,
    /// The registered metadata (request ⊕ statement, policy applied).
    pub metadata: Map<String, Value>,
    /// The software statement and the organization binding it established.
    pub statement: VerifiedStatement,
    /// When the client_id was issued (Unix seconds).
    pub client_id_issued_at: i64,
    /// When the registration last changed (Unix seconds).
    pub updated_at: i64,
}

/// A second registration of the same software by the same organization (issue 21 item 4).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # use serde_json::json;
/// # use oidfed::Clock;
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let now = fed.clock().now();
/// # // A software statement the organization `org` signed, and a registration request.
/// # let statement = |jti: &str| fed.key("org").sign_jwt("JWT", &json!({
/// #     "iss": fed.id("org").as_str(), "iat": now, "exp": now + 3600, "jti": jti,
/// #     "software_id": "sw-1", "client_name": "Vouched"}));
/// # let body = |ssa: &str| json!({"redirect_uris": ["https://app.example/cb"],
/// #     "jwks": oidfed::testing::TestKey::generate(oidfed::testing::KeyAlg::ES256).public_jwks(),
/// #     "software_statement": ssa}).to_string().into_bytes();
/// use oidfed::server::MemoryReplayGuard;
/// use oidfed::server::dcr::{DcrConfig, DcrGate};
/// let gate = DcrGate::new(resolver, DcrConfig::default());
/// let guard = MemoryReplayGuard::default();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-dup_report.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// use oidfed::server::dcr::DuplicateSoftware;
/// let first = registry.register_dynamic(&gate, &body(&statement("j1")), &guard).await.unwrap();
/// assert!(first.duplicate.is_none());
/// let second = registry.register_dynamic(&gate, &body(&statement("j2")), &guard).await.unwrap();
/// let report = second.duplicate.unwrap();
/// assert_eq!((report.software_id.as_str(), report.handled), ("sw-1", DuplicateSoftware::Update));
/// assert_eq!(report.existing, [first.registration.client_id.clone()]);
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DuplicateSoftwareReport {
    /// The organization.
    pub organization_id: String,
    /// The `software_id`.
    pub software_id: String,
    /// The clients already registered for it.
    pub existing: Vec<String>,
    /// What was done: `Update` (the first of them was updated) or `Allow` (a new client).
    pub handled: DuplicateSoftware,
}

/// The answer to a registration, read or update: the client information response of
/// RFC 7591 §3.2.1 and RFC 7592 §3.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # use serde_json::json;
/// # use oidfed::Clock;
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let now = fed.clock().now();
/// # // A software statement the organization `org` signed, and a registration request.
/// # let statement = |jti: &str| fed.key("org").sign_jwt("JWT", &json!({
/// #     "iss": fed.id("org").as_str(), "iat": now, "exp": now + 3600, "jti": jti,
/// #     "software_id": "sw-1", "client_name": "Vouched"}));
/// # let body = |ssa: &str| json!({"redirect_uris": ["https://app.example/cb"],
/// #     "jwks": oidfed::testing::TestKey::generate(oidfed::testing::KeyAlg::ES256).public_jwks(),
/// #     "software_statement": ssa}).to_string().into_bytes();
/// use oidfed::server::MemoryReplayGuard;
/// use oidfed::server::dcr::{DcrConfig, DcrGate};
/// let gate = DcrGate::new(resolver, DcrConfig::default());
/// let guard = MemoryReplayGuard::default();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-dcr_response.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// let response = registry.register_dynamic(&gate, &body(&statement("j1")), &guard).await.unwrap();
/// let json = response.to_json("https://op.example/register");
/// let client_id = response.registration.client_id.as_str();
/// assert_eq!(json["client_id"], client_id);
/// assert_eq!(json["registration_client_uri"], format!("https://op.example/register/{client_id}"));
/// assert_eq!(json["registration_access_token"], response.registration_access_token.value());
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DcrResponse {
    /// The registration as stored.
    pub registration: DynamicRegistration,
    /// The new registration access token (its value is never stored).
    pub registration_access_token: RegistrationAccessToken,
    /// Set when the same software of the same organization was registered before.
    pub duplicate: Option<DuplicateSoftwareReport>,
}

impl DcrResponse {
    /// The JSON body: the registered metadata, `client_id`, `client_id_issued_at`, the
    /// software statement as received, `registration_access_token` and
    /// `registration_client_uri` (`configuration_endpoint` + `/` + client_id). No secret is
    /// issued. See the [`DcrResponse`] example.
    pub fn to_json(&self, configuration_endpoint: &str) -> Value {
        let r = &self.registration;
        let mut m = r.metadata.clone();
        m.insert("client_id".into(), Value::from(r.client_id.as_str()));
        m.insert(
            "client_id_issued_at".into(),
            Value::from(r.client_id_issued_at),
        );
        m.insert(
            "software_statement".into(),
            Value::from(r.statement.raw.as_str()),
        );
        m.insert(
            "registration_access_token".into(),
            Value::from(self.registration_access_token.value()),
        );
        m.insert(
            "registration_client_uri".into(),
            Value::from(format!(
                "{}/{}",
                configuration_endpoint.trim_end_matches('/'),
                r.client_id
            )),
        );
        Value::Object(m)
    }
}

/// The binding evidence recorded in the audit trail and the review export.
pub(crate) fn evidence_json(s: &VerifiedStatement) -> Value {
    json!({
        "kind": "software_statement",
        "form": s.form.as_str(),
        "issuer": s.issuer,
        "organization_id": s.organization_id,
        "organization_claim": s.organization_claim,
        "trust_anchor": s.trust_anchor,
        "chain_path": s.chain_path,
        "chain_fingerprint": s.chain_fingerprint,
        "jti": s.jti,
        "software_id": s.software_id,
    })
}

/// Refuses a registration whose `jwks` names a key its software statement's
/// `software_jwks_revoked_endpoint` lists, or whose list cannot be read (fail closed).
pub(super) async fn refuse_revoked_keys(
    gate: &DcrGate,
    registration: &DynamicRegistration,
) -> Result<(), DcrError> {
    match super::dynamic_sweep::revoked_key(gate.resolver(), registration).await {
        Ok(None) => Ok(()),
        Ok(Some(kid)) => Err(DcrError::unapproved(
            DcrRule::KeyMaterial,
            format!(
                "key {kid:?} is listed at the software statement's software_jwks_revoked_endpoint"
            ),
        )),
        Err(e) => Err(server(e)),
    }
}

pub(super) fn server(e: impl Into<Error>) -> DcrError {
    DcrError::Server {
        source: Box::new(e.into()),
    }
}

impl Registry {
    /// Registers a client through the gate (RFC 7591 §3): the request is judged
    /// ([`DcrGate::check_registration`]), then stored as an active `dynamic` client of its
    /// organization with a fresh registration access token. A second registration of the
    /// same `software_id` by the same organization is handled as the gate configures
    /// ([`DuplicateSoftware`]) and reported in [`DcrResponse::duplicate`].
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use serde_json::json;
    /// # use oidfed::Clock;
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let now = fed.clock().now();
    /// # // A software statement the organization `org` signed, and a registration request.
    /// # let statement = |jti: &str| fed.key("org").sign_jwt("JWT", &json!({
    /// #     "iss": fed.id("org").as_str(), "iat": now, "exp": now + 3600, "jti": jti,
    /// #     "software_id": "sw-1", "client_name": "Vouched"}));
    /// # let body = |ssa: &str| json!({"redirect_uris": ["https://app.example/cb"],
    /// #     "jwks": oidfed::testing::TestKey::generate(oidfed::testing::KeyAlg::ES256).public_jwks(),
    /// #     "software_statement": ssa}).to_string().into_bytes();
    /// use oidfed::server::MemoryReplayGuard;
    /// use oidfed::server::dcr::{DcrConfig, DcrGate};
    /// let gate = DcrGate::new(resolver, DcrConfig::default());
    /// let guard = MemoryReplayGuard::default();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-register_dynamic.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// use oidfed::registry::RegistrationModel;
    /// let response = registry.register_dynamic(&gate, &body(&statement("j1")), &guard).await.unwrap();
    /// let client = registry.client(&response.registration.client_id).await.unwrap().unwrap();
    /// assert_eq!(client.registration_model(), RegistrationModel::Dynamic);
    /// assert_eq!(client.organization_id(), Some(fed.id("org").as_str()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn register_dynamic(
        &self,
        gate: &DcrGate,
        body: &[u8],
        replay: &dyn ReplayGuard,
    ) -> Result<DcrResponse, DcrError> {
        let approval = gate.check_registration(body, replay).await?;
        let now = gate.resolver().now();
        let s = &approval.statement;
        let mut duplicate = None;
        if let Some(sw) = &s.software_id {
            let mut existing = Vec::new();
            for row in self
                .store
                .registrations_of_software(&s.organization_id, sw)
                .await
                .map_err(server)?
            {
                let live = self
                    .store
                    .client(&row.client_id)
                    .await
                    .map_err(server)?
                    .filter(|c| !c.status.is_revoked());
                if let Some(c) = live {
                    existing.push(c);
                }
            }
            if let Some(first) = existing.first().cloned() {
                let handled = gate.config().duplicate_software;
                let report = DuplicateSoftwareReport {
                    organization_id: s.organization_id.clone(),
                    software_id: sw.clone(),
                    existing: existing.iter().map(|c| c.client_id.clone()).collect(),
                    handled,
                };
                tracing::warn!(target: "oidfed::registry", organization = %s.organization_id,
                    software_id = %sw, existing = ?report.existing, "second registration of the same software");
                match handled {
                    DuplicateSoftware::Refuse => {
                        return Err(DcrError::invalid_metadata(
                            DcrRule::DuplicateSoftware,
                            format!(
                                "software {sw:?} of {} is already registered as {}",
                                s.organization_id, first.client_id
                            ),
                        ));
                    }
                    DuplicateSoftware::Update => {
                        let old = self.dynamic_row(&first.client_id).await?;
                        let mut response = self
                            .write_update(
                                gate,
                                first,
                                old,
                                approval,
                                now,
                                Actor::Request,
                                Some(&report),
                            )
                            .await?;
                        response.duplicate = Some(report);
                        return Ok(response);
                    }
                    _ => duplicate = Some(report),
                }
            }
        }
        let client_id = format!("dcr-{}", random_b64(18).map_err(server)?);
        let token = RegistrationAccessToken::generate().map_err(server)?;
        let registration = DynamicRegistration {
            client_id: client_id.clone(),
            entity_type: gate.config().entity_type.clone(),
            metadata: approval.metadata,
            statement: approval.statement,
            client_id_issued_at: now,
            updated_at: now,
        };
        refuse_revoked_keys(gate, &registration).await?;
        let s = &registration.statement;
        let client = RegisteredClient {
            client_id: client_id.clone(),
            entity_type: registration.entity_type.clone(),
            organization_id: Some(s.organization_id.clone()),
            model: RegistrationModel::Dynamic,
            status: ClientStatus::active("registered through gated DCR", now),
            record: None,
            admitted_at: now,
            last_validated: now,
            version: 0,
            trust_expires_at: Some(approval.organization_expires_at),
        };
        let mut batch = Batch {
            actor: Some((Actor::Request, now)),
            ..Batch::default()
        };
        batch.organizations.push(OrgWrite {
            organization_id: s.organization_id.clone(),
            name: approval.organization_name,
            uri: None,
            seen_at: now,
        });
        batch.audit.push(
            AuditEntry::new(
                now,
                Actor::Request,
                AuditEvent::Admitted,
                Some(&client_id),
                Some(&s.organization_id),
                json!({"registration_model": "dynamic", "entity_type": registration.entity_type,
                       "evidence": evidence_json(s), "duplicate_software": duplicate}),
            )
            .on_chain(Some(&s.chain_fingerprint), Some(&s.trust_anchor)),
        );
        batch.clients.push(ClientWrite {
            client,
            expected_version: 0,
        });
        batch
            .registrations
            .push(row_of(&registration, Some(token.hash()))?);
        self.store.apply(batch).await.map_err(server)?;
        Ok(DcrResponse {
            registration,
            registration_access_token: token,
            duplicate,
        })
    }

    /// The stored registration of a dynamic client (operators; no token needed). See the
    /// [`DynamicRegistration`] example.
    pub async fn dynamic_registration(
        &self,
        client_id: &str,
    ) -> Result<Option<DynamicRegistration>, Error> {
        let Some(row) = self.store.registration(client_id).await? else {
            return Ok(None);
        };
        if row.model != RegistrationModel::Dynamic {
            return Ok(None);
        }
        Ok(Some(parse_details(&row.client_id, row.details)?))
    }

    pub(super) async fn dynamic_row(
        &self,
        client_id: &str,
    ) -> Result<DynamicRegistration, DcrError> {
        match self.dynamic_registration(client_id).await.map_err(server)? {
            Some(r) => Ok(r),
            None => Err(DcrError::invalid_token("no such client")),
        }
    }
}

/// A batch revoking `client` with `reason` and `evidence`: status, audit, consents.
pub(crate) fn revocation(
    mut client: RegisteredClient,
    reason: &str,
    evidence: Evidence,
    now: i64,
    actor: Actor,
) -> Batch {
    let from = client.status.kind;
    let status = ClientStatus::new(StatusKind::Revoked, reason, Some(evidence), now, None);
    let mut batch = Batch {
        actor: Some((actor, now)),
        ..Batch::default()
    };
    batch.audit.push(AuditEntry::new(
        now,
        actor,
        AuditEvent::StatusChanged,
        Some(&client.client_id),
        client.organization_id.as_deref(),
        json!({"from": from.as_str(), "to": "revoked", "reason": reason, "status": status}),
    ));
    batch
        .end_consents
        .push((client.client_id.clone(), reason.to_string()));
    client.status = status;
    let expected_version = client.version;
    batch.clients.push(ClientWrite {
        client,
        expected_version,
    });
    batch
}

pub(super) fn row_of(
    r: &DynamicRegistration,
    token_hash: Option<String>,
) -> Result<RegistrationWrite, DcrError> {
    let details = serde_json::to_value(r).map_err(|e| {
        server(Error::Config(crate::error::ConfigError::Serialize {
            what: format!("registration {}", r.client_id),
            detail: e.to_string(),
        }))
    })?;
    Ok(RegistrationWrite {
        client_id: r.client_id.clone(),
        model: RegistrationModel::Dynamic,
        organization_id: Some(r.statement.organization_id.clone()),
        software_id: r.statement.software_id.clone(),
        token_hash,
        details,
        updated_at: r.updated_at,
    })
}

pub(super) fn parse_details(client_id: &str, details: Value) -> Result<DynamicRegistration, Error> {
    serde_json::from_value(details).map_err(|e| {
        super::RegistryError::Corrupt {
            what: "oidfed_registrations",
            key: client_id.to_string(),
            detail: e.to_string(),
        }
        .into()
    })
}
