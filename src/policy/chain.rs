//! A chain's policy: resolving the Subordinate Statements' policies from the trust anchor
//! down (§6.1.4.1) and applying the result to the subject's metadata (§6.1.4.2).

use serde_json::{Map, Value};

use super::deadline::Deadline;
use super::error::{PolicyError, PolicyErrorKind as K};
use super::{MetadataPolicy, OperatorRegistry, operators};

/// One Subordinate Statement's contribution to the chain's policy.
#[derive(Debug, Clone, Copy)]
pub struct PolicySource<'a> {
    /// The statement's issuer.
    pub issuer: &'a str,
    /// The statement's subject.
    pub subject: &'a str,
    /// Its `metadata_policy`, if any.
    pub metadata_policy: Option<&'a Value>,
    /// Its `metadata_policy_crit`, if any.
    pub metadata_policy_crit: Option<&'a Value>,
}

impl<'a> From<&'a crate::statement::EntityStatement> for PolicySource<'a> {
    /// The policy a Subordinate Statement contributes: its issuer, subject,
    /// `metadata_policy` and `metadata_policy_crit`.
    fn from(s: &'a crate::statement::EntityStatement) -> Self {
        PolicySource {
            issuer: s.issuer().as_str(),
            subject: s.subject().as_str(),
            metadata_policy: s.metadata_policy(),
            metadata_policy_crit: s.metadata_policy_crit(),
        }
    }
}

/// Resolves a chain's policy (§6.1.4.1). `sources` run from the trust anchor's statement
/// down to the Immediate Superior's. Every operator listed in any `metadata_policy_crit` must
/// be registered; each policy is validated, then merged into the policies above it. Errors
/// name the statement that introduced them. `Ok(None)` when no statement has a policy.
///
/// ```
/// use oidfed::policy::{resolve_chain_policy, OperatorRegistry, PolicySource};
/// use serde_json::json;
/// let ta = json!({"openid_relying_party": {"contacts": {"add": ["ta@x"]}}});
/// let crit = json!(["regexp"]);
/// let sources = [PolicySource {
///     issuer: "https://ta.example", subject: "https://rp.example",
///     metadata_policy: Some(&ta), metadata_policy_crit: Some(&crit),
/// }];
/// // `regexp` is critical and this deployment has not registered it.
/// let err = resolve_chain_policy(&sources, &OperatorRegistry::default()).unwrap_err();
/// assert_eq!(err.statement(), Some(("https://ta.example", "https://rp.example")));
/// ```
pub fn resolve_chain_policy(
    sources: &[PolicySource<'_>],
    registry: &OperatorRegistry,
) -> Result<Option<MetadataPolicy>, PolicyError> {
    resolve_chain_policy_within(sources, registry, Deadline::NONE)
}

/// [`resolve_chain_policy`] within the resolution's deadline.
pub(crate) fn resolve_chain_policy_within(
    sources: &[PolicySource<'_>],
    registry: &OperatorRegistry,
    deadline: Deadline,
) -> Result<Option<MetadataPolicy>, PolicyError> {
    for s in sources {
        let Some(crit) = s.metadata_policy_crit else {
            continue;
        };
        let names = crit.as_array().filter(|a| !a.is_empty()).ok_or_else(|| {
            PolicyError::new(
                K::Malformed,
                "metadata_policy_crit must be a non-empty array",
            )
            .at_statement(s.issuer, s.subject)
        })?;
        for name in names {
            let Some(name) = name.as_str() else {
                return Err(PolicyError::new(
                    K::Malformed,
                    format!("metadata_policy_crit lists {name}, not an operator name"),
                )
                .at_statement(s.issuer, s.subject));
            };
            if operators::is_standard(name) {
                return Err(PolicyError::new(
                    K::Malformed,
                    "metadata_policy_crit must not list a standard operator",
                )
                .op(name)
                .at_statement(s.issuer, s.subject));
            }
            if registry.get(name).is_none() {
                return Err(PolicyError::new(
                    K::CriticalOperatorUnsupported,
                    "the operator is critical and this deployment does not support it",
                )
                .op(name)
                .at_statement(s.issuer, s.subject));
            }
        }
    }
    let mut current: Option<MetadataPolicy> = None;
    for s in sources {
        let Some(raw) = s.metadata_policy else {
            continue;
        };
        let parsed = MetadataPolicy::parse_within(raw, registry, deadline)
            .map_err(|e| e.at_statement(s.issuer, s.subject))?;
        current = Some(match current {
            None => parsed,
            Some(c) => c
                .combine_within(&parsed, registry, deadline)
                .map_err(|e| e.at_statement(s.issuer, s.subject))?,
        });
    }
    Ok(current)
}

/// Applies a resolved chain policy to the subject's metadata (§6.1.4.2).
pub fn apply_policy(
    metadata: &Map<String, Value>,
    policy: &MetadataPolicy,
    registry: &OperatorRegistry,
) -> Result<Map<String, Value>, PolicyError> {
    policy.apply_with(metadata, registry)
}
