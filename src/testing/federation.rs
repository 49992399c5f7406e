//! [`Federation`]: a built test federation, its statements, and edits for negative tests.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value, json};

use super::TestKey;
use super::state::State;
use crate::clock::FixedClock;
use crate::entity_id::EntityId;
use crate::fetch::{FetchResponse, MemoryFetcher};
use crate::resolver::{Resolver, ResolverBuilder};

/// A built federation. Clones share it: changes made through one are served to all.
#[derive(Clone)]
pub struct Federation {
    pub(super) state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Federation({})", self.lock().base)
    }
}

impl Federation {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The base URL (`http://127.0.0.1:PORT` when served).
    pub fn base(&self) -> String {
        self.lock().base.clone()
    }

    /// The Entity Identifier of `name`.
    pub fn id(&self, name: &str) -> EntityId {
        self.lock().id(name)
    }

    /// `name`'s public Federation Entity Keys, `{"keys": [...]}` (to configure an anchor).
    pub fn public_jwks(&self, name: &str) -> Value {
        self.lock().key(name).public_jwks()
    }

    /// `name`'s current signing key.
    pub fn key(&self, name: &str) -> TestKey {
        self.lock().key(name).clone()
    }

    /// `name`'s protocol key, when one was asked for with
    /// [`FederationBuilder::protocol_key`](super::FederationBuilder::protocol_key).
    pub fn protocol_key(&self, name: &str) -> Option<TestKey> {
        self.lock().protocol_keys.get(name).cloned()
    }

    /// The in-memory fetcher serving every statement (shared with a loopback server).
    pub fn fetcher(&self) -> MemoryFetcher {
        self.lock().fetcher.clone()
    }

    /// The federation's clock, standing at [`FederationBuilder::now`] when built. Clones
    /// share the time: advancing it moves every resolver built with
    /// [`Federation::resolver_builder`], and statements the federation makes afterwards
    /// (e.g. by [`Federation::move_under`]) are issued at the new time.
    ///
    /// [`FederationBuilder::now`]: super::FederationBuilder::now
    pub fn clock(&self) -> FixedClock {
        self.lock().clock.clone()
    }

    /// A resolver builder wired to this federation: trusting `anchors` (by name, with their
    /// current keys), fetching from [`Federation::fetcher`], reading [`Federation::clock`],
    /// and accepting `http` identifiers when the federation is served over plain HTTP.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use oidfed::EntityType;
    /// use oidfed::testing::FederationBuilder;
    /// let fed = FederationBuilder::new("https://fed.example")
    ///     .now(1_800_000_000)
    ///     .anchor("ta")
    ///     .leaf("rp", &["ta"])
    ///     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "rp"}))
    ///     .build();
    /// let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// let rp = resolver.resolve(&fed.id("rp"), &EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// assert_eq!(rp.trust_anchor(), &fed.id("ta"));
    /// // One clock: a day and more later the statements have expired for the resolver too.
    /// fed.clock().advance(2 * 86_400);
    /// let fresh = fed.resolver_builder(&["ta"]).build().unwrap();
    /// assert!(fresh.resolve(&fed.id("rp"), &EntityType::OPENID_RELYING_PARTY).await.is_err());
    /// # });
    /// ```
    pub fn resolver_builder(&self, anchors: &[&str]) -> ResolverBuilder {
        let st = self.lock();
        let mut b = Resolver::builder()
            .fetcher(st.fetcher.clone())
            .clock(st.clock.clone())
            .allow_http(st.base.starts_with("http://"));
        for a in anchors {
            b = b.trust_anchor(&st.id_str(a), &st.key(a).public_jwks());
        }
        b
    }

    fn token(&self, iss: &str, sub: &str) -> String {
        self.lock()
            .tokens
            .get(&(iss.to_string(), sub.to_string()))
            .cloned()
            .unwrap_or_else(|| panic!("no statement {iss} → {sub}"))
    }

    /// `name`'s Entity Configuration as served.
    pub fn entity_configuration(&self, name: &str) -> String {
        self.token(name, name)
    }

    /// The statement `superior` makes about `subject`, as served.
    pub fn subordinate_statement(&self, superior: &str, subject: &str) -> String {
        self.token(superior, subject)
    }

