//! The errors a resolution can end in. Every error says which statement (issuer → subject),
//! which entity and which rule; whether retrying can help ([`Error::is_transient`]); and the
//! specification's error code for it ([`Error::spec_code`], §8.9).

use std::fmt;

mod code;
mod config;
mod request;

pub use code::ErrorCode;
pub use config::{ConfigError, ReplayGuardProblem};
pub use request::{RequestError, ResponseProblem};

use crate::entity_id::{EntityId, EntityIdError};
use crate::fetch::FetchError;
use crate::statement::{Rule, StatementError};

/// A limit of the resolver that a resolution ran into. See the builder for the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// Statements in one chain.
    ChainDepth,
    /// `authority_hints` read per entity.
    AuthorityHints,
    /// Fetches in one resolution.
    Fetches,
    /// Candidate chains kept.
    CandidateChains,
    /// Time for a whole resolution.
    ResolutionTime,
    /// Trust marks examined per entity.
    TrustMarks,
    /// Elements of a chain handed over whole.
    ChainLength,
    /// Path hops tried in one resolution (shared fetches included).
    PathSteps,
    /// Elements of one array in `metadata` or `metadata_policy`.
    ValueArrayLength,
    /// Bytes of one string in `metadata` or `metadata_policy`.
    ValueStringLength,
    /// Words of one `scope` string in `metadata` or `metadata_policy`.
    ScopeWords,
    /// Resolutions running at once on one resolver: no turn came before the deadline.
    ConcurrentResolutions,
    /// Bytes of a request body (an Explicit Registration request).
    RequestBody,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::ChainDepth => "max_chain_depth",
            Limit::AuthorityHints => "max_authority_hints",
            Limit::Fetches => "max_fetches_per_resolution",
            Limit::CandidateChains => "max_candidate_chains",
            Limit::ResolutionTime => "resolution_timeout",
            Limit::TrustMarks => "max_trust_marks",
            Limit::ChainLength => "max_chain_length",
            Limit::PathSteps => "max_path_steps",
            Limit::ValueArrayLength => "max_value_array_len",
            Limit::ValueStringLength => "max_value_string_len",
            Limit::ScopeWords => "max_scope_words",
            Limit::ConcurrentResolutions => "max_concurrent_resolutions",
            Limit::RequestBody => "max_request_body_bytes",
        })
    }
}

/// One path the resolver tried, from the subject upwards, and why it failed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PathAttempt {
    /// Entity identifiers from the subject to where the path ended.
    pub path: Vec<EntityId>,
    /// Why this path gave no valid chain.
    pub error: Error,
}

impl fmt::Display for PathAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path: Vec<&str> = self.path.iter().map(EntityId::as_str).collect();
        write!(f, "[{}]: {}", path.join(" → "), self.error)
    }
}

