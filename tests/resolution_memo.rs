//! The resolution memo: a resolution whose statements are all still the same cached
//! statements is answered without walking or validating again, and never when anything it
//! rests on changed (a statement, the time, a failed path, keys fetched from a URL).

mod common;

use std::sync::Arc;

use common::*;
use oidfed::fetch::FetchResponse;
use oidfed::record::Change;
use oidfed::statement::Rule;
use oidfed::testing::{FederationBuilder, KeyAlg, TestKey};
use oidfed::{EntityType, Error};
use serde_json::json;

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;

#[tokio::test]
async fn an_unchanged_reresolution_gives_back_the_same_record_without_fetching() {
    let fed = three_level().build();
    let r = resolver(&fed);
    let rp = fed.id("rp");
    let old = r.record(&rp, &RP).await.unwrap();
    let fetcher = fed.fetcher();
    fetcher.reset_counts();
    let again = r.reresolve(&old).await.unwrap();
    assert!(Arc::ptr_eq(&again.record, &old), "the record built before");
    assert!(again.changes.is_empty());
    assert!(again.stale.is_none());
    let resolved = r.resolve(&rp, &RP).await.unwrap();
    assert_eq!(resolved.metadata()["client_name"], "RP");
    assert_eq!(fetcher.total_fetches(), 0);
}

#[tokio::test]
async fn a_changed_statement_is_resolved_anew() {
    let fed = three_level().build();
    let r = resolver(&fed);
    let rp = fed.id("rp");
    let old = r.record(&rp, &RP).await.unwrap();
    fed.republish_ec("rp", |c| {
        c["metadata"]["openid_relying_party"]["client_name"] = json!("RP, renamed");
    });
    r.forget_statement(&rp, &rp).await;
    let resolved = r.resolve(&rp, &RP).await.unwrap();
    assert_eq!(resolved.metadata()["client_name"], "RP, renamed");
    let again = r.reresolve(&old).await.unwrap();
    assert!(
        again
            .changes
            .iter()
            .any(|c| matches!(c, Change::MetadataChanged { parameters } if parameters.contains(&"client_name".to_string()))),
        "{:?}",
        again.changes
    );
}

#[tokio::test]
async fn a_clock_set_back_before_the_statements_were_issued_is_refused_again() {
    let fed = three_level().build();
    let (b, clock) = builder(&fed, &["ta"]);
    let r = b.build().unwrap();
    let rp = fed.id("rp");
    r.resolve(&rp, &RP).await.unwrap();
    clock.set(NOW - 86_400);
    let e = r.resolve(&rp, &RP).await.unwrap_err();
    let Error::NoTrustChain { attempts, .. } = &e else {
        panic!("{e:?}");
    };
    assert!(
        attempts
            .iter()
            .any(|a| matches!(&a.error, Error::Statement(s) if s.rule == Rule::IssuedAt)),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_resolution_with_a_failed_path_walks_again() {
    let fed = FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("org", &["ta"])
        .intermediate("org2", &["ta"])
        .leaf("rp", &["org", "org2"])
        .metadata("rp", "openid_relying_party", json!({"client_name": "RP"}))
        .build();
    fed.set_unavailable("org2", 503);
    let r = resolver(&fed);
    let rp = fed.id("rp");
    r.resolve(&rp, &RP).await.unwrap();
    let ec_url = format!("{}/.well-known/openid-federation", fed.id("org2"));
    let before = fed.fetcher().fetches_of(&ec_url);
    assert!(before > 0);
    r.resolve(&rp, &RP).await.unwrap();
    assert!(
        fed.fetcher().fetches_of(&ec_url) > before,
        "the failed path is retried"
    );
}

#[tokio::test]
async fn keys_from_a_jwks_uri_are_fetched_on_every_reresolution() {
    let url = "https://rp.example/jwks.json";
    let fed = three_level()
        .metadata(
            "rp",
            "openid_relying_party",
            json!({"client_name": "RP", "redirect_uris": ["https://rp.example/cb"], "jwks_uri": url}),
        )
        .build();
    let first = TestKey::generate(KeyAlg::ES256);
    let fetcher = fed.fetcher();
    fetcher.insert(
        url,
        FetchResponse::ok("application/jwk-set+json", first.public_jwks().to_string()),
    );
    let r = resolver(&fed);
    let old = r.record(&fed.id("rp"), &RP).await.unwrap();
    let second = TestKey::generate(KeyAlg::ES256);
    fetcher.insert(
        url,
        FetchResponse::ok("application/jwk-set+json", second.public_jwks().to_string()),
    );
    let before = fetcher.fetches_of(url);
    let again = r.reresolve(&old).await.unwrap();
    assert_eq!(fetcher.fetches_of(url), before + 1);
    assert!(
        again.changes.iter().any(
            |c| matches!(c, Change::KeysRotated { added, .. } if added.contains(&second.kid()))
        ),
        "{:?}",
        again.changes
    );
}

#[tokio::test]
async fn a_remembered_resolution_is_not_used_once_the_anchor_keys_change() {
    let fed = three_level().build();
    let r = resolver(&fed);
    let rp = fed.id("rp");
    // Twice: the second answer comes from the memo (no fetch).
    r.resolve(&rp, &RP).await.unwrap();
    let fetcher = fed.fetcher();
    fetcher.reset_counts();
    r.resolve(&rp, &RP).await.unwrap();
    assert_eq!(fetcher.total_fetches(), 0, "answered from the memo");
    // The anchor is re-pinned to a key that signed nothing: every statement is still the
    // same cached statement, but what was validated under the old key must not answer.
    let stranger = TestKey::generate(KeyAlg::ES256).public_jwks();
    r.trust_anchors_handle()
        .replace_keys(&fed.id("ta"), &stranger)
        .await
        .unwrap();
    let err = r.resolve(&rp, &RP).await.unwrap_err();
    assert!(matches!(err, Error::NoTrustChain { .. }), "{err}");
    let err = r.record(&rp, &RP).await.unwrap_err();
    assert!(matches!(err, Error::NoTrustChain { .. }), "{err}");
}
