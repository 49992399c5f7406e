//! Metadata policy inside trust chains (§6.1.4): the spec's worked
//! examples end to end, `metadata_policy_crit`, custom operators, and how failures surface.

mod common;

use std::sync::Arc;

use common::*;
use oidfed::policy::regexp::Regexp;
use oidfed::policy::{PolicyError, PolicyErrorKind};
use oidfed::testing::FederationBuilder;
use oidfed::{EntityType, Error};
use serde_json::{Value, json};

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;
const OP: EntityType = EntityType::OPENID_PROVIDER;

fn assert_set(actual: &Value, expected: Value) {
    let (a, e) = (
        actual.as_array().expect("array"),
        expected.as_array().expect("array"),
    );
    assert!(
        a.len() == e.len() && a.iter().all(|x| e.contains(x)),
        "{actual} is not {expected} as a set"
    );
}

/// The policy error behind a failed resolution: (code, via, the policy error).
fn policy_failure(e: &Error) -> (&'static str, String, PolicyError) {
    match e {
        Error::Policy {
            code, via, source, ..
        } => (code.as_str(), via.clone(), (**source).clone()),
        Error::NoTrustChain { attempts, .. } => attempts
            .iter()
            .find_map(|a| match &a.error {
                Error::Policy {
                    code, via, source, ..
                } => Some((code.as_str(), via.clone(), (**source).clone())),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no policy error in {e}")),
        other => panic!("not a policy error: {other}"),
    }
}

/// §6.1.5: the anchor's and the intermediate's RP policies, the intermediate's metadata for
/// its subordinate, and the leaf's own metadata.
#[tokio::test]
async fn spec_example_6_1_5() {
    let fed = FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("org", &["ta"])
        .leaf("rp", &["org"])
        .metadata(
            "rp",
            "openid_relying_party",
            json!({
                "redirect_uris": ["https://rp.example.edu/callback"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "self_signed_tls_client_auth",
                "contacts": ["rp_admins@rp.example.edu"]
            }),
        )
        .metadata_policy(
            "ta",
            "org",
            json!({"openid_relying_party": {
                "grant_types": {
                    "default": ["authorization_code"],
                    "subset_of": ["authorization_code", "refresh_token"],
                    "superset_of": ["authorization_code"]
                },
                "token_endpoint_auth_method": {
                    "one_of": ["private_key_jwt", "self_signed_tls_client_auth"],
                    "essential": true
                },
                "token_endpoint_auth_signing_alg": {"one_of": ["PS256", "ES256"]},
                "subject_type": {"value": "pairwise"},
                "contacts": {"add": ["helpdesk@federation.example.org"]}
            }}),
        )
        .metadata_policy(
            "org",
            "rp",
            json!({"openid_relying_party": {
                "grant_types": {"subset_of": ["authorization_code"]},
                "token_endpoint_auth_method": {"one_of": ["self_signed_tls_client_auth"]},
                "contacts": {"add": ["helpdesk@org.example.edu"]}
            }}),
        )
        .subordinate_metadata(
            "org",
            "rp",
            "openid_relying_party",
            json!({
                "sector_identifier_uri": "https://org.example.edu/sector-identifier.json",
                "policy_uri": "https://org.example.edu/policy.html"
            }),
        )
        .build();
    let r = resolver(&fed).resolve(&fed.id("rp"), &RP).await.unwrap();
    let md = r.metadata();
    assert_set(&md["grant_types"], json!(["authorization_code"]));
    assert_eq!(md["subject_type"], "pairwise");
    assert_eq!(
        md["token_endpoint_auth_method"],
        "self_signed_tls_client_auth"
    );
    assert_eq!(
        md["sector_identifier_uri"],
        "https://org.example.edu/sector-identifier.json"
    );
    assert_eq!(md["policy_uri"], "https://org.example.edu/policy.html");
    assert_set(
        &md["contacts"],
        json!([
            "rp_admins@rp.example.edu",
            "helpdesk@federation.example.org",
            "helpdesk@org.example.edu"
        ]),
    );
    assert!(md.get("token_endpoint_auth_signing_alg").is_none());
    assert_set(
        &md["redirect_uris"],
        json!(["https://rp.example.edu/callback"]),
    );
}

/// App. A.2.8: an OP three levels below eduGAIN.
#[tokio::test]
async fn spec_example_a_2_8() {
    let builder = FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("edugain")
        .intermediate("swamid", &["edugain"])
        .intermediate("umu", &["swamid"])
        .leaf("op", &["umu"]);
    let op_id = builder.clone().build().id("op");
    let fed = builder
        .metadata(
            "op",
            "openid_provider",
            json!({
                "issuer": op_id.as_str(),
                "authorization_endpoint": "https://op.umu.se/openid/authorization",
                "token_endpoint": "https://op.umu.se/openid/token",
                "jwks_uri": "https://op.umu.se/openid/jwks_uri.json",
                "response_types_supported": ["code", "code id_token", "token"],
                "grant_types_supported": ["authorization_code", "implicit",
                    "urn:ietf:params:oauth:grant-type:jwt-bearer"],
                "subject_types_supported": ["pairwise", "public"],
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post",
                    "client_secret_basic", "client_secret_jwt", "private_key_jwt"],
                "logo_uri": "https://www.umu.se/img/umu-logo-left-neg-SE.svg",
                "op_policy_uri": "https://www.umu.se/en/website/legal-information/"
            }),
        )
        .metadata_policy(
            "edugain",
            "swamid",
            json!({
                "openid_provider": {"contacts": {"add": ["ops@edugain.geant.org"]}},
                "openid_relying_party": {"contacts": {"add": ["ops@edugain.geant.org"]}}
            }),
        )
        .metadata_policy(
            "swamid",
            "umu",
            json!({"openid_provider": {
                "id_token_signing_alg_values_supported": {"subset_of": ["RS256", "ES256", "ES384", "ES512"]},
                "token_endpoint_auth_methods_supported": {"subset_of": ["client_secret_jwt", "private_key_jwt"]},
                "userinfo_signing_alg_values_supported": {"subset_of": ["ES256", "ES384", "ES512"]}
            }}),
        )
        .metadata_policy(
            "umu",
            "op",
            json!({"openid_provider": {
                "contacts": {"add": ["ops@swamid.se"]},
                "organization_name": {"value": "University of Umeå"},
                "subject_types_supported": {"value": ["pairwise"]},
                "token_endpoint_auth_methods_supported": {
                    "default": ["private_key_jwt"],
                    "subset_of": ["private_key_jwt", "client_secret_jwt"],
                    "superset_of": ["private_key_jwt"]
                }
            }}),
        )
        .build();
    let r = resolver_for(&fed, &["edugain"])
        .resolve(&fed.id("op"), &OP)
        .await
        .unwrap();
    let md = r.metadata();
    assert_set(
        &md["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt", "client_secret_jwt"]),
    );
    assert_set(&md["subject_types_supported"], json!(["pairwise"]));
    assert_set(
        &md["contacts"],
        json!(["ops@swamid.se", "ops@edugain.geant.org"]),
    );
    assert_set(
        &md["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256"]),
    );
    assert_eq!(md["organization_name"], "University of Umeå");
    assert!(md.get("userinfo_signing_alg_values_supported").is_none());
    assert_eq!(md["issuer"], op_id.as_str());
}

