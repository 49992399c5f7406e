//! One public key of a JWK Set (RFC 7517), and its RFC 7638 thumbprint.

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::verifier_cache::{VerifierCells, shared_cells};
use super::{Alg, JoseError, Verifier, VerifierError, b64url, key_check};

/// One public key from a JWK Set, with lazily built verifiers (one per algorithm).
pub struct Key {
    pub(super) kid: String,
    kty: String,
    alg: Option<String>,
    thumbprint: Option<String>,
    json: Map<String, Value>,
    verifiers: Arc<VerifierCells>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("kty", &self.kty)
            .field("alg", &self.alg)
            .finish()
    }
}

impl Key {
    /// Reads one JWK. It must be an object with a string `kty` and a non-empty string `kid`
    /// (§3.1.1: every key of a federation JWK Set has a `kid`). Private members are refused:
    /// a statement that publishes a private key is broken. The public material of RSA, EC
    /// and OKP signing keys is checked ([`KeyError`](super::KeyError), as [`JoseError::InvalidKey`]).
    pub fn from_json(v: &Value) -> Result<Key, JoseError> {
        let bad = |s: String| JoseError::Jwks(s);
        let obj = v
            .as_object()
            .ok_or_else(|| bad("a JWK must be an object".into()))?;
        let kty = obj
            .get("kty")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("kty missing or not a string".into()))?;
        let kid = match obj.get("kid") {
            Some(Value::String(k)) if !k.is_empty() => k.clone(),
            _ => return Err(bad("kid missing, empty or not a string".into())),
        };
        // `oth` carries the private factors of a multi-prime RSA key (RFC 7518 §6.3.2.7).
        if ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]
            .iter()
            .any(|m| obj.contains_key(*m))
        {
            return Err(bad(format!(
                "key {kid:?} carries private or symmetric material"
            )));
        }
        let alg = match obj.get("alg") {
            None => None,
            Some(Value::String(a)) => Some(a.clone()),
            Some(_) => return Err(bad(format!("key {kid:?}: alg is not a string"))),
        };
        key_check::check_public(obj).map_err(|reason| JoseError::InvalidKey {
            kid: kid.clone(),
            reason,
        })?;
        let thumbprint = thumbprint(obj);
        Ok(Key {
            verifiers: shared_cells(obj, thumbprint.as_deref()),
            thumbprint,
            kid,
            kty: kty.to_string(),
            alg,
            json: obj.clone(),
        })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key type (`RSA`, `EC`, `OKP`).
    pub fn kty(&self) -> &str {
        &self.kty
    }

    /// The `alg` the JWK declares, if any.
    pub fn declared_alg(&self) -> Option<&str> {
        self.alg.as_deref()
    }

    /// The RFC 7638 SHA-256 thumbprint, when the key has the members it needs.
    pub fn thumbprint(&self) -> Option<&str> {
        self.thumbprint.as_deref()
    }

    /// The key as JSON.
    pub fn to_json(&self) -> Value {
        Value::Object(self.json.clone())
    }

    /// Whether two keys carry the same public key material (by thumbprint, or by JSON
    /// equality when no thumbprint can be computed).
    pub fn same_material(&self, other: &Key) -> bool {
        match (&self.thumbprint, &other.thumbprint) {
            (Some(a), Some(b)) => a == b,
            _ => self.json == other.json,
        }
    }

    /// Whether this JWK may verify `alg`: its `kty`, any declared `alg`, `use` and
    /// `key_ops` allow it (the key material itself is checked when the verifier is built).
    pub fn usable_for(&self, alg: Alg) -> bool {
        self.kty == alg.key_type()
            && self.alg.as_deref().is_none_or(|a| a == alg.name())
            && self
                .json
                .get("use")
                .is_none_or(|u| u.as_str() == Some("sig"))
            && self.json.get("key_ops").is_none_or(|ops| {
                ops.as_array()
                    .is_some_and(|a| a.iter().any(|o| o.as_str() == Some("verify")))
            })
    }

    /// The verifier for `alg`, built on first use and kept.
    pub fn verifier(&self, alg: Alg) -> Result<Arc<Verifier>, VerifierError> {
        // Checks that depend on this JWK's own members come first: the cell is shared by
        // keys with the same material.
        if self.kty != alg.key_type() {
            return Err(VerifierError::KeyType {
                alg,
                kty: self.kty.chars().take(200).collect(),
            });
        }
        if let Some(a) = &self.alg {
            if a != alg.name() {
                return Err(VerifierError::DeclaredFor {
                    declared: a.chars().take(200).collect(),
                });
            }
        }
        self.verifiers[alg.index()]
            .get_or_init(|| Verifier::from_jwk(alg, &self.json).map(Arc::new))
            .clone()
    }
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url) over the required members of the key type.
pub fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let kty = jwk.get("kty")?.as_str()?;
    let members: &[&str] = match kty {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canon = String::from("{");
    for (i, m) in members.iter().enumerate() {
        let v = jwk.get(*m)?.as_str()?;
        if i > 0 {
            canon.push(',');
        }
        canon.push_str(&serde_json::to_string(m).ok()?);
        canon.push(':');
        canon.push_str(&serde_json::to_string(v).ok()?);
    }
    canon.push('}');
    Some(b64url(&openssl::sha::sha256(canon.as_bytes())))
}
