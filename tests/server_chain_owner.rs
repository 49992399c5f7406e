//! A received trust chain must start at the entity it proves: a Request Object's or an
//! Explicit Registration's chain of another entity is not used; a resolve response's header
//! chain is the exception, starting at the resolver.

mod common;
#[path = "common/server_edges.rs"]
mod server_support;

use common::*;
use oidfed::fetch::{FetchResponse, MemoryFetcher};
use oidfed::server::{
    ChainSource, MemoryReplayGuard, RESOLVE_RESPONSE_TYP, RemoteResolver, RequestPolicy,
};
use oidfed::testing::{FederationBuilder, KeyAlg, TestKey};
use oidfed::{EntityType, Error, FixedClock, RequestError, Rule};
use serde_json::json;
use server_support::*;

// ---------------------------------------------------------------------------------------
// 53: a received chain must start at the entity it proves.
// ---------------------------------------------------------------------------------------

/// 53, Request Object: a `trust_chain` header that is another entity's (rp2's) valid chain
/// is not used for the client `rp`.
#[tokio::test]
async fn request_object_header_chain_of_another_entity_is_not_used_for_the_client() {
    let TwoRps {
        proto,
        proto2,
        fed,
        r,
        policy,
        guard,
    } = two_rps_setup();
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
    let TwoRps { proto, fed, r, .. } = two_rps_setup();
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
    let TwoRps { fed, r, .. } = two_rps_setup();
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
    let TwoRps { fed, r, .. } = two_rps_setup();
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

/// 53, the documented exception (§8.3, §4.3): a resolve response may carry a
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
        .resolve_received_chain(&op_chain, &EntityType::OPENID_PROVIDER)
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
