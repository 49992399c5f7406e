//! Statement-level rules of spec-notes §13.1 (cases 4, 12, 13, 19–24): algorithm
//! confusion, Entity Identifier syntax of `iss`/`sub`, a missing `jwks`, malformed
//! `metadata`, claim placement, empty `authority_hints`, `aud`/`trust_anchor` outside
//! Explicit Registration, and `trust_chain`/`peer_trust_chain` headers on statements.
//!
//! Each test publishes a correctly signed statement that breaks exactly one rule, asserts
//! the resolver (and, for pure statement rules, `EntityStatement::parse`) rejects it with
//! that rule and names the statement, then shows the unbroken statement is accepted.

mod common;

use std::sync::Arc;

use common::*;
use oidfed::policy::regexp::Regexp;
use oidfed::statement::{EntityStatement, StatementRules};
use oidfed::testing::{Federation, KeyAlg, TestKey};
use oidfed::{EntityType, Error, Rule, StatementError};
use serde_json::{Map, Value, json};

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;
const TYP: &str = "entity-statement+jwt";

fn b64url(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn b64url_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .expect("base64url")
}

/// The statement error behind `e`: the subject's own EC fails the resolution directly; a
/// superior's statement fails the single path that needed it.
fn statement_error(e: &Error) -> &StatementError {
    match e {
        Error::Statement(s) => s,
        Error::NoTrustChain { attempts, .. } if attempts.len() == 1 => {
            statement_error(&attempts[0].error)
        }
        other => panic!("expected a statement error, got: {other}"),
    }
}

/// Asserts `e` is `rule` broken by the statement `iss` → `sub`, with `detail` in the message.
fn assert_broken(e: &Error, rule: Rule, iss: &str, sub: &str, detail: &str) {
    let s = statement_error(e);
    assert_eq!(s.rule, rule, "{e}");
    assert_eq!(s.issuer.as_deref(), Some(iss), "{e}");
    assert_eq!(s.subject.as_deref(), Some(sub), "{e}");
    assert!(
        s.detail.contains(detail),
        "detail {:?} lacks {detail:?}",
        s.detail
    );
}

async fn resolve_err(fed: &Federation) -> Error {
    resolver(fed)
        .resolve(&fed.id("rp"), &RP)
        .await
        .expect_err("resolution must fail")
}

async fn assert_resolves(fed: &Federation) {
    if let Err(e) = resolver(fed).resolve(&fed.id("rp"), &RP).await {
        panic!("resolution must succeed: {e}");
    }
}

fn parse(token: &str) -> Result<EntityStatement, StatementError> {
    EntityStatement::parse(token, &StatementRules::default())
}

/// `claims` signed by `key` under `header` members added to `{alg, kid, typ}`.
fn sign_with_extra_header(key: &TestKey, extra: Value, claims: &Map<String, Value>) -> String {
    let mut header = json!({"alg": key.alg().name(), "kid": key.kid(), "typ": TYP});
    if let (Some(h), Value::Object(extra)) = (header.as_object_mut(), extra) {
        h.extend(extra);
    }
    key.sign_with_header(&header, &Value::Object(claims.clone()))
}

// ---------------------------------------------------------------------------------------
// Case 4: HS256 keyed with the bytes of an RSA public key (algorithm confusion).
// ---------------------------------------------------------------------------------------

