//! Trust marks (OpenID Federation 1.0 §7).

mod common;

use std::sync::Arc;

use common::*;
use oidfed::error::RequiredMarkProblem;
use oidfed::fetch::FetchResponse;
use oidfed::testing::{Federation, FederationBuilder, KeyAlg, TestKey};
use oidfed::trust_mark::{MarkValidation, StatusCheck};
use oidfed::{EntityType, Error};
use serde_json::{Value, json};

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;
const TYPE: &str = "https://fed.example/tm/certified";
const TMI: &str = "https://fed.example/tmi";
const STATUS: &str = "https://fed.example/tmi/status";

/// ta ← org ← rp, and a trust mark issuer `tmi` under ta, accepted by ta for TYPE.
fn marked() -> FederationBuilder {
    three_level()
        .intermediate("tmi", &["ta"])
        .metadata(
            "tmi",
            "federation_entity",
            json!({"federation_trust_mark_status_endpoint": STATUS}),
        )
        .ec_claim("ta", "trust_mark_issuers", json!({ TYPE: [TMI] }))
}

fn mark_claims(sub: &str, typ: &str) -> serde_json::Map<String, Value> {
    json!({"iss": TMI, "sub": sub, "trust_mark_type": typ, "iat": NOW, "exp": NOW + 600})
        .as_object()
        .unwrap()
        .clone()
}

/// Puts a mark signed by `key` with `claims` into rp's configuration.
fn publish_mark(fed: &Federation, key: &TestKey, claims: serde_json::Map<String, Value>) {
    let declared = claims["trust_mark_type"]
        .as_str()
        .unwrap_or(TYPE)
        .to_string();
    let jwt = key.sign_jwt("trust-mark+jwt", &Value::Object(claims));
    fed.republish_ec("rp", |c| {
        c.insert(
            "trust_marks".into(),
            json!([{"trust_mark_type": declared, "trust_mark": jwt}]),
        );
    });
}

async fn resolve(fed: &Federation) -> oidfed::ResolvedEntity {
    resolver(fed).resolve(&fed.id("rp"), &RP).await.unwrap()
}

#[tokio::test]
async fn valid_mark_is_listed_and_bounds_the_expiry() {
    let fed = marked().build();
    publish_mark(
        &fed,
        &fed.key("tmi"),
        mark_claims(fed.id("rp").as_str(), TYPE),
    );
    let r = resolve(&fed).await;
    assert_eq!(r.trust_marks().len(), 1, "{:?}", r.rejected_trust_marks());
    let m = &r.trust_marks()[0];
    assert_eq!(m.trust_mark_type, TYPE);
    assert_eq!(m.issuer, fed.id("tmi"));
    assert_eq!(m.validation, MarkValidation::Signature);
    assert_eq!(r.expires_at(), NOW + 600, "min(chain, mark exp)");
    // The record carries it too.
    let rec = resolver(&fed).record(&fed.id("rp"), &RP).await.unwrap();
    assert_eq!(rec.trust_marks.len(), 1);
    assert_eq!(rec.expires_at, NOW + 600);
}

#[tokio::test]
async fn builder_issued_mark_validates() {
    let fed = marked().trust_mark("tmi", "rp", TYPE).build();
    let r = resolve(&fed).await;
    assert_eq!(r.trust_marks().len(), 1, "{:?}", r.rejected_trust_marks());
}

async fn rejected_reason(fed: &Federation) -> String {
    let r = resolve(fed).await;
    assert!(
        r.trust_marks().is_empty(),
        "accepted: {:?}",
        r.trust_marks()
    );
    assert_eq!(r.rejected_trust_marks().len(), 1);
    r.rejected_trust_marks()[0].reason.clone()
}

#[tokio::test]
async fn expired_mark_is_rejected() {
    let fed = marked().build();
    let mut c = mark_claims(fed.id("rp").as_str(), TYPE);
    c.insert("exp".into(), json!(NOW - 120));
    publish_mark(&fed, &fed.key("tmi"), c);
    assert!(rejected_reason(&fed).await.contains("expired"));
}

