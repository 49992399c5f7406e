//! The crypto floor (issue 20): one ES256 verification of the same message and signature,
//! in one run, through each implementation a careful team would consider:
//!
//! - `openssl_oidfed`: oidfed's verifier over the system OpenSSL (what the library uses by
//!   default; with `--features aws-lc` this row is oidfed's verifier over aws-lc-rs);
//! - `openssl_josekit`: josekit's verifier, same OpenSSL;
//! - `aws_lc_rs`: aws-lc-rs (rustls' default provider), `UnparsedPublicKey`;
//! - `ring`: ring 0.17, `UnparsedPublicKey`;
//! - `p256`: RustCrypto's `p256` with a prebuilt `VerifyingKey`.
//!
//! ring's and aws-lc-rs' `UnparsedPublicKey` decode and check the point on every call (that
//! is their API), so their figure includes the key load; `*_load` rows give the key load
//! alone where the library exposes it. OpenSSL built from source (`--features vendored`)
//! is the same `openssl_*` rows on another build.

mod common;

use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, black_box};
use josekit::jws::{ES256, JwsSigner, JwsVerifier};
use oidfed::jose::{Alg, Key};
use p256::ecdsa::signature::Verifier as _;
use serde_json::Value;

use common::{Row, config};

fn b64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap()
}

fn benches(c: &mut Criterion) -> Vec<Row> {
    let msg = b"eyJhbGciOiJFUzI1NiIsImtpZCI6ImsifQ.eyJpc3MiOiJodHRwczovL3JwLmV4YW1wbGUiLCJzdWIiOiJodHRwczovL3JwLmV4YW1wbGUiLCJleHAiOjE4MDAwMDAwNjB9";
    let pair = ES256.generate_key_pair().unwrap();
    let signer = ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap();
    let sig = signer.sign(msg).unwrap();
    let mut jwk = pair.to_jwk_public_key();
    jwk.set_key_id("k");
    let json = Value::Object(jwk.as_ref().clone());
    let (x, y) = (
        b64(json["x"].as_str().unwrap()),
        b64(json["y"].as_str().unwrap()),
    );
    let mut point = vec![4u8];
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);

    let oidfed = Key::from_json(&json).unwrap().verifier(Alg::ES256).unwrap();
    let josekit = ES256.verifier_from_jwk(&jwk).unwrap();
    let p256_key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
    let p256_sig = p256::ecdsa::Signature::from_slice(&sig).unwrap();
    let aws = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
        &point,
    );
    let ring_key =
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, &point);

    // Every implementation accepts the signature and refuses a modified message.
    assert!(oidfed.verify(msg, &sig));
    josekit.verify(msg, &sig).unwrap();
    p256_key.verify(msg, &p256_sig).unwrap();
    aws.verify(msg, &sig).unwrap();
    ring_key.verify(msg, &sig).unwrap();
    let bad = b"tampered";
    assert!(!oidfed.verify(bad, &sig));
    assert!(p256_key.verify(bad, &p256_sig).is_err());
    assert!(aws.verify(bad, &sig).is_err());
    assert!(ring_key.verify(bad, &sig).is_err());

    let mut g = c.benchmark_group("es256_verify");
    g.bench_function("openssl_oidfed", |b| {
        b.iter(|| assert!(oidfed.verify(black_box(msg), &sig)))
    });
    g.bench_function("openssl_josekit", |b| {
        b.iter(|| josekit.verify(black_box(msg), &sig).unwrap())
    });
    g.bench_function("aws_lc_rs", |b| {
        b.iter(|| aws.verify(black_box(msg), &sig).unwrap())
    });
    g.bench_function("ring", |b| {
        b.iter(|| ring_key.verify(black_box(msg), &sig).unwrap())
    });
    g.bench_function("p256", |b| {
        b.iter(|| p256_key.verify(black_box(msg), &p256_sig).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("es256_key_load");
    g.bench_function("openssl_oidfed", |b| {
        b.iter(|| {
            Key::from_json(black_box(&json))
                .unwrap()
                .verifier(Alg::ES256)
                .unwrap()
        })
    });
    g.bench_function("p256", |b| {
        b.iter(|| p256::ecdsa::VerifyingKey::from_sec1_bytes(black_box(&point)).unwrap())
    });
    g.finish();

    [
        "es256_verify/openssl_oidfed",
        "es256_verify/openssl_josekit",
        "es256_verify/aws_lc_rs",
        "es256_verify/ring",
        "es256_verify/p256",
        "es256_key_load/openssl_oidfed",
        "es256_key_load/p256",
    ]
    .iter()
    .map(|id| Row::new(id, None))
    .collect()
}

fn main() {
    let since = SystemTime::now();
    println!(
        "OpenSSL: {}; oidfed's ECDSA verification in this build: {} (openssl_oidfed rows)",
        openssl::version::version(),
        oidfed::jose::EC_VERIFICATION
    );
    let mut c = config().configure_from_args();
    let rows = benches(&mut c);
    c.final_summary();
    common::report(&rows, since);
}