/// The encodings of an RSA public JWK that a confused verifier might use as an HMAC secret:
/// SPKI PEM (the classic attack), SPKI DER, PKCS#1 PEM and DER, the JWK and JWK Set text,
/// and the raw modulus.
fn rsa_public_key_encodings(jwk: &Value) -> Vec<(&'static str, Vec<u8>)> {
    use openssl::bn::BigNum;
    use openssl::rsa::Rsa;
    let n = b64url_decode(jwk["n"].as_str().expect("RSA n"));
    let e = b64url_decode(jwk["e"].as_str().expect("RSA e"));
    let rsa = Rsa::from_public_components(
        BigNum::from_slice(&n).expect("n"),
        BigNum::from_slice(&e).expect("e"),
    )
    .expect("RSA public key");
    vec![
        ("SPKI PEM", rsa.public_key_to_pem().expect("pem")),
        ("SPKI DER", rsa.public_key_to_der().expect("der")),
        ("PKCS#1 PEM", rsa.public_key_to_pem_pkcs1().expect("pem1")),
        ("PKCS#1 DER", rsa.public_key_to_der_pkcs1().expect("der1")),
        ("JWK", jwk.to_string().into_bytes()),
        ("JWKS", json!({"keys": [jwk]}).to_string().into_bytes()),
        ("modulus", n),
    ]
}

/// `claims` as an HS256 JWS with the RSA key's `kid`, MACed with `secret`. The MAC is
/// genuinely valid for that secret: a verifier letting the header choose the algorithm
/// and using the public key bytes as the HMAC key would accept it.
fn hs256_forgery(kid: &str, claims: &Map<String, Value>, secret: &[u8]) -> String {
    use josekit::jws::{HS256, JwsSigner, JwsVerifier};
    let h = b64url(
        json!({"alg": "HS256", "kid": kid, "typ": TYP})
            .to_string()
            .as_bytes(),
    );
    let p = b64url(Value::Object(claims.clone()).to_string().as_bytes());
    let input = format!("{h}.{p}");
    let mac = HS256
        .signer_from_bytes(secret)
        .expect("hmac key")
        .sign(input.as_bytes())
        .expect("mac");
    HS256
        .verifier_from_bytes(secret)
        .expect("hmac key")
        .verify(input.as_bytes(), &mac)
        .expect("the forgery is a valid HS256 MAC under the public key bytes");
    format!("{input}.{}", b64url(&mac))
}

#[tokio::test]
async fn hs256_keyed_with_an_rsa_public_key_is_rejected_as_alg() {
    let fed = three_level()
        .key_alg("rp", KeyAlg::RS256)
        .key_alg("org", KeyAlg::RS256)
        .build();
    let (rp, org) = (fed.id("rp").to_string(), fed.id("org").to_string());
    let good_ec = fed.entity_configuration("rp");
    let good_ss = fed.subordinate_statement("org", "rp");
    // The genuine RS256 statements resolve.
    assert_resolves(&fed).await;

    // rp's EC, HMACed with rp's own RSA public key in every common encoding.
    let rp_key = fed.key("rp");
    let ec_claims = claims_of(&good_ec);
    for (encoding, secret) in rsa_public_key_encodings(&rp_key.public_jwk()) {
        let forged = hs256_forgery(&rp_key.kid(), &ec_claims, &secret);
        let e = parse(&forged).expect_err(encoding);
        assert_eq!(e.rule, Rule::Alg, "{encoding}: {e}");
        assert!(e.detail.contains("HS256"), "{encoding}: {e}");
        fed.publish_raw_ec("rp", &forged);
        assert_broken(&resolve_err(&fed).await, Rule::Alg, &rp, &rp, "HS256");
        // Handed over whole (a trust_chain header, an Explicit Registration body).
        let mut chain = fed.chain(&["rp", "org", "ta"], true);
        chain[0] = forged;
        let e = resolver(&fed)
            .validate_chain(&chain, &RP)
            .await
            .unwrap_err();
        assert_broken(&e, Rule::Alg, &rp, &rp, "HS256");
    }
    fed.publish_raw_ec("rp", &good_ec);

    // org's statement about rp, HMACed with org's RSA public key (the key that must verify it).
    let org_key = fed.key("org");
    let ss_claims = claims_of(&good_ss);
    for (encoding, secret) in rsa_public_key_encodings(&org_key.public_jwk()) {
        let forged = hs256_forgery(&org_key.kid(), &ss_claims, &secret);
        fed.publish_raw_ss("org", "rp", &forged);
        let e = resolve_err(&fed).await;
        assert!(matches!(e, Error::NoTrustChain { .. }), "{encoding}: {e}");
        assert_broken(&e, Rule::Alg, &org, &rp, "HS256");
    }
    fed.publish_raw_ss("org", "rp", &good_ss);
    assert_resolves(&fed).await;
}

