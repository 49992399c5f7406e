//! The demo federation of `fixtures/demo-federation.json`, used by the examples.

use serde_json::Value;

use super::{FederationBuilder, KeyAlg, TestKey};

/// The demo fixture, compiled in.
pub const DEMO_FIXTURE: &str = include_str!("../../fixtures/demo-federation.json");

/// A builder for the demo federation (base `https://demo.example` until served).
pub fn builder() -> FederationBuilder {
    load(DEMO_FIXTURE).unwrap_or_else(|e| panic!("the demo fixture is broken: {e}"))
}

/// Reads a federation description in the fixture format.
pub fn load(json: &str) -> Result<FederationBuilder, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut b = FederationBuilder::new("https://demo.example");
    if let Some(l) = v.get("lifetime").and_then(Value::as_i64) {
        b = b.lifetime(l);
    }
    let str_of = |x: &Value, k: &str| -> Result<String, String> {
        x.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or(format!("{k} missing in {x}"))
    };
    for e in v
        .get("entities")
        .and_then(Value::as_array)
        .ok_or("no entities")?
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
            other => return Err(format!("unknown role {other}")),
        };
        if let Some(alg) = e.get("alg").and_then(Value::as_str) {
            b = b.key_alg(
                &name,
                KeyAlg::from_name(alg).ok_or(format!("unknown alg {alg}"))?,
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
                KeyAlg::from_name(&alg).ok_or(format!("unknown alg {alg}"))?,
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
