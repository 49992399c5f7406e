//! Degenerate public keys (issue 13 item 1): a JWK whose material makes the signature check
//! trivial must be refused when it is read, so that a "signature" nobody made with a private
//! key never verifies — at every entry point that verifies.
//!
//! The forgeries: under an RSA key with `e = 1`, `s^e mod n = s`, so the attacker's
//! signature is just the encoded message EM (PKCS#1 v1.5 or PSS, RFC 8017 §9) as an integer.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use oidfed::fetch::FetchResponse;
use oidfed::jose::{JoseError, KeyError, KeySet};
use oidfed::server::{MemoryReplayGuard, RequestPolicy};
use oidfed::testing::Federation;
use oidfed::{EntityType, Error, FixedClock, Resolver};
use openssl::sha::sha256;
use serde_json::{Value, json};

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;
const OP: &str = "https://op.example.org";
const WEAK: &str = "weak";

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

/// A real 2048-bit modulus paired with `e = 1`.
fn weak_rsa_jwk(kid: &str) -> (Value, usize) {
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    let n = rsa.n().to_vec();
    (
        json!({"kty": "RSA", "kid": kid, "n": b64(&n), "e": b64(&[1])}),
        n.len(),
    )
}

/// EMSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §9.2): the e = 1 "signature".
fn forge_pkcs1(msg: &[u8], k: usize) -> Vec<u8> {
    let prefix = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    let t: Vec<u8> = prefix.iter().copied().chain(sha256(msg)).collect();
    let mut em = vec![0x00, 0x01];
    em.resize(k - t.len() - 1, 0xff);
    em.push(0x00);
    em.extend_from_slice(&t);
    em
}

fn mgf1_sha256(seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut counter = 0u32;
    while out.len() < len {
        let mut input = seed.to_vec();
        input.extend_from_slice(&counter.to_be_bytes());
        out.extend_from_slice(&sha256(&input));
        counter += 1;
    }
    out.truncate(len);
    out
}

/// EMSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (RFC 8017 §9.1.1), for a modulus
/// of 8·k bits: the e = 1 "signature".
fn forge_pss(msg: &[u8], k: usize) -> Vec<u8> {
    let em_len = k; // emBits = 8k - 1, so emLen = k and one leading bit is cleared.
    let m_hash = sha256(msg);
    let salt = [0x5au8; 32];
    let mut m_prime = vec![0u8; 8];
    m_prime.extend_from_slice(&m_hash);
    m_prime.extend_from_slice(&salt);
    let h = sha256(&m_prime);
    let db_len = em_len - 32 - 1;
    let mut db = vec![0u8; db_len - salt.len() - 1];
    db.push(0x01);
    db.extend_from_slice(&salt);
    let mask = mgf1_sha256(&h, db_len);
    let mut masked: Vec<u8> = db.iter().zip(mask).map(|(a, b)| a ^ b).collect();
    masked[0] &= 0x7f;
    masked.extend_from_slice(&h);
    masked.push(0xbc);
    masked
}

/// A compact JWS with `header` and `claims` "signed" by the e = 1 forgery for `alg`.
fn forge(alg: &str, k: usize, typ: Option<&str>, claims: &Value) -> String {
    let mut header = json!({"alg": alg, "kid": WEAK});
    if let Some(t) = typ {
        header["typ"] = json!(t);
    }
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = match alg {
        "RS256" => forge_pkcs1(input.as_bytes(), k),
        "PS256" => forge_pss(input.as_bytes(), k),
        other => panic!("no forgery for {other}"),
    };
    format!("{input}.{}", b64(&sig))
}

