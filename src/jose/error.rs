//! Why a token or a key was refused at the JOSE layer.

use super::{Alg, KeyError};

/// Why a token or a key was refused at the JOSE layer. Each variant is one rule.
///
/// ```
/// use oidfed::jose::{CompactJws, JoseError};
/// assert_eq!(CompactJws::parse("not a jws").unwrap_err(), JoseError::NotCompact);
/// assert!(matches!(CompactJws::parse("a.b.c.d.e"), Err(JoseError::Jwe)));
/// assert!(matches!(CompactJws::parse("!!.e30.AA"), Err(JoseError::Base64 { .. })));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoseError {
    /// Longer than the accepted maximum.
    #[error("token of {len} bytes exceeds the {limit} byte limit")]
    TooLong {
        /// The token length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Five parts: a JWE where a JWS is expected (§1.1).
    #[error("a JWE was given where a JWS is expected")]
    Jwe,
    /// Not three dot-separated parts (JSON serialization, garbage) (§1.1).
    #[error("not a JWS in compact serialization")]
    NotCompact,
    /// A part is not unpadded base64url.
    #[error("the {part} is not base64url")]
    Base64 {
        /// Which part: header, payload or signature.
        part: &'static str,
    },
    /// The header is not a JSON object.
    #[error("the header is not a JSON object: {0}")]
    Header(String),
    /// `typ` missing (§3.2 step 2, RFC 8725 §3.11).
    #[error("the typ header is missing (expected {expected:?})")]
    MissingTyp {
        /// The required type.
        expected: String,
    },
    /// `typ` is not the one required for this kind of JWT.
    #[error("typ {found:?} where {expected:?} is required")]
    WrongTyp {
        /// The type found.
        found: String,
        /// The required type.
        expected: String,
    },
    /// `alg` missing.
    #[error("the alg header is missing")]
    MissingAlg,
    /// `alg` is `none`, symmetric or otherwise not on the allow-list (§3.2 step 3).
    #[error("alg {0:?} is not an accepted asymmetric algorithm")]
    AlgNotAllowed(String),
    /// `kid` missing, empty or not a string (§3, §3.2 step 11).
    #[error("the kid header is missing, empty or not a string")]
    MissingKid,
    /// A header that carries or points at keys (`jwk`, `jku`, `x5u`, `x5c`): never trusted.
    #[error("the {0} header is not accepted: keys come only from the federation")]
    KeyInHeader(String),
    /// A `crit` header: no JWS header extension is supported (RFC 7515 §4.1.11).
    #[error("critical header extension(s) not understood: {0}")]
    CritHeader(String),
    /// No key in the set has the header's `kid` (§3.2 step 11).
    #[error("no key with kid {kid:?} in {whose}")]
    UnknownKid {
        /// The `kid` looked for.
        kid: String,
        /// Whose key set was searched.
        whose: String,
    },
    /// The key with that `kid` cannot be used with that algorithm.
    #[error("key {kid:?} cannot verify {alg}: {reason}")]
    KeyMismatch {
        /// The key id.
        kid: String,
        /// The algorithm.
        alg: Alg,
        /// Why.
        reason: String,
    },
    /// The signature does not verify (§3.2 step 12).
    #[error("signature does not verify with key {kid:?} of {whose}")]
    BadSignature {
        /// The key id.
        kid: String,
        /// Whose key set was used.
        whose: String,
    },
    /// The JWK Set is malformed as a whole (§3.1.1), or one JWK of it is unreadable.
    #[error("invalid JWK Set: {0}")]
    Jwks(String),
    /// The key's public material is degenerate or malformed ([`KeyError`]): refused when
    /// read, so nothing ever verifies with it.
    #[error("key {kid:?} is refused: {reason}")]
    InvalidKey {
        /// The key id.
        kid: String,
        /// Which rule the key material broke.
        reason: KeyError,
    },
}