// ---------------------------------------------------------------------------------------
// Case 12: iss/sub not an https Entity Identifier.
// ---------------------------------------------------------------------------------------

/// Variants of `id` that are not Entity Identifiers: plain http, a query, an empty query,
/// a fragment, and no host at all.
fn non_identifiers(id: &str) -> Vec<String> {
    let rest = id.strip_prefix("https://").expect("an https id");
    vec![
        format!("http://{rest}"),
        format!("{id}?v=2"),
        format!("{id}?"),
        format!("{id}#frag"),
        "https://".to_string(),
        "https://:443/rp".to_string(),
        format!("https:///{rest}"),
        format!("https:{rest}"),
        format!("https:\\\\{}", rest.replace('/', "\\")),
        format!("https://@{rest}"),
    ]
}

#[tokio::test]
async fn entity_configuration_with_non_identifier_iss_or_sub_is_rejected() {
    let fed = three_level().build();
    let rp = fed.id("rp").to_string();
    let good = fed.entity_configuration("rp");
    for bad in non_identifiers(&rp) {
        // iss broken, sub right: the EC is refused for its iss, not as "iss != sub".
        fed.republish_ec("rp", |c| {
            c.insert("iss".into(), json!(bad));
        });
        let e = resolve_err(&fed).await;
        assert!(matches!(e, Error::Statement(_)), "{bad}: {e}");
        assert_broken(&e, Rule::Issuer, &bad, &rp, "not an Entity Identifier");
        let token = fed.entity_configuration("rp");
        assert_eq!(parse(&token).unwrap_err().rule, Rule::Issuer, "{bad}");

        // sub broken, iss right: refused for its sub, not as "about another entity".
        fed.republish_ec("rp", |c| {
            c.insert("iss".into(), json!(rp));
            c.insert("sub".into(), json!(bad));
        });
        assert_broken(
            &resolve_err(&fed).await,
            Rule::Subject,
            &rp,
            &bad,
            "not an Entity Identifier",
        );

        // Both broken, consistently (a self-issued EC of the non-identifier).
        fed.republish_ec("rp", |c| {
            c.insert("iss".into(), json!(bad));
        });
        assert_broken(
            &resolve_err(&fed).await,
            Rule::Issuer,
            &bad,
            &bad,
            "not an Entity Identifier",
        );
        let token = fed.entity_configuration("rp");
        assert_eq!(parse(&token).unwrap_err().rule, Rule::Issuer, "{bad}");
        let mut chain = fed.chain(&["rp", "org", "ta"], true);
        chain[0] = token;
        let e = resolver(&fed)
            .validate_chain(&chain, &RP)
            .await
            .unwrap_err();
        assert_broken(&e, Rule::Issuer, &bad, &bad, "not an Entity Identifier");

        fed.publish_raw_ec("rp", &good);
        fed.republish_ec("rp", |c| {
            c.insert("iss".into(), json!(rp));
            c.insert("sub".into(), json!(rp));
        });
    }
    assert_resolves(&fed).await;
}