/// The forgeries really are what an `e = 1` key accepts: with no checks at parse time, an
/// OpenSSL verifier over the raw components accepts them (this is the attack, not our code).
#[test]
fn the_forgeries_are_valid_signatures_under_e_1() {
    use openssl::bn::BigNum;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::{Padding, Rsa};
    use openssl::sign::{RsaPssSaltlen, Verifier};
    let rsa = Rsa::generate(2048).unwrap();
    let raw = Rsa::from_public_components(
        BigNum::from_slice(&rsa.n().to_vec()).unwrap(),
        BigNum::from_u32(1).unwrap(),
    )
    .unwrap();
    let key = PKey::from_rsa(raw).unwrap();
    let msg = b"header.payload";
    let mut v = Verifier::new(MessageDigest::sha256(), &key).unwrap();
    v.set_rsa_padding(Padding::PKCS1).unwrap();
    assert!(v.verify_oneshot(&forge_pkcs1(msg, 256), msg).unwrap());
    let mut v = Verifier::new(MessageDigest::sha256(), &key).unwrap();
    v.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
    v.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH).unwrap();
    v.set_rsa_mgf1_md(MessageDigest::sha256()).unwrap();
    assert!(v.verify_oneshot(&forge_pss(msg, 256), msg).unwrap());
}

fn is_small_exponent(e: &KeyError) -> bool {
    matches!(e, KeyError::RsaExponentTooSmall)
}

/// The key error behind a failed resolution (or panics showing what was accepted).
fn key_error_of<T: std::fmt::Debug>(r: Result<T, Error>, what: &str) -> KeyError {
    match r {
        Ok(v) => panic!("{what}: the forgery was accepted: {v:?}"),
        Err(e) => e
            .key_error()
            .cloned()
            .unwrap_or_else(|| panic!("{what}: refused, but not for the key: {e}")),
    }
}

/// A superior asserts a degenerate key for its subordinate (`jwks` of the Subordinate
/// Statement); the subject's configuration is forged under it.
#[tokio::test]
async fn forged_entity_configuration_under_superior_asserted_key() {
    for alg in ["RS256", "PS256"] {
        let fed = three_level().build();
        let (weak, k) = weak_rsa_jwk(WEAK);
        let jwks = json!({"keys": [weak]});
        let asserted = jwks.clone();
        fed.republish_ss("org", "rp", |c| {
            c.insert("jwks".into(), asserted);
        });
        let mut ec = claims_of(&fed.entity_configuration("rp"));
        ec.insert("jwks".into(), jwks);
        ec.insert(
            "metadata".into(),
            json!({"openid_relying_party": {"client_name": "forged",
                "redirect_uris": ["https://evil.example/cb"]}}),
        );
        fed.publish_raw_ec(
            "rp",
            &forge(alg, k, Some("entity-statement+jwt"), &Value::Object(ec)),
        );
        let e = key_error_of(resolver(&fed).resolve(&fed.id("rp"), &RP).await, alg);
        assert!(is_small_exponent(&e), "{alg}: {e:?}");
    }
}

/// A degenerate key configured as a Trust Anchor key is refused when the resolver is built;
/// the anchor's forged configuration is never accepted.
#[tokio::test]
async fn degenerate_trust_anchor_key_is_refused() {
    for alg in ["RS256", "PS256"] {
        let fed = three_level().build();
        let (weak, k) = weak_rsa_jwk(WEAK);
        let jwks = json!({"keys": [weak]});
        let mut ec = claims_of(&fed.entity_configuration("ta"));
        ec.insert("jwks".into(), jwks.clone());
        fed.publish_raw_ec(
            "ta",
            &forge(alg, k, Some("entity-statement+jwt"), &Value::Object(ec)),
        );
        let built = Resolver::builder()
            .fetcher(fed.fetcher())
            .clock(FixedClock::new(NOW))
            .trust_anchor(fed.id("ta").as_str(), &jwks)
            .build();
        let r = match built {
            Ok(r) => {
                r.resolve(&fed.id("ta"), &EntityType::FEDERATION_ENTITY)
                    .await
            }
            Err(e) => Err(e),
        };
        let e = key_error_of(r, alg);
        assert!(is_small_exponent(&e), "{alg}: {e:?}");
        // The anchor type itself refuses it too.
        let e = oidfed::TrustAnchor::new(fed.id("ta").as_str(), &jwks).unwrap_err();
        assert!(e.key_error().is_some_and(is_small_exponent), "{e}");
    }
}