/// App. A.3.1.2: an RP under InCommon under eduGAIN; element order is not significant.
#[tokio::test]
async fn spec_example_a_3_1_2() {
    let fed = FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("edugain")
        .intermediate("incommon", &["edugain"])
        .leaf("wiki", &["incommon"])
        .metadata(
            "wiki",
            "openid_relying_party",
            json!({
                "application_type": "web",
                "client_name": "LIGO Wiki",
                "contacts": ["ops@ligo.org"],
                "grant_types": ["authorization_code", "refresh_token"],
                "redirect_uris": ["https://wiki.ligo.org/openid/callback"],
                "response_types": ["code"],
                "subject_type": "public",
                "token_endpoint_auth_method": "private_key_jwt"
            }),
        )
        .metadata_policy(
            "edugain",
            "incommon",
            json!({
                "openid_provider": {"contacts": {"add": ["ops@edugain.geant.org"]}},
                "openid_relying_party": {"contacts": {"add": ["ops@edugain.geant.org"]}}
            }),
        )
        .metadata_policy(
            "incommon",
            "wiki",
            json!({"openid_relying_party": {
                "application_type": {"one_of": ["web", "native"]},
                "contacts": {"add": ["ops@incommon.org"]},
                "grant_types": {"subset_of": ["authorization_code", "refresh_token"]}
            }}),
        )
        .build();
    let r = resolver_for(&fed, &["edugain"])
        .resolve(&fed.id("wiki"), &RP)
        .await
        .unwrap();
    let md = r.metadata();
    assert_set(
        &md["grant_types"],
        json!(["refresh_token", "authorization_code"]),
    );
    assert_set(
        &md["contacts"],
        json!(["ops@ligo.org", "ops@incommon.org", "ops@edugain.geant.org"]),
    );
    assert_eq!(md["application_type"], "web");
    // The anchor's openid_provider policy never creates that type for an RP.
    assert!(!r.all_metadata().contains_key("openid_provider"));
}

