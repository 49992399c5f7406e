//! The client registry's costs on SQLite and PostgreSQL: `admit`, and a `sweep` over 1,000
//! clients under one organization, with the fetches and signature checks each makes
//! (printed). Needs features `testing`, `sqlite`, `postgres`; starts its own PostgreSQL.
//!
//! `cargo bench --bench registry --features testing,sqlite,postgres` (or `-- --test` to run
//! each once). `OIDFED_BENCH_QUICK=1` shortens the measurement. Timings on a shared machine
//! are noisy: read the counts, and measure timings on a quiet one.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use oidfed::registry::Registry;
use oidfed::testing::postgres::TestPostgres;
use oidfed::testing::{Federation, FederationBuilder};
use oidfed::{EntityType, FixedClock, Resolver};

const NOW: i64 = 1_800_000_000;
const CLIENTS: usize = 1_000;

fn federation() -> Federation {
    let mut b = FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("org", &["ta"]);
    for i in 0..CLIENTS {
        let name = format!("app{i:04}");
        b = b.leaf(&name, &["org"]).metadata(
            &name,
            "openid_relying_party",
            serde_json::json!({"client_name": name}),
        );
    }
    b.build()
}

fn resolver(fed: &Federation) -> Resolver {
    Resolver::builder()
        .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
        .fetcher(fed.fetcher())
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap()
}

fn config() -> Criterion {
    let c = Criterion::default().sample_size(10);
    if std::env::var("OIDFED_BENCH_QUICK").is_ok() {
        c.warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_secs(2))
    } else {
        c.measurement_time(Duration::from_secs(20))
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fed = federation();
    let pg = TestPostgres::launch().unwrap_or_else(|e| panic!("{e}"));
    let file =
        std::env::temp_dir().join(format!("oidfed-bench-registry-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let engines = [
        ("sqlite", format!("sqlite://{}", file.display())),
        ("postgres", pg.url()),
    ];
    let ids: Vec<_> = (0..CLIENTS)
        .map(|i| fed.id(&format!("app{i:04}")))
        .collect();

    for (engine, url) in &engines {
        let r = resolver(&fed);
        let registry = rt.block_on(Registry::open(url)).unwrap();
        let fetcher = fed.fetcher();

        // First admission of every client, counted.
        fetcher.reset_counts();
        let checks = r.signature_checks();
        let started = Instant::now();
        rt.block_on(async {
            for id in &ids {
                registry
                    .admit(&r, id, &EntityType::OPENID_RELYING_PARTY)
                    .await
                    .unwrap();
            }
        });
        let took = started.elapsed();
        println!(
            "{engine}: first admission of {CLIENTS} clients: {:.2} fetches and {:.2} signature checks per admit ({took:?} in all on this machine)",
            fetcher.total_fetches() as f64 / CLIENTS as f64,
            (r.signature_checks() - checks) as f64 / CLIENTS as f64,
        );

        let mut i = 0;
        c.bench_function(&format!("registry/admit_registered/{engine}"), |b| {
            b.to_async(&rt).iter(|| {
                i = (i + 1) % CLIENTS;
                let (registry, r, id) = (&registry, &r, &ids[i]);
                async move {
                    registry
                        .admit(r, id, &EntityType::OPENID_RELYING_PARTY)
                        .await
                        .unwrap();
                }
            })
        });

        fetcher.reset_counts();
        let report = rt.block_on(registry.sweep(&r)).unwrap();
        println!(
            "{engine}: sweep over {CLIENTS} clients, nothing changed: {} fetches ({} distinct statements), {} signature checks, {} unchanged",
            fetcher.total_fetches(),
            report.statements_fetched,
            report.signature_checks,
            report.unchanged
        );
        assert_eq!(report.unchanged, CLIENTS);

        c.bench_function(&format!("registry/sweep_{CLIENTS}/{engine}"), |b| {
            b.to_async(&rt).iter(|| async {
                let report = registry.sweep(&r).await.unwrap();
                assert_eq!(report.signature_checks, 0);
            })
        });

        // One client's statement changes: only its bytes are verified again.
        fed.republish_ss("org", "app0007", |c| {
            c.insert(
                "metadata".into(),
                serde_json::json!({"openid_relying_party": {"client_name": "renamed"}}),
            );
        });
        fetcher.reset_counts();
        let report = rt.block_on(registry.sweep(&r)).unwrap();
        println!(
            "{engine}: sweep over {CLIENTS} clients, one statement changed: {} fetches, {} signature checks, {} changed",
            fetcher.total_fetches(),
            report.signature_checks,
            report.changed
        );
        fed.republish_ss("org", "app0007", |c| {
            c.remove("metadata");
        });
        rt.block_on(registry.close());
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    drop(pg);
}

criterion_group! { name = group; config = config(); targets = benches }
criterion_main!(group);
