//! Hostile servers and hostile statements over real HTTP on loopback (spec-notes §11, §13.2).
//!
//! Every test makes one federation member misbehave (or a server lie about HTTP), checks that
//! the resolution ends in a *typed* error within its limit, and then shows that the same
//! resolver still resolves a good entity. Servers whose behaviour the `LoopbackServer` cannot
//! express (trickling, lying lengths, redirects, endless bodies) are written by hand below on
//! raw `TcpListener`s. Every resolution runs under a hang guard: a missing limit makes the
//! test fail, not hang. Elapsed times are never asserted, except as that guard.

mod common;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{NOW, claims_of};
use josekit::jws::JwsSigner;
use oidfed::fetch::{
    DestinationGuard, FetchError, FetchRequest, FetchResponse, Fetcher, HttpFetcher, MemoryFetcher,
};
use oidfed::testing::{Federation, FederationBuilder, LoopbackServer};
use oidfed::{
    EntityId, EntityType, Error, FixedClock, Limit, Limits, Resolver, ResolverBuilder, Rule,
};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;
/// The response cap of every fetcher here (the library default, stated explicitly).
const CAP: usize = 64 * 1024;
/// A resolution that takes longer than this has no working limit.
const HANG_GUARD: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// Hand-written HTTP servers
// ---------------------------------------------------------------------------------------

/// A raw HTTP/1.1 server on loopback: reads one request head, hands the stream and the request
/// target to a handler that writes whatever it likes. Counts connections and logs targets.
/// Dropping it stops the accept loop and every connection task.
struct RawServer {
    base: String,
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    targets: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawServer {
    async fn start<F, Fut>(ip: &str, handler: F) -> Self
    where
        F: Fn(TcpStream, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind");
        Self::start_on(listener, handler)
    }

    fn start_on<F, Fut>(listener: TcpListener, handler: F) -> Self
    where
        F: Fn(TcpStream, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let addr = listener.local_addr().expect("local addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let targets = Arc::new(Mutex::new(Vec::new()));
        let (c, t) = (connections.clone(), targets.clone());
        let handler = Arc::new(handler);
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            while let Ok((mut stream, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let (h, t) = (handler.clone(), t.clone());
                conns.spawn(async move {
                    if let Some(target) = read_head(&mut stream).await {
                        t.lock().unwrap().push(target.clone());
                        h(stream, target).await;
                    }
                });
                while conns.try_join_next().is_some() {}
            }
        });
        Self {
            base: format!("http://{addr}"),
            addr,
            connections,
            targets,
            task,
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }

    /// An Entity Identifier served by this server.
    fn id(&self, name: &str) -> EntityId {
        EntityId::parse_with(&format!("{}/{name}", self.base), true).expect("entity id")
    }
}

/// Reads a request head (bounded); returns the request target.
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 16 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    head.split_whitespace().nth(1).map(str::to_string)
}

/// Writes a full response with a Content-Length, then closes.
async fn respond(stream: &mut TcpStream, status: &str, content_type: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    if stream.write_all(head.as_bytes()).await.is_ok() {
        let _ = stream.write_all(body).await;
    }
    let _ = stream.shutdown().await;
}

/// Writes `head` then `total` bytes of `fill` (or forever when `total` is `None`), stopping
/// as soon as the client hangs up.
async fn blast(stream: &mut TcpStream, head: &str, total: Option<usize>) {
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let block = vec![b'A'; 8192];
    let mut sent = 0usize;
    while total.is_none_or(|t| sent < t) {
        let n = total.map_or(block.len(), |t| (t - sent).min(block.len()));
        if stream.write_all(&block[..n]).await.is_err() {
            return;
        }
        sent += n;
    }
    let _ = stream.shutdown().await;
}

/// Serves a federation's in-memory documents under `base` (for a federation whose entities
/// are named by host name, which `FederationBuilder::serve` cannot do).
fn serve_memory(
    fetcher: MemoryFetcher,
    base: String,
) -> impl Fn(TcpStream, String) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync
{
    move |mut stream, target| {
        let f = fetcher.clone();
        let url = format!("{base}{target}");
        Box::pin(async move {
            let r = f
                .get(&url)
                .unwrap_or_else(|| FetchResponse::error(404, "not_found", "no such document"));
            let status = if r.status == 200 {
                "200 OK".to_string()
            } else {
                format!("{} Error", r.status)
            };
            let ct = r.content_type.clone().unwrap_or_default();
            respond(&mut stream, &status, &ct, &r.body).await;
        })
    }
}

// ---------------------------------------------------------------------------------------
// Federation, resolver and assertion helpers
// ---------------------------------------------------------------------------------------

/// ta ← org ← rp (the good entity every test resolves at the end), plus what `more` adds.
fn federation(more: impl FnOnce(FederationBuilder) -> FederationBuilder) -> FederationBuilder {
    more(
        FederationBuilder::new("http://replaced.by.serve")
            .now(NOW)
            .anchor("ta")
            .intermediate("org", &["ta"])
            .leaf("rp", &["org"])
            .metadata("rp", RP.as_str(), json!({"client_name": "RP"})),
    )
}

async fn serve(b: FederationBuilder) -> (Federation, LoopbackServer) {
    b.serve().await.expect("serve the federation on loopback")
}

/// Only 127.0.0.1 (where every test server listens), plain http allowed.
fn test_guard() -> DestinationGuard {
    DestinationGuard::new()
        .allow_http(true)
        .allow_network("127.0.0.1/32".parse().unwrap())
}

/// A real HTTP fetcher with small limits.
fn fetcher(request_timeout: Duration) -> HttpFetcher {
    HttpFetcher::builder()
        .connect_timeout(Duration::from_secs(1))
        .request_timeout(request_timeout)
        .max_response_bytes(CAP)
        .guard(test_guard())
        .build()
        .expect("fetcher")
}

fn resolver_with(
    fed: &Federation,
    f: impl Fetcher,
    tweak: impl FnOnce(ResolverBuilder) -> ResolverBuilder,
) -> Resolver {
    tweak(
        Resolver::builder()
            .allow_http(true)
            .clock(FixedClock::new(NOW))
            .resolution_timeout(Duration::from_secs(5))
            .fetcher(f)
            .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta")),
    )
    .build()
    .expect("resolver")
}

fn resolver(fed: &Federation) -> Resolver {
    resolver_with(fed, fetcher(Duration::from_secs(2)), |b| b)
}

async fn within<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(HANG_GUARD, fut)
        .await
        .expect("hang guard: the resolution did not end, a limit is missing")
}