fn resolver_for(fed: &oidfed::testing::Federation, anchors: &[&str]) -> oidfed::Resolver {
    builder(fed, anchors).0.build().unwrap()
}

#[tokio::test]
async fn non_compliant_metadata_invalidates_the_chain_and_says_why() {
    let fed = three_level()
        .metadata("rp", "openid_relying_party", json!({"token_endpoint_auth_method": "client_secret_basic"}))
        .metadata_policy(
            "ta",
            "org",
            json!({"openid_relying_party": {"token_endpoint_auth_method": {"one_of": ["private_key_jwt"]}}}),
        )
        .build();
    let e = resolver(&fed)
        .resolve(&fed.id("rp"), &RP)
        .await
        .unwrap_err();
    let (code, _via, detail) = policy_failure(&e);
    assert_eq!(code, "invalid_metadata");
    assert_eq!(detail.kind, PolicyErrorKind::OneOfViolation, "{detail}");
    assert_eq!(
        detail.parameter.as_deref(),
        Some("token_endpoint_auth_method"),
        "{detail}"
    );
    assert_eq!(e.policy_error().map(|p| p.kind), Some(detail.kind));
    assert_eq!(e.spec_code(), "invalid_metadata");
}

#[tokio::test]
async fn conflicting_levels_name_the_statement_that_conflicts() {
    let fed = three_level()
        .metadata_policy(
            "ta",
            "org",
            json!({"openid_relying_party": {"subject_type": {"value": "pairwise"}}}),
        )
        .metadata_policy(
            "org",
            "rp",
            json!({"openid_relying_party": {"subject_type": {"value": "public"}}}),
        )
        .build();
    let e = resolver(&fed)
        .resolve(&fed.id("rp"), &RP)
        .await
        .unwrap_err();
    let (code, via, detail) = policy_failure(&e);
    assert_eq!(code, "invalid_policy");
    assert!(
        via.contains("https://fed.example/org → https://fed.example/rp"),
        "{via}"
    );
    assert_eq!(
        detail.parameter.as_deref(),
        Some("subject_type"),
        "{detail}"
    );
    assert_eq!(detail.kind, PolicyErrorKind::MergeConflict, "{detail}");
}

#[tokio::test]
async fn superior_metadata_override_is_subject_to_policy() {
    // The override comes first (§6.1.4.2), so the policy sees the superior's value.
    let fed = three_level()
        .subordinate_metadata("org", "rp", "openid_relying_party", json!({"token_endpoint_auth_method": "client_secret_basic"}))
        .metadata_policy(
            "ta",
            "org",
            json!({"openid_relying_party": {"token_endpoint_auth_method": {"one_of": ["private_key_jwt"]}}}),
        )
        .build();
    let e = resolver(&fed)
        .resolve(&fed.id("rp"), &RP)
        .await
        .unwrap_err();
    assert_eq!(policy_failure(&e).0, "invalid_metadata");
}

