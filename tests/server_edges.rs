//! Registration and resolve-endpoint edge cases of spec-notes §13.7 and §13.3 that
//! `tests/server.rs` leaves open: 53, 56, 105, 107, 110, 112 (spec-notes §3.5, §4.6–4.7, §9).

mod common;

use common::*;
use oidfed::error::ResponseProblem;
use oidfed::fetch::{FetchResponse, MemoryFetcher};
use oidfed::server::{
    ChainSource, ExplicitRegistration, MemoryReplayGuard, RESOLVE_RESPONSE_TYP, RemoteResolver,
    RequestPolicy, resolve_response,
};
use oidfed::signer::{JwkSigner, Signer};
use oidfed::testing::{Federation, FederationBuilder, KeyAlg, TestKey};
use oidfed::{EntityId, EntityType, Error, FixedClock, RequestError, Rule};
use serde_json::{Map, Value, json};

const OP: &str = "https://op.example.org";
const RP: EntityType = EntityType::OPENID_RELYING_PARTY;

/// ta ← org ← {rp, rp2}: two relying parties under the same organization, each with its
/// own protocol key (`proto`, `proto2`) and its own `client_name`.
fn two_rps(proto: &TestKey, proto2: &TestKey) -> Federation {
    three_level()
        .leaf("rp2", &["org"])
        .metadata(
            "rp",
            "openid_relying_party",
            json!({"client_name": "RP", "redirect_uris": ["https://rp.example/cb"],
                   "jwks": {"keys": [proto.public_jwk()]}}),
        )
        .metadata(
            "rp2",
            "openid_relying_party",
            json!({"client_name": "RP2", "redirect_uris": ["https://rp2.example/cb"],
                   "jwks": {"keys": [proto2.public_jwk()]}}),
        )
        .build()
}

