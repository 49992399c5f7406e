//! Trust chain resolution and validation (OpenID Federation 1.0 §3.2, §10).
//! Each test breaks one rule and checks the typed error names it.

mod common;

use common::*;
use oidfed::testing::KeyAlg;
use oidfed::{EntityType, Error, Rule};
use serde_json::{Value, json};

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;

async fn resolve_err(fed: &oidfed::testing::Federation) -> Error {
    resolver(fed)
        .resolve(&fed.id("rp"), &RP)
        .await
        .expect_err("resolution must fail")
}

#[tokio::test]
async fn happy_path_three_levels() {
    let fed = three_level().statement_exp("org", "rp", NOW + 500).build();
    let r = resolver(&fed).resolve(&fed.id("rp"), &RP).await.unwrap();
    assert_eq!(
        r.chain().path(),
        vec![fed.id("rp"), fed.id("org"), fed.id("ta")]
    );
    assert_eq!(r.trust_anchor(), &fed.id("ta"));
    // [rp EC, SS(org→rp), SS(ta→org), ta EC]; expiry = min of the four exp (§10.4).
    assert_eq!(r.chain().statements().len(), 4);
    assert_eq!(r.expires_at(), NOW + 500);
    assert_eq!(r.metadata()["client_name"], "RP");
    assert_eq!(r.chain().immediate_superior(), Some(&fed.id("org")));
    assert!(r.alternatives().is_empty());
}

#[tokio::test]
async fn ec_without_typ_or_with_wrong_typ_is_rejected() {
    let fed = three_level().build();
    let claims = Value::Object(claims_of(&fed.entity_configuration("rp")));
    let key = fed.key("rp");
    let no_typ = key.sign_with_header(&json!({"alg": "ES256", "kid": key.kid()}), &claims);
    fed.publish_raw_ec("rp", &no_typ);
    assert_eq!(resolve_err(&fed).await.rule(), Some(Rule::Typ));
    for typ in ["JWT", "trust-mark+jwt"] {
        fed.publish_raw_ec("rp", &key.sign_jwt(typ, &claims));
        assert_eq!(resolve_err(&fed).await.rule(), Some(Rule::Typ), "typ {typ}");
    }
    fed.publish_raw_ec("rp", &key.sign_jwt("entity-statement+jwt", &claims));
    assert!(resolver(&fed).resolve(&fed.id("rp"), &RP).await.is_ok());
}

#[tokio::test]
async fn alg_none_and_hs256_are_rejected() {
    let fed = three_level().build();
    let claims = claims_of(&fed.entity_configuration("rp"));
    let kid = fed.key("rp").kid();
    let b64 = |v: &Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "kid": kid, "typ": "entity-statement+jwt"})),
        b64(&Value::Object(claims.clone()))
    );
    fed.publish_raw_ec("rp", &none);
    assert_eq!(resolve_err(&fed).await.rule(), Some(Rule::Alg));
    // HS256 keyed with the public key's bytes (algorithm confusion).
    let h = b64(&json!({"alg": "HS256", "kid": kid, "typ": "entity-statement+jwt"}));
    let p = b64(&Value::Object(claims));
    let signer = josekit::jws::HS256
        .signer_from_bytes(fed.public_jwks("rp").to_string().as_bytes())
        .unwrap();
    use josekit::jws::JwsSigner;
    let sig = signer.sign(format!("{h}.{p}").as_bytes()).unwrap();
    fed.publish_raw_ec("rp", &format!("{h}.{p}.{}", b64url(&sig)));
    assert_eq!(resolve_err(&fed).await.rule(), Some(Rule::Alg));
}

