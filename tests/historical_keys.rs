//! Federation Historical Keys (§8.7): fetching and verifying the endpoint, hostile responses,
//! and stored chains and responses verified as of the time they were made.

mod common;

use common::{NOW, builder, claims_of, three_level};
use oidfed::fetch::FetchResponse;
use oidfed::historical::{
    HISTORICAL_KEYS_CONTENT_TYPE, HISTORICAL_KEYS_ENDPOINT, HISTORICAL_KEYS_TYP, HistoricalError,
    HistoricalKeys, HistoricalVerifier, KeyStatus, MAX_HISTORICAL_KEYS, RevocationReason,
};
use oidfed::jose::{JoseError, KeySet};
use oidfed::server::HistoricalKeysResponse;
use oidfed::signer::{JwkSigner, Signer};
use oidfed::statement::{ENTITY_STATEMENT_TYP, Rule, StatementRules};
use oidfed::testing::{Federation, KeyAlg, TestKey};
use oidfed::{EntityId, Resolver, TrustAnchor};
use serde_json::{Value, json};

/// A month after the federation's statements were made.
const LATER: i64 = NOW + 30 * 86_400;
/// When the stored chain was used (its statements are valid from NOW to NOW + 1 day).
const THEN: i64 = NOW + 3_600;

struct Rotated {
    fed: Federation,
    /// The chain rp → org → ta as it was at NOW, anchor EC included.
    chain: Vec<String>,
    old_ta: TestKey,
}

/// Builds the federation, stores a chain, then rotates the anchor's key.
fn rotated() -> Rotated {
    let fed = three_level().build();
    let chain = fed.chain(&["rp", "org", "ta"], true);
    let old_ta = fed.key("ta");
    fed.rotate_key("ta");
    Rotated { fed, chain, old_ta }
}

/// The old anchor key as a historical entry: used from long before NOW until NOW + 2 days.
fn old_entry(old: &TestKey, revoked: Option<Value>) -> Value {
    let mut k = old.public_jwk();
    k["iat"] = json!(NOW - 100 * 86_400);
    k["exp"] = json!(NOW + 2 * 86_400);
    if let Some(r) = revoked {
        k["revoked"] = r;
    }
    k
}

fn history_jwt(fed: &Federation, keys: Vec<Value>) -> String {
    fed.key("ta").sign_jwt(
        HISTORICAL_KEYS_TYP,
        &json!({"iss": fed.id("ta").as_str(), "iat": LATER, "keys": keys}),
    )
}

fn parse_history(fed: &Federation, jwt: &str) -> Result<HistoricalKeys, HistoricalError> {
    let current = KeySet::from_json(&fed.public_jwks("ta")).unwrap();
    HistoricalKeys::parse(jwt, &fed.id("ta"), &current, &StatementRules::default())
}

/// Serves `jwt` at the anchor's endpoint; the anchor's configuration, re-issued at LATER,
/// names it.
fn publish(fed: &Federation, jwt: &str) {
    let url = format!("{}/historical-keys", fed.id("ta"));
    let u = url.clone();
    fed.republish_ec("ta", move |c| {
        c.insert("iat".into(), json!(LATER));
        c.insert("exp".into(), json!(LATER + 86_400));
        c["metadata"]["federation_entity"][HISTORICAL_KEYS_ENDPOINT] = json!(u);
    });
    fed.fetcher()
        .insert(&url, FetchResponse::ok(HISTORICAL_KEYS_CONTENT_TYPE, jwt));
}

fn resolver_later(fed: &Federation) -> Resolver {
    let (b, clock) = builder(fed, &["ta"]);
    clock.set(LATER);
    b.build().unwrap()
}

fn pinned_now(fed: &Federation) -> TrustAnchor {
    TrustAnchor::new(fed.id("ta").as_str(), &fed.public_jwks("ta")).unwrap()
}

