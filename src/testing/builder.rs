//! [`FederationBuilder`]: describe a test federation, then build or serve it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use super::state::State;
use super::{Federation, KeyAlg, LoopbackServer, TestKey};
use crate::clock::FixedClock;
use crate::fetch::MemoryFetcher;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Anchor,
    Intermediate,
    Leaf,
}

#[derive(Debug, Clone)]
pub(super) struct EntityDesc {
    pub(super) role: Role,
    pub(super) superiors: Vec<String>,
    pub(super) alg: KeyAlg,
    pub(super) metadata: Map<String, Value>,
    pub(super) claims: Map<String, Value>,
    pub(super) protocol_key: Option<(String, KeyAlg)>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct StatementDesc {
    pub(super) metadata: Map<String, Value>,
    pub(super) claims: Map<String, Value>,
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
            clock: FixedClock::new(now),
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
pub(super) fn merge_into(metadata: &mut Map<String, Value>, entity_type: &str, value: Value) {
    let slot = metadata
        .entry(entity_type.to_string())
        .or_insert_with(|| json!({}));
    match (slot.as_object_mut(), value) {
        (Some(target), Value::Object(v)) => target.extend(v),
        (_, other) => *slot = other,
    }
}
