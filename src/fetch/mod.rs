//! Fetching federation documents (§8, §9).
//!
//! The resolver never talks to the network itself: it asks a [`Fetcher`]. The crate ships
//! [`HttpFetcher`] (reqwest, with size caps, timeouts and the outbound destination guard) and
//! [`MemoryFetcher`] (a map of URLs to responses, for tests and for statements a server
//! already holds). A fetcher returns every HTTP answer it received, whatever its status;
//! [`FetchResponse::into_body`] turns it into the body of a successful answer or a typed
//! [`FetchError`].

mod guard;
mod http;
mod memory;
mod special;

pub use guard::{DestinationGuard, GuardRefusal, IpNetwork, IpNetworkError};
pub use http::{HttpFetcher, HttpFetcherBuilder};
pub use memory::{Handler, MemoryFetcher};
pub use special::non_public_reason;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use url::Url;

use crate::EntityId;

/// A boxed, sendable future, as returned by [`Fetcher::fetch`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a request is for: lets a fetcher apply per-kind limits and lets tests count fetches.
///
/// ```
/// use oidfed::fetch::{FetchKind, FetchRequest};
/// let ta = oidfed::EntityId::parse("https://ta.example").unwrap();
/// assert_eq!(FetchRequest::entity_configuration(&ta).kind, FetchKind::EntityConfiguration);
/// let jwks = FetchRequest::get("https://rp.example/jwks".parse().unwrap(), FetchKind::JwkSet);
/// assert_eq!(jwks.kind, FetchKind::JwkSet);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FetchKind {
    /// An Entity Configuration at a well-known location (§9).
    EntityConfiguration,
    /// A Subordinate Statement from a fetch endpoint (§8.1).
    SubordinateStatement,
    /// A Trust Mark Status request (§8.4).
    TrustMarkStatus,
    /// A (signed) JWK Set of protocol keys (§5.2.1).
    JwkSet,
    /// A resolve response from a remote resolver (§8.3).
    ResolveResponse,
    /// Anything else.
    Other,
}

/// HTTP method of a federation request.
///
/// ```
/// use oidfed::fetch::{FetchKind, FetchRequest, Method};
/// let url: url::Url = "https://tm.example/status".parse().unwrap();
/// assert_eq!(FetchRequest::get(url.clone(), FetchKind::Other).method, Method::Get);
/// let post = FetchRequest::post(url, vec![("trust_mark".into(), "a.b.c".into())], FetchKind::TrustMarkStatus);
/// assert_eq!((post.method, post.form.len()), (Method::Post, 1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET with the parameters in the query string.
    Get,
    /// POST with `application/x-www-form-urlencoded` parameters in the body.
    Post,
}

/// One request to a federation endpoint.
///
/// ```
/// use oidfed::fetch::FetchRequest;
/// let ta = oidfed::EntityId::parse("https://ta.example/fed").unwrap();
/// let rp = oidfed::EntityId::parse("https://rp.example").unwrap();
/// let ec = FetchRequest::entity_configuration(&ta);
/// assert_eq!(ec.url.as_str(), "https://ta.example/fed/.well-known/openid-federation");
/// // `sub` is appended to a fetch endpoint's own query, encoded.
/// let fetch = FetchRequest::subordinate_statement(&"https://ta.example/fetch?v=1".parse().unwrap(), &rp);
/// assert_eq!(fetch.url.as_str(), "https://ta.example/fetch?v=1&sub=https%3A%2F%2Frp.example");
/// assert!(ec.time_left.is_none());
/// ```
#[derive(Debug, Clone)]
pub struct FetchRequest {
    /// The full URL, query included for GET.
    pub url: Url,
    /// GET or POST.
    pub method: Method,
    /// Form parameters for POST (empty for GET).
    pub form: Vec<(String, String)>,
    /// What is being fetched.
    pub kind: FetchKind,
    /// Time left before the whole resolution's deadline, if one applies. A fetcher must not
    /// take longer than this.
    pub time_left: Option<Duration>,
}

