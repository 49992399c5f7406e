//! The request path of an authorization server (issue 20): a registered client (its record
//! in the record cache) presents a `private_key_jwt` client assertion at the token endpoint
//! (`verify_client_assertion`) or a signed Request Object (`verify_request_object`). Each
//! does one ES256 signature check; `es256_verify` measures that check alone, in the same
//! run, on the same signing input (oidfed's verifier, built beforehand). Target: each
//! request ≤ 1.15 × `es256_verify`.
//!
//! Each iteration gets a fresh `MemoryReplayGuard` (untimed), so one signed JWT can be
//! presented again; recording its `jti` is timed.

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::{NOW, Row, config, federation_with, resolver, work_of};
use criterion::{Criterion, black_box};
use oidfed::jose::{Alg, CompactJws, Key};
use oidfed::server::{MemoryReplayGuard, RequestPolicy};
use oidfed::testing::KeyAlg;
use serde_json::json;

const OP: &str = "https://op.example.org";

fn benches(c: &mut Criterion) -> Vec<Row> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fed = federation_with(|b| b.protocol_key("rp", "openid_relying_party", KeyAlg::ES256));
    let proto = fed.protocol_key("rp").unwrap();
    let rp = fed.id("rp");
    let r = resolver(&fed);
    let fetcher = fed.fetcher();
    let fetches = || fetcher.total_fetches();
    let mut policy = RequestPolicy::new(OP);
    policy.assertion_audiences.push(format!("{OP}/token"));
    let mut rows = Vec::new();

    let assertion = proto.sign_jwt(
        "JWT",
        &json!({"iss": rp.as_str(), "sub": rp.as_str(), "aud": format!("{OP}/token"),
                "jti": "a-1", "exp": NOW + 60}),
    );
    let request = proto.sign_jwt(
        "oauth-authz-req+jwt",
        &json!({"iss": rp.as_str(), "client_id": rp.as_str(), "aud": OP, "jti": "r-1",
                "exp": NOW + 300, "iat": NOW, "response_type": "code",
                "redirect_uri": "https://rp.example/cb", "scope": "openid"}),
    );

    // The yardstick: one ES256 check of the assertion's signature with a prebuilt verifier.
    let jws = CompactJws::parse(&assertion).unwrap();
    let verifier = Key::from_json(&proto.public_jwk())
        .unwrap()
        .verifier(Alg::ES256)
        .unwrap();
    assert!(verifier.verify(jws.signing_input(), jws.signature()));
    let mut g = c.benchmark_group("request_path");
    rows.push(Row::new("request_path/es256_verify", None));
    g.bench_function("es256_verify", |b| {
        b.iter(|| assert!(verifier.verify(black_box(jws.signing_input()), jws.signature())))
    });

    // The client is registered: its record is in the record cache.
    rt.block_on(r.record(&rp, &common::RP)).unwrap();

    let (work, _) = work_of(fetches, || {
        let guard = MemoryReplayGuard::default();
        rt.block_on(r.verify_client_assertion(&assertion, &policy, &guard))
            .unwrap()
    });
    rows.push(
        Row::new("request_path/client_assertion", Some(work)).ratio_to(
            "request_path/es256_verify",
            1.0,
            Some(1.15),
        ),
    );
    g.bench_function("client_assertion", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let guard = MemoryReplayGuard::default();
                    let start = Instant::now();
                    let rec = r
                        .verify_client_assertion(&assertion, &policy, &guard)
                        .await
                        .unwrap();
                    total += start.elapsed();
                    drop(black_box((rec, guard)));
                }
                total
            })
        })
    });

    let (work, _) = work_of(fetches, || {
        let guard = MemoryReplayGuard::default();
        rt.block_on(r.verify_request_object(&request, &policy, &guard))
            .unwrap()
    });
    rows.push(
        Row::new("request_path/request_object", Some(work)).ratio_to(
            "request_path/es256_verify",
            1.0,
            Some(1.15),
        ),
    );
    g.bench_function("request_object", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let guard = MemoryReplayGuard::default();
                    let start = Instant::now();
                    let v = r
                        .verify_request_object(&request, &policy, &guard)
                        .await
                        .unwrap();
                    total += start.elapsed();
                    drop(black_box((v, guard)));
                }
                total
            })
        })
    });
    g.finish();
    rows
}

fn main() {
    let since = SystemTime::now();
    let mut c = config().configure_from_args();
    let rows = benches(&mut c);
    c.final_summary();
    common::report(&rows, since);
}
