//! Entity Statements (OpenID Federation 1.0 §3): Entity Configurations (`iss == sub`) and
//! Subordinate Statements (`iss != sub`).
//!
//! [`EntityStatement::parse`] runs every check of §3.2 that needs no other statement and no
//! clock: JWS syntax, `typ`, `alg`, `kid`, required claims, claim placement (EC-only and
//! SS-only claims), `crit`, `null`-free metadata, well-formed hints, trust mark entries and
//! issuer/owner maps. Time ([`EntityStatement::check_time`]) and signatures
//! ([`EntityStatement::verify_with`]) are separate so the chain validator can do the cheap
//! checks for a whole chain before paying for any signature.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::entity_id::EntityId;
use crate::jose::{self, Alg, CompactJws, HeaderRules, JoseError, KeySet};
use crate::json::parse_strict;

/// The `typ` of every Entity Statement (§3).
pub const ENTITY_STATEMENT_TYP: &str = "entity-statement+jwt";

/// Claims this specification defines for Entity Statements; `crit` must not list them
/// (§3.2 step 13).
pub const SPEC_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "iat",
    "exp",
    "jwks",
    "metadata",
    "crit",
    "authority_hints",
    "trust_anchor_hints",
    "trust_marks",
    "trust_mark_issuers",
    "trust_mark_owners",
    "constraints",
    "metadata_policy",
    "metadata_policy_crit",
    "source_endpoint",
    "aud",
    "trust_anchor",
    "ref",
];

const EC_ONLY: &[&str] = &[
    "authority_hints",
    "trust_anchor_hints",
    "trust_marks",
    "trust_mark_issuers",
    "trust_mark_owners",
];
const SS_ONLY: &[&str] = &[
    "constraints",
    "metadata_policy",
    "metadata_policy_crit",
    "source_endpoint",
];

/// Latest NumericDate accepted (9999-12-31T23:59:59Z); later values are malformed.
pub const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

/// A rule of the specification that a statement or chain broke. Each rule knows where the
/// spec states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// A signed JWT in compact serialization (§1.1, §3.2 step 1).
    JwsSyntax,
    /// `typ` is `entity-statement+jwt` (§3.2 step 2).
    Typ,
    /// `alg` is an accepted asymmetric algorithm (§3.2 step 3).
    Alg,
    /// `sub` is the entity the statement was fetched for (§3.2 step 4).
    Subject,
    /// `iss` is a valid Entity Identifier and the expected issuer (§3.2 step 5, §10.2).
    Issuer,
    /// The issuer of a Subordinate Statement is one of the subject's `authority_hints`
    /// (§3.2 step 6), and `authority_hints` is well formed (§3.1.2, step 14).
    AuthorityHints,
    /// `trust_anchor_hints` is well formed (§3.1.2, §3.2 step 15).
    TrustAnchorHints,
    /// The current time is after `iat` (§3.2 step 7).
    IssuedAt,
    /// The current time is before `exp` (§3.2 step 8).
    Expiry,
    /// `jwks` is present and a valid JWK Set (§3.1.1, §3.2 step 9).
    Jwks,
    /// `kid` is present and names a key of the issuer (§3.2 step 11).
    Kid,
    /// The signature verifies (§3.2 step 12, §10.2).
    Signature,
    /// `crit` lists only understood extension claims (§3.2 step 13, §13.4).
    Crit,
    /// A claim appears only where it may: EC-only and SS-only claims (§3.1.2, §3.1.3).
    ClaimPlacement,
    /// A required claim is missing or has the wrong type (§3.1.1).
    RequiredClaim,
    /// `metadata` is well formed and has no `null` values (§3.2 step 16, §5).
    Metadata,
    /// `metadata_policy` is well formed (§3.2 step 17, §6.1).
    MetadataPolicy,
    /// `metadata_policy_crit` is well formed and understood (§3.2 step 18).
    MetadataPolicyCrit,
    /// `constraints` is well formed (§3.2 step 19, §6.2).
    Constraints,
    /// `trust_marks` entries are well formed and name their own type (§3.2 step 20).
    TrustMarks,
    /// `trust_mark_issuers` is well formed (§3.2 step 21).
    TrustMarkIssuers,
    /// `trust_mark_owners` is well formed (§3.2 step 22).
    TrustMarkOwners,
    /// `source_endpoint` is a URL (§3.2 step 23).
    SourceEndpoint,
    /// No `trust_chain`/`peer_trust_chain` header on an EC or SS (§4.3, §4.4).
    TrustChainHeader,
    /// `aud` only in Explicit Registration (§3.2 step 26).
    Audience,
    /// `trust_anchor` only in an Explicit Registration response (§3.2 step 27).
    TrustAnchorClaim,
    /// Each chain element is signed by a key the next element asserts (§10.2).
    ChainLink,
    /// The chain ends at a configured Trust Anchor whose configured keys verify it (§10.2).
    TrustAnchor,
    /// A constraint of a Subordinate Statement is broken (§6.2).
    Constraint,
    /// The metadata policy of the chain cannot be resolved or applied (§6.1).
    Policy,
}

