//! Metadata policy, one operator at a time and in pairs (§6.1.3).
//! Array results are compared as sets.

use oidfed::policy::{EntityTypePolicy, MetadataPolicy, PolicyError, PolicyErrorKind as K};
use serde_json::{Map, Value, json};

fn policy(v: Value) -> Result<EntityTypePolicy, PolicyError> {
    EntityTypePolicy::from_json(&v)
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().expect("an object").clone()
}

/// Applies `p` (one entity type) to `md`.
fn apply(p: Value, md: Value) -> Result<Map<String, Value>, PolicyError> {
    policy(p).expect("a valid policy").apply(&obj(md))
}

/// Two JSON values equal when arrays are compared as sets (recursively at the top level).
fn same_set(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.iter().all(|e| y.contains(e)) && y.iter().all(|e| x.contains(e))
        }
        _ => a == b,
    }
}

fn assert_set(actual: &Value, expected: Value) {
    assert!(
        same_set(actual, &expected),
        "{actual} is not {expected} as a set"
    );
}

// ---- value ------------------------------------------------------------------------------

#[test]
fn value_accepts_every_json_type_and_sets_the_parameter() {
    for v in [
        json!("pairwise"),
        json!(42),
        json!(true),
        json!(["a", "b"]),
        json!({"k": "v"}),
    ] {
        let out = apply(json!({"p": {"value": v}}), json!({"p": "old"})).unwrap();
        assert_eq!(out["p"], v);
        let out = apply(json!({"p": {"value": v}}), json!({})).unwrap();
        assert_eq!(out["p"], v, "value sets an absent parameter");
    }
}

#[test]
fn value_null_removes_the_parameter() {
    let out = apply(
        json!({"initiate_login_uri": {"value": null}}),
        json!({"initiate_login_uri": "https://x", "client_name": "C"}),
    )
    .unwrap();
    assert!(!out.contains_key("initiate_login_uri"));
    assert_eq!(out["client_name"], "C");
    let out = apply(json!({"p": {"value": null}}), json!({})).unwrap();
    assert!(!out.contains_key("p"));
}

// ---- add --------------------------------------------------------------------------------

#[test]
fn add_creates_unions_and_never_duplicates() {
    let p = json!({"contacts": {"add": ["ops@x", "sec@x"]}});
    assert_set(
        &apply(p.clone(), json!({})).unwrap()["contacts"],
        json!(["ops@x", "sec@x"]),
    );
    let out = apply(p, json!({"contacts": ["me@x", "ops@x"]})).unwrap();
    assert_set(&out["contacts"], json!(["me@x", "ops@x", "sec@x"]));
    assert_eq!(out["contacts"].as_array().unwrap().len(), 3);
}

#[test]
fn add_accepts_arrays_of_strings_numbers_objects_and_refuses_the_rest() {
    for ok in [json!(["a"]), json!([1, 2]), json!([{"k": 1}]), json!([])] {
        policy(json!({"p": {"add": ok}})).unwrap();
    }
    for bad in [
        json!("a"),
        json!(1),
        json!(true),
        json!(null),
        json!({"k": 1}),
        json!([null]),
        json!([["a"]]),
    ] {
        let e = policy(json!({"p": {"add": bad}})).unwrap_err();
        assert_eq!(e.kind, K::UnsupportedValueType, "{bad}");
        assert_eq!(e.code(), "invalid_policy");
        assert_eq!(e.operator.as_deref(), Some("add"));
        assert_eq!(e.parameter.as_deref(), Some("p"));
    }
}

#[test]
fn add_to_a_scalar_parameter_is_a_metadata_type_error() {
    let e = apply(json!({"p": {"add": ["a"]}}), json!({"p": "x"})).unwrap_err();
    assert_eq!(e.kind, K::UnsupportedMetadataType);
    assert_eq!(e.code(), "invalid_metadata");
}

// ---- default ----------------------------------------------------------------------------

#[test]
fn default_fills_only_an_absent_parameter() {
    for v in [
        json!("RS256"),
        json!(1),
        json!(false),
        json!(["a"]),
        json!({"k": 1}),
    ] {
        let p = json!({"p": {"default": v}});
        assert_eq!(apply(p.clone(), json!({})).unwrap()["p"], v);
        assert_eq!(apply(p, json!({"p": "mine"})).unwrap()["p"], "mine");
    }
    let e = policy(json!({"p": {"default": null}})).unwrap_err();
    assert_eq!(e.kind, K::UnsupportedValueType);
}

