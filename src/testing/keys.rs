//! Freshly generated signing keys for test federations.

use std::fmt;
use std::sync::Arc;

use josekit::jws::JwsSigner;
use serde_json::{Map, Value, json};

use crate::jose::{b64url, thumbprint};

/// Algorithms a test key can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub enum KeyAlg {
    #[default]
    ES256,
    ES384,
    ES512,
    RS256,
    PS256,
    EdDSA,
}

impl KeyAlg {
    /// The JWS `alg`.
    pub fn name(self) -> &'static str {
        match self {
            KeyAlg::ES256 => "ES256",
            KeyAlg::ES384 => "ES384",
            KeyAlg::ES512 => "ES512",
            KeyAlg::RS256 => "RS256",
            KeyAlg::PS256 => "PS256",
            KeyAlg::EdDSA => "EdDSA",
        }
    }

    /// Parses a JWS `alg` name.
    pub fn from_name(s: &str) -> Option<KeyAlg> {
        [
            KeyAlg::ES256,
            KeyAlg::ES384,
            KeyAlg::ES512,
            KeyAlg::RS256,
            KeyAlg::PS256,
            KeyAlg::EdDSA,
        ]
        .into_iter()
        .find(|a| a.name() == s)
    }
}

/// A key pair that signs JWTs; its `kid` is the RFC 7638 thumbprint. Cheap to clone.
#[derive(Clone)]
pub struct TestKey {
    alg: KeyAlg,
    kid: String,
    public: Value,
    signer: Arc<dyn JwsSigner>,
}

impl fmt::Debug for TestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TestKey({}, {})", self.alg.name(), self.kid)
    }
}

impl TestKey {
    /// A new key pair. Panics only if OpenSSL cannot generate keys (a broken test machine).
    pub fn generate(alg: KeyAlg) -> TestKey {
        use josekit::jws;
        let (private, public): (josekit::jwk::Jwk, josekit::jwk::Jwk) = match alg {
            KeyAlg::ES256 | KeyAlg::ES384 | KeyAlg::ES512 => {
                let pair = match alg {
                    KeyAlg::ES384 => jws::ES384.generate_key_pair(),
                    KeyAlg::ES512 => jws::ES512.generate_key_pair(),
                    _ => jws::ES256.generate_key_pair(),
                }
                .expect("EC key generation");
                (pair.to_jwk_private_key(), pair.to_jwk_public_key())
            }
            KeyAlg::RS256 | KeyAlg::PS256 => {
                if alg == KeyAlg::PS256 {
                    let pair = jws::PS256
                        .generate_key_pair(2048)
                        .expect("RSA key generation");
                    (pair.to_jwk_private_key(), pair.to_jwk_public_key())
                } else {
                    let pair = jws::RS256
                        .generate_key_pair(2048)
                        .expect("RSA key generation");
                    (pair.to_jwk_private_key(), pair.to_jwk_public_key())
                }
            }
            KeyAlg::EdDSA => {
                let pair = jws::EdDSA
                    .generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)
                    .expect("Ed25519 key generation");
                (pair.to_jwk_private_key(), pair.to_jwk_public_key())
            }
        };
        let mut public_map: Map<String, Value> = public.as_ref().clone();
        let kid = thumbprint(&public_map).expect("thumbprint of a generated key");
        public_map.insert("kid".into(), Value::from(kid.clone()));
        public_map.insert("alg".into(), Value::from(alg.name()));
        let signer: Arc<dyn JwsSigner> = match alg {
            KeyAlg::ES256 => Arc::new(jws::ES256.signer_from_jwk(&private).expect("signer")),
            KeyAlg::ES384 => Arc::new(jws::ES384.signer_from_jwk(&private).expect("signer")),
            KeyAlg::ES512 => Arc::new(jws::ES512.signer_from_jwk(&private).expect("signer")),
            KeyAlg::RS256 => Arc::new(jws::RS256.signer_from_jwk(&private).expect("signer")),
            KeyAlg::PS256 => Arc::new(jws::PS256.signer_from_jwk(&private).expect("signer")),
            KeyAlg::EdDSA => Arc::new(jws::EdDSA.signer_from_jwk(&private).expect("signer")),
        };
        TestKey {
            alg,
            kid,
            public: Value::Object(public_map),
            signer,
        }
    }

    /// The algorithm.
    pub fn alg(&self) -> KeyAlg {
        self.alg
    }

    /// The `kid` (RFC 7638 thumbprint).
    pub fn kid(&self) -> String {
        self.kid.clone()
    }

    /// The public key as a JWK, with `kid` and `alg`.
    pub fn public_jwk(&self) -> Value {
        self.public.clone()
    }

    /// `{"keys": [public JWK]}`.
    pub fn public_jwks(&self) -> Value {
        json!({"keys": [self.public]})
    }

    /// Signs `claims` with the header `{alg, kid, typ}`.
    pub fn sign_jwt(&self, typ: &str, claims: &Value) -> String {
        self.sign_with_header(
            &json!({"alg": self.alg.name(), "kid": self.kid, "typ": typ}),
            claims,
        )
    }

    /// Signs `claims` under exactly `header` (for negative tests: no `typ`, a wrong `kid`…).
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let sig = self.signer.sign(input.as_bytes()).expect("signing");
        format!("{input}.{}", b64url(&sig))
    }
}
