//! The federation's current statements: claims, keys and the tokens served.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::TestKey;
use super::builder::{EntityDesc, Role, StatementDesc, merge_into};
use crate::clock::{Clock, FixedClock};
use crate::entity_id::EntityId;
use crate::fetch::{FetchRequest, FetchResponse, MemoryFetcher};
use crate::statement::ENTITY_STATEMENT_TYP;

pub(super) struct State {
    pub(super) base: String,
    /// The federation's clock: statements made after the build are issued at its time, and
    /// [`super::Federation::resolver_builder`] gives the same clock to the resolver.
    pub(super) clock: FixedClock,
    pub(super) lifetime: i64,
    pub(super) superiors: HashMap<String, Vec<String>>,
    pub(super) keys: HashMap<String, TestKey>,
    pub(super) protocol_keys: HashMap<String, TestKey>,
    /// Current claims of every statement, keyed (issuer name, subject name).
    pub(super) claims: HashMap<(String, String), Map<String, Value>>,
    /// The token currently served for each statement.
    pub(super) tokens: HashMap<(String, String), String>,
    pub(super) fetcher: MemoryFetcher,
}

impl State {
    /// The federation's current time.
    pub(super) fn now(&self) -> i64 {
        self.clock.now()
    }

    pub(super) fn id_str(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    pub(super) fn id(&self, name: &str) -> EntityId {
        EntityId::parse_with(&self.id_str(name), true)
            .unwrap_or_else(|e| panic!("{name}: not an entity id: {e}"))
    }

    pub(super) fn key(&self, name: &str) -> &TestKey {
        self.keys
            .get(name)
            .unwrap_or_else(|| panic!("no entity named {name:?}"))
    }

    pub(super) fn substitute_str(&self, s: &str, owner: &str) -> String {
        s.replace("${base}", &self.base)
            .replace("${id}", &self.id_str(owner))
    }

    pub(super) fn substitute(&self, v: &Value, owner: &str) -> Value {
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

    pub(super) fn exp_of(
        &self,
        iss: &str,
        sub: &str,
        overrides: &HashMap<(String, String), i64>,
    ) -> i64 {
        overrides
            .get(&(iss.to_string(), sub.to_string()))
            .copied()
            .unwrap_or(self.now() + self.lifetime)
    }

    pub(super) fn configuration_claims(
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
            "iss": id, "sub": id, "iat": self.now(),
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

    pub(super) fn subordinate_claims(
        &self,
        sup: &str,
        sub: &str,
        d: &StatementDesc,
        exp: &HashMap<(String, String), i64>,
    ) -> Map<String, Value> {
        let mut c = json!({
            "iss": self.id_str(sup), "sub": self.id_str(sub), "iat": self.now(),
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

    pub(super) fn url(&self, iss: &str, sub: &str) -> String {
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
    pub(super) fn publish(&mut self, iss: &str, sub: &str) {
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

    pub(super) fn serve_token(&mut self, iss: &str, sub: &str, jwt: String) {
        self.fetcher
            .insert(&self.url(iss, sub), FetchResponse::entity_statement(&jwt));
        self.tokens.insert((iss.to_string(), sub.to_string()), jwt);
    }
}
