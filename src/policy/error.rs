//! Policy errors: each names the entity type, parameter, operator, reason and, when known,
//! the statement (issuer → subject) that introduced it.

use std::fmt;

/// What kind of policy failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// The policy's structure is wrong (not objects where objects are required…).
    Malformed,
    /// A member name appears twice (§6.1.2).
    DuplicateMember,
    /// An operator value of a type the operator does not accept (§6.1.3).
    UnsupportedValueType,
    /// Operators that may not appear together (§6.1.3.1, combination table).
    ForbiddenCombination,
    /// Two values of the same operator cannot be merged (§6.1.4.1).
    MergeConflict,
    /// A critical operator (`metadata_policy_crit`) this deployment does not support.
    CriticalOperatorUnsupported,
    /// A metadata parameter of a type the operator does not support (§6.1.3).
    UnsupportedMetadataType,
    /// The parameter is not one of `one_of`.
    OneOfViolation,
    /// The parameter lacks values `superset_of` requires.
    SupersetViolation,
    /// An `essential` parameter is absent.
    EssentialMissing,
    /// A custom checking operator refused the parameter.
    CustomViolation,
    /// The metadata the policy produced is illegal (an Entity Type that is not an object, a
    /// `null` parameter, §6.1.4.2).
    IllegalMetadata,
    /// A limit of the resolver was reached while validating or applying the policy (the
    /// resolution's deadline, or the size of a value): the resolver reports it as
    /// [`crate::Error::LimitExceeded`].
    LimitExceeded {
        /// Which limit.
        limit: crate::error::Limit,
        /// Its configured value.
        value: u64,
    },
}

/// A metadata policy failure. [`PolicyError::code`] gives the error code.
///
/// ```
/// use oidfed::policy::{EntityTypePolicy, PolicyErrorKind};
/// use serde_json::json;
/// let policy = EntityTypePolicy::from_json(&json!({
///     "id_token_signed_response_alg": {"one_of": ["ES256"]}
/// })).unwrap();
/// let metadata = json!({"id_token_signed_response_alg": "RS256"});
/// let e = policy.apply(metadata.as_object().unwrap()).unwrap_err();
/// assert_eq!(e.kind, PolicyErrorKind::OneOfViolation);
/// assert_eq!(e.parameter.as_deref(), Some("id_token_signed_response_alg"));
/// assert_eq!(e.code(), "invalid_metadata");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The kind.
    pub kind: PolicyErrorKind,
    /// The entity type, when known.
    pub entity_type: Option<String>,
    /// The parameter, when known.
    pub parameter: Option<String>,
    /// The operator, when known.
    pub operator: Option<String>,
    /// What was wrong.
    pub reason: String,
    /// The statement that introduced it: (issuer, subject).
    pub statement: Option<Box<(String, String)>>,
}

impl PolicyError {
    pub(crate) fn new(kind: PolicyErrorKind, reason: impl Into<String>) -> Self {
        Self {
            kind,
            entity_type: None,
            parameter: None,
            operator: None,
            reason: reason.into(),
            statement: None,
        }
    }

    pub(crate) fn param(mut self, p: &str) -> Self {
        self.parameter.get_or_insert_with(|| p.to_string());
        self
    }

    pub(crate) fn op(mut self, o: &str) -> Self {
        self.operator.get_or_insert_with(|| o.to_string());
        self
    }

    pub(crate) fn in_type(mut self, t: &str) -> Self {
        self.entity_type.get_or_insert_with(|| t.to_string());
        self
    }

    pub(crate) fn at_statement(mut self, issuer: &str, subject: &str) -> Self {
        self.statement
            .get_or_insert_with(|| Box::new((issuer.to_string(), subject.to_string())));
        self
    }

    /// `"invalid_metadata"` when the metadata does not comply with a valid policy;
    /// `"invalid_policy"` when the policy itself is malformed or cannot be combined.
    pub fn code(&self) -> &'static str {
        match self.kind {
            PolicyErrorKind::UnsupportedMetadataType
            | PolicyErrorKind::OneOfViolation
            | PolicyErrorKind::SupersetViolation
            | PolicyErrorKind::EssentialMissing
            | PolicyErrorKind::CustomViolation
            | PolicyErrorKind::IllegalMetadata => "invalid_metadata",
            _ => "invalid_policy",
        }
    }

    /// [`PolicyError::code`] as an [`crate::error::ErrorCode`].
    pub fn error_code(&self) -> crate::error::ErrorCode {
        match self.code() {
            "invalid_metadata" => crate::error::ErrorCode::InvalidMetadata,
            _ => crate::error::ErrorCode::InvalidPolicy,
        }
    }

    /// The statement that introduced the problem, as (issuer, subject).
    pub fn statement(&self) -> Option<(&str, &str)> {
        self.statement
            .as_ref()
            .map(|b| (b.0.as_str(), b.1.as_str()))
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.kind)?;
        let mut at = Vec::new();
        if let Some(t) = &self.entity_type {
            at.push(format!("entity type {t}"));
        }
        if let Some(p) = &self.parameter {
            at.push(format!("parameter {p}"));
        }
        if let Some(o) = &self.operator {
            at.push(format!("operator {o}"));
        }
        if !at.is_empty() {
            write!(f, " ({})", at.join(", "))?;
        }
        write!(f, ": {}", self.reason)?;
        if let Some(b) = &self.statement {
            write!(f, " [statement {} → {}]", b.0, b.1)?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}
