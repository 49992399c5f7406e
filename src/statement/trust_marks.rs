//! Trust-mark claims of an Entity Configuration (§3.1.2): `trust_marks` entries (syntax
//! only), `trust_mark_issuers` and `trust_mark_owners`.

use serde_json::Value;

use crate::entity_id::EntityId;
use crate::jose::{CompactJws, KeySet};
use crate::json::parse_strict;
use crate::profile::trust_mark_type_claim;

/// An entry of an EC's `trust_marks` claim (§3.1.2): syntax only, not yet validated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrustMarkEntry {
    /// The declared type; equal to the type inside the JWT.
    pub trust_mark_type: String,
    /// The Trust Mark JWT.
    pub trust_mark: String,
}

/// The entries of `trust_marks`. With `tolerate_pre_final`, the JWT may name its type with
/// the pre-final `trust_mark_id`/`id` (the entries themselves were normalized before); each
/// such reading is returned as a note.
pub(super) fn trust_mark_entries(
    v: &Value,
    tolerate_pre_final: bool,
) -> Result<(Vec<TrustMarkEntry>, Vec<String>), String> {
    let mut notes = Vec::new();
    let arr = v.as_array().ok_or("trust_marks is not an array")?;
    let mut out = Vec::with_capacity(arr.len());
    for (i, e) in arr.iter().enumerate() {
        let o = e
            .as_object()
            .ok_or_else(|| format!("trust_marks[{i}] is not an object"))?;
        let declared = o
            .get("trust_mark_type")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("trust_marks[{i}].trust_mark_type missing"))?;
        let jwt = o
            .get("trust_mark")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("trust_marks[{i}].trust_mark missing"))?;
        // Syntax only (§3.2 step 20): the type inside the JWT must be the declared one.
        let inner = CompactJws::parse(jwt)
            .map_err(|e| format!("trust_marks[{i}].trust_mark: {e}"))
            .and_then(|j| {
                parse_strict(j.payload()).map_err(|e| format!("trust_marks[{i}]: {}", e.0))
            })?;
        let inner_type = match inner.as_object() {
            Some(o) => trust_mark_type_claim(o, tolerate_pre_final)
                .map_err(|d| format!("trust_marks[{i}]: {d}"))?
                .map(|(t, old)| {
                    if let Some(old) = old {
                        notes.push(format!(
                            "trust_marks[{i}]: the Trust Mark's {old} {t:?} read as trust_mark_type"
                        ));
                    }
                    t
                }),
            None => None,
        };
        if inner_type != Some(declared) {
            return Err(format!(
                "trust_marks[{i}] declares type {declared:?} but its JWT says {inner_type:?}"
            ));
        }
        out.push(TrustMarkEntry {
            trust_mark_type: declared.to_string(),
            trust_mark: jwt.to_string(),
        });
    }
    Ok((out, notes))
}

pub(super) fn check_trust_mark_issuers(v: &Value, allow_http: bool) -> Result<(), String> {
    let o = v.as_object().ok_or("not an object")?;
    for (t, issuers) in o {
        let arr = issuers
            .as_array()
            .ok_or_else(|| format!("issuers of {t} is not an array"))?;
        for i in arr {
            let s = i
                .as_str()
                .ok_or_else(|| format!("issuer of {t} is not a string"))?;
            EntityId::parse_with(s, allow_http).map_err(|e| format!("issuer {s:?} of {t}: {e}"))?;
        }
    }
    Ok(())
}

pub(super) fn check_trust_mark_owners(v: &Value, allow_http: bool) -> Result<(), String> {
    let o = v.as_object().ok_or("not an object")?;
    for (t, owner) in o {
        let owner = owner
            .as_object()
            .ok_or_else(|| format!("owner of {t} is not an object"))?;
        let sub = owner
            .get("sub")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("owner of {t} has no sub"))?;
        EntityId::parse_with(sub, allow_http).map_err(|e| format!("owner {sub:?} of {t}: {e}"))?;
        let jwks = owner
            .get("jwks")
            .ok_or_else(|| format!("owner of {t} has no jwks"))?;
        KeySet::from_json(jwks).map_err(|e| format!("owner of {t}: {e}"))?;
    }
    Ok(())
}
