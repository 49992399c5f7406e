//! Forged signatures over HTTP: `alg: none`, HS256 keyed with the issuer's public key, and
//! a `kid` colliding with another issuer's key are rejected.

mod common;
#[path = "common/hostile.rs"]
mod hostile_support;

use common::claims_of;
use hostile_support::*;
use josekit::jws::JwsSigner;
use oidfed::{Error, Rule};
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------
// 12–14. Forged signatures over HTTP
// ---------------------------------------------------------------------------------------

fn forge(header: Value, claims: &Map<String, Value>, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(Value::Object(claims.clone()).to_string().as_bytes())
    );
    let sig = sign(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

#[tokio::test]
async fn alg_none_over_http_is_rejected() {
    let (fed, _server) = serve(federation(|b| {
        b.leaf("victim", &["org"])
            .metadata("victim", RP.as_str(), json!({"client_name": "victim"}))
    }))
    .await;
    let r = resolver(&fed);
    within(r.resolve(&fed.id("victim"), &RP))
        .await
        .expect("baseline");

    let ec = claims_of(&fed.entity_configuration("victim"));
    let kid = fed.key("victim").kid();
    let none = |kid: &str| json!({"alg": "none", "kid": kid, "typ": "entity-statement+jwt"});
    fed.publish_raw_ec("victim", &forge(none(&kid), &ec, |_| Vec::new()));
    r.clear_caches();
    let e = resolve_err(&r, &fed.id("victim")).await;
    assert_eq!(statement_rule(&e), Rule::Alg, "{e}");

    // A superior's statement with alg none (and a non-empty garbage signature).
    let ss = claims_of(&fed.subordinate_statement("org", "rp"));
    let good = fed.subordinate_statement("org", "rp");
    fed.publish_raw_ss(
        "org",
        "rp",
        &forge(none(&fed.key("org").kid()), &ss, |_| b"x".to_vec()),
    );
    r.clear_caches();
    let e = resolve_err(&r, &fed.id("rp")).await;
    assert!(matches!(e, Error::NoTrustChain { .. }), "{e}");
    assert_eq!(e.rule(), Some(Rule::Alg), "{e}");
    fed.publish_raw_ss("org", "rp", &good);
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn hs256_keyed_with_the_issuers_public_key_is_rejected_over_http() {
    let (fed, _server) = serve(federation(|b| b)).await;
    let r = resolver(&fed);
    let good_ec = fed.entity_configuration("rp");
    let good_ss = fed.subordinate_statement("org", "rp");
    let hmac = |secret: Vec<u8>| {
        move |input: &[u8]| {
            josekit::jws::HS256
                .signer_from_bytes(&secret)
                .unwrap()
                .sign(input)
                .unwrap()
        }
    };
    let hs = |kid: String| json!({"alg": "HS256", "kid": kid, "typ": "entity-statement+jwt"});

    // The subject's EC, keyed with its own public JWK Set and with its single public JWK.
    let ec = claims_of(&good_ec);
    for secret in [
        fed.public_jwks("rp").to_string(),
        fed.key("rp").public_jwk().to_string(),
    ] {
        let token = forge(hs(fed.key("rp").kid()), &ec, hmac(secret.into_bytes()));
        fed.publish_raw_ec("rp", &token);
        r.clear_caches();
        let e = resolve_err(&r, &fed.id("rp")).await;
        assert_eq!(statement_rule(&e), Rule::Alg, "{e}");
    }
    fed.publish_raw_ec("rp", &good_ec);

    // The superior's statement, keyed with the superior's public key (what a verifier that
    // let the header pick the algorithm would use).
    let ss = claims_of(&good_ss);
    let secret = fed.public_jwks("org").to_string().into_bytes();
    fed.publish_raw_ss(
        "org",
        "rp",
        &forge(hs(fed.key("org").kid()), &ss, hmac(secret)),
    );
    r.clear_caches();
    let e = resolve_err(&r, &fed.id("rp")).await;
    assert!(matches!(e, Error::NoTrustChain { .. }), "{e}");
    assert_eq!(e.rule(), Some(Rule::Alg), "{e}");
    fed.publish_raw_ss("org", "rp", &good_ss);
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn kid_colliding_with_another_issuers_key_is_rejected() {
    // mallory is a legitimate member whose key has the same kid as org's key. It forges the
    // statement org makes about rp with its own key under that kid.
    let (fed, _server) = serve(federation(|b| b.leaf("mallory", &["org"]))).await;
    let org_kid = fed.key("org").kid();
    let mallory = RawKey::generate(Some(&org_kid));
    let mjwks = mallory.jwks();
    fed.republish_ss("org", "mallory", |c| {
        c.insert("jwks".into(), mjwks);
    });
    let mut mec = claims_of(&fed.entity_configuration("mallory"));
    mec.insert("jwks".into(), mallory.jwks());
    fed.publish_raw_ec("mallory", &mallory.sign_value(&Value::Object(mec)));

    let r = resolver(&fed);
    // mallory's own chain is valid (kids are scoped per issuer), and it has now been seen
    // and verified by this resolver.
    let e = within(r.resolve(&fed.id("mallory"), &RP))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::EntityTypeNotFound { .. }), "{e}");
    within(r.resolve(&fed.id("rp"), &RP))
        .await
        .expect("rp before the forgery");

    let good_ss = fed.subordinate_statement("org", "rp");
    let forged = mallory.sign_value(&Value::Object(claims_of(&good_ss)));
    assert_eq!(common::header_of(&forged)["kid"], json!(org_kid));
    fed.publish_raw_ss("org", "rp", &forged);
    r.clear_caches();
    let e = resolve_err(&r, &fed.id("rp")).await;
    assert!(matches!(e, Error::NoTrustChain { .. }), "{e}");
    assert!(
        matches!(
            e.rule(),
            Some(Rule::Signature) | Some(Rule::ChainLink) | Some(Rule::Kid)
        ),
        "{e}"
    );

    // The same forgery, taking over rp: rp's EC re-signed by mallory, the forged statement
    // asserting mallory's key for rp.
    let mut ss = claims_of(&good_ss);
    ss.insert("jwks".into(), mallory.jwks());
    fed.publish_raw_ss("org", "rp", &mallory.sign_value(&Value::Object(ss)));
    let mut ec = claims_of(&fed.entity_configuration("rp"));
    ec.insert("jwks".into(), mallory.jwks());
    let good_ec = fed.entity_configuration("rp");
    fed.publish_raw_ec("rp", &mallory.sign_value(&Value::Object(ec)));
    r.clear_caches();
    let e = resolve_err(&r, &fed.id("rp")).await;
    assert!(
        matches!(
            e.rule(),
            Some(Rule::Signature) | Some(Rule::ChainLink) | Some(Rule::Kid)
        ),
        "{e}"
    );
    fed.publish_raw_ss("org", "rp", &good_ss);
    fed.publish_raw_ec("rp", &good_ec);
    assert_usable(&r, &fed).await;
}