#[tokio::test]
async fn a_chain_made_before_a_rotation_verifies_as_of_its_time_and_not_as_of_now() {
    let Rotated { fed, chain, old_ta } = rotated();
    publish(&fed, &history_jwt(&fed, vec![old_entry(&old_ta, None)]));
    let resolver = resolver_later(&fed);

    let keys = resolver.historical_keys(&fed.id("ta")).await.unwrap();
    assert_eq!(keys.keys().len(), 1);
    assert_eq!(keys.keys()[0].kid(), old_ta.kid());

    let then = resolver.verify_chain_at(&chain, THEN).await.unwrap();
    assert_eq!(then.anchor(), &fed.id("ta"));
    assert_eq!(then.subject(), &fed.id("rp"));

    // As of now the old anchor key has expired.
    let err = resolver.verify_chain_at(&chain, LATER).await.unwrap_err();
    assert!(
        matches!(&err, HistoricalError::KeyNotValidAt { kid, status: KeyStatus::Expired { .. }, .. } if *kid == old_ta.kid()),
        "{err}"
    );
    // And the ordinary, current validation refuses it too.
    let err = resolver
        .validate_chain(&chain, &oidfed::EntityType::OPENID_RELYING_PARTY)
        .await
        .unwrap_err();
    assert_eq!(err.rule(), Some(Rule::Expiry), "{err}");

    // Without the anchor's historical keys, the pinned (new) key cannot verify the old chain.
    let err = HistoricalVerifier::new(pinned_now(&fed))
        .verify_chain_at(&chain, THEN)
        .unwrap_err();
    match err {
        HistoricalError::Chain { source, .. } => assert_eq!(source.rule(), Some(Rule::Kid)),
        e => panic!("expected a chain error, got {e}"),
    }
}

#[test]
fn a_key_revoked_before_the_signing_time_fails() {
    let Rotated { fed, chain, old_ta } = rotated();
    let revoked = json!({"revoked_at": NOW - 60, "reason": "compromised"});
    let keys = parse_history(
        &fed,
        &history_jwt(&fed, vec![old_entry(&old_ta, Some(revoked))]),
    )
    .unwrap();
    let err = HistoricalVerifier::new(pinned_now(&fed))
        .history(keys)
        .verify_chain_at(&chain, THEN)
        .unwrap_err();
    match err {
        HistoricalError::KeyRevoked {
            kid,
            revocation,
            at,
            ..
        } => {
            assert_eq!(kid, old_ta.kid());
            assert_eq!(at, THEN);
            assert_eq!(revocation.revoked_at, NOW - 60);
            assert_eq!(revocation.reason, Some(RevocationReason::Compromised));
        }
        e => panic!("expected KeyRevoked, got {e}"),
    }

    // Revoked only after the chain was used: it still verifies as of then, not after.
    let later = json!({"revoked_at": THEN + 60, "reason": "superseded"});
    let keys = parse_history(
        &fed,
        &history_jwt(&fed, vec![old_entry(&old_ta, Some(later))]),
    )
    .unwrap();
    let v = HistoricalVerifier::new(pinned_now(&fed)).history(keys);
    v.verify_chain_at(&chain, THEN).unwrap();
    let err = v.verify_chain_at(&chain, THEN + 60).unwrap_err();
    assert!(matches!(err, HistoricalError::KeyRevoked { .. }), "{err}");
}

#[test]
fn a_stored_signed_response_verifies_as_of_its_time() {
    let Rotated { fed, old_ta, .. } = rotated();
    let ta = fed.id("ta");
    let response = old_ta.sign_jwt(
        "resolve-response+jwt",
        &json!({"iss": ta.as_str(), "sub": fed.id("rp").as_str(), "iat": NOW, "exp": NOW + 86_400}),
    );
    let current = KeySet::from_json(&fed.public_jwks("ta")).unwrap();
    let keys = parse_history(&fed, &history_jwt(&fed, vec![old_entry(&old_ta, None)])).unwrap();
    let v = HistoricalVerifier::new(pinned_now(&fed)).history(keys);
    let claims = v
        .verify_signed_at(&response, "resolve-response+jwt", &ta, Some(&current), THEN)
        .unwrap();
    assert_eq!(claims["sub"], fed.id("rp").as_str());
    // Not with the current keys alone.
    let err = HistoricalVerifier::new(pinned_now(&fed))
        .verify_signed_at(&response, "resolve-response+jwt", &ta, Some(&current), THEN)
        .unwrap_err();
    assert!(
        matches!(
            err,
            HistoricalError::Signature {
                source: JoseError::UnknownKid { .. },
                ..
            }
        ),
        "{err}"
    );
    // Nor as of a time after it expired.
    let err = v
        .verify_signed_at(
            &response,
            "resolve-response+jwt",
            &ta,
            Some(&current),
            LATER,
        )
        .unwrap_err();
    assert!(
        matches!(err, HistoricalError::Claim { claim: "exp", .. }),
        "{err}"
    );
}

