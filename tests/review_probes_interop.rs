//! Probe: constraints the Trust Anchor put in its configuration (interop profile) must bind
//! a chain handed over whole as they bind a discovered one.

mod common;
mod interop_common;

use common::*;
use interop_common::*;
use oidfed::EntityType;
use serde_json::json;

#[tokio::test]
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
    assert!(
        r.is_err(),
        "the anchor's max_path_length 0 was escaped by leaving its configuration out"
    );
}
