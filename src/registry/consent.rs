//! Per-client consent. A user's grant is bound to one client_id and recorded with the
//! client's organization at grant time. It never transfers to another client, even of the
//! same organization; it ends when its client is revoked or changes organization (in the
//! same transaction as that change), and is narrowed when the client's resolved metadata
//! no longer allows a scope (`scope`).

use serde::Serialize;
use serde_json::json;

use super::Registry;
use super::audit::{AuditEntry, AuditEvent};
use super::error::RegistryError;
use super::model::{Actor, ClientStatus, RegisteredClient};
use super::store::Batch;
use crate::error::Error;

/// The answer of [`Registry::check_consent`].
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-consent_check.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// use oidfed::registry::ConsentCheck;
/// let rp = fed.id("rp");
/// let check = registry.check_consent("alice", &rp, &["openid", "email"]).await.unwrap();
/// assert_eq!(check, ConsentCheck::NeedsConsent { scopes: vec!["openid".into(), "email".into()] });
/// registry.grant("alice", &rp, &["openid", "email"]).await.unwrap();
/// let check = registry.check_consent("alice", &rp, &["openid"]).await.unwrap();
/// assert_eq!(check, ConsentCheck::Granted);
/// // Unknown clients can neither be granted nor checked.
/// let unknown = registry.check_consent("alice", "https://nobody.example", &["openid"]).await;
/// assert!(matches!(unknown.unwrap(), ConsentCheck::ClientNotActive { status: None }));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "consent", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConsentCheck {
    /// Every requested scope is granted to this client by this user.
    Granted,
    /// Ask the user for these scopes (not granted, or the grant ended).
    NeedsConsent {
        /// The scopes to ask for.
        scopes: Vec<String>,
    },
    /// The client is unknown, suspended or revoked: no consent can be given or used.
    ClientNotActive {
        /// Its status, when registered.
        status: Option<ClientStatus>,
    },
}

fn scopes_allowed(c: &RegisteredClient) -> Option<Vec<String>> {
    c.record()
        .and_then(|r| r.metadata.get("scope"))
        .and_then(|s| s.as_str())
        .map(|s| s.split_whitespace().map(str::to_string).collect())
}

fn clean(scopes: &[&str]) -> Result<Vec<String>, RegistryError> {
    let mut out: Vec<String> = Vec::new();
    for s in scopes {
        if s.is_empty() || s.contains(char::is_whitespace) {
            return Err(RegistryError::Consent(format!(
                "{s:?} is not a scope token"
            )));
        }
        if !out.iter().any(|o| o == s) {
            out.push((*s).to_string());
        }
    }
    Ok(out)
}

