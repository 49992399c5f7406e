//! Federation scale: one resolver resolving 10 000 leaves (`OIDFED_SCALE_LEAVES` to change)
//! under 10 intermediates and 2 anchors, ES256 throughout, with a tokio runtime of exactly 2
//! worker threads and 64 concurrent tasks; each iteration starts from a fresh resolver
//! (empty caches) and ends when every leaf's client record is built (`record()`: walk,
//! signature checks, policy, record). Criterion's median time per iteration gives leaves per
//! second; the machine (CPU model, cores online, OpenSSL), the load average and the work
//! per leaf (signature checks, fetches) are printed with it.
//!
//! Memory: the bytes each client record holds, counted by a counting global allocator
//! (bytes freed when the records are dropped, after the resolver and its caches are gone),
//! and the resident-set growth of the whole resolver per leaf, caches included.

// The counting allocator is the one place here that needs `unsafe`: it only forwards to the
// system allocator and keeps a byte count. The library itself forbids unsafe code.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use std::time::SystemTime;

use criterion::{Criterion, Throughput};

/// The work of one resolution of every leaf, for the table.
static WORK: std::sync::OnceLock<String> = std::sync::OnceLock::new();
use oidfed::testing::{Federation, FederationBuilder};
use oidfed::{EntityType, FixedClock, Resolver};
use serde_json::json;

const NOW: i64 = 1_800_000_000;
const RP: EntityType = EntityType::OPENID_RELYING_PARTY;

