//! Trust chain constraints (OpenID Federation 1.0 §6.2): `max_path_length`,
//! `naming_constraints` and `allowed_entity_types`.
//!
//! A `constraints` claim appears only in Subordinate Statements and applies to the
//! statement's subject and every entity below it. Each statement's constraints are checked
//! independently; any failure invalidates the chain. Unknown constraint parameters are
//! ignored.

use serde_json::{Map, Value};

use crate::entity_id::EntityId;

/// The Entity Type that `allowed_entity_types` can never remove (§6.2.3).
pub(crate) const FEDERATION_ENTITY: &str = "federation_entity";

/// The parsed `constraints` of one Subordinate Statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Constraints {
    /// Most Intermediates allowed between the constraining entity and the chain subject.
    pub max_path_length: Option<u64>,
    /// Host name constraints on the subordinate entities.
    pub naming: Option<NamingConstraints>,
    /// Entity Types allowed for the subordinates (besides `federation_entity`).
    pub allowed_entity_types: Option<Vec<String>>,
}

/// `naming_constraints` (§6.2.2), RFC 5280 URI semantics applied to the identifier's host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamingConstraints {
    /// When present, a host must match one of these.
    pub permitted: Option<Vec<String>>,
    /// A host matching one of these is refused, whatever `permitted` says.
    pub excluded: Vec<String>,
}

impl Constraints {
    /// Reads a `constraints` claim, rejecting malformed values (§3.2 step 19): a negative or
    /// fractional `max_path_length`, non-string names, or `federation_entity` listed in
    /// `allowed_entity_types` (§6.2.3 forbids listing it: the statement is malformed). The pre-final name `allowed_leaf_entity_types` is refused
    /// rather than ignored: ignoring it would silently drop the restriction it states (the
    /// interoperability profile reads it as `allowed_entity_types`,
    /// [`crate::Tolerance::PreFinalAllowedLeafEntityTypes`]).
    pub fn from_json(v: &Value) -> Result<Constraints, String> {
        let o = v.as_object().ok_or("constraints is not an object")?;
        if o.contains_key("allowed_leaf_entity_types") {
            return Err("allowed_leaf_entity_types is the pre-final name of \
                        allowed_entity_types (renamed in draft -34)"
                .into());
        }
        let max_path_length = match o.get("max_path_length") {
            None => None,
            Some(n) => Some(
                n.as_u64()
                    .ok_or_else(|| format!("max_path_length {n} is not an integer ≥ 0"))?,
            ),
        };
        let naming = match o.get("naming_constraints") {
            None => None,
            Some(n) => {
                let n = n.as_object().ok_or("naming_constraints is not an object")?;
                let names = |k: &str| -> Result<Option<Vec<String>>, String> {
                    match n.get(k) {
                        None => Ok(None),
                        Some(Value::Array(a)) => a
                            .iter()
                            .map(|x| {
                                x.as_str()
                                    .filter(|s| !s.is_empty() && *s != ".")
                                    .map(str::to_ascii_lowercase)
                                    .ok_or_else(|| {
                                        format!("naming_constraints.{k} has an invalid name")
                                    })
                            })
                            .collect::<Result<Vec<_>, _>>()
                            .map(Some),
                        Some(_) => Err(format!("naming_constraints.{k} is not an array")),
                    }
                };
                Some(NamingConstraints {
                    permitted: names("permitted")?,
                    excluded: names("excluded")?.unwrap_or_default(),
                })
            }
        };
        let allowed_entity_types = match o.get("allowed_entity_types") {
            None => None,
            Some(Value::Array(a)) => {
                let mut types = Vec::with_capacity(a.len());
                for t in a {
                    let t = t
                        .as_str()
                        .ok_or("allowed_entity_types contains a non-string")?;
                    if t == FEDERATION_ENTITY {
                        return Err("allowed_entity_types must not list federation_entity".into());
                    }
                    types.push(t.to_string());
                }
                Some(types)
            }
            Some(_) => return Err("allowed_entity_types is not an array".into()),
        };
        Ok(Constraints {
            max_path_length,
            naming,
            allowed_entity_types,
        })
    }

    /// `max_path_length` (§6.2.1): `intermediates` is the number of Intermediates between
    /// the constraining entity and the chain subject.
    pub fn check_path_length(&self, intermediates: usize) -> Result<(), String> {
        match self.max_path_length {
            Some(max) if intermediates as u64 > max => Err(format!(
                "{intermediates} intermediate(s) below the constraining entity, max_path_length is {max}"
            )),
            _ => Ok(()),
        }
    }

    /// `naming_constraints` (§6.2.2) for one subordinate entity.
    pub fn check_name(&self, id: &EntityId) -> Result<(), String> {
        let Some(n) = &self.naming else {
            return Ok(());
        };
        if n.permitted.is_none() && n.excluded.is_empty() {
            return Ok(());
        }
        if matches!(
            id.url().host(),
            Some(url::Host::Ipv4(_) | url::Host::Ipv6(_))
        ) {
            return Err(format!(
                "{id}: an IP address host cannot satisfy a naming constraint"
            ));
        }
        let host = id.host().to_ascii_lowercase();
        if let Some(x) = n.excluded.iter().find(|e| name_matches(&host, e)) {
            return Err(format!("{id}: host {host} is excluded by {x:?}"));
        }
        if let Some(p) = &n.permitted {
            if !p.iter().any(|e| name_matches(&host, e)) {
                return Err(format!(
                    "{id}: host {host} is not within the permitted names {p:?}"
                ));
            }
        }
        Ok(())
    }