// ---- one_of -----------------------------------------------------------------------------

#[test]
fn one_of_checks_a_present_scalar_and_skips_an_absent_one() {
    let p = json!({"alg": {"one_of": ["RS256", "ES256"]}});
    assert_eq!(
        apply(p.clone(), json!({"alg": "ES256"})).unwrap()["alg"],
        "ES256"
    );
    assert!(!apply(p.clone(), json!({})).unwrap().contains_key("alg"));
    let e = apply(p, json!({"alg": "HS256"})).unwrap_err();
    assert_eq!(e.kind, K::OneOfViolation);
    assert_eq!(e.code(), "invalid_metadata");
    // Numbers, booleans and objects compare by JSON equality.
    apply(json!({"n": {"one_of": [1, 2]}}), json!({"n": 2})).unwrap();
    apply(json!({"b": {"one_of": [true]}}), json!({"b": true})).unwrap();
    apply(
        json!({"o": {"one_of": [{"a": 1, "b": 2}]}}),
        json!({"o": {"b": 2, "a": 1}}),
    )
    .unwrap();
}

#[test]
fn one_of_refuses_non_arrays_empty_arrays_and_array_parameters() {
    for bad in [
        json!("RS256"),
        json!(true),
        json!(null),
        json!([]),
        json!([["a"]]),
        json!([null]),
    ] {
        assert_eq!(
            policy(json!({"p": {"one_of": bad}})).unwrap_err().kind,
            K::UnsupportedValueType,
            "{bad}"
        );
    }
    let e = apply(
        json!({"grant_types": {"one_of": ["authorization_code"]}}),
        json!({"grant_types": ["authorization_code"]}),
    )
    .unwrap_err();
    assert_eq!(e.kind, K::UnsupportedMetadataType);
}

// ---- subset_of --------------------------------------------------------------------------

#[test]
fn subset_of_intersects_and_may_leave_an_empty_array() {
    let p = json!({"grant_types": {"subset_of": ["authorization_code", "refresh_token"]}});
    let out = apply(
        p.clone(),
        json!({"grant_types": ["authorization_code", "implicit"]}),
    )
    .unwrap();
    assert_set(&out["grant_types"], json!(["authorization_code"]));
    let out = apply(p.clone(), json!({"grant_types": ["implicit"]})).unwrap();
    assert_eq!(out["grant_types"], json!([]));
    assert!(
        !apply(p.clone(), json!({}))
            .unwrap()
            .contains_key("grant_types")
    );
    let e = apply(p, json!({"grant_types": "authorization_code"})).unwrap_err();
    assert_eq!(e.kind, K::UnsupportedMetadataType);
    for bad in [json!("a"), json!(true), json!(null)] {
        assert_eq!(
            policy(json!({"p": {"subset_of": bad}})).unwrap_err().kind,
            K::UnsupportedValueType
        );
    }
}

// ---- superset_of ------------------------------------------------------------------------

#[test]
fn superset_of_requires_every_listed_value() {
    let p = json!({"grant_types": {"superset_of": ["authorization_code"]}});
    let out = apply(
        p.clone(),
        json!({"grant_types": ["authorization_code", "refresh_token"]}),
    )
    .unwrap();
    assert_set(
        &out["grant_types"],
        json!(["authorization_code", "refresh_token"]),
    );
    let e = apply(p.clone(), json!({"grant_types": ["refresh_token"]})).unwrap_err();
    assert_eq!(e.kind, K::SupersetViolation);
    assert_eq!(e.code(), "invalid_metadata");
    assert!(
        !apply(p.clone(), json!({}))
            .unwrap()
            .contains_key("grant_types")
    );
    assert_eq!(
        apply(p, json!({"grant_types": "authorization_code"}))
            .unwrap_err()
            .kind,
        K::UnsupportedMetadataType
    );
    for bad in [json!("a"), json!(1), json!(null)] {
        assert_eq!(
            policy(json!({"p": {"superset_of": bad}})).unwrap_err().kind,
            K::UnsupportedValueType
        );
    }
}

