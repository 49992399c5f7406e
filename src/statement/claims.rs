//! Claims of an Entity Statement (§3.1): the claims the specification defines, which of them
//! may appear only in an Entity Configuration or only in a Subordinate Statement (claim
//! placement), identifier and NumericDate claims, `crit`, `metadata`, hint arrays and
//! `metadata_policy_crit`.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::Rule;
use crate::entity_id::EntityId;

/// Claims this specification defines for Entity Statements; `crit` must not list them
/// (§3.2 step 13).
pub const SPEC_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "iat",
    "exp",
    "jwks",
    "metadata",
    "crit",
    "authority_hints",
    "trust_anchor_hints",
    "trust_marks",
    "trust_mark_issuers",
    "trust_mark_owners",
    "constraints",
    "metadata_policy",
    "metadata_policy_crit",
    "source_endpoint",
    "aud",
    "trust_anchor",
    "ref",
];

pub(super) const EC_ONLY: &[&str] = &[
    "authority_hints",
    "trust_anchor_hints",
    "trust_marks",
    "trust_mark_issuers",
    "trust_mark_owners",
];
pub(super) const SS_ONLY: &[&str] = &[
    "constraints",
    "metadata_policy",
    "metadata_policy_crit",
    "source_endpoint",
];

/// Latest NumericDate accepted (9999-12-31T23:59:59Z); later values are malformed.
pub const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

pub(super) fn entity_id_claim(
    claims: &Map<String, Value>,
    name: &str,
    allow_http: bool,
) -> Result<EntityId, String> {
    let s = claims
        .get(name)
        .ok_or_else(|| format!("{name} is missing"))?
        .as_str()
        .ok_or_else(|| format!("{name} is not a string"))?;
    EntityId::parse_with(s, allow_http)
        .map_err(|e| format!("{name} {s:?} is not an Entity Identifier: {e}"))
}

/// Which way a fractional NumericDate is rounded: the safe direction for the claim.
#[derive(Clone, Copy)]
pub(crate) enum Rounding {
    /// `iat`: a later issue time.
    Up,
    /// `exp`: an earlier expiry.
    Down,
}

/// Reads a NumericDate. Fractions are allowed by RFC 7519 and rounded in the safe direction
/// (`iat` up, `exp` down); negative, non-finite and absurd values are malformed.
pub(crate) fn numeric_date(
    claims: &Map<String, Value>,
    name: &str,
    r: Rounding,
) -> Result<i64, String> {
    let v = claims
        .get(name)
        .ok_or_else(|| format!("{name} is missing"))?;
    let n = v
        .as_number()
        .ok_or_else(|| format!("{name} is not a number"))?;
    let t = if let Some(i) = n.as_i64() {
        i
    } else if let Some(f) = n.as_f64() {
        if !f.is_finite() || f < 0.0 || f > MAX_NUMERIC_DATE as f64 {
            return Err(format!("{name} {f} is not a usable NumericDate"));
        }
        match r {
            Rounding::Up => f.ceil() as i64,
            Rounding::Down => f.floor() as i64,
        }
    } else {
        return Err(format!("{name} is out of range"));
    };
    if !(0..=MAX_NUMERIC_DATE).contains(&t) {
        return Err(format!("{name} {t} is not a usable NumericDate"));
    }
    Ok(t)
}

/// An optional NumericDate: `None` only when the claim is absent. A claim that is present
/// but malformed (`"1000"`, `-1`…) is an error, never "no such claim".
pub(crate) fn optional_numeric_date(
    claims: &Map<String, Value>,
    name: &str,
    r: Rounding,
) -> Result<Option<i64>, String> {
    if claims.contains_key(name) {
        numeric_date(claims, name, r).map(Some)
    } else {
        Ok(None)
    }
}

/// The time rule of §3.2 steps 7–8, for every signed object read with it: `iat` may be at
/// most `skew` seconds in the future; the object is refused from `exp + skew` on.
pub(crate) fn check_validity(
    iat: Option<i64>,
    exp: Option<i64>,
    now: i64,
    skew: i64,
) -> Result<(), (Rule, String)> {
    if let Some(iat) = iat.filter(|iat| *iat > now.saturating_add(skew)) {
        return Err((
            Rule::IssuedAt,
            format!("iat {iat} is in the future (now {now}, leeway {skew} s)"),
        ));
    }
    if let Some(exp) = exp.filter(|exp| now >= exp.saturating_add(skew)) {
        return Err((
            Rule::Expiry,
            format!("expired at {exp} (now {now}, leeway {skew} s)"),
        ));
    }
    Ok(())
}

pub(super) fn check_crit(claims: &Map<String, Value>, understood: &[String]) -> Result<(), String> {
    let Some(v) = claims.get("crit") else {
        return Ok(());
    };
    let arr = v.as_array().ok_or("crit is not an array")?;
    if arr.is_empty() {
        return Err("crit must not be empty".into());
    }
    let mut seen = HashSet::new();
    for c in arr {
        let c = c.as_str().ok_or("crit contains a non-string")?;
        if !seen.insert(c) {
            return Err(format!("crit lists {c:?} twice"));
        }
        if SPEC_CLAIMS.contains(&c) {
            return Err(format!(
                "crit lists {c:?}, a claim this specification defines"
            ));
        }
        if !claims.contains_key(c) {
            return Err(format!(
                "crit lists {c:?}, which the statement does not contain"
            ));
        }
        if !understood.iter().any(|u| u == c) {
            return Err(format!("critical claim {c:?} is not understood"));
        }
    }
    Ok(())
}

/// `metadata`: an object of Entity Type → object, with no `null` parameter values (§5).
pub(crate) fn check_metadata(m: &Value) -> Result<(), String> {
    let types = m.as_object().ok_or("metadata is not an object")?;
    for (t, params) in types {
        let params = params
            .as_object()
            .ok_or_else(|| format!("metadata for {t} is not an object"))?;
        if let Some((p, _)) = params.iter().find(|(_, v)| v.is_null()) {
            return Err(format!("metadata {t}.{p} is null"));
        }
    }
    Ok(())
}

pub(super) fn id_array(v: &Value, allow_http: bool) -> Result<Vec<EntityId>, String> {
    let arr = v.as_array().ok_or("not an array")?;
    if arr.is_empty() {
        return Err("must not be an empty array".into());
    }
    arr.iter()
        .map(|x| {
            let s = x.as_str().ok_or("contains a non-string")?;
            EntityId::parse_with(s, allow_http)
                .map_err(|e| format!("{s:?} is not an Entity Identifier: {e}"))
        })
        .collect()
}

/// The standard policy operators, which `metadata_policy_crit` must not list (one list,
/// owned by the policy module).
pub const STANDARD_OPERATORS: &[&str] = &crate::policy::STANDARD_OPERATOR_ORDER;

pub(super) fn check_policy_crit(v: &Value, understood: &[String]) -> Result<(), String> {
    let arr = v.as_array().ok_or("metadata_policy_crit is not an array")?;
    if arr.is_empty() {
        return Err("metadata_policy_crit must not be empty".into());
    }
    for op in arr {
        let op = op
            .as_str()
            .ok_or("metadata_policy_crit contains a non-string")?;
        if STANDARD_OPERATORS.contains(&op) {
            return Err(format!(
                "metadata_policy_crit lists the standard operator {op:?}"
            ));
        }
        if !understood.iter().any(|u| u == op) {
            return Err(format!("critical policy operator {op:?} is not supported"));
        }
    }
    Ok(())
}
