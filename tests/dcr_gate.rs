//! The RFC 7591 gate without storage: which software statements are accepted, how the
//! request is merged and which refusal (RFC 7591 §3.2.2 code and rule) each bad request gets.

mod dcr_common;

use dcr_common::*;
use oidfed::jose::Alg;
use oidfed::server::MemoryReplayGuard;
use oidfed::server::dcr::{AcceptedModels, DcrError, DcrRule, StatementForm};
use oidfed::testing::{KeyAlg, TestKey};
use serde_json::{Value, json};

fn code_and_rule(e: &DcrError) -> (&'static str, Option<DcrRule>) {
    (e.code(), e.rule())
}

async fn refused(body: Vec<u8>) -> DcrError {
    let fed = federation();
    refused_by(&fed, body).await
}

async fn refused_by(fed: &oidfed::testing::Federation, body: Vec<u8>) -> DcrError {
    let (gate, _) = gate(fed);
    gate.check_registration(&body, &MemoryReplayGuard::default())
        .await
        .expect_err("the request must be refused")
}

#[tokio::test]
async fn organization_signed_statement_is_accepted_and_binds_its_issuer() {
    let fed = federation();
    let (gate, _) = gate(&fed);
    let ssa = org_statement(&fed, "acme", json!({}));
    let ok = gate
        .check_registration(
            &request(Some(&ssa), json!({})),
            &MemoryReplayGuard::default(),
        )
        .await
        .expect("accepted");
    let s = &ok.statement;
    assert_eq!(s.form, StatementForm::OrganizationSigned);
    assert_eq!(s.organization_id, fed.id("acme").as_str());
    assert_eq!(s.issuer, fed.id("acme").as_str());
    assert_eq!(s.trust_anchor, fed.id("ta").as_str());
    assert_eq!(
        s.chain_path,
        vec![fed.id("acme").to_string(), fed.id("ta").to_string()]
    );
    assert_eq!(s.software_id.as_deref(), Some("sw-1"));
    assert_eq!(s.raw, ssa);
    // The anchor's policy for acme's relying parties added its contact; the server filled
    // the RFC 7591 §2 defaults and its authentication method.
    assert_eq!(ok.metadata["contacts"], json!(["security@ta.example"]));
    assert_eq!(ok.metadata["grant_types"], json!(["authorization_code"]));
    assert_eq!(ok.metadata["token_endpoint_auth_method"], "private_key_jwt");
}

#[tokio::test]
async fn software_statement_values_override_request_values() {
    let fed = federation();
    let (gate, _) = gate(&fed);
    let ssa = org_statement(
        &fed,
        "acme",
        json!({"logo_uri": "https://acme.example/logo.png"}),
    );
    let body = request(
        Some(&ssa),
        json!({"software_id": "chosen-by-client", "logo_uri": "https://evil.example/x.png",
               "tos_uri": "https://app.example/tos"}),
    );
    let ok = gate
        .check_registration(&body, &MemoryReplayGuard::default())
        .await
        .expect("accepted");
    assert_eq!(ok.metadata["client_name"], "Vouched");
    assert_eq!(ok.metadata["software_id"], "sw-1");
    assert_eq!(ok.metadata["logo_uri"], "https://acme.example/logo.png");
    // What only the request has is kept; the statement's own claims are not metadata.
    assert_eq!(ok.metadata["tos_uri"], "https://app.example/tos");
    for claim in ["iss", "iat", "exp", "jti"] {
        assert!(
            !ok.metadata.contains_key(claim),
            "{claim} leaked into metadata"
        );
    }
}

#[tokio::test]
async fn statement_from_outside_the_federation_is_unapproved() {
    let fed = federation();
    let e = refused_by(
        &fed,
        request(Some(&org_statement(&fed, "evil", json!({}))), json!({})),
    )
    .await;
    assert_eq!(
        code_and_rule(&e),
        (
            "unapproved_software_statement",
            Some(DcrRule::IssuerNotTrusted)
        )
    );
    let stranger = TestKey::generate(KeyAlg::ES256).sign_jwt(
        "JWT",
        &json!({"iss": "urn:example:stranger", "iat": NOW, "jti": jti()}),
    );
    let e = refused_by(&fed, request(Some(&stranger), json!({}))).await;
    assert_eq!(
        code_and_rule(&e),
        (
            "unapproved_software_statement",
            Some(DcrRule::IssuerNotTrusted)
        )
    );
}

