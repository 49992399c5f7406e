//! Client records, organization binding, caching and re-resolution (issue 5).

mod common;

use std::sync::Arc;

use common::*;
use oidfed::testing::{FederationBuilder, KeyAlg, TestKey};
use oidfed::{
    BindingEvidence, Change, ClientRecord, EntityType, Error, KeySource, OrganizationRule,
    ReresolveOptions,
};
use serde_json::json;

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;

fn protocol_jwks(key: &TestKey) -> serde_json::Value {
    json!({"keys": [key.public_jwk()]})
}

#[tokio::test]
async fn binding_by_immediate_superior_with_the_organizations_own_name() {
    let fed = three_level()
        .metadata(
            "org",
            "federation_entity",
            json!({"organization_name": "Example Org", "organization_uri": "https://org.example"}),
        )
        .build();
    let rec = resolver(&fed).record(&fed.id("rp"), &RP).await.unwrap();
    let org = rec.organization.as_ref().unwrap();
    assert_eq!(org.entity_id, fed.id("org"));
    assert_eq!(org.name.as_deref(), Some("Example Org"));
    assert_eq!(org.uri.as_deref(), Some("https://org.example"));
    assert_eq!(org.authority_path, vec![fed.id("org"), fed.id("ta")]);
    assert_eq!(org.evidence, BindingEvidence::ChainOnly);
}

#[tokio::test]
async fn binding_by_depth_below_anchor_and_by_function() {
    let fed = FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("org", &["ta"])
        .intermediate("team", &["org"])
        .leaf("app", &["team"])
        .metadata("app", "openid_relying_party", json!({}))
        .build();
    let (b, _) = builder(&fed, &["ta"]);
    let r = b
        .organization_rule(OrganizationRule::DepthBelowAnchor(1))
        .build()
        .unwrap();
    let rec = r.record(&fed.id("app"), &RP).await.unwrap();
    assert_eq!(rec.organization.as_ref().unwrap().entity_id, fed.id("org"));
    let (b, _) = builder(&fed, &["ta"]);
    let r = b.build().unwrap();
    let rec = r.record(&fed.id("app"), &RP).await.unwrap();
    assert_eq!(rec.organization.as_ref().unwrap().entity_id, fed.id("team"));
    let team = fed.id("team");
    let (b, _) = builder(&fed, &["ta"]);
    let r = b
        .organization_rule(OrganizationRule::Custom(Arc::new(move |_| {
            Some(team.clone())
        })))
        .build()
        .unwrap();
    let rec = r.record(&fed.id("app"), &RP).await.unwrap();
    assert_eq!(rec.organization.as_ref().unwrap().entity_id, fed.id("team"));
    // A depth beyond the chain finds nobody.
    let (b, _) = builder(&fed, &["ta"]);
    let r = b
        .organization_rule(OrganizationRule::DepthBelowAnchor(9))
        .build()
        .unwrap();
    assert!(
        r.record(&fed.id("app"), &RP)
            .await
            .unwrap()
            .organization
            .is_none()
    );
}

#[tokio::test]
async fn strict_mode_refuses_self_declared_and_accepts_asserted() {
    let self_declared = three_level()
        .metadata(
            "rp",
            "openid_relying_party",
            json!({"organization_name": "Trust me"}),
        )
        .build();
    let (b, _) = builder(&self_declared, &["ta"]);
    let strict = b.require_asserted_organization(true).build().unwrap();
    let e = strict
        .record(&self_declared.id("rp"), &RP)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::OrganizationNotBound { .. }), "{e}");
    assert_eq!(e.spec_code(), "invalid_client");
    // Lenient mode records it, marked self-declared.
    let rec = resolver(&self_declared)
        .record(&self_declared.id("rp"), &RP)
        .await
        .unwrap();
    assert_eq!(
        rec.organization.clone().unwrap().evidence,
        BindingEvidence::SelfDeclared
    );

    // The superior fixes the name with a value policy.
    let by_policy = three_level()
        .metadata_policy(
            "org",
            "rp",
            json!({"openid_relying_party": {"organization_name": {"value": "Example Org"}}}),
        )
        .build();
    let (b, _) = builder(&by_policy, &["ta"]);
    let rec = b
        .require_asserted_organization(true)
        .build()
        .unwrap()
        .record(&by_policy.id("rp"), &RP)
        .await
        .unwrap();
    let org = rec.organization.clone().unwrap();
    assert_eq!(
        org.evidence,
        BindingEvidence::SuperiorPolicy {
            by: by_policy.id("org")
        }
    );
    assert_eq!(org.name.as_deref(), Some("Example Org"));

    // The superior sets it in its metadata about the client.
    let by_metadata = three_level()
        .subordinate_metadata(
            "org",
            "rp",
            "openid_relying_party",
            json!({"organization_name": "Example Org"}),
        )
        .build();
    let (b, _) = builder(&by_metadata, &["ta"]);
    let rec = b
        .require_asserted_organization(true)
        .build()
        .unwrap()
        .record(&by_metadata.id("rp"), &RP)
        .await
        .unwrap();
    assert_eq!(
        rec.organization.clone().unwrap().evidence,
        BindingEvidence::SuperiorMetadata {
            by: by_metadata.id("org")
        }
    );
}