    /// A trust chain along `path` (subject first, anchor last): the subject's EC, then each
    /// superior's statement about the one below, then (optionally) the anchor's EC.
    pub fn chain(&self, path: &[&str], with_anchor_ec: bool) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(first) = path.first() {
            out.push(self.entity_configuration(first));
        }
        for w in path.windows(2) {
            out.push(self.subordinate_statement(w[1], w[0]));
        }
        if with_anchor_ec && path.len() > 1 {
            if let Some(last) = path.last() {
                out.push(self.entity_configuration(last));
            }
        }
        out
    }

    /// Edits `name`'s configuration claims, re-signs it with its key and serves it.
    pub fn republish_ec(&self, name: &str, edit: impl FnOnce(&mut Map<String, Value>)) {
        self.republish_ss(name, name, edit)
    }

    /// Edits the claims of the statement `superior` makes about `subject`, re-signs, serves.
    /// `edit` works on a copy of the claims, with the federation unlocked: it may call the
    /// federation (`fed.id(..)`, `fed.public_jwks(..)`, another `republish_*`).
    ///
    /// ```
    /// use oidfed::testing::FederationBuilder;
    /// let fed = FederationBuilder::new("https://fed.example").anchor("ta").leaf("rp", &["ta"]).build();
    /// fed.republish_ec("rp", |c| {
    ///     c.insert("authority_hints".into(), serde_json::json!([fed.id("ta").as_str()]));
    /// });
    /// ```
    pub fn republish_ss(
        &self,
        superior: &str,
        subject: &str,
        edit: impl FnOnce(&mut Map<String, Value>),
    ) {
        let key = (superior.to_string(), subject.to_string());
        let mut claims = self
            .lock()
            .claims
            .get(&key)
            .cloned()
            .unwrap_or_else(|| panic!("no statement {superior} → {subject}"));
        edit(&mut claims);
        let mut st = self.lock();
        st.claims.insert(key, claims);
        st.publish(superior, subject);
    }

    /// Serves an arbitrary token as `name`'s configuration.
    pub fn publish_raw_ec(&self, name: &str, jwt: &str) {
        self.lock().serve_token(name, name, jwt.to_string());
    }

    /// Serves an arbitrary token as the statement `superior` makes about `subject`.
    pub fn publish_raw_ss(&self, superior: &str, subject: &str, jwt: &str) {
        self.lock().serve_token(superior, subject, jwt.to_string());
    }

    /// A new key for `name`: its configuration, its superiors' statements about it and its
    /// own statements are re-signed and served.
    pub fn rotate_key(&self, name: &str) {
        let mut st = self.lock();
        let alg = st.key(name).alg();
        let new = TestKey::generate(alg);
        st.keys.insert(name.to_string(), new.clone());
        let affected: Vec<(String, String)> = st
            .claims
            .keys()
            .filter(|(i, s)| i == name || s == name)
            .cloned()
            .collect();
        for (iss, sub) in affected {
            if sub == name {
                if let Some(c) = st.claims.get_mut(&(iss.clone(), sub.clone())) {
                    c.insert("jwks".into(), new.public_jwks());
                }
            }
            st.publish(&iss, &sub);
        }
    }

    /// `superior`'s fetch endpoint answers 404 `not_found` for `subject` from now on.
    pub fn remove_ss(&self, superior: &str, subject: &str) {
        let st = self.lock();
        st.fetcher.insert(
            &st.url(superior, subject),
            FetchResponse::error(404, "not_found", "unknown subject"),
        );
    }

    /// Every URL of `name` (its configuration and its fetch endpoint) answers `status`.
    pub fn set_unavailable(&self, name: &str, status: u16) {
        let st = self.lock();
        let urls: Vec<String> = st
            .claims
            .keys()
            .filter(|(i, _)| i == name)
            .map(|(i, s)| st.url(i, s))
            .collect();
        for u in urls {
            st.fetcher.insert(
                &u,
                FetchResponse::error(status, "temporarily_unavailable", "down for the test"),
            );
        }
    }

    /// Moves `subject` from `old_superior` to `new_superior`: new `authority_hints`, a new
    /// statement from the new superior, the old one removed.
    pub fn move_under(&self, subject: &str, old_superior: &str, new_superior: &str) {
        let mut st = self.lock();
        let mut sups = st.superiors.get(subject).cloned().unwrap_or_default();
        sups.retain(|s| s != old_superior);
        sups.push(new_superior.to_string());
        st.superiors.insert(subject.to_string(), sups.clone());
        let hints: Vec<String> = sups.iter().map(|s| st.id_str(s)).collect();
        if let Some(c) = st
            .claims
            .get_mut(&(subject.to_string(), subject.to_string()))
        {
            c.insert("authority_hints".into(), json!(hints));
        }
        st.publish(subject, subject);
        let old = st
            .claims
            .remove(&(old_superior.to_string(), subject.to_string()))
            .unwrap_or_default();
        let mut claims = old;
        claims.insert("iss".into(), Value::from(st.id_str(new_superior)));
        claims.insert("sub".into(), Value::from(st.id_str(subject)));
        claims.insert("iat".into(), Value::from(st.now()));
        claims
            .entry("exp")
            .or_insert_with(|| Value::from(st.now() + st.lifetime));
        claims.insert("jwks".into(), st.key(subject).public_jwks());
        st.claims
            .insert((new_superior.to_string(), subject.to_string()), claims);
        st.publish(new_superior, subject);
        let url = st.url(old_superior, subject);
        st.fetcher
            .insert(&url, FetchResponse::error(404, "not_found", "moved away"));
        st.tokens
            .remove(&(old_superior.to_string(), subject.to_string()));
    }
}
