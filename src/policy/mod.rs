//! Metadata policy (OpenID Federation 1.0 §6.1): the language a trust anchor and its
//! intermediates use to govern what their subordinates may declare.
//!
//! * [`EntityTypePolicy`] — the policy for one Entity Type: parameter → operators.
//! * [`MetadataPolicy`] — the whole `metadata_policy` claim: Entity Type → policy.
//! * [`PolicyOperator`] and [`OperatorRegistry`] — a federation's own operators (§6.1.3.2).
//! * [`resolve_chain_policy`] and [`apply_policy`] — what the resolver runs along a chain
//!   (§6.1.4.1, §6.1.4.2).
//!
//! The seven standard operators are `value`, `add`, `default`, `one_of`, `subset_of`,
//! `superset_of` and `essential`, applied in that order. Arrays are sets: union and
//! intersection keep no duplicates, and their order is deterministic (the superior's
//! elements first) but not significant. `value` and `default` merge only when they are equal
//! as JSON, arrays in order (decision D6, one function: [`values_equal`]).
//!
//! Under client Entity Types (`openid_relying_party`, `oauth_client`, or a policy parsed
//! without a type) the parameter `scope`, a space-separated string, is treated as the set of
//! its words and written back as a space-separated string (§6.1.3.1.8, D16).
//!
//! ```
//! use oidfed::policy::EntityTypePolicy;
//! use serde_json::json;
//!
//! let anchor = EntityTypePolicy::from_json(&json!({
//!     "grant_types": {"subset_of": ["authorization_code", "refresh_token"]},
//!     "token_endpoint_auth_method": {"one_of": ["private_key_jwt"], "essential": true}
//! }))?;
//! let intermediate = EntityTypePolicy::from_json(&json!({
//!     "contacts": {"add": ["ops@intermediate.example"]}
//! }))?;
//! let merged = anchor.combine(&intermediate)?;
//!
//! let metadata = json!({
//!     "grant_types": ["authorization_code", "implicit"],
//!     "token_endpoint_auth_method": "private_key_jwt"
//! });
//! let resolved = merged.apply(metadata.as_object().unwrap())?;
//! assert_eq!(resolved["grant_types"], json!(["authorization_code"]));
//! assert_eq!(resolved["contacts"], json!(["ops@intermediate.example"]));
//!
//! // A client that does not comply is refused with `invalid_metadata`.
//! let bad = json!({"token_endpoint_auth_method": "client_secret_basic"});
//! let err = merged.apply(bad.as_object().unwrap()).unwrap_err();
//! assert_eq!(err.code(), "invalid_metadata");
//! # Ok::<(), oidfed::policy::PolicyError>(())
//! ```

mod error;
mod operators;
pub mod regexp;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

pub use error::{PolicyError, PolicyErrorKind};
pub use operators::{ORDER as STANDARD_OPERATOR_ORDER, values_equal};

use error::PolicyErrorKind as K;

/// Entity Types whose `scope` parameter is a space-separated set of words.
const CLIENT_TYPES: [&str; 2] = ["openid_relying_party", "oauth_client"];

/// Operators of one parameter: operator name → operator value.
type Operators = BTreeMap<String, Value>;

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

