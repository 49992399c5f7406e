//! Automatic and explicit registration, resolve responses (OpenID Federation 1.0 §12, §8.3).

mod common;

use common::*;
use oidfed::fetch::{FetchResponse, MemoryFetcher};
use oidfed::server::{
    ChainSource, EntityConfiguration, ExplicitRegistration, MemoryReplayGuard,
    REGISTRATION_RESPONSE_TYP, RemoteResolver, RequestPolicy, resolve_response,
};
use oidfed::signer::{JwkSigner, Signer};
use oidfed::testing::{Federation, KeyAlg, TestKey};
use oidfed::{EntityType, Error, FixedClock, RequestError};
use serde_json::{Value, json};

const OP: &str = "https://op.example.org";
const RP: EntityType = EntityType::OPENID_RELYING_PARTY;

/// The demo shape with an RP whose protocol key is `proto`.
fn fed_with(proto: &TestKey) -> Federation {
    three_level()
        .metadata("rp", "openid_relying_party", json!({
            "client_name": "RP",
            "redirect_uris": ["https://rp.example/cb"],
            "jwks": {"keys": [proto.public_jwk()]},
        }))
        .metadata_policy("ta", "org", json!({"openid_relying_party": {
            "grant_types": {"default": ["authorization_code"], "subset_of": ["authorization_code", "refresh_token"]},
            "contacts": {"add": ["ops@fed.example"]}
        }}))
        .build()
}

fn request_claims(fed: &Federation) -> serde_json::Map<String, Value> {
    json!({
        "iss": fed.id("rp").as_str(),
        "client_id": fed.id("rp").as_str(),
        "aud": OP,
        "jti": "j-1",
        "exp": NOW + 300,
        "iat": NOW,
        "response_type": "code",
        "redirect_uri": "https://rp.example/cb",
        "scope": "openid",
    })
    .as_object()
    .unwrap()
    .clone()
}

fn sign_request(key: &TestKey, claims: &serde_json::Map<String, Value>, extra: Value) -> String {
    let mut header = json!({"alg": "ES256", "kid": key.kid(), "typ": "oauth-authz-req+jwt"});
    if let Value::Object(e) = extra {
        for (k, v) in e {
            header[k] = v;
        }
    }
    key.sign_with_header(&header, &Value::Object(claims.clone()))
}

