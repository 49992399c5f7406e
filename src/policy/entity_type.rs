//! The policy for one Entity Type (§6.1.2): parsing and validation (§6.1.3), merging a
//! subordinate's policy (§6.1.4.1) and applying it to metadata (§6.1.4.2).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::apply::{apply_parameter, check_parameter, merge_one};
use super::deadline::Deadline;
use super::error::{PolicyError, PolicyErrorKind as K};
use super::scope::{CLIENT_TYPES, scope_words};
use super::{OperatorRegistry, Operators, kind_of, operators};

/// The policy for one Entity Type (§6.1.2): parameter → operator → value.
///
/// ```
/// use oidfed::policy::EntityTypePolicy;
/// use serde_json::json;
/// let policy = EntityTypePolicy::from_json(&json!({
///     "grant_types": {"subset_of": ["authorization_code", "refresh_token"]},
///     "token_endpoint_auth_method": {"default": "private_key_jwt"}
/// }))?;
/// let metadata = json!({"grant_types": ["authorization_code", "implicit"]});
/// let out = policy.apply(metadata.as_object().unwrap())?;
/// assert_eq!(out["grant_types"], json!(["authorization_code"]));
/// assert_eq!(out["token_endpoint_auth_method"], "private_key_jwt");
/// # Ok::<(), oidfed::policy::PolicyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EntityTypePolicy {
    entity_type: Option<Arc<str>>,
    /// Shared so that a merge copies only the parameters it changes.
    params: BTreeMap<Arc<str>, Arc<Operators>>,
}

impl EntityTypePolicy {
    /// Parses and validates one Entity Type's policy: its structure, each standard operator's
    /// value type and the combinations inside each parameter (§6.1.3). Operators this crate
    /// does not know are kept but never applied (§6.1.3.2).
    ///
    /// ```
    /// use oidfed::policy::EntityTypePolicy;
    /// use serde_json::json;
    /// // `add` and `one_of` may never meet.
    /// let err = EntityTypePolicy::from_json(&json!({
    ///     "contacts": {"add": ["a@x"], "one_of": ["b@x"]}
    /// })).unwrap_err();
    /// assert_eq!(err.code(), "invalid_policy");
    /// ```
    pub fn from_json(value: &Value) -> Result<Self, PolicyError> {
        Self::parse(None, value, &OperatorRegistry::default(), Deadline::NONE)
    }

    /// As [`EntityTypePolicy::from_json`], for a known Entity Type and with custom operators.
    pub fn from_json_for(
        entity_type: &str,
        value: &Value,
        registry: &OperatorRegistry,
    ) -> Result<Self, PolicyError> {
        Self::parse(Some(entity_type), value, registry, Deadline::NONE)
            .map_err(|e| e.in_type(entity_type))
    }

    pub(super) fn parse(
        entity_type: Option<&str>,
        value: &Value,
        registry: &OperatorRegistry,
        deadline: Deadline,
    ) -> Result<Self, PolicyError> {
        let Some(obj) = value.as_object() else {
            return Err(PolicyError::new(
                K::Malformed,
                format!(
                    "an Entity Type policy must be an object, not {}",
                    kind_of(value)
                ),
            ));
        };
        let mut policy = EntityTypePolicy {
            entity_type: entity_type.map(Arc::from),
            params: BTreeMap::new(),
        };
        for (param, ops) in obj {
            deadline
                .check("validating the metadata policy")
                .map_err(|e| e.param(param))?;
            let Some(ops) = ops.as_object() else {
                return Err(PolicyError::new(
                    K::Malformed,
                    format!("a parameter policy must be an object, not {}", kind_of(ops)),
                )
                .param(param));
            };
            let scope = policy.scope_mode(param);
            let mut parsed = Operators::new();
            for (op, v) in ops {
                let v = if scope && matches!(op.as_str(), "add" | "subset_of" | "superset_of") {
                    scope_words(v)
                } else {
                    v.clone()
                };
                if operators::is_standard(op) {
                    operators::check_value_type(op, &v).map_err(|e| e.param(param))?;
                } else if let Some(custom) = registry.get(op) {
                    custom.validate(&v).map_err(|r| {
                        PolicyError::new(K::UnsupportedValueType, r)
                            .param(param)
                            .op(op)
                    })?;
                }
                parsed.insert(op.clone(), v);
            }
            check_parameter(scope, &parsed, registry).map_err(|e| e.param(param))?;
            policy
                .params
                .insert(Arc::from(param.as_str()), Arc::new(parsed));
        }
        Ok(policy)
    }

    /// The Entity Type, when the policy was parsed for one.
    pub fn entity_type(&self) -> Option<&str> {
        self.entity_type.as_deref()
    }

    /// The parameters the policy constrains.
    pub fn parameters(&self) -> impl Iterator<Item = &str> {
        self.params.keys().map(|k| &**k)
    }

    /// The value of one operator on one parameter.
    pub fn operator(&self, parameter: &str, operator: &str) -> Option<&Value> {
        self.params.get(parameter)?.get(operator)
    }

    /// Whether `scope` of this type is a space-separated set: only the parameter named `scope`,
    /// and only under client Entity Types (the OAuth client parameter, §6.1.3.1.8).
    fn scope_mode(&self, param: &str) -> bool {
        param == "scope"
            && self
                .entity_type
                .as_deref()
                .is_none_or(|t| CLIENT_TYPES.contains(&t))
    }