/// A trust mark issuer that publishes a degenerate key next to its real one: a mark forged
/// under it is refused (and the mark check itself names the key error).
#[tokio::test]
async fn forged_trust_mark_under_issuers_degenerate_key() {
    const TYPE: &str = "https://fed.example/tm/certified";
    for alg in ["RS256", "PS256"] {
        let fed = three_level()
            .intermediate("tmi", &["ta"])
            .ec_claim(
                "ta",
                "trust_mark_issuers",
                json!({ TYPE: ["https://fed.example/tmi"] }),
            )
            .build();
        let (weak, k) = weak_rsa_jwk(WEAK);
        let real = fed.key("tmi").public_jwk();
        let both = json!({"keys": [real, weak]});
        let asserted = both.clone();
        fed.republish_ec("tmi", |c| {
            c.insert("jwks".into(), both);
        });
        fed.republish_ss("ta", "tmi", |c| {
            c.insert("jwks".into(), asserted);
        });
        let claims = json!({"iss": fed.id("tmi").as_str(), "sub": fed.id("rp").as_str(),
            "trust_mark_type": TYPE, "iat": NOW, "exp": NOW + 600});
        let mark = forge(alg, k, Some("trust-mark+jwt"), &claims);
        let m = mark.clone();
        fed.republish_ec("rp", |c| {
            c.insert(
                "trust_marks".into(),
                json!([{"trust_mark_type": TYPE, "trust_mark": m}]),
            );
        });
        let resolved = resolver(&fed).resolve(&fed.id("rp"), &RP).await.unwrap();
        assert!(
            resolved.trust_marks().is_empty(),
            "{alg}: forged mark accepted"
        );
        assert_eq!(resolved.rejected_trust_marks().len(), 1, "{alg}");

        // The mark check, with the issuer's keys as published, gives the typed error.
        let keys = KeySet::from_json(&json!({"keys": [fed.key("tmi").public_jwk(),
            weak_rsa_jwk(WEAK).0]}))
        .unwrap();
        let parsed = oidfed::trust_mark::TrustMark::parse(
            &mark,
            TYPE,
            &fed.id("rp"),
            &oidfed::jose::Alg::ALL,
            NOW,
            60,
            false,
        )
        .unwrap();
        match parsed.verify(&keys) {
            Err(JoseError::InvalidKey { kid, reason }) => {
                assert_eq!(kid, WEAK);
                assert!(is_small_exponent(&reason), "{reason:?}");
            }
            other => panic!("{alg}: {other:?}"),
        }
    }
}

/// The RP's protocol keys come from `signed_jwks_uri`; that set is forged under a degenerate
/// Federation Entity Key its superior asserts next to the real one.
#[tokio::test]
async fn forged_signed_jwks_under_degenerate_federation_key() {
    let uri = "https://fed.example/rp/signed-jwks";
    for alg in ["RS256", "PS256"] {
        let fed = three_level()
            .metadata(
                "rp",
                "openid_relying_party",
                json!({"client_name": "RP", "redirect_uris": ["https://rp.example/cb"],
                    "signed_jwks_uri": uri}),
            )
            .build();
        let (weak, k) = weak_rsa_jwk(WEAK);
        let both = json!({"keys": [fed.key("rp").public_jwk(), weak]});
        let (a, b) = (both.clone(), both);
        fed.republish_ss("org", "rp", |c| {
            c.insert("jwks".into(), a);
        });
        fed.republish_ec("rp", |c| {
            c.insert("jwks".into(), b);
        });
        let attacker = oidfed::testing::TestKey::generate(oidfed::testing::KeyAlg::ES256);
        let claims = json!({"iss": fed.id("rp").as_str(), "sub": fed.id("rp").as_str(),
            "iat": NOW, "exp": NOW + 600, "keys": [attacker.public_jwk()]});
        fed.fetcher().insert(
            uri,
            FetchResponse::ok(
                "application/jwk-set+jwt",
                forge(alg, k, Some("jwk-set+jwt"), &claims),
            ),
        );
        let e = key_error_of(resolver(&fed).record(&fed.id("rp"), &RP).await, alg);
        assert!(is_small_exponent(&e), "{alg}: {e:?}");
    }
}

fn client_fed(weak: &Value) -> Federation {
    three_level()
        .metadata(
            "rp",
            "openid_relying_party",
            json!({"client_name": "RP", "redirect_uris": ["https://rp.example/cb"],
                "jwks": {"keys": [weak]}}),
        )
        .build()
}