impl Registry {
    /// Records that `user` grants `scopes` to `client_id` (added to a live grant of the
    /// same user to the same client). The client must be active, and when its metadata
    /// restricts `scope`, every scope must be allowed. The grant remembers the client's
    /// organization at this time.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-grant.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// registry.grant("alice", &fed.id("rp"), &["openid"]).await.unwrap();
    /// registry.grant("alice", &fed.id("rp"), &["email"]).await.unwrap();
    /// let (scopes, org) = registry.consent_of("alice", &fed.id("rp")).await.unwrap().unwrap();
    /// assert_eq!(scopes, ["email", "openid"]);
    /// assert_eq!(org.as_deref(), Some(fed.id("org").as_str()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn grant(
        &self,
        user: &str,
        client_id: &(impl AsRef<str> + ?Sized),
        scopes: &[&str],
    ) -> Result<(), Error> {
        let client_id = client_id.as_ref();
        if user.is_empty() {
            return Err(RegistryError::Consent("no user".into()).into());
        }
        let mut scopes = clean(scopes)?;
        let client = self.active_client(client_id).await?;
        if let Some(allowed) = scopes_allowed(&client) {
            if let Some(s) = scopes.iter().find(|s| !allowed.contains(s)) {
                return Err(RegistryError::Consent(format!(
                    "the metadata of {client_id} does not allow the scope {s:?}"
                ))
                .into());
            }
        }
        let now = self.clock.now();
        if let Some(g) = self.store.grant(user, client_id).await? {
            if g.ended_at.is_none() && g.organization_id.as_deref() == client.organization_id() {
                for s in g.scopes {
                    if !scopes.contains(&s) {
                        scopes.push(s);
                    }
                }
            }
        }
        let org = client.organization_id().map(str::to_string);
        let audit = AuditEntry::new(
            now,
            Actor::Request,
            AuditEvent::ConsentGranted,
            Some(client_id),
            org.as_deref(),
            json!({"user": user, "scopes": scopes}),
        );
        let batch = Batch {
            grants: vec![(user.to_string(), client_id.to_string(), org, scopes, now)],
            audit: vec![audit],
            ..Batch::default()
        };
        Ok(self.store.apply(batch).await?)
    }

    /// Whether `user` has granted every scope of `requested` to `client_id` — this client
    /// exactly, under the organization it had when the grant was made.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-check_consent.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// use oidfed::registry::ConsentCheck;
    /// registry.grant("alice", &fed.id("rp"), &["openid"]).await.unwrap();
    /// let check = registry.check_consent("alice", &fed.id("rp"), &["openid", "email"]).await.unwrap();
    /// assert_eq!(check, ConsentCheck::NeedsConsent { scopes: vec!["email".to_string()] });
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn check_consent(
        &self,
        user: &str,
        client_id: &(impl AsRef<str> + ?Sized),
        requested: &[&str],
    ) -> Result<ConsentCheck, Error> {
        let client_id = client_id.as_ref();
        let requested = clean(requested)?;
        let client = match self.store.client(client_id).await? {
            Some(c) if c.status().is_active() => c,
            other => {
                return Ok(ConsentCheck::ClientNotActive {
                    status: other.map(|c| c.status),
                });
            }
        };
        let granted = match self.store.grant(user, client_id).await? {
            Some(g)
                if g.ended_at.is_none()
                    && g.organization_id.as_deref() == client.organization_id() =>
            {
                g.scopes
            }
            _ => Vec::new(),
        };
        let allowed = scopes_allowed(&client);
        let missing: Vec<String> = requested
            .into_iter()
            .filter(|s| !granted.contains(s) || allowed.as_ref().is_some_and(|a| !a.contains(s)))
            .collect();
        Ok(if missing.is_empty() {
            ConsentCheck::Granted
        } else {
            ConsentCheck::NeedsConsent { scopes: missing }
        })
    }

    /// Ends the grant of `user` to `client_id` (the user withdrew it). True when a live
    /// grant was ended.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-end_consent.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// use oidfed::registry::ConsentCheck;
    /// registry.grant("alice", &fed.id("rp"), &["openid"]).await.unwrap();
    /// assert!(registry.end_consent("alice", &fed.id("rp")).await.unwrap());
    /// assert!(!registry.end_consent("alice", &fed.id("rp")).await.unwrap());
    /// let check = registry.check_consent("alice", &fed.id("rp"), &["openid"]).await.unwrap();
    /// assert!(matches!(check, ConsentCheck::NeedsConsent { .. }));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn end_consent(
        &self,
        user: &str,
        client_id: &(impl AsRef<str> + ?Sized),
    ) -> Result<bool, Error> {
        let client_id = client_id.as_ref();
        let Some(g) = self.store.grant(user, client_id).await? else {
            return Ok(false);
        };
        if g.ended_at.is_some() {
            return Ok(false);
        }
        Ok(self
            .store
            .end_grant(user, client_id, self.clock.now())
            .await?)
    }

    /// The live grant of `user` to `client_id`: its scopes and the organization recorded
    /// at grant time.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-consent_of.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// assert_eq!(registry.consent_of("alice", &fed.id("rp")).await.unwrap(), None);
    /// registry.grant("alice", &fed.id("rp"), &["openid"]).await.unwrap();
    /// let (scopes, _org) = registry.consent_of("alice", &fed.id("rp")).await.unwrap().unwrap();
    /// assert_eq!(scopes, ["openid"]);
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn consent_of(
        &self,
        user: &str,
        client_id: &(impl AsRef<str> + ?Sized),
    ) -> Result<Option<(Vec<String>, Option<String>)>, Error> {
        Ok(self
            .store
            .grant(user, client_id.as_ref())
            .await?
            .filter(|g| g.ended_at.is_none())
            .map(|g| (g.scopes, g.organization_id)))
    }

    async fn active_client(&self, client_id: &str) -> Result<RegisteredClient, Error> {
        match self.store.client(client_id).await? {
            None => Err(RegistryError::UnknownClient {
                client_id: client_id.to_string(),
            }
            .into()),
            Some(c) if c.status().is_revoked() => Err(RegistryError::Revoked {
                client_id: client_id.to_string(),
                status: Box::new(c.status),
            }
            .into()),
            Some(c) if !c.status().is_active() => Err(RegistryError::Suspended {
                client_id: client_id.to_string(),
                status: Box::new(c.status),
            }
            .into()),
            Some(c) => Ok(c),
        }
    }
}
