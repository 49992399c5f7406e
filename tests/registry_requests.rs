//! The AS request checks in registry form, with two `Registry` handles and two resolvers
//! standing for two replicas on one database: a revocation through one is refused by the
//! other at once; a key rotation seen by one is used by both; unknown clients admitted or
//! refused by configuration; the replay guard shared by both handles.
#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;
mod registry_common;

use common::{NOW, builder, three_level};
use oidfed::registry::{Actor, AuditEvent, Registry, RegistryError, RegistryOptions};
use oidfed::server::{MemoryReplayGuard, RequestPolicy};
use oidfed::testing::{Federation, KeyAlg, TestKey};
use oidfed::{Error, Resolver};
use registry_common::on_both;
use serde_json::json;

const OP: &str = "https://op.example.org";

fn fed_with(proto: &TestKey) -> Federation {
    three_level()
        .metadata(
            "rp",
            "openid_relying_party",
            json!({"client_name": "RP", "jwks": {"keys": [proto.public_jwk()]}}),
        )
        .build()
}

fn assertion(key: &TestKey, fed: &Federation, jti: &str) -> String {
    let rp = fed.id("rp");
    key.sign_jwt(
        "JWT",
        &json!({"iss": rp.as_str(), "sub": rp.as_str(), "aud": OP, "jti": jti, "exp": NOW + 60}),
    )
}

fn registry_error(e: &Error) -> &RegistryError {
    e.registry_error()
        .unwrap_or_else(|| panic!("not a registry error: {e:?}"))
}

fn two_resolvers(fed: &Federation) -> (Resolver, Resolver) {
    (
        builder(fed, &["ta"]).0.build().unwrap(),
        builder(fed, &["ta"]).0.build().unwrap(),
    )
}

