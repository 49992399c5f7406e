//! A stored chain verified as of a past time (§8.7) checks the historical keys of every
//! issuer in it, not only the anchor's: an intermediate's revocation of the key that signed
//! its statement fails the chain; a history not signed by a key its superior vouches for is
//! refused rather than ignored.

mod common;

use common::{NOW, builder, three_level};
use oidfed::fetch::FetchResponse;
use oidfed::historical::{
    HISTORICAL_KEYS_CONTENT_TYPE, HISTORICAL_KEYS_ENDPOINT, HISTORICAL_KEYS_TYP, HistoricalError,
    RevocationReason,
};
use oidfed::testing::{Federation, KeyAlg, TestKey};
use serde_json::json;

/// When the stored chain was used (its statements are valid from NOW to NOW + 1 day).
const THEN: i64 = NOW + 3_600;

/// Names `org`'s endpoint in its configuration and serves `history` (signed by `signer`)
/// there: org's own key, revoked at `revoked_at` as compromised.
fn publish_org_history(fed: &Federation, signer: &TestKey, revoked_at: i64) {
    let url = format!("{}/historical-keys", fed.id("org"));
    let u = url.clone();
    fed.republish_ec("org", move |c| {
        c["metadata"]["federation_entity"][HISTORICAL_KEYS_ENDPOINT] = json!(u);
    });
    let mut k = fed.key("org").public_jwk();
    k["exp"] = json!(NOW + 2 * 86_400);
    k["revoked"] = json!({"revoked_at": revoked_at, "reason": "compromised"});
    let jwt = signer.sign_jwt(
        HISTORICAL_KEYS_TYP,
        &json!({"iss": fed.id("org").as_str(), "iat": NOW, "keys": [k]}),
    );
    fed.fetcher()
        .insert(&url, FetchResponse::ok(HISTORICAL_KEYS_CONTENT_TYPE, jwt));
}

#[tokio::test]
async fn an_intermediates_revocation_fails_a_stored_chain_as_of_a_later_time() {
    let fed = three_level().build();
    let chain = fed.chain(&["rp", "org", "ta"], true);
    let resolver = builder(&fed, &["ta"]).0.build().unwrap();
    // No issuer publishes historical keys: the chain verifies as of THEN.
    resolver.verify_chain_at(&chain, THEN).await.unwrap();

    // org revokes, before THEN, the key that signed its statement about rp.
    publish_org_history(&fed, &fed.key("org"), NOW - 60);
    resolver.clear_caches();
    let err = resolver.verify_chain_at(&chain, THEN).await.unwrap_err();
    match err {
        HistoricalError::KeyRevoked {
            issuer,
            kid,
            revocation,
            ..
        } => {
            assert_eq!(issuer, fed.id("org").to_string());
            assert_eq!(kid, fed.key("org").kid());
            assert_eq!(revocation.reason, Some(RevocationReason::Compromised));
        }
        e => panic!("expected KeyRevoked for org's key, got {e}"),
    }
    // Revoked only after THEN: the chain still verifies as of THEN.
    publish_org_history(&fed, &fed.key("org"), THEN + 60);
    resolver.clear_caches();
    resolver.verify_chain_at(&chain, THEN).await.unwrap();
}

#[tokio::test]
async fn an_issuers_history_not_signed_by_a_vouched_key_fails_the_verification() {
    let fed = three_level().build();
    let chain = fed.chain(&["rp", "org", "ta"], true);
    let resolver = builder(&fed, &["ta"]).0.build().unwrap();
    publish_org_history(&fed, &TestKey::generate(KeyAlg::ES256), THEN + 60);
    let err = resolver.verify_chain_at(&chain, THEN).await.unwrap_err();
    assert!(matches!(err, HistoricalError::Signature { .. }), "{err}");
}
