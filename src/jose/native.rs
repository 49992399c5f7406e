//! Signature verifiers built straight from JWK members with OpenSSL's component constructors.
//!
//! Building a verifier through a DER/PEM round trip (what a generic JWK library does) goes
//! through OpenSSL 3's decoder framework, which costs more than the signature check itself
//! (≈ 150 µs against ≈ 75 µs for one ES256 verify on the development machine). Keys here are
//! assembled from their coordinates or modulus and exponent directly, and an EC point is
//! validated on its curve when decoded.
//!
//! With the cargo feature `aws-lc`, ECDSA signatures (ES256, ES384, ES512) are checked with
//! aws-lc-rs instead ([`EC_VERIFICATION`] says which): the key material is still decoded and
//! checked with OpenSSL first, exactly as without the feature.

use std::sync::OnceLock;

#[cfg(not(feature = "aws-lc"))]
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
#[cfg(not(feature = "aws-lc"))]
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
#[cfg(not(feature = "aws-lc"))]
use openssl::hash::hash;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Public};
use openssl::rsa::{Padding, Rsa};
use openssl::sign::{RsaPssSaltlen, Verifier as OsslVerifier};
use serde_json::{Map, Value};

use super::Alg;
use super::key_check::{self, KeyError};

/// Why no verifier can be built from a JWK for an algorithm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifierError {
    /// The key's `kty` is not the one the algorithm needs.
    #[error("{alg} needs kty {}, not {kty:?}", alg.key_type())]
    KeyType {
        /// The algorithm.
        alg: Alg,
        /// The key's `kty`.
        kty: String,
    },
    /// The key is declared (`alg`) for another algorithm.
    #[error("the key is declared for {declared}")]
    DeclaredFor {
        /// The key's `alg`.
        declared: String,
    },
    /// The key's `use` is not `sig`.
    #[error("the key's use is {value}, not sig")]
    NotForSignatures {
        /// The `use` given.
        value: String,
    },
    /// The key's `key_ops` do not include `verify`.
    #[error("the key's key_ops do not include verify")]
    NoVerifyOperation,
    /// The key's curve is not the one the algorithm needs.
    #[error("{alg} needs crv {needed}, not {crv:?}")]
    Curve {
        /// The algorithm.
        alg: Alg,
        /// The curve it needs (for EdDSA: `Ed25519` or `Ed448`).
        needed: &'static str,
        /// The key's `crv`.
        crv: String,
    },
    /// The key's material breaks a rule (a degenerate key, a point off its curve…).
    #[error("{0}")]
    Material(KeyError),
    /// The cryptographic library refused the key.
    #[error("invalid key: {detail}")]
    Library {
        /// The library's message.
        detail: String,
    },
}

/// A verifier for one key and one algorithm.
///
/// ```
/// use oidfed::jose::{Alg, Verifier};
/// use oidfed::signer::{JwkSigner, Signer};
/// let signer = JwkSigner::generate_es256("k1").unwrap();
/// let jwk = signer.public_jwk();
/// let verifier = Verifier::from_jwk(Alg::ES256, jwk.as_object().unwrap()).unwrap();
/// assert_eq!(verifier.alg(), Alg::ES256);
/// let sig = signer.sign(b"message").unwrap();
/// assert!(verifier.verify(b"message", &sig));
/// assert!(!verifier.verify(b"other message", &sig));
/// assert!(!verifier.verify(b"message", b"garbage")); // malformed: simply invalid
/// // An EC key cannot build an RSA verifier.
/// assert!(Verifier::from_jwk(Alg::RS256, jwk.as_object().unwrap()).is_err());
/// ```
pub struct Verifier {
    alg: Alg,
    kind: Kind,
}

/// Which implementation checks ECDSA signatures in this build: `"openssl"` (the system
/// OpenSSL, through the `openssl` crate) or `"aws-lc"` (aws-lc-rs, cargo feature `aws-lc`).
pub const EC_VERIFICATION: &str = if cfg!(feature = "aws-lc") {
    "aws-lc"
} else {
    "openssl"
};

#[cfg(not(feature = "aws-lc"))]
type EcPublic = EcKey<Public>;
#[cfg(feature = "aws-lc")]
type EcPublic = aws_lc_rs::signature::ParsedPublicKey;