async fn resolve_err(r: &Resolver, id: &EntityId) -> Error {
    match within(r.resolve(id, &RP)).await {
        Ok(ok) => panic!("{id} resolved, but must fail: {:?}", ok.chain().path()),
        Err(e) => e,
    }
}

/// The same resolver, caches dropped so the network is used again, still resolves `rp`.
async fn assert_usable(r: &Resolver, fed: &Federation) {
    r.clear_caches();
    let ok = within(r.resolve(&fed.id("rp"), &RP))
        .await
        .unwrap_or_else(|e| panic!("the resolver must stay usable: {e}"));
    assert_eq!(ok.trust_anchor(), &fed.id("ta"));
    assert_eq!(ok.metadata()["client_name"], "RP");
}

/// The fetch error of a failed subject fetch.
fn fetch_source(e: &Error) -> &FetchError {
    match e {
        Error::Fetch { source, .. } => source,
        other => panic!("expected Error::Fetch, got {other:?}"),
    }
}

/// The errors of every path a failed search tried.
fn attempt_errors(e: &Error) -> Vec<&Error> {
    match e {
        Error::NoTrustChain { attempts, .. } => attempts.iter().map(|a| &a.error).collect(),
        other => panic!("expected Error::NoTrustChain, got {other:?}"),
    }
}

