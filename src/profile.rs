//! Interoperability profiles: which deviations from the final OpenID Federation 1.0 text a
//! resolver tolerates, and the record of every deviation it tolerated ([`Deviation`]).
//!
//! Strict is the default. [`Profile::Interop`] switches on every [`Tolerance`] needed to
//! resolve federations deployed on pre-final drafts; each tolerance can also be switched on
//! alone ([`crate::ResolverBuilder::tolerate`]).
//!
//! A tolerance only changes how a statement's **parsed claims** are read. It never relaxes:
//! signatures (always verified on the exact bytes received) and `kid` matching, accepted
//! algorithms, key validity, `iat`/`exp`, the chain's `iss`/`sub` links and
//! `authority_hints`, the pinned Trust Anchor keys, metadata policy and its errors,
//! constraints that are present in their final form, and `crit`. A statement that a
//! tolerance lets through is still rejected for a bad signature or an expiry in the past.
//!
//! ```
//! use oidfed::{Profile, Tolerance, Tolerances};
//! assert_eq!(Profile::default(), Profile::Strict);
//! assert!(Profile::Strict.tolerances().is_empty());
//! let interop = Profile::Interop.tolerances();
//! assert!(interop.contains(Tolerance::PreFinalTrustMarkType));
//! let one = Tolerances::none().with(Tolerance::EmptyTrustMarkUrl);
//! assert_eq!(one.iter().collect::<Vec<_>>(), vec![Tolerance::EmptyTrustMarkUrl]);
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::statement::Rule;

/// A named set of tolerances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Profile {
    /// The final specification, nothing tolerated (the default).
    #[default]
    Strict,
    /// Every [`Tolerance`] in [`Tolerance::ALL`]: the deviations of federations deployed on
    /// pre-final drafts. Each one used is reported as a [`Deviation`].
    Interop,
}

impl Profile {
    /// The tolerances this profile switches on.
    pub fn tolerances(self) -> Tolerances {
        match self {
            Profile::Strict => Tolerances::none(),
            Profile::Interop => Tolerances::all(),
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::Strict => "strict",
            Profile::Interop => "interop",
        })
    }
}