/// A client that publishes a degenerate protocol key: a Request Object forged under it is
/// refused.
#[tokio::test]
async fn forged_request_object_under_degenerate_client_key() {
    for alg in ["RS256", "PS256"] {
        let (weak, k) = weak_rsa_jwk(WEAK);
        let fed = client_fed(&weak);
        let rp = fed.id("rp");
        let claims = json!({"iss": rp.as_str(), "client_id": rp.as_str(), "aud": OP,
            "jti": format!("j-{alg}"), "exp": NOW + 300, "iat": NOW, "response_type": "code",
            "redirect_uri": "https://rp.example/cb", "scope": "openid"});
        let jwt = forge(alg, k, Some("oauth-authz-req+jwt"), &claims);
        let r = resolver(&fed)
            .verify_request_object(&jwt, &RequestPolicy::new(OP), &MemoryReplayGuard::default())
            .await;
        let e = key_error_of(r.map(|v| v.client.client_id.clone()), alg);
        assert!(is_small_exponent(&e), "{alg}: {e:?}");
    }
}

/// The same client's `private_key_jwt` assertion forged under its degenerate key.
#[tokio::test]
async fn forged_client_assertion_under_degenerate_client_key() {
    for alg in ["RS256", "PS256"] {
        let (weak, k) = weak_rsa_jwk(WEAK);
        let fed = client_fed(&weak);
        let rp = fed.id("rp");
        let claims = json!({"iss": rp.as_str(), "sub": rp.as_str(), "aud": OP,
            "jti": format!("a-{alg}"), "exp": NOW + 300, "iat": NOW});
        let jwt = forge(alg, k, None, &claims);
        let r = resolver(&fed)
            .verify_client_assertion(&jwt, &RequestPolicy::new(OP), &MemoryReplayGuard::default())
            .await;
        let e = key_error_of(r.map(|c| c.client_id.clone()), alg);
        assert!(is_small_exponent(&e), "{alg}: {e:?}");
    }
}

/// The typed reason for one JWK, read alone.
fn refusal(jwk: Value) -> KeyError {
    let mut jwk = jwk;
    jwk["kid"] = json!("k");
    let set = KeySet::from_json(&json!({"keys": [jwk]})).unwrap();
    assert!(set.is_empty(), "accepted: {jwk}");
    match set.refusal("k") {
        Some(e) => e.clone(),
        None => panic!("no typed refusal for {jwk}: {:?}", set.rejected()),
    }
}

fn rsa_parts() -> (Vec<u8>, openssl::rsa::Rsa<openssl::pkey::Private>) {
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    (rsa.n().to_vec(), rsa)
}

#[test]
fn every_degenerate_rsa_shape_is_refused() {
    let (n, _) = rsa_parts();
    let rsa = |n: &[u8], e: &[u8]| json!({"kty": "RSA", "n": b64(n), "e": b64(e)});
    // The shapes, each with its reason.
    assert_eq!(refusal(rsa(&n, &[1])), KeyError::RsaExponentTooSmall);
    assert_eq!(
        refusal(rsa(&n, &[0x01, 0x00, 0x00])),
        KeyError::RsaExponentEven
    );
    assert_eq!(refusal(rsa(&n, &[2])), KeyError::RsaExponentEven);
    // e ≥ n (odd, so only the bound is broken).
    assert_eq!(
        refusal(rsa(&n, &n)),
        KeyError::RsaExponentTooLarge,
        "e = n is also above the size bound"
    );
    let mut e_big = vec![0x01, 0, 0, 0, 0x03]; // 2^32 + 3: odd, just above 2^32 + 1
    assert_eq!(refusal(rsa(&n, &e_big)), KeyError::RsaExponentTooLarge);
    e_big[4] = 0x01; // 2^32 + 1 is the largest accepted
    let ok = KeySet::from_json(&json!({"keys": [{"kty": "RSA", "kid": "k",
        "n": b64(&n), "e": b64(&e_big)}]}))
    .unwrap();
    assert_eq!(ok.len(), 1, "{:?}", ok.rejected());
    // Even modulus.
    let mut even = n.clone();
    *even.last_mut().unwrap() &= 0xfe;
    assert_eq!(refusal(rsa(&even, &[1, 0, 1])), KeyError::RsaModulusEven);
    // Small and huge moduli.
    let small = openssl::rsa::Rsa::generate(1024).unwrap().n().to_vec();
    assert!(matches!(
        refusal(rsa(&small, &[1, 0, 1])),
        KeyError::RsaModulusSize { bits: 1024 }
    ));
    let mut huge = vec![0xffu8; 16384 / 8 + 1];
    huge[0] = 0x01;
    assert!(matches!(
        refusal(rsa(&huge, &[1, 0, 1])),
        KeyError::RsaModulusSize { bits: 16385 }
    ));
    // Non-minimal encodings (RFC 7518 §2: Base64urlUInt uses the fewest octets).
    let mut padded = vec![0u8];
    padded.extend_from_slice(&n);
    assert_eq!(
        refusal(rsa(&padded, &[1, 0, 1])),
        KeyError::NonMinimal { member: "n" }
    );
    assert_eq!(
        refusal(rsa(&n, &[0, 1, 0, 1])),
        KeyError::NonMinimal { member: "e" }
    );
    assert_eq!(
        refusal(json!({"kty": "RSA", "n": b64(&n)})),
        KeyError::Missing { member: "e" }
    );
    assert_eq!(
        refusal(json!({"kty": "RSA", "n": "not base64!", "e": "AQAB"})),
        KeyError::NotBase64 { member: "n" }
    );
    // The ordinary key is accepted.
    let good = KeySet::from_json(&json!({"keys": [{"kty": "RSA", "kid": "k", "n": b64(&n),
        "e": "AQAB"}]}))
    .unwrap();
    assert_eq!(good.len(), 1);
}

