//! The Federation Subordinate Events Endpoint (OpenID Federation Subordinate Events
//! Endpoint 1.0, draft 00, January 2026): a Trust Anchor or Intermediate may publish, as
//! `federation_subordinate_events_endpoint` in its `federation_entity` metadata, the history
//! of its Immediate Subordinates (registration, revocation, suspension, key and metadata
//! updates).
//!
//! The rules of the draft, each checked here by name ([`EventsRule`]):
//! * **Endpoint** (§2.1): `https`, no fragment (`http` only where the resolver allows it).
//! * **Request** (§2.2): `GET` with the query parameter `sub`, the subordinate's Entity
//!   Identifier, appended to any query the endpoint already has.
//! * **Response** (§2.3): HTTP 200, a JWS with `typ` `entity-events-statement+jwt`, signed
//!   with a Federation Entity Key of the issuer; claims `iss` (the superior asked), `sub` (the
//!   subordinate asked about), `iat`, optional `exp`, and `federation_registration_events`,
//!   an array of objects `{iat, event, event_description?}`.
//!
//! The monitor treats what it reads as a hint only: a new event makes it re-validate the
//! clients concerned at once, and trust is decided by that full re-validation, never by the
//! event. Hostile input is bounded: the response size by the fetcher's cap and
//! `max_statement_bytes`, the number of events by [`MAX_EVENTS`], descriptions by
//! [`MAX_DESCRIPTION_CHARS`].

use serde_json::Value;

use crate::entity_id::EntityId;
use crate::fetch::{FetchError, FetchKind, FetchRequest};
use crate::jose::{self, CompactJws, HeaderRules, KeySet};
use crate::json::parse_strict;
use crate::resolver::Resolver;
use crate::statement::EntityStatement;

/// The `federation_entity` metadata parameter naming the endpoint.
pub const SUBORDINATE_EVENTS_ENDPOINT: &str = "federation_subordinate_events_endpoint";
/// The JWS `typ` of a subordinate events response.
pub const SUBORDINATE_EVENTS_TYP: &str = "entity-events-statement+jwt";
/// Most events read from one response; a longer history is refused as hostile.
pub const MAX_EVENTS: usize = 1000;
/// Longest `event_description` kept (longer ones are cut): it is shown, never acted on.
pub const MAX_DESCRIPTION_CHARS: usize = 512;

