//! Client records: what an authorization server stores about a federation client, with the
//! accountable organization that vouches for it, and what changed when it is re-resolved.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::chain::TrustChain;
use crate::entity_id::EntityId;
use crate::entity_type::EntityType;
use crate::profile::Deviation;

/// Where the client's protocol keys came from: `jwks`, `signed_jwks_uri` or `jwks_uri`
/// (OpenID Federation 1.0 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeySource {
    /// Inline `jwks` in the resolved metadata: anchored in the chain.
    Jwks,
    /// `signed_jwks_uri`, verified with the client's Federation Entity Keys.
    SignedJwksUri,
    /// `jwks_uri`, over TLS only.
    JwksUri,
    /// The metadata names no protocol keys.
    None,
}

/// How the organization binding was established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BindingEvidence {
    /// A superior fixed `organization_name` with a `value` policy operator.
    SuperiorPolicy {
        /// The superior whose statement carries the policy.
        by: EntityId,
    },
    /// The Immediate Superior set `organization_name` in its `metadata` about the client.
    SuperiorMetadata {
        /// The superior.
        by: EntityId,
    },
    /// Only the client itself declares its organization name.
    SelfDeclared,
    /// Nobody names the organization; the binding rests on the chain's structure alone.
    ChainOnly,
}

impl BindingEvidence {
    /// Whether a superior asserted the organization (rather than the client alone).
    pub fn is_asserted(&self) -> bool {
        matches!(
            self,
            BindingEvidence::SuperiorPolicy { .. } | BindingEvidence::SuperiorMetadata { .. }
        )
    }
}

/// The accountable organization that vouches for a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrganizationBinding {
    /// The organization's Entity Identifier.
    pub entity_id: EntityId,
    /// Its display name (`organization_name`), when known.
    pub name: Option<String>,
    /// Its web page (`organization_uri`), when known.
    pub uri: Option<String>,
    /// The authorities from the organization up to the trust anchor (both included).
    pub authority_path: Vec<EntityId>,
    /// How the binding was established.
    pub evidence: BindingEvidence,
}

/// Which entity of a chain is the accountable organization.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum OrganizationRule {
    /// The client's Immediate Superior (the default).
    #[default]
    ImmediateSuperior,
    /// The entity `n` levels below the anchor (1 = the anchor's direct subordinate), for
    /// federations shaped anchor → organization → teams → apps.
    DepthBelowAnchor(usize),
    /// A function of the chain.
    Custom(OrganizationFn),
}

/// A function that picks the accountable organization from a chain.
pub type OrganizationFn = Arc<dyn Fn(&TrustChain) -> Option<EntityId> + Send + Sync>;

impl fmt::Debug for OrganizationRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrganizationRule::ImmediateSuperior => f.write_str("ImmediateSuperior"),
            OrganizationRule::DepthBelowAnchor(n) => write!(f, "DepthBelowAnchor({n})"),
            OrganizationRule::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl OrganizationRule {
    /// The organization's entity in `chain`, if the rule finds one. The chain subject is
    /// never its own organization.
    pub fn pick(&self, chain: &TrustChain) -> Option<EntityId> {
        let path = chain.path();
        let picked = match self {
            OrganizationRule::ImmediateSuperior => path.get(1).cloned(),
            OrganizationRule::DepthBelowAnchor(n) => {
                let from_top = path.len().checked_sub(1 + n)?;
                path.get(from_top).cloned()
            }
            OrganizationRule::Custom(f) => f(chain),
        }?;
        (picked != *chain.subject() && path.contains(&picked)).then_some(picked)
    }
}

/// A trust mark the record holds (validated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TrustMarkRecord {
    /// `trust_mark_type`.
    pub trust_mark_type: String,
    /// The issuer.
    pub issuer: EntityId,
    /// `exp`, when the mark has one.
    pub expires_at: Option<i64>,
}