#[tokio::test]
async fn essential_and_value_null_in_a_chain() {
    let fed = three_level()
        .metadata(
            "rp",
            "openid_relying_party",
            json!({"initiate_login_uri": "https://rp/login"}),
        )
        .metadata_policy(
            "ta",
            "org",
            json!({"openid_relying_party": {
                "initiate_login_uri": {"value": null},
                "client_name": {"essential": true}
            }}),
        )
        .build();
    let r = resolver(&fed).resolve(&fed.id("rp"), &RP).await.unwrap();
    assert!(r.metadata().get("initiate_login_uri").is_none());
    assert_eq!(r.metadata()["client_name"], "RP");

    let fed = three_level()
        .metadata_policy(
            "ta",
            "org",
            json!({"openid_relying_party": {"logo_uri": {"essential": true}}}),
        )
        .build();
    let e = resolver(&fed)
        .resolve(&fed.id("rp"), &RP)
        .await
        .unwrap_err();
    assert_eq!(policy_failure(&e).0, "invalid_metadata");
}

#[tokio::test]
async fn unknown_operator_without_crit_is_ignored() {
    let fed = three_level()
        .metadata_policy(
            "ta",
            "org",
            json!({"openid_relying_party": {"client_name": {"regexp": "^NOPE$"}}}),
        )
        .build();
    resolver(&fed).resolve(&fed.id("rp"), &RP).await.unwrap();
}

#[tokio::test]
async fn critical_operator_not_supported_rejects_the_chain() {
    let fed = three_level()
        .metadata_policy(
            "ta",
            "org",
            json!({"openid_relying_party": {"client_name": {"regexp": "^R"}}}),
        )
        .ss_claim("ta", "org", "metadata_policy_crit", json!(["regexp"]))
        .build();
    let e = resolver(&fed)
        .resolve(&fed.id("rp"), &RP)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("regexp"), "{text}");
    assert!(
        text.contains("https://fed.example/ta → https://fed.example/org"),
        "{text}"
    );
}

#[tokio::test]
async fn critical_operator_registered_is_applied() {
    let with_pattern = |pattern: &str| {
        three_level()
            .metadata_policy(
                "ta",
                "org",
                json!({"openid_relying_party": {"redirect_uris": {"regexp": pattern}}}),
            )
            .ss_claim("ta", "org", "metadata_policy_crit", json!(["regexp"]))
            .build()
    };
    let resolver_with_regexp = |fed: &oidfed::testing::Federation| {
        builder(fed, &["ta"])
            .0
            .policy_operator(Arc::new(Regexp::default()))
            .build()
            .unwrap()
    };
    let fed = with_pattern("^https://rp\\.example/");
    resolver_with_regexp(&fed)
        .resolve(&fed.id("rp"), &RP)
        .await
        .unwrap();

    let fed = with_pattern("^https://other\\.example/");
    let e = resolver_with_regexp(&fed)
        .resolve(&fed.id("rp"), &RP)
        .await
        .unwrap_err();
    let (code, _, detail) = policy_failure(&e);
    assert_eq!(code, "invalid_metadata");
    assert_eq!(detail.operator.as_deref(), Some("regexp"), "{detail}");
    assert_eq!(detail.kind, PolicyErrorKind::CustomViolation, "{detail}");
}

#[tokio::test]
async fn crit_at_a_lower_level_covers_the_whole_chain() {
    // `regexp` is used by the anchor's statement but declared critical only by the
    // intermediate's: the critical set applies to every policy in the chain (§6.1.4.1).
    let fed = three_level()
        .metadata_policy(
            "ta",
            "org",
            json!({"openid_relying_party": {"client_name": {"regexp": "^NOPE$"}}}),
        )
        .ss_claim("org", "rp", "metadata_policy_crit", json!(["regexp"]))
        .build();
    let e = builder(&fed, &["ta"])
        .0
        .policy_operator(Arc::new(Regexp::default()))
        .build()
        .unwrap()
        .resolve(&fed.id("rp"), &RP)
        .await
        .unwrap_err();
    assert_eq!(policy_failure(&e).0, "invalid_metadata");
}

