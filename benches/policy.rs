//! Metadata policy (issue 3): parse, combine three levels (anchor, federation intermediate,
//! organization) and apply the result to a realistic relying-party metadata document.
//! Target: ≤ 10 µs for combine + apply. Ends with criterion's median estimates (see
//! `benches/common`).

mod common;

use std::time::SystemTime;

use common::Row;
use criterion::{Criterion, black_box};
use oidfed::policy::MetadataPolicy;
use serde_json::{Value, json};

fn levels() -> [Value; 3] {
    [
        json!({"openid_relying_party": {
            "grant_types": {"default": ["authorization_code"],
                "subset_of": ["authorization_code", "refresh_token"],
                "superset_of": ["authorization_code"]},
            "token_endpoint_auth_method": {"one_of": ["private_key_jwt", "self_signed_tls_client_auth"],
                "essential": true},
            "token_endpoint_auth_signing_alg": {"one_of": ["PS256", "ES256"]},
            "id_token_signed_response_alg": {"one_of": ["PS256", "ES256", "RS256"]},
            "subject_type": {"value": "pairwise"},
            "response_types": {"subset_of": ["code"]},
            "contacts": {"add": ["helpdesk@federation.example.org"]}
        }}),
        json!({"openid_relying_party": {
            "grant_types": {"subset_of": ["authorization_code", "refresh_token"]},
            "id_token_signed_response_alg": {"one_of": ["PS256", "ES256"]},
            "scope": {"subset_of": ["openid", "email", "profile", "offline_access"]},
            "contacts": {"add": ["ops@intermediate.example"]}
        }}),
        json!({"openid_relying_party": {
            "grant_types": {"subset_of": ["authorization_code"]},
            "token_endpoint_auth_method": {"one_of": ["self_signed_tls_client_auth"]},
            "client_registration_types": {"subset_of": ["automatic"], "superset_of": ["automatic"]},
            "contacts": {"add": ["helpdesk@org.example.edu"]},
            "organization_name": {"value": "Example University"}
        }}),
    ]
}

fn metadata() -> serde_json::Map<String, Value> {
    json!({"openid_relying_party": {
        "client_name": "Example Research Portal",
        "application_type": "web",
        "redirect_uris": ["https://rp.example.edu/callback", "https://rp.example.edu/cb2"],
        "response_types": ["code"],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid email profile",
        "token_endpoint_auth_method": "self_signed_tls_client_auth",
        "id_token_signed_response_alg": "ES256",
        "client_registration_types": ["automatic"],
        "contacts": ["rp_admins@rp.example.edu"],
        "logo_uri": "https://rp.example.edu/logo.png",
        "policy_uri": "https://rp.example.edu/policy",
        "tos_uri": "https://rp.example.edu/tos",
        "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1",
            "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
            "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}
    }})
    .as_object()
    .cloned()
    .unwrap_or_default()
}

fn policy(c: &mut Criterion) {
    let [ta, int, org] = levels();
    let md = metadata();
    let parsed: Vec<MetadataPolicy> = [&ta, &int, &org]
        .iter()
        .map(|v| MetadataPolicy::from_json(v).unwrap())
        .collect();

    c.bench_function("policy/combine3_apply", |b| {
        b.iter(|| {
            let merged = parsed[0]
                .combine(&parsed[1])
                .unwrap()
                .combine(&parsed[2])
                .unwrap();
            black_box(merged.apply(black_box(&md)).unwrap())
        })
    });
    c.bench_function("policy/parse3_combine3_apply", |b| {
        b.iter(|| {
            let p: Vec<MetadataPolicy> = [&ta, &int, &org]
                .iter()
                .map(|v| MetadataPolicy::from_json(black_box(v)).unwrap())
                .collect();
            let merged = p[0].combine(&p[1]).unwrap().combine(&p[2]).unwrap();
            black_box(merged.apply(&md).unwrap())
        })
    });
    let merged = parsed[0]
        .combine(&parsed[1])
        .unwrap()
        .combine(&parsed[2])
        .unwrap();
    c.bench_function("policy/apply_only", |b| {
        b.iter(|| black_box(merged.apply(black_box(&md)).unwrap()))
    });
}

fn main() {
    let since = SystemTime::now();
    let mut c = common::config().configure_from_args();
    policy(&mut c);
    c.final_summary();
    let rows: Vec<Row> = [
        "policy/combine3_apply",
        "policy/parse3_combine3_apply",
        "policy/apply_only",
    ]
    .iter()
    .map(|id| Row::new(id, None))
    .collect();
    common::report(&rows, since);
}