/// A rule of the Subordinate Events draft a response broke.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # use std::time::Duration;
/// # use serde_json::json;
/// # use oidfed::fetch::FetchResponse;
/// # use oidfed::registry::events::MonitorEvent;
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("org", "federation_entity",
/// #         json!({"federation_subordinate_events_endpoint": "${id}/events"}))
/// #     .metadata("rp", "openid_relying_party", json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let registry = oidfed::registry::Registry::open("sqlite::memory:").await.unwrap();
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// # let now = oidfed::Clock::now(&fed.clock());
/// # fed.clock().advance(200);
/// # // `signer` publishes, at org's events endpoint, a history about rp.
/// # let publish = |signer: &str, events: serde_json::Value| {
/// #     let mut url = url::Url::parse(&format!("{}/events", fed.id("org"))).unwrap();
/// #     url.query_pairs_mut().append_pair("sub", fed.id("rp").as_str());
/// #     let jwt = fed.key(signer).sign_jwt("entity-events-statement+jwt", &json!({
/// #         "iss": fed.id("org").as_str(), "sub": fed.id("rp").as_str(), "iat": now + 100,
/// #         "federation_registration_events": events}));
/// #     fed.fetcher().insert(url.as_str(), FetchResponse::ok("application/entity-events-statement+jwt", jwt));
/// # };
/// let monitor = registry.monitor(&resolver)
///     .max_staleness(Duration::from_secs(3600)) // nothing due by the schedule
///     .subordinate_events(Some(Duration::ZERO))
///     .build();
/// let mut rx = monitor.subscribe();
///
/// use oidfed::registry::monitor::MonitorError;
/// use oidfed::registry::subordinate_events::EventsRule;
/// // A "revocation" signed by the leaf itself, not by its superior: refused, by rule.
/// publish("rp", json!([{"iat": now + 150, "event": "revocation"}]));
/// monitor.pass().await.unwrap();
/// let refused = std::iter::from_fn(|| rx.try_recv().ok()).find_map(|e| match e {
///     MonitorEvent::Failed(e) => match &*e {
///         MonitorError::SubordinateEvents(se) => Some(se.clone()),
///         _ => None,
///     },
///     _ => None,
/// }).unwrap();
///
/// assert_eq!(refused.rule(), Some(EventsRule::Signature));
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventsRule {
    /// §2.1: the endpoint must be an https URL without fragment.
    Endpoint,
    /// §2.3.1: the body must be a compact JWS within the size limit.
    JwsSyntax,
    /// §2.3.1: `typ` must be `entity-events-statement+jwt`, `alg` allowed, `kid` present.
    Header,
    /// §2.3.1: signed with a Federation Entity Key of the issuer.
    Signature,
    /// §2.3.2: `iss` must be the superior asked.
    Issuer,
    /// §2.3.2: `sub` must be the subordinate asked about.
    Subject,
    /// §2.3.2: `iat` required, a number, not in the future beyond the leeway.
    IssuedAt,
    /// §2.3.2: a present `exp` must be a number not yet passed.
    Expiry,
    /// §2.3.2: `federation_registration_events` required, an array of event objects.
    Events,
}

/// Why a subordinate events response could not be used. Either way the monitor falls back
/// to its schedule: nothing is trusted or distrusted because of this error.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # use std::time::Duration;
/// # use serde_json::json;
/// # use oidfed::fetch::FetchResponse;
/// # use oidfed::registry::events::MonitorEvent;
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("org", "federation_entity",
/// #         json!({"federation_subordinate_events_endpoint": "${id}/events"}))
/// #     .metadata("rp", "openid_relying_party", json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let registry = oidfed::registry::Registry::open("sqlite::memory:").await.unwrap();
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// # let now = oidfed::Clock::now(&fed.clock());
/// # fed.clock().advance(200);
/// # // `signer` publishes, at org's events endpoint, a history about rp.
/// # let publish = |signer: &str, events: serde_json::Value| {
/// #     let mut url = url::Url::parse(&format!("{}/events", fed.id("org"))).unwrap();
/// #     url.query_pairs_mut().append_pair("sub", fed.id("rp").as_str());
/// #     let jwt = fed.key(signer).sign_jwt("entity-events-statement+jwt", &json!({
/// #         "iss": fed.id("org").as_str(), "sub": fed.id("rp").as_str(), "iat": now + 100,
/// #         "federation_registration_events": events}));
/// #     fed.fetcher().insert(url.as_str(), FetchResponse::ok("application/entity-events-statement+jwt", jwt));
/// # };
/// let monitor = registry.monitor(&resolver)
///     .max_staleness(Duration::from_secs(3600)) // nothing due by the schedule
///     .subordinate_events(Some(Duration::ZERO))
///     .build();
/// let mut rx = monitor.subscribe();
///
/// use oidfed::registry::monitor::MonitorError;
/// use oidfed::registry::subordinate_events::SubordinateEventsError;
/// // A "revocation" signed by the leaf itself, not by its superior: refused, by rule.
/// publish("rp", json!([{"iat": now + 150, "event": "revocation"}]));
/// monitor.pass().await.unwrap();
/// let refused = std::iter::from_fn(|| rx.try_recv().ok()).find_map(|e| match e {
///     MonitorEvent::Failed(e) => match &*e {
///         MonitorError::SubordinateEvents(se) => Some(se.clone()),
///         _ => None,
///     },
///     _ => None,
/// }).unwrap();
///
/// assert!(matches!(refused, SubordinateEventsError::Invalid { .. }));
/// // Nothing is trusted or distrusted because of it: the client stays active.
/// assert!(registry.status(&fed.id("rp")).await.unwrap().unwrap().is_active());
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubordinateEventsError {
    /// The endpoint could not be reached or did not answer 200.
    #[error("subordinate events of {issuer} about {subject}: {source}")]
    Fetch {
        /// The superior publishing the endpoint.
        issuer: String,
        /// The subordinate asked about.
        subject: String,
        /// The fetch failure.
        source: Box<FetchError>,
    },
    /// The response broke a rule of the draft.
    #[error("subordinate events statement {issuer} → {subject} breaks {rule:?}: {detail}")]
    Invalid {
        /// The superior publishing the endpoint.
        issuer: String,
        /// The subordinate asked about.
        subject: String,
        /// The rule broken.
        rule: EventsRule,
        /// What was wrong.
        detail: String,
    },
}

impl SubordinateEventsError {
    /// The rule broken, for an invalid response; see the [`EventsRule`] example.
    pub fn rule(&self) -> Option<EventsRule> {
        match self {
            Self::Invalid { rule, .. } => Some(*rule),
            Self::Fetch { .. } => None,
        }
    }
}

/// An event type of the draft (§2.3.3), or one a trust framework defined.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # use std::time::Duration;
/// # use serde_json::json;
/// # use oidfed::fetch::FetchResponse;
/// # use oidfed::registry::events::MonitorEvent;
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("org", "federation_entity",
/// #         json!({"federation_subordinate_events_endpoint": "${id}/events"}))
/// #     .metadata("rp", "openid_relying_party", json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let registry = oidfed::registry::Registry::open("sqlite::memory:").await.unwrap();
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// # let now = oidfed::Clock::now(&fed.clock());
/// # fed.clock().advance(200);
/// # // `signer` publishes, at org's events endpoint, a history about rp.
/// # let publish = |signer: &str, events: serde_json::Value| {
/// #     let mut url = url::Url::parse(&format!("{}/events", fed.id("org"))).unwrap();
/// #     url.query_pairs_mut().append_pair("sub", fed.id("rp").as_str());
/// #     let jwt = fed.key(signer).sign_jwt("entity-events-statement+jwt", &json!({
/// #         "iss": fed.id("org").as_str(), "sub": fed.id("rp").as_str(), "iat": now + 100,
/// #         "federation_registration_events": events}));
/// #     fed.fetcher().insert(url.as_str(), FetchResponse::ok("application/entity-events-statement+jwt", jwt));
/// # };
/// let monitor = registry.monitor(&resolver)
///     .max_staleness(Duration::from_secs(3600)) // nothing due by the schedule
///     .subordinate_events(Some(Duration::ZERO))
///     .build();
/// let mut rx = monitor.subscribe();
///
/// use oidfed::registry::subordinate_events::SubordinateEventKind;
/// publish("org", json!([{"iat": now + 150, "event": "revocation", "event_description": "announced"}]));
/// let report = monitor.pass().await.unwrap();
/// assert_eq!((report.subordinate_events, report.revalidated), (1, 1)); // a hint: re-validated at once
/// let (events, clients) = std::iter::from_fn(|| rx.try_recv().ok()).find_map(|e| match e {
///     MonitorEvent::SubordinateEvents { events, clients, .. } => Some((events, clients)),
///     _ => None,
/// }).unwrap();
///
/// assert_eq!(events[0].kind, SubordinateEventKind::Revocation);
/// assert_eq!(events[0].kind.as_str(), "revocation");
/// assert_eq!(clients, vec![fed.id("rp").to_string()]);
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubordinateEventKind {
    /// `registration`.
    Registration,
    /// `revocation`.
    Revocation,
    /// `suspension`.
    Suspension,
    /// `jwks_update`.
    JwksUpdate,
    /// `metadata_update`.
    MetadataUpdate,
    /// `metadata_policy_update`.
    MetadataPolicyUpdate,
    /// Any other event type, as published.
    Other(String),
}

impl SubordinateEventKind {
    fn parse(s: &str) -> Self {
        match s {
            "registration" => Self::Registration,
            "revocation" => Self::Revocation,
            "suspension" => Self::Suspension,
            "jwks_update" => Self::JwksUpdate,
            "metadata_update" => Self::MetadataUpdate,
            "metadata_policy_update" => Self::MetadataPolicyUpdate,
            other => Self::Other(other.chars().take(MAX_DESCRIPTION_CHARS).collect()),
        }
    }

    /// The event type as the draft spells it; see the [`SubordinateEventKind`] example.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Registration => "registration",
            Self::Revocation => "revocation",
            Self::Suspension => "suspension",
            Self::JwksUpdate => "jwks_update",
            Self::MetadataUpdate => "metadata_update",
            Self::MetadataPolicyUpdate => "metadata_policy_update",
            Self::Other(s) => s,
        }
    }
}

/// One entry of `federation_registration_events`.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # use std::time::Duration;
/// # use serde_json::json;
/// # use oidfed::fetch::FetchResponse;
/// # use oidfed::registry::events::MonitorEvent;
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("org", "federation_entity",
/// #         json!({"federation_subordinate_events_endpoint": "${id}/events"}))
/// #     .metadata("rp", "openid_relying_party", json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let registry = oidfed::registry::Registry::open("sqlite::memory:").await.unwrap();
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// # let now = oidfed::Clock::now(&fed.clock());
/// # fed.clock().advance(200);
/// # // `signer` publishes, at org's events endpoint, a history about rp.
/// # let publish = |signer: &str, events: serde_json::Value| {
/// #     let mut url = url::Url::parse(&format!("{}/events", fed.id("org"))).unwrap();
/// #     url.query_pairs_mut().append_pair("sub", fed.id("rp").as_str());
/// #     let jwt = fed.key(signer).sign_jwt("entity-events-statement+jwt", &json!({
/// #         "iss": fed.id("org").as_str(), "sub": fed.id("rp").as_str(), "iat": now + 100,
/// #         "federation_registration_events": events}));
/// #     fed.fetcher().insert(url.as_str(), FetchResponse::ok("application/entity-events-statement+jwt", jwt));
/// # };
/// let monitor = registry.monitor(&resolver)
///     .max_staleness(Duration::from_secs(3600)) // nothing due by the schedule
///     .subordinate_events(Some(Duration::ZERO))
///     .build();
/// let mut rx = monitor.subscribe();
/// publish("org", json!([{"iat": now + 150, "event": "revocation", "event_description": "announced"}]));
/// let report = monitor.pass().await.unwrap();
/// assert_eq!((report.subordinate_events, report.revalidated), (1, 1)); // a hint: re-validated at once
/// let (events, clients) = std::iter::from_fn(|| rx.try_recv().ok()).find_map(|e| match e {
///     MonitorEvent::SubordinateEvents { events, clients, .. } => Some((events, clients)),
///     _ => None,
/// }).unwrap();
///
/// assert_eq!((events[0].iat, events[0].description.as_deref()), (now + 150, Some("announced")));
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubordinateEvent {
    /// When the event happened (the event's `iat`).
    pub iat: i64,
    /// What happened.
    pub kind: SubordinateEventKind,
    /// `event_description`, cut to [`MAX_DESCRIPTION_CHARS`].
    pub description: Option<String>,
}

/// A verified subordinate events statement.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubordinateEvents {
    /// The superior that issued it.
    pub issuer: EntityId,
    /// The subordinate it is about.
    pub subject: EntityId,
    /// When it was issued.
    pub iat: i64,
    /// When it stops being valid, if it says.
    pub exp: Option<i64>,
    /// The history, as published.
    pub events: Vec<SubordinateEvent>,
}

/// What a check needs: who was asked about whom, the issuer's keys, the clock.
pub(crate) struct Expect<'a> {
    pub issuer: &'a EntityId,
    pub subject: &'a EntityId,
    pub keys: &'a KeySet,
    pub now: i64,
    pub skew: i64,
    pub max_len: usize,
    pub lenient_typ: bool,
    pub algs: &'a [jose::Alg],
}