#[tokio::test]
async fn mark_without_exp_does_not_expire() {
    let fed = marked().build();
    let mut c = mark_claims(fed.id("rp").as_str(), TYPE);
    c.remove("exp");
    publish_mark(&fed, &fed.key("tmi"), c);
    let r = resolve(&fed).await;
    assert_eq!(r.trust_marks().len(), 1);
    assert_eq!(r.expires_at(), r.chain().expires_at());
}

#[tokio::test]
async fn mark_about_another_subject_is_rejected() {
    let fed = marked().build();
    publish_mark(
        &fed,
        &fed.key("tmi"),
        mark_claims(fed.id("org").as_str(), TYPE),
    );
    assert!(rejected_reason(&fed).await.contains("sub"));
}

#[tokio::test]
async fn mark_of_a_type_the_anchor_does_not_recognise_is_rejected() {
    let fed = marked().build();
    publish_mark(
        &fed,
        &fed.key("tmi"),
        mark_claims(fed.id("rp").as_str(), "https://other/tm"),
    );
    assert!(rejected_reason(&fed).await.contains("recognise"));
}

#[tokio::test]
async fn mark_type_mismatch_between_entry_and_jwt_rejects_the_ec() {
    let fed = marked().build();
    let jwt = fed.key("tmi").sign_jwt(
        "trust-mark+jwt",
        &Value::Object(mark_claims(fed.id("rp").as_str(), TYPE)),
    );
    fed.republish_ec("rp", |c| {
        c.insert(
            "trust_marks".into(),
            json!([{"trust_mark_type": "https://other/tm", "trust_mark": jwt}]),
        );
    });
    let e = resolver(&fed)
        .resolve(&fed.id("rp"), &RP)
        .await
        .unwrap_err();
    assert_eq!(e.rule(), Some(oidfed::Rule::TrustMarks), "{e}");
}

#[tokio::test]
async fn issuer_not_allowed_by_the_anchor_is_rejected() {
    let fed = marked().intermediate("tmi2", &["ta"]).build();
    let mut c = mark_claims(fed.id("rp").as_str(), TYPE);
    c.insert("iss".into(), json!(fed.id("tmi2").as_str()));
    publish_mark(&fed, &fed.key("tmi2"), c);
    assert!(
        rejected_reason(&fed)
            .await
            .contains("not an issuer the trust anchor accepts")
    );
}

#[tokio::test]
async fn empty_issuer_list_means_anyone() {
    let fed = marked()
        .intermediate("tmi2", &["ta"])
        .ec_claim("ta", "trust_mark_issuers", json!({ TYPE: [] }))
        .build();
    let mut c = mark_claims(fed.id("rp").as_str(), TYPE);
    c.insert("iss".into(), json!(fed.id("tmi2").as_str()));
    publish_mark(&fed, &fed.key("tmi2"), c);
    assert_eq!(resolve(&fed).await.trust_marks().len(), 1);
}

#[tokio::test]
async fn issuer_without_a_chain_to_the_anchor_is_rejected() {
    // tmi is recognised by name, but it sits under a rogue anchor.
    let fed = marked().build();
    fed.remove_ss("ta", "tmi");
    publish_mark(
        &fed,
        &fed.key("tmi"),
        mark_claims(fed.id("rp").as_str(), TYPE),
    );
    assert!(rejected_reason(&fed).await.contains("no"), "issuer chain");
}

#[tokio::test]
async fn mark_with_a_bad_signature_is_rejected() {
    let fed = marked().build();
    let impostor = TestKey::generate(KeyAlg::ES256);
    let claims = Value::Object(mark_claims(fed.id("rp").as_str(), TYPE));
    let jwt = impostor.sign_with_header(
        &json!({"alg": "ES256", "typ": "trust-mark+jwt", "kid": fed.key("tmi").kid()}),
        &claims,
    );
    fed.republish_ec("rp", |c| {
        c.insert(
            "trust_marks".into(),
            json!([{"trust_mark_type": TYPE, "trust_mark": jwt}]),
        );
    });
    assert!(rejected_reason(&fed).await.contains("signature"));
}

