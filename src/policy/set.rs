//! Arrays as sets, in O(n log n): a total order on JSON values that agrees with JSON
//! equality (`a == b` exactly when [`cmp`] says `Equal`), and ordered sets built on it. Every
//! policy set operation (`subset_of`, `superset_of`, `one_of`, `add`, `scope` words) goes
//! through here, so a hostile policy of n values costs n log n comparisons, never n².

use std::cmp::Ordering;
use std::collections::BTreeSet;

use serde_json::Value;

#[cfg(feature = "testing")]
thread_local! {
    static COMPARISONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Comparisons made by [`cmp`] on this thread since the last reset (test hook).
#[cfg(feature = "testing")]
pub(crate) fn comparisons() -> u64 {
    COMPARISONS.with(|c| c.get())
}

/// Resets the comparison counter of this thread (test hook).
#[cfg(feature = "testing")]
pub(crate) fn reset_comparisons() {
    COMPARISONS.with(|c| c.set(0));
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// Numbers compare as `serde_json` compares them for equality: an integer never equals a
/// float (`1` ≠ `1.0`), integers by value, floats by value (`-0.0` = `0.0`; JSON has no NaN).
fn cmp_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Ordering {
    let class = |n: &serde_json::Number| {
        if n.is_u64() {
            0
        } else if n.is_i64() {
            1
        } else {
            2
        }
    };
    match (class(a), class(b)) {
        (0, 0) => a.as_u64().cmp(&b.as_u64()),
        (1, 1) => a.as_i64().cmp(&b.as_i64()),
        (2, 2) => {
            let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (ca, cb) => ca.cmp(&cb),
    }
}

/// A total order on JSON values, `Equal` exactly when the values are equal as JSON (object
/// member order is not significant, array order is).
pub(crate) fn cmp(a: &Value, b: &Value) -> Ordering {
    #[cfg(feature = "testing")]
    COMPARISONS.with(|c| c.set(c.get() + 1));
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => cmp_numbers(x, y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = cmp(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        // Member order is not significant (and `Map` may keep insertion order): compare the
        // (name, value) lists sorted by name.
        (Value::Object(x), Value::Object(y)) => {
            let (x, y) = (sorted_members(x), sorted_members(y));
            for ((kp, vp), (kq, vq)) in x.iter().zip(&y) {
                let o = kp.cmp(kq).then_with(|| cmp(vp, vq));
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

fn sorted_members(m: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut v: Vec<(&String, &Value)> = m.iter().collect();
    v.sort_by(|p, q| p.0.cmp(q.0));
    v
}

/// A value ordered by [`cmp`], for ordered sets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ordered<'a>(pub &'a Value);

impl PartialEq for Ordered<'_> {
    fn eq(&self, other: &Self) -> bool {
        cmp(self.0, other.0) == Ordering::Equal
    }
}
impl Eq for Ordered<'_> {}
impl PartialOrd for Ordered<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ordered<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp(self.0, other.0)
    }
}

/// The elements of an array as a sorted set: built in O(n log n), queried in O(log n).
pub(crate) struct ValueSet<'a> {
    sorted: Vec<&'a Value>,
}

impl<'a> ValueSet<'a> {
    pub(crate) fn new(items: &'a [Value]) -> Self {
        let mut sorted: Vec<&Value> = items.iter().collect();
        sorted.sort_by(|a, b| cmp(a, b));
        sorted.dedup_by(|a, b| cmp(a, b) == Ordering::Equal);
        Self { sorted }
    }

    pub(crate) fn contains(&self, v: &Value) -> bool {
        self.sorted.binary_search_by(|x| cmp(x, v)).is_ok()
    }
}

/// Whether every element of `a` is in `b`.
pub(crate) fn subset(a: &[Value], b: &[Value]) -> bool {
    let b = ValueSet::new(b);
    a.iter().all(|x| b.contains(x))
}

/// Union, deterministic: `a` in order, then new elements of `b` in order, no duplicates.
pub(crate) fn union(a: &[Value], b: &[Value]) -> Vec<Value> {
    let mut seen: BTreeSet<Ordered<'_>> = BTreeSet::new();
    let mut out = Vec::with_capacity(a.len() + b.len());
    for x in a.iter().chain(b) {
        if seen.insert(Ordered(x)) {
            out.push(x.clone());
        }
    }
    out
}

/// Intersection in `a`'s order, no duplicates.
pub(crate) fn intersection(a: &[Value], b: &[Value]) -> Vec<Value> {
    let b = ValueSet::new(b);
    let mut seen: BTreeSet<Ordered<'_>> = BTreeSet::new();
    a.iter()
        .filter(|x| b.contains(x) && seen.insert(Ordered(x)))
        .cloned()
        .collect()
}

/// The elements of `required` missing from `have`, in `required`'s order.
pub(crate) fn missing<'a>(required: &'a [Value], have: &[Value]) -> Vec<&'a Value> {
    let have = ValueSet::new(have);
    required.iter().filter(|x| !have.contains(x)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn order_agrees_with_json_equality() {
        let vals = [
            json!(null),
            json!(true),
            json!(false),
            json!(1),
            json!(-1),
            json!(1.0),
            json!(-0.0),
            json!(0.0),
            json!("a"),
            json!(["a", 1]),
            json!([1, "a"]),
            json!({"a": 1, "b": 2}),
            json!({"b": 2, "a": 1}),
            json!({"a": 1}),
        ];
        for a in &vals {
            for b in &vals {
                assert_eq!(cmp(a, b) == Ordering::Equal, a == b, "{a} vs {b}");
                assert_eq!(cmp(a, b), cmp(b, a).reverse(), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn set_operations_keep_order_and_drop_duplicates() {
        let a = [json!("x"), json!("y"), json!("x"), json!(1)];
        let b = [json!(1), json!("z"), json!("y")];
        assert_eq!(
            union(&a, &b),
            vec![json!("x"), json!("y"), json!(1), json!("z")]
        );
        assert_eq!(intersection(&a, &b), vec![json!("y"), json!(1)]);
        assert!(subset(&[json!(1), json!("y")], &b));
        assert!(!subset(&a, &b));
        assert_eq!(missing(&b, &a), vec![&json!("z")]);
    }
}
