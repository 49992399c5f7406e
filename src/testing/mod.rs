//! Test federations (feature `testing`): describe anchors, intermediates and leaves, their
//! metadata, policies and constraints; get spec-conformant signed statements made with
//! freshly generated keys, served from memory ([`Federation::fetcher`]) or over real HTTP on
//! loopback ([`FederationBuilder::serve`]); then tamper with them for negative tests.
//!
//! ```
//! use oidfed::testing::FederationBuilder;
//! let fed = FederationBuilder::new("https://fed.example")
//!     .anchor("ta")
//!     .intermediate("org", &["ta"])
//!     .leaf("rp", &["org"])
//!     .build();
//! assert_eq!(fed.id("rp").as_str(), "https://fed.example/rp");
//! assert_eq!(fed.chain(&["rp", "org", "ta"], true).len(), 4);
//! ```
//!
//! This is a test tool: a description that makes no sense (an unknown entity name) panics
//! with a message saying what is wrong.

pub mod demo;
mod keys;
mod server;

pub use keys::{KeyAlg, TestKey};
pub use server::LoopbackServer;

/// JSON value comparisons the policy set operations (`subset_of`, `superset_of`, `one_of`,
/// `add`, `scope` words) made on this thread since [`reset_policy_comparisons`]: a count to
/// assert that policy work grows as n log n, never n².
pub fn policy_comparisons() -> u64 {
    crate::policy::set::comparisons()
}

/// Resets this thread's [`policy_comparisons`] count.
pub fn reset_policy_comparisons() {
    crate::policy::set::reset_comparisons();
}

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value, json};

use crate::entity_id::EntityId;
use crate::fetch::{FetchRequest, FetchResponse, MemoryFetcher};
use crate::statement::ENTITY_STATEMENT_TYP;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Anchor,
    Intermediate,
    Leaf,
}

#[derive(Debug, Clone)]
struct EntityDesc {
    role: Role,
    superiors: Vec<String>,
    alg: KeyAlg,
    metadata: Map<String, Value>,
    claims: Map<String, Value>,
    protocol_key: Option<(String, KeyAlg)>,
}

#[derive(Debug, Clone, Default)]
struct StatementDesc {
    metadata: Map<String, Value>,
    claims: Map<String, Value>,
}

/// Describes a federation; [`FederationBuilder::build`] makes it.
#[derive(Debug, Clone)]
#[must_use]
pub struct FederationBuilder {
    base: String,
    now: Option<i64>,
    lifetime: i64,
    order: Vec<String>,
    entities: HashMap<String, EntityDesc>,
    statements: BTreeMap<(String, String), StatementDesc>,
    exp: HashMap<(String, String), i64>,
    marks: Vec<(String, String, String)>,
}

