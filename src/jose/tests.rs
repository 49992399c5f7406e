use serde_json::Value;

use super::*;
use josekit::jws::{ES256, HS256, JwsSigner};
use serde_json::json;

fn sign(header: &Value, payload: &Value, signer: &dyn JwsSigner) -> String {
    let h = b64url(header.to_string().as_bytes());
    let p = b64url(payload.to_string().as_bytes());
    let sig = signer.sign(format!("{h}.{p}").as_bytes()).unwrap();
    format!("{h}.{p}.{}", b64url(&sig))
}

fn rules() -> HeaderRules<'static> {
    HeaderRules {
        typ: "entity-statement+jwt",
        lenient_typ: false,
        algs: &Alg::ALL,
    }
}

#[test]
fn verifies_with_exact_kid_and_rejects_tampering() {
    let pair = ES256.generate_key_pair().unwrap();
    let mut pubjwk = pair.to_jwk_public_key();
    pubjwk.set_key_id("k1");
    let signer = ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap();
    let set = KeySet::from_json(&json!({"keys":[Value::Object(pubjwk.as_ref().clone())]})).unwrap();
    let tok = sign(
        &json!({"alg":"ES256","kid":"k1","typ":"entity-statement+jwt"}),
        &json!({"iss":"x"}),
        &signer,
    );
    let jws = CompactJws::parse(&tok).unwrap();
    let (alg, kid) = check_header(&jws, &rules()).unwrap();
    set.verify(&jws, alg, kid, "test").unwrap();
    // A different kid finds nothing: there is no fallback to trying every key.
    assert!(matches!(
        set.verify(&jws, alg, "k2", "test"),
        Err(JoseError::UnknownKid { .. })
    ));
    // Tampered payload.
    let parts: Vec<&str> = tok.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], b64url(br#"{"iss":"y"}"#), parts[2]);
    let jws = CompactJws::parse(&forged).unwrap();
    assert!(matches!(
        set.verify(&jws, Alg::ES256, "k1", "test"),
        Err(JoseError::BadSignature { .. })
    ));
}

#[test]
fn header_rules() {
    let mk = |h: Value| {
        CompactJws::parse(&format!("{}.e30.AA", b64url(h.to_string().as_bytes()))).unwrap()
    };
    let r = rules();
    assert!(matches!(
        check_header(&mk(json!({"alg":"ES256","kid":"k"})), &r),
        Err(JoseError::MissingTyp { .. })
    ));
    assert!(matches!(
        check_header(&mk(json!({"alg":"ES256","kid":"k","typ":"JWT"})), &r),
        Err(JoseError::WrongTyp { .. })
    ));
    assert!(matches!(
        check_header(
            &mk(json!({"alg":"ES256","kid":"k","typ":"trust-mark+jwt"})),
            &r
        ),
        Err(JoseError::WrongTyp { .. })
    ));
    assert_eq!(
        check_header(
            &mk(json!({"alg":"HS256","kid":"k","typ":"entity-statement+jwt"})),
            &r
        )
        .unwrap_err(),
        JoseError::AlgNotAllowed("HS256".into())
    );
    assert_eq!(
        check_header(&mk(json!({"alg":"ES256","typ":"entity-statement+jwt"})), &r).unwrap_err(),
        JoseError::MissingKid
    );
    assert_eq!(
        check_header(
            &mk(json!({"alg":"ES256","kid":"","typ":"entity-statement+jwt"})),
            &r
        )
        .unwrap_err(),
        JoseError::MissingKid
    );
    assert_eq!(
        check_header(
            &mk(json!({"alg":"ES256","kid":"k","typ":"entity-statement+jwt","jku":"https://x"})),
            &r
        )
        .unwrap_err(),
        JoseError::KeyInHeader("jku".into())
    );
    assert!(matches!(
        check_header(
            &mk(json!({"alg":"ES256","kid":"k","typ":"entity-statement+jwt","crit":["b64"]})),
            &r
        ),
        Err(JoseError::CritHeader(_))
    ));
    let only_es = HeaderRules {
        algs: &[Alg::ES256],
        ..rules()
    };
    assert!(
        check_header(
            &mk(json!({"alg":"RS256","kid":"k","typ":"entity-statement+jwt"})),
            &only_es
        )
        .is_err()
    );
    // Lenient typ: application/ prefix, any case.
    let lenient = HeaderRules {
        lenient_typ: true,
        ..rules()
    };
    let t = mk(json!({"alg":"ES256","kid":"k","typ":"Application/Entity-Statement+JWT"}));
    assert!(check_header(&t, &r).is_err());
    assert!(check_header(&t, &lenient).is_ok());
}

