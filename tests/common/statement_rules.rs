//! Helpers of the `statement_*` tests, which publish a correctly signed statement that
//! breaks exactly one rule, assert the resolver (and, for pure statement rules,
//! `EntityStatement::parse`) rejects it with that rule and names the statement, then show
//! the unbroken statement is accepted.
#![allow(dead_code)]

use crate::common::*;
use oidfed::statement::{EntityStatement, StatementRules};
use oidfed::testing::{Federation, TestKey};
use oidfed::{EntityType, Error, Rule, StatementError};
use serde_json::{Map, Value, json};

pub const RP: EntityType = EntityType::OPENID_RELYING_PARTY;
pub const TYP: &str = "entity-statement+jwt";

pub fn b64url(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub fn b64url_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .expect("base64url")
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

/// Asserts `e` is `rule` broken by the statement `iss` → `sub`, with `detail` in the message.
pub fn assert_broken(e: &Error, rule: Rule, iss: &str, sub: &str, detail: &str) {
    let s = statement_error(e);
    assert_eq!(s.rule, rule, "{e}");
    assert_eq!(s.issuer.as_deref(), Some(iss), "{e}");
    assert_eq!(s.subject.as_deref(), Some(sub), "{e}");
    assert!(
        s.detail.contains(detail),
        "detail {:?} lacks {detail:?}",
        s.detail
    );
}

pub async fn resolve_err(fed: &Federation) -> Error {
    resolver(fed)
        .resolve(&fed.id("rp"), &RP)
        .await
        .expect_err("resolution must fail")
}

pub async fn assert_resolves(fed: &Federation) {
    if let Err(e) = resolver(fed).resolve(&fed.id("rp"), &RP).await {
        panic!("resolution must succeed: {e}");
    }
}

pub fn parse(token: &str) -> Result<EntityStatement, StatementError> {
    EntityStatement::parse(token, &StatementRules::default())
}

/// `claims` signed by `key` under `header` members added to `{alg, kid, typ}`.
pub fn sign_with_extra_header(key: &TestKey, extra: Value, claims: &Map<String, Value>) -> String {
    let mut header = json!({"alg": key.alg().name(), "kid": key.kid(), "typ": TYP});
    if let (Some(h), Value::Object(extra)) = (header.as_object_mut(), extra) {
        h.extend(extra);
    }
    key.sign_with_header(&header, &Value::Object(claims.clone()))
}

/// The received path: rp's chain (rp, org → rp, ta → org, ta's EC) exactly as `fed` serves it
/// now, handed over whole (a `trust_chain` header, an Explicit Registration body); returns
/// the refusal.
pub async fn received_err(fed: &Federation) -> Error {
    resolver(fed)
        .resolve_received_chain(&fed.chain(&["rp", "org", "ta"], true), &RP)
        .await
        .expect_err("the received chain must be refused")
}

/// "Break one statement, expect this rule on both paths": with the broken statement
/// published, resolving rp (the fetched path) and rp's chain handed over whole (the received
/// path) are both refused for `rule`, naming the statement `iss` → `sub` with `detail`.
/// Returns the fetched path's error, for assertions on its shape.
pub async fn assert_refused_both_ways(
    fed: &Federation,
    rule: Rule,
    iss: &str,
    sub: &str,
    detail: &str,
) -> Error {
    let fetched = resolve_err(fed).await;
    assert_broken(&fetched, rule, iss, sub, detail);
    assert_broken(&received_err(fed).await, rule, iss, sub, detail);
    fetched
}

/// The identifiers of `rp`, `org` and `ta`, as they appear in the statements.
pub fn ids(fed: &Federation) -> (String, String, String) {
    (
        fed.id("rp").to_string(),
        fed.id("org").to_string(),
        fed.id("ta").to_string(),
    )
}