impl FetchRequest {
    /// A GET of an Entity Configuration at `id`'s well-known location (§9). See the [`FetchRequest`] example.
    pub fn entity_configuration(id: &EntityId) -> Self {
        Self::get(id.well_known_url(), FetchKind::EntityConfiguration)
    }

    /// A GET of the Subordinate Statement about `sub` from `fetch_endpoint` (§8.1.1). An
    /// endpoint that already has a query keeps it: `sub` is appended with proper encoding.
    /// See the [`FetchRequest`] example.
    pub fn subordinate_statement(fetch_endpoint: &Url, sub: &EntityId) -> Self {
        let mut url = fetch_endpoint.clone();
        url.query_pairs_mut().append_pair("sub", sub.as_str());
        Self::get(url, FetchKind::SubordinateStatement)
    }

    /// A plain GET. See the [`FetchRequest`] example.
    pub fn get(url: Url, kind: FetchKind) -> Self {
        Self {
            url,
            method: Method::Get,
            form: Vec::new(),
            kind,
            time_left: None,
        }
    }

    /// A form POST. See the [`FetchRequest`] example.
    pub fn post(url: Url, form: Vec<(String, String)>, kind: FetchKind) -> Self {
        Self {
            url,
            method: Method::Post,
            form,
            kind,
            time_left: None,
        }
    }
}

/// An HTTP answer, whatever its status.
///
/// ```
/// use oidfed::fetch::FetchResponse;
/// let url: url::Url = "https://ta.example/fetch".parse().unwrap();
/// let ok = FetchResponse::entity_statement("a.b.c");
/// assert!(ok.has_content_type("application/entity-statement+jwt"));
/// assert_eq!(ok.into_body(&url).unwrap(), b"a.b.c");
/// let missing = FetchResponse::error(404, "not_found", "no such subordinate");
/// assert!(missing.into_body(&url).unwrap_err().is_not_found());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct FetchResponse {
    /// HTTP status code.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body (already bounded by the fetcher's size cap).
    pub body: Vec<u8>,
}

impl fmt::Debug for FetchResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchResponse")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl FetchResponse {
    /// A 200 response with a body and a media type. See the [`FetchResponse`] example.
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            content_type: Some(content_type.to_string()),
            body: body.into(),
        }
    }

    /// A 200 `application/entity-statement+jwt` response. See the [`FetchResponse`] example.
    pub fn entity_statement(jwt: &str) -> Self {
        Self::ok("application/entity-statement+jwt", jwt.as_bytes().to_vec())
    }

    /// A federation error response (§8.9): JSON `{error, error_description}`. See the [`FetchResponse`] example.
    pub fn error(status: u16, error: &str, description: &str) -> Self {
        let body = serde_json::json!({ "error": error, "error_description": description });
        Self {
            status,
            content_type: Some("application/json".to_string()),
            body: body.to_string().into_bytes(),
        }
    }

    /// The body of a successful (200) answer, or a typed error that keeps the federation
    /// error code of an error body (§8.9). Error bodies are unsigned (§18.2): they only ever
    /// mean "this fetch failed", never "this entity was revoked".
    ///
    /// ```
    /// use oidfed::fetch::{FetchError, FetchResponse};
    /// let url: url::Url = "https://ta.example/fetch".parse().unwrap();
    /// let e = FetchResponse::error(503, "temporarily_unavailable", "later").into_body(&url).unwrap_err();
    /// assert!(matches!(e, FetchError::Status { status: 503, .. }));
    /// assert!(e.is_transient());
    /// ```
    pub fn into_body(self, url: &Url) -> Result<Vec<u8>, FetchError> {
        if self.status == 200 {
            return Ok(self.body);
        }
        let (error, description) = parse_error_body(&self.body);
        Err(FetchError::Status {
            url: url.to_string(),
            status: self.status,
            error,
            description,
        })
    }

    /// The body of a `200` answer as text, as [`FetchResponse::into_body`] but refusing a
    /// body that is not UTF-8 with [`FetchError::BadResponse`].
    ///
    /// ```
    /// use oidfed::fetch::FetchResponse;
    /// let url = url::Url::parse("https://ta.example/.well-known/openid-federation").unwrap();
    /// let ok = FetchResponse::ok("application/entity-statement+jwt", b"e30.e30.sig".to_vec());
    /// assert_eq!(ok.into_text(&url).unwrap(), "e30.e30.sig");
    /// let bad = FetchResponse::ok("application/entity-statement+jwt", vec![0xff, 0xfe]);
    /// assert!(bad.into_text(&url).is_err());
    /// ```
    pub fn into_text(self, url: &Url) -> Result<String, FetchError> {
        String::from_utf8(self.into_body(url)?).map_err(|_| FetchError::BadResponse {
            url: url.to_string(),
            detail: "the body is not UTF-8".into(),
        })
    }

    /// Whether the `Content-Type` is `expected` (ignoring case and parameters).
    ///
    /// See the [`FetchResponse`] example.
    pub fn has_content_type(&self, expected: &str) -> bool {
        self.content_type.as_deref().is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case(expected))
        })
    }
}

