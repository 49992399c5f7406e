//! Constraints enforced along the chain (OpenID Federation 1.0 §6.2).

mod common;

use common::*;
use oidfed::testing::FederationBuilder;
use oidfed::{EntityType, Error, Rule};
use serde_json::json;

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;

/// ta ← i1 ← i2 ← rp (two intermediates).
fn two_intermediates() -> FederationBuilder {
    FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("i1", &["ta"])
        .intermediate("i2", &["i1"])
        .leaf("rp", &["i2"])
        .metadata("rp", "openid_relying_party", json!({}))
}

async fn outcome(fed: &oidfed::testing::Federation) -> Result<oidfed::ResolvedEntity, Error> {
    resolver(fed).resolve(&fed.id("rp"), &RP).await
}

#[tokio::test]
async fn max_path_length_at_and_above_the_limit() {
    // The anchor's statement about i1: two intermediates (i1, i2) lie between ta and rp.
    let ok = two_intermediates()
        .constraints("ta", "i1", json!({"max_path_length": 2}))
        .build();
    outcome(&ok).await.unwrap();
    let bad = two_intermediates()
        .constraints("ta", "i1", json!({"max_path_length": 1}))
        .build();
    let e = outcome(&bad).await.unwrap_err();
    assert_eq!(e.rule(), Some(Rule::Constraint), "{e}");
    assert!(e.to_string().contains("max_path_length"), "{e}");
}

#[tokio::test]
async fn max_path_length_zero_from_the_immediate_superior_only() {
    let ok = two_intermediates()
        .constraints("i2", "rp", json!({"max_path_length": 0}))
        .build();
    outcome(&ok).await.unwrap();
    let bad = two_intermediates()
        .constraints("i1", "i2", json!({"max_path_length": 0}))
        .build();
    assert_eq!(
        outcome(&bad).await.unwrap_err().rule(),
        Some(Rule::Constraint)
    );
}

#[tokio::test]
async fn malformed_max_path_length_rejects_the_statement() {
    for v in [json!(-1), json!(1.5)] {
        let fed = two_intermediates()
            .constraints("ta", "i1", json!({"max_path_length": v}))
            .build();
        assert_eq!(
            outcome(&fed).await.unwrap_err().rule(),
            Some(Rule::Constraints),
            "{v}"
        );
    }
}

#[tokio::test]
async fn naming_constraints_permitted_excluded_and_intermediates() {
    // Entity ids live under fed.example: permitted ".example" style checks on the host.
    let ok = two_intermediates()
        .constraints(
            "ta",
            "i1",
            json!({"naming_constraints": {"permitted": ["fed.example"]}}),
        )
        .build();
    outcome(&ok).await.unwrap();
    let excluded = two_intermediates()
        .constraints("ta", "i1", json!({"naming_constraints": {"permitted": ["fed.example"], "excluded": ["fed.example"]}}))
        .build();
    assert_eq!(
        outcome(&excluded).await.unwrap_err().rule(),
        Some(Rule::Constraint)
    );
    // A leading dot needs one more label: fed.example itself does not match .example? It
    // does match ".example" (one more label). ".fed.example" does not match fed.example.
    let subdomain_only = two_intermediates()
        .constraints(
            "ta",
            "i1",
            json!({"naming_constraints": {"permitted": [".fed.example"]}}),
        )
        .build();
    let e = outcome(&subdomain_only).await.unwrap_err();
    assert_eq!(e.rule(), Some(Rule::Constraint));
    // The constraint in ta's statement about i1 also checks i1 itself (not only the leaf):
    // permitted nothing matching → fails even though i2/rp never get there.
    let empty = two_intermediates()
        .constraints("ta", "i1", json!({"naming_constraints": {"permitted": []}}))
        .build();
    let e = outcome(&empty).await.unwrap_err();
    assert!(
        e.to_string().contains("i1") || e.to_string().contains("naming"),
        "{e}"
    );
}

