//! The rules of the specification a statement or chain can break ([`Rule`], each with the
//! section that states it) and the error that names the broken rule ([`StatementError`]).

use std::fmt;

use crate::profile::{Profile, Tolerance};

/// A rule of the specification that a statement or chain broke. Each rule knows where the
/// spec states it.
///
/// ```
/// use oidfed::statement::{EntityStatement, StatementRules};
/// use oidfed::Rule;
/// let e = EntityStatement::parse("not-a-jws", &StatementRules::default()).unwrap_err();
/// assert_eq!(e.rule, Rule::JwsSyntax);
/// assert_eq!(Rule::JwsSyntax.section(), "§3.2 step 1");
/// ```
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

/// Whether a statement's signature verifies, as found when the statement was refused for
/// another reason (so an operator can tell an old-draft statement from a forged one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SignatureCheck {
    /// It verifies with the keys that would have verified it (an Entity Configuration: its
    /// own `jwks`; a Subordinate Statement: its issuer's configuration keys). Those keys are
    /// self-published, not yet vouched for by a superior: this tells an old-draft statement
    /// from a garbled one, not an authentic statement from a forged one.
    Verified,
    /// It does not verify with those keys (or names a `kid` they do not have).
    Failed,
    /// Not checked: the keys were not known at that point, or the header (`alg`, `kid`)
    /// could not be trusted enough to try.
    #[default]
    NotChecked,
}

/// A statement that broke a rule: which statement (issuer → subject), which rule, and what
/// exactly was wrong. Issuer and subject are what the statement claimed, or what we asked
/// for when the statement could not be read that far.
///
/// When a fetched statement is refused for its syntax, the error also says whether its
/// signature verifies ([`StatementError::signature`]), whether it is expired
/// ([`StatementError::expired`]) and whether the interoperability profile would have
/// accepted it ([`StatementError::would_accept_under`], with the tolerances it would use).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("statement {} → {}: {rule}: {detail}{}", issuer.as_deref().unwrap_or("?"), subject.as_deref().unwrap_or("?"), self.diagnosis())]
#[non_exhaustive]
pub struct StatementError {
    /// The issuer, when known.
    pub issuer: Option<String>,
    /// The subject, when known.
    pub subject: Option<String>,
    /// The rule broken.
    pub rule: Rule,
    /// What was wrong.
    pub detail: String,
    /// Whether the signature verifies (syntax errors of fetched statements only).
    pub signature: SignatureCheck,
    /// Whether the statement is expired at the time of the resolution (`None`: not known).
    pub expired: Option<bool>,
    /// A profile under which the statement would have been accepted (parsed), if any.
    pub would_accept_under: Option<Profile>,
    /// The tolerances that profile would have used for it.
    pub tolerances: Vec<Tolerance>,
    /// When a key was refused for its material (a degenerate key, §3.2 step 12): which
    /// rule of the key it broke.
    pub key: Option<Box<crate::jose::KeyError>>,
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
            signature: SignatureCheck::NotChecked,
            expired: None,
            would_accept_under: None,
            tolerances: Vec::new(),
            key: None,
        }
    }

    fn diagnosis(&self) -> String {
        let mut parts = Vec::new();
        match self.signature {
            // Keys the statement's issuer published itself, not yet vouched for by a
            // superior: said so, lest "verifies" read as "authentic".
            SignatureCheck::Verified if self.issuer.is_some() && self.issuer == self.subject => {
                parts.push("self-signature verifies (keys not yet vouched for)".to_string())
            }
            SignatureCheck::Verified => {
                parts.push("signature verifies under the issuer's self-published keys".to_string())
            }
            SignatureCheck::Failed => parts.push("signature does NOT verify".to_string()),
            SignatureCheck::NotChecked => {}
        }
        match self.expired {
            Some(true) => parts.push("expired".into()),
            Some(false) => parts.push("not expired".into()),
            None => {}
        }
        if let Some(p) = self.would_accept_under {
            let t: Vec<&str> = self.tolerances.iter().map(|t| t.name()).collect();
            if t.is_empty() {
                parts.push(format!("the {p} profile would accept it"));
            } else {
                parts.push(format!(
                    "the {p} profile would accept it (tolerating {})",
                    t.join(", ")
                ));
            }
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" [{}]", parts.join("; "))
        }
    }

    /// The same error, naming the key rule behind it (from [`crate::jose::JoseError::InvalidKey`]).
    pub fn with_key_of(mut self, e: &crate::jose::JoseError) -> Self {
        if let crate::jose::JoseError::InvalidKey { reason, .. } = e {
            self.key = Some(Box::new(reason.clone()));
        }
        self
    }
}