impl Rule {
    /// Where the specification states the rule.
    pub fn section(self) -> &'static str {
        match self {
            Rule::JwsSyntax => "§3.2 step 1",
            Rule::Typ => "§3.2 step 2",
            Rule::Alg => "§3.2 step 3",
            Rule::Subject => "§3.2 step 4",
            Rule::Issuer => "§3.2 step 5",
            Rule::AuthorityHints => "§3.2 steps 6 and 14",
            Rule::TrustAnchorHints => "§3.2 step 15",
            Rule::IssuedAt => "§3.2 step 7",
            Rule::Expiry => "§3.2 step 8",
            Rule::Jwks => "§3.2 step 9",
            Rule::Kid => "§3.2 step 11",
            Rule::Signature => "§3.2 step 12",
            Rule::Crit => "§3.2 step 13",
            Rule::ClaimPlacement => "§3.1.2, §3.1.3",
            Rule::RequiredClaim => "§3.1.1",
            Rule::Metadata => "§3.2 step 16",
            Rule::MetadataPolicy => "§3.2 step 17",
            Rule::MetadataPolicyCrit => "§3.2 step 18",
            Rule::Constraints => "§3.2 step 19",
            Rule::TrustMarks => "§3.2 step 20",
            Rule::TrustMarkIssuers => "§3.2 step 21",
            Rule::TrustMarkOwners => "§3.2 step 22",
            Rule::SourceEndpoint => "§3.2 step 23",
            Rule::TrustChainHeader => "§4.3, §4.4",
            Rule::Audience => "§3.2 step 26",
            Rule::TrustAnchorClaim => "§3.2 step 27",
            Rule::ChainLink => "§10.2",
            Rule::TrustAnchor => "§10.2",
            Rule::Constraint => "§6.2",
            Rule::Policy => "§6.1",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?} ({})", self.section())
    }
}

/// A statement that broke a rule: which statement (issuer → subject), which rule, and what
/// exactly was wrong. Issuer and subject are what the statement claimed, or what we asked
/// for when the statement could not be read that far.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("statement {} → {}: {rule}: {detail}", issuer.as_deref().unwrap_or("?"), subject.as_deref().unwrap_or("?"))]
pub struct StatementError {
    /// The issuer, when known.
    pub issuer: Option<String>,
    /// The subject, when known.
    pub subject: Option<String>,
    /// The rule broken.
    pub rule: Rule,
    /// What was wrong.
    pub detail: String,
}

impl StatementError {
    /// A new error.
    pub fn new(
        issuer: Option<&str>,
        subject: Option<&str>,
        rule: Rule,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            issuer: issuer.map(str::to_string),
            subject: subject.map(str::to_string),
            rule,
            detail: detail.into(),
        }
    }
}

/// Which claims and headers a parse accepts. The defaults are the strict rules for fetched
/// statements.
#[derive(Debug, Clone)]
pub struct StatementRules {
    /// Accept `http` Entity Identifiers (loopback test federations only).
    pub allow_http: bool,
    /// Accept `application/entity-statement+jwt` and case variants as `typ` (D2).
    pub lenient_typ: bool,
    /// Accepted algorithms.
    pub algs: Vec<Alg>,
    /// Extension claims this deployment understands, which `crit` may therefore list.
    pub understood_crit: Vec<String>,
    /// Non-standard policy operators understood (for `metadata_policy_crit`).
    pub understood_policy_operators: Vec<String>,
    /// Longest token accepted.
    pub max_len: usize,
    /// Accept an `aud` claim equal to this identifier (Explicit Registration request, §12.2.1).
    pub expected_aud: Option<String>,
    /// Accept `trust_chain`/`peer_trust_chain` headers (Explicit Registration request only).
    pub allow_chain_headers: bool,
}

