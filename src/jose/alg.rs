//! The JWS algorithm allow-list.

use std::fmt;

/// A JWS algorithm from the allow-list. Only asymmetric algorithms exist here: `none` and
/// the HMAC family can never verify a federation statement (Federation Entity Keys are
/// public/private pairs, App. A.1), so they cannot even be named.
///
/// ```
/// use oidfed::jose::Alg;
/// assert_eq!(Alg::from_name("ES256"), Some(Alg::ES256));
/// assert_eq!(Alg::from_name("none"), None);
/// assert_eq!(Alg::from_name("HS256"), None); // symmetric algorithms are never accepted
/// assert_eq!((Alg::PS256.name(), Alg::PS256.key_type()), ("PS256", "RSA"));
/// assert_eq!(Alg::EdDSA.key_type(), "OKP");
/// assert!(Alg::ALL.iter().all(|a| Alg::from_name(a.name()) == Some(*a)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum Alg {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    ES512,
    EdDSA,
}

impl Alg {
    /// Every supported algorithm.
    pub const ALL: [Alg; 10] = [
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES256,
        Alg::ES384,
        Alg::ES512,
        Alg::EdDSA,
    ];

    /// Parses a JWS `alg` value; `None` for anything not on the allow-list (`none`, `HS256`…).
    ///
    /// See the [`Alg`] example.
    pub fn from_name(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The JWS name.
    ///
    /// See the [`Alg`] example.
    pub fn name(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::ES512 => "ES512",
            Alg::EdDSA => "EdDSA",
        }
    }

    /// The JWK `kty` this algorithm needs.
    ///
    /// See the [`Alg`] example.
    pub fn key_type(self) -> &'static str {
        match self {
            Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512 => "RSA",
            Alg::ES256 | Alg::ES384 | Alg::ES512 => "EC",
            Alg::EdDSA => "OKP",
        }
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
