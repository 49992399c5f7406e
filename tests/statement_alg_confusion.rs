//! Algorithm confusion: a statement MACed with HS256 keyed with the bytes of the issuer's
//! RSA public key (in every encoding a confused verifier might use) is refused by its `alg`.

mod common;
#[path = "common/statement_rules.rs"]
mod rules_support;

use common::*;
use oidfed::testing::KeyAlg;
use oidfed::{Error, Rule};
use rules_support::*;
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------
// Case 4: HS256 keyed with the bytes of an RSA public key (algorithm confusion).
// ---------------------------------------------------------------------------------------

/// The encodings of an RSA public JWK that a confused verifier might use as an HMAC secret:
/// SPKI PEM (the classic attack), SPKI DER, PKCS#1 PEM and DER, the JWK and JWK Set text,
/// and the raw modulus.
fn rsa_public_key_encodings(jwk: &Value) -> Vec<(&'static str, Vec<u8>)> {
    use openssl::bn::BigNum;
    use openssl::rsa::Rsa;
    let n = b64url_decode(jwk["n"].as_str().expect("RSA n"));
    let e = b64url_decode(jwk["e"].as_str().expect("RSA e"));
    let rsa = Rsa::from_public_components(
        BigNum::from_slice(&n).expect("n"),
        BigNum::from_slice(&e).expect("e"),
    )
    .expect("RSA public key");
    vec![
        ("SPKI PEM", rsa.public_key_to_pem().expect("pem")),
        ("SPKI DER", rsa.public_key_to_der().expect("der")),
        ("PKCS#1 PEM", rsa.public_key_to_pem_pkcs1().expect("pem1")),
        ("PKCS#1 DER", rsa.public_key_to_der_pkcs1().expect("der1")),
        ("JWK", jwk.to_string().into_bytes()),
        ("JWKS", json!({"keys": [jwk]}).to_string().into_bytes()),
        ("modulus", n),
    ]
}

/// `claims` as an HS256 JWS with the RSA key's `kid`, MACed with `secret`. The MAC is
/// genuinely valid for that secret: a verifier letting the header choose the algorithm
/// and using the public key bytes as the HMAC key would accept it.
fn hs256_forgery(kid: &str, claims: &Map<String, Value>, secret: &[u8]) -> String {
    use josekit::jws::{HS256, JwsSigner, JwsVerifier};
    let h = b64url(
        json!({"alg": "HS256", "kid": kid, "typ": TYP})
            .to_string()
            .as_bytes(),
    );
    let p = b64url(Value::Object(claims.clone()).to_string().as_bytes());
    let input = format!("{h}.{p}");
    let mac = HS256
        .signer_from_bytes(secret)
        .expect("hmac key")
        .sign(input.as_bytes())
        .expect("mac");
    HS256
        .verifier_from_bytes(secret)
        .expect("hmac key")
        .verify(input.as_bytes(), &mac)
        .expect("the forgery is a valid HS256 MAC under the public key bytes");
    format!("{input}.{}", b64url(&mac))
}

#[tokio::test]
async fn hs256_keyed_with_an_rsa_public_key_is_rejected_as_alg() {
    let fed = three_level()
        .key_alg("rp", KeyAlg::RS256)
        .key_alg("org", KeyAlg::RS256)
        .build();
    let (rp, org) = (fed.id("rp").to_string(), fed.id("org").to_string());
    let good_ec = fed.entity_configuration("rp");
    let good_ss = fed.subordinate_statement("org", "rp");
    // The genuine RS256 statements resolve.
    assert_resolves(&fed).await;

    // rp's EC, HMACed with rp's own RSA public key in every common encoding.
    let rp_key = fed.key("rp");
    let ec_claims = claims_of(&good_ec);
    for (encoding, secret) in rsa_public_key_encodings(&rp_key.public_jwk()) {
        let forged = hs256_forgery(&rp_key.kid(), &ec_claims, &secret);
        let e = parse(&forged).expect_err(encoding);
        assert_eq!(e.rule, Rule::Alg, "{encoding}: {e}");
        assert!(e.detail.contains("HS256"), "{encoding}: {e}");
        fed.publish_raw_ec("rp", &forged);
        assert_refused_both_ways(&fed, Rule::Alg, &rp, &rp, "HS256").await;
    }
    fed.publish_raw_ec("rp", &good_ec);

    // org's statement about rp, HMACed with org's RSA public key (the key that must verify it).
    let org_key = fed.key("org");
    let ss_claims = claims_of(&good_ss);
    for (encoding, secret) in rsa_public_key_encodings(&org_key.public_jwk()) {
        let forged = hs256_forgery(&org_key.kid(), &ss_claims, &secret);
        fed.publish_raw_ss("org", "rp", &forged);
        let e = resolve_err(&fed).await;
        assert!(matches!(e, Error::NoTrustChain { .. }), "{encoding}: {e}");
        assert_broken(&e, Rule::Alg, &org, &rp, "HS256");
    }
    fed.publish_raw_ss("org", "rp", &good_ss);
    assert_resolves(&fed).await;
}