enum Kind {
    Ec { key: EcPublic, size: usize },
    Rsa { key: PKey<Public> },
    Ed { key: PKey<Public> },
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("alg", &self.alg).finish()
    }
}

fn member<'a>(jwk: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, VerifierError> {
    jwk.get(name)
        .and_then(Value::as_str)
        .ok_or(VerifierError::Material(KeyError::Missing { member: name }))
}

fn bytes(jwk: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, VerifierError> {
    key_check::bytes(jwk, name).map_err(VerifierError::Material)
}

fn material(e: KeyError) -> VerifierError {
    VerifierError::Material(e)
}

/// A value of the key echoed in an error, cut to 200 characters (the key is untrusted).
fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

fn library(e: impl std::fmt::Display) -> VerifierError {
    VerifierError::Library {
        detail: clip(&e.to_string()),
    }
}

fn digest(alg: Alg) -> MessageDigest {
    match alg {
        Alg::RS256 | Alg::PS256 | Alg::ES256 => MessageDigest::sha256(),
        Alg::RS384 | Alg::PS384 | Alg::ES384 => MessageDigest::sha384(),
        _ => MessageDigest::sha512(),
    }
}

/// The three NIST curves, built once per process (building a group is not free).
pub(super) fn curve(nid: Nid) -> Result<&'static EcGroup, openssl::error::ErrorStack> {
    static P256: OnceLock<EcGroup> = OnceLock::new();
    static P384: OnceLock<EcGroup> = OnceLock::new();
    static P521: OnceLock<EcGroup> = OnceLock::new();
    let cell = match nid {
        Nid::X9_62_PRIME256V1 => &P256,
        Nid::SECP384R1 => &P384,
        _ => &P521,
    };
    if let Some(g) = cell.get() {
        return Ok(g);
    }
    let g = EcGroup::from_curve_name(nid)?;
    Ok(cell.get_or_init(|| g))
}

#[cfg(not(feature = "aws-lc"))]
fn ec_public(_: Alg, key: EcKey<Public>) -> Result<EcPublic, VerifierError> {
    Ok(key)
}

/// The checked OpenSSL key, handed to aws-lc-rs as its uncompressed point.
#[cfg(feature = "aws-lc")]
fn ec_public(alg: Alg, key: EcKey<Public>) -> Result<EcPublic, VerifierError> {
    use aws_lc_rs::signature as lc;
    use openssl::bn::BigNumContext;
    use openssl::ec::PointConversionForm;
    let algorithm: &'static lc::EcdsaVerificationAlgorithm = match alg {
        Alg::ES256 => &lc::ECDSA_P256_SHA256_FIXED,
        Alg::ES384 => &lc::ECDSA_P384_SHA384_FIXED,
        _ => &lc::ECDSA_P521_SHA512_FIXED,
    };
    let mut ctx = BigNumContext::new().map_err(library)?;
    let encoded = key
        .public_key()
        .to_bytes(key.group(), PointConversionForm::UNCOMPRESSED, &mut ctx)
        .map_err(library)?;
    lc::ParsedPublicKey::new(algorithm, encoded).map_err(library)
}

