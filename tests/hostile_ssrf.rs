//! Server-side request forgery: redirects to private addresses, redirect loops, fetch
//! endpoints and authority hints at private or mapped-loopback addresses are refused by the
//! destination guard before any connection.

mod common;
#[path = "common/hostile.rs"]
mod hostile_support;

use std::sync::Arc;
use std::time::Duration;

use common::NOW;
use hostile_support::*;
use oidfed::fetch::{DestinationGuard, FetchError, HttpFetcher};
use oidfed::testing::FederationBuilder;
use oidfed::{Error, Rule};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

// ---------------------------------------------------------------------------------------
// 15–16. SSRF: redirects and private fetch endpoints
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn redirect_to_private_address_is_refused() {
    // A service on 127.0.0.2 that must never be reached.
    let internal = RawServer::start("127.0.0.2", |mut s, _| async move {
        respond(&mut s, "200 OK", "text/plain", b"secret").await;
    })
    .await;
    let (fed, _server) = serve(federation(|b| b)).await;
    let targets = [
        format!("http://127.0.0.2:{}/admin", internal.addr.port()),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        format!("http://[::ffff:127.0.0.2]:{}/admin", internal.addr.port()),
        // Allowed by the guard: shows that a refusal below is the guard's, not "no redirects".
        format!("{}/rp/.well-known/openid-federation", fed.base()),
    ];
    let location = Arc::new(targets.clone());
    let redirector = RawServer::start("127.0.0.1", move |mut s, target| {
        let location = location.clone();
        async move {
            let i: usize = target
                .trim_start_matches('/')
                .split('/')
                .next()
                .and_then(|n| n.strip_prefix('r'))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let head = format!(
                "HTTP/1.1 302 Found\r\nlocation: {}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                location[i]
            );
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.shutdown().await;
        }
    })
    .await;

    // Default: redirects are not followed at all.
    let r = resolver(&fed);
    for (i, t) in targets.iter().enumerate() {
        let e = resolve_err(&r, &redirector.id(&format!("r{i}"))).await;
        match fetch_source(&e) {
            FetchError::Redirect { location, .. } => {
                assert_eq!(location.as_deref(), Some(t.as_str()))
            }
            other => panic!("expected a refused redirect, got {other:?}"),
        }
        assert!(!e.is_transient(), "{e}");
    }
    assert_usable(&r, &fed).await;

    // With a redirect policy, every target is re-checked by the guard.
    let following = HttpFetcher::builder()
        .connect_timeout(Duration::from_secs(1))
        .request_timeout(Duration::from_secs(2))
        .follow_redirects(3)
        .guard(test_guard())
        .build()
        .unwrap();
    let r = resolver_with(&fed, following, |b| b);
    for (i, t) in targets.iter().enumerate().take(3) {
        let e = resolve_err(&r, &redirector.id(&format!("r{i}"))).await;
        assert!(
            matches!(fetch_source(&e), FetchError::Refused { .. }),
            "target {t}: {e}"
        );
        assert!(!e.is_transient(), "{e}");
    }
    // The allowed target is followed: it serves rp's configuration, not the one asked for.
    let e = resolve_err(&r, &redirector.id("r3")).await;
    assert_eq!(statement_rule(&e), Rule::Subject, "{e}");
    assert_eq!(
        internal.connections(),
        0,
        "the internal service was reached"
    );
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn redirect_loop_is_bounded() {
    let looper = RawServer::start("127.0.0.1", |mut s, target| async move {
        let head = format!(
            "HTTP/1.1 302 Found\r\nlocation: {target}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
        let _ = s.write_all(head.as_bytes()).await;
        let _ = s.shutdown().await;
    })
    .await;
    let (fed, _server) = serve(federation(|b| b)).await;
    let following = HttpFetcher::builder()
        .request_timeout(Duration::from_secs(2))
        .follow_redirects(3)
        .guard(test_guard())
        .build()
        .unwrap();
    let r = resolver_with(&fed, following, |b| b);
    let e = resolve_err(&r, &looper.id("spin")).await;
    assert!(
        matches!(
            fetch_source(&e),
            FetchError::Transport { .. } | FetchError::Redirect { .. } | FetchError::Refused { .. }
        ),
        "{e}"
    );
    assert!(looper.connections() <= 4, "{}", looper.connections());
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn fetch_endpoint_at_private_address_is_refused_before_connecting() {
    let internal = RawServer::start("127.0.0.2", |mut s, _| async move {
        respond(&mut s, "200 OK", "text/plain", b"secret").await;
    })
    .await;
    let p = internal.addr.port();
    let endpoints = [
        "http://10.0.0.1/fetch".to_string(),
        "http://169.254.169.254/fetch".to_string(),
        format!("http://127.0.0.2:{p}/fetch"),
        format!("http://[::ffff:127.0.0.2]:{p}/fetch"),
        format!("http://[::1]:{p}/fetch"),
        format!("http://0.0.0.0:{p}/fetch"),
        format!("http://localhost:{p}/fetch"),
    ];
    let n = endpoints.len();
    let (fed, _server) = serve(federation(|mut b| {
        let mut sups = Vec::new();
        for (i, ep) in endpoints.iter().enumerate() {
            let name = format!("bad{i}");
            b = b.intermediate(&name, &["ta"]).metadata(
                &name,
                "federation_entity",
                json!({ "federation_fetch_endpoint": ep }),
            );
            sups.push(name);
        }
        let sups: Vec<&str> = sups.iter().map(String::as_str).collect();
        b.leaf("victim", &sups)
            .metadata("victim", RP.as_str(), json!({"client_name": "victim"}))
    }))
    .await;
    let r = resolver(&fed);
    let e = resolve_err(&r, &fed.id("victim")).await;
    let errors = attempt_errors(&e);
    assert_eq!(errors.len(), n, "{e}");
    for a in errors {
        assert!(
            matches!(
                a,
                Error::Fetch {
                    what: "subordinate statement",
                    source: FetchError::Refused { .. },
                    ..
                }
            ),
            "{a}"
        );
    }
    assert!(!e.is_transient(), "{e}");
    assert_eq!(internal.connections(), 0, "nothing may connect");
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn mapped_loopback_fetch_endpoint_is_refused_when_only_the_host_name_is_allowed() {
    // The federation is named `localhost:PORT` and only that host name is allowed (no
    // network). A fetch endpoint spelled as an IPv4-mapped literal of the very same socket
    // must be refused: the allow-list names a host, not an address.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = format!("http://localhost:{port}");
    let sneaky = format!("http://[::ffff:127.0.0.1]:{port}/bad/fetch");
    let decimal = format!("http://2130706433:{port}/bad/fetch");
    let fed = FederationBuilder::new(&base)
        .now(NOW)
        .anchor("ta")
        .intermediate("org", &["ta"])
        .leaf("rp", &["org"])
        .metadata("rp", RP.as_str(), json!({"client_name": "RP"}))
        .intermediate("bad", &["ta"])
        .metadata(
            "bad",
            "federation_entity",
            json!({ "federation_fetch_endpoint": sneaky }),
        )
        .intermediate("bad2", &["ta"])
        .metadata(
            "bad2",
            "federation_entity",
            json!({ "federation_fetch_endpoint": decimal }),
        )
        .leaf("victim", &["bad", "bad2"])
        .metadata("victim", RP.as_str(), json!({"client_name": "victim"}))
        .build();
    let server = RawServer::start_on(listener, serve_memory(fed.fetcher(), base));
    let by_name = HttpFetcher::builder()
        .request_timeout(Duration::from_secs(2))
        .guard(
            DestinationGuard::new()
                .allow_http(true)
                .allow_host("localhost"),
        )
        .build()
        .unwrap();
    let r = resolver_with(&fed, by_name, |b| b);

    let e = resolve_err(&r, &fed.id("victim")).await;
    let errors = attempt_errors(&e);
    assert_eq!(errors.len(), 2, "{e}");
    for a in errors {
        assert!(
            matches!(
                a,
                Error::Fetch {
                    source: FetchError::Refused { .. },
                    ..
                }
            ),
            "{a}"
        );
    }
    let targets = server.targets();
    assert!(
        targets.iter().all(|t| !t.starts_with("/bad/fetch")),
        "the refused endpoint was reached: {targets:?}"
    );
    assert_usable(&r, &fed).await;
}

/// Case 38 of tests/SPEC_COVERAGE.md: authority hints that name internal addresses are refused by the
/// guard before any connection, like subjects and fetch endpoints are.
#[tokio::test]
async fn authority_hints_at_private_addresses_are_refused_before_connecting() {
    let internal = RawServer::start("127.0.0.2", |mut s, _| async move {
        respond(
            &mut s,
            "200 OK",
            "application/entity-statement+jwt",
            b"a.b.c",
        )
        .await;
    })
    .await;
    let p = internal.addr.port();
    let hints = [
        "http://169.254.169.254".to_string(),
        "https://169.254.169.254".to_string(),
        format!("http://127.0.0.2:{p}"),
        format!("http://[::1]:{p}"),
        "http://10.0.0.1".to_string(),
    ];
    let (fed, _server) = serve(federation(|b| b.leaf("victim", &["org"]))).await;
    fed.republish_ec("victim", |c| {
        c.insert("authority_hints".into(), json!(hints));
    });
    let r = resolver(&fed);
    let e = resolve_err(&r, &fed.id("victim")).await;
    let errors = attempt_errors(&e);
    assert_eq!(errors.len(), hints.len(), "{e}");
    for a in errors {
        assert!(
            matches!(
                a,
                Error::Fetch {
                    what: "entity configuration",
                    source: FetchError::Refused { .. },
                    ..
                }
            ),
            "{a}"
        );
    }
    assert!(!e.is_transient(), "{e}");
    assert_eq!(internal.connections(), 0, "nothing may connect");
    assert_usable(&r, &fed).await;
}
