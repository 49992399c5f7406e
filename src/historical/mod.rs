//! Federation Historical Keys (§8.7): an entity's retired Federation Entity Keys, with their
//! lifetimes and any revocation, as a `jwk-set+jwt` signed with its current key.
//!
//! [`HistoricalKeys::parse`] reads and verifies one response under hostile-input rules (size
//! cap, strict JSON, at most [`MAX_HISTORICAL_KEYS`] keys, every NumericDate read by the
//! crate's one NumericDate reader, a typed [`HistoricalError`] per broken rule).
//! [`HistoricalVerifier`] then checks a stored trust chain or a stored signed response **as of
//! the time it was made**: each signing key valid then (`iat`/`nbf` ≤ t < `exp`) and not
//! revoked at or before t. Historical keys never make a *current* statement acceptable.

mod error;
mod verify;

pub use error::HistoricalError;
pub use verify::HistoricalVerifier;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::entity_id::EntityId;
use crate::jose::{self, Alg, CompactJws, HeaderRules, Key, KeySet};
use crate::json::parse_object;
use crate::statement::StatementRules;
use crate::statement::claims::{Rounding, numeric_date};

/// The `typ` of a historical keys response (§8.7.2).
pub const HISTORICAL_KEYS_TYP: &str = "jwk-set+jwt";
/// Its media type.
pub const HISTORICAL_KEYS_CONTENT_TYPE: &str = "application/jwk-set+jwt";
/// The `federation_entity` metadata parameter naming the endpoint (§5.1.1).
pub const HISTORICAL_KEYS_ENDPOINT: &str = "federation_historical_keys_endpoint";
/// Most keys accepted in one response.
pub const MAX_HISTORICAL_KEYS: usize = 256;
/// Longest response accepted, in bytes.
pub const MAX_HISTORICAL_KEYS_BYTES: usize = 256 * 1024;

/// Why a key was revoked (§8.7.2).
///
/// ```
/// # use oidfed::historical::{HistoricalKeys, RevocationReason};
/// # use oidfed::jose::KeySet;
/// # use oidfed::server::HistoricalKeysResponse;
/// # use oidfed::signer::{JwkSigner, Signer};
/// # use oidfed::statement::StatementRules;
/// # let current = JwkSigner::generate_es256("fed-3").unwrap();
/// # let old = JwkSigner::generate_es256("fed-1").unwrap();
/// # let leaked = JwkSigner::generate_es256("fed-2").unwrap();
/// // fed-1 served 1.7e9..1.75e9; fed-2 from 1.75e9 until it leaked at 1.79e9.
/// let jwt = HistoricalKeysResponse::new("https://op.example")
///     .retired_key(old.public_jwk(), Some(1_700_000_000), 1_750_000_000)
///     .retired_key(leaked.public_jwk(), Some(1_750_000_000), 1_800_000_000)
///     .revoked(RevocationReason::Compromised, 1_790_000_000)
///     .sign(&current, 1_800_000_100)
///     .unwrap();
/// let op = oidfed::EntityId::parse("https://op.example").unwrap();
/// let jwks = KeySet::from_json(&serde_json::json!({"keys": [current.public_jwk()]})).unwrap();
/// let history = HistoricalKeys::parse(&jwt, &op, &jwks, &StatementRules::default()).unwrap();
///
/// let revocation = history.get("fed-2").unwrap().revocation().unwrap();
/// assert_eq!(revocation.reason, Some(RevocationReason::Compromised));
/// assert_eq!(RevocationReason::Compromised.as_str(), "compromised");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationReason {
    /// `unspecified`.
    Unspecified,
    /// `compromised`.
    Compromised,
    /// `superseded`.
    Superseded,
    /// A federation-defined value.
    Other(String),
}

impl RevocationReason {
    /// The value as written in the response.
    ///
    /// See the [`RevocationReason`] example.
    pub fn as_str(&self) -> &str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::Compromised => "compromised",
            RevocationReason::Superseded => "superseded",
            RevocationReason::Other(s) => s,
        }
    }

    fn from_name(s: &str) -> Self {
        match s {
            "unspecified" => RevocationReason::Unspecified,
            "compromised" => RevocationReason::Compromised,
            "superseded" => RevocationReason::Superseded,
            other => RevocationReason::Other(other.to_string()),
        }
    }
}

