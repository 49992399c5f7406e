//! Signing the server's own federation JWTs (its Entity Configuration, Explicit Registration
//! responses, resolve responses). The server provides a [`Signer`]: its private keys never
//! need to be handed to oidfed as such; [`JwkSigner`] covers the common case of a private JWK.

use std::fmt;

use josekit::jwk::Jwk;
use josekit::jws::JwsSigner;
use serde_json::{Map, Value};

use crate::jose::{Alg, b64url};

/// Signs with one of the server's Federation Entity Keys.
///
/// A server whose keys live elsewhere (an HSM, a KMS) implements it; here, a wrapper
/// that counts signatures:
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use oidfed::jose::Alg;
/// use oidfed::signer::{JwkSigner, Signer, SignerError, sign_jwt};
/// struct Counting(JwkSigner, AtomicUsize);
/// impl Signer for Counting {
///     fn alg(&self) -> Alg { self.0.alg() }
///     fn kid(&self) -> &str { self.0.kid() }
///     fn public_jwk(&self) -> serde_json::Value { self.0.public_jwk() }
///     fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
///         self.1.fetch_add(1, Ordering::Relaxed);
///         self.0.sign(message)
///     }
/// }
/// let signer = Counting(JwkSigner::generate_es256("k1").unwrap(), AtomicUsize::new(0));
/// sign_jwt(&signer, "JWT", &serde_json::json!({}), None).unwrap();
/// assert_eq!(signer.1.load(Ordering::Relaxed), 1);
/// ```
pub trait Signer: Send + Sync {
    /// The algorithm.
    fn alg(&self) -> Alg;
    /// The `kid` of the key (as published in the server's `jwks`).
    fn kid(&self) -> &str;
    /// The public key as a JWK (with `kid`), for the server's `jwks`.
    fn public_jwk(&self) -> Value;
    /// Signs `message` (the JWS signing input), returning the JWS signature bytes. A
    /// signer backed by an HSM or a key service reports its failures as
    /// [`SignerError::Backend`].
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError>;
}

/// Why a signer could not be built or could not sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignerError {
    /// The private JWK is not a JSON object.
    #[error("the JWK is not an object")]
    NotAnObject,
    /// The private JWK has no (non-empty) `kid`.
    #[error("the JWK has no kid")]
    NoKid,
    /// The private JWK lacks its public members (`x`/`y` or `n`/`e`).
    #[error("the private JWK lacks its public members (x/y or n/e)")]
    NoPublicMembers,
    /// The JWK is not a usable private key for the algorithm.
    #[error("the JWK is not a usable {alg} private key: {detail}")]
    InvalidKey {
        /// The algorithm asked for.
        alg: Alg,
        /// The JOSE library's message.
        detail: String,
    },
    /// A key pair could not be generated.
    #[error("key generation: {detail}")]
    KeyGeneration {
        /// The library's message.
        detail: String,
    },
    /// The signing key is not among the keys the statement publishes.
    #[error("the signing key {kid:?} is not among the published keys")]
    KeyNotPublished {
        /// The signer's `kid`.
        kid: String,
    },
    /// Signing failed in the signer's backend (the JOSE library, an HSM, a key service).
    #[error("signing failed: {detail}")]
    Backend {
        /// The backend's message.
        detail: String,
    },
}

/// Builds a compact JWS: header `{alg, kid, typ}` plus `extra_header`, then `claims`.
///
/// ```
/// use oidfed::signer::{JwkSigner, sign_jwt};
/// let signer = JwkSigner::generate_es256("k1").unwrap();
/// let jwt = sign_jwt(&signer, "entity-statement+jwt", &serde_json::json!({"iss": "x"}), None).unwrap();
/// assert_eq!(jwt.split('.').count(), 3);
/// ```
pub fn sign_jwt(
    signer: &dyn Signer,
    typ: &str,
    claims: &Value,
    extra_header: Option<&Map<String, Value>>,
) -> Result<String, SignerError> {
    let mut header = Map::new();
    header.insert("alg".into(), Value::from(signer.alg().name()));
    header.insert("kid".into(), Value::from(signer.kid()));
    header.insert("typ".into(), Value::from(typ));
    if let Some(extra) = extra_header {
        for (k, v) in extra {
            if !["alg", "kid", "typ"].contains(&k.as_str()) {
                header.insert(k.clone(), v.clone());
            }
        }
    }
    let h = b64url(Value::Object(header).to_string().as_bytes());
    let p = b64url(claims.to_string().as_bytes());
    let input = format!("{h}.{p}");
    let sig = signer.sign(input.as_bytes())?;
    Ok(format!("{input}.{}", b64url(&sig)))
}

