//! Probe: the public `Verifier::from_jwk` must refuse a degenerate RSA key whatever `kty` says.

use base64::Engine;
use oidfed::jose::{Alg, Verifier};
use serde_json::json;

#[test]
fn verifier_from_jwk_refuses_e_1_under_any_kty() {
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let n = openssl::rsa::Rsa::generate(2048).unwrap().n().to_vec();
    for kty in ["RSA", "rsa", "oct-ish"] {
        let jwk = json!({"kty": kty, "kid": "k", "n": b64(&n), "e": "AQ"});
        let r = Verifier::from_jwk(Alg::RS256, jwk.as_object().unwrap());
        assert!(r.is_err(), "kty {kty}: a verifier was built for e = 1");
    }
}