#[tokio::test]
async fn mark_with_wrong_typ_is_rejected() {
    let fed = marked().build();
    let jwt = fed.key("tmi").sign_jwt(
        "entity-statement+jwt",
        &Value::Object(mark_claims(fed.id("rp").as_str(), TYPE)),
    );
    fed.republish_ec("rp", |c| {
        c.insert(
            "trust_marks".into(),
            json!([{"trust_mark_type": TYPE, "trust_mark": jwt}]),
        );
    });
    assert!(rejected_reason(&fed).await.contains("typ"));
}

fn delegated(owner: &TestKey) -> Federation {
    marked()
        .ec_claim(
            "ta",
            "trust_mark_owners",
            json!({ TYPE: {"sub": "https://owner.example", "jwks": {"keys": [owner.public_jwk()]}} }),
        )
        .build()
}

fn delegation(owner: &TestKey, sub: &str) -> String {
    owner.sign_jwt(
        "trust-mark-delegation+jwt",
        &json!({"iss": "https://owner.example", "sub": sub, "trust_mark_type": TYPE, "iat": NOW}),
    )
}

#[tokio::test]
async fn delegated_mark_valid_and_with_bad_or_missing_delegation() {
    let owner = TestKey::generate(KeyAlg::ES256);
    let fed = delegated(&owner);
    let rp = fed.id("rp");
    // Valid delegation.
    let mut c = mark_claims(rp.as_str(), TYPE);
    c.insert("delegation".into(), json!(delegation(&owner, TMI)));
    publish_mark(&fed, &fed.key("tmi"), c);
    let r = resolve(&fed).await;
    assert_eq!(r.trust_marks().len(), 1, "{:?}", r.rejected_trust_marks());
    assert_eq!(r.trust_marks()[0].validation, MarkValidation::Delegated);
    // Missing delegation.
    publish_mark(&fed, &fed.key("tmi"), mark_claims(rp.as_str(), TYPE));
    assert!(rejected_reason(&fed).await.contains("delegation"));
    // Delegation to someone else.
    let mut c = mark_claims(rp.as_str(), TYPE);
    c.insert(
        "delegation".into(),
        json!(delegation(&owner, "https://someone.else")),
    );
    publish_mark(&fed, &fed.key("tmi"), c);
    assert!(rejected_reason(&fed).await.contains("delegation"));
    // Delegation signed by a key that is not the owner's.
    let forger = TestKey::generate(KeyAlg::ES256);
    let mut c = mark_claims(rp.as_str(), TYPE);
    c.insert("delegation".into(), json!(delegation(&forger, TMI)));
    publish_mark(&fed, &fed.key("tmi"), c);
    assert!(rejected_reason(&fed).await.contains("delegation"));
}

fn status_endpoint(fed: &Federation, status: &'static str) {
    let key = fed.key("tmi");
    fed.fetcher().insert_handler(
        STATUS,
        Arc::new(move |req| {
            let tm = req
                .form
                .iter()
                .find(|(k, _)| k == "trust_mark")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let jwt = key.sign_jwt(
                "trust-mark-status-response+jwt",
                &json!({"iss": TMI, "iat": NOW, "trust_mark": tm, "status": status}),
            );
            FetchResponse::ok(
                "application/trust-mark-status-response+jwt",
                jwt.into_bytes(),
            )
        }),
    );
}