#[tokio::test]
async fn the_endpoint_response_must_be_signed_by_a_current_key_and_exist() {
    let Rotated { fed, old_ta, .. } = rotated();
    // Signed with the retired key instead of the current one.
    let jwt = old_ta.sign_jwt(
        HISTORICAL_KEYS_TYP,
        &json!({"iss": fed.id("ta").as_str(), "iat": LATER, "keys": [old_entry(&old_ta, None)]}),
    );
    publish(&fed, &jwt);
    let resolver = resolver_later(&fed);
    let err = resolver.historical_keys(&fed.id("ta")).await.unwrap_err();
    assert!(matches!(err, HistoricalError::Signature { .. }), "{err}");

    let fresh = three_level().build();
    let (b, _clock) = builder(&fresh, &["ta"]);
    let at_now = b.build().unwrap();
    let err = at_now.historical_keys(&fresh.id("org")).await.unwrap_err();
    assert!(matches!(err, HistoricalError::NoEndpoint { .. }), "{err}");
}

fn expect_entry(err: HistoricalError, want: &str) {
    match err {
        HistoricalError::KeyEntry { field, .. } => assert_eq!(field, want),
        e => panic!("expected a KeyEntry error on {want}, got {e}"),
    }
}

#[test]
fn malformed_historical_key_sets_give_typed_errors() {
    let Rotated { fed, old_ta, .. } = rotated();
    let ta = fed.id("ta");
    let key = fed.key("ta");
    let with_key = |edit: &dyn Fn(&mut Value)| {
        let mut k = old_entry(&old_ta, None);
        edit(&mut k);
        history_jwt(&fed, vec![k])
    };
    let p = |jwt: &str| parse_history(&fed, jwt).unwrap_err();

    let no_typ = key.sign_with_header(
        &json!({"alg": "ES256", "kid": key.kid()}),
        &json!({"iss": ta.as_str(), "iat": LATER, "keys": []}),
    );
    assert!(matches!(
        p(&no_typ),
        HistoricalError::Jws {
            source: JoseError::MissingTyp { .. },
            ..
        }
    ));
    let wrong_typ = key.sign_jwt(
        "jwt",
        &json!({"iss": ta.as_str(), "iat": LATER, "keys": []}),
    );
    assert!(matches!(
        p(&wrong_typ),
        HistoricalError::Jws {
            source: JoseError::WrongTyp { .. },
            ..
        }
    ));

    expect_entry(
        p(&with_key(&|k| {
            k.as_object_mut().unwrap().remove("exp");
        })),
        "exp",
    );
    expect_entry(p(&with_key(&|k| k["exp"] = json!("tomorrow"))), "exp");
    expect_entry(p(&with_key(&|k| k["exp"] = json!(1e300))), "exp");
    expect_entry(
        p(&with_key(&|k| k["exp"] = json!(NOW - 200 * 86_400))),
        "exp",
    );
    expect_entry(p(&with_key(&|k| k["iat"] = json!(-1))), "iat");
    expect_entry(
        p(&with_key(&|k| {
            k["revoked"] = json!({"reason": "compromised"})
        })),
        "revoked_at",
    );
    expect_entry(p(&with_key(&|k| k["revoked"] = json!(true))), "revoked");
    expect_entry(
        p(&with_key(&|k| {
            k["revoked"] = json!({"revoked_at": NOW, "reason": 7})
        })),
        "reason",
    );
    expect_entry(
        p(&with_key(&|k| {
            k.as_object_mut().unwrap().remove("kid");
        })),
        "kid",
    );
    expect_entry(p(&with_key(&|k| k["d"] = json!("private"))), "jwk");
    expect_entry(p(&history_jwt(&fed, vec![json!("a key")])), "jwk");

    let claims = |c: Value| key.sign_jwt(HISTORICAL_KEYS_TYP, &c);
    assert!(matches!(
        p(&claims(
            json!({"iss": ta.as_str(), "iat": LATER, "keys": {}})
        )),
        HistoricalError::Claim { claim: "keys", .. }
    ));
    assert!(matches!(
        p(&claims(json!({"iss": ta.as_str(), "keys": []}))),
        HistoricalError::Claim { claim: "iat", .. }
    ));
    assert!(matches!(
        p(&claims(json!({"iat": LATER, "keys": []}))),
        HistoricalError::Claim { claim: "iss", .. }
    ));
    assert!(matches!(
        p(&claims(
            json!({"iss": fed.id("org").as_str(), "iat": LATER, "keys": []})
        )),
        HistoricalError::WrongIssuer { .. }
    ));
    let dup = old_entry(&old_ta, None);
    assert!(matches!(
        p(&history_jwt(&fed, vec![dup.clone(), dup])),
        HistoricalError::DuplicateKid { .. }
    ));
    let many: Vec<Value> = (0..=MAX_HISTORICAL_KEYS)
        .map(|i| json!({"kty": "EC", "kid": format!("k{i}"), "exp": NOW}))
        .collect();
    assert!(matches!(
        p(&history_jwt(&fed, many)),
        HistoricalError::TooManyKeys { .. }
    ));
    let huge = format!("{}.{}.x", "e".repeat(200_000), "e".repeat(200_000));
    assert!(matches!(
        p(&huge),
        HistoricalError::Jws {
            source: JoseError::TooLong { .. },
            ..
        }
    ));
    let duplicate_member = {
        use base64::Engine as _;
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let h = json!({"alg": "ES256", "kid": key.kid(), "typ": HISTORICAL_KEYS_TYP}).to_string();
        format!(
            "{}.{}.AA",
            b(&h),
            b(r#"{"iss":"a","iss":"b","iat":1,"keys":[]}"#)
        )
    };
    assert!(matches!(
        p(&duplicate_member),
        HistoricalError::Claim {
            claim: "payload",
            ..
        }
    ));
    assert!(matches!(
        p("not a jwt"),
        HistoricalError::Jws {
            source: JoseError::NotCompact,
            ..
        }
    ));
}

#[test]
fn our_own_historical_keys_are_built_signed_and_refuse_private_material() {
    let current = JwkSigner::generate_es256("fed-2").unwrap();
    let retired = JwkSigner::generate_es256("fed-1").unwrap();
    let ours = EntityId::parse("https://op.example.org").unwrap();
    let jwt = HistoricalKeysResponse::new(ours.as_str())
        .retired_key(retired.public_jwk(), Some(NOW - 86_400), NOW)
        .sign(&current, NOW + 10)
        .unwrap();
    let jwks = KeySet::from_json(&json!({"keys": [current.public_jwk()]})).unwrap();
    let keys = HistoricalKeys::parse(&jwt, &ours, &jwks, &StatementRules::default()).unwrap();
    assert_eq!(keys.issued_at(), NOW + 10);
    let k = keys.get("fed-1").unwrap();
    assert_eq!(
        (k.issued_at(), k.expires_at(), k.revocation()),
        (Some(NOW - 86_400), NOW, None)
    );
    assert_eq!(k.status_at(NOW - 1), KeyStatus::Valid);
    assert_eq!(k.status_at(NOW), KeyStatus::Expired { expires_at: NOW });

    let mut private = retired.public_jwk();
    private["d"] = json!("secret");
    let err = HistoricalKeysResponse::new(ours.as_str())
        .retired_key(private, None, NOW)
        .sign(&current, NOW)
        .unwrap_err();
    assert!(matches!(err, HistoricalError::Build { .. }), "{err}");
}

#[tokio::test]
/// §8.7 with §10.2: a member's historical keys are trusted only under the keys its
/// superior asserts for it. Whoever controls org's web server but not its keys publishes a
/// configuration and a history under their own key: refused, so no "past" response they
/// forge verifies. The genuine history, signed with the chain-vouched key, is accepted.
async fn historical_keys_of_a_member_need_its_keys_from_a_chain() {
    let fed = three_level().build();
    let (b, _clock) = builder(&fed, &["ta"]);
    let resolver = b.build().unwrap();
    let org = fed.id("org");
    let genuine_ec = fed.entity_configuration("org");
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
    let history_a = history.clone();
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
    assert!(
        matches!(got, Err(HistoricalError::Configuration { .. })),
        "{got:?}"
    );

    // The genuine configuration with the endpoint, and a history signed with org's key.
    let mut ec = claims_of(&genuine_ec);
    ec["metadata"]["federation_entity"][HISTORICAL_KEYS_ENDPOINT] = json!(url);
    fed.publish_raw_ec(
        "org",
        &fed.key("org")
            .sign_jwt(ENTITY_STATEMENT_TYP, &Value::Object(ec)),
    );
    let genuine = fed.key("org").sign_jwt(
        HISTORICAL_KEYS_TYP,
        &json!({"iss": org.as_str(), "iat": NOW, "keys": [hk]}),
    );
    fed.fetcher().insert(
        &url,
        FetchResponse::ok(HISTORICAL_KEYS_CONTENT_TYPE, genuine),
    );
    resolver.clear_caches();
    let keys = resolver.historical_keys(&org).await.unwrap();
    assert!(keys.get(&h.kid()).is_some());
    // The forger's history, now behind the genuine configuration: not signed by org's key.
    fed.fetcher().insert(
        &url,
        FetchResponse::ok(HISTORICAL_KEYS_CONTENT_TYPE, history_a),
    );
    let err = resolver.historical_keys(&org).await.unwrap_err();
    assert!(matches!(err, HistoricalError::Signature { .. }), "{err}");
}
