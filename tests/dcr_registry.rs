//! Gated DCR clients in the registry (issue 17 items 2–3, issue 21 items 3–4), on SQLite
//! (temporary file) and PostgreSQL (a throwaway server): registration model `dynamic`,
//! organization binding and evidence, RFC 7592 read / update / delete with the
//! registration access token rotated and kept only as a hash, and sweeps that revoke the
//! clients of an organization that left the federation or that the directory withdrew.

mod dcr_common;
mod registry_common;

use dcr_common::*;
use oidfed::fetch::FetchResponse;
use oidfed::registry::{AuditEvent, RegistrationModel, Registry, StatusKind, SweepOutcome};
use oidfed::server::MemoryReplayGuard;
use oidfed::server::dcr::{DcrError, DcrRule, DuplicateSoftware, StatementForm, hash_token};
use registry_common::{Db, on_both};
use serde_json::json;

const ENDPOINT: &str = "https://as.example/register";

fn rule(e: &DcrError) -> (&'static str, Option<DcrRule>) {
    (e.code(), e.rule())
}

#[tokio::test]
async fn dcr_client_is_registered_dynamic_bound_to_its_organization_with_evidence() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (gate, _) = gate(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        let guard = MemoryReplayGuard::default();
        let ssa = org_statement(&fed, "acme", json!({}));
        let r = registry
            .register_dynamic(&gate, &request(Some(&ssa), json!({})), &guard)
            .await
            .expect("registered");
        let body = r.to_json(ENDPOINT);
        let client_id = body["client_id"].as_str().unwrap().to_string();
        assert!(client_id.starts_with("dcr-"));
        assert_eq!(body["client_id_issued_at"], NOW);
        assert_eq!(body["software_statement"], ssa.as_str());
        assert_eq!(
            body["registration_client_uri"],
            format!("{ENDPOINT}/{client_id}")
        );
        assert_eq!(body["client_name"], "Vouched");
        assert!(body.get("client_secret").is_none());
        let token = body["registration_access_token"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(token, r.registration_access_token.value());

        let c = registry.client(&client_id).await.unwrap().expect("stored");
        assert_eq!(c.registration_model(), RegistrationModel::Dynamic);
        assert_eq!(c.organization_id(), Some(fed.id("acme").as_str()));
        assert!(
            registry
                .status(&client_id)
                .await
                .unwrap()
                .unwrap()
                .is_active()
        );
        let of_org = registry.clients_of(&fed.id("acme")).await.unwrap();
        assert_eq!(
            of_org.iter().map(|c| c.client_id()).collect::<Vec<_>>(),
            [client_id.as_str()]
        );

        let stored = registry
            .dynamic_registration(&client_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.statement.form, StatementForm::OrganizationSigned);
        assert_eq!(stored.statement.issuer, fed.id("acme").as_str());
        assert_eq!(stored.statement.software_id.as_deref(), Some("sw-1"));
        assert_eq!(stored.statement.chain_path.len(), 2);
        let audit = registry.audit_of_client(&client_id).await.unwrap();
        assert_eq!(audit[0].event, AuditEvent::Admitted);
        assert_eq!(audit[0].detail["registration_model"], "dynamic");
        assert_eq!(
            audit[0].detail["evidence"]["jti"],
            stored.statement.jti.as_str()
        );
        assert_eq!(
            audit[0].trust_anchor.as_deref(),
            Some(fed.id("ta").as_str())
        );

        // The token is stored only as its hash.
        if db.engine == "sqlite" {
            let path = db.url.trim_start_matches("sqlite://").to_string();
            registry.close().await;
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
            let has = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
            assert!(
                !has(&token),
                "the registration access token is stored in clear"
            );
            assert!(has(&hash_token(&token)), "its hash is stored");
        }
    })
    .await;
}