#[tokio::test]
async fn status_endpoint_active_and_revoked() {
    let fed = marked().build();
    publish_mark(
        &fed,
        &fed.key("tmi"),
        mark_claims(fed.id("rp").as_str(), TYPE),
    );
    let (b, _) = builder(&fed, &["ta"]);
    let r = b.trust_mark_status(StatusCheck::Always).build().unwrap();
    status_endpoint(&fed, "active");
    let got = r.resolve(&fed.id("rp"), &RP).await.unwrap();
    assert_eq!(
        got.trust_marks().len(),
        1,
        "{:?}",
        got.rejected_trust_marks()
    );
    assert!(got.trust_marks()[0].status_checked);
    status_endpoint(&fed, "revoked");
    let got = r.resolve(&fed.id("rp"), &RP).await.unwrap();
    assert!(got.trust_marks().is_empty());
    assert!(got.rejected_trust_marks()[0].reason.contains("revoked"));
    // An unknown mark: 404 at the status endpoint.
    fed.fetcher()
        .insert(STATUS, FetchResponse::error(404, "not_found", "unknown"));
    let got = r.resolve(&fed.id("rp"), &RP).await.unwrap();
    assert!(got.trust_marks().is_empty());
}

#[tokio::test]
async fn required_mark_missing_or_invalid_fails_resolution() {
    let fed = marked().build();
    let (b, _) = builder(&fed, &["ta"]);
    let r = b.require_trust_marks(&[TYPE]).build().unwrap();
    let e = r.resolve(&fed.id("rp"), &RP).await.unwrap_err();
    assert!(
        matches!(
            &e,
            Error::TrustMarkRequired {
                reason: RequiredMarkProblem::Missing,
                ..
            }
        ),
        "{e}"
    );
    let mut c = mark_claims(fed.id("rp").as_str(), TYPE);
    c.insert("exp".into(), json!(NOW - 3600));
    publish_mark(&fed, &fed.key("tmi"), c);
    r.clear_caches();
    let e = r.resolve(&fed.id("rp"), &RP).await.unwrap_err();
    assert!(
        matches!(
            &e,
            Error::TrustMarkRequired {
                reason: RequiredMarkProblem::Invalid(_),
                ..
            }
        ),
        "{e}"
    );
    publish_mark(
        &fed,
        &fed.key("tmi"),
        mark_claims(fed.id("rp").as_str(), TYPE),
    );
    r.clear_caches();
    r.resolve(&fed.id("rp"), &RP).await.unwrap();
}

#[tokio::test]
async fn non_anchor_trust_mark_issuers_claim_is_ignored() {
    // The leaf lists itself as an issuer: only the anchor's claim counts.
    let fed = three_level().intermediate("tmi", &["ta"]).build();
    fed.republish_ec("org", |c| {
        c.insert("trust_mark_issuers".into(), json!({ TYPE: [] }));
    });
    publish_mark(
        &fed,
        &fed.key("tmi"),
        mark_claims(fed.id("rp").as_str(), TYPE),
    );
    assert!(rejected_reason(&fed).await.contains("recognise"));
}

#[tokio::test]
async fn anchor_issued_mark() {
    let fed = FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .leaf("rp", &["ta"])
        .metadata("rp", "openid_relying_party", json!({}))
        .ec_claim(
            "ta",
            "trust_mark_issuers",
            json!({ TYPE: ["https://fed.example/ta"] }),
        )
        .trust_mark("ta", "rp", TYPE)
        .build();
    let r = resolve(&fed).await;
    assert_eq!(r.trust_marks().len(), 1, "{:?}", r.rejected_trust_marks());
}

/// Puts an already signed mark into rp's configuration.
fn publish_mark_jwt(fed: &Federation, jwt: String) {
    fed.republish_ec("rp", |c| {
        c.insert(
            "trust_marks".into(),
            json!([{"trust_mark_type": TYPE, "trust_mark": jwt}]),
        );
    });
}

