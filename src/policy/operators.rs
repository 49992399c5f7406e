//! The seven standard operators (§6.1.3.1): value types, combination rules, merge rules and
//! application, in one place each.

use serde_json::Value;

use super::error::{PolicyError, PolicyErrorKind as K};
pub(crate) use super::set::union;
use super::set::{intersection, missing, subset};

/// Standard operators in application order (§6.1.4.2).
pub const ORDER: [&str; 7] = [
    "value",
    "add",
    "default",
    "one_of",
    "subset_of",
    "superset_of",
    "essential",
];

pub(crate) fn is_standard(op: &str) -> bool {
    ORDER.contains(&op)
}

/// Equality for `value` and `default` merges: strict JSON equality, arrays in order (the
/// specification says only "equal"; order-significant equality is the strict reading).
pub fn values_equal(a: &Value, b: &Value) -> bool {
    a == b
}

fn is_scalar(v: &Value) -> bool {
    matches!(
        v,
        Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Object(_)
    )
}

/// Checks the type of a standard operator's value (§6.1.3.1.x).
pub(crate) fn check_value_type(op: &str, v: &Value) -> Result<(), PolicyError> {
    let bad = |what: &str| {
        Err(PolicyError::new(
            K::UnsupportedValueType,
            format!("{op} takes {what}, not {v}"),
        )
        .op(op))
    };
    match op {
        "value" => Ok(()),
        "default" if v.is_null() => bad("a non-null value"),
        "default" => Ok(()),
        "add" | "subset_of" | "superset_of" => match v {
            Value::Array(a) if a.iter().all(|x| !x.is_null() && !x.is_array()) => Ok(()),
            _ => bad("an array of strings, numbers or objects"),
        },
        "one_of" => match v {
            Value::Array(a) if !a.is_empty() && a.iter().all(is_scalar) => Ok(()),
            _ => bad("a non-empty array of strings, numbers, booleans or objects"),
        },
        "essential" if v.is_boolean() => Ok(()),
        "essential" => bad("a boolean"),
        _ => Ok(()),
    }
}

fn as_set(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// The table of allowed operator combinations (§6.1.3.1), inside one parameter's operators.
pub(crate) fn check_combinations<'a>(
    get: &dyn Fn(&str) -> Option<&'a Value>,
) -> Result<(), PolicyError> {
    let forbid = |a: &str, b: &str, why: &str| {
        Err(PolicyError::new(K::ForbiddenCombination, format!("{a} with {b}: {why}")).op(a))
    };
    if let Some(value) = get("value") {
        let null = value.is_null();
        if let Some(add) = get("add") {
            if null || !value.is_array() || !subset(as_set(add), as_set(value)) {
                return forbid("value", "add", "add must be a subset of an array value");
            }
        }
        if get("default").is_some() && null {
            return forbid("value", "default", "value null cannot have a default");
        }
        if let Some(one_of) = get("one_of") {
            if null || value.is_array() || !as_set(one_of).contains(value) {
                return forbid("value", "one_of", "value must be one of one_of");
            }
        }
        if let Some(sub) = get("subset_of") {
            if null || !value.is_array() || !subset(as_set(value), as_set(sub)) {
                return forbid("value", "subset_of", "value must be a subset of subset_of");
            }
        }
        if let Some(sup) = get("superset_of") {
            if null || !value.is_array() || !subset(as_set(sup), as_set(value)) {
                return forbid(
                    "value",
                    "superset_of",
                    "value must be a superset of superset_of",
                );
            }
        }
        if null && get("essential") == Some(&Value::Bool(true)) {
            return forbid("value", "essential", "value null cannot be essential");
        }
    }
    if get("add").is_some() && get("one_of").is_some() {
        return forbid("add", "one_of", "never allowed");
    }
    if let (Some(add), Some(sub)) = (get("add"), get("subset_of")) {
        if !subset(as_set(add), as_set(sub)) {
            return forbid("add", "subset_of", "add must be a subset of subset_of");
        }
    }
    if get("one_of").is_some() && get("subset_of").is_some() {
        return forbid("one_of", "subset_of", "never allowed");
    }
    if get("one_of").is_some() && get("superset_of").is_some() {
        return forbid("one_of", "superset_of", "never allowed");
    }
    if let (Some(sub), Some(sup)) = (get("subset_of"), get("superset_of")) {
        if !subset(as_set(sup), as_set(sub)) {
            return forbid(
                "subset_of",
                "superset_of",
                "subset_of must contain superset_of",
            );
        }
    }
    Ok(())
}

