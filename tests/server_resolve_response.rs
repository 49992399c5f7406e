//! Resolve responses: `exp` bounded by an earlier trust mark, the `trust_chain` header
//! starting at the resolver and ending at the requested anchor, and `iat`/`exp` judged like
//! a statement's NumericDates.

mod common;
#[path = "common/server_edges.rs"]
mod server_support;

use common::*;
use oidfed::error::ResponseProblem;
use oidfed::fetch::{FetchResponse, MemoryFetcher};
use oidfed::server::{RESOLVE_RESPONSE_TYP, RemoteResolver, resolve_response};
use oidfed::signer::Signer;
use oidfed::testing::Federation;
use oidfed::{FixedClock, RequestError, Rule};
use serde_json::{Value, json};
use server_support::*;

/// A [`RemoteResolver`] for `op`'s resolve endpoint over an empty [`MemoryFetcher`] (the
/// test serves each answer), and the URL it asks for rp's resolution under `ta`.
fn remote_resolver(fed: &Federation) -> (RemoteResolver, MemoryFetcher, url::Url) {
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
        op,
        &fed.public_jwks("op"),
        fetcher.clone(),
        FixedClock::new(NOW),
    )
    .unwrap();
    (client, fetcher, asked)
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

/// §8.3: a resolve response's `trust_chain` header is the resolver's own
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
    let (client, fetcher, asked) = remote_resolver(&fed);
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
    let (client, fetcher, asked) = remote_resolver(&fed);
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