/// What an authorization server stores about a federation client. Stable JSON: a server can
/// persist it and hand it back to [`crate::Resolver::reresolve`].
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use oidfed::testing::FederationBuilder;
/// use oidfed::{EntityType, Resolver};
///
/// let fed = FederationBuilder::new("https://fed.example")
///     .anchor("ta")
///     .intermediate("org", &["ta"])
///     .leaf("rp", &["org"])
///     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
///     .build();
/// let resolver = Resolver::builder()
///     .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
///     .fetcher(fed.fetcher())
///     .build()
///     .unwrap();
/// let record = resolver.record(&fed.id("rp"), &EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// assert_eq!(record.client_id, fed.id("rp"));
/// assert_eq!(record.path, vec![fed.id("rp"), fed.id("org"), fed.id("ta")]);
/// assert!(record.is_valid_at(resolver.now()));
/// // By default the organization is the leaf's Immediate Superior.
/// let org = record.organization.as_ref().unwrap();
/// assert_eq!(org.entity_id, fed.id("org"));
/// // The record is stable JSON: store it, read it back unchanged.
/// let stored = serde_json::to_string(&*record).unwrap();
/// let back: oidfed::ClientRecord = serde_json::from_str(&stored).unwrap();
/// assert_eq!(back, *record);
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClientRecord {
    /// The client's Entity Identifier (its `client_id` under automatic registration).
    pub client_id: EntityId,
    /// The Entity Type resolved.
    pub entity_type: EntityType,
    /// The resolved metadata of that type.
    pub metadata: Map<String, Value>,
    /// The client's protocol keys (a JWK Set).
    pub keys: Value,
    /// Where the protocol keys came from.
    pub key_source: KeySource,
    /// The client's Federation Entity Keys, as its superior asserts them.
    pub federation_keys: Value,
    /// The trust anchor of the chain.
    pub trust_anchor: EntityId,
    /// The entities from the client up to the anchor.
    pub path: Vec<EntityId>,
    /// The chain's statements, as received.
    pub trust_chain: Vec<String>,
    /// SHA-256 of the chain's statements.
    pub chain_fingerprint: String,
    /// Never trust the client at or after this time (Unix seconds): the chain's expiry, or
    /// earlier when a trust mark expires first.
    pub expires_at: crate::NumericDate,
    /// When the record was resolved (Unix seconds).
    pub resolved_at: crate::NumericDate,
    /// Valid trust marks.
    pub trust_marks: Vec<TrustMarkRecord>,
    /// The accountable organization, when the chain names one.
    pub organization: Option<OrganizationBinding>,
    /// Every deviation from the final specification the resolution tolerated under the
    /// resolver's interoperability profile (absent from the JSON when there is none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deviations: Vec<Deviation>,
}

impl ClientRecord {
    /// Whether `other` says exactly what `self` says, whenever each was resolved: every
    /// field but `resolved_at` is equal (the chain compared by its fingerprint). A
    /// re-validation that finds such a record has nothing to write but its time.
    pub(crate) fn same_content(&self, other: &ClientRecord) -> bool {
        // Destructured so that a field added later must be considered here.
        let ClientRecord {
            client_id,
            entity_type,
            metadata,
            keys,
            key_source,
            federation_keys,
            trust_anchor,
            path,
            trust_chain: _,
            chain_fingerprint,
            expires_at,
            resolved_at: _,
            trust_marks,
            organization,
            deviations,
        } = self;
        *chain_fingerprint == other.chain_fingerprint
            && *expires_at == other.expires_at
            && *client_id == other.client_id
            && *entity_type == other.entity_type
            && *trust_anchor == other.trust_anchor
            && *path == other.path
            && *key_source == other.key_source
            && *organization == other.organization
            && *trust_marks == other.trust_marks
            && *deviations == other.deviations
            && *keys == other.keys
            && *federation_keys == other.federation_keys
            && *metadata == other.metadata
    }

    /// Whether the record may still be relied on at `now`.
    pub fn is_valid_at(&self, now: i64) -> bool {
        now < self.expires_at
    }

    /// The `kid`s of the protocol keys.
    pub fn key_ids(&self) -> BTreeSet<String> {
        kids(&self.keys)
    }
}