#[test]
fn every_degenerate_ec_and_okp_shape_is_refused() {
    use openssl::bn::{BigNum, BigNumContext};
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    for (crv, nid, size) in [
        ("P-256", Nid::X9_62_PRIME256V1, 32usize),
        ("P-384", Nid::SECP384R1, 48),
        ("P-521", Nid::SECP521R1, 66),
    ] {
        let group = EcGroup::from_curve_name(nid).unwrap();
        let key = EcKey::generate(&group).unwrap();
        let mut ctx = BigNumContext::new().unwrap();
        let (mut x, mut y) = (BigNum::new().unwrap(), BigNum::new().unwrap());
        key.public_key()
            .affine_coordinates(&group, &mut x, &mut y, &mut ctx)
            .unwrap();
        let (x, y) = (
            x.to_vec_padded(size as i32).unwrap(),
            y.to_vec_padded(size as i32).unwrap(),
        );
        let ec = |x: &[u8], y: &[u8]| json!({"kty": "EC", "crv": crv, "x": b64(x), "y": b64(y)});
        // Off the curve: y + 1.
        let mut y1 = y.clone();
        *y1.last_mut().unwrap() ^= 1;
        assert_eq!(refusal(ec(&x, &y1)), KeyError::EcPointNotOnCurve, "{crv}");
        // (0, 0): not on any of these curves; no encoding of the point at infinity exists
        // in x/y form, so all-zero coordinates are how one would try.
        assert_eq!(
            refusal(ec(&vec![0; size], &vec![0; size])),
            KeyError::EcPointNotOnCurve,
            "{crv}"
        );
        // Coordinates of the wrong length (short, or left-padded).
        assert!(matches!(
            refusal(ec(&x[1..], &y)),
            KeyError::EcCoordinateLength { .. }
        ));
        let mut long = vec![0u8];
        long.extend_from_slice(&x);
        assert!(matches!(
            refusal(ec(&long, &y)),
            KeyError::EcCoordinateLength { .. }
        ));
        // The real point is accepted.
        let good = KeySet::from_json(&json!({"keys": [{"kty": "EC", "kid": "k", "crv": crv,
            "x": b64(&x), "y": b64(&y)}]}))
        .unwrap();
        assert_eq!(good.len(), 1, "{crv}: {:?}", good.rejected());
        // A declared alg of another curve.
        let wrong_alg = if crv == "P-256" { "ES384" } else { "ES256" };
        assert!(matches!(
            refusal(json!({"kty": "EC", "crv": crv, "x": b64(&x), "y": b64(&y), "alg": wrong_alg})),
            KeyError::AlgMismatch { .. }
        ));
    }
    // kty / crv mismatch.
    assert!(matches!(
        refusal(json!({"kty": "EC", "crv": "Ed25519", "x": b64(&[9; 32]), "y": b64(&[9; 32])})),
        KeyError::CurveMismatch { .. }
    ));
    assert!(matches!(
        refusal(json!({"kty": "OKP", "crv": "P-256", "x": b64(&[9; 32])})),
        KeyError::CurveMismatch { .. }
    ));
    // An RSA key declared for ES256.
    let (n, _) = rsa_parts();
    assert!(matches!(
        refusal(json!({"kty": "RSA", "n": b64(&n), "e": "AQAB", "alg": "ES256"})),
        KeyError::AlgMismatch { .. }
    ));
    // OKP lengths are exact: Ed25519 32 bytes, Ed448 57.
    for (crv, len) in [("Ed25519", 32usize), ("Ed448", 57)] {
        for wrong in [len - 1, len + 1, 0] {
            assert!(
                matches!(
                    refusal(json!({"kty": "OKP", "crv": crv, "x": b64(&vec![9u8; wrong])})),
                    KeyError::OkpKeyLength { .. }
                ),
                "{crv} {wrong}"
            );
        }
    }
}