fn request_claims(client: &EntityId, aud: &str, jti: &str) -> Map<String, Value> {
    json!({
        "iss": client.as_str(),
        "client_id": client.as_str(),
        "aud": aud,
        "jti": jti,
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

/// Signs a Request Object with `key`, adding `extra` members to the JWS header.
fn sign_request(key: &TestKey, claims: &Map<String, Value>, extra: Value) -> String {
    let mut header =
        json!({"alg": key.alg().name(), "kid": key.kid(), "typ": "oauth-authz-req+jwt"});
    if let Value::Object(e) = extra {
        for (k, v) in e {
            header[k] = v;
        }
    }
    key.sign_with_header(&header, &Value::Object(claims.clone()))
}

/// Re-signs `jwt`'s claims with `key` under an `entity-statement+jwt` header extended by
/// `extra` (e.g. a `peer_trust_chain`).
fn resign_statement(key: &TestKey, claims: &Map<String, Value>, extra: Value) -> String {
    let mut header =
        json!({"alg": key.alg().name(), "kid": key.kid(), "typ": "entity-statement+jwt"});
    if let Value::Object(e) = extra {
        for (k, v) in e {
            header[k] = v;
        }
    }
    key.sign_with_header(&header, &Value::Object(claims.clone()))
}

fn op_signer() -> JwkSigner {
    JwkSigner::generate_es256("op-1").unwrap()
}

fn registration(signer: &JwkSigner) -> ExplicitRegistration<'_> {
    ExplicitRegistration {
        our_entity_id: OP,
        signer,
        max_lifetime: 86_400,
        entity_type: RP,
        decide: None,
    }
}

fn reason_of(e: &Error) -> &RequestError {
    match e {
        Error::InvalidRequest { reason } => reason,
        other => panic!("expected Error::InvalidRequest, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// 53: a received chain must start at the entity it proves.
// ---------------------------------------------------------------------------------------

/// 53, Request Object: a `trust_chain` header that is another entity's (rp2's) valid chain
/// is not used for the client `rp`.
#[tokio::test]
async fn request_object_header_chain_of_another_entity_is_not_used_for_the_client() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let proto2 = TestKey::generate(KeyAlg::ES256);
    let fed = two_rps(&proto, &proto2);
    let r = resolver(&fed);
    let policy = RequestPolicy::new(OP);
    let guard = MemoryReplayGuard::default();
    let rp = fed.id("rp");
    let rp2_chain = fed.chain(&["rp2", "org", "ta"], true);

    // The chain itself is valid: as a header of rp2's own request it is used.
    let own = sign_request(
        &proto2,
        &request_claims(&fed.id("rp2"), OP, "own-1"),
        json!({"trust_chain": rp2_chain}),
    );
    let v = r
        .verify_request_object(&own, &policy, &guard)
        .await
        .unwrap();
    assert_eq!(v.chain_source, ChainSource::Header);
    assert_eq!(v.client.client_id, fed.id("rp2"));

    // Impersonation: client_id = rp, signed with rp2's protocol key, carrying rp2's chain.
    // Were the header chain taken as rp's, rp2's keys would verify the signature.
    let forged = sign_request(
        &proto2,
        &request_claims(&rp, OP, "imp-1"),
        json!({"trust_chain": rp2_chain}),
    );
    let e = r
        .verify_request_object(&forged, &policy, &guard)
        .await
        .unwrap_err();
    match &e {
        Error::InvalidClient { client_id, reason } => {
            assert_eq!(client_id, rp.as_str());
            assert!(
                matches!(reason, RequestError::Signature { what, .. } if what == "request object"),
                "{reason}"
            );
        }
        other => panic!("expected InvalidClient for rp, got {other:?}"),
    }

    // rp itself sending rp2's chain by mistake: the header is a failed hint, the client is
    // resolved from its own configuration, and the record is rp's, not rp2's.
    let honest = sign_request(
        &proto,
        &request_claims(&rp, OP, "hon-1"),
        json!({"trust_chain": rp2_chain}),
    );
    let v = r
        .verify_request_object(&honest, &policy, &guard)
        .await
        .unwrap();
    assert_eq!(v.chain_source, ChainSource::Resolved);
    let problem = v
        .header_chain_problem
        .expect("the header chain was refused");
    assert!(problem.contains("not at the client"), "{problem}");
    assert!(problem.contains(fed.id("rp2").as_str()), "{problem}");
    assert_eq!(v.client.client_id, rp);
    assert_eq!(v.client.metadata["client_name"], "RP");
}

/// 53, Request Object, with no fallback: the client cannot be resolved on its own, so a
/// header chain of another entity leaves the request without trust.
#[tokio::test]
async fn request_object_for_an_unresolvable_client_is_not_rescued_by_another_chain() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let proto2 = TestKey::generate(KeyAlg::ES256);
    let fed = two_rps(&proto, &proto2);
    let r = resolver(&fed);
    let rp = fed.id("rp");
    // org no longer vouches for rp.
    fed.remove_ss("org", "rp");
    let jwt = sign_request(
        &proto,
        &request_claims(&rp, OP, "nores-1"),
        json!({"trust_chain": fed.chain(&["rp2", "org", "ta"], true)}),
    );
    let e = r
        .verify_request_object(&jwt, &RequestPolicy::new(OP), &MemoryReplayGuard::default())
        .await
        .unwrap_err();
    match &e {
        Error::NoTrustChain { subject, .. } => assert_eq!(*subject, rp),
        other => panic!("expected NoTrustChain for rp, got {other:?}"),
    }
    assert!(!e.is_transient(), "{e}");
}

/// 53, Explicit Registration (EC body): the request EC's `trust_chain` header holding
/// another entity's chain does not make the registration that entity's, and a forged EC
/// for rp signed with rp2's key cannot borrow rp2's chain.
#[tokio::test]
async fn explicit_registration_header_chain_of_another_entity_is_not_used_for_the_rp() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let proto2 = TestKey::generate(KeyAlg::ES256);
    let fed = two_rps(&proto, &proto2);
    let r = resolver(&fed);
    let signer = op_signer();
    let reg = registration(&signer);
    let rp2_chain = fed.chain(&["rp2", "org", "ta"], true);

    let mut ec = claims_of(&fed.entity_configuration("rp"));
    ec.insert("aud".into(), json!(OP));
    let body = resign_statement(&fed.key("rp"), &ec, json!({"trust_chain": rp2_chain}));
    let out = r
        .register_explicit(body.as_bytes(), "application/entity-statement+jwt", &reg)
        .await
        .unwrap();
    let c = claims_of(&out.response);
    assert_eq!(c["sub"], fed.id("rp").as_str());
    assert_eq!(c["aud"], fed.id("rp").as_str());
    let md = &c["metadata"]["openid_relying_party"];
    assert_eq!(md["client_id"], fed.id("rp").as_str());
    assert_eq!(md["client_name"], "RP", "rp's metadata, not rp2's");
    assert_eq!(out.record.client_id, fed.id("rp"));
    assert_eq!(out.record.path[0], fed.id("rp"));
    assert_eq!(
        claims_of(&out.record.trust_chain[0])["sub"],
        fed.id("rp").as_str()
    );

    // A forged request EC for rp, self-signed with rp2's key, carrying rp2's valid chain.
    let mut forged = ec.clone();
    forged.insert("jwks".into(), fed.public_jwks("rp2"));
    let forged = resign_statement(&fed.key("rp2"), &forged, json!({"trust_chain": rp2_chain}));
    let e = r
        .register_explicit(forged.as_bytes(), "application/entity-statement+jwt", &reg)
        .await
        .unwrap_err();
    match &e {
        Error::NoTrustChain { subject, attempts } => {
            assert_eq!(*subject, fed.id("rp"));
            assert!(
                attempts.iter().all(|a| matches!(
                    a.error.rule(),
                    Some(Rule::Signature | Rule::Kid | Rule::ChainLink)
                )),
                "{e}"
            );
        }
        other => panic!("expected NoTrustChain for rp, got {other:?}"),
    }
}

/// 53, Explicit Registration (chain body): a chain whose first element is another entity's
/// valid EC, followed by the statements about rp, is rejected.
#[tokio::test]
async fn explicit_registration_chain_body_starting_at_another_entity_is_rejected() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let proto2 = TestKey::generate(KeyAlg::ES256);
    let fed = two_rps(&proto, &proto2);
    let r = resolver(&fed);
    let signer = op_signer();
    let mut chain = fed.chain(&["rp", "org", "ta"], true);
    chain[0] = fed.entity_configuration("rp2");
    let body = serde_json::to_vec(&chain).unwrap();
    let e = r
        .register_explicit(
            &body,
            "application/trust-chain+json",
            &registration(&signer),
        )
        .await
        .unwrap_err();
    assert_eq!(e.rule(), Some(Rule::ChainLink), "{e}");
}

/// 53, the documented exception (spec-notes §3.5, §4.6): a resolve response may carry a
/// `trust_chain` header that starts at the resolver, not at the response's subject.
#[tokio::test]
async fn resolve_response_header_chain_starting_at_the_resolver_is_accepted() {
    let proto = TestKey::generate(KeyAlg::ES256);
    // The resolver is `op`, a member of the federation under org.
    let fed = FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("org", &["ta"])
        .leaf("rp", &["org"])
        .leaf("op", &["org"])
        .metadata(
            "rp",
            "openid_relying_party",
            json!({"client_name": "RP", "jwks": {"keys": [proto.public_jwk()]}}),
        )
        .metadata("op", "openid_provider", json!({"issuer": "${id}"}))
        .build();
    let r = resolver(&fed);
    let resolved = r.resolve(&fed.id("rp"), &RP).await.unwrap();
    let op = fed.id("op");
    let op_chain = fed.chain(&["op", "org", "ta"], true);
    // The header chain is the resolver's own valid chain to the requested anchor.
    let own = r
        .validate_chain(&op_chain, &EntityType::OPENID_PROVIDER)
        .await
        .unwrap();
    assert_eq!(*own.entity_id(), op);
    assert_eq!(*own.trust_anchor(), fed.id("ta"));

    let claims = json!({
        "iss": op.as_str(),
        "sub": fed.id("rp").as_str(),
        "iat": NOW,
        "exp": resolved.expires_at(),
        "metadata": {"openid_relying_party": resolved.metadata()},
        "trust_chain": resolved.chain().to_jwts(),
    });
    let key = fed.key("op");
    let jwt = key.sign_with_header(
        &json!({"alg": key.alg().name(), "kid": key.kid(), "typ": RESOLVE_RESPONSE_TYP,
                "trust_chain": op_chain}),
        &claims,
    );

    let endpoint = url::Url::parse(&format!("{}/resolve", op.as_str())).unwrap();
    let fetcher = MemoryFetcher::new();
    let mut asked = endpoint.clone();
    asked
        .query_pairs_mut()
        .append_pair("sub", fed.id("rp").as_str())
        .append_pair("trust_anchor", fed.id("ta").as_str())
        .append_pair("entity_type", "openid_relying_party");
    fetcher.insert(
        asked.as_str(),
        FetchResponse::ok("application/resolve-response+jwt", jwt.into_bytes()),
    );
    let client = RemoteResolver::new(
        endpoint,
        op.clone(),
        &fed.public_jwks("op"),
        fetcher,
        FixedClock::new(NOW),
    )
    .unwrap();
    let got = client
        .resolve(&fed.id("rp"), &fed.id("ta"), &RP)
        .await
        .unwrap();
    assert_eq!(got.subject, fed.id("rp"));
    assert_eq!(got.metadata["client_name"], "RP");
    // The subject's chain is the claim; the header's chain (the resolver's) is not it.
    assert_eq!(got.trust_chain, resolved.chain().to_jwts());
    assert_ne!(got.trust_chain[0], op_chain[0]);
}

// ---------------------------------------------------------------------------------------
// 56: trust_chain and peer_trust_chain must end at the same anchor.
// ---------------------------------------------------------------------------------------

/// 56: two configured anchors; rp's `trust_chain` ends at ta, the OP's `peer_trust_chain`
/// (valid) ends at ta2 → the "same trust anchor" error. Ending at ta is accepted.
#[tokio::test]
async fn peer_trust_chain_at_another_valid_anchor_is_rejected() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let fed = three_level()
        .anchor("ta2")
        .leaf("op", &["ta", "ta2"])
        .metadata(
            "rp",
            "openid_relying_party",
            json!({"jwks": {"keys": [proto.public_jwk()]}}),
        )
        .metadata("op", "openid_provider", json!({"issuer": "${id}"}))
        .build();
    let r = builder(&fed, &["ta", "ta2"]).0.build().unwrap();
    let op = fed.id("op");
    let policy = RequestPolicy::new(op.as_str());
    let guard = MemoryReplayGuard::default();
    let rp = fed.id("rp");
    let chain = fed.chain(&["rp", "org", "ta"], true);

    // Both chains are valid on their own.
    let peer_ta2 = fed.chain(&["op", "ta2"], true);
    let p = r
        .validate_chain(&peer_ta2, &EntityType::OPENID_PROVIDER)
        .await
        .unwrap();
    assert_eq!(*p.trust_anchor(), fed.id("ta2"));

    // Same anchor: accepted, the header chain is used.
    let same = sign_request(
        &proto,
        &request_claims(&rp, op.as_str(), "peer-1"),
        json!({"trust_chain": chain, "peer_trust_chain": fed.chain(&["op", "ta"], true)}),
    );
    let v = r
        .verify_request_object(&same, &policy, &guard)
        .await
        .unwrap();
    assert_eq!(v.chain_source, ChainSource::Header);

    // Different anchors: rejected with the same-anchor reason.
    let different = sign_request(
        &proto,
        &request_claims(&rp, op.as_str(), "peer-2"),
        json!({"trust_chain": chain, "peer_trust_chain": peer_ta2}),
    );
    let e = r
        .verify_request_object(&different, &policy, &guard)
        .await
        .unwrap_err();
    assert_eq!(e.spec_code(), "invalid_request", "{e}");
    assert!(matches!(reason_of(&e), RequestError::AnchorMismatch), "{e}");
}