#[tokio::test]
async fn request_object_valid_and_its_failures() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let fed = fed_with(&proto);
    let r = resolver(&fed);
    let policy = RequestPolicy::new(OP);
    let guard = MemoryReplayGuard::default();

    let ok = sign_request(&proto, &request_claims(&fed), json!({}));
    let v = r.verify_request_object(&ok, &policy, &guard).await.unwrap();
    assert_eq!(v.client.client_id, fed.id("rp"));
    assert_eq!(v.chain_source, ChainSource::Resolved);
    assert_eq!(v.claims["scope"], "openid");
    // The same jti again: replay.
    let e = r
        .verify_request_object(&ok, &policy, &guard)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidClient { .. }), "{e}");

    // Signed with the federation key (not a protocol key of the resolved metadata).
    let mut c = request_claims(&fed);
    c.insert("jti".into(), json!("j-2"));
    let fed_key_signed = sign_request(&fed.key("rp"), &c, json!({}));
    let e = r
        .verify_request_object(&fed_key_signed, &policy, &guard)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidClient { .. }), "{e}");

    // Wrong audience, or an array with another audience.
    for aud in [
        json!("https://other.example"),
        json!([OP, "https://other.example"]),
    ] {
        let mut c = request_claims(&fed);
        c.insert("jti".into(), json!(format!("aud-{aud}")));
        c.insert("aud".into(), aud);
        let e = r
            .verify_request_object(&sign_request(&proto, &c, json!({})), &policy, &guard)
            .await
            .unwrap_err();
        assert_eq!(e.spec_code(), "invalid_request", "{e}");
    }
    // Expired; without jti; with sub.
    let mut c = request_claims(&fed);
    c.insert("exp".into(), json!(NOW - 3600));
    assert!(
        r.verify_request_object(&sign_request(&proto, &c, json!({})), &policy, &guard)
            .await
            .is_err()
    );
    let mut c = request_claims(&fed);
    c.remove("jti");
    assert!(
        r.verify_request_object(&sign_request(&proto, &c, json!({})), &policy, &guard)
            .await
            .is_err()
    );
    let mut c = request_claims(&fed);
    c.insert("jti".into(), json!("j-sub"));
    c.insert("sub".into(), json!(fed.id("rp").as_str()));
    assert!(
        r.verify_request_object(&sign_request(&proto, &c, json!({})), &policy, &guard)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn request_object_with_trust_chain_header() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let fed = fed_with(&proto);
    let r = resolver(&fed);
    let policy = RequestPolicy::new(OP);
    let guard = MemoryReplayGuard::default();
    let chain = fed.chain(&["rp", "org", "ta"], true);

    // Valid header chain: no fetching needed.
    let f = fed.fetcher();
    let mut c = request_claims(&fed);
    c.insert("jti".into(), json!("h-1"));
    let jwt = sign_request(&proto, &c, json!({"trust_chain": chain}));
    let v = r
        .verify_request_object(&jwt, &policy, &guard)
        .await
        .unwrap();
    assert_eq!(v.chain_source, ChainSource::Header);
    assert_eq!(f.total_fetches(), 0);

    // Tampered header chain: only a failed hint; the client is resolved instead.
    let mut tampered = chain.clone();
    let parts: Vec<String> = tampered[1].split('.').map(str::to_string).collect();
    tampered[1] = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        &parts[2][..parts[2].len() - 4]
    );
    let mut c = request_claims(&fed);
    c.insert("jti".into(), json!("h-2"));
    let v = r
        .verify_request_object(
            &sign_request(&proto, &c, json!({"trust_chain": tampered})),
            &policy,
            &guard,
        )
        .await
        .unwrap();
    assert_eq!(v.chain_source, ChainSource::Resolved);
    assert!(v.header_chain_problem.is_some());

    // A chain ending at an anchor we do not trust is not used either.
    let other = fed_with(&proto);
    let mut c = request_claims(&fed);
    c.insert("jti".into(), json!("h-3"));
    let foreign = other.chain(&["rp", "org", "ta"], true);
    let v = r
        .verify_request_object(
            &sign_request(&proto, &c, json!({"trust_chain": foreign})),
            &policy,
            &guard,
        )
        .await
        .unwrap();
    assert_eq!(v.chain_source, ChainSource::Resolved);

    // peer_trust_chain ending at another anchor: rejected (MUST).
    let mut c = request_claims(&fed);
    c.insert("jti".into(), json!("h-4"));
    let peer = other.chain(&["org", "ta"], true);
    let e = r
        .verify_request_object(
            &sign_request(
                &proto,
                &c,
                json!({"trust_chain": chain, "peer_trust_chain": peer}),
            ),
            &policy,
            &guard,
        )
        .await
        .unwrap_err();
    assert_eq!(e.spec_code(), "invalid_request", "{e}");
}

#[tokio::test]
async fn client_assertion_at_the_token_endpoint() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let fed = fed_with(&proto);
    let r = resolver(&fed);
    let mut policy = RequestPolicy::new(OP);
    policy.assertion_audiences.push(format!("{OP}/token"));
    let guard = MemoryReplayGuard::default();
    let rp = fed.id("rp");
    let claims = json!({"iss": rp.as_str(), "sub": rp.as_str(), "aud": format!("{OP}/token"), "jti": "a-1", "exp": NOW + 60});
    let jwt = proto.sign_jwt("JWT", &claims);
    let rec = r
        .verify_client_assertion(&jwt, &policy, &guard)
        .await
        .unwrap();
    assert_eq!(rec.client_id, rp);
    assert!(
        r.verify_client_assertion(&jwt, &policy, &guard)
            .await
            .is_err(),
        "replay"
    );
    let forged = TestKey::generate(KeyAlg::ES256).sign_with_header(
        &json!({"alg": "ES256", "kid": proto.kid()}),
        &json!({"iss": rp.as_str(), "sub": rp.as_str(), "aud": OP, "jti": "a-2", "exp": NOW + 60}),
    );
    assert!(
        r.verify_client_assertion(&forged, &policy, &guard)
            .await
            .is_err()
    );
}

fn op_signer() -> JwkSigner {
    JwkSigner::generate_es256("op-1").unwrap()
}

fn verify_with(signer: &JwkSigner, jwt: &str) -> serde_json::Map<String, Value> {
    let keys = oidfed::jose::KeySet::from_json(&json!({"keys": [signer.public_jwk()]})).unwrap();
    let jws = oidfed::jose::CompactJws::parse(jwt).unwrap();
    keys.verify(&jws, signer.alg(), signer.kid(), "op").unwrap();
    claims_of(jwt)
}

