//! One parameter's operators: the combination rules (§6.1.3), merging two values of one
//! operator (§6.1.4.1) and application in order, standard and custom (§6.1.4.2, §6.1.3.2).

use serde_json::Value;

use super::error::{PolicyError, PolicyErrorKind as K};
use super::scope::{scope_canonical, scope_string, scope_view, scope_view_list, scope_words};
use super::set::ValueSet;
use super::{OperatorKind, OperatorRegistry, Operators, PolicyOperator, operators, values_equal};

/// The combination rules inside one parameter's policy (§6.1.3), standard and custom.
pub(super) fn check_parameter(
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
pub(super) fn merge_one(
    scope: bool,
    op: &str,
    sup: &Value,
    sub: &Value,
    registry: &OperatorRegistry,
) -> Result<Value, PolicyError> {
    if operators::is_standard(op) {
        if scope && matches!(op, "value" | "default") {
            // Equal as word lists (in order, as `values_equal` compares arrays), keeping the
            // superior's form.
            return if values_equal(&scope_words(sup), &scope_words(sub)) {
                Ok(sup.clone())
            } else {
                Err(PolicyError::new(K::MergeConflict, format!("{sup} and {sub} differ")).op(op))
            };
        }
        if scope && op == "one_of" {
            let (a, b) = (scope_view_list(sup), scope_view_list(sub));
            let b = ValueSet::new(&b);
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

/// Applies one parameter's operators in order (§6.1.4.2, §6.1.3.2): `value`, custom
/// modifiers, `add`, `default`, `one_of`, `subset_of`, `superset_of`, custom checks,
/// `essential`.
pub(super) fn apply_parameter(
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