#[tokio::test]
async fn moving_under_another_organization_is_reported() {
    let fed = three_level().intermediate("org2", &["ta"]).build();
    let r = resolver(&fed);
    let old = r.record(&fed.id("rp"), &RP).await.unwrap();
    fed.move_under("rp", "org", "org2");
    // Cached statements are still valid: nothing changes until they are refreshed.
    let same = r.reresolve(&old).await.unwrap();
    assert!(same.changes.is_empty(), "{:?}", same.changes);
    let moved = r
        .reresolve_with(&old, &ReresolveOptions::force())
        .await
        .unwrap();
    assert!(
        moved.changes.contains(&Change::OrganizationChanged {
            from: Some(fed.id("org")),
            to: Some(fed.id("org2")),
        }),
        "{:?}",
        moved.changes
    );
    assert!(
        moved
            .changes
            .iter()
            .any(|c| matches!(c, Change::ChainPathChanged { .. }))
    );
    assert_eq!(
        moved.record.path,
        vec![fed.id("rp"), fed.id("org2"), fed.id("ta")]
    );
}

#[tokio::test]
async fn superior_removing_its_statement_is_permanent_trust_loss() {
    let fed = three_level().build();
    let r = resolver(&fed);
    let old = r.record(&fed.id("rp"), &RP).await.unwrap();
    fed.remove_ss("org", "rp");
    let e = r
        .reresolve_with(&old, &ReresolveOptions::force())
        .await
        .unwrap_err();
    assert!(!e.is_transient(), "{e}");
    // The record cache no longer serves it either.
    r.clear_caches();
    assert!(r.record(&fed.id("rp"), &RP).await.is_err());
}

#[tokio::test]
async fn unavailable_superior_keeps_the_old_record_until_it_expires() {
    let fed = three_level().lifetime(3600).build();
    let (b, clock) = builder(&fed, &["ta"]);
    let r = b.build().unwrap();
    let old = r.record(&fed.id("rp"), &RP).await.unwrap();
    fed.set_unavailable("org", 503);
    clock.advance(100);
    let kept = r
        .reresolve_with(&old, &ReresolveOptions::force())
        .await
        .unwrap();
    let stale = kept.stale.expect("kept as stale");
    assert!(stale.error.is_transient());
    assert!(stale.retry_at > NOW + 100 && stale.retry_at <= old.expires_at);
    assert_eq!(*kept.record, *old);
    // Past its expiry the old record cannot be kept: the failure surfaces, still transient.
    clock.set(old.expires_at.as_secs());
    let e = r
        .reresolve_with(&old, &ReresolveOptions::force())
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e}");
}

#[tokio::test]
async fn key_rotation_is_reported_with_the_new_keys() {
    let k1 = TestKey::generate(KeyAlg::ES256);
    let k2 = TestKey::generate(KeyAlg::ES256);
    let fed = three_level()
        .metadata(
            "rp",
            "openid_relying_party",
            json!({"jwks": protocol_jwks(&k1)}),
        )
        .build();
    let r = resolver(&fed);
    let old = r.record(&fed.id("rp"), &RP).await.unwrap();
    assert_eq!(old.key_source, KeySource::Jwks);
    assert_eq!(
        old.key_ids().into_iter().collect::<Vec<_>>(),
        vec![k1.kid()]
    );
    fed.republish_ec("rp", |c| {
        c["metadata"]["openid_relying_party"]["jwks"] = protocol_jwks(&k2);
    });
    let new = r
        .reresolve_with(&old, &ReresolveOptions::force())
        .await
        .unwrap();
    assert!(
        new.changes.contains(&Change::KeysRotated {
            added: vec![k2.kid()],
            removed: vec![k1.kid()]
        }),
        "{:?}",
        new.changes
    );
    assert!(new.changes.contains(&Change::MetadataChanged {
        parameters: vec!["jwks".into()]
    }));
    assert_eq!(
        new.record.key_ids().into_iter().collect::<Vec<_>>(),
        vec![k2.kid()]
    );
    // Federation key rotation is reported separately.
    let before = new.record.clone();
    fed.rotate_key("rp");
    let rotated = r
        .reresolve_with(&before, &ReresolveOptions::force())
        .await
        .unwrap();
    assert!(
        rotated
            .changes
            .iter()
            .any(|c| matches!(c, Change::FederationKeysRotated { .. })),
        "{:?}",
        rotated.changes
    );
}

