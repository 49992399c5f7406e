//! Software statements (RFC 7591 §2.3) in the two forms a federation gate accepts:
//!
//! * **organization-signed** — `iss` is a federation entity whose trust chain resolves to a
//!   configured anchor; the statement verifies with the Federation Entity Keys its chain
//!   asserts (the exact `kid`); the issuer is the accountable organization;
//! * **directory-issued** — `iss` is a [`Directory`] the server configures for an anchor
//!   (keys pinned, or from the anchor's own Entity Configuration); the organization is named
//!   by a claim (`org_id` by default), must be active (`org_status`), and must be vouched
//!   for: it resolves, as a federation entity, to the directory's anchor.
//!
//! Anything else is refused. Checks run cheapest first: header, claims and times before any
//! resolution, resolution before the signature.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::directory::{Directory, DirectoryKeys, check_status};
use super::error::{DcrError, DcrRule};
use crate::entity_id::EntityId;
use crate::error::Error;
use crate::jose::{self, Alg, CompactJws, JoseError, KeySet, TypRule};
use crate::json::parse_object;
use crate::resolver::{EntityType, ResolvedEntity, Resolver};

/// Which of the two forms a software statement had.
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
/// use oidfed::server::dcr::StatementForm;
/// let approval = gate.check_registration(&body(&statement("j1")), &guard).await.unwrap();
/// assert_eq!(approval.statement.form, StatementForm::OrganizationSigned);
/// assert_eq!(approval.statement.form.as_str(), "organization_signed");
/// assert_eq!(StatementForm::DirectoryIssued.as_str(), "directory_issued");
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StatementForm {
    /// Signed by the organization itself (a federation entity).
    OrganizationSigned,
    /// Issued by a configured directory, naming the organization in a claim.
    DirectoryIssued,
}

impl StatementForm {
    /// The stored name; see the [`StatementForm`] example.
    pub fn as_str(self) -> &'static str {
        match self {
            StatementForm::OrganizationSigned => "organization_signed",
            StatementForm::DirectoryIssued => "directory_issued",
        }
    }
}

/// How software statements are judged.
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
/// use oidfed::server::dcr::{DcrRule, StatementRules, verify_statement};
/// let mut rules = StatementRules::default();
/// assert!(verify_statement(gate.resolver(), &rules, &statement("j1")).await.is_ok());
/// rules.max_bytes = 64; // far shorter than any signed statement
/// let e = verify_statement(gate.resolver(), &rules, &statement("j2")).await.unwrap_err();
/// assert!(e.rule().is_some());
/// # });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StatementRules {
    /// Algorithms accepted (default ES256, ES384, PS256, EdDSA).
    pub algs: Vec<Alg>,
    /// The oldest `iat` accepted, in seconds: bounds how long a `jti` must be remembered
    /// even for a statement without `exp` (default one day).
    pub max_age: i64,
    /// Longest statement accepted, in bytes (default 16 KiB).
    pub max_bytes: usize,
    /// The configured directories.
    pub directories: Vec<Directory>,
}

impl Default for StatementRules {
    fn default() -> Self {
        Self {
            algs: vec![Alg::ES256, Alg::ES384, Alg::PS256, Alg::EdDSA],
            max_age: 86_400,
            max_bytes: 16 * 1024,
            directories: Vec::new(),
        }
    }
}

/// A software statement whose signature, times and issuer were verified, with the
/// organization it binds the client to.
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
/// use oidfed::server::dcr::{StatementRules, verify_statement};
/// let (verified, org) = verify_statement(gate.resolver(), &StatementRules::default(), &statement("j1"))
///     .await
///     .unwrap();
/// assert_eq!((verified.issuer.as_str(), verified.jti.as_str()), (fed.id("org").as_str(), "j1"));
/// assert_eq!(verified.trust_anchor, fed.id("ta").as_str());
/// assert_eq!(org.entity_id(), &fed.id("org"));
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VerifiedStatement {
    /// Which form it had.
    pub form: StatementForm,
    /// `iss`.
    pub issuer: String,
    /// The accountable organization's Entity Identifier: the issuer (organization-signed)
    /// or the organization claim (directory-issued).
    pub organization_id: String,
    /// For a directory-issued statement, the organization claim's value as written.
    pub organization_claim: Option<String>,
    /// The trust anchor the organization's chain ends at.
    pub trust_anchor: String,
    /// The organization's chain, from the organization up to the anchor.
    pub chain_path: Vec<String>,
    /// SHA-256 fingerprint of the organization's chain.
    pub chain_fingerprint: String,
    /// `jti`.
    pub jti: String,
    /// `software_id`, when the statement has one.
    pub software_id: Option<String>,
    /// `iat`.
    pub issued_at: i64,
    /// `exp`, when present.
    pub expires_at: Option<i64>,
    /// Until when the `jti` must be remembered: `exp`, capped at `iat` + the maximum age.
    pub keep_until: i64,
    /// The statement's claims.
    pub claims: Map<String, Value>,
    /// The statement as received.
    pub raw: String,
}

