//! [`HttpFetcher`]: reqwest with every limit a hostile federation member could abuse.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use super::guard::DestinationGuard;
use super::{BoxFuture, FetchError, FetchRequest, FetchResponse, Fetcher, Method};

/// Resolves names through the system resolver and keeps only addresses the guard allows, so
/// the addresses connected to are the ones checked (no DNS-rebinding window).
struct GuardedResolver {
    guard: DestinationGuard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            match guard_addresses(&guard, &host).await {
                Ok(allowed) => Ok(Box::new(allowed.into_iter()) as Addrs),
                Err(AddressError::Lookup(e)) => Err(e.into()),
                Err(AddressError::Refused(r)) => Err(r.into()),
            }
        })
    }
}

/// The destination guard refused a destination inside reqwest (a name resolving only to
/// refused addresses, a redirect to a refused URL). Carried as the source of reqwest's error
/// and found again by type, so a refusal is [`FetchError::Refused`] whatever the message.
#[derive(Debug)]
struct GuardRefusal(String);

impl std::fmt::Display for GuardRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GuardRefusal {}

/// Why a name gave no usable address.
#[derive(Debug)]
enum AddressError {
    /// The lookup itself failed.
    Lookup(std::io::Error),
    /// Every address was refused by the guard.
    Refused(GuardRefusal),
}

/// The guard's refusal somewhere in an error's source chain.
fn guard_refusal<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a GuardRefusal> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<GuardRefusal>() {
            return Some(r);
        }
        cur = err.source();
    }
    None
}

async fn guard_addresses(
    guard: &DestinationGuard,
    host: &str,
) -> Result<Vec<SocketAddr>, AddressError> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(AddressError::Lookup)?
        .collect();
    if guard.host_allowed(host) {
        return Ok(addrs);
    }
    let (ok, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = addrs
        .into_iter()
        .partition(|a| guard.check_ip(a.ip()).is_ok());
    if ok.is_empty() {
        let why = refused
            .first()
            .map(|a| {
                guard
                    .check_ip(a.ip())
                    .err()
                    .map(|e| e.0)
                    .unwrap_or_default()
            })
            .unwrap_or_else(|| "no address".into());
        return Err(AddressError::Refused(GuardRefusal(format!(
            "{host} resolves only to refused addresses ({why})"
        ))));
    }
    Ok(ok)
}

/// Builds an [`HttpFetcher`].
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let (fed, server) = oidfed::testing::FederationBuilder::new("http://unused.example")
/// #     .anchor("ta").serve().await.unwrap();
/// use std::time::Duration;
/// use oidfed::fetch::{DestinationGuard, FetchError, FetchRequest, Fetcher, HttpFetcher};
/// let guard = DestinationGuard::new().allow_http(true).allow_network("127.0.0.0/8".parse().unwrap());
/// let fetcher = HttpFetcher::builder()
///     .connect_timeout(Duration::from_secs(2))
///     .request_timeout(Duration::from_secs(5))
///     .max_response_bytes(64 * 1024)
///     .follow_redirects(0)
///     .guard(guard)
///     .build()
///     .unwrap();
/// let ec = fetcher.fetch(FetchRequest::entity_configuration(&fed.id("ta"))).await.unwrap();
/// assert_eq!(ec.status, 200);
/// // The strict default guard refuses the loopback server before any traffic.
/// let strict = HttpFetcher::new().unwrap();
/// let e = strict.fetch(FetchRequest::entity_configuration(&fed.id("ta"))).await.unwrap_err();
/// assert!(matches!(e, FetchError::Refused { .. }));
/// # drop(server);
/// # });
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct HttpFetcherBuilder {
    connect_timeout: Duration,
    request_timeout: Duration,
    max_response_bytes: usize,
    max_error_bytes: usize,
    max_redirects: usize,
    guard: DestinationGuard,
}

impl Default for HttpFetcherBuilder {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
            max_response_bytes: 64 * 1024,
            max_error_bytes: 8 * 1024,
            max_redirects: 0,
            guard: DestinationGuard::new(),
        }
    }
}

impl HttpFetcherBuilder {
    /// Time to establish a connection (default 3 s).
    ///
    /// See the [`HttpFetcherBuilder`] example.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Time for a whole exchange, body included (default 10 s); a resolution's deadline can
    /// shorten it further.
    ///
    /// See the [`HttpFetcherBuilder`] example.
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = d;
        self
    }

    /// Largest body of a successful answer, enforced while streaming (default 64 KiB).
    ///
    /// See the [`HttpFetcherBuilder`] example.
    pub fn max_response_bytes(mut self, n: usize) -> Self {
        self.max_response_bytes = n;
        self
    }

    /// Follow up to `hops` redirects, each re-checked by the guard (default: none).
    ///
    /// See the [`HttpFetcherBuilder`] example.
    pub fn follow_redirects(mut self, hops: usize) -> Self {
        self.max_redirects = hops;
        self
    }

    /// The outbound destination guard (default: https to public addresses only).
    ///
    /// See the [`HttpFetcherBuilder`] example.
    pub fn guard(mut self, guard: DestinationGuard) -> Self {
        self.guard = guard;
        self
    }

    /// Builds the fetcher (one shared connection pool).
    ///
    /// See the [`HttpFetcherBuilder`] example.
    pub fn build(self) -> Result<HttpFetcher, FetchError> {
        let guard = self.guard.clone();
        let hops = self.max_redirects;
        let redirect = if hops == 0 {
            reqwest::redirect::Policy::none()
        } else {
            reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() > hops {
                    return attempt.error(format!("more than {hops} redirects"));
                }
                match guard.check_url(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(e) => attempt.error(GuardRefusal(format!("redirect refused: {e}"))),
                }
            })
        };
        let client = reqwest::Client::builder()
            .user_agent(concat!("oidfed/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .redirect(redirect)
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                guard: self.guard.clone(),
            }))
            .build()
            .map_err(|e| FetchError::Transport {
                url: String::new(),
                detail: format!("building the HTTP client: {e}"),
            })?;
        Ok(HttpFetcher {
            client,
            guard: self.guard,
            request_timeout: self.request_timeout,
            max_response_bytes: self.max_response_bytes,
            max_error_bytes: self.max_error_bytes,
        })
    }
}

