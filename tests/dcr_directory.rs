//! The RFC 7591 gate with directory-issued software statements (issue 21): the organization
//! from `org_id`, its status, the federation vouching for it, `software_redirect_uris`.

mod dcr_common;

use dcr_common::*;
use oidfed::jose::KeySet;
use oidfed::server::MemoryReplayGuard;
use oidfed::server::dcr::{DcrError, DcrRule, Directory, DirectoryKeys, StatementForm};
use oidfed::testing::{KeyAlg, TestKey};
use serde_json::{Value, json};

fn code_and_rule(e: &DcrError) -> (&'static str, Option<DcrRule>) {
    (e.code(), e.rule())
}

async fn refused_by(fed: &oidfed::testing::Federation, body: Vec<u8>) -> DcrError {
    let (gate, _) = gate(fed);
    gate.check_registration(&body, &MemoryReplayGuard::default())
        .await
        .expect_err("the request must be refused")
}

#[tokio::test]
async fn directory_statement_is_accepted_with_the_organization_from_org_id() {
    let fed = federation();
    let (gate, _) = gate(&fed);
    let ssa = directory_statement(&fed, "acme", json!({}));
    let ok = gate
        .check_registration(
            &request(Some(&ssa), json!({})),
            &MemoryReplayGuard::default(),
        )
        .await
        .expect("accepted");
    let s = &ok.statement;
    assert_eq!(s.form, StatementForm::DirectoryIssued);
    assert_eq!(s.issuer, fed.id("ta").as_str());
    assert_eq!(s.organization_id, fed.id("acme").as_str());
    assert_eq!(
        s.organization_claim.as_deref(),
        Some(fed.id("acme").as_str())
    );
    assert_eq!(s.software_id.as_deref(), Some("dir-sw-1"));
    assert_eq!(ok.metadata["client_name"], "Directory App");
    // The directory's claims about the organization are not client metadata.
    assert!(!ok.metadata.contains_key("org_status"));
    assert!(!ok.metadata.contains_key("software_redirect_uris"));
}

#[tokio::test]
async fn directory_organization_claim_name_and_template_are_configurable() {
    let fed = federation();
    let base = fed.base();
    let (gate, _) = gate_with(&fed, |c| {
        let d = directory(&fed)
            .organization_claim("organisation_id")
            .organization_template(&format!("{base}/{{org_id}}"));
        c.statements.directories = vec![d];
    });
    let ssa = directory_statement(
        &fed,
        "globex",
        json!({"org_id": null, "organisation_id": "globex"}),
    );
    let ok = gate
        .check_registration(
            &request(Some(&ssa), json!({})),
            &MemoryReplayGuard::default(),
        )
        .await
        .expect("accepted");
    assert_eq!(ok.statement.organization_id, fed.id("globex").as_str());
    assert_eq!(ok.statement.organization_claim.as_deref(), Some("globex"));
}

#[tokio::test]
async fn statement_of_an_unconfigured_directory_is_unapproved() {
    let fed = federation();
    // Without `ta` configured as a directory, its statement is an organization-signed one
    // by the anchor — whose policy-free chain is not the point: configure nothing at all.
    let (gate, _) = gate_with(&fed, |c| c.statements.directories.clear());
    let fake_dir = TestKey::generate(KeyAlg::ES256).sign_jwt(
        "JWT",
        &json!({"iss": "https://directory.other.example", "iat": NOW, "jti": jti(),
                "org_id": fed.id("acme").as_str(), "org_status": "Active"}),
    );
    let e = gate
        .check_registration(
            &request(Some(&fake_dir), json!({})),
            &MemoryReplayGuard::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        code_and_rule(&e),
        (
            "unapproved_software_statement",
            Some(DcrRule::IssuerNotTrusted)
        )
    );
    // Pinned keys that are not the directory's: its kid is unknown.
    let (gate, _) = gate_with(&fed, |c| {
        let pinned = KeySet::from_json(&TestKey::generate(KeyAlg::ES256).public_jwks()).unwrap();
        c.statements.directories = vec![Directory::new(
            fed.id("ta").as_str(),
            fed.id("ta"),
            DirectoryKeys::Pinned(pinned),
        )];
    });
    let e = gate
        .check_registration(
            &request(
                Some(&directory_statement(&fed, "acme", json!({}))),
                json!({}),
            ),
            &MemoryReplayGuard::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        code_and_rule(&e),
        ("invalid_software_statement", Some(DcrRule::StatementKid))
    );
}

#[tokio::test]
async fn directory_organization_not_active_is_unapproved() {
    let fed = federation();
    for status in [json!("Revoked"), json!("Withdrawn"), Value::Null] {
        let ssa = directory_statement(&fed, "acme", json!({"org_status": status.clone()}));
        let e = refused_by(&fed, request(Some(&ssa), json!({}))).await;
        assert_eq!(
            code_and_rule(&e),
            (
                "unapproved_software_statement",
                Some(DcrRule::OrganizationStatus)
            ),
            "org_status {status}"
        );
    }
    // Compared ignoring case.
    let (gate, _) = gate(&fed);
    let ssa = directory_statement(&fed, "acme", json!({"org_status": "active"}));
    gate.check_registration(
        &request(Some(&ssa), json!({})),
        &MemoryReplayGuard::default(),
    )
    .await
    .expect("active in lower case");
}

#[tokio::test]
async fn directory_naming_an_organization_the_federation_does_not_know_is_unapproved() {
    let fed = federation();
    let unknown = format!("{}/nobody", fed.base());
    let other_federation = fed.id("evil").to_string();
    for org in [unknown.as_str(), other_federation.as_str(), "not a url"] {
        let ssa = directory_statement(&fed, "acme", json!({"org_id": org}));
        let e = refused_by(&fed, request(Some(&ssa), json!({}))).await;
        assert_eq!(
            code_and_rule(&e),
            (
                "unapproved_software_statement",
                Some(DcrRule::OrganizationUnknown)
            ),
            "org_id {org}"
        );
    }
    let ssa = directory_statement(&fed, "acme", json!({"org_id": null}));
    let e = refused_by(&fed, request(Some(&ssa), json!({}))).await;
    assert_eq!(e.rule(), Some(DcrRule::OrganizationClaim));
}

#[tokio::test]
async fn redirect_uri_outside_software_redirect_uris_is_invalid_redirect_uri() {
    let fed = federation();
    let ssa = directory_statement(&fed, "acme", json!({}));
    let e = refused_by(
        &fed,
        request(
            Some(&ssa),
            json!({"redirect_uris": ["https://app.example/cb", "https://elsewhere.example/cb"]}),
        ),
    )
    .await;
    assert_eq!(
        code_and_rule(&e),
        ("invalid_redirect_uri", Some(DcrRule::SoftwareRedirectUris))
    );
}
