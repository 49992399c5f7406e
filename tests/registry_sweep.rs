//! Sweeps: a partner that leaves is seen on the next sweep, with evidence; an unreachable
//! superior makes clients stale, then suspended past expiry, then active again; each
//! distinct statement is fetched once per sweep and unchanged bytes cost no signature check.
#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;
mod registry_common;

use common::{NOW, builder, three_level};
use oidfed::registry::{AuditEvent, Registry, StatusKind, SweepOutcome};
use oidfed::{EntityType, FixedClock};
use registry_common::on_both;

#[tokio::test]
async fn a_removed_subordinate_statement_revokes_on_the_next_sweep_with_evidence() {
    on_both(|db| async move {
        let fed = three_level().build();
        let (b, _clock) = builder(&fed, &["ta"]);
        let resolver = b.build().unwrap();
        let registry = Registry::open(&db.url).await.unwrap();
        registry
            .admit(&resolver, &fed.id("rp"), &EntityType::OPENID_RELYING_PARTY)
            .await
            .unwrap();
        let report = registry.sweep(&resolver).await.unwrap();
        assert_eq!(report.unchanged, 1, "{report:?}");

        // The organization's superior statement about rp is withdrawn; every statement is
        // still cached by the resolver and far from its exp.
        fed.remove_ss("org", "rp");
        let report = registry.sweep(&resolver).await.unwrap();
        assert_eq!(report.revoked, 1, "{report:?}");
        let Some(SweepOutcome::Revoked { evidence }) = report.outcome_of(fed.id("rp").as_str())
        else {
            panic!("{report:?}")
        };
        let st = evidence.statement.as_ref().unwrap();
        assert_eq!(st.issuer, fed.id("org").as_str());
        assert_eq!(st.subject, fed.id("rp").as_str());
        assert_eq!(evidence.rule.as_deref(), Some("not_found"));

        let status = registry.status(&fed.id("rp")).await.unwrap().unwrap();
        assert_eq!(status.kind, StatusKind::Revoked);
        assert_eq!(status.since, NOW);
        assert_eq!(status.evidence.as_ref(), Some(evidence));
        let last = registry
            .audit_of_client(&fed.id("rp"))
            .await
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(last.event, AuditEvent::StatusChanged);
        assert_eq!(last.status().unwrap().kind, StatusKind::Revoked);

        // The statement comes back: the client stays revoked (no sweep re-validates it).
        fed.republish_ss("org", "rp", |_| {});
        let report = registry.sweep(&resolver).await.unwrap();
        assert_eq!((report.skipped, report.unchanged), (1, 0));
        assert_eq!(
            registry.status(&fed.id("rp")).await.unwrap().unwrap().kind,
            StatusKind::Revoked
        );
    })
    .await;
}

#[tokio::test]
async fn superior_down_stale_then_suspended_after_expiry_then_active_again() {
    on_both(|db| async move {
        let fed = three_level()
            .statement_exp("org", "rp", NOW + 1_000)
            .build();
        let (b, clock): (_, FixedClock) = builder(&fed, &["ta"]);
        let resolver = b.build().unwrap();
        let registry = Registry::open(&db.url).await.unwrap();
        let c = registry
            .admit(&resolver, &fed.id("rp"), &EntityType::OPENID_RELYING_PARTY)
            .await
            .unwrap();
        assert_eq!(c.record().unwrap().expires_at, NOW + 1_000);

        fed.set_unavailable("org", 503);
        clock.set(NOW + 100);
        let report = registry.sweep(&resolver).await.unwrap();
        let Some(SweepOutcome::Stale { retry_at, evidence }) =
            report.outcome_of(fed.id("rp").as_str())
        else {
            panic!("{report:?}")
        };
        assert_eq!(*retry_at, NOW + 160);
        assert_eq!(evidence.rule.as_deref(), Some("unreachable"));
        let s = registry.status(&fed.id("rp")).await.unwrap().unwrap();
        assert_eq!(s.kind, StatusKind::Stale);
        assert!(s.is_active());

        clock.set(NOW + 1_000);
        let report = registry.sweep(&resolver).await.unwrap();
        assert_eq!(report.suspended, 1, "{report:?}");
        let s = registry.status(&fed.id("rp")).await.unwrap().unwrap();
        assert_eq!(s.kind, StatusKind::Suspended);
        assert!(!s.is_active());
        assert_eq!(s.since, NOW + 1_000);

        // The organization is back, with a fresh statement about rp.
        fed.republish_ec("org", |_| {});
        fed.republish_ss("org", "rp", |c| {
            c.insert("exp".into(), (NOW + 50_000).into());
        });
        let report = registry.sweep(&resolver).await.unwrap();
        assert_eq!(
            report.revoked + report.suspended + report.stale,
            0,
            "{report:?}"
        );
        let s = registry.status(&fed.id("rp")).await.unwrap().unwrap();
        assert_eq!(s.kind, StatusKind::Active);
        let transitions: Vec<(String, String)> = registry
            .audit_of_client(&fed.id("rp"))
            .await
            .unwrap()
            .iter()
            .filter(|e| e.event == AuditEvent::StatusChanged)
            .map(|e| {
                (
                    e.detail["from"].as_str().unwrap().to_string(),
                    e.detail["to"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let t = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            transitions,
            [
                t("active", "stale"),
                t("stale", "suspended"),
                t("suspended", "active")
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn one_fetch_per_statement_per_sweep_and_no_signature_check_for_unchanged_bytes() {
    on_both(|db| async move {
        let mut fb = three_level();
        let n = 20;
        for i in 0..n {
            let name = format!("app{i}");
            fb = fb.leaf(&name, &["org"]).metadata(
                &name,
                "openid_relying_party",
                serde_json::json!({"client_name": name}),
            );
        }
        let fed = fb.build();
        let (b, _clock) = builder(&fed, &["ta"]);
        let resolver = b.build().unwrap();
        let registry = Registry::open(&db.url).await.unwrap();
        for i in 0..n {
            registry
                .admit(
                    &resolver,
                    &fed.id(&format!("app{i}")),
                    "openid_relying_party",
                )
                .await
                .unwrap();
        }
        let fetcher = fed.fetcher();
        fetcher.reset_counts();
        let first = registry.sweep(&resolver).await.unwrap();
        assert_eq!(first.unchanged, n);
        // Each app's EC and org's statement about it, org's EC, ta's statement about org,
        // ta's EC: once each.
        assert_eq!(first.statements_fetched, 2 * n + 3);
        assert_eq!(fetcher.max_fetches_per_url(), 1);
        assert_eq!(fetcher.total_fetches(), 2 * n + 3);
        // Everything was verified at admission: identical bytes cost nothing.
        assert_eq!(first.signature_checks, 0, "{first:?}");

        // One statement changes: only it is verified again.
        fed.republish_ss("org", "app3", |c| {
            c.insert(
                "metadata".into(),
                serde_json::json!({"openid_relying_party": {"client_name": "renamed"}}),
            );
        });
        let second = registry.sweep(&resolver).await.unwrap();
        assert_eq!((second.changed, second.unchanged), (1, n - 1), "{second:?}");
        assert_eq!(second.signature_checks, 1, "{second:?}");
        let app3 = registry.client(&fed.id("app3")).await.unwrap().unwrap();
        assert_eq!(app3.record().unwrap().metadata["client_name"], "renamed");
    })
    .await;
}
