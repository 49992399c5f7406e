//! Per-client consent: never transfers to another client (even of the same organization),
//! is narrowed when the metadata no longer allows a scope, and ends when the client is
//! revoked or changes organization.
#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;
mod registry_common;

use common::{builder, three_level};
use oidfed::registry::{AuditEvent, ConsentCheck, Registry, RegistryError};
use registry_common::on_both;
use serde_json::json;

fn scopes(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn consent_is_per_client_narrowed_and_ended_by_revocation_and_organization_change() {
    on_both(|db| async move {
        let fed = three_level()
            .intermediate("org2", &["ta"])
            .metadata(
                "rp",
                "openid_relying_party",
                json!({"client_name": "RP", "scope": "openid profile email"}),
            )
            .leaf("rp2", &["org"])
            .metadata("rp2", "openid_relying_party", json!({"client_name": "RP2"}))
            .build();
        let (b, _clock) = builder(&fed, &["ta"]);
        let r = b.build().unwrap();
        let reg = Registry::open(&db.url).await.unwrap();
        let (rp, rp2) = (fed.id("rp"), fed.id("rp2"));
        reg.admit(&r, &rp, "openid_relying_party").await.unwrap();
        reg.admit(&r, &rp2, "openid_relying_party").await.unwrap();

        reg.grant("alice", &rp, &["openid", "profile"])
            .await
            .unwrap();
        assert_eq!(
            reg.check_consent("alice", &rp, &["openid"]).await.unwrap(),
            ConsentCheck::Granted
        );
        // Not to another client of the same organization, nor to another user.
        assert_eq!(
            reg.check_consent("alice", &rp2, &["openid"]).await.unwrap(),
            ConsentCheck::NeedsConsent {
                scopes: scopes(&["openid"])
            }
        );
        assert_eq!(
            reg.check_consent("bob", &rp, &["openid"]).await.unwrap(),
            ConsentCheck::NeedsConsent {
                scopes: scopes(&["openid"])
            }
        );
        assert_eq!(
            reg.check_consent("alice", &rp, &["openid", "email"])
                .await
                .unwrap(),
            ConsentCheck::NeedsConsent {
                scopes: scopes(&["email"])
            }
        );
        // A scope the client's metadata does not allow cannot be granted.
        let err = reg.grant("alice", &rp, &["admin"]).await.unwrap_err();
        assert!(
            matches!(err.registry_error(), Some(RegistryError::Consent(_))),
            "{err:?}"
        );
        let (_, org_at_grant) = reg.consent_of("alice", &rp).await.unwrap().unwrap();
        assert_eq!(org_at_grant.as_deref(), Some(fed.id("org").as_str()));

        // The metadata narrows the scopes: the grant is narrowed on the next sweep.
        fed.republish_ec("rp", |c| {
            c["metadata"]["openid_relying_party"]["scope"] = json!("openid email");
        });
        assert_eq!(reg.sweep(&r).await.unwrap().changed, 1);
        assert_eq!(
            reg.consent_of("alice", &rp).await.unwrap().unwrap().0,
            scopes(&["openid"])
        );
        assert_eq!(
            reg.check_consent("alice", &rp, &["profile"]).await.unwrap(),
            ConsentCheck::NeedsConsent {
                scopes: scopes(&["profile"])
            }
        );

        // rp moves to another organization: its grants end.
        fed.move_under("rp", "org", "org2");
        let report = reg.sweep(&r).await.unwrap();
        assert_eq!(report.changed, 1, "{report:?}");
        assert_eq!(
            reg.client(&rp).await.unwrap().unwrap().organization_id(),
            Some(fed.id("org2").as_str())
        );
        assert!(reg.consent_of("alice", &rp).await.unwrap().is_none());
        assert_eq!(
            reg.check_consent("alice", &rp, &["openid"]).await.unwrap(),
            ConsentCheck::NeedsConsent {
                scopes: scopes(&["openid"])
            }
        );

        // rp2 is revoked: its grants end, and no check passes.
        reg.grant("alice", &rp2, &["openid"]).await.unwrap();
        fed.remove_ss("org", "rp2");
        assert_eq!(reg.sweep(&r).await.unwrap().revoked, 1);
        assert!(reg.consent_of("alice", &rp2).await.unwrap().is_none());
        assert!(matches!(
            reg.check_consent("alice", &rp2, &["openid"]).await.unwrap(),
            ConsentCheck::ClientNotActive { status: Some(_) }
        ));
        let err = reg.grant("alice", &rp2, &["openid"]).await.unwrap_err();
        assert!(
            matches!(err.registry_error(), Some(RegistryError::Revoked { .. })),
            "{err:?}"
        );

        let events = |v: Vec<oidfed::registry::AuditEntry>| -> Vec<AuditEvent> {
            v.into_iter().map(|e| e.event).collect()
        };
        let rp_events = events(reg.audit_of_client(&rp).await.unwrap());
        assert!(
            rp_events.contains(&AuditEvent::ConsentNarrowed),
            "{rp_events:?}"
        );
        assert!(
            rp_events.contains(&AuditEvent::ConsentEnded),
            "{rp_events:?}"
        );
        assert!(
            events(reg.audit_of_client(&rp2).await.unwrap()).contains(&AuditEvent::ConsentEnded)
        );

        // A user may withdraw a grant.
        reg.grant("carol", &rp, &["openid"]).await.unwrap();
        assert!(reg.end_consent("carol", &rp).await.unwrap());
        assert!(!reg.end_consent("carol", &rp).await.unwrap());
    })
    .await;
}
