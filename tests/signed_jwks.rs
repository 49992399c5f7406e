//! `signed_jwks_uri` (§5.2.1): `iat` and `exp` are read with the statements' NumericDate
//! rules and judged with their clock-skew rule (issue 13 item 3). A malformed `exp` used to
//! count as "no exp", so an expired set was accepted.

mod common;

use common::*;
use oidfed::fetch::FetchResponse;
use oidfed::record::KeySource;
use oidfed::testing::{Federation, KeyAlg, TestKey};
use oidfed::{EntityType, Error, Rule};
use serde_json::{Value, json};

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;
const URI: &str = "https://fed.example/rp/signed-jwks";

fn fed() -> Federation {
    three_level()
        .metadata(
            "rp",
            "openid_relying_party",
            json!({"client_name": "RP", "redirect_uris": ["https://rp.example/cb"],
                "signed_jwks_uri": URI}),
        )
        .build()
}

/// Serves a signed JWK Set with `edit` applied to otherwise valid claims, and resolves the
/// RP's record (a fresh resolver each time, skew 60 s).
async fn record_with(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Result<(), Error> {
    let fed = fed();
    let proto = TestKey::generate(KeyAlg::ES256);
    let mut claims = json!({"iss": fed.id("rp").as_str(), "sub": fed.id("rp").as_str(),
        "iat": NOW, "exp": NOW + 600, "keys": [proto.public_jwk()]})
    .as_object()
    .unwrap()
    .clone();
    edit(&mut claims);
    let jwt = fed
        .key("rp")
        .sign_jwt("jwk-set+jwt", &Value::Object(claims));
    fed.fetcher()
        .insert(URI, FetchResponse::ok("application/jwk-set+jwt", jwt));
    let (b, _) = builder(&fed, &["ta"]);
    let r = b.clock_skew(60).build().unwrap();
    let rec = r.record(&fed.id("rp"), &RP).await?;
    assert_eq!(rec.key_source, KeySource::SignedJwksUri);
    assert_eq!(rec.keys["keys"][0]["kid"], json!(proto.kid()));
    Ok(())
}

fn assert_refused(r: Result<(), Error>, what: &str) {
    match r {
        Err(Error::Statement(e)) => assert_eq!(e.rule, Rule::Jwks, "{what}: {e}"),
        other => panic!("{what}: {other:?}"),
    }
}

#[tokio::test]
async fn valid_signed_jwks_is_used() {
    record_with(|_| {}).await.unwrap();
    // Both claims are optional.
    record_with(|c| {
        c.remove("iat");
        c.remove("exp");
    })
    .await
    .unwrap();
}

/// `exp` that is not an integer: a fraction and an exponent form are NumericDates (RFC 7519)
/// read like a statement's (1000.5 → 1000, 1e3 → 1000), so these long-expired sets are
/// refused; a string is no NumericDate at all and is refused as malformed.
#[tokio::test]
async fn non_integer_exp_is_read_not_ignored() {
    for exp in [
        json!(1000.5),
        json!("1000"),
        json!(1e3),
        json!(-1),
        json!(null),
    ] {
        let e = exp.clone();
        assert_refused(
            record_with(|c| {
                c.insert("exp".into(), e);
            })
            .await,
            &format!("exp {exp}"),
        );
    }
    // A fractional exp in the future is fine (rounded down).
    record_with(|c| {
        c.insert("exp".into(), json!(NOW as f64 + 600.5));
    })
    .await
    .unwrap();
}

/// Expired and issued-in-the-future sets, with the statements' 60 s leeway on both.
#[tokio::test]
async fn expired_or_future_signed_jwks_is_refused() {
    assert_refused(
        record_with(|c| {
            c.insert("exp".into(), json!(NOW - 60));
        })
        .await,
        "expired beyond the skew",
    );
    record_with(|c| {
        c.insert("exp".into(), json!(NOW - 59));
    })
    .await
    .unwrap();
    assert_refused(
        record_with(|c| {
            c.insert("iat".into(), json!(NOW + 61));
        })
        .await,
        "issued in the future",
    );
    record_with(|c| {
        c.insert("iat".into(), json!(NOW + 60));
    })
    .await
    .unwrap();
    assert_refused(
        record_with(|c| {
            c.insert("iat".into(), json!("yesterday"));
        })
        .await,
        "malformed iat",
    );
}
