//! A JWK Set (RFC 7517 §5) and signature verification with the key of exactly one `kid`.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{Alg, CompactJws, JoseError, Key, KeyError, MAX_KEYS_PER_SET, cost};

/// A JWK Set: the keys that could be read, and the ones that could not (with the reason).
/// One malformed key does not poison the others; two keys sharing a `kid` make the whole
/// set invalid (§3.1.1: `kid` values are unique within a set).
///
/// ```
/// use oidfed::jose::KeySet;
/// use oidfed::signer::{JwkSigner, Signer};
/// let (a, b) = (JwkSigner::generate_es256("a").unwrap(), JwkSigner::generate_es256("b").unwrap());
/// let set = KeySet::from_json(&serde_json::json!({"keys": [a.public_jwk(), b.public_jwk()]})).unwrap();
/// assert_eq!((set.len(), set.is_empty()), (2, false));
/// assert_eq!(set.get("b").unwrap().kid(), "b");
/// assert!(set.get("c").is_none());
/// // Serialises back as a JWK Set of the usable keys.
/// assert_eq!(KeySet::from_json(&set.to_json()).unwrap().len(), 2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<Arc<Key>>,
    rejected: Vec<(usize, JoseError)>,
}

impl KeySet {
    /// Reads `{"keys": [...]}`.
    ///
    /// ```
    /// use oidfed::jose::KeySet;
    /// use serde_json::json;
    /// let set = KeySet::from_json(&json!({"keys": [
    ///     {"kty": "EC", "kid": "k1", "crv": "P-256",
    ///      "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    ///      "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
    ///     {"kty": "EC"},
    ///     {"kty": "EC", "kid": "k2", "crv": "P-256", "x": "AA", "y": "AA"}
    /// ]})).unwrap();
    /// assert_eq!(set.len(), 1);
    /// assert_eq!(set.rejected().len(), 2);
    /// // The degenerate key is named, with its reason, and never verifies.
    /// assert!(matches!(set.refusal("k2"), Some(oidfed::jose::KeyError::EcCoordinateLength { .. })));
    /// assert!(KeySet::from_json(&json!({"keys": [
    ///     {"kty": "EC", "kid": "k1"}, {"kty": "RSA", "kid": "k1"}
    /// ]})).is_err());
    /// ```
    pub fn from_json(v: &Value) -> Result<KeySet, JoseError> {
        let keys = v
            .as_object()
            .ok_or_else(|| JoseError::Jwks("not an object".into()))?
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| JoseError::Jwks("no keys array".into()))?;
        let mut set = KeySet::default();
        for (i, k) in keys.iter().enumerate() {
            if i >= MAX_KEYS_PER_SET {
                set.rejected.push((
                    i,
                    JoseError::Jwks(format!("more than {MAX_KEYS_PER_SET} keys: ignored")),
                ));
                break;
            }
            // A refused key still holds its kid: no other key may take it.
            let kid = match Key::from_json(k) {
                Ok(key) => {
                    let kid = key.kid.clone();
                    set.keys.push(Arc::new(key));
                    kid
                }
                Err(e) => {
                    let kid = match &e {
                        JoseError::InvalidKey { kid, .. } => Some(kid.clone()),
                        _ => None,
                    };
                    set.rejected.push((i, e));
                    match kid {
                        Some(kid) => kid,
                        None => continue,
                    }
                }
            };
            let holders =
                set.keys.iter().filter(|k| k.kid == kid).count() + set.refusal_count(&kid);
            if holders > 1 {
                return Err(JoseError::Jwks(format!("two keys share the kid {kid:?}")));
            }
        }
        Ok(set)
    }

    /// The usable keys.
    ///
    /// See the [`KeySet::from_json`] example.
    pub fn keys(&self) -> &[Arc<Key>] {
        &self.keys
    }

    /// Keys that could not be read: (index in the set, reason). Following RFC 7517 §5 they
    /// are ignored, not fatal to the set.
    ///
    /// See the [`KeySet::from_json`] example.
    pub fn rejected(&self) -> &[(usize, JoseError)] {
        &self.rejected
    }

    /// Why the key with this `kid` was refused for its material, if it was: verifying with
    /// that `kid` fails with [`JoseError::InvalidKey`].
    ///
    /// See the [`KeySet::from_json`] example.
    pub fn refusal(&self, kid: &str) -> Option<&KeyError> {
        self.rejected.iter().find_map(|(_, e)| match e {
            JoseError::InvalidKey { kid: k, reason } if k == kid => Some(reason),
            _ => None,
        })
    }

    fn refusal_count(&self, kid: &str) -> usize {
        self.rejected
            .iter()
            .filter(|(_, e)| matches!(e, JoseError::InvalidKey { kid: k, .. } if k == kid))
            .count()
    }

    /// Number of usable keys.
    ///
    /// See the [`KeySet::from_json`] example.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is usable.
    ///
    /// See the [`KeySet::from_json`] example.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key with exactly this `kid`.
    ///
    /// See the [`KeySet::from_json`] example.
    pub fn get(&self, kid: &str) -> Option<&Arc<Key>> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// The set as JSON (usable keys only).
    ///
    /// See the [`KeySet::from_json`] example.
    pub fn to_json(&self) -> Value {
        Value::Object(Map::from_iter([(
            "keys".to_string(),
            Value::Array(self.keys.iter().map(|k| k.to_json()).collect()),
        )]))
    }

    /// Verifies `jws` (whose header was checked to give `alg` and `kid`) with the key of
    /// exactly that `kid`. `whose` names the key set's owner in errors.
    pub fn verify(
        &self,
        jws: &CompactJws,
        alg: Alg,
        kid: &str,
        whose: &str,
    ) -> Result<(), JoseError> {
        let key = self.get(kid).ok_or_else(|| match self.refusal(kid) {
            Some(reason) => JoseError::InvalidKey {
                kid: kid.to_string(),
                reason: reason.clone(),
            },
            None => JoseError::UnknownKid {
                kid: kid.to_string(),
                whose: whose.to_string(),
            },
        })?;
        let verifier = key.verifier(alg).map_err(|reason| JoseError::KeyMismatch {
            kid: kid.to_string(),
            alg,
            reason: reason.to_string(),
        })?;
        cost::count_signature();
        let valid = verifier.verify(jws.signing_input(), jws.signature());
        crate::metrics::signature_checked(alg.name(), valid);
        if valid {
            Ok(())
        } else {
            Err(JoseError::BadSignature {
                kid: kid.to_string(),
                whose: whose.to_string(),
            })
        }
    }
}
