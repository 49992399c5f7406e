//! Why a Trust Mark, its delegation or a status response was refused (§7.3, §7.2.2, §8.4.2).

use crate::jose::JoseError;
use crate::statement::Rule;

/// Why a Trust Mark was refused. A delegation's or a status response's own problems are
/// [`TrustMarkError::Delegation`] and [`TrustMarkError::Status`] around the same variants.
///
/// ```
/// use oidfed::trust_mark::TrustMarkError;
/// let e = TrustMarkError::Delegation(Box::new(TrustMarkError::WrongSubject {
///     expected: "https://tmi.example".into(),
/// }));
/// assert_eq!(e.to_string(), "delegation: sub is not https://tmi.example");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustMarkError {
    /// Not a compact JWS, a refused header, or a signature that does not verify.
    #[error("{0}")]
    Jws(JoseError),
    /// The payload is not a JSON object.
    #[error("{detail}")]
    Payload {
        /// The parser's message.
        detail: String,
    },
    /// `iss` is missing or not an Entity Identifier.
    #[error("iss missing or not an Entity Identifier")]
    Issuer,
    /// `sub` is not the entity expected (the mark's subject; a delegation's: the issuer).
    #[error("sub is not {expected}")]
    WrongSubject {
        /// The entity expected.
        expected: String,
    },
    /// The pre-final names `trust_mark_id` and `id` name different types.
    #[error("trust_mark_id {trust_mark_id:?} and id {id:?} name different types")]
    TypeNamesDiffer {
        /// `trust_mark_id`.
        trust_mark_id: String,
        /// `id`.
        id: String,
    },
    /// `trust_mark_type` is not the type declared for the mark.
    #[error("trust_mark_type is not {declared:?}")]
    WrongType {
        /// The type declared.
        declared: String,
    },
    /// `ref` or `logo_uri` is not a URL.
    #[error("{claim} {value} is not a URL")]
    NotAUrl {
        /// The claim.
        claim: &'static str,
        /// Its value, as JSON.
        value: String,
    },
    /// `iat` or `exp` is not a usable NumericDate.
    #[error("{detail}")]
    MalformedDate {
        /// What is wrong with it.
        detail: String,
    },
    /// Issued in the future ([`Rule::IssuedAt`]) or expired ([`Rule::Expiry`]).
    #[error("{detail}")]
    NotValidNow {
        /// The time rule broken.
        rule: Rule,
        /// The times compared.
        detail: String,
    },
    /// The type has an owner but the mark carries no delegation (§7.2.2).
    #[error("the type has an owner but the mark carries no delegation")]
    DelegationMissing,
    /// The delegation is not issued by the type's owner.
    #[error("delegation: iss is not the owner {owner}")]
    NotByOwner {
        /// The owner.
        owner: String,
    },
    /// The delegation's `trust_mark_type` differs from the mark's.
    #[error("delegation: trust_mark_type differs from the mark's")]
    DelegatedTypeDiffers,
    /// The delegation is refused.
    #[error("delegation: {0}")]
    Delegation(Box<TrustMarkError>),
    /// The status response is refused (§8.4.2).
    #[error("status: {0}")]
    Status(Box<TrustMarkError>),
    /// A status response whose `trust_mark` is not the mark asked about.
    #[error("trust_mark is not the mark asked about")]
    OtherMark,
    /// A status response without `status`.
    #[error("no status")]
    NoStatus,
    /// The anchor does not recognise the type (`trust_mark_issuers`, §3.1.2).
    #[error("the trust anchor does not recognise the type {trust_mark_type:?}")]
    TypeNotRecognised {
        /// The type.
        trust_mark_type: String,
    },
    /// The issuer is not one the anchor accepts for the type.
    #[error("{issuer} is not an issuer the trust anchor accepts for {trust_mark_type:?}")]
    IssuerNotAccepted {
        /// The issuer.
        issuer: String,
        /// The type.
        trust_mark_type: String,
    },
    /// A `trust_mark_owners` entry without `sub` or `jwks`, or with unusable keys.
    #[error("trust_mark_owners entry: {detail}")]
    OwnerEntry {
        /// What is wrong with it.
        detail: String,
    },
}