// ---- essential --------------------------------------------------------------------------

#[test]
fn essential_alone_on_present_and_absent_parameters() {
    for v in [
        json!("s"),
        json!(1),
        json!(true),
        json!(["a"]),
        json!({"k": 1}),
    ] {
        assert_eq!(
            apply(json!({"p": {"essential": true}}), json!({"p": v})).unwrap()["p"],
            v
        );
    }
    let e = apply(json!({"p": {"essential": true}}), json!({})).unwrap_err();
    assert_eq!(e.kind, K::EssentialMissing);
    assert_eq!(e.code(), "invalid_metadata");
    assert!(
        apply(json!({"p": {"essential": false}}), json!({}))
            .unwrap()
            .is_empty()
    );
    for bad in [json!("true"), json!(1), json!(null), json!([true])] {
        assert_eq!(
            policy(json!({"p": {"essential": bad}})).unwrap_err().kind,
            K::UnsupportedValueType
        );
    }
}

#[test]
fn essential_with_subset_of_follows_the_spec_table() {
    // §6.1.3.1.8: subset_of [a,b,c].
    let run = |essential: bool, input: Option<Value>| {
        let md = match input {
            Some(v) => json!({"p": v}),
            None => json!({}),
        };
        apply(
            json!({"p": {"subset_of": ["a", "b", "c"], "essential": essential}}),
            md,
        )
    };
    assert_set(
        &run(true, Some(json!(["a", "e"]))).unwrap()["p"],
        json!(["a"]),
    );
    assert_set(
        &run(false, Some(json!(["a", "e"]))).unwrap()["p"],
        json!(["a"]),
    );
    assert_eq!(run(true, Some(json!(["d", "e"]))).unwrap()["p"], json!([]));
    assert_eq!(run(false, Some(json!(["d", "e"]))).unwrap()["p"], json!([]));
    assert_eq!(run(true, None).unwrap_err().kind, K::EssentialMissing);
    assert!(!run(false, None).unwrap().contains_key("p"));
}

// ---- order of application ---------------------------------------------------------------

#[test]
fn operators_apply_in_the_specified_order() {
    // default fills in, then one_of checks the default (a bad default shows up here).
    let e = apply(
        json!({"alg": {"default": "RS256", "one_of": ["ES256"]}}),
        json!({}),
    )
    .unwrap_err();
    assert_eq!(e.kind, K::OneOfViolation);
    // add runs before subset_of: an added value outside subset_of is cut... but the
    // combination table forbids that, so check add ⊆ subset_of keeps it.
    let out = apply(
        json!({"g": {"add": ["a"], "subset_of": ["a", "b"]}}),
        json!({"g": ["b", "z"]}),
    )
    .unwrap();
    assert_set(&out["g"], json!(["a", "b"]));
    // value runs first and essential last: value satisfies essential.
    let out = apply(json!({"p": {"value": "x", "essential": true}}), json!({})).unwrap();
    assert_eq!(out["p"], "x");
    // default then superset_of: a default that lacks a required value fails.
    let e = apply(
        json!({"g": {"default": ["b"], "superset_of": ["a"]}}),
        json!({}),
    )
    .unwrap_err();
    assert_eq!(e.kind, K::SupersetViolation);
}

#[test]
fn parameter_absent_from_the_policy_is_untouched_and_language_tags_are_exact() {
    let out = apply(
        json!({"organization_name#de": {"value": "Beispiel"}}),
        json!({"organization_name": "Example", "organization_name#de": "Alt"}),
    )
    .unwrap();
    assert_eq!(out["organization_name"], "Example");
    assert_eq!(out["organization_name#de"], "Beispiel");
}

// ---- scope ------------------------------------------------------------------------------