fn b64url(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[tokio::test]
async fn missing_empty_and_unknown_kid_are_rejected() {
    let fed = three_level().build();
    let claims = Value::Object(claims_of(&fed.entity_configuration("rp")));
    let key = fed.key("rp");
    for header in [
        json!({"alg": "ES256", "typ": "entity-statement+jwt"}),
        json!({"alg": "ES256", "typ": "entity-statement+jwt", "kid": ""}),
    ] {
        fed.publish_raw_ec("rp", &key.sign_with_header(&header, &claims));
        // No fallback to "try every key", even with exactly one key in the set.
        assert_eq!(resolve_err(&fed).await.rule(), Some(Rule::Kid), "{header}");
    }
    let unknown = json!({"alg": "ES256", "typ": "entity-statement+jwt", "kid": "nope"});
    fed.publish_raw_ec("rp", &key.sign_with_header(&unknown, &claims));
    assert_eq!(resolve_err(&fed).await.rule(), Some(Rule::Kid));
}

#[tokio::test]
async fn ec_whose_iss_differs_from_sub_is_rejected() {
    let fed = three_level().build();
    let org = fed.id("org");
    fed.republish_ec("rp", |c| {
        c.insert("iss".into(), json!(org.as_str()));
    });
    let e = resolve_err(&fed).await;
    // Fetched as rp's configuration, it is a statement by org about rp: not an EC.
    assert!(
        matches!(e.rule(), Some(Rule::Issuer) | Some(Rule::ClaimPlacement)),
        "{e}"
    );
}

#[tokio::test]
async fn ec_about_another_subject_is_rejected() {
    let fed = three_level().build();
    let other = fed.entity_configuration("org");
    fed.publish_raw_ec("rp", &other);
    assert_eq!(resolve_err(&fed).await.rule(), Some(Rule::Subject));
}

#[tokio::test]
async fn subordinate_statement_about_the_wrong_subject_is_rejected() {
    let fed = three_level().build();
    // The fetch endpoint answers for rp with org's statement about someone else.
    let ta_about_org = fed.subordinate_statement("ta", "org");
    fed.publish_raw_ss("org", "rp", &ta_about_org);
    let e = resolve_err(&fed).await;
    assert!(matches!(e, Error::NoTrustChain { .. }), "{e}");
    assert!(
        matches!(e.rule(), Some(Rule::Subject) | Some(Rule::Issuer)),
        "{e}"
    );
}

#[tokio::test]
async fn superior_not_in_authority_hints_is_rejected() {
    // A chain handed over whole in which rp's EC names another superior.
    let fed = three_level().intermediate("other", &["ta"]).build();
    let other = fed.id("other");
    fed.republish_ec("rp", |c| {
        c.insert("authority_hints".into(), json!([other.as_str()]));
    });
    let chain = fed.chain(&["rp", "org", "ta"], true);
    let e = resolver(&fed)
        .validate_chain(&chain, &RP)
        .await
        .unwrap_err();
    assert_eq!(e.rule(), Some(Rule::AuthorityHints), "{e}");
}

#[tokio::test]
async fn expiry_and_issued_at_with_skew_edges() {
    let fed = three_level().lifetime(3600).build();
    let exp = NOW + 3600;
    let (b, clock) = builder(&fed, &["ta"]);
    let r = b.clock_skew(60).build().unwrap();
    let rp = fed.id("rp");
    // exp + skew - 1: still accepted; exp + skew: refused.
    clock.set(exp + 59);
    r.resolve(&rp, &RP).await.unwrap();
    r.clear_caches();
    clock.set(exp + 60);
    assert_eq!(
        r.resolve(&rp, &RP).await.unwrap_err().rule(),
        Some(Rule::Expiry)
    );
    // iat within the leeway in the future: accepted; beyond it: refused.
    clock.set(NOW - 60);
    r.clear_caches();
    r.resolve(&rp, &RP).await.unwrap();
    clock.set(NOW - 61);
    r.clear_caches();
    assert_eq!(
        r.resolve(&rp, &RP).await.unwrap_err().rule(),
        Some(Rule::IssuedAt)
    );
    // Without leeway, exp == now is already expired (§3.2 step 8).
    let (b, clock) = builder(&fed, &["ta"]);
    let strict = b.clock_skew(0).build().unwrap();
    clock.set(exp);
    assert_eq!(
        strict.resolve(&rp, &RP).await.unwrap_err().rule(),
        Some(Rule::Expiry)
    );
    clock.set(exp - 1);
    strict.resolve(&rp, &RP).await.unwrap();
}

#[tokio::test]
async fn expired_intermediate_statement_invalidates_that_path_only() {
    // rp has two superiors; the statement org1 makes about rp has expired.
    let fed = common::three_level()
        .intermediate("org2", &["ta"])
        .leaf("rp2", &["org", "org2"])
        .metadata("rp2", "openid_relying_party", json!({"client_name": "RP2"}))
        .statement_exp("org", "rp2", NOW - 120)
        .build();
    let r = resolver(&fed).resolve(&fed.id("rp2"), &RP).await.unwrap();
    assert_eq!(r.chain().immediate_superior(), Some(&fed.id("org2")));
}

#[tokio::test]
async fn unknown_critical_claim_is_rejected_and_understood_one_accepted() {
    let fed = three_level()
        .ec_claim("rp", "jti", json!("abc"))
        .ec_claim("rp", "crit", json!(["jti"]))
        .build();
    assert_eq!(resolve_err(&fed).await.rule(), Some(Rule::Crit));
    let (b, _) = builder(&fed, &["ta"]);
    let r = b.understood_critical_claims(&["jti"]).build().unwrap();
    r.resolve(&fed.id("rp"), &RP).await.unwrap();
    // crit naming a spec claim, or empty, is malformed whatever is understood.
    for crit in [json!(["iss"]), json!([])] {
        fed.republish_ec("rp", |c| {
            c.insert("crit".into(), crit.clone());
        });
        r.clear_caches();
        assert_eq!(
            r.resolve(&fed.id("rp"), &RP).await.unwrap_err().rule(),
            Some(Rule::Crit)
        );
    }
    // An unknown extension claim that is not critical is ignored.
    fed.republish_ec("rp", |c| {
        c.remove("crit");
        c.insert("x_unknown".into(), json!(1));
    });
    r.clear_caches();
    r.resolve(&fed.id("rp"), &RP).await.unwrap();
}

#[tokio::test]
async fn ec_only_claim_in_ss_and_ss_only_claim_in_ec_are_rejected() {
    let fed = three_level()
        .ss_claim(
            "org",
            "rp",
            "authority_hints",
            json!(["https://fed.example/ta"]),
        )
        .build();
    assert_eq!(resolve_err(&fed).await.rule(), Some(Rule::ClaimPlacement));
    for claim in ["constraints", "metadata_policy", "source_endpoint"] {
        let fed = three_level().ec_claim("rp", claim, json!({})).build();
        assert_eq!(
            resolve_err(&fed).await.rule(),
            Some(Rule::ClaimPlacement),
            "{claim}"
        );
    }
}

#[tokio::test]
async fn null_metadata_and_non_object_types_are_rejected() {
    let fed = three_level().build();
    fed.republish_ec("rp", |c| {
        c["metadata"]["openid_relying_party"]["client_name"] = Value::Null;
    });
    assert_eq!(resolve_err(&fed).await.rule(), Some(Rule::Metadata));
    fed.republish_ec("rp", |c| {
        c["metadata"]["openid_provider"] = json!("x");
    });
    assert_eq!(resolve_err(&fed).await.rule(), Some(Rule::Metadata));
}

#[tokio::test]
async fn subject_ec_must_verify_with_the_keys_its_superior_asserts() {
    let fed = three_level().build();
    // org asserts a different key for rp (rp's EC still verifies with its own jwks).
    let stranger = oidfed::testing::TestKey::generate(KeyAlg::ES256);
    fed.republish_ss("org", "rp", |c| {
        c.insert("jwks".into(), json!({"keys": [stranger.public_jwk()]}));
    });
    let e = resolve_err(&fed).await;
    assert!(
        matches!(e.rule(), Some(Rule::Kid) | Some(Rule::Signature)),
        "{e}"
    );
}

#[tokio::test]
async fn same_kid_with_different_material_is_rejected() {
    let fed = three_level().build();
    let stranger = oidfed::testing::TestKey::generate(KeyAlg::ES256);
    let mut jwk = stranger.public_jwk();
    jwk["kid"] = json!(fed.key("rp").kid());
    fed.republish_ss("org", "rp", |c| {
        c.insert("jwks".into(), json!({"keys": [jwk]}));
    });
    let e = resolve_err(&fed).await;
    assert_eq!(e.rule(), Some(Rule::ChainLink), "{e}");
}

#[tokio::test]
async fn intermediate_key_missing_from_its_superiors_assertion_is_rejected() {
    // org signs its statement about rp with a key the anchor does not assert for org.
    let fed = three_level().build();
    let stranger = oidfed::testing::TestKey::generate(KeyAlg::ES256);
    fed.republish_ss("ta", "org", |c| {
        c.insert("jwks".into(), json!({"keys": [stranger.public_jwk()]}));
    });
    let e = resolve_err(&fed).await;
    assert!(
        matches!(e.rule(), Some(Rule::Kid) | Some(Rule::Signature)),
        "{e}"
    );
}

#[tokio::test]
async fn anchor_signed_by_an_unpinned_key_is_rejected() {
    let fed = three_level().build();
    let stranger = oidfed::testing::TestKey::generate(KeyAlg::ES256);
    let r = oidfed::Resolver::builder()
        .fetcher(fed.fetcher())
        .clock(oidfed::FixedClock::new(NOW))
        .trust_anchor(
            fed.id("ta").as_str(),
            &json!({"keys": [stranger.public_jwk()]}),
        )
        .build()
        .unwrap();
    let e = r.resolve(&fed.id("rp"), &RP).await.unwrap_err();
    assert!(
        matches!(e.rule(), Some(Rule::Kid) | Some(Rule::Signature)),
        "{e}"
    );
    assert!(
        e.to_string().contains("configured keys of trust anchor"),
        "{e}"
    );
}

#[tokio::test]
async fn loop_is_detected_and_nothing_is_fetched_twice() {
    // rp → a → b → a (loop) and b → ta.
    let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("a", &["b"])
        .intermediate("b", &["a", "ta"])
        .leaf("rp", &["a"])
        .metadata("rp", "openid_relying_party", json!({"client_name": "RP"}))
        .build();
    let f = fed.fetcher();
    let r = resolver(&fed).resolve(&fed.id("rp"), &RP).await.unwrap();
    assert_eq!(
        r.chain().path(),
        vec![fed.id("rp"), fed.id("a"), fed.id("b"), fed.id("ta")]
    );
    assert_eq!(f.max_fetches_per_url(), 1);
}

#[tokio::test]
async fn loop_without_exit_lists_the_loop() {
    let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("a", &["b"])
        .intermediate("b", &["a"])
        .leaf("rp", &["a"])
        .metadata("rp", "openid_relying_party", json!({}))
        .build();
    let e = resolve_err(&fed).await;
    let Error::NoTrustChain { attempts, .. } = &e else {
        panic!("{e}")
    };
    assert!(
        attempts
            .iter()
            .any(|a| a.error.to_string().contains("loop")),
        "{e}"
    );
}

#[tokio::test]
async fn diamond_gives_two_chains_deterministically_with_one_fetch_each() {
    // rp → i3 → {i1, i2} → ta (§17.1).
    let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("i1", &["ta"])
        .intermediate("i2", &["ta"])
        .intermediate("i3", &["i2", "i1"])
        .leaf("rp", &["i3"])
        .metadata("rp", "openid_relying_party", json!({}))
        .build();
    let f = fed.fetcher();
    let r = resolver(&fed).resolve(&fed.id("rp"), &RP).await.unwrap();
    // Same anchor, same length, same expiry: the lexicographic path decides (i1 < i2).
    assert_eq!(r.chain().path()[2], fed.id("i1"));
    assert_eq!(r.alternatives().len(), 1);
    assert_eq!(r.alternatives()[0].path()[2], fed.id("i2"));
    assert_eq!(f.max_fetches_per_url(), 1, "every statement fetched once");
}

#[tokio::test]
async fn preferred_anchor_wins() {
    let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta1")
        .anchor("ta2")
        .intermediate("org1", &["ta1"])
        .intermediate("org2", &["ta2"])
        .leaf("rp", &["org1", "org2"])
        .metadata("rp", "openid_relying_party", json!({}))
        .build();
    for (order, expected) in [(["ta2", "ta1"], "ta2"), (["ta1", "ta2"], "ta1")] {
        let r = builder(&fed, &order).0.build().unwrap();
        let got = r.resolve(&fed.id("rp"), &RP).await.unwrap();
        assert_eq!(got.trust_anchor(), &fed.id(expected));
        assert_eq!(got.alternatives().len(), 1);
    }
}

#[tokio::test]
async fn not_found_from_one_superior_falls_back_to_another() {
    let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("org1", &["ta"])
        .intermediate("org2", &["ta"])
        .leaf("rp", &["org1", "org2"])
        .metadata("rp", "openid_relying_party", json!({}))
        .build();
    fed.remove_ss("org1", "rp");
    let r = resolver(&fed).resolve(&fed.id("rp"), &RP).await.unwrap();
    assert_eq!(r.chain().immediate_superior(), Some(&fed.id("org2")));
    // With both gone: no chain, definitive, not "transient".
    fed.remove_ss("org2", "rp");
    let e = resolve_err(&fed).await;
    assert!(
        matches!(e, Error::NoTrustChain { ref attempts, .. } if attempts.len() == 2),
        "{e}"
    );
    assert!(!e.is_transient());
}

#[tokio::test]
async fn unavailable_superior_is_transient() {
    let fed = three_level().build();
    fed.set_unavailable("org", 503);
    let e = resolve_err(&fed).await;
    assert!(e.is_transient(), "{e}");
    assert_eq!(e.spec_code(), "temporarily_unavailable");
}

#[tokio::test]
async fn path_ending_at_an_unconfigured_top_is_a_dead_end() {
    let fed = three_level()
        .anchor("rogue")
        .leaf("rp2", &["rogue"])
        .build();
    let r = resolver(&fed);
    let e = r.resolve(&fed.id("rp2"), &RP).await.unwrap_err();
    assert_eq!(e.rule(), Some(Rule::TrustAnchor), "{e}");
}

#[tokio::test]
async fn chain_received_whole_with_and_without_anchor_ec() {
    let fed = three_level().build();
    let r = resolver(&fed);
    let f = fed.fetcher();
    let with = r
        .validate_chain(&fed.chain(&["rp", "org", "ta"], true), &RP)
        .await
        .unwrap();
    let without = r
        .validate_chain(&fed.chain(&["rp", "org", "ta"], false), &RP)
        .await
        .unwrap();
    assert_eq!(with.trust_anchor(), &fed.id("ta"));
    assert_eq!(without.trust_anchor(), &fed.id("ta"));
    assert_eq!(with.chain().statements().len(), 4);
    assert_eq!(without.chain().statements().len(), 3);
    assert_eq!(
        f.total_fetches(),
        0,
        "a chain handed over is validated without fetching"
    );
}

#[tokio::test]
async fn chain_received_whole_is_fully_verified() {
    let fed = three_level().build();
    let r = resolver(&fed);
    let mut chain = fed.chain(&["rp", "org", "ta"], true);
    // Forge the middle statement: keep header and signature, change the payload.
    let parts: Vec<&str> = chain[1].split('.').collect();
    let mut claims = claims_of(&chain[1]);
    claims.insert("exp".into(), json!(NOW + 999_999));
    chain[1] = format!(
        "{}.{}.{}",
        parts[0],
        b64url(Value::Object(claims).to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(
        r.validate_chain(&chain, &RP).await.unwrap_err().rule(),
        Some(Rule::Signature)
    );
    // A chain ending at an anchor we do not trust.
    let other = three_level().build();
    let e = r
        .validate_chain(&other.chain(&["rp", "org", "ta"], true), &RP)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::UntrustedAnchor { .. } | Error::Statement(_)),
        "{e}"
    );
    // A chain whose first element is not an EC.
    let e = r
        .validate_chain(&fed.chain(&["rp", "org", "ta"], true)[1..], &RP)
        .await
        .unwrap_err();
    assert_eq!(e.rule(), Some(Rule::ChainLink), "{e}");
}

#[tokio::test]
async fn anchor_as_subject() {
    let fed = three_level()
        .metadata(
            "ta",
            "openid_provider",
            json!({"issuer": "https://fed.example/ta"}),
        )
        .build();
    let r = resolver(&fed)
        .resolve(&fed.id("ta"), &EntityType::OPENID_PROVIDER)
        .await
        .unwrap();
    assert_eq!(r.chain().statements().len(), 1);
    assert_eq!(r.metadata()["issuer"], "https://fed.example/ta");
}

#[tokio::test]
async fn mixed_algorithms_are_accepted() {
    let fed = three_level()
        .key_alg("rp", KeyAlg::RS256)
        .key_alg("org", KeyAlg::ES256)
        .key_alg("ta", KeyAlg::PS256)
        .build();
    resolver(&fed).resolve(&fed.id("rp"), &RP).await.unwrap();
}

#[tokio::test]
async fn entity_type_missing_is_a_typed_error() {
    let fed = three_level().build();
    let e = resolver(&fed)
        .resolve(&fed.id("rp"), &EntityType::OPENID_PROVIDER)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::EntityTypeNotFound { .. }), "{e}");
}