#[tokio::test]
async fn record_cache_expires_exactly_at_exp() {
    let fed = three_level().lifetime(1000).build();
    let f = fed.fetcher();
    let (b, clock) = builder(&fed, &["ta"]);
    let r = b.build().unwrap();
    let rec = r.record(&fed.id("rp"), &RP).await.unwrap();
    assert_eq!(rec.expires_at, NOW + 1000);
    let fetched = f.total_fetches();
    clock.set(rec.expires_at - 1);
    let again = r.record(&fed.id("rp"), &RP).await.unwrap();
    assert!(Arc::ptr_eq(&rec, &again), "served from cache before exp");
    assert_eq!(f.total_fetches(), fetched);
    clock.set(rec.expires_at.as_secs());
    let _ = r.record(&fed.id("rp"), &RP).await;
    assert!(
        f.total_fetches() > fetched,
        "nothing is served at or after exp"
    );
}

#[tokio::test]
async fn reresolution_from_cache_costs_no_fetch() {
    let fed = three_level().build();
    let f = fed.fetcher();
    let r = resolver(&fed);
    let rec = r.record(&fed.id("rp"), &RP).await.unwrap();
    let fetched = f.total_fetches();
    let again = r.reresolve(&rec).await.unwrap();
    assert!(again.changes.is_empty());
    assert_eq!(f.total_fetches(), fetched);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_resolutions_share_one_fetch_per_statement() {
    let fed = three_level().build();
    let f = fed.fetcher();
    let r = resolver(&fed);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let r = r.clone();
        let id = fed.id("rp");
        tasks.spawn(async move {
            r.record(&id, &RP)
                .await
                .map(|rec| rec.chain_fingerprint.clone())
        });
    }
    let mut prints = std::collections::HashSet::new();
    while let Some(res) = tasks.join_next().await {
        prints.insert(res.unwrap().unwrap());
    }
    assert_eq!(prints.len(), 1);
    assert_eq!(f.max_fetches_per_url(), 1, "one fetch per statement");
    assert_eq!(
        f.total_fetches(),
        5,
        "3 configurations + 2 subordinate statements"
    );
}

#[tokio::test]
async fn concurrent_resolutions_of_siblings_share_their_superiors() {
    let fed = three_level()
        .leaf("rp2", &["org"])
        .metadata("rp2", "openid_relying_party", json!({}))
        .build();
    let f = fed.fetcher();
    let r = resolver(&fed);
    let (rp, rp2) = (fed.id("rp"), fed.id("rp2"));
    let t = RP;
    let (a, b) = tokio::join!(r.resolve(&rp, &t), r.resolve(&rp2, &t));
    a.unwrap();
    b.unwrap();
    assert_eq!(
        f.max_fetches_per_url(),
        1,
        "org's and ta's statements fetched once"
    );
}

#[tokio::test]
async fn record_round_trips_through_json() {
    let k = TestKey::generate(KeyAlg::RS256);
    let fed = three_level()
        .metadata(
            "rp",
            "openid_relying_party",
            json!({"jwks": protocol_jwks(&k)}),
        )
        .metadata_policy(
            "org",
            "rp",
            json!({"openid_relying_party": {"organization_name": {"value": "Org"}}}),
        )
        .build();
    let rec = resolver(&fed).record(&fed.id("rp"), &RP).await.unwrap();
    let text = serde_json::to_string(&*rec).unwrap();
    let back: ClientRecord = serde_json::from_str(&text).unwrap();
    assert_eq!(back, *rec);
    assert_eq!(serde_json::to_string(&back).unwrap(), text, "stable JSON");
}

/// One event: target, level and fields as text.
type Seen = (
    String,
    tracing::Level,
    std::collections::BTreeMap<String, String>,
);

