//! The trust monitor on one replica and on two replicas sharing a database, on SQLite (a
//! temporary file) and PostgreSQL (a throwaway server), with an injected clock: no test
//! sleeps for the minutes it simulates.
#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod registry_common;

use std::time::Duration;

use oidfed::registry::events::{ClientEventKind, MonitorEvent};
use oidfed::registry::monitor::Monitor;
use oidfed::registry::{Registry, StatusKind};
use oidfed::testing::{Federation, FederationBuilder};
use oidfed::{EntityType, FixedClock, Resolver};
use registry_common::{Db, on_both};
use serde_json::json;
use tokio::sync::broadcast;

const NOW: i64 = 1_800_000_000;
const RP: EntityType = EntityType::OPENID_RELYING_PARTY;
const MINUTE: Duration = Duration::from_secs(60);

fn federation(leaves: &[(&str, &str)]) -> Federation {
    let mut b = FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("org", &["ta"])
        .intermediate("org2", &["ta"]);
    for (leaf, sup) in leaves {
        b = b.leaf(leaf, &[sup]).metadata(
            leaf,
            RP.as_str(),
            json!({"client_name": leaf, "redirect_uris": [format!("https://{leaf}.example/cb")]}),
        );
    }
    b.build()
}

fn resolver(fed: &Federation, clock: &FixedClock) -> Resolver {
    Resolver::builder()
        .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
        .fetcher(fed.fetcher())
        .clock(clock.clone())
        .statement_cache(256 * 1024 * 1024, 86_400)
        .build()
        .expect("resolver")
}

/// A monitor for explicit passes: 10 minutes of staleness, 1 minute of jitter, no events.
fn monitor(registry: &Registry, resolver: &Resolver) -> Monitor {
    registry
        .monitor(resolver)
        .max_staleness(10 * MINUTE)
        .jitter(MINUTE)
        .refresh_ahead(MINUTE)
        .subordinate_events(None)
        .build()
}

/// A replica that only follows the changes, quickly.
async fn watcher(
    registry: &Registry,
    resolver: &Resolver,
) -> oidfed::registry::monitor::MonitorHandle {
    registry
        .monitor(resolver)
        .sweeper(false)
        .watch_poll(Duration::from_millis(50), Duration::from_millis(500))
        .start()
        .await
        .expect("watcher")
}

/// The next client event of `kind` (by discriminant) within `within`, skipping others.
async fn next_client_event(
    rx: &mut broadcast::Receiver<MonitorEvent>,
    within: Duration,
    matches: impl Fn(&ClientEventKind) -> bool,
) -> oidfed::registry::events::ClientEvent {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("the event in time")
            .expect("the channel open");
        if let MonitorEvent::Client(c) = ev {
            if matches(&c.kind) {
                return c;
            }
        }
    }
}

