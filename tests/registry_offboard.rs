//! Offboarding an organization: every client revoked in one transaction, one audit entry
//! each, consents ended, the organization marked; organizations listed with counts.
#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;
mod registry_common;

use common::{NOW, builder, three_level};
use oidfed::registry::{AuditEvent, Registry, RegistryError, StatusKind};
use registry_common::on_both;
use serde_json::json;

#[tokio::test]
async fn offboarding_revokes_every_client_of_the_organization() {
    on_both(|db| async move {
        let fed = three_level()
            .leaf("rp2", &["org"])
            .metadata("rp2", "openid_relying_party", json!({"client_name": "RP2"}))
            .intermediate("org2", &["ta"])
            .leaf("rp3", &["org2"])
            .metadata("rp3", "openid_relying_party", json!({"client_name": "RP3"}))
            .build();
        let (b, clock) = builder(&fed, &["ta"]);
        let r = b.build().unwrap();
        let reg = Registry::open(&db.url).await.unwrap().with_clock(clock);
        for c in ["rp", "rp2", "rp3"] {
            reg.admit(&r, &fed.id(c), "openid_relying_party")
                .await
                .unwrap();
        }
        reg.grant("alice", &fed.id("rp"), &["openid"])
            .await
            .unwrap();

        let report = reg
            .offboard_organization(&fed.id("org"), "contract ended")
            .await
            .unwrap();
        assert_eq!(
            report.revoked,
            [fed.id("rp").to_string(), fed.id("rp2").to_string()]
        );
        assert!(report.already_revoked.is_empty());
        for c in ["rp", "rp2"] {
            let s = reg.status(&fed.id(c)).await.unwrap().unwrap();
            assert_eq!(s.kind, StatusKind::Revoked);
            assert_eq!(s.since, NOW);
            assert_eq!(s.evidence.unwrap().rule.as_deref(), Some("offboarded"));
            let trail = reg.audit_of_client(&fed.id(c)).await.unwrap();
            assert_eq!(
                trail
                    .iter()
                    .filter(|e| e.event == AuditEvent::Offboarded)
                    .count(),
                1
            );
        }
        assert!(
            reg.status(&fed.id("rp3"))
                .await
                .unwrap()
                .unwrap()
                .is_active()
        );
        assert!(
            reg.consent_of("alice", &fed.id("rp"))
                .await
                .unwrap()
                .is_none()
        );

        let org_trail = reg.audit_of_organization(&fed.id("org")).await.unwrap();
        assert_eq!(
            org_trail
                .iter()
                .filter(|e| e.event == AuditEvent::OrganizationOffboarded)
                .count(),
            1
        );
        let orgs = reg.organizations().await.unwrap();
        let org = orgs
            .iter()
            .find(|o| o.organization_id == fed.id("org").as_str())
            .unwrap();
        assert_eq!(
            (org.clients, org.active_clients, org.offboarded_at),
            (2, 0, Some(NOW))
        );
        let org2 = orgs
            .iter()
            .find(|o| o.organization_id == fed.id("org2").as_str())
            .unwrap();
        assert_eq!(
            (org2.clients, org2.active_clients, org2.offboarded_at),
            (1, 1, None)
        );

        // Again: nothing left to revoke. An unknown organization is a typed error.
        let again = reg
            .offboard_organization(&fed.id("org"), "again")
            .await
            .unwrap();
        assert!(again.revoked.is_empty());
        assert_eq!(again.already_revoked.len(), 2);
        let err = reg
            .offboard_organization("https://nobody.example", "x")
            .await
            .unwrap_err();
        assert!(matches!(
            err.registry_error(),
            Some(RegistryError::UnknownOrganization { .. })
        ));
        // The sweep leaves offboarded clients revoked although their chains still resolve.
        let sweep = reg.sweep(&r).await.unwrap();
        assert_eq!((sweep.skipped, sweep.unchanged), (2, 1));
    })
    .await;
}
