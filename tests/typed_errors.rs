//! Typed errors end to end (issue 14, item 1): each request check, builder problem and
//! signer failure is a variant a caller can match, with the error code it is answered with.

mod common;

use std::sync::Arc;

use common::*;
use oidfed::error::{ConfigError, ErrorCode, ReplayGuardProblem, RequestError};
use oidfed::policy::{OperatorKind, PolicyError, PolicyOperator};
use oidfed::server::{ExplicitRegistration, MemoryReplayGuard, RequestPolicy, resolve_response};
use oidfed::signer::{JwkSigner, Signer, SignerError};
use oidfed::testing::{Federation, KeyAlg, TestKey};
use oidfed::{EntityType, Error, Resolver};
use serde_json::{Map, Value, json};

const OP: &str = "https://op.example.org";
const RP: EntityType = EntityType::OPENID_RELYING_PARTY;

fn fed_with(proto: &TestKey) -> Federation {
    three_level()
        .metadata(
            "rp",
            "openid_relying_party",
            json!({"redirect_uris": ["https://rp.example/cb"], "jwks": {"keys": [proto.public_jwk()]}}),
        )
        .build()
}

fn claims(fed: &Federation, jti: &str) -> Map<String, Value> {
    json!({
        "iss": fed.id("rp").as_str(), "client_id": fed.id("rp").as_str(), "aud": OP,
        "jti": jti, "exp": NOW + 300, "iat": NOW,
    })
    .as_object()
    .unwrap()
    .clone()
}

fn sign(key: &TestKey, claims: &Map<String, Value>, header: Value) -> String {
    let mut h = json!({"alg": "ES256", "kid": key.kid(), "typ": "oauth-authz-req+jwt"});
    if let Value::Object(e) = header {
        for (k, v) in e {
            if v.is_null() {
                h.as_object_mut().unwrap().remove(&k);
            } else {
                h[k] = v;
            }
        }
    }
    key.sign_with_header(&h, &Value::Object(claims.clone()))
}

fn request_error(e: &Error) -> &RequestError {
    e.request_error()
        .unwrap_or_else(|| panic!("expected a request error, got {e:?}"))
}

