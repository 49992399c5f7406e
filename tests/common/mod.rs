//! Helpers shared by the integration tests.
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oidfed::testing::{Federation, FederationBuilder};
use oidfed::{FixedClock, Resolver, ResolverBuilder};
use serde_json::{Map, Value};

/// The fixed "now" of every test federation.
pub const NOW: i64 = 1_800_000_000;

/// The payload of a compact JWS, decoded without verification.
pub fn claims_of(jwt: &str) -> Map<String, Value> {
    let p = jwt.split('.').nth(1).expect("a JWS");
    let bytes = URL_SAFE_NO_PAD.decode(p).expect("base64url");
    serde_json::from_slice::<Value>(&bytes)
        .expect("JSON")
        .as_object()
        .expect("object")
        .clone()
}

/// The header of a compact JWS.
pub fn header_of(jwt: &str) -> Map<String, Value> {
    let h = jwt.split('.').next().expect("a JWS");
    let bytes = URL_SAFE_NO_PAD.decode(h).expect("base64url");
    serde_json::from_slice::<Value>(&bytes)
        .expect("JSON")
        .as_object()
        .expect("object")
        .clone()
}

/// anchor `ta` ← intermediate `org` ← leaf `rp` (an RP), at NOW.
pub fn three_level() -> FederationBuilder {
    FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("org", &["ta"])
        .leaf("rp", &["org"])
        .metadata(
            "rp",
            "openid_relying_party",
            serde_json::json!({"client_name": "RP", "redirect_uris": ["https://rp.example/cb"]}),
        )
}

/// A resolver builder trusting `anchors` of `fed`, over its in-memory fetcher, at NOW.
pub fn builder(fed: &Federation, anchors: &[&str]) -> (ResolverBuilder, FixedClock) {
    let clock = FixedClock::new(NOW);
    let mut b = Resolver::builder()
        .fetcher(fed.fetcher())
        .clock(clock.clone());
    for a in anchors {
        b = b.trust_anchor(fed.id(a).as_str(), &fed.public_jwks(a));
    }
    (b, clock)
}

/// A resolver trusting `ta`, at NOW.
pub fn resolver(fed: &Federation) -> Resolver {
    builder(fed, &["ta"]).0.build().expect("resolver")
}
