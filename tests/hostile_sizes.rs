//! Responses larger than the cap (honest, lying, close-delimited and chunked lengths) and
//! huge or numerous response headers: refused with a typed error, never read unbounded.

mod common;
#[path = "common/hostile.rs"]
mod hostile_support;

use hostile_support::*;
use oidfed::fetch::FetchError;
use oidfed::{Error, Rule};
use tokio::io::AsyncWriteExt;

// ---------------------------------------------------------------------------------------
// 2–4. Bodies larger than the cap
// ---------------------------------------------------------------------------------------

fn assert_too_large(e: &Error) {
    match fetch_source(e) {
        FetchError::TooLarge { limit, .. } => assert_eq!(*limit, CAP, "{e}"),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert!(e.to_string().contains(&CAP.to_string()), "{e}");
    assert!(
        !e.is_transient(),
        "an oversized document stays oversized: {e}"
    );
}

#[tokio::test]
async fn oversized_body_with_honest_content_length_is_refused() {
    let hostile = RawServer::start("127.0.0.1", |mut s, _| async move {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/entity-statement+jwt\r\ncontent-length: 10485760\r\n\r\n";
        blast(&mut s, head, Some(10 * 1024 * 1024)).await;
    })
    .await;
    let (fed, _server) = serve(federation(|b| b)).await;
    let r = resolver(&fed);
    assert_too_large(&resolve_err(&r, &hostile.id("big")).await);
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn lying_small_content_length_reads_only_what_was_declared() {
    // Declares 64 bytes, sends 1 MiB: the client reads the declared 64 bytes and no more;
    // they are not a JWS, so the statement is refused.
    let liar = RawServer::start("127.0.0.1", |mut s, _| async move {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/entity-statement+jwt\r\ncontent-length: 64\r\n\r\n";
        blast(&mut s, head, Some(1024 * 1024)).await;
    })
    .await;
    // Two conflicting Content-Length headers (a smuggling attempt): a protocol error.
    let conflicting = RawServer::start("127.0.0.1", |mut s, _| async move {
        let head = "HTTP/1.1 200 OK\r\ncontent-length: 64\r\ncontent-length: 1048576\r\n\r\n";
        blast(&mut s, head, Some(1024 * 1024)).await;
    })
    .await;
    // Declares more than it sends, then closes: an incomplete message.
    let short = RawServer::start("127.0.0.1", |mut s, _| async move {
        let head = "HTTP/1.1 200 OK\r\ncontent-length: 50000\r\n\r\n";
        blast(&mut s, head, Some(100)).await;
    })
    .await;
    let (fed, _server) = serve(federation(|b| b)).await;
    let r = resolver(&fed);

    let e = resolve_err(&r, &liar.id("x")).await;
    assert_eq!(statement_rule(&e), Rule::JwsSyntax, "{e}");

    let e = resolve_err(&r, &conflicting.id("x")).await;
    assert!(
        matches!(fetch_source(&e), FetchError::Transport { .. }),
        "{e}"
    );

    let e = resolve_err(&r, &short.id("x")).await;
    assert!(
        matches!(fetch_source(&e), FetchError::Transport { .. }),
        "{e}"
    );
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn body_delimited_by_close_without_length_is_capped() {
    // No Content-Length, no chunking: the body runs until the server closes (never).
    let hostile = RawServer::start("127.0.0.1", |mut s, _| async move {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/entity-statement+jwt\r\nconnection: close\r\n\r\n";
        blast(&mut s, head, None).await;
    })
    .await;
    let (fed, _server) = serve(federation(|b| b)).await;
    let r = resolver(&fed);
    assert_too_large(&resolve_err(&r, &hostile.id("endless")).await);
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn chunked_body_without_content_length_is_capped_while_streaming() {
    // Endless 4 KiB chunks.
    let hostile = RawServer::start("127.0.0.1", |mut s, _| async move {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/entity-statement+jwt\r\ntransfer-encoding: chunked\r\n\r\n";
        if s.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let mut chunk = b"1000\r\n".to_vec();
        chunk.extend(std::iter::repeat_n(b'A', 4096));
        chunk.extend_from_slice(b"\r\n");
        while s.write_all(&chunk).await.is_ok() {}
    })
    .await;
    let (fed, _server) = serve(federation(|b| b)).await;
    let r = resolver(&fed);
    assert_too_large(&resolve_err(&r, &hostile.id("chunky")).await);
    assert_eq!(hostile.connections(), 1);
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn huge_or_numerous_response_headers_are_a_transport_error() {
    let huge = RawServer::start("127.0.0.1", |mut s, _| async move {
        let head = format!(
            "HTTP/1.1 200 OK\r\nx-big: {}\r\ncontent-length: 0\r\n\r\n",
            "a".repeat(2 * 1024 * 1024)
        );
        let _ = s.write_all(head.as_bytes()).await;
    })
    .await;
    let many = RawServer::start("127.0.0.1", |mut s, _| async move {
        let headers: String = (0..10_000).map(|i| format!("x-h{i}: v\r\n")).collect();
        let head = format!("HTTP/1.1 200 OK\r\n{headers}content-length: 0\r\n\r\n");
        let _ = s.write_all(head.as_bytes()).await;
    })
    .await;
    let (fed, _server) = serve(federation(|b| b)).await;
    let r = resolver(&fed);
    for server in [&huge, &many] {
        let e = resolve_err(&r, &server.id("x")).await;
        assert!(
            matches!(fetch_source(&e), FetchError::Transport { .. }),
            "{e}"
        );
    }
    assert_usable(&r, &fed).await;
}