/// A key's revocation: from `revoked_at` on, nothing it signed counts.
///
/// ```
/// # use oidfed::historical::{HistoricalKeys, RevocationReason};
/// # use oidfed::jose::KeySet;
/// # use oidfed::server::HistoricalKeysResponse;
/// # use oidfed::signer::{JwkSigner, Signer};
/// # use oidfed::statement::StatementRules;
/// # let current = JwkSigner::generate_es256("fed-3").unwrap();
/// # let old = JwkSigner::generate_es256("fed-1").unwrap();
/// # let leaked = JwkSigner::generate_es256("fed-2").unwrap();
/// // fed-1 served 1.7e9..1.75e9; fed-2 from 1.75e9 until it leaked at 1.79e9.
/// let jwt = HistoricalKeysResponse::new("https://op.example")
///     .retired_key(old.public_jwk(), Some(1_700_000_000), 1_750_000_000)
///     .retired_key(leaked.public_jwk(), Some(1_750_000_000), 1_800_000_000)
///     .revoked(RevocationReason::Compromised, 1_790_000_000)
///     .sign(&current, 1_800_000_100)
///     .unwrap();
/// let op = oidfed::EntityId::parse("https://op.example").unwrap();
/// let jwks = KeySet::from_json(&serde_json::json!({"keys": [current.public_jwk()]})).unwrap();
/// let history = HistoricalKeys::parse(&jwt, &op, &jwks, &StatementRules::default()).unwrap();
///
/// let r = history.get("fed-2").unwrap().revocation().unwrap();
/// assert_eq!(r.revoked_at, 1_790_000_000);
/// assert!(history.get("fed-1").unwrap().revocation().is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Revocation {
    /// When (Unix seconds).
    pub revoked_at: i64,
    /// Why, when given.
    pub reason: Option<RevocationReason>,
}

/// One retired key and its lifetime.
///
/// One example serves the accessors:
///
/// ```
/// # use oidfed::historical::{HistoricalKeys, RevocationReason};
/// # use oidfed::jose::KeySet;
/// # use oidfed::server::HistoricalKeysResponse;
/// # use oidfed::signer::{JwkSigner, Signer};
/// # use oidfed::statement::StatementRules;
/// # let current = JwkSigner::generate_es256("fed-3").unwrap();
/// # let old = JwkSigner::generate_es256("fed-1").unwrap();
/// # let leaked = JwkSigner::generate_es256("fed-2").unwrap();
/// // fed-1 served 1.7e9..1.75e9; fed-2 from 1.75e9 until it leaked at 1.79e9.
/// let jwt = HistoricalKeysResponse::new("https://op.example")
///     .retired_key(old.public_jwk(), Some(1_700_000_000), 1_750_000_000)
///     .retired_key(leaked.public_jwk(), Some(1_750_000_000), 1_800_000_000)
///     .revoked(RevocationReason::Compromised, 1_790_000_000)
///     .sign(&current, 1_800_000_100)
///     .unwrap();
/// let op = oidfed::EntityId::parse("https://op.example").unwrap();
/// let jwks = KeySet::from_json(&serde_json::json!({"keys": [current.public_jwk()]})).unwrap();
/// let history = HistoricalKeys::parse(&jwt, &op, &jwks, &StatementRules::default()).unwrap();
///
/// let k = history.get("fed-1").unwrap();
/// assert_eq!((k.kid(), k.key().kid()), ("fed-1", "fed-1"));
/// assert_eq!((k.issued_at(), k.not_before(), k.expires_at()), (Some(1_700_000_000), None, 1_750_000_000));
/// assert_eq!(k.valid_from(), Some(1_700_000_000));
/// assert!(k.revocation().is_none());
/// ```
#[derive(Debug, Clone)]
pub struct HistoricalKey {
    key: Arc<Key>,
    iat: Option<i64>,
    nbf: Option<i64>,
    exp: i64,
    revoked: Option<Revocation>,
}

