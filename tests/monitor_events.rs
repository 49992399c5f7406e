//! Subordinate events (OpenID Federation Subordinate Events Endpoint 1.0, draft 00): a
//! superior's announcement makes the monitor re-validate at once, as a hint only; a
//! response breaking the draft's rules is refused with the rule named.
#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod registry_common;

use std::time::Duration;

use oidfed::fetch::FetchResponse;
use oidfed::registry::events::MonitorEvent;
use oidfed::registry::monitor::MonitorError;
use oidfed::registry::subordinate_events::{EventsRule, SubordinateEventKind};
use oidfed::registry::{Registry, StatusKind};
use oidfed::testing::{Federation, FederationBuilder};
use oidfed::{EntityType, FixedClock, Resolver};
use registry_common::on_both;
use serde_json::{Value, json};

const NOW: i64 = 1_800_000_000;
const RP: EntityType = EntityType::OPENID_RELYING_PARTY;

fn federation() -> Federation {
    FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("org", &["ta"])
        .metadata(
            "org",
            "federation_entity",
            json!({"federation_subordinate_events_endpoint": "${id}/events"}),
        )
        .leaf("rp", &["org"])
        .metadata("rp", RP.as_str(), json!({"client_name": "RP"}))
        .build()
}

fn events_url(fed: &Federation) -> String {
    let mut u = url::Url::parse(&format!("{}/events", fed.id("org"))).unwrap();
    u.query_pairs_mut()
        .append_pair("sub", fed.id("rp").as_str());
    u.to_string()
}

fn publish_events(fed: &Federation, signer: &str, typ: &str, events: Value) {
    let jwt = fed.key(signer).sign_jwt(
        typ,
        &json!({
            "iss": fed.id("org").as_str(),
            "sub": fed.id("rp").as_str(),
            "iat": NOW + 100,
            "federation_registration_events": events,
        }),
    );
    fed.fetcher().insert(
        &events_url(fed),
        FetchResponse::ok("application/entity-events-statement+jwt", jwt.into_bytes()),
    );
}

fn drain_failures(rx: &mut tokio::sync::broadcast::Receiver<MonitorEvent>) -> Vec<MonitorError> {
    let mut out = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let MonitorEvent::Failed(e) = ev {
            out.push((*e).clone());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announced_revocation_is_acted_on_at_once_and_only_as_a_hint() {
    on_both(|db| async move {
        let fed = federation();
        let clock = FixedClock::new(NOW);
        let r = Resolver::builder()
            .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
            .fetcher(fed.fetcher())
            .clock(clock.clone())
            .build()
            .unwrap();
        let registry = Registry::open(&db.url).await.unwrap();
        registry.admit(&r, &fed.id("rp"), &RP).await.unwrap();
        // An hour of staleness: by the schedule nothing is due for the whole test.
        let m = registry
            .monitor(&r)
            .max_staleness(Duration::from_secs(3600))
            .subordinate_events(Some(Duration::ZERO))
            .build();
        let mut rx = m.subscribe();

        // Old history (before the client was last validated) is not new.
        publish_events(
            &fed,
            "org",
            "entity-events-statement+jwt",
            json!([{"iat": NOW - 5000, "event": "registration"}]),
        );
        clock.set(NOW + 200);
        let report = m.pass().await.unwrap();
        assert_eq!((report.subordinate_events, report.revalidated), (0, 0));

        // A forged announcement (signed by the leaf, not its superior) is refused, by rule.
        publish_events(
            &fed,
            "rp",
            "entity-events-statement+jwt",
            json!([{"iat": NOW + 150, "event": "revocation"}]),
        );
        let report = m.pass().await.unwrap();
        assert_eq!(report.revalidated, 0);
        let failures = drain_failures(&mut rx);
        assert!(
            failures.iter().any(|e| matches!(e,
            MonitorError::SubordinateEvents(se) if se.rule() == Some(EventsRule::Signature))),
            "{failures:?}"
        );
        // A wrong typ too.
        publish_events(
            &fed,
            "org",
            "entity-statement+jwt",
            json!([{"iat": NOW + 150, "event": "revocation"}]),
        );
        m.pass().await.unwrap();
        assert!(drain_failures(&mut rx).iter().any(|e| matches!(e,
            MonitorError::SubordinateEvents(se) if se.rule() == Some(EventsRule::Header))));

        // The superior announces a revocation it has not made (its statement is still
        // served): the client is re-validated at once, and stays active.
        publish_events(
            &fed,
            "org",
            "entity-events-statement+jwt",
            json!([{"iat": NOW + 150, "event": "revocation", "event_description": "announced"}]),
        );
        let report = m.pass().await.unwrap();
        assert_eq!(
            (
                report.subordinate_events,
                report.revalidated,
                report.unchanged
            ),
            (1, 1, 1)
        );
        assert!(
            registry
                .status(&fed.id("rp"))
                .await
                .unwrap()
                .unwrap()
                .is_active()
        );
        let seen = std::iter::from_fn(|| rx.try_recv().ok()).find_map(|e| match e {
            MonitorEvent::SubordinateEvents {
                events, clients, ..
            } => Some((events, clients)),
            _ => None,
        });
        let (events, clients) = seen.expect("a subordinate events event");
        assert_eq!(events[0].kind, SubordinateEventKind::Revocation);
        assert_eq!(events[0].description.as_deref(), Some("announced"));
        assert_eq!(clients, vec![fed.id("rp").to_string()]);
        // The same event is not acted on twice.
        clock.set(NOW + 240);
        assert_eq!(m.pass().await.unwrap().revalidated, 0);

        // Now it revokes for real and says so: revoked in this pass, not in an hour.
        fed.remove_ss("org", "rp");
        publish_events(
            &fed,
            "org",
            "entity-events-statement+jwt",
            json!([
                {"iat": NOW + 150, "event": "revocation", "event_description": "announced"},
                {"iat": NOW + 250, "event": "revocation"}
            ]),
        );
        clock.set(NOW + 300);
        let report = m.pass().await.unwrap();
        assert_eq!((report.subordinate_events, report.revoked), (1, 1));
        let status = registry.status(&fed.id("rp")).await.unwrap().unwrap();
        assert_eq!(status.kind, StatusKind::Revoked);
    })
    .await;
}
