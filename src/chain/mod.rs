//! Trust chains (OpenID Federation 1.0 §4, §10), without I/O: validation as a pure function
//! of statements, anchors and a clock ([`validate`]), the resolved metadata ([`metadata`]),
//! and the deterministic choice among valid chains ([`choose`]). Discovering the chains
//! (fetching statements) is `crate::discovery`'s; nothing here fetches or spawns.

pub(crate) mod choose;
pub(crate) mod metadata;
pub(crate) mod validate;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::entity_id::EntityId;
use crate::error::Error;
use crate::jose::{JoseError, KeySet};
use crate::statement::{EntityStatement, Rule, StatementError};

pub(crate) use validate::{ValidationContext, validate_chain};

/// A Trust Anchor the deployment trusts: its Entity Identifier and its public keys,
/// configured out of band (§10). Nothing else is trusted a priori.
///
/// ```
/// use oidfed::TrustAnchor;
/// use serde_json::json;
/// let ta = TrustAnchor::new("https://ta.example", &json!({"keys": [
///     {"kty": "EC", "kid": "k1", "crv": "P-256",
///      "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
///      "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
/// ]})).unwrap();
/// assert_eq!(ta.id().as_str(), "https://ta.example");
/// ```
#[derive(Debug, Clone)]
pub struct TrustAnchor {
    id: EntityId,
    keys: KeySet,
}

impl TrustAnchor {
    /// A Trust Anchor with a strict (`https`) identifier and its JWK Set.
    pub fn new(id: &str, jwks: &Value) -> Result<Self, Error> {
        Self::new_with(id, jwks, false)
    }

    /// A Trust Anchor, accepting an `http` identifier when `allow_http` (test federations).
    pub fn new_with(id: &str, jwks: &Value, allow_http: bool) -> Result<Self, Error> {
        let id = EntityId::parse_with(id, allow_http).map_err(|source| Error::EntityId {
            value: id.to_string(),
            source,
        })?;
        let keys = KeySet::from_json(jwks).map_err(|source| {
            crate::error::ConfigError::InvalidAnchorJwks {
                anchor: id.to_string(),
                source: Box::new(source),
            }
        })?;
        // A configured key refused for its material (a degenerate key) is a configuration
        // that would let anyone sign as the anchor: refused whole, not ignored.
        if let Some((_, e)) = keys
            .rejected()
            .iter()
            .find(|(_, e)| matches!(e, JoseError::InvalidKey { .. }))
        {
            return Err(StatementError::new(
                Some(id.as_str()),
                Some(id.as_str()),
                Rule::TrustAnchor,
                format!("configured keys of trust anchor {id}: {e}"),
            )
            .with_key_of(e)
            .into());
        }
        if keys.is_empty() {
            return Err(crate::error::ConfigError::NoUsableAnchorKey {
                anchor: id.to_string(),
            }
            .into());
        }
        Ok(Self { id, keys })
    }

    /// The anchor's Entity Identifier.
    pub fn id(&self) -> &EntityId {
        &self.id
    }

    /// The configured (pinned) keys.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }
}

/// A validated trust chain: `ES[0]` is the subject's Entity Configuration, then one
/// Subordinate Statement per hop, and optionally the Trust Anchor's Entity Configuration.
#[derive(Debug, Clone)]
pub struct TrustChain {
    pub(crate) statements: Vec<Arc<EntityStatement>>,
    pub(crate) anchor: EntityId,
    pub(crate) expires_at: i64,
    pub(crate) metadata: Map<String, Value>,
    pub(crate) removed_entity_types: Vec<String>,
}

impl TrustChain {
    /// The statements, subject's EC first.
    pub fn statements(&self) -> &[Arc<EntityStatement>] {
        &self.statements
    }

    /// The statements as the compact JWTs received (a `trust_chain` value, §4.3).
    pub fn to_jwts(&self) -> Vec<String> {
        self.statements
            .iter()
            .map(|s| s.raw().to_string())
            .collect()
    }

    /// The chain subject.
    pub fn subject(&self) -> &EntityId {
        // A TrustChain always holds at least the subject's EC.
        self.statements
            .first()
            .map(|s| s.subject())
            .unwrap_or(&self.anchor)
    }

    /// The subject's Entity Configuration.
    pub fn subject_configuration(&self) -> Option<&Arc<EntityStatement>> {
        self.statements.first()
    }

    /// The Trust Anchor the chain ends at.
    pub fn anchor(&self) -> &EntityId {
        &self.anchor
    }

    /// The chain's expiry: the smallest `exp` of its statements (§10.4).
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }

    /// The entities from the subject up to the anchor.
    pub fn path(&self) -> Vec<EntityId> {
        let mut p: Vec<EntityId> = self
            .statements
            .iter()
            .filter(|s| !s.is_configuration())
            .map(|s| s.issuer().clone())
            .collect();
        p.insert(0, self.subject().clone());
        p
    }

    /// The subject's Immediate Superior (None when the subject is the anchor).
    pub fn immediate_superior(&self) -> Option<&EntityId> {
        self.statements
            .get(1)
            .filter(|s| !s.is_configuration())
            .map(|s| s.issuer())
    }

    /// The Subordinate Statements, the subject's superior's first.
    pub fn subordinate_statements(&self) -> impl Iterator<Item = &Arc<EntityStatement>> {
        self.statements
            .iter()
            .skip(1)
            .filter(|s| !s.is_configuration())
    }

    /// The subject's Federation Entity Keys as its Immediate Superior asserts them (for the
    /// anchor itself: its own).
    pub fn subject_keys(&self) -> &KeySet {
        self.statements
            .get(1)
            .filter(|s| !s.is_configuration())
            .or(self.statements.first())
            .map(|s| s.jwks())
            .unwrap_or_else(|| empty_keyset())
    }

    /// The resolved metadata of every Entity Type: the subject's metadata after the
    /// Immediate Superior's `metadata`, `allowed_entity_types` and the chain's metadata
    /// policy (§6.1.4.2, §6.2.3).
    pub fn metadata(&self) -> &Map<String, Value> {
        &self.metadata
    }

    /// Entity Types removed by an `allowed_entity_types` constraint.
    pub fn removed_entity_types(&self) -> &[String] {
        &self.removed_entity_types
    }

    /// Number of entities in the path (subject and anchor included).
    pub fn len(&self) -> usize {
        self.statements
            .iter()
            .filter(|s| !s.is_configuration())
            .count()
            + 1
    }

    /// Whether the chain holds no statement. A chain the resolver validated never is empty
    /// (it holds at least the subject's configuration, and [`TrustChain::len`] is at least
    /// 1); a subject that is the anchor itself has `len() == 1`.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// A SHA-256 fingerprint (base64url) of the chain's statements, to tell whether two
    /// chains are the very same statements: the SHA-256 of the SHA-256 digests of the
    /// statements' compact serializations, in chain order. A statement a resolver fetched
    /// carries its digest already (its memo of verified bytes is keyed by it), so a
    /// re-resolution hashes only what it fetched anew, not the whole chain again.
    pub fn fingerprint(&self) -> String {
        let mut h = openssl::sha::Sha256::new();
        for s in &self.statements {
            h.update(&s.digest());
        }
        crate::jose::b64url(&h.finish())
    }
}

fn empty_keyset() -> &'static KeySet {
    static EMPTY: std::sync::OnceLock<KeySet> = std::sync::OnceLock::new();
    EMPTY.get_or_init(KeySet::default)
}
