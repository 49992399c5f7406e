//! Why a client's request was refused: one variant per check of a Request Object
//! (§12.1.1.1), a client assertion (§12.1.4, RFC 7523), an Explicit Registration request
//! (§12.2) or a resolve response (§8.3.2), each with the error code it is answered with.

use crate::entity_id::EntityId;
use crate::jose::JoseError;
use crate::json::JsonError;
use crate::statement::Rule;

use super::{Error, ErrorCode};

/// A request check that failed. [`RequestError::code`] is the error code to answer with.
///
/// ```
/// use oidfed::error::{ErrorCode, RequestError};
/// let e = RequestError::Replayed { jti: "j-1".into() };
/// assert_eq!(e.code(), ErrorCode::InvalidClient);
/// assert_eq!(RequestError::SubInRequestObject.code(), ErrorCode::InvalidRequest);
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The JWT is not a compact JWS within the size limit.
    #[error("{0}")]
    Jws(Box<JoseError>),
    /// The JWT's payload is not a JSON object.
    #[error("{0}")]
    Payload(JsonError),
    /// The header has no `alg`.
    #[error("alg missing")]
    AlgMissing,
    /// The `alg` is not one of the accepted asymmetric algorithms.
    #[error("alg {alg:?} is not an accepted asymmetric algorithm")]
    AlgNotAccepted {
        /// The `alg` given.
        alg: String,
    },
    /// A header that would name its own key (`jwk`, `jku`, `x5u`, `x5c`) or `crit`.
    #[error("the {header} header is not accepted")]
    HeaderNotAccepted {
        /// The header.
        header: &'static str,
    },
    /// A required header or claim is absent (or not of its type: `exp` not an integer).
    #[error("{name} missing{}", if *name == "exp" { " or not an integer" } else { "" })]
    Missing {
        /// The header or claim (`kid`, `client_id`, `iss`, `jti`, `exp`…).
        name: &'static str,
    },
    /// A Request Object's `typ` is not `oauth-authz-req+jwt`.
    #[error("typ {typ} is not oauth-authz-req+jwt")]
    WrongTyp {
        /// The `typ` given.
        typ: String,
    },
    /// A Request Object's `iss` is not its `client_id`.
    #[error("iss must equal client_id")]
    IssNotClientId,
    /// A Request Object contains `sub` (§12.1.1.1).
    #[error("a Request Object must not contain sub (§12.1.1.1)")]
    SubInRequestObject,
    /// A client assertion's `sub` is not its `iss` (RFC 7523 §3).
    #[error("sub must equal iss")]
    SubNotIss,
    /// `aud` does not name this server (exactly, for a Request Object and a registration).
    #[error("aud must be {expected}")]
    WrongAudience {
        /// The audience expected.
        expected: String,
    },
    /// The token expired (`exp` plus the clock skew is past).
    #[error("expired at {exp}")]
    Expired {
        /// Its `exp`.
        exp: i64,
    },
    /// `exp` is further away than the policy's longest lifetime.
    #[error("exp is more than {max_lifetime} s away")]
    LifetimeTooLong {
        /// The longest lifetime accepted, in seconds.
        max_lifetime: i64,
    },
    /// `iat` is not an integer.
    #[error("iat is not an integer")]
    IatNotInteger,
    /// `iat` is in the future (beyond the clock skew).
    #[error("iat is in the future")]
    IatInFuture,
    /// A `trust_chain` or `peer_trust_chain` header is not an array of strings.
    #[error("{header} is not an array of strings")]
    MalformedChainHeader {
        /// The header.
        header: String,
    },
    /// `peer_trust_chain` without `trust_chain` (§12.1.1.1.1, §12.2.1).
    #[error("peer_trust_chain without trust_chain")]
    PeerChainWithoutChain,
    /// The `trust_chain` header is another entity's chain.
    #[error("the trust_chain starts at {starts_at}, not at the client")]
    ChainNotForClient {
        /// The entity it starts at.
        starts_at: EntityId,
    },
    /// The `peer_trust_chain` does not start at this server.
    #[error("peer_trust_chain starts at {starts_at}, not at this server")]
    PeerChainNotForServer {
        /// The entity it starts at.
        starts_at: EntityId,
    },
    /// The `peer_trust_chain` does not validate.
    #[error("peer_trust_chain does not validate{}", source.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    PeerChainInvalid {
        /// Why, when known.
        source: Option<Box<Error>>,
    },
    /// `trust_chain` and `peer_trust_chain` end at different Trust Anchors (MUST,
    /// §12.1.1.1.1, §12.2.2 step 6).
    #[error("trust_chain and peer_trust_chain must end at the same trust anchor")]
    AnchorMismatch,
    /// The client's keys cannot be read.
    #[error("the client's keys: {0}")]
    ClientKeys(Box<JoseError>),
    /// The signature does not verify with the client's keys (`invalid_client`).
    #[error("{what}: {source}")]
    Signature {
        /// What was verified (`request object`, `client assertion`…).
        what: String,
        /// Why.
        source: Box<JoseError>,
    },
    /// The `jti` was used before (`invalid_client`).
    #[error("jti {jti:?} was already used")]
    Replayed {
        /// The `jti`.
        jti: String,
    },
    /// An Explicit Registration body of an unsupported media type (§12.2.1).
    #[error("unsupported content type {content_type:?}")]
    UnsupportedContentType {
        /// The `Content-Type` given.
        content_type: String,
    },
    /// The body is not UTF-8.
    #[error("the body is not UTF-8")]
    NotUtf8,
    /// An Explicit Registration body that is not an Entity Configuration.
    #[error("the body is not an Entity Configuration")]
    NotEntityConfiguration,
    /// An Explicit Registration request without `authority_hints` (§12.2.1).
    #[error("authority_hints is required in a registration request")]
    AuthorityHintsMissing,
    /// A `trust-chain+json` body that is not a JSON array of statements.
    #[error("the body is not a JSON array of statements: {detail}")]
    NotAChain {
        /// The parser's message.
        detail: String,
    },
    /// The deployment's metadata decision refused the client's metadata
    /// (`invalid_client_metadata`, RFC 7591 §3.2.2).
    #[error("invalid_client_metadata: {reason}")]
    MetadataRefused {
        /// The decision's reason.
        reason: String,
    },
    /// A resolve response (§8.3.2) from a remote resolver is not acceptable.
    #[error("resolve response: {0}")]
    ResolveResponse(ResponseProblem),
}