// ---------------------------------------------------------------------------------------
// 105: resolve response exp = min(chain, trust marks).
// ---------------------------------------------------------------------------------------

/// 105: the subject holds a valid trust mark expiring at NOW+600, before its chain
/// (NOW+1 day): the resolve response's `exp` is the mark's.
#[tokio::test]
async fn resolve_response_exp_is_bounded_by_an_earlier_trust_mark() {
    const TYPE: &str = "https://fed.example/tm/certified";
    const TMI: &str = "https://fed.example/tmi";
    let fed = three_level()
        .intermediate("tmi", &["ta"])
        .ec_claim("ta", "trust_mark_issuers", json!({ TYPE: [TMI] }))
        .build();
    let mark_exp = NOW + 600;
    let mark = fed.key("tmi").sign_jwt(
        "trust-mark+jwt",
        &json!({"iss": TMI, "sub": fed.id("rp").as_str(), "trust_mark_type": TYPE,
                "iat": NOW, "exp": mark_exp}),
    );
    let entry = json!([{"trust_mark_type": TYPE, "trust_mark": mark}]);
    fed.republish_ec("rp", |c| {
        c.insert("trust_marks".into(), entry);
    });
    let r = resolver(&fed);
    let resolved = r.resolve(&fed.id("rp"), &RP).await.unwrap();
    assert_eq!(
        resolved.trust_marks().len(),
        1,
        "{:?}",
        resolved.rejected_trust_marks()
    );
    assert_eq!(resolved.chain().expires_at(), NOW + 86_400);
    assert!(mark_exp < resolved.chain().expires_at());

    let signer = op_signer();
    let jwt = resolve_response(&resolved, OP, &signer, NOW).unwrap();
    let c = claims_of(&jwt);
    assert_eq!(
        c["exp"],
        json!(mark_exp),
        "exp = the mark's exp, not the chain's"
    );
    assert_eq!(c["trust_marks"][0]["trust_mark"], json!(mark));
    assert_eq!(c["trust_marks"][0]["trust_mark_type"], TYPE);
    let keys = oidfed::jose::KeySet::from_json(&json!({"keys": [signer.public_jwk()]})).unwrap();
    let jws = oidfed::jose::CompactJws::parse(&jwt).unwrap();
    keys.verify(&jws, signer.alg(), signer.kid(), "op").unwrap();
}

