//! The client registry's costs on SQLite and PostgreSQL: `admit` (the first admission of
//! 1,000 clients, timed as one loop, and the admission of a registered client), `status`
//! (one read), and a `sweep` over 1,000 clients under one organization, with the fetches
//! and signature checks each makes. Ends with criterion's median of each and the
//! throughput it gives (one operation at a time, ops/s = 1 s / median). Needs features
//! `testing`, `sqlite`, `postgres`; starts its own PostgreSQL (`TestPostgres`).
//!
//! `cargo bench --bench registry --features testing,sqlite,postgres` (or `-- --test` to run
//! each once). `OIDFED_BENCH_QUICK=1` shortens the measurement. Timings on a shared machine
//! are noisy: read the counts, and measure timings on a quiet one.

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::Row;
use criterion::Criterion;
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
    let c = Criterion::default().sample_size(20);
    if std::env::var("OIDFED_BENCH_QUICK").is_ok() {
        c.warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_secs(1))
            .sample_size(10)
    } else {
        c.warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5))
    }
}

fn benches(c: &mut Criterion) -> Vec<Row> {
    let mut rows = Vec::new();
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
        let work = common::Work {
            signature_checks: Some(r.signature_checks() - checks),
            fetches: fetcher.total_fetches(),
        };
        common::table_line(
            &format!("registry/first_admission/{engine} ({CLIENTS} clients, one loop)"),
            &format!("{:.0} admits/s", CLIENTS as f64 / took.as_secs_f64()),
            &format!(
                "{} per admit",
                common::human(took.as_nanos() as f64 / CLIENTS as f64)
            ),
            &format!(
                "{:.2} checks, {:.2} fetches per admit",
                work.signature_checks.unwrap_or(0) as f64 / CLIENTS as f64,
                work.fetches as f64 / CLIENTS as f64
            ),
            "",
        );
        println!(
            "{engine}: first admission of {CLIENTS} clients: {:.2} fetches and {:.2} signature checks per admit ({took:?} in all on this machine)",
            fetcher.total_fetches() as f64 / CLIENTS as f64,
            (r.signature_checks() - checks) as f64 / CLIENTS as f64,
        );

        let (work, _) = common::work_of(
            || fetcher.total_fetches(),
            || {
                rt.block_on(registry.admit(&r, &ids[1], &EntityType::OPENID_RELYING_PARTY))
                    .unwrap()
            },
        );
        // Criterion's directory for group `registry`, function `admit_registered_{engine}`.
        rows.push(Row::new(
            &format!("registry/admit_registered_{engine}"),
            Some(work),
        ));
        let mut g = c.benchmark_group("registry");
        let mut i = 0;
        g.bench_function(format!("admit_registered_{engine}"), |b| {
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

        let (work, _) = common::work_of(
            || fetcher.total_fetches(),
            || rt.block_on(registry.status(ids[2].as_str())).unwrap(),
        );
        rows.push(Row::new(&format!("registry/status_{engine}"), Some(work)));
        let mut i = 0;
        g.bench_function(format!("status_{engine}"), |b| {
            b.to_async(&rt).iter(|| {
                i = (i + 1) % CLIENTS;
                let (registry, id) = (&registry, &ids[i]);
                async move {
                    assert!(registry.status(id.as_str()).await.unwrap().is_some());
                }
            })
        });
        g.finish();

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

        rows.push(Row::new(
            &format!("registry_sweep/{CLIENTS}_clients_{engine}"),
            Some(common::Work {
                signature_checks: Some(report.signature_checks),
                fetches: fetcher.total_fetches(),
            }),
        ));
        let mut g = c.benchmark_group("registry_sweep");
        g.sampling_mode(criterion::SamplingMode::Flat)
            .sample_size(10);
        g.bench_function(format!("{CLIENTS}_clients_{engine}"), |b| {
            b.to_async(&rt).iter(|| async {
                let report = registry.sweep(&r).await.unwrap();
                assert_eq!(report.signature_checks, 0);
            })
        });
        g.finish();

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
    rows
}

fn main() {
    let since = SystemTime::now();
    let mut c = config().configure_from_args();
    let rows = benches(&mut c);
    c.final_summary();
    let m = common::report(&rows, since);
    for row in &rows {
        if let Some(ns) = m.get(&row.id) {
            let ops = 1e9 / ns;
            println!("{}: {ops:.0} ops/s (one at a time)", row.id);
            common::table_line(
                &format!("{} throughput", row.id),
                &format!("{ops:.0} ops/s"),
                "",
                "one at a time",
                "",
            );
        }
    }
}
