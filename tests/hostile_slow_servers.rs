//! Hostile servers that trickle headers or bodies: the per-fetch timeout and the resolution
//! deadline cut them off with a typed error.

mod common;
#[path = "common/hostile.rs"]
mod hostile_support;

use std::time::Duration;

use hostile_support::*;
use oidfed::fetch::FetchError;
use oidfed::{Error, Limit};
use serde_json::json;

// ---------------------------------------------------------------------------------------
// 1. Trickling servers
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn trickling_body_is_cut_off_by_the_per_fetch_timeout() {
    const HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: application/entity-statement+jwt\r\ncontent-length: 60000\r\n\r\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let head_len = HEAD.find("\r\n\r\n").unwrap() + 4;
    let hostile = RawServer::start("127.0.0.1", move |s, _| trickle(s, HEAD, head_len)).await;
    let (fed, _server) = serve(federation(|b| b)).await;
    let r = resolver_with(&fed, fetcher(Duration::from_secs(1)), |b| b);

    let e = resolve_err(&r, &hostile.id("slow")).await;
    match fetch_source(&e) {
        FetchError::Timeout { limit_ms, .. } => {
            assert!((1..=1000).contains(limit_ms), "limit {limit_ms} ms: {e}")
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(e.is_transient(), "{e}");
    assert_eq!(e.spec_code(), "temporarily_unavailable");
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn trickling_headers_are_cut_off_by_the_per_fetch_timeout() {
    // The status line arrives, then the headers one byte at a time, never ending.
    const HEAD: &str = "HTTP/1.1 200 OK\r\nx-slow: ";
    let hostile = RawServer::start("127.0.0.1", |s, _| trickle(s, HEAD, HEAD.len())).await;
    let (fed, _server) = serve(federation(|b| b)).await;
    let r = resolver_with(&fed, fetcher(Duration::from_secs(1)), |b| b);

    let e = resolve_err(&r, &hostile.id("slow")).await;
    assert!(
        matches!(fetch_source(&e), FetchError::Timeout { limit_ms, .. } if *limit_ms <= 1000),
        "{e}"
    );
    assert!(e.is_transient());
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn trickling_superiors_are_cut_off_by_the_resolution_deadline() {
    // The per-fetch timeout is long (30 s): only the resolution deadline (1.5 s) can end it.
    const HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-length: 60000\r\n\r\n";
    let hostile = RawServer::start("127.0.0.1", |s, _| trickle(s, HEAD, HEAD.len())).await;
    let (fed, _server) = serve(federation(|b| b.leaf("slowpoke", &["org"]))).await;
    let hints: Vec<String> = (0..3)
        .map(|i| hostile.id(&format!("sup{i}")).to_string())
        .collect();
    fed.republish_ec("slowpoke", |c| {
        c.insert("authority_hints".into(), json!(hints));
    });
    let r = resolver_with(&fed, fetcher(Duration::from_secs(30)), |b| {
        b.resolution_timeout(Duration::from_millis(1500))
    });

    let e = resolve_err(&r, &fed.id("slowpoke")).await;
    match &e {
        Error::LimitExceeded {
            limit: Limit::ResolutionTime,
            value,
            ..
        } => assert_eq!(*value, 1500),
        Error::NoTrustChain { attempts, .. } => {
            assert_eq!(attempts.len(), 3, "{e}");
            for a in attempts {
                assert!(
                    matches!(
                        &a.error,
                        Error::Fetch { source: FetchError::Timeout { limit_ms, .. }, .. }
                            if *limit_ms <= 1500
                    ) || matches!(
                        &a.error,
                        Error::LimitExceeded {
                            limit: Limit::ResolutionTime,
                            ..
                        }
                    ),
                    "{a}"
                );
            }
        }
        other => panic!("expected a deadline error, got {other}"),
    }
    assert!(e.is_transient(), "{e}");
    assert_eq!(hostile.connections(), 3);
    assert_usable(&r, &fed).await;
}
