//! Edge cases of discovery and chain validation (tests/SPEC_COVERAGE.md cases 27, 31, 34,
//! 43, 47, 50, 52, 55). Each test builds the situation, asserts the specific outcome (rule,
//! error variant, entity, fetches), and where useful a control that differs only in the
//! rule under test.

mod common;

use common::*;
use oidfed::fetch::{FetchRequest, FetchResponse};
use oidfed::testing::{FederationBuilder, KeyAlg, TestKey};
use oidfed::{EntityId, EntityType, Error, PathAttempt, Rule};
use serde_json::{Value, json};

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;
const TYP: &str = "entity-statement+jwt";

/// The single failed path of a `NoTrustChain` error.
fn only_attempt(e: &Error) -> &PathAttempt {
    match e {
        Error::NoTrustChain { attempts, .. } if attempts.len() == 1 => &attempts[0],
        other => panic!("expected NoTrustChain with exactly one attempt, got: {other}"),
    }
}

/// Issuer and subject named by a statement error.
fn statement_of(e: &Error) -> (String, String) {
    let s = e
        .statement_error()
        .unwrap_or_else(|| panic!("not a statement error: {e}"));
    (
        s.issuer.clone().unwrap_or_default(),
        s.subject.clone().unwrap_or_default(),
    )
}

/// The URL at which `endpoint` is asked for the statement about `sub` (§8.1.1).
fn fetch_url(endpoint: &str, sub: &EntityId) -> String {
    let endpoint = url::Url::parse(endpoint).unwrap();
    FetchRequest::subordinate_statement(&endpoint, sub)
        .url
        .to_string()
}

// 27 — §9, §16: `https://ex.org/` is fetched at `https://ex.org/.well-known/openid-federation`
// and its EC must say exactly `https://ex.org/`.
#[tokio::test]
async fn identifier_with_trailing_slash_is_compared_exactly() {
    // The entity named "" has the identifier `https://ex.org/`.
    let fed = FederationBuilder::new("https://ex.org")
        .now(NOW)
        .anchor("ta")
        .intermediate("org", &["ta"])
        .leaf("", &["org"])
        .metadata("", "openid_relying_party", json!({"client_name": "slash"}))
        .build();
    let slash = fed.id("");
    assert_eq!(slash.as_str(), "https://ex.org/");
    let well_known = "https://ex.org/.well-known/openid-federation";
    let f = fed.fetcher();

    // Control: the EC says `https://ex.org/`, the chain resolves.
    let r = resolver(&fed).resolve(&slash, &RP).await.unwrap();
    assert_eq!(r.entity_id(), &slash);
    assert_eq!(r.metadata()["client_name"], "slash");
    assert_eq!(f.fetches_of(well_known), 1);

    // The same document is not the configuration of `https://ex.org` (no slash).
    let bare = EntityId::parse("https://ex.org").unwrap();
    let e = resolver(&fed).resolve(&bare, &RP).await.unwrap_err();
    assert_eq!(e.rule(), Some(Rule::Subject), "{e}");
    assert_eq!(f.fetches_of(well_known), 2);

    // The EC served for `https://ex.org/` says `https://ex.org`: rejected, not normalised.
    fed.republish_ec("", |c| {
        c.insert("iss".into(), json!("https://ex.org"));
        c.insert("sub".into(), json!("https://ex.org"));
    });
    let e = resolver(&fed).resolve(&slash, &RP).await.unwrap_err();
    assert!(matches!(e, Error::Statement(_)), "{e}");
    assert_eq!(e.rule(), Some(Rule::Subject), "{e}");
    assert_eq!(
        statement_of(&e).1,
        "https://ex.org",
        "the error names the subject the EC claimed: {e}"
    );
    assert_eq!(f.fetches_of(well_known), 3);
}

// 31 — §3.2 step 4, §10.2: the fetch endpoint of org answers for rp with a statement whose
// `sub` is right but whose `iss` is another entity.
#[tokio::test]
async fn subordinate_statement_from_the_wrong_issuer_is_rejected_by_the_issuer_rule() {
    let fed = three_level().build();
    let ta = fed.id("ta");
    let mut claims = claims_of(&fed.subordinate_statement("org", "rp"));
    claims.insert("iss".into(), json!(ta.as_str()));
    // Correctly signed by its claimed issuer: only the issuer is wrong.
    let forged = fed.key("ta").sign_jwt(TYP, &Value::Object(claims));
    fed.publish_raw_ss("org", "rp", &forged);

    let e = resolver(&fed)
        .resolve(&fed.id("rp"), &RP)
        .await
        .unwrap_err();
    let attempt = only_attempt(&e);
    assert_eq!(attempt.path, vec![fed.id("rp"), fed.id("org")], "{e}");
    assert_eq!(attempt.error.rule(), Some(Rule::Issuer), "{e}");
    assert_eq!(
        statement_of(&attempt.error),
        (ta.to_string(), fed.id("rp").to_string()),
        "{e}"
    );
    assert!(
        attempt
            .error
            .to_string()
            .contains("https://fed.example/org"),
        "the error says which superior was asked: {e}"
    );
}

