//! Helpers of the interoperability-profile tests: resolvers of both profiles, and ways to
//! forge, expire and re-sign statements and trust marks of a test federation.
#![allow(dead_code)]

use crate::common::*;
use oidfed::testing::{Federation, FederationBuilder, KeyAlg, TestKey};
use oidfed::{
    Deviation, EntityType, Error, Profile, Resolver, ResolverBuilder, SignatureCheck,
    StatementError, Tolerance,
};
use serde_json::{Map, Value, json};

pub const RP: EntityType = EntityType::OPENID_RELYING_PARTY;
pub const TYP: &str = "entity-statement+jwt";
/// The trust mark type of these tests.
pub const TYPE: &str = "https://fed.example/tm/member";

/// `ta` ← `org` ← `rp`; `ta` recognises [`TYPE`] from anyone and issued one to `rp`.
pub fn marked() -> FederationBuilder {
    three_level()
        .ec_claim("ta", "trust_mark_issuers", json!({ TYPE: [] }))
        .trust_mark("ta", "rp", TYPE)
}

pub fn strict_builder(fed: &Federation) -> ResolverBuilder {
    builder(fed, &["ta"]).0
}

pub fn interop_builder(fed: &Federation) -> ResolverBuilder {
    builder(fed, &["ta"]).0.profile(Profile::Interop)
}

pub fn strict(fed: &Federation) -> Resolver {
    strict_builder(fed).build().expect("resolver")
}

pub fn interop(fed: &Federation) -> Resolver {
    interop_builder(fed).build().expect("resolver")
}

/// The statement error behind `e`: the subject's own EC fails the resolution directly; a
/// superior's statement fails the single path that needed it.
pub fn statement_error(e: &Error) -> &StatementError {
    match e {
        Error::Statement(s) => s,
        Error::NoTrustChain { attempts, .. } if attempts.len() == 1 => {
            statement_error(&attempts[0].error)
        }
        other => panic!("expected a statement error, got: {other}"),
    }
}

pub async fn resolve_err(r: &Resolver, fed: &Federation) -> Error {
    r.resolve(&fed.id("rp"), &RP)
        .await
        .expect_err("resolution must fail")
}

pub async fn resolve_ok(r: &Resolver, fed: &Federation) -> oidfed::ResolvedEntity {
    match r.resolve(&fed.id("rp"), &RP).await {
        Ok(x) => x,
        Err(e) => panic!("resolution must succeed: {e}"),
    }
}

/// Whether `deviations` holds `tolerance` for the statement `iss` → `sub`.
pub fn has(deviations: &[Deviation], fed: &Federation, iss: &str, sub: &str, t: Tolerance) -> bool {
    deviations.iter().any(|d| {
        d.tolerance == t && d.issuer == fed.id(iss).as_str() && d.subject == fed.id(sub).as_str()
    })
}

/// The token served for `iss` → `sub` (the configuration when equal).
pub fn served(fed: &Federation, iss: &str, sub: &str) -> String {
    if iss == sub {
        fed.entity_configuration(iss)
    } else {
        fed.subordinate_statement(iss, sub)
    }
}

/// Serves `iss` → `sub` with its current claims and `kid`, signed by another key.
pub fn forge(fed: &Federation, iss: &str, sub: &str) {
    let claims = claims_of(&served(fed, iss, sub));
    let header = json!({"alg": "ES256", "kid": fed.key(iss).kid(), "typ": TYP});
    let jwt = TestKey::generate(KeyAlg::ES256).sign_with_header(&header, &Value::Object(claims));
    if iss == sub {
        fed.publish_raw_ec(iss, &jwt);
    } else {
        fed.publish_raw_ss(iss, sub, &jwt);
    }
}

/// Re-signs `iss` → `sub` with an expiry an hour in the past.
pub fn expire(fed: &Federation, iss: &str, sub: &str) {
    fed.republish_ss(iss, sub, |c| {
        c.insert("iat".into(), json!(NOW - 7200));
        c.insert("exp".into(), json!(NOW - 3600));
    });
}

/// A trust mark about `sub` signed by `issuer` (`key` when given), from `claims`.
pub fn sign_mark(fed: &Federation, issuer: &str, key: Option<&TestKey>, claims: Value) -> String {
    let own = fed.key(issuer);
    let key = key.unwrap_or(&own);
    let header = json!({"alg": "ES256", "kid": own.kid(), "typ": "trust-mark+jwt"});
    key.sign_with_header(&header, &claims)
}

/// Standard trust mark claims of `ta` about `rp`.
pub fn mark_claims(fed: &Federation) -> Map<String, Value> {
    json!({"iss": fed.id("ta").as_str(), "sub": fed.id("rp").as_str(),
           "trust_mark_type": TYPE, "iat": NOW, "exp": NOW + 600})
    .as_object()
    .cloned()
    .expect("object")
}

/// Replaces `rp`'s trust marks with the one `entry`.
pub fn set_rp_marks(fed: &Federation, entry: Value) {
    fed.republish_ec("rp", |c| {
        c.insert("trust_marks".into(), json!([entry]));
    });
}

/// Asserts the strict error `e` is `rule` on `iss` → `sub`, says the signature verifies and
/// the statement is not expired, and that the interop profile would accept it with `t`.
pub fn assert_strict_syntax_error(
    e: &Error,
    fed: &Federation,
    iss: &str,
    sub: &str,
    rule: oidfed::Rule,
    t: Tolerance,
) {
    let s = statement_error(e);
    assert_eq!(s.rule, rule, "{e}");
    assert_eq!(s.issuer.as_deref(), Some(fed.id(iss).as_str()), "{e}");
    assert_eq!(s.subject.as_deref(), Some(fed.id(sub).as_str()), "{e}");
    assert_eq!(s.signature, SignatureCheck::Verified, "{e}");
    assert_eq!(s.expired, Some(false), "{e}");
    assert_eq!(s.would_accept_under, Some(Profile::Interop), "{e}");
    assert!(s.tolerances.contains(&t), "{e}");
    let shown = e.to_string();
    let said = if iss == sub {
        "self-signature verifies (keys not yet vouched for)"
    } else {
        "signature verifies under the issuer's self-published keys"
    };
    assert!(shown.contains(said), "{shown}");
    assert!(shown.contains(t.name()), "{shown}");
}
