//! Claim placement: Subordinate-Statement-only claims in an Entity Configuration, and
//! Entity-Configuration-only claims in a Subordinate Statement, are misplaced; `aud` and
//! `trust_anchor` are refused outside Explicit Registration.

mod common;
#[path = "common/statement_rules.rs"]
mod rules_support;

use std::sync::Arc;

use common::*;
use oidfed::policy::regexp::Regexp;
use oidfed::statement::{EntityStatement, StatementRules};
use oidfed::testing::Federation;
use oidfed::{Error, Resolver, Rule};
use rules_support::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// Cases 20 and 21: claim placement.
// ---------------------------------------------------------------------------------------

/// A resolver trusting `ta` that understands the `regexp` policy operator.
fn regexp_resolver(fed: &Federation) -> Resolver {
    builder(fed, &["ta"])
        .0
        .policy_operator(Arc::new(Regexp::default()))
        .build()
        .unwrap()
}

/// Subordinate-Statement-only claims with well-formed values.
fn ss_only_claims() -> Vec<(&'static str, Value)> {
    vec![
        ("metadata_policy_crit", json!(["regexp"])),
        ("constraints", json!({"max_path_length": 2})),
        (
            "metadata_policy",
            json!({"openid_relying_party": {"client_name": {"essential": true}}}),
        ),
        ("source_endpoint", json!("https://fed.example/org/fetch")),
    ]
}

#[tokio::test]
async fn subordinate_only_claims_in_an_entity_configuration_are_misplaced() {
    for (claim, value) in ss_only_claims() {
        // In the leaf's EC, even with every operator it names understood.
        let fed = three_level().build();
        let (rp, ta) = (fed.id("rp").to_string(), fed.id("ta").to_string());
        fed.republish_ec("rp", |c| {
            c.insert(claim.into(), value.clone());
        });
        let r = regexp_resolver(&fed);
        let e = r.resolve(&fed.id("rp"), &RP).await.unwrap_err();
        assert!(matches!(e, Error::Statement(_)), "{claim}: {e}");
        assert_broken(&e, Rule::ClaimPlacement, &rp, &rp, claim);
        let s = statement_error(&e);
        assert!(s.detail.contains("Entity Configuration"), "{claim}: {e}");
        assert_eq!(
            parse(&fed.entity_configuration("rp")).unwrap_err().rule,
            Rule::ClaimPlacement,
            "{claim}"
        );

        // In the anchor's EC (where a federation operator might think its policy belongs).
        let fed = three_level().build();
        fed.republish_ec("ta", |c| {
            c.insert(claim.into(), value.clone());
        });
        let r = regexp_resolver(&fed);
        let e = r.resolve(&fed.id("rp"), &RP).await.unwrap_err();
        assert_broken(&e, Rule::ClaimPlacement, &ta, &ta, claim);

        // The same claim and value where it belongs, org's statement about rp: accepted.
        let fed = three_level()
            .ss_claim("org", "rp", claim, value.clone())
            .build();
        let r = regexp_resolver(&fed);
        if let Err(e) = r.resolve(&fed.id("rp"), &RP).await {
            panic!("{claim} in a Subordinate Statement must be accepted: {e}");
        }
    }
}

/// Entity-Configuration-only claims with well-formed values.
fn ec_only_claims(fed: &Federation) -> Vec<(&'static str, Value)> {
    let ta = fed.id("ta").to_string();
    let tm_type = format!("{ta}/tm/certified");
    let mark = fed.key("ta").sign_jwt(
        "trust-mark+jwt",
        &json!({"iss": ta, "sub": fed.id("rp").as_str(), "trust_mark_type": tm_type,
                "iat": NOW, "exp": NOW + 3600}),
    );
    vec![
        ("authority_hints", json!([ta])),
        ("trust_anchor_hints", json!([ta])),
        (
            "trust_marks",
            json!([{"trust_mark_type": tm_type, "trust_mark": mark}]),
        ),
        ("trust_mark_issuers", json!({ tm_type.clone(): [ta] })),
        (
            "trust_mark_owners",
            json!({ tm_type: {"sub": ta, "jwks": fed.public_jwks("ta")} }),
        ),
    ]
}

