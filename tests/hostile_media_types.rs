//! Wrong media types and HTML error pages: a typed error, transient where the status says
//! so, and capped when the error page never ends.

mod common;
#[path = "common/hostile.rs"]
mod hostile_support;

use hostile_support::*;
use oidfed::fetch::{FetchError, FetchRequest, FetchResponse};
use oidfed::testing::Federation;
use oidfed::{Error, Rule};
use tokio::io::AsyncWriteExt;

// ---------------------------------------------------------------------------------------
// 17–18. Wrong media types and HTML error pages
// ---------------------------------------------------------------------------------------

fn ec_url(fed: &Federation, name: &str) -> String {
    fed.id(name).well_known_url().to_string()
}

fn ss_url(fed: &Federation, sup: &str, sub: &str) -> String {
    let ep = url::Url::parse(&format!("{}/fetch", fed.id(sup))).unwrap();
    FetchRequest::subordinate_statement(&ep, &fed.id(sub))
        .url
        .to_string()
}

#[tokio::test]
async fn wrong_content_type_html_is_a_typed_error() {
    let (fed, _server) = serve(federation(|b| b.leaf("victim", &["org"]))).await;
    let memory = fed.fetcher();
    let r = resolver(&fed);
    let html = b"<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>".to_vec();
    memory.insert(
        &ec_url(&fed, "victim"),
        FetchResponse::ok("text/html; charset=utf-8", html),
    );
    let e = resolve_err(&r, &fed.id("victim")).await;
    assert_eq!(statement_rule(&e), Rule::JwsSyntax, "{e}");
    assert!(!e.is_transient());

    // A superior's fetch endpoint answering a JSON document with 200.
    let good_ss = fed.subordinate_statement("org", "rp");
    memory.insert(
        &ss_url(&fed, "org", "rp"),
        FetchResponse::ok("application/json", br#"{"sub":"x"}"#.to_vec()),
    );
    r.clear_caches();
    let e = resolve_err(&r, &fed.id("rp")).await;
    assert_eq!(e.rule(), Some(Rule::JwsSyntax), "{e}");

    // Binary junk that is not UTF-8.
    memory.insert(
        &ss_url(&fed, "org", "rp"),
        FetchResponse::ok(
            "application/entity-statement+jwt",
            vec![0xff, 0xfe, 0x00, 0x80],
        ),
    );
    r.clear_caches();
    let e = resolve_err(&r, &fed.id("rp")).await;
    assert!(
        attempt_errors(&e).iter().all(|a| matches!(
            a,
            Error::Fetch {
                source: FetchError::BadResponse { .. },
                ..
            }
        )),
        "{e}"
    );

    // The media type is a soft check (the statement's own `typ` decides); a valid statement under text/html is accepted.
    memory.insert(
        &ss_url(&fed, "org", "rp"),
        FetchResponse::ok("text/html", good_ss.clone().into_bytes()),
    );
    assert_usable(&r, &fed).await;
    // Case 35 of tests/SPEC_COVERAGE.md: the same under application/json (a JWT body, not JSON).
    memory.insert(
        &ss_url(&fed, "org", "rp"),
        FetchResponse::ok("application/json", good_ss.into_bytes()),
    );
    r.clear_caches();
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn html_error_page_with_status_500_is_transient() {
    let (fed, _server) = serve(federation(|b| b)).await;
    let memory = fed.fetcher();
    let r = resolver(&fed);
    let page = FetchResponse {
        status: 500,
        content_type: Some("text/html".into()),
        body: b"<html><body>Internal Server Error</body></html>".to_vec(),
    };
    let good_ec = memory.get(&ec_url(&fed, "rp")).unwrap();
    memory.insert(&ec_url(&fed, "rp"), page.clone());
    let e = resolve_err(&r, &fed.id("rp")).await;
    assert!(
        matches!(
            fetch_source(&e),
            FetchError::Status {
                status: 500,
                error: None,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.is_transient(), "{e}");
    assert_eq!(e.spec_code(), "temporarily_unavailable");
    memory.insert(&ec_url(&fed, "rp"), good_ec);

    // In a superior's position: the failed search is transient too.
    let good_ss = memory.get(&ss_url(&fed, "org", "rp")).unwrap();
    memory.insert(&ss_url(&fed, "org", "rp"), page);
    r.clear_caches();
    let e = resolve_err(&r, &fed.id("rp")).await;
    assert!(
        matches!(
            attempt_errors(&e)[..],
            [Error::Fetch {
                source: FetchError::Status { status: 500, .. },
                ..
            }]
        ),
        "{e}"
    );
    assert!(e.is_transient(), "{e}");
    assert_eq!(e.spec_code(), "temporarily_unavailable");
    memory.insert(&ss_url(&fed, "org", "rp"), good_ss);
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn endless_error_page_is_capped_and_transient() {
    // A 500 whose HTML body never ends (chunked), and a 404 whose "JSON" nests 8,000 deep.
    let endless = RawServer::start("127.0.0.1", |mut s, _| async move {
        let head = "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/html\r\ntransfer-encoding: chunked\r\n\r\n";
        if s.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let mut chunk = b"1000\r\n".to_vec();
        chunk.extend(std::iter::repeat_n(b'<', 4096));
        chunk.extend_from_slice(b"\r\n");
        while s.write_all(&chunk).await.is_ok() {}
    })
    .await;
    let nested = RawServer::start("127.0.0.1", |mut s, _| async move {
        let body = "[".repeat(8000);
        respond(&mut s, "404 Not Found", "application/json", body.as_bytes()).await;
    })
    .await;
    let (fed, _server) = serve(federation(|b| b)).await;
    let r = resolver(&fed);

    let e = resolve_err(&r, &endless.id("x")).await;
    assert!(
        matches!(fetch_source(&e), FetchError::Status { status: 500, .. }),
        "{e}"
    );
    assert!(e.is_transient(), "{e}");

    let e = resolve_err(&r, &nested.id("x")).await;
    assert!(
        matches!(
            fetch_source(&e),
            FetchError::Status {
                status: 404,
                error: None,
                ..
            }
        ),
        "{e}"
    );
    assert!(!e.is_transient(), "{e}");
    assert_usable(&r, &fed).await;
}