#[tokio::test]
async fn rfc7592_read_update_delete_rotate_the_token() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (gate, _) = gate(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        let guard = MemoryReplayGuard::default();
        let ssa = org_statement(&fed, "acme", json!({}));
        let r = registry
            .register_dynamic(&gate, &request(Some(&ssa), json!({})), &guard)
            .await
            .unwrap();
        let id = r.registration.client_id.clone();
        let t0 = r.registration_access_token.value().to_string();

        // Read (§2.1) rotates the token.
        let read = registry.read_dynamic(&id, &t0).await.expect("read");
        let t1 = read.registration_access_token.value().to_string();
        assert_ne!(t0, t1);
        assert_eq!(read.registration.metadata, r.registration.metadata);
        let e = registry.read_dynamic(&id, &t0).await.unwrap_err();
        assert_eq!(rule(&e), ("invalid_token", Some(DcrRule::AccessToken)));
        assert_eq!(e.http_status(), 401);

        // Update (§2.2): the whole metadata replaced, policy re-checked, token rotated.
        let mut update = read.to_json(ENDPOINT);
        for f in [
            "registration_access_token",
            "registration_client_uri",
            "client_id_issued_at",
            "software_statement",
        ] {
            update.as_object_mut().unwrap().remove(f);
        }
        update["tos_uri"] = json!("https://app.example/tos");
        let body = update.to_string().into_bytes();
        let up = registry
            .update_dynamic(&gate, &id, &t1, &body, &guard)
            .await
            .expect("updated");
        let t2 = up.registration_access_token.value().to_string();
        assert_ne!(t1, t2);
        assert_eq!(
            up.registration.metadata["tos_uri"],
            "https://app.example/tos"
        );
        assert_eq!(up.registration.client_id, id);
        assert!(
            registry
                .update_dynamic(&gate, &id, &t1, &body, &guard)
                .await
                .is_err()
        );
        let audit = registry.audit_of_client(&id).await.unwrap();
        assert!(audit.iter().any(|a| a.event == AuditEvent::Changed));

        // An update that breaks the organization's policy is refused; nothing changes.
        let mut bad = update.clone();
        bad["grant_types"] = json!(["authorization_code", "client_credentials"]);
        let e = registry
            .update_dynamic(&gate, &id, &t2, bad.to_string().as_bytes(), &guard)
            .await
            .unwrap_err();
        assert_eq!(rule(&e), ("invalid_client_metadata", Some(DcrRule::Policy)));
        // Fields the server issues, or another client_id, are refused.
        let mut issued = update.clone();
        issued["registration_access_token"] = json!(t2);
        let e = registry
            .update_dynamic(&gate, &id, &t2, issued.to_string().as_bytes(), &guard)
            .await
            .unwrap_err();
        assert_eq!(e.rule(), Some(DcrRule::UpdateFields));
        let mut other = update.clone();
        other["client_id"] = json!("dcr-someone-else");
        let e = registry
            .update_dynamic(&gate, &id, &t2, other.to_string().as_bytes(), &guard)
            .await
            .unwrap_err();
        assert_eq!(e.rule(), Some(DcrRule::UpdateFields));

        // Delete (§2.3): revoked, the token dead.
        registry.delete_dynamic(&id, &t2).await.expect("deleted");
        let status = registry.status(&id).await.unwrap().unwrap();
        assert_eq!(status.kind, StatusKind::Revoked);
        let e = registry.read_dynamic(&id, &t2).await.unwrap_err();
        assert_eq!(rule(&e), ("invalid_token", Some(DcrRule::AccessToken)));
        let e = registry.read_dynamic("dcr-unknown", &t2).await.unwrap_err();
        assert_eq!(e.http_status(), 401);
    })
    .await;
}

#[tokio::test]
async fn update_cannot_move_a_client_to_another_organization() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (gate, _) = gate(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        let guard = MemoryReplayGuard::default();
        let r = registry
            .register_dynamic(
                &gate,
                &request(Some(&org_statement(&fed, "acme", json!({}))), json!({})),
                &guard,
            )
            .await
            .unwrap();
        let id = r.registration.client_id.clone();
        let token = r.registration_access_token.value().to_string();
        let globex = org_statement(&fed, "globex", json!({}));
        let body = request(Some(&globex), json!({"client_id": id}));
        let e = registry
            .update_dynamic(&gate, &id, &token, &body, &guard)
            .await
            .unwrap_err();
        assert_eq!(
            rule(&e),
            (
                "unapproved_software_statement",
                Some(DcrRule::OrganizationChange)
            )
        );
        let c = registry.client(&id).await.unwrap().unwrap();
        assert_eq!(c.organization_id(), Some(fed.id("acme").as_str()));
        // A new statement of the same organization is accepted, and its jti used up.
        let acme = org_statement(&fed, "acme", json!({"client_name": "Vouched again"}));
        let body = request(Some(&acme), json!({"client_id": id}));
        let up = registry
            .update_dynamic(&gate, &id, &token, &body, &guard)
            .await
            .unwrap();
        assert_eq!(up.registration.metadata["client_name"], "Vouched again");
        let t = up.registration_access_token.value().to_string();
        let e = registry
            .update_dynamic(&gate, &id, &t, &body, &guard)
            .await
            .unwrap_err();
        assert_eq!(e.rule(), Some(DcrRule::StatementReplayed));
    })
    .await;
}

