//! Public key material, checked when a JWK is read (RFC 7517, RFC 7518 §6, RFC 8037).
//!
//! A public key whose material makes the signature equation trivial lets anyone "sign":
//! under an RSA key with `e = 1`, `s^e mod n = s`, so the encoded message itself is a valid
//! PKCS#1 v1.5 or PSS signature; under the Ed25519 identity point, `(R = [S]B, S)` verifies
//! for every message. Such keys are refused here, before any verifier exists, with a
//! [`KeyError`] saying which rule the key broke. Keys of a type or curve this crate cannot
//! verify with (an `X25519` encryption key, `secp256k1`…) are not judged: they never verify.

use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use openssl::ec::{EcGroup, EcPoint};
use openssl::nid::Nid;
use serde_json::{Map, Value};

use super::{Alg, b64url_decode};

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: u32 = 2048;
/// Largest RSA modulus accepted, in bits (OpenSSL's own limit for RSA public operations).
pub const MAX_RSA_BITS: u32 = 16384;
/// Largest RSA public exponent accepted: 2^32 + 1. Real keys use 65537; OpenSSL itself
/// refuses exponents over 64 bits for moduli above 3072 bits.
pub const MAX_RSA_EXPONENT: u64 = (1 << 32) + 1;

/// Why a public JWK's material was refused. Each variant is one rule.
///
/// ```
/// use oidfed::jose::{KeyError, KeySet};
/// let set = KeySet::from_json(&serde_json::json!({"keys": [
///     {"kty": "EC", "kid": "short", "crv": "P-256", "x": "AA", "y": "AA"}
/// ]})).unwrap();
/// assert!(set.is_empty());
/// assert!(matches!(set.refusal("short"), Some(KeyError::EcCoordinateLength { .. })));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A member the key type requires is missing or not a string (RFC 7518 §6).
    #[error("{member} is missing or not a string")]
    Missing {
        /// The member.
        member: &'static str,
    },
    /// A member is not unpadded base64url.
    #[error("{member} is not base64url")]
    NotBase64 {
        /// The member.
        member: &'static str,
    },
    /// An integer member has leading zero octets: a Base64urlUInt uses the fewest octets
    /// that represent the value (RFC 7518 §2), so one key has one encoding.
    #[error("{member} is not minimally encoded (leading zero octets)")]
    NonMinimal {
        /// The member.
        member: &'static str,
    },
    /// The RSA modulus is outside [`MIN_RSA_BITS`]..=[`MAX_RSA_BITS`].
    #[error("RSA modulus of {bits} bits; {MIN_RSA_BITS} to {MAX_RSA_BITS} required")]
    RsaModulusSize {
        /// Its size.
        bits: u32,
    },
    /// The RSA modulus is even: it is no product of two odd primes.
    #[error("the RSA modulus is even")]
    RsaModulusEven,
    /// The RSA exponent is below 3 (`e = 1` makes every encoded message its own signature).
    #[error("the RSA exponent is below 3")]
    RsaExponentTooSmall,
    /// The RSA exponent is even: no private exponent exists (RFC 8017 §3.1).
    #[error("the RSA exponent is even")]
    RsaExponentEven,
    /// The RSA exponent is above [`MAX_RSA_EXPONENT`] (or not below the modulus).
    #[error("the RSA exponent is above 2^32 + 1 or not below the modulus")]
    RsaExponentTooLarge,
    /// An EC coordinate is not exactly the curve's size (RFC 7518 §6.2.1.2, §6.2.1.3).
    #[error("{crv} coordinates must be {size} bytes, found {found}")]
    EcCoordinateLength {
        /// The curve.
        crv: &'static str,
        /// The required size.
        size: usize,
        /// The size found.
        found: usize,
    },
    /// The EC point is not on the named curve (SEC 1 §3.2.2.1).
    #[error("the point is not on the curve")]
    EcPointNotOnCurve,
    /// The EC point is the point at infinity.
    #[error("the point is the point at infinity")]
    EcPointAtInfinity,
    /// An OKP key is not exactly its curve's size (RFC 8037 §2: 32 bytes for Ed25519, 57
    /// for Ed448).
    #[error("{crv} keys are {size} bytes, found {found}")]
    OkpKeyLength {
        /// The curve.
        crv: &'static str,
        /// The required size.
        size: usize,
        /// The size found.
        found: usize,
    },
    /// An EdDSA key is not a canonical point encoding (RFC 8032 §5.1.3, §5.2.3).
    #[error("the EdDSA public key is not a canonical encoding")]
    OkpNonCanonical,
    /// An EdDSA key is a point of small order (the identity among them): signatures under it
    /// can be made without the private key.
    #[error("the EdDSA public key is a point of small order")]
    OkpSmallOrder,
    /// `crv` names a curve of another key type (an `EC` key on `Ed25519`, an `OKP` key on
    /// `P-256`).
    #[error("kty {kty} cannot have crv {crv:?}")]
    CurveMismatch {
        /// The key type.
        kty: String,
        /// The curve.
        crv: String,
    },
    /// The declared `alg` is an accepted algorithm that this key's type or curve cannot
    /// verify (RFC 7517 §4.4).
    #[error("alg {alg} does not fit this key's type or curve")]
    AlgMismatch {
        /// The declared algorithm.
        alg: String,
    },
}