// 34 — §8.1: a fetch endpoint is read from the superior's own EC only; one that appears only
// in its superior's statement about it is never used.
#[tokio::test]
async fn fetch_endpoint_published_only_by_the_superior_is_not_used() {
    let elsewhere = "https://fed.example/org/fetch-from-ta-statement";
    let fed = three_level()
        .subordinate_metadata(
            "ta",
            "org",
            "federation_entity",
            json!({"federation_fetch_endpoint": elsewhere}),
        )
        .build();
    // org's own EC keeps its federation_entity metadata but has no fetch endpoint.
    fed.republish_ec("org", |c| {
        c["metadata"]["federation_entity"]
            .as_object_mut()
            .unwrap()
            .remove("federation_fetch_endpoint");
    });
    // The endpoint named by ta would answer with a perfectly valid statement about rp.
    let rp = fed.id("rp");
    let url = fetch_url(elsewhere, &rp);
    let f = fed.fetcher();
    f.insert(
        &url,
        FetchResponse::entity_statement(&fed.subordinate_statement("org", "rp")),
    );

    let r = resolver(&fed);
    // Resolving org puts ta's statement (and its endpoint) in the resolved metadata and in
    // the statement cache...
    let org = r
        .resolve(&fed.id("org"), &EntityType::FEDERATION_ENTITY)
        .await
        .unwrap();
    assert_eq!(org.metadata()["federation_fetch_endpoint"], elsewhere);
    // ...and still the walk from rp does not use it.
    let e = r.resolve(&rp, &RP).await.unwrap_err();
    let attempt = only_attempt(&e);
    assert_eq!(attempt.path, vec![rp.clone(), fed.id("org")], "{e}");
    assert_eq!(attempt.error.rule(), Some(Rule::Metadata), "{e}");
    assert_eq!(statement_of(&attempt.error).0, fed.id("org").to_string());
    assert!(
        attempt
            .error
            .to_string()
            .contains("federation_fetch_endpoint"),
        "{e}"
    );
    assert_eq!(
        f.fetches_of(&url),
        0,
        "the endpoint from ta's statement was fetched"
    );
    // A fresh resolver (nothing cached) does not use it either.
    let e = resolver(&fed).resolve(&rp, &RP).await.unwrap_err();
    assert_eq!(only_attempt(&e).error.rule(), Some(Rule::Metadata), "{e}");
    assert_eq!(f.fetches_of(&url), 0);
}

// 43 — §10.2: ES[0] must verify with its own jwks as well as with its superior's assertion.
#[tokio::test]
async fn leaf_signed_with_a_key_only_its_superior_asserts_is_rejected() {
    let fed = three_level().build();
    let own = fed.key("rp");
    let extra = TestKey::generate(KeyAlg::ES256);
    let both = json!({"keys": [own.public_jwk(), extra.public_jwk()]});
    // org asserts both keys for rp.
    fed.republish_ss("org", "rp", |c| {
        c.insert("jwks".into(), both.clone());
    });
    // rp's EC lists only its own key but is signed with the extra one.
    let mut claims = claims_of(&fed.entity_configuration("rp"));
    assert_eq!(claims["jwks"], own.public_jwks());
    fed.publish_raw_ec("rp", &extra.sign_jwt(TYP, &Value::Object(claims.clone())));

    let e = resolver(&fed)
        .resolve(&fed.id("rp"), &RP)
        .await
        .unwrap_err();
    let attempt = only_attempt(&e);
    assert_eq!(
        attempt.path,
        vec![fed.id("rp"), fed.id("org"), fed.id("ta")],
        "{e}"
    );
    assert_eq!(attempt.error.rule(), Some(Rule::Kid), "{e}");
    let rp = fed.id("rp").to_string();
    assert_eq!(
        statement_of(&attempt.error),
        (rp.clone(), rp.clone()),
        "{e}"
    );
    assert!(
        attempt
            .error
            .to_string()
            .contains(&format!("{rp}'s own jwks")),
        "the failing check is the EC's own key set: {e}"
    );

    // Control: the same signature with the key also in rp's own jwks is accepted.
    claims.insert("jwks".into(), both);
    fed.publish_raw_ec("rp", &extra.sign_jwt(TYP, &Value::Object(claims)));
    let r = resolver(&fed).resolve(&fed.id("rp"), &RP).await.unwrap();
    assert_eq!(r.chain().statements()[0].kid(), extra.kid());
}

