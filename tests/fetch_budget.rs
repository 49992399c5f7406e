//! One fetch budget per resolution: the client's `jwks_uri` key fetch, which follows the
//! discovery, counts against the same `max_fetches` as the walk's statement fetches.

mod common;

use common::*;
use oidfed::fetch::FetchResponse;
use oidfed::testing::Federation;
use oidfed::{EntityType, Error, Limit};
use serde_json::json;

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;
const JWKS_URI: &str = "https://fed.example/rp/jwks.json";

/// ta ← org ← rp, whose protocol keys are published at [`JWKS_URI`].
fn federation() -> Federation {
    let fed = three_level()
        .metadata("rp", "openid_relying_party", json!({"jwks_uri": JWKS_URI}))
        .build();
    let keys = fed.public_jwks("rp").to_string();
    fed.fetcher().insert(
        JWKS_URI,
        FetchResponse::ok("application/jwk-set+json", keys),
    );
    fed
}

/// The statement fetches a fresh resolver's discovery of rp makes.
async fn discovery_fetches(fed: &Federation) -> usize {
    fed.fetcher().reset_counts();
    resolver(fed).resolve(&fed.id("rp"), &RP).await.unwrap();
    let n = fed.fetcher().total_fetches();
    fed.fetcher().reset_counts();
    n
}

/// A budget the discovery fits in exactly: resolving succeeds, but the client record, which
/// needs one more fetch (the `jwks_uri`), is refused with the fetch limit before fetching.
/// One more fetch of budget and the record is built.
#[tokio::test]
async fn a_jwks_uri_fetch_beyond_max_fetches_is_refused() {
    let fed = federation();
    let n = discovery_fetches(&fed).await;
    assert!(n > 0);

    let exact = builder(&fed, &["ta"]).0.max_fetches(n).build().unwrap();
    exact
        .resolve(&fed.id("rp"), &RP)
        .await
        .expect("the discovery alone fits in the budget");
    fed.fetcher().reset_counts();
    let e = exact.record(&fed.id("rp"), &RP).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::Fetches,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        fed.fetcher().fetches_of(JWKS_URI),
        0,
        "refused before fetching"
    );

    let roomy = builder(&fed, &["ta"]).0.max_fetches(n + 1).build().unwrap();
    let record = roomy.record(&fed.id("rp"), &RP).await.unwrap();
    assert_eq!(record.keys, fed.public_jwks("rp"));
    assert_eq!(fed.fetcher().fetches_of(JWKS_URI), 1);
}