/// What a historical key was at one instant.
///
/// ```
/// # use oidfed::historical::{HistoricalKeys, RevocationReason};
/// # use oidfed::jose::KeySet;
/// # use oidfed::server::HistoricalKeysResponse;
/// # use oidfed::signer::{JwkSigner, Signer};
/// # use oidfed::statement::StatementRules;
/// # let current = JwkSigner::generate_es256("fed-3").unwrap();
/// # let old = JwkSigner::generate_es256("fed-1").unwrap();
/// # let leaked = JwkSigner::generate_es256("fed-2").unwrap();
/// // fed-1 served 1.7e9..1.75e9; fed-2 from 1.75e9 until it leaked at 1.79e9.
/// let jwt = HistoricalKeysResponse::new("https://op.example")
///     .retired_key(old.public_jwk(), Some(1_700_000_000), 1_750_000_000)
///     .retired_key(leaked.public_jwk(), Some(1_750_000_000), 1_800_000_000)
///     .revoked(RevocationReason::Compromised, 1_790_000_000)
///     .sign(&current, 1_800_000_100)
///     .unwrap();
/// let op = oidfed::EntityId::parse("https://op.example").unwrap();
/// let jwks = KeySet::from_json(&serde_json::json!({"keys": [current.public_jwk()]})).unwrap();
/// let history = HistoricalKeys::parse(&jwt, &op, &jwks, &StatementRules::default()).unwrap();
///
/// use oidfed::historical::KeyStatus;
/// let leaked = history.get("fed-2").unwrap();
/// assert_eq!(leaked.status_at(1_760_000_000), KeyStatus::Valid);
/// assert!(matches!(leaked.status_at(1_740_000_000), KeyStatus::NotYetValid { .. }));
/// assert!(matches!(leaked.status_at(1_795_000_000), KeyStatus::Revoked(_)));
/// assert!(matches!(history.get("fed-1").unwrap().status_at(1_760_000_000), KeyStatus::Expired { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyStatus {
    /// Valid then.
    Valid,
    /// Not valid yet (before its `nbf`/`iat`).
    NotYetValid {
        /// From when it was valid.
        valid_from: i64,
    },
    /// Past its `exp`.
    Expired {
        /// Its `exp`.
        expires_at: i64,
    },
    /// Revoked at or before that instant.
    Revoked(Revocation),
}

impl HistoricalKey {
    /// The key id.
    ///
    /// See the [`HistoricalKey`] example.
    pub fn kid(&self) -> &str {
        self.key.kid()
    }
    /// The public key.
    ///
    /// See the [`HistoricalKey`] example.
    pub fn key(&self) -> &Arc<Key> {
        &self.key
    }
    /// `iat`, when given.
    ///
    /// See the [`HistoricalKey`] example.
    pub fn issued_at(&self) -> Option<i64> {
        self.iat
    }
    /// `nbf`, when given.
    ///
    /// See the [`HistoricalKey`] example.
    pub fn not_before(&self) -> Option<i64> {
        self.nbf
    }
    /// `exp`.
    ///
    /// See the [`HistoricalKey`] example.
    pub fn expires_at(&self) -> i64 {
        self.exp
    }
    /// The revocation, if any.
    ///
    /// See the [`HistoricalKey`] example.
    pub fn revocation(&self) -> Option<&Revocation> {
        self.revoked.as_ref()
    }
    /// The start of the validity window (the later of `iat` and `nbf`).
    ///
    /// See the [`HistoricalKey`] example.
    pub fn valid_from(&self) -> Option<i64> {
        self.iat.max(self.nbf)
    }

    /// The key's status at `t`: valid when `valid_from ≤ t < exp` and not revoked at or
    /// before `t`. A revocation wins over expiry (a compromise found after expiry, §8.7.2).
    ///
    /// See the [`KeyStatus`] example.
    pub fn status_at(&self, t: i64) -> KeyStatus {
        if let Some(r) = &self.revoked {
            if r.revoked_at <= t {
                return KeyStatus::Revoked(r.clone());
            }
        }
        if let Some(from) = self.valid_from() {
            if t < from {
                return KeyStatus::NotYetValid { valid_from: from };
            }
        }
        if t >= self.exp {
            return KeyStatus::Expired {
                expires_at: self.exp,
            };
        }
        KeyStatus::Valid
    }
}

