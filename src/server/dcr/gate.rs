//! The gate in front of the registration endpoint (RFC 7591 §3): a request is judged only
//! with a software statement from a federation organization or a configured directory;
//! its metadata, merged with the statement (statement values win, §2.3), must satisfy the
//! server's rules and the `metadata_policy` the federation applies to the organization's
//! subordinates for the client's Entity Type (strict: the policy may add to the request,
//! never take away or replace).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::directory::check_status;
use super::error::{DcrError, DcrRule};
use super::metadata::{
    DEFAULT_MAX_REQUEST_BYTES, MetadataRules, RegistrationRequest, check_metadata,
    check_software_redirects, merge_statement, policy_changed,
};
use super::statement::{
    StatementForm, StatementRules, VerifiedStatement, resolve_entity, verify_statement,
};
use crate::constraints::Constraints;
use crate::entity_id::EntityId;
use crate::policy::{PolicySource, resolve_chain_policy};
use crate::resolver::{EntityType, ResolvedEntity, Resolver};
use crate::server::ReplayGuard;

/// Which registration models an anchor's clients may come through (issue 17 item 5).
///
/// ```
/// use oidfed::server::dcr::AcceptedModels;
/// assert!(AcceptedModels::default().dynamic() && !AcceptedModels::default().manual());
/// assert!(!AcceptedModels::FederationOnly.dynamic());
/// assert!(AcceptedModels::All.manual());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum AcceptedModels {
    /// OpenID Federation registration only.
    FederationOnly,
    /// Federation, or Dynamic Client Registration gated by a software statement.
    #[default]
    FederationOrDynamic,
    /// Federation, gated DCR, or manual onboarding by an operator.
    All,
}

impl AcceptedModels {
    /// Whether gated DCR is accepted; see the [`AcceptedModels`] example.
    pub fn dynamic(self) -> bool {
        matches!(
            self,
            AcceptedModels::FederationOrDynamic | AcceptedModels::All
        )
    }

    /// Whether manual onboarding is accepted; see the [`AcceptedModels`] example.
    pub fn manual(self) -> bool {
        self == AcceptedModels::All
    }
}

/// The models accepted per anchor, and for everything else.
///
/// ```
/// use oidfed::server::dcr::{AcceptedModels, ModelPolicy};
/// let p = ModelPolicy::default().anchor("https://strict-ta.example", AcceptedModels::FederationOnly);
/// assert!(!p.for_anchor(Some("https://strict-ta.example")).dynamic());
/// assert!(p.for_anchor(Some("https://other-ta.example")).dynamic());
/// // Manual clients of an operator-created organization have no anchor.
/// assert!(!p.for_anchor(None).manual());
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ModelPolicy {
    /// For anchors not listed (and for organizations outside the federation).
    pub default: AcceptedModels,
    /// Per anchor Entity Identifier.
    pub per_anchor: BTreeMap<String, AcceptedModels>,
}

impl ModelPolicy {
    /// Sets the models of one anchor. See the [`ModelPolicy`] example.
    pub fn anchor(mut self, anchor: &str, models: AcceptedModels) -> Self {
        self.per_anchor.insert(anchor.to_string(), models);
        self
    }

    /// Sets the default. See the [`ModelPolicy`] example.
    pub fn default_models(mut self, models: AcceptedModels) -> Self {
        self.default = models;
        self
    }

    /// The models for a client under `anchor` (`None`: not under any anchor). See the [`ModelPolicy`] example.
    pub fn for_anchor(&self, anchor: Option<&str>) -> AcceptedModels {
        anchor
            .and_then(|a| self.per_anchor.get(a).copied())
            .unwrap_or(self.default)
    }
}

/// What a second registration of the same software by the same organization does.
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
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-dup_software.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// use oidfed::server::dcr::{DcrError, DcrRule, DuplicateSoftware};
/// let mut config = DcrConfig::default();
/// assert_eq!(config.duplicate_software, DuplicateSoftware::Update);
/// config.duplicate_software = DuplicateSoftware::Refuse;
/// let gate = DcrGate::new(gate.resolver().clone(), config);
/// registry.register_dynamic(&gate, &body(&statement("j1")), &guard).await.unwrap();
/// let again = registry.register_dynamic(&gate, &body(&statement("j2")), &guard).await;
/// assert_eq!(again.unwrap_err().rule(), Some(DcrRule::DuplicateSoftware));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DuplicateSoftware {
    /// It updates the existing client (same client_id, new metadata, new token) and is
    /// reported (the default).
    #[default]
    Update,
    /// It is refused (`invalid_client_metadata`, [`DcrRule::DuplicateSoftware`]).
    Refuse,
    /// It makes a second client, and is reported.
    Allow,
}

