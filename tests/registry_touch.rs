//! A re-validation that finds exactly the stored record writes its time and nothing else
//! (issue 20: the monitor pass's cost), on SQLite and PostgreSQL: the version stays, the
//! record and the audit trail stay; a write by another writer since the read is never
//! overwritten by such a touch; `revalidate` refuses what it must not re-resolve; and a
//! database of schema 2 (records inside `oidfed_clients`) is migrated with its records.
#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;
mod registry_common;

use common::{NOW, builder, three_level};
use oidfed::registry::{Actor, Registry, RegistryError, StatusKind, SweepMemo, SweepOutcome};
use oidfed::{EntityType, Error};
use registry_common::{on_both, sqlite};
use serde_json::json;

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;

#[tokio::test]
async fn an_unchanged_sweep_writes_the_validation_time_only_and_a_change_writes_it_all() {
    on_both(|db| async move {
        let fed = three_level().build();
        let (b, clock) = builder(&fed, &["ta"]);
        let resolver = b.build().unwrap();
        let registry = Registry::open(&db.url).await.unwrap();
        let admitted = registry.admit(&resolver, &fed.id("rp"), &RP).await.unwrap();
        let audit = registry.audit_of_client(&fed.id("rp")).await.unwrap().len();

        for step in 1..=3 {
            clock.set(NOW + 100 * step);
            let report = registry.sweep(&resolver).await.unwrap();
            assert_eq!(report.unchanged, 1, "{report:?}");
            let c = registry.client(&fed.id("rp")).await.unwrap().unwrap();
            assert_eq!(c.last_validated(), NOW + 100 * step);
            assert_eq!(c.version(), admitted.version(), "a touch keeps the version");
            assert_eq!(
                c.record(),
                admitted.record(),
                "the stored record is the same"
            );
            assert_eq!(c.status().kind, StatusKind::Active);
        }
        assert_eq!(
            registry.audit_of_client(&fed.id("rp")).await.unwrap().len(),
            audit,
            "nothing changed, nothing audited"
        );

        // The leaf's metadata changes: the whole client is written, audited.
        fed.republish_ec("rp", |c| {
            c.insert(
                "metadata".into(),
                json!({"openid_relying_party": {
                    "client_name": "RP, renamed",
                    "redirect_uris": ["https://rp.example/cb"],
                }}),
            );
        });
        clock.set(NOW + 1_000);
        let report = registry.sweep(&resolver).await.unwrap();
        assert_eq!(report.changed, 1, "{report:?}");
        let c = registry.client(&fed.id("rp")).await.unwrap().unwrap();
        assert_eq!(c.version(), admitted.version() + 1);
        assert_eq!(
            c.record().unwrap().metadata["client_name"],
            json!("RP, renamed")
        );
        assert_eq!(c.last_validated(), NOW + 1_000);
        assert_eq!(
            registry.audit_of_client(&fed.id("rp")).await.unwrap().len(),
            audit + 1
        );

        // And the next unchanged sweep touches the new record.
        clock.set(NOW + 1_100);
        let report = registry.sweep(&resolver).await.unwrap();
        assert_eq!(report.unchanged, 1, "{report:?}");
        let again = registry.client(&fed.id("rp")).await.unwrap().unwrap();
        assert_eq!(
            (again.version(), again.last_validated()),
            (c.version(), NOW + 1_100)
        );
        assert_eq!(again.record(), c.record());
    })
    .await;
}

