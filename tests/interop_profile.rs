//! The interoperability profile (issue 18), statement by statement: for each deviation seen
//! in production pre-final federations, a correctly signed statement that strict mode rejects
//! with its rule (saying the signature verifies, the statement is not expired, and the
//! interop profile would accept it), that the profile accepts while reporting the deviation,
//! and that both reject once forged or expired.

mod common;
mod interop_common;

use common::*;
use interop_common::*;
use oidfed::testing::Federation;
use oidfed::{Error, ResolvedEntity, Rule, SignatureCheck, Tolerance};
use serde_json::{Value, json};

/// The four checks of one statement-level deviation that `make` puts in `iss` → `sub`.
async fn statement_case(
    make: fn() -> Federation,
    iss: &str,
    sub: &str,
    rule: Rule,
    t: Tolerance,
) -> (Federation, ResolvedEntity) {
    let fed = make();
    let e = resolve_err(&strict(&fed), &fed).await;
    assert_strict_syntax_error(&e, &fed, iss, sub, rule, t);
    let r = resolve_ok(&interop(&fed), &fed).await;
    assert!(
        has(&r.deviations(), &fed, iss, sub, t),
        "{:?}",
        r.deviations()
    );

    let forged = make();
    forge(&forged, iss, sub);
    let e = resolve_err(&strict(&forged), &forged).await;
    assert_eq!(statement_error(&e).signature, SignatureCheck::Failed, "{e}");
    assert!(e.to_string().contains("signature does NOT verify"), "{e}");
    let e = resolve_err(&interop(&forged), &forged).await;
    assert_eq!(statement_error(&e).rule, Rule::Signature, "{e}");

    let expired = make();
    expire(&expired, iss, sub);
    let e = resolve_err(&strict(&expired), &expired).await;
    assert_eq!(statement_error(&e).rule, rule, "{e}");
    assert_eq!(statement_error(&e).expired, Some(true), "{e}");
    let e = resolve_err(&interop(&expired), &expired).await;
    assert_eq!(statement_error(&e).rule, Rule::Expiry, "{e}");
    (fed, r)
}

fn pre_final_entry_type() -> Federation {
    let fed = marked().build();
    let mut c = mark_claims(&fed);
    c.remove("trust_mark_type");
    c.insert("id".into(), json!(TYPE));
    let jwt = sign_mark(&fed, "ta", None, Value::Object(c));
    set_rp_marks(&fed, json!({"id": TYPE, "trust_mark": jwt}));
    fed
}

#[tokio::test]
async fn pre_final_trust_mark_id_is_read_as_trust_mark_type() {
    let (fed, r) = statement_case(
        pre_final_entry_type,
        "rp",
        "rp",
        Rule::TrustMarks,
        Tolerance::PreFinalTrustMarkType,
    )
    .await;
    // Read as the type: the mark is validated and recognised under it, inner claim reported.
    assert_eq!(r.trust_marks().len(), 1, "{:?}", r.rejected_trust_marks());
    assert_eq!(r.trust_marks()[0].trust_mark_type, TYPE);
    assert!(has(
        &r.deviations(),
        &fed,
        "ta",
        "rp",
        Tolerance::PreFinalTrustMarkType
    ));

    // `trust_mark_id` (draft -42) works the same; two different pre-final names do not.
    let jwt = fed.entity_configuration("rp");
    let entry = |e: Value| {
        fed.republish_ec("rp", |c| {
            c.insert("trust_marks".into(), json!([e]));
        })
    };
    let mark = claims_of(&jwt)["trust_marks"][0]["trust_mark"].clone();
    entry(json!({"trust_mark_id": TYPE, "trust_mark": mark}));
    resolve_ok(&interop(&fed), &fed).await;
    entry(json!({"trust_mark_id": TYPE, "id": "https://other/tm", "trust_mark": mark}));
    let e = resolve_err(&interop(&fed), &fed).await;
    assert_eq!(statement_error(&e).rule, Rule::TrustMarks, "{e}");
}

