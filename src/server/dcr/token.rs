//! Registration access tokens (RFC 7592 §1.2, §3): bearer credentials for the client
//! configuration endpoint. The server keeps only their SHA-256 hash and compares hashes in
//! constant time; a new token is issued at registration and on every update.

use std::fmt;

use crate::jose::b64url;

/// A freshly issued registration access token. Its value is shown once, to the client;
/// only [`RegistrationAccessToken::hash`] is stored.
///
/// ```
/// use oidfed::server::dcr::{RegistrationAccessToken, token_matches};
/// let t = RegistrationAccessToken::generate()?;
/// assert!(token_matches(t.value(), &t.hash()));
/// assert!(!token_matches("guess", &t.hash()));
/// # Ok::<(), oidfed::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RegistrationAccessToken(String);

impl fmt::Debug for RegistrationAccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RegistrationAccessToken(..)")
    }
}

impl RegistrationAccessToken {
    /// 32 random bytes from OpenSSL's CSPRNG, base64url.
    pub fn generate() -> Result<Self, crate::Error> {
        Ok(Self(random_b64(32)?))
    }

    /// The token, for the registration response only.
    pub fn value(&self) -> &str {
        &self.0
    }

    /// What the server stores: base64url(SHA-256(token)).
    pub fn hash(&self) -> String {
        hash_token(&self.0)
    }
}

/// base64url(SHA-256(`token`)).
pub fn hash_token(token: &str) -> String {
    b64url(&openssl::sha::sha256(token.as_bytes()))
}

/// Whether `presented` hashes to `stored`, compared in constant time.
pub fn token_matches(presented: &str, stored: &str) -> bool {
    let h = hash_token(presented);
    h.len() == stored.len() && openssl::memcmp::eq(h.as_bytes(), stored.as_bytes())
}

/// `n` random bytes, base64url: for tokens and generated client identifiers.
pub(crate) fn random_b64(n: usize) -> Result<String, crate::Error> {
    let mut buf = vec![0u8; n];
    openssl::rand::rand_bytes(&mut buf).map_err(|e| {
        crate::error::ConfigError::RandomGenerator {
            detail: e.to_string(),
        }
    })?;
    Ok(b64url(&buf))
}