impl Default for StatementRules {
    fn default() -> Self {
        Self {
            allow_http: false,
            lenient_typ: false,
            algs: Alg::ALL.to_vec(),
            understood_crit: Vec::new(),
            understood_policy_operators: Vec::new(),
            max_len: jose::DEFAULT_MAX_JWS_LEN,
            expected_aud: None,
            allow_chain_headers: false,
        }
    }
}

/// An entry of an EC's `trust_marks` claim (§3.1.2): syntax only, not yet validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustMarkEntry {
    /// The declared type; equal to the type inside the JWT.
    pub trust_mark_type: String,
    /// The Trust Mark JWT.
    pub trust_mark: String,
}

/// A parsed Entity Statement whose syntax and claim placement are valid. Time and signature
/// are checked separately.
#[derive(Clone)]
pub struct EntityStatement {
    jws: CompactJws,
    alg: Alg,
    kid: String,
    claims: Map<String, Value>,
    iss: EntityId,
    sub: EntityId,
    iat: i64,
    exp: i64,
    jwks: KeySet,
    authority_hints: Vec<EntityId>,
    trust_marks: Vec<TrustMarkEntry>,
    /// Thumbprints of the keys this signature already verified with: verifying the same
    /// statement with the same key material again costs nothing.
    verified: Arc<Mutex<Vec<String>>>,
}

impl fmt::Debug for EntityStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntityStatement")
            .field("iss", &self.iss)
            .field("sub", &self.sub)
            .field("iat", &self.iat)
            .field("exp", &self.exp)
            .field("kid", &self.kid)
            .finish()
    }
}

