//! Refusals of the registration endpoint: the error codes of RFC 7591 §3.2.2 (and the
//! `invalid_token` answer of RFC 7592 §2), each naming the rule that was broken.

use std::fmt;

use serde_json::{Value, json};

/// The rule a registration request broke. Tests and operators match on it; the
/// description of the error says the details.
///
/// ```
/// use oidfed::server::dcr::{DcrError, DcrRule, RegistrationRequest};
/// let e = RegistrationRequest::parse(b"[1, 2]", 1024).unwrap_err();
/// assert_eq!(e.rule(), Some(DcrRule::RequestMalformed));
/// let e = DcrError::invalid_statement(DcrRule::StatementMissing, "no software_statement");
/// assert_eq!((e.rule(), e.code()), (Some(DcrRule::StatementMissing), "invalid_software_statement"));
/// assert!(e.description().contains("no software_statement"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DcrRule {
    /// The request body is not a JSON object of the right shape (RFC 7591 §3.1).
    RequestMalformed,
    /// No `software_statement`: this endpoint registers only clients an organization or a
    /// directory vouches for (RFC 7591 §2.3, §3.1.1).
    StatementMissing,
    /// The software statement is not a signed JWT with a JSON object as claims (§2.3).
    StatementMalformed,
    /// `alg` not on the allow-list, or a header that carries keys or `crit`.
    StatementAlgorithm,
    /// `kid` missing, or not one of the keys the issuer's chain (or the directory's
    /// configuration) asserts.
    StatementKid,
    /// The signature does not verify with the asserted key.
    StatementSignature,
    /// `iss` missing or not an identifier (RFC 7591 §2.3: `iss` is required).
    StatementIssuer,
    /// `iat` missing, in the future, or older than the accepted age.
    StatementIssuedAt,
    /// `exp` passed, or not a number.
    StatementExpired,
    /// `jti` missing, or already used.
    StatementReplayed,
    /// The issuer is neither a federation entity with a chain to a configured anchor nor a
    /// configured directory.
    IssuerNotTrusted,
    /// The anchor does not accept this registration model.
    ModelNotAccepted,
    /// The organization claim of a directory-issued statement is missing or malformed.
    OrganizationClaim,
    /// The organization is not one the directory or the federation vouches for.
    OrganizationUnknown,
    /// The directory says the organization is not active (`org_status`).
    OrganizationStatus,
    /// An update would bind the client to another organization (or other software).
    OrganizationChange,
    /// A redirect URI is not an absolute `https` URL without fragment (RFC 7591 §2).
    RedirectUri,
    /// A redirect URI is outside the statement's `software_redirect_uris`.
    SoftwareRedirectUris,
    /// Grant types unsupported, or inconsistent with response types (RFC 7591 §2.1).
    GrantTypes,
    /// `token_endpoint_auth_method` not supported (no secrets are issued).
    AuthMethod,
    /// A signing or encryption algorithm parameter is not on the allow-list.
    SigningAlg,
    /// `jwks` invalid (private, symmetric, malformed keys), both `jwks` and `jwks_uri`
    /// (RFC 7591 §2), `jwks_uri` not `https`, or no keys for `private_key_jwt`.
    KeyMaterial,
    /// The merged metadata breaks the `metadata_policy` the federation applies to the
    /// organization's subordinates.
    Policy,
    /// A metadata value has the wrong type (a list that is not a list of strings…).
    MetadataType,
    /// RFC 7592 §2.2: the update's `client_id` is not the client's, or the update carries
    /// fields the server issues.
    UpdateFields,
    /// The same software of the same organization is already registered and the server
    /// is configured to refuse a second registration.
    DuplicateSoftware,
    /// The registration access token is missing, wrong, revoked, or the client is gone
    /// (RFC 7592 §2.1–2.3: HTTP 401).
    AccessToken,
}

impl fmt::Display for DcrRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A refused registration request (RFC 7591 §3.2.2, RFC 7592 §2). Each variant is one
/// error code; `rule` says which rule and `description` the details.
///
/// ```
/// use oidfed::server::dcr::{DcrError, DcrRule};
/// let e = DcrError::invalid_metadata(DcrRule::GrantTypes, "implicit is not supported");
/// assert_eq!(e.code(), "invalid_client_metadata");
/// assert_eq!(e.http_status(), 400);
/// assert_eq!(e.to_json()["error"], "invalid_client_metadata");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum DcrError {
    /// `invalid_software_statement`: the statement is malformed, badly signed, expired or
    /// replayed.
    #[error("invalid_software_statement ({rule}): {description}")]
    InvalidSoftwareStatement {
        /// The rule broken.
        rule: DcrRule,
        /// What was wrong.
        description: String,
    },
    /// `unapproved_software_statement`: a valid statement from an issuer or organization
    /// this server does not accept.
    #[error("unapproved_software_statement ({rule}): {description}")]
    UnapprovedSoftwareStatement {
        /// The rule broken.
        rule: DcrRule,
        /// What was wrong.
        description: String,
    },
    /// `invalid_client_metadata`: a metadata value is invalid or breaks policy.
    #[error("invalid_client_metadata ({rule}): {description}")]
    InvalidClientMetadata {
        /// The rule broken.
        rule: DcrRule,
        /// What was wrong.
        description: String,
    },
    /// `invalid_redirect_uri`: a redirect URI is invalid or not allowed.
    #[error("invalid_redirect_uri ({rule}): {description}")]
    InvalidRedirectUri {
        /// The rule broken.
        rule: DcrRule,
        /// What was wrong.
        description: String,
    },
    /// `invalid_token` (HTTP 401, RFC 7592 §2.1–2.3, RFC 6750 §3.1).
    #[error("invalid_token: {description}")]
    InvalidToken {
        /// What was wrong.
        description: String,
    },
    /// The server could not decide (storage or federation unreachable): `server_error`,
    /// or `temporarily_unavailable` when retrying can help.
    #[error("server error: {source}")]
    Server {
        /// The underlying error (boxed: it is the rare case, and keeps the error small).
        source: Box<crate::Error>,
    },
}

