//! A refresh (a forced re-resolution, a sweep, a monitor pass) that fetches exactly the
//! bytes it already holds keeps the statements it parsed from them, and the resolution and
//! record built on them: nothing is parsed, validated or built again. Changed bytes are
//! parsed, verified and resolved anew. And the chain fingerprint is the SHA-256 of the
//! statements' SHA-256 digests.

mod common;

use std::sync::Arc;

use common::*;
use oidfed::record::Change;
use oidfed::resolver::{ReresolveOptions, SweepMemo};
use oidfed::{EntityType, Error};
use serde_json::json;

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;

#[tokio::test]
async fn a_forced_refresh_of_unchanged_bytes_fetches_everything_and_keeps_the_record() {
    let fed = three_level().build();
    let r = resolver(&fed);
    let rp = fed.id("rp");
    let old = r.record(&rp, &RP).await.unwrap();
    let fetcher = fed.fetcher();
    fetcher.reset_counts();
    let checks = r.signature_checks();
    let again = r
        .reresolve_with(&old, &ReresolveOptions::force())
        .await
        .unwrap();
    // Every statement was fetched anew (leaf EC, org EC, org → rp, ta EC, ta → org) ...
    assert_eq!(fetcher.total_fetches(), 5);
    // ... and, being the same bytes, gave back the record built before, unchanged.
    assert!(Arc::ptr_eq(&again.record, &old), "the record built before");
    assert!(again.changes.is_empty());
    assert_eq!(r.signature_checks(), checks);
}

#[tokio::test]
async fn a_sweep_of_unchanged_bytes_gives_back_the_same_record() {
    let fed = three_level().build();
    let r = resolver(&fed);
    let rp = fed.id("rp");
    let old = r.record(&rp, &RP).await.unwrap();
    let fetcher = fed.fetcher();
    fetcher.reset_counts();
    let swept = r.resolve_fresh(&rp, &RP, &SweepMemo::new()).await.unwrap();
    assert_eq!(fetcher.total_fetches(), 5);
    assert!(Arc::ptr_eq(&swept, &old), "the record built before");
    // And the record cache still answers with it.
    assert!(Arc::ptr_eq(&r.record(&rp, &RP).await.unwrap(), &old));
}

#[tokio::test]
async fn a_sweep_after_a_change_resolves_anew() {
    let fed = three_level().build();
    let r = resolver(&fed);
    let rp = fed.id("rp");
    let old = r.record(&rp, &RP).await.unwrap();
    // The superior's statement about the leaf changes; the cached copy is not forgotten:
    // only the refresh sees the new bytes.
    fed.republish_ss("org", "rp", |c| {
        c.insert(
            "metadata".into(),
            json!({"openid_relying_party": {"client_name": "RP, renamed by org"}}),
        );
    });
    let checks = r.signature_checks();
    let swept = r.resolve_fresh(&rp, &RP, &SweepMemo::new()).await.unwrap();
    assert!(!Arc::ptr_eq(&swept, &old));
    assert_eq!(swept.metadata["client_name"], "RP, renamed by org");
    // Only the changed statement was verified again.
    assert_eq!(r.signature_checks(), checks + 1);
    let changes = oidfed::record::diff(&old, &swept);
    assert!(
        changes
            .iter()
            .any(|c| matches!(c, Change::MetadataChanged { .. })),
        "{changes:?}"
    );
}

#[tokio::test]
async fn a_forced_refresh_sees_a_statement_removed_upstream() {
    let fed = three_level().build();
    let r = resolver(&fed);
    let rp = fed.id("rp");
    let old = r.record(&rp, &RP).await.unwrap();
    // The leaf's configuration now fails to parse: kept bytes must not hide it.
    fed.republish_ec("rp", |c| {
        c.remove("jwks");
    });
    let err = r
        .reresolve_with(&old, &ReresolveOptions::force())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Statement(_) | Error::NoTrustChain { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_chain_fingerprint_is_the_sha256_of_the_statement_digests() {
    let fed = three_level().build();
    let r = resolver(&fed);
    let record = r.record(&fed.id("rp"), &RP).await.unwrap();
    let mut digests = Vec::new();
    for jwt in &record.trust_chain {
        digests.extend_from_slice(&openssl::sha::sha256(jwt.as_bytes()));
    }
    let expected = oidfed::jose::b64url(&openssl::sha::sha256(&digests));
    assert_eq!(record.chain_fingerprint, expected);
}