// ---------------------------------------------------------------------------------------
// 107: a Request Object without exp.
// ---------------------------------------------------------------------------------------

/// 107: `exp` removed (with a fresh `jti`): invalid_request. With `exp` it is accepted.
#[tokio::test]
async fn request_object_without_exp_is_rejected() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let proto2 = TestKey::generate(KeyAlg::ES256);
    let fed = two_rps(&proto, &proto2);
    let r = resolver(&fed);
    let policy = RequestPolicy::new(OP);
    let guard = MemoryReplayGuard::default();
    let rp = fed.id("rp");

    let ok = sign_request(&proto, &request_claims(&rp, OP, "exp-1"), json!({}));
    r.verify_request_object(&ok, &policy, &guard).await.unwrap();

    let mut c = request_claims(&rp, OP, "exp-2");
    c.remove("exp");
    let e = r
        .verify_request_object(&sign_request(&proto, &c, json!({})), &policy, &guard)
        .await
        .unwrap_err();
    assert_eq!(e.spec_code(), "invalid_request", "{e}");
    assert!(
        matches!(reason_of(&e), RequestError::Missing { name: "exp" }),
        "{e}"
    );

    // A non-integer exp counts as missing too.
    let mut c = request_claims(&rp, OP, "exp-3");
    c.insert("exp".into(), json!("soon"));
    let e = r
        .verify_request_object(&sign_request(&proto, &c, json!({})), &policy, &guard)
        .await
        .unwrap_err();
    assert!(
        matches!(reason_of(&e), RequestError::Missing { name: "exp" }),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------
// 110: failed trust for client_id (Request Object and PAR client authentication).
// ---------------------------------------------------------------------------------------

/// 110 (partial): when the client's trust cannot be established, the Request Object and
/// the `private_key_jwt` assertion (PAR client authentication) both fail with a trust error
/// about the client, before any claim of the request (such as `redirect_uri`) is returned.
/// The library has no explicit "do not redirect" flag: any error here means "do not
/// redirect" (§12.1.3).
#[tokio::test]
async fn failed_trust_for_the_client_id_is_a_trust_error_in_both_paths() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let proto2 = TestKey::generate(KeyAlg::ES256);
    let fed = two_rps(&proto, &proto2);
    let r = resolver(&fed);
    let rp = fed.id("rp");
    // org's statement about rp now has a bad signature: trust cannot be established.
    let ss = fed.subordinate_statement("org", "rp");
    let mut parts: Vec<String> = ss.split('.').map(str::to_string).collect();
    parts[2] = fed
        .key("rp2")
        .sign_jwt("entity-statement+jwt", &Value::Object(claims_of(&ss)))
        .split('.')
        .nth(2)
        .unwrap()
        .to_string();
    fed.publish_raw_ss("org", "rp", &parts.join("."));
    let mut policy = RequestPolicy::new(OP);
    policy.assertion_audiences.push(format!("{OP}/par"));
    let guard = MemoryReplayGuard::default();

    let ro = sign_request(&proto, &request_claims(&rp, OP, "par-ro-1"), json!({}));
    let e = r
        .verify_request_object(&ro, &policy, &guard)
        .await
        .unwrap_err();
    match &e {
        Error::NoTrustChain { subject, .. } => assert_eq!(*subject, rp),
        other => panic!("expected NoTrustChain for rp, got {other:?}"),
    }
    assert_eq!(e.spec_code(), "invalid_trust_chain", "{e}");
    assert!(!e.is_transient());

    let assertion = proto.sign_jwt(
        "JWT",
        &json!({"iss": rp.as_str(), "sub": rp.as_str(), "aud": format!("{OP}/par"),
                "jti": "par-a-1", "exp": NOW + 60}),
    );
    let e = r
        .verify_client_assertion(&assertion, &policy, &guard)
        .await
        .unwrap_err();
    match &e {
        Error::NoTrustChain { subject, .. } => assert_eq!(*subject, rp),
        other => panic!("expected NoTrustChain for rp, got {other:?}"),
    }
    assert_eq!(e.spec_code(), "invalid_trust_chain", "{e}");
}