#[test]
fn scope_is_a_set_of_words_written_back_as_a_string() {
    let out = apply(
        json!({"scope": {"subset_of": ["openid", "email"]}}),
        json!({"scope": "openid email profile"}),
    )
    .unwrap();
    assert_eq!(out["scope"], "openid email");
    let out = apply(
        json!({"scope": {"add": ["offline_access"]}}),
        json!({"scope": "openid"}),
    )
    .unwrap();
    assert_eq!(out["scope"], "openid offline_access");
    let out = apply(json!({"scope": {"default": "openid"}}), json!({})).unwrap();
    assert_eq!(out["scope"], "openid");
    let e = apply(
        json!({"scope": {"superset_of": ["openid"]}}),
        json!({"scope": "email"}),
    )
    .unwrap_err();
    assert_eq!(e.kind, K::SupersetViolation);
    // one_of compares whole scope values as sets of words.
    apply(
        json!({"scope": {"one_of": ["openid email", "openid"]}}),
        json!({"scope": "email openid"}),
    )
    .unwrap();
    // scope operator values may be given as space-separated strings.
    let out = apply(
        json!({"scope": {"subset_of": "openid email"}}),
        json!({"scope": "openid profile"}),
    )
    .unwrap();
    assert_eq!(out["scope"], "openid");
}

#[test]
fn scope_is_a_plain_string_outside_client_types() {
    let p = MetadataPolicy::from_json(&json!({
        "openid_provider": {"scope": {"value": "x y"}}
    }))
    .unwrap();
    let out = p
        .apply(&obj(json!({"openid_provider": {"scope": "a"}})))
        .unwrap();
    assert_eq!(out["openid_provider"]["scope"], "x y");
    // subset_of on a string is a metadata type error there.
    let p = MetadataPolicy::from_json(&json!({
        "openid_provider": {"scope": {"subset_of": ["a"]}}
    }))
    .unwrap();
    let e = p
        .apply(&obj(json!({"openid_provider": {"scope": "a"}})))
        .unwrap_err();
    assert_eq!(e.kind, K::UnsupportedMetadataType);
    assert_eq!(e.entity_type.as_deref(), Some("openid_provider"));
}

// ---- structure --------------------------------------------------------------------------

#[test]
fn malformed_structures_are_policy_errors() {
    for bad in [
        json!("x"),
        json!([]),
        json!({"p": "x"}),
        json!({"p": ["value"]}),
        json!({"p": null}),
    ] {
        let e = policy(bad.clone()).unwrap_err();
        assert_eq!(e.kind, K::Malformed, "{bad}");
        assert_eq!(e.code(), "invalid_policy");
    }
    assert_eq!(
        MetadataPolicy::from_json(&json!({"openid_relying_party": "x"}))
            .unwrap_err()
            .entity_type
            .as_deref(),
        Some("openid_relying_party")
    );
}

