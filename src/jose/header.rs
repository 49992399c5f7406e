//! The header check every kind of JWT goes through before any cryptography.

use serde_json::Value;

use super::{Alg, CompactJws, JoseError};

/// What a header must look like for one kind of JWT.
///
/// ```
/// use oidfed::jose::{Alg, CompactJws, HeaderRules, check_header};
/// use oidfed::signer::{JwkSigner, sign_jwt};
/// let signer = JwkSigner::generate_es256("k1").unwrap();
/// let jwt = sign_jwt(&signer, "entity-statement+jwt", &serde_json::json!({}), None).unwrap();
/// let jws = CompactJws::parse(&jwt).unwrap();
/// let rules = HeaderRules { typ: "entity-statement+jwt", lenient_typ: false, algs: &[Alg::ES256] };
/// assert_eq!(check_header(&jws, &rules).unwrap(), (Alg::ES256, "k1"));
/// let rsa_only = HeaderRules { algs: &[Alg::PS256], ..rules };
/// assert!(check_header(&jws, &rsa_only).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct HeaderRules<'a> {
    /// The required `typ` (e.g. `entity-statement+jwt`).
    pub typ: &'a str,
    /// Also accept `application/<typ>` compared case-insensitively (RFC 7515 §4.1.9: media type names are case-insensitive and the `application/` prefix may be left out).
    pub lenient_typ: bool,
    /// Algorithms accepted.
    pub algs: &'a [Alg],
}

/// Checks a header before any cryptography: explicit `typ`, allowed `alg`, non-empty `kid`,
/// no key-carrying headers, no `crit` header. Returns the algorithm and the `kid`.
///
/// ```
/// use oidfed::jose::{check_header, Alg, CompactJws, HeaderRules, JoseError};
/// // {"alg":"none","typ":"entity-statement+jwt"} . {} . (empty)
/// let jws = CompactJws::parse("eyJhbGciOiJub25lIiwidHlwIjoiZW50aXR5LXN0YXRlbWVudCtqd3QifQ.e30.").unwrap();
/// let rules = HeaderRules { typ: "entity-statement+jwt", lenient_typ: false, algs: &Alg::ALL };
/// assert_eq!(check_header(&jws, &rules).unwrap_err(), JoseError::AlgNotAllowed("none".into()));
/// ```
pub fn check_header<'j>(
    jws: &'j CompactJws,
    rules: &HeaderRules<'_>,
) -> Result<(Alg, &'j str), JoseError> {
    let typ = TypRule::Required {
        typ: rules.typ,
        lenient: rules.lenient_typ,
    };
    check_header_with(jws, typ, rules.algs)
}

/// How a kind of JWT names its type in the `typ` header.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TypRule<'a> {
    /// Present and exactly `typ` (explicit typing, RFC 8725 §3.11: every federation JWT);
    /// with `lenient`, also `application/<typ>` compared case-insensitively.
    Required {
        /// The required type.
        typ: &'a str,
        /// Accept the long form too.
        lenient: bool,
    },
    /// May be absent; when present, one of these types, compared as media types are
    /// (RFC 7515 §4.1.9: case-insensitively, `application/` optional). Request Objects
    /// (RFC 9101 §4), client assertions (RFC 7523) and software statements (RFC 7591 §2.3)
    /// do not require a `typ`, but one naming another kind of JWT is refused.
    IfPresent(&'a [&'a str]),
    /// Not looked at: client assertions (RFC 7523 defines no `typ`; their claims, `sub` =
    /// `iss` and an `aud` naming this server, keep other JWT kinds out).
    Unchecked,
}

/// The one header check of every JWT kind (statements, trust marks, resolve responses,
/// signed JWK Sets, Request Objects, client assertions, software statements): `typ` as
/// `typ_rule` says, an `alg` from `algs`, no key-carrying headers (`jwk`, `jku`, `x5u`,
/// `x5c`: keys come only from the federation), no `crit`, and a non-empty `kid`. Returns
/// the algorithm and the `kid`.
pub(crate) fn check_header_with<'j>(
    jws: &'j CompactJws,
    typ_rule: TypRule<'_>,
    algs: &[Alg],
) -> Result<(Alg, &'j str), JoseError> {
    let h = jws.header();
    let found = h.get("typ");
    let wrong = |other: &Value, expected: String| JoseError::WrongTyp {
        found: other
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| other.to_string()),
        expected,
    };
    match (typ_rule, found) {
        (TypRule::Required { typ, .. }, None) => {
            return Err(JoseError::MissingTyp {
                expected: typ.to_string(),
            });
        }
        (TypRule::Required { typ, lenient }, Some(t)) => {
            if !t.as_str().is_some_and(|t| typ_matches(t, typ, lenient)) {
                return Err(wrong(t, typ.to_string()));
            }
        }
        (TypRule::IfPresent(_), None) | (TypRule::Unchecked, _) => {}
        (TypRule::IfPresent(accepted), Some(t)) => {
            let ok = t
                .as_str()
                .is_some_and(|t| accepted.iter().any(|a| typ_matches(t, a, true)));
            if !ok {
                return Err(wrong(t, accepted.join(" or ")));
            }
        }
    }
    let alg = match h.get("alg") {
        None => return Err(JoseError::MissingAlg),
        Some(Value::String(name)) => match Alg::from_name(name) {
            Some(a) if algs.contains(&a) => a,
            _ => return Err(JoseError::AlgNotAllowed(name.clone())),
        },
        Some(other) => return Err(JoseError::AlgNotAllowed(other.to_string())),
    };
    for key_header in ["jwk", "jku", "x5u", "x5c"] {
        if h.contains_key(key_header) {
            return Err(JoseError::KeyInHeader(key_header.to_string()));
        }
    }
    if let Some(crit) = h.get("crit") {
        return Err(JoseError::CritHeader(crit.to_string()));
    }
    match h.get("kid") {
        Some(Value::String(k)) if !k.is_empty() => Ok((alg, k.as_str())),
        _ => Err(JoseError::MissingKid),
    }
}

fn typ_matches(found: &str, expected: &str, lenient: bool) -> bool {
    if found == expected {
        return true;
    }
    if !lenient {
        return false;
    }
    // `get` rather than slicing: byte 12 of a hostile `typ` may fall inside a character.
    let bare = match (found.get(..12), found.get(12..)) {
        (Some(prefix), Some(rest)) if prefix.eq_ignore_ascii_case("application/") => rest,
        _ => found,
    };
    bare.eq_ignore_ascii_case(expected)
}
