//! One resolver bounds the resolutions it runs at once (issue 13, item 7): beyond
//! `max_concurrent_resolutions` a resolution waits for a turn within its deadline (and fails
//! with `Limit::ConcurrentResolutions` if none comes). Concurrency is counted, never timed (tokio's clock is
//! paused: sleeps only order events).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{NOW, builder};
use oidfed::EntityType;
use oidfed::fetch::{BoxFuture, FetchError, FetchKind, FetchRequest, FetchResponse, Fetcher};
use oidfed::testing::FederationBuilder;
use serde_json::json;
use tokio::task::JoinSet;

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;

/// Serves the federation, holding each leaf's Entity Configuration fetch for `hold`, and
/// counts how many of them are in flight at once. Each resolution fetches its leaf's
/// configuration exactly once, first, while it holds a turn.
struct Counting<F> {
    inner: F,
    hold: Duration,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

impl<F: Fetcher> Fetcher for Counting<F> {
    fn fetch(&self, request: FetchRequest) -> BoxFuture<'_, Result<FetchResponse, FetchError>> {
        Box::pin(async move {
            let leaf = request.kind == FetchKind::EntityConfiguration
                && request.url.path().starts_with("/rp");
            if leaf {
                let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                self.max_in_flight.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(self.hold).await;
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
            }
            self.inner.fetch(request).await
        })
    }
}

fn leaves(n: usize) -> oidfed::testing::Federation {
    let mut b = FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("org", &["ta"]);
    for i in 0..n {
        let name = format!("rp{i}");
        b = b.leaf(&name, &["org"]).metadata(
            &name,
            "openid_relying_party",
            json!({"client_name": name}),
        );
    }
    b.build()
}

#[tokio::test(start_paused = true)]
async fn many_concurrent_resolutions_stay_under_the_bound() {
    let n = 40;
    let fed = leaves(n);
    let max = Arc::new(AtomicUsize::new(0));
    let fetcher = Counting {
        inner: fed.fetcher(),
        hold: Duration::from_millis(20),
        in_flight: Arc::default(),
        max_in_flight: max.clone(),
    };
    let r = builder(&fed, &["ta"])
        .0
        .fetcher(fetcher)
        .max_concurrent_resolutions(4)
        .build()
        .unwrap();
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let (r, id) = (r.clone(), fed.id(&format!("rp{i}")));
        tasks.spawn(async move { r.resolve(&id, &RP).await });
    }
    let mut resolved = 0;
    while let Some(j) = tasks.join_next().await {
        j.unwrap().unwrap();
        resolved += 1;
    }
    // Every resolution waited its turn and resolved; never more than 4 ran at once, and
    // they did run concurrently.
    assert_eq!(resolved, n);
    let max = max.load(Ordering::SeqCst);
    assert!((2..=4).contains(&max), "{max} resolutions ran at once");
    assert_eq!(r.resolutions_in_flight(), 0);
}

/// Holds only `rp0`'s configuration (for an hour): every other fetch is instant.
struct HoldFirst<F>(F);

impl<F: Fetcher> Fetcher for HoldFirst<F> {
    fn fetch(&self, request: FetchRequest) -> BoxFuture<'_, Result<FetchResponse, FetchError>> {
        Box::pin(async move {
            if request.url.path().starts_with("/rp0/") {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            self.0.fetch(request).await
        })
    }
}

#[tokio::test(start_paused = true)]
async fn beyond_the_bound_a_resolution_waits_for_a_turn_within_its_deadline() {
    let fed = leaves(2);
    let r = builder(&fed, &["ta"])
        .0
        .fetcher(HoldFirst(fed.fetcher()))
        .max_concurrent_resolutions(1)
        .resolution_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let first = {
        let (r, id) = (r.clone(), fed.id("rp0"));
        tokio::spawn(async move { r.resolve(&id, &RP).await })
    };
    // Let the first take the only turn; the second waits for it.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let second = {
        let (r, id) = (r.clone(), fed.id("rp1"));
        tokio::spawn(async move { r.resolve(&id, &RP).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(r.resolutions_in_flight(), 1);
    assert!(!second.is_finished(), "the second ran beside the first");
    // The first runs out of its time and gives up its turn; the second, started 10 ms
    // later, takes it and resolves within what is left of its own deadline.
    let e = first.await.unwrap().unwrap_err();
    assert!(e.is_transient(), "{e}");
    let rp1 = second.await.unwrap().unwrap();
    assert_eq!(rp1.metadata()["client_name"], "rp1");
    assert_eq!(r.resolutions_in_flight(), 0);
}