#[test]
fn duplicate_member_names_at_every_level_are_policy_errors() {
    for text in [
        r#"{"openid_relying_party": {"p": {"value": "a"}}, "openid_relying_party": {}}"#,
        r#"{"openid_relying_party": {"p": {"value": "a"}, "p": {"value": "b"}}}"#,
        r#"{"openid_relying_party": {"p": {"one_of": ["a"], "one_of": ["b"]}}}"#,
    ] {
        let e = MetadataPolicy::from_json_str(text).unwrap_err();
        assert_eq!(e.kind, K::DuplicateMember, "{text}");
        assert_eq!(e.code(), "invalid_policy");
    }
    MetadataPolicy::from_json_str(r#"{"openid_relying_party": {"p": {"value": "a"}}}"#).unwrap();
}

#[test]
fn unknown_operators_are_kept_but_never_applied() {
    let p = policy(json!({"p": {"regexp": "^a", "value": "b"}})).unwrap();
    assert_eq!(p.operator("p", "regexp"), Some(&json!("^a")));
    assert_eq!(p.apply(&obj(json!({"p": "zzz"}))).unwrap()["p"], "b");
}

#[test]
fn to_json_round_trips() {
    let v = json!({
        "grant_types": {"subset_of": ["authorization_code"], "default": ["authorization_code"]},
        "contacts": {"add": ["a@x"]},
        "subject_type": {"value": "pairwise", "essential": true}
    });
    let p = policy(v.clone()).unwrap();
    assert_eq!(p.to_json(), v);
    assert_eq!(policy(p.to_json()).unwrap(), p);
    let m = MetadataPolicy::from_json(&json!({"openid_relying_party": v})).unwrap();
    assert_eq!(MetadataPolicy::from_json(&m.to_json()).unwrap(), m);
}

// ---- merges -----------------------------------------------------------------------------

fn combine(ta: Value, int: Value) -> Result<EntityTypePolicy, PolicyError> {
    policy(ta)?.combine(&policy(int)?)
}

#[test]
fn each_operator_merges_by_its_rule() {
    let m = combine(json!({"p": {"value": "a"}}), json!({"p": {"value": "a"}})).unwrap();
    assert_eq!(m.operator("p", "value"), Some(&json!("a")));
    let e = combine(
        json!({"p": {"value": "pairwise"}}),
        json!({"p": {"value": "public"}}),
    )
    .unwrap_err();
    assert_eq!(e.kind, K::MergeConflict);
    assert_eq!(e.code(), "invalid_policy");
    // Arrays in `value` are equal only in the same order (strict JSON equality).
    let e = combine(
        json!({"p": {"value": ["a", "b"]}}),
        json!({"p": {"value": ["b", "a"]}}),
    )
    .unwrap_err();
    assert_eq!(e.kind, K::MergeConflict);

    let m = combine(
        json!({"p": {"add": ["a"]}}),
        json!({"p": {"add": ["b", "a"]}}),
    )
    .unwrap();
    assert_set(m.operator("p", "add").unwrap(), json!(["a", "b"]));

    combine(
        json!({"p": {"default": "x"}}),
        json!({"p": {"default": "x"}}),
    )
    .unwrap();
    assert_eq!(
        combine(
            json!({"p": {"default": "x"}}),
            json!({"p": {"default": "y"}})
        )
        .unwrap_err()
        .kind,
        K::MergeConflict
    );

    let m = combine(
        json!({"p": {"one_of": ["a", "b"]}}),
        json!({"p": {"one_of": ["b", "c"]}}),
    )
    .unwrap();
    assert_eq!(m.operator("p", "one_of"), Some(&json!(["b"])));
    assert_eq!(
        combine(
            json!({"p": {"one_of": ["a", "b"]}}),
            json!({"p": {"one_of": ["c"]}})
        )
        .unwrap_err()
        .kind,
        K::MergeConflict
    );

    let m = combine(
        json!({"p": {"subset_of": ["a", "b"]}}),
        json!({"p": {"subset_of": ["c"]}}),
    )
    .unwrap();
    assert_eq!(m.operator("p", "subset_of"), Some(&json!([])));
    let out = m.apply(&obj(json!({"p": ["a"]}))).unwrap();
    assert_eq!(
        out["p"],
        json!([]),
        "an empty merged subset_of empties a present parameter"
    );

    let m = combine(
        json!({"p": {"superset_of": ["a"]}}),
        json!({"p": {"superset_of": ["b"]}}),
    )
    .unwrap();
    assert_set(m.operator("p", "superset_of").unwrap(), json!(["a", "b"]));

    for (a, b) in [(false, true), (true, false), (true, true)] {
        let m = combine(
            json!({"p": {"essential": a}}),
            json!({"p": {"essential": b}}),
        )
        .unwrap();
        assert_eq!(m.operator("p", "essential"), Some(&json!(true)));
    }
    let m = combine(
        json!({"p": {"essential": false}}),
        json!({"p": {"essential": false}}),
    )
    .unwrap();
    assert_eq!(m.operator("p", "essential"), Some(&json!(false)));
}

#[test]
fn a_parameter_constrained_by_one_level_only_is_copied() {
    let m = combine(
        json!({"a": {"value": "x"}}),
        json!({"b": {"one_of": ["y"]}}),
    )
    .unwrap();
    assert_eq!(m.operator("a", "value"), Some(&json!("x")));
    assert_eq!(m.operator("b", "one_of"), Some(&json!(["y"])));
    let m = MetadataPolicy::from_json(&json!({"openid_relying_party": {"a": {"value": 1}}}))
        .unwrap()
        .combine(
            &MetadataPolicy::from_json(&json!({"openid_provider": {"b": {"value": 2}}})).unwrap(),
        )
        .unwrap();
    assert_eq!(
        m.entity_types().collect::<Vec<_>>(),
        vec!["openid_provider", "openid_relying_party"]
    );
}

#[test]
fn merge_is_commutative_as_sets() {
    let policies = [
        json!({"g": {"subset_of": ["a", "b", "c"], "superset_of": ["a"]}, "c": {"add": ["x"]}, "e": {"essential": false}}),
        json!({"g": {"subset_of": ["a", "b"], "default": ["a"]}, "c": {"add": ["y"]}, "e": {"essential": true}}),
    ];
    let ab = combine(policies[0].clone(), policies[1].clone())
        .unwrap()
        .to_json();
    let ba = combine(policies[1].clone(), policies[0].clone())
        .unwrap()
        .to_json();
    for (param, ops) in ab.as_object().unwrap() {
        for (op, v) in ops.as_object().unwrap() {
            assert!(
                same_set(v, &ba[param][op]),
                "{param}.{op}: {v} vs {}",
                ba[param][op]
            );
        }
    }
}

// ---- the table of allowed operator combinations (§6.1.3.1) -----------------------------

/// (operator a, value a, operator b, value b, allowed).
fn table() -> Vec<(&'static str, Value, &'static str, Value, bool)> {
    vec![
        ("value", json!(["a", "b"]), "add", json!(["a"]), true),
        ("value", json!(["a"]), "add", json!(["c"]), false),
        ("value", json!("a"), "default", json!("b"), true),
        ("value", json!(null), "default", json!("b"), false),
        ("value", json!("a"), "one_of", json!(["a", "b"]), true),
        ("value", json!("c"), "one_of", json!(["a", "b"]), false),
        ("value", json!(["a"]), "one_of", json!(["a"]), false),
        ("value", json!(["a"]), "subset_of", json!(["a", "b"]), true),
        ("value", json!(["c"]), "subset_of", json!(["a", "b"]), false),
        ("value", json!("a"), "subset_of", json!(["a"]), false),
        (
            "value",
            json!(["a", "b"]),
            "superset_of",
            json!(["a"]),
            true,
        ),
        ("value", json!(["b"]), "superset_of", json!(["a"]), false),
        ("value", json!("a"), "essential", json!(true), true),
        ("value", json!(null), "essential", json!(false), true),
        ("value", json!(null), "essential", json!(true), false),
        ("value", json!(null), "add", json!(["a"]), false),
        ("value", json!(null), "one_of", json!(["a"]), false),
        ("value", json!(null), "subset_of", json!(["a"]), false),
        ("value", json!(null), "superset_of", json!(["a"]), false),
        ("value", json!(true), "one_of", json!([true, false]), true),
        ("add", json!(["a"]), "default", json!(["b"]), true),
        ("add", json!(["a"]), "one_of", json!(["a"]), false),
        ("add", json!(["a"]), "subset_of", json!(["a", "b"]), true),
        ("add", json!(["c"]), "subset_of", json!(["a", "b"]), false),
        ("add", json!(["a"]), "superset_of", json!(["b"]), true),
        ("add", json!(["a"]), "essential", json!(true), true),
        ("default", json!("a"), "one_of", json!(["b"]), true),
        ("default", json!(["z"]), "subset_of", json!(["a"]), true),
        ("default", json!(["z"]), "superset_of", json!(["a"]), true),
        ("default", json!("a"), "essential", json!(true), true),
        ("one_of", json!(["a"]), "subset_of", json!(["a"]), false),
        ("one_of", json!(["a"]), "superset_of", json!(["a"]), false),
        ("one_of", json!(["a"]), "essential", json!(true), true),
        (
            "subset_of",
            json!(["a", "b"]),
            "superset_of",
            json!(["a"]),
            true,
        ),
        (
            "subset_of",
            json!(["a"]),
            "superset_of",
            json!(["a", "b"]),
            false,
        ),
        ("subset_of", json!(["a"]), "essential", json!(false), true),
        ("superset_of", json!(["a"]), "essential", json!(true), true),
    ]
}

#[test]
fn combination_table_inside_one_statement() {
    for (a, va, b, vb, allowed) in table() {
        let r = policy(json!({"p": {a: va, b: vb}}));
        match (allowed, r) {
            (true, Ok(_)) => {}
            (false, Err(e)) => {
                assert_eq!(
                    e.kind,
                    K::ForbiddenCombination,
                    "{a}={va} with {b}={vb}: {e}"
                );
                assert_eq!(e.code(), "invalid_policy");
                assert_eq!(e.parameter.as_deref(), Some("p"));
            }
            (allowed, r) => panic!("{a}={va} with {b}={vb}: expected allowed={allowed}, got {r:?}"),
        }
    }
}

#[test]
fn combination_table_across_a_merge_in_both_directions() {
    for (a, va, b, vb, allowed) in table() {
        for (ta, int) in [
            (json!({"p": {a: va.clone()}}), json!({"p": {b: vb.clone()}})),
            (json!({"p": {b: vb.clone()}}), json!({"p": {a: va.clone()}})),
        ] {
            let r = combine(ta.clone(), int.clone());
            match (allowed, r) {
                (true, Ok(m)) => {
                    assert_eq!(m.operator("p", a), Some(&va));
                    assert_eq!(m.operator("p", b), Some(&vb));
                }
                (false, Err(e)) => {
                    assert_eq!(e.kind, K::ForbiddenCombination, "{ta} + {int}: {e}");
                    assert_eq!(e.code(), "invalid_policy");
                }
                (allowed, r) => panic!("{ta} + {int}: expected allowed={allowed}, got {r:?}"),
            }
        }
    }
}

#[test]
fn a_merge_can_make_an_allowed_combination_forbidden() {
    // Each level is fine alone; the merged subset_of no longer contains add.
    let e = combine(
        json!({"p": {"add": ["a"], "subset_of": ["a", "b"]}}),
        json!({"p": {"subset_of": ["b"]}}),
    )
    .unwrap_err();
    assert_eq!(e.kind, K::ForbiddenCombination);
    // value at one level, one_of at the other, value outside one_of.
    let e = combine(
        json!({"p": {"value": "ES256"}}),
        json!({"p": {"one_of": ["RS256", "PS256"]}}),
    )
    .unwrap_err();
    assert_eq!(e.kind, K::ForbiddenCombination);
}

#[test]
fn default_outside_one_of_merges_and_fails_only_when_used() {
    // Case 72 of tests/SPEC_COVERAGE.md.
    let m = combine(
        json!({"alg": {"one_of": ["ES256"]}}),
        json!({"alg": {"default": "RS256"}}),
    )
    .unwrap();
    assert_eq!(
        m.apply(&obj(json!({}))).unwrap_err().kind,
        K::OneOfViolation
    );
    assert_eq!(
        m.apply(&obj(json!({"alg": "ES256"}))).unwrap()["alg"],
        "ES256"
    );
}

/// Case 83 of tests/SPEC_COVERAGE.md: swapping the two levels gives the same merged policy (as sets)
/// for `one_of`, equal `value` and `default`, and the same verdict for a conflict; only the
/// attribution of an error may differ.
#[test]
fn merge_is_commutative_for_one_of_value_default_and_conflicts() {
    let a = json!({
        "alg": {"one_of": ["ES256", "PS256", "RS256"]},
        "st": {"value": "pairwise"},
        "gt": {"default": ["authorization_code"]},
        "rt": {"subset_of": ["code", "code id_token"]}
    });
    let b = json!({
        "alg": {"one_of": ["PS256", "ES256", "EdDSA"]},
        "st": {"value": "pairwise"},
        "gt": {"default": ["authorization_code"]},
        "rt": {"subset_of": ["code id_token", "code"]}
    });
    let ab = combine(a.clone(), b.clone()).unwrap().to_json();
    let ba = combine(b, a).unwrap().to_json();
    assert_set(&ab["alg"]["one_of"], json!(["ES256", "PS256"]));
    for (param, op) in [
        ("alg", "one_of"),
        ("st", "value"),
        ("gt", "default"),
        ("rt", "subset_of"),
    ] {
        assert!(
            same_set(&ab[param][op], &ba[param][op]),
            "{param}.{op}: {} vs {}",
            ab[param][op],
            ba[param][op]
        );
    }
    // Conflicts fail in both orders with the same kind.
    for (x, y) in [
        (
            json!({"st": {"value": "pairwise"}}),
            json!({"st": {"value": "public"}}),
        ),
        (
            json!({"gt": {"default": ["a"]}}),
            json!({"gt": {"default": ["b"]}}),
        ),
        (
            json!({"alg": {"one_of": ["ES256"]}}),
            json!({"alg": {"one_of": ["RS256"]}}),
        ),
    ] {
        let xy = combine(x.clone(), y.clone()).expect_err("conflict");
        let yx = combine(y, x).expect_err("conflict");
        assert_eq!(xy.kind, yx.kind, "{xy} / {yx}");
    }
}
