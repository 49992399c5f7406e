//! Trust Anchors over time (§10, §11.2, §11.3): run-time replacement with resolutions in
//! flight, the record cache across anchor changes, announced and unannounced rollover, the
//! independent copy, persistence.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{builder, claims_of, three_level};
use oidfed::anchor_store::{AnchorStore, FileAnchorStore, MemoryAnchorStore};
use oidfed::anchors::{AnchorError, ChangeReason, IndependentCopy};
use oidfed::fetch::{BoxFuture, FetchError, FetchRequest, FetchResponse, Fetcher, MemoryFetcher};
use oidfed::statement::ENTITY_STATEMENT_TYP;
use oidfed::testing::{Federation, KeyAlg, TestKey};
use oidfed::{EntityType, Error, TrustAnchor};
use serde_json::{Value, json};
use tokio::sync::Notify;

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;

/// Holds the first fetch made after `arm` until `release` is notified.
#[derive(Clone)]
struct Gate {
    inner: MemoryFetcher,
    armed: Arc<AtomicBool>,
    entered: Arc<Notify>,
    release: Arc<Notify>,
}

impl Fetcher for Gate {
    fn fetch(&self, request: FetchRequest) -> BoxFuture<'_, Result<FetchResponse, FetchError>> {
        Box::pin(async move {
            if self.armed.swap(false, Ordering::SeqCst) {
                self.entered.notify_one();
                self.release.notified().await;
            }
            self.inner.fetch(request).await
        })
    }
}

fn anchor_with(fed: &Federation, name: &str, jwks: &Value) -> TrustAnchor {
    TrustAnchor::new(fed.id(name).as_str(), jwks).unwrap()
}

#[tokio::test]
async fn a_resolution_started_before_a_swap_finishes_on_the_old_set() {
    let fed = three_level().build();
    let gate = Gate {
        inner: fed.fetcher(),
        armed: Arc::new(AtomicBool::new(true)),
        entered: Arc::new(Notify::new()),
        release: Arc::new(Notify::new()),
    };
    let (b, _clock) = builder(&fed, &["ta"]);
    let resolver = b.fetcher(gate.clone()).build().unwrap();

    let r = resolver.clone();
    let rp = fed.id("rp");
    let in_flight = tokio::spawn(async move { r.resolve(&rp, &RP).await });
    gate.entered.notified().await;

    // While the first fetch is held: the anchor is re-pinned to a key it never used.
    let stranger = TestKey::generate(KeyAlg::ES256).public_jwks();
    let change = resolver
        .replace_trust_anchors(vec![anchor_with(&fed, "ta", &stranger)])
        .await
        .unwrap();
    assert_eq!(change.reason, ChangeReason::Replaced);
    assert_eq!(change.generation, 1);
    assert_eq!(change.added_keys.len(), 1);
    assert_eq!(
        change.removed_keys,
        vec![(fed.id("ta"), fed.key("ta").kid())]
    );

    gate.release.notify_one();
    let old = in_flight
        .await
        .unwrap()
        .expect("resolved on the set it started with");
    assert_eq!(old.trust_anchor(), &fed.id("ta"));

    // A resolution that starts now uses the new set, under which nothing verifies.
    let err = resolver.resolve(&fed.id("rp"), &RP).await.unwrap_err();
    assert!(matches!(err, Error::NoTrustChain { .. }), "{err}");
}

#[tokio::test]
async fn the_record_cache_never_serves_a_record_validated_under_a_removed_key() {
    let fed = three_level().build();
    let (b, _clock) = builder(&fed, &["ta"]);
    let resolver = b.build().unwrap();
    resolver.record(&fed.id("rp"), &RP).await.unwrap();
    let fetches = fed.fetcher().total_fetches();
    // Cached: the second lookup fetches nothing.
    resolver.record(&fed.id("rp"), &RP).await.unwrap();
    assert_eq!(fed.fetcher().total_fetches(), fetches);

    let stranger = TestKey::generate(KeyAlg::ES256).public_jwks();
    resolver
        .trust_anchors_handle()
        .replace_keys(&fed.id("ta"), &stranger)
        .await
        .unwrap();
    let err = resolver.record(&fed.id("rp"), &RP).await.unwrap_err();
    assert!(matches!(err, Error::NoTrustChain { .. }), "{err}");
}

/// `ta` announces `new` (its configuration, signed with its pinned key, lists both keys).
fn announce(fed: &Federation, new: &TestKey) {
    let old = fed.key("ta").public_jwk();
    let new_jwk = new.public_jwk();
    fed.republish_ec("ta", |c| {
        c.insert("jwks".into(), json!({"keys": [old, new_jwk]}));
    });
}