#[tokio::test]
async fn superior_metadata_overrides_per_parameter_for_present_types_only() {
    let fed = three_level()
        .metadata(
            "rp",
            "openid_relying_party",
            json!({"policy_uri": "https://a", "client_name": "RP"}),
        )
        .subordinate_metadata(
            "org",
            "rp",
            "openid_relying_party",
            json!({"policy_uri": "https://b"}),
        )
        .subordinate_metadata(
            "org",
            "rp",
            "openid_provider",
            json!({"issuer": "https://x"}),
        )
        .subordinate_metadata(
            "ta",
            "org",
            "openid_relying_party",
            json!({"client_name": "NOT FOR RP"}),
        )
        .build();
    let r = resolver(&fed).resolve(&fed.id("rp"), &RP).await.unwrap();
    assert_eq!(r.metadata()["policy_uri"], "https://b");
    assert_eq!(r.metadata()["client_name"], "RP");
    assert!(!r.all_metadata().contains_key("openid_provider"));
}

#[tokio::test]
async fn error_names_statement_entity_and_rule() {
    let fed = three_level().build();
    fed.republish_ss("org", "rp", |c| {
        c.insert("exp".into(), json!(NOW - 3600));
    });
    let e = resolve_err(&fed).await;
    let text = e.to_string();
    assert!(
        text.contains("https://fed.example/org → https://fed.example/rp"),
        "{text}"
    );
    assert!(text.contains("Expiry"), "{text}");
    assert!(text.contains("§3.2 step 8"), "{text}");
    assert_eq!(e.spec_code(), "invalid_trust_chain");
}
