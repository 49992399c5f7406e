//! Helpers of the `server_*` edge-case tests: two relying parties under one organization,
//! Request Objects and re-signed statements with extra JWS headers, an OP signer and its
//! Explicit Registration endpoint.
#![allow(dead_code)]

use crate::common::*;
use oidfed::server::{ExplicitRegistration, MemoryReplayGuard, RequestPolicy};
use oidfed::signer::JwkSigner;
use oidfed::testing::{Federation, KeyAlg, TestKey};
use oidfed::{EntityId, EntityType, Error, RequestError, Resolver};
use serde_json::{Map, Value, json};

pub const OP: &str = "https://op.example.org";
pub const RP: EntityType = EntityType::OPENID_RELYING_PARTY;

/// ta ← org ← {rp, rp2}: two relying parties under the same organization, each with its
/// own protocol key (`proto`, `proto2`) and its own `client_name`.
pub fn two_rps(proto: &TestKey, proto2: &TestKey) -> Federation {
    three_level()
        .leaf("rp2", &["org"])
        .metadata(
            "rp",
            "openid_relying_party",
            json!({"client_name": "RP", "redirect_uris": ["https://rp.example/cb"],
                   "jwks": {"keys": [proto.public_jwk()]}}),
        )
        .metadata(
            "rp2",
            "openid_relying_party",
            json!({"client_name": "RP2", "redirect_uris": ["https://rp2.example/cb"],
                   "jwks": {"keys": [proto2.public_jwk()]}}),
        )
        .build()
}

/// The setting of most of these tests: [`two_rps`] with fresh ES256 protocol keys, a
/// resolver trusting `ta`, and the OP's Request Object policy and replay guard.
pub struct TwoRps {
    pub proto: TestKey,
    pub proto2: TestKey,
    pub fed: Federation,
    pub r: Resolver,
    pub policy: RequestPolicy,
    pub guard: MemoryReplayGuard,
}

/// A fresh [`TwoRps`].
pub fn two_rps_setup() -> TwoRps {
    let proto = TestKey::generate(KeyAlg::ES256);
    let proto2 = TestKey::generate(KeyAlg::ES256);
    let fed = two_rps(&proto, &proto2);
    let r = resolver(&fed);
    TwoRps {
        proto,
        proto2,
        fed,
        r,
        policy: RequestPolicy::new(OP),
        guard: MemoryReplayGuard::default(),
    }
}

pub fn request_claims(client: &EntityId, aud: &str, jti: &str) -> Map<String, Value> {
    json!({
        "iss": client.as_str(),
        "client_id": client.as_str(),
        "aud": aud,
        "jti": jti,
        "exp": NOW + 300,
        "iat": NOW,
        "response_type": "code",
        "redirect_uri": "https://rp.example/cb",
        "scope": "openid",
    })
    .as_object()
    .unwrap()
    .clone()
}

/// Signs a Request Object with `key`, adding `extra` members to the JWS header.
pub fn sign_request(key: &TestKey, claims: &Map<String, Value>, extra: Value) -> String {
    let mut header =
        json!({"alg": key.alg().name(), "kid": key.kid(), "typ": "oauth-authz-req+jwt"});
    if let Value::Object(e) = extra {
        for (k, v) in e {
            header[k] = v;
        }
    }
    key.sign_with_header(&header, &Value::Object(claims.clone()))
}

/// Re-signs `jwt`'s claims with `key` under an `entity-statement+jwt` header extended by
/// `extra` (e.g. a `peer_trust_chain`).
pub fn resign_statement(key: &TestKey, claims: &Map<String, Value>, extra: Value) -> String {
    let mut header =
        json!({"alg": key.alg().name(), "kid": key.kid(), "typ": "entity-statement+jwt"});
    if let Value::Object(e) = extra {
        for (k, v) in e {
            header[k] = v;
        }
    }
    key.sign_with_header(&header, &Value::Object(claims.clone()))
}

pub fn op_signer() -> JwkSigner {
    JwkSigner::generate_es256("op-1").unwrap()
}

pub fn registration(signer: &JwkSigner) -> ExplicitRegistration<'_> {
    ExplicitRegistration {
        our_entity_id: OP,
        signer,
        max_lifetime: 86_400,
        entity_type: RP,
        decide: None,
    }
}

pub fn reason_of(e: &Error) -> &RequestError {
    match e {
        Error::InvalidRequest { reason } => reason,
        other => panic!("expected Error::InvalidRequest, got {other:?}"),
    }
}