/// Fetches over HTTP(S) with bounded time and memory, through the outbound destination guard.
///
/// ```
/// use oidfed::fetch::{DestinationGuard, HttpFetcher};
/// use std::time::Duration;
/// let fetcher = HttpFetcher::builder()
///     .request_timeout(Duration::from_secs(5))
///     .max_response_bytes(32 * 1024)
///     .guard(DestinationGuard::new())
///     .build()
///     .unwrap();
/// # let _ = fetcher;
/// ```
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    client: reqwest::Client,
    guard: DestinationGuard,
    request_timeout: Duration,
    max_response_bytes: usize,
    max_error_bytes: usize,
}

impl HttpFetcher {
    /// A fetcher with the defaults (and the strict guard); see the [`HttpFetcherBuilder`]
    /// example.
    pub fn new() -> Result<Self, FetchError> {
        Self::builder().build()
    }

    /// A builder; see the [`HttpFetcherBuilder`] example.
    pub fn builder() -> HttpFetcherBuilder {
        HttpFetcherBuilder::default()
    }

    async fn exchange(&self, req: FetchRequest) -> Result<FetchResponse, FetchError> {
        let url = req.url.to_string();
        let transport = |e: reqwest::Error| {
            let detail = std::error::Error::source(&e)
                .map(|s| format!("{e}: {s}"))
                .unwrap_or_else(|| e.to_string());
            if e.is_timeout() {
                FetchError::Timeout {
                    url: url.clone(),
                    limit_ms: 0,
                }
            } else if guard_refusal(&e).is_some() {
                FetchError::Refused {
                    url: url.clone(),
                    reason: detail.chars().take(300).collect(),
                }
            } else {
                FetchError::Transport {
                    url: url.clone(),
                    detail: detail.chars().take(300).collect(),
                }
            }
        };
        let builder = match req.method {
            Method::Get => self.client.get(req.url.clone()),
            Method::Post => self.client.post(req.url.clone()).form(&req.form),
        };
        let mut response = builder.send().await.map_err(transport)?;
        if let Some(addr) = response.remote_addr() {
            let by_name = req
                .url
                .host_str()
                .is_some_and(|h| self.guard.host_allowed(h));
            if !by_name {
                self.guard
                    .check_ip(addr.ip())
                    .map_err(|e| FetchError::Refused {
                        url: url.clone(),
                        reason: format!("connected to {addr}: {e}"),
                    })?;
            }
        }
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            return Err(FetchError::Redirect {
                url,
                location: response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(|s| s.chars().take(300).collect()),
            });
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(200).collect());
        let cap = if status == 200 {
            self.max_response_bytes
        } else {
            self.max_error_bytes
        };
        if status == 200 && response.content_length().is_some_and(|l| l > cap as u64) {
            return Err(FetchError::TooLarge { url, limit: cap });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > cap {
                if status == 200 {
                    return Err(FetchError::TooLarge { url, limit: cap });
                }
                // An error body is only read for its error code: keep the start.
                body.extend_from_slice(&chunk[..cap - body.len()]);
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(FetchResponse {
            status,
            content_type,
            body,
        })
    }

    /// Refuses a destination before any traffic: the URL's own form, then (for names) the
    /// addresses it resolves to, so a refusal is a typed [`FetchError::Refused`]. The
    /// resolver checks the addresses again at connection time.
    async fn precheck(&self, url: &Url) -> Result<(), FetchError> {
        self.guard.check_url(url).map_err(|e| FetchError::Refused {
            url: url.to_string(),
            reason: e.0,
        })?;
        if let Some(Host::Domain(d)) = url.host() {
            guard_addresses(&self.guard, d).await.map_err(|e| match e {
                AddressError::Refused(r) => FetchError::Refused {
                    url: url.to_string(),
                    reason: r.0.chars().take(300).collect(),
                },
                AddressError::Lookup(e) => FetchError::Transport {
                    url: url.to_string(),
                    detail: format!("resolving {d}: {e}").chars().take(300).collect(),
                },
            })?;
        }
        Ok(())
    }
}

impl Fetcher for HttpFetcher {
    fn fetch(&self, request: FetchRequest) -> BoxFuture<'_, Result<FetchResponse, FetchError>> {
        Box::pin(async move {
            let limit = request
                .time_left
                .map_or(self.request_timeout, |t| t.min(self.request_timeout));
            let url = request.url.clone();
            let timeout = || FetchError::Timeout {
                url: url.to_string(),
                limit_ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
            };
            let work = async {
                self.precheck(&request.url).await?;
                self.exchange(request).await
            };
            match tokio::time::timeout(limit, work).await {
                Ok(Err(FetchError::Timeout { .. })) | Err(_) => Err(timeout()),
                Ok(other) => other,
            }
        })
    }
}
