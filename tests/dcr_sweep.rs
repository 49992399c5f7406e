//! Sweeps of gated-DCR clients (issue 17 item 3) on SQLite and PostgreSQL: an organization
//! that cannot be reached is treated like a federation client's unreachable superior —
//! stale while the organization chain of the last validation is valid, suspended after,
//! active again once it resolves — and an organization with several DCR clients is
//! resolved once per sweep, from the sweep's memo of statements shared with the federation
//! clients.

mod dcr_common;
mod registry_common;

use dcr_common::{NOW, gate, org_statement, request, resolver};
use oidfed::EntityType;
use oidfed::registry::{Registry, RegistryError, StatusKind, SweepOutcome};
use oidfed::server::{MemoryReplayGuard, RequestPolicy};
use oidfed::testing::{Federation, FederationBuilder, KeyAlg, TestKey};
use registry_common::{Db, on_both};
use serde_json::json;

const OP: &str = "https://op.example.org";

/// `ta` ← organization `acme` (its statement valid until NOW + 1000) ← leaf `fedrp`.
fn federation() -> Federation {
    FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("acme", &["ta"])
        .statement_exp("ta", "acme", NOW + 1_000)
        .leaf("fedrp", &["acme"])
        .metadata(
            "fedrp",
            "openid_relying_party",
            json!({"client_name": "Federation RP"}),
        )
        .build()
}

/// A DCR client of `acme` for software `software_id` (one client per software: a second
/// registration of the same software updates the first).
async fn dcr_client(
    registry: &Registry,
    fed: &Federation,
    key: &TestKey,
    software_id: &str,
) -> String {
    let (gate, _) = gate(fed);
    let ssa = org_statement(fed, "acme", json!({"software_id": software_id}));
    registry
        .register_dynamic(
            &gate,
            &request(Some(&ssa), json!({"jwks": key.public_jwks()})),
            &MemoryReplayGuard::default(),
        )
        .await
        .expect("registered")
        .registration
        .client_id
}

fn assertion(key: &TestKey, client_id: &str, jti: &str, now: i64) -> String {
    key.sign_jwt(
        "JWT",
        &json!({"iss": client_id, "sub": client_id, "aud": OP, "jti": jti, "exp": now + 60}),
    )
}

#[tokio::test]
async fn unreachable_organization_makes_its_dcr_clients_stale_then_suspended_then_active() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (resolver, clock) = resolver(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        let key = TestKey::generate(KeyAlg::ES256);
        let id = dcr_client(&registry, &fed, &key, "sw-1").await;
        let c = registry.client(&id).await.unwrap().unwrap();
        assert_eq!(c.trust_expires_at(), Some(NOW + 1_000));
        let policy = RequestPolicy::new(OP);
        let guard = MemoryReplayGuard::default();

        fed.set_unavailable("acme", 503);
        clock.set(NOW + 100);
        let report = registry.sweep(&resolver).await.unwrap();
        let Some(SweepOutcome::Stale { retry_at, evidence }) = report.outcome_of(&id) else {
            panic!("{report:?}")
        };
        assert_eq!(*retry_at, NOW + 160);
        assert_eq!(evidence.rule.as_deref(), Some("unreachable"));
        assert_eq!(report.stale, 1, "{report:?}");
        let s = registry.status(&id).await.unwrap().unwrap();
        assert_eq!(s.kind, StatusKind::Stale);
        registry
            .verify_client_assertion(
                &resolver,
                &assertion(&key, &id, "s1", NOW + 100),
                &policy,
                &guard,
            )
            .await
            .expect("stale clients are still served");

        // Past the organization chain's expiry: suspended, not revoked.
        clock.set(NOW + 1_000);
        let report = registry.sweep(&resolver).await.unwrap();
        assert!(
            matches!(report.outcome_of(&id), Some(SweepOutcome::Suspended { .. })),
            "{report:?}"
        );
        assert_eq!((report.suspended, report.revoked), (1, 0), "{report:?}");
        let s = registry.status(&id).await.unwrap().unwrap();
        assert_eq!(s.kind, StatusKind::Suspended);
        let e = registry
            .verify_client_assertion(
                &resolver,
                &assertion(&key, &id, "s2", NOW + 1_000),
                &policy,
                &guard,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(e.registry_error(), Some(RegistryError::Suspended { .. })),
            "{e:?}"
        );

        // The organization is back with a fresh statement: active again, new bound.
        fed.republish_ec("acme", |_| {});
        fed.republish_ss("ta", "acme", |c| {
            c.insert("exp".into(), (NOW + 50_000).into());
        });
        let report = registry.sweep(&resolver).await.unwrap();
        assert!(
            matches!(report.outcome_of(&id), Some(SweepOutcome::Unchanged)),
            "{report:?}"
        );
        let c = registry.client(&id).await.unwrap().unwrap();
        assert_eq!(c.status().kind, StatusKind::Active);
        assert_eq!(c.trust_expires_at(), Some(NOW + 50_000));
        registry
            .verify_client_assertion(
                &resolver,
                &assertion(&key, &id, "s3", NOW + 1_000),
                &policy,
                &guard,
            )
            .await
            .expect("reinstated");
    })
    .await;
}

#[tokio::test]
async fn an_organization_with_three_dcr_clients_is_resolved_once_per_sweep() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (resolver, _) = resolver(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        registry
            .admit(
                &resolver,
                &fed.id("fedrp"),
                &EntityType::OPENID_RELYING_PARTY,
            )
            .await
            .unwrap();
        let key = TestKey::generate(KeyAlg::ES256);
        let mut ids = Vec::new();
        for i in 0..3 {
            ids.push(dcr_client(&registry, &fed, &key, &format!("sw-{i}")).await);
        }
        let mem = fed.fetcher();
        mem.reset_counts();
        let report = registry.sweep(&resolver).await.unwrap();
        assert_eq!(report.unchanged, 4, "{report:?}");
        // acme's configuration serves fedrp's chain and the organization of the three DCR
        // clients: fetched once in the sweep, like every other statement.
        let acme = fed.id("acme").well_known_url();
        assert_eq!(mem.fetches_of(acme.as_str()), 1);
        assert_eq!(mem.max_fetches_per_url(), 1, "{:?}", mem.urls());
        assert_eq!(mem.total_fetches(), report.statements_fetched);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_re_validates_dcr_clients_and_revokes_them_when_their_organization_leaves() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (resolver, clock) = resolver(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        let key = TestKey::generate(KeyAlg::ES256);
        let id = dcr_client(&registry, &fed, &key, "sw-1").await;
        let monitor = registry
            .monitor(&resolver)
            .max_staleness(std::time::Duration::from_secs(600))
            .jitter(std::time::Duration::from_secs(60))
            .subordinate_events(None)
            .build();
        let report = monitor.pass().await.unwrap();
        assert_eq!((report.clients, report.unchanged), (1, 1), "{report:?}");

        // acme leaves the federation: the next pass due revokes its DCR client.
        fed.remove_ss("ta", "acme");
        clock.set(NOW + 60);
        let report = monitor.pass().await.unwrap();
        assert_eq!(report.revoked, 0, "not due yet: {report:?}");
        clock.set(NOW + 600);
        let report = monitor.pass().await.unwrap();
        assert_eq!(report.revoked, 1, "{report:?}");
        let s = registry.status(&id).await.unwrap().unwrap();
        assert_eq!(s.kind, StatusKind::Revoked);
    })
    .await;
}
