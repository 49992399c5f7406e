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
use crate::record::Change;
use crate::resolver::EntityType;
use crate::server::ReplayGuard;
use crate::server::dcr::{
    Approval, DcrError, DcrGate, DcrRule, DuplicateSoftware, RegistrationAccessToken,
    RegistrationRequest, VerifiedStatement, random_b64, token_matches, verify_statement,
};

/// What the registry holds about a dynamic client besides its status (the token only as
/// a hash, elsewhere).
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
    /// issued.
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

fn server(e: impl Into<Error>) -> DcrError {
    DcrError::Server { source: e.into() }
}

impl Registry {
    /// Registers a client through the gate (RFC 7591 §3): the request is judged
    /// ([`DcrGate::check_registration`]), then stored as an active `dynamic` client of its
    /// organization with a fresh registration access token. A second registration of the
    /// same `software_id` by the same organization is handled as the gate configures
    /// ([`DuplicateSoftware`]) and reported in [`DcrResponse::duplicate`].
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
                            .write_update(gate, first, old, approval, now, Actor::Request)
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

    /// The stored registration of a dynamic client (operators; no token needed).
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

    async fn dynamic_row(&self, client_id: &str) -> Result<DynamicRegistration, DcrError> {
        match self.dynamic_registration(client_id).await.map_err(server)? {
            Some(r) => Ok(r),
            None => Err(DcrError::invalid_token("no such client")),
        }
    }

    /// Authenticates an RFC 7592 request: the client is dynamic, not revoked, and
    /// `token` hashes to the stored hash. Every failure is `invalid_token` (HTTP 401).
    async fn authenticate(
        &self,
        client_id: &str,
        token: &str,
    ) -> Result<(RegisteredClient, DynamicRegistration), DcrError> {
        let row = self.store.registration(client_id).await.map_err(server)?;
        let Some(row) = row.filter(|r| r.model == RegistrationModel::Dynamic) else {
            return Err(DcrError::invalid_token("no such client"));
        };
        let Some(hash) = &row.token_hash else {
            return Err(DcrError::invalid_token(
                "the registration access token was revoked",
            ));
        };
        if !token_matches(token, hash) {
            return Err(DcrError::invalid_token(
                "the registration access token is not valid",
            ));
        }
        let client = self.store.client(client_id).await.map_err(server)?;
        let Some(client) = client.filter(|c| !c.status.is_revoked()) else {
            return Err(DcrError::invalid_token("the client is revoked or deleted"));
        };
        Ok((
            client,
            parse_details(client_id, row.details).map_err(server)?,
        ))
    }

    /// RFC 7592 §2.1: the client's current registration. The token is rotated: the
    /// response carries the new one, the old one stops working.
    pub async fn read_dynamic(
        &self,
        client_id: &str,
        token: &str,
    ) -> Result<DcrResponse, DcrError> {
        let (_, registration) = self.authenticate(client_id, token).await?;
        let new = RegistrationAccessToken::generate().map_err(server)?;
        let batch = Batch {
            registrations: vec![row_of(&registration, Some(new.hash()))?],
            ..Batch::default()
        };
        self.store.apply(batch).await.map_err(server)?;
        Ok(DcrResponse {
            registration,
            registration_access_token: new,
            duplicate: None,
        })
    }

    /// RFC 7592 §2.2: replaces the client's metadata. The body must carry the client's
    /// `client_id` and none of the fields the server issues; it may carry a new software
    /// statement (verified, its `jti` used up), which must name the same organization and
    /// software. The result is judged like a registration (policy re-checked against the
    /// organization's chain as it is now), and the token rotated.
    pub async fn update_dynamic(
        &self,
        gate: &DcrGate,
        client_id: &str,
        token: &str,
        body: &[u8],
        replay: &dyn ReplayGuard,
    ) -> Result<DcrResponse, DcrError> {
        let (client, old) = self.authenticate(client_id, token).await?;
        let request = RegistrationRequest::parse(body, gate.config().max_request_bytes)?;
        let m = request.metadata();
        if m.get("client_id").and_then(Value::as_str) != Some(client_id) {
            return Err(DcrError::invalid_metadata(
                DcrRule::UpdateFields,
                "the update must carry the client's own client_id (RFC 7592 §2.2)",
            ));
        }
        for f in [
            "registration_access_token",
            "registration_client_uri",
            "client_secret_expires_at",
            "client_id_issued_at",
            "client_secret",
        ] {
            if m.contains_key(f) {
                return Err(DcrError::invalid_metadata(
                    DcrRule::UpdateFields,
                    format!("{f} must not be in an update (RFC 7592 §2.2)"),
                ));
            }
        }
        let (statement, org, fresh) = match request.software_statement() {
            Some(jwt) => {
                let (s, org) =
                    verify_statement(gate.resolver(), &gate.config().statements, jwt).await?;
                if s.organization_id != old.statement.organization_id {
                    return Err(DcrError::unapproved(
                        DcrRule::OrganizationChange,
                        format!(
                            "the client belongs to {}; an update cannot move it to {}",
                            old.statement.organization_id, s.organization_id
                        ),
                    ));
                }
                if old.statement.software_id.is_some() && s.software_id != old.statement.software_id
                {
                    return Err(DcrError::unapproved(
                        DcrRule::OrganizationChange,
                        format!(
                            "the client is software {:?}; the statement is about {:?}",
                            old.statement.software_id, s.software_id
                        ),
                    ));
                }
                (s, org, true)
            }
            None => {
                let org = gate.reconfirm(&old.statement, false).await?;
                (old.statement.clone(), org, false)
            }
        };
        let approval = gate.judge(m, statement, &org)?;
        if fresh {
            gate.consume(&approval.statement, replay).await?;
        }
        let now = gate.resolver().now();
        self.write_update(gate, client, old, approval, now, Actor::Request)
            .await
    }