fn bad(rule: DcrRule, why: impl Into<String>) -> DcrError {
    DcrError::invalid_statement(rule, why)
}

/// What [`verify_statement`] found before resolution: the header and claims.
struct Parsed {
    jws: CompactJws,
    alg: Alg,
    kid: String,
    claims: Map<String, Value>,
    iss: String,
    iat: i64,
    exp: Option<i64>,
    jti: String,
}

fn parse(jwt: &str, rules: &StatementRules, now: i64, skew: i64) -> Result<Parsed, DcrError> {
    let jws = CompactJws::parse_with_limit(jwt, rules.max_bytes)
        .map_err(|e| bad(DcrRule::StatementMalformed, e.to_string()))?;
    // The one JOSE header check of every JWT kind. `typ` may be absent, but a federation
    // JWT of another kind (an entity statement, a request object…) is never a software
    // statement (RFC 8725 §3.11).
    let (alg, kid) = jose::check_header_with(&jws, TypRule::IfPresent(&["JWT"]), &rules.algs)
        .map_err(|e| {
            let rule = match e {
                JoseError::MissingKid => DcrRule::StatementKid,
                JoseError::MissingTyp { .. } | JoseError::WrongTyp { .. } => {
                    DcrRule::StatementMalformed
                }
                _ => DcrRule::StatementAlgorithm,
            };
            bad(rule, e.to_string())
        })?;
    let kid = kid.to_string();
    let claims = parse_object(jws.payload()).map_err(|e| bad(DcrRule::StatementMalformed, e.0))?;
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .filter(|i| !i.is_empty())
        .ok_or_else(|| bad(DcrRule::StatementIssuer, "iss missing (RFC 7591 §2.3)"))?
        .to_string();
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad(DcrRule::StatementIssuedAt, "iat missing or not an integer"))?;
    if iat > now.saturating_add(skew) {
        return Err(bad(
            DcrRule::StatementIssuedAt,
            format!("iat {iat} is in the future"),
        ));
    }
    if now.saturating_sub(iat) > rules.max_age {
        return Err(bad(
            DcrRule::StatementIssuedAt,
            format!("issued at {iat}, more than {} s ago", rules.max_age),
        ));
    }
    let exp = match claims.get("exp") {
        None => None,
        Some(v) => {
            let exp = v
                .as_i64()
                .ok_or_else(|| bad(DcrRule::StatementExpired, "exp is not an integer"))?;
            if now >= exp.saturating_add(skew) {
                return Err(bad(DcrRule::StatementExpired, format!("expired at {exp}")));
            }
            Some(exp)
        }
    };
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty())
        .ok_or_else(|| {
            bad(
                DcrRule::StatementReplayed,
                "jti missing: the statement could be replayed",
            )
        })?
        .to_string();
    if claims.get("software_id").is_some_and(|s| !s.is_string()) {
        return Err(bad(
            DcrRule::StatementMalformed,
            "software_id is not a string",
        ));
    }
    Ok(Parsed {
        jws,
        alg,
        kid,
        claims,
        iss,
        iat,
        exp,
        jti,
    })
}

fn verify_signature(p: &Parsed, keys: &KeySet, whose: &str) -> Result<(), DcrError> {
    keys.verify(&p.jws, p.alg, &p.kid, whose)
        .map_err(|e| match e {
            JoseError::BadSignature { .. } => bad(DcrRule::StatementSignature, e.to_string()),
            _ => bad(DcrRule::StatementKid, e.to_string()),
        })
}

/// Resolves `id` as a federation entity (`refresh`: fetch every statement anew, as a sweep
/// does). A failure that retrying may cure is a server error; any other means the federation
/// does not vouch for it.
pub(crate) async fn resolve_entity(
    resolver: &Resolver,
    id: &EntityId,
    refresh: bool,
) -> Result<ResolvedEntity, Error> {
    if refresh {
        resolver
            .discover(id, &EntityType::FEDERATION_ENTITY, true)
            .await
    } else {
        resolver.resolve(id, &EntityType::FEDERATION_ENTITY).await
    }
}

fn not_vouched(rule: DcrRule, what: String) -> impl FnOnce(Error) -> DcrError {
    move |e| {
        if e.is_transient() {
            DcrError::Server {
                source: Box::new(e),
            }
        } else {
            DcrError::unapproved(rule, format!("{what}: {e}"))
        }
    }
}