#[tokio::test]
async fn identifier_lists_with_a_non_identifier_are_rejected() {
    // The same syntax rule for every identifier a statement carries: authority_hints,
    // trust_anchor_hints and the anchor's trust_mark_issuers / trust_mark_owners.
    let fed = three_level().build();
    let (rp, org, ta) = (
        fed.id("rp").to_string(),
        fed.id("org").to_string(),
        fed.id("ta").to_string(),
    );
    let tm = format!("{ta}/tm/certified");
    let ta_jwks = fed.public_jwks("ta");
    for bad in non_identifiers(&org) {
        fed.republish_ec("rp", |c| {
            c.insert("authority_hints".into(), json!([org, bad]));
        });
        assert_broken(
            &resolve_err(&fed).await,
            Rule::AuthorityHints,
            &rp,
            &rp,
            "not an Entity Identifier",
        );
        fed.republish_ec("rp", |c| {
            c.insert("authority_hints".into(), json!([org]));
            c.insert("trust_anchor_hints".into(), json!([bad]));
        });
        assert_broken(
            &resolve_err(&fed).await,
            Rule::TrustAnchorHints,
            &rp,
            &rp,
            "not an Entity Identifier",
        );
        fed.republish_ec("rp", |c| {
            c.remove("trust_anchor_hints");
        });
        fed.republish_ec("ta", |c| {
            c.insert("trust_mark_issuers".into(), json!({ tm.clone(): [bad] }));
        });
        assert_broken(
            &resolve_err(&fed).await,
            Rule::TrustMarkIssuers,
            &ta,
            &ta,
            "",
        );
        fed.republish_ec("ta", |c| {
            c.remove("trust_mark_issuers");
            c.insert(
                "trust_mark_owners".into(),
                json!({ tm.clone(): {"sub": bad, "jwks": ta_jwks} }),
            );
        });
        assert_broken(
            &resolve_err(&fed).await,
            Rule::TrustMarkOwners,
            &ta,
            &ta,
            "",
        );
        fed.republish_ec("ta", |c| {
            c.remove("trust_mark_owners");
        });
    }
    assert_resolves(&fed).await;
}

#[tokio::test]
async fn http_identifiers_are_refused_unless_explicitly_allowed() {
    // The same signed EC of an http entity: refused by default, read when allow_http is on
    // (loopback test federations only). The scheme is what the default rules reject.
    let fed = three_level().build();
    let http = fed.id("rp").to_string().replacen("https://", "http://", 1);
    fed.republish_ec("rp", |c| {
        c.insert("iss".into(), json!(http));
        c.insert("sub".into(), json!(http));
    });
    let token = fed.entity_configuration("rp");
    let e = parse(&token).unwrap_err();
    assert_eq!(e.rule, Rule::Issuer, "{e}");
    assert!(e.detail.contains("scheme"), "{e}");
    let lenient = StatementRules {
        allow_http: true,
        ..StatementRules::default()
    };
    let ok = EntityStatement::parse(&token, &lenient).expect("http allowed for tests");
    assert_eq!(ok.subject().as_str(), http);
}

