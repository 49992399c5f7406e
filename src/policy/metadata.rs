//! The whole `metadata_policy` claim (§6.1.2): Entity Type → [`EntityTypePolicy`].

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::deadline::Deadline;
use super::error::{PolicyError, PolicyErrorKind as K};
use super::{EntityTypePolicy, OperatorRegistry, kind_of};

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
        Self::parse_within(value, registry, Deadline::NONE)
    }

    pub(super) fn parse_within(
        value: &Value,
        registry: &OperatorRegistry,
        deadline: Deadline,
    ) -> Result<Self, PolicyError> {
        let Some(obj) = value.as_object() else {
            return Err(PolicyError::new(
                K::Malformed,
                format!("metadata_policy must be an object, not {}", kind_of(value)),
            ));
        };
        let mut types = BTreeMap::new();
        for (t, p) in obj {
            let parsed = EntityTypePolicy::parse(Some(t), p, registry, deadline)
                .map_err(|e| e.in_type(t))?;
            types.insert(t.clone(), parsed);
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
        self.combine_within(subordinate, registry, Deadline::NONE)
    }

    pub(super) fn combine_within(
        &self,
        subordinate: &MetadataPolicy,
        registry: &OperatorRegistry,
        deadline: Deadline,
    ) -> Result<MetadataPolicy, PolicyError> {
        // Each type is copied once: merged where both have it, cloned otherwise.
        let mut types = BTreeMap::new();
        for (t, sup) in &self.types {
            let merged = match subordinate.types.get(t) {
                Some(sub) => sup
                    .combine_within(sub, registry, deadline)
                    .map_err(|e| e.in_type(t))?,
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
    /// governed; types absent from the metadata are never created (a policy only governs
    /// what is there, §6.1.4.2).
    pub fn apply(&self, metadata: &Map<String, Value>) -> Result<Map<String, Value>, PolicyError> {
        self.apply_with(metadata, &OperatorRegistry::default())
    }

    /// As [`MetadataPolicy::apply`], with custom operators.
    pub fn apply_with(
        &self,
        metadata: &Map<String, Value>,
        registry: &OperatorRegistry,
    ) -> Result<Map<String, Value>, PolicyError> {
        self.apply_within(metadata, registry, Deadline::NONE)
    }

    pub(crate) fn apply_within(
        &self,
        metadata: &Map<String, Value>,
        registry: &OperatorRegistry,
        deadline: Deadline,
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
                .apply_in_place(params, registry, deadline)
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

fn parse_text(text: &str) -> Result<Value, PolicyError> {
    crate::json::parse_strict(text.as_bytes()).map_err(|e| {
        let kind = match e.kind() {
            crate::json::JsonErrorKind::DuplicateMember => K::DuplicateMember,
            _ => K::Malformed,
        };
        PolicyError::new(kind, e.0)
    })
}