#[tokio::test]
async fn a_touch_never_overwrites_a_revocation_written_after_the_read() {
    on_both(|db| async move {
        let fed = three_level().build();
        let (b, clock) = builder(&fed, &["ta"]);
        let resolver = b.build().unwrap();
        let registry = Registry::open(&db.url).await.unwrap();
        registry.admit(&resolver, &fed.id("rp"), &RP).await.unwrap();
        // A monitor read the client; an operator revokes it before the monitor writes.
        let read = registry.client(&fed.id("rp")).await.unwrap().unwrap();
        registry
            .offboard_client(&fed.id("rp"), "contract ended")
            .await
            .unwrap();
        clock.set(NOW + 60);
        let line = registry
            .revalidate(&resolver, read, &SweepMemo::new(), Actor::Monitor)
            .await;
        let SweepOutcome::NotWritten { error } = &line.outcome else {
            panic!("{line:?}")
        };
        assert!(
            matches!(error, Error::Registry(e) if matches!(**e, RegistryError::Conflict { .. })),
            "{error}"
        );
        let c = registry.client(&fed.id("rp")).await.unwrap().unwrap();
        assert_eq!(c.status().kind, StatusKind::Revoked);
        assert_ne!(c.last_validated(), NOW + 60);
    })
    .await;
}

#[tokio::test]
async fn revalidate_refuses_a_revoked_client_without_resolving_it() {
    on_both(|db| async move {
        let fed = three_level().build();
        let (b, _clock) = builder(&fed, &["ta"]);
        let resolver = b.build().unwrap();
        let registry = Registry::open(&db.url).await.unwrap();
        registry.admit(&resolver, &fed.id("rp"), &RP).await.unwrap();
        registry
            .offboard_client(&fed.id("rp"), "contract ended")
            .await
            .unwrap();
        let revoked = registry.client(&fed.id("rp")).await.unwrap().unwrap();
        let before = fed.fetcher().total_fetches();
        let memo = SweepMemo::new();
        let line = registry
            .revalidate(&resolver, revoked, &memo, Actor::Monitor)
            .await;
        let SweepOutcome::NotWritten { error } = &line.outcome else {
            panic!("{line:?}")
        };
        assert!(
            matches!(error, Error::Registry(e) if matches!(**e, RegistryError::Revoked { .. })),
            "{error}"
        );
        assert_eq!(fed.fetcher().total_fetches(), before, "nothing fetched");
        assert!(memo.is_empty());
        assert_eq!(
            registry.status(&fed.id("rp")).await.unwrap().unwrap().kind,
            StatusKind::Revoked
        );
    })
    .await;
}