impl Verifier {
    /// Builds the verifier for `alg` from a public JWK. Its `kty` must be exactly the one
    /// `alg` needs (`RSA`, `EC` or `OKP`): any other is refused, so the key checks made for
    /// that type always run.
    ///
    /// See the [`Verifier`] example.
    pub fn from_jwk(alg: Alg, jwk: &Map<String, Value>) -> Result<Verifier, VerifierError> {
        let kty = member(jwk, "kty")?;
        if kty != alg.key_type() {
            return Err(VerifierError::KeyType {
                alg,
                kty: clip(kty),
            });
        }
        if let Some(u) = jwk.get("use") {
            if u.as_str() != Some("sig") {
                return Err(VerifierError::NotForSignatures {
                    value: clip(&u.to_string()),
                });
            }
        }
        if let Some(ops) = jwk.get("key_ops") {
            let ok = ops
                .as_array()
                .is_some_and(|a| a.iter().any(|o| o.as_str() == Some("verify")));
            if !ok {
                return Err(VerifierError::NoVerifyOperation);
            }
        }
        let ssl = library;
        let kind = match alg {
            Alg::ES256 | Alg::ES384 | Alg::ES512 => {
                let name = match alg {
                    Alg::ES256 => "P-256",
                    Alg::ES384 => "P-384",
                    _ => "P-521",
                };
                let wrong_curve = |crv: &str| VerifierError::Curve {
                    alg,
                    needed: name,
                    crv: clip(crv),
                };
                let given = member(jwk, "crv")?;
                if given != name {
                    return Err(wrong_curve(given));
                }
                let (crv, nid, size, _) =
                    key_check::ec_curve(name).ok_or_else(|| wrong_curve(given))?;
                let (x, y) = (bytes(jwk, "x")?, bytes(jwk, "y")?);
                // The point is decoded, on the curve and not at infinity (checked again here
                // so a verifier never exists for a point that is not).
                let (group, point) =
                    key_check::ec_point(crv, nid, size, &x, &y).map_err(material)?;
                let key = EcKey::from_public_key(group, &point).map_err(ssl)?;
                Kind::Ec {
                    key: ec_public(alg, key)?,
                    size,
                }
            }
            Alg::EdDSA => {
                let id = match member(jwk, "crv")? {
                    "Ed25519" => Id::ED25519,
                    "Ed448" => Id::ED448,
                    other => {
                        return Err(VerifierError::Curve {
                            alg,
                            needed: "Ed25519 or Ed448",
                            crv: clip(other),
                        });
                    }
                };
                key_check::check_public(jwk).map_err(material)?;
                let key = PKey::public_key_from_raw_bytes(&bytes(jwk, "x")?, id).map_err(ssl)?;
                Kind::Ed { key }
            }
            _ => {
                // The same checks as when the key was read: a verifier never exists for a
                // degenerate key, however it was reached.
                key_check::check_public(jwk).map_err(material)?;
                let n = key_check::uint(jwk, "n").map_err(material)?;
                let e = key_check::uint(jwk, "e").map_err(material)?;
                let rsa = Rsa::from_public_components(n, e).map_err(ssl)?;
                Kind::Rsa {
                    key: PKey::from_rsa(rsa).map_err(ssl)?,
                }
            }
        };
        Ok(Verifier { alg, kind })
    }

    /// The algorithm this verifier checks.
    ///
    /// See the [`Verifier`] example.
    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// Whether `signature` is a valid signature of `message`. Any malformed signature is
    /// simply invalid.
    ///
    /// See the [`Verifier`] example.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.check(message, signature).unwrap_or(false)
    }

    fn check(&self, message: &[u8], signature: &[u8]) -> Result<bool, openssl::error::ErrorStack> {
        match &self.kind {
            Kind::Ec { key, size } => {
                // JWS ECDSA signatures are R || S, each exactly the curve's size (RFC 7518 §3.4).
                if signature.len() != 2 * size {
                    return Ok(false);
                }
                #[cfg(feature = "aws-lc")]
                {
                    Ok(key.verify_sig(message, signature).is_ok())
                }
                #[cfg(not(feature = "aws-lc"))]
                {
                    let r = BigNum::from_slice(&signature[..*size])?;
                    let s = BigNum::from_slice(&signature[*size..])?;
                    let sig = EcdsaSig::from_private_components(r, s)?;
                    let h = hash(digest(self.alg), message)?;
                    sig.verify(&h, key)
                }
            }
            Kind::Rsa { key } => {
                let mut v = OsslVerifier::new(digest(self.alg), key)?;
                if matches!(self.alg, Alg::PS256 | Alg::PS384 | Alg::PS512) {
                    v.set_rsa_padding(Padding::PKCS1_PSS)?;
                    v.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)?;
                    v.set_rsa_mgf1_md(digest(self.alg))?;
                } else {
                    v.set_rsa_padding(Padding::PKCS1)?;
                }
                v.verify_oneshot(signature, message)
            }
            Kind::Ed { key } => {
                OsslVerifier::new_without_digest(key)?.verify_oneshot(signature, message)
            }
        }
    }
}
