//! Resolution costs on an in-memory three-level federation (anchor → intermediate → leaf,
//! ES256): cold (fresh resolver), warm (record cache), and re-resolution after only the
//! leaf's statements changed. Compare with `floor` from the same run: a cold resolution must
//! verify five ES256 signatures, a re-resolution two.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use oidfed::testing::{Federation, FederationBuilder};
use oidfed::{EntityType, FixedClock, Resolver};
use serde_json::json;

const NOW: i64 = 1_800_000_000;
const RP: EntityType = EntityType::OPENID_RELYING_PARTY;

fn federation() -> Federation {
    FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("org", &["ta"])
        .leaf("rp", &["org"])
        .metadata(
            "rp",
            "openid_relying_party",
            json!({
                "client_name": "Bench RP",
                "redirect_uris": ["https://rp.example/cb"],
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "private_key_jwt",
                "contacts": ["ops@rp.example"],
            }),
        )
        .metadata_policy(
            "ta",
            "org",
            json!({"openid_relying_party": {
                "grant_types": {"subset_of": ["authorization_code", "refresh_token"]},
                "token_endpoint_auth_method": {"one_of": ["private_key_jwt", "self_signed_tls_client_auth"]},
                "contacts": {"add": ["helpdesk@fed.example"]}
            }}),
        )
        .build()
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
    let quick = std::env::var("OIDFED_BENCH_QUICK").is_ok();
    let c = Criterion::default();
    if quick {
        c.warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .sample_size(20)
    } else {
        c
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fed = federation();
    let rp = fed.id("rp");

    c.bench_function("resolve_cold", |b| {
        b.to_async(&rt).iter_batched(
            || resolver(&fed),
            |r| {
                let rp = rp.clone();
                // The resolver is returned so that dropping it (and its caches) falls outside
                // the measurement, like building it does.
                async move {
                    let resolved = r.resolve(&rp, &RP).await.unwrap();
                    (r, resolved)
                }
            },
            BatchSize::SmallInput,
        )
    });

    let warm = resolver(&fed);
    rt.block_on(warm.record(&rp, &RP)).unwrap();
    c.bench_function("resolve_warm", |b| {
        b.to_async(&rt)
            .iter(|| async { warm.record(&rp, &RP).await.unwrap() })
    });

    // Only the leaf's statements change: a new EC and a new statement from its superior.
    let r = resolver(&fed);
    let old = rt.block_on(r.record(&rp, &RP)).unwrap();
    let org = fed.id("org");
    let n = AtomicU64::new(0);
    c.bench_function("reresolve", |b| {
        b.to_async(&rt).iter_batched(
            || {
                let i = n.fetch_add(1, Ordering::Relaxed);
                fed.republish_ec("rp", |c| {
                    c.insert("x_version".into(), json!(i));
                });
                fed.republish_ss("org", "rp", |c| {
                    c.insert("x_version".into(), json!(i));
                });
            },
            |()| {
                let (r, old, rp, org) = (&r, &old, &rp, &org);
                async move {
                    r.forget_statement(rp, rp).await;
                    r.forget_statement(org, rp).await;
                    r.reresolve(old).await.unwrap()
                }
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group! { name = group; config = config(); targets = benches }
criterion_main!(group);
