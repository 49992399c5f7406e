//! A federation's own policy operators (§6.1.3.2): the [`PolicyOperator`] trait, its
//! [`OperatorKind`] and the [`OperatorRegistry`] a deployment fills.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::error::{PolicyError, PolicyErrorKind as K};
use super::operators;

/// What a custom operator does (§6.1.3.2): modifiers run after `value`, checks before
/// `essential`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorKind {
    /// Changes the parameter (runs after `value`, before `add`).
    Modify,
    /// Only checks the parameter (runs after `superset_of`, before `essential`).
    Check,
}

/// A federation's own policy operator (§6.1.3.2), registered on the resolver with
/// [`crate::ResolverBuilder::policy_operator`]. Reasons returned as `Err(String)` become a
/// [`PolicyError`] naming the Entity Type, parameter and operator.
///
/// ```
/// use oidfed::policy::{OperatorKind, OperatorRegistry, PolicyOperator, MetadataPolicy};
/// use serde_json::{json, Value};
/// use std::sync::Arc;
///
/// /// `max_length`: a string parameter may be at most N characters.
/// struct MaxLength;
/// impl PolicyOperator for MaxLength {
///     fn name(&self) -> &str { "max_length" }
///     fn kind(&self) -> OperatorKind { OperatorKind::Check }
///     fn validate(&self, v: &Value) -> Result<(), String> {
///         v.as_u64().map(|_| ()).ok_or_else(|| "max_length takes an integer".into())
///     }
///     fn merge(&self, a: &Value, b: &Value) -> Result<Value, String> {
///         Ok(json!(a.as_u64().unwrap_or(0).min(b.as_u64().unwrap_or(0))))
///     }
///     fn apply(&self, v: &Value, p: Option<&Value>) -> Result<Option<Value>, String> {
///         match p {
///             Some(Value::String(s)) if s.chars().count() as u64 > v.as_u64().unwrap_or(0) =>
///                 Err(format!("{} characters is too long", s.chars().count())),
///             other => Ok(other.cloned()),
///         }
///     }
/// }
///
/// let mut ops = OperatorRegistry::default();
/// ops.register(Arc::new(MaxLength))?;
/// let policy = MetadataPolicy::from_json_with(
///     &json!({"openid_relying_party": {"client_name": {"max_length": 5}}}),
///     &ops,
/// )?;
/// let md = json!({"openid_relying_party": {"client_name": "far too long"}});
/// assert!(policy.apply_with(md.as_object().unwrap(), &ops).is_err());
/// # Ok::<(), oidfed::policy::PolicyError>(())
/// ```
pub trait PolicyOperator: Send + Sync {
    /// The operator's name, as it appears in policies and `metadata_policy_crit`.
    fn name(&self) -> &str;
    /// Whether it modifies or only checks.
    fn kind(&self) -> OperatorKind;
    /// Checks the operator value's type and shape.
    fn validate(&self, value: &Value) -> Result<(), String>;
    /// Merges the superior's value with the subordinate's; the result must be at least as
    /// strict as both.
    fn merge(&self, superior: &Value, subordinate: &Value) -> Result<Value, String>;
    /// Whether the operator may appear with `other` in one parameter's policy (default: yes).
    fn combines_with(&self, other: &str) -> bool {
        let _ = other;
        true
    }
    /// Applies the operator to the parameter (`None` when absent); returns the new value
    /// (`None` removes it). A [`OperatorKind::Check`] operator returns the parameter as is.
    fn apply(&self, value: &Value, parameter: Option<&Value>) -> Result<Option<Value>, String>;
}

/// The custom operators a deployment understands.
///
/// ```
/// use oidfed::policy::{OperatorRegistry, regexp::Regexp};
/// use std::sync::Arc;
/// let mut ops = OperatorRegistry::default();
/// ops.register(Arc::new(Regexp::default()))?;
/// assert_eq!(ops.custom_names(), vec!["regexp".to_string()]);
/// # Ok::<(), oidfed::policy::PolicyError>(())
/// ```
#[derive(Clone, Default)]
pub struct OperatorRegistry {
    ops: BTreeMap<String, Arc<dyn PolicyOperator>>,
}

impl fmt::Debug for OperatorRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.ops.keys()).finish()
    }
}

impl OperatorRegistry {
    /// Registers an operator. A standard operator's name cannot be taken over.
    pub fn register(&mut self, op: Arc<dyn PolicyOperator>) -> Result<(), PolicyError> {
        let name = op.name().to_string();
        if operators::is_standard(&name) || name.is_empty() {
            return Err(PolicyError::new(
                K::Malformed,
                format!("{name:?} cannot be registered: it is a standard operator name or empty"),
            )
            .op(&name));
        }
        self.ops.insert(name, op);
        Ok(())
    }

    /// The registered operator of that name.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn PolicyOperator>> {
        self.ops.get(name)
    }

    /// Names of the registered operators, sorted.
    pub fn custom_names(&self) -> Vec<String> {
        self.ops.keys().cloned().collect()
    }
}