#[tokio::test]
async fn explicit_registration_with_an_entity_configuration_body() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let fed = fed_with(&proto);
    let r = resolver(&fed);
    let signer = op_signer();
    // The RP's EC made for this OP: aud = OP.
    let mut ec = claims_of(&fed.entity_configuration("rp"));
    ec.insert("aud".into(), json!(OP));
    let body = fed
        .key("rp")
        .sign_jwt("entity-statement+jwt", &Value::Object(ec.clone()));
    let reg = ExplicitRegistration {
        our_entity_id: OP,
        signer: &signer,
        max_lifetime: 3600,
        entity_type: RP,
        decide: None,
    };
    let out = r
        .register_explicit(body.as_bytes(), "application/entity-statement+jwt", &reg)
        .await
        .unwrap();
    assert_eq!(header_of(&out.response)["typ"], REGISTRATION_RESPONSE_TYP);
    let c = verify_with(&signer, &out.response);
    assert_eq!(c["iss"], OP);
    assert_eq!(c["sub"], fed.id("rp").as_str());
    assert_eq!(c["aud"], fed.id("rp").as_str());
    assert_eq!(c["trust_anchor"], fed.id("ta").as_str());
    assert_eq!(c["authority_hints"], json!([fed.id("org").as_str()]));
    assert_eq!(c["jwks"], ec["jwks"], "verbatim copy of the request's jwks");
    let md = &c["metadata"]["openid_relying_party"];
    assert_eq!(md["client_id"], fed.id("rp").as_str());
    // Policy applied to the registered metadata.
    assert_eq!(md["grant_types"], json!(["authorization_code"]));
    assert!(
        md["contacts"]
            .as_array()
            .unwrap()
            .contains(&json!("ops@fed.example"))
    );
    // Bounded by the chain and by the server's maximum.
    assert_eq!(c["exp"], json!(NOW + 3600));
    assert!(c["exp"].as_i64().unwrap() <= out.record.expires_at.as_secs().max(NOW + 3600));

    // aud missing or for another server: refused.
    ec.insert("aud".into(), json!("https://other.example"));
    let wrong = fed
        .key("rp")
        .sign_jwt("entity-statement+jwt", &Value::Object(ec));
    assert!(
        r.register_explicit(wrong.as_bytes(), "application/entity-statement+jwt", &reg)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn explicit_registration_with_a_trust_chain_body_never_outlives_the_chain() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let fed = three_level()
        .metadata(
            "rp",
            "openid_relying_party",
            json!({"jwks": {"keys": [proto.public_jwk()]}}),
        )
        .statement_exp("org", "rp", NOW + 900)
        .build();
    let r = resolver(&fed);
    let signer = op_signer();
    let body = serde_json::to_vec(&fed.chain(&["rp", "org", "ta"], true)).unwrap();
    let reg = ExplicitRegistration {
        our_entity_id: OP,
        signer: &signer,
        max_lifetime: 86_400,
        entity_type: RP,
        decide: None,
    };
    let out = r
        .register_explicit(&body, "application/trust-chain+json", &reg)
        .await
        .unwrap();
    let c = verify_with(&signer, &out.response);
    assert_eq!(c["exp"], json!(NOW + 900), "capped at the chain's expiry");
    assert_eq!(out.record.expires_at, NOW + 900);
    assert!(
        r.register_explicit(b"[1]", "application/trust-chain+json", &reg)
            .await
            .is_err()
    );
    assert!(
        r.register_explicit(&body, "text/plain", &reg)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn resolve_response_round_trip_and_wrong_key_rejected() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let fed = fed_with(&proto);
    let r = resolver(&fed);
    let resolved = r.resolve(&fed.id("rp"), &RP).await.unwrap();
    let signer = op_signer();
    let jwt = resolve_response(&resolved, OP, &signer, NOW).unwrap();
    assert_eq!(header_of(&jwt)["typ"], "resolve-response+jwt");
    let c = verify_with(&signer, &jwt);
    assert_eq!(c["exp"], json!(resolved.expires_at()));
    assert_eq!(c["trust_chain"].as_array().unwrap().len(), 4);

    // A client of that resolver endpoint.
    let endpoint = url::Url::parse("https://op.example.org/resolve").unwrap();
    let remote_fetcher = MemoryFetcher::new();
    let mut asked = endpoint.clone();
    asked
        .query_pairs_mut()
        .append_pair("sub", fed.id("rp").as_str())
        .append_pair("trust_anchor", fed.id("ta").as_str())
        .append_pair("entity_type", "openid_relying_party");
    remote_fetcher.insert(
        asked.as_str(),
        FetchResponse::ok("application/resolve-response+jwt", jwt.clone().into_bytes()),
    );
    let op_id = oidfed::EntityId::parse(OP).unwrap();
    let client = RemoteResolver::new(
        endpoint.clone(),
        op_id.clone(),
        &json!({"keys": [signer.public_jwk()]}),
        remote_fetcher.clone(),
        FixedClock::new(NOW),
    )
    .unwrap();
    let got = client
        .resolve(&fed.id("rp"), &fed.id("ta"), &RP)
        .await
        .unwrap();
    assert_eq!(got.metadata, *resolved.metadata());
    assert_eq!(got.expires_at, resolved.expires_at());
    // The same answer checked against other keys: rejected.
    let other = op_signer();
    let client = RemoteResolver::new(
        endpoint,
        op_id,
        &json!({"keys": [other.public_jwk()]}),
        remote_fetcher,
        FixedClock::new(NOW),
    )
    .unwrap();
    assert!(
        client
            .resolve(&fed.id("rp"), &fed.id("ta"), &RP)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn our_entity_configuration_resolves_as_an_anchor_subject() {
    let signer = op_signer();
    let jwt = EntityConfiguration::new(OP)
        .metadata("openid_provider", json!({"issuer": OP}))
        .sign(&signer, &[signer.public_jwk()], NOW, 3600)
        .unwrap();
    let c = verify_with(&signer, &jwt);
    assert_eq!(c["iss"], OP);
    assert_eq!(c["sub"], OP);
    assert_eq!(header_of(&jwt)["typ"], "entity-statement+jwt");
    // It is a valid statement for our own parser.
    oidfed::EntityStatement::parse(&jwt, &Default::default()).unwrap();
}

/// A token is accepted until `exp + skew` (issue 13 item 4): its `jti` must be kept as long.
/// Replayed after `exp` but inside the skew window, a Request Object and a client assertion
/// are both refused as replays.
#[tokio::test]
async fn replay_inside_the_clock_skew_window_is_refused() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let fed = fed_with(&proto);
    let (b, clock) = builder(&fed, &["ta"]);
    let r = b.clock_skew(60).build().unwrap();
    let policy = RequestPolicy::new(OP);
    let guard = MemoryReplayGuard::default();

    let mut c = request_claims(&fed);
    c.insert("exp".into(), json!(NOW + 100));
    let request = sign_request(&proto, &c, json!({}));
    let assertion = proto.sign_with_header(
        &json!({"alg": "ES256", "kid": proto.kid()}),
        &json!({"iss": fed.id("rp").as_str(), "sub": fed.id("rp").as_str(), "aud": OP,
            "jti": "a-1", "exp": NOW + 100, "iat": NOW}),
    );
    r.verify_request_object(&request, &policy, &guard)
        .await
        .unwrap();
    r.verify_client_assertion(&assertion, &policy, &guard)
        .await
        .unwrap();
    // After exp, before exp + skew: still accepted by the lifetime check, so still a replay.
    clock.set(NOW + 130);
    let e = r
        .verify_request_object(&request, &policy, &guard)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::InvalidClient {
                reason: RequestError::Replayed { .. },
                ..
            }
        ),
        "{e}"
    );
    let e = r
        .verify_client_assertion(&assertion, &policy, &guard)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::InvalidClient {
                reason: RequestError::Replayed { .. },
                ..
            }
        ),
        "{e}"
    );
    // From exp + skew on, the lifetime check refuses it (not the guard).
    clock.set(NOW + 160);
    let e = r
        .verify_request_object(&request, &policy, &guard)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidRequest { .. }), "{e}");
}

/// The guard's own contract: kept until `keep_until`, forgotten from then on; a full guard
/// fails closed with an error rather than forgetting live entries.
#[tokio::test]
async fn memory_replay_guard_keeps_each_jti_until_keep_until() {
    use oidfed::server::ReplayGuard;
    let g = MemoryReplayGuard::new(1);
    assert!(g.first_use("c", "j", 200, 100).await.unwrap());
    assert!(!g.first_use("c", "j", 200, 199).await.unwrap());
    // Another client's jti of the same value is distinct; the guard is full of a live one.
    assert!(matches!(
        g.first_use("d", "j", 200, 150).await,
        Err(Error::Config(_))
    ));
    // At keep_until the entry is no longer kept.
    assert!(g.first_use("c", "j", 300, 200).await.unwrap());
    // A guard is usable as a trait object.
    let shared: &dyn ReplayGuard = &g;
    assert!(!shared.first_use("c", "j", 300, 250).await.unwrap());
}