#[tokio::test]
async fn a_standard_operator_name_cannot_be_registered() {
    struct Fake;
    impl oidfed::policy::PolicyOperator for Fake {
        fn name(&self) -> &str {
            "one_of"
        }
        fn kind(&self) -> oidfed::policy::OperatorKind {
            oidfed::policy::OperatorKind::Check
        }
        fn validate(&self, _: &Value) -> Result<(), String> {
            Ok(())
        }
        fn merge(&self, a: &Value, _: &Value) -> Result<Value, String> {
            Ok(a.clone())
        }
        fn apply(&self, _: &Value, p: Option<&Value>) -> Result<Option<Value>, String> {
            Ok(p.cloned())
        }
    }
    let fed = three_level().build();
    let r = builder(&fed, &["ta"])
        .0
        .policy_operator(Arc::new(Fake))
        .build();
    assert!(matches!(r, Err(Error::Config(_))));
}

#[tokio::test]
async fn policy_applies_after_allowed_entity_types() {
    // The RP also declares openid_provider; the constraint removes it before policy, so a
    // policy that openid_provider would fail never runs.
    let fed = three_level()
        .metadata(
            "rp",
            "openid_provider",
            json!({"issuer": "https://fed.example/rp"}),
        )
        .constraints(
            "ta",
            "org",
            json!({"allowed_entity_types": ["openid_relying_party"]}),
        )
        .metadata_policy(
            "ta",
            "org",
            json!({"openid_provider": {"logo_uri": {"essential": true}}}),
        )
        .build();
    let r = resolver(&fed).resolve(&fed.id("rp"), &RP).await.unwrap();
    assert!(!r.all_metadata().contains_key("openid_provider"));
}

/// Case 26 of tests/SPEC_COVERAGE.md: an empty `metadata_policy_crit`, or one naming a standard
/// operator, makes the Subordinate Statement itself invalid.
#[tokio::test]
async fn empty_or_standard_metadata_policy_crit_rejects_the_statement() {
    for (crit, why) in [
        (json!([]), "empty"),
        (json!(["value"]), "standard operator"),
    ] {
        let fed = three_level()
            .metadata_policy(
                "ta",
                "org",
                json!({"openid_relying_party": {"client_name": {"value": "R"}}}),
            )
            .ss_claim("ta", "org", "metadata_policy_crit", crit)
            .build();
        let e = resolver(&fed)
            .resolve(&fed.id("rp"), &RP)
            .await
            .expect_err(why);
        assert!(
            e.to_string()
                .contains("https://fed.example/ta → https://fed.example/org"),
            "{why}: {e}"
        );
        assert!(e.to_string().contains("metadata_policy_crit"), "{why}: {e}");
        let attempts = format!("{e:?}");
        assert!(attempts.contains("MetadataPolicyCrit"), "{why}: {attempts}");
    }
}

/// Case 84 of tests/SPEC_COVERAGE.md: the resolved OP metadata must keep `issuer` equal to the Entity
/// Identifier; a policy that changes it breaks the metadata.
#[tokio::test]
async fn resolved_op_issuer_other_than_the_entity_id_is_invalid_metadata() {
    let op = |policy: Value| {
        FederationBuilder::new("https://fed.example")
            .now(NOW)
            .anchor("ta")
            .intermediate("org", &["ta"])
            .leaf("op", &["org"])
            .metadata(
                "op",
                "openid_provider",
                json!({"issuer": "https://fed.example/op"}),
            )
            .metadata_policy("org", "op", policy)
            .build()
    };
    let fed = op(json!({}));
    resolver(&fed)
        .resolve(&fed.id("op"), &OP)
        .await
        .expect("issuer matches");
    let fed = op(json!({"openid_provider": {"issuer": {"value": "https://evil.example"}}}));
    let e = resolver(&fed)
        .resolve(&fed.id("op"), &OP)
        .await
        .unwrap_err();
    assert_eq!(e.spec_code(), "invalid_metadata", "{e}");
    assert!(e.to_string().contains("issuer"), "{e}");
}