/// Verifies a subordinate events response (§2.3) against what was asked.
pub(crate) fn verify(
    jwt: &str,
    x: &Expect<'_>,
) -> Result<SubordinateEvents, SubordinateEventsError> {
    let bad = |rule: EventsRule, detail: String| SubordinateEventsError::Invalid {
        issuer: x.issuer.to_string(),
        subject: x.subject.to_string(),
        rule,
        detail,
    };
    let jws = CompactJws::parse_with_limit(jwt.trim(), x.max_len)
        .map_err(|e| bad(EventsRule::JwsSyntax, e.to_string()))?;
    let rules = HeaderRules {
        typ: SUBORDINATE_EVENTS_TYP,
        lenient_typ: x.lenient_typ,
        algs: x.algs,
    };
    let (alg, kid) =
        jose::check_header(&jws, &rules).map_err(|e| bad(EventsRule::Header, e.to_string()))?;
    x.keys
        .verify(&jws, alg, kid, &format!("{}'s federation keys", x.issuer))
        .map_err(|e| bad(EventsRule::Signature, e.to_string()))?;
    let claims = match parse_strict(jws.payload()) {
        Ok(Value::Object(m)) => m,
        Ok(_) => {
            return Err(bad(
                EventsRule::JwsSyntax,
                "payload is not an object".into(),
            ));
        }
        Err(e) => return Err(bad(EventsRule::JwsSyntax, e.to_string())),
    };
    for (claim, want, rule) in [
        ("iss", x.issuer, EventsRule::Issuer),
        ("sub", x.subject, EventsRule::Subject),
    ] {
        if claims.get(claim).and_then(Value::as_str) != Some(want.as_str()) {
            return Err(bad(rule, format!("{claim} is not {want}")));
        }
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad(EventsRule::IssuedAt, "iat missing or not an integer".into()))?;
    if iat > x.now.saturating_add(x.skew) {
        return Err(bad(
            EventsRule::IssuedAt,
            format!("issued at {iat}, in the future (now {})", x.now),
        ));
    }
    let exp = match claims.get("exp") {
        None => None,
        Some(v) => {
            let exp = v
                .as_i64()
                .ok_or_else(|| bad(EventsRule::Expiry, "exp is not an integer".into()))?;
            if x.now >= exp.saturating_add(x.skew) {
                return Err(bad(EventsRule::Expiry, format!("expired at {exp}")));
            }
            Some(exp)
        }
    };
    let list = claims
        .get("federation_registration_events")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            bad(
                EventsRule::Events,
                "federation_registration_events missing or not an array".into(),
            )
        })?;
    if list.len() > MAX_EVENTS {
        return Err(bad(
            EventsRule::Events,
            format!("{} events, more than the {MAX_EVENTS} read", list.len()),
        ));
    }
    let mut events = Vec::with_capacity(list.len());
    for (i, e) in list.iter().enumerate() {
        let obj = e
            .as_object()
            .ok_or_else(|| bad(EventsRule::Events, format!("event {i} is not an object")))?;
        let iat = obj
            .get("iat")
            .and_then(Value::as_i64)
            .ok_or_else(|| bad(EventsRule::Events, format!("event {i}: iat missing")))?;
        let kind = obj
            .get("event")
            .and_then(Value::as_str)
            .map(SubordinateEventKind::parse)
            .ok_or_else(|| bad(EventsRule::Events, format!("event {i}: event missing")))?;
        let description = match obj.get("event_description") {
            None => None,
            Some(Value::String(s)) => Some(s.chars().take(MAX_DESCRIPTION_CHARS).collect()),
            Some(_) => {
                return Err(bad(
                    EventsRule::Events,
                    format!("event {i}: event_description is not a string"),
                ));
            }
        };
        events.push(SubordinateEvent {
            iat,
            kind,
            description,
        });
    }
    Ok(SubordinateEvents {
        issuer: x.issuer.clone(),
        subject: x.subject.clone(),
        iat,
        exp,
        events,
    })
}

