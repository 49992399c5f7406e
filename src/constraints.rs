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

/// Why a `constraints` claim is malformed (§3.2 step 19) or a chain breaks one (§6.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConstraintError {
    /// A member that must be an object (`constraints`, `naming_constraints`) is not.
    #[error("{member} is not an object")]
    NotAnObject {
        /// The member.
        member: &'static str,
    },
    /// A member that must be an array is not.
    #[error("{member} is not an array")]
    NotAnArray {
        /// The member (`naming_constraints.permitted`, `allowed_entity_types`…).
        member: String,
    },
    /// The pre-final name `allowed_leaf_entity_types` (renamed in draft -34).
    #[error(
        "allowed_leaf_entity_types is the pre-final name of allowed_entity_types (renamed in draft -34)"
    )]
    PreFinalName,
    /// `max_path_length` is not an integer ≥ 0.
    #[error("max_path_length {value} is not an integer ≥ 0")]
    MaxPathLength {
        /// The value given, as JSON.
        value: String,
    },
    /// A name of `naming_constraints` is empty, `.` or not a string.
    #[error("naming_constraints.{list} has an invalid name")]
    InvalidName {
        /// `permitted` or `excluded`.
        list: &'static str,
    },
    /// `allowed_entity_types` contains a non-string.
    #[error("allowed_entity_types contains a non-string")]
    EntityTypeNotString,
    /// `allowed_entity_types` lists `federation_entity` (which it can never remove).
    #[error("allowed_entity_types must not list federation_entity")]
    FederationEntityListed,
    /// More Intermediates than `max_path_length` allows (§6.2.1).
    #[error(
        "{intermediates} intermediate(s) below the constraining entity, max_path_length is {max}"
    )]
    PathTooLong {
        /// Intermediates between the constraining entity and the chain subject.
        intermediates: usize,
        /// The `max_path_length`.
        max: u64,
    },
    /// An IP address host, which no naming constraint can be satisfied by (§6.2.2).
    #[error("{entity}: an IP address host cannot satisfy a naming constraint")]
    IpAddressHost {
        /// The entity.
        entity: EntityId,
    },
    /// The host matches an `excluded` name.
    #[error("{entity}: host {host} is excluded by {by:?}")]
    Excluded {
        /// The entity.
        entity: EntityId,
        /// Its host, lower-case.
        host: String,
        /// The excluded name it matches.
        by: String,
    },
    /// The host matches none of the `permitted` names.
    #[error("{entity}: host {host} is not within the permitted names {permitted:?}")]
    NotPermitted {
        /// The entity.
        entity: EntityId,
        /// Its host, lower-case.
        host: String,
        /// The permitted names.
        permitted: Vec<String>,
    },
}

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
    pub fn from_json(v: &Value) -> Result<Constraints, ConstraintError> {
        use ConstraintError as E;
        let o = v.as_object().ok_or(E::NotAnObject {
            member: "constraints",
        })?;
        if o.contains_key("allowed_leaf_entity_types") {
            return Err(E::PreFinalName);
        }
        let max_path_length = match o.get("max_path_length") {
            None => None,
            Some(n) => Some(n.as_u64().ok_or_else(|| E::MaxPathLength {
                value: n.to_string().chars().take(100).collect(),
            })?),
        };
        let naming = match o.get("naming_constraints") {
            None => None,
            Some(n) => {
                let n = n.as_object().ok_or(E::NotAnObject {
                    member: "naming_constraints",
                })?;
                let names = |k: &'static str| -> Result<Option<Vec<String>>, ConstraintError> {
                    match n.get(k) {
                        None => Ok(None),
                        Some(Value::Array(a)) => a
                            .iter()
                            .map(|x| {
                                x.as_str()
                                    .filter(|s| !s.is_empty() && *s != ".")
                                    .map(str::to_ascii_lowercase)
                                    .ok_or(E::InvalidName { list: k })
                            })
                            .collect::<Result<Vec<_>, _>>()
                            .map(Some),
                        Some(_) => Err(E::NotAnArray {
                            member: format!("naming_constraints.{k}"),
                        }),
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
                    let t = t.as_str().ok_or(E::EntityTypeNotString)?;
                    if t == FEDERATION_ENTITY {
                        return Err(E::FederationEntityListed);
                    }
                    types.push(t.to_string());
                }
                Some(types)
            }
            Some(_) => {
                return Err(E::NotAnArray {
                    member: "allowed_entity_types".into(),
                });
            }
        };
        Ok(Constraints {
            max_path_length,
            naming,
            allowed_entity_types,
        })
    }

    /// `max_path_length` (§6.2.1): `intermediates` is the number of Intermediates between
    /// the constraining entity and the chain subject.
    pub fn check_path_length(&self, intermediates: usize) -> Result<(), ConstraintError> {
        match self.max_path_length {
            Some(max) if intermediates as u64 > max => {
                Err(ConstraintError::PathTooLong { intermediates, max })
            }
            _ => Ok(()),
        }
    }

    /// `naming_constraints` (§6.2.2) for one subordinate entity.
    pub fn check_name(&self, id: &EntityId) -> Result<(), ConstraintError> {
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
            return Err(ConstraintError::IpAddressHost { entity: id.clone() });
        }
        let host = id.host().to_ascii_lowercase();
        if let Some(x) = n.excluded.iter().find(|e| name_matches(&host, e)) {
            return Err(ConstraintError::Excluded {
                entity: id.clone(),
                host,
                by: x.clone(),
            });
        }
        if let Some(p) = &n.permitted {
            if !p.iter().any(|e| name_matches(&host, e)) {
                return Err(ConstraintError::NotPermitted {
                    entity: id.clone(),
                    host,
                    permitted: p.clone(),
                });
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