#[tokio::test]
async fn subordinate_statement_with_non_identifier_iss_or_sub_is_rejected() {
    let fed = three_level().build();
    let (rp, org) = (fed.id("rp").to_string(), fed.id("org").to_string());
    let good = fed.subordinate_statement("org", "rp");
    for bad in non_identifiers(&org) {
        fed.republish_ss("org", "rp", |c| {
            c.insert("iss".into(), json!(bad));
        });
        let e = resolve_err(&fed).await;
        assert!(matches!(e, Error::NoTrustChain { .. }), "{bad}: {e}");
        // Refused for its iss syntax, not as "not from this fetch endpoint".
        assert_broken(&e, Rule::Issuer, &bad, &rp, "not an Entity Identifier");
        fed.publish_raw_ss("org", "rp", &good);
    }
    for bad in non_identifiers(&rp) {
        fed.republish_ss("org", "rp", |c| {
            c.insert("iss".into(), json!(org));
            c.insert("sub".into(), json!(bad));
        });
        let e = resolve_err(&fed).await;
        // Refused for its sub syntax, not as "requested with another sub".
        assert_broken(&e, Rule::Subject, &org, &bad, "not an Entity Identifier");
        let token = fed.subordinate_statement("org", "rp");
        assert_eq!(parse(&token).unwrap_err().rule, Rule::Subject, "{bad}");
        fed.republish_ss("org", "rp", |c| {
            c.insert("sub".into(), json!(rp));
        });
    }
    assert_resolves(&fed).await;
}

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
    let err = resolve_err(&fed).await;
    assert!(matches!(err, Error::Statement(_)), "{err}");
    assert_broken(&err, Rule::Jwks, &rp, &rp, "missing");
    // The subject's keys are also in its superior's statement: still refused.
    let mut chain = fed.chain(&["rp", "org", "ta"], true);
    chain[0] = token;
    let e = resolver(&fed)
        .validate_chain(&chain, &RP)
        .await
        .unwrap_err();
    assert_broken(&e, Rule::Jwks, &rp, &rp, "missing");

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
    let e = resolve_err(&fed).await;
    assert!(matches!(e, Error::NoTrustChain { .. }), "{e}");
    assert_broken(&e, Rule::Jwks, &org, &rp, "missing");
    let mut chain = fed.chain(&["rp", "org", "ta"], true);
    chain[1] = token;
    let e = resolver(&fed)
        .validate_chain(&chain, &RP)
        .await
        .unwrap_err();
    assert_broken(&e, Rule::Jwks, &org, &rp, "missing");

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
// Cases 20 and 21: claim placement.
// ---------------------------------------------------------------------------------------

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
        let (b, _) = builder(&fed, &["ta"]);
        let r = b
            .policy_operator(Arc::new(Regexp::default()))
            .build()
            .unwrap();
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
        let (b, _) = builder(&fed, &["ta"]);
        let r = b
            .policy_operator(Arc::new(Regexp::default()))
            .build()
            .unwrap();
        let e = r.resolve(&fed.id("rp"), &RP).await.unwrap_err();
        assert_broken(&e, Rule::ClaimPlacement, &ta, &ta, claim);

        // The same claim and value where it belongs, org's statement about rp: accepted.
        let fed = three_level()
            .ss_claim("org", "rp", claim, value.clone())
            .build();
        let (b, _) = builder(&fed, &["ta"]);
        let r = b
            .policy_operator(Arc::new(Regexp::default()))
            .build()
            .unwrap();
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
    let (rp, org, ta) = (
        fed.id("rp").to_string(),
        fed.id("org").to_string(),
        fed.id("ta").to_string(),
    );
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
        let mut chain = fed.chain(&["rp", "org", "ta"], true);
        chain[1] = token;
        let e = resolver(&fed)
            .validate_chain(&chain, &RP)
            .await
            .unwrap_err();
        assert_broken(&e, Rule::ClaimPlacement, &org, &rp, claim);
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
// Case 22: authority_hints: [].
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn empty_authority_hints_are_rejected() {
    // In the leaf's EC: refused as malformed, not treated as "no superiors".
    let fed = three_level().build();
    let (rp, org, ta) = (
        fed.id("rp").to_string(),
        fed.id("org").to_string(),
        fed.id("ta").to_string(),
    );
    fed.republish_ec("rp", |c| {
        c.insert("authority_hints".into(), json!([]));
    });
    let e = resolve_err(&fed).await;
    assert!(matches!(e, Error::Statement(_)), "{e}");
    assert_broken(&e, Rule::AuthorityHints, &rp, &rp, "empty");
    let token = fed.entity_configuration("rp");
    assert_eq!(parse(&token).unwrap_err().rule, Rule::AuthorityHints);
    let mut chain = fed.chain(&["rp", "org", "ta"], true);
    chain[0] = token;
    let e = resolver(&fed)
        .validate_chain(&chain, &RP)
        .await
        .unwrap_err();
    assert_broken(&e, Rule::AuthorityHints, &rp, &rp, "empty");

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

// ---------------------------------------------------------------------------------------
// Case 23: aud and trust_anchor outside Explicit Registration.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn aud_in_a_fetched_statement_is_rejected() {
    let fed = three_level().build();
    let (rp, org, ta) = (
        fed.id("rp").to_string(),
        fed.id("org").to_string(),
        fed.id("ta").to_string(),
    );
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
    let (rp, org, ta) = (
        fed.id("rp").to_string(),
        fed.id("org").to_string(),
        fed.id("ta").to_string(),
    );
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

// ---------------------------------------------------------------------------------------
// Case 24: trust_chain / peer_trust_chain headers on an EC or SS.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn chain_headers_on_an_entity_configuration_are_rejected() {
    let fed = three_level().build();
    let rp = fed.id("rp").to_string();
    let good = fed.entity_configuration("rp");
    let claims = claims_of(&good);
    let key = fed.key("rp");
    let chain = fed.chain(&["rp", "org", "ta"], true);
    for header in ["trust_chain", "peer_trust_chain"] {
        let token = sign_with_extra_header(&key, json!({ header: chain }), &claims);
        let e = parse(&token).unwrap_err();
        assert_eq!(e.rule, Rule::TrustChainHeader, "{header}: {e}");
        // The same token is otherwise valid: accepted where the headers are allowed
        // (an Explicit Registration request).
        let allowed = StatementRules {
            allow_chain_headers: true,
            ..StatementRules::default()
        };
        EntityStatement::parse(&token, &allowed).expect("valid apart from the header");

        // Fetched: refused by the default (strict) resolver.
        fed.publish_raw_ec("rp", &token);
        let e = resolve_err(&fed).await;
        assert!(matches!(e, Error::Statement(_)), "{header}: {e}");
        assert_broken(&e, Rule::TrustChainHeader, &rp, &rp, header);

        // Handed over whole as the first element of a chain.
        let mut whole = chain.clone();
        whole[0] = token;
        let e = resolver(&fed)
            .validate_chain(&whole, &RP)
            .await
            .unwrap_err();
        assert_broken(&e, Rule::TrustChainHeader, &rp, &rp, header);
    }
    fed.publish_raw_ec("rp", &good);
    assert_resolves(&fed).await;
}

