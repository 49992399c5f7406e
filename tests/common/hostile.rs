//! Helpers of the `hostile_*` tests: hand-written HTTP servers on loopback, a resolver
//! with small limits and a hang guard, assertions on typed errors, and a leaf (`evil`) whose
//! key the test holds so it can publish arbitrary, correctly signed payload text.
//!
//! Every hostile test makes one federation member misbehave (or a server lie about HTTP),
//! checks that the resolution ends in a *typed* error within its limit, and then shows that
//! the same resolver still resolves a good entity ([`assert_usable`]). Elapsed times are
//! never asserted, except as the hang guard ([`within`]).
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::NOW;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::JwsSigner;
use oidfed::fetch::{
    DestinationGuard, FetchError, FetchResponse, Fetcher, HttpFetcher, MemoryFetcher,
};
use oidfed::testing::{Federation, FederationBuilder, LoopbackServer};
use oidfed::{EntityId, EntityType, Error, FixedClock, Resolver, ResolverBuilder, Rule};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

pub const RP: EntityType = EntityType::OPENID_RELYING_PARTY;
/// The response cap of every fetcher here (the library default, stated explicitly).
pub const CAP: usize = 64 * 1024;
/// A resolution that takes longer than this has no working limit.
pub const HANG_GUARD: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// Hand-written HTTP servers
// ---------------------------------------------------------------------------------------

/// A raw HTTP/1.1 server on loopback: reads one request head, hands the stream and the request
/// target to a handler that writes whatever it likes. Counts connections and logs targets.
/// Dropping it stops the accept loop and every connection task.
pub struct RawServer {
    pub base: String,
    pub addr: SocketAddr,
    pub connections: Arc<AtomicUsize>,
    pub targets: Arc<Mutex<Vec<String>>>,
    pub task: tokio::task::JoinHandle<()>,
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawServer {
    pub async fn start<F, Fut>(ip: &str, handler: F) -> Self
    where
        F: Fn(TcpStream, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind");
        Self::start_on(listener, handler)
    }

    pub fn start_on<F, Fut>(listener: TcpListener, handler: F) -> Self
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

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }

    /// An Entity Identifier served by this server.
    pub fn id(&self, name: &str) -> EntityId {
        EntityId::parse_with(&format!("{}/{name}", self.base), true).expect("entity id")
    }
}

