//! Resolved Metadata of a chain's subject (§6.1.4.2, §3.1.1, §6.2.3):
//!
//! 1. the subject's EC `metadata`;
//! 2. the Immediate Superior's `metadata` replaces parameters, only for Entity Types the
//!    subject has (a shallow, per-parameter override, never a deep merge);
//! 3. every `allowed_entity_types` constraint removes the types it does not allow
//!    (never `federation_entity`);
//! 4. the chain's metadata policy, merged from the anchor down, is applied to each type;
//! 5. post-checks: no `null`, `issuer` of providers equal to the Entity Identifier, no JWK
//!    Set parameters under `federation_entity`.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::chain::ValidationContext;
use crate::chain::validate::constraint_sources;
use crate::constraints::Constraints;
use crate::error::{Error, Limit};
use crate::policy::{PolicyErrorKind, PolicySource};
use crate::resolver::Limits;
use crate::statement::{EntityStatement, Rule};

/// Resolves the subject's metadata for every Entity Type. `top` is the index of the last
/// Subordinate Statement (0 when the chain is the anchor alone: its EC metadata as is).
/// Returns the metadata and the Entity Types that `allowed_entity_types` removed.
pub(crate) fn resolve(
    statements: &[Arc<EntityStatement>],
    top: usize,
    ctx: &ValidationContext<'_>,
) -> Result<(Map<String, Value>, Vec<String>), Error> {
    let Some(es0) = statements.first() else {
        return Ok((Map::new(), Vec::new()));
    };
    check_value_sizes(statements, top, ctx.limits)?;
    let mut m = es0.metadata().cloned().unwrap_or_default();
    if top == 0 {
        return Ok((m, Vec::new()));
    }

    // Step 2: the Immediate Superior's override.
    if let Some(over) = statements.get(1).and_then(|s| s.metadata()) {
        for (entity_type, params) in over {
            let (Some(target), Some(params)) = (
                m.get_mut(entity_type).and_then(Value::as_object_mut),
                params.as_object(),
            ) else {
                // Types the subject does not have are ignored: a superior's `metadata` applies only
                // to Entity Types present in the subject's own (§3.1.1).
                continue;
            };
            for (p, v) in params {
                target.insert(p.clone(), v.clone());
            }
        }
    }

    // Step 3: allowed_entity_types, after the override and before policy.
    let mut removed = Vec::new();
    for (_, ss, raw) in constraint_sources(statements, top) {
        let c =
            Constraints::from_json(raw).map_err(|d| ss.error(Rule::Constraints, d.to_string()))?;
        removed.extend(c.filter_entity_types(&mut m));
    }

    // Step 4: policy, merged from the anchor's statement down to the Immediate Superior's.
    let sources: Vec<PolicySource<'_>> = statements[1..=top]
        .iter()
        .rev()
        .map(|s| PolicySource::from(&**s))
        .collect();
    let policy_error = |e: crate::policy::PolicyError| {
        let via = e
            .statement()
            .map(|(i, s)| format!("{i} → {s}"))
            .unwrap_or_else(|| format!("the chain to {}", statements[top].issuer()));
        match e.kind {
            PolicyErrorKind::LimitExceeded { limit, value } => Error::LimitExceeded {
                limit,
                value,
                context: Some(format!(
                    "metadata policy for {} via {via}: {e}",
                    es0.subject()
                )),
            },
            _ => Error::Policy {
                subject: es0.subject().clone(),
                via,
                code: e.error_code(),
                source: Box::new(e),
            },
        }
    };
    let deadline = ctx.policy_deadline();
    if let Some(policy) =
        crate::policy::resolve_chain_policy_within(&sources, ctx.operators, deadline)
            .map_err(policy_error)?
    {
        ctx.check_deadline("merging the chain's metadata policy")?;
        m = policy
            .apply_within(&m, ctx.operators, deadline)
            .map_err(policy_error)?;
    }
    ctx.check_deadline("applying the chain's metadata policy")?;

    post_check(es0, &m)?;
    Ok((m, removed))
}