/// Merges two values of one standard operator (§6.1.4.1): superior's first.
pub(crate) fn merge(op: &str, sup: &Value, sub: &Value) -> Result<Value, PolicyError> {
    let conflict = |why: &str| Err(PolicyError::new(K::MergeConflict, why.to_string()).op(op));
    match op {
        "value" | "default" => {
            if values_equal(sup, sub) {
                Ok(sup.clone())
            } else {
                conflict(&format!("{sup} and {sub} differ"))
            }
        }
        "add" | "superset_of" => Ok(Value::Array(union(as_set(sup), as_set(sub)))),
        "subset_of" => Ok(Value::Array(intersection(as_set(sup), as_set(sub)))),
        "one_of" => {
            let i = intersection(as_set(sup), as_set(sub));
            if i.is_empty() {
                conflict(&format!("{sup} and {sub} have nothing in common"))
            } else {
                Ok(Value::Array(i))
            }
        }
        "essential" => Ok(Value::Bool(
            sup.as_bool().unwrap_or(false) || sub.as_bool().unwrap_or(false),
        )),
        _ => Ok(sup.clone()),
    }
}

/// Applies one standard operator to the parameter (`None` = absent).
pub(crate) fn apply(
    op: &str,
    opv: &Value,
    param: Option<Value>,
) -> Result<Option<Value>, PolicyError> {
    let wrong_type = |p: &Value, want: &str| {
        Err(PolicyError::new(
            K::UnsupportedMetadataType,
            format!("{op} needs {want}, the parameter is {p}"),
        )
        .op(op))
    };
    match op {
        "value" => Ok(if opv.is_null() {
            None
        } else {
            Some(opv.clone())
        }),
        "add" => match param {
            None => Ok(Some(opv.clone())),
            // The parameter's elements first (duplicates dropped), then the new ones.
            Some(Value::Array(a)) => Ok(Some(Value::Array(union(&a, as_set(opv))))),
            Some(p) => wrong_type(&p, "an array"),
        },
        "default" => Ok(param.or_else(|| Some(opv.clone()))),
        "one_of" => match param {
            None => Ok(None),
            Some(p) if p.is_array() || p.is_null() => wrong_type(&p, "a single value"),
            Some(p) if as_set(opv).contains(&p) => Ok(Some(p)),
            Some(p) => {
                Err(PolicyError::new(K::OneOfViolation, format!("{p} is not one of {opv}")).op(op))
            }
        },
        "subset_of" => match param {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(Value::Array(intersection(&a, as_set(opv))))),
            Some(p) => wrong_type(&p, "an array"),
        },
        "superset_of" => match param {
            None => Ok(None),
            Some(Value::Array(a)) => {
                let missing = missing(as_set(opv), &a);
                if missing.is_empty() {
                    Ok(Some(Value::Array(a)))
                } else {
                    Err(PolicyError::new(
                        K::SupersetViolation,
                        format!(
                            "{} lacks {}",
                            Value::Array(a.clone()),
                            Value::Array(missing.into_iter().cloned().collect())
                        ),
                    )
                    .op(op))
                }
            }
            Some(p) => wrong_type(&p, "an array"),
        },
        "essential" => {
            if opv.as_bool() == Some(true) && param.is_none() {
                Err(
                    PolicyError::new(K::EssentialMissing, "the parameter is essential but absent")
                        .op(op),
                )
            } else {
                Ok(param)
            }
        }
        _ => Ok(param),
    }
}