impl EntityStatement {
    /// Parses `token` and checks every rule that needs neither a clock nor another statement.
    ///
    /// ```
    /// use oidfed::statement::{EntityStatement, Rule, StatementRules};
    /// let err = EntityStatement::parse("not-a-jwt", &StatementRules::default()).unwrap_err();
    /// assert_eq!(err.rule, Rule::JwsSyntax);
    /// ```
    pub fn parse(token: &str, rules: &StatementRules) -> Result<Self, StatementError> {
        let jws = CompactJws::parse_with_limit(token, rules.max_len)
            .map_err(|e| StatementError::new(None, None, Rule::JwsSyntax, e.to_string()))?;
        // The payload is read before the header is judged, so errors can name the statement.
        let claims = match parse_strict(jws.payload()) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return Err(StatementError::new(
                    None,
                    None,
                    Rule::JwsSyntax,
                    "the payload is not a JSON object",
                ));
            }
            Err(e) => return Err(StatementError::new(None, None, Rule::JwsSyntax, e.0)),
        };
        let iss_s = claims.get("iss").and_then(Value::as_str);
        let sub_s = claims.get("sub").and_then(Value::as_str);
        let err = |rule: Rule, detail: String| StatementError::new(iss_s, sub_s, rule, detail);

        let header_rules = HeaderRules {
            typ: ENTITY_STATEMENT_TYP,
            lenient_typ: rules.lenient_typ,
            algs: &rules.algs,
        };
        let (alg, kid) = jose::check_header(&jws, &header_rules).map_err(|e| {
            let rule = match e {
                JoseError::MissingTyp { .. } | JoseError::WrongTyp { .. } => Rule::Typ,
                JoseError::MissingKid => Rule::Kid,
                _ => Rule::Alg,
            };
            err(rule, e.to_string())
        })?;
        let kid = kid.to_string();
        if !rules.allow_chain_headers {
            for h in ["trust_chain", "peer_trust_chain"] {
                if jws.header().contains_key(h) {
                    return Err(err(
                        Rule::TrustChainHeader,
                        format!("an Entity Statement must not carry a {h} header"),
                    ));
                }
            }
        }

        let iss =
            entity_id_claim(&claims, "iss", rules.allow_http).map_err(|d| err(Rule::Issuer, d))?;
        let sub =
            entity_id_claim(&claims, "sub", rules.allow_http).map_err(|d| err(Rule::Subject, d))?;
        let iat = numeric_date(&claims, "iat", Rounding::Up).map_err(|d| err(Rule::IssuedAt, d))?;
        let exp = numeric_date(&claims, "exp", Rounding::Down).map_err(|d| err(Rule::Expiry, d))?;
        let jwks = match claims.get("jwks") {
            None => return Err(err(Rule::Jwks, "the jwks claim is missing".into())),
            Some(v) => KeySet::from_json(v).map_err(|e| err(Rule::Jwks, e.to_string()))?,
        };
        let is_ec = iss == sub;

        // Claim placement (§3.1.2, §3.1.3, §3.2 steps 14–23).
        let misplaced = if is_ec { SS_ONLY } else { EC_ONLY };
        if let Some(c) = misplaced.iter().find(|c| claims.contains_key(**c)) {
            let kind = if is_ec {
                "an Entity Configuration"
            } else {
                "a Subordinate Statement"
            };
            return Err(err(
                Rule::ClaimPlacement,
                format!("{c} must not appear in {kind}"),
            ));
        }
        match (claims.get("aud"), &rules.expected_aud) {
            (None, _) => {}
            (Some(Value::String(a)), Some(expected)) if a == expected => {}
            (Some(Value::Array(a)), Some(expected))
                if a.len() == 1 && a[0].as_str() == Some(expected.as_str()) => {}
            (Some(a), Some(expected)) => {
                return Err(err(
                    Rule::Audience,
                    format!("aud {a} is not exactly {expected:?}"),
                ));
            }
            (Some(_), None) => {
                return Err(err(
                    Rule::Audience,
                    "aud is only allowed in Explicit Registration".into(),
                ));
            }
        }
        if claims.contains_key("trust_anchor") {
            return Err(err(
                Rule::TrustAnchorClaim,
                "trust_anchor is only allowed in an Explicit Registration response".into(),
            ));
        }

        check_crit(&claims, &rules.understood_crit).map_err(|d| err(Rule::Crit, d))?;
        if let Some(m) = claims.get("metadata") {
            check_metadata(m).map_err(|d| err(Rule::Metadata, d))?;
        }

        let authority_hints = match claims.get("authority_hints") {
            None => Vec::new(),
            Some(v) => id_array(v, rules.allow_http).map_err(|d| err(Rule::AuthorityHints, d))?,
        };
        if let Some(v) = claims.get("trust_anchor_hints") {
            id_array(v, rules.allow_http).map_err(|d| err(Rule::TrustAnchorHints, d))?;
        }
        let trust_marks = match claims.get("trust_marks") {
            None => Vec::new(),
            Some(v) => trust_mark_entries(v).map_err(|d| err(Rule::TrustMarks, d))?,
        };
        if let Some(v) = claims.get("trust_mark_issuers") {
            check_trust_mark_issuers(v, rules.allow_http)
                .map_err(|d| err(Rule::TrustMarkIssuers, d))?;
        }
        if let Some(v) = claims.get("trust_mark_owners") {
            check_trust_mark_owners(v, rules.allow_http)
                .map_err(|d| err(Rule::TrustMarkOwners, d))?;
        }
        if let Some(v) = claims.get("metadata_policy") {
            if !v.is_object() {
                return Err(err(
                    Rule::MetadataPolicy,
                    "metadata_policy is not an object".into(),
                ));
            }
        }
        if let Some(v) = claims.get("metadata_policy_crit") {
            check_policy_crit(v, &rules.understood_policy_operators)
                .map_err(|d| err(Rule::MetadataPolicyCrit, d))?;
        }
        if let Some(v) = claims.get("constraints") {
            if !v.is_object() {
                return Err(err(
                    Rule::Constraints,
                    "constraints is not an object".into(),
                ));
            }
        }
        if let Some(v) = claims.get("source_endpoint") {
            let ok = v
                .as_str()
                .and_then(|s| url::Url::parse(s).ok())
                .is_some_and(|u| {
                    u.scheme() == "https" || (rules.allow_http && u.scheme() == "http")
                });
            if !ok {
                return Err(err(
                    Rule::SourceEndpoint,
                    "source_endpoint is not an https URL".into(),
                ));
            }
        }

        Ok(Self {
            jws,
            alg,
            kid,
            claims,
            iss,
            sub,
            iat,
            exp,
            jwks,
            authority_hints,
            trust_marks,
            verified: Arc::default(),
        })
    }

    /// The token as received.
    pub fn raw(&self) -> &Arc<str> {
        self.jws.raw()
    }

    /// The parsed JWS.
    pub fn jws(&self) -> &CompactJws {
        &self.jws
    }

    /// Every claim.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// One claim.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    /// `iss`.
    pub fn issuer(&self) -> &EntityId {
        &self.iss
    }

    /// `sub`.
    pub fn subject(&self) -> &EntityId {
        &self.sub
    }

    /// `iat` (Unix seconds).
    pub fn issued_at(&self) -> i64 {
        self.iat
    }

    /// `exp` (Unix seconds).
    pub fn expires_at(&self) -> i64 {
        self.exp
    }

    /// The header `alg`.
    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// The header `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// `jwks`: the subject's Federation Entity Keys (in an SS, as its superior asserts them).
    pub fn jwks(&self) -> &KeySet {
        &self.jwks
    }

    /// Whether this is an Entity Configuration (`iss == sub`).
    pub fn is_configuration(&self) -> bool {
        self.iss == self.sub
    }

    /// `authority_hints` (empty when absent).
    pub fn authority_hints(&self) -> &[EntityId] {
        &self.authority_hints
    }

    /// `metadata`, if present.
    pub fn metadata(&self) -> Option<&Map<String, Value>> {
        self.claims.get("metadata").and_then(Value::as_object)
    }

    /// `metadata_policy`, if present.
    pub fn metadata_policy(&self) -> Option<&Value> {
        self.claims.get("metadata_policy")
    }

    /// `metadata_policy_crit`, if present.
    pub fn metadata_policy_crit(&self) -> Option<&Value> {
        self.claims.get("metadata_policy_crit")
    }

    /// `constraints`, if present.
    pub fn constraints(&self) -> Option<&Value> {
        self.claims.get("constraints")
    }

    /// `trust_marks` entries (empty when absent).
    pub fn trust_marks(&self) -> &[TrustMarkEntry] {
        &self.trust_marks
    }

    /// A `federation_entity` endpoint from this statement's own metadata (§5.1.1). Endpoints
    /// are read from the raw Entity Configuration, never from a superior's statement (§8.1).
    pub fn federation_endpoint(&self, name: &str) -> Option<&str> {
        self.metadata()?
            .get("federation_entity")?
            .get(name)?
            .as_str()
    }

    /// Checks `iat` and `exp` against `now` with `skew` seconds of leeway on both
    /// (§3.2 steps 7–8): `iat` may be at most `skew` in the future; the statement is refused
    /// from `exp + skew` on.
    pub fn check_time(&self, now: i64, skew: i64) -> Result<(), StatementError> {
        if self.iat > now.saturating_add(skew) {
            return Err(self.error(
                Rule::IssuedAt,
                format!(
                    "iat {} is in the future (now {now}, leeway {skew} s)",
                    self.iat
                ),
            ));
        }
        if now >= self.exp.saturating_add(skew) {
            return Err(self.error(
                Rule::Expiry,
                format!("expired at {} (now {now}, leeway {skew} s)", self.exp),
            ));
        }
        Ok(())
    }

    /// Verifies the signature with `keys` (the key named by the header `kid`); `whose` says
    /// whose keys they are, for the error.
    /// A signature that verified once with a key is remembered by the key's thumbprint, so
    /// checking it again against the same key material (the subject's own `jwks` and its
    /// superior's assertion, or a cached statement in a later resolution) is free.
    pub fn verify_with(&self, keys: &KeySet, whose: &str) -> Result<(), StatementError> {
        // The memo key is the key material (the statement's algorithm is fixed). A hit still
        // requires this JWK to be usable for that algorithm: the same material may be
        // published with a different `alg`, `use` or `key_ops` by another party.
        let key = keys.get(&self.kid);
        let thumb = key.and_then(|k| k.thumbprint().map(str::to_string));
        if let (Some(t), Some(k)) = (&thumb, key) {
            if k.usable_for(self.alg) && self.verified.lock().is_ok_and(|v| v.contains(t)) {
                return Ok(());
            }
        }
        keys.verify(&self.jws, self.alg, &self.kid, whose)
            .map_err(|e| {
                let rule = match e {
                    JoseError::UnknownKid { .. } => Rule::Kid,
                    _ => Rule::Signature,
                };
                self.error(rule, e.to_string())
            })?;
        if let (Some(t), Ok(mut v)) = (thumb, self.verified.lock()) {
            if v.len() < 8 {
                v.push(t);
            }
        }
        Ok(())
    }

    /// An error about this statement.
    pub fn error(&self, rule: Rule, detail: impl Into<String>) -> StatementError {
        StatementError::new(
            Some(self.iss.as_str()),
            Some(self.sub.as_str()),
            rule,
            detail,
        )
    }
}