#[test]
fn hmac_with_public_key_as_secret_cannot_verify() {
    // Algorithm confusion: HS256 keyed with the bytes of the public key.
    let pair = ES256.generate_key_pair().unwrap();
    let mut pubjwk = pair.to_jwk_public_key();
    pubjwk.set_key_id("k1");
    let pub_json = Value::Object(pubjwk.as_ref().clone());
    let hs = HS256
        .signer_from_bytes(pub_json.to_string().as_bytes())
        .unwrap();
    let tok = sign(
        &json!({"alg":"HS256","kid":"k1","typ":"entity-statement+jwt"}),
        &json!({}),
        &hs,
    );
    let jws = CompactJws::parse(&tok).unwrap();
    assert!(matches!(
        check_header(&jws, &rules()),
        Err(JoseError::AlgNotAllowed(_))
    ));
    // Even if a caller skipped the header check, an EC key cannot verify an RSA/HMAC alg.
    let set = KeySet::from_json(&json!({"keys":[pub_json]})).unwrap();
    assert!(set.verify(&jws, Alg::RS256, "k1", "t").is_err());
}

#[test]
fn key_rules() {
    assert!(Key::from_json(&json!({"kty":"EC","kid":"a","d":"secret"})).is_err());
    assert!(Key::from_json(&json!({"kty":"oct","kid":"a","k":"c2VjcmV0"})).is_err());
    assert!(Key::from_json(&json!({"kid":"a"})).is_err());
    // A key declared for RS256 cannot verify PS256.
    let rsa = josekit::jwk::Jwk::generate_rsa_key(2048)
        .unwrap()
        .to_public_key()
        .unwrap();
    let mut m = rsa.as_ref().clone();
    m.insert("kid".into(), json!("r"));
    m.insert("alg".into(), json!("RS256"));
    let k = Key::from_json(&Value::Object(m)).unwrap();
    assert!(k.verifier(Alg::RS256).is_ok());
    assert!(k.verifier(Alg::PS256).is_err());
    assert!(k.verifier(Alg::ES256).is_err());
}

