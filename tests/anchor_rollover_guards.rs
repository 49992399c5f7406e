//! Rollover guards (§11.2, §11.3): only keys the independent copy confirmed in the same
//! comparison are pinned, a rollover in flight never undoes an operator's change, and a
//! replayed older configuration is refused.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::{builder, claims_of, three_level};
use oidfed::anchors::{AnchorError, IndependentCopy};
use oidfed::fetch::{BoxFuture, FetchError, FetchRequest, FetchResponse, Fetcher, MemoryFetcher};
use oidfed::testing::{Federation, KeyAlg, TestKey};
use serde_json::json;
use tokio::sync::Notify;

/// Serves `first` once for `url`, then delegates.
#[derive(Clone)]
struct Flip {
    inner: MemoryFetcher,
    url: String,
    first: Arc<Mutex<Option<String>>>,
}

impl Fetcher for Flip {
    fn fetch(&self, request: FetchRequest) -> BoxFuture<'_, Result<FetchResponse, FetchError>> {
        Box::pin(async move {
            if request.url.as_str() == self.url {
                if let Some(body) = self.first.lock().unwrap().take() {
                    return Ok(FetchResponse::ok("application/entity-statement+jwt", body));
                }
            }
            self.inner.fetch(request).await
        })
    }
}

fn announce(fed: &Federation, new: &TestKey) {
    let old = fed.key("ta").public_jwk();
    let new_jwk = new.public_jwk();
    fed.republish_ec("ta", |c| {
        c.insert("jwks".into(), json!({"keys": [old, new_jwk]}));
    });
}

const COPY_URL: &str = "https://keys.example/ta.json";

/// §11.3: a key the independent copy never confirmed must not be pinned. The configuration
/// announcing it (signed with a pinned, e.g. stolen, key) is served once; the re-fetch made
/// "before calling it a mismatch" gets the genuine one, which agrees with the copy — and the
/// key from the first fetch is pinned anyway.
#[tokio::test]
async fn a_rollover_pins_only_keys_the_independent_copy_confirms() {
    let fed = three_level().build();
    let genuine = fed.entity_configuration("ta");
    let evil = TestKey::generate(KeyAlg::ES256);
    announce(&fed, &evil);
    let announcing = fed.entity_configuration("ta");
    fed.publish_raw_ec("ta", &genuine);

    let flip = Flip {
        inner: fed.fetcher(),
        url: fed.id("ta").well_known_url().to_string(),
        first: Arc::new(Mutex::new(Some(announcing))),
    };
    let (b, _clock) = builder(&fed, &["ta"]);
    let resolver = b.fetcher(flip).build().unwrap();
    let copy_fetcher = MemoryFetcher::new();
    copy_fetcher.insert(
        COPY_URL,
        FetchResponse::ok("application/json", fed.public_jwks("ta").to_string()),
    );
    resolver.trust_anchors_handle().set_independent_copy(
        &fed.id("ta"),
        Some(IndependentCopy::new(
            copy_fetcher,
            url::Url::parse(COPY_URL).unwrap(),
        )),
    );
    let result = resolver.follow_anchor_rollover(&fed.id("ta")).await;
    let pinned = resolver.trust_anchors();
    assert!(
        pinned
            .get(&fed.id("ta"))
            .unwrap()
            .keys()
            .get(&evil.kid())
            .is_none(),
        "a key absent from the independent copy was pinned: {result:?}"
    );
}

/// Holds the first fetch until released.
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

/// An operator removes a compromised anchor key while a rollover is fetching the anchor's
/// configuration: the rollover must not put the removed key back.
#[tokio::test]
async fn a_rollover_in_flight_does_not_reinstate_a_key_the_operator_removed() {
    let fed = three_level().build();
    let new = TestKey::generate(KeyAlg::ES256);
    announce(&fed, &new);
    let gate = Gate {
        inner: fed.fetcher(),
        armed: Arc::new(AtomicBool::new(true)),
        entered: Arc::new(Notify::new()),
        release: Arc::new(Notify::new()),
    };
    let (b, _clock) = builder(&fed, &["ta"]);
    let resolver = b.fetcher(gate.clone()).build().unwrap();
    let old_kid = fed.key("ta").kid();

    let r = resolver.clone();
    let ta = fed.id("ta");
    let rollover = tokio::spawn(async move { r.follow_anchor_rollover(&ta).await });
    gate.entered.notified().await;
    resolver
        .trust_anchors_handle()
        .replace_keys(&fed.id("ta"), &new.public_jwks())
        .await
        .unwrap();
    gate.release.notify_one();
    let result = rollover.await.unwrap();
    let pinned = resolver.trust_anchors();
    assert!(
        pinned
            .get(&fed.id("ta"))
            .unwrap()
            .keys()
            .get(&old_kid)
            .is_none(),
        "the removed key {old_kid} is pinned again after the rollover: {result:?}"
    );
    assert!(
        matches!(result, Err(AnchorError::ChangedDuringRollover { .. })),
        "{result:?}"
    );
}