fn entity_id_claim(
    claims: &Map<String, Value>,
    name: &str,
    allow_http: bool,
) -> Result<EntityId, String> {
    let s = claims
        .get(name)
        .ok_or_else(|| format!("{name} is missing"))?
        .as_str()
        .ok_or_else(|| format!("{name} is not a string"))?;
    EntityId::parse_with(s, allow_http)
        .map_err(|e| format!("{name} {s:?} is not an Entity Identifier: {e}"))
}

#[derive(Clone, Copy)]
enum Rounding {
    Up,
    Down,
}

/// Reads a NumericDate. Fractions are allowed by RFC 7519 and rounded in the safe direction
/// (`iat` up, `exp` down); negative, non-finite and absurd values are malformed.
fn numeric_date(claims: &Map<String, Value>, name: &str, r: Rounding) -> Result<i64, String> {
    let v = claims
        .get(name)
        .ok_or_else(|| format!("{name} is missing"))?;
    let n = v
        .as_number()
        .ok_or_else(|| format!("{name} is not a number"))?;
    let t = if let Some(i) = n.as_i64() {
        i
    } else if let Some(f) = n.as_f64() {
        if !f.is_finite() || f < 0.0 || f > MAX_NUMERIC_DATE as f64 {
            return Err(format!("{name} {f} is not a usable NumericDate"));
        }
        match r {
            Rounding::Up => f.ceil() as i64,
            Rounding::Down => f.floor() as i64,
        }
    } else {
        return Err(format!("{name} is out of range"));
    };
    if !(0..=MAX_NUMERIC_DATE).contains(&t) {
        return Err(format!("{name} {t} is not a usable NumericDate"));
    }
    Ok(t)
}

