//! The demo federation of `fixtures/demo-federation.json`, used by the examples.

use serde_json::Value;

use super::{FederationBuilder, KeyAlg, TestKey};

/// The demo fixture, compiled in.
pub const DEMO_FIXTURE: &str = include_str!("../../fixtures/demo-federation.json");

/// A builder for the demo federation (base `https://demo.example` until served).
pub fn builder() -> FederationBuilder {
    load(DEMO_FIXTURE).unwrap_or_else(|e| panic!("the demo fixture is broken: {e}"))
}

/// Why a federation description is not in the fixture format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// Not JSON.
    #[error("not JSON: {detail}")]
    Json {
        /// serde's message.
        detail: String,
    },
    /// No `entities` array.
    #[error("no entities")]
    NoEntities,
    /// A member is missing or not a string.
    #[error("{member} missing in {within}")]
    Missing {
        /// The member.
        member: String,
        /// The object it is missing from, as JSON.
        within: String,
    },
    /// A `role` other than `anchor`, `intermediate` and `leaf`.
    #[error("unknown role {role}")]
    UnknownRole {
        /// The role given.
        role: String,
    },
    /// An `alg` the test keys do not have.
    #[error("unknown alg {alg}")]
    UnknownAlg {
        /// The `alg` given.
        alg: String,
    },
}

/// Reads a federation description in the fixture format.
///
/// ```
/// use oidfed::testing::demo::{DemoError, load};
/// assert!(matches!(load("{}"), Err(DemoError::NoEntities)));
/// ```
pub fn load(json: &str) -> Result<FederationBuilder, DemoError> {
    let v: Value = serde_json::from_str(json).map_err(|e| DemoError::Json {
        detail: e.to_string(),
    })?;
    let mut b = FederationBuilder::new("https://demo.example");
    if let Some(l) = v.get("lifetime").and_then(Value::as_i64) {
        b = b.lifetime(l);
    }
    let str_of = |x: &Value, k: &str| -> Result<String, DemoError> {
        x.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| DemoError::Missing {
                member: k.to_string(),
                within: x.to_string(),
            })
    };
    let unknown_alg = |alg: &str| DemoError::UnknownAlg {
        alg: alg.to_string(),
    };
    for e in v
        .get("entities")
        .and_then(Value::as_array)
        .ok_or(DemoError::NoEntities)?
    {
        let name = str_of(e, "name")?;
        let sups: Vec<String> = e
            .get("superiors")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let sups: Vec<&str> = sups.iter().map(String::as_str).collect();
        b = match str_of(e, "role")?.as_str() {
            "anchor" => b.anchor(&name),
            "intermediate" => b.intermediate(&name, &sups),
            "leaf" => b.leaf(&name, &sups),
            other => {
                return Err(DemoError::UnknownRole {
                    role: other.to_string(),
                });
            }
        };
        if let Some(alg) = e.get("alg").and_then(Value::as_str) {
            b = b.key_alg(
                &name,
                KeyAlg::from_name(alg).ok_or_else(|| unknown_alg(alg))?,
            );
        }
        if let Some(md) = e.get("metadata").and_then(Value::as_object) {
            for (t, m) in md {
                b = b.metadata(&name, t, m.clone());
            }
        }
        if let Some(claims) = e.get("claims").and_then(Value::as_object) {
            for (k, c) in claims {
                b = b.ec_claim(&name, k, c.clone());
            }
        }
        if let Some(pk) = e.get("protocol_key") {
            let alg = str_of(pk, "alg")?;
            b = b.protocol_key(
                &name,
                &str_of(pk, "entity_type")?,
                KeyAlg::from_name(&alg).ok_or_else(|| unknown_alg(&alg))?,
            );
        }
    }
    for s in v
        .get("statements")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (iss, sub) = (str_of(s, "issuer")?, str_of(s, "subject")?);
        for claim in ["metadata_policy", "constraints", "metadata_policy_crit"] {
            if let Some(c) = s.get(claim) {
                b = b.ss_claim(&iss, &sub, claim, c.clone());
            }
        }
        if let Some(md) = s.get("metadata").and_then(Value::as_object) {
            for (t, m) in md {
                b = b.subordinate_metadata(&iss, &sub, t, m.clone());
            }
        }
    }
    for m in v
        .get("trust_marks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        b = b.trust_mark(
            &str_of(m, "issuer")?,
            &str_of(m, "subject")?,
            &str_of(m, "type")?,
        );
    }
    Ok(b)
}

/// The demo relying party's protocol key (it signs request objects).
pub fn rp_protocol_key(fed: &super::Federation) -> TestKey {
    fed.protocol_key("rp")
        .unwrap_or_else(|| panic!("the demo relying party has no protocol key"))
}
