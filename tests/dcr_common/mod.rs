//! Federations, statements and requests shared by the DCR and manual-registration tests.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use oidfed::server::dcr::{DcrConfig, DcrGate, Directory, DirectoryKeys};
use oidfed::testing::{Federation, FederationBuilder, KeyAlg, TestKey};
use oidfed::{FixedClock, Resolver};
use serde_json::{Value, json};

/// The fixed "now".
pub const NOW: i64 = 1_800_000_000;

/// `ta` (also the directory) ← organizations `acme`, `globex` ← leaf `fedrp`; and a
/// second federation `ota` ← `evil` that the server does not trust. `ta` restricts what
/// its organizations' relying parties may ask for.
pub fn federation() -> Federation {
    FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("acme", &["ta"])
        .intermediate("globex", &["ta"])
        .leaf("fedrp", &["acme"])
        .metadata(
            "fedrp",
            "openid_relying_party",
            json!({"client_name": "Federation RP", "redirect_uris": ["https://fedrp.example/cb"]}),
        )
        .metadata(
            "acme",
            "federation_entity",
            json!({"organization_name": "ACME"}),
        )
        .metadata_policy(
            "ta",
            "acme",
            json!({"openid_relying_party": {
                "grant_types": {"subset_of": ["authorization_code", "refresh_token"]},
                "token_endpoint_auth_method": {"one_of": ["private_key_jwt"]},
                "contacts": {"add": ["security@ta.example"]}
            }}),
        )
        .intermediate("initech", &["ta"])
        .constraints(
            "ta",
            "initech",
            json!({"allowed_entity_types": ["oauth_resource"]}),
        )
        .anchor("ota")
        .intermediate("evil", &["ota"])
        .build()
}

/// A resolver trusting `ta` only, at NOW.
pub fn resolver(fed: &Federation) -> (Resolver, FixedClock) {
    let clock = FixedClock::new(NOW);
    let r = Resolver::builder()
        .fetcher(fed.fetcher())
        .clock(clock.clone())
        .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
        .build()
        .expect("resolver");
    (r, clock)
}

/// The directory `ta` (keys from its own Entity Configuration).
pub fn directory(fed: &Federation) -> Directory {
    Directory::new(
        fed.id("ta").as_str(),
        fed.id("ta"),
        DirectoryKeys::AnchorConfiguration,
    )
}

/// A gate with `ta` configured as a directory.
pub fn gate(fed: &Federation) -> (DcrGate, FixedClock) {
    gate_with(fed, |_| {})
}

/// A gate with `ta` as a directory, the configuration edited by `edit`.
pub fn gate_with(fed: &Federation, edit: impl FnOnce(&mut DcrConfig)) -> (DcrGate, FixedClock) {
    let (r, clock) = resolver(fed);
    let mut config = DcrConfig::default();
    config.statements.directories.push(directory(fed));
    edit(&mut config);
    (DcrGate::new(r, config), clock)
}

static JTI: AtomicU64 = AtomicU64::new(1);

/// A fresh `jti`.
pub fn jti() -> String {
    format!("jti-{}", JTI.fetch_add(1, Ordering::Relaxed))
}

/// A statement signed by `signer` with its current key: `iss` = its id, fresh `jti`,
/// `iat` = NOW, `exp` = NOW + 1 h, `software_id` `sw-1`, `client_name` "Vouched", then
/// `extra` merged in (a `null` removes a claim).
pub fn org_statement(fed: &Federation, signer: &str, extra: Value) -> String {
    let mut claims = json!({
        "iss": fed.id(signer).as_str(),
        "iat": NOW,
        "exp": NOW + 3600,
        "jti": jti(),
        "software_id": "sw-1",
        "client_name": "Vouched",
    });
    merge(&mut claims, extra);
    fed.key(signer).sign_jwt("JWT", &claims)
}

/// A directory-issued statement (by `ta`) about organization `org`.
pub fn directory_statement(fed: &Federation, org: &str, extra: Value) -> String {
    let mut claims = json!({
        "iss": fed.id("ta").as_str(),
        "iat": NOW,
        "exp": NOW + 3600,
        "jti": jti(),
        "software_id": "dir-sw-1",
        "org_id": fed.id(org).as_str(),
        "org_name": org,
        "org_status": "Active",
        "software_redirect_uris": ["https://app.example/cb", "https://app.example/cb2"],
        "client_name": "Directory App",
    });
    merge(&mut claims, extra);
    fed.key("ta").sign_jwt("JWT", &claims)
}

fn merge(target: &mut Value, extra: Value) {
    if let (Some(t), Value::Object(e)) = (target.as_object_mut(), extra) {
        for (k, v) in e {
            if v.is_null() {
                t.remove(&k);
            } else {
                t.insert(k, v);
            }
        }
    }
}

/// The client's own protocol key.
pub fn client_key() -> TestKey {
    TestKey::generate(KeyAlg::ES256)
}

/// A registration request body: redirect URI, jwks, a requested `client_name`, the
/// statement, and `extra` merged in.
pub fn request(statement: Option<&str>, extra: Value) -> Vec<u8> {
    let mut body = json!({
        "redirect_uris": ["https://app.example/cb"],
        "client_name": "Asked",
        "jwks": client_key().public_jwks(),
    });
    if let Some(s) = statement {
        body["software_statement"] = Value::from(s);
    }
    merge(&mut body, extra);
    body.to_string().into_bytes()
}
