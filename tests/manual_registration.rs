//! Manual onboarding with an owner (issue 17 items 4–5) on SQLite and PostgreSQL: refused
//! without organization, approver or ticket; expiry and review; the access review lists
//! the three models apart; a manual client that appears in the federation is reported.

mod dcr_common;
mod registry_common;

use dcr_common::*;
use oidfed::EntityType;
use oidfed::registry::{
    ManualOnboarding, ManualOrganization, ManualRule, RegistrationModel, Registry, StatusKind,
};
use oidfed::server::MemoryReplayGuard;
use oidfed::server::dcr::{AcceptedModels, ModelPolicy};
use registry_common::{Db, on_both};
use serde_json::json;

fn all_models() -> ModelPolicy {
    ModelPolicy::default().default_models(AcceptedModels::All)
}

fn onboarding(client_id: &str, org: ManualOrganization) -> ManualOnboarding {
    ManualOnboarding::new(client_id)
        .organization(org)
        .approved_by("alice@as.example", "TICKET-1")
        .valid_until(NOW + 90 * 86_400, NOW + 30 * 86_400)
}

#[tokio::test]
async fn manual_registration_without_organization_approver_or_ticket_is_refused() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (resolver, _) = resolver(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        let models = all_models();
        let acme = ManualOrganization::Federation(fed.id("acme").to_string());
        let cases = [
            (
                ManualOnboarding::new("c1")
                    .approved_by("alice", "T-1")
                    .valid_until(NOW + 10, NOW + 5),
                ManualRule::NoOrganization,
            ),
            (
                onboarding("c2", ManualOrganization::Named("  ".into())),
                ManualRule::NoOrganization,
            ),
            (
                onboarding("c3", acme.clone()).approved_by("", "T-1"),
                ManualRule::NoApprover,
            ),
            (
                onboarding("c4", acme.clone()).approved_by("alice", ""),
                ManualRule::NoReference,
            ),
            (
                onboarding("c5", acme.clone()).valid_until(NOW - 1, NOW - 10),
                ManualRule::Dates,
            ),
            (
                onboarding("c6", acme.clone()).valid_until(NOW + 10, NOW + 20),
                ManualRule::Dates,
            ),
            (
                onboarding("c7", ManualOrganization::Named("no-such-record".into())),
                ManualRule::UnknownOrganization,
            ),
            (
                onboarding(
                    "c8",
                    ManualOrganization::Federation(fed.id("evil").to_string()),
                ),
                ManualRule::UnknownOrganization,
            ),
        ];
        for (req, expected) in cases {
            let id = req.client_id.clone();
            let e = registry
                .register_manual(&resolver, &models, req)
                .await
                .unwrap_err();
            assert_eq!(e.rule(), Some(expected), "{id}: {e}");
            assert!(
                registry.client(&id).await.unwrap().is_none(),
                "{id} was stored"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn manual_client_is_bound_to_a_federation_or_named_organization_with_evidence() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (resolver, _) = resolver(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        let models = all_models();
        let c = registry
            .register_manual(
                &resolver,
                &models,
                onboarding(
                    "portal-1",
                    ManualOrganization::Federation(fed.id("acme").to_string()),
                ),
            )
            .await
            .expect("registered");
        assert_eq!(c.registration_model(), RegistrationModel::Manual);
        assert_eq!(c.organization_id(), Some(fed.id("acme").as_str()));
        let m = registry
            .manual_registration("portal-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (m.approver.as_str(), m.reference.as_str()),
            ("alice@as.example", "TICKET-1")
        );
        assert_eq!(m.trust_anchor.as_deref(), Some(fed.id("ta").as_str()));

        registry
            .create_organization("partner-gmbh", "Partner GmbH", "bob@as.example", "TICKET-2")
            .await
            .unwrap();
        let e = registry
            .create_organization("partner-gmbh", "Again", "bob@as.example", "TICKET-3")
            .await
            .unwrap_err();
        assert_eq!(e.rule(), Some(ManualRule::AlreadyRegistered));
        let c = registry
            .register_manual(
                &resolver,
                &models,
                onboarding("portal-2", ManualOrganization::Named("partner-gmbh".into())),
            )
            .await
            .unwrap();
        assert_eq!(c.organization_id(), Some("partner-gmbh"));
        assert_eq!(registry.clients_of("partner-gmbh").await.unwrap().len(), 1);
        let orgs = registry.organizations().await.unwrap();
        let p = orgs
            .iter()
            .find(|o| o.organization_id == "partner-gmbh")
            .unwrap();
        assert_eq!(p.name.as_deref(), Some("Partner GmbH"));
        // The same client_id cannot be registered twice.
        let e = registry
            .register_manual(
                &resolver,
                &models,
                onboarding("portal-2", ManualOrganization::Named("partner-gmbh".into())),
            )
            .await
            .unwrap_err();
        assert_eq!(e.rule(), Some(ManualRule::AlreadyRegistered));
    })
    .await;
}

#[tokio::test]
async fn accepted_models_are_configured_per_anchor() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (resolver, _) = resolver(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        let acme = ManualOrganization::Federation(fed.id("acme").to_string());
        // The default accepts federation and gated DCR, not manual onboarding.
        let e = registry
            .register_manual(
                &resolver,
                &ModelPolicy::default(),
                onboarding("m1", acme.clone()),
            )
            .await
            .unwrap_err();
        assert_eq!(e.rule(), Some(ManualRule::ModelNotAccepted));
        let per_anchor = ModelPolicy::default().anchor(fed.id("ta").as_str(), AcceptedModels::All);
        registry
            .register_manual(&resolver, &per_anchor, onboarding("m2", acme))
            .await
            .expect("accepted under ta");
        // Named organizations are under no anchor: the default decides.
        registry
            .create_organization("p", "P", "bob", "T-9")
            .await
            .unwrap();
        let e = registry
            .register_manual(
                &resolver,
                &per_anchor,
                onboarding("m3", ManualOrganization::Named("p".into())),
            )
            .await
            .unwrap_err();
        assert_eq!(e.rule(), Some(ManualRule::ModelNotAccepted));
    })
    .await;
}

