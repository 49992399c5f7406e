//! The error codes an error response carries: OpenID Federation's (§8.9) and those of
//! OAuth 2.0 (RFC 6749), JWT-Secured Authorization Requests (RFC 9101) and Dynamic Client
//! Registration (RFC 7591) that the crate answers with.

use std::fmt;

/// An error code for an error response (`{"error": …}`).
///
/// ```
/// use oidfed::error::ErrorCode;
/// assert_eq!(ErrorCode::InvalidTrustChain.as_str(), "invalid_trust_chain");
/// assert_eq!(ErrorCode::NotFound.to_string(), "not_found");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request` (§8.9, RFC 6749): the request is malformed or lacks a parameter.
    InvalidRequest,
    /// `invalid_client` (§8.9, RFC 6749): the client could not be authenticated.
    InvalidClient,
    /// `invalid_issuer` (§8.9): the issuer is not known or not permitted.
    InvalidIssuer,
    /// `invalid_subject` (§8.9): the subject is not known.
    InvalidSubject,
    /// `invalid_trust_anchor` (§8.9): the Trust Anchor is not one the server trusts.
    InvalidTrustAnchor,
    /// `invalid_trust_chain` (§8.9): no valid Trust Chain could be built or verified.
    InvalidTrustChain,
    /// `invalid_metadata` (§8.9): the metadata is invalid or breaks the policy.
    InvalidMetadata,
    /// `not_found` (§8.9): the entity or document does not exist.
    NotFound,
    /// `server_error` (§8.9, RFC 6749): the server failed.
    ServerError,
    /// `temporarily_unavailable` (§8.9, RFC 6749): retry later.
    TemporarilyUnavailable,
    /// `unsupported_parameter` (§8.9): a parameter is not supported.
    UnsupportedParameter,
    /// `invalid_policy`: a metadata policy is malformed or its statements' policies cannot
    /// be combined (§6.1). Not a §8.9 code: the crate reports it to tell a broken policy
    /// from metadata that breaks a valid one.
    InvalidPolicy,
    /// `invalid_request_object` (RFC 9101 §6.3): the Request Object is invalid.
    InvalidRequestObject,
    /// `invalid_client_metadata` (RFC 7591 §3.2.2).
    InvalidClientMetadata,
    /// `invalid_redirect_uri` (RFC 7591 §3.2.2).
    InvalidRedirectUri,
    /// `invalid_software_statement` (RFC 7591 §3.2.2).
    InvalidSoftwareStatement,
    /// `unapproved_software_statement` (RFC 7591 §3.2.2).
    UnapprovedSoftwareStatement,
    /// `invalid_token` (RFC 6750 §3.1): the access token is invalid.
    InvalidToken,
}

impl ErrorCode {
    /// The code as it appears in an error response.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidIssuer => "invalid_issuer",
            ErrorCode::InvalidSubject => "invalid_subject",
            ErrorCode::InvalidTrustAnchor => "invalid_trust_anchor",
            ErrorCode::InvalidTrustChain => "invalid_trust_chain",
            ErrorCode::InvalidMetadata => "invalid_metadata",
            ErrorCode::NotFound => "not_found",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::UnsupportedParameter => "unsupported_parameter",
            ErrorCode::InvalidPolicy => "invalid_policy",
            ErrorCode::InvalidRequestObject => "invalid_request_object",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidSoftwareStatement => "invalid_software_statement",
            ErrorCode::UnapprovedSoftwareStatement => "unapproved_software_statement",
            ErrorCode::InvalidToken => "invalid_token",
        }
    }

    /// The code of `s`, when it is one of these.
    pub fn from_name(s: &str) -> Option<ErrorCode> {
        ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

const ALL: [ErrorCode; 18] = [
    ErrorCode::InvalidRequest,
    ErrorCode::InvalidClient,
    ErrorCode::InvalidIssuer,
    ErrorCode::InvalidSubject,
    ErrorCode::InvalidTrustAnchor,
    ErrorCode::InvalidTrustChain,
    ErrorCode::InvalidMetadata,
    ErrorCode::NotFound,
    ErrorCode::ServerError,
    ErrorCode::TemporarilyUnavailable,
    ErrorCode::UnsupportedParameter,
    ErrorCode::InvalidPolicy,
    ErrorCode::InvalidRequestObject,
    ErrorCode::InvalidClientMetadata,
    ErrorCode::InvalidRedirectUri,
    ErrorCode::InvalidSoftwareStatement,
    ErrorCode::UnapprovedSoftwareStatement,
    ErrorCode::InvalidToken,
];

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_name() {
        for c in ALL {
            assert_eq!(ErrorCode::from_name(c.as_str()), Some(c));
        }
        assert_eq!(ErrorCode::from_name("invalid_whatever"), None);
    }
}