impl DcrError {
    /// An `invalid_software_statement` refusal. See the [`DcrError`] example.
    pub fn invalid_statement(rule: DcrRule, description: impl Into<String>) -> Self {
        DcrError::InvalidSoftwareStatement {
            rule,
            description: description.into(),
        }
    }

    /// An `unapproved_software_statement` refusal. See the [`DcrError`] example.
    pub fn unapproved(rule: DcrRule, description: impl Into<String>) -> Self {
        DcrError::UnapprovedSoftwareStatement {
            rule,
            description: description.into(),
        }
    }

    /// An `invalid_client_metadata` refusal. See the [`DcrError`] example.
    pub fn invalid_metadata(rule: DcrRule, description: impl Into<String>) -> Self {
        DcrError::InvalidClientMetadata {
            rule,
            description: description.into(),
        }
    }

    /// An `invalid_redirect_uri` refusal. See the [`DcrError`] example.
    pub fn invalid_redirect(rule: DcrRule, description: impl Into<String>) -> Self {
        DcrError::InvalidRedirectUri {
            rule,
            description: description.into(),
        }
    }

    /// An `invalid_token` answer. See the [`DcrError`] example.
    pub fn invalid_token(description: impl Into<String>) -> Self {
        DcrError::InvalidToken {
            description: description.into(),
        }
    }

    /// The `error` code of the JSON error response. See the [`DcrError`] example.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The `error` code of the JSON error response (RFC 7591 §3.2.2).
    pub fn error_code(&self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode as C;
        match self {
            DcrError::InvalidSoftwareStatement { .. } => C::InvalidSoftwareStatement,
            DcrError::UnapprovedSoftwareStatement { .. } => C::UnapprovedSoftwareStatement,
            DcrError::InvalidClientMetadata { .. } => C::InvalidClientMetadata,
            DcrError::InvalidRedirectUri { .. } => C::InvalidRedirectUri,
            DcrError::InvalidToken { .. } => C::InvalidToken,
            DcrError::Server { source } if source.is_transient() => C::TemporarilyUnavailable,
            DcrError::Server { .. } => C::ServerError,
        }
    }

    /// The rule broken (none for server errors). See the [`DcrError`] example.
    pub fn rule(&self) -> Option<DcrRule> {
        match self {
            DcrError::InvalidSoftwareStatement { rule, .. }
            | DcrError::UnapprovedSoftwareStatement { rule, .. }
            | DcrError::InvalidClientMetadata { rule, .. }
            | DcrError::InvalidRedirectUri { rule, .. } => Some(*rule),
            DcrError::InvalidToken { .. } => Some(DcrRule::AccessToken),
            DcrError::Server { .. } => None,
        }
    }

    /// The HTTP status to answer with: 400 (RFC 7591 §3.2.2), 401 for `invalid_token`,
    /// 503 or 500 for server errors.
    pub fn http_status(&self) -> u16 {
        match self {
            DcrError::InvalidToken { .. } => 401,
            DcrError::Server { source } if source.is_transient() => 503,
            DcrError::Server { .. } => 500,
            _ => 400,
        }
    }

    /// The description, naming the rule. See the [`DcrError`] example.
    pub fn description(&self) -> String {
        match self {
            DcrError::InvalidSoftwareStatement { rule, description }
            | DcrError::UnapprovedSoftwareStatement { rule, description }
            | DcrError::InvalidClientMetadata { rule, description }
            | DcrError::InvalidRedirectUri { rule, description } => {
                format!("{rule}: {description}")
            }
            DcrError::InvalidToken { description } => description.clone(),
            // Internal details stay in the server's logs.
            DcrError::Server { .. } => "the registration could not be processed".into(),
        }
    }

    /// The JSON error response body: `{"error": …, "error_description": …}`. See the [`DcrError`] example.
    pub fn to_json(&self) -> Value {
        json!({"error": self.code(), "error_description": self.description()})
    }
}

impl From<crate::Error> for DcrError {
    fn from(source: crate::Error) -> Self {
        DcrError::Server {
            source: Box::new(source),
        }
    }
}
