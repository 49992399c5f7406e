//! Typed errors of the value readers (issue 14, item 1): constraints, verifiers, the
//! fixture reader and trust marks refuse with a variant a caller can match.

mod common;

use common::*;
use oidfed::testing::{KeyAlg, TestKey};
use serde_json::{Map, Value, json};

/// `constraints`: each malformed value and each broken constraint is its own variant.
#[test]
fn constraint_errors_are_typed() {
    use oidfed::fuzzing::{ConstraintError as C, Constraints};
    let read = |v: Value| Constraints::from_json(&v).unwrap_err();
    assert_eq!(
        read(json!([])),
        C::NotAnObject {
            member: "constraints"
        }
    );
    assert_eq!(
        read(json!({"allowed_leaf_entity_types": []})),
        C::PreFinalName
    );
    assert!(matches!(
        read(json!({"max_path_length": -1})),
        C::MaxPathLength { .. }
    ));
    assert_eq!(
        read(json!({"naming_constraints": 1})),
        C::NotAnObject {
            member: "naming_constraints"
        }
    );
    assert_eq!(
        read(json!({"naming_constraints": {"permitted": 1}})),
        C::NotAnArray {
            member: "naming_constraints.permitted".into()
        }
    );
    assert_eq!(
        read(json!({"naming_constraints": {"excluded": [""]}})),
        C::InvalidName { list: "excluded" }
    );
    assert_eq!(
        read(json!({"allowed_entity_types": [1]})),
        C::EntityTypeNotString
    );
    assert_eq!(
        read(json!({"allowed_entity_types": ["federation_entity"]})),
        C::FederationEntityListed
    );
    assert_eq!(
        read(json!({"allowed_entity_types": "openid_provider"})),
        C::NotAnArray {
            member: "allowed_entity_types".into()
        }
    );
    let c = Constraints::from_json(&json!({
        "max_path_length": 0,
        "naming_constraints": {"permitted": [".example.com"], "excluded": ["bad.example.com"]}
    }))
    .unwrap();
    assert_eq!(
        c.check_path_length(1),
        Err(C::PathTooLong {
            intermediates: 1,
            max: 0
        })
    );
    let id = |s: &str| oidfed::EntityId::parse(s).unwrap();
    assert!(matches!(
        c.check_name(&id("https://10.0.0.1")),
        Err(C::IpAddressHost { .. })
    ));
    assert!(matches!(
        c.check_name(&id("https://bad.example.com")),
        Err(C::Excluded { by, .. }) if by == "bad.example.com"
    ));
    assert!(matches!(
        c.check_name(&id("https://other.example")),
        Err(C::NotPermitted { host, .. }) if host == "other.example"
    ));
}

/// `Verifier::from_jwk`: each refusal is its own variant.
#[test]
fn verifier_errors_are_typed() {
    use oidfed::jose::{Alg, KeyError, Verifier, VerifierError as V};
    let ec = TestKey::generate(KeyAlg::ES256).public_jwk();
    let ec = ec.as_object().unwrap().clone();
    let build = |alg: Alg, m: &Map<String, Value>| Verifier::from_jwk(alg, m).unwrap_err();
    assert!(matches!(build(Alg::RS256, &ec), V::KeyType { alg: Alg::RS256, kty } if kty == "EC"));
    assert!(matches!(
        build(Alg::ES384, &ec),
        V::Curve {
            needed: "P-384",
            ..
        }
    ));
    let mut m = ec.clone();
    m.insert("use".into(), json!("enc"));
    assert!(matches!(build(Alg::ES256, &m), V::NotForSignatures { .. }));
    let mut m = ec.clone();
    m.insert("key_ops".into(), json!(["sign"]));
    assert_eq!(build(Alg::ES256, &m), V::NoVerifyOperation);
    let mut m = ec.clone();
    m.remove("kty");
    assert_eq!(
        build(Alg::ES256, &m),
        V::Material(KeyError::Missing { member: "kty" })
    );
    let mut m = ec.clone();
    m.insert("y".into(), m["x"].clone());
    assert!(matches!(build(Alg::ES256, &m), V::Material(_)));
    let ed = TestKey::generate(KeyAlg::EdDSA).public_jwk();
    let mut ed = ed.as_object().unwrap().clone();
    ed.insert("crv".into(), json!("X25519"));
    assert!(matches!(build(Alg::EdDSA, &ed), V::Curve { crv, .. } if crv == "X25519"));
    // A key declared for another algorithm.
    let mut declared = TestKey::generate(KeyAlg::RS256).public_jwk();
    declared["alg"] = json!("PS256");
    let key = oidfed::jose::Key::from_json(&declared).unwrap();
    assert!(
        matches!(key.verifier(Alg::RS256), Err(V::DeclaredFor { declared }) if declared == "PS256")
    );
}