#[test]
fn thumbprint_matches_rfc7638_example() {
    // RFC 7638 §3.1 example key.
    let jwk = json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    });
    assert_eq!(
        thumbprint(jwk.as_object().unwrap()).unwrap(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn malformed_tokens() {
    assert_eq!(CompactJws::parse("a.b").unwrap_err(), JoseError::NotCompact);
    assert_eq!(
        CompactJws::parse("a.b.c.d").unwrap_err(),
        JoseError::NotCompact
    );
    assert!(matches!(
        CompactJws::parse("e30=.e30.AA").unwrap_err(),
        JoseError::Base64 { .. }
    ));
    assert!(matches!(
        CompactJws::parse("W10.e30.AA").unwrap_err(),
        JoseError::Header(_)
    ));
    let long = "a".repeat(DEFAULT_MAX_JWS_LEN + 1);
    assert!(matches!(
        CompactJws::parse(&long).unwrap_err(),
        JoseError::TooLong { .. }
    ));
}

/// Every algorithm of the allow-list verifies through the native verifiers, rejects a
/// flipped bit and a signature by another key of the same type.
#[test]
fn native_verifiers_for_every_algorithm() {
    use josekit::jws;
    let pairs: Vec<(Alg, josekit::jwk::Jwk, josekit::jwk::Jwk)> = {
        let rsa = || josekit::jwk::Jwk::generate_rsa_key(2048).unwrap();
        let ec = |c| josekit::jwk::Jwk::generate_ec_key(c).unwrap();
        let ed =
            || josekit::jwk::Jwk::generate_ed_key(josekit::jwk::alg::ed::EdCurve::Ed25519).unwrap();
        use josekit::jwk::alg::ec::EcCurve::*;
        vec![
            (Alg::RS256, rsa(), rsa()),
            (Alg::RS384, rsa(), rsa()),
            (Alg::RS512, rsa(), rsa()),
            (Alg::PS256, rsa(), rsa()),
            (Alg::PS384, rsa(), rsa()),
            (Alg::PS512, rsa(), rsa()),
            (Alg::ES256, ec(P256), ec(P256)),
            (Alg::ES384, ec(P384), ec(P384)),
            (Alg::ES512, ec(P521), ec(P521)),
            (Alg::EdDSA, ed(), ed()),
        ]
    };
    for (alg, private, other) in pairs {
        let signer: Box<dyn JwsSigner> = match alg {
            Alg::RS256 => Box::new(jws::RS256.signer_from_jwk(&private).unwrap()),
            Alg::RS384 => Box::new(jws::RS384.signer_from_jwk(&private).unwrap()),
            Alg::RS512 => Box::new(jws::RS512.signer_from_jwk(&private).unwrap()),
            Alg::PS256 => Box::new(jws::PS256.signer_from_jwk(&private).unwrap()),
            Alg::PS384 => Box::new(jws::PS384.signer_from_jwk(&private).unwrap()),
            Alg::PS512 => Box::new(jws::PS512.signer_from_jwk(&private).unwrap()),
            Alg::ES256 => Box::new(jws::ES256.signer_from_jwk(&private).unwrap()),
            Alg::ES384 => Box::new(jws::ES384.signer_from_jwk(&private).unwrap()),
            Alg::ES512 => Box::new(jws::ES512.signer_from_jwk(&private).unwrap()),
            Alg::EdDSA => Box::new(jws::EdDSA.signer_from_jwk(&private).unwrap()),
        };
        let public = |k: &josekit::jwk::Jwk| {
            let mut m = k.to_public_key().unwrap().as_ref().clone();
            m.insert("kid".into(), json!("k"));
            Key::from_json(&Value::Object(m)).unwrap()
        };
        let msg = b"header.payload";
        let sig = signer.sign(msg).unwrap();
        let v = public(&private).verifier(alg).unwrap();
        assert!(v.verify(msg, &sig), "{alg}");
        let mut bad = sig.clone();
        bad[3] ^= 1;
        assert!(!v.verify(msg, &bad), "{alg} flipped bit");
        assert!(!v.verify(b"header.other", &sig), "{alg} other message");
        assert!(!v.verify(msg, &sig[..sig.len() - 1]), "{alg} truncated");
        assert!(
            !public(&other).verifier(alg).unwrap().verify(msg, &sig),
            "{alg} other key"
        );
    }
}

fn refused(v: Value) -> KeyError {
    match Key::from_json(&v) {
        Err(JoseError::InvalidKey { kid, reason }) => {
            assert_eq!(kid, "k");
            reason
        }
        other => panic!("{v}: {other:?}"),
    }
}

#[test]
fn weak_or_malformed_keys_are_refused_when_read() {
    let small = josekit::jwk::Jwk::generate_rsa_key(1024).unwrap();
    let mut m = small.to_public_key().unwrap().as_ref().clone();
    m.insert("kid".into(), json!("k"));
    assert_eq!(
        refused(Value::Object(m.clone())),
        KeyError::RsaModulusSize { bits: 1024 }
    );
    // Even if a caller reached the verifier with such a JWK, none would be built.
    let err = Verifier::from_jwk(Alg::RS256, &m).unwrap_err();
    assert_eq!(
        err,
        VerifierError::Material(KeyError::RsaModulusSize { bits: 1024 })
    );
    // A point that is not on the curve.
    let bad = json!({"kty": "EC", "crv": "P-256", "kid": "k",
        "x": b64url(&[1u8; 32]), "y": b64url(&[2u8; 32])});
    assert_eq!(refused(bad.clone()), KeyError::EcPointNotOnCurve);
    assert!(Verifier::from_jwk(Alg::ES256, bad.as_object().unwrap()).is_err());
    // Wrong curve for the algorithm, encryption-only key.
    let ec = josekit::jwk::Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P384).unwrap();
    let mut m = ec.to_public_key().unwrap().as_ref().clone();
    m.insert("kid".into(), json!("k"));
    assert!(
        Key::from_json(&Value::Object(m.clone()))
            .unwrap()
            .verifier(Alg::ES256)
            .is_err()
    );
    m.insert("use".into(), json!("enc"));
    assert!(
        Key::from_json(&Value::Object(m))
            .unwrap()
            .verifier(Alg::ES384)
            .is_err()
    );
    let short = json!({"kty": "EC", "crv": "P-256", "kid": "k",
        "x": b64url(&[1u8; 31]), "y": b64url(&[2u8; 32])});
    assert!(matches!(
        refused(short),
        KeyError::EcCoordinateLength { found: 31, .. }
    ));
    // Keys of curves this crate does not verify with are not judged (they never verify).
    let x25519 = json!({"kty": "OKP", "crv": "X25519", "kid": "k", "x": b64url(&[9u8; 32])});
    assert!(Key::from_json(&x25519).is_ok());
    // `oth` is private material of a multi-prime RSA key.
    assert!(matches!(
        Key::from_json(&json!({"kty": "RSA", "kid": "k", "oth": []})),
        Err(JoseError::Jwks(_))
    ));
}

/// e = 1 makes every PKCS#1 v1.5 encoded message its own signature: the key is refused
/// when read, and verifying with its kid names the refusal.
#[test]
fn rsa_exponent_one_is_refused_and_named_on_use() {
    let n = openssl::rsa::Rsa::generate(2048).unwrap().n().to_vec();
    let weak = json!({"kty": "RSA", "kid": "k", "n": b64url(&n), "e": "AQ"});
    assert_eq!(refused(weak.clone()), KeyError::RsaExponentTooSmall);
    let set = KeySet::from_json(&json!({"keys": [weak]})).unwrap();
    assert!(set.is_empty());
    assert_eq!(set.refusal("k"), Some(&KeyError::RsaExponentTooSmall));
    let tok = format!(
        "{}.e30.AA",
        b64url(br#"{"alg":"RS256","kid":"k","typ":"entity-statement+jwt"}"#)
    );
    let jws = CompactJws::parse(&tok).unwrap();
    assert_eq!(
        set.verify(&jws, Alg::RS256, "k", "t").unwrap_err(),
        JoseError::InvalidKey {
            kid: "k".into(),
            reason: KeyError::RsaExponentTooSmall
        }
    );
    // A refused key still holds its kid: a second key with it makes the set invalid.
    let good = josekit::jwk::Jwk::generate_rsa_key(2048).unwrap();
    let mut g = good.to_public_key().unwrap().as_ref().clone();
    g.insert("kid".into(), json!("k"));
    let twice = json!({"keys": [
        {"kty": "RSA", "kid": "k", "n": b64url(&n), "e": "AQ"}, Value::Object(g)]});
    assert!(matches!(KeySet::from_json(&twice), Err(JoseError::Jwks(_))));
}

/// The one header check serves the JWT kinds whose `typ` is optional too (Request Objects,
/// software statements, client assertions): an absent `typ` passes, the media-type forms of
/// an accepted one pass, another kind's `typ` is refused, and the key-header, `crit` and
/// `kid` rules hold whatever the `typ` rule.
#[test]
fn optional_typ_kinds_share_the_header_check() {
    let mk = |h: Value| {
        CompactJws::parse(&format!("{}.e30.AA", b64url(h.to_string().as_bytes()))).unwrap()
    };
    let ro = TypRule::IfPresent(&["oauth-authz-req+jwt"]);
    let algs = &Alg::ALL;
    for typ in [
        None,
        Some("oauth-authz-req+jwt"),
        Some("Application/OAuth-Authz-Req+JWT"),
    ] {
        let mut h = json!({"alg": "ES256", "kid": "k"});
        if let Some(t) = typ {
            h["typ"] = json!(t);
        }
        assert_eq!(
            check_header_with(&mk(h), ro, algs).map(|(a, k)| (a, k.to_string())),
            Ok((Alg::ES256, "k".to_string())),
            "{typ:?}"
        );
    }
    assert_eq!(
        check_header_with(
            &mk(json!({"alg": "ES256", "kid": "k", "typ": "entity-statement+jwt"})),
            ro,
            algs
        )
        .unwrap_err(),
        JoseError::WrongTyp {
            found: "entity-statement+jwt".into(),
            expected: "oauth-authz-req+jwt".into()
        }
    );
    assert!(matches!(
        check_header_with(&mk(json!({"alg": "ES256", "kid": "k", "typ": 7})), ro, algs),
        Err(JoseError::WrongTyp { .. })
    ));
    for rule in [ro, TypRule::IfPresent(&["JWT"]), TypRule::Unchecked] {
        assert_eq!(
            check_header_with(
                &mk(json!({"alg": "ES256", "kid": "k", "x5c": []})),
                rule,
                algs
            )
            .unwrap_err(),
            JoseError::KeyInHeader("x5c".into())
        );
        assert!(matches!(
            check_header_with(
                &mk(json!({"alg": "ES256", "kid": "k", "crit": ["b64"]})),
                rule,
                algs
            ),
            Err(JoseError::CritHeader(_))
        ));
        assert_eq!(
            check_header_with(&mk(json!({"alg": "ES256"})), rule, algs).unwrap_err(),
            JoseError::MissingKid
        );
        assert_eq!(
            check_header_with(&mk(json!({"alg": "HS256", "kid": "k"})), rule, algs).unwrap_err(),
            JoseError::AlgNotAllowed("HS256".into())
        );
    }
    // Unchecked: any typ (client assertions).
    assert!(
        check_header_with(
            &mk(json!({"alg": "ES256", "kid": "k", "typ": "anything"})),
            TypRule::Unchecked,
            algs
        )
        .is_ok()
    );
}
