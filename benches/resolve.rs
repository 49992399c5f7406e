//! Resolution costs on an in-memory three-level federation (anchor → intermediate → leaf,
//! ES256), each benchmark measuring one thing:
//!
//! - `resolve_cold`: `resolve()` on a fresh resolver; everything of the previous iteration
//!   (resolver, caches, statements, keys and their verifiers) is dropped before the next
//!   one is set up, untimed. Five ES256 signature checks.
//! - `resolve_warm`: `resolve()` with every statement in the statement cache.
//! - `record_warm`: `record()` answered from the record cache.
//! - `reresolve_unchanged`: `reresolve()` of a record whose statements are all cached and
//!   unchanged.
//! - `reresolve_leaf_change`: `reresolve()` after the leaf's configuration and its
//!   superior's statement about it changed (republished and dropped from the cache,
//!   untimed). Two ES256 signature checks.
//!
//! The closing report gives criterion's **median** estimate with its 95 % confidence
//! interval and the work (signature checks, fetches) of one operation; compare with
//! `crypto_floor` or `floor` from the same run.

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use common::{RP, Row, config, federation, resolver, work_of};
use criterion::{Bencher, Criterion, black_box};
use oidfed::Resolver;
use oidfed::jose::{Alg, CompactJws, Key};
use oidfed::testing::Federation;
use serde_json::json;
use tokio::runtime::Runtime;

/// Times only `op`; `setup` (and dropping `op`'s output and the setup's value) is untimed.
fn timed<S, T, Fs, F, O>(b: &mut Bencher<'_>, rt: &Runtime, setup: S, op: impl Fn(T) -> F)
where
    S: Fn() -> Fs,
    Fs: Future<Output = T>,
    F: Future<Output = O>,
{
    b.iter_custom(|iters| {
        rt.block_on(async {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let input = setup().await;
                let start = Instant::now();
                let out = op(input).await;
                total += start.elapsed();
                drop(black_box(out));
            }
            total
        })
    })
}

/// The leaf's two statements change (a new claim), and the resolver forgets them.
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

fn benches(c: &mut Criterion, rt: &Runtime) -> Vec<Row> {
    let fed = federation();
    let rp = fed.id("rp");
    let fetcher = fed.fetcher();
    let fetches = || fetcher.total_fetches();
    let mut rows = Vec::new();

    // The yardstick, in the same run: one ES256 check of the leaf's configuration with its
    // own key (oidfed's verifier, built beforehand).
    let ec = fed.entity_configuration("rp");
    let jws = CompactJws::parse(&ec).unwrap();
    let leaf_key = Key::from_json(&fed.key("rp").public_jwk()).unwrap();
    let verifier = leaf_key.verifier(Alg::ES256).unwrap();
    assert!(verifier.verify(jws.signing_input(), jws.signature()));
    rows.push(Row::new("es256_verify", None));
    c.bench_function("es256_verify", |b| {
        b.iter(|| assert!(verifier.verify(black_box(jws.signing_input()), jws.signature())))
    });
    drop((verifier, leaf_key));

    let (work, _) = work_of(fetches, || {
        rt.block_on(resolver(&fed).resolve(&rp, &RP)).unwrap()
    });
    rows.push(Row::new("resolve_cold", Some(work)).ratio_to("es256_verify", 5.0, Some(1.3)));
    c.bench_function("resolve_cold", |b| {
        timed(
            b,
            rt,
            || async {
                // Nothing of an earlier iteration is alive: no key, so no verifier to reuse.
                assert_eq!(oidfed::jose::shared_verifiers_alive(), 0);
                resolver(&fed)
            },
            |r| {
                let rp = &rp;
                // The resolver is returned so that dropping it falls outside the measurement.
                async move {
                    let resolved = r.resolve(rp, &RP).await.unwrap();
                    (r, resolved)
                }
            },
        )
    });

    let warm = resolver(&fed);
    rt.block_on(warm.resolve(&rp, &RP)).unwrap();
    let (work, _) = work_of(fetches, || rt.block_on(warm.resolve(&rp, &RP)).unwrap());
    rows.push(Row::new("resolve_warm", Some(work)));
    c.bench_function("resolve_warm", |b| {
        timed(
            b,
            rt,
            || async {},
            |()| async { warm.resolve(&rp, &RP).await.unwrap() },
        )
    });

    rt.block_on(warm.record(&rp, &RP)).unwrap();
    let (work, _) = work_of(fetches, || rt.block_on(warm.record(&rp, &RP)).unwrap());
    rows.push(Row::new("record_warm", Some(work)));
    c.bench_function("record_warm", |b| {
        timed(
            b,
            rt,
            || async {},
            |()| async { warm.record(&rp, &RP).await.unwrap() },
        )
    });

    let old = rt.block_on(warm.record(&rp, &RP)).unwrap();
    let (work, _) = work_of(fetches, || rt.block_on(warm.reresolve(&old)).unwrap());
    rows.push(Row::new("reresolve_unchanged", Some(work)));
    c.bench_function("reresolve_unchanged", |b| {
        timed(
            b,
            rt,
            || async {},
            |()| async { warm.reresolve(&old).await.unwrap() },
        )
    });

    // Only the leaf's statements change: a new EC and a new statement from its superior.
    let r = resolver(&fed);
    let old = rt.block_on(r.record(&rp, &RP)).unwrap();
    let n = AtomicU64::new(0);
    let next = || n.fetch_add(1, Ordering::Relaxed);
    rt.block_on(change_leaf(&fed, &r, next()));
    let (work, _) = work_of(fetches, || rt.block_on(r.reresolve(&old)).unwrap());
    rows.push(Row::new("reresolve_leaf_change", Some(work)).ratio_to(
        "es256_verify",
        2.0,
        Some(1.5),
    ));
    c.bench_function("reresolve_leaf_change", |b| {
        timed(
            b,
            rt,
            || change_leaf(&fed, &r, next()),
            |()| async { r.reresolve(&old).await.unwrap() },
        )
    });
    rows
}

fn main() {
    let since = SystemTime::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut c = config().configure_from_args();
    let rows = benches(&mut c, &rt);
    c.final_summary();
    common::report(&rows, since);
}