/// Why a resolution or validation failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A string given as an Entity Identifier is not one.
    #[error("{value:?} is not an Entity Identifier: {source}")]
    EntityId {
        /// The string.
        value: String,
        /// Why.
        source: EntityIdError,
    },
    /// A statement broke a rule of the specification.
    #[error(transparent)]
    Statement(Box<StatementError>),
    /// A document could not be fetched.
    #[error("fetching {what} for {entity}: {source}")]
    Fetch {
        /// The entity the document was about.
        entity: EntityId,
        /// What was being fetched.
        what: &'static str,
        /// Why it failed.
        source: FetchError,
    },
    /// The chain's metadata policy is malformed or cannot be combined, or the metadata does
    /// not comply with it (§6.1).
    #[error("metadata policy for {subject} (chain via {via}): {source}")]
    Policy {
        /// The chain subject.
        subject: EntityId,
        /// The statement that introduced the problem (issuer → subject), or the chain.
        via: String,
        /// [`ErrorCode::InvalidMetadata`] or [`ErrorCode::InvalidPolicy`].
        code: ErrorCode,
        /// What was wrong: its kind, entity type, parameter and operator.
        source: Box<crate::policy::PolicyError>,
    },
    /// No path from the subject reached a configured Trust Anchor with a valid chain.
    #[error("no valid trust chain from {subject} to a configured trust anchor ({} path(s) tried){}", attempts.len(), fmt_attempts(attempts))]
    NoTrustChain {
        /// The subject.
        subject: EntityId,
        /// Every path tried, and why each failed.
        attempts: Vec<PathAttempt>,
    },
    /// A chain handed over whole ends at an entity that is not a configured Trust Anchor.
    #[error("{anchor} is not a configured trust anchor")]
    UntrustedAnchor {
        /// The entity at the top of the chain.
        anchor: String,
    },
    /// The resolved metadata has no entry for the requested Entity Type (absent from the
    /// subject's configuration, or removed by `allowed_entity_types`, §6.2.3).
    #[error("{subject} has no {entity_type} metadata in the chain via {anchor}{}", if *removed_by_constraint { " (removed by allowed_entity_types)" } else { "" })]
    EntityTypeNotFound {
        /// The subject.
        subject: EntityId,
        /// The Entity Type asked for.
        entity_type: String,
        /// The anchor of the chain looked at.
        anchor: EntityId,
        /// Whether an `allowed_entity_types` constraint removed it.
        removed_by_constraint: bool,
    },
    /// A configured limit was reached.
    #[error("limit {limit} = {value} reached{}", context.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
    LimitExceeded {
        /// Which limit.
        limit: Limit,
        /// Its configured value.
        value: u64,
        /// Where it was reached.
        context: Option<String>,
    },
    /// The client has no accountable organization that a superior asserts, and the
    /// resolver requires one.
    #[error("{client_id}: no accountable organization: {reason}")]
    OrganizationNotBound {
        /// The client.
        client_id: EntityId,
        /// Why.
        reason: String,
    },
    /// A trust mark the resolver requires is missing or invalid.
    #[error("{subject}: required trust mark {trust_mark_type:?} is {reason}")]
    TrustMarkRequired {
        /// The subject.
        subject: EntityId,
        /// The required type.
        trust_mark_type: String,
        /// Missing, or the mark that was refused and why.
        reason: RequiredMarkProblem,
    },
    /// A request (request object, client assertion, registration request) is malformed
    /// or breaks a rule of §12.
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// The check that failed; [`RequestError::code`] is its error code.
        reason: RequestError,
    },
    /// A client's request is not signed by one of its keys, or was replayed.
    #[error("{client_id}: {reason}")]
    InvalidClient {
        /// The client.
        client_id: String,
        /// The check that failed.
        reason: RequestError,
    },
    /// The resolver's configuration is unusable.
    #[error("configuration: {0}")]
    Config(ConfigError),
    /// A step of the walk ended without a result: it panicked (a bug, or a panicking
    /// `Fetcher`) or was cancelled. Recorded as the failure of the path it was extending,
    /// so that a failed search still lists every path tried.
    #[error("the step to {entity} ended without a result: {detail}")]
    StepFailed {
        /// The superior the step was fetching.
        entity: EntityId,
        /// What happened.
        detail: String,
    },
    /// The client registry refused a client or failed (`oidfed::registry`).
    #[error(transparent)]
    Registry(Box<crate::registry::RegistryError>),
}

/// Why a trust mark the resolver requires was not found valid.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequiredMarkProblem {
    /// The subject holds no trust mark of the type.
    Missing,
    /// The subject's mark of the type was refused: which, by whom, and why.
    Invalid(Box<crate::trust_mark::RejectedTrustMark>),
}

impl fmt::Display for RequiredMarkProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequiredMarkProblem::Missing => f.write_str("missing"),
            RequiredMarkProblem::Invalid(r) => write!(f, "invalid: {}", r.reason),
        }
    }
}

fn fmt_attempts(a: &[PathAttempt]) -> String {
    let mut s = String::new();
    for (i, attempt) in a.iter().enumerate().take(16) {
        s.push_str(&format!("\n  {}. {attempt}", i + 1));
    }
    if a.len() > 16 {
        s.push_str(&format!("\n  … and {} more", a.len() - 16));
    }
    s
}

impl From<StatementError> for Error {
    fn from(e: StatementError) -> Self {
        Error::Statement(Box::new(e))
    }
}