/// Reads `error` and `error_description` from a JSON error body, bounded so a hostile body
/// cannot fill logs.
fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (None, None);
    };
    let field = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .map(|s| s.chars().take(200).collect::<String>())
    };
    (field("error"), field("error_description"))
}

/// Why a fetch failed.
///
/// ```
/// use oidfed::fetch::{FetchError, FetchResponse};
/// let url: url::Url = "https://ta.example/fetch".parse().unwrap();
/// let e = FetchResponse::error(404, "not_found", "unknown").into_body(&url).unwrap_err();
/// assert!(e.is_not_found() && !e.is_transient());
/// assert_eq!(e.url(), url.as_str());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The server answered with a status other than 200.
    #[error("{url} answered HTTP {status}{}", error.as_ref().map(|e| format!(" ({e}{})", description.as_ref().map(|d| format!(": {d}")).unwrap_or_default())).unwrap_or_default())]
    Status {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The federation error code from a JSON error body (§8.9), if any.
        error: Option<String>,
        /// The error description from the body, if any (truncated).
        description: Option<String>,
    },
    /// The request did not complete in time.
    #[error("{url}: no complete answer within {limit_ms} ms")]
    Timeout {
        /// The URL requested.
        url: String,
        /// The limit that applied, in milliseconds.
        limit_ms: u64,
    },
    /// The body was larger than the cap.
    #[error("{url}: body larger than the {limit} byte cap")]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The cap in bytes.
        limit: usize,
    },
    /// The outbound destination guard refused the URL or the address it resolved to.
    #[error("{url}: refused by the outbound destination guard: {reason}")]
    Refused {
        /// The URL requested.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The server redirected and redirects are not followed.
    #[error("{url}: redirect to {location:?} not followed")]
    Redirect {
        /// The URL requested.
        url: String,
        /// The `Location` header, if any.
        location: Option<String>,
    },
    /// The connection or the exchange failed (DNS, TCP, TLS, protocol).
    #[error("{url}: {detail}")]
    Transport {
        /// The URL requested.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// A successful answer whose content could not be used (wrong media type, not UTF-8).
    #[error("{url}: unusable response: {detail}")]
    BadResponse {
        /// The URL requested.
        url: String,
        /// What was wrong.
        detail: String,
    },
    /// No response is known for this URL (in-memory fetcher).
    #[error("{url}: no such document")]
    NotFound {
        /// The URL requested.
        url: String,
    },
}

impl FetchError {
    /// Whether trying again later may succeed: timeouts, transport failures, 5xx, 429 and
    /// `temporarily_unavailable` are transient; 4xx, oversize and guard refusals are not.
    ///
    /// See the [`FetchError`] example.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Status { status, error, .. } => {
                *status >= 500
                    || *status == 429
                    || *status == 408
                    || error.as_deref() == Some("temporarily_unavailable")
            }
            FetchError::Timeout { .. } | FetchError::Transport { .. } => true,
            _ => false,
        }
    }

    /// Whether the server said the subject does not exist (404 or `not_found`): a superior
    /// that no longer publishes a statement about its subordinate.
    ///
    /// See the [`FetchError`] example.
    pub fn is_not_found(&self) -> bool {
        match self {
            FetchError::Status { status, error, .. } => {
                *status == 404 || error.as_deref() == Some("not_found")
            }
            FetchError::NotFound { .. } => true,
            _ => false,
        }
    }

    /// The URL this error is about.
    ///
    /// See the [`FetchError`] example.
    pub fn url(&self) -> &str {
        match self {
            FetchError::Status { url, .. }
            | FetchError::Timeout { url, .. }
            | FetchError::TooLarge { url, .. }
            | FetchError::Refused { url, .. }
            | FetchError::Redirect { url, .. }
            | FetchError::Transport { url, .. }
            | FetchError::BadResponse { url, .. }
            | FetchError::NotFound { url } => url,
        }
    }
}