/// One deviation from the final specification that a resolver can be told to tolerate.
/// Each definition says what is accepted, how it is read, and what it never relaxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Tolerance {
    /// **Accepted:** a trust mark whose type is named by the pre-final claim `trust_mark_id`
    /// (draft -42) or `id` (earlier), in an Entity Configuration's `trust_marks` entry or
    /// inside the Trust Mark JWT. **Read as:** `trust_mark_type`, only when
    /// `trust_mark_type` is absent (`trust_mark_id` preferred over `id`; both present with
    /// different values is an error). **Never relaxed:** the entry's type must still equal
    /// the JWT's; the mark's signature, issuer trust, recognition by the anchor and times. A
    /// delegation (§7.2.1) must name the type with `trust_mark_type`.
    PreFinalTrustMarkType,
    /// **Accepted:** `trust_marks` in a Subordinate Statement (§3.1.2 allows them only in
    /// Entity Configurations). **Read as:** absent: they are ignored and never used for
    /// trust. Trust marks are the subject's own claims (§7.3 evaluates those of the
    /// subject's configuration); a superior's copy would let the path chosen add marks the
    /// subject does not present. **Never relaxed:** nothing is read from them.
    TrustMarksInSubordinateStatement,
    /// **Accepted:** `authority_hints` in a Subordinate Statement. **Read as:** absent
    /// (ignored): the chain is discovered from, and its links checked against, the
    /// subject's own configuration only (§3.2 step 6). **Never relaxed:** the issuer of
    /// every Subordinate Statement must still be among the subject's own `authority_hints`.
    AuthorityHintsInSubordinateStatement,
    /// **Accepted:** `constraints` in an Entity Configuration. **Read as:** when the
    /// configuration is the chain's Trust Anchor's, its constraints apply as if the Subordinate
    /// Statement the anchor issued in that chain carried them, in addition to that
    /// statement's own constraints (each checked on its own, so this can only reject more).
    /// In any other configuration they are ignored (a configuration does not constrain the
    /// chain; only an anchor's can speak for the whole federation below it). Their syntax is
    /// checked as in a Subordinate Statement. A chain handed over whole without the anchor's
    /// configuration carries none of them (strict mode reads none either). **Never
    /// relaxed:** the constraints of every Subordinate Statement.
    ConstraintsInConfiguration,
    /// **Accepted:** an object-valued claim (`metadata`, `metadata_policy`, `constraints`,
    /// `trust_mark_issuers`) serialized as a JSON string holding an object, e.g. `"{}"`.
    /// **Read as:** that object, parsed with the same strict JSON rules as the payload (no
    /// duplicate members, bounded depth); a string that does not hold an object is left as
    /// is and rejected. **Never relaxed:** claims carrying keys (`jwks`,
    /// `trust_mark_owners`) are never read from a string; the object is then checked as if it
    /// had been sent as one.
    ObjectClaimAsString,
    /// **Accepted:** the pre-final constraint `allowed_leaf_entity_types` (renamed in -34).
    /// **Read as:** `allowed_entity_types` (which now applies to every subordinate), only
    /// when `allowed_entity_types` is absent; both present is an error. **Never relaxed:**
    /// strict mode refuses the pre-final name rather than silently dropping the restriction
    /// it expresses; read under its final name it restricts exactly as the final constraint.
    PreFinalAllowedLeafEntityTypes,
    /// **Accepted:** the misspelt (pre-final) `trust_marks_issuers` in an Entity
    /// Configuration. **Read as:** ignored when `trust_mark_issuers` is present (the final
    /// claim wins, as strict mode does); alone, read as `trust_mark_issuers`: the anchor's
    /// own signed list of accepted issuers, so marks of types it lists are recognised only
    /// from the issuers it names. **Never relaxed:** recognition, mark signatures and issuer
    /// trust chains.
    MisspeltTrustMarksIssuers,
    /// **Accepted:** an empty string where a Trust Mark carries a URL (`ref`, `logo_uri`).
    /// **Read as:** absent. **Never relaxed:** a non-empty value must be a URL; the mark's
    /// signature and times.
    EmptyTrustMarkUrl,
}

impl Tolerance {
    /// Every tolerance, in a fixed order (what [`Profile::Interop`] switches on).
    pub const ALL: [Tolerance; 8] = [
        Tolerance::PreFinalTrustMarkType,
        Tolerance::TrustMarksInSubordinateStatement,
        Tolerance::AuthorityHintsInSubordinateStatement,
        Tolerance::ConstraintsInConfiguration,
        Tolerance::ObjectClaimAsString,
        Tolerance::PreFinalAllowedLeafEntityTypes,
        Tolerance::MisspeltTrustMarksIssuers,
        Tolerance::EmptyTrustMarkUrl,
    ];