/// The gate's configuration.
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
/// use oidfed::server::dcr::{AcceptedModels, DcrRule, ModelPolicy};
/// // The anchor accepts federation registration only: its organizations cannot use DCR.
/// let mut config = DcrConfig::default();
/// config.models = ModelPolicy::default().anchor(fed.id("ta").as_str(), AcceptedModels::FederationOnly);
/// let strict = DcrGate::new(gate.resolver().clone(), config);
/// let refused = strict.check_registration(&body(&statement("j1")), &guard).await.unwrap_err();
/// assert_eq!(refused.rule(), Some(DcrRule::ModelNotAccepted));
/// assert_eq!(strict.config().max_request_bytes, DcrConfig::default().max_request_bytes);
/// # });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DcrConfig {
    /// The Entity Type of registered clients (default `openid_relying_party`): the policy
    /// of this type applies.
    pub entity_type: EntityType,
    /// How software statements are judged (algorithms, age, directories).
    pub statements: StatementRules,
    /// What the server supports.
    pub metadata: MetadataRules,
    /// Which models each anchor accepts.
    pub models: ModelPolicy,
    /// Longest request body, in bytes.
    pub max_request_bytes: usize,
    /// What a second registration of the same software does.
    pub duplicate_software: DuplicateSoftware,
}

impl Default for DcrConfig {
    fn default() -> Self {
        Self {
            entity_type: EntityType::OPENID_RELYING_PARTY,
            statements: StatementRules::default(),
            metadata: MetadataRules::default(),
            models: ModelPolicy::default(),
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            duplicate_software: DuplicateSoftware::default(),
        }
    }
}

/// A request the gate approved: the metadata to register and the statement that vouches.
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
/// let approval = gate.check_registration(&body(&statement("j1")), &guard).await.unwrap();
/// assert_eq!(approval.statement.organization_id, fed.id("org").as_str());
/// assert_eq!(approval.statement.software_id.as_deref(), Some("sw-1"));
/// assert_eq!(approval.metadata["client_name"], "Vouched"); // the statement's value wins
/// assert!(approval.organization_expires_at > now);
/// # });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Approval {
    /// The metadata to register (request ⊕ statement, defaults filled, policy applied).
    pub metadata: Map<String, Value>,
    /// The verified software statement and the organization it binds to.
    pub statement: VerifiedStatement,
    /// The organization's `organization_name`, as its chain resolves it (for a
    /// directory-issued statement without one: the statement's `org_name`).
    pub organization_name: Option<String>,
    /// Until when the organization's trust chain, as resolved for this approval, is valid
    /// (Unix seconds): the bound within which a sweep that cannot reach the federation
    /// keeps the client (stale) before suspending it.
    pub organization_expires_at: i64,
}

/// The registration gate: a resolver (anchors, clock, fetcher) and a [`DcrConfig`].
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
/// use oidfed::server::dcr::DcrRule;
/// assert!(gate.check_registration(&body(&statement("j1")), &guard).await.is_ok());
/// // Without a software statement nothing is registered.
/// let bare = json!({"redirect_uris": ["https://app.example/cb"]}).to_string();
/// let e = gate.check_registration(bare.as_bytes(), &guard).await.unwrap_err();
/// assert_eq!((e.rule(), e.code()), (Some(DcrRule::StatementMissing), "invalid_software_statement"));
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct DcrGate {
    resolver: Resolver,
    config: DcrConfig,
}

/// The one call to the replay guard: a statement's `jti` is remembered per issuer, in a
/// namespace of its own, until `keep_until`.
async fn first_use(
    guard: &dyn ReplayGuard,
    issuer: &str,
    jti: &str,
    keep_until: i64,
    now: i64,
) -> Result<bool, DcrError> {
    let key = format!("software_statement {issuer}");
    guard
        .first_use(&key, jti, keep_until, now)
        .await
        .map_err(|source| DcrError::Server {
            source: Box::new(source),
        })
}