/// An entity's historical keys, verified.
///
/// One example serves the accessors:
///
/// ```
/// # use oidfed::historical::{HistoricalKeys, RevocationReason};
/// # use oidfed::jose::KeySet;
/// # use oidfed::server::HistoricalKeysResponse;
/// # use oidfed::signer::{JwkSigner, Signer};
/// # use oidfed::statement::StatementRules;
/// # let current = JwkSigner::generate_es256("fed-3").unwrap();
/// # let old = JwkSigner::generate_es256("fed-1").unwrap();
/// # let leaked = JwkSigner::generate_es256("fed-2").unwrap();
/// // fed-1 served 1.7e9..1.75e9; fed-2 from 1.75e9 until it leaked at 1.79e9.
/// let jwt = HistoricalKeysResponse::new("https://op.example")
///     .retired_key(old.public_jwk(), Some(1_700_000_000), 1_750_000_000)
///     .retired_key(leaked.public_jwk(), Some(1_750_000_000), 1_800_000_000)
///     .revoked(RevocationReason::Compromised, 1_790_000_000)
///     .sign(&current, 1_800_000_100)
///     .unwrap();
/// let op = oidfed::EntityId::parse("https://op.example").unwrap();
/// let jwks = KeySet::from_json(&serde_json::json!({"keys": [current.public_jwk()]})).unwrap();
/// let history = HistoricalKeys::parse(&jwt, &op, &jwks, &StatementRules::default()).unwrap();
///
/// assert_eq!((history.issuer(), history.issued_at()), (&op, 1_800_000_100));
/// assert_eq!(history.keys().len(), 2);
/// // What verified a statement signed at 1.72e9: fed-1 only.
/// assert_eq!(history.keys_valid_at(1_720_000_000).keys()[0].kid(), "fed-1");
/// assert!(history.check_key_at("fed-1", 1_720_000_000).unwrap().is_some());
/// assert!(history.check_key_at("fed-2", 1_795_000_000).is_err()); // revoked by then
/// assert!(history.check_key_at("fed-9", 1_720_000_000).unwrap().is_none()); // not listed
/// ```
#[derive(Debug, Clone)]
pub struct HistoricalKeys {
    issuer: EntityId,
    issued_at: i64,
    keys: Vec<HistoricalKey>,
}

impl HistoricalKeys {
    /// Reads and verifies `jwt`, a historical keys response of `issuer`, with `current_keys`
    /// (the `jwks` of `issuer`'s current Entity Configuration, §8.7). `rules` gives the
    /// accepted algorithms and whether `http` identifiers are allowed.
    ///
    /// ```
    /// # use oidfed::historical::{HistoricalKeys, RevocationReason};
    /// # use oidfed::jose::KeySet;
    /// # use oidfed::server::HistoricalKeysResponse;
    /// # use oidfed::signer::{JwkSigner, Signer};
    /// # use oidfed::statement::StatementRules;
    /// # let current = JwkSigner::generate_es256("fed-3").unwrap();
    /// # let old = JwkSigner::generate_es256("fed-1").unwrap();
    /// # let leaked = JwkSigner::generate_es256("fed-2").unwrap();
    /// // fed-1 served 1.7e9..1.75e9; fed-2 from 1.75e9 until it leaked at 1.79e9.
    /// let jwt = HistoricalKeysResponse::new("https://op.example")
    ///     .retired_key(old.public_jwk(), Some(1_700_000_000), 1_750_000_000)
    ///     .retired_key(leaked.public_jwk(), Some(1_750_000_000), 1_800_000_000)
    ///     .revoked(RevocationReason::Compromised, 1_790_000_000)
    ///     .sign(&current, 1_800_000_100)
    ///     .unwrap();
    /// let op = oidfed::EntityId::parse("https://op.example").unwrap();
    /// let jwks = KeySet::from_json(&serde_json::json!({"keys": [current.public_jwk()]})).unwrap();
    /// let history = HistoricalKeys::parse(&jwt, &op, &jwks, &StatementRules::default()).unwrap();
    ///
    /// assert_eq!(history.keys().len(), 2);
    /// // Not signed by a current key of the entity: refused.
    /// let stranger = KeySet::from_json(&serde_json::json!({"keys": [old.public_jwk()]})).unwrap();
    /// assert!(HistoricalKeys::parse(&jwt, &op, &stranger, &StatementRules::default()).is_err());
    /// ```
    pub fn parse(
        jwt: &str,
        issuer: &EntityId,
        current_keys: &KeySet,
        rules: &StatementRules,
    ) -> Result<Self, HistoricalError> {
        let (keys, jws, alg, kid) = Self::parse_unverified(jwt, rules)?;
        if &keys.issuer != issuer {
            return Err(HistoricalError::WrongIssuer {
                expected: issuer.to_string(),
                found: keys.issuer.to_string(),
            });
        }
        current_keys
            .verify(&jws, alg, &kid, "the entity's current federation keys")
            .map_err(|source| HistoricalError::Signature {
                entity: issuer.to_string(),
                source,
            })?;
        Ok(keys)
    }