/// Every event of this test binary, with the thread that emitted it: a global subscriber
/// (scoped ones miss events when other tests run at once), read per test thread.
static EVENTS: std::sync::Mutex<Vec<(std::thread::ThreadId, Seen)>> =
    std::sync::Mutex::new(Vec::new());

struct Capture;

struct Fields<'a>(&'a mut std::collections::BTreeMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = std::collections::BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let m = event.metadata();
        EVENTS.lock().unwrap().push((
            std::thread::current().id(),
            (m.target().to_string(), *m.level(), fields),
        ));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn audit_events_are_on_one_target_with_the_real_changes() {
    // Set once for the binary; only this test reads it.
    let _ = tracing::subscriber::set_global_default(Capture);
    let me = std::thread::current().id();
    let take = || {
        let mut all = EVENTS.lock().unwrap();
        let (mine, others): (Vec<_>, Vec<_>) = all.drain(..).partition(|(t, _)| *t == me);
        *all = others;
        mine.into_iter().map(|(_, e)| e).collect::<Vec<Seen>>()
    };
    let audit = |events: &[Seen], action: &str| {
        events
            .iter()
            .filter(|(t, _, f)| {
                t == "oidfed::audit" && f.get("action").map(String::as_str) == Some(action)
            })
            .map(|(_, l, f)| (*l, f.clone()))
            .collect::<Vec<_>>()
    };
    let fed = three_level().statement_exp("org", "rp", NOW + 900).build();
    let (b, clock) = builder(&fed, &["ta"]);
    let r = b.build().unwrap();

    // resolve() is audited on the same target as records.
    r.resolve(&fed.id("rp"), &RP).await.unwrap();
    let events = take();
    assert_eq!(audit(&events, "resolve").len(), 1, "{events:?}");
    assert!(
        events.iter().all(|(t, ..)| t != "oidfed::resolve"),
        "{events:?}"
    );

    // A first record: one INFO event, no previous record, so no changes.
    r.record(&fed.id("rp"), &RP).await.unwrap();
    let events = take();
    let rec = audit(&events, "record");
    assert_eq!(rec.len(), 1, "{events:?}");
    assert_eq!(rec[0].0, tracing::Level::INFO);
    assert_eq!(rec[0].1["changes"], "[]");

    // From the record cache: a DEBUG event saying so.
    r.record(&fed.id("rp"), &RP).await.unwrap();
    let events = take();
    let rec = audit(&events, "record");
    assert_eq!(rec.len(), 1, "{events:?}");
    assert_eq!(rec[0].0, tracing::Level::DEBUG);
    assert_eq!(rec[0].1["cached"], "true");

    // The record expires; the superior now overrides the client's name. The new record's
    // event names what changed since the expired one.
    clock.set(NOW + 1000);
    fed.republish_ss("org", "rp", |c| {
        c.insert("iat".into(), json!(NOW + 990));
        c.insert("exp".into(), json!(NOW + 5000));
        c.insert(
            "metadata".into(),
            json!({"openid_relying_party": {"client_name": "Renamed"}}),
        );
    });
    let new = r.record(&fed.id("rp"), &RP).await.unwrap();
    assert_eq!(new.metadata["client_name"], "Renamed");
    let events = take();
    let rec = audit(&events, "record");
    assert_eq!(rec.len(), 1, "{events:?}");
    assert_eq!(rec[0].0, tracing::Level::INFO);
    assert!(
        rec[0].1["changes"].contains("MetadataChanged"),
        "{:?}",
        rec[0].1
    );
}

/// A record's times are `NumericDate`s that serialize as bare integers: a record stored
/// before the type existed reads back equal, and writes the same JSON.
#[tokio::test]
async fn record_times_are_numeric_dates_stored_as_integers() {
    let fed = three_level().build();
    let rec = resolver(&fed).record(&fed.id("rp"), &RP).await.unwrap();
    let json = serde_json::to_value(&*rec).unwrap();
    assert_eq!(json["expires_at"], json!(rec.expires_at.as_secs()));
    assert_eq!(json["resolved_at"], json!(NOW));
    let back: oidfed::ClientRecord = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back.expires_at, rec.expires_at);
    assert_eq!(serde_json::to_value(&back).unwrap(), json);
    assert!(rec.resolved_at < rec.expires_at);
    assert_eq!(
        rec.expires_at - rec.resolved_at,
        rec.expires_at.as_secs() - NOW
    );
}