impl DcrGate {
    /// A gate using `resolver`'s anchors, clock and fetcher; see the [`DcrGate`] example.
    pub fn new(resolver: Resolver, config: DcrConfig) -> Self {
        Self { resolver, config }
    }

    /// The resolver; see the [`DcrConfig`] example.
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// The configuration; see the [`DcrConfig`] example.
    pub fn config(&self) -> &DcrConfig {
        &self.config
    }

    /// Judges a registration request body (RFC 7591 §3.1). The statement's `jti` is used
    /// up only when everything else passed.
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
    /// let ssa = statement("j1");
    /// let approval = gate.check_registration(&body(&ssa), &guard).await.unwrap();
    /// assert_eq!(approval.organization_name, None); // `org` publishes no organization_name
    /// // The statement's `jti` is used up: the same statement again is a replay.
    /// assert!(gate.check_registration(&body(&ssa), &guard).await.is_err());
    /// # });
    /// ```
    pub async fn check_registration(
        &self,
        body: &[u8],
        replay: &dyn ReplayGuard,
    ) -> Result<Approval, DcrError> {
        let request = RegistrationRequest::parse(body, self.config.max_request_bytes)?;
        for field in ["client_id", "client_secret", "registration_access_token"] {
            if request.metadata().contains_key(field) {
                return Err(DcrError::invalid_metadata(
                    DcrRule::UpdateFields,
                    format!("{field} is issued by the server, never requested"),
                ));
            }
        }
        let jwt = request.software_statement().ok_or_else(|| {
            DcrError::invalid_statement(
                DcrRule::StatementMissing,
                "a software_statement from a federation organization or directory is required",
            )
        })?;
        let (statement, org) =
            verify_statement(&self.resolver, &self.config.statements, jwt).await?;
        let approval = self.judge(request.metadata(), statement, &org)?;
        self.consume(&approval.statement, replay).await?;
        Ok(approval)
    }

    /// Uses up the statement's `jti`.
    pub(crate) async fn consume(
        &self,
        s: &VerifiedStatement,
        replay: &dyn ReplayGuard,
    ) -> Result<(), DcrError> {
        if first_use(replay, &s.issuer, &s.jti, s.keep_until, self.resolver.now()).await? {
            Ok(())
        } else {
            Err(DcrError::invalid_statement(
                DcrRule::StatementReplayed,
                format!("jti {:?} of {} was already used", s.jti, s.issuer),
            ))
        }
    }

    /// Model acceptance, merge, metadata rules, `software_redirect_uris`, policy.
    pub(crate) fn judge(
        &self,
        requested: &Map<String, Value>,
        statement: VerifiedStatement,
        org: &ResolvedEntity,
    ) -> Result<Approval, DcrError> {
        if !self
            .config
            .models
            .for_anchor(Some(&statement.trust_anchor))
            .dynamic()
        {
            return Err(DcrError::unapproved(
                DcrRule::ModelNotAccepted,
                format!(
                    "clients under {} register through the federation only",
                    statement.trust_anchor
                ),
            ));
        }
        let mut metadata = merge_statement(requested, &statement.claims);
        check_metadata(&mut metadata, &self.config.metadata)?;
        check_software_redirects(&metadata, &statement.claims)?;
        let metadata = self.apply_organization_policy(org, metadata)?;
        let organization_name = org
            .all_metadata()
            .get("federation_entity")
            .and_then(|m| m.get("organization_name"))
            .or_else(|| statement.claims.get("org_name"))
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(Approval {
            metadata,
            statement,
            organization_name,
            organization_expires_at: org.expires_at(),
        })
    }