#[tokio::test]
async fn allowed_entity_types_filters_but_keeps_federation_entity() {
    let fed = common::three_level()
        .metadata(
            "rp",
            "openid_provider",
            json!({"issuer": "https://fed.example/rp"}),
        )
        .metadata(
            "rp",
            "federation_entity",
            json!({"organization_name": "RP Org"}),
        )
        .constraints(
            "org",
            "rp",
            json!({"allowed_entity_types": ["openid_relying_party"]}),
        )
        .build();
    let r = resolver(&fed);
    let got = r.resolve(&fed.id("rp"), &RP).await.unwrap();
    assert!(!got.all_metadata().contains_key("openid_provider"));
    assert!(got.all_metadata().contains_key("federation_entity"));
    let e = r
        .resolve(&fed.id("rp"), &EntityType::OPENID_PROVIDER)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::EntityTypeNotFound {
                removed_by_constraint: true,
                ..
            }
        ),
        "{e}"
    );
    // An empty list leaves only federation_entity.
    let none = common::three_level()
        .constraints("ta", "org", json!({"allowed_entity_types": []}))
        .build();
    let e = resolver(&none)
        .resolve(&none.id("rp"), &RP)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::EntityTypeNotFound {
                removed_by_constraint: true,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn unknown_constraint_is_ignored() {
    let fed = two_intermediates()
        .constraints("ta", "i1", json!({"foo": 1}))
        .build();
    outcome(&fed).await.unwrap();
}

/// Case 91 of tests/SPEC_COVERAGE.md: the naming constraint in the anchor's statement about an
/// Intermediate also binds the Intermediate's own identifier. Hosts differ here, so the leaf
/// satisfies the constraint and only the Intermediate breaks it.
#[tokio::test]
async fn naming_constraint_checks_the_intermediate_itself_not_only_the_leaf() {
    use oidfed::testing::{KeyAlg, TestKey};
    let (ta, i1, rp) = (
        "https://ta.allowed.example",
        "https://i1.elsewhere.example",
        "https://rp.allowed.example",
    );
    let (kta, ki1, krp) = (
        TestKey::generate(KeyAlg::ES256),
        TestKey::generate(KeyAlg::ES256),
        TestKey::generate(KeyAlg::ES256),
    );
    let exp = NOW + 3600;
    let sign = |k: &TestKey, claims: serde_json::Value| k.sign_jwt("entity-statement+jwt", &claims);
    let chain_with = |permitted: serde_json::Value| {
        vec![
            sign(
                &krp,
                json!({"iss": rp, "sub": rp, "iat": NOW, "exp": exp, "jwks": krp.public_jwks(),
                "authority_hints": [i1], "metadata": {"openid_relying_party": {}}}),
            ),
            sign(
                &ki1,
                json!({"iss": i1, "sub": rp, "iat": NOW, "exp": exp, "jwks": krp.public_jwks()}),
            ),
            sign(
                &kta,
                json!({"iss": ta, "sub": i1, "iat": NOW, "exp": exp, "jwks": ki1.public_jwks(),
                "constraints": {"naming_constraints": {"permitted": permitted}}}),
            ),
        ]
    };
    let resolver = oidfed::Resolver::builder()
        .trust_anchor(ta, &kta.public_jwks())
        .fetcher(oidfed::fetch::MemoryFetcher::new())
        .clock(oidfed::FixedClock::new(NOW))
        .build()
        .expect("resolver");
    // Both hosts permitted: the chain validates (the fixture itself is sound).
    resolver
        .validate_chain(
            &chain_with(json!([".allowed.example", ".elsewhere.example"])),
            &RP,
        )
        .await
        .expect("both permitted");
    // Only the leaf's domain permitted: the Intermediate breaks the constraint.
    let e = resolver
        .validate_chain(&chain_with(json!([".allowed.example"])), &RP)
        .await
        .expect_err("i1 is outside the permitted names");
    assert_eq!(e.rule(), Some(Rule::Constraint), "{e}");
    assert!(e.to_string().contains("i1.elsewhere.example"), "{e}");
}
