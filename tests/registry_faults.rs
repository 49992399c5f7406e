//! The database restarted during a sweep (PostgreSQL: a server that goes away and comes
//! back): typed transient errors, no client half-updated, and the next sweep succeeds.
#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;
mod registry_common;

use std::time::Duration;

use common::{NOW, builder, three_level};
use oidfed::registry::{Registry, RegistryError, StatusKind, SweepOutcome};
use oidfed::{FixedClock, Resolver};
use registry_common::{SlowFetcher, postgres};
use serde_json::json;

const N: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_restarted_during_a_sweep_gives_typed_errors_and_the_next_sweep_succeeds() {
    let mut db = postgres();
    let mut fb = three_level();
    for i in 0..N {
        let name = format!("app{i:02}");
        fb = fb.leaf(&name, &["org"]).metadata(
            &name,
            "openid_relying_party",
            json!({"client_name": name}),
        );
    }
    let fed = fb.build();
    let (b, _clock) = builder(&fed, &["ta"]);
    let r = b.build().unwrap();
    let reg = Registry::open(&db.url).await.unwrap();
    for i in 0..N {
        reg.admit(&r, &fed.id(&format!("app{i:02}")), "openid_relying_party")
            .await
            .unwrap();
    }
    for i in 0..N {
        fed.remove_ss("org", &format!("app{i:02}"));
    }

    // A slow sweep; the server stops under it.
    let slow = Resolver::builder()
        .fetcher(SlowFetcher {
            inner: fed.fetcher(),
            delay: Duration::from_millis(20),
        })
        .clock(FixedClock::new(NOW))
        .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
        .build()
        .unwrap();
    let sweeping = {
        let (reg, slow) = (reg.clone(), slow.clone());
        tokio::spawn(async move { reg.sweep(&slow).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut pg = db.pg.take().unwrap();
    let pg_stopped = tokio::task::spawn_blocking(move || {
        pg.stop().unwrap();
        pg
    })
    .await
    .unwrap();
    // Either the sweep ends with the failure (reading its next page of clients), or it
    // reports each client it could not write; typed and transient either way.
    let transient_db = |e: &oidfed::Error| {
        e.is_transient()
            && matches!(
                e.registry_error(),
                Some(RegistryError::Database {
                    transient: true,
                    ..
                })
            )
    };
    match sweeping.await.unwrap() {
        Err(e) => assert!(transient_db(&e), "{e:?}"),
        Ok(report) => {
            assert!(report.not_written > 0, "{report:?}");
            for o in &report.outcomes {
                if let SweepOutcome::NotWritten { error } = &o.outcome {
                    assert!(transient_db(error), "{error:?}");
                }
            }
        }
    }
    // While it is down, every call is a typed transient error.
    let err = reg.status(&fed.id("app00")).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    let err = reg.sweep(&r).await.unwrap_err();
    assert!(matches!(
        err.registry_error(),
        Some(RegistryError::Database {
            transient: true,
            ..
        })
    ));

    let mut pg = pg_stopped;
    tokio::task::spawn_blocking(move || {
        pg.start().unwrap();
        pg
    })
    .await
    .map(|pg| db.pg = Some(pg))
    .unwrap();
    let report = reg.sweep(&r).await.unwrap();
    assert_eq!(report.not_written, 0, "{report:?}");
    let clients = reg.clients().await.unwrap();
    assert_eq!(clients.len(), N);
    assert!(
        clients
            .iter()
            .all(|c| c.status().kind == StatusKind::Revoked)
    );
}
