//! Policy work is bounded (issue 13, item 2): value sizes have typed limits, the set
//! operators cost n log n comparisons (counted, never timed), and the resolution deadline
//! covers validation and policy, not only the walk.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{builder, three_level};
use oidfed::policy::{OperatorKind, PolicyOperator};
use oidfed::testing::{Federation, policy_comparisons, reset_policy_comparisons};
use oidfed::{EntityType, Error, Limit, Limits, ResolverBuilder};
use serde_json::{Value, json};

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;

/// The limit a failed resolution ran into: directly, or on its only path.
fn limit_of(e: &Error) -> Option<Limit> {
    match e {
        Error::LimitExceeded { limit, .. } => Some(*limit),
        Error::NoTrustChain { attempts, .. } if attempts.len() == 1 => limit_of(&attempts[0].error),
        _ => None,
    }
}

fn words(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// A hostile chain at size `n`: the anchor and the intermediate both state `subset_of` and
/// `one_of` of n values (merged by intersection), and `add` n values; the leaf declares n
/// contacts and a scope of n words, which the intermediate narrows with a scope `subset_of`
/// of n words.
fn hostile(n: usize) -> Federation {
    let ta_policy = json!({"openid_relying_party": {
        "contacts": {"subset_of": words("c", 2 * n)},
        "response_types": {"one_of": words("r", n)},
        "grant_types": {"add": words("g", n)},
    }});
    let org_policy = json!({"openid_relying_party": {
        "contacts": {"subset_of": words("c", n)},
        "response_types": {"one_of": words("r", 2 * n)[n / 2..].to_vec()},
        "grant_types": {"add": words("g", 2 * n)},
        "scope": {"subset_of": words("s", n).join(" ")},
    }});
    three_level()
        .metadata(
            "rp",
            "openid_relying_party",
            json!({
                "contacts": words("c", n).into_iter().rev().collect::<Vec<_>>(),
                "response_types": format!("r{}", n - 1),
                "scope": words("s", n).into_iter().rev().collect::<Vec<_>>().join(" "),
            }),
        )
        .metadata_policy("ta", "org", ta_policy)
        .metadata_policy("org", "rp", org_policy)
        .build()
}

/// Room for the hostile statements (their sizes are what these tests are about).
fn roomy(b: ResolverBuilder) -> ResolverBuilder {
    let mut l = Limits::default();
    l.max_statement_bytes = 4 * 1024 * 1024;
    b.limits(l)
        .max_value_array_len(100_000)
        .max_value_string_len(1024 * 1024)
        .max_scope_words(100_000)
}

/// Resolves the hostile chain at size n and returns the policy comparisons it cost.
async fn comparisons_at(n: usize) -> u64 {
    let fed = hostile(n);
    let r = roomy(builder(&fed, &["ta"]).0).build().unwrap();
    reset_policy_comparisons();
    let rp = r.resolve(&fed.id("rp"), &RP).await.unwrap();
    let c = policy_comparisons();
    let md = rp.metadata();
    assert_eq!(md["contacts"].as_array().unwrap().len(), n);
    assert_eq!(md["grant_types"].as_array().unwrap().len(), 2 * n);
    assert_eq!(md["scope"].as_str().unwrap().split(' ').count(), n);
    assert_eq!(md["response_types"], json!(format!("r{}", n - 1)));
    c
}

#[tokio::test]
async fn large_policy_values_cost_n_log_n_comparisons() {
    let n = 10_000;
    let small = comparisons_at(n / 2).await;
    let large = comparisons_at(n).await;
    // The set operators go through the counted ordered comparison at all…
    assert!(small > 0, "no comparison counted");
    // …and doubling n costs a little more than twice (n log n: ≈ 2.1), never four times
    // (n²), with an absolute bound of a few dozen comparisons per element and level.
    let log2n = (n as f64).log2();
    assert!(
        (large as f64) < 2.6 * small as f64,
        "{small} comparisons at n/2, {large} at n"
    );
    assert!(
        (large as f64) < 32.0 * n as f64 * log2n,
        "{large} comparisons at n = {n}"
    );
}

#[tokio::test]
async fn a_ten_thousand_word_scope_meets_the_scope_word_limit() {
    let fed = three_level()
        .metadata(
            "rp",
            "openid_relying_party",
            json!({"scope": words("s", 10_000).join(" ")}),
        )
        .build();
    let mut l = Limits::default();
    l.max_statement_bytes = 1024 * 1024;
    let r = builder(&fed, &["ta"]).0.limits(l).build().unwrap();
    let e = r.resolve(&fed.id("rp"), &RP).await.unwrap_err();
    assert_eq!(limit_of(&e), Some(Limit::ScopeWords), "{e}");

    // A deployment that allows it resolves it.
    let r = builder(&fed, &["ta"])
        .0
        .limits({
            let mut l = Limits::default();
            l.max_statement_bytes = 1024 * 1024;
            l
        })
        .max_scope_words(10_000)
        .max_value_string_len(1024 * 1024)
        .build()
        .unwrap();
    let rp = r.resolve(&fed.id("rp"), &RP).await.unwrap();
    assert_eq!(
        rp.metadata()["scope"].as_str().unwrap().split(' ').count(),
        10_000
    );
}

#[tokio::test]
async fn policy_and_metadata_sizes_have_typed_limits() {
    // An array in the leaf's metadata.
    let fed = three_level()
        .metadata(
            "rp",
            "openid_relying_party",
            json!({"contacts": ["a", "b", "c", "d"]}),
        )
        .build();
    let e = builder(&fed, &["ta"])
        .0
        .max_value_array_len(3)
        .build()
        .unwrap()
        .resolve(&fed.id("rp"), &RP)
        .await
        .unwrap_err();
    assert_eq!(limit_of(&e), Some(Limit::ValueArrayLength), "{e}");

    // A string in a superior's metadata_policy.
    let fed = three_level()
        .metadata_policy(
            "ta",
            "org",
            json!({"openid_relying_party": {"client_name": {"default": "x".repeat(41)}}}),
        )
        .build();
    let e = builder(&fed, &["ta"])
        .0
        .max_value_string_len(40)
        .build()
        .unwrap()
        .resolve(&fed.id("rp"), &RP)
        .await
        .unwrap_err();
    assert_eq!(limit_of(&e), Some(Limit::ValueStringLength), "{e}");
    assert!(e.to_string().contains("metadata_policy"), "{e}");

    // Within the limits, the same chain resolves.
    let rp = builder(&fed, &["ta"])
        .0
        .max_value_string_len(41)
        .build()
        .unwrap()
        .resolve(&fed.id("rp"), &RP)
        .await
        .unwrap();
    assert_eq!(rp.metadata()["client_name"], "RP");
}

/// A checking operator that takes `SLEEP` per application and counts them: policy work whose
/// cost the test controls.
struct Slow(Arc<AtomicUsize>);

const SLEEP: Duration = Duration::from_millis(20);

impl PolicyOperator for Slow {
    fn name(&self) -> &str {
        "slow"
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
    fn apply(&self, _: &Value, p: Option<&Value>) -> Result<Option<Value>, String> {
        self.0.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(SLEEP);
        Ok(p.cloned())
    }
}

#[tokio::test]
async fn validation_that_outlasts_the_deadline_ends_in_resolution_time() {
    // 100 parameters × 20 ms of policy work = 2 s, against a 300 ms deadline.
    let params: serde_json::Map<String, Value> = (0..100)
        .map(|i| (format!("p{i}"), json!({"slow": true})))
        .collect();
    let fed = three_level()
        .metadata_policy("ta", "org", json!({"openid_relying_party": params}))
        .build();
    let calls = Arc::new(AtomicUsize::new(0));
    let timeout = Duration::from_millis(300);
    let r = builder(&fed, &["ta"])
        .0
        .policy_operator(Arc::new(Slow(calls.clone())))
        .resolution_timeout(timeout)
        .build()
        .unwrap();
    let e = r.resolve(&fed.id("rp"), &RP).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::ResolutionTime,
                value: 300,
                ..
            }
        ),
        "{e}"
    );
    // Every application takes at least SLEEP and the deadline is checked before each one:
    // at most timeout / SLEEP + 1 of them ran, i.e. the resolution ended within the deadline
    // plus one step.
    let n = calls.load(Ordering::SeqCst);
    let most = (timeout.as_millis() / SLEEP.as_millis()) as usize + 1;
    assert!((1..=most).contains(&n), "{n} applications ran");
}