/// Reads a request head (bounded); returns the request target.
pub async fn read_head(stream: &mut TcpStream) -> Option<String> {
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
pub async fn respond(stream: &mut TcpStream, status: &str, content_type: &str, body: &[u8]) {
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
pub async fn blast(stream: &mut TcpStream, head: &str, total: Option<usize>) {
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
pub fn serve_memory(
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
pub fn federation(more: impl FnOnce(FederationBuilder) -> FederationBuilder) -> FederationBuilder {
    more(
        FederationBuilder::new("http://replaced.by.serve")
            .now(NOW)
            .anchor("ta")
            .intermediate("org", &["ta"])
            .leaf("rp", &["org"])
            .metadata("rp", RP.as_str(), json!({"client_name": "RP"})),
    )
}

pub async fn serve(b: FederationBuilder) -> (Federation, LoopbackServer) {
    b.serve().await.expect("serve the federation on loopback")
}

/// Only 127.0.0.1 (where every test server listens), plain http allowed.
pub fn test_guard() -> DestinationGuard {
    DestinationGuard::new()
        .allow_http(true)
        .allow_network("127.0.0.1/32".parse().unwrap())
}

/// A real HTTP fetcher with small limits.
pub fn fetcher(request_timeout: Duration) -> HttpFetcher {
    HttpFetcher::builder()
        .connect_timeout(Duration::from_secs(1))
        .request_timeout(request_timeout)
        .max_response_bytes(CAP)
        .guard(test_guard())
        .build()
        .expect("fetcher")
}

pub fn resolver_with(
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

pub fn resolver(fed: &Federation) -> Resolver {
    resolver_with(fed, fetcher(Duration::from_secs(2)), |b| b)
}

pub async fn within<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(HANG_GUARD, fut)
        .await
        .expect("hang guard: the resolution did not end, a limit is missing")
}

pub async fn resolve_err(r: &Resolver, id: &EntityId) -> Error {
    match within(r.resolve(id, &RP)).await {
        Ok(ok) => panic!("{id} resolved, but must fail: {:?}", ok.chain().path()),
        Err(e) => e,
    }
}

/// The same resolver, caches dropped so the network is used again, still resolves `rp`.
pub async fn assert_usable(r: &Resolver, fed: &Federation) {
    r.clear_caches();
    let ok = within(r.resolve(&fed.id("rp"), &RP))
        .await
        .unwrap_or_else(|e| panic!("the resolver must stay usable: {e}"));
    assert_eq!(ok.trust_anchor(), &fed.id("ta"));
    assert_eq!(ok.metadata()["client_name"], "RP");
}

/// The fetch error of a failed subject fetch.
pub fn fetch_source(e: &Error) -> &FetchError {
    match e {
        Error::Fetch { source, .. } => source,
        other => panic!("expected Error::Fetch, got {other:?}"),
    }
}

/// The errors of every path a failed search tried.
pub fn attempt_errors(e: &Error) -> Vec<&Error> {
    match e {
        Error::NoTrustChain { attempts, .. } => attempts.iter().map(|a| &a.error).collect(),
        other => panic!("expected Error::NoTrustChain, got {other:?}"),
    }
}

pub fn statement_rule(e: &Error) -> Rule {
    match e {
        Error::Statement(s) => s.rule,
        other => panic!("expected Error::Statement, got {other:?}"),
    }
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An ES256 key that signs arbitrary header and payload *text* (the testing `TestKey` signs
/// `serde_json::Value`s, which cannot hold duplicate members or out-of-range numbers).
pub struct RawKey {
    pub kid: String,
    pub jwk: Value,
    pub signer: Box<dyn JwsSigner + Send + Sync>,
}

impl RawKey {
    pub fn generate(kid: Option<&str>) -> Self {
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

    pub fn jwks(&self) -> Value {
        json!({"keys": [self.jwk]})
    }

    pub fn header(&self) -> String {
        format!(
            r#"{{"alg":"ES256","kid":"{}","typ":"entity-statement+jwt"}}"#,
            self.kid
        )
    }

    pub fn sign_raw(&self, header: &str, payload: &[u8]) -> String {
        let input = format!("{}.{}", b64(header.as_bytes()), b64(payload));
        let sig = self.signer.sign(input.as_bytes()).expect("sign");
        format!("{input}.{}", b64(&sig))
    }

    pub fn sign_value(&self, claims: &Value) -> String {
        self.sign_raw(&self.header(), claims.to_string().as_bytes())
    }
}

/// A leaf `evil` under `org` whose key the test holds (org asserts it), so the test can
/// publish arbitrary, correctly signed payload text as evil's Entity Configuration.
pub struct Evil {
    pub key: RawKey,
    pub id: EntityId,
    pub org: EntityId,
}

impl Evil {
    pub fn install(fed: &Federation) -> Self {
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
    pub fn payload(&self, iat: &str, exp: &str, extra: &str) -> String {
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

    pub fn token(&self, iat: &str, exp: &str, extra: &str) -> String {
        self.key
            .sign_raw(&self.key.header(), self.payload(iat, exp, extra).as_bytes())
    }
}

pub fn evil_federation() -> FederationBuilder {
    federation(|b| b.leaf("evil", &["org"]))
}

/// Writes `head` (after its first `sent_first` bytes) one byte every 100 ms, forever.
pub async fn trickle(mut stream: TcpStream, head: &'static str, sent_first: usize) {
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