#[tokio::test]
async fn access_review_lists_the_models_apart_with_their_evidence() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (gate, _) = gate(&fed);
        let resolver = gate.resolver().clone();
        let registry = Registry::open(&db.url).await.unwrap();
        registry
            .admit(
                &resolver,
                &fed.id("fedrp"),
                &EntityType::OPENID_RELYING_PARTY,
            )
            .await
            .unwrap();
        let dcr = registry
            .register_dynamic(
                &gate,
                &request(Some(&org_statement(&fed, "acme", json!({}))), json!({})),
                &MemoryReplayGuard::default(),
            )
            .await
            .unwrap();
        registry
            .register_manual(
                &resolver,
                &all_models(),
                onboarding(
                    "portal-1",
                    ManualOrganization::Federation(fed.id("globex").to_string()),
                ),
            )
            .await
            .unwrap();

        let review = registry.access_review_by_model().await.unwrap();
        let federation: Vec<&str> = review
            .federation
            .iter()
            .map(|r| r.client_id.as_str())
            .collect();
        assert_eq!(federation, [fed.id("fedrp").as_str()]);
        assert_eq!(review.dynamic.len(), 1);
        assert_eq!(review.dynamic[0].row.client_id, dcr.registration.client_id);
        assert!(
            review.dynamic[0]
                .row
                .binding_evidence
                .contains("organization_signed")
        );
        assert!(
            review.dynamic[0]
                .row
                .binding_evidence
                .contains("software_id=sw-1")
        );
        assert_eq!(review.manual.len(), 1);
        assert_eq!(review.manual[0].row.client_id, "portal-1");
        assert!(review.manual[0].row.binding_evidence.contains("TICKET-1"));
        assert_eq!(review.manual[0].review_at, Some(NOW + 30 * 86_400));
        let json = review.to_json();
        assert_eq!(json["manual"][0]["client_id"], "portal-1");
        assert_eq!(json["manual"][0]["expires_at"], NOW + 90 * 86_400);
        let csv = review.to_csv();
        let sections: Vec<&str> = csv.lines().filter(|l| l.starts_with("# ")).collect();
        assert_eq!(sections, ["# federation", "# dynamic", "# manual"]);
        assert!(csv.split("# manual").nth(1).unwrap().contains("portal-1"));
    })
    .await;
}

#[tokio::test]
async fn manual_clients_expire_are_reviewed_and_reported_when_in_the_federation() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (resolver, clock) = resolver(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        let acme = ManualOrganization::Federation(fed.id("acme").to_string());
        // fedrp is a federation entity onboarded by hand: reported.
        registry
            .register_manual(
                &resolver,
                &all_models(),
                onboarding(fed.id("fedrp").as_str(), acme.clone()),
            )
            .await
            .unwrap();
        registry
            .register_manual(
                &resolver,
                &all_models(),
                onboarding("short", acme).valid_until(NOW + 100, NOW + 50),
            )
            .await
            .unwrap();
        let review = registry.manual_review(&resolver).await.unwrap();
        assert!(review.review_due.is_empty());
        assert_eq!(review.in_federation.len(), 1);
        assert_eq!(review.in_federation[0].client_id, fed.id("fedrp").as_str());
        assert_eq!(
            review.in_federation[0].organization_id.as_deref(),
            Some(fed.id("acme").as_str())
        );

        clock.set(NOW + 60);
        let review = registry.manual_review(&resolver).await.unwrap();
        assert_eq!(review.review_due, ["short"]);
        clock.set(NOW + 100);
        registry.sweep(&resolver).await.unwrap();
        let status = registry.status("short").await.unwrap().unwrap();
        assert_eq!(status.kind, StatusKind::Revoked);
        assert_eq!(
            status.evidence.unwrap().rule.as_deref(),
            Some("manual_expiry")
        );
        assert!(
            registry
                .status(fed.id("fedrp").as_str())
                .await
                .unwrap()
                .unwrap()
                .is_active()
        );
    })
    .await;
}

/// A manual registration whose stored details no longer parse (a broken writer, a hand
/// edit) is reported by the expiry sweep and fails the review, never silently left out.
#[tokio::test]
async fn an_unreadable_manual_registration_is_reported_not_skipped() {
    let db = registry_common::sqlite();
    let fed = federation();
    let (resolver, _) = resolver(&fed);
    let registry = Registry::open(&db.url).await.unwrap();
    let acme = ManualOrganization::Federation(fed.id("acme").to_string());
    registry
        .register_manual(&resolver, &all_models(), onboarding("partner-1", acme))
        .await
        .unwrap();
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    sqlx::query("UPDATE oidfed_registrations SET details_json = '{\"garbage\": 1}'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let lines = registry.sweep_registrations(&resolver).await.unwrap();
    let line = lines
        .iter()
        .find(|l| l.client_id == "partner-1")
        .expect("the row is reported");
    let oidfed::registry::SweepOutcome::NotWritten { error } = &line.outcome else {
        panic!("{line:?}")
    };
    assert!(
        matches!(error, oidfed::Error::Registry(e)
            if matches!(**e, oidfed::registry::RegistryError::Corrupt { .. })),
        "{error}"
    );
    let e = registry.manual_review(&resolver).await.unwrap_err();
    assert!(e.to_string().contains("partner-1"), "{e}");
}