fn member<'a>(jwk: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, KeyError> {
    jwk.get(name)
        .and_then(Value::as_str)
        .ok_or(KeyError::Missing { member: name })
}

pub(super) fn bytes(jwk: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, KeyError> {
    b64url_decode(member(jwk, name)?).ok_or(KeyError::NotBase64 { member: name })
}

/// A Base64urlUInt member (RFC 7518 §2): minimal, non-empty.
pub(super) fn uint(jwk: &Map<String, Value>, name: &'static str) -> Result<BigNum, KeyError> {
    let b = bytes(jwk, name)?;
    if b.first().is_none_or(|first| *first == 0) && b != [0] {
        return Err(KeyError::NonMinimal { member: name });
    }
    BigNum::from_slice(&b).map_err(|_| KeyError::NotBase64 { member: name })
}

/// The NIST curve of an `EC` key: (crv, OpenSSL name, coordinate size, its algorithm).
pub(super) fn ec_curve(crv: &str) -> Option<(&'static str, Nid, usize, Alg)> {
    match crv {
        "P-256" => Some(("P-256", Nid::X9_62_PRIME256V1, 32, Alg::ES256)),
        "P-384" => Some(("P-384", Nid::SECP384R1, 48, Alg::ES384)),
        "P-521" => Some(("P-521", Nid::SECP521R1, 66, Alg::ES512)),
        _ => None,
    }
}

const OKP_CURVES: [&str; 4] = ["Ed25519", "Ed448", "X25519", "X448"];

/// Checks the public material of a JWK of a type this crate verifies with. `Ok` for keys of
/// other types or curves (they can never build a verifier).
pub(super) fn check_public(jwk: &Map<String, Value>) -> Result<(), KeyError> {
    let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or_default();
    let crv = jwk.get("crv").and_then(Value::as_str);
    let declared = jwk
        .get("alg")
        .and_then(Value::as_str)
        .and_then(Alg::from_name);
    let alg_fits = |ok: bool| match declared {
        Some(a) if !ok => Err(KeyError::AlgMismatch {
            alg: a.name().to_string(),
        }),
        _ => Ok(()),
    };
    match kty {
        "RSA" => {
            alg_fits(declared.is_none_or(|a| a.key_type() == "RSA"))?;
            let (n, e) = (uint(jwk, "n")?, uint(jwk, "e")?);
            check_rsa(&n, &e)
        }
        "EC" => {
            let crv = crv.ok_or(KeyError::Missing { member: "crv" })?;
            if OKP_CURVES.contains(&crv) {
                return Err(KeyError::CurveMismatch {
                    kty: kty.into(),
                    crv: crv.into(),
                });
            }
            let Some((name, nid, size, alg)) = ec_curve(crv) else {
                return alg_fits(declared.is_none_or(|a| a.key_type() != "EC"));
            };
            alg_fits(declared.is_none_or(|a| a == alg))?;
            ec_point(name, nid, size, &bytes(jwk, "x")?, &bytes(jwk, "y")?).map(|_| ())
        }
        "OKP" => {
            let crv = crv.ok_or(KeyError::Missing { member: "crv" })?;
            if !OKP_CURVES.contains(&crv) {
                return Err(KeyError::CurveMismatch {
                    kty: kty.into(),
                    crv: crv.into(),
                });
            }
            alg_fits(declared.is_none_or(|a| a == Alg::EdDSA && crv.starts_with("Ed")))?;
            match crv {
                "Ed25519" => check_ed(&bytes(jwk, "x")?, "Ed25519", 32),
                "Ed448" => check_ed(&bytes(jwk, "x")?, "Ed448", 57),
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

fn check_rsa(n: &BigNumRef, e: &BigNumRef) -> Result<(), KeyError> {
    let bits = u32::try_from(n.num_bits()).unwrap_or(0);
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(KeyError::RsaModulusSize { bits });
    }
    if !n.is_bit_set(0) {
        return Err(KeyError::RsaModulusEven);
    }
    let max = BigNum::from_slice(&MAX_RSA_EXPONENT.to_be_bytes())
        .map_err(|_| KeyError::RsaExponentTooLarge)?;
    if e > &*max || e >= n {
        return Err(KeyError::RsaExponentTooLarge);
    }
    if e.num_bits() < 2 {
        return Err(KeyError::RsaExponentTooSmall);
    }
    if !e.is_bit_set(0) {
        return Err(KeyError::RsaExponentEven);
    }
    Ok(())
}

/// Decodes an uncompressed point and checks it lies on the curve and is not the point at
/// infinity.
pub(super) fn ec_point(
    crv: &'static str,
    nid: Nid,
    size: usize,
    x: &[u8],
    y: &[u8],
) -> Result<(&'static EcGroup, EcPoint), KeyError> {
    for c in [x, y] {
        if c.len() != size {
            return Err(KeyError::EcCoordinateLength {
                crv,
                size,
                found: c.len(),
            });
        }
    }
    let group = super::native::curve(nid).map_err(|_| KeyError::EcPointNotOnCurve)?;
    let mut encoded = Vec::with_capacity(1 + 2 * size);
    encoded.push(4);
    encoded.extend_from_slice(x);
    encoded.extend_from_slice(y);
    let mut ctx = BigNumContext::new().map_err(|_| KeyError::EcPointNotOnCurve)?;
    // Decoding refuses coordinates not below the field prime and points off the curve; the
    // explicit checks below do not rely on that.
    let point =
        EcPoint::from_bytes(group, &encoded, &mut ctx).map_err(|_| KeyError::EcPointNotOnCurve)?;
    if point.is_infinity(group) {
        return Err(KeyError::EcPointAtInfinity);
    }
    if !point.is_on_curve(group, &mut ctx).unwrap_or(false) {
        return Err(KeyError::EcPointNotOnCurve);
    }
    Ok((group, point))
}

/// RFC 8032 encodings: the y coordinate little-endian with x's sign in the top bit. Refuses
/// y ≥ p (non-canonical) and the y of every point of small order (8·P = O for Ed25519,
/// 4·P = O for Ed448): y ∈ {0, 1, p − 1} and, for Ed25519, the two y of the order-8 points.
fn check_ed(x: &[u8], crv: &'static str, size: usize) -> Result<(), KeyError> {
    if x.len() != size {
        return Err(KeyError::OkpKeyLength {
            crv,
            size,
            found: x.len(),
        });
    }
    let mut y_le = x.to_vec();
    let last = y_le.len() - 1;
    let p = if size == 32 {
        y_le[last] &= 0x7f;
        hex_bn("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed")
    } else {
        // Ed448: bits 0–6 of the final octet are zero; the final octet is the sign of x.
        if y_le[last] & 0x7f != 0 {
            return Err(KeyError::OkpNonCanonical);
        }
        y_le[last] = 0;
        hex_bn(concat!(
            "fffffffffffffffffffffffffffffffffffffffffffffffffffffffe",
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
        ))
    }
    .ok_or(KeyError::OkpNonCanonical)?;
    y_le.reverse();
    let y = BigNum::from_slice(&y_le).map_err(|_| KeyError::OkpNonCanonical)?;
    if y >= p {
        return Err(KeyError::OkpNonCanonical);
    }
    let mut small: Vec<BigNum> = Vec::new();
    for v in [0u32, 1] {
        small.push(BigNum::from_u32(v).map_err(|_| KeyError::OkpNonCanonical)?);
    }
    let one = BigNum::from_u32(1).map_err(|_| KeyError::OkpNonCanonical)?;
    small.push(sub(&p, &one)?);
    if size == 32 {
        // y of the points of order 8 (and p minus it).
        let y8 = hex_bn("7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7")
            .ok_or(KeyError::OkpNonCanonical)?;
        small.push(sub(&p, &y8)?);
        small.push(y8);
    }
    if small.contains(&y) {
        return Err(KeyError::OkpSmallOrder);
    }
    Ok(())
}

fn hex_bn(h: &str) -> Option<BigNum> {
    BigNum::from_hex_str(h).ok()
}

fn sub(a: &BigNumRef, b: &BigNumRef) -> Result<BigNum, KeyError> {
    let mut r = BigNum::new().map_err(|_| KeyError::OkpNonCanonical)?;
    r.checked_sub(a, b).map_err(|_| KeyError::OkpNonCanonical)?;
    Ok(r)
}