#[tokio::test]
async fn expired_or_too_old_statement_is_invalid() {
    let fed = federation();
    let expired = org_statement(&fed, "acme", json!({"exp": NOW - 3600}));
    let e = refused_by(&fed, request(Some(&expired), json!({}))).await;
    assert_eq!(
        code_and_rule(&e),
        (
            "invalid_software_statement",
            Some(DcrRule::StatementExpired)
        )
    );
    let old = org_statement(&fed, "acme", json!({"iat": NOW - 2 * 86_400, "exp": null}));
    let e = refused_by(&fed, request(Some(&old), json!({}))).await;
    assert_eq!(e.rule(), Some(DcrRule::StatementIssuedAt));
    let future = org_statement(&fed, "acme", json!({"iat": NOW + 3600}));
    let e = refused_by(&fed, request(Some(&future), json!({}))).await;
    assert_eq!(e.rule(), Some(DcrRule::StatementIssuedAt));
}

#[tokio::test]
async fn replayed_statement_is_invalid_and_a_refusal_does_not_use_it_up() {
    let fed = federation();
    let (gate, _) = gate(&fed);
    let guard = MemoryReplayGuard::default();
    let ssa = org_statement(&fed, "acme", json!({}));
    // Refused for its metadata first: the jti stays unused.
    let e = gate
        .check_registration(
            &request(Some(&ssa), json!({"grant_types": ["implicit"]})),
            &guard,
        )
        .await
        .unwrap_err();
    assert_eq!(e.rule(), Some(DcrRule::GrantTypes));
    gate.check_registration(&request(Some(&ssa), json!({})), &guard)
        .await
        .expect("first complete use");
    let e = gate
        .check_registration(&request(Some(&ssa), json!({})), &guard)
        .await
        .unwrap_err();
    assert_eq!(
        code_and_rule(&e),
        (
            "invalid_software_statement",
            Some(DcrRule::StatementReplayed)
        )
    );
    let no_jti = org_statement(&fed, "acme", json!({"jti": null}));
    let e = refused_by(&fed, request(Some(&no_jti), json!({}))).await;
    assert_eq!(e.rule(), Some(DcrRule::StatementReplayed));
}

#[tokio::test]
async fn statement_signed_with_a_key_the_chain_does_not_assert_is_invalid() {
    let fed = federation();
    let other = TestKey::generate(KeyAlg::ES256);
    let claims = json!({"iss": fed.id("acme").as_str(), "iat": NOW, "jti": jti()});
    // Its own kid: not among acme's keys as ta asserts them.
    let e = refused_by(
        &fed,
        request(Some(&other.sign_jwt("JWT", &claims)), json!({})),
    )
    .await;
    assert_eq!(
        code_and_rule(&e),
        ("invalid_software_statement", Some(DcrRule::StatementKid))
    );
    // acme's kid, another key's signature.
    let forged = other.sign_with_header(
        &json!({"alg": "ES256", "kid": fed.key("acme").kid(), "typ": "JWT"}),
        &claims,
    );
    let e = refused_by(&fed, request(Some(&forged), json!({}))).await;
    assert_eq!(
        code_and_rule(&e),
        (
            "invalid_software_statement",
            Some(DcrRule::StatementSignature)
        )
    );
}

#[tokio::test]
async fn algorithm_outside_the_allow_list_or_key_headers_are_refused() {
    let fed = federation();
    let (gate, _) = gate_with(&fed, |c| c.statements.algs = vec![Alg::PS256]);
    let e = gate
        .check_registration(
            &request(Some(&org_statement(&fed, "acme", json!({}))), json!({})),
            &MemoryReplayGuard::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.rule(), Some(DcrRule::StatementAlgorithm));
    let k = fed.key("acme");
    let with_jwk = k.sign_with_header(
        &json!({"alg": "ES256", "kid": k.kid(), "jwk": k.public_jwk()}),
        &json!({"iss": fed.id("acme").as_str(), "iat": NOW, "jti": jti()}),
    );
    let e = refused_by(&fed, request(Some(&with_jwk), json!({}))).await;
    assert_eq!(e.rule(), Some(DcrRule::StatementAlgorithm));
    let entity_statement = k.sign_jwt(
        "entity-statement+jwt",
        &json!({"iss": fed.id("acme").as_str(), "iat": NOW, "jti": jti()}),
    );
    let e = refused_by(&fed, request(Some(&entity_statement), json!({}))).await;
    assert_eq!(e.rule(), Some(DcrRule::StatementMalformed));
}

