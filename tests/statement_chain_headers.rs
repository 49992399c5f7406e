//! `trust_chain` and `peer_trust_chain` JWS headers are refused on Entity Configurations
//! and Subordinate Statements.

mod common;
#[path = "common/statement_rules.rs"]
mod rules_support;

use common::*;
use oidfed::statement::{EntityStatement, StatementRules};
use oidfed::{Error, Rule};
use rules_support::*;
use serde_json::json;

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
        let e = assert_refused_both_ways(&fed, Rule::TrustChainHeader, &rp, &rp, header).await;
        assert!(matches!(e, Error::Statement(_)), "{header}: {e}");
    }
    fed.publish_raw_ec("rp", &good);
    assert_resolves(&fed).await;
}

#[tokio::test]
async fn chain_headers_on_a_subordinate_statement_are_rejected() {
    let fed = three_level().build();
    let (rp, org, ta) = ids(&fed);
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
            let e = assert_refused_both_ways(&fed, Rule::TrustChainHeader, &org, &rp, header).await;
            assert!(matches!(e, Error::NoTrustChain { .. }), "{header}: {e}");
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