// ---------------------------------------------------------------------------------------
// 112: Explicit Registration: aud, and peer_trust_chain with a chain body.
// ---------------------------------------------------------------------------------------

/// 112: an `application/trust-chain+json` body whose first element carries a
/// `peer_trust_chain` header is rejected; the same chain without the header registers.
#[tokio::test]
async fn trust_chain_body_with_peer_trust_chain_on_the_first_element_is_rejected() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let proto2 = TestKey::generate(KeyAlg::ES256);
    let fed = two_rps(&proto, &proto2);
    let r = resolver(&fed);
    let signer = op_signer();
    let reg = registration(&signer);
    let ec = claims_of(&fed.entity_configuration("rp"));
    let peer = fed.chain(&["org", "ta"], true);

    let mut chain = fed.chain(&["rp", "org", "ta"], true);
    chain[0] = resign_statement(&fed.key("rp"), &ec, json!({}));
    let out = r
        .register_explicit(
            &serde_json::to_vec(&chain).unwrap(),
            "application/trust-chain+json",
            &reg,
        )
        .await
        .unwrap();
    assert_eq!(claims_of(&out.response)["sub"], fed.id("rp").as_str());

    for extra in [
        json!({"peer_trust_chain": peer}),
        json!({"trust_chain": fed.chain(&["rp", "org", "ta"], true), "peer_trust_chain": peer}),
    ] {
        chain[0] = resign_statement(&fed.key("rp"), &ec, extra);
        let e = r
            .register_explicit(
                &serde_json::to_vec(&chain).unwrap(),
                "application/trust-chain+json",
                &reg,
            )
            .await
            .unwrap_err();
        assert_eq!(e.rule(), Some(Rule::TrustChainHeader), "{e}");
    }
}