fn check_crit(claims: &Map<String, Value>, understood: &[String]) -> Result<(), String> {
    let Some(v) = claims.get("crit") else {
        return Ok(());
    };
    let arr = v.as_array().ok_or("crit is not an array")?;
    if arr.is_empty() {
        return Err("crit must not be empty".into());
    }
    let mut seen = HashSet::new();
    for c in arr {
        let c = c.as_str().ok_or("crit contains a non-string")?;
        if !seen.insert(c) {
            return Err(format!("crit lists {c:?} twice"));
        }
        if SPEC_CLAIMS.contains(&c) {
            return Err(format!(
                "crit lists {c:?}, a claim this specification defines"
            ));
        }
        if !claims.contains_key(c) {
            return Err(format!(
                "crit lists {c:?}, which the statement does not contain"
            ));
        }
        if !understood.iter().any(|u| u == c) {
            return Err(format!("critical claim {c:?} is not understood"));
        }
    }
    Ok(())
}

/// `metadata`: an object of Entity Type → object, with no `null` parameter values (§5).
pub(crate) fn check_metadata(m: &Value) -> Result<(), String> {
    let types = m.as_object().ok_or("metadata is not an object")?;
    for (t, params) in types {
        let params = params
            .as_object()
            .ok_or_else(|| format!("metadata for {t} is not an object"))?;
        if let Some((p, _)) = params.iter().find(|(_, v)| v.is_null()) {
            return Err(format!("metadata {t}.{p} is null"));
        }
    }
    Ok(())
}