#[tokio::test]
async fn mark_without_typ_or_with_alg_none_is_rejected() {
    let fed = marked().build();
    let key = fed.key("tmi");
    let claims = Value::Object(mark_claims(fed.id("rp").as_str(), TYPE));
    // No `typ` header at all.
    let no_typ = key.sign_with_header(&json!({"alg": key.alg().name(), "kid": key.kid()}), &claims);
    publish_mark_jwt(&fed, no_typ);
    assert!(rejected_reason(&fed).await.contains("typ"));
    // `alg: none` with an empty signature.
    let header = json!({"alg": "none", "kid": key.kid(), "typ": "trust-mark+jwt"});
    let none = format!(
        "{}.{}.",
        oidfed::jose::b64url(header.to_string().as_bytes()),
        oidfed::jose::b64url(claims.to_string().as_bytes())
    );
    publish_mark_jwt(&fed, none);
    let reason = rejected_reason(&fed).await;
    assert!(
        reason.contains("none") || reason.contains("alg"),
        "{reason}"
    );
}

#[tokio::test]
async fn delegation_from_the_wrong_issuer_or_with_the_wrong_typ_is_rejected() {
    let owner = TestKey::generate(KeyAlg::ES256);
    let fed = delegated(&owner);
    let rp = fed.id("rp");
    // `iss` of the delegation is not the owner's `sub` (signed with the owner's key).
    let wrong_iss = owner.sign_jwt(
        "trust-mark-delegation+jwt",
        &json!({"iss": "https://not-the-owner.example", "sub": TMI, "trust_mark_type": TYPE, "iat": NOW}),
    );
    let mut c = mark_claims(rp.as_str(), TYPE);
    c.insert("delegation".into(), json!(wrong_iss));
    publish_mark(&fed, &fed.key("tmi"), c);
    assert!(rejected_reason(&fed).await.contains("delegation"));
    // Right claims, wrong `typ`.
    let wrong_typ = owner.sign_jwt(
        "trust-mark+jwt",
        &json!({"iss": "https://owner.example", "sub": TMI, "trust_mark_type": TYPE, "iat": NOW}),
    );
    let mut c = mark_claims(rp.as_str(), TYPE);
    c.insert("delegation".into(), json!(wrong_typ));
    publish_mark(&fed, &fed.key("tmi"), c);
    let reason = rejected_reason(&fed).await;
    assert!(
        reason.contains("delegation") && reason.contains("typ"),
        "{reason}"
    );
    // And the well-formed delegation is still accepted (the two above fail for their flaw).
    let mut c = mark_claims(rp.as_str(), TYPE);
    c.insert("delegation".into(), json!(delegation(&owner, TMI)));
    publish_mark(&fed, &fed.key("tmi"), c);
    assert_eq!(resolve(&fed).await.trust_marks().len(), 1);
}

/// A mark's `iat`/`exp` are NumericDates read like a statement's (issue 13 item 3, next to
/// the signed JWK Set): a fractional `exp` is rounded down and bounds the expiry; a string or
/// an expired fraction is refused.
#[tokio::test]
async fn mark_times_are_numeric_dates_like_statements() {
    let fed = marked().build();
    let rp = fed.id("rp");
    let mut c = mark_claims(rp.as_str(), TYPE);
    c.insert("exp".into(), json!(NOW as f64 + 600.5));
    publish_mark(&fed, &fed.key("tmi"), c);
    let r = resolve(&fed).await;
    assert_eq!(r.trust_marks().len(), 1, "{:?}", r.rejected_trust_marks());
    assert_eq!(r.trust_marks()[0].expires_at, Some(NOW + 600));
    assert_eq!(r.expires_at(), NOW + 600);
    for exp in [json!("1000"), json!(1000.5), json!(1e3)] {
        let fed = marked().build();
        let mut c = mark_claims(rp.as_str(), TYPE);
        c.insert("exp".into(), exp.clone());
        publish_mark(&fed, &fed.key("tmi"), c);
        let r = resolve(&fed).await;
        assert!(r.trust_marks().is_empty(), "exp {exp} accepted");
        assert_eq!(r.rejected_trust_marks().len(), 1, "exp {exp}");
    }
}