fn kids(jwks: &Value) -> BTreeSet<String> {
    jwks.get("keys")
        .and_then(Value::as_array)
        .map(|ks| {
            ks.iter()
                .filter_map(|k| k.get("kid").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// What changed between two records of the same client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Change {
    /// Protocol keys rotated.
    KeysRotated {
        /// `kid`s added.
        added: Vec<String>,
        /// `kid`s removed.
        removed: Vec<String>,
    },
    /// Federation Entity Keys rotated.
    FederationKeysRotated {
        /// `kid`s added.
        added: Vec<String>,
        /// `kid`s removed.
        removed: Vec<String>,
    },
    /// Resolved metadata changed.
    MetadataChanged {
        /// The parameters added, removed or changed.
        parameters: Vec<String>,
    },
    /// The accountable organization changed.
    OrganizationChanged {
        /// Before.
        from: Option<EntityId>,
        /// After.
        to: Option<EntityId>,
    },
    /// The trust anchor changed.
    TrustAnchorChanged {
        /// Before.
        from: EntityId,
        /// After.
        to: EntityId,
    },
    /// Trust marks gained or lost (by type).
    TrustMarksChanged {
        /// Types gained.
        gained: Vec<String>,
        /// Types lost.
        lost: Vec<String>,
    },
    /// The path of authorities changed.
    ChainPathChanged {
        /// Before.
        from: Vec<EntityId>,
        /// After.
        to: Vec<EntityId>,
    },
    /// The deviations from the final specification tolerated changed (a federation
    /// fixing, or starting to need, a tolerance of the interoperability profile).
    DeviationsChanged {
        /// Deviations now tolerated that were not before.
        added: Vec<Deviation>,
        /// Deviations no longer needed.
        removed: Vec<Deviation>,
    },
}

/// The typed differences from `old` to `new` (empty when nothing that matters changed).
pub fn diff(old: &ClientRecord, new: &ClientRecord) -> Vec<Change> {
    let mut changes = Vec::new();
    let key_change = |a: &Value, b: &Value| {
        let (ka, kb) = (kids(a), kids(b));
        let added: Vec<String> = kb.difference(&ka).cloned().collect();
        let removed: Vec<String> = ka.difference(&kb).cloned().collect();
        (added, removed, a != b)
    };
    let (added, removed, differ) = key_change(&old.keys, &new.keys);
    if differ {
        changes.push(Change::KeysRotated { added, removed });
    }
    let (added, removed, differ) = key_change(&old.federation_keys, &new.federation_keys);
    if differ {
        changes.push(Change::FederationKeysRotated { added, removed });
    }
    let params: BTreeSet<&String> = old.metadata.keys().chain(new.metadata.keys()).collect();
    let changed: Vec<String> = params
        .into_iter()
        .filter(|p| old.metadata.get(*p) != new.metadata.get(*p))
        .cloned()
        .collect();
    if !changed.is_empty() {
        changes.push(Change::MetadataChanged {
            parameters: changed,
        });
    }
    let (oa, ob) = (
        old.organization.as_ref().map(|o| o.entity_id.clone()),
        new.organization.as_ref().map(|o| o.entity_id.clone()),
    );
    if oa != ob {
        changes.push(Change::OrganizationChanged { from: oa, to: ob });
    }
    if old.trust_anchor != new.trust_anchor {
        changes.push(Change::TrustAnchorChanged {
            from: old.trust_anchor.clone(),
            to: new.trust_anchor.clone(),
        });
    }
    let types = |r: &ClientRecord| -> BTreeSet<String> {
        r.trust_marks
            .iter()
            .map(|t| t.trust_mark_type.clone())
            .collect()
    };
    let (ta, tb) = (types(old), types(new));
    if ta != tb {
        changes.push(Change::TrustMarksChanged {
            gained: tb.difference(&ta).cloned().collect(),
            lost: ta.difference(&tb).cloned().collect(),
        });
    }
    if old.path != new.path {
        changes.push(Change::ChainPathChanged {
            from: old.path.clone(),
            to: new.path.clone(),
        });
    }
    let added: Vec<Deviation> = (new.deviations.iter())
        .filter(|d| !old.deviations.contains(d))
        .cloned()
        .collect();
    let removed: Vec<Deviation> = (old.deviations.iter())
        .filter(|d| !new.deviations.contains(d))
        .cloned()
        .collect();
    if !added.is_empty() || !removed.is_empty() {
        changes.push(Change::DeviationsChanged { added, removed });
    }
    changes
}

/// Finds how `organization_name` of the client was established in `chain`, for the types
/// `entity_type` and `federation_entity`.
pub(crate) fn binding_evidence(chain: &TrustChain, entity_type: &str) -> BindingEvidence {
    let types = [entity_type, "federation_entity"];
    let names_org = |v: Option<&Value>| {
        types.iter().any(|t| {
            v.and_then(|m| m.get(*t))
                .and_then(|m| m.get("organization_name"))
                .is_some()
        })
    };
    // A `value` policy anywhere above the client fixes the name for it.
    for ss in chain.subordinate_statements() {
        let fixed = types.iter().any(|t| {
            ss.metadata_policy()
                .and_then(|p| p.get(*t))
                .and_then(|p| p.get("organization_name"))
                .and_then(|p| p.get("value"))
                .is_some_and(|v| !v.is_null())
        });
        if fixed {
            return BindingEvidence::SuperiorPolicy {
                by: ss.issuer().clone(),
            };
        }
    }
    if let Some(ss) = chain.subordinate_statements().next() {
        if names_org(ss.claim("metadata")) {
            return BindingEvidence::SuperiorMetadata {
                by: ss.issuer().clone(),
            };
        }
    }
    if chain
        .subject_configuration()
        .is_some_and(|ec| names_org(ec.claim("metadata")))
    {
        return BindingEvidence::SelfDeclared;
    }
    BindingEvidence::ChainOnly
}

/// Reads `organization_name` and `organization_uri` from an entity's metadata (any type).
pub(crate) fn org_details(
    metadata: Option<&Map<String, Value>>,
    preferred: &str,
) -> (Option<String>, Option<String>) {
    let Some(m) = metadata else {
        return (None, None);
    };
    let get = |p: &str| {
        [preferred, "federation_entity"]
            .iter()
            .find_map(|t| m.get(*t).and_then(|x| x.get(p)).and_then(Value::as_str))
            .map(str::to_string)
    };
    (get("organization_name"), get("organization_uri"))
}