/// The policy for one Entity Type (§6.1.2): parameter → operator → value.
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
        Self::parse(None, value, &OperatorRegistry::default())
    }

    /// As [`EntityTypePolicy::from_json`], for a known Entity Type and with custom operators.
    pub fn from_json_for(
        entity_type: &str,
        value: &Value,
        registry: &OperatorRegistry,
    ) -> Result<Self, PolicyError> {
        Self::parse(Some(entity_type), value, registry).map_err(|e| e.in_type(entity_type))
    }

    fn parse(
        entity_type: Option<&str>,
        value: &Value,
        registry: &OperatorRegistry,
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

    /// Whether `scope` of this type is a space-separated set (D16).
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
        let mut out = self.clone();
        if out.entity_type.is_none() {
            out.entity_type = subordinate.entity_type.clone();
        }
        for (param, sub_ops) in &subordinate.params {
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
        self.apply_in_place(&mut out, registry)?;
        Ok(out)
    }

    fn apply_in_place(
        &self,
        out: &mut Map<String, Value>,
        registry: &OperatorRegistry,
    ) -> Result<(), PolicyError> {
        for (param, ops) in &self.params {
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

/// A whole `metadata_policy` claim (§6.1.2): Entity Type → [`EntityTypePolicy`].
///
/// ```
/// use oidfed::policy::MetadataPolicy;
/// use serde_json::json;
/// let p = MetadataPolicy::from_json(&json!({
///     "openid_relying_party": {"subject_type": {"value": "pairwise"}}
/// }))?;
/// let md = json!({
///     "openid_relying_party": {"subject_type": "public"},
///     "federation_entity": {"organization_name": "Org"}
/// });
/// let out = p.apply(md.as_object().unwrap())?;
/// assert_eq!(out["openid_relying_party"]["subject_type"], "pairwise");
/// // A policy never creates an Entity Type.
/// let empty = serde_json::Map::new();
/// assert!(p.apply(&empty)?.is_empty());
/// # Ok::<(), oidfed::policy::PolicyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetadataPolicy {
    types: BTreeMap<String, EntityTypePolicy>,
}

impl MetadataPolicy {
    /// Parses and validates a `metadata_policy` value.
    pub fn from_json(value: &Value) -> Result<Self, PolicyError> {
        Self::from_json_with(value, &OperatorRegistry::default())
    }

    /// Parses JSON text, refusing duplicate member names at any level (§6.1.2), which a
    /// parsed `Value` can no longer show.
    ///
    /// ```
    /// use oidfed::policy::{MetadataPolicy, PolicyErrorKind};
    /// let text = r#"{"openid_relying_party": {"grant_types": {"one_of": ["a"], "one_of": ["b"]}}}"#;
    /// let err = MetadataPolicy::from_json_str(text).unwrap_err();
    /// assert_eq!(err.kind, PolicyErrorKind::DuplicateMember);
    /// ```
    pub fn from_json_str(text: &str) -> Result<Self, PolicyError> {
        let value = parse_text(text)?;
        Self::from_json(&value)
    }

    /// As [`MetadataPolicy::from_json`], validating registered custom operators.
    pub fn from_json_with(value: &Value, registry: &OperatorRegistry) -> Result<Self, PolicyError> {
        let Some(obj) = value.as_object() else {
            return Err(PolicyError::new(
                K::Malformed,
                format!("metadata_policy must be an object, not {}", kind_of(value)),
            ));
        };
        let mut types = BTreeMap::new();
        for (t, p) in obj {
            types.insert(t.clone(), EntityTypePolicy::from_json_for(t, p, registry)?);
        }
        Ok(MetadataPolicy { types })
    }

    /// The policy of one Entity Type.
    pub fn entity_type(&self, entity_type: &str) -> Option<&EntityTypePolicy> {
        self.types.get(entity_type)
    }

    /// The Entity Types the policy covers.
    pub fn entity_types(&self) -> impl Iterator<Item = &str> {
        self.types.keys().map(String::as_str)
    }

    /// Merges a subordinate's `metadata_policy` into this one (§6.1.4.1).
    pub fn combine(&self, subordinate: &MetadataPolicy) -> Result<MetadataPolicy, PolicyError> {
        self.combine_with(subordinate, &OperatorRegistry::default())
    }

    /// As [`MetadataPolicy::combine`], with custom operators.
    pub fn combine_with(
        &self,
        subordinate: &MetadataPolicy,
        registry: &OperatorRegistry,
    ) -> Result<MetadataPolicy, PolicyError> {
        // Each type is copied once: merged where both have it, cloned otherwise.
        let mut types = BTreeMap::new();
        for (t, sup) in &self.types {
            let merged = match subordinate.types.get(t) {
                Some(sub) => sup.combine_with(sub, registry).map_err(|e| e.in_type(t))?,
                None => sup.clone(),
            };
            types.insert(t.clone(), merged);
        }
        for (t, sub) in &subordinate.types {
            if !self.types.contains_key(t) {
                types.insert(t.clone(), sub.clone());
            }
        }
        Ok(MetadataPolicy { types })
    }

    /// Applies the policy to a whole `metadata` object: each Entity Type present in both is
    /// governed; types absent from the metadata are never created (D8).
    pub fn apply(&self, metadata: &Map<String, Value>) -> Result<Map<String, Value>, PolicyError> {
        self.apply_with(metadata, &OperatorRegistry::default())
    }

    /// As [`MetadataPolicy::apply`], with custom operators.
    pub fn apply_with(
        &self,
        metadata: &Map<String, Value>,
        registry: &OperatorRegistry,
    ) -> Result<Map<String, Value>, PolicyError> {
        let mut out = metadata.clone();
        for (t, policy) in &self.types {
            let Some(current) = out.get_mut(t) else {
                continue;
            };
            let Some(params) = current.as_object_mut() else {
                return Err(PolicyError::new(
                    K::UnsupportedMetadataType,
                    format!("the metadata of {t} is not an object"),
                )
                .in_type(t));
            };
            policy
                .apply_in_place(params, registry)
                .map_err(|e| e.in_type(t))?;
        }
        Ok(out)
    }

    /// The policy as a `metadata_policy` JSON value.
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.types
                .iter()
                .map(|(t, p)| (t.clone(), p.to_json()))
                .collect(),
        )
    }
}

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
        let parsed = MetadataPolicy::from_json_with(raw, registry)
            .map_err(|e| e.at_statement(s.issuer, s.subject))?;
        current = Some(match current {
            None => parsed,
            Some(c) => c
                .combine_with(&parsed, registry)
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

fn parse_text(text: &str) -> Result<Value, PolicyError> {
    crate::json::parse_strict(text.as_bytes()).map_err(|e| {
        let kind = if e.0.contains("duplicate") {
            K::DuplicateMember
        } else {
            K::Malformed
        };
        PolicyError::new(kind, e.0)
    })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `scope` as a set: a string becomes the array of its words; anything else is unchanged.
fn scope_words(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::Array(operators::union(
            &s.split_whitespace()
                .map(|w| Value::String(w.to_string()))
                .collect::<Vec<_>>(),
            &[],
        )),
        other => other.clone(),
    }
}

/// `scope` canonical form for `one_of`: its words, sorted and unique, space-separated.
fn scope_canonical(v: &Value) -> Value {
    let mut words: Vec<String> = match scope_words(v) {
        Value::Array(a) => a
            .iter()
            .filter_map(|w| w.as_str().map(str::to_string))
            .collect(),
        other => return other,
    };
    words.sort();
    words.dedup();
    Value::String(words.join(" "))
}

/// A `scope` result written back as a space-separated string.
fn scope_string(v: Value) -> Value {
    match v {
        Value::Array(a) if a.iter().all(Value::is_string) => Value::String(
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        other => other,
    }
}

/// The operators of a `scope` parameter as the combination rules compare them.
fn scope_view(ops: &Operators) -> Operators {
    let with_one_of = ops.contains_key("one_of");
    ops.iter()
        .map(|(o, v)| {
            let v = match o.as_str() {
                "one_of" => match v {
                    Value::Array(a) => Value::Array(a.iter().map(scope_canonical).collect()),
                    other => other.clone(),
                },
                "value" | "default" if with_one_of => scope_canonical(v),
                "value" | "default" => scope_words(v),
                _ => v.clone(),
            };
            (o.clone(), v)
        })
        .collect()
}

/// The combination rules inside one parameter's policy (§6.1.3), standard and custom.
fn check_parameter(
    scope: bool,
    ops: &Operators,
    registry: &OperatorRegistry,
) -> Result<(), PolicyError> {
    let view;
    let ops_seen = if scope {
        view = scope_view(ops);
        &view
    } else {
        ops
    };
    operators::check_combinations(&|name: &str| ops_seen.get(name))?;
    for name in ops.keys() {
        let Some(custom) = registry.get(name) else {
            continue;
        };
        if let Some(other) = ops.keys().find(|o| *o != name && !custom.combines_with(o)) {
            return Err(PolicyError::new(
                K::ForbiddenCombination,
                format!("{name} may not be combined with {other}"),
            )
            .op(name));
        }
    }
    Ok(())
}

/// Merges two values of one operator (§6.1.4.1).
fn merge_one(
    scope: bool,
    op: &str,
    sup: &Value,
    sub: &Value,
    registry: &OperatorRegistry,
) -> Result<Value, PolicyError> {
    if operators::is_standard(op) {
        if scope && matches!(op, "value" | "default") {
            // Equal as word lists (D6: order counts), keeping the superior's form.
            return if values_equal(&scope_words(sup), &scope_words(sub)) {
                Ok(sup.clone())
            } else {
                Err(PolicyError::new(K::MergeConflict, format!("{sup} and {sub} differ")).op(op))
            };
        }
        if scope && op == "one_of" {
            let (a, b) = (scope_view_list(sup), scope_view_list(sub));
            let kept: Vec<Value> = sup
                .as_array()
                .map(|s| {
                    s.iter()
                        .zip(&a)
                        .filter(|(_, c)| b.contains(c))
                        .map(|(v, _)| v.clone())
                        .collect()
                })
                .unwrap_or_default();
            return if kept.is_empty() {
                Err(PolicyError::new(
                    K::MergeConflict,
                    format!("{sup} and {sub} have nothing in common"),
                )
                .op(op))
            } else {
                Ok(Value::Array(kept))
            };
        }
        return operators::merge(op, sup, sub);
    }
    match registry.get(op) {
        Some(custom) => {
            let merged = custom
                .merge(sup, sub)
                .map_err(|r| PolicyError::new(K::MergeConflict, r).op(op))?;
            custom
                .validate(&merged)
                .map_err(|r| PolicyError::new(K::MergeConflict, r).op(op))?;
            Ok(merged)
        }
        // Not understood and not critical: kept for diagnostics, never applied (§6.1.3.2).
        None => Ok(sup.clone()),
    }
}

fn scope_view_list(v: &Value) -> Vec<Value> {
    v.as_array()
        .map(|a| a.iter().map(scope_canonical).collect())
        .unwrap_or_default()
}

/// Applies one parameter's operators in order (§6.1.4.2, §6.1.3.2): `value`, custom
/// modifiers, `add`, `default`, `one_of`, `subset_of`, `superset_of`, custom checks,
/// `essential`.
fn apply_parameter(
    scope: bool,
    ops: &Operators,
    present: Option<Value>,
    registry: &OperatorRegistry,
) -> Result<Option<Value>, PolicyError> {
    let mut cur = if scope {
        present.map(|v| scope_words(&v))
    } else {
        present
    };
    let customs = |kind: OperatorKind| {
        ops.iter().filter_map(move |(name, v)| {
            registry
                .get(name)
                .filter(|c| c.kind() == kind)
                .map(|c| (c.clone(), v))
        })
    };
    let standard = |cur: Option<Value>, op: &str| -> Result<Option<Value>, PolicyError> {
        let Some(opv) = ops.get(op) else {
            return Ok(cur);
        };
        if scope && op == "one_of" {
            return match cur {
                Some(p) if p.is_array() => {
                    let canon = scope_canonical(&scope_string(p.clone()));
                    if scope_view_list(opv).contains(&canon) {
                        Ok(Some(p))
                    } else {
                        Err(PolicyError::new(
                            K::OneOfViolation,
                            format!("{} is not one of {opv}", scope_string(p)),
                        )
                        .op(op))
                    }
                }
                other => operators::apply(op, opv, other),
            };
        }
        if scope && matches!(op, "value" | "default") {
            return operators::apply(op, &scope_words(opv), cur);
        }
        operators::apply(op, opv, cur)
    };
    cur = standard(cur, "value")?;
    for (c, v) in customs(OperatorKind::Modify) {
        cur = apply_custom(&*c, v, cur)?;
    }
    for op in ["add", "default", "one_of", "subset_of", "superset_of"] {
        cur = standard(cur, op)?;
    }
    for (c, v) in customs(OperatorKind::Check) {
        cur = apply_custom(&*c, v, cur)?;
    }
    cur = standard(cur, "essential")?;
    Ok(if scope { cur.map(scope_string) } else { cur })
}

fn apply_custom(
    c: &dyn PolicyOperator,
    v: &Value,
    cur: Option<Value>,
) -> Result<Option<Value>, PolicyError> {
    let out = c
        .apply(v, cur.as_ref())
        .map_err(|r| PolicyError::new(K::CustomViolation, r).op(c.name()))?;
    if matches!(out, Some(Value::Null)) {
        return Err(
            PolicyError::new(K::CustomViolation, "an operator must not output null").op(c.name()),
        );
    }
    if c.kind() == OperatorKind::Check && out != cur {
        return Err(PolicyError::new(
            K::CustomViolation,
            "a checking operator changed the parameter",
        )
        .op(c.name()));
    }
    Ok(out)
}
