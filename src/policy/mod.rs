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
//! as JSON, arrays in order (the strict reading of "equal", in one function:
//! [`values_equal`]).
//!
//! Under client Entity Types (`openid_relying_party`, `oauth_client`, or a policy parsed
//! without a type) the parameter `scope`, a space-separated string, is treated as the set of
//! its words and written back as a space-separated string (§6.1.3.1.8; only the parameter
//! named `scope`, only under client Entity Types).
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

mod apply;
mod chain;
mod custom;
pub(crate) mod deadline;
mod entity_type;
mod error;
mod metadata;
mod operators;
pub mod regexp;
mod scope;
pub(crate) mod set;

use std::collections::BTreeMap;

use serde_json::Value;

pub(crate) use chain::resolve_chain_policy_within;
pub use chain::{PolicySource, apply_policy, resolve_chain_policy};
pub use custom::{OperatorKind, OperatorRegistry, PolicyOperator};
pub use entity_type::EntityTypePolicy;
pub use error::{PolicyError, PolicyErrorKind};
pub use metadata::MetadataPolicy;
pub use operators::{ORDER as STANDARD_OPERATOR_ORDER, values_equal};

/// Operators of one parameter: operator name → operator value.
type Operators = BTreeMap<String, Value>;

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