/// A key the operator pinned that the anchor's configuration does not announce is reported
/// (and stays pinned: removing it is the operator's decision), with or without a key added.
#[tokio::test]
async fn keys_the_anchor_no_longer_announces_are_reported() {
    let fed = three_level().build();
    let (b, _clock) = builder(&fed, &["ta"]);
    let resolver = b.build().unwrap();
    let ta = fed.id("ta");
    let withdrawn = TestKey::generate(KeyAlg::ES256);
    resolver
        .trust_anchors_handle()
        .replace_keys(
            &ta,
            &json!({"keys": [fed.key("ta").public_jwk(), withdrawn.public_jwk()]}),
        )
        .await
        .unwrap();
    let unchanged = resolver.follow_anchor_rollover(&ta).await.unwrap();
    assert!(unchanged.is_empty());
    assert_eq!(
        unchanged.no_longer_announced,
        vec![(ta.clone(), withdrawn.kid())]
    );

    let new = TestKey::generate(KeyAlg::ES256);
    announce(&fed, &new);
    let change = resolver.follow_anchor_rollover(&ta).await.unwrap();
    assert_eq!(change.added_keys, vec![(ta.clone(), new.kid())]);
    assert_eq!(
        change.no_longer_announced,
        vec![(ta.clone(), withdrawn.kid())]
    );
    let pinned = resolver.trust_anchors();
    assert!(
        pinned
            .get(&ta)
            .unwrap()
            .keys()
            .get(&withdrawn.kid())
            .is_some()
    );
}

/// §11.2: a configuration issued before one already seen for the anchor is a replay. An
/// older configuration announcing a key the anchor has since withdrawn is refused, and the
/// key is not pinned.
#[tokio::test]
async fn a_replayed_older_configuration_is_refused() {
    let fed = three_level().build();
    let (b, _clock) = builder(&fed, &["ta"]);
    let resolver = b.build().unwrap();
    let ta = fed.id("ta");
    let withdrawn = TestKey::generate(KeyAlg::ES256);
    announce(&fed, &withdrawn);
    let old_iat = claims_of(&fed.entity_configuration("ta"))["iat"]
        .as_i64()
        .unwrap();
    let replayed = fed.entity_configuration("ta");
    // The anchor withdraws the key in a configuration issued 10 s later.
    let only_old = fed.public_jwks("ta");
    fed.republish_ec("ta", |c| {
        c.insert("jwks".into(), only_old);
        c.insert("iat".into(), json!(old_iat + 10));
    });
    let seen = resolver.follow_anchor_rollover(&ta).await.unwrap();
    assert!(seen.is_empty());

    fed.publish_raw_ec("ta", &replayed);
    let err = resolver.follow_anchor_rollover(&ta).await.unwrap_err();
    match err {
        AnchorError::StaleConfiguration {
            iat, newest_seen, ..
        } => assert_eq!((iat, newest_seen), (old_iat, old_iat + 10)),
        e => panic!("expected StaleConfiguration, got {e}"),
    }
    let err = resolver
        .accept_anchor_key(&ta, &withdrawn.public_jwk())
        .await
        .unwrap_err();
    assert!(
        matches!(err, AnchorError::StaleConfiguration { .. }),
        "{err}"
    );
    let pinned = resolver.trust_anchors();
    assert!(
        pinned
            .get(&ta)
            .unwrap()
            .keys()
            .get(&withdrawn.kid())
            .is_none()
    );
    assert_eq!(pinned.generation(), 0);
}