/// Every key-independent check of a Request Object is its own variant, answered with
/// `invalid_request`; a signature by another key and a replay are `invalid_client`.
#[tokio::test]
async fn each_request_object_check_is_its_own_variant() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let other = TestKey::generate(KeyAlg::ES256);
    let fed = fed_with(&proto);
    let r = resolver(&fed);
    let policy = RequestPolicy::new(OP);
    let guard = MemoryReplayGuard::default();
    let verify = |jwt: String| {
        let (r, policy, guard) = (&r, &policy, &guard);
        async move { r.verify_request_object(&jwt, policy, guard).await }
    };
    let with = |k: &str, v: Value| {
        let mut c = claims(&fed, &format!("j-{k}"));
        if v.is_null() {
            c.remove(k);
        } else {
            c.insert(k.into(), v);
        }
        c
    };
    type Check = fn(&RequestError) -> bool;
    let cases: Vec<(String, Check)> = vec![
        ("not a jwt".into(), |e| matches!(e, RequestError::Jws(_))),
        (
            sign(&proto, &claims(&fed, "a1"), json!({"alg": null})),
            |e| matches!(e, RequestError::AlgMissing),
        ),
        (
            sign(&proto, &claims(&fed, "a2"), json!({"alg": "HS256"})),
            |e| matches!(e, RequestError::AlgNotAccepted { alg } if alg == "HS256"),
        ),
        (
            sign(
                &proto,
                &claims(&fed, "a3"),
                json!({"jku": "https://x.example"}),
            ),
            |e| matches!(e, RequestError::HeaderNotAccepted { header: "jku" }),
        ),
        (
            sign(&proto, &claims(&fed, "a4"), json!({"kid": null})),
            |e| matches!(e, RequestError::Missing { name: "kid" }),
        ),
        (
            sign(&proto, &claims(&fed, "a5"), json!({"typ": "JWT"})),
            |e| matches!(e, RequestError::WrongTyp { .. }),
        ),
        (
            sign(&proto, &with("client_id", Value::Null), json!({})),
            |e| matches!(e, RequestError::Missing { name: "client_id" }),
        ),
        (
            sign(
                &proto,
                &with("iss", json!("https://else.example")),
                json!({}),
            ),
            |e| matches!(e, RequestError::IssNotClientId),
        ),
        (sign(&proto, &with("sub", json!("x")), json!({})), |e| {
            matches!(e, RequestError::SubInRequestObject)
        }),
        (
            sign(
                &proto,
                &with("aud", json!("https://else.example")),
                json!({}),
            ),
            |e| matches!(e, RequestError::WrongAudience { .. }),
        ),
        (sign(&proto, &with("jti", Value::Null), json!({})), |e| {
            matches!(e, RequestError::Missing { name: "jti" })
        }),
        (
            sign(&proto, &with("exp", json!(NOW - 3600)), json!({})),
            |e| matches!(e, RequestError::Expired { exp } if *exp == NOW - 3600),
        ),
        (
            sign(&proto, &with("exp", json!(NOW + 86_400)), json!({})),
            |e| matches!(e, RequestError::LifetimeTooLong { max_lifetime: 600 }),
        ),
        (sign(&proto, &with("iat", json!("now")), json!({})), |e| {
            matches!(e, RequestError::IatNotInteger)
        }),
        (
            sign(&proto, &with("iat", json!(NOW + 3600)), json!({})),
            |e| matches!(e, RequestError::IatInFuture),
        ),
        (
            sign(&proto, &claims(&fed, "h1"), json!({"trust_chain": "x"})),
            |e| matches!(e, RequestError::MalformedChainHeader { header } if header == "trust_chain"),
        ),
        (
            sign(&proto, &claims(&fed, "h2"), json!({"peer_trust_chain": []})),
            |e| matches!(e, RequestError::PeerChainWithoutChain),
        ),
    ];
    for (jwt, check) in cases {
        let e = verify(jwt).await.unwrap_err();
        let reason = request_error(&e);
        assert!(check(reason), "{reason:?}");
        assert_eq!(e.error_code(), ErrorCode::InvalidRequest, "{e}");
        assert!(matches!(e, Error::InvalidRequest { .. }), "{e}");
    }

    // Signed with a key that is not the client's: invalid_client.
    let e = verify(sign(
        &other,
        &claims(&fed, "s1"),
        json!({"kid": proto.kid()}),
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::InvalidClient { reason: RequestError::Signature { what, .. }, .. }
                if what == "request object"
        ),
        "{e:?}"
    );
    assert_eq!(e.error_code(), ErrorCode::InvalidClient);
    // A replay: invalid_client.
    verify(sign(&proto, &claims(&fed, "r1"), json!({})))
        .await
        .unwrap();
    let e = verify(sign(&proto, &claims(&fed, "r1"), json!({})))
        .await
        .unwrap_err();
    assert!(
        matches!(request_error(&e), RequestError::Replayed { jti } if jti == "r1"),
        "{e:?}"
    );
    assert_eq!(
        RequestError::Replayed { jti: "x".into() }.code(),
        ErrorCode::InvalidClient
    );
}

/// A client assertion's own checks: `sub` must equal `iss`, `iss` present.
#[tokio::test]
async fn client_assertion_checks_are_typed() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let fed = fed_with(&proto);
    let r = resolver(&fed);
    let policy = RequestPolicy::new(OP);
    let guard = MemoryReplayGuard::default();
    let rp = fed.id("rp");
    let assertion =
        |c: Value| proto.sign_with_header(&json!({"alg": "ES256", "kid": proto.kid()}), &c);
    let base =
        json!({"iss": rp.as_str(), "sub": rp.as_str(), "aud": OP, "jti": "c1", "exp": NOW + 60});
    r.verify_client_assertion(&assertion(base.clone()), &policy, &guard)
        .await
        .unwrap();
    let mut c = base.clone();
    c["sub"] = json!("https://else.example");
    let e = r
        .verify_client_assertion(&assertion(c), &policy, &guard)
        .await
        .unwrap_err();
    assert!(
        matches!(request_error(&e), RequestError::SubNotIss),
        "{e:?}"
    );
    let mut c = base;
    c.as_object_mut().unwrap().remove("iss");
    let e = r
        .verify_client_assertion(&assertion(c), &policy, &guard)
        .await
        .unwrap_err();
    assert!(
        matches!(request_error(&e), RequestError::Missing { name: "iss" }),
        "{e:?}"
    );
}

