//! Hostile JSON inside correctly signed statements: deep nesting, very large documents,
//! duplicate members and out-of-range or fractional NumericDates are typed errors.

mod common;
#[path = "common/hostile.rs"]
mod hostile_support;

use std::time::Duration;

use common::NOW;
use hostile_support::*;
use oidfed::{Error, Limits, Rule};
use serde_json::json;

// ---------------------------------------------------------------------------------------
// 5–8. Hostile JSON inside correctly signed statements
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn deeply_nested_json_is_a_typed_error_not_a_stack_overflow() {
    let (fed, _server) = serve(evil_federation()).await;
    let evil = Evil::install(&fed);
    let r = resolver(&fed);
    // The baseline: evil's own, well-formed configuration resolves.
    within(r.resolve(&evil.id, &RP)).await.expect("baseline");

    let arrays = format!(r#","x":{}1{}"#, "[".repeat(10_000), "]".repeat(10_000));
    let objects = format!(r#","x":{}1{}"#, r#"{"a":"#.repeat(5_000), "}".repeat(5_000));
    for extra in [&arrays, &objects] {
        r.clear_caches();
        fed.publish_raw_ec("evil", &evil.token("", "", extra));
        let e = resolve_err(&r, &evil.id).await;
        assert_eq!(statement_rule(&e), Rule::JwsSyntax, "{e}");
        assert!(
            e.to_string().contains("nesting") || e.to_string().contains("recursion"),
            "{e}"
        );
    }
    // Deep nesting in the JOSE header.
    let header = format!(
        r#"{{"alg":"ES256","kid":"{}","typ":"entity-statement+jwt","x":{}{}}}"#,
        evil.key.kid,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let token = evil
        .key
        .sign_raw(&header, evil.payload("", "", "").as_bytes());
    fed.publish_raw_ec("evil", &token);
    r.clear_caches();
    let e = resolve_err(&r, &evil.id).await;
    assert_eq!(statement_rule(&e), Rule::JwsSyntax, "{e}");
    // The same in a superior's statement (org → rp): the path fails with the same rule.
    let deep_ss = evil.key.sign_raw(
        &evil.key.header(),
        format!(r#"{{"x":{}{}}}"#, "[".repeat(10_000), "]".repeat(10_000)).as_bytes(),
    );
    let good_ss = fed.subordinate_statement("org", "rp");
    fed.publish_raw_ss("org", "rp", &deep_ss);
    r.clear_caches();
    let e = resolve_err(&r, &fed.id("rp")).await;
    assert!(matches!(e, Error::NoTrustChain { .. }), "{e}");
    assert_eq!(e.rule(), Some(Rule::JwsSyntax), "{e}");
    fed.publish_raw_ss("org", "rp", &good_ss);
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn very_large_json_statement_is_a_typed_error() {
    let (fed, _server) = serve(evil_federation()).await;
    let evil = Evil::install(&fed);
    // The statement cap (16 KiB) is below the HTTP cap (64 KiB): the token is fetched whole,
    // then refused by length before any JSON is parsed.
    let mut limits = Limits::default();
    limits.max_statement_bytes = 16 * 1024;
    let r = resolver_with(&fed, fetcher(Duration::from_secs(2)), |b| b.limits(limits));
    within(r.resolve(&evil.id, &RP)).await.expect("baseline");

    let many: String = (0..3_000).map(|i| format!(r#","m{i}":{i}"#)).collect();
    let token = evil.token("", "", &many);
    assert!(token.len() > 16 * 1024 && token.len() < CAP);
    fed.publish_raw_ec("evil", &token);
    r.clear_caches();
    let e = resolve_err(&r, &evil.id).await;
    assert_eq!(statement_rule(&e), Rule::JwsSyntax, "{e}");
    assert!(e.to_string().contains("16384"), "names the byte limit: {e}");

    // Under every byte cap: thousands of metadata members, the last of which is null. The
    // whole document is read and the broken member found.
    let r = resolver(&fed);
    let members: String = (0..2_500).map(|i| format!(r#""p{i}":{i},"#)).collect();
    let payload = evil.payload("", "", "").replace(
        r#""metadata":{"openid_relying_party":{"client_name":"evil"}}"#,
        &format!(r#""metadata":{{"openid_relying_party":{{{members}"late":null}}}}"#),
    );
    let token = evil.key.sign_raw(&evil.key.header(), payload.as_bytes());
    assert!(token.len() < CAP);
    fed.publish_raw_ec("evil", &token);
    let e = resolve_err(&r, &evil.id).await;
    assert_eq!(statement_rule(&e), Rule::Metadata, "{e}");
    assert!(e.to_string().contains("late"), "{e}");
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn duplicate_json_members_in_a_statement_are_rejected() {
    let (fed, _server) = serve(evil_federation()).await;
    let evil = Evil::install(&fed);
    let r = resolver(&fed);
    within(r.resolve(&evil.id, &RP)).await.expect("baseline");

    // A second `sub`, `jwks` or `authority_hints` would smuggle a value past a check that
    // read the first; a duplicate deep inside metadata is just as malformed.
    let other = fed.id("org");
    let dup_sub = format!(r#","sub":"{other}""#);
    let dup_hints = r#","authority_hints":["http://127.0.0.1:9/x"]"#.to_string();
    let dup_jwks = format!(r#","jwks":{}"#, RawKey::generate(None).jwks());
    let nested = r#","x":{"a":1,"b":{"c":1,"c":2}}"#.to_string();
    for extra in [dup_sub, dup_hints, dup_jwks, nested] {
        fed.publish_raw_ec("evil", &evil.token("", "", &extra));
        r.clear_caches();
        let e = resolve_err(&r, &evil.id).await;
        assert_eq!(statement_rule(&e), Rule::JwsSyntax, "{extra}: {e}");
        assert!(e.to_string().contains("duplicate member"), "{e}");
    }
    // A duplicate `alg` in the header (the second one `none`).
    let header = format!(
        r#"{{"alg":"ES256","kid":"{}","typ":"entity-statement+jwt","alg":"none"}}"#,
        evil.key.kid
    );
    fed.publish_raw_ec(
        "evil",
        &evil
            .key
            .sign_raw(&header, evil.payload("", "", "").as_bytes()),
    );
    r.clear_caches();
    let e = resolve_err(&r, &evil.id).await;
    assert_eq!(statement_rule(&e), Rule::JwsSyntax, "{e}");
    // Two keys sharing a kid in one JWK Set (§3.1.1).
    let twin = {
        let mut k = RawKey::generate(None).jwk;
        k["kid"] = json!(evil.key.kid);
        k
    };
    let claims = json!({
        "iss": evil.id.as_str(), "sub": evil.id.as_str(), "iat": NOW, "exp": NOW + 3600,
        "jwks": {"keys": [evil.key.jwk, twin]}, "authority_hints": [evil.org.as_str()],
        "metadata": {"openid_relying_party": {"client_name": "evil"}},
    });
    fed.publish_raw_ec("evil", &evil.key.sign_value(&claims));
    r.clear_caches();
    let e = resolve_err(&r, &evil.id).await;
    assert_eq!(statement_rule(&e), Rule::Jwks, "{e}");
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn huge_and_fractional_numeric_dates_are_typed_errors() {
    let (fed, _server) = serve(evil_federation()).await;
    let evil = Evil::install(&fed);
    let r = resolver(&fed);
    within(r.resolve(&evil.id, &RP)).await.expect("baseline");

    let two_pow_70 = "1180591620717411303424";
    let cases: [(&str, &str, Rule); 8] = [
        // Not representable as a finite number at all: refused by the JSON parser.
        ("1e400", "", Rule::JwsSyntax),
        ("", "1e400", Rule::JwsSyntax),
        // Beyond u64 / beyond year 9999.
        (two_pow_70, "", Rule::IssuedAt),
        ("", two_pow_70, Rule::Expiry),
        ("-1", "", Rule::IssuedAt),
        ("", "-1e300", Rule::Expiry),
        // Fractional: 1.5 s after the epoch is long expired.
        ("", "1.5", Rule::Expiry),
        // Not a number.
        ("\"1800000000\"", "", Rule::IssuedAt),
    ];
    for (iat, exp, rule) in cases {
        fed.publish_raw_ec("evil", &evil.token(iat, exp, ""));
        r.clear_caches();
        let e = resolve_err(&r, &evil.id).await;
        assert_eq!(statement_rule(&e), rule, "iat={iat:?} exp={exp:?}: {e}");
    }
    // RFC 7519 NumericDates may be fractional: a fractional time inside the validity window
    // is accepted (iat rounded up, exp rounded down).
    fed.publish_raw_ec(
        "evil",
        &evil.token(&format!("{NOW}.5"), &format!("{}.25", NOW + 3600), ""),
    );
    r.clear_caches();
    let ok = within(r.resolve(&evil.id, &RP)).await.expect("fractional");
    assert_eq!(ok.chain().statements()[0].issued_at(), NOW + 1);
    assert_eq!(ok.chain().statements()[0].expires_at(), NOW + 3600);
    assert_usable(&r, &fed).await;
}