    /// Reads `jwt` without verifying its signature (for [`HistoricalKeys::parse`] and fuzzing):
    /// the keys, the JWS, and the header's `alg` and `kid`.
    pub fn parse_unverified(
        jwt: &str,
        rules: &StatementRules,
    ) -> Result<(Self, CompactJws, Alg, String), HistoricalError> {
        let jws = CompactJws::parse_with_limit(jwt.trim(), MAX_HISTORICAL_KEYS_BYTES).map_err(
            |source| HistoricalError::Jws {
                entity: "?".into(),
                source,
            },
        )?;
        let claims = parse_object(jws.payload()).map_err(|e| HistoricalError::Claim {
            entity: "?".into(),
            claim: "payload",
            detail: e.0,
        })?;
        let entity = claims
            .get("iss")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .chars()
            .take(256)
            .collect::<String>();
        let header = HeaderRules {
            typ: HISTORICAL_KEYS_TYP,
            lenient_typ: false,
            algs: &rules.algs,
        };
        let (alg, kid) =
            jose::check_header(&jws, &header).map_err(|source| HistoricalError::Jws {
                entity: entity.clone(),
                source,
            })?;
        let kid = kid.to_string();
        let claim = |claim: &'static str, detail: String| HistoricalError::Claim {
            entity: entity.clone(),
            claim,
            detail,
        };
        let iss = match claims.get("iss") {
            Some(Value::String(s)) => EntityId::parse_with(s, rules.allow_http)
                .map_err(|e| claim("iss", format!("not an Entity Identifier: {e}")))?,
            Some(_) => return Err(claim("iss", "not a string".into())),
            None => return Err(claim("iss", "missing".into())),
        };
        let iat = numeric_date(&claims, "iat", Rounding::Up).map_err(|d| claim("iat", d))?;
        let list = match claims.get("keys") {
            Some(Value::Array(a)) => a,
            Some(_) => return Err(claim("keys", "not an array".into())),
            None => return Err(claim("keys", "missing".into())),
        };
        if list.len() > MAX_HISTORICAL_KEYS {
            return Err(HistoricalError::TooManyKeys {
                entity,
                count: list.len(),
                limit: MAX_HISTORICAL_KEYS,
            });
        }
        let mut keys: Vec<HistoricalKey> = Vec::with_capacity(list.len());
        for (index, entry) in list.iter().enumerate() {
            let key = key_entry(&entity, index, entry)?;
            if keys.iter().any(|k| k.kid() == key.kid()) {
                return Err(HistoricalError::DuplicateKid {
                    entity,
                    kid: key.kid().to_string(),
                });
            }
            keys.push(key);
        }
        let set = HistoricalKeys {
            issuer: iss,
            issued_at: iat,
            keys,
        };
        Ok((set, jws, alg, kid))
    }

    /// The entity whose keys these are.
    ///
    /// See the [`HistoricalKeys`] example.
    pub fn issuer(&self) -> &EntityId {
        &self.issuer
    }

    /// When the response was issued.
    ///
    /// See the [`HistoricalKeys`] example.
    pub fn issued_at(&self) -> i64 {
        self.issued_at
    }

    /// The keys, in the order given.
    ///
    /// See the [`HistoricalKeys`] example.
    pub fn keys(&self) -> &[HistoricalKey] {
        &self.keys
    }

    /// The key with exactly this `kid`.
    ///
    /// See the [`HistoricalKeys`] example.
    pub fn get(&self, kid: &str) -> Option<&HistoricalKey> {
        self.keys.iter().find(|k| k.kid() == kid)
    }

    /// The key `kid` if it was valid at `t`; a typed error when it is listed but was not.
    /// `Ok(None)` when the key is not listed at all.
    ///
    /// See the [`HistoricalKeys`] example.
    pub fn check_key_at(
        &self,
        kid: &str,
        t: i64,
    ) -> Result<Option<&HistoricalKey>, HistoricalError> {
        let Some(key) = self.get(kid) else {
            return Ok(None);
        };
        match key.status_at(t) {
            KeyStatus::Valid => Ok(Some(key)),
            KeyStatus::Revoked(revocation) => Err(HistoricalError::KeyRevoked {
                issuer: self.issuer.to_string(),
                kid: kid.to_string(),
                at: t,
                revocation,
            }),
            status => Err(HistoricalError::KeyNotValidAt {
                issuer: self.issuer.to_string(),
                kid: kid.to_string(),
                at: t,
                status,
            }),
        }
    }

    /// The keys valid at `t`, as a JWK Set.
    ///
    /// See the [`HistoricalKeys`] example.
    pub fn keys_valid_at(&self, t: i64) -> KeySet {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .filter(|k| k.status_at(t) == KeyStatus::Valid)
            .map(|k| k.key.to_json())
            .collect();
        KeySet::from_json(&serde_json::json!({ "keys": keys })).unwrap_or_default()
    }
}