fn trust_marks_in_ss() -> Federation {
    let fed = three_level()
        .ec_claim("ta", "trust_mark_issuers", json!({ TYPE: [] }))
        .build();
    let jwt = sign_mark(&fed, "ta", None, Value::Object(mark_claims(&fed)));
    fed.republish_ss("org", "rp", |c| {
        c.insert(
            "trust_marks".into(),
            json!([{"trust_mark_type": TYPE, "trust_mark": jwt}]),
        );
    });
    fed
}

#[tokio::test]
async fn trust_marks_in_a_subordinate_statement_are_ignored() {
    let (fed, r) = statement_case(
        trust_marks_in_ss,
        "org",
        "rp",
        Rule::ClaimPlacement,
        Tolerance::TrustMarksInSubordinateStatement,
    )
    .await;
    // Ignored, never used for trust: the subject presents no mark of its own.
    assert!(r.trust_marks().is_empty());
    let required = interop_builder(&fed)
        .require_trust_marks(&[TYPE])
        .build()
        .expect("resolver");
    let e = resolve_err(&required, &fed).await;
    assert!(matches!(e, Error::TrustMarkRequired { .. }), "{e}");
}

fn authority_hints_in_ss() -> Federation {
    let fed = three_level().build();
    fed.republish_ss("org", "rp", |c| {
        c.insert(
            "authority_hints".into(),
            json!(["https://fed.example/elsewhere"]),
        );
    });
    fed
}

#[tokio::test]
async fn authority_hints_in_a_subordinate_statement_are_ignored() {
    let (fed, r) = statement_case(
        authority_hints_in_ss,
        "org",
        "rp",
        Rule::ClaimPlacement,
        Tolerance::AuthorityHintsInSubordinateStatement,
    )
    .await;
    assert_eq!(
        r.chain().path(),
        vec![fed.id("rp"), fed.id("org"), fed.id("ta")]
    );
    assert_eq!(r.metadata()["client_name"], "RP");
}

fn anchor_constraints(constraints: Value) -> Federation {
    let fed = three_level().build();
    fed.republish_ec("ta", |c| {
        c.insert("constraints".into(), constraints);
    });
    fed
}

#[tokio::test]
async fn constraints_in_the_anchor_configuration_apply_to_its_chains() {
    statement_case(
        || anchor_constraints(json!({"max_path_length": 1})),
        "ta",
        "ta",
        Rule::ClaimPlacement,
        Tolerance::ConstraintsInConfiguration,
    )
    .await;
    // Applied, so they can only reject more: one intermediate (org) is too many here…
    let fed = anchor_constraints(json!({"max_path_length": 0}));
    let e = resolve_err(&interop(&fed), &fed).await;
    let s = statement_error(&e);
    assert_eq!(s.rule, Rule::Constraint, "{e}");
    assert_eq!(s.issuer.as_deref(), Some(fed.id("ta").as_str()), "{e}");
    // …and the anchor's allowed_entity_types removes what it does not allow.
    let fed = anchor_constraints(json!({"allowed_entity_types": ["openid_provider"]}));
    let e = resolve_err(&interop(&fed), &fed).await;
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
    // In a configuration that is not the anchor's they constrain nothing (reported).
    let fed = three_level().build();
    fed.republish_ec("org", |c| {
        c.insert("constraints".into(), json!({"max_path_length": 0}));
    });
    let r = resolve_ok(&interop(&fed), &fed).await;
    assert!(has(
        &r.deviations(),
        &fed,
        "org",
        "org",
        Tolerance::ConstraintsInConfiguration
    ));
}