/// What is wrong with a resolve response (§8.3.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseProblem {
    /// The answer is not UTF-8.
    #[error("the answer is not UTF-8")]
    NotUtf8,
    /// The answer is not a JWS, its header is refused, or it does not verify.
    #[error("{0}")]
    Jws(Box<JoseError>),
    /// The payload is not a JSON object.
    #[error("{0}")]
    Payload(JsonError),
    /// `iss` is not the resolver.
    #[error("iss is not the resolver")]
    WrongIssuer,
    /// `sub` is not the subject asked about.
    #[error("sub is not the subject asked about")]
    WrongSubject,
    /// `iat` or `exp` is not a usable NumericDate.
    #[error("{detail}")]
    MalformedDate {
        /// What is wrong with it.
        detail: String,
    },
    /// The answer is not valid now: issued in the future ([`Rule::IssuedAt`]) or expired
    /// ([`Rule::Expiry`]).
    #[error("the answer: {detail}")]
    NotValidNow {
        /// The time rule broken.
        rule: Rule,
        /// The times compared.
        detail: String,
    },
    /// No metadata of the Entity Type asked for.
    #[error("no {entity_type} metadata in the answer")]
    NoMetadata {
        /// The Entity Type.
        entity_type: String,
    },
    /// No `trust_chain` claim.
    #[error("trust_chain missing")]
    TrustChainMissing,
    /// The `trust_chain` header is not a non-empty array.
    #[error("the trust_chain header is not a non-empty array")]
    HeaderChainMalformed,
    /// The `trust_chain` header does not start at the resolver.
    #[error("the trust_chain header does not start at the resolver")]
    HeaderChainNotFromResolver,
    /// The `trust_chain` header ends elsewhere than the anchor asked for.
    #[error("the trust_chain header ends at {}, not at the requested anchor {anchor}", ends_at.as_deref().unwrap_or("an unreadable statement"))]
    HeaderChainWrongAnchor {
        /// Where it ends, when readable.
        ends_at: Option<String>,
        /// The anchor asked for.
        anchor: String,
    },
}

impl RequestError {
    /// The error code to answer with: `invalid_client` for a signature that does not verify
    /// with the client's keys and a replayed `jti`, `invalid_client_metadata` for refused
    /// metadata, otherwise `invalid_request`.
    pub fn code(&self) -> ErrorCode {
        match self {
            RequestError::Signature { .. } | RequestError::Replayed { .. } => {
                ErrorCode::InvalidClient
            }
            RequestError::MetadataRefused { .. } => ErrorCode::InvalidClientMetadata,
            _ => ErrorCode::InvalidRequest,
        }
    }
}

impl From<RequestError> for Error {
    fn from(reason: RequestError) -> Self {
        Error::InvalidRequest { reason }
    }
}
