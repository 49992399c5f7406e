//! A chain shaped like a production pre-final federation, every deviation at once (issue 18):
//! the Trust Anchor puts `constraints` and the misspelt `trust_marks_issuers` in its own
//! configuration; its statement about the intermediate carries `authority_hints`,
//! `trust_marks` and `constraints` serialized as a string naming `allowed_leaf_entity_types`;
//! the leaf's trust mark names its type with `id` and has `ref: ""`. Under the profile it
//! resolves to the leaf's expected metadata, saying every deviation; strictly it is refused
//! with an error naming the deviation and saying the signature verified. Also: metadata
//! policy over claims the deviations touch is applied and never relaxed.

mod common;
mod interop_common;

use common::*;
use interop_common::*;
use oidfed::testing::Federation;
use oidfed::{ClientRecord, EntityType, Error, Rule, Tolerance};
use serde_json::{Value, json};

fn production_like() -> Federation {
    let fed = three_level()
        .metadata_policy(
            "org",
            "rp",
            json!({"openid_relying_party": {
                "client_name": {"one_of": ["RP", "Other RP"]},
                "contacts": {"add": ["ops@fed.example"]}
            }}),
        )
        .build();
    let ta = fed.id("ta").to_string();
    let org = fed.id("org").to_string();
    fed.republish_ec("ta", |c| {
        c.insert(
            "constraints".into(),
            json!({"max_path_length": 1, "naming_constraints": {"permitted": ["fed.example"]}}),
        );
        c.insert("trust_marks_issuers".into(), json!({ TYPE: [ta.clone()] }));
    });
    let org_mark = sign_mark(
        &fed,
        "ta",
        None,
        json!({"iss": ta, "sub": org, "id": TYPE, "iat": NOW, "exp": NOW + 600}),
    );
    fed.republish_ss("ta", "org", |c| {
        c.insert("authority_hints".into(), json!([ta]));
        c.insert(
            "trust_marks".into(),
            json!([{"id": TYPE, "trust_mark": org_mark}]),
        );
        c.insert(
            "constraints".into(),
            json!(r#"{"allowed_leaf_entity_types": ["openid_relying_party"]}"#),
        );
    });
    let mut mark = mark_claims(&fed);
    mark.remove("trust_mark_type");
    mark.insert("id".into(), json!(TYPE));
    mark.insert("ref".into(), json!(""));
    let jwt = sign_mark(&fed, "ta", None, Value::Object(mark));
    set_rp_marks(&fed, json!({"id": TYPE, "trust_mark": jwt}));
    fed
}

#[tokio::test]
async fn a_production_like_pre_final_chain_resolves_under_the_profile_and_says_so() {
    let fed = production_like();
    let r = interop_builder(&fed)
        .require_trust_marks(&[TYPE])
        .build()
        .expect("resolver");
    let resolved = resolve_ok(&r, &fed).await;
    assert_eq!(
        Value::Object(resolved.metadata().clone()),
        json!({"client_name": "RP", "redirect_uris": ["https://rp.example/cb"],
               "contacts": ["ops@fed.example"]})
    );
    assert_eq!(resolved.trust_marks().len(), 1);
    assert_eq!(resolved.trust_marks()[0].trust_mark_type, TYPE);
    let d = resolved.deviations();
    for t in Tolerance::ALL {
        assert!(
            d.iter().any(|x| x.tolerance == t),
            "{t} not reported: {d:#?}"
        );
    }
    for (iss, sub, t) in [
        ("ta", "ta", Tolerance::ConstraintsInConfiguration),
        ("ta", "ta", Tolerance::MisspeltTrustMarksIssuers),
        ("ta", "org", Tolerance::AuthorityHintsInSubordinateStatement),
        ("ta", "org", Tolerance::TrustMarksInSubordinateStatement),
        ("ta", "org", Tolerance::ObjectClaimAsString),
        ("ta", "org", Tolerance::PreFinalAllowedLeafEntityTypes),
        ("rp", "rp", Tolerance::PreFinalTrustMarkType),
        ("ta", "rp", Tolerance::PreFinalTrustMarkType),
        ("ta", "rp", Tolerance::EmptyTrustMarkUrl),
    ] {
        assert!(has(&d, &fed, iss, sub, t), "{iss} → {sub} {t}: {d:#?}");
    }

    // The client record carries them, serialized, and reads back.
    let record = r.record(&fed.id("rp"), &RP).await.expect("record");
    assert_eq!(record.deviations, d);
    let text = serde_json::to_string(&*record).expect("json");
    assert!(text.contains("\"deviations\""), "{text}");
    let back: ClientRecord = serde_json::from_str(&text).expect("read back");
    assert_eq!(back, *record);
}

#[tokio::test]
async fn strict_mode_refuses_it_naming_the_deviation_with_a_verified_signature() {
    let fed = production_like();
    let e = resolve_err(&strict(&fed), &fed).await;
    // The leaf's own configuration is the first statement read.
    assert!(matches!(e, Error::Statement(_)), "{e}");
    assert_strict_syntax_error(
        &e,
        &fed,
        "rp",
        "rp",
        Rule::TrustMarks,
        Tolerance::PreFinalTrustMarkType,
    );
    let shown = e.to_string();
    assert!(shown.contains("not expired"), "{shown}");
    assert!(shown.contains("interop profile would accept it"), "{shown}");
}

#[tokio::test]
async fn client_records_without_deviations_keep_their_json() {
    let fed = three_level().build();
    let record = strict(&fed)
        .record(&fed.id("rp"), &RP)
        .await
        .expect("record");
    assert!(record.deviations.is_empty());
    let text = serde_json::to_value(&*record).expect("json");
    assert!(text.get("deviations").is_none(), "{text}");
    // A record stored before deviations existed reads back.
    let back: ClientRecord = serde_json::from_value(text).expect("read back");
    assert_eq!(back, *record);
}

/// `ta` → `org` carries its policy and `org` → `rp` its metadata override as JSON strings.
fn stringly_policy(one_of: Value) -> Federation {
    let fed = three_level().build();
    let policy = json!({"openid_relying_party": {
        "client_name": {"one_of": one_of},
        "contacts": {"add": ["ops@fed.example"]}
    }})
    .to_string();
    fed.republish_ss("ta", "org", |c| {
        c.insert("metadata_policy".into(), json!(policy));
    });
    let over = json!({"openid_relying_party": {"client_name": "Other RP"}}).to_string();
    fed.republish_ss("org", "rp", |c| {
        c.insert("metadata".into(), json!(over));
    });
    fed
}

#[tokio::test]
async fn policy_over_claims_the_deviations_touch_is_applied_and_never_relaxed() {
    let fed = stringly_policy(json!(["RP", "Other RP"]));
    let e = resolve_err(&strict(&fed), &fed).await;
    assert_strict_syntax_error(
        &e,
        &fed,
        "org",
        "rp",
        Rule::Metadata,
        Tolerance::ObjectClaimAsString,
    );
    let r = resolve_ok(&interop(&fed), &fed).await;
    assert_eq!(r.metadata()["client_name"], "Other RP");
    assert_eq!(r.metadata()["contacts"], json!(["ops@fed.example"]));
    assert!(has(
        &r.deviations(),
        &fed,
        "ta",
        "org",
        Tolerance::ObjectClaimAsString
    ));

    // The override read from a string breaks the policy read from a string: refused.
    let fed = stringly_policy(json!(["RP"]));
    let e = resolve_err(&interop(&fed), &fed).await;
    let policy = match &e {
        Error::Policy { .. } => &e,
        Error::NoTrustChain { attempts, .. } if attempts.len() == 1 => &attempts[0].error,
        other => panic!("expected a policy error, got {other}"),
    };
    assert!(matches!(policy, Error::Policy { .. }), "{e}");
    assert_eq!(policy.spec_code(), "invalid_metadata", "{e}");

    // allowed_entity_types read from its pre-final name removes the type before policy:
    // a policy on openid_relying_party then has nothing to apply to.
    let fed = three_level()
        .metadata_policy(
            "org",
            "rp",
            json!({"openid_relying_party": {"client_name": {"essential": true}}}),
        )
        .constraints(
            "ta",
            "org",
            json!({"allowed_leaf_entity_types": ["openid_provider"]}),
        )
        .build();
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
}

/// Captures the `deviations` field of `oidfed::audit` events.
#[derive(Default, Clone)]
struct AuditCapture(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl tracing::field::Visit for AuditCapture {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "deviations" {
            if let Ok(mut v) = self.0.lock() {
                v.push(format!("{value:?}"));
            }
        }
    }
}

impl tracing::Subscriber for AuditCapture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if event.metadata().target() == "oidfed::audit" {
            event.record(&mut self.clone());
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn the_audit_trail_names_every_deviation() {
    let capture = AuditCapture::default();
    let seen = capture.0.clone();
    let fed = production_like();
    let r = interop(&fed);
    tracing::subscriber::with_default(capture, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async {
                r.record(&fed.id("rp"), &RP).await.expect("record");
            })
    });
    let seen = seen.lock().expect("lock").join("\n");
    for t in Tolerance::ALL {
        assert!(
            seen.contains(t.name()),
            "{t} missing from the audit event: {seen}"
        );
    }
    assert!(seen.contains(fed.id("org").as_str()), "{seen}");
}