    /// Merges a subordinate's policy into this (the superior's) policy (§6.1.4.1): new
    /// parameters and operators are copied, shared operators merge by their rule, and the
    /// merged parameter must still be an allowed combination.
    ///
    /// ```
    /// use oidfed::policy::EntityTypePolicy;
    /// use serde_json::json;
    /// let ta = EntityTypePolicy::from_json(&json!({"id_token_signed_response_alg": {"one_of": ["RS256", "ES256"]}}))?;
    /// let int = EntityTypePolicy::from_json(&json!({"id_token_signed_response_alg": {"one_of": ["ES256", "PS256"]}}))?;
    /// let merged = ta.combine(&int)?;
    /// assert_eq!(merged.operator("id_token_signed_response_alg", "one_of"), Some(&json!(["ES256"])));
    /// # Ok::<(), oidfed::policy::PolicyError>(())
    /// ```
    pub fn combine(&self, subordinate: &EntityTypePolicy) -> Result<EntityTypePolicy, PolicyError> {
        self.combine_with(subordinate, &OperatorRegistry::default())
    }

    /// As [`EntityTypePolicy::combine`], merging custom operators with their own rules.
    pub fn combine_with(
        &self,
        subordinate: &EntityTypePolicy,
        registry: &OperatorRegistry,
    ) -> Result<EntityTypePolicy, PolicyError> {
        self.combine_within(subordinate, registry, Deadline::NONE)
    }

    pub(super) fn combine_within(
        &self,
        subordinate: &EntityTypePolicy,
        registry: &OperatorRegistry,
        deadline: Deadline,
    ) -> Result<EntityTypePolicy, PolicyError> {
        let mut out = self.clone();
        if out.entity_type.is_none() {
            out.entity_type = subordinate.entity_type.clone();
        }
        for (param, sub_ops) in &subordinate.params {
            deadline
                .check("merging metadata policies")
                .map_err(|e| e.param(param))?;
            let scope = out.scope_mode(param);
            let Some(cur) = out.params.get_mut(&**param) else {
                out.params.insert(param.clone(), Arc::clone(sub_ops));
                continue;
            };
            // Built afresh: an operator both levels have is merged, never copied first.
            let mut merged = Operators::new();
            for (op, sup) in cur.iter() {
                let v = match sub_ops.get(op) {
                    Some(sub) => {
                        merge_one(scope, op, sup, sub, registry).map_err(|e| e.param(param))?
                    }
                    None => sup.clone(),
                };
                merged.insert(op.clone(), v);
            }
            for (op, v) in sub_ops.iter() {
                if !cur.contains_key(op) {
                    merged.insert(op.clone(), v.clone());
                }
            }
            check_parameter(scope, &merged, registry).map_err(|e| e.param(param))?;
            *cur = Arc::new(merged);
        }
        Ok(out)
    }

    /// Applies the policy to one Entity Type's metadata (§6.1.4.2), every parameter policy in
    /// the standard order, whether or not the parameter is present.
    pub fn apply(&self, metadata: &Map<String, Value>) -> Result<Map<String, Value>, PolicyError> {
        self.apply_with(metadata, &OperatorRegistry::default())
    }

    /// As [`EntityTypePolicy::apply`], also applying registered custom operators. Operators
    /// not in `registry` are ignored.
    pub fn apply_with(
        &self,
        metadata: &Map<String, Value>,
        registry: &OperatorRegistry,
    ) -> Result<Map<String, Value>, PolicyError> {
        let mut out = metadata.clone();
        self.apply_in_place(&mut out, registry, Deadline::NONE)?;
        Ok(out)
    }

    pub(super) fn apply_in_place(
        &self,
        out: &mut Map<String, Value>,
        registry: &OperatorRegistry,
        deadline: Deadline,
    ) -> Result<(), PolicyError> {
        for (param, ops) in &self.params {
            deadline
                .check("applying the metadata policy")
                .map_err(|e| e.param(param))?;
            let scope = self.scope_mode(param);
            let name_error = |e: PolicyError| {
                let e = e.param(param);
                match &self.entity_type {
                    Some(t) => e.in_type(t),
                    None => e,
                }
            };
            // Work on the value in its slot: no key reallocation for present parameters.
            match out.get_mut(&**param) {
                Some(slot) => {
                    let present = std::mem::take(slot);
                    match apply_parameter(scope, ops, Some(present), registry)
                        .map_err(name_error)?
                    {
                        Some(v) => *slot = v,
                        None => {
                            out.remove(&**param);
                        }
                    }
                }
                None => {
                    if let Some(v) =
                        apply_parameter(scope, ops, None, registry).map_err(name_error)?
                    {
                        out.insert(param.to_string(), v);
                    }
                }
            }
        }
        Ok(())
    }

    /// The policy as JSON (operator values of `scope` as word sets).
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.params
                .iter()
                .map(|(p, ops)| {
                    let ops = ops.iter().map(|(o, v)| (o.clone(), v.clone())).collect();
                    (p.to_string(), Value::Object(ops))
                })
                .collect(),
        )
    }
}