impl Error {
    /// Whether retrying later may succeed (network failures, timeouts, 5xx, a resolution
    /// that ran out of time or found no turn among the concurrent ones). Definitive failures (bad signatures, policy conflicts, 404s)
    /// are not transient. A failed search is transient when any path it tried failed
    /// transiently.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Fetch { source, .. } => source.is_transient(),
            Error::NoTrustChain { attempts, .. } => attempts.iter().any(|a| a.error.is_transient()),
            Error::LimitExceeded { limit, .. } => {
                matches!(limit, Limit::ResolutionTime | Limit::ConcurrentResolutions)
            }
            Error::Registry(e) => e.is_transient(),
            _ => false,
        }
    }

    /// The OpenID Federation error code for this failure (§8.9), for error responses: the
    /// text of [`Error::error_code`].
    pub fn spec_code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The error code for this failure (§8.9; OAuth's for request checks), for error
    /// responses.
    ///
    /// ```
    /// use oidfed::error::{Error, ErrorCode, RequestError};
    /// let e = Error::from(RequestError::SubInRequestObject);
    /// assert_eq!(e.error_code(), ErrorCode::InvalidRequest);
    /// assert_eq!(e.spec_code(), "invalid_request");
    /// ```
    pub fn error_code(&self) -> ErrorCode {
        use ErrorCode as C;
        match self {
            Error::EntityId { .. } => C::InvalidRequest,
            Error::Policy { code, .. } => *code,
            Error::Statement(e) if e.rule == Rule::Metadata => C::InvalidMetadata,
            Error::Statement(e) if e.rule == Rule::TrustAnchor => C::InvalidTrustAnchor,
            Error::UntrustedAnchor { .. } => C::InvalidTrustAnchor,
            Error::EntityTypeNotFound { .. } => C::InvalidMetadata,
            Error::Fetch { source, .. } if source.is_transient() => C::TemporarilyUnavailable,
            Error::Fetch { source, .. } if source.is_not_found() => C::NotFound,
            Error::NoTrustChain { attempts, .. } if self.is_transient() && !attempts.is_empty() => {
                C::TemporarilyUnavailable
            }
            // Every path failed for the same reason (e.g. the metadata breaks the policy on
            // each): that reason is the answer.
            Error::NoTrustChain { attempts, .. }
                if !attempts.is_empty()
                    && attempts
                        .iter()
                        .all(|a| a.error.error_code() == attempts[0].error.error_code()) =>
            {
                attempts[0].error.error_code()
            }
            Error::LimitExceeded {
                limit: Limit::RequestBody,
                ..
            } => C::InvalidRequest,
            Error::LimitExceeded {
                limit: Limit::ConcurrentResolutions,
                ..
            } => C::TemporarilyUnavailable,
            Error::LimitExceeded { .. } => C::InvalidTrustChain,
            Error::Config(_) | Error::StepFailed { .. } => C::ServerError,
            Error::OrganizationNotBound { .. } => C::InvalidClient,
            Error::TrustMarkRequired { .. } => C::InvalidTrustChain,
            Error::InvalidRequest { reason } => reason.code(),
            Error::InvalidClient { .. } => C::InvalidClient,
            Error::Registry(e) => e.error_code(),
            _ => C::InvalidTrustChain,
        }
    }

    /// The policy error behind this error, here or on the single path tried.
    pub fn policy_error(&self) -> Option<&crate::policy::PolicyError> {
        match self {
            Error::Policy { source, .. } => Some(source),
            Error::NoTrustChain { attempts, .. } if attempts.len() == 1 => {
                attempts[0].error.policy_error()
            }
            _ => None,
        }
    }

    /// The request check behind this error, if it is one.
    pub fn request_error(&self) -> Option<&RequestError> {
        match self {
            Error::InvalidRequest { reason } | Error::InvalidClient { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// The mis-configuration behind this error, if it is one.
    pub fn config_error(&self) -> Option<&ConfigError> {
        match self {
            Error::Config(e) => Some(e),
            _ => None,
        }
    }

    /// The key rule behind this error, when a key was refused for its material (a
    /// degenerate key: `e = 1`, a point off its curve…), here or on any path tried.
    pub fn key_error(&self) -> Option<&crate::jose::KeyError> {
        match self {
            Error::Statement(e) => e.key.as_deref(),
            Error::NoTrustChain { attempts, .. } => {
                attempts.iter().find_map(|a| a.error.key_error())
            }
            _ => None,
        }
    }

    /// The registry error behind this error, if it is one.
    pub fn registry_error(&self) -> Option<&crate::registry::RegistryError> {
        match self {
            Error::Registry(e) => Some(e),
            _ => None,
        }
    }

    /// The statement error behind this error, if it is one.
    pub fn statement_error(&self) -> Option<&StatementError> {
        match self {
            Error::Statement(e) => Some(e),
            _ => None,
        }
    }

    /// The rule broken, when the error is about a statement. For a failed search with a
    /// single attempt, the rule of that attempt.
    pub fn rule(&self) -> Option<Rule> {
        match self {
            Error::Statement(e) => Some(e.rule),
            Error::Policy { .. } => Some(Rule::Policy),
            Error::NoTrustChain { attempts, .. } if attempts.len() == 1 => attempts[0].error.rule(),
            _ => None,
        }
    }
}