fn string_constraints() -> Federation {
    let fed = three_level().build();
    fed.republish_ss("org", "rp", |c| {
        c.insert("constraints".into(), json!(r#"{"max_path_length": 0}"#));
    });
    fed
}

#[tokio::test]
async fn an_object_claim_serialized_as_a_string_is_read_as_the_object() {
    statement_case(
        string_constraints,
        "org",
        "rp",
        Rule::Constraints,
        Tolerance::ObjectClaimAsString,
    )
    .await;
    // Read, not dropped: a string constraint that excludes the subject rejects it.
    let fed = three_level().build();
    fed.republish_ss("org", "rp", |c| {
        c.insert(
            "constraints".into(),
            json!(r#"{"naming_constraints": {"excluded": ["fed.example"]}}"#),
        );
    });
    let e = resolve_err(&interop(&fed), &fed).await;
    assert_eq!(statement_error(&e).rule, Rule::Constraint, "{e}");
    // A string that holds no object (or duplicate members) stays an error.
    for bad in [
        r#"[1]"#,
        "not json",
        r#"{"max_path_length": 0, "max_path_length": 1}"#,
    ] {
        let fed = three_level().build();
        fed.republish_ss("org", "rp", |c| {
            c.insert("constraints".into(), json!(bad));
        });
        let e = resolve_err(&interop(&fed), &fed).await;
        assert_eq!(statement_error(&e).rule, Rule::Constraints, "{bad}: {e}");
    }
    // Keys are never read from a string.
    let fed = three_level().build();
    let jwks = fed.public_jwks("rp").to_string();
    fed.republish_ss("org", "rp", |c| {
        c.insert("jwks".into(), json!(jwks));
    });
    let e = resolve_err(&interop(&fed), &fed).await;
    assert_eq!(statement_error(&e).rule, Rule::Jwks, "{e}");
}

fn leaf_types(constraints: Value) -> Federation {
    let fed = three_level().build();
    fed.republish_ss("ta", "org", |c| {
        c.insert("constraints".into(), constraints);
    });
    fed
}

#[tokio::test]
async fn pre_final_allowed_leaf_entity_types_is_read_as_allowed_entity_types() {
    statement_case(
        || leaf_types(json!({"allowed_leaf_entity_types": ["openid_relying_party"]})),
        "ta",
        "org",
        Rule::Constraints,
        Tolerance::PreFinalAllowedLeafEntityTypes,
    )
    .await;
    // It restricts exactly like the final constraint.
    let fed = leaf_types(json!({"allowed_leaf_entity_types": ["openid_provider"]}));
    let e = resolve_err(&interop(&fed), &fed).await;
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
    // Both names at once is an error under every profile.
    let fed = leaf_types(json!({
        "allowed_leaf_entity_types": ["openid_relying_party"],
        "allowed_entity_types": ["openid_relying_party"]
    }));
    let e = resolve_err(&interop(&fed), &fed).await;
    assert_eq!(statement_error(&e).rule, Rule::Constraints, "{e}");
}

#[tokio::test]
async fn each_tolerance_can_be_switched_on_alone() {
    let one = |fed: &Federation| {
        strict_builder(fed)
            .tolerate(Tolerance::AuthorityHintsInSubordinateStatement)
            .build()
            .expect("resolver")
    };
    let fed = authority_hints_in_ss();
    let r = resolve_ok(&one(&fed), &fed).await;
    assert_eq!(r.deviations().len(), 1, "{:?}", r.deviations());
    // The other tolerances stay off: trust_marks in an SS is still refused, and the error
    // says the interop profile would accept it.
    let fed = trust_marks_in_ss();
    let e = resolve_err(&one(&fed), &fed).await;
    assert_strict_syntax_error(
        &e,
        &fed,
        "org",
        "rp",
        Rule::ClaimPlacement,
        Tolerance::TrustMarksInSubordinateStatement,
    );
}

#[tokio::test]
async fn strict_resolution_of_a_conformant_federation_reports_no_deviation() {
    let fed = marked().build();
    for r in [strict(&fed), interop(&fed)] {
        let resolved = resolve_ok(&r, &fed).await;
        assert!(
            resolved.deviations().is_empty(),
            "{:?}",
            resolved.deviations()
        );
        assert_eq!(resolved.trust_marks().len(), 1);
    }
}
