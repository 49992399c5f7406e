//! The trust monitor's cost per pass (issue 20): 10,000 clients under 10 intermediates and
//! 2 anchors (SQLite registry on a temporary file, in-memory federation, ES256), when
//! nothing changed and when one intermediate's configuration changed. For each pass it
//! prints the wall time, the fetches the federation's `MemoryFetcher` answered, the
//! distinct statements, the signature checks (the library's `oidfed_signature_checks_total`
//! counter, and the pass report's), and the **CPU per client beyond the fetches**: the
//! process's CPU time over the pass (every thread, `/proc/self/task/*/schedstat`) less
//! the pass's fetches × the CPU one `MemoryFetcher` fetch costs (measured here, on the
//! same statements), divided by the clients.
//!
//! ```text
//! cargo bench --bench monitor                          # 10,000 clients, 3 passes each
//! OIDFED_BENCH_QUICK=1 cargo bench --bench monitor     # 1,000 clients, one pass each
//! OIDFED_BENCH_ROUNDS=10 cargo bench --bench monitor   # 10 passes of each kind (for a profiler)
//! ```
//!
//! Expected when nothing changed: 0 signature checks and one fetch per distinct statement
//! (2 per client, 2 per intermediate, 1 per anchor); target ≤ 10 µs CPU per client beyond
//! the fetches. One intermediate changed: checks for that statement only.

mod common;

use std::time::{Duration, Instant};

use oidfed::fetch::{FetchKind, FetchRequest, Fetcher, MemoryFetcher};
use oidfed::registry::Registry;
use oidfed::registry::monitor::{Monitor, PassReport};
use oidfed::testing::FederationBuilder;
use oidfed::{EntityType, FixedClock, Resolver};
use serde_json::json;

const NOW: i64 = 1_800_000_000;
const RP: EntityType = EntityType::OPENID_RELYING_PARTY;
const INTERMEDIATES: usize = 10;

/// One pass, measured: the pass report, the federation's fetches and the library's
/// signature checks during it, and the process's CPU time.
struct Measured {
    report: PassReport,
    fetches: usize,
    checks: Option<u64>,
    cpu_ns: u64,
}

async fn measured_pass(monitor: &Monitor, fetcher: &MemoryFetcher) -> Measured {
    let (f0, s0, c0) = (
        fetcher.total_fetches(),
        common::signature_checks(),
        common::process_cpu_ns(),
    );
    let t0 = user_sys_ticks();
    let report = monitor.pass().await.expect("pass");
    let t1 = user_sys_ticks();
    println!(
        "  process CPU over the pass: user {} ms, system {} ms (/proc/self/stat, 10 ms ticks)",
        (t1.0 - t0.0) * 10,
        (t1.1 - t0.1) * 10
    );
    let (f1, s1, c1) = (
        fetcher.total_fetches(),
        common::signature_checks(),
        common::process_cpu_ns(),
    );
    Measured {
        report,
        fetches: f1 - f0,
        checks: s1.map(|b| b - s0.unwrap_or(0)),
        cpu_ns: c1.saturating_sub(c0),
    }
}

/// The process's user and system CPU time so far, in clock ticks (fields 14 and 15 of
/// `/proc/self/stat`; 100 ticks a second on Linux).
fn user_sys_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    (
        f.get(11).copied().unwrap_or(0),
        f.get(12).copied().unwrap_or(0),
    )
}

/// The CPU time (ns) of one fetch from `fetcher`: every URL it serves, fetched over and
/// over on this thread, 200,000 fetches in all (the kernel's per-thread CPU time advances
/// in scheduler ticks, so the loop must last well over one).
async fn fetch_cost(fetcher: &MemoryFetcher) -> f64 {
    let urls: Vec<url::Url> = fetcher
        .urls()
        .iter()
        .filter_map(|u| url::Url::parse(u).ok())
        .collect();
    let rounds = (200_000 / urls.len().max(1)).max(1);
    let start = common::thread_cpu_ns();
    for _ in 0..rounds {
        for u in &urls {
            let kind = if u.path().ends_with("/.well-known/openid-federation") {
                FetchKind::EntityConfiguration
            } else {
                FetchKind::SubordinateStatement
            };
            let r = fetcher.fetch(FetchRequest::get(u.clone(), kind)).await;
            std::hint::black_box(r.ok());
        }
    }
    (common::thread_cpu_ns() - start) as f64 / (rounds * urls.len()).max(1) as f64
}

fn print(label: &str, m: &Measured, fetch_ns: f64) {
    let r = &m.report;
    let clients = r.clients.max(1) as f64;
    let beyond = (m.cpu_ns as f64 - m.fetches as f64 * fetch_ns) / clients;
    let checks = m
        .checks
        .map_or("not counted".to_string(), |c| c.to_string());
    println!(
        "{label:<28} wall {:>8.1} ms | clients {:>6} | re-validated {:>6} | changed {:>3} | \
         fetches {:>6} (pass report: {}) | statements {:>6} | signature checks {} (pass report: {}) | \
         CPU {:.1} µs per client, {:.1} µs beyond the fetches",
        r.elapsed.as_secs_f64() * 1000.0,
        r.clients,
        r.revalidated,
        r.changed,
        m.fetches,
        r.fetches,
        r.statements,
        checks,
        r.signature_checks,
        m.cpu_ns as f64 / clients / 1e3,
        beyond / 1e3,
    );
    let target = if label.starts_with("nothing") {
        let ok = m.checks == Some(0) && m.fetches == r.statements && beyond <= 10_000.0;
        format!(
            "targets 0 checks, 1 fetch per statement, ≤ 10 µs: {}",
            if ok { "met" } else { "missed" }
        )
    } else {
        String::new()
    };
    common::table_line(
        &format!("monitor pass, {label}, {} clients", r.clients),
        &format!("{:.1} µs CPU/client beyond fetches", beyond / 1e3),
        &format!("wall {:.0} ms", r.elapsed.as_secs_f64() * 1000.0),
        &format!(
            "{checks} signature checks, {} fetches for {} distinct statements ({:.2} µs CPU per fetch)",
            m.fetches,
            r.statements,
            fetch_ns / 1e3
        ),
        &target,
    );
}

fn main() {
    let quick = std::env::var("OIDFED_BENCH_QUICK").is_ok();
    let clients = if quick { 1_000 } else { 10_000 };
    let rounds = std::env::var("OIDFED_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(if quick { 1 } else { 3 });
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
        let fetcher = fed.fetcher();
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
        let fetch_ns = fetch_cost(&fetcher).await;
        println!("one MemoryFetcher fetch: {:.2} µs CPU", fetch_ns / 1e3);
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
            let m = measured_pass(&monitor, &fetcher).await;
            print(&format!("nothing changed ({round})"), &m, fetch_ns);
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
            let m = measured_pass(&monitor, &fetcher).await;
            print(&format!("one intermediate changed ({round})"), &m, fetch_ns);
        }
        registry.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    });
}