/// An Ed25519 key of small order: with the identity point as the public key, `R = [S]B`
/// for `S = 0` makes (R, S) a "signature" of every message.
#[test]
fn small_order_ed25519_key_is_refused() {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(
        refusal(json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&identity)})),
        KeyError::OkpSmallOrder
    );
    // y = p - 1 (order 2) and y = 0 (order 4).
    let mut minus_one = [0xffu8; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    assert_eq!(
        refusal(json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&minus_one)})),
        KeyError::OkpSmallOrder
    );
    assert_eq!(
        refusal(json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&[0u8; 32])})),
        KeyError::OkpSmallOrder
    );
    // y ≥ p is not a canonical encoding (RFC 8032 §5.1.3).
    let mut p_plus_1 = [0xffu8; 32];
    p_plus_1[0] = 0xee;
    p_plus_1[31] = 0x7f;
    assert_eq!(
        refusal(json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&p_plus_1)})),
        KeyError::OkpNonCanonical
    );
    // A real key is accepted.
    let real = oidfed::testing::TestKey::generate(oidfed::testing::KeyAlg::EdDSA);
    let set = KeySet::from_json(&real.public_jwks()).unwrap();
    assert_eq!(set.len(), 1);
    // The identity forgery (R = identity, S = 0) would verify under OpenSSL directly.
    let pk = openssl::pkey::PKey::public_key_from_raw_bytes(&identity, openssl::pkey::Id::ED25519)
        .unwrap();
    let mut sig = identity.to_vec();
    sig.extend_from_slice(&[0u8; 32]);
    let verifies = openssl::sign::Verifier::new_without_digest(&pk)
        .unwrap()
        .verify_oneshot(&sig, b"any message")
        .unwrap_or(false);
    assert!(
        verifies,
        "the identity-key forgery is what OpenSSL alone accepts"
    );
}

/// The identity-point forgery at the chain entry point: a superior asserts the Ed25519
/// identity point as its subordinate's key; the subordinate's configuration is forged.
#[tokio::test]
async fn forged_entity_configuration_under_small_order_ed25519_key() {
    let fed = three_level().build();
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let jwks = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": WEAK,
        "x": b64(&identity)}]});
    let asserted = jwks.clone();
    fed.republish_ss("org", "rp", |c| {
        c.insert("jwks".into(), asserted);
    });
    let mut ec = claims_of(&fed.entity_configuration("rp"));
    ec.insert("jwks".into(), jwks);
    let header = json!({"alg": "EdDSA", "kid": WEAK, "typ": "entity-statement+jwt"});
    let mut sig = identity.to_vec();
    sig.extend_from_slice(&[0u8; 32]);
    let jwt = format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(Value::Object(ec).to_string().as_bytes()),
        b64(&sig)
    );
    fed.publish_raw_ec("rp", &jwt);
    let e = key_error_of(resolver(&fed).resolve(&fed.id("rp"), &RP).await, "EdDSA");
    assert_eq!(e, KeyError::OkpSmallOrder);
}