    /// The policy the organization's chain applies to its subordinates of the client's
    /// Entity Type (the Subordinate Statements' `metadata_policy`, from the anchor down,
    /// §6.1.4.1), applied strictly; and `allowed_entity_types` of those statements.
    fn apply_organization_policy(
        &self,
        org: &ResolvedEntity,
        metadata: Map<String, Value>,
    ) -> Result<Map<String, Value>, DcrError> {
        let t = self.config.entity_type.as_str();
        let chain = org.chain();
        let refuse = |why: String| DcrError::invalid_metadata(DcrRule::Policy, why);
        for ss in chain.subordinate_statements() {
            if let Some(raw) = ss.constraints() {
                let c = Constraints::from_json(raw).map_err(|e| {
                    refuse(format!(
                        "constraints of {} → {}: {e}",
                        ss.issuer(),
                        ss.subject()
                    ))
                })?;
                if c.allowed_entity_types
                    .as_ref()
                    .is_some_and(|a| !a.iter().any(|x| x == t))
                {
                    return Err(refuse(format!(
                        "{} → {} does not allow entity type {t} below {}",
                        ss.issuer(),
                        ss.subject(),
                        ss.subject()
                    )));
                }
            }
        }
        let statements: Vec<_> = chain.subordinate_statements().collect();
        let sources: Vec<PolicySource<'_>> = statements
            .iter()
            .rev()
            .map(|s| PolicySource::from(&***s))
            .collect();
        let operators = &self.resolver.inner.operators;
        let via = |e: &crate::policy::PolicyError| {
            e.statement()
                .map(|(i, s)| format!("{i} → {s}"))
                .unwrap_or_else(|| format!("the chain of {}", org.entity_id()))
        };
        let policy = resolve_chain_policy(&sources, operators)
            .map_err(|e| refuse(format!("policy via {}: {e}", via(&e))))?;
        let Some(policy) = policy.as_ref().and_then(|p| p.entity_type(t)) else {
            return Ok(metadata);
        };
        let applied = policy.apply_with(&metadata, operators).map_err(|e| {
            refuse(format!(
                "{t} policy of {}'s subordinates: {e}",
                org.entity_id()
            ))
        })?;
        if let Some((p, asked, got)) = policy_changed(&metadata, &applied) {
            return Err(refuse(format!(
                "{t} policy of {}'s subordinates turns {p} {asked} into {got}",
                org.entity_id()
            )));
        }
        Ok(applied)
    }

    /// Re-establishes a stored statement's organization against the federation as it is
    /// now (`refresh`: every statement fetched anew, as a sweep does): it must still
    /// resolve to the same anchor; a directory-issued statement's organization must still
    /// be active in it and vouched for by the directory's anchor.
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
    /// let approval = gate.check_registration(&body(&statement("j1")), &guard).await.unwrap();
    /// let org = gate.reconfirm(&approval.statement, true).await.unwrap();
    /// assert_eq!(org.entity_id(), &fed.id("org"));
    /// // The organization leaves the federation: it no longer reconfirms.
    /// fed.remove_ss("ta", "org");
    /// assert!(gate.reconfirm(&approval.statement, true).await.is_err());
    /// # });
    /// ```
    pub async fn reconfirm(
        &self,
        statement: &VerifiedStatement,
        refresh: bool,
    ) -> Result<ResolvedEntity, DcrError> {
        let id = EntityId::parse_with(
            &statement.organization_id,
            self.resolver.inner.rules.allow_http,
        )
        .map_err(|e| {
            DcrError::unapproved(
                DcrRule::OrganizationUnknown,
                format!("{}: {e}", statement.organization_id),
            )
        })?;
        let org = resolve_entity(&self.resolver, &id, refresh)
            .await
            .map_err(|e| {
                if e.is_transient() {
                    DcrError::Server {
                        source: Box::new(e),
                    }
                } else {
                    DcrError::unapproved(
                        DcrRule::IssuerNotTrusted,
                        format!("organization {id} no longer has a trust chain: {e}"),
                    )
                }
            })?;
        if org.trust_anchor().as_str() != statement.trust_anchor {
            return Err(DcrError::unapproved(
                DcrRule::OrganizationUnknown,
                format!(
                    "organization {id} now resolves to {}, not {}",
                    org.trust_anchor(),
                    statement.trust_anchor
                ),
            ));
        }
        if statement.form == StatementForm::DirectoryIssued {
            let dir = self
                .config
                .statements
                .directories
                .iter()
                .find(|d| d.issuer == statement.issuer)
                .ok_or_else(|| {
                    DcrError::unapproved(
                        DcrRule::IssuerNotTrusted,
                        format!("{} is no longer a configured directory", statement.issuer),
                    )
                })?;
            check_status(dir, &statement.claims)?;
        }
        Ok(org)
    }
}
