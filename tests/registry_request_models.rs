//! The registry's request checks for every registration model (issue 17), on SQLite and
//! PostgreSQL: a gated-DCR client and a manual client are found by their client_id and
//! verified with the keys the registry holds for them; a rotation written through RFC 7592
//! is seen by a second `Registry` handle (a second replica) on its next request; deleted,
//! revoked or expired clients are refused; an unknown client_id that is not an Entity
//! Identifier is unknown, never resolved.

mod dcr_common;
mod registry_common;

use dcr_common::*;
use oidfed::Error;
use oidfed::registry::{ManualOnboarding, ManualOrganization, Registry, RegistryError};
use oidfed::server::dcr::{AcceptedModels, ModelPolicy};
use oidfed::server::{MemoryReplayGuard, RequestPolicy};
use oidfed::testing::{KeyAlg, TestKey};
use registry_common::{Db, on_both};
use serde_json::{Value, json};

const OP: &str = "https://op.example.org";
const ENDPOINT: &str = "https://as.example/register";

fn assertion(key: &TestKey, client_id: &str, jti: &str) -> String {
    key.sign_jwt(
        "JWT",
        &json!({"iss": client_id, "sub": client_id, "aud": OP, "jti": jti, "exp": NOW + 60}),
    )
}

fn request_object(key: &TestKey, client_id: &str, jti: &str) -> String {
    key.sign_with_header(
        &json!({"alg": "ES256", "kid": key.kid(), "typ": "oauth-authz-req+jwt"}),
        &json!({"iss": client_id, "client_id": client_id, "aud": OP, "jti": jti,
                "exp": NOW + 60, "scope": "openid"}),
    )
}

fn registry_error(e: &Error) -> &RegistryError {
    e.registry_error()
        .unwrap_or_else(|| panic!("not a registry error: {e:?}"))
}

/// Registers a DCR client of `acme` with `key`'s public key; its client_id and token.
async fn dcr_client(
    registry: &Registry,
    fed: &oidfed::testing::Federation,
    key: &TestKey,
) -> (String, String) {
    let (gate, _) = gate(fed);
    let ssa = org_statement(fed, "acme", json!({}));
    let r = registry
        .register_dynamic(
            &gate,
            &request(Some(&ssa), json!({"jwks": key.public_jwks()})),
            &MemoryReplayGuard::default(),
        )
        .await
        .expect("registered");
    (
        r.registration.client_id.clone(),
        r.registration_access_token.value().to_string(),
    )
}

#[tokio::test]
async fn dcr_client_assertion_and_request_object_verify_with_its_registered_keys() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (resolver, _) = resolver(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        let key = TestKey::generate(KeyAlg::ES256);
        let (id, _) = dcr_client(&registry, &fed, &key).await;
        let policy = RequestPolicy::new(OP);
        let guard = MemoryReplayGuard::default();

        let c = registry
            .verify_client_assertion(&resolver, &assertion(&key, &id, "a1"), &policy, &guard)
            .await
            .expect("DCR client assertion verifies");
        assert_eq!(c.client_id(), id);
        assert_eq!(c.organization_id(), Some(fed.id("acme").as_str()));
        // The keys it verified with are the registry's, readable by the AS.
        assert_eq!(
            registry.protocol_keys(&resolver, &id).await.expect("keys"),
            key.public_jwks()
        );
        let ro = registry
            .verify_request_object(&resolver, &request_object(&key, &id, "r1"), &policy, &guard)
            .await
            .expect("DCR request object verifies");
        assert_eq!(ro.claims["scope"], "openid");
        assert_eq!(ro.client.client_id(), id);

        // Signed with another key (same kid, so only the signature can decide).
        let other = TestKey::generate(KeyAlg::ES256);
        let forged = other.sign_with_header(
            &json!({"alg": "ES256", "kid": key.kid(), "typ": "JWT"}),
            &json!({"iss": id, "sub": id, "aud": OP, "jti": "a2", "exp": NOW + 60}),
        );
        let e = registry
            .verify_client_assertion(&resolver, &forged, &policy, &guard)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidClient { .. }), "{e:?}");
        let e = registry
            .verify_client_assertion(&resolver, &assertion(&other, &id, "a3"), &policy, &guard)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidClient { .. }), "{e:?}");
        // The assertion's jti is used up.
        let e = registry
            .verify_client_assertion(&resolver, &assertion(&key, &id, "a1"), &policy, &guard)
            .await
            .unwrap_err();
        assert!(!matches!(e, Error::Registry(_)), "{e:?}");
    })
    .await;
}

