//! The server's own Federation Historical Keys (§8.7): the response its
//! `federation_historical_keys_endpoint` serves, signed with its current Federation Entity Key.
//! Publish the endpoint in the Entity Configuration's `federation_entity` metadata
//! ([`crate::historical::HISTORICAL_KEYS_ENDPOINT`]) and serve the JWT with the media type
//! [`crate::historical::HISTORICAL_KEYS_CONTENT_TYPE`].

use serde_json::{Value, json};

use crate::historical::{HISTORICAL_KEYS_TYP, HistoricalError, Revocation};
use crate::jose::Key;
use crate::signer::{Signer, sign_jwt};

/// Builds and signs the server's historical keys response.
///
/// ```
/// use oidfed::historical::{HistoricalKeys, RevocationReason};
/// use oidfed::jose::KeySet;
/// use oidfed::server::HistoricalKeysResponse;
/// use oidfed::signer::{JwkSigner, Signer};
/// use oidfed::statement::StatementRules;
/// use oidfed::EntityId;
///
/// let current = JwkSigner::generate_es256("fed-2").unwrap();
/// let retired = JwkSigner::generate_es256("fed-1").unwrap();
/// let jwt = HistoricalKeysResponse::new("https://op.example.org")
///     .retired_key(retired.public_jwk(), Some(1_700_000_000), 1_800_000_000)
///     .revoked(RevocationReason::Superseded, 1_790_000_000)
///     .sign(&current, 1_800_000_100)
///     .unwrap();
/// let ours = EntityId::parse("https://op.example.org").unwrap();
/// let jwks = KeySet::from_json(&serde_json::json!({"keys": [current.public_jwk()]})).unwrap();
/// let keys = HistoricalKeys::parse(&jwt, &ours, &jwks, &StatementRules::default()).unwrap();
/// assert_eq!(keys.keys()[0].revocation().unwrap().revoked_at, 1_790_000_000);
/// ```
#[derive(Debug, Clone)]
pub struct HistoricalKeysResponse {
    id: String,
    keys: Vec<(Value, Option<i64>, i64, Option<Revocation>)>,
}

impl HistoricalKeysResponse {
    /// The historical keys of the entity `id`. See the [`HistoricalKeysResponse`] example.
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_string(),
            keys: Vec::new(),
        }
    }

    /// Lists a retired key (its public JWK, with `kid`), used from `iat` until `exp`. See the [`HistoricalKeysResponse`] example.
    pub fn retired_key(mut self, public_jwk: Value, iat: Option<i64>, exp: i64) -> Self {
        self.keys.push((public_jwk, iat, exp, None));
        self
    }

    /// Marks the key added last as revoked at `revoked_at` for `reason`. See the [`HistoricalKeysResponse`] example.
    pub fn revoked(mut self, reason: crate::historical::RevocationReason, revoked_at: i64) -> Self {
        if let Some(last) = self.keys.last_mut() {
            last.3 = Some(Revocation {
                revoked_at,
                reason: Some(reason),
            });
        }
        self
    }

    /// Signs with `signer` (the current Federation Entity Key) at `now`. Every listed key
    /// must be a public JWK with a `kid`, no two sharing one.
    ///
    /// ```
    /// use oidfed::server::HistoricalKeysResponse;
    /// use oidfed::signer::{JwkSigner, Signer};
    /// let current = JwkSigner::generate_es256("fed-2").unwrap();
    /// let retired = JwkSigner::generate_es256("fed-1").unwrap();
    /// let ok = HistoricalKeysResponse::new("https://op.example")
    ///     .retired_key(retired.public_jwk(), None, 1_800_000_000)
    ///     .sign(&current, 1_800_000_100);
    /// assert_eq!(ok.unwrap().split('.').count(), 3);
    /// // Two keys with one `kid`: refused.
    /// let twice = HistoricalKeysResponse::new("https://op.example")
    ///     .retired_key(retired.public_jwk(), None, 1_800_000_000)
    ///     .retired_key(retired.public_jwk(), None, 1_800_000_000)
    ///     .sign(&current, 1_800_000_100);
    /// assert!(twice.is_err());
    /// ```
    pub fn sign(&self, signer: &dyn Signer, now: i64) -> Result<String, HistoricalError> {
        let build = |detail: String| HistoricalError::Build {
            entity: self.id.clone(),
            detail,
        };
        let mut keys = Vec::with_capacity(self.keys.len());
        let mut kids: Vec<String> = Vec::new();
        for (jwk, iat, exp, revoked) in &self.keys {
            let key = Key::from_json(jwk).map_err(|e| build(e.to_string()))?;
            if kids.iter().any(|k| k == key.kid()) {
                return Err(build(format!("two keys share the kid {:?}", key.kid())));
            }
            kids.push(key.kid().to_string());
            let mut entry = key.to_json();
            if let Some(obj) = entry.as_object_mut() {
                if let Some(iat) = iat {
                    obj.insert("iat".into(), json!(iat));
                }
                obj.insert("exp".into(), json!(exp));
                if let Some(r) = revoked {
                    let mut rev = json!({"revoked_at": r.revoked_at});
                    if let Some(reason) = &r.reason {
                        rev["reason"] = json!(reason.as_str());
                    }
                    obj.insert("revoked".into(), rev);
                }
            }
            keys.push(entry);
        }
        let claims = json!({"iss": self.id, "iat": now, "keys": keys});
        sign_jwt(signer, HISTORICAL_KEYS_TYP, &claims, None).map_err(|e| build(e.to_string()))
    }
}