/// Schema 2 kept each record in `oidfed_clients.record_json`, with no digest and no
/// `oidfed_records`: the database is put back in that shape, then opened again.
#[tokio::test]
async fn a_schema_2_database_is_migrated_with_its_records() {
    let db = sqlite();
    let fed = three_level().build();
    let (b, clock) = builder(&fed, &["ta"]);
    let resolver = b.build().unwrap();
    let registry = Registry::open(&db.url).await.unwrap();
    let admitted = registry.admit(&resolver, &fed.id("rp"), &RP).await.unwrap();
    registry.close().await;

    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    for sql in [
        "UPDATE oidfed_clients SET record_json = \
         (SELECT r.record_json FROM oidfed_records r WHERE r.client_id = oidfed_clients.client_id)",
        "DROP TABLE oidfed_records",
        "ALTER TABLE oidfed_clients DROP COLUMN record_digest",
        "DELETE FROM oidfed_schema WHERE version = 3",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let registry = Registry::open(&db.url).await.unwrap();
    assert_eq!(registry.schema_version().await.unwrap(), 3);
    let c = registry.client(&fed.id("rp")).await.unwrap().unwrap();
    assert_eq!(c.record(), admitted.record());
    assert_eq!(c.version(), admitted.version());
    // A migrated row has no digest: its first re-validation writes it whole, the next
    // ones only their time.
    clock.set(NOW + 100);
    assert_eq!(registry.sweep(&resolver).await.unwrap().unchanged, 1);
    let first = registry.client(&fed.id("rp")).await.unwrap().unwrap();
    assert_eq!(first.version(), admitted.version() + 1);
    clock.set(NOW + 200);
    assert_eq!(registry.sweep(&resolver).await.unwrap().unchanged, 1);
    let second = registry.client(&fed.id("rp")).await.unwrap().unwrap();
    assert_eq!(
        (second.version(), second.last_validated()),
        (first.version(), NOW + 200)
    );
    assert_eq!(second.record(), admitted.record());
}

/// A record rebuilt on every re-validation (its keys fetched from a `jwks_uri`) that says
/// what the stored one says is unchanged too: the digest leaves `resolved_at` out.
#[tokio::test]
async fn a_record_rebuilt_from_a_jwks_uri_is_unchanged_when_it_says_the_same() {
    on_both(|db| async move {
        let key = oidfed::testing::TestKey::generate(oidfed::testing::KeyAlg::ES256);
        let jwks_uri = "https://fed.example/rp/jwks";
        let fed = common::three_level()
            .metadata(
                "rp",
                "openid_relying_party",
                json!({"client_name": "RP", "jwks_uri": jwks_uri}),
            )
            .build();
        fed.fetcher().insert(
            jwks_uri,
            oidfed::fetch::FetchResponse::ok("application/json", key.public_jwks().to_string()),
        );
        let (b, clock) = builder(&fed, &["ta"]);
        let resolver = b.build().unwrap();
        let registry = Registry::open(&db.url).await.unwrap();
        let admitted = registry.admit(&resolver, &fed.id("rp"), &RP).await.unwrap();
        for step in 1..=3 {
            clock.set(NOW + 100 * step);
            let report = registry.sweep(&resolver).await.unwrap();
            assert_eq!(report.unchanged, 1, "{report:?}");
            let c = registry.client(&fed.id("rp")).await.unwrap().unwrap();
            assert_eq!(
                (c.version(), c.last_validated()),
                (admitted.version(), NOW + 100 * step),
                "step {step}"
            );
        }
        // The keys behind the URI change: written whole.
        let other = oidfed::testing::TestKey::generate(oidfed::testing::KeyAlg::ES256);
        fed.fetcher().insert(
            jwks_uri,
            oidfed::fetch::FetchResponse::ok("application/json", other.public_jwks().to_string()),
        );
        clock.set(NOW + 1_000);
        let report = registry.sweep(&resolver).await.unwrap();
        assert_eq!(report.changed, 1, "{report:?}");
        let c = registry.client(&fed.id("rp")).await.unwrap().unwrap();
        assert_eq!(c.version(), admitted.version() + 1);
    })
    .await;
}

/// During a rolling upgrade a replica still on schema 2 writes the record into
/// `oidfed_clients.record_json`: that record is the one read (it is the newer), the pass
/// reads the row whole, and the next write by this version moves it back out.
#[tokio::test]
async fn a_record_written_by_a_schema_2_replica_wins_until_rewritten() {
    let db = sqlite();
    let fed = three_level().build();
    let (b, clock) = builder(&fed, &["ta"]);
    let resolver = b.build().unwrap();
    let registry = Registry::open(&db.url).await.unwrap();
    let admitted = registry.admit(&resolver, &fed.id("rp"), &RP).await.unwrap();
    // The old replica's write: another record (another client_name), one version on.
    let mut older = serde_json::to_value(admitted.record().unwrap().as_ref()).unwrap();
    older["metadata"]["client_name"] = json!("written by schema 2");
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    sqlx::query("UPDATE oidfed_clients SET record_json = $1, version = version + 1")
        .bind(older.to_string())
        .execute(&pool)
        .await
        .unwrap();
    let c = registry.client(&fed.id("rp")).await.unwrap().unwrap();
    assert_eq!(
        c.record().unwrap().metadata["client_name"],
        json!("written by schema 2")
    );
    // The pass sees the federation's record differ from that one: written whole.
    clock.set(NOW + 100);
    let report = registry.sweep(&resolver).await.unwrap();
    assert_eq!(report.changed, 1, "{report:?}");
    let (left,): (Option<String>,) = sqlx::query_as("SELECT record_json FROM oidfed_clients")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(left.is_none(), "record_json cleared by the write");
    let c = registry.client(&fed.id("rp")).await.unwrap().unwrap();
    assert_eq!(c.record().unwrap().metadata["client_name"], json!("RP"));
    pool.close().await;
}