#[tokio::test]
async fn rfc7592_key_rotation_is_used_by_a_second_replica_and_the_old_key_refused() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (gate, _) = gate(&fed);
        let (r1, _) = resolver(&fed);
        let (r2, _) = resolver(&fed);
        let (a, b) = (
            Registry::open(&db.url).await.unwrap(),
            Registry::open(&db.url).await.unwrap(),
        );
        let old = TestKey::generate(KeyAlg::ES256);
        let new = TestKey::generate(KeyAlg::ES256);
        let (id, token) = dcr_client(&a, &fed, &old).await;
        let policy = RequestPolicy::new(OP);
        let guard = MemoryReplayGuard::default();
        // Replica B verifies (and keeps the parsed keys of this stored version).
        b.verify_client_assertion(&r2, &assertion(&old, &id, "k1"), &policy, &guard)
            .await
            .expect("old key before the rotation");

        // The client rotates its keys through replica A (RFC 7592 §2.2).
        let read = a.read_dynamic(&id, &token).await.unwrap();
        let mut update = read.to_json(ENDPOINT);
        for f in [
            "registration_access_token",
            "registration_client_uri",
            "client_id_issued_at",
            "software_statement",
        ] {
            update.as_object_mut().unwrap().remove(f);
        }
        update["jwks"] = new.public_jwks();
        let t = read.registration_access_token.value().to_string();
        a.update_dynamic(&gate, &id, &t, update.to_string().as_bytes(), &guard)
            .await
            .expect("rotated");

        let e = b
            .verify_client_assertion(&r2, &assertion(&old, &id, "k2"), &policy, &guard)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidClient { .. }), "{e:?}");
        b.verify_client_assertion(&r2, &assertion(&new, &id, "k3"), &policy, &guard)
            .await
            .expect("new key on replica B");
        a.verify_request_object(&r1, &request_object(&new, &id, "k4"), &policy, &guard)
            .await
            .expect("new key on replica A");
    })
    .await;
}

