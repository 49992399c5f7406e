//! Hostile federation graphs: `authority_hints` loops, fan-out, depth, duplicate hints,
//! diamond lattices, and trust-mark issuers that share the resolution's deadline and fetch
//! budget. Each ends in a typed limit error, and the resolver stays usable.

mod common;
#[path = "common/hostile.rs"]
mod hostile_support;

use std::time::Duration;

use common::NOW;
use hostile_support::*;
use oidfed::testing::{Federation, FederationBuilder};
use oidfed::{EntityId, Error, FixedClock, Limit, Limits, Resolver, Rule};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// 9–11. Graph shapes: loops, fan-out, depth
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn authority_hints_loop_ends_in_a_typed_error() {
    // looper → a → b → a, and a self-loop.
    let (fed, server) = serve(federation(|b| {
        b.intermediate("a", &["b"])
            .intermediate("b", &["a"])
            .leaf("looper", &["a"])
            .leaf("narcissus", &["org"])
    }))
    .await;
    let me = fed.id("narcissus");
    fed.republish_ec("narcissus", |c| {
        c.insert("authority_hints".into(), json!([me.as_str()]));
    });
    let memory = fed.fetcher();
    let r = resolver(&fed);

    let e = resolve_err(&r, &fed.id("looper")).await;
    let errors = attempt_errors(&e);
    assert!(
        errors
            .iter()
            .any(|a| a.rule() == Some(Rule::AuthorityHints) && a.to_string().contains("loop")),
        "{e}"
    );
    assert!(!e.is_transient(), "{e}");
    assert_eq!(memory.max_fetches_per_url(), 1, "nothing fetched twice");
    assert!(server.requests() <= 5, "{} requests", server.requests());

    let e = resolve_err(&r, &me).await;
    assert_eq!(e.rule(), Some(Rule::AuthorityHints), "{e}");
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn thousand_authority_hints_fan_out_is_bounded() {
    let (fed, server) = serve(federation(|b| b.leaf("fan", &["org"]))).await;
    let base = fed.base();
    // 1,000 hints to entities that do not exist, the real superior last.
    let mut hints: Vec<String> = (0..1000).map(|i| format!("{base}/h{i}")).collect();
    hints.push(fed.id("org").to_string());
    fed.republish_ec("fan", |c| {
        c.insert("authority_hints".into(), json!(hints));
    });
    let memory = fed.fetcher();

    // The hint cap (default 10): the first 10 followed, the cap reported.
    let r = resolver(&fed);
    memory.reset_counts();
    let before = server.requests();
    let e = resolve_err(&r, &fed.id("fan")).await;
    let errors = attempt_errors(&e);
    assert!(
        errors.iter().any(|a| matches!(
            a,
            Error::LimitExceeded {
                limit: Limit::AuthorityHints,
                value: 10,
                ..
            }
        )),
        "{e}"
    );
    assert!(e.to_string().contains("max_authority_hints"), "{e}");
    assert_eq!(errors.len(), 11, "the cap and the 10 hints followed: {e}");
    assert!(memory.total_fetches() <= 11, "{}", memory.total_fetches());
    assert!(server.requests() - before <= 11);
    assert_usable(&r, &fed).await;

    // Hints uncapped, fetches capped at 25: the fetch limit ends it.
    let r = resolver_with(&fed, fetcher(Duration::from_secs(2)), |b| {
        b.max_authority_hints(2000).max_fetches(25)
    });
    memory.reset_counts();
    let before = server.requests();
    let e = resolve_err(&r, &fed.id("fan")).await;
    assert!(
        attempt_errors(&e).iter().any(|a| matches!(
            a,
            Error::LimitExceeded {
                limit: Limit::Fetches,
                value: 25,
                ..
            }
        )),
        "{e}"
    );
    assert!(memory.total_fetches() <= 25, "{}", memory.total_fetches());
    assert!(server.requests() - before <= 25);
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn fifty_level_chain_hits_the_depth_limit() {
    let (fed, server) = serve(federation(|mut b| {
        b = b.intermediate("i0", &["ta"]);
        for i in 1..50 {
            let up = format!("i{}", i - 1);
            b = b.intermediate(&format!("i{i}"), &[up.as_str()]);
        }
        // edge → i6 → … → i0 → ta: 8 superiors; over → i7 → …: 9.
        b.leaf("deep", &["i49"])
            .metadata("deep", RP.as_str(), json!({"client_name": "deep"}))
            .leaf("edge", &["i6"])
            .metadata("edge", RP.as_str(), json!({"client_name": "edge"}))
            .leaf("over", &["i7"])
            .metadata("over", RP.as_str(), json!({"client_name": "over"}))
    }))
    .await;
    let memory = fed.fetcher();
    let r = resolver_with(&fed, fetcher(Duration::from_secs(2)), |b| {
        b.max_chain_depth(8)
    });
    let e = resolve_err(&r, &fed.id("deep")).await;
    let errors = attempt_errors(&e);
    assert_eq!(errors.len(), 1, "{e}");
    assert!(
        matches!(
            errors[0],
            Error::LimitExceeded {
                limit: Limit::ChainDepth,
                value: 8,
                ..
            }
        ),
        "{e}"
    );
    // The subject's EC, then an EC and a statement per level followed.
    assert!(
        memory.total_fetches() <= 1 + 2 * 8,
        "{}",
        memory.total_fetches()
    );
    assert!(server.requests() <= 1 + 2 * 8);
    assert_usable(&r, &fed).await;

    // The edge: exactly 8 superiors above the subject is within the limit, 9 is not.
    within(r.resolve(&fed.id("edge"), &RP))
        .await
        .expect("8 superiors");
    let e = resolve_err(&r, &fed.id("over")).await;
    assert!(
        matches!(
            attempt_errors(&e)[..],
            [Error::LimitExceeded {
                limit: Limit::ChainDepth,
                ..
            }]
        ),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------
// Bugs found by these tests, now fixed (each documents the expected behaviour)
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn duplicate_authority_hints_are_followed_once() {
    // dup lists mid ten times; mid lists org ten times.
    let (fed, _server) = serve(federation(|b| {
        b.intermediate("mid", &["org"])
            .leaf("dup", &["mid"])
            .metadata("dup", RP.as_str(), json!({"client_name": "dup"}))
    }))
    .await;
    let (mid, org) = (fed.id("mid"), fed.id("org"));
    fed.republish_ec("dup", |c| {
        c.insert("authority_hints".into(), json!(vec![mid.as_str(); 10]));
    });
    fed.republish_ec("mid", |c| {
        c.insert("authority_hints".into(), json!(vec![org.as_str(); 10]));
    });
    let memory = fed.fetcher();
    let r = resolver(&fed);
    match within(r.resolve(&fed.id("dup"), &RP)).await {
        // Deduplicated: one chain, no copies of it as alternatives.
        Ok(ok) => {
            assert_eq!(
                ok.chain().path(),
                vec![fed.id("dup"), mid.clone(), org.clone(), fed.id("ta")]
            );
            assert!(
                ok.alternatives().is_empty(),
                "the same chain came back {} more times as alternatives",
                ok.alternatives().len()
            );
        }
        // Or refused as a malformed authority_hints claim.
        Err(e) => assert_eq!(e.rule(), Some(Rule::AuthorityHints), "{e}"),
    }
    assert_eq!(memory.max_fetches_per_url(), 1);
    assert_usable(&r, &fed).await;
}

/// A leaf whose configuration carries `n` trust marks of a type the anchor accepts from any
/// issuer (`trust_mark_issuers: {type: []}`), the i-th naming `issuer(i)`.
fn open_marks(fed: &Federation, issuer: impl Fn(usize) -> EntityId, n: usize) {
    let key = RawKey::generate(None);
    let rp = fed.id("rp");
    let header = format!(
        r#"{{"alg":"ES256","kid":"{}","typ":"trust-mark+jwt"}}"#,
        key.kid
    );
    let marks: Vec<Value> = (0..n)
        .map(|i| {
            let claims = json!({
                "iss": issuer(i).as_str(), "sub": rp.as_str(),
                "trust_mark_type": "https://tm.example/open", "iat": NOW, "exp": NOW + 3600,
            });
            let jwt = key.sign_raw(&header, claims.to_string().as_bytes());
            json!({"trust_mark_type": "https://tm.example/open", "trust_mark": jwt})
        })
        .collect();
    fed.republish_ec("rp", |c| {
        c.insert("trust_marks".into(), json!(marks));
    });
}

fn open_mark_federation() -> FederationBuilder {
    federation(|b| {
        b.ec_claim(
            "ta",
            "trust_mark_issuers",
            json!({"https://tm.example/open": []}),
        )
    })
}

#[tokio::test]
async fn trust_mark_issuers_share_the_resolution_deadline() {
    const HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-length: 60000\r\n\r\n";
    let hostile = RawServer::start("127.0.0.1", |s, _| trickle(s, HEAD, HEAD.len())).await;
    let (fed, _server) = serve(open_mark_federation()).await;
    open_marks(&fed, |i| hostile.id(&format!("iss{i}")), 4);
    let r = resolver_with(&fed, fetcher(Duration::from_secs(30)), |b| {
        b.resolution_timeout(Duration::from_secs(1))
    });
    // The whole resolution, trust marks included, is bounded by the 1 s deadline; 2.5 s is
    // the hang guard (before the fix: 4 × 1 s, one full deadline per hostile issuer).
    let outcome = tokio::time::timeout(Duration::from_millis(2500), r.resolve(&fed.id("rp"), &RP))
        .await
        .expect("the resolution deadline does not cover trust mark issuers");
    match outcome {
        Ok(ok) => assert_eq!(ok.rejected_trust_marks().len(), 4),
        Err(e) => assert!(
            matches!(
                e,
                Error::LimitExceeded {
                    limit: Limit::ResolutionTime,
                    ..
                }
            ),
            "{e}"
        ),
    }
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn trust_mark_issuers_share_the_fetch_budget() {
    let (fed, server) = serve(open_mark_federation()).await;
    // Issuers that do not exist: one (404) fetch each.
    open_marks(&fed, |i| fed.id(&format!("nobody{i}")), 6);
    // rp's own chain takes 5 fetches (rp, org, org→rp, ta, ta→org).
    let r = resolver_with(&fed, fetcher(Duration::from_secs(2)), |b| b.max_fetches(5));
    let memory = fed.fetcher();
    memory.reset_counts();
    let before = server.requests();
    let outcome = within(r.resolve(&fed.id("rp"), &RP)).await;
    let spent = memory.total_fetches();
    assert!(
        spent <= 5,
        "max_fetches = 5 per resolution, {spent} fetches made ({} connections): {:?}",
        server.requests() - before,
        outcome.map(|ok| ok
            .rejected_trust_marks()
            .iter()
            .map(|m| m.reason.clone())
            .collect::<Vec<_>>())
    );
    assert_usable(&r, &fed).await;
}

/// Many diamonds: every entity on a level lists every entity of the level above. Few
/// distinct statements (all fetches are shared) but width^levels paths: bounded by
/// `max_path_steps`, with a typed error for the paths not followed.
#[tokio::test]
async fn diamond_lattice_paths_are_bounded() {
    const WIDTH: usize = 6;
    const LEVELS: usize = 4;
    let name = |level: usize, i: usize| format!("l{level}n{i}");
    let mut b = FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta");
    let top: Vec<String> = (0..WIDTH).map(|i| name(LEVELS, i)).collect();
    for n in &top {
        b = b.intermediate(n, &["ta"]);
    }
    for level in (1..LEVELS).rev() {
        let above: Vec<String> = (0..WIDTH).map(|i| name(level + 1, i)).collect();
        let above: Vec<&str> = above.iter().map(String::as_str).collect();
        for i in 0..WIDTH {
            b = b.intermediate(&name(level, i), &above);
        }
    }
    let below: Vec<String> = (0..WIDTH).map(|i| name(1, i)).collect();
    let below: Vec<&str> = below.iter().map(String::as_str).collect();
    let fed = b
        .leaf("rp", &below)
        .metadata("rp", RP.as_str(), json!({"client_name": "RP"}))
        .build();
    let build = |max_path_steps: usize| {
        let mut limits = Limits::default();
        limits.max_fetches = 1000;
        limits.max_path_steps = max_path_steps;
        Resolver::builder()
            .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
            .fetcher(fed.fetcher())
            .clock(FixedClock::new(NOW))
            .limits(limits)
            .build()
            .unwrap()
    };
    let memory = fed.fetcher();
    // Default: only a few paths that meet at one entity are kept, so the lattice resolves
    // with every statement fetched once and within the default step budget.
    let ok = within(build(Limits::default().max_path_steps).resolve(&fed.id("rp"), &RP))
        .await
        .unwrap();
    assert_eq!(ok.chain().path().len(), LEVELS + 2);
    assert_eq!(memory.max_fetches_per_url(), 1);
    // A smaller step budget stops the walk with a typed error naming it.
    let e = within(build(50).resolve(&fed.id("rp"), &RP))
        .await
        .unwrap_err();
    let Error::NoTrustChain { attempts, .. } = &e else {
        panic!("unexpected {e}");
    };
    assert!(
        attempts.iter().any(|a| matches!(
            a.error,
            Error::LimitExceeded {
                limit: Limit::PathSteps,
                value: 50,
                ..
            }
        )),
        "{} attempts, none names the path-step limit",
        attempts.len()
    );
}
