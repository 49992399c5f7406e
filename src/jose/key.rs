//! One public key of a JWK Set (RFC 7517), and its RFC 7638 thumbprint.

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::verifier_cache::{VerifierCells, shared_cells};
use super::{Alg, JoseError, Verifier, VerifierError, b64url, key_check};

/// One public key from a JWK Set, with lazily built verifiers (one per algorithm).
///
/// One example serves the accessors:
///
/// ```
/// use oidfed::jose::{Alg, Key};
/// use oidfed::signer::{JwkSigner, Signer};
/// let signer = JwkSigner::generate_es256("k1").unwrap();
/// let key = Key::from_json(&signer.public_jwk()).unwrap();
///
/// assert_eq!((key.kid(), key.kty(), key.declared_alg()), ("k1", "EC", Some("ES256")));
/// assert_eq!(key.thumbprint().unwrap().len(), 43);
/// assert!(key.usable_for(Alg::ES256) && !key.usable_for(Alg::RS256));
/// assert!(key.same_material(&Key::from_json(&key.to_json()).unwrap()));
/// let sig = signer.sign(b"message").unwrap();
/// assert!(key.verifier(Alg::ES256).unwrap().verify(b"message", &sig));
/// ```
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
    ///
    /// ```
    /// use oidfed::jose::{JoseError, Key};
    /// let ok = serde_json::json!({"kty": "EC", "kid": "k", "crv": "P-256",
    ///     "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
    ///     "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"});
    /// assert_eq!(Key::from_json(&ok).unwrap().kid(), "k");
    /// let mut private = ok.clone();
    /// private["d"] = "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE".into();
    /// assert!(Key::from_json(&private).is_err()); // a published private key is refused
    /// let mut no_kid = ok.clone();
    /// no_kid.as_object_mut().unwrap().remove("kid");
    /// assert!(Key::from_json(&no_kid).is_err());
    /// let bad = serde_json::json!({"kty": "EC", "kid": "k", "crv": "P-256", "x": "AA", "y": "AA"});
    /// assert!(matches!(Key::from_json(&bad), Err(JoseError::InvalidKey { .. })));
    /// ```
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
    ///
    /// See the [`Key`] example.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key type (`RSA`, `EC`, `OKP`).
    ///
    /// See the [`Key`] example.
    pub fn kty(&self) -> &str {
        &self.kty
    }

    /// The `alg` the JWK declares, if any.
    ///
    /// See the [`Key`] example.
    pub fn declared_alg(&self) -> Option<&str> {
        self.alg.as_deref()
    }

    /// The RFC 7638 SHA-256 thumbprint, when the key has the members it needs.
    ///
    /// See the [`Key`] example.
    pub fn thumbprint(&self) -> Option<&str> {
        self.thumbprint.as_deref()
    }

    /// The key as JSON.
    ///
    /// See the [`Key`] example.
    pub fn to_json(&self) -> Value {
        Value::Object(self.json.clone())
    }

    /// Whether two keys carry the same public key material (by thumbprint, or by JSON
    /// equality when no thumbprint can be computed).
    ///
    /// See the [`Key`] example.
    pub fn same_material(&self, other: &Key) -> bool {
        match (&self.thumbprint, &other.thumbprint) {
            (Some(a), Some(b)) => a == b,
            _ => self.json == other.json,
        }
    }

    /// Whether this JWK may verify `alg`: its `kty`, any declared `alg`, `use` and
    /// `key_ops` allow it (the key material itself is checked when the verifier is built).
    ///
    /// See the [`Key`] example.
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
    ///
    /// See the [`Key`] example.
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
///
/// ```
/// // The example of RFC 7638 §3.1.
/// let jwk = serde_json::json!({"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
///     "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"});
/// let t = oidfed::jose::thumbprint(jwk.as_object().unwrap()).unwrap();
/// assert_eq!(t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
/// ```
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