#[tokio::test]
async fn a_revocation_through_one_replica_is_refused_by_the_other_at_once() {
    on_both(|db| async move {
        let proto = TestKey::generate(KeyAlg::ES256);
        let fed = fed_with(&proto);
        let (r1, r2) = two_resolvers(&fed);
        let (a, b) = (
            Registry::open(&db.url).await.unwrap(),
            Registry::open(&db.url).await.unwrap(),
        );
        let policy = RequestPolicy::new(OP);
        let guard = MemoryReplayGuard::default();
        // Replica B admits the unknown client on its first request (automatic
        // registration); replica A accepts it from the shared entry.
        let c = b
            .verify_client_assertion(&r2, &assertion(&proto, &fed, "j1"), &policy, &guard)
            .await
            .unwrap();
        assert!(c.status().is_active());
        let trail = a.audit_of_client(&fed.id("rp")).await.unwrap();
        assert_eq!(
            (trail[0].event, trail[0].actor),
            (AuditEvent::Admitted, Actor::Request)
        );
        a.verify_client_assertion(&r1, &assertion(&proto, &fed, "j2"), &policy, &guard)
            .await
            .unwrap();
        // Both resolvers now cache a valid record of rp.
        r2.record(&fed.id("rp"), &policy.entity_type).await.unwrap();

        fed.remove_ss("org", "rp");
        assert_eq!(a.sweep(&r1).await.unwrap().revoked, 1);

        let err = b
            .verify_client_assertion(&r2, &assertion(&proto, &fed, "j3"), &policy, &guard)
            .await
            .unwrap_err();
        assert!(
            matches!(registry_error(&err), RegistryError::Revoked { .. }),
            "{err:?}"
        );
        assert_eq!(err.spec_code(), "invalid_client");
        // Without the registry, replica B would still trust its cached record.
        r2.verify_client_assertion(&assertion(&proto, &fed, "j4"), &policy, &guard)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_key_rotation_seen_by_one_replica_is_used_by_both() {
    on_both(|db| async move {
        let old = TestKey::generate(KeyAlg::ES256);
        let new = TestKey::generate(KeyAlg::ES256);
        let fed = fed_with(&old);
        let (r1, r2) = two_resolvers(&fed);
        let (a, b) = (
            Registry::open(&db.url).await.unwrap(),
            Registry::open(&db.url).await.unwrap(),
        );
        let policy = RequestPolicy::new(OP);
        let guard = MemoryReplayGuard::default();
        a.admit(&r1, &fed.id("rp"), "openid_relying_party")
            .await
            .unwrap();
        b.verify_client_assertion(&r2, &assertion(&old, &fed, "k1"), &policy, &guard)
            .await
            .unwrap();
        r2.record(&fed.id("rp"), &policy.entity_type).await.unwrap();

        let new_jwk = new.public_jwk();
        fed.republish_ec("rp", |c| {
            c["metadata"]["openid_relying_party"]["jwks"] = json!({"keys": [new_jwk]});
        });
        let report = a.sweep(&r1).await.unwrap();
        assert_eq!(report.changed, 1, "{report:?}");

        for (reg, r, jti) in [(&a, &r1, "k2"), (&b, &r2, "k3")] {
            reg.verify_client_assertion(r, &assertion(&new, &fed, jti), &policy, &guard)
                .await
                .unwrap();
            let err = reg
                .verify_client_assertion(
                    r,
                    &assertion(&old, &fed, &format!("{jti}-old")),
                    &policy,
                    &guard,
                )
                .await
                .unwrap_err();
            assert!(matches!(err, Error::InvalidClient { .. }), "{err:?}");
        }
        let request = new.sign_with_header(
            &json!({"alg": "ES256", "kid": new.kid(), "typ": "oauth-authz-req+jwt"}),
            &json!({"iss": fed.id("rp").as_str(), "client_id": fed.id("rp").as_str(),
                    "aud": OP, "jti": "ro-1", "exp": NOW + 60, "scope": "openid"}),
        );
        let v = b
            .verify_request_object(&r2, &request, &policy, &guard)
            .await
            .unwrap();
        assert_eq!(v.claims["scope"], "openid");
        assert_eq!(v.client.organization_id(), Some(fed.id("org").as_str()));
    })
    .await;
}

#[tokio::test]
async fn unknown_clients_refused_by_configuration_and_suspended_clients_refused() {
    on_both(|db| async move {
        let proto = TestKey::generate(KeyAlg::ES256);
        let fed = fed_with(&proto);
        let (r, _) = two_resolvers(&fed);
        let mut options = RegistryOptions::default();
        options.admit_unknown = false;
        let reg = Registry::open_with(&db.url, options).await.unwrap();
        let policy = RequestPolicy::new(OP);
        let guard = MemoryReplayGuard::default();
        let err = reg
            .verify_client_assertion(&r, &assertion(&proto, &fed, "u1"), &policy, &guard)
            .await
            .unwrap_err();
        assert!(
            matches!(registry_error(&err), RegistryError::UnknownClient { .. }),
            "{err:?}"
        );
        assert!(reg.status(&fed.id("rp")).await.unwrap().is_none());

        // Admitted by an operator, then suspended: unreachable past its expiry.
        let (b, clock) = builder(&fed, &["ta"]);
        let r = b.build().unwrap();
        reg.admit(&r, &fed.id("rp"), "openid_relying_party")
            .await
            .unwrap();
        fed.set_unavailable("org", 503);
        clock.set(NOW + 86_400);
        assert_eq!(reg.sweep(&r).await.unwrap().suspended, 1);
        clock.set(NOW);
        let err = reg
            .verify_client_assertion(&r, &assertion(&proto, &fed, "u2"), &policy, &guard)
            .await
            .unwrap_err();
        assert!(
            matches!(registry_error(&err), RegistryError::Suspended { .. }),
            "{err:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_replay_guard_is_shared_by_two_handles() {
    on_both(|db| async move {
        let a = Registry::open(&db.url).await.unwrap();
        let b = Registry::open(&db.url).await.unwrap();
        let rp = "https://fed.example/rp";
        assert!(a.first_use(rp, "x", NOW + 60, NOW).await.unwrap());
        assert!(!b.first_use(rp, "x", NOW + 60, NOW + 1).await.unwrap());
        assert!(!a.first_use(rp, "x", NOW + 60, NOW + 2).await.unwrap());
        // Another client may use the same jti.
        assert!(
            b.first_use("https://fed.example/other", "x", NOW + 60, NOW)
                .await
                .unwrap()
        );
        // Once kept long enough, the entry may be reused.
        assert!(b.first_use(rp, "x", NOW + 200, NOW + 60).await.unwrap());

        // Racing handles: exactly one wins.
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..16 {
            let reg = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.spawn(async move { reg.first_use(rp, "race", NOW + 60, NOW).await.unwrap() });
        }
        let mut wins = 0;
        while let Some(r) = tasks.join_next().await {
            wins += usize::from(r.unwrap());
        }
        assert_eq!(wins, 1);
    })
    .await;
}

/// A client past the expiry of the chain it was last validated with is refused on the
/// request path, and its keys are not handed out, even while its status still says active
/// (the monitor that would have suspended it is not running).
#[tokio::test]
async fn a_client_past_its_chain_expiry_is_refused_though_no_sweep_ran() {
    on_both(|db| async move {
        let proto = TestKey::generate(KeyAlg::ES256);
        let fed = fed_with(&proto);
        let (b, clock) = builder(&fed, &["ta"]);
        let r = b.build().unwrap();
        let registry = Registry::open(&db.url).await.unwrap();
        let policy = RequestPolicy::new(OP);
        let guard = MemoryReplayGuard::default();
        let c = registry
            .verify_client_assertion(&r, &assertion(&proto, &fed, "e1"), &policy, &guard)
            .await
            .unwrap();
        let until = c.trust_expires_at().expect("a federation client has a chain expiry");
        clock.set(until);
        let rp = fed.id("rp");
        let late = proto.sign_jwt(
            "JWT",
            &json!({"iss": rp.as_str(), "sub": rp.as_str(), "aud": OP, "jti": "e2", "exp": until + 60}),
        );
        let e = registry
            .verify_client_assertion(&r, &late, &policy, &guard)
            .await
            .unwrap_err();
        assert!(
            matches!(registry_error(&e), RegistryError::Expired { expires_at, .. } if *expires_at == until),
            "{e:?}"
        );
        let e = registry.protocol_keys(&r, rp.as_str()).await.unwrap_err();
        assert!(matches!(registry_error(&e), RegistryError::Expired { .. }), "{e:?}");
        // Still active in the registry: only the request path decided.
        let status = registry.status(rp.as_str()).await.unwrap().expect("known");
        assert!(status.is_active());
    })
    .await;
}