#[tokio::test]
async fn a_federation_fixing_a_deviation_is_a_typed_change_on_reresolution() {
    let fed = three_level().build();
    fed.republish_ss("org", "rp", |c| {
        c.insert(
            "authority_hints".into(),
            json!(["https://fed.example/elsewhere"]),
        );
    });
    let r = interop(&fed);
    let old = r.record(&fed.id("rp"), &RP).await.expect("record");
    assert_eq!(old.deviations.len(), 1, "{:?}", old.deviations);
    fed.republish_ss("org", "rp", |c| {
        c.remove("authority_hints");
    });
    let again = r
        .reresolve_with(&old, &oidfed::ReresolveOptions::force())
        .await
        .expect("reresolve");
    assert!(again.record.deviations.is_empty());
    assert!(
        again.changes.iter().any(|c| matches!(
            c,
            oidfed::Change::DeviationsChanged { added, removed }
                if added.is_empty() && removed == &old.deviations
        )),
        "{:?}",
        again.changes
    );
}

#[tokio::test]
async fn a_chain_handed_over_whole_is_explained_too() {
    let fed = production_like();
    let jwts = fed.chain(&["rp", "org", "ta"], true);
    let e = strict(&fed)
        .validate_chain(&jwts, &RP)
        .await
        .expect_err("strict refuses");
    assert_strict_syntax_error(
        &e,
        &fed,
        "rp",
        "rp",
        Rule::TrustMarks,
        Tolerance::PreFinalTrustMarkType,
    );
    let resolved = interop(&fed)
        .validate_chain(&jwts, &RP)
        .await
        .expect("the profile accepts");
    let d = resolved.deviations();
    assert!(
        has(&d, &fed, "ta", "ta", Tolerance::ConstraintsInConfiguration),
        "{d:?}"
    );
    assert!(
        has(&d, &fed, "ta", "org", Tolerance::ObjectClaimAsString),
        "{d:?}"
    );
}

