//! The server's own federation presence: its Entity Configuration, published at
//! `/.well-known/openid-federation` (§9).

use serde_json::{Map, Value, json};

use crate::signer::{Signer, SignerError, sign_jwt};
use crate::statement::ENTITY_STATEMENT_TYP;

/// Builds and signs the server's Entity Configuration.
///
/// ```
/// use oidfed::server::EntityConfiguration;
/// use oidfed::signer::{JwkSigner, Signer};
/// use serde_json::json;
///
/// let key = JwkSigner::generate_es256("fed-1").unwrap();
/// let jwt = EntityConfiguration::new("https://op.example.org")
///     .authority_hint("https://ta.example.org")
///     .metadata("openid_provider", json!({"issuer": "https://op.example.org"}))
///     .sign(&key, &[key.public_jwk()], 1_800_000_000, 86_400)
///     .unwrap();
/// assert_eq!(jwt.split('.').count(), 3);
/// ```
#[derive(Debug, Clone)]
pub struct EntityConfiguration {
    id: String,
    authority_hints: Vec<String>,
    metadata: Map<String, Value>,
    trust_marks: Vec<Value>,
}

impl EntityConfiguration {
    /// The configuration of the entity `id`. See the [`EntityConfiguration::sign`] example.
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_string(),
            authority_hints: Vec::new(),
            metadata: Map::new(),
            trust_marks: Vec::new(),
        }
    }

    /// Adds an Immediate Superior. See the [`EntityConfiguration::sign`] example.
    pub fn authority_hint(mut self, id: &str) -> Self {
        self.authority_hints.push(id.to_string());
        self
    }

    /// Sets the metadata of one Entity Type. See the [`EntityConfiguration::sign`] example.
    pub fn metadata(mut self, entity_type: &str, value: Value) -> Self {
        self.metadata.insert(entity_type.to_string(), value);
        self
    }

    /// Adds a trust mark the entity holds. See the [`EntityConfiguration::sign`] example.
    pub fn trust_mark(mut self, trust_mark_type: &str, jwt: &str) -> Self {
        self.trust_marks
            .push(json!({"trust_mark_type": trust_mark_type, "trust_mark": jwt}));
        self
    }

    /// Signs with `signer`, publishing `public_keys` as the `jwks` (every current and
    /// upcoming Federation Entity Key), valid from `now` for `lifetime` seconds.
    ///
    /// ```
    /// use oidfed::jose::CompactJws;
    /// use oidfed::server::EntityConfiguration;
    /// use oidfed::signer::{JwkSigner, Signer};
    /// let key = JwkSigner::generate_es256("fed-1").unwrap();
    /// let ec = EntityConfiguration::new("https://op.example")
    ///     .authority_hint("https://ta.example")
    ///     .metadata("openid_provider", serde_json::json!({"issuer": "https://op.example"}))
    ///     .trust_mark("https://tm.example/certified", "a.b.c");
    /// let jwt = ec.sign(&key, &[key.public_jwk()], 1_800_000_000, 86_400).unwrap();
    /// let jws = CompactJws::parse(&jwt).unwrap();
    /// let claims: serde_json::Value = serde_json::from_slice(jws.payload()).unwrap();
    /// assert_eq!((claims["iss"].as_str(), claims["exp"].as_i64()), (Some("https://op.example"), Some(1_800_086_400)));
    /// assert_eq!(claims["trust_marks"][0]["trust_mark_type"], "https://tm.example/certified");
    /// // A key the configuration does not publish cannot sign it.
    /// let other = JwkSigner::generate_es256("fed-2").unwrap();
    /// assert!(ec.sign(&other, &[key.public_jwk()], 1_800_000_000, 86_400).is_err());
    /// ```
    pub fn sign(
        &self,
        signer: &dyn Signer,
        public_keys: &[Value],
        now: i64,
        lifetime: i64,
    ) -> Result<String, SignerError> {
        if !public_keys
            .iter()
            .any(|k| k.get("kid").and_then(Value::as_str) == Some(signer.kid()))
        {
            return Err(SignerError::KeyNotPublished {
                kid: signer.kid().to_string(),
            });
        }
        let mut claims = json!({
            "iss": self.id,
            "sub": self.id,
            "iat": now,
            "exp": now.saturating_add(lifetime),
            "jwks": {"keys": public_keys},
            "metadata": self.metadata,
        });
        if !self.authority_hints.is_empty() {
            claims["authority_hints"] = json!(self.authority_hints);
        }
        if !self.trust_marks.is_empty() {
            claims["trust_marks"] = json!(self.trust_marks);
        }
        sign_jwt(signer, ENTITY_STATEMENT_TYP, &claims, None)
    }
}