#[tokio::test]
async fn metadata_breaking_the_organization_policy_is_invalid_client_metadata() {
    let fed = federation();
    let ssa = || org_statement(&fed, "acme", json!({}));
    // subset_of would drop client_credentials: strict policy refuses rather than drops.
    let e = refused_by(
        &fed,
        request(
            Some(&ssa()),
            json!({"grant_types": ["authorization_code", "client_credentials"]}),
        ),
    )
    .await;
    assert_eq!(
        code_and_rule(&e),
        ("invalid_client_metadata", Some(DcrRule::Policy))
    );
    assert!(
        e.description().contains("grant_types"),
        "{}",
        e.description()
    );
    let e = refused_by(
        &fed,
        request(
            Some(&ssa()),
            json!({"token_endpoint_auth_method": "tls_client_auth"}),
        ),
    )
    .await;
    assert_eq!(
        code_and_rule(&e),
        ("invalid_client_metadata", Some(DcrRule::Policy))
    );
    // globex has no policy: the same request is accepted there.
    let (gate, _) = gate(&fed);
    gate.check_registration(
        &request(
            Some(&org_statement(&fed, "globex", json!({}))),
            json!({"grant_types": ["authorization_code", "client_credentials"]}),
        ),
        &MemoryReplayGuard::default(),
    )
    .await
    .expect("no policy under globex");
    // initech may have no relying parties below it (allowed_entity_types).
    let e = refused_by(
        &fed,
        request(Some(&org_statement(&fed, "initech", json!({}))), json!({})),
    )
    .await;
    assert_eq!(
        code_and_rule(&e),
        ("invalid_client_metadata", Some(DcrRule::Policy))
    );
}

#[tokio::test]
async fn request_without_statement_or_with_server_fields_is_refused() {
    let e = refused(request(None, json!({}))).await;
    assert_eq!(
        code_and_rule(&e),
        (
            "invalid_software_statement",
            Some(DcrRule::StatementMissing)
        )
    );
    let e = refused(request(Some("x.y.z"), json!({"client_id": "mine"}))).await;
    assert_eq!(e.rule(), Some(DcrRule::UpdateFields));
    let e = refused(b"[1,2]".to_vec()).await;
    assert_eq!(
        code_and_rule(&e),
        ("invalid_client_metadata", Some(DcrRule::RequestMalformed))
    );
    let e = refused(br#"{"software_statement": 5}"#.to_vec()).await;
    assert_eq!(e.rule(), Some(DcrRule::StatementMalformed));
    let e = refused(request(Some("not-a-jwt"), json!({}))).await;
    assert_eq!(e.rule(), Some(DcrRule::StatementMalformed));
}

#[tokio::test]
async fn redirect_uris_grant_types_algorithms_and_keys_are_checked() {
    let fed = federation();
    let cases: Vec<(Value, &str, DcrRule)> = vec![
        (
            json!({"redirect_uris": ["http://app.example/cb"]}),
            "invalid_redirect_uri",
            DcrRule::RedirectUri,
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb#x"]}),
            "invalid_redirect_uri",
            DcrRule::RedirectUri,
        ),
        (
            json!({"redirect_uris": []}),
            "invalid_redirect_uri",
            DcrRule::RedirectUri,
        ),
        (
            json!({"grant_types": ["authorization_code"], "response_types": ["token"]}),
            "invalid_client_metadata",
            DcrRule::GrantTypes,
        ),
        (
            json!({"token_endpoint_auth_method": "client_secret_basic"}),
            "invalid_client_metadata",
            DcrRule::AuthMethod,
        ),
        (
            json!({"request_object_signing_alg": "none"}),
            "invalid_client_metadata",
            DcrRule::SigningAlg,
        ),
        (
            json!({"jwks_uri": "https://app.example/jwks"}),
            "invalid_client_metadata",
            DcrRule::KeyMaterial,
        ),
        (
            json!({"jwks": null}),
            "invalid_client_metadata",
            DcrRule::KeyMaterial,
        ),
        (
            json!({"jwks": {"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]}}),
            "invalid_client_metadata",
            DcrRule::KeyMaterial,
        ),
        (
            json!({"contacts": "me@app.example"}),
            "invalid_client_metadata",
            DcrRule::MetadataType,
        ),
    ];
    for (extra, code, rule) in cases {
        let body = request(
            Some(&org_statement(&fed, "globex", json!({}))),
            extra.clone(),
        );
        let e = refused_by(&fed, body).await;
        assert_eq!(code_and_rule(&e), (code, Some(rule)), "for {extra}");
    }
}

#[tokio::test]
async fn anchor_accepting_federation_only_refuses_dcr() {
    let fed = federation();
    let ta = fed.id("ta").to_string();
    let (gate, _) = gate_with(&fed, |c| {
        c.models = c.models.clone().anchor(&ta, AcceptedModels::FederationOnly)
    });
    let e = gate
        .check_registration(
            &request(Some(&org_statement(&fed, "acme", json!({}))), json!({})),
            &MemoryReplayGuard::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        code_and_rule(&e),
        (
            "unapproved_software_statement",
            Some(DcrRule::ModelNotAccepted)
        )
    );
}

#[tokio::test]
async fn error_response_is_the_rfc_json_naming_the_rule() {
    let e = refused(request(None, json!({}))).await;
    assert_eq!(e.http_status(), 400);
    let body = e.to_json();
    assert_eq!(body["error"], "invalid_software_statement");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("StatementMissing: "),
        "{body}"
    );
}