#[tokio::test]
async fn chain_headers_on_a_subordinate_statement_are_rejected() {
    let fed = three_level().build();
    let (rp, org, ta) = (
        fed.id("rp").to_string(),
        fed.id("org").to_string(),
        fed.id("ta").to_string(),
    );
    let good_org_rp = fed.subordinate_statement("org", "rp");
    let good_ta_org = fed.subordinate_statement("ta", "org");
    let chain = fed.chain(&["rp", "org", "ta"], true);
    for header in ["trust_chain", "peer_trust_chain"] {
        // Even an empty array is a header that must not be there.
        for value in [json!(chain), json!([])] {
            let token = sign_with_extra_header(
                &fed.key("org"),
                json!({ header: value }),
                &claims_of(&good_org_rp),
            );
            assert_eq!(
                parse(&token).unwrap_err().rule,
                Rule::TrustChainHeader,
                "{header}"
            );
            fed.publish_raw_ss("org", "rp", &token);
            let e = resolve_err(&fed).await;
            assert!(matches!(e, Error::NoTrustChain { .. }), "{header}: {e}");
            assert_broken(&e, Rule::TrustChainHeader, &org, &rp, header);
            let mut whole = chain.clone();
            whole[1] = token;
            let e = resolver(&fed)
                .validate_chain(&whole, &RP)
                .await
                .unwrap_err();
            assert_broken(&e, Rule::TrustChainHeader, &org, &rp, header);
            fed.publish_raw_ss("org", "rp", &good_org_rp);
        }
        // The anchor's statement about the intermediate.
        let token = sign_with_extra_header(
            &fed.key("ta"),
            json!({ header: chain }),
            &claims_of(&good_ta_org),
        );
        fed.publish_raw_ss("ta", "org", &token);
        assert_broken(
            &resolve_err(&fed).await,
            Rule::TrustChainHeader,
            &ta,
            &org,
            header,
        );
        fed.publish_raw_ss("ta", "org", &good_ta_org);
    }
    assert_resolves(&fed).await;
}
