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
    ///
    /// ```
    /// use oidfed::server::dcr::{RegistrationAccessToken, hash_token, token_matches};
    /// let token = RegistrationAccessToken::generate().unwrap();
    /// assert_eq!(token.value().len(), 43); // 32 bytes, base64url without padding
    /// assert_eq!(token.hash(), hash_token(token.value())); // only the hash is stored
    /// assert!(token_matches(token.value(), &token.hash()));
    /// assert!(!token_matches("guess", &token.hash()));
    /// assert_ne!(RegistrationAccessToken::generate().unwrap().value(), token.value());
    /// ```
    pub fn generate() -> Result<Self, crate::Error> {
        Ok(Self(random_b64(32)?))
    }

    /// The token, for the registration response only; see
    /// [`RegistrationAccessToken::generate`].
    pub fn value(&self) -> &str {
        &self.0
    }

    /// What the server stores: base64url(SHA-256(token)); see
    /// [`RegistrationAccessToken::generate`].
    pub fn hash(&self) -> String {
        hash_token(&self.0)
    }
}

/// base64url(SHA-256(`token`)).
///
/// ```
/// use oidfed::server::dcr::hash_token;
/// // SHA-256("abc"), base64url without padding.
/// assert_eq!(hash_token("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
/// ```
pub fn hash_token(token: &str) -> String {
    b64url(&openssl::sha::sha256(token.as_bytes()))
}

/// Whether `presented` hashes to `stored`, compared in constant time.
///
/// ```
/// use oidfed::server::dcr::{hash_token, token_matches};
/// let stored = hash_token("s3cret");
/// assert!(token_matches("s3cret", &stored));
/// assert!(!token_matches("s3cret2", &stored));
/// assert!(!token_matches("s3cret", "short"));
/// ```
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
