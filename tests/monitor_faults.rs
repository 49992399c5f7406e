//! The database failing under the monitor (a real PostgreSQL server stopped in the middle
//! of a pass, and under a running monitor): typed errors and events, nothing half-written,
//! no status lost, and the work done once the database is back.
#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod registry_common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oidfed::fetch::{BoxFuture, FetchError, FetchRequest, FetchResponse, Fetcher, MemoryFetcher};
use oidfed::registry::events::MonitorEvent;
use oidfed::registry::monitor::{Monitor, MonitorError};
use oidfed::registry::{AuditEvent, Registry, RegistryError, StatusKind};
use oidfed::testing::FederationBuilder;
use oidfed::testing::postgres::TestPostgres;
use oidfed::{EntityType, FixedClock, Resolver};
use serde_json::json;

const NOW: i64 = 1_800_000_000;
const RP: EntityType = EntityType::OPENID_RELYING_PARTY;
const N: usize = 40;

/// Serves the federation, and stops the database on the `trip`-th request.
struct Tripwire {
    inner: MemoryFetcher,
    seen: AtomicUsize,
    trip: AtomicUsize,
    pg: Arc<Mutex<TestPostgres>>,
}

impl Fetcher for Tripwire {
    fn fetch(&self, r: FetchRequest) -> BoxFuture<'_, Result<FetchResponse, FetchError>> {
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.trip.load(Ordering::SeqCst) {
            self.pg.lock().unwrap().stop().expect("stop postgres");
        }
        self.inner.fetch(r)
    }
}

async fn pass_until_ok(m: &Monitor) -> oidfed::registry::monitor::PassReport {
    for _ in 0..20 {
        match m.pass().await {
            Ok(r) => return r,
            Err(e) => {
                eprintln!("pass failed (retrying): {e}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
    panic!("no pass succeeded after the database came back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_down_during_a_pass_loses_no_status() {
    let pg = TestPostgres::launch().unwrap_or_else(|e| panic!("{e}"));
    let url = pg.url();
    let pg = Arc::new(Mutex::new(pg));
    let names: Vec<String> = (0..N).map(|i| format!("rp{i:02}")).collect();
    let mut b = FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("org", &["ta"]);
    for n in &names {
        b = b
            .leaf(n, &["org"])
            .metadata(n, RP.as_str(), json!({"client_name": n}));
    }
    let fed = b.build();
    let clock = FixedClock::new(NOW);
    let trip = Arc::new(Tripwire {
        inner: fed.fetcher(),
        seen: AtomicUsize::new(0),
        trip: AtomicUsize::new(usize::MAX),
        pg: pg.clone(),
    });
    let r = Resolver::builder()
        .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
        .fetcher(trip.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let registry = Registry::open(&url).await.unwrap();
    for n in &names {
        registry.admit(&r, &fed.id(n), &RP).await.unwrap();
    }
    let m = registry
        .monitor(&r)
        .max_staleness(Duration::from_secs(600))
        .subordinate_events(None)
        .concurrency(1)
        .build();
    let mut rx = m.subscribe();

    // The anchor drops the organization: every client is to be revoked. The database goes
    // down a third of the way through the pass.
    fed.remove_ss("ta", "org");
    clock.set(NOW + 700);
    trip.seen.store(0, Ordering::SeqCst);
    trip.trip.store(N / 3 * 2, Ordering::SeqCst);
    let report = m.pass().await.expect("the pass itself goes on");
    let (unwritten, revoked_first) = (report.not_written, report.revoked);
    assert!(report.revoked > 0 && report.not_written > 0, "{report:?}");
    // It stops trying once the writes keep failing: the rest stay due.
    assert!(
        report.interrupted && report.revoked + report.not_written < N,
        "{report:?}"
    );
    let mut typed = 0;
    while let Ok(ev) = rx.try_recv() {
        if let MonitorEvent::Failed(e) = ev {
            if let MonitorError::NotWritten { error, .. } = &*e {
                assert!(error.is_transient(), "{error}");
                typed += 1;
            }
        }
    }
    assert_eq!(
        typed, report.not_written,
        "every unwritten client is a typed event"
    );

    // While it is down a pass is refused with a typed, transient error.
    match m.pass().await {
        Err(MonitorError::Registry(e @ RegistryError::Database { .. })) => {
            assert!(e.is_transient())
        }
        other => panic!("expected a database error, got {other:?}"),
    }

    // Back up: the next pass revokes the rest; nothing was half-written or lost.
    pg.lock().unwrap().start().expect("start postgres");
    let report = pass_until_ok(&m).await;
    assert_eq!(
        report.clients,
        N - revoked_first,
        "the revoked ones are done"
    );
    assert_eq!(report.revoked, report.clients);
    assert!(unwritten > 0);
    let trail = registry.audit_after(0, 10_000).await.unwrap();
    for n in &names {
        let id = fed.id(n);
        let status = registry.status(&id).await.unwrap().unwrap();
        assert_eq!(status.kind, StatusKind::Revoked, "{n}");
        let revocations = trail
            .iter()
            .filter(|e| {
                e.client_id.as_deref() == Some(id.as_str())
                    && e.event == AuditEvent::StatusChanged
                    && e.status().is_some_and(|s| s.kind == StatusKind::Revoked)
            })
            .count();
        assert_eq!(revocations, 1, "{n}: one revocation entry");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_monitor_reports_the_database_down_and_recovers() {
    let pg = TestPostgres::launch().unwrap_or_else(|e| panic!("{e}"));
    let url = pg.url();
    let mut pg = pg;
    let fed = FederationBuilder::new("https://fed.example")
        .anchor("ta")
        .intermediate("org", &["ta"])
        .leaf("rp", &["org"])
        .metadata("rp", RP.as_str(), json!({"client_name": "RP"}))
        .build();
    let r = Resolver::builder()
        .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
        .fetcher(fed.fetcher())
        .build()
        .unwrap();
    let registry = Registry::open(&url).await.unwrap();
    registry.admit(&r, &fed.id("rp"), &RP).await.unwrap();
    let handle = registry
        .monitor(&r)
        .idle(Duration::from_millis(100))
        .watch_poll(Duration::from_millis(100), Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let mut rx = handle.subscribe();
    let wait = |rx: &mut tokio::sync::broadcast::Receiver<MonitorEvent>,
                want: fn(&MonitorEvent) -> bool| {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let mut rx = rx.resubscribe();
        async move {
            loop {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Ok(ev)) if want(&ev) => return,
                    Ok(_) => continue,
                    Err(_) => panic!("event not seen in time"),
                }
            }
        }
    };
    wait(&mut rx, |e| matches!(e, MonitorEvent::PassCompleted(_))).await;
    pg.stop().expect("stop");
    wait(&mut rx, |e| {
        matches!(e, MonitorEvent::Failed(f) if matches!(&**f, MonitorError::Registry(RegistryError::Database { transient: true, .. })))
    })
    .await;
    // An operator asks for a re-validation while the database is down.
    handle.monitor().revalidate_soon(fed.id("rp").as_str());
    pg.start().expect("start");
    // The loop carries on by itself: it passes again once the database answers.
    wait(
        &mut rx,
        |e| matches!(e, MonitorEvent::PassCompleted(r) if r.revalidated == 1),
    )
    .await;
    handle.stop().await;
}