#[tokio::test]
async fn organization_leaving_the_federation_revokes_its_dcr_clients_on_the_next_sweep() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (gate, _) = gate(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        let guard = MemoryReplayGuard::default();
        let acme = registry
            .register_dynamic(
                &gate,
                &request(Some(&org_statement(&fed, "acme", json!({}))), json!({})),
                &guard,
            )
            .await
            .unwrap();
        let globex = registry
            .register_dynamic(
                &gate,
                &request(Some(&org_statement(&fed, "globex", json!({}))), json!({})),
                &guard,
            )
            .await
            .unwrap();
        let (acme_id, globex_id) = (acme.registration.client_id, globex.registration.client_id);
        let report = registry.sweep(gate.resolver()).await.unwrap();
        assert!(
            registry
                .status(&acme_id)
                .await
                .unwrap()
                .unwrap()
                .is_active(),
            "{report:?}"
        );

        fed.remove_ss("ta", "acme");
        registry.sweep(gate.resolver()).await.unwrap();
        let status = registry.status(&acme_id).await.unwrap().unwrap();
        assert_eq!(status.kind, StatusKind::Revoked);
        let evidence = status.evidence.expect("evidence");
        assert_eq!(evidence.rule.as_deref(), Some("not_found"));
        assert!(
            registry
                .status(&globex_id)
                .await
                .unwrap()
                .unwrap()
                .is_active()
        );
        // Revoked for good: its token no longer works.
        let e = registry
            .read_dynamic(&acme_id, acme.registration_access_token.value())
            .await
            .unwrap_err();
        assert_eq!(e.http_status(), 401);
    })
    .await;
}

#[tokio::test]
async fn directory_withdrawing_the_organization_revokes_its_client_on_the_next_sweep() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (gate, _) = gate(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        let guard = MemoryReplayGuard::default();
        let r = registry
            .register_dynamic(
                &gate,
                &request(
                    Some(&directory_statement(&fed, "globex", json!({}))),
                    json!({}),
                ),
                &guard,
            )
            .await
            .unwrap();
        let id = r.registration.client_id.clone();
        let stored = registry.dynamic_registration(&id).await.unwrap().unwrap();
        assert_eq!(stored.statement.form, StatementForm::DirectoryIssued);
        assert_eq!(stored.statement.organization_id, fed.id("globex").as_str());
        assert_eq!(stored.statement.software_id.as_deref(), Some("dir-sw-1"));

        fed.remove_ss("ta", "globex");
        registry.sweep(gate.resolver()).await.unwrap();
        let status = registry.status(&id).await.unwrap().unwrap();
        assert_eq!(status.kind, StatusKind::Revoked);
        assert!(
            status
                .evidence
                .unwrap()
                .detail
                .contains("no longer vouches")
        );
    })
    .await;
}

#[tokio::test]
async fn a_key_on_the_statements_revoked_keys_endpoint_revokes_the_client() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (gate, _) = gate(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        let guard = MemoryReplayGuard::default();
        let key = client_key();
        let revoked_url = "https://directory.fed.example/revoked/app.jwks";
        fed.fetcher().insert(
            revoked_url,
            FetchResponse::ok("application/json", r#"{"keys":[]}"#),
        );
        let ssa = directory_statement(
            &fed,
            "acme",
            json!({"software_jwks_revoked_endpoint": revoked_url}),
        );
        let r = registry
            .register_dynamic(
                &gate,
                &request(Some(&ssa), json!({"jwks": key.public_jwks()})),
                &guard,
            )
            .await
            .unwrap();
        let id = r.registration.client_id.clone();
        registry.sweep(gate.resolver()).await.unwrap();
        assert!(registry.status(&id).await.unwrap().unwrap().is_active());
        fed.fetcher().insert(
            revoked_url,
            FetchResponse::ok("application/json", key.public_jwks().to_string()),
        );
        registry.sweep(gate.resolver()).await.unwrap();
        let status = registry.status(&id).await.unwrap().unwrap();
        assert_eq!(status.kind, StatusKind::Revoked);
        assert_eq!(
            status.evidence.unwrap().rule.as_deref(),
            Some("revoked_key")
        );
    })
    .await;
}