/// The fixture reader: each problem is its own variant.
#[test]
fn demo_errors_are_typed() {
    use oidfed::testing::demo::{DemoError as D, load};
    assert!(matches!(load("not json"), Err(D::Json { .. })));
    assert!(matches!(load("{}"), Err(D::NoEntities)));
    assert!(matches!(
        load(r#"{"entities": [{"role": "anchor"}]}"#),
        Err(D::Missing { member, .. }) if member == "name"
    ));
    assert!(matches!(
        load(r#"{"entities": [{"name": "x", "role": "king"}]}"#),
        Err(D::UnknownRole { role }) if role == "king"
    ));
    assert!(matches!(
        load(r#"{"entities": [{"name": "x", "role": "anchor", "alg": "XS1"}]}"#),
        Err(D::UnknownAlg { alg }) if alg == "XS1"
    ));
}

/// `TrustMark::parse`: each refusal is its own variant.
#[test]
fn trust_mark_errors_are_typed() {
    use oidfed::trust_mark::{TrustMark, TrustMarkError as T};
    let key = TestKey::generate(KeyAlg::ES256);
    let sub = oidfed::EntityId::parse("https://rp.example").unwrap();
    let mark = |c: Value| {
        key.sign_with_header(
            &json!({"alg": "ES256", "kid": key.kid(), "typ": "trust-mark+jwt"}),
            &c,
        )
    };
    let good = json!({"iss": "https://tmi.example", "sub": sub.as_str(),
        "trust_mark_type": "https://t.example/m", "iat": NOW});
    let parse = |c: Value| {
        TrustMark::parse(
            &mark(c),
            "https://t.example/m",
            &sub,
            &[oidfed::jose::Alg::ES256],
            NOW,
            60,
            false,
        )
    };
    parse(good.clone()).unwrap();
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    assert!(matches!(
        TrustMark::parse("x", "t", &sub, &[], NOW, 60, false),
        Err(T::Jws(_))
    ));
    assert!(matches!(parse(with("iss", json!("nope"))), Err(T::Issuer)));
    assert!(matches!(
        parse(with("sub", json!("https://x.example"))),
        Err(T::WrongSubject { .. })
    ));
    assert!(matches!(
        parse(with("trust_mark_type", json!("other"))),
        Err(T::WrongType { .. })
    ));
    assert!(matches!(
        parse(with("ref", json!("not a url"))),
        Err(T::NotAUrl { claim: "ref", .. })
    ));
    assert!(matches!(
        parse(with("iat", json!("soon"))),
        Err(T::MalformedDate { .. })
    ));
    assert!(matches!(
        parse(with("exp", json!(NOW - 3600))),
        Err(T::NotValidNow {
            rule: oidfed::Rule::Expiry,
            ..
        })
    ));
    // Recognition by the anchor.
    let issuer = oidfed::EntityId::parse("https://tmi.example").unwrap();
    let anchor = json!({"trust_mark_issuers": {"https://t.example/m": ["https://other.example"]}});
    let anchor = anchor.as_object().unwrap();
    assert!(matches!(
        oidfed::trust_mark::recognised(anchor, "https://t.example/x", &issuer),
        Err(T::TypeNotRecognised { .. })
    ));
    assert!(matches!(
        oidfed::trust_mark::recognised(anchor, "https://t.example/m", &issuer),
        Err(T::IssuerNotAccepted { .. })
    ));
    let owners = json!({"trust_mark_owners": {"https://t.example/m": {"jwks": {"keys": []}}}});
    assert!(matches!(
        oidfed::trust_mark::owner(owners.as_object().unwrap(), "https://t.example/m"),
        Some(Err(T::OwnerEntry { .. }))
    ));
    // A mark of an owned type without a delegation.
    let m = parse(good).unwrap();
    let keys = oidfed::jose::KeySet::from_json(&json!({"keys": [key.public_jwk()]})).unwrap();
    assert_eq!(
        m.verify_delegation(
            "https://owner.example",
            &keys,
            &[oidfed::jose::Alg::ES256],
            NOW,
            60
        ),
        Err(T::DelegationMissing)
    );
    assert!(matches!(
        m.check_status_response("x", &keys, &[oidfed::jose::Alg::ES256]),
        Err(T::Status(inner)) if matches!(*inner, T::Jws(_))
    ));
}