#[tokio::test]
async fn an_announced_key_is_pinned_audited_and_persisted_and_then_verifies() {
    let fed = three_level().build();
    let (b, _clock) = builder(&fed, &["ta"]);
    let resolver = b.build().unwrap();
    let store = Arc::new(MemoryAnchorStore::new());
    resolver
        .trust_anchors_handle()
        .set_store(Some(store.clone()));
    let new = TestKey::generate(KeyAlg::ES256);
    announce(&fed, &new);

    let change = resolver
        .accept_anchor_key(&fed.id("ta"), &new.public_jwk())
        .await
        .unwrap();
    assert_eq!(change.reason, ChangeReason::Rollover);
    assert_eq!(change.added_keys, vec![(fed.id("ta"), new.kid())]);
    assert!(change.removed_keys.is_empty() && change.persisted);
    assert_eq!(store.saved_generation(), Some(1));
    let stored = store.load().await.unwrap().unwrap();
    assert!(stored[0].keys().get(&new.kid()).is_some());
    let pinned = resolver.trust_anchors();
    assert_eq!(pinned.generation(), 1);
    assert_eq!(pinned.get(&fed.id("ta")).unwrap().keys().len(), 2);

    // The anchor switches to the new key: its configuration and its statement about `org`.
    let ec = claims_of(&fed.entity_configuration("ta"));
    fed.publish_raw_ec(
        "ta",
        &new.sign_jwt(ENTITY_STATEMENT_TYP, &Value::Object(ec)),
    );
    let ss = claims_of(&fed.subordinate_statement("ta", "org"));
    fed.publish_raw_ss(
        "ta",
        "org",
        &new.sign_jwt(ENTITY_STATEMENT_TYP, &Value::Object(ss)),
    );
    resolver.clear_caches();
    resolver
        .resolve(&fed.id("rp"), &RP)
        .await
        .expect("the new key verifies");
    // A resolver that did not follow the rollover no longer can.
    let (b, _clock) = builder(&fed, &[]);
    let stale = b
        .anchor(anchor_with(&fed, "ta", &fed.public_jwks("ta")))
        .build()
        .unwrap();
    assert!(stale.resolve(&fed.id("rp"), &RP).await.is_err());

    // Following again finds nothing new.
    let again = resolver
        .follow_anchor_rollover(&fed.id("ta"))
        .await
        .unwrap();
    assert!(again.is_empty());
    assert_eq!(again.generation, 1);
}

#[tokio::test]
async fn follow_anchor_rollover_pins_every_announced_key() {
    let fed = three_level().build();
    let (b, _clock) = builder(&fed, &["ta"]);
    let resolver = b.build().unwrap();
    let new = TestKey::generate(KeyAlg::EdDSA);
    announce(&fed, &new);
    let change = resolver
        .follow_anchor_rollover(&fed.id("ta"))
        .await
        .unwrap();
    assert_eq!(change.added_keys, vec![(fed.id("ta"), new.kid())]);
    assert!(!change.persisted);
}