/// Members of a historical key entry that are not JWK members.
const LIFETIME_MEMBERS: [&str; 4] = ["iat", "nbf", "exp", "revoked"];

fn key_entry(entity: &str, index: usize, entry: &Value) -> Result<HistoricalKey, HistoricalError> {
    let kid = entry
        .get("kid")
        .and_then(Value::as_str)
        .map(|k| k.chars().take(256).collect::<String>());
    let err = |field: &'static str, detail: String| HistoricalError::KeyEntry {
        entity: entity.to_string(),
        index,
        kid: kid.clone(),
        field,
        detail,
    };
    let obj = entry
        .as_object()
        .ok_or_else(|| err("jwk", "not an object".into()))?;
    match obj.get("kid") {
        Some(Value::String(k)) if !k.is_empty() => {}
        _ => return Err(err("kid", "missing, empty or not a string".into())),
    }
    let exp = numeric_date(obj, "exp", Rounding::Down).map_err(|d| err("exp", d))?;
    let iat = optional_date(obj, "iat", Rounding::Up).map_err(|d| err("iat", d))?;
    let nbf = optional_date(obj, "nbf", Rounding::Up).map_err(|d| err("nbf", d))?;
    let revoked = match obj.get("revoked") {
        None => None,
        Some(Value::Object(r)) => {
            let revoked_at =
                numeric_date(r, "revoked_at", Rounding::Down).map_err(|d| err("revoked_at", d))?;
            let reason = match r.get("reason") {
                None => None,
                Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => {
                    Some(RevocationReason::from_name(s))
                }
                Some(_) => return Err(err("reason", "not a non-empty string".into())),
            };
            Some(Revocation { revoked_at, reason })
        }
        Some(_) => return Err(err("revoked", "not an object".into())),
    };
    let mut jwk: Map<String, Value> = obj.clone();
    for m in LIFETIME_MEMBERS {
        jwk.remove(m);
    }
    let key = Key::from_json(&Value::Object(jwk)).map_err(|e| err("jwk", e.to_string()))?;
    let key = HistoricalKey {
        key: Arc::new(key),
        iat,
        nbf,
        exp,
        revoked,
    };
    if key.valid_from().is_some_and(|from| from > exp) {
        return Err(err("exp", format!("{exp} is before the key's iat/nbf")));
    }
    Ok(key)
}

fn optional_date(obj: &Map<String, Value>, name: &str, r: Rounding) -> Result<Option<i64>, String> {
    if obj.contains_key(name) {
        numeric_date(obj, name, r).map(Some)
    } else {
        Ok(None)
    }
}