/// The revoked-keys list fails closed: a registration whose key it lists, or whose list
/// cannot be read, is refused; a sweep that cannot read it makes the client stale (not
/// unchanged), and active again once it reads a list without the key.
#[tokio::test]
async fn the_revoked_keys_list_is_checked_at_registration_and_fails_closed() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (gate, _) = gate(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        let guard = MemoryReplayGuard::default();
        let key = client_key();
        let revoked_url = "https://directory.fed.example/revoked/app.jwks";
        let register = |extra: serde_json::Value| {
            let ssa = directory_statement(
                &fed,
                "acme",
                json!({"software_jwks_revoked_endpoint": revoked_url}),
            );
            let body = request(Some(&ssa), extra);
            let (registry, gate, guard) = (&registry, &gate, &guard);
            async move { registry.register_dynamic(gate, &body, guard).await }
        };

        // Listed: refused, nothing stored.
        fed.fetcher().insert(
            revoked_url,
            FetchResponse::ok("application/json", key.public_jwks().to_string()),
        );
        let e = register(json!({"jwks": key.public_jwks()}))
            .await
            .unwrap_err();
        assert_eq!(
            rule(&e),
            ("unapproved_software_statement", Some(DcrRule::KeyMaterial))
        );
        // Unreadable: refused for now (503), nothing stored.
        fed.fetcher().remove(revoked_url);
        let e = register(json!({"jwks": key.public_jwks()}))
            .await
            .unwrap_err();
        assert_eq!(e.http_status(), 503, "{e}");
        assert!(registry.clients().await.unwrap().is_empty());

        // Not listed: registered.
        fed.fetcher().insert(
            revoked_url,
            FetchResponse::ok("application/json", r#"{"keys":[]}"#),
        );
        let r = register(json!({"jwks": key.public_jwks()})).await.unwrap();
        let id = r.registration.client_id.clone();
        // The list becomes unreadable: stale, not unchanged.
        fed.fetcher().insert(
            revoked_url,
            FetchResponse::ok("application/json", "not json"),
        );
        let report = registry.sweep(gate.resolver()).await.unwrap();
        assert!(
            matches!(report.outcome_of(&id), Some(SweepOutcome::Stale { .. })),
            "{report:?}"
        );
        assert_eq!(
            registry.status(&id).await.unwrap().unwrap().kind,
            StatusKind::Stale
        );
        // Readable again without the key: active.
        fed.fetcher().insert(
            revoked_url,
            FetchResponse::ok("application/json", r#"{"keys":[]}"#),
        );
        registry.sweep(gate.resolver()).await.unwrap();
        assert!(registry.status(&id).await.unwrap().unwrap().is_active());
    })
    .await;
}