    async fn write_update(
        &self,
        gate: &DcrGate,
        mut client: RegisteredClient,
        old: DynamicRegistration,
        approval: Approval,
        now: i64,
        actor: Actor,
    ) -> Result<DcrResponse, DcrError> {
        let token = RegistrationAccessToken::generate().map_err(server)?;
        let registration = DynamicRegistration {
            metadata: approval.metadata,
            statement: approval.statement,
            updated_at: now,
            entity_type: gate.config().entity_type.clone(),
            ..old.clone()
        };
        let params: std::collections::BTreeSet<&String> = old
            .metadata
            .keys()
            .chain(registration.metadata.keys())
            .collect();
        let changed: Vec<String> = params
            .into_iter()
            .filter(|p| old.metadata.get(*p) != registration.metadata.get(*p))
            .cloned()
            .collect();
        let s = &registration.statement;
        let mut batch = Batch {
            actor: Some((actor, now)),
            ..Batch::default()
        };
        let changes = vec![Change::MetadataChanged {
            parameters: changed,
        }];
        batch.audit.push(
            AuditEntry::new(
                now,
                actor,
                AuditEvent::Changed,
                Some(&client.client_id),
                Some(&s.organization_id),
                json!({"changes": changes, "registration_access_token": "rotated",
                       "evidence": evidence_json(s)}),
            )
            .on_chain(Some(&s.chain_fingerprint), Some(&s.trust_anchor)),
        );
        let expected_version = client.version;
        client.last_validated = now;
        batch
            .registrations
            .push(row_of(&registration, Some(token.hash()))?);
        batch.clients.push(ClientWrite {
            client,
            expected_version,
        });
        self.store.apply(batch).await.map_err(server)?;
        Ok(DcrResponse {
            registration,
            registration_access_token: token,
            duplicate: None,
        })
    }

    /// RFC 7592 §2.3: deletes the client — revoked, its token and consents ended. The
    /// record stays for the audit trail; the client_id is never valid again.
    pub async fn delete_dynamic(&self, client_id: &str, token: &str) -> Result<(), DcrError> {
        let (client, registration) = self.authenticate(client_id, token).await?;
        let now = self.clock.now();
        let mut batch = revocation(
            client,
            "deleted by the client (RFC 7592 §2.3)",
            Evidence::detail("registration deleted through the client configuration endpoint"),
            now,
            Actor::Request,
        );
        batch.registrations.push(row_of(&registration, None)?);
        self.store.apply(batch).await.map_err(server)
    }

    /// Revokes the client's registration access token (an operator's act): RFC 7592
    /// requests are refused until a new registration. `Ok(false)` when there was none.
    pub async fn revoke_registration_token(&self, client_id: &str) -> Result<bool, Error> {
        let Some(row) = self.store.registration(client_id).await? else {
            return Ok(false);
        };
        if row.token_hash.is_none() {
            return Ok(false);
        }
        let now = self.clock.now();
        let batch = Batch {
            audit: vec![AuditEntry::new(
                now,
                Actor::Operator,
                AuditEvent::Changed,
                Some(client_id),
                row.organization_id.as_deref(),
                json!({"registration_access_token": "revoked"}),
            )],
            registrations: vec![RegistrationWrite {
                token_hash: None,
                updated_at: now,
                ..row
            }],
            ..Batch::default()
        };
        self.store.apply(batch).await?;
        Ok(true)
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

fn row_of(
    r: &DynamicRegistration,
    token_hash: Option<String>,
) -> Result<RegistrationWrite, DcrError> {
    let details = serde_json::to_value(r).map_err(|e| {
        server(Error::Config(format!(
            "cannot serialize registration {}: {e}",
            r.client_id
        )))
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

fn parse_details(client_id: &str, details: Value) -> Result<DynamicRegistration, Error> {
    serde_json::from_value(details).map_err(|e| {
        super::RegistryError::Corrupt {
            what: "oidfed_registrations",
            key: client_id.to_string(),
            detail: e.to_string(),
        }
        .into()
    })
}