    /// `allowed_entity_types` (§6.2.3): removes every Entity Type that is not allowed from
    /// `metadata` (never `federation_entity`) and returns the removed types.
    pub fn filter_entity_types(&self, metadata: &mut Map<String, Value>) -> Vec<String> {
        let Some(allowed) = &self.allowed_entity_types else {
            return Vec::new();
        };
        // A set, and one pass: n types against m allowed cost (n + m) log m, not n·m.
        let allowed: std::collections::BTreeSet<&str> =
            allowed.iter().map(String::as_str).collect();
        let mut removed = Vec::new();
        metadata.retain(|t, _| {
            let keep = t == FEDERATION_ENTITY || allowed.contains(t.as_str());
            if !keep {
                removed.push(t.clone());
            }
            keep
        });
        removed
    }
}

/// RFC 5280 §4.2.1.10 host matching: `.example.com` matches any host with at least one more
/// label; `example.com` matches exactly that host. Both sides are lower-case here.
fn name_matches(host: &str, constraint: &str) -> bool {
    if constraint.starts_with('.') {
        host.len() > constraint.len() && host.ends_with(constraint)
    } else {
        host == constraint
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(s: &str) -> EntityId {
        EntityId::parse(s).unwrap()
    }

    #[test]
    fn malformed_constraints() {
        for bad in [
            json!({"max_path_length": -1}),
            json!({"max_path_length": 1.5}),
            json!({"max_path_length": "1"}),
            json!({"naming_constraints": {"permitted": "x"}}),
            json!({"naming_constraints": {"permitted": [1]}}),
            json!({"allowed_entity_types": ["federation_entity"]}),
            json!({"allowed_entity_types": "openid_provider"}),
            json!({"allowed_leaf_entity_types": ["openid_provider"]}),
            json!([]),
        ] {
            assert!(Constraints::from_json(&bad).is_err(), "{bad} accepted");
        }
        // Unknown parameters are ignored.
        assert_eq!(
            Constraints::from_json(&json!({"foo": 1})).unwrap(),
            Constraints::default()
        );
    }

    #[test]
    fn path_length_boundary() {
        let c = Constraints::from_json(&json!({"max_path_length": 0})).unwrap();
        assert!(c.check_path_length(0).is_ok());
        assert!(c.check_path_length(1).is_err());
    }

    #[test]
    fn naming() {
        let c = Constraints::from_json(&json!({"naming_constraints": {
            "permitted": [".example.com"], "excluded": ["east.example.com"]}}))
        .unwrap();
        assert!(c.check_name(&id("https://example.com")).is_err());
        assert!(c.check_name(&id("https://east.example.com/rp")).is_err());
        assert!(c.check_name(&id("https://west.example.com")).is_ok());
        assert!(c.check_name(&id("https://a.east.example.com")).is_ok());
        assert!(c.check_name(&id("https://rp.example.com:8443/x")).is_ok());
        assert!(c.check_name(&id("https://RP.Example.COM")).is_ok());
        assert!(c.check_name(&id("https://badexample.com")).is_err());
        assert!(c.check_name(&id("https://10.0.0.1")).is_err());
        assert!(c.check_name(&id("https://[::1]")).is_err());
        let empty =
            Constraints::from_json(&json!({"naming_constraints": {"permitted": []}})).unwrap();
        assert!(empty.check_name(&id("https://west.example.com")).is_err());
        let exact = Constraints::from_json(
            &json!({"naming_constraints": {"permitted": ["Op.Example.org"]}}),
        )
        .unwrap();
        assert!(exact.check_name(&id("https://op.example.org/x")).is_ok());
        assert!(exact.check_name(&id("https://a.op.example.org")).is_err());
    }

    #[test]
    fn entity_type_filter_keeps_federation_entity() {
        let c = Constraints::from_json(&json!({"allowed_entity_types": ["openid_relying_party"]}))
            .unwrap();
        let mut m =
            json!({"openid_provider": {}, "openid_relying_party": {}, "federation_entity": {}})
                .as_object()
                .unwrap()
                .clone();
        assert_eq!(
            c.filter_entity_types(&mut m),
            vec!["openid_provider".to_string()]
        );
        assert!(m.contains_key("openid_relying_party") && m.contains_key("federation_entity"));
        let none = Constraints::from_json(&json!({"allowed_entity_types": []})).unwrap();
        none.filter_entity_types(&mut m);
        assert_eq!(m.keys().collect::<Vec<_>>(), vec!["federation_entity"]);
    }
}

#[cfg(test)]
mod examples {
    //! What the module promises, as the examples its documentation had while it was public.

    #[test]
    fn path_length_and_naming_constraints_are_checked() {
        use crate::EntityId;
        use crate::constraints::Constraints;
        use serde_json::json;

        let c = Constraints::from_json(&json!({
            "max_path_length": 1,
            "naming_constraints": { "permitted": [".example.com"], "excluded": ["east.example.com"] }
        })).unwrap();
        assert!(c.check_path_length(1).is_ok());
        assert!(c.check_path_length(2).is_err());
        assert!(
            c.check_name(&EntityId::parse("https://west.example.com").unwrap())
                .is_ok()
        );
        assert!(
            c.check_name(&EntityId::parse("https://east.example.com/rp").unwrap())
                .is_err()
        );
        assert!(
            c.check_name(&EntityId::parse("https://example.com").unwrap())
                .is_err()
        );
    }
}
