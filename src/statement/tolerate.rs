//! The tolerances of an interoperability profile ([`crate::profile`]) applied to a
//! statement's parsed claims, before the strict checks run on the result. The signed bytes
//! are never touched: signatures are verified on the token as received.

use serde_json::{Map, Value};

use super::rule::Rule;
use crate::json::parse_object;
use crate::profile::{Tolerance, Tolerances, trust_mark_type_claim};

/// Object-valued claims that [`Tolerance::ObjectClaimAsString`] may read from a string.
/// Claims carrying keys (`jwks`, `trust_mark_owners`) are deliberately absent.
const OBJECT_CLAIMS: &[&str] = &[
    "metadata",
    "metadata_policy",
    "constraints",
    "trust_mark_issuers",
    "trust_marks_issuers",
];

/// What the tolerances changed.
#[derive(Default)]
pub(super) struct Normalized {
    /// Each tolerance used and what it accepted.
    pub deviations: Vec<(Tolerance, String)>,
    /// `constraints` found in an Entity Configuration (moved out of the claims).
    pub configuration_constraints: Option<Value>,
}

/// Applies the tolerances `t` to `claims` of an Entity Configuration (`is_ec`) or a
/// Subordinate Statement. Errors are what no tolerance can accept.
pub(super) fn normalize(
    claims: &mut Map<String, Value>,
    is_ec: bool,
    t: Tolerances,
) -> Result<Normalized, (Rule, String)> {
    let mut out = Normalized::default();
    if t.is_empty() {
        return Ok(out);
    }
    if t.contains(Tolerance::ObjectClaimAsString) {
        for name in OBJECT_CLAIMS {
            let Some(Value::String(s)) = claims.get(*name) else {
                continue;
            };
            if let Ok(o) = parse_object(s.as_bytes()) {
                claims.insert(name.to_string(), Value::Object(o));
                out.deviations.push((
                    Tolerance::ObjectClaimAsString,
                    format!("{name} was a JSON string holding an object; read as that object"),
                ));
            }
        }
    }
    if !is_ec {
        for (name, tol) in [
            (
                "authority_hints",
                Tolerance::AuthorityHintsInSubordinateStatement,
            ),
            ("trust_marks", Tolerance::TrustMarksInSubordinateStatement),
        ] {
            if t.contains(tol) && claims.remove(name).is_some() {
                out.deviations.push((
                    tol,
                    format!("{name} in a Subordinate Statement ignored (not used for trust)"),
                ));
            }
        }
    }
    if is_ec && t.contains(Tolerance::ConstraintsInConfiguration) {
        if let Some(c) = claims.remove("constraints") {
            out.configuration_constraints = Some(c);
            out.deviations.push((
                Tolerance::ConstraintsInConfiguration,
                "constraints in an Entity Configuration: applied as if the anchor's \
                 Subordinate Statements carried them when this is the chain's Trust Anchor, \
                 ignored otherwise"
                    .into(),
            ));
        }
    }
    if t.contains(Tolerance::PreFinalAllowedLeafEntityTypes) {
        let targets = [
            claims.get_mut("constraints"),
            out.configuration_constraints.as_mut(),
        ];
        for c in targets.into_iter().flatten() {
            let Some(c) = c.as_object_mut() else { continue };
            let Some(v) = c.remove("allowed_leaf_entity_types") else {
                continue;
            };
            if c.contains_key("allowed_entity_types") {
                return Err((
                    Rule::Constraints,
                    "both allowed_leaf_entity_types (pre-final) and allowed_entity_types are present"
                        .into(),
                ));
            }
            c.insert("allowed_entity_types".into(), v);
            out.deviations.push((
                Tolerance::PreFinalAllowedLeafEntityTypes,
                "pre-final constraint allowed_leaf_entity_types read as allowed_entity_types"
                    .into(),
            ));
        }
    }
    if is_ec && t.contains(Tolerance::MisspeltTrustMarksIssuers) {
        if let Some(v) = claims.remove("trust_marks_issuers") {
            if claims.contains_key("trust_mark_issuers") {
                out.deviations.push((
                    Tolerance::MisspeltTrustMarksIssuers,
                    "trust_marks_issuers ignored: trust_mark_issuers is present".into(),
                ));
            } else {
                claims.insert("trust_mark_issuers".into(), v);
                out.deviations.push((
                    Tolerance::MisspeltTrustMarksIssuers,
                    "trust_marks_issuers (no trust_mark_issuers) read as trust_mark_issuers".into(),
                ));
            }
        }
    }
    if is_ec && t.contains(Tolerance::PreFinalTrustMarkType) {
        if let Some(Value::Array(entries)) = claims.get_mut("trust_marks") {
            for (i, e) in entries.iter_mut().enumerate() {
                let Some(o) = e.as_object_mut() else { continue };
                let found = trust_mark_type_claim(o, true)
                    .map_err(|d| (Rule::TrustMarks, format!("trust_marks[{i}]: {d}")))?;
                if let Some((typ, Some(old))) = found {
                    let typ = typ.to_string();
                    o.insert("trust_mark_type".into(), Value::String(typ.clone()));
                    out.deviations.push((
                        Tolerance::PreFinalTrustMarkType,
                        format!("trust_marks[{i}].{old} {typ:?} read as trust_mark_type"),
                    ));
                }
            }
        }
    }
    Ok(out)
}