/// 112: an EC body whose `aud` is another server (or an array with another server) is
/// refused with the audience rule; without `aud` it is refused as well.
#[tokio::test]
async fn explicit_registration_aud_must_be_exactly_this_server() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let proto2 = TestKey::generate(KeyAlg::ES256);
    let fed = two_rps(&proto, &proto2);
    let r = resolver(&fed);
    let signer = op_signer();
    let reg = registration(&signer);
    let ec = claims_of(&fed.entity_configuration("rp"));
    let body = |aud: Option<Value>| {
        let mut c = ec.clone();
        if let Some(a) = aud {
            c.insert("aud".into(), a);
        }
        resign_statement(&fed.key("rp"), &c, json!({}))
    };
    r.register_explicit(
        body(Some(json!(OP))).as_bytes(),
        "application/entity-statement+jwt",
        &reg,
    )
    .await
    .unwrap();
    for aud in [
        json!("https://other.example"),
        json!([OP, "https://other.example"]),
    ] {
        let e = r
            .register_explicit(
                body(Some(aud)).as_bytes(),
                "application/entity-statement+jwt",
                &reg,
            )
            .await
            .unwrap_err();
        assert_eq!(e.rule(), Some(Rule::Audience), "{e}");
    }
    let e = r
        .register_explicit(
            body(None).as_bytes(),
            "application/entity-statement+jwt",
            &reg,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(reason_of(&e), RequestError::WrongAudience { expected } if expected == OP),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------
// peer_trust_chain is the server's own chain: it starts here (§12.1.1.1.1, §12.2.2 step 6).
// ---------------------------------------------------------------------------------------

/// Request Object: a valid `peer_trust_chain` of another OP, at the same anchor, is refused.
#[tokio::test]
async fn request_object_peer_trust_chain_of_another_server_is_rejected() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let fed = three_level()
        .leaf("op", &["ta"])
        .leaf("op2", &["ta"])
        .metadata(
            "rp",
            "openid_relying_party",
            json!({"jwks": {"keys": [proto.public_jwk()]}}),
        )
        .metadata("op", "openid_provider", json!({"issuer": "${id}"}))
        .metadata("op2", "openid_provider", json!({"issuer": "${id}"}))
        .build();
    let r = resolver(&fed);
    let op = fed.id("op");
    let policy = RequestPolicy::new(op.as_str());
    let guard = MemoryReplayGuard::default();
    let rp = fed.id("rp");
    let chain = fed.chain(&["rp", "org", "ta"], true);
    let ours = sign_request(
        &proto,
        &request_claims(&rp, op.as_str(), "peer-own"),
        json!({"trust_chain": chain, "peer_trust_chain": fed.chain(&["op", "ta"], true)}),
    );
    r.verify_request_object(&ours, &policy, &guard)
        .await
        .expect("our own peer chain");
    let theirs = sign_request(
        &proto,
        &request_claims(&rp, op.as_str(), "peer-other"),
        json!({"trust_chain": chain, "peer_trust_chain": fed.chain(&["op2", "ta"], true)}),
    );
    let e = r
        .verify_request_object(&theirs, &policy, &guard)
        .await
        .unwrap_err();
    assert!(
        matches!(reason_of(&e), RequestError::PeerChainNotForServer { .. }),
        "{e}"
    );
}