/// A [`Signer`] over a private JWK, through josekit.
///
/// ```
/// use oidfed::jose::{Alg, Key};
/// use oidfed::signer::{JwkSigner, Signer};
/// let signer = JwkSigner::generate_es256("fed-1").unwrap();
/// assert_eq!((signer.alg(), signer.kid()), (Alg::ES256, "fed-1"));
/// let public = signer.public_jwk();
/// assert!(public.get("d").is_none()); // only the public members are published
/// let sig = signer.sign(b"input").unwrap();
/// assert!(Key::from_json(&public).unwrap().verifier(Alg::ES256).unwrap().verify(b"input", &sig));
/// ```
pub struct JwkSigner {
    alg: Alg,
    kid: String,
    public: Value,
    inner: Box<dyn JwsSigner>,
}

impl fmt::Debug for JwkSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwkSigner")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish()
    }
}

impl JwkSigner {
    /// A signer for `alg` from a private JWK (which must carry a `kid`).
    ///
    /// ```
    /// use oidfed::jose::Alg;
    /// use oidfed::signer::{JwkSigner, Signer};
    /// // The P-256 key of RFC 7515 Appendix A.3, with a kid.
    /// let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "kid": "a3",
    ///     "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    ///     "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    ///     "d": "jpsQnnGQmL-YBIffH1136cLSG3ryXHWsQpqdKKY0Ebs"});
    /// let signer = JwkSigner::from_jwk(Alg::ES256, &jwk).unwrap();
    /// assert_eq!(signer.kid(), "a3");
    /// let mut no_kid = jwk.clone();
    /// no_kid.as_object_mut().unwrap().remove("kid");
    /// assert!(JwkSigner::from_jwk(Alg::ES256, &no_kid).is_err());
    /// ```
    pub fn from_jwk(alg: Alg, private_jwk: &Value) -> Result<Self, SignerError> {
        let invalid = |e: josekit::JoseError| SignerError::InvalidKey {
            alg,
            detail: e.to_string(),
        };
        let map = private_jwk.as_object().ok_or(SignerError::NotAnObject)?;
        let kid = map
            .get("kid")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .ok_or(SignerError::NoKid)?
            .to_string();
        let jwk = Jwk::from_map(map.clone()).map_err(invalid)?;
        use josekit::jws;
        let inner: Box<dyn JwsSigner> = match alg {
            Alg::RS256 => Box::new(jws::RS256.signer_from_jwk(&jwk).map_err(invalid)?),
            Alg::RS384 => Box::new(jws::RS384.signer_from_jwk(&jwk).map_err(invalid)?),
            Alg::RS512 => Box::new(jws::RS512.signer_from_jwk(&jwk).map_err(invalid)?),
            Alg::PS256 => Box::new(jws::PS256.signer_from_jwk(&jwk).map_err(invalid)?),
            Alg::PS384 => Box::new(jws::PS384.signer_from_jwk(&jwk).map_err(invalid)?),
            Alg::PS512 => Box::new(jws::PS512.signer_from_jwk(&jwk).map_err(invalid)?),
            Alg::ES256 => Box::new(jws::ES256.signer_from_jwk(&jwk).map_err(invalid)?),
            Alg::ES384 => Box::new(jws::ES384.signer_from_jwk(&jwk).map_err(invalid)?),
            Alg::ES512 => Box::new(jws::ES512.signer_from_jwk(&jwk).map_err(invalid)?),
            Alg::EdDSA => Box::new(jws::EdDSA.signer_from_jwk(&jwk).map_err(invalid)?),
        };
        let mut public = map.clone();
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
            public.remove(private);
        }
        let has_material = ["x", "n"].iter().any(|m| public.contains_key(*m));
        if !has_material {
            return Err(SignerError::NoPublicMembers);
        }
        public.insert("alg".into(), Value::from(alg.name()));
        Ok(Self {
            alg,
            kid,
            public: Value::Object(public),
            inner,
        })
    }

    /// A fresh ES256 key pair, for tests and examples; see the [`JwkSigner`] example.
    pub fn generate_es256(kid: &str) -> Result<Self, SignerError> {
        let pair =
            josekit::jws::ES256
                .generate_key_pair()
                .map_err(|e| SignerError::KeyGeneration {
                    detail: e.to_string(),
                })?;
        let mut jwk = pair.to_jwk_key_pair();
        jwk.set_key_id(kid);
        Self::from_jwk(Alg::ES256, &Value::Object(jwk.as_ref().clone()))
    }
}

impl Signer for JwkSigner {
    fn alg(&self) -> Alg {
        self.alg
    }
    fn kid(&self) -> &str {
        &self.kid
    }
    fn public_jwk(&self) -> Value {
        self.public.clone()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.inner.sign(message).map_err(|e| SignerError::Backend {
            detail: e.to_string(),
        })
    }
}