impl FederationBuilder {
    /// A federation whose entity named `N` has the identifier `{base}/N`.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            now: None,
            lifetime: 86_400,
            order: Vec::new(),
            entities: HashMap::new(),
            statements: BTreeMap::new(),
            exp: HashMap::new(),
            marks: Vec::new(),
        }
    }

    /// The `iat` of every statement (default: the system time at build).
    pub fn now(mut self, t: i64) -> Self {
        self.now = Some(t);
        self
    }

    /// `exp` = `iat` + `secs` (default one day).
    pub fn lifetime(mut self, secs: i64) -> Self {
        self.lifetime = secs;
        self
    }

    fn add(mut self, name: &str, role: Role, superiors: &[&str]) -> Self {
        if !self.entities.contains_key(name) {
            self.order.push(name.to_string());
        }
        self.entities.insert(
            name.to_string(),
            EntityDesc {
                role,
                superiors: superiors.iter().map(|s| s.to_string()).collect(),
                alg: KeyAlg::ES256,
                metadata: Map::new(),
                claims: Map::new(),
                protocol_key: None,
            },
        );
        self
    }

    /// A Trust Anchor (no superiors).
    pub fn anchor(self, name: &str) -> Self {
        self.add(name, Role::Anchor, &[])
    }

    /// An Intermediate under `superiors`.
    pub fn intermediate(self, name: &str, superiors: &[&str]) -> Self {
        self.add(name, Role::Intermediate, superiors)
    }

    /// A Leaf under `superiors`.
    pub fn leaf(self, name: &str, superiors: &[&str]) -> Self {
        self.add(name, Role::Leaf, superiors)
    }

    fn entity(&mut self, name: &str) -> &mut EntityDesc {
        self.entities
            .get_mut(name)
            .unwrap_or_else(|| panic!("no entity named {name:?} in the federation description"))
    }

    /// The federation key algorithm of `name` (default ES256).
    pub fn key_alg(mut self, name: &str, alg: KeyAlg) -> Self {
        self.entity(name).alg = alg;
        self
    }

    /// Metadata of `entity_type` in `name`'s configuration, merged member by member into
    /// what was given before (and into the `federation_entity` endpoints generated for
    /// anchors and intermediates). `${base}` and `${id}` in strings are replaced at build.
    pub fn metadata(mut self, name: &str, entity_type: &str, value: Value) -> Self {
        merge_into(&mut self.entity(name).metadata, entity_type, value);
        self
    }

    /// A protocol key (`jwks` in the metadata of `entity_type`) generated for `name`;
    /// [`Federation::protocol_key`] gives it back for signing request objects.
    pub fn protocol_key(mut self, name: &str, entity_type: &str, alg: KeyAlg) -> Self {
        self.entity(name).protocol_key = Some((entity_type.to_string(), alg));
        self
    }

    /// `metadata` of `entity_type` in the statement `superior` makes about `subject`.
    pub fn subordinate_metadata(
        mut self,
        superior: &str,
        subject: &str,
        entity_type: &str,
        value: Value,
    ) -> Self {
        let st = self.statement(superior, subject);
        merge_into(&mut st.metadata, entity_type, value);
        self
    }

    fn statement(&mut self, superior: &str, subject: &str) -> &mut StatementDesc {
        self.statements
            .entry((superior.to_string(), subject.to_string()))
            .or_default()
    }

    /// The whole `metadata_policy` claim of the statement `superior` makes about `subject`.
    pub fn metadata_policy(self, superior: &str, subject: &str, policy: Value) -> Self {
        self.ss_claim(superior, subject, "metadata_policy", policy)
    }

    /// The `constraints` of the statement `superior` makes about `subject`.
    pub fn constraints(self, superior: &str, subject: &str, constraints: Value) -> Self {
        self.ss_claim(superior, subject, "constraints", constraints)
    }

    /// Any claim in `name`'s configuration (replacing a generated one).
    pub fn ec_claim(mut self, name: &str, claim: &str, value: Value) -> Self {
        self.entity(name).claims.insert(claim.to_string(), value);
        self
    }

    /// Any claim in the statement `superior` makes about `subject`.
    pub fn ss_claim(mut self, superior: &str, subject: &str, claim: &str, value: Value) -> Self {
        self.statement(superior, subject)
            .claims
            .insert(claim.to_string(), value);
        self
    }

    /// Overrides one statement's `exp` (`iss == sub`: the configuration).
    pub fn statement_exp(mut self, iss: &str, sub: &str, exp: i64) -> Self {
        self.exp.insert((iss.to_string(), sub.to_string()), exp);
        self
    }

    /// A trust mark of `trust_mark_type` issued by `issuer` about `subject`, placed in the
    /// subject's configuration (`exp` = `iat` + lifetime).
    pub fn trust_mark(mut self, issuer: &str, subject: &str, trust_mark_type: &str) -> Self {
        self.marks.push((
            issuer.to_string(),
            subject.to_string(),
            trust_mark_type.to_string(),
        ));
        self
    }

    /// Makes the federation: keys, statements, and an in-memory fetcher serving them.
    pub fn build(self) -> Federation {
        let now = self
            .now
            .unwrap_or_else(|| time::OffsetDateTime::now_utc().unix_timestamp());
        for name in &self.order {
            for sup in &self.entities[name].superiors {
                assert!(
                    self.entities.contains_key(sup),
                    "{name} names an unknown superior {sup:?}"
                );
            }
        }
        let mut keys = HashMap::new();
        let mut protocol_keys = HashMap::new();
        for name in &self.order {
            let d = &self.entities[name];
            keys.insert(name.clone(), TestKey::generate(d.alg));
            if let Some((_, alg)) = &d.protocol_key {
                protocol_keys.insert(name.clone(), TestKey::generate(*alg));
            }
        }
        let state = State {
            base: self.base.clone(),
            now,
            lifetime: self.lifetime,
            superiors: self
                .order
                .iter()
                .map(|n| (n.clone(), self.entities[n].superiors.clone()))
                .collect(),
            keys,
            protocol_keys,
            claims: HashMap::new(),
            tokens: HashMap::new(),
            fetcher: MemoryFetcher::new(),
        };
        let fed = Federation {
            state: Arc::new(Mutex::new(state)),
        };
        {
            let mut st = fed.lock();
            for name in &self.order {
                let claims = st.configuration_claims(name, &self.entities[name], &self.exp);
                st.claims.insert((name.clone(), name.clone()), claims);
            }
            for name in &self.order {
                for sup in self.entities[name].superiors.clone() {
                    let desc = self
                        .statements
                        .get(&(sup.clone(), name.clone()))
                        .cloned()
                        .unwrap_or_default();
                    let claims = st.subordinate_claims(&sup, name, &desc, &self.exp);
                    st.claims.insert((sup, name.clone()), claims);
                }
            }
            for (issuer, subject, typ) in &self.marks {
                let typ = st.substitute_str(typ, subject);
                let exp = now + self.lifetime;
                let jwt = st.key(issuer).sign_jwt(
                    "trust-mark+jwt",
                    &json!({"iss": st.id_str(issuer), "sub": st.id_str(subject),
                            "trust_mark_type": typ, "iat": now, "exp": exp}),
                );
                let ec = st
                    .claims
                    .get_mut(&(subject.clone(), subject.clone()))
                    .unwrap_or_else(|| panic!("trust mark for unknown entity {subject:?}"));
                let entry = json!({"trust_mark_type": typ, "trust_mark": jwt});
                match ec.get_mut("trust_marks").and_then(Value::as_array_mut) {
                    Some(a) => a.push(entry),
                    None => {
                        ec.insert("trust_marks".into(), json!([entry]));
                    }
                }
            }
            let all: Vec<(String, String)> = st.claims.keys().cloned().collect();
            for (iss, sub) in all {
                st.publish(&iss, &sub);
            }
        }
        fed
    }

    /// Binds a loopback port, makes the federation with `http://127.0.0.1:PORT` as its base
    /// (instead of the one given to `new`), and serves it over HTTP.
    pub async fn serve(mut self) -> std::io::Result<(Federation, LoopbackServer)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        self.base = format!("http://{}", listener.local_addr()?);
        let fed = self.build();
        let server = LoopbackServer::start(listener, fed.fetcher());
        Ok((fed, server))
    }

    /// Like [`FederationBuilder::serve`], with `http://{host}:PORT` as the base: the server
    /// listens on `127.0.0.1`, so `host` must resolve there (e.g. `localhost`). For
    /// federations reached by name (the destination guard's host allow-list).
    pub async fn serve_as(mut self, host: &str) -> std::io::Result<(Federation, LoopbackServer)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        self.base = format!("http://{host}:{}", listener.local_addr()?.port());
        let fed = self.build();
        let server = LoopbackServer::start_as(listener, fed.fetcher(), fed.base());
        Ok((fed, server))
    }
}