/// Explicit Registration with an EC body: the `peer_trust_chain` is validated, must start at
/// this server and must end at the RP's anchor.
#[tokio::test]
async fn explicit_registration_peer_trust_chain_is_validated() {
    let fed = three_level()
        .anchor("ta2")
        .leaf("op", &["ta", "ta2"])
        .leaf("op2", &["ta"])
        .metadata("op", "openid_provider", json!({"issuer": "${id}"}))
        .metadata("op2", "openid_provider", json!({"issuer": "${id}"}))
        .build();
    let r = builder(&fed, &["ta", "ta2"]).0.build().unwrap();
    let signer = op_signer();
    let op = fed.id("op");
    let reg = ExplicitRegistration {
        our_entity_id: op.as_str(),
        ..registration(&signer)
    };
    let chain = fed.chain(&["rp", "org", "ta"], true);
    let mut ec = claims_of(&fed.entity_configuration("rp"));
    ec.insert("aud".into(), json!(op.as_str()));
    let body = |peer: Vec<String>| {
        resign_statement(
            &fed.key("rp"),
            &ec,
            json!({"trust_chain": chain, "peer_trust_chain": peer}),
        )
    };
    let register = |b: String| {
        let r = &r;
        let reg = &reg;
        async move {
            r.register_explicit(b.as_bytes(), "application/entity-statement+jwt", reg)
                .await
        }
    };
    // Ours, at the same anchor: registered.
    register(body(fed.chain(&["op", "ta"], true)))
        .await
        .expect("our peer chain at rp's anchor");
    // Ours, at another anchor.
    let e = register(body(fed.chain(&["op", "ta2"], true)))
        .await
        .unwrap_err();
    assert!(matches!(reason_of(&e), RequestError::AnchorMismatch), "{e}");
    // Another server's chain.
    let e = register(body(fed.chain(&["op2", "ta"], true)))
        .await
        .unwrap_err();
    assert!(
        matches!(reason_of(&e), RequestError::PeerChainNotForServer { .. }),
        "{e}"
    );
    // Not a valid chain at all (tampered: the anchor's EC dropped and the statement order
    // broken).
    let mut broken = fed.chain(&["op", "ta"], true);
    broken.reverse();
    let e = register(body(broken)).await.unwrap_err();
    assert!(
        matches!(
            reason_of(&e),
            RequestError::PeerChainInvalid { source: Some(_) }
        ),
        "{e}"
    );
}