#[tokio::test]
async fn second_registration_of_the_same_software_is_reported() {
    on_both(|db: Db| async move {
        let fed = federation();
        let registry = Registry::open(&db.url).await.unwrap();
        let guard = MemoryReplayGuard::default();
        // Default: an update of the existing client, reported.
        let (gate, _) = gate(&fed);
        let first = registry
            .register_dynamic(
                &gate,
                &request(
                    Some(&directory_statement(&fed, "acme", json!({}))),
                    json!({}),
                ),
                &guard,
            )
            .await
            .unwrap();
        assert!(first.duplicate.is_none());
        let second = registry
            .register_dynamic(
                &gate,
                &request(
                    Some(&directory_statement(&fed, "acme", json!({}))),
                    json!({}),
                ),
                &guard,
            )
            .await
            .unwrap();
        let report = second.duplicate.clone().expect("reported");
        assert_eq!(report.software_id, "dir-sw-1");
        assert_eq!(
            report.existing,
            std::slice::from_ref(&first.registration.client_id)
        );
        assert_eq!(report.handled, DuplicateSoftware::Update);
        assert_eq!(second.registration.client_id, first.registration.client_id);
        assert_eq!(registry.clients_of(&fed.id("acme")).await.unwrap().len(), 1);
        // Reported in the audit trail too, on the update it became.
        let trail = registry
            .audit_of_client(&first.registration.client_id)
            .await
            .unwrap();
        let update = trail
            .iter()
            .find(|a| a.event == AuditEvent::Changed)
            .expect("the update is audited");
        assert_eq!(
            update.detail["duplicate_software"]["software_id"],
            "dir-sw-1"
        );
        assert_eq!(update.detail["duplicate_software"]["handled"], "update");
        // The earlier token was rotated away.
        assert!(
            registry
                .read_dynamic(
                    &first.registration.client_id,
                    first.registration_access_token.value()
                )
                .await
                .is_err()
        );
        // The same software of another organization is another client.
        let other = registry
            .register_dynamic(
                &gate,
                &request(
                    Some(&directory_statement(&fed, "globex", json!({}))),
                    json!({}),
                ),
                &guard,
            )
            .await
            .unwrap();
        assert!(other.duplicate.is_none());

        // Configured to refuse.
        let (refusing, _) = gate_with(&fed, |c| c.duplicate_software = DuplicateSoftware::Refuse);
        let e = registry
            .register_dynamic(
                &refusing,
                &request(
                    Some(&directory_statement(&fed, "acme", json!({}))),
                    json!({}),
                ),
                &guard,
            )
            .await
            .unwrap_err();
        assert_eq!(
            rule(&e),
            ("invalid_client_metadata", Some(DcrRule::DuplicateSoftware))
        );
        // Configured to allow: a second client, still reported.
        let (allowing, _) = gate_with(&fed, |c| c.duplicate_software = DuplicateSoftware::Allow);
        let third = registry
            .register_dynamic(
                &allowing,
                &request(
                    Some(&directory_statement(&fed, "acme", json!({}))),
                    json!({}),
                ),
                &guard,
            )
            .await
            .unwrap();
        assert_ne!(third.registration.client_id, first.registration.client_id);
        assert_eq!(third.duplicate.unwrap().handled, DuplicateSoftware::Allow);
        assert_eq!(registry.clients_of(&fed.id("acme")).await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn revoked_registration_token_is_refused() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (gate, _) = gate(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        let r = registry
            .register_dynamic(
                &gate,
                &request(Some(&org_statement(&fed, "acme", json!({}))), json!({})),
                &MemoryReplayGuard::default(),
            )
            .await
            .unwrap();
        let id = r.registration.client_id.clone();
        assert!(registry.revoke_registration_token(&id).await.unwrap());
        let e = registry
            .read_dynamic(&id, r.registration_access_token.value())
            .await
            .unwrap_err();
        assert_eq!(rule(&e), ("invalid_token", Some(DcrRule::AccessToken)));
        // The client itself stays registered and active.
        assert!(registry.status(&id).await.unwrap().unwrap().is_active());
        assert!(!registry.revoke_registration_token(&id).await.unwrap());
    })
    .await;
}

/// RFC 7592 read and update with the same token at once: one of them wins, and a read
/// never writes the registration it read over an update that came first.
#[tokio::test]
async fn a_read_racing_an_update_never_puts_the_old_registration_back() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (gate, _) = gate(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        let guard = MemoryReplayGuard::default();
        for round in 0..12 {
            let ssa = org_statement(&fed, "acme", json!({}));
            let r = registry
                .register_dynamic(&gate, &request(Some(&ssa), json!({})), &guard)
                .await
                .unwrap();
            let id = r.registration.client_id.clone();
            let t0 = r.registration_access_token.value().to_string();
            let mut update = r.to_json(ENDPOINT);
            for f in [
                "registration_access_token",
                "registration_client_uri",
                "client_id_issued_at",
                "software_statement",
            ] {
                update.as_object_mut().unwrap().remove(f);
            }
            update["tos_uri"] = json!(format!("https://app.example/tos/{round}"));
            let body = update.to_string().into_bytes();
            let (read, up) = tokio::join!(
                registry.read_dynamic(&id, &t0),
                registry.update_dynamic(&gate, &id, &t0, &body, &guard)
            );
            assert!(
                !(read.is_ok() && up.is_ok()),
                "round {round}: one token, two rotations: {:?} / {:?}",
                read.as_ref()
                    .map(|r| r.registration_access_token.value().to_string()),
                up.as_ref()
                    .map(|r| r.registration.metadata.get("tos_uri").cloned())
            );
            let stored = registry.dynamic_registration(&id).await.unwrap().unwrap();
            if up.is_ok() {
                assert_eq!(
                    stored.metadata["tos_uri"],
                    json!(format!("https://app.example/tos/{round}")),
                    "round {round}: the update was undone"
                );
            } else {
                assert!(read.is_ok(), "round {round}: {up:?}");
                assert!(stored.metadata.get("tos_uri").is_none(), "round {round}");
            }
        }
    })
    .await;
}