fn leaves() -> usize {
    std::env::var("OIDFED_SCALE_LEAVES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn federation(n: usize) -> Federation {
    let mut b = FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta1")
        .anchor("ta2");
    for i in 0..10 {
        b = b.intermediate(&format!("i{i}"), &[if i % 2 == 0 { "ta1" } else { "ta2" }]);
    }
    for k in 0..n {
        let name = format!("l{k}");
        b = b.leaf(&name, &[&format!("i{}", k % 10)]).metadata(
            &name,
            "openid_relying_party",
            json!({"client_name": format!("leaf {k}"), "redirect_uris": [format!("https://l{k}.example/cb")]}),
        );
    }
    b.build()
}

fn resolver(fed: &Federation) -> Resolver {
    Resolver::builder()
        .trust_anchor(fed.id("ta1").as_str(), &fed.public_jwks("ta1"))
        .trust_anchor(fed.id("ta2").as_str(), &fed.public_jwks("ta2"))
        .fetcher(fed.fetcher())
        .clock(FixedClock::new(NOW))
        .statement_cache(512 * 1024 * 1024, 86_400)
        .build()
        .unwrap()
}

async fn resolve_all(r: &Resolver, ids: &Arc<Vec<oidfed::EntityId>>) {
    let workers = 64;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..workers {
        let (r, ids) = (r.clone(), ids.clone());
        tasks.spawn(async move {
            for id in ids.iter().skip(w).step_by(workers) {
                r.record(id, &RP).await.unwrap();
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// Resident set size: `/proc/self/statm`'s second field (pages) × the page size, which is
/// 4 KiB on the x86-64 and aarch64 Linux this runs on.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn scale(c: &mut Criterion) {
    let n = leaves();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fed = federation(n);
    let ids: Arc<Vec<_>> = Arc::new((0..n).map(|k| fed.id(&format!("l{k}"))).collect());

    println!(
        "machine: {}, {} cores online; runtime: 2 worker threads; {}; load average {}",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        openssl::version::version(),
        load()
    );
    common::table_line(
        "machine (scale)",
        &cpu_model(),
        "",
        &format!(
            "{} cores online, 2 worker threads, 64 tasks; {}",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            openssl::version::version()
        ),
        "",
    );
    // Memory per client record: resolve all, keep the records, drop the resolver (its
    // statement and record caches), then count what dropping the records frees.
    let r = resolver(&fed);
    let fetcher = fed.fetcher();
    let rss_before = resident_bytes();
    let (cpu0, wall0) = (common::process_cpu_ns(), Instant::now());
    let (work, _) = common::work_of(
        || fetcher.total_fetches(),
        || rt.block_on(resolve_all(&r, &ids)),
    );
    let rss_after = resident_bytes();
    let (cpu, wall) = (common::process_cpu_ns() - cpu0, wall0.elapsed());
    let cpu_per_leaf = cpu as f64 / n as f64;
    println!(
        "first resolution of {n} leaves: wall {:.0} ms, CPU {} per leaf (every thread): \
         at most {:.0} leaves/s on 2 fully available cores",
        wall.as_secs_f64() * 1e3,
        common::human(cpu_per_leaf),
        2e9 / cpu_per_leaf
    );
    common::table_line(
        "scale: CPU per leaf resolution (first pass, every thread)",
        &common::human(cpu_per_leaf),
        "",
        &format!(
            "{n} leaves; 2 cores fully available ⇒ at most {:.0} leaves/s",
            2e9 / cpu_per_leaf
        ),
        "",
    );
    let _ = WORK.set(format!(
        "{:.2} signature checks, {:.2} fetches per leaf",
        work.signature_checks.unwrap_or(0) as f64 / n as f64,
        work.fetches as f64 / n as f64
    ));
    println!(
        "work for {n} leaves: {work} ({:.2} signature checks and {:.2} fetches per leaf)",
        work.signature_checks.unwrap_or(0) as f64 / n as f64,
        work.fetches as f64 / n as f64
    );
    let records: Vec<_> = rt.block_on(async {
        let mut v = Vec::with_capacity(n);
        for id in ids.iter() {
            v.push(r.record(id, &RP).await.unwrap());
        }
        v
    });
    drop(r);
    let held = LIVE.load(Ordering::Relaxed);
    let sample = serde_json::to_string(&*records[0])
        .map(|s| s.len())
        .unwrap_or(0);
    drop(records);
    let freed = held - LIVE.load(Ordering::Relaxed);
    let per_record = freed / n as isize;
    println!(
        "memory per client record: {per_record} bytes ({n} records; one serializes to {sample} bytes of JSON)",
    );
    let verdict = if per_record <= 8192 { "met" } else { "missed" };
    common::table_line(
        "memory per cached client record (counting allocator)",
        &format!("{per_record} B"),
        "",
        &format!("{n} records"),
        &format!("target ≤ 8192 B: {verdict}"),
    );
    if let (Some(b), Some(a)) = (rss_before, rss_after) {
        let growth = a.saturating_sub(b) / n as u64;
        println!(
            "resident-set growth per resolved leaf, all caches included: {growth} bytes (RSS {} → {} MiB, /proc/self/statm)",
            b / (1 << 20),
            a / (1 << 20)
        );
        common::table_line(
            "resident-set growth per resolved leaf, all caches (statm)",
            &format!("{growth} B"),
            "",
            &format!("{n} leaves; RSS {} → {} MiB", b / (1 << 20), a / (1 << 20)),
            "reported",
        );
    }

    let mut g = c.benchmark_group("federation_scale");
    g.throughput(Throughput::Elements(n as u64));
    // One resolution of every leaf per sample (flat sampling): ten samples of ~2–3 s each.
    g.sampling_mode(criterion::SamplingMode::Flat);
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(100));
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("resolve_all_leaves", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let r = resolver(&fed);
                let start = Instant::now();
                rt.block_on(resolve_all(&r, &ids));
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

fn main() {
    let since = SystemTime::now();
    let mut c = common::config().configure_from_args();
    scale(&mut c);
    c.final_summary();
    let id = "federation_scale/resolve_all_leaves";
    if let Some((m, lo, hi)) = common::median(id, since) {
        let n = leaves() as f64;
        println!(
            "{id}: median {} per {n} leaves = {:.0} leaves/s [{:.0} – {:.0}] (criterion's median estimate, 95 % CI; load average {} at the end)",
            common::human(m),
            n / (m / 1e9),
            n / (hi / 1e9),
            n / (lo / 1e9),
            load()
        );
        common::table_line(
            &format!("{id} (2 worker threads, {n} leaves)"),
            &format!("{:.0} leaves/s", n / (m / 1e9)),
            &format!("{:.0} – {:.0}", n / (hi / 1e9), n / (lo / 1e9)),
            WORK.get().map_or("", String::as_str),
            &format!(
                "target ≥ 5000/s: {}",
                if n / (m / 1e9) >= 5000.0 {
                    "met"
                } else {
                    "missed"
                }
            ),
        );
    }
}