#[tokio::test]
async fn an_unannounced_key_is_refused() {
    let fed = three_level().build();
    let (b, _clock) = builder(&fed, &["ta"]);
    let resolver = b.build().unwrap();
    let new = TestKey::generate(KeyAlg::ES256);
    let err = resolver
        .accept_anchor_key(&fed.id("ta"), &new.public_jwk())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AnchorError::KeyNotAnnounced { kid, .. } if *kid == new.kid()),
        "{err}"
    );
    assert_eq!(resolver.trust_anchors().generation(), 0);
    assert_eq!(
        resolver
            .trust_anchors()
            .get(&fed.id("ta"))
            .unwrap()
            .keys()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_configuration_signed_by_an_unpinned_key_cannot_announce_anything() {
    let fed = three_level().build();
    let (b, _clock) = builder(&fed, &["ta"]);
    let resolver = b.build().unwrap();
    let attacker = TestKey::generate(KeyAlg::ES256);
    let mut ec = claims_of(&fed.entity_configuration("ta"));
    ec.insert("jwks".into(), attacker.public_jwks());
    fed.publish_raw_ec(
        "ta",
        &attacker.sign_jwt(ENTITY_STATEMENT_TYP, &Value::Object(ec)),
    );
    let err = resolver
        .accept_anchor_key(&fed.id("ta"), &attacker.public_jwk())
        .await
        .unwrap_err();
    assert!(matches!(err, AnchorError::Configuration { .. }), "{err}");
    assert_eq!(resolver.trust_anchors().generation(), 0);
}

const COPY_URL: &str = "https://keys.example/ta.json";

fn copy_serving(jwks: &Value) -> (MemoryFetcher, IndependentCopy) {
    let f = MemoryFetcher::new();
    f.insert(
        COPY_URL,
        FetchResponse::ok("application/json", jwks.to_string()),
    );
    let copy = IndependentCopy::new(f.clone(), url::Url::parse(COPY_URL).unwrap());
    (f, copy)
}

#[tokio::test]
async fn a_mismatching_independent_copy_is_reported_after_a_refetch() {
    let fed = three_level().build();
    let (b, _clock) = builder(&fed, &["ta"]);
    let resolver = b.build().unwrap();
    let handle = resolver.trust_anchors_handle();

    let (_, agreeing) = copy_serving(&fed.public_jwks("ta"));
    handle.set_independent_copy(&fed.id("ta"), Some(agreeing));
    let ok = resolver
        .check_anchor_independently(&fed.id("ta"))
        .await
        .unwrap();
    assert_eq!(ok.keys, vec![fed.key("ta").kid()]);
    assert!(!ok.agreed_after_refetch);

    let other = TestKey::generate(KeyAlg::ES256);
    let (copy_fetcher, differing) = copy_serving(&other.public_jwks());
    handle.set_independent_copy(&fed.id("ta"), Some(differing));
    let err = resolver
        .check_anchor_independently(&fed.id("ta"))
        .await
        .unwrap_err();
    match err {
        AnchorError::IndependentCopyMismatch {
            only_in_federation,
            only_in_copy,
            ..
        } => {
            assert_eq!(only_in_federation, vec![fed.key("ta").kid()]);
            assert_eq!(only_in_copy, vec![other.kid()]);
        }
        e => panic!("expected a mismatch, got {e}"),
    }
    assert_eq!(
        copy_fetcher.fetches_of(COPY_URL),
        2,
        "fetched again before reporting"
    );

    // A rollover the independent copy does not confirm is refused.
    let new = TestKey::generate(KeyAlg::ES256);
    announce(&fed, &new);
    let (_, old_copy) = copy_serving(&fed.public_jwks("ta"));
    handle.set_independent_copy(&fed.id("ta"), Some(old_copy));
    let err = resolver
        .accept_anchor_key(&fed.id("ta"), &new.public_jwk())
        .await
        .unwrap_err();
    assert!(
        matches!(err, AnchorError::IndependentCopyMismatch { .. }),
        "{err}"
    );
    assert_eq!(resolver.trust_anchors().generation(), 0);

    let err = resolver
        .check_anchor_independently(&fed.id("org"))
        .await
        .unwrap_err();
    assert!(matches!(err, AnchorError::NotConfigured { .. }), "{err}");
}

#[tokio::test]
async fn add_remove_and_their_refusals() {
    let fed = three_level().anchor("ta2").build();
    let (b, _clock) = builder(&fed, &["ta"]);
    let resolver = b.build().unwrap();
    let handle = resolver.trust_anchors_handle();
    let ta2 = anchor_with(&fed, "ta2", &fed.public_jwks("ta2"));
    let change = handle.add(ta2.clone()).await.unwrap();
    assert_eq!(change.added_anchors, vec![fed.id("ta2")]);
    let err = handle.add(ta2).await.unwrap_err();
    assert!(
        matches!(err, AnchorError::AlreadyConfigured { .. }),
        "{err}"
    );

    let change = handle.remove(&fed.id("ta")).await.unwrap();
    assert_eq!(change.removed_anchors, vec![fed.id("ta")]);
    assert_eq!(change.generation, 2);
    let err = resolver.resolve(&fed.id("rp"), &RP).await.unwrap_err();
    assert!(matches!(err, Error::NoTrustChain { .. }), "{err}");

    let err = handle.remove(&fed.id("ta2")).await.unwrap_err();
    assert!(matches!(err, AnchorError::NoAnchorLeft), "{err}");
    let err = handle.remove(&fed.id("ta")).await.unwrap_err();
    assert!(matches!(err, AnchorError::NotConfigured { .. }), "{err}");
    let http = TrustAnchor::new_with("http://ta.example", &fed.public_jwks("ta"), true).unwrap();
    let err = handle.add(http).await.unwrap_err();
    assert!(matches!(err, AnchorError::HttpNotAllowed { .. }), "{err}");
    assert_eq!(resolver.trust_anchors().generation(), 2);
}

#[tokio::test]
async fn the_file_store_round_trips_and_refuses_garbage() {
    let fed = three_level().anchor("ta2").build();
    let dir = std::env::temp_dir().join(format!("oidfed-anchors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("anchors.json");
    let store = Arc::new(FileAnchorStore::new(&path));
    assert!(store.load().await.unwrap().is_none());

    let (b, _clock) = builder(&fed, &["ta"]);
    let resolver = b.build().unwrap();
    resolver
        .trust_anchors_handle()
        .set_store(Some(store.clone()));
    let ta2 = anchor_with(&fed, "ta2", &fed.public_jwks("ta2"));
    assert!(
        resolver
            .trust_anchors_handle()
            .add(ta2)
            .await
            .unwrap()
            .persisted
    );
    let loaded = store.load().await.unwrap().unwrap();
    let ids: Vec<_> = loaded.iter().map(|a| a.id().clone()).collect();
    assert_eq!(ids, vec![fed.id("ta"), fed.id("ta2")]);
    assert_eq!(
        loaded[1].keys().get(&fed.key("ta2").kid()).map(|k| k.kid()),
        Some(fed.key("ta2").kid().as_str())
    );

    std::fs::write(
        &path,
        br#"{"trust_anchors": [{"entity_id": "https://x.example"}]}"#,
    )
    .unwrap();
    let err = store.load().await.unwrap_err();
    assert!(
        matches!(err, oidfed::anchor_store::AnchorStoreError::Format { .. }),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
