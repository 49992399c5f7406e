//! Probe: historical keys of an entity that is not an anchor are authenticated only by its
//! self-signed configuration; whoever serves that URL can make any "past" response verify.

mod common;

use common::{NOW, builder, claims_of, three_level};
use oidfed::TrustAnchor;
use oidfed::fetch::FetchResponse;
use oidfed::historical::{
    HISTORICAL_KEYS_CONTENT_TYPE, HISTORICAL_KEYS_ENDPOINT, HISTORICAL_KEYS_TYP, HistoricalVerifier,
};
use oidfed::jose::KeySet;
use oidfed::statement::ENTITY_STATEMENT_TYP;
use oidfed::testing::{KeyAlg, TestKey};
use serde_json::{Value, json};

#[tokio::test]
async fn historical_keys_of_a_member_need_its_keys_from_a_chain() {
    let fed = three_level().build();
    let (b, _clock) = builder(&fed, &["ta"]);
    let resolver = b.build().unwrap();
    let org = fed.id("org");
    // Someone who controls org's web server, not its keys: a configuration under their key A
    // (org's superior, ta, asserts a different key for org).
    let a = TestKey::generate(KeyAlg::ES256);
    let h = TestKey::generate(KeyAlg::ES256);
    let url = format!("{org}/historical-keys");
    let mut ec = claims_of(&fed.entity_configuration("org"));
    ec.insert("jwks".into(), a.public_jwks());
    ec["metadata"]["federation_entity"][HISTORICAL_KEYS_ENDPOINT] = json!(url);
    fed.publish_raw_ec("org", &a.sign_jwt(ENTITY_STATEMENT_TYP, &Value::Object(ec)));
    let mut hk = h.public_jwk();
    hk["exp"] = json!(NOW + 365 * 86_400);
    let history = a.sign_jwt(
        HISTORICAL_KEYS_TYP,
        &json!({"iss": org.as_str(), "iat": NOW, "keys": [hk]}),
    );
    fed.fetcher().insert(
        &url,
        FetchResponse::ok(HISTORICAL_KEYS_CONTENT_TYPE, history),
    );

    let got = resolver.historical_keys(&org).await;
    // Were it accepted, a response "org signed" last month verifies with h:
    if let Ok(keys) = got {
        let forged = h.sign_jwt(
            "resolve-response+jwt",
            &json!({"iss": org.as_str(), "iat": NOW - 86_400, "sub": "x"}),
        );
        let genuine = KeySet::from_json(&fed.public_jwks("org")).unwrap();
        let anchor = TrustAnchor::new(fed.id("ta").as_str(), &fed.public_jwks("ta")).unwrap();
        let v = HistoricalVerifier::new(anchor).history(keys);
        let r = v.verify_signed_at(
            &forged,
            "resolve-response+jwt",
            &org,
            Some(&genuine),
            NOW - 86_400,
        );
        panic!(
            "org's history was accepted from a self-signed configuration; a forged response then verifies: {}",
            r.is_ok()
        );
    }
}
