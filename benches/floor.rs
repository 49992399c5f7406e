//! The cryptographic floor: what one signature check and one verifier build cost on this
//! machine, measured in the same run as the resolver benchmarks they bound.

use criterion::{Criterion, criterion_group, criterion_main};
use josekit::jws::{ES256, JwsVerifier, RS256};
use oidfed::jose::{Alg, Key};
use serde_json::Value;

fn floor(c: &mut Criterion) {
    let msg = b"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2V4YW1wbGUifQ";
    let es = ES256.generate_key_pair().unwrap();
    let es_sig = ES256.signer_from_jwk(&es.to_jwk_private_key()).unwrap();
    let es_ver = ES256.verifier_from_jwk(&es.to_jwk_public_key()).unwrap();
    let sig = josekit::jws::JwsSigner::sign(&es_sig, msg).unwrap();
    c.bench_function("floor/es256_verify", |b| {
        b.iter(|| es_ver.verify(msg, &sig).unwrap())
    });

    let rs = RS256.generate_key_pair(2048).unwrap();
    let rs_sig = RS256.signer_from_jwk(&rs.to_jwk_private_key()).unwrap();
    let rs_ver = RS256.verifier_from_jwk(&rs.to_jwk_public_key()).unwrap();
    let rsig = josekit::jws::JwsSigner::sign(&rs_sig, msg).unwrap();
    c.bench_function("floor/rs256_verify", |b| {
        b.iter(|| rs_ver.verify(msg, &rsig).unwrap())
    });

    // The same check through oidfed's own verifier (built from the JWK's coordinates).
    let mut pub_jwk = es.to_jwk_public_key();
    pub_jwk.set_key_id("k");
    let native = Key::from_json(&Value::Object(pub_jwk.as_ref().clone()))
        .unwrap()
        .verifier(Alg::ES256)
        .unwrap();
    assert!(native.verify(msg, &sig));
    c.bench_function("floor/es256_verify_oidfed", |b| {
        b.iter(|| assert!(native.verify(msg, &sig)))
    });

    let mut jwk = es.to_jwk_public_key();
    jwk.set_key_id("k");
    let json = Value::Object(jwk.as_ref().clone());
    c.bench_function("floor/es256_verifier_from_jwk_josekit", |b| {
        b.iter(|| ES256.verifier_from_jwk(&jwk).unwrap())
    });
    c.bench_function("floor/es256_verifier_from_jwk_oidfed", |b| {
        b.iter(|| {
            let key = Key::from_json(&json).unwrap();
            key.verifier(Alg::ES256).unwrap()
        })
    });
}

criterion_group!(benches, floor);
criterion_main!(benches);
