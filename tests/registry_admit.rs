//! Admission: a client resolved, bound to its organization and stored; queries by
//! organization; strict organization mode; revoked clients refused until re-admitted.
#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;
mod registry_common;

use common::{NOW, builder, three_level};
use oidfed::registry::{AuditEvent, Registry, RegistryError, StatusKind};
use oidfed::{EntityType, Error};
use registry_common::on_both;

#[tokio::test]
async fn admit_binds_to_the_organization_and_queries_by_it() {
    on_both(|db| async move {
        let fed = three_level()
            .leaf("rp2", &["org"])
            .metadata(
                "rp2",
                "openid_relying_party",
                serde_json::json!({"client_name": "RP2"}),
            )
            .build();
        let (b, _clock) = builder(&fed, &["ta"]);
        let resolver = b.build().unwrap();
        let registry = Registry::open(&db.url).await.unwrap();
        assert_eq!(registry.schema_version().await.unwrap(), 3);

        let c = registry
            .admit(&resolver, &fed.id("rp"), &EntityType::OPENID_RELYING_PARTY)
            .await
            .unwrap();
        assert_eq!(c.organization_id(), Some(fed.id("org").as_str()));
        assert_eq!(c.status().kind, StatusKind::Active);
        assert_eq!(c.admitted_at(), NOW);
        // Strings work as well as typed values.
        registry
            .admit(&resolver, fed.id("rp2").as_str(), "openid_relying_party")
            .await
            .unwrap();

        let status = registry.status(&fed.id("rp")).await.unwrap().unwrap();
        assert!(status.is_active());
        assert!(
            registry
                .status("https://fed.example/nobody")
                .await
                .unwrap()
                .is_none()
        );

        let of_org = registry.clients_of(&fed.id("org")).await.unwrap();
        let ids: Vec<&str> = of_org.iter().map(|c| c.client_id()).collect();
        assert_eq!(ids, [fed.id("rp").as_str(), fed.id("rp2").as_str()]);
        assert!(registry.clients_of(&fed.id("ta")).await.unwrap().is_empty());

        let orgs = registry.organizations().await.unwrap();
        assert_eq!(orgs.len(), 1);
        assert_eq!(orgs[0].organization_id, fed.id("org").as_str());
        assert_eq!((orgs[0].clients, orgs[0].active_clients), (2, 2));

        // A second handle on the same database sees it all.
        let other = Registry::open(&db.url).await.unwrap();
        let stored = other.client(&fed.id("rp")).await.unwrap().unwrap();
        assert_eq!(stored.record().unwrap().keys, c.record().unwrap().keys);

        let trail = registry.audit_of_client(&fed.id("rp")).await.unwrap();
        assert_eq!(trail.len(), 1);
        assert_eq!(trail[0].event, AuditEvent::Admitted);
        assert_eq!(
            trail[0].organization_id.as_deref(),
            Some(fed.id("org").as_str())
        );
        assert_eq!(
            trail[0].chain_fingerprint.as_deref(),
            Some(c.record().unwrap().chain_fingerprint.as_str())
        );
        assert_eq!(
            trail[0].trust_anchor.as_deref(),
            Some(fed.id("ta").as_str())
        );
    })
    .await;
}

#[tokio::test]
async fn strict_mode_refuses_an_unowned_client() {
    on_both(|db| async move {
        // Nobody asserts rp's organization: only the chain's structure names one.
        let fed = three_level().build();
        let (b, _clock) = builder(&fed, &["ta"]);
        let strict = b.require_asserted_organization(true).build().unwrap();
        let registry = Registry::open(&db.url).await.unwrap();
        let err = registry
            .admit(&strict, &fed.id("rp"), &EntityType::OPENID_RELYING_PARTY)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.registry_error(),
                Some(RegistryError::NoOrganization { .. })
            ),
            "{err:?}"
        );
        assert!(registry.status(&fed.id("rp")).await.unwrap().is_none());
        let trail = registry.audit_of_client(&fed.id("rp")).await.unwrap();
        assert_eq!(trail.len(), 1);
        assert_eq!(trail[0].event, AuditEvent::AdmissionRefused);
    })
    .await;
}

#[tokio::test]
async fn a_revoked_client_is_refused_until_deliberately_readmitted() {
    on_both(|db| async move {
        let fed = three_level().build();
        let (b, _clock) = builder(&fed, &["ta"]);
        let resolver = b.build().unwrap();
        let registry = Registry::open(&db.url).await.unwrap();
        registry
            .admit(&resolver, &fed.id("rp"), &EntityType::OPENID_RELYING_PARTY)
            .await
            .unwrap();
        let s = registry
            .offboard_client(&fed.id("rp"), "contract ended")
            .await
            .unwrap();
        assert_eq!(s.kind, StatusKind::Revoked);

        let err = registry
            .admit(&resolver, &fed.id("rp"), &EntityType::OPENID_RELYING_PARTY)
            .await
            .unwrap_err();
        let Error::Registry(e) = &err else {
            panic!("{err:?}")
        };
        assert!(matches!(**e, RegistryError::Revoked { .. }), "{e:?}");
        assert!(
            !registry
                .status(&fed.id("rp"))
                .await
                .unwrap()
                .unwrap()
                .is_active()
        );

        let c = registry
            .readmit(
                &resolver,
                &fed.id("rp"),
                "openid_relying_party",
                "new contract TICKET-9",
            )
            .await
            .unwrap();
        assert!(c.status().is_active());
        let events: Vec<AuditEvent> = registry
            .audit_of_client(&fed.id("rp"))
            .await
            .unwrap()
            .iter()
            .map(|e| e.event)
            .collect();
        assert_eq!(
            events,
            [
                AuditEvent::Admitted,
                AuditEvent::Offboarded,
                AuditEvent::Readmitted,
                AuditEvent::StatusChanged
            ]
        );
    })
    .await;
}
