//! Unit tests of the subordinate events response checks, one per rule of the draft.
use super::*;
use crate::testing::{KeyAlg, TestKey};
use serde_json::json;

const NOW: i64 = 1_800_000_000;

fn ids() -> (EntityId, EntityId) {
    (
        EntityId::parse("https://org.example").unwrap(),
        EntityId::parse("https://rp.example").unwrap(),
    )
}

fn check(key: &TestKey, jwt: &str) -> Result<SubordinateEvents, SubordinateEventsError> {
    let (issuer, subject) = ids();
    let keys = KeySet::from_json(&key.public_jwks()).unwrap();
    verify(
        jwt,
        &Expect {
            issuer: &issuer,
            subject: &subject,
            keys: &keys,
            now: NOW,
            skew: 60,
            max_len: jose::DEFAULT_MAX_JWS_LEN,
            lenient_typ: false,
            algs: &jose::Alg::ALL,
        },
    )
}

fn signed(key: &TestKey, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut claims = json!({
        "iss": "https://org.example", "sub": "https://rp.example", "iat": NOW,
        "federation_registration_events": [
            {"iat": NOW - 10, "event": "registration"},
            {"iat": NOW - 5, "event": "revocation", "event_description": "compromised"},
            {"iat": NOW - 1, "event": "x-custom"}
        ]
    });
    if let Some(m) = claims.as_object_mut() {
        edit(m);
    }
    key.sign_jwt(SUBORDINATE_EVENTS_TYP, &claims)
}

type Edit = Box<dyn FnOnce(&mut serde_json::Map<String, Value>)>;

fn rule(r: Result<SubordinateEvents, SubordinateEventsError>) -> Option<EventsRule> {
    r.err().and_then(|e| e.rule())
}

#[test]
fn a_valid_history_is_read() {
    let key = TestKey::generate(KeyAlg::ES256);
    let ev = check(&key, &signed(&key, |_| {})).unwrap();
    let kinds: Vec<_> = ev.events.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds,
        vec![
            SubordinateEventKind::Registration,
            SubordinateEventKind::Revocation,
            SubordinateEventKind::Other("x-custom".into())
        ]
    );
    assert_eq!(ev.events[1].description.as_deref(), Some("compromised"));
    assert_eq!(ev.exp, None);
}

#[test]
fn each_rule_is_enforced_by_name() {
    let key = TestKey::generate(KeyAlg::ES256);
    let other = TestKey::generate(KeyAlg::ES256);
    assert_eq!(rule(check(&key, "not a jws")), Some(EventsRule::JwsSyntax));
    // Signed by another key: its kid is unknown to the issuer's keys.
    assert_eq!(
        rule(check(&key, &signed(&other, |_| {}))),
        Some(EventsRule::Signature)
    );
    let wrong_typ = key.sign_jwt(
        "entity-statement+jwt",
        &json!({"iss": "https://org.example"}),
    );
    assert_eq!(rule(check(&key, &wrong_typ)), Some(EventsRule::Header));
    let cases: Vec<(EventsRule, Edit)> = vec![
        (
            EventsRule::Issuer,
            Box::new(|m| {
                m.insert("iss".into(), json!("https://evil.example"));
            }),
        ),
        (
            EventsRule::Subject,
            Box::new(|m| {
                m.insert("sub".into(), json!("https://other.example"));
            }),
        ),
        (
            EventsRule::IssuedAt,
            Box::new(|m| {
                m.remove("iat");
            }),
        ),
        (
            EventsRule::IssuedAt,
            Box::new(|m| {
                m.insert("iat".into(), json!(NOW + 3600));
            }),
        ),
        (
            EventsRule::Expiry,
            Box::new(|m| {
                m.insert("exp".into(), json!(NOW - 3600));
            }),
        ),
        (
            EventsRule::Events,
            Box::new(|m| {
                m.remove("federation_registration_events");
            }),
        ),
        (
            EventsRule::Events,
            Box::new(|m| {
                m.insert(
                    "federation_registration_events".into(),
                    json!([{"event": "revocation"}]),
                );
            }),
        ),
        (
            EventsRule::Events,
            Box::new(|m| {
                let many: Vec<Value> = (0..=MAX_EVENTS)
                    .map(|i| json!({"iat": i, "event": "jwks_update"}))
                    .collect();
                m.insert("federation_registration_events".into(), Value::Array(many));
            }),
        ),
    ];
    for (want, edit) in cases {
        assert_eq!(rule(check(&key, &signed(&key, edit))), Some(want));
    }
}

#[test]
fn descriptions_are_bounded() {
    let key = TestKey::generate(KeyAlg::ES256);
    let long = "x".repeat(10 * MAX_DESCRIPTION_CHARS);
    let jwt = signed(&key, |m| {
        m.insert(
            "federation_registration_events".into(),
            json!([{"iat": 1, "event": "suspension", "event_description": long}]),
        );
    });
    let ev = check(&key, &jwt).unwrap();
    assert_eq!(
        ev.events[0].description.as_ref().map(|d| d.chars().count()),
        Some(MAX_DESCRIPTION_CHARS)
    );
}