async fn open(db: &Db) -> Registry {
    Registry::open(&db.url).await.expect("open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partner_exit_is_seen_within_max_staleness() {
    on_both(|db| async move {
        let fed = federation(&[("rp", "org"), ("other", "org2")]);
        let clock = FixedClock::new(NOW);
        let r = resolver(&fed, &clock);
        let registry = open(&db).await;
        for c in ["rp", "other"] {
            registry.admit(&r, &fed.id(c), &RP).await.expect("admit");
        }
        let m = monitor(&registry, &r);
        let report = m.pass().await.expect("pass");
        assert_eq!(
            (report.clients, report.revalidated),
            (2, 0),
            "just admitted: nothing due"
        );
        // The partner leaves: its organization's statement about it is gone.
        fed.remove_ss("org", "rp");
        clock.set(NOW + 8 * 60);
        let report = m.pass().await.expect("pass");
        assert_eq!(
            report.revalidated, 0,
            "before the jitter window nothing is due"
        );
        assert!(
            registry
                .status(&fed.id("rp"))
                .await
                .unwrap()
                .unwrap()
                .is_active()
        );
        // At max_staleness at the latest, the client is re-validated and revoked.
        clock.set(NOW + 10 * 60);
        let report = m.pass().await.expect("pass");
        assert_eq!((report.revalidated, report.revoked), (2, 1));
        let status = registry.status(&fed.id("rp")).await.unwrap().unwrap();
        assert_eq!(status.kind, StatusKind::Revoked);
        let evidence = status.evidence.expect("evidence");
        let statement = evidence.statement.expect("the statement");
        assert_eq!(
            (statement.issuer.as_str(), statement.subject.as_str()),
            (fed.id("org").as_str(), fed.id("rp").as_str())
        );
        assert_eq!(evidence.rule.as_deref(), Some("not_found"));
        assert!(
            registry
                .status(&fed.id("other"))
                .await
                .unwrap()
                .unwrap()
                .is_active()
        );
        // A revoked client is never re-validated back, even when its statement returns.
        fed.republish_ss("org", "rp", |_| {});
        clock.set(NOW + 30 * 60);
        let report = m.pass().await.expect("pass");
        assert_eq!(report.clients, 1, "revoked clients are not looked at");
        assert!(
            registry
                .status(&fed.id("rp"))
                .await
                .unwrap()
                .unwrap()
                .is_revoked()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_moving_its_client_is_an_event_with_the_audit_entry() {
    on_both(|db| async move {
        let fed = federation(&[("rp", "org")]);
        let clock = FixedClock::new(NOW);
        let r = resolver(&fed, &clock);
        let registry = open(&db).await;
        registry.admit(&r, &fed.id("rp"), &RP).await.expect("admit");
        let w = watcher(&registry, &r).await;
        let mut rx = w.subscribe();
        fed.move_under("rp", "org", "org2");
        clock.set(NOW + 11 * 60);
        let report = monitor(&registry, &r).pass().await.expect("pass");
        assert_eq!(report.changed, 1);
        let client = registry.client(&fed.id("rp")).await.unwrap().unwrap();
        assert_eq!(client.organization_id(), Some(fed.id("org2").as_str()));
        let ev = next_client_event(&mut rx, Duration::from_secs(10), |k| {
            matches!(k, ClientEventKind::OrganizationChanged { .. })
        })
        .await;
        assert_eq!(
            ev.kind,
            ClientEventKind::OrganizationChanged {
                from: Some(fed.id("org").to_string()),
                to: Some(fed.id("org2").to_string()),
            }
        );
        assert_eq!(ev.client_id, fed.id("rp").as_str());
        assert_eq!(ev.audit.event, oidfed::registry::AuditEvent::Changed);
        assert!(ev.audit.seq > 0);
        w.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotations_cost_checks_only_for_the_new_bytes() {
    on_both(|db| async move {
        let fed = federation(&[("rp", "org"), ("rp2", "org")]);
        let clock = FixedClock::new(NOW);
        let r = resolver(&fed, &clock);
        let registry = open(&db).await;
        for c in ["rp", "rp2"] {
            registry.admit(&r, &fed.id(c), &RP).await.expect("admit");
        }
        let before = registry.client(&fed.id("rp")).await.unwrap().unwrap();
        let m = monitor(&registry, &r);
        let w = watcher(&registry, &r).await;
        let mut rx = w.subscribe();

        // Nothing changed: every statement fetched again, no signature checked.
        clock.set(NOW + 11 * 60);
        let report = m.pass().await.expect("pass");
        assert_eq!((report.revalidated, report.unchanged), (2, 2));
        assert_eq!(report.signature_checks, 0, "unchanged bytes cost no check");
        assert!(report.fetches > 0);

        // The superior rotates its key: its configuration, its superior's statement about
        // it and its statements about both clients are new bytes, checked once each.
        fed.rotate_key("org");
        clock.set(NOW + 22 * 60);
        let report = m.pass().await.expect("pass");
        assert_eq!(report.revalidated, 2);
        assert!(report.signature_checks > 0);
        let after = registry.client(&fed.id("rp")).await.unwrap().unwrap();
        assert!(after.status().is_active());
        assert_ne!(
            before.record().unwrap().chain_fingerprint,
            after.record().unwrap().chain_fingerprint,
            "the record rests on the new chain"
        );
        let rotated = report.signature_checks;

        // The client itself rotates its Federation Entity Key: an event on every replica.
        fed.rotate_key("rp");
        clock.set(NOW + 33 * 60);
        let report = m.pass().await.expect("pass");
        assert_eq!(report.changed, 1);
        assert!(
            report.signature_checks < rotated,
            "only rp's two new statements: {} vs {rotated}",
            report.signature_checks
        );
        let ev = next_client_event(&mut rx, Duration::from_secs(10), |k| {
            matches!(k, ClientEventKind::FederationKeysRotated { .. })
        })
        .await;
        assert_eq!(ev.client_id, fed.id("rp").as_str());

        clock.set(NOW + 44 * 60);
        let report = m.pass().await.expect("pass");
        assert_eq!(report.signature_checks, 0);
        w.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intermediate_serving_a_thousand_clients_is_fetched_once_per_pass() {
    on_both(|db| async move {
        let names: Vec<String> = (0..1000).map(|i| format!("rp{i:04}")).collect();
        let leaves: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "org")).collect();
        let fed = federation(&leaves);
        let clock = FixedClock::new(NOW);
        let r = resolver(&fed, &clock);
        let registry = open(&db).await;
        for n in &names {
            registry.admit(&r, &fed.id(n), &RP).await.expect("admit");
        }
        let m = registry
            .monitor(&r)
            .max_staleness(10 * MINUTE)
            .subordinate_events(None)
            .concurrency(32)
            .build();
        let f = fed.fetcher();
        let org_ec = fed.id("org").well_known_url().to_string();
        let ta_ec = fed.id("ta").well_known_url().to_string();
        for pass in 1..=2 {
            f.reset_counts();
            clock.set(NOW + pass * 11 * 60);
            let report = m.pass().await.expect("pass");
            assert_eq!(report.revalidated, 1000);
            assert_eq!(
                f.fetches_of(&org_ec),
                1,
                "pass {pass}: the intermediate once"
            );
            assert_eq!(f.fetches_of(&ta_ec), 1, "pass {pass}: the anchor once");
            // Each client's configuration and statement, plus the intermediate's
            // configuration, the anchor's statement about it and the anchor's configuration.
            assert_eq!(f.total_fetches(), 2 * 1000 + 3, "pass {pass}");
            assert_eq!(report.fetches, 2003);
            assert_eq!(report.statements, 2003);
            assert_eq!(report.signature_checks, 0, "pass {pass}: nothing changed");
        }
        // One client's statement changes: its bytes, and only those, are checked.
        fed.republish_ss("org", "rp0007", |c| {
            c.insert(
                "metadata".into(),
                json!({"openid_relying_party": {"contacts": ["new@rp.example"]}}),
            );
        });
        clock.set(NOW + 3 * 11 * 60);
        let report = m.pass().await.expect("pass");
        assert_eq!(report.changed, 1);
        assert!(
            (1..=2).contains(&report.signature_checks),
            "checks: {}",
            report.signature_checks
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_the_sweeper_is_refused_by_the_other_replica_within_seconds() {
    on_both(|db| async move {
        let fed = federation(&[("rp", "org")]);
        // Two replicas: their own registry handles, resolvers, caches and clocks.
        let (clock_a, clock_b) = (FixedClock::new(NOW), FixedClock::new(NOW));
        let (ra, rb) = (resolver(&fed, &clock_a), resolver(&fed, &clock_b));
        let (a, b) = (open(&db).await, open(&db).await);
        b.admit(&rb, &fed.id("rp"), &RP).await.expect("admit on B");
        // B's resolver holds the record in its cache.
        rb.record(&fed.id("rp"), &RP).await.expect("cached");
        let wb = watcher(&b, &rb).await;
        let mut rx = wb.subscribe();

        fed.remove_ss("org", "rp");
        clock_a.set(NOW + 11 * 60);
        let started = std::time::Instant::now();
        let report = monitor(&a, &ra).pass().await.expect("pass on A");
        assert_eq!(report.revoked, 1);

        // B refuses at once: its status reads the shared database.
        let st = b.status(&fed.id("rp")).await.unwrap().unwrap();
        assert!(!st.is_active());
        // And B's watcher publishes the revocation with its evidence within seconds.
        let ev = next_client_event(&mut rx, Duration::from_secs(5), |k| {
            matches!(k, ClientEventKind::Revoked)
        })
        .await;
        eprintln!("revocation seen on B after {:?}", started.elapsed());
        assert_eq!(ev.client_id, fed.id("rp").as_str());
        assert!(ev.evidence.is_some());
        // B's resolver dropped its cached record: asked again, it resolves anew and fails.
        let again = rb.record(&fed.id("rp"), &RP).await;
        assert!(again.is_err(), "B still trusted its cached record");
        wb.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_superior_backs_off_then_suspends_then_reinstates() {
    on_both(|db| async move {
        let fed = FederationBuilder::new("https://fed.example")
            .now(NOW)
            .lifetime(3600)
            .anchor("ta")
            .intermediate("org", &["ta"])
            .leaf("rp", &["org"])
            .metadata("rp", RP.as_str(), json!({"client_name": "RP"}))
            .build();
        let clock = FixedClock::new(NOW);
        let r = resolver(&fed, &clock);
        let registry = open(&db).await;
        let w = watcher(&registry, &r).await;
        let mut rx = w.subscribe();
        registry.admit(&r, &fed.id("rp"), &RP).await.expect("admit");
        next_client_event(&mut rx, Duration::from_secs(10), |k| {
            matches!(k, ClientEventKind::Admitted { readmitted: false })
        })
        .await;
        let m = registry
            .monitor(&r)
            .max_staleness(10 * MINUTE)
            .jitter(Duration::ZERO)
            .refresh_ahead(MINUTE)
            .backoff(MINUTE, 4 * MINUTE)
            .subordinate_events(None)
            .build();

        fed.set_unavailable("org", 503);
        clock.set(NOW + 600);
        assert_eq!(m.pass().await.unwrap().stale, 1);
        next_client_event(&mut rx, Duration::from_secs(10), |k| {
            matches!(k, ClientEventKind::Stale { .. })
        })
        .await;
        // Backing off: 60 s after the first failure, then 120 s after the second.
        clock.set(NOW + 630);
        assert_eq!(m.pass().await.unwrap().revalidated, 0);
        clock.set(NOW + 660);
        assert_eq!(m.pass().await.unwrap().revalidated, 1);
        clock.set(NOW + 760);
        assert_eq!(m.pass().await.unwrap().revalidated, 0);
        clock.set(NOW + 780);
        assert_eq!(m.pass().await.unwrap().revalidated, 1);
        // Past the record's expiry: suspended (refused), on time despite the back-off.
        clock.set(NOW + 3600);
        let report = m.pass().await.unwrap();
        assert_eq!(report.suspended, 1, "{report:?}");
        assert_eq!(
            registry.status(&fed.id("rp")).await.unwrap().unwrap().kind,
            StatusKind::Suspended
        );
        next_client_event(&mut rx, Duration::from_secs(10), |k| {
            matches!(k, ClientEventKind::Suspended)
        })
        .await;
        // The federation is back with fresh statements: active again.
        let fresh = |c: &mut serde_json::Map<String, serde_json::Value>| {
            c.insert("iat".into(), json!(NOW + 3600));
            c.insert("exp".into(), json!(NOW + 7200));
        };
        for name in ["ta", "org", "rp"] {
            fed.republish_ec(name, fresh);
        }
        fed.republish_ss("ta", "org", fresh);
        fed.republish_ss("org", "rp", fresh);
        clock.set(NOW + 3900);
        let report = m.pass().await.unwrap();
        assert_eq!(report.reinstated, 1, "{report:?}");
        let ev = next_client_event(&mut rx, Duration::from_secs(10), |k| {
            matches!(k, ClientEventKind::Reinstated { .. })
        })
        .await;
        assert_eq!(
            ev.kind,
            ClientEventKind::Reinstated {
                from: StatusKind::Suspended
            }
        );
        w.stop().await;
    })
    .await;
}