/// Fetches `request` and reads its `200` body as text, giving up at `deadline`:
/// [`FetchError::Timeout`] (naming `limit`, the configured bound, in milliseconds) when
/// the answer has not arrived by then. `request.time_left` is set to the time remaining.
pub(crate) async fn fetch_text_before(
    fetcher: &dyn Fetcher,
    mut request: FetchRequest,
    deadline: tokio::time::Instant,
    limit: std::time::Duration,
) -> Result<String, FetchError> {
    let url = request.url.clone();
    request.time_left = Some(deadline.saturating_duration_since(tokio::time::Instant::now()));
    tokio::time::timeout_at(deadline, fetcher.fetch(request))
        .await
        .unwrap_or_else(|_| {
            Err(FetchError::Timeout {
                url: url.to_string(),
                limit_ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
            })
        })?
        .into_text(&url)
}

/// Fetches federation documents. Implementations must bound time and memory: a fetcher is
/// handed URLs chosen by federation members, some of them hostile.
///
/// ```
/// use oidfed::fetch::{FetchRequest, FetchResponse, Fetcher, MemoryFetcher};
/// use oidfed::EntityId;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let fetcher = MemoryFetcher::new();
/// let id = EntityId::parse("https://rp.example").unwrap();
/// fetcher.insert(id.well_known_url().as_str(), FetchResponse::entity_statement("a.b.c"));
/// let response = fetcher.fetch(FetchRequest::entity_configuration(&id)).await.unwrap();
/// assert_eq!(response.body, b"a.b.c");
/// # });
/// ```
pub trait Fetcher: Send + Sync + 'static {
    /// Performs one request. Any HTTP answer is `Ok`; `Err` is for answers that never
    /// arrived or broke a limit.
    fn fetch(&self, request: FetchRequest) -> BoxFuture<'_, Result<FetchResponse, FetchError>>;
}

impl<F: Fetcher + ?Sized> Fetcher for std::sync::Arc<F> {
    fn fetch(&self, request: FetchRequest) -> BoxFuture<'_, Result<FetchResponse, FetchError>> {
        (**self).fetch(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_endpoint_keeps_its_query() {
        let ep = Url::parse("https://ta.example/fetch?v=2").unwrap();
        let sub = EntityId::parse("https://rp.example/x&y=1").unwrap();
        let req = FetchRequest::subordinate_statement(&ep, &sub);
        assert!(
            req.url
                .as_str()
                .starts_with("https://ta.example/fetch?v=2&sub=")
        );
        let got: Vec<_> = req.url.query_pairs().collect();
        assert_eq!(got[1].1, sub.as_str());
    }

    #[test]
    fn error_bodies_are_classified() {
        let url = Url::parse("https://ta.example/fetch").unwrap();
        let e = FetchResponse::error(404, "not_found", "unknown sub")
            .into_body(&url)
            .unwrap_err();
        assert!(e.is_not_found() && !e.is_transient());
        let e = FetchResponse::error(503, "temporarily_unavailable", "later")
            .into_body(&url)
            .unwrap_err();
        assert!(e.is_transient() && !e.is_not_found());
        let html = FetchResponse {
            status: 500,
            content_type: Some("text/html".into()),
            body: b"<html>oops</html>".to_vec(),
        };
        let e = html.into_body(&url).unwrap_err();
        assert!(matches!(e, FetchError::Status { error: None, .. }));
    }
}