/// Verifies a software statement (RFC 7591 §2.3) and finds the organization it binds to.
/// Returns the statement and the organization's resolution (its chain and policy). The
/// `jti` is **not** consumed here: the gate does that once every other check passed.
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
/// use oidfed::server::dcr::{StatementRules, verify_statement};
/// let ssa = statement("j1");
/// let rules = StatementRules::default();
/// let (verified, _org) = verify_statement(gate.resolver(), &rules, &ssa).await.unwrap();
/// assert_eq!(verified.software_id.as_deref(), Some("sw-1"));
/// // Not consumed: the same statement verifies again.
/// assert!(verify_statement(gate.resolver(), &rules, &ssa).await.is_ok());
/// // A statement from outside the trusted federations binds nothing.
/// let stranger = oidfed::testing::TestKey::generate(oidfed::testing::KeyAlg::ES256)
///     .sign_jwt("JWT", &json!({"iss": "https://stranger.example", "iat": now, "jti": "x"}));
/// assert!(verify_statement(gate.resolver(), &rules, &stranger).await.is_err());
/// # });
/// ```
pub async fn verify_statement(
    resolver: &Resolver,
    rules: &StatementRules,
    jwt: &str,
) -> Result<(VerifiedStatement, ResolvedEntity), DcrError> {
    let now = resolver.now();
    let skew = resolver.inner.skew;
    let p = parse(jwt, rules, now, skew)?;
    let (form, org, org_claim) = match rules.directories.iter().find(|d| d.issuer == p.iss) {
        Some(dir) => {
            let keys = match &dir.keys {
                DirectoryKeys::Pinned(k) => k.clone(),
                DirectoryKeys::AnchorConfiguration => {
                    let anchor =
                        resolve_entity(resolver, &dir.anchor, false)
                            .await
                            .map_err(not_vouched(
                                DcrRule::IssuerNotTrusted,
                                format!("directory anchor {}", dir.anchor),
                            ))?;
                    anchor.federation_keys().clone()
                }
            };
            verify_signature(&p, &keys, &format!("directory {}", dir.issuer))?;
            let (org, claim) = directory_organization(resolver, dir, &p.claims).await?;
            (StatementForm::DirectoryIssued, org, Some(claim))
        }
        None => {
            let id = resolver.entity_id(&p.iss).map_err(|e| {
                DcrError::unapproved(
                    DcrRule::IssuerNotTrusted,
                    format!("issuer {:?} is neither a configured directory nor a federation entity: {e}", p.iss),
                )
            })?;
            let org = resolve_entity(resolver, &id, false)
                .await
                .map_err(not_vouched(
                    DcrRule::IssuerNotTrusted,
                    format!("issuer {id} has no trust chain to a configured anchor"),
                ))?;
            verify_signature(
                &p,
                org.federation_keys(),
                &format!("{id}'s keys as its chain asserts them"),
            )?;
            (StatementForm::OrganizationSigned, org, None)
        }
    };
    let keep_until = p
        .exp
        .unwrap_or(i64::MAX)
        .min(p.iat.saturating_add(rules.max_age));
    let statement = VerifiedStatement {
        form,
        issuer: p.iss,
        organization_id: org.entity_id().to_string(),
        organization_claim: org_claim,
        trust_anchor: org.trust_anchor().to_string(),
        chain_path: org.chain().path().iter().map(ToString::to_string).collect(),
        chain_fingerprint: org.chain().fingerprint(),
        jti: p.jti,
        software_id: p
            .claims
            .get("software_id")
            .and_then(Value::as_str)
            .map(str::to_string),
        issued_at: p.iat,
        expires_at: p.exp,
        keep_until,
        claims: p.claims,
        raw: jwt.to_string(),
    };
    Ok((statement, org))
}

/// The organization a directory-issued statement names: active, and vouched for (its chain
/// ends at the directory's anchor).
async fn directory_organization(
    resolver: &Resolver,
    dir: &Directory,
    claims: &Map<String, Value>,
) -> Result<(ResolvedEntity, String), DcrError> {
    let claim = claims
        .get(&dir.organization_claim)
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            DcrError::unapproved(
                DcrRule::OrganizationClaim,
                format!(
                    "the organization claim {} is missing or not a string",
                    dir.organization_claim
                ),
            )
        })?;
    check_status(dir, claims)?;
    let text = dir.organization_entity_id(claim);
    let id = resolver.entity_id(&text).map_err(|e| {
        DcrError::unapproved(
            DcrRule::OrganizationUnknown,
            format!(
                "{} {claim:?} names no federation entity: {e}",
                dir.organization_claim
            ),
        )
    })?;
    let org = resolve_entity(resolver, &id, false)
        .await
        .map_err(not_vouched(
            DcrRule::OrganizationUnknown,
            format!("organization {id} is not known to the federation"),
        ))?;
    if *org.trust_anchor() != dir.anchor {
        return Err(DcrError::unapproved(
            DcrRule::OrganizationUnknown,
            format!(
                "organization {id} resolves to {}, not to the directory's anchor {}",
                org.trust_anchor(),
                dir.anchor
            ),
        ));
    }
    Ok((org, claim.to_string()))
}