fn statement_rule(e: &Error) -> Rule {
    match e {
        Error::Statement(s) => s.rule,
        other => panic!("expected Error::Statement, got {other:?}"),
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An ES256 key that signs arbitrary header and payload *text* (the testing `TestKey` signs
/// `serde_json::Value`s, which cannot hold duplicate members or out-of-range numbers).
struct RawKey {
    kid: String,
    jwk: Value,
    signer: Box<dyn JwsSigner + Send + Sync>,
}

impl RawKey {
    fn generate(kid: Option<&str>) -> Self {
        let pair = josekit::jws::ES256.generate_key_pair().expect("EC key");
        let mut jwk: Map<String, Value> = pair.to_jwk_public_key().as_ref().clone();
        let kid = kid
            .map(str::to_string)
            .unwrap_or_else(|| oidfed::jose::thumbprint(&jwk).expect("thumbprint"));
        jwk.insert("kid".into(), json!(kid));
        jwk.insert("alg".into(), json!("ES256"));
        let signer = josekit::jws::ES256
            .signer_from_jwk(&pair.to_jwk_private_key())
            .expect("signer");
        Self {
            kid,
            jwk: Value::Object(jwk),
            signer: Box::new(signer),
        }
    }

    fn jwks(&self) -> Value {
        json!({"keys": [self.jwk]})
    }

    fn header(&self) -> String {
        format!(
            r#"{{"alg":"ES256","kid":"{}","typ":"entity-statement+jwt"}}"#,
            self.kid
        )
    }

    fn sign_raw(&self, header: &str, payload: &[u8]) -> String {
        let input = format!("{}.{}", b64(header.as_bytes()), b64(payload));
        let sig = self.signer.sign(input.as_bytes()).expect("sign");
        format!("{input}.{}", b64(&sig))
    }

    fn sign_value(&self, claims: &Value) -> String {
        self.sign_raw(&self.header(), claims.to_string().as_bytes())
    }
}

/// A leaf `evil` under `org` whose key the test holds (org asserts it), so the test can
/// publish arbitrary, correctly signed payload text as evil's Entity Configuration.
struct Evil {
    key: RawKey,
    id: EntityId,
    org: EntityId,
}

impl Evil {
    fn install(fed: &Federation) -> Self {
        let key = RawKey::generate(None);
        let jwks = key.jwks();
        fed.republish_ss("org", "evil", |c| {
            c.insert("jwks".into(), jwks);
        });
        let evil = Self {
            key,
            id: fed.id("evil"),
            org: fed.id("org"),
        };
        fed.publish_raw_ec("evil", &evil.token("", "", ""));
        evil
    }

    /// Evil's configuration as JSON text: `iat`/`exp` replaced when non-empty, `extra`
    /// appended verbatim (starting with a comma) inside the top-level object.
    fn payload(&self, iat: &str, exp: &str, extra: &str) -> String {
        let iat = if iat.is_empty() {
            NOW.to_string()
        } else {
            iat.to_string()
        };
        let exp = if exp.is_empty() {
            (NOW + 3600).to_string()
        } else {
            exp.to_string()
        };
        format!(
            r#"{{"iss":"{id}","sub":"{id}","iat":{iat},"exp":{exp},"jwks":{jwks},"authority_hints":["{org}"],"metadata":{{"openid_relying_party":{{"client_name":"evil"}}}}{extra}}}"#,
            id = self.id,
            jwks = self.key.jwks(),
            org = self.org,
        )
    }

    fn token(&self, iat: &str, exp: &str, extra: &str) -> String {
        self.key
            .sign_raw(&self.key.header(), self.payload(iat, exp, extra).as_bytes())
    }
}

fn evil_federation() -> FederationBuilder {
    federation(|b| b.leaf("evil", &["org"]))
}

// ---------------------------------------------------------------------------------------
// 1. Trickling servers
// ---------------------------------------------------------------------------------------

/// Writes `head` (after its first `sent_first` bytes) one byte every 100 ms, forever.
async fn trickle(mut stream: TcpStream, head: &'static str, sent_first: usize) {
    if stream
        .write_all(&head.as_bytes()[..sent_first])
        .await
        .is_err()
    {
        return;
    }
    let mut bytes = head.as_bytes()[sent_first..].iter().copied().cycle();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let b = bytes.next().unwrap_or(b'a');
        if stream.write_all(&[b]).await.is_err() {
            return;
        }
    }
}

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

// ---------------------------------------------------------------------------------------
// 5–8. Hostile JSON inside correctly signed statements
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn deeply_nested_json_is_a_typed_error_not_a_stack_overflow() {
    let (fed, _server) = serve(evil_federation()).await;
    let evil = Evil::install(&fed);
    let r = resolver(&fed);
    // The baseline: evil's own, well-formed configuration resolves.
    within(r.resolve(&evil.id, &RP)).await.expect("baseline");

    let arrays = format!(r#","x":{}1{}"#, "[".repeat(10_000), "]".repeat(10_000));
    let objects = format!(r#","x":{}1{}"#, r#"{"a":"#.repeat(5_000), "}".repeat(5_000));
    for extra in [&arrays, &objects] {
        r.clear_caches();
        fed.publish_raw_ec("evil", &evil.token("", "", extra));
        let e = resolve_err(&r, &evil.id).await;
        assert_eq!(statement_rule(&e), Rule::JwsSyntax, "{e}");
        assert!(
            e.to_string().contains("nesting") || e.to_string().contains("recursion"),
            "{e}"
        );
    }
    // Deep nesting in the JOSE header.
    let header = format!(
        r#"{{"alg":"ES256","kid":"{}","typ":"entity-statement+jwt","x":{}{}}}"#,
        evil.key.kid,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let token = evil
        .key
        .sign_raw(&header, evil.payload("", "", "").as_bytes());
    fed.publish_raw_ec("evil", &token);
    r.clear_caches();
    let e = resolve_err(&r, &evil.id).await;
    assert_eq!(statement_rule(&e), Rule::JwsSyntax, "{e}");
    // The same in a superior's statement (org → rp): the path fails with the same rule.
    let deep_ss = evil.key.sign_raw(
        &evil.key.header(),
        format!(r#"{{"x":{}{}}}"#, "[".repeat(10_000), "]".repeat(10_000)).as_bytes(),
    );
    let good_ss = fed.subordinate_statement("org", "rp");
    fed.publish_raw_ss("org", "rp", &deep_ss);
    r.clear_caches();
    let e = resolve_err(&r, &fed.id("rp")).await;
    assert!(matches!(e, Error::NoTrustChain { .. }), "{e}");
    assert_eq!(e.rule(), Some(Rule::JwsSyntax), "{e}");
    fed.publish_raw_ss("org", "rp", &good_ss);
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn very_large_json_statement_is_a_typed_error() {
    let (fed, _server) = serve(evil_federation()).await;
    let evil = Evil::install(&fed);
    // The statement cap (16 KiB) is below the HTTP cap (64 KiB): the token is fetched whole,
    // then refused by length before any JSON is parsed.
    let mut limits = Limits::default();
    limits.max_statement_bytes = 16 * 1024;
    let r = resolver_with(&fed, fetcher(Duration::from_secs(2)), |b| b.limits(limits));
    within(r.resolve(&evil.id, &RP)).await.expect("baseline");

    let many: String = (0..3_000).map(|i| format!(r#","m{i}":{i}"#)).collect();
    let token = evil.token("", "", &many);
    assert!(token.len() > 16 * 1024 && token.len() < CAP);
    fed.publish_raw_ec("evil", &token);
    r.clear_caches();
    let e = resolve_err(&r, &evil.id).await;
    assert_eq!(statement_rule(&e), Rule::JwsSyntax, "{e}");
    assert!(e.to_string().contains("16384"), "names the byte limit: {e}");

    // Under every byte cap: thousands of metadata members, the last of which is null. The
    // whole document is read and the broken member found.
    let r = resolver(&fed);
    let members: String = (0..2_500).map(|i| format!(r#""p{i}":{i},"#)).collect();
    let payload = evil.payload("", "", "").replace(
        r#""metadata":{"openid_relying_party":{"client_name":"evil"}}"#,
        &format!(r#""metadata":{{"openid_relying_party":{{{members}"late":null}}}}"#),
    );
    let token = evil.key.sign_raw(&evil.key.header(), payload.as_bytes());
    assert!(token.len() < CAP);
    fed.publish_raw_ec("evil", &token);
    let e = resolve_err(&r, &evil.id).await;
    assert_eq!(statement_rule(&e), Rule::Metadata, "{e}");
    assert!(e.to_string().contains("late"), "{e}");
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn duplicate_json_members_in_a_statement_are_rejected() {
    let (fed, _server) = serve(evil_federation()).await;
    let evil = Evil::install(&fed);
    let r = resolver(&fed);
    within(r.resolve(&evil.id, &RP)).await.expect("baseline");

    // A second `sub`, `jwks` or `authority_hints` would smuggle a value past a check that
    // read the first; a duplicate deep inside metadata is just as malformed.
    let other = fed.id("org");
    let dup_sub = format!(r#","sub":"{other}""#);
    let dup_hints = r#","authority_hints":["http://127.0.0.1:9/x"]"#.to_string();
    let dup_jwks = format!(r#","jwks":{}"#, RawKey::generate(None).jwks());
    let nested = r#","x":{"a":1,"b":{"c":1,"c":2}}"#.to_string();
    for extra in [dup_sub, dup_hints, dup_jwks, nested] {
        fed.publish_raw_ec("evil", &evil.token("", "", &extra));
        r.clear_caches();
        let e = resolve_err(&r, &evil.id).await;
        assert_eq!(statement_rule(&e), Rule::JwsSyntax, "{extra}: {e}");
        assert!(e.to_string().contains("duplicate member"), "{e}");
    }
    // A duplicate `alg` in the header (the second one `none`).
    let header = format!(
        r#"{{"alg":"ES256","kid":"{}","typ":"entity-statement+jwt","alg":"none"}}"#,
        evil.key.kid
    );
    fed.publish_raw_ec(
        "evil",
        &evil
            .key
            .sign_raw(&header, evil.payload("", "", "").as_bytes()),
    );
    r.clear_caches();
    let e = resolve_err(&r, &evil.id).await;
    assert_eq!(statement_rule(&e), Rule::JwsSyntax, "{e}");
    // Two keys sharing a kid in one JWK Set (§3.1.1).
    let twin = {
        let mut k = RawKey::generate(None).jwk;
        k["kid"] = json!(evil.key.kid);
        k
    };
    let claims = json!({
        "iss": evil.id.as_str(), "sub": evil.id.as_str(), "iat": NOW, "exp": NOW + 3600,
        "jwks": {"keys": [evil.key.jwk, twin]}, "authority_hints": [evil.org.as_str()],
        "metadata": {"openid_relying_party": {"client_name": "evil"}},
    });
    fed.publish_raw_ec("evil", &evil.key.sign_value(&claims));
    r.clear_caches();
    let e = resolve_err(&r, &evil.id).await;
    assert_eq!(statement_rule(&e), Rule::Jwks, "{e}");
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn huge_and_fractional_numeric_dates_are_typed_errors() {
    let (fed, _server) = serve(evil_federation()).await;
    let evil = Evil::install(&fed);
    let r = resolver(&fed);
    within(r.resolve(&evil.id, &RP)).await.expect("baseline");

    let two_pow_70 = "1180591620717411303424";
    let cases: [(&str, &str, Rule); 8] = [
        // Not representable as a finite number at all: refused by the JSON parser.
        ("1e400", "", Rule::JwsSyntax),
        ("", "1e400", Rule::JwsSyntax),
        // Beyond u64 / beyond year 9999.
        (two_pow_70, "", Rule::IssuedAt),
        ("", two_pow_70, Rule::Expiry),
        ("-1", "", Rule::IssuedAt),
        ("", "-1e300", Rule::Expiry),
        // Fractional: 1.5 s after the epoch is long expired.
        ("", "1.5", Rule::Expiry),
        // Not a number.
        ("\"1800000000\"", "", Rule::IssuedAt),
    ];
    for (iat, exp, rule) in cases {
        fed.publish_raw_ec("evil", &evil.token(iat, exp, ""));
        r.clear_caches();
        let e = resolve_err(&r, &evil.id).await;
        assert_eq!(statement_rule(&e), rule, "iat={iat:?} exp={exp:?}: {e}");
    }
    // RFC 7519 NumericDates may be fractional: a fractional time inside the validity window
    // is accepted (iat rounded up, exp rounded down).
    fed.publish_raw_ec(
        "evil",
        &evil.token(&format!("{NOW}.5"), &format!("{}.25", NOW + 3600), ""),
    );
    r.clear_caches();
    let ok = within(r.resolve(&evil.id, &RP)).await.expect("fractional");
    assert_eq!(ok.chain().statements()[0].issued_at(), NOW + 1);
    assert_eq!(ok.chain().statements()[0].expires_at(), NOW + 3600);
    assert_usable(&r, &fed).await;
}

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
// 12–14. Forged signatures over HTTP
// ---------------------------------------------------------------------------------------

fn forge(header: Value, claims: &Map<String, Value>, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(Value::Object(claims.clone()).to_string().as_bytes())
    );
    let sig = sign(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

#[tokio::test]
async fn alg_none_over_http_is_rejected() {
    let (fed, _server) = serve(federation(|b| {
        b.leaf("victim", &["org"])
            .metadata("victim", RP.as_str(), json!({"client_name": "victim"}))
    }))
    .await;
    let r = resolver(&fed);
    within(r.resolve(&fed.id("victim"), &RP))
        .await
        .expect("baseline");

    let ec = claims_of(&fed.entity_configuration("victim"));
    let kid = fed.key("victim").kid();
    let none = |kid: &str| json!({"alg": "none", "kid": kid, "typ": "entity-statement+jwt"});
    fed.publish_raw_ec("victim", &forge(none(&kid), &ec, |_| Vec::new()));
    r.clear_caches();
    let e = resolve_err(&r, &fed.id("victim")).await;
    assert_eq!(statement_rule(&e), Rule::Alg, "{e}");

    // A superior's statement with alg none (and a non-empty garbage signature).
    let ss = claims_of(&fed.subordinate_statement("org", "rp"));
    let good = fed.subordinate_statement("org", "rp");
    fed.publish_raw_ss(
        "org",
        "rp",
        &forge(none(&fed.key("org").kid()), &ss, |_| b"x".to_vec()),
    );
    r.clear_caches();
    let e = resolve_err(&r, &fed.id("rp")).await;
    assert!(matches!(e, Error::NoTrustChain { .. }), "{e}");
    assert_eq!(e.rule(), Some(Rule::Alg), "{e}");
    fed.publish_raw_ss("org", "rp", &good);
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn hs256_keyed_with_the_issuers_public_key_is_rejected_over_http() {
    let (fed, _server) = serve(federation(|b| b)).await;
    let r = resolver(&fed);
    let good_ec = fed.entity_configuration("rp");
    let good_ss = fed.subordinate_statement("org", "rp");
    let hmac = |secret: Vec<u8>| {
        move |input: &[u8]| {
            josekit::jws::HS256
                .signer_from_bytes(&secret)
                .unwrap()
                .sign(input)
                .unwrap()
        }
    };
    let hs = |kid: String| json!({"alg": "HS256", "kid": kid, "typ": "entity-statement+jwt"});

    // The subject's EC, keyed with its own public JWK Set and with its single public JWK.
    let ec = claims_of(&good_ec);
    for secret in [
        fed.public_jwks("rp").to_string(),
        fed.key("rp").public_jwk().to_string(),
    ] {
        let token = forge(hs(fed.key("rp").kid()), &ec, hmac(secret.into_bytes()));
        fed.publish_raw_ec("rp", &token);
        r.clear_caches();
        let e = resolve_err(&r, &fed.id("rp")).await;
        assert_eq!(statement_rule(&e), Rule::Alg, "{e}");
    }
    fed.publish_raw_ec("rp", &good_ec);

    // The superior's statement, keyed with the superior's public key (what a verifier that
    // let the header pick the algorithm would use).
    let ss = claims_of(&good_ss);
    let secret = fed.public_jwks("org").to_string().into_bytes();
    fed.publish_raw_ss(
        "org",
        "rp",
        &forge(hs(fed.key("org").kid()), &ss, hmac(secret)),
    );
    r.clear_caches();
    let e = resolve_err(&r, &fed.id("rp")).await;
    assert!(matches!(e, Error::NoTrustChain { .. }), "{e}");
    assert_eq!(e.rule(), Some(Rule::Alg), "{e}");
    fed.publish_raw_ss("org", "rp", &good_ss);
    assert_usable(&r, &fed).await;
}

#[tokio::test]
async fn kid_colliding_with_another_issuers_key_is_rejected() {
    // mallory is a legitimate member whose key has the same kid as org's key. It forges the
    // statement org makes about rp with its own key under that kid.
    let (fed, _server) = serve(federation(|b| b.leaf("mallory", &["org"]))).await;
    let org_kid = fed.key("org").kid();
    let mallory = RawKey::generate(Some(&org_kid));
    let mjwks = mallory.jwks();
    fed.republish_ss("org", "mallory", |c| {
        c.insert("jwks".into(), mjwks);
    });
    let mut mec = claims_of(&fed.entity_configuration("mallory"));
    mec.insert("jwks".into(), mallory.jwks());
    fed.publish_raw_ec("mallory", &mallory.sign_value(&Value::Object(mec)));

    let r = resolver(&fed);
    // mallory's own chain is valid (kids are scoped per issuer), and it has now been seen
    // and verified by this resolver.
    let e = within(r.resolve(&fed.id("mallory"), &RP))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::EntityTypeNotFound { .. }), "{e}");
    within(r.resolve(&fed.id("rp"), &RP))
        .await
        .expect("rp before the forgery");

    let good_ss = fed.subordinate_statement("org", "rp");
    let forged = mallory.sign_value(&Value::Object(claims_of(&good_ss)));
    assert_eq!(common::header_of(&forged)["kid"], json!(org_kid));
    fed.publish_raw_ss("org", "rp", &forged);
    r.clear_caches();
    let e = resolve_err(&r, &fed.id("rp")).await;
    assert!(matches!(e, Error::NoTrustChain { .. }), "{e}");
    assert!(
        matches!(
            e.rule(),
            Some(Rule::Signature) | Some(Rule::ChainLink) | Some(Rule::Kid)
        ),
        "{e}"
    );

    // The same forgery, taking over rp: rp's EC re-signed by mallory, the forged statement
    // asserting mallory's key for rp.
    let mut ss = claims_of(&good_ss);
    ss.insert("jwks".into(), mallory.jwks());
    fed.publish_raw_ss("org", "rp", &mallory.sign_value(&Value::Object(ss)));
    let mut ec = claims_of(&fed.entity_configuration("rp"));
    ec.insert("jwks".into(), mallory.jwks());
    let good_ec = fed.entity_configuration("rp");
    fed.publish_raw_ec("rp", &mallory.sign_value(&Value::Object(ec)));
    r.clear_caches();
    let e = resolve_err(&r, &fed.id("rp")).await;
    assert!(
        matches!(
            e.rule(),
            Some(Rule::Signature) | Some(Rule::ChainLink) | Some(Rule::Kid)
        ),
        "{e}"
    );
    fed.publish_raw_ss("org", "rp", &good_ss);
    fed.publish_raw_ec("rp", &good_ec);
    assert_usable(&r, &fed).await;
}

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

    // D15: the media type is a soft check; a valid statement under text/html is accepted.
    memory.insert(
        &ss_url(&fed, "org", "rp"),
        FetchResponse::ok("text/html", good_ss.clone().into_bytes()),
    );
    assert_usable(&r, &fed).await;
    // spec-notes §13 case 35: the same under application/json (a JWT body, not JSON).
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

// ---------------------------------------------------------------------------------------
// 19. The default guard over the real HttpFetcher
// ---------------------------------------------------------------------------------------

/// Host names that /etc/hosts maps to loopback, other than `localhost` (refused by name):
/// these are refused only once resolved.
fn loopback_names_from_hosts_file() -> Vec<String> {
    let text = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let Some(addr) = fields.next() else { continue };
        if !addr.starts_with("127.") {
            continue;
        }
        for name in fields {
            let lower = name.to_ascii_lowercase();
            if lower != "localhost"
                && !lower.ends_with(".localhost")
                && lower
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                && !names.contains(&lower)
            {
                names.push(lower);
            }
        }
    }
    names
}

#[tokio::test]
async fn literal_hosts_in_every_spelling_are_refused_by_the_default_guard() {
    // Something listens on 127.0.0.1: nothing may reach it.
    let listening = RawServer::start("127.0.0.1", |mut s, _| async move {
        respond(
            &mut s,
            "200 OK",
            "application/entity-statement+jwt",
            b"a.b.c",
        )
        .await;
    })
    .await;
    let p = listening.addr.port();
    let mut ids: Vec<String> = [
        "127.1",
        "0x7f000001",
        "2130706433",
        "0177.0.0.1",
        "127.0.0.1",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::127.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[2002:7f00:1::]",
        "localhost",
        "LOCALHOST.",
        "a.localhost",
        "127.0.0.1.",
        "127.000.000.001",
        "0x7f.0x0.0x0.0x1",
        "%31%32%37.0.0.1",
        "\u{ff11}\u{ff12}\u{ff17}.0.0.1",
    ]
    .iter()
    .map(|h| format!("https://{h}:{p}"))
    .collect();
    ids.extend(
        [
            "[::1]",
            "[::]",
            "[fe80::1]",
            "[fc00::1]",
            "0.0.0.0",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "10.0.0.1",
            "172.16.0.1",
            "192.168.0.1",
            "255.255.255.255",
        ]
        .iter()
        .map(|h| format!("https://{h}/")),
    );
    let names = loopback_names_from_hosts_file();
    ids.extend(names.iter().map(|n| format!("https://{n}:{p}/")));

    // The in-memory federation only provides the anchor and a chain handed over whole.
    let fed = common::three_level().build();
    let r = Resolver::builder()
        .clock(FixedClock::new(NOW))
        .resolution_timeout(Duration::from_secs(3))
        .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
        .build()
        .expect("a resolver with the default HttpFetcher and guard");
    let raw = HttpFetcher::new().unwrap();
    for s in &ids {
        let Ok(id) = EntityId::parse(s) else {
            // Not even an Entity Identifier: refused before any traffic, typed.
            let e = r.entity_id(s).unwrap_err();
            assert!(matches!(e, Error::EntityId { .. }), "{s}: {e}");
            continue;
        };
        let e = resolve_err(&r, &id).await;
        assert!(
            matches!(
                &e,
                Error::Fetch {
                    what: "entity configuration",
                    source: FetchError::Refused { .. },
                    ..
                }
            ),
            "{s}: {e}"
        );
        assert!(!e.is_transient(), "{s}: {e}");
        // The fetcher itself, asked directly.
        let direct = within(raw.fetch(FetchRequest::entity_configuration(&id))).await;
        assert!(
            matches!(direct, Err(FetchError::Refused { .. })),
            "{s}: {direct:?}"
        );
        // The same host over plain http: refused for the scheme already.
        let plain = url::Url::parse(&s.replacen("https://", "http://", 1)).unwrap();
        let direct =
            within(raw.fetch(FetchRequest::get(plain, oidfed::fetch::FetchKind::Other))).await;
        assert!(
            matches!(direct, Err(FetchError::Refused { .. })),
            "{s}: {direct:?}"
        );
    }
    assert_eq!(
        listening.connections(),
        0,
        "a refused destination was reached"
    );
    // Still usable: a chain handed over whole validates.
    let ok = within(r.validate_chain(&fed.chain(&["rp", "org", "ta"], true), &RP))
        .await
        .expect("chain handed over");
    assert_eq!(ok.trust_anchor(), &fed.id("ta"));
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

/// spec-notes §13 case 38: authority hints that name internal addresses are refused by the
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