/// Explicit Registration's body checks, and the deployment's refusal of the metadata
/// (`invalid_client_metadata`, with the decision's reason).
#[tokio::test]
async fn explicit_registration_checks_are_typed() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let fed = fed_with(&proto);
    let r = resolver(&fed);
    let signer = JwkSigner::generate_es256("op-1").unwrap();
    let refuse = |_: &oidfed::ResolvedEntity| -> Result<Map<String, Value>, String> {
        Err("no implicit flow here".into())
    };
    let mut reg = ExplicitRegistration {
        our_entity_id: OP,
        signer: &signer,
        max_lifetime: 3600,
        entity_type: RP,
        decide: None,
    };
    let e = r
        .register_explicit(b"x", "text/plain", &reg)
        .await
        .unwrap_err();
    assert!(
        matches!(request_error(&e), RequestError::UnsupportedContentType { content_type } if content_type == "text/plain"),
        "{e:?}"
    );
    let e = r
        .register_explicit(&[0xff, 0xfe], "application/entity-statement+jwt", &reg)
        .await
        .unwrap_err();
    assert!(matches!(request_error(&e), RequestError::NotUtf8), "{e:?}");
    let e = r
        .register_explicit(
            b"{\"not\": \"an array\"}",
            "application/trust-chain+json",
            &reg,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(request_error(&e), RequestError::NotAChain { .. }),
        "{e:?}"
    );

    // A valid chain, but the deployment refuses the metadata.
    reg.decide = Some(&refuse);
    let chain = serde_json::to_vec(&fed.chain(&["rp", "org", "ta"], true)).unwrap();
    let e = r
        .register_explicit(&chain, "application/trust-chain+json", &reg)
        .await
        .unwrap_err();
    assert!(
        matches!(request_error(&e), RequestError::MetadataRefused { reason } if reason == "no implicit flow here"),
        "{e:?}"
    );
    assert_eq!(e.error_code(), ErrorCode::InvalidClientMetadata);
    assert_eq!(e.spec_code(), "invalid_client_metadata");
}

/// A signer that always fails, as an HSM that is down would.
struct Down;

impl Signer for Down {
    fn alg(&self) -> oidfed::jose::Alg {
        oidfed::jose::Alg::ES256
    }
    fn kid(&self) -> &str {
        "down"
    }
    fn public_jwk(&self) -> Value {
        json!({"kid": "down"})
    }
    fn sign(&self, _: &[u8]) -> Result<Vec<u8>, SignerError> {
        Err(SignerError::Backend {
            detail: "the HSM is unreachable".into(),
        })
    }
}

/// A signer's failure keeps its type: through `resolve_response` as itself, through an
/// Explicit Registration as `ConfigError::Signing`.
#[tokio::test]
async fn signer_failures_are_typed() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let fed = fed_with(&proto);
    let r = resolver(&fed);
    let resolved = r.resolve(&fed.id("rp"), &RP).await.unwrap();
    assert!(matches!(
        resolve_response(&resolved, OP, &Down, NOW),
        Err(SignerError::Backend { .. })
    ));
    let reg = ExplicitRegistration {
        our_entity_id: OP,
        signer: &Down,
        max_lifetime: 3600,
        entity_type: RP,
        decide: None,
    };
    let chain = serde_json::to_vec(&fed.chain(&["rp", "org", "ta"], true)).unwrap();
    let e = r
        .register_explicit(&chain, "application/trust-chain+json", &reg)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Config(ConfigError::Signing {
                source: SignerError::Backend { .. },
                ..
            })
        ),
        "{e:?}"
    );
    assert_eq!(e.error_code(), ErrorCode::ServerError);

    // JwkSigner's own refusals.
    assert!(matches!(
        JwkSigner::from_jwk(oidfed::jose::Alg::ES256, &json!([])),
        Err(SignerError::NotAnObject)
    ));
    let mut jwk = json!({"kty": "EC", "crv": "P-256"});
    assert!(matches!(
        JwkSigner::from_jwk(oidfed::jose::Alg::ES256, &jwk),
        Err(SignerError::NoKid)
    ));
    jwk["kid"] = json!("k");
    assert!(matches!(
        JwkSigner::from_jwk(oidfed::jose::Alg::ES256, &jwk),
        Err(SignerError::InvalidKey { .. })
    ));
    // A signer whose key is not among the published ones.
    let ok = JwkSigner::generate_es256("k-1").unwrap();
    let e = oidfed::server::EntityConfiguration::new(OP)
        .sign(&ok, &[], NOW, 3600)
        .unwrap_err();
    assert_eq!(e, SignerError::KeyNotPublished { kid: "k-1".into() });
}

