//! `peer_trust_chain`: it is the server's own chain, must start at this server and end at
//! the same anchor as the client's `trust_chain`; it is refused on the first element of a
//! chain body.

mod common;
#[path = "common/server_edges.rs"]
mod server_support;

use common::*;
use oidfed::server::{ChainSource, ExplicitRegistration, MemoryReplayGuard, RequestPolicy};
use oidfed::testing::{KeyAlg, TestKey};
use oidfed::{EntityType, RequestError, Rule};
use serde_json::json;
use server_support::*;

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
        .resolve_received_chain(&peer_ta2, &EntityType::OPENID_PROVIDER)
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
// 112: Explicit Registration: aud, and peer_trust_chain with a chain body.
// ---------------------------------------------------------------------------------------

/// 112: an `application/trust-chain+json` body whose first element carries a
/// `peer_trust_chain` header is rejected; the same chain without the header registers.
#[tokio::test]
async fn trust_chain_body_with_peer_trust_chain_on_the_first_element_is_rejected() {
    let TwoRps { fed, r, .. } = two_rps_setup();
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