#[tokio::test]
async fn configuration_only_claims_in_a_subordinate_statement_are_misplaced() {
    let fed = three_level().build();
    let (rp, org, ta) = ids(&fed);
    let good_org_rp = fed.subordinate_statement("org", "rp");
    let good_ta_org = fed.subordinate_statement("ta", "org");
    for (claim, value) in ec_only_claims(&fed) {
        // org's statement about the leaf.
        fed.republish_ss("org", "rp", |c| {
            c.insert(claim.into(), value.clone());
        });
        let token = fed.subordinate_statement("org", "rp");
        let e = parse(&token).unwrap_err();
        assert_eq!(e.rule, Rule::ClaimPlacement, "{claim}: {e}");
        let err = resolve_err(&fed).await;
        assert!(matches!(err, Error::NoTrustChain { .. }), "{claim}: {err}");
        assert_broken(&err, Rule::ClaimPlacement, &org, &rp, claim);
        assert!(
            statement_error(&err)
                .detail
                .contains("Subordinate Statement"),
            "{claim}: {err}"
        );
        // Handed over whole.
        assert_broken(
            &received_err(&fed).await,
            Rule::ClaimPlacement,
            &org,
            &rp,
            claim,
        );
        fed.republish_ss("org", "rp", |c| {
            c.remove(claim);
        });

        // The anchor's statement about the intermediate.
        fed.republish_ss("ta", "org", |c| {
            c.insert(claim.into(), value.clone());
        });
        assert_broken(
            &resolve_err(&fed).await,
            Rule::ClaimPlacement,
            &ta,
            &org,
            claim,
        );
        fed.republish_ss("ta", "org", |c| {
            c.remove(claim);
        });
    }
    // Back to the statements first served.
    assert_eq!(
        claims_of(&fed.subordinate_statement("org", "rp")),
        claims_of(&good_org_rp)
    );
    assert_eq!(
        claims_of(&fed.subordinate_statement("ta", "org")),
        claims_of(&good_ta_org)
    );
    assert_resolves(&fed).await;

    // Where they belong, in the leaf's EC, the same values are accepted.
    for (claim, value) in ec_only_claims(&fed) {
        if claim == "authority_hints" {
            continue; // rp's own hints are already there
        }
        let fed2 = three_level().ec_claim("rp", claim, value).build();
        if let Err(e) = resolver(&fed2).resolve(&fed2.id("rp"), &RP).await {
            panic!("{claim} in an Entity Configuration must be accepted: {e}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Case 23: aud and trust_anchor outside Explicit Registration.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn aud_in_a_fetched_statement_is_rejected() {
    let fed = three_level().build();
    let (rp, org, ta) = ids(&fed);
    let good_ec = fed.entity_configuration("rp");
    let good_ss = fed.subordinate_statement("org", "rp");
    for aud in [json!(ta), json!([ta]), json!(rp)] {
        fed.republish_ec("rp", |c| {
            c.insert("aud".into(), aud.clone());
        });
        let e = resolve_err(&fed).await;
        assert!(matches!(e, Error::Statement(_)), "{aud}: {e}");
        assert_broken(&e, Rule::Audience, &rp, &rp, "aud");
        fed.publish_raw_ec("rp", &good_ec);

        fed.republish_ss("org", "rp", |c| {
            c.insert("aud".into(), aud.clone());
        });
        let e = resolve_err(&fed).await;
        assert!(matches!(e, Error::NoTrustChain { .. }), "{aud}: {e}");
        assert_broken(&e, Rule::Audience, &org, &rp, "aud");
        fed.publish_raw_ss("org", "rp", &good_ss);
    }
    assert_resolves(&fed).await;

    // Only an Explicit Registration request EC may carry aud, and only the OP's id.
    fed.republish_ec("rp", |c| {
        c.insert("aud".into(), json!(ta));
    });
    let token = fed.entity_configuration("rp");
    assert_eq!(parse(&token).unwrap_err().rule, Rule::Audience);
    let registration = |aud: &str| StatementRules {
        expected_aud: Some(aud.to_string()),
        allow_chain_headers: true,
        ..StatementRules::default()
    };
    EntityStatement::parse(&token, &registration(&ta)).expect("aud = the OP is accepted");
    let e = EntityStatement::parse(&token, &registration(&org)).unwrap_err();
    assert_eq!(e.rule, Rule::Audience, "{e}");
}

#[tokio::test]
async fn trust_anchor_claim_in_a_fetched_statement_is_rejected() {
    let fed = three_level().build();
    let (rp, org, ta) = ids(&fed);
    let good_ss = fed.subordinate_statement("org", "rp");
    // In an ordinary EC.
    fed.republish_ec("rp", |c| {
        c.insert("trust_anchor".into(), json!(ta));
    });
    let token = fed.entity_configuration("rp");
    assert_eq!(parse(&token).unwrap_err().rule, Rule::TrustAnchorClaim);
    let e = resolve_err(&fed).await;
    assert!(matches!(e, Error::Statement(_)), "{e}");
    assert_broken(&e, Rule::TrustAnchorClaim, &rp, &rp, "trust_anchor");
    // An Explicit Registration request EC is not a response either.
    let registration = StatementRules {
        expected_aud: Some(ta.clone()),
        allow_chain_headers: true,
        ..StatementRules::default()
    };
    assert_eq!(
        EntityStatement::parse(&token, &registration)
            .unwrap_err()
            .rule,
        Rule::TrustAnchorClaim
    );
    fed.republish_ec("rp", |c| {
        c.remove("trust_anchor");
    });
    assert_resolves(&fed).await;

    // In an ordinary (fetched) SS: only an Explicit Registration response may carry it.
    fed.republish_ss("org", "rp", |c| {
        c.insert("trust_anchor".into(), json!(ta));
    });
    assert_broken(
        &resolve_err(&fed).await,
        Rule::TrustAnchorClaim,
        &org,
        &rp,
        "trust_anchor",
    );
    fed.publish_raw_ss("org", "rp", &good_ss);
    assert_resolves(&fed).await;
}