#[tokio::test]
/// Under `ConstraintsInConfiguration`, the constraints the anchor put in its configuration
/// bind a chain handed over whole without that configuration: it is fetched (under the
/// pinned keys) and its `max_path_length` 0 refuses the path with one intermediate, as it
/// does for the discovered chain; a chain within them is still accepted.
async fn a_chain_handed_over_without_the_anchor_configuration_meets_its_constraints() {
    let fed = three_level().build();
    fed.republish_ec("ta", |c| {
        c.insert("constraints".into(), json!({"max_path_length": 0}));
    });
    let resolver = interop(&fed);
    // Discovered: refused (one intermediate is too many).
    assert!(
        resolver
            .resolve(&fed.id("rp"), &EntityType::OPENID_RELYING_PARTY)
            .await
            .is_err()
    );
    // The same path handed over whole, the anchor's configuration left out.
    let chain = vec![
        fed.entity_configuration("rp"),
        fed.subordinate_statement("org", "rp"),
        fed.subordinate_statement("ta", "org"),
    ];
    let r = resolver
        .validate_chain(&chain, &EntityType::OPENID_RELYING_PARTY)
        .await;
    match r {
        Err(Error::Statement(e)) => assert_eq!(e.rule, Rule::Constraint, "{e}"),
        other => panic!(
            "the anchor's max_path_length 0 was escaped by leaving its configuration out: {other:?}"
        ),
    }
    // The same constraints, generous enough: the handed-over chain is accepted.
    fed.republish_ec("ta", |c| {
        c.insert("constraints".into(), json!({"max_path_length": 1}));
    });
    resolver.clear_caches();
    resolver
        .validate_chain(&chain, &EntityType::OPENID_RELYING_PARTY)
        .await
        .expect("within the anchor's constraints");
}