fn id_array(v: &Value, allow_http: bool) -> Result<Vec<EntityId>, String> {
    let arr = v.as_array().ok_or("not an array")?;
    if arr.is_empty() {
        return Err("must not be an empty array".into());
    }
    arr.iter()
        .map(|x| {
            let s = x.as_str().ok_or("contains a non-string")?;
            EntityId::parse_with(s, allow_http)
                .map_err(|e| format!("{s:?} is not an Entity Identifier: {e}"))
        })
        .collect()
}

fn trust_mark_entries(v: &Value) -> Result<Vec<TrustMarkEntry>, String> {
    let arr = v.as_array().ok_or("trust_marks is not an array")?;
    let mut out = Vec::with_capacity(arr.len());
    for (i, e) in arr.iter().enumerate() {
        let o = e
            .as_object()
            .ok_or_else(|| format!("trust_marks[{i}] is not an object"))?;
        let declared = o
            .get("trust_mark_type")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("trust_marks[{i}].trust_mark_type missing"))?;
        let jwt = o
            .get("trust_mark")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("trust_marks[{i}].trust_mark missing"))?;
        // Syntax only (§3.2 step 20): the type inside the JWT must be the declared one.
        let inner = CompactJws::parse(jwt)
            .map_err(|e| format!("trust_marks[{i}].trust_mark: {e}"))
            .and_then(|j| {
                parse_strict(j.payload()).map_err(|e| format!("trust_marks[{i}]: {}", e.0))
            })?;
        let inner_type = inner.get("trust_mark_type").and_then(Value::as_str);
        if inner_type != Some(declared) {
            return Err(format!(
                "trust_marks[{i}] declares type {declared:?} but its JWT says {inner_type:?}"
            ));
        }
        out.push(TrustMarkEntry {
            trust_mark_type: declared.to_string(),
            trust_mark: jwt.to_string(),
        });
    }
    Ok(out)
}

fn check_trust_mark_issuers(v: &Value, allow_http: bool) -> Result<(), String> {
    let o = v.as_object().ok_or("not an object")?;
    for (t, issuers) in o {
        let arr = issuers
            .as_array()
            .ok_or_else(|| format!("issuers of {t} is not an array"))?;
        for i in arr {
            let s = i
                .as_str()
                .ok_or_else(|| format!("issuer of {t} is not a string"))?;
            EntityId::parse_with(s, allow_http).map_err(|e| format!("issuer {s:?} of {t}: {e}"))?;
        }
    }
    Ok(())
}

fn check_trust_mark_owners(v: &Value, allow_http: bool) -> Result<(), String> {
    let o = v.as_object().ok_or("not an object")?;
    for (t, owner) in o {
        let owner = owner
            .as_object()
            .ok_or_else(|| format!("owner of {t} is not an object"))?;
        let sub = owner
            .get("sub")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("owner of {t} has no sub"))?;
        EntityId::parse_with(sub, allow_http).map_err(|e| format!("owner {sub:?} of {t}: {e}"))?;
        let jwks = owner
            .get("jwks")
            .ok_or_else(|| format!("owner of {t} has no jwks"))?;
        KeySet::from_json(jwks).map_err(|e| format!("owner of {t}: {e}"))?;
    }
    Ok(())
}

/// The standard policy operators, which `metadata_policy_crit` must not list (one list,
/// owned by the policy module).
pub const STANDARD_OPERATORS: &[&str] = &crate::policy::STANDARD_OPERATOR_ORDER;

fn check_policy_crit(v: &Value, understood: &[String]) -> Result<(), String> {
    let arr = v.as_array().ok_or("metadata_policy_crit is not an array")?;
    if arr.is_empty() {
        return Err("metadata_policy_crit must not be empty".into());
    }
    for op in arr {
        let op = op
            .as_str()
            .ok_or("metadata_policy_crit contains a non-string")?;
        if STANDARD_OPERATORS.contains(&op) {
            return Err(format!(
                "metadata_policy_crit lists the standard operator {op:?}"
            ));
        }
        if !understood.iter().any(|u| u == op) {
            return Err(format!("critical policy operator {op:?} is not supported"));
        }
    }
    Ok(())
}
