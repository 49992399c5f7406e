//! Entity Statements (OpenID Federation 1.0 §3): Entity Configurations (`iss == sub`) and
//! Subordinate Statements (`iss != sub`).
//!
//! [`EntityStatement::parse`] runs every check of §3.2 that needs no other statement and no
//! clock: JWS syntax, `typ`, `alg`, `kid`, required claims, claim placement (EC-only and
//! SS-only claims), `crit`, `null`-free metadata, well-formed hints, trust mark entries and
//! issuer/owner maps. Time ([`EntityStatement::check_time`]) and signatures
//! ([`EntityStatement::verify_with`]) are separate so the chain validator can do the cheap
//! checks for a whole chain before paying for any signature.
//!
//! Under an interoperability profile ([`crate::Profile`], [`StatementRules::tolerances`])
//! the parsed claims are first read through its tolerances (`tolerate`), each use recorded
//! as a [`crate::Deviation`]; every check above then runs on the result, and signatures on
//! the token as received. A refused statement's error says whether the profile would have
//! accepted it, and for a received one whether its signature verifies and whether it is
//! expired (`explain`).

pub(crate) mod claims;
mod explain;
mod rule;
mod tolerate;
mod trust_marks;
pub(crate) mod verified;

pub use claims::{MAX_NUMERIC_DATE, SPEC_CLAIMS, STANDARD_OPERATORS};
pub(crate) use claims::{
    Rounding, check_metadata, check_validity, numeric_date, optional_numeric_date,
};
pub use rule::{Rule, SignatureCheck, StatementError};
pub use trust_marks::TrustMarkEntry;

use std::fmt;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::constraints::Constraints;
use crate::entity_id::EntityId;
use crate::jose::{self, Alg, CompactJws, HeaderRules, JoseError, KeySet};
use crate::json::parse_strict;
use crate::profile::{Deviation, Tolerance, Tolerances};
use claims::{EC_ONLY, SS_ONLY, check_crit, check_policy_crit, entity_id_claim, id_array};
use trust_marks::{check_trust_mark_issuers, check_trust_mark_owners, trust_mark_entries};

/// The `typ` of every Entity Statement (§3).
pub const ENTITY_STATEMENT_TYP: &str = "entity-statement+jwt";

/// Which claims and headers a parse accepts. The defaults are the strict rules for fetched
/// statements.
#[derive(Debug, Clone)]
pub struct StatementRules {
    /// Accept `http` Entity Identifiers (loopback test federations only).
    pub allow_http: bool,
    /// Accept `application/entity-statement+jwt` and case variants as `typ` (RFC 7515 §4.1.9:
    /// media type names are case-insensitive and `application/` may be left out).
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
    /// Deviations from the final specification tolerated (default none: strict). See
    /// [`crate::Profile`].
    pub tolerances: Tolerances,
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
            tolerances: Tolerances::none(),
        }
    }
}