// 47 — §11.2, §10.2: the anchor's EC, signed with the configured (old) key,
// introduces the new key; its statement signed with the new key is accepted.
#[tokio::test]
async fn anchor_key_rollover_old_key_ec_introduces_new_key_statement() {
    let fed = three_level().build();
    let old = fed.key("ta");
    let configured = fed.public_jwks("ta");
    let new = TestKey::generate(KeyAlg::ES256);
    fed.republish_ec("ta", |c| {
        c.insert(
            "jwks".into(),
            json!({"keys": [old.public_jwk(), new.public_jwk()]}),
        );
    });
    let ss_claims = Value::Object(claims_of(&fed.subordinate_statement("ta", "org")));
    fed.publish_raw_ss("ta", "org", &new.sign_jwt(TYP, &ss_claims));
    // The resolver knows only the old key.
    let only_old = |fed: &oidfed::testing::Federation| {
        oidfed::Resolver::builder()
            .fetcher(fed.fetcher())
            .clock(oidfed::FixedClock::new(NOW))
            .trust_anchor(fed.id("ta").as_str(), &configured)
            .build()
            .unwrap()
    };

    let r = only_old(&fed).resolve(&fed.id("rp"), &RP).await.unwrap();
    let s = r.chain().statements();
    assert_eq!(s.len(), 4);
    assert_eq!(s[2].issuer(), &fed.id("ta"));
    assert_eq!(
        s[2].kid(),
        new.kid(),
        "ta's statement is signed with the new key"
    );
    assert_eq!(s[3].kid(), old.kid(), "ta's EC is signed with the old key");
    assert_eq!(r.trust_anchor(), &fed.id("ta"));

    // The same chain handed over whole, with the anchor's EC: accepted.
    only_old(&fed)
        .validate_chain(&fed.chain(&["rp", "org", "ta"], true), &RP)
        .await
        .unwrap();
    // Without the anchor's EC nothing introduces the new key: the last statement must
    // verify with the configured keys (§10.2).
    let e = only_old(&fed)
        .validate_chain(&fed.chain(&["rp", "org", "ta"], false), &RP)
        .await
        .unwrap_err();
    assert_eq!(e.rule(), Some(Rule::Kid), "{e}");

    // Control: if the anchor's EC does not list the new key, the statement is rejected.
    fed.republish_ec("ta", |c| {
        c.insert("jwks".into(), json!({"keys": [old.public_jwk()]}));
    });
    let e = only_old(&fed)
        .resolve(&fed.id("rp"), &RP)
        .await
        .unwrap_err();
    let attempt = only_attempt(&e);
    assert_eq!(attempt.error.rule(), Some(Rule::Kid), "{e}");
    assert_eq!(
        statement_of(&attempt.error),
        (fed.id("ta").to_string(), fed.id("org").to_string()),
        "{e}"
    );
}

// 50 — §10.3, §17.1: with a short and a longer valid path to the same anchor, the shorter one
// is chosen, even where expiry and path order would both favour the longer.
#[tokio::test]
async fn shortest_chain_wins_over_expiry_and_path_order() {
    // rp → aa → mid → ta (4 entities) and rp → zz → ta (3 entities).
    let fed = FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("mid", &["ta"])
        .intermediate("aa", &["mid"])
        .intermediate("zz", &["ta"])
        .leaf("rp", &["aa", "zz"])
        .metadata("rp", "openid_relying_party", json!({"client_name": "RP"}))
        // The short path also expires first.
        .statement_exp("zz", "rp", NOW + 500)
        .build();
    let f = fed.fetcher();
    let r = resolver(&fed).resolve(&fed.id("rp"), &RP).await.unwrap();
    let short = vec![fed.id("rp"), fed.id("zz"), fed.id("ta")];
    let long = vec![fed.id("rp"), fed.id("aa"), fed.id("mid"), fed.id("ta")];
    // The longer path is lexicographically first ("…/aa" < "…/zz") and expires later.
    assert!(long < short);
    assert_eq!(r.chain().path(), short);
    assert_eq!(r.expires_at(), NOW + 500);
    assert_eq!(r.alternatives().len(), 1, "both valid chains are found");
    assert_eq!(r.alternatives()[0].path(), long);
    assert!(r.alternatives()[0].expires_at() > r.expires_at());
    assert_eq!(f.max_fetches_per_url(), 1);
}