/// The in-memory replay guard fails closed, typed, when it is full of live values.
#[tokio::test]
async fn a_full_replay_guard_is_a_typed_configuration_error() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let fed = fed_with(&proto);
    let r = resolver(&fed);
    let policy = RequestPolicy::new(OP);
    let guard = MemoryReplayGuard::new(1);
    r.verify_request_object(
        &sign(&proto, &claims(&fed, "f1"), json!({})),
        &policy,
        &guard,
    )
    .await
    .unwrap();
    let e = r
        .verify_request_object(
            &sign(&proto, &claims(&fed, "f2"), json!({})),
            &policy,
            &guard,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Config(ConfigError::ReplayGuard(ReplayGuardProblem::Full {
                capacity: 1
            }))
        ),
        "{e:?}"
    );
}

/// An operator that tries to take a standard operator's name.
struct Impostor;

impl PolicyOperator for Impostor {
    fn name(&self) -> &str {
        "value"
    }
    fn kind(&self) -> OperatorKind {
        OperatorKind::Check
    }
    fn validate(&self, _: &Value) -> Result<(), String> {
        Ok(())
    }
    fn merge(&self, a: &Value, _: &Value) -> Result<Value, String> {
        Ok(a.clone())
    }
    fn apply(&self, v: &Value, _: Option<&Value>) -> Result<Option<Value>, String> {
        Ok(Some(v.clone()))
    }
}

/// The builder: no anchor is its own variant; every problem is reported at once, in the
/// order of the calls; a single anchor problem is that anchor's own error.
#[test]
fn the_builder_reports_every_problem_typed() {
    let e = Resolver::builder().build().err().unwrap();
    assert!(
        matches!(e, Error::Config(ConfigError::NoTrustAnchor)),
        "{e}"
    );
    assert_eq!(e.error_code(), ErrorCode::ServerError);

    // No anchor, and an operator that cannot be registered: both, no anchor first.
    let e = Resolver::builder()
        .policy_operator(Arc::new(Impostor))
        .build()
        .err()
        .unwrap();
    let Error::Config(ConfigError::Several(problems)) = &e else {
        panic!("{e:?}")
    };
    assert!(matches!(problems[0], ConfigError::NoTrustAnchor), "{e}");
    assert!(
        matches!(&problems[1], ConfigError::PolicyOperator(p) if p.operator.as_deref() == Some("value")),
        "{e}"
    );
    let _: &PolicyError = match &problems[1] {
        ConfigError::PolicyOperator(p) => p,
        _ => unreachable!(),
    };

    let ta = TestKey::generate(KeyAlg::ES256);
    let jwks = json!({"keys": [ta.public_jwk()]});
    // An http anchor without allow_http.
    let e = Resolver::builder()
        .trust_anchor("http://ta.example", &jwks)
        .build()
        .err()
        .unwrap();
    assert!(
        matches!(&e, Error::Config(ConfigError::HttpAnchor { anchor }) if anchor == "http://ta.example"),
        "{e:?}"
    );
    // Keys that are no JWK Set; no usable key.
    let e = Resolver::builder()
        .trust_anchor("https://ta.example", &json!(7))
        .build()
        .err()
        .unwrap();
    assert!(
        matches!(&e, Error::Config(ConfigError::InvalidAnchorJwks { anchor, .. }) if anchor == "https://ta.example"),
        "{e:?}"
    );
    let e = Resolver::builder()
        .trust_anchor("https://ta.example", &json!({"keys": []}))
        .build()
        .err()
        .unwrap();
    assert!(
        matches!(&e, Error::Config(ConfigError::NoUsableAnchorKey { .. })),
        "{e:?}"
    );
    // One bad identifier alone is its own error; with another problem, it is listed.
    let e = Resolver::builder()
        .trust_anchor("not a url", &jwks)
        .build()
        .err()
        .unwrap();
    assert!(matches!(e, Error::EntityId { .. }), "{e:?}");
    let e = Resolver::builder()
        .trust_anchor("not a url", &jwks)
        .trust_anchor("http://ta.example", &jwks)
        .build()
        .err()
        .unwrap();
    let Error::Config(c) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(c.problems().len(), 2, "{e}");
    assert!(
        matches!(&c.problems()[0], ConfigError::Anchor(a) if matches!(**a, Error::EntityId { .. })),
        "{e}"
    );
    assert!(
        matches!(c.problems()[1], ConfigError::HttpAnchor { .. }),
        "{e}"
    );
}

/// An empty chain handed over whole is a typed configuration error.
#[tokio::test]
async fn an_empty_chain_is_a_typed_error() {
    let proto = TestKey::generate(KeyAlg::ES256);
    let fed = fed_with(&proto);
    let e = resolver(&fed).validate_chain(&[], &RP).await.unwrap_err();
    assert!(matches!(e, Error::Config(ConfigError::EmptyChain)), "{e:?}");
}
