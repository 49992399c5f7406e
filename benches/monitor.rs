//! The trust monitor's cost per pass: 10,000 clients under 10 intermediates and 2 anchors
//! (SQLite registry on a temporary file, in-memory federation, ES256), when nothing changed
//! and when one intermediate's configuration changed. Prints wall time, network fetches,
//! distinct statements and signature checks of each pass.
//!
//! ```text
//! cargo bench --bench monitor                          # 10,000 clients
//! OIDFED_BENCH_QUICK=1 cargo bench --bench monitor     # 1,000 clients, one pass each
//! ```
//!
//! Expected: nothing changed → 0 signature checks and one fetch per distinct statement
//! (2 per client, 2 per intermediate, 1 per anchor); one intermediate changed → checks for
//! that statement only.

use std::time::{Duration, Instant};

use oidfed::registry::Registry;
use oidfed::registry::monitor::PassReport;
use oidfed::testing::FederationBuilder;
use oidfed::{EntityType, FixedClock, Resolver};
use serde_json::json;

const NOW: i64 = 1_800_000_000;
const RP: EntityType = EntityType::OPENID_RELYING_PARTY;
const INTERMEDIATES: usize = 10;

fn print(label: &str, r: &PassReport) {
    println!(
        "{label:<32} wall {:>9.1} ms | clients {:>6} | re-validated {:>6} | changed {:>3} | \
         fetches {:>6} | statements {:>6} | signature checks {:>5}",
        r.elapsed.as_secs_f64() * 1000.0,
        r.clients,
        r.revalidated,
        r.changed,
        r.fetches,
        r.statements,
        r.signature_checks
    );
}

fn main() {
    let quick = std::env::var("OIDFED_BENCH_QUICK").is_ok();
    let clients = if quick { 1_000 } else { 10_000 };
    let rounds = if quick { 1 } else { 3 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let mut b = FederationBuilder::new("https://fed.example")
            .now(NOW)
            .anchor("ta1")
            .anchor("ta2");
        for i in 0..INTERMEDIATES {
            let anchor = if i < INTERMEDIATES / 2 { "ta1" } else { "ta2" };
            b = b.intermediate(&format!("int{i}"), &[anchor]);
        }
        for c in 0..clients {
            let name = format!("rp{c:05}");
            let sup = format!("int{}", c % INTERMEDIATES);
            b = b
                .leaf(&name, &[&sup])
                .metadata(&name, RP.as_str(), json!({"client_name": name}));
        }
        let fed = b.build();
        let clock = FixedClock::new(NOW);
        let resolver = Resolver::builder()
            .trust_anchor(fed.id("ta1").as_str(), &fed.public_jwks("ta1"))
            .trust_anchor(fed.id("ta2").as_str(), &fed.public_jwks("ta2"))
            .fetcher(fed.fetcher())
            .clock(clock.clone())
            .statement_cache(1024 * 1024 * 1024, 86_400)
            .build()
            .expect("resolver");
        let path = std::env::temp_dir().join(format!("oidfed-bench-monitor-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let registry = Registry::open(&format!("sqlite://{}", path.display()))
            .await
            .expect("registry");
        let started = Instant::now();
        for c in 0..clients {
            registry
                .admit(&resolver, &fed.id(&format!("rp{c:05}")), &RP)
                .await
                .expect("admit");
        }
        println!(
            "admitted {clients} clients under {INTERMEDIATES} intermediates and 2 anchors in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let monitor = registry
            .monitor(&resolver)
            .max_staleness(Duration::from_secs(600))
            .jitter(Duration::ZERO)
            .subordinate_events(None)
            .concurrency(16)
            .build();
        let mut t = NOW;
        for round in 1..=rounds {
            t += 601;
            clock.set(t);
            let r = monitor.pass().await.expect("pass");
            print(&format!("nothing changed ({round})"), &r);
        }
        for round in 1..=rounds {
            fed.republish_ec("int3", |c| {
                c.insert(
                    "metadata".into(),
                    json!({"federation_entity": {
                        "federation_fetch_endpoint": format!("{}/fetch", c["sub"].as_str().unwrap_or_default()),
                        "organization_name": format!("Intermediate 3, revision {round}"),
                    }}),
                );
            });
            t += 601;
            clock.set(t);
            let r = monitor.pass().await.expect("pass");
            print(&format!("one intermediate changed ({round})"), &r);
        }
        registry.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    });
}
