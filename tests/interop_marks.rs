//! The interoperability profile's trust-mark tolerances (issue 18): a pre-final `id` inside a
//! Trust Mark, an empty `ref`, and a Trust Anchor that lists its issuers under the misspelt
//! `trust_marks_issuers`. Strict mode refuses the mark (so a required mark fails the
//! resolution); the profile accepts it and reports the deviation; a forged or expired mark or
//! anchor configuration is refused by both.

mod common;
mod interop_common;

use common::*;
use interop_common::*;
use oidfed::error::RequiredMarkProblem;
use oidfed::testing::{Federation, KeyAlg, TestKey};
use oidfed::{Error, Resolver, Rule, Tolerance};
use serde_json::{Map, Value, json};

#[derive(Clone, Copy)]
enum Tamper {
    None,
    Forge,
    Expire,
}

/// `rp`'s mark from `ta`, its claims edited by `edit`, signed (or forged, or expired).
fn rp_mark(tamper: Tamper, edit: fn(&mut Map<String, Value>)) -> Federation {
    let fed = marked().build();
    let mut c = mark_claims(&fed);
    edit(&mut c);
    let other = TestKey::generate(KeyAlg::ES256);
    let key = match tamper {
        Tamper::Forge => Some(&other),
        Tamper::Expire => {
            c.insert("iat".into(), json!(NOW - 7200));
            c.insert("exp".into(), json!(NOW - 3600));
            None
        }
        Tamper::None => None,
    };
    let jwt = sign_mark(&fed, "ta", key, Value::Object(c));
    set_rp_marks(&fed, json!({"trust_mark_type": TYPE, "trust_mark": jwt}));
    fed
}

fn requiring(fed: &Federation, interop_profile: bool) -> Resolver {
    let b = if interop_profile {
        interop_builder(fed)
    } else {
        strict_builder(fed)
    };
    b.require_trust_marks(&[TYPE]).build().expect("resolver")
}

fn assert_mark_refused(e: &Error, reason: &str) {
    match e {
        Error::TrustMarkRequired {
            trust_mark_type,
            reason: r,
            ..
        } => {
            assert_eq!(trust_mark_type, TYPE);
            let RequiredMarkProblem::Invalid(r) = r else {
                panic!("expected a refused mark, got {r:?}")
            };
            assert!(r.reason.contains(reason), "{r:?} lacks {reason:?}");
        }
        other => panic!("expected TrustMarkRequired, got {other}"),
    }
}

/// Strict refuses the edited mark (`strict_check`), interop accepts it reporting `t` on
/// `ta` → `rp`, and both refuse it forged or expired.
async fn mark_case(
    edit: fn(&mut Map<String, Value>),
    strict_check: impl Fn(&Error, &Federation),
    t: Tolerance,
) {
    let fed = rp_mark(Tamper::None, edit);
    let e = resolve_err(&requiring(&fed, false), &fed).await;
    strict_check(&e, &fed);
    let r = resolve_ok(&requiring(&fed, true), &fed).await;
    assert_eq!(r.trust_marks().len(), 1, "{:?}", r.rejected_trust_marks());
    assert!(
        has(&r.deviations(), &fed, "ta", "rp", t),
        "{:?}",
        r.deviations()
    );

    let forged = rp_mark(Tamper::Forge, edit);
    // Refused by strict (for the same reason as unforged), and by the profile.
    resolve_err(&requiring(&forged, false), &forged).await;
    let e = resolve_err(&requiring(&forged, true), &forged).await;
    assert_mark_refused(&e, "signature");

    let expired = rp_mark(Tamper::Expire, edit);
    // Refused by strict (for the same reason as unforged), and by the profile.
    resolve_err(&requiring(&expired, false), &expired).await;
    let e = resolve_err(&requiring(&expired, true), &expired).await;
    assert_mark_refused(&e, "expired");
}