/// A parsed Entity Statement whose syntax and claim placement are valid. Time and signature
/// are checked separately.
///
/// ```
/// use oidfed::statement::{EntityStatement, StatementRules};
/// use oidfed::testing::FederationBuilder;
///
/// let fed = FederationBuilder::new("https://fed.example")
///     .anchor("ta")
///     .leaf("rp", &["ta"])
///     .build();
/// let rules = StatementRules::default();
/// let ec = EntityStatement::parse(&fed.entity_configuration("rp"), &rules).unwrap();
/// assert!(ec.is_configuration());
/// assert_eq!(ec.issuer(), &fed.id("rp"));
/// assert_eq!(ec.authority_hints(), &[fed.id("ta")]);
/// let ss = EntityStatement::parse(&fed.subordinate_statement("ta", "rp"), &rules).unwrap();
/// assert!(!ss.is_configuration());
/// assert_eq!((ss.issuer(), ss.subject()), (&fed.id("ta"), &fed.id("rp")));
/// // The signature is checked against the issuer's keys, separately.
/// assert!(!ss.jwks().is_empty());
/// ```
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
    /// `constraints` of an Entity Configuration, accepted by
    /// [`Tolerance::ConstraintsInConfiguration`].
    configuration_constraints: Option<Value>,
    /// Every tolerance this parse used.
    deviations: Vec<Deviation>,
    /// Thumbprints of the keys this signature already verified with: verifying the same
    /// statement with the same key material again costs nothing.
    verified: Arc<Mutex<Vec<String>>>,
    /// The resolver's memo of verified bytes, and these bytes' digest, when the statement
    /// was fetched by a resolver.
    memo: Option<(Arc<verified::VerifiedMemo>, verified::Digest)>,
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
        Self::parse_inner(token, rules).map_err(|e| explain::explain(e, token, rules, None))
    }

    /// [`EntityStatement::parse`] for a statement received from elsewhere (fetched, or in a
    /// chain handed over whole): when it is refused for its syntax,
    /// the error also says whether its signature verifies (an Entity Configuration with its
    /// own `jwks`; a Subordinate Statement with `issuer_keys`, its issuer's configuration
    /// keys, when known) and whether it is expired at `now` (with `skew` leeway), besides
    /// whether the interoperability profile would have accepted it.
    pub fn parse_fetched(
        token: &str,
        rules: &StatementRules,
        issuer_keys: Option<&KeySet>,
        now: i64,
        skew: i64,
    ) -> Result<Self, StatementError> {
        Self::parse_inner(token, rules)
            .map_err(|e| explain::explain(e, token, rules, Some((issuer_keys, now, skew))))
    }

    fn parse_inner(token: &str, rules: &StatementRules) -> Result<Self, StatementError> {
        let jws = CompactJws::parse_with_limit(token, rules.max_len)
            .map_err(|e| StatementError::new(None, None, Rule::JwsSyntax, e.to_string()))?;
        // The payload is read before the header is judged, so errors can name the statement.
        let mut claims = match parse_strict(jws.payload()) {
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
        let iss_owned = claims
            .get("iss")
            .and_then(Value::as_str)
            .map(str::to_string);
        let sub_owned = claims
            .get("sub")
            .and_then(Value::as_str)
            .map(str::to_string);
        let (iss_s, sub_s) = (iss_owned.as_deref(), sub_owned.as_deref());
        let err = |rule: Rule, detail: String| StatementError::new(iss_s, sub_s, rule, detail);
        // The tolerances of the profile read the claims; every check below runs on the result.
        let normalized = tolerate::normalize(
            &mut claims,
            iss_s.is_some() && iss_s == sub_s,
            rules.tolerances,
        )
        .map_err(|(rule, d)| err(rule, d))?;
        let claims = claims;

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
            Some(v) => {
                KeySet::from_json(v).map_err(|e| err(Rule::Jwks, e.to_string()).with_key_of(&e))?
            }
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
        let mut normalized = normalized;
        let trust_marks = match claims.get("trust_marks") {
            None => Vec::new(),
            Some(v) => {
                let tolerate = rules.tolerances.contains(Tolerance::PreFinalTrustMarkType);
                let (entries, notes) =
                    trust_mark_entries(v, tolerate).map_err(|d| err(Rule::TrustMarks, d))?;
                normalized.deviations.extend(
                    notes
                        .into_iter()
                        .map(|n| (Tolerance::PreFinalTrustMarkType, n)),
                );
                entries
            }
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
        for v in claims
            .get("constraints")
            .into_iter()
            .chain(normalized.configuration_constraints.as_ref())
        {
            Constraints::from_json(v).map_err(|d| err(Rule::Constraints, d.to_string()))?;
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
            configuration_constraints: normalized.configuration_constraints,
            deviations: normalized
                .deviations
                .into_iter()
                .map(|(t, what)| {
                    Deviation::new(iss_s.unwrap_or("?"), sub_s.unwrap_or("?"), t, what)
                })
                .collect(),
            verified: Arc::default(),
            memo: None,
        })
    }

    /// Attaches the resolver's memo of verified bytes: a verification of these exact bytes
    /// with the same key, by an earlier copy of this statement, is not repeated.
    pub(crate) fn with_memo(mut self, memo: Arc<verified::VerifiedMemo>) -> Self {
        let digest = verified::VerifiedMemo::digest(self.jws.raw());
        self.memo = Some((memo, digest));
        self
    }

    /// The SHA-256 of the token as received: the one computed when a resolver fetched it,
    /// else computed now.
    pub(crate) fn digest(&self) -> verified::Digest {
        match &self.memo {
            Some((_, d)) => *d,
            None => verified::VerifiedMemo::digest(self.jws.raw()),
        }
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

    /// `constraints` of an Entity Configuration, accepted only under
    /// [`Tolerance::ConstraintsInConfiguration`] (a Trust Anchor's apply to its chain).
    pub fn configuration_constraints(&self) -> Option<&Value> {
        self.configuration_constraints.as_ref()
    }

    /// The deviations from the final specification this statement needed, each tolerated by
    /// the profile it was parsed under (empty in strict mode).
    pub fn deviations(&self) -> &[Deviation] {
        &self.deviations
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
        check_validity(Some(self.iat), Some(self.exp), now, skew)
            .map_err(|(rule, detail)| self.error(rule, detail))
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
            if let Some((memo, digest)) = &self.memo {
                if k.usable_for(self.alg) && memo.contains(digest, t) {
                    if let Ok(mut v) = self.verified.lock() {
                        if v.len() < 8 {
                            v.push(t.clone());
                        }
                    }
                    return Ok(());
                }
            }
        }
        if let Some((memo, _)) = &self.memo {
            memo.count_check();
        }
        keys.verify(&self.jws, self.alg, &self.kid, whose)
            .map_err(|e| {
                let rule = match e {
                    JoseError::UnknownKid { .. } => Rule::Kid,
                    _ => Rule::Signature,
                };
                self.error(rule, e.to_string()).with_key_of(&e)
            })?;
        if let (Some(t), Some((memo, digest))) = (&thumb, &self.memo) {
            memo.insert(*digest, t.clone(), self.exp);
        }
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