/// §8.3 (spec-notes §3.5): a resolve response's `trust_chain` header is the resolver's own
/// chain; it must start at the resolver and end at the requested anchor.
#[tokio::test]
async fn resolve_response_header_chain_must_start_at_the_resolver_and_end_at_the_anchor() {
    let fed = three_level()
        .anchor("ta2")
        .leaf("op", &["org", "ta2"])
        .metadata("op", "openid_provider", json!({"issuer": "${id}"}))
        .build();
    let r = resolver(&fed);
    let resolved = r.resolve(&fed.id("rp"), &RP).await.unwrap();
    let op = fed.id("op");
    let endpoint = url::Url::parse(&format!("{}/resolve", op.as_str())).unwrap();
    let mut asked = endpoint.clone();
    asked
        .query_pairs_mut()
        .append_pair("sub", fed.id("rp").as_str())
        .append_pair("trust_anchor", fed.id("ta").as_str())
        .append_pair("entity_type", "openid_relying_party");
    let fetcher = MemoryFetcher::new();
    let client = RemoteResolver::new(
        endpoint,
        op.clone(),
        &fed.public_jwks("op"),
        fetcher.clone(),
        FixedClock::new(NOW),
    )
    .unwrap();
    let key = fed.key("op");
    let answer_with = |header_chain: Vec<String>| {
        let claims = json!({
            "iss": op.as_str(), "sub": fed.id("rp").as_str(), "iat": NOW,
            "exp": resolved.expires_at(),
            "metadata": {"openid_relying_party": resolved.metadata()},
            "trust_chain": resolved.chain().to_jwts(),
        });
        let jwt = key.sign_with_header(
            &json!({"alg": key.alg().name(), "kid": key.kid(), "typ": RESOLVE_RESPONSE_TYP,
                    "trust_chain": header_chain}),
            &claims,
        );
        fetcher.insert(
            asked.as_str(),
            FetchResponse::ok("application/resolve-response+jwt", jwt.into_bytes()),
        );
    };
    // The resolver's chain to the requested anchor: accepted.
    answer_with(fed.chain(&["op", "org", "ta"], true));
    client
        .resolve(&fed.id("rp"), &fed.id("ta"), &RP)
        .await
        .expect("header chain to the requested anchor");
    // The resolver's chain to another anchor.
    answer_with(fed.chain(&["op", "ta2"], true));
    let e = client
        .resolve(&fed.id("rp"), &fed.id("ta"), &RP)
        .await
        .unwrap_err();
    assert!(
        matches!(
            reason_of(&e),
            RequestError::ResolveResponse(ResponseProblem::HeaderChainWrongAnchor { .. })
        ),
        "{e}"
    );
    // A chain that is not the resolver's (the subject's own).
    answer_with(fed.chain(&["rp", "org", "ta"], true));
    let e = client
        .resolve(&fed.id("rp"), &fed.id("ta"), &RP)
        .await
        .unwrap_err();
    assert!(
        matches!(
            reason_of(&e),
            RequestError::ResolveResponse(ResponseProblem::HeaderChainNotFromResolver)
        ),
        "{e}"
    );
}

/// A resolve response's `iat`/`exp` are NumericDates judged like a statement's (issue 13,
/// next to item 3): an answer issued in the future, or with a non-number `exp`, is refused;
/// a fractional `exp` in the future is accepted.
#[tokio::test]
async fn resolve_response_times_follow_the_statement_rule() {
    let fed = three_level()
        .leaf("op", &["ta"])
        .metadata("op", "openid_provider", json!({"issuer": "${id}"}))
        .build();
    let r = resolver(&fed);
    let resolved = r.resolve(&fed.id("rp"), &RP).await.unwrap();
    let op = fed.id("op");
    let endpoint = url::Url::parse(&format!("{}/resolve", op.as_str())).unwrap();
    let mut asked = endpoint.clone();
    asked
        .query_pairs_mut()
        .append_pair("sub", fed.id("rp").as_str())
        .append_pair("trust_anchor", fed.id("ta").as_str())
        .append_pair("entity_type", "openid_relying_party");
    let fetcher = MemoryFetcher::new();
    let client = RemoteResolver::new(
        endpoint,
        op.clone(),
        &fed.public_jwks("op"),
        fetcher.clone(),
        FixedClock::new(NOW),
    )
    .unwrap();
    let key = fed.key("op");
    let answer_with = |iat: Value, exp: Value| {
        let claims = json!({
            "iss": op.as_str(), "sub": fed.id("rp").as_str(), "iat": iat, "exp": exp,
            "metadata": {"openid_relying_party": resolved.metadata()},
            "trust_chain": resolved.chain().to_jwts(),
        });
        let jwt = key.sign_jwt(RESOLVE_RESPONSE_TYP, &claims);
        fetcher.insert(
            asked.as_str(),
            FetchResponse::ok("application/resolve-response+jwt", jwt.into_bytes()),
        );
    };
    let (rp, ta, rp_type) = (fed.id("rp"), fed.id("ta"), RP);
    let ask = || client.resolve(&rp, &ta, &rp_type);
    answer_with(json!(NOW), json!(NOW as f64 + 600.5));
    ask().await.expect("fractional exp in the future");
    answer_with(json!(NOW + 3600), json!(NOW + 7200));
    let e = ask().await.unwrap_err();
    assert!(
        matches!(
            reason_of(&e),
            RequestError::ResolveResponse(ResponseProblem::NotValidNow {
                rule: Rule::IssuedAt,
                ..
            })
        ),
        "{e}"
    );
    answer_with(json!(NOW), json!("later"));
    let e = ask().await.unwrap_err();
    assert!(
        matches!(
            reason_of(&e),
            RequestError::ResolveResponse(ResponseProblem::MalformedDate { detail })
                if detail.contains("exp is not a number")
        ),
        "{e}"
    );
}
