//! The testing federation's own ergonomics: a resolver builder wired to the federation, one
//! clock for federation and resolver, and `republish_*` closures that may call the
//! federation.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::*;
use oidfed::{EntityType, Error, Rule};
use serde_json::json;

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;

/// The edit closure of `republish_ec` calls `fed.id` and `fed.public_jwks` (the federation
/// used to be locked while it ran: this deadlocked). Run on a thread with a guard so that a
/// regression fails the test instead of hanging it.
#[test]
fn a_republish_closure_may_call_the_federation() {
    let fed = three_level().build();
    let (done, finished) = mpsc::channel();
    let worker = fed.clone();
    std::thread::spawn(move || {
        worker.republish_ec("rp", |c| {
            c.insert("authority_hints".into(), json!([worker.id("org").as_str()]));
            c.insert("jwks".into(), worker.public_jwks("rp"));
            c.insert("extra".into(), json!(worker.id("ta").as_str()));
        });
        worker.republish_ss("org", "rp", |c| {
            c.insert(
                "extra".into(),
                json!(worker.subordinate_statement("ta", "org")),
            );
        });
        done.send(()).unwrap();
    });
    finished
        .recv_timeout(Duration::from_secs(10))
        .expect("republish_* with a closure calling the federation did not complete");
    let ec = claims_of(&fed.entity_configuration("rp"));
    assert_eq!(ec["extra"], json!(fed.id("ta").as_str()));
    let ss = claims_of(&fed.subordinate_statement("org", "rp"));
    assert_eq!(ss["extra"], json!(fed.subordinate_statement("ta", "org")));
}

/// `resolver_builder` trusts exactly the anchors named, with their keys, over the
/// federation's fetcher.
#[tokio::test]
async fn the_resolver_builder_trusts_the_named_anchors() {
    let fed = three_level()
        .anchor("ta2")
        .leaf("rp2", &["ta2"])
        .metadata("rp2", "openid_relying_party", json!({"client_name": "RP2"}))
        .build();
    let r = fed.resolver_builder(&["ta"]).build().unwrap();
    let rp = r.resolve(&fed.id("rp"), &RP).await.unwrap();
    assert_eq!(rp.trust_anchor(), &fed.id("ta"));
    let e = r.resolve(&fed.id("rp2"), &RP).await.unwrap_err();
    assert!(matches!(e, Error::NoTrustChain { .. }), "{e:?}");
    let r2 = fed.resolver_builder(&["ta2"]).build().unwrap();
    assert_eq!(
        r2.resolve(&fed.id("rp2"), &RP)
            .await
            .unwrap()
            .trust_anchor(),
        &fed.id("ta2")
    );
}

/// One clock: advancing the federation's clock past the statements' expiry moves the
/// resolver built from it, which then refuses rp's expired configuration.
#[tokio::test]
async fn the_federation_and_its_resolver_share_one_clock() {
    let fed = three_level().lifetime(3600).build();
    let r = fed.resolver_builder(&["ta"]).build().unwrap();
    r.resolve(&fed.id("rp"), &RP).await.unwrap();
    assert_eq!(oidfed::Clock::now(&fed.clock()), NOW);
    fed.clock().advance(2 * 3600);
    let e = r.resolve(&fed.id("rp"), &RP).await.unwrap_err();
    let Error::Statement(s) = &e else {
        panic!("expected rp's own configuration to be refused: {e:?}")
    };
    assert_eq!(s.rule, Rule::Expiry, "{e}");
    assert_eq!(s.issuer.as_deref(), Some(fed.id("rp").as_str()), "{e}");
}