/// §6.1.4.2: metadata that is "illegal or otherwise incorrect" must not be used.
fn post_check(es0: &EntityStatement, m: &Map<String, Value>) -> Result<(), Error> {
    let bad = |detail: String| -> Error {
        Error::Policy {
            subject: es0.subject().clone(),
            via: "the resolved metadata".into(),
            code: crate::error::ErrorCode::InvalidMetadata,
            source: Box::new(crate::policy::PolicyError::new(
                PolicyErrorKind::IllegalMetadata,
                detail,
            )),
        }
    };
    for (t, params) in m {
        let Some(params) = params.as_object() else {
            return Err(bad(format!("{t} is not an object")));
        };
        if let Some((p, _)) = params.iter().find(|(_, v)| v.is_null()) {
            return Err(bad(format!("{t}.{p} is null")));
        }
    }
    for t in ["openid_provider", "oauth_authorization_server"] {
        if let Some(issuer) = m.get(t).and_then(|x| x.get("issuer")) {
            if issuer.as_str() != Some(es0.subject().as_str()) {
                return Err(bad(format!(
                    "{t}.issuer {issuer} is not the Entity Identifier {} (§5.1.3)",
                    es0.subject()
                )));
            }
        }
    }
    if let Some(fe) = m.get("federation_entity").and_then(Value::as_object) {
        for p in ["jwks", "jwks_uri", "signed_jwks_uri"] {
            if fe.contains_key(p) {
                return Err(bad(format!(
                    "federation_entity must not contain {p} (§5.2.1)"
                )));
            }
        }
    }
    Ok(())
}

/// The sizes of `metadata` and `metadata_policy` values (array length, string length, words
/// of a `scope`), checked before any policy work: the subject's metadata, its superior's
/// `metadata` and every `metadata_policy` of the chain.
fn check_value_sizes(
    statements: &[Arc<EntityStatement>],
    top: usize,
    limits: &Limits,
) -> Result<(), Error> {
    let mut values: Vec<(&EntityStatement, &'static str, &Map<String, Value>)> = Vec::new();
    if let Some(es0) = statements.first() {
        if let Some(m) = es0.metadata() {
            values.push((es0, "metadata", m));
        }
    }
    for ss in statements.iter().take(top + 1).skip(1) {
        if let Some(m) = ss.metadata() {
            values.push((ss, "metadata", m));
        }
        if let Some(Value::Object(p)) = ss.metadata_policy() {
            values.push((ss, "metadata_policy", p));
        }
    }
    for (s, claim, members) in values {
        for (name, v) in members {
            check_sizes(v, name == "scope", limits).map_err(|(limit, value, found)| {
                Error::LimitExceeded {
                    limit,
                    value: value as u64,
                    context: Some(format!(
                        "{claim} of the statement {} → {}: {found} under {name:?}",
                        s.issuer(),
                        s.subject()
                    )),
                }
            })?;
        }
    }
    Ok(())
}

/// One value, recursively (its depth is bounded by the JSON parser). Under a member named
/// `scope` (a parameter, or an Entity Type's `scope` policy) strings are counted in words.
fn check_sizes(v: &Value, scope: bool, l: &Limits) -> Result<(), (Limit, usize, String)> {
    match v {
        Value::String(s) => {
            // A scope is judged by its words first: that is the limit it is meant to meet.
            if scope {
                let words = s.split_whitespace().count();
                if words > l.max_scope_words {
                    return Err((
                        Limit::ScopeWords,
                        l.max_scope_words,
                        format!("a scope of {words} words"),
                    ));
                }
            }
            if s.len() > l.max_value_string_len {
                return Err((
                    Limit::ValueStringLength,
                    l.max_value_string_len,
                    format!("a string of {} bytes", s.len()),
                ));
            }
            Ok(())
        }
        Value::Array(a) => {
            if a.len() > l.max_value_array_len {
                return Err((
                    Limit::ValueArrayLength,
                    l.max_value_array_len,
                    format!("an array of {} elements", a.len()),
                ));
            }
            a.iter().try_for_each(|x| check_sizes(x, scope, l))
        }
        Value::Object(o) => o
            .iter()
            .try_for_each(|(k, x)| check_sizes(x, scope || k == "scope", l)),
        _ => Ok(()),
    }
}