#[tokio::test]
async fn deleted_or_revoked_dcr_clients_and_unknown_ids_are_refused() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (resolver, _) = resolver(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        let key = TestKey::generate(KeyAlg::ES256);
        let policy = RequestPolicy::new(OP);
        let guard = MemoryReplayGuard::default();

        // Deleted by the client (RFC 7592 §2.3).
        let (deleted, token) = dcr_client(&registry, &fed, &key).await;
        registry.delete_dynamic(&deleted, &token).await.unwrap();
        let e = registry
            .verify_client_assertion(&resolver, &assertion(&key, &deleted, "d1"), &policy, &guard)
            .await
            .unwrap_err();
        assert!(
            matches!(registry_error(&e), RegistryError::Revoked { .. }),
            "{e:?}"
        );
        assert_eq!(e.spec_code(), "invalid_client");

        // Revoked with its organization (offboarded by an operator).
        let (revoked, _) = dcr_client(&registry, &fed, &key).await;
        registry
            .verify_client_assertion(&resolver, &assertion(&key, &revoked, "o1"), &policy, &guard)
            .await
            .expect("active before the offboarding");
        registry
            .offboard_organization(&fed.id("acme"), "contract ended")
            .await
            .unwrap();
        let e = registry
            .verify_request_object(&resolver, &request_object(&key, &revoked, "o2"), &policy, &guard)
            .await
            .unwrap_err();
        assert!(
            matches!(registry_error(&e), RegistryError::Revoked { .. }),
            "{e:?}"
        );

        // A client_id that is no Entity Identifier and not registered: unknown, even
        // though the registry admits unknown federation clients by default.
        let e = registry
            .verify_client_assertion(&resolver, &assertion(&key, "dcr-nobody", "u1"), &policy, &guard)
            .await
            .unwrap_err();
        assert!(
            matches!(registry_error(&e), RegistryError::UnknownClient { client_id } if client_id == "dcr-nobody"),
            "{e:?}"
        );
        assert!(registry.client("dcr-nobody").await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn dcr_client_with_only_a_jwks_uri_is_refused_naming_why() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (gate, _) = gate(&fed);
        let (resolver, _) = resolver(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        let key = TestKey::generate(KeyAlg::ES256);
        let ssa = org_statement(&fed, "acme", json!({}));
        let body = request(
            Some(&ssa),
            json!({"jwks": null, "jwks_uri": "https://app.example/jwks.json"}),
        );
        let r = registry
            .register_dynamic(&gate, &body, &MemoryReplayGuard::default())
            .await
            .expect("registered with a jwks_uri");
        let id = r.registration.client_id.clone();
        let e = registry
            .verify_client_assertion(
                &resolver,
                &assertion(&key, &id, "j1"),
                &RequestPolicy::new(OP),
                &MemoryReplayGuard::default(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(registry_error(&e), RegistryError::NoKeys { client_id, .. } if *client_id == id),
            "{e:?}"
        );
        assert_eq!(e.spec_code(), "invalid_client");
    })
    .await;
}

fn manual(client_id: &str, org: ManualOrganization, key: &TestKey) -> ManualOnboarding {
    let mut metadata = serde_json::Map::new();
    metadata.insert("jwks".into(), key.public_jwks());
    metadata.insert("client_name".into(), Value::from("Portal client"));
    ManualOnboarding::new(client_id)
        .organization(org)
        .approved_by("alice@as.example", "TICKET-9")
        .valid_until(NOW + 100, NOW + 50)
        .metadata(metadata)
}

#[tokio::test]
async fn manual_client_verifies_until_revoked_or_expired() {
    on_both(|db: Db| async move {
        let fed = federation();
        let (resolver, clock) = resolver(&fed);
        let registry = Registry::open(&db.url).await.unwrap();
        let models = ModelPolicy::default().default_models(AcceptedModels::All);
        let key = TestKey::generate(KeyAlg::ES256);
        let policy = RequestPolicy::new(OP);
        let guard = MemoryReplayGuard::default();
        registry
            .create_organization("partner-gmbh", "Partner GmbH", "bob@as.example", "TICKET-8")
            .await
            .unwrap();
        registry
            .register_manual(
                &resolver,
                &models,
                manual("portal-7", ManualOrganization::Named("partner-gmbh".into()), &key),
            )
            .await
            .unwrap();
        let c = registry
            .verify_client_assertion(&resolver, &assertion(&key, "portal-7", "m1"), &policy, &guard)
            .await
            .expect("manual client assertion verifies");
        assert_eq!(c.organization_id(), Some("partner-gmbh"));
        registry
            .verify_request_object(&resolver, &request_object(&key, "portal-7", "m2"), &policy, &guard)
            .await
            .expect("manual request object verifies");
        let other = TestKey::generate(KeyAlg::ES256);
        let e = registry
            .verify_client_assertion(&resolver, &assertion(&other, "portal-7", "m3"), &policy, &guard)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidClient { .. }), "{e:?}");

        // Past its expiry it is refused at once, before any sweep…
        clock.set(NOW + 100);
        let e = registry
            .verify_client_assertion(&resolver, &assertion(&key, "portal-7", "m4"), &policy, &guard)
            .await
            .unwrap_err();
        assert!(
            matches!(registry_error(&e), RegistryError::Expired { expires_at, .. } if *expires_at == NOW + 100),
            "{e:?}"
        );
        // …and revoked by the next one.
        registry.sweep(&resolver).await.unwrap();
        let e = registry
            .verify_client_assertion(&resolver, &assertion(&key, "portal-7", "m5"), &policy, &guard)
            .await
            .unwrap_err();
        assert!(
            matches!(registry_error(&e), RegistryError::Revoked { .. }),
            "{e:?}"
        );

        // A manual client of a federation organization, offboarded with it.
        clock.set(NOW);
        let acme = ManualOrganization::Federation(fed.id("acme").to_string());
        registry
            .register_manual(&resolver, &models, manual("portal-8", acme, &key))
            .await
            .unwrap();
        registry
            .verify_client_assertion(&resolver, &assertion(&key, "portal-8", "m6"), &policy, &guard)
            .await
            .expect("active");
        registry
            .offboard_organization(&fed.id("acme"), "contract ended")
            .await
            .unwrap();
        let e = registry
            .verify_client_assertion(&resolver, &assertion(&key, "portal-8", "m7"), &policy, &guard)
            .await
            .unwrap_err();
        assert!(
            matches!(registry_error(&e), RegistryError::Revoked { .. }),
            "{e:?}"
        );
    })
    .await;
}