    /// A stable snake_case name (as serialized).
    pub fn name(self) -> &'static str {
        match self {
            Tolerance::PreFinalTrustMarkType => "pre_final_trust_mark_type",
            Tolerance::TrustMarksInSubordinateStatement => "trust_marks_in_subordinate_statement",
            Tolerance::AuthorityHintsInSubordinateStatement => {
                "authority_hints_in_subordinate_statement"
            }
            Tolerance::ConstraintsInConfiguration => "constraints_in_configuration",
            Tolerance::ObjectClaimAsString => "object_claim_as_string",
            Tolerance::PreFinalAllowedLeafEntityTypes => "pre_final_allowed_leaf_entity_types",
            Tolerance::MisspeltTrustMarksIssuers => "misspelt_trust_marks_issuers",
            Tolerance::EmptyTrustMarkUrl => "empty_trust_mark_url",
        }
    }

    /// The rule of the final specification a strict resolver applies instead. For
    /// [`Tolerance::ObjectClaimAsString`] strict mode reports the claim's own rule
    /// (`Metadata`, `MetadataPolicy`, `Constraints`, …); this returns `RequiredClaim` (a claim
    /// of the wrong type, §3.1.1). For [`Tolerance::MisspeltTrustMarksIssuers`] strict mode
    /// refuses no statement: it ignores the unknown claim, so the anchor recognises no mark
    /// through it (`TrustMarkIssuers`).
    pub fn strict_rule(self) -> Rule {
        match self {
            Tolerance::PreFinalTrustMarkType => Rule::TrustMarks,
            Tolerance::TrustMarksInSubordinateStatement
            | Tolerance::AuthorityHintsInSubordinateStatement
            | Tolerance::ConstraintsInConfiguration => Rule::ClaimPlacement,
            Tolerance::ObjectClaimAsString => Rule::RequiredClaim,
            Tolerance::PreFinalAllowedLeafEntityTypes => Rule::Constraints,
            Tolerance::MisspeltTrustMarksIssuers => Rule::TrustMarkIssuers,
            Tolerance::EmptyTrustMarkUrl => Rule::TrustMarks,
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of [`Tolerance`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Tolerances(u16);

impl Tolerances {
    /// No tolerance (strict).
    pub const fn none() -> Self {
        Tolerances(0)
    }

    /// Every tolerance.
    pub fn all() -> Self {
        Tolerance::ALL.iter().fold(Self::none(), |s, t| s.with(*t))
    }

    /// This set and `t`.
    #[must_use]
    pub fn with(self, t: Tolerance) -> Self {
        Tolerances(self.0 | t.bit())
    }

    /// This set and every tolerance of `other`.
    #[must_use]
    pub fn union(self, other: Tolerances) -> Self {
        Tolerances(self.0 | other.0)
    }

    /// Whether `t` is in the set.
    pub fn contains(self, t: Tolerance) -> bool {
        self.0 & t.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The tolerances in the set, in [`Tolerance::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Tolerance> {
        Tolerance::ALL
            .into_iter()
            .filter(move |t| self.contains(*t))
    }
}

impl FromIterator<Tolerance> for Tolerances {
    fn from_iter<I: IntoIterator<Item = Tolerance>>(iter: I) -> Self {
        iter.into_iter().fold(Self::none(), Tolerances::with)
    }
}

/// A deviation from the final specification that a resolution tolerated: which statement
/// (issuer → subject; for a Trust Mark, its `iss` → `sub`), which tolerance, and what exactly
/// was accepted and how it was read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Deviation {
    /// The statement's (or trust mark's) issuer.
    pub issuer: String,
    /// The statement's (or trust mark's) subject.
    pub subject: String,
    /// The tolerance used.
    pub tolerance: Tolerance,
    /// What was accepted and how it was read.
    pub accepted: String,
}

impl Deviation {
    /// A deviation of the statement `issuer` → `subject`.
    pub fn new(
        issuer: impl Into<String>,
        subject: impl Into<String>,
        tolerance: Tolerance,
        accepted: impl Into<String>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            subject: subject.into(),
            tolerance,
            accepted: accepted.into(),
        }
    }
}

impl fmt::Display for Deviation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} → {}: {} (strict: {}): {}",
            self.issuer,
            self.subject,
            self.tolerance,
            self.tolerance.strict_rule(),
            self.accepted
        )
    }
}

/// The type a Trust Mark or `trust_marks` entry names: `trust_mark_type`, or, when it is
/// absent and [`Tolerance::PreFinalTrustMarkType`] is on, `trust_mark_id` or `id`. Returns
/// the type and the pre-final claim it was read from, `Ok(None)` when none is there, and an
/// error when both pre-final names are present with different values.
pub(crate) fn trust_mark_type_claim(
    o: &serde_json::Map<String, serde_json::Value>,
    tolerate: bool,
) -> Result<Option<(&str, Option<&'static str>)>, crate::trust_mark::TrustMarkError> {
    if let Some(t) = o.get("trust_mark_type") {
        return Ok(t.as_str().map(|t| (t, None)));
    }
    if !tolerate {
        return Ok(None);
    }
    let old = |name: &str| o.get(name).and_then(serde_json::Value::as_str);
    match (old("trust_mark_id"), old("id")) {
        (Some(a), Some(b)) if a != b => Err(crate::trust_mark::TrustMarkError::TypeNamesDiffer {
            trust_mark_id: a.to_string(),
            id: b.to_string(),
        }),
        (Some(a), _) => Ok(Some((a, Some("trust_mark_id")))),
        (None, Some(b)) => Ok(Some((b, Some("id")))),
        (None, None) => Ok(None),
    }
}
