//! `scope` under client Entity Types: a space-separated string treated as the set of its
//! words and written back as a space-separated string (§6.1.3.1.8; no other parameter and no
//! other Entity Type is treated so).

use serde_json::Value;

use super::{Operators, operators};

/// Entity Types whose `scope` parameter is a space-separated set of words.
pub(super) const CLIENT_TYPES: [&str; 2] = ["openid_relying_party", "oauth_client"];

/// `scope` as a set: a string becomes the array of its words; anything else is unchanged.
pub(super) fn scope_words(v: &Value) -> Value {
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
pub(super) fn scope_canonical(v: &Value) -> Value {
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
pub(super) fn scope_string(v: Value) -> Value {
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
pub(super) fn scope_view(ops: &Operators) -> Operators {
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

pub(super) fn scope_view_list(v: &Value) -> Vec<Value> {
    v.as_array()
        .map(|a| a.iter().map(scope_canonical).collect())
        .unwrap_or_default()
}