/// Merges `value` (an object) into `metadata[entity_type]`.
fn merge_into(metadata: &mut Map<String, Value>, entity_type: &str, value: Value) {
    let slot = metadata
        .entry(entity_type.to_string())
        .or_insert_with(|| json!({}));
    match (slot.as_object_mut(), value) {
        (Some(target), Value::Object(v)) => target.extend(v),
        (_, other) => *slot = other,
    }
}

struct State {
    base: String,
    now: i64,
    lifetime: i64,
    superiors: HashMap<String, Vec<String>>,
    keys: HashMap<String, TestKey>,
    protocol_keys: HashMap<String, TestKey>,
    /// Current claims of every statement, keyed (issuer name, subject name).
    claims: HashMap<(String, String), Map<String, Value>>,
    /// The token currently served for each statement.
    tokens: HashMap<(String, String), String>,
    fetcher: MemoryFetcher,
}

impl State {
    fn id_str(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    fn id(&self, name: &str) -> EntityId {
        EntityId::parse_with(&self.id_str(name), true)
            .unwrap_or_else(|e| panic!("{name}: not an entity id: {e}"))
    }

    fn key(&self, name: &str) -> &TestKey {
        self.keys
            .get(name)
            .unwrap_or_else(|| panic!("no entity named {name:?}"))
    }

    fn substitute_str(&self, s: &str, owner: &str) -> String {
        s.replace("${base}", &self.base)
            .replace("${id}", &self.id_str(owner))
    }

    fn substitute(&self, v: &Value, owner: &str) -> Value {
        match v {
            Value::String(s) => Value::String(self.substitute_str(s, owner)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.substitute(x, owner)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (self.substitute_str(k, owner), self.substitute(x, owner)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn exp_of(&self, iss: &str, sub: &str, overrides: &HashMap<(String, String), i64>) -> i64 {
        overrides
            .get(&(iss.to_string(), sub.to_string()))
            .copied()
            .unwrap_or(self.now + self.lifetime)
    }

    fn configuration_claims(
        &self,
        name: &str,
        d: &EntityDesc,
        exp: &HashMap<(String, String), i64>,
    ) -> Map<String, Value> {
        let id = self.id_str(name);
        let mut metadata = Map::new();
        if d.role != Role::Leaf {
            metadata.insert(
                "federation_entity".into(),
                json!({
                    "federation_fetch_endpoint": format!("{id}/fetch"),
                    "federation_list_endpoint": format!("{id}/list"),
                }),
            );
        }
        for (t, v) in &d.metadata {
            merge_into(&mut metadata, t, self.substitute(v, name));
        }
        if let (Some((t, _)), Some(k)) = (&d.protocol_key, self.protocol_keys.get(name)) {
            merge_into(&mut metadata, t, json!({"jwks": k.public_jwks()}));
        }
        let mut c = json!({
            "iss": id, "sub": id, "iat": self.now,
            "exp": self.exp_of(name, name, exp),
            "jwks": self.key(name).public_jwks(),
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        if !metadata.is_empty() {
            c.insert("metadata".into(), Value::Object(metadata));
        }
        if !d.superiors.is_empty() {
            let hints: Vec<String> = d.superiors.iter().map(|s| self.id_str(s)).collect();
            c.insert("authority_hints".into(), json!(hints));
        }
        for (k, v) in &d.claims {
            c.insert(k.clone(), self.substitute(v, name));
        }
        c
    }

    fn subordinate_claims(
        &self,
        sup: &str,
        sub: &str,
        d: &StatementDesc,
        exp: &HashMap<(String, String), i64>,
    ) -> Map<String, Value> {
        let mut c = json!({
            "iss": self.id_str(sup), "sub": self.id_str(sub), "iat": self.now,
            "exp": self.exp_of(sup, sub, exp),
            "jwks": self.key(sub).public_jwks(),
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        if !d.metadata.is_empty() {
            c.insert(
                "metadata".into(),
                self.substitute(&Value::Object(d.metadata.clone()), sub),
            );
        }
        for (k, v) in &d.claims {
            c.insert(k.clone(), self.substitute(v, sub));
        }
        c
    }

    fn url(&self, iss: &str, sub: &str) -> String {
        if iss == sub {
            self.id(iss).well_known_url().to_string()
        } else {
            let endpoint = url::Url::parse(&format!("{}/fetch", self.id_str(iss)))
                .unwrap_or_else(|e| panic!("fetch endpoint of {iss}: {e}"));
            FetchRequest::subordinate_statement(&endpoint, &self.id(sub))
                .url
                .to_string()
        }
    }

    /// Signs the current claims of (iss, sub) with iss's key and serves the token.
    fn publish(&mut self, iss: &str, sub: &str) {
        let claims = self
            .claims
            .get(&(iss.to_string(), sub.to_string()))
            .cloned()
            .unwrap_or_else(|| panic!("no statement {iss} → {sub}"));
        let jwt = self
            .key(iss)
            .sign_jwt(ENTITY_STATEMENT_TYP, &Value::Object(claims));
        self.serve_token(iss, sub, jwt);
    }

    fn serve_token(&mut self, iss: &str, sub: &str, jwt: String) {
        self.fetcher
            .insert(&self.url(iss, sub), FetchResponse::entity_statement(&jwt));
        self.tokens.insert((iss.to_string(), sub.to_string()), jwt);
    }
}

/// A built federation. Clones share it: changes made through one are served to all.
#[derive(Clone)]
pub struct Federation {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Federation({})", self.lock().base)
    }
}

impl Federation {
    fn lock(&self) -> MutexGuard<'_, State> {
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
    /// [`FederationBuilder::protocol_key`].
    pub fn protocol_key(&self, name: &str) -> Option<TestKey> {
        self.lock().protocol_keys.get(name).cloned()
    }

    /// The in-memory fetcher serving every statement (shared with a loopback server).
    pub fn fetcher(&self) -> MemoryFetcher {
        self.lock().fetcher.clone()
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
    /// The federation is locked while `edit` runs: compute ids and keys before calling.
    pub fn republish_ss(
        &self,
        superior: &str,
        subject: &str,
        edit: impl FnOnce(&mut Map<String, Value>),
    ) {
        let mut st = self.lock();
        let key = (superior.to_string(), subject.to_string());
        let claims = st
            .claims
            .get_mut(&key)
            .unwrap_or_else(|| panic!("no statement {superior} → {subject}"));
        edit(claims);
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
        claims.insert("iat".into(), Value::from(st.now));
        claims
            .entry("exp")
            .or_insert_with(|| Value::from(st.now + st.lifetime));
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
