//! Request checks: a Request Object without `exp`, failed trust for the `client_id` in the
//! Request Object and PAR client-authentication paths, and an Explicit Registration `aud`
//! that is not exactly this server, and the JOSE header rules a Request Object shares with
//! every other JWT kind.

mod common;
#[path = "common/server_edges.rs"]
mod server_support;

use common::*;
use oidfed::server::{MemoryReplayGuard, RequestPolicy};
use oidfed::{Error, RequestError, Rule};
use serde_json::{Value, json};
use server_support::*;

// ---------------------------------------------------------------------------------------
// 107: a Request Object without exp.
// ---------------------------------------------------------------------------------------

/// 107: `exp` removed (with a fresh `jti`): invalid_request. With `exp` it is accepted.
#[tokio::test]
async fn request_object_without_exp_is_rejected() {
    let TwoRps {
        proto,
        fed,
        r,
        policy,
        guard,
        ..
    } = two_rps_setup();
    let rp = fed.id("rp");

    let ok = sign_request(&proto, &request_claims(&rp, OP, "exp-1"), json!({}));
    r.verify_request_object(&ok, &policy, &guard).await.unwrap();

    let mut c = request_claims(&rp, OP, "exp-2");
    c.remove("exp");
    let e = r
        .verify_request_object(&sign_request(&proto, &c, json!({})), &policy, &guard)
        .await
        .unwrap_err();
    assert_eq!(e.spec_code(), "invalid_request", "{e}");
    assert!(
        matches!(reason_of(&e), RequestError::Missing { name: "exp" }),
        "{e}"
    );

    // A non-integer exp counts as missing too.
    let mut c = request_claims(&rp, OP, "exp-3");
    c.insert("exp".into(), json!("soon"));
    let e = r
        .verify_request_object(&sign_request(&proto, &c, json!({})), &policy, &guard)
        .await
        .unwrap_err();
    assert!(
        matches!(reason_of(&e), RequestError::Missing { name: "exp" }),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------
// 110: failed trust for client_id (Request Object and PAR client authentication).
// ---------------------------------------------------------------------------------------

/// 110 (partial): when the client's trust cannot be established, the Request Object and
/// the `private_key_jwt` assertion (PAR client authentication) both fail with a trust error
/// about the client, before any claim of the request (such as `redirect_uri`) is returned.
/// The library has no explicit "do not redirect" flag: any error here means "do not
/// redirect" (§12.1.3).
#[tokio::test]
async fn failed_trust_for_the_client_id_is_a_trust_error_in_both_paths() {
    let TwoRps { proto, fed, r, .. } = two_rps_setup();
    let rp = fed.id("rp");
    // org's statement about rp now has a bad signature: trust cannot be established.
    let ss = fed.subordinate_statement("org", "rp");
    let mut parts: Vec<String> = ss.split('.').map(str::to_string).collect();
    parts[2] = fed
        .key("rp2")
        .sign_jwt("entity-statement+jwt", &Value::Object(claims_of(&ss)))
        .split('.')
        .nth(2)
        .unwrap()
        .to_string();
    fed.publish_raw_ss("org", "rp", &parts.join("."));
    let mut policy = RequestPolicy::new(OP);
    policy.assertion_audiences.push(format!("{OP}/par"));
    let guard = MemoryReplayGuard::default();

    let ro = sign_request(&proto, &request_claims(&rp, OP, "par-ro-1"), json!({}));
    let e = r
        .verify_request_object(&ro, &policy, &guard)
        .await
        .unwrap_err();
    match &e {
        Error::NoTrustChain { subject, .. } => assert_eq!(*subject, rp),
        other => panic!("expected NoTrustChain for rp, got {other:?}"),
    }
    assert_eq!(e.spec_code(), "invalid_trust_chain", "{e}");
    assert!(!e.is_transient());

    let assertion = proto.sign_jwt(
        "JWT",
        &json!({"iss": rp.as_str(), "sub": rp.as_str(), "aud": format!("{OP}/par"),
                "jti": "par-a-1", "exp": NOW + 60}),
    );
    let e = r
        .verify_client_assertion(&assertion, &policy, &guard)
        .await
        .unwrap_err();
    match &e {
        Error::NoTrustChain { subject, .. } => assert_eq!(*subject, rp),
        other => panic!("expected NoTrustChain for rp, got {other:?}"),
    }
    assert_eq!(e.spec_code(), "invalid_trust_chain", "{e}");
}

/// 112: an EC body whose `aud` is another server (or an array with another server) is
/// refused with the audience rule; without `aud` it is refused as well.
#[tokio::test]
async fn explicit_registration_aud_must_be_exactly_this_server() {
    let TwoRps { fed, r, .. } = two_rps_setup();
    let signer = op_signer();
    let reg = registration(&signer);
    let ec = claims_of(&fed.entity_configuration("rp"));
    let body = |aud: Option<Value>| {
        let mut c = ec.clone();
        if let Some(a) = aud {
            c.insert("aud".into(), a);
        }
        resign_statement(&fed.key("rp"), &c, json!({}))
    };
    r.register_explicit(
        body(Some(json!(OP))).as_bytes(),
        "application/entity-statement+jwt",
        &reg,
    )
    .await
    .unwrap();
    for aud in [
        json!("https://other.example"),
        json!([OP, "https://other.example"]),
    ] {
        let e = r
            .register_explicit(
                body(Some(aud)).as_bytes(),
                "application/entity-statement+jwt",
                &reg,
            )
            .await
            .unwrap_err();
        assert_eq!(e.rule(), Some(Rule::Audience), "{e}");
    }
    let e = r
        .register_explicit(
            body(None).as_bytes(),
            "application/entity-statement+jwt",
            &reg,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(reason_of(&e), RequestError::WrongAudience { expected } if expected == OP),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------
// One JOSE header check for every JWT kind.
// ---------------------------------------------------------------------------------------

/// A Request Object goes through the header check federation statements go through: no
/// key-carrying header, no `crit`, a non-empty `kid`; its `typ` is optional but, when
/// present, names a Request Object, compared as a media type (RFC 7515 §4.1.9), so
/// `application/oauth-authz-req+jwt` is accepted and another kind's `typ` is not.
#[tokio::test]
async fn request_object_header_follows_the_shared_jose_header_rules() {
    let TwoRps {
        proto,
        fed,
        r,
        policy,
        guard,
        ..
    } = two_rps_setup();
    let rp = fed.id("rp");
    type Check = fn(&RequestError) -> bool;
    let refused: [(Value, &str, Check); 4] = [
        (
            json!({"typ": "entity-statement+jwt"}),
            "typ",
            |r| matches!(r, RequestError::WrongTyp { typ } if typ == "entity-statement+jwt"),
        ),
        (json!({"jwk": proto.public_jwk()}), "jwk", |r| {
            matches!(r, RequestError::HeaderNotAccepted { header: "jwk" })
        }),
        (json!({"crit": ["exp"]}), "crit", |r| {
            matches!(r, RequestError::HeaderNotAccepted { header: "crit" })
        }),
        (json!({"kid": ""}), "kid", |r| {
            matches!(r, RequestError::Missing { name: "kid" })
        }),
    ];
    for (i, (extra, what, expected)) in refused.into_iter().enumerate() {
        let jwt = sign_request(&proto, &request_claims(&rp, OP, &format!("hdr-{i}")), extra);
        let e = r
            .verify_request_object(&jwt, &policy, &guard)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidRequest { .. }), "{what}: {e:?}");
        assert!(expected(reason_of(&e)), "{what}: {e}");
    }
    let long_form = sign_request(
        &proto,
        &request_claims(&rp, OP, "hdr-ok"),
        json!({"typ": "application/oauth-authz-req+jwt"}),
    );
    r.verify_request_object(&long_form, &policy, &guard)
        .await
        .unwrap();
}
