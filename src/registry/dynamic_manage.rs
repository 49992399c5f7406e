//! The client configuration endpoint (RFC 7592 §2): read, update and delete a dynamic
//! client with its registration access token — compared with the stored hash in constant
//! time, rotated on every read and update, revocable by an operator. An update keeps the
//! organization binding and is judged against the organization's policy again.

use serde_json::{Value, json};

use super::Registry;
use super::audit::{AuditEntry, AuditEvent};
use super::dynamic::{
    DcrResponse, DuplicateSoftwareReport, DynamicRegistration, evidence_json, parse_details,
    revocation, row_of, server,
};
use super::error::RegistryError;
use super::model::{Actor, Evidence, RegisteredClient, RegistrationModel};
use super::store::{Batch, ClientWrite, RegistrationWrite};
use crate::error::Error;
use crate::record::Change;
use crate::server::ReplayGuard;
use crate::server::dcr::{
    Approval, DcrError, DcrGate, DcrRule, RegistrationAccessToken, RegistrationRequest,
    token_matches, verify_statement,
};

/// Writes retried after another writer changed the client first (then reported).
const WRITE_ATTEMPTS: usize = 3;

impl Registry {
    /// Authenticates an RFC 7592 request: the client is dynamic, not revoked, and
    /// `token` hashes to the stored hash. Every failure is `invalid_token` (HTTP 401).
    async fn authenticate(
        &self,
        client_id: &str,
        token: &str,
    ) -> Result<(RegisteredClient, DynamicRegistration), DcrError> {
        // The client row first: every write of a registration writes its client row at the
        // version read, so a registration read after it is at least as new as that
        // version, and a write based on both fails if anything changed since.
        let client = self.store.client(client_id).await.map_err(server)?;
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
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-read_dynamic.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// let registered = registry.register_dynamic(&gate, &body(&statement("j1")), &guard).await.unwrap();
    /// let id = registered.registration.client_id.as_str();
    /// let old = registered.registration_access_token.value();
    /// let read = registry.read_dynamic(id, old).await.unwrap();
    /// assert_eq!(read.registration.client_id, id);
    /// // The token rotated: the old one no longer authenticates.
    /// let e = registry.read_dynamic(id, old).await.unwrap_err();
    /// assert_eq!(e.http_status(), 401);
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn read_dynamic(
        &self,
        client_id: &str,
        token: &str,
    ) -> Result<DcrResponse, DcrError> {
        // The rotation is written with the client row at the version read, so a read
        // racing an update never puts the older registration back: the loser reads again
        // (and fails if the update rotated the token it holds).
        let mut attempt = 0;
        loop {
            let (client, registration) = self.authenticate(client_id, token).await?;
            let new = RegistrationAccessToken::generate().map_err(server)?;
            let expected_version = client.version;
            let batch = Batch {
                registrations: vec![row_of(&registration, Some(new.hash()))?],
                clients: vec![ClientWrite {
                    client,
                    expected_version,
                }],
                ..Batch::default()
            };
            match self.store.apply(batch).await {
                Ok(()) => {
                    return Ok(DcrResponse {
                        registration,
                        registration_access_token: new,
                        duplicate: None,
                    });
                }
                Err(RegistryError::Conflict { .. }) if attempt < WRITE_ATTEMPTS => attempt += 1,
                Err(e) => return Err(server(e)),
            }
        }
    }

    /// RFC 7592 §2.2: replaces the client's metadata. The body must carry the client's
    /// `client_id` and none of the fields the server issues; it may carry a new software
    /// statement (verified, its `jti` used up), which must name the same organization and
    /// software. The result is judged like a registration (policy re-checked against the
    /// organization's chain as it is now), and the token rotated.
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
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-update_dynamic.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// let registered = registry.register_dynamic(&gate, &body(&statement("j1")), &guard).await.unwrap();
    /// let id = registered.registration.client_id.clone();
    /// let update = json!({"client_id": id, "redirect_uris": ["https://app.example/new"],
    ///     "jwks": oidfed::testing::TestKey::generate(oidfed::testing::KeyAlg::ES256).public_jwks()});
    /// let token = registered.registration_access_token.value();
    /// let updated = registry
    ///     .update_dynamic(&gate, &id, token, update.to_string().as_bytes(), &guard)
    ///     .await
    ///     .unwrap();
    /// assert_eq!(updated.registration.metadata["redirect_uris"][0], "https://app.example/new");
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
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
        self.write_update(gate, client, old, approval, now, Actor::Request, None)
            .await
    }

    /// Writes an approved update of `client` (an RFC 7592 update, or a second
    /// registration of the same software handled as an update: `duplicate`, recorded in
    /// the audit trail).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn write_update(
        &self,
        gate: &DcrGate,
        mut client: RegisteredClient,
        old: DynamicRegistration,
        approval: Approval,
        now: i64,
        actor: Actor,
        duplicate: Option<&DuplicateSoftwareReport>,
    ) -> Result<DcrResponse, DcrError> {
        let token = RegistrationAccessToken::generate().map_err(server)?;
        let approval_expires_at = approval.organization_expires_at;
        let registration = DynamicRegistration {
            metadata: approval.metadata,
            statement: approval.statement,
            updated_at: now,
            entity_type: gate.config().entity_type.clone(),
            ..old.clone()
        };
        super::dynamic::refuse_revoked_keys(gate, &registration).await?;
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
                       "evidence": evidence_json(s), "duplicate_software": duplicate}),
            )
            .on_chain(Some(&s.chain_fingerprint), Some(&s.trust_anchor)),
        );
        let expected_version = client.version;
        client.last_validated = now;
        client.trust_expires_at = Some(approval_expires_at);
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
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-delete_dynamic.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// use oidfed::registry::StatusKind;
    /// let registered = registry.register_dynamic(&gate, &body(&statement("j1")), &guard).await.unwrap();
    /// let id = registered.registration.client_id.as_str();
    /// registry.delete_dynamic(id, registered.registration_access_token.value()).await.unwrap();
    /// assert_eq!(registry.status(id).await.unwrap().unwrap().kind, StatusKind::Revoked);
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
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
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-revoke_token.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// let registered = registry.register_dynamic(&gate, &body(&statement("j1")), &guard).await.unwrap();
    /// let id = registered.registration.client_id.as_str();
    /// assert!(registry.revoke_registration_token(id).await.unwrap());
    /// let e = registry.read_dynamic(id, registered.registration_access_token.value()).await.unwrap_err();
    /// assert_eq!(e.http_status(), 401);
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn revoke_registration_token(&self, client_id: &str) -> Result<bool, Error> {
        let mut attempt = 0;
        loop {
            // The client row first, then the registration, written with the client row at
            // the version read: an update racing the revocation (rotating the token) makes
            // this read again, never undoes it (see `authenticate`).
            let Some(client) = self.store.client(client_id).await? else {
                return Ok(false);
            };
            let Some(row) = self.store.registration(client_id).await? else {
                return Ok(false);
            };
            if row.token_hash.is_none() {
                return Ok(false);
            }
            let now = self.clock.now();
            let expected_version = client.version;
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
                clients: vec![ClientWrite {
                    client,
                    expected_version,
                }],
                ..Batch::default()
            };
            match self.store.apply(batch).await {
                Ok(()) => return Ok(true),
                Err(RegistryError::Conflict { .. }) if attempt < WRITE_ATTEMPTS => attempt += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
}