/// The endpoint `superior_ec` publishes, if any, checked against §2.1.
pub(crate) fn endpoint(
    superior_ec: &EntityStatement,
    allow_http: bool,
    subject: &EntityId,
) -> Option<Result<url::Url, SubordinateEventsError>> {
    let raw = superior_ec.federation_endpoint(SUBORDINATE_EVENTS_ENDPOINT)?;
    let url = url::Url::parse(raw).ok().filter(|u| {
        (u.scheme() == "https" || (allow_http && u.scheme() == "http")) && u.fragment().is_none()
    });
    Some(url.ok_or_else(|| SubordinateEventsError::Invalid {
        issuer: superior_ec.subject().to_string(),
        subject: subject.to_string(),
        rule: EventsRule::Endpoint,
        detail: format!(
            "{SUBORDINATE_EVENTS_ENDPOINT} {raw:?} is not an https URL without fragment"
        ),
    }))
}

/// Fetches and verifies what `superior` publishes about `subject`, through the resolver's
/// fetcher and limits, verified with `keys` (the superior's Federation Entity Keys from a
/// validated chain). `Ok(None)` when the superior publishes no such endpoint.
pub(crate) async fn fetch(
    resolver: &Resolver,
    superior_ec: &EntityStatement,
    subject: &EntityId,
    keys: &KeySet,
) -> Result<Option<SubordinateEvents>, SubordinateEventsError> {
    let inner = &resolver.inner;
    let issuer = superior_ec.subject();
    let Some(url) = endpoint(superior_ec, inner.rules.allow_http, subject) else {
        return Ok(None);
    };
    let mut url = url?;
    url.query_pairs_mut().append_pair("sub", subject.as_str());
    let timeout = inner.limits.resolution_timeout;
    let req = FetchRequest::get(url.clone(), FetchKind::Other);
    let deadline = tokio::time::Instant::now() + timeout;
    let text = crate::fetch::fetch_text_before(&*inner.fetcher, req, deadline, timeout)
        .await
        .map_err(|source| SubordinateEventsError::Fetch {
            issuer: issuer.to_string(),
            subject: subject.to_string(),
            source: Box::new(source),
        })?;
    verify(
        &text,
        &Expect {
            issuer,
            subject,
            keys,
            now: inner.clock.now(),
            skew: inner.skew,
            max_len: inner.limits.max_statement_bytes,
            lenient_typ: inner.rules.lenient_typ,
            algs: &inner.rules.algs,
        },
    )
    .map(Some)
}

#[cfg(all(test, feature = "testing"))]
#[path = "subordinate_events_tests.rs"]
#[allow(clippy::unwrap_used)]
mod tests;
