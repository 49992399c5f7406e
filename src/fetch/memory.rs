//! An in-memory [`Fetcher`]: URL → response, with counters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use super::{BoxFuture, FetchError, FetchRequest, FetchResponse, Fetcher};

/// A dynamic route: computes the answer from the request (e.g. a trust mark status endpoint
/// that reads the POSTed `trust_mark`).
pub type Handler = Arc<dyn Fn(&FetchRequest) -> FetchResponse + Send + Sync>;

#[derive(Clone)]
enum Route {
    Fixed(FetchResponse),
    Dynamic(Handler),
}

/// A [`Fetcher`] that answers from a map of exact URLs (query included). Unknown URLs get
/// [`FetchError::NotFound`]. It counts every request, in total and per URL, so tests can
/// assert "one fetch per statement". Clones share the same map and counters.
///
/// ```
/// use oidfed::fetch::{FetchResponse, MemoryFetcher};
/// let f = MemoryFetcher::new();
/// f.insert("https://ta.example/.well-known/openid-federation", FetchResponse::entity_statement("x.y.z"));
/// assert_eq!(f.total_fetches(), 0);
/// ```
///
/// Fetching through it, and the counters (this example serves every method below):
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use oidfed::fetch::{FetchError, FetchRequest, FetchResponse, Fetcher, MemoryFetcher};
/// let ta = oidfed::EntityId::parse("https://ta.example").unwrap();
/// let url = "https://ta.example/.well-known/openid-federation";
/// let f = MemoryFetcher::new();
/// f.insert(url, FetchResponse::entity_statement("x.y.z"));
/// f.insert_handler("https://ta.example/echo", Arc::new(|req: &FetchRequest| {
///     FetchResponse::ok("text/plain", req.url.as_str())
/// }));
/// assert_eq!(f.fetch(FetchRequest::entity_configuration(&ta)).await.unwrap().body, b"x.y.z");
/// f.fetch(FetchRequest::entity_configuration(&ta)).await.unwrap();
/// assert_eq!((f.total_fetches(), f.fetches_of(url), f.max_fetches_per_url()), (2, 2, 2));
/// assert_eq!(f.get(url).unwrap().status, 200);
/// assert_eq!(f.urls().len(), 2);
/// f.reset_counts();
/// f.remove(url);
/// let gone = f.fetch(FetchRequest::entity_configuration(&ta)).await.unwrap_err();
/// assert!(matches!(gone, FetchError::NotFound { .. }));
/// assert_eq!(f.total_fetches(), 1);
/// # });
/// ```
#[derive(Clone, Default)]
pub struct MemoryFetcher {
    routes: Arc<RwLock<HashMap<String, Route>>>,
    counts: Arc<RwLock<HashMap<String, usize>>>,
    total: Arc<AtomicUsize>,
}

impl MemoryFetcher {
    /// An empty fetcher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `response` at `url` (replacing any previous route).
    pub fn insert(&self, url: &str, response: FetchResponse) {
        if let Ok(mut routes) = self.routes.write() {
            routes.insert(url.to_string(), Route::Fixed(response));
        }
    }

    /// Serves the answer computed by `handler` at `url`.
    pub fn insert_handler(&self, url: &str, handler: Handler) {
        if let Ok(mut routes) = self.routes.write() {
            routes.insert(url.to_string(), Route::Dynamic(handler));
        }
    }

    /// Stops serving `url` (it then answers [`FetchError::NotFound`]).
    pub fn remove(&self, url: &str) {
        if let Ok(mut routes) = self.routes.write() {
            routes.remove(url);
        }
    }

    /// The fixed response served at `url`, if any.
    pub fn get(&self, url: &str) -> Option<FetchResponse> {
        let routes = self.routes.read().ok()?;
        match routes.get(url)? {
            Route::Fixed(r) => Some(r.clone()),
            Route::Dynamic(_) => None,
        }
    }

    /// All URLs served.
    pub fn urls(&self) -> Vec<String> {
        self.routes
            .read()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Requests made so far, all URLs together.
    pub fn total_fetches(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }

    /// Requests made so far for `url`.
    pub fn fetches_of(&self, url: &str) -> usize {
        self.counts
            .read()
            .ok()
            .and_then(|c| c.get(url).copied())
            .unwrap_or(0)
    }

    /// The largest number of requests made for any single URL.
    pub fn max_fetches_per_url(&self) -> usize {
        self.counts
            .read()
            .map(|c| c.values().copied().max().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Resets the counters.
    pub fn reset_counts(&self) {
        self.total.store(0, Ordering::SeqCst);
        if let Ok(mut c) = self.counts.write() {
            c.clear();
        }
    }
}

impl Fetcher for MemoryFetcher {
    fn fetch(&self, request: FetchRequest) -> BoxFuture<'_, Result<FetchResponse, FetchError>> {
        Box::pin(async move {
            let key = request.url.as_str().to_string();
            self.total.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut c) = self.counts.write() {
                *c.entry(key.clone()).or_insert(0) += 1;
            }
            let route = self.routes.read().ok().and_then(|r| r.get(&key).cloned());
            match route {
                Some(Route::Fixed(r)) => Ok(r),
                Some(Route::Dynamic(h)) => Ok(h(&request)),
                None => Err(FetchError::NotFound { url: key }),
            }
        })
    }
}
