//! A process killed in the middle of a sweep leaves a consistent registry: every client in
//! its old state or its new one (status, audit entry and consent ending together), and the
//! next sweep finishes the work.
//!
//! The parent test spawns this test binary again, selecting the ignored `crash_child` test
//! with an environment variable; the child sweeps slowly and is killed (SIGKILL) once some
//! clients have been revoked.
#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;
mod registry_common;

use std::time::{Duration, Instant};

use common::{NOW, builder, three_level};
use oidfed::registry::{AuditEvent, Registry, RegistryOptions, StatusKind};
use oidfed::{FixedClock, Resolver};
use registry_common::{SlowFetcher, dump_routes, load_routes, on_both};
use serde_json::json;

const N: usize = 120;
const CHILD_ENV: &str = "OIDFED_REGISTRY_CRASH_CHILD";

#[tokio::test]
async fn a_process_killed_mid_sweep_leaves_a_consistent_registry() {
    on_both(|db| async move {
        let mut fb = three_level();
        for i in 0..N {
            let name = format!("app{i:03}");
            fb = fb.leaf(&name, &["org"]).metadata(
                &name,
                "openid_relying_party",
                json!({"client_name": name}),
            );
        }
        let fed = fb.build();
        let (b, clock) = builder(&fed, &["ta"]);
        let r = b.build().unwrap();
        let reg = Registry::open(&db.url).await.unwrap().with_clock(clock);
        for i in 0..N {
            let id = fed.id(&format!("app{i:03}"));
            reg.admit(&r, &id, "openid_relying_party").await.unwrap();
            reg.grant("user", &id, &["openid"]).await.unwrap();
        }
        // The organization leaves: every client must be revoked by the next sweep.
        for i in 0..N {
            fed.remove_ss("org", &format!("app{i:03}"));
        }
        let setup = std::env::temp_dir().join(format!(
            "oidfed-crash-{}-{}.json",
            std::process::id(),
            db.engine
        ));
        let spec = json!({
            "url": db.url,
            "anchor": fed.id("ta").as_str(),
            "anchor_jwks": fed.public_jwks("ta"),
            "routes": dump_routes(&fed.fetcher()),
        });
        std::fs::write(&setup, spec.to_string()).unwrap();
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &setup)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();

        let revoked = |reg: Registry| async move {
            reg.clients()
                .await
                .unwrap()
                .iter()
                .filter(|c| c.status().kind == StatusKind::Revoked)
                .count()
        };
        let started = Instant::now();
        let at_kill = loop {
            let n = revoked(reg.clone()).await;
            if n >= 5 {
                child.kill().unwrap();
                break n;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "the child ended before it was killed"
            );
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the child made no progress"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        child.wait().unwrap();
        let _ = std::fs::remove_file(&setup);
        let after = revoked(reg.clone()).await;
        assert!(
            at_kill <= after && after < N,
            "killed mid-sweep: {after} of {N} revoked"
        );

        // Old state or new state, never half: status, audit entry and consent together.
        for c in reg.clients().await.unwrap() {
            let trail = reg.audit_of_client(c.client_id()).await.unwrap();
            let revocations = trail
                .iter()
                .filter(|e| {
                    e.event == AuditEvent::StatusChanged && e.status().unwrap().is_revoked()
                })
                .count();
            let ended = trail
                .iter()
                .filter(|e| e.event == AuditEvent::ConsentEnded)
                .count();
            let consent = reg.consent_of("user", c.client_id()).await.unwrap();
            match c.status().kind {
                StatusKind::Revoked => {
                    assert_eq!((revocations, ended), (1, 1), "{}", c.client_id());
                    assert!(consent.is_none());
                }
                StatusKind::Active => {
                    assert_eq!((revocations, ended), (0, 0), "{}", c.client_id());
                    assert!(consent.is_some());
                }
                other => panic!("{} is {other:?}", c.client_id()),
            }
        }

        // The next sweep finishes the work.
        let report = reg.sweep(&r).await.unwrap();
        assert_eq!(report.revoked, N - after, "{report:?}");
        assert_eq!(report.not_written, 0);
        assert_eq!(revoked(reg.clone()).await, N);
    })
    .await;
}

/// Not a test of its own: the child process of the test above (selected by its
/// environment variable; without it there is nothing to do).
#[tokio::test]
#[ignore]
async fn crash_child() {
    let Ok(setup) = std::env::var(CHILD_ENV) else {
        return;
    };
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(setup).unwrap()).unwrap();
    let fetcher = SlowFetcher {
        inner: load_routes(&spec["routes"]),
        delay: Duration::from_millis(15),
    };
    let resolver = Resolver::builder()
        .fetcher(fetcher)
        .clock(FixedClock::new(NOW))
        .trust_anchor(spec["anchor"].as_str().unwrap(), &spec["anchor_jwks"])
        .build()
        .unwrap();
    let mut options = RegistryOptions::default();
    options.sweep_concurrency = 1;
    let reg = Registry::open_with(spec["url"].as_str().unwrap(), options)
        .await
        .unwrap();
    reg.sweep(&resolver).await.unwrap();
}