#[tokio::test]
async fn pre_final_id_inside_a_trust_mark_is_read_as_trust_mark_type() {
    mark_case(
        |c| {
            c.remove("trust_mark_type");
            c.insert("id".into(), json!(TYPE));
        },
        // The configuration carrying it fails §3.2 step 20 (its entry's type is not the
        // JWT's), with the whole picture.
        |e, fed| {
            assert_strict_syntax_error(
                e,
                fed,
                "rp",
                "rp",
                Rule::TrustMarks,
                Tolerance::PreFinalTrustMarkType,
            )
        },
        Tolerance::PreFinalTrustMarkType,
    )
    .await;
}

#[tokio::test]
async fn empty_ref_in_a_trust_mark_is_read_as_absent() {
    mark_case(
        |c| {
            c.insert("ref".into(), json!(""));
        },
        |e, _| {
            assert_mark_refused(e, "ref \"\" is not a URL");
            assert_mark_refused(
                e,
                "the interop profile would accept it, tolerating empty_trust_mark_url",
            );
        },
        Tolerance::EmptyTrustMarkUrl,
    )
    .await;
    // A non-empty ref must still be a URL, under every profile.
    let fed = rp_mark(Tamper::None, |c| {
        c.insert("ref".into(), json!("not a url"));
    });
    let e = resolve_err(&requiring(&fed, true), &fed).await;
    assert_mark_refused(&e, "is not a URL");
}

/// The anchor lists its issuers only under the misspelt `trust_marks_issuers`.
fn misspelt(tamper: Tamper) -> Federation {
    let fed = marked().build();
    let ta = fed.id("ta").to_string();
    fed.republish_ec("ta", |c| {
        c.remove("trust_mark_issuers");
        c.insert("trust_marks_issuers".into(), json!({ TYPE: [ta] }));
    });
    match tamper {
        Tamper::None => {}
        Tamper::Forge => forge(&fed, "ta", "ta"),
        Tamper::Expire => expire(&fed, "ta", "ta"),
    }
    fed
}

#[tokio::test]
async fn misspelt_trust_marks_issuers_alone_is_read_as_trust_mark_issuers() {
    let fed = misspelt(Tamper::None);
    let e = resolve_err(&requiring(&fed, false), &fed).await;
    assert_mark_refused(&e, "does not recognise");
    assert_mark_refused(&e, "tolerating misspelt_trust_marks_issuers");
    let r = resolve_ok(&requiring(&fed, true), &fed).await;
    assert_eq!(r.trust_marks().len(), 1, "{:?}", r.rejected_trust_marks());
    assert!(has(
        &r.deviations(),
        &fed,
        "ta",
        "ta",
        Tolerance::MisspeltTrustMarksIssuers
    ));

    // Read as the anchor's list, so it restricts: an issuer it does not name is refused.
    let fed = marked().build();
    fed.republish_ec("ta", |c| {
        c.remove("trust_mark_issuers");
        c.insert(
            "trust_marks_issuers".into(),
            json!({ TYPE: ["https://fed.example/someone-else"] }),
        );
    });
    let e = resolve_err(&requiring(&fed, true), &fed).await;
    assert_mark_refused(&e, "is not an issuer the trust anchor accepts");

    for (tamper, rule) in [
        (Tamper::Forge, Rule::Signature),
        (Tamper::Expire, Rule::Expiry),
    ] {
        let fed = misspelt(tamper);
        for profile in [false, true] {
            let e = resolve_err(&requiring(&fed, profile), &fed).await;
            assert_eq!(statement_error(&e).rule, rule, "{e}");
        }
    }
}

#[tokio::test]
async fn misspelt_trust_marks_issuers_next_to_the_right_one_is_ignored() {
    let fed = marked().build();
    fed.republish_ec("ta", |c| {
        c.insert(
            "trust_mark_issuers".into(),
            json!({ TYPE: ["https://fed.example/someone-else"] }),
        );
        c.insert("trust_marks_issuers".into(), json!({ TYPE: [] }));
    });
    for profile in [false, true] {
        let e = resolve_err(&requiring(&fed, profile), &fed).await;
        assert_mark_refused(&e, "is not an issuer the trust anchor accepts");
    }
    let r = resolve_ok(&interop(&fed), &fed).await;
    assert!(has(
        &r.deviations(),
        &fed,
        "ta",
        "ta",
        Tolerance::MisspeltTrustMarksIssuers
    ));
}
