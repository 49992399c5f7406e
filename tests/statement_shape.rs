//! The shape of a statement: `jwks` present, each Entity Type's metadata an object, and
//! `authority_hints` not empty when present.

mod common;
#[path = "common/statement_rules.rs"]
mod rules_support;

use common::*;
use oidfed::{Error, Rule};
use rules_support::*;
use serde_json::json;

// ---------------------------------------------------------------------------------------
// Case 13: jwks missing.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn entity_configuration_without_jwks_is_rejected() {
    let fed = three_level().build();
    let (rp, ta) = (fed.id("rp").to_string(), fed.id("ta").to_string());
    fed.republish_ec("rp", |c| {
        c.remove("jwks");
    });
    let token = fed.entity_configuration("rp");
    let e = parse(&token).unwrap_err();
    assert_eq!(
        (e.rule, e.detail.contains("missing")),
        (Rule::Jwks, true),
        "{e}"
    );
    let err = assert_refused_both_ways(&fed, Rule::Jwks, &rp, &rp, "missing").await;
    assert!(matches!(err, Error::Statement(_)), "{err}");

    // The anchor's EC: its keys are configured, but the EC must still carry them.
    let fed = three_level().build();
    fed.republish_ec("ta", |c| {
        c.remove("jwks");
    });
    assert_broken(&resolve_err(&fed).await, Rule::Jwks, &ta, &ta, "missing");
}

#[tokio::test]
async fn subordinate_statement_without_jwks_is_rejected() {
    let fed = three_level().build();
    let (rp, org) = (fed.id("rp").to_string(), fed.id("org").to_string());
    fed.republish_ss("org", "rp", |c| {
        c.remove("jwks");
    });
    let token = fed.subordinate_statement("org", "rp");
    assert_eq!(parse(&token).unwrap_err().rule, Rule::Jwks);
    let e = assert_refused_both_ways(&fed, Rule::Jwks, &org, &rp, "missing").await;
    assert!(matches!(e, Error::NoTrustChain { .. }), "{e}");

    // jwks present but not a JWK Set.
    for not_a_set in [json!([]), json!("keys"), json!({})] {
        fed.republish_ss("org", "rp", |c| {
            c.insert("jwks".into(), not_a_set.clone());
        });
        assert_broken(&resolve_err(&fed).await, Rule::Jwks, &org, &rp, "");
    }
    let rp_jwks = fed.public_jwks("rp");
    fed.republish_ss("org", "rp", |c| {
        c.insert("jwks".into(), rp_jwks);
    });
    assert_resolves(&fed).await;
}

// ---------------------------------------------------------------------------------------
// Case 19: an Entity Type's metadata that is not an object.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn entity_type_metadata_that_is_not_an_object_is_rejected() {
    let fed = three_level().build();
    let (rp, org) = (fed.id("rp").to_string(), fed.id("org").to_string());
    // Resolving rp as an RP: the malformed openid_provider entry still rejects the whole EC.
    for bad in [
        json!(["https://op.example"]),
        json!([]),
        json!("https://op.example"),
        json!(1),
        json!(true),
    ] {
        fed.republish_ec("rp", |c| {
            c["metadata"]["openid_provider"] = bad.clone();
        });
        let e = resolve_err(&fed).await;
        assert!(matches!(e, Error::Statement(_)), "{bad}: {e}");
        assert_broken(&e, Rule::Metadata, &rp, &rp, "openid_provider");
        assert_eq!(e.spec_code(), "invalid_metadata", "{bad}");
        let token = fed.entity_configuration("rp");
        assert_eq!(parse(&token).unwrap_err().rule, Rule::Metadata, "{bad}");

        // The same in the superior's statement about rp.
        fed.republish_ec("rp", |c| {
            if let Some(m) = c["metadata"].as_object_mut() {
                m.remove("openid_provider");
            }
        });
        fed.republish_ss("org", "rp", |c| {
            c.insert("metadata".into(), json!({"openid_provider": bad}));
        });
        assert_broken(
            &resolve_err(&fed).await,
            Rule::Metadata,
            &org,
            &rp,
            "openid_provider",
        );
        fed.republish_ss("org", "rp", |c| {
            c.remove("metadata");
        });
    }
    // metadata itself must be an object.
    fed.republish_ec("rp", |c| {
        c.insert("metadata".into(), json!([{"openid_relying_party": {}}]));
    });
    assert_broken(&resolve_err(&fed).await, Rule::Metadata, &rp, &rp, "");
    // An empty object is a valid entry (§3.1.1).
    fed.republish_ec("rp", |c| {
        c.insert(
            "metadata".into(),
            json!({"openid_relying_party": {"client_name": "RP"}, "openid_provider": {}}),
        );
    });
    assert_resolves(&fed).await;
}

// ---------------------------------------------------------------------------------------
// Case 22: authority_hints: [].
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn empty_authority_hints_are_rejected() {
    // In the leaf's EC: refused as malformed, not treated as "no superiors".
    let fed = three_level().build();
    let (rp, org, ta) = ids(&fed);
    fed.republish_ec("rp", |c| {
        c.insert("authority_hints".into(), json!([]));
    });
    let e = resolve_err(&fed).await;
    assert!(matches!(e, Error::Statement(_)), "{e}");
    assert_broken(&e, Rule::AuthorityHints, &rp, &rp, "empty");
    let token = fed.entity_configuration("rp");
    assert_eq!(parse(&token).unwrap_err().rule, Rule::AuthorityHints);
    assert_broken(
        &received_err(&fed).await,
        Rule::AuthorityHints,
        &rp,
        &rp,
        "empty",
    );

    // In an intermediate's EC.
    let fed = three_level().build();
    fed.republish_ec("org", |c| {
        c.insert("authority_hints".into(), json!([]));
    });
    assert_broken(
        &resolve_err(&fed).await,
        Rule::AuthorityHints,
        &org,
        &org,
        "empty",
    );

    // In the anchor's EC: a TA without superiors must omit the claim, not send [].
    let fed = three_level().build();
    fed.republish_ec("ta", |c| {
        c.insert("authority_hints".into(), json!([]));
    });
    assert_broken(
        &resolve_err(&fed).await,
        Rule::AuthorityHints,
        &ta,
        &ta,
        "empty",
    );

    // trust_anchor_hints has the same rule (§3.1.2).
    let fed = three_level()
        .ec_claim("rp", "trust_anchor_hints", json!([]))
        .build();
    assert_broken(
        &resolve_err(&fed).await,
        Rule::TrustAnchorHints,
        &rp,
        &rp,
        "empty",
    );
}
