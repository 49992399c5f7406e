//! Workloads of the benchmarks shaped for `valgrind --tool=callgrind`, whose instruction
//! counts do not depend on the machine's load. Each measured part runs inside a function
//! named `measured_*`, so that callgrind counts only it:
//!
//! ```text
//! cargo build --release --example profile
//! valgrind --tool=callgrind --toggle-collect='*measured_*' \
//!     target/release/examples/profile leaf_change 20
//! callgrind_annotate --inclusive=yes callgrind.out.<pid> | head -60
//! ```
//!
//! Workloads: `leaf_change N` (N re-resolutions after the leaf's two statements changed, as
//! `benches/resolve.rs`'s `reresolve_leaf_change`), `scale N` (N leaves resolved to client
//! records from an empty resolver, as `benches/scale.rs`), `verify N` (N ES256 checks, the
//! yardstick). Each prints the work it did (signature checks, fetches).

#[path = "../benches/common/mod.rs"]
mod common;

use std::sync::Arc;

use common::{NOW, RP, federation, resolver};
use oidfed::jose::{Alg, CompactJws, Key};
use oidfed::testing::{Federation, FederationBuilder};
use oidfed::{ClientRecord, FixedClock, Resolver};
use serde_json::json;
use tokio::runtime::Runtime;

async fn change_leaf(fed: &Federation, r: &Resolver, i: u64) {
    fed.republish_ec("rp", |c| {
        c.insert("x_version".into(), json!(i));
    });
    fed.republish_ss("org", "rp", |c| {
        c.insert("x_version".into(), json!(i));
    });
    let (rp, org) = (fed.id("rp"), fed.id("org"));
    r.forget_statement(&rp, &rp).await;
    r.forget_statement(&org, &rp).await;
}

#[inline(never)]
fn measured_reresolve(rt: &Runtime, r: &Resolver, old: &ClientRecord) {
    let out = rt.block_on(r.reresolve(old)).unwrap();
    std::hint::black_box(out);
}

fn leaf_change(n: u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fed = federation();
    let rp = fed.id("rp");
    let r = resolver(&fed);
    let old = rt.block_on(r.record(&rp, &RP)).unwrap();
    let fetcher = fed.fetcher();
    println!(
        "sizes: oidfed::Error {} B; futures: reresolve {} B, record {} B, resolve {} B",
        std::mem::size_of::<oidfed::Error>(),
        std::mem::size_of_val(&r.reresolve(&old)),
        std::mem::size_of_val(&r.record(&rp, &RP)),
        std::mem::size_of_val(&r.resolve(&rp, &RP))
    );
    let (work, _) = common::work_of(
        || fetcher.total_fetches(),
        || {
            for i in 0..n {
                rt.block_on(change_leaf(&fed, &r, i));
                measured_reresolve(&rt, &r, &old);
            }
        },
    );
    println!("leaf_change: {n} re-resolutions, {work}");
}

#[inline(never)]
fn measured_verify(verifier: &oidfed::jose::Verifier, jws: &CompactJws) {
    assert!(verifier.verify(jws.signing_input(), jws.signature()));
}

fn verify(n: u64) {
    let fed = federation();
    let ec = fed.entity_configuration("rp");
    let jws = CompactJws::parse(&ec).unwrap();
    let key = Key::from_json(&fed.key("rp").public_jwk()).unwrap();
    let verifier = key.verifier(Alg::ES256).unwrap();
    for _ in 0..n {
        measured_verify(&verifier, &jws);
    }
    println!("verify: {n} ES256 checks");
}

#[inline(never)]
fn measured_scale(rt: &Runtime, r: &Resolver, ids: &Arc<Vec<oidfed::EntityId>>) {
    rt.block_on(async {
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
    });
}

fn scale(n: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
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
    let fed = b.build();
    let ids: Arc<Vec<_>> = Arc::new((0..n).map(|k| fed.id(&format!("l{k}"))).collect());
    let r = Resolver::builder()
        .trust_anchor(fed.id("ta1").as_str(), &fed.public_jwks("ta1"))
        .trust_anchor(fed.id("ta2").as_str(), &fed.public_jwks("ta2"))
        .fetcher(fed.fetcher())
        .clock(FixedClock::new(NOW))
        .statement_cache(512 * 1024 * 1024, 86_400)
        .build()
        .unwrap();
    let fetcher = fed.fetcher();
    let (c0, t0) = (common::process_cpu_ns(), std::time::Instant::now());
    let (work, _) = common::work_of(|| fetcher.total_fetches(), || measured_scale(&rt, &r, &ids));
    let (cpu, wall) = (common::process_cpu_ns() - c0, t0.elapsed());
    println!(
        "scale: {n} leaves, {work}; wall {:.0} ms ({:.0} leaves/s), CPU {:.1} µs per leaf",
        wall.as_secs_f64() * 1e3,
        n as f64 / wall.as_secs_f64(),
        cpu as f64 / n as f64 / 1e3
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: u64 = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(20);
    match args.first().map(String::as_str) {
        Some("leaf_change") => leaf_change(n),
        Some("verify") => verify(n),
        Some("scale") => scale(n as usize),
        _ => eprintln!("usage: profile leaf_change|verify|scale N"),
    }
}
