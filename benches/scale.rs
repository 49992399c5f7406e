//! Federation scale: one resolver resolving 10 000 leaves under 10 intermediates and 2
//! anchors, on both cores (criterion reports leaves per second), and the memory each client
//! record holds, counted by a counting global allocator (bytes freed when the records are
//! dropped), with the resident-set growth of the whole resolver for context.

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

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
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

fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
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

    // Memory per client record: resolve all, keep the records, drop the resolver (its
    // statement and record caches), then count what dropping the records frees.
    let r = resolver(&fed);
    let rss_before = resident_bytes();
    rt.block_on(resolve_all(&r, &ids));
    let rss_after = resident_bytes();
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
    println!(
        "memory per client record: {} bytes ({n} records; one serializes to {sample} bytes of JSON)",
        freed / n as isize
    );
    if let (Some(b), Some(a)) = (rss_before, rss_after) {
        println!(
            "resident-set growth per resolved leaf, all caches included: {} bytes (RSS {} → {} MiB)",
            a.saturating_sub(b) / n as u64,
            b / (1 << 20),
            a / (1 << 20)
        );
    }

    let mut g = c.benchmark_group("federation_scale");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(100));
    g.measurement_time(Duration::from_secs(20));
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

criterion_group!(benches, scale);
criterion_main!(benches);