// 52 — §4.1: a configured anchor that has superiors ends the chain; its
// `authority_hints` are neither an error nor followed.
#[tokio::test]
async fn configured_anchor_with_authority_hints_ends_the_chain() {
    let fed = FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("super")
        .intermediate("ta", &["super"])
        .intermediate("org", &["ta"])
        .leaf("rp", &["org"])
        .metadata("rp", "openid_relying_party", json!({"client_name": "RP"}))
        .build();
    let ta_ec = claims_of(&fed.entity_configuration("ta"));
    assert_eq!(ta_ec["authority_hints"], json!([fed.id("super").as_str()]));
    // Everything about super is served: following the hint would succeed.
    let super_urls = [
        fed.id("super").well_known_url().to_string(),
        fetch_url(&format!("{}/fetch", fed.id("super")), &fed.id("ta")),
    ];
    let f = fed.fetcher();
    for u in &super_urls {
        assert!(f.get(u).is_some(), "{u} is served");
    }

    let r = resolver(&fed); // trusts ta only
    let got = r.resolve(&fed.id("rp"), &RP).await.unwrap();
    assert_eq!(
        got.chain().path(),
        vec![fed.id("rp"), fed.id("org"), fed.id("ta")]
    );
    assert_eq!(got.chain().statements().len(), 4);
    assert_eq!(got.trust_anchor(), &fed.id("ta"));
    assert!(got.alternatives().is_empty());
    // The anchor itself as the subject: [ta EC], with its hints.
    let ta = r
        .resolve(&fed.id("ta"), &EntityType::FEDERATION_ENTITY)
        .await
        .unwrap();
    assert_eq!(ta.chain().statements().len(), 1);
    assert_eq!(ta.trust_anchor(), &fed.id("ta"));
    for u in &super_urls {
        assert_eq!(f.fetches_of(u), 0, "{u} was fetched");
    }
}

// 55 — §3.2 step 24: a chain handed over whole that ends at an anchor whose entity ID is not
// configured is refused, whether or not the anchor's EC is included.
#[tokio::test]
async fn static_chain_to_an_unconfigured_anchor_is_untrusted() {
    let fed = three_level()
        .anchor("ta2")
        .intermediate("org2", &["ta2"])
        .leaf("rp2", &["org2"])
        .metadata("rp2", "openid_relying_party", json!({"client_name": "RP2"}))
        .build();
    let f = fed.fetcher();
    let r = resolver(&fed); // trusts ta only
    for with_anchor_ec in [true, false] {
        let chain = fed.chain(&["rp2", "org2", "ta2"], with_anchor_ec);
        let e = r.validate_chain(&chain, &RP).await.unwrap_err();
        match &e {
            Error::UntrustedAnchor { anchor } => {
                assert_eq!(anchor, fed.id("ta2").as_str(), "{e}")
            }
            other => panic!("expected UntrustedAnchor, got {other}"),
        }
        assert_eq!(e.spec_code(), "invalid_trust_anchor");
        // Control: the very same chain is valid for a resolver that trusts ta2.
        let trusting = builder(&fed, &["ta2"]).0.build().unwrap();
        let ok = trusting.validate_chain(&chain, &RP).await.unwrap();
        assert_eq!(ok.trust_anchor(), &fed.id("ta2"));
    }
    assert_eq!(f.total_fetches(), 0);
}

/// Panics when asked for `org`'s configuration; serves everything else from the federation.
struct PanicsAtOrg(oidfed::fetch::MemoryFetcher);

impl oidfed::fetch::Fetcher for PanicsAtOrg {
    fn fetch(
        &self,
        request: FetchRequest,
    ) -> oidfed::fetch::BoxFuture<'_, Result<FetchResponse, oidfed::fetch::FetchError>> {
        Box::pin(async move {
            if request.url.path().starts_with("/org/") {
                panic!("a buggy fetcher");
            }
            self.0.fetch(request).await
        })
    }
}

#[tokio::test]
async fn a_panicked_step_is_a_typed_failed_path() {
    let fed = three_level().build();
    let r = builder(&fed, &["ta"])
        .0
        .fetcher(PanicsAtOrg(fed.fetcher()))
        .build()
        .unwrap();
    let e = r.resolve(&fed.id("rp"), &RP).await.unwrap_err();
    let a = only_attempt(&e);
    assert_eq!(a.path, vec![fed.id("rp"), fed.id("org")]);
    match &a.error {
        Error::StepFailed { entity, .. } => assert_eq!(entity, &fed.id("org")),
        other => panic!("expected StepFailed, got {other}"),
    }
    assert_eq!(e.spec_code(), "server_error");
}
