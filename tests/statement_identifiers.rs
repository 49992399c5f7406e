//! Entity Identifier syntax of `iss`, `sub` and identifier lists: https, a host, no query
//! and no fragment; plain http only when explicitly allowed.

mod common;
#[path = "common/statement_rules.rs"]
mod rules_support;

use common::*;
use oidfed::statement::{EntityStatement, StatementRules};
use oidfed::{Error, Rule};
use rules_support::*;
use serde_json::json;

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
        assert_broken(
            &received_err(&fed).await,
            Rule::Issuer,
            &bad,
            &bad,
            "not an Entity Identifier",
        );

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
    let (rp, org, ta) = ids(&fed);
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
